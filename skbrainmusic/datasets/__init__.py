"""Data sets: an offline synthetic study and loaders of the real data (ds003720, GTZAN,
Brain2Music captions, FMA), all returning the same structure."""

from ._audio import prepare_clips
from ._base import get_data_home
from ._captions import load_captions
from ._events import read_events
from ._fma import KNOWN_BROKEN_TRACKS, FMAAudio, load_fma
from ._gtzan import load_gtzan_clips
from ._music import AUDIOSET_GENRES as GTZAN_AUDIOSET_GENRES
from ._nakai import load_nakai2022
from ._rois import destrieux_names
from ._synthetic import make_synthetic_study

__all__ = [
    "GTZAN_AUDIOSET_GENRES",
    "FMAAudio",
    "KNOWN_BROKEN_TRACKS",
    "destrieux_names",
    "get_data_home",
    "load_captions",
    "load_fma",
    "load_gtzan_clips",
    "load_nakai2022",
    "make_synthetic_study",
    "prepare_clips",
    "read_events",
]

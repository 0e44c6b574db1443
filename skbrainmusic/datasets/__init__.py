"""Data sets: an offline synthetic study and loaders of the real data (ds003720, GTZAN,
Brain2Music captions, FMA), all returning the same structure."""

from ._base import get_data_home
from ._captions import load_captions
from ._synthetic import make_synthetic_study

__all__ = [
    "get_data_home",
    "load_captions",
    "make_synthetic_study",
]

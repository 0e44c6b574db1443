"""skbrainmusic: reconstruct music from fMRI brain activity, the scikit-learn way.

The public estimators follow the clip sample convention: one stimulus clip is one sample,
arrays are ``(n_clips, n_windows, n_features)`` (or 2-D, one window per sample).
"""

from . import encoding, metrics
from ._version import __version__
from .alignment import TemporalWindowAligner, n_windows
from .calibration import CalibratedDecoder
from .datasets import (
    load_captions,
    load_fma,
    load_gtzan_clips,
    load_nakai2022,
    make_synthetic_study,
)
from .embeddings import AudioEmbedder, CaptionEmbedder
from .encoding import VoxelwiseEncoder
from .generation import ConditionedGenerator
from .model_selection import LeaveOneGenreOut
from .retrieval import Corpus, EmbeddingRetriever
from .ridge import ROIEnsembleRidge
from .tagging import AudioTagger

__all__ = [
    "AudioEmbedder",
    "AudioTagger",
    "CalibratedDecoder",
    "CaptionEmbedder",
    "ConditionedGenerator",
    "Corpus",
    "EmbeddingRetriever",
    "LeaveOneGenreOut",
    "ROIEnsembleRidge",
    "TemporalWindowAligner",
    "VoxelwiseEncoder",
    "__version__",
    "encoding",
    "load_captions",
    "load_fma",
    "load_gtzan_clips",
    "load_nakai2022",
    "make_synthetic_study",
    "metrics",
    "n_windows",
]

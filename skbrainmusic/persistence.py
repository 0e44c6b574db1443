"""Saving and loading fitted models: skops by default, joblib pickles only on request.

Loading a ``.skops`` file never runs code from the file: skops rebuilds objects from a
declarative description, and :func:`load_model` refuses every type that is neither trusted
by skops itself (built-in containers, NumPy arrays and dtypes, scikit-learn estimators) nor
on an exact, audited list: the estimators of skbrainmusic and the few scikit-learn types
they hold (cross-validation splitters, scorers). Whole modules are never trusted: a
``.skops`` file can name any class of an installed package, including classes whose
constructor opens a file (``numpy.memmap`` under any of its aliases,
``scipy.io.FortranFile``). Other types must be named by the caller in ``trusted`` after
they have looked at them, and classes that open files, sockets or processes are refused
even then.
"""

import importlib
import io
import mmap
import socket
import sqlite3
import subprocess
import tarfile
import zipfile
from pathlib import Path

from ._store import atomic_write

__all__ = ["UntrustedModelError", "load_model", "save_model", "trusted_types"]

_FORMATS = ("skops", "joblib")
# scikit-learn types that skops does not trust by default but that models of this package
# hold: GridSearchCV's scorers and the splitters given as ``cv``. Audited: their state is
# parameters and arrays; rebuilding them touches no file.
_SKLEARN_TYPES = (
    "sklearn.metrics._scorer._PassthroughScorer",
    "sklearn.metrics._scorer._Scorer",
    "sklearn.model_selection._split.GroupKFold",
    "sklearn.model_selection._split.GroupShuffleSplit",
    "sklearn.model_selection._split.KFold",
    "sklearn.model_selection._split.LeaveOneGroupOut",
    "sklearn.model_selection._split.LeaveOneOut",
    "sklearn.model_selection._split.PredefinedSplit",
    "sklearn.model_selection._split.RepeatedKFold",
    "sklearn.model_selection._split.ShuffleSplit",
    "sklearn.model_selection._split.TimeSeriesSplit",
)


def _package_types():
    """Qualified names of the classes (and scorer functions) of skbrainmusic a model holds."""
    from . import metrics
    from .alignment import TemporalWindowAligner
    from .calibration import CalibratedDecoder
    from .embeddings import AudioEmbedder, CaptionEmbedder
    from .embeddings._librosa import LibrosaBackend, MelBackend
    from .embeddings._modulation import ModulationBackend
    from .encoding import VoxelwiseEncoder
    from .generation import ConditionedGenerator, DiffusionBackend, SpectrogramBackend
    from .model_selection import LeaveOneGenreOut
    from .retrieval import Corpus, EmbeddingRetriever
    from .ridge import ROIEnsembleRidge
    from .tagging import AudioTagger

    objects = (
        TemporalWindowAligner, ROIEnsembleRidge, CalibratedDecoder, VoxelwiseEncoder,
        EmbeddingRetriever, Corpus, ConditionedGenerator, SpectrogramBackend,
        DiffusionBackend, AudioEmbedder,
        LibrosaBackend, MelBackend, ModulationBackend, CaptionEmbedder, AudioTagger,
        LeaveOneGenreOut,
        # pure functions wrapped by identification_scorer / correlation_scorer
        metrics.identification_accuracy, metrics.correlation_score,
    )
    return {f"{obj.__module__}.{obj.__qualname__}" for obj in objects}


def _trusted_names():
    return _package_types() | set(_SKLEARN_TYPES)


def _file_opening_classes():
    import numpy as np
    import scipy.io

    return (np.memmap, io.IOBase, mmap.mmap, scipy.io.FortranFile, scipy.io.netcdf_file,
            zipfile.ZipFile, tarfile.TarFile, socket.socket, subprocess.Popen,
            sqlite3.Connection)


def _resolve(name):
    """The object a skops type name stands for (module, then attribute, as skops resolves
    it); only for names the caller chose in ``trusted``, never names read from a file."""
    module_name, _, attribute = name.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError) as exc:
        raise UntrustedModelError(f"{name}, named in trusted, cannot be imported ({exc}).") \
            from exc


def _opens_files(name):
    """Whether the type ``name`` (named by the caller in ``trusted``) opens files or more."""
    obj = _resolve(name)
    return isinstance(obj, type) and issubclass(obj, _file_opening_classes())


class UntrustedModelError(ValueError):
    """A model file holds types that are not trusted."""


def _check_model_file(path):
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(
            f"{path} is a folder, not a model file: give the path of a .skops file saved "
            "by save_model (e.g. one in the models/ folder of a run).")
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist.")
    if path.stat().st_size == 0:
        raise ValueError(f"model file {path} is empty (0 bytes): it was not written by "
                         "save_model, or its writing was interrupted.")
    return path


def _needed_types(path):
    from skops.io import get_untrusted_types

    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"{path} is not a .skops file (not a zip archive). A joblib pickle is loaded "
            "with load_model(path, allow_pickle=True), and only when you made it yourself.")
    try:
        return get_untrusted_types(file=path)
    except (KeyError, ValueError, TypeError, AttributeError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path} is not a valid .skops file ({exc!r}): its schema.json is "
                         "missing or malformed.") from exc


def trusted_types(path):
    """Split the types a skops file needs into (trusted, untrusted) lists of names.

    Parameters
    ----------
    path : str or path-like
        A ``.skops`` file.

    Returns
    -------
    trusted : list of str
        Types skops does not trust by default that are on skbrainmusic's audited list (its
        estimators and the scikit-learn splitters and scorers they hold).
    untrusted : list of str
        Every other type the file needs.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> from skbrainmusic import TemporalWindowAligner
    >>> from skbrainmusic.persistence import save_model, trusted_types
    >>> path = save_model(TemporalWindowAligner().fit(np.zeros((2, 10, 3))),
    ...                   Path(tempfile.mkdtemp()) / "aligner.skops")
    >>> trusted_types(path)
    (['skbrainmusic.alignment.TemporalWindowAligner'], [])
    """
    path = _check_model_file(path)
    needed = _needed_types(path)
    allowed = _trusted_names()
    return ([name for name in needed if name in allowed],
            [name for name in needed if name not in allowed])


def save_model(model, path, *, format="skops"):
    """Save a fitted model to ``path``.

    The file is written under a temporary name and renamed into place once complete, so an
    interrupted save never leaves half a model, and a symbolic link at ``path`` is replaced,
    never written through.

    Parameters
    ----------
    model : object
        The fitted estimator (e.g. a :class:`~sklearn.pipeline.Pipeline`).
    path : str or path-like
        Destination file; ``.skops`` or ``.joblib`` is the usual suffix.
    format : {"skops", "joblib"}, default="skops"
        ``"skops"`` is safe to load; ``"joblib"`` writes a pickle, which runs code when loaded,
        so only share it with people who trust you.

    Returns
    -------
    path : pathlib.Path
        The written file.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> from sklearn.linear_model import Ridge
    >>> from skbrainmusic.persistence import load_model, save_model
    >>> model = Ridge().fit(np.eye(3), [1.0, 2.0, 3.0])
    >>> path = save_model(model, Path(tempfile.mkdtemp()) / "ridge.skops")
    >>> np.allclose(load_model(path).predict(np.eye(3)), model.predict(np.eye(3)))
    True
    """
    if format not in _FORMATS:
        raise ValueError(f"format must be one of {_FORMATS}, got {format!r}.")
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder: give the path of the file to write.")
    if format == "skops":
        from skops.io import dump

        return atomic_write(path, lambda temporary: dump(model, temporary))
    import joblib

    return atomic_write(path, lambda temporary: joblib.dump(model, temporary))


def _check_trusted(trusted):
    if isinstance(trusted, (str, bytes)) or not all(isinstance(name, str) for name in trusted):
        raise TypeError(f"trusted must be a list of fully qualified type names (str), got "
                        f"{trusted!r}.")
    return set(trusted)


def load_model(path, *, trusted=(), allow_pickle=False):
    """Load a model saved by :func:`save_model`, checking the types it contains.

    Parameters
    ----------
    path : str or path-like
        A ``.skops`` file, or a ``.joblib``/``.pkl`` pickle when ``allow_pickle=True``.
    trusted : sequence of str, default=()
        Extra fully qualified type names to trust, beyond skops' defaults and
        skbrainmusic's audited list (see :func:`trusted_types`). Classes that open files,
        sockets or processes (``numpy.memmap``, ``scipy.io.FortranFile``, file objects ...)
        are refused even when named here.
    allow_pickle : bool, default=False
        Load a joblib pickle. Unpickling runs arbitrary code from the file: only for files
        you made yourself.

    Returns
    -------
    model : object
        The loaded model.

    Raises
    ------
    UntrustedModelError
        When a ``.skops`` file needs types that are not trusted (their names are listed),
        or when a pickle is given without ``allow_pickle=True``.
    FileNotFoundError, IsADirectoryError, ValueError
        When ``path`` is missing, a folder, empty, or not a ``.skops`` (zip) file.
    """
    extra = _check_trusted(trusted)
    path = _check_model_file(path)
    if path.suffix != ".skops":
        if not allow_pickle:
            raise UntrustedModelError(
                f"{path} is not a .skops file; loading a pickle runs code from the file. "
                "Call load_model(path, allow_pickle=True) only for files you made yourself."
            )
        import joblib

        return joblib.load(path)
    from skops.io import load

    implicit, untrusted = trusted_types(path)
    dangerous = sorted(name for name in set(untrusted) & extra if _opens_files(name))
    if dangerous:
        raise UntrustedModelError(
            f"{path} needs {', '.join(dangerous)}: type(s) that open files, sockets or "
            "processes when rebuilt, which skbrainmusic never loads, even when trusted.")
    refused = sorted(set(untrusted) - extra)
    if refused:
        raise UntrustedModelError(
            f"{path} contains types that are not trusted: {', '.join(refused)}. Inspect "
            "them (skops.io.get_untrusted_types) and call load_model(path, "
            "trusted=[...]) with their names if you trust them."
        )
    return load(path, trusted=implicit + sorted(set(untrusted) & extra))

"""Saving and loading fitted models: skops by default, joblib pickles only on request.

Loading a ``.skops`` file never runs code from the file: skops rebuilds objects from a
declarative description, and :func:`load_model` refuses any type it does not trust. Types
are trusted when they are *classes* defined by skbrainmusic, scikit-learn, NumPy or SciPy
(except ``numpy.memmap``, which opens files); anything else (functions, classes of other
packages) must be named by the caller in
``trusted`` after they have looked at it, as skops recommends.
"""

import importlib
from pathlib import Path

__all__ = ["UntrustedModelError", "load_model", "save_model", "trusted_types"]

_TRUSTED_PACKAGES = ("skbrainmusic", "sklearn", "numpy", "scipy")
# Classes of those packages that touch the file system when rebuilt.
_NEVER_IMPLICIT = {"numpy.memmap", "numpy.core.memmap.memmap", "numpy._core.memmap.memmap"}
_FORMATS = ("skops", "joblib")


class UntrustedModelError(ValueError):
    """A model file holds types that are not trusted."""


def _resolve(qualified_name):
    module_name, _, attribute = qualified_name.rpartition(".")
    while module_name:
        try:
            obj = importlib.import_module(module_name)
        except ImportError:
            module_name, _, parent = module_name.rpartition(".")
            attribute = f"{parent}.{attribute}"
            continue
        for part in attribute.split("."):
            obj = getattr(obj, part, None)
        return obj
    return None


def _is_trusted(qualified_name):
    if (qualified_name.split(".", 1)[0] not in _TRUSTED_PACKAGES
            or qualified_name in _NEVER_IMPLICIT):
        return False
    # Only classes: a trusted package's function (e.g. numpy.load) stored in a model could
    # be called later by the model, so functions are never trusted implicitly.
    return isinstance(_resolve(qualified_name), type)


def trusted_types(path):
    """Split the types a skops file needs into (trusted, untrusted) lists of names.

    Parameters
    ----------
    path : str or path-like
        A ``.skops`` file.

    Returns
    -------
    trusted : list of str
        Types skops does not trust by default that are classes of skbrainmusic,
        scikit-learn, NumPy or SciPy.
    untrusted : list of str
        Every other type the file needs.
    """
    from skops.io import get_untrusted_types

    needed = get_untrusted_types(file=Path(path))
    trusted = [name for name in needed if _is_trusted(name)]
    untrusted = [name for name in needed if not _is_trusted(name)]
    return trusted, untrusted


def save_model(model, path, *, format="skops"):
    """Save a fitted model to ``path``.

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
    >>> from skbrainmusic.cli._persistence import load_model, save_model
    >>> model = Ridge().fit(np.eye(3), [1.0, 2.0, 3.0])
    >>> path = save_model(model, Path(tempfile.mkdtemp()) / "ridge.skops")
    >>> np.allclose(load_model(path).predict(np.eye(3)), model.predict(np.eye(3)))
    True
    """
    if format not in _FORMATS:
        raise ValueError(f"format must be one of {_FORMATS}, got {format!r}.")
    path = Path(path)
    if format == "skops":
        from skops.io import dump

        dump(model, path)
    else:
        import joblib

        joblib.dump(model, path)
    return path


def load_model(path, *, trusted=(), allow_pickle=False):
    """Load a model saved by :func:`save_model`, checking the types it contains.

    Parameters
    ----------
    path : str or path-like
        A ``.skops`` file, or a ``.joblib``/``.pkl`` pickle when ``allow_pickle=True``.
    trusted : sequence of str, default=()
        Extra fully qualified type names to trust, beyond the classes of skbrainmusic,
        scikit-learn, NumPy and SciPy.
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
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist.")
    if path.suffix != ".skops":
        if not allow_pickle:
            raise UntrustedModelError(
                f"{path} is not a .skops file; loading a pickle runs code from the file. "
                "Pass allow_pickle=True (--allow-pickle) only for files you made yourself."
            )
        import joblib

        return joblib.load(path)
    from skops.io import load

    implicit, untrusted = trusted_types(path)
    refused = sorted(set(untrusted) - set(trusted))
    if refused:
        raise UntrustedModelError(
            f"{path} contains types that are not trusted: {', '.join(refused)}. Inspect "
            "them and pass their names in trusted=[...] if you trust them."
        )
    return load(path, trusted=implicit + list(trusted))

"""Input validation shared by every estimator: the clip sample convention.

One stimulus clip is one sample. Arrays are either 3-D ``(n_clips, n_windows, n_features)``
or 2-D ``(n_samples, n_features)``, which means one window per sample. Estimators call
:func:`validate_clips` so that ``n_features_in_`` always counts the last axis and 2-D input
keeps scikit-learn's feature-name handling.
"""

import numbers

import numpy as np
from sklearn.utils.validation import check_array, validate_data

FLOAT_DTYPES = (np.float64, np.float32)


def _ndim(X):
    """Number of dimensions of array-likes, DataFrames (2) and nested lists."""
    if hasattr(X, "ndim"):
        return X.ndim
    # np.asarray, not np.ndim: array-likes such as sklearn's NotAnArray refuse
    # __array_function__ dispatch but convert through __array__.
    return np.asarray(X).ndim


def _check_not_above_3d(X, name):
    # sklearn's own message ("dim <= 2 is required") hides that 3-D clip arrays are accepted.
    if _ndim(X) > 3:
        raise ValueError(
            f"{name} must be 2-D (n_samples, n_features) or 3-D (n_clips, n_windows, "
            f"n_features); got an array of shape {np.shape(X)}."
        )


def _check_3d(X, name, dtype, ensure_min_samples):
    X = check_array(
        X,
        dtype=dtype,
        allow_nd=True,
        ensure_all_finite=True,
        ensure_min_samples=ensure_min_samples,
        input_name=name,
    )
    if X.ndim != 3:
        raise ValueError(
            f"{name} must be 2-D (n_samples, n_features) or 3-D (n_clips, n_windows, "
            f"n_features); got an array of shape {X.shape}."
        )
    if X.shape[1] == 0 or X.shape[2] == 0:
        raise ValueError(f"{name} has an empty axis: shape {X.shape}.")
    return X


def check_clips(X, *, name="X", dtype=FLOAT_DTYPES, ensure_min_clips=1):
    """Validate a clip array and return it as 3-D without copying when possible.

    Parameters
    ----------
    X : array-like of shape (n_clips, n_windows, n_features) or (n_samples, n_features)
        The input. 2-D input is viewed as ``(n_samples, 1, n_features)``.
    name : str
        Name used in error messages.
    dtype : dtype or tuple of dtypes
        Accepted dtypes; the first is used to convert anything else.
    ensure_min_clips : int
        Minimum number of clips (first axis).

    Returns
    -------
    X3 : ndarray of shape (n_clips, n_windows, n_features)
    was_2d : bool
        Whether the input was 2-D.
    """
    if _ndim(X) == 3:
        return _check_3d(X, name, dtype, ensure_min_clips), False
    _check_not_above_3d(X, name)
    X2 = check_array(
        X,
        dtype=dtype,
        ensure_all_finite=True,
        ensure_min_samples=ensure_min_clips,
        input_name=name,
    )
    return X2[:, np.newaxis, :], True


def validate_clips(estimator, X, *, reset, dtype=FLOAT_DTYPES, ensure_min_clips=1):
    """Validate ``X`` for ``estimator`` and set or check ``n_features_in_``.

    2-D input goes through :func:`sklearn.utils.validation.validate_data` (feature names
    included); 3-D input is checked here, with ``n_features_in_`` counting the last axis.

    Returns
    -------
    X3 : ndarray of shape (n_clips, n_windows, n_features)
    was_2d : bool
    """
    if _ndim(X) == 3:
        X3 = _check_3d(X, "X", dtype, ensure_min_clips)
        n_features = X3.shape[2]
        if reset:
            estimator.n_features_in_ = n_features
            if hasattr(estimator, "feature_names_in_"):
                del estimator.feature_names_in_
        elif n_features != estimator.n_features_in_:
            raise ValueError(
                f"X has {n_features} features, but {type(estimator).__name__} is expecting "
                f"{estimator.n_features_in_} features as input (last axis)."
            )
        return X3, False
    _check_not_above_3d(X, "X")
    X2 = validate_data(
        estimator,
        X,
        reset=reset,
        dtype=dtype,
        ensure_all_finite=True,
        ensure_min_samples=ensure_min_clips,
    )
    return X2[:, np.newaxis, :], True


def check_targets(Y, X3, *, name="Y", dtype=FLOAT_DTYPES):
    """Validate targets against validated inputs ``X3`` (clips x windows x features).

    ``Y`` may be 1-D ``(n_samples,)``, 2-D ``(n_samples, d)`` (one window per sample) or 3-D
    ``(n_clips, n_windows, d)``. Returns ``(Y3, y_ndim)`` with ``Y3`` of shape
    ``(n_clips, n_windows, d)`` and the original number of dimensions.
    """
    Y = check_array(Y, dtype=dtype, ensure_2d=False, allow_nd=True, input_name=name,
                    ensure_all_finite=True)
    y_ndim = Y.ndim
    if y_ndim == 1:
        Y3 = Y.reshape(-1, 1, 1)
    elif y_ndim == 2:
        Y3 = Y[:, np.newaxis, :]
    elif y_ndim == 3:
        Y3 = Y
    else:
        raise ValueError(f"{name} must be 1-D, 2-D or 3-D; got shape {Y.shape}.")
    if Y3.shape[0] != X3.shape[0]:
        raise ValueError(
            f"X has {X3.shape[0]} samples (clips) but {name} has {Y3.shape[0]}: the first "
            "axes must match."
        )
    if Y3.shape[1] != X3.shape[1]:
        raise ValueError(
            f"X has {X3.shape[1]} windows per clip but {name} has {Y3.shape[1]} (axis 1): "
            "align them first, e.g. with TemporalWindowAligner."
        )
    return Y3, y_ndim


def restore_target_shape(Y3, y_ndim):
    """Inverse of the reshaping done in :func:`check_targets`."""
    if y_ndim == 1:
        return Y3.reshape(-1)
    if y_ndim == 2:
        return Y3[:, 0, :]
    return Y3


def all_finite(array):
    """Whether every element of the numeric ``array`` is finite, without a boolean copy.

    A finite sum proves it (any NaN or infinity makes the sum NaN or infinite); only a sum
    that is not finite, because of a non-finite element or of an overflow of huge finite
    ones, is checked element by element. The sum streams the array once (a memory-mapped
    corpus of gigabytes in a fraction of the time ``np.isfinite(array).all()`` takes).

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic._validation import all_finite
    >>> all_finite(np.ones(3)), all_finite(np.array([1.0, np.nan]))
    (True, False)
    >>> all_finite(np.full(2, np.finfo(np.float32).max))  # the sum overflows
    True
    """
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(array.sum()) or np.isfinite(array).all())


def check_positive_int(value, name, *, minimum=1):
    """Raise a clear error unless ``value`` is an integer >= ``minimum`` (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__}).")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}.")
    return int(value)

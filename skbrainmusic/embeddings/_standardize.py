"""Per-dimension standardisation learned by the embedders in ``fit``.

Raw embedding dimensions can differ in scale by orders of magnitude (librosa's tempo in
beats per minute next to spectral flatness in [0, 1]; BERT's few outlier dimensions), and
the identification accuracy correlates whole embedding vectors, so a few large dimensions
would decide it. The embedders therefore standardise every dimension with statistics
learned on the clips or texts given to ``fit``.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted


def fit_standardization(features):
    """Mean and scale of every dimension of ``features`` over all leading axes.

    Parameters
    ----------
    features : ndarray of shape (..., d)
        Raw embeddings, e.g. ``(n_clips, n_windows, d)``: every window counts once.

    Returns
    -------
    mean, scale : ndarray of shape (d,), dtype float64
        ``scale`` is the standard deviation; a dimension constant over all rows gets 1, so
        that it maps to 0 instead of NaN.
    """
    flat = features.reshape(-1, features.shape[-1])
    mean = flat.mean(axis=0, dtype=np.float64)
    scale = flat.std(axis=0, dtype=np.float64)
    # Exact constancy, not a tolerance: a tiny but real spread is information.
    scale[np.ptp(flat, axis=0) == 0] = 1.0
    return mean, scale


def check_standardization_fitted(estimator):
    """NotFittedError that names the two ways out, when ``standardize=True`` lacks ``fit``."""
    check_is_fitted(
        estimator, ("mean_", "scale_"),
        msg=("This %(name)s is not fitted yet: standardize=True learns the mean and scale "
             "of every dimension in fit. Call fit (e.g. on the training clips or a corpus) "
             "first, or pass standardize=False for the raw features."),
    )


def apply_standardization(features, mean, scale):
    """``(features - mean) / scale`` in place, in the dtype of ``features``.

    Parameters
    ----------
    features : ndarray of shape (..., d)
        Raw embeddings, overwritten.
    mean, scale : ndarray of shape (d,)

    Returns
    -------
    features : ndarray of shape (..., d)
    """
    features -= mean.astype(features.dtype)
    features /= scale.astype(features.dtype)
    return features

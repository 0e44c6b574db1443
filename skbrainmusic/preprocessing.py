"""Run-wise fMRI preprocessing and noise ceilings from repeated test presentations.

The preprocessing of the Brain2Music paper (A.1.1, after Nakai et al. 2021): low-frequency
drift removed from every run by subtracting a running median over 240 s, then every voxel
z-scored within the run. :func:`~skbrainmusic.datasets.load_nakai2022` and
:func:`~skbrainmusic.datasets.make_synthetic_study` both use :func:`preprocess_run`.
"""

import numpy as np
from scipy.ndimage import median_filter

from ._docs import fill_doc

# Voxels median-filtered at once (their padded copies: 4,096 x ~570 float32 = 9 MB).
_MEDIAN_BLOCK = 4096

__all__ = [
    "constant_voxels",
    "explainable_variance",
    "median_detrend",
    "noise_ceiling",
    "preprocess_run",
    "zscore_run",
]


def _check_run(run, name="run"):
    run = np.asarray(run)
    if run.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_scans, n_voxels); got shape {run.shape}.")
    if not np.issubdtype(run.dtype, np.number):
        raise TypeError(f"{name} must be numeric; got dtype {run.dtype}.")
    if not np.isfinite(run).all():
        bad = np.flatnonzero(~np.isfinite(run).all(axis=0))
        raise ValueError(
            f"{name} has NaN or infinite values in {bad.size} voxel(s) (first: {bad[:5]}); "
            "remove those voxels (e.g. with a tighter mask) before preprocessing."
        )
    return run


@fill_doc
def median_detrend(run, *, tr=1.5, window=240.0):
    """Remove slow drift by subtracting a running median along time.

    Parameters
    ----------
    %(run)s
    %(tr)s
    window : float, default=240.0
        Width of the running median in seconds (the paper's 240 s); converted to an odd
        number of scans. Past the edges the first or last scan is repeated, which
        leaves a linear drift no residue at the run's ends.

    Returns
    -------
    detrended : ndarray of float32 of shape (n_scans, n_voxels)

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic.preprocessing import median_detrend
    >>> drift = np.linspace(0, 50, 410)[:, None] + np.zeros((1, 3))
    >>> bool(np.abs(median_detrend(drift)).max() < 1.0)
    True
    """
    run = _check_run(run).astype(np.float32, copy=False)
    if tr <= 0 or window <= 0:
        raise ValueError(f"tr and window must be positive; got tr={tr}, window={window}.")
    size = int(round(window / tr)) // 2 * 2 + 1
    half = size // 2
    detrended = np.empty(run.shape, dtype=np.float32)
    if run.shape[0] == 0:
        return detrended
    # One 1-D filter over a block of voxels end to end: scipy's 1-D median (a running heap)
    # is ~20x faster than the generic n-D filter on a (size, 1) footprint, and one call on
    # contiguous voxels instead of one per strided column saves its per-call cost. Each
    # voxel is padded with its first and last scan (mode "nearest") by half a window, so
    # no window reaches a neighbouring voxel. Blocks bound the padded copies' memory.
    for start in range(0, run.shape[1], _MEDIAN_BLOCK):
        block = run[:, start:start + _MEDIAN_BLOCK]
        voxels = np.pad(block.T, ((0, 0), (half, half)), mode="edge")
        medians = median_filter(voxels.ravel(), size=size).reshape(voxels.shape)
        detrended[:, start:start + _MEDIAN_BLOCK] = block - medians[:, half:half + len(run)].T
    return detrended


def constant_voxels(run):
    """Boolean mask ``(n_voxels,)`` of the voxels that do not vary over the run's scans."""
    run = _check_run(run)
    return np.ptp(run, axis=0) == 0


def zscore_run(run):
    """Z-score every voxel over the run's scans.

    Parameters
    ----------
    run : array-like of shape (n_scans, n_voxels)

    Returns
    -------
    zscored : ndarray of float32 of shape (n_scans, n_voxels)
        Zero mean and unit variance per voxel.

    Raises
    ------
    ValueError
        If a voxel is constant (its z-score is undefined); find them with
        :func:`constant_voxels` and drop them first.
    """
    run = _check_run(run).astype(np.float64, copy=False)
    # np.std's own arithmetic, with the centred run kept for the division
    centred = run - run.mean(axis=0)
    std = np.sqrt(np.add.reduce(centred * centred, axis=0) / run.shape[0])
    constant = np.flatnonzero(std == 0)
    if constant.size:
        raise ValueError(
            f"{constant.size} voxel(s) are constant over the run (first: {constant[:5]}), so "
            "they cannot be z-scored; drop them first (see constant_voxels)."
        )
    centred /= std
    return centred.astype(np.float32)


@fill_doc
def preprocess_run(run, *, tr=1.5, window=240.0):
    """Median detrending over ``window`` seconds, then per-voxel z-scoring (paper A.1.1).

    Parameters
    ----------
    %(run)s
    %(tr)s
    window : float, default=240.0
        Width of the running median in seconds.

    Returns
    -------
    preprocessed : ndarray of float32 of shape (n_scans, n_voxels)

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic.preprocessing import preprocess_run
    >>> run = np.random.default_rng(0).normal(size=(410, 4)) + np.arange(410)[:, None]
    >>> preprocess_run(run).std(axis=0).round(3)
    array([1., 1., 1., 1.], dtype=float32)
    """
    return zscore_run(median_detrend(run, tr=tr, window=window))


def _check_repeats(responses_repeats):
    data = np.asarray(responses_repeats)
    if data.ndim != 4:
        raise ValueError(
            "responses_repeats must be 4-D (n_clips, n_repeats, n_scans, n_voxels); "
            f"got shape {data.shape}."
        )
    if data.shape[1] < 2:
        raise ValueError(
            f"At least 2 repeats are needed to separate signal from noise; got {data.shape[1]}."
        )
    if not np.isfinite(data).all():
        raise ValueError("responses_repeats has NaN or infinite values.")
    n_clips, n_repeats, n_scans, n_voxels = data.shape
    # (n_repeats, n_time, n_voxels): every repeat is one presentation of the whole test set.
    return data.transpose(1, 0, 2, 3).reshape(n_repeats, n_clips * n_scans, n_voxels)


def explainable_variance(responses_repeats, *, bias_correction=True):
    """Fraction of a voxel's variance that is repeatable across presentations.

    The variance of the mean over repeats divided by the mean variance of single repeats
    (each repeat z-scored over time), as in voxelwise_tutorials; with ``bias_correction``
    the upward bias of a finite number of repeats is removed (Sahani & Linden, 2003), so
    pure noise gives values around 0 (and possibly slightly negative).

    Parameters
    ----------
    responses_repeats : array-like of shape (n_clips, n_repeats, n_scans, n_voxels)
        Responses to the same clips presented ``n_repeats >= 2`` times (the Bunch field
        ``responses_test_repeats``).
    bias_correction : bool, default=True
        Correct for the number of repeats.

    Returns
    -------
    ev : ndarray of shape (n_voxels,)
        Explainable variance of a single presentation, at most 1.

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic.preprocessing import explainable_variance
    >>> rng = np.random.default_rng(0)
    >>> signal = rng.normal(size=(20, 1, 10, 2))
    >>> repeats = signal + rng.normal(size=(20, 4, 10, 2))
    >>> explainable_variance(repeats).round(1)
    array([0.5, 0.5])
    """
    data = _check_repeats(responses_repeats).astype(np.float64)
    mean = data.mean(axis=1, keepdims=True)
    std = data.std(axis=1, keepdims=True)
    constant = (std == 0).any(axis=0).ravel()
    if constant.any():
        raise ValueError(
            f"{int(constant.sum())} voxel(s) are constant in a repeat "
            f"(first: {np.flatnonzero(constant)[:5]}); drop them first."
        )
    data = (data - mean) / std
    ev = data.mean(axis=0).var(axis=0) / data.var(axis=1).mean(axis=0)
    if bias_correction:
        n_repeats = data.shape[0]
        ev = ev - (1 - ev) / (n_repeats - 1)
    return ev


def noise_ceiling(responses_repeats):
    """Highest Pearson r a noiseless model can reach against the repeat-averaged response.

    With ``ev`` the explainable variance of one presentation (signal variance over total,
    see :func:`explainable_variance`) and ``n`` repeats, averaging divides the noise
    variance by ``n``, so the repeat-averaged response (``responses_test``) has signal
    fraction ``ev / (ev + (1 - ev) / n)``; its square root is the correlation between
    the true signal and the average (Hsu et al., 2004; Schoppe et al., 2016). Voxels with
    ``ev <= 0`` get 0.

    Parameters
    ----------
    responses_repeats : array-like of shape (n_clips, n_repeats, n_scans, n_voxels)
        Responses to the same clips presented ``n_repeats >= 2`` times.

    Returns
    -------
    ceiling : ndarray of shape (n_voxels,)
        Per-voxel maximum attainable Pearson r, in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic.preprocessing import noise_ceiling
    >>> rng = np.random.default_rng(0)
    >>> signal = rng.normal(size=(30, 1, 10, 1))
    >>> repeats = signal + rng.normal(size=(30, 4, 10, 1))
    >>> noise_ceiling(repeats).round(1)
    array([0.9])
    """
    n_repeats = np.shape(responses_repeats)[1] if np.ndim(responses_repeats) == 4 else 0
    ev = np.clip(explainable_variance(responses_repeats), 0.0, 1.0)
    signal_fraction = np.divide(ev, ev + (1 - ev) / n_repeats, out=np.zeros_like(ev), where=ev > 0)
    return np.sqrt(signal_fraction)

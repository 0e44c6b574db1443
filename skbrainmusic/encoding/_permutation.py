"""Refit-free permutation test of held-out correlations, with Benjamini-Hochberg FDR.

The null: the clip order of the held-out predictions is shuffled against the measured
responses. Whole clips are permuted (the windows of a clip move together, in their order),
so the within-clip autocorrelation of both signals is kept and only the clip-to-stimulus
correspondence is broken. The model is not refitted: this tests "the predictions of this
fitted model carry stimulus-specific information", not "a model refitted on shuffled
training data would score this high". The same permutations are applied to every voxel.

Because permuting samples does not change a column's mean or norm, the Pearson r of a
permutation is the dot product of the standardised responses with the permuted standardised
predictions. With few clips and several windows per clip (the paper's test set: 60 clips x
10 scans) it is faster to build, per voxel, the clip-by-clip cross products once and read
every permutation off them with one matrix product per batch of permutations; with one
window per clip the permuted predictions are gathered directly.
"""

import warnings
from dataclasses import dataclass
from math import factorial

import numpy as np
from scipy.stats import false_discovery_control
from sklearn.utils import check_random_state

from .._docs import fill_doc
from .._validation import check_clips, check_positive_int

# Below this many bytes a voxel batch's clip-by-clip cross products stay in cache-friendly
# sizes; the batch size is derived from it when the caller does not give one.
_BATCH_BYTES = 64 * 2**20
# Permutations summed at once by the gathering null (their partial sums stay in cache).
_GATHER_PERMUTATIONS = 64


@dataclass
class PermutationTestResult:
    """Result of :func:`permutation_test`.

    Attributes
    ----------
    scores : ndarray of shape (n_voxels,)
        Pearson r between predictions and responses per voxel (0 for a constant voxel).
    pvalues : ndarray of shape (n_voxels,)
        One-sided permutation p-values, ``(1 + #{r_perm >= r}) / (1 + n_permutations)``.
    pvalues_fdr : ndarray of shape (n_voxels,)
        Benjamini-Hochberg adjusted p-values.
    significant : ndarray of shape (n_voxels,), dtype bool
        ``pvalues_fdr <= q``.
    q : float
        False discovery rate level.
    n_permutations : int
        Number of permutations drawn.
    """

    scores: np.ndarray
    pvalues: np.ndarray
    pvalues_fdr: np.ndarray
    significant: np.ndarray
    q: float
    n_permutations: int


def fdr_correction(pvalues, *, q=0.05, method="bh"):
    """Benjamini-Hochberg (or -Yekutieli) correction of per-voxel p-values.

    Parameters
    ----------
    pvalues : array-like of shape (n_voxels,)
        P-values in [0, 1].
    q : float, default=0.05
        False discovery rate level.
    method : {"bh", "by"}, default="bh"
        ``"bh"``: Benjamini-Hochberg (independent or positively dependent tests);
        ``"by"``: Benjamini-Yekutieli (any dependence, more conservative).

    Returns
    -------
    significant : ndarray of shape (n_voxels,), dtype bool
        Voxels whose adjusted p-value is at most ``q``.
    pvalues_fdr : ndarray of shape (n_voxels,)
        Adjusted p-values (:func:`scipy.stats.false_discovery_control`).

    Examples
    --------
    >>> from skbrainmusic.encoding import fdr_correction
    >>> significant, adjusted = fdr_correction([0.001, 0.01, 0.04, 0.5])
    >>> significant.tolist()
    [True, True, False, False]
    """
    pvalues = np.asarray(pvalues, dtype=np.float64)
    if pvalues.ndim != 1:
        raise ValueError(f"pvalues must be 1-D (n_voxels,); got shape {pvalues.shape}.")
    if not 0 < q < 1:
        raise ValueError(f"q must lie in (0, 1), got {q!r}.")
    adjusted = false_discovery_control(pvalues, method=method)
    return adjusted <= q, adjusted


def _standardize(A):
    """Columns centred and scaled to unit norm (constant columns become 0), float32/64 kept."""
    scale = np.abs(A).max(axis=0) * np.sqrt(A.shape[0])
    A = (A - A.mean(axis=0, dtype=np.float64)).astype(A.dtype)
    norms = np.linalg.norm(A, axis=0)
    # A constant column centres to rounding noise relative to its magnitude, not to zeros.
    constant = norms <= 8 * np.finfo(A.dtype).eps * scale
    norms[constant] = 1.0
    A /= norms
    A[:, constant] = 0.0
    return A


def _null_cross(Zt, Zp, permutations, n_permutations_batch):
    """r for every permutation from the per-voxel clip-by-clip cross products (one GEMM a batch).

    Zt, Zp: (n_clips, n_windows, n_vox); permutations: (n_perm, n_clips) -> (n_vox, n_perm).
    """
    n_clips = Zt.shape[0]
    # cross[v, c, d] = <Zt[c, :, v], Zp[d, :, v]>: r of a permutation is sum_c cross[v, c, perm(c)]
    cross = np.matmul(Zt.transpose(2, 0, 1), Zp.transpose(2, 1, 0)).reshape(Zt.shape[2], -1)
    null = np.empty((Zt.shape[2], len(permutations)), dtype=Zt.dtype)
    rows = np.arange(n_clips) * n_clips
    for start in range(0, len(permutations), n_permutations_batch):
        batch = permutations[start:start + n_permutations_batch]
        selector = np.zeros((len(batch), n_clips * n_clips), dtype=Zt.dtype)
        selector[np.arange(len(batch))[:, None], rows + batch] = 1.0
        null[:, start:start + len(batch)] = cross @ selector.T
    return null


def _null_gather(Zt, Zp, permutations):
    """r for every permutation from the per-voxel clip-by-clip cross products, gathered
    -> (n_vox, n_perm).

    ``cross[c, d, v] = <Zt[c, :, v], Zp[d, :, v]>`` is computed once (n_clips^2 n_windows
    products a voxel); a permutation's r is then ``sum_c cross[c, perm(c), v]``: n_clips
    additions a voxel instead of n_clips n_windows products.
    """
    n_clips, n_windows, n_vox = Zt.shape
    cross = np.zeros((n_clips, n_clips, n_vox), dtype=Zt.dtype)
    for window in range(n_windows):
        cross += Zt[:, window, np.newaxis, :] * Zp[np.newaxis, :, window, :]
    cross = cross.reshape(n_clips * n_clips, n_vox)
    rows = np.arange(n_clips) * n_clips
    null = np.empty((len(permutations), n_vox), dtype=Zt.dtype)
    for start in range(0, len(permutations), _GATHER_PERMUTATIONS):
        batch = permutations[start:start + _GATHER_PERMUTATIONS] + rows
        total = cross[batch[:, 0]]
        for clip in range(1, n_clips):
            total += cross[batch[:, clip]]
        null[start:start + len(batch)] = total
    return null.T


@fill_doc
def permutation_test(Y_true, Y_pred, *, n_permutations=1000, q=0.05, fdr_method="bh",
                     n_targets_batch=None, random_state=None):
    """Per-voxel significance of held-out correlations by permuting whole clips.

    The null distribution of each voxel's Pearson r is built by shuffling the clip order of
    the predictions against the responses (windows of a clip stay together and in order);
    the model is not refitted (see the module docstring for what this null tests). P-values
    are one-sided, ``(1 + #{r_perm >= r}) / (1 + n_permutations)``, and corrected across
    voxels with Benjamini-Hochberg at level ``q``. All voxels share the same permutations.

    Parameters
    ----------
    Y_true : array-like of shape (n_clips, n_windows, n_voxels) or (n_clips, n_voxels)
        Measured held-out responses. 2-D input means one window per clip: pass windowed
        or scan-level data 3-D, otherwise its rows are permuted one by one and the null
        ignores their autocorrelation (anti-conservative p-values).
    Y_pred : array-like of the same shape as ``Y_true``
        Predicted responses (e.g. ``encoder.predict(X_test)``).
    n_permutations : int, default=1000
        Number of random clip permutations.
    q : float, default=0.05
        False discovery rate level of the Benjamini-Hochberg correction.
    fdr_method : {"bh", "by"}, default="bh"
        Correction procedure (see :func:`fdr_correction`).
    n_targets_batch : int, default=None
        Voxels processed at once (memory knob). ``None`` picks a batch whose intermediate
        arrays stay near 64 MiB.
    %(random_state)s

    Returns
    -------
    result : PermutationTestResult
        ``scores``, ``pvalues``, ``pvalues_fdr`` and ``significant``, each of shape
        (n_voxels,).

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic.encoding import permutation_test
    >>> rng = np.random.default_rng(0)
    >>> Y_true = rng.standard_normal((30, 4, 5))
    >>> Y_pred = Y_true + rng.standard_normal((30, 4, 5))
    >>> Y_pred[..., 4] = rng.standard_normal((30, 4))  # an unpredicted voxel
    >>> result = permutation_test(Y_true, Y_pred, n_permutations=200, random_state=0)
    >>> result.significant.tolist()
    [True, True, True, True, False]
    """
    Y_true, _ = check_clips(Y_true, name="Y_true", ensure_min_clips=2)
    Y_pred, _ = check_clips(Y_pred, name="Y_pred", ensure_min_clips=2)
    if Y_true.shape != Y_pred.shape:
        raise ValueError(
            f"Y_true has shape {Y_true.shape} but Y_pred has shape {Y_pred.shape}; they must "
            "match (n_clips, n_windows, n_voxels)."
        )
    n_permutations = check_positive_int(n_permutations, "n_permutations")
    if not 0 < q < 1:
        raise ValueError(f"q must lie in (0, 1), got {q!r}.")
    n_clips, n_windows, n_voxels = Y_true.shape
    if n_clips < 13 and factorial(n_clips) - 1 < n_permutations:
        warnings.warn(
            f"{n_clips} clips allow only {factorial(n_clips) - 1} distinct non-identity "
            f"permutations but n_permutations={n_permutations}: permutations repeat and the "
            "smallest attainable p-value is limited by the number of clips.",
            UserWarning, stacklevel=2,
        )
    dtype = np.result_type(Y_true.dtype, Y_pred.dtype)
    rng = check_random_state(random_state)
    # Row 0 is the identity: the observed r goes through the same arithmetic as the null.
    permutations = np.empty((n_permutations + 1, n_clips), dtype=np.intp)
    permutations[0] = np.arange(n_clips)
    for index in range(1, n_permutations + 1):
        permutations[index] = rng.permutation(n_clips)

    # Both build the clip-by-clip cross products (n_clips**2 * n_windows a voxel); then a
    # GEMM with one-hot selectors costs n_clips**2 * n_perm BLAS flops a voxel, gathering
    # n_clips * n_perm additions (about 8x slower per flop on CPUs).
    use_cross = n_clips * (n_windows + n_permutations) < 8 * (n_clips * n_windows
                                                              + n_permutations)
    if n_targets_batch is None:
        per_voxel = 2 * n_clips * n_clips + n_permutations
        n_targets_batch = max(1, _BATCH_BYTES // (per_voxel * np.dtype(dtype).itemsize))
    n_targets_batch = check_positive_int(n_targets_batch, "n_targets_batch")
    n_permutations_batch = max(1, _BATCH_BYTES // (n_clips * n_clips * np.dtype(dtype).itemsize))

    scores = np.empty(n_voxels, dtype=np.float64)
    exceed = np.empty(n_voxels, dtype=np.int64)
    for start in range(0, n_voxels, n_targets_batch):
        stop = min(start + n_targets_batch, n_voxels)
        Zt = _standardize(Y_true[..., start:stop].reshape(-1, stop - start).astype(dtype))
        Zp = _standardize(Y_pred[..., start:stop].reshape(-1, stop - start).astype(dtype))
        Zt = Zt.reshape(n_clips, n_windows, -1)
        Zp = Zp.reshape(n_clips, n_windows, -1)
        if use_cross:
            null = _null_cross(Zt, Zp, permutations, n_permutations_batch)
        else:
            null = _null_gather(Zt, Zp, permutations)
        observed = null[:, :1]
        scores[start:stop] = observed[:, 0]
        exceed[start:stop] = (null[:, 1:] >= observed).sum(axis=1)
    pvalues = (1.0 + exceed) / (1.0 + n_permutations)
    significant, pvalues_fdr = fdr_correction(pvalues, q=q, method=fdr_method)
    return PermutationTestResult(
        scores=scores, pvalues=pvalues, pvalues_fdr=pvalues_fdr, significant=significant,
        q=q, n_permutations=n_permutations,
    )

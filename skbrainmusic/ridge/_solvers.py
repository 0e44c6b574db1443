"""Ridge regression with one alpha per target chosen by cross-validation: the solver core.

Shared by the decoders (:class:`~skbrainmusic.ROIEnsembleRidge`: voxels -> embedding, many
features, few targets) and the voxelwise encoding models (embedding -> voxels, few features,
up to ~60,000 targets). Plain functions, arrays in, arrays out (himalaya's layout); the
estimators are thin layers on top.

Public API (stable)
-------------------
``ridge_cv(X, Y, alphas, splits, *, backend="numpy", dtype="float32", score="correlation",
n_targets_batch=None, fit_intercept=True, standardize=False, return_cv_scores=False,
refit=True)``
    -> :class:`RidgeCVResult` with ``best_alphas`` (n_targets,), ``best_alpha_indices``
    (n_targets,), ``best_scores`` (n_targets,), ``cv_scores`` (n_alphas, n_targets) or None,
    ``coef`` (n_features, n_targets) or None, ``intercept`` (n_targets,) or None.
``ridge_fit(X, Y, alphas, *, backend="numpy", dtype="float32", fit_intercept=True,
standardize=False, n_targets_batch=None)`` -> ``(coef, intercept)`` for a fixed alpha
(scalar or one per target).

``X`` is ``(n_samples, n_features)`` with the windows of every clip already stacked, ``Y`` is
``(n_samples, n_targets)``, and ``splits`` is a sequence of ``(train_indices, val_indices)``
over samples, built from clip-level folds so that windows of a clip never cross
(:func:`skbrainmusic.ridge.clip_splits`).

Method
------
For every fold, the training rows are centred with their own means (the validation rows are
shifted by the *training* means: nothing of the held-out rows leaks into the fit), and the
smaller of the two Gram matrices of the centred training rows, ``S``, is factored once as
``S = Q M Q^T``:

- primal (``n_features <= n_train``): ``S = Xc^T Xc``, ``A = Xv Q``, ``B = Q^T Xc^T Yc``;
- dual (``n_features > n_train``): ``S = Xc Xc^T``, ``A = Xv Xc^T Q``, ``B = Q^T Yc``.

The full-data Gram matrix is computed once per call and every fold's ``S`` is derived from
it (primal: minus the validation rows' products and a rank-one centring term; dual: the
training block, double-centred), so no fold repeats the large product. In the primal,
``X^T Y`` is computed once per call too (``n_features x n_targets``: never more than ``Y``,
the primal having fewer features than samples): a fold whose rows partition the samples gets
``Xt^T Yt = X^T Y - Xv^T Yv`` (a product over ``n_val`` rows instead of ``n_train``), and the
validation terms come from the validation rows' own centred products (``Xvc^T Xvc``,
``Xvc^T Yvc``, shared with the two updates) brought to the basis ``Q``, so ``A`` itself is
only formed when the rank reaches the number of validation rows.

With the numpy backend, from rank 512 (and while the targets x alphas are few enough),
``M`` is tridiagonal (LAPACK ``sytrd``; ``Q`` is applied from its Householder reflectors,
never formed) and ``Z = (M + alpha I)^-1 B`` costs O(rank) per target and alpha (``ptsv``);
a full eigendecomposition costs ~3x more than the reduction at these sizes. Below, and with
torch on the CPU, ``M`` is diagonal (eigendecomposition) and ``Z = B / (s + alpha)``. With
torch on CUDA, ``Q = I`` and ``M`` is the Gram matrix itself, whose shifted copies
``M + alpha I`` are factorised in one batched Cholesky call
(:class:`~skbrainmusic.ridge._backend.ShiftedCholesky`: the GPU's eigendecomposition is
latency-bound at these sizes). Either way the validation predictions are ``A Z``, and their
correlation (or R^2) with the held-out targets needs only ``A^T Yv`` (shared by all alphas;
with an eigendecomposition the products ``sum(Z * A^T Yv)`` of all alphas are one small
product, ``(1 / (s + alpha)) @ (B * A^T Yv)``) and the squared norms ``||Ac Z||^2``. When
the rank is smaller than the number of validation rows these are ``||L^T Z||^2`` with ``L``
the Cholesky factor of the small Gram matrix ``Ac^T Ac`` (numpy: one triangular product,
BLAS ``trmm``, half the flops of ``sum(Z * (Ac^T Ac) Z)``, which torch uses instead). A Gram
matrix that is only semi-definite at this precision (validation rows with fewer distinct
rows than the rank, as when an encoding model's features are repeated over the windows of
a clip) gets a pivoted Cholesky factor truncated at its numerical rank ``k``, which costs
``k (rank - k / 2)`` per column. When the rank is not smaller than the number of validation
rows the norms are computed directly. All alphas of a target batch go through one BLAS
call. Targets are processed in batches (``n_targets_batch``) so that 60,000 voxel
targets fit in memory. Validation scores are accumulated in float64 and averaged over
folds; the best alpha of each target maximises the mean score, ties going to the larger
alpha (as himalaya does). The refit on all samples uses a Cholesky solve per distinct
selected alpha when there are few of them (cheaper than an eigendecomposition) and one
eigendecomposition otherwise.

Eigenvalues below zero (float32 round-off of a positive semi-definite Gram matrix) are set to
zero. Predictions that are constant across validation rows, and held-out targets that are
constant, score 0 (correlation) instead of NaN.

Scale: inputs whose magnitude is beyond 2^40 (about 1e12) or below 2^-40 are first divided by
a power of two (exact: only exponents change; the alphas are divided by its square, so the
problem is the same) and targets likewise per column, so that float32 Gram matrices neither
overflow nor underflow (values of 1e19 used to give NaN scores). When the alphas are too
small for the data's scale to be represented in ``dtype`` (e.g. alpha=0.1 for inputs of 1e19
in float32) a ValueError says so. In the dual with an intercept, the centred kernel has the
constant vector as null vector; it is given the kernel's mean eigenvalue (which leaves the
solution unchanged, the centred targets being orthogonal to it) so that round-off along it is
never divided by a tiny alpha.
"""

from dataclasses import dataclass

import numpy as np

from .._numeric import power_of_two_scale
from .._validation import all_finite
from ._backend import check_dtype, get_backend

SCORES = ("correlation", "r2")
# Penalties tried when none are given: wide enough for z-scored voxels and embeddings.
DEFAULT_ALPHAS = np.logspace(-1, 7, 20)
# Memory of the largest work array of one target batch (n_alphas * rank * batch values).
_BATCH_BYTES = 256 * 2**20
# A Cholesky factorisation costs ~r^3/3 flops at near-GEMM speed, a symmetric
# eigendecomposition ~10x more in wall time (measured on 200-2000 wide float32 matrices).
_MAX_CHOLESKY_ALPHAS = 8
# The tridiagonal route saves the eigendecomposition's ~5e-11 r^3 s beyond the reduction but
# pays ~6e-9 s per rank, target and alpha in scalar shifted solves (one core, float32). So
# it is taken from rank 512 (below, eigh is cheaper: 400 -> 8 ms vs 10 ms, 800 -> 40 ms vs
# 30 ms) and while n_targets * n_alphas <= rank^2 / 128: decoding (128 targets) takes it,
# encoding with thousands of voxel targets keeps the eigendecomposition.
_MIN_TRIDIAGONAL_SIZE = 512
# Validation rows from which a primal fold whose rank is at least their number still
# factors their Gram matrix for the prediction norms (numpy; with more alphas x targets to
# score than the rank): a ROI of 400-600 voxels with 384 validation rows saves a fifth of
# its norms; with 96 rows the direct product measured faster.
_MIN_FACTORED_ROWS = 256
_TRIDIAGONAL_SOLVES_PER_RANK2 = 1 / 128


@dataclass
class RidgeCVResult:
    """Result of :func:`ridge_cv`.

    Attributes
    ----------
    best_alphas : ndarray of shape (n_targets,)
        Selected alpha of every target (values of the ``alphas`` grid).
    best_alpha_indices : ndarray of shape (n_targets,)
        Index of the selected alpha in the ``alphas`` grid.
    best_scores : ndarray of shape (n_targets,)
        Cross-validation score of the selected alpha, averaged over folds (float64).
    cv_scores : ndarray of shape (n_alphas, n_targets) or None
        Cross-validation score of every alpha, averaged over folds (float64); None unless
        ``return_cv_scores=True``.
    coef : ndarray of shape (n_features, n_targets) or None
        Weights refit on all samples with the selected alphas; None when ``refit=False``.
    intercept : ndarray of shape (n_targets,) or None
        Intercepts of the refit (zeros when ``fit_intercept=False``); None when
        ``refit=False``.
    """

    best_alphas: np.ndarray
    best_alpha_indices: np.ndarray
    best_scores: np.ndarray
    cv_scores: np.ndarray = None
    coef: np.ndarray = None
    intercept: np.ndarray = None


def _check_xy(X, Y):
    X = np.asarray(X)
    Y = np.asarray(Y)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}.")
    if Y.ndim == 1:
        Y = Y[:, np.newaxis]
    if Y.ndim != 2:
        raise ValueError(f"Y must be 1-D or 2-D (n_samples, n_targets), got shape {Y.shape}.")
    if X.shape[0] != Y.shape[0]:
        raise ValueError(
            f"X has {X.shape[0]} samples but Y has {Y.shape[0]}: the first axes must match."
        )
    for name, array in (("X", X), ("Y", Y)):
        if not all_finite(array):
            raise ValueError(f"{name} contains NaN or infinite values; remove or impute them.")
    return X, Y


def _rescaled(X, Y, alphas, dtype, standardize):
    """``(X, Y, alphas, x_scale, y_scale)`` of the same ridge problem with data of safe
    magnitude (see "Scale" in the module docstring); ``alphas`` float64 of ``dtype``'s range."""
    x_scale = float(power_of_two_scale(X))
    y_scale = power_of_two_scale(Y, axis=0)
    if x_scale != 1.0:
        X = X / x_scale
        # standardised columns, and so the penalty, do not depend on X's scale
        if not standardize:
            alphas = alphas / x_scale**2
    if np.any(y_scale != 1.0):
        Y = Y / y_scale
    limits = np.finfo(dtype)
    if alphas.min() < limits.tiny:
        peak = float(x_scale * np.abs(X).max())
        raise ValueError(
            f"X holds values up to {peak:.3g}: at that scale alpha={alphas.min() * x_scale**2:g}"
            f" is below what {dtype} resolves (alpha / X's squared scale < {limits.tiny:.2g}). "
            f"Rescale X (e.g. divide it by {x_scale:.3g}), give alphas at X's squared scale, "
            "or use dtype='float64'."
        )
    # a penalty beyond dtype's range is as good as infinite: the coefficients are zero
    return X, Y, np.minimum(alphas, limits.max / 4), x_scale, y_scale


def _unscaled(coef, intercept, x_scale, y_scale, dtype):
    """Coefficients and intercepts of the rescaled problem mapped back to the data's scale."""
    if x_scale == 1.0 and np.all(y_scale == 1.0):
        return coef, intercept
    with np.errstate(over="ignore"):
        coef = (coef * (y_scale / x_scale)).astype(dtype)
        intercept = (intercept * y_scale).astype(dtype)
    if not (np.isfinite(coef).all() and np.isfinite(intercept).all()):
        raise ValueError(f"The ridge coefficients overflow {dtype} at the scale of the data "
                         "(targets / inputs too large); rescale Y or X, or use "
                         "dtype='float64'.")
    return coef, intercept


def _lift_constant_direction(kernel):
    """``kernel + mean(diag) * 11^T / n`` for a centred (dual) kernel: the constant vector, a
    null vector of it, gets about its mean eigenvalue. The centred right-hand sides are
    orthogonal to it, so the solution is the same, but round-off along it is no longer
    divided by alpha (garbage when alpha is tiny against the kernel's scale)."""
    return kernel + kernel.diagonal().mean() / kernel.shape[0]


def _check_alphas(alphas):
    alphas = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    if alphas.ndim != 1 or alphas.size == 0:
        raise ValueError(f"alphas must be a non-empty 1-D array, got shape {alphas.shape}.")
    if not np.all(np.isfinite(alphas)) or np.any(alphas <= 0):
        raise ValueError(f"alphas must be finite and > 0, got {alphas}.")
    return alphas


def _check_splits(splits, n_samples):
    checked = []
    for fold, (train, val) in enumerate(splits):
        train = np.asarray(train, dtype=np.intp)
        val = np.asarray(val, dtype=np.intp)
        if train.size == 0 or val.size == 0:
            raise ValueError(f"Fold {fold} has an empty training or validation set.")
        for part in (train, val):
            if part.min() < 0 or part.max() >= n_samples:
                raise ValueError(
                    f"Fold {fold} indexes samples outside [0, {n_samples}); splits must "
                    "index the rows of X."
                )
        checked.append((train, val))
    if not checked:
        raise ValueError("splits is empty: give at least one (train, val) pair.")
    return checked


def _batch_size(n_targets_batch, n_targets, n_alphas, width, itemsize):
    if n_targets_batch is not None:
        return max(1, min(int(n_targets_batch), n_targets))
    return int(max(1, min(n_targets, _BATCH_BYTES // (n_alphas * max(width, 1) * itemsize))))


def _largest_product_flops(n_samples, n_features, n_targets, n_targets_batch, n_alphas,
                           dtype):
    """Floating-point operations of a ridge problem's largest step: the Gram matrix of
    ``X``, its product with one batch of targets, or the Gram matrix's eigendecomposition
    (about 4 rank^3). Chooses the BLAS threads (``be.threads``)."""
    rank = min(n_samples, n_features)
    batch = _batch_size(n_targets_batch, n_targets, n_alphas, rank, np.dtype(dtype).itemsize)
    return max(2 * n_samples * n_features * max(rank, batch), 4 * rank**3)


def _validates_every_row_once(splits, n_samples):
    """Whether every row is in the validation set of exactly one fold, each fold training on
    all the others (K-fold)."""
    counts = np.bincount(np.concatenate([val for _, val in splits]), minlength=n_samples)
    return bool((counts == 1).all()) and all(_is_partition(train, val, n_samples)
                                             for train, val in splits)


def _is_partition(train, val, n_samples):
    """Whether the fold's training and validation rows are disjoint and cover every row."""
    if train.size + val.size != n_samples:
        return False
    covered = np.zeros(n_samples, dtype=bool)
    covered[train] = True
    covered[val] = True
    return bool(covered.all())


class _FoldDecomposition:
    """Factored form of one fold: validation predictions are ``A (M + alpha I)^-1 B``.

    ``full_gram`` is ``X^T X`` (primal) or ``X X^T`` (dual) of all rows, computed once per
    call: the fold's centred Gram matrix is derived from it (primal: minus the validation
    rows' products when the fold partitions the rows, then a rank-one centring term; dual:
    the training block, double-centred), which halves (primal) or removes (dual) the
    per-fold Gram products. Only training rows enter the fold's statistics.

    In the primal, ``A`` is never needed whole when the rank is below the number of
    validation rows: everything the scores use is a product of the validation rows
    (``Xv^T Xv``, ``Xv^T Yv``) brought to the basis ``Q``, and ``Xt^T Yt`` is ``X^T Y``
    (computed once per call, ``full_products``) minus the validation rows' product.
    ``val_gram``, when given, is the validation rows' centred Gram matrix ``Xvc^T Xvc``
    already computed (primal K-fold: the call sums them into ``full_gram``).
    """

    def __init__(self, be, X, full_gram, x_sum, primal, train, val, fit_intercept, varying,
                 alphas_b, n_solves, val_gram=None):
        self.be = be
        self.primal = primal
        self.n_solves = n_solves
        self.fit_intercept = fit_intercept
        self.n_train, self.n_val = n_train, n_val = train.size, val.size
        self.partition = _is_partition(train, val, X.shape[0])
        rows_v = be.index(val)
        Xv = X[rows_v]
        self.input_scale = self.Xt = self.gram = self.A_centered = None
        if primal:
            self.x_mean_val = Xv.mean(0, keepdims=True)
            self.Xv_centered = Xv - self.x_mean_val
            val_gram = (self.Xv_centered.T @ self.Xv_centered if val_gram is None
                        else val_gram)
            # (outer products by broadcasting: a GEMM with an inner dimension of 1 is ~10x
            # slower)
            if self.partition:
                # X^T X = Xt^T Xt + Xv^T Xv, and Xv^T Xv = Xvc^T Xvc + n_val m_v^T m_v
                gram = full_gram - val_gram - (n_val * self.x_mean_val.T) * self.x_mean_val
                self.x_mean_train = (x_sum - n_val * self.x_mean_val) / n_train
            else:
                self.Xt = X[be.index(train)]
                gram = self.Xt.T @ self.Xt
                self.x_mean_train = self.Xt.mean(0, keepdims=True)
            x_shift = self.x_mean_val
            if fit_intercept:
                gram = gram - (n_train * self.x_mean_train.T) * self.x_mean_train
                x_shift = x_shift - self.x_mean_train
            if varying is not None:
                variances = gram.diagonal().clip(min=0)[None, :] / n_train
                scale = variances ** 0.5
                self.input_scale = varying / (scale + (scale == 0))
                outer = self.input_scale.T * self.input_scale
                gram = gram * outer
                val_gram = val_gram * outer
                x_shift = x_shift * self.input_scale
            self._diagonalise(be, gram, alphas_b)
            # mean of A over the validation rows, A = (Xv - training mean) S Q (no mean
            # subtracted without an intercept)
            self.A_mean = self._to_basis(x_shift.T).T
            if gram.shape[0] < n_val:
                # Ac^T Ac = Q^T S Xvc^T Xvc S Q: r^3 products instead of n_val r^2
                self.gram = self._times_basis(self._to_basis(val_gram))
            else:
                Xv_scaled = self.Xv_centered if varying is None \
                    else self.Xv_centered * self.input_scale
                self.A_centered = self._times_basis(Xv_scaled)
        else:
            if varying is None:
                kernel = full_gram[be.index(train)][:, be.index(train)]
                cross = full_gram[rows_v][:, be.index(train)]
                if fit_intercept:
                    # double centring of the kernel = centring X's columns on the training
                    # rows
                    row_means = kernel.mean(0, keepdims=True)
                    grand_mean = row_means.mean()
                    kernel = kernel - row_means - row_means.T + grand_mean
                    cross = cross - cross.mean(1, keepdims=True) - row_means + grand_mean
                    kernel = _lift_constant_direction(kernel)
            else:
                Xt = X[be.index(train)]
                if fit_intercept:
                    x_mean = Xt.mean(0, keepdims=True)
                    Xt = Xt - x_mean
                    Xv = Xv - x_mean
                Xt, scale = _standardized(Xt, varying)
                Xv = Xv * varying / scale
                kernel = Xt @ Xt.T
                kernel = _lift_constant_direction(kernel) if fit_intercept else kernel
                cross = Xv @ Xt.T
            self._diagonalise(be, kernel, alphas_b)
            A = self._times_basis(cross)
            self.A_mean = A.mean(0, keepdims=True)
            self.A_centered = A - self.A_mean
            if A.shape[1] < n_val:
                self.gram = self.A_centered.T @ self.A_centered
        if (self.gram is None and primal and be.name == "numpy" and n_val >= _MIN_FACTORED_ROWS
                and n_solves > self.A_centered.shape[1]):
            # the factor of Ac^T Ac has the rank of the centred validation rows: k (rank -
            # k / 2) flops a column instead of 2 n_val rank for the direct product, which
            # repays the factorisation (~n_val rank^2) over more columns than the rank
            self.gram = self.A_centered.T @ self.A_centered
        # ||Ac Z||^2 through a (pivoted) triangular factor of Ac^T Ac: at most half the
        # flops of the full product
        self.factor = be.cholesky_factor(self.gram) if self.gram is not None else None

    def _diagonalise(self, be, matrix, alphas_b):
        """Factor the fold's symmetric ``matrix = Q M Q^T`` (M tridiagonal with the numpy
        backend, ``matrix`` itself with ``Q = I`` for batched Cholesky on CUDA, diagonal
        otherwise)."""
        rank = matrix.shape[0]
        cheaper = (rank >= _MIN_TRIDIAGONAL_SIZE
                   and self.n_solves <= _TRIDIAGONAL_SOLVES_PER_RANK2 * rank**2)
        # Shifted solves without an eigendecomposition: batched Cholesky (torch on CUDA)
        # or, where cheaper, the tridiagonal reduction (numpy).
        self.shifted = be.shifted_cholesky(matrix)
        if self.shifted is None and cheaper:
            self.shifted = be.tridiagonalize(matrix)
        if self.shifted is None:
            eigenvalues, self.vectors = be.eigh(matrix)
            # (n_alphas, rank): Z = weights * B for every alpha
            self.weights = 1.0 / (eigenvalues.clip(min=0)[None, :] + alphas_b[:, None])

    def _to_basis(self, matrix):
        """``Q^T @ matrix``."""
        if self.shifted is not None:
            return self.shifted.transpose_times(matrix)
        return self.vectors.T @ matrix

    def _times_basis(self, matrix):
        """``matrix @ Q``."""
        if self.shifted is not None:
            return self.shifted.times(matrix)
        return matrix @ self.vectors

    def val_products(self, Yv_centered):
        """``Xvc^T Yvc`` (primal; None in the dual), shared by ``B`` and the cross terms."""
        return self.Xv_centered.T @ Yv_centered if self.primal else None

    def project(self, Yt, full_products, val_products, y_mean_val, y_mean_train):
        """``B`` (rank, n_targets) for the fold's training targets: ``Yt`` (rows, dual or a
        fold that does not partition the rows) or ``full_products`` (``X^T Y``)."""
        if not self.primal:
            return self._to_basis(Yt - y_mean_train if self.fit_intercept else Yt)
        if self.partition:
            products = (full_products - val_products
                        - (self.n_val * self.x_mean_val.T) * y_mean_val)
        else:
            products = self.Xt.T @ Yt
        if self.fit_intercept:
            # Xt^T (Yt - m_t) = Xt^T Yt - n_train x_mean_t^T m_t
            products = products - (self.n_train * self.x_mean_train.T) * y_mean_train
        if self.input_scale is not None:
            products = products * self.input_scale.T
        return self._to_basis(products)

    def val_cross(self, Yv_centered, val_products):
        """``Ac^T Yvc`` (rank, n_targets)."""
        if self.A_centered is not None:
            return self.A_centered.T @ Yv_centered
        if self.input_scale is not None:
            val_products = val_products * self.input_scale.T
        return self._to_basis(val_products)

    def shrink(self, alphas, B):
        """``Z = (M + alpha I)^-1 B`` for every alpha, shape (rank, n_alphas * n_targets);
        None with an eigendecomposition and no Gram matrix or a triangular factor of it,
        where nothing needs it whole (:meth:`squared_norms` goes one alpha at a time)."""
        if self.shifted is not None:
            return self.shifted.shifted_solves(alphas, B).reshape(B.shape[0], -1)
        if self.factor is not None or self.gram is None:
            return None
        return _spread_over_alphas(self.weights, B)

    def combine(self, Z, B, C):
        """``sum_i Z[i, alpha, t] C[i, t]`` (n_alphas, n_targets), ``C`` of shape (rank,
        n_targets) or (rank, 1); with the eigendecomposition ``Z = weights * B``, so it is
        one small product, ``weights @ (B * C)``."""
        if self.shifted is None:
            return self.weights @ (B * C)
        return (Z.reshape(B.shape[0], -1, B.shape[1]) * C[:, None, :]).sum(0)

    def squared_norms(self, Z, B, n_alphas):
        """``||Ac Z_a||^2`` per alpha and target, ``Z`` of :meth:`shrink` (overwritten)
        for the projections ``B``."""
        if self.shifted is None and self.factor is not None:
            return self.be.scaled_factored_norms(self.factor, self.weights, B)
        if self.shifted is None and self.gram is None:
            # Ac Z_a = (Ac * weights_a) @ B: the small matrix is scaled, one alpha at a time
            rows = []
            for weights in self.weights:
                predictions = (self.A_centered * weights[None, :]) @ B
                rows.append((predictions * predictions).sum(0)[None, :])
            return self.be.concatenate(rows).reshape(n_alphas, -1)
        if self.factor is not None:
            if self.factor.order is not None:
                Z = Z[self.factor.order]
            norms = self.be.factored_norms(self.factor, Z)
        elif self.gram is not None:
            products = self.gram @ Z
            norms = (Z * products).sum(0)
        else:
            predictions = self.A_centered @ Z
            norms = (predictions * predictions).sum(0)
        return norms.reshape(n_alphas, -1)


def _varying_columns(be, X, rows, dtype):
    """(1, n_features) mask, 1.0 where column of ``X[rows]`` is not constant."""
    values = X[rows]
    return be.asarray((values.max(0) > values.min(0))[None, :], dtype)


def _standardized(Xc, varying):
    """Centred ``Xc`` with constant columns (``varying`` 0) set exactly to zero, so they get
    zero weight instead of being divided by a round-off standard deviation, and the other
    columns scaled to unit variance. Returns ``(scaled, scale)``."""
    Xc = Xc * varying
    scale = ((Xc * Xc).mean(0, keepdims=True)) ** 0.5
    scale = scale + (scale == 0)
    return Xc / scale, scale


def _spread_over_alphas(weights, B):
    """(n_alphas, rank) weights and (rank, batch) B -> Z of shape (rank, n_alphas * batch)."""
    Z = weights.T[:, :, None] * B[:, None, :]
    return Z.reshape(B.shape[0], -1)


def _fold_scores(be, fold, Yv, Yt, full_products, y_sum, alphas, score, val_products=None):
    """Scores (n_alphas, batch) of one fold for one target batch, float64 on the host.

    ``Yv`` and ``Yt`` are the validation and training rows of the batch's targets (``Yt``
    None when the fold uses ``full_products``, ``X^T Y`` of all rows, and ``y_sum``, the
    targets' sums over all rows, instead). ``val_products``: the fold's
    :meth:`~_FoldDecomposition.val_products` when already computed."""
    n_alphas = len(alphas)
    y_mean_val = Yv.mean(0, keepdims=True)
    if Yt is not None:
        y_mean_train = Yt.mean(0, keepdims=True)
    else:
        y_mean_train = (y_sum - fold.n_val * y_mean_val) / fold.n_train
    Yv_centered = Yv - y_mean_val
    if val_products is None:
        val_products = fold.val_products(Yv_centered)
    B = fold.project(Yt, full_products, val_products, y_mean_val, y_mean_train)
    cross = fold.val_cross(Yv_centered, val_products)
    Z = fold.shrink(alphas, B)
    to_host = be.to_numpy
    if score == "correlation":
        covariance = to_host(fold.combine(Z, B, cross)).astype(np.float64)
        pred_norms = to_host(fold.squared_norms(Z, B, n_alphas)).astype(np.float64)
        true_norms = to_host((Yv_centered * Yv_centered).sum(0)).astype(np.float64)
        denominator = np.sqrt(pred_norms * true_norms[None, :])
        with np.errstate(divide="ignore", invalid="ignore"):
            scores = np.where(denominator > 0, covariance / denominator, 0.0)
        return scores
    if fold.fit_intercept:
        Yv = Yv - y_mean_train
    # A^T Yv = Ac^T Yvc + n_val mean(A)^T mean(Yv)
    cross = cross + (fold.n_val * fold.A_mean.T) * Yv.mean(0, keepdims=True)
    dot = to_host(fold.combine(Z, B, cross))
    # ||A z||^2 = ||Ac z||^2 + n_val (mean(A) z)^2
    mean_pred = to_host(fold.combine(Z, B, fold.A_mean.T)).astype(np.float64)
    n_val = Yv.shape[0]
    pred_norms = to_host(fold.squared_norms(Z, B, n_alphas)).astype(np.float64)
    pred_norms += n_val * mean_pred**2
    Yv_host = to_host(Yv).astype(np.float64)
    errors = (Yv_host**2).sum(0)[None, :] - 2 * dot.astype(np.float64) + pred_norms
    total = ((Yv_host - Yv_host.mean(0)) ** 2).sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total[None, :] > 0, 1.0 - errors / total[None, :], 0.0)


def _select_alphas(mean_scores, alphas):
    # Ties (to 1e-10 of score per log-unit of alpha) go to the larger alpha, as in himalaya.
    tie_break = np.log(alphas)[:, None] * 1e-10
    return np.argmax(mean_scores + tie_break, axis=0)


def ridge_cv(X, Y, alphas, splits, *, backend="numpy", dtype="float32",
             score="correlation", n_targets_batch=None, fit_intercept=True,
             standardize=False, return_cv_scores=False, refit=True):
    """Ridge regression with one alpha per target chosen by cross-validation.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Inputs, windows of every clip stacked as rows.
    Y : array-like of shape (n_samples, n_targets) or (n_samples,)
        Targets.
    alphas : array-like of shape (n_alphas,)
        Candidate regularisation strengths (> 0).
    splits : sequence of (train_indices, val_indices)
        Cross-validation folds over the rows of ``X`` (e.g. from
        :func:`skbrainmusic.ridge.clip_splits`, which keeps the windows of a clip together).
    backend : {"numpy", "torch", "torch_cuda"}, default="numpy"
        Array library of the computations.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the linear algebra (scores are accumulated in float64).
    score : {"correlation", "r2"}, default="correlation"
        Validation score maximised per target: Pearson correlation or coefficient of
        determination.
    n_targets_batch : int or None, default=None
        Number of targets processed at once. None chooses it so that the largest work array
        stays under 256 MiB.
    fit_intercept : bool, default=True
        Centre inputs and targets with the training rows' means in every fold and in the
        refit. If False, the data are used as given.
    standardize : bool, default=False
        Also scale every input column to unit variance with the training rows' standard
        deviation in every fold and in the refit (constant columns are left unscaled, so
        they get zero weight). ``coef`` always applies to the unscaled inputs.
    return_cv_scores : bool, default=False
        Also return the mean validation score of every alpha and target.
    refit : bool, default=True
        Refit on all samples with the selected alphas (``coef``, ``intercept``).

    Returns
    -------
    result : RidgeCVResult
        ``best_alphas``, ``best_alpha_indices``, ``best_scores``, ``cv_scores``, ``coef``,
        ``intercept``.

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic.ridge import ridge_cv
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 8))
    >>> Y = X @ rng.standard_normal((8, 3)) + 0.1 * rng.standard_normal((60, 3))
    >>> splits = [(np.r_[0:i, i + 20:60], np.arange(i, i + 20)) for i in (0, 20, 40)]
    >>> result = ridge_cv(X, Y, np.logspace(-2, 3, 6), splits)
    >>> result.coef.shape, result.best_alphas.shape
    ((8, 3), (3,))
    """
    X, Y = _check_xy(X, Y)
    grid = _check_alphas(alphas)
    dtype = check_dtype(dtype)
    if score not in SCORES:
        raise ValueError(f"score must be one of {SCORES}, got {score!r}.")
    X, Y, alphas, x_scale, y_scale = _rescaled(X, Y, grid, dtype, standardize)
    n_samples, n_features = X.shape
    n_targets = Y.shape[1]
    splits = _check_splits(splits, n_samples)
    be = get_backend(backend)

    with be.threads(_largest_product_flops(n_samples, n_features, n_targets,
                                          n_targets_batch, alphas.size, dtype)):
        Xb = be.asarray(X, dtype)
        if fit_intercept:
            # A global shift changes nothing after the in-fold centring, but it keeps the
            # float32 Gram matrices (and the fold statistics derived from sums over all rows)
            # free of the cancellation a large mean would cause. Same for the targets.
            x_mean, y_mean = X.mean(0, dtype=np.float64), Y.mean(0, dtype=np.float64)
            Xb = Xb - be.asarray(x_mean[None, :], dtype)
            y_offset = be.asarray(y_mean[None, :], dtype)
        alphas_b = be.asarray(alphas, dtype)
        score_sums = np.zeros((alphas.size, n_targets))
        n_val_max = max(val.size for _, val in splits)
        itemsize = np.dtype(dtype).itemsize
        batch = _batch_size(n_targets_batch, n_targets, alphas.size,
                            max(min(n_features, n_samples), n_val_max), itemsize)
        batches = [slice(start, start + batch) for start in range(0, n_targets, batch)]
        primal = n_features <= max(train.size for train, _ in splits)
        # With K-fold (every row validates once) in the primal, X^T X and X^T Y are the sums
        # over the validation blocks of their centred products, which the folds need anyway,
        # plus each block's mean terms: both cost nothing more. The blocks' products are held
        # for all the folds: their Gram matrices while they fit the work budget, and their
        # products with the targets while both fit it together.
        kfold = primal and _validates_every_row_once(splits, n_samples)
        block_bytes = len(splits) * n_features * itemsize
        gram_blocks = kfold and block_bytes * n_features <= _BATCH_BYTES
        product_blocks = kfold and block_bytes * (n_features + n_targets) <= _BATCH_BYTES
        val_grams = [None] * len(splits)
        val_products = [[None] * len(batches) for _ in splits]

        def target_rows(rows, targets):
            Yb = be.asarray(Y[rows, targets], dtype)
            return Yb - y_offset[:, targets] if fit_intercept else Yb

        if gram_blocks:
            full_gram = 0
        else:
            # in the dual with standardisation the kernel depends on the fold's scales
            full_gram = (None if not primal and standardize
                         else (Xb.T @ Xb if primal else Xb @ Xb.T))
        # Primal folds that partition the rows get Xt^T Yt as X^T Y minus the validation rows'
        # product: one product over all rows per call instead of one over the training rows
        # per fold.
        full_products = y_sums = [None] * len(batches)
        if product_blocks:
            full_products, y_sums = [0] * len(batches), [0] * len(batches)
        elif primal and any(_is_partition(train, val, n_samples) for train, val in splits):
            full_products, y_sums = [], []
            for targets in batches:
                Yb = target_rows(slice(None), targets)
                full_products.append(Xb.T @ Yb)
                y_sums.append(Yb.sum(0, keepdims=True))
                del Yb
        if gram_blocks or product_blocks:
            for k, (_, val) in enumerate(splits):
                Xv = Xb[be.index(val)]
                mean = Xv.mean(0, keepdims=True)
                Xv = Xv - mean
                if gram_blocks:
                    val_grams[k] = Xv.T @ Xv
                    full_gram = full_gram + val_grams[k] + (val.size * mean.T) * mean
                for b, targets in enumerate(batches if product_blocks else ()):
                    # as the fold computes them (_FoldDecomposition.val_products)
                    Yv = target_rows(val, targets)
                    y_val_mean = Yv.mean(0, keepdims=True)
                    val_products[k][b] = Xv.T @ (Yv - y_val_mean)
                    full_products[b] = (full_products[b] + val_products[k][b]
                                        + (val.size * mean.T) * y_val_mean)
                    y_sums[b] = y_sums[b] + Yv.sum(0, keepdims=True)
            del Xv
        x_sum = Xb.sum(0, keepdims=True) if primal else None
        for k, (train, val) in enumerate(splits):
            varying = _varying_columns(be, X, train, dtype) if standardize else None
            fold = _FoldDecomposition(be, Xb, full_gram, x_sum, primal, train, val, fit_intercept,
                                      varying, alphas_b, n_solves=n_targets * alphas.size,
                                      val_gram=val_grams[k])
            val_grams[k] = None
            uses_rows = not (primal and fold.partition)
            for b, targets in enumerate(batches):
                Yv = target_rows(val, targets)
                Yt = target_rows(train, targets) if uses_rows else None
                score_sums[:, targets] += _fold_scores(be, fold, Yv, Yt, full_products[b],
                                                       y_sums[b], alphas, score,
                                                       val_products[k][b])
            val_products[k] = None
            del fold
        mean_scores = score_sums / len(splits)
        best = _select_alphas(mean_scores, alphas)
        result = RidgeCVResult(
            best_alphas=grid[best],
            best_alpha_indices=best,
            best_scores=mean_scores[best, np.arange(n_targets)],
            cv_scores=mean_scores if return_cv_scores else None,
        )
        if refit and full_products[0] is not None and not standardize:
            # ridge_fit's solve from the Gram matrix and X^T Y of all rows computed above
            starts = np.array([targets.start for targets in batches])

            def products(columns):
                columns = np.arange(n_targets)[columns]  # increasing, from a slice or a mask
                which = np.searchsorted(starts, columns, side="right") - 1
                parts = [full_products[b][:, be.index(columns[which == b] - starts[b])]
                         for b in np.unique(which)]
                return parts[0] if len(parts) == 1 else be.concatenate(parts)

            coef = _penalised_solutions(be, full_gram, alphas[best], products, be.to_numpy,
                                        n_features, n_targets_batch, dtype)
            intercept = _intercepts(coef, x_mean, y_mean, dtype) if fit_intercept \
                else np.zeros(n_targets, dtype=dtype)
            result.coef, result.intercept = _unscaled(coef, intercept, x_scale, y_scale, dtype)
        elif refit:
            coef, intercept = ridge_fit(
                X, Y, alphas[best], backend=backend, dtype=dtype, fit_intercept=fit_intercept,
                standardize=standardize, n_targets_batch=n_targets_batch)
            result.coef, result.intercept = _unscaled(coef, intercept, x_scale, y_scale, dtype)
        return result


def _intercepts(coef, x_mean, y_mean, dtype):
    """Intercepts of centred fits: ``y_mean - x_mean @ coef`` (float64 means), in ``dtype``."""
    return (y_mean - x_mean @ coef.astype(np.float64)).astype(dtype)


def _penalised_solutions(be, gram, alphas, right_hand_sides, to_primal, n_features,
                         n_targets_batch, dtype):
    """``to_primal((gram + alpha_t I)^-1 r_t)`` for every target ``t``, as the columns of a
    (n_features, n_targets) array of ``dtype``: ``right_hand_sides(columns)`` gives the
    ``r_t`` of some targets (a slice or an increasing index array). ``gram`` may be
    overwritten.

    One Cholesky solve per distinct alpha when there are at most
    :data:`_MAX_CHOLESKY_ALPHAS` of them (and ``gram`` plus each is positive definite at
    this precision), else one eigendecomposition."""
    n_targets = alphas.size
    distinct, inverse = np.unique(alphas, return_inverse=True)
    coef = np.empty((n_features, n_targets), dtype=dtype)
    solutions = []
    if distinct.size <= _MAX_CHOLESKY_ALPHAS:
        identity = be.asarray(np.eye(gram.shape[0]), dtype)
        for k, alpha in enumerate(distinct):
            columns = np.flatnonzero(inverse == k)
            solution = be.solve_spd(gram + float(alpha) * identity, right_hand_sides(columns))
            if solution is None:  # not positive definite in this precision: use eigh
                solutions = []
                break
            solutions.append((columns, solution))
    if solutions:
        for columns, solution in solutions:
            coef[:, columns] = to_primal(solution)
        return coef
    eigenvalues, vectors = be.eigh(gram)
    eigenvalues = eigenvalues.clip(min=0)
    batch = _batch_size(n_targets_batch, n_targets, 1, gram.shape[0], np.dtype(dtype).itemsize)
    alphas_b = be.asarray(alphas, dtype)
    for start in range(0, n_targets, batch):
        targets = slice(start, start + batch)
        projected = vectors.T @ right_hand_sides(targets)
        projected = projected / (eigenvalues[:, None] + alphas_b[None, targets])
        coef[:, targets] = to_primal(vectors @ projected)
    return coef


def ridge_fit(X, Y, alphas, *, backend="numpy", dtype="float32", fit_intercept=True,
              standardize=False, n_targets_batch=None):
    """Ridge regression on all samples with a fixed alpha, scalar or one per target.

    Solves ``coef = (Xc^T Xc + alpha I)^-1 Xc^T Yc`` for every target (``Xc``, ``Yc``
    centred when ``fit_intercept``), in the primal or the dual by shape: one Cholesky solve
    per distinct alpha when there are at most 8 of them, else one eigendecomposition.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Inputs.
    Y : array-like of shape (n_samples, n_targets) or (n_samples,)
        Targets.
    alphas : float or array-like of shape (n_targets,)
        Regularisation strength (> 0), shared or per target.
    backend : {"numpy", "torch", "torch_cuda"}, default="numpy"
        Array library of the computations.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the linear algebra.
    fit_intercept : bool, default=True
        Fit an intercept (centre inputs and targets).
    standardize : bool, default=False
        Solve on inputs scaled to unit variance (constant columns unscaled); the returned
        ``coef`` applies to the unscaled inputs.
    n_targets_batch : int or None, default=None
        Number of targets solved at once (None: memory-bounded automatic choice).

    Returns
    -------
    coef : ndarray of shape (n_features, n_targets)
        Weights, in ``dtype``.
    intercept : ndarray of shape (n_targets,)
        Intercepts (zeros when ``fit_intercept=False``).

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic.ridge import ridge_fit
    >>> X = np.eye(3)
    >>> coef, intercept = ridge_fit(X, X, 1.0, fit_intercept=False, dtype="float64")
    >>> np.round(np.diag(coef), 3)
    array([0.5, 0.5, 0.5])
    """
    X, Y = _check_xy(X, Y)
    dtype = check_dtype(dtype)
    n_samples, n_features = X.shape
    n_targets = Y.shape[1]
    alphas = np.broadcast_to(_check_alphas(alphas), (n_targets,)) if np.ndim(alphas) == 0 \
        else _check_alphas(alphas)
    if alphas.shape != (n_targets,):
        raise ValueError(
            f"alphas must be a scalar or have one value per target ({n_targets}), got "
            f"shape {alphas.shape}."
        )
    X, Y, alphas, x_scale, y_scale = _rescaled(X, Y, alphas, dtype, standardize)
    be = get_backend(backend)
    # the Cholesky route multiplies X by all the targets of an alpha at once
    with be.threads(_largest_product_flops(n_samples, n_features, n_targets,
                                          n_targets, 1, dtype)):
        Xb = be.asarray(X, dtype)
        x_mean = X.mean(0, dtype=np.float64) if fit_intercept else np.zeros(n_features)
        y_mean = Y.mean(0, dtype=np.float64) if fit_intercept else np.zeros(n_targets)
        if fit_intercept:
            Xb = Xb - be.asarray(x_mean[None, :], dtype)
        if standardize:
            Xb, scale = _standardized(Xb, _varying_columns(be, X, slice(None), dtype))
        primal = n_features <= n_samples
        gram = Xb.T @ Xb if primal else Xb @ Xb.T
        if fit_intercept and not primal:
            gram = _lift_constant_direction(gram)

        def right_hand_sides(columns):
            Yb = be.asarray(Y[:, columns], dtype)
            if fit_intercept:
                Yb = Yb - be.asarray(y_mean[None, columns], dtype)
            return Xb.T @ Yb if primal else Yb

        def to_primal(solution):
            # dual coefficients D give the weights Xc^T D
            return be.to_numpy(solution if primal else Xb.T @ solution)

        coef = _penalised_solutions(be, gram, alphas, right_hand_sides, to_primal, n_features,
                                    n_targets_batch, dtype)
        if standardize:
            coef /= be.to_numpy(scale).reshape(-1, 1)
        intercept = _intercepts(coef, x_mean, y_mean, dtype) if fit_intercept \
            else np.zeros(n_targets, dtype=dtype)
        return _unscaled(coef, intercept, x_scale, y_scale, dtype)

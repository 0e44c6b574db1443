"""The small array interface the ridge solvers run on: numpy (scipy LAPACK) or torch.

The solvers only use what numpy arrays and torch tensors share (``@``, ``.T``, slicing,
broadcasting, ``.sum(0)``, ``.mean(0, keepdims=True)``, ``.clip(min=0)``) plus the few
methods below, so one solver code path serves both libraries. Backends:

- ``"numpy"``: numpy arrays and scipy's LAPACK. Symmetric matrices are reduced to
  tridiagonal form (``sytrd``, ~3x faster than a full eigendecomposition at the sizes of
  the ridge problems) and the shifted tridiagonal systems are solved per alpha (``ptsv``,
  O(n) per right-hand side); eigendecompositions use the divide-and-conquer driver
  (``scipy.linalg.eigh(driver="evd")``). Quadratic forms ``z^T G z`` of many vectors go
  through the Cholesky factor of ``G`` and one triangular product (BLAS ``trmm``, half the
  flops of ``G @ Z``); a ``G`` that is only semi-definite gets a pivoted factor of its
  numerical rank (LAPACK ``pstrf``). When ``Z`` is ``B`` scaled row-wise by one weight
  vector per alpha, the scaled copies are made one alpha and about 1 MiB of columns at a
  time and multiplied while in cache (:meth:`NumpyBackend.scaled_factored_norms`).
- ``"torch"``: torch tensors on CPU; ``"torch_cuda"``: on the current CUDA device. No
  tridiagonal reduction there: the solvers use ``torch.linalg.eigh``, except that on CUDA
  the cross-validation folds solve their shifted systems through one batched Cholesky
  factorisation per fold (:class:`ShiftedCholesky`): cuSOLVER's eigendecomposition is
  latency-bound on the small Gram matrices of ROI decoding (2.5 ms for 140 x 140 on an
  H200, where the batched factorisation of 20 shifted copies takes about 0.2 ms), and the
  eigendecompositions of the 150 ROIs x 5 folds took 3.6 s of the 6.4 s decoding fit.

BLAS threads (numpy backend): a problem whose largest product stays under
:data:`skbrainmusic._threads.ONE_THREAD_FLOPS` (an ROI's few hundred voxels) runs on one BLAS
thread, and so do the cache-sized triangular products of
:meth:`NumpyBackend.scaled_factored_norms` at any size (see :mod:`skbrainmusic._threads`:
numpy's and scipy's OpenBLAS threads slow each other down on small products).

torch is an optional dependency, imported only when a torch backend is asked for.
"""

import contextlib
from typing import NamedTuple

import numpy as np
import scipy.linalg
from scipy.linalg import lapack

from .._threads import blas_threads, one_blas_thread

BACKENDS = ("numpy", "torch", "torch_cuda")
DTYPES = ("float32", "float64")


class NumpyBackend:
    """numpy arrays, scipy LAPACK."""

    name = "numpy"

    def threads(self, flops):
        """:func:`~skbrainmusic._threads.blas_threads` for a problem whose largest product
        costs ``flops``."""
        return blas_threads(flops)

    def asarray(self, x, dtype):
        """Array of ``dtype`` (no copy when ``x`` already is one)."""
        return np.asarray(x, dtype=dtype)

    def to_numpy(self, x):
        """The array itself."""
        return np.asarray(x)

    def index(self, indices):
        """Integer index array usable to take rows."""
        return np.asarray(indices, dtype=np.intp)

    def concatenate(self, arrays):
        """``arrays`` side by side (along the columns)."""
        return np.concatenate(arrays, axis=1)

    def eigh(self, matrix):
        """Eigenvalues (ascending) and eigenvectors of a symmetric matrix (overwritten)."""
        return scipy.linalg.eigh(matrix, driver="evd", overwrite_a=True, check_finite=False)

    def tridiagonalize(self, matrix):
        """``matrix = Q T Q^T`` with ``T`` tridiagonal, as a :class:`Tridiagonal`."""
        return Tridiagonal(matrix)

    def shifted_cholesky(self, matrix):
        """Not used with numpy (the tridiagonal route is cheaper on the CPU): None."""
        return None

    def cholesky_factor(self, matrix):
        """A :class:`CholeskyFactor` of the positive semi-definite ``matrix``:
        ``potrf`` when it is positive definite at this precision, else the pivoted
        factorisation (``pstrf``) truncated at its numerical rank, e.g. for the Gram matrix
        of validation rows with fewer distinct rows than columns (features repeated over
        the windows of a clip); None when the matrix has no positive pivot."""
        potrf = lapack.get_lapack_funcs("potrf", (matrix,))
        factor, info = potrf(matrix, lower=1, clean=1)
        if info == 0:
            return CholeskyFactor(factor, None)
        pstrf = lapack.get_lapack_funcs("pstrf", (matrix,))
        # info > 0 only says that the rank is below the size: the first `rank` columns hold
        # the factor of the pivoted matrix
        factor, pivots, rank, info = pstrf(matrix, lower=1)
        if info < 0 or rank == 0:
            return None
        return CholeskyFactor(np.tril(factor[:, :rank]), pivots - 1)

    def factored_norms(self, factor, Z):
        """``||L^T P^T z||^2 = z^T (P L L^T P^T) z`` for every column ``z`` of ``Z``, whose
        rows come in the factor's order (``P^T Z = Z[order]``; overwritten): a triangular
        product (BLAS ``trmm``) costs half the flops of the full product, and a factor of
        rank ``k`` below the size ``n`` costs ``k (n - k / 2)`` per column instead of
        ``n^2``."""
        # Z^T L = (L^T Z)^T, on the Fortran-ordered view of a C-ordered Z (no copy)
        return _transposed_factored_norms(factor.lower, Z.T)

    def scaled_factored_norms(self, factor, weights, B):
        """:meth:`factored_norms` of ``Z_a = weights[a][:, None] * B`` for every row of
        ``weights`` (n_alphas, n), ``B`` (n, batch) with rows in the matrix's own order:
        (n_alphas, batch).

        The same numbers as :meth:`factored_norms` of the stacked ``Z``, without building
        it: each scaled copy is made for one alpha and about :data:`_NORMS_CHUNK_BYTES` of
        columns at a time and multiplied while it is still in cache."""
        if factor.order is not None:
            weights, B = weights[:, factor.order], B[factor.order]
        n, batch = B.shape
        out = np.empty((weights.shape[0], batch), dtype=np.result_type(weights, B))
        step = max(1, _NORMS_CHUNK_BYTES // (n * B.itemsize))
        # cache-sized products, many of them: one thread
        with one_blas_thread():
            for start in range(0, batch, step):
                columns = B[:, start:start + step].T  # Fortran-ordered (columns, n) view
                for a, w in enumerate(weights):
                    out[a, start:start + step] = _transposed_factored_norms(
                        factor.lower, np.multiply(columns, w, order="F"))
        return out

    def solve_spd(self, matrix, rhs):
        """Solve ``matrix @ out = rhs`` by Cholesky; None when ``matrix`` is not positive
        definite at this precision (the caller then falls back to an eigendecomposition)."""
        try:
            factor = scipy.linalg.cho_factor(matrix, overwrite_a=True, check_finite=False)
        except np.linalg.LinAlgError:
            return None
        return scipy.linalg.cho_solve(factor, rhs, check_finite=False)


class Tridiagonal:
    """LAPACK tridiagonal reduction ``matrix = Q T Q^T`` of a symmetric float matrix.

    ``Q = diag(1, Q')`` where ``Q'`` is the product of the Householder reflectors that
    ``sytrd`` stores below the subdiagonal, in the layout of a QR factorisation, so ``ormqr``
    applies it without forming it.
    """

    def __init__(self, matrix):
        matrix = np.asarray(matrix)
        prefix = "s" if matrix.dtype == np.float32 else "d"
        self._sytrd = getattr(lapack, prefix + "sytrd")
        self._ormqr = getattr(lapack, prefix + "ormqr")
        self._ptsv = getattr(lapack, prefix + "ptsv")
        n = matrix.shape[0]
        lwork = int(getattr(lapack, prefix + "sytrd_lwork")(n, lower=1)[0])
        reduced, self.diagonal, self.offdiagonal, tau, info = self._sytrd(
            matrix, lower=1, lwork=max(lwork, 1))
        if info != 0:
            raise np.linalg.LinAlgError(f"sytrd failed (info={info}).")
        self._reflectors = np.asfortranarray(reduced[1:, :-1])
        self._tau = tau
        self.size = n

    def _apply(self, side, trans, matrix):
        matrix = np.array(matrix, order="F", copy=True)
        if self.size > 1:
            part = matrix[1:] if side == "L" else matrix[:, 1:]
            _, work, _ = self._ormqr(side, trans, self._reflectors, self._tau, part, -1)
            result, _, info = self._ormqr(side, trans, self._reflectors, self._tau, part,
                                          max(int(work[0]), 1), overwrite_c=True)
            if info != 0:
                raise np.linalg.LinAlgError(f"ormqr failed (info={info}).")
            if side == "L":
                matrix[1:] = result
            else:
                matrix[:, 1:] = result
        return matrix

    def transpose_times(self, matrix):
        """``Q^T @ matrix``."""
        return self._apply("L", "T", matrix)

    def times(self, matrix):
        """``matrix @ Q``."""
        return self._apply("R", "N", matrix)

    def shifted_solves(self, shifts, rhs):
        """``(T + shift I)^-1 rhs`` for every shift, stacked as (n, n_shifts, n_rhs).

        When a shifted matrix is not positive definite at this precision (a tiny shift on
        round-off negative eigenvalues), all shifts go through the eigendecomposition of
        ``T`` with negative eigenvalues set to zero, as the eigendecomposition route does.
        """
        out = np.empty((self.size, len(shifts), rhs.shape[1]), dtype=rhs.dtype)
        if self.size == 1:  # ptsv needs an off-diagonal; T is its own eigenvalue
            denominators = max(self.diagonal[0], 0) + np.asarray(shifts, dtype=rhs.dtype)
            out[0] = rhs[0][None, :] / denominators[:, None]
            return out
        for k, shift in enumerate(shifts):
            _, _, solution, info = self._ptsv(self.diagonal + shift, self.offdiagonal, rhs)
            if info != 0:
                return self._eigen_solves(shifts, rhs, out)
            out[:, k, :] = solution
        return out

    def _eigen_solves(self, shifts, rhs, out):
        eigenvalues, vectors = scipy.linalg.eigh_tridiagonal(self.diagonal, self.offdiagonal)
        projected = vectors.T @ rhs
        for k, shift in enumerate(shifts):
            out[:, k, :] = vectors @ (projected / (eigenvalues.clip(min=0) + shift)[:, None])
        return out


class CholeskyFactor(NamedTuple):
    """``P L L^T P^T`` of a positive semi-definite matrix of size ``n``: ``lower`` (n, k)
    lower trapezoidal, ``order`` the permutation ``P`` as row indices (None: identity, and
    ``k = n``)."""

    lower: np.ndarray
    order: np.ndarray | None


# Columns of one scaled copy in scaled_factored_norms: about 1 MiB, so that the copy and
# its triangular product stay in a core's cache (smaller chunks measured slower: more, and
# less efficient, BLAS calls).
_NORMS_CHUNK_BYTES = 2**20


def _transposed_factored_norms(lower, Zt):
    """``||L^T z||^2`` for every row ``z`` of the Fortran-ordered ``Zt`` (overwritten), ``L``
    the (n, k) lower trapezoidal ``lower``."""
    rank = lower.shape[1]
    blas = scipy.linalg.blas
    trmm, gemm = blas.get_blas_funcs(("trmm", "gemm"), (lower, Zt))
    product = trmm(1.0, lower[:rank], Zt[:, :rank], side=1, lower=1, overwrite_b=1)
    if rank < lower.shape[0]:
        product = gemm(1.0, Zt[:, rank:], lower[rank:], beta=1.0, c=product, overwrite_c=1)
    return np.einsum("ij,ij->i", product, product)


class TorchBackend:
    """torch tensors on CPU or CUDA."""

    def __init__(self, device):
        import torch  # optional dependency

        if device == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                'backend="torch_cuda" needs a CUDA device, but torch.cuda.is_available() is '
                'False; use backend="torch" or "numpy".'
            )
        self._torch = torch
        self.device = torch.device(device)
        self.name = "torch" if device == "cpu" else "torch_cuda"
        #: Solve the folds' shifted systems by batched Cholesky (see the module docstring).
        self.batched_cholesky = self.device.type == "cuda"

    def threads(self, flops):
        """torch keeps its own threads: a context that changes nothing."""
        return contextlib.nullcontext()

    def asarray(self, x, dtype):
        """Tensor of ``dtype`` on this backend's device."""
        torch = self._torch
        if not isinstance(x, torch.Tensor):
            x = torch.from_numpy(np.ascontiguousarray(x))
        return x.to(device=self.device, dtype=getattr(torch, dtype))

    def to_numpy(self, x):
        """A numpy copy on the host."""
        return x.detach().cpu().numpy()

    def index(self, indices):
        """Integer index tensor on the device."""
        return self._torch.as_tensor(np.asarray(indices, dtype=np.int64), device=self.device)

    def concatenate(self, tensors):
        """``tensors`` side by side (along the columns)."""
        return self._torch.cat(tensors, dim=1)

    def eigh(self, matrix):
        """Eigenvalues (ascending) and eigenvectors of a symmetric matrix."""
        return self._torch.linalg.eigh(matrix)

    def tridiagonalize(self, matrix):
        """Not available with torch: None tells the solvers to use :meth:`eigh`."""
        return None

    def shifted_cholesky(self, matrix):
        """A :class:`ShiftedCholesky` of ``matrix`` when ``batched_cholesky``, else None."""
        return ShiftedCholesky(self._torch, matrix) if self.batched_cholesky else None

    def cholesky_factor(self, matrix):
        """None: torch has no triangular product cheaper than the full one, so the solvers
        keep the plain product."""
        return None

    def solve_spd(self, matrix, rhs):
        """Solve ``matrix @ out = rhs`` by Cholesky; None when not positive definite."""
        factor, info = self._torch.linalg.cholesky_ex(matrix)
        if int(info) != 0:
            return None
        return self._torch.cholesky_solve(rhs, factor)


class ShiftedCholesky:
    """``(matrix + shift I)^-1 rhs`` for every shift, through one batched torch Cholesky
    factorisation of all shifted copies, with the interface of :class:`Tridiagonal` and the
    identity as its basis (``Q = I``).

    The factors are computed at the first :meth:`shifted_solves` and reused by later calls,
    which must pass the same shifts (the solvers' alpha grid, for every target batch of a
    fold). When a shifted copy is not positive definite at this precision (a tiny shift on
    round-off negative eigenvalues), all shifts go through the eigendecomposition of
    ``matrix`` with negative eigenvalues set to zero, as the eigendecomposition route does.
    """

    def __init__(self, torch, matrix):
        self._torch = torch
        self._matrix = matrix
        self._shifts = self._factors = self._eigen = None
        self.size = matrix.shape[0]

    def times(self, matrix):
        """``matrix @ Q`` (``Q = I``)."""
        return matrix

    def transpose_times(self, matrix):
        """``Q^T @ matrix`` (``Q = I``)."""
        return matrix

    def _factorise(self, shifts, like):
        torch = self._torch
        values = torch.as_tensor(shifts, dtype=like.dtype, device=like.device)
        identity = torch.eye(self.size, dtype=like.dtype, device=like.device)
        factors, info = torch.linalg.cholesky_ex(
            self._matrix[None] + values[:, None, None] * identity)
        self._shifts = np.array(shifts, copy=True)
        if bool((info != 0).any()):
            eigenvalues, vectors = torch.linalg.eigh(self._matrix)
            self._eigen = eigenvalues.clip(min=0), vectors, values
        else:
            self._factors = factors

    def shifted_solves(self, shifts, rhs):
        """``(matrix + shift I)^-1 rhs`` for every shift, stacked as (n, n_shifts, n_rhs)."""
        if self._shifts is None:
            self._factorise(shifts, rhs)
        elif not np.array_equal(self._shifts, shifts):
            raise ValueError("ShiftedCholesky.shifted_solves needs the same shifts in every "
                             "call.")
        if self._factors is not None:
            return self._torch.cholesky_solve(rhs[None], self._factors).permute(1, 0, 2)
        eigenvalues, vectors, values = self._eigen
        projected = vectors.T @ rhs
        scaled = projected[None] / (eigenvalues[None, :, None] + values[:, None, None])
        return (vectors[None] @ scaled).permute(1, 0, 2)


def get_backend(backend):
    """Return the backend object named ``backend`` ("numpy", "torch" or "torch_cuda")."""
    if backend == "numpy":
        return NumpyBackend()
    if backend == "torch":
        return TorchBackend("cpu")
    if backend == "torch_cuda":
        return TorchBackend("cuda")
    raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}.")


def check_dtype(dtype):
    """Normalise ``dtype`` to "float32" or "float64"."""
    name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if name not in DTYPES:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}.")
    return name

"""The small array interface the ridge solvers run on: numpy (scipy LAPACK) or torch.

The solvers only use what numpy arrays and torch tensors share (``@``, ``.T``, slicing,
broadcasting, ``.sum(0)``, ``.mean(0, keepdims=True)``, ``.clip(min=0)``) plus the few
methods below, so one solver code path serves both libraries. Backends:

- ``"numpy"``: numpy arrays; eigendecompositions through LAPACK's divide-and-conquer driver
  (``scipy.linalg.eigh(driver="evd")``), the fastest symmetric eigensolver for full spectra.
- ``"torch"``: torch tensors on CPU; ``"torch_cuda"``: on the current CUDA device.

torch is an optional dependency, imported only when a torch backend is asked for.
"""

import numpy as np
import scipy.linalg

BACKENDS = ("numpy", "torch", "torch_cuda")
DTYPES = ("float32", "float64")


class NumpyBackend:
    """numpy arrays, scipy LAPACK."""

    name = "numpy"

    def asarray(self, x, dtype):
        """Array of ``dtype`` (no copy when ``x`` already is one)."""
        return np.asarray(x, dtype=dtype)

    def to_numpy(self, x):
        """The array itself."""
        return np.asarray(x)

    def index(self, indices):
        """Integer index array usable to take rows."""
        return np.asarray(indices, dtype=np.intp)

    def eigh(self, matrix):
        """Eigenvalues (ascending) and eigenvectors of a symmetric matrix (overwritten)."""
        return scipy.linalg.eigh(matrix, driver="evd", overwrite_a=True, check_finite=False)

    def solve_spd(self, matrix, rhs):
        """Solve ``matrix @ out = rhs`` by Cholesky; None when ``matrix`` is not positive
        definite at this precision (the caller then falls back to an eigendecomposition)."""
        try:
            factor = scipy.linalg.cho_factor(matrix, overwrite_a=True, check_finite=False)
        except np.linalg.LinAlgError:
            return None
        return scipy.linalg.cho_solve(factor, rhs, check_finite=False)


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

    def eigh(self, matrix):
        """Eigenvalues (ascending) and eigenvectors of a symmetric matrix."""
        return self._torch.linalg.eigh(matrix)

    def solve_spd(self, matrix, rhs):
        """Solve ``matrix @ out = rhs`` by Cholesky; None when not positive definite."""
        factor, info = self._torch.linalg.cholesky_ex(matrix)
        if int(info) != 0:
            return None
        return self._torch.cholesky_solve(rhs, factor)


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

"""BLAS threads for many small products.

numpy's and scipy's wheels (Linux, Windows, Intel macOS) each bring their own OpenBLAS,
whose thread count is one setting for the whole process, and most numerical code alternates
between them (``@`` in numpy; LAPACK, BLAS wrappers and L-BFGS-B in scipy). Each library's
idle threads spin for a while after a call, on the cores the other library's next call
needs, so on small products the threads cost far more than they gain. Measured on 2 cores
with ``n_jobs=1`` against the libraries' own threads (``benchmarks/blas_threads.py``):
``ROIEnsembleRidge.fit`` of 150 ROIs (60,000 voxels) 1.7x faster in wall time with half
the CPU time; ``ridge_cv`` of a 20,000-voxel encoding model, whose score products are
cache-sized, 1.2x; the score generator's genre classifier (L-BFGS) 4x. Code that makes
many small products runs them inside :func:`one_blas_thread`; parallelism over many small
problems comes from ``n_jobs`` (processes) instead.
"""

import contextlib
import functools
import threading

from threadpoolctl import ThreadpoolController

#: Problems whose largest product costs fewer floating-point operations run on one BLAS
#: thread (:func:`blas_threads`): about 0.1-0.2 s of one core.
ONE_THREAD_FLOPS = 2**32

_lock = threading.Lock()
_state = {"depth": 0, "limiter": None}


@functools.cache
def _blas_controller():
    import numpy  # noqa: F401  (the BLAS libraries must be loaded before they are listed)
    import scipy.linalg  # noqa: F401

    return ThreadpoolController().select(user_api="blas")


@contextlib.contextmanager
def one_blas_thread():
    """Limit numpy's and scipy's BLAS libraries to one thread while inside.

    Overlapping callers (threads of one process) share the limit: the previous limits come
    back when the last of them leaves, and meanwhile every thread's BLAS calls run on one
    thread. (A BLAS built on OpenMP keeps one setting per thread: there the limit holds in
    the thread that set it.)"""
    with _lock:
        if _state["depth"] == 0:
            _state["limiter"] = _blas_controller().limit(limits=1)
        _state["depth"] += 1
    try:
        yield
    finally:
        with _lock:
            _state["depth"] -= 1
            if _state["depth"] == 0:
                _state["limiter"].restore_original_limits()
                _state["limiter"] = None


def blas_threads(flops):
    """Context for a problem whose largest product costs ``flops``: one BLAS thread below
    :data:`ONE_THREAD_FLOPS`, the libraries' own setting otherwise."""
    return one_blas_thread() if flops < ONE_THREAD_FLOPS else contextlib.nullcontext()

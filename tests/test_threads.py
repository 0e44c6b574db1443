"""BLAS threads: small problems run on one thread, limits come back afterwards."""

import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from skbrainmusic import _threads
from skbrainmusic.ridge import ROIEnsembleRidge, clip_splits, ridge_cv, ridge_fit
from skbrainmusic.ridge._backend import NumpyBackend


def _blas_threads():
    # numpy's and scipy's BLAS: the libraries loaded when the limit is first used (others,
    # e.g. torch's, loaded later by other tests, are not numpy's or scipy's)
    threads = sorted({lib["num_threads"] for lib in _threads._blas_controller().info()})
    assert threads, "no BLAS library of numpy or scipy found"
    return threads


@pytest.fixture
def two_threads():
    """BLAS libraries set to 2 threads (whatever the machine), restored afterwards."""
    with threadpool_limits(limits=2, user_api="blas"):
        assert _blas_threads() == [2]
        yield


def test_one_blas_thread_limits_and_restores(two_threads):
    with _threads.one_blas_thread():
        assert _blas_threads() == [1]
        with _threads.one_blas_thread():  # nested: still one, still restored once
            assert _blas_threads() == [1]
        assert _blas_threads() == [1]
    assert _blas_threads() == [2]


def test_overlapping_threads_restore_the_limits_once_the_last_leaves(monkeypatch):
    # A enters, B enters, A leaves (B still inside: still limited), B leaves: restored.
    # Each caller saving and restoring on its own would leave the libraries limited. (A
    # recording controller: the bookkeeping is tested, whatever the BLAS build does.)
    calls = []

    class Limiter:
        def restore_original_limits(self):
            calls.append("restore")

    class Controller:
        def limit(self, limits):
            calls.append(f"limit {limits}")
            return Limiter()

    monkeypatch.setattr(_threads, "_blas_controller", Controller)
    entered, leave_a, a_left = threading.Event(), threading.Event(), threading.Event()

    def a():
        with _threads.one_blas_thread():
            entered.set()
            leave_a.wait(10)
        a_left.set()

    thread = threading.Thread(target=a)
    thread.start()
    assert entered.wait(10)
    with _threads.one_blas_thread():
        leave_a.set()
        assert a_left.wait(10)
        assert calls == ["limit 1"]
    thread.join(10)
    assert calls == ["limit 1", "restore"]


def test_limits_come_back_after_an_error(two_threads):
    with pytest.raises(RuntimeError), _threads.one_blas_thread():
        raise RuntimeError("inside")
    assert _blas_threads() == [2]


def test_blas_threads_by_size(two_threads):
    with _threads.blas_threads(_threads.ONE_THREAD_FLOPS - 1):
        assert _blas_threads() == [1]
    with _threads.blas_threads(_threads.ONE_THREAD_FLOPS):
        assert _blas_threads() == [2]


def _threads_inside_eigh(monkeypatch):
    seen = []
    original = NumpyBackend.eigh

    def eigh(self, matrix):
        seen.append(_blas_threads())
        return original(self, matrix)

    monkeypatch.setattr(NumpyBackend, "eigh", eigh)
    return seen


@pytest.mark.parametrize("threshold, expected", [(2**32, [1]), (1, [2])])
def test_ridge_solvers_choose_threads_by_the_problem_size(two_threads, monkeypatch, threshold,
                                                          expected):
    monkeypatch.setattr(_threads, "ONE_THREAD_FLOPS", threshold)
    seen = _threads_inside_eigh(monkeypatch)
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((40, 6)), rng.standard_normal((40, 3))
    ridge_cv(X, Y, np.logspace(-1, 3, 12), clip_splits(4, 10, 4))  # eigh per fold
    # more distinct alphas than Cholesky solves: one eigendecomposition
    ridge_fit(X, Y, np.logspace(-1, 3, 3), n_targets_batch=None)
    assert seen and all(threads == expected for threads in seen)
    assert _blas_threads() == [2]


def test_factored_norms_run_on_one_thread_at_any_size(two_threads, monkeypatch):
    monkeypatch.setattr(_threads, "ONE_THREAD_FLOPS", 1)  # every problem "large"
    seen = []
    original = _threads.one_blas_thread

    def spy():
        seen.append(True)
        return original()

    from skbrainmusic.ridge import _backend

    monkeypatch.setattr(_backend, "one_blas_thread", spy)
    rng = np.random.default_rng(0)
    # many targets and validation rows: the triangular-factor route of the scores
    X, Y = rng.standard_normal((1200, 20)), rng.standard_normal((1200, 40))
    ridge_cv(X, Y, np.logspace(-1, 3, 12), clip_splits(4, 300, 4))
    assert seen


def test_one_thread_gives_the_same_fit(two_threads, monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((160, 30)).astype(np.float32)
    Y = (X[:, :5] @ rng.standard_normal((5, 4)) + rng.standard_normal((160, 4))).astype(
        np.float32)
    labels = np.repeat(np.arange(3), 10)
    model = ROIEnsembleRidge(labels, n_rois=2, cv=4)
    threaded = ROIEnsembleRidge(labels, n_rois=2, cv=4)
    one = model.fit(X.reshape(40, 4, 30), Y.reshape(40, 4, 4)).predict(X.reshape(40, 4, 30))
    monkeypatch.setattr(_threads, "ONE_THREAD_FLOPS", 0)
    many = threaded.fit(X.reshape(40, 4, 30), Y.reshape(40, 4, 4)).predict(
        X.reshape(40, 4, 30))
    np.testing.assert_array_equal(model.alphas_, threaded.alphas_)
    np.testing.assert_allclose(one, many, rtol=1e-4, atol=1e-5)

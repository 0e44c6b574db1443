"""One BLAS thread for small products (``skbrainmusic._threads``) against the libraries' own
threads, measured in the same run on the same data.

numpy's and scipy's wheels each bring an OpenBLAS; code that alternates between them on
small products pays for both libraries' spinning threads. Three workloads, each fitted
twice in this process (default BLAS threads, ``n_jobs=1``): once as shipped, once with the
one-thread rule switched off (the baseline):

- ``ROIEnsembleRidge.fit`` on the problem of ``roi_ridge.py`` (150 Destrieux-like ROIs,
  60,000 voxels, 480 clips x 4 windows, 128 targets, 20 alphas, 5 folds);
- ``ridge_cv`` of a voxelwise encoding model (512 features -> ``--voxels`` voxels): a large
  problem, which keeps the libraries' threads except for its cache-sized score products;
- the score generator's genre classifier (``LogisticRegressionCV``, 2,000 clips x 512
  dimensions, 10 genres, L-BFGS).

Printed: wall and CPU seconds of both, the BLAS thread count, and the ratios.

Usage::

    PYTHONPATH=. python benchmarks/blas_threads.py [--voxels 20000]
"""

import argparse

import numpy as np
from _measure import timed
from roi_ridge import ALPHAS, N_CLIPS, N_FOLDS, destrieux_like_sizes, make_problem, run_ours
from threadpoolctl import ThreadpoolController, threadpool_info

from skbrainmusic import _threads


def encoding_fit(X, Y):
    from skbrainmusic.ridge import clip_splits, ridge_cv

    return ridge_cv(X, Y, ALPHAS, clip_splits(N_FOLDS, N_CLIPS, X.shape[0] // N_CLIPS))


def genre_fit(features, labels):
    from skbrainmusic.generation import ScoreBackend

    ScoreBackend()._fit_genre(features, labels)


def compare(name, func, *args):
    shipped = timed(func, *args)
    rule = _threads._blas_controller
    # the baseline: one_blas_thread limits no library
    _threads._blas_controller = lambda: ThreadpoolController().select(user_api="none")
    try:
        baseline = timed(func, *args)
    finally:
        _threads._blas_controller = rule
    print(f"{name}: one thread for small products {shipped.wall:6.1f} s wall "
          f"{shipped.cpu:6.1f} s CPU; libraries' threads {baseline.wall:6.1f} s wall "
          f"{baseline.cpu:6.1f} s CPU -> {baseline.wall / shipped.wall:.2f}x faster, "
          f"{baseline.cpu / shipped.cpu:.2f}x less CPU", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voxels", type=int, default=20_000)
    args = parser.parse_args()
    threads = sorted({pool["num_threads"] for pool in threadpool_info()
                      if pool["user_api"] == "blas"})
    print(f"BLAS libraries' threads: {threads}")
    rng = np.random.default_rng(0)

    X, Y, labels = make_problem(destrieux_like_sizes())
    compare("ROIEnsembleRidge.fit (150 ROIs, 60,000 voxels)", run_ours, X, Y, labels,
            "float32", 1)
    del X, Y

    n_samples = N_CLIPS * 4
    features = rng.standard_normal((n_samples, 512), dtype=np.float32)
    voxels = (features @ rng.standard_normal((512, args.voxels), dtype=np.float32) * 0.05
              + rng.standard_normal((n_samples, args.voxels), dtype=np.float32))
    compare(f"ridge_cv encoding (512 features -> {args.voxels} voxels)", encoding_fit,
            features, voxels)
    del voxels

    genres = np.repeat([f"genre {g}" for g in range(10)], 200)
    clips = rng.standard_normal((2000, 512)) + 0.3 * rng.standard_normal((10, 512))[
        np.repeat(np.arange(10), 200)]
    compare("genre classifier (LogisticRegressionCV, 2,000 x 512)", genre_fit, clips, genres)


if __name__ == "__main__":
    main()

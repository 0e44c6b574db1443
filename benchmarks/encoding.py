"""Benchmark of voxelwise encoding: a paper-scale fit and a 1,000-permutation test.

Paper scale (Nakai et al. 2022 as used by Brain2Music): 480 training clips x 10 windows =
4,800 windows, 60,000 cortical voxels, float32, 128-d embeddings; 60 test clips x 10
windows = 600 test samples. Every case runs in its own process so that its peak resident
memory is its own; "extra memory" is the peak minus the resident size once the inputs are
built, reported as a multiple of the inputs' size (target: under 2x).

Baselines run in the same script on the same data (same generator and seed):
- himalaya ``RidgeCV`` (numpy backend) on the same clip folds and alphas, one alpha per
  voxel;
- scikit-learn ``RidgeCV(alpha_per_target=True)``, which supports per-target alphas only
  with its efficient leave-one-out (``cv=None``), so it does not use the clip folds;
- for the permutation test, the straightforward loop: one ``pearson_per_target`` of the
  permuted predictions per permutation.
Baselines run on a voxel subset (``--baseline-voxels``) and their time is extrapolated
linearly in voxels to the full count (labelled "extrapolated"); our estimator runs on the
same subset too, so the subset ratio is a like-for-like measurement.

Run: ``python benchmarks/encoding.py`` (paper scale; a few minutes on 2 cores), or
``python benchmarks/encoding.py --quick`` for a smoke run. ``--backend torch_cuda`` runs
the encoder fit on a GPU.
"""

import argparse
import multiprocessing as mp
import sys
from pathlib import Path

import numpy as np
from _measure import PeakMemory, timed

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ALPHAS = np.logspace(-2, 6, 9)


def _make_train(n_clips, n_windows, n_features, n_voxels, seed=0):
    """Windowed embeddings and responses (float32), built in chunks to avoid temporaries."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_clips, n_windows, n_features), dtype=np.float32)
    W = (rng.standard_normal((n_features, n_voxels), dtype=np.float32)
         / np.float32(np.sqrt(n_features)))
    W[:, n_voxels // 10:] = 0.0  # 10% informative voxels
    Y = rng.standard_normal((n_clips, n_windows, n_voxels), dtype=np.float32)
    for start in range(0, n_voxels, 4096):
        Y[..., start:start + 4096] += X @ W[:, start:start + 4096]
    return X, Y


def _case(name, args, queue):
    # Imports first: neither their time nor their memory belongs to the measurement.
    from himalaya.ridge import RidgeCV as HimalayaRidgeCV
    from sklearn.linear_model import RidgeCV as SklearnRidgeCV

    from skbrainmusic.encoding import VoxelwiseEncoder, permutation_test
    from skbrainmusic.metrics import pearson_per_target
    from skbrainmusic.ridge import clip_splits

    rng_args = (args.n_clips, args.n_windows, args.n_features)
    if name.startswith("perm"):
        rng = np.random.default_rng(1)
        n_voxels = args.n_voxels if name == "perm_ours" else args.baseline_voxels
        shape = (args.n_test_clips, args.n_windows, n_voxels)
        Y_true = rng.standard_normal(shape, dtype=np.float32)
        Y_pred = rng.standard_normal(shape, dtype=np.float32)
        Y_pred[..., : n_voxels // 10] += Y_true[..., : n_voxels // 10]
        input_bytes = Y_true.nbytes + Y_pred.nbytes
    else:
        n_voxels = args.n_voxels if name == "fit_ours_full" else args.baseline_voxels
        X, Y = _make_train(*rng_args, n_voxels)
        input_bytes = X.nbytes + Y.nbytes

    def measured():
        if name.startswith("fit_ours"):
            VoxelwiseEncoder(alphas=ALPHAS, cv=5, backend=args.backend).fit(X, Y)
        elif name == "fit_himalaya":
            splits = clip_splits(5, args.n_clips, args.n_windows)
            HimalayaRidgeCV(alphas=ALPHAS, cv=splits, fit_intercept=True).fit(
                X.reshape(-1, args.n_features), Y.reshape(-1, n_voxels))
        elif name == "fit_sklearn":
            SklearnRidgeCV(alphas=ALPHAS, alpha_per_target=True).fit(
                X.reshape(-1, args.n_features), Y.reshape(-1, n_voxels))
        elif name in ("perm_ours", "perm_ours_subset"):
            permutation_test(Y_true, Y_pred, n_permutations=args.n_permutations,
                             random_state=0)
        elif name == "perm_loop":
            generator = np.random.default_rng(0)
            flat_true = Y_true.reshape(-1, n_voxels)
            observed = pearson_per_target(flat_true, Y_pred.reshape(-1, n_voxels))
            exceed = np.zeros(n_voxels)
            for _ in range(args.n_permutations):
                permuted = Y_pred[generator.permutation(args.n_test_clips)].reshape(
                    -1, n_voxels)
                exceed += pearson_per_target(flat_true, permuted) >= observed

    with PeakMemory() as memory:
        seconds = timed(measured).wall
    queue.put(dict(name=name, n_voxels=n_voxels, seconds=seconds,
                   extra_mib=memory.extra / 2**20, input_mib=input_bytes / 2**20))


def run_case(name, args):
    context = mp.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_case, args=(name, args, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-clips", type=int, default=480)
    parser.add_argument("--n-windows", type=int, default=10)
    parser.add_argument("--n-features", type=int, default=128)
    parser.add_argument("--n-voxels", type=int, default=60_000)
    parser.add_argument("--n-test-clips", type=int, default=60)
    parser.add_argument("--n-permutations", type=int, default=1000)
    parser.add_argument("--baseline-voxels", type=int, default=5_000)
    parser.add_argument("--backend", default="numpy")
    parser.add_argument("--skip-sklearn", action="store_true")
    parser.add_argument("--quick", action="store_true", help="small sizes, smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.n_clips, args.n_voxels, args.baseline_voxels = 60, 3_000, 1_000
        args.n_test_clips, args.n_permutations = 20, 100

    print(f"fit: {args.n_clips} clips x {args.n_windows} windows = "
          f"{args.n_clips * args.n_windows} samples, d={args.n_features}, "
          f"{args.n_voxels} voxels, float32, {ALPHAS.size} alphas, 5 clip folds, "
          f"backend={args.backend}")
    scale = args.n_voxels / args.baseline_voxels
    full = run_case("fit_ours_full", args)
    print(f"  ours, full {full['n_voxels']} voxels: {full['seconds']:.1f} s, extra memory "
          f"{full['extra_mib']:.0f} MiB = {full['extra_mib'] / full['input_mib']:.2f}x the "
          f"inputs ({full['input_mib']:.0f} MiB)")
    subset = run_case("fit_ours", args)
    print(f"  ours, {args.baseline_voxels}-voxel subset: {subset['seconds']:.2f} s")
    baselines = ["fit_himalaya"] + ([] if args.skip_sklearn else ["fit_sklearn"])
    labels = {"fit_himalaya": "himalaya RidgeCV (same folds, alphas)",
              "fit_sklearn": "sklearn RidgeCV(alpha_per_target=True) (LOO, cv=None)"}
    for name in baselines:
        result = run_case(name, args)
        print(f"  {labels[name]}, {args.baseline_voxels}-voxel subset: "
              f"{result['seconds']:.2f} s (extra memory {result['extra_mib']:.0f} MiB = "
              f"{result['extra_mib'] / result['input_mib']:.2f}x inputs); extrapolated to "
              f"{args.n_voxels} voxels: {result['seconds'] * scale:.1f} s; ratio to ours: "
              f"subset {result['seconds'] / subset['seconds']:.1f}x, extrapolated vs full "
              f"{result['seconds'] * scale / full['seconds']:.1f}x")

    print(f"permutation test: {args.n_permutations} permutations, {args.n_voxels} voxels x "
          f"{args.n_test_clips * args.n_windows} test samples ({args.n_test_clips} clips x "
          f"{args.n_windows} windows), float32")
    perm = run_case("perm_ours", args)
    print(f"  ours, full: {perm['seconds']:.1f} s, extra memory {perm['extra_mib']:.0f} MiB "
          f"= {perm['extra_mib'] / perm['input_mib']:.2f}x the inputs "
          f"({perm['input_mib']:.0f} MiB)")
    perm_subset = run_case("perm_ours_subset", args)
    loop = run_case("perm_loop", args)
    print(f"  ours, {args.baseline_voxels}-voxel subset: {perm_subset['seconds']:.2f} s; "
          f"per-permutation loop baseline: {loop['seconds']:.2f} s (extrapolated to "
          f"{args.n_voxels} voxels: {loop['seconds'] * scale:.1f} s); ratio: subset "
          f"{loop['seconds'] / perm_subset['seconds']:.1f}x, extrapolated vs full "
          f"{loop['seconds'] * scale / perm['seconds']:.1f}x")


if __name__ == "__main__":
    main()

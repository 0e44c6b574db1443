"""ROIEnsembleRidge at the paper's scale against himalaya RidgeCV and GridSearchCV(Ridge).

Problem (issue 5): 150 ROIs with Destrieux-like sizes (~60,000 voxels, median ~140, a few
> 2,000), 480 clips x 4 windows (``--n-windows 10``: the 1.5 s windows), 128 targets, 20
alphas, 5-fold CV over clips, float32.
All methods run in this process on the same data, folds and alphas. The two baselines are
slow; by default they run exactly on the 4 largest ROIs (whose cost grows fastest with size) and
on a size-stratified sample of the others (every k-th ROI in size order), whose time is
extrapolated linearly to all the others; ``--full-baselines`` runs them on every ROI.

Printed: the FLOP count of our method (see ``flop_count``), the machine's measured float32
GEMM rate and the resulting floor, every time and ratio, the float32 vs float64
chosen-alpha identity and the peak resident memory against the input.

The machine this was written on has 2 cores shared with other users, so wall-clock times
depend on their load. Every method is therefore also timed on one core (BLAS limited to
one thread, CPU seconds of the process), and the speed ratios are taken there: they hold
whatever the load. Our wall time with ``--n-jobs 2`` is printed too (with the GEMM rate
measured in the same run, which drops with the load as well).

Usage::

    PYTHONPATH=. python benchmarks/roi_ridge.py [--n-jobs 2] [--n-windows 4] [--baseline-rois 12]
                                   [--baseline-largest 4] [--full-baselines]
                                   [--skip-baselines] [--skip-float64] [--torch]
"""

import argparse
import time

import numpy as np
from _measure import PeakMemory, best_time, timed
from scipy.stats import norm
from threadpoolctl import threadpool_limits

N_ROIS, N_VOXELS, MEDIAN_SIZE = 150, 60_000, 140
N_CLIPS, N_WINDOWS, N_TARGETS, N_ALPHAS, N_FOLDS = 480, 4, 128, 20, 5
ALPHAS = np.logspace(-1, 7, N_ALPHAS)


def destrieux_like_sizes(n_rois=N_ROIS, n_voxels=N_VOXELS, median=MEDIAN_SIZE):
    """Log-normal quantiles around the median, capped at 4,000 voxels; the voxels missing
    to reach ``n_voxels`` go to the ROIs above the median (the median stays put)."""
    quantiles = norm.ppf((np.arange(n_rois) + 0.5) / n_rois)
    sizes = np.clip(np.round(median * np.exp(1.45 * quantiles)), 10, 4000).astype(int)
    upper = sizes > median
    extra = n_voxels - sizes.sum()
    sizes[upper] += np.floor(extra * sizes[upper] / sizes[upper].sum()).astype(int)
    sizes[-1] += n_voxels - sizes.sum()
    return np.random.default_rng(0).permutation(sizes)


def make_problem(sizes, seed=0, n_windows=N_WINDOWS):
    """Responses with ROI-specific mixtures of a clip-level latent signal plus noise."""
    rng = np.random.default_rng(seed)
    n_samples = N_CLIPS * n_windows
    latent = np.repeat(rng.standard_normal((N_CLIPS, 16)), n_windows, 0)
    latent += 0.5 * rng.standard_normal(latent.shape)
    Y = latent @ rng.standard_normal((16, N_TARGETS)) + rng.standard_normal(
        (n_samples, N_TARGETS))
    labels = np.repeat(np.arange(sizes.size), sizes)
    X = rng.standard_normal((n_samples, labels.size), dtype=np.float32)
    gains = rng.uniform(0, 0.6, sizes.size) ** 3  # few informative ROIs
    for roi, size in enumerate(sizes):
        voxels = slice(labels.searchsorted(roi), labels.searchsorted(roi) + size)
        X[:, voxels] += (gains[roi] * latent @ rng.standard_normal((16, size))).astype(
            np.float32)
    return (X.reshape(N_CLIPS, n_windows, -1), Y.reshape(N_CLIPS, n_windows, -1).astype(
        np.float32), labels)


def gemm_rate(clock=time.perf_counter, dtype=np.float32, n=2048):
    """FLOP/s of a float32 GEMM, by wall clock or (one thread) by CPU time."""
    a = np.random.default_rng(0).standard_normal((n, n)).astype(dtype)
    return 2 * n**3 / best_time(lambda: a @ a, 3, clock)


def flop_count(sizes, n_samples, n_targets, n_alphas, n_folds):
    """FLOPs of ridge_cv's route per ROI (numpy backend, see skbrainmusic.ridge._solvers):
    one full-data Gram GEMM; per fold the Gram downdate (primal) or kernel blocks (dual),
    the factorisation (rank >= 512: tridiagonal reduction, 4/3 r^3; below: eigh with
    vectors, 9 r^3, GVL) and the products. Primal: X^T Y once, then per fold the
    validation rows' products brought to the basis (Q^T Gv Q when the rank is below the
    validation rows, else A), dual: A and B. Per alpha and target the prediction norms: a
    triangular product (r^2) below the validation rows, else 2 n_val r."""
    n_val = n_samples // n_folds
    n_train = n_samples - n_val
    total = {"gram": 0.0, "factorisation": 0.0, "products": 0.0, "alpha_scoring": 0.0}
    for p in sizes:
        if p <= n_train:
            r = p
            total["gram"] += 2 * n_samples * p * p + n_folds * 2 * n_val * p * p
            total["products"] += 2 * n_samples * p * n_targets + n_folds * (
                (4 * p**3 if p < n_val else 2 * n_val * p * p)
                + 2 * n_val * p * n_targets + 4 * p * p * n_targets)
        else:
            r = n_train
            total["gram"] += 2 * n_samples**2 * p
            total["products"] += n_folds * (4 * n_val * r * r + 4 * r * r * n_targets)
        total["factorisation"] += n_folds * (4 / 3 if r >= 512 else 9) * r**3
        total["alpha_scoring"] += n_folds * n_alphas * n_targets * (
            (r * r if r < n_val else 2 * n_val * r) + 8 * r)
    return total


def refit_flop_count(sizes, n_samples, n_targets, distinct_alphas):
    """Refit of the selected ROIs: Gram GEMM, one Cholesky (r^3 / 3) and solve per distinct
    alpha when there are at most 8 of them, else an eigendecomposition (9 r^3)."""
    total = 0.0
    for p, k in zip(sizes, distinct_alphas):
        r = min(p, n_samples)
        total += 2 * n_samples * p * r
        total += k * (r**3 / 3 + 2 * r * r * n_targets) if k <= 8 else 9 * r**3
    return total


def run_ours(X, Y, labels, dtype, n_jobs, backend="numpy"):
    from skbrainmusic import ROIEnsembleRidge

    model = ROIEnsembleRidge(labels, n_rois=6, alphas=ALPHAS, cv=N_FOLDS, dtype=dtype,
                             backend=backend, n_jobs=n_jobs, store_cv_scores=True)
    return model.fit(X, Y)


def baseline_subset(sizes, n_largest, n_sampled):
    """The ``n_largest`` ROIs (run exactly: their cost grows fastest with size) and a
    size-stratified sample of the others (every k-th in size order), with the weight that
    extrapolates each to the ROIs it stands for."""
    order = np.argsort(sizes)
    largest, rest = order[sizes.size - n_largest:], order[:sizes.size - n_largest]
    step = max(1, rest.size // n_sampled)
    sampled = rest[step // 2::step][:n_sampled]
    return largest, sampled, rest.size / sampled.size


def run_himalaya(X2, Y2, labels, rois, splits, backend="numpy"):
    import himalaya.backend
    from himalaya.ridge import RidgeCV
    from himalaya.scoring import correlation_score

    himalaya.backend.set_backend(backend, on_error="raise")
    if backend == "torch":
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # the one-core comparison
    for roi in rois:
        voxels = np.flatnonzero(labels == roi)
        RidgeCV(alphas=ALPHAS.astype(np.float32), cv=splits, fit_intercept=True,
                solver_params=dict(score_func=correlation_score, warn=False)).fit(
            X2[:, voxels], Y2)
    himalaya.backend.set_backend("numpy")
    if backend == "torch":
        torch.set_num_threads(threads)


def run_gridsearch(X2, Y2, labels, rois, splits):
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GridSearchCV

    from skbrainmusic.metrics import correlation_scorer

    for roi in rois:
        voxels = np.flatnonzero(labels == roi)
        GridSearchCV(Ridge(), {"alpha": ALPHAS}, cv=splits, scoring=correlation_scorer).fit(
            X2[:, voxels], Y2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--n-windows", type=int, default=N_WINDOWS,
                        help="windows per clip (4: 10 s windows; the 1.5 s windows give 10)")
    parser.add_argument("--baseline-rois", type=int, default=12,
                        help="size-stratified ROIs (besides the largest) the baselines run on")
    parser.add_argument("--baseline-largest", type=int, default=4,
                        help="largest ROIs the baselines run on exactly")
    parser.add_argument("--full-baselines", action="store_true",
                        help="run the baselines on all 150 ROIs (slow: ~25 min)")
    parser.add_argument("--skip-baselines", action="store_true")
    parser.add_argument("--skip-float64", action="store_true")
    parser.add_argument("--torch", action="store_true", help="also time backend='torch'")
    args = parser.parse_args()

    from skbrainmusic.ridge import clip_splits

    sizes = destrieux_like_sizes()
    print(f"ROIs: {sizes.size}, voxels: {sizes.sum()}, median size {np.median(sizes):.0f}, "
          f"mean {sizes.mean():.0f}, > 2000: {(sizes > 2000).sum()}, max {sizes.max()}")
    X, Y, labels = make_problem(sizes, n_windows=args.n_windows)
    input_bytes = X.nbytes
    n_samples = N_CLIPS * args.n_windows
    print(f"X {X.shape} float32 ({input_bytes / 2**20:.0f} MiB), Y {Y.shape}, "
          f"{N_ALPHAS} alphas, {N_FOLDS}-fold over clips, n_jobs={args.n_jobs}")

    rate = gemm_rate()
    with threadpool_limits(1):
        rate_one_core = gemm_rate(time.process_time)
    print(f"measured float32 GEMM rate (2048^2): {rate / 1e9:.0f} GFLOP/s on all cores (wall "
          f"clock), {rate_one_core / 1e9:.0f} GFLOP/s on one core (CPU time)")

    with PeakMemory() as memory:
        wall32, _, model32 = timed(run_ours, X, Y, labels, "float32", args.n_jobs)
    flops = flop_count(sizes, n_samples, N_TARGETS, N_ALPHAS, N_FOLDS)
    flops["refit"] = refit_flop_count([v.size for v in model32.voxel_indices_], n_samples,
                                      N_TARGETS, [np.unique(a).size for a in model32.alphas_])
    total_flops = sum(flops.values())
    print("FLOPs of the chosen method: " + ", ".join(
        f"{k} {v / 1e12:.3f} T" for k, v in flops.items()) + f"; total {total_flops / 1e12:.2f}"
          f" TFLOP -> floor at the GEMM rate {total_flops / rate:.1f} s (all cores), "
          f"{total_flops / rate_one_core:.1f} s (one core)")
    above = memory.extra / input_bytes
    print(f"ours float32 numpy, n_jobs={args.n_jobs}: {wall32:.1f} s wall "
          f"({total_flops / wall32 / 1e9:.0f} GFLOP/s effective, "
          f"{wall32 / (total_flops / rate):.2f}x the floor); peak PSS of the process and its "
          f"workers {memory.peak / 2**20:.0f} MiB = {above:.2f}x the input above the "
          f"{memory.baseline / 2**20:.0f} MiB held before the fit")
    # single-core CPU time: independent of what else runs on the machine
    with threadpool_limits(1):
        _, cpu32, _ = timed(run_ours, X, Y, labels, "float32", 1)
    print(f"ours float32 numpy, one core: {cpu32:.1f} CPU s = "
          f"{cpu32 / (total_flops / rate_one_core):.2f}x the one-core floor (-> "
          f"{cpu32 / 2:.1f} s on 2 unloaded cores, ROIs being independent)")
    if args.torch:
        wall_torch, _, _ = timed(run_ours, X, Y, labels, "float32", args.n_jobs, "torch")
        print(f"ours float32 torch (CPU), n_jobs={args.n_jobs}: {wall_torch:.1f} s wall")
    if not args.skip_float64:
        wall64, _, model64 = timed(run_ours, X, Y, labels, "float64", args.n_jobs)
        from skbrainmusic.ridge._solvers import _select_alphas

        best32 = np.stack([_select_alphas(a, ALPHAS) for a in model32.cv_scores_])
        best64 = np.stack([_select_alphas(a, ALPHAS) for a in model64.cv_scores_])
        same = np.mean((best32 == best64).all(1))
        pairs = np.mean(best32 == best64)
        rois, targets = np.nonzero(best32 != best64)
        # float64 score gap between the two alphas where the choices differ: near-ties
        gaps = np.abs(model64.cv_scores_[rois, best32[rois, targets], targets]
                      - model64.cv_scores_[rois, best64[rois, targets], targets])
        print(f"ours float64: {wall64:.1f} s wall; selected ROIs identical: "
              f"{np.array_equal(model32.selected_rois_, model64.selected_rois_)}; chosen "
              f"alphas of the selected ROIs identical: "
              f"{np.array_equal(model32.alphas_, model64.alphas_)}; over all ROI x target "
              f"pairs: {pairs * 100:.2f}% identical ({same * 100:.1f}% of ROIs all identical);"
              f" max |roi_scores_ difference| "
              f"{np.abs(model32.roi_scores_ - model64.roi_scores_).max():.1e}; where they "
              f"differ ({rois.size} pairs) the float64 CV scores of the two alphas differ by "
              f"at most {gaps.max() if gaps.size else 0:.1e} (near-ties)")

    if args.skip_baselines:
        return
    X2 = X.reshape(n_samples, -1)
    Y2 = Y.reshape(n_samples, -1)
    splits = clip_splits(N_FOLDS, N_CLIPS, args.n_windows)
    if args.full_baselines:
        largest, sampled, factor = np.arange(sizes.size), np.array([], int), 0.0
        label = "all ROIs"
    else:
        largest, sampled, factor = baseline_subset(sizes, args.baseline_largest,
                                                   args.baseline_rois)
        label = (f"EXTRAPOLATED: the {largest.size} largest ROIs ({sizes[largest].sum()} "
                 f"voxels) exactly + {sampled.size} size-stratified others x{factor:.1f}")

    def one_core_cpu(run, *extra):
        with threadpool_limits(1):
            exact = timed(run, X2, Y2, labels, largest, splits, *extra).cpu
            part = timed(run, X2, Y2, labels, sampled, splits, *extra).cpu if sampled.size \
                else 0.0
        return exact + factor * part

    for backend in ("numpy", "torch") if args.torch else ("numpy",):
        cpu = one_core_cpu(run_himalaya, backend)
        print(f"himalaya RidgeCV ({backend}) looped over ROIs, one core: {cpu:.0f} CPU s "
              f"[{label}] -> ours is {cpu / cpu32:.1f}x faster (one core each)")
    cpu = one_core_cpu(run_gridsearch)
    print(f"sklearn GridSearchCV(Ridge) per ROI (one alpha for all targets), one core: "
          f"{cpu:.0f} CPU s [{label}] -> ours is {cpu / cpu32:.1f}x faster (one core each)")


if __name__ == "__main__":
    main()

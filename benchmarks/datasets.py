"""Build time and peak memory of the synthetic studies, and load time of a real-format subject.

Run one measurement per process (peak memory is per process):
    python benchmarks/datasets.py synthetic --scale small
    python benchmarks/datasets.py synthetic --scale paper
    python benchmarks/datasets.py bids [--grid 40 40 30]

``synthetic`` builds subject 1 into an empty temporary data home (rendering the stimuli),
then subject 2 (stimuli from the cache), then reloads subject 1 from the cache; the ratio
of subject 2 to subject 1 shows what the stimulus cache saves.
``bids`` writes a ds003720-shaped BIDS tree (18 runs of 410 int16 volumes on ``grid``,
with the real events files) and times ``load_nakai2022`` against the floor of reading
every run's voxels once.
"""

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def peak_rss_gib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def timed(func):
    """``(result, wall seconds, CPU seconds of this process)``; the machine may be shared,
    so the CPU time is the steadier number."""
    start, cpu = time.perf_counter(), time.process_time()
    result = func()
    return result, time.perf_counter() - start, time.process_time() - cpu


def synthetic(scale):
    from skbrainmusic.datasets import make_synthetic_study

    home = Path(tempfile.mkdtemp(prefix="skbm_bench_"))
    try:
        study, t_first, c_first = timed(
            lambda: make_synthetic_study(scale, subject=1, data_home=home)
        )
        n_clips = len(study.clips_train) + len(study.clips_test) + len(study.corpus.clips)
        shape = study.responses_train.shape
        del study
        _, t_second, c_second = timed(
            lambda: make_synthetic_study(scale, subject=2, data_home=home)
        )
        _, t_reload, c_reload = timed(
            lambda: make_synthetic_study(scale, subject=1, data_home=home)
        )
        disk = sum(p.stat().st_size for p in home.rglob("*") if p.is_file()) / 2**30
    finally:
        shutil.rmtree(home)
    print(f"scale={scale}: {n_clips} rendered clips, responses_train {shape}")
    print(f"subject 1 (render + simulate): {t_first:8.1f} s wall {c_first:8.1f} s CPU")
    print(f"subject 2 (cached stimuli):    {t_second:8.1f} s wall {c_second:8.1f} s CPU  "
          f"CPU ratio to subject 1 {c_second / c_first:.3f}")
    print(f"reload subject 1 from cache:   {t_reload:8.1f} s wall {c_reload:8.1f} s CPU  "
          f"CPU ratio to subject 1 {c_reload / c_first:.3f}")
    print(f"peak RSS {peak_rss_gib():.2f} GiB (includes touched pages of memory-mapped "
          "cache files); "
          f"cache on disk {disk:.2f} GiB")


def _shared_data():
    repo = Path(__file__).resolve().parents[1]
    for candidate in (repo.parent / "shared" / "data", Path("/work/shared/data")):
        if (candidate / "ds003720").is_dir():
            return candidate
    sys.exit("needs the real events files in ../shared/data/ds003720")


def bids(grid):
    import nibabel as nib

    from skbrainmusic.datasets import load_nakai2022

    src = _shared_data() / "ds003720" / "sub-001" / "func"
    root = Path(tempfile.mkdtemp(prefix="skbm_bids_"))
    try:
        func = root / "sub-001" / "func"
        func.mkdir(parents=True)
        rng = np.random.default_rng(0)
        paths = []
        for events in sorted(src.glob("*_events.tsv")):
            shutil.copy(events, func / events.name)
            data = (1000 + 20 * rng.standard_normal(tuple(grid) + (410,))).astype(np.int16)
            path = func / events.name.replace("_events.tsv", "_bold.nii")
            nib.save(nib.Nifti1Image(data, np.eye(4)), path)
            paths.append(path)
        n_voxels = int(np.prod(grid))

        def read_every_run():
            for path in paths:
                np.asanyarray(nib.load(path).dataobj).reshape(-1, 410).T.astype(np.float32)

        study, t_load, c_load = timed(lambda: load_nakai2022(root, subject=1))
        _, t_floor, c_floor = timed(read_every_run)
        print(f"18 runs x 410 volumes x {n_voxels} voxels (grid {tuple(grid)}, uncompressed int16)")
        print(f"load_nakai2022: {t_load:.1f} s wall {c_load:.1f} s CPU; reading every run "
              f"once: {t_floor:.1f} s wall {c_floor:.1f} s CPU; CPU ratio {c_load / c_floor:.1f}")
        print(f"responses_train {study.responses_train.shape}, "
              f"responses_test_repeats {study.responses_test_repeats.shape}")
        print(f"peak RSS {peak_rss_gib():.2f} GiB")
    finally:
        shutil.rmtree(root)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    synth = sub.add_parser("synthetic")
    synth.add_argument("--scale", choices=["small", "paper"], default="small")
    real = sub.add_parser("bids")
    real.add_argument("--grid", type=int, nargs=3, default=[40, 40, 30])
    args = parser.parse_args()
    if args.what == "synthetic":
        synthetic(args.scale)
    else:
        bids(args.grid)


if __name__ == "__main__":
    main()

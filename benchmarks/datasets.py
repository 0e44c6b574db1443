"""Build time and peak memory of the synthetic studies, and load time of a real-format subject.

Run one measurement per process (peak memory is per process tree):
    PYTHONPATH=. python benchmarks/datasets.py synthetic --scale small [--n-jobs 2]
    PYTHONPATH=. python benchmarks/datasets.py synthetic --scale paper
    PYTHONPATH=. python benchmarks/datasets.py bids [--grid 40 40 30]

``synthetic`` builds subject 1 into an empty temporary data home (rendering the stimuli),
then subject 2 (stimuli from the cache), then reloads subject 1 from the cache; the ratio
of subject 2 to subject 1 shows what the stimulus cache saves.
``bids`` writes a ds003720-shaped BIDS tree (18 runs of 410 int16 volumes on ``grid``,
with the real events files) and times ``load_nakai2022`` against the floor of reading
every run's voxels once.
"""

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from _measure import PeakMemory, timed

# The real reference data sits beside the checkout.
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def synthetic(scale, n_jobs):
    from skbrainmusic.datasets import make_synthetic_study

    home = Path(tempfile.mkdtemp(prefix="skbm_bench_"))
    # The machine may be shared, so the CPU time (of this process) is the steadier number.
    try:
        with PeakMemory() as memory:
            t_first, c_first, study = timed(make_synthetic_study, scale, subject=1,
                                            data_home=home, n_jobs=n_jobs)
            n_clips = len(study.clips_train) + len(study.clips_test) + len(study.corpus.clips)
            shape = study.responses_train.shape
            del study
            t_second, c_second, _ = timed(make_synthetic_study, scale, subject=2,
                                          data_home=home, n_jobs=n_jobs)
            t_reload, c_reload, _ = timed(make_synthetic_study, scale, subject=1,
                                          data_home=home, n_jobs=n_jobs)
        disk = sum(p.stat().st_size for p in home.rglob("*") if p.is_file()) / 2**30
    finally:
        shutil.rmtree(home)
    print(f"scale={scale}: {n_clips} rendered clips, responses_train {shape}")
    print(f"subject 1 (render + simulate): {t_first:8.1f} s wall {c_first:8.1f} s CPU")
    print(f"subject 2 (cached stimuli):    {t_second:8.1f} s wall {c_second:8.1f} s CPU  "
          f"CPU ratio to subject 1 {c_second / c_first:.3f}")
    print(f"reload subject 1 from cache:   {t_reload:8.1f} s wall {c_reload:8.1f} s CPU  "
          f"CPU ratio to subject 1 {c_reload / c_first:.3f}")
    print(f"peak PSS of the process and its workers {memory.peak / 2**30:.2f} GiB (includes "
          f"touched pages of memory-mapped cache files); cache on disk {disk:.2f} GiB")


def bids(grid):
    import nibabel as nib

    from skbrainmusic.datasets import load_nakai2022

    src = SHARED_DATA / "ds003720" / "sub-001" / "func"
    if not src.is_dir():
        sys.exit(f"needs the real events files in {src}")
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

        with PeakMemory() as memory:
            t_load, c_load, study = timed(load_nakai2022, root, subject=1)
        t_floor, c_floor, _ = timed(read_every_run)
        print(f"18 runs x 410 volumes x {n_voxels} voxels (grid {tuple(grid)}, uncompressed int16)")
        print(f"load_nakai2022: {t_load:.1f} s wall {c_load:.1f} s CPU; reading every run "
              f"once: {t_floor:.1f} s wall {c_floor:.1f} s CPU; CPU ratio {c_load / c_floor:.1f}")
        print(f"responses_train {study.responses_train.shape}, "
              f"responses_test_repeats {study.responses_test_repeats.shape}")
        print(f"peak PSS while loading {memory.peak / 2**30:.2f} GiB "
              f"({memory.extra / 2**30:.2f} GiB above the process before)")
    finally:
        shutil.rmtree(root)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    synth = sub.add_parser("synthetic")
    synth.add_argument("--scale", choices=["small", "paper"], default="small")
    synth.add_argument("--n-jobs", type=int, default=None, help="workers rendering audio")
    real = sub.add_parser("bids")
    real.add_argument("--grid", type=int, nargs=3, default=[40, 40, 30])
    args = parser.parse_args()
    if args.what == "synthetic":
        synthetic(args.scale, args.n_jobs)
    else:
        bids(args.grid)


if __name__ == "__main__":
    main()

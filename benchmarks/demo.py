"""Wall time and peak memory of ``skbrainmusic demo`` (first run: the study is built).

Usage: ``python benchmarks/demo.py [--scale small|paper|tiny] [--n-jobs N]``. The demo runs
in a child process with a fresh data home, so the synthetic study's construction is
included; a second run reuses the cache and measures the analysis alone.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _run(command, env):
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    # The largest peak among the children so far (KiB on Linux): meaningful for the first
    # run only.
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return wall, peak_mib


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", default="small", choices=("tiny", "small", "paper"))
    parser.add_argument("--n-jobs", default="1")
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="skbrainmusic-demo-bench-"))
    env = {**os.environ, "SKBRAINMUSIC_DATA": str(work / "data")}
    command = [sys.executable, "-m", "skbrainmusic", "demo", "--scale", options.scale,
               "--n-jobs", options.n_jobs, "--quiet"]
    first = _run([*command, "--out", str(work / "first")], env)
    cached = _run([*command, "--out", str(work / "cached")], env)
    results = json.loads((work / "cached" / "results.json").read_text())
    print(f"scale {options.scale}, n_jobs {options.n_jobs}")
    print(f"first run (builds the study): {first[0]:7.1f} s, peak RSS {first[1]:7.0f} MiB "
          "(largest process)")
    print(f"cached study:                 {cached[0]:7.1f} s")
    music = results["table1"]["librosa-10s"]["identification_test"]
    print(f"MuLan-music analog, test identification {music['mean']:.3f} +- {music['std']:.3f}")


if __name__ == "__main__":
    main()

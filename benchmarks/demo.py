"""Wall time and peak memory of ``skbrainmusic demo`` (first run: the study is built).

Usage: ``PYTHONPATH=. python benchmarks/demo.py [--scale small|paper|tiny] [--n-jobs N]``.
The demo runs in a child process with a fresh data home, so the synthetic study's
construction is included; a second run reuses the cache and measures the analysis alone.
Peak memory is that of the child and its workers (summed PSS).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _measure import PeakMemory, timed


def _run(command, env):
    """(wall seconds, peak MiB of the demo's process tree)."""
    with PeakMemory() as memory:
        wall = timed(subprocess.run, command, check=True, env=env,
                     stdout=subprocess.DEVNULL).wall
    return wall, memory.extra / 2**20


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", default="small", choices=("tiny", "small", "paper"))
    parser.add_argument("--n-jobs", default="1")
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="skbrainmusic-demo-bench-"))
    env = {**os.environ, "SKBRAINMUSIC_DATA": str(work / "data")}
    command = [sys.executable, "-m", "skbrainmusic", "demo", "--scale", options.scale,
               "--n-jobs", options.n_jobs, "--quiet"]
    try:
        first = _run([*command, "--out", str(work / "first")], env)
        cached = _run([*command, "--out", str(work / "cached")], env)
        results = json.loads((work / "cached" / "results.json").read_text())
    finally:
        shutil.rmtree(work)
    print(f"scale {options.scale}, n_jobs {options.n_jobs}")
    print(f"first run (builds the study): {first[0]:7.1f} s, peak PSS {first[1]:7.0f} MiB")
    print(f"cached study:                 {cached[0]:7.1f} s, peak PSS {cached[1]:7.0f} MiB")
    music = results["table1"]["librosa-10s"]["identification_test"]
    print(f"MuLan-music analog, test identification {music['mean']:.3f} +- {music['std']:.3f}")


if __name__ == "__main__":
    main()

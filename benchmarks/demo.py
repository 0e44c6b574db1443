"""Wall time and peak memory of ``skbrainmusic demo``, whole and stage by stage.

Usage: ``PYTHONPATH=. python benchmarks/demo.py [--scale small|paper|tiny] [--n-jobs N]
[--runs first cached] [--data-home DIR]``.

The demo runs in a child process. ``first`` uses a fresh data home, so the synthetic
study's construction is included; ``cached`` runs again on that data home and measures the
analysis alone. ``--data-home`` reuses (and keeps) an existing data home instead, e.g. to
measure only a cached run (``--runs cached``).

Peak memory is the summed PSS of the child and all its workers, sampled at 5 Hz on a fixed
schedule (``_measure.process_tree_pss``, which reads the PSS only where the RSS bound
leaves the peak in doubt), above the benchmark's own; the run's line says how many samples
needed a reading and how much CPU the measurement took from the demo. Stages are the
demo's progress messages (the command line prints one line per step on a pipe): a ``log``
message opens a stage, a progress-bar line (``description [###  ] k/n``) closes a step of the stage
``description``; the child also prints the bar at ``0/n`` when a tracked stage starts
(the command line prints it only after the first step). Each stage gets its wall time and
the peak PSS sampled while it ran; ``start-up`` is the interpreter and imports before the
first message, ``exit`` the report printing and interpreter shutdown after the last.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _measure import process_tree_pss

# "[   12.3 s] message" or "[   12.3 s] description [#####     ] 3/5"
_LINE = re.compile(r"^\[\s*[\d.]+ s\] (?P<text>.*?)(?P<bar> \[[# ]+\] (?P<done>\d+)/\d+)?$")


def _stages(lines, samples, start, end):
    """``[(stage, seconds, peak MiB)]`` from timestamped messages and PSS samples."""
    segments, label, begin = [], "start-up", start
    for stamp, text in lines:
        match = _LINE.match(text)
        if match is None:
            continue
        step = match["bar"] is not None and match["done"] != "0"
        segments.append((match["text"] if step else label, begin, stamp))
        label = f"{match['text']} (after)" if step else match["text"]
        begin = stamp
        if not match["bar"] and match["text"].startswith("done in"):
            label = "exit"
    segments.append((label, begin, end))
    merged = []
    for name, first, last in segments:
        if merged and merged[-1][0] == name:
            merged[-1][2] = last
        else:
            merged.append([name, first, last])
    result = []
    for name, first, last in merged:
        inside = [pss for stamp, pss in samples if first <= stamp <= last]
        # A stage shorter than the sampling interval: the next sample holds its memory.
        later = [pss for stamp, pss in samples if stamp > last][:1]
        peak = max(inside or later or [0])
        result.append((name, last - first, peak / 2**20))
    return result


def _child(argv):
    """Run ``skbrainmusic`` with ``argv``, its progress bars also drawn at their start."""
    from skbrainmusic.cli import _common, main

    track = _common.Progress.track

    def track_from_start(self, items, description, total=None):
        total = len(items) if total is None else total
        self._write(f"[{self.elapsed():7.1f} s] {description} [{' ' * 20}] 0/{total}")
        yield from track(self, items, description, total)

    _common.Progress.track = track_from_start
    return main(argv)


# 5 Hz, the minimum: reading the PSS of the paper-scale demo's process tree costs
# 10-15 ms of CPU, time taken from the demo on a 2-core machine; most samples need only the
# RSS bound (0.2 ms).
_INTERVAL = 0.2


def _run(command, env, interval=_INTERVAL):
    """Wall seconds, peak MiB, stages and ``(CPU seconds, samples read, samples)`` of the
    measurement itself, of one demo run in a child process.

    A sample reads the tree's PSS only when its RSS bound says it may exceed the peak of
    the samples read since the last message (``process_tree_pss(above=...)``); the first
    sample after a message is always read. Stages begin and end at messages, so a skipped
    sample lies in the stage of the samples that bounded it and changes no stage's peak,
    nor the first sample after a stage that holds none (which stands for that stage): the
    stages and the peak are those of reading every sample.
    """
    baseline = process_tree_pss()
    start, cpu = time.perf_counter(), time.process_time()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, bufsize=1)
    lines, samples = [], []
    # a message is stamped and stored in one step for the sampler (which sees every
    # message stamped before its sample's stamp)
    lock = threading.Lock()

    def read():
        for line in child.stderr:
            with lock:
                lines.append((time.perf_counter(), line.rstrip("\n")))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    seen, floor, tick, n_samples = 0, None, time.perf_counter(), 0
    while child.poll() is None:
        with lock:
            stamp, count = time.perf_counter(), len(lines)
            at_message = count and lines[-1][0] == stamp  # (in two stages)
        if count != seen or at_message:
            seen, floor = count, None
        pss = process_tree_pss(above=floor)
        n_samples += 1
        if pss is not None:
            samples.append((stamp, pss - baseline))
            floor = pss if floor is None else max(floor, pss)
        # on a fixed schedule: the time a sample takes does not lower the rate
        tick = max(tick + interval, time.perf_counter())  # (no burst after a stall)
        time.sleep(max(0.0, tick - time.perf_counter()))
    end, cpu = time.perf_counter(), time.process_time() - cpu
    reader.join()
    if child.returncode:
        sys.exit(f"the demo failed ({child.returncode}):\n" + "\n".join(t for _, t in lines))
    peak = max(pss for _, pss in samples) / 2**20 if samples else 0.0
    return (end - start, peak, _stages(lines, samples, start, end),
            (cpu, len(samples), n_samples))


def _print_run(name, run):
    wall, peak, stages, (cpu, n_read, n_samples) = run
    print(f"{name}: {wall:7.1f} s, peak PSS {peak:7.0f} MiB (the measurement read the PSS in "
          f"{n_read} of {n_samples} samples and took {cpu:.1f} s of CPU, "
          f"{100 * cpu / wall:.1f}% of a core)")
    for stage, seconds, stage_peak in stages:
        print(f"    {seconds:7.1f} s  {stage_peak:7.0f} MiB  {stage}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="small", choices=("tiny", "small", "paper"))
    parser.add_argument("--n-jobs", default="1")
    parser.add_argument("--runs", nargs="+", default=["first", "cached"],
                        choices=("first", "cached"))
    parser.add_argument("--data-home", help="reuse (and keep) this data home")
    parser.add_argument("--results", help="also write the last run's results.json here")
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child is not None:
        return _child(options.child)

    work = Path(tempfile.mkdtemp(prefix="skbrainmusic-demo-bench-"))
    data = Path(options.data_home) if options.data_home else work / "data"
    env = {**os.environ, "SKBRAINMUSIC_DATA": str(data), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, __file__, "--child", "demo", "--scale", options.scale,
               "--n-jobs", options.n_jobs]
    runs = {}
    try:
        for name in options.runs:
            runs[name] = _run([*command, "--out", str(work / name)], env)
        results = json.loads((work / options.runs[-1] / "results.json").read_text())
        if options.results:
            shutil.copyfile(work / options.runs[-1] / "results.json", options.results)
    finally:
        shutil.rmtree(work)
    print(f"scale {options.scale}, n_jobs {options.n_jobs}, {os.cpu_count()} CPUs, load "
          f"average {os.getloadavg()[0]:.2f}")
    titles = {"first": "first run (builds the study)", "cached": "cached study"}
    for name, run in runs.items():
        _print_run(titles[name], run)
    music = results["table1"]["librosa-10s"]["identification_test"]
    print(f"MuLan-music analog, test identification {music['mean']:.3f} +- {music['std']:.3f}")


if __name__ == "__main__":
    sys.exit(main())

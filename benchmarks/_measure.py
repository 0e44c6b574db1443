"""Timing and peak memory, measured the same way by every benchmark.

- :func:`best_time`: the best of ``repeats`` runs after a warm-up (wall-clock or CPU
  time). The machines we run on are shared, so the fastest run is the one least disturbed
  by others.
- :func:`timed`: one call's wall-clock and CPU seconds (of this process) and its result.
- :class:`PeakMemory`: the peak of the summed proportional set size (PSS) of this process
  and all its descendants (joblib/loky workers, a CLI run in a child process), sampled in
  a background thread every ``interval`` seconds (10 Hz by default). PSS splits shared
  pages (libraries, memory-mapped caches, copy-on-write after fork) between the processes
  that map them, so summing it over the workers never counts a page twice, unlike RSS.
  Sampling misses spikes shorter than the interval.

Benchmarks are scripts run from the repository root (``PYTHONPATH=. python
benchmarks/NAME.py``); the script's folder is on ``sys.path``, so ``from _measure import
...`` works.
"""

import threading
import time
from typing import Any, NamedTuple


def best_time(func, repeats=3, clock=time.perf_counter):
    """Best seconds of ``repeats`` calls of ``func()``, after one warm-up call.

    ``clock`` is wall-clock time by default; ``time.process_time`` gives CPU seconds of
    this process, which the load of other users does not change (with one thread).
    """
    func()
    times = []
    for _ in range(repeats):
        start = clock()
        func()
        times.append(clock() - start)
    return min(times)


class Timing(NamedTuple):
    wall: float
    cpu: float
    result: Any


def timed(func, *args, **kwargs):
    """``Timing(wall, cpu, result)`` of one call; ``cpu`` counts this process only."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = func(*args, **kwargs)
    return Timing(time.perf_counter() - wall, time.process_time() - cpu, result)


def process_tree_pss(process=None):
    """Summed PSS (bytes) of ``process`` (default: this one) and all its descendants."""
    import psutil

    process = process or psutil.Process()
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_full_info().pss
        except psutil.Error:  # a worker that exited between listing and reading
            pass
    return total


class PeakMemory:
    """Context manager: ``baseline`` (PSS on entry), ``peak`` and ``extra`` (peak minus
    baseline), in bytes, of this process tree.

    Parameters
    ----------
    interval : float, default=0.1
        Seconds between samples (at most 0.2: at least 5 samples a second).
    """

    def __init__(self, interval=0.1):
        if not 0 < interval <= 0.2:
            raise ValueError(f"interval={interval} s: sample at least 5 times a second.")
        self.interval = interval

    def __enter__(self):
        self.baseline = self.peak = process_tree_pss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, process_tree_pss())

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, process_tree_pss())
        return False

    @property
    def extra(self):
        return self.peak - self.baseline

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
  Sampling misses spikes shorter than the interval. A sample reads the PSS only when the
  tree's RSS (which bounds it) says it may exceed the peak so far (see
  :func:`process_tree_pss`), so that the sampler takes little CPU from what it measures.

Benchmarks are scripts run from the repository root (``PYTHONPATH=. python
benchmarks/NAME.py``); the script's folder is on ``sys.path``, so ``from _measure import
...`` works.
"""

import functools
import os
import platform
import re
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


# Bytes of a page, in the unit of /proc/PID/statm.
_PAGE = os.sysconf("SC_PAGE_SIZE")


@functools.lru_cache(maxsize=1)
def _kernel_version():
    """``(major, minor)`` of the running Linux kernel, (0, 0) when unknown."""
    found = re.match(r"(\d+)\.(\d+)", platform.release())
    return (int(found[1]), int(found[2])) if found else (0, 0)


def _rss_slack(n_threads):
    """Bytes by which ``/proc/PID/statm`` may report a process's resident pages short, so
    that RSS plus this bounds its PSS: Linux 6.2 and later keep the counts in per-CPU
    counters (3 of them, each up to ``max(32, 2 x CPUs)`` pages a CPU behind), earlier
    kernels in per-thread caches (up to 64 faults of up to 16 pages a thread)."""
    cpus = os.cpu_count() or 1
    slack = 3 * cpus * max(32, 2 * cpus) * _PAGE
    if _kernel_version() < (6, 2):
        slack += n_threads * 64 * 16 * _PAGE
    return slack + 2**20


@functools.lru_cache(maxsize=1)
def _check_proc():
    """Raise unless this system's ``/proc`` reports PSS (Linux 4.14 and later)."""
    if not os.path.exists(f"/proc/{os.getpid()}/smaps_rollup"):
        raise RuntimeError("Peak-memory readings need the PSS of /proc/PID/smaps_rollup "
                           "(Linux 4.14 and later).")


def _tree(pid):
    """``[(pid, number of threads)]`` of ``pid`` and its descendants, from
    ``/proc/PID/task/TID/children`` of every thread (which can start processes of its own,
    e.g. loky's manager thread); through psutil where the kernel does not list children
    there."""
    if not os.path.exists(f"/proc/{pid}/task/{pid}/children"):
        import psutil

        root = psutil.Process(pid)
        return [(member.pid, member.num_threads())
                for member in [root, *root.children(recursive=True)]]
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        try:
            threads = os.listdir(f"/proc/{current}/task")
        except FileNotFoundError:  # exited since it was listed
            continue
        found.append((current, len(threads)))
        for thread in threads:
            try:
                with open(f"/proc/{current}/task/{thread}/children") as children:
                    queue.extend(int(child) for child in children.read().split())
            except (FileNotFoundError, ProcessLookupError):
                pass
    return found


def _pss(pid):
    """PSS (bytes) of one process, 0 when it has exited."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as rollup:
            for line in rollup:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def _rss(pid):
    """RSS (bytes) of one process as statm counts it, 0 when it has exited."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (FileNotFoundError, ProcessLookupError):
        return 0


def process_tree_pss(pid=None, *, above=None):
    """Summed PSS (bytes) of process ``pid`` (default: this one) and all its descendants.

    With ``above`` (bytes), None instead when the sum is at most ``above``, known with as
    few PSS readings as possible: reading a process's PSS walks every page it maps (2-5 ms
    of CPU for each process of the paper-scale demo), while its RSS, which bounds its PSS
    (plus :func:`_rss_slack`), comes from counters (``/proc/PID/statm``). The bounds are
    replaced by readings, the smallest (cheapest) process first, until their sum is at
    most ``above`` or every process is read. A sampler after the peak passes the peak so
    far: a sample it skips could not have raised it.
    """
    _check_proc()
    members = _tree(os.getpid() if pid is None else pid)
    if above is None:
        return sum(_pss(p) for p, _ in members)
    bounds = sorted((_rss(p) + _rss_slack(threads), p) for p, threads in members)
    total = sum(bound for bound, _ in bounds)
    for bound, p in bounds:
        if total <= above:
            return None
        total += _pss(p) - bound
    return None if total <= above else total


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
            pss = process_tree_pss(above=self.peak)
            if pss is not None:
                self.peak = max(self.peak, pss)

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, process_tree_pss())
        return False

    @property
    def extra(self):
        return self.peak - self.baseline

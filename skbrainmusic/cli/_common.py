"""What every subcommand shares: user errors, progress, output folder, parallel context."""

import contextlib
import sys
import time
from pathlib import Path


class CLIError(Exception):
    """An error the user can fix; the CLI prints its message on one line and exits with 2."""


class Progress:
    """Step timings and a progress bar on stderr; silent when ``quiet``.

    The bar redraws in place on a terminal and prints one line per step otherwise, so logs
    of scripted runs stay readable.
    """

    def __init__(self, quiet=False, stream=None):
        self.quiet = quiet
        self.stream = sys.stderr if stream is None else stream
        self._start = time.perf_counter()

    def _write(self, text, end="\n"):
        if not self.quiet:
            self.stream.write(text + end)
            self.stream.flush()

    def elapsed(self):
        return time.perf_counter() - self._start

    def log(self, message):
        self._write(f"[{self.elapsed():7.1f} s] {message}")

    def track(self, items, description, total=None):
        """Yield ``items`` while drawing ``description [#####     ] k/n``."""
        total = len(items) if total is None else total
        interactive = hasattr(self.stream, "isatty") and self.stream.isatty()
        for index, item in enumerate(items):
            yield item
            done = index + 1
            filled = int(round(20 * done / max(total, 1)))
            bar = f"{description} [{'#' * filled}{' ' * (20 - filled)}] {done}/{total}"
            if interactive:
                self._write(f"\r[{self.elapsed():7.1f} s] {bar}", end="" if done < total else "\n")
            else:
                self._write(f"[{self.elapsed():7.1f} s] {bar}")


def prepare_out_dir(out):
    """Create ``out`` (and parents), new, empty or an earlier output of ours, writable; else
    raise :class:`CLIError` (see :mod:`skbrainmusic.cli._output`)."""
    from ._output import prepare_output  # _output imports CLIError from here

    return prepare_output(out)


def existing_path(path, option, *, kind="any"):
    """Return ``path`` as a Path if it exists (a folder for ``kind="dir"``), else CLIError."""
    path = Path(path).expanduser()
    if not path.exists():
        raise CLIError(f"{option} {path} does not exist.")
    if kind == "dir" and not path.is_dir():
        raise CLIError(f"{option} {path} is not a folder.")
    if kind == "file" and not path.is_file():
        raise CLIError(f"{option} {path} is not a file.")
    return path


def _stop_local_workers():
    """Stop joblib's local worker processes once the parallel work is done: idle, they keep
    their memory (a few hundred MB at the demo's scales) until loky's idle timeout, through
    the report writing that follows."""
    from joblib.externals.loky import get_reusable_executor

    # reuse=True returns the running executor as it is (no resizing), or an empty one
    get_reusable_executor(reuse=True).shutdown(wait=True)


@contextlib.contextmanager
def parallel_context(n_jobs, scheduler):
    """Joblib context: local workers, or the Dask cluster at ``scheduler`` (tcp://host:port).

    Every ``joblib.Parallel`` inside (subjects, ROIs, permutations) then runs on the
    cluster without code changes. On leaving a local context, joblib's local worker
    processes are stopped (the next parallel work starts new ones).
    """
    import joblib

    if scheduler is None:
        try:
            with joblib.parallel_config(n_jobs=n_jobs):
                yield
        finally:
            _stop_local_workers()
        return
    try:
        from dask.distributed import Client
    except ImportError as exc:
        raise CLIError(
            "--scheduler needs dask.distributed: pip install 'skbrainmusic[distributed]'."
        ) from exc
    try:
        # A short timeout: a wrong address should fail in seconds, not hang the run.
        client = Client(scheduler, timeout="5s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise CLIError(f"cannot reach the Dask scheduler at {scheduler}: "
                       f"{str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r}."
                       ) from exc
    try:
        with joblib.parallel_config(backend="dask", client=client, wait_for_workers_timeout=30):
            yield
    finally:
        client.close()

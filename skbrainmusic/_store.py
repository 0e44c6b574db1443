"""On-disk stores: atomic writes, a lock between processes, checksums, rebuild of bad entries.

Every file skbrainmusic writes to disk goes through :func:`atomic_write` (a temporary file in
the same folder, renamed over the destination once complete: a reader never sees half a
file, and a symbolic link at the destination is replaced, never written through). Two kinds
of cache entries sit on top of it:

- :class:`FolderEntry`: a folder of files written together (the synthetic study). The files
  are written into a private temporary folder; :meth:`FolderEntry.commit` records their sizes
  and CRC-32 in ``meta.json`` and renames the folder into place. Builders of the same entry
  in several processes take turns through a file lock (:mod:`filelock`), so the entry is
  built once and every process ends with the same, complete entry.
- :func:`save_array` / :func:`load_array`: single arrays (the embedding cache) in ``.npy``
  files followed by a CRC-32 of their bytes (``np.load`` still reads them; the trailer is
  checked on every read by :func:`load_array`). :func:`save_array_blocks` writes the same
  format block by block (arrays larger than memory) and :func:`open_array` maps such a file
  read-only instead of reading it (the corpus store).

A missing entry is a miss; an entry that does not match its checksums (truncated, edited,
half-deleted) is reported with a :class:`RuntimeWarning` naming its path, and the caller
rebuilds it.
"""

import contextlib
import functools
import io
import json
import os
import shutil
import struct
import time
import uuid
import warnings
import zlib
from pathlib import Path

import numpy as np

__all__ = [
    "FolderEntry",
    "atomic_write",
    "checked_crc32",
    "file_crc32",
    "file_stamp",
    "load_array",
    "map_array",
    "mapped_file",
    "open_array",
    "save_array",
    "save_array_blocks",
    "settled_stamp",
]

_META = "meta.json"
_CHUNK = 1 << 24
# save_array's trailer: this tag, then the CRC-32 of every byte before the tag (uint32 LE).
_TRAILER_TAG = b"\x00skbrainmusic-crc32"
_TRAILER = struct.Struct("<I")


# Files whose CRC-32 this process has computed, by path, with the stat fields that any write
# changes: a file read again unchanged (a cached study loaded by every subject's task) is not
# re-read to be checked (1.9 GB a subject at paper scale).
_CHECKED = {}
# A file modified less than this long before it was checked is never remembered: a write in
# the same clock tick as the check could leave its times unchanged (git's "racily clean").
_SETTLE_NS = 2_000_000_000


def file_stamp(path):
    """The stat fields of ``path`` that any write changes: size, modification and change
    times, inode, device."""
    status = os.stat(path)
    return (status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino,
            status.st_dev)


def settled_stamp(path):
    """:func:`file_stamp` of ``path``, or None when the file was modified too recently for
    its stamp to prove its content unchanged later: something computed from the file after
    this call still holds while :func:`file_stamp` (read again after the computation)
    equals it."""
    stamp = file_stamp(path)
    if time.time_ns() - max(stamp[1], stamp[2]) <= _SETTLE_NS:
        return None
    return stamp


def map_array(path):
    """``np.load(path, mmap_mode="r")`` with the file's :func:`file_stamp` recorded on the
    returned memmap as ``mapped_stamp`` (None when the file changed while it was being
    mapped), so that :func:`mapped_file` can later tell whether the bytes of its views are
    still those of the file at ``path``."""
    before = file_stamp(path)
    array = np.load(path, mmap_mode="r", allow_pickle=False)
    if isinstance(array, np.memmap):
        array.mapped_stamp = before if file_stamp(path) == before else None
    return array


def mapped_file(view):
    """``(path, byte position, stamp)`` of an array whose bytes are a view of a read-only
    memmap of the file at its path: the file, where the view's first byte lies in it, and
    the file's stamp when it was mapped; None for any other array.

    A memmap made by :func:`map_array` carries the stamp recorded when it was mapped. Of
    another read-only memmap (e.g. the copy of a mapped corpus that joblib maps again in a
    worker), the stamp is taken the first time it is asked for, and only when the
    process's memory map (``/proc/self/maps``, Linux) shows that its bytes are a shared
    mapping of the very file now at its path (same device, inode and position), and the
    file has not changed since before this process started (so the mapping, made since,
    holds the file's present bytes even where an older mapping would not, e.g. on
    overlayfs after a copy-up); elsewhere, None.

    The bytes are the file's at ``path`` for as long as :func:`file_stamp` of ``path`` still
    equals ``stamp`` (same inode, size and times: a file replaced under the path, or written
    through the file system, changes it). Not covered: writes through another process's
    shared writable mapping, whose times the kernel may update late.
    """
    root = view
    while isinstance(root.base, np.ndarray):
        root = root.base
    if not isinstance(root, np.memmap) or root.mode != "r":
        return None
    if not hasattr(root, "mapped_stamp"):
        root.mapped_stamp = _mapping_stamp(root)
    stamp = root.mapped_stamp
    if stamp is None:
        return None
    start = root.__array_interface__["data"][0]
    return (os.fspath(root.filename),
            root.offset + view.__array_interface__["data"][0] - start, stamp)


@functools.lru_cache(maxsize=1)
def _process_start_ns():
    """Wall-clock time (ns) at which this process started, from ``/proc`` (Linux); None
    elsewhere. The boot time ``/proc/stat`` gives is truncated to the second, so this is
    up to a second early."""
    try:
        with open("/proc/self/stat", "rb") as stat:
            # the fields after "(command)": state is field 3, start time field 22
            start_ticks = int(stat.read().rsplit(b")", 1)[1].split()[19])
        with open("/proc/stat", "rb") as system:
            boot = next(int(line.split()[1]) for line in system if line.startswith(b"btime"))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return boot * 10**9 + start_ticks * 10**9 // os.sysconf("SC_CLK_TCK")


def _mapping_stamp(memmap):
    """:func:`file_stamp` of the file at ``memmap.filename`` when ``/proc/self/maps`` shows
    that the memmap's bytes are a shared mapping of that file at the memmap's position
    (same device and inode, unchanged while checked) and the file was last changed
    :data:`_SETTLE_NS` before this process started, else None."""
    try:
        path = os.fspath(memmap.filename)
        before = file_stamp(path)
        started = _process_start_ns()
        if started is None or max(before[1], before[2]) >= started - _SETTLE_NS:
            return None
        address = memmap.__array_interface__["data"][0]
        with open("/proc/self/maps", "rb") as maps:
            for line in maps:
                # start-end perms offset major:minor inode [path]
                fields = line.split(maxsplit=5)
                start, end = (int(bound, 16) for bound in fields[0].split(b"-"))
                if start <= address < end:
                    major, minor = (int(number, 16) for number in fields[3].split(b":"))
                    same = (fields[1][3:4] == b"s"
                            and int(fields[2], 16) + address - start == memmap.offset
                            and int(fields[4]) == before[3] and major == os.major(before[4])
                            and minor == os.minor(before[4]))
                    return before if same and file_stamp(path) == before else None
    except (OSError, TypeError, ValueError, IndexError):  # (a memmap of no named file)
        pass
    return None


def checked_crc32(path):
    """:func:`file_crc32` of the whole file ``path``, computed once per process while the
    file's size, modification and change times and inode stay the same."""
    key = os.path.abspath(path)
    remembered = _CHECKED.get(key)
    if remembered is not None and remembered[0] == file_stamp(path):
        return remembered[1]
    before = settled_stamp(path)
    crc = file_crc32(path)
    if before is not None and file_stamp(path) == before:
        _CHECKED[key] = (before, crc)
    return crc


def file_crc32(path, size=None):
    """CRC-32 of the bytes of ``path`` (read in 16 MiB chunks); only the first ``size``
    bytes when ``size`` is given."""
    crc = 0
    remaining = float("inf") if size is None else size
    # one buffer read into again and again: a new 16 MiB bytes object per chunk costs its
    # allocation and page faults (a third of the time on a cached study's 1.9 GB)
    buffer = memoryview(bytearray(_CHUNK))
    with open(path, "rb", buffering=0) as stream:
        while remaining > 0 and (count := stream.readinto(buffer[:int(min(_CHUNK,
                                                                           remaining))])):
            crc = zlib.crc32(buffer[:count], crc)
            remaining -= count
    return crc


def _writable_error(folder, exc):
    return PermissionError(
        f"cannot write to {folder} ({exc.strerror or exc}): give a writable folder "
        "(data_home=... / --data-home, or the SKBRAINMUSIC_DATA variable)."
    )


def atomic_write(path, writer):
    """Write ``path`` through ``writer(temporary_path)``, then rename it into place.

    The temporary file lies in the destination's folder (the rename is atomic there) and its
    name ends with the destination's name, so writers that choose a format from the
    extension (``soundfile``, ``matplotlib``, ``nibabel``) see the right one. The complete
    file is flushed to disk before the rename; on error it is removed and the destination
    is untouched. A symbolic link at ``path`` is replaced by the file, never followed.

    Parameters
    ----------
    path : str or path-like
        Destination; its folder must exist.
    writer : callable
        ``writer(temporary_path)`` writes the whole content to the given path.

    Returns
    -------
    path : pathlib.Path
    """
    path = Path(path)
    temporary = path.with_name(f".tmp-{uuid.uuid4().hex[:12]}-{path.name}")
    try:
        # O_EXCL: a new file of ours, never an existing one or a link; mode 0o666 lets the
        # umask decide the permissions, as for any file the user creates.
        os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except PermissionError as exc:
        raise _writable_error(path.parent, exc) from exc
    try:
        writer(Path(temporary))
        with open(temporary, "rb+") as stream:
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return path


def save_array(path, array):
    """Store ``array`` in the ``.npy`` file ``path`` atomically, followed by its CRC-32.

    ``np.load`` reads the file as usual (it stops after the array's bytes);
    :func:`load_array` also checks the trailer.

    Parameters
    ----------
    path : str or path-like
        Destination, ending with ``.npy``.
    array : array-like
        The array (no object dtype).
    """
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    body = buffer.getvalue()
    content = body + _TRAILER_TAG + _TRAILER.pack(zlib.crc32(body))
    return atomic_write(path, lambda temporary: temporary.write_bytes(content))


def save_array_blocks(path, blocks, *, shape, dtype):
    """Store the rows of ``blocks`` as one ``.npy`` array, atomically, with a CRC-32 trailer.

    The file has the format of :func:`save_array`, but the array is never held whole: the
    blocks are written one after the other (e.g. batches of a corpus read from disk).

    Parameters
    ----------
    path : str or path-like
        Destination, ending with ``.npy``.
    blocks : iterable of ndarray
        Consecutive row blocks ``(n_rows_i, *shape[1:])`` whose rows add up to ``shape[0]``;
        converted to ``dtype`` (no object dtype).
    shape : tuple of int
        Shape of the whole array.
    dtype : dtype
        Its dtype.

    Returns
    -------
    path : pathlib.Path
    """
    dtype = np.dtype(dtype)
    shape = tuple(int(n) for n in shape)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {
        "descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape})

    def writer(temporary):
        crc, n_rows = zlib.crc32(header.getvalue()), 0
        with open(temporary, "wb") as stream:
            stream.write(header.getvalue())
            for block in blocks:
                block = np.ascontiguousarray(block, dtype=dtype)
                if block.shape[1:] != shape[1:] or n_rows + block.shape[0] > shape[0]:
                    raise ValueError(f"block of shape {block.shape} does not fit rows "
                                     f"{n_rows}.. of an array of shape {shape}.")
                data = block.data.cast("B")
                crc = zlib.crc32(data, crc)
                stream.write(data)
                n_rows += block.shape[0]
            if n_rows != shape[0]:
                raise ValueError(f"the blocks hold {n_rows} rows, not the {shape[0]} of {shape}.")
            stream.write(_TRAILER_TAG + _TRAILER.pack(crc))

    return atomic_write(path, writer)


def open_array(path, *, verify=True):
    """Read-only :class:`numpy.memmap` of an array stored by :func:`save_array` or
    :func:`save_array_blocks` (nothing is read into memory but the header).

    Parameters
    ----------
    path : str or path-like
    verify : bool, default=True
        Check the CRC-32 trailer first (the file is read once, in 16 MiB chunks).

    Returns
    -------
    array : numpy.memmap

    Raises
    ------
    ValueError
        When the file does not match its checksum (naming it); ``FileNotFoundError`` when
        it is absent.
    """
    path = Path(path)
    size = path.stat().st_size
    end = size - _TRAILER.size - len(_TRAILER_TAG)
    try:
        if verify:
            with open(path, "rb") as stream:
                stream.seek(max(end, 0))
                trailer = stream.read()
            if end < 0 or trailer[: len(_TRAILER_TAG)] != _TRAILER_TAG:
                raise ValueError("no checksum trailer: truncated, or not written by skbrainmusic")
            (recorded,) = _TRAILER.unpack(trailer[len(_TRAILER_TAG):])
            if file_crc32(path, end) != recorded:
                raise ValueError("its bytes do not match their CRC-32")
        array = map_array(path)
    except ValueError as exc:
        raise ValueError(f"The stored array {path} is corrupt ({exc}).") from exc
    if not isinstance(array, np.memmap) or array.nbytes > max(end, 0):
        raise ValueError(f"The stored array {path} is corrupt (not a single mappable array).")
    return array


def load_array(path):
    """The array stored by :func:`save_array` in ``path``; ``None`` when absent or bad.

    A file whose bytes do not match its CRC-32 trailer (truncated, edited, or written by
    something else than :func:`save_array`) is reported with a ``RuntimeWarning`` naming
    it, and ``None`` is returned so that the caller rebuilds it.
    """
    path = Path(path)
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        return None
    end = len(content) - _TRAILER.size
    body = content[: end - len(_TRAILER_TAG)]
    try:
        if end < len(_TRAILER_TAG) or content[len(body): end] != _TRAILER_TAG:
            raise ValueError("no checksum trailer: truncated, or not written by skbrainmusic")
        (recorded,) = _TRAILER.unpack(content[end:])
        if zlib.crc32(body) != recorded:
            raise ValueError("its bytes do not match their CRC-32")
        return np.load(io.BytesIO(body), allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        warnings.warn(f"The cache file {path} is corrupt ({exc}); rebuilding it.",
                      RuntimeWarning, stacklevel=2)
        return None


class FolderEntry:
    """A cache entry made of the files of one folder, written together and checksummed.

    Parameters
    ----------
    folder : str or path-like
        Where the complete entry lives. Its parent holds the lock file
        (``.<name>.lock``) and the temporary folders of builds in progress.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> from skbrainmusic._store import FolderEntry
    >>> entry = FolderEntry(Path(tempfile.mkdtemp()) / "entry")
    >>> with entry.lock():
    ...     building = entry.new_folder()
    ...     np.save(building / "x.npy", np.arange(3))
    ...     entry.commit(building)
    >>> sorted(entry.verified_files())
    ['x.npy']
    """

    def __init__(self, folder):
        self.folder = Path(folder)

    @contextlib.contextmanager
    def lock(self):
        """Hold the entry's inter-process lock (waits while another process holds it)."""
        from filelock import FileLock

        parent = self.folder.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            lock = FileLock(parent / f".{self.folder.name}.lock")
            lock.acquire()
        except PermissionError as exc:
            raise _writable_error(parent, exc) from exc
        try:
            yield
        finally:
            lock.release()

    def new_folder(self):
        """A new, empty temporary folder beside the entry, for a build to fill."""
        temporary = self.folder.with_name(f".{self.folder.name}.{uuid.uuid4().hex}.tmp")
        try:
            temporary.mkdir(parents=True)
        except PermissionError as exc:
            raise _writable_error(self.folder.parent, exc) from exc
        return temporary

    def commit(self, building):
        """Checksum the files of ``building`` and make it the entry (hold :meth:`lock`).

        ``meta.json`` (every file's size and CRC-32) is written last and the folder renamed
        into place; a previous, bad entry is moved aside first and then deleted.
        """
        building = Path(building)
        files = {
            path.name: {"size": path.stat().st_size, "crc32": file_crc32(path)}
            for path in sorted(building.iterdir())
        }
        atomic_write(building / _META,
                     lambda temporary: temporary.write_text(json.dumps({"files": files})))
        replaced = None
        if self.folder.exists():
            replaced = self.folder.with_name(f".{self.folder.name}.{uuid.uuid4().hex}.old")
            self.folder.rename(replaced)
        building.rename(self.folder)
        if replaced is not None:
            shutil.rmtree(replaced, ignore_errors=True)

    def verified_files(self, *, warn=True):
        """Names of the entry's files if they all match ``meta.json``, else ``None``.

        ``None`` without a warning when there is no entry; with a ``RuntimeWarning`` naming
        the folder (when ``warn``) when it is incomplete or does not match its checksums.
        A file this process has already checked is not read again while its size, times
        and inode are unchanged (:func:`checked_crc32`).
        """
        meta = self.folder / _META
        if not meta.exists():
            return None
        try:
            files = json.loads(meta.read_text())["files"]
            for name, info in files.items():
                path = self.folder / name
                if path.stat().st_size != info["size"] or checked_crc32(path) != info["crc32"]:
                    raise ValueError(f"{name} does not match its recorded size and checksum")
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            self.report_corrupt(exc, warn=warn)
            return None
        return list(files)

    def report_corrupt(self, reason, *, warn=True):
        """Warn that the entry is corrupt and will be rebuilt (nothing when not ``warn``)."""
        if warn:
            warnings.warn(f"The cache in {self.folder} is corrupt ({reason}); rebuilding it.",
                          RuntimeWarning, stacklevel=3)

"""Data home and an on-disk cache of generated arrays, checked before every use.

The cache entries are :class:`skbrainmusic._store.FolderEntry` folders: built once under a
lock shared by every process, checksummed, and rebuilt with a warning when corrupt.
"""

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from .._store import FolderEntry, atomic_write, map_array

_OBJECTS = "objects.json"


def get_data_home(data_home=None):
    """Return the folder where skbrainmusic stores data sets and caches, creating it.

    Like :func:`sklearn.datasets.get_data_home`: ``data_home`` if given, else the
    ``SKBRAINMUSIC_DATA`` environment variable, else ``~/skbrainmusic_data``.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder to use instead of the default.

    Returns
    -------
    data_home : pathlib.Path
        The (existing) folder.

    Examples
    --------
    >>> import tempfile
    >>> from skbrainmusic.datasets import get_data_home
    >>> get_data_home(tempfile.mkdtemp()).is_dir()
    True
    """
    if data_home is None:
        data_home = os.environ.get("SKBRAINMUSIC_DATA", Path("~") / "skbrainmusic_data")
    if not str(data_home).strip():
        raise ValueError("data_home is an empty path; give a folder (or None for the default).")
    path = Path(data_home).expanduser()
    for parent in (path, *path.parents):
        if parent.exists():
            if not parent.is_dir():
                raise NotADirectoryError(
                    f"data_home {path} cannot be a folder: {parent} is a file. Give a folder.")
            break
    try:
        path.mkdir(parents=True, exist_ok=True)
    except PermissionError as exc:
        raise PermissionError(
            f"cannot create the data folder {path} ({exc.strerror or exc}): give a writable "
            "folder (data_home=... / --data-home, or the SKBRAINMUSIC_DATA variable)."
        ) from exc
    return path


def cache_key(params):
    """Stable short hash of a JSON-serialisable parameter dict."""
    text = json.dumps(params, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _frame_to_json(frame):
    return {"columns": list(frame.columns), "records": frame.to_dict(orient="list")}


def _frame_from_json(data):
    return pd.DataFrame(data["records"], columns=data["columns"])


class _Store:
    """Collects a build's arrays and objects in memory (the ``cache=False`` path)."""

    def __init__(self):
        self.arrays = {}
        self.objects = {}

    def empty(self, name, shape, dtype=np.float32):
        """A new array ``name`` of ``shape`` to be filled by the caller."""
        self.arrays[name] = np.empty(shape, dtype)
        return self.arrays[name]

    def put(self, name, array):
        self.arrays[name] = np.asarray(array)


class _DiskStore(_Store):
    """Writes a build's arrays straight to ``.npy`` files in the entry's temporary folder.

    Large arrays are memory-mapped files from the start, so a paper-scale build never
    holds every array in memory. :meth:`finish` flushes them and writes the objects;
    :meth:`FolderEntry.commit` then checksums and renames the folder into place.
    """

    def __init__(self, folder):
        super().__init__()
        self.tmp = Path(folder)

    def empty(self, name, shape, dtype=np.float32):
        path = self.tmp / f"{name}.npy"
        self.arrays[name] = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
        return self.arrays[name]

    def put(self, name, array):
        np.save(self.tmp / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)

    def finish(self):
        for array in self.arrays.values():
            if isinstance(array, np.memmap):
                array.flush()
        self.arrays.clear()
        encoded = {
            name: {"frame": _frame_to_json(value)} if isinstance(value, pd.DataFrame)
            else {"value": value}
            for name, value in self.objects.items()
        }
        text = json.dumps(encoded, default=_json_default)
        atomic_write(self.tmp / _OBJECTS, lambda temporary: temporary.write_text(text))

    def discard(self):
        self.arrays.clear()
        if self.tmp.exists():
            shutil.rmtree(self.tmp)


def _json_default(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in the cache")


def load_cache(folder, *, warn=True):
    """Read a cache written by :func:`cached`; ``None`` when absent or corrupt.

    Arrays come back memory-mapped read-only. A cache whose files are missing, have
    another size or checksum, or do not parse is reported with a warning (when ``warn``)
    and ``None`` is returned, so that the caller rebuilds it.
    """
    entry = FolderEntry(folder)
    files = entry.verified_files(warn=warn)
    if files is None:
        return None
    try:
        arrays = {
            name[: -len(".npy")]: map_array(entry.folder / name)
            for name in files
            if name.endswith(".npy")
        }
        encoded = json.loads((entry.folder / _OBJECTS).read_text())
        objects = {
            name: _frame_from_json(item["frame"]) if "frame" in item else item["value"]
            for name, item in encoded.items()
        }
    except (OSError, ValueError, KeyError, TypeError) as exc:
        entry.report_corrupt(exc, warn=warn)
        return None
    return arrays, objects


def cached(folder, build, cache=True):
    """Run ``build(store)`` through the cache folder; return ``(arrays, objects)``.

    ``build`` receives a store with ``empty(name, shape, dtype)`` (a new array to fill),
    ``put(name, array)`` and an ``objects`` dict (JSON-able values or DataFrames). With
    ``cache``, a complete cache in ``folder`` is returned without building (arrays
    memory-mapped read-only), else the build is written there first. Processes that need
    the same missing entry take turns: the first builds it, the others then read it.
    """
    if not cache:
        store = _Store()
        build(store)
        return store.arrays, store.objects
    # A complete entry is never modified in place, so it can be read without the lock; a
    # failed read is redone under the lock (another process may be replacing the entry).
    loaded = load_cache(folder, warn=False)
    if loaded is not None:
        return loaded
    entry = FolderEntry(folder)
    with entry.lock():
        loaded = load_cache(folder)
        if loaded is not None:
            return loaded
        store = _DiskStore(entry.new_folder())
        try:
            build(store)
            store.finish()
            entry.commit(store.tmp)
        finally:
            store.discard()
        loaded = load_cache(folder)
    if loaded is None:
        raise OSError(f"The cache just written to {folder} cannot be read back.")
    return loaded

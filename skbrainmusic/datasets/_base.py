"""Data home and an on-disk cache of generated arrays, checked before every use."""

import hashlib
import json
import os
import shutil
import uuid
import warnings
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

_META = "meta.json"
_OBJECTS = "objects.json"
_CHUNK = 1 << 24


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
    path = Path(data_home).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_key(params):
    """Stable short hash of a JSON-serialisable parameter dict."""
    text = json.dumps(params, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _crc32(path):
    crc = 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
    return crc


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
    """Writes a build's arrays straight to ``.npy`` files in a temporary folder.

    Large arrays are memory-mapped files from the start, so a paper-scale build never
    holds every array in memory. :meth:`commit` checksums every file, writes
    ``meta.json`` last and renames the folder into place: a half-written cache is never
    mistaken for a complete one.
    """

    def __init__(self, folder):
        super().__init__()
        self.folder = Path(folder)
        self.tmp = self.folder.with_name(f".{self.folder.name}.{uuid.uuid4().hex}.tmp")
        self.tmp.mkdir(parents=True)

    def empty(self, name, shape, dtype=np.float32):
        path = self.tmp / f"{name}.npy"
        self.arrays[name] = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
        return self.arrays[name]

    def put(self, name, array):
        np.save(self.tmp / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)

    def commit(self):
        for array in self.arrays.values():
            if isinstance(array, np.memmap):
                array.flush()
        self.arrays.clear()
        encoded = {
            name: {"frame": _frame_to_json(value)} if isinstance(value, pd.DataFrame)
            else {"value": value}
            for name, value in self.objects.items()
        }
        (self.tmp / _OBJECTS).write_text(json.dumps(encoded, default=_json_default))
        files = {
            path.name: {"size": path.stat().st_size, "crc32": _crc32(path)}
            for path in self.tmp.iterdir()
        }
        (self.tmp / _META).write_text(json.dumps({"files": files}))
        if self.folder.exists():
            shutil.rmtree(self.folder)
        self.tmp.rename(self.folder)

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


def load_cache(folder):
    """Read a cache written by :func:`save_cache`; ``None`` when absent or corrupt.

    Arrays come back memory-mapped read-only. A cache whose files are missing, have
    another size or checksum, or do not parse is reported with a warning and ``None`` is
    returned, so that the caller rebuilds it.
    """
    folder = Path(folder)
    meta_path = folder / _META
    if not meta_path.exists():
        return None
    try:
        files = json.loads(meta_path.read_text())["files"]
        for name, info in files.items():
            path = folder / name
            if path.stat().st_size != info["size"] or _crc32(path) != info["crc32"]:
                raise ValueError(f"{name} does not match its recorded size and checksum")
        arrays = {
            name[: -len(".npy")]: np.load(folder / name, mmap_mode="r", allow_pickle=False)
            for name in files
            if name.endswith(".npy")
        }
        encoded = json.loads((folder / _OBJECTS).read_text())
        objects = {
            name: _frame_from_json(item["frame"]) if "frame" in item else item["value"]
            for name, item in encoded.items()
        }
    except (OSError, ValueError, KeyError, TypeError) as exc:
        warnings.warn(
            f"The cache in {folder} is corrupt ({exc}); rebuilding it.", RuntimeWarning,
            stacklevel=3,
        )
        return None
    return arrays, objects


def cached(folder, build, cache=True):
    """Run ``build(store)`` through the cache folder; return ``(arrays, objects)``.

    ``build`` receives a store with ``empty(name, shape, dtype)`` (a new array to fill),
    ``put(name, array)`` and an ``objects`` dict (JSON-able values or DataFrames). With
    ``cache``, a complete cache in ``folder`` is returned without building (arrays
    memory-mapped read-only), else the build is written there first.
    """
    if not cache:
        store = _Store()
        build(store)
        return store.arrays, store.objects
    loaded = load_cache(folder)
    if loaded is not None:
        return loaded
    store = _DiskStore(folder)
    try:
        build(store)
        store.commit()
    finally:
        store.discard()
    loaded = load_cache(folder)
    if loaded is None:
        raise OSError(f"The cache just written to {folder} cannot be read back.")
    return loaded

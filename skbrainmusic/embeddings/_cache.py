"""On-disk cache of clip embeddings, keyed by the audio's content and the embedding settings.

Embedding a corpus of 100k tracks with a deep model takes hours, and the same corpus is
embedded again by every analysis. One ``.npy`` file per clip lives under
``<directory>/<key[:2]>/<key>.npy``; the key is the SHA-256 of the settings (backend, window
geometry, model fingerprint, layer ...), the clip's sample rate and length and the SHA-256
of its samples, so any change of audio or settings is a miss, never a stale hit. The
samples' hash serves every cache (embeddings of several backends, musical attributes):
for a clip read from a read-only memory-mapped file (a cached study's or corpus' audio) it
is computed once per process while the file is unchanged (:func:`clip_digest`), which
spares hashing a 2,000-clip corpus' 2.6 GB again for each of the caches that read it.
Files are written atomically and checked against their CRC-32 when read
(:mod:`skbrainmusic._store`): a truncated or edited file is reported with a warning naming
it and the clip is embedded again.
"""

import hashlib
import json
import mmap
import os
from pathlib import Path

import numpy as np

from .._store import file_stamp, load_array, save_array, settled_stamp

# Bump when the keys or the stored embeddings of an unchanged backend would change meaning.
# Format 2: .npy files with a CRC-32 trailer (format 1 had no checksum; its files are never
# read). Format 3: keys hash the samples' SHA-256 instead of the samples.
_CACHE_FORMAT = 3

# SHA-256 of clips read from read-only memory-mapped files: {path: (stamp, {(byte position,
# length): digest})}, a file's digests dropped when its stamp changes, all of them when they
# number _MAX_DIGESTS (about 250 bytes each).
_DIGESTS = {}
_MAX_DIGESTS = 2**17


def _mapped_position(clip):
    """``(path, byte position)`` of a contiguous float32 clip that is a view of a read-only
    memory-mapped file (``np.load(..., mmap_mode="r")``), else None."""
    if (clip.dtype != np.float32 or clip.ndim != 1 or not clip.flags.c_contiguous
            or clip.flags.writeable):
        return None
    root = clip
    while isinstance(root.base, np.ndarray):
        root = root.base
    if (not isinstance(root, np.memmap) or root.mode != "r" or root.filename is None
            or not isinstance(root.base, mmap.mmap)):
        return None
    start = root.__array_interface__["data"][0]
    return os.fspath(root.filename), root.offset + clip.__array_interface__["data"][0] - start


def clip_digest(clip):
    """SHA-256 of a clip's float32 samples (hashed from the array's own buffer when it is
    float32 and contiguous).

    Remembered in this process for a clip read from a read-only memory-mapped file, while
    the file's size, times and inode stay the same (:func:`~skbrainmusic._store.file_stamp`,
    checked at every call); a file modified in the last seconds is not remembered."""
    position = _mapped_position(clip)
    remembered = None
    if position is not None:
        path, where = position
        stamp = file_stamp(path)
        stamp_and_digests = _DIGESTS.get(path)
        if stamp_and_digests is not None and stamp_and_digests[0] == stamp:
            found = stamp_and_digests[1].get((where, clip.size))
            if found is not None:
                return found
        if settled_stamp(path) == stamp:
            remembered = stamp
    digest = hashlib.sha256(np.ascontiguousarray(clip, dtype=np.float32)).digest()
    if remembered is not None and file_stamp(path) == remembered:
        if sum(len(digests) for _, digests in _DIGESTS.values()) >= _MAX_DIGESTS:
            _DIGESTS.clear()
        if _DIGESTS.get(path, (None,))[0] != remembered:
            _DIGESTS[path] = (remembered, {})
        _DIGESTS[path][1][where, clip.size] = digest
    return digest


class EmbeddingCache:
    """Directory of cached per-clip arrays (``(n_windows, d)`` float32 embeddings by
    default), one file per clip.

    Any per-clip array computed from audio fits (the generator's musical attributes are
    cached as float64 vectors), under settings of its own.

    Parameters
    ----------
    directory : str or path-like
        Where the files live; created when missing.
    settings : dict
        JSON-serialisable description of everything besides the audio that determines the
        embedding.
    dtype : data-type, default=np.float32
        Type the arrays are stored as.
    """

    def __init__(self, directory, settings, *, dtype=np.float32):
        self.directory = Path(directory)
        self.dtype = np.dtype(dtype)
        self.directory.mkdir(parents=True, exist_ok=True)
        payload = json.dumps({"format": _CACHE_FORMAT, **settings}, sort_keys=True)
        self._settings_digest = hashlib.sha256(payload.encode()).digest()

    def key(self, clip, sample_rate):
        """Hex key of one clip: its samples ``(n_samples,)`` float32 (through
        :func:`clip_digest`) and ``sample_rate``."""
        digest = hashlib.sha256(self._settings_digest)
        digest.update(f"{int(sample_rate)}:{clip.shape[0]}:".encode())
        digest.update(clip_digest(clip))
        return digest.hexdigest()

    def _path(self, key):
        return self.directory / key[:2] / f"{key}.npy"

    def load(self, key):
        """The cached array of ``key`` (an embedding ``(n_windows, d)``), or ``None`` on a
        miss.

        A corrupt file is a miss too, reported with a ``RuntimeWarning`` naming it (the
        embedding computed next replaces it).
        """
        return load_array(self._path(key))

    def save(self, key, embedding):
        """Store ``embedding`` under ``key`` atomically (concurrent writers never see halves)."""
        path = self._path(key)
        path.parent.mkdir(exist_ok=True)
        save_array(path, np.asarray(embedding, dtype=self.dtype))

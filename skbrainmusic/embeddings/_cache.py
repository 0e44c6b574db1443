"""On-disk cache of clip embeddings, keyed by the audio's content and the embedding settings.

Embedding a corpus of 100k tracks with a deep model takes hours, and the same corpus is
embedded again by every analysis. One ``.npy`` file per clip lives under
``<directory>/<key[:2]>/<key>.npy``; the key is the SHA-256 of the settings (backend, window
geometry, model fingerprint, layer ...), the clip's sample rate and length and the SHA-256
of its samples, so any change of audio or settings is a miss, never a stale hit. The
samples' hash serves every cache (embeddings of several backends, musical attributes):
for a clip read from a memory-mapped file (a cached study's or corpus' audio, also as
joblib maps it again in its workers) it is computed once per process while the file is
unchanged (:func:`clip_digest`), which spares hashing a 2,000-clip corpus' 2.6 GB again
for each of the caches that read it.
Files are written atomically and checked against their CRC-32 when read
(:mod:`skbrainmusic._store`): a truncated or edited file is reported with a warning naming
it and the clip is embedded again.
"""

import hashlib
import json
import threading
from pathlib import Path

import numpy as np

from .._store import file_stamp, load_array, mapped_file, save_array, settled_stamp

# Bump when the keys or the stored embeddings of an unchanged backend would change meaning.
# Format 2: .npy files with a CRC-32 trailer (format 1 had no checksum; its files are never
# read). Format 3: keys hash the samples' SHA-256 instead of the samples.
_CACHE_FORMAT = 3

# SHA-256 of clips read from memory-mapped files (_store.mapped_file): {path: (stamp, {(byte
# position, length): digest})}, a file's digests dropped when its stamp changes, all of them
# when they number _MAX_DIGESTS (about 250 bytes each).
_DIGESTS = {}
_MAX_DIGESTS = 2**17
_DIGESTS_LOCK = threading.Lock()
_sha256 = hashlib.sha256


def clip_digest(clip):
    """SHA-256 of a clip's float32 samples (hashed from the array's own buffer when it is
    float32 and contiguous).

    Remembered in this process for a contiguous float32 clip read from a read-only memory
    map of a file (a cached study's or corpus' audio, mapped by
    :func:`~skbrainmusic._store.map_array` or, on Linux, by other means such as joblib's
    workers) while the file at its path is the one mapped, unchanged
    (:func:`~skbrainmusic._store.mapped_file`, checked at every call); a file modified in
    the last seconds is not remembered."""
    found = None
    if clip.dtype == np.float32 and clip.ndim == 1 and clip.flags.c_contiguous:
        found = mapped_file(clip)
    if found is not None:
        path, position, stamp = found
        where = (position, clip.size)
        try:
            current = file_stamp(path)
        except OSError:  # removed or moved since it was mapped
            current = None
        if current != stamp:
            found = None
        else:
            with _DIGESTS_LOCK:
                entry = _DIGESTS.get(path)
                if entry is not None and entry[0] == stamp and where in entry[1]:
                    return entry[1][where]
    digest = _sha256(np.ascontiguousarray(clip, dtype=np.float32)).digest()
    if found is not None:
        try:
            settled = settled_stamp(path) == stamp
        except OSError:
            settled = False
        if settled:
            with _DIGESTS_LOCK:
                if sum(len(digests) for _, digests in _DIGESTS.values()) >= _MAX_DIGESTS:
                    _DIGESTS.clear()
                if _DIGESTS.get(path, (None,))[0] != stamp:
                    _DIGESTS[path] = (stamp, {})
                _DIGESTS[path][1][where] = digest
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
        self._settings_digest = _sha256(payload.encode()).digest()

    def key(self, clip, sample_rate):
        """Hex key of one clip: its samples ``(n_samples,)`` float32 (through
        :func:`clip_digest`) and ``sample_rate``."""
        digest = _sha256(self._settings_digest)
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

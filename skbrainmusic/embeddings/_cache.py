"""On-disk cache of clip embeddings, keyed by the audio's content and the embedding settings.

Embedding a corpus of 100k tracks with a deep model takes hours, and the same corpus is
embedded again by every analysis. One ``.npy`` file per clip lives under
``<directory>/<key[:2]>/<key>.npy``; the key is the SHA-256 of the settings (backend, window
geometry, model fingerprint, layer ...) and of the clip's samples and sample rate, so any
change of audio or settings is a miss, never a stale hit. Files are written atomically and
checked against their CRC-32 when read (:mod:`skbrainmusic._store`): a truncated or edited
file is reported with a warning naming it and the clip is embedded again.
"""

import hashlib
import json
from pathlib import Path

import numpy as np

from .._store import load_array, save_array

# Bump when the stored embeddings of an unchanged backend would change meaning. Format 2:
# .npy files with a CRC-32 trailer (format 1 had no checksum; its files are never read).
_CACHE_FORMAT = 2


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
        """Hex key of one clip: its samples ``(n_samples,)`` float32 and ``sample_rate``."""
        digest = hashlib.sha256(self._settings_digest)
        digest.update(f"{int(sample_rate)}:{clip.shape[0]}:".encode())
        # the array's own buffer: the same bytes as tobytes(), without copying the clip
        digest.update(np.ascontiguousarray(clip, dtype=np.float32))
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

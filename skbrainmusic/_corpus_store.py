"""Corpora of any size on disk: embedded batch by batch, resumable, memory-mapped when opened.

:func:`build_corpus` embeds a collection of audio (a folder of files, ``load_fma(...)``
tracks, the synthetic study's corpus, or any iterable of ``(id, waveform, sample_rate)``)
in batches of ``batch_size`` clips and writes an on-disk store::

    <path>/manifest.json        embedder class, parameters and settings, source, counts
    <path>/embeddings.npy       (n_items, d) or (n_items, n_windows, d) float32
    <path>/ids.npy              (n_items,)
    <path>/paths.npy            (n_items,) audio files (sources made of files only)
    <path>/attributes/NAME.npy  (n_items, ...) optional per-clip attributes
    <path>/parts/NNNNNN/        finished batches while building (removed at the end)

Every batch is a :class:`~skbrainmusic._store.FolderEntry`: its files are written in a
private temporary folder, checksummed and renamed into place, so a batch either exists
whole or not at all. After a crash, Ctrl-C or a full disk, the next call with the same
source and embedder embeds only the batches that are missing, then concatenates the batches
block by block into the final arrays (never holding the corpus in memory). Batches are
distributed with :mod:`joblib`, so ``joblib.parallel_config(backend="dask")`` runs them on a
Dask cluster; the results do not depend on where they ran.

:func:`open_corpus` maps the finished store read-only (:func:`~skbrainmusic._store.open_array`)
into a :class:`~skbrainmusic.retrieval.Corpus`; for sources made of files its ``load_audio``
decodes only the clips asked for.
"""

import copy
import json
import numbers
import os
import shutil
import warnings
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

from ._batches import release_pages
from ._store import (
    FolderEntry,
    atomic_write,
    load_array,
    open_array,
    save_array,
    save_array_blocks,
)
from ._validation import check_positive_int

__all__ = ["build_corpus", "open_corpus", "open_corpus_attributes"]

# Bump when the layout or the meaning of the stored arrays changes.
STORE_VERSION = 1
_MANIFEST = "manifest.json"
_PARTS = "parts"
_AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".au", ".aiff", ".aif", ".m4a", ".opus")
# Parameters that change how an embedder runs, not what it computes.
_RUNTIME_PARAMS = ("progress", "cache", "batch_size", "device", "local_files_only")
_WINDOW_REDUCE = ("mean", None)


# ----------------------------------------------------------------------------------------
# Sources: what to embed, split into batches that a worker can read on its own.


def _normalise_id(item_id):
    return int(item_id) if isinstance(item_id, numbers.Integral) else str(item_id)


def _ids_digest(ids):
    return zlib.crc32(json.dumps([_normalise_id(i) for i in ids]).encode())


class _Source:
    """Items of a source: ids, and per item what a worker needs to read it.

    ``items`` is a list (known sources) or an iterator (iterables: consumed once, in
    order). ``paths`` (files only) are stored for ``load_audio``, relative to ``root``
    when there is one; ``fma`` holds ``(sample_rate, duration)`` of FMA clips.
    """

    def __init__(self, kind, items, *, ids=None, root=None, paths=None, fma=None):
        self.kind, self.items, self.ids = kind, items, ids
        self.root, self.paths, self.fma = root, paths, fma

    def description(self):
        description = {"kind": self.kind}
        if self.ids is not None:
            description.update(n_items=len(self.ids), ids_crc32=_ids_digest(self.ids))
        if self.root is not None:
            description["root"] = str(self.root)
        if self.fma is not None:
            description["fma"] = list(self.fma)
        return description

    def batches(self, batch_size):
        """``(index, ids, items)`` of consecutive batches."""
        if self.ids is not None:
            for index, start in enumerate(range(0, len(self.ids), batch_size)):
                yield (index, self.ids[start:start + batch_size],
                       self.items[start:start + batch_size])
            return
        index, ids, items = 0, [], []
        for entry in self.items:
            if not (isinstance(entry, tuple) and len(entry) == 3):
                raise TypeError(
                    "an iterable source yields (id, waveform, sample_rate) tuples; got "
                    f"{type(entry).__name__}. Give a folder, a list of paths, a Bunch with "
                    "'audio' and 'sample_rate', or such tuples.")
            item_id, waveform, rate = entry
            ids.append(_normalise_id(item_id))
            items.append(("wave", waveform, rate))
            if len(ids) == batch_size:
                yield index, ids, items
                index, ids, items = index + 1, [], []
        if ids:
            yield index, ids, items


def _folder_source(root, sample_rate):
    root = Path(root).resolve()
    files = sorted(
        path for path in root.rglob("*")
        if path.suffix.lower() in _AUDIO_SUFFIXES and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
    )
    if not files:
        raise ValueError(f"The folder {root} holds no audio file (extensions "
                         f"{', '.join(_AUDIO_SUFFIXES)}).")
    relative = [path.relative_to(root).as_posix() for path in files]
    return _Source("folder", [("path", os.fspath(p), sample_rate) for p in files],
                   ids=relative, root=root, paths=relative)


def _bunch_ids(fields, n_items):
    clips = fields.get("clips")
    if clips is not None and "clip_id" in getattr(clips, "columns", ()):
        ids = list(clips["clip_id"])
    elif fields.get("ids") is not None:
        ids = list(fields["ids"])
    else:
        return list(range(n_items))
    if len(ids) != n_items:
        raise ValueError(f"the source has {len(ids)} ids but {n_items} clips of audio.")
    return [_normalise_id(i) for i in ids]


def _check_source(source, sample_rate):
    """A :class:`_Source` from any of the accepted kinds of ``source``."""
    from .datasets import FMAAudio

    if isinstance(source, (str, os.PathLike)):
        if not Path(source).is_dir():
            raise ValueError(f"source {os.fspath(source)!r} is not a folder: give a folder of "
                             "audio files, a list of paths, a Bunch or (id, waveform, "
                             "sample_rate) tuples.")
        return _folder_source(source, sample_rate)
    if isinstance(source, (list, tuple)) and source and all(
            isinstance(item, (str, os.PathLike)) for item in source):
        paths = [os.fspath(Path(item).resolve()) for item in source]
        return _Source("files", [("path", p, sample_rate) for p in paths],
                       ids=[os.fspath(item) for item in source], paths=paths)
    fields = (source if isinstance(source, Mapping)
              else vars(source) if hasattr(source, "audio") else None)
    if fields is not None and fields.get("audio") is not None:
        audio = fields["audio"]
        ids = _bunch_ids(fields, len(audio))
        if isinstance(audio, FMAAudio):
            fma = (int(audio.sample_rate), float(audio.duration))
            paths = [os.fspath(p) for p in audio.paths]
            return _Source("fma", [("fma", p, *fma) for p in paths], ids=ids, paths=paths,
                           fma=fma)
        rate = fields.get("sample_rate")
        if rate is None:
            raise ValueError("a source with 'audio' waveforms needs their 'sample_rate'.")
        return _Source("arrays", _LazyWaves(audio, int(rate)), ids=ids)
    if isinstance(source, (np.ndarray, str, bytes)) or not hasattr(source, "__iter__"):
        raise TypeError(
            f"source of type {type(source).__name__} is not accepted: give a folder, a "
            "list of paths, a Bunch with 'audio' and 'sample_rate' (load_fma(...), "
            "make_synthetic_study(...).corpus), or an iterable of (id, waveform, "
            "sample_rate) tuples.")
    return _Source("iterable", iter(source))


class _LazyWaves(Sequence):
    """Slices of an in-memory (or memory-mapped) audio array, read only when batched."""

    def __init__(self, audio, rate):
        self.audio, self.rate = audio, rate

    def __len__(self):
        return len(self.audio)

    def __getitem__(self, index):
        rows = range(len(self.audio))[index]
        return [("wave", np.asarray(self.audio[row]), self.rate) for row in rows]

    def release(self):
        """Let go of the pages read so far of a memory-mapped ``audio``."""
        release_pages(self.audio)


def _read_item(item):
    """(waveform float32 1-D, sample rate) of one item; raises when unreadable."""
    kind = item[0]
    if kind == "wave":
        _, waveform, rate = item
        return np.asarray(waveform, dtype=np.float32), int(rate)
    import librosa

    if kind == "fma":
        from .datasets import FMAAudio

        _, path, rate, duration = item
        return FMAAudio([path], rate, duration)[0], rate
    _, path, rate = item
    waveform, rate = librosa.load(path, sr=rate, mono=True)
    return waveform.astype(np.float32, copy=False), int(rate)


# ----------------------------------------------------------------------------------------
# The embedder and the settings a store is tied to.


def _jsonable(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    # Model objects: their weights are fingerprinted in the backend's settings.
    return f"<{type(value).__module__}.{type(value).__qualname__}>"


def _prepared_embedder(embedder):
    """The embedder, fitted: a fitted one as it is, an unfitted stateless one fitted on a
    shallow copy (which loads its model); one that needs statistics is an error."""
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    if not (hasattr(embedder, "transform") and hasattr(embedder, "get_params")):
        raise TypeError(f"embedder must be an AudioEmbedder-like estimator with get_params and "
                        f"transform; got {type(embedder).__name__}.")
    if "sample_rate" not in embedder.get_params(deep=False):
        raise TypeError(f"embedder {type(embedder).__name__} has no 'sample_rate' parameter: "
                        "build_corpus gives it waveforms with their rate (use AudioEmbedder).")
    try:
        # Raises only for embedders that learn statistics (sklearn's requires_fit tag).
        check_is_fitted(embedder)
    except NotFittedError:
        raise NotFittedError(
            f"{type(embedder).__name__} is not fitted, and it learns statistics in fit "
            "(standardize=True): fit it first on clips like the corpus, e.g. "
            "embedder.fit(some_clips), or pass standardize=False.") from None
    if getattr(embedder, "backend_", None) is None:
        return copy.copy(embedder).fit()
    return embedder


def _embedder_signature(embedder):
    """Everything about ``embedder`` that changes the stored embeddings (JSON)."""
    params = embedder.get_params(deep=False)
    signature = {
        "class": f"{type(embedder).__module__}.{type(embedder).__qualname__}",
        "params": {name: _jsonable(value) for name, value in sorted(params.items())
                   if name not in _RUNTIME_PARAMS},
    }
    backend = getattr(embedder, "backend_", None)
    if backend is not None and hasattr(backend, "settings"):
        window = params.get("window")
        signature["settings"] = {
            "window": float(backend.default_window if window is None else window),
            "step": float(params.get("step", 0.0)),
            "backend_sample_rate": int(backend.sample_rate),
            **{key: _jsonable(value) for key, value in backend.settings().items()},
        }
    for name in ("mean_", "scale_"):
        value = getattr(embedder, name, None)
        if value is not None:
            data = np.ascontiguousarray(value, dtype=np.float64)
            signature[f"{name[:-1]}_crc32"] = zlib.crc32(data.tobytes())
    return signature


def _differences(stored, current, prefix=""):
    """Human-readable differences between two JSON-like dicts, key by key."""
    found = []
    for key in sorted(set(stored) | set(current), key=str):
        a, b = stored.get(key, "<absent>"), current.get(key, "<absent>")
        if isinstance(a, dict) and isinstance(b, dict):
            found += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            found.append(f"{prefix}{key}: store has {a!r}, this call {b!r}")
    return found


# ----------------------------------------------------------------------------------------
# Embedding one batch (runs in a joblib worker).


def _with_rate(embedder, rate):
    """A shallow copy of the fitted ``embedder`` that reads arrays at ``rate``, quietly."""
    quiet = copy.copy(embedder)
    changes = {"sample_rate": int(rate)}
    if "progress" in quiet.get_params(deep=False):
        changes["progress"] = False
    return quiet.set_params(**changes)


def _embed_batch(ids, items, embedder, window_reduce, silence_threshold, min_seconds,
                 attributes):
    """Embed the readable, non-silent clips of one batch.

    Returns ``(ids, embeddings, attributes, skipped)``: ids and float32 embeddings of the
    embedded clips in batch order, ``{name: array}`` of their attributes, and
    ``[(id, reason)]`` of the clips left out.
    """
    clips, skipped = [], []
    for item_id, item in zip(ids, items):
        try:
            waveform, rate = _read_item(item)
        except Exception as exc:  # decoders raise many types, some without a message
            skipped.append((item_id, f"unreadable ({type(exc).__name__}: {exc})"))
            continue
        if waveform.ndim != 1 or waveform.size == 0:
            skipped.append((item_id, f"not a mono waveform (shape {waveform.shape})"))
        elif not np.isfinite(waveform).all():
            skipped.append((item_id, "non-finite samples"))
        elif np.abs(waveform).max() <= silence_threshold:
            skipped.append((item_id, f"silent (peak amplitude <= {silence_threshold:g})"))
        elif waveform.size / rate < min_seconds:
            skipped.append((item_id, f"shorter than the embedder's window "
                                     f"({waveform.size / rate:.3g} s < {min_seconds:g} s)"))
        else:
            clips.append((item_id, waveform, rate))
    # One transform per sample rate and length: the embedder needs both to be common.
    clip_duration = embedder.get_params(deep=False).get("clip_duration")
    groups = {}
    for position, (_, waveform, rate) in enumerate(clips):
        key = (rate, None if clip_duration is not None else waveform.size)
        groups.setdefault(key, []).append(position)
    vectors = [None] * len(clips)
    for (rate, _), positions in groups.items():
        embedded = _with_rate(embedder, rate).transform([clips[p][1] for p in positions])
        embedded = np.asarray(embedded)
        if window_reduce == "mean":
            embedded = embedded.mean(axis=1, dtype=np.float64)
        for position, vector in zip(positions, embedded.astype(np.float32)):
            vectors[position] = vector
    columns = {}
    if attributes is not None:
        rows = [dict(attributes(waveform, rate)) for _, waveform, rate in clips]
        names = sorted(rows[0]) if rows else []
        for row, (item_id, _, _) in zip(rows, clips):
            if sorted(row) != names:
                raise ValueError(f"attributes returned keys {sorted(row)} for clip "
                                 f"{item_id!r} but {names} for the first clip of its batch.")
        columns = {name: np.stack([np.asarray(row[name]) for row in rows]) for name in names}
    embeddings = np.stack(vectors) if vectors else np.empty((0,), np.float32)
    return [c[0] for c in clips], embeddings, columns, skipped


# ----------------------------------------------------------------------------------------
# The store.


def _read_manifest(path):
    try:
        return json.loads((Path(path) / _MANIFEST).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{Path(path) / _MANIFEST} is unreadable ({exc}): this folder is "
                         "not a usable corpus store; build into a new folder.") from exc


def _write_manifest(path, manifest):
    text = json.dumps(manifest, indent=1, sort_keys=True)
    atomic_write(Path(path) / _MANIFEST, lambda temporary: temporary.write_text(text))


def _check_same_build(path, stored, current):
    if stored.get("version") != STORE_VERSION:
        raise ValueError(f"The corpus store {path} has format version {stored.get('version')},"
                         f" this skbrainmusic writes {STORE_VERSION}: build into a new folder.")
    keys = ("embedder", "build", "source")
    differences = _differences({k: stored.get(k) for k in keys},
                               {k: current[k] for k in keys})
    if differences:
        raise ValueError(
            f"The corpus store {path} was built from a different embedder, settings or "
            f"source: {'; '.join(differences)}. Use the same ones to resume or reuse it, or "
            "build into a new folder.")


def _write_part(entry, ids, embeddings, columns, skipped):
    building = entry.new_folder()
    try:
        save_array(building / "embeddings.npy", embeddings)
        save_array(building / "ids.npy", np.asarray(ids) if ids else np.empty(0, np.int64))
        for name, column in columns.items():
            save_array(building / f"attr-{name}.npy", column)
        text = json.dumps([[item_id, reason] for item_id, reason in skipped])
        atomic_write(building / "skipped.json", lambda temporary: temporary.write_text(text))
        entry.commit(building)
    except BaseException:
        # Never leave half a batch: a full disk or Ctrl-C drops it, the next run redoes it.
        shutil.rmtree(building, ignore_errors=True)
        raise


def _part_entries(parts):
    """Finished batches ``{index: FolderEntry}``; damaged ones are warned about and dropped."""
    done = {}
    if not parts.is_dir():
        return done
    for folder in sorted(parts.iterdir()):
        if folder.name.startswith("."):
            # A batch interrupted while being written (a killed process): not part of the
            # store, and ours to remove.
            shutil.rmtree(folder, ignore_errors=True)
            continue
        entry = FolderEntry(folder)
        if folder.name.isdigit() and entry.verified_files() is not None:
            done[int(folder.name)] = entry
    return done


def _load_part(entry):
    arrays = {}
    for name in entry.verified_files(warn=False):
        if name.endswith(".npy"):
            arrays[name[:-4]] = load_array(entry.folder / name)
    skipped = json.loads((entry.folder / "skipped.json").read_text())
    return arrays, skipped


def _consolidate(path, manifest, entries, source):
    """Concatenate the finished batches into the store's arrays, block by block."""
    order = [entries[index] for index in sorted(entries)]
    ids, skipped, shape, dtypes, names = [], [], None, {}, None
    for entry in order:
        arrays, part_skipped = _load_part(entry)
        skipped += part_skipped
        part_ids = arrays["ids"]
        ids.extend(part_ids.tolist())
        if part_ids.size == 0:
            continue
        embeddings = arrays["embeddings"]
        if shape is None:
            shape = embeddings.shape[1:]
        elif embeddings.shape[1:] != shape:
            raise ValueError(
                f"batch {entry.folder.name} has embeddings of shape {embeddings.shape[1:]} per "
                f"clip, earlier batches {shape}: clips give different numbers of windows; set "
                "the embedder's clip_duration, or use window_reduce='mean'.")
        part_names = sorted(name[5:] for name in arrays if name.startswith("attr-"))
        names = part_names if names is None else names
        if part_names != names:
            raise ValueError(f"batch {entry.folder.name} has attributes {part_names}, "
                             f"earlier batches {names}.")
        for name in names:
            column = arrays[f"attr-{name}"]
            seen_shape, seen_dtype = dtypes.get(name, (column.shape[1:], column.dtype))
            if column.shape[1:] != seen_shape:
                raise ValueError(f"attribute {name!r} has shape {column.shape[1:]} per clip in "
                                 f"batch {entry.folder.name}, {seen_shape} before.")
            dtypes[name] = (seen_shape, np.result_type(seen_dtype, column.dtype))
    if not ids:
        raise ValueError(f"No clip of the source could be embedded ({len(skipped)} skipped: "
                         f"{skipped[:5]}).")
    n_items = len(ids)

    def blocks(key):
        for entry in order:
            array = load_array(entry.folder / f"{key}.npy")
            if array is not None and array.size:
                yield array

    save_array_blocks(path / "embeddings.npy", blocks("embeddings"), shape=(n_items, *shape),
                      dtype=np.float32)
    ids_array = np.asarray(ids if all(isinstance(i, int) for i in ids) else [str(i) for i in ids])
    save_array(path / "ids.npy", ids_array)
    if source.paths is not None:
        row = {item_id: index for index, item_id in enumerate(source.ids)}
        save_array(path / "paths.npy", np.asarray([source.paths[row[i]] for i in ids]))
    if names:
        (path / "attributes").mkdir(exist_ok=True)
        for name in names:
            column_shape, dtype = dtypes[name]
            save_array_blocks(path / "attributes" / f"{name}.npy", blocks(f"attr-{name}"),
                              shape=(n_items, *column_shape), dtype=dtype)
    manifest.update(status="complete", n_items=n_items, n_skipped=len(skipped),
                    skipped=skipped, shape=[n_items, *shape], attributes=names or [])
    _write_manifest(path, manifest)
    shutil.rmtree(path / _PARTS, ignore_errors=True)


def build_corpus(source, embedder, path, *, batch_size=64, window_reduce="mean",
                 attributes=None, silence_threshold=1e-4, n_jobs=None, progress=True,
                 verify=True):
    """Embed a collection of audio, batch by batch, into a resumable on-disk corpus store.

    The corpus is never held in memory: workers read and embed ``batch_size`` clips at a
    time, each finished batch is written atomically with checksums, and the batches are
    finally concatenated block by block into memory-mappable arrays. Interrupted (a crash,
    Ctrl-C, a full disk), the same call continues where it stopped: finished batches are
    kept and never embedded again, a batch being written is dropped whole. Once the store
    is complete, the call only opens it.

    Batches run through :mod:`joblib`: ``n_jobs`` local workers, or any joblib backend,
    e.g. a Dask cluster with ``joblib.parallel_config(backend="dask")`` (on SLURM through
    ``dask-jobqueue``, see :ref:`large_corpus`). The store is the same wherever the batches
    ran.

    Clips that cannot be read, are silent, hold non-finite samples or are shorter than the
    embedder's window are skipped, named in a warning and listed (id and reason) in the
    manifest's ``skipped``, with their count ``n_skipped``.

    Parameters
    ----------
    source : str, path-like, list of paths, Bunch, mapping or iterable
        The audio:

        - a folder: every audio file below it (``.wav``, ``.flac``, ``.mp3``, ``.ogg`` ...,
          hidden ones excluded), in sorted order; ids are the paths relative to the folder;
        - a list of audio file paths (ids: the paths as given);
        - a Bunch or mapping with ``audio`` and ``sample_rate`` (ids from
          ``clips["clip_id"]``, else ``ids``, else row numbers): the tracks of
          :func:`~skbrainmusic.datasets.load_fma` (decoded lazily, in the workers) or
          ``make_synthetic_study(...).corpus`` (``audio`` ``(n_clips, n_samples)``);
        - an iterable of ``(id, waveform, sample_rate)`` tuples (waveform ``(n_samples,)``),
          consumed once in order (resuming reads it again from the start and embeds only
          the missing batches).
    embedder : AudioEmbedder
        Fitted (or ``standardize=False``). Files are read at its ``sample_rate`` (``None``:
        each file's own rate); array sources are given to it with their own rate. Its
        class, parameters, backend settings (window, step, model fingerprint) and fitted
        statistics are recorded: a store built by another embedder is refused.
    path : str or path-like
        Folder of the store, created when missing. An existing folder must be empty or a
        store of this same build.
    batch_size : int, default=64
        Clips per batch: the unit of work of a worker and of resuming.
    window_reduce : {"mean", None}, default="mean"
        ``"mean"`` stores one embedding per clip ``(n_items, d)`` (averaged over its
        windows: what :class:`~skbrainmusic.EmbeddingRetriever` searches, so it searches
        the store in place; clips may have any length). ``None`` stores every window
        ``(n_items, n_windows, d)`` and needs the embedder's ``clip_duration``.
    attributes : callable, default=None
        ``attributes(waveform, sample_rate) -> {name: value}`` computed per clip in the
        workers (e.g. estimated musical attributes); every name becomes a column
        ``(n_items, ...)`` of :func:`open_corpus_attributes`. Must be picklable for
        process workers.
    silence_threshold : float, default=1e-4
        A clip whose peak absolute amplitude is at most this is silent and skipped.
    n_jobs : int, default=None
        joblib workers over batches. ``None`` means 1 unless in a
        :func:`joblib.parallel_config` context.
    progress : bool, default=True
        Show a progress bar (tqdm) over clips.
    verify : bool, default=True
        Check the checksums of the store's arrays when opening it (one read of the files).

    Returns
    -------
    corpus : Corpus
        The store, opened by :func:`open_corpus`.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from skbrainmusic import AudioEmbedder
    >>> from skbrainmusic.retrieval import build_corpus
    >>> rng = np.random.default_rng(0)
    >>> clips = [(f"clip{i}", rng.standard_normal(3 * 8000).astype(np.float32), 8000)
    ...          for i in range(5)]
    >>> embedder = AudioEmbedder(backend="mel", window=1.5, standardize=False)
    >>> corpus = build_corpus(clips, embedder, tempfile.mkdtemp() + "/store", batch_size=2,
    ...                       progress=False)
    >>> corpus
    Corpus(n_items=5, embeddings=(5, 128) float32, audio=None, sample_rate=None)
    >>> type(corpus.embeddings).__name__, corpus.ids[:2].tolist()
    ('memmap', ['clip0', 'clip1'])
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    if window_reduce not in _WINDOW_REDUCE:
        raise ValueError(f"window_reduce must be one of {_WINDOW_REDUCE}, got {window_reduce!r}.")
    if attributes is not None and not callable(attributes):
        raise TypeError(f"attributes must be a callable (waveform, sample_rate) -> dict, got "
                        f"{type(attributes).__name__}.")
    if not (isinstance(silence_threshold, numbers.Real) and silence_threshold >= 0):
        raise ValueError(f"silence_threshold must be a non-negative number, got "
                         f"{silence_threshold!r}.")
    embedder = _prepared_embedder(embedder)
    params = embedder.get_params(deep=False)
    if window_reduce is None and params.get("clip_duration") is None:
        raise ValueError("window_reduce=None stores every window, so all clips must give the "
                         "same number of windows: set the embedder's clip_duration (e.g. "
                         "15.0), or use window_reduce='mean'.")
    signature = _embedder_signature(embedder)
    # Clips shorter than a window cannot be embedded unless the embedder pads them.
    window_seconds = (signature.get("settings", {}).get("window", 0.0)
                      if params.get("clip_duration") is None else 0.0)
    source = _check_source(source, params.get("sample_rate"))
    path = Path(path)
    manifest = {
        "version": STORE_VERSION,
        "status": "building",
        "dtype": "float32",
        "embedder": signature,
        "build": {"batch_size": batch_size, "window_reduce": window_reduce,
                  "silence_threshold": float(silence_threshold),
                  "attributes": None if attributes is None else
                  f"{getattr(attributes, '__module__', '')}."
                  f"{getattr(attributes, '__qualname__', type(attributes).__name__)}"},
        "source": source.description(),
        "audio": {"root": None if source.root is None else str(source.root),
                  "sample_rate": params.get("sample_rate") if source.fma is None
                  else source.fma[0],
                  "fma_duration": None if source.fma is None else source.fma[1]},
    }
    with FolderEntry(path).lock():
        stored = _read_manifest(path)
        if stored is None:
            if path.exists() and (not path.is_dir() or any(path.iterdir())):
                raise ValueError(f"{path} exists and is not a corpus store (no {_MANIFEST}): "
                                 "give a new or empty folder; nothing there is overwritten.")
            path.mkdir(parents=True, exist_ok=True)
            _write_manifest(path, manifest)
        else:
            _check_same_build(path, stored, manifest)
            if stored["status"] == "complete":
                shutil.rmtree(path / _PARTS, ignore_errors=True)
                return open_corpus(path, verify=verify)
        parts = path / _PARTS
        parts.mkdir(exist_ok=True)
        done = _part_entries(parts)
        _run_batches(source, embedder, parts, done, batch_size, window_reduce,
                     float(silence_threshold), window_seconds, attributes, n_jobs, progress)
        _consolidate(path, manifest, _part_entries(parts), source)
    final = _read_manifest(path)
    if final["n_skipped"]:
        listed = "; ".join(f"{i}: {reason}" for i, reason in final["skipped"][:20])
        more = f" (and {final['n_skipped'] - 20} more)" if final["n_skipped"] > 20 else ""
        warnings.warn(f"build_corpus skipped {final['n_skipped']} clip(s) of the source "
                      f"(listed in {path / _MANIFEST}): {listed}{more}.", UserWarning,
                      stacklevel=2)
    return open_corpus(path, verify=verify)


def _run_batches(source, embedder, parts, done, batch_size, window_reduce, silence_threshold,
                 window_seconds, attributes, n_jobs, progress):
    """Embed the batches not in ``done`` and write each as soon as it is back."""
    total = None if source.ids is None else len(source.ids)
    finished = sum(min(batch_size, (total or 0) - index * batch_size) for index in done
                   ) if total is not None else 0

    def todo():
        for index, ids, items in source.batches(batch_size):
            if index in done:
                stored_ids = load_array(done[index].folder / "ids.npy")
                skipped = json.loads((done[index].folder / "skipped.json").read_text())
                expected = [i for i in ids if i not in {s[0] for s in skipped}]
                if stored_ids is None or [_normalise_id(i) for i in stored_ids.tolist()] \
                        != expected:
                    raise ValueError(f"batch {index} of the store in {parts.parent} holds other "
                                     "clips than this source gives: resume with the same "
                                     "source, or build into a new folder.")
                continue
            yield index, ids, items

    bar = _progress(progress, total, finished)
    try:
        batches = todo()
        # Items of a batch are read in the worker (files) or sliced lazily (arrays), so at
        # most joblib's pre-dispatched batches are in memory at once.
        pending = []

        def tasks():
            for index, ids, items in batches:
                pending.append(index)
                yield delayed(_embed_batch)(list(ids), list(items), embedder, window_reduce,
                                            silence_threshold, window_seconds, attributes)

        results = Parallel(n_jobs=n_jobs, return_as="generator")(tasks())
        for position, (ids, embeddings, columns, skipped) in enumerate(results):
            _write_part(FolderEntry(parts / f"{pending[position]:06d}"), ids, embeddings,
                        columns, skipped)
            # A memory-mapped array source (a cached synthetic corpus) would otherwise stay
            # mapped batch after batch: the whole corpus in memory by the end.
            if isinstance(source.items, _LazyWaves):
                source.items.release()
            bar.update(len(ids) + len(skipped))
    finally:
        bar.close()


class _NoBar:
    def update(self, n):
        return None

    def close(self):
        return None


def _progress(progress, total, initial):
    if not progress:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="clip", desc="build_corpus")


# ----------------------------------------------------------------------------------------
# Opening a store.


class _StoreAudio:
    """``load_audio`` of a store built from files: decodes one clip on request."""

    def __init__(self, ids, paths, root, sample_rate, fma_duration):
        self.ids, self.paths, self.root = ids, paths, root
        self.sample_rate, self.fma_duration = sample_rate, fma_duration
        self._rows = None

    def __call__(self, item_id):
        if self._rows is None:
            self._rows = {item_id: row for row, item_id in enumerate(self.ids.tolist())}
        try:
            row = self._rows[_normalise_id(item_id)]
        except KeyError:
            raise KeyError(f"no corpus item has id {item_id!r}.") from None
        path = str(self.paths[row])
        if self.root is not None:
            path = os.fspath(Path(self.root) / path)
        if self.fma_duration is not None:
            return _read_item(("fma", path, self.sample_rate, self.fma_duration))[0]
        return _read_item(("path", path, self.sample_rate))[0]


def _complete_manifest(path):
    manifest = _read_manifest(path)
    if manifest is None:
        raise ValueError(f"{path} is not a corpus store (no {_MANIFEST}): build one with "
                         "build_corpus(source, embedder, path).")
    if manifest.get("status") != "complete":
        raise ValueError(f"The corpus store {path} is incomplete (an interrupted build): call "
                         "build_corpus again with the same source and embedder to finish it.")
    if manifest.get("version") != STORE_VERSION:
        raise ValueError(f"The corpus store {path} has format version "
                         f"{manifest.get('version')}, this skbrainmusic reads {STORE_VERSION}.")
    return manifest


def open_corpus(path, *, embedder=None, audio_root=None, verify=True):
    """Open a store written by :func:`build_corpus` as a read-only, memory-mapped Corpus.

    Nothing is loaded: ``embeddings`` and ``ids`` are read-only :class:`numpy.memmap`
    arrays of the store's files, which :class:`~skbrainmusic.EmbeddingRetriever` searches
    in place (``window_reduce="mean"`` stores). For sources made of files, ``load_audio``
    decodes the clip of one id from its file when asked (``retrieve_audio`` reads only the
    clips it returns).

    Parameters
    ----------
    path : str or path-like
        The store's folder.
    embedder : AudioEmbedder, default=None
        When given, the store must have been built by an embedder with the same class,
        parameters, settings and fitted statistics (else a ``ValueError`` names the
        differences): queries embedded by it then live in the store's space.
    audio_root : str or path-like, default=None
        Where the audio folder of a folder source lives now, if it moved.
    verify : bool, default=True
        Check the arrays' checksums (reads the files once, in chunks).

    Returns
    -------
    corpus : Corpus

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from skbrainmusic import AudioEmbedder
    >>> from skbrainmusic.retrieval import build_corpus, open_corpus
    >>> clips = [(i, np.sin(np.arange(2 * 8000) * (i + 1) / 50).astype(np.float32), 8000)
    ...          for i in range(3)]
    >>> folder = tempfile.mkdtemp() + "/store"
    >>> embedder = AudioEmbedder(backend="mel", window=1.0, standardize=False)
    >>> _ = build_corpus(clips, embedder, folder, progress=False)
    >>> open_corpus(folder, embedder=embedder).ids.tolist()
    [0, 1, 2]
    """
    path = Path(path)
    manifest = _complete_manifest(path)
    if embedder is not None:
        current = _embedder_signature(_prepared_embedder(embedder))
        differences = _differences(manifest["embedder"], current)
        if differences:
            raise ValueError(f"The corpus store {path} was built by a different embedder: "
                             f"{'; '.join(differences)}. Embed queries with the store's "
                             "embedder, or build a store with this one.")
    embeddings = open_array(path / "embeddings.npy", verify=verify)
    ids = open_array(path / "ids.npy", verify=verify)
    audio = manifest["audio"]
    load_audio = None
    if (path / "paths.npy").exists():
        root = audio_root if audio_root is not None else audio["root"]
        load_audio = _StoreAudio(ids, open_array(path / "paths.npy", verify=verify), root,
                                 audio["sample_rate"], audio["fma_duration"])
    from .retrieval import Corpus

    return Corpus(embeddings, ids=ids, load_audio=load_audio,
                  sample_rate=audio["sample_rate"] if load_audio is not None else None)


def open_corpus_attributes(path, *, verify=True):
    """The per-clip attributes of a store: ``{name: read-only memmap (n_items, ...)}``.

    Parameters
    ----------
    path : str or path-like
        The store's folder (built with ``attributes=``).
    verify : bool, default=True
        Check the arrays' checksums.

    Returns
    -------
    attributes : dict of str to numpy.memmap
        Rows in the order of the corpus' ``ids`` (empty when built without attributes).

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from skbrainmusic import AudioEmbedder
    >>> from skbrainmusic.retrieval import build_corpus, open_corpus_attributes
    >>> def loudness(waveform, sample_rate):
    ...     return {"rms": float(np.sqrt(np.mean(waveform ** 2)))}
    >>> clips = [(i, np.full(8000, 0.1 * (i + 1), np.float32), 8000) for i in range(3)]
    >>> folder = tempfile.mkdtemp() + "/store"
    >>> _ = build_corpus(clips, AudioEmbedder(backend="mel", window=1.0, standardize=False),
    ...                  folder, attributes=loudness, progress=False)
    >>> np.round(open_corpus_attributes(folder)["rms"], 2).tolist()
    [0.1, 0.2, 0.3]
    """
    path = Path(path)
    manifest = _complete_manifest(path)
    return {name: open_array(path / "attributes" / f"{name}.npy", verify=verify)
            for name in manifest.get("attributes", [])}

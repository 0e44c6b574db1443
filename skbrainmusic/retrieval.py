"""Retrieval of the corpus items nearest to predicted embeddings (the paper's FMA retrieval).

The paper retrieves, for every predicted MuLan embedding, the FMA clip whose embedding has
the highest cosine similarity (Section 3.3). :class:`EmbeddingRetriever` does this exactly
with blocked float32 matrix products, or approximately with a ``faiss`` index for corpora
beyond memory-friendly sizes. :func:`build_corpus` embeds a corpus of any size into a
resumable on-disk store, which :func:`open_corpus` maps as a :class:`Corpus` that the
retriever searches in place.
"""

from collections.abc import Mapping

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_info

from ._corpus_store import build_corpus, open_corpus, open_corpus_attributes
from ._threads import one_blas_thread
from ._validation import check_clips, check_positive_int, validate_clips
from .tagging import _check_sample_rate

__all__ = [
    "Corpus",
    "EmbeddingRetriever",
    "build_corpus",
    "check_corpus",
    "exact_top_k",
    "open_corpus",
    "open_corpus_attributes",
]

_METRICS = ("cosine", "dot")
_WINDOW_REDUCE = ("mean", None)
_BACKENDS = ("numpy", "faiss")


# Corpus rows searched as they are (no normalised copy) when every norm lies in this range:
# float32 products of a unit query with such a row can neither overflow nor lose the row
# to underflow. Rows outside it are searched as a unit-norm float32 copy.
_RAW_NORM_RANGE = (2.0**-60, 2.0**60)
# Rows per block of norm computations: small enough for the float64 scratch to stay in cache.
_NORM_BLOCK = 256


def _read_only(array):
    """A read-only view of ``array`` (never a copy)."""
    view = array.view()
    view.flags.writeable = False
    return view


class Corpus:
    """A fixed set of items to retrieve from or learn generation on, shared without copies.

    A corpus is data, not a model parameter to tune: a retriever or a generator takes it in
    its constructor (``EmbeddingRetriever(corpus)``, ``ConditionedGenerator(corpus=...)``)
    and learns only from it. A ``Corpus`` holds read-only views of the caller's arrays
    (never a copy), cannot be changed after construction, and :func:`copy.copy`,
    :func:`copy.deepcopy` and therefore :func:`sklearn.base.clone` return the same object:
    :class:`~sklearn.model_selection.GridSearchCV`, which clones the whole pipeline for
    every candidate and fold, never copies the corpus. (A plain array or mapping given as
    ``corpus`` is deep-copied by every clone.)

    Inputs are validated here, once (shapes, finite embeddings, one id and one waveform
    per item); the estimators check only what depends on their own parameters (e.g. zero
    vectors for the cosine metric).

    Parameters
    ----------
    embeddings : array-like of shape (n_items, d) or (n_items, n_windows, d)
        Embedding of every item (windowed embeddings are averaged over windows where a
        single vector per item is needed). Float arrays are kept as they are; other dtypes
        are converted to float64.
    ids : array-like of shape (n_items,), default=None
        Id of every item; ``None`` numbers the items ``0 .. n_items - 1``.
    audio : array-like of shape (n_items, n_samples) or sequence of 1-D arrays, default=None
        Waveform of every item (a sequence may hold waveforms of unequal lengths).
    load_audio : callable, default=None
        ``id -> waveform``, for corpora too large to hold in memory (used when ``audio`` is
        ``None``).
    sample_rate : int, default=None
        Sample rate of the audio.
    labels : array-like of str of shape (n_items,), default=None
        One label per item, e.g. its genre (GTZAN's, FMA's): a generator whose backend
        learns from labels (:class:`~skbrainmusic.generation.ScoreBackend`) gets them.

    Attributes
    ----------
    embeddings : ndarray of shape (n_items, d) or (n_items, n_windows, d)
        Read-only view.
    ids : ndarray of shape (n_items,)
        Read-only view.
    audio : ndarray of shape (n_items, n_samples), tuple of 1-D ndarrays or None
        Read-only views.
    load_audio : callable or None
    sample_rate : int or None
    labels : ndarray of str of shape (n_items,) or None
        Read-only.
    n_items : int
    n_features : int
        Embedding dimension ``d``.

    Examples
    --------
    >>> import copy
    >>> import numpy as np
    >>> from skbrainmusic.retrieval import Corpus
    >>> embeddings = np.eye(3)
    >>> corpus = Corpus(embeddings, ids=["a", "b", "c"])
    >>> corpus
    Corpus(n_items=3, embeddings=(3, 3) float64, audio=None, sample_rate=None)
    >>> copy.deepcopy(corpus) is corpus, np.shares_memory(corpus.embeddings, embeddings)
    (True, True)
    >>> corpus.embeddings.flags.writeable
    False
    """

    def __init__(self, embeddings, *, ids=None, audio=None, load_audio=None, sample_rate=None,
                 labels=None):
        embeddings3, was_2d = check_clips(embeddings, name="corpus embeddings")
        validated = embeddings3[:, 0, :] if was_2d else embeddings3
        # Validation keeps the data but not the memmap type: keep the caller's memmap (e.g.
        # an on-disk store), so that it stays visibly a view of its file.
        if not (isinstance(embeddings, np.memmap) and embeddings.shape == validated.shape
                and np.shares_memory(embeddings, validated)):
            embeddings = validated
        n_items = embeddings.shape[0]
        if ids is None:
            ids = np.arange(n_items)
        elif not isinstance(ids, np.memmap):
            ids = np.asarray(ids)
            if ids.shape != (n_items,):
                raise ValueError(f"corpus ids has shape {ids.shape} but there are {n_items} "
                                 "embeddings: give one id per item.")
        if audio is not None:
            if len(audio) != n_items:
                raise ValueError(f"corpus audio has {len(audio)} clips but there are "
                                 f"{n_items} embeddings: give one waveform per item.")
            audio = (_read_only(audio) if isinstance(audio, np.ndarray)
                     else tuple(_read_only(np.asarray(wave)) for wave in audio))
        if load_audio is not None and not callable(load_audio):
            raise TypeError(f"corpus load_audio must be callable (id -> waveform), got "
                            f"{type(load_audio).__name__}.")
        if sample_rate is not None:
            sample_rate = _check_sample_rate(sample_rate, "corpus sample_rate")
        if labels is not None:
            labels = _read_only(_check_labels(labels, n_items))
        fields = {"embeddings": _read_only(embeddings), "ids": _read_only(ids), "audio": audio,
                  "load_audio": load_audio, "sample_rate": sample_rate, "labels": labels}
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    @property
    def n_items(self):
        return self.embeddings.shape[0]

    @property
    def n_features(self):
        return self.embeddings.shape[-1]

    def __len__(self):
        return self.n_items

    def __setattr__(self, name, value):
        raise AttributeError(f"Corpus is immutable: build a new Corpus instead of setting "
                             f"{name!r}.")

    def __delattr__(self, name):
        raise AttributeError(f"Corpus is immutable: cannot delete {name!r}.")

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        # Read-only data: sharing is safe, and it keeps sklearn.clone from copying it.
        return self

    def __setstate__(self, state):
        # Unpickled arrays are writable copies: make them read-only again. (Corpora pickled
        # before labels existed have none.)
        for name, value in {"labels": None, **state}.items():
            if isinstance(value, np.ndarray):
                value = _read_only(value)
            elif isinstance(value, tuple):
                value = tuple(_read_only(wave) for wave in value)
            object.__setattr__(self, name, value)

    def __repr__(self):
        if self.audio is None:
            audio = "load_audio" if self.load_audio is not None else "None"
        elif isinstance(self.audio, np.ndarray):
            audio = f"{self.audio.shape}"
        else:
            audio = f"{len(self.audio)} waveforms"
        return (f"Corpus(n_items={self.n_items}, embeddings={self.embeddings.shape} "
                f"{self.embeddings.dtype}, audio={audio}, sample_rate={self.sample_rate})")


_CORPUS_FIELDS = ("ids", "audio", "load_audio", "sample_rate", "labels")


def _check_labels(labels, n_items):
    """One non-empty str label per item, as an array of str."""
    if isinstance(labels, str) or not hasattr(labels, "__len__"):
        raise TypeError(f"corpus labels must be a sequence of str (one per item), got "
                        f"{type(labels).__name__}.")
    if len(labels) != n_items:
        raise ValueError(f"corpus labels has {len(labels)} entries but there are {n_items} "
                         "embeddings: give one label per item.")
    bad = [label for label in labels if not isinstance(label, str) or not label]
    if bad:
        raise TypeError(f"corpus labels must be non-empty str (e.g. a genre), got "
                        f"{bad[0]!r}: convert them with str or drop the unlabelled items.")
    return np.asarray(labels, dtype=str)


def check_corpus(corpus):
    """A :class:`Corpus` from a corpus, an array of embeddings, or a mapping or object.

    Parameters
    ----------
    corpus : Corpus, array-like, mapping or object
        A :class:`Corpus` is returned as it is; an array of embeddings ``(n_items, d)`` or
        ``(n_items, n_windows, d)`` becomes ``Corpus(corpus)``; a mapping or an object
        (e.g. a :class:`~sklearn.utils.Bunch`) gives its ``embeddings`` and, where it has
        them, ``ids``, ``audio``, ``load_audio``, ``sample_rate`` and ``labels``.

    Returns
    -------
    corpus : Corpus

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic.retrieval import check_corpus
    >>> check_corpus({"embeddings": np.eye(2), "sample_rate": 8000})
    Corpus(n_items=2, embeddings=(2, 2) float64, audio=None, sample_rate=8000)
    """
    if isinstance(corpus, Corpus):
        return corpus
    if isinstance(corpus, Mapping):
        fields = {name: corpus.get(name) for name in ("embeddings", *_CORPUS_FIELDS)}
    elif getattr(corpus, "embeddings", None) is not None:
        fields = {name: getattr(corpus, name, None) for name in ("embeddings", *_CORPUS_FIELDS)}
    else:
        fields = {"embeddings": corpus}
    if fields["embeddings"] is None:
        raise ValueError("corpus has no 'embeddings': give a Corpus, an array (n_items, d) or "
                         "a mapping with 'embeddings' and optionally 'ids', 'audio', "
                         "'load_audio', 'sample_rate', 'labels'.")
    return Corpus(fields.pop("embeddings"), **fields)


def _row_norms(X, name):
    """L2 norm of every row in float64, exact for any finite values; zero rows are an error.

    float32 rows are squared in float64 (no overflow up to float32's largest value); float64
    rows are first divided by their largest magnitude, so that squares of values beyond
    1e154 do not overflow. Blocks of rows keep the scratch memory small.
    """
    norms = np.empty(X.shape[0])
    for start in range(0, X.shape[0], _NORM_BLOCK):
        rows = X[start:start + _NORM_BLOCK]
        if rows.dtype == np.float32:
            rows = rows.astype(np.float64)
            norms[start:start + _NORM_BLOCK] = np.sqrt(np.einsum("ij,ij->i", rows, rows))
            continue
        peak = np.abs(rows).max(axis=1)
        scaled = rows / np.where(peak > 0, peak, 1.0)[:, np.newaxis]
        norms[start:start + _NORM_BLOCK] = peak * np.sqrt(np.einsum("ij,ij->i", scaled, scaled))
    zero = np.flatnonzero(norms == 0)
    if zero.size:
        raise ValueError(
            f"{name} has {zero.size} vector(s) of zero norm (rows {zero[:10].tolist()}"
            f"{' ...' if zero.size > 10 else ''}): their cosine similarity is undefined. "
            "Remove them, or use metric='dot'."
        )
    return norms


def _unit_rows(X, norms):
    """float32 rows of unit norm, divided in float64 so that no value overflows."""
    unit = np.empty(X.shape, dtype=np.float32)
    for start in range(0, X.shape[0], _NORM_BLOCK):
        stop = start + _NORM_BLOCK
        np.divide(X[start:stop], norms[start:stop, np.newaxis], out=unit[start:stop],
                  casting="same_kind")
    return unit


def _merge_candidates(best_sims, best_ids, rows, cand_rows, cand_sims, cand_ids, first):
    """Keep, for every row in ``rows``, the ``k`` best of its current best and candidates.

    Order: higher similarity first, then lower item index, so ties are deterministic.
    """
    k = best_sims.shape[1]
    if first:
        all_rows, all_sims, all_ids = cand_rows, cand_sims, cand_ids
    else:
        all_rows = np.concatenate([np.repeat(rows, k), cand_rows])
        all_sims = np.concatenate([best_sims[rows].ravel(), cand_sims])
        all_ids = np.concatenate([best_ids[rows].ravel(), cand_ids])
    order = np.lexsort((all_ids, -all_sims, all_rows))
    starts = np.searchsorted(all_rows[order], rows)
    take = order[starts[:, np.newaxis] + np.arange(k)]
    best_sims[rows] = all_sims[take]
    best_ids[rows] = all_ids[take]


def _search_query_block(queries, items, k, item_block, item_scale):
    """Exact top-``k`` inner products of ``queries`` against ``items``, block by block.

    With ``item_scale``, the products with every item are multiplied by its scale (the
    inverse norms of the items, for cosine similarity without a normalised copy of them).

    Items are visited in increasing index order; an item enters the running top-``k`` of a
    query only if it is strictly more similar than the current ``k``-th best, so among equal
    similarities the lower index wins. After the first block few items pass that threshold,
    so the cost is one matrix product and one pass of chunk maxima per block.
    """
    n_queries = queries.shape[0]
    best_sims = np.empty((n_queries, k), dtype=np.float32)
    best_ids = np.empty((n_queries, k), dtype=np.intp)
    all_rows = np.arange(n_queries)
    for start in range(0, items.shape[0], item_block):
        sims = queries @ items[start:start + item_block].T
        if item_scale is not None:
            sims *= item_scale[start:start + item_block]
        first = start == 0
        if k == 1:
            block_best = sims.argmax(axis=1)
            block_sims = sims[all_rows, block_best]
            better = all_rows if first else np.flatnonzero(block_sims > best_sims[:, 0])
            best_sims[better, 0] = block_sims[better]
            best_ids[better, 0] = block_best[better] + start
            continue
        if first:
            # The first block holds >= k items: a threshold just below each row's k-th
            # largest similarity keeps all items tied with it.
            kth = np.partition(sims, sims.shape[1] - k, axis=1)[:, sims.shape[1] - k]
            threshold = np.nextafter(kth, np.float32(-np.inf))
            rows = all_rows
            cand_r, cand_c = np.nonzero(sims > threshold[:, np.newaxis])
            cand_rows = rows[cand_r]
            cand_sims = sims[cand_rows, cand_c]
        else:
            cand_rows, cand_c, cand_sims = _beating(sims, best_sims[:, -1])
            if cand_rows.size == 0:
                continue
            rows = np.unique(cand_rows)
        _merge_candidates(best_sims, best_ids, rows, cand_rows, cand_sims, cand_c + start, first)
    return best_sims, best_ids


def _beating(sims, threshold, chunk=256):
    """(rows, columns, values) of the similarities strictly above each row's threshold.

    One vectorised pass takes, for every row and offset ``o < chunk``, the maximum of the
    columns ``o, o + chunk, o + 2 chunk, ...`` (an element-wise maximum of contiguous
    vectors, as fast as reading the block); only the column sets whose maximum beats the
    threshold (few, once the running top-k is good) are compared element by element.
    """
    n_rows, width = sims.shape
    n_chunks = width // chunk
    if n_chunks == 0:
        rows, cols = np.nonzero(sims > threshold[:, np.newaxis])
        return rows, cols, sims[rows, cols]
    chunked = sims[:, :n_chunks * chunk].reshape(n_rows, n_chunks, chunk)
    # A loop of element-wise maxima: 4x faster than chunked.max(axis=1) in numpy 2.4.
    maxima = chunked[:, 0].copy()
    for index in range(1, n_chunks):
        np.maximum(maxima, chunked[:, index], out=maxima)
    hit_rows, hit_offsets = np.nonzero(maxima > threshold[:, np.newaxis])
    values = chunked[hit_rows, :, hit_offsets]
    sub, chunk_index = np.nonzero(values > threshold[hit_rows, np.newaxis])
    rows = hit_rows[sub]
    cols = chunk_index * chunk + hit_offsets[sub]
    cand_sims = values[sub, chunk_index]
    if n_chunks * chunk < width:
        tail = sims[:, n_chunks * chunk:]
        tail_rows, tail_cols = np.nonzero(tail > threshold[:, np.newaxis])
        rows = np.concatenate([rows, tail_rows])
        cols = np.concatenate([cols, tail_cols + n_chunks * chunk])
        cand_sims = np.concatenate([cand_sims, tail[tail_rows, tail_cols]])
    return rows, cols, cand_sims


def _n_threads(n_jobs):
    """Worker threads: ``None`` takes as many as the BLAS library would use."""
    if n_jobs is None:
        blas = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
        return max(blas, default=1)
    return effective_n_jobs(n_jobs)


def exact_top_k(queries, items, k, *, block_size=2**20, n_jobs=None, item_scale=None):
    """Exact top-``k`` inner-product search without an ``(n_queries, n_items)`` matrix.

    Parameters
    ----------
    queries : ndarray of shape (n_queries, d), float32
    items : ndarray of shape (n_items, d), float32
    k : int
        Number of neighbours, ``1 <= k <= n_items``.
    block_size : int, default=2**20
        Largest number of similarities one worker holds at once (float32: 4 MiB).
    n_jobs : int, default=None
        Threads, each searching its own blocks of queries with single-threaded BLAS (the
        selection of the best items runs in these threads too). ``None`` uses as many as
        the BLAS library would (see :func:`threadpoolctl.threadpool_limits`); ``1`` one
        thread with multithreaded BLAS.
    item_scale : ndarray of shape (n_items,), float32, default=None
        Multiplies every item's products: ``queries @ (items * item_scale[:, None]).T``
        without scaling ``items`` (e.g. inverse norms, for cosine similarity of unit-norm
        ``queries`` against raw ``items``).

    Returns
    -------
    similarities : ndarray of shape (n_queries, k), float32
        Inner products, best first.
    indices : ndarray of shape (n_queries, k), int
        Item rows; among equal similarities the lower row comes first.
    """
    n_queries = queries.shape[0]
    n_threads = _n_threads(n_jobs)
    query_block = max(1, min(256, -(-n_queries // n_threads)))
    item_block = max(k, block_size // query_block)
    starts = range(0, n_queries, query_block)

    def search(start):
        return _search_query_block(queries[start:start + query_block], items, k, item_block,
                                   item_scale)

    if n_threads == 1:
        results = [search(start) for start in starts]
    else:
        with one_blas_thread():
            results = Parallel(n_jobs=n_threads, require="sharedmem")(
                delayed(search)(start) for start in starts
            )
    if not results:
        return np.empty((0, k), np.float32), np.empty((0, k), np.intp)
    sims, ids = zip(*results)
    return np.concatenate(sims), np.concatenate(ids)


class EmbeddingRetriever(TransformerMixin, BaseEstimator):
    """Retrieve the corpus items whose embeddings are nearest to predicted embeddings.

    The retrieval half of the paper's decoding (Section 3.3): a predicted embedding is
    mapped to the corpus clip with the highest cosine similarity. ``predict`` gives the
    items' ids, ``transform`` their embeddings (so a :class:`~sklearn.pipeline.Pipeline`
    ending in the retriever can be scored against the stimulus embeddings, as in Figure 1a),
    ``kneighbors`` the similarities and row indices, ``retrieve_audio`` the waveforms.

    Search is exact in float32 by default: blocked matrix products, never holding more than
    ``block_size`` similarities per worker, with deterministic ties (the lower corpus row
    wins). ``backend="faiss"`` searches a ``faiss`` index instead (exact ``"Flat"`` or an
    approximate one such as ``"HNSW32"``).

    The retriever learns only from its corpus: in a Pipeline, ``fit`` checks the decoded
    predictions it receives for their dimension and nothing else. It copies no corpus
    either: give a :class:`Corpus`, which :func:`~sklearn.base.clone` shares (a plain array
    or mapping is deep-copied by every clone, e.g. for every candidate and fold of
    :class:`~sklearn.model_selection.GridSearchCV`); ``fit`` searches a float32 2-D corpus
    in place, with cosine similarity from precomputed norms (a float64 or windowed corpus
    needs one float32 copy, unit-normalised).

    Parameters
    ----------
    corpus : Corpus, array-like, mapping, object or None, default=None
        The items to retrieve from, fixed and independent of the training fold:

        - a :class:`Corpus` (recommended: never copied);
        - an array of embeddings ``(n_items, d)`` (ids are then the row numbers);
        - a mapping or object (e.g. a :class:`~sklearn.utils.Bunch`) with the fields of a
          :class:`Corpus`: ``embeddings`` ``(n_items, d)`` or ``(n_items, n_windows, d)``
          (windows are averaged for the search), and optionally ``ids`` ``(n_items,)``,
          ``audio`` ``(n_items, n_samples)`` or ``load_audio`` (a callable
          ``id -> waveform``), and ``sample_rate``;
        - ``None``: the ``X`` given to ``fit`` is the corpus (as in
          :class:`~sklearn.neighbors.NearestNeighbors`).
    n_neighbors : int, default=1
        Number of items retrieved per query. ``transform`` averages their embeddings.
    metric : {"cosine", "dot"}, default="cosine"
        Similarity. ``"cosine"`` (the paper's) rejects zero-norm vectors; it is computed
        from float64 norms, so any finite values (even beyond 1e19, whose float32 squares
        overflow) give the float64 answer.
    window_reduce : {"mean", None}, default="mean"
        How 3-D queries ``(n_clips, n_windows, d)`` are searched: ``"mean"`` averages the
        windows of a clip into one query (the paper averages its window predictions);
        ``None`` searches every window, and outputs gain a windows axis.
    backend : {"numpy", "faiss"}, default="numpy"
        ``"numpy"``: exact blocked search. ``"faiss"``: a ``faiss`` index (optional
        dependency ``faiss-cpu``, imported when fitting).
    faiss_index : str, default="Flat"
        ``faiss.index_factory`` description for ``backend="faiss"``: ``"Flat"`` is exact,
        e.g. ``"HNSW32"`` or ``"IVF1024,Flat"`` are approximate (IVF indexes are trained
        on the corpus).
    block_size : int, default=1048576
        Largest number of query-item similarities one worker holds at once (float32:
        4 MiB), for ``backend="numpy"``.
    n_jobs : int, default=None
        ``backend="numpy"``: threads over blocks of queries, each with single-threaded BLAS.
        ``None`` uses as many threads as the BLAS library would (so
        ``threadpoolctl.threadpool_limits`` bounds it, like any BLAS work); ``1`` searches
        in one thread with multithreaded BLAS, slower since picking the best items is then
        serial.

    Attributes
    ----------
    n_features_in_ : int
        Embedding dimension ``d``.
    n_items_ : int
        Number of corpus items.
    ids_ : ndarray of shape (n_items,)
        Id of every corpus item.
    corpus_ : Corpus
        The corpus (shared, not copied).
    corpus_embeddings_ : ndarray of shape (n_items, d) or (n_items, n_windows, d)
        The corpus embeddings as given, read-only (returned by ``transform``).
    index_ : ndarray of shape (n_items, d) or faiss index
        What is searched: float32 rows, the corpus' own rows when it is a float32 2-D array
        (no copy), else a float32 copy (unit-norm for ``metric="cosine"``).
    index_scale_ : ndarray of shape (n_items,) or None
        ``metric="cosine"`` on the corpus' own rows: the inverse norm of every row, applied
        to its similarities. ``None`` when ``index_`` needs no scaling.
    sample_rate_ : int or None
        The corpus' ``sample_rate``, if it has one.

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic import EmbeddingRetriever
    >>> corpus = np.eye(4)
    >>> retriever = EmbeddingRetriever(corpus).fit()
    >>> retriever.predict([[0.1, 0.9, 0.0, 0.2], [1.0, 0.0, 0.0, 0.0]])
    array([1, 0])
    >>> retriever.transform([[0.1, 0.9, 0.0, 0.2]])
    array([[0., 1., 0., 0.]])
    """

    def __init__(
        self,
        corpus=None,
        n_neighbors=1,
        metric="cosine",
        window_reduce="mean",
        backend="numpy",
        faiss_index="Flat",
        block_size=2**20,
        n_jobs=None,
    ):
        self.corpus = corpus
        self.n_neighbors = n_neighbors
        self.metric = metric
        self.window_reduce = window_reduce
        self.backend = backend
        self.faiss_index = faiss_index
        self.block_size = block_size
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.target_tags.required = False
        return tags

    def _check_params(self):
        check_positive_int(self.n_neighbors, "n_neighbors")
        check_positive_int(self.block_size, "block_size")
        for name, value, allowed in (
            ("metric", self.metric, _METRICS),
            ("window_reduce", self.window_reduce, _WINDOW_REDUCE),
            ("backend", self.backend, _BACKENDS),
        ):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}.")

    def fit(self, X=None, y=None):
        """Build the search index of the corpus.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_windows, d) or (n_samples, d), default=None
            With ``corpus=None``, the corpus itself. Otherwise optional (e.g. the
            predictions of the previous step of a Pipeline): only its dimension is checked
            against the corpus.
        y : None
            Ignored.

        Returns
        -------
        self : EmbeddingRetriever
        """
        self._check_params()
        if self.corpus is None:
            if X is None:
                raise ValueError(
                    "EmbeddingRetriever has corpus=None, so fit needs X, the embeddings to "
                    "index; pass corpus=... or fit(X)."
                )
            embeddings3, was_2d = validate_clips(self, X, reset=True)
            corpus = Corpus(embeddings3[:, 0, :] if was_2d else embeddings3)
        else:
            corpus = check_corpus(self.corpus)
            self.n_features_in_ = corpus.n_features
            if X is not None:
                validate_clips(self, X, reset=False)
        if self.n_neighbors > corpus.n_items:
            raise ValueError(
                f"n_neighbors={self.n_neighbors} is larger than the corpus, which has "
                f"{corpus.n_items} sample(s) (items): lower n_neighbors or use a larger corpus."
            )
        self.corpus_ = corpus
        self.corpus_embeddings_ = corpus.embeddings
        self.ids_ = corpus.ids
        self.n_items_ = corpus.n_items
        self.sample_rate_ = corpus.sample_rate
        embeddings = corpus.embeddings
        if embeddings.ndim == 2:
            items = embeddings
        elif embeddings.shape[1] == 1:
            items = embeddings[:, 0, :]
        else:
            items = embeddings.mean(axis=1, dtype=np.float32)
        self.index_, self.index_scale_ = self._build_index(items)
        return self

    def _build_index(self, items):
        """(searched float32 rows, their similarity scale or None): copies only if needed."""
        if self.metric == "dot":
            items = np.ascontiguousarray(items, dtype=np.float32)
            return (items if self.backend == "numpy" else self._faiss_index(items)), None
        norms = _row_norms(items, "corpus embeddings")
        low, high = _RAW_NORM_RANGE
        if (self.backend == "numpy" and items.dtype == np.float32
                and items.flags.c_contiguous and low <= norms.min() and norms.max() <= high):
            return items, (1.0 / norms).astype(np.float32)
        unit = _unit_rows(items, norms)
        return (unit if self.backend == "numpy" else self._faiss_index(unit)), None

    def _faiss_index(self, items):
        try:
            import faiss
        except ImportError as exc:
            raise ImportError("backend='faiss' needs the faiss package: pip install faiss-cpu"
                              ) from exc
        index = faiss.index_factory(items.shape[1], self.faiss_index, faiss.METRIC_INNER_PRODUCT)
        if not index.is_trained:
            index.train(items)
        index.add(items)
        return index

    def _queries(self, X):
        X3, was_2d = validate_clips(self, X, reset=False)
        n_clips, n_windows, d = X3.shape
        if self.window_reduce == "mean" or was_2d:
            return X3.mean(axis=1), (n_clips,)
        return X3.reshape(n_clips * n_windows, d), (n_clips, n_windows)

    def kneighbors(self, X, n_neighbors=None):
        """Similarities and corpus rows of the nearest items.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_windows, d) or (n_samples, d)
            Query embeddings, e.g. predicted from fMRI.
        n_neighbors : int, default=None
            Defaults to the ``n_neighbors`` parameter.

        Returns
        -------
        similarities : ndarray of shape (n_queries, n_neighbors), float32
            Best first. ``n_queries`` is ``n_clips`` (or ``(n_clips, n_windows)`` with
            ``window_reduce=None`` and 3-D input).
        indices : ndarray of shape (n_queries, n_neighbors)
            Corpus rows (use ``ids_[indices]`` for ids).
        """
        check_is_fitted(self)
        k = self.n_neighbors if n_neighbors is None else check_positive_int(
            n_neighbors, "n_neighbors")
        if k > self.n_items_:
            raise ValueError(f"n_neighbors={k} is larger than the corpus, which has "
                             f"{self.n_items_} sample(s) (items).")
        queries, lead_shape = self._queries(X)
        if self.metric == "cosine":
            queries = _unit_rows(queries, _row_norms(queries, "X"))
        else:
            queries = np.ascontiguousarray(queries, dtype=np.float32)
        if self.backend == "numpy":
            sims, indices = exact_top_k(queries, self.index_, k, block_size=self.block_size,
                                        n_jobs=self.n_jobs, item_scale=self.index_scale_)
        else:
            sims, indices = self.index_.search(np.ascontiguousarray(queries), k)
            indices = indices.astype(np.intp, copy=False)
        return sims.reshape(*lead_shape, k), indices.reshape(*lead_shape, k)

    def predict(self, X):
        """Ids of the nearest corpus items.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_windows, d) or (n_samples, d)

        Returns
        -------
        ids : ndarray of shape (n_queries,) or (n_queries, n_neighbors)
            The nearest item's id when ``n_neighbors=1``, else the ids best first.
        """
        _, indices = self.kneighbors(X)
        ids = self.ids_[indices]
        return ids[..., 0] if self.n_neighbors == 1 else ids

    def transform(self, X):
        """Embeddings of the retrieved items (averaged over the ``n_neighbors``).

        Parameters
        ----------
        X : array-like of shape (n_clips, n_windows, d) or (n_samples, d)

        Returns
        -------
        embeddings : ndarray of shape (n_queries, d) or (n_queries, n_windows, d)
            The corpus embeddings of the retrieved items, in the corpus' shape and dtype.
        """
        _, indices = self.kneighbors(X)
        if self.n_neighbors == 1:
            return self.corpus_embeddings_[indices[..., 0]]
        retrieved = self.corpus_embeddings_[indices]
        return retrieved.mean(axis=indices.ndim - 1).astype(retrieved.dtype, copy=False)

    def retrieve_audio(self, X):
        """Waveforms of the nearest corpus items (top-1 for every query).

        Parameters
        ----------
        X : array-like of shape (n_clips, n_windows, d) or (n_samples, d)

        Returns
        -------
        audio : ndarray of shape (n_queries, n_samples) or list of 1-D arrays
            From the corpus' ``audio`` array, or ``load_audio(id)`` per item (stacked when
            all have the same length). The sample rate is ``sample_rate_``.
        """
        _, indices = self.kneighbors(X, n_neighbors=1)
        return self.audio_of_rows(indices[..., 0].ravel())

    def audio_of_rows(self, rows):
        """Waveforms of corpus items by row (e.g. ``indices`` from ``kneighbors``).

        Parameters
        ----------
        rows : array-like of int of shape (n,)

        Returns
        -------
        audio : ndarray of shape (n, n_samples) or list of 1-D arrays
        """
        check_is_fitted(self)
        audio, load_audio = self.corpus_.audio, self.corpus_.load_audio
        if audio is None and load_audio is None:
            raise ValueError("The corpus has neither 'audio' nor 'load_audio': give one of "
                             "them in the corpus to retrieve audio.")
        rows = np.asarray(rows, dtype=np.intp).ravel()
        if isinstance(audio, np.ndarray):
            return audio[rows]
        waveforms = []
        for row, item_id in zip(rows, self.ids_[rows].tolist()):
            if audio is not None:  # waveforms, possibly of unequal lengths
                waveforms.append(np.asarray(audio[row], dtype=np.float32))
                continue
            try:
                waveforms.append(np.asarray(load_audio(item_id), dtype=np.float32))
            except Exception as exc:
                raise OSError(f"Could not load the audio of corpus item id={item_id!r} "
                              f"(row {row}): {exc}") from exc
        if len({w.shape for w in waveforms}) == 1:
            return np.stack(waveforms)
        return waveforms

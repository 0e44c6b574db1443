"""Retrieval of the corpus items nearest to predicted embeddings (the paper's FMA retrieval).

The paper retrieves, for every predicted MuLan embedding, the FMA clip whose embedding has
the highest cosine similarity (Section 3.3). :class:`EmbeddingRetriever` does this exactly
with blocked float32 matrix products, or approximately with a ``faiss`` index for corpora
beyond memory-friendly sizes.
"""

from collections.abc import Mapping

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_info, threadpool_limits

from ._validation import check_clips, check_positive_int, validate_clips

_METRICS = ("cosine", "dot")
_WINDOW_REDUCE = ("mean", None)
_BACKENDS = ("numpy", "faiss")


def _corpus_field(corpus, name):
    if isinstance(corpus, Mapping):
        return corpus.get(name)
    return getattr(corpus, name, None)


def _normalise_rows(X, name, *, in_place=False):
    """Rows scaled to unit L2 norm (float32); zero rows are an error, not a NaN.

    ``in_place`` divides ``X`` itself (a float32 array the caller owns).
    """
    norms = np.linalg.norm(X, axis=1)
    zero = np.flatnonzero(norms == 0)
    if zero.size:
        raise ValueError(
            f"{name} has {zero.size} vector(s) of zero norm (rows {zero[:10].tolist()}"
            f"{' ...' if zero.size > 10 else ''}): their cosine similarity is undefined. "
            "Remove them, or use metric='dot'."
        )
    if in_place:
        X /= norms[:, np.newaxis]
        return X
    return (X / norms[:, np.newaxis]).astype(np.float32, copy=False)


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


def _search_query_block(queries, items, k, item_block):
    """Exact top-``k`` inner products of ``queries`` against ``items``, block by block.

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


def exact_top_k(queries, items, k, *, block_size=2**20, n_jobs=None):
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
        return _search_query_block(queries[start:start + query_block], items, k, item_block)

    if n_threads == 1:
        results = [search(start) for start in starts]
    else:
        with threadpool_limits(limits=1, user_api="blas"):
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

    Parameters
    ----------
    corpus : array-like, mapping, object or None, default=None
        The items to retrieve from, fixed and independent of the training fold:

        - an array of embeddings ``(n_items, d)`` (ids are then the row numbers);
        - a mapping or object (e.g. a :class:`~sklearn.utils.Bunch`) with ``embeddings``
          ``(n_items, d)`` or ``(n_items, n_windows, d)`` (windows are averaged for the
          search), and optionally ``ids`` ``(n_items,)``, ``audio`` ``(n_items, n_samples)``
          or ``load_audio`` (a callable ``id -> waveform``), and ``sample_rate``;
        - ``None``: the ``X`` given to ``fit`` is the corpus (as in
          :class:`~sklearn.neighbors.NearestNeighbors`).
    n_neighbors : int, default=1
        Number of items retrieved per query. ``transform`` averages their embeddings.
    metric : {"cosine", "dot"}, default="cosine"
        Similarity. ``"cosine"`` (the paper's) rejects zero-norm vectors.
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
    corpus_embeddings_ : ndarray of shape (n_items, d) or (n_items, n_windows, d)
        The corpus embeddings as given (returned by ``transform``).
    index_ : ndarray of shape (n_items, d) or faiss index
        What is searched: unit-norm float32 rows for ``metric="cosine"``.
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
        corpus = self.corpus
        if corpus is None:
            if X is None:
                raise ValueError(
                    "EmbeddingRetriever has corpus=None, so fit needs X, the embeddings to "
                    "index; pass corpus=... or fit(X)."
                )
            embeddings3, was_2d = validate_clips(self, X, reset=True)
            embeddings = embeddings3[:, 0, :] if was_2d else embeddings3
            ids, audio, load_audio, sample_rate = None, None, None, None
        else:
            is_array = not isinstance(corpus, Mapping) and _corpus_field(
                corpus, "embeddings") is None
            embeddings = corpus if is_array else _corpus_field(corpus, "embeddings")
            if embeddings is None:
                raise ValueError("corpus has no 'embeddings': give an array (n_items, d) or "
                                 "a mapping with 'embeddings' and optionally 'ids', "
                                 "'audio', 'load_audio', 'sample_rate'.")
            ids, audio, load_audio, sample_rate = (
                (None,) * 4 if is_array else
                tuple(_corpus_field(corpus, key)
                      for key in ("ids", "audio", "load_audio", "sample_rate"))
            )
            embeddings3, was_2d = check_clips(embeddings, name="corpus embeddings")
            embeddings = embeddings3[:, 0, :] if was_2d else embeddings3
            self.n_features_in_ = embeddings3.shape[2]
            if X is not None:
                validate_clips(self, X, reset=False)
        n_items = embeddings.shape[0]
        if self.n_neighbors > n_items:
            raise ValueError(
                f"n_neighbors={self.n_neighbors} is larger than the corpus, which has "
                f"{n_items} sample(s) (items): lower n_neighbors or use a larger corpus."
            )
        if ids is None:
            ids = np.arange(n_items)
        else:
            ids = np.asarray(ids)
            if ids.shape != (n_items,):
                raise ValueError(f"corpus ids has shape {ids.shape} but there are {n_items} "
                                 "embeddings: give one id per item.")
        if audio is not None and len(audio) != n_items:
            raise ValueError(f"corpus audio has {len(audio)} clips but there are {n_items} "
                             "embeddings: give one waveform per item.")
        if load_audio is not None and not callable(load_audio):
            raise TypeError(f"corpus load_audio must be callable (id -> waveform), got "
                            f"{type(load_audio).__name__}.")
        self.corpus_embeddings_ = embeddings
        self.ids_ = ids
        self.n_items_ = n_items
        self.sample_rate_ = sample_rate
        self._audio = audio
        self._load_audio = load_audio
        if embeddings3.shape[1] == 1:
            items, owned = embeddings3[:, 0, :], False
        else:
            items, owned = embeddings3.mean(axis=1, dtype=np.float32), True
        # Never more than one float32 copy of the corpus (a 3-D corpus' window mean is
        # normalised in place).
        self.index_ = self._build_index(
            self._prepare(items, "corpus embeddings", in_place=owned))
        return self

    def _prepare(self, vectors, name, *, in_place=False):
        if self.metric == "cosine":
            return _normalise_rows(vectors.astype(np.float32, copy=False), name,
                                   in_place=in_place)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _build_index(self, items):
        if self.backend == "numpy":
            return items
        try:
            import faiss
        except ImportError as exc:
            raise ImportError("backend='faiss' needs the faiss package: pip install faiss-cpu"
                              ) from exc
        index = faiss.index_factory(items.shape[1], self.faiss_index, faiss.METRIC_INNER_PRODUCT)
        items = np.ascontiguousarray(items)
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
        queries = self._prepare(queries, "X")
        if self.backend == "numpy":
            sims, indices = exact_top_k(queries, self.index_, k, block_size=self.block_size,
                                        n_jobs=self.n_jobs)
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
        if self._audio is None and self._load_audio is None:
            raise ValueError("The corpus has neither 'audio' nor 'load_audio': give one of "
                             "them in the corpus mapping to retrieve audio.")
        rows = np.asarray(rows, dtype=np.intp).ravel()
        if isinstance(self._audio, np.ndarray):
            return self._audio[rows]
        waveforms = []
        for row, item_id in zip(rows, self.ids_[rows].tolist()):
            if self._audio is not None:  # a list of waveforms, possibly of unequal lengths
                waveforms.append(np.asarray(self._audio[row], dtype=np.float32))
                continue
            try:
                waveforms.append(np.asarray(self._load_audio(item_id), dtype=np.float32))
            except Exception as exc:
                raise OSError(f"Could not load the audio of corpus item id={item_id!r} "
                              f"(row {row}): {exc}") from exc
        if len({w.shape for w in waveforms}) == 1:
            return np.stack(waveforms)
        return waveforms

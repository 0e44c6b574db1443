import copy
import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.utils import Bunch

from skbrainmusic import EmbeddingRetriever
from skbrainmusic.evaluation import retrieved_identification_scorer
from skbrainmusic.metrics import identification_accuracy
from skbrainmusic.retrieval import Corpus, check_corpus, exact_top_k


def brute_force(queries, items, k):
    """Reference: full float64 similarity matrix, ties broken by the lower row."""
    sims = queries.astype(np.float64) @ items.astype(np.float64).T
    rows = np.arange(items.shape[0])
    indices = np.array([np.lexsort((rows, -row))[:k] for row in sims])
    return np.take_along_axis(sims, indices, axis=1), indices


def unit_rows(A):
    return A / np.linalg.norm(A, axis=1, keepdims=True)


@pytest.mark.parametrize("k", [1, 2, 7])
@pytest.mark.parametrize("block_size", [50, 997, 2**20])
@pytest.mark.parametrize("n_jobs", [None, 2])
def test_exact_top_k_equals_brute_force_with_ties(k, block_size, n_jobs):
    # Small integer vectors: exact float32 products and many tied similarities.
    rng = np.random.default_rng(k)
    queries = rng.integers(-2, 3, size=(61, 5)).astype(np.float32)
    items = rng.integers(-2, 3, size=(403, 5)).astype(np.float32)
    sims, indices = exact_top_k(queries, items, k, block_size=block_size, n_jobs=n_jobs)
    ref_sims, ref_indices = brute_force(queries, items, k)
    assert sims.dtype == np.float32 and sims.shape == (61, k)
    np.testing.assert_array_equal(indices, ref_indices)
    np.testing.assert_array_equal(sims, ref_sims)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cosine_retriever_matches_brute_force(dtype):
    # float32: the corpus rows are searched in place with their inverse norms; float64: a
    # unit-norm float32 copy is searched.
    rng = np.random.default_rng(0)
    items = rng.standard_normal((500, 16)).astype(dtype)
    queries = rng.standard_normal((40, 16))
    retriever = EmbeddingRetriever(items, n_neighbors=5, block_size=64).fit()
    sims, indices = retriever.kneighbors(queries)
    ref_sims, ref_indices = brute_force(unit_rows(queries), unit_rows(items), 5)
    np.testing.assert_array_equal(indices, ref_indices)
    np.testing.assert_allclose(sims, ref_sims, atol=1e-5)
    np.testing.assert_array_equal(retriever.predict(queries), ref_indices)


def test_duplicate_items_lower_row_wins():
    items = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 0.0], [1.0, 0.0]])
    retriever = EmbeddingRetriever(items, n_neighbors=3).fit()
    _, indices = retriever.kneighbors([[3.0, 0.0]])
    np.testing.assert_array_equal(indices, [[1, 2, 3]])


def test_corpus_mapping_ids_transform_and_audio():
    rng = np.random.default_rng(1)
    embeddings = rng.standard_normal((30, 3, 8)).astype(np.float32)
    audio = rng.standard_normal((30, 100)).astype(np.float32)
    ids = np.array([f"track{i:03d}" for i in range(30)])
    corpus = {"embeddings": embeddings, "ids": ids, "audio": audio, "sample_rate": 8000}
    retriever = EmbeddingRetriever(corpus).fit()
    queries = embeddings[[4, 17]] + 0.01 * rng.standard_normal((2, 3, 8))
    np.testing.assert_array_equal(retriever.predict(queries), ["track004", "track017"])
    retrieved = retriever.transform(queries)
    assert retrieved.shape == (2, 3, 8) and retrieved.dtype == np.float32
    np.testing.assert_array_equal(retrieved, embeddings[[4, 17]])
    np.testing.assert_array_equal(retriever.retrieve_audio(queries), audio[[4, 17]])
    assert retriever.sample_rate_ == 8000


def test_window_reduce_none_searches_every_window():
    items = np.eye(3)
    queries = np.array([[[1.0, 0.1, 0.0], [0.0, 0.2, 1.0]]])
    per_window = EmbeddingRetriever(items, window_reduce=None).fit()
    np.testing.assert_array_equal(per_window.predict(queries), [[0, 2]])
    assert per_window.transform(queries).shape == (1, 2, 3)
    averaged = EmbeddingRetriever(items).fit()
    assert averaged.predict(queries).shape == (1,)


def test_transform_averages_neighbours():
    items = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    retriever = EmbeddingRetriever(items, n_neighbors=2).fit()
    np.testing.assert_allclose(retriever.transform([[1.0, 0.0]]), [[0.95, 0.05]])


def test_load_audio_failure_names_the_item():
    def load_audio(item_id):
        if item_id == "bad":
            raise FileNotFoundError("no such file: bad.mp3")
        return np.zeros(10)

    corpus = {"embeddings": np.eye(2), "ids": np.array(["good", "bad"]),
              "load_audio": load_audio}
    retriever = EmbeddingRetriever(corpus).fit()
    assert retriever.retrieve_audio([[1.0, 0.0]]).shape == (1, 10)
    with pytest.raises(OSError, match="id='bad'"):
        retriever.retrieve_audio([[0.0, 1.0]])


class RidgeTransformer(Ridge):
    """A regressor usable as an intermediate Pipeline step (its transform predicts)."""

    def transform(self, X):
        return self.predict(X)


def test_pipeline_retrieval_beats_shuffled_control():
    # Predicted embeddings -> retrieval -> identification against the true embeddings.
    rng = np.random.default_rng(2)
    n_train, n_test, n_voxels, d = 120, 40, 60, 10
    weights = rng.standard_normal((n_voxels, d))
    responses = rng.standard_normal((n_train + n_test, n_voxels))
    embeddings = responses @ weights + 0.5 * rng.standard_normal((n_train + n_test, d))
    corpus = np.concatenate([embeddings[n_train:], rng.standard_normal((200, d))])
    model = make_pipeline(RidgeTransformer(alpha=1.0), EmbeddingRetriever(corpus))
    model.fit(responses[:n_train], embeddings[:n_train])
    retrieved = model.transform(responses[n_train:])
    assert identification_accuracy(embeddings[n_train:], retrieved) > 0.9
    shuffled = clone(model).fit(responses[:n_train], rng.permutation(embeddings[:n_train]))
    chance = identification_accuracy(embeddings[n_train:], shuffled.transform(responses[n_train:]))
    assert 0.3 < chance < 0.7


def test_faiss_flat_matches_numpy():
    pytest.importorskip("faiss")
    rng = np.random.default_rng(3)
    items = rng.standard_normal((300, 12))
    queries = rng.standard_normal((25, 12))
    exact = EmbeddingRetriever(items, n_neighbors=4).fit().kneighbors(queries)
    flat = EmbeddingRetriever(items, n_neighbors=4, backend="faiss").fit().kneighbors(queries)
    np.testing.assert_array_equal(flat[1], exact[1])
    np.testing.assert_allclose(flat[0], exact[0], atol=1e-5)
    hnsw = EmbeddingRetriever(items, backend="faiss", faiss_index="HNSW32").fit()
    assert (hnsw.predict(queries) == exact[1][:, 0]).mean() > 0.8


@pytest.mark.parametrize(
    "corpus, kwargs, fit_X, query, match",
    [
        (np.eye(3), {}, None, np.ones((1, 4)), "expecting 3 features"),
        (np.eye(3), {}, np.ones((2, 5)), None, "expecting 3 features"),
        (np.zeros((0, 3)), {}, None, None, "0 sample"),
        (np.eye(3), {"n_neighbors": 4}, None, None, "n_neighbors=4 is larger"),
        (np.array([[1.0, 0.0], [0.0, 0.0]]), {}, None, None, r"zero norm \(rows \[1\]"),
        (np.eye(2), {}, None, np.zeros((1, 2)), "X has 1 vector"),
        (np.eye(2), {"metric": "l2"}, None, None, "metric must be one of"),
        (np.eye(2), {"backend": "annoy"}, None, None, "backend must be one of"),
        ({"ids": [1, 2]}, {}, None, None, "corpus has no 'embeddings'"),
        ({"embeddings": np.eye(2), "ids": [1]}, {}, None, None, "one id per item"),
        (None, {}, None, None, "fit needs X"),
    ],
)
def test_bad_input_errors(corpus, kwargs, fit_X, query, match):
    retriever = EmbeddingRetriever(corpus, **kwargs)
    with pytest.raises(ValueError, match=match):
        retriever.fit(fit_X)
        retriever.predict(query)


def test_dot_metric_accepts_zero_vectors():
    retriever = EmbeddingRetriever(np.array([[1.0, 0.0], [0.0, 0.0]]), metric="dot").fit()
    np.testing.assert_array_equal(retriever.predict([[-1.0, 0.0]]), [1])


def test_no_audio_in_corpus_is_reported():
    retriever = EmbeddingRetriever(np.eye(2)).fit()
    with pytest.raises(ValueError, match="neither 'audio' nor 'load_audio'"):
        retriever.retrieve_audio([[1.0, 0.0]])


def test_retrieve_audio_from_a_list_of_waveforms():
    rng = np.random.default_rng(0)
    E = rng.standard_normal((5, 8))
    audio = [np.full(10 + k, float(k), dtype=np.float32) for k in range(5)]
    retriever = EmbeddingRetriever({"embeddings": E, "audio": audio}).fit()
    waveforms = retriever.retrieve_audio(E[[3, 1]])
    assert [w[0] for w in waveforms] == [3.0, 1.0]
    assert [w.size for w in waveforms] == [13, 11]
    same_length = EmbeddingRetriever({"embeddings": E, "audio": [a[:10] for a in audio]}).fit()
    assert same_length.retrieve_audio(E[[4]]).shape == (1, 10)


def float64_cosine_top_k(queries, items, k):
    """Reference in float64, rows scaled by their largest magnitude before normalising."""
    def unit(A):
        A = np.asarray(A, dtype=np.float64)
        A = A / np.abs(A).max(axis=1, keepdims=True)
        return A / np.linalg.norm(A, axis=1, keepdims=True)

    return brute_force(unit(queries), unit(items), k)[1]


@pytest.mark.parametrize("dtype, scale", [
    (np.float32, 1e-30), (np.float32, 1e19), (np.float32, 1e36),
    (np.float64, 1e19), (np.float64, 1e200), (np.float64, 1e-200),
])
def test_cosine_is_scale_robust(dtype, scale):
    # float32 squares of values >= 1e19 overflow: norms are computed in float64 (float64
    # rows rescaled first), so the answer is the float64 one, without a RuntimeWarning.
    rng = np.random.default_rng(4)
    items = (rng.standard_normal((300, 8)) * scale).astype(dtype)
    queries = (rng.standard_normal((20, 8)) * scale).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        retriever = EmbeddingRetriever(items, n_neighbors=3).fit()
        _, indices = retriever.kneighbors(queries)
    np.testing.assert_array_equal(indices, float64_cosine_top_k(queries, items, 3))
    assert len(set(indices[:, 0].tolist())) > 5


def test_float32_corpus_is_searched_without_copy():
    rng = np.random.default_rng(5)
    embeddings = rng.standard_normal((400, 12)).astype(np.float32)
    corpus = Corpus(embeddings)
    retriever = EmbeddingRetriever(corpus, n_neighbors=4, block_size=100).fit()
    assert np.shares_memory(retriever.index_, embeddings)
    assert np.shares_memory(retriever.corpus_embeddings_, embeddings)
    np.testing.assert_allclose(retriever.index_scale_,
                               1 / np.linalg.norm(embeddings.astype(np.float64), axis=1),
                               rtol=1e-6)
    # Same neighbours as a search of the unit-norm copy.
    queries = rng.standard_normal((50, 12))
    unit_copy = EmbeddingRetriever(embeddings.astype(np.float64), n_neighbors=4).fit()
    assert unit_copy.index_scale_ is None
    np.testing.assert_array_equal(retriever.kneighbors(queries)[1],
                                  unit_copy.kneighbors(queries)[1])
    # A windowed corpus averages its windows into one float32 array.
    windowed = EmbeddingRetriever(Corpus(np.repeat(embeddings[:, None], 2, axis=1))).fit()
    assert windowed.index_.shape == (400, 12) and not np.shares_memory(windowed.index_,
                                                                       embeddings)
    np.testing.assert_array_equal(windowed.predict(queries),
                                  retriever.kneighbors(queries)[1][:, 0])


def test_corpus_holds_read_only_views_and_is_never_copied():
    rng = np.random.default_rng(6)
    embeddings = rng.standard_normal((10, 3, 4))
    audio = rng.standard_normal((10, 50)).astype(np.float32)
    ids = np.array([f"clip{i}" for i in range(10)])
    corpus = Corpus(embeddings, ids=ids, audio=audio, sample_rate=8000)
    for view, original in ((corpus.embeddings, embeddings), (corpus.audio, audio),
                           (corpus.ids, ids)):
        assert np.shares_memory(view, original) and not view.flags.writeable
    assert embeddings.flags.writeable  # the caller's arrays are untouched
    assert copy.copy(corpus) is corpus and copy.deepcopy(corpus) is corpus
    assert (corpus.n_items, corpus.n_features, len(corpus)) == (10, 4, 10)
    with pytest.raises(AttributeError, match="immutable"):
        corpus.sample_rate = 16000
    with pytest.raises(AttributeError, match="immutable"):
        del corpus.audio
    retriever = EmbeddingRetriever(corpus, n_neighbors=2)
    cloned = clone(retriever)
    assert cloned.corpus is corpus
    # GridSearchCV clones per candidate and fold: the corpus stays one object.
    fitted = clone(retriever).fit()
    assert fitted.corpus_ is corpus
    assert "Corpus(n_items=10, embeddings=(10, 3, 4) float64, audio=(10, 50)" in repr(retriever)


def test_corpus_of_unequal_waveforms_and_pickle():
    waves = [np.arange(5.0), np.arange(7.0)]
    corpus = Corpus(np.eye(2), audio=waves, load_audio=None, sample_rate=16000.0)
    assert isinstance(corpus.audio, tuple) and corpus.sample_rate == 16000
    assert all(np.shares_memory(a, b) for a, b in zip(corpus.audio, waves))
    restored = pickle.loads(pickle.dumps(corpus))
    assert restored is not corpus and repr(restored) == repr(corpus)
    np.testing.assert_array_equal(restored.embeddings, np.eye(2))
    assert not restored.embeddings.flags.writeable
    assert not any(wave.flags.writeable for wave in restored.audio)
    with pytest.raises(AttributeError, match="immutable"):
        restored.ids = None
    retriever = pickle.loads(pickle.dumps(EmbeddingRetriever(corpus).fit()))
    np.testing.assert_array_equal(retriever.retrieve_audio([[0.0, 1.0]])[0], np.arange(7.0))


@pytest.mark.parametrize("embeddings, kwargs, error, match", [
    (np.ones((2, 2, 2, 2)), {}, ValueError, r"2-D .* or 3-D .*shape \(2, 2, 2, 2\)"),
    ([[1.0, np.nan]], {}, ValueError, "NaN"),
    (np.eye(2), {"ids": [1, 2, 3]}, ValueError, "one id per item"),
    (np.eye(2), {"audio": np.zeros((3, 4))}, ValueError, "one waveform per"),
    (np.eye(2), {"load_audio": "a.wav"}, TypeError, "must be callable"),
    (np.eye(2), {"sample_rate": 0}, ValueError, "corpus sample_rate must be"),
    (np.eye(2), {"labels": ["rock"]}, ValueError, "one label per item"),
    (np.eye(2), {"labels": "rock"}, TypeError, "sequence of str"),
    (np.eye(2), {"labels": ["rock", 3]}, TypeError, "got 3"),
    (np.eye(2), {"labels": ["rock", ""]}, TypeError, "non-empty str"),
])
def test_corpus_validation(embeddings, kwargs, error, match):
    with pytest.raises(error, match=match):
        Corpus(embeddings, **kwargs)


def test_corpus_labels_are_read_only_and_survive_pickle():
    labels = ["rock", "jazz", "rock"]
    corpus = Corpus(np.eye(3), labels=labels)
    assert corpus.labels.tolist() == labels and not corpus.labels.flags.writeable
    assert Corpus(np.eye(3)).labels is None
    restored = pickle.loads(pickle.dumps(corpus))
    assert restored.labels.tolist() == labels and not restored.labels.flags.writeable
    assert check_corpus({"embeddings": np.eye(3), "labels": labels}).labels.tolist() == labels
    with pytest.raises(AttributeError, match="immutable"):
        corpus.labels = None


def test_check_corpus_accepts_arrays_mappings_and_bunches():
    corpus = Corpus(np.eye(3))
    assert check_corpus(corpus) is corpus
    assert check_corpus(np.eye(3)).ids.tolist() == [0, 1, 2]
    bunch = Bunch(embeddings=np.eye(3), ids=["a", "b", "c"], sample_rate=8000, extra=1)
    for given in (bunch, dict(bunch)):
        built = check_corpus(given)
        assert built.ids.tolist() == ["a", "b", "c"] and built.sample_rate == 8000
    with pytest.raises(ValueError, match="corpus has no 'embeddings'"):
        check_corpus({"ids": [0]})


def test_grid_search_over_a_pipeline_with_a_corpus():
    # The corpus survives every clone of the grid search as the same object.
    rng = np.random.default_rng(7)
    responses = rng.standard_normal((60, 20))
    embeddings = responses[:, :6] + 0.3 * rng.standard_normal((60, 6))
    corpus = Corpus(np.concatenate([embeddings, rng.standard_normal((40, 6))]))
    search = GridSearchCV(make_pipeline(RidgeTransformer(), EmbeddingRetriever(corpus)),
                          {"ridgetransformer__alpha": [1.0, 1e6]},
                          scoring=retrieved_identification_scorer, cv=KFold(3))
    search.fit(responses, embeddings)
    assert search.best_params_ == {"ridgetransformer__alpha": 1.0}
    assert search.best_estimator_[-1].corpus_ is corpus


def test_fitted_retriever_with_a_corpus_round_trips_through_persistence(tmp_path):
    from skbrainmusic.persistence import load_model, save_model

    rng = np.random.default_rng(8)
    corpus = Corpus(rng.standard_normal((20, 4)).astype(np.float32),
                    ids=[f"clip{i}" for i in range(20)],
                    audio=rng.standard_normal((20, 16)).astype(np.float32), sample_rate=8000)
    retriever = EmbeddingRetriever(corpus).fit()
    save_model(retriever, tmp_path / "retriever.skops")
    loaded = load_model(tmp_path / "retriever.skops")
    queries = rng.standard_normal((6, 4))
    np.testing.assert_array_equal(loaded.predict(queries), retriever.predict(queries))
    np.testing.assert_array_equal(loaded.retrieve_audio(queries),
                                  retriever.retrieve_audio(queries))
    assert isinstance(loaded.corpus_, Corpus) and not loaded.corpus_.audio.flags.writeable

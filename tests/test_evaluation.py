import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline

from skbrainmusic import (
    AudioEmbedder,
    AudioTagger,
    ConditionedGenerator,
    Corpus,
    EmbeddingRetriever,
)
from skbrainmusic.datasets import make_synthetic_study
from skbrainmusic.evaluation import (
    chance_retrieval,
    evaluate_reconstructions,
    identification_by_genre,
    oracle_retrieval,
    retrieved_identification_scorer,
)
from skbrainmusic.generation import SpectrogramBackend
from skbrainmusic.metrics import identification_accuracy


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return make_synthetic_study(n_train_runs=1, n_test_runs=1, n_voxels=300, n_corpus=20,
                                data_home=tmp_path_factory.mktemp("evaluation_home"))


@pytest.fixture(scope="module")
def figure1(study):
    """Retrieval, generation, oracle and chance reconstructions of the 10 test clips."""
    rate = study.sample_rate
    embedder = AudioEmbedder(backend="mel", sample_rate=rate)
    corpus_audio = np.concatenate([np.asarray(study.corpus.audio),
                                   np.asarray(study.audio_train)])
    corpus_embeddings = embedder.fit_transform(corpus_audio)
    test_embeddings = embedder.transform(np.asarray(study.audio_test))
    # A decoder's predictions: the true embeddings plus noise.
    rng = np.random.default_rng(0)
    predicted = test_embeddings + 0.5 * test_embeddings.std() * rng.standard_normal(
        test_embeddings.shape)
    retriever = EmbeddingRetriever({"embeddings": corpus_embeddings, "audio": corpus_audio,
                                    "sample_rate": rate}).fit()
    generator = ConditionedGenerator(SpectrogramBackend(n_iter=4, hop_length=512), corpus=Corpus(
        corpus_embeddings, audio=corpus_audio, sample_rate=rate)).fit()
    reconstructions = {
        "retrieval": retriever.retrieve_audio(predicted),
        "generation": generator.generate(predicted, random_state=0),
        "oracle": oracle_retrieval(retriever, test_embeddings),
        "chance": chance_retrieval(retriever, len(test_embeddings), random_state=0),
        "original": np.asarray(study.audio_test),
    }
    labels = [list(g) + list(i) + list(m) for g, i, m in zip(
        study.clips_train["genres"], study.instruments_train, study.moods_train)]
    tagger = AudioTagger(embedder=AudioEmbedder(backend="mel")).fit(
        study.audio_train, labels, sample_rate=rate)
    return reconstructions, tagger


def test_figure1_table_with_oracle_and_chance(study, figure1):
    reconstructions, tagger = figure1
    table = evaluate_reconstructions(
        study.audio_test, reconstructions, sample_rate=study.sample_rate,
        embedders={"mel": AudioEmbedder(backend="mel")}, tagger=tagger)
    assert list(table.index) == list(reconstructions)
    assert list(table.columns) == ["identification_mel", "top_n_genres", "top_n_instruments",
                                   "top_n_moods"]
    assert ((table >= 0) & (table <= 1)).all().all()
    # The originals reconstruct themselves perfectly: the metrics are exact, not leaky.
    np.testing.assert_allclose(table.loc["original"], 1.0)
    assert table.loc["oracle", "identification_mel"] > table.loc["chance",
                                                                 "identification_mel"] + 0.1
    assert table.loc["oracle", "top_n_genres"] > table.loc["chance", "top_n_genres"]
    for method in ("retrieval", "generation"):
        assert table.loc[method, "identification_mel"] > table.loc["chance",
                                                                  "identification_mel"] + 0.1

    per_clip = evaluate_reconstructions(
        study.audio_test, reconstructions, sample_rate=study.sample_rate, tagger=tagger,
        average=False)
    assert per_clip.shape == (5 * 10, 3)
    np.testing.assert_allclose(per_clip.groupby(level="method", sort=False).mean(),
                               table[per_clip.columns])


def test_identification_by_genre(study):
    embeddings = AudioEmbedder(backend="mel", sample_rate=study.sample_rate).fit_transform(
        np.asarray(study.audio_test))
    genres = study.clips_test["genre"].to_numpy()
    perfect = identification_by_genre(embeddings, embeddings, genres)
    assert list(perfect.index) == sorted(set(genres)) and (perfect == 1.0).all()
    shuffled = identification_by_genre(embeddings, embeddings[::-1], genres)
    assert shuffled.mean() < 0.8
    y_true = np.array([[3.0, 0, 0], [0, 3.0, 0], [0, 0, 3.0], [1.0, 1.0, 0]])
    y_pred = np.array([[3.0, 0, 0], [0, 1.0, 1.1], [1.0, 0, 0], [2.0, 0.0, 1.0]])
    expected = pd.Series(identification_accuracy(y_true, y_pred, average=False)).groupby(
        ["a", "a", "b", "b"]).mean()
    pd.testing.assert_series_equal(identification_by_genre(y_true, y_pred, ["a", "a", "b", "b"]),
                                   expected.rename("identification_accuracy"))
    with pytest.raises(ValueError, match="one genre per clip"):
        identification_by_genre(y_true, y_pred, ["a", "b"])


class RidgeTransformer(Ridge):
    def transform(self, X):
        return self.predict(X)


def test_retrieved_identification_scorer_beats_shuffled_control():
    rng = np.random.default_rng(1)
    responses = rng.standard_normal((150, 40))
    embeddings = responses @ rng.standard_normal((40, 8)) + 0.3 * rng.standard_normal((150, 8))
    corpus = np.concatenate([embeddings[100:], rng.standard_normal((100, 8))])
    model = make_pipeline(RidgeTransformer(), EmbeddingRetriever(corpus))
    model.fit(responses[:100], embeddings[:100])
    assert retrieved_identification_scorer(model, responses[100:], embeddings[100:]) > 0.9
    model.fit(responses[:100], rng.permutation(embeddings[:100]))
    assert retrieved_identification_scorer(model, responses[100:], embeddings[100:]) < 0.7


def test_chance_retrieval_draws_distinct_items():
    audio = np.arange(50, dtype=float).reshape(10, 5)
    retriever = EmbeddingRetriever({"embeddings": np.eye(10), "audio": audio}).fit()
    drawn = chance_retrieval(retriever, 10, random_state=0)
    assert sorted(drawn[:, 0]) == list(range(0, 50, 5))
    assert chance_retrieval(retriever, 12, random_state=0).shape == (12, 5)


@pytest.mark.parametrize(
    "reconstructions, kwargs, match",
    [
        ({}, {"embedders": {"f": lambda a, r: a}}, "reconstructions is empty"),
        ({"x": np.zeros((3, 10))}, {}, "nothing to score"),
        ({"x": np.zeros((2, 10))}, {"embedders": {"f": lambda a, r: a}}, "one reconstruction"),
    ],
)
def test_bad_input_errors(reconstructions, kwargs, match):
    with pytest.raises(ValueError, match=match):
        evaluate_reconstructions(np.ones((3, 10)), reconstructions, sample_rate=100, **kwargs)


def test_score_reconstructions_within_group_and_agreement():
    from skbrainmusic.evaluation import ClipDescription, score_reconstructions

    rng = np.random.default_rng(2)
    embeddings = rng.standard_normal((6, 3, 10))
    classes = ("Blues", "Jazz", "Rock music", "Sad music", "Happy music")
    proba = rng.uniform(size=(6, 5))
    original = ClipDescription({"e": embeddings}, proba, classes)
    # Clips 0 and 1 swapped: wrong among all clips, and within their group.
    swapped = original.take([1, 0, 2, 3, 4, 5])
    groups = ["a", "a", "b", "b", "c", "d"]
    per_clip = score_reconstructions(original, swapped, groups=groups, average=False)
    assert list(per_clip.columns) == ["identification_e", "identification_e_within_group",
                                      "top_n_genres", "top_n_moods"]
    np.testing.assert_allclose(per_clip["identification_e"],
                               identification_accuracy(embeddings, embeddings[[1, 0, 2, 3, 4, 5]],
                                                       average=False))
    within = per_clip["identification_e_within_group"].to_numpy()
    np.testing.assert_array_equal(within[:4], [0.0, 0.0, 1.0, 1.0])
    assert np.isnan(within[4:]).all()
    assert score_reconstructions(original, swapped, groups=groups)[
        "identification_e_within_group"] == pytest.approx(0.5)
    np.testing.assert_allclose(per_clip["top_n_genres"][2:], 1.0)
    with pytest.raises(ValueError, match="lack the evaluation embeddings"):
        score_reconstructions(original, ClipDescription({"other": embeddings}))
    with pytest.raises(ValueError, match="same tagger"):
        score_reconstructions(original, ClipDescription({"e": embeddings}))


def test_describe_clips_keeps_windows_and_tags(study, figure1):
    from skbrainmusic.evaluation import describe_clips

    _, tagger = figure1
    mel = AudioEmbedder(backend="mel", window=5.0, sample_rate=study.sample_rate,
                        standardize=False).fit()
    spectrum = lambda audio, rate: np.abs(np.fft.rfft(audio))[:, :20]  # noqa: E731
    description = describe_clips(study.audio_test[:3], sample_rate=study.sample_rate,
                                 embedders={"mel": mel, "spectrum": spectrum}, tagger=tagger)
    assert description.embeddings["mel"].shape == (3, 7, 128)
    assert description.embeddings["spectrum"].shape == (3, 20)
    assert description.proba.shape == (3, len(tagger.classes_))
    assert description.classes == tuple(tagger.classes_)
    assert describe_clips(study.audio_test[:3], sample_rate=study.sample_rate,
                          embedders={"spectrum": spectrum}).proba is None


def test_chance_rows_are_seeded_and_distinct():
    from skbrainmusic.evaluation import chance_rows

    rows = chance_rows(10, 10, random_state=3)
    assert sorted(rows) == list(range(10))
    np.testing.assert_array_equal(rows, chance_rows(10, 10, random_state=3))
    assert chance_rows(3, 8, random_state=0).shape == (8,)

import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone

from skbrainmusic import AudioEmbedder
from skbrainmusic.composer import Composer
from skbrainmusic.generation._attributes import (
    N_BANDS,
    estimate_attributes,
    key_from_chroma,
    key_scores,
)
from skbrainmusic.generation._score import ScoreBackend

RATE = 22050
DURATION = 5.0
GENRES = ("rock", "jazz", "classical")


@pytest.fixture(scope="module")
def corpus():
    """Composed clips with known attributes and their librosa embeddings."""
    rng = np.random.default_rng(0)
    n = 48
    truth = {
        "genre": [GENRES[i % 3] for i in range(n)],
        "tempo": rng.uniform(80.0, 150.0, n),
        "key": rng.integers(0, 12, n),
        "mode": rng.choice(["major", "minor"], n),
    }
    attributes = [{"genre": g, "tempo": float(t), "key": int(k), "mode": str(m)}
                  for g, t, k, m in zip(*truth.values())]
    audio = Composer(sample_rate=RATE, duration=DURATION, fade=0.3).generate(attributes, 0)
    embedder = AudioEmbedder(backend="librosa", window=DURATION, sample_rate=RATE,
                             clip_duration=DURATION)
    embeddings = embedder.fit_transform(audio)[:, 0]
    return {"audio": audio, "embeddings": embeddings, **{k: np.asarray(v)
                                                         for k, v in truth.items()}}


def test_key_profiles_find_the_key_of_a_scale():
    major = np.array([3, 0, 1, 0, 2, 1, 0, 2, 0, 1, 0, 1], float)
    for tonic in (0, 5, 11):
        found, is_major, scores = key_from_chroma(np.roll(major, tonic)[None])
        assert (found[0], is_major[0]) == (tonic, True)
        assert scores.shape == (1, 24)
    with pytest.raises(ValueError, match="12 pitch classes"):
        key_scores(np.ones((2, 7)))


def test_estimators_recover_composed_attributes_and_a_shuffle_does_not(corpus):
    estimated = estimate_attributes(corpus["audio"], RATE)
    tempo, true_tempo = estimated.tempo.to_numpy(), corpus["tempo"]
    ratio = np.min([np.abs(tempo / (true_tempo * f) - 1) for f in (0.5, 1, 2)], axis=0)
    assert np.mean(ratio <= 0.04) >= 0.7
    key_hits = estimated.tonic.to_numpy() == corpus["key"]
    assert key_hits.mean() >= 0.5
    shuffled = estimated.tonic.to_numpy()[np.random.default_rng(1).permutation(48)]
    # Chance is 1/12: a shuffle must lose most of the hits.
    assert np.mean(shuffled == corpus["key"]) <= 0.25
    assert np.all(estimated.loudness > 0)
    assert np.all(np.isfinite(estimated.filter(like="envelope_").to_numpy()))


def _fit(corpus, rows, embeddings=None, validation=None, **params):
    embeddings = corpus["embeddings"] if embeddings is None else embeddings
    return ScoreBackend(random_state=0, **params).fit(
        embeddings[rows], corpus["audio"][rows], RATE, labels=corpus["genre"][rows],
        validation=validation)


def test_decoded_attributes_follow_the_embedding_and_a_shuffle_does_not(corpus):
    train, test = np.arange(36), np.arange(36, 48)
    backend = _fit(corpus, train)
    decoded = backend.decode_attributes(corpus["embeddings"][test])
    permuted = np.random.default_rng(0).permutation(train)
    control = ScoreBackend(random_state=0).fit(
        corpus["embeddings"][permuted], corpus["audio"][train], RATE,
        labels=corpus["genre"][train]).decode_attributes(corpus["embeddings"][test])
    genre_hits = np.mean(decoded.genre.to_numpy() == corpus["genre"][test])
    control_hits = np.mean(control.genre.to_numpy() == corpus["genre"][test])
    assert genre_hits >= 0.8 and genre_hits - control_hits >= 0.3
    # The key is read off the decoded chroma: right far more often than chance (1/12).
    key_hits = np.mean(decoded.tonic.to_numpy() == corpus["key"][test])
    control_key_hits = np.mean(control.tonic.to_numpy() == corpus["key"][test])
    assert key_hits >= 0.4 and key_hits - control_key_hits >= 0.25
    assert set(decoded.columns) >= {"genre", "genre_proba", "tempo", "tonic", "mode", "key",
                                    "key_proba", "density", "instruments", "moods"}
    low, high = backend.tempo_range_
    assert np.all((decoded.tempo >= low) & (decoded.tempo <= high))
    assert all(abs(sum(p.values()) - 1) < 1e-3 for p in decoded.genre_proba)
    assert all(len(envelope) == N_BANDS for envelope in decoded.envelope)


def test_shrinkage_follows_the_validation_noise(corpus):
    train, validation = np.arange(36), np.arange(36, 48)
    embeddings = corpus["embeddings"]
    clean = _fit(corpus, train, validation=(embeddings[validation],
                                            corpus["audio"][validation]))
    noise = np.random.default_rng(0).standard_normal(embeddings[validation].shape)
    noisy = _fit(corpus, train, validation=(noise * embeddings.std(axis=0) + embeddings.mean(
        axis=0), corpus["audio"][validation]))
    # Clean embeddings decode the key (chroma) and the tonal balance: little shrinkage; pure
    # noise: the genre's. (On 12 validation clips of 5 s the tempo is too noisy to tell.)
    for name in ("chroma_0", "envelope_0"):
        column = clean.target_names_.index(name)
        assert clean.shrinkage_[column] >= 0.6 and noisy.shrinkage_[column] <= 0.4
    assert clean.shrinkage_.mean() > noisy.shrinkage_.mean()
    assert clean.genre_means_.shape == (3, len(clean.target_names_))
    assert np.all(_fit(corpus, train).shrinkage_ == 1.0)
    with pytest.raises(TypeError, match="validation must be a tuple"):
        _fit(corpus, train, validation=embeddings[validation])


def test_fit_shrinkage_on_shared_attributes_equals_the_fit_with_validation(corpus):
    train, validation = np.arange(36), np.arange(36, 48)
    noise = np.random.default_rng(1).standard_normal(corpus["embeddings"][validation].shape)
    decoded = corpus["embeddings"][validation] + noise * corpus["embeddings"].std(axis=0)
    reference = _fit(corpus, train, validation=(decoded, corpus["audio"][validation]))
    backend = _fit(corpus, train)
    attributes = backend.estimate_attributes(corpus["audio"][validation])
    assert backend.fit_shrinkage(decoded, attributes=attributes) is backend
    np.testing.assert_array_equal(backend.shrinkage_, reference.shrinkage_)
    assert not np.all(backend.shrinkage_ == 1.0)
    # refitting on clean embeddings replaces (never compounds) the previous shrinkage
    clean = _fit(corpus, train, validation=(corpus["embeddings"][validation],
                                            corpus["audio"][validation]))
    backend.fit_shrinkage(corpus["embeddings"][validation], attributes=attributes)
    np.testing.assert_array_equal(backend.shrinkage_, clean.shrinkage_)
    with pytest.raises(ValueError, match="audio or their attributes"):
        backend.fit_shrinkage(decoded)
    with pytest.raises(ValueError, match="audio or their attributes"):
        backend.fit_shrinkage(decoded, corpus["audio"][validation], attributes=attributes)
    with pytest.raises(TypeError, match="DataFrame"):
        backend.fit_shrinkage(decoded, attributes=attributes.to_numpy())
    with pytest.raises(ValueError, match="attributes lack"):
        backend.fit_shrinkage(decoded, attributes=attributes.drop(columns=["chroma_0"]))
    with pytest.raises(ValueError, match="12 embeddings but 11"):
        backend.fit_shrinkage(decoded, attributes=attributes.iloc[:11])


def test_generate_returns_waveforms_of_the_corpus_format(corpus):
    backend = _fit(corpus, np.arange(24))
    audio = backend.generate(corpus["embeddings"][:3], random_state=1)
    assert audio.shape == (3, int(DURATION * RATE)) and audio.dtype == np.float32
    assert backend.sample_rate_ == RATE and backend.n_features_in_ == 210
    assert np.array_equal(audio, backend.generate(corpus["embeddings"][:3], random_state=1))
    assert not np.array_equal(audio[0], audio[1])
    # Windows are averaged.
    three_d = np.repeat(corpus["embeddings"][:3, None], 2, axis=1)
    assert np.array_equal(audio, backend.generate(three_d, random_state=1))
    assert clone(backend).get_params() == backend.get_params()


def _arrays(value, seen=None):
    """Every ndarray reachable from a fitted object's state."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _arrays(item, seen)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _arrays(item, seen)
    elif isinstance(value, BaseEstimator) or hasattr(value, "__dict__"):
        yield from _arrays(vars(value), seen)


def test_fitted_state_holds_no_corpus_item(corpus):
    small = _fit(corpus, np.arange(18), cv=3)
    large = _fit(corpus, np.arange(45), cv=3)
    # The fitted models' coefficients do not grow with the corpus.
    assert len(pickle.dumps(large)) <= 1.05 * len(pickle.dumps(small))
    for array in _arrays(large):
        assert 45 not in array.shape
        assert not np.shares_memory(array, corpus["audio"])
        assert not np.shares_memory(array, corpus["embeddings"])


def test_bad_input_gives_clear_errors_or_fallbacks(corpus):
    rows = np.arange(12)
    backend = _fit(corpus, rows)
    with pytest.raises(ValueError, match="210 features"):
        backend.decode_attributes(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="one waveform per embedding"):
        ScoreBackend().fit(corpus["embeddings"][:5], corpus["audio"][:4], RATE)
    with pytest.raises(ValueError, match="one genre per clip"):
        ScoreBackend().fit(corpus["embeddings"][rows], corpus["audio"][rows], RATE,
                           labels=["rock"] * 3)
    with pytest.warns(UserWarning, match="single genre"):
        single = ScoreBackend().fit(corpus["embeddings"][rows], corpus["audio"][rows], RATE,
                                    labels=["rock"] * 12)
    assert set(single.decode_attributes(corpus["embeddings"][:2]).genre) == {"rock"}
    # Far outside the corpus, the tempo stays within the corpus' range.
    extreme = backend.decode_attributes(corpus["embeddings"][:2] * 100)
    low, high = backend.tempo_range_
    assert np.all((extreme.tempo >= low) & (extreme.tempo <= high))
    unlabelled = ScoreBackend().fit(corpus["embeddings"][rows], corpus["audio"][rows], RATE)
    assert unlabelled.decode_attributes(corpus["embeddings"][:1]).genre[0] is None
    assert unlabelled.generate(corpus["embeddings"][:1], random_state=0).shape[0] == 1
    with pytest.raises(ValueError, match="beat"):
        ScoreBackend().fit(corpus["embeddings"][rows], np.zeros((12, 22050)), RATE)


def test_score_backend_behind_the_generator_facade(corpus):
    from skbrainmusic import ConditionedGenerator, Corpus
    from skbrainmusic.generation import ScoreBackend as PublicScoreBackend

    assert PublicScoreBackend is ScoreBackend
    generator = ConditionedGenerator(
        ScoreBackend(cv=3, random_state=0),
        corpus=Corpus(corpus["embeddings"], audio=corpus["audio"], sample_rate=RATE),
        random_state=0).fit()
    audio = generator.predict(corpus["embeddings"][:2])
    assert audio.shape == (2, corpus["audio"].shape[1]) and audio.dtype == np.float32
    assert generator.sample_rate_ == RATE
    np.testing.assert_array_equal(audio, clone(generator).fit().predict(corpus["embeddings"][:2]))
    with pytest.raises(ValueError, match="feature"):
        generator.predict(corpus["embeddings"][:2, :5])

import pickle

import numpy as np
import pytest
from _tiny_models import tiny_diffusion_components, tiny_diffusion_pipeline
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from skbrainmusic import ConditionedGenerator, Corpus
from skbrainmusic.composer import Composer
from skbrainmusic.generation import DiffusionBackend, ScoreBackend, SpectrogramBackend
from skbrainmusic.metrics import identification_accuracy

SAMPLE_RATE = 8000
SMALL = {"n_mels": 32, "n_fft": 512, "hop_length": 128, "n_iter": 8}


def small_generator(embeddings, audio, **params):
    """A spectrogram generator learning from the corpus (embeddings, audio)."""
    return ConditionedGenerator(
        SpectrogramBackend(**SMALL),
        corpus=Corpus(embeddings, audio=audio, sample_rate=SAMPLE_RATE), **params)


def make_tone_corpus(n_clips, seed, n_samples=SAMPLE_RATE):
    """Mixtures of 4 band-limited noises; the mixing weights are the informative dims."""
    rng = np.random.default_rng(seed)
    weights = rng.uniform(0.0, 1.0, (n_clips, 4)) ** 2
    spectrum = np.fft.rfft(rng.standard_normal((n_clips, 4, n_samples)), axis=2)
    edges = np.linspace(0, spectrum.shape[2], 5).astype(int)
    for band in range(4):
        keep = np.zeros(spectrum.shape[2], dtype=bool)
        keep[edges[band]:edges[band + 1]] = True
        spectrum[:, band, ~keep] = 0
    sources = np.fft.irfft(spectrum, n=n_samples, axis=2)
    audio = np.einsum("ib,ibt->it", weights, sources)
    embeddings = np.c_[weights, rng.standard_normal((n_clips, 2))]
    return embeddings, (audio / audio.std()).astype(np.float32)


def make_score_corpus(n_clips, seed):
    """Composed clips of two genres: embeddings hold the genre (one-hot) and noise."""
    rng = np.random.default_rng(seed)
    genres = np.array(["rock", "jazz"])[np.arange(n_clips) % 2]
    composer = Composer(sample_rate=SAMPLE_RATE, duration=2.0, fade=0.2)
    audio = composer.generate([{"genre": g, "tempo": 120.0} for g in genres], seed)
    embeddings = np.c_[genres == "rock", genres == "jazz", rng.standard_normal((n_clips, 2))]
    return embeddings.astype(float), audio, genres


def log_mel(audio):
    import librosa

    mel = librosa.feature.melspectrogram(y=audio, sr=SAMPLE_RATE, n_fft=512, hop_length=128,
                                         n_mels=32)
    return np.log(mel + 1e-6).mean(axis=-1)


def test_spectrogram_generator_recovers_spectra_beyond_shuffled_control():
    train_E, train_audio = make_tone_corpus(60, seed=0)
    test_E, test_audio = make_tone_corpus(12, seed=1)
    generator = small_generator(train_E, train_audio).fit()
    generated = generator.predict(test_E)
    assert generated.shape == test_audio.shape and generated.dtype == np.float32
    assert generator.sample_rate_ == SAMPLE_RATE
    assert identification_accuracy(log_mel(test_audio), log_mel(generated)) > 0.85

    shuffled = np.random.default_rng(2).permutation(60)
    control = small_generator(train_E[shuffled], train_audio).fit()
    chance = identification_accuracy(log_mel(test_audio), log_mel(control.predict(test_E)))
    assert chance < 0.75


def test_windows_averaged_by_default_or_generated_one_by_one():
    E, audio = make_tone_corpus(20, seed=3, n_samples=2048)
    E3 = np.repeat(E[:, None, :], 3, axis=1)
    generator = small_generator(E3, audio, random_state=0).fit()
    np.testing.assert_allclose(generator.predict(E3[:2]), generator.predict(E[:2]), atol=1e-5)
    # A windowed corpus learns from its window averages.
    flat = small_generator(E, audio, random_state=0).fit()
    np.testing.assert_array_equal(flat.predict(E[:2]), generator.predict(E[:2]))
    per_window = small_generator(E3, audio, window_reduce=None).fit()
    assert per_window.generate(E3[:2], random_state=0).shape == (2, 3, 2048)


def test_generation_is_seeded():
    E, audio = make_tone_corpus(20, seed=4, n_samples=2048)
    generator = small_generator(E, audio).fit()
    first = generator.generate(E[:2], random_state=7)
    np.testing.assert_array_equal(first, generator.generate(E[:2], random_state=7))
    assert not np.allclose(first, generator.generate(E[:2], random_state=8))


def test_generator_learns_only_from_its_corpus():
    # Inside a Pipeline, fit receives decoded predictions: they are checked for their
    # dimension and nothing else, so the fitted generator does not depend on them.
    E, audio = make_tone_corpus(20, seed=7, n_samples=2048)
    rng = np.random.default_rng(0)
    reference = small_generator(E, audio, random_state=0).fit()
    decoded = small_generator(E, audio, random_state=0).fit(rng.standard_normal((9, 2, 6)),
                                                            rng.standard_normal(9))
    np.testing.assert_array_equal(decoded.predict(E[:3]), reference.predict(E[:3]))
    np.testing.assert_array_equal(decoded.backend_.model_[-1].coef_,
                                  reference.backend_.model_[-1].coef_)
    with pytest.raises(ValueError, match="expecting 6 features"):
        small_generator(E, audio).fit(np.ones((3, 4)))


def test_backend_parameters_clone_and_grid_search():
    E, audio = make_tone_corpus(20, seed=8, n_samples=2048)
    corpus = Corpus(E, audio=audio, sample_rate=SAMPLE_RATE)
    generator = ConditionedGenerator(SpectrogramBackend(n_iter=8), corpus=corpus)
    params = generator.get_params()
    assert params["backend__n_iter"] == 8 and params["backend__n_mels"] == 64
    cloned = clone(generator).set_params(backend__n_iter=2, backend__hop_length=128)
    assert generator.backend.n_iter == 8 and cloned.backend.n_iter == 2
    assert cloned.corpus is corpus  # never copied
    fitted = cloned.fit()
    assert fitted.backend_ is not cloned.backend and not hasattr(cloned.backend, "model_")

    def score(estimator, X, y):
        return identification_accuracy(log_mel(y), log_mel(estimator.predict(X)))

    search = GridSearchCV(ConditionedGenerator(SpectrogramBackend(**SMALL), corpus=corpus,
                                               random_state=0),
                          {"backend__n_mels": [8, 32]}, scoring=score, cv=2)
    search.fit(E, audio)  # y (the clips' audio) only serves the scorer
    assert set(search.cv_results_["param_backend__n_mels"]) == {8, 32}
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.backend_.n_mels == search.best_params_["backend__n_mels"]


def test_string_backend_is_the_default_object():
    E, audio = make_tone_corpus(20, seed=9, n_samples=4096)
    corpus = Corpus(E, audio=audio, sample_rate=SAMPLE_RATE)
    by_name = ConditionedGenerator("spectrogram", corpus=corpus, random_state=0).fit()
    by_object = ConditionedGenerator(SpectrogramBackend(), corpus=corpus, random_state=0).fit()
    assert isinstance(by_name.backend_, SpectrogramBackend)
    np.testing.assert_array_equal(by_name.predict(E[:2]), by_object.predict(E[:2]))


def test_fitted_generator_pickles():
    E, audio = make_tone_corpus(20, seed=10, n_samples=2048)
    generator = small_generator(E, audio, random_state=3).fit()
    restored = pickle.loads(pickle.dumps(generator))
    np.testing.assert_array_equal(restored.predict(E[:2]), generator.predict(E[:2]))


@pytest.mark.parametrize(
    "params, corpus_args, error, match",
    [
        ({"backend": "musiclm"}, {}, ValueError,
         "backend must be 'score', 'spectrogram' or a backend"),
        ({"backend": object()}, {}, TypeError, "backend object with fit and generate"),
        ({"backend": "musicldm"}, {}, ValueError,
         r"needs weights: give backend=DiffusionBackend\('musicldm', model=...\)"),
        ({"window_reduce": "max"}, {}, ValueError, "window_reduce must be"),
        ({"corpus": None}, {}, ValueError, r"give ConditionedGenerator\(corpus=Corpus"),
        ({}, {"audio": None}, ValueError, "learns embedding -> audio on a corpus"),
        ({}, {"sample_rate": None}, ValueError, "learns embedding -> audio on a corpus"),
        ({"backend": "spectrogram", "corpus": None}, {}, ValueError,
         "SpectrogramBackend learns embedding"),
        ({"backend": "spectrogram"}, {"audio": [np.zeros(4096)] * 19 + [np.zeros(10)]},
         ValueError, "waveforms of one length"),
        ({"backend": SpectrogramBackend(n_fft=8192)}, {}, ValueError, "fewer than n_fft=8192"),
        ({"backend": SpectrogramBackend(n_iter=0)}, {}, ValueError, "n_iter must be >= 1"),
        ({"backend": DiffusionBackend()}, {}, ValueError, "needs model="),
        ({"backend": DiffusionBackend("stable-audio", model="x")}, {}, ValueError,
         "pipeline must be one of"),
        ({"backend": DiffusionBackend("audioldm", model="/nonexistent/audioldm")}, {},
         ValueError, "Could not load a AudioLDMPipeline"),
    ],
)
def test_bad_input_errors(params, corpus_args, error, match):
    E, audio = make_tone_corpus(20, seed=5, n_samples=4096)
    corpus = {"embeddings": E, "audio": audio, "sample_rate": SAMPLE_RATE, **corpus_args}
    with pytest.raises(error, match=match):
        ConditionedGenerator(**{"corpus": corpus, **params}).fit()


def test_bad_validation_for_a_backend_without_it():
    E, audio = make_tone_corpus(20, seed=5, n_samples=4096)
    corpus = Corpus(E, audio=audio, sample_rate=SAMPLE_RATE)
    with pytest.raises(ValueError, match="SpectrogramBackend.fit takes no validation"):
        ConditionedGenerator("spectrogram", corpus=corpus).fit(validation=(E, audio))


def test_score_backend_is_the_default_and_learns_the_corpus_labels():
    E, audio, genres = make_score_corpus(12, seed=0)
    labelled = Corpus(E, audio=audio, sample_rate=SAMPLE_RATE, labels=genres)
    generator = ConditionedGenerator(corpus=labelled, random_state=0).fit()
    assert isinstance(generator.backend_, ScoreBackend)
    assert generator.backend_.genres_.tolist() == ["jazz", "rock"]
    decoded = generator.backend_.decode_attributes(E)
    assert (decoded.genre.to_numpy() == genres).mean() >= 0.9
    assert generator.predict(E[:2]).shape == (2, 2 * SAMPLE_RATE)
    # The labels come from the corpus only: without them no genre is learnt.
    unlabelled = Corpus(E, audio=audio, sample_rate=SAMPLE_RATE)
    assert ConditionedGenerator(corpus=unlabelled).fit().backend_.genres_ is None
    # Labels shuffled against the embeddings: the decoded genre follows them to chance.
    shuffled = Corpus(E, audio=audio, sample_rate=SAMPLE_RATE,
                      labels=genres[np.random.default_rng(1).permutation(12)])
    control = ConditionedGenerator(corpus=shuffled).fit().backend_.decode_attributes(E)
    assert (control.genre.to_numpy() == genres).mean() <= 0.75


def test_score_backend_validation_reaches_the_backend_and_grid_search_clones():
    E, audio, genres = make_score_corpus(12, seed=1)
    corpus = Corpus(E, audio=audio, sample_rate=SAMPLE_RATE, labels=genres)
    noisy = E + np.random.default_rng(2).normal(scale=3.0, size=E.shape)
    generator = ConditionedGenerator(corpus=corpus).fit(validation=(noisy, audio))
    plain = ConditionedGenerator(corpus=corpus).fit()
    assert np.all(plain.backend_.shrinkage_ == 1)
    assert np.any(generator.backend_.shrinkage_ < 1)
    assert clone(generator).corpus is corpus
    params = ConditionedGenerator().get_params()
    assert params["backend"] == "score"
    search = GridSearchCV(
        ConditionedGenerator(ScoreBackend(), corpus=corpus, random_state=0),
        {"backend__equalise": [False, True]},
        scoring=lambda est, X, y: identification_accuracy(log_mel(y), log_mel(est.predict(X))),
        cv=2)
    search.fit(E, audio)
    assert set(search.cv_results_["param_backend__equalise"]) == {False, True}
    assert search.best_estimator_.backend_.equalise == search.best_params_["backend__equalise"]


def test_spectrogram_backend_checks_the_corpus_size():
    E, audio = make_tone_corpus(20, seed=5, n_samples=4096)
    with pytest.raises(ValueError, match="20 embeddings but 3 waveforms"):
        SpectrogramBackend().fit(E, audio[:3], SAMPLE_RATE)


def test_dimension_mismatch_at_predict():
    E, audio = make_tone_corpus(20, seed=6, n_samples=2048)
    generator = small_generator(E, audio).fit()
    with pytest.raises(ValueError, match="expecting 6 features"):
        generator.predict(np.ones((1, 4)))


@pytest.fixture(scope="module")
def tiny_components():
    pytest.importorskip("diffusers")
    return tiny_diffusion_components()


@pytest.mark.parametrize("backend", ["musicldm", "audioldm"])
def test_diffusion_backends_generate_from_embeddings(backend, tiny_components, tmp_path,
                                                    monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    pipeline = tiny_diffusion_pipeline(backend, tiny_components)
    params = {"num_inference_steps": 2, "guidance_scale": 2.0, "batch_size": 2}
    backend = DiffusionBackend(backend, model=pipeline, **params)
    generator = ConditionedGenerator(backend).fit()
    assert generator.sample_rate_ == 16000 and generator.n_features_in_ == 32
    # The weights are shared by clones, never copied.
    assert clone(generator).backend.model is pipeline
    assert generator.backend_.pipeline_ is pipeline
    embeddings = np.random.default_rng(0).standard_normal((3, 2, 32))
    audio = generator.generate(embeddings, random_state=0)
    assert audio.shape == (3, 256) and audio.dtype == np.float32 and np.isfinite(audio).all()
    # The embedding is L2-normalised: its scale does not matter.
    # (The tiny random model's output is ~1e-6: compare relatively.)
    np.testing.assert_allclose(generator.generate(3 * embeddings, random_state=0), audio,
                               rtol=1e-5, atol=0)
    assert not np.allclose(generator.generate(-embeddings, random_state=0), audio, rtol=1e-2,
                           atol=0)
    assert not np.allclose(generator.generate(embeddings, random_state=1), audio, rtol=1e-2,
                           atol=0)
    # The negative embedding enters classifier-free guidance.
    guided = ConditionedGenerator(clone(backend).set_params(negative_embedding=np.ones(32)))
    guided.fit()
    assert not np.allclose(guided.generate(embeddings, random_state=0), audio, rtol=1e-2,
                           atol=0)
    with pytest.raises(ValueError, match="negative_embedding has shape"):
        ConditionedGenerator(clone(backend).set_params(negative_embedding=np.ones(5))).fit(
        ).generate(embeddings)
    # A corpus is optional; its embeddings must match the pipeline's dimension.
    with pytest.raises(ValueError, match="have 6 dimensions but the"):
        ConditionedGenerator(backend, corpus=Corpus(np.ones((2, 6)))).fit()

    pipeline.save_pretrained(tmp_path)
    reloaded = ConditionedGenerator(clone(backend).set_params(model=str(tmp_path))).fit()
    np.testing.assert_allclose(reloaded.generate(embeddings, random_state=0), audio, rtol=1e-4,
                               atol=1e-4 * np.abs(audio).max())
    with pytest.raises(ValueError, match="expecting 32 features"):
        reloaded.generate(np.ones((1, 16)))
    with pytest.raises(ValueError, match="zero-norm"):
        reloaded.generate(np.zeros((1, 32)))

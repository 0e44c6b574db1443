import numpy as np
import pytest
from _tiny_models import tiny_diffusion_components, tiny_diffusion_pipeline

from skbrainmusic import ConditionedGenerator
from skbrainmusic.metrics import identification_accuracy

SAMPLE_RATE = 8000
SMALL = {"n_mels": 32, "n_fft": 512, "hop_length": 128, "n_iter": 8}


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


def log_mel(audio):
    import librosa

    mel = librosa.feature.melspectrogram(y=audio, sr=SAMPLE_RATE, n_fft=512, hop_length=128,
                                         n_mels=32)
    return np.log(mel + 1e-6).mean(axis=-1)


def test_spectrogram_generator_recovers_spectra_beyond_shuffled_control():
    train_E, train_audio = make_tone_corpus(60, seed=0)
    test_E, test_audio = make_tone_corpus(12, seed=1)
    generator = ConditionedGenerator(**SMALL).fit(train_E, train_audio, sample_rate=SAMPLE_RATE)
    generated = generator.predict(test_E)
    assert generated.shape == test_audio.shape and generated.dtype == np.float32
    assert generator.sample_rate_ == SAMPLE_RATE
    assert identification_accuracy(log_mel(test_audio), log_mel(generated)) > 0.85

    shuffled = np.random.default_rng(2).permutation(60)
    control = ConditionedGenerator(**SMALL).fit(train_E[shuffled], train_audio,
                                                sample_rate=SAMPLE_RATE)
    chance = identification_accuracy(log_mel(test_audio), log_mel(control.predict(test_E)))
    assert chance < 0.75


def test_windows_averaged_by_default_or_generated_one_by_one():
    E, audio = make_tone_corpus(20, seed=3, n_samples=2048)
    E3 = np.repeat(E[:, None, :], 3, axis=1)
    generator = ConditionedGenerator(random_state=0, **SMALL).fit(E3, audio,
                                                                  sample_rate=SAMPLE_RATE)
    np.testing.assert_allclose(generator.predict(E3[:2]), generator.predict(E[:2]), atol=1e-5)
    per_window = ConditionedGenerator(window_reduce=None, **SMALL).fit(
        E3, audio, sample_rate=SAMPLE_RATE)
    assert per_window.generate(E3[:2], random_state=0).shape == (2, 3, 2048)


def test_generation_is_seeded():
    E, audio = make_tone_corpus(20, seed=4, n_samples=2048)
    generator = ConditionedGenerator(**SMALL).fit(E, audio, sample_rate=SAMPLE_RATE)
    first = generator.generate(E[:2], random_state=7)
    np.testing.assert_array_equal(first, generator.generate(E[:2], random_state=7))
    assert not np.allclose(first, generator.generate(E[:2], random_state=8))


@pytest.mark.parametrize(
    "params, fit_args, match",
    [
        ({"backend": "musiclm"}, {}, "backend must be one of"),
        ({"window_reduce": "max"}, {}, "window_reduce must be"),
        ({}, {"y": None}, "learns from a corpus"),
        ({}, {"y": np.zeros((3, 4096))}, "X has 20 clips but y"),
        ({"n_fft": 8192}, {}, "fewer than n_fft=8192"),
        ({}, {"sample_rate": 0}, "sample_rate must be"),
        ({"backend": "musicldm"}, {}, "needs model="),
        ({"backend": "audioldm", "model": "/nonexistent/audioldm"}, {},
         "Could not load a AudioLDMPipeline"),
    ],
)
def test_bad_input_errors(params, fit_args, match):
    E, audio = make_tone_corpus(20, seed=5, n_samples=4096)
    kwargs = {"y": audio, "sample_rate": SAMPLE_RATE, **fit_args}
    with pytest.raises(ValueError, match=match):
        ConditionedGenerator(**params).fit(E, **kwargs)


def test_dimension_mismatch_at_predict():
    E, audio = make_tone_corpus(20, seed=6, n_samples=2048)
    generator = ConditionedGenerator(**SMALL).fit(E, audio, sample_rate=SAMPLE_RATE)
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
    generator = ConditionedGenerator(backend, model=pipeline, **params).fit(None)
    assert generator.sample_rate_ == 16000 and generator.n_features_in_ == 32
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
    guided = ConditionedGenerator(backend, model=pipeline, negative_embedding=np.ones(32),
                                  **params).fit(None)
    assert not np.allclose(guided.generate(embeddings, random_state=0), audio, rtol=1e-2,
                           atol=0)

    pipeline.save_pretrained(tmp_path)
    reloaded = ConditionedGenerator(backend, model=str(tmp_path), **params).fit(None)
    np.testing.assert_allclose(reloaded.generate(embeddings, random_state=0), audio, rtol=1e-4,
                               atol=1e-4 * np.abs(audio).max())
    with pytest.raises(ValueError, match="expecting 32 features"):
        reloaded.generate(np.ones((1, 16)))
    with pytest.raises(ValueError, match="zero-norm"):
        reloaded.generate(np.zeros((1, 32)))

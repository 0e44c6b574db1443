"""SpectrogramBackend's fit streams the corpus: batches give the ridge fitted on it whole."""

import librosa
import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbrainmusic.generation import SpectrogramBackend

RATE = 8000
SMALL = {"n_mels": 16, "n_fft": 512, "hop_length": 256, "n_iter": 2}


def corpus(n=23, d=5, seed=0):
    """Tones of embedding-dependent pitch and loudness, plus noise."""
    rng = np.random.default_rng(seed)
    E = rng.standard_normal((n, d))
    t = np.arange(RATE) / RATE
    audio = (0.5 + 0.2 * np.tanh(E[:, 1:2])) * np.sin(2 * np.pi * (300 + 100 * E[:, :1]) * t)
    audio += 0.05 * rng.standard_normal(audio.shape)
    return E, audio.astype(np.float32)


def whole_fit(E, audio, floor, alpha=10.0):
    """The reference: a ridge fitted on the corpus' whole log-mel matrix at once."""
    mel = librosa.feature.melspectrogram(y=audio, sr=RATE, n_fft=SMALL["n_fft"],
                                         hop_length=SMALL["hop_length"],
                                         n_mels=SMALL["n_mels"], power=2.0)
    targets = np.log(mel + floor).reshape(len(audio), -1)
    return make_pipeline(StandardScaler(), Ridge(alpha=alpha)).fit(E, targets), targets


@pytest.mark.parametrize("batch_size", [1, 7, 100])
def test_batched_fit_equals_the_ridge_on_the_whole_spectrogram_matrix(batch_size):
    E, audio = corpus()
    backend = SpectrogramBackend(batch_size=batch_size, **SMALL).fit(E, audio, RATE)
    power = np.mean(audio.astype(np.float64) ** 2)
    assert backend.floor_ == pytest.approx(1e-6 * power * SMALL["n_fft"] + 1e-12, rel=1e-12)
    assert backend.rms_ == pytest.approx(np.sqrt(power), rel=1e-12)
    reference, targets = whole_fit(E, audio, backend.floor_)
    ridge = backend.model_[-1]
    # Up to float32 rounding of the log-mel targets (librosa's, batch by batch or whole).
    np.testing.assert_allclose(ridge.coef_, reference[-1].coef_, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ridge.intercept_, reference[-1].intercept_, rtol=1e-6)
    np.testing.assert_allclose(backend.predict_log_mel(E).reshape(len(E), -1),
                               reference.predict(E), rtol=1e-5, atol=1e-6)
    assert backend.spectrogram_shape_ == (SMALL["n_mels"], targets.shape[1] // SMALL["n_mels"])
    # The fit learned the corpus: its spectra are predicted far better than by the mean.
    residual = targets - reference.predict(E)
    assert np.mean(residual**2) < 0.5 * np.mean((targets - targets.mean(axis=0)) ** 2)


def test_fit_reads_a_memory_mapped_corpus_batch_by_batch(tmp_path, monkeypatch):
    E, audio = corpus()
    path = tmp_path / "audio.npy"
    np.save(path, audio)
    mapped = np.load(path, mmap_mode="r")
    seen = []
    log_mel = SpectrogramBackend._log_mel

    def spying(self, batch):
        seen.append(len(batch))
        return log_mel(self, batch)

    monkeypatch.setattr(SpectrogramBackend, "_log_mel", spying)
    streamed = SpectrogramBackend(batch_size=5, **SMALL).fit(E, mapped, RATE)
    assert seen == [5, 5, 5, 5, 3]  # never the corpus' spectrogram matrix at once
    seen.clear()
    whole = SpectrogramBackend(batch_size=len(E), **SMALL).fit(E, audio, RATE)
    assert seen == [len(E)]
    np.testing.assert_allclose(streamed.model_[-1].coef_, whole.model_[-1].coef_, rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(streamed.generate(E[:2], random_state=0),
                               whole.generate(E[:2], random_state=0), rtol=1e-4, atol=1e-6)


def test_bad_settings_and_corpora_are_refused():
    E, audio = corpus(n=6)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        SpectrogramBackend(batch_size=0).fit(E, audio, RATE)
    with pytest.raises(ValueError, match="alpha must be a non-negative number, got -1"):
        SpectrogramBackend(alpha=-1).fit(E, audio, RATE)
    with pytest.raises(ValueError, match="6 embeddings but 5 waveforms"):
        SpectrogramBackend(**SMALL).fit(E, audio[:5], RATE)
    with pytest.raises(ValueError, match="NaN or infinite"):
        broken = audio.copy()
        broken[4, 10] = np.nan
        SpectrogramBackend(batch_size=2, **SMALL).fit(E, broken, RATE)
    with pytest.raises(ValueError, match="fewer than n_fft=512"):
        SpectrogramBackend(**SMALL).fit(E, audio[:, :100], RATE)

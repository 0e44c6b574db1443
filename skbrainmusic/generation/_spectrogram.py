"""Offline generation backend: embedding -> log-mel spectrogram (ridge) -> Griffin-Lim."""

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted

from .._validation import check_positive_int
from ..tagging import _check_sample_rate, check_audio


class SpectrogramBackend(BaseEstimator):
    """Generation backend: a ridge map from clip embeddings to log-mel spectrograms.

    The offline default of :class:`~skbrainmusic.ConditionedGenerator` (no weights). ``fit``
    learns, on a corpus of clips, a ridge map from standardised embeddings to the log-mel
    spectrogram of the clip; ``generate`` predicts a spectrogram and inverts it with
    Griffin-Lim (mel filters inverted by their pseudo-inverse), at the corpus' loudness.

    Honest about its quality: a linear map predicts the corpus' conditional *mean*
    spectrogram, so the output keeps the coarse spectral envelope, loudness and rhythm
    density that the embedding carries (enough for taggers and embedding-based
    identification to recognise genre-like properties) but sounds blurred and phasey: no
    melody, no sharp onsets. Use it to test pipelines end to end offline, not to listen to.
    (A small torch MLP decoder, 256 hidden units, did not beat the ridge on held-out clips
    of the synthetic study: identification accuracy of the predicted log-mel 0.72 against
    0.75, with 200 training clips.)

    Parameters
    ----------
    n_mels : int, default=64
        Mel bands of the spectrogram.
    n_fft : int, default=1024
        STFT size (samples).
    hop_length : int, default=256
        STFT hop (samples).
    alpha : float, default=10.0
        Ridge penalty on standardised embeddings.
    n_iter : int, default=32
        Griffin-Lim iterations.

    Attributes
    ----------
    n_features_in_ : int
        Embedding dimension ``d``.
    sample_rate_ : int
        Sample rate of the corpus and of the generated waveforms.
    n_samples_ : int
        Length of the corpus clips and of the generated waveforms.
    model_ : Pipeline
        ``StandardScaler -> Ridge`` from embeddings to flattened log-mel spectrograms.
    spectrogram_shape_ : tuple of int
        ``(n_mels, n_frames)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic.generation import SpectrogramBackend
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(8000) / 8000
    >>> pitch = rng.uniform(200, 800, size=20)
    >>> audio = np.sin(2 * np.pi * pitch[:, None] * t)
    >>> embeddings = np.c_[pitch / 800, rng.standard_normal(20)]
    >>> backend = SpectrogramBackend(n_iter=8).fit(embeddings, audio, 8000)
    >>> backend.generate(embeddings[:2], random_state=0).shape
    (2, 8000)
    """

    def __init__(self, n_mels=64, n_fft=1024, hop_length=256, alpha=10.0, n_iter=32):
        self.n_mels = n_mels
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.alpha = alpha
        self.n_iter = n_iter

    def _log_mel(self, audio):
        import librosa

        mel = librosa.feature.melspectrogram(
            y=audio, sr=self.sample_rate_, n_fft=self.n_fft, hop_length=self.hop_length,
            n_mels=self.n_mels, power=2.0)
        return np.log(mel + self.floor_)

    def fit(self, embeddings, audio=None, sample_rate=None):
        """Learn embedding -> log-mel spectrogram on a corpus.

        Parameters
        ----------
        embeddings : array-like of shape (n_clips, d)
            Clip embeddings of the corpus.
        audio : array-like of shape (n_clips, n_samples)
            The corpus waveforms, all of the same length (at least ``n_fft`` samples).
        sample_rate : int
            Sample rate of ``audio``.

        Returns
        -------
        self : SpectrogramBackend
        """
        import librosa

        for name in ("n_mels", "n_fft", "hop_length", "n_iter"):
            check_positive_int(getattr(self, name), name)
        if embeddings is None or audio is None or sample_rate is None:
            raise ValueError(
                "SpectrogramBackend learns embedding -> audio on a corpus: give "
                "ConditionedGenerator(corpus=Corpus(embeddings, audio=..., sample_rate=...)) "
                "(or call fit(embeddings, audio, sample_rate)).")
        embeddings = check_array(embeddings, ensure_min_samples=2,
                                 input_name="corpus embeddings")
        if isinstance(audio, (list, tuple)) and len({np.shape(wave) for wave in audio}) > 1:
            raise ValueError("SpectrogramBackend needs corpus waveforms of one length: trim or "
                             "pad them to a common length.")
        audio = check_audio(audio, name="corpus audio")
        if audio.shape[0] != embeddings.shape[0]:
            raise ValueError(f"The corpus has {embeddings.shape[0]} embeddings but "
                             f"{audio.shape[0]} waveforms: give one waveform per embedding.")
        if audio.shape[1] < self.n_fft:
            raise ValueError(f"The clips have {audio.shape[1]} samples, fewer than "
                             f"n_fft={self.n_fft}: lower n_fft or give longer clips.")
        self.sample_rate_ = _check_sample_rate(sample_rate)
        self.n_features_in_ = embeddings.shape[1]
        self.n_samples_ = audio.shape[1]
        # A floor relative to the corpus' power keeps silence from dominating the log.
        self.floor_ = 1e-6 * float(np.mean(audio.astype(np.float64) ** 2)) * self.n_fft + 1e-12
        log_mel = self._log_mel(audio)
        self.spectrogram_shape_ = log_mel.shape[1:]
        self.model_ = make_pipeline(StandardScaler(), Ridge(alpha=self.alpha))
        self.model_.fit(embeddings, log_mel.reshape(len(audio), -1))
        self.mel_pinv_ = np.linalg.pinv(librosa.filters.mel(
            sr=self.sample_rate_, n_fft=self.n_fft, n_mels=self.n_mels))
        self.rms_ = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
        return self

    def predict_log_mel(self, embeddings):
        """Predicted log-mel spectrograms.

        Parameters
        ----------
        embeddings : array-like of shape (n, d)

        Returns
        -------
        log_mel : ndarray of shape (n, n_mels, n_frames)
        """
        check_is_fitted(self)
        flat = self.model_.predict(embeddings)
        return flat.reshape(len(embeddings), *self.spectrogram_shape_)

    def generate(self, embeddings, random_state=None):
        """Waveforms from clip embeddings.

        Parameters
        ----------
        embeddings : array-like of shape (n, d)
            Clip embeddings (validated by the caller).
        random_state : int, RandomState instance or None, default=None
            Seed of the Griffin-Lim phases (drawn clip after clip).

        Returns
        -------
        audio : ndarray of shape (n, n_samples_), float32
        """
        import librosa

        rng = check_random_state(random_state)
        power = np.exp(self.predict_log_mel(embeddings)) - self.floor_
        power = np.maximum(power, 0.0)
        waveforms = np.zeros((len(embeddings), self.n_samples_), dtype=np.float32)
        for i, clip_power in enumerate(power):
            # Pseudo-inverse of the mel filters: 100x faster than librosa's NNLS
            # (mel_to_stft) and no audible difference after Griffin-Lim.
            magnitude = np.sqrt(np.maximum(self.mel_pinv_ @ clip_power, 0.0))
            wave = librosa.griffinlim(
                magnitude, n_iter=self.n_iter, hop_length=self.hop_length, n_fft=self.n_fft,
                length=self.n_samples_, init="random", random_state=rng.randint(2**31 - 1))
            waveforms[i] = wave
        # Griffin-Lim loses the absolute level; restore the corpus' loudness.
        rms = np.sqrt(np.mean(waveforms.astype(np.float64) ** 2, axis=1, keepdims=True))
        waveforms *= (self.rms_ / np.maximum(rms, 1e-12)).astype(np.float32)
        return waveforms

"""Offline generation backend: embedding -> log-mel spectrogram (ridge) -> Griffin-Lim."""

import numbers

import numpy as np
from scipy import linalg
from sklearn.base import BaseEstimator
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted

from .._batches import iter_batches
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
    batch_size : int, default=32
        Corpus clips turned into spectrograms at a time in ``fit`` (memory, not results:
        the fit never holds the corpus' spectrogram matrix).

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

    def __init__(self, n_mels=64, n_fft=1024, hop_length=256, alpha=10.0, n_iter=32,
                 batch_size=32):
        self.n_mels = n_mels
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.alpha = alpha
        self.n_iter = n_iter
        self.batch_size = batch_size

    def _log_mel(self, audio):
        import librosa

        mel = librosa.feature.melspectrogram(
            y=audio, sr=self.sample_rate_, n_fft=self.n_fft, hop_length=self.hop_length,
            n_mels=self.n_mels, power=2.0)
        return np.log(mel + self.floor_)

    def fit(self, embeddings, audio=None, sample_rate=None):
        """Learn embedding -> log-mel spectrogram on a corpus.

        The corpus is read ``batch_size`` clips at a time (twice: its loudness, then its
        spectrograms), and the ridge is solved from its normal equations, accumulated batch
        by batch: memory holds one batch of spectrograms and the ``(d, n_mels * n_frames)``
        cross-products, never the corpus' spectrogram matrix, so a memory-mapped corpus
        stays on disk. The result is the ridge fitted on the whole matrix at once.

        Parameters
        ----------
        embeddings : array-like of shape (n_clips, d)
            Clip embeddings of the corpus.
        audio : array-like of shape (n_clips, n_samples)
            The corpus waveforms, all of the same length (at least ``n_fft`` samples); a
            :class:`numpy.memmap` is read batch by batch.
        sample_rate : int
            Sample rate of ``audio``.

        Returns
        -------
        self : SpectrogramBackend
        """
        import librosa

        for name in ("n_mels", "n_fft", "hop_length", "n_iter", "batch_size"):
            check_positive_int(getattr(self, name), name)
        if not (isinstance(self.alpha, numbers.Real) and self.alpha >= 0):
            raise ValueError(f"alpha must be a non-negative number, got {self.alpha!r}.")
        if embeddings is None or audio is None or sample_rate is None:
            raise ValueError(
                "SpectrogramBackend learns embedding -> audio on a corpus: give "
                "ConditionedGenerator(corpus=Corpus(embeddings, audio=..., sample_rate=...)) "
                "(or call fit(embeddings, audio, sample_rate)).")
        embeddings = check_array(embeddings, ensure_min_samples=2,
                                 input_name="corpus embeddings")
        if isinstance(audio, (list, tuple)):
            if len({np.shape(wave) for wave in audio}) > 1:
                raise ValueError("SpectrogramBackend needs corpus waveforms of one length: "
                                 "trim or pad them to a common length.")
        elif not hasattr(audio, "shape") or np.ndim(audio) != 2:
            audio = check_audio(audio, name="corpus audio")
        if len(audio) != embeddings.shape[0]:
            raise ValueError(f"The corpus has {embeddings.shape[0]} embeddings but "
                             f"{len(audio)} waveforms: give one waveform per embedding.")
        self.sample_rate_ = _check_sample_rate(sample_rate)
        # First pass: the corpus' power. A floor relative to it keeps silence from
        # dominating the log; the generated clips get its loudness.
        energy = 0.0
        for batch in self._batches(audio):
            if batch.shape[1] < self.n_fft:
                raise ValueError(f"The clips have {batch.shape[1]} samples, fewer than "
                                 f"n_fft={self.n_fft}: lower n_fft or give longer clips.")
            energy += float(np.sum(batch.astype(np.float64) ** 2))
            self.n_samples_ = batch.shape[1]
        power = energy / (len(audio) * self.n_samples_)
        self.n_features_in_ = embeddings.shape[1]
        self.floor_ = 1e-6 * power * self.n_fft + 1e-12
        self.rms_ = float(np.sqrt(power))
        # Second pass: the normal equations of the ridge on standardised embeddings, with
        # its intercept (centred X and Y), as Ridge's cholesky solver forms them.
        scaler = StandardScaler().fit(embeddings)
        X = scaler.transform(embeddings)
        offset = X.mean(axis=0)
        X -= offset
        cross, total, start = None, None, 0
        for batch in self._batches(audio):
            log_mel = self._log_mel(batch)
            targets = log_mel.reshape(len(batch), -1).astype(np.float64)
            rows = X[start:start + len(batch)]
            if cross is None:
                self.spectrogram_shape_ = log_mel.shape[1:]
                cross, total = rows.T @ targets, targets.sum(axis=0)
            else:
                cross += rows.T @ targets
                total += targets.sum(axis=0)
            start += len(batch)
        mean = total / len(X)
        cross -= np.outer(X.sum(axis=0), mean)
        gram = X.T @ X
        gram.flat[::gram.shape[0] + 1] += self.alpha
        try:
            coef = linalg.solve(gram, cross, assume_a="pos").T
        except linalg.LinAlgError:  # alpha=0 on collinear embeddings: least squares
            coef = linalg.lstsq(gram, cross)[0].T
        # A plain fitted Ridge, so the model is inspected and saved like any other.
        ridge = Ridge(alpha=self.alpha)
        ridge.coef_, ridge.intercept_ = coef, mean - offset @ coef.T
        ridge.n_features_in_ = X.shape[1]
        self.model_ = make_pipeline(scaler, ridge)
        self.mel_pinv_ = np.linalg.pinv(librosa.filters.mel(
            sr=self.sample_rate_, n_fft=self.n_fft, n_mels=self.n_mels))
        return self

    def _batches(self, audio):
        """``batch_size`` corpus clips at a time, as float32 ``(n, n_samples)``."""
        for batch in iter_batches(audio, self.batch_size):
            yield check_audio(batch, name="corpus audio")

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

"""Stimulus features of an experiment: embeddings standardised with the training stimuli."""

import hashlib
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.feature_selection import VarianceThreshold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from ..embeddings._cache import clip_digest

_SOURCES = ("audio", "captions")


@dataclass(frozen=True)
class EmbeddingSpec:
    """One decoding target of Table 1: an embedder of the stimuli and its window.

    Parameters
    ----------
    key : str
        Name of the embedding in the results (e.g. ``"clap"``).
    embedder : transformer
        Unfitted embedder of the stimuli: of audio clips ``(n_clips, n_samples)`` (e.g.
        :class:`~skbrainmusic.AudioEmbedder`) when ``source="audio"``, of caption texts
        (e.g. :class:`~skbrainmusic.CaptionEmbedder`) when ``source="captions"``. It
        returns ``(n_clips, n_windows, d)`` or ``(n_clips, d)`` (one window).
    window : float
        Window length in seconds (Table A.2): the fMRI scans are averaged on the same
        windows (step ``step`` of the experiment) before decoding.
    source : {"audio", "captions"}, default="audio"
        What the embedder reads. Only audio embeddings can judge reconstructions.
    label : str, default=""
        Description for reports (e.g. ``"audio features, 10 s windows"``).
    analog : str, default=""
        The paper's embedding it stands for (e.g. ``"MuLan music"``).
    standardize : bool, default=True
        Standardise every dimension with the mean and standard deviation of the training
        stimuli (all windows), dropping dimensions constant over them; see
        :class:`StimulusFeatures`.
    """

    key: str
    embedder: object
    window: float
    source: str = "audio"
    label: str = ""
    analog: str = ""
    standardize: bool = True

    def __post_init__(self):
        if self.source not in _SOURCES:
            raise ValueError(f"EmbeddingSpec {self.key!r}: source must be one of {_SOURCES}, "
                             f"got {self.source!r}.")
        if not isinstance(self.window, (int, float)) or self.window <= 0:
            raise ValueError(f"EmbeddingSpec {self.key!r}: window must be a positive number "
                             f"of seconds, got {self.window!r}.")


def audio_embedder(backend, window, *, sample_rate, clip_duration, step=1.5, model=None,
                   device="cpu", cache=None):
    """The :class:`~skbrainmusic.AudioEmbedder` of the experiments' raw audio features.

    Every audio embedder of :func:`demo_embeddings` and of the command line is built here,
    so that the settings they share (window geometry, clip length) live in one place.

    Parameters
    ----------
    backend : str
        ``AudioEmbedder`` backend (``"librosa"``, ``"mel"``, ``"clap"``, ...).
    window : float
        Window length in seconds.
    sample_rate : int
        Sample rate of the stimuli.
    clip_duration : float
        Clips are padded or cut to this many seconds.
    step : float, default=1.5
        Seconds between window starts.
    model : str, path or model object, default=None
        Weights of the model backends.
    device : str, default="cpu"
        Torch device of the model backends.
    cache : str or path-like, default=None
        On-disk embedding cache.

    Returns
    -------
    embedder : AudioEmbedder
        Unfitted.

    Examples
    --------
    >>> from skbrainmusic.experiments import audio_embedder
    >>> audio_embedder("mel", 1.5, sample_rate=22050, clip_duration=15.0).window
    1.5
    """
    from ..embeddings import AudioEmbedder

    # Raw features: StimulusFeatures standardises them with the training stimuli (dropping
    # the dimensions constant there), and the offline tagger reads the raw embedding.
    return AudioEmbedder(backend=backend, window=window, step=step, model=model,
                         sample_rate=sample_rate, clip_duration=clip_duration, device=device,
                         cache=cache, standardize=False)


def caption_embedder(n_train, *, random_state=0):
    """The experiments' caption embedding: TF-IDF + SVD with at most ``n_train - 1``
    components (what ``n_train`` training captions can give), at most 128.

    Parameters
    ----------
    n_train : int
        Number of training captions.
    random_state : int, default=0
        Seed of the SVD.

    Returns
    -------
    embedder : CaptionEmbedder
        Unfitted.

    Examples
    --------
    >>> from skbrainmusic.experiments import caption_embedder
    >>> caption_embedder(40).n_components
    39
    """
    from ..embeddings import CaptionEmbedder

    return CaptionEmbedder(n_components=min(128, n_train - 1), random_state=random_state,
                           standardize=False)


def _digest(X):
    """Content key of an audio array (None for other input, which is never remembered)."""
    if not isinstance(X, np.ndarray) or X.dtype.kind != "f":
        return None
    # The digests of its clips (:func:`clip_digest`: hashed in place, and remembered for
    # the audio of a cached study, whose clips the caches have hashed already: comparing
    # its 0.6 GB of training stimuli with itself reads neither again).
    digest = hashlib.sha256(str(X.shape).encode())
    if X.size:
        for clip in X.reshape(X.shape[0], -1) if X.ndim > 1 else X.reshape(1, -1):
            digest.update(clip_digest(clip))
    return digest.hexdigest()


class StimulusFeatures(TransformerMixin, BaseEstimator):
    """An embedding of the stimuli, standardised with the training stimuli's statistics.

    ``fit`` fits a clone of ``embedder`` on the training stimuli (audio clips or caption
    texts) and, with ``standardize=True``, the mean and standard deviation of every
    dimension over all windows of all training clips; dimensions constant over them (e.g.
    mel bands above the Nyquist frequency of low-rate audio) carry nothing and are dropped.
    ``transform`` then embeds anything in that one space - test stimuli, corpus clips,
    reconstructions - so that all are compared alike. Raw features such as tempo and
    spectral statistics have scales 500 times apart; unstandardised, the few largest
    dimensions dominate the correlations of the identification accuracy.

    The training stimuli and their raw embedding are kept, so that a tagger or a retriever
    embedding them again (the same array, or one with the same content) reuses it;
    :meth:`forget_training` drops them.

    Parameters
    ----------
    embedder : transformer
        Unfitted embedder returning ``(n_clips, n_windows, d)`` or ``(n_clips, d)``.
    standardize : bool, default=True
        Standardise (and drop constant dimensions); ``False`` returns the raw embedding.

    Attributes
    ----------
    embedder_ : transformer
        The fitted clone of ``embedder``.
    scaler_ : Pipeline or None
        ``VarianceThreshold -> StandardScaler`` fitted on the training windows.
    n_features_out_ : int
        Dimension of the output.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from skbrainmusic.experiments import StimulusFeatures
    >>> rng = np.random.default_rng(0)
    >>> audio = rng.standard_normal((6, 100))
    >>> spectrum = FunctionTransformer(lambda a: np.abs(np.fft.rfft(a))[:, None, :8])
    >>> features = StimulusFeatures(spectrum).fit(audio)
    >>> features.transform(audio).shape
    (6, 1, 8)
    >>> bool(np.allclose(features.transform(audio).std(axis=(0, 1)), 1.0))
    True
    """

    def __init__(self, embedder, standardize=True):
        self.embedder = embedder
        self.standardize = standardize

    def fit(self, X, y=None):
        """Fit the embedder and the standardisation on the training stimuli.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_samples) or list of str
            Training stimuli (audio clips or captions).
        y : None
            Ignored.

        Returns
        -------
        self : StimulusFeatures
        """
        self.fit_transform(X)
        return self

    def fit_transform(self, X, y=None):
        """Fit on the training stimuli and return their features.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_samples) or list of str
            Training stimuli.
        y : None
            Ignored.

        Returns
        -------
        features : ndarray of shape (n_clips, n_windows, n_features_out_)
        """
        self.embedder_ = clone(self.embedder).fit(X)
        raw = self._embed(X)
        self.scaler_ = None
        if self.standardize:
            self.scaler_ = make_pipeline(VarianceThreshold(), StandardScaler()).fit(
                raw.reshape(-1, raw.shape[-1]))
        self._training = {"audio": X, "digest": None, "raw": raw}
        features = self._scale(raw)
        self.n_features_out_ = features.shape[-1]
        return features

    def _embed(self, X):
        raw = np.asarray(self.embedder_.transform(X))
        return raw[:, np.newaxis, :] if raw.ndim == 2 else raw

    def raw(self, X):
        """The embedding before standardisation.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_samples) or list of str
            Stimuli of the kind the embedder reads.

        Returns
        -------
        raw : ndarray of shape (n_clips, n_windows, d)
        """
        check_is_fitted(self, "embedder_")
        training = getattr(self, "_training", None)
        if training is not None and self._is_training(X, training):
            return training["raw"]
        return self._embed(X)

    @staticmethod
    def _is_training(X, training):
        if X is training["audio"]:
            return True
        # Hashing costs a pass over the audio: only for other arrays shaped like it.
        if _digest(X) is None or np.shape(X) != np.shape(training["audio"]):
            return False
        if training["digest"] is None:
            training["digest"] = _digest(training["audio"])
        return _digest(X) == training["digest"]

    def transform(self, X):
        """Features of any stimuli in the training stimuli's standardised space.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_samples) or list of str
            Stimuli of the kind the embedder reads.

        Returns
        -------
        features : ndarray of shape (n_clips, n_windows, n_features_out_)
        """
        return self._scale(self.raw(X))

    def forget_training(self):
        """Drop the kept raw embedding of the training stimuli (e.g. before shipping this
        object to parallel workers); returns ``self``."""
        self._training = None
        return self

    def _scale(self, raw):
        if self.scaler_ is None:
            return raw
        scaled = self.scaler_.transform(raw.reshape(-1, raw.shape[-1]))
        return scaled.reshape(*raw.shape[:-1], scaled.shape[-1])


class TaggerFeatures:
    """The raw audio embedding of fitted :class:`StimulusFeatures`, as tagger input.

    A callable ``(audio, sample_rate) -> (n_clips, n_windows, d)`` for
    ``AudioTagger(embedder=...)``: the offline tagger of the experiments classifies the raw
    music embedding, reusing what the features already computed. Picklable, for parallel
    workers.

    Parameters
    ----------
    features : StimulusFeatures
        Fitted, with an audio embedder that has a ``sample_rate`` parameter.
    """

    def __init__(self, features):
        self.features = features

    def __call__(self, audio, sample_rate):
        expected = self.features.embedder_.get_params().get("sample_rate")
        if expected is not None and sample_rate != expected:
            raise ValueError(f"audio at {sample_rate} Hz given to features computed at "
                             f"{expected} Hz: resample it first.")
        return self.features.raw(audio)

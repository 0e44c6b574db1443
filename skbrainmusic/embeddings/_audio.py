"""AudioEmbedder: audio clips -> windowed embeddings ``(n_clips, n_windows, d)``."""

import numbers
import os

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array

from .._batches import release_pages
from .._validation import check_positive_int
from ..alignment import _check_seconds, n_windows
from ._cache import EmbeddingCache
from ._hf import (
    ClapAudioBackend,
    EncodecBackend,
    HubertBackend,
    W2vBertBackend,
    Wav2Vec2Backend,
)
from ._librosa import LibrosaBackend, MelBackend
from ._modulation import ModulationBackend
from ._standardize import (
    apply_standardization,
    check_standardization_fitted,
    fit_standardization,
)

_OFFLINE_BACKENDS = {"librosa": LibrosaBackend, "mel": MelBackend,
                     "modulation": ModulationBackend}
_MODEL_BACKENDS = {
    "clap": ClapAudioBackend,
    "encodec": EncodecBackend,
    "w2v-bert": W2vBertBackend,
    "wav2vec2": Wav2Vec2Backend,
    "hubert": HubertBackend,
}
BACKENDS = {**_OFFLINE_BACKENDS, **_MODEL_BACKENDS}


def _is_path(item):
    return isinstance(item, (str, os.PathLike))


class AudioEmbedder(TransformerMixin, BaseEstimator):
    """Embed audio clips window by window, with the window geometry of Table A.2.

    Window ``k`` of a clip covers ``[k * step, k * step + window)`` seconds and a clip of
    ``T`` seconds has ``floor((T - window) / step) + 1`` windows (15 s clips, step 1.5 s:
    window 10 s -> 4, 5 s -> 7, 1.5 s -> 10, 15 s -> 1), the same windows on which
    :class:`~skbrainmusic.TemporalWindowAligner` averages the fMRI scans. Every window is
    embedded from its own samples only (when the audio is resampled to the backend's rate,
    the whole clip is resampled once, so the resampling filter's few milliseconds around a
    window's edges carry a trace of its neighbours).

    Raw features have very different scales: among the 210 librosa dimensions, tempo
    (beats per minute) and log-mel energies (dB) sit next to spectral flatness and chroma
    in [0, 1]; on the synthetic study's corpus their standard deviations span a factor of
    600. The identification accuracy correlates whole embedding vectors, so on raw
    features a few large dimensions decide it (the README's decoder identifies held-out
    clips with 0.74-0.81 on standardised librosa features, 0.60-0.71 on the raw ones).
    With ``standardize=True`` (default), :meth:`fit` learns the mean and standard
    deviation of every dimension over all windows of the clips it is given and
    :meth:`transform` applies them, like :class:`~sklearn.preprocessing.StandardScaler`:
    fit on the training clips, or on independent clips such as the retrieval corpus, and
    embed everything else (test clips, corpus, reconstructions) with the same statistics,
    so that all live in one space. An unfitted embedder then raises ``NotFittedError``.
    ``standardize=False`` gives the raw features; the transform is then stateless and also
    works unfitted (:meth:`fit` only validates the parameters and loads the model). See
    :ref:`embeddings`.

    The embedding ``cache`` stores raw features, so fitted statistics never invalidate it.

    Parameters
    ----------
    backend : {"librosa", "mel", "modulation", "clap", "encodec", "w2v-bert", "wav2vec2", \
"hubert"}, default="librosa"
        - ``"librosa"``: offline default, no weights; 210 timbre, harmony and rhythm
          statistics per window (log-mel, MFCC, chroma, spectral contrast, onset flux,
          tempo; see ``skbrainmusic.embeddings._librosa.LibrosaBackend``).
        - ``"mel"``: the mean log-mel spectrum of A.1.9, ``d = 128``.
        - ``"modulation"``: offline, no weights; the modulation power spectrum of 8 log-mel
          band envelopes at 8 rates from 0.5 to 20 Hz, ``d = 64`` (how fast the loudness
          of each frequency region fluctuates: a feature family the ``"librosa"`` backend
          does not use, for a second evaluation embedding; see
          ``skbrainmusic.embeddings._modulation.ModulationBackend``).
        - ``"clap"``: CLAP audio tower (``transformers.ClapModel``, 48 kHz), projected and
          L2-normalised; the MuLan-music counterpart.
        - ``"encodec"``: ``EncodecModel`` encoder latents averaged per window
          (SoundStream-avg counterpart).
        - ``"w2v-bert"``: ``Wav2Vec2BertModel`` hidden layer ``layer`` averaged per window
          (w2v-BERT-avg counterpart), with ``SeamlessM4TFeatureExtractor``.
        - ``"wav2vec2"``, ``"hubert"``: ``Wav2Vec2Model`` / ``HubertModel`` hidden layer
          averaged per window (A.1.9).
    window : float or None, default=None
        Window length in seconds. ``None`` takes the backend's window from Table A.2:
        10 s for librosa, mel, modulation, clap, wav2vec2 and hubert (MuLan's), 5 s for w2v-bert and
        1.5 s for encodec.
    step : float, default=1.5
        Seconds between consecutive window starts.
    model : None, str, path-like, model object or (model, feature_extractor) tuple, \
default=None
        Model backends only. A local path or hub id (loaded with ``local_files_only``), a
        ``transformers`` model object (its feature extractor is then the backend's default
        one), or a pair of a model and its feature extractor. ``None`` loads the backend's
        default checkpoint (``laion/larger_clap_music``, ``facebook/encodec_24khz``,
        ``facebook/w2v-bert-2.0``, ``facebook/wav2vec2-large-960h``,
        ``facebook/hubert-large-ls960-ft``). The model is put in evaluation mode and moved
        to ``device``.
    sample_rate : int or None, default=None
        Sampling rate (Hz) of array input, required for it. For paths, the rate they are
        read at (``None``: each file's own rate). Audio is resampled with librosa to the
        backend's rate (22,050 Hz for librosa, mel and modulation, the feature extractor's
        otherwise).
    clip_duration : float or None, default=None
        Pad (with zeros) or cut every clip to this many seconds before windowing, so that
        all clips give the same windows as the fMRI (e.g. 15.0 for GTZAN excerpts of
        14.99 s, which would otherwise give 9 windows of 1.5 s instead of 10). ``None``
        uses each clip's own length; all clips must then give the same number of windows.
    batch_size : int, default=8
        Clips per forward pass (with all their windows).
    device : str, default="cpu"
        Torch device of the model backends, e.g. ``"cuda"``.
    cache : str, path-like or None, default=None
        Directory of an on-disk cache of embeddings, keyed by each clip's samples, its
        sampling rate and every setting that changes the result (backend, geometry, model
        weights, layer, feature extractor). ``None`` disables caching. Files are
        checksummed: a damaged one is reported with a warning naming it and recomputed.
    layer : int or None, default=None
        Hidden layer of w2v-bert, wav2vec2 and hubert (0 = input embeddings, negative
        counts from the end). ``None``: layer 7 for w2v-bert (the layer MusicLM
        tokenises), the last hidden state for wav2vec2 and hubert. Must be ``None`` for
        the other backends.
    local_files_only : bool, default=True
        Load models named by path or hub id from local files only; set False to allow
        downloads.
    progress : bool, default=False
        Show a progress bar (tqdm) over the clips being embedded.
    standardize : bool, default=True
        Standardise every dimension with the mean and standard deviation learned by
        :meth:`fit` over all windows of its clips (a dimension constant over them keeps
        scale 1 and maps to 0). ``False``: the raw features, whose scales differ by orders
        of magnitude; only for features you scale yourself, or to compare embeddings in a
        joint space (CLAP audio against ``CaptionEmbedder(backend="clap",
        standardize=False)``), which separate statistics per modality would break.

    Attributes
    ----------
    backend_ : object
        The backend built by :meth:`fit` (with its loaded model), reused by
        :meth:`transform`.
    mean_ : ndarray of shape (d,), dtype float64
        Mean of every raw dimension over the windows of the fitted clips
        (``standardize=True`` only).
    scale_ : ndarray of shape (d,), dtype float64
        Their standard deviation, 1 where a dimension is constant (``standardize=True``
        only).

    Notes
    -----
    The input is waveforms or paths of any length, not a feature matrix, so there is no
    ``n_features_in_``.

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic import AudioEmbedder
    >>> rng = np.random.default_rng(0)
    >>> audio = rng.standard_normal((2, 15 * 22050)).astype(np.float32)
    >>> embedder = AudioEmbedder(sample_rate=22050).fit(audio)
    >>> embedded = embedder.transform(audio)
    >>> embedded.shape
    (2, 4, 210)
    >>> bool(abs(embedded.reshape(-1, 210).std(axis=0) - 1).max() < 1e-3)
    True
    >>> raw = AudioEmbedder(backend="mel", window=1.5, sample_rate=22050, standardize=False)
    >>> raw.transform(audio).shape
    (2, 10, 128)
    """

    def __init__(
        self,
        backend="librosa",
        window=None,
        step=1.5,
        model=None,
        sample_rate=None,
        clip_duration=None,
        batch_size=8,
        device="cpu",
        cache=None,
        layer=None,
        local_files_only=True,
        progress=False,
        standardize=True,
    ):
        self.backend = backend
        self.window = window
        self.step = step
        self.model = model
        self.sample_rate = sample_rate
        self.clip_duration = clip_duration
        self.batch_size = batch_size
        self.device = device
        self.cache = cache
        self.layer = layer
        self.local_files_only = local_files_only
        self.progress = progress
        self.standardize = standardize

    def _build_backend(self):
        if self.backend not in BACKENDS:
            raise ValueError(
                f"backend={self.backend!r} is not one of {sorted(BACKENDS)}."
            )
        if self.backend in _OFFLINE_BACKENDS:
            for name in ("model", "layer"):
                if getattr(self, name) is not None:
                    raise ValueError(
                        f"{name}={getattr(self, name)!r} is not used by backend="
                        f"{self.backend!r}, which has no model: leave it None."
                    )
            return _OFFLINE_BACKENDS[self.backend]()
        return _MODEL_BACKENDS[self.backend](
            self.model, self.layer, self.device, self.local_files_only
        )

    def _check_params(self):
        check_positive_int(self.batch_size, "batch_size")
        if self.sample_rate is not None:
            check_positive_int(self.sample_rate, "sample_rate")
        if self.clip_duration is not None:
            _check_seconds(self.clip_duration, "clip_duration")
        if self.cache is not None and not _is_path(self.cache):
            raise TypeError(f"cache must be a directory path or None, got {self.cache!r}.")
        if not isinstance(self.standardize, (bool, np.bool_)):
            raise TypeError(f"standardize must be True or False, got {self.standardize!r}.")

    def _window_seconds(self, backend):
        return backend.default_window if self.window is None else self.window

    _NEEDS_RATE = "array audio needs its sampling rate: pass sample_rate=<Hz> to AudioEmbedder."
    _NOT_2D = ("audio must be a 2-D array (n_clips, n_samples) or a list of paths; got shape "
               "{shape}. A single clip is audio[np.newaxis, :].")

    def _check_container(self, X):
        """Cheap checks of the input's type and dimensions, before anything is read."""
        if _is_path(X):
            raise TypeError(
                f"X is a single path ({os.fspath(X)!r}); pass a list of paths, even of one."
            )
        if not isinstance(X, (list, tuple)) and (isinstance(X, numbers.Number)
                                                 or np.ndim(X) != 2):
            raise ValueError(self._NOT_2D.format(shape=np.shape(X)))

    def _read(self, X):
        """Clips as a list of 1-D float32 arrays and their sampling rates."""
        self._check_container(X)
        if isinstance(X, (list, tuple)) and len(X) > 0 and all(_is_path(item) for item in X):
            import librosa

            clips, rates = [], []
            for path in X:
                try:
                    clip, rate = librosa.load(os.fspath(path), sr=self.sample_rate, mono=True)
                except Exception as exc:  # decoders raise many types, some without a message
                    raise ValueError(
                        f"Cannot read the audio file {os.fspath(path)!r} "
                        f"({type(exc).__name__}{': ' if str(exc) else ''}{exc}): it is "
                        "missing, not audio, or in a format no installed decoder reads."
                    ) from exc
                clips.append(clip.astype(np.float32, copy=False))
                rates.append(int(rate))
            return clips, rates
        if isinstance(X, (list, tuple)) and len(X) > 0 and all(
            isinstance(item, np.ndarray) and item.ndim == 1 for item in X
        ):
            if self.sample_rate is None:
                raise ValueError(self._NEEDS_RATE)
            clips = [check_array(item[np.newaxis], dtype=np.float32, input_name="audio")[0]
                     for item in X]
            return clips, [int(self.sample_rate)] * len(clips)
        if self.sample_rate is None:
            raise ValueError(self._NEEDS_RATE)
        audio = check_array(X, dtype=np.float32, input_name="audio")
        return list(audio), [int(self.sample_rate)] * audio.shape[0]

    def _fix_duration(self, clips, rates):
        if self.clip_duration is None:
            return clips
        fixed = []
        for clip, rate in zip(clips, rates):
            n_samples = int(round(float(self.clip_duration) * rate))
            # Clips of the right length are kept as they are (views of the caller's array,
            # e.g. a memory-mapped corpus): np.pad would copy all of them at once.
            fixed.append(clip if clip.shape[0] == n_samples else
                         np.pad(clip[:n_samples], (0, max(0, n_samples - clip.shape[0]))))
        return fixed

    def _onsets(self, clips, rates, window):
        counts = {}
        for index, (clip, rate) in enumerate(zip(clips, rates)):
            count = n_windows(clip.shape[0] / rate, window, self.step)
            counts.setdefault(count, index)
        if len(counts) > 1:
            (count_a, clip_a), (count_b, clip_b) = list(counts.items())[:2]
            raise ValueError(
                f"clips of different lengths give different window counts (clip {clip_a}: "
                f"{count_a}, clip {clip_b}: {count_b}): pass clip_duration=<seconds> to pad "
                "or cut them to one length."
            )
        return np.arange(next(iter(counts))) * float(self.step)

    def fit(self, X=None, y=None):
        """Learn the per-dimension statistics of ``X`` and load the backend's model.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_samples), list of 1-D arrays, list of paths, \
or None
            Clips whose windows give the mean and scale of every dimension (as in
            :meth:`transform`); required when ``standardize=True``, else only type-checked.
        y : None
            Ignored.

        Returns
        -------
        self : AudioEmbedder
        """
        self._fit(X)
        return self

    def fit_transform(self, X, y=None):
        """Fit on ``X`` and return its embedding, embedding every clip once.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_samples), list of 1-D arrays, or list of paths
            As in :meth:`transform`.
        y : None
            Ignored.

        Returns
        -------
        embeddings : ndarray of shape (n_clips, n_windows, d), dtype float32
        """
        raw = self._fit(X)
        if raw is None:
            return self.transform(X)
        return apply_standardization(raw, self.mean_, self.scale_)

    def _fit(self, X):
        """Fit; return the raw embedding of ``X`` when it was computed, else None."""
        self._check_params()
        if self.standardize and X is None:
            raise ValueError(
                "standardize=True learns the mean and scale of every dimension from clips: "
                "call fit(audio) with training clips (or a corpus), or pass "
                "standardize=False for the raw features."
            )
        if X is not None:
            self._check_container(X)
        self.backend_ = self._build_backend()
        for name in ("mean_", "scale_"):
            vars(self).pop(name, None)
        if not self.standardize:
            return None
        raw = self._embed(X, self.backend_)
        self.mean_, self.scale_ = fit_standardization(raw)
        return raw

    def transform(self, X):
        """Embed every window of every clip (standardised when ``standardize=True``).

        Parameters
        ----------
        X : array-like of shape (n_clips, n_samples), list of 1-D arrays, or list of paths
            Mono audio at ``sample_rate`` Hz (a list allows clips of different lengths, see
            ``clip_duration``), or audio files (read with librosa).

        Returns
        -------
        embeddings : ndarray of shape (n_clips, n_windows, d), dtype float32
        """
        self._check_params()
        if self.standardize:
            check_standardization_fitted(self)
        backend = getattr(self, "backend_", None) or self._build_backend()
        raw = self._embed(X, backend)
        if not self.standardize:
            return raw
        return apply_standardization(raw, self.mean_, self.scale_)

    def _embed(self, X, backend):
        """Raw embedding ``(n_clips, n_windows, d)`` float32, through the cache if any."""
        window = self._window_seconds(backend)
        clips, rates = self._read(X)
        if not clips:
            raise ValueError("audio holds no clips.")
        clips = self._fix_duration(clips, rates)
        onsets = self._onsets(clips, rates, window)
        cache = None
        if self.cache is not None:
            cache = EmbeddingCache(self.cache, {
                "backend": self.backend, "window": float(window), "step": float(self.step),
                "onsets": onsets.tolist(), **backend.settings(),
            })
        embeddings = [None] * len(clips)
        keys = [None] * len(clips)
        if cache is not None:
            for index, (clip, rate) in enumerate(zip(clips, rates)):
                keys[index] = cache.key(clip, rate)
                embeddings[index] = cache.load(keys[index])
                # Clips may be views of a memory-mapped corpus: let go of the pages read.
                release_pages(X)
        missing = [index for index, found in enumerate(embeddings) if found is None]
        batch_size = check_positive_int(self.batch_size, "batch_size")
        with self._progress_bar(len(missing)) as bar:
            for begin in range(0, len(missing), batch_size):
                batch = missing[begin : begin + batch_size]
                vectors = self._embed_batch(
                    backend, [clips[i] for i in batch], [rates[i] for i in batch], onsets,
                    window,
                )
                for index, vector in zip(batch, vectors):
                    embeddings[index] = vector
                    if cache is not None:
                        cache.save(keys[index], vector)
                release_pages(X)
                bar.update(len(batch))
        # np.stack copies, so standardising the result in place never touches the cache.
        return np.stack(embeddings).astype(np.float32, copy=False)

    @staticmethod
    def _embed_batch(backend, clips, rates, onsets, window):
        rate_out = backend.sample_rate
        starts = np.round(onsets * rate_out).astype(np.int64)
        length = int(round(float(window) * rate_out))
        n_needed = int(starts[-1]) + length
        batch = np.zeros((len(clips), n_needed), dtype=np.float32)
        for row, (clip, rate) in enumerate(zip(clips, rates)):
            if rate != rate_out:
                import librosa

                clip = librosa.resample(clip, orig_sr=rate, target_sr=rate_out,
                                        res_type="soxr_hq")
            # Rounding of the resampled length may leave the last window a sample short:
            # the zero row pads it.
            batch[row, : min(n_needed, clip.shape[0])] = clip[:n_needed]
        return backend.embed(batch, starts, length)

    def _progress_bar(self, total):
        if not self.progress:
            return _NoProgress()
        try:
            from tqdm.auto import tqdm
        except ImportError as error:
            raise ImportError("progress=True needs tqdm: pip install tqdm.") from error
        return tqdm(total=total, unit="clip", desc=f"AudioEmbedder({self.backend})")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # The input is waveforms (or file paths), not a feature matrix: scikit-learn's
        # generic estimator checks (feature counts, 1-feature inputs, feature names) do not
        # apply to it; tests/_audio_estimator_checks.py replaces them.
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = bool(self.standardize)
        return tags


class _NoProgress:
    """Stand-in for a tqdm bar when ``progress=False``."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def update(self, n):
        return None

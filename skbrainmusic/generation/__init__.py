"""Music from embeddings: the generation half of the paper's decoding (Section 3.3).

:class:`ConditionedGenerator` is the facade: it turns (predicted) clip embeddings into
waveforms, with the parameters every backend shares (the corpus it learns from, how windows
are reduced, the seed). The rest belongs to a backend object, as himalaya's
``solver_params``:

- :class:`ScoreBackend` (default, offline, no weights; ``_score.py``): decodes musical
  attributes (genre, tempo, key, mode, instruments, tonal balance ...) estimated from the
  corpus audio (and the corpus' labels, e.g. its genres) and composes a new piece with
  :mod:`skbrainmusic.composer`;
- :class:`SpectrogramBackend` (baseline, offline, no weights; ``_spectrogram.py``):
  regresses the log-mel spectrogram on the embedding, so it predicts the corpus'
  conditional mean (generated clips sound alike: a spectral blur);
- :class:`DiffusionBackend` (MusicLDM / AudioLDM latent diffusion conditioned on a CLAP
  embedding, the open counterpart of MusicLM conditioned on MuLan; ``_diffusers.py``).

The backend interface
---------------------
A backend is a :class:`~sklearn.base.BaseEstimator` (constructor parameters only, so that
``clone`` and ``GridSearchCV`` reach them as ``backend__<name>``) with:

- ``fit(embeddings, audio, sample_rate)``: ``embeddings`` ``(n_clips, d)`` (windows
  averaged), ``audio`` ``(n_clips, n_samples)`` and ``sample_rate`` come from the
  generator's corpus, all ``None`` when it has none; a backend that needs them raises a
  ``ValueError`` saying so, one that does not (e.g. pretrained weights) checks at most ``d``.
  Returns ``self``. Two optional keyword arguments, passed only to a ``fit`` that
  accepts them: ``labels`` (the corpus' :attr:`~skbrainmusic.retrieval.Corpus.labels`,
  one str per clip, e.g. a genre; given when the corpus has labels) and ``validation``
  (what :meth:`ConditionedGenerator.fit` receives as ``validation``, e.g. decoded
  embeddings of other clips with their audio, to tune how decoded embeddings are used).
- ``generate(embeddings, random_state)``: ``embeddings`` ``(n, d)``, already validated by
  the facade -> waveforms ``(n, n_samples)`` float32 at ``sample_rate_``.
- fitted attributes ``sample_rate_`` (int) and ``n_features_in_`` (the embedding
  dimension ``d``).

A new backend (e.g. of the generation issue) is a class with this interface; the facade
does not change.
"""

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted, has_fit_parameter

from .._docs import fill_doc
from .._validation import validate_clips
from ..retrieval import check_corpus
from ._diffusers import EXAMPLE_MODELS, PIPELINES, DiffusionBackend
from ._score import ScoreBackend
from ._spectrogram import SpectrogramBackend

__all__ = ["ConditionedGenerator", "DiffusionBackend", "ScoreBackend", "SpectrogramBackend"]

#: Backends named by a string.
BACKENDS = {"score": ScoreBackend, "spectrogram": SpectrogramBackend}


@fill_doc
class ConditionedGenerator(BaseEstimator):
    """Generate music conditioned on clip embeddings.

    ``predict(E)`` / ``generate(E)`` return waveforms ``(n_clips, n_samples)`` at
    ``sample_rate_``. By default the windows of a clip are averaged before conditioning (the
    paper averages its window-wise MuLan predictions).

    The generator learns only from its ``corpus``: ``fit(X=None, y=None)`` fits the backend
    on the corpus and checks ``X`` (e.g. the decoded predictions of the previous step of a
    :class:`~sklearn.pipeline.Pipeline`) for its dimension only, so a Pipeline never refits
    the generator on decoded predictions, and cross-validation of the whole path from fMRI
    to music leaks nothing.

    Parameters
    ----------
    backend : "score", "spectrogram" or backend object, default="score"
        How music is made from an embedding: a backend object such as
        :class:`ScoreBackend` (offline; decodes musical attributes learnt on the corpus and
        composes a new piece), :class:`SpectrogramBackend` (offline baseline; regresses the
        corpus' spectrograms, so its clips sound alike) or :class:`DiffusionBackend`
        (MusicLDM / AudioLDM weights; needs no corpus), whose parameters ``clone`` and
        ``GridSearchCV`` reach as ``backend__<name>``. The strings ``"score"`` and
        ``"spectrogram"`` mean ``ScoreBackend()`` and ``SpectrogramBackend()``;
        ``"musicldm"`` and ``"audioldm"`` need weights, so they must be given as
        ``DiffusionBackend(pipeline, model=...)``. See :mod:`skbrainmusic.generation` for
        the backend interface.
    corpus : Corpus, mapping or object, default=None
        What the backend learns from: a :class:`~skbrainmusic.retrieval.Corpus` with
        ``embeddings`` ``(n_clips, d)`` or ``(n_clips, n_windows, d)`` (windows
        averaged), ``audio`` ``(n_clips, n_samples)``, ``sample_rate`` and optionally
        ``labels`` (one str per clip, e.g. its genre, given to a backend whose ``fit``
        takes ``labels``, as :class:`ScoreBackend`'s), or a mapping / Bunch with these
        fields. Diffusion backends need none.
    window_reduce : {"mean", None}, default="mean"
        3-D embeddings ``(n_clips, n_windows, d)``: ``"mean"`` conditions on the window
        average; ``None`` generates one waveform per window (output gains a windows axis).
    %(random_state)s
        Default seed of ``predict``; ``generate`` takes its own.

    Attributes
    ----------
    backend_ : backend object
        The fitted clone of ``backend``.
    sample_rate_ : int
        Sample rate of the generated waveforms.
    n_features_in_ : int
        Embedding dimension ``d``.

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic import ConditionedGenerator
    >>> from skbrainmusic.generation import SpectrogramBackend
    >>> from skbrainmusic.retrieval import Corpus
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(8000) / 8000
    >>> pitch = rng.uniform(200, 800, size=20)
    >>> audio = np.sin(2 * np.pi * pitch[:, None] * t)
    >>> embeddings = np.c_[pitch / 800, rng.standard_normal(20)]
    >>> corpus = Corpus(embeddings, audio=audio, sample_rate=8000)
    >>> generator = ConditionedGenerator(SpectrogramBackend(n_iter=8), corpus=corpus).fit()
    >>> generator.predict(embeddings[:2]).shape
    (2, 8000)
    """

    def __init__(self, backend="score", *, corpus=None, window_reduce="mean",
                 random_state=None):
        self.backend = backend
        self.corpus = corpus
        self.window_reduce = window_reduce
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.target_tags.required = False
        tags.non_deterministic = self.random_state is None
        return tags

    def _backend(self):
        """An unfitted backend object for the ``backend`` parameter."""
        backend = self.backend
        if isinstance(backend, str):
            if backend in BACKENDS:
                return BACKENDS[backend]()
            if backend in PIPELINES:
                raise ValueError(
                    f"backend={backend!r} needs weights: give "
                    f"backend=DiffusionBackend({backend!r}, model=...) with a local pipeline "
                    f"directory, a hub id (e.g. {EXAMPLE_MODELS[backend]!r}) or a "
                    f"{PIPELINES[backend]} object.")
            raise ValueError(f"backend must be 'score', 'spectrogram' or a backend object "
                             f"such as ScoreBackend(...), SpectrogramBackend(...) or "
                             f"DiffusionBackend(...), got {backend!r}.")
        if not all(callable(getattr(backend, name, None)) for name in ("fit", "generate")):
            raise TypeError(f"backend must be 'score', 'spectrogram' or a backend object with "
                            f"fit and generate (see skbrainmusic.generation), got "
                            f"{type(backend).__name__}.")
        return clone(backend)

    def fit(self, X=None, y=None, *, validation=None):
        """Fit the backend on the corpus (or load its weights).

        Parameters
        ----------
        X : array-like of shape (n_clips, n_windows, d) or (n_clips, d), default=None
            Optional (e.g. decoded predictions inside a Pipeline): only its dimension is
            checked against the backend's. The generator never learns from it.
        y : None
            Ignored.
        validation : tuple (decoded, audio), default=None
            For a backend whose ``fit`` takes ``validation`` (:class:`ScoreBackend`):
            embeddings decoded the way those given to :meth:`generate` will be (e.g.
            out-of-fold predictions from fMRI of the training stimuli) ``(n_validation, d)``
            or ``(n_validation, n_windows, d)``, with the waveforms of those clips
            ``(n_validation, n_samples)`` at the corpus' sample rate.

        Returns
        -------
        self : ConditionedGenerator
        """
        if self.window_reduce not in ("mean", None):
            raise ValueError(f"window_reduce must be 'mean' or None, got "
                             f"{self.window_reduce!r}.")
        backend = self._backend()
        params = {}
        if validation is not None:
            if not has_fit_parameter(backend, "validation"):
                raise ValueError(f"{type(backend).__name__}.fit takes no validation clips: "
                                 "leave validation=None or use a backend that takes them "
                                 "(e.g. ScoreBackend).")
            params["validation"] = validation
        if self.corpus is None:
            embeddings = audio = sample_rate = None
        else:
            corpus = check_corpus(self.corpus)
            embeddings = corpus.embeddings
            if embeddings.ndim == 3:
                embeddings = embeddings.mean(axis=1)
            audio, sample_rate = corpus.audio, corpus.sample_rate
            if corpus.labels is not None and has_fit_parameter(backend, "labels"):
                params["labels"] = corpus.labels
        if isinstance(backend, tuple(BACKENDS.values())) and (audio is None
                                                              or sample_rate is None):
            raise ValueError(
                f"{type(backend).__name__} learns embedding -> audio on a corpus: give "
                "ConditionedGenerator(corpus=Corpus(embeddings, audio=..., sample_rate=...)).")
        self.backend_ = backend.fit(embeddings, audio, sample_rate, **params)
        self.n_features_in_ = self.backend_.n_features_in_
        self.sample_rate_ = self.backend_.sample_rate_
        if X is not None:
            validate_clips(self, X, reset=False)
        return self

    def _conditions(self, X):
        X3, was_2d = validate_clips(self, X, reset=False)
        if self.window_reduce == "mean" or was_2d:
            return X3.mean(axis=1), (X3.shape[0],)
        return X3.reshape(-1, X3.shape[2]), X3.shape[:2]

    def generate(self, X, random_state=None):
        """Waveforms conditioned on embeddings.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_windows, d) or (n_clips, d)
            Embeddings, e.g. predicted from fMRI.
        random_state : int, RandomState instance or None, default=None
            Seed of the backend (e.g. the Griffin-Lim phases, the diffusion noise).

        Returns
        -------
        audio : ndarray of shape (n_clips, n_samples) or (n_clips, n_windows, n_samples)
            float32 waveforms at ``sample_rate_``.
        """
        check_is_fitted(self, "backend_")
        conditions, lead_shape = self._conditions(X)
        audio = self.backend_.generate(conditions, random_state)
        return np.asarray(audio).reshape(*lead_shape, audio.shape[-1])

    def predict(self, X):
        """Waveforms conditioned on ``X``, seeded by the ``random_state`` parameter.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_windows, d) or (n_clips, d)

        Returns
        -------
        audio : ndarray of shape (n_clips, n_samples) or (n_clips, n_windows, n_samples)
        """
        return self.generate(X, random_state=self.random_state)

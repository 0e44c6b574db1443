"""Figure 1 of the paper: how close reconstructed music is to the original stimulus.

Reconstructions come from retrieval (:class:`~skbrainmusic.EmbeddingRetriever`) or
generation (:class:`~skbrainmusic.ConditionedGenerator`); two bounds frame them:

- the *oracle* retrieves with the true embedding of the stimulus (a perfect fMRI decoder),
  :func:`oracle_retrieval`;
- *chance* draws random corpus items, :func:`chance_retrieval`.

:func:`score_reconstructions` is the one place where the Figure-1 scores are computed:
the identification accuracy of evaluation embeddings (Figure 1a, also within genre) and the
top-n class agreement of the three AudioSet groups (Figure 1b), from the
:class:`ClipDescription` of the originals and of the reconstructions.
:func:`evaluate_reconstructions` describes waveforms and scores them in one call (so does
:mod:`skbrainmusic.experiments`, with the experiment's own features);
:func:`identification_by_genre` splits identification accuracy by genre (Figure 1c).
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import make_scorer

from ._validation import check_positive_int
from .metrics import AUDIOSET_GROUPS, identification_accuracy
from .tagging import check_audio, embed_clips, top_n_agreement_score

_GROUPS = ("genres", "instruments", "moods")


def retrieved_identification_scorer(estimator, X, y):
    """Identification accuracy of the embeddings a retrieval model returns.

    A scorer for ``scoring=`` (or to call on a fitted model): ``estimator.transform(X)``
    (e.g. a Pipeline ending in :class:`~skbrainmusic.EmbeddingRetriever`, whose
    ``predict`` gives corpus ids) against the stimulus embeddings ``y``, as in Figure 1a.

    Parameters
    ----------
    estimator : fitted estimator with ``transform``
    X : array-like
        Input of the estimator (e.g. fMRI responses).
    y : array-like of shape (n_clips, d) or (n_clips, n_windows, d)
        Embeddings of the stimuli.

    Returns
    -------
    score : float
    """
    retrieved = np.asarray(estimator.transform(X))
    y = np.asarray(y)
    if retrieved.ndim != y.ndim:
        retrieved, y = _clip_level(retrieved), _clip_level(y)
    return float(identification_accuracy(y, retrieved))


def _clip_level(embeddings):
    return embeddings.mean(axis=1) if embeddings.ndim == 3 else embeddings


def oracle_retrieval(retriever, true_embeddings):
    """Audio retrieved with the true stimulus embeddings (the quality limit of retrieval).

    Parameters
    ----------
    retriever : fitted EmbeddingRetriever
        With corpus audio (``audio`` or ``load_audio``).
    true_embeddings : array-like of shape (n_clips, d) or (n_clips, n_windows, d)
        Embeddings of the original stimuli, in the corpus' embedding space.

    Returns
    -------
    audio : ndarray of shape (n_clips, n_samples)
        At ``retriever.sample_rate_``.
    """
    return retriever.retrieve_audio(true_embeddings)


def chance_retrieval(retriever, n_clips, random_state=None):
    """Audio of corpus items drawn at random (the chance level of Figure 1).

    Items are drawn without replacement when the corpus is large enough.

    Parameters
    ----------
    retriever : fitted EmbeddingRetriever
        With corpus audio.
    n_clips : int
        Number of clips to draw (the number of stimuli).
    random_state : int, numpy Generator or None, default=None
        Seed of the draw (see :func:`chance_rows`).

    Returns
    -------
    audio : ndarray of shape (n_clips, n_samples)
        At ``retriever.sample_rate_``.
    """
    return retriever.audio_of_rows(chance_rows(retriever.n_items_, n_clips, random_state))


def identification_by_genre(y_true, y_pred, genres):
    """Identification accuracy per genre (Figure 1c).

    Every clip's accuracy is computed against all clips (A.1.4), then averaged within its
    genre.

    Parameters
    ----------
    y_true : array-like of shape (n_clips, d) or (n_clips, n_windows, d)
        Embeddings of the original stimuli.
    y_pred : array-like of the same shape
        Embeddings of the reconstructions (or predicted embeddings).
    genres : array-like of shape (n_clips,)
        Genre of every clip.

    Returns
    -------
    accuracy : pandas.Series
        Indexed by genre (sorted), mean identification accuracy of its clips.

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic.evaluation import identification_by_genre
    >>> y = np.eye(4) + 0.1
    >>> identification_by_genre(y, y, ["jazz", "jazz", "pop", "pop"]).to_dict()
    {'jazz': 1.0, 'pop': 1.0}
    """
    genres = np.asarray(genres)
    per_clip = identification_accuracy(y_true, y_pred, average=False)
    per_clip = np.asarray(per_clip)
    if per_clip.ndim == 2:
        per_clip = per_clip.mean(axis=1)
    if genres.shape != (per_clip.shape[0],):
        raise ValueError(f"genres has shape {genres.shape} but there are {per_clip.shape[0]} "
                         "clips: give one genre per clip.")
    return pd.Series(per_clip, name="identification_accuracy").groupby(genres).mean()


@dataclass(frozen=True)
class ClipDescription:
    """What Figure 1 compares of a set of clips: evaluation embeddings and tag probabilities.

    Parameters
    ----------
    embeddings : dict of str to ndarray of shape (n_clips, d) or (n_clips, n_windows, d)
        Evaluation embeddings by name (e.g. ``"clap"``, ``"w2v-bert"``). 3-D embeddings are
        compared window by window (:func:`~skbrainmusic.metrics.identification_accuracy`).
    proba : ndarray of shape (n_clips, n_classes), default=None
        Tag probabilities of an audio tagger.
    classes : sequence of str of length n_classes, default=None
        Class names of the columns of ``proba``.
    """

    embeddings: dict
    proba: np.ndarray = None
    classes: tuple = None

    def take(self, rows):
        """The description of the clips at ``rows`` (e.g. corpus items retrieved).

        Parameters
        ----------
        rows : array-like of int of shape (n,)

        Returns
        -------
        description : ClipDescription
        """
        rows = np.asarray(rows, dtype=np.intp)
        return ClipDescription({name: value[rows] for name, value in self.embeddings.items()},
                               None if self.proba is None else self.proba[rows], self.classes)


def describe_clips(audio, *, sample_rate, embedders=None, tagger=None):
    """Evaluation embeddings and tag probabilities of waveforms.

    Parameters
    ----------
    audio : array-like of shape (n_clips, n_samples)
        Waveforms at ``sample_rate``.
    sample_rate : int
        Their sample rate.
    embedders : dict of str to transformer or callable, default=None
        *Fitted* transformers of audio at ``sample_rate`` (their ``transform(audio)`` may
        return windows, ``(n_clips, n_windows, d)``) or callables ``(audio, sample_rate) ->
        features``.
    tagger : AudioTagger, default=None
        Fitted tagger.

    Returns
    -------
    description : ClipDescription
    """
    embeddings = {}
    for name, embedder in (embedders or {}).items():
        features = (embedder.transform(audio) if hasattr(embedder, "transform")
                    else embedder(audio, sample_rate))
        embeddings[name] = np.asarray(features)
    if tagger is None:
        return ClipDescription(embeddings)
    return ClipDescription(embeddings, tagger.predict_proba(audio, sample_rate=sample_rate),
                           tuple(tagger.classes_))


def score_reconstructions(originals, reconstructions, *, groups=None, average=True):
    """Figure 1a and 1b scores of reconstructions against their originals.

    The one place where the paper's reconstruction scores are computed: the identification
    accuracy of every evaluation embedding (Figure 1a; among all clips and, with
    ``groups``, among the clips of the same group, e.g. genre), and the top-n class
    agreement of the three AudioSet groups (Figure 1b: genres top-2, instruments top-2,
    moods top-1; groups the tagger has no class of are left out).

    Parameters
    ----------
    originals, reconstructions : ClipDescription
        The same embeddings (and tag probabilities) of the originals and of their
        reconstructions, clip by clip.
    groups : array-like of shape (n_clips,), default=None
        Group of every clip (e.g. its genre) for the within-group identification columns.
    average : bool, default=True
        The mean over clips (a Series), else one row per clip (a DataFrame).

    Returns
    -------
    scores : pandas.Series or pandas.DataFrame
        Columns ``identification_<name>``, ``identification_<name>_within_group`` (with
        ``groups``; NaN for clips alone in their group, left out of the mean) and
        ``top_n_<group>``.

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic.evaluation import ClipDescription, score_reconstructions
    >>> rng = np.random.default_rng(0)
    >>> stimuli = ClipDescription({"spectrum": rng.standard_normal((6, 20))})
    >>> shuffled = stimuli.take([1, 0, 2, 3, 4, 5])
    >>> score_reconstructions(stimuli, shuffled).round(3).to_dict()
    {'identification_spectrum': 0.8}
    """
    missing = set(originals.embeddings) - set(reconstructions.embeddings)
    if missing:
        raise ValueError(f"reconstructions lack the evaluation embeddings {sorted(missing)}: "
                         "describe both sets of clips with the same embedders.")
    columns = {}
    for name, reference in originals.embeddings.items():
        columns[f"identification_{name}"] = identification_accuracy(
            reference, reconstructions.embeddings[name], average=False)
        if groups is not None:
            columns[f"identification_{name}_within_group"] = identification_accuracy(
                reference, reconstructions.embeddings[name], average=False, groups=groups)
    if originals.proba is not None:
        if reconstructions.proba is None:
            raise ValueError("originals have tag probabilities but reconstructions do not: "
                             "describe both with the same tagger.")
        classes = list(originals.classes)
        for group in _GROUPS:
            if set(AUDIOSET_GROUPS[group]) & set(classes):
                columns[f"top_n_{group}"] = top_n_agreement_score(
                    originals.proba, reconstructions.proba, classes=classes, group=group,
                    average=False)
    per_clip = pd.DataFrame(columns)
    return per_clip.mean() if average else per_clip


def chance_rows(n_items, n_clips, random_state=None):
    """Corpus rows drawn at random for ``n_clips`` clips (the chance level of Figure 1).

    Without replacement when the corpus is large enough.

    Parameters
    ----------
    n_items : int
        Corpus size.
    n_clips : int
        Number of rows to draw (the number of stimuli).
    random_state : int, numpy Generator or None, default=None
        Seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    rows : ndarray of shape (n_clips,)

    Examples
    --------
    >>> from skbrainmusic.evaluation import chance_rows
    >>> sorted(chance_rows(5, 5, random_state=0).tolist())
    [0, 1, 2, 3, 4]
    """
    n_items = check_positive_int(n_items, "n_items")
    n_clips = check_positive_int(n_clips, "n_clips")
    rng = np.random.default_rng(random_state)
    return rng.choice(n_items, size=n_clips, replace=n_items < n_clips)


def _check_reconstruction(name, value, n_clips, default_rate):
    audio, rate = value if isinstance(value, tuple) else (value, default_rate)
    audio = check_audio(audio, name=f"reconstructions[{name!r}]")
    if audio.shape[0] != n_clips:
        raise ValueError(f"reconstructions[{name!r}] has {audio.shape[0]} clips but there are "
                         f"{n_clips} originals: give one reconstruction per original.")
    return audio, rate


def evaluate_reconstructions(originals, reconstructions, *, sample_rate, embedders=None,
                             tagger=None, average=True):
    """Score reconstructions against the original clips, as in Figure 1a and 1b.

    Parameters
    ----------
    originals : array-like of shape (n_clips, n_samples)
        The stimuli, at ``sample_rate``.
    reconstructions : dict of str to array-like or (array-like, int)
        Reconstruction method (e.g. ``"retrieval"``, ``"generation"``, ``"oracle"``,
        ``"chance"``) to waveforms ``(n_clips, n_samples)`` in the order of
        ``originals``, optionally with their own sample rate.
    sample_rate : int
        Sample rate of ``originals`` (and of reconstructions given without one).
    embedders : dict of str to transformer or callable, default=None
        Evaluation embeddings (e.g. ``{"clap": AudioEmbedder(backend="clap"),
        "w2v-bert": AudioEmbedder(backend="w2v-bert")}``): column
        ``identification_<name>`` is the identification accuracy between the clip
        embeddings (windows averaged) of originals and reconstructions. Transformers are
        cloned and fitted once.
    tagger : AudioTagger, default=None
        Fitted tagger: columns ``top_n_genres``, ``top_n_instruments``, ``top_n_moods``
        (top-2, top-2, top-1; groups the tagger has no class of are left out).
    average : bool, default=True
        One row per method; else one row per (method, clip).

    Returns
    -------
    scores : pandas.DataFrame
        Indexed by method (and clip when ``average=False``).

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic.evaluation import evaluate_reconstructions
    >>> rng = np.random.default_rng(0)
    >>> originals = rng.standard_normal((6, 400))
    >>> spectrum = lambda audio, rate: np.abs(np.fft.rfft(audio))[:, :50]
    >>> scores = evaluate_reconstructions(
    ...     originals, {"same": originals, "reversed": originals[::-1]}, sample_rate=8000,
    ...     embedders={"spectrum": spectrum})
    >>> scores["identification_spectrum"].round(3).to_dict()
    {'same': 1.0, 'reversed': 0.267}
    """
    originals = check_audio(originals, name="originals")
    if not reconstructions:
        raise ValueError("reconstructions is empty: give e.g. {'retrieval': audio}.")
    if not embedders and tagger is None:
        raise ValueError("Give embedders=... and/or tagger=...: there is nothing to score "
                         "with.")
    n_clips = originals.shape[0]
    checked = {name: _check_reconstruction(name, value, n_clips, sample_rate)
               for name, value in reconstructions.items()}
    fitted = {}
    for emb_name, embedder in (embedders or {}).items():
        if hasattr(embedder, "get_params"):
            embedder = clone(embedder)
            if "sample_rate" in embedder.get_params():
                embedder.set_params(sample_rate=sample_rate)
            embedder.fit(originals)
        fitted[emb_name] = embedder

    def describe(audio, rate):
        # Clip embeddings (windows averaged), each at its own sample rate.
        return ClipDescription(
            {name: embed_clips(embedder, audio, rate) for name, embedder in fitted.items()},
            None if tagger is None else tagger.predict_proba(audio, sample_rate=rate),
            None if tagger is None else tuple(tagger.classes_))

    reference = describe(originals, sample_rate)
    per_clip = pd.concat(
        [score_reconstructions(reference, describe(audio, rate), average=False)
         for audio, rate in checked.values()],
        keys=list(checked), names=["method", "clip"])
    if average:
        return per_clip.groupby(level="method", sort=False).mean()
    return per_clip



def _generated_identification(y_true, audio, *, embedder, sample_rate):
    """Identification accuracy of the embedding of ``audio`` against ``y_true``."""
    generated = embed_clips(embedder, check_audio(audio, name="generated audio"), sample_rate)
    return float(identification_accuracy(_clip_level(np.asarray(y_true)), generated))


def make_generation_scorer(embedder, *, sample_rate):
    """Scorer of generated music: identification accuracy in an embedding space (Figure 1a).

    For ``scoring=`` in :func:`~sklearn.model_selection.cross_val_score` or
    :class:`~sklearn.model_selection.GridSearchCV` on a model whose ``predict`` returns
    waveforms (e.g. a Pipeline from fMRI responses to a
    :class:`~skbrainmusic.ConditionedGenerator`): the generated waveforms are embedded by
    ``embedder`` (windows averaged) and identified among the stimulus embeddings ``y``.

    Parameters
    ----------
    embedder : transformer or callable
        Embeds waveforms into the space of ``y``: a fitted transformer of audio such as
        :class:`~skbrainmusic.AudioEmbedder` (its ``sample_rate`` parameter, if any, is set
        to ``sample_rate``) or a callable ``(audio, sample_rate) -> features``. It must be
        the embedding that gave ``y`` (fitted on the training clips, never on generated
        audio), or the score compares different spaces.
    sample_rate : int
        Sample rate of the generated waveforms (the generator's ``sample_rate_``).

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float``, greater is better; ``y`` of shape
        ``(n_clips, d)`` or ``(n_clips, n_windows, d)`` (windows averaged).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.base import BaseEstimator
    >>> from skbrainmusic.evaluation import make_generation_scorer
    >>> spectrum = lambda audio, rate: np.abs(np.fft.rfft(audio))[:, :20]
    >>> class Echo(BaseEstimator):  # "generates" the waveforms it is given
    ...     def predict(self, X):
    ...         return X
    >>> audio = np.random.default_rng(0).standard_normal((5, 200))
    >>> scorer = make_generation_scorer(spectrum, sample_rate=8000)
    >>> scorer(Echo(), audio, spectrum(audio, 8000)), scorer(Echo(), audio[::-1],
    ...                                                      spectrum(audio, 8000))
    (1.0, 0.4)
    """
    if not (hasattr(embedder, "transform") or callable(embedder)):
        raise TypeError(f"embedder must be a transformer or a callable (audio, sample_rate) "
                        f"-> features, got {type(embedder).__name__}.")
    sample_rate = check_positive_int(sample_rate, "sample_rate")
    return make_scorer(_generated_identification, greater_is_better=True, embedder=embedder,
                       sample_rate=sample_rate)

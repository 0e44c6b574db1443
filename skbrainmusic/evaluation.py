"""Figure 1 of the paper: how close reconstructed music is to the original stimulus.

Reconstructions come from retrieval (:class:`~skbrainmusic.EmbeddingRetriever`) or
generation (:class:`~skbrainmusic.ConditionedGenerator`); two bounds frame them:

- the *oracle* retrieves with the true embedding of the stimulus (a perfect fMRI decoder),
  :func:`oracle_retrieval`;
- *chance* draws random corpus items, :func:`chance_retrieval`.

:func:`evaluate_reconstructions` scores any set of reconstructions against the originals
with identification accuracy of evaluation embeddings (Figure 1a) and the top-n class
agreement of the three AudioSet groups (Figure 1b); :func:`identification_by_genre` splits
identification accuracy by genre (Figure 1c).
"""

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import make_scorer
from sklearn.utils import check_random_state

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
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    audio : ndarray of shape (n_clips, n_samples)
        At ``retriever.sample_rate_``.
    """
    n_clips = check_positive_int(n_clips, "n_clips")
    rng = check_random_state(random_state)
    rows = rng.choice(retriever.n_items_, size=n_clips, replace=n_clips > retriever.n_items_)
    return retriever.audio_of_rows(rows)


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
    columns = {}
    for emb_name, embedder in (embedders or {}).items():
        if hasattr(embedder, "get_params"):
            embedder = clone(embedder)
            if "sample_rate" in embedder.get_params():
                embedder.set_params(sample_rate=sample_rate)
            embedder.fit(originals)
        reference = embed_clips(embedder, originals, sample_rate)
        columns[f"identification_{emb_name}"] = {
            name: identification_accuracy(reference, embed_clips(embedder, audio, rate),
                                          average=False)
            for name, (audio, rate) in checked.items()
        }
    if tagger is not None:
        proba_true = tagger.predict_proba(originals, sample_rate=sample_rate)
        proba_rec = {name: tagger.predict_proba(audio, sample_rate=rate)
                     for name, (audio, rate) in checked.items()}
        for group in _GROUPS:
            if not set(AUDIOSET_GROUPS[group]) & set(tagger.classes_):
                continue
            columns[f"top_n_{group}"] = {
                name: top_n_agreement_score(proba_true, proba, classes=tagger.classes_,
                                            group=group, average=False)
                for name, proba in proba_rec.items()
            }
    per_clip = pd.DataFrame({
        column: np.concatenate([values[name] for name in checked])
        for column, values in columns.items()
    }, index=pd.MultiIndex.from_product([list(checked), range(n_clips)],
                                        names=["method", "clip"]))
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

"""Audio tagging and the top-n class agreement of the paper (A.1.5, A.1.6).

The paper compares original and reconstructed music through the AudioSet classes that the
LEAF classifier ranks highest within three groups (genres top-2, instruments top-2, moods
top-1). :class:`AudioTagger` gives class probabilities with class names, from the Audio
Spectrogram Transformer (``backend="ast"``, 527 AudioSet classes, the open stand-in for LEAF)
or from a classifier fitted offline on labelled clips (``backend="embedding"``, default).
:func:`top_n_agreement_score` and :func:`make_top_n_agreement_scorer` turn the
probabilities into the paper's metric.
"""

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MultiLabelBinarizer, StandardScaler
from sklearn.utils.validation import check_is_fitted

from ._docs import fill_doc
from ._validation import all_finite
from .metrics import AUDIOSET_GROUPS, AUDIOSET_TOP_N, top_n_agreement_batch

_BACKENDS = ("embedding", "ast")


def check_audio(audio, name="audio"):
    """Waveforms as a float32 array ``(n_clips, n_samples)`` (1-D means one clip)."""
    if np.iscomplexobj(audio):
        raise ValueError(f"{name} is complex; give real waveforms (e.g. np.real or np.abs "
                         "of an analytic signal).")
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[np.newaxis]
    if audio.ndim != 2 or audio.shape[0] == 0 or audio.shape[1] == 0:
        raise ValueError(f"{name} must be waveforms of shape (n_clips, n_samples); got shape "
                         f"{audio.shape}.")
    if not all_finite(audio):
        raise ValueError(f"{name} contains NaN or infinite samples.")
    return audio


def _check_sample_rate(sample_rate, name="sample_rate"):
    if sample_rate is None or isinstance(sample_rate, bool) or not np.isscalar(sample_rate) \
            or sample_rate <= 0:
        raise ValueError(f"{name} must be a positive number of samples per second, got "
                         f"{sample_rate!r}.")
    return int(sample_rate)


def _group_classes(group):
    if isinstance(group, str):
        if group not in AUDIOSET_GROUPS:
            raise ValueError(f"group must be one of {sorted(AUDIOSET_GROUPS)} or a list of "
                             f"class names, got {group!r}.")
        return list(AUDIOSET_GROUPS[group])
    if group is None:
        return None
    return list(group)


def rank_classes(probabilities, classes, group=None):
    """Class names ordered by decreasing probability, per clip, within ``group``.

    Parameters
    ----------
    probabilities : array-like of shape (n_clips, n_classes)
    classes : sequence of str of length n_classes
    group : {"genres", "instruments", "moods"}, list of str or None
        Restrict the ranking to these classes (those absent from ``classes`` are ignored).
        ``None`` ranks all classes.

    Returns
    -------
    ranked : list of lists of str
        For every clip, the class names, most probable first (ties: order of ``classes``).
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    classes = np.asarray(classes, dtype=object)
    if probabilities.ndim != 2 or probabilities.shape[1] != len(classes):
        raise ValueError(f"probabilities has shape {probabilities.shape} but there are "
                         f"{len(classes)} classes: expected (n_clips, {len(classes)}).")
    # NaN sorts arbitrarily: all-NaN rows would rank every class alike and agree perfectly.
    if not np.isfinite(probabilities).all():
        bad = np.flatnonzero(~np.isfinite(probabilities).all(axis=1))
        raise ValueError(f"probabilities contain NaN or infinity in {bad.size} clip(s) (e.g. "
                         f"row {bad[0]}): class rankings are undefined.")
    wanted = _group_classes(group)
    columns = np.arange(len(classes))
    if wanted is not None:
        position = {name: i for i, name in enumerate(classes)}
        columns = np.array([position[name] for name in wanted if name in position], dtype=int)
        if columns.size == 0:
            raise ValueError(f"None of the classes of group {group!r} is among the tagger's "
                             f"classes ({list(classes[:5])}...): fit the tagger on labels of "
                             "that group or use the 'ast' backend.")
        columns = np.sort(columns)
    order = np.argsort(-probabilities[:, columns], axis=1, kind="stable")
    return [list(classes[columns[row]]) for row in order]


def embed_clips(embedder, audio, sample_rate):
    """Clip embeddings ``(n_clips, d)`` (windows averaged) of waveforms.

    ``embedder`` is a transformer of audio (its ``sample_rate`` parameter, if any, is set
    to ``sample_rate``; others get ``transform(audio, sample_rate=...)``) or a callable
    ``(audio, sample_rate) -> features``.
    """
    if hasattr(embedder, "transform"):
        if hasattr(embedder, "get_params") and "sample_rate" in embedder.get_params():
            embedder.set_params(sample_rate=sample_rate)
            features = embedder.transform(audio)
        else:
            features = embedder.transform(audio, sample_rate=sample_rate)
    elif callable(embedder):
        features = embedder(audio, sample_rate)
    else:
        raise TypeError(f"embedder must be a transformer or a callable (audio, sample_rate) "
                        f"-> features, got {type(embedder).__name__}.")
    return _clip_features(features, len(audio))


def _clip_features(features, n_clips):
    """Embedder output as ``(n_clips, d)`` float64, windows averaged."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim == 3:
        features = features.mean(axis=1)
    if features.ndim != 2 or features.shape[0] != n_clips:
        raise ValueError(f"embedder returned shape {features.shape} for {n_clips} clips: "
                         "expected (n_clips, d) or (n_clips, n_windows, d).")
    return features


class AudioTagger(BaseEstimator):
    """Probabilities of sound classes (AudioSet names) for audio clips.

    A scikit-learn estimator (``clone``, ``get_params`` / ``set_params``, pickling) whose
    input is raw audio with its sample rate: ``fit`` then ``predict_proba`` / ``tag`` /
    ``top_classes``. Before ``fit`` they raise ``NotFittedError``. The parameters are
    never modified: ``fit`` works on clones of ``embedder`` and ``classifier`` (a model
    object given as ``model`` is only put in evaluation mode, as loading would).

    Parameters
    ----------
    backend : {"embedding", "ast"}, default="embedding"
        ``"embedding"`` (offline, no weights): clip embeddings (windows averaged) feed a
        one-vs-rest logistic regression fitted on labelled clips (multi-label, e.g. the
        synthetic study's genre, instruments and moods as AudioSet names). It only knows
        the classes it was fitted on. ``"ast"``: ``ASTForAudioClassification`` (AudioSet,
        527 classes, sigmoid outputs), the open stand-in for the paper's LEAF classifier;
        needs ``transformers`` and weights.
    embedder : transformer or callable, default=None
        ``"embedding"`` backend: a transformer of audio (such as
        :class:`~skbrainmusic.AudioEmbedder`: its ``sample_rate`` parameter is set to the
        audio's; others get ``transform(audio, sample_rate=...)``), or a callable
        ``(audio, sample_rate) -> features``; features are ``(n_clips, d)`` or
        ``(n_clips, n_windows, d)`` (windows averaged). ``None``:
        ``AudioEmbedder(backend="librosa")`` (10 s windows, so clips of at least 10 s).
    classifier : estimator, default=None
        ``"embedding"`` backend: a multi-label classifier with ``predict_proba``.
        ``None``: standard scaling and one-vs-rest ``LogisticRegression``.
    model : str, path or ``ASTForAudioClassification``, default=None
        ``"ast"`` backend: a local directory, a hub id (e.g.
        ``"MIT/ast-finetuned-audioset-10-10-0.4593"``) or a model object.
    feature_extractor : ``ASTFeatureExtractor``, default=None
        ``"ast"`` backend: ``None`` loads it with the model (or, for a model object, builds
        one matching its config).
    local_files_only : bool, default=True
        ``"ast"`` backend: never download weights.
    batch_size : int, default=8
        Clips per forward pass (``"ast"``).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,) of str
        Class names, the columns of ``predict_proba``.
    embedder_ : transformer or callable
        ``"embedding"`` backend: the fitted embedder.
    classifier_ : estimator
        ``"embedding"`` backend: the fitted clone of ``classifier``.
    model_ : ``ASTForAudioClassification``
        ``"ast"`` backend: the loaded model, in evaluation mode.
    feature_extractor_ : ``ASTFeatureExtractor``
        ``"ast"`` backend: its feature extractor.

    Notes
    -----
    The input is waveforms of any length, not a feature matrix, so there is no
    ``n_features_in_``.

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic.tagging import AudioTagger
    >>> rng = np.random.default_rng(0)
    >>> loudness = lambda audio, sample_rate: np.abs(audio).mean(axis=1, keepdims=True)
    >>> audio = rng.standard_normal((20, 800)) * np.repeat([0.1, 1.0], 10)[:, None]
    >>> labels = [["Tender music"]] * 10 + [["Exciting music"]] * 10
    >>> tagger = AudioTagger(embedder=loudness).fit(audio, labels, sample_rate=8000)
    >>> tagger.top_classes(audio[[0, -1]], sample_rate=8000, group="moods")
    [['Tender music', 'Exciting music'], ['Exciting music', 'Tender music']]
    """

    def __init__(self, backend="embedding", *, embedder=None, classifier=None, model=None,
                 feature_extractor=None, local_files_only=True, batch_size=8):
        self.backend = backend
        self.embedder = embedder
        self.classifier = classifier
        self.model = model
        self.feature_extractor = feature_extractor
        self.local_files_only = local_files_only
        self.batch_size = batch_size

    def fit(self, X=None, y=None, *, sample_rate=None):
        """Fit the classifier (``"embedding"``) or load the model (``"ast"``).

        Parameters
        ----------
        X : array-like of shape (n_clips, n_samples)
            Labelled clips, waveforms (``"embedding"`` backend; ignored by ``"ast"``).
        y : sequence of length n_clips of lists of str
            Class names of every clip (one string means one class).
        sample_rate : int
            Sample rate of ``X``.

        Returns
        -------
        self : AudioTagger
        """
        if self.backend not in _BACKENDS:
            raise ValueError(f"backend must be one of {_BACKENDS}, got {self.backend!r}.")
        if self.backend == "ast":
            self._load_ast()
            return self
        if X is None or y is None:
            raise ValueError("backend='embedding' learns from labelled clips: call "
                             "fit(audio, labels, sample_rate=...).")
        audio = check_audio(X)
        labels = [[item] if isinstance(item, str) else list(item) for item in y]
        if len(labels) != audio.shape[0]:
            raise ValueError(f"y has {len(labels)} label lists but X has "
                             f"{audio.shape[0]} clips: give one label list per clip.")
        if not any(labels):
            raise ValueError("Every label list is empty: the tagger learns classes from the "
                             "labels, give at least one class name per clip.")
        binarizer = MultiLabelBinarizer()
        targets = binarizer.fit_transform(labels)
        sample_rate = _check_sample_rate(sample_rate)
        embedder = self.embedder
        if embedder is None:
            from .embeddings import AudioEmbedder

            embedder = AudioEmbedder(backend="librosa")
        if hasattr(embedder, "get_params"):
            # A clone, fitted once (e.g. to load model weights or learn the embedding's
            # standardisation); its sample_rate follows each call.
            embedder = clone(embedder)
            if "sample_rate" in embedder.get_params():
                embedder.set_params(sample_rate=sample_rate)
                features = _clip_features(embedder.fit_transform(audio), audio.shape[0])
            else:
                features = embed_clips(embedder.fit(audio), audio, sample_rate)
        elif callable(embedder):
            features = embed_clips(embedder, audio, sample_rate)
        else:
            raise TypeError(f"embedder must be a transformer or a callable "
                            f"(audio, sample_rate) -> features, got {type(embedder).__name__}.")
        self.embedder_ = embedder
        if self.classifier is None:
            classifier = make_pipeline(StandardScaler(), OneVsRestClassifier(
                LogisticRegression(C=1.0, max_iter=2000)))
        else:
            classifier = clone(self.classifier)
        self.classifier_ = classifier.fit(features, targets)
        self.classes_ = binarizer.classes_.astype(object)
        return self

    def _embed(self, audio, sample_rate):
        return embed_clips(self.embedder_, audio, sample_rate)

    def _load_ast(self):
        model = self.model
        if model is None:
            raise ValueError("backend='ast' needs model=: a local directory, a hub id (e.g. "
                             "'MIT/ast-finetuned-audioset-10-10-0.4593') or a model object.")
        from transformers import ASTFeatureExtractor, ASTForAudioClassification

        feature_extractor = self.feature_extractor
        if isinstance(model, (str, bytes)) or hasattr(model, "__fspath__"):
            try:
                loaded = ASTForAudioClassification.from_pretrained(
                    model, local_files_only=self.local_files_only)
                if feature_extractor is None:
                    feature_extractor = ASTFeatureExtractor.from_pretrained(
                        model, local_files_only=self.local_files_only)
            except OSError as exc:
                raise ValueError(
                    f"Could not load an AST model from model={str(model)!r}: it is not a "
                    "local model directory" + (" nor a hub id in the local cache "
                                               "(local_files_only=True)"
                                               if self.local_files_only else "")
                    + f". ({exc})") from exc
            model = loaded
        if feature_extractor is None:
            feature_extractor = ASTFeatureExtractor(
                num_mel_bins=model.config.num_mel_bins, max_length=model.config.max_length)
        self.model_ = model.eval()
        self.feature_extractor_ = feature_extractor
        id2label = model.config.id2label
        self.classes_ = np.array([id2label[i] for i in range(len(id2label))], dtype=object)

    @fill_doc
    def predict_proba(self, X, *, sample_rate):
        """Class probabilities of every clip.

        Parameters
        ----------
        %(waveforms)s

        Returns
        -------
        probabilities : ndarray of shape (n_clips, n_classes)
            Columns follow ``classes_``; classes are not exclusive (multi-label).
        """
        check_is_fitted(self, "classes_")
        audio = check_audio(X)
        sample_rate = _check_sample_rate(sample_rate)
        if self.backend == "ast":
            return self._ast_proba(audio, sample_rate)
        return np.asarray(self.classifier_.predict_proba(self._embed(audio, sample_rate)))

    def _ast_proba(self, audio, sample_rate):
        import librosa
        import torch

        target_rate = self.feature_extractor_.sampling_rate
        if sample_rate != target_rate:
            audio = librosa.resample(audio, orig_sr=sample_rate, target_sr=target_rate)
        batches = []
        with torch.no_grad():
            for start in range(0, audio.shape[0], self.batch_size):
                inputs = self.feature_extractor_(
                    list(audio[start:start + self.batch_size]), sampling_rate=target_rate,
                    return_tensors="pt")
                logits = self.model_(**inputs).logits
                batches.append(torch.sigmoid(logits).float().numpy())
        return np.concatenate(batches)

    @fill_doc
    def tag(self, X, *, sample_rate):
        """Class probabilities as a DataFrame (one row per clip, one column per class).

        Parameters
        ----------
        %(waveforms)s

        Returns
        -------
        probabilities : pandas.DataFrame of shape (n_clips, n_classes)
        """
        return pd.DataFrame(self.predict_proba(X, sample_rate=sample_rate),
                            columns=list(self.classes_))

    @fill_doc
    def top_classes(self, X, *, sample_rate, group=None, n=None):
        """Class names of every clip, most probable first, within a group.

        Parameters
        ----------
        %(waveforms)s
        group : {"genres", "instruments", "moods"}, list of str or None
            Classes to rank (the paper's A.1.6 groups by name); ``None``: all.
        n : int, default=None
            Keep the first ``n`` names (all when ``None``).

        Returns
        -------
        ranked : list of lists of str
        """
        ranked = rank_classes(self.predict_proba(X, sample_rate=sample_rate),
                              self.classes_, group)
        return ranked if n is None else [names[:n] for names in ranked]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Waveforms with a sample rate in, not a feature matrix: scikit-learn's generic
        # checks do not apply; tests/_audio_estimator_checks.py replaces them.
        tags.input_tags.two_d_array = False
        tags.target_tags.required = self.backend != "ast"
        return tags


def top_n_agreement_score(proba_true, proba_pred, *, classes=None, group="genres", n=None,
                          average=True):
    """Top-n class agreement between original and reconstructed clips (Algorithm 1).

    For every pair of clips, the intersection over union of the ``n`` most probable classes
    of ``group`` of the original and of the reconstruction.

    Parameters
    ----------
    proba_true, proba_pred : array-like or DataFrame of shape (n_clips, n_classes)
        Class probabilities of the originals and the reconstructions (same clip order),
        e.g. from :meth:`AudioTagger.predict_proba` or :meth:`AudioTagger.tag`.
    classes : sequence of str of length n_classes, default=None
        Column names; taken from the DataFrame columns when ``None``.
    group : {"genres", "instruments", "moods"} or list of str, default="genres"
        Classes compared; group classes absent from ``classes`` are ignored.
    n : int, default=None
        Top-n; ``None`` uses the paper's (genres 2, instruments 2, moods 1).
    average : bool, default=True
        Return the mean over clips, else one value per clip.

    Returns
    -------
    score : float or ndarray of shape (n_clips,)
        In [0, 1]; 1 means the same top-n classes.

    Examples
    --------
    >>> from skbrainmusic.tagging import top_n_agreement_score
    >>> classes = ["Happy music", "Sad music", "Angry music"]
    >>> top_n_agreement_score([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1]],
    ...                       [[0.6, 0.3, 0.1], [0.5, 0.4, 0.1]],
    ...                       classes=classes, group="moods")
    0.5
    """
    if classes is None:
        if not isinstance(proba_true, pd.DataFrame):
            raise ValueError("Give classes=... (the column names) or DataFrames of "
                             "probabilities.")
        classes = list(proba_true.columns)
    _group_classes(group)
    if n is None:
        if not isinstance(group, str):
            raise ValueError("Give n=... for a custom list of classes.")
        n = AUDIOSET_TOP_N[group]
    if np.shape(proba_true) != np.shape(proba_pred):
        raise ValueError(f"proba_true has shape {np.shape(proba_true)} but proba_pred has "
                         f"{np.shape(proba_pred)}: give one row per clip, same classes.")
    ranked_true = rank_classes(proba_true, classes, group)
    ranked_pred = rank_classes(proba_pred, classes, group)
    scores = top_n_agreement_batch(ranked_true, ranked_pred, n)
    return float(scores.mean()) if average else scores


def make_top_n_agreement_scorer(tagger, group, *, n=None, sample_rate,
                                response_method="predict"):
    """A scorer ``(estimator, X, audio_true) -> float`` of top-n class agreement.

    The estimator turns ``X`` into waveforms (``estimator.predict(X)`` for a
    :class:`~skbrainmusic.ConditionedGenerator` or a Pipeline ending in one;
    ``response_method="retrieve_audio"`` for a fitted
    :class:`~skbrainmusic.EmbeddingRetriever`), which are tagged and compared with the
    tags of the original clips ``audio_true``.

    Parameters
    ----------
    tagger : AudioTagger
        Fitted tagger.
    group : {"genres", "instruments", "moods"} or list of str
    n : int, default=None
        Top-n; the paper's for the named groups when ``None``.
    sample_rate : int
        Sample rate of ``audio_true`` (and of the reconstructions, unless the estimator
        has ``sample_rate_``).
    response_method : str, default="predict"
        Method of the estimator that returns waveforms ``(n_clips, n_samples)``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, audio_true)``, greater is better.
    """
    _group_classes(group)

    def scorer(estimator, X, audio_true):
        reconstructed = getattr(estimator, response_method)(X)
        rate = getattr(estimator, "sample_rate_", None) or sample_rate
        return top_n_agreement_score(
            tagger.predict_proba(audio_true, sample_rate=sample_rate),
            tagger.predict_proba(reconstructed, sample_rate=rate),
            classes=tagger.classes_, group=group, n=n)

    scorer.__name__ = f"top_n_agreement_{group if isinstance(group, str) else 'custom'}"
    return scorer


def top_n_agreement_scorers(tagger, *, sample_rate, response_method="predict"):
    """The paper's three scorers: genres (top-2), instruments (top-2), moods (top-1).

    Returns
    -------
    scorers : dict of str to callable
        ``{"genres": ..., "instruments": ..., "moods": ...}``, each as from
        :func:`make_top_n_agreement_scorer`.
    """
    return {group: make_top_n_agreement_scorer(tagger, group, sample_rate=sample_rate,
                                               response_method=response_method)
            for group in ("genres", "instruments", "moods")}

"""Score-conditioned generation: embedding -> musical attributes -> a newly composed piece.

:class:`ScoreBackend` learns, on a corpus, to predict musical attributes (genre, tempo, key
and mode, instrumentation, moods, rhythmic density, tonal balance, loudness) from clip
embeddings. The attributes of the corpus clips are estimated from their audio
(:mod:`._attributes`), so any corpus works (GTZAN, FMA, a folder); a corpus-level genre
label is used when given. ``generate`` decodes the attributes of new embeddings and has
:class:`~skbrainmusic.composer.Composer` write and render a new piece: no corpus audio,
attribute or neighbour is kept, so it is not retrieval in disguise.
"""

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV, RidgeCV
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._docs import fill_doc
from .._threads import blas_threads
from .._validation import check_positive_int, validate_clips
from ..composer import Composer, key_name
from ..tagging import _check_sample_rate, check_audio
from ._attributes import N_BANDS, attribute_cache_of, estimate_attributes, key_from_chroma

_CHROMA = [f"chroma_{k}" for k in range(12)]
_ENVELOPE = [f"envelope_{k}" for k in range(N_BANDS)]
# Softmax temperature of the key scores (correlations in [-1, 1]) -> key probabilities.
_KEY_TEMPERATURE = 0.05


def _targets(attributes):
    """The regression targets of estimated attributes (log tempo, log density, log loudness;
    a clip without a beat gets the median tempo) and the mask of clips with a beat."""
    pulsed = attributes.tempo.to_numpy() > 0
    if not pulsed.any():
        raise ValueError("No clip has a detectable beat (all silent?): the tempo cannot be "
                         "learnt.")
    targets = attributes.drop(columns=["tonic", "major"])
    targets["tempo"] = np.log2(np.where(pulsed, targets.tempo,
                                        np.median(targets.tempo[pulsed])))
    for name in ("density", "loudness"):
        targets[name] = np.log(np.maximum(targets[name], 1e-6))
    return targets, pulsed


def _attribute_groups(names):
    """Column indices of every attribute group (``chroma``, ``envelope``, ``instrument``,
    ``mood``, ``tempo``...), the unit of shrinkage."""
    groups = {}
    for index, name in enumerate(names):
        groups.setdefault(name.split(":")[0].split("_")[0], []).append(index)
    return groups


@fill_doc
class ScoreBackend(BaseEstimator):
    """Generate music by decoding musical attributes from embeddings and composing.

    ``fit(embeddings, audio, sample_rate, labels=None)`` estimates the attributes of every
    corpus clip from its audio and fits, on standardised embeddings, one ridge regression
    per continuous attribute (log2 tempo, mean chroma, rhythmic density, tonal balance,
    log loudness and, with a ``tagger``, instrument and mood probabilities; penalties chosen
    by leave-one-out cross-validation on the corpus) and, with ``labels``, a logistic
    regression of the genre (penalty chosen by cross-validation on the corpus). The key
    and mode are read off the decoded chroma with Krumhansl-Kessler key profiles.
    ``generate(E)`` composes one new piece per embedding from the decoded attributes.

    Fallbacks, never a crash: a decoded tempo outside the corpus' range is clipped into it;
    genre labels with a single class give that genre to every piece (with a warning);
    without ``labels`` the composer picks its style from the other attributes; without a
    ``tagger`` the instruments and moods are left to the style.

    Parameters
    ----------
    tagger : AudioTagger, default=None
        A fitted tagger whose instrument and mood probabilities (AudioSet names) are
        attributes to learn.
    alphas : tuple of float, default=(0.1, 1, 10, 100, 1000, 10000)
        Ridge penalties searched for each continuous attribute.
    Cs : int or tuple of float, default=(0.001, 0.01, 0.1, 1.0)
        Inverse penalties searched for the genre classifier.
    cv : int, default=5
        Folds of the genre classifier's penalty search (fewer when a genre has fewer clips).
    equalise : bool, default=True
        Equalise every piece to its decoded tonal balance; ``False`` leaves the
        soundfont's own balance (an ablation: the rest of the piece is unchanged).
    fade : float, default=2.0
        Fade-in and fade-out of the generated pieces (seconds).
    cache : str or path-like, default=None
        Directory caching the attributes estimated from the audio of every clip (corpus
        clips in :meth:`fit`, validation clips in :meth:`estimate_attributes`), so that a
        corpus is analysed once, not on every fit; the results are the same. Files are keyed
        by each clip's samples, its sample rate and the estimation settings; a corrupt one
        is reported with a ``RuntimeWarning`` and estimated again. The ``tagger``'s
        probabilities are not cached (its embedder may have a cache of its own). ``None``:
        no cache.
    %(random_state)s
        Default seed of :meth:`generate`.

    Attributes
    ----------
    sample_rate_ : int
        Sample rate of the generated waveforms (the corpus').
    n_samples_ : int
        Length of the generated waveforms (the corpus clips').
    n_features_in_ : int
        Embedding dimension ``d``.
    tempo_range_ : tuple of float
        Lowest and highest tempo estimated on the corpus (BPM).
    genres_ : ndarray of str or None
        Genre labels learnt.
    regressor_ : RidgeCV
        Continuous attributes from standardised embeddings.
    target_names_ : list of str
        Columns of ``regressor_``'s output.
    classifier_ : LogisticRegressionCV, LogisticRegression or None
        Genre from standardised embeddings.
    genre_means_ : ndarray of shape (n_genres, n_targets)
        Mean targets of every genre of ``classifier_.classes_`` (one row, the corpus mean,
        without a classifier): the genre-conditional expectation that decoded targets
        shrink towards, weighted by the genre probabilities.
    shrinkage_ : ndarray of shape (n_targets,)
        Weight of the decoded targets against that expectation (1: no shrinkage), chosen
        per attribute group on ``validation`` clips.

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic.composer import Composer
    >>> from skbrainmusic.generation._score import ScoreBackend
    >>> rng = np.random.default_rng(0)
    >>> tempo = rng.uniform(80, 160, size=12)
    >>> composer = Composer(sample_rate=8000, duration=3.0, fade=0.2)
    >>> audio = composer.generate([{"genre": "pop", "tempo": t} for t in tempo], 0)
    >>> embeddings = np.c_[tempo / 100, rng.standard_normal((12, 3))]
    >>> backend = ScoreBackend().fit(embeddings, audio, sample_rate=8000)
    >>> backend.generate(embeddings[:2], random_state=0).shape
    (2, 24000)
    """

    def __init__(self, tagger=None, *, alphas=(0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0),
                 Cs=(0.001, 0.01, 0.1, 1.0), cv=5, equalise=True, fade=2.0, cache=None,
                 random_state=None):
        self.tagger = tagger
        self.alphas = alphas
        self.Cs = Cs
        self.cv = cv
        self.equalise = equalise
        self.fade = fade
        self.cache = cache
        self.random_state = random_state

    def fit(self, embeddings, audio, sample_rate, labels=None, *, validation=None):
        """Learn the attributes of the corpus clips from their embeddings.

        Parameters
        ----------
        embeddings : array-like of shape (n_clips, d) or (n_clips, n_windows, d)
            Corpus embeddings (windows are averaged).
        audio : array-like of shape (n_clips, n_samples)
            Corpus waveforms, all of the same length.
        sample_rate : int
            Sample rate of ``audio``.
        labels : sequence of str of length n_clips, default=None
            Corpus-level genre of every clip (e.g. GTZAN's or FMA's).
        validation : tuple (decoded, audio), default=None
            Embeddings of other clips decoded the way the embeddings given to
            :meth:`generate` will be (e.g. out-of-fold predictions from fMRI of the training
            stimuli), ``(n_validation, d)`` or ``(n_validation, n_windows, d)``, and the
            waveforms of those clips ``(n_validation, n_samples)`` at ``sample_rate``. Every
            attribute group is then shrunk towards its genre-conditional expectation by the
            weight that decodes the validation clips' attributes best (see
            ``shrinkage_``); without it, no shrinkage.

        Returns
        -------
        self : ScoreBackend
        """
        check_positive_int(self.cv, "cv", minimum=2)
        attribute_cache_of(self.cache)  # a bad cache fails before any work
        X3, _ = validate_clips(self, embeddings, reset=True, ensure_min_clips=3)
        if not hasattr(audio, "shape") or np.ndim(audio) != 2:
            audio = check_audio(audio, name="audio")  # (an array is checked batch by batch)
        if audio.shape[0] != X3.shape[0]:
            raise ValueError(f"embeddings has {X3.shape[0]} clips but audio has "
                             f"{audio.shape[0]}: give one waveform per embedding.")
        self.sample_rate_ = _check_sample_rate(sample_rate)
        self.n_samples_ = audio.shape[1]
        features = X3.mean(axis=1)
        attributes = estimate_attributes(audio, self.sample_rate_, tagger=self.tagger,
                                         cache=self.cache)
        targets, pulsed = _targets(attributes)
        self.tempo_range_ = (float(attributes.tempo[pulsed].min()),
                             float(attributes.tempo[pulsed].max()))
        self.target_names_ = list(targets.columns)
        self.scaler_ = StandardScaler().fit(features)
        scaled = self.scaler_.transform(features)
        self.regressor_ = RidgeCV(alphas=np.asarray(self.alphas, dtype=float),
                                  alpha_per_target=True).fit(scaled, targets.to_numpy())
        self.density_mean_ = float(targets.density.mean())
        self.density_scale_ = float(targets.density.std()) or 1.0
        self._fit_genre(scaled, labels)
        self.genre_means_ = self._genre_means(targets.to_numpy(), labels)
        self.shrinkage_ = np.ones(len(self.target_names_))
        if validation is not None:
            self._fit_shrinkage(validation)
        return self

    def _genre_means(self, targets, labels):
        """Mean attributes of every genre ``(n_genres, n_targets)``, in ``genres_`` order (a
        single row, the corpus mean, without a genre classifier)."""
        if self.classifier_ is None:
            return targets.mean(axis=0, keepdims=True)
        labels = np.asarray([str(label) for label in labels], dtype=object)
        return np.stack([targets[labels == genre].mean(axis=0)
                         for genre in self.classifier_.classes_])

    def _fit_shrinkage(self, validation):
        if not isinstance(validation, tuple) or len(validation) != 2:
            raise TypeError("validation must be a tuple (decoded embeddings, audio); got "
                            f"{type(validation).__name__}.")
        self.fit_shrinkage(*validation)

    def estimate_attributes(self, audio):
        """Musical attributes of clips, estimated from their audio as on the corpus.

        What :meth:`fit_shrinkage` compares decoded attributes with; computing them once
        lets many decoders (e.g. one per subject) share them.

        Parameters
        ----------
        audio : array-like of shape (n_clips, n_samples)
            Waveforms at ``sample_rate_``.

        Returns
        -------
        attributes : DataFrame
            One row per clip (tempo, key, chroma, density, tonal balance, loudness and,
            with a ``tagger``, instrument and mood probabilities).
        """
        check_is_fitted(self, "regressor_")
        return estimate_attributes(audio, self.sample_rate_, tagger=self.tagger,
                                   cache=self.cache)

    def fit_shrinkage(self, decoded, audio=None, *, attributes=None):
        """Choose ``shrinkage_`` on validation clips, keeping the rest of the fit.

        Every attribute group is shrunk towards its genre-conditional expectation by the
        weight (0, 0.1, ..., 1) that decodes the validation clips' attributes with the
        smallest squared error.

        Parameters
        ----------
        decoded : array-like of shape (n_validation, d) or (n_validation, n_windows, d)
            Embeddings of the validation clips decoded the way the embeddings given to
            :meth:`generate` will be (e.g. out-of-fold predictions from fMRI).
        audio : array-like of shape (n_validation, n_samples), default=None
            Their waveforms at ``sample_rate_``; or give ``attributes``.
        attributes : DataFrame, default=None
            Their attributes from :meth:`estimate_attributes` (computed once, shared by
            several decoders).

        Returns
        -------
        self : ScoreBackend
        """
        check_is_fitted(self, "regressor_")
        if (audio is None) == (attributes is None):
            raise ValueError("Give the validation clips' audio or their attributes (from "
                             "estimate_attributes), not both nor neither.")
        if attributes is None:
            attributes = self.estimate_attributes(audio)
        if not isinstance(attributes, pd.DataFrame):
            raise TypeError("attributes must be the DataFrame of estimate_attributes, got "
                            f"{type(attributes).__name__}.")
        truth = _targets(attributes)[0]
        missing = sorted(set(self.target_names_) - set(truth.columns))
        if missing:
            raise ValueError(f"attributes lack {missing[:3]}: estimate them with this "
                             "backend's estimate_attributes (same tagger).")
        truth = truth[self.target_names_].to_numpy()
        scaled, full = self._decoded_targets(decoded)
        prior, full = self._prior(scaled), full.to_numpy()
        if len(truth) != len(full):
            raise ValueError(f"validation holds {len(full)} embeddings but {len(truth)} "
                             "waveforms: give one waveform per embedding.")
        weights = np.linspace(0.0, 1.0, 11)
        self.shrinkage_ = np.ones(len(self.target_names_))
        for columns in _attribute_groups(self.target_names_).values():
            errors = [np.mean((prior[:, columns] + w * (full[:, columns] - prior[:, columns])
                               - truth[:, columns]) ** 2) for w in weights]
            self.shrinkage_[columns] = weights[int(np.argmin(errors))]
        return self

    def _fit_genre(self, scaled, labels):
        self.classifier_ = None
        self.genres_ = None
        if labels is None:
            return
        labels = np.asarray([str(label) for label in labels], dtype=object)
        if labels.shape != (scaled.shape[0],):
            raise ValueError(f"labels has {labels.size} entries but there are "
                             f"{scaled.shape[0]} clips: give one genre per clip.")
        self.genres_, counts = np.unique(labels, return_counts=True)
        if len(self.genres_) < 2:
            warnings.warn(f"labels hold a single genre ({self.genres_[0]!r}): every piece "
                          "gets it. Give at least two genres to learn one.", UserWarning,
                          stacklevel=3)
            return
        folds = min(self.cv, int(counts.min()))
        if folds >= 2:
            classifier = LogisticRegressionCV(Cs=list(np.atleast_1d(self.Cs)), cv=folds,
                                              l1_ratios=(0.0,), scoring="neg_log_loss",
                                              use_legacy_attributes=False, max_iter=2000)
        else:
            # A genre with a single clip leaves no fold for the search: a middle penalty.
            classifier = LogisticRegression(C=float(np.median(np.atleast_1d(self.Cs))),
                                            max_iter=2000)
        # L-BFGS's small products alternate between numpy's and scipy's BLAS
        with blas_threads(2 * scaled.size * len(self.genres_)):
            self.classifier_ = classifier.fit(scaled, labels)

    def _decoded_targets(self, embeddings):
        check_is_fitted(self, "regressor_")
        X3, _ = validate_clips(self, embeddings, reset=False)
        scaled = self.scaler_.transform(X3.mean(axis=1))
        return scaled, pd.DataFrame(self.regressor_.predict(scaled), columns=self.target_names_)

    def _shrunk_targets(self, embeddings):
        """Decoded targets shrunk towards their genre-conditional expectation."""
        scaled, decoded = self._decoded_targets(embeddings)
        prior = self._prior(scaled)
        shrunk = prior + self.shrinkage_ * (decoded.to_numpy() - prior)
        return scaled, pd.DataFrame(shrunk, columns=self.target_names_)

    def _prior(self, scaled):
        """Genre-conditional expectation of the targets (the genre probabilities weigh the
        genres' mean attributes)."""
        if self.classifier_ is None:
            return np.repeat(self.genre_means_, len(scaled), axis=0)
        return self.classifier_.predict_proba(scaled) @ self.genre_means_

    def decode_attributes(self, embeddings):
        """Musical attributes decoded from embeddings.

        Parameters
        ----------
        embeddings : array-like of shape (n_clips, d) or (n_clips, n_windows, d)

        Returns
        -------
        attributes : DataFrame
            One row per clip: ``genre`` and ``genre_proba`` (dict; ``None`` without
            labels), ``tempo`` (BPM, clipped to ``tempo_range_``), ``tonic`` (0-11),
            ``mode``, ``key`` (e.g. ``"A minor"``), ``key_proba`` (its probability among
            the 24 keys), ``density`` (composer's melody density, 0-1), ``envelope``
            (tonal balance, dB in 64 mel bands), ``loudness`` (RMS), ``instruments`` /
            ``moods`` (AudioSet names, most probable first) and ``instrument_proba`` /
            ``mood_proba`` (dicts).
        """
        scaled, decoded = self._shrunk_targets(embeddings)
        n = len(decoded)
        tempo = np.clip(2.0 ** decoded.tempo.to_numpy(), *self.tempo_range_)
        tonic, major, scores = key_from_chroma(np.maximum(decoded[_CHROMA].to_numpy(), 0.0))
        weights = np.exp((scores - scores.max(axis=1, keepdims=True)) / _KEY_TEMPERATURE)
        posterior = weights / weights.sum(axis=1, keepdims=True)
        z = (decoded.density.to_numpy() - self.density_mean_) / self.density_scale_
        table = pd.DataFrame({
            "tempo": tempo,
            "tonic": tonic.astype(int),
            "mode": np.where(major, "major", "minor"),
            "key": [key_name(t, m) for t, m in zip(tonic, major)],
            "key_proba": posterior.max(axis=1),
            "density": np.clip(0.5 + 0.2 * z, 0.1, 0.9),
            "envelope": list(decoded[_ENVELOPE].to_numpy()),
            "loudness": np.exp(decoded.loudness.to_numpy()),
        })
        table.insert(0, "genre_proba", self._genre_proba(scaled, n))
        table.insert(0, "genre", [None if p is None else max(p, key=p.get)
                                  for p in table.genre_proba])
        for group, prefix in (("instrument", "instrument:"), ("mood", "mood:")):
            columns = [c for c in decoded.columns if c.startswith(prefix)]
            proba = [dict(zip((c[len(prefix):] for c in columns),
                              np.clip(row, 0.0, 1.0).round(4).tolist()))
                     for row in decoded[columns].to_numpy()]
            table[f"{group}_proba"] = proba
            table[f"{group}s"] = [sorted(p, key=p.get, reverse=True) for p in proba]
        return table

    def _genre_proba(self, scaled, n):
        if self.genres_ is None:
            return [None] * n
        if self.classifier_ is None:
            return [{str(self.genres_[0]): 1.0}] * n
        proba = self.classifier_.predict_proba(scaled)
        classes = [str(c) for c in self.classifier_.classes_]
        return [dict(zip(classes, row.round(4).tolist())) for row in proba]

    def composer_attributes(self, decoded):
        """The composer's attribute dicts of a :meth:`decode_attributes` table."""
        out = []
        for row in decoded.itertuples(index=False):
            attributes = {"tempo": float(row.tempo), "key": int(row.tonic), "mode": row.mode,
                          "density": float(row.density),
                          "loudness": float(row.loudness)}
            if self.equalise:
                attributes["envelope"] = row.envelope
            if row.genre_proba is not None:
                attributes["genre"] = row.genre_proba
            if row.instrument_proba:
                attributes["instruments"] = row.instrument_proba
            if row.mood_proba:
                attributes["moods"] = row.mood_proba
            out.append(attributes)
        return out

    def generate(self, embeddings, random_state=None):
        """New pieces composed from the attributes decoded from embeddings.

        Parameters
        ----------
        embeddings : array-like of shape (n_clips, d) or (n_clips, n_windows, d)
            Embeddings, e.g. predicted from fMRI.
        random_state : int, RandomState instance or None, default=None
            Seed of the composer's free choices; ``None`` uses the ``random_state``
            parameter.

        Returns
        -------
        audio : ndarray of shape (n_clips, n_samples_)
            float32 waveforms at ``sample_rate_``.
        """
        attributes = self.composer_attributes(self.decode_attributes(embeddings))
        seed = self.random_state if random_state is None else random_state
        composer = Composer(sample_rate=self.sample_rate_,
                            duration=self.n_samples_ / self.sample_rate_, fade=self.fade)
        return composer.generate(attributes, check_random_state(seed))

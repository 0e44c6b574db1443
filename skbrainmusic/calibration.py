"""Calibration of decoded embeddings: a meta-estimator that owns its out-of-fold statistics.

Ridge predictions from fMRI are shrunk towards the mean: their spread is a fraction of that
of the true embeddings, so a generator fitted on true embeddings turns all of them into
nearly the same average music, and a retriever sees queries crowded around the corpus mean.
:class:`CalibratedDecoder` wraps a decoder (e.g. ``TemporalWindowAligner ->
ROIEnsembleRidge``) and learns, inside ``fit``, how its predictions for *unseen* clips are
distributed, from out-of-fold predictions of the training clips (as
:class:`sklearn.calibration.CalibratedClassifierCV` does for classifiers). Nothing about
held-out clips ever enters the calibration.

Every calibration map is affine, ``calibrated = prediction @ coef + intercept``, fitted on
the out-of-fold predictions and the true embeddings of the training clips: ``"standardize"``
matches each dimension's mean and spread (a diagonal ``coef``); ``"deshrink"`` regresses the
true embeddings on all dimensions of the out-of-fold predictions (a full ``coef``, a ridge
whose penalty is chosen by CV over clips), so it also undoes mixing across dimensions;
``"none"`` is the identity; ``"auto"`` picks one of the three by nested cross-validation on
the training clips.
"""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, TransformerMixin, clone
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.utils import get_tags
from sklearn.utils.validation import check_array, check_is_fitted, has_fit_parameter

from ._validation import FLOAT_DTYPES
from .metrics import identification_accuracy
from .ridge import check_clip_cv, clip_splits, ridge_cv, ridge_fit
from .ridge._roi_ensemble import targets_digest

__all__ = ["CalibratedDecoder"]

_METHODS = ("standardize", "deshrink", "none", "auto")
_OOF = ("refit", "inner")
# The candidates of method="auto", simplest first: a more complex map is chosen only when it
# beats every simpler one by more than one standard error.
_AUTO_CANDIDATES = ("none", "standardize", "deshrink")
# Penalties of the de-shrinking ridge per row of its standardised inputs: from nearly least
# squares (1e-4) to nearly zero weights (1e4: the map of predictions that carry nothing).
_DESHRINK_ALPHAS_PER_ROW = np.logspace(-4, 4, 17)


def _groups_parameter(estimator):
    """The fit parameter that takes ``groups``: ``"groups"`` when ``estimator.fit`` has one,
    ``"<step>__groups"`` for a Pipeline whose final step's ``fit`` has one, else None."""
    if has_fit_parameter(estimator, "groups"):
        return "groups"
    if isinstance(estimator, Pipeline):
        name, final = estimator.steps[-1]
        if final not in (None, "passthrough") and has_fit_parameter(final, "groups"):
            return f"{name}__groups"
    return None


def _cv_predictions_parameter(estimator):
    """The parameter that makes ``estimator`` keep its cross-validation predictions:
    ``"store_cv_predictions"`` or ``"<step>__store_cv_predictions"`` for a Pipeline whose
    final step has it (e.g. ``TemporalWindowAligner -> ROIEnsembleRidge``)."""
    params = estimator.get_params()
    if "store_cv_predictions" in params:
        return "store_cv_predictions"
    if isinstance(estimator, Pipeline):
        name = f"{estimator.steps[-1][0]}__store_cv_predictions"
        if name in params:
            return name
    raise ValueError(
        f"oof='inner' needs a decoder that keeps its own cross-validation predictions (a "
        f"store_cv_predictions parameter, e.g. ROIEnsembleRidge or a Pipeline ending in "
        f"one); {type(estimator).__name__} has none: use oof='refit'.")


def _moments(values):
    """Per-dimension mean and standard deviation over all windows of all clips (0 -> 1).

    1-D values (one target) give statistics of shape (1,).
    """
    flat = values.reshape(-1, values.shape[-1] if values.ndim > 1 else 1)
    mean = flat.mean(axis=0)
    scale = flat.std(axis=0)
    scale[scale == 0] = 1.0
    return mean, scale


def _as_clips(values):
    """``(n_clips, n_windows, d)`` view of 1-D, 2-D or 3-D targets or predictions."""
    if values.ndim == 1:
        return values[:, None, None]
    if values.ndim == 2:
        return values[:, None, :]
    return values


def _inner_cv(cv, groups, n_clips):
    """Folds of the de-shrinking ridge's penalty search on a subset of clips: ``cv`` folds
    (fewer when the subset has fewer clips or groups), or the user's splitter as given."""
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        n_units = n_clips if groups is None else len(np.unique(groups))
        if n_units < 2:
            unit = "clip" if groups is None else "group"
            raise ValueError(
                f"method='deshrink' (also tried by 'auto') chooses its penalty by "
                f"cross-validation within the training clips of each fold, but a fold of "
                f"cv={cv} leaves 1 {unit} for training: give more {unit}s or a larger cv.")
        return min(int(cv), n_units)
    return cv


def _fit_map(method, predictions, targets, cv, groups):
    """``(coef, intercept)`` of the affine map ``method`` from out-of-fold predictions to
    targets, both ``(n_clips, n_windows, d)``: ``coef`` ``(d, d)``, ``intercept`` ``(d,)``."""
    d = targets.shape[-1]
    if method == "none":
        return np.eye(d), np.zeros(d)
    if method == "standardize":
        oof_mean, oof_scale = _moments(predictions)
        target_mean, target_scale = _moments(targets)
        gain = target_scale / oof_scale
        return np.diag(gain), target_mean - oof_mean * gain
    return _deshrink_map(predictions, targets, cv, groups)


def _deshrink_map(predictions, targets, cv, groups):
    """Ridge of the targets on the (standardised) predictions, one penalty for all
    dimensions, chosen by ``cv`` folds over clips to maximise the identification accuracy
    of the mapped held-out predictions (R^2 for a single dimension)."""
    n_clips, n_windows, d = targets.shape
    rows = n_clips * n_windows
    inputs, outputs = predictions.reshape(rows, d), targets.reshape(rows, d)
    splits = clip_splits(_inner_cv(cv, groups, n_clips), n_clips, n_windows, groups)
    alphas = _DESHRINK_ALPHAS_PER_ROW * rows
    if d < 2:
        result = ridge_cv(inputs, outputs, alphas, splits, dtype="float64", score="r2",
                          standardize=True)
        return result.coef, result.intercept
    # Not R^2, which rewards shrinking towards the mean: on the synthetic study (small
    # scale, librosa embedding, subjects 1 and 2) it picks penalties about 10 times larger,
    # whose maps identify test clips worse (0.76, 0.72) than no calibration (0.82, 0.75).
    scores = np.zeros(alphas.size)
    for train, val in splits:
        for k, alpha in enumerate(alphas):
            coef, intercept = ridge_fit(inputs[train], outputs[train], alpha, dtype="float64",
                                        standardize=True)
            mapped = (inputs[val] @ coef + intercept).reshape(-1, n_windows, d)
            scores[k] += val.size * identification_accuracy(
                outputs[val].reshape(-1, n_windows, d), mapped)
    # np.argmax takes the first maximum: reversed, ties go to the larger penalty.
    best = alphas.size - 1 - int(np.argmax(scores[::-1]))
    return ridge_fit(inputs, outputs, alphas[best], dtype="float64", standardize=True)


def _apply_map(coef, intercept, predictions):
    flat = predictions.reshape(-1, coef.shape[0])
    return (flat @ coef + intercept).reshape(predictions.shape)


def _select_method(predictions, targets, splitter, cv, groups):
    """Identification accuracy per clip of every candidate map, each fitted on the other
    folds' clips, and the chosen method (the simplest within one standard error of the best).
    """
    calibrated = {method: np.empty(targets.shape) for method in _AUTO_CANDIDATES}
    for train, test in splitter.split(predictions, targets, groups):
        train_groups = None if groups is None else groups[train]
        for method in _AUTO_CANDIDATES:
            coef, intercept = _fit_map(method, predictions[train], targets[train], cv,
                                       train_groups)
            calibrated[method][test] = _apply_map(coef, intercept, predictions[test])
    per_clip = {method: identification_accuracy(targets, calibrated[method], average=False)
                for method in _AUTO_CANDIDATES}
    means = {method: float(scores.mean()) for method, scores in per_clip.items()}
    best = per_clip[max(means, key=means.get)]
    gaps = {method: best - per_clip[method] for method in _AUTO_CANDIDATES}
    # The best method itself has a gap of 0 <= 0, so one method always qualifies.
    chosen = next(method for method, gap in gaps.items()
                  if gap.mean() <= gap.std(ddof=1) / np.sqrt(gap.size))
    return chosen, means


class CalibratedDecoder(MetaEstimatorMixin, TransformerMixin, BaseEstimator):
    """A decoder whose predictions are calibrated with out-of-fold statistics.

    ``fit`` fits a clone of ``estimator`` on all training clips (``estimator_``) and, with
    ``cv`` folds over clips, predicts every training clip from a model that did not see it
    (``oof_predictions_``; with ``oof="inner"``, the decoder's own cross-validation
    predictions instead, see below). A calibration map fitted on these out-of-fold
    predictions and the true training embeddings is then applied to the predictions of the
    full refit
    ``estimator_`` (whose predictions for new clips are distributed like the per-fold
    models' predictions for their held-out clips, up to the slightly larger training set).
    Every map is affine: ``calibrated = prediction @ calibration_coef_ +
    calibration_intercept_``, the same for every window.

    - ``"standardize"`` maps each predicted dimension so that the out-of-fold predictions
      have the mean and the standard deviation of the true training embeddings:
      ``(prediction - oof_mean_) / oof_scale_ * target_scale_ + target_mean_``. It restores
      the spread of each dimension, but cannot undo a mixing of dimensions and inflates the
      noise of a dimension the decoder barely predicts as much as its signal.
    - ``"deshrink"`` is multivariate de-shrinking: the true embeddings are regressed on all
      dimensions of the out-of-fold predictions by a ridge (inputs standardised), so it
      undoes a shrinkage and a mixing across dimensions, and weighs each predicted
      dimension by what it says about the embedding. Its penalty, one for all dimensions,
      is chosen by ``cv`` folds over the training clips to maximise the identification
      accuracy of the mapped held-out predictions (R^2 for a single dimension): R^2 would
      favour shrinking towards the mean, the fault being corrected.
    - ``"none"``: no calibration, the predictions of ``estimator_`` are passed through.
    - ``"auto"`` chooses among ``"none"``, ``"standardize"`` and ``"deshrink"`` by nested
      cross-validation on the training clips: with the same ``cv`` folds, every map is
      fitted on the out-of-fold predictions of the other folds' clips (the de-shrinking
      penalty too) and applied to the held-out fold's, so the map scored on a fold never saw
      that fold. The score is the identification accuracy per clip
      (:func:`~skbrainmusic.metrics.identification_accuracy`) of these calibrated
      predictions against the true embeddings: what retrieval and generation need is that a
      calibrated prediction correlates with its own clip's embedding more than with the
      others', which neither a per-dimension correlation (blind to every per-dimension
      affine map) nor the squared error (which rewards shrinking towards the mean, the very
      fault calibration corrects) measures. The simplest method (``"none"``, then
      ``"standardize"``, then ``"deshrink"``) whose mean score is within one standard error
      (of the paired per-clip differences) of the best is chosen. The out-of-fold
      predictions the maps are fitted on come from per-fold decoders that saw the held-out
      fold's clips among their training clips; no map and no penalty saw them.

    ``predict`` and ``transform`` return the calibrated predictions, so the decoder can sit
    before an :class:`~skbrainmusic.EmbeddingRetriever` or a
    :class:`~skbrainmusic.ConditionedGenerator` in a :class:`~sklearn.pipeline.Pipeline`.

    Parameters
    ----------
    estimator : estimator
        Unfitted decoder with ``fit(X, y)`` and ``predict(X)`` returning
        ``(n_clips, n_windows, d)`` (or 2-D) predictions.
    method : {"standardize", "deshrink", "none", "auto"}, default="standardize"
        Calibration map (see above). With a single embedding dimension (1-D ``y``),
        identification is undefined, and ``"auto"`` keeps ``"standardize"`` (with empty
        ``method_scores_``).
    cv : int or cross-validation splitter, default=5
        Folds over training clips for the out-of-fold predictions, the de-shrinking
        penalty and the choice of ``"auto"`` (an int means unshuffled ``KFold``; with
        ``groups`` a ``GroupKFold``; within a subset of clips with fewer clips or groups
        than ``cv``, that many folds).
    oof : {"refit", "inner"}, default="refit"
        Where the out-of-fold predictions come from. ``"refit"``: clones of ``estimator``
        fitted on ``cv`` folds over clips (:func:`~sklearn.model_selection.cross_val_predict`;
        ``cv + 1`` fits, and each fold's model chooses its own hyperparameters without the
        held-out clips). ``"inner"``: the decoder's own cross-validation predictions, kept
        by a decoder with a ``store_cv_predictions`` parameter
        (:class:`~skbrainmusic.ROIEnsembleRidge`, or a Pipeline ending in one) from the
        folds that chose its alphas and ROIs: one fit instead of ``cv + 1``. Those folds
        also chose the model, so the predictions are slightly optimistic (their spread,
        which ``"standardize"`` matches, much less so than their accuracy); held-out
        clips still never enter them. ``cv`` still chooses the de-shrinking penalty and
        the method of ``"auto"``. With ``"inner"``, ``estimator`` may be a decoder already
        fitted on the same ``X`` and ``y`` with its cross-validation predictions stored,
        wrapped in a :class:`~sklearn.frozen.FrozenEstimator` (e.g. decoders fitted
        together by the experiment): it is not refitted, and its stored predictions are
        used (so it must have been fitted on the data given to ``fit``).

    Notes
    -----
    ``groups`` given to ``fit`` choose every split over clips (no group on both sides),
    and reach ``estimator.fit`` too when it takes a ``groups`` argument (e.g.
    :class:`~skbrainmusic.ROIEnsembleRidge`, whose internal CV then respects them), or the
    final step of a :class:`~sklearn.pipeline.Pipeline` when that step takes one (e.g.
    ``TemporalWindowAligner -> ROIEnsembleRidge``), both for the per-fold models and the
    full refit.

    The out-of-fold predictions are computed for every method (``"none"`` included), since
    they also describe how shrunk the decoder's predictions are (e.g. for a generator that
    must know the spread of decoded embeddings).

    Every map assumes that predictions for new clips are as noisy as the out-of-fold
    predictions of the training clips. Test responses averaged over repeated presentations
    (4 in ds003720 and the synthetic study) give cleaner predictions than single training
    presentations: there, the map learned out of fold over-corrects for noise (on the
    synthetic study, a de-shrinking penalty about 10 times smaller than the one chosen out
    of fold identifies the test clips best).

    Attributes
    ----------
    estimator_ : estimator
        ``estimator`` fitted on all training clips.
    method_ : {"standardize", "deshrink", "none"}
        The calibration map applied: ``method``, or the one ``"auto"`` chose.
    method_scores_ : dict of str to float
        With ``method="auto"`` only: cross-validated identification accuracy of every
        candidate map (empty for a single embedding dimension).
    oof_predictions_ : ndarray of the shape of y
        Out-of-fold predictions of the training clips, before calibration (windows kept
        when y is 3-D).
    calibration_coef_ : ndarray of shape (d, d)
        Linear part of the calibration map (identity for ``"none"``, diagonal for
        ``"standardize"``); ``d`` is 1 for 1-D y.
    calibration_intercept_ : ndarray of shape (d,)
        Offset of the calibration map.
    oof_mean_, oof_scale_ : ndarray of shape (d,)
        Mean and standard deviation of every dimension of the out-of-fold predictions
        (over all windows of all training clips; a zero deviation is replaced by 1).
    target_mean_, target_scale_ : ndarray of shape (d,)
        The same statistics of the training targets.
    n_features_in_ : int
        Number of input features of ``estimator_``, where it has one.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skbrainmusic.calibration import CalibratedDecoder
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 20))
    >>> y = X[:, :3] + rng.standard_normal((60, 3))
    >>> decoder = CalibratedDecoder(Ridge(alpha=100.0)).fit(X, y)
    >>> raw, calibrated = decoder.estimator_.predict(X), decoder.predict(X)
    >>> bool(np.all(calibrated.std(axis=0) > raw.std(axis=0)))
    True
    >>> auto = CalibratedDecoder(Ridge(alpha=100.0), method="auto").fit(X, y)
    >>> auto.method_ in ("none", "standardize", "deshrink"), auto.oof_predictions_.shape
    (True, (60, 3))
    """

    def __init__(self, estimator, method="standardize", cv=5, oof="refit"):
        self.estimator = estimator
        self.method = method
        self.cv = cv
        self.oof = oof

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.input_tags = inner.input_tags
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X, y, groups=None):
        """Fit the decoder on all clips and the calibration on out-of-fold predictions.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_scans, n_voxels) or (n_samples, n_features)
            Input of ``estimator`` (e.g. fMRI responses).
        y : array-like of shape (n_clips, n_windows, d), (n_samples, d) or (n_samples,)
            Training embeddings.
        groups : array-like of shape (n_clips,), default=None
            Group of every clip (e.g. its run): no split over clips (out-of-fold
            predictions, de-shrinking penalty, choice of ``"auto"``) then puts a group on
            both sides (and ``estimator.fit`` gets them when it takes a ``groups``
            argument).

        Returns
        -------
        self : CalibratedDecoder
        """
        if self.method not in _METHODS:
            raise ValueError(f"method must be one of {_METHODS}, got {self.method!r}.")
        if self.oof not in _OOF:
            raise ValueError(f"oof must be one of {_OOF}, got {self.oof!r}.")
        if y is None:
            raise ValueError("CalibratedDecoder requires y to be passed, but the target y is "
                             "None: give the training embeddings.")
        y = check_array(y, dtype=FLOAT_DTYPES, ensure_2d=False, allow_nd=True,
                        ensure_min_samples=2, input_name="y")
        n_clips = y.shape[0]
        if groups is not None:
            groups = np.asarray(groups)
        if isinstance(self.cv, numbers.Integral) and not isinstance(self.cv, bool):
            n_folds_needed = n_clips if groups is None else len(np.unique(groups))
            if n_folds_needed < self.cv:
                unit = "clips" if groups is None else "groups"
                raise ValueError(f"CalibratedDecoder(cv={self.cv}) needs at least {self.cv} "
                                 f"{unit} for its out-of-fold predictions, got "
                                 f"{n_folds_needed}: lower cv or give more {unit}.")
        splitter = check_clip_cv(self.cv, groups)
        name = _groups_parameter(self.estimator)
        fit_params = {name: groups} if groups is not None and name is not None else {}
        frozen = isinstance(self.estimator, FrozenEstimator)
        if frozen and self.oof != "inner":
            raise ValueError("A FrozenEstimator cannot be refitted on folds: use oof='inner' "
                             "with a decoder fitted with store_cv_predictions=True.")
        if self.oof == "inner":
            if frozen:
                self.estimator_ = self.estimator.estimator
            else:
                estimator = clone(self.estimator)
                estimator.set_params(**{_cv_predictions_parameter(estimator): True})
                self.estimator_ = estimator.fit(X, y, **fit_params)
            final = (self.estimator_.steps[-1][1] if isinstance(self.estimator_, Pipeline)
                     else self.estimator_)
            if not hasattr(final, "cv_predictions_"):
                raise ValueError(f"The frozen decoder's {type(final).__name__} has no "
                                 "cv_predictions_: fit it with store_cv_predictions=True.")
            digest = getattr(final, "_cv_targets_digest", None)
            if frozen and digest is not None and digest != targets_digest(y):
                raise ValueError("The frozen decoder was fitted on other targets than y: its "
                                 "cross-validation predictions would not be of y (a clone "
                                 "of a frozen decoder is the same fitted model; fit a new "
                                 "decoder for other targets).")
            self.oof_predictions_ = np.asarray(final.cv_predictions_)
            if self.oof_predictions_.shape != y.shape:
                raise ValueError(
                    f"The decoder's cross-validation predictions have shape "
                    f"{self.oof_predictions_.shape}, not that of y {y.shape}: oof='inner' "
                    "needs a decoder whose final step predicts y itself; use oof='refit'.")
        else:
            self.oof_predictions_ = np.asarray(cross_val_predict(
                clone(self.estimator), X, y, cv=splitter, groups=groups, params=fit_params))
        out_of_fold = _as_clips(self.oof_predictions_.astype(np.float64))
        targets = _as_clips(y.astype(np.float64))
        self.oof_mean_, self.oof_scale_ = _moments(out_of_fold)
        self.target_mean_, self.target_scale_ = _moments(targets)
        self.method_ = self.method
        if self.method == "auto" and targets.shape[-1] < 2:
            # Identification compares the dimensions of a prediction: with one there is
            # nothing to compare, so the default map is kept (documented).
            self.method_, self.method_scores_ = "standardize", {}
        elif self.method == "auto":
            self.method_, self.method_scores_ = _select_method(out_of_fold, targets, splitter,
                                                               self.cv, groups)
        self.calibration_coef_, self.calibration_intercept_ = _fit_map(
            self.method_, out_of_fold, targets, self.cv, groups)
        if self.oof == "refit":
            self.estimator_ = clone(self.estimator).fit(X, y, **fit_params)
        if hasattr(self.estimator_, "n_features_in_"):
            self.n_features_in_ = self.estimator_.n_features_in_
        return self

    def predict(self, X):
        """Calibrated predictions.

        Parameters
        ----------
        X : array-like
            Input of ``estimator`` (e.g. fMRI responses ``(n_clips, n_scans, n_voxels)``).

        Returns
        -------
        Y_pred : ndarray of shape (n_clips, n_windows, d) or (n_samples, d)
            Predictions of ``estimator_`` mapped by the calibration, in the dtype of the
            decoder's predictions.
        """
        check_is_fitted(self, "estimator_")
        return self.calibrate(self.estimator_.predict(X))

    def calibrate(self, predictions):
        """Map raw decoder predictions through the fitted calibration.

        For predictions made otherwise than by ``estimator_``, e.g. ``oof_predictions_``
        (the training clips decoded the way held-out clips are, then calibrated).

        Parameters
        ----------
        predictions : array-like of shape (n_clips, n_windows, d), (n_samples, d) or (n_samples,)
            Raw predictions of the decoder, ``d`` as in the training targets.

        Returns
        -------
        calibrated : ndarray of the shape of ``predictions``
            In the dtype of ``predictions`` (float64 for other dtypes).
        """
        check_is_fitted(self, "calibration_coef_")
        predicted = np.asarray(predictions)
        if not np.issubdtype(predicted.dtype, np.floating):
            predicted = predicted.astype(np.float64)
        d = self.calibration_coef_.shape[0]
        one_target = predicted.ndim == 1 and d == 1  # the decoder of a 1-D y
        if not one_target and (predicted.ndim not in (2, 3) or predicted.shape[-1] != d):
            raise ValueError(f"predictions must have shape (n_clips, n_windows, {d}) or "
                             f"(n_samples, {d}), got {predicted.shape}.")
        calibrated = _apply_map(self.calibration_coef_, self.calibration_intercept_, predicted)
        return calibrated.astype(predicted.dtype, copy=False)

    def transform(self, X):
        """Calibrated predictions (the same as :meth:`predict`), for use inside a Pipeline.

        Parameters
        ----------
        X : array-like
            Input of ``estimator``.

        Returns
        -------
        Y_pred : ndarray of shape (n_clips, n_windows, d) or (n_samples, d)
        """
        return self.predict(X)

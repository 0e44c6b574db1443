"""Calibration of decoded embeddings: a meta-estimator that owns its out-of-fold statistics.

Ridge predictions from fMRI are shrunk towards the mean: their spread is a fraction of that
of the true embeddings, so a generator fitted on true embeddings turns all of them into
nearly the same average music, and a retriever sees queries crowded around the corpus mean.
:class:`CalibratedDecoder` wraps a decoder (e.g. ``TemporalWindowAligner ->
ROIEnsembleRidge``) and learns, inside ``fit``, how its predictions for *unseen* clips are
distributed, from out-of-fold predictions of the training clips (as
:class:`sklearn.calibration.CalibratedClassifierCV` does for classifiers). Nothing about
held-out clips ever enters the calibration.
"""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, TransformerMixin, clone
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.utils import get_tags
from sklearn.utils.validation import check_array, check_is_fitted, has_fit_parameter

from ._validation import FLOAT_DTYPES
from .ridge import check_clip_cv

__all__ = ["CalibratedDecoder"]

_METHODS = ("standardize",)


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


def _moments(values):
    """Per-dimension mean and standard deviation over all windows of all clips (0 -> 1).

    1-D values (one target) give statistics of shape (1,).
    """
    flat = values.reshape(-1, values.shape[-1] if values.ndim > 1 else 1)
    mean = flat.mean(axis=0)
    scale = flat.std(axis=0)
    scale[scale == 0] = 1.0
    return mean, scale


class CalibratedDecoder(MetaEstimatorMixin, TransformerMixin, BaseEstimator):
    """A decoder whose predictions are calibrated with out-of-fold statistics.

    ``fit`` fits a clone of ``estimator`` on all training clips (``estimator_``) and, with
    ``cv`` folds over clips, predicts every training clip from a model that did not see it.
    ``method="standardize"`` then maps each predicted dimension so that the out-of-fold
    predictions have the mean and the standard deviation of the true training embeddings:
    ``(prediction - oof_mean_) / oof_scale_ * target_scale_ + target_mean_``. The statistics
    come from the per-fold models, and are applied to the predictions of the full refit
    ``estimator_`` (whose predictions for new clips are distributed like the per-fold
    models' predictions for their held-out clips, up to the slightly larger training set).

    ``predict`` and ``transform`` return the calibrated predictions, so the decoder can sit
    before an :class:`~skbrainmusic.EmbeddingRetriever` or a
    :class:`~skbrainmusic.ConditionedGenerator` in a :class:`~sklearn.pipeline.Pipeline`.

    Parameters
    ----------
    estimator : estimator
        Unfitted decoder with ``fit(X, y)`` and ``predict(X)`` returning
        ``(n_clips, n_windows, d)`` (or 2-D) predictions.
    method : {"standardize"}, default="standardize"
        Calibration map: ``"standardize"`` matches the per-dimension mean and standard
        deviation of the out-of-fold predictions to those of the training targets.
    cv : int or cross-validation splitter, default=5
        Folds over training clips for the out-of-fold predictions (an int means unshuffled
        ``KFold``; with ``groups`` a ``GroupKFold``).

    Notes
    -----
    ``groups`` given to ``fit`` choose the out-of-fold splits (no group on both sides),
    and reach ``estimator.fit`` too when it takes a ``groups`` argument (e.g.
    :class:`~skbrainmusic.ROIEnsembleRidge`, whose internal CV then respects them), or the
    final step of a :class:`~sklearn.pipeline.Pipeline` when that step takes one (e.g.
    ``TemporalWindowAligner -> ROIEnsembleRidge``), both for the per-fold models and the
    full refit.

    Attributes
    ----------
    estimator_ : estimator
        ``estimator`` fitted on all training clips.
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
    """

    def __init__(self, estimator, method="standardize", cv=5):
        self.estimator = estimator
        self.method = method
        self.cv = cv

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
            Group of every clip (e.g. its run): the out-of-fold predictions then never
            predict a clip from a model fitted on its group (and ``estimator.fit`` gets
            them when it takes a ``groups`` argument).

        Returns
        -------
        self : CalibratedDecoder
        """
        if self.method not in _METHODS:
            raise ValueError(f"method must be one of {_METHODS}, got {self.method!r}.")
        if y is None:
            raise ValueError("CalibratedDecoder requires y to be passed, but the target y is "
                             "None: give the training embeddings.")
        y = check_array(y, dtype=FLOAT_DTYPES, ensure_2d=False, allow_nd=True,
                        ensure_min_samples=2, input_name="y")
        n_clips = y.shape[0]
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
        out_of_fold = cross_val_predict(clone(self.estimator), X, y, cv=splitter,
                                        groups=groups, params=fit_params)
        self.oof_mean_, self.oof_scale_ = _moments(np.asarray(out_of_fold, dtype=np.float64))
        self.target_mean_, self.target_scale_ = _moments(y.astype(np.float64))
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
        predicted = np.asarray(self.estimator_.predict(X))
        calibrated = ((predicted - self.oof_mean_) / self.oof_scale_ * self.target_scale_
                      + self.target_mean_)
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

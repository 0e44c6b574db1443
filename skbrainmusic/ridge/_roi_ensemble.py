"""ROIEnsembleRidge: the paper's decoder (3.3, A.1.3), per-ROI ridge ranked and ensembled."""

import hashlib
import numbers
import warnings
from typing import NamedTuple

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._docs import fill_doc
from .._numeric import rescaled
from .._validation import check_positive_int, check_targets, validate_clips
from ..metrics import pearson_per_target
from ._backend import BACKENDS, check_dtype
from ._solvers import DEFAULT_ALPHAS, SCORES, _check_alphas, _select_alphas, ridge_cv, ridge_fit
from ._split import clip_splits


def _screen(X, Y, n_keep):
    """Indices of the ``n_keep`` columns of ``X`` with the largest mean squared Pearson
    correlation with the columns of ``Y`` (constant columns score 0), in column order."""
    X, Y = rescaled(X, axis=0), rescaled(Y, axis=0)  # r is scale-free; 1e200 would overflow
    Xc = X - X.mean(0, dtype=np.float64)
    Yc = Y - Y.mean(0, dtype=np.float64)
    x_norm = np.sqrt((Xc * Xc).sum(0))
    y_norm = np.sqrt((Yc * Yc).sum(0))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (Xc.T @ Yc) / (x_norm[:, None] * y_norm[None, :])
    strength = np.where(np.isfinite(r), r, 0.0) ** 2
    order = np.argsort(-strength.mean(1), kind="stable")
    return np.sort(order[:n_keep])


def _roi_cv(X_roi, Y, splits, alphas, solver_params, screen_voxels):
    """CV scores (n_alphas, n_targets) of one ROI, averaged over folds."""
    if screen_voxels is None or X_roi.shape[1] <= screen_voxels:
        return ridge_cv(X_roi, Y, alphas, splits, return_cv_scores=True, refit=False,
                        **solver_params).cv_scores
    # Screening is part of the model: it is redone on the training rows of every fold.
    scores = np.zeros((alphas.size, Y.shape[1]))
    for train, val in splits:
        kept = _screen(X_roi[train], Y[train], screen_voxels)
        scores += ridge_cv(X_roi[:, kept], Y, alphas, [(train, val)], return_cv_scores=True,
                           refit=False, **solver_params).cv_scores
    return scores / len(splits)


def _roi_refit(X_roi, Y, alphas, solver_params, screen_voxels):
    """Voxels kept (indices into the ROI), coef and intercept on all rows."""
    kept = np.arange(X_roi.shape[1])
    if screen_voxels is not None and X_roi.shape[1] > screen_voxels:
        kept = _screen(X_roi, Y, screen_voxels)
    coef, intercept = ridge_fit(X_roi[:, kept], Y, alphas, **solver_params)
    return kept, coef, intercept


def _roi_oof(X_roi, Y, splits, alphas, solver_params, screen_voxels):
    """Out-of-fold predictions ``(n_samples, n_targets)`` of one ROI at its selected alphas:
    every fold's model (its screening included) fitted on the fold's training rows, as the
    cross-validation that chose the alphas fitted it."""
    predictions = np.empty(Y.shape, dtype=solver_params["dtype"])
    for train, val in splits:
        kept, coef, intercept = _roi_refit(X_roi[train], Y[train], alphas, solver_params,
                                           screen_voxels)
        predictions[val] = X_roi[np.ix_(val, kept)] @ coef + intercept
    return predictions


@fill_doc
class ROIEnsembleRidge(TransformerMixin, RegressorMixin, BaseEstimator):
    """Per-ROI ridge regressions ranked by cross-validation and ensembled (Brain2Music 3.3).

    For every region of interest (ROI), a ridge regression maps its voxels to the targets
    (e.g. the 128 dimensions of a music embedding) with one alpha per target chosen by
    K-fold cross-validation over clips (A.1.3). ROIs are ranked by their cross-validated
    score (mean over targets of the score at each target's best alpha) and the predictions
    of the best ``n_rois`` are averaged.

    All windows of a clip share the weights (they are stacked as rows for fitting) and
    always fall in the same fold; inputs are centred (and optionally standardised) inside
    every fold with the training rows only. Per ROI and fold, one eigendecomposition of the
    smaller of ``X^T X`` and ``X X^T`` serves every alpha and target (see
    :func:`skbrainmusic.ridge.ridge_cv`). Only the selected ROIs are refit on all clips.

    Parameters
    ----------
    roi_labels : array-like of shape (n_voxels,) or None
        ROI label of every voxel (last axis of ``X``), e.g. Destrieux atlas indices; every
        distinct label is one ROI. None puts all voxels in one ROI (whole-brain ridge, for
        arrays that come without an atlas, such as the authors' preprocessed responses);
        then ``n_rois`` must be 1, and ``screen_voxels`` can restrict the fit to the most
        target-correlated voxels, chosen inside the folds. None also makes the estimator
        independent of the number of voxels.
    n_rois : int, default=6
        Number of best ROIs whose predictions are averaged (at most the number of ROIs).
    alphas : array-like of shape (n_alphas,) or None, default=None
        Candidate ridge penalties; None means ``np.logspace(-1, 7, 20)``.
    %(cv)s
    scoring : {"correlation", "r2"}, default="correlation"
        Cross-validation score of alphas and ROIs: Pearson correlation (the paper) or R^2,
        per target.
    standardize : bool, default=False
        Scale voxels to unit variance with the training rows' standard deviation inside
        every fold (constant voxels get zero weight, never a division by zero). Centring is
        always done.
    screen_voxels : int or None, default=None
        If set, an ROI with more voxels keeps only the ``screen_voxels`` voxels with the
        largest mean squared correlation with the targets, recomputed on the training rows
        of every fold (no leak) and on all clips for the refit.
    %(backend)s
    %(dtype)s
    %(n_jobs)s
        ROIs are fitted in parallel.
    store_cv_scores : bool, default=False
        Keep the CV score of every ROI, alpha and target in ``cv_scores_``.
    store_cv_predictions : bool, default=False
        Keep the ensemble's out-of-fold predictions of the training samples in
        ``cv_predictions_`` (the folds of ``cv`` must then predict every clip once). They
        cost one ridge fit per selected ROI and fold; a
        :class:`~skbrainmusic.calibration.CalibratedDecoder` with ``oof="inner"`` learns its
        calibration from them instead of refitting the whole decoder ``cv`` times.

    Attributes
    ----------
    rois_ : ndarray of shape (n_total_rois,)
        The distinct ROI labels (sorted); ``[0]`` when ``roi_labels`` is None.
    roi_scores_ : ndarray of shape (n_total_rois,)
        Cross-validated score of every ROI.
    selected_rois_ : ndarray of shape (n_rois,)
        Labels of the ensembled ROIs, best first.
    alphas_ : ndarray of shape (n_rois, n_targets)
        Chosen alpha of every selected ROI and target.
    voxel_indices_ : list of n_rois ndarrays
        Voxels (indices into the last axis of ``X``) used by each selected ROI.
    coef_ : list of n_rois ndarrays of shape (n_voxels_in_roi, n_targets)
        Weights of each selected ROI, on its ``voxel_indices_``.
    intercept_ : ndarray of shape (n_rois, n_targets)
        Intercepts of the selected ROIs.
    cv_scores_ : ndarray of shape (n_total_rois, n_alphas, n_targets)
        CV score of every ROI, alpha and target (only when ``store_cv_scores=True``).
    cv_predictions_ : ndarray of the shape of the training targets
        Only when ``store_cv_predictions=True``: the average over the selected ROIs of each
        one's prediction of every training sample by its model of the fold that held the
        sample out, at the ROI's selected alphas. The same folds chose the ROIs and the
        alphas, so these predictions are slightly optimistic (as a score at the best alpha
        of a grid is); nothing else of a held-out clip enters its prediction.
    constant_voxels_ : ndarray of shape (n_constant,)
        Voxels constant over all training rows (they get zero weight).
    n_features_in_ : int
        Number of voxels.

    Notes
    -----
    Input handling: an ROI of any size works (a one-voxel ROI is a one-feature ridge; ROIs
    larger than the training rows are solved in the dual); ``screen_voxels`` larger than an
    ROI keeps the whole ROI. Voxels constant over all samples are reported (warning and
    ``constant_voxels_``) and get zero weight; nothing is divided by their zero variance.
    ``roi_labels`` of the wrong length, more ``n_rois`` than ROIs, fewer clips than folds,
    NaN or infinite values, and X and Y with different numbers of windows raise a
    ``ValueError`` saying what to change. Splitters that would put clips of one group on
    both sides of a split are refused when ``groups`` are given.

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic import ROIEnsembleRidge
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 4, 30))          # 40 clips, 4 windows, 30 voxels
    >>> Y = X[..., :5] @ rng.standard_normal((5, 3))  # voxels 0-4 are informative
    >>> labels = np.repeat([0, 1, 2], 10)             # three ROIs of 10 voxels
    >>> model = ROIEnsembleRidge(labels, n_rois=1).fit(X, Y)
    >>> model.selected_rois_
    array([0])
    >>> model.predict(X).shape
    (40, 4, 3)
    """

    def __init__(self, roi_labels, n_rois=6, alphas=None, cv=5, scoring="correlation",
                 standardize=False, screen_voxels=None, backend="numpy", dtype="float32",
                 n_jobs=None, store_cv_scores=False, store_cv_predictions=False):
        self.roi_labels = roi_labels
        self.n_rois = n_rois
        self.alphas = alphas
        self.cv = cv
        self.scoring = scoring
        self.standardize = standardize
        self.screen_voxels = screen_voxels
        self.backend = backend
        self.dtype = dtype
        self.n_jobs = n_jobs
        self.store_cv_scores = store_cv_scores
        self.store_cv_predictions = store_cv_predictions

    def _check_params(self, n_voxels):
        if self.scoring not in SCORES:
            raise ValueError(f"scoring must be one of {SCORES}, got {self.scoring!r}.")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}.")
        check_dtype(self.dtype)
        alphas = _check_alphas(DEFAULT_ALPHAS if self.alphas is None else self.alphas)
        if self.screen_voxels is not None:
            check_positive_int(self.screen_voxels, "screen_voxels")
        if self.roi_labels is None:
            labels = np.zeros(n_voxels, dtype=int)
        else:
            labels = np.asarray(self.roi_labels)
            if labels.ndim != 1 or labels.shape[0] != n_voxels:
                raise ValueError(
                    f"roi_labels has {labels.size} entries (shape {labels.shape}) but X has "
                    f"{n_voxels} voxels (last axis); give one label per voxel."
                )
            kinds = sorted({"number" if isinstance(label, numbers.Number) else
                            type(label).__name__ for label in labels.tolist()}
                           ) if labels.dtype == object else []
            if len(kinds) > 1:
                raise TypeError(f"roi_labels mixes label types ({', '.join(kinds)}): give "
                                "labels of one type, e.g. all int or all str.")
            if labels.dtype.kind == "f" and not np.isfinite(labels).all():
                raise ValueError("roi_labels contains NaN or infinity: give every voxel a "
                                 "finite label (e.g. -1 for unassigned voxels).")
        rois, voxel_roi = np.unique(labels, return_inverse=True)
        n_rois = check_positive_int(self.n_rois, "n_rois")
        if n_rois > rois.size:
            hint = (" (roi_labels=None puts all voxels in one ROI; set n_rois=1)"
                    if self.roi_labels is None else "")
            raise ValueError(f"n_rois={n_rois} but there are only {rois.size} ROIs{hint}.")
        return alphas, rois, voxel_roi, n_rois

    def fit(self, X, y, groups=None):
        """Fit every ROI, rank them by CV score and refit the best ``n_rois``.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_windows, n_voxels) or (n_samples, n_voxels)
            Responses (2-D means one window per sample).
        y : array-like of shape (n_clips, n_windows, n_targets), (n_samples, n_targets) or \
(n_samples,)
            Targets, with the windows of ``X``.
        groups : array-like of shape (n_clips,), default=None
            Group of every clip (e.g. its run); every inner split keeps groups apart (an
            int ``cv`` becomes ``GroupKFold(cv)``).

        Returns
        -------
        self : ROIEnsembleRidge
        """
        return fit_jointly([self], X, [y], groups=groups)[0]

    def _prepare(self, X, y, groups, shared=None):
        """Validate one fit: its :class:`_Fit`, the samples as rows. ``shared``: the
        :class:`_Fit` of the first estimator of a joint fit, whose validated responses,
        constant voxels and folds this one takes (validated and drawn once)."""
        if shared is None:
            X3, was_2d = validate_clips(self, X, reset=True, ensure_min_clips=2)
        else:
            X3, was_2d = shared.X2.reshape(shared.n_clips, shared.n_windows, -1), shared.was_2d
            for name in ("n_features_in_", "feature_names_in_"):
                if hasattr(shared.estimator, name):
                    setattr(self, name, getattr(shared.estimator, name))
                elif hasattr(self, name):
                    delattr(self, name)  # of an earlier fit
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        Y3, self._y_ndim = check_targets(y, X3, name="y")
        n_clips, n_windows, n_voxels = X3.shape
        alphas, rois, voxel_roi, n_rois = self._check_params(n_voxels)
        splits = clip_splits(self.cv, n_clips, n_windows, groups) if shared is None \
            else shared.splits
        if self.store_cv_predictions:
            held_out = np.sort(np.concatenate([val for _, val in splits]))
            if not np.array_equal(held_out, np.arange(n_clips * n_windows)):
                raise ValueError(f"store_cv_predictions=True needs folds that hold out every "
                                 f"clip exactly once, and cv={self.cv!r} does not: use "
                                 "KFold-like folds.")
        X2 = X3.reshape(n_clips * n_windows, n_voxels)
        if shared is None:
            self.constant_voxels_ = np.flatnonzero(X2.max(0) == X2.min(0))
            if self.constant_voxels_.size:
                warnings.warn(
                    f"{self.constant_voxels_.size} voxel(s) are constant over all samples "
                    f"(e.g. voxel {self.constant_voxels_[0]}); they get zero weight.",
                    UserWarning, stacklevel=4)
        else:
            self.constant_voxels_ = shared.estimator.constant_voxels_
        return _Fit(
            estimator=self, X2=X2, Y2=Y3.reshape(n_clips * n_windows, -1), was_2d=was_2d,
            n_clips=n_clips, n_windows=n_windows, alphas=alphas, rois=rois,
            members=[np.flatnonzero(voxel_roi == k) for k in range(rois.size)],
            n_rois=n_rois, splits=splits,
            solver_params=dict(backend=self.backend, dtype=self.dtype,
                               standardize=self.standardize))

    def _finish(self, cv_scores, fit):
        """Rank the ROIs by their CV scores, refit the best (and their out-of-fold
        predictions)."""
        X2, Y2, alphas, members, splits = fit.X2, fit.Y2, fit.alphas, fit.members, fit.splits
        rois, solver_params = fit.rois, fit.solver_params
        best = np.stack([_select_alphas(scores, alphas) for scores in cv_scores])
        targets = np.arange(Y2.shape[1])
        self.rois_ = rois
        self.roi_scores_ = cv_scores[np.arange(rois.size)[:, None], best, targets].mean(1)
        # stable sort: equal scores keep label order
        order = np.argsort(-self.roi_scores_, kind="stable")[:fit.n_rois]
        self.selected_rois_ = rois[order]
        self.alphas_ = alphas[best[order]]
        refits = Parallel(n_jobs=self.n_jobs)(
            delayed(_roi_refit)(X2[:, members[k]], Y2, self.alphas_[i], solver_params,
                                self.screen_voxels)
            for i, k in enumerate(order))
        self.voxel_indices_ = [members[k][kept] for k, (kept, _, _) in zip(order, refits)]
        self.coef_ = [coef for _, coef, _ in refits]
        self.intercept_ = np.stack([intercept for _, _, intercept in refits])
        if self.store_cv_scores:
            self.cv_scores_ = cv_scores
        if self.store_cv_predictions:
            members_oof = Parallel(n_jobs=self.n_jobs)(
                delayed(_roi_oof)(X2[:, members[k]], Y2, splits, self.alphas_[i],
                                  solver_params, self.screen_voxels)
                for i, k in enumerate(order))
            oof = sum(members_oof) / len(members_oof)
            # lets a CalibratedDecoder given this model frozen check that it was fitted on
            # the targets it calibrates
            self._cv_targets_digest = targets_digest(Y2)
            self.cv_predictions_ = (oof[:, 0] if self._y_ndim == 1 else oof) if fit.was_2d \
                else oof.reshape(fit.n_clips, fit.n_windows, -1)
        return self

    def predict(self, X):
        """Average of the selected ROIs' predictions.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_windows, n_voxels) or (n_samples, n_voxels)
            Responses.

        Returns
        -------
        Y_pred : ndarray of shape (n_clips, n_windows, n_targets) or (n_samples, n_targets)
            Predictions, with the dimensionality of ``X`` (1-D when ``X`` is 2-D and the
            ``y`` given to ``fit`` was 1-D).
        """
        check_is_fitted(self)
        X3, was_2d = validate_clips(self, X, reset=False)
        n_clips, n_windows, n_voxels = X3.shape
        X2 = X3.reshape(n_clips * n_windows, n_voxels)
        prediction = sum(X2[:, voxels] @ coef + intercept for voxels, coef, intercept
                         in zip(self.voxel_indices_, self.coef_, self.intercept_))
        prediction = prediction / len(self.coef_)
        if was_2d:
            return prediction[:, 0] if self._y_ndim == 1 else prediction
        return prediction.reshape(n_clips, n_windows, -1)

    def transform(self, X):
        """The predictions (the same as :meth:`predict`), so that a retriever or a generator
        can follow the decoder in a :class:`~sklearn.pipeline.Pipeline`.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_windows, n_voxels) or (n_samples, n_voxels)
            Responses.

        Returns
        -------
        Y_pred : ndarray of shape (n_clips, n_windows, n_targets) or (n_samples, n_targets)
        """
        return self.predict(X)

    def score(self, X, y):
        """Mean Pearson correlation across targets between predictions and ``Y``.

        Targets or predictions that are constant score 0.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_windows, n_voxels) or (n_samples, n_voxels)
            Responses.
        y : array-like of shape (n_clips, n_windows, n_targets), (n_samples, n_targets) or \
(n_samples,)
            True targets.

        Returns
        -------
        score : float
        """
        prediction = np.asarray(self.predict(X), dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if y.shape != prediction.shape and not (y.ndim == 1
                                                and prediction.shape == (y.size, 1)):
            raise ValueError(
                f"y has shape {y.shape} but the predictions for X have shape "
                f"{prediction.shape}: pass the targets of the clips in X."
            )
        if y.ndim == 1:
            y, prediction = y[:, None], prediction.reshape(-1, 1)
        return float(pearson_per_target(y, prediction, zero_variance="zero").mean())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.target_tags.multi_output = True
        return tags


class _Fit(NamedTuple):
    """One estimator's validated fit: responses and targets with the samples as rows, the
    alpha grid, ROIs (labels and voxel indices), folds and solver settings."""

    estimator: object
    X2: np.ndarray
    Y2: np.ndarray
    was_2d: bool
    n_clips: int
    n_windows: int
    alphas: np.ndarray
    rois: np.ndarray
    members: list
    n_rois: int
    splits: list
    solver_params: dict


def targets_digest(targets):
    """SHA-1 of targets as float32 in C order (the same for ``(n_clips, n_windows, d)`` and
    its ``(n_samples, d)`` rows)."""
    # (the array's own buffer: the bytes of tobytes() without a copy)
    return hashlib.sha1(np.ascontiguousarray(targets, dtype=np.float32)).hexdigest()


# Parameters that decide every ROI's cross-validation: estimators fitted jointly must share
# them (n_rois and what is stored may differ).
_SHARED = ("alphas", "cv", "scoring", "standardize", "backend", "dtype")


def fit_jointly(estimators, X, targets, *, groups=None):
    """Fit :class:`ROIEnsembleRidge` estimators on the same responses, each on its own
    targets, with one cross-validation of every ROI for all of them.

    Every ROI's folds are factored once and score the targets of all the estimators (the
    expensive part of a fit: one eigendecomposition per ROI and fold); each estimator then
    ranks the ROIs on its own targets' scores, selects its alphas and refits its best
    ``n_rois`` exactly as :meth:`ROIEnsembleRidge.fit` does. Used by the experiment for the
    decoders of embeddings that share a window (and for the shuffled-responses control).

    Parameters
    ----------
    estimators : sequence of ROIEnsembleRidge
        Estimators with the same ``roi_labels``, ``alphas``, ``cv``, ``scoring``,
        ``standardize``, ``backend`` and ``dtype``, and no voxel screening (which depends
        on the targets); ``n_rois``, ``store_cv_scores`` and ``store_cv_predictions`` may
        differ. The first one's ``n_jobs`` is used.
    X : array-like of shape (n_clips, n_windows, n_voxels) or (n_samples, n_voxels)
        Responses, shared.
    targets : sequence of array-like
        The targets of every estimator, with the windows of ``X``.
    groups : array-like of shape (n_clips,), default=None
        Group of every clip, as in :meth:`ROIEnsembleRidge.fit`.

    Returns
    -------
    estimators : list of ROIEnsembleRidge
        The same estimators, fitted.

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic import ROIEnsembleRidge
    >>> from skbrainmusic.ridge._roi_ensemble import fit_jointly
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 4, 30))
    >>> labels = np.repeat([0, 1, 2], 10)
    >>> first = X[..., :5] @ rng.standard_normal((5, 3))       # in ROI 0
    >>> second = X[..., 20:25] @ rng.standard_normal((5, 2))   # in ROI 2
    >>> a, b = fit_jointly([ROIEnsembleRidge(labels, n_rois=1),
    ...                     ROIEnsembleRidge(labels, n_rois=1)], X, [first, second])
    >>> a.selected_rois_, b.selected_rois_
    (array([0]), array([2]))
    """
    estimators = list(estimators)
    targets = list(targets)
    if not estimators or not all(isinstance(e, ROIEnsembleRidge) for e in estimators):
        raise TypeError("estimators must be a non-empty sequence of ROIEnsembleRidge.")
    if len(targets) != len(estimators):
        raise ValueError(f"Give one target array per estimator: {len(estimators)} "
                         f"estimators but {len(targets)} target arrays.")
    first = estimators[0]
    for other in estimators[1:]:
        differing = [name for name in (*_SHARED, "roi_labels")
                     if _shared_value(first, name) != _shared_value(other, name)]
        if differing:
            raise ValueError(f"Estimators fitted jointly must share {', '.join(differing)}.")
    if len(estimators) > 1 and any(e.screen_voxels is not None for e in estimators):
        raise ValueError("Estimators with screen_voxels cannot be fitted jointly: the "
                         "screening depends on each one's targets; fit them one by one.")
    # (a loop, not a comprehension: the warnings' stack level counts the frames)
    fits = []
    for estimator, y in zip(estimators, targets):
        fits.append(estimator._prepare(X, y, groups, shared=fits[0] if fits else None))
    shared = fits[0]
    Y2 = np.concatenate([fit.Y2 for fit in fits], axis=1) if len(fits) > 1 else shared.Y2
    cv_scores = np.stack(Parallel(n_jobs=first.n_jobs)(
        delayed(_roi_cv)(shared.X2[:, voxels], Y2, shared.splits, shared.alphas,
                         dict(shared.solver_params, score=first.scoring), first.screen_voxels)
        for voxels in shared.members))
    edges = np.cumsum([0] + [fit.Y2.shape[1] for fit in fits])
    for k, (estimator, fit) in enumerate(zip(estimators, fits)):
        # a copy: an estimator's cv_scores_ must not keep the joint array alive
        estimator._finish(cv_scores[..., edges[k]:edges[k + 1]].copy(), fit)
    return estimators


def _shared_value(estimator, name):
    """A comparable form of a parameter that jointly fitted estimators must share: equal
    settings compare equal (``alphas=None`` and the default grid, ``"float32"`` and
    ``np.float32``, two ``KFold(5)``)."""
    value = getattr(estimator, name)
    if name == "alphas":
        return tuple(_check_alphas(DEFAULT_ALPHAS if value is None else value).tolist())
    if name == "dtype":
        return check_dtype(value)
    if name == "roi_labels":
        return None if value is None else tuple(np.asarray(value).tolist())
    if name == "cv" and not isinstance(value, numbers.Integral | type(None)):
        return repr(value)  # sklearn splitters show all their parameters
    return value

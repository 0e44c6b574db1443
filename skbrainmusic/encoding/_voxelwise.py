"""Voxelwise encoding: embeddings -> every voxel's response, one ridge penalty per voxel.

The fit is a thin layer over the shared ridge-CV solver core
(:func:`skbrainmusic.ridge.ridge_cv`, also behind ROIEnsembleRidge): one factorisation per
fold shared by every alpha and voxel, voxels processed in batches. Cross-validation folds are
drawn over clips (:func:`skbrainmusic.ridge.clip_splits`), so the windows of a clip never
straddle a fold boundary.
"""

import numpy as np
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._docs import fill_doc
from .._validation import check_targets, restore_target_shape, validate_clips
from ..metrics import pearson_per_target
from ..ridge import DEFAULT_ALPHAS, clip_splits, ridge_cv
from ..ridge._backend import check_dtype


@fill_doc
class VoxelwiseEncoder(TransformerMixin, MultiOutputMixin, RegressorMixin, BaseEstimator):
    """Ridge encoding model from windowed embeddings to windowed voxel responses.

    One ridge penalty per voxel is chosen by K-fold cross-validation over clips (the windows
    of a clip stay in one fold), maximising the validation score (``scoring``) averaged over
    folds; the model is then refitted on all training clips with each voxel's penalty.

    Parameters
    ----------
    alphas : array-like of shape (n_alphas,), default=None
        Candidate ridge penalties. ``None`` means ``np.logspace(-1, 7, 20)`` (as
        ROIEnsembleRidge).
    %(cv)s
    %(backend)s
    n_targets_batch : int, default=None
        Voxels solved at once (memory knob of the solver). ``None`` lets the solver choose.
    fit_intercept : bool, default=True
        Whether to fit an intercept per voxel (otherwise X and Y must be centred).
    scoring : {"correlation", "r2"}, default="correlation"
        Validation score each voxel's penalty maximises: Pearson r (the paper), or R^2
        (use it when predictions are read as explained variance, e.g. variance
        partitioning: correlation ignores the scale of the predictions and can favour
        over-shrunk weights).
    %(dtype)s

    Attributes
    ----------
    coef_ : ndarray of shape (n_features, n_voxels)
        Encoding weights.
    intercept_ : ndarray of shape (n_voxels,)
        Intercepts (zeros when ``fit_intercept=False``).
    alphas_ : ndarray of shape (n_voxels,)
        Selected penalty of each voxel.
    cv_scores_ : ndarray of shape (n_voxels,)
        Mean cross-validated score (``scoring``) of each voxel at its selected penalty.
    n_features_in_ : int
        Number of embedding dimensions (last axis of X).

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic.encoding import VoxelwiseEncoder
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 4, 8))       # 40 clips, 4 windows, 8-d embeddings
    >>> Y = X @ rng.standard_normal((8, 30)) + rng.standard_normal((40, 4, 30))
    >>> encoder = VoxelwiseEncoder(cv=5).fit(X[:30], Y[:30])
    >>> encoder.voxel_scores(X[30:], Y[30:]).shape
    (30,)
    >>> encoder.score(X[30:], Y[30:]) > 0.8
    True
    """

    def __init__(self, alphas=None, cv=5, backend="numpy", n_targets_batch=None,
                 fit_intercept=True, scoring="correlation", dtype="float32"):
        self.alphas = alphas
        self.cv = cv
        self.backend = backend
        self.n_targets_batch = n_targets_batch
        self.fit_intercept = fit_intercept
        self.scoring = scoring
        self.dtype = dtype

    @fill_doc
    def fit(self, X, y, groups=None):
        """Select one penalty per voxel by cross-validation over clips and refit.

        Parameters
        ----------
        %(X_clips)s
        y : array-like of shape (n_clips, n_windows, n_voxels), (n_samples, n_voxels) \
or (n_samples,)
            Voxel responses, windowed like X.
        %(groups)s

        Returns
        -------
        self : VoxelwiseEncoder
        """
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        # Two clips at least: the penalties are chosen by cross-validation over clips.
        X3, _ = validate_clips(self, X, reset=True, ensure_min_clips=2)
        Y3, y_ndim = check_targets(y, X3)
        alphas = DEFAULT_ALPHAS if self.alphas is None else self.alphas
        n_clips, n_windows, n_features = X3.shape
        splits = clip_splits(self.cv, n_clips, n_windows, groups)
        result = ridge_cv(
            X3.reshape(-1, n_features), Y3.reshape(n_clips * n_windows, -1), alphas, splits,
            backend=self.backend, dtype=check_dtype(self.dtype), score=self.scoring,
            n_targets_batch=self.n_targets_batch, fit_intercept=self.fit_intercept,
        )
        self.coef_ = result.coef
        self.intercept_ = result.intercept
        self.alphas_ = result.best_alphas
        self.cv_scores_ = result.best_scores
        self._y_ndim = y_ndim
        return self

    @fill_doc
    def predict(self, X):
        """Predict voxel responses.

        Parameters
        ----------
        %(X_clips)s

        Returns
        -------
        Y_pred : ndarray of shape (n_clips, n_windows, n_voxels) or (n_samples, n_voxels)
            Same dimensionality as X (1-D when fitted on a 1-D target and X is 2-D).
        """
        check_is_fitted(self)
        X3, was_2d = validate_clips(self, X, reset=False)
        Y3 = self._variations(X3)
        Y3 += self.intercept_.astype(X3.dtype, copy=False)
        if was_2d:
            return restore_target_shape(Y3, 1 if self._y_ndim == 1 else 2)
        return Y3

    def _variations(self, X3):
        """``X3 @ coef_``: the predictions of the validated clips ``X3`` less the
        intercept, (n_clips, n_windows, n_voxels)."""
        n_clips, n_windows, n_features = X3.shape
        # One GEMM over all windows of all clips: ``X3 @ coef`` would run one per clip.
        return (X3.reshape(n_clips * n_windows, n_features)
                @ self.coef_.astype(X3.dtype, copy=False)).reshape(n_clips, n_windows,
                                                                    self.coef_.shape[1])

    @fill_doc
    def transform(self, X):
        """The predicted responses (the same as :meth:`predict`), for use inside a Pipeline.

        Parameters
        ----------
        %(X_clips)s

        Returns
        -------
        Y_pred : ndarray of shape (n_clips, n_windows, n_voxels) or (n_samples, n_voxels)
        """
        return self.predict(X)

    @fill_doc
    def voxel_scores(self, X, y):
        """Pearson r between predicted and measured responses, per voxel.

        Parameters
        ----------
        %(X_clips)s
        y : array-like of shape (n_clips, n_windows, n_voxels) or (n_samples, n_voxels)
            Measured responses.

        Returns
        -------
        scores : ndarray of shape (n_voxels,)
            Correlation over all windows of all clips; 0 for a voxel whose measured or
            predicted response is constant (r undefined). Computed from ``X @ coef_``:
            r does not depend on the intercept, and :meth:`predict`'s float32 sum with it
            can round away the variation of a heavily penalised voxel, so these scores may
            differ from the correlation of :meth:`predict`'s output in the last digits
            (or more for such voxels).
        """
        check_is_fitted(self)
        X3, _ = validate_clips(self, X, reset=False)
        Y3, _ = check_targets(y, X3)
        # without the intercept (see Returns)
        return voxel_correlations(Y3, self._variations(X3))

    @fill_doc
    def score(self, X, y):
        """Mean over voxels of the Pearson r between predicted and measured responses.

        Parameters
        ----------
        %(X_clips)s
        y : array-like of shape (n_clips, n_windows, n_voxels) or (n_samples, n_voxels)
            Measured responses.

        Returns
        -------
        score : float
        """
        return float(np.mean(self.voxel_scores(X, y)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.target_tags.multi_output = True
        return tags


def voxel_correlations(Y, Y_pred):
    """Pearson r per voxel between measured and predicted responses, over all windows of
    all clips (what :meth:`VoxelwiseEncoder.voxel_scores` returns), for predictions
    already made.

    Parameters
    ----------
    Y : ndarray of shape (n_clips, n_windows, n_voxels)
        Measured responses.
    Y_pred : ndarray of shape (n_clips, n_windows, n_voxels)
        Predicted responses of the same clips.

    Returns
    -------
    scores : ndarray of shape (n_voxels,)
        0 for a voxel whose measured or predicted response is constant (r undefined).

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic.encoding._voxelwise import voxel_correlations
    >>> Y = np.arange(12.0).reshape(2, 3, 2)
    >>> voxel_correlations(Y, 2 * Y + 1)
    array([1., 1.])
    """
    n_samples = Y.shape[0] * Y.shape[1]
    return pearson_per_target(Y.reshape(n_samples, -1), Y_pred.reshape(n_samples, -1),
                              zero_variance="zero")

"""Ridge regression: the shared cross-validated solver core and the per-ROI decoder."""

from ._roi_ensemble import ROIEnsembleRidge
from ._solvers import DEFAULT_ALPHAS, RidgeCVResult, ridge_cv, ridge_fit
from ._split import check_clip_cv, clip_splits

__all__ = ["DEFAULT_ALPHAS", "ROIEnsembleRidge", "RidgeCVResult", "check_clip_cv",
           "clip_splits", "ridge_cv", "ridge_fit"]

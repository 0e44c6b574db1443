"""Example instances and documented expected failures for the sklearn conformance harness.

``tests/test_common.py`` discovers every public estimator. Classes whose constructor needs
arguments list instances here; any check an estimator cannot pass is listed with a reason.
"""

import numpy as np

from skbrainmusic import ROIEnsembleRidge, VoxelwiseEncoder

# {EstimatorClass: [instance, ...]} for estimators without a default constructor, or to
# check extra configurations.
INSTANCES = {}

# roi_labels=None (all voxels one ROI) works for any number of features, as the checks need;
# the screened variant runs the in-fold voxel screening on the same checks.
INSTANCES[ROIEnsembleRidge] = [
    ROIEnsembleRidge(roi_labels=None, n_rois=1, alphas=np.logspace(-2, 4, 7), cv=3),
    ROIEnsembleRidge(roi_labels=None, n_rois=1, screen_voxels=2, cv=3, standardize=True),
]
INSTANCES[VoxelwiseEncoder] = [VoxelwiseEncoder(), VoxelwiseEncoder(scoring="r2", cv=3)]

# {EstimatorClass: {check_name: "why it cannot pass"}}.
EXPECTED_FAILED_CHECKS = {}

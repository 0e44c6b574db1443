"""Example instances and documented expected failures for the sklearn conformance harness.

``tests/test_common.py`` discovers every public estimator. Classes whose constructor needs
arguments list instances here; any check an estimator cannot pass is listed with a reason.
"""

import numpy as np

from skbrainmusic import (
    ConditionedGenerator,
    EmbeddingRetriever,
    ROIEnsembleRidge,
    VoxelwiseEncoder,
)

# {EstimatorClass: [instance, ...]} for estimators without a default constructor, or to
# check extra configurations.
INSTANCES = {
    EmbeddingRetriever: [
        EmbeddingRetriever(),
        EmbeddingRetriever(metric="dot", n_neighbors=2, window_reduce=None),
    ],
}

_GENERATOR_NEEDS_AUDIO = (
    "ConditionedGenerator.fit(E, audio, sample_rate=...) learns embedding -> waveform on a "
    "corpus: y must be waveforms (n_clips, n_samples) of at least n_fft samples, while "
    "sklearn's checks pass a 1-D target, read as a single clip, and fit raises ValueError"
)

# roi_labels=None (all voxels one ROI) works for any number of features, as the checks need;
# the screened variant runs the in-fold voxel screening on the same checks.
INSTANCES[ROIEnsembleRidge] = [
    ROIEnsembleRidge(roi_labels=None, n_rois=1, alphas=np.logspace(-2, 4, 7), cv=3),
    ROIEnsembleRidge(roi_labels=None, n_rois=1, screen_voxels=2, cv=3, standardize=True),
]
INSTANCES[VoxelwiseEncoder] = [VoxelwiseEncoder(), VoxelwiseEncoder(scoring="r2", cv=3)]

# {EstimatorClass: {check_name: "why it cannot pass"}}, or a function of the instance
# returning such a dict when only some configurations fail.
EXPECTED_FAILED_CHECKS = {
    ConditionedGenerator: {
        check: _GENERATOR_NEEDS_AUDIO
        for check in (
            "check_fit_score_takes_y", "check_estimators_overwrite_params",
            "check_dont_overwrite_parameters", "check_estimators_fit_returns_self",
            "check_readonly_memmap_input", "check_n_features_in_after_fitting",
            "check_positive_only_tag_during_fit", "check_estimators_dtypes",
            "check_dtype_object", "check_estimators_nan_inf", "check_estimators_pickle",
            "check_f_contiguous_array_estimator", "check_fit2d_1feature",
            "check_dict_unchanged", "check_fit_idempotent", "check_fit_check_is_fitted",
            "check_n_features_in", "check_fit2d_predict1d",
        )
    },
    # Only the cosine instance: metric="dot" passes this check.
    EmbeddingRetriever: lambda estimator: {
        "check_estimators_dtypes": (
            "the integer-cast test data has an all-zero row, whose cosine similarity is "
            "undefined: metric='cosine' raises a ValueError naming it by design"
        ),
    } if estimator.metric == "cosine" else {},
}

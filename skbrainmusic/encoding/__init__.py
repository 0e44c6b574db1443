"""Voxelwise encoding models: which voxels a music representation predicts, and how well.

Encoding models (embeddings -> voxels) with per-voxel held-out scores, refit-free
permutation tests with FDR correction, banded-ridge variance partitioning, PCA of encoding
weights across subjects, the paper's model comparisons, noise-ceiling-normalised scores and
NIfTI brain maps (drawn by :mod:`skbrainmusic.plotting`).
"""

from ._ceiling import ceiling_normalized_scores
from ._compare import (
    FeatureSpaceComparison,
    compare_feature_spaces,
    genre_one_hot,
    leave_one_genre_out_identification,
    plot_score_density,
    upsample_to_windows,
)
from ._maps import map_filename, scores_to_nifti, write_maps
from ._partition import VariancePartition, variance_partitioning
from ._pca import WeightPCA, project_stimuli, weight_pca
from ._permutation import PermutationTestResult, fdr_correction, permutation_test
from ._voxelwise import VoxelwiseEncoder

__all__ = [
    "FeatureSpaceComparison",
    "PermutationTestResult",
    "VariancePartition",
    "VoxelwiseEncoder",
    "WeightPCA",
    "ceiling_normalized_scores",
    "compare_feature_spaces",
    "fdr_correction",
    "genre_one_hot",
    "leave_one_genre_out_identification",
    "map_filename",
    "permutation_test",
    "plot_score_density",
    "project_stimuli",
    "scores_to_nifti",
    "upsample_to_windows",
    "variance_partitioning",
    "weight_pca",
    "write_maps",
]

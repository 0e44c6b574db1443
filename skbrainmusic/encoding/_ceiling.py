"""Prediction scores relative to the noise ceiling (beyond the paper).

A voxel's held-out r is bounded by how repeatable its response is: with the ceiling
``r_max`` from the test repeats (:func:`skbrainmusic.preprocessing.noise_ceiling`, the r a
noiseless model would reach against the repeat-averaged response), ``r / r_max`` is the
share of the attainable correlation that a model reaches, comparable across voxels and
subjects with different noise levels.
"""

import numpy as np


def ceiling_normalized_scores(scores, ceiling, *, min_ceiling=0.1):
    """Divide per-voxel correlations by the per-voxel noise ceiling.

    Parameters
    ----------
    scores : array-like of shape (n_voxels,)
        Held-out Pearson r per voxel, scored against the repeat-averaged test responses
        (e.g. :meth:`VoxelwiseEncoder.voxel_scores`).
    ceiling : array-like of shape (n_voxels,)
        Maximum attainable r per voxel, in [0, 1]
        (:func:`skbrainmusic.preprocessing.noise_ceiling` of the test repeats).
    min_ceiling : float, default=0.1
        Voxels whose ceiling is below this have no reliable denominator (a ratio of two
        noisy near-zero numbers); they are returned as NaN, so that maps leave them blank
        and ``np.nanmean`` skips them.

    Returns
    -------
    normalized : ndarray of shape (n_voxels,)
        ``scores / ceiling`` where ``ceiling >= min_ceiling``, NaN elsewhere. Values above
        1 happen by chance (both are estimates).

    Examples
    --------
    >>> from skbrainmusic.encoding import ceiling_normalized_scores
    >>> ceiling_normalized_scores([0.3, 0.2, 0.05], [0.6, 0.8, 0.05]).tolist()
    [0.5, 0.25, nan]
    """
    scores = np.asarray(scores, dtype=np.float64)
    ceiling = np.asarray(ceiling, dtype=np.float64)
    if scores.ndim != 1 or scores.shape != ceiling.shape:
        raise ValueError(
            f"scores and ceiling must both have shape (n_voxels,); got {scores.shape} and "
            f"{ceiling.shape}."
        )
    if np.any(ceiling < 0) or np.any(ceiling > 1) or np.isnan(ceiling).any():
        raise ValueError(
            "ceiling must be a maximum attainable correlation in [0, 1] (e.g. from "
            "skbrainmusic.preprocessing.noise_ceiling), not an explainable variance that "
            f"can be negative; got values in [{np.nanmin(ceiling)}, {np.nanmax(ceiling)}]."
        )
    if not 0 < min_ceiling <= 1:
        raise ValueError(f"min_ceiling must lie in (0, 1]; got {min_ceiling!r}.")
    reliable = ceiling >= min_ceiling
    return np.divide(scores, ceiling, out=np.full_like(scores, np.nan), where=reliable)

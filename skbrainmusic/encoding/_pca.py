"""PCA of encoding weights across subjects and projection of stimuli on the PCs (paper A.1.7).

For each subject the weight vectors (one per voxel, in embedding space) of its best-predicted
voxels are stacked; the stacks of all subjects are concatenated, voxels as samples and
embedding dimensions as features, and decomposed by PCA. A PC is then a direction in
embedding space: voxels get loadings on it (brain maps of the gradient) and stimuli,
being embeddings, can be projected onto it (Fig. 4c, d).
"""

from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import PCA

from .._validation import check_clips, check_positive_int


@dataclass
class WeightPCA:
    """Result of :func:`weight_pca`.

    Attributes
    ----------
    pca : sklearn.decomposition.PCA
        The fitted PCA (``components_`` of shape (n_components, n_features)).
    voxel_indices : list of ndarray of shape (n_top_voxels,)
        Per subject, the indices of the selected voxels, best first.
    voxel_loadings : list of ndarray of shape (n_top_voxels, n_components)
        Per subject, the PC scores of the selected voxels' weight vectors.
    """

    pca: PCA
    voxel_indices: list
    voxel_loadings: list

    @property
    def components(self):
        """ndarray of shape (n_components, n_features): PCs in embedding space."""
        return self.pca.components_

    @property
    def explained_variance_ratio(self):
        """ndarray of shape (n_components,): share of the weights' variance per PC."""
        return self.pca.explained_variance_ratio_

    def loading_maps(self, subject, n_voxels):
        """Loadings of one subject as full voxel maps, NaN outside the selected voxels.

        Parameters
        ----------
        subject : int
            Position of the subject in the lists given to :func:`weight_pca`.
        n_voxels : int
            Number of voxels of that subject.

        Returns
        -------
        maps : ndarray of shape (n_components, n_voxels)
            Ready for :func:`scores_to_nifti`, one map per PC.
        """
        indices = self.voxel_indices[subject]
        if n_voxels <= indices.max():
            raise ValueError(
                f"n_voxels={n_voxels} but subject {subject} has a selected voxel at index "
                f"{indices.max()}."
            )
        maps = np.full((self.pca.n_components_, n_voxels), np.nan)
        maps[:, indices] = self.voxel_loadings[subject].T
        return maps


def weight_pca(coefs, scores, *, n_top_voxels=600, n_components=3):
    """PCA of the encoding weights of each subject's top voxels, concatenated across subjects.

    Parameters
    ----------
    coefs : list of (ndarray of shape (n_features, n_voxels_s) or fitted VoxelwiseEncoder)
        Encoding weights per subject (an encoder's ``coef_`` is used). ``n_features`` (the
        embedding size) must be the same for every subject; voxel counts may differ.
    scores : list of ndarray of shape (n_voxels_s,)
        Per subject, the prediction score used to rank voxels (e.g. held-out r).
    n_top_voxels : int, default=600
        Voxels kept per subject, best scores first (the paper keeps 600, about 1% of the cortex).
    n_components : int, default=3
        Number of principal components.

    Returns
    -------
    result : WeightPCA
        The PCA, selected voxels and their loadings.

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic.encoding import weight_pca, project_stimuli
    >>> rng = np.random.default_rng(0)
    >>> coefs = [rng.standard_normal((16, 200)) for _ in range(2)]
    >>> scores = [rng.random(200) for _ in range(2)]
    >>> result = weight_pca(coefs, scores, n_top_voxels=50, n_components=3)
    >>> result.components.shape, result.voxel_loadings[0].shape
    ((3, 16), (50, 3))
    >>> project_stimuli(result, rng.standard_normal((10, 4, 16))).shape
    (10, 3)
    """
    if len(coefs) == 0 or len(coefs) != len(scores):
        raise ValueError(
            f"coefs and scores must be non-empty lists of the same length (one entry per "
            f"subject); got {len(coefs)} and {len(scores)}."
        )
    n_top_voxels = check_positive_int(n_top_voxels, "n_top_voxels")
    n_components = check_positive_int(n_components, "n_components")
    weights, indices = [], []
    for subject, (coef, score) in enumerate(zip(coefs, scores)):
        coef = np.asarray(getattr(coef, "coef_", coef), dtype=np.float64)
        score = np.asarray(score, dtype=np.float64)
        if coef.ndim != 2 or score.shape != (coef.shape[1],):
            raise ValueError(
                f"Subject {subject}: coef must be (n_features, n_voxels) and scores "
                f"(n_voxels,); got {coef.shape} and {score.shape}."
            )
        if coef.shape[0] != np.asarray(getattr(coefs[0], "coef_", coefs[0])).shape[0]:
            raise ValueError(
                f"Subject {subject} has {coef.shape[0]} embedding dimensions, subject 0 has "
                f"{np.asarray(getattr(coefs[0], 'coef_', coefs[0])).shape[0]}: use the same "
                "embedding for every subject."
            )
        if np.isnan(score).any():
            raise ValueError(f"Subject {subject}: scores contain NaN; rank finite scores.")
        top = np.argsort(score)[::-1][:n_top_voxels]
        indices.append(top)
        weights.append(coef[:, top].T)
    stacked = np.concatenate(weights, axis=0)
    if n_components > min(stacked.shape):
        raise ValueError(
            f"n_components={n_components} exceeds min(n_selected_voxels, n_features) = "
            f"{min(stacked.shape)}."
        )
    pca = PCA(n_components=n_components).fit(stacked)
    loadings = [pca.transform(w) for w in weights]
    return WeightPCA(pca=pca, voxel_indices=indices, voxel_loadings=loadings)


def project_stimuli(result, X, *, average_windows=True):
    """Project stimulus embeddings onto the weight PCs (Fig. 4d of the paper).

    The projection is ``X @ components.T`` on the raw embeddings: a PC is a direction in
    embedding space, and a stimulus's coordinate on it is how strongly it drives the voxels
    that load on that PC.

    Parameters
    ----------
    result : WeightPCA
        Output of :func:`weight_pca`.
    X : array-like of shape (n_clips, n_windows, n_features) or (n_clips, n_features)
        Stimulus embeddings, in the space the encoders were fitted on.
    average_windows : bool, default=True
        Average the windows of each clip first (one point per clip).

    Returns
    -------
    projections : ndarray of shape (n_clips, n_components) or (n_clips, n_windows, \
n_components)
    """
    X3, _ = check_clips(X, name="X")
    components = result.components
    if X3.shape[2] != components.shape[1]:
        raise ValueError(
            f"X has {X3.shape[2]} features (last axis) but the PCs live in a "
            f"{components.shape[1]}-d embedding space."
        )
    projections = X3 @ components.T
    return projections.mean(axis=1) if average_windows else projections

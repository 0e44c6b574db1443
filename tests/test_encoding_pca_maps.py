"""Weight PCA across subjects, stimulus projection, NIfTI maps and the plotting helper."""

import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from skbrainmusic.encoding import (  # noqa: E402
    VoxelwiseEncoder,
    plot_brain_map,
    project_stimuli,
    scores_to_nifti,
    weight_pca,
)


def test_weight_pca_finds_planted_subspace_of_top_voxels(rng):
    n_features = 12
    basis = np.linalg.qr(rng.standard_normal((n_features, 2)))[0]  # planted 2-D subspace
    coefs, scores = [], []
    for n_voxels in (300, 250):  # subjects with different voxel counts
        coef = rng.standard_normal((n_features, n_voxels))  # poorly predicted: isotropic
        good = rng.choice(n_voxels, 40, replace=False)
        coef[:, good] = basis @ (rng.standard_normal((2, 40)) * [[3.0], [1.5]])
        score = rng.uniform(0.0, 0.2, n_voxels)
        score[good] = rng.uniform(0.5, 0.9, 40)
        coefs.append(coef)
        scores.append(score)
    result = weight_pca(coefs, scores, n_top_voxels=40, n_components=3)
    for subject in range(2):
        assert set(result.voxel_indices[subject]) == set(np.flatnonzero(scores[subject] > 0.4))
        assert result.voxel_loadings[subject].shape == (40, 3)
    assert result.explained_variance_ratio[:2].sum() > 0.99
    # The first two PCs span the planted subspace.
    projection = basis @ basis.T
    np.testing.assert_allclose(projection @ result.components[:2].T, result.components[:2].T,
                               atol=1e-8)
    # Control: ranking by random scores picks isotropic weights, no 2-D structure.
    shuffled = weight_pca(coefs, [rng.random(300), rng.random(250)], n_top_voxels=40)
    assert shuffled.explained_variance_ratio[:2].sum() < 0.7
    maps = result.loading_maps(1, 250)
    assert maps.shape == (3, 250)
    assert np.isnan(maps).sum() == 3 * 210
    X = rng.standard_normal((5, 4, n_features))
    np.testing.assert_allclose(project_stimuli(result, X), X.mean(1) @ result.components.T)
    assert project_stimuli(result, X, average_windows=False).shape == (5, 4, 3)


def test_weight_pca_accepts_encoders_and_checks_inputs(rng):
    X = rng.standard_normal((30, 2, 5))
    encoder = VoxelwiseEncoder(cv=3).fit(X, X @ rng.standard_normal((5, 20)))
    result = weight_pca([encoder], [encoder.cv_scores_], n_top_voxels=10, n_components=2)
    assert result.components.shape == (2, 5)
    with pytest.raises(ValueError, match="same length"):
        weight_pca([encoder], [])
    with pytest.raises(ValueError, match="embedding dimensions"):
        weight_pca([encoder, np.ones((4, 20))], [np.ones(20)] * 2)
    with pytest.raises(ValueError, match="NaN"):
        weight_pca([encoder], [np.full(20, np.nan)])
    with pytest.raises(ValueError, match="features"):
        project_stimuli(result, np.ones((3, 4)))


def _mask_img():
    mask = np.zeros((6, 5, 4), dtype=np.uint8)
    mask[1:4, 1:4, 1:3] = 1
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    return nib.Nifti1Image(mask, affine), mask.astype(bool)


def test_scores_to_nifti_round_trip(tmp_path):
    mask_img, mask = _mask_img()
    scores = np.arange(mask.sum(), dtype=float)
    path = tmp_path / "mask.nii.gz"
    nib.save(mask_img, path)
    img = scores_to_nifti(scores, path, fill_value=np.nan)
    data = img.get_fdata()
    np.testing.assert_array_equal(data[mask], scores)
    assert np.isnan(data[~mask]).all()
    np.testing.assert_array_equal(img.affine, mask_img.affine)
    stacked = scores_to_nifti(np.stack([scores, -scores]), mask_img)
    assert stacked.shape == mask.shape + (2,)
    np.testing.assert_array_equal(stacked.get_fdata()[..., 1][mask], -scores)
    with pytest.raises(ValueError, match="n_voxels = 18"):
        scores_to_nifti(scores[:-1], mask_img)
    with pytest.raises(TypeError, match="nibabel image"):
        scores_to_nifti(scores, mask)


def test_plot_brain_map_draws_supra_threshold_voxels(monkeypatch):
    # The matplotlib path, also where nilearn is installed (None in sys.modules blocks it).
    monkeypatch.setitem(sys.modules, "nilearn", None)
    mask_img, mask = _mask_img()
    scores = np.linspace(-0.5, 0.5, mask.sum())
    img = scores_to_nifti(scores, mask_img)
    anat = nib.Nifti1Image(np.random.default_rng(0).random(mask.shape), mask_img.affine)
    figure = plot_brain_map(img, anat_img=anat, threshold=0.2, title="r", n_slices=2)
    assert isinstance(figure, plt.Figure)
    overlays = [im for ax in figure.axes for im in ax.get_images()][1::2]
    shown = sum(int((~np.ma.getmaskarray(im.get_array())).sum()) for im in overlays)
    assert shown == int((np.abs(scores) > 0.2).sum())
    plt.close(figure)
    with pytest.raises(ValueError, match="grid"):
        plot_brain_map(img, anat_img=nib.Nifti1Image(np.zeros((3, 3, 3)), np.eye(4)))
    with pytest.raises(ValueError, match="3-D map"):
        plot_brain_map(scores_to_nifti(np.stack([scores, scores]), mask_img))

"""Weight PCA across subjects, stimulus projection, NIfTI maps with BIDS-derivatives names."""

import nibabel as nib
import numpy as np
import pytest

from skbrainmusic.encoding import (
    VoxelwiseEncoder,
    map_filename,
    project_stimuli,
    scores_to_nifti,
    weight_pca,
    write_maps,
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


def test_maps_written_with_bids_derivative_names(tmp_path):
    mask_img, mask = _mask_img()
    r = np.linspace(-0.5, 0.5, mask.sum())
    paths = write_maps({"r": r, "significant_r": np.where(r > 0.2, r, np.nan)}, mask_img,
                       tmp_path, subject=3, space="MNI152NLin2009cAsym", desc="clap-music")
    assert paths["significant_r"].name == (
        "sub-003_task-music_space-MNI152NLin2009cAsym_desc-clapMusic_stat-significantR_"
        "statmap.nii.gz")
    np.testing.assert_allclose(nib.load(paths["r"]).get_fdata()[mask], r, atol=1e-7)
    assert np.isnan(nib.load(paths["r"]).get_fdata()[~mask]).all()
    with pytest.raises(FileExistsError, match="stat-r_statmap.nii.gz exists"):
        write_maps({"r": r}, mask_img, tmp_path, subject=3, space="MNI152NLin2009cAsym",
                   desc="clap-music")
    with pytest.raises(ValueError, match="same file name twice"):
        write_maps({"unique_audio": r, "unique-audio": r}, mask_img, tmp_path, subject=3,
                   space="T1w")
    with pytest.raises(ValueError, match="alphanumeric BIDS label"):
        map_filename("r (test)", subject="01", space="T1w")
    with pytest.raises(ValueError, match="is not a folder"):
        write_maps({"r": r}, mask_img, tmp_path / "missing", subject=1, space="T1w")

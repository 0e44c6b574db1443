"""Brain maps drawn with nilearn: values on the mask, surfaces sampled in world coordinates."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from skbrainmusic import plotting  # noqa: E402
from skbrainmusic.datasets import _anatomy  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Warning. 'partition' will ignore:UserWarning")


@pytest.fixture(scope="module")
def cortex():
    """The synthetic study's 1,500-voxel cortical grid in MNI space, with its parcels."""
    grid = _anatomy.cortical_grid(1500)
    labels = _anatomy.parcellate(grid["coords"], np.random.default_rng(0))
    return _anatomy.mask_image(grid["mask"], grid["affine"]), grid["coords"], labels


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_brain_image_puts_values_on_the_mask(cortex):
    mask_img, coords, _ = cortex
    values = coords[:, 0] / 100.0
    values[:5] = np.nan
    img = plotting.brain_image(values, mask_img, significant=coords[:, 2] > 0)
    data = img.get_fdata()
    mask = np.asarray(mask_img.dataobj) > 0
    expected = np.where(coords[:, 2] > 0, np.nan_to_num(values), 0.0)
    np.testing.assert_allclose(data[mask], expected, atol=1e-6)
    assert (data[~mask] == 0).all()
    # An image passes through (NaN made transparent 0).
    again = plotting.brain_image(nib.Nifti1Image(np.where(mask, np.nan, 1.0), img.affine))
    assert np.array_equal(again.get_fdata(), np.where(mask, 0.0, 1.0))
    with pytest.raises(ValueError, match="significant has shape"):
        plotting.brain_image(values, mask_img, significant=[True])
    with pytest.raises(ValueError, match="significant needs per-voxel values"):
        plotting.brain_image(img, significant=np.ones(3, bool))
    with pytest.raises(ValueError, match="must be a 3-D image"):
        plotting.brain_image(values)
    with pytest.raises(ValueError, match="n_voxels = 1500"):
        plotting.brain_image(values[:-1], mask_img)


def _centroid(texture, hemi):
    meshes, _ = plotting._fsaverage5()
    vertices = np.asarray(meshes["pial"].parts[hemi].coordinates)
    drawn = np.abs(texture) > 0.1
    return drawn.sum(), vertices[drawn].mean(axis=0) if drawn.any() else None


def test_surface_sampling_is_in_world_coordinates(cortex):
    mask_img, coords, labels = cortex
    # Values only in the left auditory-cortex parcels.
    auditory = np.isin(labels, _anatomy.auditory_cortex_parcels()) & (coords[:, 0] < 0)
    textures = plotting._surface_textures(
        plotting.brain_image(np.where(auditory, 0.8, 0.0), mask_img), "linear")
    n_left, (x, y, z) = _centroid(textures["left"], "left")
    assert n_left > 100
    assert x < -40 and -40 < y < 0 and -5 < z < 25  # the superior temporal plane
    assert _centroid(textures["right"], "right")[0] == 0
    # Control: the same values with the image flipped left-right land on the right.
    flipped = nib.Nifti1Image(
        plotting.brain_image(np.where(auditory, 0.8, 0.0), mask_img).get_fdata(),
        np.diag([-1.0, 1, 1, 1]) @ mask_img.affine)
    textures = plotting._surface_textures(flipped, "linear")
    assert _centroid(textures["left"], "left")[0] == 0 and _centroid(textures["right"],
                                                                      "right")[0] > 100


def test_surface_figure_has_the_paper_layout(cortex):
    mask_img, coords, _ = cortex
    figure = plotting.plot_surface(coords[:, 1] / 100, mask_img, threshold=0.2, title="r",
                                   label="held-out r")
    titles = [ax.get_title() for ax in figure.axes if ax.get_title()]
    assert titles == ["left lateral", "left medial", "right lateral", "right medial",
                      "left flat", "right flat"]
    assert figure.axes[-1].get_ylabel() == "held-out r"  # one shared colour bar
    assert len(plotting.plot_surface(coords[:, 1], mask_img, flat=False).axes) == 5
    # Nothing significant: an empty brain says so, on the scale of all the values.
    values = coords[:, 1] / 100
    empty = plotting.plot_surface(values, mask_img, significant=np.zeros(values.size, bool))
    assert "no significant voxel" in [text.get_text() for text in empty.texts]
    limit = np.abs(values).max()
    np.testing.assert_allclose(empty.axes[-1].get_ylim(), (-limit, limit), rtol=1e-5)


def test_stat_map_glass_brain_and_viewer(cortex, tmp_path):
    mask_img, coords, _ = cortex
    values = coords[:, 2] / 100.0
    for figure in (plotting.plot_stat_map(values, mask_img, threshold=0.3, title="r"),
                   plotting.plot_glass_brain(values, mask_img, significant=values > 0)):
        assert isinstance(figure, plt.Figure) and len(figure.axes) >= 2
    path = tmp_path / "viewer.html"
    view = plotting.view_brain(values, mask_img, threshold=0.3, title="held-out r", path=path)
    assert path.stat().st_size > 10_000 and "held-out r" in path.read_text()
    assert "brainsprite" in view.get_standalone()
    with pytest.raises(FileExistsError, match="viewer.html exists"):
        plotting.view_brain(values, mask_img, path=path)


def test_roi_scores_give_every_voxel_its_roi_score(cortex, monkeypatch):
    mask_img, _, labels = cortex
    rois = np.unique(labels)[:3]
    drawn = {}

    def fake_glass_brain(values, mask, **kwargs):
        drawn.update(values=values, mask=mask, kwargs=kwargs)
        return "figure"

    monkeypatch.setattr(plotting, "plot_glass_brain", fake_glass_brain)
    result = plotting.plot_roi_scores([0.5, 0.2, -0.1], rois, labels, mask_img,
                                      kind="glass_brain", threshold=0.05)
    assert result == "figure" and drawn["kwargs"]["threshold"] == 0.05
    for roi, score in zip(rois, [0.5, 0.2, -0.1]):
        np.testing.assert_allclose(drawn["values"][labels == roi], score)
    assert (drawn["values"][~np.isin(labels, rois)] == 0).all()
    with pytest.raises(ValueError, match="one score per ROI"):
        plotting.plot_roi_scores([0.5], rois, labels, mask_img)
    with pytest.raises(ValueError, match="kind must be"):
        plotting.plot_roi_scores([0.5, 0.2, -0.1], rois, labels, mask_img, kind="pie")
    figure = plotting.plot_roi_scores([0.5, 0.2, -0.1], rois, labels, mask_img, flat=False)
    assert [ax.get_title() for ax in figure.axes][:2] == ["left lateral", "left medial"]


def test_pca_loadings_one_row_per_component(cortex):
    mask_img, coords, _ = cortex
    loadings = np.full((3, coords.shape[0]), np.nan)
    loadings[:, :200] = np.random.default_rng(0).normal(size=(3, 200))
    figure = plotting.plot_pca_loadings(loadings, mask_img, components=2)
    labels = [ax.get_ylabel() for ax in figure.axes if ax.get_ylabel()]
    assert labels == ["PC 1 loading", "PC 2 loading"]
    assert [ax.get_title() for ax in figure.axes if ax.get_title()] == ["left flat",
                                                                        "right flat"] * 2
    with pytest.raises(ValueError, match=r"components must be in 1\.\.3"):
        plotting.plot_pca_loadings(loadings, mask_img, components=4)
    with pytest.raises(ValueError, match="must be 2-D"):
        plotting.plot_pca_loadings(loadings[0], mask_img)

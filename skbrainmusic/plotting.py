"""Brain maps drawn as brains: per-voxel scores, ROI scores and weight-PCA loadings.

Every function takes per-voxel values with the subject's ``mask_img`` (voxel ``i`` is the
``i``-th non-zero voxel of the mask in C order, as in
:func:`skbrainmusic.encoding.scores_to_nifti`; the Bunches of
:func:`~skbrainmusic.datasets.make_synthetic_study` and
:func:`~skbrainmusic.datasets.load_nakai2022` carry it), or a 3-D image, and returns a
matplotlib figure. The drawing is nilearn's:

- :func:`plot_stat_map` and :func:`plot_glass_brain`: slices and glass brains over a
  template or the subject's anatomy (any space);
- :func:`plot_surface`: the paper's Figure 2a layout, inflated (lateral and medial views)
  and flattened cortex of both hemispheres, on the fsaverage5 meshes nilearn ships
  (:func:`nilearn.surface.vol_to_surf`, :func:`nilearn.plotting.plot_surf_stat_map`).
  Volumes are sampled where fsaverage's cortex lies in MNI space, so the images must be in
  MNI space (the synthetic study; fMRIPrep's ``MNI152*`` spaces);
- :func:`plot_roi_scores` and :func:`plot_pca_loadings` (Figures 3 and 4c analogs) on top
  of those; :func:`view_brain` writes nilearn's interactive viewer page.

Zero and NaN voxels (outside the mask, not significant, not selected) are transparent.
"""

from functools import lru_cache
from pathlib import Path

import numpy as np

from ._docs import fill_doc

__all__ = [
    "brain_image",
    "plot_glass_brain",
    "plot_pca_loadings",
    "plot_roi_scores",
    "plot_stat_map",
    "plot_surface",
    "view_brain",
]

# Values this close to 0 count as "no value" and are left transparent.
_TINY = 1e-6
_HEMISPHERES = ("left", "right")


def _pyplot():
    import matplotlib.pyplot as plt

    return plt


def brain_image(values, mask_img=None, *, significant=None):
    """A 3-D image of per-voxel values; 0 outside the mask and where not significant.

    Parameters
    ----------
    values : array-like of shape (n_voxels,) or nibabel image
        Per-voxel values (NaN allowed: drawn transparent), or a 3-D image to use as it is.
    mask_img : nibabel image or path, default=None
        The voxels' mask (needed with an array of values).
    significant : array-like of bool of shape (n_voxels,), default=None
        Voxels to draw (e.g. the FDR-significant ones); the others are set to 0.

    Returns
    -------
    img : nibabel.Nifti1Image

    Examples
    --------
    >>> import numpy as np, nibabel as nib
    >>> from skbrainmusic.plotting import brain_image
    >>> mask = nib.Nifti1Image(np.ones((2, 2, 1), np.uint8), np.eye(4))
    >>> img = brain_image([0.1, 0.5, np.nan, 0.3], mask, significant=[0, 1, 1, 1])
    >>> img.get_fdata()[..., 0].tolist()
    [[0.0, 0.5], [0.0, 0.30000001192092896]]
    """
    import nibabel as nib

    from .encoding import scores_to_nifti

    if mask_img is None:
        if significant is not None:
            raise ValueError("significant needs per-voxel values with their mask_img.")
        img = nib.load(values) if isinstance(values, (str, Path)) else values
        if not hasattr(img, "affine") or len(img.shape) != 3:
            raise ValueError(
                "Without mask_img, values must be a 3-D image (or a path to one); got "
                f"{type(values).__name__}. Pass per-voxel values with their mask_img."
            )
        data = np.nan_to_num(np.asarray(img.get_fdata(), dtype=np.float32))
        return nib.Nifti1Image(data, img.affine)
    values = np.asarray(values, dtype=np.float32)
    if values.ndim != 1:
        raise ValueError(f"values must be 1-D (n_voxels,); got shape {values.shape}.")
    if significant is not None:
        significant = np.asarray(significant, dtype=bool)
        if significant.shape != values.shape:
            raise ValueError(
                f"significant has shape {significant.shape} but values {values.shape}."
            )
        values = np.where(significant, values, 0.0)
    return scores_to_nifti(np.nan_to_num(values), mask_img, fill_value=0.0)


def _image(values, mask_img, significant, vmax):
    """The image to draw and its colour limit, taken from all voxels (significant or not),
    so that maps of several models share a scale whatever survives the test."""
    img = brain_image(values, mask_img, significant=significant)
    if vmax is None:
        every = img if significant is None else brain_image(values, mask_img)
        vmax = max(float(np.abs(every.get_fdata()).max()), 10 * _TINY)
    return img, float(vmax)


@fill_doc
def plot_stat_map(values, mask_img=None, *, significant=None, bg_img="MNI152", threshold=0.0,
                  vmax=None, cmap="cold_hot", title=None, display_mode="z", cut_coords=6):
    """Slices of a brain map over an anatomy (:func:`nilearn.plotting.plot_stat_map`).

    Parameters
    ----------
    %(brain_values)s
    bg_img : "MNI152", nibabel image, path or None, default="MNI152"
        Background anatomy in the map's space: nilearn's MNI152 template (for MNI-space
        maps), the subject's T1w (e.g. fMRIPrep's ``desc-preproc_T1w`` for
        ``space="T1w"``) or None (no background).
    %(brain_colours)s
    display_mode : str, default="z"
        nilearn's display mode ("ortho", "x", "y", "z", "mosaic", ...).
    cut_coords : int or sequence, default=6
        Number or positions of the cuts.

    Returns
    -------
    figure : matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np, nibabel as nib
    >>> from skbrainmusic.plotting import plot_stat_map
    >>> mask = np.zeros((20, 24, 20), np.uint8); mask[5:15, 6:18, 5:15] = 1
    >>> mask_img = nib.Nifti1Image(mask, np.diag([8.0, 8.0, 8.0, 1.0]) + np.array(
    ...     [[0, 0, 0, -80], [0, 0, 0, -100], [0, 0, 0, -60], [0, 0, 0, 0]]))
    >>> figure = plot_stat_map(np.linspace(-1, 1, int(mask.sum())), mask_img, threshold=0.5)
    """
    from nilearn import plotting

    img, vmax = _image(values, mask_img, significant, vmax)
    kwargs = {} if isinstance(bg_img, str) and bg_img == "MNI152" else {"bg_img": bg_img}
    if isinstance(cut_coords, int) and display_mode in ("x", "y", "z"):
        # No more cuts than slices (coarse grids).
        cut_coords = min(cut_coords, img.shape["xyz".index(display_mode)])
    figure = _pyplot().figure(figsize=(2.0 * (cut_coords if isinstance(cut_coords, int)
                                              else len(cut_coords)) + 1.5, 2.6))
    plotting.plot_stat_map(img, threshold=max(threshold, _TINY), vmax=vmax,
                           cmap=cmap, title=title, display_mode=display_mode,
                           cut_coords=cut_coords, figure=figure, **kwargs)
    return figure


@fill_doc
def plot_glass_brain(values, mask_img=None, *, significant=None, threshold=0.0, vmax=None,
                     cmap="cold_hot", title=None, display_mode="lzry"):
    """Glass-brain projections of a brain map (:func:`nilearn.plotting.plot_glass_brain`).

    Signed values are kept (largest ``|value|`` along each projection line). The outline is
    the MNI152 brain's, so the map must be in MNI space.

    Parameters
    ----------
    %(brain_values)s
    %(brain_colours)s
    display_mode : str, default="lzry"
        Projections (nilearn's ``display_mode``).

    Returns
    -------
    figure : matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np, nibabel as nib
    >>> from skbrainmusic.plotting import plot_glass_brain
    >>> mask = nib.Nifti1Image(np.ones((3, 3, 3), np.uint8), np.diag([20.0, 20, 20, 1]))
    >>> figure = plot_glass_brain(np.arange(27.0) - 13, mask, title="r")
    """
    from nilearn import plotting

    img, vmax = _image(values, mask_img, significant, vmax)
    figure = _pyplot().figure(figsize=(2.3 * len(display_mode) + 1.0, 2.8))
    plotting.plot_glass_brain(img, threshold=max(threshold, _TINY), vmax=vmax, vmin=-vmax,
                              cmap=cmap, title=title, plot_abs=False,
                              colorbar=True, display_mode=display_mode, figure=figure)
    return figure


@lru_cache(maxsize=1)
def _fsaverage5():
    from nilearn.datasets import load_fsaverage, load_fsaverage_data

    meshes = load_fsaverage("fsaverage5")
    sulcal = load_fsaverage_data(mesh="fsaverage5", mesh_type="inflated", data_type="sulcal")
    return meshes, {hemi: np.asarray(sulcal.data.parts[hemi]) for hemi in _HEMISPHERES}


def _surface_textures(img, interpolation):
    """Per hemisphere, the map sampled through the cortical ribbon of fsaverage5."""
    from nilearn.surface import vol_to_surf

    meshes, _ = _fsaverage5()
    return {hemi: np.nan_to_num(vol_to_surf(
        img, meshes["pial"].parts[hemi], inner_mesh=meshes["white_matter"].parts[hemi],
        interpolation=interpolation)) for hemi in _HEMISPHERES}


# Panels of plot_surface: (hemisphere, mesh, view); the flat maps are seen from above.
_FIGURE_2A = (("left", "inflated", "lateral"), ("left", "inflated", "medial"),
              ("right", "inflated", "lateral"), ("right", "inflated", "medial"),
              ("left", "flat", "dorsal"), ("right", "flat", "dorsal"))


def _draw_surfaces(figure, axes, textures, panels, threshold, vmax, cmap):
    from nilearn import plotting

    meshes, sulcal = _fsaverage5()
    for ax, (hemi, mesh, view) in zip(axes, panels):
        plotting.plot_surf_stat_map(
            meshes[mesh].parts[hemi], textures[hemi], hemi=hemi, view=view,
            bg_map=sulcal[hemi], threshold=max(threshold, _TINY), vmin=-vmax, vmax=vmax,
            cmap=cmap, colorbar=False, axes=ax, figure=figure)
        ax.set_title(f"{hemi} {view if mesh == 'inflated' else 'flat'}", fontsize=8)


def _colorbar(figure, axes, vmax, cmap, label):
    import matplotlib as mpl

    mappable = mpl.cm.ScalarMappable(norm=mpl.colors.Normalize(-vmax, vmax),
                                     cmap=mpl.colormaps[cmap] if isinstance(cmap, str) else cmap)
    figure.colorbar(mappable, ax=axes, shrink=0.6, label=label)


@fill_doc
def plot_surface(values, mask_img=None, *, significant=None, threshold=0.0, vmax=None,
                 cmap="cold_hot", title=None, label="value", flat=True,
                 interpolation="linear"):
    """A brain map on the cortical surface, as the paper's Figure 2a.

    Top row: the inflated fsaverage5 cortex of both hemispheres, lateral and medial views;
    bottom row (``flat=True``): the flattened cortex (occipital pole at the centre). The
    volume is sampled between the white and pial surfaces of every vertex
    (:func:`nilearn.surface.vol_to_surf`) and drawn with
    :func:`nilearn.plotting.plot_surf_stat_map` over the sulcal depth.

    Parameters
    ----------
    %(brain_values)s
    %(brain_colours)s
    label : str, default="value"
        Colour bar label.
    flat : bool, default=True
        Add the flat maps.
    interpolation : {"linear", "nearest_most_frequent"}, default="linear"
        Sampling of the volume ("nearest_most_frequent" keeps ROI-wise values unblended;
        :func:`plot_roi_scores` uses it).

    Returns
    -------
    figure : matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np, nibabel as nib
    >>> from skbrainmusic.plotting import plot_surface
    >>> affine = np.array([[8.0, 0, 0, -80], [0, 8, 0, -112], [0, 0, 8, -56], [0, 0, 0, 1]])
    >>> mask = nib.Nifti1Image(np.ones((21, 25, 20), np.uint8), affine)
    >>> x = np.indices((21, 25, 20)).reshape(3, -1)[0]
    >>> figure = plot_surface((x - 10) / 10.0, mask, threshold=0.2, label="r")
    """
    img, vmax = _image(values, mask_img, significant, vmax)
    textures = _surface_textures(img, interpolation)
    panels = _FIGURE_2A if flat else _FIGURE_2A[:4]
    figure = _pyplot().figure(figsize=(11.6, 5.4 if flat else 3.0))
    grid = figure.add_gridspec(2 if flat else 1, 4)
    axes = [figure.add_subplot(grid[0, column], projection="3d") for column in range(4)]
    if flat:  # the two flat maps span two columns each
        axes += [figure.add_subplot(grid[1, 0:2], projection="3d"),
                 figure.add_subplot(grid[1, 2:4], projection="3d")]
    _draw_surfaces(figure, axes, textures, panels, threshold, vmax, cmap)
    _colorbar(figure, axes, vmax, cmap, label)
    if title:
        figure.suptitle(title)
    if significant is not None and not np.any(significant):
        figure.text(0.45, 0.02, "no significant voxel", ha="center")
    return figure


def plot_roi_scores(roi_scores, rois, roi_labels, mask_img, *, kind="surface", title=None,
                    label="cross-validated r", **kwargs):
    """ROI scores drawn on the brain: every voxel takes its ROI's score.

    Parameters
    ----------
    roi_scores : array-like of shape (n_rois,)
        One score per ROI (e.g. ``ROIEnsembleRidge.roi_scores_``).
    rois : array-like of shape (n_rois,)
        The ROI labels of ``roi_scores`` (e.g. ``ROIEnsembleRidge.rois_``).
    roi_labels : array-like of shape (n_voxels,)
        ROI label of every voxel; voxels of ROIs not in ``rois`` are transparent.
    mask_img : nibabel image or path
        The voxels' mask.
    kind : {"surface", "stat_map", "glass_brain"}, default="surface"
        :func:`plot_surface`, :func:`plot_stat_map` or :func:`plot_glass_brain`.
    title : str, default=None
    label : str, default="cross-validated r"
        Colour bar label (surface).
    **kwargs
        Passed to the drawing function (``threshold``, ``vmax``, ``cmap`` ...).

    Returns
    -------
    figure : matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np, nibabel as nib
    >>> from skbrainmusic.plotting import plot_roi_scores
    >>> mask = nib.Nifti1Image(np.ones((4, 4, 4), np.uint8), np.diag([30.0, 30, 30, 1]))
    >>> labels = np.repeat([1, 2], 32)
    >>> figure = plot_roi_scores([0.4, 0.1], [1, 2], labels, mask, kind="glass_brain")
    """
    roi_scores = np.asarray(roi_scores, dtype=float)
    rois, roi_labels = np.asarray(rois), np.asarray(roi_labels)
    if roi_scores.shape != rois.shape:
        raise ValueError(
            f"roi_scores has shape {roi_scores.shape} but rois {rois.shape}: give one score "
            "per ROI."
        )
    values = np.zeros(roi_labels.shape, dtype=float)
    for roi, score in zip(rois, roi_scores):
        values[roi_labels == roi] = score
    if kind == "surface":
        kwargs.setdefault("interpolation", "nearest_most_frequent")
        return plot_surface(values, mask_img, title=title, label=label, **kwargs)
    drawers = {"stat_map": plot_stat_map, "glass_brain": plot_glass_brain}
    if kind not in drawers:
        raise ValueError(
            f"kind must be 'surface', 'stat_map' or 'glass_brain'; got {kind!r}."
        )
    return drawers[kind](values, mask_img, title=title, **kwargs)


def plot_pca_loadings(loadings, mask_img, *, components=3, title=None, cmap="cold_hot",
                      flat=True):
    """Weight-PCA loadings on the cortical surface, one row per component (Figure 4c analog).

    Parameters
    ----------
    loadings : array-like of shape (n_components, n_voxels)
        Per-voxel loadings, NaN where a voxel was not in the PCA (e.g.
        ``WeightPCA.loading_maps(subject, n_voxels)``).
    mask_img : nibabel image or path
        The voxels' mask (MNI space).
    components : int, default=3
        Number of leading components drawn.
    title : str, default=None
    cmap : str, default="cold_hot"
    flat : bool, default=True
        Flat maps of both hemispheres (else the inflated lateral views).

    Returns
    -------
    figure : matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np, nibabel as nib
    >>> from skbrainmusic.plotting import plot_pca_loadings
    >>> affine = np.array([[8.0, 0, 0, -80], [0, 8, 0, -112], [0, 0, 8, -56], [0, 0, 0, 1]])
    >>> mask = nib.Nifti1Image(np.ones((21, 25, 20), np.uint8), affine)
    >>> loadings = np.random.default_rng(0).normal(size=(2, 21 * 25 * 20))
    >>> figure = plot_pca_loadings(loadings, mask, components=2)
    """
    loadings = np.asarray(loadings, dtype=float)
    if loadings.ndim != 2:
        raise ValueError(
            f"loadings must be 2-D (n_components, n_voxels); got shape {loadings.shape}."
        )
    if not 1 <= components <= loadings.shape[0]:
        raise ValueError(
            f"components must be in 1..{loadings.shape[0]} (rows of loadings); got "
            f"{components!r}."
        )
    panels = ((("left", "flat", "dorsal"), ("right", "flat", "dorsal")) if flat else
              (("left", "inflated", "lateral"), ("right", "inflated", "lateral")))
    figure = _pyplot().figure(figsize=(3.2 * len(panels) + 1.4, 2.8 * components + 0.6))
    axes = [figure.add_subplot(components, len(panels), k + 1, projection="3d")
            for k in range(components * len(panels))]
    for k in range(components):
        img, vmax = _image(loadings[k], mask_img, None, None)
        row = axes[k * len(panels): (k + 1) * len(panels)]
        _draw_surfaces(figure, row, _surface_textures(img, "linear"), panels, 0.0, vmax, cmap)
        _colorbar(figure, row, vmax, cmap, f"PC {k + 1} loading")
    if title:
        figure.suptitle(title)
    return figure


@fill_doc
def view_brain(values, mask_img=None, *, significant=None, bg_img="MNI152", threshold=0.0,
               vmax=None, cmap="cold_hot", title=None, path=None):
    """An interactive viewer page of a brain map (:func:`nilearn.plotting.view_img`).

    Parameters
    ----------
    %(brain_values)s
    bg_img : "MNI152", nibabel image, path or None, default="MNI152"
        Background anatomy: nilearn's MNI152 template, an image in the map's space or None
        (no background).
    %(brain_colours)s
    path : str or path-like, default=None
        Where to write the page (a new file: an existing one is never overwritten).

    Returns
    -------
    view : nilearn.plotting.html_stat_map.StatMapView
        Open it in a browser or a notebook; ``view.save_as_html(path)`` writes it.

    Examples
    --------
    >>> import numpy as np, nibabel as nib
    >>> from skbrainmusic.plotting import view_brain
    >>> mask = nib.Nifti1Image(np.ones((3, 3, 3), np.uint8), np.diag([20.0, 20, 20, 1]))
    >>> view = view_brain(np.arange(27.0), mask, threshold=5, title="r")
    >>> "brainsprite" in view.get_standalone()
    True
    """
    from nilearn import plotting

    if path is not None:
        path = Path(path)
        if path.exists() or path.is_symlink():
            raise FileExistsError(f"{path} exists; view_brain writes new files only.")
    img, vmax = _image(values, mask_img, significant, vmax)
    view = plotting.view_img(img, bg_img=False if bg_img is None else bg_img,
                             threshold=max(threshold, _TINY), vmax=vmax, cmap=cmap,
                             title=title, symmetric_cmap=True)
    if path is not None:
        view.save_as_html(path)
    return view

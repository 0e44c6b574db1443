"""Per-voxel scores back to brain volumes (NIfTI) and a quick look at them.

Voxel ``i`` of a score vector is the ``i``-th non-zero voxel of the subject's mask in C
(row-major) order, the order of ``mask_data[mask_data != 0]`` and of nilearn's masker.
The images live in the subject's functional space (the mask's grid and affine).
"""

from pathlib import Path

import numpy as np


def _load_mask(mask_img):
    import nibabel as nib

    if isinstance(mask_img, (str, Path)):
        mask_img = nib.load(mask_img)
    if not hasattr(mask_img, "affine"):
        raise TypeError(
            f"mask_img must be a nibabel image or a path to one; got {type(mask_img).__name__}."
            " Wrap an array with nibabel.Nifti1Image(mask.astype('uint8'), affine)."
        )
    mask = np.asarray(mask_img.dataobj)
    if mask.ndim != 3:
        raise ValueError(f"mask_img must be 3-D; got an image of shape {mask.shape}.")
    return mask_img, mask != 0


def scores_to_nifti(scores, mask_img, *, fill_value=0.0):
    """Write per-voxel scores into a NIfTI image on the mask's grid.

    Parameters
    ----------
    scores : array-like of shape (n_voxels,) or (n_maps, n_voxels)
        Any per-voxel quantity (r, p-value, unique variance, PC loading ...); NaN allowed.
    mask_img : nibabel image or path
        3-D mask of the subject's functional space; its non-zero voxels, in C order, are
        the ``n_voxels`` targets.
    fill_value : float, default=0.0
        Value outside the mask.

    Returns
    -------
    img : nibabel.Nifti1Image
        3-D image (4-D with ``n_maps`` volumes), float32, with the mask's affine.

    Examples
    --------
    >>> import numpy as np, nibabel as nib
    >>> from skbrainmusic.encoding import scores_to_nifti
    >>> mask = np.zeros((4, 4, 3), dtype=np.uint8); mask[1:3, 1:3, 1] = 1
    >>> img = scores_to_nifti(np.arange(4.0), nib.Nifti1Image(mask, np.eye(4)))
    >>> img.shape, float(img.get_fdata()[2, 2, 1])
    ((4, 4, 3), 3.0)
    """
    import nibabel as nib

    mask_img, mask = _load_mask(mask_img)
    scores = np.asarray(scores, dtype=np.float32)
    if scores.ndim not in (1, 2) or scores.shape[-1] != mask.sum():
        raise ValueError(
            f"scores must have shape (n_voxels,) or (n_maps, n_voxels) with n_voxels = "
            f"{int(mask.sum())} (non-zero voxels of the mask); got shape {scores.shape}."
        )
    maps = np.atleast_2d(scores)
    volume = np.full(mask.shape + (len(maps),), fill_value, dtype=np.float32)
    volume[mask] = maps.T
    if scores.ndim == 1:
        volume = volume[..., 0]
    return nib.Nifti1Image(volume, mask_img.affine)


def _plot_slices(data, anat, threshold, title, cmap, n_slices):
    import matplotlib.pyplot as plt

    shown = np.isfinite(data) & (np.abs(np.nan_to_num(data)) > threshold)
    z_with_data = np.flatnonzero(shown.any(axis=(0, 1)))
    if z_with_data.size == 0:
        z_with_data = np.arange(data.shape[2])
    slices = np.unique(np.linspace(z_with_data[0], z_with_data[-1], n_slices).round().astype(int))
    limit = np.nanmax(np.abs(np.where(shown, data, np.nan))) if shown.any() else 1.0
    figure, axes = plt.subplots(1, len(slices), figsize=(2.2 * len(slices), 2.6), squeeze=False)
    image = None
    for ax, z in zip(axes[0], slices):
        if anat is not None:
            ax.imshow(anat[:, :, z].T, cmap="gray", origin="lower")
        overlay = np.ma.masked_where(~shown[:, :, z], data[:, :, z])
        image = ax.imshow(overlay.T, cmap=cmap, vmin=-limit, vmax=limit, origin="lower")
        ax.set_title(f"z={z}", fontsize=8)
        ax.axis("off")
    figure.colorbar(image, ax=axes[0].tolist(), shrink=0.8)
    if title:
        figure.suptitle(title)
    return figure


def plot_brain_map(img, *, anat_img=None, threshold=0.0, title=None, cmap="RdBu_r",
                   n_slices=6):
    """Show a brain map (e.g. from :func:`scores_to_nifti`) over the subject's anatomy.

    Uses :func:`nilearn.plotting.plot_stat_map` when nilearn is installed; otherwise draws
    ``n_slices`` axial slices with matplotlib (the anatomy must then be on the map's grid).

    Parameters
    ----------
    img : nibabel image or path
        3-D map.
    anat_img : nibabel image or path, default=None
        Background anatomy in the same space (e.g. the mean functional image or the T1w
        resampled to it). ``None`` draws the map alone.
    threshold : float, default=0.0
        Values with ``|value| <= threshold`` (and NaN) are transparent.
    title : str, default=None
        Figure title.
    cmap : str, default="RdBu_r"
        Matplotlib colormap, symmetric around 0.
    n_slices : int, default=6
        Number of axial slices (matplotlib fallback) or cuts (nilearn's ``"z"`` mode).

    Returns
    -------
    figure : matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np, nibabel as nib
    >>> from skbrainmusic.encoding import plot_brain_map
    >>> data = np.zeros((8, 8, 8), dtype=np.float32); data[2:5, 2:5, 3:6] = 0.4
    >>> figure = plot_brain_map(nib.Nifti1Image(data, np.eye(4)), threshold=0.1)
    """
    import nibabel as nib

    img = nib.load(img) if isinstance(img, (str, Path)) else img
    if anat_img is not None and isinstance(anat_img, (str, Path)):
        anat_img = nib.load(anat_img)
    data = np.asarray(img.get_fdata(dtype=np.float32))
    if data.ndim != 3:
        raise ValueError(f"img must be a 3-D map; got shape {data.shape}. Plot one volume.")
    try:
        from nilearn import plotting
    except ImportError:
        anat = None
        if anat_img is not None:
            anat = np.asarray(anat_img.get_fdata(dtype=np.float32))
            if anat.shape != data.shape:
                raise ValueError(
                    f"anat_img has shape {anat.shape} but img has {data.shape}; without nilearn"
                    " the anatomy must be on the map's grid (resample it, or install nilearn)."
                ) from None
        return _plot_slices(data, anat, threshold, title, cmap, n_slices)
    display = plotting.plot_stat_map(img, bg_img=anat_img, threshold=threshold, title=title,
                                     cmap=cmap, display_mode="z", cut_coords=n_slices)
    return display.frame_axes.figure

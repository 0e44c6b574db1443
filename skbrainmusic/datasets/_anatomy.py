"""Anatomy of the synthetic study: grey-matter voxels of the MNI152 template, named parcels.

Both sources ship with nilearn and are read offline:

- the ICBM 2009a grey-matter probability map at 1 mm (Fonov et al. 2011,
  ``nilearn.datasets.load_mni152_gm_template``);
- the 300 ROI centres of Seitzman et al. (2020), with their functional network and
  anatomical region (``nilearn.datasets.fetch_coords_seitzman_2018``).

The voxels are those of a regular grid in MNI space, coarse enough that the cortex holds the
requested number of voxels: a coarser grid, never a random subset of a fine one, so maps of
the voxels look like a brain at any size. Each voxel belongs to the parcel of its nearest
cortical ROI centre (a Voronoi parcellation of the cortical grey matter).
"""

from functools import lru_cache

import numpy as np

# Seitzman's anatomical regions of the cortex; subcortical and cerebellar centres only decide
# which grey-matter voxels are not cortex.
_CORTICAL_REGIONS = {"cortexL": "L", "cortexR": "R", "cortexMid": "M"}
# Seitzman's Auditory network has 12 centres; the 9 below z = 20 mm lie on the superior
# temporal plane and gyrus (Heschl's gyrus, planum temporale, lateral STG), the 3 above on
# the parietal operculum and postcentral gyrus.
_AUDITORY_CORTEX_MAX_Z = 20.0
# A voxel is grey matter when at least this fraction of it is (partial volume on the grid).
_GM_FRACTION = 0.5
# Spread (mm, per axis) of a subject's parcel centres around the published ones: areas move
# between normalised brains. Kept small so that the 9 auditory parcels keep voxels on the
# coarse grids of a few hundred voxels.
CENTRE_JITTER_MM = 2.0
_GRID_LIMITS_MM = (1.0, 40.0)
# TemplateFlow's name of nilearn's template (ICBM 2009a, symmetric).
SPACE = "MNI152NLin2009aSym"

DESCR = """Voxels: the cortical grey matter (partial volume >= 50%) of the ICBM 2009a MNI152
template (Fonov et al. 2011, NeuroImage 54:313-327) on a regular MNI grid of {size:.2f} mm.
Parcels: Voronoi cells of that cortex around the 239 cortical ROI centres of Seitzman et
al. 2020 (NeuroImage 206:116290, doi:10.1016/j.neuroimage.2019.116290), named
<network>_<hemisphere>_<ROI number>; a subject's centres move by {jitter:g} mm (s.d. per
axis). Both sources ship with nilearn."""


@lru_cache(maxsize=1)
def seitzman_rois():
    """The 300 Seitzman et al. (2020) ROI centres, in the order of their published table.

    Returns
    -------
    rois : dict
        ``ids`` ``(300,)`` int (the ROI number, 1-300), ``coords`` ``(300, 3)`` MNI mm,
        ``networks`` ``(300,)`` str, ``cortical`` ``(300,)`` bool (anatomical region
        ``cortexL``, ``cortexR`` or ``cortexMid``),
        ``names`` (id -> ``<network>_<L|R|M>_<id:03d>`` for the cortical ROIs).
    """
    from nilearn.datasets import fetch_coords_seitzman_2018

    table = fetch_coords_seitzman_2018(ordered_regions=False)
    ids = np.arange(1, len(table.rois) + 1)
    networks = np.asarray(table.networks, dtype=str)
    regions = np.asarray(table.regions, dtype=str)
    cortical = np.isin(regions, list(_CORTICAL_REGIONS))
    names = {
        int(i): f"{network}_{_CORTICAL_REGIONS[region]}_{i:03d}"
        for i, network, region, is_cortex in zip(ids, networks, regions, cortical)
        if is_cortex
    }
    return {
        "ids": ids, "coords": table.rois[["x", "y", "z"]].to_numpy(dtype=float),
        "networks": networks, "cortical": cortical, "names": names,
    }


def auditory_cortex_parcels():
    """Ids of the Auditory-network parcels on the superior temporal plane and gyrus."""
    rois = seitzman_rois()
    keep = (rois["networks"] == "Auditory") & (rois["coords"][:, 2] < _AUDITORY_CORTEX_MAX_Z)
    return rois["ids"][keep]


def _grey_matter_points():
    """1 mm grey-matter points of the template: world coordinates and GM probability."""
    from nilearn.datasets import load_mni152_gm_template

    template = load_mni152_gm_template(resolution=1)
    probability = np.asarray(template.dataobj, dtype=np.float32)
    ijk = np.argwhere(probability > 0)
    coords = ijk @ template.affine[:3, :3].T + template.affine[:3, 3]
    return coords.astype(np.float32), probability[tuple(ijk.T)], abs(np.linalg.det(
        template.affine[:3, :3]))


def _cortical_grid(points, size, tree, cortical):
    """Cortical grey-matter voxels of the grid of ``size`` mm whose centres are multiples of
    ``size`` (the MNI origin is a voxel centre): flat indices, GM fractions, shape, origin."""
    coords, probability, point_volume = points
    index = np.floor(coords / size + 0.5).astype(np.int64)
    low = index.min(axis=0)
    index -= low
    shape = tuple(int(n) for n in index.max(axis=0) + 1)
    flat = np.ravel_multi_index(tuple(index.T), shape)
    fraction = np.bincount(flat, weights=probability, minlength=int(np.prod(shape)))
    fraction *= point_volume / size**3
    candidates = np.flatnonzero(fraction >= _GM_FRACTION)
    centres = (np.column_stack(np.unravel_index(candidates, shape)) + low) * size
    _, nearest = tree.query(centres)
    candidates = candidates[cortical[nearest]]
    return candidates, fraction[candidates], shape, low


@lru_cache(maxsize=4)
def cortical_grid(n_voxels):
    """The grid of ``n_voxels`` cortical grey-matter voxels in MNI space.

    The voxel size is the largest whose grid holds at least ``n_voxels`` cortical voxels
    with at least half their volume grey matter; of those, the ``n_voxels`` with the most
    grey matter are kept (a stricter threshold, not a random subset).

    Returns
    -------
    grid : dict
        ``mask`` ``(nx, ny, nz)`` bool, ``affine`` ``(4, 4)``, ``coords`` ``(n_voxels, 3)``
        MNI mm of the mask's voxels in C order, ``voxel_size`` (mm).
    """
    from scipy.spatial import cKDTree

    rois = seitzman_rois()
    tree = cKDTree(rois["coords"])
    points = _grey_matter_points()

    def count(size):
        return _cortical_grid(points, size, tree, rois["cortical"])[0].size

    small, large = _GRID_LIMITS_MM
    most = count(small)
    if n_voxels > most:
        raise ValueError(
            f"n_voxels must be at most {most} (the cortical grey matter of the 1 mm MNI152 "
            f"template); got {n_voxels}."
        )
    # The count falls as the voxels grow; bisect the size on a log scale down to 0.5%.
    while large / small > 1.005:
        middle = np.sqrt(small * large)
        small, large = (middle, large) if count(middle) >= n_voxels else (small, middle)
    candidates, fraction, shape, low = _cortical_grid(points, small, tree, rois["cortical"])
    order = np.lexsort((candidates, -fraction))  # most grey matter first, ties by position
    kept = np.sort(candidates[order[:n_voxels]])
    mask = np.zeros(shape, dtype=bool)
    mask.flat[kept] = True
    affine = np.diag([small, small, small, 1.0])
    affine[:3, 3] = low * small
    return {"mask": mask, "affine": affine, "coords": mask_coords(mask, affine),
            "voxel_size": float(small)}


def mask_coords(mask, affine):
    """World coordinates ``(n_voxels, 3)`` of a 3-D mask's non-zero voxels, in C order."""
    affine = np.asarray(affine, dtype=float)
    return np.argwhere(np.asarray(mask)) @ affine[:3, :3].T + affine[:3, 3]


def parcellate(coords, rng):
    """Parcel id of every voxel: its nearest cortical Seitzman centre, the centres moved by
    ``rng`` (one subject's anatomy).

    Parameters
    ----------
    coords : ndarray of shape (n_voxels, 3)
        MNI coordinates in mm.
    rng : numpy.random.Generator

    Returns
    -------
    labels : ndarray of int of shape (n_voxels,)
    """
    from scipy.spatial import cKDTree

    rois = seitzman_rois()
    centres = rois["coords"][rois["cortical"]]
    centres = centres + rng.normal(0.0, CENTRE_JITTER_MM, centres.shape)
    _, nearest = cKDTree(centres).query(coords)
    return rois["ids"][rois["cortical"]][nearest]


def mask_image(mask, affine):
    """A uint8 NIfTI image of a boolean mask."""
    import nibabel as nib

    return nib.Nifti1Image(np.asarray(mask, dtype=np.uint8), np.asarray(affine, dtype=float))

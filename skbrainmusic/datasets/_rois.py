"""Destrieux atlas label names shipped with the package (see data/destrieux_lut.txt)."""

from functools import lru_cache
from pathlib import Path

import numpy as np

_LUT = Path(__file__).resolve().parents[1] / "data" / "destrieux_lut.txt"


@lru_cache(maxsize=1)
def destrieux_names():
    """Label id -> name of every Destrieux cortical label (``ctx_lh_*`` and ``ctx_rh_*``).

    Returns
    -------
    names : dict of int to str
        152 entries: ids 11100-11175 (left) and 12100-12175 (right), including the
        ``Unknown`` (k=0) and ``Medial_wall`` (k=42) entries of each hemisphere.

    Examples
    --------
    >>> from skbrainmusic.datasets import destrieux_names
    >>> destrieux_names()[11133]
    'ctx_lh_G_temp_sup-G_T_transv'
    """
    names = {}
    for line in _LUT.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        label, name = line.split()[:2]
        names[int(label)] = name
    return names


def destrieux_voxels(atlas_labels, atlas_name):
    """Mask of the voxels of an atlas that carry a Destrieux cortical label.

    Parameters
    ----------
    atlas_labels : ndarray
        The atlas image's label values (any shape).
    atlas_name : str
        How to name the atlas in the error message.

    Returns
    -------
    mask : ndarray of bool, same shape as ``atlas_labels``

    Raises
    ------
    ValueError
        When no voxel has a Destrieux label, naming the labels expected and some found (an
        atlas of another parcellation, e.g. aparc+aseg instead of aparc.a2009s+aseg).
    """
    labels = np.asarray(atlas_labels)
    mask = np.isin(labels, list(destrieux_names()))
    if not mask.any():
        found = np.unique(labels[np.isfinite(labels)] if labels.dtype.kind == "f" else labels)
        raise ValueError(
            f"{atlas_name} has no voxel with a Destrieux cortical label (11100-11175 left, "
            f"12100-12175 right, as in FreeSurfer's aparc.a2009s+aseg); its labels are "
            f"{found[:12].tolist()}{' ...' if found.size > 12 else ''}. Give the "
            "aparc.a2009s+aseg atlas resampled to the functional grid, or a mask.")
    return mask


def cortical_labels():
    """The 148 real cortical labels (without Unknown and Medial_wall), sorted."""
    return sorted(
        label for label, name in destrieux_names().items()
        if not name.endswith(("_Unknown", "_Medial_wall"))
    )


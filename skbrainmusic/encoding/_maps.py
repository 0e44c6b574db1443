"""Per-voxel scores back to brain volumes (NIfTI), written with BIDS-derivatives names.

Voxel ``i`` of a score vector is the ``i``-th non-zero voxel of the subject's mask in C
(row-major) order, the order of ``mask_data[mask_data != 0]`` and of nilearn's masker.
The images live in the subject's functional space (the mask's grid and affine). Drawing
them is :mod:`skbrainmusic.plotting`'s job.
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


def _bids_label(value, what):
    """``"significant_r"`` -> ``"significantR"``: BIDS labels are alphanumeric."""
    words = [word for word in str(value).replace("-", "_").split("_") if word]
    text = "".join(word if k == 0 else word[:1].upper() + word[1:]
                   for k, word in enumerate(words))
    if not text.isalnum():
        raise ValueError(f"{what} {value!r} does not give an alphanumeric BIDS label.")
    return text


def map_filename(name, *, subject, space, desc=None, task="music"):
    """BIDS-derivatives-style file name of a statistical map.

    ``sub-<subject>_task-<task>_space-<space>[_desc-<desc>]_stat-<name>_statmap.nii.gz``,
    the naming of the BIDS statistical-model derivatives; ``name`` and ``desc`` lose their
    underscores and hyphens (BIDS labels are alphanumeric: ``"significant_r"`` ->
    ``"significantR"``).

    Parameters
    ----------
    name : str
        What the map holds (``"r"``, ``"significant_r"``, ``"unique_audio"``, ``"pc1"``).
    subject : int or str
        Subject label without ``sub-``; an int is written with 3 digits as in ds003720
        (``1`` -> ``001``).
    space : str
        Space of the map (``"T1w"``, ``"MNI152NLin2009cAsym"``, ...).
    desc : str, default=None
        Extra description, e.g. the embedding.
    task : str, default="music"

    Returns
    -------
    name : str

    Examples
    --------
    >>> from skbrainmusic.encoding import map_filename
    >>> map_filename("significant_r", subject=1, space="T1w", desc="clap")
    'sub-001_task-music_space-T1w_desc-clap_stat-significantR_statmap.nii.gz'
    """
    subject = f"{subject:03d}" if isinstance(subject, (int, np.integer)) else str(subject)
    entities = [f"sub-{_bids_label(subject, 'subject')}", f"task-{_bids_label(task, 'task')}",
                f"space-{_bids_label(space, 'space')}"]
    if desc is not None:
        entities.append(f"desc-{_bids_label(desc, 'desc')}")
    entities.append(f"stat-{_bids_label(name, 'name')}")
    return "_".join(entities) + "_statmap.nii.gz"


def write_maps(maps, mask_img, folder, *, subject, space, desc=None, task="music"):
    """Write per-voxel maps as NIfTI images named as BIDS derivatives.

    Parameters
    ----------
    maps : dict of str to array-like of shape (n_voxels,)
        Map name -> per-voxel values (NaN allowed).
    mask_img : nibabel image or path
        The voxels' mask (see :func:`scores_to_nifti`).
    folder : str or path-like
        Existing folder; every file must be new (nothing is overwritten).
    subject, space, desc, task
        See :func:`map_filename`.

    Returns
    -------
    paths : dict of str to pathlib.Path
        The written file of every map.

    Examples
    --------
    >>> import tempfile, numpy as np, nibabel as nib
    >>> from skbrainmusic.encoding import write_maps
    >>> mask = nib.Nifti1Image(np.ones((2, 2, 2), np.uint8), np.eye(4))
    >>> paths = write_maps({"r": np.arange(8.0)}, mask, tempfile.mkdtemp(), subject=1,
    ...                    space="MNI152NLin2009aSym")
    >>> paths["r"].name
    'sub-001_task-music_space-MNI152NLin2009aSym_stat-r_statmap.nii.gz'
    """
    import nibabel as nib

    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder; create it first.")
    paths = {name: folder / map_filename(name, subject=subject, space=space, desc=desc,
                                         task=task) for name in maps}
    if len(set(paths.values())) != len(paths):
        raise ValueError(f"Map names {sorted(maps)} give the same file name twice.")
    existing = [str(path) for path in paths.values() if path.exists() or path.is_symlink()]
    if existing:
        raise FileExistsError(f"{existing[0]} exists; write_maps writes new files only.")
    images = {name: scores_to_nifti(values, mask_img, fill_value=np.nan)
              for name, values in maps.items()}
    for name, image in images.items():
        nib.save(image, str(paths[name]))
    return paths

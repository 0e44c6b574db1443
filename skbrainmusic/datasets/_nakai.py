"""Loader of the Music Genre fMRI Dataset (Nakai, Koide-Majima & Nishimoto, OpenNeuro ds003720)."""

import re
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ..preprocessing import constant_voxels, preprocess_run
from ._events import CLIP_DURATION, TR, assemble_runs, read_events
from ._rois import destrieux_names, destrieux_voxels

_TASKS = {"train": "Training", "test": "Test"}
_SCANS_PER_PREPROCESSED_RUN = 400


def _subject_id(subject):
    if isinstance(subject, str):
        match = re.fullmatch(r"(?:sub-)?0*(\d+)", subject)
        if match is None:
            raise ValueError(f"subject must be an int or 'sub-00X'; got {subject!r}.")
        subject = int(match.group(1))
    if not isinstance(subject, (int, np.integer)) or subject < 1:
        raise ValueError(f"subject must be a positive int; got {subject!r}.")
    return f"sub-{int(subject):03d}"


def _find_runs(func_dir, sub, task, suffix):
    """``{run number: path}`` of ``<sub>_task-<task>_run-XX_<suffix>``."""
    pattern = re.compile(rf"{sub}_task-{task}_run-(\d+)_{suffix}$")
    runs = {}
    for path in sorted(func_dir.iterdir()):
        match = pattern.match(path.name)
        if match:
            runs[int(match.group(1))] = path
    return runs


def _events_of(root, sub):
    func_dir = Path(root) / sub / "func"
    if not func_dir.is_dir():
        raise ValueError(f"No folder {func_dir}: is {root} the ds003720 BIDS root?")
    runs = {}
    for task, bids_task in _TASKS.items():
        paths = _find_runs(func_dir, sub, bids_task, r"events\.tsv")
        if not paths:
            raise ValueError(f"No {sub}_task-{bids_task}_run-*_events.tsv in {func_dir}.")
        runs[task] = [(number, path, read_events(path)) for number, path in sorted(paths.items())]
    return runs


def _load_image(path, what):
    import nibabel as nib

    if isinstance(path, nib.spatialimages.SpatialImage):
        return path, f"the given {what} image"
    try:
        return nib.load(str(path)), str(path)
    except Exception as exc:  # nibabel raises many types for unreadable files
        raise ValueError(f"Cannot read the {what} image {path}: {exc}") from exc


def _check_grid(image, name, reference, reference_name):
    if image.shape[:3] != reference.shape[:3] or not np.allclose(
        image.affine, reference.affine, atol=1e-3
    ):
        raise ValueError(
            f"{name} (shape {image.shape[:3]}) does not match the grid of {reference_name} "
            f"(shape {reference.shape[:3]}, same affine needed); resample it to the "
            "functional grid first (e.g. nilearn.image.resample_to_img, nearest interpolation)."
        )


def _bold_paths(func_dir, sub, runs):
    paths = {}
    for task, task_runs in runs.items():
        bids_task = _TASKS[task]
        found = {}
        for ext in (r"bold\.nii\.gz", r"bold\.nii"):
            for number, path in _find_runs(func_dir, sub, bids_task, ext).items():
                found.setdefault(number, path)
        missing = [number for number, _, _ in task_runs if number not in found]
        if missing:
            raise ValueError(
                f"No {sub}_task-{bids_task}_run-XX_bold.nii[.gz] in {func_dir} "
                f"for run(s) {missing}."
            )
        paths[task] = [found[number] for number, _, _ in task_runs]
    return paths


def _read_bold(path, voxel_mask, n_expected):
    """``(n_volumes, n_mask_voxels)`` float32 of one run, read through the memory map."""
    image, name = _load_image(path, "BOLD")
    if len(image.shape) != 4:
        raise ValueError(f"{name} is not 4-D (shape {image.shape}).")
    if image.shape[3] != n_expected:
        raise ValueError(
            f"{name} has {image.shape[3]} volumes but its events need {n_expected} "
            f"({n_expected} x TR {TR} s = the last clip's end)."
        )
    try:
        data = np.asanyarray(image.dataobj)[voxel_mask]
    except Exception as exc:
        raise ValueError(f"Cannot read the data of {name}: {exc}") from exc
    run = np.ascontiguousarray(data.T, dtype=np.float32)
    if not np.isfinite(run).all():
        bad = int((~np.isfinite(run).all(axis=0)).sum())
        raise ValueError(f"{name} has NaN or infinite values in {bad} voxel(s) inside the mask.")
    return run


def _roi_table(atlas, voxel_mask, atlas_name):
    labels = np.asarray(atlas.dataobj)[voxel_mask]
    if not np.allclose(labels, np.round(labels)):
        raise ValueError(f"{atlas_name} has non-integer labels; pass a label image.")
    labels = np.round(labels).astype(int)
    names = destrieux_names()
    unknown = sorted(set(np.unique(labels).tolist()) - set(names))
    if unknown:
        raise ValueError(
            f"{atlas_name} has labels inside the mask that are not Destrieux cortical labels "
            f"(11100-11175, 12100-12175): {unknown[:20]}; restrict the mask to the cortex "
            "(e.g. the voxels of aparc.a2009s+aseg with labels in 11100-12175)."
        )
    return labels, {int(label): names[int(label)] for label in np.unique(labels)}


def _load_bids(root, sub, runs, mask_img, atlas_img, window):
    func_dir = Path(root) / sub / "func"
    bold = _bold_paths(func_dir, sub, runs)
    first, first_name = _load_image(bold["train"][0], "BOLD")
    atlas = atlas_name = None
    if atlas_img is not None:
        atlas, atlas_name = _load_image(atlas_img, "atlas")
        _check_grid(atlas, atlas_name, first, first_name)
    if mask_img is not None:
        mask, mask_name = _load_image(mask_img, "mask")
        _check_grid(mask, mask_name, first, first_name)
        voxel_mask = np.asarray(mask.dataobj) > 0
    elif atlas is not None:
        voxel_mask = destrieux_voxels(np.asarray(atlas.dataobj), atlas_name)
    else:
        voxel_mask = np.ones(first.shape[:3], dtype=bool)
    if not voxel_mask.any():
        raise ValueError("The mask selects no voxel.")
    roi_labels, roi_names = (None, {})
    if atlas is not None:
        roi_labels, roi_names = _roi_table(atlas, voxel_mask, atlas_name)

    n_volumes = {
        task: [int(round((ev.onset.iloc[-1] + ev.duration.iloc[-1]) / TR))
               for _, _, ev in task_runs]
        for task, task_runs in runs.items()
    }
    # Constant voxels (outside the head, or masked to zero) cannot be z-scored: find them
    # over every run first so that all runs keep the same voxels.
    keep = np.ones(int(voxel_mask.sum()), dtype=bool)
    for task in runs:
        for path, n_expected in zip(bold[task], n_volumes[task]):
            keep &= ~constant_voxels(_read_bold(path, voxel_mask, n_expected))
    dropped_voxels = np.flatnonzero(~keep)
    if not keep.any():
        raise ValueError("Every voxel of the mask is constant in some run.")

    def load_run(task, position):
        run = _read_bold(bold[task][position], voxel_mask, n_volumes[task][position])[:, keep]
        return preprocess_run(run, tr=TR, window=window)

    if roi_labels is not None:
        roi_labels = roi_labels[keep]
        roi_names = {label: roi_names[label] for label in np.unique(roi_labels).tolist()}
    return load_run, int(keep.sum()), roi_labels, roi_names, dropped_voxels, voxel_mask


def _check_preprocessed(array, path, n_runs):
    expected = n_runs * _SCANS_PER_PREPROCESSED_RUN
    if array.ndim != 2:
        raise ValueError(f"{path} must be 2-D (time points, voxels); got shape {array.shape}.")
    if array.shape[0] != expected:
        if array.shape[1] == expected:
            raise ValueError(
                f"{path} has shape {array.shape}: the axes look swapped (expected "
                f"({expected}, n_voxels), time first); save its transpose."
            )
        raise ValueError(
            f"{path} has {array.shape[0]} time points; expected {expected} "
            f"({n_runs} runs x {_SCANS_PER_PREPROCESSED_RUN})."
        )


def _load_preprocessed(responses_dir, sub, runs):
    arrays = {}
    for task, name in (("train", "Training"), ("test", "Test")):
        path = Path(responses_dir) / f"{sub}_Resp_{name}.npy"
        try:
            arrays[task] = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ValueError(f"Cannot read {path}: {exc}") from exc
        _check_preprocessed(arrays[task], path, len(runs[task]))
    if arrays["train"].shape[1] != arrays["test"].shape[1]:
        raise ValueError(
            f"The training and test arrays of {sub} have {arrays['train'].shape[1]} and "
            f"{arrays['test'].shape[1]} voxels."
        )
    scans_per_clip = int(round(CLIP_DURATION / TR))
    dummy = np.zeros((scans_per_clip, arrays["train"].shape[1]), np.float32)

    def load_run(task, position):
        block = arrays[task][position * _SCANS_PER_PREPROCESSED_RUN:
                             (position + 1) * _SCANS_PER_PREPROCESSED_RUN]
        if not np.isfinite(block).all():
            raise ValueError(f"The {task} array of {sub} has NaN values in run {position + 1}.")
        # The authors dropped the dummy clip's scans; put a placeholder back so that the
        # events' onsets index the run (the dummy is dropped again when epoching).
        return np.concatenate([dummy, np.asarray(block, dtype=np.float32)])

    return load_run, arrays["train"].shape[1]


def load_nakai2022(root, subject=1, *, responses_dir=None, mask_img=None, atlas_img=None,
                   n_trailing_scans=0, window=240.0):
    """Load one subject of the Music Genre fMRI Dataset (OpenNeuro ds003720).

    Two sources are read:

    - the raw BIDS images ``<root>/sub-00X/func/*_bold.nii[.gz]`` (default): one run at a
      time, memory-mapped; every run is detrended by a 240 s running median and z-scored
      per voxel (:func:`skbrainmusic.preprocessing.preprocess_run`). Pass ``mask_img``
      (e.g. the cortical voxels) and ``atlas_img`` (e.g. aparc.a2009s+aseg resampled to
      the functional grid) to get ``roi_labels``; voxels constant in any run are dropped
      and listed in ``dropped_voxels``.
    - the authors' preprocessed arrays ``sub-00X_Resp_{Training,Test}.npy`` in
      ``responses_dir`` (Zenodo, doi:10.5281/zenodo.8275363): float32, 4,800 / 2,400 time
      points (400 a run, the dummy clip's scans already dropped) by voxels, used as they
      are. They come without a mask, so ``roi_labels`` is None: use a whole-brain model
      or give ROI-based estimators labels from your own registration of the voxels.

    In both cases the clip identities come from the events files in ``root``, row 0 of
    every run (a repeated dummy) is dropped and listed in ``dropped_clips``, and the 4
    presentations of each test clip are kept (``responses_test_repeats``) and averaged.

    Parameters
    ----------
    root : str or path-like
        The ds003720 BIDS root (with ``sub-00X/func/*_events.tsv``).
    subject : int or str, default=1
        Subject number (1-5) or ``"sub-00X"``.
    responses_dir : str or path-like, default=None
        Folder with the preprocessed ``*_Resp_*.npy`` arrays; None reads the BIDS images.
    mask_img : str, path-like or nibabel image, default=None
        Voxels to keep (non-zero), on the functional grid. Default: the atlas's Destrieux
        cortical voxels if ``atlas_img`` is given, else every voxel (a whole 96x96x68 run
        is ~0.5 GB as float32 in memory, so pass a mask on real data).
    atlas_img : str, path-like or nibabel image, default=None
        Destrieux label image on the functional grid; labels inside the mask must be
        Destrieux cortical ids (11100-11175, 12100-12175).
    n_trailing_scans : int, default=0
        Scans kept after each clip's 10; the last clip of each run gets zeros there
        (the run ends), counted in the clip tables' ``n_padded_scans``.
    window : float, default=240.0
        Running-median window in seconds (BIDS source only).

    Returns
    -------
    study : Bunch
        ``responses_train`` ``(480, n_scans, n_voxels)`` float32, ``responses_test``
        ``(60, n_scans, n_voxels)``, ``responses_test_repeats`` ``(60, 4, n_scans,
        n_voxels)``, ``clips_train`` / ``clips_test`` (DataFrames: ``clip_id``,
        ``genre``, ``track``, ``start``, ``end``, ``run``, ``onset``,
        ``n_padded_scans``), ``roi_labels`` ``(n_voxels,)`` or None, ``roi_names``,
        ``tr``, ``clip_duration``, ``subject``, ``dropped_clips``, ``dropped_voxels``
        (indices into the mask's voxels), ``mask`` (boolean 3-D array or None).

    Examples
    --------
    >>> from skbrainmusic.datasets import load_nakai2022
    >>> study = load_nakai2022("ds003720", subject=1, mask_img="cortex.nii.gz",
    ...                        atlas_img="aparc.a2009s+aseg_func.nii.gz")  # doctest: +SKIP
    """
    sub = _subject_id(subject)
    if not isinstance(n_trailing_scans, (int, np.integer)) or n_trailing_scans < 0:
        raise ValueError(f"n_trailing_scans must be a non-negative int; got {n_trailing_scans!r}.")
    runs = _events_of(root, sub)
    mask = None
    if responses_dir is not None:
        if mask_img is not None or atlas_img is not None:
            raise ValueError(
                "mask_img and atlas_img apply to the BIDS images; the preprocessed arrays "
                "have no voxel coordinates."
            )
        load_run, n_voxels = _load_preprocessed(responses_dir, sub, runs)
        roi_labels, roi_names, dropped_voxels = None, {}, np.array([], dtype=int)
    else:
        load_run, n_voxels, roi_labels, roi_names, dropped_voxels, mask = _load_bids(
            root, sub, runs, mask_img, atlas_img, window
        )
    result = assemble_runs(
        [(number, events) for number, _, events in runs["train"]],
        [(number, events) for number, _, events in runs["test"]],
        load_run, n_voxels, lambda name, shape: np.empty(shape, np.float32),
        tr=TR, clip_duration=CLIP_DURATION, n_trailing_scans=n_trailing_scans,
    )
    return Bunch(
        **result,
        roi_labels=roi_labels,
        roi_names=roi_names,
        tr=TR,
        clip_duration=CLIP_DURATION,
        subject=int(sub[4:]),
        dropped_voxels=dropped_voxels,
        mask=mask,
    )

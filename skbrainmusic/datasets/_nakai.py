"""Loader of the Music Genre fMRI Dataset (Nakai, Koide-Majima & Nishimoto, OpenNeuro ds003720)."""

import re
import warnings
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ..preprocessing import constant_voxels, preprocess_run
from ._anatomy import mask_coords, mask_image
from ._events import CLIP_DURATION, TR, assemble_runs, read_events
from ._fmriprep import (
    check_confounds,
    confound_regressors,
    find_parcellation,
    find_runs,
    parcellation_locations,
    parse_space,
    regress_out,
    resample_labels,
)
from ._rois import cortical_labels, destrieux_names, destrieux_voxels

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


def _roi_table(atlas, voxel_mask, atlas_name, atlas_names):
    labels = np.asarray(atlas.dataobj)[voxel_mask]
    if not np.allclose(labels, np.round(labels)):
        raise ValueError(f"{atlas_name} has non-integer labels; pass a label image.")
    labels = np.round(labels).astype(int)
    names = destrieux_names() if atlas_names is None else atlas_names
    unknown = sorted(set(np.unique(labels).tolist()) - set(names))
    if unknown:
        if atlas_names is not None:
            raise ValueError(
                f"{atlas_name} has labels inside the mask that atlas_names does not name: "
                f"{unknown[:20]}; name them or restrict the mask."
            )
        raise ValueError(
            f"{atlas_name} has labels inside the mask that are not Destrieux cortical labels "
            f"(11100-11175, 12100-12175): {unknown[:20]}; restrict the mask to the cortex "
            "(e.g. the voxels of aparc.a2009s+aseg with labels in 11100-12175), or pass "
            "atlas_names for another atlas."
        )
    return labels, {int(label): names[int(label)] for label in np.unique(labels)}


def _run_volumes(task_runs):
    """Volumes each run must have: up to the end of its last clip."""
    return [int(round((ev.onset.iloc[-1] + ev.duration.iloc[-1]) / TR)) for _, _, ev in task_runs]


def _wanted_labels(atlas_names):
    """Atlas labels whose voxels are kept by default: the named ones, else Destrieux's 148."""
    return cortical_labels() if atlas_names is None else sorted(atlas_names)


def _load_runs(bold, voxel_mask, runs, window, clean=None):
    """Read every run inside ``voxel_mask``; return ``load_run``, the kept voxels and the
    indices of the dropped ones.

    ``clean(task, position, run)``, when given, transforms a raw run (e.g. regresses
    confounds) before :func:`~skbrainmusic.preprocessing.preprocess_run`.
    """
    n_volumes = {task: _run_volumes(task_runs) for task, task_runs in runs.items()}
    # Constant voxels (outside the head, or masked to zero) cannot be z-scored: find them
    # over every run first so that all runs keep the same voxels.
    keep = np.ones(int(voxel_mask.sum()), dtype=bool)
    for task in runs:
        for path, n_expected in zip(bold[task], n_volumes[task]):
            keep &= ~constant_voxels(_read_bold(path, voxel_mask, n_expected))
    if not keep.any():
        raise ValueError("Every voxel of the mask is constant in some run.")

    def load_run(task, position):
        run = _read_bold(bold[task][position], voxel_mask, n_volumes[task][position])[:, keep]
        if clean is not None:
            run = clean(task, position, run)
        return preprocess_run(run, tr=TR, window=window)

    return load_run, keep, np.flatnonzero(~keep)


def _load_bids(root, sub, runs, mask_img, atlas_img, atlas_names):
    warnings.warn(
        "load_nakai2022 reads the raw ds003720 runs, which are neither motion-corrected nor "
        "aligned to each other: a voxel index may not be the same tissue in all 18 runs. "
        "The paper motion-corrects and aligns every run first; pass the fMRIPrep outputs "
        "with derivatives= (or give runs you realigned yourself).",
        UserWarning, stacklevel=3,
    )
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
        voxel_mask = (destrieux_voxels(np.asarray(atlas.dataobj), atlas_name)
                      if atlas_names is None
                      else np.isin(np.asarray(atlas.dataobj), sorted(atlas_names)))
    else:
        voxel_mask = np.ones(first.shape[:3], dtype=bool)
    if not voxel_mask.any():
        raise ValueError("The mask selects no voxel.")
    return bold, voxel_mask, first.affine, atlas, atlas_name, None


def _load_fmriprep(derivatives, sub, runs, space, confounds, mask_img, atlas_img,
                   atlas_names):
    strategy = check_confounds(confounds)
    files = find_runs(derivatives, sub, {
        _TASKS[task]: [number for number, _, _ in task_runs] for task, task_runs in runs.items()
    }, space)
    files = {task: files[_TASKS[task]] for task in runs}
    reference, reference_name = _load_image(files["train"][0]["mask"], "brain mask")
    voxel_mask = np.ones(reference.shape[:3], dtype=bool)
    for task in runs:
        for run in files[task]:
            brain, brain_name = _load_image(run["mask"], "brain mask")
            _check_grid(brain, brain_name, reference, reference_name)
            image, image_name = _load_image(run["bold"], "BOLD")
            _check_grid(image, image_name, reference, reference_name)
            # Runs are aligned, but their brain masks differ at the edges: keep the voxels
            # inside every run's brain.
            voxel_mask &= np.asarray(brain.dataobj) > 0
    if mask_img is not None:
        mask, mask_name = _load_image(mask_img, "mask")
        _check_grid(mask, mask_name, reference, reference_name)
        voxel_mask &= np.asarray(mask.dataobj) > 0
    atlas = atlas_name = None
    if atlas_img is None and parse_space(space)[0] == "T1w":
        atlas_img = find_parcellation(derivatives, sub)
        if atlas_img is None:
            looked = " or ".join(parcellation_locations(derivatives, sub))
            warnings.warn(
                f"No FreeSurfer parcellation at {looked}: the study has no ROIs (roi_labels "
                "is None). Pass atlas_img, or run fMRIPrep with FreeSurfer.",
                UserWarning, stacklevel=3,
            )
    if atlas_img is not None:
        atlas, atlas_name = _load_image(atlas_img, "atlas")
        atlas = resample_labels(atlas, reference, atlas_name)
        labelled = np.isin(np.asarray(atlas.dataobj), _wanted_labels(atlas_names))
        if not (labelled & voxel_mask).any():
            raise ValueError(
                f"{atlas_name} does not overlap the BOLD field of view: after resampling to "
                f"the grid of {reference_name}, none of its "
                f"{'named' if atlas_names is not None else 'Destrieux cortical'} labels lies "
                f"inside the brain mask. Is it {sub}'s parcellation, in space {space!r}?"
            )
        voxel_mask &= labelled
    if not voxel_mask.any():
        raise ValueError(f"The brain masks of {sub} (and mask_img) select no voxel.")
    n_first_clip = int(round(CLIP_DURATION / TR))
    regressors = {
        task: [confound_regressors(run["bold"], run["confounds"], strategy, n_volumes,
                                   n_first_clip)
               for run, n_volumes in zip(files[task], _run_volumes(runs[task]))]
        for task in runs
    }
    bold = {task: [run["bold"] for run in files[task]] for task in runs}

    def clean(task, position, run):
        return regress_out(run, regressors[task][position], TR)

    return bold, voxel_mask, reference.affine, atlas, atlas_name, clean


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


def load_nakai2022(root, subject=1, *, derivatives=None, space="T1w", confounds="auto",
                   responses_dir=None, mask_img=None, atlas_img=None, atlas_names=None,
                   n_trailing_scans=0, window=240.0):
    """Load one subject of the Music Genre fMRI Dataset (OpenNeuro ds003720).

    Three sources of responses are read; the clip identities always come from the events
    files of the raw BIDS folder ``root``:

    - **fMRIPrep derivatives** (``derivatives=``, recommended): every run motion-corrected
      and aligned in ``space`` (the subject's ``"T1w"``, or a template such as
      ``"MNI152NLin2009cAsym"``; ``"MNI152NLin2009cAsym:res-2"`` picks one resolution).
      Each run's ``desc-preproc_bold``, ``desc-brain_mask`` and
      ``desc-confounds_timeseries.tsv`` are found by their BIDS entities; the
      ``confounds`` are regressed out of every run, then the run is detrended and z-scored
      as below. ROIs: FreeSurfer's Destrieux parcellation ``aparc.a2009s+aseg.mgz`` (in
      ``<derivatives>/sourcedata/freesurfer/sub-00X/mri``, fMRIPrep >= 21, or in a
      ``freesurfer`` folder beside ``derivatives``), resampled to the BOLD grid by nearest
      neighbour in world coordinates (:func:`nilearn.image.resample_to_img`), in space
      ``"T1w"``; in a template space, or to use another atlas, pass ``atlas_img``. The
      voxels are those inside every run's brain mask and, with an atlas, inside its 148
      Destrieux cortical labels (or the labels of ``atlas_names``).
    - **the raw BIDS images** ``<root>/sub-00X/func/*_bold.nii[.gz]`` (neither derivatives
      nor ``responses_dir``): read as they are, so they must be motion-corrected and
      aligned across runs already (the published runs are not: a ``UserWarning`` says so).
      ``mask_img`` and ``atlas_img`` must be on the functional grid.
    - **the authors' preprocessed arrays** ``sub-00X_Resp_{Training,Test}.npy`` in
      ``responses_dir`` (Zenodo, doi:10.5281/zenodo.8275363): float32, 4,800 / 2,400 time
      points (400 a run, the dummy clip's scans already dropped) by voxels, used as they
      are. They come without a mask, so ``roi_labels`` is None: use a whole-brain model
      or give ROI-based estimators labels from your own registration of the voxels.

    NIfTI runs are read one at a time, memory-mapped; every run is detrended by a 240 s
    running median and z-scored per voxel
    (:func:`skbrainmusic.preprocessing.preprocess_run`); voxels constant in any run are
    dropped and listed in ``dropped_voxels``. Row 0 of every run (a repeated dummy) is
    dropped and listed in ``dropped_clips``, and the 4 presentations of each test clip are
    kept (``responses_test_repeats``) and averaged.

    Parameters
    ----------
    root : str or path-like
        The ds003720 BIDS root (with ``sub-00X/func/*_events.tsv``).
    subject : int or str, default=1
        Subject number (1-5) or ``"sub-00X"``.
    derivatives : str or path-like, default=None
        fMRIPrep output folder (with ``sub-00X/func/*_desc-preproc_bold.nii.gz``).
    space : str, default="T1w"
        fMRIPrep output space of the runs (fMRIPrep's ``--output-spaces`` syntax).
    confounds : "auto", dict or None, default="auto"
        Confounds regressed out of every fMRIPrep run, through nilearn's
        :func:`~nilearn.interfaces.fmriprep.load_confounds`. ``"auto"``: head motion
        (``strategy=("motion", "high_pass")``, ``motion="full"``: the 6 realignment
        parameters, their derivatives and squares, 24 regressors) and fMRIPrep's cosine
        high-pass basis (128 s). Motion because realignment leaves spin-history and
        interpolation effects that follow the motion parameters; the high-pass because it
        is the drift model fMRIPrep computes (the running median then removes what is
        left). Not included by default: the global signal (the music-evoked response is
        widespread, and regressing the global mean would remove part of it), white-matter
        and CSF signals and CompCor (not part of the paper's preprocessing); add them with
        a dict of ``load_confounds`` arguments, e.g. ``{"strategy": ("motion",
        "high_pass", "wm_csf"), "motion": "basic"}``. Strategies that censor volumes
        (``"scrub"``) are refused outside the first (dummy) clip, since every clip needs
        its scans; fMRIPrep's non-steady-state volumes are regressed out as spikes.
        ``None``: no confound regression.
    responses_dir : str or path-like, default=None
        Folder with the preprocessed ``*_Resp_*.npy`` arrays.
    mask_img : str, path-like or nibabel image, default=None
        Voxels to keep (non-zero), on the functional grid. Default: every voxel inside the
        brain masks (fMRIPrep) or every voxel (raw runs; a whole 96x96x68 run is ~0.5 GB
        as float32 in memory, so pass a mask on real data), restricted to the atlas's
        labels when there is an atlas.
    atlas_img : str, path-like or nibabel image, default=None
        Label image: on the functional grid for the raw runs; in the runs' space, any
        grid, for fMRIPrep runs (resampled by nearest neighbour). Its labels must be
        Destrieux cortical ids (11100-11175, 12100-12175), or keys of ``atlas_names``.
    atlas_names : dict of int to str, default=None
        Names of the atlas's labels, for an atlas other than Destrieux (e.g.
        ``dict(enumerate(nilearn.datasets.fetch_atlas_destrieux_2009().labels))`` minus the
        background); only the named labels' voxels are kept.
    n_trailing_scans : int, default=0
        Scans kept after each clip's 10; the last clip of each run gets zeros there
        (the run ends), counted in the clip tables' ``n_padded_scans``.
    window : float, default=240.0
        Running-median window in seconds (NIfTI sources only).

    Returns
    -------
    study : Bunch
        ``responses_train`` ``(480, n_scans, n_voxels)`` float32, ``responses_test``
        ``(60, n_scans, n_voxels)``, ``responses_test_repeats`` ``(60, 4, n_scans,
        n_voxels)``, ``clips_train`` / ``clips_test`` (DataFrames: ``clip_id``,
        ``genre``, ``track``, ``start``, ``end``, ``run``, ``onset``,
        ``n_padded_scans``), ``roi_labels`` ``(n_voxels,)`` or None, ``roi_names``,
        ``tr``, ``clip_duration``, ``subject``, ``dropped_clips``, ``dropped_voxels``
        (indices into the mask's voxels), ``mask`` (boolean 3-D array before the dropped
        voxels, or None), ``mask_img`` (nibabel image whose non-zero voxels, in C order,
        are the responses' voxels; None for the arrays), ``voxel_coords`` ``(n_voxels,
        3)`` world coordinates in mm (or None), ``space`` (the fMRIPrep space, ``"bold"``
        for the raw runs, None for the arrays).

    Examples
    --------
    >>> from skbrainmusic.datasets import load_nakai2022
    >>> study = load_nakai2022("ds003720", subject=1, derivatives="ds003720/derivatives/"
    ...                        "fmriprep", space="T1w")  # doctest: +SKIP
    >>> study.roi_names[study.roi_labels[0]]  # doctest: +SKIP
    'ctx_lh_G_and_S_cingul-Ant'
    """
    sub = _subject_id(subject)
    if not isinstance(n_trailing_scans, (int, np.integer)) or n_trailing_scans < 0:
        raise ValueError(f"n_trailing_scans must be a non-negative int; got {n_trailing_scans!r}.")
    if atlas_names is not None and not isinstance(atlas_names, dict):
        raise TypeError(f"atlas_names must be a dict of label -> name; got {atlas_names!r}.")
    runs = _events_of(root, sub)
    mask = mask_img_out = voxel_coords = None
    roi_labels, roi_names = None, {}
    if responses_dir is not None:
        if derivatives is not None or mask_img is not None or atlas_img is not None:
            raise ValueError(
                "derivatives, mask_img and atlas_img apply to NIfTI runs; the preprocessed "
                "arrays of responses_dir have no voxel coordinates."
            )
        load_run, n_voxels = _load_preprocessed(responses_dir, sub, runs)
        dropped_voxels, space = np.array([], dtype=int), None
    else:
        if derivatives is not None:
            bold, mask, affine, atlas, atlas_name, clean = _load_fmriprep(
                derivatives, sub, runs, space, confounds, mask_img, atlas_img, atlas_names)
        else:
            bold, mask, affine, atlas, atlas_name, clean = _load_bids(
                root, sub, runs, mask_img, atlas_img, atlas_names)
            space = "bold"
        if atlas is not None:
            roi_labels, roi_names = _roi_table(atlas, mask, atlas_name, atlas_names)
        load_run, keep, dropped_voxels = _load_runs(bold, mask, runs, window, clean)
        n_voxels = int(keep.sum())
        if atlas is not None:
            roi_labels = roi_labels[keep]
            roi_names = {label: roi_names[label] for label in np.unique(roi_labels).tolist()}
        kept = np.zeros(mask.shape, dtype=bool)
        kept[tuple(np.argwhere(mask)[keep].T)] = True
        mask_img_out = mask_image(kept, affine)
        voxel_coords = mask_coords(kept, affine)
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
        mask_img=mask_img_out,
        voxel_coords=voxel_coords,
        space=space,
    )

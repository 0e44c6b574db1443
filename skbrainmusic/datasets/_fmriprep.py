"""fMRIPrep derivatives of ds003720: runs found by BIDS entities, confounds, Destrieux ROIs.

fMRIPrep motion-corrects every run, aligns all of them to the subject's anatomy (``T1w``) or
to a template (``MNI152NLin2009cAsym``, ...) and writes, per run,
``<sub>_task-<task>_run-<NN>_space-<space>[_res-<r>]_desc-preproc_bold.nii.gz``, its brain
mask (``desc-brain_mask``) and ``<sub>_task-<task>_run-<NN>_desc-confounds_timeseries.tsv``
(``desc-confounds_regressors.tsv`` before 20.2). FreeSurfer's outputs sit in
``<derivatives>/sourcedata/freesurfer`` (fMRIPrep >= 21) or in a ``freesurfer`` folder beside
the derivatives (older versions).
"""

from pathlib import Path

import numpy as np

# Head motion (24 Friston parameters) and fMRIPrep's discrete-cosine high-pass (128 s).
DEFAULT_CONFOUNDS = {"strategy": ("motion", "high_pass"), "motion": "full"}
_PARCELLATION = "aparc.a2009s+aseg.mgz"
_CONFOUNDS_SUFFIXES = ("timeseries", "regressors")


def parse_space(space):
    """``"MNI152NLin2009cAsym:res-2"`` -> ``("MNI152NLin2009cAsym", {"res": "2"})``.

    The syntax of fMRIPrep's ``--output-spaces``: a space, then optional ``:key-value``
    entities that pick one of several outputs in that space.
    """
    if not isinstance(space, str) or not space or space.startswith(":"):
        raise ValueError(
            f"space must be an fMRIPrep output space such as 'T1w' or "
            f"'MNI152NLin2009cAsym:res-2'; got {space!r}."
        )
    name, *extra = space.split(":")
    entities = {}
    for item in extra:
        key, sep, value = item.partition("-")
        if not sep or not key or not value:
            raise ValueError(f"space {space!r}: {item!r} is not a key-value entity like 'res-2'.")
        entities[key] = value
    return name, entities


def bids_entities(path):
    """``(entities, suffix, extension)`` of a BIDS file name; entities as strings."""
    name = Path(path).name
    stem, _, extension = name.partition(".")
    *parts, suffix = stem.split("_")
    entities = {}
    for part in parts:
        key, sep, value = part.partition("-")
        if sep:
            entities[key] = value
    return entities, suffix, extension


def _func_files(derivatives, sub):
    func_dir = Path(derivatives) / sub / "func"
    if not func_dir.is_dir():
        raise ValueError(
            f"No folder {func_dir}: is {derivatives} the fMRIPrep output folder (the one with "
            f"{sub}/func/*_desc-preproc_bold.nii.gz)?"
        )
    files = []
    for path in sorted(func_dir.iterdir()):
        entities, suffix, extension = bids_entities(path)
        if entities.get("run", "").isdigit():  # run-1 and run-01 are the same run
            entities["run"] = str(int(entities["run"]))
        files.append((path, entities, suffix, extension))
    return func_dir, files


def _pick(files, want, suffix, extensions, what, func_dir):
    """The one file of ``files`` whose entities include ``want``; ``None`` when absent."""
    found = [
        path for path, entities, file_suffix, extension in files
        if file_suffix == suffix and extension in extensions
        and all(entities.get(key) == value for key, value in want.items())
    ]
    if len(found) > 1:
        names = ", ".join(path.name for path in found)
        raise ValueError(
            f"Several {what} in {func_dir} match {want}: {names}. Pick one with the space's "
            "entities, e.g. space='MNI152NLin2009cAsym:res-2'."
        )
    return found[0] if found else None


def find_runs(derivatives, sub, runs, space):
    """Preprocessed BOLD, brain mask and confounds file of every run.

    Parameters
    ----------
    derivatives : path-like
        fMRIPrep output folder.
    sub : str
        ``"sub-00X"``.
    runs : dict of str to list of int
        Run numbers per BIDS task name (``"Training"``, ``"Test"``), from the raw events.
    space : str
        Output space, optionally with entities (see :func:`parse_space`).

    Returns
    -------
    files : dict of str to list of dict
        Per task, per run: ``bold``, ``mask``, ``confounds`` paths.
    """
    space_name, space_entities = parse_space(space)
    func_dir, files = _func_files(derivatives, sub)
    spaces = sorted({
        entities["space"] for _, entities, suffix, _ in files
        if suffix == "bold" and entities.get("desc") == "preproc" and "space" in entities
    })
    if space_name not in spaces:
        raise ValueError(
            f"{func_dir} has no desc-preproc_bold run in space {space_name!r}; spaces found: "
            f"{spaces or 'none'}. Pass one of them as space=, or rerun fMRIPrep with "
            f"--output-spaces {space_name}."
        )
    found = {}
    for task, numbers in runs.items():
        found[task] = []
        for number in numbers:
            run = {"sub": sub[4:], "task": task, "run": str(number)}
            image = {**run, "space": space_name, **space_entities}
            bold = _pick(files, {**image, "desc": "preproc"}, "bold", ("nii.gz", "nii"),
                         "preprocessed runs", func_dir)
            mask = _pick(files, {**image, "desc": "brain"}, "mask", ("nii.gz", "nii"),
                         "brain masks", func_dir)
            confounds = None
            for suffix in _CONFOUNDS_SUFFIXES:
                confounds = confounds or _pick(files, {**run, "desc": "confounds"}, suffix,
                                               ("tsv",), "confounds files", func_dir)
            label = f"{sub}_task-{task}_run-{number:02d}"
            for what, path in (("_desc-preproc_bold.nii.gz", bold),
                               ("_desc-brain_mask.nii.gz", mask),
                               ("_desc-confounds_timeseries.tsv", confounds)):
                if path is None:
                    space_part = "" if "confounds" in what else f"_space-{space_name}*"
                    raise ValueError(
                        f"No {label}{space_part}{what} in {func_dir} (the events of "
                        f"{task} run {number} need it)."
                    )
            found[task].append({"bold": bold, "mask": mask, "confounds": confounds})
    return found


def find_parcellation(derivatives, sub):
    """FreeSurfer's Destrieux parcellation of ``sub``, or ``None`` when absent.

    Looks in ``<derivatives>/sourcedata/freesurfer/<sub>/mri`` (fMRIPrep >= 21), then in a
    ``freesurfer`` folder beside ``derivatives`` (older fMRIPrep).
    """
    derivatives = Path(derivatives)
    for subjects_dir in (derivatives / "sourcedata" / "freesurfer",
                         derivatives.parent / "freesurfer"):
        path = subjects_dir / sub / "mri" / _PARCELLATION
        if path.is_file():
            return path
    return None


def parcellation_locations(derivatives, sub):
    """The places :func:`find_parcellation` looks in (for error messages)."""
    derivatives = Path(derivatives)
    return [str(folder / sub / "mri" / _PARCELLATION) for folder in (
        derivatives / "sourcedata" / "freesurfer", derivatives.parent / "freesurfer")]


def check_confounds(confounds):
    """``confounds`` as keyword arguments of nilearn's ``load_confounds``, or ``None``."""
    if confounds is None:
        return None
    if isinstance(confounds, str) and confounds == "auto":
        return dict(DEFAULT_CONFOUNDS)
    if isinstance(confounds, dict):
        if "strategy" not in confounds:
            raise ValueError(
                "confounds must name its 'strategy', e.g. {'strategy': ('motion', "
                f"'high_pass'), 'motion': 'basic'}}; got {confounds!r}."
            )
        return dict(confounds)
    raise ValueError(
        "confounds must be 'auto', None (no confound regression) or a dict of keyword "
        "arguments of nilearn.interfaces.fmriprep.load_confounds; got "
        f"{confounds!r}."
    )


def confound_regressors(bold, confounds_file, strategy, n_volumes, n_first_clip):
    """Regressors ``(n_volumes, n_regressors)`` of one run, or ``None`` without a strategy.

    The columns come from nilearn's ``load_confounds`` (read next to the BOLD file). Volumes
    that nilearn censors (fMRIPrep's non-steady-state volumes) get one indicator column
    each, which removes them from the fit; they may only lie in the run's first clip (a
    dummy, dropped after epoching), because every later volume belongs to a clip.
    """
    import pandas as pd
    from nilearn.interfaces.fmriprep import load_confounds

    n_rows = len(pd.read_csv(confounds_file, sep="\t", usecols=[0]))
    if n_rows != n_volumes:
        raise ValueError(
            f"{confounds_file} has {n_rows} rows but its run has {n_volumes} volumes."
        )
    if strategy is None:
        return None
    try:
        table, sample_mask = load_confounds(str(bold), **strategy)
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"{confounds_file}: {exc}") from exc
    regressors = table.to_numpy(dtype=float)
    if sample_mask is not None:
        censored = np.setdiff1d(np.arange(n_volumes), sample_mask)
        if censored.size and censored.max() >= n_first_clip:
            raise ValueError(
                f"{confounds_file}: the confound strategy {strategy} censors volume(s) "
                f"{censored[censored >= n_first_clip].tolist()[:10]}, which belong to clips; "
                "every volume after the first clip is needed (use a strategy without 'scrub')."
            )
        spikes = np.zeros((n_volumes, censored.size))
        spikes[censored, np.arange(censored.size)] = 1.0
        regressors = np.hstack([regressors, spikes])
    return regressors


def regress_out(run, regressors, tr):
    """``run`` ``(n_volumes, n_voxels)`` minus its least-squares fit on ``regressors``."""
    from nilearn.signal import clean

    if regressors is None or regressors.shape[1] == 0:
        return run
    return clean(run, confounds=regressors, detrend=False, standardize=None, filter=False,
                 t_r=tr).astype(np.float32, copy=False)


def resample_labels(atlas, reference, atlas_name):
    """``atlas`` on the grid of ``reference`` (nearest neighbour in world coordinates)."""
    from nilearn.image import resample_to_img

    if atlas.shape[:3] == reference.shape[:3] and np.allclose(atlas.affine, reference.affine,
                                                              atol=1e-3):
        return atlas
    try:
        return resample_to_img(atlas, reference, interpolation="nearest")
    except Exception as exc:  # nilearn raises several types for unusable affines
        raise ValueError(f"Cannot resample {atlas_name} to the BOLD grid: {exc}") from exc

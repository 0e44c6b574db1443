"""load_nakai2022 on a tiny fMRIPrep-like tree: runs found by BIDS entities, confounds regressed,
FreeSurfer's Destrieux parcellation resampled from another grid, bad input named."""

import shutil

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from skbrainmusic import ROIEnsembleRidge, TemporalWindowAligner
from skbrainmusic.datasets import destrieux_names, load_nakai2022, read_events
from skbrainmusic.preprocessing import median_detrend

N_VOLUMES = 410
GRID = (8, 8, 6)
# The BOLD grid: 3 mm voxels, RAS. The FreeSurfer volume below has another grid and
# orientation, so the loader has to resample it in world coordinates.
BOLD_AFFINE = np.array([[3.0, 0, 0, -12.0], [0, 3.0, 0, -30.0], [0, 0, 3.0, 4.0], [0, 0, 0, 1]])
# FreeSurfer's conformed orientation (LIA), 1 mm voxels, the grid points 0.5 mm off the BOLD's.
FS_SHAPE = (40, 30, 40)
FS_AFFINE = np.array([[-1.0, 0, 0, 15.5], [0, 0, 1.0, -35.5], [0, -1.0, 0, 25.5], [0, 0, 0, 1]])
SPACE = "T1w"
# Labels per BOLD voxel: left (i < 4) / right hemisphere, 3 bands along j, 2 along k; the
# k = 0 layer is white matter (aseg 2 / 41), i or j on the border is outside the brain.
REGIONS = ("G_temp_sup-G_T_transv", "G_temp_sup-Plan_tempo", "G_temp_sup-Lateral",
           "S_temporal_sup", "G_front_sup", "G_cuneus")
PLANTED = ("ctx_lh_G_temp_sup-G_T_transv", "ctx_rh_G_temp_sup-Plan_tempo")
MOTION = ("trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z")
N_DIMS = 3


def _label_of_voxel(i, j, k):
    if i in (0, GRID[0] - 1) or j in (0, GRID[1] - 1):
        return 0
    hemi = "lh" if i < 4 else "rh"
    if k == 0:
        return 2 if hemi == "lh" else 41
    region = REGIONS[2 * ((j - 1) // 2) + (k >= 3)]
    by_name = {name: label for label, name in destrieux_names().items()}
    return by_name[f"ctx_{hemi}_{region}"]


BOLD_LABELS = np.array([[[_label_of_voxel(i, j, k) for k in range(GRID[2])]
                         for j in range(GRID[1])] for i in range(GRID[0])])


def _parcellation(affine=FS_AFFINE):
    """Destrieux labels on the FreeSurfer grid: each point takes the label of the BOLD voxel
    it falls in (0 outside the BOLD field of view)."""
    ijk = np.indices(FS_SHAPE).reshape(3, -1).T
    world = ijk @ affine[:3, :3].T + affine[:3, 3]
    bold_ijk = np.floor(
        (world - BOLD_AFFINE[:3, 3]) / 3.0 + 0.5).astype(int)
    inside = ((bold_ijk >= 0) & (bold_ijk < GRID)).all(axis=1)
    labels = np.zeros(len(ijk), dtype=np.int32)
    labels[inside] = BOLD_LABELS[tuple(bold_ijk[inside].T)]
    return nib.MGHImage(labels.reshape(FS_SHAPE), affine)


def _motion(rng):
    """Smooth random-walk motion parameters (n_volumes, 6), as realignment estimates them."""
    walk = np.cumsum(rng.standard_normal((N_VOLUMES + 6, 6)) * 0.05, axis=0)
    kernel = np.hanning(7) / np.hanning(7).sum()
    return np.column_stack([np.convolve(walk[:, c], kernel, mode="valid") for c in range(6)])


def _confounds_table(motion, rng):
    columns = {}
    for name, values in zip(MOTION, motion.T):
        derivative = np.r_[np.nan, np.diff(values)]
        columns.update({name: values, f"{name}_derivative1": derivative,
                        f"{name}_power2": values**2,
                        f"{name}_derivative1_power2": derivative**2})
    time = np.arange(N_VOLUMES)
    for k in range(9):  # fMRIPrep's discrete cosines for a 128 s cutoff over 615 s
        columns[f"cosine{k:02d}"] = np.sqrt(2 / N_VOLUMES) * np.cos(
            np.pi * (k + 1) * (time + 0.5) / N_VOLUMES)
    for name in ("csf", "white_matter", "global_signal"):
        columns[name] = 100 + rng.standard_normal(N_VOLUMES)
    displacement = np.abs(np.diff(motion, axis=0)).sum(axis=1)
    columns["framewise_displacement"] = np.r_[np.nan, displacement]
    columns["std_dvars"] = np.r_[np.nan, 1 + 0.1 * rng.standard_normal(N_VOLUMES - 1)]
    columns["dvars"] = np.r_[np.nan, 20 + rng.standard_normal(N_VOLUMES - 1)]
    # fMRIPrep flags the first volume as not at steady state (an indicator column).
    columns["non_steady_state_outlier00"] = (time == 0).astype(float)
    return pd.DataFrame(columns)


def _embeddings(clip_ids, seed=0):
    """A random 'music embedding' per clip id."""
    rng = np.random.default_rng(seed)
    return {clip_id: rng.standard_normal(N_DIMS) for clip_id in sorted(set(clip_ids))}


def _bold_run(events, embeddings, motion, rng):
    """Float32 run: baseline, noise, a clip-locked pattern in the two PLANTED ROIs and a
    motion artefact in every brain voxel."""
    names = destrieux_names()
    flat_labels = BOLD_LABELS.reshape(-1)
    n_vox = flat_labels.size
    data = 1000 + 5 * rng.standard_normal((N_VOLUMES, n_vox))
    patterns = np.random.default_rng(42).standard_normal((N_DIMS, n_vox))
    planted = np.isin([names.get(int(label), "") for label in flat_labels], PLANTED)
    for onset, clip_id in zip(events.onset, events.clip_id):
        first = int(onset / 1.5)
        data[first: first + 10, planted] += 4 * embeddings[clip_id] @ patterns[:, planted]
    artefact = motion @ np.random.default_rng(7).normal(0, 60, (6, n_vox))
    data[:, flat_labels > 0] += artefact[:, flat_labels > 0]
    return data.T.reshape(GRID + (N_VOLUMES,)).astype(np.float32)


def _func_name(task, run, rest):
    return f"sub-001_task-{task}_run-{run:02d}_{rest}"


@pytest.fixture(scope="module")
def tree(tmp_path_factory, shared_data):
    """Raw BIDS events of sub-001 and an fMRIPrep derivatives folder with 18 tiny runs."""
    root = tmp_path_factory.mktemp("ds003720")
    src = shared_data / "ds003720" / "sub-001" / "func"
    raw_func = root / "sub-001" / "func"
    raw_func.mkdir(parents=True)
    derivatives = root / "derivatives" / "fmriprep"
    func = derivatives / "sub-001" / "func"
    func.mkdir(parents=True)
    rng = np.random.default_rng(0)
    paths = sorted(src.glob("*_events.tsv"))
    embeddings = _embeddings([c for p in paths for c in read_events(p).clip_id])
    motions = {}
    brain = (BOLD_LABELS > 0).astype(np.uint8)
    for path in paths:
        shutil.copy(path, raw_func / path.name)
        events = read_events(path)
        task, run = path.name.split("_")[1][5:], int(path.name.split("_")[2][4:])
        motion = motions[(task, run)] = _motion(rng)
        image = nib.Nifti1Image(_bold_run(events, embeddings, motion, rng), BOLD_AFFINE)
        nib.save(image, func / _func_name(task, run, f"space-{SPACE}_desc-preproc_bold.nii.gz"))
        nib.save(nib.Nifti1Image(brain, BOLD_AFFINE),
                 func / _func_name(task, run, f"space-{SPACE}_desc-brain_mask.nii.gz"))
        _confounds_table(motion, rng).to_csv(
            func / _func_name(task, run, "desc-confounds_timeseries.tsv"), sep="\t",
            index=False, na_rep="n/a")
    fs_mri = derivatives / "sourcedata" / "freesurfer" / "sub-001" / "mri"
    fs_mri.mkdir(parents=True)
    nib.save(_parcellation(), fs_mri / "aparc.a2009s+aseg.mgz")
    return {"root": root, "derivatives": derivatives, "embeddings": embeddings,
            "motions": motions}


@pytest.fixture(scope="module")
def study(tree):
    return load_nakai2022(tree["root"], subject=1, derivatives=tree["derivatives"],
                          space="T1w")


def _copy(tree, tmp_path):
    """A copy of the tree to break; returns (root, derivatives, func folder)."""
    root = tmp_path / "ds003720"
    shutil.copytree(tree["root"], root)
    derivatives = root / "derivatives" / "fmriprep"
    return root, derivatives, derivatives / "sub-001" / "func"


def test_structure_and_destrieux_rois_resampled_from_freesurfer(study):
    assert study.responses_train.shape == (480, 10, 6 * 6 * 5)
    assert study.responses_test_repeats.shape == (60, 4, 10, 6 * 6 * 5)
    assert study.space == "T1w" and study.dropped_voxels.size == 0
    # The voxels: inside the brain mask and the cortex (not the white-matter layer k = 0).
    expected_mask = np.isin(BOLD_LABELS, list(destrieux_names()))
    np.testing.assert_array_equal(np.asarray(study.mask_img.dataobj) > 0, expected_mask)
    np.testing.assert_array_equal(study.mask_img.affine, BOLD_AFFINE)
    # Each voxel got the label of the FreeSurfer points around its centre, on another grid.
    np.testing.assert_array_equal(study.roi_labels, BOLD_LABELS[expected_mask])
    ijk = np.round((study.voxel_coords - BOLD_AFFINE[:3, 3]) / 3.0).astype(int)
    np.testing.assert_array_equal(BOLD_LABELS[tuple(ijk.T)], study.roi_labels)
    assert len(study.roi_names) == 12
    assert set(PLANTED) <= set(study.roi_names.values())
    for name in ("responses_train", "responses_test"):
        assert study[name].dtype == np.float32 and np.isfinite(study[name]).all()


def _decoder_scores(study, embeddings, shuffle=None):
    Y = np.stack([embeddings[c] for c in study.clips_train.clip_id])[:, None, :]
    if shuffle is not None:
        Y = Y[shuffle]
    aligner = TemporalWindowAligner(window=15.0, step=1.5)
    ridge = ROIEnsembleRidge(study.roi_labels, n_rois=2, cv=5).fit(
        aligner.fit_transform(study.responses_train), Y)
    names = {study.roi_names[int(label)]: score
             for label, score in zip(ridge.rois_, ridge.roi_scores_)}
    return {study.roi_names[int(label)] for label in ridge.selected_rois_}, names


def test_decoder_selects_the_planted_rois_by_name(study, tree):
    selected, scores = _decoder_scores(study, tree["embeddings"])
    assert selected == set(PLANTED)
    assert min(scores[name] for name in PLANTED) > 0.5
    assert max(score for name, score in scores.items() if name not in PLANTED) < 0.2
    # Control: with the clips' embeddings shuffled no ROI predicts them.
    shuffle = np.random.default_rng(0).permutation(len(study.clips_train))
    _, shuffled_scores = _decoder_scores(study, tree["embeddings"], shuffle)
    assert max(shuffled_scores.values()) < 0.2


def _motion_r2(study, motions, other_run=False):
    """Per voxel, R^2 of the preprocessed training scans on the run's (detrended) motion, or
    on another run's motion (``other_run``: the chance level of this R^2)."""
    r2 = []
    for run in range(1, 13):
        rows = np.flatnonzero(study.clips_train.run.to_numpy() == run)
        scans = np.asarray(study.responses_train[rows]).reshape(len(rows) * 10, -1)
        motion = median_detrend(motions[("Training", run % 12 + 1 if other_run else run)])[10:]
        design = np.column_stack([np.ones(len(motion)), motion])
        fitted = design @ np.linalg.lstsq(design, scans, rcond=None)[0]
        r2.append(1 - ((scans - fitted) ** 2).sum(0) / ((scans - scans.mean(0)) ** 2).sum(0))
    return np.mean(r2, axis=0)


def test_confound_regression_removes_the_motion_artefact(study, tree):
    cleaned = _motion_r2(study, tree["motions"])
    chance = _motion_r2(study, tree["motions"], other_run=True)
    # Regressed out: below the R^2 that unrelated motion reaches by chance.
    assert cleaned.max() < 0.05 and cleaned.mean() < chance.mean()
    # Control: without confound regression the artefact dominates the voxels.
    raw = load_nakai2022(tree["root"], derivatives=tree["derivatives"], confounds=None)
    np.testing.assert_array_equal(raw.roi_labels, study.roi_labels)
    assert np.median(_motion_r2(raw, tree["motions"])) > 0.5


def test_confound_strategy_is_passed_to_nilearn(tree):
    basic = load_nakai2022(tree["root"], derivatives=tree["derivatives"],
                           confounds={"strategy": ("motion",), "motion": "basic"})
    cleaned = _motion_r2(basic, tree["motions"])
    assert cleaned.mean() < _motion_r2(basic, tree["motions"], other_run=True).mean()
    with pytest.raises(ValueError, match="confounds must be 'auto', None"):
        load_nakai2022(tree["root"], derivatives=tree["derivatives"], confounds="motion")
    with pytest.raises(ValueError, match="must name its 'strategy'"):
        load_nakai2022(tree["root"], derivatives=tree["derivatives"], confounds={"motion": "full"})


def test_scrubbing_inside_clips_is_refused(tree, tmp_path):
    root, derivatives, func = _copy(tree, tmp_path)
    path = func / _func_name("Test", 3, "desc-confounds_timeseries.tsv")
    table = pd.read_csv(path, sep="\t")
    table.loc[200, "framewise_displacement"] = 5.0
    table.to_csv(path, sep="\t", index=False, na_rep="n/a")
    with pytest.raises(ValueError, match=r"Test_run-03_desc-confounds_timeseries\.tsv.*censors "
                                         r"volume\(s\) \[.*200"):
        load_nakai2022(root, derivatives=derivatives,
                       confounds={"strategy": ("motion", "scrub"), "scrub": 0})


def test_older_freesurfer_layout_and_template_space_with_own_atlas(tree, tmp_path):
    root, derivatives, func = _copy(tree, tmp_path)
    # fMRIPrep < 21: <out>/fmriprep beside <out>/freesurfer.
    shutil.move(derivatives / "sourcedata" / "freesurfer", derivatives.parent / "freesurfer")
    older = load_nakai2022(root, derivatives=derivatives, space="T1w")
    np.testing.assert_array_equal(older.roi_labels, BOLD_LABELS[BOLD_LABELS > 100])
    # A template space: same runs under other names (two resolutions), an atlas of our own.
    for path in list(func.glob("*space-T1w*")):
        for res in ("1", "2"):
            shutil.copy(path, path.with_name(path.name.replace(
                "space-T1w", f"space-MNI152NLin2009cAsym_res-{res}")))
    atlas = nib.Nifti1Image((BOLD_LABELS == 11133).astype(np.int16) * 3, BOLD_AFFINE)
    with pytest.raises(ValueError, match="Several preprocessed runs .*:res-2"):
        load_nakai2022(root, derivatives=derivatives, space="MNI152NLin2009cAsym")
    mni = load_nakai2022(root, derivatives=derivatives, space="MNI152NLin2009cAsym:res-2",
                         atlas_img=atlas, atlas_names={3: "Heschl"})
    assert mni.space == "MNI152NLin2009cAsym:res-2"
    assert mni.roi_names == {3: "Heschl"} and mni.roi_labels.size == (BOLD_LABELS == 11133).sum()
    # Without an atlas in a template space: the brain mask's voxels, no ROIs.
    whole = load_nakai2022(root, derivatives=derivatives, space="MNI152NLin2009cAsym:res-1")
    assert whole.roi_labels is None and whole.responses_train.shape[2] == (BOLD_LABELS > 0).sum()


def test_missing_parcellation_warns_and_gives_no_rois(tree, tmp_path):
    root, derivatives, _ = _copy(tree, tmp_path)
    shutil.rmtree(derivatives / "sourcedata")
    with pytest.warns(UserWarning, match=r"No FreeSurfer parcellation at .*aparc\.a2009s\+aseg"):
        study = load_nakai2022(root, derivatives=derivatives)
    assert study.roi_labels is None and study.roi_names == {}


def test_space_not_in_derivatives(tree):
    with pytest.raises(ValueError, match=r"sub-001/func has no desc-preproc_bold run in space "
                                         r"'MNI152NLin6Asym'; spaces found: \['T1w'\]"):
        load_nakai2022(tree["root"], derivatives=tree["derivatives"], space="MNI152NLin6Asym")
    with pytest.raises(ValueError, match="is not a key-value entity"):
        load_nakai2022(tree["root"], derivatives=tree["derivatives"], space="T1w:res2")
    with pytest.raises(ValueError, match="fMRIPrep output folder"):
        load_nakai2022(tree["root"], derivatives=tree["root"] / "nowhere")


def test_missing_run_file_names_it(tree, tmp_path):
    root, derivatives, func = _copy(tree, tmp_path)
    (func / _func_name("Training", 7, "space-T1w_desc-brain_mask.nii.gz")).unlink()
    with pytest.raises(ValueError, match=r"No sub-001_task-Training_run-07_space-T1w\*_desc-"
                                         r"brain_mask\.nii\.gz in .*Training run 7"):
        load_nakai2022(root, derivatives=derivatives)


def test_confounds_with_missing_columns_name_the_file(tree, tmp_path):
    root, derivatives, func = _copy(tree, tmp_path)
    path = func / _func_name("Training", 5, "desc-confounds_timeseries.tsv")
    pd.read_csv(path, sep="\t").drop(columns=["rot_z", "rot_z_power2"]).to_csv(
        path, sep="\t", index=False, na_rep="n/a")
    with pytest.raises(ValueError, match=r"Training_run-05_desc-confounds_timeseries\.tsv: .*"
                                         r"missing.*rot_z"):
        load_nakai2022(root, derivatives=derivatives)


def test_confounds_with_other_length_name_the_file(tree, tmp_path):
    root, derivatives, func = _copy(tree, tmp_path)
    path = func / _func_name("Test", 2, "desc-confounds_timeseries.tsv")
    pd.read_csv(path, sep="\t").iloc[:400].to_csv(path, sep="\t", index=False, na_rep="n/a")
    with pytest.raises(ValueError, match=r"Test_run-02_desc-confounds_timeseries\.tsv has 400 "
                                         r"rows but its run has 410 volumes"):
        load_nakai2022(root, derivatives=derivatives)


def test_parcellation_outside_the_field_of_view(tree, tmp_path):
    root, derivatives, _ = _copy(tree, tmp_path)
    path = derivatives / "sourcedata" / "freesurfer" / "sub-001" / "mri" / "aparc.a2009s+aseg.mgz"
    moved = FS_AFFINE.copy()
    moved[:3, 3] += 200.0  # another subject's, or another space's, coordinates
    labels = np.asarray(nib.load(path).dataobj)
    nib.save(nib.MGHImage(labels, moved), path)
    with pytest.raises(ValueError, match=r"aparc\.a2009s\+aseg\.mgz does not overlap the BOLD "
                                         r"field of view"):
        load_nakai2022(root, derivatives=derivatives)


def test_volume_count_differs_from_events(tree, tmp_path):
    root, derivatives, func = _copy(tree, tmp_path)
    path = func / _func_name("Training", 9, "space-T1w_desc-preproc_bold.nii.gz")
    data = np.asarray(nib.load(path).dataobj)[..., :400]
    nib.save(nib.Nifti1Image(data, BOLD_AFFINE), path)
    with pytest.raises(ValueError, match=r"Training_run-09_space-T1w_desc-preproc_bold\.nii\.gz "
                                         r"has 400 volumes but its events need 410"):
        load_nakai2022(root, derivatives=derivatives)


def test_grid_mismatch_between_runs(tree, tmp_path):
    root, derivatives, func = _copy(tree, tmp_path)
    path = func / _func_name("Test", 4, "space-T1w_desc-brain_mask.nii.gz")
    nib.save(nib.Nifti1Image(np.ones((7, 8, 6), np.uint8), BOLD_AFFINE), path)
    with pytest.raises(ValueError, match=r"Test_run-04_space-T1w_desc-brain_mask\.nii\.gz .*does "
                                         r"not match the grid"):
        load_nakai2022(root, derivatives=derivatives)


def test_derivatives_exclude_preprocessed_arrays(tree):
    with pytest.raises(ValueError, match="derivatives, mask_img and atlas_img apply to NIfTI"):
        load_nakai2022(tree["root"], derivatives=tree["derivatives"],
                       responses_dir=tree["root"])


def test_cli_options_for_fmriprep_and_delay(tree, capsys, monkeypatch):
    from types import SimpleNamespace

    from skbrainmusic.cli import _real_data, build_parser, main

    with pytest.raises(SystemExit):
        main(["decode", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for text in ("--fmriprep DIR", "--space SPACE", "--delay SECONDS", "groups the clips by run"):
        assert text in help_text
    base = ["decode", "--bids", str(tree["root"]), "--subject", "1", "--gtzan",
            str(tree["root"]), "--out", str(tree["root"] / "out")]
    assert main([*base, "--fmriprep", str(tree["derivatives"]), "--preprocessed",
                 str(tree["root"])]) == 2
    assert "--fmriprep and --preprocessed are two sources" in capsys.readouterr().err
    assert main([*base, "--fmriprep", str(tree["derivatives"]), "--delay", "-1"]) == 2
    assert "--delay must be 0 or more seconds" in capsys.readouterr().err
    # A 3 s delay brings 2 trailing scans, and the inner CV groups the clips by run.
    monkeypatch.setattr("skbrainmusic.datasets.load_gtzan_clips",
                        lambda root, clips: np.zeros((len(clips), 4), np.float32))
    args = build_parser().parse_args([*base, "--fmriprep", str(tree["derivatives"]),
                                      "--delay", "3"])
    progress = SimpleNamespace(log=lambda message: None)
    study = _real_data.load_subject(args, _real_data.check_paths(args), progress)
    assert study.responses_train.shape[1] == 12 and study.delay == 3.0
    np.testing.assert_array_equal(study.cv_groups, study.clips_train.run)
    assert study.roi_labels is not None and study.space == "T1w"

"""ds003720 events parsing and load_nakai2022 on tiny NIfTI runs in a BIDS tree that mirrors it."""

import shutil

import nibabel as nib
import numpy as np
import pytest

from skbrainmusic.datasets import load_nakai2022, read_events
from skbrainmusic.datasets._music import GENRES

# Every raw-route call warns that the runs are not realigned (tested once below).
pytestmark = pytest.mark.filterwarnings("ignore:load_nakai2022 reads the raw:UserWarning")

N_VOLUMES = 410
GRID = (2, 2, 2)
AFFINE = np.diag([2.0, 2.0, 2.0, 1.0])


def _events_files(shared_data):
    return sorted((shared_data / "ds003720").glob("sub-*/func/*_events.tsv"))


def test_parses_all_real_events_files(shared_data):
    files = _events_files(shared_data)
    assert len(files) == 90
    by_subject = {}
    for path in files:
        events = read_events(path)
        assert len(events) == 41
        np.testing.assert_array_equal(events.onset, np.arange(41) * 15.0)
        assert set(events.genre) <= set(GENRES)
        assert ((events.end - events.start).round(2).isin([15.0, 14.99])).all()
        sub = path.name.split("_")[0]
        by_subject.setdefault(sub, []).append((path.name.split("_", 1)[1], events.clip_id.tolist()))
    sequences = [sorted(v) for v in by_subject.values()]
    assert all(seq == sequences[0] for seq in sequences)  # identical for the five subjects


def test_real_run_layout_counts(shared_data):
    func = shared_data / "ds003720" / "sub-001" / "func"
    train = [read_events(func / f"sub-001_task-Training_run-{r:02d}_events.tsv")
             for r in range(1, 13)]
    test = [read_events(func / f"sub-001_task-Test_run-{r:02d}_events.tsv") for r in range(1, 7)]
    kept = [c for ev in train for c in ev.clip_id.iloc[1:]]
    assert len(kept) == len(set(kept)) == 480
    for r, ev in enumerate(train):
        assert ev.clip_id.iloc[0] == train[r - 1].clip_id.iloc[-1]
    test_ids = [c for ev in test for c in ev.clip_id.iloc[1:]]
    assert len(set(test_ids)) == 60
    assert all(test_ids.count(c) == 4 for c in set(test_ids))
    assert not set(test_ids) & set(kept)


def test_events_quirks(tmp_path):
    path = tmp_path / "quirky_events.tsv"
    path.write_bytes(
        b"onset\tduration\tgenre\ttrack\tstart\tend\r\n0\t15\t'jazz'\t3\t1.5\t16.5\r\n"
        b"15\t15\tclassical'\t37\t1.96\t16.96\r\n30\t15\tmetal\t97\t9.98\t24.98"
    )
    events = read_events(path)
    assert events.genre.tolist() == ["jazz", "classical", "metal"]
    assert events.clip_id.tolist() == ["jazz.00003", "classical.00037", "metal.00097"]
    path.write_bytes(b"onset\tduration\tgenre\ttrack\tstart\tend\r\n0\t15\t'opera'\t3\t1\t16")
    with pytest.raises(ValueError, match="unknown genre 'opera'"):
        read_events(path)


def _run_data(events, rng, plant_rows, n_volumes=N_VOLUMES):
    """int16 run with drift and noise; voxel 0 gets a boxcar in the scans of plant_rows."""
    n_vox = int(np.prod(GRID))
    t = np.arange(n_volumes)[:, None]
    data = 1000 + 0.05 * t + 3 * rng.standard_normal((n_volumes, n_vox))
    for row in plant_rows:
        first = int(events.onset.iloc[row] / 1.5)
        data[first: first + 10, 0] += 60
    return np.round(data).astype(np.int16).T.reshape(GRID + (n_volumes,))


@pytest.fixture(scope="module")
def bids(tmp_path_factory, shared_data):
    """sub-001's real events with tiny NIfTI runs; voxel 0 marks one clip per run."""
    root = tmp_path_factory.mktemp("ds003720")
    src = shared_data / "ds003720" / "sub-001" / "func"
    func = root / "sub-001" / "func"
    func.mkdir(parents=True)
    rng = np.random.default_rng(0)
    planted = {}
    for path in sorted(src.glob("*_events.tsv")):
        shutil.copy(path, func / path.name)
        events = read_events(path)
        task, run = path.name.split("_")[1][5:], int(path.name.split("_")[2][4:])
        if task == "Training":
            rows = [1 + (7 * run) % 40]
        else:
            target = events.clip_id.iloc[1 + run % 10]
            rows = [i for i in range(1, 41) if events.clip_id.iloc[i] == target]
        planted[(task, run)] = events.clip_id.iloc[rows[0]]
        ext = ".nii.gz" if run % 2 else ".nii"
        image = nib.Nifti1Image(_run_data(events, rng, rows), AFFINE)
        nib.save(image, func / path.name.replace("_events.tsv", f"_bold{ext}"))
    return root, planted


def test_load_bids_counts_and_planted_clips(bids):
    root, planted = bids
    study = load_nakai2022(root, subject=1)
    assert study.responses_train.shape == (480, 10, 8)
    assert study.responses_test.shape == (60, 10, 8)
    assert study.responses_test_repeats.shape == (60, 4, 10, 8)
    assert study.responses_train.dtype == np.float32
    assert len(study.dropped_clips) == 18 and set(study.dropped_clips.task) == {"train", "test"}
    assert study.roi_labels is None and study.dropped_voxels.size == 0
    train = study.clips_train
    for (task, run), clip_id in planted.items():
        if task == "Training":
            in_run = np.flatnonzero(train.run.to_numpy() == run)
            means = study.responses_train[in_run, :, 0].mean(axis=1)
            assert train.clip_id.iloc[in_run[np.argmax(means)]] == clip_id
        else:
            i = study.clips_test.clip_id.tolist().index(clip_id)
            repeats = study.responses_test_repeats[i, :, :, 0].mean(axis=1)
            same_run = np.flatnonzero(study.clips_test.run.to_numpy() == run)
            others = study.responses_test_repeats[same_run[same_run != i], :, :, 0]
            assert (repeats > others.mean(axis=2).max()).all()
    np.testing.assert_allclose(
        study.responses_test, study.responses_test_repeats.mean(axis=1), atol=1e-6
    )


def test_raw_route_warns_once_and_gives_the_voxels_coordinates(bids, recwarn):
    root, _ = bids
    study = load_nakai2022(root, subject=1)
    raw = [w for w in recwarn if "neither motion-corrected" in str(w.message)]
    assert len(raw) == 1 and raw[0].category is UserWarning and "derivatives=" in str(
        raw[0].message)
    assert study.space == "bold"
    np.testing.assert_array_equal(np.asarray(study.mask_img.dataobj), np.ones(GRID))
    np.testing.assert_array_equal(study.mask_img.affine, AFFINE)
    np.testing.assert_allclose(study.voxel_coords, 2.0 * np.argwhere(np.ones(GRID)))


def test_trailing_scans_padded_at_run_end(bids):
    root, _ = bids
    study = load_nakai2022(root, subject="sub-001", n_trailing_scans=3)
    assert study.responses_train.shape == (480, 13, 8)
    last = study.clips_train.onset == 600
    assert (study.clips_train.n_padded_scans[last] == 3).all()
    assert (study.clips_train.n_padded_scans[~last] == 0).all()
    np.testing.assert_array_equal(study.responses_train[last.to_numpy(), 10:], 0)
    # Trailing scans of the other clips are the next clip's first scans.
    base = load_nakai2022(root, subject=1)
    first_next = base.responses_train[1, :3]
    np.testing.assert_allclose(study.responses_train[0, 10:], first_next, atol=1e-6)


def _atlas(labels):
    return nib.Nifti1Image(np.asarray(labels, dtype=np.int32).reshape(GRID), AFFINE)


def test_mask_and_atlas_give_roi_labels(bids):
    root, _ = bids
    labels = [11133, 11133, 12133, 12133, 11101, 11101, 0, 0]
    mask = nib.Nifti1Image((np.arange(8) < 6).astype(np.uint8).reshape(GRID), AFFINE)
    study = load_nakai2022(root, mask_img=mask, atlas_img=_atlas(labels))
    assert study.responses_train.shape[2] == 6
    np.testing.assert_array_equal(study.roi_labels, labels[:6])
    assert study.roi_names[11133] == "ctx_lh_G_temp_sup-G_T_transv"
    # Without a mask, the atlas's Destrieux voxels are kept.
    assert load_nakai2022(root, atlas_img=_atlas(labels)).roi_labels.size == 6


def test_atlas_label_outside_lut(bids):
    root, _ = bids
    with pytest.raises(ValueError, match=r"not Destrieux cortical labels.*\[2, 41\]"):
        load_nakai2022(root, mask_img=_atlas([1] * 8), atlas_img=_atlas([2, 41] + [11101] * 6))
    with pytest.raises(ValueError, match=r"atlas_names does not name.*\[41\]"):
        load_nakai2022(root, mask_img=_atlas([1] * 8), atlas_img=_atlas([2, 41] + [2] * 6),
                       atlas_names={2: "white matter"})


def test_other_atlas_with_names(bids):
    root, _ = bids
    study = load_nakai2022(root, atlas_img=_atlas([5, 5, 7, 7, 7, 0, 0, 9]),
                           atlas_names={5: "auditory", 7: "visual"})
    np.testing.assert_array_equal(study.roi_labels, [5, 5, 7, 7, 7])
    assert study.roi_names == {5: "auditory", 7: "visual"}
    with pytest.raises(TypeError, match="atlas_names must be a dict"):
        load_nakai2022(root, atlas_img=_atlas([5] * 8), atlas_names=["auditory"])


def test_mask_grid_mismatch(bids):
    root, _ = bids
    mask = nib.Nifti1Image(np.ones((3, 2, 2), np.uint8), AFFINE)
    with pytest.raises(ValueError, match="does not match the grid"):
        load_nakai2022(root, mask_img=mask)


def _copy_tree(bids, tmp_path):
    root, _ = bids
    copy = tmp_path / "bids"
    shutil.copytree(root, copy)
    return copy, copy / "sub-001" / "func"


def test_wrong_volume_count_names_file(bids, tmp_path):
    root, func = _copy_tree(bids, tmp_path)
    path = func / "sub-001_task-Test_run-02_bold.nii"
    nib.save(nib.Nifti1Image(np.ones(GRID + (400,), np.int16), AFFINE), path)
    with pytest.raises(ValueError, match=r"Test_run-02_bold\.nii has 400 volumes .* need 410"):
        load_nakai2022(root)


def test_nan_voxels_name_file(bids, tmp_path):
    root, func = _copy_tree(bids, tmp_path)
    data = np.random.default_rng(0).normal(size=GRID + (410,)).astype(np.float32)
    data[1, 0, 0, 5] = np.nan
    nib.save(nib.Nifti1Image(data, AFFINE), func / "sub-001_task-Training_run-02_bold.nii")
    with pytest.raises(ValueError, match=r"Training_run-02_bold\.nii has NaN .* in 1 voxel"):
        load_nakai2022(root)


def test_unreadable_nifti_names_file(bids, tmp_path):
    root, func = _copy_tree(bids, tmp_path)
    (func / "sub-001_task-Training_run-04_bold.nii").write_bytes(b"not a nifti file")
    with pytest.raises(ValueError, match=r"Cannot read the BOLD image .*Training_run-04_bold"):
        load_nakai2022(root)


def test_constant_voxels_dropped_and_reported(bids, tmp_path):
    root, func = _copy_tree(bids, tmp_path)
    path = func / "sub-001_task-Training_run-05_bold.nii.gz"
    data = np.asarray(nib.load(path).dataobj).copy()
    data[1, 1, 1] = 7
    nib.save(nib.Nifti1Image(data, AFFINE), path)
    study = load_nakai2022(root)
    np.testing.assert_array_equal(study.dropped_voxels, [7])
    assert study.responses_train.shape[2] == 7


def _write_preprocessed(folder, rng, transpose=False):
    folder.mkdir(exist_ok=True)
    for name, n_time in (("Training", 4800), ("Test", 2400)):
        data = rng.standard_normal((n_time, 5)).astype(np.float32)
        data[:, 0] = np.arange(n_time)  # marks the time point
        np.save(folder / f"sub-001_Resp_{name}.npy", data.T if transpose else data)


def test_preprocessed_arrays(bids, tmp_path):
    root, _ = bids
    _write_preprocessed(tmp_path / "zenodo", np.random.default_rng(0))
    study = load_nakai2022(root, responses_dir=tmp_path / "zenodo", n_trailing_scans=2)
    assert study.responses_train.shape == (480, 12, 5) and study.roi_labels is None
    # Clip k of run r (k = 1..40) starts at time point 400 * (r - 1) + 10 * (k - 1).
    np.testing.assert_array_equal(study.responses_train[41, :, 0], 400 + 10 + np.arange(12))
    np.testing.assert_array_equal(study.responses_train[39, 10:, 0], 0)
    assert study.responses_test_repeats.shape == (60, 4, 12, 5)


def test_preprocessed_arrays_transposed(bids, tmp_path):
    root, _ = bids
    _write_preprocessed(tmp_path / "zenodo", np.random.default_rng(0), transpose=True)
    with pytest.raises(ValueError, match="axes look swapped"):
        load_nakai2022(root, responses_dir=tmp_path / "zenodo")


def test_bad_subject_and_root(tmp_path):
    with pytest.raises(ValueError, match="subject must be"):
        load_nakai2022(tmp_path, subject="subject one")
    with pytest.raises(ValueError, match="is .* the ds003720 BIDS root"):
        load_nakai2022(tmp_path, subject=2)

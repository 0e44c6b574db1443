"""make_synthetic_study: structure, labels, caching, and a recoverable ground truth."""

import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import RidgeCV

from skbrainmusic.datasets import _synthetic, make_synthetic_study
from skbrainmusic.metrics import AUDIOSET_GROUPS, identification_accuracy
from skbrainmusic.preprocessing import noise_ceiling

TINY = dict(n_train_runs=1, n_test_runs=1, n_voxels=600, n_corpus=3)


@pytest.fixture(scope="module")
def tiny_home(tmp_path_factory):
    return tmp_path_factory.mktemp("synthetic_home")


@pytest.fixture(scope="module")
def tiny(tiny_home):
    return make_synthetic_study(**TINY, data_home=tiny_home)


def test_structure_and_shapes(tiny):
    assert tiny.responses_train.shape == (40, 10, 600)
    assert tiny.responses_test.shape == (10, 10, 600)
    assert tiny.responses_test_repeats.shape == (10, 4, 10, 600)
    for name in ("responses_train", "responses_test", "responses_test_repeats"):
        assert tiny[name].dtype == np.float32 and np.isfinite(tiny[name]).all()
    np.testing.assert_allclose(
        tiny.responses_test, tiny.responses_test_repeats.mean(axis=1), atol=1e-6
    )
    assert tiny.tr == 1.5 and tiny.clip_duration == 15.0 and tiny.subject == 1
    for column in ("clip_id", "genre", "track", "start", "end", "run", "n_padded_scans"):
        assert column in tiny.clips_train.columns and column in tiny.clips_test.columns
    assert tiny.clips_train.clip_id.is_unique
    assert not set(tiny.clips_train.clip_id) & set(tiny.clips_test.clip_id)
    assert len(tiny.dropped_clips) == 2 and tiny.dropped_voxels.size == 0
    # Each test run holds one clip of each genre, as in ds003720.
    assert sorted(tiny.clips_test.genre) == sorted(_synthetic.GENRES)


def test_audio_is_prepared_like_ds003720(tiny):
    assert tiny.sample_rate == 22050
    assert tiny.audio_train.shape == (40, 15 * 22050) and tiny.audio_train.dtype == np.float32
    rms = np.sqrt(np.mean(np.square(tiny.audio_test, dtype=np.float64), axis=1))
    np.testing.assert_allclose(rms, 0.05, rtol=1e-3)
    assert np.abs(tiny.audio_test[:, :10]).max() < 1e-3  # fade-in
    assert tiny.corpus.audio.shape == (3, 15 * 22050) and len(tiny.corpus.clips) == 3


def test_labels_are_audioset_names_and_captions_look_real(tiny):
    for instruments, moods in zip(tiny.instruments_train, tiny.moods_train):
        assert instruments and set(instruments) <= set(AUDIOSET_GROUPS["instruments"])
        assert len(set(instruments)) == len(instruments)
        assert moods and set(moods) <= set(AUDIOSET_GROUPS["moods"])
    for genres in tiny.clips_test.genres:
        assert set(genres) <= set(AUDIOSET_GROUPS["genres"])
    assert len(tiny.captions_train) == 40 and len(tiny.corpus.captions) == 3
    for caption, genre in zip(tiny.captions_train, tiny.clips_train.genre):
        assert 4 <= caption.count(". ") + 1 <= 5
        assert genre.replace("hiphop", "hip-hop") in caption


def test_rois_are_named_parcels_with_auditory_ground_truth(tiny):
    assert set(np.unique(tiny.roi_labels)) == set(tiny.roi_names)
    assert 150 < len(tiny.roi_names) <= 239  # cortical Seitzman parcels; small ones vanish
    networks = {name.split("_")[0] for name in tiny.roi_names.values()}
    assert {"Auditory", "Visual", "DefaultMode", "SomatomotorDorsal"} <= networks
    assert all(name.split("_")[1] in "LRM" for name in tiny.roi_names.values())
    assert len(tiny.informative_rois) == 6
    assert all(tiny.roi_names[label].startswith("Auditory_") for label in tiny.informative_rois)
    assert np.all(np.diff(tiny.informative_snr) < 0)
    # Informative voxels lie in the superior temporal cortex (MNI mm), the others all over.
    informative = np.isin(tiny.roi_labels, tiny.informative_rois)
    x, y, z = tiny.voxel_coords[informative].T
    assert (np.abs(x) > 25).all() and (y > -50).all() and (y < 10).all()
    assert (z > -20).all() and (z < 35).all()
    assert np.ptp(tiny.voxel_coords[~informative], axis=0).min() > 100


def test_voxels_are_grey_matter_of_the_mni_template(tiny):
    from nilearn.datasets import load_mni152_gm_template
    from nilearn.image import resample_to_img

    mask = np.asarray(tiny.mask_img.dataobj) > 0
    assert mask.sum() == 600
    zooms = tiny.mask_img.header.get_zooms()
    assert 9 < zooms[0] == zooms[1] == zooms[2] < 12
    ijk = np.argwhere(mask)
    np.testing.assert_allclose(tiny.voxel_coords, ijk @ tiny.mask_img.affine[:3, :3].T
                               + tiny.mask_img.affine[:3, 3])
    grey = resample_to_img(load_mni152_gm_template(), tiny.mask_img,
                           interpolation="continuous", copy_header=True,
                           force_resample=True).get_fdata()
    assert np.median(grey[mask]) > 0.4 and np.median(grey[~mask]) < 0.05
    assert "Seitzman" in tiny.DESCR and "MNI152" in tiny.DESCR


def _mean_neighbours(mask):
    """Mean number of mask voxels among the 26 neighbours of a mask voxel."""
    from scipy.ndimage import convolve

    neighbours = convolve(mask.astype(int), np.ones((3, 3, 3), int), mode="constant") - 1
    return float(neighbours[mask].mean())


def test_fewer_voxels_means_a_coarser_grid_not_a_random_subset():
    from skbrainmusic.datasets import _anatomy

    coarse, fine = _anatomy.cortical_grid(600), _anatomy.cortical_grid(4000)
    assert coarse["voxel_size"] > 1.5 * fine["voxel_size"]
    assert coarse["mask"].sum() == 600 and fine["mask"].sum() == 4000
    assert _mean_neighbours(coarse["mask"]) > 8  # a folded sheet of cortex
    # Control: 600 voxels drawn at random from the fine grid are scattered (confetti).
    flat = np.flatnonzero(fine["mask"])
    confetti = np.zeros(fine["mask"].shape, dtype=bool)
    confetti.flat[np.random.default_rng(0).choice(flat, 600, replace=False)] = True
    assert _mean_neighbours(confetti) < 4


def test_subjects_share_cached_stimuli(tiny, tiny_home, monkeypatch):
    def no_rendering(*args, **kwargs):
        raise AssertionError("stimuli should come from the cache")

    monkeypatch.setattr(_synthetic, "render_clips", no_rendering)
    other = make_synthetic_study(**TINY, subject=2, data_home=tiny_home)
    np.testing.assert_array_equal(other.audio_train, tiny.audio_train)
    assert other.captions_test == tiny.captions_test
    assert not np.array_equal(other.roi_labels, tiny.roi_labels)
    assert not np.allclose(other.responses_train, tiny.responses_train)
    assert len(list((Path(tiny_home) / "synthetic").glob("stimuli_*"))) == 1


def test_uncached_build_equals_cached(tiny):
    fresh = make_synthetic_study(**TINY, cache=False)
    assert not isinstance(fresh.responses_train, np.memmap)
    np.testing.assert_array_equal(fresh.responses_train, tiny.responses_train)
    np.testing.assert_array_equal(fresh.audio_test, tiny.audio_test)
    assert fresh.clips_train.equals(tiny.clips_train)


def test_corrupt_cache_is_rebuilt_with_warning(tiny, tiny_home):
    folder = next((Path(tiny_home) / "synthetic").glob("subject-1_*"))
    path = folder / "responses_train.npy"
    expected = np.array(tiny.responses_train)  # the fixture maps the file we corrupt
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.warns(RuntimeWarning, match="corrupt"):
        rebuilt = make_synthetic_study(**TINY, data_home=tiny_home)
    np.testing.assert_array_equal(rebuilt.responses_train, expected)


def test_trailing_scans(tiny_home):
    study = make_synthetic_study(**TINY, n_trailing_scans=2, data_home=tiny_home)
    assert study.responses_train.shape == (40, 12, 600)
    last = (study.clips_train.onset == 600).to_numpy()
    assert last.sum() == 1 and (study.clips_train.n_padded_scans[last] == 2).all()
    np.testing.assert_array_equal(study.responses_train[last, 10:], 0)
    np.testing.assert_allclose(
        study.responses_train[0, 10:], study.responses_train[1, :2], atol=1e-6
    )


@pytest.mark.parametrize("kwargs, match", [
    ({"scale": "huge"}, "scale must be one of"),
    ({"subject": 0}, "subject must be a positive int"),
    ({"n_informative_rois": 9}, "n_informative_rois must be in 1..8"),
    ({"snr_min": 2.0}, "snr_min <= snr_max"),
    ({"random_state": None}, "random_state must be a non-negative int"),
])
def test_invalid_parameters(kwargs, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        make_synthetic_study(**{**TINY, **kwargs}, data_home=tmp_path)


@pytest.mark.parametrize("n_voxels, match", [
    (100, "only [0-5] auditory-cortex parcels hold voxels"),
    (10**7, "n_voxels must be at most"),
])
def test_grid_too_coarse_or_too_fine(n_voxels, match, tiny_home):
    with pytest.raises(ValueError, match=match):
        make_synthetic_study(**{**TINY, "n_voxels": n_voxels}, data_home=tiny_home)


def test_missing_tinysoundfont_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "tinysoundfont", None)
    with pytest.raises(ImportError, match="pip install --no-deps tinysoundfont"):
        make_synthetic_study(**TINY, cache=False)


def _spectral_embedding(audio):
    """Clip-mean and -std of log power in 24 bands: a simple embedding of the stimuli."""
    frames = np.asarray(audio).reshape(len(audio), -1, 2205)[:, :, :2048]
    power = np.abs(np.fft.rfft(frames, axis=2)) ** 2
    bands = np.array_split(np.arange(1, 1025), 24)
    log_power = np.log(np.stack([power[:, :, b].mean(axis=2) for b in bands], axis=2) + 1e-9)
    return np.concatenate([log_power.mean(axis=1), log_power.std(axis=1)], axis=1)


@pytest.fixture(scope="module")
def default_study(tmp_path_factory):
    return make_synthetic_study(data_home=tmp_path_factory.mktemp("default_home"))


def _decode(study, voxels, permutation=None):
    train = np.asarray(study.responses_train)[:, :, voxels].reshape(len(study.responses_train), -1)
    test = np.asarray(study.responses_test)[:, :, voxels].reshape(len(study.responses_test), -1)
    targets = _spectral_embedding(study.audio_train)
    mean, std = targets.mean(axis=0), targets.std(axis=0)
    if permutation is not None:
        train = train[permutation]
    ridge = RidgeCV(alphas=np.logspace(0, 5, 11)).fit(train, (targets - mean) / std)
    truth = (_spectral_embedding(study.audio_test) - mean) / std
    return identification_accuracy(truth, ridge.predict(test))


@pytest.mark.slow
def test_default_study_is_decodable_and_controls_are_at_chance(default_study):
    study = default_study
    assert study.responses_train.shape == (240, 10, 4000)
    assert study.responses_test_repeats.shape == (30, 4, 10, 4000)
    assert len(study.corpus.clips) == 200
    informative = np.isin(study.roi_labels, study.informative_rois)
    assert _decode(study, informative) > 0.8
    # Controls at chance. One shuffle (or one noise set) draws one random map of the
    # stimulus-driven responses into the targets, whose identification spreads by ~0.13
    # around 0.5 on 30 test clips: average 8 draws.
    rng = np.random.default_rng(0)
    shuffled = [_decode(study, informative, rng.permutation(len(study.responses_train)))
                for _ in range(8)]
    assert abs(np.mean(shuffled) - 0.5) < 0.1
    noise_sets = np.flatnonzero(~informative)[: 8 * informative.sum()].reshape(8, -1)
    assert abs(np.mean([_decode(study, voxels) for voxels in noise_sets]) - 0.5) < 0.1


@pytest.mark.slow
def test_noise_ceiling_separates_informative_rois(default_study):
    from scipy.stats import spearmanr

    study = default_study
    ceiling = noise_ceiling(study.responses_test_repeats)
    informative = np.isin(study.roi_labels, study.informative_rois)
    assert ceiling[~informative].mean() < 0.05
    # Per ROI (most informative first), not per voxel: parcel sizes vary with the anatomy.
    per_roi = np.array([ceiling[study.roi_labels == label].mean()
                        for label in study.informative_rois])
    assert per_roi[0] > 0.4 and per_roi.mean() > 0.2
    assert (per_roi[:-1] > 5 * ceiling[~informative].mean()).all()
    assert spearmanr(study.informative_snr, per_roi).statistic > 0.8

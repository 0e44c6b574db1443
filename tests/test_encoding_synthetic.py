"""End to end on the synthetic study: FDR-significant voxels sit in the informative ROIs."""

import numpy as np
import pytest

from skbrainmusic.datasets import make_synthetic_study
from skbrainmusic.encoding import (
    VoxelwiseEncoder,
    ceiling_normalized_scores,
    genre_one_hot,
    permutation_test,
    upsample_to_windows,
)
from skbrainmusic.metrics import AUDIOSET_GROUPS
from skbrainmusic.preprocessing import noise_ceiling

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    # 120 training clips and the paper's 60 test clips (6 runs, 4 repeats each).
    # 4,000 voxels (5.8 mm grid): the informative auditory parcels hold ~100 voxels, enough
    # for Benjamini-Hochberg over all voxels with 5,000 permutations (p >= 1 / 5001).
    return make_synthetic_study(n_train_runs=3, n_test_runs=6, n_voxels=4000, n_corpus=0,
                                data_home=tmp_path_factory.mktemp("synthetic"))


def _semantic_features(study, split):
    """Clip-level labels (genre, instruments, top mood, tempo, mode) repeated over scans."""
    clips = study[f"clips_{split}"]
    genres = genre_one_hot(clips.genre, categories=sorted(set(study.clips_train.genre)))
    instruments = np.array([[name in labels for name in AUDIOSET_GROUPS["instruments"]]
                            for labels in study[f"instruments_{split}"]], dtype=float)
    moods = np.array([[name in labels[:1] for name in AUDIOSET_GROUPS["moods"]]
                      for labels in study[f"moods_{split}"]], dtype=float)
    tempo = (clips.tempo.to_numpy(dtype=float)[:, None] - 100.0) / 30.0
    major = clips.major.to_numpy(dtype=float)[:, None]
    features = np.hstack([genres, instruments, moods, tempo, major])
    return upsample_to_windows(features, study.responses_train.shape[1])


def test_significant_voxels_are_informative_and_noise_fpr_is_below_q(study):
    X_train, X_test = _semantic_features(study, "train"), _semantic_features(study, "test")
    encoder = VoxelwiseEncoder(alphas=np.logspace(-1, 4, 6)).fit(X_train,
                                                                 study.responses_train)
    result = permutation_test(study.responses_test, encoder.predict(X_test),
                              n_permutations=5000, random_state=0)
    informative = np.isin(study.roi_labels, study.informative_rois)
    assert result.significant.sum() >= 20
    # Significant voxels fall in the informative ROIs; the false-positive rate over the
    # noise ROIs stays below q.
    assert informative[result.significant].mean() >= 0.9
    assert result.significant[~informative].mean() <= result.q
    most_informative = np.isin(study.roi_labels, study.informative_rois[:2])
    assert result.significant[most_informative].mean() >= 0.7

    # Control: a model trained with the clips shuffled finds nothing.
    rng = np.random.default_rng(0)
    shuffled = VoxelwiseEncoder(alphas=np.logspace(-1, 4, 6)).fit(
        X_train, study.responses_train[rng.permutation(len(X_train))])
    null_result = permutation_test(study.responses_test, shuffled.predict(X_test),
                                   n_permutations=5000, random_state=0)
    assert null_result.significant.sum() <= 0.05 * result.significant.sum() + 1

    # Ceiling-normalised scores: the noise ceiling from the test repeats is high in the
    # informative ROIs, and the best voxels reach a sizeable share of it.
    ceiling = noise_ceiling(study.responses_test_repeats)
    assert np.median(ceiling[informative]) > 3 * np.median(ceiling[~informative])
    normalized = ceiling_normalized_scores(result.scores, ceiling, min_ceiling=0.3)
    assert np.nanmedian(normalized[most_informative]) > 0.3

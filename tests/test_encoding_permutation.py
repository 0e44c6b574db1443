"""permutation_test: whole-clip null, exact p-value formula, FDR control on a planted study."""

import numpy as np
import pytest
from sklearn.utils import check_random_state

from skbrainmusic.encoding import VoxelwiseEncoder, fdr_correction, permutation_test
from skbrainmusic.encoding._permutation import _null_cross, _null_gather, _standardize
from skbrainmusic.metrics import pearson_per_target


def _planted_study(rng, n_train=120, n_test=60, n_windows=4, n_features=8, n_informative=60,
                   n_noise=540):
    """Embeddings -> responses with an informative ROI (linear + noise) and noise ROIs."""
    n_clips = n_train + n_test
    # Embeddings smooth within a clip, as windowed embeddings are.
    X = rng.standard_normal((n_clips, 1, n_features)) + 0.5 * rng.standard_normal(
        (n_clips, n_windows, n_features))
    W = rng.standard_normal((n_features, n_informative)) / np.sqrt(n_features)
    informative = X @ W + 2.0 * rng.standard_normal((n_clips, n_windows, n_informative))
    # Noise voxels with strong within-clip autocorrelation: a window-level null would be
    # anti-conservative on them, a clip-level null is not.
    noise = rng.standard_normal((n_clips, 1, n_noise)) + 0.3 * rng.standard_normal(
        (n_clips, n_windows, n_noise))
    Y = np.concatenate([informative, noise], axis=2)
    roi = np.array(["auditory"] * n_informative + ["noise"] * n_noise)
    return X[:n_train], Y[:n_train], X[n_train:], Y[n_train:], roi


def test_significant_voxels_fall_in_informative_roi_and_fpr_below_q():
    rng = np.random.default_rng(7)
    X_train, Y_train, X_test, Y_test, roi = _planted_study(rng)
    encoder = VoxelwiseEncoder(alphas=np.logspace(-1, 4, 6)).fit(X_train, Y_train)
    result = permutation_test(Y_test, encoder.predict(X_test), n_permutations=1000,
                              random_state=0)
    in_auditory = roi == "auditory"
    assert result.significant[in_auditory].mean() > 0.9
    assert result.significant[~in_auditory].mean() <= result.q
    np.testing.assert_allclose(result.scores, encoder.voxel_scores(X_test, Y_test), atol=1e-6)
    # Control: permuting windows instead of clips ignores the within-clip autocorrelation
    # and floods the noise ROI with false positives, which the assertion above would catch.
    window_null = permutation_test(Y_test.reshape(-1, roi.size),
                                   encoder.predict(X_test).reshape(-1, roi.size),
                                   n_permutations=1000, random_state=0)
    assert window_null.significant[~in_auditory].mean() > 2 * result.q


def test_pvalues_under_the_null_are_not_anticonservative(rng):
    # Predictions unrelated to the responses: about 5% of voxels below p = 0.05, and no FDR
    # discoveries.
    Y_true = rng.standard_normal((40, 5, 2000)).astype(np.float32)
    Y_pred = rng.standard_normal((40, 5, 2000)).astype(np.float32)
    result = permutation_test(Y_true, Y_pred, n_permutations=200, random_state=1)
    assert 0.03 < (result.pvalues < 0.05).mean() < 0.07
    assert result.significant.sum() == 0


def test_null_permutes_whole_clips_and_both_paths_agree(rng, monkeypatch):
    # (the gathering path sums its permutations in batches of 4, the last one short)
    from skbrainmusic.encoding import _permutation

    monkeypatch.setattr(_permutation, "_GATHER_PERMUTATIONS", 4)
    Y_true = rng.standard_normal((9, 3, 5))
    Y_pred = Y_true + rng.standard_normal((9, 3, 5))
    permutations = np.stack([np.arange(9)] + [rng.permutation(9) for _ in range(20)])
    Zt = _standardize(Y_true.reshape(-1, 5)).reshape(9, 3, 5)
    Zp = _standardize(Y_pred.reshape(-1, 5)).reshape(9, 3, 5)
    cross = _null_cross(Zt, Zp, permutations, n_permutations_batch=7)
    gather = _null_gather(Zt, Zp, permutations)
    expected = np.stack([
        pearson_per_target(Y_true.reshape(-1, 5), Y_pred[perm].reshape(-1, 5))
        for perm in permutations
    ], axis=1)
    np.testing.assert_allclose(cross, expected, atol=1e-12)
    np.testing.assert_allclose(gather, expected, atol=1e-12)


def test_pvalue_formula_and_public_permutations(rng):
    Y_true = rng.standard_normal((12, 2, 3))
    Y_pred = Y_true.copy()
    Y_pred[..., 1] = rng.standard_normal((12, 2))
    Y_pred[..., 2] = 0.0  # constant prediction: r undefined, scored 0 with p = 1
    result = permutation_test(Y_true, Y_pred, n_permutations=99, random_state=3)
    assert result.pvalues[0] == pytest.approx(1 / 100)
    assert result.scores[2] == 0.0 and result.pvalues[2] == 1.0
    # Recompute voxel 1's p-value from the documented null with the same generator.
    generator = check_random_state(3)
    null = [pearson_per_target(Y_true[..., 1:2].reshape(-1, 1),
                               Y_pred[generator.permutation(12)][..., 1:2].reshape(-1, 1))[0]
            for _ in range(99)]
    expected = (1 + np.sum(np.asarray(null) >= result.scores[1] - 1e-12)) / 100
    assert result.pvalues[1] == pytest.approx(expected)


def test_two_dimensional_input_and_batches_agree(rng):
    Y_true = rng.standard_normal((30, 50))
    Y_pred = 0.3 * Y_true + rng.standard_normal((30, 50))
    full = permutation_test(Y_true, Y_pred, n_permutations=50, random_state=0)
    batched = permutation_test(Y_true, Y_pred, n_permutations=50, random_state=0,
                               n_targets_batch=7)
    np.testing.assert_array_equal(full.pvalues, batched.pvalues)


def test_errors_and_warnings(rng):
    Y = rng.standard_normal((5, 2, 3))
    with pytest.raises(ValueError, match="must match"):
        permutation_test(Y, Y[:, :1])
    with pytest.raises(ValueError, match="q must lie"):
        permutation_test(Y, Y, q=1.5)
    with pytest.warns(UserWarning, match="distinct non-identity permutations"):
        permutation_test(Y, Y, n_permutations=200, random_state=0)


def test_fdr_correction_matches_benjamini_hochberg():
    pvalues = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216])
    significant, adjusted = fdr_correction(pvalues, q=0.05)
    # BH step-up: largest k with p_(k) <= k q / m is k = 2 (0.008 <= 0.01; 0.039 > 0.015).
    assert significant.tolist() == [True, True] + [False] * 8
    assert np.all(adjusted >= pvalues)
    with pytest.raises(ValueError, match="1-D"):
        fdr_correction(pvalues.reshape(2, 5))


def test_constant_voxel_far_from_zero_scores_zero_with_p_one():
    # Centring a float32 column of 1000.1 leaves rounding noise, not zeros: it must still be
    # recognised as constant (r = 0, p = 1), as voxel_scores does.
    rng = np.random.default_rng(0)
    Y_true = rng.standard_normal((20, 4, 3)).astype(np.float32)
    Y_pred = Y_true + rng.standard_normal(Y_true.shape).astype(np.float32)
    Y_true[..., 1] = np.float32(1000.1)
    result = permutation_test(Y_true, Y_pred, n_permutations=50, random_state=0)
    assert result.scores[1] == 0.0 and result.pvalues[1] == 1.0
    assert result.significant[[0, 2]].all()

"""VoxelwiseEncoder: recovery, agreement with himalaya's RidgeCV, shapes and errors."""

import numpy as np
import pytest
from himalaya.ridge import RidgeCV as HimalayaRidgeCV
from himalaya.scoring import correlation_score as himalaya_correlation
from himalaya.scoring import r2_score as himalaya_r2

from skbrainmusic.encoding import VoxelwiseEncoder
from skbrainmusic.ridge import clip_splits


def _planted(rng, n_clips=80, n_windows=4, n_features=10, n_informative=30, n_noise=30,
             noise=1.0, dtype=np.float64):
    """Windowed embeddings and responses: the first voxels are linear in X, the rest noise."""
    X = rng.standard_normal((n_clips, n_windows, n_features))
    W = rng.standard_normal((n_features, n_informative))
    Y = np.concatenate([
        X @ W + noise * rng.standard_normal((n_clips, n_windows, n_informative)),
        rng.standard_normal((n_clips, n_windows, n_noise)),
    ], axis=2)
    return X.astype(dtype), Y.astype(dtype)


def test_recovers_informative_voxels_and_shuffled_control_is_chance(rng):
    X, Y = _planted(rng, n_clips=100)
    encoder = VoxelwiseEncoder(alphas=np.logspace(-2, 4, 7)).fit(X[:70], Y[:70])
    scores = encoder.voxel_scores(X[70:], Y[70:])
    assert scores.shape == (60,)
    assert scores[:30].min() > 0.8
    assert abs(scores[30:].mean()) < 0.1
    # Control: clips shuffled between embeddings and responses in training -> chance.
    shuffled = VoxelwiseEncoder(alphas=np.logspace(-2, 4, 7)).fit(
        X[:70], Y[:70][rng.permutation(70)])
    assert abs(shuffled.voxel_scores(X[70:], Y[70:])[:30].mean()) < 0.15


@pytest.mark.parametrize("scoring, score_func",
                         [("correlation", himalaya_correlation), ("r2", himalaya_r2)])
def test_agrees_with_himalaya_ridgecv_on_same_folds(rng, scoring, score_func):
    X, Y = _planted(rng, n_clips=40, n_windows=3, noise=3.0)
    alphas = np.logspace(-1, 4, 6)
    splits = clip_splits(5, 40, 3)
    ours = VoxelwiseEncoder(alphas=alphas, cv=5, scoring=scoring, dtype="float64").fit(X, Y)
    reference = HimalayaRidgeCV(alphas=alphas, cv=splits, fit_intercept=True,
                                solver_params=dict(score_func=score_func)).fit(
        X.reshape(-1, 10), Y.reshape(-1, 60))
    np.testing.assert_allclose(ours.alphas_, reference.best_alphas_, rtol=1e-10)
    X_new = rng.standard_normal((7, 3, 10))
    np.testing.assert_allclose(ours.predict(X_new).reshape(-1, 60),
                               reference.predict(X_new.reshape(-1, 10)), rtol=1e-6, atol=1e-8)


def test_shapes_2d_1d_and_float32(rng):
    X, Y = _planted(rng, n_clips=30, n_windows=1, dtype=np.float32)
    X2, Y2 = X[:, 0], Y[:, 0]
    encoder = VoxelwiseEncoder(cv=3).fit(X2, Y2)
    assert encoder.coef_.dtype == np.float32 and encoder.coef_.shape == (10, 60)
    assert encoder.predict(X2).shape == (30, 60)
    assert encoder.predict(X).shape == (30, 1, 60)
    single = VoxelwiseEncoder(cv=3).fit(X2, Y2[:, 0])
    assert single.predict(X2).shape == (30,)
    assert isinstance(single.score(X2, Y2[:, 0]), float)
    assert encoder.alphas_.shape == encoder.cv_scores_.shape == encoder.intercept_.shape == (60,)


def test_predict_is_the_per_clip_product_and_voxel_scores_are_exact_correlations(rng):
    from skbrainmusic.encoding._voxelwise import voxel_correlations

    X, Y = _planted(rng, n_clips=30, n_windows=5, dtype=np.float32)
    encoder = VoxelwiseEncoder(cv=3).fit(X, Y)
    X_new = rng.standard_normal((9, 5, 10)).astype(np.float32)
    predicted = encoder.predict(X_new)
    assert predicted.shape == (9, 5, 60) and predicted.dtype == np.float32
    per_clip = np.stack([clip @ encoder.coef_ for clip in X_new]) + encoder.intercept_
    np.testing.assert_allclose(predicted, per_clip, rtol=1e-5, atol=1e-6)
    Y_new = rng.standard_normal((9, 5, 60)).astype(np.float32)
    exact = X_new.astype(np.float64) @ encoder.coef_.astype(np.float64)
    np.testing.assert_allclose(encoder.voxel_scores(X_new, Y_new),
                               voxel_correlations(Y_new, exact), atol=1e-5)
    # The clips keep their own predictions: a clip's prediction moves with the clip.
    np.testing.assert_array_equal(encoder.predict(X_new[::-1]), predicted[::-1])


def test_voxel_scores_keep_the_variation_of_a_heavily_penalised_voxel(rng):
    # alpha 1e7 shrinks the predictions' variation far below the last float32 digit of a
    # large intercept: predict() rounds it away, the scores do not (r is computed without
    # the intercept) and equal float64 arithmetic.
    X, Y = _planted(rng, n_clips=30, n_windows=2, dtype=np.float32)
    encoder = VoxelwiseEncoder(alphas=[1e7], cv=3).fit(X, Y + 1000.0)
    X_new = rng.standard_normal((12, 2, 10)).astype(np.float32)
    Y_new = rng.standard_normal((12, 2, 60))
    expected = np.array([np.corrcoef(Y_new[..., v].ravel(), (
        X_new.astype(np.float64) @ encoder.coef_[:, v].astype(np.float64)).ravel())[0, 1]
        for v in range(60)])
    np.testing.assert_allclose(encoder.voxel_scores(X_new, Y_new), expected, atol=1e-5)
    rounded = encoder.predict(X_new)
    assert np.unique(rounded[..., 0]).size < 12  # (the rounded predictions: a few levels)


def test_groups_are_honoured(rng):
    X, Y = _planted(rng, n_clips=40, n_windows=2)
    groups = np.repeat(np.arange(8), 5)
    with_groups = VoxelwiseEncoder(cv=4).fit(X, Y, groups=groups)
    from sklearn.model_selection import GroupKFold

    explicit = VoxelwiseEncoder(cv=list(GroupKFold(4).split(X[:, 0], groups=groups))).fit(X, Y)
    np.testing.assert_array_equal(with_groups.alphas_, explicit.alphas_)
    with pytest.raises(ValueError, match="one entry per clip"):
        VoxelwiseEncoder(cv=4).fit(X, Y, groups=groups[:-1])


def test_constant_voxel_scores_zero_and_errors(rng):
    X, Y = _planted(rng, n_clips=30, n_windows=2)
    encoder = VoxelwiseEncoder(cv=3).fit(X, Y)
    Y_test = Y.copy()
    Y_test[..., 0] = 1.0
    assert encoder.voxel_scores(X, Y_test)[0] == 0.0
    with pytest.raises(ValueError, match="windows per clip"):
        encoder.fit(X, Y[:, :1])
    with pytest.raises(ValueError, match="features"):
        encoder.predict(X[..., :5])


def test_ceiling_normalized_scores_reach_one_for_the_true_signal(rng):
    from skbrainmusic.encoding import ceiling_normalized_scores
    from skbrainmusic.metrics import pearson_per_target

    # 4 repeats of signal + noise of variance 3: the repeat average has noise variance 3/4,
    # so a perfect model reaches r = sqrt(1 / (1 + 3/4)) against it, the noise ceiling.
    signal = rng.standard_normal((4000, 5))
    average = signal + np.sqrt(3.0 / 4.0) * rng.standard_normal((4000, 5))
    ceiling = np.full(5, np.sqrt(1.0 / 1.75))
    r = pearson_per_target(average, signal)
    np.testing.assert_allclose(ceiling_normalized_scores(r, ceiling), 1.0, atol=0.02)
    ceiling[0] = 0.05
    assert np.isnan(ceiling_normalized_scores(r, ceiling)[0])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ceiling_normalized_scores(r, ceiling - 0.5)
    with pytest.raises(ValueError, match="shape"):
        ceiling_normalized_scores(r, ceiling[:2])


def test_torch_backend_matches_numpy(rng):
    pytest.importorskip("torch")
    X, Y = _planted(rng, n_clips=30, n_windows=2, dtype=np.float32)
    alphas = np.logspace(-1, 3, 5)
    numpy_fit = VoxelwiseEncoder(alphas=alphas, cv=3).fit(X, Y)
    torch_fit = VoxelwiseEncoder(alphas=alphas, cv=3, backend="torch").fit(X, Y)
    assert isinstance(torch_fit.coef_, np.ndarray)
    np.testing.assert_allclose(torch_fit.predict(X), numpy_fit.predict(X), rtol=1e-3,
                               atol=1e-3)


def test_dtype_parameter_sets_the_precision(rng):
    X = rng.standard_normal((20, 4, 5))  # float64 embeddings, e.g. after StandardScaler
    Y = rng.standard_normal((20, 4, 7)).astype(np.float32)
    assert VoxelwiseEncoder(cv=3).fit(X, Y).coef_.dtype == np.float32
    assert VoxelwiseEncoder(cv=3, dtype="float64").fit(X, Y).coef_.dtype == np.float64
    with pytest.raises(ValueError, match="dtype must be"):
        VoxelwiseEncoder(dtype="int8").fit(X, Y)

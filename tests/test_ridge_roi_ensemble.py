"""ROIEnsembleRidge: exactness per ROI, recovery of planted ROIs, leak controls, bad input."""

import io
import warnings

import joblib
import numpy as np
import pytest
from himalaya.ridge import RidgeCV as HimalayaRidgeCV
from himalaya.scoring import correlation_score as himalaya_correlation
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold, KFold, cross_val_score

from skbrainmusic import ROIEnsembleRidge
from skbrainmusic.metrics import identification_accuracy, identification_scorer
from skbrainmusic.ridge import clip_splits

ALPHAS = np.logspace(-1, 4, 8)


def make_planted_rois(n_clips=60, n_windows=4, n_targets=6, sizes=(12, 20, 8, 15, 25, 10),
                      informative=(1, 4), noise=1.0, seed=0):
    """Responses whose ROIs ``informative`` carry the targets linearly; other ROIs are noise.

    Targets vary slowly across the windows of a clip (a clip-level latent plus a small
    window term), as embeddings of overlapping windows do."""
    rng = np.random.default_rng(seed)
    clip_latent = rng.standard_normal((n_clips, 1, n_targets))
    Y = clip_latent + 0.3 * rng.standard_normal((n_clips, n_windows, n_targets))
    labels = np.repeat(np.arange(len(sizes)) * 10, sizes)  # labels 0, 10, 20, ...
    X = noise * rng.standard_normal((n_clips, n_windows, labels.size))
    for roi in informative:
        voxels = np.flatnonzero(labels == roi * 10)
        X[..., voxels] += Y @ rng.standard_normal((n_targets, voxels.size))
    return X, Y, labels


def test_selects_planted_rois_and_identifies_held_out_clips():
    X, Y, labels = make_planted_rois()
    train, test = np.arange(45), np.arange(45, 60)
    model = ROIEnsembleRidge(labels, n_rois=2, alphas=ALPHAS).fit(X[train], Y[train])
    assert set(model.selected_rois_) == {10, 40}
    ranked = model.rois_[np.argsort(-model.roi_scores_)]
    assert set(ranked[:2]) == {10, 40}
    assert model.roi_scores_[[1, 4]].min() > 0.5 > np.delete(model.roi_scores_, [1, 4]).max()
    accuracy = identification_accuracy(Y[test], model.predict(X[test]))
    assert accuracy > 0.9
    assert model.score(X[test], Y[test]) > 0.5


def test_targets_shuffled_across_clips_give_chance():
    # The leak control: with Y permuted across training clips, nothing true is left to learn.
    X, Y, labels = make_planted_rois(n_clips=80, seed=1)
    train, test = np.arange(60), np.arange(60, 80)
    rng = np.random.default_rng(2)
    accuracies = []
    for _ in range(4):
        shuffled = Y[train][rng.permutation(train.size)]
        model = ROIEnsembleRidge(labels, n_rois=2, alphas=ALPHAS).fit(X[train], shuffled)
        accuracies.append(identification_accuracy(Y[test], model.predict(X[test])))
    assert abs(np.mean(accuracies) - 0.5) < 0.1


def test_windows_of_a_clip_never_straddle_folds():
    # Nearly identical windows and clip-level random targets: CV over windows would score
    # them highly by memorisation; CV over clips sees nothing (scores near 0).
    rng = np.random.default_rng(3)
    n_clips, n_windows = 40, 5
    X = rng.standard_normal((n_clips, 1, 30)) + 0.01 * rng.standard_normal((n_clips,
                                                                           n_windows, 30))
    Y = np.repeat(rng.standard_normal((n_clips, 1, 4)), n_windows, axis=1)
    model = ROIEnsembleRidge(None, n_rois=1, alphas=np.logspace(-4, 2, 7)).fit(X, Y)
    assert abs(model.roi_scores_[0]) < 0.25
    shuffled_rows = ROIEnsembleRidge(None, n_rois=1, alphas=np.logspace(-4, 2, 7),
                                     cv=KFold(5, shuffle=True, random_state=0))
    shuffled_rows.fit(X.reshape(n_clips * n_windows, 30), Y.reshape(n_clips * n_windows, 4))
    assert shuffled_rows.roi_scores_[0] > 0.6  # what a window-level split reports


def test_every_roi_equals_himalaya_ridgecv_float64():
    X, Y, labels = make_planted_rois(n_clips=30, sizes=(5, 140, 12), informative=(0, 1, 2))
    splits = clip_splits(5, n_clips=30, n_windows=4)
    X2, Y2 = X.reshape(120, -1), Y.reshape(120, -1)
    model = ROIEnsembleRidge(labels, n_rois=3, alphas=ALPHAS, dtype="float64",
                             store_cv_scores=True).fit(X, Y)
    for i, roi in enumerate(model.selected_rois_):
        voxels = np.flatnonzero(labels == roi)
        np.testing.assert_array_equal(model.voxel_indices_[i], voxels)
        reference = HimalayaRidgeCV(
            alphas=ALPHAS, cv=splits, fit_intercept=True,
            solver_params=dict(score_func=himalaya_correlation, warn=False),
        ).fit(X2[:, voxels], Y2)
        np.testing.assert_allclose(model.alphas_[i], reference.best_alphas_, rtol=1e-12)
        expected = reference.predict(X2[:, voxels])
        predicted = X2[:, voxels] @ model.coef_[i] + model.intercept_[i]
        assert np.abs(predicted - expected).max() <= 1e-10 * np.abs(expected).max()
        k = np.flatnonzero(model.rois_ == roi)[0]
        np.testing.assert_allclose(model.roi_scores_[k], reference.cv_scores_.mean(), atol=1e-8)
    assert model.cv_scores_.shape == (3, ALPHAS.size, Y.shape[-1])
    prediction = np.mean([X2[:, v] @ c + b for v, c, b in
                          zip(model.voxel_indices_, model.coef_, model.intercept_)], axis=0)
    np.testing.assert_allclose(model.predict(X).reshape(120, -1), prediction, rtol=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_float32_and_torch_choose_the_float64_alphas(backend):
    X, Y, labels = make_planted_rois(seed=4)
    reference = ROIEnsembleRidge(labels, n_rois=2, alphas=ALPHAS, dtype="float64").fit(X, Y)
    model = ROIEnsembleRidge(labels, n_rois=2, alphas=ALPHAS, backend=backend).fit(X, Y)
    np.testing.assert_array_equal(model.selected_rois_, reference.selected_rois_)
    np.testing.assert_array_equal(model.alphas_, reference.alphas_)
    np.testing.assert_allclose(model.predict(X), reference.predict(X), rtol=1e-4, atol=1e-4)


def test_groups_are_respected_by_inner_splits():
    X, Y, labels = make_planted_rois(n_clips=24, seed=5)
    groups = np.repeat(np.arange(6), 4)
    model = ROIEnsembleRidge(labels, n_rois=1, alphas=ALPHAS, cv=3).fit(X, Y, groups=groups)
    expected = ROIEnsembleRidge(labels, n_rois=1, alphas=ALPHAS, cv=GroupKFold(3)).fit(
        X, Y, groups=groups)
    np.testing.assert_array_equal(model.roi_scores_, expected.roi_scores_)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The groups parameter is ignored")
        with pytest.raises(ValueError, match="same group on both sides"):
            ROIEnsembleRidge(labels, cv=KFold(5)).fit(X, Y, groups=groups)


def test_voxel_screening_inside_folds_without_labels():
    X, Y, labels = make_planted_rois(n_clips=60, sizes=(150, 10, 150), informative=(1,),
                                     seed=6)
    train, test = np.arange(45), np.arange(45, 60)
    model = ROIEnsembleRidge(None, n_rois=1, screen_voxels=10, alphas=ALPHAS)
    model.fit(X[train], Y[train])
    np.testing.assert_array_equal(model.voxel_indices_[0], np.arange(150, 160))
    assert identification_accuracy(Y[test], model.predict(X[test])) > 0.9
    shuffled = clone(model).fit(X[train], Y[train][np.random.default_rng(0).permutation(45)])
    # screening on shuffled targets finds voxels by chance; inside the folds it cannot leak
    assert shuffled.roi_scores_[0] < 0.2


def test_input_shapes_and_score():
    X, Y, labels = make_planted_rois(n_clips=20, seed=7)
    model = ROIEnsembleRidge(labels, n_rois=2, alphas=ALPHAS).fit(X, Y)
    assert model.predict(X).shape == Y.shape
    assert model.predict(X[:, 0]).shape == (20, Y.shape[-1])
    flat = ROIEnsembleRidge(labels, n_rois=2, alphas=ALPHAS).fit(X[:, 0], Y[:, 0, 0])
    assert flat.predict(X[:, 0]).shape == (20,)
    assert isinstance(model.score(X, Y), float)


def test_cross_val_score_and_grid_search_with_identification_scorer():
    X, Y, labels = make_planted_rois(n_clips=40, seed=8)
    model = ROIEnsembleRidge(labels, n_rois=2, alphas=ALPHAS, cv=3)
    scores = cross_val_score(model, X, Y, cv=4, scoring=identification_scorer)
    assert scores.shape == (4,) and scores.min() > 0.8
    search = GridSearchCV(model, {"n_rois": [1, 2, 4]}, cv=3,
                          scoring=identification_scorer).fit(X, Y)
    assert search.best_params_["n_rois"] in (1, 2)


@pytest.mark.parametrize("make_bad, match", [
    (lambda X, Y, labels: (X, Y, dict(roi_labels=labels[:-1])), "roi_labels has"),
    (lambda X, Y, labels: (X, Y, dict(n_rois=7)), "only 6 ROIs"),
    (lambda X, Y, labels: (X, Y, dict(roi_labels=None)), "set n_rois=1"),
    (lambda X, Y, labels: (X[:3], Y[:3], dict(cv=5)), "only 3 clips"),
    (lambda X, Y, labels: (X, Y[:, :3], {}), "windows per clip"),
    (lambda X, Y, labels: (np.where(X > 2.5, np.nan, X), Y, {}), "NaN"),
    (lambda X, Y, labels: (X, Y, dict(scoring="mse")), "scoring must be"),
    (lambda X, Y, labels: (X, Y, dict(alphas=[0.0, 1.0])), "alphas must be"),
    (lambda X, Y, labels: (X, Y, dict(backend="jax")), "backend must be"),
])
def test_bad_input_raises_clear_errors(make_bad, match):
    X, Y, labels = make_planted_rois(n_clips=20, seed=9)
    X, Y, params = make_bad(X, Y, labels)
    model = ROIEnsembleRidge(params.pop("roi_labels", labels), n_rois=params.pop("n_rois", 2),
                             alphas=params.pop("alphas", ALPHAS), **params)
    with pytest.raises(ValueError, match=match):
        model.fit(X, Y)


def test_constant_voxels_are_reported_and_get_zero_weight():
    X, Y, labels = make_planted_rois(n_clips=20, seed=10)
    X[..., 12] = 3.0
    for standardize in (False, True):
        with pytest.warns(UserWarning, match="1 voxel"):
            model = ROIEnsembleRidge(labels, n_rois=6, alphas=ALPHAS,
                                     standardize=standardize).fit(X, Y)
        np.testing.assert_array_equal(model.constant_voxels_, [12])
        i = list(model.selected_rois_).index(10)
        position = list(model.voxel_indices_[i]).index(12)
        np.testing.assert_allclose(model.coef_[i][position], 0.0, atol=1e-6)
        assert np.all(np.isfinite(model.predict(X)))


def test_persistence_with_skops_and_joblib(tmp_path):
    skops_io = pytest.importorskip("skops.io")
    X, Y, labels = make_planted_rois(n_clips=20, seed=11)
    model = ROIEnsembleRidge(labels, n_rois=2, alphas=ALPHAS).fit(X, Y)
    expected = model.predict(X)
    path = tmp_path / "model.skops"
    skops_io.dump(model, path)
    untrusted = skops_io.get_untrusted_types(file=path)
    assert all(name.startswith("skbrainmusic.") for name in untrusted), untrusted
    loaded = skops_io.load(path, trusted=untrusted)
    np.testing.assert_array_equal(loaded.predict(X), expected)
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    buffer.seek(0)
    np.testing.assert_array_equal(joblib.load(buffer).predict(X), expected)


def test_dask_backend_gives_identical_results():
    distributed = pytest.importorskip("distributed")
    X, Y, labels = make_planted_rois(n_clips=20, seed=12)
    model = ROIEnsembleRidge(labels, n_rois=2, alphas=ALPHAS, n_jobs=2)
    expected = clone(model).fit(X, Y)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        with joblib.parallel_backend("dask"):
            fitted = clone(model).fit(X, Y)
    np.testing.assert_array_equal(fitted.roi_scores_, expected.roi_scores_)
    np.testing.assert_array_equal(fitted.alphas_, expected.alphas_)
    np.testing.assert_array_equal(fitted.predict(X), expected.predict(X))


def make_delayed_scans(n_clips=48, n_scans=10, lag_scans=2, seed=13):
    """Scan-level responses lagging a per-scan stimulus feature by ``lag_scans`` scans (the
    haemodynamic delay), with ``lag_scans`` trailing scans per clip, and the targets of
    10 s windows (mean of the feature over scans k..k+6, as the aligner's windows)."""
    rng = np.random.default_rng(seed)
    feature = rng.standard_normal((n_clips, n_scans, 5))
    feature += rng.standard_normal((n_clips, 1, 5))
    targets = np.stack([feature[:, k:k + 7].mean(1) for k in range(4)], axis=1)
    labels = np.repeat([0, 1, 2], [15, 15, 15])
    lagged = np.zeros((n_clips, n_scans + lag_scans, 5))
    lagged[:, lag_scans:] = feature
    X = rng.standard_normal((n_clips, n_scans + lag_scans, labels.size))
    X[..., labels == 1] += lagged @ rng.standard_normal((5, 15))
    return X, targets, labels


def test_pipeline_with_aligner_in_cross_val_score_and_grid_search():
    from sklearn.pipeline import Pipeline

    from skbrainmusic import TemporalWindowAligner

    X, Y, labels = make_delayed_scans()
    pipeline = Pipeline([
        ("align", TemporalWindowAligner(window=10.0, clip_duration=15.0)),
        ("ridge", ROIEnsembleRidge(labels, n_rois=1, alphas=ALPHAS, cv=3)),
    ])
    scores = cross_val_score(pipeline.set_params(align__delay=3.0), X, Y, cv=3,
                             scoring=identification_scorer)
    assert scores.min() > 0.8
    search = GridSearchCV(pipeline, {"align__delay": [0.0, 3.0], "ridge__n_rois": [1, 3]},
                          cv=3, scoring=identification_scorer).fit(X, Y)
    assert search.best_params_ == {"align__delay": 3.0, "ridge__n_rois": 1}
    assert list(search.best_estimator_.named_steps["ridge"].selected_rois_) == [1]


@pytest.mark.slow
def test_synthetic_study_selects_informative_rois_and_shuffled_targets_do_not(tmp_path):
    from skbrainmusic import AudioEmbedder, TemporalWindowAligner
    from skbrainmusic.datasets import make_synthetic_study

    study = make_synthetic_study(n_train_runs=2, n_test_runs=1, n_voxels=600, n_corpus=2,
                                 data_home=tmp_path)
    # 15 s windows: one mean log-mel spectrum per clip, standardised across clips
    Y = AudioEmbedder(backend="mel", window=15.0, sample_rate=study.sample_rate
                      ).fit_transform(study.audio_train)
    Y = (Y - Y.mean((0, 1))) / Y.std((0, 1))
    X = TemporalWindowAligner(window=15.0).fit_transform(np.asarray(study.responses_train))
    # The strongest informative parcel (SNR 1) comes first (CV score 0.48); the weaker ones
    # hold a few voxels on this coarse (10.5 mm) grid and compete with ~200 noise parcels,
    # the best of which reaches 0.30 on 80 undetrended training clips.
    model = ROIEnsembleRidge(study.roi_labels, n_rois=1).fit(X, Y)
    assert np.isin(model.selected_rois_, study.informative_rois).all()
    rng = np.random.default_rng(0)
    # The leak control: with nothing true left to select on, an informative parcel (6 of
    # ~200) is picked at most once in three shuffles.
    picked = [np.isin(clone(model).fit(X, Y[rng.permutation(len(Y))]).selected_rois_,
                      study.informative_rois).sum() for _ in range(3)]
    assert sum(picked) <= 1


def test_score_rejects_targets_of_another_shape():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((10, 4, 6))
    Y = rng.standard_normal((10, 4, 3))
    model = ROIEnsembleRidge(None, n_rois=1, cv=2).fit(X, Y)
    assert np.isfinite(model.score(X, Y))
    for wrong in (Y.reshape(10, 2, 6), Y.reshape(-1)):
        with pytest.raises(ValueError, match="predictions for X have shape"):
            model.score(X, wrong)


def _fold_ridge_predictions(X2, Y2, voxels, alphas, splits):
    """Out-of-fold predictions of sklearn Ridge per target, one alpha each (brute force)."""
    from sklearn.linear_model import Ridge

    predictions = np.zeros_like(Y2)
    for train, val in splits:
        for t, alpha in enumerate(alphas):
            model = Ridge(alpha=alpha).fit(X2[np.ix_(train, voxels)], Y2[train, t])
            predictions[val, t] = model.predict(X2[np.ix_(val, voxels)])
    return predictions


@pytest.mark.parametrize("grouped", [False, True])
def test_cv_predictions_are_the_fold_models_of_the_selected_rois(grouped):
    X, Y, labels = make_planted_rois(n_clips=30, seed=12)
    groups = np.repeat(np.arange(10), 3) if grouped else None
    model = ROIEnsembleRidge(labels, n_rois=3, alphas=ALPHAS, cv=5, dtype="float64",
                             store_cv_predictions=True).fit(X, Y, groups=groups)
    splits = clip_splits(5, 30, 4, groups)
    X2, Y2 = X.reshape(120, -1), Y.reshape(120, -1)
    expected = np.mean([_fold_ridge_predictions(X2, Y2, np.flatnonzero(labels == roi),
                                                model.alphas_[i], splits)
                        for i, roi in enumerate(model.selected_rois_)], axis=0)
    assert model.cv_predictions_.shape == Y.shape
    np.testing.assert_allclose(model.cv_predictions_.reshape(120, -1), expected, atol=1e-9)
    # Out of fold, not in sample: the refit's predictions of the training clips differ.
    assert not np.allclose(model.cv_predictions_, model.predict(X), atol=1e-3)
    assert not hasattr(clone(model).set_params(store_cv_predictions=False).fit(X, Y),
                       "cv_predictions_")


def test_cv_predictions_with_screening_and_shapes():
    X, Y, _ = make_planted_rois(n_clips=30, sizes=(40, 10, 40), informative=(1,), seed=13)
    model = ROIEnsembleRidge(None, n_rois=1, screen_voxels=10, alphas=ALPHAS, cv=3,
                             dtype="float64", store_cv_predictions=True).fit(X, Y)
    X2, Y2 = X.reshape(120, -1), Y.reshape(120, -1)
    expected = np.zeros_like(Y2)
    for train, val in clip_splits(3, 30, 4):
        # the screening of every fold, recomputed from the training rows' correlations
        r = np.corrcoef(X2[train].T, Y2[train].T)[:90, 90:]
        kept = np.sort(np.argsort(-(r**2).mean(1), kind="stable")[:10])
        expected[val] = _fold_ridge_predictions(X2, Y2, kept, model.alphas_[0],
                                                [(train, val)])[val]
    np.testing.assert_allclose(model.cv_predictions_.reshape(120, -1), expected, atol=1e-9)
    flat = ROIEnsembleRidge(None, n_rois=1, alphas=ALPHAS, store_cv_predictions=True)
    assert flat.fit(X[:, 0], Y[:, 0]).cv_predictions_.shape == (30, Y.shape[-1])
    assert flat.fit(X[:, 0], Y[:, 0, 0]).cv_predictions_.shape == (30,)


def test_cv_predictions_of_shuffled_targets_are_at_chance():
    X, Y, labels = make_planted_rois(n_clips=60, seed=14)
    model = ROIEnsembleRidge(labels, n_rois=2, alphas=ALPHAS, store_cv_predictions=True)
    assert identification_accuracy(Y, model.fit(X, Y).cv_predictions_) > 0.9
    shuffled = Y[np.random.default_rng(0).permutation(60)]
    # ROIs and alphas are chosen on the same folds (slightly optimistic), but no clip's
    # own target enters its prediction: broken pairs stay near chance.
    chance = identification_accuracy(shuffled, model.fit(X, shuffled).cv_predictions_)
    assert abs(chance - 0.5) < 0.12


def test_cv_predictions_need_folds_that_hold_out_every_clip_once():
    from sklearn.model_selection import ShuffleSplit

    X, Y, labels = make_planted_rois(n_clips=20, seed=15)
    model = ROIEnsembleRidge(labels, n_rois=1, alphas=ALPHAS, store_cv_predictions=True,
                             cv=ShuffleSplit(3, test_size=0.3, random_state=0))
    with pytest.raises(ValueError, match="hold out every clip exactly once"):
        model.fit(X, Y)


# Joint fits ------------------------------------------------------------------------------


def test_joint_fit_equals_separate_fits():
    # Each estimator of a joint fit ranks, selects and refits on its own targets' scores:
    # the same model as its own fit (two target sets carried by different ROIs, and one
    # shuffled across clips, as the experiment's shuffled-responses control).
    from skbrainmusic.ridge._roi_ensemble import fit_jointly

    X, Y, labels = make_planted_rois(n_clips=50, informative=(1,), seed=3)
    rng = np.random.default_rng(4)
    other = X[..., labels == 40] @ rng.standard_normal(((labels == 40).sum(), 3))
    shuffled = Y[rng.permutation(len(Y))]
    groups = np.repeat(np.arange(10), 5)
    params = dict(alphas=ALPHAS, store_cv_scores=True)
    joint = fit_jointly([ROIEnsembleRidge(labels, n_rois=2, store_cv_predictions=True,
                                          **params),
                         ROIEnsembleRidge(labels, n_rois=1, **params),
                         ROIEnsembleRidge(labels, n_rois=2, store_cv_predictions=True,
                                          **params)],
                        X, [Y, other, shuffled], groups=groups)
    for model, y in zip(joint, [Y, other, shuffled]):
        alone = clone(model).fit(X, y, groups=groups)
        np.testing.assert_array_equal(model.selected_rois_, alone.selected_rois_)
        np.testing.assert_array_equal(model.alphas_, alone.alphas_)
        np.testing.assert_allclose(model.cv_scores_, alone.cv_scores_, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(model.predict(X), alone.predict(X), rtol=1e-4, atol=1e-5)
        if model.store_cv_predictions:
            np.testing.assert_allclose(model.cv_predictions_, alone.cv_predictions_,
                                       rtol=1e-4, atol=1e-5)
    assert 10 in joint[0].selected_rois_ and joint[1].selected_rois_.tolist() == [40]
    # the shuffled targets' models learnt nothing of the true pairs
    assert identification_accuracy(Y, joint[2].cv_predictions_) < 0.7
    assert identification_accuracy(Y, joint[0].cv_predictions_) > 0.9


def test_joint_fit_shares_its_folds_and_accepts_equal_settings_written_differently():
    from skbrainmusic.ridge import DEFAULT_ALPHAS
    from skbrainmusic.ridge._roi_ensemble import fit_jointly

    X, Y, labels = make_planted_rois(n_clips=30, seed=5)
    # A splitter drawing new folds at every call: all the estimators use the same ones.
    a, b = fit_jointly([ROIEnsembleRidge(labels, cv=KFold(5, shuffle=True), dtype="float32",
                                         store_cv_predictions=True),
                        ROIEnsembleRidge(labels, cv=KFold(5, shuffle=True),
                                         alphas=DEFAULT_ALPHAS, dtype=np.float32,
                                         store_cv_predictions=True)], X, [Y, Y])
    np.testing.assert_array_equal(a.cv_predictions_, b.cv_predictions_)
    np.testing.assert_array_equal(a.roi_scores_, b.roi_scores_)


def test_joint_fit_refuses_estimators_that_cannot_share():
    from skbrainmusic.ridge._roi_ensemble import fit_jointly

    X, Y, labels = make_planted_rois(n_clips=20)
    base = ROIEnsembleRidge(labels, n_rois=1)
    with pytest.raises(ValueError, match="must share alphas, cv"):
        fit_jointly([base, ROIEnsembleRidge(labels, alphas=[1.0], cv=3)], X, [Y, Y])
    with pytest.raises(ValueError, match="must share roi_labels"):
        fit_jointly([base, ROIEnsembleRidge(labels[::-1])], X, [Y, Y])
    with pytest.raises(ValueError, match="screen_voxels"):
        fit_jointly([base, ROIEnsembleRidge(labels, screen_voxels=5)], X, [Y, Y])
    with pytest.raises(ValueError, match="one target array per estimator"):
        fit_jointly([base, clone(base)], X, [Y])
    with pytest.raises(TypeError, match="sequence of ROIEnsembleRidge"):
        fit_jointly([base, "ridge"], X, [Y, Y])
    with pytest.raises(ValueError, match="X has 20 samples .* but y has 10"):
        fit_jointly([base, clone(base)], X, [Y, Y[:10]])

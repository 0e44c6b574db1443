import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.linear_model import Ridge
from sklearn.model_selection import GroupKFold, KFold, cross_val_predict
from sklearn.pipeline import make_pipeline

from skbrainmusic import CalibratedDecoder, ROIEnsembleRidge, TemporalWindowAligner, calibration
from skbrainmusic.metrics import identification_accuracy


def make_problem(n_clips, seed, n_voxels=40, d=3, noise=1.0):
    """Responses (n_clips, 10 scans, n_voxels) whose 10 s window means carry d targets."""
    rng = np.random.default_rng(seed)
    responses = rng.standard_normal((n_clips, 10, n_voxels))
    aligned = TemporalWindowAligner().fit_transform(responses)
    weights = rng.standard_normal((n_voxels, d)) / np.sqrt(n_voxels)
    embeddings = aligned @ weights + noise * 0.3 * rng.standard_normal((n_clips, 4, d))
    return responses, 5.0 * embeddings + 2.0


def decoder(n_rois=1):
    return make_pipeline(TemporalWindowAligner(),
                         ROIEnsembleRidge(np.arange(40) % 2, n_rois=n_rois, cv=3))


def old_demo_calibration(model, responses, embeddings, cv, predicted):
    """The formula of the demo's former ``cli/_features.Calibration``, verbatim."""
    out_of_fold = cross_val_predict(clone(model), responses, embeddings, cv=cv)
    flat = out_of_fold.reshape(-1, out_of_fold.shape[-1])
    mean, std = flat.mean(axis=0), flat.std(axis=0)
    std[std == 0] = 1.0
    return (predicted - mean) / std


def standardize(embeddings):
    flat = embeddings.reshape(-1, embeddings.shape[-1])
    return (embeddings - flat.mean(axis=0)) / flat.std(axis=0)


def test_reproduces_the_old_demo_calibration():
    responses, embeddings = make_problem(45, seed=0)
    test_responses, _ = make_problem(12, seed=1)
    # The demo standardised its training embeddings, so the target statistics are 0 and 1.
    targets = standardize(embeddings)
    calibrated = CalibratedDecoder(decoder(), cv=3).fit(responses, targets)
    raw = decoder().fit(responses, targets).predict(test_responses)
    expected = old_demo_calibration(decoder(), responses, targets, 3, raw)
    np.testing.assert_allclose(calibrated.predict(test_responses), expected, atol=1e-6)
    # Without standardised targets, the map also restores the targets' mean and spread.
    general = CalibratedDecoder(decoder(), cv=3).fit(responses, embeddings)
    raw = decoder().fit(responses, embeddings).predict(test_responses)
    flat = embeddings.reshape(-1, 3)
    np.testing.assert_allclose(
        general.predict(test_responses),
        old_demo_calibration(decoder(), responses, embeddings, 3, raw) * flat.std(axis=0)
        + flat.mean(axis=0), atol=1e-6)


def test_statistics_are_out_of_fold():
    responses, embeddings = make_problem(30, seed=2)
    model = CalibratedDecoder(decoder(), cv=3).fit(responses, embeddings)
    out_of_fold = cross_val_predict(decoder(), responses, embeddings, cv=KFold(3))
    flat = out_of_fold.reshape(-1, 3)
    np.testing.assert_allclose(model.oof_mean_, flat.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(model.oof_scale_, flat.std(axis=0), rtol=1e-10)
    # The in-sample predictions of the full refit are tighter: using them would shrink less.
    in_sample = model.estimator_.predict(responses).reshape(-1, 3)
    assert not np.allclose(in_sample.std(axis=0), model.oof_scale_, rtol=1e-2)
    np.testing.assert_allclose(model.target_mean_, embeddings.reshape(-1, 3).mean(axis=0))


def test_calibration_uses_no_held_out_clip():
    responses, embeddings = make_problem(30, seed=3)
    test_responses, _ = make_problem(8, seed=4)
    model = CalibratedDecoder(decoder(), cv=3).fit(responses, embeddings)
    alone = model.predict(test_responses[:1])
    others = np.random.default_rng(5).standard_normal((7, 10, 40)) * 10
    with_others = model.predict(np.concatenate([test_responses[:1], others]))
    np.testing.assert_allclose(with_others[:1], alone, rtol=1e-6)
    np.testing.assert_allclose(model.predict(test_responses)[:1], alone, rtol=1e-6)


class SpyRidge(Ridge):
    """A Ridge that records the groups of the clips it is fitted on (column 0 of X)."""

    fits = []

    def fit(self, X, y, groups=None):
        SpyRidge.fits.append((set(np.asarray(X)[:, 0].tolist()), groups))
        return super().fit(X, y)


@pytest.mark.parametrize("method", ["standardize", "deshrink", "none", "auto"])
def test_groups_are_respected(method, monkeypatch):
    maps = []
    fit_map = calibration._fit_map

    def spy(name, predictions, targets, cv, groups):
        maps.append((len(predictions), groups))
        return fit_map(name, predictions, targets, cv, groups)

    monkeypatch.setattr(calibration, "_fit_map", spy)
    rng = np.random.default_rng(6)
    groups = np.repeat(np.arange(6), 5)
    X = np.c_[groups, rng.standard_normal((30, 8))]
    y = X[:, 1:4] + rng.standard_normal((30, 3))
    SpyRidge.fits.clear()
    model = CalibratedDecoder(SpyRidge(), method=method, cv=3).fit(X, y, groups=groups)
    assert len(SpyRidge.fits) == 4
    folds, full = SpyRidge.fits[:3], SpyRidge.fits[3]
    held_out = [set(range(6)) - seen for seen, _ in folds]
    # GroupKFold: every group is held out exactly once, never seen by its own fold's model.
    assert sorted(g for fold in held_out for g in fold) == list(range(6))
    assert all(len(fold) == 2 for fold in held_out)
    # The estimator's fit receives the groups of its training clips, then all of them.
    for seen, fold_groups in folds:
        assert set(fold_groups.tolist()) == seen
    np.testing.assert_array_equal(full[1], groups)
    expected = cross_val_predict(Ridge(), X, y, cv=GroupKFold(3), groups=groups)
    np.testing.assert_allclose(model.oof_mean_, expected.mean(axis=0))
    np.testing.assert_allclose(model.oof_predictions_, expected)
    # Every calibration map (those "auto" compares on 2 of 3 groups, and the final one on
    # all clips) is fitted on whole groups, and its penalty search splits by them.
    assert len(maps) == (10 if method == "auto" else 1)
    for n_clips, map_groups in maps:
        assert len(map_groups) == n_clips
        assert all(np.sum(groups == g) == np.sum(map_groups == g) for g in map_groups)
    assert maps[-1][0] == 30


@pytest.mark.parametrize("params, X, y, groups, match", [
    ({"method": "isotonic"}, np.ones((10, 2)), np.ones((10, 2)), None,
     "method must be one of .*got 'isotonic'"),
    ({"cv": 5}, np.ones((4, 2)), np.ones((4, 2)), None, r"needs at least 5 clips .* got 4"),
    ({"cv": 3}, np.ones((6, 2)), np.ones((6, 2)), [0, 0, 0, 1, 1, 1],
     r"needs at least 3 groups .* got 2"),
    ({"method": "auto", "cv": 2}, np.ones((6, 2)), np.ones((6, 2)), [0, 0, 0, 1, 1, 1],
     "penalty by cross-validation .* leaves 1 group for training"),
    ({}, np.ones((10, 2)), np.r_[np.ones(9), np.nan], None, "y contains NaN"),
    ({}, np.r_[np.ones((9, 2)), [[np.nan, 1.0]]], np.arange(10.0), None, "X contains NaN"),
    ({}, np.ones((10, 2)), None, None, "requires y to be passed"),
])
def test_bad_input_errors(params, X, y, groups, match):
    with pytest.raises(ValueError, match=match):
        CalibratedDecoder(Ridge(), **params).fit(X, y, groups=groups)


def test_clone_and_pickle():
    responses, embeddings = make_problem(30, seed=7)
    model = CalibratedDecoder(decoder(n_rois=2), cv=3)
    cloned = clone(model)
    assert cloned.get_params()["estimator__roiensembleridge__n_rois"] == 2
    assert cloned.estimator is not model.estimator
    model.fit(responses, embeddings)
    assert not hasattr(cloned, "estimator_")
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(responses[:4]), model.predict(responses[:4]))
    np.testing.assert_array_equal(restored.transform(responses[:4]), model.predict(responses[:4]))


def test_it_de_shrinks_ridge_predictions():
    responses, embeddings = make_problem(60, seed=8, noise=3.0)
    test_responses, test_embeddings = make_problem(30, seed=9, noise=3.0)
    shrunk = make_pipeline(TemporalWindowAligner(),
                           ROIEnsembleRidge(None, n_rois=1, alphas=[1e3], cv=3))
    model = CalibratedDecoder(shrunk, cv=5).fit(responses, embeddings)
    raw = model.estimator_.predict(test_responses).reshape(-1, 3)
    calibrated = model.predict(test_responses).reshape(-1, 3)
    true_spread = test_embeddings.reshape(-1, 3).std(axis=0)
    assert np.all(raw.std(axis=0) < 0.5 * true_spread)
    assert np.all(calibrated.std(axis=0) > 2 * raw.std(axis=0))
    # Closer to the spread of the true embeddings of unseen clips.
    assert np.all(np.abs(calibrated.std(axis=0) - true_spread)
                  < np.abs(raw.std(axis=0) - true_spread))
    # A monotone map per dimension: correlations with the truth are unchanged.
    truth = test_embeddings.reshape(-1, 3)
    for k in range(3):
        np.testing.assert_allclose(np.corrcoef(raw[:, k], truth[:, k])[0, 1],
                                   np.corrcoef(calibrated[:, k], truth[:, k])[0, 1])


@pytest.mark.parametrize("method", ["standardize", "deshrink", "none", "auto"])
def test_one_target(method):
    rng = np.random.default_rng(10)
    X = rng.standard_normal((30, 5))
    y = X[:, 0] + rng.standard_normal(30)
    model = CalibratedDecoder(Ridge(alpha=100.0), method=method, cv=3).fit(X, y)
    assert model.predict(X).shape == (30,) and model.oof_mean_.shape == (1,)
    assert model.oof_predictions_.shape == (30,)
    # One dimension leaves identification undefined: auto keeps the default map.
    if method == "auto":
        assert model.method_ == "standardize" and model.method_scores_ == {}


def test_groups_reach_the_final_step_of_a_pipeline(monkeypatch):
    from sklearn.pipeline import make_pipeline

    from skbrainmusic import ROIEnsembleRidge, TemporalWindowAligner

    seen = []
    original = ROIEnsembleRidge.fit

    def spy(self, X, y, groups=None):
        seen.append(None if groups is None else np.asarray(groups).copy())
        return original(self, X, y, groups=groups)

    monkeypatch.setattr(ROIEnsembleRidge, "fit", spy)
    rng = np.random.default_rng(0)
    R = rng.standard_normal((24, 10, 6))
    E = TemporalWindowAligner(window=10.0).fit_transform(R)[..., :3]
    E = E + 0.1 * rng.standard_normal(E.shape)
    groups = np.repeat(np.arange(6), 4)
    decoder = make_pipeline(TemporalWindowAligner(window=10.0),
                            ROIEnsembleRidge(None, n_rois=1, cv=3))
    CalibratedDecoder(decoder, cv=3).fit(R, E, groups=groups)
    # 3 per-fold models and the refit, each given the groups of its own clips.
    assert len(seen) == 4 and all(g is not None for g in seen)
    assert sorted(np.concatenate(seen[:3]).tolist()) == sorted(np.tile(groups, 2).tolist())
    np.testing.assert_array_equal(seen[3], groups)


class FixedLinearDecoder(RegressorMixin, BaseEstimator):
    """A decoder whose predictions are ``X @ coef``, whatever it is fitted on."""

    def __init__(self, coef=None):
        self.coef = coef

    def fit(self, X, y):
        self.n_features_in_ = np.shape(X)[-1]
        return self

    def predict(self, X):
        return np.asarray(X) @ self.coef


def noisy_copies(n_clips, seed, noise, d=8):
    """Embeddings (n_clips, 4 windows, d) with unequal means and spreads, and noisy copies."""
    rng = np.random.default_rng(seed)
    embeddings = (rng.standard_normal((n_clips, 4, d)) * np.linspace(0.5, 2.0, d)
                  + np.linspace(-3.0, 3.0, d))
    return embeddings + noise * rng.standard_normal(embeddings.shape), embeddings


def planted_shrinkage(d=8):
    """0.3 times a mixing of the dimensions: what standardising each dimension cannot undo."""
    rng = np.random.default_rng(100)
    return 0.3 * (np.eye(d) + 0.7 * rng.standard_normal((d, d)) / np.sqrt(d))


def held_out_scores(method, coef, noise, seed=0):
    X, y = noisy_copies(120, seed, noise)
    X_test, y_test = noisy_copies(60, seed + 50, noise)
    model = CalibratedDecoder(FixedLinearDecoder(coef), method=method).fit(X, y)
    predicted = model.predict(X_test)
    return (model, identification_accuracy(y_test, predicted),
            np.mean((predicted - y_test) ** 2))


def test_deshrink_undoes_planted_shrinkage_and_mixing():
    coef = planted_shrinkage()
    _, id_none, mse_none = held_out_scores("none", coef, noise=0.5)
    _, id_std, mse_std = held_out_scores("standardize", coef, noise=0.5)
    deshrink, id_de, mse_de = held_out_scores("deshrink", coef, noise=0.5)
    # Measured: identification 0.84 / 0.96 / 1.00, squared error 2.8 / 0.63 / 0.21.
    assert id_de > id_std + 0.02 and id_std > id_none
    assert mse_de < 0.5 * mse_std and mse_std < mse_none
    # The map inverts the planted one, times the regression's shrinkage of each noisy
    # dimension: spread^2 / (spread^2 + noise^2), from 0.5 to 0.94 here.
    product = coef @ deshrink.calibration_coef_
    assert np.abs(product - np.diag(np.diag(product))).max() < 0.1
    spread = np.linspace(0.5, 2.0, 8)
    np.testing.assert_allclose(np.diag(product), spread**2 / (spread**2 + 0.25), atol=0.08)
    assert deshrink.method_ == "deshrink" and not hasattr(deshrink, "method_scores_")


def test_auto_picks_deshrink_where_it_helps():
    model, id_auto, _ = held_out_scores("auto", planted_shrinkage(), noise=0.5)
    assert model.method_ == "deshrink"
    assert (model.method_scores_["deshrink"] > model.method_scores_["standardize"]
            > model.method_scores_["none"])
    assert id_auto > 0.95


@pytest.mark.parametrize("noise", [0.5, 2.0])
def test_auto_keeps_a_simpler_map_where_calibration_cannot_help(noise):
    # Unbiased predictions: nothing to undo. With noise 2, de-shrinking lowers the squared
    # error but costs identification (measured 0.83 none, 0.77 deshrink); auto sees it.
    model, id_auto, _ = held_out_scores("auto", np.eye(8), noise=noise)
    assert model.method_ in ("none", "standardize")
    _, id_deshrink, mse_deshrink = held_out_scores("deshrink", np.eye(8), noise=noise)
    _, id_none, mse_none = held_out_scores("none", np.eye(8), noise=noise)
    assert id_auto >= id_deshrink
    if noise == 2.0:
        assert id_none > id_deshrink + 0.03 and mse_deshrink < mse_none


def test_shuffled_targets_control():
    X, y = noisy_copies(120, 0, noise=0.5)
    X_test, y_test = noisy_copies(60, 50, noise=0.5)
    shuffled = y[np.random.default_rng(1).permutation(120)]
    coef = planted_shrinkage()
    # The fixed decoder still separates test clips; a map learned from broken pairs must not.
    deshrink = CalibratedDecoder(FixedLinearDecoder(coef), method="deshrink").fit(X, shuffled)
    assert identification_accuracy(y_test, deshrink.predict(X_test)) == pytest.approx(
        0.5, abs=0.06)
    # A learning decoder of shuffled targets: every cross-validated score of auto at chance.
    auto = CalibratedDecoder(Ridge(alpha=1.0), method="auto").fit(X.reshape(120, -1),
                                                                  shuffled.reshape(120, -1))
    assert all(score == pytest.approx(0.5, abs=0.06) for score in auto.method_scores_.values())
    truthful = CalibratedDecoder(Ridge(alpha=1.0), method="auto").fit(X.reshape(120, -1),
                                                                      y.reshape(120, -1))
    assert all(score > 0.9 for score in truthful.method_scores_.values())


@pytest.mark.parametrize("method", ["none", "deshrink", "auto"])
def test_methods_keep_shapes_and_none_passes_through(method):
    responses, embeddings = make_problem(30, seed=11)
    model = CalibratedDecoder(decoder(), method=method, cv=3).fit(responses, embeddings)
    assert model.oof_predictions_.shape == embeddings.shape
    np.testing.assert_allclose(model.oof_predictions_,
                               cross_val_predict(decoder(), responses, embeddings, cv=KFold(3)))
    predicted = model.predict(responses[:5])
    assert predicted.shape == (5, 4, 3) and predicted.dtype == model.estimator_.predict(
        responses[:5]).dtype
    if method == "none":
        np.testing.assert_array_equal(predicted, model.estimator_.predict(responses[:5]))
    assert model.method_ in ("none", "standardize", "deshrink")


def test_calibrate_maps_other_predictions_like_predict():
    responses, embeddings = make_problem(30, seed=12)
    model = CalibratedDecoder(decoder(), cv=3).fit(responses, embeddings)
    raw = model.estimator_.predict(responses[:5])
    np.testing.assert_array_equal(model.calibrate(raw), model.predict(responses[:5]))
    # the training clips decoded out of fold, calibrated as held-out clips are
    expected = ((model.oof_predictions_ - model.oof_mean_) / model.oof_scale_
                * model.target_scale_ + model.target_mean_)
    np.testing.assert_allclose(model.calibrate(model.oof_predictions_), expected, rtol=1e-10)
    assert model.calibrate(raw.reshape(-1, 3)).shape == (20, 3)
    with pytest.raises(ValueError, match=r"\(n_samples, 3\)"):
        model.calibrate(raw[..., :2])


def test_inner_oof_fits_the_decoder_once_and_uses_its_cv_predictions(monkeypatch):
    responses, embeddings = make_problem(45, seed=13)
    fits = []
    fit = ROIEnsembleRidge.fit

    def counted(self, X, y, groups=None):
        fits.append(self.store_cv_predictions)
        return fit(self, X, y, groups=groups)

    monkeypatch.setattr(ROIEnsembleRidge, "fit", counted)
    model = CalibratedDecoder(decoder(n_rois=2), cv=3, oof="inner").fit(responses, embeddings)
    assert fits == [True]
    ridge = model.estimator_[-1]
    np.testing.assert_array_equal(model.oof_predictions_, ridge.cv_predictions_)
    flat = ridge.cv_predictions_.reshape(-1, 3).astype(np.float64)
    np.testing.assert_allclose(model.oof_scale_, flat.std(axis=0), rtol=1e-10)
    np.testing.assert_allclose(model.predict(responses[:5]),
                               model.calibrate(ridge.predict(
                                   TemporalWindowAligner().fit_transform(responses[:5]))))
    # The unfitted estimator is left as given (its clone stores the predictions).
    assert model.estimator[-1].store_cv_predictions is False
    # The nested default refits the decoder on every fold, then on all clips.
    fits.clear()
    CalibratedDecoder(decoder(n_rois=2), cv=3).fit(responses, embeddings)
    assert fits == [False] * 4


def test_inner_oof_shuffled_targets_control():
    responses, embeddings = make_problem(60, seed=14, d=8, noise=0.5)
    model = CalibratedDecoder(decoder(), cv=3, oof="inner")
    truthful = model.fit(responses, embeddings)
    assert identification_accuracy(embeddings, truthful.oof_predictions_) > 0.8
    # Broken pairs: a clip's own (shuffled) target never enters its out-of-fold prediction.
    shuffled = embeddings[np.random.default_rng(2).permutation(60)]
    control = clone(model).fit(responses, shuffled)
    assert identification_accuracy(shuffled, control.oof_predictions_) == pytest.approx(
        0.5, abs=0.1)


def test_inner_oof_of_a_frozen_decoder_uses_its_stored_predictions(monkeypatch):
    # A decoder fitted beforehand with its cross-validation predictions (e.g. jointly with
    # others) is not refitted: the calibration equals that of fitting it here.
    from sklearn.frozen import FrozenEstimator

    responses, embeddings = make_problem(45, seed=16)
    fitted = decoder(n_rois=2).set_params(roiensembleridge__store_cv_predictions=True).fit(
        responses, embeddings)
    fits = []
    fit = ROIEnsembleRidge.fit
    monkeypatch.setattr(ROIEnsembleRidge, "fit",
                        lambda self, *args, **kwargs: fits.append(1) or fit(self, *args,
                                                                              **kwargs))
    frozen = CalibratedDecoder(FrozenEstimator(fitted), cv=3, oof="inner").fit(
        responses, embeddings)
    assert fits == [] and frozen.estimator_ is fitted
    direct = CalibratedDecoder(decoder(n_rois=2), cv=3, oof="inner").fit(responses,
                                                                         embeddings)
    np.testing.assert_allclose(frozen.predict(responses[:5]), direct.predict(responses[:5]),
                               rtol=1e-6)
    with pytest.raises(ValueError, match="FrozenEstimator cannot be refitted"):
        CalibratedDecoder(FrozenEstimator(fitted), cv=3).fit(responses, embeddings)
    # A clone of a frozen decoder is the same fitted model: other targets are refused
    # rather than calibrated with the predictions of the first ones.
    with pytest.raises(ValueError, match="fitted on other targets than y"):
        clone(frozen).fit(responses, embeddings[::-1])
    plain = decoder(n_rois=2).fit(responses, embeddings)
    with pytest.raises(ValueError, match="no cv_predictions_: fit it with store_cv"):
        CalibratedDecoder(FrozenEstimator(plain), cv=3, oof="inner").fit(responses,
                                                                         embeddings)


@pytest.mark.parametrize("estimator, match", [
    (Ridge(), "oof='inner' needs a decoder that keeps its own cross-validation predictions"),
    (make_pipeline(TemporalWindowAligner(), Ridge()), "Pipeline has none"),
])
def test_inner_oof_needs_a_decoder_that_keeps_its_predictions(estimator, match):
    responses, embeddings = make_problem(12, seed=15)
    with pytest.raises(ValueError, match=match):
        CalibratedDecoder(estimator, cv=3, oof="inner").fit(responses, embeddings)
    with pytest.raises(ValueError, match="oof must be one of .*got 'nested'"):
        CalibratedDecoder(estimator, oof="nested").fit(responses, embeddings)

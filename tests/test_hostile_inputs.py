"""Hostile and careless inputs to the public API and the loaders (issue 13).

Every case asserts the exception type and the key words of its message, or equality with a
float64 reference computation: no case only checks that nothing crashed. The command line's
cases are in test_hostile_inputs_cli.py, the retriever's in test_hostile_inputs_retrieval.py.
"""

import json
import warnings
import zipfile

import nibabel as nib
import numpy as np
import pytest
import soundfile
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from skops.io import dump

from skbrainmusic import (
    AudioEmbedder,
    ROIEnsembleRidge,
    TemporalWindowAligner,
    VoxelwiseEncoder,
)
from skbrainmusic.datasets import (
    get_data_home,
    load_captions,
    load_gtzan_clips,
    load_nakai2022,
    make_synthetic_study,
    read_events,
)
from skbrainmusic.datasets._events import epoch_run
from skbrainmusic.metrics import (
    correlation_score,
    identification_accuracy,
    pearson_per_target,
    top_n_agreement_batch,
)
from skbrainmusic.persistence import UntrustedModelError, load_model, save_model
from skbrainmusic.ridge import ridge_fit
from skbrainmusic.tagging import AudioTagger, rank_classes, top_n_agreement_score


def _float64_correlations(T, P):
    """Reference: Pearson r of every prediction row with every target row, in float64 at
    a scale where nothing overflows (the data are given at scale 1)."""
    Tc = T - T.mean(axis=1, keepdims=True)
    Pc = P - P.mean(axis=1, keepdims=True)
    Tc /= np.linalg.norm(Tc, axis=1, keepdims=True)
    Pc /= np.linalg.norm(Pc, axis=1, keepdims=True)
    return Pc @ Tc.T


def _reference_identification(T, P):
    C = _float64_correlations(T, P)
    wins = (np.diag(C)[:, None] - C > 1e-12).sum(axis=1)
    return wins / (len(T) - 1)


# --------------------------------------------------------------------------------------
# Persistence: crafted .skops files (the attacks), bad files, the escape hatches
# --------------------------------------------------------------------------------------

def _craft(path, module, cls, args):
    """A .skops file whose schema builds ``module.cls(*args)`` when loaded: a harmless
    model is saved, then the skops schema JSON inside the zip is edited."""
    dump(FunctionTransformer(kw_args={"x": tuple(args)}), path)
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    schema = json.loads(files["schema.json"])
    kw_args = schema["content"]["content"]["kw_args"]["content"]
    kw_args["x"] = {"__class__": cls, "__module__": module,
                    "__loader__": "ConstructorFromReduceNode", "content": kw_args["x"],
                    "__id__": 1}
    files["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return path


_FILE_OPENERS = [
    ("scipy.io._fortran", "FortranFile", ["{victim}", "w"]),
    ("scipy.io", "FortranFile", ["{victim}", "w"]),
    ("numpy", "memmap", ["{victim}", "uint8", "w+", 0, (3,)]),
    ("numpy._core", "memmap", ["{victim}", "uint8", "w+", 0, (3,)]),
    ("numpy._core.memmap", "memmap", ["{victim}", "uint8", "w+", 0, (3,)]),
    ("numpy.core.memmap", "memmap", ["{victim}", "uint8", "w+", 0, (3,)]),
    ("_io", "FileIO", ["{victim}", "w"]),
    ("zipfile", "ZipFile", ["{victim}", "w"]),
    ("scipy.io._netcdf", "netcdf_file", ["{victim}", "w"]),
]


@pytest.mark.parametrize("trust", [False, True], ids=["default", "named-in-trusted"])
@pytest.mark.parametrize("module, cls, args", _FILE_OPENERS,
                         ids=[f"{m}.{c}" for m, c, _ in _FILE_OPENERS])
def test_crafted_file_opening_constructors_are_refused(tmp_path, module, cls, args, trust):
    victim = tmp_path / "thesis.txt"
    victim.write_text("precious")
    path = _craft(tmp_path / "model.skops", module, cls,
                  [a.format(victim=victim) if isinstance(a, str) else a for a in args])
    trusted = [f"{module}.{cls}"] if trust else []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # numpy.core is deprecated
        with pytest.raises(UntrustedModelError, match=rf"{module}\.{cls}"):
            load_model(path, trusted=trusted)
    assert victim.read_text() == "precious"


def _halve(X):
    return X / 2


def test_refusal_names_the_real_escape_hatch(tmp_path):
    path = save_model(FunctionTransformer(_halve), tmp_path / "f.skops")
    with pytest.raises(UntrustedModelError, match=r"load_model\(path, trusted=\[\.\.\.\]\)"):
        load_model(path)


def test_pickle_refusal_names_allow_pickle_not_a_missing_flag(tmp_path):
    path = save_model(Ridge(), tmp_path / "m.joblib", format="joblib")
    with pytest.raises(UntrustedModelError) as info:
        load_model(path)
    assert "allow_pickle=True" in str(info.value)
    assert "--allow-pickle" not in str(info.value)


def _zip_with(path, files):
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return path


@pytest.mark.parametrize("make, error, words", [
    (lambda p: p.mkdir() or p, IsADirectoryError, "is a folder, not a model file"),
    (lambda p: p.write_bytes(b"") and p or p, ValueError, "is empty"),
    (lambda p: p.write_text("not a zip") and p or p, ValueError, "not a zip archive"),
    (lambda p: _zip_with(p, {"readme.txt": "x"}), ValueError, "not a valid .skops"),
    (lambda p: _zip_with(p, {"schema.json": "{not json"}), ValueError, "not a valid .skops"),
    (lambda p: _zip_with(p, {"schema.json": "[]"}), ValueError, "not a valid .skops"),
], ids=["folder", "empty", "not-zip", "no-schema", "bad-json", "schema-not-object"])
def test_load_model_bad_files_have_clear_errors(tmp_path, make, error, words):
    path = make(tmp_path / "model.skops")
    with pytest.raises(error, match=words):
        load_model(path)


@pytest.mark.parametrize("trusted", ["numpy.memmap", [1], b"x"], ids=["str", "int", "bytes"])
def test_trusted_must_be_a_list_of_names(tmp_path, trusted):
    path = save_model(Ridge(), tmp_path / "m.skops")
    with pytest.raises(TypeError, match="trusted must be a list"):
        load_model(path, trusted=trusted)


def test_save_model_to_a_folder_is_refused(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a folder"):
        save_model(Ridge(), tmp_path)


def test_save_model_replaces_a_link_never_writes_through_it(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    (tmp_path / "m.skops").symlink_to(outside)
    save_model(Ridge(), tmp_path / "m.skops")
    assert outside.read_text() == "precious"
    assert isinstance(load_model(tmp_path / "m.skops"), Ridge)


# --------------------------------------------------------------------------------------
# Metrics and the tagger: NaN probabilities, unknown groups, extreme scales
# --------------------------------------------------------------------------------------

_CLASSES = ["Happy music", "Sad music", "Angry music"]
_PROBA = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]])


@pytest.mark.parametrize("true, pred", [
    (np.full((2, 3), np.nan), np.full((2, 3), np.nan)),
    (np.full((2, 3), np.nan), _PROBA),
    (_PROBA, np.where(np.eye(2, 3) > 0, np.nan, _PROBA)),
    (_PROBA, np.where(np.eye(2, 3) > 0, np.inf, _PROBA)),
    (np.where(np.eye(2, 3) > 0, -np.inf, _PROBA), _PROBA),
], ids=["all-nan", "nan-true", "nan-pred", "inf", "minus-inf"])
def test_top_n_agreement_refuses_nan_probabilities(true, pred):
    with pytest.raises(ValueError, match="NaN or infinity"):
        top_n_agreement_score(true, pred, classes=_CLASSES, group="moods")


@pytest.mark.parametrize("group", ["genre", "Moods", "", "instrument"])
def test_top_n_agreement_unknown_group_lists_the_groups(group):
    with pytest.raises(ValueError, match=r"group must be one of \['genres', 'instruments'"):
        top_n_agreement_score(_PROBA, _PROBA, classes=_CLASSES, group=group)


def test_rank_classes_refuses_nan():
    with pytest.raises(ValueError, match="NaN or infinity in 1 clip"):
        rank_classes(np.array([[0.1, np.nan, 0.2], [0.1, 0.2, 0.3]]), _CLASSES)


def test_top_n_agreement_batch_refuses_nan_scores():
    with pytest.raises(ValueError, match="NaN or infinity"):
        top_n_agreement_batch(np.full((2, 3), np.nan), _PROBA, 1)


def test_tagger_refuses_empty_label_lists():
    audio = np.random.default_rng(0).standard_normal((4, 800))
    loudness = lambda audio, sample_rate: np.abs(audio).mean(axis=1, keepdims=True)  # noqa: E731
    with pytest.raises(ValueError, match="Every label list is empty"):
        AudioTagger(embedder=loudness).fit(audio, [[], [], [], []], sample_rate=8000)


@pytest.fixture(scope="module")
def embeddings():
    rng = np.random.default_rng(0)
    T = rng.standard_normal((12, 16))
    return T, T + 1.5 * rng.standard_normal((12, 16))


@pytest.mark.parametrize("scale", [1e200, 1e-200, 1e30, 1e-30, 1e300, 1e-300])
def test_identification_is_scale_free(embeddings, scale):
    T, P = embeddings
    expected = _reference_identification(T, P)
    np.testing.assert_array_equal(
        identification_accuracy(T * scale, P * scale, average=False), expected)


def test_identification_rows_of_mixed_scales(embeddings):
    T, P = embeddings
    row_scales = 10.0 ** np.linspace(-250, 250, len(T))[:, None]
    np.testing.assert_array_equal(
        identification_accuracy(T * row_scales, P * row_scales[::-1], average=False),
        _reference_identification(T, P))


@pytest.mark.parametrize("scale", [1e200, 1e-200, 1e-30, 1e30])
def test_correlations_are_scale_free(embeddings, scale):
    T, P = embeddings
    Tc, Pc = T - T.mean(0), P - P.mean(0)
    expected = (Tc * Pc).sum(0) / np.sqrt((Tc**2).sum(0) * (Pc**2).sum(0))
    np.testing.assert_allclose(pearson_per_target(T * scale, P * scale), expected, rtol=1e-12)
    assert correlation_score(T * scale, P) == pytest.approx(expected.mean(), rel=1e-12)


@pytest.mark.parametrize("y_true, y_pred, error, words", [
    (np.full((3, 4), np.nan), np.ones((3, 4)), ValueError, "NaN or infinity"),
    (np.ones((3, 4)), np.full((3, 4), np.inf), ValueError, "NaN or infinity"),
    (np.ones((3, 4)), np.ones((3, 5)), ValueError, "same shape"),
    (np.ones(4), np.ones(4), ValueError, "2-D"),
    (np.ones((2, 2, 2, 2)), np.ones((2, 2, 2, 2)), ValueError, "3-D"),
    (np.array([["a", "b"], ["c", "d"]]), np.ones((2, 2)), TypeError, "numeric"),
    (np.ones((1, 4)), np.ones((1, 4)), ValueError, "at least 2 items"),
    (np.ones((3, 4)), np.arange(12.0).reshape(3, 4), ValueError, "constant row"),
], ids=["nan", "inf", "shapes", "1d", "4d", "strings", "one-item", "constant"])
def test_identification_bad_inputs(y_true, y_pred, error, words):
    with pytest.raises(error, match=words):
        identification_accuracy(y_true, y_pred)


@pytest.mark.parametrize("groups, words", [
    (["a", "b", "c"], "No group of groups has two items"),
    (["a", "a"], "one entry per item"),
])
def test_identification_bad_groups(embeddings, groups, words):
    T, P = embeddings
    with pytest.raises(ValueError, match=words):
        identification_accuracy(T[:3], P[:3], groups=groups)


# --------------------------------------------------------------------------------------
# TemporalWindowAligner: clips of another length, 4-D input, GridSearchCV over delay
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("fit_scans, transform_scans, params, words", [
    (10, 20, {}, r"clips of 20 scans.*fitted on clips of 10"),
    (10, 12, {}, r"clips of 12 scans.*fitted on clips of 10"),
    (12, 14, {"delay": 3.0}, r"clips of 14 scans.*fitted on clips of 12"),
    (12, 10, {"delay": 3.0}, r"needs 12 scans.*2 trailing"),
    (10, 20, {"clip_duration": None}, r"clips of 20 scans.*fitted on clips of 10"),
], ids=["longer", "trailing", "delay-longer", "delay-shorter", "inferred-duration"])
def test_aligner_refuses_clips_of_another_length(fit_scans, transform_scans, params, words):
    aligner = TemporalWindowAligner(**params).fit(np.zeros((2, fit_scans, 3)))
    with pytest.raises(ValueError, match=words):
        aligner.transform(np.ones((2, transform_scans, 3)))


@pytest.mark.parametrize("fit_shape, transform_shape, words", [
    ((6, 3), (2, 10, 3), r"clips of 10 scans.*fitted on clips of 1 scan"),
    ((2, 10, 3), (6, 3), r"2-D input.*fitted on clips of 10"),
], ids=["2d-then-3d", "3d-then-2d"])
def test_aligner_refuses_switching_between_2d_and_3d(fit_shape, transform_shape, words):
    aligner = TemporalWindowAligner().fit(np.zeros(fit_shape))
    with pytest.raises(ValueError, match=words):
        aligner.transform(np.ones(transform_shape))


@pytest.mark.parametrize("shape", [(2, 10, 3, 2), (1, 2, 10, 3, 1)])
@pytest.mark.parametrize("method", ["fit", "transform"])
def test_aligner_names_the_shapes_it_accepts(shape, method):
    aligner = TemporalWindowAligner()
    if method == "transform":
        aligner.fit(np.zeros((2, 10, 3)))
    with pytest.raises(ValueError, match=r"3-D \(n_clips, n_scans, n_voxels\) or 2-D"):
        getattr(aligner, method)(np.zeros(shape))


@pytest.mark.parametrize("estimator", [
    ROIEnsembleRidge(None, n_rois=1, cv=2), VoxelwiseEncoder(cv=2),
], ids=["roi-ridge", "encoder"])
def test_estimators_name_the_shapes_they_accept(estimator):
    with pytest.raises(ValueError, match=r"2-D \(n_samples, n_features\) or 3-D"):
        estimator.fit(np.zeros((4, 2, 3, 2)), np.zeros((4, 2, 1)))


def test_grid_search_over_delay_still_works():
    rng = np.random.default_rng(0)
    n_clips, n_scans = 24, 12
    signal = rng.standard_normal((n_clips, n_scans))
    R = np.repeat(signal[:, :, None], 6, axis=2) + 0.1 * rng.standard_normal((n_clips, n_scans,
                                                                              6))
    # targets follow the scans 2 scans (3 s) later than the clip: delay=3.0 must win
    windows = TemporalWindowAligner(delay=3.0).fit_transform(signal[:, :, None])
    pipe = make_pipeline(TemporalWindowAligner(), ROIEnsembleRidge(None, n_rois=1, cv=3))
    search = GridSearchCV(pipe, {"temporalwindowaligner__delay": [0.0, 1.5, 3.0]},
                          cv=KFold(3)).fit(R, windows)
    manual = [make_pipeline(TemporalWindowAligner(delay=d), ROIEnsembleRidge(
        None, n_rois=1, cv=3)) for d in (0.0, 1.5, 3.0)]
    scores = [np.mean([m.fit(R[tr], windows[tr]).score(R[te], windows[te])
                       for tr, te in KFold(3).split(R)]) for m in manual]
    assert search.best_params_ == {"temporalwindowaligner__delay": 3.0}
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], scores, rtol=1e-12)


@pytest.mark.parametrize("params, error, words", [
    ({"delay": -1.5}, ValueError, "delay must be a finite number of seconds >= 0"),
    ({"window": 20.0}, ValueError, "longer than the clip"),
    ({"step": 0.0}, ValueError, "step must be a finite number of seconds > 0"),
    ({"tr": float("nan")}, ValueError, "tr must be a finite number"),
    ({"window": "10"}, TypeError, "window must be a number of seconds"),
], ids=["negative-delay", "long-window", "zero-step", "nan-tr", "string-window"])
def test_aligner_bad_geometry(params, error, words):
    with pytest.raises(error, match=words):
        TemporalWindowAligner(**params).fit(np.zeros((2, 10, 3)))


@pytest.mark.parametrize("value", [np.nan, np.inf, 3e38])
def test_aligner_non_finite_windows(value):
    R = np.zeros((2, 10, 3), np.float32)
    R[1, 2, 1] = value
    if value == 3e38:
        R[1, 3, 1] = value  # two huge scans in one window overflow float32 sums
    with pytest.raises(ValueError, match=r"NaN or infinity .* in clips 0\.\.1"):
        TemporalWindowAligner().fit_transform(R)


# --------------------------------------------------------------------------------------
# Ridge decoders and encoders at extreme scales, against float64 references
# --------------------------------------------------------------------------------------

_ALPHAS = np.logspace(-1, 4, 6)


@pytest.fixture(scope="module")
def decoding():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(6), 10)
    X = rng.standard_normal((40, 2, 60))
    W = np.zeros((60, 3))
    W[20:30] = rng.standard_normal((10, 3))
    W[40:50] = rng.standard_normal((10, 3))
    Y = X @ W + 0.5 * rng.standard_normal((40, 2, 3))
    reference = ROIEnsembleRidge(labels, n_rois=2, alphas=_ALPHAS, cv=4,
                                 dtype="float64").fit(X, Y)
    return labels, X, Y, reference


def _assert_same_decoder(model, reference, X, x_scale, y_scale):
    np.testing.assert_array_equal(model.selected_rois_, reference.selected_rois_)
    np.testing.assert_allclose(model.roi_scores_, reference.roi_scores_, atol=1e-5)
    prediction = np.asarray(model.predict(X * x_scale), dtype=np.float64) / y_scale
    np.testing.assert_allclose(prediction, reference.predict(X), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("scale", [1e19, 1e25, 1e-25, 1e35])
def test_roi_ridge_inputs_at_extreme_scales(decoding, scale):
    labels, X, Y, reference = decoding
    # the same problem: penalties follow X's squared scale
    model = ROIEnsembleRidge(labels, n_rois=2, alphas=_ALPHAS * scale**2, cv=4).fit(X * scale,
                                                                                  Y)
    _assert_same_decoder(model, reference, X, scale, 1.0)


@pytest.mark.parametrize("scale", [1e19, 1e30, 1e-30, 1e-19])
def test_roi_ridge_targets_at_extreme_scales(decoding, scale):
    labels, X, Y, reference = decoding
    model = ROIEnsembleRidge(labels, n_rois=2, alphas=_ALPHAS, cv=4).fit(X, Y * scale)
    _assert_same_decoder(model, reference, X, 1.0, scale)


def test_roi_ridge_huge_inputs_in_float64(decoding):
    labels, X, Y, _ = decoding
    scale = 1e19
    model = ROIEnsembleRidge(labels, n_rois=2, alphas=_ALPHAS, cv=4, dtype="float64").fit(
        X * scale, Y)
    reference = ROIEnsembleRidge(labels, n_rois=2, alphas=_ALPHAS / scale**2, cv=4,
                                 dtype="float64").fit(X, Y)
    _assert_same_decoder(model, reference, X, scale, 1.0)


@pytest.mark.parametrize("estimator", [
    ROIEnsembleRidge(np.repeat(np.arange(6), 10), n_rois=2, cv=4), VoxelwiseEncoder(cv=4),
], ids=["roi-ridge", "encoder"])
def test_vanishing_penalties_are_an_error_not_nan(decoding, estimator):
    _, X, Y, _ = decoding
    with pytest.raises(ValueError, match=r"alpha=0\.1 is below what float32 resolves"):
        estimator.fit(X * 1e19, Y if isinstance(estimator, ROIEnsembleRidge) else X[..., :3])


def test_screened_roi_ridge_at_1e200(decoding):
    _, X, Y, _ = decoding
    params = dict(n_rois=1, screen_voxels=25, alphas=_ALPHAS, cv=4, dtype="float64")
    reference = ROIEnsembleRidge(None, **params).fit(X, Y)
    model = ROIEnsembleRidge(None, **params).fit(X, Y * 1e200)
    np.testing.assert_array_equal(model.voxel_indices_[0], reference.voxel_indices_[0])
    np.testing.assert_allclose(model.predict(X) / 1e200, reference.predict(X), rtol=1e-6)


@pytest.fixture(scope="module")
def encoding():
    rng = np.random.default_rng(1)
    E = rng.standard_normal((40, 2, 5))
    V = E @ rng.standard_normal((5, 30)) + rng.standard_normal((40, 2, 30))
    return E, V, VoxelwiseEncoder(alphas=_ALPHAS, cv=4, dtype="float64").fit(E, V)


@pytest.mark.parametrize("which, scale", [("targets", 1e19), ("targets", 1e30),
                                          ("inputs", 1e19), ("inputs", 1e30),
                                          ("targets", 1e-30), ("inputs", 1e-25)])
def test_encoder_at_extreme_scales(encoding, which, scale):
    E, V, reference = encoding
    if which == "targets":
        model = VoxelwiseEncoder(alphas=_ALPHAS, cv=4).fit(E, V * scale)
        prediction = model.predict(E) / scale
    else:
        model = VoxelwiseEncoder(alphas=_ALPHAS * scale**2, cv=4).fit(E * scale, V)
        prediction = model.predict(E * scale)
    expected = reference.predict(E)
    np.testing.assert_allclose(prediction, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


@pytest.fixture(scope="module")
def dual_problem():
    """More voxels than samples, and the float64 reference at scale 1: the minimum-norm
    least-squares prediction (the penalties below are under 1e-11 of the kernel's smallest
    eigenvalue, ~320, so the ridge solution equals it to 1e-11)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 1500))
    Y = X @ rng.standard_normal((1500, 3)) / 10 + rng.standard_normal((400, 3))
    X_test = rng.standard_normal((20, 1500))
    weights = np.linalg.pinv(X - X.mean(0)) @ (Y - Y.mean(0))
    return X, Y, X_test, (X_test - X.mean(0)) @ weights + Y.mean(0)


@pytest.mark.parametrize("scale", [1e5, 1e7, 1e10, 1e15])
def test_dual_ridge_with_penalties_below_float32_resolution(dual_problem, scale):
    # The centred kernel's constant null direction used to divide round-off by a tiny alpha
    # (errors of 1e10 relative at scale 1e10).
    X, Y, X_test, expected = dual_problem
    coef, intercept = ridge_fit(X * scale, Y, 0.1)
    predicted = (X_test * scale) @ coef.astype(np.float64) + intercept
    np.testing.assert_allclose(predicted, expected, rtol=0, atol=1e-4 * np.abs(expected).max())


@pytest.mark.parametrize("labels, error, words", [
    (np.array([1, "a"] * 30, dtype=object), TypeError, "mixes label types"),
    (np.array([1.0, np.nan] * 30), ValueError, "NaN or infinity"),
    (np.array([1, 2] * 29), ValueError, "roi_labels has 58 entries"),
], ids=["mixed", "nan", "length"])
def test_roi_labels_errors(decoding, labels, error, words):
    _, X, Y, _ = decoding
    with pytest.raises(error, match=words):
        ROIEnsembleRidge(labels, n_rois=1, cv=4).fit(X, Y)


# --------------------------------------------------------------------------------------
# Events, epoching, GTZAN, captions, atlases
# --------------------------------------------------------------------------------------

_HEADER = "onset\tduration\tgenre\ttrack\tstart\tend\n"


@pytest.mark.parametrize("row, words", [
    ("-15\t15\tjazz\t3\t0\t15", "onset -15.0 must be a finite number of seconds >= 0"),
    ("nan\t15\tjazz\t3\t0\t15", "onset nan must be a finite"),
    ("inf\t15\tjazz\t3\t0\t15", "onset inf must be a finite"),
    ("0\t15\tjazz\t-3\t0\t15", "track -3 must be a GTZAN file number"),
    ("0\t15\tjazz\t3\tnan\t15", "start nan must be a finite"),
    ("0\t15\tjazz\t3\t-2\t13", "start -2.0 must be a finite"),
    ("0\tnan\tjazz\t3\t0\t15", "duration nan must be a finite"),
    ("0\t15\tjazz\t3\t15\t0", "the clip is empty"),
    ("0\t0\tjazz\t3\t0\t15", "the clip is empty"),
    ("abc\t15\tjazz\t3\t0\t15", "could not convert string to float"),
    ("0\t15\tjazz\t3.5\t0\t15", "invalid literal for int"),
    ("0\t15\tjazz\t3\t0", "5 fields where the header has 6"),
], ids=["negative-onset", "nan-onset", "inf-onset", "negative-track", "nan-start",
        "negative-start", "nan-duration", "end-before-start", "zero-duration", "text-onset",
        "fractional-track", "short-row"])
def test_events_rows_that_would_select_other_data(tmp_path, row, words):
    path = tmp_path / "sub-001_task-Training_run-01_events.tsv"
    path.write_text(_HEADER + "0\t15\tblues\t1\t0\t15\n" + row + "\n")
    with pytest.raises(ValueError, match=rf"{path.name}, line 3: .*{words}"):
        read_events(path)


@pytest.mark.parametrize("onsets, kwargs, words", [
    ([0.0, -15.0], {}, r"onsets must be finite and >= 0 s.*got -15\.0 for clip 1"),
    ([0.0, np.nan], {}, "onsets must be finite"),
    ([0.0, 15.0], {"n_trailing_scans": -1}, "n_trailing_scans must be an int >= 0"),
    ([0.0, 30.0], {}, "needs scans up to 30 but the run has 20"),
], ids=["negative", "nan", "negative-trailing", "past-the-end"])
def test_epoching_never_wraps_around(onsets, kwargs, words):
    run = np.arange(20.0)[:, None] * np.ones((1, 3))
    with pytest.raises(ValueError, match=words):
        epoch_run(run, onsets, **kwargs)


def _tone_file(path, seconds=20.0, rate=8000):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    soundfile.write(path, 0.3 * np.sin(2 * np.pi * 440 * t), rate)


@pytest.mark.parametrize("track, start, words", [
    (1, -5.0, "start -5.0"),
    (1, np.nan, "start nan"),
    (1, np.inf, "start inf"),
    (-1, 0.0, "track -1"),
    (1.5, 0.0, "track 1.5"),
    (np.nan, 0.0, "track nan"),
], ids=["negative-start", "nan-start", "inf-start", "negative-track", "fractional-track",
        "nan-track"])
def test_gtzan_clips_refuse_impossible_rows(tmp_path, track, start, words):
    import pandas as pd

    _tone_file(tmp_path / "jazz" / "jazz.00001.wav")
    clips = pd.DataFrame({"genre": ["jazz"], "track": [track], "start": [start]})
    with pytest.raises(ValueError, match=rf"clips row 0: .*{words}"):
        load_gtzan_clips(tmp_path, clips, sample_rate=8000, clip_duration=5.0)


def test_gtzan_error_lists_every_bad_file_on_one_line(tmp_path):
    import pandas as pd

    (tmp_path / "jazz").mkdir()
    (tmp_path / "jazz" / "jazz.00002.wav").write_bytes(b"RIFF broken")
    clips = pd.DataFrame({"genre": ["jazz", "jazz", "pop"], "track": [1, 2, 3],
                          "start": [0.0, 0.0, 0.0]})
    with pytest.raises(ValueError) as info:
        load_gtzan_clips(tmp_path, clips, sample_rate=8000, clip_duration=5.0)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("3 GTZAN file(s) could not be used: ")
    for name in ("jazz.00001.wav/.au: missing", "jazz.00002.wav: unreadable",
                 "pop.00003.wav/.au: missing"):
        assert name in message


@pytest.mark.parametrize("content, words", [
    (b"", "is empty"),
    (b"   \n\n", "is empty"),
    (b"\xff\xfe\x00garbage\x00", "Cannot read the caption file"),
    (b"id,text\nblues.00000_15s,x\n", "expected the Brain2Music header"),
    (b"ID,DescEN\nblues_00017,x\n", "is not of the form"),
], ids=["zero-bytes", "blank", "binary", "header", "bad-id"])
def test_caption_files_name_their_path(tmp_path, content, words):
    path = tmp_path / "brain2music-captions.csv"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=words) as info:
        load_captions(path)
    assert str(path) in str(info.value)


def _mini_bids(root, onsets=(0.0, 15.0, 30.0)):
    """One training and one test run of three 15 s clips on a 2x2x2 grid (30 volumes)."""
    func = root / "sub-001" / "func"
    func.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for task, tracks in (("Training", (1, 2, 3)), ("Test", (4, 5, 5))):
        rows = [f"{o:g}\t15\tjazz\t{t}\t0\t15" for o, t in zip(onsets, tracks)]
        (func / f"sub-001_task-{task}_run-01_events.tsv").write_text(
            _HEADER + "\n".join(rows) + "\n")
        data = (1000 + rng.standard_normal((2, 2, 2, 30))).astype(np.float32)
        nib.save(nib.Nifti1Image(data, np.eye(4)),
                 func / f"sub-001_task-{task}_run-01_bold.nii")
    return root


def test_mini_bids_loads(tmp_path):
    study = load_nakai2022(_mini_bids(tmp_path))
    assert study.responses_train.shape == (2, 10, 8)


def test_negative_onset_in_bids_events_names_the_file(tmp_path):
    root = _mini_bids(tmp_path, onsets=(0.0, -15.0, 15.0))
    with pytest.raises(ValueError, match=r"Training_run-01_events\.tsv, line 3: onset -15"):
        load_nakai2022(root)


@pytest.mark.parametrize("labels", [[2, 41, 42, 3, 0, 0, 0, 0], [0] * 8, [1035, 2035] * 4],
                         ids=["aseg", "empty", "aparc-dkt"])
def test_atlas_without_destrieux_labels_says_which_are_expected(tmp_path, labels):
    root = _mini_bids(tmp_path)
    atlas = nib.Nifti1Image(np.asarray(labels, np.int32).reshape(2, 2, 2), np.eye(4))
    with pytest.raises(ValueError, match=r"no voxel with a Destrieux cortical label "
                                         r"\(11100-11175 left, 12100-12175 right"):
        load_nakai2022(root, atlas_img=atlas)


@pytest.mark.parametrize("content, name", [
    (b"this is not audio", "notes.txt"),
    (b"", "empty.wav"),
    (b"RIFF\x00\x00\x00\x00WAVEjunk", "broken.wav"),
], ids=["text", "empty", "broken-wav"])
def test_audio_embedder_names_unreadable_files(tmp_path, content, name):
    path = tmp_path / name
    path.write_bytes(content)
    embedder = AudioEmbedder(window=1.5, sample_rate=8000, clip_duration=3.0,
                             standardize=False).fit()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # librosa's audioread fallback is deprecated
        with pytest.raises(ValueError, match=rf"Cannot read the audio file .*{name}.*: it is "
                                             "missing, not audio"):
            embedder.transform([path])


def test_audio_embedder_missing_file(tmp_path):
    embedder = AudioEmbedder(window=1.5, sample_rate=8000, clip_duration=3.0,
                             standardize=False).fit()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="Cannot read the audio file .*missing.wav"):
            embedder.transform([tmp_path / "missing.wav"])


# --------------------------------------------------------------------------------------
# The embedding cache: detect, warn naming the file, rebuild
# --------------------------------------------------------------------------------------

@pytest.fixture
def cached_embedder(tmp_path):
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal((2, 3 * 8000))).astype(np.float32)
    embedder = AudioEmbedder(window=1.5, sample_rate=8000, clip_duration=3.0,
                             cache=tmp_path / "embedding_cache", standardize=False).fit()
    fresh = embedder.transform(audio)
    files = sorted((tmp_path / "embedding_cache").rglob("*.npy"))
    assert len(files) == 2
    return embedder, audio, fresh, files


@pytest.mark.parametrize("damage", ["truncate", "other-values", "flip-byte", "empty"])
def test_damaged_embedding_cache_files_are_rebuilt_with_a_warning(cached_embedder, damage):
    embedder, audio, fresh, files = cached_embedder
    path = files[0]
    content = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(content[: len(content) // 2])
    elif damage == "other-values":  # values changed and saved back with numpy
        np.save(path, np.load(path) + 1.0)
    elif damage == "flip-byte":
        path.write_bytes(content[:-20] + bytes([content[-20] ^ 0x10]) + content[-19:])
    else:
        path.write_bytes(b"")
    with pytest.warns(RuntimeWarning, match=rf"{path.name} is corrupt.*rebuilding"):
        again = embedder.transform(audio)
    np.testing.assert_array_equal(again, fresh)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # rebuilt: read back silently
        np.testing.assert_array_equal(embedder.transform(audio), fresh)


# --------------------------------------------------------------------------------------
# Data home
# --------------------------------------------------------------------------------------

def test_data_home_that_is_a_file(tmp_path):
    blocker = tmp_path / "data"
    blocker.write_text("")
    with pytest.raises(NotADirectoryError, match=r"is a file\. Give a folder"):
        get_data_home(blocker / "cache")


def test_empty_data_home():
    with pytest.raises(ValueError, match="data_home is an empty path"):
        get_data_home("  ")


def test_synthetic_study_in_a_file_data_home_fails_before_work(tmp_path):
    blocker = tmp_path / "data"
    blocker.write_text("")
    with pytest.raises(NotADirectoryError, match="is a file"):
        make_synthetic_study(n_train_runs=1, n_test_runs=1, n_voxels=150, n_corpus=0,
                             data_home=blocker)


@pytest.mark.skipif(not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid() == 0,
                    reason="root writes into read-only folders")
def test_read_only_data_home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o555)
    try:
        with pytest.raises(PermissionError, match="give a writable folder"):
            make_synthetic_study(n_train_runs=1, n_test_runs=1, n_voxels=150, n_corpus=0,
                                 data_home=home)
    finally:
        home.chmod(0o755)

"""skbrainmusic.persistence: round trips, the exact allowlist, pickles only on request.

The attacks (crafted .skops files that would open files when loaded) are in
tests/test_hostile_inputs.py.
"""

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, GroupKFold, LeaveOneGroupOut
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from skops.io import get_untrusted_types

from skbrainmusic import (
    AudioEmbedder,
    AudioTagger,
    ConditionedGenerator,
    Corpus,
    EmbeddingRetriever,
    LeaveOneGenreOut,
    ROIEnsembleRidge,
    TemporalWindowAligner,
    VoxelwiseEncoder,
)
from skbrainmusic.calibration import CalibratedDecoder
from skbrainmusic.generation import SpectrogramBackend
from skbrainmusic.metrics import correlation_scorer, identification_scorer
from skbrainmusic.persistence import (
    UntrustedModelError,
    _trusted_names,
    load_model,
    save_model,
    trusted_types,
)


def _double(X):
    return 2 * X


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    R = rng.standard_normal((24, 10, 30)).astype(np.float32)
    E = rng.standard_normal((24, 4, 5)).astype(np.float32)
    return R, E, np.repeat(np.arange(3), 10)


def _decoder(labels, **ridge):
    return make_pipeline(TemporalWindowAligner(),
                         ROIEnsembleRidge(labels, n_rois=2, cv=3, **ridge))


# Every public estimator in its typical configurations (and the meta-estimators that hold
# them): all must load with no extra trust, so the allowlist covers what the package saves.
def _models(data):
    R, E, labels = data
    corpus = {"embeddings": np.random.default_rng(1).standard_normal((12, 5)),
              "ids": np.arange(12)}
    groups = np.arange(24) % 3
    return {
        "decoder": (_decoder(labels), R, E, {}),
        "decoder_standardized": (_decoder(labels, standardize=True, store_cv_scores=True),
                                 R, E, {}),
        "screened_whole_brain": (ROIEnsembleRidge(None, n_rois=1, screen_voxels=8, cv=3),
                                 R[:, 0], E[:, 0], {}),
        "calibrated": (CalibratedDecoder(_decoder(labels), cv=3), R, E, {}),
        "encoder": (VoxelwiseEncoder(cv=3), E, R[:, :4], {}),
        "decode_and_retrieve": (make_pipeline(TemporalWindowAligner(), ROIEnsembleRidge(
            labels, n_rois=2, cv=3), EmbeddingRetriever(corpus)), R, E, {}),
        "grid_identification": (GridSearchCV(_decoder(labels), {
            "roiensembleridge__n_rois": [1, 2]}, cv=3,
            scoring=identification_scorer), R, E, {}),
        "grid_groups_two_scores": (GridSearchCV(_decoder(labels), {
            "temporalwindowaligner__window": [10.0]}, cv=GroupKFold(3),
            scoring={"i": identification_scorer, "c": correlation_scorer}, refit="i"),
            R, E, {"groups": groups}),
        "ridge_logo": (ROIEnsembleRidge(labels, n_rois=2, cv=LeaveOneGroupOut()),
                       R[:, 0], E[:, 0], {"groups": groups}),
    }


MODEL_NAMES = ["decoder", "decoder_standardized", "screened_whole_brain", "calibrated",
               "encoder", "decode_and_retrieve", "grid_identification",
               "grid_groups_two_scores", "ridge_logo"]


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_typical_models_load_without_extra_trust(data, name, tmp_path):
    model, X, y, fit_params = _models(data)[name]
    model.fit(X, y, **fit_params)
    path = save_model(model, tmp_path / f"{name}.skops")
    implicit, untrusted = trusted_types(path)
    assert untrusted == []
    assert set(implicit) <= _trusted_names()
    np.testing.assert_array_equal(load_model(path).predict(X), model.predict(X))


@pytest.mark.parametrize("backend", ["librosa", "mel", "modulation"])
def test_offline_embedders_and_tagger_load_without_extra_trust(tmp_path, backend):
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal((6, 3 * 8000))).astype(np.float32)
    embedder = AudioEmbedder(backend=backend, window=1.5, sample_rate=8000, clip_duration=3.0)
    tagger = AudioTagger(embedder=embedder).fit(
        audio, [["Happy music"], ["Sad music"]] * 3, sample_rate=8000)
    path = save_model(tagger, tmp_path / "tagger.skops")
    assert trusted_types(path)[1] == []
    np.testing.assert_array_equal(load_model(path).predict_proba(audio, sample_rate=8000),
                                  tagger.predict_proba(audio, sample_rate=8000))


def test_generator_loads_without_extra_trust(tmp_path):
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal((6, 2 * 8000))).astype(np.float32)
    E = rng.standard_normal((6, 5))
    corpus = Corpus(E, audio=audio, sample_rate=8000)
    generator = ConditionedGenerator(SpectrogramBackend(n_iter=4), corpus=corpus,
                                     random_state=0).fit()
    path = save_model(generator, tmp_path / "generator.skops")
    assert trusted_types(path)[1] == []
    np.testing.assert_array_equal(load_model(path).predict(E[:2]), generator.predict(E[:2]))


def test_unfitted_splitter_of_the_package_loads(tmp_path):
    path = save_model(ROIEnsembleRidge(None, cv=LeaveOneGenreOut()), tmp_path / "m.skops")
    assert isinstance(load_model(path).cv, LeaveOneGenreOut)


def test_allowlist_is_exact_classes_and_scorer_functions():
    names = _trusted_names()
    assert all(name.count(".") >= 2 for name in names)  # qualified names, never modules
    assert not any(name.startswith(("numpy", "scipy")) for name in names)
    package = {name for name in names if name.startswith("skbrainmusic.")}
    assert package >= {"skbrainmusic.alignment.TemporalWindowAligner",
                       "skbrainmusic.ridge._roi_ensemble.ROIEnsembleRidge",
                       "skbrainmusic.calibration.CalibratedDecoder",
                       "skbrainmusic.encoding._voxelwise.VoxelwiseEncoder",
                       "skbrainmusic.retrieval.EmbeddingRetriever",
                       "skbrainmusic.metrics.identification_accuracy"}


def test_skops_roundtrip_predicts_identically(tmp_path, rng):
    X, y = rng.standard_normal((30, 5)), rng.standard_normal(30)
    model = make_pipeline(StandardScaler(), Ridge(alpha=0.5)).fit(X, y)
    path = save_model(model, tmp_path / "model.skops")
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_untrusted_function_is_refused_until_named(tmp_path, rng):
    X = rng.standard_normal((10, 3))
    model = FunctionTransformer(_double).fit(X)
    path = save_model(model, tmp_path / "func.skops")
    with pytest.raises(UntrustedModelError, match=r"test_persistence\._double"):
        load_model(path)
    name = f"{__name__}._double"
    assert get_untrusted_types(file=path) == [name]
    loaded = load_model(path, trusted=[name])
    np.testing.assert_array_equal(loaded.transform(X), 2 * X)


def test_numpy_functions_are_not_trusted_implicitly(tmp_path, rng):
    # Classes of trusted packages load; their functions could be called by the model later.
    path = save_model(FunctionTransformer(np.load), tmp_path / "load.skops")
    with pytest.raises(UntrustedModelError, match="numpy.load"):
        load_model(path)


def test_memmaps_are_not_trusted_implicitly(tmp_path, rng):
    # A model that kept a memory-mapped parameter would reopen a file when loaded.
    data = np.lib.format.open_memmap(tmp_path / "labels.npy", mode="w+", dtype=np.int64,
                                     shape=(4,))
    data[:] = [1, 1, 2, 2]
    model = FunctionTransformer(kw_args={"labels": data})
    path = save_model(model, tmp_path / "memmap.skops")
    with pytest.raises(UntrustedModelError, match="memmap"):
        load_model(path)


def test_pickles_only_on_request(tmp_path, rng):
    X, y = rng.standard_normal((20, 3)), rng.standard_normal(20)
    model = Ridge().fit(X, y)
    path = save_model(model, tmp_path / "model.joblib", format="joblib")
    with pytest.raises(UntrustedModelError, match=r"load_model\(path, allow_pickle=True\)"):
        load_model(path)
    np.testing.assert_array_equal(load_model(path, allow_pickle=True).predict(X),
                                  model.predict(X))
    with pytest.raises(ValueError, match="format must be one of"):
        save_model(model, tmp_path / "m.bin", format="pickle")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_model(tmp_path / "missing.skops")


def test_save_is_atomic_and_replaces_what_it_wrote(tmp_path, rng):
    X, y = rng.standard_normal((20, 3)), rng.standard_normal(20)
    path = save_model(Ridge(alpha=1.0).fit(X, y), tmp_path / "m.skops")
    save_model(Ridge(alpha=1e3).fit(X, y), path)
    assert load_model(path).alpha == 1e3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.skops"]  # no temporary left

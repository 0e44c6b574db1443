"""skbrainmusic.experiments: the paper's study on data Bunches, its statistics, and the demo's
numbers (the tiny-scale fixtures saved before the library owned the study)."""

import functools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _mini_study import CLIP, GENRES, RATE, make_mini_study
from _tiny_models import (
    DIFFUSION_EMBEDDING_DIM,
    tiny_ast,
    tiny_clap,
    tiny_diffusion_components,
    tiny_diffusion_pipeline,
)

from skbrainmusic import AudioEmbedder, ConditionedGenerator
from skbrainmusic.experiments import (
    EmbeddingSpec,
    StimulusFeatures,
    SyntheticStudies,
    clip_labels,
    run_demo,
    run_experiment,
)
from skbrainmusic.experiments import _statistics as stats
from skbrainmusic.generation import DiffusionBackend, SpectrogramBackend
from skbrainmusic.metrics import correlation_score, identification_accuracy
from skbrainmusic.tagging import top_n_agreement_score

FIXTURES = Path(__file__).resolve().parent / "data"


def mel_spec(key="mel", window=1.5):
    return EmbeddingSpec(key, AudioEmbedder(backend="mel", window=window, step=1.5,
                                            sample_rate=RATE, clip_duration=CLIP), window)


SMALL_GENERATOR = {"n_mels": 32, "n_fft": 512, "hop_length": 256, "n_iter": 4}
FAST = {"cv": 3, "n_rois": 1, "n_permutations": 200, "n_bootstraps": 200, "n_examples": 2}


@pytest.fixture(scope="module")
def mini_results():
    studies = [make_mini_study(subject=1), make_mini_study(subject=2)]
    return run_experiment(studies, [mel_spec()], music="mel",
                          generator=ConditionedGenerator(SpectrogramBackend(**SMALL_GENERATOR),
                                                         random_state=0),
                          **FAST)


def test_experiment_decodes_and_reconstructs_beyond_chance(mini_results):
    results = mini_results
    subjects = results.subjects
    assert [s.subject for s in subjects] == [1, 2]
    for subject in subjects:
        decoding = subject.decoding["mel"]
        assert decoding["identification_test"] > 0.75
        assert decoding["selected_rois"] == ["auditory"] and decoding["selected_informative"] == 1
        assert set(subject.reconstruction) == {"retrieval", "generation", "shuffled responses"}
        assert subject.reconstruction["retrieval"]["identification"]["mel"] > 0.65
        assert set(subject.reconstruction["retrieval"]["agreement"]) == {"genres"}
    tests = results.tests.set_index(["subject", "table", "row", "score"])
    for subject in (1, 2):
        assert tests.loc[(subject, "table1", "mel", "identification_test"), "p_value"] < 0.01
    table1 = results.table1
    mean = table1.loc["mel", ("identification_test", "mean")]
    assert mean == pytest.approx(np.mean([s.decoding["mel"]["identification_test"]
                                          for s in subjects]))
    low, high = table1.loc["mel", [("identification_test", "ci_low"),
                                   ("identification_test", "ci_high")]]
    assert low < mean < high and high - low < 0.4
    # The references frame the reconstructions: retrieving with the true embedding beats a
    # random corpus clip.
    figure1 = results.figure1
    assert figure1.loc["oracle retrieval", ("identification mel", "mean")] > \
        figure1.loc["chance", ("identification mel", "mean")] + 0.2


def test_workers_give_the_numbers_of_one_process():
    # Subject tasks and references run in workers in another order than they are listed:
    # every result lands where a single process puts it.
    from joblib import parallel_config
    from threadpoolctl import threadpool_limits

    studies = [make_mini_study(subject=1), make_mini_study(subject=2)]
    runs = []
    for n_jobs in (1, 2):
        with threadpool_limits(limits=1), parallel_config(n_jobs=n_jobs):
            runs.append(run_experiment(studies, [mel_spec()], music="mel", tagger=None,
                                       **FAST).to_dict())
    assert runs[0]["subjects"][0]["encoding"]["n_significant"] > 0
    assert json.dumps(runs[0], sort_keys=True) == json.dumps(runs[1], sort_keys=True)


def test_deaf_brain_control_stays_at_chance():
    studies = [make_mini_study(subject=1, deaf=True)]
    results = run_experiment(studies, [mel_spec()], music="mel", tagger=None, encoding=False,
                             **FAST)
    decoding = results.subjects[0].decoding["mel"]
    assert abs(decoding["identification_test"] - 0.5) < 0.2
    p_values = results.tests.set_index("score")["p_value"]
    assert p_values["identification_test"] > 0.05
    assert p_values["identification mel"] > 0.05
    # Without a generator or a tagger: retrieval only, no agreement.
    assert set(results.subjects[0].reconstruction) == {"retrieval"}
    assert results.subjects[0].reconstruction["retrieval"]["agreement"] == {}
    assert results.generation_vs_retrieval.empty


def test_within_genre_scores_and_per_genre(mini_results):
    subject = mini_results.subjects[0]
    within = subject.decoding["mel"]["within_genre_identification_test"]
    assert 0 <= within <= 1
    table = subject.per_clip["generation"]
    assert {"identification_mel_within_group", "top_n_genres"} <= set(table.columns)
    genres = mini_results.test_clips.genre.to_numpy()
    for genre, value in subject.per_genre.items():
        assert value == pytest.approx(table["identification_mel"][genres == genre].mean())
    # The genre-mean predictor knows the genre only: identified across genres, at chance
    # (ties count half) within them.
    genre_mean = mini_results.references["genre mean"]
    assert genre_mean["within_genre_identification"]["mel"] == pytest.approx(0.5)
    assert genre_mean["identification"]["mel"] > \
        mini_results.references["chance"]["identification"]["mel"] + 0.2
    per_genre = mini_results.per_genre
    assert list(per_genre.index) == sorted(GENRES)
    assert (per_genre["ci_low"] <= per_genre["mean"] + 1e-12).all()


def test_paired_comparison_is_the_mean_of_per_clip_differences(mini_results):
    difference = mini_results.generation_vs_retrieval.loc["identification mel", "difference"]
    expected = np.mean([(s.per_clip["generation"] - s.per_clip["retrieval"])
                        ["identification_mel"].mean() for s in mini_results.subjects])
    assert difference == pytest.approx(expected)
    row = mini_results.generation_vs_retrieval.loc["identification mel"]
    assert row["ci_low"] <= row["difference"] <= row["ci_high"]


def test_results_json_is_complete_and_json_able(mini_results):
    content = mini_results.to_dict()
    text = json.dumps(content, allow_nan=False)
    assert json.loads(text)["settings"]["music"] == "mel"
    assert set(content) >= {"table1", "reconstruction", "per_genre", "encoding", "subjects",
                            "statistics", "oracle_retrieved_corpus_rows", "embeddings", "study"}
    statistics = content["statistics"]
    entry = statistics["table1"]["mel"]["identification_test"]
    assert [s["subject"] for s in entry["subjects"]] == [1, 2]
    assert all(0 < s["p_value"] <= 1 for s in entry["subjects"])
    assert set(statistics["references"]) == {"oracle retrieval", "oracle generation", "chance",
                                             "genre mean"}
    assert "identification" in statistics["generation_minus_retrieval"]
    encoding = content["encoding"]
    assert encoding["n_informative_voxels"]["mean"] == 10
    assert mini_results.encoding.loc["mel mean_r_informative", "mean"] > \
        mini_results.encoding.loc["mel mean_r_other", "mean"]


def test_examples_keep_the_first_clip_of_each_genre(mini_results):
    examples = mini_results.examples
    genres = mini_results.test_clips.genre
    assert len(examples) == 2 and examples.genre.is_unique
    for row in examples.itertuples():
        assert genres.iloc[row.row] == row.genre
        assert (genres.iloc[:row.row] != row.genre).all()
    assert set(mini_results.example_audio) == {"stimulus", "retrieved", "generated",
                                               "generated from the true embedding"}
    np.testing.assert_array_equal(mini_results.example_audio["stimulus"],
                                  make_mini_study().audio_test[examples.row])


def test_score_generator_is_refitted_per_subject_with_controls_and_attributes(monkeypatch):
    from skbrainmusic.generation import ScoreBackend

    study = make_mini_study(subject=1)
    # True keys drawn at random: the simulated brain carries none, so the key decoded from
    # fMRI must stay at chance (1/12).
    rng = np.random.default_rng(0)
    for clips in (study.clips_train, study.clips_test):
        clips["key"] = rng.integers(0, 12, len(clips))
        clips["major"] = rng.random(len(clips)) < 0.5
        clips["tempo"] = 120.0
    fits, shrinkages = [], []
    fit, fit_shrinkage = ScoreBackend.fit, ScoreBackend.fit_shrinkage

    @functools.wraps(fit)  # the same signature: the generator passes labels to it
    def spy_fit(self, *args, validation=None, **kwargs):
        fits.append(validation)
        return fit(self, *args, validation=validation, **kwargs)

    def spy_shrinkage(self, decoded, audio=None, *, attributes=None):
        shrinkages.append((decoded, attributes))
        return fit_shrinkage(self, decoded, audio, attributes=attributes)

    monkeypatch.setattr(ScoreBackend, "fit", spy_fit)
    monkeypatch.setattr(ScoreBackend, "fit_shrinkage", spy_shrinkage)
    results = run_experiment(study, [mel_spec()], music="mel", encoding=False,
                             generator=ConditionedGenerator(random_state=0), **FAST)
    # Fitted once on the corpus (shared, also for oracle generation); every subject then
    # chooses its shrinkage on the out-of-fold predictions of the training clips (every
    # one, every window) against their attributes, estimated once.
    assert fits == [None]
    assert len(shrinkages) == 1
    decoded, attributes = shrinkages[0]
    assert decoded.shape[0] == len(attributes) == len(study.clips_train)
    subject = results.subjects[0]
    assert set(subject.reconstruction) == {"retrieval", "generation", "shuffled responses",
                                           "genre-only resynthesis"}
    identification = {method: scores["identification"]["mel"]
                      for method, scores in subject.reconstruction.items()}
    assert identification["generation"] > identification["shuffled responses"] + 0.2
    assert identification["generation"] > identification["genre-only resynthesis"] + 0.1
    attributes = results.summary()["attributes"]
    assert attributes["generation"]["key"]["mean"] <= 0.25
    assert attributes["generation"]["genre"]["mean"] > \
        attributes["shuffled responses"]["genre"]["mean"] + 0.3
    table = results.example_attributes
    assert list(table.clip_id) == list(results.examples.clip_id)
    assert {"genre", "decoded_genre", "decoded_genre_proba", "tempo", "decoded_tempo", "key",
            "decoded_key", "decoded_key_proba", "decoded_instruments"} <= set(table.columns)
    assert ((table.decoded_genre_proba > 0) & (table.decoded_genre_proba <= 1)).all()
    content = json.loads(json.dumps(results.to_dict(), allow_nan=False))
    assert content["example_attributes"][0]["clip_id"] == table.clip_id[0]
    assert content["subjects"][0]["attributes"]["generation"]["key"] == \
        subject.attributes["generation"]["key"]


def test_n_reconstructions_and_corpus():
    study = make_mini_study()
    corpus = {"audio": study.audio_train[:20], "ids": [f"c{i}" for i in range(20)],
              "sample_rate": RATE, "name": "twenty clips"}
    results = run_experiment(study, [mel_spec()], music="mel", corpus=corpus, tagger=None,
                             encoding=False, n_reconstructions=5, **FAST)
    assert results.settings["n_reconstructions"] == 5
    assert results.study["corpus"] == "twenty clips" and results.study["n_corpus"] == 20
    assert results.subjects[0].per_clip["retrieval"].shape[0] == 5
    assert results.oracle_rows.shape == (5,)
    # A corpus without labels: the tagger learns the training stimuli's genres.
    corpus = {"audio": study.audio_train[:20], "clips": study.clips_train[["clip_id"]][:20]}
    results = run_experiment(study, [mel_spec()], music="mel", corpus=corpus,
                             encoding=False, n_reconstructions=5, **FAST)
    assert results.study["corpus"] == "the corpus"
    assert set(results.subjects[0].reconstruction["retrieval"]["agreement"]) == {"genres"}


@pytest.mark.parametrize("kwargs, match", [
    ({"music": "nope"}, "not one of the embeddings"),
    ({"music": "mel", "evaluation": ["mel", "mel2"]}, "not one of the embeddings"),
    ({"music": "mel", "confidence": 1.5}, "confidence must be"),
    ({"music": "mel", "n_reconstructions": 1}, "at least 2"),
    ({"music": "mel", "corpus": {"audio": np.zeros((1, 10))}}, "at least 2 clips"),
    ({"music": "mel", "corpus": {"audio": np.zeros((3, 10)), "sample_rate": 4000}},
     "resample the corpus"),
    ({"music": "mel", "tagger": "leaf"}, "tagger must be"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        run_experiment(make_mini_study(), [mel_spec()], **{"encoding": False, **kwargs})


def test_spec_and_labels_errors():
    with pytest.raises(ValueError, match="source must be"):
        EmbeddingSpec("x", None, 10.0, source="video")
    with pytest.raises(ValueError, match="window must be"):
        EmbeddingSpec("x", None, 0)
    with pytest.raises(ValueError, match="no labels"):
        clip_labels(pd.DataFrame({"clip_id": ["a"]}))
    study = make_mini_study()
    captions = EmbeddingSpec("text", None, CLIP, source="captions")
    with pytest.raises(ValueError, match="has no captions"):
        run_experiment(study, [mel_spec(), captions], music="mel", encoding=False)
    with pytest.raises(ValueError, match="embeds captions"):
        run_experiment(study, [mel_spec(), captions], music="text", encoding=False)


def test_stimulus_features_standardise_on_training_clips_and_reuse_them(monkeypatch):
    study = make_mini_study()
    features = StimulusFeatures(mel_spec().embedder)
    train = features.fit_transform(study.audio_train)
    flat = train.reshape(-1, train.shape[-1])
    np.testing.assert_allclose(flat.mean(axis=0), 0, atol=1e-3)
    np.testing.assert_allclose(flat.std(axis=0), 1, rtol=1e-3)
    # 8 kHz audio: mel bands above 4 kHz are constant and dropped.
    assert features.n_features_out_ < 128
    raw = features.raw(study.audio_train.copy())  # same content, another array: reused
    monkeypatch.setattr(features.embedder_, "transform",
                        lambda X: pytest.fail("the training clips were embedded again"))
    np.testing.assert_array_equal(features.raw(study.audio_train), raw)
    changed = study.audio_train.copy()
    changed[-1, 7] += 0.01  # control: one other sample, another array: embedded
    with pytest.raises(pytest.fail.Exception, match="embedded again"):
        features.raw(changed)
    features.forget_training()
    monkeypatch.undo()
    np.testing.assert_allclose(features.raw(study.audio_train), raw)
    # Evaluation features use the training statistics only: a clip's features do not depend
    # on the set it is embedded with (no per-set centring of reconstructions).
    np.testing.assert_allclose(features.transform(study.audio_test[:3]),
                               features.transform(study.audio_test)[:3], rtol=1e-6)
    unscaled = StimulusFeatures(mel_spec().embedder, standardize=False).fit(study.audio_train)
    np.testing.assert_allclose(unscaled.transform(study.audio_test),
                               unscaled.raw(study.audio_test))


# Statistics ---------------------------------------------------------------------------


def test_identification_null_of_the_identity_is_the_metric(rng):
    true = rng.standard_normal((12, 3, 8))
    pred = true + rng.standard_normal((12, 3, 8))
    groups = np.repeat(["a", "b", "c"], 4)
    identity = np.arange(12)[np.newaxis]
    assert stats.identification_null(true, pred, identity)[0] == pytest.approx(
        identification_accuracy(true, pred))
    assert stats.identification_null(true, pred, identity, groups=groups)[0] == \
        pytest.approx(identification_accuracy(true, pred, groups=groups))
    order = rng.permutation(12)[np.newaxis]
    assert stats.identification_null(true[:, 0], pred[:, 0], order)[0] == pytest.approx(
        identification_accuracy(true[:, 0], pred[order[0], 0]))


def test_identification_null_of_permutations_is_the_metric_of_repaired_predictions(
        rng, monkeypatch):
    # Every permutation's score is the metric of the re-paired predictions, also when the
    # lookup table and the permutations are built in several blocks.
    monkeypatch.setattr(stats, "_BLOCK", 3 * 12 * 12 * 2)
    true = rng.standard_normal((12, 3, 8))
    pred = true + rng.standard_normal((12, 3, 8))
    groups = np.repeat(["a", "b", "c"], 4)
    order = stats.permutations(12, 60, 0, groups=groups)  # 3 blocks of permutations
    for within in (None, groups):
        expected = [identification_accuracy(true, pred[row], groups=within) for row in order]
        np.testing.assert_allclose(stats.identification_null(true, pred, order, groups=within),
                                   expected, rtol=1e-12)


def test_permutations_stay_within_groups(rng):
    groups = np.array(list("aabbbcc"))
    order = stats.permutations(7, 50, 0, groups=groups)
    assert (groups[order] == groups).all()
    assert len({tuple(row) for row in order}) > 1
    np.testing.assert_array_equal(np.sort(stats.permutations(7, 5, 0), axis=1),
                                  np.tile(np.arange(7), (5, 1)))


def test_agreement_null_of_the_identity_is_the_metric(rng):
    classes = ["Blues", "Jazz", "Rock music", "Pop music", "Sad music", "Happy music"]
    proba_true, proba_pred = rng.uniform(size=(2, 9, 6))
    identity = np.arange(9)[np.newaxis]
    assert stats.agreement_null(proba_true, proba_pred, classes, "genres", 2, identity)[0] == \
        pytest.approx(top_n_agreement_score(proba_true, proba_pred, classes=classes))


def test_pairwise_agreement_is_top_n_agreement_of_every_pair(rng):
    from skbrainmusic.metrics import top_n_agreement

    labels = ["Blues", "Jazz", "Rock music", "Pop music", "Sad music", "Happy music", "Funk"]
    ranked_a = [list(rng.permutation(labels)[:rng.integers(1, 8)]) for _ in range(6)]
    ranked_b = [list(rng.permutation(labels)[:rng.integers(1, 8)]) for _ in range(5)]
    for n in (1, 3, 10):
        expected = [[top_n_agreement(a, b, n) for b in ranked_b] for a in ranked_a]
        np.testing.assert_allclose(stats.pairwise_agreement(ranked_a, ranked_b, n), expected,
                                   rtol=1e-15)
    with pytest.raises(ValueError, match="empty"):
        stats.pairwise_agreement([[]], [[]], 2)


def test_p_values_and_intervals(rng):
    assert stats.p_value(0.9, np.full(99, 0.5)) == pytest.approx(0.01)
    assert stats.p_value(0.5, np.full(99, 0.5)) == 1.0
    per_clip = rng.uniform(size=40)
    indices = stats.bootstrap_indices(40, 500, 0)
    replicates = stats.mean_replicates(per_clip, indices)
    low, high = stats.interval(replicates, 0.95)
    assert low < per_clip.mean() < high
    # The standard error of a mean of 40 uniform values is about 0.046.
    assert 0.12 < high - low < 0.25
    np.testing.assert_array_equal(indices, stats.bootstrap_indices(40, 500, 0))
    assert all(math.isnan(v) for v in stats.interval(np.full(3, np.nan), 0.95))


def test_correlation_replicates_recompute_the_correlation(rng):
    true = rng.standard_normal((10, 4, 6))
    pred = true + rng.standard_normal((10, 4, 6))
    identity = np.arange(10)[np.newaxis]
    assert stats.correlation_replicates(true, pred, identity)[0] == pytest.approx(
        correlation_score(true.reshape(-1, 6), pred.reshape(-1, 6)))
    resample = np.array([[0, 0, 3, 5, 5, 5, 7, 8, 9, 9]])
    assert stats.correlation_replicates(true, pred, resample)[0] == pytest.approx(
        correlation_score(true[resample[0]].reshape(-1, 6), pred[resample[0]].reshape(-1, 6)))


# The demo's numbers --------------------------------------------------------------------


def _numbers_agree(actual, expected, path="", tolerance=1e-6):
    """Every number of ``expected`` also in ``actual`` is equal (floats to ``tolerance``);
    returns the paths compared."""
    compared = []
    if isinstance(expected, dict):
        for key, value in expected.items():
            if key in actual:
                compared += _numbers_agree(actual[key], value, f"{path}/{key}", tolerance)
    elif isinstance(expected, list):
        assert len(actual) == len(expected), path
        for index, (a, e) in enumerate(zip(actual, expected)):
            compared += _numbers_agree(a, e, f"{path}[{index}]", tolerance)
    elif isinstance(expected, float):
        assert actual == pytest.approx(expected, rel=tolerance, abs=tolerance), path
        compared.append(path)
    else:
        assert actual == expected, path
        compared.append(path)
    return compared


# The keys of the fixtures that results.json keeps but the library's results do not:
# the command line's own (its command, parallel and file-format options, the check that
# saved models load back).
CLI_ONLY = {"/command", "/model_roundtrip_identical", "/settings/n_jobs",
            "/settings/scheduler", "/settings/save_format"}


def _all_paths(tree, path=""):
    if isinstance(tree, dict):
        return {p for key, value in tree.items() for p in _all_paths(value, f"{path}/{key}")}
    if isinstance(tree, list):
        return {p for i, value in enumerate(tree) for p in _all_paths(value, f"{path}[{i}]")}
    return {path}


@pytest.fixture(scope="module")
def demo_data_home(tmp_path_factory):
    # A fresh data home: the fixtures were made with freshly built studies and embeddings.
    return tmp_path_factory.mktemp("experiments_demo_home")


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_run_demo_reproduces_the_saved_demo(seed, demo_data_home, tmp_path, monkeypatch):
    from joblib import parallel_config
    from threadpoolctl import threadpool_limits

    from skbrainmusic.cli import main

    # As the fixtures were made (`--n-jobs 1` with single-threaded BLAS): data home from
    # $SKBRAINMUSIC_DATA (their data_home is None), no worker process, one BLAS thread. The
    # float32 rounding of the audio features and near-tied ridge alphas depend on the
    # number of BLAS threads, and discrete scores flip with them.
    monkeypatch.setenv("SKBRAINMUSIC_DATA", str(demo_data_home))
    expected = json.loads((FIXTURES / f"demo_tiny_seed{seed}.json").read_text())
    with threadpool_limits(limits=1), parallel_config(n_jobs=1):
        results = run_demo(scale="tiny", random_state=seed)
    content = results.to_dict()
    compared = _numbers_agree(content, expected)
    assert _all_paths(expected) - set(compared) == CLI_ONLY
    # Through the command line: the same numbers, and the command line's own keys.
    out = tmp_path / "demo"
    with threadpool_limits(limits=1):
        assert main(["demo", "--scale", "tiny", "--random-state", str(seed), "--out",
                     str(out), "--quiet", "--n-jobs", "1"]) == 0
    written = json.loads((out / "results.json").read_text())
    assert _all_paths(expected) <= set(_numbers_agree(written, expected))
    _numbers_agree(written, json.loads(json.dumps(content)), tolerance=1e-12)


# The paper's open path --------------------------------------------------------------


@pytest.mark.parametrize("backend", ["musicldm", "audioldm"])
def test_clap_diffusion_ast_path_end_to_end(backend, monkeypatch):
    """CLAP -> MusicLDM / AudioLDM -> AST, on tiny random models: the experiment runs the
    paper's path, conditions the generator on decoded CLAP embeddings in CLAP's own space,
    and judges reconstructions with the AudioSet groups of AST."""
    pytest.importorskip("diffusers")
    pytest.importorskip("transformers")

    from skbrainmusic import AudioTagger

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    clap = AudioEmbedder(backend="clap", model=tiny_clap(DIFFUSION_EMBEDDING_DIM), window=1.0,
                         step=1.5, sample_rate=RATE, clip_duration=CLIP, standardize=False)
    pipeline = tiny_diffusion_pipeline(backend, tiny_diffusion_components())
    generator = ConditionedGenerator(
        DiffusionBackend(backend, model=pipeline, num_inference_steps=2, batch_size=6),
        random_state=0)
    results = run_experiment(
        make_mini_study(n_train=24, n_test=8), [EmbeddingSpec("clap", clap, 1.0,
                                                              standardize=False)],
        music="clap", generator=generator, tagger=AudioTagger("ast", model=tiny_ast()),
        encoding=False, **{**FAST, "n_permutations": 50, "n_bootstraps": 50})
    subject = results.subjects[0]
    assert results.embeddings["clap"]["dimension"] == DIFFUSION_EMBEDDING_DIM
    assert subject.decoding["clap"]["identification_test"] > 0.6
    # No genre-only control: the diffusion backend decodes no genre.
    assert set(subject.reconstruction) == {"retrieval", "generation", "shuffled responses"}
    assert subject.attributes == {} and results.example_attributes is None
    for method in ("retrieval", "generation"):
        assert set(subject.reconstruction[method]["agreement"]) == {"genres", "instruments",
                                                                    "moods"}
    assert set(results.references) == {"oracle retrieval", "oracle generation", "chance",
                                       "genre mean"}
    # The diffusion output (16 kHz) is resampled to the stimuli's rate for judging and
    # listening.
    generated = results.example_audio["generated"]
    assert generated.shape[0] == 2 and generated.dtype == np.float32
    assert np.isfinite(generated).all()
    json.dumps(results.to_dict(), allow_nan=False)
    assert set(results.tests.score) >= {"identification_test", "identification clap",
                                        "agreement genres"}


def test_clap_decoding_of_a_deaf_brain_stays_at_chance(monkeypatch):
    pytest.importorskip("transformers")

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    clap = AudioEmbedder(backend="clap", model=tiny_clap(), window=1.0, step=1.5,
                         sample_rate=RATE, clip_duration=CLIP, standardize=False)
    results = run_experiment(make_mini_study(n_train=24, n_test=8, deaf=True),
                             [EmbeddingSpec("clap", clap, 1.0, standardize=False)],
                             music="clap", tagger=None, encoding=False, **FAST)
    assert abs(results.subjects[0].decoding["clap"]["identification_test"] - 0.5) < 0.2
    # Several tests of one deaf brain: none significant after Bonferroni correction.
    assert (results.tests["p_value"] > 0.05 / len(results.tests)).all()


def test_run_encoding_finds_the_informative_roi_and_partitions_variance():
    from skbrainmusic.experiments import caption_embedder, run_encoding

    study = make_mini_study()
    words = {"blues": "slow low blues", "classical": "bright strings classical",
             "metal": "loud high metal guitars"}
    for role in ("train", "test"):
        study[f"captions_{role}"] = [f"a {words[genre]} piece, clip {clip}" for genre, clip
                                     in zip(study[f"clips_{role}"].genre,
                                            study[f"clips_{role}"].clip_id)]
    captions = EmbeddingSpec("text", caption_embedder(30), CLIP, source="captions")
    results = run_encoding(study, mel_spec(), captions=captions, n_permutations=200)
    assert [row["roi"] for row in results.per_roi][0] == "auditory"
    auditory = results.per_roi[0]
    assert auditory["mean_r"] > 0.3 and auditory["fraction_significant"] > 0.5
    assert results.summary["n_voxels"] == 30
    assert set(results.maps) == {"r", "significant_r", "unique_audio", "unique_captions",
                                 "shared"}
    assert set(results.variance) == {"joint", "unique_audio", "unique_captions", "shared"}
    deaf = run_encoding(make_mini_study(deaf=True), mel_spec(), n_permutations=200)
    assert deaf.summary["fraction_significant"] < 0.1
    assert deaf.partition is None and deaf.variance is None


def test_fit_encoder_scores_its_own_test_predictions():
    from skbrainmusic.experiments._encoding import aligned_responses, fit_encoder

    study = make_mini_study()
    rng = np.random.default_rng(0)
    train, test = rng.standard_normal((30, 2, 4)), rng.standard_normal((12, 2, 4))
    responses = aligned_responses(study, 1.5, step=1.5)
    encoder, variations, scores = fit_encoder(study, responses, train, test, cv=3)
    np.testing.assert_allclose(variations + encoder.intercept_, encoder.predict(test),
                               rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(scores, encoder.voxel_scores(test, responses[1]))


@pytest.mark.parametrize("oof, atlas", [("inner", True), ("refit", True), ("inner", False)])
def test_decoders_predict_from_the_responses_they_averaged(oof, atlas, monkeypatch):
    from skbrainmusic.alignment import TemporalWindowAligner
    from skbrainmusic.experiments._experiment import _SHUFFLED, _Config, _fit_decoders

    study = make_mini_study()
    if not atlas:
        study.roi_labels = None
    # Two embeddings of one window (fitted jointly with the control) and one of another.
    specs = (mel_spec("a"), mel_spec("b"), mel_spec("c", window=3.0))
    rng = np.random.default_rng(0)
    embeddings = {spec.key: (rng.standard_normal((30, n_windows, 3)), None)
                  for spec, n_windows in zip(specs, (2, 2, 1))}
    config = _Config(specs=specs, music="a", evaluation=("a",), cv=3, n_rois=1, step=1.5,
                     n_permutations=10, n_bootstraps=10, random_state=0, oof=oof)
    averaged = []
    transform = TemporalWindowAligner.transform

    def spy(self, X):
        averaged.append((self.window, len(X)))
        return transform(self, X)

    monkeypatch.setattr(TemporalWindowAligner, "transform", spy)
    models, predictions, calibrated, shuffled = _fit_decoders(
        study, config, embeddings, rng.permutation(30))
    if oof == "inner" and atlas:
        # Every window's training responses averaged once, for the fit and the predictions.
        assert sorted(averaged) == [(1.5, 12), (1.5, 30), (3.0, 12), (3.0, 30)]
    monkeypatch.setattr(TemporalWindowAligner, "transform", transform)
    assert set(models) == {"a", "b", "c"} and set(predictions) == {"a", "b", "c", _SHUFFLED}
    for key, model in models.items():
        np.testing.assert_array_equal(predictions[key][0], model.predict(study.responses_train))
        np.testing.assert_array_equal(predictions[key][1], model.predict(study.responses_test))
    assert predictions[_SHUFFLED][0] is None
    for decoder, key in ((calibrated, "a"), (shuffled, _SHUFFLED)):
        np.testing.assert_array_equal(decoder.calibrate(predictions[key][1]),
                                      decoder.predict(study.responses_test))
    # The control's predictions are its own, not the music decoder's.
    assert not np.allclose(predictions[_SHUFFLED][1], predictions["a"][1])


def test_task_order_hands_out_each_task_once_decodings_ahead():
    from skbrainmusic.experiments._experiment import _task_order

    order = _task_order(5, encoding=True)
    assert sorted(order) == sorted((i, part) for i in range(5)
                                   for part in ("decoding", "encoding"))
    # every decoding before the previous subject's encoding; the end is encodings only
    assert order[:4] == [(0, "decoding"), (1, "decoding"), (0, "encoding"), (2, "decoding")]
    assert order[-3:] == [(4, "decoding"), (3, "encoding"), (4, "encoding")]
    assert _task_order(1, encoding=True) == [(0, "decoding"), (0, "encoding")]
    assert _task_order(0, encoding=True) == []
    assert _task_order(3, encoding=False) == [(0, "decoding"), (1, "decoding"),
                                              (2, "decoding")]


def test_synthetic_studies_keep_the_last_subject_but_do_not_pickle_it(tmp_path):
    import pickle

    studies = SyntheticStudies((1, 2), data_home=tmp_path, study={
        "scale": "small", "n_train_runs": 1, "n_test_runs": 1, "n_voxels": 400,
        "n_corpus": 4})
    first = studies[0]
    assert studies[0] is first and studies[-2] is first
    shipped = pickle.loads(pickle.dumps(studies))
    assert shipped == studies and shipped._last == {}
    assert len(pickle.dumps(studies)) < 1000  # cheap to ship to the workers
    # a fresh load of the same subject: equal, not the same Bunch
    again = shipped[0]
    assert again is not first
    np.testing.assert_array_equal(again.responses_test, first.responses_test)
    second = studies[1]
    assert second.subject == 2 and studies[1] is second and studies[0] is not first

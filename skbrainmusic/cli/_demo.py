"""``skbrainmusic demo``: the paper end to end on simulated subjects, offline.

Every number in the report is computed here from the synthetic study: decoders are fitted
on the training clips and scored on the held-out test clips, reconstructions are retrieved
or generated from the *predicted* embeddings, and the oracle and chance references are
computed the same way from the true embeddings and from random corpus clips.
"""

from dataclasses import dataclass

import numpy as np
from sklearn.pipeline import Pipeline

from ..metrics import AUDIOSET_TOP_N, correlation_score, identification_accuracy
from ._common import CLIError, Progress, mean_std, parallel_context, prepare_out_dir
from ._features import AudioFeatures, Calibration, CaptionFeatures, TaggerFeatures

# Sizes of the simulated study per --scale. "tiny" exists for the test suite (seconds, noisy
# numbers); "small" is the default; "paper" has the sizes of ds003720.
SCALES = {
    "tiny": {
        "study": {"scale": "small", "n_train_runs": 1, "n_test_runs": 1, "n_voxels": 400,
                  "n_corpus": 24},
        "n_subjects": 2, "cv": 3, "n_permutations": 1000, "n_examples": 2,
        # A coarse spectrogram: the mel inversion dominates the demo's run time.
        "generator": {"n_mels": 32, "hop_length": 1024, "n_iter": 8},
    },
    "small": {
        "study": {"scale": "small"},
        "n_subjects": 5, "cv": 5, "n_permutations": 5000, "n_examples": 4, "generator": {},
    },
    "paper": {
        "study": {"scale": "paper"},
        "n_subjects": 5, "cv": 5, "n_permutations": 2000, "n_examples": 6, "generator": {},
    },
}
N_ROIS = 6
STEP = 1.5


@dataclass(frozen=True)
class EmbeddingSpec:
    """A decoding target of Table 1: an offline embedding standing in for one of the paper's."""

    key: str
    label: str
    analog: str
    window: float
    backend: str  # AudioEmbedder backend, or "tfidf" for CaptionEmbedder


# Table 1 rows, in the paper's order. The 10 s audio embedding plays MuLan-music (the
# reconstruction target); 1.5 s log-mel is the low-level embedding of Figure 1a.
EMBEDDINGS = (
    EmbeddingSpec("mel-1.5s", "log-mel, 1.5 s windows", "SoundStream-avg", 1.5, "mel"),
    EmbeddingSpec("librosa-5s", "audio features, 5 s windows", "w2v-BERT-avg", 5.0, "librosa"),
    EmbeddingSpec("caption-tfidf", "caption TF-IDF + SVD", "MuLan text", 15.0, "tfidf"),
    EmbeddingSpec("librosa-10s", "audio features, 10 s windows", "MuLan music", 10.0,
                  "librosa"),
)
MUSIC = "librosa-10s"
LOW_LEVEL = "mel-1.5s"
EVALUATION_EMBEDDINGS = (MUSIC, LOW_LEVEL)


def _labels(frame):
    """AudioSet class names of every clip: its genres, instruments and moods."""
    return [list(g) + list(i) + list(m)
            for g, i, m in zip(frame["genres"], frame["instruments"], frame["moods"])]


def _load_study(subject, settings):
    from ..datasets import make_synthetic_study

    return make_synthetic_study(subject=subject, random_state=settings["random_state"],
                                data_home=settings["data_home"], **settings["study"])


def _decoder(spec, study, settings):
    from .. import ROIEnsembleRidge, TemporalWindowAligner

    return Pipeline([
        ("align", TemporalWindowAligner(window=spec.window, step=STEP, tr=study.tr,
                                        clip_duration=study.clip_duration)),
        # A plain copy: cached studies are memory-mapped, and a model must not keep a
        # reference to a file.
        ("ridge", ROIEnsembleRidge(np.array(study.roi_labels), n_rois=N_ROIS,
                                   cv=settings["cv"])),
    ])


def _identification_and_agreement(stimulus, reconstruction):
    """Figure 1a,b numbers of one set of reconstructions against the stimuli.

    Both arguments map each evaluation embedding key to ``(n_clips, n_windows, d)`` and
    ``"proba"`` to tagger probabilities ``(n_clips, n_classes)``; ``"classes"`` is shared.
    """
    from ..tagging import top_n_agreement_score

    identification = {
        key: identification_accuracy(stimulus[key], reconstruction[key])
        for key in EVALUATION_EMBEDDINGS
    }
    agreement = {
        group: top_n_agreement_score(stimulus["proba"], reconstruction["proba"],
                                     classes=stimulus["classes"], group=group)
        for group in AUDIOSET_TOP_N
    }
    return identification, agreement


def _evaluate_audio(audio, context):
    """Evaluation embeddings and tag probabilities of reconstructed waveforms."""
    evaluation = {key: context["features"][key].transform(audio) for key in EVALUATION_EMBEDDINGS}
    evaluation["proba"] = context["tagger"].predict_proba(audio,
                                                          sample_rate=context["sample_rate"])
    return evaluation


def _evaluate_retrieved(ids, context):
    corpus = context["corpus_evaluation"]
    rows = np.asarray([context["corpus_row"][item] for item in ids])
    return {key: value[rows] for key, value in corpus.items()}, rows


def _generate(embeddings, context):
    audio = context["generator"].generate(embeddings, random_state=context["random_state"])
    rate = context["generator"].sample_rate_
    if rate != context["sample_rate"]:
        import librosa

        audio = librosa.resample(np.asarray(audio), orig_sr=rate,
                                 target_sr=context["sample_rate"])
    return np.asarray(audio, dtype=np.float32)


def _encoding(study, embeddings, settings):
    """Voxelwise encoding of every feature space, with a permutation test for the music one."""
    from .. import TemporalWindowAligner
    from ..encoding import VoxelwiseEncoder, permutation_test

    informative = np.isin(study.roi_labels, study.informative_rois)
    per_space = {}
    for spec in EMBEDDINGS:
        train, test = embeddings[spec.key]
        aligner = TemporalWindowAligner(window=spec.window, step=STEP, tr=study.tr,
                                        clip_duration=study.clip_duration)
        responses_train = aligner.fit_transform(study.responses_train)
        responses_test = aligner.transform(study.responses_test)
        encoder = VoxelwiseEncoder(cv=settings["cv"]).fit(train, responses_train)
        predicted = encoder.predict(test)
        scores = encoder.voxel_scores(test, responses_test)
        per_space[spec.key] = {
            "mean_r_informative": float(scores[informative].mean()),
            "mean_r_other": float(scores[~informative].mean()),
        }
        if spec.key == MUSIC:
            test_result = permutation_test(responses_test, predicted,
                                           n_permutations=settings["n_permutations"],
                                           random_state=settings["random_state"])
            music_scores, significant = scores, test_result.significant
    n_informative = int(informative.sum())
    n_other = int((~informative).sum())
    summary = {
        "feature_spaces": per_space,
        "n_voxels": int(informative.size),
        "n_informative_voxels": n_informative,
        "significant_informative": int(significant[informative].sum()),
        "significant_other": int(significant[~informative].sum()),
        "fraction_significant_informative": float(significant[informative].mean()),
        "false_positive_rate_other": float(significant[~informative].mean()) if n_other else 0.0,
        "false_discovery_proportion": float(
            significant[~informative].sum() / max(int(significant.sum()), 1)),
    }
    return summary, music_scores, significant


def _subject_task(subject, context):
    """Everything that depends on one subject's brain: decoders, reconstructions, encoding."""
    settings = context["settings"]
    study = _load_study(subject, settings)
    if list(study.clips_test.clip_id) != context["test_clip_ids"]:
        raise CLIError(f"subject {subject} heard other test clips than subject "
                       f"{settings['subjects'][0]}: the demo needs one set of stimuli.")
    embeddings = context["embeddings"]
    decoding, models, predictions = {}, {}, {}
    roi_scores = {}
    for spec in EMBEDDINGS:
        train, test = embeddings[spec.key]
        model = _decoder(spec, study, settings).fit(study.responses_train, train)
        pred_train = model.predict(study.responses_train)
        pred_test = model.predict(study.responses_test)
        ridge = model.named_steps["ridge"]
        decoding[spec.key] = {
            "identification_train": identification_accuracy(train, pred_train),
            "identification_test": identification_accuracy(test, pred_test),
            "correlation_train": correlation_score(train.reshape(-1, train.shape[-1]),
                                                   pred_train.reshape(-1, train.shape[-1])),
            "correlation_test": correlation_score(test.reshape(-1, test.shape[-1]),
                                                  pred_test.reshape(-1, test.shape[-1])),
            "selected_rois": [study.roi_names[int(label)] for label in ridge.selected_rois_],
            "selected_informative": int(np.isin(ridge.selected_rois_,
                                                study.informative_rois).sum()),
        }
        roi_scores[spec.key] = dict(zip((study.roi_names[int(r)] for r in ridge.rois_),
                                        ridge.roi_scores_.tolist()))
        models[spec.key] = model
        predictions[spec.key] = pred_test

    # Reconstruction starts from the calibrated prediction (see Calibration).
    music_spec = next(spec for spec in EMBEDDINGS if spec.key == MUSIC)
    calibration = Calibration(_decoder(music_spec, study, settings), study.responses_train,
                              embeddings[MUSIC][0], settings["cv"])
    predicted = calibration.transform(predictions[MUSIC])
    stimulus = context["stimulus_evaluation"]
    retrieved_ids = context["retriever"].predict(predicted)
    retrieved, retrieved_rows = _evaluate_retrieved(retrieved_ids, context)
    generated_audio = _generate(predicted, context)
    generated = _evaluate_audio(generated_audio, context)
    reconstruction = {}
    for method, evaluation in (("retrieval", retrieved), ("generation", generated)):
        evaluation["classes"] = stimulus["classes"]
        reconstruction[method] = _identification_and_agreement(stimulus, evaluation)
    per_clip = identification_accuracy(stimulus[MUSIC], generated[MUSIC], average=False)
    genres = np.asarray(context["test_genres"])
    per_genre = {genre: float(per_clip[genres == genre].mean()) for genre in np.unique(genres)}

    encoding, voxel_scores, significant = _encoding(study, embeddings, settings)
    examples = context["example_rows"]
    return {
        "subject": subject,
        "decoding": decoding,
        "roi_scores": roi_scores,
        "informative_rois": [study.roi_names[int(r)] for r in study.informative_rois],
        "reconstruction": reconstruction,
        "per_genre": per_genre,
        "encoding": encoding,
        "models": models,
        "predicted_music": predictions[MUSIC].mean(axis=1),
        "retrieved_rows": retrieved_rows,
        "example_generated": generated_audio[examples],
        "voxel_scores": voxel_scores,
        "significant": significant,
        "roi_labels": np.asarray(study.roi_labels),
    }


def _stimulus_context(settings, progress):
    """What all subjects share: stimulus embeddings, corpus, tagger, retriever, generator."""
    from .. import AudioEmbedder, ConditionedGenerator, Corpus, EmbeddingRetriever
    from ..datasets import get_data_home
    from ..generation import SpectrogramBackend
    from ..tagging import AudioTagger

    progress.log(f"building the synthetic study (subject {settings['subjects'][0]}; cached "
                 "after the first run)")
    study = _load_study(settings["subjects"][0], settings)
    sample_rate, duration = study.sample_rate, study.clip_duration
    if len(study.corpus.clips) < 2:
        raise CLIError("the retrieval corpus needs at least 2 clips.")
    cache = get_data_home(settings["data_home"]) / "embedding_cache"

    features, embeddings = {}, {}
    for spec in progress.track(EMBEDDINGS, "embedding the stimuli"):
        if spec.backend == "tfidf":
            captions = CaptionFeatures(len(study.captions_train), settings["random_state"])
            embeddings[spec.key] = (captions.fit_transform(study.captions_train),
                                    captions.transform(study.captions_test))
            continue
        audio_features = AudioFeatures(AudioEmbedder(
            backend=spec.backend, window=spec.window, step=STEP, sample_rate=sample_rate,
            clip_duration=duration, cache=cache))
        embeddings[spec.key] = (audio_features.fit_transform(study.audio_train),
                                audio_features.transform(study.audio_test))
        features[spec.key] = audio_features

    progress.log(f"embedding the retrieval corpus ({len(study.corpus.clips)} clips)")
    corpus_audio = np.asarray(study.corpus.audio)
    corpus_embeddings = {key: features[key].transform(corpus_audio)
                         for key in EVALUATION_EMBEDDINGS}

    progress.log("fitting the audio tagger on the corpus labels")
    tagger = AudioTagger(embedder=TaggerFeatures(features[MUSIC])).fit(
        corpus_audio, _labels(study.corpus.clips), sample_rate=sample_rate)
    corpus_ids = list(study.corpus.clips.clip_id)
    corpus_evaluation = dict(corpus_embeddings)
    corpus_evaluation["proba"] = tagger.predict_proba(corpus_audio, sample_rate=sample_rate)

    progress.log("fitting the retriever and the generator on the corpus")
    retriever = EmbeddingRetriever({"embeddings": corpus_embeddings[MUSIC], "ids": corpus_ids})
    retriever.fit()
    generator = ConditionedGenerator(
        SpectrogramBackend(**settings["generator"]), random_state=settings["random_state"],
        corpus=Corpus(corpus_embeddings[MUSIC], audio=corpus_audio, sample_rate=sample_rate))
    generator.fit()

    stimulus_evaluation = {key: embeddings[key][1] for key in EVALUATION_EMBEDDINGS}
    stimulus_evaluation["proba"] = tagger.predict_proba(study.audio_test, sample_rate=sample_rate)
    stimulus_evaluation["classes"] = tagger.classes_

    for audio_features in features.values():
        audio_features.forget_training()
    genres = list(study.clips_test.genre)
    # One example clip per genre (first occurrences), for the WAVs and the spectrograms.
    first_of_genre = {}
    for row, genre in enumerate(genres):
        first_of_genre.setdefault(genre, row)
    example_rows = sorted(first_of_genre.values())[: settings["n_examples"]]
    context = {
        "settings": settings,
        "embeddings": embeddings,
        "features": features,
        "tagger": tagger,
        "retriever": retriever,
        "generator": generator,
        "corpus_row": {item: row for row, item in enumerate(corpus_ids)},
        "corpus_evaluation": corpus_evaluation,
        "stimulus_evaluation": stimulus_evaluation,
        "sample_rate": sample_rate,
        "random_state": settings["random_state"],
        "test_clip_ids": list(study.clips_test.clip_id),
        "test_genres": genres,
        "example_rows": example_rows,
    }
    # Kept in the main process only: the subject tasks (possibly on a cluster) never need
    # the audio.
    local = {"study": study, "corpus_audio": corpus_audio}
    return context, local


def _references(context, local, progress):
    """Oracle (the true embedding) and chance (a random corpus clip) for Figure 1a,b."""
    stimulus = context["stimulus_evaluation"]
    true_music = context["embeddings"][MUSIC][1]
    progress.log("oracle and chance references")
    oracle_retrieved, oracle_rows = _evaluate_retrieved(
        context["retriever"].predict(true_music), context)
    oracle_generated_audio = _generate(true_music, context)
    oracle_generated = _evaluate_audio(oracle_generated_audio, context)
    rng = np.random.default_rng(context["random_state"])
    n_corpus = local["corpus_audio"].shape[0]
    n_test = true_music.shape[0]
    chance_rows = rng.choice(n_corpus, size=n_test, replace=n_corpus < n_test)
    chance = {key: value[chance_rows] for key, value in context["corpus_evaluation"].items()}
    references = {}
    for name, evaluation in (("oracle retrieval", oracle_retrieved),
                             ("oracle generation", oracle_generated), ("chance", chance)):
        evaluation["classes"] = stimulus["classes"]
        references[name] = _identification_and_agreement(stimulus, evaluation)
    return references, oracle_rows, oracle_generated_audio


def _summaries(subject_results, references):
    """Mean +- std over subjects of every per-subject number."""
    keys = [spec.key for spec in EMBEDDINGS]
    table1 = {}
    for key in keys:
        rows = [r["decoding"][key] for r in subject_results]
        table1[key] = {metric: mean_std([row[metric] for row in rows]) for metric in (
            "identification_test", "identification_train", "correlation_test",
            "correlation_train")}
        table1[key]["selected_informative"] = mean_std([row["selected_informative"]
                                                        for row in rows])
    identification, agreement = {}, {}
    for method in ("retrieval", "generation"):
        results = [r["reconstruction"][method] for r in subject_results]
        identification[method] = {key: mean_std([res[0][key] for res in results])
                                  for key in EVALUATION_EMBEDDINGS}
        agreement[method] = {group: mean_std([res[1][group] for res in results])
                             for group in AUDIOSET_TOP_N}
    genres = sorted(subject_results[0]["per_genre"])
    per_genre = {genre: mean_std([r["per_genre"][genre] for r in subject_results])
                 for genre in genres}
    encoding_keys = [k for k, v in subject_results[0]["encoding"].items()
                     if not isinstance(v, dict)]
    encoding = {key: mean_std([r["encoding"][key] for r in subject_results])
                for key in encoding_keys}
    encoding["feature_spaces"] = {
        key: {stat: mean_std([r["encoding"]["feature_spaces"][key][stat]
                              for r in subject_results])
              for stat in ("mean_r_informative", "mean_r_other")}
        for key in keys}
    reference_values = {
        name: {"identification": ident, "agreement": agree}
        for name, (ident, agree) in references.items()}
    return {
        "table1": table1,
        "reconstruction": {"identification": identification, "agreement": agreement,
                           "references": reference_values},
        "per_genre": per_genre,
        "encoding": encoding,
    }


def _settings(args):
    scale = SCALES[args.scale]
    n_subjects = scale["n_subjects"] if args.n_subjects is None else args.n_subjects
    if n_subjects < 1:
        raise CLIError(f"--n-subjects must be at least 1, got {n_subjects}.")
    if args.n_jobs == 0:
        raise CLIError("--n-jobs must be a positive number of workers or -1 (all cores), "
                       "not 0.")
    return {
        "scale": args.scale,
        "study": scale["study"],
        "subjects": list(range(1, n_subjects + 1)),
        "cv": scale["cv"],
        "n_permutations": scale["n_permutations"],
        "n_examples": scale["n_examples"],
        "generator": scale["generator"],
        "random_state": args.random_state,
        "data_home": args.data_home,
        "n_jobs": args.n_jobs,
        "scheduler": args.scheduler,
        "save_format": args.save_format,
    }


def run(args):
    """Run the demo for parsed command-line ``args`` and write the report."""
    from joblib import Parallel, delayed

    from ._demo_report import write_demo_report

    progress = Progress(quiet=args.quiet)
    settings = _settings(args)
    out = prepare_out_dir(args.out)
    with parallel_context(settings["n_jobs"], settings["scheduler"]):
        context, local = _stimulus_context(settings, progress)
        references, oracle_rows, oracle_audio = _references(context, local, progress)
        tasks = Parallel(return_as="generator")(
            delayed(_subject_task)(subject, context) for subject in settings["subjects"])
        subject_results = list(progress.track(
            tasks, "decoding, reconstructing and encoding per subject",
            total=len(settings["subjects"])))
    summary = _summaries(subject_results, references)
    progress.log("writing figures, audio, models and the report")
    report = write_demo_report(out, context, local, subject_results, summary, oracle_rows,
                               oracle_audio, elapsed=progress.elapsed())
    progress.log(f"done in {progress.elapsed():.1f} s")
    print(report)

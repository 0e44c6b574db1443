"""``skbrainmusic decode``: music decoded from one ds003720 subject, with the demo's report.

The decoding pipeline (TemporalWindowAligner -> ROIEnsembleRidge) is fitted on the 480
training clips and scored on the 60 test clips (repeats averaged); the predicted music
embeddings are turned back into music by retrieval (from ``--corpus`` or the training
stimuli) and by the offline spectrogram generator, and compared with the stimuli.
"""

import numpy as np
from sklearn.pipeline import Pipeline

from ..metrics import correlation_score, identification_accuracy
from ..persistence import save_model
from . import _figures as figures
from ._common import CLIError, mean_std, parallel_context
from ._features import AudioFeatures, Calibration, CaptionFeatures, TaggerFeatures
from ._real_data import AUDIO_EMBEDDINGS, audio_embedder, load_corpus, load_subject, start_run
from ._report import AudioRow, Section, Table, write_report

STEP = 1.5
N_ROIS = 6
# Without atlas labels (the authors' preprocessed arrays) one whole-brain ridge is fitted on
# the voxels most correlated with the targets inside each fold, about as many as the
# paper's top-6 ROIs hold (1,460 voxels for subject 1, Table A.2).
SCREEN_VOXELS = 1500
N_EXAMPLES = 4


def decoder(roi_labels, window, tr, clip_duration, n_jobs=None, delay=0.0):
    """The paper's decoding pipeline for one embedding."""
    from .. import ROIEnsembleRidge, TemporalWindowAligner

    if roi_labels is None:
        ridge = ROIEnsembleRidge(None, n_rois=1, screen_voxels=SCREEN_VOXELS, n_jobs=n_jobs)
    else:
        ridge = ROIEnsembleRidge(np.array(roi_labels), n_rois=N_ROIS, n_jobs=n_jobs)
    return Pipeline([
        ("align", TemporalWindowAligner(window=window, step=STEP, tr=tr, delay=delay,
                                        clip_duration=clip_duration)),
        ("ridge", ridge),
    ])


def _flat(A):
    return A.reshape(-1, A.shape[-1])


def _decode_one(window, train, test, study):
    model = decoder(study.roi_labels, window, study.tr, study.clip_duration,
                    delay=study.delay).fit(study.responses_train, train,
                                           ridge__groups=study.cv_groups)
    pred_train = model.predict(study.responses_train)
    pred_test = model.predict(study.responses_test)
    scores = {
        "identification_train": identification_accuracy(train, pred_train),
        "identification_test": identification_accuracy(test, pred_test),
        "correlation_train": correlation_score(_flat(train), _flat(pred_train)),
        "correlation_test": correlation_score(_flat(test), _flat(pred_test)),
    }
    return model, pred_test, scores


def _genre_labels(genres):
    from ..datasets._music import AUDIOSET_GENRES

    return [AUDIOSET_GENRES[genre] for genre in genres]


def run(args):
    """Decode one real subject for parsed ``args`` and write the report."""
    import soundfile

    from .. import ConditionedGenerator, EmbeddingRetriever
    from ..tagging import AudioTagger, top_n_agreement_score

    if args.n_reconstructions is not None and args.n_reconstructions < 2:
        raise CLIError(f"--n-reconstructions must be at least 2, got {args.n_reconstructions}.")
    progress, paths, out = start_run(args, ("figures", "audio", "models"))
    with parallel_context(args.n_jobs, args.scheduler):
        study = load_subject(args, paths, progress)
        rate, duration = study.sample_rate, study.clip_duration
        window, analog = AUDIO_EMBEDDINGS[args.embedding]
        progress.log(f"embedding the stimuli ({args.embedding}, {window:g} s windows)")
        features = AudioFeatures(audio_embedder(args, rate, duration))
        targets = {args.embedding: (window, features.fit_transform(study.audio_train),
                                    features.transform(study.audio_test), analog)}
        if study.captions_train is not None:
            captions = CaptionFeatures(len(study.captions_train), args.random_state)
            targets["captions"] = (15.0, captions.fit_transform(study.captions_train),
                                   captions.transform(study.captions_test),
                                   "MuLan text (offline analog)")

        decoding, predictions, models = {}, {}, {}
        for name in progress.track(list(targets), "fitting decoders"):
            window_s, train, test, _ = targets[name]
            models[name], predictions[name], decoding[name] = _decode_one(
                window_s, train, test, study)

        progress.log("retrieval and generation from the predicted embeddings")
        if paths["corpus"] is not None:
            corpus_ids, corpus_audio = load_corpus(paths["corpus"], rate, duration, progress)
            corpus_name = str(paths["corpus"])
        else:
            corpus_ids = list(study.clips_train.clip_id)
            corpus_audio = study.audio_train
            corpus_name = "the training stimuli"
        corpus_embeddings = features.transform(corpus_audio)
        retriever = EmbeddingRetriever({"embeddings": corpus_embeddings,
                                        "ids": np.arange(len(corpus_ids))}).fit()
        generator = ConditionedGenerator(random_state=args.random_state).fit(
            corpus_embeddings, corpus_audio, sample_rate=rate)
        tagger = AudioTagger(embedder=TaggerFeatures(features)).fit(
            study.audio_train, _genre_labels(study.clips_train.genre), sample_rate=rate)

        n_test = len(study.clips_test)
        rows = np.arange(n_test if args.n_reconstructions is None
                         else min(args.n_reconstructions, n_test))
        true = targets[args.embedding][2][rows]
        window_s, train = targets[args.embedding][:2]
        calibration = Calibration(
            decoder(study.roi_labels, window_s, study.tr, study.clip_duration,
                    delay=study.delay),
            study.responses_train, train, cv=5)
        predicted = calibration.transform(predictions[args.embedding][rows])
        stimulus_proba = tagger.predict_proba(study.audio_test[rows], sample_rate=rate)
        rng = np.random.default_rng(args.random_state)
        picks = {
            "retrieval": retriever.predict(predicted),
            "oracle retrieval": retriever.predict(true),
            "chance": rng.choice(len(corpus_ids), size=rows.size,
                                 replace=len(corpus_ids) < rows.size),
        }
        reconstruction, audio_of = {}, {}
        for method, corpus_rows in picks.items():
            audio_of[method] = corpus_audio[corpus_rows]
            reconstruction[method] = corpus_embeddings[corpus_rows]
        for method, embeddings in (("generation", predicted), ("oracle generation", true)):
            audio_of[method] = generator.predict(embeddings)
            reconstruction[method] = features.transform(audio_of[method])
        results_reconstruction = {}
        for method, embedded in reconstruction.items():
            results_reconstruction[method] = {
                "identification": identification_accuracy(true, embedded),
                "genre_top2_agreement": top_n_agreement_score(
                    stimulus_proba, tagger.predict_proba(audio_of[method], sample_rate=rate),
                    classes=tagger.classes_, group="genres"),
            }

    progress.log("writing figures, audio, models and the report")
    name = args.embedding
    per_clip = identification_accuracy(targets[name][2], predictions[name], average=False)
    genres = np.asarray(study.clips_test.genre)
    per_genre = {g: mean_std(per_clip[genres == g]) for g in np.unique(genres)}
    figure_paths = [figures.grouped_bars(
        {g: {"decoded": v} for g, v in per_genre.items()}, out / "figures" / "per_genre.png",
        ylabel="identification accuracy", title="Identification per genre (test clips)",
        reference_lines={g: {"chance": 0.5} for g in per_genre}, ylim=(0, 1.02))]
    figure_paths.append(figures.embedding_pca(
        targets[name][2].mean(axis=1), predictions[name].mean(axis=1), genres,
        out / "figures" / "embedding_pca.png", title=f"{analog}: true vs predicted"))
    ridge = models[name].named_steps["ridge"]
    if study.roi_labels is not None:
        figure_paths.append(figures.roi_scores(
            ridge.roi_scores_, [study.roi_names.get(int(r), str(r)) for r in ridge.rois_],
            out / "figures" / "roi_scores.png", title=f"ROI ranking, subject {args.subject}"))
    examples = rows[:N_EXAMPLES]
    audio_rows, waves = [], []
    for i in examples:
        clip_id = study.clips_test.clip_id.iloc[i]
        versions = {"stimulus": study.audio_test[i], "retrieved": audio_of["retrieval"][i],
                    "generated": audio_of["generation"][i]}
        files = {}
        for column, wave in versions.items():
            files[column] = out / "audio" / f"{clip_id}_{column}.wav"
            soundfile.write(files[column], np.asarray(wave, np.float32), rate)
        audio_rows.append(AudioRow(str(clip_id), files))
        waves.append((str(clip_id), versions))
    figure_paths.append(figures.spectrogram_grid(waves, rate, out / "figures" /
                                                 "spectrograms.png"))
    model_files = [save_model(model, out / "models" / f"sub-{args.subject:02d}_{key}."
                              f"{'skops' if args.save_format == 'skops' else 'joblib'}",
                              format=args.save_format).name for key, model in models.items()]

    sections = [
        Section("Decoding (Table 1 analog)",
                f"Subject {args.subject}: {len(study.clips_train)} training and {n_test} test "
                f"clips, {study.responses_train.shape[-1]} voxels"
                + ("" if study.roi_labels is not None else
                   f" without ROI labels (whole-brain ridge on the {SCREEN_VOXELS} voxels most "
                   "correlated with the targets inside each fold)") + ".",
                tables=[Table(["embedding", "identification test", "identification train",
                               "correlation test", "correlation train"],
                              [[f"{key} ({targets[key][3]})"]
                               + [f"{decoding[key][m]:.3f}" for m in (
                                   "identification_test", "identification_train",
                                   "correlation_test", "correlation_train")]
                               for key in targets])]),
        Section("Reconstruction (Figure 1a,b analog)",
                f"{rows.size} test clips; retrieval corpus: {corpus_name} "
                f"({len(corpus_ids)} clips). Identification in the {name} embedding space; "
                "genre agreement from a tagger fitted on the training stimuli's genres.",
                tables=[Table(["music", "identification", "genre top-2 agreement"],
                              [[m, f"{v['identification']:.3f}",
                                f"{v['genre_top2_agreement']:.3f}"]
                               for m, v in results_reconstruction.items()])]),
        Section("Figures", figures=figure_paths),
        Section("Listen", audio=audio_rows),
    ]
    results = {
        "command": "decode", "subject": args.subject, "embedding": name,
        "n_train": len(study.clips_train), "n_test": n_test,
        "n_voxels": int(study.responses_train.shape[-1]),
        "decoding": decoding, "reconstruction": results_reconstruction,
        "per_genre": per_genre, "corpus": {"source": corpus_name, "n_items": len(corpus_ids)},
        "selected_rois": [study.roi_names.get(int(r), str(r)) for r in ridge.selected_rois_]
        if study.roi_labels is not None else None,
        "models": model_files,
    }
    report, _ = write_report(out, f"skbrainmusic decode: subject {args.subject}", sections,
                             results, subtitle=f"embedding {name}")
    progress.log(f"done in {progress.elapsed():.1f} s")
    print(report)

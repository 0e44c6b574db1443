"""``skbrainmusic decode``: music decoded from one ds003720 subject, with the demo's report.

Every number comes from :func:`skbrainmusic.experiments.run_experiment`: the decoding
pipeline fitted on the 480 training clips and scored on the 60 test clips (repeats
averaged), the predicted music embeddings turned back into music by retrieval (from
``--corpus`` or the training stimuli) and by ``--generator``, and judged against the
stimuli with ``--tagger``. This module loads the data, builds the experiment's parts from
the options and renders the report.
"""

from . import _figures as figures
from ._common import CLIError, parallel_context
from ._real_data import (
    AUDIO_EMBEDDINGS,
    captions_spec,
    embedding_spec,
    load_corpus,
    load_subject,
    start_run,
)
from ._render import (
    attribute_tables,
    audio_examples,
    format_interval,
    save_models,
    statistics_tables,
)
from ._report import Section, Table, write_report

N_EXAMPLES = 4


def _generator(args, paths):
    from ..generation import ConditionedGenerator, DiffusionBackend

    if args.generator in ("score", "spectrogram"):
        return ConditionedGenerator(args.generator, random_state=args.random_state)
    # At the pipeline's own length (MusicLDM's 10.24 s): the evaluation embeddings pad
    # shorter music with silence to the clips' length.
    return ConditionedGenerator(
        DiffusionBackend(args.generator, model=str(paths["generator_model"]),
                         device=args.device), random_state=args.random_state)


def _tagger(args, paths):
    if args.tagger == "embedding":
        return "music"
    from ..tagging import AudioTagger

    return AudioTagger("ast", model=str(paths["tagger_model"]))


def _legacy_reconstruction(results, name):
    """Per method ``{"identification", "genre_top2_agreement"}`` (the first results.json
    layout, kept for its readers)."""
    methods = {**results.subjects[0].reconstruction, **results.references}
    legacy = {}
    for method, scores in methods.items():
        legacy[method] = {"identification": scores["identification"][name]}
        if "genres" in scores["agreement"]:
            legacy[method]["genre_top2_agreement"] = scores["agreement"]["genres"]
    return legacy


def run(args):
    """Decode one real subject for parsed ``args`` and write the report."""
    from ..experiments import run_experiment

    if args.n_reconstructions is not None and args.n_reconstructions < 2:
        raise CLIError(f"--n-reconstructions must be at least 2, got {args.n_reconstructions}.")
    progress, paths, out = start_run(args, ("figures", "audio", "models"))
    name = args.embedding
    with parallel_context(args.n_jobs, args.scheduler):
        study = load_subject(args, paths, progress)
        specs = [embedding_spec(args, study)]
        if study.captions_train is not None:
            specs.append(captions_spec(args, study))
        corpus = None
        if paths["corpus"] is not None:
            ids, audio = load_corpus(paths["corpus"], study.sample_rate, study.clip_duration,
                                     progress)
            corpus = {"ids": ids, "audio": audio, "sample_rate": study.sample_rate,
                      "name": str(paths["corpus"])}
        try:
            results = run_experiment(
                study, specs, music=name, corpus=corpus,
                generator=_generator(args, paths), tagger=_tagger(args, paths),
                n_reconstructions=args.n_reconstructions, encoding=False,
                n_examples=N_EXAMPLES, random_state=args.random_state, oof=args.oof,
                settings={"embedding": name, "generator": args.generator,
                          "tagger": args.tagger}, progress=progress)
        except ValueError as exc:
            raise CLIError(str(exc).strip().splitlines()[0]) from exc

    progress.log("writing figures, audio, models and the report")
    subject = results.subjects[0]
    analog = AUDIO_EMBEDDINGS[name][1]
    per_genre = subject.decoding_per_genre
    figure_paths = [figures.grouped_bars(
        {genre: {"decoded": value} for genre, value in per_genre.items()},
        out / "figures" / "per_genre.png", ylabel="identification accuracy",
        title="Identification per genre (test clips)",
        reference_lines={genre: {"chance": 0.5} for genre in per_genre}, ylim=(0, 1.02))]
    figure_paths.append(figures.embedding_pca(
        results.true_music, subject.predicted_music, list(results.test_clips.genre),
        out / "figures" / "embedding_pca.png", title=f"{analog}: true vs predicted"))
    if study.roi_labels is not None:
        roi_scores = subject.roi_scores[name]
        figure_paths.append(figures.roi_scores(
            list(roi_scores.values()), list(roi_scores), out / "figures" / "roi_scores.png",
            title=f"ROI ranking, subject {args.subject}"))
    audio_rows, waves = audio_examples(out / "audio", results)
    figure_paths.append(figures.spectrogram_grid(waves, results.sample_rate,
                                                 out / "figures" / "spectrograms.png"))
    model_files = sorted(save_models(out / "models", results, args.save_format))

    sizes = results.study
    reconstruction = _legacy_reconstruction(results, name)
    statistics = results.statistics()
    figure1 = {**statistics["reconstruction"], **statistics["references"]}
    decoding = subject.decoding
    sections = [
        Section("Decoding (Table 1 analog)",
                f"Subject {args.subject}: {sizes['n_train']} training and {sizes['n_test']} "
                f"test clips, {sizes['n_voxels']} voxels"
                + ("" if study.roi_labels is not None else
                   " without ROI labels (whole-brain ridge on the voxels most correlated "
                   "with the targets inside each fold)") + ".",
                tables=[Table(["embedding", "identification test", "95% interval",
                               "identification train", "correlation test",
                               "correlation train"],
                              [[f"{key} ({spec['analog']})",
                                f"{decoding[key]['identification_test']:.3f}",
                                format_interval(statistics["table1"][key]
                                                ["identification_test"]["ci"])]
                               + [f"{decoding[key][m]:.3f}" for m in (
                                   "identification_train", "correlation_test",
                                   "correlation_train")]
                               for key, spec in results.embeddings.items()])]),
        Section("Reconstruction (Figure 1a,b analog)",
                f"{results.settings['n_reconstructions']} test clips; retrieval corpus: "
                f"{sizes['corpus']} ({sizes['n_corpus']} clips); generator: "
                f"{args.generator}; tagger: {args.tagger}. Identification in the {name} "
                "embedding space.",
                tables=[Table(["music", "identification", "95% interval",
                               "genre top-2 agreement"],
                              [[method, f"{scores['identification']:.3f}",
                                format_interval(figure1[method]["identification"][name]["ci"]),
                                (f"{scores['genre_top2_agreement']:.3f}"
                                 if "genre_top2_agreement" in scores else "n/a")]
                               for method, scores in reconstruction.items()])]),
        *[Section("Musical attributes decoded from fMRI", tables=tables)
          for tables in [attribute_tables(results)] if tables],
        Section("Uncertainty", tables=statistics_tables(results)),
        Section("Figures", figures=figure_paths),
        Section("Listen", audio=audio_rows),
    ]
    content = {
        "command": "decode", "subject": args.subject, "embedding": name,
        "n_train": sizes["n_train"], "n_test": sizes["n_test"], "n_voxels": sizes["n_voxels"],
        "decoding": decoding, "reconstruction": reconstruction, "per_genre": per_genre,
        "corpus": {"source": sizes["corpus"], "n_items": sizes["n_corpus"]},
        "selected_rois": decoding[name]["selected_rois"], "models": model_files,
        "experiment": results.to_dict(),
    }
    report, _ = write_report(out, f"skbrainmusic decode: subject {args.subject}", sections,
                             content, subtitle=f"embedding {name}")
    progress.log(f"done in {progress.elapsed():.1f} s")
    print(report)

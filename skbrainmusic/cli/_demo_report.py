"""The demo's output folder: figures, WAVs, saved models, report.html and results.json."""

import platform

import numpy as np

from ..experiments import DEMO_EVALUATION, DEMO_MUSIC, SyntheticStudies
from ..persistence import load_model
from . import _figures as figures
from ._render import (
    attribute_tables,
    audio_examples,
    model_suffix,
    save_models,
    statistics_tables,
)
from ._report import Section, Table, format_mean_std, write_report

_METHODS = ("retrieval", "generation")
_GROUPS = ("genres", "instruments", "moods")
LOW_LEVEL = DEMO_EVALUATION[1]


def _check_roundtrip(path, model, responses):
    """Load a saved model back (types checked) and compare its predictions bit for bit."""
    loaded = load_model(path, allow_pickle=path.suffix != ".skops")
    return bool(np.array_equal(loaded.predict(responses), model.predict(responses)))


def _analog(results, key):
    return results.embeddings[key]["analog"]


def _name(results, key):
    """``"<paper model> analog"``, or the embedding's label when it has no paper analog."""
    spec = results.embeddings[key]
    return f"{spec['analog']} analog" if spec["analog"] else spec["label"]


def _table1(results, summary):
    rows = []
    for key, spec in results.embeddings.items():
        values = summary["table1"][key]
        rows.append([
            f"{spec['label']} ({spec['analog']} analog)" if spec["analog"] else spec["label"],
            format_mean_std(values["identification_test"]),
            format_mean_std(values["identification_train"]),
            format_mean_std(values["correlation_test"]),
            format_mean_std(values["correlation_train"]),
            format_mean_std(values["selected_informative"], digits=1),
        ])
    return Table(
        ["embedding", "identification test", "identification train", "correlation test",
         "correlation train", "informative ROIs among the 6 selected"],
        rows,
        caption="Mean \u00b1 std over simulated subjects. Chance identification is 0.5.",
    )


def _figure1_table(results, summary):
    reconstruction = summary["reconstruction"]
    header = (["music"]
              + [f"identification ({_name(results, key)})" for key in
                 DEMO_EVALUATION]
              + [f"{group} top-{n}" for group, n in zip(_GROUPS, (2, 2, 1))])
    rows = []
    for method in reconstruction["identification"]:
        rows.append(
            [method]
            + [format_mean_std(reconstruction["identification"][method][key])
               for key in DEMO_EVALUATION]
            + [format_mean_std(reconstruction["agreement"][method][group]) for group in _GROUPS])
    for name in reconstruction["references"]:
        values = reconstruction["references"][name]
        rows.append([name]
                    + [f"{values['identification'][key]:.3f}" for key in DEMO_EVALUATION]
                    + [f"{values['agreement'][group]:.3f}" for group in _GROUPS])
    return Table(header, rows, caption=(
        "Retrieval and generation from the embeddings predicted from fMRI (mean \u00b1 std over "
        "subjects). Controls: shuffled responses (generation from a decoder fitted on "
        "training responses shuffled across clips: chance) and genre-only resynthesis (only "
        "the decoded genre kept: a random piece of it). Oracle: the same from the true "
        "embedding; chance: a random corpus clip; genre mean: the mean of the training clips of "
        "the clip's genre (knows the genre only: at chance within genre)."))


def _figures(out, results, summary, example_waves):
    folder = out / "figures"
    folder.mkdir(exist_ok=True)
    first = results.subjects[0]
    table1 = summary["table1"]
    reconstruction = summary["reconstruction"]
    references = reconstruction["references"]
    paths = {}
    paths["table1"] = figures.grouped_bars(
        {_name(results, key): {
            "test": table1[key]["identification_test"],
            "train": table1[key]["identification_train"]} for key in table1},
        folder / "table1_identification.png", ylabel="identification accuracy",
        title="Table 1 analog: embeddings decoded from fMRI",
        reference_lines={_name(results, key): {"chance": 0.5} for key in table1},
        ylim=(0.3, 1.02))
    paths["figure1a"] = figures.grouped_bars(
        {_name(results, key): {
            method: reconstruction["identification"][method][key] for method in _METHODS}
         for key in DEMO_EVALUATION},
        folder / "figure1a_identification.png", ylabel="identification accuracy",
        title="Fig. 1a analog: reconstructed vs original music",
        reference_lines={_name(results, key): {
            "chance": references["chance"]["identification"][key],
            "oracle": references["oracle generation"]["identification"][key]}
            for key in DEMO_EVALUATION},
        ylim=(0.3, 1.02))
    paths["figure1b"] = figures.grouped_bars(
        {group: {method: reconstruction["agreement"][method][group] for method in _METHODS}
         for group in _GROUPS},
        folder / "figure1b_top_n_agreement.png", ylabel="top-n class agreement",
        title="Fig. 1b analog: tagged classes of reconstructions",
        reference_lines={group: {
            "chance": references["chance"]["agreement"][group],
            "oracle": references["oracle generation"]["agreement"][group]}
            for group in _GROUPS},
        ylim=(0.0, 1.02))
    paths["figure1c"] = figures.grouped_bars(
        {genre: {"generation": value} for genre, value in summary["per_genre"].items()},
        folder / "figure1c_per_genre.png", ylabel="identification accuracy",
        title="Fig. 1c analog: per genre (generation)",
        reference_lines={genre: {"chance": 0.5} for genre in summary["per_genre"]},
        ylim=(0.0, 1.02))
    paths["spectrograms"] = figures.spectrogram_grid(
        example_waves, results.sample_rate, folder / "figureA4_spectrograms.png")
    music = _analog(results, DEMO_MUSIC)
    paths["pca"] = figures.embedding_pca(
        results.true_music, first.predicted_music,
        list(results.test_clips.genre), folder / "figureA6_embedding_pca.png",
        title=f"Fig. A.6 analog: {music}-analog embeddings of the test clips, "
              f"subject {first.subject}")
    roi_scores = first.roi_scores[DEMO_MUSIC]
    names = list(roi_scores)
    paths["roi_scores"] = figures.roi_scores(
        [roi_scores[name] for name in names], names, folder / "roi_scores.png",
        highlight=first.informative_rois,
        title=f"ROI ranking, subject {first.subject} (dark: informative by construction)")
    ridge = first.calibrated_decoder.estimator_[-1]
    paths["roi_brain"] = figures.roi_brain(
        ridge.roi_scores_, ridge.rois_, first.roi_labels, first.mask_img,
        folder / "roi_scores_brain.png",
        title=f"ROI scores on the cortex ({music} analog), subject {first.subject}")
    paths["encoding_map"] = figures.voxel_map(
        first.voxel_scores, first.mask_img, folder / "encoding_map.png",
        significant=first.significant,
        title=f"Encoding ({music} analog), subject {first.subject}")
    spaces = summary["encoding"]["feature_spaces"]
    paths["encoding_spaces"] = figures.grouped_bars(
        {_name(results, key): {
            "informative ROIs": spaces[key]["mean_r_informative"],
            "other ROIs": spaces[key]["mean_r_other"]} for key in spaces},
        folder / "encoding_feature_spaces.png", ylabel="held-out Pearson r",
        title="Encoding: feature spaces compared (Fig. 3 analog)")
    return paths


def _text_tables(results, summary):
    lines = ["Table 1 analog (mean \u00b1 std over subjects; chance identification 0.5)",
             f"{'embedding':<34}{'ident. test':>18}{'ident. train':>18}{'corr. test':>18}"
             f"{'corr. train':>18}"]
    for key in results.embeddings:
        values = summary["table1"][key]
        lines.append(f"{_name(results, key):<34}"
                     + "".join(f"{format_mean_std(values[m]):>18}" for m in (
                         "identification_test", "identification_train", "correlation_test",
                         "correlation_train")))
    reconstruction = summary["reconstruction"]
    widths = [max(20, len(key) + 9) for key in DEMO_EVALUATION] + [16] * len(_GROUPS)

    def line(name, cells):
        return f"{name:<24}" + "".join(f"{cell:>{width}}" for cell, width in zip(cells, widths))

    lines += ["", "Figure 1a,b analog (identification of reconstructions; top-n agreement)",
              line("music", [f"ident. {key}" for key in DEMO_EVALUATION] + list(_GROUPS))]
    for method in reconstruction["identification"]:
        cells = [format_mean_std(reconstruction["identification"][method][k])
                 for k in DEMO_EVALUATION]
        cells += [format_mean_std(reconstruction["agreement"][method][g]) for g in _GROUPS]
        lines.append(line(method, cells))
    for name, values in reconstruction["references"].items():
        cells = [f"{values['identification'][k]:.3f}" for k in DEMO_EVALUATION]
        cells += [f"{values['agreement'][g]:.3f}" for g in _GROUPS]
        lines.append(line(name, cells))
    encoding = summary["encoding"]
    lines += ["", "Encoding (voxels significant after FDR q=0.05): "
              f"informative ROIs {format_mean_std(encoding['fraction_significant_informative'])}"
              f", other ROIs {format_mean_std(encoding['false_positive_rate_other'])}"]
    return "\n".join(lines)


def _roundtrip(out, results, save_format):
    """Reload the first subject's saved music decoder and check its predictions."""
    settings = results.settings
    first = results.subjects[0]
    study = SyntheticStudies(tuple(settings["subjects"]), settings["random_state"],
                             settings["data_home"], settings["study"])[0]
    path = out / "models" / f"sub-{first.subject:02d}_{DEMO_MUSIC}{model_suffix(save_format)}"
    return _check_roundtrip(path, first.models[DEMO_MUSIC], study.responses_test)


def write_demo_report(out, results, cli_settings, *, elapsed):
    """Write everything; return the text tables printed on stdout (ending with the path).

    ``cli_settings`` (``n_jobs``, ``scheduler``, ``save_format``) are the command line's,
    added to the experiment's settings in results.json.
    """
    settings = {**results.settings, **cli_settings}
    summary = results.summary()
    model_paths = save_models(out / "models", results, settings["save_format"])
    roundtrip = _roundtrip(out, results, settings["save_format"])
    audio_rows, example_waves = audio_examples(out / "audio", results)
    figure_paths = _figures(out, results, summary, example_waves)

    study = results.study
    first = results.subjects[0]
    table1 = summary["table1"]
    reconstruction = summary["reconstruction"]
    music_analog = _analog(results, DEMO_MUSIC)
    music = table1[DEMO_MUSIC]["identification_test"]
    generation = reconstruction["identification"]["generation"][DEMO_MUSIC]
    encoding = summary["encoding"]
    headline = (
        f"{len(results.subjects)} simulated subjects, {study['n_train']} training and "
        f"{study['n_test']} test clips of 15 s, {study['n_voxels']} voxels in "
        f"{study['n_rois']} ROIs. The {music_analog}-analog embedding of held-out clips is "
        f"identified from fMRI with accuracy {format_mean_std(music)} (chance 0.5); music "
        f"generated from the predicted embedding is identified with "
        f"{format_mean_std(generation)}.")
    sections = [
        Section("Summary", headline + "\n\n" + (
            "Everything here is computed from a simulated study (skbrainmusic.datasets."
            "make_synthetic_study): genre-styled music rendered with General MIDI instruments, "
            "and brains whose few auditory ROIs respond to the music's band energies, onsets "
            "and a genre/instruments/mood latent, with haemodynamic lag, drift and noise. "
            "Embeddings are offline stand-ins for the paper's models (see the user guide). "
            "Every number is reproduced in Python by skbrainmusic.experiments.run_demo("
            f"scale={settings['scale']!r}, random_state={settings['random_state']}).")),
        Section("Decoding music embeddings from fMRI (Table 1 analog)",
                "TemporalWindowAligner -> ROIEnsembleRidge (per-ROI ridge, one alpha per "
                "target by cross-validation over clips, the 6 best ROIs averaged). Train: "
                "scored on the training clips after fitting on them; test: held-out clips.",
                tables=[_table1(results, summary)], figures=[figure_paths["table1"]]),
        Section("Reconstructing music (Figure 1a, b analog)",
                f"The {music_analog}-analog embedding predicted for each test clip "
                "(calibrated by a CalibratedDecoder: standardised per dimension with the "
                "statistics of out-of-fold predictions of the training clips, since ridge "
                "predictions are shrunk towards the mean; windows averaged) is turned into "
                f"music by retrieval from a {study['n_corpus']}-clip corpus and by the "
                "score-conditioned generator (it decodes genre, tempo, key, instruments and "
                "tonal balance, learnt on the corpus and its genre labels, shrinks them "
                "towards the decoded genre's as chosen on out-of-fold predictions of the "
                "training clips, and composes a new piece). Reconstructions are compared "
                f"with the stimuli through the {music_analog}-analog and "
                f"{_analog(results, LOW_LEVEL)}-analog embeddings of their audio and a "
                "modulation spectrum (a feature family the conditioning embedding does not "
                "use), all standardised with the training stimuli's statistics only, and "
                "through the "
                "top-n classes of an audio tagger on log-mel features fitted on the training "
                "stimuli' labels (clips the generator never learns from).",
                tables=[_figure1_table(results, summary)],
                figures=[figure_paths["figure1a"], figure_paths["figure1b"]]),
        Section("Musical attributes decoded from fMRI",
                "What the generator reads in the predicted embedding, before it composes. "
                "The simulated brains carry no key signal: the decoded key must be at "
                "chance.", tables=attribute_tables(results)),
        Section("Per genre (Figure 1c analog)",
                tables=[Table(["genre", "identification (generation)"],
                              [[genre, format_mean_std(value)]
                               for genre, value in summary["per_genre"].items()])],
                figures=[figure_paths["figure1c"]]),
        Section("Uncertainty",
                "Every subject's numbers with a bootstrap interval over the test clips and a "
                "permutation test against chance; generation compared with retrieval clip by "
                "clip.", tables=statistics_tables(results)),
        Section("Listen (Figure A.4 analog)",
                f"Test clips of subject {first.subject}: the stimulus, the corpus clip "
                "retrieved from the predicted embedding, music generated from it, and music "
                "generated from the stimulus' true embedding (the generator's ceiling).",
                figures=[figure_paths["spectrograms"]], audio=audio_rows),
        Section("Predicted embeddings (Figure A.6 analog)", figures=[figure_paths["pca"]]),
        Section("Which ROIs decode music",
                f"Cross-validated score of every ROI for the {music_analog}-analog "
                f"embedding, subject {first.subject}. Informative ROIs by construction: "
                + ", ".join(first.informative_rois) + ". Selected: "
                + ", ".join(first.decoding[DEMO_MUSIC]["selected_rois"]) + ".",
                figures=[figure_paths["roi_scores"], figure_paths["roi_brain"]]),
        Section("Encoding models",
                "Voxelwise ridge from each embedding to the windowed responses (one alpha per "
                "voxel by cross-validation over clips), scored on the test clips; "
                f"significance by {settings['n_permutations']} clip permutations and "
                "Benjamini-Hochberg FDR (q = 0.05).",
                tables=[Table(["", "mean \u00b1 std over subjects"], [
                    ["voxels significant, informative ROIs (fraction)",
                     format_mean_std(encoding["fraction_significant_informative"])],
                    ["voxels significant, other ROIs (fraction)",
                     format_mean_std(encoding["false_positive_rate_other"])],
                    ["false discovery proportion",
                     format_mean_std(encoding["false_discovery_proportion"])],
                ] + [[f"mean r in informative ROIs, {_name(results, key)}",
                      format_mean_std(value["mean_r_informative"])]
                     for key, value in encoding["feature_spaces"].items()])],
                figures=[figure_paths["encoding_map"], figure_paths["encoding_spaces"]]),
        Section("Files and settings", tables=[Table(["", ""], [
            ["results", "results.json"],
            ["models", f"models/ ({len(model_paths)} {settings['save_format']} files; "
                       f"reloaded and checked: {'identical' if roundtrip else 'DIFFERENT'} "
                       "predictions)"],
            ["scale", settings["scale"]],
            ["seed", settings["random_state"]],
            ["wall time", f"{elapsed:.0f} s"],
            ["parallel", settings["scheduler"] or f"n_jobs={settings['n_jobs']}"],
        ])]),
    ]
    content = results.to_dict()
    content["settings"] = settings
    report, _ = write_report(out, "skbrainmusic demo: music decoded from simulated brains",
                             sections, {
                                 "command": "demo", **content,
                                 "python": platform.python_version(),
                                 "model_roundtrip_identical": roundtrip,
                                 "files": {
                                     "figures": {name: path.relative_to(out)
                                                 for name, path in figure_paths.items()},
                                     "audio": [{name: path.relative_to(out)
                                                for name, path in row.files.items()}
                                               for row in audio_rows],
                                     "models": sorted(model_paths)},
                                 "wall_time_s": elapsed},
                             subtitle=f"scale {settings['scale']}, seed "
                                      f"{settings['random_state']}")
    return _text_tables(results, summary) + f"\n\nreport: {report}"

"""The demo's output folder: figures, WAVs, saved models, report.html and results.json."""

import platform

import numpy as np

from .. import __version__
from ..persistence import load_model, save_model
from . import _figures as figures
from ._demo import EMBEDDINGS, EVALUATION_EMBEDDINGS, LOW_LEVEL, MUSIC
from ._report import AudioRow, Section, Table, format_mean_std, write_report

_SPECS = {spec.key: spec for spec in EMBEDDINGS}
_METHODS = ("retrieval", "generation")
_REFERENCES = ("oracle retrieval", "oracle generation", "chance")
_GROUPS = ("genres", "instruments", "moods")


def _write_wav(path, audio, sample_rate):
    import soundfile

    soundfile.write(path, np.asarray(audio, dtype=np.float32), sample_rate, subtype="PCM_16")
    return path


def _save_models(out, subject_results, save_format):
    folder = out / "models"
    folder.mkdir(exist_ok=True)
    suffix = ".skops" if save_format == "skops" else ".joblib"
    paths = {}
    for result in subject_results:
        for key, model in result["models"].items():
            path = folder / f"sub-{result['subject']:02d}_{key}{suffix}"
            paths[path.name] = save_model(model, path, format=save_format)
    return paths


def _check_roundtrip(path, model, responses):
    """Load a saved model back (types checked) and compare its predictions bit for bit."""
    loaded = load_model(path, allow_pickle=path.suffix != ".skops")
    return bool(np.array_equal(loaded.predict(responses), model.predict(responses)))


def _audio_examples(out, context, local, first, oracle_audio):
    study = local["study"]
    rate = context["sample_rate"]
    folder = out / "audio"
    folder.mkdir(exist_ok=True)
    rows, waves = [], []
    for i, row in enumerate(context["example_rows"]):
        clip = study.clips_test.iloc[row]
        name = f"{clip.clip_id}".replace("/", "_")
        versions = {
            "stimulus": study.audio_test[row],
            "retrieved": local["corpus_audio"][first["retrieved_rows"][row]],
            "generated": first["example_generated"][i],
            "generated from the true embedding": oracle_audio[row],
        }
        files = {
            column: _write_wav(folder / f"{name}_{column.split()[0]}"
                               f"{'-oracle' if 'true' in column else ''}.wav", wave, rate)
            for column, wave in versions.items()
        }
        label = f"{clip.clip_id} ({clip.genre})"
        rows.append(AudioRow(label, files))
        waves.append((label, {k: versions[k] for k in ("stimulus", "retrieved", "generated")}))
    return rows, waves


def _table1(summary):
    rows = []
    for spec in EMBEDDINGS:
        values = summary["table1"][spec.key]
        rows.append([
            f"{spec.label} ({spec.analog} analog)",
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


def _figure1_table(summary):
    reconstruction = summary["reconstruction"]
    header = (["music"]
              + [f"identification ({_SPECS[key].analog} analog)" for key in
                 EVALUATION_EMBEDDINGS]
              + [f"{group} top-{n}" for group, n in zip(_GROUPS, (2, 2, 1))])
    rows = []
    for method in _METHODS:
        rows.append(
            [method]
            + [format_mean_std(reconstruction["identification"][method][key])
               for key in EVALUATION_EMBEDDINGS]
            + [format_mean_std(reconstruction["agreement"][method][group]) for group in _GROUPS])
    for name in _REFERENCES:
        values = reconstruction["references"][name]
        rows.append([name]
                    + [f"{values['identification'][key]:.3f}" for key in EVALUATION_EMBEDDINGS]
                    + [f"{values['agreement'][group]:.3f}" for group in _GROUPS])
    return Table(header, rows, caption=(
        "Retrieval and generation from the embeddings predicted from fMRI (mean \u00b1 std over "
        "subjects); oracle: the same from the true embedding; chance: a random corpus clip."))


def _figures(out, context, local, subject_results, summary, example_waves):
    folder = out / "figures"
    folder.mkdir(exist_ok=True)
    first = subject_results[0]
    study = local["study"]
    table1 = summary["table1"]
    reconstruction = summary["reconstruction"]
    references = reconstruction["references"]
    paths = {}
    paths["table1"] = figures.grouped_bars(
        {_SPECS[key].analog + " analog": {
            "test": table1[key]["identification_test"],
            "train": table1[key]["identification_train"]} for key in table1},
        folder / "table1_identification.png", ylabel="identification accuracy",
        title="Table 1 analog: embeddings decoded from fMRI",
        reference_lines={_SPECS[key].analog + " analog": {"chance": 0.5} for key in table1},
        ylim=(0.3, 1.02))
    paths["figure1a"] = figures.grouped_bars(
        {_SPECS[key].analog + " analog": {
            method: reconstruction["identification"][method][key] for method in _METHODS}
         for key in EVALUATION_EMBEDDINGS},
        folder / "figure1a_identification.png", ylabel="identification accuracy",
        title="Fig. 1a analog: reconstructed vs original music",
        reference_lines={_SPECS[key].analog + " analog": {
            "chance": references["chance"]["identification"][key],
            "oracle": references["oracle generation"]["identification"][key]}
            for key in EVALUATION_EMBEDDINGS},
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
        example_waves, context["sample_rate"], folder / "figureA4_spectrograms.png")
    paths["pca"] = figures.embedding_pca(
        context["embeddings"][MUSIC][1].mean(axis=1), first["predicted_music"],
        list(study.clips_test.genre), folder / "figureA6_embedding_pca.png",
        title=f"Fig. A.6 analog: {_SPECS[MUSIC].analog}-analog embeddings of the test clips, "
              f"subject {first['subject']}")
    roi_scores = first["roi_scores"][MUSIC]
    names = list(roi_scores)
    paths["roi_scores"] = figures.roi_scores(
        [roi_scores[name] for name in names], names, folder / "roi_scores.png",
        highlight=first["informative_rois"],
        title=f"ROI ranking, subject {first['subject']} (dark: informative by construction)")
    paths["encoding_map"] = figures.voxel_map(
        first["voxel_scores"], study.mask_img, folder / "encoding_map.png",
        significant=first["significant"],
        title=f"Encoding ({_SPECS[MUSIC].analog} analog), subject {first['subject']}")
    spaces = summary["encoding"]["feature_spaces"]
    paths["encoding_spaces"] = figures.grouped_bars(
        {_SPECS[key].analog + " analog": {"informative ROIs": spaces[key]["mean_r_informative"],
                                          "other ROIs": spaces[key]["mean_r_other"]}
         for key in spaces},
        folder / "encoding_feature_spaces.png", ylabel="held-out Pearson r",
        title="Encoding: feature spaces compared (Fig. 3 analog)")
    return paths


def _text_tables(summary):
    lines = ["Table 1 analog (mean \u00b1 std over subjects; chance identification 0.5)",
             f"{'embedding':<34}{'ident. test':>18}{'ident. train':>18}{'corr. test':>18}"
             f"{'corr. train':>18}"]
    for spec in EMBEDDINGS:
        values = summary["table1"][spec.key]
        lines.append(f"{spec.analog + ' analog':<34}"
                     + "".join(f"{format_mean_std(values[m]):>18}" for m in (
                         "identification_test", "identification_train", "correlation_test",
                         "correlation_train")))
    reconstruction = summary["reconstruction"]
    lines += ["", "Figure 1a,b analog (identification of reconstructions; top-n agreement)",
              f"{'music':<20}{'ident. music':>16}{'ident. low-lvl':>16}{'genres':>16}"
              f"{'instruments':>16}{'moods':>16}"]
    for method in _METHODS:
        cells = [format_mean_std(reconstruction["identification"][method][k])
                 for k in EVALUATION_EMBEDDINGS]
        cells += [format_mean_std(reconstruction["agreement"][method][g]) for g in _GROUPS]
        lines.append(f"{method:<20}" + "".join(f"{c:>16}" for c in cells))
    for name in _REFERENCES:
        values = reconstruction["references"][name]
        cells = [f"{values['identification'][k]:.3f}" for k in EVALUATION_EMBEDDINGS]
        cells += [f"{values['agreement'][g]:.3f}" for g in _GROUPS]
        lines.append(f"{name:<20}" + "".join(f"{c:>16}" for c in cells))
    encoding = summary["encoding"]
    lines += ["", "Encoding (voxels significant after FDR q=0.05): "
              f"informative ROIs {format_mean_std(encoding['fraction_significant_informative'])}"
              f", other ROIs {format_mean_std(encoding['false_positive_rate_other'])}"]
    return "\n".join(lines)


def write_demo_report(out, context, local, subject_results, summary, oracle_rows,
                      oracle_audio, *, elapsed):
    """Write everything; return the text tables printed on stdout (ending with the path)."""
    settings = context["settings"]
    first = subject_results[0]
    study = local["study"]
    model_paths = _save_models(out, subject_results, settings["save_format"])
    music_model = first["models"][MUSIC]
    roundtrip_path = out / "models" / (
        f"sub-{first['subject']:02d}_{MUSIC}"
        + (".skops" if settings["save_format"] == "skops" else ".joblib"))
    roundtrip = _check_roundtrip(roundtrip_path, music_model, study.responses_test)
    audio_rows, example_waves = _audio_examples(out, context, local, first, oracle_audio)
    figure_paths = _figures(out, context, local, subject_results, summary, example_waves)

    n_train, n_test = len(study.clips_train), len(study.clips_test)
    n_voxels = study.responses_train.shape[-1]
    n_corpus = local["corpus_audio"].shape[0]
    table1 = summary["table1"]
    reconstruction = summary["reconstruction"]
    music = table1[MUSIC]["identification_test"]
    generation = reconstruction["identification"]["generation"][MUSIC]
    encoding = summary["encoding"]
    headline = (
        f"{len(subject_results)} simulated subjects, {n_train} training and {n_test} test "
        f"clips of 15 s, {n_voxels} voxels in {len(study.roi_names)} ROIs. The "
        f"{_SPECS[MUSIC].analog}-analog embedding of held-out clips is identified from fMRI "
        f"with accuracy {format_mean_std(music)} (chance 0.5); music generated from the "
        f"predicted embedding is identified with {format_mean_std(generation)}.")
    sections = [
        Section("Summary", headline + "\n\n" + (
            "Everything here is computed from a simulated study (skbrainmusic.datasets."
            "make_synthetic_study): genre-styled music rendered with General MIDI instruments, "
            "and brains whose few auditory ROIs respond to the music's band energies, onsets "
            "and a genre/instrument/mood latent, with haemodynamic lag, drift and noise. "
            "Embeddings are offline stand-ins for the paper's models (see the user guide).")),
        Section("Decoding music embeddings from fMRI (Table 1 analog)",
                "TemporalWindowAligner -> ROIEnsembleRidge (per-ROI ridge, one alpha per "
                "target by cross-validation over clips, the 6 best ROIs averaged). Train: "
                "scored on the training clips after fitting on them; test: held-out clips.",
                tables=[_table1(summary)], figures=[figure_paths["table1"]]),
        Section("Reconstructing music (Figure 1a, b analog)",
                f"The {_SPECS[MUSIC].analog}-analog embedding predicted for each test clip "
                "(standardised per dimension with the statistics of out-of-fold predictions of "
                "the training clips, since ridge predictions are shrunk towards the mean; "
                "windows averaged) is turned into music by "
                f"retrieval from a {n_corpus}-clip corpus and by the spectrogram generator. "
                "Reconstructions are compared with "
                f"the stimuli through the {_SPECS[MUSIC].analog}-analog and "
                f"{_SPECS[LOW_LEVEL].analog}-analog embeddings of their audio, and through "
                "the top-n classes of an audio tagger fitted on the corpus labels.",
                tables=[_figure1_table(summary)],
                figures=[figure_paths["figure1a"], figure_paths["figure1b"]]),
        Section("Per genre (Figure 1c analog)",
                tables=[Table(["genre", "identification (generation)"],
                              [[genre, format_mean_std(value)]
                               for genre, value in summary["per_genre"].items()])],
                figures=[figure_paths["figure1c"]]),
        Section("Listen (Figure A.4 analog)",
                f"Test clips of subject {first['subject']}: the stimulus, the corpus clip "
                "retrieved from the predicted embedding, music generated from it, and music "
                "generated from the stimulus' true embedding (the generator's ceiling).",
                figures=[figure_paths["spectrograms"]], audio=audio_rows),
        Section("Predicted embeddings (Figure A.6 analog)", figures=[figure_paths["pca"]]),
        Section("Which ROIs decode music",
                f"Cross-validated score of every ROI for the {_SPECS[MUSIC].analog}-analog "
                f"embedding, subject {first['subject']}. Informative ROIs by construction: "
                + ", ".join(first["informative_rois"]) + ". Selected: "
                + ", ".join(first["decoding"][MUSIC]["selected_rois"]) + ".",
                figures=[figure_paths["roi_scores"]]),
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
                ] + [[f"mean r in informative ROIs, {_SPECS[key].analog} analog",
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
    results = {
        "command": "demo",
        "skbrainmusic_version": __version__,
        "python": platform.python_version(),
        "settings": {key: value for key, value in settings.items()},
        "study": {"n_train": n_train, "n_test": n_test, "n_voxels": n_voxels,
                  "n_rois": len(study.roi_names), "n_corpus": n_corpus},
        "embeddings": {spec.key: {"label": spec.label, "analog": spec.analog,
                                  "window": spec.window,
                                  "dimension": context["embeddings"][spec.key][0].shape[-1],
                                  "n_windows": context["embeddings"][spec.key][0].shape[1]}
                       for spec in EMBEDDINGS},
        **summary,
        "subjects": [
            {"subject": r["subject"], "decoding": r["decoding"],
             "reconstruction": {method: {"identification": r["reconstruction"][method][0],
                                         "agreement": r["reconstruction"][method][1]}
                                for method in _METHODS},
             "per_genre": r["per_genre"], "encoding": r["encoding"],
             "informative_rois": r["informative_rois"],
             "roi_scores": r["roi_scores"][MUSIC]}
            for r in subject_results],
        "oracle_retrieved_corpus_rows": oracle_rows,
        "model_roundtrip_identical": roundtrip,
        "files": {
            "figures": {name: path.relative_to(out) for name, path in figure_paths.items()},
            "audio": [{name: path.relative_to(out) for name, path in row.files.items()}
                      for row in audio_rows],
            "models": sorted(model_paths),
        },
        "wall_time_s": elapsed,
    }
    report, _ = write_report(out, "skbrainmusic demo: music decoded from simulated brains",
                             sections, results,
                             subtitle=f"scale {settings['scale']}, seed "
                                      f"{settings['random_state']}")
    return _text_tables(summary) + f"\n\nreport: {report}"

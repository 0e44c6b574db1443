"""Rendering shared by ``demo`` and ``decode``: WAVs, saved models, statistics tables."""

import numpy as np

from ..persistence import save_model
from ._output import write_output
from ._report import AudioRow, Table, format_mean_std


def write_wav(path, audio, sample_rate):
    """Write a 16-bit WAV file atomically (never through a link); return its path."""
    import soundfile

    return write_output(path, lambda temporary: soundfile.write(
        temporary, np.asarray(audio, dtype=np.float32), sample_rate, subtype="PCM_16",
        format="WAV"))


def model_suffix(save_format):
    return ".skops" if save_format == "skops" else ".joblib"


def save_models(folder, results, save_format):
    """Save every subject's fitted decoders; return ``{file name: path}``."""
    folder.mkdir(exist_ok=True)
    paths = {}
    for result in results.subjects:
        for key, model in result.models.items():
            path = folder / f"sub-{result.subject:02d}_{key}{model_suffix(save_format)}"
            paths[path.name] = write_output(
                path, lambda temporary, model=model: save_model(model, temporary,
                                                                format=save_format))
    return paths


def audio_examples(folder, results):
    """WAVs of the example clips (stimulus, retrieved, generated ...) of the first subject.

    Returns
    -------
    rows : list of AudioRow
        For the report's audio table.
    waves : list of (label, {column: waveform})
        Stimulus, retrieved and generated audio, for the spectrogram figure.
    """
    folder.mkdir(exist_ok=True)
    rows, waves = [], []
    for position, example in enumerate(results.examples.itertuples()):
        name = f"{example.clip_id}".replace("/", "_")
        versions = {column: audio[position] for column, audio in results.example_audio.items()}
        files = {
            column: write_wav(folder / f"{name}_{column.split()[0]}"
                              f"{'-oracle' if 'true' in column else ''}.wav", wave,
                              results.sample_rate)
            for column, wave in versions.items()}
        label = f"{example.clip_id} ({example.genre})"
        rows.append(AudioRow(label, files))
        waves.append((label, {column: wave for column, wave in versions.items()
                              if "true" not in column}))
    return rows, waves


def format_interval(interval, digits=3):
    """``[0.512, 0.734]``; ``n/a`` for an undefined interval."""
    if interval is None or interval[0] is None or np.isnan(interval[0]):
        return "n/a"
    return f"[{interval[0]:.{digits}f}, {interval[1]:.{digits}f}]"


def statistics_tables(results):
    """Tables of the tests against chance per subject and of generation vs retrieval."""
    confidence = f"{results.settings['confidence']:.0%}"
    tests = results.tests
    rows = [[row.subject, f"{row.row}: {row.score}", f"{row.value:.3f}",
             format_interval((row.ci_low, row.ci_high)), f"{row.p_value:.4f}"]
            for row in tests.itertuples()]
    tables = [Table(["subject", "number", "value", f"{confidence} interval", "p (chance)"],
                    rows, caption=(
                        f"Intervals: bootstrap over test clips ({results.settings['n_bootstraps']}"
                        " resamples). p: one-sided permutation test against chance "
                        f"({results.settings['n_permutations']} shuffles of the clips' "
                        "pairing with the stimuli)."))]
    paired = results.generation_vs_retrieval
    if len(paired):
        tables.append(Table(
            ["score", "generation - retrieval", f"{confidence} interval"],
            [[score, f"{row.difference:+.3f}", format_interval((row.ci_low, row.ci_high))]
             for score, row in paired.iterrows()],
            caption="Paired over clips: mean over subjects of the per-clip difference, "
                    "bootstrapped over clips."))
    return tables


def _decoded_cell(value, proba):
    """``"rock (0.81)"``; ``"n/a"`` when nothing was decoded (e.g. no genre labels)."""
    if value is None:
        return "n/a"
    return value if proba is None or proba != proba else f"{value} ({proba:.2f})"


def attribute_tables(results):
    """Tables of the musical attributes a generator decoded: their accuracy over the test
    clips (from fMRI and from shuffled responses) and the example clips' decoded attributes
    beside the true ones (empty without such a generator)."""
    summary = results.summary().get("attributes")
    if not summary:
        return []
    names = list(next(iter(summary.values())))
    tables = [Table(["decoded from"] + names,
                    [[method] + [format_mean_std(values[name]) for name in names]
                     for method, values in summary.items()],
                    caption="Accuracy of the attributes decoded from the predicted embedding "
                            "against the clips' true ones (mean \u00b1 std over subjects; key: "
                            "tonic, chance 1/12; tempo within 4%, octave errors counted "
                            "right). Shuffled responses: the same from a decoder fitted on "
                            "responses shuffled across clips (chance).")]
    table = results.example_attributes
    if table is None:
        return tables
    header, columns = ["clip"], []
    for name in ("genre", "tempo", "key", "instruments"):
        if name in table:
            header.append(f"true {name}")
            columns.append(name)
        header.append(f"decoded {name}")
        columns.append(f"decoded_{name}")
    rows = []
    for row in table.to_dict(orient="records"):
        cells = [row["clip_id"]]
        for column in columns:
            value = row[column]
            if column in ("decoded_genre", "decoded_key"):
                value = _decoded_cell(value, row[f"{column}_proba"])
            elif isinstance(value, float):
                value = f"{value:.0f}"
            elif isinstance(value, list):
                value = ", ".join(value)
            cells.append(value)
        rows.append(cells)
    tables.append(Table(header, rows, caption=(
        f"Example clips, subject {results.subjects[0].subject}: the attributes the generator "
        "decoded from the predicted embedding (probability in brackets; tempo in BPM) beside "
        "the clips' true ones.")))
    return tables

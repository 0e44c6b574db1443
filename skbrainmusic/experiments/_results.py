"""The results of an experiment: per-subject numbers, summaries over subjects, statistics."""

import math
from dataclasses import dataclass
from pathlib import PurePath

import numpy as np
import pandas as pd

from .._version import __version__
from . import _statistics as stats

_TABLE1_METRICS = ("identification_test", "identification_train", "correlation_test",
                   "correlation_train", "within_genre_identification_test",
                   "selected_informative")
_METHODS = ("retrieval", "generation")
_REFERENCES = ("oracle retrieval", "oracle generation", "chance")
_KINDS = ("identification", "within_genre_identification", "agreement")


def _column_path(column):
    """``("identification", key)``-style path of a score column of
    :func:`~skbrainmusic.evaluation.score_reconstructions`."""
    if column.startswith("top_n_"):
        return ("agreement", column[len("top_n_"):])
    if column.endswith("_within_group"):
        return ("within_genre_identification",
                column[len("identification_"):-len("_within_group")])
    return ("identification", column[len("identification_"):])


def to_builtin(value, *, nan_as_none=False):
    """NumPy scalars and arrays, and paths, nested in dicts and lists, as JSON-able Python
    values.

    Parameters
    ----------
    value : object
        E.g. a dict of results.
    nan_as_none : bool, default=False
        Write NaN (an undefined number) as None; otherwise NaN stays, which a strict JSON
        writer refuses.

    Returns
    -------
    value : object

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic.experiments import to_builtin
    >>> to_builtin({"a": (np.int64(2), np.array([0.5, np.nan]))}, nan_as_none=True)
    {'a': [2, [0.5, None]]}
    """
    if isinstance(value, dict):
        return {str(key): to_builtin(item, nan_as_none=nan_as_none)
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_builtin(item, nan_as_none=nan_as_none) for item in value]
    if isinstance(value, np.ndarray):
        return to_builtin(value.tolist(), nan_as_none=nan_as_none)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, PurePath):
        return str(value)
    if nan_as_none and isinstance(value, float) and math.isnan(value):
        return None
    return value


def _nest(flat):
    """``{("a", "b"): v}`` -> ``{"a": {"b": v}}``."""
    nested = {}
    for path, value in flat.items():
        node = nested
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return nested


def mean_std(values):
    """``{"mean", "std", "values"}`` of numbers (population std, as the paper)."""
    values = np.asarray(values, dtype=float)
    return {"mean": float(values.mean()), "std": float(values.std()), "values": values.tolist()}


@dataclass
class SubjectResult:
    """One subject's numbers and fitted models (see :class:`ExperimentResults`).

    Attributes
    ----------
    subject : int
        Subject number.
    decoding : dict
        Table 1 per embedding: ``identification_test``, ``identification_train``,
        ``correlation_test``, ``correlation_train``, ``within_genre_identification_test``
        (when a genre has two test clips), ``selected_rois`` and ``selected_informative``
        (when the informative ROIs are known).
    roi_scores : dict
        Per embedding, the cross-validated score of every ROI.
    informative_rois : list of str or None
        Names of the ROIs that carry the stimulus (synthetic studies only).
    reconstruction : dict
        Figure 1 per method (``"retrieval"``, ``"generation"``): ``identification`` and
        ``within_genre_identification`` per evaluation embedding, ``agreement`` per
        AudioSet group.
    per_genre : dict
        Identification of the generated (else retrieved) music per genre.
    decoding_per_genre : dict
        Identification of the decoded music embedding per genre (mean, std, values over
        clips).
    encoding : dict or None
        Encoding summary.
    models : dict
        The fitted Table-1 decoders by embedding.
    calibrated_decoder : CalibratedDecoder
        The music decoder whose calibrated predictions are reconstructed.
    predicted_music : ndarray of shape (n_test, d)
        Predicted music embeddings (windows averaged).
    retrieved_rows : ndarray of shape (n_reconstructions,)
        Corpus rows retrieved.
    example_generated : ndarray of shape (n_examples, n_samples) or None
        Generated audio of the example clips.
    attributes : dict
        With a generator that decodes musical attributes (``decode_attributes``), their
        accuracy on the reconstructed test clips (``genre``, ``key``, ``mode``, ``tempo``;
        see :func:`~skbrainmusic.experiments.attribute_accuracy`) from the predicted
        embeddings (``"generation"``) and from those of a decoder fitted on shuffled
        responses (``"shuffled responses"``, chance); empty otherwise.
    example_attributes : pandas.DataFrame or None
        The attributes decoded for the example clips (``decode_attributes`` rows).
    voxel_scores, significant : ndarray of shape (n_voxels,) or None
        Held-out r of the music encoding model and its FDR-significant voxels.
    roi_labels : ndarray of shape (n_voxels,) or None
        ROI of every voxel.
    mask_img : nibabel image or None
        The voxels' mask in their space (the study's ``mask_img``), to draw maps as brains.
    per_clip : dict of str to DataFrame
        Per method, the per-clip scores of
        :func:`~skbrainmusic.evaluation.score_reconstructions`.
    statistics : dict
        Per number (keyed by its path), its ``value``, bootstrap ``replicates`` and
        ``p_value`` (tests against chance).
    """

    subject: int
    decoding: dict
    roi_scores: dict
    informative_rois: list
    reconstruction: dict
    per_genre: dict
    decoding_per_genre: dict
    encoding: dict
    models: dict
    calibrated_decoder: object
    predicted_music: np.ndarray
    retrieved_rows: np.ndarray
    example_generated: np.ndarray
    attributes: dict
    example_attributes: pd.DataFrame
    voxel_scores: np.ndarray
    significant: np.ndarray
    roi_labels: np.ndarray
    mask_img: object
    per_clip: dict
    statistics: dict


@dataclass
class ExperimentResults:
    """Everything :func:`run_experiment` measured.

    Attributes
    ----------
    settings : dict
        The experiment's settings (JSON-able).
    study : dict
        Sizes: ``n_train``, ``n_test``, ``n_voxels``, ``n_rois``, ``n_corpus``, ``corpus``.
    embeddings : dict
        Per embedding: ``label``, ``analog``, ``window``, ``source``, ``standardize``,
        ``dimension``, ``n_windows``.
    subjects : list of SubjectResult
        Per subject: ``decoding`` (Table 1 numbers), ``reconstruction`` (Figure 1
        numbers), ``per_genre``, ``encoding``, ``models`` (the fitted decoders),
        ``calibrated_decoder``, ``per_clip`` (per-clip Figure-1 scores by method),
        ``statistics`` (bootstrap replicates and p-values) and arrays for figures.
    references : dict
        Figure-1 numbers of ``"oracle retrieval"``, ``"oracle generation"`` and
        ``"chance"`` (shared by all subjects: they do not use the brain).
    reference_statistics : dict
        Their bootstrap replicates.
    oracle_rows : ndarray of shape (n_reconstructions,)
        Corpus rows retrieved with the true embeddings.
    examples : pandas.DataFrame
        The example clips (``row``, ``clip_id``, ``genre``).
    example_audio : dict of str to ndarray of shape (n_examples, n_samples)
        Their ``"stimulus"``, ``"retrieved"`` and (with a generator) ``"generated"`` and
        ``"generated from the true embedding"`` audio, for the first subject.
    sample_rate : int
        Sample rate of the audio.
    test_clips : pandas.DataFrame
        The test clips' table.
    true_music : ndarray of shape (n_test, d)
        True music embeddings of the test clips (windows averaged).
    example_attributes : pandas.DataFrame or None
        With a generator that decodes musical attributes: those decoded for the example
        clips (first subject) beside their true ones, from
        :func:`~skbrainmusic.experiments.attribute_table`.
    """

    settings: dict
    study: dict
    embeddings: dict
    subjects: list
    references: dict
    reference_statistics: dict
    oracle_rows: np.ndarray
    examples: pd.DataFrame
    example_audio: dict
    sample_rate: int
    test_clips: pd.DataFrame
    true_music: np.ndarray
    example_attributes: pd.DataFrame = None

    # Summaries over subjects (the report's mean +- std) -------------------------------

    def _over_subjects(self, get):
        return mean_std([get(result) for result in self.subjects])

    def summary(self):
        """Mean +- std over subjects of every per-subject number, as nested dicts.

        Returns
        -------
        summary : dict
            ``table1``, ``reconstruction`` (``identification``,
            ``within_genre_identification``, ``agreement``, ``references``),
            ``per_genre``, ``encoding`` (when fitted) and ``attributes`` (accuracy of
            the decoded musical attributes, with a generator that decodes them).
        """
        first = self.subjects[0]
        table1 = {}
        for key in self.embeddings:
            table1[key] = {metric: self._over_subjects(lambda r, k=key, m=metric:
                                                       r.decoding[k][m])
                           for metric in _TABLE1_METRICS if metric in first.decoding[key]}
        reconstruction = {}
        for kind in _KINDS:
            reconstruction[kind] = {
                method: {name: self._over_subjects(
                    lambda r, m=method, k=kind, n=name: r.reconstruction[m][k][n])
                    for name in first.reconstruction[method][kind]}
                for method in first.reconstruction if kind in first.reconstruction[method]}
        reconstruction["references"] = self.references
        summary = {"table1": table1, "reconstruction": reconstruction,
                   "per_genre": {genre: self._over_subjects(lambda r, g=genre: r.per_genre[g])
                                 for genre in sorted(first.per_genre)}}
        if first.attributes:
            summary["attributes"] = {
                method: {name: self._over_subjects(lambda r, m=method, n=name:
                                                   r.attributes[m][n])
                         for name in values}
                for method, values in first.attributes.items()}
        if first.encoding is not None:
            encoding = {key: self._over_subjects(lambda r, k=key: r.encoding[k])
                        for key, value in first.encoding.items() if not isinstance(value, dict)}
            encoding["feature_spaces"] = {
                key: {stat: self._over_subjects(
                    lambda r, k=key, s=stat: r.encoding["feature_spaces"][k][s])
                    for stat in values}
                for key, values in first.encoding["feature_spaces"].items()}
            summary["encoding"] = encoding
        return summary

    # Statistics ------------------------------------------------------------------------

    def _flat_statistics(self):
        """Every statistic keyed by its path, e.g. ``("table1", key, metric)``."""
        confidence = self.settings["confidence"]
        flat = {}
        for path in self.subjects[0].statistics:
            estimates = [result.statistics[path] for result in self.subjects
                         if path in result.statistics]
            if len(estimates) != len(self.subjects):
                continue
            replicates = np.mean([estimate["replicates"] for estimate in estimates], axis=0)
            entry = {"mean": float(np.mean([estimate["value"] for estimate in estimates])),
                     "ci": stats.interval(replicates, confidence), "subjects": []}
            for result, estimate in zip(self.subjects, estimates):
                subject = {"subject": result.subject, "value": estimate["value"],
                           "ci": stats.interval(estimate["replicates"], confidence)}
                if "p_value" in estimate:
                    subject["p_value"] = estimate["p_value"]
                entry["subjects"].append(subject)
            if path[0] == "generation_minus_retrieval":
                path = (path[0], *_column_path(path[1]))
            flat[path] = entry
        for (_, name, column), estimate in self.reference_statistics.items():
            flat[("references", name, *_column_path(column))] = {
                "value": estimate["value"],
                "ci": stats.interval(estimate["replicates"], confidence)}
        return flat

    def statistics(self):
        """Intervals, tests against chance and paired comparisons of every headline number.

        Returns
        -------
        statistics : dict
            ``methods`` (how they are computed), then per table (``table1``,
            ``reconstruction``, ``per_genre``, ``generation_minus_retrieval``) the mean over
            subjects with its ``ci`` and the per-subject ``value``, ``ci`` and ``p_value``
            (tests against chance), and ``references`` (``value`` and ``ci``).
        """
        methods = {
            "confidence": self.settings["confidence"],
            "n_bootstraps": self.settings["n_bootstraps"],
            "n_permutations": self.settings["n_permutations"],
            "interval": "percentile bootstrap over test clips, the same resamples for every "
                        "number and subject; a mean over subjects is recomputed on each "
                        "resample",
            "test": "one-sided permutation test against chance: the predictions or "
                    "reconstructions are shuffled across test clips (within genre for "
                    "within-genre scores); p = (1 + #{permuted >= observed}) / "
                    "(1 + n_permutations)",
            "paired": "generation minus retrieval, clip by clip, bootstrapped over clips",
        }
        return {"methods": methods, **_nest(self._flat_statistics())}

    # Tables ----------------------------------------------------------------------------

    @property
    def table1(self):
        """Table 1: decoding scores per embedding (rows), ``(metric, statistic)`` columns.

        Statistics: ``mean`` and ``std`` over subjects, ``ci_low`` / ``ci_high`` (bootstrap
        interval over test clips of the mean; held-out scores only).
        """
        summary = self.summary()["table1"]
        flat = self._flat_statistics()
        data = {}
        for key, metrics in summary.items():
            row = {}
            for metric, values in metrics.items():
                interval = flat.get(("table1", key, metric), {}).get("ci", [np.nan, np.nan])
                row.update({(metric, "mean"): values["mean"], (metric, "std"): values["std"],
                            (metric, "ci_low"): interval[0], (metric, "ci_high"): interval[1]})
            data[key] = row
        return pd.DataFrame.from_dict(data, orient="index")

    @property
    def figure1(self):
        """Figure 1a,b: scores of every reconstruction method and reference (rows) with
        ``(score, statistic)`` columns (``mean``, ``std`` over subjects, ``ci_low``,
        ``ci_high``); references, shared by all subjects, have no std."""
        summary = self.summary()["reconstruction"]
        flat = self._flat_statistics()
        data = {}
        for method in self.subjects[0].reconstruction:
            row = {}
            for kind in _KINDS:
                for name, values in summary.get(kind, {}).get(method, {}).items():
                    interval = flat[("reconstruction", method, kind, name)]["ci"]
                    row.update({(f"{kind} {name}", "mean"): values["mean"],
                                (f"{kind} {name}", "std"): values["std"],
                                (f"{kind} {name}", "ci_low"): interval[0],
                                (f"{kind} {name}", "ci_high"): interval[1]})
            data[method] = row
        for name, reference in self.references.items():
            row = {}
            for kind in _KINDS:
                for score, value in reference.get(kind, {}).items():
                    interval = flat[("references", name, kind, score)]["ci"]
                    row.update({(f"{kind} {score}", "mean"): value,
                                (f"{kind} {score}", "std"): np.nan,
                                (f"{kind} {score}", "ci_low"): interval[0],
                                (f"{kind} {score}", "ci_high"): interval[1]})
            data[name] = row
        return pd.DataFrame.from_dict(data, orient="index")

    @property
    def per_genre(self):
        """Figure 1c: identification per genre of the generated (else retrieved) music in the
        music embedding (rows: genres; ``mean``, ``std`` over subjects, ``ci_low``,
        ``ci_high``)."""
        summary = self.summary()["per_genre"]
        flat = self._flat_statistics()
        return pd.DataFrame.from_dict({
            genre: {"mean": values["mean"], "std": values["std"],
                    "ci_low": flat[("per_genre", genre)]["ci"][0],
                    "ci_high": flat[("per_genre", genre)]["ci"][1]}
            for genre, values in summary.items()}, orient="index")

    @property
    def generation_vs_retrieval(self):
        """Paired comparison: generation minus retrieval per score (rows), the mean
        difference over subjects and its bootstrap interval (empty without a generator)."""
        flat = self._flat_statistics()
        rows = {f"{path[1]} {path[2]}": {"difference": entry["mean"], "ci_low": entry["ci"][0],
                                         "ci_high": entry["ci"][1]}
                for path, entry in flat.items() if path[0] == "generation_minus_retrieval"}
        return pd.DataFrame.from_dict(rows, orient="index",
                                      columns=["difference", "ci_low", "ci_high"])

    @property
    def tests(self):
        """Per-subject tests against chance: one row per (subject, number) with its
        ``value``, bootstrap ``ci_low`` / ``ci_high`` and permutation ``p_value``."""
        rows = []
        for path, entry in self._flat_statistics().items():
            for subject in entry.get("subjects", []):
                if "p_value" in subject:
                    rows.append({"subject": subject["subject"], "table": path[0],
                                 "row": path[1], "score": " ".join(path[2:]),
                                 "value": subject["value"], "ci_low": subject["ci"][0],
                                 "ci_high": subject["ci"][1], "p_value": subject["p_value"]})
        return pd.DataFrame(rows)

    @property
    def encoding(self):
        """Encoding summary: mean and std over subjects of every number (rows), feature
        spaces as ``"<embedding> <statistic>"`` rows; ``None`` when not fitted."""
        summary = self.summary().get("encoding")
        if summary is None:
            return None
        rows = {key: {"mean": value["mean"], "std": value["std"]}
                for key, value in summary.items() if key != "feature_spaces"}
        for key, values in summary["feature_spaces"].items():
            for stat, value in values.items():
                rows[f"{key} {stat}"] = {"mean": value["mean"], "std": value["std"]}
        return pd.DataFrame.from_dict(rows, orient="index")

    # JSON ------------------------------------------------------------------------------

    def to_dict(self):
        """The JSON-able content of ``results.json`` (NaN written as None).

        Returns
        -------
        results : dict
            ``skbrainmusic_version``, ``settings``, ``study``, ``embeddings``, the
            summaries over subjects (``table1``, ``reconstruction``, ``per_genre``,
            ``encoding``, ``attributes``), ``subjects`` (per-subject numbers),
            ``statistics``, ``oracle_retrieved_corpus_rows`` and ``example_attributes``.
        """
        music = self.settings["music"]
        subjects = [{
            "subject": result.subject, "decoding": result.decoding,
            "reconstruction": result.reconstruction, "per_genre": result.per_genre,
            "decoding_per_genre": result.decoding_per_genre, "encoding": result.encoding,
            "informative_rois": result.informative_rois,
            "roi_scores": result.roi_scores[music], "attributes": result.attributes}
            for result in self.subjects]
        return to_builtin({
            "skbrainmusic_version": __version__, "settings": self.settings,
            "study": self.study, "embeddings": self.embeddings, **self.summary(),
            "subjects": subjects, "statistics": self.statistics(),
            "oracle_retrieved_corpus_rows": self.oracle_rows,
            "example_attributes": (None if self.example_attributes is None
                                   else self.example_attributes.to_dict(orient="records")),
        }, nan_as_none=True)


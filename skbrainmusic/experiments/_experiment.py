"""The paper's study on data Bunches: decoding (Table 1), reconstruction (Figure 1), encoding."""

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import has_fit_parameter

from .._batches import map_batches, release_pages
from ..calibration import CalibratedDecoder
from ..evaluation import ClipDescription, chance_rows, describe_clips, score_reconstructions
from ..metrics import AUDIOSET_TOP_N, identification_accuracy, pearson_per_target
from ..retrieval import Corpus
from . import _statistics as stats
from ._encoding import aligned_responses, fit_encoder, roi_name
from ._features import StimulusFeatures, TaggerFeatures
from ._results import ExperimentResults, SubjectResult, mean_std

N_ROIS = 6
STEP = 1.5
# Without atlas labels (e.g. the authors' preprocessed arrays) one whole-brain ridge is
# fitted on the voxels most correlated with the targets inside each fold, about as many as
# the paper's top-6 ROIs hold (1,460 voxels for subject 1, Table A.2).
SCREEN_VOXELS = 1500
GROUPS = tuple(AUDIOSET_TOP_N)


def decoding_pipeline(roi_labels, window, *, tr=1.5, clip_duration=15.0, step=STEP,
                      delay=0.0, n_rois=N_ROIS, cv=5, screen_voxels=SCREEN_VOXELS,
                      n_jobs=None):
    """The paper's decoder of one embedding: window-averaged scans -> ROI-ensemble ridge.

    Parameters
    ----------
    roi_labels : array-like of shape (n_voxels,) or None
        ROI of every voxel. ``None`` (no atlas): one whole-brain ridge on the
        ``screen_voxels`` voxels most correlated with the targets inside each fold.
    window : float
        Window of the embedding in seconds (Table A.2).
    tr : float, default=1.5
        Repetition time in seconds.
    clip_duration : float, default=15.0
        Clip length in seconds.
    step : float, default=1.5
        Seconds between window starts.
    n_rois : int, default=6
        ROIs ensembled.
    cv : int, default=5
        Folds over clips of the ridge's alpha and ROI selection.
    screen_voxels : int, default=1500
        Voxels kept without ROI labels.
    n_jobs : int, default=None
        Joblib workers over ROIs.

    Returns
    -------
    decoder : Pipeline
        Unfitted ``TemporalWindowAligner -> ROIEnsembleRidge`` (steps ``"align"``,
        ``"ridge"``).

    Examples
    --------
    >>> from skbrainmusic.experiments import decoding_pipeline
    >>> decoder = decoding_pipeline([1, 1, 2, 2], window=10.0)
    >>> [name for name, _ in decoder.steps]
    ['align', 'ridge']
    """
    from ..alignment import TemporalWindowAligner
    from ..ridge import ROIEnsembleRidge

    if roi_labels is None:
        ridge = ROIEnsembleRidge(None, n_rois=1, cv=cv, screen_voxels=screen_voxels,
                                 n_jobs=n_jobs)
    else:
        # A plain copy: cached studies are memory-mapped, and a model must not keep a
        # reference to a file.
        ridge = ROIEnsembleRidge(np.array(roi_labels), n_rois=n_rois, cv=cv, n_jobs=n_jobs)
    return Pipeline([
        ("align", TemporalWindowAligner(window=window, step=step, tr=tr, delay=delay,
                                        clip_duration=clip_duration)),
        ("ridge", ridge),
    ])


_FULL_LABELS = {"genres", "instruments", "moods"}
# Key of the shuffled-responses control among the fitted decoders.
_SHUFFLED = "shuffled responses"


def clip_labels(clips):
    """AudioSet class names of every clip of a clip table (the tagger's training labels).

    Parameters
    ----------
    clips : pandas.DataFrame
        With columns ``genres``, ``instruments`` and ``moods`` (lists of AudioSet names,
        as in the synthetic study), or ``genre`` (a GTZAN genre, as in ds003720).

    Returns
    -------
    labels : list of lists of str

    Examples
    --------
    >>> import pandas as pd
    >>> from skbrainmusic.experiments import clip_labels
    >>> clip_labels(pd.DataFrame({"genre": ["jazz"]}))
    [['Jazz', 'Blues']]
    """
    if _FULL_LABELS <= set(clips.columns):
        return [list(g) + list(i) + list(m)
                for g, i, m in zip(clips["genres"], clips["instruments"], clips["moods"])]
    if "genre" not in clips.columns:
        raise ValueError("The clip table has neither 'genres'/'instruments'/'moods' nor "
                         f"'genre' columns (it has {list(clips.columns)}): there are no "
                         "labels to fit a tagger on.")
    # ds003720 clips carry a GTZAN genre: its closest AudioSet genre classes.
    from ..datasets import GTZAN_AUDIOSET_GENRES

    return [list(GTZAN_AUDIOSET_GENRES[genre]) for genre in clips["genre"]]


def _field(obj, name):
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def _delay(study):
    """The study's haemodynamic delay in seconds (``delay``; 0 when it has none)."""
    delay = _field(study, "delay")
    return 0.0 if delay is None else float(delay)


@dataclass
class _Corpus:
    ids: list
    audio: np.ndarray
    labels: list
    genres: list
    name: str


def _genres_of(clips):
    """The ``genre`` column of a clip table as a list of str (None without one)."""
    if clips is None or "genre" not in clips.columns:
        return None
    return [str(genre) for genre in clips["genre"]]


def _check_corpus(corpus, study):
    if corpus is None:
        return _Corpus(list(study.clips_train.clip_id), np.asarray(study.audio_train),
                       clip_labels(study.clips_train), _genres_of(study.clips_train),
                       "the training stimuli")
    audio = _field(corpus, "audio")
    if audio is None:
        raise ValueError("corpus has no 'audio': give a mapping or Bunch with 'audio' "
                         "(n_items, n_samples) and optionally 'ids', 'clips', 'labels'.")
    audio = np.asarray(audio, dtype=np.float32)
    if len(audio) < 2:
        raise ValueError(f"The retrieval corpus needs at least 2 clips, got {len(audio)}.")
    rate = _field(corpus, "sample_rate")
    if rate is not None and rate != study.sample_rate:
        raise ValueError(f"corpus audio is at {rate} Hz but the stimuli at "
                         f"{study.sample_rate} Hz: resample the corpus.")
    clips, ids, labels, genres = (_field(corpus, name)
                                  for name in ("clips", "ids", "labels", "genres"))
    if ids is None:
        ids = list(clips.clip_id) if clips is not None else list(range(len(audio)))
    # A corpus without labels (e.g. a folder of music) leaves the tagger to the stimuli's.
    if labels is None and clips is not None and (
            _FULL_LABELS <= set(clips.columns) or "genre" in clips.columns):
        labels = clip_labels(clips)
    genres = _genres_of(clips) if genres is None else [str(genre) for genre in genres]
    return _Corpus(list(ids), audio, labels, genres, _field(corpus, "name") or "the corpus")


class _Quiet:
    """Progress reporting that says nothing (the default of :func:`run_experiment`)."""

    def log(self, message):
        pass

    def track(self, items, description, total=None):
        yield from items


@dataclass
class _Config:
    """Everything a subject task needs besides its study (shipped to parallel workers)."""

    specs: tuple
    music: str
    evaluation: tuple
    cv: int
    n_rois: int
    step: float
    n_permutations: int
    n_bootstraps: int
    random_state: int
    oof: str


@dataclass
class _Stimuli:
    """What all subjects share: stimulus features, corpus, tagger, retriever, generator."""

    embeddings: dict
    features: dict
    tagger: object
    retriever: object
    generator: object
    corpus_description: ClipDescription
    stimulus_description: ClipDescription
    sample_rate: int
    test_clip_ids: list
    genres: np.ndarray
    rows: np.ndarray
    example_rows: list
    genre_mean: ClipDescription
    validation_attributes: object = None


def _at_rate(audio, rate, sample_rate):
    """float32 waveforms resampled from ``rate`` to the stimuli's ``sample_rate``."""
    if rate != sample_rate:
        import librosa

        audio = librosa.resample(np.asarray(audio), orig_sr=rate, target_sr=sample_rate)
    return np.asarray(audio, dtype=np.float32)


def _generate(generator, embeddings, sample_rate, random_state):
    """Waveforms at the stimuli's sample rate."""
    return _at_rate(generator.generate(embeddings, random_state=random_state),
                    generator.sample_rate_, sample_rate)


def tempo_within(estimated, true, tolerance=0.04):
    """Whether each estimated tempo is within ``tolerance`` of the true one, counting
    octave errors (half or double tempo) as right, as beat trackers are scored.

    Parameters
    ----------
    estimated, true : array-like of shape (n_clips,)
        Tempi in BPM.
    tolerance : float, default=0.04
        Relative tolerance.

    Returns
    -------
    correct : ndarray of bool of shape (n_clips,)

    Examples
    --------
    >>> from skbrainmusic.experiments import tempo_within
    >>> tempo_within([121.0, 60.0, 100.0], [120.0, 120.0, 120.0]).tolist()
    [True, True, False]
    """
    estimated, true = np.asarray(estimated, dtype=float), np.asarray(true, dtype=float)
    error = np.min([np.abs(estimated / (true * factor) - 1.0) for factor in (0.5, 1.0, 2.0)],
                   axis=0)
    return error <= tolerance


def attribute_accuracy(decoded, clips):
    """Accuracy of decoded musical attributes against the clips' true ones.

    Parameters
    ----------
    decoded : pandas.DataFrame
        One row per clip, as :meth:`~skbrainmusic.generation.ScoreBackend.decode_attributes`
        returns (``genre``, ``tempo``, ``tonic``, ``mode``).
    clips : pandas.DataFrame
        The same clips' table; its columns ``genre``, ``tempo`` (BPM), ``key`` (tonic
        0-11) and ``major`` (bool), where present, are the truth (the synthetic study's
        score parameters).

    Returns
    -------
    accuracy : dict
        ``genre``, ``key`` (tonic; chance 1/12), ``mode`` and ``tempo`` (within 4%,
        octave errors counted right), for the attributes both tables have.

    Examples
    --------
    >>> import pandas as pd
    >>> from skbrainmusic.experiments import attribute_accuracy
    >>> decoded = pd.DataFrame({"genre": ["rock", "jazz"], "tempo": [120.0, 90.0],
    ...                         "tonic": [0, 2], "mode": ["major", "minor"]})
    >>> clips = pd.DataFrame({"genre": ["rock", "rock"], "tempo": [60.0, 140.0],
    ...                       "key": [0, 5], "major": [True, False]})
    >>> attribute_accuracy(decoded, clips)
    {'genre': 0.5, 'key': 0.5, 'mode': 1.0, 'tempo': 0.5}
    """
    accuracy = {}
    if "genre" in clips and decoded.genre.notna().all():
        accuracy["genre"] = float(np.mean(decoded.genre.to_numpy()
                                          == clips.genre.astype(str).to_numpy()))
    if "key" in clips:
        accuracy["key"] = float(np.mean(decoded.tonic.to_numpy() == clips.key.to_numpy()))
    if "major" in clips:
        accuracy["mode"] = float(np.mean((decoded["mode"].to_numpy() == "major")
                                         == clips.major.to_numpy().astype(bool)))
    if "tempo" in clips:
        accuracy["tempo"] = float(np.mean(tempo_within(decoded.tempo, clips.tempo)))
    return accuracy


def _fit_generator(generator, corpus_embeddings, corpus, sample_rate):
    """``generator`` fitted on the corpus' music embeddings, audio and genres."""
    corpus = Corpus(corpus_embeddings, audio=corpus.audio, sample_rate=sample_rate,
                    labels=corpus.genres)
    return clone(generator).set_params(corpus=corpus).fit()


def _takes_validation(generator):
    """Whether the fitted generator's backend tunes itself on decoded validation clips."""
    return generator is not None and has_fit_parameter(generator.backend_, "validation")


def attribute_table(decoded, clips, *, n_instruments=3):
    """Decoded musical attributes of clips beside their true ones, one row per clip.

    Parameters
    ----------
    decoded : pandas.DataFrame
        As :meth:`~skbrainmusic.generation.ScoreBackend.decode_attributes` returns, one
        row per clip of ``clips``.
    clips : pandas.DataFrame
        The clips' table (``clip_id`` and, where present, the true ``genre``, ``tempo``,
        ``key``, ``major`` and ``instruments`` of the synthetic study's scores).
    n_instruments : int, default=3
        Decoded instruments listed, most probable first.

    Returns
    -------
    table : pandas.DataFrame
        ``clip_id``, then per attribute the true value and the decoded one: ``genre`` /
        ``decoded_genre`` / ``decoded_genre_proba`` (its probability), ``tempo`` /
        ``decoded_tempo`` (BPM), ``key`` / ``decoded_key`` / ``decoded_key_proba`` (e.g.
        ``"A minor"``), ``instruments`` / ``decoded_instruments`` (lists); a true
        attribute the clip table lacks is left out.

    Examples
    --------
    >>> import pandas as pd
    >>> from skbrainmusic.experiments import attribute_table
    >>> decoded = pd.DataFrame({
    ...     "genre": ["rock"], "genre_proba": [{"rock": 0.8, "jazz": 0.2}],
    ...     "tempo": [118.0], "tonic": [9], "mode": ["minor"], "key": ["A minor"],
    ...     "key_proba": [0.4], "instruments": [["Guitar", "Drum kit"]]})
    >>> clips = pd.DataFrame({"clip_id": ["rock.00001"], "genre": ["rock"],
    ...                       "tempo": [120.0], "key": [9], "major": [False],
    ...                       "instruments": [["Guitar", "Bass guitar"]]})
    >>> table = attribute_table(decoded, clips)
    >>> table.loc[0, ["genre", "decoded_genre", "decoded_genre_proba", "key", "decoded_key"]]
    ... # doctest: +NORMALIZE_WHITESPACE
    genre                     rock
    decoded_genre             rock
    decoded_genre_proba        0.8
    key                    A minor
    decoded_key            A minor
    Name: 0, dtype: object
    """
    from ..composer import key_name

    clips = clips.reset_index(drop=True)
    decoded = decoded.reset_index(drop=True)
    table = pd.DataFrame({"clip_id": clips.clip_id.astype(str)})
    if "genre" in clips:
        table["genre"] = clips.genre.astype(str)
    table["decoded_genre"] = decoded.genre
    table["decoded_genre_proba"] = [None if proba is None else proba[genre] for genre, proba
                                    in zip(decoded.genre, decoded.genre_proba)]
    if "tempo" in clips:
        table["tempo"] = clips.tempo.astype(float)
    table["decoded_tempo"] = decoded.tempo.astype(float)
    if {"key", "major"} <= set(clips.columns):
        table["key"] = [key_name(tonic, major) for tonic, major in zip(clips.key, clips.major)]
    table["decoded_key"] = decoded.key
    table["decoded_key_proba"] = decoded.key_proba.astype(float)
    if "instruments" in clips:
        table["instruments"] = [list(names) for names in clips.instruments]
    table["decoded_instruments"] = [list(names)[:n_instruments]
                                    for names in decoded.instruments]
    return table


def _example_rows(genres, rows, n_examples):
    """The first reconstructed clip of every genre, up to ``n_examples``, in clip order."""
    first = {}
    for row in rows:
        first.setdefault(genres[row], int(row))
    return sorted(first.values())[:n_examples]


# Corpus clips embedded or tagged at a time: embedders copy the clips they are given, so a
# corpus of any size costs one batch of audio (and its memory-mapped pages are let go).
CORPUS_BATCH = 64


def _corpus_batches(transform, audio):
    """``transform`` (row by row) of the corpus ``audio``, ``CORPUS_BATCH`` clips at a time
    (in parallel under joblib's ``parallel_config``)."""
    return np.concatenate(map_batches(transform, audio, CORPUS_BATCH))


def _prepare_stimuli(study, config, corpus, generator, tagger, n_reconstructions,
                     n_examples, progress):
    rate = study.sample_rate
    embeddings, features = {}, {}
    for spec in progress.track(config.specs, "embedding the stimuli"):
        train, test = ((study.audio_train, study.audio_test) if spec.source == "audio"
                       else (_field(study, "captions_train"), _field(study, "captions_test")))
        if train is None:
            raise ValueError(f"Embedding {spec.key!r} reads captions but the study has no "
                             "captions_train/captions_test.")
        stimulus = StimulusFeatures(spec.embedder, standardize=spec.standardize)
        embeddings[spec.key] = (stimulus.fit_transform(train), stimulus.transform(test))
        if spec.source == "audio":
            features[spec.key] = stimulus
    corpus = _check_corpus(corpus, study)
    progress.log(f"embedding the retrieval corpus ({len(corpus.ids)} clips)")
    corpus_embeddings = {key: _corpus_batches(features[key].transform, corpus.audio)
                         for key in dict.fromkeys((*config.evaluation, config.music))}
    if isinstance(tagger, str):
        tagger = _music_tagger(tagger, features, config.music)
    elif tagger is not None:
        tagger = clone(tagger, safe=False)
    corpus_proba = classes = None
    if tagger is not None:
        labelled = _tagger_clips(corpus, study)
        progress.log(f"fitting the audio tagger on the labels of {labelled.name}")
        tagger.fit(labelled.audio, labelled.labels, sample_rate=rate)
        corpus_proba = _corpus_batches(
            lambda audio: tagger.predict_proba(audio, sample_rate=rate), corpus.audio)
        classes = tuple(tagger.classes_)

    progress.log("fitting the retriever and the generator on the corpus")
    from ..retrieval import EmbeddingRetriever

    retriever = EmbeddingRetriever({"embeddings": corpus_embeddings[config.music],
                                    "ids": corpus.ids}).fit()
    validation_attributes = None
    if generator is not None:
        generator = _fit_generator(generator, corpus_embeddings[config.music], corpus, rate)
        if hasattr(generator.backend_, "fit_shrinkage"):
            # Estimated once here; every subject's generator chooses its shrinkage on them.
            progress.log("estimating the musical attributes of the training stimuli (the "
                         "generator's validation clips)")
            validation_attributes = generator.backend_.estimate_attributes(study.audio_train)
    n_test = len(study.clips_test)
    rows = np.arange(n_test if n_reconstructions is None else min(n_reconstructions, n_test))
    if rows.size < 2:
        raise ValueError(f"n_reconstructions must be at least 2, got {n_reconstructions}.")
    stimulus_description = ClipDescription(
        {key: embeddings[key][1][rows] for key in config.evaluation},
        None if tagger is None else tagger.predict_proba(np.asarray(study.audio_test)[rows],
                                                         sample_rate=rate),
        classes)
    genres = np.asarray(study.clips_test.genre)
    genre_mean = _genre_mean(study, embeddings, tagger, genres[rows], config)
    for stimulus in features.values():
        stimulus.forget_training()
    # Every clip has been read: memory-mapped audio (a cached study) need not stay mapped.
    for audio in (study.audio_train, study.audio_test, corpus.audio):
        release_pages(audio)
    stimuli = _Stimuli(
        embeddings=embeddings, features=features, tagger=tagger, retriever=retriever,
        generator=generator,
        corpus_description=ClipDescription(
            {key: corpus_embeddings[key] for key in config.evaluation}, corpus_proba, classes),
        stimulus_description=stimulus_description, sample_rate=rate,
        test_clip_ids=list(study.clips_test.clip_id), genres=genres, rows=rows,
        example_rows=_example_rows(genres, rows, n_examples), genre_mean=genre_mean,
        validation_attributes=validation_attributes)
    return stimuli, corpus


def _genre_mean(study, embeddings, tagger, genres, config):
    """The genre-mean predictor: every reconstructed clip described by the mean evaluation
    embeddings (and tag probabilities) of the training stimuli of its genre. It knows the
    genre and nothing else (within a genre it is at chance); its tag probabilities are the
    tagger's on its own training clips, so its agreement is optimistic. None when a test
    genre has no training clip."""
    train_genres = np.asarray(study.clips_train.genre)
    if not np.isin(genres, train_genres).all():
        return None

    def means(values):
        by_genre = {genre: values[train_genres == genre].mean(axis=0)
                    for genre in np.unique(genres)}
        return np.stack([by_genre[genre] for genre in genres])

    proba = None
    if tagger is not None:
        proba = means(np.asarray(tagger.predict_proba(np.asarray(study.audio_train),
                                                      sample_rate=study.sample_rate)))
    return ClipDescription({key: means(embeddings[key][0]) for key in config.evaluation},
                           proba, None if tagger is None else tuple(tagger.classes_))


def _tagger_clips(corpus, study):
    """The clips the evaluation tagger learns from: the labelled training stimuli, which a
    separate corpus (the generator's training music) does not hold, else the corpus."""
    clips = study.clips_train
    if (_FULL_LABELS <= set(clips.columns) or "genre" in clips.columns
            or corpus.labels is None):
        return _check_corpus(None, study)
    return corpus


def _music_tagger(name, features, music):
    if name != "music":
        raise ValueError(f"tagger must be 'music', an AudioTagger or None, got {name!r}.")
    from ..tagging import AudioTagger

    return AudioTagger(embedder=TaggerFeatures(features[music]))


def _describe(audio, stimuli, config):
    return describe_clips(audio, sample_rate=stimuli.sample_rate,
                          embedders={key: stimuli.features[key] for key in config.evaluation},
                          tagger=stimuli.tagger)


def _resampling(n_clips, genres, config):
    """Bootstrap resamples and permutations of ``n_clips`` clips, seeded by the experiment's
    seed and the number of clips (so sets of the same clips are resampled alike)."""
    seed = [config.random_state, n_clips]
    return {
        "bootstrap": stats.bootstrap_indices(n_clips, config.n_bootstraps, seed + [1]),
        "permutations": stats.permutations(n_clips, config.n_permutations, seed + [2]),
        "within_genre": stats.permutations(n_clips, config.n_permutations, seed + [3],
                                           groups=genres),
    }


def _has_pairs(groups):
    return bool(np.any(np.unique(groups, return_counts=True)[1] > 1))


def _estimate(per_clip, resampling, null=None):
    """A clip-mean number with its bootstrap replicates (and permutation p-value)."""
    value = float(np.nanmean(per_clip))
    estimate = {"value": value,
                "replicates": stats.mean_replicates(per_clip, resampling["bootstrap"])}
    if null is not None:
        estimate["p_value"] = stats.p_value(value, null)
    return estimate


def _identification_estimates(true, pred, genres, resampling, paths, statistics):
    """Plain and within-genre (``paths``) identification of ``pred`` with their bootstrap
    replicates and tests against chance; returns the per-clip scores of both (within-genre
    None when no genre has two clips)."""
    per_clip = identification_accuracy(true, pred, average=False)
    statistics[paths[0]] = _estimate(
        per_clip, resampling, stats.identification_null(true, pred, resampling["permutations"]))
    if not _has_pairs(genres):
        return per_clip, None
    within = identification_accuracy(true, pred, average=False, groups=genres)
    statistics[paths[1]] = _estimate(
        within, resampling,
        stats.identification_null(true, pred, resampling["within_genre"], groups=genres))
    return per_clip, within


def _decoder(study, window, config):
    """The unfitted Table-1 decoder of an embedding with this window."""
    return decoding_pipeline(study.roi_labels, window, tr=study.tr,
                             clip_duration=study.clip_duration, step=config.step,
                             delay=_delay(study), n_rois=config.n_rois, cv=config.cv)


def _fit_decoders(study, config, embeddings, shuffled):
    """Every Table-1 decoder fitted on the training clips; the music one calibrated, and
    its shuffled-responses control when ``shuffled`` (an order of the training clips)
    is given.

    Reconstruction starts from predictions calibrated on out-of-fold predictions of the
    training clips (ridge predictions are shrunk towards the mean); the calibrated
    decoder's own fit is the Table-1 model. The control is the same path fitted on the
    training responses paired with the embeddings of other clips: the embeddings are
    shuffled rather than the responses, which would copy a subject's largest array
    (1.2 GB at paper scale); the pairs are the same, and groups stay with the responses
    they describe. With the calibration's ``oof="inner"`` and an atlas, the decoders of
    embeddings with the same window (the same window-averaged responses) are fitted
    together (:func:`~skbrainmusic.ridge._roi_ensemble.fit_jointly`: one cross-validation
    of every ROI for all of them, each with its own ROIs and alphas); their predictions
    are made from the window-averaged responses of the fit, which are not averaged again
    (one window's at a time in memory).

    Returns ``({key: fitted Pipeline}, {key: (training predictions or None, test
    predictions)}, calibrated music decoder, calibrated control or None)``: the raw
    (uncalibrated) predictions of every decoder and of the control (whose training clips
    are not predicted).
    """
    from sklearn.frozen import FrozenEstimator

    from ..ridge._roi_ensemble import fit_jointly

    # Clips that share scans across their boundary (a delay reaching the next clip's
    # scans) are grouped by run in every inner cross-validation.
    groups = _field(study, "cv_groups")
    music = embeddings[config.music][0]
    window = {spec.key: spec.window for spec in config.specs}
    fits = [(spec.key, embeddings[spec.key][0]) for spec in config.specs]
    if shuffled is not None:
        window[_SHUFFLED] = window[config.music]
        fits.append((_SHUFFLED, music[shuffled]))
    calibrated_keys = {config.music, _SHUFFLED}
    models, calibrated, predictions = {}, {}, {}
    if config.oof == "inner" and study.roi_labels is not None:
        by_window = {}
        for key, targets in fits:
            by_window.setdefault(window[key], []).append((key, targets))
        for members in by_window.values():
            decoder = _decoder(study, window[members[0][0]], config)
            aligner = decoder.named_steps["align"]
            responses = aligner.fit_transform(study.responses_train)
            ridges = [clone(decoder.named_steps["ridge"]).set_params(
                store_cv_predictions=key in calibrated_keys) for key, _ in members]
            fit_jointly(ridges, responses, [targets for _, targets in members],
                        groups=groups)
            # (the model's predict would average the responses again)
            train_predictions = [None if key == _SHUFFLED else ridge.predict(responses)
                                 for (key, _), ridge in zip(members, ridges)]
            del responses
            responses_test = aligner.transform(study.responses_test)
            for (key, targets), ridge, pred_train in zip(members, ridges, train_predictions):
                predictions[key] = (pred_train, ridge.predict(responses_test))
                model = Pipeline([("align", aligner), ("ridge", ridge)])
                if key in calibrated_keys:
                    # then given the unfitted decoder: the same object as one fitted on
                    # its own, whose clones fit anew
                    calibrated[key] = CalibratedDecoder(
                        FrozenEstimator(model), cv=config.cv, oof="inner").fit(
                            study.responses_train, targets, groups=groups).set_params(
                                estimator=clone(decoder))
                models[key] = model
            del responses_test
    else:
        for key, targets in fits:
            decoder = _decoder(study, window[key], config)
            if key in calibrated_keys:
                calibrated[key] = CalibratedDecoder(decoder, cv=config.cv,
                                                    oof=config.oof).fit(
                    study.responses_train, targets, groups=groups)
                models[key] = calibrated[key].estimator_
            else:
                models[key] = decoder.fit(
                    study.responses_train, targets,
                    **({} if groups is None else {"ridge__groups": groups}))
            predictions[key] = (
                None if key == _SHUFFLED else models[key].predict(study.responses_train),
                models[key].predict(study.responses_test))
    models.pop(_SHUFFLED, None)
    return models, predictions, calibrated[config.music], calibrated.get(_SHUFFLED)


def _decode(study, spec, model, train, test, predictions, genres, resampling, statistics):
    """Table-1 scores of one fitted decoder from its ``(training, test)`` predictions."""
    pred_train, pred_test = predictions
    # A dimension the decoder predicts as a constant (e.g. from a brain region that carries
    # nothing) correlates with nothing: r = 0 rather than undefined.
    scores = {
        "identification_train": identification_accuracy(train, pred_train),
        "identification_test": identification_accuracy(test, pred_test),
        "correlation_train": float(pearson_per_target(train, pred_train,
                                                      zero_variance="zero").mean()),
        "correlation_test": float(pearson_per_target(test, pred_test,
                                                     zero_variance="zero").mean()),
    }
    paths = [("table1", spec.key, name)
             for name in ("identification_test", "within_genre_identification_test")]
    per_clip, within = _identification_estimates(test, pred_test, genres, resampling, paths,
                                                 statistics)
    if within is not None:
        scores["within_genre_identification_test"] = float(np.nanmean(within))
    statistics[("table1", spec.key, "correlation_test")] = {
        "value": scores["correlation_test"],
        "replicates": stats.correlation_replicates(test, pred_test, resampling["bootstrap"])}
    ridge = model.named_steps["ridge"]
    roi_scores = {}
    if study.roi_labels is not None:
        scores["selected_rois"] = [roi_name(study, r) for r in ridge.selected_rois_]
        informative = _field(study, "informative_rois")
        if informative is not None:
            scores["selected_informative"] = int(np.isin(ridge.selected_rois_,
                                                         informative).sum())
        roi_scores = dict(zip((roi_name(study, r) for r in ridge.rois_),
                              ridge.roi_scores_.tolist()))
    else:
        scores["selected_rois"] = None
    return per_clip, scores, roi_scores


def _reconstruction_scores(descriptions, stimuli):
    """Figure-1 scores of every reconstruction method: the means ``{method: {"identification":
    {key: value}, "within_genre_identification": ..., "agreement": {group: value}}}`` and the
    per-clip tables ``{method: DataFrame}``."""
    genres = stimuli.genres[stimuli.rows]
    within = genres if _has_pairs(genres) else None
    results, per_clip = {}, {}
    for method, description in descriptions.items():
        table = score_reconstructions(stimuli.stimulus_description, description,
                                      groups=within, average=False)
        per_clip[method] = table
        means = table.mean()
        result = {"identification": {key: float(means[f"identification_{key}"])
                                     for key in stimuli.stimulus_description.embeddings},
                  "agreement": {group: float(means[f"top_n_{group}"]) for group in GROUPS
                                if f"top_n_{group}" in table}}
        if within is not None:
            result["within_genre_identification"] = {
                key: float(means[f"identification_{key}_within_group"])
                for key in stimuli.stimulus_description.embeddings}
        results[method] = result
    return results, per_clip


def _reconstruction_statistics(descriptions, per_clip, stimuli, resampling, statistics):
    """Bootstrap replicates and tests against chance of the scores of every method."""
    original = stimuli.stimulus_description
    genres = stimuli.genres[stimuli.rows]
    for method, table in per_clip.items():
        description = descriptions[method]
        for key in original.embeddings:
            paths = [("reconstruction", method, kind, key)
                     for kind in ("identification", "within_genre_identification")]
            _identification_estimates(original.embeddings[key], description.embeddings[key],
                                      genres, resampling, paths, statistics)
        for group in GROUPS:
            if f"top_n_{group}" in table:
                statistics[("reconstruction", method, "agreement", group)] = _estimate(
                    table[f"top_n_{group}"].to_numpy(), resampling, stats.agreement_null(
                        original.proba, description.proba, list(original.classes), group,
                        AUDIOSET_TOP_N[group], resampling["permutations"]))


def _paired(per_clip, resampling, statistics):
    """Generation minus retrieval, clip by clip, with bootstrap replicates."""
    if not {"generation", "retrieval"} <= set(per_clip):
        return
    difference = per_clip["generation"] - per_clip["retrieval"]
    for column in difference.columns:
        values = difference[column].to_numpy()
        statistics[("generation_minus_retrieval", column)] = _estimate(values, resampling)


def _release_responses(study):
    """Unmap a subject's responses once read (a cached study maps them: 1.9 GB at paper
    scale), so that the next task of this worker need not hold them."""
    for name in ("responses_train", "responses_test"):
        release_pages(_field(study, name))


def _task_order(n_subjects, encoding):
    """The subject tasks ``(index, part)`` in the order they are handed to the workers:
    each subject's encoding (about a third of its decoding's time) after the next subject's
    decoding, so that the long tasks start early and short ones fill the end (the paper-scale
    demo on two workers: 278 s for the subject tasks instead of 298 s, when each encoding
    followed its own subject's decoding and one worker sat idle for the last 47 s)."""
    order = []
    for index in range(n_subjects):
        order.append((index, "decoding"))
        if encoding and index > 0:
            order.append((index - 1, "encoding"))
    if encoding and n_subjects:
        order.append((n_subjects - 1, "encoding"))
    return order


def _subject_task(index, studies, stimuli, config, part):
    """What depends on one subject's brain, in two independent parts (that parallel workers
    share out more evenly than whole subjects): ``"decoding"``, the decoders and the
    reconstructions (a :class:`SubjectResult` without encoding), or ``"encoding"``, the
    encoding models (``_encoding``'s summary, voxel scores and significant voxels)."""
    study = studies[index]
    if list(study.clips_test.clip_id) != stimuli.test_clip_ids:
        raise ValueError(f"subject {study.subject} heard other test clips than the first "
                         "subject: the experiment needs one set of stimuli.")
    if part == "encoding":
        encoding = _encoding(study, stimuli.embeddings, config)
        _release_responses(study)
        return encoding
    genres = stimuli.genres
    resampling = _resampling(len(genres), genres, config)
    statistics = {}
    decoding, roi_scores, per_clip_decoding = {}, {}, {}
    n_train = len(stimuli.embeddings[config.music][0])
    shuffled = (np.random.default_rng([config.random_state, n_train]).permutation(n_train)
                if stimuli.generator is not None else None)
    models, predictions, calibrated, shuffled_decoder = _fit_decoders(
        study, config, stimuli.embeddings, shuffled)
    for spec in config.specs:
        train, test = stimuli.embeddings[spec.key]
        per_clip, scores, rois = _decode(study, spec, models[spec.key], train, test,
                                         predictions[spec.key], genres, resampling,
                                         statistics)
        decoding[spec.key], roi_scores[spec.key] = scores, rois
        per_clip_decoding[spec.key] = per_clip

    rows = stimuli.rows
    # calibrated.predict(responses_test), from the predictions already made
    predicted = calibrated.calibrate(predictions[config.music][1])[rows]
    retrieved_rows = stimuli.retriever.kneighbors(predicted, n_neighbors=1)[1][:, 0]
    descriptions = {"retrieval": stimuli.corpus_description.take(retrieved_rows)}
    examples = np.searchsorted(rows, stimuli.example_rows)
    example_generated = example_attributes = None
    attributes = {}
    if stimuli.generator is not None:
        shuffled_predicted = shuffled_decoder.calibrate(predictions[_SHUFFLED][1])[rows]
        generated, controls, decoded = _generation(study, stimuli, config, calibrated,
                                                   predicted, shuffled_predicted)
        descriptions["generation"] = _describe(generated, stimuli, config)
        for name, audio in controls.items():
            descriptions[name] = _describe(audio, stimuli, config)
        example_generated = generated[examples]
        clips = study.clips_test.iloc[rows]
        for name, table in decoded.items():
            attributes[name] = attribute_accuracy(table, clips)
        if "generation" in decoded:
            example_attributes = decoded["generation"].iloc[examples].reset_index(drop=True)
    rec_resampling = _resampling(rows.size, genres[rows], config)
    reconstruction, per_clip = _reconstruction_scores(descriptions, stimuli)
    _reconstruction_statistics(descriptions, per_clip, stimuli, rec_resampling, statistics)
    _paired(per_clip, rec_resampling, statistics)
    shown = "generation" if "generation" in per_clip else "retrieval"
    music_per_clip = per_clip[shown][f"identification_{config.music}"].to_numpy()
    per_genre = {}
    for genre in np.unique(genres[rows]):
        in_genre = genres[rows] == genre
        per_genre[str(genre)] = float(music_per_clip[in_genre].mean())
        statistics[("per_genre", str(genre))] = _estimate(
            np.where(in_genre, music_per_clip, np.nan), rec_resampling)
    decoded = per_clip_decoding[config.music]
    decoding_per_genre = {str(genre): mean_std(decoded[genres == genre])
                          for genre in np.unique(genres)}
    informative = _field(study, "informative_rois")
    _release_responses(study)
    return SubjectResult(
        subject=int(study.subject), decoding=decoding, roi_scores=roi_scores,
        informative_rois=(None if informative is None
                          else [roi_name(study, r) for r in informative]),
        reconstruction=reconstruction, per_genre=per_genre,
        decoding_per_genre=decoding_per_genre, encoding=None, models=models,
        calibrated_decoder=calibrated,
        predicted_music=predictions[config.music][1].mean(axis=1),
        retrieved_rows=retrieved_rows, example_generated=example_generated,
        attributes=attributes, example_attributes=example_attributes,
        voxel_scores=None, significant=None,
        roi_labels=None if study.roi_labels is None else np.asarray(study.roi_labels),
        mask_img=_field(study, "mask_img"), per_clip=per_clip, statistics=statistics)


def _generation(study, stimuli, config, calibrated, predicted, shuffled_predicted):
    """Music generated from the calibrated predictions, its controls and decoded attributes.

    A generator whose backend tunes itself on decoded validation clips chooses its tuning
    for this subject on the calibrated out-of-fold predictions of its training clips
    (training data only): a backend with ``fit_shrinkage`` (ScoreBackend) keeps its shared
    corpus fit and the training stimuli's attributes estimated once; another one whose
    ``fit`` takes ``validation`` is refitted. Controls: ``"shuffled responses"`` (the same
    path from a decoder fitted on training responses paired with the embeddings of other
    clips, whose calibrated predictions of the reconstructed clips are
    ``shuffled_predicted``: chance) and, for a :class:`~skbrainmusic.generation.ScoreBackend`
    with genre labels, ``"genre-only resynthesis"`` (only the decoded genre kept: a random
    piece of it).

    Returns ``(generated, {control: audio}, {"generation" / "shuffled responses":
    decoded attributes})`` (no attributes for a backend without ``decode_attributes``).
    """
    from ..composer import Composer
    from ..generation import ScoreBackend

    generator = stimuli.generator
    validation = calibrated.calibrate(calibrated.oof_predictions_)
    if stimuli.validation_attributes is not None:
        # The corpus fit is shared: only the shrinkage is this subject's.
        generator = copy.deepcopy(generator)
        generator.backend_.fit_shrinkage(validation, attributes=stimuli.validation_attributes)
    elif _takes_validation(generator):
        generator = clone(generator).fit(validation=(validation,
                                                     np.asarray(study.audio_train)))
    generated = _generate(generator, predicted, stimuli.sample_rate, config.random_state)
    controls = {"shuffled responses": _generate(generator, shuffled_predicted,
                                                stimuli.sample_rate, config.random_state)}
    backend = generator.backend_
    decoded = {}
    if hasattr(backend, "decode_attributes"):
        decoded = {"generation": backend.decode_attributes(predicted),
                   "shuffled responses": backend.decode_attributes(shuffled_predicted)}
    if isinstance(backend, ScoreBackend) and backend.genres_ is not None:
        composer = Composer(sample_rate=backend.sample_rate_,
                            duration=backend.n_samples_ / backend.sample_rate_,
                            fade=backend.fade)
        pieces = composer.generate([{"genre": genre} for genre in decoded["generation"].genre],
                                   config.random_state)
        controls["genre-only resynthesis"] = _at_rate(pieces, backend.sample_rate_,
                                                      stimuli.sample_rate)
    return generated, controls, decoded


def _encoding(study, embeddings, config):
    """Voxelwise encoding of every feature space, with a permutation test for the music one.

    Every feature space predicts the same targets: the responses averaged over the music
    embedding's windows, from its features averaged per clip and repeated over those
    windows (feature spaces of other windows would otherwise predict other targets, and
    their scores would not compare)."""
    from ..encoding import permutation_test, upsample_to_windows

    informative_rois = _field(study, "informative_rois")
    window = next(spec.window for spec in config.specs if spec.key == config.music)
    n_windows = embeddings[config.music][0].shape[1]
    responses = aligned_responses(study, window, step=config.step)
    per_space = {}
    for spec in config.specs:
        train, test = (upsample_to_windows(features.mean(axis=1), n_windows)
                       for features in embeddings[spec.key])
        _, variations, scores = fit_encoder(study, responses, train, test, cv=config.cv)
        if informative_rois is None:
            per_space[spec.key] = {"mean_r": float(scores.mean()),
                                   "max_r": float(scores.max())}
        else:
            informative = np.isin(study.roi_labels, informative_rois)
            per_space[spec.key] = {
                "mean_r_informative": float(scores[informative].mean()),
                "mean_r_other": float(scores[~informative].mean()),
            }
        if spec.key == config.music:
            test_result = permutation_test(responses[1], variations,
                                           n_permutations=config.n_permutations,
                                           random_state=config.random_state)
            music_scores, significant = scores, test_result.significant
    summary = {"feature_spaces": per_space, "n_voxels": int(music_scores.size),
               "n_significant": int(significant.sum()),
               "fraction_significant": float(significant.mean())}
    if informative_rois is not None:
        informative = np.isin(study.roi_labels, informative_rois)
        n_other = int((~informative).sum())
        summary.update({
            "n_informative_voxels": int(informative.sum()),
            "significant_informative": int(significant[informative].sum()),
            "significant_other": int(significant[~informative].sum()),
            "fraction_significant_informative": float(significant[informative].mean()),
            "false_positive_rate_other": (float(significant[~informative].mean())
                                          if n_other else 0.0),
            "false_discovery_proportion": float(
                significant[~informative].sum() / max(int(significant.sum()), 1)),
        })
    return summary, music_scores, significant


def _references(stimuli, config, n_corpus):
    """Oracle (the true embedding) and chance (a random clip of the ``n_corpus`` of the
    corpus) for Figure 1a,b: ``(references, statistics, oracle_rows, oracle_examples)``,
    the last the oracle generation's audio of the example clips (None without a
    generator)."""
    rows = stimuli.rows
    true_music = stimuli.embeddings[config.music][1][rows]
    oracle_rows = stimuli.retriever.kneighbors(true_music, n_neighbors=1)[1][:, 0]
    descriptions = {"oracle retrieval": stimuli.corpus_description.take(oracle_rows)}
    oracle_audio = None
    if stimuli.generator is not None:
        oracle_audio = _generate(stimuli.generator, true_music, stimuli.sample_rate,
                                 config.random_state)
        descriptions["oracle generation"] = _describe(oracle_audio, stimuli, config)
    descriptions["chance"] = stimuli.corpus_description.take(
        chance_rows(n_corpus, rows.size, config.random_state))
    if stimuli.genre_mean is not None:
        descriptions["genre mean"] = stimuli.genre_mean
    statistics = {}
    resampling = _resampling(rows.size, stimuli.genres[rows], config)
    references, per_clip = _reconstruction_scores(descriptions, stimuli)
    for name, table in per_clip.items():
        for column in table.columns:
            statistics[("references", name, column)] = _estimate(table[column].to_numpy(),
                                                                 resampling)
    oracle_examples = (None if oracle_audio is None
                       else oracle_audio[np.searchsorted(rows, stimuli.example_rows)])
    return references, statistics, oracle_rows, oracle_examples


def run_experiment(studies, embeddings, *, music, evaluation=None, corpus=None,
                   generator=None, tagger="music", cv=5, n_rois=N_ROIS, step=STEP,
                   n_reconstructions=None, encoding=True, n_permutations=1000,
                   n_bootstraps=1000, confidence=0.95, n_examples=4, random_state=0,
                   oof="inner", settings=None, progress=None):
    """Run the paper's study on data Bunches with any embedder, generator and tagger.

    For every subject: Table 1 (every embedding decoded from fMRI with
    :func:`decoding_pipeline`, scored on training and held-out clips), Figure 1 (the music
    embedding decoded through a :class:`~skbrainmusic.calibration.CalibratedDecoder` and
    turned into music by retrieval from the corpus and by ``generator``, judged with the
    evaluation embeddings and the tagger through
    :func:`skbrainmusic.evaluation.score_reconstructions`, also within genre and per genre)
    and, with ``encoding``, voxelwise encoding models with a permutation test. The oracle
    (the true embedding) and chance (a random corpus clip) frame the reconstructions.
    Every headline number comes with a bootstrap interval over clips, a permutation test
    against chance per subject and, for generation, a paired comparison with retrieval
    (see :mod:`skbrainmusic.experiments`).

    Parameters
    ----------
    studies : Bunch or sequence of Bunch
        One study per subject, all with the same stimuli, as returned by
        :func:`~skbrainmusic.datasets.make_synthetic_study` or
        :func:`~skbrainmusic.datasets.load_nakai2022` (with ``audio_train``,
        ``audio_test`` and ``sample_rate`` added); a sequence may load its items lazily
        (e.g. :class:`SyntheticStudies`): each subject is loaded where it is processed.
        Used fields: ``responses_train`` / ``responses_test`` ``(n_clips, n_scans,
        n_voxels)``, ``clips_train`` / ``clips_test`` (``clip_id``, ``genre``),
        ``roi_labels`` ``(n_voxels,)`` or None, ``roi_names``, ``tr``, ``clip_duration``,
        ``subject``, ``audio_train`` / ``audio_test`` ``(n_clips, n_samples)``,
        ``sample_rate``, and if present ``captions_train`` / ``captions_test`` and
        ``informative_rois`` (known on synthetic data).
    embeddings : sequence of EmbeddingSpec
        The decoding targets of Table 1.
    music : str
        Key of the embedding decoded for reconstruction (the MuLan-music counterpart).
    evaluation : sequence of str, default=None
        Keys of the audio embeddings judging reconstructions (Figure 1a); ``None``:
        ``(music,)``.
    corpus : Bunch or mapping, default=None
        Retrieval corpus and the generator's training music: ``audio`` ``(n_items,
        n_samples)`` at the stimuli's rate, optional ``ids``, ``clips`` (a clip table; its
        ``genre`` column gives the genres), ``genres`` (one str per item, the generator's
        :attr:`Corpus.labels <skbrainmusic.retrieval.Corpus.labels>`) or ``labels``
        (AudioSet names per item, to fit the tagger on when the training stimuli have
        none). ``None``: the training stimuli.
    generator : ConditionedGenerator or None, default=None
        Unfitted generator; cloned and fitted on the corpus' music embeddings, audio and
        genres (once, also for the oracle). Per subject, a backend with ``fit_shrinkage``
        (ScoreBackend) chooses its shrinkage on the calibrated out-of-fold predictions of
        the training clips against their attributes (estimated once); a backend whose
        ``fit`` takes ``validation`` is refitted with those predictions and the training
        audio. ``None`` reconstructs by retrieval only.
    tagger : "music", AudioTagger or None, default="music"
        ``"music"``: an offline tagger on the raw music embedding (it shares the music
        embedding's features: prefer a tagger of another feature family, as the demo's
        log-mel one); an :class:`~skbrainmusic.AudioTagger` (e.g. ``backend="ast"``) is
        cloned. It is fitted on the labelled training stimuli (clips a separate corpus,
        the generator's training music, does not hold), or on the corpus' labels when the
        stimuli have none. ``None``: no top-n agreement.
    cv : int, default=5
        Folds over clips of the decoders, the calibration and the encoders.
    n_rois : int, default=6
        ROIs ensembled by the decoders.
    step : float, default=1.5
        Seconds between window starts.
    n_reconstructions : int, default=None
        Reconstruct only the first ``n`` test clips (generation is the slow step).
    encoding : bool, default=True
        Fit voxelwise encoding models.
    n_permutations : int, default=1000
        Permutations of the encoding test and of the tests against chance.
    n_bootstraps : int, default=1000
        Bootstrap resamples of the test clips.
    confidence : float, default=0.95
        Level of the bootstrap intervals.
    n_examples : int, default=4
        Example clips (the first of each genre) whose audio is kept for listening.
    random_state : int, default=0
        Seed of the generation, the chance draw, the resamples and the permutations.
    oof : {"inner", "refit"}, default="inner"
        Out-of-fold predictions of the training clips that the music decoder's calibration
        and the generator's shrinkage learn from (``oof`` of
        :class:`~skbrainmusic.calibration.CalibratedDecoder`): ``"inner"``, the ROI
        ensemble's own cross-validation predictions (one fit per decoder; slightly
        optimistic, since those folds also chose its ROIs and alphas), or ``"refit"``,
        ``cv`` further fits of the whole decoder (nested; ``cv + 1`` times the fits of the
        music decoder and of its shuffled control, which dominate a paper-scale run).
    settings : dict, default=None
        Extra JSON-able entries of ``results.settings`` (e.g. how the studies were made).
    progress : object, default=None
        Progress reporter with ``log(message)`` and ``track(items, description, total)``
        (e.g. the command line's); ``None`` is silent.

    Returns
    -------
    results : ExperimentResults

    Examples
    --------
    The paper's open path on one subject of ds003720 (``study`` with its stimulus audio):

    >>> from skbrainmusic import AudioEmbedder, AudioTagger, ConditionedGenerator
    >>> from skbrainmusic.experiments import EmbeddingSpec, run_experiment
    >>> from skbrainmusic.generation import DiffusionBackend
    >>> clap = AudioEmbedder(backend="clap", model="larger_clap_music", window=10.0,
    ...                      sample_rate=22050, clip_duration=15.0, standardize=False)
    >>> results = run_experiment(  # doctest: +SKIP
    ...     study, [EmbeddingSpec("clap", clap, 10.0, standardize=False)], music="clap",
    ...     generator=ConditionedGenerator(DiffusionBackend("musicldm", model="musicldm")),
    ...     tagger=AudioTagger("ast", model="ast-finetuned-audioset"))
    """
    from joblib import Parallel, delayed

    progress = _Quiet() if progress is None else progress
    if not isinstance(studies, Sequence):
        studies = [studies]
    specs = tuple(embeddings)
    keys = [spec.key for spec in specs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"Embedding keys must be unique, got {keys}.")
    by_key = {spec.key: spec for spec in specs}
    evaluation = (music,) if evaluation is None else tuple(evaluation)
    for key in (music, *evaluation):
        if key not in by_key:
            raise ValueError(f"{key!r} is not one of the embeddings {keys}.")
        if by_key[key].source != "audio":
            raise ValueError(f"{key!r} embeds captions; music and evaluation embeddings must "
                             "embed audio.")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}.")
    if oof not in ("inner", "refit"):
        raise ValueError(f"oof must be 'inner' or 'refit', got {oof!r}.")
    config = _Config(specs=specs, music=music, evaluation=evaluation, cv=cv, n_rois=n_rois,
                     step=step, n_permutations=n_permutations, n_bootstraps=n_bootstraps,
                     random_state=random_state, oof=oof)
    first = studies[0]
    stimuli, corpus = _prepare_stimuli(first, config, corpus, generator, tagger,
                                       n_reconstructions, n_examples, progress)
    order = _task_order(len(studies), encoding)
    # The references last: a worker done with its subject tasks computes them while the
    # other finishes its own.
    tasks = Parallel(return_as="generator")(
        [delayed(_subject_task)(index, studies, stimuli, config, part)
         for index, part in order] + [delayed(_references)(stimuli, config, len(corpus.ids))])
    done = list(progress.track(
        tasks, "decoding, reconstructing and encoding per subject; oracle and chance references",
        total=len(order) + 1))
    references, reference_statistics, oracle_rows, oracle_examples = done.pop()
    done = dict(zip(order, done))
    subjects = [done[index, "decoding"] for index in range(len(studies))]
    if encoding:
        for index, result in enumerate(subjects):
            summary, scores, significant = done[index, "encoding"]
            subjects[index] = replace(result, encoding=summary, voxel_scores=scores,
                                      significant=significant)
    rows = stimuli.rows
    examples = pd.DataFrame({
        "row": stimuli.example_rows,
        "clip_id": [stimuli.test_clip_ids[row] for row in stimuli.example_rows],
        "genre": [str(stimuli.genres[row]) for row in stimuli.example_rows]})
    example_positions = np.searchsorted(rows, stimuli.example_rows)
    audio = {
        "stimulus": np.asarray(first.audio_test)[stimuli.example_rows],
        "retrieved": corpus.audio[subjects[0].retrieved_rows[example_positions]],
    }
    if subjects[0].example_generated is not None:
        audio["generated"] = subjects[0].example_generated
        audio["generated from the true embedding"] = oracle_examples
    all_settings = {
        "music": music, "evaluation": list(evaluation), "cv": cv, "n_rois": n_rois,
        "step": step, "n_reconstructions": int(rows.size), "n_permutations": n_permutations,
        "n_bootstraps": n_bootstraps, "confidence": confidence, "n_examples": n_examples,
        "random_state": random_state, "oof": oof,
        "subjects": [result.subject for result in subjects],
        **(settings or {})}
    n_voxels = first.responses_train.shape[-1]
    return ExperimentResults(
        settings=all_settings,
        study={"n_train": len(first.clips_train), "n_test": len(first.clips_test),
               "n_voxels": int(n_voxels),
               "n_rois": (len(first.roi_names) if first.roi_labels is not None else None),
               "n_corpus": len(corpus.ids), "corpus": corpus.name},
        embeddings={spec.key: {"label": spec.label, "analog": spec.analog,
                               "window": spec.window, "source": spec.source,
                               "standardize": spec.standardize,
                               "dimension": stimuli.embeddings[spec.key][0].shape[-1],
                               "n_windows": stimuli.embeddings[spec.key][0].shape[1]}
                    for spec in specs},
        subjects=subjects, references=references, reference_statistics=reference_statistics,
        oracle_rows=oracle_rows, examples=examples, example_audio=audio,
        sample_rate=stimuli.sample_rate, test_clips=first.clips_test.reset_index(drop=True),
        true_music=stimuli.embeddings[music][1].mean(axis=1),
        example_attributes=(None if subjects[0].example_attributes is None else
                            attribute_table(subjects[0].example_attributes,
                                            first.clips_test.iloc[stimuli.example_rows])))

"""The paper's path from fMRI to music as one scikit-learn Pipeline (issue 11).

A small synthetic problem with a planted signal: clips are mixtures of 6 band-limited
noises; their embedding is the log energy of the 6 bands (the evaluation embedder of the
generation scorer); one ROI of three responds linearly to the embedding, two scans (3 s)
after the clip starts. The retrieval corpus holds re-rendered versions of the stimuli plus
distractors, with audio, so the generator learns embedding -> audio from it.
"""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline

from skbrainmusic import (
    CalibratedDecoder,
    ConditionedGenerator,
    Corpus,
    EmbeddingRetriever,
    ROIEnsembleRidge,
    TemporalWindowAligner,
)
from skbrainmusic.evaluation import make_generation_scorer, retrieved_identification_scorer
from skbrainmusic.generation import SpectrogramBackend

RATE = 8000
N_BANDS = 6
CV = KFold(4, shuffle=True, random_state=0)


def render(weights, rng, n_samples=2048):
    """Waveforms: per clip, band-limited noises mixed with ``weights`` (n_clips, N_BANDS)."""
    spectrum = np.fft.rfft(rng.standard_normal((len(weights), N_BANDS, n_samples)), axis=2)
    edges = np.linspace(0, spectrum.shape[2], N_BANDS + 1).astype(int)
    for band, (low, high) in enumerate(zip(edges[:-1], edges[1:])):
        spectrum[:, band, :low] = 0
        spectrum[:, band, high:] = 0
    audio = np.einsum("ib,ibt->it", weights, np.fft.irfft(spectrum, n=n_samples, axis=2))
    return (audio / audio.std(axis=1, keepdims=True)).astype(np.float32)


def band_energies(audio, sample_rate):
    """The evaluation embedder: log mean power in N_BANDS equal frequency bands."""
    power = np.abs(np.fft.rfft(np.asarray(audio, dtype=np.float64), axis=-1)) ** 2
    edges = np.linspace(0, power.shape[-1], N_BANDS + 1).astype(int)
    return np.log(np.stack([power[..., low:high].mean(axis=-1)
                            for low, high in zip(edges[:-1], edges[1:])], axis=-1))


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    n_clips, n_voxels = 48, 60
    weights = rng.uniform(0.1, 1.0, (n_clips, N_BANDS)) ** 2
    embeddings = band_energies(render(weights, rng), RATE)
    # Four 10 s windows per clip, all with the clip's embedding.
    targets = np.repeat(embeddings[:, np.newaxis], 4, axis=1)
    roi_labels = np.repeat(np.arange(3), n_voxels // 3)
    # 12 scans per clip; ROI 0 carries the embedding from scan 2 on (a 3 s delay).
    responses = rng.standard_normal((n_clips, 12, n_voxels))
    standardized = (embeddings - embeddings.mean(axis=0)) / embeddings.std(axis=0)
    signal = 0.15 * standardized @ rng.standard_normal((N_BANDS, n_voxels // 3))
    responses[:, 2:, roi_labels == 0] += signal[:, np.newaxis]
    corpus_weights = np.r_[weights * rng.uniform(0.8, 1.2, weights.shape),
                           rng.uniform(0.1, 1.0, (24, N_BANDS)) ** 2]
    corpus_audio = render(corpus_weights, rng)
    corpus = Corpus(band_energies(corpus_audio, RATE), audio=corpus_audio, sample_rate=RATE)
    return responses, targets, roi_labels, corpus


def decoder(roi_labels, n_rois=1, delay=3.0):
    return make_pipeline(TemporalWindowAligner(delay=delay),
                         ROIEnsembleRidge(roi_labels, n_rois=n_rois, cv=3))


def path_to(last, roi_labels):
    """The paper's path: aligner -> ROI ridge -> ``last`` (a retriever or a generator)."""
    return make_pipeline(TemporalWindowAligner(delay=3.0),
                         ROIEnsembleRidge(roi_labels, n_rois=1, cv=3), last)


def generator(corpus):
    backend = SpectrogramBackend(n_mels=16, n_fft=256, hop_length=128, n_iter=4)
    return ConditionedGenerator(backend, corpus=corpus, random_state=0)


def shuffled(responses):
    """Responses of other clips: rows permuted relative to the embeddings."""
    return responses[np.random.default_rng(1).permutation(len(responses))]


def test_retrieval_pipeline_predicts_ids_and_transforms_to_embeddings(problem):
    responses, targets, roi_labels, corpus = problem
    model = make_pipeline(TemporalWindowAligner(delay=3.0),
                          ROIEnsembleRidge(roi_labels, n_rois=1, cv=3),
                          EmbeddingRetriever(corpus))
    model.fit(responses[:36], targets[:36])
    ids = model.predict(responses[36:])
    assert ids.shape == (12,) and set(ids) <= set(corpus.ids)
    retrieved = model.transform(responses[36:])
    np.testing.assert_array_equal(retrieved, corpus.embeddings[ids])
    assert retrieved_identification_scorer(model, responses[36:], targets[36:]) > 0.7


def test_retrieval_cross_validation_beats_shuffled_responses(problem):
    responses, targets, roi_labels, corpus = problem
    model = path_to(EmbeddingRetriever(corpus), roi_labels)
    scores = cross_val_score(model, responses, targets, cv=CV,
                             scoring=retrieved_identification_scorer)
    assert scores.mean() > 0.8
    control = cross_val_score(model, shuffled(responses), targets, cv=CV,
                              scoring=retrieved_identification_scorer)
    assert 0.3 < control.mean() < 0.65


def test_grid_search_finds_the_planted_roi_and_delay(problem):
    responses, targets, roi_labels, corpus = problem
    model = path_to(EmbeddingRetriever(corpus), roi_labels)
    search = GridSearchCV(model, {"roiensembleridge__n_rois": [1, 3],
                                  "temporalwindowaligner__delay": [0.0, 3.0]},
                          cv=CV, scoring=retrieved_identification_scorer)
    search.fit(responses, targets)
    assert search.best_params_ == {"roiensembleridge__n_rois": 1,
                                   "temporalwindowaligner__delay": 3.0}
    assert search.best_score_ > 0.8
    assert search.best_estimator_[-1].corpus_ is corpus


def test_calibrated_decoder_in_the_pipeline_and_in_the_grid(problem):
    responses, targets, roi_labels, corpus = problem
    calibrated = CalibratedDecoder(decoder(roi_labels), cv=3)
    model = Pipeline([("decoder", calibrated), ("retriever", EmbeddingRetriever(corpus))])
    model.fit(responses[:36], targets[:36])
    assert model.predict(responses[36:]).shape == (12,)
    # Calibrated or not, and the ROI count inside the calibrated decoder.
    search = GridSearchCV(model, [
        {"decoder": [calibrated],
         "decoder__estimator__roiensembleridge__n_rois": [1, 3]},
        {"decoder": [decoder(roi_labels)]},
    ], cv=CV, scoring=retrieved_identification_scorer)
    search.fit(responses, targets)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 3 and np.isfinite(scores).all()
    assert search.best_score_ > 0.8
    assert search.best_params_.get("decoder__estimator__roiensembleridge__n_rois", 1) == 1
    control = cross_val_score(model, shuffled(responses), targets, cv=CV,
                              scoring=retrieved_identification_scorer)
    assert 0.3 < control.mean() < 0.65


def test_generation_pipeline_and_its_scorer(problem):
    responses, targets, roi_labels, corpus = problem
    model = make_pipeline(CalibratedDecoder(decoder(roi_labels), cv=3), generator(corpus))
    model.fit(responses[:36], targets[:36])
    audio = model.predict(responses[36:])
    assert audio.shape == (12, 2048) and audio.dtype == np.float32
    scorer = make_generation_scorer(band_energies, sample_rate=model[-1].sample_rate_)
    scores = cross_val_score(model, responses, targets, cv=CV, scoring=scorer)
    assert scores.mean() > 0.8
    control = cross_val_score(model, shuffled(responses), targets, cv=CV, scoring=scorer)
    assert 0.3 < control.mean() < 0.65


def test_grid_search_over_the_generation_pipeline(problem):
    responses, targets, roi_labels, corpus = problem
    model = path_to(generator(corpus), roi_labels)
    scorer = make_generation_scorer(band_energies, sample_rate=RATE)
    search = GridSearchCV(model, {"roiensembleridge__n_rois": [1, 3],
                                  "conditionedgenerator__backend__n_mels": [8, 16]},
                          cv=KFold(3, shuffle=True, random_state=0), scoring=scorer)
    search.fit(responses, targets)
    assert search.best_params_["roiensembleridge__n_rois"] == 1
    assert search.best_score_ > 0.8


def test_retriever_and_generator_are_not_refitted_on_decoded_predictions(problem):
    responses, targets, roi_labels, corpus = problem
    alone_retriever = EmbeddingRetriever(corpus).fit()
    alone_generator = generator(corpus).fit()
    for rows in (slice(0, 24), slice(24, 48)):
        retrieval = path_to(EmbeddingRetriever(corpus), roi_labels)
        retrieval.fit(responses[rows], targets[rows])
        np.testing.assert_array_equal(retrieval[-1].index_, alone_retriever.index_)
        assert retrieval[-1].corpus_ is corpus
        generation = path_to(generator(corpus), roi_labels)
        generation.fit(responses[rows], targets[rows])
        fitted, alone = generation[-1].backend_.model_[-1], alone_generator.backend_.model_[-1]
        np.testing.assert_array_equal(fitted.coef_, alone.coef_)
        np.testing.assert_array_equal(fitted.intercept_, alone.intercept_)
        np.testing.assert_array_equal(generation[-1].predict(targets[:2]),
                                      alone_generator.predict(targets[:2]))


def test_generation_scorer_input_errors():
    with pytest.raises(TypeError, match="embedder must be a transformer or a callable"):
        make_generation_scorer("clap", sample_rate=RATE)
    with pytest.raises(ValueError, match="sample_rate must be >= 1"):
        make_generation_scorer(band_energies, sample_rate=0)

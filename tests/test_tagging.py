import numpy as np
import pandas as pd
import pytest
from _tiny_models import tiny_ast

from skbrainmusic.metrics import AUDIOSET_GROUPS, AUDIOSET_LABELS
from skbrainmusic.tagging import (
    AudioTagger,
    make_top_n_agreement_scorer,
    rank_classes,
    top_n_agreement_score,
    top_n_agreement_scorers,
)

SAMPLE_RATE = 4000
GENRES = ["Blues", "Jazz", "Rock music"]
MOODS = ["Sad music", "Exciting music"]


def band_energies(audio, sample_rate):
    """Log energy in 8 frequency bands: a tiny explicit embedding for the tests."""
    spectrum = np.abs(np.fft.rfft(audio, axis=1)) ** 2
    return np.log(np.stack([band.sum(axis=1) for band in np.array_split(spectrum, 8, axis=1)],
                           axis=1) + 1e-9)


def make_labelled_clips(n_clips, seed):
    """Genre sets the pitch band, mood the loudness; labels are AudioSet names."""
    rng = np.random.default_rng(seed)
    genre = rng.integers(0, 3, n_clips)
    mood = rng.integers(0, 2, n_clips)
    t = np.arange(SAMPLE_RATE // 2) / SAMPLE_RATE
    freqs = np.array([150.0, 600.0, 1400.0])[genre] * rng.uniform(0.9, 1.1, n_clips)
    gain = np.array([0.05, 1.0])[mood]
    audio = gain[:, None] * np.sin(2 * np.pi * freqs[:, None] * t)
    audio += 0.01 * rng.standard_normal(audio.shape)
    labels = [[GENRES[g], MOODS[m]] for g, m in zip(genre, mood)]
    return audio.astype(np.float32), labels, genre, mood


@pytest.fixture(scope="module")
def fitted_tagger():
    audio, labels, _, _ = make_labelled_clips(60, seed=0)
    return AudioTagger(embedder=band_energies).fit(audio, labels, sample_rate=SAMPLE_RATE)


def test_rank_classes_orders_within_group_with_stable_ties():
    classes = ["Jazz", "Happy music", "Blues", "Sad music"]
    proba = [[0.2, 0.9, 0.5, 0.1], [0.3, 0.0, 0.3, 0.3]]
    assert rank_classes(proba, classes, "genres") == [["Blues", "Jazz"], ["Jazz", "Blues"]]
    assert rank_classes(proba, classes, ["Sad music", "Jazz"])[1] == ["Jazz", "Sad music"]
    assert rank_classes(proba, classes)[0] == ["Happy music", "Blues", "Jazz", "Sad music"]
    with pytest.raises(ValueError, match="None of the classes of group 'instruments'"):
        rank_classes(proba, classes, "instruments")
    with pytest.raises(ValueError, match="group must be one of"):
        rank_classes(proba, classes, "colours")


def test_top_n_agreement_score_is_algorithm_1():
    classes = ["Blues", "Jazz", "Rock music", "Happy music"]
    true = pd.DataFrame([[0.9, 0.8, 0.1, 0.0], [0.1, 0.2, 0.9, 0.0]], columns=classes)
    pred = pd.DataFrame([[0.9, 0.1, 0.8, 1.0], [0.1, 0.8, 0.9, 0.0]], columns=classes)
    # Clip 1: {Blues, Jazz} vs {Blues, Rock}: 1/3. Clip 2: {Rock, Jazz} vs {Rock, Jazz}: 1.
    per_clip = top_n_agreement_score(true, pred, group="genres", average=False)
    np.testing.assert_allclose(per_clip, [1 / 3, 1.0])
    assert top_n_agreement_score(true, pred, group="genres") == pytest.approx(2 / 3)
    assert top_n_agreement_score(true, pred, group="genres", n=1) == 1.0
    with pytest.raises(ValueError, match="Give classes"):
        top_n_agreement_score(true.to_numpy(), pred.to_numpy())
    with pytest.raises(ValueError, match="same classes"):
        top_n_agreement_score(true, pred.iloc[:, :3], classes=classes)


def test_embedding_tagger_learns_labels_beyond_a_shuffled_control(fitted_tagger):
    audio, _, genre, mood = make_labelled_clips(30, seed=1)
    genres = fitted_tagger.top_classes(audio, sample_rate=SAMPLE_RATE, group="genres", n=1)
    moods = fitted_tagger.top_classes(audio, sample_rate=SAMPLE_RATE, group="moods", n=1)
    assert np.mean([g[0] == GENRES[i] for g, i in zip(genres, genre)]) > 0.9
    assert np.mean([m[0] == MOODS[i] for m, i in zip(moods, mood)]) > 0.9
    table = fitted_tagger.tag(audio, sample_rate=SAMPLE_RATE)
    assert sorted(table.columns) == sorted(GENRES + MOODS) and table.shape == (30, 5)

    train_audio, train_labels, _, _ = make_labelled_clips(60, seed=0)
    shuffled = [train_labels[i] for i in np.random.default_rng(5).permutation(60)]
    control = AudioTagger(embedder=band_energies).fit(train_audio, shuffled,
                                                      sample_rate=SAMPLE_RATE)
    guesses = control.top_classes(audio, sample_rate=SAMPLE_RATE, group="genres", n=1)
    assert np.mean([g[0] == GENRES[i] for g, i in zip(guesses, genre)]) < 0.7


class IdentityGenerator:
    """Stand-in for a generator: 'reconstructs' the given clips, optionally permuted."""

    sample_rate_ = SAMPLE_RATE

    def __init__(self, order=None):
        self.order = order

    def predict(self, audio):
        return audio if self.order is None else audio[self.order]


def test_group_scorers_reward_faithful_reconstructions(fitted_tagger):
    audio, _, genre, _ = make_labelled_clips(30, seed=2)
    scorers = top_n_agreement_scorers(fitted_tagger, sample_rate=SAMPLE_RATE)
    assert set(scorers) == {"genres", "instruments", "moods"}
    assert scorers["genres"](IdentityGenerator(), audio, audio) == 1.0
    assert scorers["moods"](IdentityGenerator(), audio, audio) == 1.0
    # A reconstruction of another genre's clip agrees less.
    other = np.array([np.flatnonzero(genre != g)[0] for g in genre])
    mismatched = scorers["genres"](IdentityGenerator(other), audio, audio)
    assert mismatched < 0.7
    with pytest.raises(ValueError, match="None of the classes of group 'instruments'"):
        scorers["instruments"](IdentityGenerator(), audio, audio)
    custom = make_top_n_agreement_scorer(fitted_tagger, ["Blues", "Jazz"], n=1,
                                         sample_rate=SAMPLE_RATE)
    assert custom(IdentityGenerator(), audio, audio) == 1.0


def test_ast_tagger_tiny_model_object_and_local_path(tmp_path, monkeypatch):
    pytest.importorskip("transformers")
    from transformers import ASTFeatureExtractor

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = tiny_ast()
    audio, _, _, _ = make_labelled_clips(3, seed=3)
    tagger = AudioTagger("ast", model=model).fit()
    proba = tagger.predict_proba(audio, sample_rate=SAMPLE_RATE)
    assert proba.shape == (3, 527) and ((proba > 0) & (proba < 1)).all()
    assert list(tagger.classes_) == list(AUDIOSET_LABELS)
    ranked = tagger.top_classes(audio, sample_rate=SAMPLE_RATE, group="instruments")
    assert sorted(ranked[0]) == sorted(AUDIOSET_GROUPS["instruments"])
    column = list(tagger.classes_).index(ranked[0][0])
    assert proba[0, column] == max(proba[0, list(tagger.classes_).index(name)]
                                   for name in AUDIOSET_GROUPS["instruments"])

    model.save_pretrained(tmp_path)
    ASTFeatureExtractor(num_mel_bins=16, max_length=24).save_pretrained(tmp_path)
    reloaded = AudioTagger("ast", model=str(tmp_path)).fit()
    np.testing.assert_allclose(reloaded.predict_proba(audio, sample_rate=SAMPLE_RATE), proba,
                               rtol=1e-5)
    with pytest.raises(ValueError, match="Could not load an AST model"):
        AudioTagger("ast", model=str(tmp_path / "missing")).fit()


@pytest.mark.parametrize(
    "tagger, fit_args, match",
    [
        (AudioTagger("leaf"), {}, "backend must be one of"),
        (AudioTagger("ast"), {}, "needs model="),
        (AudioTagger(embedder=band_energies), {}, "learns from labelled clips"),
        (AudioTagger(embedder=band_energies),
         {"X": np.zeros((2, 100)), "y": [["Jazz"]], "sample_rate": 4000},
         "y has 1 label lists but X has 2 clips"),
        (AudioTagger(embedder=band_energies),
         {"X": np.zeros((2, 100)), "y": ["Jazz", "Blues"], "sample_rate": None},
         "sample_rate must be"),
        (AudioTagger(embedder=band_energies),
         {"X": np.zeros((2, 0)), "y": ["Jazz", "Blues"], "sample_rate": 4000},
         r"\(n_clips, n_samples\)"),
    ],
)
def test_bad_input_errors(tagger, fit_args, match):
    with pytest.raises(ValueError, match=match):
        tagger.fit(**fit_args)


def test_default_embedder_is_librosa_audio_embedder():
    from skbrainmusic import AudioEmbedder

    rng = np.random.default_rng(0)
    rate = 22050
    gain = np.array([0.02, 0.02, 0.02, 0.5, 0.5, 0.5, 0.02, 0.5])
    audio = gain[:, None] * rng.standard_normal((8, 10 * rate))  # 10 s: one librosa window
    labels = [["Tender music"]] * 3 + [["Exciting music"]] * 3
    tagger = AudioTagger().fit(audio[:6], labels, sample_rate=rate)
    assert isinstance(tagger.embedder_, AudioEmbedder)
    assert tagger.embedder_.backend == "librosa"
    ranked = tagger.top_classes(audio[6:], sample_rate=rate, n=1)
    assert ranked == [["Tender music"], ["Exciting music"]]


def test_tagger_is_a_scikit_learn_estimator(fitted_tagger):
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError

    audio, labels, _, _ = make_labelled_clips(60, seed=0)
    classifier = default_classifier()
    tagger = AudioTagger(embedder=band_energies, classifier=classifier)
    assert tagger.get_params()["classifier"] is classifier
    assert clone(tagger).get_params()["embedder"] is band_energies
    with pytest.raises(NotFittedError, match="AudioTagger"):
        tagger.predict_proba(audio, sample_rate=SAMPLE_RATE)
    tagger.fit(audio, labels, sample_rate=SAMPLE_RATE)
    # fit trains a clone: the classifier given as a parameter stays unfitted.
    assert tagger.classifier_ is not classifier and not hasattr(classifier, "estimators_")
    np.testing.assert_allclose(tagger.predict_proba(audio, sample_rate=SAMPLE_RATE),
                               fitted_tagger.predict_proba(audio, sample_rate=SAMPLE_RATE),
                               rtol=1e-6, atol=1e-9)
    assert tagger.set_params(batch_size=2).batch_size == 2


def default_classifier():
    """The default classifier, given explicitly."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(),
                         OneVsRestClassifier(LogisticRegression(C=1.0, max_iter=2000)))


def test_an_embedder_estimator_embeds_the_training_clips_once(embedded_batches):
    from skbrainmusic import AudioEmbedder

    audio, labels, _, _ = make_labelled_clips(12, seed=0)
    embedder = AudioEmbedder(backend="mel", window=0.5, step=0.5)
    tagger = AudioTagger(embedder=embedder).fit(audio, labels, sample_rate=SAMPLE_RATE)
    assert sum(embedded_batches) == 12
    # The standardisation was learned on the training clips by a clone of the parameter.
    assert tagger.embedder_ is not embedder and not hasattr(embedder, "mean_")
    assert tagger.embedder_.mean_.shape == (128,)

"""The on-disk cache of estimated musical attributes: hits equal misses, misses only are
computed, a changed clip or a corrupt file is estimated again."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

from skbrainmusic import AudioEmbedder, AudioTagger
from skbrainmusic.composer import Composer
from skbrainmusic.generation import _attributes
from skbrainmusic.generation._attributes import (
    AUDIO_ATTRIBUTES,
    attribute_cache_of,
    estimate_attributes,
)
from skbrainmusic.generation._score import ScoreBackend

RATE = 16000
DURATION = 3.0
GENRES = ("rock", "jazz", "classical", "pop")


@pytest.fixture(scope="module")
def clips():
    """Composed clips, their librosa embeddings and a tagger fitted on them."""
    rng = np.random.default_rng(0)
    n = 10
    attributes = [{"genre": GENRES[i % 4], "tempo": float(t)}
                  for i, t in enumerate(rng.uniform(80.0, 150.0, n))]
    audio = Composer(sample_rate=RATE, duration=DURATION, fade=0.2).generate(attributes, 0)
    embedder = AudioEmbedder(backend="librosa", window=DURATION, sample_rate=RATE,
                             clip_duration=DURATION)
    labels = [["Harp", "Sad music"] if i % 2 else ["Percussion", "Happy music"] for i in range(n)]
    tagger = AudioTagger(embedder=embedder).fit(audio, labels, sample_rate=RATE)
    return {"audio": audio, "embeddings": embedder.fit_transform(audio)[:, 0],
            "tagger": tagger}


@pytest.fixture
def computed(monkeypatch):
    """Number of clips analysed from audio by every batch that analysed any, in order."""
    calls = []
    analyse = _attributes._audio_attributes

    def counting(audio, sample_rate):
        calls.append(len(audio))
        return analyse(audio, sample_rate)

    monkeypatch.setattr(_attributes, "_audio_attributes", counting)
    return calls


def _cache_files(folder):
    return sorted(folder.rglob("*.npy"))


def test_cached_attributes_equal_computed_ones_and_are_read_not_computed(clips, computed,
                                                                         tmp_path):
    audio, tagger = clips["audio"], clips["tagger"]
    reference = estimate_attributes(audio, RATE, tagger=tagger)
    first = estimate_attributes(audio, RATE, tagger=tagger, cache=tmp_path)
    assert len(_cache_files(tmp_path)) == len(audio)
    second = estimate_attributes(audio, RATE, tagger=tagger, cache=str(tmp_path))
    assert computed == [len(audio), len(audio)]  # the second call analysed nothing
    for result in (first, second):
        pd.testing.assert_frame_equal(result, reference, check_exact=True)
    assert reference.tonic.dtype == np.int64 and reference.major.dtype == bool
    assert (reference.drop(columns=["tonic", "major"]).dtypes == np.float64).all()
    # The tagger's columns are there, computed on every call.
    assert {"instrument:Harp", "mood:Happy music"} <= set(second.columns)
    assert list(second.columns[:len(AUDIO_ATTRIBUTES)]) == AUDIO_ATTRIBUTES


def test_a_changed_clip_or_rate_is_a_miss(clips, computed, tmp_path):
    audio = clips["audio"]
    cached = estimate_attributes(audio, RATE, cache=tmp_path)
    changed = audio.copy()
    changed[2, len(changed[2]) // 2] += 1e-3  # one sample
    result = estimate_attributes(changed, RATE, cache=tmp_path)
    assert computed == [len(audio), 1]
    # The other rows are read back unchanged; the changed clip's are its own.
    pd.testing.assert_frame_equal(result.drop(index=2), cached.drop(index=2), check_exact=True)
    pd.testing.assert_frame_equal(result.iloc[[2]].reset_index(drop=True),
                                  estimate_attributes(changed[[2]], RATE), check_exact=True)
    # The same samples at another rate mean other sounds: all misses.
    estimate_attributes(audio[:3], RATE // 2, cache=tmp_path)
    assert computed == [len(audio), 1, 1, 3]


def test_a_corrupt_cache_file_warns_and_is_estimated_again(clips, computed, tmp_path):
    audio = clips["audio"][:4]
    cached = estimate_attributes(audio, RATE, cache=tmp_path)
    damaged = _cache_files(tmp_path)[1]
    damaged.write_bytes(damaged.read_bytes()[:-7])
    with pytest.warns(RuntimeWarning, match="corrupt"):
        again = estimate_attributes(audio, RATE, cache=tmp_path)
    pd.testing.assert_frame_equal(again, cached, check_exact=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        estimate_attributes(audio, RATE, cache=tmp_path)  # rewritten whole
    assert computed == [4, 1]


@pytest.mark.parametrize("setting", ["_ATTRIBUTE_FORMAT", "_N_FFT"])
def test_cache_keys_follow_the_settings_and_survive_pickling(clips, tmp_path, monkeypatch,
                                                             setting):
    clip = clips["audio"][0]
    key = attribute_cache_of(tmp_path).key(clip, RATE)
    # Workers of map_batches (processes) get a pickled cache: they must find the same files.
    assert pickle.loads(pickle.dumps(attribute_cache_of(tmp_path))).key(clip, RATE) == key
    monkeypatch.setattr(_attributes, setting, getattr(_attributes, setting) * 2)
    assert attribute_cache_of(tmp_path).key(clip, RATE) != key


@pytest.mark.parametrize("cache", [3, ["folder"], b"folder"])
def test_bad_cache_types_are_refused_before_any_work(clips, computed, cache):
    with pytest.raises(TypeError, match="cache must be a directory path"):
        estimate_attributes(clips["audio"], RATE, cache=cache)
    with pytest.raises(TypeError, match="cache must be a directory path"):
        ScoreBackend(cache=cache).fit(clips["embeddings"], clips["audio"], RATE)
    assert computed == []


def test_score_backend_fits_from_its_cache_as_without(clips, computed, tmp_path):
    embeddings, audio = clips["embeddings"], clips["audio"]
    plain = ScoreBackend(cv=2, random_state=0).fit(embeddings, audio, RATE)
    cached = ScoreBackend(cv=2, cache=tmp_path, random_state=0)
    for _ in range(2):
        cached.fit(embeddings, audio, RATE)
        np.testing.assert_array_equal(cached.regressor_.coef_, plain.regressor_.coef_)
        assert cached.tempo_range_ == plain.tempo_range_
    # The validation clips' attributes go through the same cache.
    pd.testing.assert_frame_equal(cached.estimate_attributes(audio[:3]),
                                  plain.estimate_attributes(audio[:3]), check_exact=True)
    # Computed: the plain fit, the first cached fit, the plain backend's 3 clips; no more.
    assert computed == [len(audio), len(audio), 3]


def test_demo_generator_caches_its_corpus_attributes_where_its_embeddings_are(tmp_path):
    from sklearn.base import clone
    from sklearn.utils import Bunch

    from skbrainmusic import Corpus
    from skbrainmusic.experiments import demo_generator

    duration, n = 10.0, 6  # the demo tagger's features take 10 s windows
    audio = Composer(sample_rate=RATE, duration=duration, fade=0.2).generate(
        [{"genre": GENRES[i % 4]} for i in range(n)], 0)
    clips = pd.DataFrame({"instruments": [["Harp"], ["Percussion"]] * (n // 2),
                          "moods": [["Sad music"], ["Happy music"]] * (n // 2)})
    study = Bunch(corpus=Bunch(audio=audio, clips=clips), sample_rate=RATE,
                  clip_duration=duration)
    generator = demo_generator(study, cache=tmp_path)
    assert generator.backend.cache == tmp_path
    embedded = set(tmp_path.rglob("*.npy"))  # the tagger's embeddings
    corpus = Corpus(np.random.default_rng(0).standard_normal((n, 4)), audio=audio,
                    sample_rate=RATE)
    clone(generator).set_params(corpus=corpus).fit()
    assert len(set(tmp_path.rglob("*.npy")) - embedded) == n

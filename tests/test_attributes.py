"""Every attribute computed from shared spectrograms equals the straightforward librosa call
that computes it alone: a spectrogram shared between features with other frames, or a filter
bank reused for another tuning, would change the values."""

import librosa
import numpy as np
import pytest

from skbrainmusic.composer import Composer, band_envelope
from skbrainmusic.generation import _attributes
from skbrainmusic.generation._attributes import (
    AUDIO_ATTRIBUTES,
    N_BANDS,
    estimate_attributes,
    key_from_chroma,
)

RATE = 22050
DURATION = 4.0


@pytest.fixture(scope="module")
def audio():
    """Composed clips, a pure chord 35 cents sharp (another tuning, after in-tune clips)
    and silence."""
    attributes = [{"genre": genre, "tempo": tempo}
                  for genre, tempo in zip(("rock", "jazz", "classical"), (84.0, 121.0, 143.0))]
    composed = Composer(sample_rate=RATE, duration=DURATION, fade=0.2).generate(attributes, 0)
    t = np.arange(composed.shape[1]) / RATE
    sharp = sum(np.sin(2 * np.pi * 261.63 * 2 ** ((step + 0.35) / 12) * t) for step in (0, 4, 7))
    return np.vstack([composed, sharp / 3, np.zeros_like(t)]).astype(np.float32)


@pytest.fixture(scope="module")
def attributes(audio):
    return estimate_attributes(audio, RATE)


def _reference_tempo(clip):
    """Tempo of librosa's beat tracker on the clip's own onset strength."""
    envelope = librosa.onset.onset_strength(y=clip, sr=RATE)
    if not envelope.any():
        return 0.0
    return float(np.atleast_1d(librosa.beat.beat_track(onset_envelope=envelope, sr=RATE)[0])[0])


def _reference_chroma(clip):
    """Mean of librosa's chroma_stft (unnormalised frames) with the estimated tuning."""
    power = np.abs(librosa.stft(clip, n_fft=4096, hop_length=2048)) ** 2
    tuning = librosa.estimate_tuning(S=power, sr=RATE, n_fft=4096)
    total = librosa.feature.chroma_stft(S=power, sr=RATE, n_fft=4096, tuning=tuning,
                                        norm=None).mean(axis=1)
    return total / max(total.sum(), 1e-12), tuning


def test_tempo_and_density_equal_those_of_their_own_onset_strength(audio, attributes):
    # One onset strength serves the tempo and the onsets; each reference computes its own.
    tempo = np.array([_reference_tempo(clip) for clip in audio])
    np.testing.assert_array_equal(attributes.tempo, tempo)
    onsets = np.array([len(librosa.onset.onset_detect(y=clip, sr=RATE)) for clip in audio])
    density = onsets / DURATION / (np.maximum(tempo, 1.0) / 30.0)
    np.testing.assert_array_equal(attributes.density, density)
    assert (tempo[:3] > 0).all() and (onsets[:3] > 0).all()  # the composed clips have beats
    assert tempo[-1] == 0.0 and density[-1] == 0.0  # silence has none


def test_envelope_equals_band_envelope_of_the_clip(audio, attributes):
    # The hop-512 onset frames, every other one taken, are band_envelope's hop-1024 frames.
    envelope = np.concatenate([band_envelope(clip[np.newaxis], RATE, N_BANDS) for clip in audio])
    np.testing.assert_array_equal(attributes.filter(like="envelope_").to_numpy(), envelope)
    assert np.ptp(envelope[0]) > 10.0  # not a flat floor


def test_chroma_and_key_equal_chroma_stft_with_the_estimated_tuning(audio, attributes):
    chroma, tunings = zip(*(_reference_chroma(clip) for clip in audio[:-1]))
    # The sharp chord is analysed with its own filter bank, not the in-tune clips' one.
    assert abs(tunings[-1] - 0.35) < 0.05 and abs(tunings[0]) < 0.1
    found = attributes.filter(like="chroma_").to_numpy()[:-1]
    np.testing.assert_array_equal(found, np.array(chroma))
    tonic, major, _ = key_from_chroma(found)
    np.testing.assert_array_equal(attributes.tonic[:-1], tonic)
    np.testing.assert_array_equal(attributes.major[:-1], major)
    assert attributes.tonic[3] == 0 and attributes.major[3]  # the sharp C major chord


def test_loudness_is_the_rms(audio, attributes):
    rms = np.sqrt(np.mean(np.square(audio, dtype=np.float64), axis=1))
    np.testing.assert_allclose(attributes.loudness, rms, rtol=1e-12)
    assert attributes.loudness.iloc[-1] == 0.0


def test_attributes_do_not_depend_on_the_batch_or_the_order(audio, attributes):
    alone = np.vstack([_attributes._audio_attributes(clip[np.newaxis], RATE)
                       for clip in audio[::-1]])[::-1]
    np.testing.assert_array_equal(alone, attributes[AUDIO_ATTRIBUTES].to_numpy(dtype=float))

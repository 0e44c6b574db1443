"""Cost of the musical attributes estimated from audio, against a reference measured in the
same run.

    PYTHONPATH=. python benchmarks/attributes.py [--clips 50] [--fit-clips 200] [--repeats 3]

On synthetic corpus clips (the composer's, 15 s at 22,050 Hz, as the synthetic study's
corpus), with one thread:

1. CPU milliseconds per clip of ``_audio_attributes`` (tempo, key, chroma, density, band
   envelope, loudness), and of ``reference_attributes`` below: every feature computed on
   its own by the straightforward librosa calls (the implementation before the features
   shared their spectrograms), with the largest difference per column between the two.
2. Seconds of ``ScoreBackend().fit`` on ``--fit-clips`` clips without a cache (random
   embeddings: the fit's cost is the attributes'), with ``_audio_attributes`` and with
   ``reference_attributes`` in its place.
"""

import argparse
import time
from unittest import mock

import numpy as np
from _measure import best_time, timed
from threadpoolctl import threadpool_limits

from skbrainmusic.composer import Composer, band_envelope
from skbrainmusic.generation import _attributes
from skbrainmusic.generation._score import ScoreBackend

RATE = 22050
GENRES = ("rock", "jazz", "classical", "pop", "blues", "country", "disco", "hiphop",
          "metal", "reggae")


def reference_attributes(audio, sample_rate):
    """``_audio_attributes`` with every feature computed on its own: an STFT for the tuning
    and the chroma, an onset strength for the tempo (by beat tracking) and another for the
    onsets, band_envelope's own STFT."""
    import librosa

    rows = []
    for clip in np.asarray(audio, dtype=np.float32):
        power = np.abs(librosa.stft(clip, n_fft=_attributes._N_FFT,
                                    hop_length=_attributes._HOP)) ** 2
        tuning = librosa.estimate_tuning(S=power, sr=sample_rate, n_fft=_attributes._N_FFT)
        chroma = librosa.feature.chroma_stft(S=power, sr=sample_rate, n_fft=_attributes._N_FFT,
                                             tuning=tuning, norm=None).mean(axis=1)
        envelope = librosa.onset.onset_strength(y=clip, sr=sample_rate)
        tempo = 0.0
        if envelope.max() > 0:
            tempo = float(np.atleast_1d(librosa.beat.beat_track(
                onset_envelope=envelope, sr=sample_rate)[0])[0])
        rows.append([tempo, len(librosa.onset.onset_detect(y=clip, sr=sample_rate)),
                     *chroma / max(chroma.sum(), 1e-12),
                     *band_envelope(clip[np.newaxis], sample_rate, _attributes.N_BANDS)[0],
                     np.sqrt(np.mean(np.square(clip, dtype=np.float64)))])
    rows = np.array(rows)
    tempo, onsets, chroma = rows[:, 0], rows[:, 1], rows[:, 2:14]
    tonic, major, _ = _attributes.key_from_chroma(chroma)
    density = onsets / (audio.shape[1] / sample_rate) / (np.maximum(tempo, 1.0) / 30.0)
    return np.column_stack([tempo, tonic, major, chroma, density, rows[:, 14:]])


def corpus(n_clips, seed=0):
    rng = np.random.default_rng(seed)
    attributes = [{"genre": GENRES[i % len(GENRES)], "tempo": float(tempo)}
                  for i, tempo in enumerate(rng.uniform(70.0, 170.0, n_clips))]
    return Composer(sample_rate=RATE, duration=15.0).generate(attributes, seed), attributes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=50)
    parser.add_argument("--fit-clips", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    audio, attributes = corpus(max(args.clips, args.fit_clips))

    per_clip = audio[:args.clips]
    costs = {}
    for name, estimate in (("reference", reference_attributes),
                           ("shared", _attributes._audio_attributes)):
        costs[name] = best_time(lambda estimate=estimate: estimate(per_clip, RATE),
                                args.repeats, clock=time.process_time) / args.clips * 1e3
    print(f"per clip, {args.clips} clips of 15 s, CPU ms: reference {costs['reference']:.1f}, "
          f"shared {costs['shared']:.1f}, speed-up x{costs['reference'] / costs['shared']:.2f}")
    difference = np.abs(reference_attributes(per_clip, RATE)
                        - _attributes._audio_attributes(per_clip, RATE)).max(axis=0)
    moved = {name: value for name, value in zip(_attributes.AUDIO_ATTRIBUTES, difference)
             if value}
    print(f"largest difference per column: {moved or 'none (identical)'}")

    rng = np.random.default_rng(0)
    embeddings = rng.standard_normal((args.fit_clips, 64))
    labels = [row["genre"] for row in attributes[:args.fit_clips]]
    fits = {}
    for name, estimate in (("reference", reference_attributes),
                           ("shared", _attributes._audio_attributes)):
        with mock.patch.object(_attributes, "_audio_attributes", estimate):
            fits[name] = timed(ScoreBackend(random_state=0).fit, embeddings,
                               audio[:args.fit_clips], RATE, labels)
    print(f"ScoreBackend().fit, {args.fit_clips} clips, no cache, wall s (CPU s): "
          f"reference {fits['reference'].wall:.1f} ({fits['reference'].cpu:.1f}), "
          f"shared {fits['shared'].wall:.1f} ({fits['shared'].cpu:.1f}), "
          f"speed-up x{fits['reference'].wall / fits['shared'].wall:.2f}")


if __name__ == "__main__":
    with threadpool_limits(1):
        main()

"""A small study Bunch with a planted signal, for the tests of the experiments and of the
command line (seconds instead of a synthetic study's minute)."""

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

RATE = 8000
CLIP = 3.0
GENRES = ("blues", "classical", "metal")


def make_mini_study(seed=0, *, n_train=30, n_test=12, subject=1, deaf=False,
                    clip_duration=CLIP, n_rois=3):
    """A study Bunch of short clips (3 s by default) with the fields of the real ones:
    band-noise music whose band weights (one pattern per genre, varied per clip) drive one
    ROI of 10 voxels in every scan; the ``n_rois - 1`` other ROIs of 10 voxels are noise.

    ``deaf``: no voxel responds to the music (a control that must decode at chance).
    """
    rng = np.random.default_rng(seed)
    n_clips = n_train + n_test
    n_samples = int(clip_duration * RATE)
    n_scans = int(round(clip_duration / 1.5))
    genre = np.resize(np.arange(len(GENRES)), n_clips)
    rng.shuffle(genre)
    weights = np.eye(4)[[0, 2, 3]][genre] + 0.6 * rng.uniform(size=(n_clips, 4))
    spectrum = np.fft.rfft(rng.standard_normal((n_clips, 4, n_samples)), axis=2)
    edges = [int(hz * clip_duration) for hz in (0, 133.4, 500, 1333.4)] + [spectrum.shape[2]]
    for band in range(4):
        spectrum[:, band, :edges[band]] = 0
        spectrum[:, band, edges[band + 1]:] = 0
    audio = np.einsum("ib,ibt->it", weights, np.fft.irfft(spectrum, n=n_samples, axis=2))
    audio = (audio / audio.std(axis=1, keepdims=True) * 0.1).astype(np.float32)
    brain = np.random.default_rng(100 + subject)
    signal = weights @ brain.standard_normal((4, 10))
    responses = 0.5 * brain.standard_normal((n_clips, n_scans, 10 * n_rois))
    if not deaf:
        responses[:, :, :10] += signal[:, np.newaxis, :]
    clips = pd.DataFrame({"clip_id": [f"{GENRES[g]}.{i:05d}" for i, g in enumerate(genre)],
                          "genre": [GENRES[g] for g in genre]})
    return Bunch(
        responses_train=responses[:n_train].astype(np.float32),
        responses_test=responses[n_train:].astype(np.float32),
        clips_train=clips.iloc[:n_train].reset_index(drop=True),
        clips_test=clips.iloc[n_train:].reset_index(drop=True),
        audio_train=audio[:n_train], audio_test=audio[n_train:], sample_rate=RATE,
        roi_labels=np.repeat(np.arange(1, n_rois + 1), 10),
        roi_names={1: "auditory", **{k: f"other-{k}" for k in range(2, n_rois + 1)}},
        informative_rois=np.array([1]), tr=1.5, clip_duration=clip_duration, subject=subject,
        captions_train=None, captions_test=None, mask=None)

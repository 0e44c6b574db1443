"""Stimulus features shared by the commands: embeddings standardised on the training clips."""

import numpy as np
from sklearn.feature_selection import VarianceThreshold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


class AudioFeatures:
    """An audio embedding standardised with the training stimuli's statistics.

    ``transform(audio)`` -> ``(n_clips, n_windows, d)``; used for the stimuli, the corpus and
    the reconstructions alike, so that all are compared in one space (raw features such as
    tempo and spectral statistics have very different scales, which would otherwise dominate
    the correlations of the identification accuracy). Dimensions constant over the training
    stimuli (e.g. mel bands above the Nyquist frequency of low-rate audio) carry nothing and
    are dropped.

    Parameters
    ----------
    embedder : AudioEmbedder
        Unfitted; fitted by :meth:`fit_transform` on the training stimuli.
    """

    def __init__(self, embedder):
        self.embedder = embedder
        self.scaler = make_pipeline(VarianceThreshold(), StandardScaler())

    def fit_transform(self, audio):
        raw = self.embedder.fit_transform(audio)
        # The training stimuli are embedded again by the tagger and, when they are the
        # retrieval corpus, by the retriever: keep their raw embedding.
        self._train_audio, self._train_raw = audio, raw
        self.scaler.fit(raw.reshape(-1, raw.shape[-1]))
        return self._scale(raw)

    def forget_training(self):
        """Drop the kept training embedding (e.g. before shipping this object to workers)."""
        self._train_audio = self._train_raw = None

    def raw(self, audio):
        """The unscaled embedding ``(n_clips, n_windows, d_raw)``."""
        if audio is self._train_audio:
            return self._train_raw
        return self.embedder.transform(audio)

    def transform(self, audio):
        return self._scale(self.raw(audio))

    def _scale(self, raw):
        scaled = self.scaler.transform(raw.reshape(-1, raw.shape[-1]))
        return scaled.reshape(*raw.shape[:-1], scaled.shape[-1])


class CaptionFeatures:
    """Caption embedding (TF-IDF + SVD fitted on the training captions), standardised,
    as ``(n_clips, 1, d)``: one 15 s window, as MuLan-text in Table A.2."""

    def __init__(self, n_train, random_state):
        from ..embeddings import CaptionEmbedder

        self.embedder = CaptionEmbedder(n_components=min(128, n_train - 1),
                                        random_state=random_state)
        self.scaler = StandardScaler()

    def fit_transform(self, captions):
        raw = self.embedder.fit_transform(captions)
        return self.scaler.fit_transform(raw)[:, np.newaxis, :]

    def transform(self, captions):
        return self.scaler.transform(self.embedder.transform(captions))[:, np.newaxis, :]


class TaggerFeatures:
    """Input features of the offline audio tagger: the raw audio embedding of an
    :class:`AudioFeatures` (reusing what it already computed). Picklable, for parallel
    workers."""

    def __init__(self, features):
        self.features = features

    def __call__(self, audio, sample_rate):
        expected = self.features.embedder.sample_rate
        if sample_rate != expected:
            raise ValueError(f"audio at {sample_rate} Hz given to features computed at "
                             f"{expected} Hz.")
        return self.features.raw(audio)


def calibrate(predicted):
    """Standardise predicted embeddings per dimension, over all predicted clips and windows.

    Ridge predictions from fMRI are shrunk towards the mean: their spread is a fraction of
    that of true embeddings, so a generator fitted on true embeddings turns all of them into
    nearly the same average music. Rescaling each dimension to unit variance (the scale of
    the standardised true embeddings) restores the spread. It uses the predictions only,
    never the true embeddings of the clips being reconstructed.

    Parameters
    ----------
    predicted : ndarray of shape (n_clips, n_windows, d)

    Returns
    -------
    calibrated : ndarray of shape (n_clips, n_windows, d)
    """
    flat = predicted.reshape(-1, predicted.shape[-1])
    std = flat.std(axis=0)
    std[std == 0] = 1.0
    return ((flat - flat.mean(axis=0)) / std).reshape(predicted.shape)

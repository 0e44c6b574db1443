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


class Calibration:
    """Per-dimension standardisation of predicted embeddings, learnt on the training clips.

    Ridge predictions from fMRI are shrunk towards the mean: their spread is a fraction of
    that of true embeddings, so a generator fitted on true embeddings turns all of them into
    nearly the same average music. The mean and spread of each dimension are estimated on
    out-of-fold predictions of the training clips (the decoder refitted in K folds over
    clips), then applied to the predictions of held-out clips: nothing about the held-out
    clips, neither their true embeddings nor their other predictions, enters a clip's
    reconstruction.

    Parameters
    ----------
    decoder : estimator
        Unfitted decoder (e.g. TemporalWindowAligner -> ROIEnsembleRidge).
    responses : ndarray of shape (n_clips, n_scans, n_voxels)
        Training responses.
    embeddings : ndarray of shape (n_clips, n_windows, d)
        Training embeddings.
    cv : int
        Folds over training clips.
    """

    def __init__(self, decoder, responses, embeddings, cv):
        from sklearn.base import clone
        from sklearn.model_selection import cross_val_predict

        out_of_fold = cross_val_predict(clone(decoder), responses, embeddings, cv=cv)
        flat = out_of_fold.reshape(-1, out_of_fold.shape[-1])
        self.mean = flat.mean(axis=0)
        self.std = flat.std(axis=0)
        self.std[self.std == 0] = 1.0

    def transform(self, predicted):
        """Standardise ``predicted`` ``(n_clips, n_windows, d)`` with the training statistics."""
        return (predicted - self.mean) / self.std

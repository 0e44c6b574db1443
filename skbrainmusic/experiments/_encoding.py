"""Encoding models of an experiment: voxelwise ridge from an embedding to the responses."""

from dataclasses import dataclass

import numpy as np

from ._features import StimulusFeatures


def aligned_responses(study, window, *, step):
    """The study's training and test responses averaged over windows of ``window`` seconds.

    Returns
    -------
    responses_train, responses_test : ndarray of shape (n_clips, n_windows, n_voxels)
    """
    from ..alignment import TemporalWindowAligner

    delay = getattr(study, "delay", None)
    aligner = TemporalWindowAligner(window=window, step=step, tr=study.tr,
                                    delay=0.0 if delay is None else float(delay),
                                    clip_duration=study.clip_duration)
    return aligner.fit_transform(study.responses_train), aligner.transform(study.responses_test)


def fit_encoder(study, responses, train, test, *, cv):
    """A :class:`~skbrainmusic.VoxelwiseEncoder` from embeddings to window-averaged scans.

    ``responses`` are the study's :func:`aligned_responses` at the embeddings' windows.

    Returns
    -------
    encoder : VoxelwiseEncoder
        Fitted on the training clips.
    variations : ndarray of shape (n_test, n_windows, n_voxels)
        Its predictions of the test clips less the intercept, ``test @ coef_``: what
        correlations (the scores, a permutation test) need, without the float32 rounding
        of adding the intercept, which can erase a heavily penalised voxel's variation.
    scores : ndarray of shape (n_voxels,)
        Held-out Pearson r of every voxel.
    """
    from .._validation import validate_clips
    from ..encoding import VoxelwiseEncoder
    from ..encoding._voxelwise import voxel_correlations

    responses_train, responses_test = responses
    # With a delay, clips share scans across their boundary: group them by run.
    encoder = VoxelwiseEncoder(cv=cv).fit(train, responses_train,
                                          groups=getattr(study, "cv_groups", None))
    # (voxel_scores would compute the variations again)
    variations = encoder._variations(validate_clips(encoder, test, reset=False)[0])
    return encoder, variations, voxel_correlations(responses_test, variations)


@dataclass
class EncodingResults:
    """What :func:`run_encoding` measured.

    Attributes
    ----------
    encoder : VoxelwiseEncoder
        Fitted on the training clips.
    scores : ndarray of shape (n_voxels,)
        Held-out Pearson r of every voxel.
    test : PermutationTestResult
        Per-voxel permutation test with FDR (``significant``, ``pvalues_fdr``, ...).
    summary : dict
        ``n_voxels``, ``mean_r``, ``max_r``, ``n_significant``, ``fraction_significant``.
    per_roi : list of dict
        Per ROI (best mean r first): ``roi``, ``n_voxels``, ``mean_r``,
        ``fraction_significant``; empty without ROI labels.
    partition : VariancePartition or None
        Variance partitioning of the embedding against the captions (A.1.8).
    """

    encoder: object
    scores: np.ndarray
    test: object
    summary: dict
    per_roi: list
    partition: object = None

    @property
    def variance(self):
        """Mean held-out R^2 over voxels of every part of the partitioning (or None)."""
        if self.partition is None:
            return None
        partition = self.partition
        return {name: float(np.mean(values)) for name, values in (
            ("joint", partition.joint), ("unique_audio", partition.unique["audio"]),
            ("unique_captions", partition.unique["captions"]), ("shared", partition.shared))}

    @property
    def maps(self):
        """Voxel maps by name: ``r``, ``significant_r`` (0 where not significant) and, with
        the partitioning, ``unique_audio``, ``unique_captions``, ``shared``."""
        maps = {"r": self.scores, "significant_r": np.where(self.test.significant,
                                                             self.scores, 0.0)}
        if self.partition is not None:
            maps.update({"unique_audio": self.partition.unique["audio"],
                         "unique_captions": self.partition.unique["captions"],
                         "shared": self.partition.shared})
        return maps


def roi_name(study, label):
    """Name of ROI ``label`` in the study's ``roi_names`` (the label itself if unnamed)."""
    names = study.roi_names
    return names.get(int(label), str(label)) if hasattr(names, "get") else names[int(label)]


def run_encoding(study, embedding, *, captions=None, n_permutations=1000, q=0.05, step=1.5,
                 cv=5, random_state=0):
    """Voxelwise encoding models of one subject, tested with clip permutations and FDR.

    A ridge model per voxel predicts the window-averaged responses from ``embedding`` (one
    alpha per voxel by cross-validation over clips); held-out correlations are tested with
    clip permutations and Benjamini-Hochberg FDR; with ``captions`` the variance is
    partitioned between the audio and the caption embeddings (A.1.8).

    Parameters
    ----------
    study : Bunch
        One subject's study with ``audio_train`` / ``audio_test`` (and
        ``captions_train`` / ``captions_test`` for ``captions``); see
        :func:`run_experiment`.
    embedding : EmbeddingSpec
        The audio embedding of the stimuli.
    captions : EmbeddingSpec, default=None
        A caption embedding for the variance partitioning.
    n_permutations : int, default=1000
        Permutations of the significance test.
    q : float, default=0.05
        False discovery rate.
    step : float, default=1.5
        Seconds between window starts.
    cv : int, default=5
        Folds over clips of the encoders' alpha.
    random_state : int, default=0
        Seed of the permutations.

    Returns
    -------
    results : EncodingResults
    """
    from ..encoding import permutation_test, upsample_to_windows, variance_partitioning

    features = StimulusFeatures(embedding.embedder, standardize=embedding.standardize)
    X_train = features.fit_transform(study.audio_train)
    X_test = features.transform(study.audio_test)
    responses = aligned_responses(study, embedding.window, step=step)
    responses_test = responses[1]
    encoder, variations, scores = fit_encoder(study, responses, X_train, X_test, cv=cv)
    test = permutation_test(responses_test, variations, n_permutations=n_permutations, q=q,
                            random_state=random_state)
    partition = None
    if captions is not None:
        text = StimulusFeatures(captions.embedder, standardize=captions.standardize)
        n_windows = X_train.shape[1]
        C_train = upsample_to_windows(text.fit_transform(study.captions_train)[:, 0],
                                      n_windows)
        C_test = upsample_to_windows(text.transform(study.captions_test)[:, 0], n_windows)
        # The encoder's responses (its delay included) for both feature spaces.
        partition = variance_partitioning(
            {"audio": X_train, "captions": C_train}, responses[0],
            {"audio": X_test, "captions": C_test}, responses_test)
    summary = {"n_voxels": int(scores.size), "mean_r": float(scores.mean()),
               "max_r": float(scores.max()), "n_significant": int(test.significant.sum()),
               "fraction_significant": float(test.significant.mean())}
    per_roi = []
    if study.roi_labels is not None:
        labels = np.asarray(study.roi_labels)
        for label in np.unique(labels):
            in_roi = labels == label
            per_roi.append({"roi": roi_name(study, label), "n_voxels": int(in_roi.sum()),
                            "mean_r": float(scores[in_roi].mean()),
                            "fraction_significant": float(test.significant[in_roi].mean())})
        per_roi.sort(key=lambda row: row["mean_r"], reverse=True)
    return EncodingResults(encoder, scores, test, summary, per_roi, partition)

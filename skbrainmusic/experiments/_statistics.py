"""Uncertainty of the experiment's numbers: bootstrap resamples of the test clips,
permutation nulls of identification and top-n agreement, and their summaries (the methods
are described in :mod:`skbrainmusic.experiments`)."""

import warnings

import numpy as np

from .._validation import check_positive_int
from ..metrics import _top_labels
from ..tagging import rank_classes

_TIE_TOLERANCE = 1e-12
# Largest array of correlations (windows x permutations x clips x clips) built at once.
_BLOCK = 2**22


def bootstrap_indices(n_clips, n_bootstraps, random_state):
    """Resampled clip indices ``(n_bootstraps, n_clips)``."""
    rng = np.random.default_rng(random_state)
    return rng.integers(0, n_clips, size=(n_bootstraps, n_clips))


def mean_replicates(per_clip, indices):
    """Mean of per-clip scores over every resample ``(n_bootstraps,)``; NaN scores (clips
    without a competitor) are left out, as in the mean itself."""
    per_clip = np.asarray(per_clip, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a resample of only NaN clips
        return np.nanmean(per_clip[indices], axis=1)


def correlation_replicates(y_true, y_pred, indices):
    """Mean Pearson r over dimensions (all windows of the resampled clips pooled) of every
    resample ``(n_bootstraps,)``."""
    true = np.asarray(y_true, dtype=np.float64)
    pred = np.asarray(y_pred, dtype=np.float64)
    if true.ndim == 2:
        true, pred = true[:, np.newaxis], pred[:, np.newaxis]
    # Per-clip sums: a resample's moments are the sums weighted by how often it drew a clip.
    sums = [values.sum(axis=1) for values in (true, pred, true * true, pred * pred,
                                              true * pred)]
    weights = np.zeros((indices.shape[0], true.shape[0]))
    np.add.at(weights, (np.arange(indices.shape[0])[:, np.newaxis], indices), 1.0)
    n = weights.sum(axis=1, keepdims=True) * true.shape[1]
    s_t, s_p, s_tt, s_pp, s_tp = (weights @ values for values in sums)
    covariance = n * s_tp - s_t * s_p
    variance = (n * s_tt - s_t**2) * (n * s_pp - s_p**2)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.clip(covariance / np.sqrt(variance), -1.0, 1.0)
    # A dimension constant over the resampled clips correlates with nothing (as
    # pearson_per_target(zero_variance="zero")).
    r[~(variance > 0)] = 0.0
    return r.mean(axis=1)


def interval(replicates, confidence):
    """Central percentile interval ``[low, high]`` of bootstrap replicates."""
    replicates = np.asarray(replicates, dtype=np.float64)
    if np.all(np.isnan(replicates)):
        return [float("nan"), float("nan")]
    tail = 50 * (1 - confidence)
    low, high = np.nanpercentile(replicates, [tail, 100 - tail])
    return [float(low), float(high)]


def permutations(n_clips, n_permutations, random_state, groups=None):
    """Random permutations ``(n_permutations, n_clips)``; within ``groups`` if given."""
    rng = np.random.default_rng(random_state)
    if groups is None:
        return rng.permuted(np.tile(np.arange(n_clips), (n_permutations, 1)), axis=1)
    groups = np.asarray(groups)
    result = np.tile(np.arange(n_clips), (n_permutations, 1))
    for group in np.unique(groups):
        members = np.flatnonzero(groups == group)
        result[:, members] = members[rng.permuted(
            np.tile(np.arange(members.size), (n_permutations, 1)), axis=1)]
    return result


def p_value(observed, null):
    """One-sided permutation p-value ``(1 + #{null >= observed}) / (1 + n)``."""
    null = np.asarray(null)
    return float((1 + np.count_nonzero(null >= observed - _TIE_TOLERANCE)) / (1 + null.size))


def _standardized_rows(values):
    values = np.asarray(values, dtype=np.float64)
    values = values - values.mean(axis=-1, keepdims=True)
    return values / np.linalg.norm(values, axis=-1, keepdims=True)


def identification_null(y_true, y_pred, order, groups=None):
    """Identification accuracy of predictions re-paired with the stimuli by ``order``.

    ``order[k, i]`` is the prediction given to clip ``i`` in permutation ``k``; the score
    follows :func:`~skbrainmusic.metrics.identification_accuracy` (window by window for
    3-D input; with ``groups``, competitors are the clips of the same group). Returns the
    mean score of every permutation ``(n_permutations,)``.
    """
    true = np.asarray(y_true)
    pred = np.asarray(y_pred)
    if true.ndim == 2:
        true, pred = true[:, np.newaxis], pred[:, np.newaxis]
    # correlation[w, i, j] = corr(prediction i, stimulus j) in window w, computed once.
    correlation = np.einsum("iwd,jwd->wij", _standardized_rows(pred), _standardized_rows(true))
    n_windows, n_clips, _ = correlation.shape
    competitors = np.ones((n_clips, n_clips), dtype=bool)
    if groups is not None:
        groups = np.asarray(groups)
        competitors = groups[:, np.newaxis] == groups[np.newaxis, :]
    np.fill_diagonal(competitors, False)
    n_competitors = competitors.sum(axis=1).astype(np.float64)
    n_competitors[n_competitors == 0] = np.nan
    # wins[w, p, i]: the competitors of clip i that prediction p correlates with less than
    # with clip i, in window w. A permutation gives clip i the prediction order[k, i], so
    # its score is a lookup: W x C^3 comparisons once instead of W x C^2 per permutation.
    wins = np.empty((n_windows, n_clips, n_clips), dtype=np.int64)
    block = max(1, _BLOCK // (n_windows * n_clips * n_clips))
    for start in range(0, n_clips, block):
        rows = correlation[:, start:start + block]
        beaten = (rows[..., :, np.newaxis] - rows[..., np.newaxis, :]) > _TIE_TOLERANCE
        wins[:, start:start + block] = (beaten & competitors).sum(axis=-1)
    clips = np.arange(n_clips)
    block = max(1, _BLOCK // (n_windows * n_clips))
    means = []
    for start in range(0, len(order), block):
        per_clip = (wins[:, order[start:start + block], clips] / n_competitors).mean(axis=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            means.append(np.nanmean(per_clip, axis=1))
    return np.concatenate(means)


def agreement_null(proba_true, proba_pred, classes, group, n, order):
    """Top-n agreement of reconstructions re-paired with the stimuli by ``order``
    ``(n_permutations, n_clips)``; returns the mean of every permutation."""
    agreement = pairwise_agreement(rank_classes(proba_true, classes, group),
                                   rank_classes(proba_pred, classes, group), n)
    return agreement[np.arange(len(agreement)), order].mean(axis=1)


def pairwise_agreement(ranked_a, ranked_b, n):
    """Top-n agreement of every clip of ``ranked_a`` with every clip of ``ranked_b`` (ordered
    label lists): ``(len(ranked_a), len(ranked_b))``, entry ``[i, j]`` equal to
    :func:`~skbrainmusic.metrics.top_n_agreement` ``(ranked_a[i], ranked_b[j], n)``.

    One product of the clips' top-n memberships counts every pair's shared labels; the
    union is the two counts minus the shared ones."""
    n = check_positive_int(n, "n")
    tops = [[_top_labels(ranked, n, name) for ranked in side]
            for side, name in ((ranked_a, "ranked_a"), (ranked_b, "ranked_b"))]
    labels = {label: k for k, label in enumerate(
        dict.fromkeys(label for side in tops for top in side for label in top))}
    member_a, member_b = (np.zeros((len(side), len(labels))) for side in tops)
    for members, side in zip((member_a, member_b), tops):
        for i, top in enumerate(side):
            members[i, [labels[label] for label in top]] = 1.0
    shared = member_a @ member_b.T
    union = member_a.sum(1)[:, None] + member_b.sum(1)[None, :] - shared
    if np.any(union == 0):
        raise ValueError("top_n_agreement is undefined for two empty label lists.")
    return shared / union

"""The comparisons the paper makes with encoding models (Fig. 3, Fig. 5a, Fig. 5b).

- :func:`compare_feature_spaces`: one encoding model per feature space (mel, wav2vec 2.0,
  HuBERT, CLAP ...), held-out r per voxel and its mean per ROI (Fig. 3, Fig. 2b/4b).
- :func:`genre_one_hot` and :func:`upsample_to_windows`: the genre model of Fig. 5b, whose
  clip-level one-hot vectors are repeated over the windows of each clip to match the
  windowed embedding (the paper's "up-sampling"); the same applies to clip-level caption
  embeddings (MuLan text).
- :func:`leave_one_genre_out_identification`: identification accuracy on the test clips of
  a genre by a model trained without that genre, next to the full model's (Fig. 5a).
- :func:`plot_score_density`: two models' per-voxel scores against each other (Fig. 2b, 4b).
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone

from .._docs import fill_doc
from .._validation import check_clips, check_positive_int
from ..metrics import identification_accuracy, pearson_per_target
from ._voxelwise import VoxelwiseEncoder


def upsample_to_windows(features, n_windows):
    """Repeat clip-level features over the windows of each clip.

    Parameters
    ----------
    features : array-like of shape (n_clips, n_features)
        One vector per clip (genre one-hot, caption embedding ...).
    n_windows : int
        Windows per clip of the windowed data it is compared with.

    Returns
    -------
    windowed : ndarray of shape (n_clips, n_windows, n_features)

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic.encoding import upsample_to_windows
    >>> upsample_to_windows(np.eye(2), 3).shape
    (2, 3, 2)
    """
    features = np.asarray(features)
    if features.ndim != 2:
        raise ValueError(
            f"features must be 2-D (n_clips, n_features), one vector per clip; got shape "
            f"{features.shape}."
        )
    n_windows = check_positive_int(n_windows, "n_windows")
    return np.repeat(features[:, np.newaxis, :], n_windows, axis=1)


def genre_one_hot(genres, categories=None):
    """One-hot genre vectors, one per clip (the genre model of the paper's Fig. 5b).

    Parameters
    ----------
    genres : array-like of shape (n_clips,)
        Genre label of every clip.
    categories : array-like of shape (n_genres,), default=None
        Column order; ``None`` uses the sorted unique genres. Pass the training set's
        categories when encoding a test set.

    Returns
    -------
    one_hot : ndarray of shape (n_clips, n_genres), float32

    Examples
    --------
    >>> from skbrainmusic.encoding import genre_one_hot
    >>> genre_one_hot(["rock", "jazz", "rock"]).tolist()
    [[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]
    """
    genres = np.asarray(genres)
    if genres.ndim != 1:
        raise ValueError(f"genres must be 1-D (n_clips,); got shape {genres.shape}.")
    categories = np.unique(genres) if categories is None else np.asarray(categories)
    unknown = np.setdiff1d(genres, categories)
    if unknown.size:
        raise ValueError(
            f"genres {unknown.tolist()} are not in categories {categories.tolist()}; pass the "
            "full list of categories."
        )
    return (genres[:, np.newaxis] == categories[np.newaxis, :]).astype(np.float32)


@dataclass
class FeatureSpaceComparison:
    """Result of :func:`compare_feature_spaces`.

    Attributes
    ----------
    voxel_scores : dict of str to ndarray of shape (n_voxels,)
        Held-out Pearson r of every voxel, per feature space (0 for a constant voxel).
    roi_scores : pandas.DataFrame
        Mean r over the voxels of each ROI (rows, plus ``"all"``) per feature space
        (columns).
    estimators : dict of str to estimator
        The fitted encoding model of each feature space.
    """

    voxel_scores: dict
    roi_scores: pd.DataFrame
    estimators: dict


@fill_doc
def compare_feature_spaces(Xs_train, Y_train, Xs_test, Y_test, *, roi_labels=None,
                           estimator=None, groups=None, n_jobs=None):
    """Fit one encoding model per feature space and compare held-out r per voxel and ROI.

    Parameters
    ----------
    Xs_train : dict of str to array-like of shape (n_clips, n_windows, n_features_i)
        Training features per space (2-D means one window per clip). Clip-level features
        must be repeated over windows first (:func:`upsample_to_windows`).
    %(spaces_train_test)s
    roi_labels : array-like of shape (n_voxels,), default=None
        ROI label of every voxel (e.g. auditory subregions A1-A5); ``None`` reports only
        ``"all"``.
    estimator : regressor, default=None
        Encoding model cloned for every space; ``None`` means :class:`VoxelwiseEncoder`.
        Any regressor with ``predict``; ``fit`` must accept ``groups`` when they are given.
    %(groups)s
    %(n_jobs)s

    Returns
    -------
    comparison : FeatureSpaceComparison
        ``voxel_scores``, ``roi_scores`` and the fitted ``estimators``.

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic.encoding import compare_feature_spaces
    >>> rng = np.random.default_rng(0)
    >>> good, noise = rng.standard_normal((50, 3, 6)), rng.standard_normal((50, 3, 6))
    >>> Y = good @ rng.standard_normal((6, 4)) + rng.standard_normal((50, 3, 4))
    >>> result = compare_feature_spaces({"good": good[:40], "noise": noise[:40]}, Y[:40],
    ...                                 {"good": good[40:], "noise": noise[40:]}, Y[40:],
    ...                                 roi_labels=["A1", "A1", "A2", "A2"])
    >>> list(result.roi_scores.index), list(result.roi_scores.columns)
    (['A1', 'A2', 'all'], ['good', 'noise'])
    """
    if not isinstance(Xs_train, dict) or not Xs_train:
        raise ValueError("Xs_train must be a non-empty dict {name: features}.")
    if not isinstance(Xs_test, dict) or Xs_train.keys() != Xs_test.keys():
        raise ValueError(
            f"Xs_test must be a dict with the same keys as Xs_train ({list(Xs_train)})."
        )
    estimator = VoxelwiseEncoder() if estimator is None else estimator
    names = list(Xs_train)
    fitted = Parallel(n_jobs=n_jobs)(
        delayed(_fit_one)(clone(estimator), Xs_train[name], Y_train, groups) for name in names
    )
    estimators = dict(zip(names, fitted))
    Y_test = np.asarray(Y_test)
    voxel_scores = {
        name: pearson_per_target(Y_test.reshape(-1, Y_test.shape[-1]),
                                 np.asarray(estimators[name].predict(Xs_test[name])).reshape(
                                     -1, Y_test.shape[-1]), zero_variance="zero")
        for name in names
    }
    n_voxels = len(next(iter(voxel_scores.values())))
    if roi_labels is None:
        labels = np.array([], dtype=object)
    else:
        labels = np.asarray(roi_labels)
        if labels.shape != (n_voxels,):
            raise ValueError(
                f"roi_labels has {labels.size} entries but Y has {n_voxels} voxels (last axis)."
            )
    rows = {}
    for roi in np.unique(labels).tolist():
        in_roi = labels == roi
        rows[roi] = {name: float(scores[in_roi].mean()) for name, scores in voxel_scores.items()}
    rows["all"] = {name: float(scores.mean()) for name, scores in voxel_scores.items()}
    roi_scores = pd.DataFrame.from_dict(rows, orient="index", columns=names)
    return FeatureSpaceComparison(voxel_scores=voxel_scores, roi_scores=roi_scores,
                                  estimators=estimators)


def _fit_one(estimator, X, Y, groups):
    if groups is None:
        return estimator.fit(X, Y)
    return estimator.fit(X, Y, groups=groups)


def _fit_predict(estimator, X_train, Y_train, X_test):
    return estimator.fit(X_train, Y_train).predict(X_test)


@fill_doc
def leave_one_genre_out_identification(estimator, X_train, Y_train, genres_train, X_test,
                                       Y_test, genres_test, *, windows="separate",
                                       n_jobs=None):
    """Identification accuracy on each genre's test clips, with and without that genre in
    training (the paper's Fig. 5a).

    For every genre ``g`` of the test set, a clone of ``estimator`` is fitted on the
    training clips of the other genres and predicts all test clips; the per-clip
    identification accuracy (:func:`skbrainmusic.metrics.identification_accuracy`, every
    test clip a candidate) is averaged over the test clips of ``g``. The same average for a
    model fitted on all training clips is reported beside it.

    Parameters
    ----------
    estimator : regressor
        Decoder from responses to embeddings (e.g. ``ROIEnsembleRidge``), cloned.
    X_train : array-like of shape (n_clips, n_windows, n_voxels) or (n_clips, n_voxels)
        Training inputs.
    Y_train : array-like of shape (n_clips, n_windows, d) or (n_clips, d)
        Training targets (embeddings).
    genres_train : array-like of shape (n_clips,)
        Genre of every training clip.
    X_test : array-like of shape (n_test_clips, n_windows, n_voxels) or (n_test_clips, \
n_voxels)
        Test inputs.
    Y_test : array-like of shape (n_test_clips, n_windows, d) or (n_test_clips, d)
        Test targets.
    genres_test : array-like of shape (n_test_clips,)
        Genre of every test clip.
    windows : {"separate", "mean"}, default="separate"
        How windows enter identification (see ``identification_accuracy``).
    %(n_jobs)s

    Returns
    -------
    table : pandas.DataFrame
        One row per test genre (index), columns ``full``, ``ablated`` and
        ``n_test_clips``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skbrainmusic.encoding import leave_one_genre_out_identification
    >>> rng = np.random.default_rng(0)
    >>> W = rng.standard_normal((20, 8))
    >>> X = rng.standard_normal((60, 20)); Y = X @ W
    >>> genres = np.repeat(["a", "b", "c"], 20)
    >>> table = leave_one_genre_out_identification(
    ...     Ridge(), X[::2], Y[::2], genres[::2], X[1::2], Y[1::2], genres[1::2])
    >>> table.columns.tolist(), bool((table["ablated"] > 0.9).all())
    (['full', 'ablated', 'n_test_clips'], True)
    """
    genres_train = np.asarray(genres_train)
    genres_test = np.asarray(genres_test)
    n_train = check_clips(X_train, name="X_train")[0].shape[0]
    n_test = check_clips(X_test, name="X_test")[0].shape[0]
    if genres_train.shape != (n_train,) or genres_test.shape != (n_test,):
        raise ValueError(
            f"genres_train and genres_test need one label per clip ({n_train} and {n_test}); "
            f"got shapes {genres_train.shape} and {genres_test.shape}."
        )
    X_train, Y_train = np.asarray(X_train), np.asarray(Y_train)
    test_genres = np.unique(genres_test)
    for genre in test_genres:
        if np.all(genres_train == genre):
            raise ValueError(f"Every training clip is of genre {genre!r}: nothing to train on.")
    jobs = [(X_train, Y_train)] + [
        (X_train[genres_train != genre], Y_train[genres_train != genre]) for genre in test_genres
    ]
    predictions = Parallel(n_jobs=n_jobs)(
        delayed(_fit_predict)(clone(estimator), X, Y, X_test) for X, Y in jobs
    )
    full = identification_accuracy(Y_test, predictions[0], average=False, windows=windows)
    rows = {}
    for genre, ablated_pred in zip(test_genres, predictions[1:]):
        in_genre = genres_test == genre
        ablated = identification_accuracy(Y_test, ablated_pred, average=False, windows=windows)
        rows[genre] = {"full": float(full[in_genre].mean()),
                       "ablated": float(ablated[in_genre].mean()),
                       "n_test_clips": int(in_genre.sum())}
    return pd.DataFrame.from_dict(rows, orient="index",
                                  columns=["full", "ablated", "n_test_clips"])


def plot_score_density(scores_x, scores_y, *, labels=("x", "y"), bins=60, ax=None):
    """2-D histogram of two models' per-voxel scores (the paper's Fig. 2b and 4b).

    Parameters
    ----------
    scores_x, scores_y : array-like of shape (n_voxels,)
        Per-voxel scores of the two models (e.g. ``comparison.voxel_scores[name]``).
    labels : tuple of str, default=("x", "y")
        Axis labels (model names).
    bins : int, default=60
        Bins per axis, over the common range of both scores.
    ax : matplotlib.axes.Axes, default=None
        Where to draw; ``None`` makes a new figure.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes, with a logarithmic colour scale of voxel counts and the identity line.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skbrainmusic.encoding import plot_score_density
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(0.1, 0.1, 1000)
    >>> ax = plot_score_density(a, a + rng.normal(0, 0.05, 1000), labels=("CLAP", "mel"))
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    scores_x = np.asarray(scores_x, dtype=np.float64)
    scores_y = np.asarray(scores_y, dtype=np.float64)
    if scores_x.ndim != 1 or scores_x.shape != scores_y.shape:
        raise ValueError(
            f"scores_x and scores_y must both have shape (n_voxels,); got {scores_x.shape} "
            f"and {scores_y.shape}."
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    low = min(scores_x.min(), scores_y.min())
    high = max(scores_x.max(), scores_y.max())
    edges = np.linspace(low, high, check_positive_int(bins, "bins") + 1)
    ax.hist2d(scores_x, scores_y, bins=[edges, edges], norm=LogNorm(), cmap="viridis")
    ax.plot([low, high], [low, high], color="0.5", linewidth=0.8)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_aspect("equal")
    return ax

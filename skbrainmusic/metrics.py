"""Metrics of the Brain2Music paper and ready-made scorers.

- :func:`identification_accuracy`: Section A.1.4 of the paper.
- :func:`top_n_agreement`: Algorithm 1 (Section A.1.5), IoU of the top-n class labels.
- :func:`correlation_score` / :func:`pearson_per_target`: Pearson r per target (embedding
  dimension or voxel), as reported in Table 1 and the encoding analyses.
- :data:`AUDIOSET_GROUPS`: the genre, instrument and mood AudioSet classes of Section A.1.6.
- :data:`identification_scorer`, :data:`correlation_scorer` and
  :func:`make_identification_scorer` (e.g. within genre): scorers for ``scoring=``.

Every function rejects NaN/inf, mismatched shapes and undefined correlations (constant rows
or columns) with a ``ValueError``: a metric never returns a silent NaN.
"""

import csv
from importlib import resources

import numpy as np
from sklearn import get_config
from sklearn.metrics import make_scorer

from ._numeric import rescaled
from ._validation import all_finite, check_positive_int

__all__ = [
    "AUDIOSET_GROUPS",
    "AUDIOSET_LABELS",
    "AUDIOSET_TOP_N",
    "correlation_score",
    "correlation_scorer",
    "identification_accuracy",
    "identification_scorer",
    "make_identification_scorer",
    "pearson_per_target",
    "top_n_agreement",
    "top_n_agreement_batch",
    "within_group_identification",
]


def _load_audioset_labels():
    # 527 display names in classifier order; provenance in skbrainmusic/data/README.md.
    path = resources.files("skbrainmusic").joinpath("data", "audioset_class_labels_indices.csv")
    with path.open(encoding="utf-8") as f:
        return tuple(row["display_name"] for row in csv.DictReader(f))


AUDIOSET_LABELS = _load_audioset_labels()

# Section A.1.6 of Brain2Music, verbatim AudioSet display names. "Wind instrument, woodwind
# instrument" is a single AudioSet class, so the instrument group has 18 classes.
AUDIOSET_GROUPS = {
    "genres": (
        "Pop music", "Hip hop music", "Rock music", "Rhythm and blues", "Soul music",
        "Reggae", "Country", "Funk", "Folk music", "Middle Eastern music", "Jazz", "Disco",
        "Classical music", "Electronic music", "Music of Latin America", "Blues",
        "Music for children", "New-age music", "Vocal music", "Music of Africa",
        "Christian music", "Music of Asia", "Ska", "Traditional music", "Independent music",
    ),
    "instruments": (
        "Plucked string instrument", "Keyboard (musical)", "Percussion", "Orchestra",
        "Brass instrument", "Bowed string instrument", "Wind instrument, woodwind instrument",
        "Harp", "Choir", "Bell", "Harmonica", "Accordion", "Bagpipes", "Didgeridoo", "Shofar",
        "Theremin", "Singing bowl", "Scratching (performance technique)",
    ),
    "moods": (
        "Happy music", "Sad music", "Tender music", "Exciting music", "Angry music",
        "Scary music",
    ),
}

# The paper's top-n per group (A.1.6): genres top-2, instruments top-2, moods top-1.
AUDIOSET_TOP_N = {"genres": 2, "instruments": 2, "moods": 1}

# Float32 correlations are accurate to about 1e-6 for unit-norm rows; comparisons closer than
# this margin are re-decided exactly in float64.
_FLOAT32_MARGIN = 1e-4
# Differences at the level of float64 rounding are ties, and ties never count as wins, so
# the score cannot depend on the order of floating-point operations.
_TIE_TOLERANCE = 1e-12
_ROW_BLOCK = 512


def _check_pair(y_true, y_pred):
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    for name, arr in (("y_true", y_true), ("y_pred", y_pred)):
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}.")
        if arr.ndim not in (2, 3):
            raise ValueError(
                f"{name} must be 2-D (n_items, n_features) or 3-D (n_clips, n_windows, "
                f"n_features); got shape {arr.shape}."
            )
        if not all_finite(arr):
            raise ValueError(f"{name} contains NaN or infinity.")
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred must have the same shape; got {y_true.shape} and "
            f"{y_pred.shape}."
        )
    return y_true, y_pred


def _standardize_rows(A, name):
    """Centre each row and scale it to unit norm (float64), so dot products are Pearson r."""
    # Correlations do not depend on a row's scale; rows of 1e200 or 1e-30 are brought near 1
    # first, where their squares are representable.
    A = rescaled(np.asarray(A, dtype=np.float64), axis=1)
    scale = np.abs(A).max(axis=1) * np.sqrt(A.shape[1])
    A = A - A.mean(axis=1, keepdims=True)
    norms = np.sqrt(np.einsum("ij,ij->i", A, A))
    # A constant row centres to rounding noise, not always to exact zeros.
    constant = norms <= 1e-12 * scale
    if np.any(constant):
        bad = np.flatnonzero(constant)
        raise ValueError(
            f"{name} has {bad.size} constant row(s) (zero variance, Pearson correlation "
            f"undefined), e.g. row {bad[0]}."
        )
    return A / norms[:, None]


def _identification_2d(T, P):
    """Per-item identification accuracy of predictions P against targets T, both (n, d)."""
    n = T.shape[0]
    if n < 2:
        raise ValueError(f"identification accuracy needs at least 2 items, got {n}.")
    Pz = _standardize_rows(P, "y_pred")
    Tz = _standardize_rows(T, "y_true")
    diag64 = np.einsum("ij,ij->i", Pz, Tz)
    Pz32 = Pz.astype(np.float32)
    Tz32 = Tz.astype(np.float32)
    wins = np.empty(n, dtype=np.int64)
    for start in range(0, n, _ROW_BLOCK):
        stop = min(start + _ROW_BLOCK, n)
        margin = Pz32[start:stop] @ Tz32.T
        margin -= diag64[start:stop, None].astype(np.float32)
        block_wins = np.count_nonzero(margin < -_FLOAT32_MARGIN, axis=1)
        # Rows with a near-tie besides their own diagonal entry are re-decided exactly.
        undecided = np.count_nonzero(margin <= _FLOAT32_MARGIN, axis=1) - block_wins > 1
        near = np.abs(margin[undecided]) <= _FLOAT32_MARGIN
        rows, cols = np.nonzero(near)
        rows = np.flatnonzero(undecided)[rows]
        rows_abs = rows + start
        off_diag = cols != rows_abs
        rows, cols, rows_abs = rows[off_diag], cols[off_diag], rows_abs[off_diag]
        exact = np.einsum("ij,ij->i", Pz[rows_abs], Tz[cols])
        exact_wins = diag64[rows_abs] - exact > _TIE_TOLERANCE
        block_wins += np.bincount(rows[exact_wins], minlength=stop - start)
        wins[start:stop] = block_wins
    return wins / (n - 1)


def identification_accuracy(y_true, y_pred, *, average=True, windows="separate", groups=None):
    """Identification accuracy of predicted embeddings (Brain2Music, Section A.1.4).

    With ``C[i, j]`` the Pearson correlation between prediction ``i`` and target ``j``, the
    accuracy of item ``i`` is the fraction of the other ``n - 1`` targets ``j`` with
    ``C[i, i] > C[i, j]``. The comparison is strict: ties (differences at float64 rounding
    level, below 1e-12) never count as wins. 0.5 is chance, 1.0 perfect.

    Parameters
    ----------
    y_true : array-like of shape (n_items, d) or (n_clips, n_windows, d)
        Target embeddings (e.g. of the stimulus audio).
    y_pred : array-like of the same shape as ``y_true``
        Predicted embeddings.
    average : bool, default=True
        Return the mean over items (a float); ``False`` returns the per-item scores.
    windows : {"separate", "mean"}, default="separate"
        How 3-D input is compared. ``"separate"``: window by window, each window position
        ``w`` identifies clip ``i`` among the ``n_clips`` clips at that position, and a clip's
        score is the mean over its windows. ``"mean"``: windows are averaged first (as the
        paper does before conditioning the generator) and clips are identified once.
        Ignored for 2-D input.
    groups : array-like of shape (n_items,) or (n_clips,), default=None
        Group of every item (e.g. its genre). Item ``i`` is then compared only with the
        other items of its group: *within-group* identification, which a predictor that
        only knows the group cannot win (genre alone identifies most clips among all
        clips). Items alone in their group have no competitor: their score is NaN and the
        mean leaves them out; a ValueError is raised when no group has two items.

    Returns
    -------
    score : float or ndarray of shape (n_items,) or (n_clips,)
        Mean identification accuracy, or per-item scores when ``average=False``.

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic.metrics import identification_accuracy
    >>> T = np.array([[1., 2., 3.], [3., 1., 2.], [2., 3., 1.]])
    >>> identification_accuracy(T, T)
    1.0
    >>> identification_accuracy(T, T[::-1], average=False)  # item 0: a tie, then a loss
    array([0., 1., 0.])
    >>> identification_accuracy(T, T[::-1], groups=["a", "a", "b"], average=False)
    array([ 0.,  1., nan])
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    if windows not in ("separate", "mean"):
        raise ValueError(f"windows must be 'separate' or 'mean', got {windows!r}.")
    if groups is not None:
        return _identification_within_groups(y_true, y_pred, groups, average, windows)
    if y_true.ndim == 2:
        scores = _identification_2d(y_true, y_pred)
    elif windows == "mean":
        scores = _identification_2d(y_true.mean(axis=1), y_pred.mean(axis=1))
    else:
        scores = np.mean(
            [_identification_2d(y_true[:, w], y_pred[:, w]) for w in range(y_true.shape[1])],
            axis=0,
        )
    return float(scores.mean()) if average else scores


def _identification_within_groups(y_true, y_pred, groups, average, windows):
    groups = np.asarray(groups)
    if groups.shape != (y_true.shape[0],):
        raise ValueError(f"groups must have one entry per item ({y_true.shape[0]}), got shape "
                         f"{groups.shape}.")
    scores = np.full(y_true.shape[0], np.nan)
    for group in np.unique(groups):
        members = np.flatnonzero(groups == group)
        if members.size > 1:
            scores[members] = identification_accuracy(
                y_true[members], y_pred[members], average=False, windows=windows)
    if np.all(np.isnan(scores)):
        raise ValueError("No group of groups has two items: within-group identification "
                         "needs at least one pair of items sharing a group.")
    return float(np.nanmean(scores)) if average else scores


def pearson_per_target(y_true, y_pred, *, zero_variance="raise"):
    """Pearson correlation between ``y_true`` and ``y_pred`` for every target (column).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,), (n_samples, n_targets) or \
(n_clips, n_windows, n_targets)
        Measured values (embedding dimensions, or voxels for encoding models). 3-D input is
        stacked to ``(n_clips * n_windows, n_targets)``.
    y_pred : array-like of the same shape as ``y_true``
        Predicted values.
    zero_variance : {"raise", "zero"}, default="raise"
        What to do with a target whose true or predicted values are constant, for which
        Pearson's r is undefined: raise a ``ValueError`` naming the columns, or report r = 0
        for them (e.g. for voxel maps with a few constant voxels).

    Returns
    -------
    r : ndarray of shape (n_targets,)

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic.metrics import pearson_per_target
    >>> y = np.array([[1., 2.], [2., 1.], [3., 5.]])
    >>> pearson_per_target(y, 2 * y + 1)
    array([1., 1.])
    """
    if zero_variance not in ("raise", "zero"):
        raise ValueError(f"zero_variance must be 'raise' or 'zero', got {zero_variance!r}.")
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.ndim == 1 and y_pred.ndim == 1:
        y_true, y_pred = y_true[:, None], y_pred[:, None]
    y_true, y_pred = _check_pair(y_true, y_pred)
    if y_true.ndim == 3:
        y_true = y_true.reshape(-1, y_true.shape[-1])
        y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    if y_true.shape[0] < 2:
        raise ValueError(f"Pearson correlation needs at least 2 samples, got {y_true.shape[0]}.")
    # Correlations do not depend on a column's scale: bring columns of 1e200 or 1e-30 near 1.
    y_true = rescaled(y_true, axis=0)
    y_pred = rescaled(y_pred, axis=0)
    t = y_true - y_true.mean(axis=0, dtype=np.float64)
    p = y_pred - y_pred.mean(axis=0, dtype=np.float64)
    t_norm = np.sqrt(np.einsum("ij,ij->j", t, t, dtype=np.float64))
    p_norm = np.sqrt(np.einsum("ij,ij->j", p, p, dtype=np.float64))
    undefined = (t_norm == 0) | (p_norm == 0)
    if np.any(undefined) and zero_variance == "raise":
        bad = np.flatnonzero(undefined)
        which = "y_true" if t_norm[bad[0]] == 0 else "y_pred"
        raise ValueError(
            f"{bad.size} target(s) have zero variance (Pearson correlation undefined), e.g. "
            f"column {bad[0]} of {which}. Pass zero_variance='zero' to score them as 0."
        )
    r = np.einsum("ij,ij->j", t, p, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(undefined, 0.0, r / (t_norm * p_norm))
    return np.clip(r, -1.0, 1.0)


def correlation_score(y_true, y_pred):
    """Mean Pearson correlation across targets (Table 1's "correlation").

    Parameters
    ----------
    y_true : array-like of shape (n_samples, n_targets) or (n_clips, n_windows, n_targets)
    y_pred : array-like of the same shape as ``y_true``

    Returns
    -------
    score : float

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic.metrics import correlation_score
    >>> y = np.array([[1., 2.], [2., 1.], [3., 5.]])
    >>> round(correlation_score(y, 3 * y), 12)
    1.0
    """
    return float(pearson_per_target(y_true, y_pred).mean())


def _top_labels(classes, n, name):
    if isinstance(classes, str):
        raise TypeError(f"{name} must be a sequence of labels, not a string.")
    if isinstance(classes, np.ndarray) and classes.dtype.kind == "f":
        raise TypeError(
            f"{name} must hold ordered class labels; for class scores use "
            "top_n_agreement_batch with 2-D score arrays."
        )
    return set(list(classes)[:n])


def top_n_agreement(classes_a, classes_b, n):
    """Top-n class agreement of two clips (Brain2Music, Algorithm 1).

    The intersection over union of the first ``n`` labels of each ordered list.

    Parameters
    ----------
    classes_a : sequence of hashable
        Class labels of clip A, most probable first.
    classes_b : sequence of hashable
        Class labels of clip B, most probable first.
    n : int
        Number of top classes compared (>= 1).

    Returns
    -------
    agreement : float in [0, 1]

    Examples
    --------
    >>> from skbrainmusic.metrics import top_n_agreement
    >>> top_n_agreement(["Jazz", "Blues", "Funk"], ["Blues", "Rock music"], 2)
    0.3333333333333333
    """
    n = check_positive_int(n, "n")
    top_a = _top_labels(classes_a, n, "classes_a")
    top_b = _top_labels(classes_b, n, "classes_b")
    union = top_a | top_b
    if not union:
        raise ValueError("top_n_agreement is undefined for two empty label lists.")
    return len(top_a & top_b) / len(union)


def _scores_to_rankings(scores, name):
    scores = np.asarray(scores, dtype=np.float64)
    if not np.all(np.isfinite(scores)):
        raise ValueError(f"{name} contains NaN or infinity.")
    # Stable sort of the negated scores: equal scores keep class-index order.
    return np.argsort(-scores, axis=1, kind="stable")


def top_n_agreement_batch(classes_a, classes_b, n):
    """Top-n class agreement for many clip pairs.

    Parameters
    ----------
    classes_a : sequence of label sequences, or array of shape (n_pairs, n_classes)
        Either one ordered label list per clip (most probable first), or class scores
        (e.g. probabilities of an audio tagger); scores are ranked in decreasing order, equal
        scores by class index.
    classes_b : same form as ``classes_a``
        The clips compared with ``classes_a``, pair by pair.
    n : int
        Number of top classes compared (>= 1).

    Returns
    -------
    agreement : ndarray of shape (n_pairs,)

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic.metrics import top_n_agreement_batch
    >>> a = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    >>> b = np.array([[0.6, 0.1, 0.3], [0.5, 0.4, 0.1]])
    >>> top_n_agreement_batch(a, b, 1)
    array([1., 0.])
    """
    n = check_positive_int(n, "n")
    numeric = [
        isinstance(c, np.ndarray) and c.ndim == 2 and c.dtype.kind in "biuf"
        for c in (classes_a, classes_b)
    ]
    if any(numeric) and not all(numeric):
        raise TypeError(
            "classes_a and classes_b must both be score arrays (n_pairs, n_classes) or both "
            "sequences of label lists."
        )
    if all(numeric):
        if classes_a.shape != classes_b.shape:
            raise ValueError(
                f"Score arrays must have the same shape; got {classes_a.shape} and "
                f"{classes_b.shape}."
            )
        top_a = _scores_to_rankings(classes_a, "classes_a")[:, :n]
        top_b = _scores_to_rankings(classes_b, "classes_b")[:, :n]
        k = top_a.shape[1]
        inter = (top_a[:, :, None] == top_b[:, None, :]).any(axis=2).sum(axis=1)
        return inter / (2 * k - inter)
    if len(classes_a) != len(classes_b):
        raise ValueError(
            f"classes_a has {len(classes_a)} clips but classes_b has {len(classes_b)}."
        )
    return np.array([top_n_agreement(a, b, n) for a, b in zip(classes_a, classes_b)])


#: Scorer for ``scoring=``: :func:`identification_accuracy` of ``predict(X)`` against ``y``.
identification_scorer = make_scorer(identification_accuracy, greater_is_better=True)
#: Scorer for ``scoring=``: :func:`correlation_score` of ``predict(X)`` against ``y``.
correlation_scorer = make_scorer(correlation_score, greater_is_better=True)


def within_group_identification(y_true, y_pred, *, groups=None, windows="separate"):
    """Identification accuracy among the items of each group: the metric of within-group
    scorers.

    :func:`identification_accuracy` with ``groups`` required: a scorer made by
    :func:`make_identification_scorer` with ``groups`` receives them as metadata, and if
    they were not passed this raises instead of silently identifying among all items.

    Parameters
    ----------
    y_true : array-like of shape (n_items, d) or (n_clips, n_windows, d)
        Target embeddings.
    y_pred : array-like of the same shape as ``y_true``
        Predicted embeddings.
    groups : array-like of shape (n_items,) or (n_clips,), default=None
        Group of every item (e.g. its genre); see :func:`identification_accuracy`.
        Required: None raises a ``ValueError`` (the default only lets a scorer that was
        not given its metadata say so).
    windows : {"separate", "mean"}, default="separate"
        How 3-D input is compared (see :func:`identification_accuracy`).

    Returns
    -------
    score : float
        Mean within-group identification accuracy (items alone in their group left out).

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic.metrics import within_group_identification
    >>> T = np.array([[1., 2., 3.], [3., 1., 2.], [2., 3., 1.], [1., 3., 2.]])
    >>> within_group_identification(T, T, groups=["a", "a", "b", "b"])
    1.0
    """
    if groups is None:
        raise ValueError(
            "within_group_identification got no groups: give one group (e.g. genre) per "
            "item; a scorer from make_identification_scorer(groups=...) receives them as "
            "metadata, e.g. cross_val_score(..., params={'genres': genres}) for "
            "groups='genres'.")
    return identification_accuracy(y_true, y_pred, windows=windows, groups=groups)


def make_identification_scorer(*, windows="separate", groups=None):
    """Scorer of identification accuracy, among all items or within groups (e.g. genres).

    Genre alone identifies most clips among all clips, so a decoder that only knows the
    genre scores well on :data:`identification_scorer`; identifying a clip among the clips
    of its own genre (:func:`within_group_identification`) it cannot win. Inside
    cross-validation the groups of every test fold's items must reach the scorer with
    that fold, which is what scikit-learn's metadata routing does: the scorer requests
    ``groups`` as metadata (under the name ``groups`` or an alias such as ``"genres"``,
    so that a group splitter's ``groups``, e.g. runs, can be passed beside them), and
    ``cross_validate``, ``cross_val_score`` or ``GridSearchCV`` hand every fold's subset
    to it.

    Parameters
    ----------
    windows : {"separate", "mean"}, default="separate"
        How 3-D predictions are compared (see :func:`identification_accuracy`).
    groups : None, True or str, default=None
        None: identification among all items (:data:`identification_scorer` for
        ``windows="separate"``). True or a name: within-group identification, the groups
        being requested as the metadata ``groups`` (True) or under that name (e.g.
        ``"genres"``: pass ``params={"genres": genres}``). This needs
        ``sklearn.set_config(enable_metadata_routing=True)`` (or a
        ``sklearn.config_context``), and a call without the metadata raises a
        ``ValueError``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y, **metadata) -> float``, greater is better.

    Notes
    -----
    skops cannot store a scorer that requests metadata (its request refers back to the
    scorer, a cycle skops does not follow): a ``GridSearchCV`` that holds one is saved with
    ``save_model(..., format="joblib")``.

    Examples
    --------
    >>> import numpy as np
    >>> import sklearn
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.model_selection import KFold, cross_val_score
    >>> from skbrainmusic.metrics import make_identification_scorer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 10))
    >>> Y = X[:, :4] + 0.3 * rng.standard_normal((60, 4))
    >>> genres = np.repeat(["jazz", "rock", "pop"], 20)
    >>> with sklearn.config_context(enable_metadata_routing=True):
    ...     scorer = make_identification_scorer(groups="genres")
    ...     scores = cross_val_score(Ridge(), X, Y, cv=KFold(3, shuffle=True, random_state=0),
    ...                              scoring=scorer, params={"genres": genres})
    >>> bool(scores.min() > 0.8)
    True
    """
    if windows not in ("separate", "mean"):
        raise ValueError(f"windows must be 'separate' or 'mean', got {windows!r}.")
    if groups is None:
        return make_scorer(identification_accuracy, greater_is_better=True, windows=windows)
    if groups is not True and not isinstance(groups, str):
        raise TypeError(f"groups must be None, True or the name of the metadata holding the "
                        f"groups (e.g. 'genres'), got {groups!r}.")
    if not get_config()["enable_metadata_routing"]:
        raise RuntimeError(
            "make_identification_scorer(groups=...) receives the groups of every fold "
            "through scikit-learn's metadata routing, which is disabled: call "
            "sklearn.set_config(enable_metadata_routing=True) or build and use the scorer "
            "inside sklearn.config_context(enable_metadata_routing=True).")
    scorer = make_scorer(within_group_identification, greater_is_better=True, windows=windows)
    return scorer.set_score_request(groups=groups)

"""Clip-level cross-validation folds expanded to stacked windows.

Estimators stack the windows of every clip as rows (clip-major: row ``c * n_windows + w``
holds window ``w`` of clip ``c``). Folds are drawn over clips, then expanded to rows, so the
windows of a clip are always on the same side of a split, and groups (e.g. runs) given by the
user are checked to be respected by every split.
"""

import numbers

import numpy as np
from sklearn.model_selection import GroupKFold, KFold, check_cv


def check_clip_cv(cv, groups=None):
    """Splitter over clips: ``KFold(cv)`` (unshuffled) for an int, ``GroupKFold(cv)`` for an
    int when ``groups`` are given, else the user's splitter (anything
    :func:`sklearn.model_selection.check_cv` accepts)."""
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        if cv < 2:
            raise ValueError(f"cv must be >= 2 folds, got {cv}.")
        return GroupKFold(int(cv)) if groups is not None else KFold(int(cv))
    return check_cv(cv)


def clip_splits(cv, n_clips, n_windows, groups=None):
    """Cross-validation folds over clips, as row indices of the stacked windows.

    Parameters
    ----------
    cv : int or cross-validation splitter
        See :func:`check_clip_cv`.
    n_clips : int
        Number of clips.
    n_windows : int
        Windows per clip (rows per clip in the stacked array).
    groups : array-like of shape (n_clips,), default=None
        Group of every clip; no group may appear on both sides of a split.

    Returns
    -------
    splits : list of (train_rows, val_rows)
        Integer arrays indexing rows ``c * n_windows + w`` of the stacked array.

    Examples
    --------
    >>> from skbrainmusic.ridge import clip_splits
    >>> [val.tolist() for _, val in clip_splits(2, n_clips=2, n_windows=3)]
    [[0, 1, 2], [3, 4, 5]]
    """
    splitter = check_clip_cv(cv, groups)
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != (n_clips,):
            raise ValueError(
                f"groups must have one entry per clip ({n_clips}), got shape {groups.shape}."
            )
    n_splits = splitter.get_n_splits(np.zeros((n_clips, 1)), None, groups)
    if isinstance(n_splits, numbers.Integral) and n_splits > n_clips:
        raise ValueError(
            f"cv asks for {n_splits} folds but there are only {n_clips} clips; use fewer "
            "folds or more clips."
        )
    windows = np.arange(n_windows)
    splits = []
    for train, val in splitter.split(np.zeros((n_clips, 1)), None, groups):
        if len(train) == 0 or len(val) == 0:
            raise ValueError("cv produced an empty training or validation fold.")
        if groups is not None and np.intersect1d(groups[train], groups[val]).size:
            raise ValueError(
                f"cv={splitter!r} puts clips of the same group on both sides of a split; "
                "use a group-aware splitter such as GroupKFold or LeaveOneGroupOut."
            )
        splits.append(((np.asarray(train)[:, None] * n_windows + windows).ravel(),
                       (np.asarray(val)[:, None] * n_windows + windows).ravel()))
    return splits

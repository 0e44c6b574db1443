"""Clip-level folds: windows of a clip and groups never cross a split."""

import numpy as np
import pytest
from sklearn.model_selection import GroupKFold, KFold, LeaveOneGroupOut, ShuffleSplit

from skbrainmusic.ridge import check_clip_cv, clip_splits


def _clips_of(rows, n_windows):
    return np.unique(rows // n_windows)


def test_int_cv_is_unshuffled_kfold_over_clips_with_windows_together():
    splits = clip_splits(3, n_clips=6, n_windows=4)
    assert len(splits) == 3
    for fold, (train, val) in enumerate(splits):
        np.testing.assert_array_equal(_clips_of(val, 4), [2 * fold, 2 * fold + 1])
        assert val.size == 8 and train.size == 16
        assert not np.intersect1d(_clips_of(train, 4), _clips_of(val, 4)).size
    assert isinstance(check_clip_cv(3), KFold) and not check_clip_cv(3).shuffle


def test_groups_switch_int_cv_to_group_kfold_and_are_respected():
    groups = np.repeat([0, 1, 2, 3], 3)
    assert isinstance(check_clip_cv(4, groups), GroupKFold)
    for cv in (4, LeaveOneGroupOut(), GroupKFold(2)):
        for train, val in clip_splits(cv, n_clips=12, n_windows=2, groups=groups):
            assert not np.intersect1d(groups[_clips_of(train, 2)],
                                      groups[_clips_of(val, 2)]).size


@pytest.mark.filterwarnings("ignore:The groups parameter is ignored")
def test_splitter_that_ignores_groups_is_refused():
    groups = np.repeat([0, 1, 2], 4)
    with pytest.raises(ValueError, match="same group on both sides"):
        clip_splits(KFold(5), n_clips=12, n_windows=2, groups=groups)


def test_any_sklearn_splitter_and_errors():
    splits = clip_splits(ShuffleSplit(3, test_size=0.25, random_state=0), 8, 2)
    assert len(splits) == 3 and all(val.size == 4 for _, val in splits)
    with pytest.raises(ValueError, match="only 3 clips"):
        clip_splits(5, n_clips=3, n_windows=2)
    with pytest.raises(ValueError, match="one entry per clip"):
        clip_splits(2, n_clips=4, n_windows=1, groups=[0, 1])
    with pytest.raises(ValueError, match=">= 2 folds"):
        clip_splits(1, n_clips=4, n_windows=1)

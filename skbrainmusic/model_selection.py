"""Cross-validation splitters of the Brain2Music analyses."""

import numpy as np
from sklearn.model_selection import LeaveOneGroupOut

__all__ = ["LeaveOneGenreOut"]


class LeaveOneGenreOut(LeaveOneGroupOut):
    """Hold out one music genre at a time (the paper's genre ablation, section 4.3).

    Each split trains on the clips of every other genre and tests on the clips of the
    held-out genre, so a score measures generalisation to a genre never seen in
    training. The genre labels are passed as ``groups`` (e.g.
    ``groups=study.clips_train.genre``), so it works wherever scikit-learn accepts a
    group splitter (``cross_val_score``, ``GridSearchCV``, metadata routing).

    Parameters
    ----------
    genres : array-like of str, default=None
        Genres to hold out, in this order; each must occur in ``groups``. ``None`` holds
        out every genre present, in sorted order.

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic.model_selection import LeaveOneGenreOut
    >>> genres = np.array(["jazz", "rock", "jazz", "pop", "rock", "pop"])
    >>> for train, test in LeaveOneGenreOut().split(np.zeros((6, 1)), groups=genres):
    ...     print(genres[test][0], train)
    jazz [1 3 4 5]
    pop [0 1 2 4]
    rock [0 2 3 5]
    """

    def __init__(self, genres=None):
        self.genres = genres

    def _held_out(self, groups):
        if groups is None:
            raise ValueError(
                "LeaveOneGenreOut needs the genre of every clip as groups, e.g. "
                "split(X, groups=study.clips_train.genre)."
            )
        groups = np.asarray(groups)
        if groups.ndim != 1:
            raise ValueError(f"groups must be 1-D (one genre per clip); got shape {groups.shape}.")
        present = np.unique(groups)
        if self.genres is None:
            held_out = present
        else:
            held_out = np.asarray(self.genres)
            absent = [g for g in held_out.tolist() if g not in set(present.tolist())]
            if absent:
                raise ValueError(f"Genres {absent} are not among the groups {present.tolist()}.")
        if len(present) < 2:
            raise ValueError(
                f"At least 2 genres are needed to hold one out; groups has {present.tolist()}."
            )
        return groups, held_out

    def split(self, X, y=None, groups=None):
        """Generate ``(train, test)`` indices, one split per held-out genre.

        Parameters
        ----------
        X : array-like of shape (n_clips, ...)
            Data; only its length is used.
        y : array-like, default=None
            Ignored.
        groups : array-like of shape (n_clips,)
            Genre of every clip.

        Yields
        ------
        train, test : ndarray of int
            Indices of the other genres' clips and of the held-out genre's clips.
        """
        groups, held_out = self._held_out(groups)
        if len(groups) != len(X):
            raise ValueError(f"groups has {len(groups)} entries but X has {len(X)} clips.")
        indices = np.arange(len(groups))
        for genre in held_out:
            test = groups == genre
            yield indices[~test], indices[test]

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of splits: the number of held-out genres."""
        return len(self._held_out(groups)[1])

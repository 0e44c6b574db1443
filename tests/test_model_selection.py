import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, cross_val_score

from skbrainmusic.model_selection import LeaveOneGenreOut

GENRES = np.array(["blues", "jazz", "rock"] * 4)


def test_each_split_holds_out_exactly_one_genre():
    splits = list(LeaveOneGenreOut().split(np.zeros((12, 2)), groups=GENRES))
    assert LeaveOneGenreOut().get_n_splits(groups=GENRES) == len(splits) == 3
    for (train, test), genre in zip(splits, ["blues", "jazz", "rock"]):
        assert set(GENRES[test]) == {genre}
        assert genre not in set(GENRES[train])
        assert len(train) + len(test) == 12


def test_chosen_genres_in_order():
    cv = LeaveOneGenreOut(genres=["rock", "blues"])
    tests = [set(GENRES[test]) for _, test in cv.split(np.zeros(12), groups=GENRES)]
    assert tests == [{"rock"}, {"blues"}] and cv.get_n_splits(groups=GENRES) == 2
    with pytest.raises(ValueError, match=r"Genres \['metal'\] are not among"):
        list(LeaveOneGenreOut(genres=["metal"]).split(np.zeros(12), groups=GENRES))


def test_works_in_sklearn_cv_tools():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 3))
    y = X @ [1.0, 2.0, 0.0]
    scores = cross_val_score(Ridge(alpha=1e-3), X, y, cv=LeaveOneGenreOut(), groups=GENRES)
    assert scores.shape == (3,) and (scores > 0.99).all()
    search = GridSearchCV(Ridge(), {"alpha": [0.1, 1.0]}, cv=LeaveOneGenreOut())
    search.fit(X, y, groups=GENRES)
    assert search.n_splits_ == 3


def test_errors():
    with pytest.raises(ValueError, match="needs the genre of every clip as groups"):
        list(LeaveOneGenreOut().split(np.zeros(12)))
    with pytest.raises(ValueError, match="At least 2 genres"):
        list(LeaveOneGenreOut().split(np.zeros(3), groups=["jazz"] * 3))
    with pytest.raises(ValueError, match="groups has 12 entries but X has 5"):
        list(LeaveOneGenreOut().split(np.zeros(5), groups=GENRES))

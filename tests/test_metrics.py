import numpy as np
import pytest
import sklearn
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, GroupKFold, KFold, cross_val_score

from skbrainmusic.metrics import (
    AUDIOSET_GROUPS,
    AUDIOSET_LABELS,
    AUDIOSET_TOP_N,
    correlation_score,
    correlation_scorer,
    identification_accuracy,
    identification_scorer,
    make_identification_scorer,
    pearson_per_target,
    top_n_agreement,
    top_n_agreement_batch,
    within_group_identification,
)


def identification_loop(T, P):
    """A.1.4 written as literally as possible: a double loop over np.corrcoef.

    Differences at float64 rounding level (1e-12) are ties, as documented.
    """
    n = len(T)
    scores = []
    for i in range(n):
        c_ii = np.corrcoef(P[i], T[i])[0, 1]
        wins = sum(c_ii - np.corrcoef(P[i], T[j])[0, 1] > 1e-12 for j in range(n) if j != i)
        scores.append(wins / (n - 1))
    return np.array(scores)


# Well-conditioned rows: values on a coarse grid avoid near-ties that only rounding decides.
row_values = st.integers(min_value=-50, max_value=50).map(lambda v: v / 8)


@st.composite
def target_prediction_pairs(draw, min_items=2, max_items=12):
    n = draw(st.integers(min_items, max_items))
    d = draw(st.integers(3, 8))
    T = draw(arrays(np.float64, (n, d), elements=row_values))
    P = draw(arrays(np.float64, (n, d), elements=row_values))
    for A in (T, P):
        constant = np.ptp(A, axis=1) == 0
        A[constant, 0] += 1.0
    return T, P


# ---------------------------------------------------------------- identification accuracy
def test_identification_matches_direct_loop_on_random_data(rng):
    T = rng.standard_normal((60, 16))
    P = T + 1.5 * rng.standard_normal((60, 16))
    fast = identification_accuracy(T, P, average=False)
    np.testing.assert_array_equal(fast, identification_loop(T, P))
    assert identification_accuracy(T, P) == pytest.approx(fast.mean())


@settings(max_examples=60, deadline=None)
@given(target_prediction_pairs())
def test_identification_matches_direct_loop_property(pair):
    T, P = pair
    np.testing.assert_array_equal(
        identification_accuracy(T, P, average=False), identification_loop(T, P)
    )


@settings(max_examples=40, deadline=None)
@given(target_prediction_pairs())
def test_identification_perfect_and_bounded(pair):
    T, P = pair
    score = identification_accuracy(T, P)
    assert 0.0 <= score <= 1.0
    if len(np.unique(T, axis=0)) == len(T):
        # Distinct targets: a perfect prediction wins against every other target unless two
        # targets are perfectly correlated (an exact tie).
        corr = np.corrcoef(T)
        np.fill_diagonal(corr, 0)
        if np.all(corr < 1 - 1e-9):
            assert identification_accuracy(T, T) == 1.0


@settings(max_examples=40, deadline=None)
@given(target_prediction_pairs(), st.data())
def test_identification_invariant_to_positive_affine_maps_of_rows(pair, data):
    T, P = pair
    n = len(P)
    scale = np.array(data.draw(st.lists(st.sampled_from([0.5, 2.0, 4.0]), min_size=n, max_size=n)))
    shift = np.array(data.draw(st.lists(st.sampled_from([-3.0, 0.0, 7.0]), min_size=n, max_size=n)))
    np.testing.assert_array_equal(
        identification_accuracy(T, P, average=False),
        identification_accuracy(T, scale[:, None] * P + shift[:, None], average=False),
    )


@settings(max_examples=40, deadline=None)
@given(target_prediction_pairs(), st.randoms(use_true_random=False))
def test_identification_equivariant_under_joint_permutation(pair, random):
    T, P = pair
    perm = np.arange(len(T))
    random.shuffle(perm)
    per_item = identification_accuracy(T, P, average=False)
    np.testing.assert_array_equal(
        identification_accuracy(T[perm], P[perm], average=False), per_item[perm]
    )


def test_identification_of_independent_predictions_is_chance():
    # Under independence the rank of C[i, i] among row i is uniform, so an item's score is
    # uniform on {0, 1/(n-1), ..., 1}: mean 1/2, variance (n + 1) / (12 (n - 1)). The mean of n
    # items over R repetitions has standard deviation sqrt(var / (n R)) (items are nearly
    # independent); 4 standard deviations bound the test.
    rng = np.random.default_rng(1)
    n, d, repeats = 100, 32, 20
    scores = [
        identification_accuracy(rng.standard_normal((n, d)), rng.standard_normal((n, d)))
        for _ in range(repeats)
    ]
    sd = np.sqrt((n + 1) / (12 * (n - 1)) / (n * repeats))
    assert abs(np.mean(scores) - 0.5) < 4 * sd


def test_identification_hand_computed_with_ties():
    T = np.array([[1.0, 2.0, 3.0], [3.0, 1.0, 2.0], [2.0, 3.0, 1.0]])
    # Prediction 0 is T[2]: C[0,0] = -0.5 ties C[0,1] = -0.5 (no win) and loses to C[0,2] = 1.
    np.testing.assert_array_equal(
        identification_accuracy(T, T[::-1], average=False), [0.0, 1.0, 0.0]
    )
    # Identical targets are exact ties: neither wins against the other.
    T_dup = np.array([[1.0, 2.0, 4.0], [1.0, 2.0, 4.0], [4.0, 2.0, 1.0]])
    np.testing.assert_array_equal(
        identification_accuracy(T_dup, T_dup, average=False), [0.5, 0.5, 1.0]
    )
    # Two items: each prediction is compared with the one other target.
    T2 = np.array([[0.0, 1.0, 2.0], [2.0, 0.0, 1.0]])
    assert identification_accuracy(T2, T2) == 1.0
    assert identification_accuracy(T2, T2[::-1]) == 0.0


def test_identification_ties_resolved_exactly_beyond_float32_precision(rng):
    # Targets that differ by less than float32 resolution: the float32 fast path must defer
    # to the exact float64 comparison.
    base = rng.standard_normal(64)
    T = np.stack([base, base + 1e-9 * rng.standard_normal(64), rng.standard_normal(64)])
    np.testing.assert_array_equal(
        identification_accuracy(T, T, average=False), identification_loop(T, T)
    )


def test_identification_blocks_agree_with_loop_beyond_one_block(rng):
    n = 2100  # more rows than one GEMM block
    T = rng.standard_normal((n, 4))
    P = T + rng.standard_normal((n, 4))
    fast = identification_accuracy(T, P, average=False)
    idx = rng.choice(n, 25, replace=False)
    Pz = (P - P.mean(1, keepdims=True)) / P.std(1, keepdims=True)
    Tz = (T - T.mean(1, keepdims=True)) / T.std(1, keepdims=True)
    for i in idx:
        c = Tz @ Pz[i] / 4
        assert fast[i] == np.sum(c[i] > np.delete(c, i)) / (n - 1)


def test_identification_3d_windows(rng):
    T = rng.standard_normal((20, 4, 8))
    P = T + rng.standard_normal((20, 4, 8))
    per_window = [identification_accuracy(T[:, w], P[:, w], average=False) for w in range(4)]
    np.testing.assert_allclose(
        identification_accuracy(T, P, average=False), np.mean(per_window, axis=0)
    )
    assert identification_accuracy(T, P, windows="mean") == identification_accuracy(
        T.mean(1), P.mean(1)
    )


@pytest.mark.parametrize(
    "y_true, y_pred, message",
    [
        (np.ones((1, 3)) * [1, 2, 3], np.ones((1, 3)) * [1, 2, 3], "at least 2 items"),
        (np.zeros((3, 4)), np.ones((3, 4)), "constant row"),
        (np.eye(3), np.eye(4)[:3], "same shape"),
        (np.array([[1.0, np.nan, 2.0], [1.0, 2.0, 3.0]]), np.eye(2, 3), "NaN"),
        (np.array([[1.0, np.inf, 2.0], [1.0, 2.0, 3.0]]), np.eye(2, 3), "NaN or infinity"),
        (np.arange(3.0), np.arange(3.0), "2-D"),
    ],
)
def test_identification_bad_input(y_true, y_pred, message):
    with pytest.raises(ValueError, match=message):
        identification_accuracy(y_true, y_pred)


def test_identification_bad_windows_option(rng):
    T = rng.standard_normal((4, 2, 3))
    with pytest.raises(ValueError, match="windows must be"):
        identification_accuracy(T, T, windows="max")


# ---------------------------------------------------------------- correlation
def test_pearson_per_target_matches_numpy(rng):
    Y = rng.standard_normal((50, 5))
    P = Y + rng.standard_normal((50, 5))
    expected = [np.corrcoef(Y[:, j], P[:, j])[0, 1] for j in range(5)]
    np.testing.assert_allclose(pearson_per_target(Y, P), expected, rtol=1e-12)
    assert correlation_score(Y, P) == pytest.approx(np.mean(expected))
    np.testing.assert_allclose(
        pearson_per_target(Y.reshape(10, 5, 5), P.reshape(10, 5, 5)), expected, rtol=1e-12
    )


def test_pearson_zero_variance_is_an_error_or_zero(rng):
    Y = rng.standard_normal((10, 3))
    P = Y.copy()
    P[:, 1] = 2.0
    with pytest.raises(ValueError, match="column 1 of y_pred"):
        pearson_per_target(Y, P)
    r = pearson_per_target(Y, P, zero_variance="zero")
    assert r[1] == 0.0 and r[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="zero_variance must be"):
        pearson_per_target(Y, P, zero_variance="nan")


# ---------------------------------------------------------------- top-n agreement
def test_top_n_agreement_algorithm_1():
    assert top_n_agreement(["a", "b", "c"], ["a", "b", "d"], 2) == 1.0
    assert top_n_agreement(["a", "b"], ["c", "d"], 2) == 0.0
    assert top_n_agreement(["a", "b"], ["b", "c"], 2) == pytest.approx(1 / 3)
    assert top_n_agreement(["a", "b", "c"], ["c", "b", "a"], 1) == 0.0
    assert top_n_agreement(("x",), ["x", "y"], 2) == 0.5


labels = st.lists(st.sampled_from("abcdefgh"), min_size=1, max_size=6, unique=True)


@given(labels, labels, st.integers(1, 6))
def test_top_n_agreement_properties(a, b, n):
    value = top_n_agreement(a, b, n)
    assert 0.0 <= value <= 1.0
    assert value == top_n_agreement(b, a, n)
    assert top_n_agreement(a, a, n) == 1.0
    disjoint = [c.upper() for c in b]
    assert top_n_agreement(a, disjoint, n) == 0.0


@pytest.mark.parametrize("n, error", [(0, ValueError), (1.5, TypeError), (True, TypeError)])
def test_top_n_agreement_bad_n(n, error):
    with pytest.raises(error, match="n must be"):
        top_n_agreement(["a"], ["a"], n)


def test_top_n_agreement_rejects_strings_and_empty():
    with pytest.raises(TypeError, match="not a string"):
        top_n_agreement("ab", ["a"], 1)
    with pytest.raises(ValueError, match="empty"):
        top_n_agreement([], [], 1)


def test_top_n_agreement_batch_scores_and_labels(rng):
    scores_a = rng.random((30, 6))
    scores_b = rng.random((30, 6))
    names = np.array(list("abcdef"))
    lists_a = [list(names[np.argsort(-s, kind="stable")]) for s in scores_a]
    lists_b = [list(names[np.argsort(-s, kind="stable")]) for s in scores_b]
    for n in (1, 2, 3):
        expected = [top_n_agreement(a, b, n) for a, b in zip(lists_a, lists_b)]
        np.testing.assert_allclose(top_n_agreement_batch(scores_a, scores_b, n), expected)
        np.testing.assert_allclose(top_n_agreement_batch(lists_a, lists_b, n), expected)
    with pytest.raises(ValueError, match="same shape"):
        top_n_agreement_batch(scores_a, scores_b[:, :5], 1)
    with pytest.raises(ValueError, match="30 clips but classes_b has 2"):
        top_n_agreement_batch(lists_a, lists_b[:2], 1)
    with pytest.raises(TypeError, match="both"):
        top_n_agreement_batch(scores_a, lists_b, 1)


# ---------------------------------------------------------------- AudioSet groups
def test_audioset_groups_match_shipped_labels(shared_data):
    import pandas as pd

    real = pd.read_csv(shared_data / "audioset" / "class_labels_indices.csv")
    assert list(AUDIOSET_LABELS) == real["display_name"].tolist()
    assert len(AUDIOSET_LABELS) == 527
    sizes = {group: len(names) for group, names in AUDIOSET_GROUPS.items()}
    assert sizes == {"genres": 25, "instruments": 18, "moods": 6}
    for names in AUDIOSET_GROUPS.values():
        assert set(names) <= set(AUDIOSET_LABELS)
    assert AUDIOSET_TOP_N == {"genres": 2, "instruments": 2, "moods": 1}


# ---------------------------------------------------------------- scorers
def _linear_problem(rng, n=80, p=20, d=6, noise=0.5):
    X = rng.standard_normal((n, p))
    Y = X @ rng.standard_normal((p, d)) + noise * rng.standard_normal((n, d))
    return X, Y


def test_scorers_in_cross_val_score_and_grid_search(rng):
    X, Y = _linear_problem(rng)
    cv = KFold(5)
    id_scores = cross_val_score(Ridge(), X, Y, cv=cv, scoring=identification_scorer)
    corr_scores = cross_val_score(Ridge(), X, Y, cv=cv, scoring=correlation_scorer)
    assert id_scores.shape == corr_scores.shape == (5,)
    assert np.all(id_scores > 0.8) and np.all(corr_scores > 0.5)
    manual = [
        identification_accuracy(Y[test], Ridge().fit(X[train], Y[train]).predict(X[test]))
        for train, test in cv.split(X)
    ]
    np.testing.assert_allclose(id_scores, manual)
    search = GridSearchCV(
        Ridge(), {"alpha": [1e-2, 1e6]}, cv=cv, scoring=identification_scorer
    ).fit(X, Y)
    assert search.best_params_ == {"alpha": 1e-2}


def test_scorers_give_chance_on_shuffled_targets():
    rng = np.random.default_rng(3)
    X, Y = _linear_problem(rng, n=200, noise=0.1)
    Y_shuffled = Y[rng.permutation(len(Y))]
    score = cross_val_score(
        Ridge(alpha=10.0), X, Y_shuffled, cv=KFold(5), scoring=identification_scorer
    ).mean()
    # 5 folds of 40 items: standard deviation about sqrt(41 / (12 * 39) / 200) = 0.021.
    assert abs(score - 0.5) < 0.1


def test_pearson_rejects_mismatched_shapes(rng):
    with pytest.raises(ValueError, match="2-D"):
        pearson_per_target(np.arange(6.0), rng.standard_normal((3, 2)))
    with pytest.raises(ValueError, match="same shape"):
        pearson_per_target(rng.standard_normal((6, 2)), rng.standard_normal((3, 4)))
    np.testing.assert_allclose(pearson_per_target(np.arange(6.0), 2 * np.arange(6.0)), [1.0])


def test_identification_within_groups_matches_per_group_loop(rng):
    T = rng.standard_normal((12, 2, 6))
    P = T + rng.standard_normal((12, 2, 6))
    groups = np.repeat(["a", "b", "c"], 4)
    per_item = identification_accuracy(T, P, groups=groups, average=False)
    for g in "abc":
        members = groups == g
        assert np.allclose(per_item[members],
                           identification_accuracy(T[members], P[members], average=False))
    assert identification_accuracy(T, P, groups=groups) == pytest.approx(per_item.mean())


def test_identification_within_groups_defeats_a_group_mean_predictor(rng):
    # Items = group centre + item detail. Predicting the group centre identifies items among
    # all items well, but within their group it is at chance (every comparison a tie).
    centres = 5 * rng.standard_normal((4, 16))
    groups = np.repeat(np.arange(4), 5)
    T = centres[groups] + rng.standard_normal((20, 16))
    group_mean = centres[groups] + 0.01 * rng.standard_normal((20, 16))
    assert identification_accuracy(T, group_mean) > 0.75
    assert identification_accuracy(T, group_mean, groups=groups) == pytest.approx(0.5, abs=0.2)
    assert identification_accuracy(T, T + 0.1 * rng.standard_normal(T.shape),
                                   groups=groups) > 0.95


def test_identification_within_groups_bad_input(rng):
    T = rng.standard_normal((4, 3))
    with pytest.raises(ValueError, match="one entry per item"):
        identification_accuracy(T, T, groups=[0, 1])
    with pytest.raises(ValueError, match="two items"):
        identification_accuracy(T, T, groups=[0, 1, 2, 3])
    alone = identification_accuracy(T, T, groups=[0, 0, 0, 1], average=False)
    assert np.isnan(alone[3]) and np.all(alone[:3] == 1.0)


# ---------------------------------------------------------------- within-group scorer
def _genre_problem(seed, n=120, n_genres=4, p=12, d=8):
    """Embeddings = a large genre centre + a clip-specific part that X carries (noisily);
    ``genre_only`` inputs carry the genre and nothing of the clip."""
    rng = np.random.default_rng(seed)
    genres = np.tile(np.arange(n_genres), n // n_genres)
    clip = rng.standard_normal((n, p))
    Y = 4.0 * rng.standard_normal((n_genres, d))[genres] + clip @ rng.standard_normal((p, d))
    one_hot = np.eye(n_genres)[genres]
    X = np.c_[one_hot, clip + 0.3 * rng.standard_normal((n, p))]
    return X, one_hot, Y, genres


def test_within_genre_scorer_in_cross_validation():
    X, genre_only, Y, genres = _genre_problem(0)
    cv = KFold(4, shuffle=True, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_identification_scorer(groups="genres")
        within = cross_val_score(Ridge(), X, Y, cv=cv, scoring=scorer,
                                 params={"genres": genres})
        genre_mean_within = cross_val_score(Ridge(), genre_only, Y, cv=cv, scoring=scorer,
                                            params={"genres": genres})
        shuffled = Y[np.random.default_rng(1).permutation(len(Y))]
        shuffled_within = cross_val_score(Ridge(), X, shuffled, cv=cv, scoring=scorer,
                                          params={"genres": genres})
    # Every fold is scored on its own test clips' genres.
    manual = [identification_accuracy(Y[test], Ridge().fit(X[train], Y[train]).predict(
        X[test]), groups=genres[test]) for train, test in cv.split(X)]
    np.testing.assert_allclose(within, manual)
    assert within.min() > 0.9
    # The genre-mean predictor wins among all clips, not within genre: one prediction for
    # a whole genre, so of every pair of its clips exactly one wins, chance exactly.
    genre_mean_all = cross_val_score(Ridge(), genre_only, Y, cv=cv,
                                     scoring=identification_scorer)
    assert genre_mean_all.mean() > 0.75
    np.testing.assert_allclose(genre_mean_within, 0.5, atol=1e-9)
    assert abs(shuffled_within.mean() - 0.5) < 0.1


def test_within_genre_scorer_beside_a_group_splitter():
    X, _, Y, genres = _genre_problem(2)
    runs = np.repeat(np.arange(6), 20)
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_identification_scorer(groups="genres", windows="mean")
        scores = cross_val_score(Ridge(), X, Y, cv=GroupKFold(3), scoring=scorer,
                                 params={"groups": runs, "genres": genres})
        search = GridSearchCV(Ridge(), {"alpha": [1e-2, 1e7]}, cv=GroupKFold(3),
                              scoring=scorer).fit(X, Y, groups=runs, genres=genres)
    manual = [identification_accuracy(Y[test], Ridge().fit(X[train], Y[train]).predict(
        X[test]), groups=genres[test]) for train, test in GroupKFold(3).split(X, Y, runs)]
    np.testing.assert_allclose(scores, manual)
    assert search.best_params_ == {"alpha": 1e-2}


def test_within_genre_scorer_errors():
    X, _, Y, genres = _genre_problem(3)
    with pytest.raises(RuntimeError, match="enable_metadata_routing=True"):
        make_identification_scorer(groups="genres")
    with pytest.raises(TypeError, match="got 3"):
        make_identification_scorer(groups=3)
    with pytest.raises(ValueError, match="windows must be .* got 'max'"):
        make_identification_scorer(windows="max")
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_identification_scorer(groups=True)
        model = Ridge().fit(X, Y)
        assert scorer(model, X, Y, groups=genres) == within_group_identification(
            Y, model.predict(X), groups=genres)
        with pytest.raises(ValueError, match="got no groups"):
            scorer(model, X, Y)
    # Without groups the factory gives the all-items scorer.
    assert make_identification_scorer()(model, X, Y) == identification_scorer(model, X, Y)

"""Feature-space comparisons per ROI, the genre model, leave-one-genre-out identification."""

import numpy as np
import pytest

from skbrainmusic.encoding import (
    VoxelwiseEncoder,
    compare_feature_spaces,
    genre_one_hot,
    leave_one_genre_out_identification,
    upsample_to_windows,
)


def test_compare_feature_spaces_per_roi(rng):
    n_clips, n_windows = 60, 3
    good = rng.standard_normal((n_clips, n_windows, 6))
    noise = rng.standard_normal((n_clips, n_windows, 6))
    signal = good @ rng.standard_normal((6, 10))
    Y = np.concatenate([signal + rng.standard_normal(signal.shape),
                        rng.standard_normal((n_clips, n_windows, 10))], axis=2)
    roi = np.array(["A1"] * 10 + ["elsewhere"] * 10)
    result = compare_feature_spaces({"good": good[:45], "noise": noise[:45]}, Y[:45],
                                    {"good": good[45:], "noise": noise[45:]}, Y[45:],
                                    roi_labels=roi,
                                    estimator=VoxelwiseEncoder(alphas=np.logspace(-1, 3, 5)))
    table = result.roi_scores
    assert table.loc["A1", "good"] > 0.7
    assert abs(table.loc["A1", "noise"]) < 0.15
    assert abs(table.loc["elsewhere", "good"]) < 0.15
    assert table.loc["all", "good"] == pytest.approx(result.voxel_scores["good"].mean())
    assert set(result.estimators) == {"good", "noise"}
    with pytest.raises(ValueError, match="roi_labels has 3 entries"):
        compare_feature_spaces({"good": good[:45]}, Y[:45], {"good": good[45:]}, Y[45:],
                               roi_labels=roi[:3])
    with pytest.raises(ValueError, match="same keys"):
        compare_feature_spaces({"good": good}, Y, {"bad": good}, Y)


def test_genre_model_vs_embedding_model(rng):
    # Responses follow a within-genre embedding, not just the genre: the embedding model
    # must beat the up-sampled one-hot genre model (the paper's Fig. 5b argument), while
    # the genre model still explains the genre part.
    n_clips, n_windows = 100, 4
    genres = np.repeat(np.array(["blues", "jazz", "rock", "pop"]), 25)
    rng.shuffle(genres)
    genre_means = rng.standard_normal((4, 6)) * 1.5
    embedding = genre_means[np.searchsorted(np.unique(genres), genres)][:, None, :] + \
        rng.standard_normal((n_clips, n_windows, 6))
    Y = embedding @ rng.standard_normal((6, 15)) + rng.standard_normal((n_clips, n_windows, 15))
    one_hot = upsample_to_windows(genre_one_hot(genres), n_windows)
    assert one_hot.shape == (n_clips, n_windows, 4)
    np.testing.assert_array_equal(one_hot[:, 0], one_hot[:, -1])
    train, test = slice(0, 70), slice(70, None)
    result = compare_feature_spaces({"genre": one_hot[train], "embedding": embedding[train]},
                                    Y[train],
                                    {"genre": one_hot[test], "embedding": embedding[test]},
                                    Y[test])
    scores = result.roi_scores.loc["all"]
    assert scores["embedding"] > scores["genre"] + 0.2
    assert scores["genre"] > 0.2


def test_genre_helpers_errors():
    assert genre_one_hot(["a"], categories=["b", "a"]).tolist() == [[0.0, 1.0]]
    with pytest.raises(ValueError, match="not in categories"):
        genre_one_hot(["c"], categories=["a", "b"])
    with pytest.raises(ValueError, match="2-D"):
        upsample_to_windows(np.ones((2, 3, 4)), 2)


def test_leave_one_genre_out_identification(rng):
    n_clips = 90
    genres = np.repeat(np.array(["a", "b", "c"]), 30)
    X = rng.standard_normal((n_clips, 2, 40))  # responses
    W = rng.standard_normal((40, 8))
    Y = X @ W + 0.5 * rng.standard_normal((n_clips, 2, 8))  # embeddings
    test = np.arange(1, n_clips, 3)
    train = np.setdiff1d(np.arange(n_clips), test)
    # Any regressor of the clip convention serves as the decoder (ROIEnsembleRidge in the
    # paper); a ridge with a fixed penalty keeps the test fast.
    decoder = VoxelwiseEncoder(alphas=[1.0], cv=2)
    table = leave_one_genre_out_identification(
        decoder, X[train], Y[train], genres[train], X[test], Y[test], genres[test])
    assert list(table.index) == ["a", "b", "c"]
    assert table["n_test_clips"].tolist() == [10, 10, 10]
    assert (table["ablated"] > 0.9).all() and (table["full"] > 0.9).all()
    # Control: a decoder trained on clips whose targets were shuffled is at chance.
    shuffled = leave_one_genre_out_identification(
        decoder, X[train], Y[train][rng.permutation(train.size)], genres[train],
        X[test], Y[test], genres[test], windows="mean")
    assert abs(shuffled["ablated"].mean() - 0.5) < 0.15
    # Control that the genre is really left out: with a different mapping per genre, only
    # the full model (which saw the genre) identifies its clips.
    per_genre = np.stack([rng.standard_normal((40, 8)) for _ in range(3)])
    Y_genre = np.einsum("cwv,cvd->cwd", X, per_genre[np.searchsorted(["a", "b", "c"], genres)])
    specific = leave_one_genre_out_identification(
        VoxelwiseEncoder(alphas=[1.0], cv=2), X[train], Y_genre[train], genres[train],
        X[test], Y_genre[test], genres[test])
    assert (specific["full"] > specific["ablated"] + 0.2).all()
    with pytest.raises(ValueError, match="one label per clip"):
        leave_one_genre_out_identification(decoder, X[train], Y[train], genres[:5], X[test],
                                           Y[test], genres[test])


def test_plot_score_density_counts_every_voxel(rng):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skbrainmusic.encoding import plot_score_density

    a = rng.normal(0.1, 0.1, 500)
    ax = plot_score_density(a, a + rng.normal(0, 0.05, 500), labels=("music", "text"), bins=20)
    counts = ax.collections[0].get_array()
    assert np.nansum(np.ma.filled(counts, 0)) == 500
    assert ax.get_xlabel() == "music" and ax.get_ylabel() == "text"
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="shape"):
        plot_score_density(a, a[:3])

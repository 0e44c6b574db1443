"""Variance partitioning recovers a planted split of the explained variance."""

import numpy as np
import pytest

from skbrainmusic.encoding import variance_partitioning


def test_recovers_planted_unique_and_shared_variance():
    rng = np.random.default_rng(0)
    n_clips, n_windows, n_features = 160, 3, 6
    shared_source = rng.standard_normal((n_clips, n_windows, 2))
    A = np.concatenate([rng.standard_normal((n_clips, n_windows, n_features)), shared_source], 2)
    B = np.concatenate([rng.standard_normal((n_clips, n_windows, n_features)), shared_source], 2)
    weights = rng.standard_normal((n_features, 10))
    only_a = A[..., :n_features] @ weights
    only_b = B[..., :n_features] @ weights
    shared = shared_source @ rng.standard_normal((2, 10)) * 2.0
    noise = rng.standard_normal((n_clips, n_windows, 30))
    Y = np.concatenate([only_a, only_b, shared], axis=2) + noise
    train, test = slice(0, 120), slice(120, None)
    part = variance_partitioning({"a": A[train], "b": B[train]}, Y[train],
                                 {"a": A[test], "b": B[test]}, Y[test],
                                 alphas=np.logspace(-2, 4, 7), n_ratios=7)
    a_voxels, b_voxels, shared_voxels = slice(0, 10), slice(10, 20), slice(20, 30)
    # A-only voxels: unique(A) close to the joint score, unique(B) near zero.
    assert part.joint[a_voxels].mean() > 0.6
    np.testing.assert_allclose(part.unique["a"][a_voxels], part.joint[a_voxels], atol=0.1)
    assert np.abs(part.unique["b"][a_voxels]).max() < 0.05
    # And symmetrically for B-only voxels.
    np.testing.assert_allclose(part.unique["b"][b_voxels], part.joint[b_voxels], atol=0.1)
    assert np.abs(part.unique["a"][b_voxels]).max() < 0.05
    # Voxels driven by what both spaces contain: the variance is shared, not unique.
    assert part.shared[shared_voxels].mean() > 0.6
    assert np.abs(part.unique["a"][shared_voxels]).max() < 0.05
    assert np.abs(part.unique["b"][shared_voxels]).max() < 0.05
    # The identities hold exactly.
    np.testing.assert_allclose(part.single["a"] + part.unique["b"], part.joint)
    np.testing.assert_allclose(part.unique["a"] + part.unique["b"] + part.shared, part.joint)
    assert part.names == ("a", "b")


def test_errors(rng):
    A = rng.standard_normal((20, 2, 3))
    Y = rng.standard_normal((20, 2, 4))
    with pytest.raises(ValueError, match="exactly two"):
        variance_partitioning({"a": A}, Y, {"a": A}, Y)
    with pytest.raises(ValueError, match="same keys"):
        variance_partitioning({"a": A, "b": A}, Y, {"a": A, "c": A}, Y)
    with pytest.raises(ValueError, match="differ in"):
        variance_partitioning({"a": A, "b": A[:, :1]}, Y, {"a": A, "b": A}, Y)


def test_torch_backend_runs_and_restores_himalaya_backend(rng):
    pytest.importorskip("torch")
    from himalaya.backend import get_backend

    A = rng.standard_normal((40, 2, 3)).astype(np.float32)
    B = rng.standard_normal((40, 2, 3)).astype(np.float32)
    Y = (A @ rng.standard_normal((3, 4)) + rng.standard_normal((40, 2, 4))).astype(np.float32)
    before = get_backend()
    part = variance_partitioning({"a": A[:30], "b": B[:30]}, Y[:30],
                                 {"a": A[30:], "b": B[30:]}, Y[30:], cv=3, backend="torch",
                                 n_ratios=3)
    assert get_backend() is before
    assert isinstance(part.joint, np.ndarray) and part.joint.shape == (4,)
    assert part.unique["a"].mean() > part.unique["b"].mean()

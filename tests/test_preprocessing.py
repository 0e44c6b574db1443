import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.ndimage import median_filter

from skbrainmusic.preprocessing import (
    constant_voxels,
    explainable_variance,
    median_detrend,
    noise_ceiling,
    preprocess_run,
    zscore_run,
)


def test_median_detrend_removes_slow_drift_keeps_fast_signal():
    rng = np.random.default_rng(0)
    t = np.arange(410) * 1.5
    fast = rng.normal(size=(410, 3))
    drift = 5 * np.sin(2 * np.pi * t / 1200.0)[:, None] + 0.02 * t[:, None]
    detrended = median_detrend(fast + drift)
    assert np.corrcoef((fast + drift)[:, 0], fast[:, 0])[0, 1] < 0.3
    assert np.corrcoef(detrended[:, 0], fast[:, 0])[0, 1] > 0.8
    assert np.abs(detrended - fast).std() < 0.3 * drift.std()


@pytest.mark.parametrize("n_scans", [200, 37])
def test_median_detrend_matches_nd_filter(n_scans, monkeypatch):
    # Voxels far apart in level: a window that reached a neighbouring voxel (within or
    # across the blocks filtered at once) would show.
    from skbrainmusic import preprocessing

    monkeypatch.setattr(preprocessing, "_MEDIAN_BLOCK", 3)
    run = np.random.default_rng(1).normal(size=(n_scans, 7)).astype(np.float32)
    run += np.array([0.0, 100.0, -100.0, 1000.0, 5.0, -50.0, 20.0], dtype=np.float32)
    expected = run - median_filter(run, size=(161, 1), mode="nearest")
    np.testing.assert_array_equal(median_detrend(run, tr=1.5, window=240.0), expected)
    assert median_detrend(run[:0]).shape == (0, 7)


@settings(max_examples=20, deadline=None)
@given(st.integers(20, 120), st.integers(1, 5), st.floats(1.0, 1e4))
def test_preprocess_run_is_zscored(n_scans, n_voxels, scale):
    run = scale * np.random.default_rng(n_scans).normal(size=(n_scans, n_voxels)) + scale
    out = preprocess_run(run)
    assert out.dtype == np.float32 and out.shape == (n_scans, n_voxels)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(out.std(axis=0), 1, atol=1e-4)


def test_constant_voxel_is_an_error_and_detectable():
    run = np.random.default_rng(0).normal(size=(50, 3))
    run[:, 1] = 4.0
    np.testing.assert_array_equal(constant_voxels(run), [False, True, False])
    with pytest.raises(ValueError, match=r"1 voxel\(s\) are constant .*\[1\]"):
        zscore_run(run)


def test_nan_and_shape_errors():
    run = np.zeros((10, 3))
    run[2, 2] = np.nan
    with pytest.raises(ValueError, match=r"NaN or infinite values in 1 voxel"):
        preprocess_run(run)
    with pytest.raises(ValueError, match="must be 2-D"):
        preprocess_run(np.zeros(10))
    with pytest.raises(ValueError, match="positive"):
        median_detrend(np.ones((5, 2)), window=0)


def _repeats(signal_var, n_repeats, rng, n_clips=60, n_scans=10):
    signal = np.sqrt(signal_var) * rng.normal(size=(n_clips, 1, n_scans, signal_var.size))
    return signal + rng.normal(size=(n_clips, n_repeats, n_scans, signal_var.size))


def test_explainable_variance_and_noise_ceiling_recover_truth():
    rng = np.random.default_rng(0)
    signal_var = np.array([0.0, 0.25, 1.0, 4.0])
    data = _repeats(signal_var, 4, rng)
    ev = explainable_variance(data)
    np.testing.assert_allclose(ev, signal_var / (signal_var + 1), atol=0.05)
    ceiling = noise_ceiling(data)
    expected = np.sqrt(signal_var / (signal_var + 1 / 4))
    np.testing.assert_allclose(ceiling, expected, atol=0.06)
    assert ceiling[0] < 0.2  # pure noise


def test_noise_ceiling_bounds_the_true_signal_correlation():
    rng = np.random.default_rng(1)
    n_clips, n_scans = 60, 10
    signal = rng.normal(size=(n_clips, 1, n_scans, 3))
    data = signal + rng.normal(size=(n_clips, 4, n_scans, 3)) * np.array([0.5, 1.0, 2.0])
    mean = data.mean(axis=1).reshape(-1, 3)
    r = [np.corrcoef(signal.reshape(-1, 3)[:, v], mean[:, v])[0, 1] for v in range(3)]
    np.testing.assert_allclose(noise_ceiling(data), r, atol=0.05)


def test_repeats_validation():
    with pytest.raises(ValueError, match="4-D"):
        noise_ceiling(np.zeros((3, 4, 5)))
    with pytest.raises(ValueError, match="At least 2 repeats"):
        explainable_variance(np.zeros((3, 1, 5, 2)))
    data = np.random.default_rng(0).normal(size=(3, 2, 5, 2))
    data[:, :, :, 1] = 1.0
    with pytest.raises(ValueError, match="constant in a repeat"):
        explainable_variance(data)

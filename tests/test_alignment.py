"""TemporalWindowAligner and the window geometry of Table A.2."""

import tracemalloc
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import Pipeline

from skbrainmusic import TemporalWindowAligner, n_windows
from skbrainmusic.alignment import window_onsets, window_scans
from skbrainmusic.metrics import correlation_scorer

TABLE_A2 = [(10.0, 4), (5.0, 7), (1.5, 10), (15.0, 1)]  # (window s, r) for 15 s clips


def _reference_windows(R, window, step, tr, delay, clip_duration):
    """Brute force in exact fractions: mean of the scans whose interval overlaps the window."""
    window, step, tr, delay, clip = (Fraction(str(v)) for v in (window, step, tr, delay,
                                                                  clip_duration))
    out = []
    k = 0
    while k * step + window <= clip:
        start, end = k * step + delay, k * step + delay + window
        scans = [j for j in range(R.shape[1]) if j * tr < end and (j + 1) * tr > start]
        out.append(R[:, scans].mean(axis=1))
        k += 1
    return np.stack(out, axis=1)


@pytest.mark.parametrize(("window", "expected"), TABLE_A2)
def test_n_windows_reproduces_table_a2(window, expected):
    assert n_windows(15.0, window, 1.5) == expected
    assert len(window_onsets(15.0, window, 1.5)) == expected
    R = np.zeros((3, 10, 2), dtype=np.float32)
    assert TemporalWindowAligner(window=window).fit_transform(R).shape == (3, expected, 2)


def test_window_zero_averages_scans_zero_to_six():
    assert window_scans(15.0, 10.0, 1.5, 1.5)[0].tolist() == [0, 7]
    assert window_scans(15.0, 1.5, 1.5, 1.5).tolist() == [[k, k + 1] for k in range(10)]
    assert window_scans(15.0, 15.0, 1.5, 1.5).tolist() == [[0, 10]]


def test_exact_values_on_ramps_and_constants():
    ramp = np.arange(10, dtype=np.float32)[None, :, None] * np.ones((2, 1, 3), np.float32)
    ramp += np.arange(3, dtype=np.float32) * 100
    aligned = TemporalWindowAligner(window=10.0).fit_transform(ramp)
    # Window k averages scans k..k+6 of the ramp: k + 3.
    expected = (np.arange(4, dtype=np.float32)[:, None] + 3) + np.arange(3) * 100
    np.testing.assert_array_equal(aligned, np.broadcast_to(expected, (2, 4, 3)))
    five = TemporalWindowAligner(window=5.0).fit_transform(ramp)  # scans k..k+3
    np.testing.assert_array_equal(five[0, :, 0], np.arange(7) + 1.5)
    for window, _ in TABLE_A2:
        aligner = TemporalWindowAligner(window=window)
        # Sums of a dyadic constant are exact, so their means are too.
        exact = aligner.fit_transform(np.full((4, 10, 5), -2.75, dtype=np.float32))
        np.testing.assert_array_equal(exact, np.float32(-2.75))
        tenth = aligner.fit_transform(np.full((4, 10, 5), 0.1, dtype=np.float32))
        np.testing.assert_array_max_ulp(tenth, np.full_like(tenth, 0.1), maxulp=2)


@pytest.mark.parametrize(
    ("window", "step", "tr", "delay", "clip_duration", "n_scans"),
    [
        (10.0, 1.5, 1.5, 0.0, 15.0, 10),
        (5.0, 1.5, 1.5, 3.0, 15.0, 12),
        (4.0, 1.0, 1.5, 2.0, 12.0, 10),  # boundaries that fall inside scans
        (2.0, 0.5, 2.0, 1.0, 9.0, 5),
        (1.5, 1.5, 1.5, 4.5, 15.0, 13),
    ],
)
def test_matches_brute_force_overlap(window, step, tr, delay, clip_duration, n_scans):
    R = np.random.default_rng(0).standard_normal((3, n_scans, 4))
    aligner = TemporalWindowAligner(window=window, step=step, tr=tr, delay=delay,
                                    clip_duration=clip_duration)
    expected = _reference_windows(R, window, step, tr, delay, clip_duration)
    np.testing.assert_allclose(aligner.fit_transform(R), expected, rtol=1e-12)
    assert aligner.n_windows_ == expected.shape[1]


def test_delay_shifts_scans_later_and_needs_trailing_scans():
    R = np.arange(12, dtype=np.float64)[None, :, None] * np.ones((2, 1, 1))
    aligned = TemporalWindowAligner(delay=3.0).fit_transform(R)
    np.testing.assert_array_equal(aligned[0, :, 0], [5.0, 6.0, 7.0, 8.0])  # scans k+2..k+8
    with pytest.raises(ValueError, match=r"10 scans per clip.*needs 12 scans.*2 trailing"):
        TemporalWindowAligner(delay=3.0).fit(R[:, :10])
    fitted = TemporalWindowAligner(delay=3.0).fit(R)
    with pytest.raises(ValueError, match="trailing"):
        fitted.transform(R[:, :11])


def test_clip_duration_none_infers_from_scans():
    R = np.zeros((2, 12, 3))
    aligner = TemporalWindowAligner(delay=3.0, clip_duration=None).fit(R)
    assert aligner.clip_duration_ == pytest.approx(15.0)
    assert aligner.n_windows_ == 4
    # Extra scans beyond the last window are allowed with an explicit clip_duration.
    assert TemporalWindowAligner().fit_transform(R).shape == (2, 4, 3)
    with pytest.raises(ValueError, match="leaves no clip"):
        TemporalWindowAligner(delay=30.0, clip_duration=None).fit(R)


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"window": 20.0}, ValueError, "longer than the clip"),
        ({"delay": -1.5}, ValueError, "delay must be"),
        ({"tr": 0}, ValueError, "tr must be"),
        ({"step": "1.5"}, TypeError, "step must be a number"),
        ({"window": np.nan}, ValueError, "window must be"),
    ],
)
def test_invalid_geometry_errors(params, error, match):
    with pytest.raises(error, match=match):
        TemporalWindowAligner(**params).fit(np.zeros((2, 10, 3)))


def test_dtype_preserved_and_2d_identity():
    R32 = np.random.default_rng(0).standard_normal((5, 10, 3)).astype(np.float32)
    assert TemporalWindowAligner().fit_transform(R32).dtype == np.float32
    assert TemporalWindowAligner().fit_transform(R32.astype(np.float64)).dtype == np.float64
    assert TemporalWindowAligner().fit_transform(np.ones((2, 10, 3), int)).dtype == np.float64
    X2 = R32[:, 0, :]
    out = TemporalWindowAligner().fit_transform(X2)
    assert out.shape == X2.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out, X2)
    assert not np.shares_memory(out, X2)
    with pytest.raises(ValueError, match="no scan axis"):
        TemporalWindowAligner(delay=3.0).fit(X2)
    frame = pd.DataFrame(X2, columns=["v0", "v1", "v2"])
    names = TemporalWindowAligner().fit(frame).get_feature_names_out()
    assert names.tolist() == ["v0", "v1", "v2"]  # voxels pass through, one to one
    with pytest.raises(ValueError, match="no scan axis"):
        TemporalWindowAligner().fit(X2).set_params(delay=1.5).transform(X2)


def test_no_copies_beyond_the_output():
    R = np.ones((40, 10, 20000), dtype=np.float32)
    aligner = TemporalWindowAligner().fit(R)
    output_bytes = 40 * 4 * 20000 * 4
    tracemalloc.start()
    aligner.transform(R)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 1.1 * output_bytes


@settings(max_examples=25, deadline=None)
@given(
    a=st.floats(-3, 3), b=st.floats(-3, 3),
    window=st.sampled_from([1.5, 4.0, 5.0, 10.0, 15.0]),
    delay=st.sampled_from([0.0, 1.5, 2.0]), seed=st.integers(0, 2**16),
)
def test_linearity(a, b, window, delay, seed):
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((2, 3, 12, 4))
    aligner = TemporalWindowAligner(window=window, delay=delay).fit(X)
    np.testing.assert_allclose(
        aligner.transform(a * X + b * Y),
        a * aligner.transform(X) + b * aligner.transform(Y),
        atol=1e-10,
    )


class _WindowRidge(RegressorMixin, BaseEstimator):
    """Ridge on windows pooled across clips; predictions keep the clip axis."""

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def fit(self, X, Y):
        self.ridge_ = Ridge(alpha=self.alpha).fit(X.reshape(-1, X.shape[-1]),
                                                  Y.reshape(-1, Y.shape[-1]))
        return self

    def predict(self, X):
        flat = self.ridge_.predict(X.reshape(-1, X.shape[-1]))
        return flat.reshape(X.shape[0], X.shape[1], -1)


def _planted_study(delay, n_clips=60, n_scans=12, n_voxels=30, d=5, seed=0):
    """Responses whose windows, ``delay`` seconds later, are a linear map of targets."""
    rng = np.random.default_rng(seed)
    R = rng.standard_normal((n_clips, n_scans, n_voxels)).astype(np.float32)
    aligned = TemporalWindowAligner(delay=delay).fit_transform(R)
    W = rng.standard_normal((n_voxels, d)).astype(np.float32)
    Y = aligned @ W + 0.1 * rng.standard_normal((n_clips, 4, d)).astype(np.float32)
    return R, Y


def test_pipeline_in_cross_val_score_keeps_clip_axis():
    R, Y = _planted_study(delay=0.0)
    pipe = Pipeline([("align", TemporalWindowAligner()), ("ridge", _WindowRidge(alpha=1.0))])
    cv = KFold(5, shuffle=True, random_state=0)
    scores = cross_val_score(pipe, R, Y, cv=cv, scoring=correlation_scorer)
    assert scores.mean() > 0.9
    # Control: targets of other clips carry no information about these responses.
    Y_shuffled = Y[np.random.default_rng(1).permutation(len(Y))]
    control = cross_val_score(pipe, R, Y_shuffled, cv=cv, scoring=correlation_scorer)
    assert abs(control.mean()) < 0.2
    assert clone(pipe).fit(R, Y).predict(R).shape == Y.shape


def test_grid_search_recovers_the_planted_delay():
    R, Y = _planted_study(delay=3.0, seed=2)
    pipe = Pipeline([("align", TemporalWindowAligner()), ("ridge", _WindowRidge())])
    search = GridSearchCV(pipe, {"align__delay": [0.0, 1.5, 3.0]}, cv=KFold(3),
                          scoring=correlation_scorer).fit(R, Y)
    assert search.best_params_ == {"align__delay": 3.0}


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_responses_raise(bad):
    R = np.zeros((40, 10, 5000), dtype=np.float32)
    R[37, 6, 4321] = bad
    with pytest.raises(ValueError, match=r"NaN or infinity .* clips 32\.\.39"):
        TemporalWindowAligner().fit(R).transform(R)
    # A value in a trailing scan that no window uses cannot reach the output.
    R[37, 6, 4321] = 0.0
    padded = np.concatenate([R, np.zeros((40, 2, 5000), np.float32)], axis=1)
    padded[37, 11] = bad
    assert np.isfinite(TemporalWindowAligner().fit_transform(padded)).all()
    overflow = np.full((1, 10, 2), np.finfo(np.float32).max, dtype=np.float32)
    with pytest.raises(ValueError, match="overflow"):
        TemporalWindowAligner().fit_transform(overflow)


def test_huge_finite_values_are_not_mistaken_for_infinity():
    R = np.full((2, 10, 64), np.finfo(np.float32).max / 8, dtype=np.float32)
    np.testing.assert_array_equal(TemporalWindowAligner(window=1.5).fit_transform(R), R)


def test_transform_takes_clips_of_the_fitted_length_only():
    # clip_duration=None infers 15 s from the 10 training scans; clips of another length
    # would silently be averaged over those windows (a 20-scan clip over its first scans).
    aligner = TemporalWindowAligner(clip_duration=None).fit(np.zeros((2, 10, 3)))
    ramp = np.broadcast_to(np.arange(14.0)[None, :, None], (2, 14, 3))
    assert aligner.n_scans_ == 10
    assert aligner.transform(ramp[:, :10]).shape == (2, aligner.n_windows_, 3) == (2, 4, 3)
    with pytest.raises(ValueError, match=r"clips of 14 scans.*fitted on clips of 10"):
        aligner.transform(ramp)
    with pytest.raises(ValueError, match="include 4 trailing scan"):
        aligner.transform(ramp[:, :6])

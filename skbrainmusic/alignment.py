"""Temporal alignment of fMRI scans with windowed stimulus embeddings (Table A.2 geometry).

A clip of ``clip_duration`` seconds is cut into windows of ``window`` seconds that start every
``step`` seconds: window ``k`` covers ``[k * step, k * step + window)`` and there are
``floor((clip_duration - window) / step) + 1`` of them (clip 15 s, step 1.5 s: window 10 s
-> 4, 5 s -> 7, 1.5 s -> 10, 15 s -> 1). A scan ``j`` covers ``[j * tr, (j + 1) * tr)`` and
belongs to a window when the two intervals overlap, so window ``[0, 10)`` averages scans
0..6 at ``tr=1.5``. The audio embedders use :func:`window_onsets` and :func:`n_windows` too,
so the fMRI and embedding views line up window by window.
"""

import math
import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._validation import validate_clips

# Times are in seconds; no real geometry is finer than a microsecond, and the tolerance keeps
# products such as 3 * 1.5 from landing on the wrong side of a boundary.
_TIME_TOLERANCE = 1e-6
# Voxels per batched product in TemporalWindowAligner.transform (see the comment there).
_VOXEL_BLOCK = 4096


def _check_seconds(value, name, *, allow_zero=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number of seconds, got {value!r}.")
    value = float(value)
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number of seconds {bound}, got {value!r}.")
    return value


def n_windows(clip_duration, window, step):
    """Number of windows of ``window`` seconds, advanced by ``step``, that fit in a clip.

    ``floor((clip_duration - window) / step) + 1`` (Table A.2 of the paper).

    Parameters
    ----------
    clip_duration : float
        Clip length in seconds.
    window : float
        Window length in seconds; at most ``clip_duration``.
    step : float
        Seconds between the starts of consecutive windows.

    Returns
    -------
    n : int
        Number of windows, at least 1.

    Examples
    --------
    >>> from skbrainmusic import n_windows
    >>> [n_windows(15.0, w, 1.5) for w in (10.0, 5.0, 1.5, 15.0)]
    [4, 7, 10, 1]
    """
    clip_duration = _check_seconds(clip_duration, "clip_duration")
    window = _check_seconds(window, "window")
    step = _check_seconds(step, "step")
    if window > clip_duration + _TIME_TOLERANCE:
        raise ValueError(
            f"window={window} s is longer than the clip ({clip_duration} s): no window fits. "
            "Use a shorter window or longer clips."
        )
    return math.floor((clip_duration - window + _TIME_TOLERANCE) / step) + 1


def window_onsets(clip_duration, window, step):
    """Start times in seconds of the windows of a clip: ``k * step`` for every window ``k``.

    Parameters
    ----------
    clip_duration, window, step : float
        As in :func:`n_windows`.

    Returns
    -------
    onsets : ndarray of shape (n_windows,)

    Examples
    --------
    >>> from skbrainmusic.alignment import window_onsets
    >>> window_onsets(15.0, 10.0, 1.5).tolist()
    [0.0, 1.5, 3.0, 4.5]
    """
    return np.arange(n_windows(clip_duration, window, step)) * float(step)


def window_scans(clip_duration, window, step, tr, delay=0.0):
    """Scans that overlap each window, as half-open index ranges ``[first, stop)``.

    Window ``k`` covers ``[k * step + delay, k * step + delay + window)`` seconds; scan ``j``
    covers ``[j * tr, (j + 1) * tr)`` and is assigned to the window when they overlap.

    Parameters
    ----------
    clip_duration, window, step : float
        As in :func:`n_windows`.
    tr : float
        Repetition time (seconds per scan).
    delay : float, default=0.0
        Seconds by which every window is shifted later on the scan axis (haemodynamic lag).

    Returns
    -------
    scans : ndarray of shape (n_windows, 2), dtype int64
        ``scans[k] = (first, stop)``: window ``k`` averages scans ``first .. stop - 1``. The
        responses must hold at least ``scans[-1, 1]`` scans per clip.

    Examples
    --------
    >>> from skbrainmusic.alignment import window_scans
    >>> window_scans(15.0, 10.0, 1.5, tr=1.5).tolist()
    [[0, 7], [1, 8], [2, 9], [3, 10]]
    """
    tr = _check_seconds(tr, "tr")
    delay = _check_seconds(delay, "delay", allow_zero=True)
    starts = window_onsets(clip_duration, window, step) + delay
    ends = starts + float(window)
    first = np.floor((starts + _TIME_TOLERANCE) / tr).astype(np.int64)
    stop = np.ceil((ends - _TIME_TOLERANCE) / tr).astype(np.int64)
    return np.stack([first, stop], axis=1)


class TemporalWindowAligner(TransformerMixin, BaseEstimator):
    """Average fMRI scans over sliding windows that match the stimulus embeddings' windows.

    ``(n_clips, n_scans, n_voxels)`` -> ``(n_clips, n_windows, n_voxels)``: output window
    ``k`` is the mean of the scans that overlap ``[k * step + delay, k * step + delay +
    window)`` seconds (see :func:`window_scans`). With the defaults (15 s clips, 10 scans of
    1.5 s, 10 s windows) window 0 averages scans 0..6 and there are 4 windows, exactly the
    MuLan row of Table A.2.

    The transform is stateless: it depends only on the parameters and on ``X``, so ``window``
    and ``delay`` can be tuned by :class:`~sklearn.model_selection.GridSearchCV` like any
    other parameter.

    Parameters
    ----------
    window : float, default=10.0
        Window length in seconds (Table A.2: 10 for MuLan/CLAP, 5 for w2v-BERT, 1.5 for
        SoundStream/EnCodec, 15 for text).
    step : float, default=1.5
        Seconds between consecutive window starts.
    tr : float, default=1.5
        Repetition time: seconds covered by one scan.
    delay : float, default=0.0
        Seconds by which the windows are shifted later on the scan axis, to follow the
        haemodynamic lag. A delay needs trailing scans after each clip: with the defaults and
        ``delay=3.0`` every clip must come with 12 scans (18 s); fewer raise a ``ValueError``.
    clip_duration : float or None, default=15.0
        Stimulus length in seconds; sets the number of windows. ``None`` infers it from the
        data as ``n_scans * tr - delay``. Clips may carry more scans than the windows need
        (the trailing ones are then unused), never fewer.

    Attributes
    ----------
    n_features_in_ : int
        Number of voxels (last axis) seen in :meth:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` is a DataFrame with string column names.
    clip_duration_ : float
        Clip length used in :meth:`fit` (``clip_duration``, or the inferred one).
    n_windows_ : int
        Windows per clip produced for the data seen in :meth:`fit`.
    window_scans_ : ndarray of shape (n_windows_, 2)
        ``[first, stop)`` scan indices averaged by each window (see :func:`window_scans`).

    Notes
    -----
    **2-D input** ``(n_samples, n_voxels)`` means one scan per sample and has no time axis to
    slide over: every window can only overlap that single scan, so each sample is returned
    as it is (one window per sample, the package's 2-D convention) and the geometry is not
    checked. This keeps the aligner usable in pipelines fed with data that are already
    aligned (e.g. TR-level responses) and lets scikit-learn's estimator checks run on the
    default construction; the averaging itself only acts on 3-D input.

    Only the output is allocated: the window sums are one batched product with a small 0/1
    ``(n_windows, n_scans)`` matrix in the input's float dtype (float32 stays float32), which
    reads the input once, followed by an in-place division by the scan counts.

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic import TemporalWindowAligner
    >>> R = np.arange(10, dtype=np.float32)[None, :, None] * np.ones((2, 10, 3), np.float32)
    >>> aligned = TemporalWindowAligner(window=10.0).fit_transform(R)
    >>> aligned.shape, aligned.dtype
    ((2, 4, 3), dtype('float32'))
    >>> aligned[0, :, 0].tolist()
    [3.0, 4.0, 5.0, 6.0]
    """

    def __init__(self, window=10.0, step=1.5, tr=1.5, delay=0.0, clip_duration=15.0):
        self.window = window
        self.step = step
        self.tr = tr
        self.delay = delay
        self.clip_duration = clip_duration

    def _geometry(self, n_scans):
        """``(clip_duration, window_scans)`` for clips of ``n_scans`` scans, validated."""
        tr = _check_seconds(self.tr, "tr")
        delay = _check_seconds(self.delay, "delay", allow_zero=True)
        if self.clip_duration is None:
            clip_duration = n_scans * tr - delay
            if clip_duration <= 0:
                raise ValueError(
                    f"clip_duration=None infers n_scans * tr - delay = {n_scans} * {tr} - "
                    f"{delay} = {clip_duration:g} s, which leaves no clip: reduce delay or "
                    "pass clip_duration."
                )
        else:
            clip_duration = _check_seconds(self.clip_duration, "clip_duration")
        scans = window_scans(clip_duration, self.window, self.step, tr, delay)
        n_needed = int(scans[-1, 1])
        if n_needed > n_scans:
            last_start = float(scans.shape[0] - 1) * float(self.step) + delay
            raise ValueError(
                f"X has {n_scans} scans per clip ({n_scans * tr:g} s at tr={tr:g}) but the "
                f"last window, [{last_start:g}, {last_start + float(self.window):g}) s with "
                f"delay={delay:g}, needs {n_needed} scans: include {n_needed - n_scans} "
                "trailing scan(s) after each clip, or reduce delay / clip_duration."
            )
        return clip_duration, scans

    @staticmethod
    def _membership(scans, n_scans, dtype):
        """0/1 matrix ``(n_windows, n_scans)``: which scans each window sums."""
        membership = np.zeros((scans.shape[0], n_scans), dtype=dtype)
        for k, (first, stop) in enumerate(scans):
            membership[k, first:stop] = 1
        return membership

    def fit(self, X, y=None):
        """Validate the geometry against ``X``; nothing is learned.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_scans, n_voxels) or (n_samples, n_voxels)
            Responses; 2-D input means one scan per sample (see Notes).
        y : None
            Ignored.

        Returns
        -------
        self : TemporalWindowAligner
        """
        X3, was_2d = validate_clips(self, X, reset=True)
        if was_2d:
            _check_seconds(self.window, "window")
            _check_seconds(self.step, "step")
            _check_seconds(self.delay, "delay", allow_zero=True)
            self.clip_duration_ = _check_seconds(self.tr, "tr")
            self.window_scans_ = np.array([[0, 1]], dtype=np.int64)
        else:
            self.clip_duration_, self.window_scans_ = self._geometry(X3.shape[1])
        self.n_windows_ = self.window_scans_.shape[0]
        return self

    def transform(self, X):
        """Average the scans that overlap each window.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_scans, n_voxels) or (n_samples, n_voxels)
            Responses; 2-D input means one scan per sample and is returned unchanged.

        Returns
        -------
        X_windows : ndarray of shape (n_clips, n_windows, n_voxels) or (n_samples, n_voxels)
            Window means in the input's float dtype; 2-D in, 2-D out.
        """
        check_is_fitted(self)
        X3, was_2d = validate_clips(self, X, reset=False)
        if was_2d:
            return X3[:, 0, :].copy()
        _, scans = self._geometry(X3.shape[1])
        n_needed = int(scans[-1, 1])
        membership = self._membership(scans, n_needed, X3.dtype)
        # Sum with 0/1 weights, then divide: exact on constants and integer ramps, which
        # multiplying by rounded 1/n weights is not.
        windows = np.empty((X3.shape[0], scans.shape[0], X3.shape[2]), dtype=X3.dtype)
        # Column blocks keep each batched product streaming through memory; one product
        # over all voxels runs several times slower for short scan axes.
        for begin in range(0, X3.shape[2], _VOXEL_BLOCK):
            block = slice(begin, begin + _VOXEL_BLOCK)
            np.matmul(membership, X3[:, :n_needed, block], out=windows[:, :, block])
        windows /= (scans[:, 1] - scans[:, 0]).astype(X3.dtype)[:, np.newaxis]
        return windows

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.requires_fit = True
        return tags

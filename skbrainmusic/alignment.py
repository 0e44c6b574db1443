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
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted

from ._batches import release_pages
from ._validation import FLOAT_DTYPES, _ndim, all_finite, validate_clips

# Times are in seconds; no real geometry is finer than a microsecond, and the tolerance keeps
# products such as 3 * 1.5 from landing on the wrong side of a boundary.
_TIME_TOLERANCE = 1e-6
# Tile of TemporalWindowAligner.transform (see the comment there): 16 clips x 4096 voxels
# of output is 1 MiB of float32 for 4 windows.
_CLIP_BLOCK = 16
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


class TemporalWindowAligner(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
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
        (the trailing ones are then unused), never fewer. :meth:`transform` takes clips of
        the number of scans seen in :meth:`fit` only: other clips would silently be
        averaged over fit's windows, whatever they hold.

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
    n_scans_ : int
        Scans per clip seen in :meth:`fit` (1 for 2-D input).
    window_scans_ : ndarray of shape (n_windows_, 2)
        ``[first, stop)`` scan indices averaged by each window (see :func:`window_scans`).

    Notes
    -----
    **2-D input** ``(n_samples, n_voxels)`` means one scan per sample and has no time axis to
    slide over: a window over a clip of one scan can only average that scan, so each sample
    is returned as it is (one window per sample, the package's 2-D convention), whatever
    ``window`` and ``step``. A ``delay > 0`` would move the window onto scans that 2-D input
    does not have, so it raises a ``ValueError`` there. This keeps the aligner usable in
    pipelines fed with data that are already aligned (e.g. TR-level responses) and lets
    scikit-learn's estimator checks run, honestly, on the default construction; the
    averaging itself only acts on 3-D input.

    3-D input is checked for NaN and infinity on the output, tile by tile, rather than in a
    separate pass over the input: every non-finite value in a scan that a window uses
    reaches the output and raises a ``ValueError``; unused trailing scans are not checked.

    Only the output is allocated: the window sums are batched products with a small 0/1
    ``(n_windows, n_scans)`` matrix in the input's float dtype (float32 stays float32), tile
    by tile, which read the input once; each output tile is then divided in place by its
    windows' scan counts. Memory-mapped input (e.g. a cached study's responses) is read 16
    clips at a time and the pages read so far are let go of after each block (they stay in
    the file and the page cache), so aligning a mapped subject does not keep it resident.

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
        self._check_enough_scans(scans, n_scans)
        return clip_duration, scans

    def _check_enough_scans(self, scans, n_scans):
        n_needed = int(scans[-1, 1])
        if n_needed > n_scans:
            tr, delay = float(self.tr), float(self.delay)
            last_start = float(scans.shape[0] - 1) * float(self.step) + delay
            raise ValueError(
                f"X has {n_scans} scans per clip ({n_scans * tr:g} s at tr={tr:g}) but the "
                f"last window, [{last_start:g}, {last_start + float(self.window):g}) s with "
                f"delay={delay:g}, needs {n_needed} scans: include {n_needed - n_scans} "
                "trailing scan(s) after each clip, or reduce delay / clip_duration."
            )

    @staticmethod
    def _membership(scans, n_scans, dtype):
        """0/1 matrix ``(n_windows, n_scans)``: which scans each window sums."""
        membership = np.zeros((scans.shape[0], n_scans), dtype=dtype)
        for k, (first, stop) in enumerate(scans):
            membership[k, first:stop] = 1
        return membership

    def _validate_responses(self, X, *, reset):
        """:func:`validate_clips`, except that 3-D input is not scanned for NaN / inf here.

        At paper scale that scan is a full extra pass over the input (half the transform's
        time); :meth:`transform` checks each output tile instead, which every non-finite
        value of a scan that a window uses reaches (unused trailing scans cannot matter).
        """
        if _ndim(X) > 3:
            raise ValueError(
                "X must be 3-D (n_clips, n_scans, n_voxels) or 2-D (n_samples, n_voxels); got "
                f"an array of shape {np.shape(X)}."
            )
        if _ndim(X) != 3:
            return validate_clips(self, X, reset=reset)
        X3 = check_array(X, dtype=FLOAT_DTYPES, allow_nd=True, ensure_all_finite=False,
                         input_name="X")
        if X3.shape[1] == 0 or X3.shape[2] == 0:
            raise ValueError(f"X has an empty axis: shape {X3.shape}.")
        if reset:
            self.n_features_in_ = X3.shape[2]
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        elif X3.shape[2] != self.n_features_in_:
            raise ValueError(
                f"X has {X3.shape[2]} features, but TemporalWindowAligner is expecting "
                f"{self.n_features_in_} features as input (last axis)."
            )
        return X3, False

    def _check_2d_delay(self):
        if _check_seconds(self.delay, "delay", allow_zero=True) > 0:
            raise ValueError(
                f"delay={self.delay} shifts windows onto later scans, but 2-D input has one "
                "scan per sample and no scan axis: pass responses as (n_clips, n_scans, "
                "n_voxels) with trailing scans, or delay=0."
            )

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
        X3, was_2d = self._validate_responses(X, reset=True)
        if was_2d:
            _check_seconds(self.window, "window")
            _check_seconds(self.step, "step")
            self._check_2d_delay()
            self.clip_duration_ = _check_seconds(self.tr, "tr")
            self.window_scans_ = np.array([[0, 1]], dtype=np.int64)
        else:
            self.clip_duration_, self.window_scans_ = self._geometry(X3.shape[1])
        self.n_windows_ = self.window_scans_.shape[0]
        self.n_scans_ = X3.shape[1]
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
        X3, was_2d = self._validate_responses(X, reset=False)
        scans = self.window_scans_
        if not was_2d:
            self._check_enough_scans(scans, X3.shape[1])
        if X3.shape[1] != self.n_scans_:
            layout = "2-D input (one scan per sample)" if was_2d else (
                f"clips of {X3.shape[1]} scans")
            raise ValueError(
                f"X holds {layout}, but this TemporalWindowAligner was fitted on clips of "
                f"{self.n_scans_} scan(s): its {self.n_windows_} window(s) cover scans "
                f"{int(scans[0, 0])}..{int(scans[-1, 1]) - 1} of those clips. Refit it on "
                "clips of this length, or give clips of the fitted length."
            )
        if was_2d:
            self._check_2d_delay()
            return X3[:, 0, :].copy()
        n_needed = int(scans[-1, 1])
        membership = self._membership(scans, n_needed, X3.dtype)
        counts = (scans[:, 1] - scans[:, 0]).astype(X3.dtype)[:, np.newaxis]
        windows = np.empty((X3.shape[0], scans.shape[0], X3.shape[2]), dtype=X3.dtype)
        # Cache-sized tiles: each batched product streams its input once, and its output
        # tile is still in cache when divided by the scan counts. Summing with 0/1 weights
        # and then dividing is exact on constants and integer ramps, which multiplying by
        # rounded 1/n weights is not.
        for first_clip in range(0, X3.shape[0], _CLIP_BLOCK):
            # Memory-mapped responses (a cached study: 1.2 GB a subject at paper scale) are
            # streamed: the pages of the clips already averaged are let go of (they stay in
            # the file and the page cache), so the transform holds its output only.
            release_pages(X3)
            clips = slice(first_clip, first_clip + _CLIP_BLOCK)
            for first_voxel in range(0, X3.shape[2], _VOXEL_BLOCK):
                voxels = slice(first_voxel, first_voxel + _VOXEL_BLOCK)
                tile = windows[clips, :, voxels]
                # Overflow is reported by the error below, not as a warning.
                with np.errstate(over="ignore", invalid="ignore"):
                    np.matmul(membership, X3[clips, :n_needed, voxels], out=tile)
                    tile /= counts
                if not all_finite(tile):
                    last = first_clip + tile.shape[0] - 1
                    raise ValueError(
                        "X contains NaN or infinity (or values whose window sums overflow "
                        f"{X3.dtype}) in clips {first_clip}..{last}: clean or impute the "
                        "responses first."
                    )
        release_pages(X3)
        return windows

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.requires_fit = True
        return tags

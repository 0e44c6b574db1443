"""Offline audio embeddings from librosa: no weights, no network.

Both backends compute frame features once per clip (STFT with ``n_fft=2048`` and a hop of
525 samples at 22,050 Hz, i.e. 42 frames per second, so that 1.5, 5, 10 and 15 s are whole
numbers of hops) and summarise, for every window, the frames that lie entirely inside it:
a window's embedding depends on the window's samples only, exactly as if it had been cut
out first, without recomputing the overlapping parts of neighbouring windows.
"""

import functools

import numpy as np

from .._validation import all_finite

SAMPLE_RATE = 22050
N_FFT = 2048
HOP_LENGTH = 525
FRAME_RATE = SAMPLE_RATE / HOP_LENGTH

# Tempo search range of the rhythm features, in beats per minute.
_MIN_BPM, _MAX_BPM = 30.0, 300.0
_PRIOR_BPM = 120.0


def _frame_ranges(starts, length):
    """``[first, stop)`` frame indices fully inside each window of ``length`` samples."""
    first = -(-np.asarray(starts) // HOP_LENGTH)
    stop = (np.asarray(starts) + length - N_FFT) // HOP_LENGTH + 1
    if np.any(stop <= first):
        raise ValueError(
            f"windows of {length} samples ({length / SAMPLE_RATE:.3f} s) are shorter than "
            f"one {N_FFT}-sample analysis frame of the librosa backends: use a window of at "
            f"least {N_FFT / SAMPLE_RATE:.3f} s."
        )
    return first, stop


def _power_spectrogram(clips, n_frames):
    """``|STFT|**2`` of ``clips (n_clips, n_samples)``: ``(n_clips, 1 + N_FFT // 2, n_frames)``."""
    n_samples = (n_frames - 1) * HOP_LENGTH + N_FFT
    return stft_power(clips[:, :n_samples], N_FFT, HOP_LENGTH, center=False)


@functools.lru_cache(maxsize=4)
def _hann(n_fft):
    import librosa

    window = librosa.filters.get_window("hann", n_fft, fftbins=True)
    window.flags.writeable = False
    return window


# Frames transformed at a time: 64 frames of 2,048 float64 samples and their spectra (about
# 2 MiB) stay in cache, where librosa's whole-array window product and F-ordered writes of
# 4 frames at a time do not.
_STFT_BLOCK = 64


def stft_power(clips, n_fft, hop_length, *, center=False):
    """``np.abs(librosa.stft(clips, n_fft=n_fft, hop_length=hop_length, center=center)) ** 2``,
    bit for bit, in less time.

    The same arithmetic as librosa's (a float64 Hann window times float32 frames, a float64
    real FFT rounded to complex64, its float32 modulus squared; centring pads ``n_fft // 2``
    zeros at both ends, librosa's default ``pad_mode="constant"``), a block of frames of one
    clip at a time, and the same Fortran-ordered layout (sums over its frequency axis, e.g.
    a mel projection, then round as on librosa's).

    Parameters
    ----------
    clips : ndarray of shape (n_clips, n_samples)
        float32 waveforms.
    n_fft : int
        Frame length.
    hop_length : int
        Samples between frame starts.
    center : bool, default=False
        Centre the frames on ``t * hop_length`` (zero padding), as librosa's default.

    Returns
    -------
    power : ndarray of shape (n_clips, 1 + n_fft // 2, n_frames)
        float32, Fortran-ordered.

    Examples
    --------
    >>> import librosa
    >>> import numpy as np
    >>> from skbrainmusic.embeddings._librosa import stft_power
    >>> clips = np.random.default_rng(0).standard_normal((2, 8000)).astype(np.float32)
    >>> power = stft_power(clips, 512, 128, center=True)
    >>> reference = np.abs(librosa.stft(clips, n_fft=512, hop_length=128)) ** 2
    >>> bool(np.array_equal(power, reference))
    True
    """
    import librosa

    # librosa's own FFT library (numpy.fft unless librosa.set_fftlib chose another), so that
    # the spectra round as librosa's do whatever the versions
    rfft = librosa.get_fftlib().rfft
    clips = np.asarray(clips)
    if clips.ndim != 2 or clips.dtype != np.float32:
        raise ValueError(f"clips must be a 2-D float32 array (n_clips, n_samples); got "
                         f"{clips.ndim} dimensions of {clips.dtype}.")
    if not all_finite(clips):
        # librosa refuses them too: one NaN would spread over its frames' whole spectrum.
        raise ValueError("clips hold NaN or infinite samples: give finite waveforms.")
    if center:
        clips = np.pad(clips, ((0, 0), (n_fft // 2, n_fft // 2)))
    if clips.shape[1] < n_fft:
        raise ValueError(f"clips of {clips.shape[1]} samples are shorter than one frame "
                         f"(n_fft={n_fft}).")
    frames = np.lib.stride_tricks.sliding_window_view(clips, n_fft, axis=1)[:, ::hop_length]
    window = _hann(n_fft)
    n_clips, n_frames = frames.shape[:2]
    power = np.empty((n_clips, 1 + n_fft // 2, n_frames), np.float32, order="F")
    for clip in range(n_clips):
        for start in range(0, n_frames, _STFT_BLOCK):
            block = slice(start, start + _STFT_BLOCK)
            spectrum = rfft(window * frames[clip, block], axis=-1).astype(np.complex64)
            power[clip, :, block] = (np.abs(spectrum) ** 2).T
    return power


@functools.lru_cache(maxsize=4)
def _mel_basis(n_mels):
    import librosa

    return librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=n_mels).astype(np.float32)


def _log_mel(power, n_mels):
    """Mel power in dB (``10 log10``, floor 1e-10) -> ``(n_clips, n_mels, n_frames)``.

    No ``top_db`` clipping: it is relative to the clip's maximum and would let one window's
    embedding depend on the rest of the clip.
    """
    mel = np.einsum("mf,cft->cmt", _mel_basis(n_mels), power, optimize=True)
    return 10.0 * np.log10(np.maximum(mel, 1e-10))


class MelBackend:
    """A.1.9's mel-spectrogram embedding: the mean log-mel spectrum (dB) of each window.

    ``d = 128`` (mel bands of librosa's Slaney filter bank up to 11,025 Hz).
    """

    default_window = 10.0
    sample_rate = SAMPLE_RATE
    n_mels = 128

    def settings(self):
        return {"features": "mel", "n_mels": self.n_mels, "n_fft": N_FFT, "hop": HOP_LENGTH}

    def embed(self, clips, starts, length):
        first, stop = _frame_ranges(starts, length)
        log_mel = _log_mel(_power_spectrogram(clips, int(stop[-1])), self.n_mels)
        windows = [log_mel[:, :, a:b].mean(axis=2) for a, b in zip(first, stop)]
        return np.stack(windows, axis=1).astype(np.float32)


class LibrosaBackend:
    """Timbre, harmony and rhythm statistics of each window (the offline default).

    Per window, over the frames inside it, ``d = 210`` features in this order:

    ========  =====================================================  ====
    slice     feature                                                 d
    ========  =====================================================  ====
    0:64      mean log-mel spectrum (dB, 64 bands)                    64
    64:128    standard deviation of the log-mel spectrum              64
    128:148   mean MFCC 0-19                                          20
    148:168   standard deviation of the MFCCs                         20
    168:180   mean chroma (12 pitch classes, no tuning estimate)      12
    180:192   standard deviation of the chroma                        12
    192:199   mean spectral contrast (6 bands + valley)               7
    199:206   standard deviation of the spectral contrast             7
    206:210   onset flux mean, flux std, tempo (BPM), pulse clarity   4
    ========  =====================================================  ====

    The onset flux is the mean positive log-mel difference between consecutive frames; the
    tempo is the lag of the flux autocorrelation peak between 30 and 300 BPM, weighted by a
    log-normal prior around 120 BPM, and the pulse clarity the autocorrelation there relative
    to lag 0 (both 0 for a flat flux, e.g. silence).
    """

    default_window = 10.0
    sample_rate = SAMPLE_RATE
    n_mels = 64
    n_mfcc = 20
    dim = 210

    def settings(self):
        return {"features": "librosa", "n_mels": self.n_mels, "n_mfcc": self.n_mfcc,
                "n_fft": N_FFT, "hop": HOP_LENGTH}

    def embed(self, clips, starts, length):
        import librosa
        import scipy.fft

        first, stop = _frame_ranges(starts, length)
        power = _power_spectrogram(clips, int(stop[-1]))
        log_mel = _log_mel(power, self.n_mels)
        mfcc = scipy.fft.dct(log_mel, type=2, norm="ortho", axis=1)[:, : self.n_mfcc]
        chroma = librosa.feature.chroma_stft(S=power, sr=SAMPLE_RATE, n_fft=N_FFT, tuning=0.0)
        contrast = _spectral_contrast(np.sqrt(power))
        frame_features = np.concatenate([log_mel, mfcc, chroma, contrast], axis=1)
        # flux[..., j] compares frames j and j + 1.
        flux = np.maximum(np.diff(log_mel, axis=2), 0).mean(axis=1)
        windows = []
        for a, b in zip(first, stop):
            frames = frame_features[:, :, a:b]
            window_flux = flux[:, a : b - 1]
            windows.append(np.concatenate(
                [_interleave_stats(frames, self), _rhythm(window_flux)], axis=1
            ))
        return np.stack(windows, axis=1).astype(np.float32)


def _spectral_contrast(magnitude, n_bands=6, fmin=200.0, quantile=0.02):
    """Octave-band spectral contrast (Jiang et al. 2002) -> ``(n_clips, n_bands + 1, n_frames)``.

    The band layout of ``librosa.feature.spectral_contrast``, whose dB conversion clips at
    80 dB below the maximum of the whole input array and so makes a clip's features depend
    on the other clips of its batch; here each frame's contrast depends on that frame only.
    """
    import librosa

    frequencies = librosa.fft_frequencies(sr=SAMPLE_RATE, n_fft=N_FFT)
    edges = np.zeros(n_bands + 2)
    edges[1:] = fmin * 2.0 ** np.arange(n_bands + 1)
    shape = magnitude.shape[:-2] + (n_bands + 1, magnitude.shape[-1])
    peak, valley = np.empty(shape, magnitude.dtype), np.empty(shape, magnitude.dtype)
    for k, (low, high) in enumerate(zip(edges[:-1], edges[1:])):
        band = (frequencies >= low) & (frequencies <= high)
        indices = np.flatnonzero(band)
        if k > 0:
            band[indices[0] - 1] = True
        if k == n_bands:
            band[indices[-1] + 1 :] = True
        sub_band = magnitude[..., band, :]
        if k < n_bands:
            sub_band = sub_band[..., :-1, :]
        n_quantile = max(int(np.rint(quantile * band.sum())), 1)
        ordered = np.sort(sub_band, axis=-2)
        valley[..., k, :] = ordered[..., :n_quantile, :].mean(axis=-2)
        peak[..., k, :] = ordered[..., -n_quantile:, :].mean(axis=-2)
    return 10.0 * (np.log10(np.maximum(peak, 1e-10)) - np.log10(np.maximum(valley, 1e-10)))


def _interleave_stats(frames, backend):
    """Means and standard deviations over frames, grouped per feature family (see table)."""
    sizes = [backend.n_mels, backend.n_mfcc, 12, 7]
    mean, std = frames.mean(axis=2), frames.std(axis=2)
    parts, offset = [], 0
    for size in sizes:
        parts += [mean[:, offset : offset + size], std[:, offset : offset + size]]
        offset += size
    return np.concatenate(parts, axis=1)


def _rhythm(flux):
    """Flux mean, flux std, tempo (BPM) and pulse clarity of ``flux (n_clips, n_frames)``."""
    n_clips, n_frames = flux.shape
    centred = flux - flux.mean(axis=1, keepdims=True)
    n_fft = 1 << int(np.ceil(np.log2(2 * max(n_frames, 1))))
    spectrum = np.fft.rfft(centred, n=n_fft, axis=1)
    autocorr = np.fft.irfft(np.abs(spectrum) ** 2, n=n_fft, axis=1)[:, :n_frames]
    min_lag = int(np.ceil(60.0 * FRAME_RATE / _MAX_BPM))
    max_lag = min(int(60.0 * FRAME_RATE / _MIN_BPM), n_frames - 1)
    tempo = np.zeros(n_clips)
    clarity = np.zeros(n_clips)
    if max_lag >= min_lag:
        lags = np.arange(min_lag, max_lag + 1)
        # A log-normal prior around 120 BPM (one octave wide, as librosa's beat tracker)
        # settles the metrical level that autocorrelation alone leaves ambiguous.
        prior = np.exp(-0.5 * np.log2(60.0 * FRAME_RATE / lags / _PRIOR_BPM) ** 2)
        best = np.argmax(autocorr[:, min_lag : max_lag + 1] * prior, axis=1)
        energy = autocorr[:, 0]
        # A flat flux (e.g. silence) has no pulse: both stay 0 instead of becoming NaN.
        pulsed = energy > 1e-12 * np.maximum(1.0, np.abs(flux).max(axis=1)) ** 2
        peak = autocorr[np.arange(n_clips), min_lag + best]
        tempo = np.where(pulsed, 60.0 * FRAME_RATE / lags[best], 0.0)
        clarity = np.where(pulsed, peak / np.where(pulsed, energy, 1.0), 0.0)
    return np.stack([flux.mean(axis=1), flux.std(axis=1), tempo, clarity], axis=1)

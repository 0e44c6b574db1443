"""Offline modulation-spectrum embedding: how fast the loudness of each frequency region moves.

The ``"librosa"`` backend summarises the *spectrum* of each window (log-mel, MFCC, chroma,
spectral contrast: means and standard deviations over frames) and its rhythm by one onset
flux, one tempo and one pulse clarity. The modulation power spectrum is another feature
family (Chi, Ru and Shamma 2005; Singh and Theunissen 2003): the spectrum of the *envelope*
of each frequency band, i.e. how much the loudness of that band fluctuates at every rate,
from slow phrasing and swells (0.5-2 Hz) through beats and notes (2-10 Hz) to tremolo and
roughness (10-20 Hz). It sees the order of frames, which frame means and deviations do not,
and it separates rhythm per frequency region (a bass line at 2 Hz under hi-hats at 8 Hz)
where the onset flux sums all bands. It is the second evaluation embedding of generated
music: one whose features the conditioning embedding does not use.

Frames are those of the librosa backends (STFT ``n_fft=2048``, hop 525 samples at 22,050 Hz,
42 frames per second, so modulations up to 21 Hz are resolved), and a window's features use
the frames entirely inside it only.
"""

import numpy as np

from ._librosa import (
    FRAME_RATE,
    HOP_LENGTH,
    N_FFT,
    SAMPLE_RATE,
    _frame_ranges,
    _log_mel,
    _power_spectrogram,
)

# Modulation-rate bands: 8 bands of 2/3 octave between 0.5 and 20 Hz (edges 0.5, 0.79, 1.26,
# 2.0, 3.2, 5.0, 7.9, 12.6, 20 Hz). The frame rate (42 Hz) bounds the top; a 10 s window
# holds 5 cycles of the slowest rate.
RATE_EDGES = np.geomspace(0.5, 20.0, 9)
# The envelope spectrum is zero-padded to at least this many frames (12 s, 0.08 Hz bins), so
# that the slowest band of a short window still holds FFT bins: there the estimate is a
# smoothed one, since a 1.5 s window cannot resolve 0.5 Hz.
_MIN_MODULATION_FFT = 512
# Power floor (squared dB units) of a band without modulation, e.g. a constant tone or
# silence: -100 dB instead of log(0).
_POWER_FLOOR = 1e-10


def modulation_power(envelopes, frame_rate=FRAME_RATE, rate_edges=RATE_EDGES):
    """Mean modulation power (dB) of every envelope in every modulation-rate band.

    Each envelope is centred, tapered by a Hann window and Fourier transformed; its power
    spectral density (normalised by the taper's energy, so windows of any length are on
    one scale) is averaged over the FFT bins of each rate band ``[rate_edges[k],
    rate_edges[k + 1])``.

    Parameters
    ----------
    envelopes : ndarray of shape (..., n_frames)
        Envelopes sampled at ``frame_rate`` (e.g. band energies in dB).
    frame_rate : float, default=FRAME_RATE
        Samples per second of the envelopes (42 Hz for the librosa backends' frames).
    rate_edges : array-like of shape (n_rates + 1,), default=RATE_EDGES
        Increasing edges of the rate bands in Hz, below ``frame_rate / 2``.

    Returns
    -------
    power : ndarray of shape (..., n_rates)
        ``10 log10`` of the mean power in each band (floor 1e-10, i.e. -100 dB).

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic.embeddings._modulation import RATE_EDGES, modulation_power
    >>> t = np.arange(420) / 42.0
    >>> power = modulation_power(np.sin(2 * np.pi * 4.0 * t))
    >>> float(RATE_EDGES[power.argmax()]) <= 4.0 < float(RATE_EDGES[power.argmax() + 1])
    True
    """
    envelopes = np.asarray(envelopes, dtype=np.float64)
    n_frames = envelopes.shape[-1]
    taper = np.hanning(n_frames) if n_frames > 1 else np.ones(1)
    centred = envelopes - envelopes.mean(axis=-1, keepdims=True)
    n_fft = max(_MIN_MODULATION_FFT, 1 << int(np.ceil(np.log2(n_frames))))
    spectrum = np.abs(np.fft.rfft(centred * taper, n=n_fft, axis=-1)) ** 2 / np.sum(taper**2)
    rates = np.fft.rfftfreq(n_fft, d=1.0 / frame_rate)
    bands = [spectrum[..., (rates >= low) & (rates < high)].mean(axis=-1)
             for low, high in zip(rate_edges[:-1], rate_edges[1:])]
    return 10.0 * np.log10(np.maximum(np.stack(bands, axis=-1), _POWER_FLOOR))


class ModulationBackend:
    """Modulation power spectrum of log-mel band envelopes in each window.

    The 64 log-mel bands (dB) of every frame are averaged into 8 spectral bands of 8 mel
    bands each (centres from about 100 Hz to 8 kHz, equally spaced on the mel scale): each
    band's envelope over the frames of a window gives its modulation power (dB) in 8 rate
    bands of 2/3 octave from 0.5 to 20 Hz (:func:`modulation_power`), ``d = 64`` features
    ordered spectral band first: feature ``8 * b + r`` is spectral band ``b`` (0 = lowest)
    at rate band ``r`` (0 = slowest, edges :data:`RATE_EDGES`).

    The envelopes are in dB, so a band's modulation power does not depend on its overall
    loudness, only on how much it fluctuates. A window shorter than two periods of a rate
    (e.g. 0.5-1.3 Hz in a 1.5 s window) does not resolve it: those features are smoothed
    across neighbouring rates.
    """

    default_window = 10.0
    sample_rate = SAMPLE_RATE
    n_mels = 64
    n_bands = 8
    dim = n_bands * (len(RATE_EDGES) - 1)

    def settings(self):
        return {"features": "modulation", "n_mels": self.n_mels, "n_bands": self.n_bands,
                "rate_edges": RATE_EDGES.tolist(), "n_fft": N_FFT, "hop": HOP_LENGTH}

    def embed(self, clips, starts, length):
        first, stop = _frame_ranges(starts, length)
        log_mel = _log_mel(_power_spectrogram(clips, int(stop[-1])), self.n_mels)
        n_clips, _, n_frames = log_mel.shape
        envelopes = log_mel.reshape(n_clips, self.n_bands, self.n_mels // self.n_bands,
                                    n_frames).mean(axis=2)
        windows = [modulation_power(envelopes[:, :, a:b]).reshape(n_clips, self.dim)
                   for a, b in zip(first, stop)]
        return np.stack(windows, axis=1).astype(np.float32)

"""Stimulus preparation shared by the synthetic study and the GTZAN loader (ds003720 style)."""

import numpy as np

SAMPLE_RATE = 22050
CLIP_DURATION = 15.0
FADE_DURATION = 2.0
# RMS of every prepared clip: leaves headroom below full scale for the loudest genres.
TARGET_RMS = 0.05


def prepare_clips(audio, sample_rate=SAMPLE_RATE, fade=FADE_DURATION, target_rms=TARGET_RMS):
    """Apply quarter-sine fades and RMS normalisation, as done for the ds003720 stimuli.

    Parameters
    ----------
    audio : ndarray of shape (n_clips, n_samples) or (n_samples,)
        Mono waveforms.
    sample_rate : int, default=22050
        Sampling rate of ``audio`` in Hz.
    fade : float, default=2.0
        Duration in seconds of the fade-in and of the fade-out (a quarter sine period).
    target_rms : float, default=0.05
        Root mean square of every returned clip. Silent clips stay silent.

    Returns
    -------
    prepared : ndarray of float32, same shape as ``audio``
        Faded, normalised waveforms.
    """
    audio = np.array(audio, dtype=np.float32, copy=True)
    n_samples = audio.shape[-1]
    n_fade = min(int(round(fade * sample_rate)), n_samples // 2)
    ramp = np.sin(0.5 * np.pi * np.arange(n_fade) / n_fade).astype(np.float32)
    audio[..., :n_fade] *= ramp
    audio[..., n_samples - n_fade:] *= ramp[::-1]
    rms = np.sqrt(np.mean(np.square(audio, dtype=np.float64), axis=-1, keepdims=True))
    scale = np.divide(target_rms, rms, out=np.zeros_like(rms), where=rms > 0)
    audio *= scale.astype(np.float32)
    return audio

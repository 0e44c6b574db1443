"""Musical attributes estimated from audio, so that a generator fits on any corpus.

Tempo by librosa's estimator (the one its beat tracker starts from), key and mode by chroma
key profiles (Albrecht-Shanahan, with the tuning estimated first), rhythmic density as onsets
per eighth note, the tonal balance as the mean log power in 64 mel bands, loudness as the
root mean square, and, given a fitted :class:`~skbrainmusic.tagging.AudioTagger`, instrument
and mood probabilities.

The audio-derived attributes take about 27 ms of CPU a 15 s clip at 22,050 Hz (two STFTs,
the tuning, the tempo; every spectrogram serves all the features computed on its frames):
about a minute of CPU for a corpus of 2,000 clips, on every fit. Given a ``cache``
directory they are stored per clip (:class:`~skbrainmusic.embeddings._cache.EmbeddingCache`:
keyed by the clip's samples, its sample rate and the settings below, written atomically,
CRC-checked), so a corpus is analysed once. The tagger's probabilities are not cached: its
embedder has its own cache, and its classifier costs about 1 ms a clip.
"""

from functools import lru_cache, partial

import numpy as np
import pandas as pd

from ..composer import _BAND_HOP, _BAND_N_FFT, _BAND_TOP_DB, _band_filters, _band_levels
from ..embeddings._audio import _is_path
from ..embeddings._cache import EmbeddingCache
from ..metrics import AUDIOSET_GROUPS

# Albrecht & Shanahan (2013) key profiles, tonic first: pitch-class distributions of a
# corpus of major and minor pieces. On the synthetic study's corpus they find the tonic
# of 68% of the clips against 43% for Krumhansl & Kessler's probe-tone ratings.
MAJOR_PROFILE = np.array([0.238, 0.006, 0.111, 0.006, 0.137, 0.094, 0.016, 0.214, 0.009,
                          0.080, 0.008, 0.081])
MINOR_PROFILE = np.array([0.220, 0.006, 0.104, 0.123, 0.019, 0.103, 0.012, 0.214, 0.062,
                          0.022, 0.061, 0.052])
# Clips whose attributes are estimated at once.
_ESTIMATE_BATCH = 64
N_BANDS = 64
# Frames of the chroma (and the tuning), and of the onset strength (librosa's defaults).
_N_FFT, _HOP = 4096, 2048
_ONSET_N_FFT, _ONSET_HOP = 2048, 512
# Clips given to the tagger at once.
_BATCH = 16
# The attributes estimated from audio alone, in the order of their cached vectors.
AUDIO_ATTRIBUTES = ["tempo", "tonic", "major", *(f"chroma_{k}" for k in range(12)), "density",
                    *(f"envelope_{k}" for k in range(N_BANDS)), "loudness"]
# Bump when unchanged settings would estimate different attributes (a change of the
# estimation code, of band_envelope's bands...): cached vectors of older formats are never read.
_ATTRIBUTE_FORMAT = 1


def _profiles():
    """The 24 key profiles ``(24, 12)``: C..B major, then C..B minor, z-scored."""
    rows = [np.roll(profile, tonic) for profile in (MAJOR_PROFILE, MINOR_PROFILE)
            for tonic in range(12)]
    rows = np.asarray(rows)
    return (rows - rows.mean(axis=1, keepdims=True)) / rows.std(axis=1, keepdims=True)


def key_scores(chroma):
    """Correlation of every chroma vector with the 24 key profiles.

    Parameters
    ----------
    chroma : array-like of shape (n_clips, 12)
        Mean chroma (pitch class C first, non-negative); compared through its square root,
        which keeps loud bass notes from dominating.

    Returns
    -------
    scores : ndarray of shape (n_clips, 24)
        Columns 0-11: C..B major; 12-23: C..B minor.
    """
    chroma = np.atleast_2d(np.asarray(chroma, dtype=np.float64))
    if chroma.shape[-1] != 12:
        raise ValueError(f"chroma must have 12 pitch classes on its last axis; got shape "
                         f"{chroma.shape}.")
    chroma = np.sqrt(np.maximum(chroma, 0.0))
    centred = chroma - chroma.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(centred, axis=1, keepdims=True)
    centred = np.divide(centred, norm, out=np.zeros_like(centred), where=norm > 0)
    return centred @ _profiles().T / np.sqrt(12.0)


def key_from_chroma(chroma):
    """Tonic (0-11, C = 0), mode (True = major) and the 24 key scores of chroma vectors
    (Krumhansl-Schmuckler's method with Albrecht & Shanahan's profiles)."""
    scores = key_scores(chroma)
    best = scores.argmax(axis=1)
    return best % 12, best < 12, scores


def tagger_groups(tagger, audio, sample_rate):
    """Instrument and mood probabilities of a fitted tagger, as two DataFrames.

    Only the tagger's classes of the paper's instrument and mood groups are kept; a group
    the tagger does not know gives a DataFrame without columns.
    """
    # A batch of clips at a time: the tagger's spectrograms of a whole corpus would not fit
    # in memory (2,000 clips of 15 s: about 5 GB).
    proba = np.concatenate([
        np.asarray(tagger.predict_proba(audio[start:start + _BATCH], sample_rate=sample_rate))
        for start in range(0, len(audio), _BATCH)])
    classes = list(tagger.classes_)
    groups = []
    for group in ("instruments", "moods"):
        names = [c for c in classes if c in AUDIOSET_GROUPS[group]]
        groups.append(pd.DataFrame(proba[:, [classes.index(c) for c in names]], columns=names))
    return groups


def estimate_attributes(audio, sample_rate, *, tagger=None, cache=None):
    """Musical attributes of every clip, estimated from its audio.

    Parameters
    ----------
    audio : array-like of shape (n_clips, n_samples)
        Waveforms.
    sample_rate : int
        Sample rate of ``audio`` in Hz.
    tagger : AudioTagger, default=None
        Fitted tagger giving instrument and mood probabilities (AudioSet names).
    cache : str or path-like, default=None
        Directory where the attributes estimated from audio alone (all but the tagger's) are
        cached, one file per clip keyed by its samples (as float32), its sample rate, the
        estimation settings and librosa's version: a clip seen before is read back, not
        analysed again, with the same values. A corrupt file is reported with a
        ``RuntimeWarning`` and estimated again. ``None``: no cache.

    Returns
    -------
    attributes : DataFrame
        One row per clip: ``tempo`` (BPM), ``tonic`` (0-11), ``major`` (bool),
        ``chroma_0`` .. ``chroma_11`` (mean chroma, sum 1), ``density`` (onsets per eighth
        note), ``envelope_0`` .. ``envelope_63`` (tonal balance: mean log power (dB) in 64 mel
        bands, see :func:`skbrainmusic.composer.band_envelope`), ``loudness`` (RMS), and
        with a tagger
        ``instrument:<class>`` and ``mood:<class>`` probabilities.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from skbrainmusic.generation._attributes import estimate_attributes
    >>> t = np.arange(4 * 22050) / 22050
    >>> # The A major scale, its tonic triad louder.
    >>> steps, weights = [0, 2, 4, 5, 7, 9, 11], [3, 1, 2, 1, 2, 1, 1]
    >>> a_major = sum(w * np.sin(2 * np.pi * 220.0 * 2 ** (k / 12) * t)
    ...               for k, w in zip(steps, weights))
    >>> with tempfile.TemporaryDirectory() as cache:
    ...     attributes = estimate_attributes(a_major[None], 22050, cache=cache)
    ...     again = estimate_attributes(a_major[None], 22050, cache=cache)  # read back
    >>> int(attributes.tonic[0]), bool(attributes.major[0])
    (9, True)
    >>> again.equals(attributes)
    True
    """
    from .._batches import map_batches
    from ..tagging import _check_sample_rate, check_audio

    sample_rate = _check_sample_rate(sample_rate)
    attribute_cache = attribute_cache_of(cache)
    if not hasattr(audio, "shape") or np.ndim(audio) != 2 or len(audio) == 0:
        audio = check_audio(audio)  # raises on an empty or ragged input
    # A batch at a time (in parallel under joblib's parallel_config): a corpus
    # (memory-mapped, e.g. 2,000 clips of 15 s: 2.6 GB) is never checked, converted or held
    # whole.
    return pd.concat(map_batches(partial(_estimate_batch, sample_rate=sample_rate,
                                         tagger=tagger, cache=attribute_cache),
                                 audio, _ESTIMATE_BATCH),
                     ignore_index=True)


def attribute_cache_of(cache):
    """The :class:`~skbrainmusic.embeddings._cache.EmbeddingCache` of the attributes in the
    directory ``cache`` (``None`` for ``None``); a clear ``TypeError`` for anything else."""
    if cache is None:
        return None
    if not _is_path(cache):
        raise TypeError(f"cache must be a directory path (str or path-like) or None, got "
                        f"{cache!r}.")
    import librosa

    return EmbeddingCache(cache, {
        "attributes": _ATTRIBUTE_FORMAT, "librosa": librosa.__version__, "n_fft": _N_FFT,
        "hop": _HOP, "n_bands": N_BANDS, "major_profile": MAJOR_PROFILE.tolist(),
        "minor_profile": MINOR_PROFILE.tolist(), "columns": AUDIO_ATTRIBUTES,
        "onset": [_ONSET_N_FFT, _ONSET_HOP], "band": [_BAND_N_FFT, _BAND_HOP, _BAND_TOP_DB],
        "numpy": np.__version__,
    }, dtype=np.float64)


def _estimate_batch(audio, sample_rate, tagger, cache):
    from ..tagging import check_audio

    audio = check_audio(audio)
    values = np.empty((len(audio), len(AUDIO_ATTRIBUTES)))
    missing = list(range(len(audio)))
    if cache is not None:
        keys = [cache.key(clip, sample_rate) for clip in audio]
        missing = []
        for index, key in enumerate(keys):
            found = cache.load(key)
            if found is None:
                missing.append(index)
            else:
                values[index] = found
    if missing:
        # Without hits the batch is analysed as it is (no copy of 64 clips of audio).
        values[missing] = _audio_attributes(
            audio if len(missing) == len(audio) else audio[missing], sample_rate)
        if cache is not None:
            for index in missing:
                cache.save(keys[index], values[index])
    # Cached or not, the table is built from the same float64 vectors: identical results.
    table = pd.DataFrame(values, columns=AUDIO_ATTRIBUTES).astype({"tonic": int,
                                                                    "major": bool})
    if tagger is not None:
        instruments, moods = tagger_groups(tagger, audio, sample_rate)
        table = pd.concat([table, instruments.add_prefix("instrument:"),
                           moods.add_prefix("mood:")], axis=1)
    return table


def _audio_attributes(audio, sample_rate):
    """The attributes of :data:`AUDIO_ATTRIBUTES` ``(n_clips, n_attributes)`` float64, of
    float32 waveforms ``(n_clips, n_samples)``, clip by clip.

    Clip by clip: a batched STFT and band sum round differently with other clips beside, and
    a clip's attributes (cached by its samples alone) must not depend on the batch it came
    in. The filter banks depend on the sample rate alone: built once a batch.
    """
    import librosa

    onset_filters = librosa.filters.mel(sr=sample_rate, n_fft=_ONSET_N_FFT,
                                        fmax=0.5 * sample_rate)
    envelope_filters = _band_filters(sample_rate, N_BANDS)
    values = np.array([_clip_attributes(clip, sample_rate, onset_filters, envelope_filters)
                       for clip in np.asarray(audio, dtype=np.float32)])
    tempo, onsets = values[:, 0], values[:, 1]
    chroma, envelope, loudness = values[:, 2:14], values[:, 14:-1], values[:, -1]
    tonic, major, _ = key_from_chroma(chroma)
    eighths_per_second = np.maximum(tempo, 1.0) / 30.0
    density = onsets / (audio.shape[1] / sample_rate) / eighths_per_second
    return np.column_stack([tempo, tonic, major, chroma, density, envelope, loudness])


def _clip_attributes(clip, sample_rate, onset_filters, envelope_filters):
    """Tempo (BPM, 0 without onsets), number of onsets, mean chroma (sum 1), band envelope
    and RMS of one float32 clip, as one float64 vector.

    Every spectrogram serves all the features computed with its frames, with librosa's own
    operations in librosa's order, so the values are those of the straightforward calls
    (``onset_strength(y=clip)`` for both the tempo and the onsets, ``band_envelope(clip)``,
    ``chroma_stft(S=power, tuning=tuning)``), without computing anything twice.
    """
    import librosa

    # librosa's onset strength of mel power in dB (``onset_strength(y=clip)``), whose STFT
    # frames also hold band_envelope's: every other one.
    power = np.abs(librosa.stft(clip, n_fft=_ONSET_N_FFT, hop_length=_ONSET_HOP)) ** 2
    mel = np.einsum("...ft,mf->...mt", power, onset_filters, optimize=True)
    strength = librosa.onset.onset_strength(S=librosa.power_to_db(np.abs(mel)), sr=sample_rate)
    # beat_track's tempo without its beats (which nothing uses): the same estimate.
    tempo = (float(librosa.feature.tempo(onset_envelope=strength, sr=sample_rate)[0])
             if strength.any() else 0.0)
    onsets = len(librosa.onset.onset_detect(onset_envelope=strength, sr=sample_rate))
    # Fortran order, as librosa's STFT returns it: the band sums round as band_envelope's.
    envelope = _band_levels(np.asfortranarray(power[np.newaxis, :, ::_BAND_HOP // _ONSET_HOP]),
                            envelope_filters, _BAND_TOP_DB)[0]
    # Chroma of longer frames, the tuning estimated first (chroma_stft without its
    # normalisation, norm=None, and with a filter bank built once per tuning).
    power = np.abs(librosa.stft(clip, n_fft=_N_FFT, hop_length=_HOP)) ** 2
    tuning = librosa.estimate_tuning(S=power, sr=sample_rate, n_fft=_N_FFT)
    chroma = np.einsum("cf,...ft->...ct", _chroma_filters(sample_rate, tuning), power,
                       optimize=True).mean(axis=1)
    chroma = chroma / max(chroma.sum(), 1e-12)
    loudness = np.sqrt(np.mean(np.square(clip, dtype=np.float64)))
    return np.concatenate([[tempo, onsets], chroma, envelope, [loudness]])


@lru_cache(maxsize=256)
def _chroma_filters(sample_rate, tuning):
    """librosa's chroma filter bank ``(12, 1 + _N_FFT // 2)`` for a tuning (in fractions of
    a bin: the estimates take at most 100 values)."""
    import librosa

    return librosa.filters.chroma(sr=sample_rate, n_fft=_N_FFT, tuning=tuning)

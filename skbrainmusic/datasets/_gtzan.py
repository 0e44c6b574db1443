"""Stimulus clips cut from the GTZAN audio files, prepared like the ds003720 stimuli."""

from pathlib import Path

import numpy as np

from ._audio import CLIP_DURATION, SAMPLE_RATE, prepare_clips


def _read_audio(path, sample_rate):
    import librosa
    import soundfile

    data, native_rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    audio = data.mean(axis=1)
    if native_rate != sample_rate:
        audio = librosa.resample(audio, orig_sr=native_rate, target_sr=sample_rate)
    return audio


def _track_path(root, genre, track):
    for ext in (".wav", ".au"):
        path = Path(root) / genre / f"{genre}.{int(track):05d}{ext}"
        if path.exists():
            return path
    return None


def _check_clip_table(clips):
    """Tracks must be file numbers >= 0 and starts finite seconds >= 0 (a negative start
    would read the end of the track); raise a ValueError naming the first bad row."""
    tracks = np.asarray(clips["track"], dtype=object)
    starts = np.asarray(clips["start"], dtype=object)
    for row, (track, start) in enumerate(zip(tracks, starts)):
        try:
            track_ok = float(track) == int(track) >= 0
            start_ok = np.isfinite(float(start)) and float(start) >= 0
        except (TypeError, ValueError, OverflowError):
            track_ok = start_ok = False
        if not (track_ok and start_ok):
            raise ValueError(
                f"clips row {row}: track {track!r} and start {start!r} must be a GTZAN file "
                "number >= 0 and a finite number of seconds >= 0.")


def load_gtzan_clips(gtzan_root, clips, *, sample_rate=SAMPLE_RATE, clip_duration=CLIP_DURATION):
    """Cut the stimulus clips out of the GTZAN tracks.

    Each clip is ``start`` .. ``start + clip_duration`` seconds of
    ``<gtzan_root>/<genre>/<genre>.000NN.wav`` (or ``.au``, the original release), mono,
    resampled to ``sample_rate``, with 2 s quarter-sine fades and RMS normalisation, as the
    ds003720 stimuli were made. A clip that runs past the end of its track (GTZAN tracks
    are about 30 s; ``end - start`` is 15 or 14.99 s in ds003720) is zero-padded to the
    full length.

    Parameters
    ----------
    gtzan_root : str or path-like
        Folder holding one sub-folder per genre (``genres_original`` in the Kaggle
        release, ``genres`` in the original one).
    clips : DataFrame
        Clips with columns ``genre``, ``track`` and ``start`` (seconds), e.g.
        ``study.clips_train`` from :func:`load_nakai2022`.
    sample_rate : int, default=22050
        Output sampling rate in Hz.
    clip_duration : float, default=15.0
        Clip length in seconds.

    Returns
    -------
    audio : ndarray of float32 of shape (n_clips, n_samples)
        ``n_samples = round(clip_duration * sample_rate)``.

    Raises
    ------
    ValueError
        Listing every missing or unreadable file at once, on one line (the Kaggle
        release's ``jazz.00054.wav`` is a known corrupt file); or naming a row whose track
        or start is negative or not a number.

    Examples
    --------
    >>> from skbrainmusic.datasets import load_gtzan_clips, load_nakai2022
    >>> study = load_nakai2022("ds003720", responses_dir="zenodo")  # doctest: +SKIP
    >>> audio = load_gtzan_clips("gtzan/genres_original", study.clips_test)  # doctest: +SKIP
    """
    missing_columns = [c for c in ("genre", "track", "start") if c not in clips.columns]
    if missing_columns:
        raise ValueError(f"clips lacks the column(s) {missing_columns}.")
    _check_clip_table(clips)
    n_samples = int(round(clip_duration * sample_rate))
    audio = np.zeros((len(clips), n_samples), np.float32)
    problems = []
    for i, (genre, track, start) in enumerate(zip(clips["genre"], clips["track"], clips["start"])):
        path = _track_path(gtzan_root, genre, track)
        if path is None:
            stem = Path(gtzan_root) / genre / f"{genre}.{int(track):05d}"
            problems.append(f"{stem}.wav/.au: missing")
            continue
        try:
            track_audio = _read_audio(path, sample_rate)
        except Exception as exc:  # soundfile / audioread raise many types on bad files
            problems.append(f"{path}: unreadable ({exc})")
            continue
        first = int(round(float(start) * sample_rate))
        segment = track_audio[first: first + n_samples]
        if segment.size == 0:
            problems.append(f"{path}: start {start} s is past the end of the track")
            continue
        audio[i, : segment.size] = segment
    if problems:
        # One line: command-line tools show the first line of an error.
        raise ValueError(
            f"{len(problems)} GTZAN file(s) could not be used: " + "; ".join(problems) + "."
        )
    return prepare_clips(audio, sample_rate)

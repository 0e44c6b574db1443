"""The Free Music Archive (FMA) as a retrieval corpus: metadata now, audio on demand."""

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ._audio import CLIP_DURATION, SAMPLE_RATE, prepare_clips

_SUBSETS = ("small", "medium", "large", "full")
# Tracks whose MP3 holds no audio at all (erroneous metadata), confirmed by the FMA
# maintainers: github.com/mdeff/fma issues #41 and #44 and the repository wiki.
KNOWN_BROKEN_TRACKS = (99134, 108925, 133297)


class FMAAudio(Sequence):
    """The first seconds of FMA tracks, decoded only when indexed.

    ``audio[i]`` is a float32 waveform ``(n_samples,)``; ``audio[a:b]`` or
    ``audio[[i, j]]`` stack several into ``(k, n_samples)``. Every clip is mono,
    resampled to ``sample_rate``, zero-padded when the track is shorter, and prepared like
    the stimuli (quarter-sine fades, RMS normalisation).
    """

    def __init__(self, paths, sample_rate=SAMPLE_RATE, duration=CLIP_DURATION):
        self.paths = list(paths)
        self.sample_rate = sample_rate
        self.duration = duration

    def __len__(self):
        return len(self.paths)

    def _load(self, path):
        import librosa

        n_samples = int(round(self.duration * self.sample_rate))
        try:
            audio, _ = librosa.load(
                str(path), sr=self.sample_rate, mono=True, duration=self.duration
            )
        except Exception as exc:  # libsndfile / audioread raise many types on bad files
            raise ValueError(
                f"Cannot decode {path} ({exc}); pass its track id in load_fma(exclude=...)."
            ) from exc
        clip = np.zeros(n_samples, np.float32)
        clip[: min(n_samples, audio.size)] = audio[:n_samples]
        return prepare_clips(clip, self.sample_rate)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            return self._load(self.paths[index])
        positions = np.arange(len(self))[index]
        return np.stack([self._load(self.paths[i]) for i in positions])


def load_fma(root, subset="large", *, audio_dir=None, exclude=None, sample_rate=SAMPLE_RATE,
             duration=CLIP_DURATION):
    """Load the FMA metadata and a lazy view of the first 15 s of every track's audio.

    ``tracks.csv`` (two header rows) is read from ``<root>/fma_metadata/`` or ``<root>/``,
    the tracks of ``subset`` kept (``small`` is in ``medium``, which is in ``large``;
    ``full`` is every track), and audio expected at
    ``<audio_dir>/<tid[:3]>/<tid>.mp3`` with the six-digit track id ``tid``. Tracks known
    to hold no audio (:data:`KNOWN_BROKEN_TRACKS`) and ``exclude`` are skipped with a
    warning; other missing files are an error.

    Parameters
    ----------
    root : str or path-like
        FMA folder (with ``fma_metadata/tracks.csv`` or ``tracks.csv``).
    subset : {"small", "medium", "large", "full"}, default="large"
        Subset of tracks (the paper retrieves from ``large``).
    audio_dir : str or path-like, default=None
        Folder of the MP3s; default ``<root>/fma_<subset>``.
    exclude : iterable of int, default=None
        Further track ids to skip (e.g. files that fail to decode).
    sample_rate : int, default=22050
        Sampling rate of the decoded audio.
    duration : float, default=15.0
        Seconds decoded from the start of each track.

    Returns
    -------
    corpus : Bunch
        ``audio`` (:class:`FMAAudio`, length n_tracks, decoded on access), ``clips``
        (DataFrame: ``clip_id`` (track id), ``genre`` (top genre, may be empty),
        ``title``, ``artist``, ``path``), ``sample_rate``, ``skipped`` (track ids).

    Examples
    --------
    >>> from skbrainmusic.datasets import load_fma
    >>> corpus = load_fma("fma", subset="small")  # doctest: +SKIP
    >>> corpus.audio[0].shape  # doctest: +SKIP
    (330750,)
    """
    if subset not in _SUBSETS:
        raise ValueError(f"subset must be one of {_SUBSETS}; got {subset!r}.")
    root = Path(root)
    candidates = [root / "fma_metadata" / "tracks.csv", root / "tracks.csv"]
    csv_path = next((p for p in candidates if p.exists()), None)
    if csv_path is None:
        raise ValueError(f"No tracks.csv in {candidates[0].parent} or {root}.")
    try:
        tracks = pd.read_csv(csv_path, index_col=0, header=[0, 1], low_memory=False)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise ValueError(f"Cannot read {csv_path}: {exc}") from exc
    needed = [("set", "subset"), ("track", "genre_top"), ("track", "title"), ("artist", "name")]
    missing = [column for column in needed if column not in tracks.columns]
    if missing:
        raise ValueError(
            f"{csv_path} lacks the column(s) {missing}; is it FMA's tracks.csv (two header rows)?"
        )
    if subset != "full":
        allowed = _SUBSETS[: _SUBSETS.index(subset) + 1]
        tracks = tracks[tracks[("set", "subset")].isin(allowed)]
    skip = set(KNOWN_BROKEN_TRACKS) | {int(t) for t in (exclude or ())}
    skipped = sorted(int(t) for t in tracks.index if int(t) in skip)
    if skipped:
        warnings.warn(
            f"Skipping FMA track(s) {skipped}: known to hold no audio or excluded.",
            UserWarning, stacklevel=2,
        )
        tracks = tracks[~tracks.index.isin(skipped)]
    audio_dir = Path(audio_dir) if audio_dir is not None else root / f"fma_{subset}"
    paths = [audio_dir / f"{int(t):06d}"[:3] / f"{int(t):06d}.mp3" for t in tracks.index]
    absent = [str(p) for p in paths if not p.exists()]
    if absent:
        raise ValueError(
            f"{len(absent)} of {len(paths)} MP3 file(s) of the {subset!r} subset are missing "
            f"under {audio_dir} (first: {absent[:5]}); pass audio_dir, or their ids in exclude."
        )
    clips = pd.DataFrame({
        "clip_id": tracks.index.astype(int),
        "genre": tracks[("track", "genre_top")].fillna("").astype(str).to_numpy(),
        "title": tracks[("track", "title")].fillna("").astype(str).to_numpy(),
        "artist": tracks[("artist", "name")].fillna("").astype(str).to_numpy(),
        "path": [str(p) for p in paths],
    })
    return Bunch(
        audio=FMAAudio(paths, sample_rate, duration),
        clips=clips,
        sample_rate=sample_rate,
        skipped=skipped,
    )

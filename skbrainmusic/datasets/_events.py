"""ds003720 events files, run layout and epoching, shared by the real loader and the simulation."""

from pathlib import Path

import numpy as np
import pandas as pd

from ._music import GENRES

EVENT_COLUMNS = ("onset", "duration", "genre", "track", "start", "end")
TR = 1.5
CLIP_DURATION = 15.0


def read_events(path):
    """Parse one ds003720 ``*_events.tsv`` file.

    The published files have CRLF line endings, no final newline and single-quoted genres
    with the leading quote missing on some rows (``classical'``); all of that is accepted.

    Parameters
    ----------
    path : str or path-like
        The events file.

    Returns
    -------
    events : DataFrame
        Columns ``onset``, ``duration``, ``start``, ``end`` (float), ``genre`` (str, one
        of the GTZAN ten), ``track`` (int, the GTZAN file number) and ``clip_id``
        (``"<genre>.<track:05d>"``, the GTZAN file name without extension).

    Raises
    ------
    ValueError
        Naming the file and line of a malformed row, including values that would silently
        select other data: a negative or non-finite onset (negative scan indices wrap
        around to the end of the run), duration, track number, start or end, or an end
        before the start.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"Cannot read the events file {path}: {exc}") from exc
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError(f"The events file {path} is empty.")
    header = [name.strip() for name in lines[0].split("\t")]
    missing = [name for name in EVENT_COLUMNS if name not in header]
    if missing:
        raise ValueError(f"{path} lacks the column(s) {missing}; its header is {header}.")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        cells = [cell.strip() for cell in line.split("\t")]
        if len(cells) != len(header):
            raise ValueError(
                f"{path}, line {number}: {len(cells)} fields where the header has {len(header)}."
            )
        record = dict(zip(header, cells))
        genre = record["genre"].strip("'\"")
        if genre not in GENRES:
            raise ValueError(
                f"{path}, line {number}: unknown genre {genre!r} (expected one of the GTZAN ten)."
            )
        try:
            row = {
                "onset": float(record["onset"]),
                "duration": float(record["duration"]),
                "genre": genre,
                "track": int(record["track"]),
                "start": float(record["start"]),
                "end": float(record["end"]),
            }
            _check_event(row)
        except ValueError as exc:
            raise ValueError(f"{path}, line {number}: {exc}.") from exc
        rows.append(row)
    events = pd.DataFrame(rows, columns=list(EVENT_COLUMNS))
    events["clip_id"] = [f"{g}.{t:05d}" for g, t in zip(events.genre, events.track)]
    return events


def _check_event(row):
    """Raise a ValueError naming the first impossible value of one parsed event row."""
    for name in ("onset", "duration", "start", "end"):
        if not np.isfinite(row[name]) or row[name] < 0:
            raise ValueError(f"{name} {row[name]} must be a finite number of seconds >= 0")
    if row["track"] < 0:
        raise ValueError(f"track {row['track']} must be a GTZAN file number >= 0")
    if row["duration"] == 0 or row["end"] <= row["start"]:
        raise ValueError(f"the clip is empty (duration {row['duration']} s, start "
                         f"{row['start']} s, end {row['end']} s)")


def epoch_run(run, onsets, *, tr=TR, clip_duration=CLIP_DURATION, n_trailing_scans=0):
    """Cut a run's scans into clips.

    Clip ``k`` gets the scans from ``onset_k / tr`` on: ``clip_duration / tr`` scans plus
    ``n_trailing_scans`` (the haemodynamic response spills into the next clip). Scans
    that would fall past the end of the run (the trailing scans of its last clip) are
    zeros, the mean of a z-scored run, and counted in the returned ``n_padded``.

    Parameters
    ----------
    run : ndarray of shape (n_run_scans, n_voxels)
        Preprocessed scans of one run.
    onsets : array-like of shape (n_clips,)
        Clip onsets in seconds from the start of the run.
    tr, clip_duration : float
        Repetition time and clip duration in seconds.
    n_trailing_scans : int, default=0
        Extra scans kept after each clip.

    Returns
    -------
    epochs : ndarray of shape (n_clips, n_scans, n_voxels)
    n_padded : ndarray of int of shape (n_clips,)
    """
    onsets = np.asarray(onsets, dtype=float)
    # A negative first scan would index from the end of the run: another clip's scans.
    bad = np.flatnonzero(~np.isfinite(onsets) | (onsets < 0))
    if bad.size:
        raise ValueError(f"Clip onsets must be finite and >= 0 s (seconds from the start of "
                         f"the run); got {onsets[bad[0]]} for clip {bad[0]}.")
    if isinstance(n_trailing_scans, bool) or int(n_trailing_scans) != n_trailing_scans \
            or n_trailing_scans < 0:
        raise ValueError(f"n_trailing_scans must be an int >= 0, got {n_trailing_scans!r}.")
    n_clip_scans = int(round(clip_duration / tr))
    n_scans = n_clip_scans + int(n_trailing_scans)
    firsts = np.rint(onsets / tr).astype(int)
    epochs = np.zeros((len(firsts), n_scans, run.shape[1]), dtype=np.float32)
    n_padded = np.zeros(len(firsts), dtype=int)
    for k, first in enumerate(firsts):
        if first + n_clip_scans > run.shape[0]:
            raise ValueError(
                f"The clip at onset {onsets[k]} s needs scans up to {first + n_clip_scans} "
                f"but the run has {run.shape[0]}."
            )
        stop = min(first + n_scans, run.shape[0])
        epochs[k, : stop - first] = run[first:stop]
        n_padded[k] = n_scans - (stop - first)
    return epochs, n_padded


def training_layout(n_runs, clips_per_run):
    """Row order of ds003720 training runs: row 0 of each run repeats the previous run's
    last clip (run 1's repeats the last run's), then ``clips_per_run`` new clips.

    Returns a list of ``n_runs`` arrays of clip indices (into the training clips).
    """
    order = np.arange(n_runs * clips_per_run).reshape(n_runs, clips_per_run)
    return [np.concatenate([[order[r - 1, -1]], order[r]]) for r in range(n_runs)]


def test_layout(n_runs, clips_per_run, n_repeats):
    """Row order of ds003720 test runs: row 0 repeats the run's last clip, then the run's
    ``clips_per_run`` clips played ``n_repeats`` times in the same order."""
    layouts = []
    for r in range(n_runs):
        block = np.arange(r * clips_per_run, (r + 1) * clips_per_run)
        rows = np.tile(block, n_repeats)
        layouts.append(np.concatenate([[rows[-1]], rows]))
    return layouts


def _clip_table(events, run):
    table = events.loc[:, ["clip_id", "genre", "track", "start", "end", "onset"]].copy()
    table.insert(5, "run", run)
    return table


def assemble_runs(train_runs, test_runs, load_run, n_voxels, empty, *, tr=TR,
                  clip_duration=CLIP_DURATION, n_trailing_scans=0):
    """Epoch every run and gather the clips in the ds003720 way.

    Row 0 of every run is a dummy (a repeat presented while the response settles) and is
    dropped; training clips must be unique; test clips must all be repeated equally often.

    Parameters
    ----------
    train_runs, test_runs : list of (int, DataFrame)
        Run number and its events (from :func:`read_events`), in presentation order.
    load_run : callable
        ``load_run(task, position)`` -> preprocessed ``(n_run_scans, n_voxels)`` array of
        the ``position``-th run of ``task`` ("train" or "test"); called once per run.
    n_voxels : int
    empty : callable
        ``empty(name, shape)`` -> a float32 array to fill (in memory or memory-mapped).

    Returns
    -------
    result : dict
        ``responses_train``, ``responses_test``, ``responses_test_repeats``,
        ``clips_train``, ``clips_test``, ``dropped_clips``.
    """
    kept_train = [_clip_table(ev.iloc[1:], run) for run, ev in train_runs]
    clips_train = pd.concat(kept_train, ignore_index=True)
    duplicated = clips_train.clip_id[clips_train.clip_id.duplicated()].unique().tolist()
    if duplicated:
        raise ValueError(f"Training clips presented more than once after the dummy: {duplicated}.")
    kept_test = pd.concat(
        [_clip_table(ev.iloc[1:], run) for run, ev in test_runs], ignore_index=True
    )
    counts = kept_test.clip_id.value_counts()
    if counts.nunique() > 1:
        raise ValueError(
            "Test clips must all be repeated equally often; counts found: "
            f"{counts.to_dict()}."
        )
    n_repeats = int(counts.iloc[0]) if len(counts) else 0
    clips_test = kept_test.drop_duplicates("clip_id").reset_index(drop=True)
    dropped = pd.concat(
        [_clip_table(ev.iloc[:1], run).assign(task=task)
         for task, runs in (("train", train_runs), ("test", test_runs)) for run, ev in runs],
        ignore_index=True,
    ).assign(reason="dummy clip (row 0 of the run)")

    n_scans = int(round(clip_duration / tr)) + n_trailing_scans
    responses_train = empty("responses_train", (len(clips_train), n_scans, n_voxels))
    repeats = empty("responses_test_repeats", (len(clips_test), n_repeats, n_scans, n_voxels))
    train_padded = np.zeros(len(clips_train), dtype=int)
    test_padded = np.zeros(len(clips_test), dtype=int)
    position = 0
    for k, (_, events) in enumerate(train_runs):
        epochs, n_padded = epoch_run(
            load_run("train", k), events.onset.to_numpy()[1:], tr=tr,
            clip_duration=clip_duration, n_trailing_scans=n_trailing_scans,
        )
        responses_train[position: position + len(epochs)] = epochs
        train_padded[position: position + len(epochs)] = n_padded
        position += len(epochs)
    test_index = {clip_id: i for i, clip_id in enumerate(clips_test.clip_id)}
    seen = np.zeros(len(clips_test), dtype=int)
    for k, (_, events) in enumerate(test_runs):
        epochs, n_padded = epoch_run(
            load_run("test", k), events.onset.to_numpy()[1:], tr=tr,
            clip_duration=clip_duration, n_trailing_scans=n_trailing_scans,
        )
        for clip_id, epoch, padded in zip(events.clip_id.iloc[1:], epochs, n_padded):
            i = test_index[clip_id]
            repeats[i, seen[i]] = epoch
            seen[i] += 1
            test_padded[i] = max(test_padded[i], padded)
    responses_test = empty("responses_test", (len(clips_test), n_scans, n_voxels))
    for i in range(len(clips_test)):
        responses_test[i] = repeats[i].mean(axis=0)
    clips_train["n_padded_scans"] = train_padded
    clips_test["n_padded_scans"] = test_padded
    return {
        "responses_train": responses_train,
        "responses_test": responses_test,
        "responses_test_repeats": repeats,
        "clips_train": clips_train,
        "clips_test": clips_test,
        "dropped_clips": dropped,
    }

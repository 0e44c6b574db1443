"""skbrainmusic._store: atomic writes, checksummed arrays and folder entries, concurrent builders.

The concurrency tests start real processes that build the same cache entry at once: every
process must end with the same, complete entry, built exactly once, and no process may crash
or report a correct entry as corrupt.
"""

import hashlib
import multiprocessing
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from skbrainmusic._store import FolderEntry, atomic_write, load_array, save_array
from skbrainmusic.datasets._base import cached, load_cache

N_PROCESSES = 6


def test_atomic_write_replaces_a_link_instead_of_following_it(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    link = tmp_path / "folder" / "results.json"
    link.parent.mkdir()
    link.symlink_to(outside)
    atomic_write(link, lambda temporary: temporary.write_text("{}"))
    assert outside.read_text() == "precious"
    assert not link.is_symlink() and link.read_text() == "{}"


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "model.skops"
    path.write_text("old")

    def broken(temporary):
        temporary.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(path, broken)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.skops"]


def test_temporary_name_keeps_the_extension(tmp_path):
    seen = []
    atomic_write(tmp_path / "map.nii.gz", lambda temporary: seen.append(temporary.name)
                 or temporary.write_bytes(b""))
    assert seen[0].endswith("-map.nii.gz") and seen[0].startswith(".tmp-")


def test_checked_arrays_round_trip_and_stay_npy(tmp_path):
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    path = save_array(tmp_path / "a.npy", array)
    np.testing.assert_array_equal(load_array(path), array)
    np.testing.assert_array_equal(np.load(path), array)  # still a plain .npy for np.load
    assert load_array(tmp_path / "missing.npy") is None


@pytest.mark.parametrize("damage", ["truncate", "flip", "replace", "empty"])
def test_damaged_arrays_are_reported_by_path(tmp_path, damage):
    path = save_array(tmp_path / "a.npy", np.ones((4, 3), np.float32))
    content = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(content[:-30])
    elif damage == "flip":
        path.write_bytes(content[:100] + bytes([content[100] ^ 1]) + content[101:])
    elif damage == "replace":  # valid .npy of other values, written by something else
        np.save(path, np.zeros((4, 3), np.float32))
    else:
        path.write_bytes(b"")
    with pytest.warns(RuntimeWarning, match=rf"{path.name} is corrupt.*rebuilding"):
        assert load_array(path) is None


def _build(store):
    store.put("values", np.arange(1000, dtype=np.float64) * 0.5)
    data = store.empty("matrix", (50, 20))
    data[:] = np.arange(1000, dtype=np.float32).reshape(50, 20)
    store.objects["info"] = {"rows": 50}
    time.sleep(0.2)  # widen the window in which other processes look for the entry


def _digest(arrays, objects):
    digest = hashlib.sha256()
    for name in sorted(arrays):
        digest.update(name.encode() + np.ascontiguousarray(arrays[name]).tobytes())
    digest.update(repr(sorted(objects.items())).encode())
    return digest.hexdigest()


def _worker(folder, log, barrier):
    def build(store):
        with open(log, "a") as stream:
            stream.write(f"{os.getpid()}\n")
        _build(store)

    barrier.wait()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        arrays, objects = cached(Path(folder), build)
    return _digest(arrays, objects), [str(w.message) for w in caught]


def _run_concurrently(folder, log):
    # fork where available: the children start in milliseconds, already importing skbrainmusic
    context = multiprocessing.get_context(
        "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(N_PROCESSES)
        with context.Pool(N_PROCESSES) as pool:
            return pool.starmap(_worker, [(str(folder), str(log), barrier)] * N_PROCESSES)


def test_concurrent_builders_share_one_build(tmp_path):
    folder, log = tmp_path / "cache" / "entry", tmp_path / "builds.log"
    results = _run_concurrently(folder, log)
    expected = _digest(*cached(folder, _build, cache=False))
    assert [digest for digest, _ in results] == [expected] * N_PROCESSES
    assert [messages for _, messages in results] == [[]] * N_PROCESSES  # nothing "corrupt"
    assert len(log.read_text().split()) == 1
    assert sorted(p.name for p in folder.parent.iterdir()) == [".entry.lock", "entry"]


def test_concurrent_builders_rebuild_a_corrupt_entry_once(tmp_path):
    folder, log = tmp_path / "cache" / "entry", tmp_path / "builds.log"
    cached(folder, _build)
    (folder / "values.npy").write_bytes(b"garbage")
    results = _run_concurrently(folder, log)
    expected = _digest(*cached(folder, _build, cache=False))
    assert {digest for digest, _ in results} == {expected}
    warned = [messages for _, messages in results if messages]
    assert len(warned) == 1 and "is corrupt" in warned[0][0] and str(folder) in warned[0][0]
    assert len(log.read_text().split()) == 1


def _assert_damage_is_found(folder):
    """Flip the last byte of the entry's matrix.npy: the next load reports it."""
    path = folder / "matrix.npy"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.warns(RuntimeWarning, match="matrix.npy does not match"):
        assert load_cache(folder) is None


def test_entry_checksums_detect_changes(tmp_path):
    folder = tmp_path / "entry"
    arrays, _ = cached(folder, _build)
    assert load_cache(folder) is not None
    del arrays
    _assert_damage_is_found(folder)


def test_missing_entry_is_a_silent_miss(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_cache(tmp_path / "nothing") is None
        assert FolderEntry(tmp_path / "nothing").verified_files() is None


def test_failed_build_leaves_no_entry_and_no_temporary(tmp_path):
    def broken(store):
        store.put("values", np.ones(3))
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cached(tmp_path / "entry", broken)
    assert [p.name for p in tmp_path.iterdir()] == [".entry.lock"]
    arrays, _ = cached(tmp_path / "entry", _build)
    assert arrays["matrix"].shape == (50, 20)


def _study_worker(home, barrier):
    from skbrainmusic.datasets import make_synthetic_study

    barrier.wait()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        study = make_synthetic_study(n_train_runs=1, n_test_runs=1, n_voxels=150, n_corpus=0,
                                     data_home=home, n_jobs=1)
    digest = hashlib.sha256(np.asarray(study.responses_train).tobytes()
                            + np.asarray(study.audio_test).tobytes()).hexdigest()
    return digest, [str(w.message) for w in caught]


@pytest.mark.slow
def test_concurrent_synthetic_studies(tmp_path):
    # The case: concurrent make_synthetic_study builds crashed in _DiskStore.commit.
    context = multiprocessing.get_context(
        "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    n_processes = 4
    with context.Manager() as manager:
        barrier = manager.Barrier(n_processes)
        with context.Pool(n_processes) as pool:
            results = pool.starmap(_study_worker, [(str(tmp_path), barrier)] * n_processes)
    assert len({digest for digest, _ in results}) == 1
    assert [messages for _, messages in results] == [[]] * n_processes
    folders = sorted(p.name.split("_")[0] for p in (tmp_path / "synthetic").iterdir()
                     if not p.name.startswith("."))
    assert folders == ["stimuli", "subject-1"]


def test_unchanged_files_are_checked_once_per_process(tmp_path, monkeypatch):
    from skbrainmusic import _store

    folder = tmp_path / "entry"
    cached(folder, _build)
    settled = time.time_ns() - 10 * _store._SETTLE_NS
    for path in folder.iterdir():
        os.utime(path, ns=(settled, settled))
    reads = []
    crc32 = _store.file_crc32
    monkeypatch.setattr(_store, "file_crc32",
                        lambda path, size=None: reads.append(Path(path).name) or crc32(path))
    # Checked while its change time is recent: a write in the same clock tick could go
    # unseen, so nothing is remembered yet.
    assert load_cache(folder) is not None and "matrix.npy" in reads
    monkeypatch.setattr(_store, "_SETTLE_NS", 0)
    reads.clear()
    load_cache(folder)
    assert "matrix.npy" in reads
    reads.clear()
    assert load_cache(folder) is not None and reads == []  # remembered, not read again
    # Control: any write changes the file's times, and the damage is found.
    _assert_damage_is_found(folder)
    assert "matrix.npy" in reads

"""Batch-wise reading of memory-mapped clip arrays lets go of the pages it has read."""

from pathlib import Path

import numpy as np
import pytest

from skbrainmusic._batches import iter_batches, release_pages

psutil = pytest.importorskip("psutil")
N_CLIPS, N_SAMPLES = 32, 330_750  # 42 MB of 15 s clips at 22,050 Hz


def resident():
    return psutil.Process().memory_info().rss


@pytest.fixture
def mapped(tmp_path):
    path = tmp_path / "audio.npy"
    rng = np.random.default_rng(0)
    np.save(path, rng.standard_normal((N_CLIPS, N_SAMPLES), dtype=np.float32))
    return path


def test_a_pass_over_a_mapped_array_holds_one_batch(mapped):
    audio = np.load(mapped, mmap_mode="r")
    expected = np.load(mapped)
    size = expected.nbytes
    before = resident()
    sums = [float(batch.sum(dtype=np.float64)) for batch in iter_batches(audio, 4)]
    after_batches = resident()
    np.testing.assert_allclose(sums, expected.reshape(8, -1).sum(axis=1, dtype=np.float64))
    # Control: reading it again without releasing keeps every page mapped.
    assert float(np.asarray(audio).sum(dtype=np.float64)) == pytest.approx(sum(sums))
    after_plain = resident()
    assert after_batches - before < size / 4
    assert after_plain - before > size / 2
    release_pages(np.asarray(audio)[3:])  # a view finds its mapping
    assert resident() - before < size / 4
    np.testing.assert_array_equal(audio, expected)  # read back from the file


def test_written_pages_are_kept_and_copy_on_write_mappings_left_alone(mapped):
    writable = np.load(mapped, mmap_mode="r+")
    writable[0, :5] = 7.0
    release_pages(writable)
    assert writable[0, :5].tolist() == [7.0] * 5
    del writable
    assert np.load(mapped)[0, :5].tolist() == [7.0] * 5
    private = np.load(mapped, mmap_mode="c")
    private[1, :3] = -2.0
    release_pages(private)  # must not drop the only copy of the change
    assert private[1, :3].tolist() == [-2.0] * 3
    assert np.load(mapped)[1, 0] != -2.0
    in_memory = np.ones(3)
    release_pages(in_memory)
    release_pages([1, 2])
    assert in_memory.tolist() == [1.0] * 3


def test_iter_batches_slices_any_sequence():
    waves = [np.full(3, i, np.float32) for i in range(5)]
    assert [len(batch) for batch in iter_batches(waves, 2)] == [2, 2, 1]
    assert list(iter_batches(np.empty((0, 4)), 3)) == []


def mapped_resident(path):
    """Resident bytes of this process' mappings of the file ``path`` (Linux)."""
    smaps = Path("/proc/self/smaps")
    if not smaps.exists():
        pytest.skip("needs /proc/self/smaps (Linux)")
    total, inside = 0, False
    for line in smaps.read_text().splitlines():
        fields = line.split()
        if "-" in fields[0] and len(fields) >= 5:  # a mapping's header line
            inside = len(fields) >= 6 and fields[5] == str(path)
        elif inside and fields[0] == "Rss:":
            total += int(fields[1]) * 1024
    return total


def test_audio_embedder_streams_a_mapped_corpus(mapped, tmp_path):
    from skbrainmusic import AudioEmbedder

    embedder = AudioEmbedder(backend="mel", window=5.0, step=5.0, sample_rate=22050,
                             clip_duration=15.0, standardize=False, cache=tmp_path / "cache",
                             batch_size=4)
    audio = np.load(mapped, mmap_mode="r")
    expected = embedder.transform(np.load(mapped)[:2])
    embedded = embedder.transform(audio)
    assert mapped_resident(mapped) < audio.nbytes / 4  # not the 42 MB corpus
    np.testing.assert_array_equal(embedded[:2], expected)
    cached = embedder.transform(audio)  # every clip read again for its cache key
    assert mapped_resident(mapped) < audio.nbytes / 4
    np.testing.assert_array_equal(cached, embedded)
    # Control: the same file read whole stays resident.
    assert float(audio.sum()) != 0 and mapped_resident(mapped) > audio.nbytes / 2


def test_window_aligner_streams_mapped_responses(tmp_path):
    from skbrainmusic import TemporalWindowAligner

    path = tmp_path / "responses.npy"
    rng = np.random.default_rng(1)
    np.save(path, rng.standard_normal((64, 10, 16_384), dtype=np.float32))  # 42 MB
    responses = np.load(path, mmap_mode="r")
    aligner = TemporalWindowAligner(window=10.0)
    expected = aligner.fit_transform(np.load(path))
    np.testing.assert_array_equal(aligner.transform(responses), expected)
    assert mapped_resident(path) < responses.nbytes / 4  # blocks of 16 clips at most
    # Control: the same file read whole stays resident.
    assert float(responses.sum()) != 0 and mapped_resident(path) > responses.nbytes / 2


def test_map_batches_keeps_the_order_in_parallel(mapped):
    import joblib

    from skbrainmusic._batches import map_batches

    audio = np.load(mapped, mmap_mode="r")
    serial = map_batches(np.mean, audio, 5)
    assert len(serial) == 7
    with joblib.parallel_config(n_jobs=2):
        parallel = map_batches(np.mean, audio, 5)
    np.testing.assert_array_equal(parallel, serial)
    np.testing.assert_allclose(serial, [audio[i:i + 5].mean() for i in range(0, N_CLIPS, 5)])

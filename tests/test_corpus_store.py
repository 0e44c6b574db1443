"""build_corpus / open_corpus: the on-disk corpus store, its resumption and its bad inputs.

Clips are a second or two at 8 kHz and the embedder is the log-mel one, so every build
takes a fraction of a second. Every store is compared with the embeddings computed in
memory by the same embedder, or byte for byte with an uninterrupted build.
"""

import errno
import json
import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pytest
import soundfile
from sklearn.exceptions import NotFittedError
from sklearn.utils import Bunch

import skbrainmusic._corpus_store as corpus_store
from skbrainmusic import AudioEmbedder, EmbeddingRetriever
from skbrainmusic._store import open_array, save_array, save_array_blocks
from skbrainmusic.datasets import FMAAudio
from skbrainmusic.retrieval import Corpus, build_corpus, open_corpus, open_corpus_attributes

RATE = 8000


def make_waves(n, seconds=1.5, seed=0):
    """Tones of different pitches with noise: distinct, deterministic clips."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    return [(0.3 * np.sin(2 * np.pi * (110 + 37 * i) * t)
             + 0.05 * rng.standard_normal(t.size)).astype(np.float32) for i in range(n)]


def mel(**params):
    return AudioEmbedder(backend="mel", window=1.0, step=0.5, standardize=False, **params)


def tuples(waves):
    return [(f"clip{i:02d}", wave, RATE) for i, wave in enumerate(waves)]


def store_bytes(folder):
    return {name: (folder / name).read_bytes() for name in ("embeddings.npy", "ids.npy")}


def test_store_holds_the_in_memory_embeddings_memory_mapped(tmp_path):
    waves = make_waves(7)
    embedder = mel()
    corpus = build_corpus(tuples(waves), embedder, tmp_path / "store", batch_size=3,
                          progress=False)
    expected = mel(sample_rate=RATE).transform(waves).mean(axis=1, dtype=np.float64)
    assert isinstance(corpus, Corpus) and isinstance(corpus.embeddings, np.memmap)
    assert not corpus.embeddings.flags.writeable
    np.testing.assert_array_equal(corpus.embeddings, expected.astype(np.float32))
    assert corpus.ids.tolist() == [f"clip{i:02d}" for i in range(7)]
    manifest = json.loads((tmp_path / "store" / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["n_items"] == 7
    assert manifest["embedder"]["class"] == "skbrainmusic.embeddings._audio.AudioEmbedder"
    assert manifest["embedder"]["params"]["backend"] == "mel"
    assert manifest["embedder"]["settings"]["window"] == 1.0
    assert manifest["embedder"]["settings"]["step"] == 0.5
    assert manifest["dtype"] == "float32" and manifest["version"] == corpus_store.STORE_VERSION
    assert not (tmp_path / "store" / "parts").exists()


def test_fitted_statistics_are_stored_and_windows_kept_on_request(tmp_path):
    waves = make_waves(5)
    embedder = AudioEmbedder(backend="mel", window=1.0, step=0.5, sample_rate=RATE,
                             clip_duration=1.5).fit(np.stack(waves))
    corpus = build_corpus(tuples(waves), embedder, tmp_path / "store", window_reduce=None,
                          batch_size=2, progress=False)
    np.testing.assert_array_equal(corpus.embeddings, embedder.transform(np.stack(waves)))
    assert corpus.embeddings.shape == (5, 2, 128)
    manifest = json.loads((tmp_path / "store" / "manifest.json").read_text())
    assert {"mean_crc32", "scale_crc32"} <= set(manifest["embedder"])


def test_folder_source_reads_only_requested_clips(tmp_path, monkeypatch):
    import librosa

    folder = tmp_path / "audio"
    (folder / "sub").mkdir(parents=True)
    waves = make_waves(4)
    names = ["b.wav", "a.wav", "sub/c.wav", "sub/d.flac"]
    for name, wave in zip(names, waves):
        soundfile.write(folder / name, wave, RATE)
    (folder / "notes.txt").write_text("not audio")
    corpus = build_corpus(folder, mel(sample_rate=RATE), tmp_path / "store", batch_size=3,
                          progress=False)
    assert corpus.ids.tolist() == sorted(names)
    assert corpus.sample_rate == RATE
    read = []
    original = librosa.load

    def spying(path, **kwargs):
        read.append(str(path))
        return original(path, **kwargs)

    monkeypatch.setattr(librosa, "load", spying)
    retriever = EmbeddingRetriever(corpus).fit()
    audio = retriever.retrieve_audio(corpus.embeddings[[2]])
    assert read == [str(folder / "sub" / "c.wav")]
    np.testing.assert_allclose(audio[0], waves[2], atol=1e-4)  # 16-bit WAV


def test_moved_folder_is_found_through_audio_root(tmp_path):
    folder = tmp_path / "audio"
    folder.mkdir()
    waves = make_waves(2)
    for i, wave in enumerate(waves):
        soundfile.write(folder / f"{i}.wav", wave, RATE, subtype="FLOAT")
    build_corpus(folder, mel(sample_rate=RATE), tmp_path / "store", progress=False)
    folder.rename(tmp_path / "moved")
    corpus = open_corpus(tmp_path / "store", audio_root=tmp_path / "moved")
    np.testing.assert_array_equal(corpus.load_audio("1.wav"), waves[1])


def test_bunch_sources_give_their_ids_and_the_same_embeddings(tmp_path):
    waves = make_waves(5)
    clips = pd.DataFrame({"clip_id": [10, 11, 12, 13, 14]})
    study_like = Bunch(audio=np.stack(waves), clips=clips, sample_rate=RATE)
    corpus = build_corpus(study_like, mel(), tmp_path / "arrays", batch_size=2, progress=False)
    assert corpus.ids.tolist() == [10, 11, 12, 13, 14] and corpus.load_audio is None
    reference = build_corpus(tuples(waves), mel(), tmp_path / "tuples", progress=False)
    np.testing.assert_array_equal(corpus.embeddings, reference.embeddings)

    paths = []
    for i, wave in enumerate(waves):
        paths.append(tmp_path / f"{i:06d}.wav")
        soundfile.write(paths[-1], wave, RATE, subtype="FLOAT")
    fma_like = Bunch(audio=FMAAudio(paths, RATE, 1.5), clips=clips, sample_rate=RATE)
    fma = build_corpus(fma_like, mel(), tmp_path / "fma", batch_size=2, progress=False)
    assert fma.ids.tolist() == [10, 11, 12, 13, 14]
    # FMA clips are prepared (fades, RMS) when decoded: the store embeds what FMAAudio gives.
    expected = mel(sample_rate=RATE).transform(list(fma_like.audio[:]))
    np.testing.assert_allclose(fma.embeddings, expected.mean(axis=1), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(fma.load_audio(12), fma_like.audio[2])

    listed = build_corpus([str(p) for p in paths[:2]], mel(sample_rate=RATE),
                          tmp_path / "list", progress=False)
    assert listed.ids.tolist() == [str(p) for p in paths[:2]]


def test_attributes_are_stored_per_clip_in_corpus_order(tmp_path):
    waves = make_waves(5)
    waves[1] = np.zeros_like(waves[1])

    def peak(waveform, sample_rate):
        return {"peak": float(np.abs(waveform).max()), "n": np.array([waveform.size, 1])}

    with pytest.warns(UserWarning, match="clip01: silent"):
        corpus = build_corpus(tuples(waves), mel(), tmp_path / "store", batch_size=2,
                              attributes=peak, progress=False)
    columns = open_corpus_attributes(tmp_path / "store")
    kept = [0, 2, 3, 4]
    assert corpus.ids.tolist() == [f"clip{i:02d}" for i in kept]
    np.testing.assert_array_equal(columns["peak"], [np.abs(waves[i]).max() for i in kept])
    assert columns["n"].shape == (4, 2)


def test_bad_files_are_reported_by_name_skipped_and_counted(tmp_path):
    folder = tmp_path / "audio"
    folder.mkdir()
    waves = make_waves(3)
    soundfile.write(folder / "good1.wav", waves[0], RATE)
    soundfile.write(folder / "good2.wav", waves[1], RATE)
    soundfile.write(folder / "silent.wav", np.zeros_like(waves[2]), RATE)
    soundfile.write(folder / "short.wav", waves[2][:100], RATE)
    (folder / "broken.wav").write_bytes(b"RIFF not really a wave file")
    with pytest.warns(UserWarning) as record:
        corpus = build_corpus(folder, mel(sample_rate=RATE), tmp_path / "store",
                              progress=False)
    message = str(record[-1].message)
    for name in ("broken.wav: unreadable", "silent.wav: silent", "short.wav: shorter"):
        assert name in message
    assert corpus.ids.tolist() == ["good1.wav", "good2.wav"]
    manifest = json.loads((tmp_path / "store" / "manifest.json").read_text())
    assert manifest["n_skipped"] == 3
    assert sorted(item for item, _ in manifest["skipped"]) == [
        "broken.wav", "short.wav", "silent.wav"]


@pytest.mark.parametrize("failure", ["keyboard_interrupt", "disk_full"])
def test_interrupted_build_resumes_without_reembedding(tmp_path, monkeypatch, embedded_batches,
                                                       failure):
    waves = make_waves(9)
    reference = tmp_path / "reference"
    build_corpus(tuples(waves), mel(), reference, batch_size=2, progress=False)
    embedded_batches.clear()
    store = tmp_path / "store"
    if failure == "keyboard_interrupt":
        original = AudioEmbedder.transform

        def interrupted(self, X):
            if len(embedded_batches) == 2:  # the third batch: two are finished
                raise KeyboardInterrupt
            return original(self, X)

        with monkeypatch.context() as patch:
            patch.setattr(AudioEmbedder, "transform", interrupted)
            with pytest.raises(KeyboardInterrupt):
                build_corpus(tuples(waves), mel(), store, batch_size=2, progress=False)
    else:
        writes = []
        original = corpus_store.save_array

        def disk_full(path, array):
            writes.append(path.name)
            # Batch 2's ids, after its embeddings were written: mid-batch.
            if len(writes) == 6:
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
            return original(path, array)

        with monkeypatch.context() as patch:
            patch.setattr(corpus_store, "save_array", disk_full)
            with pytest.raises(OSError, match="No space left"):
                build_corpus(tuples(waves), mel(), store, batch_size=2, progress=False)
    parts = sorted(p.name for p in (store / "parts").iterdir())
    assert parts == ["000000", "000001"]  # no half-written batch, not even hidden
    with pytest.raises(ValueError, match="incomplete"):
        open_corpus(store)
    embedded_batches.clear()
    corpus = build_corpus(tuples(waves), mel(), store, batch_size=2, progress=False)
    assert sum(embedded_batches) == 5  # clips 4..8 only
    assert store_bytes(store) == store_bytes(reference)
    assert corpus.n_items == 9
    embedded_batches.clear()
    build_corpus(tuples(waves), mel(), store, batch_size=2, progress=False)
    assert embedded_batches == []  # a complete store is only opened


def test_disk_full_while_writing_the_final_arrays_keeps_the_batches(tmp_path, monkeypatch,
                                                                    embedded_batches):
    waves = make_waves(5)
    reference = tmp_path / "reference"
    build_corpus(tuples(waves), mel(), reference, batch_size=2, progress=False)

    def disk_full(path, blocks, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    store = tmp_path / "store"
    with monkeypatch.context() as patch:
        patch.setattr(corpus_store, "save_array_blocks", disk_full)
        with pytest.raises(OSError, match="No space left"):
            build_corpus(tuples(waves), mel(), store, batch_size=2, progress=False)
    assert not (store / "embeddings.npy").exists()
    embedded_batches.clear()
    build_corpus(tuples(waves), mel(), store, batch_size=2, progress=False)
    assert embedded_batches == []
    assert store_bytes(store) == store_bytes(reference)


def test_leftovers_of_a_killed_build_are_dropped_and_damaged_batches_redone(
        tmp_path, monkeypatch, embedded_batches):
    waves = make_waves(6)
    reference = tmp_path / "reference"
    build_corpus(tuples(waves), mel(), reference, batch_size=2, progress=False)
    store = tmp_path / "store"

    def killed(*args):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:  # every batch finished, the final arrays not written
        patch.setattr(corpus_store, "_consolidate", killed)
        with pytest.raises(KeyboardInterrupt):
            build_corpus(tuples(waves), mel(), store, batch_size=2, progress=False)
    half = store / "parts" / ".000002.0123.tmp"  # what a killed process leaves mid-batch
    half.mkdir()
    (half / "embeddings.npy").write_bytes(b"half")
    damaged = store / "parts" / "000001" / "embeddings.npy"
    damaged.write_bytes(damaged.read_bytes()[:-7] + b"garbage")
    embedded_batches.clear()
    with pytest.warns(RuntimeWarning, match="000001"):
        build_corpus(tuples(waves), mel(), store, batch_size=2, progress=False)
    assert embedded_batches == [2]  # the damaged batch only
    assert store_bytes(store) == store_bytes(reference)


def test_a_store_of_another_embedder_or_build_is_refused(tmp_path):
    waves = make_waves(4)
    store = tmp_path / "store"
    build_corpus(tuples(waves), mel(), store, progress=False)
    other = AudioEmbedder(backend="mel", window=0.5, step=0.5, standardize=False)
    with pytest.raises(ValueError, match=r"settings.window: store has 1.0, this call 0.5"):
        build_corpus(tuples(waves), other, store, progress=False)
    with pytest.raises(ValueError, match="batch_size: store has 64, this call 2"):
        build_corpus(tuples(waves), mel(), store, batch_size=2, progress=False)
    fitted = AudioEmbedder(backend="mel", window=1.0, step=0.5, sample_rate=RATE).fit(
        np.stack(waves))
    with pytest.raises(ValueError, match="different embedder: .*mean_crc32"):
        open_corpus(store, embedder=fitted)
    assert open_corpus(store, embedder=mel()).n_items == 4


def test_resuming_with_another_source_is_refused(tmp_path):
    waves = make_waves(4)
    folder = tmp_path / "audio"
    folder.mkdir()
    for i, wave in enumerate(waves):
        soundfile.write(folder / f"{i}.wav", wave, RATE)
    build_corpus(folder, mel(sample_rate=RATE), tmp_path / "store", progress=False)
    soundfile.write(folder / "new.wav", waves[0], RATE)
    with pytest.raises(ValueError, match="source.n_items: store has 4, this call 5"):
        build_corpus(folder, mel(sample_rate=RATE), tmp_path / "store", progress=False)
    # Iterables are not listed in advance: their finished batches are checked id by id.
    store = tmp_path / "iterable"
    with pytest.raises(ZeroDivisionError):
        build_corpus(_failing_after(tuples(waves), 2), mel(), store, batch_size=2,
                     progress=False)
    shuffled = tuples(waves)[::-1]
    with pytest.raises(ValueError, match="batch 0 .* other clips"):
        build_corpus(shuffled, mel(), store, batch_size=2, progress=False)


def _failing_after(items, n):
    for index, item in enumerate(items):
        if index == n:
            raise ZeroDivisionError("the source broke")
        yield item


def test_invalid_arguments_are_refused_with_the_fix(tmp_path):
    waves = make_waves(2)
    not_a_store = tmp_path / "mine"
    not_a_store.mkdir()
    (not_a_store / "precious.txt").write_text("keep")
    with pytest.raises(ValueError, match="is not a corpus store"):
        build_corpus(tuples(waves), mel(), not_a_store, progress=False)
    assert (not_a_store / "precious.txt").read_text() == "keep"
    with pytest.raises(NotFittedError, match="fit it first"):
        build_corpus(tuples(waves), AudioEmbedder(backend="mel"), tmp_path / "s",
                     progress=False)
    with pytest.raises(ValueError, match="clip_duration"):
        build_corpus(tuples(waves), mel(), tmp_path / "s", window_reduce=None, progress=False)
    with pytest.raises(TypeError, match="source of type ndarray"):
        build_corpus(np.stack(waves), mel(), tmp_path / "s", progress=False)
    with pytest.raises(TypeError, match=r"\(id, waveform, sample_rate\) tuples"):
        build_corpus(iter(waves), mel(), tmp_path / "s", progress=False)
    with pytest.raises(ValueError, match="holds no audio file"):
        build_corpus(not_a_store, mel(), tmp_path / "s", progress=False)
    with pytest.raises(ValueError, match="not a corpus store"):
        open_corpus(not_a_store)


def test_dask_cluster_builds_the_serial_store(tmp_path):
    distributed = pytest.importorskip("distributed")
    import joblib

    waves = make_waves(7)
    build_corpus(tuples(waves), mel(), tmp_path / "serial", batch_size=2, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster), joblib.parallel_config(backend="dask"):
        build_corpus(tuples(waves), mel(), tmp_path / "dask", batch_size=2, progress=False)
    assert store_bytes(tmp_path / "dask") == store_bytes(tmp_path / "serial")


def test_retriever_searches_a_stored_corpus_without_copying_it(tmp_path):
    rng = np.random.default_rng(1)
    n_items, d = 40_000, 32
    blocks = [rng.standard_normal((10_000, d), dtype=np.float32) for _ in range(4)]
    for dtype in (np.float32, np.float64):
        save_array_blocks(tmp_path / f"{np.dtype(dtype).name}.npy", blocks,
                          shape=(n_items, d), dtype=dtype)
    queries = rng.standard_normal((50, d), dtype=np.float32)

    def search_peak(name):
        corpus = Corpus(open_array(tmp_path / f"{name}.npy"))
        retriever = EmbeddingRetriever(corpus, n_neighbors=3, block_size=2**14, n_jobs=1)
        tracemalloc.start()
        retriever.fit()
        result = retriever.kneighbors(queries)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak, result, retriever

    size = n_items * d * 4  # 5 MB of float32 embeddings
    peak, (sims, indices), retriever = search_peak("float32")
    assert np.shares_memory(retriever.index_, retriever.corpus_.embeddings)
    assert peak < size / 4  # norms and block buffers only
    in_memory = EmbeddingRetriever(np.concatenate(blocks), n_neighbors=3).fit()
    expected_sims, expected_indices = in_memory.kneighbors(queries)
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_allclose(sims, expected_sims, rtol=1e-5)
    # Control: a float64 store needs a float32 copy, and the same measurement sees it.
    assert search_peak("float64")[0] > size


def test_array_files_are_written_by_blocks_and_checked_when_mapped(tmp_path):
    array = np.arange(30, dtype=np.float32).reshape(10, 3)
    save_array_blocks(tmp_path / "a.npy", [array[:4], array[4:]], shape=array.shape,
                      dtype=np.float32)
    save_array(tmp_path / "b.npy", array)
    assert (tmp_path / "a.npy").read_bytes() == (tmp_path / "b.npy").read_bytes()
    mapped = open_array(tmp_path / "a.npy")
    assert isinstance(mapped, np.memmap) and not mapped.flags.writeable
    np.testing.assert_array_equal(mapped, array)
    with pytest.raises(ValueError, match="hold 4 rows, not the 10"):
        save_array_blocks(tmp_path / "c.npy", [array[:4]], shape=array.shape, dtype=np.float32)
    assert not (tmp_path / "c.npy").exists()
    content = bytearray((tmp_path / "a.npy").read_bytes())
    content[200] ^= 1
    (tmp_path / "a.npy").write_bytes(bytes(content))
    with pytest.raises(ValueError, match=r"a\.npy is corrupt .*CRC-32"):
        open_array(tmp_path / "a.npy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert open_array(tmp_path / "a.npy", verify=False).shape == (10, 3)


def test_silent_and_non_finite_rows_of_an_array_source_are_skipped_and_counted(tmp_path):
    waves = make_waves(5)
    waves[1] = np.zeros_like(waves[1])
    waves[3] = waves[3].copy()
    waves[3][7] = np.nan
    path = tmp_path / "audio.npy"
    np.save(path, np.stack(waves))
    mapped = np.load(path, mmap_mode="r")
    released = []
    original = corpus_store.release_pages

    def spying(array):
        released.append(array is mapped)
        return original(array)

    source = Bunch(audio=mapped, ids=["a", "b", "c", "d", "e"], sample_rate=RATE)
    with pytest.MonkeyPatch.context() as patch, pytest.warns(UserWarning) as record:
        patch.setattr(corpus_store, "release_pages", spying)
        corpus = build_corpus(source, mel(), tmp_path / "store", batch_size=2, progress=False)
    message = str(record[-1].message)
    assert "skipped 2 clip(s)" in message
    assert "b: silent" in message and "d: non-finite samples" in message
    assert corpus.ids.tolist() == ["a", "c", "e"]
    expected = mel(sample_rate=RATE).transform([waves[i] for i in (0, 2, 4)]).mean(axis=1)
    np.testing.assert_allclose(corpus.embeddings, expected, rtol=1e-6, atol=1e-6)
    manifest = json.loads((tmp_path / "store" / "manifest.json").read_text())
    assert manifest["n_skipped"] == 2
    assert released == [True] * 3  # the mapped pages let go of after every batch

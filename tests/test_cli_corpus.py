"""``skbrainmusic corpus``: a folder of audio into a store, locally or on a Dask cluster."""

import json

import numpy as np
import pytest
import soundfile

from skbrainmusic import AudioEmbedder
from skbrainmusic.cli import main
from skbrainmusic.retrieval import build_corpus, open_corpus

RATE = 8000


@pytest.fixture
def folder(tmp_path):
    """Four distinct tones, a silent file and a broken one."""
    folder = tmp_path / "audio"
    folder.mkdir()
    t = np.arange(int(1.5 * RATE)) / RATE
    for i in range(4):
        soundfile.write(folder / f"tone{i}.wav", 0.3 * np.sin(2 * np.pi * (110 + 50 * i) * t),
                        RATE)
    soundfile.write(folder / "silent.wav", np.zeros_like(t), RATE)
    (folder / "broken.wav").write_bytes(b"RIFF not really a wave file")
    return folder


def command(folder, store, *extra):
    return ["corpus", str(folder), "--out", str(store), "--embedding", "mel", "--window",
            "1.0", "--sample-rate", str(RATE), "--batch-size", "2", "--quiet", *extra]


def test_corpus_command_builds_the_library_store(folder, tmp_path, capsys):
    with pytest.warns(UserWarning, match="skipped 2 clip"):
        assert main(command(folder, tmp_path / "cli", "--n-jobs", "1")) == 0
    assert "4 clips embedded (128 features each), 2 skipped" in capsys.readouterr().out
    embedder = AudioEmbedder(backend="mel", window=1.0, sample_rate=RATE, standardize=False)
    with pytest.warns(UserWarning):
        expected = build_corpus(folder, embedder, tmp_path / "library", batch_size=2,
                                progress=False)
    stored = open_corpus(tmp_path / "cli", embedder=embedder)
    assert stored.ids.tolist() == [f"tone{i}.wav" for i in range(4)]
    np.testing.assert_array_equal(stored.embeddings, expected.embeddings)
    manifest = json.loads((tmp_path / "cli" / "manifest.json").read_text())
    assert sorted(item for item, _ in manifest["skipped"]) == ["broken.wav", "silent.wav"]
    # Run again: the complete store is only opened.
    assert main(command(folder, tmp_path / "cli", "--n-jobs", "1")) == 0


def test_scheduler_builds_the_same_store(folder, tmp_path):
    distributed = pytest.importorskip("distributed")
    with pytest.warns(UserWarning):
        assert main(command(folder, tmp_path / "serial", "--n-jobs", "1")) == 0
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, pytest.warns(UserWarning):
        assert main(command(folder, tmp_path / "dask", "--scheduler",
                            cluster.scheduler_address)) == 0
    for name in ("embeddings.npy", "ids.npy"):
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "serial" / name).read_bytes()


@pytest.mark.parametrize("extra, message", [
    (["--batch-size", "0"], "--batch-size must be at least 1, got 0"),
    (["--n-jobs", "0"], "--n-jobs must be a positive number"),
    (["--window", "-1"], "--window must be a positive number of seconds, got -1.0"),
    (["--scheduler", "not an address"], "is not a Dask scheduler address"),
])
def test_bad_options_are_one_line(folder, tmp_path, capsys, extra, message):
    assert main(command(folder, tmp_path / "store", *extra)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (tmp_path / "store").exists()


def test_a_missing_folder_or_another_store_is_one_line(folder, tmp_path, capsys):
    assert main(command(tmp_path / "nowhere", tmp_path / "store")) == 2
    err = capsys.readouterr().err
    assert "SOURCE" in err and "does not exist" in err
    with pytest.warns(UserWarning):
        assert main(command(folder, tmp_path / "store", "--n-jobs", "1")) == 0
    assert main(command(folder, tmp_path / "store", "--window", "0.5", "--n-jobs", "1")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "different embedder, settings or source" in err[0]

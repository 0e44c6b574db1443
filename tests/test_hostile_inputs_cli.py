"""Hostile and careless command lines (issue 13): one-line errors with exit status 2, and
output folders that never overwrite or follow anything a run did not create.

Every case asserts the exit status and the key words of the one error line (and that the
user's files are intact), or the exact content written.
"""

import json
import sys

import nibabel as nib
import numpy as np
import pytest
import soundfile

from skbrainmusic.cli import main

MARKER = ".skbrainmusic-output"


def _one_error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    return err[0]


def _demo(tmp_path, *options):
    out = ["--out", str(tmp_path / "out")] if "--out" not in options else []
    return main(["demo", "--scale", "tiny", "--quiet", "--data-home", str(tmp_path / "home"),
                 *out, *options])


def _real(command, tmp_path, *options):
    return main([command, "--bids", str(tmp_path / "bids"), "--gtzan", str(tmp_path / "gtzan"),
                 "--subject", "1", "--quiet", *options])


# --------------------------------------------------------------------------------------
# Options that used to fail after minutes of work, or with a traceback
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", ["-1", "4294967296", "123456789012345678901",
                                  "-99999999999999999999"])
def test_demo_seed_out_of_range(tmp_path, capsys, seed):
    assert _demo(tmp_path, "--random-state", seed) == 2
    line = _one_error_line(capsys)
    assert "--random-state must be an integer in 0..4294967295" in line and seed in line
    assert not (tmp_path / "out").exists()  # refused before any work


@pytest.mark.parametrize("command", ["decode", "encode"])
def test_real_data_seed_out_of_range(tmp_path, capsys, command):
    assert _real(command, tmp_path, "--random-state", "-1", "--out", str(tmp_path / "o")) == 2
    assert "--random-state must be an integer" in _one_error_line(capsys)


@pytest.mark.parametrize("address", ["notanaddress", "tcp://host", "host:99999", "inproc://x",
                                     "tcp://:8786", "tcp://a b:1", "tcp//host:1"])
def test_scheduler_address_is_checked_before_connecting(tmp_path, capsys, address):
    assert _demo(tmp_path, "--scheduler", address) == 2
    line = _one_error_line(capsys)
    assert "is not a Dask scheduler address" in line and "host:port" in line


@pytest.mark.parametrize("command", ["demo", "decode", "encode"])
@pytest.mark.parametrize("out", ["", "   "], ids=["empty", "blank"])
def test_empty_out_is_refused(tmp_path, capsys, command, out, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status = (_demo(tmp_path, "--out", out) if command == "demo"
              else _real(command, tmp_path, "--out", out))
    assert status == 2
    assert "--out is empty" in _one_error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written in the cwd


@pytest.mark.parametrize("data_home, words", [
    ("file", "is a file"),
    ("file/cache", "is a file"),
    ("", "--data-home is empty"),
], ids=["a-file", "under-a-file", "empty"])
def test_bad_data_home(tmp_path, capsys, data_home, words):
    (tmp_path / "file").write_text("mine")
    path = str(tmp_path / data_home) if data_home else ""
    status = main(["demo", "--scale", "tiny", "--quiet", "--out", str(tmp_path / "out"),
                   "--data-home", path])
    assert status == 2
    assert words in _one_error_line(capsys)
    assert (tmp_path / "file").read_text() == "mine"


def test_missing_tinysoundfont_gives_the_install_command(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tinysoundfont", None)
    assert _demo(tmp_path, "--n-jobs", "1") == 2
    line = _one_error_line(capsys)
    assert "missing dependency" in line and "pip install --no-deps tinysoundfont" in line


# --------------------------------------------------------------------------------------
# --out: refuse what is not ours, never follow links
# --------------------------------------------------------------------------------------

def test_foreign_non_empty_out_is_refused_and_left_intact(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.html").write_text("my own report")
    assert _demo(tmp_path) == 2
    line = _one_error_line(capsys)
    assert "is not empty and is not an earlier skbrainmusic output" in line
    assert (out / "report.html").read_text() == "my own report"
    assert sorted(p.name for p in out.iterdir()) == ["report.html"]


def test_link_named_results_json_is_never_followed(tmp_path, capsys):
    out, outside = tmp_path / "out", tmp_path / "precious.json"
    out.mkdir()
    outside.write_text("keep me")
    (out / "results.json").symlink_to(outside)
    assert _demo(tmp_path) == 2
    assert "not an earlier skbrainmusic output" in _one_error_line(capsys)
    assert outside.read_text() == "keep me" and (out / "results.json").is_symlink()


def test_out_that_is_a_file(tmp_path, capsys):
    (tmp_path / "out").write_text("mine")
    assert _demo(tmp_path) == 2
    assert "is a file, not a folder" in _one_error_line(capsys)
    assert (tmp_path / "out").read_text() == "mine"


@pytest.mark.parametrize("marker", ["link", "folder", "not-json", "no-files"])
def test_bad_marker_is_refused(tmp_path, capsys, marker):
    out = tmp_path / "out"
    out.mkdir()
    path = out / MARKER
    if marker == "link":
        (tmp_path / "elsewhere").write_text(json.dumps({"files": []}))
        path.symlink_to(tmp_path / "elsewhere")
    elif marker == "folder":
        path.mkdir()
    elif marker == "not-json":
        path.write_text("{")
    else:
        path.write_text(json.dumps({"written_by": "someone"}))
    assert _demo(tmp_path) == 2
    line = _one_error_line(capsys)
    assert MARKER in line and "choose another folder" in line


@pytest.fixture
def ours(tmp_path):
    from skbrainmusic.cli._output import prepare_output

    return prepare_output(tmp_path / "out")


def _text(content):
    return lambda temporary: temporary.write_text(content)


def _manifest(out):
    return json.loads((out / MARKER).read_text())["files"]


def test_files_written_are_listed_and_replaced_on_reuse(ours):
    from skbrainmusic.cli._output import prepare_output, write_output

    write_output(ours / "figures" / "a.png", _text("one"))
    write_output(ours / "results.json", _text("{}"))
    assert _manifest(ours) == ["figures/a.png", "results.json"]
    assert prepare_output(ours) == ours  # an earlier output of ours is accepted
    write_output(ours / "figures" / "a.png", _text("two"))
    assert (ours / "figures" / "a.png").read_text() == "two"
    assert _manifest(ours) == ["figures/a.png", "results.json"]


def test_file_the_user_put_in_our_folder_is_never_replaced(ours):
    from skbrainmusic.cli._common import CLIError
    from skbrainmusic.cli._output import write_output

    (ours / "report.html").write_text("my notes")
    with pytest.raises(CLIError, match="exists and was not written by skbrainmusic"):
        write_output(ours / "report.html", _text("report"))
    assert (ours / "report.html").read_text() == "my notes"


def test_link_at_a_destination_in_our_folder_is_refused(ours, tmp_path):
    from skbrainmusic.cli._common import CLIError
    from skbrainmusic.cli._output import write_output

    write_output(ours / "results.json", _text("{}"))
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me")
    (ours / "results.json").unlink()
    (ours / "results.json").symlink_to(outside)
    with pytest.raises(CLIError, match="is a symbolic link"):
        write_output(ours / "results.json", _text("{}"))
    assert outside.read_text() == "keep me"


def test_linked_sub_folder_is_refused(ours, tmp_path):
    from skbrainmusic.cli._common import CLIError
    from skbrainmusic.cli._output import write_output

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (ours / "figures").symlink_to(elsewhere)
    with pytest.raises(CLIError, match="not a plain folder"):
        write_output(ours / "figures" / "a.png", _text("x"))
    assert list(elsewhere.iterdir()) == []


def test_failed_write_keeps_the_previous_file(ours):
    from skbrainmusic.cli._output import write_output

    write_output(ours / "results.json", _text("old"))

    def broken(temporary):
        temporary.write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_output(ours / "results.json", broken)
    assert (ours / "results.json").read_text() == "old"
    assert sorted(p.name for p in ours.iterdir()) == [MARKER, "results.json"]


def test_parent_references_are_refused(ours, tmp_path):
    from skbrainmusic.cli._common import CLIError
    from skbrainmusic.cli._output import write_output

    with pytest.raises(CLIError, match=r"'\.\.'"):
        write_output(ours / "audio" / ".." / ".." / "escaped.wav", _text("x"))
    assert not (tmp_path / "escaped.wav").exists()


@pytest.mark.parametrize("exists", [False, True])
def test_outside_an_output_folder_nothing_is_overwritten(tmp_path, exists):
    from skbrainmusic.cli._common import CLIError
    from skbrainmusic.cli._output import write_output

    path = tmp_path / "bars.png"
    if exists:
        path.write_text("mine")
        with pytest.raises(CLIError, match="exists and was not written"):
            write_output(path, _text("figure"))
        assert path.read_text() == "mine"
    else:
        write_output(path, _text("figure"))
        assert path.read_text() == "figure"


# --------------------------------------------------------------------------------------
# decode / encode on a tiny BIDS tree: loader errors reach the user whole, on one line
# --------------------------------------------------------------------------------------

_HEADER = "onset\tduration\tgenre\ttrack\tstart\tend\n"


def _mini_tree(root, gtzan_tracks=()):
    """One training and one test run of three 15 s clips on a 2x2x2 grid (30 volumes);
    GTZAN tones for ``gtzan_tracks``."""
    func = root / "bids" / "sub-001" / "func"
    func.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for task, tracks in (("Training", (1, 2, 3)), ("Test", (4, 5, 5))):
        rows = [f"{15 * i}\t15\tjazz\t{t}\t0\t15" for i, t in enumerate(tracks)]
        (func / f"sub-001_task-{task}_run-01_events.tsv").write_text(
            _HEADER + "\n".join(rows) + "\n")
        data = (1000 + rng.standard_normal((2, 2, 2, 30))).astype(np.float32)
        nib.save(nib.Nifti1Image(data, np.eye(4)),
                 func / f"sub-001_task-{task}_run-01_bold.nii")
    (root / "gtzan" / "jazz").mkdir(parents=True)
    for track in gtzan_tracks:
        t = np.arange(16 * 2000) / 2000
        soundfile.write(root / "gtzan" / "jazz" / f"jazz.{track:05d}.wav",
                        0.2 * np.sin(2 * np.pi * 300 * t), 2000)


@pytest.mark.parametrize("command", ["decode", "encode"])
def test_every_missing_gtzan_file_is_named_on_the_one_line(tmp_path, capsys, command):
    _mini_tree(tmp_path, gtzan_tracks=(1,))
    assert _real(command, tmp_path, "--out", str(tmp_path / "out")) == 2
    line = _one_error_line(capsys)
    assert "2 GTZAN file(s) could not be used" in line
    assert "jazz.00002.wav/.au: missing" in line and "jazz.00003.wav/.au: missing" in line


def test_empty_captions_file_is_named(tmp_path, capsys):
    _mini_tree(tmp_path, gtzan_tracks=(1, 2, 3, 4, 5))
    captions = tmp_path / "captions.csv"
    captions.write_bytes(b"")
    assert _real("decode", tmp_path, "--captions", str(captions), "--out",
                 str(tmp_path / "out")) == 2
    line = _one_error_line(capsys)
    assert f"The caption file {captions} is empty" in line


@pytest.mark.slow
def test_rerun_into_our_folder_replaces_only_our_files(tmp_path, capsys):
    out = tmp_path / "out"
    assert _demo(tmp_path, "--n-jobs", "1") == 0
    written = set(_manifest(out))
    assert {"report.html", "results.json"} <= written
    (out / "notes.txt").write_text("my notes")
    outside = tmp_path / "precious.png"
    outside.write_text("keep me")
    (out / "figures" / "roi_scores.png").unlink()
    (out / "figures" / "roi_scores.png").symlink_to(outside)
    capsys.readouterr()
    assert _demo(tmp_path, "--n-jobs", "1") == 2
    assert "is a symbolic link" in _one_error_line(capsys)
    assert outside.read_text() == "keep me"
    assert (out / "notes.txt").read_text() == "my notes"
    assert "notes.txt" not in _manifest(out)

"""The command line: parsing, user errors, model files and the report writer (fast tests)."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from skbrainmusic.cli import main
from skbrainmusic.cli._common import Progress
from skbrainmusic.cli._figures import grouped_bars
from skbrainmusic.cli._report import AudioRow, Section, Table, write_report
from skbrainmusic.experiments import mean_std, to_builtin


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert "skbrainmusic" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        main(["demo", "--help"])
    assert info.value.code == 0
    assert "--scheduler" in capsys.readouterr().out


def test_python_dash_m_runs_the_cli():
    result = subprocess.run([sys.executable, "-m", "skbrainmusic", "--version"],
                            capture_output=True, text=True, check=False,
                            env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("skbrainmusic ")


def _one_error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    return err[0]


def test_unwritable_out_is_one_line_and_exit_2(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    status = main(["demo", "--scale", "tiny", "--out", str(blocker / "report"), "--quiet"])
    assert status == 2
    line = _one_error_line(capsys)
    assert "cannot write to --out" in line and str(blocker) in line


def test_debug_shows_the_traceback(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    from skbrainmusic.cli._common import CLIError

    with pytest.raises(CLIError, match="cannot write"):
        main(["demo", "--out", str(blocker / "report"), "--debug", "--quiet"])


@pytest.mark.parametrize("option, message", [
    (["--n-subjects", "0"], "--n-subjects must be at least 1"),
    (["--n-jobs", "0"], "--n-jobs must be"),
])
def test_bad_demo_options(tmp_path, capsys, option, message):
    status = main(["demo", "--out", str(tmp_path), "--quiet", *option])
    assert status == 2
    assert message in _one_error_line(capsys)


def test_argparse_rejects_unknown_scale(capsys):
    with pytest.raises(SystemExit) as info:
        main(["demo", "--scale", "huge"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_report_is_self_contained(tmp_path):
    figure = grouped_bars({"a": {"x": {"mean": 0.7, "std": 0.1}}}, tmp_path / "bars.png",
                          ylabel="score", title="t", reference_lines={"a": {"chance": 0.5}})
    (tmp_path / "audio").mkdir()
    wav = tmp_path / "audio" / "clip.wav"
    wav.write_bytes(b"RIFF")
    sections = [Section("Numbers", "first paragraph\n\nsecond <b>escaped</b>",
                        tables=[Table(["name", "value"], [["acc", "0.700 \u00b1 0.100"]])],
                        figures=[figure], audio=[AudioRow("clip 1", {"stimulus": wav})])]
    report, results = write_report(tmp_path, "Title", sections,
                                   {"score": np.float32(0.5), "arr": np.arange(3)})
    text = report.read_text(encoding="utf-8")
    assert "data:image/png;base64," in text
    assert 'src="audio/clip.wav"' in text
    assert "&lt;b&gt;escaped&lt;/b&gt;" in text
    assert "0.700 \u00b1 0.100" in text
    assert json.loads(results.read_text()) == {"score": 0.5, "arr": [0, 1, 2]}


def test_results_json_refuses_nan(tmp_path):
    with pytest.raises(ValueError):
        write_report(tmp_path, "t", [], {"score": math.nan})


def test_helpers():
    summary = mean_std([1.0, 3.0])
    assert summary == {"mean": 2.0, "std": 1.0, "values": [1.0, 3.0]}
    assert to_builtin({"a": (np.int64(2), np.zeros(2))}) == {"a": [2, [0.0, 0.0]]}


def test_progress_is_silent_when_quiet(capsys):
    progress = Progress(quiet=True)
    assert list(progress.track([1, 2], "step")) == [1, 2]
    progress.log("hello")
    assert capsys.readouterr().err == ""
    loud = Progress()
    list(loud.track([1, 2], "step"))
    assert "step [####################] 2/2" in capsys.readouterr().err


@pytest.mark.parametrize("options, message", [
    (["--generator", "musicldm"], "--generator musicldm needs --generator-model PATH"),
    (["--generator-model", "{models}"], "--generator-model is for --generator musicldm or "
                                        "audioldm, not --generator score"),
    (["--tagger", "ast"], "--tagger ast needs --tagger-model PATH"),
    (["--tagger-model", "{models}"], "--tagger-model is for --tagger ast"),
    (["--tagger", "ast", "--tagger-model", "{missing}"], "--tagger-model {missing} does not "
                                                          "exist"),
    (["--generator", "audioldm", "--generator-model", "{models}"],
     "--generator audioldm is conditioned on CLAP embeddings: use --embedding clap"),
])
def test_decode_generator_and_tagger_options(tmp_path, capsys, options, message):
    (tmp_path / "bids").mkdir()
    (tmp_path / "gtzan").mkdir()
    (tmp_path / "models").mkdir()
    paths = {"models": tmp_path / "models", "missing": tmp_path / "missing"}
    options = [option.format(**paths) for option in options]
    status = main(["decode", "--bids", str(tmp_path / "bids"), "--subject", "1", "--gtzan",
                   str(tmp_path / "gtzan"), "--out", str(tmp_path / "out"), "--quiet",
                   *options])
    assert status == 2
    assert message.format(**paths) in _one_error_line(capsys)


def test_decode_help_names_the_papers_path(capsys):
    with pytest.raises(SystemExit):
        main(["decode", "--help"])
    text = capsys.readouterr().out
    for option in ("--generator {score,spectrogram,musicldm,audioldm}", "--generator-model PATH",
                   "--tagger {embedding,ast}", "--tagger-model PATH"):
        assert option in text


def test_local_workers_stop_with_the_parallel_context():
    # Idle workers would keep their memory through the report writing that follows.
    psutil = pytest.importorskip("psutil")
    from joblib import Parallel, delayed

    from skbrainmusic.cli._common import parallel_context

    def workers():
        return [child for child in psutil.Process().children(recursive=True)
                if "LokyProcess" in " ".join(child.cmdline())]

    with parallel_context(2, None):
        pids = set(Parallel()(delayed(os.getpid)() for _ in range(4)))
        assert len(workers()) == 2 and os.getpid() not in pids
    psutil.wait_procs(workers(), timeout=10)
    assert workers() == []
    # later parallel work starts new workers
    assert os.getpid() not in set(Parallel(n_jobs=2)(delayed(os.getpid)() for _ in range(4)))

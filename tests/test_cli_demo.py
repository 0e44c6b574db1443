"""``skbrainmusic demo`` at the test-only tiny scale: outputs, numbers, Dask equivalence."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from skbrainmusic.cli import main
from skbrainmusic.persistence import load_model

pytestmark = pytest.mark.slow

# Numbers that legitimately differ between two runs.
_RUN_SPECIFIC = {"wall_time_s", "settings"}


@pytest.fixture(scope="module")
def data_home(tmp_path_factory):
    return tmp_path_factory.mktemp("data_home")


def _run_demo(out, data_home, *extra):
    status = main(["demo", "--scale", "tiny", "--out", str(out), "--data-home",
                   str(data_home), "--quiet", *extra])
    assert status == 0
    return json.loads((out / "results.json").read_text())


@pytest.fixture(scope="module")
def demo(tmp_path_factory, data_home):
    # A relative --out, as the README's `skbrainmusic demo` (default: skbrainmusic-demo).
    parent = tmp_path_factory.mktemp("demo")
    cwd = os.getcwd()
    os.chdir(parent)
    try:
        results = _run_demo(Path("skbrainmusic-demo"), data_home, "--n-jobs", "1")
    finally:
        os.chdir(cwd)
    return parent / "skbrainmusic-demo", results


def test_demo_writes_every_output(demo):
    out, results = demo
    files = results["files"]
    # Brains as in the paper's Figure 2: ROI scores and the encoding map on the cortex.
    assert {"roi_brain", "encoding_map"} <= set(files["figures"])
    for path in files["figures"].values():
        assert (out / path).stat().st_size > 1000
    for row in files["audio"]:
        assert set(row) == {"stimulus", "retrieved", "generated",
                            "generated from the true embedding"}
        for path in row.values():
            assert (out / path).is_file()
    assert len(files["models"]) == 2 * 5  # 2 tiny subjects x 5 embeddings
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == len(files["figures"])
    assert "<script" not in html
    assert results["model_roundtrip_identical"] is True
    # The score generator's decoded attributes beside the example clips' true ones, and the
    # controls beside generation.
    assert "Musical attributes decoded from fMRI" in html
    examples = results["example_attributes"]
    assert len(examples) == len(files["audio"])
    assert {"genre", "decoded_genre", "key", "decoded_key"} <= set(examples[0])
    assert {"shuffled responses", "genre-only resynthesis"} <= set(
        results["reconstruction"]["identification"])
    # Every subject's numbers with their interval and test against chance.
    assert "Uncertainty" in html and "p (chance)" in html
    entry = results["statistics"]["table1"]["librosa-10s"]["identification_test"]
    assert [subject["subject"] for subject in entry["subjects"]] == [1, 2]
    assert entry["ci"][0] < entry["mean"] < entry["ci"][1]


def test_demo_numbers_come_from_the_computation(demo):
    out, results = demo
    table1 = results["table1"]
    assert set(table1) == {"mel-1.5s", "librosa-5s", "caption-tfidf", "librosa-10s",
                           "modulation-10s"}
    subjects = results["subjects"]
    for key, row in table1.items():
        per_subject = [s["decoding"][key]["identification_test"] for s in subjects]
        assert row["identification_test"]["values"] == per_subject
        assert row["identification_test"]["mean"] == pytest.approx(np.mean(per_subject))
        # Fitting on the training clips scores them better than the held-out ones.
        assert row["identification_train"]["mean"] > row["identification_test"]["mean"]
    # The decoded music embedding beats chance on held-out clips, and the references bracket
    # the reconstructions: retrieving with the true embedding finds near neighbours.
    assert table1["librosa-10s"]["identification_test"]["mean"] > 0.55
    references = results["reconstruction"]["references"]
    assert references["oracle retrieval"]["identification"]["librosa-10s"] > 0.8
    assert abs(references["chance"]["identification"]["librosa-10s"] - 0.5) < 0.15
    html = (out / "report.html").read_text(encoding="utf-8")
    mean, std = (table1["librosa-10s"]["identification_test"][k] for k in ("mean", "std"))
    assert f"{mean:.3f} \u00b1 {std:.3f}" in html


def test_saved_decoder_predicts_like_a_refit(demo, data_home):
    from skbrainmusic.datasets import make_synthetic_study

    out, results = demo
    model = load_model(out / "models" / "sub-01_librosa-10s.skops")
    study = make_synthetic_study(subject=1, random_state=0, data_home=data_home,
                                 **results["settings"]["study"])
    predicted = model.predict(study.responses_test)
    assert predicted.shape[:2] == (len(study.clips_test), 4)
    assert list(model.named_steps["ridge"].selected_rois_.shape) == [6]


def _comparable(results):
    return {key: value for key, value in results.items() if key not in _RUN_SPECIFIC}


def test_dask_scheduler_gives_the_numbers_of_one_job(demo, tmp_path, data_home):
    distributed = pytest.importorskip("dask.distributed")
    _, reference = demo
    # One task at a time, as with --n-jobs 1: BLAS called from concurrent threads may split
    # its work differently, which changes float rounding (not the method).
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        results = _run_demo(tmp_path / "dask", data_home, "--scheduler", cluster.scheduler_address)
    assert results["settings"]["scheduler"] == cluster.scheduler_address
    assert _comparable(results) == _comparable(reference)


def test_unreachable_scheduler_is_one_line(tmp_path, capsys):
    status = main(["demo", "--scale", "tiny", "--out", str(tmp_path), "--quiet",
                   "--scheduler", "tcp://127.0.0.1:9"])
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot reach the Dask scheduler" in err[0]

"""``skbrainmusic decode`` and ``encode`` on a tiny temporary BIDS tree with the real events.

The tree mirrors ds003720 for sub-001: the 18 real events files, NIfTI runs of 4x4x2 voxels
(8 Destrieux ROIs), an atlas, and a GTZAN folder whose 540 tracks are short noise bursts at
a low sample rate (the loader resamples them). Every track is noise plus a tone whose pitch
is one of 7 levels, and one voxel of each ROI follows the pitch level of the clip being
heard, so decoding must beat chance.
"""

import json
import shutil

import nibabel as nib
import numpy as np
import pytest
import soundfile
from _mini_study import make_mini_study
from _tiny_models import (
    DIFFUSION_EMBEDDING_DIM,
    tiny_ast,
    tiny_clap,
    tiny_diffusion_components,
    tiny_diffusion_pipeline,
)

from skbrainmusic.cli import main
from skbrainmusic.persistence import load_model

pytestmark = pytest.mark.slow

GRID = (4, 4, 2)
AFFINE = np.diag([3.0, 3.0, 3.0, 1.0])
N_VOLUMES = 410
TRACK_RATE = 2000
ROI_IDS = np.repeat(np.arange(11101, 11109), 4)  # 8 Destrieux cortical ROIs x 4 voxels


def _read_events(path):
    from skbrainmusic.datasets import read_events

    return read_events(path)


def _level(clip_id):
    # A deterministic per-clip level (0..6) shared by the tone of the track and the voxels
    # (loudness would not do: the loader RMS-normalises the clips).
    return sum(map(ord, clip_id)) % 7


@pytest.fixture(scope="module")
def real_tree(tmp_path_factory, shared_data):
    root = tmp_path_factory.mktemp("real")
    bids = root / "ds003720"
    func = bids / "sub-001" / "func"
    func.mkdir(parents=True)
    gtzan = root / "gtzan"
    rng = np.random.default_rng(0)
    n_voxels = int(np.prod(GRID))
    seen = set()
    preprocessed = {"Training": [], "Test": []}
    for path in sorted((shared_data / "ds003720" / "sub-001" / "func").glob("*_events.tsv")):
        shutil.copy(path, func / path.name)
        events = _read_events(path)
        data = 1000 + 4 * rng.standard_normal((N_VOLUMES, n_voxels))
        for row in range(len(events)):
            clip = events.iloc[row]
            first = int(clip.onset / 1.5)
            data[first + 2: first + 12, ::4] += 8 * _level(clip.clip_id)
            if clip.clip_id not in seen:
                seen.add(clip.clip_id)
                folder = gtzan / clip.genre
                folder.mkdir(parents=True, exist_ok=True)
                # Just long enough for the clip: the loader reads the whole track.
                t = np.arange(int((clip.start + 15.1) * TRACK_RATE)) / TRACK_RATE
                pitch = 110.0 * 2 ** (_level(clip.clip_id) / 2)
                wave = np.sin(2 * np.pi * pitch * t) + 0.05 * rng.standard_normal(t.size)
                soundfile.write(folder / f"{clip.genre}.{int(clip.track):05d}.wav",
                                wave.astype(np.float32), TRACK_RATE)
        # The authors' arrays: 400 scans a run, the dummy clip's 10 dropped, z-scored.
        kept = data[10:]
        preprocessed[path.name.split("_")[1][5:]].append(
            (kept - kept.mean(axis=0)) / kept.std(axis=0))
        image = nib.Nifti1Image(np.round(data).astype(np.int16).T.reshape(GRID + (N_VOLUMES,)),
                                AFFINE)
        nib.save(image, func / path.name.replace("_events.tsv", "_bold.nii.gz"))
    arrays = root / "preprocessed"
    arrays.mkdir()
    for task, runs in preprocessed.items():
        np.save(arrays / f"sub-001_Resp_{task}.npy", np.concatenate(runs).astype(np.float32))
    atlas = root / "atlas.nii.gz"
    nib.save(nib.Nifti1Image(ROI_IDS.astype(np.int32).reshape(GRID), AFFINE), atlas)
    captions = shared_data / "brain2music" / "brain2music-captions.csv"
    return {"bids": bids, "gtzan": gtzan, "atlas": atlas, "captions": captions,
            "preprocessed": arrays}


def _args(tree, *extra):
    return ["--bids", str(tree["bids"]), "--subject", "1", "--gtzan", str(tree["gtzan"]),
            "--atlas", str(tree["atlas"]), "--embedding", "mel", "--quiet", *extra]


def test_decode_end_to_end(real_tree, tmp_path, capsys):
    out = tmp_path / "decode"
    status = main(["decode", *_args(real_tree, "--out", str(out), "--n-reconstructions", "3",
                                    "--captions", str(real_tree["captions"]))])
    assert status == 0, capsys.readouterr().err
    results = json.loads((out / "results.json").read_text())
    assert results["n_train"] == 480 and results["n_test"] == 60
    decoding = results["decoding"]
    assert set(decoding) == {"mel", "captions"}
    # The planted pitch makes the mel embedding decodable from the responses.
    assert decoding["mel"]["identification_test"] > 0.6
    # The default score generator: its controls beside it, the genre-mean reference.
    assert set(results["reconstruction"]) == {
        "retrieval", "generation", "shuffled responses", "genre-only resynthesis",
        "oracle retrieval", "oracle generation", "chance", "genre mean"}
    assert results["reconstruction"]["oracle retrieval"]["identification"] == 1.0
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and ".wav" in html
    model = load_model(out / "models" / "sub-01_mel.skops")
    assert model.named_steps["ridge"].n_features_in_ == ROI_IDS.size


def test_encode_end_to_end_with_maps(real_tree, tmp_path, capsys):
    out = tmp_path / "encode"
    # Without --captions: the banded-ridge variance partitioning takes minutes on 4,800
    # windows, too long for the test suite (it is exercised in the encoding module's tests).
    status = main(["encode", *_args(real_tree, "--out", str(out), "--n-permutations", "100")])
    assert status == 0, capsys.readouterr().err
    results = json.loads((out / "results.json").read_text())
    per_roi = {row["roi"]: row for row in results["per_roi"]}
    assert len(per_roi) == 8
    assert results["summary"]["n_voxels"] == ROI_IDS.size
    # Only voxels 0, 4, 8, ... carry the stimulus; the best voxels must be among them.
    assert results["summary"]["max_r"] > 0.3
    assert "variance_partitioning_mean_r2" not in results
    image = nib.load(out / "maps" / results["maps"]["r"])
    assert image.shape == GRID
    np.testing.assert_allclose(image.affine, AFFINE)


def test_decode_preprocessed_arrays_without_rois(real_tree, tmp_path, capsys):
    out = tmp_path / "decode-npy"
    args = _args(real_tree, "--out", str(out), "--n-reconstructions", "2",
                 "--preprocessed", str(real_tree["preprocessed"]), "--oof", "refit")
    atlas = args.index("--atlas")
    del args[atlas: atlas + 2]
    assert main(["decode", *args]) == 0, capsys.readouterr().err
    results = json.loads((out / "results.json").read_text())
    assert results["experiment"]["settings"]["oof"] == "refit"
    assert results["selected_rois"] is None
    assert results["decoding"]["mel"]["identification_test"] > 0.6
    assert "whole-brain ridge" in (out / "report.html").read_text()


def test_atlas_with_preprocessed_arrays_is_refused(real_tree, tmp_path, capsys):
    args = _args(real_tree, "--out", str(tmp_path), "--preprocessed",
                 str(real_tree["preprocessed"]))
    assert main(["decode", *args]) == 2
    assert "--mask and --atlas apply to the NIfTI runs" in capsys.readouterr().err


@pytest.mark.parametrize("change, message", [
    ({"--subject": "7"}, "sub-007"),
    ({"--gtzan": "/nonexistent/gtzan"}, "--gtzan /nonexistent/gtzan does not exist"),
    ({"--model": "/nonexistent/clap", "--embedding": "clap"},
     "--model /nonexistent/clap does not exist"),
])
def test_user_errors_are_one_line(real_tree, tmp_path, capsys, change, message):
    args = _args(real_tree, "--out", str(tmp_path / "o"))
    for option, value in change.items():
        if option in args:
            args[args.index(option) + 1] = value
        else:
            args += [option, value]
    assert main(["decode", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_decode_the_papers_path_clap_musicldm_ast(tmp_path, monkeypatch, capsys):
    """decode --embedding clap --generator musicldm --tagger ast, each model from a local
    folder (tiny random models saved there). The data loading, tested above, is replaced by
    a small study of 15 s clips."""
    pytest.importorskip("diffusers")
    transformers = pytest.importorskip("transformers")

    from skbrainmusic.cli import _decode

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    models = {name: tmp_path / name for name in ("clap", "musicldm", "ast")}
    clap, _ = tiny_clap(DIFFUSION_EMBEDDING_DIM)
    clap.save_pretrained(models["clap"])
    # 10 s windows (Table A.2's for CLAP) at 800 Hz: the tiny model's 100 frames.
    transformers.ClapFeatureExtractor(
        feature_size=16, sampling_rate=800, hop_length=80, max_length_s=10,
        fft_window_size=256, frequency_min=20, frequency_max=400,
    ).save_pretrained(models["clap"])
    tiny_diffusion_pipeline("musicldm", tiny_diffusion_components()).save_pretrained(
        models["musicldm"])
    tiny_ast().save_pretrained(models["ast"])
    transformers.ASTFeatureExtractor(num_mel_bins=16, max_length=24).save_pretrained(
        models["ast"])
    study = make_mini_study(n_train=24, n_test=8, clip_duration=15.0, n_rois=7)
    monkeypatch.setattr(_decode, "load_subject", lambda args, paths, progress: study)
    for folder in ("bids", "gtzan"):
        (tmp_path / folder).mkdir()
    out = tmp_path / "decode"
    status = main(["decode", "--bids", str(tmp_path / "bids"), "--subject", "1", "--gtzan",
                   str(tmp_path / "gtzan"), "--embedding", "clap", "--model",
                   str(models["clap"]), "--generator", "musicldm", "--generator-model",
                   str(models["musicldm"]), "--tagger", "ast", "--tagger-model",
                   str(models["ast"]), "--n-reconstructions", "4", "--out", str(out),
                   "--quiet"])
    assert status == 0, capsys.readouterr().err
    results = json.loads((out / "results.json").read_text())
    assert set(results["decoding"]) == {"clap"}
    assert set(results["reconstruction"]) == {"retrieval", "generation", "shuffled responses",
                                              "oracle retrieval", "oracle generation",
                                              "chance", "genre mean"}
    assert all("genre_top2_agreement" in scores
               for scores in results["reconstruction"].values())
    experiment = results["experiment"]
    assert experiment["settings"]["generator"] == "musicldm"
    assert experiment["settings"]["tagger"] == "ast"
    # Decoded for MusicLDM: the CLAP embedding stays in CLAP's own space.
    assert experiment["embeddings"]["clap"]["standardize"] is False
    assert experiment["embeddings"]["clap"]["dimension"] == DIFFUSION_EMBEDDING_DIM
    agreement = experiment["reconstruction"]["agreement"]["generation"]
    assert set(agreement) == {"genres", "instruments", "moods"}
    html = (out / "report.html").read_text()
    assert "generated" in html and ".wav" in html
    assert len(list((out / "audio").glob("*_generated.wav"))) == 2

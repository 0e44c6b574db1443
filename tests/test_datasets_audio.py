"""Captions, GTZAN clips and the FMA corpus on small files written by the tests."""

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from skbrainmusic.datasets import (
    KNOWN_BROKEN_TRACKS,
    load_captions,
    load_fma,
    load_gtzan_clips,
    prepare_clips,
    read_events,
)

SR = 22050


def test_real_captions_join_every_ds003720_clip(shared_data):
    with pytest.warns(UserWarning, match=r"'disco\.000011_15s' read as 'disco\.00011'"):
        captions = load_captions(shared_data / "brain2music" / "brain2music-captions.csv")
    assert len(captions) == 540 and captions.clip_id.is_unique
    events = pd.concat(
        read_events(p) for p in (shared_data / "ds003720" / "sub-001" / "func").glob("*_events.tsv")
    ).drop_duplicates("clip_id")
    assert len(events) == 540
    with pytest.warns(UserWarning):
        joined = load_captions(shared_data / "brain2music" / "brain2music-captions.csv", events)
    assert len(joined) == 540 and all(isinstance(c, str) and c for c in joined)


def test_captions_errors(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("\ufeffID,DescEN\nblues.00000_15s,A.\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"no caption for 1 clip\(s\): \['jazz\.00001'\]"):
        load_captions(path, pd.DataFrame({"clip_id": ["blues.00000", "jazz.00001"]}))
    path.write_text("id,text\nblues.00000_15s,A.\n", encoding="utf-8")
    with pytest.raises(ValueError, match="expected the Brain2Music header"):
        load_captions(path)


def test_prepare_clips_fades_and_rms():
    audio = prepare_clips(np.ones((2, SR * 15)), SR)
    assert audio[:, 0].max() == 0 and audio[:, -1].max() < 1e-3
    np.testing.assert_allclose(np.sqrt((audio.astype(float) ** 2).mean(axis=1)), 0.05, rtol=1e-4)
    assert np.all(prepare_clips(np.zeros((1, 100)), SR) == 0)


def _tone(freq, seconds=30.0, sr=SR):
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_gtzan_clips_cut_at_start(tmp_path):
    (tmp_path / "jazz").mkdir()
    (tmp_path / "rock").mkdir()
    ramp = np.linspace(0.1, 0.9, 30 * SR).astype(np.float32)
    sf.write(tmp_path / "jazz" / "jazz.00003.wav", ramp, SR)
    sf.write(tmp_path / "rock" / "rock.00010.au", _tone(440.0, sr=11025), 11025)  # resampled
    clips = pd.DataFrame({"genre": ["jazz", "rock"], "track": [3, 10], "start": [10.0, 2.5]})
    audio = load_gtzan_clips(tmp_path, clips)
    assert audio.shape == (2, 15 * SR) and audio.dtype == np.float32
    # The middle of the jazz clip is the ramp at 17.5 s, up to the RMS scaling.
    raw = ramp[int(10 * SR): int(25 * SR)]
    scale = audio[0, 5 * SR: 10 * SR] / raw[5 * SR: 10 * SR]
    np.testing.assert_allclose(scale, scale[0], rtol=1e-3)
    spectrum = np.abs(np.fft.rfft(audio[1]))
    assert abs(np.fft.rfftfreq(audio.shape[1], 1 / SR)[spectrum.argmax()] - 440.0) < 1.0


def test_gtzan_lists_every_bad_file(tmp_path):
    (tmp_path / "jazz").mkdir()
    (tmp_path / "jazz" / "jazz.00054.wav").write_bytes(b"RIFF garbage")
    clips = pd.DataFrame({"genre": ["jazz", "pop"], "track": [54, 1], "start": [0.0, 0.0]})
    pattern = r"(?s)2 GTZAN file\(s\).*jazz\.00054\.wav: unreadable.*pop\.00001"
    with pytest.raises(ValueError, match=pattern):
        load_gtzan_clips(tmp_path, clips)


def _write_fma(root, ids_subsets):
    meta = root / "fma_metadata"
    meta.mkdir(parents=True)
    lines = [
        ",artist,set,set,track,track",
        ",name,split,subset,genre_top,title",
        "track_id,,,,,",
    ]
    for tid, subset in ids_subsets:
        lines.append(f"{tid},Artist {tid},training,{subset},Rock,Title {tid}")
    (meta / "tracks.csv").write_text("\n".join(lines) + "\n")
    for tid, _subset in ids_subsets:
        folder = root / "fma_large" / f"{tid:06d}"[:3]
        folder.mkdir(parents=True, exist_ok=True)
        sf.write(folder / f"{tid:06d}.mp3", _tone(220.0 + tid % 100, seconds=20.0), SR)


def test_fma_subsets_lazy_audio_and_known_broken(tmp_path):
    broken = KNOWN_BROKEN_TRACKS[0]
    _write_fma(tmp_path, [(2, "small"), (5, "medium"), (140, "large"), (broken, "small")])
    with pytest.warns(UserWarning, match=str(broken)):
        corpus = load_fma(tmp_path, subset="large")
    assert corpus.clips.clip_id.tolist() == [2, 5, 140] and corpus.skipped == [broken]
    assert len(corpus.audio) == 3
    clip = corpus.audio[1]
    assert clip.shape == (15 * SR,) and clip.dtype == np.float32
    assert corpus.audio[0:2].shape == (2, 15 * SR)
    with pytest.warns(UserWarning):
        small = load_fma(tmp_path, subset="small", audio_dir=tmp_path / "fma_large")
    assert small.clips.clip_id.tolist() == [2]


def test_fma_errors(tmp_path):
    _write_fma(tmp_path, [(2, "small"), (5, "small")])
    (tmp_path / "fma_large" / "000" / "000005.mp3").unlink()
    with pytest.raises(ValueError, match=r"1 of 2 MP3 file\(s\) .* missing"):
        load_fma(tmp_path)
    with pytest.warns(UserWarning, match=r"\[5\]"):
        corpus = load_fma(tmp_path, exclude=[5])
    (tmp_path / "fma_large" / "000" / "000002.mp3").write_bytes(b"not audio")
    with pytest.raises(ValueError, match=r"Cannot decode .*000002\.mp3"):
        corpus.audio[0]
    with pytest.raises(ValueError, match="subset must be one of"):
        load_fma(tmp_path, subset="tiny")

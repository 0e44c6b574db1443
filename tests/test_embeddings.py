"""AudioEmbedder: window geometry, offline backends, input handling, cache, standardisation.

The scikit-learn API contract (clone, pickle, parameters, NotFittedError) is checked by the
replacement suite of tests/test_common.py.
"""

import os

import numpy as np
import pytest
import soundfile
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from skbrainmusic import AudioEmbedder, TemporalWindowAligner, n_windows
from skbrainmusic.datasets import make_synthetic_study
from skbrainmusic.embeddings import _librosa, _modulation

SR = 22050


def raw_embedder(**params):
    """The raw features (the tests of what each feature measures need their units)."""
    return AudioEmbedder(standardize=False, **params)


def _tone(frequency, seconds=15.0, sample_rate=SR):
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (0.5 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def _clicks(bpm, seconds=15.0, sample_rate=SR):
    audio = np.zeros(int(seconds * sample_rate), dtype=np.float32)
    burst = np.random.default_rng(0).standard_normal(200).astype(np.float32)
    for onset in np.arange(0, seconds, 60.0 / bpm):
        start = int(onset * sample_rate)
        audio[start : start + 200] = burst[: len(audio[start : start + 200])]
    return audio


@pytest.fixture(scope="module")
def clips():
    rng = np.random.default_rng(0)
    noise = 0.1 * rng.standard_normal((2, 15 * SR)).astype(np.float32)
    return np.stack([_tone(440.0), _clicks(120.0), noise[0] + _tone(261.63), noise[1]])


DIMENSIONS = {"librosa": 210, "mel": 128, "modulation": 64}


@pytest.mark.parametrize("backend", ["librosa", "mel", "modulation"])
@pytest.mark.parametrize(("window", "expected"), [(None, 4), (10.0, 4), (5.0, 7), (1.5, 10),
                                                  (15.0, 1)])
def test_window_counts_match_table_a2_and_aligner(clips, backend, window, expected):
    out = raw_embedder(backend=backend, window=window, sample_rate=SR).transform(clips[:2])
    assert out.shape == (2, expected, DIMENSIONS[backend]) and out.dtype == np.float32
    assert np.isfinite(out).all()
    responses = np.zeros((2, 10, 3), dtype=np.float32)
    aligned = TemporalWindowAligner(window=window or 10.0).fit_transform(responses)
    assert aligned.shape[1] == out.shape[1] == n_windows(15.0, window or 10.0, 1.5)


@pytest.mark.parametrize("backend", ["librosa", "mel", "modulation"])
def test_each_window_depends_only_on_its_samples(clips, backend):
    embedder = raw_embedder(backend=backend, window=5.0, sample_rate=SR)
    full = embedder.transform(clips)
    for k in (0, 3, 6):
        start = int(round(k * 1.5 * SR))
        alone = embedder.transform(clips[:, start : start + 5 * SR])
        assert alone.shape[1] == 1
        np.testing.assert_allclose(alone[:, 0], full[:, k], rtol=1e-5, atol=1e-4)


def test_librosa_features_measure_what_they_claim(clips):
    out = raw_embedder(sample_rate=SR).transform(clips)
    chroma_mean = out[:, :, 168:180]
    assert (chroma_mean[0].argmax(axis=1) == 9).all()  # 440 Hz is an A
    assert (chroma_mean[2].argmax(axis=1) == 0).all()  # 261.63 Hz is a C
    tempo, clarity = out[1, :, 208], out[1, :, 209]
    np.testing.assert_allclose(tempo, 120.0, rtol=0.03)
    assert (clarity > 0.5).all()
    assert (out[3, :, 209] < clarity.min()).all()  # noise has a weaker pulse than clicks
    # A tone and white noise differ most in the spread of their spectra.
    assert out[0, 0, :64].std() > out[3, 0, :64].std()


def test_silence_is_finite_without_a_pulse():
    out = raw_embedder(sample_rate=SR).transform(np.zeros((1, 15 * SR), np.float32))
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out[0, :, 208:], 0.0)


def _amplitude_modulated(rate, seed, seconds=15.0):
    """White noise whose amplitude swings between 0.1 and 1.9 times ``rate`` per second."""
    t = np.arange(int(seconds * SR)) / SR
    carrier = np.random.default_rng(seed).standard_normal(t.size)
    return (0.3 * carrier * (1 + 0.9 * np.sin(2 * np.pi * rate * t))).astype(np.float32)


def test_modulation_features_recover_the_modulation_rate():
    edges = _modulation.RATE_EDGES
    centres = np.sqrt(edges[:-1] * edges[1:])
    rates = centres[[1, 3, 4, 6, 7]]  # 1.0, 2.5, 4.0, 10.0, 15.9 Hz
    audio = np.stack([_amplitude_modulated(rate, seed) for seed, rate in enumerate(rates)])
    out = raw_embedder(backend="modulation", sample_rate=SR).transform(audio)
    # feature 8 * band + rate: the profile over rates, averaged over bands and windows
    profile = out.reshape(len(rates), 4, 8, 8).mean(axis=(1, 2))
    np.testing.assert_array_equal(profile.argmax(axis=1), [1, 3, 4, 6, 7])
    # Unmodulated noise (the same carrier) has far less power at each of these rates.
    flat = raw_embedder(backend="modulation", sample_rate=SR).transform(
        (0.3 * np.random.default_rng(9).standard_normal((1, 15 * SR))).astype(np.float32))
    flat_profile = flat.reshape(4, 8, 8).mean(axis=(0, 1))
    peaks = profile[np.arange(len(rates)), [1, 3, 4, 6, 7]]
    assert np.all(peaks > flat_profile[[1, 3, 4, 6, 7]] + 10.0)


def test_modulation_features_separate_rates_not_carriers():
    # Two carriers at 2.5 Hz and one at 10 Hz: the rate decides, the noise sample does not.
    audio = np.stack([_amplitude_modulated(2.5, 0), _amplitude_modulated(2.5, 1),
                      _amplitude_modulated(10.0, 2)])
    out = raw_embedder(backend="modulation", sample_rate=SR).transform(audio).mean(axis=1)
    same = np.linalg.norm(out[0] - out[1])
    assert np.linalg.norm(out[0] - out[2]) > 5 * same
    assert np.linalg.norm(out[1] - out[2]) > 5 * same


def test_modulation_of_silence_and_tones_is_finite():
    audio = np.stack([np.zeros(15 * SR, np.float32), _tone(440.0), _amplitude_modulated(4.0, 0)])
    out = raw_embedder(backend="modulation", window=1.5, sample_rate=SR).transform(audio)
    assert np.isfinite(out).all()
    # Silence sits at the floor of -100 dB; a steady tone far below a modulated sound.
    np.testing.assert_array_equal(out[0], -100.0)
    assert out[1].max() < out[2].max() - 15.0


def test_resampling_to_the_backend_rate():
    tone_44k = _tone(440.0, sample_rate=44100)[np.newaxis]
    tone_22k = _tone(440.0)[np.newaxis]
    from_44k = raw_embedder(backend="mel", sample_rate=44100).transform(tone_44k)
    from_22k = raw_embedder(backend="mel", sample_rate=SR).transform(tone_22k)
    loud = from_22k > from_22k.max() - 40  # bands within 40 dB of the peak
    np.testing.assert_allclose(from_44k[loud], from_22k[loud], atol=0.5)


@pytest.mark.parametrize("backend", ["librosa", "modulation"])
def test_batching_and_determinism(clips, backend):
    embedder = raw_embedder(backend=backend, window=5.0, sample_rate=SR, batch_size=4)
    batched = embedder.transform(clips)
    singles = np.concatenate([embedder.transform(clips[i : i + 1]) for i in range(4)])
    np.testing.assert_allclose(batched, singles, rtol=1e-5, atol=1e-5)
    one_at_a_time = clone(embedder).set_params(batch_size=1).transform(clips)
    np.testing.assert_allclose(batched, one_at_a_time, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(batched, embedder.transform(clips))


def test_paths_and_clip_duration(tmp_path, clips):
    paths = []
    for i, seconds in enumerate((15.0, 14.99)):
        paths.append(tmp_path / f"clip{i}.wav")
        soundfile.write(paths[-1], clips[i, : int(seconds * 16000)], 16000, subtype="FLOAT")
    # The 14.99 s excerpt alone has 9 windows of 1.5 s; clip_duration pads it to 10.
    assert raw_embedder(window=1.5).transform([paths[1]]).shape[1] == 9
    with pytest.raises(ValueError, match="clip_duration"):
        raw_embedder(window=1.5).transform(paths)
    from_paths = raw_embedder(window=1.5, clip_duration=15.0).transform(paths)
    assert from_paths.shape == (2, 10, 210)
    arrays = np.zeros((2, 15 * 16000), np.float32)
    arrays[0] = clips[0, : 15 * 16000]
    arrays[1, : int(14.99 * 16000)] = clips[1, : int(14.99 * 16000)]
    from_arrays = raw_embedder(window=1.5, sample_rate=16000).transform(arrays)
    np.testing.assert_allclose(from_paths, from_arrays, rtol=1e-5, atol=1e-4)
    cut = raw_embedder(window=1.5, sample_rate=SR, clip_duration=6.0).transform(clips[:1])
    assert cut.shape[1] == 4
    ragged = [arrays[0], arrays[1, : int(14.99 * 16000)]]
    from_list = raw_embedder(window=1.5, sample_rate=16000, clip_duration=15.0)
    np.testing.assert_array_equal(from_list.transform(ragged), from_arrays)


def test_cache_hits_misses_and_keys(tmp_path, clips, monkeypatch):
    embedder = raw_embedder(window=5.0, sample_rate=SR, cache=tmp_path / "cache").fit()
    first = embedder.transform(clips[:3])
    files = sorted((tmp_path / "cache").rglob("*.npy"))
    assert len(files) == 3

    def refuse(*args, **kwargs):
        raise AssertionError("the backend ran although every clip was cached")

    monkeypatch.setattr(embedder.backend_, "embed", refuse)
    np.testing.assert_array_equal(embedder.transform(clips[:3]), first)
    monkeypatch.undo()
    # New audio and new settings are misses, never stale hits.
    embedder.transform(clips[1:4])
    assert len(list((tmp_path / "cache").rglob("*.npy"))) == 4
    other = raw_embedder(window=1.5, sample_rate=SR, cache=tmp_path / "cache")
    assert other.transform(clips[:1]).shape == (1, 10, 210)
    assert len(list((tmp_path / "cache").rglob("*.npy"))) == 5
    mel = raw_embedder(backend="mel", window=5.0, sample_rate=SR, cache=tmp_path / "cache")
    assert mel.transform(clips[:1]).shape[2] == 128
    modulation = raw_embedder(backend="modulation", window=5.0, sample_rate=SR,
                              cache=tmp_path / "cache")
    assert modulation.transform(clips[:1]).shape[2] == 64
    assert len(list((tmp_path / "cache").rglob("*.npy"))) == 7


def test_progress_bar(clips, capsys):
    pytest.importorskip("tqdm")  # optional: only progress=True needs it
    raw_embedder(sample_rate=SR, progress=True, batch_size=1).transform(clips[:2])
    assert "2/2" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("params", "audio", "error", "match"),
    [
        ({"sample_rate": SR}, np.zeros(15 * SR), ValueError, "2-D array"),
        ({}, np.zeros((1, 15 * SR)), ValueError, "sample_rate"),
        ({"backend": "mulan", "sample_rate": SR}, np.zeros((1, SR)), ValueError, "mulan"),
        ({"model": "x", "sample_rate": SR}, np.zeros((1, SR)), ValueError, "no model"),
        ({"layer": 3, "sample_rate": SR}, np.zeros((1, SR)), ValueError, "no model"),
        ({"sample_rate": SR}, "clip.wav", TypeError, "list of paths"),
        ({"window": 0.05, "step": 0.05, "sample_rate": SR}, np.zeros((1, SR)), ValueError,
         "shorter than one"),
        ({"sample_rate": SR}, np.zeros((1, 5 * SR)), ValueError, "longer than the clip"),
        ({"sample_rate": SR, "batch_size": 0}, np.zeros((1, SR)), ValueError, "batch_size"),
        ({"sample_rate": SR, "cache": 3}, np.zeros((1, SR)), TypeError, "cache"),
        ({"sample_rate": SR, "clip_duration": -1}, np.zeros((1, SR)), ValueError,
         "clip_duration"),
        ({}, [np.zeros(SR)], ValueError, "sample_rate"),
    ],
)
@pytest.mark.parametrize("standardize", [True, False])
def test_errors_name_the_problem(params, audio, error, match, standardize):
    # fit embeds its clips when standardising, so it reports what transform reports.
    embedder = AudioEmbedder(standardize=standardize, **params)
    with pytest.raises(error, match=match):
        if standardize:
            embedder.fit(audio)
        else:
            embedder.transform(audio)


@pytest.mark.parametrize("center", [False, True])
@pytest.mark.parametrize(("n_clips", "n_samples"), [(1, 2048), (3, 40000)])
def test_stft_power_is_librosas_bit_for_bit(center, n_clips, n_samples):
    import librosa

    clips = np.random.default_rng(1).standard_normal((n_clips, n_samples)).astype(np.float32)
    power = _librosa.stft_power(clips, 2048, 525, center=center)
    reference = np.abs(librosa.stft(clips, n_fft=2048, hop_length=525, center=center)) ** 2
    # The same layout too: sums over frequencies then round as on librosa's spectrogram.
    assert power.flags.f_contiguous and reference.flags.f_contiguous
    np.testing.assert_array_equal(power, reference)
    if n_samples > 2048:
        # Several blocks of frames, the last one cut short.
        assert power.shape[-1] % _librosa._STFT_BLOCK and power.shape[-1] > _librosa._STFT_BLOCK


@pytest.mark.parametrize(("clips", "match"), [
    (np.zeros((2, 4096)), "2-D float32"),
    (np.zeros(4096, dtype=np.float32), "2-D float32"),
    (np.zeros((2, 1000), dtype=np.float32), "shorter than one frame"),
    (np.full((1, 4096), np.nan, dtype=np.float32), "NaN or infinite"),
])
def test_stft_power_names_bad_input(clips, match):
    with pytest.raises(ValueError, match=match):
        _librosa.stft_power(clips, 2048, 525)


@pytest.mark.parametrize("backend", ["librosa", "mel", "modulation"])
def test_backends_embed_as_on_librosas_stft(clips, backend, monkeypatch):
    import librosa

    def librosa_power(clips, n_fft, hop_length, *, center=False):
        return np.abs(librosa.stft(clips, n_fft=n_fft, hop_length=hop_length,
                                   center=center)) ** 2

    embedder = raw_embedder(backend=backend, sample_rate=SR)
    embedded = embedder.transform(clips)
    monkeypatch.setattr(_librosa, "stft_power", librosa_power)
    np.testing.assert_array_equal(embedded, embedder.transform(clips))


def test_librosa_dimension_is_documented():
    assert _librosa.LibrosaBackend.dim == 210
    assert _modulation.ModulationBackend.dim == 64 and len(_modulation.RATE_EDGES) == 9
    assert _librosa.FRAME_RATE == 42.0


def test_default_backend_on_the_synthetic_study(tmp_path_factory):
    study = make_synthetic_study(n_train_runs=1, n_test_runs=1, n_voxels=300, n_corpus=0,
                                 data_home=tmp_path_factory.mktemp("study"))
    embedded = raw_embedder(sample_rate=study.sample_rate).transform(study.audio_train)
    aligned = TemporalWindowAligner().fit_transform(study.responses_train)
    assert embedded.shape == (40, 4, 210) and aligned.shape[:2] == (40, 4)
    assert np.isfinite(embedded).all()
    # The features tell the genres apart: leave-one-out nearest genre centroid beats chance
    # (0.1) by far, and the same procedure on shuffled genres does not.
    features = embedded.mean(axis=1)
    features = (features - features.mean(0)) / (features.std(0) + 1e-12)
    genres = study.clips_train["genre"].to_numpy()

    def loo_accuracy(labels):
        hits = 0
        for i in range(len(labels)):
            others = np.arange(len(labels)) != i
            names = np.unique(labels[others])
            centroids = np.stack([features[others & (labels == g)].mean(0) for g in names])
            hits += names[np.argmin(((centroids - features[i]) ** 2).sum(1))] == labels[i]
        return hits / len(labels)

    assert loo_accuracy(genres) > 0.5
    assert loo_accuracy(np.random.default_rng(0).permutation(genres)) < 0.35
    # The tempo feature finds the rendered tempo for most clips; against another clip's
    # tempo it rarely does.
    tempo = embedded[:, :, 208].mean(axis=1)
    rendered = study.clips_train["tempo"].to_numpy()
    assert np.mean(np.abs(tempo / rendered - 1) < 0.08) > 0.6
    shuffled = np.random.default_rng(0).permutation(rendered)
    assert np.mean(np.abs(tempo / shuffled - 1) < 0.08) < 0.3


# --- standardisation ----------------------------------------------------------------------

def test_fit_learns_the_statistics_of_every_window_and_transform_applies_them(clips):
    raw = raw_embedder(window=5.0, sample_rate=SR).transform(clips)
    embedder = AudioEmbedder(window=5.0, sample_rate=SR).fit(clips[:3])
    flat = raw[:3].reshape(-1, raw.shape[-1]).astype(np.float64)
    np.testing.assert_allclose(embedder.mean_, flat.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(embedder.scale_, np.where(np.ptp(flat, axis=0) == 0, 1.0,
                                                         flat.std(axis=0)), rtol=1e-5)
    out = embedder.transform(clips)
    assert out.dtype == np.float32 and out.shape == raw.shape
    # The held-out clip is scaled with the training statistics, not its own.
    np.testing.assert_allclose(out * embedder.scale_ + embedder.mean_, raw, rtol=1e-4,
                               atol=1e-3)
    standardised = out[:3].reshape(-1, raw.shape[-1])
    varying = np.ptp(flat, axis=0) > 0
    np.testing.assert_allclose(standardised.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(standardised.std(axis=0)[varying], 1.0, rtol=1e-3)
    # The raw scales differ by orders of magnitude; the standardised ones do not.
    assert flat.std(axis=0)[varying].max() > 100 * flat.std(axis=0)[varying].min()


def test_a_constant_dimension_keeps_scale_one_and_maps_to_zero():
    silence = np.zeros((2, 15 * SR), np.float32)
    embedder = AudioEmbedder(sample_rate=SR).fit(silence)
    np.testing.assert_array_equal(embedder.scale_, 1.0)
    out = embedder.transform(silence)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, 0.0, atol=1e-6)


def test_standardisation_needs_fit_and_says_how_to_avoid_it(clips):
    with pytest.raises(NotFittedError, match="standardize=False"):
        AudioEmbedder(sample_rate=SR).transform(clips[:1])
    with pytest.raises(ValueError, match=r"call fit\(audio\)"):
        AudioEmbedder(sample_rate=SR).fit()
    # Refitting without standardisation drops the statistics of the earlier fit.
    embedder = AudioEmbedder(window=5.0, sample_rate=SR).fit(clips[:2])
    embedder.set_params(standardize=False).fit()
    assert not hasattr(embedder, "mean_")
    with pytest.raises(TypeError, match="standardize must be True or False"):
        AudioEmbedder(sample_rate=SR, standardize="yes").fit(clips[:1])


def test_fit_transform_embeds_each_clip_once(clips, embedded_batches):
    embedder = AudioEmbedder(backend="mel", window=5.0, sample_rate=SR)
    out = embedder.fit_transform(clips)
    assert sum(embedded_batches) == len(clips)
    np.testing.assert_allclose(out, embedder.transform(clips), rtol=1e-6, atol=1e-6)


def test_the_cache_holds_raw_features_whatever_the_statistics(tmp_path, clips, monkeypatch):
    cache = tmp_path / "cache"
    raw = raw_embedder(window=5.0, sample_rate=SR).transform(clips)
    on_first = AudioEmbedder(window=5.0, sample_rate=SR, cache=cache).fit(clips[:2])
    stored = {path.stem: np.load(path) for path in cache.rglob("*.npy")}
    assert len(stored) == 2
    for vector in stored.values():
        assert min(np.abs(vector - raw[i]).max() for i in range(2)) < 1e-4
    # Other statistics, same cache: every clip is a hit, standardised with its own fit.
    on_last = AudioEmbedder(window=5.0, sample_rate=SR, cache=cache).fit(clips[2:])
    on_last.transform(clips[:2])
    monkeypatch.setattr(on_last.backend_, "embed", lambda *args: pytest.fail("cache miss"))
    out = on_last.transform(clips[:2])
    np.testing.assert_allclose(out, (raw[:2] - on_last.mean_) / on_last.scale_, rtol=1e-4,
                               atol=1e-3)
    assert not np.allclose(out, on_first.transform(clips[:2]), atol=1e-2)


def test_requires_fit_tag_follows_standardize():
    from sklearn.utils import get_tags

    assert get_tags(AudioEmbedder()).requires_fit
    assert not get_tags(AudioEmbedder(standardize=False)).requires_fit


def test_cache_keys_hash_the_samples_whatever_their_layout(tmp_path):
    # A clip's key hashes the SHA-256 of its float32 samples in order (hashed from the
    # array's own buffer): a strided view, a float64 copy and a memory-mapped copy of the same
    # samples share it, and one changed sample does not.
    import hashlib

    from skbrainmusic.embeddings._cache import EmbeddingCache

    cache = EmbeddingCache(tmp_path / "cache", {"backend": "test"})
    rng = np.random.default_rng(0)
    clips = rng.standard_normal((2, 4000)).astype(np.float32)
    stored = np.lib.format.open_memmap(tmp_path / "clips.npy", mode="w+",
                                       dtype=np.float32, shape=(4000, 2))
    stored[:] = clips.T
    key = cache.key(clips[0], 8000)
    assert cache.key(stored[:, 0], 8000) == key  # a strided column of a memmap
    assert cache.key(clips[0].astype(np.float64), 8000) == key
    expected = hashlib.sha256(cache._settings_digest)
    expected.update(b"8000:4000:")
    expected.update(hashlib.sha256(clips[0].tobytes()).digest())
    assert key == expected.hexdigest()
    changed = clips[0].copy()
    changed[123] += 1e-3
    assert cache.key(changed, 8000) != key
    assert cache.key(clips[0], 16000) != key


@pytest.fixture
def counted_digests(monkeypatch):
    """An empty clip-digest memo that remembers files at once (no settling time), and the
    list of the byte counts of every SHA-256 that clip_digest computes."""
    import hashlib

    from skbrainmusic import _store
    from skbrainmusic.embeddings import _cache

    monkeypatch.setattr(_cache, "_DIGESTS", {})
    monkeypatch.setattr(_store, "_SETTLE_NS", 0)  # (tested below)
    hashed = []
    sha256 = hashlib.sha256

    def counting(data=b""):
        hashed.append(len(memoryview(data).cast("B")))
        return sha256(data)

    monkeypatch.setattr(_cache, "_sha256", counting)
    return hashed


def test_clip_digests_of_an_unchanged_mapped_file_are_hashed_once(tmp_path, counted_digests):
    # Every cache that reads a mapped corpus keys its clips by their samples' hash: computed
    # once per process while the file is unchanged, and never served stale.
    import hashlib

    from skbrainmusic._store import map_array
    from skbrainmusic.embeddings import _cache

    hashed = counted_digests
    sha256 = hashlib.sha256
    rng = np.random.default_rng(0)
    clips = rng.standard_normal((3, 500)).astype(np.float32)
    path = tmp_path / "corpus.npy"
    np.save(path, clips)
    mapped = map_array(path)
    first = [_cache.clip_digest(mapped[i]) for i in range(3)]
    assert first == [sha256(clip.tobytes()).digest() for clip in clips]
    assert hashed.count(2000) == 3
    hashed.clear()
    # other views of the same rows, through another mapping: remembered
    again = map_array(path)
    assert [_cache.clip_digest(np.asarray(again)[i]) for i in range(3)] == first
    assert 2000 not in hashed
    # part of a row: its own bytes (another position and length)
    assert _cache.clip_digest(again[1, 100:300]) == sha256(clips[1, 100:300].tobytes()).digest()
    # Controls: in-memory arrays and copy-on-write mappings are always hashed.
    hashed.clear()
    assert _cache.clip_digest(clips[1]) == first[1]
    assert _cache.clip_digest(np.load(path, mmap_mode="c")[1]) == first[1]
    assert hashed.count(2000) == 2


def test_a_replaced_or_rewritten_file_is_hashed_again(tmp_path, monkeypatch):
    import hashlib

    from skbrainmusic import _store
    from skbrainmusic._store import map_array
    from skbrainmusic.embeddings import _cache

    monkeypatch.setattr(_cache, "_DIGESTS", {})
    monkeypatch.setattr(_store, "_SETTLE_NS", 0)
    rng = np.random.default_rng(1)
    old, new = rng.standard_normal((2, 2, 400)).astype(np.float32)
    path, other = tmp_path / "corpus.npy", tmp_path / "other.npy"
    np.save(path, old)
    old_mapping = map_array(path)
    assert _cache.clip_digest(old_mapping[0]) == hashlib.sha256(old[0].tobytes()).digest()
    # Replaced under its path while the old mapping lives on: neither mapping gets the
    # other's digest.
    np.save(other, new)
    os.replace(other, path)
    assert _cache.clip_digest(old_mapping[0]) == hashlib.sha256(old[0].tobytes()).digest()
    assert _cache.clip_digest(map_array(path)[0]) == hashlib.sha256(new[0].tobytes()).digest()
    assert _cache.clip_digest(old_mapping[0]) == hashlib.sha256(old[0].tobytes()).digest()
    # Rewritten in place (same inode and size, later times).
    assert _cache.clip_digest(map_array(path)[1]) == hashlib.sha256(new[1].tobytes()).digest()
    np.save(path, old)
    os.utime(path, ns=(path.stat().st_mtime_ns + 10**9,) * 2)  # a later tick, surely
    assert _cache.clip_digest(map_array(path)[1]) == hashlib.sha256(old[1].tobytes()).digest()
    # Removed: still hashed, not an error.
    os.remove(path)
    assert _cache.clip_digest(old_mapping[1]) == hashlib.sha256(old[1].tobytes()).digest()


def _maps_show_file(array, path):
    """Whether /proc/self/maps lists the mapping holding ``array``'s first byte with the
    device and inode that stat gives ``path`` (not so on some file systems, e.g. overlayfs
    before Linux 6.8): the test's own reading, independent of the package's."""
    address = array.__array_interface__["data"][0]
    status = os.stat(path)
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            start, end = (int(bound, 16) for bound in fields[0].split("-"))
            if start <= address < end:
                major, minor = (int(number, 16) for number in fields[3].split(":"))
                return (int(fields[4]), major, minor) == (
                    status.st_ino, os.major(status.st_dev), os.minor(status.st_dev))
    return False


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="Linux memory maps")
def test_a_mapping_made_by_other_means_is_checked_against_the_file_at_its_path(
        tmp_path, monkeypatch, counted_digests):
    # A memmap that map_array did not make (joblib's, when it maps a corpus again in its
    # workers) carries no stamp of its own: its digests are remembered only when the
    # memory map shows it maps the file now at its path, at its position, and the file is
    # older than the process; never the digests of a file replaced under that path.
    import hashlib

    from skbrainmusic import _store
    from skbrainmusic._store import map_array
    from skbrainmusic.embeddings import _cache

    hashed = counted_digests
    sha256 = hashlib.sha256
    rng = np.random.default_rng(2)
    old, new = rng.standard_normal((2, 3, 300)).astype(np.float32)
    path, other = tmp_path / "corpus.npy", tmp_path / "other.npy"
    np.save(path, old)
    # A file written after this process started: a mapping made by other means is not
    # trusted (it could predate the file's last change).
    assert _store.mapped_file(np.load(path, mmap_mode="r")[0]) is None
    monkeypatch.setattr(_store, "_process_start_ns", lambda: path.stat().st_ctime_ns + 1)
    mapping = np.load(path, mmap_mode="r")
    if not _maps_show_file(mapping, path):
        pytest.skip("this file system shows other device numbers in /proc/self/maps")
    remembered = [_cache.clip_digest(row) for row in map_array(path)]
    hashed.clear()
    # the rows as numpy maps them, and as joblib maps one row again in a worker (a memmap
    # at the row's position in the file): the digests map_array's views remembered
    header = path.stat().st_size - old.nbytes
    row = np.memmap(path, dtype=np.float32, mode="r", offset=header + old[0].nbytes,
                    shape=(300,))
    assert [_cache.clip_digest(r) for r in mapping] == remembered
    assert _cache.clip_digest(row) == remembered[1]
    assert hashed == []
    # a memmap of the whole file: positions count from the file's first byte
    assert _store.mapped_file(np.memmap(path, dtype=np.uint8, mode="r")[header:])[1] == header
    # Replaced under its path before the old mapping was ever asked for its file.
    old_mapping = np.load(path, mmap_mode="r")
    np.save(other, new)
    os.replace(other, path)
    monkeypatch.setattr(_store, "_process_start_ns", lambda: path.stat().st_ctime_ns + 1)
    assert _store.mapped_file(old_mapping[0]) is None
    new_mapping = np.load(path, mmap_mode="r")
    assert _store.mapped_file(new_mapping[0]) is not None
    assert _cache.clip_digest(new_mapping[0]) == sha256(new[0].tobytes()).digest()
    assert _cache.clip_digest(old_mapping[0]) == sha256(old[0].tobytes()).digest()
    # a memmap of a file with no name is no file's
    import tempfile

    with tempfile.TemporaryFile() as unnamed:
        unnamed.write(new.tobytes())
        unnamed.flush()
        assert _store.mapped_file(np.memmap(unnamed, dtype=np.float32, mode="r")[:10]) is None


def test_recently_modified_files_are_not_remembered(tmp_path, monkeypatch):
    # A write in the same clock tick as the hash could leave the file's stamp unchanged.
    from skbrainmusic._store import map_array
    from skbrainmusic.embeddings import _cache

    monkeypatch.setattr(_cache, "_DIGESTS", {})
    path = tmp_path / "corpus.npy"
    np.save(path, np.ones((2, 100), np.float32))
    _cache.clip_digest(map_array(path)[0])
    assert _cache._DIGESTS == {}



"""AudioEmbedder model backends on tiny randomly initialised transformers models (no weights)."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from _tiny_models import tiny_clap  # noqa: E402

from skbrainmusic import AudioEmbedder  # noqa: E402

CLIP_SECONDS = 2.0


def _tiny_encodec(audio_channels=1):
    config = transformers.EncodecConfig(
        sampling_rate=8000, audio_channels=audio_channels, hidden_size=16, num_filters=4,
        num_residual_layers=1,
        upsampling_ratios=[8, 8], codebook_size=16, codebook_dim=16, num_lstm_layers=1,
        target_bandwidths=[1.5],
    )
    return transformers.EncodecModel(config), None


def _tiny_w2v_bert():
    config = transformers.Wav2Vec2BertConfig(
        hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
        feature_projection_input_dim=160, conv_depthwise_kernel_size=3, add_adapter=False,
    )
    return transformers.Wav2Vec2BertModel(config), None


def _tiny_wav2vec_family(model_class, config_class):
    def build():
        config = getattr(transformers, config_class)(
            hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
            conv_dim=(8, 8), conv_stride=(5, 4), conv_kernel=(10, 8),
            num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
        )
        return getattr(transformers, model_class)(config), None

    return build


# backend -> (builder, extra parameters, embedding width)
BACKENDS = {
    "clap": (tiny_clap, {}, 8),
    "encodec": (_tiny_encodec, {}, 16),
    "w2v-bert": (_tiny_w2v_bert, {"layer": 1}, 16),
    "wav2vec2": (_tiny_wav2vec_family("Wav2Vec2Model", "Wav2Vec2Config"), {}, 16),
    "hubert": (_tiny_wav2vec_family("HubertModel", "HubertConfig"), {}, 16),
}


@pytest.fixture(scope="module")
def tiny_models():
    torch.manual_seed(0)
    return {name: builder() for name, (builder, _, _) in BACKENDS.items()}


def _model_param(models, backend):
    model, extractor = models[backend]
    return model if extractor is None else (model, extractor)


@pytest.fixture(scope="module")
def audio():
    rng = np.random.default_rng(0)
    return (0.1 * rng.standard_normal((4, int(CLIP_SECONDS * 11025)))).astype(np.float32)


def _embedder(models, backend, **params):
    # Raw features by default: these tests compare them with the models' own outputs.
    _, extra, _ = BACKENDS[backend]
    defaults = {"window": 1.0, "step": 0.5, "sample_rate": 11025, "standardize": False}
    return AudioEmbedder(backend=backend, model=_model_param(models, backend),
                         **{**defaults, **extra, **params})


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_shapes_windows_and_resampling(tiny_models, audio, backend):
    out = _embedder(tiny_models, backend).fit_transform(audio[:2])
    # 2 s clips, 1 s windows every 0.5 s: floor((2 - 1) / 0.5) + 1 = 3 windows, resampled
    # from 11,025 Hz to the feature extractor's rate (which refuses any other rate).
    assert out.shape == (2, 3, BACKENDS[backend][2]) and out.dtype == np.float32
    assert np.isfinite(out).all()
    assert not np.allclose(out[:, 0], out[:, 1])
    standardised = _embedder(tiny_models, backend, standardize=True).fit(audio[:2])
    np.testing.assert_allclose(standardised.transform(audio[:2]),
                               (out - standardised.mean_) / standardised.scale_,
                               rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_batching_equivalence_and_determinism(tiny_models, audio, backend):
    embedder = _embedder(tiny_models, backend, batch_size=4).fit()
    batched = embedder.transform(audio)
    singles = np.concatenate([embedder.transform(audio[i : i + 1]) for i in range(4)])
    np.testing.assert_allclose(batched, singles, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(batched, embedder.transform(audio))


def test_windows_are_cut_before_the_model(tiny_models, audio):
    # At the model's own rate (no resampling, whose filter reaches a few ms across a
    # window's edges), a window's embedding is that of its samples alone.
    embedder = _embedder(tiny_models, "wav2vec2", sample_rate=16000, window=0.5, step=0.25)
    full = embedder.transform(audio[:2])
    assert full.shape[1] == 4  # 22,050 samples at 16 kHz: 1.38 s
    alone = embedder.transform(audio[:2, 8000:16000])  # window 2: [0.5, 1.0) s
    np.testing.assert_allclose(alone[:, 0], full[:, 2], rtol=1e-4, atol=1e-5)


def test_resampling_matches_explicit_librosa_resampling(tiny_models, audio):
    import librosa

    resampled = librosa.resample(audio[:2], orig_sr=11025, target_sr=16000,
                                 res_type="soxr_hq")
    at_11k = _embedder(tiny_models, "hubert").transform(audio[:2])
    at_16k = _embedder(tiny_models, "hubert", sample_rate=16000).transform(resampled)
    np.testing.assert_allclose(at_11k, at_16k, rtol=1e-4, atol=1e-5)


def test_layers(tiny_models, audio):
    with pytest.raises(ValueError, match="layer 7"):
        _embedder(tiny_models, "w2v-bert", layer=None).fit()
    with pytest.raises(ValueError, match="out of range"):
        _embedder(tiny_models, "w2v-bert", layer=5).fit()
    with pytest.raises(ValueError, match="not used by backend='clap'"):
        _embedder(tiny_models, "clap", layer=1).fit()
    first = _embedder(tiny_models, "w2v-bert", layer=1).transform(audio[:1])
    last = _embedder(tiny_models, "w2v-bert", layer=-1).transform(audio[:1])
    assert not np.allclose(first, last)
    # wav2vec2's default is the last hidden state, averaged over the window's frames.
    model, _ = tiny_models["wav2vec2"]
    default = _embedder(tiny_models, "wav2vec2", sample_rate=16000, window=1.0, step=1.0)
    window = audio[:1, :16000] / np.std(audio[:1, :16000])
    with torch.no_grad():
        expected = model(torch.from_numpy(window - window.mean())).last_hidden_state.mean(1)
    np.testing.assert_allclose(default.transform(audio[:1, :16000])[:, 0],
                               expected.numpy(), rtol=1e-3, atol=1e-4)


def test_clap_embeddings_are_unit_norm_and_window_is_bounded(tiny_models, audio):
    out = _embedder(tiny_models, "clap").transform(audio[:2])
    np.testing.assert_allclose(np.linalg.norm(out, axis=2), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match="crop at random"):
        _embedder(tiny_models, "clap", window=2.0).transform(audio[:1])


def test_cache_keys_on_model_weights(tiny_models, audio, tmp_path, monkeypatch):
    embedder = _embedder(tiny_models, "encodec", cache=tmp_path).fit()
    first = embedder.transform(audio[:2])

    def refuse(windows):
        raise AssertionError("the model ran although every clip was cached")

    monkeypatch.setattr(embedder.backend_, "forward", refuse)
    np.testing.assert_array_equal(embedder.transform(audio[:2]), first)
    monkeypatch.undo()
    torch.manual_seed(1)
    other_weights, _ = _tiny_encodec()
    other = AudioEmbedder(backend="encodec", model=other_weights, window=1.0, step=0.5,
                          sample_rate=11025, cache=tmp_path, standardize=False)
    assert not np.allclose(other.transform(audio[:2]), first)
    assert len(list(tmp_path.rglob("*.npy"))) == 4


def test_stereo_encodec_gets_mono_on_both_channels(audio):
    torch.manual_seed(0)
    stereo, _ = _tiny_encodec(audio_channels=2)
    out = AudioEmbedder(backend="encodec", model=stereo, window=1.0, step=0.5,
                        sample_rate=11025, standardize=False).transform(audio[:2])
    assert out.shape == (2, 3, 16) and np.isfinite(out).all()


def test_local_path_and_offline_hub_id(tiny_models, audio, tmp_path):
    model, _ = tiny_models["hubert"]
    model.save_pretrained(tmp_path / "hubert")
    transformers.Wav2Vec2FeatureExtractor(sampling_rate=16000, do_normalize=True,
                                          return_attention_mask=True).save_pretrained(
        tmp_path / "hubert")
    from_path = AudioEmbedder(backend="hubert", model=str(tmp_path / "hubert"), window=1.0,
                              step=0.5, sample_rate=11025, standardize=False).transform(audio[:1])
    from_object = _embedder(tiny_models, "hubert").transform(audio[:1])
    np.testing.assert_allclose(from_path, from_object, rtol=1e-5, atol=1e-6)
    with pytest.raises(OSError, match="local_files_only=False"):
        AudioEmbedder(backend="hubert", model="nobody/no-such-model", standardize=False).fit()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_cuda_matches_cpu(tiny_models, audio, backend):
    on_cpu = _embedder(tiny_models, backend).transform(audio[:2])
    on_gpu = _embedder(tiny_models, backend, device="cuda").transform(audio[:2])
    _embedder(tiny_models, backend).fit()  # moves the shared model back to the CPU
    np.testing.assert_allclose(on_gpu, on_cpu, rtol=1e-3, atol=1e-4)

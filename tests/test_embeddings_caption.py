"""CaptionEmbedder: TF-IDF on the real Brain2Music captions, tiny CLAP/BERT text towers."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from sklearn.base import clone  # noqa: E402

from skbrainmusic import CaptionEmbedder  # noqa: E402


@pytest.fixture(scope="module")
def captions(shared_data):
    table = pd.read_csv(shared_data / "brain2music" / "brain2music-captions.csv",
                        encoding="utf-8-sig")
    assert list(table.columns) == ["ID", "DescEN"] and len(table) == 540
    genres = table["ID"].str.split(".").str[0].to_numpy()
    return table["DescEN"].tolist(), genres


def test_tfidf_on_the_real_captions(captions):
    texts, genres = captions
    embedder = CaptionEmbedder(random_state=0, standardize=False)
    embedded = embedder.fit_transform(texts)
    assert embedded.shape == (540, 128) and embedded.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(embedded, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(
        embedded, CaptionEmbedder(random_state=0, standardize=False).fit_transform(texts))
    similarity = embedded @ embedded.T
    np.fill_diagonal(similarity, np.nan)
    same = genres[:, None] == genres[None, :]
    within, between = np.nanmean(similarity[same]), np.nanmean(similarity[~same])
    assert within > between + 0.05  # captions name and describe their genre
    # Control: with shuffled genre labels the gap vanishes.
    shuffled = np.random.default_rng(0).permutation(genres)
    same_shuffled = shuffled[:, None] == shuffled[None, :]
    gap = np.nanmean(similarity[same_shuffled]) - np.nanmean(similarity[~same_shuffled])
    assert abs(gap) < 0.02
    # Unseen texts are embedded with the fitted vocabulary and projection.
    new = embedder.transform(["A calm jazz piece with a soft saxophone.", "Heavy metal."])
    assert new.shape == (2, 128)


@pytest.mark.parametrize(
    ("params", "texts", "error", "match"),
    [
        ({}, "one caption", TypeError, "single string"),
        ({}, ["fine", None], TypeError, r"texts\[1\]"),
        ({}, [], ValueError, "empty"),
        ({"n_components": 50}, ["piano solo", "rock band", "jazz trio"], ValueError,
         "at most 3"),
        ({"backend": "mulan"}, ["a"], ValueError, "mulan"),
        ({"batch_size": 0, "backend": "bert"}, ["a"], ValueError, "batch_size"),
        ({}, np.array([["a", "b"]]), ValueError, "1-D"),
    ],
)
def test_errors_name_the_problem(params, texts, error, match):
    with pytest.raises(error, match=match):
        CaptionEmbedder(**params).fit(texts)


def test_tfidf_standardised_by_default(captions):
    texts, _ = captions
    raw_embedder = CaptionEmbedder(random_state=0, standardize=False).fit(texts[:400])
    embedder = CaptionEmbedder(random_state=0).fit(texts[:400])
    raw = raw_embedder.transform(texts[:400]).astype(np.float64)
    # Raw dimensions differ in spread, and the first is an offset every caption shares.
    spread = raw.std(axis=0)
    assert spread.max() > 2 * spread.min()
    assert raw[:, 0].mean() > 2 * spread[0]
    np.testing.assert_allclose(embedder.mean_, raw.mean(axis=0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(embedder.scale_, spread, rtol=1e-5)
    # Held-out captions: the statistics of the fitted ones.
    held_out = embedder.transform(texts[400:])
    np.testing.assert_allclose(
        held_out, (raw_embedder.transform(texts[400:]) - embedder.mean_) / embedder.scale_,
        rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(embedder.transform(texts[:400]).std(axis=0), 1.0, rtol=1e-3)
    with pytest.raises(TypeError, match="standardize must be True or False"):
        CaptionEmbedder(standardize=None).fit(texts[:10])


def test_transform_before_fit_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        CaptionEmbedder().transform(["a"])


# Model backends: tiny random text towers and a tokenizer built from a vocabulary file.

WORDS = ("calm piano jazz trio loud guitar drums rock disco bass soft strings slow fast "
         "vocals with a and the music").split()


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("torch")
    vocab = tmp_path_factory.mktemp("tokenizer") / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    return transformers.BertTokenizer(str(vocab), model_max_length=32)


@pytest.fixture(scope="module")
def text_models():
    # The deep extra is optional: without it these tests skip, like the tokenizer's.
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")

    torch.manual_seed(0)
    bert = transformers.BertModel(transformers.BertConfig(
        vocab_size=32, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=40,
    ))
    text = transformers.ClapTextConfig(
        vocab_size=32, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=40, projection_dim=8,
    )
    audio = transformers.ClapAudioConfig(
        spec_size=64, num_mel_bins=16, window_size=4, patch_size=2, patch_stride=2,
        patch_embeds_hidden_size=16, hidden_size=32, depths=[1, 1],
        num_attention_heads=[2, 2], projection_dim=8,
    )
    clap = transformers.ClapModel(transformers.ClapConfig(
        text_config=text.to_dict(), audio_config=audio.to_dict(), projection_dim=8,
    ))
    return {"bert": bert, "clap": clap}


TEXTS = ["calm piano with soft strings", "loud guitar and drums", "a slow jazz trio",
         "fast disco with bass and vocals and the drums and a guitar"]


@pytest.mark.parametrize(("backend", "width"), [("bert", 16), ("clap", 8)])
def test_text_towers(tokenizer, text_models, backend, width):
    embedder = CaptionEmbedder(backend=backend, model=(text_models[backend], tokenizer),
                               batch_size=4)
    embedded = embedder.fit_transform(TEXTS)
    assert embedded.shape == (4, width) and embedded.dtype == np.float32
    assert np.isfinite(embedded).all()
    np.testing.assert_allclose(embedded.std(axis=0), 1.0, rtol=1e-3)
    raw = clone(embedder).set_params(standardize=False).fit_transform(TEXTS)
    np.testing.assert_allclose(embedded, (raw - embedder.mean_) / embedder.scale_, rtol=1e-4,
                               atol=1e-4)
    if backend == "clap":
        np.testing.assert_allclose(np.linalg.norm(raw, axis=1), 1.0, rtol=1e-5)
    # Padding to the longest text of a batch must not change a short text's embedding.
    singles = np.concatenate([embedder.transform([text]) for text in TEXTS])
    np.testing.assert_allclose(embedded, singles, rtol=1e-4, atol=1e-5)
    one_per_batch = clone(embedder).set_params(batch_size=1).fit(TEXTS).transform(TEXTS)
    np.testing.assert_allclose(embedded, one_per_batch, rtol=1e-4, atol=1e-5)


def test_model_object_needs_a_tokenizer(text_models):
    with pytest.raises(ValueError, match=r"model=\(model, tokenizer\)"):
        CaptionEmbedder(backend="bert", model=text_models["bert"]).fit(TEXTS)


def test_offline_hub_id_error():
    pytest.importorskip("transformers")
    with pytest.raises(OSError, match="local_files_only=False"):
        CaptionEmbedder(backend="bert", model="nobody/no-such-model").fit(TEXTS)

"""Hostile scales for EmbeddingRetriever (issue 13): the float64-reference answer.

Unit-norm rows in float32 overflow for vectors of 1e20 (every query then returned row 0)
and underflow for vectors of 1e-30 (called "zero norm"). The norms are now computed
scale-robustly (float64 inverse norms applied per block of similarities).
"""

import numpy as np
import pytest

from skbrainmusic import EmbeddingRetriever


@pytest.mark.parametrize("corpus_scale, query_scale", [
    (1e20, 1e20), (1e-30, 1e-30), (1.0, 1e20), (1e-30, 1.0), (1e30, 1e-30),
])
def test_nearest_items_at_extreme_scales(corpus_scale, query_scale):
    rng = np.random.default_rng(0)
    corpus = rng.standard_normal((50, 8))
    queries = corpus[rng.permutation(50)[:10]] + 0.3 * rng.standard_normal((10, 8))
    unit = corpus / np.linalg.norm(corpus, axis=1, keepdims=True)
    expected = np.argmax(queries @ unit.T, axis=1)  # float64 cosine at scale 1
    retriever = EmbeddingRetriever({"embeddings": corpus * corpus_scale,
                                    "ids": np.arange(50)}).fit()
    np.testing.assert_array_equal(retriever.predict(queries * query_scale), expected)

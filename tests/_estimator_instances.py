"""Example instances and expected check failures for tests/test_common.py."""

from skbrainmusic import EmbeddingRetriever

INSTANCES = {
    EmbeddingRetriever: [
        EmbeddingRetriever(),
        EmbeddingRetriever(metric="dot", n_neighbors=2, window_reduce=None),
    ],
}

EXPECTED_FAILED_CHECKS = {
    EmbeddingRetriever: {
        "check_estimators_dtypes": (
            "the integer-cast test data has an all-zero row, whose cosine similarity is "
            "undefined: metric='cosine' raises a ValueError naming it by design "
            "(metric='dot' passes this check)"
        ),
    },
}

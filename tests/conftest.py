"""Shared fixtures."""

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

# CI runs hypothesis derandomized so that a red run is reproducible.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

# The real reference metadata sits beside the checkout, in CI as in development.
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data():
    """Path of the real reference metadata (``../shared/data``, relative to the repo)."""
    if not (SHARED_DATA / "README.md").is_file():
        pytest.skip(f"{SHARED_DATA} (real reference metadata) is not beside the repository")
    return SHARED_DATA


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def embedded_batches(monkeypatch):
    """A list that records the size of every batch of clips AudioEmbedder embeds."""
    from skbrainmusic import AudioEmbedder

    sizes = []
    original = AudioEmbedder._embed_batch

    def counting(backend, clips, rates, onsets, window):
        sizes.append(len(clips))
        return original(backend, clips, rates, onsets, window)

    monkeypatch.setattr(AudioEmbedder, "_embed_batch", staticmethod(counting))
    return sizes

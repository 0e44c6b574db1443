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

_REPO = Path(__file__).resolve().parents[1]


def _find_shared_data():
    # ../shared/data sits beside the checkout (CI too); worktrees elsewhere fall back to
    # the workplace copy.
    for candidate in (_REPO.parent / "shared" / "data", Path("/work/shared/data")):
        if (candidate / "README.md").is_file():
            return candidate
    return None


@pytest.fixture(scope="session")
def shared_data():
    """Path of the real reference metadata (``../shared/data``)."""
    path = _find_shared_data()
    if path is None:
        pytest.skip("../shared/data (real reference metadata) is not available beside the repo")
    return path


@pytest.fixture
def rng():
    return np.random.default_rng(0)

"""Shared pytest fixtures."""

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_data():
    """The real metadata files (``../shared/data`` beside the repository, as in CI)."""
    repo = Path(__file__).resolve().parents[1]
    for candidate in (repo.parent / "shared" / "data", Path("/work/shared/data")):
        if candidate.is_dir():
            return candidate
    pytest.skip(f"shared data not found at {repo.parent / 'shared' / 'data'} or /work/shared/data")

"""Fixtures shared by the whole test suite."""

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The real datasets: ``$EPEE_DATA_DIR``, else ``../shared/data`` beside the repository; skip when absent."""
    configured = os.environ.get("EPEE_DATA_DIR")
    data_dir = Path(configured) if configured else REPO_ROOT.parent / "shared" / "data"
    if not data_dir.is_dir():
        pytest.skip(
            f"Real datasets not found at {data_dir}; set EPEE_DATA_DIR to the shared data folder to run these tests."
        )
    return data_dir

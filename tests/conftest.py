"""Fixtures shared by the whole test suite."""

import os
from pathlib import Path

import pytest
import torch

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


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Tests use tiny tensors that gain nothing from intra-op threads, which only contend on a busy 2-core machine."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)

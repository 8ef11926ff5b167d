"""Shared test fixtures. Keep this file small: each area owns its own test modules."""

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# The real RGB-D samples live beside the project, never inside it.
SHARED_DATA = Path(os.environ.get("SDVLM_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path to ../shared/data; tests that use it skip cleanly where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real RGB-D samples not found at {SHARED_DATA} (../shared is absent)")
    return SHARED_DATA


@pytest.fixture(scope="module")
def small_msmu(tmp_path_factory) -> Path:
    """A tiny MSMU folder (4 train, 2 test frames) for the per-family training tests."""
    from sdvlm.testing import write_tiny_msmu

    return write_tiny_msmu(tmp_path_factory.mktemp("msmu") / "msmu", num_train_frames=4, num_test_frames=2)

"""Shared fixtures: the optional ../shared/data reference files."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """Path to ../shared/data; the test is skipped when it is absent (a fresh clone)."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _inference_choices(tmp_path_factory, monkeypatch) -> None:
    """``auto``'s backend choices go to a temporary directory, never to the user's cache."""
    monkeypatch.setenv("STARCNET_CACHE_DIR", str(tmp_path_factory.mktemp("inference-choices")))

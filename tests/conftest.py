"""Shared pytest fixtures (kept general: paths to real data only)."""

from __future__ import annotations

from pathlib import Path

import pytest

#: ../shared/data next to the repository (real images; not committed to the repo).
SHARED_DATA = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder of real data (``../shared/data`` relative to the repo); skips if absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} not present")
    return SHARED_DATA

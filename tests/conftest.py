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


@pytest.fixture(scope="session")
def demo_patient_dicom(tmp_path_factory) -> tuple[Path, dict]:
    """The small phantom patient (CMR study: cine, LGE, MOLLI T1; CT calcium study), written once
    per session as DICOM. Read-only: a test that changes files copies the folder first."""
    from heartprint.phantoms import write_demo_patient

    root = tmp_path_factory.mktemp("demo_patient") / "dicom"
    _, truth = write_demo_patient(root, seed=0, n_phases=10, spect=False)  # the SPECT study: tests/test_demo.py
    return root, truth

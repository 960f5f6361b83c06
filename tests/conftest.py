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
    _, truth = write_demo_patient(root, seed=0, n_phases=4, spect=False)  # the SPECT study: tests/test_demo.py
    return root, truth


#: Test files whose module fixtures take the longest (``pytest --durations``), run first: the two workers
#: (``-n 2 --dist loadfile``) hand out files in collection order, so a heavy file collected last would run
#: alone at the end while the other worker idles.
HEAVY_FIRST = (
    "test_pipeline_phantoms.py", "test_cli_analyze.py", "test_demo.py", "test_pipeline.py", "test_cohort.py",
    "test_train.py", "test_spine.py", "test_fuzz.py", "test_report.py", "test_findings_real.py",
    "test_segmentation_card.py", "test_service.py", "test_phantoms.py", "test_echo_cine.py",
    "test_nuclear_pet_e2e.py", "test_cmr_mapping.py", "test_segmentation.py",
)


def pytest_collection_modifyitems(session, config, items):
    rank = {name: i for i, name in enumerate(HEAVY_FIRST)}
    order = {id(item): n for n, item in enumerate(items)}
    items.sort(key=lambda item: (rank.get(item.path.name, len(rank)), order[id(item)]))

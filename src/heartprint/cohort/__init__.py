"""Cohort runs: thousands of studies on Dask, resumable, into one set of tables (docs/cohort.md).

Every study goes through :func:`heartprint.pipeline.analyze` and
:func:`heartprint.outputs.write_study`, as ``heartprint analyze`` runs them; this package only
distributes, keys, resumes, tabulates and summarises.

Public API
----------
run_cohort(source, out, ...)      the run (a local Dask cluster, or ``scheduler=`` a running one)
CohortRun                         what a run did
discover(source), CohortItem      the studies of a folder or a CSV/Parquet manifest
study_key(item, salt), key_salt   a study's content key
write_phantom_cohort(out, n)      a phantom cohort with broken studies (tests, benchmark)

Needs the ``cohort`` extra (dask, distributed, pandas, pyarrow, tqdm); importing this package
does not import Dask (``run_cohort`` does).
"""

from __future__ import annotations

from typing import Any

from heartprint.cohort._source import CohortItem, discover, key_salt, study_key

__all__ = ["CohortItem", "CohortRun", "discover", "key_salt", "run_cohort", "study_key", "write_phantom_cohort"]


def __getattr__(name: str) -> Any:
    if name in ("run_cohort", "CohortRun"):
        from heartprint.cohort import _run

        return getattr(_run, name)
    if name == "write_phantom_cohort":
        from heartprint.cohort.phantoms import write_phantom_cohort

        return write_phantom_cohort
    raise AttributeError(f"module 'heartprint.cohort' has no attribute {name!r}")

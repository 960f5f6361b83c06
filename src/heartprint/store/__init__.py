"""The registry: patients, studies, series, analysis runs and their results in a database.

SQLite (a file) by default, PostgreSQL by URL; SQLAlchemy 2 models in ``_models``, schema
created and changed only by the Alembic migrations shipped in ``migrations/``
(:func:`upgrade`, run on open by :class:`Registry`).

Public API
----------
Registry
    ``record_study_result``, ``record_failure``, ``runs``, ``run``, ``measurements``,
    ``qc_flags``, ``findings``, ``latest_measurements``.
RunInfo
    One run as listed.
RegistryError
    The database cannot be reached or refused a write.
upgrade, current_revision
    ``alembic upgrade head`` (or another revision) programmatically; the current revision.
"""

from heartprint.store._engine import current_revision, normalize_url, upgrade
from heartprint.store._registry import STUDY_SCHEMA, Registry, RegistryError, RunInfo

__all__ = ["STUDY_SCHEMA", "Registry", "RegistryError", "RunInfo", "current_revision", "normalize_url", "upgrade"]

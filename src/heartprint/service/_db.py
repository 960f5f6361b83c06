"""The service's own tables in the registry database: the job queue, the audit log and small
persistent state (the last Orthanc change seen).

They live beside the registry's tables (same database, same engine handling:
:func:`heartprint.store._engine.make_engine`, SQLite by default, PostgreSQL by URL) but in their
own :class:`~sqlalchemy.MetaData`, so the registry's Alembic migrations neither create nor see
them. They are created on open with ``CREATE TABLE IF NOT EXISTS`` under the registry's
migration lock (:func:`heartprint.store._engine.migration_lock`), so several processes opening a
new database at once do not race.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import (
    JSON, Column, DateTime, Engine, Index, Integer, MetaData, String, Table, Text,
)

from heartprint.store._engine import WRITE_OPTION, make_engine, migration_lock, normalize_url

__all__ = ["JOB_STATUSES", "METADATA", "audit", "jobs", "open_engine", "state", "utcnow", "writer"]

METADATA = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s", "pk": "pk_%(table_name)s", "uq": "uq_%(table_name)s_%(column_0_name)s"})

#: ``queued`` → ``running`` (leased by a worker) → ``done`` | ``failed``; a ``running`` job whose
#: lease has expired is claimable again (its worker died).
JOB_STATUSES = ("queued", "running", "done", "failed")

jobs = Table(
    "service_jobs", METADATA,
    Column("id", String(32), primary_key=True),            # uuid4 hex
    Column("status", String(16), nullable=False),
    Column("source", String(16), nullable=False),          # "upload" | "orthanc"
    Column("source_ref", Text, nullable=False),            # upload file name / Orthanc study id
    Column("submitted_by", String(64), nullable=False),    # token id
    Column("parameters", JSON, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False),
    Column("lease_id", String(32)),                        # changes on every claim
    Column("lease_until", DateTime(timezone=True)),
    Column("worker", String(128)),
    Column("heartbeat_at", DateTime(timezone=True)),
    Column("error", Text),
    Column("result", JSON),                                # the studies written (folders, run ids, status)
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
)
Index("ix_service_jobs_status_lease", jobs.c.status, jobs.c.lease_until)

audit = Table(
    "service_audit", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("token_id", String(64)),                        # None: refused before a token was known
    Column("role", String(16)),
    Column("action", String(32), nullable=False),          # submit, read_status, read_results, read_file, ...
    Column("target", Text, nullable=False),                # job id, job id/file, patient id
    Column("status_code", Integer, nullable=False),
    Column("client", String(64)),
)
Index("ix_service_audit_token_at", audit.c.token_id, audit.c.at)

state = Table(
    "service_state", METADATA,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def open_engine(url: str | Path) -> Engine:
    """An engine on the registry database at ``url`` (a path: SQLite file) with the service's
    tables present (created if missing, under the registry's migration lock)."""
    engine = make_engine(normalize_url(url))
    with migration_lock(engine), engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
        METADATA.create_all(conn, checkfirst=True)
    return engine


def writer(engine: Engine) -> Engine:
    """The engine's write flavour: on SQLite a write transaction takes the lock up front
    (``BEGIN IMMEDIATE``), so two workers claiming at once queue instead of deadlocking."""
    return engine.execution_options(**{WRITE_OPTION: True})

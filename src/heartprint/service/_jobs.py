"""The durable job queue: one row per submitted study in the registry database.

At-least-once delivery with leases (the pattern of e.g. Amazon SQS visibility timeouts and
PostgreSQL ``SKIP LOCKED`` queues, written portably):

* :meth:`JobQueue.claim` takes the oldest job that is ``queued``, or ``running`` with an expired
  lease (its worker died), in one conditional ``UPDATE … WHERE id = :id AND (status = 'queued'
  OR lease_until < :now)``; only the worker whose UPDATE changed the row (rowcount 1) has it.
  On SQLite the transaction takes the write lock up front (``BEGIN IMMEDIATE``); on PostgreSQL
  the UPDATE re-checks its WHERE clause after waiting on the row lock (READ COMMITTED), so two
  workers never both win. Each claim sets a new ``lease_id`` and counts an attempt.
* The worker renews its lease (:meth:`JobQueue.heartbeat`) while it works; heartbeat, finish and
  fail name the ``lease_id``, so a worker that lost its lease (paused past it, then resumed)
  can neither extend nor finish a job another worker now holds.
* A job whose lease expired ``max_attempts`` times is failed instead of claimed again, with the
  reason; a job that raised is retried until ``max_attempts`` (:meth:`JobQueue.fail`).

Idempotent results are the worker's part (:mod:`heartprint.service._run`): the result folder is
swapped in atomically and registry runs are recorded once per job and study.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, and_, insert, or_, select, update

from heartprint.service._db import jobs, utcnow, writer

__all__ = ["Job", "JobQueue"]


def _utc(dt: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; every time stored here is UTC."""
    if dt is not None and dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt


@dataclass(frozen=True)
class Job:
    """One job row as read (times UTC)."""

    id: str
    status: str
    source: str
    source_ref: str
    submitted_by: str
    parameters: dict[str, Any]
    attempts: int
    max_attempts: int
    lease_id: str | None
    lease_until: datetime | None
    worker: str | None
    error: str | None
    result: dict[str, Any] | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> Job:
        m = dict(row._mapping)
        m.pop("heartbeat_at", None)
        for k in ("lease_until", "created_at", "started_at", "finished_at"):
            m[k] = _utc(m[k])
        return cls(**m)

    def to_dict(self) -> dict[str, Any]:
        """The job as the API shows it (no lease id: it is the worker's secret)."""
        def iso(dt: datetime | None) -> str | None:
            return dt.isoformat() if dt else None

        return {"job_id": self.id, "status": self.status, "source": self.source, "attempts": self.attempts,
                "max_attempts": self.max_attempts, "error": self.error, "created_at": iso(self.created_at),
                "started_at": iso(self.started_at), "finished_at": iso(self.finished_at),
                "studies": (self.result or {}).get("studies", [])}


class JobQueue:
    """The queue on ``engine`` (an engine from :func:`heartprint.service._db.open_engine`)."""

    def __init__(self, engine: Engine, *, max_attempts: int = 3) -> None:
        if max_attempts < 1:
            from heartprint.errors import InvalidInputError

            raise InvalidInputError(f"max_attempts={max_attempts}: expected at least 1")
        self.engine = engine
        self._writer = writer(engine)
        self.max_attempts = max_attempts

    def submit(self, *, source: str, source_ref: str, submitted_by: str, parameters: dict[str, Any] | None = None,
               job_id: str | None = None) -> str:
        """Queue a job; returns its id (``job_id`` if given: the caller already named its input folder)."""
        job_id = job_id or uuid.uuid4().hex
        with self._writer.begin() as conn:
            conn.execute(insert(jobs).values(
                id=job_id, status="queued", source=source, source_ref=source_ref, submitted_by=submitted_by,
                parameters=dict(parameters or {}), attempts=0, max_attempts=self.max_attempts, created_at=utcnow()))
        return job_id

    def get(self, job_id: str) -> Job | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
        return None if row is None else Job.from_row(row)

    def list(self, *, status: str | None = None, submitted_by: str | None = None, limit: int = 100) -> list[Job]:
        """The newest ``limit`` jobs (by creation), optionally of one status or one submitter."""
        q = select(jobs).order_by(jobs.c.created_at.desc(), jobs.c.id).limit(limit)
        if status is not None:
            q = q.where(jobs.c.status == status)
        if submitted_by is not None:
            q = q.where(jobs.c.submitted_by == submitted_by)
        with self.engine.connect() as conn:
            return [Job.from_row(r) for r in conn.execute(q)]

    def claim(self, worker: str, lease_s: float) -> Job | None:
        """The next job for ``worker``, leased for ``lease_s`` seconds; ``None`` if there is none.

        A candidate whose attempts are used up is marked ``failed`` (its workers kept dying)
        and the next one is tried.
        """
        while True:
            now = utcnow()
            claimable = or_(jobs.c.status == "queued", and_(jobs.c.status == "running", jobs.c.lease_until < now))
            with self._writer.begin() as conn:
                row = conn.execute(select(jobs.c.id, jobs.c.attempts, jobs.c.max_attempts).where(claimable)
                                   .order_by(jobs.c.created_at, jobs.c.id).limit(1)).first()
                if row is None:
                    return None
                if row.attempts >= row.max_attempts:
                    conn.execute(update(jobs).where(jobs.c.id == row.id, claimable).values(
                        status="failed", finished_at=now, lease_id=None,
                        error=f"gave up after {row.attempts} attempts: the worker stopped before finishing each time"))
                    continue
                lease = uuid.uuid4().hex
                changed = conn.execute(update(jobs).where(jobs.c.id == row.id, claimable).values(
                    status="running", lease_id=lease, lease_until=now + timedelta(seconds=lease_s), worker=worker,
                    heartbeat_at=now, attempts=jobs.c.attempts + 1, started_at=now)).rowcount
                if changed != 1:  # another worker won this row: try the next
                    continue
                job = conn.execute(select(jobs).where(jobs.c.id == row.id)).first()
            return Job.from_row(job)

    def heartbeat(self, job: Job, lease_s: float) -> bool:
        """Extend ``job``'s lease; ``False`` if the lease is no longer this worker's."""
        now = utcnow()
        with self._writer.begin() as conn:
            return conn.execute(update(jobs).where(jobs.c.id == job.id, jobs.c.lease_id == job.lease_id,
                                                   jobs.c.status == "running").values(
                lease_until=now + timedelta(seconds=lease_s), heartbeat_at=now)).rowcount == 1

    def finish(self, job: Job, result: dict[str, Any]) -> bool:
        """Mark ``job`` done with its result; ``False`` (nothing changed) if the lease was lost."""
        with self._writer.begin() as conn:
            return conn.execute(update(jobs).where(jobs.c.id == job.id, jobs.c.lease_id == job.lease_id,
                                                   jobs.c.status == "running").values(
                status="done", result=result, error=None, finished_at=utcnow(), lease_id=None,
                lease_until=None)).rowcount == 1

    def fail(self, job: Job, error: str, *, retry: bool = True) -> str | None:
        """Record that ``job`` raised: back to ``queued`` while attempts remain (and ``retry``),
        else ``failed``. Returns the new status (``None``: the lease was lost, nothing changed)."""
        status = "queued" if retry and job.attempts < job.max_attempts else "failed"
        with self._writer.begin() as conn:
            changed = conn.execute(update(jobs).where(jobs.c.id == job.id, jobs.c.lease_id == job.lease_id,
                                                      jobs.c.status == "running").values(
                status=status, error=error, lease_id=None, lease_until=None,
                finished_at=utcnow() if status == "failed" else None)).rowcount
        return status if changed == 1 else None

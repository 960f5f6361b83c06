"""SQLAlchemy 2 models of the registry: patients, studies, series, analysis runs and their
results (per-series outcomes, measurements, QC flags, findings).

The schema is created and changed only by the Alembic migrations in
``heartprint/store/migrations``; :data:`Base.metadata` is what they must reproduce (a test
compares the two on SQLite and PostgreSQL).

Identity: a patient is keyed by the caller's patient identifier, a study by its Study
Instance UID (0020,000D), a series by its Series Instance UID (0020,000E). A run is one
analysis of one source (folder, archive) at one time; re-running a study adds a run and
keeps the old ones. Every result row belongs to exactly one run and is deleted with it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "RUN_STATUSES", "AnalysisRun", "Base", "FindingRow", "MeasurementRow", "Patient", "QCFlagRow", "RunSeries",
    "RunStudy", "Series", "Study",
]

#: A run is ``running`` only inside its own transaction; committed runs are ``complete`` or ``failed``.
RUN_STATUSES = ("running", "complete", "failed")

#: Constraint names fixed so that migrations name them the same way on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

UID = String(64)  # DICOM UIDs are at most 64 characters (PS3.5 §9.1)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: DateTime(timezone=True)}


class Patient(Base):
    """A patient, keyed by the caller's identifier (e.g. DICOM PatientID (0010,0020) or a cohort ID)."""

    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_key: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    studies: Mapped[list[Study]] = relationship(back_populates="patient")


class Study(Base):
    """A study, keyed by its Study Instance UID (0020,000D)."""

    __tablename__ = "studies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_uid: Mapped[str] = mapped_column(UID, unique=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    patient: Mapped[Patient | None] = relationship(back_populates="studies")


class Series(Base):
    """A series, keyed by its Series Instance UID (0020,000E); ``study_id`` is set when known."""

    __tablename__ = "series"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_uid: Mapped[str] = mapped_column(UID, unique=True)
    study_id: Mapped[int | None] = mapped_column(ForeignKey("studies.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnalysisRun(Base):
    """One analysis of one source: versions, parameters, status, error and times (UTC)."""

    __tablename__ = "analysis_runs"
    __table_args__ = (CheckConstraint("status IN ('running', 'complete', 'failed')", name="status"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # uuid4 hex
    status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(Text)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    result_schema: Mapped[str | None] = mapped_column(String(64))
    software_version: Mapped[str] = mapped_column(String(64))
    model_versions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    skipped_files: Mapped[list[Any]] = mapped_column(default=list)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(index=True)
    finished_at: Mapped[datetime | None]

    studies: Mapped[list[RunStudy]] = relationship(cascade="all, delete-orphan", order_by="RunStudy.position")
    series: Mapped[list[RunSeries]] = relationship(cascade="all, delete-orphan", order_by="RunSeries.position")


class RunStudy(Base):
    """Which studies a run covered (a source may hold more than one)."""

    __tablename__ = "run_studies"

    run_id: Mapped[str] = mapped_column(ForeignKey("analysis_runs.id", ondelete="CASCADE"), primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer)

    study: Mapped[Study] = relationship()


class RunSeries(Base):
    """One series' outcome in one run: kind, status (analysed, not_analysed, failed), message, time."""

    __tablename__ = "run_series"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("analysis_runs.id", ondelete="CASCADE"), index=True)
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id"), index=True)  # None: no UID
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    message: Mapped[str | None] = mapped_column(Text)
    seconds: Mapped[float | None] = mapped_column(Float)
    result_schema: Mapped[str | None] = mapped_column(String(64))
    qc_status: Mapped[str | None] = mapped_column(String(16))

    series: Mapped[Series | None] = relationship()


class MeasurementRow(Base):
    """A :class:`heartprint.measure.Measurement` as stored (reference range flattened)."""

    __tablename__ = "measurements"
    __table_args__ = (Index("ix_measurements_run_code", "run_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("analysis_runs.id", ondelete="CASCADE"))
    run_series_id: Mapped[int | None] = mapped_column(ForeignKey("run_series.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(Text)
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str | None] = mapped_column(Text)
    reference: Mapped[str] = mapped_column(Text, default="")
    ref_low: Mapped[float | None] = mapped_column(Float)
    ref_high: Mapped[float | None] = mapped_column(Float)
    ref_population: Mapped[str | None] = mapped_column(Text)
    ref_citation: Mapped[str | None] = mapped_column(Text)
    phase: Mapped[str | None] = mapped_column(String(32))
    segment: Mapped[int | None] = mapped_column(Integer)
    modality: Mapped[str | None] = mapped_column(String(16))
    measured_at: Mapped[datetime | None]
    z_score: Mapped[float | None] = mapped_column(Float)
    vessel: Mapped[str | None] = mapped_column(String(8))
    vessel_segment: Mapped[str | None] = mapped_column(String(16))
    pattern: Mapped[str | None] = mapped_column(String(64))


class QCFlagRow(Base):
    """A :class:`heartprint.measure.QCFlag` as stored."""

    __tablename__ = "qc_flags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("analysis_runs.id", ondelete="CASCADE"), index=True)
    run_series_id: Mapped[int | None] = mapped_column(ForeignKey("run_series.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class FindingRow(Base):
    """A :class:`heartprint.measure.Finding` as stored (with the rule and citation behind it)."""

    __tablename__ = "findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("analysis_runs.id", ondelete="CASCADE"), index=True)
    run_series_id: Mapped[int | None] = mapped_column(ForeignKey("run_series.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    statement: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    rule: Mapped[str] = mapped_column(Text)
    citation: Mapped[str] = mapped_column(Text)
    inputs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    missing: Mapped[list[Any]] = mapped_column(default=list)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)

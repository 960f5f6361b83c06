"""The registry API: record a study result as one analysis run, list runs, read back results.

Every write is one transaction. A run is inserted as ``running``, its series, measurements,
QC flags and findings are added, and only then is it marked ``complete`` and committed, so
no reader ever sees a half-written run; an exception (or a killed process) rolls the whole
run back. Re-recording a study adds a new run and keeps the old ones.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from heartprint import __version__
from heartprint.errors import HeartprintError, InvalidInputError
from heartprint.measure import Finding, Measurement, QCFlag, ReferenceRange
from heartprint.store._engine import WRITE_OPTION, make_engine, normalize_url, upgrade
from heartprint.store._models import (
    AnalysisRun,
    FindingRow,
    MeasurementRow,
    Patient,
    QCFlagRow,
    RunSeries,
    RunStudy,
    Series,
    Study,
    utcnow,
)

__all__ = ["STUDY_SCHEMA", "Registry", "RegistryError", "RunInfo"]

#: The StudyResult JSON schema :meth:`Registry.record_study_result` reads
#: (:meth:`heartprint.results.StudyResult.to_dict`).
STUDY_SCHEMA = "heartprint.study/2"
#: The earlier schema, whose series kept their results under ``"result"``; still read.
_STUDY_SCHEMA_V1 = "heartprint.study/1"


class RegistryError(HeartprintError):
    """The registry database cannot be reached or refused a write (message names the URL)."""


@dataclass(frozen=True)
class RunInfo:
    """One analysis run as listed by :meth:`Registry.runs` (times are UTC)."""

    run_id: str
    status: str  # "complete" or "failed"
    source: str
    study_uids: tuple[str, ...]
    patient_id: str | None
    software_version: str
    model_versions: dict[str, Any]
    parameters: dict[str, Any]
    error: str | None
    started_at: datetime
    finished_at: datetime | None
    n_series: int = 0
    n_measurements: int = 0
    n_qc_flags: int = 0
    n_findings: int = 0
    series: tuple[dict[str, Any], ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["study_uids"] = list(self.study_uids)
        out["series"] = list(self.series)
        out["started_at"] = self.started_at.isoformat()
        out["finished_at"] = self.finished_at.isoformat() if self.finished_at else None
        return out


@dataclass
class _SeriesIn:
    uid: str
    kind: str
    status: str
    message: str | None
    seconds: float | None
    result_schema: str | None
    qc_status: str | None
    measurements: list[Measurement]
    qc: list[QCFlag]
    findings: list[Finding]


def _utc(dt: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; every time heartprint stores is UTC."""
    if dt is not None and dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt


def _validated(kind: type, items: Iterable[Any], where: str) -> list[Any]:
    out = []
    for i, item in enumerate(items or []):
        try:
            obj = kind.model_validate(item)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise InvalidInputError(
                f"{where}: {kind.__name__.lower()} #{i} ({(item or {}).get('code', '?')!r}) is invalid: "
                f"{'.'.join(map(str, first['loc']))}: {first['msg']}"
            ) from None
        if isinstance(obj, Measurement) and not math.isfinite(obj.value):
            raise InvalidInputError(f"{where}: measurement {obj.code!r} value={obj.value}: expected a finite number")
        out.append(obj)
    return out


def _parse_study_result(
    result: Mapping[str, Any],
) -> tuple[list[str], list[_SeriesIn], list[Finding], dict[str, Any], str | None]:
    """Check a StudyResult dict and turn it into validated pieces (before any write): study
    UIDs, series, study-level findings, model versions and the patient ID."""
    if not isinstance(result, Mapping):
        raise InvalidInputError(f"study result of type {type(result).__name__}: expected a dict (StudyResult.to_dict())")
    schema = result.get("schema")
    if schema not in (STUDY_SCHEMA, _STUDY_SCHEMA_V1):
        raise InvalidInputError(f"study result schema={schema!r}: expected {STUDY_SCHEMA!r}")
    v1 = schema == _STUDY_SCHEMA_V1
    study_uids = [str(u) for u in result.get("study_uids") or [] if u]
    study = result.get("study")
    if not study_uids and isinstance(study, Mapping) and study.get("study_uid"):
        study_uids = [str(study["study_uid"])]
    patient = result.get("patient")
    patient_id = (str(patient.get("patient_id")) if isinstance(patient, Mapping) and patient.get("patient_id")
                  else None)
    series_in, models = [], {}
    for j, s in enumerate(result.get("series") or []):
        if not isinstance(s, Mapping):
            raise InvalidInputError(f"series #{j}: expected an object, got {type(s).__name__}")
        uid = str(s.get("series_uid") or "")
        where = f"series #{j} {uid or '(no UID)'}"
        # study/2: a series holds its measurements, qc and qc_status itself; study/1 under "result"
        res = (s.get("result") or {}) if v1 else s
        model = res.get("segmentation") if v1 else res.get("model")
        if isinstance(model, Mapping) and model.get("model"):
            models[str(model["model"])] = model.get("model_sha256")
        series_in.append(
            _SeriesIn(
                uid=uid,
                kind=str(s.get("kind") or "unknown"),
                status=str(s.get("status") or "unknown"),
                message=s.get("message") or None,
                seconds=s.get("seconds"),
                result_schema=res.get("schema") if v1 else schema,
                qc_status=res.get("qc_status"),
                measurements=_validated(Measurement, res.get("measurements"), where),
                qc=_validated(QCFlag, res.get("qc"), where),
                findings=_validated(Finding, res.get("findings"), where),
            )
        )
    findings = _validated(Finding, result.get("findings"), "study")
    interpretation = result.get("interpretation")
    if isinstance(interpretation, Mapping):  # study/2: the guideline findings of the study's interpretation
        findings += _validated(Finding, interpretation.get("findings"), "interpretation")
    return study_uids, series_in, findings, models, patient_id


def _measurement_row(m: Measurement) -> dict[str, Any]:
    rr = m.reference_range
    return {
        "code": m.code, "name": m.name, "value": m.value, "unit": m.unit, "method": m.method,
        "source": m.source, "reference": m.reference, "phase": m.phase, "segment": m.segment,
        "modality": m.modality, "measured_at": m.time, "z_score": m.z_score, "vessel": m.vessel,
        "vessel_segment": m.vessel_segment, "pattern": m.pattern,
        "ref_low": rr.low if rr else None, "ref_high": rr.high if rr else None,
        "ref_population": rr.population if rr else None, "ref_citation": rr.reference if rr else None,
    }


def _measurement(row: MeasurementRow) -> Measurement:
    rr = None
    if row.ref_low is not None or row.ref_high is not None or row.ref_population or row.ref_citation:
        rr = ReferenceRange(low=row.ref_low, high=row.ref_high, population=row.ref_population or "",
                            reference=row.ref_citation or "")
    return Measurement(
        code=row.code, name=row.name, value=row.value, unit=row.unit, method=row.method, source=row.source,
        reference=row.reference, reference_range=rr, phase=row.phase, segment=row.segment, modality=row.modality,
        time=row.measured_at, z_score=row.z_score, vessel=row.vessel, vessel_segment=row.vessel_segment,
        pattern=row.pattern,
    )


def _key(m: Measurement) -> tuple[Any, ...]:
    """What makes two measurements 'the same quantity' for :meth:`Registry.latest_measurements`."""
    return (m.code, m.phase, m.segment, m.vessel, m.vessel_segment, m.pattern)


class Registry:
    """A registry of analysis runs in a SQLite file or a PostgreSQL database.

    Parameters
    ----------
    url
        SQLAlchemy URL (``sqlite:///path.db``, ``postgresql://user@host:port/db``) or a plain
        file path (a SQLite file). ``postgresql://`` uses psycopg 3.
    migrate
        Run the Alembic migrations up to head on open (default). With ``False`` the schema
        must already be current (e.g. upgraded once by a deployment step with
        :func:`heartprint.store.upgrade`).

    Examples
    --------
    >>> reg = Registry("registry.db")                       # doctest: +SKIP
    >>> run_id = reg.record_study_result(result.to_dict(), patient_id="P001")  # doctest: +SKIP
    >>> reg.latest_measurements("P001")                     # doctest: +SKIP
    """

    def __init__(self, url: str | Path, *, migrate: bool = True) -> None:
        self.url = normalize_url(url)
        self.engine: Engine = make_engine(self.url)
        self._writer = self.engine.execution_options(**{WRITE_OPTION: True})
        #: Test hook: called with a stage name ("run_added", "results_flushed") inside the
        #: write transaction, to inject a failure or a kill at that point.
        self._checkpoint: Callable[[str], None] | None = None
        if migrate:
            try:
                upgrade(self.engine)
            except SQLAlchemyError as exc:
                self.close()
                raise RegistryError(f"registry {self._safe_url}: cannot open or migrate: {_short(exc)}") from exc

    @property
    def _safe_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Registry({self._safe_url!r})"

    # -- writing ---------------------------------------------------------------------------

    def _stage(self, name: str) -> None:
        if self._checkpoint is not None:
            self._checkpoint(name)

    def _write(self, fill: Callable[[Session], str]) -> str:
        try:
            with Session(self._writer, expire_on_commit=False) as session, session.begin():
                return fill(session)
        except SQLAlchemyError as exc:
            raise RegistryError(f"registry {self._safe_url}: write rolled back: {_short(exc)}") from exc

    def record_study_result(
        self,
        result: Mapping[str, Any],
        *,
        patient_id: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        started_at: datetime | None = None,
    ) -> str:
        """Record one :meth:`heartprint.pipeline.StudyResult.to_dict` as a new complete run.

        Parameters
        ----------
        result
            The ``heartprint.study/2`` dict: ``source``, ``study_uids``, ``heartprint_version``,
            ``patient.patient_id``, ``series[]`` with ``series_uid``, ``kind``, ``status``,
            ``message``, ``seconds``, ``qc_status``, ``measurements``, ``qc`` and ``model``
            (optional), and the ``interpretation``'s ``findings`` (optional). (A ``heartprint.study/1`` dict,
            whose series kept these under ``result``, is still read.)
        patient_id
            The patient's identifier; links the run and its studies to that patient. Default:
            the document's ``patient.patient_id``; given, it must agree with it.
        parameters
            The analysis options (JSON-able), kept with the run.
        started_at
            When the analysis started (UTC; default now).

        Returns
        -------
        str
            The new run's id.

        Raises
        ------
        InvalidInputError
            The dict is not a valid study result, or a study already belongs to another patient;
            nothing is written.
        RegistryError
            The database refused the write; nothing is written.
        """
        study_uids, series_in, study_findings, models, doc_patient = _parse_study_result(result)
        if patient_id is None:
            patient_id = doc_patient
        elif doc_patient is not None and str(patient_id) != doc_patient:
            raise InvalidInputError(f"patient_id={patient_id!r} but the study result is of patient {doc_patient!r}: "
                                    "not recorded, because its results would be attributed to the wrong patient")
        source = str(result.get("source") or "")
        version = str(result.get("heartprint_version") or __version__)
        params = dict(parameters or {})
        started = started_at or utcnow()

        def fill(session: Session) -> str:
            run = self._new_run(session, "running", source, study_uids, patient_id, params, started, version)
            run.result_schema = str(result.get("schema"))
            run.model_versions = models
            run.skipped_files = list(result.get("skipped_files") or [])
            session.flush()
            self._stage("run_added")
            study_id = run.studies[0].study_id if len(run.studies) == 1 else None
            for pos, s in enumerate(series_in):
                series_id = _get_or_create(session, Series, "series_uid", s.uid, study_id=study_id) if s.uid else None
                rs = RunSeries(run_id=run.id, series_id=series_id, position=pos, kind=s.kind, status=s.status,
                               message=s.message, seconds=s.seconds, result_schema=s.result_schema,
                               qc_status=s.qc_status)
                session.add(rs)
                session.flush()
                session.add_all(MeasurementRow(run_id=run.id, run_series_id=rs.id, **_measurement_row(m))
                                for m in s.measurements)
                session.add_all(QCFlagRow(run_id=run.id, run_series_id=rs.id, code=q.code, severity=q.severity.value,
                                          message=q.message, details=q.details) for q in s.qc)
                session.add_all(_finding_row(run.id, rs.id, f) for f in s.findings)
            session.add_all(_finding_row(run.id, None, f) for f in study_findings)
            session.flush()
            self._stage("results_flushed")
            run.status = "complete"
            run.finished_at = utcnow()
            return run.id

        return self._write(fill)

    def record_failure(
        self,
        source: str,
        error: str,
        *,
        study_uids: Iterable[str] = (),
        patient_id: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        started_at: datetime | None = None,
    ) -> str:
        """Record a run that failed (e.g. the study could not be read) with its error message.

        Returns the new run's id.
        """
        params = dict(parameters or {})
        started = started_at or utcnow()

        def fill(session: Session) -> str:
            run = self._new_run(session, "failed", str(source), [u for u in study_uids if u], patient_id, params,
                                started, __version__)
            run.error = str(error)
            run.finished_at = utcnow()
            return run.id

        return self._write(fill)

    def _new_run(self, session: Session, status: str, source: str, study_uids: list[str], patient_key: str | None,
                 params: dict[str, Any], started: datetime, version: str) -> AnalysisRun:
        patient_pk = _get_or_create(session, Patient, "patient_key", str(patient_key)) if patient_key else None
        run = AnalysisRun(id=uuid.uuid4().hex, status=status, source=source, patient_id=patient_pk,
                          software_version=version, model_versions={}, parameters=params, skipped_files=[],
                          started_at=started)
        for pos, uid in enumerate(dict.fromkeys(study_uids)):
            study_pk = _get_or_create(session, Study, "study_uid", uid)
            study = session.get(Study, study_pk)
            if patient_pk is not None:
                if study.patient_id is None:
                    study.patient_id = patient_pk
                elif study.patient_id != patient_pk:
                    other = session.get(Patient, study.patient_id)
                    raise InvalidInputError(
                        f"study {uid}: recorded for patient {other.patient_key!r}, not {patient_key!r}"
                    )
            run.studies.append(RunStudy(study_id=study_pk, position=pos))
        session.add(run)
        return run

    # -- reading ---------------------------------------------------------------------------

    def _read(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def runs(self, study_uid: str | None = None, *, patient_id: str | None = None) -> list[RunInfo]:
        """Committed runs, oldest first: all, or those covering ``study_uid`` / of ``patient_id``."""
        with self._read() as session:
            q = select(AnalysisRun).order_by(AnalysisRun.started_at, AnalysisRun.id)
            q = self._filter(q, study_uid, patient_id)
            rows = session.scalars(q).all()
            counts = _counts(session, [r.id for r in rows])
            return [self._info(session, r, counts) for r in rows]

    def run(self, run_id: str) -> RunInfo:
        """One run, with its per-series outcomes; :class:`InvalidInputError` if there is none."""
        with self._read() as session:
            r = session.get(AnalysisRun, run_id)
            if r is None:
                raise InvalidInputError(f"run {run_id!r}: not in registry {self._safe_url}")
            return self._info(session, r, _counts(session, [r.id]), with_series=True)

    def measurements(self, run_id: str) -> list[Measurement]:
        """The measurements recorded by one run, in recorded order."""
        with self._read() as session:
            rows = session.scalars(select(MeasurementRow).where(MeasurementRow.run_id == run_id).order_by(MeasurementRow.id))
            return [_measurement(r) for r in rows]

    def qc_flags(self, run_id: str) -> list[QCFlag]:
        """The QC flags recorded by one run."""
        with self._read() as session:
            rows = session.scalars(select(QCFlagRow).where(QCFlagRow.run_id == run_id).order_by(QCFlagRow.id))
            return [QCFlag(code=r.code, severity=r.severity, message=r.message, details=r.details) for r in rows]

    def findings(self, run_id: str) -> list[Finding]:
        """The findings recorded by one run."""
        with self._read() as session:
            rows = session.scalars(select(FindingRow).where(FindingRow.run_id == run_id).order_by(FindingRow.id))
            return [Finding(code=r.code, statement=r.statement, status=r.status, rule=r.rule, citation=r.citation,
                            inputs=r.inputs, missing=r.missing, details=r.details) for r in rows]

    def latest_measurements(self, patient_id: str | None = None, *, study_uid: str | None = None) -> list[Measurement]:
        """The current measurements of a patient or a study.

        For a study: those of its latest complete run. For a patient: over the latest complete
        run of each of the patient's studies (and runs recorded for the patient), each quantity
        (code, phase, segment, vessel, vessel segment, pattern) taken from the most recently
        started run that has it. Give exactly one of ``patient_id`` and ``study_uid``.
        """
        if (patient_id is None) == (study_uid is None):
            raise InvalidInputError("latest_measurements: give exactly one of patient_id and study_uid")
        complete = [r for r in self.runs(study_uid, patient_id=patient_id) if r.status == "complete"]
        if study_uid is not None:
            return self.measurements(complete[-1].run_id) if complete else []
        latest_per_source: dict[tuple[str, ...], RunInfo] = {}
        for r in complete:  # oldest first: a later run of the same studies replaces an earlier one
            latest_per_source[r.study_uids or (r.source,)] = r
        chosen: dict[tuple[Any, ...], Measurement] = {}
        for r in sorted(latest_per_source.values(), key=lambda r: (r.started_at, r.run_id)):
            for m in self.measurements(r.run_id):
                chosen[_key(m)] = m
        return list(chosen.values())

    @staticmethod
    def _filter(q, study_uid: str | None, patient_id: str | None):  # noqa: ANN001, ANN205
        if study_uid is not None:
            q = q.where(AnalysisRun.id.in_(
                select(RunStudy.run_id).join(Study, Study.id == RunStudy.study_id).where(Study.study_uid == study_uid)))
        if patient_id is not None:
            patient = select(Patient.id).where(Patient.patient_key == patient_id).scalar_subquery()
            of_patient_studies = (select(RunStudy.run_id).join(Study, Study.id == RunStudy.study_id)
                                  .where(Study.patient_id == patient))
            q = q.where((AnalysisRun.patient_id == patient) | AnalysisRun.id.in_(of_patient_studies))
        return q

    @staticmethod
    def _info(session: Session, r: AnalysisRun, counts: dict[type, dict[str, int]], *,
              with_series: bool = False) -> RunInfo:
        def count(model: type) -> int:
            return counts[model].get(r.id, 0)

        patient = session.get(Patient, r.patient_id) if r.patient_id is not None else None
        series: tuple[dict[str, Any], ...] = ()
        if with_series:
            series = tuple(
                {"series_uid": s.series.series_uid if s.series else "", "kind": s.kind, "status": s.status,
                 "message": s.message, "seconds": s.seconds, "qc_status": s.qc_status}
                for s in r.series
            )
        return RunInfo(
            run_id=r.id, status=r.status, source=r.source, study_uids=tuple(rs.study.study_uid for rs in r.studies),
            patient_id=patient.patient_key if patient else None, software_version=r.software_version,
            model_versions=dict(r.model_versions or {}), parameters=dict(r.parameters or {}), error=r.error,
            started_at=_utc(r.started_at), finished_at=_utc(r.finished_at), n_series=count(RunSeries),
            n_measurements=count(MeasurementRow), n_qc_flags=count(QCFlagRow), n_findings=count(FindingRow),
            series=series,
        )


def _counts(session: Session, run_ids: list[str]) -> dict[type, dict[str, int]]:
    """Rows per run of each result table, one grouped query per table (in chunks of 500 ids)."""
    out: dict[type, dict[str, int]] = {m: {} for m in (RunSeries, MeasurementRow, QCFlagRow, FindingRow)}
    for i in range(0, len(run_ids), 500):
        chunk = run_ids[i:i + 500]
        for model, found in out.items():
            q = select(model.run_id, func.count()).where(model.run_id.in_(chunk)).group_by(model.run_id)
            found.update({run_id: n for run_id, n in session.execute(q)})
    return out


def _finding_row(run_id: str, run_series_id: int | None, f: Finding) -> FindingRow:
    return FindingRow(run_id=run_id, run_series_id=run_series_id, code=f.code, statement=f.statement, status=f.status,
                      rule=f.rule, citation=f.citation, inputs=f.inputs, missing=list(f.missing), details=f.details)


def _get_or_create(session: Session, model: type, key: str, value: str, **values: Any) -> int:
    """Primary key of the row of ``model`` whose unique ``key`` is ``value``, inserting it if
    absent. ``INSERT ... ON CONFLICT DO NOTHING`` keeps two concurrent writers from failing on
    the unique key (PostgreSQL waits for the other transaction)."""
    column = getattr(model, key)
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        row = {key: value, "created_at": utcnow(), **values}
        session.execute(insert(model).values(**row).on_conflict_do_nothing(index_elements=[key]))
        return session.scalar(select(model.id).where(column == value))
    found = session.scalar(select(model.id).where(column == value))
    if found is None:
        obj = model(**{key: value}, **values)
        session.add(obj)
        session.flush()
        found = obj.id
    return found


def _short(exc: BaseException) -> str:
    return " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]

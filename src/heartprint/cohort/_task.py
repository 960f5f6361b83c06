"""What a worker does: load the model once per process, analyse one study, write its folder,
and return its table rows (never raises: a study's failure is its rows).

The analysis is :func:`heartprint.pipeline.analyze` and the writer
:func:`heartprint.outputs.write_study`, exactly as ``heartprint analyze SOURCE --out
OUT/studies/<item>`` runs them; nothing here measures anything.

Once per worker process: :class:`ModelPlugin` (a Dask ``WorkerPlugin``) loads the segmentation
model's onnxruntime session when the worker starts, through the same per-process cache the
analysis uses (``heartprint.segmentation._infer``), so every study on that worker reuses it;
:func:`model_loads` reads that cache's count of loads (a test checks it is one per process).
"""

from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path
from typing import Any, Callable, Mapping

from distributed.diagnostics.plugin import WorkerPlugin

from heartprint.cohort._source import CohortItem, study_key
from heartprint.cohort._tables import age_band

__all__ = ["ModelPlugin", "analyse_item", "item_key", "load_model", "model_loads", "staging_folder"]

_STOP = (KeyboardInterrupt, SystemExit, GeneratorExit)


def load_model(model_path: str | None = None) -> None:
    """Load the segmentation model's session into this process's cache (the one
    :func:`heartprint.segmentation._infer.predict_probabilities` reads): same path, thread count
    and file version, so the analysis finds it loaded."""
    from heartprint.segmentation._infer import _session, inference_threads, load_model_card

    model = load_model_card(Path(model_path) if model_path else None)
    st = model.path.stat()
    _session(str(model.path), inference_threads(), st.st_size, st.st_mtime_ns)


def model_loads() -> int:
    """How many onnxruntime sessions this process has created (misses of the session cache)."""
    from heartprint.segmentation._infer import _session

    return _session.cache_info().misses


class ModelPlugin(WorkerPlugin):
    """Dask worker plugin: one inference thread per task slot and the model loaded once, at start.

    ``HEARTPRINT_THREADS`` is set to 1 in the worker process unless already set (a cohort runs
    one study per thread; see docs/cohort.md). A model that cannot be loaded is not an error
    here: each cine study then fails with the model's error and is tabled.
    """

    name = "heartprint-model"

    def __init__(self, model_path: str | None = None) -> None:
        self.model_path = model_path
        self.error: str | None = None

    def setup(self, worker: Any = None) -> None:
        os.environ.setdefault("HEARTPRINT_THREADS", "1")
        try:
            load_model(self.model_path)
        except Exception as exc:  # noqa: BLE001 - reported by each study that needs the model
            self.error = f"{type(exc).__name__}: {exc}"

    def teardown(self, worker: Any = None) -> None:
        return None


def item_key(item: CohortItem, salt: str) -> str:
    """The study's key (:func:`heartprint.cohort._source.study_key`), computed where the files are read."""
    return study_key(item, salt)


def _text(v: Any) -> str | None:
    return None if v is None else str(v)


def _prov(p: Any) -> Any:
    return None if p is None else p.value


def _worst(statuses: list[str]) -> str | None:
    order = ("ok", "info", "warning", "error")
    known = [s for s in statuses if s in order]
    return max(known, key=order.index) if known else None


def _age(result: Any) -> float | None:
    age = _prov(result.patient.age_years)
    if age is not None:
        return float(age)
    birth, when = _prov(result.patient.birth_date), result.study.date
    if isinstance(birth, date) and when is not None and when >= birth:
        return float(when.year - birth.year - ((when.month, when.day) < (birth.month, birth.day)))
    return None


def _measurement_rows(base: Mapping[str, Any], result: Any) -> list[dict[str, Any]]:
    rows = []
    for s in result.series:
        flags = ";".join(q.code for q in s.qc if str(getattr(q.severity, "value", q.severity)) != "info")
        for m in s.measurements:
            concept = m.concept
            coding = concept.coding_for(m.modality) if concept is not None else None
            rr = m.reference_range
            rows.append({
                **base, "series_uid": s.series_uid, "kind": s.kind, "code": m.code, "name": m.name,
                "coding_system": coding.system if coding else None, "coding_value": coding.value if coding else None,
                "coding_meaning": coding.meaning if coding else None, "value": m.value, "unit": m.unit,
                "phase": m.phase, "segment": m.segment, "vessel": m.vessel, "vessel_segment": m.vessel_segment,
                "pattern": m.pattern, "method": m.method, "modality": m.modality,
                "ref_low": getattr(rr, "low", None), "ref_high": getattr(rr, "high", None),
                "ref_population": getattr(rr, "population", None), "z_score": m.z_score,
                "interpretation": m.interpretation, "series_qc_status": s.qc_status, "series_qc_flags": flags or None,
            })
    return rows


def _findings(result: Any) -> list[Any]:
    interp = result.interpretation
    if interp is None:
        return []
    return list(interp.findings) + list(getattr(interp, "not_assessable", []) or [])


def study_rows(item: CohortItem, key: str, st: Any, out_root: Path) -> dict[str, list[dict[str, Any]]]:
    """The rows of one written study (:class:`heartprint.outputs.StudyRun`) in every table."""
    r = st.result
    base = {"key": key, "item_id": item.item_id, "patient": item.patient or r.patient.patient_id,
            "study_uid": r.study.study_uid}
    measurements = _measurement_rows(base, r)
    analysed = r.analysed()
    qc = [q for s in analysed for q in s.qc]
    sev = [str(getattr(q.severity, "value", q.severity)) for q in qc]
    findings = _findings(r)
    age = _age(r)
    folder = st.path.relative_to(out_root).as_posix() if st.path is not None else None
    report = st.files.get("report_html")
    study = {
        **base, "path": item.path, "patient_id": r.patient.patient_id,
        "study_date": r.study.date.isoformat() if r.study.date else None, "sex": _prov(r.patient.sex),
        "age_years": age, "age_band": age_band(age), "status": st.status, "n_series": len(r.series),
        "n_analysed": len(analysed), "n_failed": sum(s.status == "failed" for s in r.series),
        "qc_status": _worst([s.qc_status for s in analysed]), "n_qc_warnings": sev.count("warning"),
        "n_qc_errors": sev.count("error"), "n_findings": sum(f.status == "present" for f in findings),
        "folder": folder, "report": Path(report).relative_to(out_root).as_posix() if report else None,
        "error": st.write_error, "retry": False,
    }
    for s in analysed:
        if s.qc_status == "error":
            continue
        for code, value in s.global_values().items():
            study.setdefault(code, value)
    failures = [{**base, "path": item.path, "series_uid": s.series_uid, "kind": s.kind, "stage": "series",
                 "error": s.message or "failed", "retry": False} for s in r.series if s.status == "failed"]
    if st.write_error is not None:
        failures.append({**base, "path": item.path, "series_uid": None, "kind": None, "stage": "outputs",
                         "error": st.write_error, "retry": False})
    failures += [{**base, "path": item.path, "series_uid": p.get("series_uid") or None, "kind": None,
                  "stage": "outputs", "error": f"{p.get('output')}: {p.get('reason')}", "retry": False}
                 for p in st.problems if p.get("status") == "failed"]
    finding_rows = [{**base, "code": f.code, "status": f.status, "statement": f.statement, "rule": f.rule,
                     "citation": f.citation, "missing": ";".join(f.missing) or None} for f in findings]
    return {"measurements": measurements, "studies": [study], "findings": finding_rows, "failures": failures}


def failure_rows(item: CohortItem, key: str, stage: str, error: str, *,
                 retry: bool = False) -> dict[str, list[dict[str, Any]]]:
    """The rows of a study that produced no result: one ``studies`` row (status failed) and one failure."""
    base = {"key": key, "item_id": item.item_id, "patient": item.patient, "study_uid": None}
    study = {**base, "path": item.path, "status": "failed", "n_series": 0, "n_analysed": 0, "n_failed": 0,
             "n_qc_warnings": 0, "n_qc_errors": 0, "n_findings": 0, "error": error, "retry": retry,
             **({"sex": item.facts.get("sex"), "age_years": item.facts.get("age"),
                 "age_band": age_band(item.facts.get("age"))} if item.facts else {})}
    failure = {**base, "path": item.path, "series_uid": None, "kind": None, "stage": stage, "error": error,
               "retry": retry}
    return {"measurements": [], "studies": [study], "findings": [], "failures": [failure]}


def _merge(parts: list[dict[str, list[dict[str, Any]]]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for p in parts:
        for table, rows in p.items():
            out.setdefault(table, []).extend(rows)
    return out


def _drop_stale(folder: Path, used: set[str]) -> None:
    """Remove study folders an earlier analysis of this item wrote that this one did not (the
    item's files changed and now hold another study), so the outputs match the tables."""
    import shutil

    from heartprint._atomic import temporary_name

    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for e in entries:
        if e.name not in used and temporary_name(e.name) is None and e.is_dir(follow_symlinks=False):
            shutil.rmtree(e.path, ignore_errors=True)


def staging_folder(out_root: Path, item: CohortItem) -> Path:
    """Where a worker puts the study of an archive item while it is analysed:
    ``OUT/.cohort/staging/<item_id>/`` (the item id is a hash, never a name from the archive)."""
    return Path(out_root) / ".cohort" / "staging" / item.item_id


def analyse_item(item: CohortItem, key: str, out_root: str, options: Mapping[str, Any], *, report: bool = True,
                 analyse: Callable[..., Any] | None = None,
                 max_study_bytes: int | None = None) -> dict[str, list[dict[str, Any]]]:
    """Analyse and write one study; return its rows in every table (plus ``timings``).

    ``options``: :class:`~heartprint.pipeline.AnalysisOptions` keywords shared by the run; the
    item's manifest facts are added (source "cohort manifest"). ``analyse`` is
    :func:`heartprint.pipeline.analyze` (a test may pass another callable of the same form).
    The study's folders go to ``out_root/studies/<item_id>/<study folder>``, as ``heartprint
    analyze`` names them. Every failure becomes rows; only a stop signal propagates.

    A study in an archive (:mod:`heartprint.cohort._archive`) is first fetched into
    :func:`staging_folder` (at most ``max_study_bytes``, default
    :data:`~heartprint.cohort._archive.MAX_STUDY_BYTES`), analysed from there, its results
    named by the archive address, and the staging copy deleted once the outputs are written (or
    the study failed). A fetch that fails is a ``fetch`` failure, retried on the next run.
    """
    import shutil
    from dataclasses import replace

    from heartprint.cohort._archive import MAX_STUDY_BYTES, ArchiveError, fetch_study, is_archive_source
    from heartprint.errors import InvalidInputError
    from heartprint.outputs import one_line, write_study
    from heartprint.pipeline import AnalysisOptions, analyze

    t0 = time.perf_counter()
    root = Path(out_root)
    staging = staging_folder(root, item) if is_archive_source(item.path) else None
    try:
        opts = AnalysisOptions(**{**dict(options), **item.options_facts()},
                               **({"facts_source": "cohort manifest", "facts_file_source": "cohort manifest"}
                                  if item.facts else {}))
        source = item.path
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)  # a killed run's leftovers
            source = str(fetch_study(item, staging, max_bytes=max_study_bytes or MAX_STUDY_BYTES))
        results = (analyse or analyze)(source, opts)
        if staging is not None:  # the outputs name the study's archive address, not the staging copy
            results = [replace(res, source=item.path) for res in results]
        used: set[str] = set()
        folder = root / "studies" / item.item_id
        rows = _merge([study_rows(item, key, write_study(res, folder, used, report=report), root) for res in results])
        _drop_stale(folder, used)
    except _STOP:
        raise
    except ArchiveError as exc:
        rows = failure_rows(item, key, "fetch", one_line(exc), retry=True)
    except InvalidInputError as exc:
        rows = failure_rows(item, key, "study", one_line(exc))
    except BaseException as exc:  # noqa: BLE001 - one study's failure never stops the batch
        rows = failure_rows(item, key, "study", one_line(exc))
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    import resource

    rows["timings"] = [{"key": key, "item_id": item.item_id, "seconds": time.perf_counter() - t0,
                        "worker": f"{os.uname().nodename}:{os.getpid()}",
                        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}]
    return rows

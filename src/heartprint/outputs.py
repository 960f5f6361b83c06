"""The one writer of a study's outputs. The CLI, the demo, the service and cohort runs all call
:func:`write_study_outputs`; none writes result files itself.

Into one folder, all or nothing (built in a temporary folder beside it, then moved into place):

* ``measurements.json`` — the ``heartprint.study/2`` document, checked against its shipped
  JSON Schema before it is written;
* ``labels/<series_uid>.nii.gz`` — label maps (heartprint labels, RAS NIfTI);
* ``dicom/seg_<series_uid>.dcm`` and ``dicom/sr_<series_uid>.dcm`` — DICOM SEG and TID 1500 SR
  for each segmented series (needs its source DICOM headers);
* ``fhir_bundle.json`` — a FHIR R4 Bundle: Patient, ImagingStudy, DiagnosticReport and one
  Observation per measurement, each with its subject;
* ``report.html`` / ``report.pdf`` — the study report (needs the ``report`` extra).

:func:`write_study` is one study's step in a run (the CLI's ``analyze``, the demo, later the
service and cohort runs): name its folder, write it, record it in a registry, and keep any
failure on the returned :class:`StudyRun` instead of raising, so the other studies go on.

An output that cannot be made (a missing extra, a writer error) is listed under
``output_problems`` in measurements.json and in :attr:`WrittenOutputs.problems`; the rest is
still written. Folder names never come from file contents unchecked (:func:`study_folder_name`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Mapping

from heartprint._atomic import atomic_dir
from heartprint.errors import HeartprintError
from heartprint.results import StudyResult, jsonable, validate_study_dict

__all__ = ["StudyRun", "WrittenOutputs", "one_line", "study_folder_name", "uid_file_part", "write_study", "write_study_outputs"]

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: A DICOM UID (PS3.5 9.1): digit components separated by dots, at most 64 characters.
_UID = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")


def uid_file_part(uid: str | None) -> str:
    """A file-name part for a UID: the UID itself when it is a valid DICOM UID (digits and dots,
    at most 64 characters), else ``x`` + the first 16 hex digits of its SHA-256 — a crafted UID
    (``../../x``, a slash, a NUL) never becomes part of a path."""
    import hashlib

    text = uid or ""
    if len(text) <= 64 and _UID.match(text):
        return text
    return "x" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _inside(root: Path, path: Path) -> Path:
    """``path``, after proving it lies inside ``root`` (resolved); else a HeartprintError."""
    if not path.resolve().is_relative_to(root.resolve()):
        raise HeartprintError(f"output path {path} would lie outside the output folder {root}")
    return path


def _safe_part(text: str | None, limit: int = 32) -> str:
    """``text`` reduced to letters, digits, ``.``, ``_`` and ``-`` (no leading dots), at most ``limit`` long."""
    s = _SAFE.sub("-", text or "").strip(".-_")[:limit].strip(".-_")
    return s


def study_folder_name(result: StudyResult, used: set[str] | None = None, *, prefix: str = "") -> str:
    """A safe, unique folder name for one study's outputs: ``[prefix_]<patient>_<date>_<uid tail>``.

    Each part is sanitised (letters, digits, ``.``, ``_``, ``-``; bounded length), so a crafted
    Patient ID or UID cannot name a path outside the output folder. ``used`` (updated) keeps
    names unique within a run.
    """
    parts = [_safe_part(prefix), _safe_part(result.patient.patient_id) or "no-patient-id",
             result.study.date.strftime("%Y%m%d") if result.study.date else "undated",
             _safe_part(result.study.study_uid[-12:], 12) or "study"]
    base = "_".join(p for p in parts if p)
    name, i = base, 1
    used = used if used is not None else set()
    while name in used:
        i += 1
        name = f"{base}-{i}"
    used.add(name)
    return name


@dataclass
class WrittenOutputs:
    """What :func:`write_study_outputs` wrote: the folder, the report files and any problems."""

    path: Path
    report: Any = None  # heartprint.report.ReportFiles
    problems: list[dict[str, str]] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)


def dumps(doc: Any) -> str:
    """JSON text (NaN and infinities written as null)."""
    return json.dumps(jsonable(doc), indent=2, ensure_ascii=False)


def _dicom_outputs(result: StudyResult, tmp: Path, problems: list[dict[str, str]]) -> None:
    from heartprint.io.seg import write_seg
    from heartprint.io.sr import write_sr

    for s in result.analysed():
        if s.labels is None or not s.source_headers:
            continue
        card = {"name": (s.model or {}).get("model"), "sha256": (s.model or {}).get("model_sha256")}
        modality = next((m.modality for m in s.measurements if m.modality), "MR")
        try:
            name = uid_file_part(s.series_uid)
            seg = write_seg(s.labels, list(s.source_headers), _inside(tmp, tmp / "dicom" / f"seg_{name}.dcm"),
                            model_card=card)
            write_sr(s.measurements, _inside(tmp, tmp / "dicom" / f"sr_{name}.dcm"), seg=seg, modality=modality)
        except HeartprintError as exc:
            problems.append({"series_uid": s.series_uid, "output": "DICOM SEG/SR", "reason": " ".join(str(exc).split())})


def _fhir_output(result: StudyResult, tmp: Path, problems: list[dict[str, str]]) -> None:
    from heartprint import DISCLAIMER
    from heartprint.io.fhir import build_fhir_bundle

    measurements = result.measurements()
    if not measurements:
        return
    try:
        import fhir.resources  # noqa: F401  (the "fhir" extra validates the bundle)

        validate = True
    except ImportError:
        validate = False
        problems.append({"series_uid": "", "output": "FHIR bundle",
                         "reason": "written without validation: fhir.resources (extra 'fhir') is not installed"})
    series = [(s.series_uid, next((m.modality for m in s.measurements if m.modality), ""), s.series_description)
              for s in result.analysed()]
    try:
        bundle = build_fhir_bundle(measurements, patient=result.patient, study=result.study, series=series,
                                   conclusion=DISCLAIMER, validate=validate)
        (tmp / "fhir_bundle.json").write_text(dumps(bundle))
    except HeartprintError as exc:
        problems.append({"series_uid": "", "output": "FHIR bundle", "reason": " ".join(str(exc).split())})


def _report_output(result: StudyResult, tmp: Path, problems: list[dict[str, str]]) -> Any:
    try:
        from heartprint.report import render_report
    except ImportError as exc:
        problems.append({"series_uid": "", "output": "report", "reason": f"not written: the report extra is not installed ({exc})"})
        return None
    try:
        files = render_report(result, tmp)
    except HeartprintError as exc:
        problems.append({"series_uid": "", "output": "report", "reason": " ".join(str(exc).split())})
        return None
    for note in files.notes:
        problems.append({"series_uid": "", "output": "report", "reason": note})
    return files


def write_study_outputs(result: StudyResult, out_dir: str | Path, *, report: bool = True, dicom: bool = True,
                        fhir: bool = True) -> WrittenOutputs:
    """Write one study's outputs into ``out_dir``, all or nothing (module docstring).

    An existing ``out_dir`` is replaced only after the new contents are complete. Returns
    :class:`WrittenOutputs` (paths refer to the final folder).
    """
    from heartprint.io.nifti import write_nifti

    out = Path(out_dir)
    problems: list[dict[str, str]] = []
    report_files = None
    with atomic_dir(out) as tmp:
        if dicom:
            _dicom_outputs(result, tmp, problems)
        if fhir:
            _fhir_output(result, tmp, problems)
        labelled = [s for s in result.analysed() if s.labels is not None]
        if labelled:
            (tmp / "labels").mkdir()
            for s in labelled:
                write_nifti(s.labels, _inside(tmp, tmp / "labels" / f"{uid_file_part(s.series_uid)}.nii.gz"))
        if report:
            report_files = _report_output(result, tmp, problems)
        doc = result.to_dict()
        if problems:
            doc["output_problems"] = problems
        doc = jsonable(doc)
        validate_study_dict(doc)
        (tmp / "measurements.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False))
    files = {p.relative_to(out).as_posix(): p for p in sorted(out.rglob("*")) if p.is_file()}
    if report_files is not None:  # rendered in the temporary folder: name the final files
        from dataclasses import replace

        report_files = replace(report_files, html=out / report_files.html.name,
                               pdf=None if report_files.pdf is None else out / report_files.pdf.name)
    return WrittenOutputs(path=out, report=report_files, problems=problems, files=files)


# -- one study of a run: written, then recorded ------------------------------------------------


@dataclass
class StudyRun:
    """One analysed study as :func:`write_study` left it: its result, output folder, files and
    registry run, and why either of the last two is missing."""

    result: StudyResult
    #: the study's folder name (:func:`heartprint.outputs.study_folder_name`) and path; ``None``: not written
    folder: str | None
    path: Path | None
    files: dict[str, Any] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)
    run_id: str | None = None
    #: why the study's outputs could not be written (``None``: written, or not asked for)
    write_error: str | None = None
    #: why the registry refused the study's run (``None``: recorded, or no registry)
    registry_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        r = self.result
        return {
            "folder": self.folder, "study_uid": r.study.study_uid,
            "date": r.study.date.isoformat() if r.study.date else None, "modalities": list(r.study.modalities),
            "status": r.status, "history": [h.study_uid for h in r.history], "run_id": self.run_id,
            "files": self.files, "output_problems": self.problems, "write_error": self.write_error,
            "series": [{"series_uid": s.series_uid, "kind": s.kind, "status": s.status,
                        "seconds": round(float(s.seconds), 3), "message": s.message} for s in r.series],
        }


def _study_files(written: Any) -> dict[str, Any]:
    """The files of one written study by role, from the writer's own list (:class:`~heartprint.outputs.WrittenOutputs`)."""
    path, names = Path(written.path), sorted(written.files)
    files: dict[str, Any] = {"result": str(path), "measurements": str(path / "measurements.json")}
    if any(n.startswith("labels/") for n in names):
        files["labels"] = str(path / "labels")
    for key in ("seg", "sr"):
        found = [str(path / n) for n in names if n.startswith(f"dicom/{key}_")]
        if found:
            files[key] = found
    if "fhir_bundle.json" in names:
        files["fhir"] = str(path / "fhir_bundle.json")
    if written.report is not None:
        files["report_html"] = str(written.report.html)
        if getattr(written.report, "pdf", None):
            files["report_pdf"] = str(written.report.pdf)
    return files


def one_line(exc: BaseException) -> str:
    """An exception as one line: a heartprint error's message, else ``Type: message``."""
    text = " ".join(str(exc).split())
    return text if isinstance(exc, HeartprintError) else f"{type(exc).__name__}: {text}"


def write_study(result: StudyResult, root: Path | None, used: set[str], *, report: bool = True,
                progress: Callable[..., None] | None = None, registry: Any = None,
                parameters: Mapping[str, Any] | None = None, started: datetime | None = None,
                doc: Mapping[str, Any] | None = None) -> StudyRun:
    """Write one study's outputs into ``root/<study folder>`` (the folder named by
    :func:`~heartprint.outputs.study_folder_name`, the files by
    :func:`~heartprint.outputs.write_study_outputs`; ``root=None``: nothing written), then record
    it as a run in ``registry`` (if given). A write or registry failure is kept on the returned
    :class:`StudyRun`, never raised: the other studies go on.

    ``used`` holds the folder names taken so far in this run (updated); ``doc`` is the study's
    ``heartprint.study/2`` dict if the caller already made it (else made here, once, for the registry).
    """
    st = StudyRun(result, None, None)
    if root is not None:
        st.folder = study_folder_name(result, used)
        st.path = root / st.folder
        try:
            written = write_study_outputs(result, st.path, report=report)
        except Exception as exc:  # noqa: BLE001 - one study's outputs never stop the others
            st.write_error = one_line(exc)
        else:
            st.files, st.problems = _study_files(written), list(written.problems or [])
            if progress is not None:
                progress("written", path=str(written.path), study_uid=result.study.study_uid)
    if registry is not None:
        try:
            st.run_id = registry.record_study_result(result.to_dict() if doc is None else doc,
                                                     parameters=dict(parameters or {}), started_at=started)
        except HeartprintError as exc:
            st.registry_error = one_line(exc)
    return st

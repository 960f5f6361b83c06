"""The one writer of a study's outputs. The CLI, the demo, the service and cohort runs all call
:func:`write_study_outputs`; none writes result files itself.

Into one folder, all at once (built in a private temporary folder inside the output root, then
swapped into place; :mod:`heartprint._atomic`):

* ``measurements.json`` — the ``heartprint.study/2`` document, checked against its shipped
  JSON Schema before it is written;
* ``labels/<series_uid>.nii.gz`` — label maps (heartprint labels, RAS NIfTI);
* ``dicom/seg_<series_uid>.dcm`` and ``dicom/sr_<series_uid>.dcm`` — DICOM SEG and TID 1500 SR
  for each segmented series (needs its source DICOM headers); ``dicom/sr_<series_uid>.dcm``
  alone, on the source series, for an analysed series without a label map (nuclear, calcium);
* ``fhir_bundle.json`` — a FHIR R4 Bundle: Patient, ImagingStudy, DiagnosticReport and one
  Observation per measurement, each with its subject;
* ``report.html`` / ``report.pdf`` — the study report (needs the ``report`` extra).

:func:`write_study` is one study's step in a run (the CLI's ``analyze``, the demo, later the
service and cohort runs): name its folder, write it, record it in a registry, and keep any
failure on the returned :class:`StudyRun` instead of raising, so the other studies go on.

Failures. Each output but ``measurements.json`` can fail alone (a writer's error of any kind, a
full disk): it is listed under ``output_problems`` in measurements.json and in
:attr:`WrittenOutputs.problems` with ``"status": "failed"`` and a named one-line reason, the
others are still written, and the study's run status is ``partial`` (:attr:`StudyRun.status`).
A failure of ``measurements.json`` fails the study: nothing is swapped in and an older result
in the same folder is kept. Notes that are not failures (written without validation, no PDF
engine) have ``"status": "note"``.

Paths. No output name comes from a DICOM value unchecked: a UID names a file only when it is a
valid DICOM UID, else its hash (:func:`uid_file_part`); folder names are sanitised
(:func:`study_folder_name`); every path is resolved and proven inside its output root
(:func:`inside`); a destination that is a symbolic link is refused
(:class:`~heartprint._atomic.OutputError`). :func:`check_output_root` checks an output root
before any analysis (a folder, writable) and removes what killed runs left there.
"""

from __future__ import annotations

import errno
import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Mapping

from heartprint._atomic import TMP_MARK, OutputError, atomic_dir, atomic_write, clean_stale, refuse_symlink
from heartprint.errors import HeartprintError
from heartprint.results import StudyResult, jsonable, validate_study_dict

__all__ = ["OutputError", "StudyRun", "WrittenOutputs", "check_output_root", "inside", "one_line", "study_folder_name",
           "uid_file_part", "write_study", "write_study_outputs"]

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: What still stops a run; anything else a writer raises (a decoder's ``PanicException`` that is
#: not an ``Exception`` included) fails that output or study only.
_STOP = (KeyboardInterrupt, SystemExit, GeneratorExit)
#: A DICOM UID (PS3.5 9.1): digit components without leading zeros separated by dots, at most 64 characters.
_UID = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")


def uid_file_part(uid: str | None) -> str:
    """A file-name part for a UID: the UID itself when it is a valid DICOM UID (digits and dots,
    at most 64 characters, no leading zero in a component), else ``x`` + the first 16 hex digits
    of its SHA-256 — a crafted UID (``../../x``, a slash, a NUL) never becomes part of a path."""
    import hashlib

    text = uid if isinstance(uid, str) else ("" if uid is None else str(uid))
    if len(text) <= 64 and _UID.fullmatch(text):
        return text
    return "x" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def inside(root: str | os.PathLike, path: str | os.PathLike) -> Path:
    """``path``, after proving that it lies inside ``root`` once both are resolved (symbolic links
    followed, ``..`` removed); else an :class:`~heartprint._atomic.OutputError`."""
    p = Path(path)
    if not p.resolve().is_relative_to(Path(root).resolve()):
        raise OutputError(f"output path {p} would lie outside the output folder {root}: refused")
    return p


_inside = inside  # the name used before issue 17


def _safe_part(text: str | None, limit: int = 32) -> str:
    """``text`` reduced to letters, digits, ``.``, ``_`` and ``-`` (no leading dots), at most ``limit`` long."""
    s = _SAFE.sub("-", text or "").strip(".-_")[:limit].strip(".-_")
    return s


def study_folder_name(result: StudyResult, used: set[str] | None = None, *, prefix: str = "") -> str:
    """A safe, unique folder name for one study's outputs: ``[prefix_]<patient>_<date>_<uid tail>``.

    Each part is sanitised (letters, digits, ``.``, ``_``, ``-``; bounded length; never a
    leading dot, so never ``..`` nor a temporary name), so a crafted Patient ID or UID cannot
    name a path outside the output folder. ``used`` (updated) keeps names unique within a run.
    """
    date = result.study.date
    parts = [_safe_part(prefix), _safe_part(str(result.patient.patient_id or "")) or "no-patient-id",
             date.strftime("%Y%m%d") if date else "undated",
             _safe_part(str(result.study.study_uid or "")[-12:], 12) or "study"]
    base = "_".join(p for p in parts if p)
    name, i = base, 1
    used = used if used is not None else set()
    while name in used:
        i += 1
        name = f"{base}-{i}"
    used.add(name)
    return name


def _probe_error(exc: OSError) -> str:
    code = errno.errorcode.get(exc.errno or 0, "")
    return f"{exc.strerror or exc}" + (f" ({code})" if code else "")


def check_output_root(path: str | os.PathLike, *, clean: bool = True) -> Path:
    """Make sure ``path`` can take outputs, before any analysis: create it (and its parents) if
    missing, prove it is a folder and writable (a probe file made with ``O_EXCL|O_NOFOLLOW``,
    then removed), and remove what killed runs left in it (:func:`heartprint._atomic.clean_stale`).

    ``path`` may itself be a symbolic link to a folder (the user's choice); the resolved folder
    is returned and every later write is checked against it.

    Raises
    ------
    OutputError
        One line naming the folder and why: exists and is not a folder, lies under a file,
        cannot be created, not writable (permission, read-only file system, disk full).
    """
    root = Path(path).expanduser()
    if os.path.lexists(root) and not root.is_dir():
        kind = "a broken symbolic link" if os.path.islink(root) else "not a folder"
        raise OutputError(f"output folder {root}: exists and is {kind}")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"output folder {root}: cannot be created, a part of the path is a file") from None
    except NotADirectoryError:
        raise OutputError(f"output folder {root}: cannot be created, a part of the path is a file") from None
    except OSError as exc:
        raise OutputError(f"output folder {root}: cannot be created: {_probe_error(exc)}") from None
    resolved = root.resolve()
    if not resolved.is_dir():
        raise OutputError(f"output folder {root}: not a folder")
    probe = resolved / f".probe{TMP_MARK}{os.getpid()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            os.write(fd, b"heartprint")
        finally:
            os.close(fd)
    except FileExistsError:  # left by an earlier run of this process (same PID): not ours to fail on
        pass
    except OSError as exc:
        raise OutputError(f"output folder {root}: not writable: {_probe_error(exc)}") from None
    finally:
        try:
            os.unlink(probe)
        except OSError:
            pass
    if clean:
        clean_stale(resolved)
    return resolved


@dataclass
class WrittenOutputs:
    """What :func:`write_study_outputs` wrote: the folder, the report files and any problems."""

    path: Path
    report: Any = None  # heartprint.report.ReportFiles
    problems: list[dict[str, str]] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def failed_outputs(self) -> list[str]:
        """The outputs that could not be written (``"DICOM SEG"``, ``"report"``...), in order."""
        return list(dict.fromkeys(p["output"] for p in self.problems if p.get("status") == "failed"))


def dumps(doc: Any) -> str:
    """JSON text (NaN and infinities written as null)."""
    return json.dumps(jsonable(doc), indent=2, ensure_ascii=False)


def _fail(problems: list[dict[str, str]], output: str, why: BaseException | str, series_uid: str = "") -> None:
    reason = why if isinstance(why, str) else one_line(why)
    problems.append({"series_uid": str(series_uid or ""), "output": output, "reason": reason, "status": "failed"})


def _note(problems: list[dict[str, str]], output: str, reason: str) -> None:
    problems.append({"series_uid": "", "output": output, "reason": reason, "status": "note"})


def _dicom_outputs(result: StudyResult, tmp: Path, problems: list[dict[str, str]]) -> None:
    """``dicom/seg_<uid>.dcm`` + ``dicom/sr_<uid>.dcm`` (SR on the SEG) for each analysed series
    with a label map and source headers; ``dicom/sr_<uid>.dcm`` alone, built on the source headers
    (:func:`heartprint.io.sr.write_sr` ``source=``), for each analysed series with measurements and
    source headers but no label map (nuclear perfusion, CT calcium, CMR mapping...). Each file
    fails alone (``_fail``); a series' file name is :func:`uid_file_part` of its UID, proven
    inside the output folder (:func:`inside`)."""
    try:
        from heartprint.io.seg import write_seg
        from heartprint.io.sr import write_sr
    except _STOP:
        raise
    except BaseException as exc:  # noqa: BLE001 - a missing writer fails these outputs only
        _fail(problems, "DICOM SEG", exc)
        return

    folder = tmp / "dicom"
    for s in result.analysed():
        if not s.source_headers:
            continue
        uid = str(s.series_uid or "")
        modality = next((m.modality for m in s.measurements if m.modality), None)
        name = uid_file_part(uid)
        if s.labels is None:  # no SEG to reference: the SR stands on the source series
            if not s.measurements:
                continue
            try:
                folder.mkdir(exist_ok=True)
                info = write_sr(s.measurements, inside(tmp, folder / f"sr_{name}.dcm"), source=list(s.source_headers),
                                modality=modality, about=s.series_description)
            except _STOP:
                raise
            except BaseException as exc:  # noqa: BLE001 - one output fails alone
                _fail(problems, "DICOM SR", exc, uid)
                continue
            for note in getattr(info, "notes", ()):  # header values normalised for the SR
                _note(problems, "DICOM SR", note)
            continue
        card = {"name": (s.model or {}).get("model"), "sha256": (s.model or {}).get("model_sha256")}
        try:
            folder.mkdir(exist_ok=True)
            seg = write_seg(s.labels, list(s.source_headers), inside(tmp, folder / f"seg_{name}.dcm"), model_card=card)
        except _STOP:
            raise
        except BaseException as exc:  # noqa: BLE001 - one output fails alone
            _fail(problems, "DICOM SEG", exc, uid)
            _fail(problems, "DICOM SR", "not written: it references the DICOM SEG, which could not be written", uid)
            continue
        for note in getattr(seg, "notes", ()):  # header values normalised for the SEG (and its SR)
            _note(problems, "DICOM SEG", note)
        try:
            write_sr(s.measurements, inside(tmp, folder / f"sr_{name}.dcm"), seg=seg, modality=modality or "MR",
                     about=s.series_description)
        except _STOP:
            raise
        except BaseException as exc:  # noqa: BLE001
            _fail(problems, "DICOM SR", exc, uid)


def _label_outputs(result: StudyResult, tmp: Path, problems: list[dict[str, str]]) -> None:
    labelled = [s for s in result.analysed() if s.labels is not None]
    if not labelled:
        return
    try:
        from heartprint.io.nifti import write_nifti

        (tmp / "labels").mkdir(exist_ok=True)
    except _STOP:
        raise
    except BaseException as exc:  # noqa: BLE001
        _fail(problems, "label maps", exc)
        return
    for s in labelled:
        try:
            write_nifti(s.labels, inside(tmp, tmp / "labels" / f"{uid_file_part(s.series_uid)}.nii.gz"))
        except _STOP:
            raise
        except BaseException as exc:  # noqa: BLE001
            _fail(problems, "label maps", exc, str(s.series_uid or ""))


def _fhir_output(result: StudyResult, tmp: Path, problems: list[dict[str, str]]) -> None:
    measurements = result.measurements()
    if not measurements:
        return
    try:
        from heartprint import DISCLAIMER
        from heartprint.io.fhir import build_fhir_bundle

        try:
            import fhir.resources  # noqa: F401  (the "fhir" extra validates the bundle)

            validate = True
        except ImportError:
            validate = False
            _note(problems, "FHIR bundle", "written without validation: fhir.resources (extra 'fhir') is not installed")
        series = [(s.series_uid, next((m.modality for m in s.measurements if m.modality), ""), s.series_description)
                  for s in result.analysed()]
        bundle = build_fhir_bundle(measurements, patient=result.patient, study=result.study, series=series,
                                   conclusion=DISCLAIMER, validate=validate)
        atomic_write(inside(tmp, tmp / "fhir_bundle.json"), dumps(bundle))
    except _STOP:
        raise
    except BaseException as exc:  # noqa: BLE001 - one output fails alone
        _fail(problems, "FHIR bundle", exc)


def _report_output(result: StudyResult, tmp: Path, problems: list[dict[str, str]]) -> Any:
    try:
        from heartprint.report import render_report
    except ImportError as exc:
        _note(problems, "report", f"not written: the report extra is not installed ({exc})")
        return None
    def clear() -> None:  # never half a report
        for name in ("report.html", "report.pdf"):
            try:
                os.unlink(tmp / name)
            except OSError:
                pass

    def render(**kw: Any) -> Any:
        files = render_report(result, tmp, **kw)
        for p in (files.html, files.pdf):
            if p is not None:
                inside(tmp, p)
        return files

    try:
        files = render()
    except _STOP:
        raise
    except BaseException as exc:  # noqa: BLE001 - one output fails alone: try the HTML without the PDF
        clear()
        try:
            files = render(pdf=False)
        except _STOP:
            raise
        except BaseException as exc2:  # noqa: BLE001
            clear()
            _fail(problems, "report", exc2)
            return None
        _fail(problems, "report PDF", exc)
    for note in files.notes:
        _note(problems, "report", note)
    return files


def write_study_outputs(result: StudyResult, out_dir: str | os.PathLike, *, report: bool = True, dicom: bool = True,
                        fhir: bool = True, root: str | os.PathLike | None = None) -> WrittenOutputs:
    """Write one study's outputs into ``out_dir``, all at once (module docstring).

    ``out_dir`` is built under a temporary name beside it and swapped in only after every
    output is written; an existing ``out_dir`` (an older result of the study) is kept until that
    moment. ``root`` (default: ``out_dir``'s parent) is the output root every path must lie in.
    Returns :class:`WrittenOutputs` (paths refer to the final folder).

    Raises
    ------
    OutputError
        ``out_dir`` is a symbolic link or lies outside ``root``.
    HeartprintError, OSError
        ``measurements.json`` could not be made or written (nothing is swapped in).
    """
    out = Path(out_dir)
    base = Path(root) if root is not None else out.parent
    refuse_symlink(out, "output folder")
    inside(base, out)
    problems: list[dict[str, str]] = []
    report_files = None
    with atomic_dir(out) as tmp:
        if dicom:
            _dicom_outputs(result, tmp, problems)
        _label_outputs(result, tmp, problems)
        if fhir:
            _fhir_output(result, tmp, problems)
        if report:
            report_files = _report_output(result, tmp, problems)
        doc = result.to_dict()
        if problems:
            doc["output_problems"] = problems
        doc = jsonable(doc)
        validate_study_dict(doc)
        atomic_write(inside(tmp, tmp / "measurements.json"), json.dumps(doc, indent=2, ensure_ascii=False))
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

    @property
    def failed_outputs(self) -> list[str]:
        """The outputs that could not be written although the study's folder was (``"DICOM SEG"``...)."""
        return list(dict.fromkeys(p["output"] for p in self.problems if p.get("status") == "failed"))

    @property
    def status(self) -> str:
        """The study's status in a run: ``failed`` if its outputs could not be written, ``partial``
        if one of them failed alone (else the analysis' own status: ok, partial or failed)."""
        if self.write_error is not None:
            return "failed"
        status = self.result.status
        if status == "ok" and self.failed_outputs:
            return "partial"
        return status

    def to_dict(self) -> dict[str, Any]:
        r = self.result
        return {
            "folder": self.folder, "study_uid": r.study.study_uid,
            "date": r.study.date.isoformat() if r.study.date else None, "modalities": list(r.study.modalities),
            "status": self.status, "history": [h.study_uid for h in r.history], "run_id": self.run_id,
            "files": self.files, "output_problems": self.problems, "failed_outputs": self.failed_outputs,
            "write_error": self.write_error,
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
    """An exception as one line: a heartprint error's message; a file-system error as
    ``Type: reason (ERRNO): file``; else ``Type: message``."""
    if isinstance(exc, HeartprintError):
        return " ".join(str(exc).split())
    if isinstance(exc, OSError) and exc.errno is not None:
        code = errno.errorcode.get(exc.errno, "")
        text = f"{type(exc).__name__}: {exc.strerror or exc}" + (f" ({code})" if code else "")
        if exc.filename is not None:
            text += f": {exc.filename}"
        return " ".join(text.split())
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def write_study(result: StudyResult, root: Path | None, used: set[str], *, report: bool = True,
                progress: Callable[..., None] | None = None, registry: Any = None,
                parameters: Mapping[str, Any] | None = None, started: datetime | None = None,
                doc: Mapping[str, Any] | None = None) -> StudyRun:
    """Write one study's outputs into ``root/<study folder>`` (the folder named by
    :func:`~heartprint.outputs.study_folder_name`, the files by
    :func:`~heartprint.outputs.write_study_outputs`; ``root=None``: nothing written), then record
    it as a run in ``registry`` (if given). A write or registry failure is kept on the returned
    :class:`StudyRun`, never raised: the other studies go on.

    The run is recorded ``complete`` only after the study's folder is in place; a study whose
    outputs could not be written is recorded as a failed run with the reason.

    ``used`` holds the folder names taken so far in this run (updated); ``doc`` is the study's
    ``heartprint.study/2`` dict if the caller already made it (else made here, once, for the registry).
    """
    st = StudyRun(result, None, None)
    if root is not None:
        try:
            st.folder = study_folder_name(result, used)
            st.path = Path(root) / st.folder
            base = check_output_root(root)
            written = write_study_outputs(result, st.path, report=report, root=base)
        except _STOP:
            raise
        except BaseException as exc:  # noqa: BLE001 - one study's outputs never stop the others
            st.write_error = one_line(exc)
        else:
            st.files, st.problems = _study_files(written), list(written.problems or [])
            if progress is not None:
                progress("written", path=str(written.path), study_uid=result.study.study_uid)
    if registry is not None:
        try:
            if st.write_error is None:
                st.run_id = registry.record_study_result(result.to_dict() if doc is None else doc,
                                                         parameters=dict(parameters or {}), started_at=started)
            else:
                st.run_id = registry.record_failure(
                    result.source, f"outputs not written to {st.path}: {st.write_error}",
                    study_uids=[u for u in result.study_uids if u], patient_id=result.patient.patient_id,
                    parameters=dict(parameters or {}), started_at=started)
        except _STOP:
            raise
        except BaseException as exc:  # noqa: BLE001 - the registry refusing one study never stops the others
            st.registry_error = one_line(exc)
    return st

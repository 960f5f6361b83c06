"""The ``heartprint`` command.

Thin by design: each subcommand parses its arguments and calls library functions. To add a
subcommand, write ``_add_<name>(subparsers)`` that creates its parser and sets
``func=<handler>``, where the handler takes the parsed ``argparse.Namespace`` and returns an
exit code; then append ``_add_<name>`` to :data:`SUBCOMMANDS`.

Exit status:

* **0** — success: every study analysed and ``ok`` (``analyze``), every phantom series analysed
  (``demo``);
* **1** — an analysis failed: a study (or an input path) ``failed`` or ``partial`` because a
  series could not be analysed, including when *every* series failed; a study's outputs could
  not be written; the registry refused a run. The batch still finishes and ``batch.json``
  says which;
* **2** — a usage error or bad input found before any work starts: an unknown option, a bad
  value (``--height-cm 1750``, ``--kind UID=bogus``, ``--lab nt_probnp=1200`` without its unit,
  ``--facts`` with a bad field), a STUDY path that does not exist, an ``--out`` that is not a
  writable folder (a file, under a file, read-only, no permission). Always one line
  ``heartprint: error: ...`` on stderr, never a traceback. A file-system error met later (a
  full disk while writing) is one such line too, with exit status 1.

``heartprint analyze`` shows progress (series found, loaded, segmented, analysed, written) on
stderr only when stderr is a terminal and neither ``--json`` nor ``--quiet`` is given; with
``--json`` stdout holds nothing but the JSON document.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from heartprint import __version__
from heartprint.errors import HeartprintError, InvalidInputError

__all__ = ["main", "build_parser", "SUBCOMMANDS"]

PROG = "heartprint"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
#: Identifier of the ``batch.json`` document written by ``heartprint analyze --out``.
BATCH_SCHEMA = "heartprint.batch/1"


# -- info ----------------------------------------------------------------------------------


def _orientation_label(direction: np.ndarray) -> str:
    """Name the slice plane from the z (slice normal) column of an LPS direction matrix."""
    normal = np.abs(direction[:, 0])
    axis = int(np.argmax(normal))
    if normal[axis] < 0.95:
        return "oblique"
    return ("sagittal", "coronal", "axial")[axis]


def _series_summary(series) -> dict[str, Any]:
    out: dict[str, Any] = {
        "series_uid": series.series_uid,
        "series_number": _maybe_int(series.first.get("SeriesNumber")),
        "modality": series.modality,
        "description": series.description,
        "n_files": series.n_files,
    }
    if series.classification is not None:
        out.update(series.classification.as_dict())
    try:
        lay = series.layout()
    except HeartprintError as exc:
        out["geometry_error"] = str(exc)
        return out
    direction = lay.affine[:3, :3] / np.linalg.norm(lay.affine[:3, :3], axis=0)
    out.update(
        {
            "shape": list(lay.shape),
            "axes": "tzyx" if lay.n_phases > 1 else "zyx",
            "spacing_mm": [round(v, 4) for v in lay.spacing],
            "n_phases": lay.n_phases,
            "n_slices": lay.n_slices,
            "orientation": _orientation_label(direction) if lay.notes.get("patient_geometry", True) else "2-D (no patient position)",
            "row_direction_lps": [round(float(v), 4) for v in direction[:, 2]],
            "column_direction_lps": [round(float(v), 4) for v in direction[:, 1]],
            "origin_lps_mm": [round(float(v), 3) for v in lay.affine[:3, 3]],
        }
    )
    if lay.frame_times_ms is not None:
        out["frame_times_ms"] = [round(float(t), 2) for t in lay.frame_times_ms]
    return out


def _maybe_int(v: Any) -> int | None:
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def _info_nifti(path: Path) -> dict[str, Any]:
    from heartprint.io import read_nifti

    img = read_nifti(path)
    return {
        "path": str(path),
        "format": "nifti",
        "shape": list(img.array.shape),
        "axes": "tzyx" if img.is_cine else "zyx",
        "dtype": str(img.array.dtype),
        "spacing_mm": [round(v, 4) for v in img.spacing],
        "orientation": _orientation_label(img.direction),
        "origin_lps_mm": [round(float(v), 3) for v in img.origin],
        "n_phases": img.n_phases,
    }


def _info_dicom(path: Path) -> dict[str, Any]:
    import warnings

    from heartprint.errors import SkippedFileWarning
    from heartprint.io import scan

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkippedFileWarning)  # reported in the output instead
        result = scan(path)
    studies = []
    for study_uid, series in result.studies().items():
        first = series[0].first
        studies.append(
            {
                "study_uid": study_uid,
                "patient_id": str(first.get("PatientID", "") or "") or None,
                "study_date": str(first.get("StudyDate", "") or "") or None,
                "study_description": str(first.get("StudyDescription", "") or "") or None,
                "series": [_series_summary(s) for s in series],
            }
        )
    return {
        "path": str(path),
        "format": "dicom",
        "studies": studies,
        "skipped": [{"file": str(s.source), "reason": s.reason} for s in result.skipped],
    }


def _format_info(info: dict[str, Any]) -> str:
    lines = []
    if info["format"] == "nifti":
        lines.append(f"{info['path']}: NIfTI image")
        lines.append(
            f"  shape ({','.join(info['axes'])})={tuple(info['shape'])}  spacing (z,y,x)={tuple(info['spacing_mm'])} mm  "
            f"orientation {info['orientation']}  phases {info['n_phases']}  dtype {info['dtype']}"
        )
        return "\n".join(lines)
    n_series = sum(len(s["series"]) for s in info["studies"])
    lines.append(f"{info['path']}: {len(info['studies'])} study(ies), {n_series} series")
    for st in info["studies"]:
        lines.append(f"study {st['study_uid']}  patient {st['patient_id'] or '-'}  date {st['study_date'] or '-'}")
        for s in st["series"]:
            kind = s.get("kind", "?")
            if s.get("subkind"):
                kind += f"/{s['subkind']}"
            lines.append(
                f"  series {s['series_number'] if s['series_number'] is not None else '-'}  {s['modality']}  "
                f"{s['description']!r}  kind {kind} ({s.get('confidence', 0):.2f})  files {s['n_files']}"
            )
            lines.append(f"    uid {s['series_uid']}")
            if "geometry_error" in s:
                lines.append(f"    geometry error: {s['geometry_error']}")
                continue
            sp = ", ".join(f"{v:g}" for v in s["spacing_mm"])
            lines.append(
                f"    shape ({','.join(s['axes'])})={tuple(s['shape'])}  spacing (z,y,x)=({sp}) mm  "
                f"orientation {s['orientation']}  phases {s['n_phases']}"
            )
    if info["skipped"]:
        lines.append(f"skipped {len(info['skipped'])} file(s):")
        lines.extend(f"  {s['reason']}" for s in info["skipped"])
    return "\n".join(lines)


def _is_nifti(path: Path) -> bool:
    name = path.name.lower()
    return path.is_file() and (name.endswith(".nii") or name.endswith(".nii.gz"))


def cmd_info(args: argparse.Namespace) -> int:
    """``heartprint info PATH [--json]``: studies, series, kinds, geometry and phases."""
    path = Path(args.path)
    info = _info_nifti(path) if _is_nifti(path) else _info_dicom(path)
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print(_format_info(info))
    return EXIT_OK


def _add_info(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "info",
        help="list studies, series, kinds and geometry of DICOM (folder, .zip, file) or NIfTI",
        description="List the studies and series under PATH with their kind (and confidence), "
        "geometry (shape, spacing, orientation) and phases. Reads headers only.",
    )
    p.add_argument("path", metavar="PATH", help="DICOM folder (searched recursively), .zip, DICOM file or NIfTI file")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=cmd_info)


# -- progress ------------------------------------------------------------------------------


def _no_progress(stage: str, **info: Any) -> None:
    return None


class _TerminalProgress:
    """Progress lines on stderr (``rich``): series found, loaded, segmented, analysed, written.

    Used only when stderr is a terminal and neither ``--json`` nor ``--quiet`` is given
    (:func:`_progress_for`); the pipeline calls it as ``progress(stage, **info)``.
    """

    _STYLE = {"ok": "green", "analysed": "green", "partial": "yellow", "failed": "red", "not_analysed": "dim"}

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(file=sys.stderr, highlight=False, soft_wrap=True)

    def __call__(self, stage: str, **info: Any) -> None:
        from rich.markup import escape

        kind = escape(str(info.get("kind", "")))
        uid = escape(str(info.get("series_uid", "")))
        if stage == "found":
            skipped = info.get("n_skipped") or 0
            text = (f"found {info.get('n_series', 0)} series in {info.get('n_studies', 0)} stud"
                    f"{'y' if info.get('n_studies') == 1 else 'ies'}" + (f" ({skipped} files skipped)" if skipped else ""))
        elif stage in ("loaded", "segmented"):
            text = f"{stage} {kind} series [dim]{uid}[/]"
        elif stage == "analysed":
            status = str(info.get("status", ""))
            secs = f" in {info['seconds']:.1f} s" if isinstance(info.get("seconds"), (int, float)) else ""
            text = f"analysed {kind} series [dim]{uid}[/]: [{self._STYLE.get(status, '')}]{escape(status)}[/]{secs}"
        elif stage == "interpreted":
            text = f"interpreted study [dim]{escape(str(info.get('study_uid', '')))}[/]"
        elif stage == "written":
            text = f"written {escape(str(info.get('path', '')))}"
        else:
            text = escape(stage)
        self.console.print(f"[cyan]•[/] {text}")


def _progress_for(args: argparse.Namespace) -> Callable[..., None]:
    """Terminal progress on stderr, or nothing (not a terminal, ``--json`` or ``--quiet``)."""
    if getattr(args, "json", False) or getattr(args, "quiet", False):
        return _no_progress
    try:
        tty = sys.stderr.isatty()
    except (AttributeError, ValueError):
        tty = False
    if not tty:
        return _no_progress
    try:
        return _TerminalProgress()
    except ImportError:  # pragma: no cover - rich is a dependency
        return _no_progress


# -- analyze -------------------------------------------------------------------------------

#: Headline measurements of the per-study summary lines (names and units from the concepts).
_HEADLINE_CODES = ("lv_edv", "lv_esv", "lv_ef", "lv_mass", "rv_edv", "rv_ef", "heart_rate", "lv_max_wall_thickness",
                   "lge_extent", "lge_scar_volume", "native_t1", "cac_agatston", "cac_volume")


def _parse_overrides(items: Sequence[str] | None) -> dict[str, str]:
    out = {}
    for item in items or []:
        uid, sep, kind = item.partition("=")
        if not sep or not uid.strip() or not kind.strip():
            raise InvalidInputError(f"--kind {item!r}: expected SERIES_UID=KIND, e.g. 1.2.3=cine_sax")
        out[uid.strip()] = kind.strip()
    return out


def _parse_nm_axes(items: Sequence[str] | None) -> dict[str, Any]:
    """``--nm-axis UID=AX,AY,AZ:BX,BY,BZ`` → series UID → :class:`heartprint.nuclear.LVAxis`."""
    import math

    from heartprint.nuclear import LVAxis

    out: dict[str, Any] = {}
    for item in items or []:
        uid, sep, rest = item.partition("=")
        apex, sep2, base = rest.partition(":")
        try:
            a = [float(v) for v in apex.split(",")]
            b = [float(v) for v in base.split(",")]
        except ValueError:
            a = b = []
        if not sep or not sep2 or not uid.strip() or len(a) != 3 or len(b) != 3 or \
                not all(math.isfinite(v) and abs(v) < 1e4 for v in a + b):
            raise InvalidInputError(f"--nm-axis {item!r}: expected SERIES_UID=AX,AY,AZ:BX,BY,BZ (apex and base "
                                    "centre in patient LPS mm), e.g. 1.2.3=10,-40,20:-30,10,60")
        try:
            out[uid.strip()] = LVAxis.from_points(a, b)
        except InvalidInputError as exc:
            raise InvalidInputError(f"--nm-axis {item!r}: {exc}") from exc
    return out


def _parse_echo_views(items: Sequence[str] | None) -> dict[str, str]:
    """``--echo-view UID=A4C`` → series UID → apical view (checked by AnalysisOptions)."""
    out: dict[str, str] = {}
    for item in items or []:
        uid, sep, view = item.partition("=")
        if not sep or not uid.strip() or not view.strip():
            raise InvalidInputError(f"--echo-view {item!r}: expected SERIES_UID=VIEW, e.g. 1.2.3=A4C (A4C, A2C or A3C)")
        out[uid.strip()] = view.strip().upper()
    return out


def _read_echo_contours(path: str | None) -> dict[str, Any] | None:
    """``--echo-contours FILE``: endocardial tracings (``heartprint.echo-contours/1``, heartprint.echo._cine)."""
    if path is None:
        return None
    from heartprint.echo._cine import load_contour_file

    try:
        return load_contour_file(path)
    except InvalidInputError as exc:
        raise InvalidInputError(f"--echo-contours {exc}") from exc


def _read_facts(path: str | None) -> dict[str, Any] | None:
    """``--facts FILE``: the facts document, read (not yet checked).

    The file holds a ``heartprint.phenotype/1`` document with "patient" and "labs" (no
    measurements or studies), or the "patient" object itself (docs/patient_facts.md). Its
    values are checked by :class:`~heartprint.pipeline.AnalysisOptions`.
    """
    if path is None:
        return None
    p = Path(path)
    try:
        doc = json.loads(p.read_text())
    except FileNotFoundError:
        raise InvalidInputError(f"--facts {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"--facts {path}: cannot read it ({exc})") from None
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"--facts {path}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise InvalidInputError(f"--facts {path}: expected a JSON object of patient facts, got {type(doc).__name__}")
    return doc


# -- patient facts from the command line (analyze and interpret) ----------------------------------

#: Places in the facts document's "patient" object → the flag that gives them.
_FACT_FLAGS = (("patient.symptoms.heart_failure", "--symptoms"), ("patient.symptoms.nyha", "--nyha"),
               ("patient.rhythm", "--rhythm"), ("patient.qrs.duration_ms", "--qrs-ms"),
               ("patient.qrs.morphology", "--qrs-morphology"), ("patient.sex", "--sex"), ("patient.age", "--age"),
               ("patient.height_cm", "--height-cm"), ("patient.weight_kg", "--weight-kg"))


def _add_fact_flags(p: argparse.ArgumentParser, *, dicom: bool) -> None:
    """The patient-fact flags shared by ``analyze`` and ``interpret`` (docs/patient_facts.md)."""
    def over(tag: str) -> str:
        return f", overrides the facts file and DICOM {tag}" if dicom else ", overrides the files"

    p.add_argument("--sex", choices=("male", "female", "other"), help="patient sex" + over("(0010,0040)"))
    p.add_argument("--age", type=float, metavar="YEARS", help="patient age in years" + over("(0010,1010)"))
    p.add_argument("--height-cm", type=float, metavar="CM",
                   help="patient height (cm) for BSA and BMI" + over("(0010,1020)"))
    p.add_argument("--weight-kg", type=float, metavar="KG",
                   help="patient weight (kg) for BSA and BMI" + over("(0010,1030)"))
    p.add_argument("--symptoms", choices=("yes", "no"),
                   help="symptoms and/or signs of heart failure (ESC 2021 HF Table 3); not given: unknown")
    p.add_argument("--nyha", type=int, choices=(1, 2, 3, 4), metavar="{1,2,3,4}", help="NYHA functional class")
    p.add_argument("--rhythm", choices=("sinus", "af"), help="heart rhythm: sinus or atrial fibrillation")
    p.add_argument("--qrs-ms", type=float, metavar="MS", help="QRS duration on the ECG (ms)")
    p.add_argument("--qrs-morphology", choices=("lbbb", "rbbb", "other"), help="QRS morphology on the ECG")
    p.add_argument("--lab", action="append", metavar="NAME=VALUE UNIT",
                   help="a lab result with its unit, e.g. nt_probnp=1200pg/mL or 'bnp=80 ng/L' (repeatable; "
                   "labs: " + ", ".join(_lab_codes()) + ")")


def _lab_codes() -> tuple[str, ...]:
    from heartprint.phenotype import LAB_CODES

    return LAB_CODES


def _parse_labs(items: Sequence[str] | None) -> list[dict[str, Any]]:
    """``--lab NAME=VALUE UNIT`` (repeatable) → labs, each checked (name, unit, plausible range)."""
    from heartprint.phenotype import lab_code
    from heartprint.units import parse_quantity, to_canonical

    out: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for item in items or []:
        name, sep, rest = item.partition("=")
        if not sep or not name.strip() or not rest.strip():
            raise InvalidInputError(f"--lab {item!r}: expected NAME=VALUE UNIT, "
                                    "e.g. nt_probnp=1200pg/mL or 'bnp=80 ng/L'")
        code = lab_code(name, field=f"--lab {item!r}")
        value, unit = parse_quantity(rest.strip(), field=f"--lab {code}")
        to_canonical(code, value, unit, field=f"--lab {code}")  # unit required, accepted, value plausible
        if code in seen:
            raise InvalidInputError(f"--lab {code} is given twice ({seen[code]!r} and {item!r}): give each lab once")
        seen[code] = item
        out.append({"code": code, "value": value, "unit": unit})
    return out


def _flag_message(msg: str) -> str:
    """A facts message naming a place in the "patient" object, said with the flag that gave it."""
    msg = " ".join(msg.split())
    for place, flag in _FACT_FLAGS:
        if msg.startswith(place + "="):
            return f"{flag} {msg[len(place) + 1:]}"
        if msg.startswith(place):
            return flag + msg[len(place):]
    return msg


def _entered_facts(args: argparse.Namespace, *, identity: bool) -> dict[str, Any] | None:
    """The patient facts given by flags, as a facts document, checked (errors name the flag).

    ``identity``: include ``--sex``, ``--age``, ``--height-cm`` and ``--weight-kg`` (``interpret``;
    ``analyze`` gives them to :class:`~heartprint.pipeline.AnalysisOptions` itself).
    """
    from heartprint.phenotype import Phenotype

    patient: dict[str, Any] = {}
    symptoms = {k: v for k, v in (("heart_failure", None if args.symptoms is None else args.symptoms == "yes"),
                                  ("nyha", args.nyha)) if v is not None}
    if symptoms:
        patient["symptoms"] = symptoms
    if args.rhythm is not None:
        patient["rhythm"] = args.rhythm
    qrs = {k: v for k, v in (("duration_ms", args.qrs_ms), ("morphology", args.qrs_morphology)) if v is not None}
    if qrs:
        patient["qrs"] = qrs
    if identity:
        if args.sex in ("male", "female"):
            patient["sex"] = args.sex
        for key, value in (("age", args.age), ("height_cm", args.height_cm), ("weight_kg", args.weight_kg)):
            if value is not None:
                patient[key] = value
    labs = _parse_labs(args.lab)
    if not patient and not labs:
        return None
    doc = {"patient": patient, "labs": labs}
    try:
        Phenotype.from_dict(doc, source="command line")
    except InvalidInputError as exc:
        raise InvalidInputError(_flag_message(str(exc))) from None
    return doc


#: AnalysisOptions' field names as its messages start → the flag that gave the value.
_OPTION_FLAGS = (("height_cm=", "--height-cm "), ("weight_kg=", "--weight-kg "), ("age=", "--age "),
                 ("sex=", "--sex "), ("kind override ", "--kind "))


def _load_risk_model(folder: str | None) -> Any:
    """``--risk-model DIR``: the saved research risk model, loaded once for the batch (a changed checksum or
    other software versions are refused before any work, naming the flag)."""
    if folder is None:
        return None
    try:
        from heartprint.risk import load
    except ImportError as exc:  # the optional 'risk' extra is not installed
        raise InvalidInputError(f"--risk-model {folder}: needs the 'risk' extra (pip install 'heartprint[risk]'): "
                                f"{exc}") from None
    try:
        return load(folder)
    except HeartprintError as exc:
        raise InvalidInputError(f"--risk-model {folder}: {' '.join(str(exc).split())}") from None


def _analysis_options(args: argparse.Namespace) -> Any:
    """The run's :class:`~heartprint.pipeline.AnalysisOptions`, every value validated by it (raises
    :class:`InvalidInputError` naming the flag, before any work starts)."""
    from heartprint.pipeline import AnalysisOptions

    entered = _entered_facts(args, identity=False)
    try:
        return AnalysisOptions(
            height_cm=args.height_cm, weight_kg=args.weight_kg, sex=args.sex, age_years=args.age,
            kind_overrides=_parse_overrides(args.kind) or None, tta=not args.no_tta,
            calcium_allow_contrast=args.calcium_allow_contrast, nm_axes=_parse_nm_axes(args.nm_axis) or None,
            patient_facts=_read_facts(args.facts), facts_source="command line", entered_facts=entered,
            facts_file_source="facts file", echo_contours=_read_echo_contours(args.echo_contours),
            echo_views=_parse_echo_views(args.echo_view) or None,
            risk_model=_load_risk_model(getattr(args, "risk_model", None)),
        )
    except InvalidInputError as exc:
        msg = " ".join(str(exc).split())
        flag = next(((name, flag) for name, flag in _OPTION_FLAGS if msg.startswith(name)), None)
        if flag is not None:
            msg = flag[1] + msg[len(flag[0]):]
        elif args.facts is not None and not msg.startswith(("--facts", "patient BMI")):  # the facts are checked last
            msg = f"--facts {args.facts}: {msg}"
        raise InvalidInputError(msg) from None


def _facts_lines(facts: Mapping[str, Any] | None, *, indent: str = "  ") -> list[str]:
    """Plain-text lines of a ``facts`` block: each fact given (value, source, what it replaced),
    what was concluded from them, and the facts the rules take that were not given."""
    from heartprint.phenotype import fact_text

    if not facts:
        return []
    lines = [f"{indent}patient facts given:" + ("" if facts.get("given") else " none")]
    for g in facts.get("given", []):
        how = g["source"] + (f", entered as {g['entered']}" if g.get("entered") else "")
        how += "".join(f"; replaces {fact_text(g['key'], r['value'], g.get('unit'))} from the {r['source']}"
                       for r in g.get("replaced", []))
        lines.append(f"{indent}  {g['name']}: {fact_text(g['key'], g['value'], g.get('unit'))} ({how})")
    for d in facts.get("derived", []):
        lines.append(f"{indent}  {d['name']}: {fact_text(d['key'], d['value'])} ({d['source']})")
    unknown = [u["name"] for u in facts.get("assumed_unknown", []) if u.get("category") != "finding"]
    if unknown:
        lines.append(f"{indent}not given (assumed unknown): " + ", ".join(unknown))
    findings = [u["name"] for u in facts.get("assumed_unknown", []) if u.get("category") == "finding"]
    if findings:
        lines.append(f"{indent}imaging findings not stated (assumed unknown): " + ", ".join(findings))
    lines += [f"{indent}note: {n}" for n in facts.get("notes", [])]
    return lines


def _series_counts(series: Sequence[Any]) -> dict[str, int]:
    counts = {"total": len(series), "analysed": 0, "failed": 0, "not_analysed": 0}
    for s in series:
        counts[s.status] = counts.get(s.status, 0) + 1
    return counts


def _series_error(s: Any) -> str:
    message = s.message or "failed"
    return f"{s.kind}: {message}" if s.series_uid and s.series_uid in message else f"{s.kind} series {s.series_uid}: {message}"


def _batch_entry(path: Path, st: Any) -> dict[str, Any]:
    """One study's line in ``batch.json``, read from its :class:`heartprint.outputs.StudyRun`."""
    result = st.result
    errors = [_series_error(s) for s in result.series if s.status == "failed"]
    if st.write_error is not None:
        errors.append(f"outputs not written to {st.path}: {st.write_error}")
    written = st.path is not None and st.write_error is None
    errors += [f"{p['output']} not written: {p['reason']}" for p in st.problems if p.get("status") == "failed"]
    entry = {
        "input": str(path),
        "status": st.status,
        "patient_id": result.patient.patient_id,
        "study_uid": result.study.study_uid,
        "study_date": result.study.date.isoformat() if result.study.date else None,
        "modalities": list(result.study.modalities),
        "folder": st.folder,
        "output": str(st.path) if written else None,
        "series": _series_counts(result.series),
        "history": [h.study_uid for h in result.history],
        "errors": errors,
        "interpretation_error": result.interpretation_error,
    }
    if written:
        entry["output_problems"] = st.problems
        entry["failed_outputs"] = st.failed_outputs
        if "report_html" in st.files:
            entry["report"] = st.files["report_html"]
    if st.run_id is not None:
        entry["run_id"] = st.run_id
    if st.registry_error is not None:
        entry["registry_error"] = st.registry_error
    return entry


def _failed_entry(path: Path, message: str) -> dict[str, Any]:
    """``batch.json`` line of an input that could not be read at all."""
    return {"input": str(path), "status": "failed", "patient_id": None, "study_uid": None, "study_date": None,
            "modalities": [], "folder": None, "output": None, "series": _series_counts(()), "history": [],
            "errors": [message], "interpretation_error": None}


def _batch_status(entries: Sequence[dict[str, Any]]) -> str:
    statuses = {e["status"] for e in entries}
    if not entries or statuses == {"failed"}:
        return "failed"
    return "ok" if statuses == {"ok"} else "partial"


def _batch_doc(entries: list[dict[str, Any]]) -> dict[str, Any]:
    from heartprint import DISCLAIMER

    for e in entries:
        e["error"] = "; ".join(e["errors"]) or None
    counts = {k: sum(1 for e in entries if e["status"] == k) for k in ("ok", "partial", "failed")}
    return {"schema": BATCH_SCHEMA, "heartprint_version": __version__, "disclaimer": DISCLAIMER,
            "status": _batch_status(entries), "n_studies": len(entries), "counts": counts, "studies": entries}


def _summary_lines(entry: dict[str, Any], result: Any) -> list[str]:
    """Text summary of one study: patient, date, status, each series with its headline values."""
    from heartprint.concepts import CONCEPTS

    date = entry["study_date"] or "no date"
    head = (f"patient {entry['patient_id'] or '(no ID)'}  study {date}  {'/'.join(entry['modalities']) or '-'}  "
            f"{entry['status']}  ({result.study.study_uid})")
    lines = [head]
    if entry.get("output"):
        lines.append(f"  written to {entry['output']}")
    for h in result.history:
        lines.append(f"  history: study {h.date.isoformat() if h.date else 'no date'} "
                     f"{'/'.join(h.modalities) or '-'} ({h.study_uid})")
    for s in result.series:
        line = f"  {s.kind:<12} {s.status:<13} {s.series_uid}"
        if s.message:
            line += f"  ({s.message})"
        lines.append(line)
        if s.status != "analysed":
            continue
        values = s.global_values()
        units = {m.code: (m.name, m.unit) for m in s.measurements if m.segment is None and m.vessel is None}
        verdicts = {m.code: m.interpretation for m in s.measurements
                    if m.segment is None and m.vessel is None and m.interpretation is not None}
        for code in _HEADLINE_CODES:
            if code not in values:
                continue
            concept = CONCEPTS.get(code)
            name, unit = (concept.name, concept.unit) if concept else units[code]
            unit = "" if unit == "1" else unit
            verdict = f"  ({verdicts[code]} for sex and age)" if code in verdicts else ""
            lines.append(f"      {name:<44} {values[code]:>9.1f} {unit}{verdict}".rstrip())
        for q in s.qc:
            sev = str(getattr(q.severity, "value", q.severity))
            if sev in ("warning", "error"):
                lines.append(f"      QC {sev}: {q.code}: {q.message}")
    if result.interpretation is not None:
        present = [f for f in result.interpretation.findings if f.status == "present"]
        lines.append("  findings:" + ("" if present else " none present"))
        lines += [f"    - {f.statement}" for f in present]
    if result.facts is not None:
        lines += _facts_lines(result.facts.to_dict())
    if result.interpretation_error:
        lines.append(f"  interpretation failed: {result.interpretation_error}")
    return lines


def _check_paths(raw: Sequence[str]) -> list[Path]:
    paths = [Path(p) for p in raw]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise InvalidInputError(f"no such file or folder: {', '.join(missing)}")
    return paths


def _check_out(out: str | None) -> Path | None:
    """The ``--out`` folder, created and proven writable before any analysis (exit 2 if not);
    what killed runs left there is removed (:func:`heartprint.outputs.check_output_root`)."""
    from heartprint.outputs import check_output_root

    if out is None:
        return None
    try:
        check_output_root(out)
    except HeartprintError as exc:
        reason = " ".join(str(exc).split())
        reason = reason.split(": ", 1)[1] if reason.startswith("output folder ") and ": " in reason else reason
        raise InvalidInputError(f"--out {out}: {reason}") from None
    return Path(out)


def cmd_analyze(args: argparse.Namespace) -> int:
    """``heartprint analyze STUDY... [--out DIR] [--json] [--quiet]``: every patient and study.

    Every option and input path is checked before any analysis starts (exit 2 on a bad one).
    Each STUDY path may hold several patients and studies: each (patient, study) is one
    result, written to ``DIR/<study folder>`` and listed in ``DIR/batch.json``. The batch goes
    on after a study fails. Exit 0 only if every study's status is ``ok``, else 1.
    """
    from heartprint._atomic import atomic_write
    from heartprint.outputs import one_line, write_study
    from heartprint.outputs import dumps
    from heartprint.pipeline import analyze

    options = _analysis_options(args)
    paths = _check_paths(args.studies)
    out = _check_out(args.out)
    registry = _open_registry(args.registry) if args.registry else None
    progress = _progress_for(args)
    params = _run_parameters(options, args)
    used: set[str] = set()
    entries: list[dict[str, Any]] = []
    docs: list[dict[str, Any]] = []
    try:
        for path in paths:
            started = _utc_now()
            try:
                results = analyze(path, options, progress=progress)
            except (KeyboardInterrupt, SystemExit, GeneratorExit):
                raise
            except BaseException as exc:  # noqa: BLE001 - one unreadable input never stops the batch (a decoder's
                # PanicException is not an Exception)
                message = f"{path}: {one_line(exc)}"
                print(f"{PROG}: error: {message}", file=sys.stderr)
                entries.append({**_failed_entry(path, message), **_record_failure(registry, path, message, params, started)})
                continue
            for res in results:
                doc = res.to_dict() if args.json or registry is not None else None  # made once per study
                st = write_study(res, out, used, report=not args.no_report, progress=progress, registry=registry,
                                 parameters=params, started=started, doc=doc)
                entry = _batch_entry(path, st)
                if st.write_error is not None:
                    print(f"{PROG}: error: outputs not written to {st.path}: {st.write_error}", file=sys.stderr)
                if st.registry_error is not None:
                    print(f"{PROG}: error: registry: {st.registry_error}", file=sys.stderr)
                entries.append(entry)
                if args.json:
                    docs.append(doc)
                elif not args.quiet:
                    print("\n".join(_summary_lines(entry, res)))
    finally:
        if registry is not None:
            registry.close()
    batch = _batch_doc(entries)
    batch_error = None
    if out is not None:
        try:
            out.mkdir(parents=True, exist_ok=True)
            atomic_write(out / "batch.json", dumps(batch))
        except (OSError, HeartprintError) as exc:  # a full disk at the very end: one line, exit 1
            batch_error = f"batch.json not written to {out}: {one_line(exc)}"
            print(f"{PROG}: error: {batch_error}", file=sys.stderr)
    if args.json:
        print(dumps({**batch, "results": docs}))
    elif not args.quiet:
        from heartprint import DISCLAIMER

        c = batch["counts"]
        print(f"{batch['n_studies']} stud{'y' if batch['n_studies'] == 1 else 'ies'}: {c['ok']} ok, "
              f"{c['partial']} partial, {c['failed']} failed" + (f"; batch.json in {out}" if out is not None else ""))
        print(DISCLAIMER)
    if batch_error is not None or any(e.get("registry_error") for e in entries):
        return EXIT_FAILED
    return EXIT_OK if entries and batch["status"] == "ok" else EXIT_FAILED


def _add_analyze(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "analyze",
        help="analyse studies: every patient and study under each path, measurements, label maps and reports",
        description="Scan each STUDY (DICOM folder, .zip or file) for every patient and study it holds, classify "
        "their series and analyse those with an analyser (cine SAX, LGE, T1 mapping, calcium CT). Each "
        "(patient, study) is written to DIR/<study folder> and listed in DIR/batch.json. Every option and path is "
        "checked before any analysis starts. Exit status: 0 every study ok; 1 a study or series failed; 2 a bad "
        "argument. Research use only.",
    )
    p.add_argument("studies", nargs="+", metavar="STUDY")
    p.add_argument("--out", metavar="DIR", help="write DIR/<study folder>/ (measurements.json, labels/, DICOM SEG/SR, "
                   "FHIR, report) per study and DIR/batch.json")
    p.add_argument("--json", action="store_true", help="print the batch and full results as JSON (no progress, no text)")
    p.add_argument("--quiet", action="store_true", help="no progress and no summary (errors still on stderr)")
    p.add_argument("--facts", metavar="FILE", help="patient facts and labs for the interpretation: a "
                   "heartprint.phenotype/1 JSON document with \"patient\" and \"labs\" (or the patient object "
                   "itself); see docs/patient_facts.md. The flags below override it")
    _add_fact_flags(p, dicom=True)
    p.add_argument("--kind", action="append", metavar="UID=KIND", help="override a series' kind (repeatable)")
    p.add_argument("--no-tta", action="store_true", help="no test-time flip augmentation (faster)")
    p.add_argument("--calcium-allow-contrast", action="store_true",
                   help="score coronary calcium even on a contrast-enhanced CT (refused by default: the enhanced "
                        "blood pool would be scored as calcium); the score then carries a warning")
    p.add_argument("--nm-axis", action="append", metavar="UID=AX,AY,AZ:BX,BY,BZ",
                   help="LV long axis of a nuclear perfusion series instead of the automatic one: apex and base "
                        "centre in patient LPS mm (repeatable)")
    p.add_argument("--echo-contours", metavar="FILE",
                   help="endocardial tracings of echo cines, used instead of the echo report's or a model's: JSON "
                        "{\"format\": \"heartprint.echo-contours/1\", \"tracings\": [{\"series_uid\", \"view\" "
                        "(A4C/A2C/A3C), \"phase\" (ED/ES), \"frame\" (0-based), \"units\" (px/mm), \"points\" "
                        "[[row, col], ...] from one mitral hinge round the apex to the other}]}")
    p.add_argument("--echo-view", action="append", metavar="UID=VIEW",
                   help="apical view of an echo cine (A4C, A2C or A3C) instead of the header's (repeatable)")
    p.add_argument("--risk-model", metavar="DIR", help="apply a research risk model saved by 'heartprint risk fit' "
                   "to each patient (risk at its horizon, interval, top contributions, in measurements.json and the report)")
    p.add_argument("--no-report", action="store_true", help="write no report.html/pdf (faster)")
    p.add_argument("--registry", metavar="URL", help="record each study as a run in this registry "
                   "(SQLite file path or sqlite:///…, postgresql://…); unreadable inputs as failed runs")
    p.set_defaults(func=cmd_analyze)


# -- registry ------------------------------------------------------------------------------


def _open_registry(url: str, *, must_exist: bool = False):  # noqa: ANN202
    """The :class:`heartprint.store.Registry` at ``url`` (needs the ``store`` extra)."""
    try:
        from heartprint.store import Registry, normalize_url
    except ImportError as exc:
        raise InvalidInputError(f"--registry {url}: the registry needs the store extra "
                                f"(pip install 'heartprint[store]'): {exc}") from None
    full = normalize_url(url)
    if must_exist and full.startswith("sqlite:///") and not Path(full.removeprefix("sqlite:///")).is_file():
        raise InvalidInputError(f"registry {url}: no such SQLite file")
    return Registry(full)


def _utc_now():  # noqa: ANN202
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)


def _run_parameters(options: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The analysis options kept with each registry run (the validated values of :class:`AnalysisOptions`)."""
    return {"height_cm": options.height_cm, "weight_kg": options.weight_kg, "sex": options.sex,
            "age_years": options.age_years, "facts": args.facts, "entered_facts": options.entered_facts,
            "kind_overrides": dict(options.kind_overrides or {}),
            "nm_axes": {uid: ax.to_dict() for uid, ax in (options.nm_axes or {}).items()},
            "tta": options.tta}


def _record_failure(registry, path: Path, message: str, params: dict[str, Any], started) -> dict[str, Any]:  # noqa: ANN001
    """Record an unreadable input as a failed run: ``{"run_id": …}``, or ``{"registry_error": …}``
    when the registry refused it (the batch goes on); ``{}`` without a registry."""
    if registry is None:
        return {}
    try:
        return {"run_id": registry.record_failure(str(path), message, parameters=params, started_at=started)}
    except HeartprintError as exc:
        text = " ".join(str(exc).split())
        print(f"{PROG}: error: registry: {text}", file=sys.stderr)
        return {"registry_error": text}


def cmd_registry(args: argparse.Namespace) -> int:
    """``heartprint registry URL [--study UID] [--patient ID] [--json]``: list recorded runs."""
    registry = _open_registry(args.url, must_exist=True)
    try:
        runs = registry.runs(args.study, patient_id=args.patient)
    finally:
        registry.close()
    if args.json:
        print(json.dumps({"registry": args.url, "runs": [r.to_dict() for r in runs]}, indent=2))
        return EXIT_OK
    print(f"{args.url}: {len(runs)} run(s)")
    for r in runs:
        print(f"{r.started_at:%Y-%m-%d %H:%M:%S}  {r.run_id}  {r.status:<8}  series {r.n_series}  "
              f"measurements {r.n_measurements}  qc {r.n_qc_flags}  {r.source}")
        if r.study_uids:
            print(f"    studies {', '.join(r.study_uids)}" + (f"  patient {r.patient_id}" if r.patient_id else ""))
        if r.error:
            print(f"    error: {' '.join(r.error.split())}")
    return EXIT_OK


def _add_registry(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "registry",
        help="list the analysis runs recorded in a registry (SQLite file or PostgreSQL URL)",
        description="List the runs recorded by `heartprint analyze --registry URL`, oldest first: status, "
        "studies, counts of series, measurements and QC flags, and the error of failed runs.",
    )
    p.add_argument("url", metavar="URL", help="SQLite file path, sqlite:///… or postgresql://…")
    p.add_argument("--study", metavar="UID", help="only runs covering this Study Instance UID")
    p.add_argument("--patient", metavar="ID", help="only runs of this patient")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=cmd_registry)


# -- train ---------------------------------------------------------------------------------


def cmd_train(args: argparse.Namespace) -> int:
    """``heartprint train``: train (or resume) the short-axis network, evaluate, export."""
    from heartprint.segmentation._train import TrainConfig, finalize, train

    fields = {}
    if args.config:
        try:
            fields = json.loads(Path(args.config).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidInputError(f"--config {args.config}: cannot read a JSON training recipe ({exc})") from exc
        known = set(TrainConfig.__dataclass_fields__)
        unknown = sorted(set(fields) - known)
        if unknown:
            raise InvalidInputError(f"--config {args.config}: unknown field(s) {unknown}; expected among {sorted(known)}")
    fields.update(acdc_dir=args.acdc, sunnybrook_dir=args.sunnybrook, out_dir=args.out)
    if args.iterations is not None:
        fields["iterations"] = args.iterations
    if args.seed is not None:
        fields["seed"] = args.seed
    if args.init_from is not None:
        fields["init_from"] = args.init_from
    cfg = TrainConfig(**fields)
    train(cfg, log=lambda m: print(m, flush=True))
    card = finalize(Path(args.out), acdc_val=args.acdc_val, sunnybrook_dir=args.sunnybrook, install=args.install,
                    members=[Path(m) for m in args.ensemble_with or []])
    print(json.dumps(card.get("validation", {}).get("summary", {}), indent=2))
    return EXIT_OK


def _add_train(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="train the short-axis segmentation network (needs the dl extra); resumable",
        description="Train on ACDC training slices (+ half of Sunnybrook for the LV), resuming from "
        "OUT/checkpoint.pt if present; export ONNX, evaluate on ACDC validation and held-out "
        "Sunnybrook patients, write the model card.",
    )
    p.add_argument("--acdc", required=True, help="folder of ACDC training slices (patientNNN_frameFF_slice_K.h5)")
    p.add_argument("--acdc-val", help="folder of ACDC validation stacks (never trained on)")
    p.add_argument("--sunnybrook", help="Sunnybrook folder with images/ and labels/")
    p.add_argument("--out", required=True, help="run folder (checkpoints, model.onnx, model_card.json)")
    p.add_argument("--config", help="JSON training recipe: TrainConfig fields (e.g. training/sax-stage2.json); "
                   "the options here override it")
    p.add_argument("--iterations", type=int, help="iterations (default: the recipe's, else 6000)")
    p.add_argument("--seed", type=int, help="random seed (default: the recipe's, else 20261124)")
    p.add_argument("--init-from", help="fine-tune from this checkpoint's EMA weights (a 2-D one may start a 2.5-D model)")
    p.add_argument("--ensemble-with", action="append", metavar="RUN",
                   help="a finished run folder whose model is averaged with this one (repeatable); "
                   "the evaluation and the installed model are the ensemble")
    p.add_argument("--install", action="store_true", help="copy the model (and ensemble members) and card into the package's weights/")
    p.set_defaults(func=cmd_train)


# -- demo ----------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    """``heartprint demo [--out DIR] [--small]``: the phantom patient → :func:`heartprint.demo.run_demo`
    (the pipeline exactly as ``heartprint analyze``, registry, outputs per study) → measured vs exact.

    Exit 1 if a phantom series was not analysed or a study's status is not ``ok``.
    """
    from heartprint import DISCLAIMER
    from heartprint.demo import format_demo, run_demo

    run = run_demo(Path(args.out), seed=args.seed, small=args.small, report=not args.no_report,
                   progress=_progress_for(args))
    print(format_demo(run, prog=PROG))
    print(DISCLAIMER)
    for note in run.notes:
        print(f"{PROG}: note: {note}", file=sys.stderr)
    if run.missing_kinds:
        print(f"{PROG}: error: the phantom's {', '.join(run.missing_kinds)} series were not analysed", file=sys.stderr)
    for st in run.studies:
        if st.result.status != "ok":
            print(f"{PROG}: error: study {st.result.study.study_uid} ({st.folder}): {st.result.status}", file=sys.stderr)
        if st.write_error is not None:
            print(f"{PROG}: error: study {st.result.study.study_uid}: outputs not written: {st.write_error}",
                  file=sys.stderr)
    return EXIT_OK if run.ok else EXIT_FAILED


def _add_demo(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo",
        help="write a synthetic patient (cine, LGE, T1 mapping, calcium CT), analyse it and compare with its exact answers",
        description="Write a phantom patient as DICOM (a CMR study with cine SAX, LGE and MOLLI T1 sharing one heart, "
        "and a calcium-score CT study), analyse it exactly as `heartprint analyze` does, record each study as a run in "
        "a registry (DIR/registry.sqlite, needs the store extra), write each study's outputs (report, DICOM SEG/SR, "
        "FHIR) to DIR/result/<study folder>/, and print measured vs exact values. Exit status 1 if a phantom series "
        "was not analysed or a study is not ok. Research use only.",
    )
    p.add_argument("--out", default="demo-out", help="output folder (default: demo-out)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--small", action="store_true", help="fewer cine phases (faster; for tests)")
    p.add_argument("--risk-model", metavar="DIR", help="apply a research risk model saved by 'heartprint risk fit' "
                   "to each patient (risk at its horizon, interval, top contributions, in measurements.json and the report)")
    p.add_argument("--no-report", action="store_true", help="write no report.html/pdf (faster)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on the terminal")
    p.set_defaults(func=cmd_demo)


# -- interpret -----------------------------------------------------------------------------


def _fmt_inputs(inputs: dict[str, Any], limit: int = 8) -> str:
    """``name=value unit (source)`` for the measurements behind a finding."""
    parts = []
    for name, q in list(inputs.items())[:limit]:
        if isinstance(q, dict) and "value" in q:
            unit = f" {q['unit']}" if q.get("unit") not in (None, "1") else ""
            src = q.get("source")
            parts.append(f"{name}={q['value']}{unit}" + (f" [{src}]" if src and src != "entered" else ""))
        else:
            parts.append(f"{name}={q}")
    more = len(inputs) - limit
    return ", ".join(parts) + (f", … (+{more})" if more > 0 else "")


def _interpret_text(doc: dict[str, Any]) -> str:
    """Plain-text rendering of an interpretation (used when ``rich`` is not installed)."""
    lines = ["heartprint interpretation", ""]
    sections = (("Findings", doc["findings"]), ("Aetiology differential", doc["differential"]))
    for title, items in sections:
        lines.append(f"{title}:")
        for f in items:
            lines.append(f"  [{f['status']}] {f['statement']}")
            if f.get("inputs"):
                lines.append(f"      from: {_fmt_inputs(f['inputs'])}")
            lines.append(f"      rule: {f['rule']} — {f['citation'][:160]}")
        if not items:
            lines.append("  (none)")
        lines.append("")
    lines += _facts_lines(doc.get("facts"), indent="") + [""]
    lines.append("Recommendations:")
    for r in doc["recommendations"]:
        cls = f" (class {r['recommendation_class']}{' ' + r['level_of_evidence'] if r.get('level_of_evidence') else ''})" \
            if r.get("recommendation_class") else ""
        lines.append(f"  - {r['action']}{cls}")
        if r.get("findings"):
            lines.append(f"      because: {', '.join(r['findings'])}")
        lines.append(f"      source: {r['citation'][:160]}")
    if not doc["recommendations"]:
        lines.append("  (none)")
    lines += ["", "Not assessable:"]
    for f in doc["not_assessable"]:
        lines.append(f"  - {f['statement']}")
    if not doc["not_assessable"]:
        lines.append("  (none)")
    for n in doc.get("notes", []):
        lines.append(f"note: {n}")
    return "\n".join(lines)


def _interpret_rich(doc: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    colour = {"present": "bold red", "absent": "green", "not_assessable": "yellow"}
    for title, items in (("Findings", doc["findings"]), ("Aetiology differential", doc["differential"])):
        t = Table(title=title, show_lines=True, expand=True)
        t.add_column("status", no_wrap=True)
        t.add_column("finding", ratio=3)
        t.add_column("from measurements", ratio=2)
        t.add_column("rule / citation", ratio=2)
        for f in items:
            t.add_row(f"[{colour.get(f['status'], '')}]{f['status']}[/]", f["statement"], _fmt_inputs(f.get("inputs", {})),
                      f"{f['rule']}\n{f['citation'][:200]}")
        console.print(t)
    facts = doc.get("facts") or {}
    if facts:
        from rich.markup import escape

        from heartprint.phenotype import fact_text

        t = Table(title="Patient facts", expand=True)
        t.add_column("fact")
        t.add_column("value")
        t.add_column("from")
        for g in facts.get("given", []):
            src = g["source"] + "".join(f"; replaces {fact_text(g['key'], r['value'], g.get('unit'))} from the "
                                        f"{r['source']}" for r in g.get("replaced", []))
            t.add_row(escape(g["name"]), escape(fact_text(g["key"], g["value"], g.get("unit"))), escape(src))
        for d in facts.get("derived", []):
            t.add_row(escape(d["name"]), escape(fact_text(d["key"], d["value"])), escape(d["source"]))
        for u in facts.get("assumed_unknown", []):
            what = "not stated" if u.get("category") == "finding" else "not given"
            t.add_row(escape(u["name"]), f"[yellow]{what} (assumed unknown)[/]", "")
        console.print(t)
        for n in facts.get("notes", []):
            console.print(f"note: {escape(n)}")
    t = Table(title="Recommendations", show_lines=True, expand=True)
    t.add_column("class", no_wrap=True)
    t.add_column("action", ratio=3)
    t.add_column("because", ratio=1)
    t.add_column("source", ratio=2)
    for r in doc["recommendations"]:
        cls = (r.get("recommendation_class") or "–") + (f" {r['level_of_evidence']}" if r.get("level_of_evidence") else "")
        t.add_row(cls, r["action"], ", ".join(r.get("findings", [])), r["citation"][:200])
    console.print(t)
    if doc["not_assessable"]:
        t = Table(title="Not assessable", expand=True)
        t.add_column("what")
        t.add_column("needs")
        for f in doc["not_assessable"]:
            t.add_row(f["statement"], ", ".join(f.get("missing", [])))
        console.print(t)
    for n in doc.get("notes", []):
        console.print(f"note: {n}")


def cmd_interpret(args: argparse.Namespace) -> int:
    """``heartprint interpret FILE.json [--json] [--plain]``: measurements and patient facts in, findings out."""
    from heartprint import DISCLAIMER
    from heartprint.clinical.interpret import interpret
    from heartprint.phenotype import Phenotype
    from heartprint.pipeline import facts_summary

    entered = _entered_facts(args, identity=True)  # checked before any file is read
    phenotypes = [Phenotype.from_json(Path(f), source="facts file") for f in args.file]
    phenotype = phenotypes[0].merge(*phenotypes[1:])
    if entered is not None:
        phenotype = phenotype.override(Phenotype.from_dict(entered, source="command line"))
    doc = interpret(phenotype).to_dict()
    doc["facts"] = facts_summary(phenotype).to_dict()
    if args.json:
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return EXIT_OK
    rich_ok = False
    if not args.plain:
        try:
            import rich  # noqa: F401

            rich_ok = True
        except ImportError:
            rich_ok = False
    if rich_ok:
        _interpret_rich(doc)
    else:
        print(_interpret_text(doc))
    print(DISCLAIMER)
    return EXIT_OK


def _add_interpret(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "interpret",
        help="interpret measurements and patient facts (JSON) with guideline rules: findings and recommendations",
        description="Read a phenotype JSON (patient facts, labs, measurements, studies; or a measurements.json "
        "written by 'heartprint analyze'), run every applicable guideline rule, reconcile modalities per vessel "
        "and segment, rank aetiologies and propose the next test. Several files are merged (latest value per "
        "measurement wins); the patient-fact flags override them (docs/patient_facts.md). Research and decision "
        "support only.",
    )
    p.add_argument("file", nargs="+", metavar="FILE.json")
    _add_fact_flags(p, dicom=False)
    p.add_argument("--json", action="store_true", help="print the interpretation as JSON")
    p.add_argument("--plain", action="store_true", help="plain text even if 'rich' is installed")
    p.set_defaults(func=cmd_interpret)


#: Functions that each register one subcommand on the subparsers object.
def _add_risk(subparsers: argparse._SubParsersAction) -> None:
    from heartprint.risk.cli import add_subcommand  # light: scikit-survival loads only when a command runs

    add_subcommand(subparsers)


def _add_cohort(subparsers: argparse._SubParsersAction) -> None:
    """``heartprint cohort run`` (heartprint.cohort; needs the cohort extra to run)."""
    from heartprint.cohort.cli import add_subcommand

    add_subcommand(subparsers)


def _add_service(subparsers: argparse._SubParsersAction) -> None:
    """``heartprint serve`` and ``heartprint worker`` (heartprint.service; needs the service extra to run)."""
    from heartprint.service.cli import add_subcommand

    add_subcommand(subparsers)


SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_info, _add_analyze, _add_train, _add_demo, _add_interpret, _add_registry, _add_risk, _add_cohort, _add_service]


# -- entry point ---------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line: ``heartprint: error: <message>``."""

    def error(self, message: str):  # noqa: ANN201 - NoReturn
        msg = " ".join(str(message).split())
        self.exit(EXIT_USAGE, f"{PROG}: error: {msg} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = _Parser(
        prog=PROG,
        description="heartprint: cardiac imaging phenotyping (research and decision support only).",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``heartprint`` command; return the exit code.

    Bad input (any :class:`~heartprint.errors.HeartprintError`) prints one line
    ``heartprint: error: <message>`` on stderr and returns 2; a file-system error no command
    handled (a full disk...) prints one such line and returns 1.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: usage errors (2), --help/--version (0)
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return int(args.func(args))
    except HeartprintError as exc:
        message = " ".join(str(exc).split())
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. `heartprint info ... | head`
        return EXIT_OK
    except OSError as exc:  # a file-system error no command foresaw (disk full...): one line, no traceback
        from heartprint.outputs import one_line

        print(f"{PROG}: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

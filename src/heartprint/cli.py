"""The ``heartprint`` command.

Thin by design: each subcommand parses its arguments and calls library functions. To add a
subcommand, write ``_add_<name>(subparsers)`` that creates its parser and sets
``func=<handler>``, where the handler takes the parsed ``argparse.Namespace`` and returns an
exit code; then append ``_add_<name>`` to :data:`SUBCOMMANDS`.

Exit codes: 0 success, 2 usage error or bad input (a one-line ``heartprint: error: ...`` on
stderr), 1 an unexpected internal error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from heartprint import __version__
from heartprint.errors import HeartprintError, InvalidInputError

__all__ = ["main", "build_parser", "SUBCOMMANDS"]

PROG = "heartprint"
EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2


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


# -- analyze -------------------------------------------------------------------------------


def _parse_overrides(items: Sequence[str] | None) -> dict[str, str]:
    out = {}
    for item in items or []:
        uid, sep, kind = item.partition("=")
        if not sep or not uid or not kind:
            raise InvalidInputError(f"--kind {item!r}: expected SERIES_UID=KIND, e.g. 1.2.3=cine_sax")
        out[uid] = kind
    return out


def _study_name(path: Path, used: set[str]) -> str:
    base = path.name.removesuffix(".zip") or "study"
    name, i = base, 1
    while name in used:
        i += 1
        name = f"{base}-{i}"
    used.add(name)
    return name


def _summary_lines(name: str, result: dict[str, Any]) -> list[str]:
    lines = [f"{name}: {len(result['series'])} series"]
    for s in result["series"]:
        head = f"  {s['kind']:<12} {s['status']:<13} {s['series_uid']}"
        if s.get("message"):
            head += f"  ({s['message']})"
        lines.append(head)
        res = s.get("result") or {}
        for m in res.get("measurements", []):
            if m.get("segment") is None and m["code"] in _SUMMARY_CODES:
                lines.append(f"      {m['name']:<34} {m['value']:>9.1f} {m['unit']}")
        flags = [q for q in res.get("qc", []) if q["severity"] in ("warning", "error")]
        for q in flags:
            lines.append(f"      QC {q['severity']}: {q['code']}: {q['message']}")
    return lines


_SUMMARY_CODES = ("lv_edv", "lv_esv", "lv_sv", "lv_ef", "lv_mass", "rv_edv", "rv_esv", "rv_ef", "heart_rate", "lv_co", "lv_max_wall_thickness")


def cmd_analyze(args: argparse.Namespace) -> int:
    """``heartprint analyze STUDY... [--out DIR] [--json]``: measurements and label maps.

    A batch goes on after a study fails and records the failure in ``batch.json``; the
    exit code is 0 only if every study was read.
    """
    from heartprint.io.results import dumps
    from heartprint.pipeline import AnalysisOptions, analyze_study

    options = AnalysisOptions(
        height_cm=args.height_cm,
        weight_kg=args.weight_kg,
        kind_overrides=_parse_overrides(args.kind) or None,
        tta=not args.no_tta,
    )
    registry = _open_registry(args.registry) if args.registry else None
    used: set[str] = set()
    batch, results, failed = [], {}, 0
    for raw in args.studies:
        path = Path(raw)
        name = _study_name(path, used)
        started = _utc_now()
        try:
            res = analyze_study(path, options)
        except HeartprintError as exc:
            failed += 1
            message = " ".join(str(exc).split())
            print(f"{PROG}: error: {path}: {message}", file=sys.stderr)
            batch.append({"study": str(path), "status": "failed", "error": message, **_record_run(registry, args, path, message, started)})
            continue
        doc = res.to_dict()
        results[name] = doc
        entry: dict[str, Any] = {"study": str(path), "status": "ok", "name": name, **_record_run(registry, args, path, doc, started)}
        if args.out:
            entry["output"] = str(_write_outputs(res, Path(args.out) / name, quiet=args.json)[0])
        batch.append(entry)
        if not args.json:
            print("\n".join(_summary_lines(name, doc)))
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "batch.json").write_text(dumps({"studies": batch}))
    if args.json:
        print(dumps(results if len(args.studies) > 1 else next(iter(results.values()), {})))
    if not args.json:
        from heartprint import DISCLAIMER

        print(DISCLAIMER)
    return EXIT_OK if failed == 0 else EXIT_USAGE


def _add_analyze(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "analyze",
        help="analyse studies: find the series heartprint can measure, write measurements and label maps",
        description="Scan each STUDY (DICOM folder, .zip or file), classify its series and analyse those "
        "with an analyser (cine short axis: volumes, EF, mass, wall thickness, QC). Research use only.",
    )
    p.add_argument("studies", nargs="+", metavar="STUDY")
    p.add_argument("--out", metavar="DIR", help="write DIR/<study>/measurements.json and labels/*.nii.gz")
    p.add_argument("--json", action="store_true", help="print the full results as JSON")
    p.add_argument("--height-cm", type=float, help="patient height (cm) for BSA, overrides DICOM")
    p.add_argument("--weight-kg", type=float, help="patient weight (kg) for BSA, overrides DICOM")
    p.add_argument("--kind", action="append", metavar="UID=KIND", help="override a series' kind (repeatable)")
    p.add_argument("--no-tta", action="store_true", help="no test-time flip augmentation (faster)")
    p.add_argument("--registry", metavar="URL", help="record each study as a run in this registry "
                   "(SQLite file path or sqlite:///…, postgresql://…); failed studies as failed runs")
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


def _record_run(registry, args: argparse.Namespace, path: Path, outcome: dict[str, Any] | str,  # noqa: ANN001
                started) -> dict[str, Any]:  # noqa: ANN001
    """Record one analysed study (its result dict) or failure (its message); ``{"run_id": …}``."""
    if registry is None:
        return {}
    params = {"height_cm": args.height_cm, "weight_kg": args.weight_kg, "kind_overrides": _parse_overrides(args.kind),
              "tta": not args.no_tta}
    if isinstance(outcome, str):
        return {"run_id": registry.record_failure(str(path), outcome, parameters=params, started_at=started)}
    return {"run_id": registry.record_study_result(outcome, parameters=params, started_at=started)}


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

#: (truth key, measurement code, label) of the cine rows compared by ``heartprint demo``.
_DEMO_ROWS = (
    ("lv_edv_ml", "lv_edv", "LV EDV (mL)"),
    ("lv_esv_ml", "lv_esv", "LV ESV (mL)"),
    ("lv_ef_percent", "lv_ef", "LVEF (%)"),
    ("lv_mass_ed_g", "lv_mass", "LV mass (g)"),
    ("rv_edv_ml", "rv_edv", "RV EDV (mL)"),
    ("rv_esv_ml", "rv_esv", "RV ESV (mL)"),
    ("rv_ef_percent", "rv_ef", "RVEF (%)"),
    ("heart_rate_bpm", "heart_rate", "heart rate (/min)"),
)
_DEMO_KINDS = ("cine_sax", "lge", "t1_map", "ct_calcium")
#: ``--small``: fewer cine phases (the slices, matrix and every other series are unchanged).
_DEMO_SMALL = {"n_phases": 10}


def _write_outputs(result: Any, out_dir: Path, *, quiet: bool = False) -> tuple[Path, Any]:
    """Write a study's outputs (measurements, labels, SEG/SR, FHIR: ``write_study_outputs``)
    and then its report into ``out_dir``; returns the folder and the report files (or None)."""
    from heartprint.io.results import write_study_outputs

    segmented = [s for s in result.series if s.labels is not None]
    doc = result.to_dict()
    written = write_study_outputs(
        doc,
        {s.series_uid: s.labels for s in segmented},
        out_dir,
        sources={s.series_uid: s.source_headers for s in segmented if s.source_headers},
    )
    images = {s.series_uid: s.image for s in segmented if s.image is not None}
    return written, _write_report(doc, written, {s.series_uid: s.labels for s in segmented}, images, quiet=quiet)


def _write_report(doc: dict[str, Any], out_dir: Path, labels: dict[str, Any], images: dict[str, Any], *, quiet: bool = False):  # noqa: ANN202
    """Write ``report.html``/``report.pdf`` into ``out_dir`` (beside measurements.json).

    ``images`` are the source images the pipeline loaded (for the segmentation overlays). A
    missing ``report`` extra is a note on stderr, never a failed analysis. Returns the
    :class:`heartprint.report.ReportFiles` or ``None``.
    """
    try:
        from heartprint.report import render_report
    except ImportError as exc:
        print(f"{PROG}: note: no report written (pip install 'heartprint[report]'): {exc}", file=sys.stderr)
        return None
    for uid in labels:
        if uid not in images:
            print(f"{PROG}: note: report overlays of series {uid} skipped: its source image is not available", file=sys.stderr)
    try:
        files = render_report(doc, images=images, labels=labels, out_dir=out_dir)
    except HeartprintError as exc:
        print(f"{PROG}: note: no report written: {' '.join(str(exc).split())}", file=sys.stderr)
        return None
    for note in files.notes:
        print(f"{PROG}: note: {note}", file=sys.stderr)
    if not quiet:
        print(f"report written to {files.html}" + (f" and {files.pdf}" if files.pdf else ""))
    return files


def _demo_row(modality: str, label: str, exact: Any, measured: Any) -> dict[str, Any]:
    """One compared quantity: numbers get an error (points for %, else relative), classes agree or not."""
    row: dict[str, Any] = {"modality": modality, "quantity": label, "exact": exact, "measured": measured}
    if isinstance(exact, str) or measured is None:
        row["error"] = None if measured is None else ("agrees" if measured == exact else "differs")
    elif label.endswith("(%)"):
        row["error"] = f"{measured - exact:+.1f} pt"
    else:
        row["error"] = f"{100 * (measured - exact) / exact:+.1f}%" if exact else f"{measured - exact:+.1f}"
    return row


def _demo_rows(by_kind: dict[str, Any], truth: dict[str, Any]) -> list[dict[str, Any]]:
    """Measured vs exact for every modality of the phantom patient (``heartprint demo``)."""
    from heartprint.cmr import transmurality_class

    rows: list[dict[str, Any]] = []
    cine = by_kind.get("cine_sax")
    values = {m["code"]: m["value"] for m in cine.result.get("measurements", []) if m.get("segment") is None} if cine else {}
    for key, code, label in _DEMO_ROWS:
        rows.append(_demo_row("cine", label, float(truth["cine"][key]), values.get(code)))
    lge = by_kind.get("lge")
    res, lt = (lge.result if lge else {}), truth["lge"]
    rows.append(_demo_row("LGE", "scar extent, of LV (%)", lt["scar_pct_lv"], res.get("scar_pct_lv")))
    rows.append(_demo_row("LGE", "scar volume (mL)", lt["scar_ml"], res.get("scar_ml")))
    for seg, st in sorted(lt["segments"].items(), key=lambda kv: int(kv[0])):
        got = (res.get("segments") or {}).get(seg) or {}
        rows.append(_demo_row("LGE", f"segment {seg} transmurality class", transmurality_class(st["transmurality_pct"]),
                              got.get("transmurality_class")))
    t1 = by_kind.get("t1_map")
    glob = (t1.result.get("global") or {}) if t1 else {}
    rows.append(_demo_row("T1", "native T1 myocardium (ms)", truth["t1"]["t1_myocardium_ms"], glob.get("mean")))
    ct = by_kind.get("ct_calcium")
    res, tot = (ct.result if ct else {}), truth["ct_calcium"]["total"]
    rows.append(_demo_row("CT", "Agatston score", tot["agatston"], res.get("agatston")))
    rows.append(_demo_row("CT", "calcium volume (mm3)", tot["volume_mm3"], res.get("volume_mm3")))
    return rows


def _fmt_demo_value(v: Any) -> str:
    return "-" if v is None else (v if isinstance(v, str) else f"{v:.1f}")


def cmd_demo(args: argparse.Namespace) -> int:
    """``heartprint demo [--out DIR] [--small]``: a multi-modality phantom patient → the pipeline
    (exactly as ``heartprint analyze``) → registry, report, SEG/SR/FHIR → measured vs exact."""
    import shutil

    from heartprint.io.results import dumps
    from heartprint.phantoms import write_demo_patient
    from heartprint.pipeline import analyze_study

    out = Path(args.out)
    dicom_dir = out / "dicom"
    if dicom_dir.exists():
        shutil.rmtree(dicom_dir)
    study_dirs, truth = write_demo_patient(dicom_dir, seed=args.seed, **(_DEMO_SMALL if args.small else {}))
    n_files = sum(1 for p in dicom_dir.rglob("*.dcm"))
    print(f"wrote a synthetic patient {truth['patient']['patient_id']}: {n_files} DICOM files in {dicom_dir}\n"
          f"  CMR study {study_dirs[0]} (cine SAX, LGE, MOLLI T1; one frame of reference)\n"
          f"  CT study  {study_dirs[1]} (calcium score)")
    registry, reg_path = None, out / "registry.sqlite"
    try:
        if reg_path.exists():
            reg_path.unlink()  # the demo's own registry: one run per demo
        registry = _open_registry(str(reg_path))
    except HeartprintError as exc:
        print(f"{PROG}: note: no registry written: {' '.join(str(exc).split())}", file=sys.stderr)
    started = _utc_now()
    result = analyze_study(dicom_dir)  # both studies of the patient, as `heartprint analyze DIR` reads them
    doc = result.to_dict()
    run_id = None
    if registry is not None:
        try:
            run_id = registry.record_study_result(doc, patient_id=truth["patient"]["patient_id"],
                                                  parameters={"demo": True, "seed": args.seed, "small": args.small},
                                                  started_at=started)
        finally:
            registry.close()
    written, report = _write_outputs(result, out / "result", quiet=True)
    (out / "truth.json").write_text(dumps(truth))

    by_kind = {s.kind: s for s in result.series if s.status == "analysed"}
    print(f"\nanalysed {len(result.series)} series:")
    for s in result.series:
        print(f"  {s.kind:<11} {s.status:<9} {s.seconds:5.1f} s" + (f"  ({s.message})" if s.message else ""))
    rows = _demo_rows(by_kind, truth)
    print(f"\n{'':<8}{'':<36}{'exact':>10}{'measured':>10}{'error':>10}")
    for r in rows:
        print(f"{r['modality']:<8}{r['quantity']:<36}{_fmt_demo_value(r['exact']):>10}"
              f"{_fmt_demo_value(r['measured']):>10}{r['error'] or '-':>10}")
    for kind in ("cine_sax", "lge", "t1_map", "ct_calcium"):
        s = by_kind.get(kind)
        if s is None:
            continue
        flags = [q for q in s.result.get("qc", []) if q["severity"] not in ("info",)]
        print(f"QC {kind}: {s.result.get('qc_status', 'ok')}" + "".join(f"\n  {q['code']}: {q['message']}" for q in flags))
    problems = json.loads((written / "measurements.json").read_text()).get("output_problems", [])
    for p in problems:
        print(f"{PROG}: note: {p['output']}: {p['reason']}", file=sys.stderr)

    files = {"dicom": str(dicom_dir), "result": str(written), "measurements": str(written / "measurements.json"),
             "labels": str(written / "labels"), "truth": str(out / "truth.json")}
    for p in sorted((written / "dicom").glob("*.dcm")) if (written / "dicom").is_dir() else []:
        files[p.stem.split("_")[0]] = str(p)  # "seg", "sr" (one labelled series: the cine)
    if (written / "fhir_bundle.json").is_file():
        files["fhir"] = str(written / "fhir_bundle.json")
    if report is not None:
        files["report_html"] = str(report.html)
        if report.pdf:
            files["report_pdf"] = str(report.pdf)
    if run_id is not None:
        files["registry"] = str(reg_path)
    summary = {"patient_id": truth["patient"]["patient_id"], "run_id": run_id, "files": files, "rows": rows,
               "series": [{k: v for k, v in s.to_dict().items() if k != "result"} for s in result.series]}
    (out / "demo_summary.json").write_text(dumps(summary))
    print("\nwritten:")
    for key, path in files.items():
        print(f"  {key:<14} {path}")
    if run_id is not None:
        print(f"  registry run {run_id} (list with: {PROG} registry {reg_path})")
    print(f"  summary        {out / 'demo_summary.json'}")
    from heartprint import DISCLAIMER

    print(DISCLAIMER)
    missing = [k for k in _DEMO_KINDS if k not in by_kind]
    if missing:
        print(f"{PROG}: error: the phantom's {', '.join(missing)} series were not analysed", file=sys.stderr)
        return EXIT_INTERNAL
    return EXIT_OK


def _add_demo(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo",
        help="write a synthetic patient (cine, LGE, T1 mapping, calcium CT), analyse it and compare with its exact answers",
        description="Write a phantom patient as DICOM (a CMR study with cine SAX, LGE and MOLLI T1 sharing one heart, "
        "and a calcium-score CT study), analyse it exactly as `heartprint analyze` does, record the run in a "
        "registry (DIR/registry.sqlite, needs the store extra), write the report, DICOM SEG/SR and FHIR, and print "
        "measured vs exact values. Research use only.",
    )
    p.add_argument("--out", default="demo-out", help="output folder (default: demo-out)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--small", action="store_true", help="fewer cine phases (faster; for tests)")
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

    phenotypes = [Phenotype.from_json(Path(f)) for f in args.file]
    phenotype = phenotypes[0].merge(*phenotypes[1:])
    doc = interpret(phenotype).to_dict()
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
        "measurement wins). Research and decision support only.",
    )
    p.add_argument("file", nargs="+", metavar="FILE.json")
    p.add_argument("--json", action="store_true", help="print the interpretation as JSON")
    p.add_argument("--plain", action="store_true", help="plain text even if 'rich' is installed")
    p.set_defaults(func=cmd_interpret)


#: Functions that each register one subcommand on the subparsers object.
SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_info, _add_analyze, _add_train, _add_demo, _add_interpret, _add_registry]


# -- entry point ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
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
    ``heartprint: error: <message>`` on stderr and returns 2.
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

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
from heartprint.errors import HeartprintError

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


#: Functions that each register one subcommand on the subparsers object.
SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_info]


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

"""Echo B-mode cine analysis: the endocardial tracing, the view, and strain and volumes from them.

Where the tracing comes from (first that applies)
--------------------------------------------------
1. **The user's contour file** (``AnalysisOptions.echo_contours``, ``--echo-contours FILE``): JSON
   ``heartprint.echo-contours/1``::

       {"format": "heartprint.echo-contours/1",
        "tracings": [
          {"series_uid": "1.2.840...", "view": "A4C", "phase": "ED", "frame": 0,
           "units": "px", "points": [[row, col], [row, col], ...]},
          {"series_uid": "1.2.840...", "view": "A4C", "phase": "ES", "frame": 11, "units": "px", "points": [...]}
        ]}

   ``frame`` is 0-based; ``units`` ``"px"`` (row, column from the centre of pixel (0, 0)) or ``"mm"``
   (``(y, x)`` mm, the same origin); ``view`` (optional) ``A4C``/``A2C``/``A3C``; the points are an open
   endocardial tracing from one mitral hinge round the apex to the other (A4C: septal hinge first; A2C:
   inferior hinge first; A3C: inferolateral hinge first — :data:`heartprint.anatomy.echo_views.VIEW_WALLS`). ED gives the tracing that is tracked and its frame; ES gives the frame strain is
   read at (its points are used for volumes). A ``"mm"`` tracing of another series (an A2C cine) lets
   the A4C cine's analysis compute biplane volumes.
2. **The study's echo SR**: a TID 5200 report's LV volumes traced on the cine — NUMs INFERRED FROM a
   SCOORD POLYLINE SELECTED FROM a frame of this series (PS3.3 C.18.6: column/row image coordinates from
   the top-left corner of the top-left pixel, converted here to pixel centres), with Cardiac Phase and
   Image View modifiers; the SR analyser collects them (:func:`tracings_from_sr`).
3. **An installed echo segmentation model** (:mod:`heartprint.echo._model`; none ships).

Without any of these the cine is ``not_analysed``: "needs an endocardial contour: no echo segmentation
model is installed". A tracing without its end-systolic frame is ``not_analysed`` too: strain is read at
end-systole (Voigt et al., EACVI/ASE/industry strain standardisation, Eur Heart J Cardiovasc Imaging
2015;16:1-11, doi:10.1093/ehjci/jeu184), and no frame is assumed.

The view (first that applies): the user's override (``echo_views``, ``--echo-view UID=A4C``), (0054,0220)
View Code Sequence (SCT codes of DICOM CID 12226, when the loader passes it as ``meta["view_code"]``), the
series description (``A4C``, ``4CH``, ``four chamber`` …), the tracing's Image View. An unknown view still
gives GLS (the contour's length does not depend on the wall names) but no segments. Segments: the sixths of
the tracked contour in contour order, named and numbered (AHA 17) by
:data:`heartprint.anatomy.echo_views.VIEW_AHA_NUMBERS`.

Calibration: pixel spacing from (0018,6011) Sequence of Ultrasound Regions (the loader refuses an image
without a cm-calibrated region); frame times from (0018,1063) Frame Time / (0018,1065) Frame Time Vector —
a cine without them, or with non-increasing times, is refused by name (strain needs the frames' order
and the frame rate is reported with it; a frame rate under 40 /s is flagged as a warning: 40-80 frames/s is
the range usually recommended for speckle tracking, Voigt 2015 ⚠ not checked with the search tool).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray
from pydicom.multival import MultiValue

from heartprint.errors import InvalidInputError

__all__ = ["CONTOUR_FORMAT", "Tracing", "VIEWS", "VIEW_BY_CODE", "analyse_echo_cine", "load_contour_file", "pick",
           "tracings_from_sr", "view_from_text"]

CONTOUR_FORMAT = "heartprint.echo-contours/1"
VIEWS = ("A4C", "A2C", "A3C")
#: SCT codes of DICOM CID 12226 "Echocardiography Image View" (pydicom ``codes.cid12226``).
VIEW_BY_CODE = {"399214001": "A4C", "399232001": "A2C", "399339008": "A3C"}
_VIEW_WORDS = (
    ("A4C", re.compile(r"\ba4c\b|\b4\s*-?ch|four[\s-]*chamber|apical\s*4", re.I)),
    ("A2C", re.compile(r"\ba2c\b|\b2\s*-?ch|two[\s-]*chamber|apical\s*2", re.I)),
    ("A3C", re.compile(r"\ba3c\b|\b3\s*-?ch|three[\s-]*chamber|apical\s*3|\baplax\b|apical long", re.I)),
)
_PHASE_BY_CODE = {"416190007": "ED", "416430001": "ES"}

@dataclass(frozen=True)
class Tracing:
    """One endocardial tracing: ``points`` ``(N, 2)`` in ``units`` (``"px"``: row, column; ``"mm"``: y, x),
    on ``frame`` (0-based) of ``series_uid``, at ``phase`` (``"ED"``/``"ES"``/``None``), in ``view``; ``source``
    says where it came from in plain words."""

    series_uid: str
    frame: int
    phase: str | None
    view: str | None
    units: str
    points: tuple[tuple[float, float], ...]
    source: str

    def points_mm(self, spacing_mm: tuple[float, float]) -> NDArray[np.float64]:
        p = np.asarray(self.points, dtype=float)
        return p * np.asarray(spacing_mm, dtype=float) if self.units == "px" else p

    def to_dict(self) -> dict[str, Any]:
        return {"series_uid": self.series_uid, "frame": self.frame, "phase": self.phase, "view": self.view,
                "units": self.units, "points": [list(p) for p in self.points], "source": self.source}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], source: str) -> "Tracing":
        where = f"{source}: tracing {d.get('series_uid', '?')} {d.get('phase', '')}".strip()
        try:
            pts = np.asarray(d["points"], dtype=float)
            frame = int(d["frame"])
            uid = str(d["series_uid"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(f"{where}: expected series_uid, frame (0-based integer) and points "
                                    f"[[row, col], ...] ({exc})") from None
        units = str(d.get("units", "px"))
        phase = d.get("phase")
        view = d.get("view")
        if units not in ("px", "mm"):
            raise InvalidInputError(f"{where}: units={units!r}; expected 'px' or 'mm'")
        if phase not in (None, "ED", "ES"):
            raise InvalidInputError(f"{where}: phase={phase!r}; expected 'ED' or 'ES'")
        if view is not None and view not in VIEWS:
            raise InvalidInputError(f"{where}: view={view!r}; expected one of {', '.join(VIEWS)}")
        if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] < 7 or not np.all(np.isfinite(pts)) or frame < 0:
            raise InvalidInputError(f"{where}: points of shape {pts.shape}, frame {frame}; expected >= 7 finite "
                                    "[row, col] pairs and a frame >= 0")
        return cls(uid, frame, phase, view, units, tuple(map(tuple, pts.tolist())), source)


def load_contour_file(path: str | PathLike[str]) -> dict[str, list[Tracing]]:
    """Read a ``heartprint.echo-contours/1`` file (module docstring) → series UID → its tracings."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text())
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"{p}: not a readable JSON contour file ({exc}); expected {CONTOUR_FORMAT}") from None
    if not isinstance(doc, dict) or doc.get("format") != CONTOUR_FORMAT or not isinstance(doc.get("tracings"), list):
        raise InvalidInputError(f"{p}: expected a JSON object with \"format\": \"{CONTOUR_FORMAT}\" and a "
                                "\"tracings\" list")
    out: dict[str, list[Tracing]] = {}
    for d in doc["tracings"]:
        if not isinstance(d, dict):
            raise InvalidInputError(f"{p}: each tracing must be a JSON object")
        t = Tracing.from_dict(d, "the contour file")
        out.setdefault(t.series_uid, []).append(t)
    return out


def view_from_text(text: str | None) -> str | None:
    """A4C/A2C/A3C named in a series description, or ``None``."""
    for view, rx in _VIEW_WORDS:
        if text and rx.search(text):
            return view
    return None


def _code(item: Any, attr: str) -> tuple[str, str] | None:
    seq = getattr(item, attr, None)
    if not seq:
        return None
    return str(getattr(seq[0], "CodeValue", "")), str(getattr(seq[0], "CodeMeaning", ""))


def tracings_from_sr(ds: Any) -> tuple[list[Tracing], list[str]]:
    """The LV tracings of an echo SR: SCOORD POLYLINEs (INFERRED FROM under a measurement) SELECTED FROM a
    frame of an image listed in the evidence (series found through (0040,A375)), with the measurement's
    Cardiac Phase and Image View. Returns the tracings (pixel units) and notes on those not usable."""
    series_of: dict[str, str] = {}
    for key in ("CurrentRequestedProcedureEvidenceSequence", "PertinentOtherEvidenceSequence"):
        for st in getattr(ds, key, None) or []:
            for se in getattr(st, "ReferencedSeriesSequence", None) or []:
                for ref in getattr(se, "ReferencedSOPSequence", None) or []:
                    series_of[str(ref.ReferencedSOPInstanceUID)] = str(se.SeriesInstanceUID)
    tracings: list[Tracing] = []
    notes: list[str] = []

    def walk(item: Any, mods: dict[str, str | None]) -> None:
        here = dict(mods)
        for child in getattr(item, "ContentSequence", None) or []:
            if getattr(child, "RelationshipType", "") == "HAS CONCEPT MOD" and getattr(child, "ValueType", "") == "CODE":
                val = _code(child, "ConceptCodeSequence")
                if val and val[0] in _PHASE_BY_CODE:
                    here["phase"] = _PHASE_BY_CODE[val[0]]
                elif val and val[0] in VIEW_BY_CODE:
                    here["view"] = VIEW_BY_CODE[val[0]]
        name = _code(item, "ConceptNameCodeSequence")
        for child in getattr(item, "ContentSequence", None) or []:
            vt = getattr(child, "ValueType", "")
            if vt == "SCOORD":
                what = f"tracing under {name[1] if name else 'the report'}"
                if str(getattr(child, "GraphicType", "")) != "POLYLINE":
                    notes.append(f"{what}: graphic type {getattr(child, 'GraphicType', None)!r} is not a POLYLINE; not used")
                    continue
                refs = [r for c in getattr(child, "ContentSequence", None) or [] if getattr(c, "ValueType", "") == "IMAGE"
                        for r in getattr(c, "ReferencedSOPSequence", None) or []]
                if not refs or "ReferencedFrameNumber" not in refs[0]:
                    notes.append(f"{what}: no image frame it was drawn on (SELECTED FROM IMAGE with a frame number); not used")
                    continue
                sop = str(refs[0].ReferencedSOPInstanceUID)
                if sop not in series_of:
                    notes.append(f"{what}: the traced image {sop} is not in the report's evidence; not used")
                    continue
                xy = np.asarray([float(v) for v in child.GraphicData], dtype=float).reshape(-1, 2)
                rc = np.stack([xy[:, 1] - 0.5, xy[:, 0] - 0.5], axis=1)  # corner origin → pixel centres
                fn = refs[0].ReferencedFrameNumber
                frame = int(fn[0] if isinstance(fn, MultiValue) else fn) - 1
                if rc.shape[0] < 7:
                    notes.append(f"{what}: {rc.shape[0]} points; at least 7 are needed; not used")
                    continue
                tracings.append(Tracing(series_of[sop], frame, here.get("phase"), here.get("view"), "px",
                                        tuple(map(tuple, rc.tolist())), "the echo report (SR)"))
            elif vt in ("CONTAINER", "NUM"):
                walk(child, here)

    walk(ds, {})
    return tracings, notes


def pick(tracings: Sequence[Tracing]) -> tuple[Tracing | None, Tracing | None]:
    """The ED and ES tracings (the first of each)."""
    ed = next((t for t in tracings if t.phase == "ED"), None)
    es = next((t for t in tracings if t.phase == "ES"), None)
    return ed, es


def _view(image: Any, options: Any, tracing: Tracing | None) -> tuple[str | None, str]:
    uid = image.series_uid or ""
    override = (getattr(options, "echo_views", None) or {}).get(uid)
    if override:
        return str(override), "given by the user"
    code = image.meta.get("view_code")
    if code in VIEW_BY_CODE:
        return VIEW_BY_CODE[code], "(0054,0220) View Code Sequence"
    v = view_from_text(image.meta.get("series_description"))
    if v:
        return v, "the series description"
    if tracing is not None and tracing.view:
        return tracing.view, f"the tracing's image view ({tracing.source})"
    return None, "not known"


def _tracings_for(image: Any, ctx: Any) -> tuple[list[Tracing], str]:
    uid = image.series_uid or ""
    given = (getattr(ctx.options, "echo_contours", None) or {})
    if given.get(uid):
        return list(given[uid]), "the contour file"
    sr = ctx.inputs.get("sr")
    if sr is not None and sr.status == "analysed":
        mine = [Tracing.from_dict(d, d.get("source") or "the echo report (SR)")
                for d in sr.details.get("tracings") or [] if d.get("series_uid") == uid]
        if mine:
            return mine, "the echo report (SR)"
    return [], ""


def _calibration(image: Any) -> tuple[tuple[float, float], NDArray[np.float64]]:
    """(dy, dx) mm from the ultrasound region and the frame times (ms), or an error naming the tag."""
    src = str(image.meta.get("pixel_spacing_source") or "")
    if "Ultrasound Regions" not in src:
        raise InvalidInputError("pixel size not from (0018,6011) Sequence of Ultrasound Regions "
                                f"({src or 'no source'}); strain needs the region's Physical Delta X/Y in cm")
    _, dy, dx = image.spacing
    if not (0.01 <= dy <= 2.0 and 0.01 <= dx <= 2.0):
        raise InvalidInputError(f"ultrasound region pixel size {dy:g} x {dx:g} mm outside 0.01-2 mm: (0018,602C)/"
                                "(0018,602E) Physical Delta X/Y inconsistent with a cardiac B-mode image")
    times = image.frame_times_ms
    if times is None:
        raise InvalidInputError("no frame timing: (0018,1063) Frame Time and (0018,1065) Frame Time Vector are "
                                "missing or unusable; strain needs the frame rate")
    steps = np.diff(np.asarray(times, dtype=float))
    if steps.size == 0 or not np.all(steps > 0):
        raise InvalidInputError("frame times not increasing ((0018,1063)/(0018,1065)); the frames' order is unknown")
    return (float(dy), float(dx)), np.asarray(times, dtype=float)


def analyse_echo_cine(image: Any, ctx: Any) -> Any:
    """Analyse one apical B-mode cine (module docstring): GLS (``gls``, its magnitude, as the concept
    defines it), segmental strain per AHA segment (``regional_longitudinal_strain`` and a strain map for the
    bull's-eye) where the view names the walls, and biplane LV volumes and EF when A4C and A2C tracings at
    end-diastole and end-systole exist."""
    from heartprint.echo._model import NO_MODEL_REASON, find_echo_model, open_contour, segment_echo_cine
    from heartprint.anatomy.echo_views import VIEW_AHA_NUMBERS, VIEW_SEGMENTS
    from heartprint.echo._strain import global_longitudinal_strain
    from heartprint.measure import Measurement, QCFlag, Severity
    from heartprint.results import SegmentValues, SeriesResult

    uid = image.series_uid or ""
    arr = np.asarray(image.array, dtype=np.float64)
    if arr.ndim != 4 or arr.shape[1] != 1 or arr.shape[0] < 2:
        raise InvalidInputError(f"echo cine of shape {arr.shape}: expected several frames of one plane")
    frames = arr[:, 0]
    tracings, tracing_source = _tracings_for(image, ctx)
    model = None
    if not tracings:
        model = find_echo_model()
        if model is None:
            return SeriesResult(uid, "echo_cine", "not_analysed", message=NO_MODEL_REASON)
    (dy, dx), times = _calibration(image)
    qc: list[Any] = []
    if model is not None:
        masks = segment_echo_cine(model, frames, (dy, dx))
        areas = masks.reshape(masks.shape[0], -1).sum(axis=1)
        ed_i = int(np.argmax(areas))
        es_i = ed_i + int(np.argmin(areas[ed_i:]))
        tracings = [Tracing(uid, f, ph, None, "mm", tuple(map(tuple, open_contour(masks[f], (dy, dx)).tolist())),
                            f"the echo model ({model.path.name})") for f, ph in ((ed_i, "ED"), (es_i, "ES"))]
        tracing_source = "the echo segmentation model"
    ed, es = pick(tracings)
    if ed is None:
        return SeriesResult(uid, "echo_cine", "not_analysed",
                            message=f"needs an end-diastolic endocardial contour: {tracing_source} gives none")
    if es is None:
        return SeriesResult(uid, "echo_cine", "not_analysed",
                            message=f"needs the end-systolic frame: {tracing_source} gives an end-diastolic contour only")
    n_t = frames.shape[0]
    if not (0 <= ed.frame < es.frame < n_t):
        raise InvalidInputError(f"end-diastolic frame {ed.frame + 1} and end-systolic frame {es.frame + 1} from "
                                f"{tracing_source}: expected ED before ES within the cine's {n_t} frames")
    region = image.meta.get("us_region_xyxy")
    if region and len(region) == 4:  # the tracing must lie in the region whose calibration gives the mm
        px = ed.points_mm((dy, dx)) / np.array([dy, dx])
        x0, y0, x1, y1 = (float(v) for v in region)
        if np.any(px[:, 1] < x0 - 0.5) or np.any(px[:, 1] > x1 + 0.5) or np.any(px[:, 0] < y0 - 0.5) or \
                np.any(px[:, 0] > y1 + 0.5):
            raise InvalidInputError(f"the end-diastolic tracing from {tracing_source} leaves the calibrated ultrasound "
                                    f"region (columns {x0:g}-{x1:g}, rows {y0:g}-{y1:g}; (0018,6018)-(0018,601E) of "
                                    "(0018,6011)): its pixel size does not apply there")
    view, view_source = _view(image, ctx.options, ed)
    if view is not None and ed.view is not None and view != ed.view:
        qc.append(QCFlag(code="echo_view_disagrees", severity=Severity.WARNING,
                         message=f"the view from {view_source} is {view}, the tracing says {ed.view}; {view} used"))
    strain = global_longitudinal_strain(frames, ed.points_mm((dy, dx)), spacing_mm=(dy, dx), ed_index=ed.frame,
                                        es_index=es.frame)
    rate = 1000.0 / float(np.median(np.diff(times)))
    if rate < 40.0:
        qc.append(QCFlag(code="echo_low_frame_rate", severity=Severity.WARNING,
                         message=f"frame rate {rate:.0f}/s is below 40/s, the lower end of the frame rates usually "
                                 "recommended for speckle tracking (threshold not checked against the source publication)",
                         details={"frame_rate_hz": rate, "threshold": 40.0}))
    ref_strain = ("Voigt JU et al. Eur Heart J Cardiovasc Imaging 2015;16:1-11, doi:10.1093/ehjci/jeu184; "
                  "Lang RM et al. J Am Soc Echocardiogr 2015;28:1-39, doi:10.1016/j.echo.2014.10.003")
    how = (f"speckle tracking ({strain.method}) of the {tracing_source} tracing from frame {ed.frame + 1} (ED) to "
           f"{es.frame + 1} (ES), {view or 'view unknown'}, {rate:.0f} frames/s; Lagrangian change of the "
           f"endocardial length; GLS {strain.gls_percent:.1f} %")
    ms: list[Any] = []
    if strain.gls_percent < 0:
        ms.append(Measurement(code="gls", name="LV global longitudinal strain (absolute value)",
                              value=abs(strain.gls_percent), unit="%", method=how, reference=ref_strain, source=uid,
                              modality="US", phase="ES"))
    else:
        qc.append(QCFlag(code="echo_gls_positive", severity=Severity.WARNING,
                         message=f"the tracked endocardium lengthened ({strain.gls_percent:+.1f} %) from ED to ES; "
                                 "GLS not reported — check the tracing and the ES frame"))
    aha: dict[int, float] = {}
    if view is not None:
        # the six values in contour order (first wall's base → apex → second wall's base) named by the view;
        # within one apical view every AHA 17-segment number occurs once
        names = VIEW_SEGMENTS[view.lower()]
        aha = {VIEW_AHA_NUMBERS[view.lower()][n]: float(v) for n, v in zip(names, strain.segments.values())}
    for seg, v in sorted(aha.items()):
        ms.append(Measurement(code="regional_longitudinal_strain", name=f"Longitudinal strain, segment {seg}",
                              value=float(v), unit="%", method=f"sixth of the tracked contour ({view})",
                              reference=ref_strain, source=uid, modality="US", phase="ES", segment=seg))
    maps = [SegmentValues("regional_longitudinal_strain", "longitudinal strain, % (negative: shortening)", "%", aha, vmin=-25.0, vmax=0.0,
                          cmap="Reds_r")] if aha else []
    volumes = _biplane(image, ctx, view, ed, es, (dy, dx), uid)
    ms += volumes
    details = {"view": view, "view_source": view_source, "tracing_source": tracing_source,
               "ed_frame": ed.frame, "es_frame": es.frame, "frame_rate_hz": rate, "spacing_mm": [dy, dx],
               "gls_percent": strain.gls_percent, "segments_percent": strain.segments,
               "tracked_length_mm": [float(v) for v in np.linalg.norm(np.diff(strain.tracked_contours, axis=-2),
                                                                       axis=-1).sum(axis=-1)]}
    view_words = {"A4C": "apical four-chamber", "A2C": "apical two-chamber", "A3C": "apical long-axis"}
    summary = [f"Global longitudinal strain {strain.gls_percent:.1f} % (negative values are shortening), by speckle "
               f"tracking of the {view_words.get(view or '', 'apical (view not known)')} view from end-diastole "
               f"(frame {ed.frame + 1}) to end-systole (frame {es.frame + 1}) at {rate:.0f} frames per second; "
               f"the endocardial tracing came from {tracing_source}."]
    if not aha:
        summary.append("No regional strain map: the view is not known, so the walls the tracing crosses are not known.")
    details["summary"] = summary
    if model is not None:
        details["model_training_data"] = model.card.get("training_data")
    return SeriesResult(series_uid=uid, kind="echo_cine", status="analysed", measurements=ms, qc=qc,
                        segment_maps=maps, method=how, details=details,
                        model=None if model is None else {"name": model.path.name, "sha256": model.sha256})


def _biplane(image: Any, ctx: Any, view: str | None, ed: Tracing, es: Tracing, spacing: tuple[float, float],
             uid: str) -> list[Any]:
    """Biplane LV EDV, ESV and EF (method of discs, ASE/EACVI 2015) when this A4C cine's ED/ES tracings
    and an A2C cine's ED/ES tracings in mm (the contour file) are all there; else nothing."""
    from heartprint.echo._geometry import biplane_volume
    from heartprint.measure import Measurement

    if view != "A4C":
        return []
    others = [t for u, ts in (getattr(ctx.options, "echo_contours", None) or {}).items() if u != uid for t in ts
              if t.view == "A2C" and t.units == "mm"]
    ed2, es2 = pick(others)
    if ed2 is None or es2 is None:
        return []
    edv = biplane_volume(ed.points_mm(spacing), ed2.points_mm(spacing))
    esv = biplane_volume(es.points_mm(spacing), es2.points_mm(spacing))
    ref = "Lang RM et al. J Am Soc Echocardiogr 2015;28:1-39, doi:10.1016/j.echo.2014.10.003 (biplane discs)"
    how = "biplane method of discs (20 discs) from the A4C and A2C tracings"
    return [Measurement(code="lv_edv", name="LV end-diastolic volume", value=edv, unit="mL", method=how,
                        reference=ref, source=uid, modality="US", phase="ED"),
            Measurement(code="lv_esv", name="LV end-systolic volume", value=esv, unit="mL", method=how,
                        reference=ref, source=uid, modality="US", phase="ES"),
            Measurement(code="lv_ef", name="LV ejection fraction", value=100.0 * (edv - esv) / edv, unit="%",
                        method=how, reference=ref, source=uid, modality="US")]

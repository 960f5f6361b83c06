"""heartprint's own patient page (``GET /patients/{key}/page``, reader role): what the
registry holds on one patient, for a clinician, in one HTML page.

* measurements: the current value of each whole-heart quantity (the latest complete run that
  has it, :meth:`heartprint.store.Registry.latest_measurements`) against its reference range,
  flagged low / normal / high, with the range's population and source;
* findings of each study's latest complete run, with the evidence (the values the rule used),
  what it lacked when not assessable, and the guideline it cites;
* bull's-eyes of each per-segment quantity (AHA 17 segments), drawn by the report's figure code;
* the trend of each quantity over the patient's studies (as ``/patients/{key}/phenotype``, but
  one row per imaging modality), as a table and a small line;
* a link into the viewer for each study (``/viewer/viewer?StudyInstanceUIDs=...``).

The text is the report's (:mod:`heartprint.report`: its value formatting, plain-text rules,
reference-range rows and finding items), so the page and the report say the same thing the same
way. Everything from the registry is escaped (Jinja2 autoescape); the page runs no script and
loads nothing from elsewhere (its figures are inline PNG), and is sent with a Content Security
Policy that forbids scripts.

Research use only (:data:`heartprint.DISCLAIMER`).
"""

from __future__ import annotations

import math
from datetime import datetime
from importlib import resources
from typing import Any
from urllib.parse import quote, urlencode

from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

__all__ = ["patient_page_context", "register_page", "render_patient_page", "viewer_link"]

#: Security headers of the page: no script, no plugin, nothing framed, images inline only.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _when(at: Any) -> str:
    if isinstance(at, str):
        try:
            at = datetime.fromisoformat(at)
        except ValueError:
            return at
    return at.strftime("%Y-%m-%d") if isinstance(at, datetime) else ""


def viewer_link(study_uid: str) -> str:
    """The viewer's address for one study (OHIF's basic viewer mode)."""
    return "/viewer/viewer?" + urlencode({"StudyInstanceUIDs": study_uid})


def _sparkline(values: list[float], width: int = 120, height: int = 28) -> str:
    """SVG polyline points of ``values`` scaled into the box (the first value at the left)."""
    if len(values) < 2:
        return ""
    lo, hi = min(values), max(values)
    step = (width - 4) / (len(values) - 1)
    if hi == lo:  # unchanged: a level line through the middle
        return " ".join(f"{2 + i * step:.1f},{height / 2:.1f}" for i in range(len(values)))
    return " ".join(f"{2 + i * step:.1f},{height - 2 - (v - lo) / (hi - lo) * (height - 4):.1f}"
                    for i, v in enumerate(values))


def _trend(registry: Any, runs: list[Any]) -> list[dict[str, Any]]:
    """Each whole-heart quantity's values over the patient's complete runs, oldest first, one
    row per (code, phase, modality): a change of imaging method is not a change of the heart."""
    from heartprint.report._content import display_unit, format_value, plain_text

    series: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in runs:
        for m in registry.measurements(r.run_id):
            if m.segment is not None or m.vessel is not None or not math.isfinite(float(m.value)):
                continue
            key = (m.code, m.phase, m.modality, m.pattern)
            q = series.setdefault(key, {"code": m.code, "name": m.name, "unit": m.unit, "phase": m.phase,
                                        "modality": m.modality, "points": []})
            q["points"].append((m.time or r.started_at, float(m.value)))
    rows = []
    for q in series.values():
        pts = q["points"]
        values = [v for _, v in pts]
        change = ""
        if len(values) >= 2:
            d = values[-1] - values[0]
            step = format_value(abs(d), q["code"], q["unit"])
            change = "no change" if float(step) == 0 else f"{'+' if d > 0 else '−'}{step}"
        rows.append({"name": plain_text(q["name"], numbers=False) or q["code"], "phase": q["phase"] or "",
                     "modality": MODALITY_WORDS.get(q["modality"] or "", q["modality"] or ""),
                     "unit": display_unit(q["unit"]),
                     "points": [{"at": _when(at), "value": format_value(v, q["code"], q["unit"])} for at, v in pts],
                     "change": change, "line": _sparkline(values)})
    return rows


def _bullseyes(measurements: list[Any], notes: list[str]) -> list[dict[str, Any]]:
    from heartprint.concepts import CONCEPTS
    from heartprint.report._content import _bullseye_figure, display_unit
    from heartprint.results import SegmentValues

    by_code: dict[tuple[str, str, str], dict[int, float]] = {}
    units: dict[tuple[str, str, str], str] = {}
    for m in measurements:
        if m.segment is not None and 1 <= int(m.segment) <= 17 and m.vessel is None:
            key = (m.code, m.phase or "", m.modality or "")
            by_code.setdefault(key, {})[int(m.segment)] = float(m.value)
            units[key] = m.unit
    figs = []
    for key, values in sorted(by_code.items()):
        code, phase, modality = key
        concept = CONCEPTS.get(code)
        name = concept.name if concept is not None else code.replace("_", " ")
        unit = display_unit(units[key])
        where = ", ".join(x for x in (phase, MODALITY_WORDS.get(modality, modality)) if x)
        label = f"{name}{f' ({where})' if where else ''}{f' [{unit}]' if unit else ''}"
        fig = _bullseye_figure(SegmentValues(code=code, label=label, unit=units[key], values=values), notes)
        if fig is not None:
            figs.append(fig)
    return figs


#: DICOM modality (0008,0060) in words.
MODALITY_WORDS = {"MR": "MRI", "CT": "CT", "NM": "nuclear", "PT": "PET", "US": "echo"}


def _latest_measurements(registry: Any, runs: Any) -> list[Any]:
    """The current value of each quantity: from the latest complete run of each study set, the
    most recent run's value of each (code, phase, segment, vessel, vessel segment, pattern,
    modality). Unlike :meth:`heartprint.store.Registry.latest_measurements` the modality is part
    of the key, so an LV volume from gated SPECT does not hide the one from cine MRI."""
    chosen: dict[tuple[Any, ...], Any] = {}
    for r in sorted(runs, key=lambda r: (r.started_at, r.run_id)):
        for m in registry.measurements(r.run_id):
            chosen[(m.code, m.phase, m.segment, m.vessel, m.vessel_segment, m.pattern, m.modality)] = m
    return list(chosen.values())


def patient_page_context(registry: Any, patient_id: str, *, figures: bool = True) -> dict[str, Any]:
    """The page's content from the registry; 404 (:class:`heartprint.service._errors.ApiError`)
    when the registry has no complete run of the patient."""
    from heartprint import DISCLAIMER
    from heartprint.report._content import _Annotations, _finding_item, _measurement_row, _range_notes, _Refs

    runs = [r for r in registry.runs(patient_id=patient_id) if r.status == "complete"]
    if not runs:
        from heartprint.service._errors import ApiError

        raise ApiError(404, "patient_not_found", f"no complete analysis of patient {patient_id!r} in the registry")
    latest_run: dict[tuple[str, ...], Any] = {}
    for r in runs:  # oldest first: the last complete run of each study set stands
        latest_run[r.study_uids or (r.source,)] = r
    latest = _latest_measurements(registry, latest_run.values())
    refs = _Refs()
    ann = _Annotations(None)
    rows = []
    for m in latest:
        if m.segment is None and m.vessel is None:
            row = _measurement_row(m, ann, refs)
            row["modality"] = MODALITY_WORDS.get(m.modality or "", m.modality or "")
            rows.append(row)
    studies = []
    for r in sorted(latest_run.values(), key=lambda r: r.started_at, reverse=True):
        findings = [_finding_item(f) for f in registry.findings(r.run_id)]
        order = {"present": 0, "not_assessable": 1, "absent": 2}
        findings.sort(key=lambda f: order.get(f["status"], 3))
        studies.append({"when": _when(r.started_at), "study_uids": list(r.study_uids),
                        "viewer": [viewer_link(u) for u in r.study_uids],
                        "n_measurements": r.n_measurements, "findings": findings})
    notes: list[str] = []
    return {
        "patient_id": patient_id,
        "n_runs": len(runs),
        "first": _when(runs[0].started_at),
        "last": _when(runs[-1].started_at),
        "measurements": rows,
        "range_notes": _range_notes(rows),
        "references": refs.items,
        "flagged": sum(1 for r in rows if r["flag"] in ("low", "high")),
        "studies": studies,
        "bullseyes": _bullseyes(latest, notes) if figures else [],
        "trend": _trend(registry, runs),
        "notes": notes,
        "phenotype_link": f"/patients/{quote(patient_id, safe='')}/phenotype",
        "disclaimer": DISCLAIMER,
    }


def render_patient_page(context: dict[str, Any]) -> str:
    """HTML of the page (Jinja2, autoescaped, strict: a missing field is an error, not a blank)."""
    import jinja2

    text = resources.files("heartprint.service").joinpath("templates", "patient_page.html.j2").read_text("utf-8")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env.from_string(text).render(p=context)


def register_page(app: Any, need: Any, registry: Any) -> None:
    """``GET /patients/{patient_id}/page`` on ``app`` (reader role)."""
    @app.get("/patients/{patient_id}/page", tags=["patients"], response_class=HTMLResponse,
             summary="The patient's page: measurements against reference ranges, findings with evidence and "
                     "citations, bull's-eyes, trend over studies, links into the viewer",
             openapi_extra={"security": [{"bearerAuth": []}]})
    async def patient_page(patient_id: str, principal: Any = need("reader", "read_patient_page")) -> HTMLResponse:
        def build() -> str:
            return render_patient_page(patient_page_context(registry(), patient_id))

        return HTMLResponse(await run_in_threadpool(build), headers=PAGE_HEADERS)

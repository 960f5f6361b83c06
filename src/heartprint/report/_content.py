"""What a report says, as plain data: sections by clinical question, measurement rows with
reference ranges and flags, findings with their evidence and citations, QC flags, versions.

:func:`build_report` turns a ``heartprint.study/1`` result dict (and optionally the source
images and label maps) into the context the HTML template renders. Figures are made here
(as PNG data URIs) so that the template only lays out.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

from heartprint import DISCLAIMER, __version__
from heartprint.errors import HeartprintError
from heartprint.image import Image

__all__ = ["SECTIONS", "KIND_SECTION", "SEGMENT_MAPS", "build_report", "format_value", "flag_for"]

#: Report sections: id, title, the clinical question it answers.
SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("function", "Ventricular function and structure",
     "How large are the ventricles, how well do they empty, and is the wall thickened?"),
    ("ischaemia", "Ischaemia", "Is there inducible myocardial ischaemia, where, and how much?"),
    ("tissue", "Scar and tissue characterisation", "Is there scar, oedema, infiltration or iron overload?"),
    ("coronary", "Coronary anatomy and plaque", "Is there coronary calcium, stenosis or high-risk plaque?"),
    ("aetiology", "Aetiology", "What is the most likely cause of the findings?"),
    ("recommendations", "Recommendations", "What is the next step, and on which guideline is it based?"),
)

#: Series kind → section that reports it.
KIND_SECTION: dict[str, str] = {
    "cine_sax": "function", "cine_lax": "function", "echo_cine": "function", "flow": "function",
    "nm_perfusion": "ischaemia", "perfusion": "ischaemia", "stress_perfusion": "ischaemia",
    "lge": "tissue", "t1_map": "tissue", "t2_map": "tissue", "t2star_map": "tissue", "ecv": "tissue",
    "ct_calcium": "coronary", "ct_angio": "coronary", "ccta": "coronary",
}

#: What kind of data each section needs, for its "not assessed" line.
_NEEDS: dict[str, str] = {
    "function": "a cine short-axis CMR, echo or gated study",
    "ischaemia": "a stress perfusion study (CMR, SPECT, PET) or CT-FFR",
    "tissue": "LGE and/or T1/T2/T2*/ECV mapping CMR",
    "coronary": "a calcium-scoring CT or coronary CT angiography",
    "aetiology": "an interpretation of the study's measurements",
    "recommendations": "an interpretation of the study's measurements",
}

#: Keywords in a finding's rule or code → section (first match wins; default "function").
_FINDING_SECTION: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("aetiology", ("aetiology",)),
    ("recommendations", ("pathway",)),
    ("coronary", ("cadrads", "cad_rads", "calcium", "cac", "stenosis", "plaque")),
    ("tissue", ("lake_louise", "tissue", "ecv", "t1", "t2", "lge", "scar", "amyloid", "myocarditis", "iron")),
    ("ischaemia", ("ischaemi", "ischemi", "perfusion", "ffr", "ptp", "pretest", "multimodality")),
)

#: Per-segment maps drawn as bull's-eyes: key in ``result["segments"]`` → (label, cmap, vmin, vmax).
#: vmax ``None`` = the data's maximum (at least vmin + 1).
SEGMENT_MAPS: dict[str, tuple[str, str, float | None, float | None]] = {
    "wall_thickness_mm": ("ED wall thickness (mm)", "viridis", 0.0, 15.0),
    "transmurality_percent": ("LGE transmurality (%)", "cividis", 0.0, 100.0),
    "native_t1_ms": ("native T1 (ms)", "viridis", None, None),
    "ecv_percent": ("ECV (%)", "cividis", 20.0, 50.0),
    "perfusion_score": ("perfusion score (0-4)", "cividis", 0.0, 4.0),
}

_STATUS_LABEL = {"present": "present", "absent": "absent", "not_assessable": "not assessable"}


def format_value(value: Any) -> str:
    """A measurement value for display: 0-2 decimals by magnitude; "–" when missing."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(v):
        return "–"
    a = abs(v)
    if a >= 1000:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def flag_for(value: Any, rr: Mapping[str, Any] | None) -> str:
    """``"high"``, ``"low"`` or ``"normal"`` against a reference range; ``""`` without one."""
    if not rr or value is None:
        return ""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return ""
    lo, hi = rr.get("low"), rr.get("high")
    if lo is None and hi is None:
        return ""
    if lo is not None and v < float(lo):
        return "low"
    if hi is not None and v > float(hi):
        return "high"
    return "normal"


def _range_text(rr: Mapping[str, Any] | None, unit: str) -> str:
    if not rr:
        return ""
    lo, hi = rr.get("low"), rr.get("high")
    if lo is not None and hi is not None:
        return f"{format_value(lo)}–{format_value(hi)} {unit}".strip()
    if lo is not None:
        return f"≥ {format_value(lo)} {unit}".strip()
    if hi is not None:
        return f"≤ {format_value(hi)} {unit}".strip()
    return ""


def _key(m: Mapping[str, Any]) -> tuple:
    return (m.get("code"), m.get("segment"), m.get("phase"), m.get("source"))


class _Refs:
    """Numbered reference list (reference ranges, methods) shared by the whole report."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def number(self, text: str | None) -> int | None:
        if not text:
            return None
        if text not in self.items:
            self.items.append(text)
        return self.items.index(text) + 1


def _measurement_row(m: Mapping[str, Any], ranges: Mapping[tuple, Mapping[str, Any]], refs: _Refs) -> dict[str, Any]:
    rr = m.get("reference_range") or ranges.get(_key(m)) or ranges.get(_key(m)[:3] + (None,))
    unit = m.get("unit") or ""
    flag = flag_for(m.get("value"), rr)
    rr_ref = None
    if rr:
        rr_ref = refs.number("; ".join(x for x in (rr.get("population"), rr.get("reference")) if x))
    return {
        "code": m.get("code"),
        "name": m.get("name") or m.get("code"),
        "value": format_value(m.get("value")),
        "unit": unit,
        "phase": m.get("phase") or "",
        "segment": m.get("segment"),
        "range": _range_text(rr, unit),
        "range_ref": rr_ref,
        "flag": flag,
        "method": m.get("method") or "",
        "method_ref": refs.number(m.get("reference")),
    }


def _finding_section(f: Mapping[str, Any]) -> str:
    text = f"{f.get('rule', '')} {f.get('code', '')}".lower()
    for section, words in _FINDING_SECTION:
        if any(w in text for w in words):
            return section
    return "function"


def _evidence(f: Mapping[str, Any]) -> list[str]:
    out = []
    for name, inp in (f.get("inputs") or {}).items():
        if inp is None:
            out.append(f"{name}: unknown")
        elif isinstance(inp, Mapping):
            val = f"{format_value(inp.get('value'))} {inp.get('unit') or ''}".strip()
            extra = f" ({inp['modality']})" if inp.get("modality") else ""
            out.append(f"{name} = {val}{extra}")
        else:
            out.append(f"{name} = {format_value(inp)}")
    details = f.get("details") or {}
    for key, label in (("evidence_for", "for"), ("evidence_against", "against")):
        for e in details.get(key) or []:
            text = e.get("text") if isinstance(e, Mapping) else str(e)
            out.append(f"{label}: {text}")
    return out


def _finding_item(f: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "code": f.get("code", ""),
        "statement": f.get("statement", ""),
        "status": f.get("status", ""),
        "status_label": _STATUS_LABEL.get(f.get("status", ""), f.get("status", "")),
        "rule": f.get("rule", ""),
        "citation": f.get("citation", ""),
        "evidence": _evidence(f),
        "missing": list(f.get("missing") or []),
    }


def _figure(make: Callable[[], Any], title: str, alt: str, caption: str, notes: list[str]) -> dict[str, Any] | None:
    from heartprint.report._style import data_uri, png_bytes

    try:
        fig = make()
    except HeartprintError as exc:
        notes.append(f"{title}: not drawn ({exc})")
        return None
    if fig is None:
        return None
    return {"title": title, "uri": data_uri(png_bytes(fig)), "alt": alt, "caption": caption}


def _series_figures(series: Mapping[str, Any], images: Mapping[str, Image], labels: Mapping[str, Image],
                    notes: list[str]) -> list[dict[str, Any]]:
    """The figures of one analysed series (by kind)."""
    from heartprint.report import _figures as F

    uid, kind, res = series.get("series_uid", ""), series.get("kind", ""), series.get("result") or {}
    figs: list[dict[str, Any]] = []

    def add(fig: dict[str, Any] | None) -> None:
        if fig is not None:
            figs.append(fig)

    curves, phases = res.get("curves"), res.get("phases") or {}
    if curves and curves.get("time_ms"):
        add(_figure(lambda: F.volume_curves_figure(curves, phases), "Volume curves",
                    "LV and RV cavity volume against time with end-diastole and end-systole marked",
                    "Cavity volumes per phase (summation of discs); dashed lines mark end-diastole (ED), "
                    "dotted lines end-systole (ES).", notes))
    if kind in ("cine_sax",):
        img, lab = images.get(uid), labels.get(uid)
        if img is None or lab is None:
            missing = " and ".join(x for x, v in (("source images", img), ("label maps", lab)) if v is None)
            notes.append(f"Segmentation overlays not drawn: the {missing} of series {uid} were not given to the report.")
        elif "lv_ed" in phases and "lv_es" in phases:
            sl = F.choose_overlay_slices(lab.array, int(phases["lv_ed"]), res.get("coverage"))
            if sl:
                order = {k: sl[k] for k in ("basal", "mid-ventricular") if k in sl}
                add(_figure(lambda: F.overlay_figure(img, lab, phases={"ED": int(phases["lv_ed"]), "ES": int(phases["lv_es"])},
                                                     slices=order),
                            "Segmentation overlays", "Segmentation contours on the cine images at end-diastole and end-systole",
                            "Automatic segmentation on the source images: LV endocardium, LV epicardium and RV "
                            "endocardium at ED and ES, basal and mid-ventricular slices. Check the contours before "
                            "using the numbers.", notes))
            else:
                notes.append(f"Segmentation overlays not drawn: no LV label at ED in series {uid}.")
    for key, values in (res.get("segments") or {}).items():
        if key not in SEGMENT_MAPS or not isinstance(values, Mapping) or not values:
            continue
        label, cmap, vmin, vmax = SEGMENT_MAPS[key]
        finite = [float(v) for v in values.values() if v is not None and math.isfinite(float(v))]
        hi = vmax if vmax is not None else (max(finite) if finite else None)
        if hi is not None and finite and vmax is not None:
            hi = max(hi, max(finite))
        add(_figure(lambda v=values, lb=label, c=cmap, lo=vmin, h=hi: F.bullseye(v, label=lb, cmap=c, vmin=lo, vmax=h),
                    f"AHA 17-segment map: {label}", f"Bull's-eye plot of {label} per AHA segment",
                    "AHA 17-segment model (Cerqueira 2002): basal ring outside, apex in the centre, anterior at "
                    "the top, septum on the left. Grey hatched segments have no value.", notes))
    if kind == "ct_calcium":
        add(_figure(lambda: F.calcium_lesion_map(res, images.get(uid)), "Calcium lesion map",
                    "Coronary calcium lesions by artery", "Each lesion at its centroid, sized by Agatston score, "
                    "coloured by artery.", notes))
    if kind in ("ct_angio", "ccta"):
        add(_figure(lambda: F.stenosis_profile_figure(res), "Stenosis profiles",
                    "Lumen diameter along each coronary artery", "Lumen and reference diameter along each "
                    "centreline; shaded: lesions with their diameter stenosis.", notes))
    return figs


def _versions(result: Mapping[str, Any]) -> list[dict[str, str]]:
    rows = [{"what": "heartprint", "version": str(result.get("heartprint_version") or __version__), "detail": ""}]
    for s in result.get("series") or []:
        seg = (s.get("result") or {}).get("segmentation") or {}
        if seg:
            tta = seg.get("test_time_augmentation")
            rows.append({
                "what": f"segmentation model ({s.get('kind')}, series {s.get('series_uid')})",
                "version": str(seg.get("model") or "unknown"),
                "detail": f"sha256 {seg.get('model_sha256') or 'unknown'}"
                + "".join(f"; ensemble member {m.get('file')} sha256 {m.get('sha256')}" for m in seg.get("ensemble") or [])
                + ("" if tta is None else f"; test-time augmentation {'on' if tta else 'off'}"),
            })
    for mod in ("matplotlib", "weasyprint", "jinja2"):
        try:
            from importlib.metadata import version

            rows.append({"what": f"{mod} (report rendering)", "version": version(mod), "detail": ""})
        except Exception:  # noqa: BLE001 - a missing optional package is reported as absent
            rows.append({"what": f"{mod} (report rendering)", "version": "not installed", "detail": ""})
    return rows


def build_report(
    result: Mapping[str, Any],
    *,
    images: Mapping[str, Image] | None = None,
    labels: Mapping[str, Image] | None = None,
    figures: bool = True,
    title: str | None = None,
) -> dict[str, Any]:
    """The report's content (JSON-able apart from figure data URIs) from a study result.

    Parameters
    ----------
    result
        ``heartprint.study/1`` dict (:meth:`heartprint.pipeline.StudyResult.to_dict`).
    images, labels
        Series UID → source :class:`~heartprint.Image` / label map, for overlays.
    figures
        Draw figures (PNG data URIs); ``False`` for a text-only report.
    """
    images, labels = dict(images or {}), dict(labels or {})
    refs = _Refs()
    interp = result.get("interpretation") or {}
    interp_failed = interp.get("status") == "failed"
    ranges: dict[tuple, Mapping[str, Any]] = {}
    for m in interp.get("measurements") or []:
        if m.get("reference_range"):
            ranges.setdefault(_key(m), m["reference_range"])
            ranges.setdefault(_key(m)[:3] + (None,), m["reference_range"])
    sections = {sid: {"id": sid, "title": t, "question": q, "series": [], "findings": [], "not_assessable": [],
                      "differential": [], "recommendations": [], "figures": [], "notes": [], "unanalysed": []}
                for sid, t, q in SECTIONS}
    qc_rows, series_rows = [], []
    for s in result.get("series") or []:
        kind, status, uid = s.get("kind", ""), s.get("status", ""), s.get("series_uid", "")
        series_rows.append({"uid": uid, "kind": kind, "status": status, "message": s.get("message", "")})
        sec = sections.get(KIND_SECTION.get(kind, ""))
        if status != "analysed":
            if sec is not None:
                sec["unanalysed"].append(f"{kind} series {uid}: {status.replace('_', ' ')}"
                                         + (f" ({s['message']})" if s.get("message") else ""))
            continue
        res = s.get("result") or {}
        for q in res.get("qc") or []:
            qc_rows.append({"uid": uid, "kind": kind, "severity": q.get("severity", ""), "code": q.get("code", ""),
                            "message": q.get("message", "")})
        if sec is None:
            sec = sections["function"]
        rows = [_measurement_row(m, ranges, refs) for m in res.get("measurements") or []]
        glob = [r for r in rows if r["segment"] is None]
        segmental: dict[str, dict[str, Any]] = {}
        for r in rows:
            if r["segment"] is not None:
                g = segmental.setdefault(r["code"], {"name": r["name"], "unit": r["unit"], "phase": r["phase"], "values": {}})
                g["values"][int(r["segment"])] = r
        if glob and not any(r["range"] for r in glob):
            sec["notes"].append("No reference ranges shown (n/a): heartprint attaches verified ranges only when the "
                                "patient's sex is known and a published range exists for the modality and method.")
        figs = _series_figures(s, images, labels, sec["notes"]) if figures else []
        sec["series"].append({
            "uid": uid, "kind": kind, "qc_status": res.get("qc_status", ""), "measurements": glob,
            "segmental": [dict(code=c, **g) for c, g in segmental.items()], "method": res.get("method", ""),
            "figures": figs,
        })
    for f in interp.get("findings") or []:
        sections[_finding_section(f)]["findings"].append(_finding_item(f))
    for f in interp.get("not_assessable") or []:
        sections[_finding_section(f)]["not_assessable"].append(_finding_item(f))
    for f in interp.get("differential") or []:
        sections["aetiology"]["differential"].append(_finding_item(f))
    for r in interp.get("recommendations") or []:
        sections["recommendations"]["recommendations"].append({
            "action": r.get("action", ""), "class": r.get("recommendation_class") or "",
            "level": r.get("level_of_evidence") or "", "because": list(r.get("findings") or []),
            "citation": r.get("citation", ""), "statement": r.get("statement", ""),
        })
    for sid, sec in sections.items():
        data = sec["series"] or sec["findings"] or sec["differential"] or sec["recommendations"]
        sec["assessed"] = bool(data)
        if not data:
            why = [f"Not assessed: this study has no {_NEEDS[sid]}."]
            if sid in ("aetiology", "recommendations") and not interp:
                why = [f"Not assessed: the study's measurements were not interpreted ({_NEEDS[sid]} is needed)."]
            elif sid in ("aetiology", "recommendations") and interp_failed:
                why = [f"Not assessed: the interpretation failed ({interp.get('message', '')})."]
            elif sid == "recommendations" and interp:
                why = ["No recommendation follows from the findings with the data given (the rules ran; "
                       "see 'not assessable' items for what more would be needed)."]
            if sec["unanalysed"]:
                why.append("Series found but not analysed: " + "; ".join(sec["unanalysed"]) + ".")
            sec["not_assessed"] = " ".join(why)
        else:
            sec["not_assessed"] = ""
    severities = {"error": 0, "warning": 1, "info": 2}
    qc_rows.sort(key=lambda q: severities.get(q["severity"], 3))
    n_flags = sum(q["severity"] in ("warning", "error") for q in qc_rows)
    return {
        "title": title or "heartprint study report",
        "disclaimer": result.get("disclaimer") or DISCLAIMER,
        "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "heartprint_version": result.get("heartprint_version") or __version__,
        "source": result.get("source", ""),
        "study_uids": list(result.get("study_uids") or []),
        "sections": [sections[sid] for sid, _, _ in SECTIONS],
        "qc": qc_rows,
        "qc_flag_count": n_flags,
        "series": series_rows,
        "skipped_files": list(result.get("skipped_files") or []),
        "interpretation_note": (f"The guideline interpretation failed: {interp.get('message', '')}" if interp_failed else
                                "" if interp else "The measurements were not interpreted (no guideline rules were run)."),
        "interpretation_notes": list(interp.get("notes") or []),
        "versions": _versions(result),
        "references": refs.items,
        "output_problems": list(result.get("output_problems") or []),
    }

"""What a report says, as plain data: the patient and the studies used, sections by clinical
question, measurement rows with reference ranges, flags and z-scores, findings with their
evidence and citations, QC in plain sentences, and a technical appendix.

:func:`build_report` turns a typed :class:`~heartprint.results.StudyResult` into the context
the HTML template renders. Figures are made here (as PNG data URIs) so that the template only
lays out. Nothing here keeps a table of series kinds: a series' section and title come from its
analyser (:func:`heartprint.pipeline.analyser_for`), its bull's-eyes from
``series.segment_maps`` and its other figures from what ``series.figure_data`` holds.

Patient-facing text (everything before the appendix "Series and software") passes through
:func:`plain_text`: no series UIDs, file names, DICOM tags, verification tags or Python
reprs; machine-precision numbers rounded by :data:`PRECISION`. An unverified constant or
threshold is said in words (:data:`UNVERIFIED_NOTE`).
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from heartprint import DISCLAIMER, __version__
from heartprint.concepts import CONCEPTS
from heartprint.errors import HeartprintError, InvalidInputError
from heartprint.measure import Measurement, QCFlag, ReferenceRange, Severity
from heartprint.results import Provenanced, SegmentValues, SeriesResult, StudyInfo, StudyResult
from heartprint.units import normalize_unit

__all__ = [
    "PRECISION", "PRECISION_BY_CODE", "SECTIONS", "UNVERIFIED_NOTE", "build_report", "decimals_for", "display_unit",
    "flag_for", "format_value", "plain_text", "readable_name",
]

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
#: This routes guideline rules, not series kinds.
_FINDING_SECTION: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("aetiology", ("aetiology",)),
    ("recommendations", ("pathway",)),
    ("coronary", ("cadrads", "cad_rads", "calcium", "cac", "stenosis", "plaque")),
    ("tissue", ("lake_louise", "tissue", "ecv", "t1", "t2", "lge", "scar", "amyloid", "myocarditis", "iron")),
    ("ischaemia", ("ischaemi", "ischemi", "perfusion", "ffr", "ptp", "pretest", "multimodality")),
)

_STATUS_LABEL = {"present": "present", "absent": "absent", "not_assessable": "not assessable"}

# -- precision -------------------------------------------------------------------------------

#: Decimals shown, by UCUM unit (clinical reporting precision). EF, ECV, transmurality and
#: every other percentage, volumes (mL, mL/m2), mass (g, g/m2), T1/T2 (ms), heart rate, scores
#: and counts: whole numbers; wall thickness (mm) 0.1; BSA (m2) 0.01. Units not listed fall back
#: to 0-2 decimals by magnitude (:func:`format_value` without a unit).
PRECISION: dict[str, int] = {
    "%": 0, "mL": 0, "mL/m2": 0, "g": 0, "g/m2": 0, "mg": 0, "mm3": 0, "mL/s": 0,
    "ms": 0, "/min": 0, "1": 0, "HU": 0, "mm[Hg]": 0, "cm": 0, "kg": 0, "a": 0, "pg/mL": 0, "ng/L": 0,
    "mm": 1, "mm2": 1, "L/min": 1, "L/min/m2": 1, "cm/s": 0, "kg/m2": 1,
    "m2": 2, "mL/min/g": 2, "m/s": 1, "cm2": 2, "cm2/m2": 2,
}

#: Decimals by concept code where the unit alone does not decide (wins over :data:`PRECISION`):
#: only codes whose precision differs from their unit's (T2* in ms to 0.1; ratios, unit ``1``).
PRECISION_BY_CODE: dict[str, int] = {
    "t2star": 1, "ffr": 2, "ct_ffr": 2, "rwt": 2, "mfr": 1, "e_e_prime": 1, "mitral_e_a": 1, "t2_ratio": 1,
    "gls": 1, "tr_vmax": 2, "echo_av_vmax": 2, "echo_lvot_vmax": 2, "echo_av_dimensionless_index": 2,
    "regional_longitudinal_strain": 1,
}

#: How an echocardiography report groups its measurements (by concept code; a code matching no group goes
#: under "Other"). Used for a series whose measurements are all ultrasound (modality ``US``) and fall into
#: more than one group, so that the vendor's many values read as an echo report does.
ECHO_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("LV dimensions and mass", ("echo_lvidd", "echo_lvids", "echo_ivsd", "echo_lvpwd", "echo_lv_fs", "rwt",
                                "lv_mass", "lv_massi")),
    ("Volumes and ejection fraction", ("lv_edv", "lv_esv", "lv_ef", "lv_edvi", "lv_esvi", "echo_la_volume", "lavi",
                                       "echo_la_diameter", "echo_la_area", "echo_la_area_2c", "echo_ra_area")),
    ("Myocardial strain", ("gls",)),
    ("Doppler and diastolic function", ("mitral_e", "echo_mitral_a", "mitral_e_a", "echo_mitral_dt",
                                        "septal_e_prime", "lateral_e_prime", "echo_e_prime", "e_e_prime",
                                        "echo_e_e_prime_septal", "echo_e_e_prime_lateral", "tr_vmax",
                                        "echo_tr_peak_gradient", "echo_rvsp", "pasp")),
    ("Valves", ("echo_av_*", "echo_lvot_*", "echo_ava*", "echo_mr_*")),  # "*": any code starting so
    ("Right ventricle", ("echo_tapse", "echo_rv_s_prime")),
)


def _echo_group(code: str) -> str:
    for title, codes in ECHO_GROUPS:
        if any(code == c or (c.endswith("*") and code.startswith(c[:-1])) for c in codes):
            return title
    return "Other"


def measurement_groups(measurements: Sequence[Measurement], rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The global rows of an ultrasound series grouped as an echo report groups them (:data:`ECHO_GROUPS`,
    in that order, "Other" last); ``[]`` when the series is not all ultrasound or fills one group only."""
    if not measurements or any(m.modality != "US" for m in measurements):
        return []
    order = [t for t, _ in ECHO_GROUPS] + ["Other"]
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        groups.setdefault(_echo_group(str(r["code"])), []).append(r)
    if len(groups) < 2:
        return []
    return [{"title": t, "rows": groups[t]} for t in order if t in groups]

#: UCUM unit → how a reader writes it.
_UNIT_DISPLAY: dict[str, str] = {
    "1": "", "m2": "m²", "mL/m2": "mL/m²", "g/m2": "g/m²", "L/min/m2": "L/min/m²", "kg/m2": "kg/m²",
    "mm2": "mm²", "cm2": "cm²", "cm2/m2": "cm²/m²", "mm3": "mm³", "mm[Hg]": "mmHg", "a": "years", "umol/L": "µmol/L",
    "mL/min/{1.73_m2}": "mL/min/1.73 m²",
}

#: Said wherever a constant, threshold or class has not been checked against its source.
UNVERIFIED_NOTE = "This threshold has not been checked against the source publication."


def decimals_for(code: str | None = None, unit: str | None = None) -> int | None:
    """Decimals to show for a value of concept ``code`` in ``unit`` (``None``: by magnitude)."""
    if code and code in PRECISION_BY_CODE:
        return PRECISION_BY_CODE[code]
    if unit is not None and unit in PRECISION:
        return PRECISION[unit]
    return None


def display_unit(unit: str | None) -> str:
    """A UCUM unit as a reader writes it (``mL/m2`` → ``mL/m²``, ``1`` → empty)."""
    if unit is None:
        return ""
    return _UNIT_DISPLAY.get(unit, unit)


def format_value(value: Any, code: str | None = None, unit: str | None = None) -> str:
    """A value for display at clinical precision (:data:`PRECISION`, :data:`PRECISION_BY_CODE`);
    without a known code or unit 0-2 decimals by magnitude; "–" when missing."""
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
    d = decimals_for(code, unit)
    if d is None:
        a = abs(v)
        d = 0 if a >= 1000 else 1 if a >= 10 else 2
    text = f"{v:.{d}f}"
    return text.lstrip("-") if float(text) == 0 else text  # no "-0"


def format_z(z: float | None) -> str:
    """``z = +1.2`` (one decimal, signed); empty without a z-score."""
    if z is None or not math.isfinite(float(z)):
        return ""
    return f"z = {float(z):+.1f}"


def flag_for(value: float, rr: ReferenceRange | None) -> str:
    """``"high"``, ``"low"`` or ``"normal"`` against a reference range; ``""`` without one."""
    if rr is None or (rr.low is None and rr.high is None):
        return ""
    if rr.low is not None and value < rr.low:
        return "low"
    if rr.high is not None and value > rr.high:
        return "high"
    return "normal"


def _range_text(rr: ReferenceRange | None, code: str | None, unit: str) -> str:
    lo, hi = (rr.low, rr.high) if rr is not None else (None, None)
    u = display_unit(unit)
    if lo is not None and hi is not None:
        return f"{format_value(lo, code, unit)}–{format_value(hi, code, unit)} {u}".strip()
    if lo is not None:
        return f"≥ {format_value(lo, code, unit)} {u}".strip()
    if hi is not None:
        return f"≤ {format_value(hi, code, unit)} {u}".strip()
    return ""


# -- plain text ------------------------------------------------------------------------------

_TAG = r"(?:⚠\s*M|✅\s*[SP]|☑\s*C)"
_UNVERIFIED_RE = re.compile(r"⚠|\bunverified\b|\bnot verified\b|\bnot checked against\b", re.I)
_UID = r"\d+(?:\.\d+){3,}"
_UNIT_RE = r"mL/m2|mL/m²|g/m2|g/m²|L/min/m2|mL/s|mL|ms|mm3|mm2|mm|m2|m²|%|g|/min|cm|kg|HU"


def _concept_name(code: str) -> str | None:
    c = CONCEPTS.get(code)
    if c is None:
        return None
    name = c.name
    return name[0].lower() + name[1:] if len(name) > 1 and name[1].islower() else name


def _round_match(m: re.Match[str]) -> str:
    num, space, unit = m.group(1), m.group(2), m.group(3)
    if unit:
        return f"{format_value(float(num), None, normalize_unit(unit))}{space}{unit}"
    v = float(num)  # no unit: three significant figures, at least whole numbers
    return f"{v:.{0 if abs(v) >= 100 else 1 if abs(v) >= 10 else 2}f}"


def _drop_uid(m: re.Match[str]) -> str:
    """A DICOM UID (dotted digits, 12+ characters) goes; a section number such as 7.1.1.1 stays."""
    return "" if len(m.group(1)) >= 12 else m.group(0)


def plain_text(text: Any, *, numbers: bool = True) -> str:
    """``text`` as a clinician reads it: verification tags, DICOM tags, file names and paths,
    series UIDs and Python reprs removed or said in words; snake_case identifiers spelled out
    (concept codes by their names); numbers with machine precision rounded to
    :data:`PRECISION` (``numbers=False`` leaves numbers as written, e.g. in citations)."""
    if text is None:
        return ""
    s = str(text)
    # parenthetical remarks about verification, and the tags themselves
    paren = r"(?:[^()]|\([^()]*\))*"
    s = re.sub(r"\s*\(" + paren + "?(?:" + _TAG + r"|verified|verification|clinical_reference)" + paren + r"\)",
               "", s, flags=re.I)
    s = re.sub(r"[;,]?\s*" + _TAG + r"(?:\s*(?:wording|\([^()]*\)))?", "", s)
    # DICOM tags, file names and paths, UIDs
    s = re.sub(r"\s*\(\s*[0-9A-Fa-f]{4}\s*,\s*[0-9A-Fa-f]{4}\s*\)", "", s)
    s = re.sub(r"\b[\w\-]+\.(?:md|py|json|onnx|nii(?:\.gz)?|dcm|csv|txt|zip)\b", "", s)
    s = re.sub(r"(?<![\w/.])(?:[A-Za-z]:)?(?:[/\\][\w.\-]+){2,}[/\\]?", "", s)
    s = re.sub(r"\b(series|study|instance)\s+(?:UID\s+)?(" + _UID + r")\b",
               lambda m: f"the {m.group(1)}" if len(m.group(2)) >= 12 else m.group(0), s, flags=re.I)
    s = re.sub(r"\s*\b(" + _UID + r")\b", _drop_uid, s)
    # Python reprs: keyword=Class(...), Class(k=v), lists/tuples/dicts of literals, None/True/False
    s = re.sub(r"[:;,]?\s*\b(?:pass|supply|give|set)\s+\w+=[A-Za-z_]\w*\([^()]*\)", "", s)
    s = re.sub(r"\b\w+=[A-Z]\w*\([^()]*\)", "", s)
    s = re.sub(r"\b[A-Z]\w*\((?:[^()]*=[^()]*)\)", "", s)

    def _unrepr(m: re.Match[str]) -> str:
        inner = re.sub(r"[\[\]{}()'\"]", "", m.group(0))
        return re.sub(r"\s*,\s*", ", ", inner).strip(", ")

    s = re.sub(r"\[[^\[\]]*['\"(][^\[\]]*\]|\{[^{}]*['\"][^{}]*\}", _unrepr, s)
    s = re.sub(r"'([\w./\-]+)'", r"\1", s)
    s = re.sub(r"\bNone\b", "unknown", s)
    s = re.sub(r"\bTrue\b", "yes", s)
    s = re.sub(r"\bFalse\b", "no", s)

    # snake_case identifiers: concept names, else words
    def _ident(m: re.Match[str]) -> str:
        word = m.group(0)
        return _concept_name(word) or word.replace("_", " ")

    s = re.sub(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b", _ident, s)
    s = re.sub(r"(\w)=(?=[\d\-.])", r"\1 = ", s)
    if numbers:
        s = re.sub(r"(?<![\w.])(-?\d+\.\d{2,})(\s?)(" + _UNIT_RE + r")?(?![\w/²³])", _round_match, s)
    # tidy what the removals left
    s = re.sub(r"\(\s*[;,]?\s*\)", "", s)
    s = re.sub(r"\(\s*[;,]\s*", "(", s)
    s = re.sub(r"\s*[;,]\s*\)", ")", s)
    s = re.sub(r"\s+([,;.:)])", r"\1", s)
    s = re.sub(r"([;,:])(?=[^\s\d])", r"\1 ", s)
    s = re.sub(r"[;,]\s*([.;,])", r"\1", s)
    s = re.sub(r"\s{2,}", " ", s).strip()
    s = re.sub(r"[:;,]\s*$", "", s)
    return s


def _sentence(text: Any) -> str:
    s = plain_text(text)
    if not s:
        return ""
    s = s[0].upper() + s[1:]
    return s if s[-1] in ".!?" else s + "."


def _unverified(*texts: Any) -> bool:
    return any(t is not None and _UNVERIFIED_RE.search(str(t)) for t in texts)


def readable_name(name: str | None) -> str:
    """A DICOM person name (``FAMILY^GIVEN^MIDDLE^PREFIX^SUFFIX``) as ``FAMILY, GIVEN MIDDLE``."""
    if not name:
        return ""
    first = str(name).split("=")[0]  # alphabetic group; ideographic/phonetic groups follow "="
    parts = [p.strip() for p in first.split("^")] + [""] * 5
    family, given, middle, prefix, suffix = parts[:5]
    rest = " ".join(p for p in (prefix, given, middle) if p)
    out = f"{family}, {rest}" if family and rest else family or rest
    return f"{out} {suffix}".strip() if suffix else out


# -- header ----------------------------------------------------------------------------------


def _source_text(source: str, what: str) -> str:
    s = (source or "").strip()
    if s.lower().startswith("derived"):
        if what == "bsa":
            m = re.search(r"BSA\s+([A-Za-z][\w\-]*)", s)
            formula = f", {m.group(1).capitalize()} formula" if m else ""
            return f"calculated from height and weight{formula}"
        return "calculated"
    return plain_text(s, numbers=False) or "unknown source"


def _prov(p: Provenanced | None, what: str, fmt: Callable[[Any], str]) -> dict[str, str]:
    if p is None or p.value is None:
        return {"value": "not recorded", "source": ""}
    return {"value": fmt(p.value), "source": _source_text(p.source, what)}


def _age_text(years: Any) -> str:
    y = float(years)
    if y < 2:
        months = int(round(y * 12))
        return f"{months} month{'s' if months != 1 else ''}"
    return f"{int(math.floor(y + 1e-9))} years"


def _age_at(birth: date, when: date) -> float:
    years = when.year - birth.year - ((when.month, when.day) < (birth.month, birth.day))
    return float(years)


def _study_row(info: StudyInfo, role: str) -> dict[str, str]:
    return {
        "role": role,
        "date": info.date.isoformat() if info.date else "date not recorded",
        "description": plain_text(info.description, numbers=False) or "no description",
        "modalities": ", ".join(info.modalities),
        "accession": info.accession_number,
    }


def _header(result: StudyResult) -> dict[str, Any]:
    p = result.patient
    age = _prov(p.age_years, "age", _age_text)
    if p.age_years is None and p.birth_date is not None and isinstance(p.birth_date.value, date) and result.study.date:
        age = {"value": _age_text(_age_at(p.birth_date.value, result.study.date)),
               "source": "calculated from the birth date and the study date"}
    patient = {
        "name": readable_name(p.name) or "not recorded",
        "id": p.patient_id or "not recorded",
        "issuer": p.issuer or "",
        "sex": _prov(p.sex, "sex", lambda v: str(v)),
        "age": age,
        "birth_date": _prov(p.birth_date, "birth_date", lambda v: v.isoformat() if isinstance(v, date) else str(v)),
        "height": _prov(p.height_cm, "height", lambda v: f"{format_value(v, None, 'cm')} cm"),
        "weight": _prov(p.weight_kg, "weight", lambda v: f"{format_value(v, None, 'kg')} kg"),
        "bsa": _prov(p.bsa_m2, "bsa", lambda v: f"{format_value(v, 'bsa', 'm2')} m²"),
    }
    study = _study_row(result.study, "this study")
    used = [study] + [_study_row(h, "earlier or same-day study of this patient, used for the interpretation")
                      for h in sorted(result.history, key=lambda h: (h.date or date.min), reverse=True)]
    return {"patient": patient, "study": study, "studies_used": used}


# -- patient facts ---------------------------------------------------------------------------


def _fact_value(key: str, value: Any, unit: str | None) -> str:
    from heartprint.phenotype import fact_text

    if key in CONCEPTS and isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{format_value(value, key, unit)} {display_unit(unit)}".strip()
    return fact_text(key, value, unit)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _patient_facts_section(result: StudyResult) -> dict[str, Any]:
    """The "Patient facts" section: each fact the interpretation was given, in plain words with
    where it came from (command line, facts file, DICOM header) and what it replaced; what was
    concluded from them; and the facts the guideline rules take that were not given ("Not given
    (assumed unknown)"), the qualitative imaging findings a reader states apart. Reads ``result.facts`` (:class:`heartprint.phenotype.FactsSummary`);
    ``shown`` is false when there is none (the study was not interpreted)."""
    facts = result.facts
    if facts is None:
        return {"shown": False, "given": [], "derived": [], "unknown": [], "unknown_findings": [], "notes": []}
    given = []
    for g in facts.given:
        notes = [f"entered as {g.entered}"] if g.entered else []
        notes += [f"replaces {_fact_value(g.key, v, g.unit)} from the {src}" for v, src in g.replaced]
        given.append({"key": g.key, "name": _capital(plain_text(g.name, numbers=False)),
                      "value": plain_text(_fact_value(g.key, g.value, g.unit), numbers=False),
                      "source": plain_text(g.source, numbers=False) or "not recorded",
                      "note": plain_text("; ".join(notes), numbers=False)})
    derived = [{"name": _capital(plain_text(d.name, numbers=False)),
                "value": plain_text(_fact_value(d.key, d.value, d.unit), numbers=False),
                "source": plain_text(d.source, numbers=False)} for d in facts.derived]
    return {"shown": True, "given": given, "derived": derived,
            "unknown": [_capital(plain_text(u.name, numbers=False)) for u in facts.assumed_unknown
                        if u.category != "finding"],
            "unknown_findings": [_capital(plain_text(u.name, numbers=False)) for u in facts.assumed_unknown
                                 if u.category == "finding"],
            "notes": [_sentence(n) for n in facts.notes]}


# -- measurements ----------------------------------------------------------------------------


class _Refs:
    """Numbered reference list (reference ranges, methods) shared by the whole report."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def number(self, text: str | None) -> int | None:
        text = plain_text(text, numbers=False) if text else ""
        if not text:
            return None
        if text not in self.items:
            self.items.append(text)
        return self.items.index(text) + 1


class _Annotations:
    """Reference ranges and z-scores the interpretation attached to its copies of the
    measurements, found again by (code, segment, source) and, failing that, (code, segment)."""

    def __init__(self, interpretation: Any) -> None:
        self.by_source: dict[tuple, Measurement] = {}
        self.by_code: dict[tuple, Measurement] = {}
        for m in getattr(interpretation, "measurements", None) or []:
            if m.reference_range is None and m.z_score is None:
                continue
            self.by_source.setdefault((m.code, m.segment, m.vessel, m.source), m)
            self.by_code.setdefault((m.code, m.segment, m.vessel), m)

    def get(self, m: Measurement) -> Measurement | None:
        return (self.by_source.get((m.code, m.segment, m.vessel, m.source))
                or self.by_code.get((m.code, m.segment, m.vessel)))


def _measurement_row(m: Measurement, ann: _Annotations, refs: _Refs) -> dict[str, Any]:
    """One table row. The range, z-score and verdict are the measurement's own (set by
    ``clinical.reference_ranges.annotate``), else those the interpretation attached to its copy;
    a verdict is the measurement's ``interpretation``, else the value against the range shown;
    without a range the row shows none of them."""
    other = ann.get(m)
    src = m if (m.reference_range is not None or m.interpretation is not None or m.z_score is not None) else other
    rr = src.reference_range if src is not None else None
    z = src.z_score if src is not None else None
    verdict = (src.interpretation if src is not None else None) or flag_for(m.value, rr)
    rr_ref = None
    if rr is not None and (rr.population or rr.reference):
        rr_ref = refs.number("; ".join(x for x in (rr.population, rr.reference) if x))
    return {
        "code": m.code,
        "name": plain_text(m.name, numbers=False) or m.code,
        "value": format_value(m.value, m.code, m.unit),
        "unit": display_unit(m.unit),
        "phase": m.phase or "",
        "segment": m.segment,
        "vessel": m.vessel,
        "range": _range_text(rr, m.code, m.unit),
        "range_ref": rr_ref,
        # the population in words; a trailing "[unit]" goes (the range beside it has the unit)
        "range_population": re.sub(r"\s*\[[^\[\]]*\]\s*$", "", plain_text(rr.population, numbers=False))
        if rr is not None else "",
        "flag": verdict if verdict in ("low", "normal", "high") else "",
        "z": format_z(z),
        "method": plain_text(m.method, numbers=False),
        "method_ref": refs.number(m.reference),
        "unverified": _unverified(m.reference, m.method, rr.reference if rr is not None else None),
    }


def _range_notes(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The reference populations of a table's rows, once each, with their reference numbers:
    ``{"ref": n, "population": text, "names": [measurement names]}``."""
    notes: dict[tuple[Any, str], dict[str, Any]] = {}
    for r in rows:
        if not r["range"] or not (r["range_population"] or r["range_ref"]):
            continue
        key = (r["range_ref"], r["range_population"])
        note = notes.setdefault(key, {"ref": r["range_ref"], "population": r["range_population"], "names": []})
        if r["name"] not in note["names"]:
            note["names"].append(r["name"])
    return list(notes.values())


# -- findings --------------------------------------------------------------------------------


def _finding_section(code: str, rule: str) -> str:
    text = f"{rule} {code}".lower()
    for section, words in _FINDING_SECTION:
        if any(w in text for w in words):
            return section
    return "function"


#: Names guideline rules give their inputs → the concept code they stand for.
_INPUT_ALIASES: dict[str, str] = {
    "lvef": "lv_ef", "rvef": "rv_ef", "lvmi": "lv_massi", "lvedvi": "lv_edvi", "lvesvi": "lv_esvi", "rvedvi": "rv_edvi",
    "max_wall_thickness": "lv_max_wall_thickness", "wall_thickness": "lv_max_wall_thickness",
    "agatston_score": "cac_agatston", "agatston": "cac_agatston", "native_t1_ms": "native_t1", "t1": "native_t1",
    "ecv_percent": "ecv", "max_stenosis": "stenosis",
}


def _input_name(name: str, inp: Any) -> str:
    code = inp.get("code") if isinstance(inp, Mapping) else None
    seg = inp.get("segment") if isinstance(inp, Mapping) else None
    key = str(code or name)
    if seg is None and code is None:
        m = re.fullmatch(r"(.+?)_(\d{1,2})", key)
        if m and 1 <= int(m.group(2)) <= 17:
            key, seg = m.group(1), int(m.group(2))
    if code is None:
        key = _INPUT_ALIASES.get(key, key)
        if key not in _INPUT_ALIASES.values():
            bare = re.sub(r"_(?:ms|mm|pct|percent|ml|g|cm|kg)$", "", key)
            key = _INPUT_ALIASES.get(bare, bare)
    base = _concept_name(key) or plain_text(key, numbers=False)
    vessel = inp.get("vessel") if isinstance(inp, Mapping) else None
    where = ", ".join(x for x in (f"segment {seg}" if seg is not None else "", vessel or "") if x)
    return f"{base} ({where})" if where else base


def _evidence(inputs: Mapping[str, Any], details: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    said: set[tuple[str, str]] = set()  # (name, value): the same number under two input names once
    for name, inp in (inputs or {}).items():
        label = _input_name(str(name), inp)
        if inp is None:
            text = f"{label}: unknown"
        elif isinstance(inp, Mapping):
            if "value" not in inp:
                continue
            unit = inp.get("unit")
            code = inp.get("code") or name
            val = f"{format_value(inp.get('value'), str(code), unit)} {display_unit(unit)}".strip()
            extra = f" ({inp['modality']})" if inp.get("modality") else ""
            if (label.lower(), val) in said:
                continue
            said.add((label.lower(), val))
            text = f"{label} = {val}{extra}"
        elif isinstance(inp, (int, float)) and not isinstance(inp, bool):
            text = f"{label} = {format_value(inp)}"
        elif isinstance(inp, (str, bool)):
            text = f"{label}: {plain_text(format_value(inp) if isinstance(inp, bool) else inp)}"
        else:
            continue  # structured inputs (lists, nested tables) are not evidence a reader can use
        if text not in seen:
            seen.add(text)
            out.append(text)
    for key, label in (("evidence_for", "for"), ("evidence_against", "against")):
        for e in details.get(key) or []:
            t = e.get("text") if isinstance(e, Mapping) else e
            if t:
                out.append(f"{label}: {plain_text(t)}")
    return out


def _finding_item(f: Any) -> dict[str, Any]:
    details = dict(getattr(f, "details", None) or {})
    extra = [_sentence(v) for k, v in details.items() if isinstance(v, str) and k.endswith("_note")]
    unverified = _unverified(f.statement, f.citation, *_extra_texts(details))
    return {
        "code": f.code,
        "statement": _sentence(f.statement),
        "status": f.status,
        "status_label": _STATUS_LABEL.get(f.status, f.status.replace("_", " ")),
        "rule": f.rule,
        "citation": plain_text(f.citation, numbers=False),
        "evidence": _evidence(f.inputs, details),
        "missing": [t for t in map(plain_text, f.missing) if t],
        "notes": [x for x in extra if x],
        "unverified": unverified,
    }


def _extra_texts(details: Mapping[str, Any]) -> list[str]:
    """Strings in a finding's details that speak about verification (``unverified``,
    ``verification`` keys and ``*_note`` values)."""
    out = []
    for k, v in details.items():
        if isinstance(v, str) and (k in ("unverified", "verification") or k.endswith("_note")):
            out.append(v if k != "unverified" else f"unverified: {v}")
    return out


def _recommendation_item(r: Any) -> dict[str, Any]:
    cls = plain_text(r.recommendation_class or "", numbers=False)
    return {
        "action": _sentence(r.action),
        "class": cls if re.fullmatch(r"I{1,3}[ab]?|III", cls or "") else "",
        "level": r.level_of_evidence if r.level_of_evidence in ("A", "B", "C") else "",
        "because": [plain_text(x) for x in r.findings],
        "rationale": _sentence(r.rationale) if r.rationale else "",
        "citation": plain_text(r.citation, numbers=False),
        "unverified": _unverified(r.action, r.citation, r.recommendation_class, r.rationale),
    }


# -- figures ---------------------------------------------------------------------------------


def _figure(make: Callable[[], Any], title: str, alt: str, caption: str, notes: list[str], *,
            figure_kind: str, **extra: Any) -> dict[str, Any] | None:
    from heartprint.report._style import data_uri, png_bytes

    try:
        fig = make()
    except HeartprintError as exc:
        notes.append(_sentence(f"{title}: not drawn ({exc})"))
        return None
    if fig is None:
        return None
    return {"title": title, "uri": data_uri(png_bytes(fig)), "alt": alt, "caption": caption, "figure_kind": figure_kind,
            **extra}


def _bullseye_figure(sm: SegmentValues, notes: list[str]) -> dict[str, Any] | None:
    from heartprint.report import _figures as F

    finite = [float(v) for v in sm.values.values() if v is not None and math.isfinite(float(v))]
    if not finite:
        return None
    lo, hi = sm.vmin, sm.vmax
    if hi is not None:
        hi = max(hi, max(finite))
    if lo is None and hi is None:
        # a scale from the data alone would paint a few ms of T1 noise as full-range contrast:
        # span at least ±5 % of the median
        mid = float(np.median(finite))
        half = max((max(finite) - min(finite)) / 2, 0.05 * abs(mid))
        centre = (max(finite) + min(finite)) / 2
        lo, hi = centre - half, centre + half
    d = decimals_for(sm.code, sm.unit)
    fmt = "{:.%df}" % (1 if d is None else d)
    label = plain_text(sm.label, numbers=False) or sm.code
    label = label[0].upper() + label[1:]
    return _figure(lambda: F.bullseye(dict(sm.values), label=label, cmap=sm.cmap, vmin=lo, vmax=hi, fmt=fmt),
                   f"AHA 17-segment map: {label}", f"Bull's-eye plot of {label} per AHA segment",
                   "AHA 17-segment model (Cerqueira 2002): basal ring outside, apex in the centre, anterior at "
                   "the top, septum on the left. Grey hatched segments have no value.", notes,
                   figure_kind="bullseye", code=sm.code)


def _overlay_figure(series: SeriesResult, notes: list[str]) -> dict[str, Any] | None:
    from heartprint.report import _figures as F

    fd = series.figure_data
    img, lab = series.image, series.labels
    if img is None or lab is None:
        missing = " and ".join(x for x, v in (("source images", img), ("label map", lab)) if v is None)
        notes.append(f"Segmentation overlays not drawn: the {missing} of this series were not available to the report.")
        return None
    phases = fd.get("phases") or {}
    if img.array.ndim != 4 or "lv_ed" not in phases or "lv_es" not in phases:
        notes.append("Segmentation overlays not drawn: the series has no end-diastolic and end-systolic phase.")
        return None
    ed, es = int(phases["lv_ed"]), int(phases["lv_es"])
    sl = F.choose_overlay_slices(lab.array, ed, fd.get("coverage"))
    if not sl:
        notes.append("Segmentation overlays not drawn: no left-ventricular cavity was segmented at end-diastole.")
        return None
    levels = list(sl)
    where = ", ".join(f"{k} (slice {v})" for k, v in sl.items())  # numbered as in the figure and the methods
    return _figure(lambda: F.overlay_figure(img, lab, phases={"ED": ed, "ES": es}, slices=sl),
                   "Segmentation overlays", "Segmentation contours on the cine images at end-diastole and end-systole",
                   "Automatic segmentation on the source images: LV endocardium, LV epicardium and RV endocardium "
                   f"at end-diastole (ED) and end-systole (ES); slices: {where}. Check the contours before using "
                   "the numbers.", notes, figure_kind="overlay", levels=levels)


def _series_figures(series: SeriesResult, notes: list[str]) -> list[dict[str, Any]]:
    """The figures of one analysed series, chosen by what its ``figure_data`` and
    ``segment_maps`` hold (never by its kind)."""
    from heartprint.report import _figures as F

    fd = series.figure_data or {}
    figs: list[dict[str, Any] | None] = []
    curves, phases = fd.get("curves"), fd.get("phases") or {}
    if isinstance(curves, Mapping) and curves.get("time_ms"):
        figs.append(_figure(lambda: F.volume_curves_figure(curves, phases), "Volume curves",
                            "LV and RV cavity volume against time with end-diastole and end-systole marked",
                            "Cavity volumes per phase (summation of discs); dashed lines mark end-diastole (ED), "
                            "dotted lines end-systole (ES).", notes, figure_kind="curves"))
    if fd.get("overlay"):
        figs.append(_overlay_figure(series, notes))
    for sm in series.segment_maps:
        figs.append(_bullseye_figure(sm, notes))
    if fd.get("lesions"):
        data = {"lesions": fd["lesions"], "agatston": series.global_values().get("cac_agatston")}
        img = series.image if series.image is not None and series.image.array.ndim == 3 else None
        figs.append(_figure(lambda: F.calcium_lesion_map(data, img), "Calcium lesion map",
                            "Coronary calcium lesions by artery", "Each lesion at its centroid, sized by its Agatston "
                            "score, coloured by artery.", notes, figure_kind="lesions"))
    if fd.get("vessels"):
        figs.append(_figure(lambda: F.stenosis_profile_figure({"vessels": fd["vessels"]}), "Stenosis profiles",
                            "Lumen diameter along each coronary artery", "Lumen and reference diameter along each "
                            "centreline; shaded: lesions with their diameter stenosis.", notes, figure_kind="stenosis"))
    return [f for f in figs if f is not None]


# -- series, QC, appendix --------------------------------------------------------------------


def _analyser(kind: str) -> Any:
    from heartprint.pipeline import analyser_for

    return analyser_for(kind)


def _series_label(series: SeriesResult, analyser: Any) -> str:
    title = analyser.title if analyser is not None else f"{series.kind.replace('_', ' ')} series"
    title = title[0].upper() + title[1:] if title else "Series"
    desc = plain_text(series.series_description, numbers=False)
    return f"{title} ({desc})" if desc else title


_SEVERITY_GROUPS = (
    ("error", "Errors", "The numbers of the series concerned should not be used."),
    ("warning", "Warnings", "Check the images and contours before using the numbers of the series concerned."),
    ("info", "For information", ""),
)


def _qc_sentence(q: QCFlag) -> str:
    msg = re.sub(r"^\s*" + re.escape(q.code) + r"\s*:\s*", "", q.message or "")  # the flag's code as a prefix
    return _sentence(msg) or _sentence(q.code)


def _model_rows(series: SeriesResult, label: str) -> list[dict[str, str]]:
    model = series.model or {}
    if not model:
        return []
    tta = model.get("test_time_augmentation")
    detail = f"sha256 {model.get('model_sha256') or 'unknown'}"
    detail += "".join(f"; ensemble member {m.get('file')} sha256 {m.get('sha256')}"
                      for m in model.get("ensemble") or [])
    if tta is not None:
        detail += f"; test-time augmentation {'on' if tta else 'off'}"
    return [{"what": f"segmentation model ({label})", "version": str(model.get("model") or "unknown"),
             "detail": detail}]


def _versions(analysed: Sequence[tuple[SeriesResult, str]]) -> list[dict[str, str]]:
    """heartprint, the segmentation models of the analysed (series, label) pairs, and the
    rendering packages."""
    rows = [{"what": "heartprint", "version": __version__, "detail": ""}]
    for s, label in analysed:
        rows += _model_rows(s, label)
    for mod in ("matplotlib", "weasyprint", "jinja2"):
        try:
            v = version(mod)
        except PackageNotFoundError:  # a missing optional package is reported as absent
            v = "not installed"
        rows.append({"what": f"{mod} (report rendering)", "version": v, "detail": ""})
    return rows


def _methods(glob: Sequence[Mapping[str, Any]], regional: Mapping[str, Mapping[str, Any]],
             series_method: str) -> list[dict[str, str]]:
    """Method text → the measurements it made (one line per distinct method, in order),
    leaving out methods that only repeat the series' method."""
    by_method: dict[str, list[str]] = {}
    items = [(r["name"], r["method"]) for r in glob]
    items += [(f"{g['name']} per segment", next(iter(g["values"].values()))["method"]) for g in regional.values()]
    for name, method in items:
        if method and method != series_method:
            names = by_method.setdefault(method, [])
            if name not in names:
                names.append(name)
    return [{"name": ", ".join(names), "method": method} for method, names in by_method.items()]


def _empty_section(sid: str, title: str, question: str) -> dict[str, Any]:
    return {"id": sid, "title": title, "question": question, "series": [], "findings": [], "not_assessable": [],
            "differential": [], "recommendations": [], "figures": [], "notes": [], "unanalysed": []}


def _feature_name(feature: str) -> str:
    """A risk model's feature in plain words: its concept's name, or the column name without underscores."""
    return _concept_name(feature) or {"age_years": "age", "sex_male": "male sex", "height_cm": "height",
                                      "weight_kg": "weight"}.get(feature, feature.replace("_", " "))


def _risk_section(risk: dict[str, Any] | None) -> dict[str, Any] | None:
    """The research risk model's answer in plain sentences (None when no model was given to ``analyze``)."""
    if not risk:
        return None
    status = risk.get("status")
    event = str(risk.get("event") or "the outcome").replace("_", " ")
    horizon, unit = risk.get("horizon"), str(risk.get("time_unit") or "").strip()
    when = f"within {horizon:g} {unit}".strip() if isinstance(horizon, (int, float)) else "by the model's horizon"
    out: dict[str, Any] = {"status": status, "lines": [], "contributions": [], "notes": []}
    perf = risk.get("performance") or {}
    if status == "assessed":
        pct = 100.0 * float(risk["risk"])
        line = f"Estimated probability of {event} {when}: {pct:.0f} %"
        if risk.get("risk_interval"):
            lo, hi = (100.0 * float(x) for x in risk["risk_interval"])
            line += f" (95 % interval {lo:.0f}–{hi:.0f} %)"
        out["lines"].append(line + ".")
        for c in risk.get("contributions") or []:
            value = c.get("value")
            shown = f"{value:.3g}" if isinstance(value, float) else ("–" if value is None else str(value))
            out["contributions"].append({"name": _feature_name(str(c["feature"])), "value": shown,
                                         "direction": "raises the risk" if c["direction"] == "raises" else "lowers the risk",
                                         "size": f"{float(c['contribution']):+.2f}"})
        if risk.get("contribution_unit"):
            out["notes"].append(f"Contribution: {risk['contribution_unit']}.")
    elif status == "not_assessable":
        missing = ", ".join(_feature_name(str(m)) for m in risk.get("missing") or [])
        out["lines"].append(f"The risk of {event} {when} is not assessable: the model needs {missing}, which this "
                            "patient's data do not give (nothing is imputed for one patient).")
    else:
        out["lines"].append(f"The risk model could not be applied: {_sentence(str(risk.get('message') or ''))}")
    if perf.get("harrell_c") is not None:
        ci = perf.get("harrell_c_ci95") or [None, None]
        ci_txt = f" (95 % interval {ci[0]:.2f}–{ci[1]:.2f})" if None not in ci else ""
        cox = perf.get("cox_harrell_c")
        out["notes"].append(f"Model discrimination in nested cross-validation: Harrell's C {perf['harrell_c']:.2f}{ci_txt}"
                            + (f"; plain Cox on the same folds {cox:.2f}" if cox is not None else "") + ".")
    if risk.get("intended_use"):
        out["notes"].append(f"Intended use: {_sentence(str(risk['intended_use']))}")
    return out


def build_report(result: StudyResult, *, figures: bool = True) -> dict[str, Any]:
    """The report's content (JSON-able apart from figure data URIs) from a typed study result.

    Parameters
    ----------
    result
        :class:`~heartprint.results.StudyResult` (from :func:`heartprint.pipeline.analyze`).
        Overlays use each series' ``image`` and ``labels``.
    figures
        Draw figures (PNG data URIs); ``False`` for a text-only report.

    Returns
    -------
    dict
        ``header`` (patient, this study, studies used), ``sections`` (by clinical question),
        ``not_analysed`` (series found but not analysed), ``qc`` (plain sentences grouped by
        severity), ``appendix`` (series UIDs, methods, software and model versions,
        references), ``disclaimer`` and notes.
    """
    if not isinstance(result, StudyResult):
        raise InvalidInputError(f"build_report: expected a heartprint.results.StudyResult, got {type(result).__name__}")
    refs = _Refs()
    interp = result.interpretation
    ann = _Annotations(interp)
    sections = {sid: _empty_section(sid, t, q) for sid, t, q in SECTIONS}
    qc_groups: dict[str, list[dict[str, str]]] = {sev: [] for sev, _, _ in _SEVERITY_GROUPS}
    not_analysed: list[str] = []
    appendix_series: list[dict[str, Any]] = []
    analysed: list[tuple[SeriesResult, str]] = []  # (series, label) for the model versions
    for s in result.series:
        analyser = _analyser(s.kind)
        label = _series_label(s, analyser)
        appendix_series.append({"label": label, "kind": s.kind, "uid": s.series_uid,
                                "status": s.status.replace("_", " "),
                                "message": plain_text(s.message, numbers=False), "seconds": f"{s.seconds:.1f}",
                                "method": plain_text(s.method, numbers=False), "methods": []})
        sec = sections.get(analyser.section) if analyser is not None else None
        if analyser is None or sec is None:
            why = ("no analysis for this kind of series yet" if s.status != "failed"
                   else _sentence(s.message).rstrip("."))
            not_analysed.append(f"{label}: {why}.")
            continue
        if s.status != "analysed":
            what = "could not be analysed" if s.status == "failed" else "was not analysed"
            msg = _sentence(s.message)
            sec["unanalysed"].append(f"The {label[0].lower() + label[1:]} series {what}" + (f": {msg}" if msg else "."))
            continue
        analysed.append((s, label))
        for q in s.qc:
            sev = Severity(q.severity).value
            qc_groups.setdefault(sev, []).append({"series": label, "text": _qc_sentence(q), "code": q.code})
        rows = [_measurement_row(m, ann, refs) for m in s.measurements]
        glob = [r for r in rows if r["segment"] is None and r["vessel"] is None]
        regional: dict[str, dict[str, Any]] = {}
        for r in rows:
            if r["segment"] is not None:
                name = _concept_name(r["code"]) or re.sub(r",?\s*segment\s+\d+\s*$", "", r["name"])
                name = name[0].upper() + name[1:]
                g = regional.setdefault(r["code"], {"name": name, "unit": r["unit"], "phase": r["phase"], "values": {}})
                g["values"][int(r["segment"])] = r
        figs = _series_figures(s, sec["notes"]) if figures else []
        appendix_series[-1]["methods"] = _methods(glob, regional, appendix_series[-1]["method"])
        sec["series"].append({
            "label": label, "kind": s.kind, "qc_status": s.qc_status, "measurements": glob,
            "groups": measurement_groups(s.measurements, glob),
            "summary": [t for t in (_sentence(x) for x in s.details.get("summary") or []) if t],
            "segmental": [dict(code=c, **g) for c, g in regional.items()], "figures": figs,
            "unverified": any(r["unverified"] for r in rows),
            "no_ranges": bool(glob) and not any(r["range"] for r in glob),
            "range_notes": _range_notes(glob),
        })
    if interp is not None:
        for f in interp.findings:
            sections[_finding_section(f.code, f.rule)]["findings"].append(_finding_item(f))
        for f in interp.not_assessable:
            sections[_finding_section(f.code, f.rule)]["not_assessable"].append(_finding_item(f))
        for f in interp.differential:
            sections["aetiology"]["differential"].append(_finding_item(f))
        for r in interp.recommendations:
            sections["recommendations"]["recommendations"].append(_recommendation_item(r))
    for sid, sec in sections.items():
        data = sec["series"] or sec["findings"] or sec["differential"] or sec["recommendations"]
        sec["assessed"] = bool(data)
        if data:
            sec["not_assessed"] = ""
            continue
        why = f"Not assessed: this study has no {_NEEDS[sid]}."
        if sid in ("aetiology", "recommendations"):
            if result.interpretation_error:
                why = "Not assessed: the interpretation of the measurements failed."
            elif interp is None:
                why = "Not assessed: the study's measurements were not interpreted."
            elif sid == "recommendations":
                why = ("No recommendation follows from the findings with the data given (the guideline rules ran; "
                       "see the items not assessable for what more would be needed).")
        sec["not_assessed"] = why
    qc = [{"severity": sev, "title": title, "advice": advice, "items": qc_groups.get(sev, [])}
          for sev, title, advice in _SEVERITY_GROUPS if qc_groups.get(sev)]
    n_flags = sum(len(g["items"]) for g in qc if g["severity"] in ("warning", "error"))
    interp_note = ""
    if result.interpretation_error:
        interp_note = f"The guideline interpretation failed: {_sentence(result.interpretation_error)}"
    elif interp is None:
        interp_note = "The measurements were not interpreted (no guideline rules were run)."
    history_uids = [{"label": " ".join(x for x in (h.date.isoformat() if h.date else "undated",
                                                   plain_text(h.description, numbers=False)) if x),
                     "uid": h.study_uid} for h in result.history]
    return {
        "title": "heartprint study report",
        "disclaimer": DISCLAIMER,
        "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "heartprint_version": __version__,
        "header": _header(result),
        "patient_facts": _patient_facts_section(result),
        "risk": _risk_section(result.risk),
        "sections": [sections[sid] for sid, _, _ in SECTIONS],
        "not_analysed": not_analysed,
        "qc": qc,
        "qc_flag_count": n_flags,
        "interpretation_note": interp_note,
        "notes": [t for t in map(_sentence, [*result.notes, *(getattr(interp, "notes", None) or [])]) if t],
        "appendix": {
            "source": str(result.source or ""),
            "study_uid": result.study.study_uid,
            "history": history_uids,
            "series": appendix_series,
            "skipped_files": len(result.skipped_files),
            "versions": _versions(analysed),
            "references": refs.items,
        },
    }

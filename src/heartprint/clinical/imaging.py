"""Imaging phenotype findings that need no symptoms, and contradictions between imaging inputs.

Each rule takes numbers (and the patient's sex and age, each possibly unknown) and returns one
:class:`~heartprint.measure.Finding` whose status is ``present``, ``absent`` or
``not_assessable``. A measurement is judged against the verified reference range for its
modality, method, sex and age (:func:`heartprint.clinical.reference_ranges.verdict`); where sex
or age is unknown, the rule decides only when every range the unknown could select gives the same
answer, and otherwise says what is missing and what each answer would give
(``details["would_be"]``). An unknown age ranges over every adult age (18 y and over), including
ages that no verified band covers, where the answer is "not assessable". No range is guessed: a
measurement without a verified range for its modality and method is ``not_assessable``, except
where a guideline gives a modality-independent band (LVEF below 41 %, the ASE/EACVI 2015
partition's abnormal bands).

How a value was measured is passed as ``acquisition``: the modality first (``"cmr"`` / ``"MR"``,
``"echo"`` / ``"US"``, ``"ct"``), then the method in words (``"echo 2d_biplane"``,
``"US biplane Simpson"``). Cine CMR is balanced SSFP (heartprint's cine analysis and the SSFP
reference studies), so any MR acquisition that does not name a gradient-echo cine is read as
``cmr ssfp`` (as :func:`heartprint.clinical.interpret.with_reference_ranges` does).

Rules
-----
* :func:`lv_systolic_dysfunction` — LVEF below the lower limit of normal; graded by the ASE/EACVI
  2015 severity partition, with the ESC 2021 EF category (a category, not a diagnosis of HF).
* :func:`lv_dilatation`, :func:`rv_dilatation` — end-diastolic volume (index) above the upper limit.
* :func:`lv_hypertrophy` — LV mass (index) above the upper limit; :func:`lv_geometry` — normal
  geometry, concentric remodelling, concentric or eccentric hypertrophy from RWT and mass index.
* :func:`rv_systolic_dysfunction` — RVEF below the lower limit.
* :func:`lge_presence` — LGE present or absent, with its segments and patterns (the ischaemic /
  non-ischaemic pattern findings themselves are :func:`heartprint.clinical.multimodality.lge_findings`).
* :func:`native_t1_abnormal`, :func:`t2_abnormal`, :func:`ecv_abnormal` — outside the site's
  normal range (mapping values are sequence-, vendor- and field-specific: no range, no verdict).
* :func:`ef_volume_contradictions`, :func:`repeated_measurement_contradictions`,
  :func:`input_contradictions` — inputs that contradict each other (``input_contradiction``).

The HCM wall-thickness criterion is :func:`heartprint.clinical.tissue.hcm_wall_thickness`.

Citations
---------
* Lang RM, Badano LP, Mor-Avi V, et al. Recommendations for cardiac chamber quantification by
  echocardiography in adults: an update from the ASE and EACVI. J Am Soc Echocardiogr
  2015;28:1-39. doi:10.1016/j.echo.2014.10.003. Table 4: LVEF normal 52–72 % (men), 54–74 %
  (women); mildly abnormal 41–51 % (men) / 41–53 % (women), moderately 30–40 %, severely <30 %
  (✅S, clinical_reference.md §10b). RWT >0.42 = concentric; with LV mass index: normal geometry,
  concentric remodelling, concentric / eccentric hypertrophy (✅S). EF = (EDV − ESV) / EDV.
* McDonagh TA, et al. 2021 ESC Guidelines for the diagnosis and treatment of acute and chronic
  heart failure. Eur Heart J 2021;42:3599-3726. doi:10.1093/eurheartj/ehab368. Table 3: LVEF
  ≤40 % reduced, 41–49 % mildly reduced, ≥50 % (✅P); HF itself needs symptoms ± signs. Table 9:
  RWT >0.42 (✅P).
* Messroghli DR, et al. Clinical recommendations for CMR mapping of T1, T2, T2* and ECV (SCMR,
  endorsed by EACVI). J Cardiovasc Magn Reson 2017;19:75. doi:10.1186/s12968-017-0389-8 (✅S):
  mapping values depend on sequence, field strength and vendor; judged against local normal values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from heartprint.clinical import _validate as v
from heartprint.clinical import reference_ranges as _rr
from heartprint.clinical._registry import provenance
from heartprint.clinical.multimodality import CITATION_LGE, ISCHAEMIC_LGE_PATTERNS, NON_ISCHAEMIC_LGE_PATTERNS
from heartprint.errors import InvalidInputError
from heartprint.measure import Finding, Measurement, ReferenceRange

__all__ = [
    "ADULT_AGES", "ASE_MILD_FROM", "ASE_MODERATE_MAX", "ASE_SEVERE_BELOW", "EF_TOLERANCE_POINTS", "ESC_PRESERVED_MIN",
    "ESC_REDUCED_MAX", "RWT_CONCENTRIC",
    "ecv_abnormal", "ef_volume_contradictions", "input_contradictions", "lge_presence", "lv_dilatation", "lv_geometry",
    "lv_hypertrophy", "lv_systolic_dysfunction", "native_t1_abnormal", "reference_method",
    "repeated_measurement_contradictions", "rv_dilatation", "rv_systolic_dysfunction", "t2_abnormal",
]

CITATION_LANG2015 = (
    "Lang RM, Badano LP, Mor-Avi V, et al. Recommendations for cardiac chamber quantification by echocardiography in "
    "adults: an update from the ASE and EACVI. J Am Soc Echocardiogr 2015;28:1-39. doi:10.1016/j.echo.2014.10.003"
)
CITATION_ESC_HF_2021 = (
    "McDonagh TA, et al. 2021 ESC Guidelines for the diagnosis and treatment of acute and chronic heart failure. "
    "Eur Heart J 2021;42:3599-3726. doi:10.1093/eurheartj/ehab368"
)
CITATION_MAPPING = (
    "Messroghli DR, et al. Clinical recommendations for cardiovascular magnetic resonance mapping of T1, T2, T2* and "
    "extracellular volume: a consensus statement by the SCMR endorsed by the EACVI. J Cardiovasc Magn Reson "
    "2017;19:75. doi:10.1186/s12968-017-0389-8 (values are sequence-, field- and vendor-specific: judged against the "
    "site's normal range)"
)

#: ASE/EACVI 2015 Table 4 LVEF severity partition (%), ✅S: severely abnormal <30, moderately
#: 30–40, mildly 41–51 (men) / 41–53 (women). Real-valued LVEF is split at 40 as in the ESC bands
#: (≤40 moderately or severely abnormal); 40 < LVEF < the lower limit of normal is mildly abnormal.
ASE_SEVERE_BELOW = 30.0
ASE_MODERATE_MAX = 40.0
#: Start of the partition's mildly abnormal band (both sexes): any LVEF below it is abnormal whatever
#: the sex, age and modality (below every normal range).
ASE_MILD_FROM = 41.0
#: ESC 2021 HF Table 3 LVEF categories (%), ✅P: ≤40 reduced, 41–49 mildly reduced, ≥50 preserved
#: (split at 40 and 50 for real values, as :mod:`heartprint.clinical.heart_failure` does).
ESC_REDUCED_MAX = 40.0
ESC_PRESERVED_MIN = 50.0
#: Lang 2015 / ESC 2021 Table 9: relative wall thickness >0.42 is concentric (✅S / ✅P).
RWT_CONCENTRIC = 0.42
#: LVEF stated with volumes of the same source may differ from 100·(EDV−ESV)/EDV by rounding only.
#: Reported to 1 % (EF) and 1 mL (volumes), the worst case is 0.5 + 50·(1/EDV + ESV/EDV²) points,
#: ≤2.5 for EDV ≥50 mL; 3 points clears it, and a larger difference means the EF was not computed
#: from these volumes (other contours, phases or software). For smaller volumes the rounding bound
#: itself is used when it is larger.
EF_TOLERANCE_POINTS = 3.0

_RULE = "heartprint.clinical.imaging"
#: Ages (completed years) an unknown age could take. The reference ranges and these rules are for
#: adults (18 y and over, as in :mod:`heartprint.clinical.reference_ranges`); an unknown age is
#: decided only when every adult age gives the same answer, including ages that no verified band
#: covers (where the answer is "not assessable").
ADULT_AGES = tuple(range(18, 121))
_SEXES = ("male", "female")
_MR = {"mr", "cmr", "mri"}
_US = {"us", "echo", "tte", "2de"}
_CT = {"ct"}


# -- reference ranges -----------------------------------------------------------------------------


def reference_method(code: str, acquisition: str | None) -> tuple[str, str] | None:
    """(modality, method) key of the verified reference tables for ``code`` measured by ``acquisition``.

    ``acquisition`` is the modality (``cmr``/``MR``, ``echo``/``US``, ``ct``) followed by the method
    in words. Returns ``None`` when it names no modality or a method the tables do not hold.
    """
    if acquisition is None:
        return None
    if not isinstance(acquisition, str):
        raise InvalidInputError(f"acquisition={acquisition!r}: expected text naming the modality and method, "
                                  "e.g. 'cmr ssfp' or 'echo 2d_biplane'")
    parts = acquisition.strip().split(None, 1)
    if not parts:
        return None
    mod, text = parts[0].lower(), (parts[1].lower() if len(parts) > 1 else "")
    if mod in _MR:
        if any(w in text for w in ("flash", "gradient echo", "gradient-echo", "spoiled")):
            return None  # SSFP and gradient-echo cine volumes differ (Alfakih 2003): no table for GRE
        return ("cmr", "ssfp")
    if mod in _US:
        if "biplane" in text:
            return ("echo", "2d_biplane")
        if "linear" in text:
            return ("echo", "linear")
        if text.split() in (["2d"], ["2d", "method"]) or (code == "lavi" and "3d" not in text):
            return ("echo", "2d")
        return None
    if mod in _CT:
        return ("ct", text.split()[0]) if text else None
    return None


_TECHNIQUE = {("cmr", "ssfp"): "CMR cine (balanced SSFP)", ("echo", "2d_biplane"): "2D echo (biplane)",
              ("echo", "2d"): "2D echo", ("echo", "linear"): "echo (linear method)"}
_MODALITY = {**dict.fromkeys(_MR, "CMR"), **dict.fromkeys(_US, "echo"), **dict.fromkeys(_CT, "CT")}


def _describe(acquisition: str | None, code: str = "") -> str:
    """The modality and method in plain words (never the free method text)."""
    if acquisition is None or not acquisition.split():
        return "an unstated modality and method"
    key = reference_method(code, acquisition)
    if key in _TECHNIQUE:
        return _TECHNIQUE[key]
    mod = acquisition.split()[0]
    name = _MODALITY.get(mod.lower())
    if name is None:
        return f"modality {mod!s}"
    return f"{name} ({'a method without a verified range' if len(acquisition.split()) > 1 else 'method not stated'})"


@dataclass(frozen=True)
class _Compared:
    """A value against every range its unknowns (sex, age band) could select."""

    outcome: bool | None  # True abnormal for every range, False normal for every range, None undecided
    ranges: tuple[tuple[str, ReferenceRange], ...] = ()
    would_be: dict[str, bool | None] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    reason: str = ""
    technique: str = ""  # the modality and method in plain words

    @property
    def limits(self) -> dict[str, dict[str, Any]]:
        return {label: {"low": _r(rr.low), "high": _r(rr.high), "population": rr.population, "reference": rr.reference}
                for label, rr in self.ranges}


def _r(x: float | None) -> float | None:
    return None if x is None else round(float(x), 2)


def _fmt(x: float) -> str:
    return f"{round(float(x), 1):g}"


def _ranges(value: float, code: str, sex: str | None, age: float | None,
            key: tuple[str, str]) -> tuple[list[tuple[str, ReferenceRange]], tuple[str, ...], str]:
    """(every range the unknowns could select, labelled by who it is for; what would narrow them; the
    verdict's reason) from :func:`heartprint.clinical.reference_ranges.verdict`."""
    vd = _rr.verdict(value, code, sex=sex, age=age, modality=key[0], method=key[1])
    if vd is None:
        return [], (), ""
    labels = [label for label, _ in vd.would_be]
    ranges = list(vd.candidates) or ([vd.range] if vd.range is not None else [])
    if len(labels) != len(ranges):
        labels = [rr.population or f"range {i + 1}" for i, rr in enumerate(ranges)]
    return list(zip(labels, ranges)), tuple(vd.missing), vd.reason


def _compare(value: float, code: str, direction: str, *, sex: str | None, age: float | None,
             acquisition: str | None) -> _Compared:
    """Is ``value`` below (``direction="low"``) / above (``"high"``) every range that could apply?"""
    key = reference_method(code, acquisition)
    technique = _describe(acquisition, code)
    if key is None:
        return _Compared(None, reason=f"no verified reference range for {technique}", technique=technique)
    pairs, missing, reason = _ranges(value, code, sex, age, key)
    reason = reason.split(": ", 1)[1] if ": " in reason else reason  # the verdict names the value first
    if not pairs:
        return _Compared(None, missing=missing, reason=reason.rstrip(".") or f"no verified reference range for {technique}",
                         technique=technique)
    would_be: dict[str, bool | None] = {}
    for label, rr in pairs:
        limit = rr.low if direction == "low" else rr.high
        would_be[label] = None if limit is None else (value < limit if direction == "low" else value > limit)
    outs = set(would_be.values())
    outcome = outs.pop() if len(outs) == 1 and None not in outs else None
    if outcome is None and not missing:
        missing = tuple(n for n, x in (("sex", sex), ("age", age)) if x is None) if len(pairs) > 1 else ()
    if age is None:
        gaps = _uncovered_ages(code, key, sex)
        if gaps:  # at these adult ages there is no verified range: the answer would be "not assessable"
            would_be[f"age {gaps}"] = None
            outcome, missing = None, tuple(dict.fromkeys((*missing, "age")))
    return _Compared(outcome, tuple(pairs), would_be, tuple(missing) if outcome is None else (), reason, technique)


@lru_cache(maxsize=256)
def _uncovered_ages(code: str, key: tuple[str, str], sex: str | None) -> str:
    """Adult ages (completed years, :data:`ADULT_AGES`) at which no verified range applies to ``code``
    by ``key`` for ``sex`` (either sex when unknown), as text ("18–44 y, 75 y and over"); "" if none."""
    gaps = [a for a in ADULT_AGES if not _ranges(0.0, code, sex, float(a), key)[0]]
    spans: list[list[int]] = []
    for a in gaps:
        if spans and spans[-1][1] == a - 1:
            spans[-1][1] = a
        else:
            spans.append([a, a])
    last = ADULT_AGES[-1]
    return ", ".join(f"{lo} y and over" if hi == last else f"{lo}–{hi} y" if hi > lo else f"{lo} y" for lo, hi in spans)


def _sex(sex: Any) -> str | None:
    return None if sex is None else v.choice("sex", sex, _SEXES)


def _age(age: Any) -> float | None:
    return v.optional("age", age, 0, 120, unit="years")


def _needs(c: _Compared, what: str, acquisition: str | None) -> list[str]:
    """Plain words for what an undecided comparison needs."""
    if c.missing:
        return list(c.missing)
    if c.ranges:
        return [f"a reference range that decides the {what}"]
    if acquisition is None:
        return [f"the modality and method of the {what} measurement"]
    return [f"a verified reference range for the {what} by {c.technique or _describe(acquisition)}"]


def _cite_ranges(c: _Compared) -> str:
    refs = sorted({rr.reference for _, rr in c.ranges if rr.reference})
    return "; ".join(refs)


def _limits_text(c: _Compared, direction: str, unit: str) -> str:
    parts = []
    for label, rr in c.ranges:
        limit = rr.low if direction == "low" else rr.high
        if limit is not None:
            parts.append(f"{_fmt(limit)} {unit} for {label}" if len(c.ranges) > 1 else f"{_fmt(limit)} {unit}")
    return ", ".join(parts)


# -- LV / RV function ----------------------------------------------------------------------------


def _esc_category(ef: float) -> str:
    if ef <= ESC_REDUCED_MAX:
        return "reduced (≤40 %)"
    if ef < ESC_PRESERVED_MIN:
        return "mildly reduced (41–49 %)"
    return "preserved (≥50 %)"


def lv_systolic_dysfunction(lvef: float, *, sex: str | None = None, age: float | None = None,
                            acquisition: str | None = None) -> Finding:
    """LV systolic dysfunction from LVEF, graded, with the ESC 2021 EF category.

    Present when LVEF is below the lower limit of normal of the verified range for its modality,
    method, sex and age band. LVEF ≤40 % is present whatever the sex, age and modality (below every
    lower limit; moderately or severely abnormal in the ASE/EACVI 2015 partition), and so is any
    LVEF below 41 %, the start of the partition's mildly abnormal band. Graded by Lang 2015 Table 4
    (severely <30 %, moderately 30–40 %, mildly 41 % to the lower limit of normal: 51 % men / 53 %
    women on 2D echo; on CMR the verified CMR limit). The ESC 2021 Table 3 EF category (≤40 %
    reduced, 41–49 % mildly reduced, ≥50 %) is stated as an EF category: a diagnosis of heart
    failure needs symptoms ± signs.

    Parameters
    ----------
    lvef
        LV ejection fraction, %.
    sex, age
        ``"male"`` / ``"female"`` and years; ``None`` = unknown.
    acquisition
        Modality and method (see the module docstring); ``None`` = unknown.
    """
    ef = v.number("lvef", lvef, 0, 100, unit="%")
    sex, age = _sex(sex), _age(age)
    esc = _esc_category(ef)
    c = _compare(ef, "lv_ef", "low", sex=sex, age=age, acquisition=acquisition)
    given = {"lvef": {"value": ef, "unit": "%", **({"acquisition": acquisition} if acquisition is not None else {})}}
    details: dict[str, Any] = {
        "esc_2021_ef_category": esc,
        "esc_2021_bands_percent": {"reduced_max": ESC_REDUCED_MAX, "preserved_min": ESC_PRESERVED_MIN},
        "ase_2015_partition_percent": {"severely_abnormal_below": ASE_SEVERE_BELOW, "moderately_abnormal_max": ASE_MODERATE_MAX,
                                       "mildly_abnormal_from": ASE_MILD_FROM, "normal_from_2d_echo": {"male": 52.0, "female": 54.0}},
        "reference_ranges": c.limits,
    }
    cite = (f"{CITATION_LANG2015}, Table 4 (LVEF severity partition); {CITATION_ESC_HF_2021}, Table 3 (EF categories)"
            + (f"; reference range: {_cite_ranges(c)}" if c.ranges else ""))
    not_hf = "an EF category, not a diagnosis of heart failure (that needs symptoms ± signs)"
    rule = f"{_RULE}.lv_systolic_dysfunction"
    def decided(status: str, grade: str, basis: str, text: str) -> Finding:
        details.update(grade=grade, basis=basis)
        tail = f"ESC 2021 EF category {esc}" + (f", {not_hf}" if status == "present" else "")
        return Finding(code="lv_systolic_dysfunction", status=status, rule=rule, citation=cite,
                       statement=f"LVEF {_fmt(ef)} %: {text}; {tail}", inputs=given, details=details)

    if ef < ASE_MILD_FROM:
        grade = "severely" if ef < ASE_SEVERE_BELOW else "moderately" if ef <= ASE_MODERATE_MAX else "mildly"
        return decided("present", f"{grade} abnormal", "ASE/EACVI 2015 severity partition (below every lower limit of normal)",
                       f"{grade} reduced LV systolic function (ASE/EACVI 2015 grade: {grade} abnormal)")
    if c.outcome is True:
        return decided("present", "mildly abnormal", "below the lower limit of normal",
                       f"mildly reduced LV systolic function (below the lower limit of normal, {_limits_text(c, 'low', '%')})")
    if c.outcome is False:
        return decided("absent", "normal", "at or above the lower limit of normal",
                       f"no LV systolic dysfunction (at or above the lower limit of normal, {_limits_text(c, 'low', '%')})")
    details["would_be"] = {k: {True: "present (mildly abnormal)", False: "absent", None: "not assessable"}[x]
                           for k, x in c.would_be.items()}
    missing = _needs(c, "LV ejection fraction", acquisition)
    why = (f"lower limit of normal {_limits_text(c, 'low', '%')}" if c.ranges else c.reason)
    return Finding(code="lv_systolic_dysfunction", status="not_assessable", rule=rule, citation=cite,
                   statement=f"LVEF {_fmt(ef)} %: LV systolic dysfunction not assessable ({why}): needs {', '.join(missing)}; "
                             f"ESC 2021 EF category {esc}",
                   inputs=given, missing=missing, details=details)


def _judged(value: float, c: _Compared, direction: str, *, name: str, short: str, unit: str, code: str, param: str,
            acquisition: str | None, present: str, absent: str, topic: str, rule: str, citation: str = "",
            details: dict[str, Any] | None = None) -> Finding:
    """The finding for ``value`` compared by ``c``: present outside every range that could apply,
    absent inside every one, otherwise not assessable naming what is missing and what each would give."""
    d = {"measure": param, "limit": "lower" if direction == "low" else "upper", "reference_ranges": c.limits, **(details or {})}
    cite = "; ".join(x for x in (citation, f"reference range: {_cite_ranges(c)}" if c.ranges else "") if x) or (
        "verified reference ranges of heartprint.clinical.reference_ranges (none applies to this measurement)")
    lim = _limits_text(c, direction, unit)
    inputs: dict[str, Any] = {param: {"value": value, "unit": unit.replace("²", "2")}}  # UCUM in inputs
    if acquisition is not None:
        inputs[param]["acquisition"] = acquisition
    if c.outcome is not None:
        return Finding(code=code, status="present" if c.outcome else "absent", rule=rule, citation=cite,
                       statement=f"{short} {_fmt(value)} {unit}: " + (present if c.outcome else absent).format(lim=lim),
                       inputs=inputs, details=d)
    d["would_be"] = {k: {True: "present", False: "absent", None: "not assessable"}[x] for k, x in c.would_be.items()}
    missing = _needs(c, name, acquisition)
    why = f"{d['limit']} limit of normal {lim}" if c.ranges else c.reason
    return Finding(code=code, status="not_assessable", rule=rule, citation=cite,
                   statement=f"{short} {_fmt(value)} {unit}: {topic} not assessable ({why}): needs {', '.join(missing)}",
                   inputs=inputs, missing=missing, details=d)


def rv_systolic_dysfunction(rv_ef: float, *, sex: str | None = None, age: float | None = None,
                            acquisition: str | None = None) -> Finding:
    """RV systolic dysfunction: RVEF below the lower limit of normal of the verified range for its
    modality, method, sex and age band.

    No modality-independent RVEF band is carried, so without a verified range (or with sex / age
    unknown where the ranges differ across the value) the finding is not assessable.

    Parameters
    ----------
    rv_ef
        RV ejection fraction, %.
    sex, age, acquisition
        As for :func:`lv_systolic_dysfunction`.
    """
    ef = v.number("rv_ef", rv_ef, 0, 100, unit="%")
    sex, age = _sex(sex), _age(age)
    c = _compare(ef, "rv_ef", "low", sex=sex, age=age, acquisition=acquisition)
    return _judged(ef, c, "low", name="RV ejection fraction", short="RVEF", unit="%", code="rv_systolic_dysfunction",
                   param="rv_ef", acquisition=acquisition, topic="RV systolic dysfunction",
                   present="RV systolic dysfunction (below the lower limit of normal, {lim})",
                   absent="no RV systolic dysfunction (at or above the lower limit of normal, {lim})",
                   rule=f"{_RULE}.rv_systolic_dysfunction")


# -- size and mass: indexed value first, absolute when there is no index --------------------------


@dataclass(frozen=True)
class _Measure:
    code: str
    name: str
    short: str
    unit: str


def _size_finding(indexed: tuple[_Measure, float | None, str | None], absolute: tuple[_Measure, float | None, str | None],
                  direction: str, *, sex: Any, age: Any, code: str, topic: str, present: str, absent: str, rule: str,
                  citation: str = "") -> Finding:
    """The finding from the BSA-indexed value and/or the absolute value, each against its own verified
    range. Either one decides when the other is absent or undecided; when both decide and disagree the
    finding is not assessable and names both (never a silent choice of one)."""
    sex, age = _sex(sex), _age(age)
    compared: list[tuple[_Measure, float, str | None, _Compared]] = []
    for (m, value, acq), high in ((indexed, 1000.0), (absolute, 2000.0)):
        if value is not None:
            x = v.number(m.code, value, 0, high, unit=m.unit, low_open=True)
            compared.append((m, x, acq, _compare(x, m.code, direction, sex=sex, age=age, acquisition=acq)))
    if not compared:
        need = f"{indexed[0].name} or {absolute[0].name}"
        return Finding(code=code, status="not_assessable", rule=rule, citation=citation or CITATION_LANG2015,
                       statement=f"{topic} not assessable: needs {need}", missing=[need])
    decided = [t for t in compared if t[3].outcome is not None]
    if len({t[3].outcome for t in decided}) > 1:
        return _size_disagreement(decided, direction, code=code, topic=topic, rule=rule, citation=citation)
    m, x, acq, c = decided[0] if decided else next((t for t in compared if t[3].ranges), compared[0])
    details: dict[str, Any] = {"used": m.code, "indexed_to_bsa": m is indexed[0]}
    others = [t for t in compared if t[0] is not m]
    if others:
        om, ox, _, oc = others[0]
        details["other"] = {"measure": om.code, "value": ox, "reference_ranges": oc.limits,
                            "verdict": {True: "abnormal", False: "normal", None: "not decided"}[oc.outcome]}
        if oc.outcome is None and not oc.ranges:
            details["other"]["reason"] = oc.reason
    return _judged(x, c, direction, name=m.name, short=m.short, unit=m.unit, code=code, param=m.code, acquisition=acq,
                   topic=topic, present=present, absent=absent, rule=rule, citation=citation, details=details)


def _size_disagreement(decided: list[tuple[_Measure, float, str | None, _Compared]], direction: str, *, code: str,
                       topic: str, rule: str, citation: str) -> Finding:
    word = "above the upper" if direction == "high" else "below the lower"
    ok = "at or below the upper" if direction == "high" else "at or above the lower"

    def says(m: _Measure, x: float, c: _Compared) -> str:
        return f"{m.short} {_fmt(x)} {m.unit} is {word if c.outcome else ok} limit of normal ({_limits_text(c, direction, m.unit)})"

    (mi, xi, _, ci), (ma, xa, _, ca) = decided
    cite = "; ".join(x for x in (citation, f"reference ranges: {_cite_ranges(ci)}; {_cite_ranges(ca)}") if x)
    need = f"an {mi.name} and {ma.name} that agree (check height, weight and BSA)"
    return Finding(
        code=code, status="not_assessable", rule=rule, citation=cite, missing=[need],
        statement=f"{topic} not assessable: the indexed and absolute values disagree: {says(mi, xi, ci)}, but "
                  f"{says(ma, xa, ca)}",
        inputs={m.code: {"value": x, "unit": m.unit.replace("²", "2")} for m, x, _, _ in decided},
        details={"contradiction": {m.code: {"value": x, "abnormal": c.outcome, "reference_ranges": c.limits}
                                   for m, x, _, c in decided}},
    )


_LV_EDVI = _Measure("lv_edvi", "LV end-diastolic volume index", "LV end-diastolic volume index", "mL/m²")
_LV_EDV = _Measure("lv_edv", "LV end-diastolic volume", "LV end-diastolic volume", "mL")
_RV_EDVI = _Measure("rv_edvi", "RV end-diastolic volume index", "RV end-diastolic volume index", "mL/m²")
_RV_EDV = _Measure("rv_edv", "RV end-diastolic volume", "RV end-diastolic volume", "mL")
_LV_MASSI = _Measure("lv_massi", "LV mass index", "LV mass index", "g/m²")
_LV_MASS = _Measure("lv_mass", "LV mass", "LV mass", "g")


def lv_dilatation(lv_edvi: float | None = None, lv_edv: float | None = None, *, sex: str | None = None,
                  age: float | None = None, edvi_acquisition: str | None = None,
                  edv_acquisition: str | None = None) -> Finding:
    """LV dilatation: LV end-diastolic volume index (mL/m²) above the upper limit of normal of the
    verified range for its modality, method, sex and age band, and the absolute end-diastolic volume
    (mL) against its own range. Either decides when the other is not measured or not decided; when
    both decide and disagree (a large or small body, or a wrong BSA) the finding is not assessable
    and names both values.

    Parameters
    ----------
    lv_edvi, lv_edv
        LV end-diastolic volume indexed to BSA (mL/m²) and absolute (mL); ``None`` = not measured.
    sex, age
        ``"male"`` / ``"female"`` and years; ``None`` = unknown.
    edvi_acquisition, edv_acquisition
        Modality and method of each (see the module docstring).
    """
    return _size_finding((_LV_EDVI, lv_edvi, edvi_acquisition), (_LV_EDV, lv_edv, edv_acquisition), "high", sex=sex,
                         age=age, code="lv_dilatation", topic="LV dilatation",
                         present="LV dilated (above the upper limit of normal, {lim})",
                         absent="LV not dilated (at or below the upper limit of normal, {lim})",
                         rule=f"{_RULE}.lv_dilatation")


def rv_dilatation(rv_edvi: float | None = None, rv_edv: float | None = None, *, sex: str | None = None,
                  age: float | None = None, edvi_acquisition: str | None = None,
                  edv_acquisition: str | None = None) -> Finding:
    """RV dilatation: RV end-diastolic volume index and/or absolute volume above the upper limit of
    normal of the verified range for its modality, method, sex and age band (as :func:`lv_dilatation`)."""
    return _size_finding((_RV_EDVI, rv_edvi, edvi_acquisition), (_RV_EDV, rv_edv, edv_acquisition), "high", sex=sex,
                         age=age, code="rv_dilatation", topic="RV dilatation",
                         present="RV dilated (above the upper limit of normal, {lim})",
                         absent="RV not dilated (at or below the upper limit of normal, {lim})",
                         rule=f"{_RULE}.rv_dilatation")


def lv_hypertrophy(lv_massi: float | None = None, lv_mass: float | None = None, *, sex: str | None = None,
                   age: float | None = None, massi_acquisition: str | None = None,
                   mass_acquisition: str | None = None) -> Finding:
    """LV hypertrophy: LV mass index (g/m²) above the upper limit of normal of the verified range for
    its modality, method, sex and age band, and/or the absolute LV mass (g) against its range (as
    :func:`lv_dilatation`: when both decide and disagree, not assessable naming both). Echo linear-method limits are Lang 2015 (115 g/m² men, 95 g/m² women); CMR limits are the
    SSFP rows of :mod:`heartprint.clinical.reference_ranges`. Maximal wall thickness (HCM) is
    :func:`heartprint.clinical.tissue.hcm_wall_thickness`.
    """
    return _size_finding((_LV_MASSI, lv_massi, massi_acquisition), (_LV_MASS, lv_mass, mass_acquisition), "high",
                         sex=sex, age=age, code="lv_hypertrophy", topic="LV hypertrophy",
                         present="LV hypertrophy (LV mass above the upper limit of normal, {lim})",
                         absent="no LV hypertrophy (LV mass at or below the upper limit of normal, {lim})",
                         rule=f"{_RULE}.lv_hypertrophy", citation=f"{CITATION_LANG2015} (LV mass)")


def lv_geometry(rwt: float | None = None, *, lv_massi: float | None = None, sex: str | None = None,
                age: float | None = None, massi_acquisition: str | None = None) -> Finding:
    """LV geometry from relative wall thickness and LV mass index (Lang 2015).

    RWT >0.42 is concentric (Lang 2015; ESC 2021 Table 9). With LV mass index above the upper limit
    of normal (the verified range for its modality, method, sex and age band): concentric hypertrophy
    (RWT >0.42) or eccentric hypertrophy (RWT ≤0.42); with a normal mass index: concentric remodelling
    (RWT >0.42) or normal geometry. ``present`` means abnormal geometry, ``absent`` normal geometry;
    ``details["category"]`` names it. Without a mass index that decides (not measured, no verified
    range, or sex / age needed) the category is not assessable, and ``would_be`` says what each
    answer would give (with RWT >0.42: concentric remodelling or concentric hypertrophy).

    Parameters
    ----------
    rwt
        Relative wall thickness (2 × posterior wall / LV end-diastolic diameter, dimensionless);
        ``None`` = not measured (geometry not assessable: no CMR concentricity cut-off is carried).
    lv_massi
        LV mass index, g/m²; ``None`` = not measured.
    sex, age, massi_acquisition
        As for :func:`lv_hypertrophy`.
    """
    sex, age = _sex(sex), _age(age)
    rule, code = f"{_RULE}.lv_geometry", "lv_geometry"
    cite = (f"{CITATION_LANG2015} (RWT >0.42 with LV mass index: normal geometry, concentric remodelling, concentric / "
            f"eccentric hypertrophy); {CITATION_ESC_HF_2021}, Table 9 (RWT >0.42)")
    if rwt is None:
        need = "relative wall thickness"
        return Finding(code=code, status="not_assessable", rule=rule, citation=cite, missing=[need],
                       statement=f"LV geometry (concentric or eccentric) not assessable: needs {need}",
                       details={"rwt_threshold": RWT_CONCENTRIC})
    r = v.number("rwt", rwt, 0, 2, unit="", low_open=True)
    concentric = r > RWT_CONCENTRIC
    inputs: dict[str, Any] = {"rwt": {"value": r, "unit": "1"}}
    details: dict[str, Any] = {"rwt_threshold": RWT_CONCENTRIC, "concentric": concentric}

    def category(increased: bool) -> str:
        return ("concentric hypertrophy" if increased else "concentric remodelling") if concentric else \
            ("eccentric hypertrophy" if increased else "normal geometry")

    rwt_text = f"RWT {r:.2f} ({'>' if concentric else '≤'}{RWT_CONCENTRIC:.2f})"
    if lv_massi is None:
        increased, c = None, None
        would_be = {"LV mass index increased": category(True), "LV mass index not increased": category(False)}
        missing = ["LV mass index"]
    else:
        mi = v.number("lv_massi", lv_massi, 0, 1000, unit="g/m2", low_open=True)
        inputs["lv_massi"] = {"value": mi, "unit": "g/m2"}
        c = _compare(mi, "lv_massi", "high", sex=sex, age=age, acquisition=massi_acquisition)
        details["reference_ranges"] = c.limits
        if c.ranges:
            cite += f"; reference range: {_cite_ranges(c)}"
        increased = c.outcome
        would_be = {k: (category(x) if x is not None else "not assessable") for k, x in c.would_be.items()}
        missing = _needs(c, "LV mass index", massi_acquisition)
        rwt_text += f", LV mass index {_fmt(mi)} g/m²"
        if increased is not None:
            rwt_text += f" ({'above' if increased else 'at or below'} the upper limit of normal, {_limits_text(c, 'high', 'g/m²')})"
    if increased is not None:
        cat = category(increased)
        details["category"] = cat
        return Finding(code=code, status="absent" if cat == "normal geometry" else "present", rule=rule, citation=cite,
                       statement=f"{rwt_text}: {'normal LV geometry' if cat == 'normal geometry' else cat}",
                       inputs=inputs, details=details)
    details["would_be"] = would_be
    options = "concentric remodelling or concentric hypertrophy" if concentric else "normal geometry or eccentric hypertrophy"
    return Finding(code=code, status="not_assessable", rule=rule, citation=cite,
                   statement=f"{rwt_text}: LV geometry not assessable ({options}): needs {', '.join(missing)}",
                   inputs=inputs, missing=missing, details=details)


# -- LGE ------------------------------------------------------------------------------------------


def lge_presence(segments: Mapping[int, Any] | None = None, *, lge_extent: float | None = None) -> Finding:
    """LGE present or absent, with its segments and patterns.

    Present when any AHA segment has LGE (transmural extent >0 %), or, without a positive segment,
    when the global LGE extent (% of LV mass) is >0. Absent when the global extent is 0 % with no
    positive segment, or when all 17 segments are reported at 0 %. Otherwise (some segments not
    reported, no global extent) not assessable, naming the segments. Segments and global extent that
    contradict each other (LGE in a segment with a global extent of 0 %, or none in all 17 segments
    with a global extent >0 %) are not assessable, naming both (``details["contradiction"]``). Patterns are named as in
    :mod:`heartprint.clinical.multimodality` (subendocardial / transmural: ischaemic; mid-wall,
    epicardial, RV insertion, diffuse, patchy: non-ischaemic), whose ``lge_ischaemic_pattern`` /
    ``lge_non_ischaemic_pattern`` findings this one does not repeat.

    Parameters
    ----------
    segments
        AHA segment (1–17) → LGE transmural extent (%), or → (extent %, pattern or ``None``).
    lge_extent
        Global LGE extent, % of LV mass; ``None`` = not measured.
    """
    segs: dict[int, tuple[float, str | None]] = {}
    for s, val in (segments or {}).items():
        seg = v.integer("segment", s, 1, 17)
        value, pattern = (val if isinstance(val, tuple) else (val, None))
        if pattern is not None and not isinstance(pattern, str):
            raise InvalidInputError(f"LGE pattern of segment {seg}={pattern!r}: expected text or None")
        segs[seg] = (v.number(f"LGE transmural extent, segment {seg}", value, 0, 100, unit="%"), pattern)
    ext = v.optional("lge_extent", lge_extent, 0, 100, unit="%")
    rule, code = f"{_RULE}.lge_presence", "lge_presence"
    inputs: dict[str, Any] = {f"lge_transmurality_{s}": {"value": x, "unit": "%", **({"pattern": p} if p else {})}
                              for s, (x, p) in sorted(segs.items())}
    if ext is not None:
        inputs["lge_extent"] = {"value": ext, "unit": "%"}
    if not segs and ext is None:
        need = "LGE transmural extent per AHA segment or the global LGE extent"
        return Finding(code=code, status="not_assessable", rule=rule, citation=CITATION_LGE,
                       statement=f"LGE not assessable: needs {need}", missing=[need])
    pos = {s: sp for s, sp in sorted(segs.items()) if sp[0] > 0}
    isch = [s for s, (_, p) in pos.items() if p in ISCHAEMIC_LGE_PATTERNS]
    non = [s for s, (_, p) in pos.items() if p in NON_ISCHAEMIC_LGE_PATTERNS]
    other = [s for s in pos if s not in isch and s not in non]
    details: dict[str, Any] = {"segments": sorted(pos), "patterns": sorted({p for _, p in pos.values() if p}),
                               "ischaemic_pattern_segments": isch, "non_ischaemic_pattern_segments": non,
                               "pattern_not_stated_segments": other, "segments_reported": sorted(segs),
                               "lge_extent_percent": ext}
    seen_all = set(segs) >= set(range(1, 18))
    if (pos and ext == 0) or (seen_all and not pos and ext is not None and ext > 0):
        what = (f"LGE in segment{'s' if len(pos) > 1 else ''} {', '.join(map(str, pos))} but a global LGE extent of 0 %"
                if pos else f"no LGE in any of the 17 segments but a global LGE extent of {_fmt(ext)} %")
        need = "LGE per segment and a global LGE extent that agree"
        return Finding(code=code, status="not_assessable", rule=rule, citation=CITATION_LGE, inputs=inputs,
                       statement=f"LGE not assessable: the inputs contradict each other: {what}", missing=[need],
                       details={**details, "contradiction": {"lge_extent_percent": ext, "segments_with_lge": sorted(pos)}})
    if pos:
        listed = ", ".join(f"{s} ({p.replace('_', ' ') if p else 'pattern not stated'}, {_fmt(x)} %)" for s, (x, p) in pos.items())
        kinds = [t for t, ss in (("ischaemic pattern", isch), ("non-ischaemic pattern", non)) if ss]
        return Finding(code=code, status="present", rule=rule, citation=CITATION_LGE,
                       statement=f"LGE present in {len(pos)} segment{'s' if len(pos) > 1 else ''}: {listed}"
                                 + (f" ({' and '.join(kinds)})" if kinds else "")
                                 + (f"; {_fmt(ext)} % of LV mass" if ext is not None else ""),
                       inputs=inputs, details=details)
    if ext is not None and ext > 0:
        return Finding(code=code, status="present", rule=rule, citation=CITATION_LGE,
                       statement=f"LGE present: {_fmt(ext)} % of LV mass"
                                 + (" (no reported segment has LGE)" if segs else " (segments and pattern not given)"),
                       inputs=inputs, details=details)
    if ext == 0 or set(segs) >= set(range(1, 18)):
        basis = "global LGE extent 0 %" if ext == 0 else "all 17 segments 0 %"
        return Finding(code=code, status="absent", rule=rule, citation=CITATION_LGE,
                       statement=f"No LGE ({basis})", inputs=inputs, details=details)
    unreported = [s for s in range(1, 18) if s not in segs]
    need = f"LGE of AHA segment{'s' if len(unreported) > 1 else ''} {', '.join(map(str, unreported))} (or the global LGE extent)"
    return Finding(code=code, status="not_assessable", rule=rule, citation=CITATION_LGE,
                   statement=f"No LGE in the {len(segs)} reported segments; LGE elsewhere not assessable: needs {need}",
                   inputs=inputs, missing=[need], details=details)


# -- T1 / T2 / ECV against the site's range -------------------------------------------------------


def _site_range(value: float, normal: ReferenceRange | None, *, code: str, param: str, name: str, short: str,
                unit: str, rule: str) -> Finding:
    if normal is not None and not isinstance(normal, ReferenceRange):
        raise InvalidInputError(f"{param}_normal={normal!r}: expected a ReferenceRange (the site's normal range) or None")
    inputs = {param: {"value": value, "unit": unit}}
    if normal is None or (normal.low is None and normal.high is None):
        need = f"a site normal range for {name} (sequence-, field strength- and vendor-specific)"
        return Finding(code=code, status="not_assessable", rule=rule, citation=CITATION_MAPPING, inputs=inputs,
                       statement=f"{short} {_fmt(value)} {unit}: not assessable without a normal range: needs {need}",
                       missing=[need])
    lo, hi = normal.low, normal.high
    rng = f"{'' if lo is None else _fmt(lo)}–{'' if hi is None else _fmt(hi)} {unit}".strip()
    details = {"normal_low": lo, "normal_high": hi, "population": normal.population, "range_reference": normal.reference,
               "limits_given": [n for n, x in (("low", lo), ("high", hi)) if x is not None]}
    cite = CITATION_MAPPING + (f"; site range: {normal.reference}" if normal.reference else "")
    if hi is not None and value > hi:
        details["direction"] = "high"
        return Finding(code=code, status="present", rule=rule, citation=cite, inputs=inputs, details=details,
                       statement=f"{short} {_fmt(value)} {unit}: elevated (above the site normal range {rng})")
    if lo is not None and value < lo:
        details["direction"] = "low"
        return Finding(code=code, status="present", rule=rule, citation=cite, inputs=inputs, details=details,
                       statement=f"{short} {_fmt(value)} {unit}: low (below the site normal range {rng})")
    return Finding(code=code, status="absent", rule=rule, citation=cite, inputs=inputs, details=details,
                   statement=f"{short} {_fmt(value)} {unit}: within the site normal range ({rng})")


def native_t1_abnormal(native_t1_ms: float, *, normal: ReferenceRange | None = None) -> Finding:
    """Native myocardial T1 outside the site's normal range (high: oedema, fibrosis, amyloid; low:
    lipid or iron). Without a range: not assessable (T1 depends on sequence, field and vendor)."""
    t1 = v.number("native_t1_ms", native_t1_ms, 100, 3000, unit="ms")
    return _site_range(t1, normal, code="native_t1_abnormal", param="native_t1_ms", name="native T1", short="Native T1",
                       unit="ms", rule=f"{_RULE}.native_t1_abnormal")


def t2_abnormal(t2_ms: float, *, normal: ReferenceRange | None = None) -> Finding:
    """Myocardial T2 outside the site's normal range (high: oedema). Without a range: not assessable."""
    t2 = v.number("t2_ms", t2_ms, 5, 300, unit="ms")
    return _site_range(t2, normal, code="t2_abnormal", param="t2_ms", name="myocardial T2", short="T2", unit="ms",
                       rule=f"{_RULE}.t2_abnormal")


def ecv_abnormal(ecv_percent: float, *, normal: ReferenceRange | None = None) -> Finding:
    """Extracellular volume (%) outside the site's normal range (in %). Without a range: not assessable."""
    x = v.number("ecv_percent", ecv_percent, 0, 100, unit="%", low_open=True)
    if normal is not None and isinstance(normal, ReferenceRange) and normal.high is not None and normal.high <= 1 < x:
        raise InvalidInputError(f"ecv_normal high={normal.high!r}: looks like a fraction while ECV {x:g} is in percent; "
                                  "give the range in percent")
    return _site_range(x, normal, code="ecv_abnormal", param="ecv_percent", name="ECV", short="ECV", unit="%",
                       rule=f"{_RULE}.ecv_abnormal")


# -- contradictions between inputs ----------------------------------------------------------------

#: (EF code, end-diastolic volume code, end-systolic volume code) stated together by one source.
EF_VOLUME_SETS = (("lv_ef", "lv_edv", "lv_esv"), ("lv_ef", "lv_edvi", "lv_esvi"),
                  ("rv_ef", "rv_edv", "rv_esv"), ("rv_ef", "rv_edvi", "rv_esvi"))
_CONTRADICTION_CITE = (f"EF = 100 x (EDV - ESV) / EDV: {CITATION_LANG2015}; heartprint input check: a value contradicted "
                       "by the values given with it is reported, never silently chosen")


def _name(code: str) -> str:
    from heartprint.concepts import CONCEPTS

    con = CONCEPTS.get(code)
    return con.name if con is not None else code.replace("_", " ")


def _unit(m: Measurement) -> str:
    return {"mL/m2": "mL/m²", "g/m2": "g/m²"}.get(m.unit, m.unit)


def _rounding_bound(edv: float, esv: float) -> float:
    """Worst-case |EF − 100·(EDV−ESV)/EDV| from rounding EF to 1 % and the volumes to 1 unit."""
    return 0.5 + 50.0 * (1.0 / edv + abs(esv) / edv ** 2)


def ef_volume_contradictions(measurements: Iterable[Measurement], *,
                             tolerance_points: float = EF_TOLERANCE_POINTS) -> list[Finding]:
    """An EF that disagrees with the end-diastolic and end-systolic volumes given with it.

    Measurements are grouped by source and time (one analysis or one report); within a group, each
    LVEF (RVEF) is compared with 100·(EDV−ESV)/EDV of the LV (RV) volumes, absolute and indexed. A
    difference above ``tolerance_points`` (and above the rounding bound, see
    :data:`EF_TOLERANCE_POINTS`) is an ``input_contradiction`` naming both values.
    """
    tol = v.number("tolerance_points", tolerance_points, 0, 100, unit="points")
    groups: dict[tuple[Any, Any], dict[str, list[Measurement]]] = {}
    for m in measurements:
        if m.segment is None and m.vessel is None:
            groups.setdefault((m.source, m.time), {}).setdefault(m.code, []).append(m)
    out: list[Finding] = []
    for (source, time), by_code in groups.items():
        for ef_code, edv_code, esv_code in EF_VOLUME_SETS:
            for ef in by_code.get(ef_code, []):
                for edv in by_code.get(edv_code, []):
                    for esv in by_code.get(esv_code, []):
                        if edv.value <= 0:
                            continue
                        calc = 100.0 * (edv.value - esv.value) / edv.value
                        diff = abs(ef.value - calc)
                        bound = max(tol, _rounding_bound(edv.value, esv.value))
                        if diff <= bound:
                            continue
                        side = "LV" if ef_code == "lv_ef" else "RV"
                        idx = " index" if edv_code.endswith("i") else ""
                        out.append(Finding(
                            code="input_contradiction", status="present", rule=f"{_RULE}.ef_volume_contradictions",
                            citation=_CONTRADICTION_CITE,
                            statement=f"{side}EF {_fmt(ef.value)} % disagrees with the volumes given with it: end-diastolic "
                                      f"volume{idx} {_fmt(edv.value)} {_unit(edv)} and end-systolic volume{idx} "
                                      f"{_fmt(esv.value)} {_unit(esv)} give an EF of {_fmt(calc)} % (difference "
                                      f"{_fmt(diff)} points, more than {_fmt(bound)})",
                            inputs={ef_code: provenance(ef), edv_code: provenance(edv), esv_code: provenance(esv)},
                            details={"kind": "ef_vs_volumes", "stated_ef": ef.value, "ef_from_volumes": round(calc, 2),
                                     "difference_points": round(diff, 2), "tolerance_points": round(bound, 2),
                                     "source": source, "time": None if time is None else time.isoformat()},
                        ))
    return out


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


def repeated_measurement_contradictions(measurements: Iterable[Measurement]) -> list[Finding]:
    """The same measurement (code, AHA segment or vessel, phase) reported more than once for the same
    time with different values, from one source or several. The rules read the one entered last
    (:meth:`heartprint.phenotype.Phenotype.latest`); the finding names every value and which is read."""
    groups: dict[tuple[Any, ...], list[Measurement]] = {}
    for m in measurements:
        groups.setdefault((m.code, m.segment, m.vessel, m.vessel_segment, m.phase, m.time), []).append(m)
    out: list[Finding] = []
    for (code, segment, vessel, part, phase, time), ms in groups.items():
        values: list[Measurement] = []
        for m in ms:
            if not any(_same(m.value, u.value) and m.pattern == u.pattern for u in values):
                values.append(m)
        if len(values) < 2:
            continue
        where = (f", segment {segment}" if segment is not None else "") + \
                (f", {vessel}{' ' + part if part else ''}" if vessel is not None else "") + \
                (f" ({phase})" if phase else "")

        def val(m: Measurement) -> str:
            return f"{_fmt(m.value)} {_unit(m)}" + (f" ({m.pattern.replace('_', ' ')})" if m.pattern else "")

        sources = sorted({str(m.source) for m in values if m.source is not None})
        read = ms[-1]
        out.append(Finding(
            code="input_contradiction", status="present", rule=f"{_RULE}.repeated_measurement_contradictions",
            citation="heartprint input check: one value per measurement, segment and time (no guideline threshold); "
                     "a contradiction is reported, never silently chosen",
            statement=f"{_name(code)}{where} reported {len(values)} times for the same "
                      f"{'time' if time is not None else 'undated study'} with different values: "
                      f"{', '.join(val(m) for m in values)}"
                      f"{' from different sources' if len(sources) > 1 else ''}; the rules read the one entered last "
                      f"({val(read)})",
            inputs={f"{code}_{i + 1}": provenance(m) for i, m in enumerate(values)},
            details={"kind": "repeated_measurement", "code": code, "segment": segment, "vessel": vessel,
                     "vessel_segment": part, "phase": phase, "time": None if time is None else time.isoformat(),
                     "values": [m.value for m in values], "sources": sources, "read": read.value},
        ))
    return out


def _lge_extent_contradictions(measurements: Iterable[Measurement]) -> list[Finding]:
    """Per source and time: a segment with LGE while the global LGE extent is 0 %, or no LGE in any of
    the 17 segments while the global extent is >0 %."""
    groups: dict[tuple[Any, Any], dict[str, list[Measurement]]] = {}
    for m in measurements:
        if m.code in ("lge_extent", "lge_transmurality"):
            groups.setdefault((m.source, m.time), {}).setdefault(m.code, []).append(m)
    out: list[Finding] = []
    for (source, time), by_code in groups.items():
        segs = {m.segment: m for m in by_code.get("lge_transmurality", []) if m.segment is not None}
        pos = [m for _, m in sorted(segs.items()) if m.value > 0]
        for ext in (m for m in by_code.get("lge_extent", []) if m.segment is None):
            if pos and ext.value == 0:
                what = (f"LGE in segment{'s' if len(pos) > 1 else ''} "
                        f"{', '.join(f'{m.segment} ({_fmt(m.value)} %)' for m in pos)} but a global LGE extent of 0 %")
                shown = pos
            elif not pos and set(segs) >= set(range(1, 18)) and ext.value > 0:
                what = f"no LGE in any of the 17 segments but a global LGE extent of {_fmt(ext.value)} %"
                shown = []
            else:
                continue
            out.append(Finding(
                code="input_contradiction", status="present", rule=f"{_RULE}.input_contradictions",
                citation=f"heartprint input check (segmental against global LGE); {CITATION_LGE}",
                statement=f"Inputs contradict each other: {what}",
                inputs={"lge_extent": provenance(ext), **{f"lge_transmurality_{m.segment}": provenance(m) for m in shown}},
                details={"kind": "lge_segments_vs_extent", "lge_extent_percent": ext.value,
                         "segments_with_lge": [m.segment for m in pos], "source": source,
                         "time": None if time is None else time.isoformat()},
            ))
    return out


def input_contradictions(measurements: Iterable[Measurement], *,
                         tolerance_points: float = EF_TOLERANCE_POINTS) -> list[Finding]:
    """Every contradiction among ``measurements``: :func:`ef_volume_contradictions`,
    :func:`repeated_measurement_contradictions`, and segmental LGE against the global LGE extent of
    the same source and time (each an ``input_contradiction`` finding)."""
    ms = list(measurements)
    return (ef_volume_contradictions(ms, tolerance_points=tolerance_points) + repeated_measurement_contradictions(ms)
            + _lge_extent_contradictions(ms))

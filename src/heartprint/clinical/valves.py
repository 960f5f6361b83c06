"""Valve disease from a phenotype's echo measurements: aortic stenosis and mitral regurgitation findings.

The grading (thresholds, low-flow low-gradient paths, unknown inputs) is the one of
:mod:`heartprint.guidelines.valves`, shared with :mod:`heartprint.echo` (``heartprint.echo.aortic_stenosis``
is the same function); this module turns its :class:`~heartprint.guidelines.valves.ValveGrading` into a
cited :class:`~heartprint.measure.Finding` in plain clinical language, with the measurements behind it.

Findings
--------
``aortic_stenosis`` (:func:`aortic_stenosis_severity`)
    ``present`` when a grade of stenosis (mild, moderate, severe high-gradient) holds for every value
    the unknown inputs could take; ``absent`` when "no stenosis (aortic sclerosis at most)" does;
    ``not_assessable`` otherwise, with ``missing`` naming what would decide it and
    ``details["would_be"]`` each grade still possible — and for the low-gradient grades with a valve
    area in the severe range, whose severity needs dobutamine stress echocardiography (reduced EF) or
    the CT aortic-valve calcium score (ESC/EACTS 2021 Figure 3; EACVI/ASE 2017).
``mitral_regurgitation`` (:func:`mitral_regurgitation_severity`)
    ``present`` with its grade (mild, moderate, severe) when the primary- and secondary-MR tables agree
    or the aetiology is known; ``not_assessable`` when no quantitative parameter was measured or the
    grade depends on the unknown aetiology. Mitral regurgitation is never reported absent from missing
    data (there is no "no MR" from numbers that were not measured).

Every finding's ``details`` holds ``grade``, ``possible_grades``, ``severe`` (tri-state status of severe
disease), ``at_least_moderate`` (``True``/``False``/``None``: read by the heart-failure aetiology
differential, :mod:`heartprint.clinical.aetiology`), the grading's ``reasons`` and the thresholds applied.

The rules are run by :func:`heartprint.clinical.interpret.interpret` through their declarations in
:data:`heartprint.clinical._registry.RULES` (``aortic_stenosis`` and ``mitral_regurgitation``, adapters
:func:`aortic_stenosis_rule` / :func:`mitral_regurgitation_rule`), which name the concept codes read from
the phenotype (the vendor values :func:`heartprint.echo.read_echo_sr` maps).
"""

from __future__ import annotations

from typing import Any

from heartprint.clinical import _registry
from heartprint.concepts import concept
from heartprint.errors import HeartprintError
from heartprint.guidelines.valves import (
    AS_CITATION,
    MR_CITATION,
    MR_PRIORITY,
    ValveGrading,
    aortic_stenosis,
    at_least_moderate,
    mitral_regurgitation,
)
from heartprint.measure import Finding

__all__ = ["AS_GRADE_TEXT", "MR_GRADE_TEXT", "aortic_stenosis_rule", "aortic_stenosis_severity",
           "mitral_regurgitation_rule", "mitral_regurgitation_severity"]

#: AS grade → plain clinical wording.
AS_GRADE_TEXT: dict[str, str] = {
    "aortic_sclerosis_or_no_stenosis": "no aortic stenosis (aortic sclerosis at most)",
    "mild": "mild aortic stenosis",
    "moderate": "moderate aortic stenosis",
    "normal_flow_low_gradient": "normal-flow low-gradient aortic stenosis (valve area in the severe range, "
                                "gradient not; usually moderate)",
    "paradoxical_low_flow_low_gradient_preserved_ef": "paradoxical low-flow low-gradient aortic stenosis "
                                                      "with preserved ejection fraction",
    "low_flow_low_gradient_reduced_ef": "low-flow low-gradient aortic stenosis with reduced ejection fraction",
    "severe_high_gradient": "severe aortic stenosis (high gradient)",
}
#: AS grade → short wording (lists of possible grades).
_AS_SHORT = {"aortic_sclerosis_or_no_stenosis": "none (sclerosis at most)", "mild": "mild", "moderate": "moderate",
             "normal_flow_low_gradient": "normal-flow low-gradient",
             "paradoxical_low_flow_low_gradient_preserved_ef": "paradoxical low-flow low-gradient",
             "low_flow_low_gradient_reduced_ef": "low-flow low-gradient with reduced EF",
             "severe_high_gradient": "severe high-gradient"}
#: MR grade → plain clinical wording.
MR_GRADE_TEXT: dict[str, str] = {"mild": "mild mitral regurgitation", "moderate": "moderate mitral regurgitation",
                                 "severe": "severe mitral regurgitation"}

#: Grades whose severity the guidelines settle with a further test (``missing`` names it).
_AS_NEEDS_CONFIRMATION = frozenset({"normal_flow_low_gradient", "paradoxical_low_flow_low_gradient_preserved_ef",
                                    "low_flow_low_gradient_reduced_ef"})

#: Grading parameter → the concept it is read from (its plain name is what "needs ..." says).
_AS_CONCEPT = {"vmax_m_s": "echo_av_vmax", "mean_gradient_mmhg": "echo_av_mean_gradient", "ava_cm2": "echo_ava",
               "ava_index_cm2_m2": "echo_avai", "dimensionless_index": "echo_av_dimensionless_index",
               "sv_index_ml_m2": "echo_lvot_svi", "lvef_percent": "lv_ef"}
_MR_CONCEPT = {"eroa_mm2": "echo_mr_eroa", "regurgitant_volume_ml": "echo_mr_rvol",
               "regurgitant_fraction_percent": "echo_mr_rf", "vena_contracta_mm": "echo_mr_vc"}
_SHOWN_UNIT = {"cm2": "cm²", "cm2/m2": "cm²/m²", "mm2": "mm²", "mm[Hg]": "mmHg", "mL/m2": "mL/m²", "1": ""}


def _missing_name(item: str, table: dict[str, str]) -> str:
    if item == "ava_cm2 or ava_index_cm2_m2":
        return f"{concept('echo_ava').name} or its index"
    if item == "aetiology":
        return "mitral regurgitation aetiology (primary or secondary)"
    return concept(table[item]).name if item in table else item


def _values_text(inputs: dict[str, Any], table: dict[str, str]) -> str:
    parts = []
    for param, code in table.items():
        v = inputs.get(param)
        if v is None:
            continue
        c = concept(code)
        unit = _SHOWN_UNIT.get(c.unit, c.unit)
        name = c.name if c.name[1:2].isupper() else c.name[0].lower() + c.name[1:]  # "LV ...", "LVOT ..." kept
        parts.append(f"{name} {v:g}{(' ' + unit) if unit else ''}")
    return ", ".join(parts)


def _finding(code: str, rule: str, g: ValveGrading, text: dict[str, str], statement: str, status: str,
             missing: list[str]) -> Finding:
    possible = list(g.possible_grades)
    worse = at_least_moderate(g)
    lesion = code.replace("_", " ")
    details: dict[str, Any] = {
        # short wording for the aetiology differential's evidence lists
        "summary": text[g.grade] if g.grade is not None else
        f"{lesion}{', moderate or worse' if worse else ''} (grade not decided)",
        "grade": g.grade, "possible_grades": possible, "severe": g.status, "at_least_moderate": worse,
        "reasons": list(g.reasons), "thresholds": g.to_dict()["thresholds"]}
    if "aetiology" in g.inputs:
        details["aetiology"] = g.inputs["aetiology"]  # primary / secondary MR, None when not stated
        if g.grade is not None and g.inputs["aetiology"]:
            details["summary"] = details["summary"].replace("mitral", f"{g.inputs['aetiology']} mitral")
    if status == "not_assessable":
        details["would_be"] = {p: text[p] for p in possible}
    return Finding(code=code, statement=statement, status=status, rule=f"heartprint.clinical.valves.{rule}",
                   citation=g.citation, missing=missing, details=details)


def aortic_stenosis_severity(*, vmax_m_s: float | None = None, mean_gradient_mmhg: float | None = None,
                             ava_cm2: float | None = None, ava_index_cm2_m2: float | None = None,
                             dimensionless_index: float | None = None, sv_index_ml_m2: float | None = None,
                             lvef_percent: float | None = None) -> Finding:
    """Aortic stenosis finding (ESC/EACTS 2021 section 5.1 and Figure 3; EACVI/ASE 2017 Table 4).

    Inputs as :func:`heartprint.guidelines.valves.aortic_stenosis` (m/s, mmHg, cm², cm²/m², unitless,
    mL/m², %; every one optional, ``None`` = not measured). See the module docstring for the status.
    Raises :class:`~heartprint.errors.InvalidInputError` for a value out of its physical range.
    """
    g = aortic_stenosis(vmax_m_s=vmax_m_s, mean_gradient_mmhg=mean_gradient_mmhg, ava_cm2=ava_cm2,
                        ava_index_cm2_m2=ava_index_cm2_m2, dimensionless_index=dimensionless_index,
                        sv_index_ml_m2=sv_index_ml_m2, lvef_percent=lvef_percent)
    values = _values_text(g.inputs, _AS_CONCEPT)
    missing = [_missing_name(m, _AS_CONCEPT) for m in g.missing]
    if g.grade is not None and g.grade not in _AS_NEEDS_CONFIRMATION:
        status = "absent" if g.grade == "aortic_sclerosis_or_no_stenosis" else "present"
        text = AS_GRADE_TEXT[g.grade]
        statement = f"{text[0].upper()}{text[1:]}: {values}"
        missing = []
    elif g.grade is not None:
        text = AS_GRADE_TEXT[g.grade]
        statement = (f"{text[0].upper()}{text[1:]}: {values}; whether it is severe is not assessable: needs "
                     f"{', '.join(missing)}")
        status = "not_assessable"
    else:
        possible = ", ".join(_AS_SHORT[p] for p in g.possible_grades)
        statement = (f"Aortic stenosis grade not assessable: needs {', '.join(missing)} "
                     f"({values or 'no aortic valve measurement'}; possible grades: {possible})")
        status = "not_assessable"
    f = _finding("aortic_stenosis", "aortic_stenosis_severity", g, AS_GRADE_TEXT, statement, status, missing)
    clash = [r for r in g.reasons if r.startswith("inconsistent")]
    if clash:  # a contradiction between the inputs is said, never resolved silently
        return f.model_copy(update={
            "statement": f"{f.statement}. The inputs contradict each other: the mean gradient exceeds the peak "
                         f"gradient 4·Vmax² ({4 * g.inputs['vmax_m_s'] ** 2:.0f} mmHg); check both measurements",
            "details": {**f.details, "contradictions": clash}})
    return f


def mitral_regurgitation_severity(*, eroa_mm2: float | None = None, regurgitant_volume_ml: float | None = None,
                                  regurgitant_fraction_percent: float | None = None,
                                  vena_contracta_mm: float | None = None, aetiology: str | None = None) -> Finding:
    """Mitral regurgitation finding (EACVI 2013 Table 10; ASE 2017; ESC/EACTS 2021 Table 6).

    Inputs as :func:`heartprint.guidelines.valves.mitral_regurgitation`: EROA (mm²), regurgitant volume
    (mL), regurgitant fraction (%), vena contracta (mm), ``aetiology`` "primary" / "secondary" / ``None``.
    """
    g = mitral_regurgitation(eroa_mm2=eroa_mm2, regurgitant_volume_ml=regurgitant_volume_ml,
                             regurgitant_fraction_percent=regurgitant_fraction_percent,
                             vena_contracta_mm=vena_contracta_mm, aetiology=aetiology)
    values = _values_text(g.inputs, _MR_CONCEPT)
    which = f"{aetiology} " if aetiology else ""
    if g.grade is not None:
        text = MR_GRADE_TEXT[g.grade].replace("mitral", f"{which}mitral")
        first = next(k for k in MR_PRIORITY if g.inputs[k] is not None)
        discordant = any(r.startswith("discordant") for r in g.reasons)
        said = f"; the measures disagree, graded by the {concept(_MR_CONCEPT[first]).name.lower()}" if discordant else ""
        return _finding("mitral_regurgitation", "mitral_regurgitation_severity", g, MR_GRADE_TEXT,
                        f"{text[0].upper()}{text[1:]}: {values}{said}", "present", [])
    missing = [_missing_name(m, _MR_CONCEPT) for m in g.missing]
    possible = ", ".join(g.possible_grades)
    statement = (f"Mitral regurgitation grade not assessable: needs {' or '.join(missing)} "
                 f"({values or 'no quantitative measurement'}; possible grades: {possible})")
    return _finding("mitral_regurgitation", "mitral_regurgitation_severity", g, MR_GRADE_TEXT, statement,
                    "not_assessable", missing)


# -- adapters run by heartprint.clinical.interpret -----------------------------------------------------


def _run(view: Any, name: str, func: Any, citation: str) -> list[Finding]:
    spec = _registry.RULES[name]
    kwargs, inputs, _ = _registry.bind(view, spec)
    try:
        f = func(**kwargs)
    except HeartprintError as exc:
        return [Finding(code=name, statement=f"{name.replace('_', ' ').capitalize()} not assessable: {exc}",
                        status="not_assessable", rule=f"heartprint.clinical.valves.{func.__name__}", citation=citation,
                        inputs=inputs, missing=[str(exc)])]
    return [f.model_copy(update={"inputs": {**inputs, **f.inputs}})]


def aortic_stenosis_rule(view: Any) -> list[Finding]:
    """The ``aortic_stenosis`` rule: :func:`aortic_stenosis_severity` called with the inputs its
    :class:`~heartprint.clinical._registry.RuleSpec` declares (read through ``view``)."""
    return _run(view, "aortic_stenosis", aortic_stenosis_severity, AS_CITATION)


def mitral_regurgitation_rule(view: Any) -> list[Finding]:
    """The ``mitral_regurgitation`` rule: :func:`mitral_regurgitation_severity` called with its declared inputs."""
    return _run(view, "mitral_regurgitation", mitral_regurgitation_severity, MR_CITATION)

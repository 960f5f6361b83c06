"""Myocardial tissue characterisation and morphology rules (numbers only).

Lake Louise 2018 criteria, T2* iron grading, ECV, native-T1 / ECV amyloid flags and the
HCM wall-thickness criterion. T1, T2 and ECV normal ranges are sequence-, vendor- and
field-strength-specific: heartprint carries a cut-off as data only where a source gives it,
otherwise the caller passes the site's :class:`~heartprint.measure.ReferenceRange`.
"""

from __future__ import annotations

from typing import Any

from heartprint.clinical import _unknowns
from heartprint.clinical import _validate as v
from heartprint.errors import InvalidInputError
from heartprint.measure import Finding, ReferenceRange

__all__ = ["amyloid_native_t1", "ecv", "ecv_amyloid", "hcm_wall_thickness", "lake_louise", "t2star_iron"]

CITATION_LLC = (
    "Ferreira VM, Schulz-Menger J, Holmvang G, et al. Cardiovascular magnetic resonance in nonischemic myocardial "
    "inflammation: expert recommendations (updated Lake Louise Criteria). J Am Coll Cardiol 2018;72:3158-3176. "
    "doi:10.1016/j.jacc.2018.09.072; categories: 2025 ESC Guidelines for myocarditis and pericarditis, "
    "doi:10.1093/eurheartj/ehaf192"
)
CITATION_T2STAR = (
    "Anderson LJ et al., Eur Heart J 2001;22:2171 (original); grading as in Ambati SR et al., Am J Hematol 2013 "
    "(PMC4030379): none >20 ms, mild-moderate 10-20 ms, severe <10 ms"
)
CITATION_HCM = (
    "Arbelo E, et al. 2023 ESC Guidelines for the management of cardiomyopathies. Eur Heart J 2023;44:3503-3626, "
    "section 7.1.1.1 (HCM diagnosis). doi:10.1093/eurheartj/ehad194"
)
CITATION_BAGGIANO = (
    "Baggiano A, Boldrini M, Martinez-Naharro A, et al. Noncontrast magnetic resonance for the diagnosis of "
    "cardiac amyloidosis. JACC Cardiovasc Imaging 2020 (native T1 <1036 ms NPV 98 %, >1164 ms PPV 98 %)"
)
CITATION_ECV = (
    "ECV = (1 - Hct) x (1/T1myo,post - 1/T1myo,pre) / (1/T1blood,post - 1/T1blood,pre); Messroghli DR et al., "
    "SCMR/EACVI T1/T2/T2*/ECV consensus, J Cardiovasc Magn Reson 2017;19:75"
)

#: Lake Louise: global T2 signal-intensity ratio (myocardium / skeletal muscle) threshold,
#: ≥2.0 (✅S: Oxford RDM abstract; PMC9352123 Table 6; ✅P ESC 2025 myocarditis, Table 4).
LLC_T2_SI_RATIO = 2.0

#: T2* grading (ms), ✅S (Ambati 2013; JCMR 2011 T2* survey). At exactly 10 ms the sources
#: differ ("<10 severe" vs "≤10 severe"): 10 ms is graded mild-moderate here and flagged.
T2STAR_NORMAL_ABOVE = 20.0
T2STAR_SEVERE_BELOW = 10.0

#: HCM wall thickness (mm), ✅P ESC 2023 §7.1.1.1: ≥15 in any segment; 13–14 with other
#: features (family history, genetics, ECG); relatives ≥13; children z-score >2.
HCM_WALL = 15.0
HCM_WALL_WITH_FEATURES = 13.0
HCM_CHILD_Z = 2.0

#: Native T1 cut-offs for cardiac amyloidosis, keyed by (sequence, field strength T).
#: Values ✅S (Baggiano 2020 abstract); the sequence and field (ShMOLLI, 1.5 T) are ⚠M — the
#: abstract does not state them. Apply only with matching acquisitions.
NATIVE_T1_AMYLOID: dict[tuple[str, float], dict[str, Any]] = {
    ("shmolli", 1.5): {"rule_out_below": 1036.0, "rule_in_above": 1164.0, "citation": CITATION_BAGGIANO,
                       "verification": "values ✅S (abstract); sequence/field ⚠M"},
}

_SEQUENCE_NAMES = {"shmolli": "ShMOLLI", "molli": "MOLLI", "sasha": "SASHA", "saskia": "SASKIA"}

#: ECV at which LGE pattern changes in amyloidosis (Fontana 2015, Circulation; ✅S abstract
#: PMC4606985) — context only, not a diagnostic cut-off.
ECV_AMYLOID_LGE_TRANSITIONS = {
    "AL": {"none_to_subendocardial": (0.40, 0.43), "to_transmural": (0.48, 0.55)},
    "ATTR": {"none_to_subendocardial": (0.39, 0.40), "to_transmural": (0.47, 0.59)},
}


def _marker(call: bool | None, value: float | None, normal: ReferenceRange | None, what: str,
            missing: list[str], conflicts: list[str]) -> bool | None:
    """One marker from the reader's call and/or a value against the site's normal range.

    ``None`` (unknown) when neither says, when the value has no site normal range (named in
    ``missing``), or when the call and the value disagree (said in ``conflicts``).
    """
    measured: bool | None = None
    if value is not None:
        if normal is None or normal.high is None:
            missing.append(f"the site's normal range for {what}")
        else:
            measured = value > normal.high
    if call is not None and measured is not None and call != measured:
        conflicts.append(f"{what}: reported {'elevated' if call else 'not elevated'}, but {value:g} is "
                         f"{'above' if measured else 'within'} the site's normal range (upper limit {normal.high:g})")
        return None
    return call if call is not None else measured


#: Plain names of the Lake Louise markers, by criterion.
LLC_T2_MARKERS = ("regional high T2 signal (T2-weighted imaging)", "global T2 signal-intensity ratio ≥2.0",
                  "T2 mapping above the site's normal range")
LLC_T1_MARKERS = ("native T1 above the site's normal range", "ECV above the site's normal range",
                  "LGE in a non-ischaemic distribution")


def _criterion(markers: dict[str, bool | None]) -> bool | None:
    """A main criterion: met when any marker is positive, not met only when every marker is negative."""
    if any(m is True for m in markers.values()):
        return True
    if all(m is False for m in markers.values()):
        return False
    return None


_LLC_CATEGORY = {2: ("present", "proven"), 1: ("absent", "uncertain"), 0: ("absent", "rejected")}


def lake_louise(
    *,
    t2_regional_high_si: bool | None = None,
    t2_si_ratio: float | None = None,
    t2_ms: float | None = None,
    t2_normal: ReferenceRange | None = None,
    t2_mapping_elevated: bool | None = None,
    native_t1_ms: float | None = None,
    native_t1_normal: ReferenceRange | None = None,
    native_t1_elevated: bool | None = None,
    ecv: float | None = None,
    ecv_normal: ReferenceRange | None = None,
    ecv_elevated: bool | None = None,
    lge_nonischaemic: bool | None = None,
    pericardial_effusion_or_enhancement: bool | None = None,
    wall_motion_abnormality: bool | None = None,
) -> Finding:
    """Updated Lake Louise Criteria (2018) for myocardial inflammation.

    Every input is optional and ``None`` means unknown. A marker that was not acquired gives
    no positive result: pass ``False`` for it (for example ``t2_regional_high_si=False`` when
    no T2-weighted imaging was done), so that the criterion can be called negative.

    Parameters
    ----------
    t2_regional_high_si, t2_si_ratio, t2_ms / t2_normal, t2_mapping_elevated
        T2-based markers (oedema): regional high T2 signal; global T2 SI ratio
        myocardium/skeletal muscle (≥2.0 positive); T2 mapping, as the reader's call
        (``t2_mapping_elevated``) and/or the T2 relaxation time in ms against the site's normal
        range (above ``high`` positive). A T2 in ms without a normal range leaves the marker
        unknown; a call that disagrees with the value is a contradiction (marker unknown,
        said in ``details["contradictions"]``).
    native_t1_ms / native_t1_normal, native_t1_elevated, ecv / ecv_normal, ecv_elevated, lge_nonischaemic
        T1-based markers (injury): native T1 (ms) or ECV (fraction 0–1) above the site's
        normal range (or the reader's call), or LGE in a non-ischaemic distribution.
    pericardial_effusion_or_enhancement, wall_motion_abnormality
        Supportive criteria (reported, not scored).

    Returns
    -------
    Finding
        code ``myocardial_inflammation_llc``: ``present`` when ≥1 T2-based and ≥1 T1-based
        criterion are positive (ESC 2025 "proven"); ``absent`` with ``details["category"]``
        ``"uncertain"`` (1 of 2: may support acute inflammation in an appropriate clinical
        scenario, less specific) or ``"rejected"`` (0 of 2), each only when every marker of a
        criterion not met is known negative; ``not_assessable`` when unknown markers could
        change the category (``missing`` names them, ``details["would_be"]`` gives each answer).

    Notes
    -----
    Ferreira VM et al., J Am Coll Cardiol 2018;72:3158–3176, doi:10.1016/j.jacc.2018.09.072
    (✅S). The 2018 update sets no numeric T1/T2/ECV cut-offs: they are site-specific.
    """
    ratio = v.optional("t2_si_ratio", t2_si_ratio, 0, 20)
    t2_ms = v.optional("t2_ms", t2_ms, 0, 500, unit="ms", low_open=True)
    native_t1_ms = v.optional("native_t1_ms", native_t1_ms, 0, 4000, unit="ms", low_open=True)
    ecv = v.optional("ecv", ecv, 0, 1)
    missing_ranges: list[str] = []
    conflicts: list[str] = []
    t2r, t2m, t2s = LLC_T2_MARKERS
    t2_markers = {
        t2r: v.flag("t2_regional_high_si", t2_regional_high_si),
        t2m: None if ratio is None else ratio >= LLC_T2_SI_RATIO,
        t2s: _marker(v.flag("t2_mapping_elevated", t2_mapping_elevated), t2_ms, t2_normal, "T2 (ms)",
                     missing_ranges, conflicts),
    }
    t1n, t1e, t1l = LLC_T1_MARKERS
    t1_markers = {
        t1n: _marker(v.flag("native_t1_elevated", native_t1_elevated), native_t1_ms, native_t1_normal, "native T1 (ms)",
                     missing_ranges, conflicts),
        t1e: _marker(v.flag("ecv_elevated", ecv_elevated), ecv, ecv_normal, "ECV", missing_ranges, conflicts),
        t1l: v.flag("lge_nonischaemic", lge_nonischaemic),
    }
    t2c, t1c = _criterion(t2_markers), _criterion(t1_markers)
    supportive = {"pericardial effusion/enhancement": v.flag("pericardial_effusion_or_enhancement", pericardial_effusion_or_enhancement),
                  "LV wall-motion abnormality": v.flag("wall_motion_abnormality", wall_motion_abnormality)}
    inputs = {k: val for k, val in {"t2_si_ratio": ratio, "t2_ms": t2_ms, "native_t1_ms": native_t1_ms, "ecv": ecv}.items() if val is not None}
    details: dict[str, Any] = {"t2_criterion": t2c, "t1_criterion": t1c, "t2_markers": t2_markers,
                               "t1_markers": t1_markers, "supportive": supportive}
    if conflicts:
        details["contradictions"] = conflicts
    rule = v.rule_name(lake_louise)

    outcomes: dict[_unknowns.Key, tuple[str, str]] = {}
    for t2 in (t2c,) if t2c is not None else (True, False):
        for t1 in (t1c,) if t1c is not None else (True, False):
            key = tuple((name, "met" if val else "not met") for name, given, val in
                        (("T2-based criterion", t2c, t2), ("T1-based criterion", t1c, t1)) if given is None)
            outcomes[key] = _LLC_CATEGORY[t2 + t1]
    answers = set(outcomes.values())
    if len(answers) > 1:
        need = []
        for name, crit, markers in (("T2-based criterion", t2c, t2_markers), ("T1-based criterion", t1c, t1_markers)):
            if crit is None:
                need += [m for m, val in markers.items() if val is None]
        need += [m for m in missing_ranges if m not in need]
        would_be = _unknowns.would_be(outcomes, lambda sc: f"{sc[1]} ({'present' if sc[0] == 'present' else 'absent'})")
        return Finding(code="myocardial_inflammation_llc",
                       statement="Lake Louise 2018 not assessable: needs " + ", ".join(need)
                       + (" (inputs contradict each other: " + "; ".join(conflicts) + ")" if conflicts else ""),
                       status="not_assessable", rule=rule, citation=CITATION_LLC, inputs=inputs, missing=need,
                       details={**details, "category": None, "criteria_met": (t2c is True) + (t1c is True),
                                "would_be": would_be})
    status, category = answers.pop()
    n_pos = (t2c is True) + (t1c is True)
    if status == "present":
        statement = "Lake Louise 2018: T2- and T1-based criteria met (myocardial inflammation)"
    else:
        statement = f"Lake Louise 2018: {n_pos} of 2 main criteria ({category})"
    return Finding(code="myocardial_inflammation_llc", statement=statement, status=status, rule=rule,
                   citation=CITATION_LLC, inputs=inputs, details={**details, "category": category, "criteria_met": n_pos})


def t2star_iron(t2star_ms: float) -> Finding:
    """Myocardial iron from T2* (ms).

    Parameters
    ----------
    t2star_ms
        Myocardial T2*, ms (usually mid-septal, 1.5 T).

    Returns
    -------
    Finding
        code ``myocardial_iron``: ``absent`` (>20 ms), ``present`` with
        ``details["grade"]`` ``"mild-moderate"`` (10–20 ms) or ``"severe"`` (<10 ms).

    Notes
    -----
    ✅S: Ambati SR et al. 2013 (PMC4030379); JCMR 2011 T2* survey. Original Anderson LJ et
    al., Eur Heart J 2001;22:2171 (⚠M). Exactly 10 ms: sources differ (<10 vs ≤10 severe);
    graded mild-moderate and flagged in ``details["boundary_note"]``.
    """
    t = v.number("t2star_ms", t2star_ms, 0, 200, unit="ms", low_open=True)
    rule = v.rule_name(t2star_iron)
    inputs = {"t2star": {"value": t, "unit": "ms"}}
    details: dict[str, Any] = {"bands_ms": ">20 none; 10–20 mild-moderate; <10 severe"}
    if t == T2STAR_SEVERE_BELOW:
        details["boundary_note"] = "10 ms is 'severe' in sources using ≤10 ms"
    if t > T2STAR_NORMAL_ABOVE:
        return Finding(code="myocardial_iron", statement=f"T2* {t:g} ms: no myocardial iron", status="absent",
                       rule=rule, citation=CITATION_T2STAR, inputs=inputs, details={**details, "grade": "none"})
    grade = "severe" if t < T2STAR_SEVERE_BELOW else "mild-moderate"
    return Finding(code="myocardial_iron", statement=f"T2* {t:g} ms: {grade} myocardial iron overload", status="present",
                   rule=rule, citation=CITATION_T2STAR, inputs=inputs, details={**details, "grade": grade})


def hcm_wall_thickness(max_wall_thickness_mm: float, *, family_history: bool | None = None,
                       other_features: bool | None = None, child_z_score: float | None = None,
                       segment: int | None = None) -> Finding:
    """HCM morphological criterion: maximal LV wall thickness (ESC 2023 cardiomyopathy guideline).

    Parameters
    ----------
    max_wall_thickness_mm
        Maximal end-diastolic LV wall thickness in any segment, mm (adult).
    family_history
        First-degree relative with HCM (the patient is a relative: ≥13 mm suffices).
    other_features
        Other supporting features (genetic finding, ECG abnormality) making 13–14 mm diagnostic.
    child_z_score
        For children: wall-thickness z-score (>2 meets the criterion); adult mm ignored.
    segment
        AHA segment (1–17) where the maximum lies, named in the statement (descriptive: the
        criterion applies to any segment).

    Returns
    -------
    Finding
        code ``hcm_wall_thickness``: ``present`` when ≥15 mm, or ≥13 mm with family history /
        other features; ``not_assessable`` for 13–14.9 mm when those are unknown; else
        ``absent``. The statement reminds that thickening must not be explained solely by
        loading conditions.

    Notes
    -----
    Arbelo E et al., Eur Heart J 2023;44:3503–3626, §7.1.1.1, doi:10.1093/eurheartj/ehad194 (✅P).
    """
    wt = v.number("max_wall_thickness_mm", max_wall_thickness_mm, 0, 60, unit="mm")
    family_history = v.flag("family_history", family_history)
    other_features = v.flag("other_features", other_features)
    z = v.optional("child_z_score", child_z_score, -10, 50)
    seg = None if segment is None else int(v.number("segment", segment, 1, 17, unit=""))
    rule = v.rule_name(hcm_wall_thickness)
    caveat = " (if not explained solely by abnormal loading conditions)"
    inputs: dict[str, Any] = {"max_wall_thickness": {"value": wt, "unit": "mm"}, "family_history": family_history,
                              "other_features": other_features}
    where = ""
    if seg is not None:
        from heartprint.anatomy._aha import AHA_SEGMENT_NAMES

        where = f" (AHA segment {seg}, {AHA_SEGMENT_NAMES[seg]})"
    shown = f"Maximal LV wall thickness {wt:.1f} mm{where}"
    if z is not None:
        inputs["child_z_score"] = z
        met = z > HCM_CHILD_Z
        return Finding(code="hcm_wall_thickness", statement=f"Child wall-thickness z-score {z:g}: criterion "
                       + ("met" if met else "not met") + caveat, status="present" if met else "absent", rule=rule,
                       citation=CITATION_HCM, inputs=inputs, details={"threshold": "z > 2"})
    if wt >= HCM_WALL:
        return Finding(code="hcm_wall_thickness", statement=f"{shown} ≥15 mm: HCM phenotype, wall-thickness criterion met" + caveat,
                       status="present", rule=rule, citation=CITATION_HCM, inputs=inputs,
                       details={"threshold_mm": 15, "segment": seg})
    if wt >= HCM_WALL_WITH_FEATURES:
        support = _any_true(family_history, other_features)
        if support is True:
            return Finding(code="hcm_wall_thickness", statement=f"{shown} (13–14 mm) with family "
                           "history/supporting features: HCM criterion met" + caveat, status="present", rule=rule,
                           citation=CITATION_HCM, inputs=inputs, details={"threshold_mm": 13})
        if support is None:
            need = [n for n, val in (("family history of HCM", family_history),
                                     ("other supporting features (genetic result, ECG)", other_features)) if val is None]
            return Finding(code="hcm_wall_thickness", statement=f"{shown} (13–14 mm): needs "
                           + " or ".join(need), status="not_assessable", rule=rule, citation=CITATION_HCM,
                           inputs=inputs, missing=need,
                           details={"threshold_mm": 13, "would_be": {
                               "with family history or supporting features": "HCM wall-thickness criterion met",
                               "without either": "criterion not met"}})
    return Finding(code="hcm_wall_thickness", statement=f"{shown}: HCM wall-thickness criterion not met",
                   status="absent", rule=rule, citation=CITATION_HCM, inputs=inputs, details={"threshold_mm": 15})


def _any_true(*vals: bool | None) -> bool | None:
    if any(x is True for x in vals):
        return True
    if any(x is None for x in vals):
        return None
    return False


def ecv(hct: float, t1_myo_pre: float, t1_myo_post: float, t1_blood_pre: float, t1_blood_post: float) -> float:
    """Myocardial extracellular volume fraction (0–1).

    Parameters
    ----------
    hct
        Haematocrit as a fraction (0.1–0.7).
    t1_myo_pre, t1_myo_post, t1_blood_pre, t1_blood_post
        Native and post-contrast T1 of myocardium and blood pool, ms (post < pre).

    Returns
    -------
    float
        ECV = (1 − Hct) × (1/T1myo,post − 1/T1myo,pre) / (1/T1blood,post − 1/T1blood,pre).
        Example: Hct 0.42, myocardium 1000 → 450 ms, blood 1600 → 300 ms → 0.2617.

    Notes
    -----
    ✅S (Radiopaedia "Extracellular volume – myocardium"; calculators). Consensus:
    Messroghli DR et al., J Cardiovasc Magn Reson 2017;19:75 (⚠M).
    """
    hct = v.number("hct", hct, 0.1, 0.7)
    vals = {n: v.number(n, x, 0, 5000, unit="ms", low_open=True) for n, x in
            (("t1_myo_pre", t1_myo_pre), ("t1_myo_post", t1_myo_post), ("t1_blood_pre", t1_blood_pre), ("t1_blood_post", t1_blood_post))}
    for tissue in ("myo", "blood"):
        pre, post = vals[f"t1_{tissue}_pre"], vals[f"t1_{tissue}_post"]
        if post >= pre:
            raise InvalidInputError(f"t1_{tissue}_post={post:g} ms: expected shorter than t1_{tissue}_pre={pre:g} ms after contrast")
    d_myo = 1 / vals["t1_myo_post"] - 1 / vals["t1_myo_pre"]
    d_blood = 1 / vals["t1_blood_post"] - 1 / vals["t1_blood_pre"]
    return (1 - hct) * d_myo / d_blood


def amyloid_native_t1(native_t1_ms: float, *, sequence: str | None = None, field_strength: float | None = None,
                      rule_out_below: float | None = None, rule_in_above: float | None = None) -> Finding:
    """Native T1 triage for cardiac amyloidosis (no contrast).

    Parameters
    ----------
    native_t1_ms
        Native myocardial T1, ms.
    sequence, field_strength
        Mapping sequence (e.g. ``"ShMOLLI"``) and field strength (T). Cut-offs are taken from
        :data:`NATIVE_T1_AMYLOID` only when both match an entry.
    rule_out_below, rule_in_above
        Site-specific cut-offs (ms) to use instead (both required).

    Returns
    -------
    Finding
        code ``amyloid_native_t1``: ``absent`` below the rule-out cut-off, ``present``
        above the rule-in cut-off, ``not_assessable`` in between (contrast needed: LGE/ECV)
        or when no cut-offs apply to the acquisition.

    Notes
    -----
    Baggiano A et al., JACC Cardiovasc Imaging 2020: <1036 ms NPV 98 %, >1164 ms PPV 98 %
    (✅S abstract; the acquisition — ShMOLLI, 1.5 T — is ⚠M).
    """
    t1 = v.number("native_t1_ms", native_t1_ms, 0, 4000, unit="ms", low_open=True)
    rule = v.rule_name(amyloid_native_t1)
    inputs: dict[str, Any] = {"native_t1": {"value": t1, "unit": "ms"}, "sequence": sequence, "field_strength": field_strength}
    if (rule_out_below is None) != (rule_in_above is None):
        raise InvalidInputError("rule_out_below and rule_in_above: expected both site cut-offs (ms) or neither")
    if rule_out_below is not None:
        lo = v.number("rule_out_below", rule_out_below, 0, 4000, unit="ms")
        hi = v.number("rule_in_above", rule_in_above, lo, 4000, unit="ms")
        citation, source = "site-specific native T1 cut-offs supplied by the user", "user"
    else:
        key = (str(sequence).strip().lower(), float(field_strength)) if sequence is not None and field_strength is not None else None
        entry = NATIVE_T1_AMYLOID.get(key) if key else None
        if entry is None:
            return Finding(code="amyloid_native_t1", statement=f"Native T1 {t1:g} ms: no validated cut-offs for this acquisition",
                           status="not_assessable", rule=rule, citation=CITATION_BAGGIANO, inputs=inputs,
                           missing=["site-specific native T1 cut-offs for amyloidosis, or a mapping sequence and field "
                                    "strength with published cut-offs ("
                                    + ", ".join(f"{_SEQUENCE_NAMES.get(seq, seq)} at {fs:g} T"
                                                for seq, fs in sorted(NATIVE_T1_AMYLOID)) + ")"])
        lo, hi, citation, source = entry["rule_out_below"], entry["rule_in_above"], entry["citation"], entry["verification"]
    details = {"rule_out_below_ms": lo, "rule_in_above_ms": hi, "cutoff_source": source}
    if t1 < lo:
        return Finding(code="amyloid_native_t1", statement=f"Native T1 {t1:g} ms < {lo:g} ms: cardiac amyloidosis unlikely",
                       status="absent", rule=rule, citation=citation, inputs=inputs, details=details)
    if t1 > hi:
        return Finding(code="amyloid_native_t1", statement=f"Native T1 {t1:g} ms > {hi:g} ms: cardiac amyloidosis likely",
                       status="present", rule=rule, citation=citation, inputs=inputs, details=details)
    return Finding(code="amyloid_native_t1", statement=f"Native T1 {t1:g} ms: intermediate ({lo:g}–{hi:g} ms)",
                   status="not_assessable", rule=rule, citation=citation, inputs=inputs,
                   missing=["contrast CMR: LGE pattern and ECV"], details=details)


def ecv_amyloid(ecv_fraction: float, *, threshold: float | None = None) -> Finding:
    """ECV flag for cardiac amyloidosis against a caller-supplied threshold.

    Parameters
    ----------
    ecv_fraction
        Myocardial ECV, fraction 0–1.
    threshold
        ECV above which the site calls amyloid infiltration (fraction). heartprint ships no
        default: the ESC WG position statement's ECV >0.40 (Garcia-Pavia P et al., Eur J
        Heart Fail 2021;23:512–526) is unverified (⚠M).

    Returns
    -------
    Finding
        code ``amyloid_ecv``; ``not_assessable`` without a threshold. ``details`` carries
        the LGE-transition ECV ranges of Fontana 2015 (✅S) as context.
    """
    x = v.number("ecv_fraction", ecv_fraction, 0, 1)
    rule = v.rule_name(ecv_amyloid)
    inputs = {"ecv": {"value": x, "unit": "1"}}
    details = {"fontana_2015_lge_transitions": ECV_AMYLOID_LGE_TRANSITIONS}
    if threshold is None:
        return Finding(code="amyloid_ecv", statement=f"ECV {x:.2f}: no verified amyloid threshold", status="not_assessable",
                       rule=rule, citation="Fontana M et al., Circulation 2015 (PMC4606985)", inputs=inputs,
                       missing=["site-specific ECV threshold (fraction)"], details=details)
    thr = v.number("threshold", threshold, 0, 1)
    above = x > thr
    return Finding(code="amyloid_ecv", statement=f"ECV {x:.2f} " + ("above" if above else "not above") + f" threshold {thr:.2f}",
                   status="present" if above else "absent", rule=rule, citation="site-specific ECV threshold supplied by the user",
                   inputs=inputs, details={**details, "threshold": thr})

"""Heart failure rules: ESC 2021 HF type, HFA-PEFF, H2FPEF and ASE/EACVI 2016 diastolic function.

Every rule is three-valued on missing data: a criterion that cannot be evaluated is
unknown, and a conclusion is drawn only when the unknowns cannot change it. Otherwise the
Finding is ``not_assessable`` and ``missing`` names what is needed. Nothing is guessed.

Units: LVEF %, e′ and E velocities cm/s, TR velocity m/s, pressures mmHg, LAVI mL/m²,
LVMI g/m², wall thickness mm, NT-proBNP and BNP pg/mL, BMI kg/m², age years, GLS % (absolute).
"""

from __future__ import annotations

import math
from typing import Any

from heartprint.clinical import _validate as v
from heartprint.measure import Finding

__all__ = ["diastolic_function", "h2fpef", "hf_type", "hfa_peff"]

CITATION_ESC2021 = (
    "McDonagh TA, et al. 2021 ESC Guidelines for the diagnosis and treatment of acute and chronic heart "
    "failure. Eur Heart J 2021;42:3599-3726, Table 3 (definitions) and Table 9 (objective evidence for "
    "HFpEF). doi:10.1093/eurheartj/ehab368"
)
CITATION_HFA_PEFF = (
    "Pieske B, Tschope C, de Boer RA, et al. How to diagnose heart failure with preserved ejection fraction: "
    "the HFA-PEFF diagnostic algorithm. Eur Heart J 2019;40:3297-3317, step 2 (E) score. doi:10.1093/eurheartj/ehz641"
)
CITATION_H2FPEF = (
    "Reddy YNV, Carter RE, Obokata M, Redfield MM, Borlaug BA. A simple, evidence-based approach to help "
    "guide diagnosis of heart failure with preserved ejection fraction. Circulation 2018;138:861-870. "
    "doi:10.1161/CIRCULATIONAHA.118.034646"
)
CITATION_ASE2016 = (
    "Nagueh SF, Smiseth OA, Appleton CP, et al. Recommendations for the evaluation of left ventricular "
    "diastolic function by echocardiography: an update from the ASE and EACVI. J Am Soc Echocardiogr "
    "2016;29:277-314 (algorithms for normal LVEF and for reduced LVEF/myocardial disease). "
    "doi:10.1016/j.echo.2016.01.011"
)

# --------------------------------------------------------------------------------------
# Tables (data, with their source and verification status)
# --------------------------------------------------------------------------------------

#: ESC 2021 Table 3 LVEF bands (%), ✅P: HFrEF ≤40, HFmrEF 41–49, HFpEF ≥50. Real-valued
#: LVEF is split at 40 (≤40 HFrEF) and 50 (≥50 HFpEF); 40 < LVEF < 50 is HFmrEF.
LVEF_HFREF_MAX = 40.0
LVEF_HFPEF_MIN = 50.0

#: ESC 2021 Table 9 objective evidence for HFpEF, ✅P. name → (description, test(value, ctx)).
ESC2021_TABLE9: dict[str, str] = {
    "lvmi": "LV mass index ≥95 g/m² (female), ≥115 g/m² (male)",
    "rwt": "relative wall thickness >0.42",
    "lavi": "LA volume index >34 mL/m² (sinus rhythm), >40 mL/m² (AF)",
    "e_e_prime": "E/e′ at rest >9",
    "nt_probnp": "NT-proBNP >125 pg/mL (sinus rhythm), >365 pg/mL (AF)",
    "bnp": "BNP >35 pg/mL (sinus rhythm), >105 pg/mL (AF)",
    "pasp": "PA systolic pressure >35 mmHg",
    "tr_velocity": "TR velocity at rest >2.8 m/s",
}

#: HFA-PEFF step-2 thresholds. Points: major 2, minor 1, max 2 per domain, total 0–6 (✅S,
#: abstract). Per-domain criteria ☑C (TypeScript calculator) and ✅S for the biomarker
#: thresholds (cal57 HFA-PEFF calculator table; appcardio.com gives 375 instead of 365 for
#: the AF NT-proBNP minor bound — 365 kept, it matches ESC 2021 Table 9 ✅P). Inclusive/
#: exclusive ends of the minor ranges (E/e′ 9–14, LAVI 29–34, LVMI >115/95 vs ≥) are ⚠M.
HFA_PEFF = {
    "septal_e_major": {"<75": 7.0, ">=75": 5.0},  # septal e′ < value, cm/s
    "lateral_e_major": {"<75": 10.0, ">=75": 7.0},  # lateral e′ < value, cm/s
    "e_e_major": 15.0,  # average E/e′ ≥
    "e_e_minor": 9.0,  # average E/e′ ≥ 9 and < 15
    "tr_major": 2.8,  # TR velocity > m/s
    "pasp_major": 35.0,  # PASP > mmHg
    "gls_minor": 16.0,  # |GLS| < %
    "lavi_major": {"sinus": 34.0, "af": 40.0},  # LAVI >
    "lavi_minor": {"sinus": 29.0, "af": 34.0},  # LAVI ≥ (up to the major bound)
    "lvmi_major": {"male": 149.0, "female": 122.0},  # LVMI ≥ (with RWT > 0.42)
    "lvmi_minor": {"male": 115.0, "female": 95.0},  # LVMI ≥ (⚠M: > in memory)
    "rwt": 0.42,  # RWT >
    "wall_minor": 12.0,  # wall thickness ≥ mm
    "ntprobnp": {"sinus": (125.0, 220.0), "af": (365.0, 660.0)},  # minor ≥lo..≤hi, major >hi
    "bnp": {"sinus": (35.0, 80.0), "af": (105.0, 240.0)},
}
#: HFA-PEFF total → interpretation: ≥5 HFpEF, ≤1 unlikely (✅S abstract); 2–4 intermediate →
#: step 3 (F1) diastolic stress echo or invasive haemodynamics (✅S appcardio/cal57; ⚠M paper).

#: H2FPEF points (☑C: ≥3 independent implementations; ✅S: droracle, cal57 summaries).
H2FPEF_POINTS = {"heavy": 2, "hypertensive": 1, "af": 3, "pulmonary_hypertension": 1, "elder": 1, "filling_pressure": 1}
#: H2FPEF thresholds: BMI >30 kg/m², ≥2 antihypertensives, PASP >35 mmHg, age >60 y, E/e′ >9.
H2FPEF_THRESHOLDS = {"bmi": 30.0, "antihypertensives": 2, "pasp": 35.0, "age": 60.0, "e_e_prime": 9.0}
#: H2FPEF bands: 0–1 low, 2–5 intermediate, 6–9 high probability (✅S: mediately.co H2FPEF
#: page "low (<2), intermediate (2–5) or high (≥6)").
#: Continuous model (☑C: two implementations, one checked against the published calculator
#: spreadsheet; ⚠M that the equation is printed in the paper): logit = b0 + Σ b·x.
H2FPEF_CONTINUOUS = {
    "intercept": -9.19174463966566,
    "age": 0.0451129471272832,
    "bmi": 0.130730156015681,
    "e_e_prime": 0.0858634402456586,
    "pasp": 0.051963758732548,
    "af": 1.69968057294513,
}

#: ASE/EACVI 2016 cut-offs (✅S: 123sonography e-book, Lavine & Kelvas 2023; ☑C diastology3).
ASE2016 = {
    "e_e_average": 14.0,  # average E/e′ >
    "septal_e": 7.0,  # septal e′ < cm/s
    "lateral_e": 10.0,  # lateral e′ < cm/s
    "tr_velocity": 2.8,  # > m/s
    "lavi": 34.0,  # > mL/m²
    "e_a_low": 0.8,  # E/A ≤
    "e_low": 50.0,  # E ≤ cm/s (with E/A ≤ 0.8)
    "e_a_high": 2.0,  # E/A ≥
}
#: LVEF below which the reduced-EF algorithm is used when ``myocardial_disease`` is not
#: given. ⚠M (ASE 2016 says "normal LVEF" without a number in the sources consulted; 50 %
#: follows ESC 2021's HFpEF bound).
ASE_NORMAL_LVEF_MIN = 50.0
#: heartprint requires at least this many of the four normal-EF variables (ASE 2016 counts
#: "available" variables and states no minimum in the sources consulted).
ASE_MIN_AVAILABLE = 2

_RHYTHMS = ("sinus", "af")
_SEXES = ("male", "female")


def _lt(x: float | None, t: float) -> bool | None:
    return None if x is None else x < t


def _gt(x: float | None, t: float) -> bool | None:
    return None if x is None else x > t


def _ge(x: float | None, t: float) -> bool | None:
    return None if x is None else x >= t


def _any(*vals: bool | None) -> bool | None:
    if any(x is True for x in vals):
        return True
    if any(x is None for x in vals):
        return None
    return False


def _all(*vals: bool | None) -> bool | None:
    if any(x is False for x in vals):
        return False
    if any(x is None for x in vals):
        return None
    return True


def _q(name: str, value: Any, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit}


# --------------------------------------------------------------------------------------
# ESC 2021 HF type
# --------------------------------------------------------------------------------------


def hf_type(
    lvef: float,
    *,
    symptoms: bool | None = True,
    hfpef_evidence: bool | None = None,
    previous_lvef: float | None = None,
    sex: str | None = None,
    rhythm: str | None = None,
    lvmi: float | None = None,
    rwt: float | None = None,
    lavi: float | None = None,
    e_e_prime: float | None = None,
    nt_probnp: float | None = None,
    bnp: float | None = None,
    pasp: float | None = None,
    tr_velocity: float | None = None,
) -> Finding:
    """Heart failure type by LVEF (ESC 2021 HF guideline, Table 3).

    Parameters
    ----------
    lvef
        LV ejection fraction, % (0–100).
    symptoms
        Symptoms ± signs of HF (criterion 1). ``None`` = unknown → not assessable.
    hfpef_evidence
        For LVEF ≥50 %: objective evidence of structural/functional abnormality consistent
        with LV diastolic dysfunction or raised filling pressures (criterion 3). If ``None``
        it is derived from the Table 9 measurements given (any one abnormal is evidence):
        ``lvmi`` g/m² (with ``sex``), ``rwt``, ``lavi`` mL/m² and NT-proBNP/BNP pg/mL (with
        ``rhythm`` "sinus"/"af"), ``e_e_prime``, ``pasp`` mmHg, ``tr_velocity`` m/s.
    previous_lvef
        Earlier LVEF, %. ≤40 % before and ≥50 % now → HF with improved EF.

    Returns
    -------
    Finding
        code ``hfref`` (LVEF ≤40 %), ``hfmref`` (41–49 %), ``hfpef`` (≥50 % + evidence) or
        ``hfimpef`` (improved EF); status ``not_assessable`` when symptoms or the HFpEF
        evidence are unknown.

    Notes
    -----
    McDonagh TA et al., Eur Heart J 2021;42:3599–3726, Table 3 and Table 9 (✅P).
    doi:10.1093/eurheartj/ehab368
    """
    lvef = v.number("lvef", lvef, 0, 100, unit="%")
    previous_lvef = v.optional("previous_lvef", previous_lvef, 0, 100, unit="%")
    symptoms = v.flag("symptoms", symptoms)
    hfpef_evidence = v.flag("hfpef_evidence", hfpef_evidence)
    if sex is not None:
        sex = v.choice("sex", sex, _SEXES)
    if rhythm is not None:
        rhythm = v.choice("rhythm", rhythm, _RHYTHMS)
    lvmi = v.optional("lvmi", lvmi, 0, 500, unit="g/m2")
    rwt = v.optional("rwt", rwt, 0, 2)
    lavi = v.optional("lavi", lavi, 0, 300, unit="mL/m2")
    e_e_prime = v.optional("e_e_prime", e_e_prime, 0, 100)
    nt_probnp = v.optional("nt_probnp", nt_probnp, 0, 1e6, unit="pg/mL")
    bnp = v.optional("bnp", bnp, 0, 1e6, unit="pg/mL")
    pasp = v.optional("pasp", pasp, 0, 200, unit="mmHg")
    tr_velocity = v.optional("tr_velocity", tr_velocity, 0, 8, unit="m/s")

    inputs = {"lvef": _q("lvef", lvef, "%"), "symptoms": symptoms}
    if previous_lvef is not None:
        inputs["previous_lvef"] = _q("previous_lvef", previous_lvef, "%")
    rule = v.rule_name(hf_type)
    details: dict[str, Any] = {"bands": "HFrEF ≤40 %, HFmrEF 41–49 %, HFpEF ≥50 %"}

    if lvef <= LVEF_HFREF_MAX:
        code, name = "hfref", "HF with reduced EF"
    elif lvef < LVEF_HFPEF_MIN:
        code, name = "hfmref", "HF with mildly reduced EF"
    elif previous_lvef is not None and previous_lvef <= LVEF_HFREF_MAX:
        code, name = "hfimpef", "HF with improved EF"
    else:
        code, name = "hfpef", "HF with preserved EF"

    if symptoms is None:
        return Finding(code=code, statement=f"{name} not assessable: symptoms/signs of HF unknown (LVEF {lvef:g} %)",
                       status="not_assessable", rule=rule, citation=CITATION_ESC2021, inputs=inputs,
                       missing=["symptoms ± signs of heart failure"], details=details)
    if not symptoms:
        return Finding(code=code, statement=f"No HF syndrome: no symptoms/signs (LVEF {lvef:g} %)", status="absent",
                       rule=rule, citation=CITATION_ESC2021, inputs=inputs, details=details)
    if code != "hfpef":
        return Finding(code=code, statement=f"{name} (LVEF {lvef:g} %)", status="present", rule=rule,
                       citation=CITATION_ESC2021, inputs=inputs, details=details)

    # HFpEF: criterion 3, objective evidence (Table 9)
    abnormal: list[str] = []
    missing: list[str] = []
    if hfpef_evidence is None:
        tests: dict[str, bool | None] = {}
        if lvmi is not None:
            tests["lvmi"] = None if sex is None else lvmi >= (95.0 if sex == "female" else 115.0)
            inputs["lvmi"] = _q("lvmi", lvmi, "g/m2")
        if rwt is not None:
            tests["rwt"] = rwt > 0.42
            inputs["rwt"] = _q("rwt", rwt, "1")
        if lavi is not None:
            tests["lavi"] = None if rhythm is None else lavi > (34.0 if rhythm == "sinus" else 40.0)
            inputs["lavi"] = _q("lavi", lavi, "mL/m2")
        if e_e_prime is not None:
            tests["e_e_prime"] = e_e_prime > 9.0
            inputs["e_e_prime"] = _q("e_e_prime", e_e_prime, "1")
        if nt_probnp is not None:
            tests["nt_probnp"] = None if rhythm is None else nt_probnp > (125.0 if rhythm == "sinus" else 365.0)
            inputs["nt_probnp"] = _q("nt_probnp", nt_probnp, "pg/mL")
        if bnp is not None:
            tests["bnp"] = None if rhythm is None else bnp > (35.0 if rhythm == "sinus" else 105.0)
            inputs["bnp"] = _q("bnp", bnp, "pg/mL")
        if pasp is not None:
            tests["pasp"] = pasp > 35.0
            inputs["pasp"] = _q("pasp", pasp, "mmHg")
        if tr_velocity is not None:
            tests["tr_velocity"] = tr_velocity > 2.8
            inputs["tr_velocity"] = _q("tr_velocity", tr_velocity, "m/s")
        abnormal = [ESC2021_TABLE9[k] for k, t in tests.items() if t]
        hfpef_evidence = True if abnormal else None
        if not abnormal:
            missing = ["objective evidence of cardiac structural/functional abnormality consistent with LV diastolic "
                       "dysfunction or raised LV filling pressures, including raised natriuretic peptides (ESC 2021 Table 9)"]
            if any(t is None for t in tests.values()):
                missing.append("sex (for LVMI) and/or rhythm (for LAVI and natriuretic peptides)")
        details["table9_abnormal"] = abnormal
    if hfpef_evidence is None:
        return Finding(code=code, statement=f"HFpEF not assessable: LVEF {lvef:g} % without objective evidence",
                       status="not_assessable", rule=rule, citation=CITATION_ESC2021, inputs=inputs,
                       missing=missing or ["objective evidence (ESC 2021 Table 9)"], details=details)
    if not hfpef_evidence:
        return Finding(code=code, statement=f"HFpEF criteria not met: LVEF {lvef:g} %, no objective evidence",
                       status="absent", rule=rule, citation=CITATION_ESC2021, inputs=inputs, details=details)
    return Finding(code=code, statement=f"{name} (LVEF {lvef:g} %)", status="present", rule=rule,
                   citation=CITATION_ESC2021, inputs=inputs, details=details)


# --------------------------------------------------------------------------------------
# HFA-PEFF
# --------------------------------------------------------------------------------------


def _domain(major: list[bool | None], minor: list[bool | None]) -> tuple[int, int]:
    """(known points, maximum possible points) of one HFA-PEFF domain."""
    if any(m is True for m in major):
        return 2, 2
    known = 1 if any(m is True for m in minor) else 0
    if any(m is None for m in major):
        return known, 2
    if known == 0 and any(m is None for m in minor):
        return 0, 1
    return known, known


def _hfa_category(total: int) -> str:
    return "HFpEF" if total >= 5 else "unlikely" if total <= 1 else "intermediate"


def hfa_peff(
    *,
    rhythm: str | None = None,
    sex: str | None = None,
    age: float | None = None,
    septal_e: float | None = None,
    lateral_e: float | None = None,
    average_e_e: float | None = None,
    tr_velocity: float | None = None,
    pasp: float | None = None,
    gls: float | None = None,
    lavi: float | None = None,
    lvmi: float | None = None,
    rwt: float | None = None,
    wall_thickness: float | None = None,
    nt_probnp: float | None = None,
    bnp: float | None = None,
) -> Finding:
    """HFA-PEFF step 2 (echocardiography and natriuretic peptide) score.

    Parameters
    ----------
    rhythm
        ``"sinus"`` or ``"af"`` (LAVI and natriuretic peptide thresholds differ).
    sex
        ``"male"``/``"female"`` (LVMI thresholds).
    age
        Years (e′ thresholds are lower at ≥75 y).
    septal_e, lateral_e
        Mitral annular e′, cm/s.
    average_e_e
        Average E/e′ (dimensionless).
    tr_velocity, pasp
        Peak TR velocity, m/s; PA systolic pressure, mmHg.
    gls
        LV global longitudinal strain, % (sign ignored: |GLS| <16 % is the minor criterion).
    lavi, lvmi, rwt, wall_thickness
        LA volume index mL/m², LV mass index g/m², relative wall thickness, LV wall thickness mm.
    nt_probnp, bnp
        pg/mL.

    Returns
    -------
    Finding
        code ``hfpef_hfa_peff``. ``present`` when the total is ≥5 (HFpEF), ``absent``
        when ≤1 (unlikely), ``not_assessable`` when 2–4 (intermediate: step F1, diastolic
        stress echo or invasive haemodynamics) or when missing inputs could change the
        category. ``details`` has points per domain (functional, morphological, biomarker),
        ``total``, ``total_max`` (if unknowns were all abnormal) and ``category``.

    Notes
    -----
    Major criterion 2 points, minor 1; at most 2 per domain; total 0–6 (Pieske B et al.,
    Eur Heart J 2019;40:3297–3317, doi:10.1093/eurheartj/ehz641). Thresholds:
    :data:`HFA_PEFF` (biomarkers ✅S; other criteria ☑C; minor-range ends ⚠M).
    """
    if rhythm is not None:
        rhythm = v.choice("rhythm", rhythm, _RHYTHMS)
    if sex is not None:
        sex = v.choice("sex", sex, _SEXES)
    age = v.optional("age", age, 18, 120, unit="years")
    septal_e = v.optional("septal_e", septal_e, 0, 40, unit="cm/s", low_open=True)
    lateral_e = v.optional("lateral_e", lateral_e, 0, 40, unit="cm/s", low_open=True)
    average_e_e = v.optional("average_e_e", average_e_e, 0, 100)
    tr_velocity = v.optional("tr_velocity", tr_velocity, 0, 8, unit="m/s")
    pasp = v.optional("pasp", pasp, 0, 200, unit="mmHg")
    gls = v.optional("gls", gls, -50, 50, unit="%")
    lavi = v.optional("lavi", lavi, 0, 300, unit="mL/m2")
    lvmi = v.optional("lvmi", lvmi, 0, 500, unit="g/m2")
    rwt = v.optional("rwt", rwt, 0, 2)
    wall_thickness = v.optional("wall_thickness", wall_thickness, 0, 60, unit="mm")
    nt_probnp = v.optional("nt_probnp", nt_probnp, 0, 1e6, unit="pg/mL")
    bnp = v.optional("bnp", bnp, 0, 1e6, unit="pg/mL")
    t = HFA_PEFF

    # e′ thresholds depend on age; with age unknown, decide only when both age bands agree
    def e_prime(x: float | None, key: str) -> bool | None:
        if x is None:
            return None
        if age is not None:
            return x < t[key]["<75" if age < 75 else ">=75"]
        young, old = x < t[key]["<75"], x < t[key][">=75"]
        return young if young == old else None

    septal_major = e_prime(septal_e, "septal_e_major")
    lateral_major = e_prime(lateral_e, "lateral_e_major")
    # "septal e′ <x OR lateral e′ <y": one available velocity is enough when abnormal
    e_major = _any(septal_major, lateral_major) if (septal_e is not None and lateral_e is not None) else (
        septal_major if septal_e is not None else lateral_major)
    tr_major = _any(_gt(tr_velocity, t["tr_major"]), _gt(pasp, t["pasp_major"])) if (tr_velocity is not None or pasp is not None) else None
    if tr_velocity is not None and pasp is None:
        tr_major = _gt(tr_velocity, t["tr_major"])
    if pasp is not None and tr_velocity is None:
        tr_major = _gt(pasp, t["pasp_major"])
    ee_major = _ge(average_e_e, t["e_e_major"])
    ee_minor = None if average_e_e is None else (t["e_e_minor"] <= average_e_e < t["e_e_major"])
    gls_minor = None if gls is None else abs(gls) < t["gls_minor"]
    functional = _domain([e_major, ee_major, tr_major], [ee_minor, gls_minor])

    lavi_major = None if lavi is None or rhythm is None else lavi > t["lavi_major"][rhythm]
    lavi_minor = None if lavi is None or rhythm is None else t["lavi_minor"][rhythm] <= lavi <= t["lavi_major"][rhythm]
    lvmi_hi = None if lvmi is None or sex is None else lvmi >= t["lvmi_major"][sex]
    lvmi_minor = None if lvmi is None or sex is None else lvmi >= t["lvmi_minor"][sex]
    rwt_hi = _gt(rwt, t["rwt"])
    morphological = _domain([lavi_major, _all(lvmi_hi, rwt_hi)], [lavi_minor, lvmi_minor, rwt_hi, _ge(wall_thickness, t["wall_minor"])])

    def peptide(x: float | None, key: str) -> tuple[bool | None, bool | None]:
        if x is None or rhythm is None:
            return None, None
        lo, hi = t[key][rhythm]
        return x > hi, lo <= x <= hi

    nt_major, nt_minor = peptide(nt_probnp, "ntprobnp")
    b_major, b_minor = peptide(bnp, "bnp")
    if nt_probnp is not None and bnp is not None and rhythm is not None:
        biomarker = _domain([_any(nt_major, b_major)], [_any(nt_minor, b_minor)])
    elif nt_probnp is not None:
        biomarker = _domain([nt_major], [nt_minor])
    else:
        biomarker = _domain([b_major], [b_minor])

    total = functional[0] + morphological[0] + biomarker[0]
    total_max = functional[1] + morphological[1] + biomarker[1]
    cat_lo, cat_hi = _hfa_category(total), _hfa_category(total_max)
    missing: list[str] = []
    if functional[0] != functional[1]:
        missing.append("functional: septal and lateral e′ (cm/s), average E/e′, TR velocity (m/s) or PASP, GLS (%)"
                       + ("; age (e′ thresholds at ≥75 y)" if age is None else ""))
    if morphological[0] != morphological[1]:
        missing.append("morphological: LAVI (mL/m²) with rhythm, LVMI (g/m²) with sex, RWT, wall thickness (mm)")
    if biomarker[0] != biomarker[1]:
        missing.append("biomarker: NT-proBNP or BNP (pg/mL) with rhythm (sinus/af)")
    inputs = {k: val for k, val in {
        "rhythm": rhythm, "sex": sex, "age": age, "septal_e": septal_e, "lateral_e": lateral_e,
        "average_e_e": average_e_e, "tr_velocity": tr_velocity, "pasp": pasp, "gls": gls, "lavi": lavi,
        "lvmi": lvmi, "rwt": rwt, "wall_thickness": wall_thickness, "nt_probnp": nt_probnp, "bnp": bnp}.items() if val is not None}
    details = {"functional": functional[0], "morphological": morphological[0], "biomarker": biomarker[0],
               "total": total, "total_max": total_max,
               "bands": "≥5 HFpEF; 2–4 intermediate (step F1); ≤1 unlikely",
               "unverified": "ends of minor ranges (E/e′ 9–14, LAVI 29–34, LVMI ≥115/95) ⚠M"}
    rule = v.rule_name(hfa_peff)
    if cat_lo != cat_hi:
        details["category"] = None
        return Finding(code="hfpef_hfa_peff", statement=f"HFA-PEFF score {total}–{total_max}: category undetermined",
                       status="not_assessable", rule=rule, citation=CITATION_HFA_PEFF, inputs=inputs,
                       missing=missing, details=details)
    details["category"] = cat_lo
    if cat_lo == "HFpEF":
        return Finding(code="hfpef_hfa_peff", statement=f"HFA-PEFF score {total}: HFpEF (≥5)", status="present",
                       rule=rule, citation=CITATION_HFA_PEFF, inputs=inputs, details=details)
    if cat_lo == "unlikely":
        return Finding(code="hfpef_hfa_peff", statement=f"HFA-PEFF score {total}: HFpEF unlikely (≤1)", status="absent",
                       rule=rule, citation=CITATION_HFA_PEFF, inputs=inputs, details=details)
    return Finding(code="hfpef_hfa_peff", statement=f"HFA-PEFF score {total}: intermediate (2–4)", status="not_assessable",
                   rule=rule, citation=CITATION_HFA_PEFF, inputs=inputs,
                   missing=["HFA-PEFF step 3 (F1): diastolic stress echocardiography or invasive haemodynamics"],
                   details=details)


# --------------------------------------------------------------------------------------
# H2FPEF
# --------------------------------------------------------------------------------------


def _h2fpef_band(points: int) -> str:
    return "low" if points <= 1 else "intermediate" if points <= 5 else "high"


def h2fpef(
    *,
    bmi: float | None = None,
    antihypertensives: int | None = None,
    af: bool | None = None,
    pasp: float | None = None,
    age: float | None = None,
    e_e_prime: float | None = None,
) -> Finding:
    """H2FPEF score (0–9 points) and the continuous-model probability of HFpEF.

    Parameters
    ----------
    bmi
        Body-mass index, kg/m² (Heavy: >30 → 2 points).
    antihypertensives
        Number of antihypertensive medicines (Hypertensive: ≥2 → 1 point).
    af
        Paroxysmal or persistent atrial fibrillation (3 points).
    pasp
        Echo PA systolic pressure, mmHg (>35 → 1 point).
    age
        Years (Elder: >60 → 1 point).
    e_e_prime
        Echo E/e′ (Filling pressure: >9 → 1 point).

    Returns
    -------
    Finding
        code ``hfpef_h2fpef``: ``present`` for 6–9 points (high probability), ``absent``
        for 0–1 (low), ``not_assessable`` for 2–5 (intermediate: further testing) or when
        missing inputs could change the band. ``details["probability_percent"]`` is the
        continuous model's probability when age, BMI, E/e′, PASP and AF are all given.

    Notes
    -----
    Reddy YNV et al., Circulation 2018;138:861–870, doi:10.1161/CIRCULATIONAHA.118.034646.
    Points ☑C (three implementations agree; sum 9 matches the published 0–9 range), bands
    ✅S. Continuous model coefficients ☑C only (:data:`H2FPEF_CONTINUOUS`; ⚠M that the paper
    prints them) — reported, flagged, not used for the band.
    """
    bmi = v.optional("bmi", bmi, 10, 100, unit="kg/m2")
    if antihypertensives is not None:
        antihypertensives = v.integer("antihypertensives", antihypertensives, 0, 20)
    af = v.flag("af", af)
    pasp = v.optional("pasp", pasp, 0, 200, unit="mmHg")
    age = v.optional("age", age, 18, 120, unit="years")
    e_e_prime = v.optional("e_e_prime", e_e_prime, 0, 100)
    th = H2FPEF_THRESHOLDS
    crit: dict[str, bool | None] = {
        "heavy": _gt(bmi, th["bmi"]),
        "hypertensive": None if antihypertensives is None else antihypertensives >= th["antihypertensives"],
        "af": af,
        "pulmonary_hypertension": _gt(pasp, th["pasp"]),
        "elder": _gt(age, th["age"]),
        "filling_pressure": _gt(e_e_prime, th["e_e_prime"]),
    }
    points = sum(H2FPEF_POINTS[k] for k, c in crit.items() if c)
    points_max = points + sum(H2FPEF_POINTS[k] for k, c in crit.items() if c is None)
    band_lo, band_hi = _h2fpef_band(points), _h2fpef_band(points_max)
    prob = None
    if None not in (age, bmi, e_e_prime, pasp, af):
        c = H2FPEF_CONTINUOUS
        y = (c["intercept"] + c["age"] * age + c["bmi"] * bmi + c["e_e_prime"] * e_e_prime  # type: ignore[operator]
             + c["pasp"] * pasp + c["af"] * (1.0 if af else 0.0))  # type: ignore[operator]
        prob = 100.0 / (1.0 + math.exp(-y))
    names = {"heavy": "BMI (kg/m²)", "hypertensive": "number of antihypertensives", "af": "atrial fibrillation (yes/no)",
             "pulmonary_hypertension": "PASP (mmHg)", "elder": "age (years)", "filling_pressure": "E/e′"}
    missing = [names[k] for k, c in crit.items() if c is None]
    inputs = {k: val for k, val in {"bmi": bmi, "antihypertensives": antihypertensives, "af": af, "pasp": pasp,
                                     "age": age, "e_e_prime": e_e_prime}.items() if val is not None}
    details: dict[str, Any] = {"points": points, "points_max": points_max, "criteria": crit,
                               "probability_percent": prob,
                               "probability_model": "continuous logistic model, coefficients ☑C (public code), unverified in paper (⚠M)",
                               "bands": "0–1 low, 2–5 intermediate, 6–9 high"}
    rule = v.rule_name(h2fpef)
    if band_lo != band_hi:
        details["band"] = None
        return Finding(code="hfpef_h2fpef", statement=f"H2FPEF {points}–{points_max} points: band undetermined",
                       status="not_assessable", rule=rule, citation=CITATION_H2FPEF, inputs=inputs, missing=missing,
                       details=details)
    details["band"] = band_lo
    ptxt = f"; model probability {prob:.1f} %" if prob is not None else ""
    if band_lo == "high":
        status, extra = "present", []
    elif band_lo == "low":
        status, extra = "absent", []
    else:
        status, extra = "not_assessable", ["further testing: exercise echocardiography or invasive haemodynamics"]
    return Finding(code="hfpef_h2fpef", statement=f"H2FPEF {points} points: {band_lo} probability of HFpEF{ptxt}",
                   status=status, rule=rule, citation=CITATION_H2FPEF, inputs=inputs, missing=extra, details=details)


# --------------------------------------------------------------------------------------
# ASE/EACVI 2016 diastolic function
# --------------------------------------------------------------------------------------


def _grade_reduced_ef(e_a: float | None, e_vel: float | None, average_e_e: float | None,
                      tr_velocity: float | None, lavi: float | None) -> tuple[str | None, str | None, list[str], dict[str, Any]]:
    """ASE 2016 algorithm B → (LAP, grade, missing, details)."""
    a = ASE2016
    if e_a is None:
        return None, None, ["mitral inflow E/A ratio (and E velocity, cm/s)"], {}
    if e_a >= a["e_a_high"]:
        return "elevated", "III", [], {"path": "E/A ≥2"}
    if e_a <= a["e_a_low"]:
        if e_vel is None:
            return None, None, ["mitral E velocity (cm/s)"], {"path": "E/A ≤0.8, E unknown"}
        if e_vel <= a["e_low"]:
            return "normal", "I", [], {"path": "E/A ≤0.8 and E ≤50 cm/s"}
    crit = {"average E/e′ >14": _gt(average_e_e, a["e_e_average"]), "TR velocity >2.8 m/s": _gt(tr_velocity, a["tr_velocity"]),
            "LAVI >34 mL/m²": _gt(lavi, a["lavi"])}
    pos = sum(1 for c in crit.values() if c is True)
    neg = sum(1 for c in crit.values() if c is False)
    det = {"path": "three criteria", "criteria": crit, "positive": pos, "negative": neg}
    if pos >= 2:
        return "elevated", "II", [], det
    if neg >= 2:
        return "normal", "I", [], det
    need = [k for k, c in crit.items() if c is None]
    return "indeterminate", None, need or ["pulmonary vein S/D ratio (supports elevated LAP when <1; ⚠M)"], det


def diastolic_function(
    *,
    lvef: float | None = None,
    myocardial_disease: bool | None = None,
    septal_e: float | None = None,
    lateral_e: float | None = None,
    average_e_e: float | None = None,
    tr_velocity: float | None = None,
    lavi: float | None = None,
    e_velocity: float | None = None,
    e_a_ratio: float | None = None,
) -> Finding:
    """LV diastolic function and filling pressure, ASE/EACVI 2016.

    Parameters
    ----------
    lvef
        LVEF, %. Below 50 % (⚠M cut-off, :data:`ASE_NORMAL_LVEF_MIN`) the reduced-EF
        algorithm is used.
    myocardial_disease
        Known myocardial disease (uses the reduced-EF algorithm even with normal LVEF).
    septal_e, lateral_e
        e′, cm/s (abnormal: septal <7, lateral <10).
    average_e_e
        Average E/e′ (abnormal >14).
    tr_velocity
        Peak TR velocity, m/s (abnormal >2.8).
    lavi
        LA maximal volume index, mL/m² (abnormal >34).
    e_velocity, e_a_ratio
        Mitral inflow E, cm/s, and E/A (reduced-EF algorithm).

    Returns
    -------
    Finding
        code ``diastolic_dysfunction``: ``absent`` (normal function), ``present`` (with
        ``details["grade"]`` I/II/III and ``details["lap"]`` normal/elevated), or
        ``not_assessable`` (indeterminate or missing inputs; ``missing`` says what).

    Notes
    -----
    Normal LVEF: dysfunction if >50 % of available variables are abnormal, normal if <50 %,
    indeterminate at exactly 50 % (heartprint needs ≥2 available). Dysfunction is graded by
    the reduced-EF algorithm: E/A ≤0.8 with E ≤50 cm/s → grade I; E/A ≥2 → grade III;
    otherwise 2–3 of (E/e′ >14, TR >2.8 m/s, LAVI >34) positive → grade II, 2–3 negative →
    grade I, 1+1 of 2 → indeterminate. Nagueh SF et al., J Am Soc Echocardiogr
    2016;29:277–314, doi:10.1016/j.echo.2016.01.011 (✅S, ☑C; figure numbers ⚠M).
    """
    lvef = v.optional("lvef", lvef, 0, 100, unit="%")
    myocardial_disease = v.flag("myocardial_disease", myocardial_disease)
    septal_e = v.optional("septal_e", septal_e, 0, 40, unit="cm/s", low_open=True)
    lateral_e = v.optional("lateral_e", lateral_e, 0, 40, unit="cm/s", low_open=True)
    average_e_e = v.optional("average_e_e", average_e_e, 0, 100)
    tr_velocity = v.optional("tr_velocity", tr_velocity, 0, 8, unit="m/s")
    lavi = v.optional("lavi", lavi, 0, 300, unit="mL/m2")
    e_velocity = v.optional("e_velocity", e_velocity, 0, 300, unit="cm/s")
    e_a_ratio = v.optional("e_a_ratio", e_a_ratio, 0, 10, low_open=True)
    inputs = {k: val for k, val in {"lvef": lvef, "myocardial_disease": myocardial_disease, "septal_e": septal_e,
                                     "lateral_e": lateral_e, "average_e_e": average_e_e, "tr_velocity": tr_velocity,
                                     "lavi": lavi, "e_velocity": e_velocity, "e_a_ratio": e_a_ratio}.items() if val is not None}
    rule = v.rule_name(diastolic_function)

    def out(status: str, statement: str, missing: list[str] | None = None, **details: Any) -> Finding:
        return Finding(code="diastolic_dysfunction", statement=statement, status=status, rule=rule,
                       citation=CITATION_ASE2016, inputs=inputs, missing=missing or [], details=details)

    if myocardial_disease is None and lvef is None:
        return out("not_assessable", "Diastolic function not assessable: algorithm unknown",
                   ["LVEF (%) or whether myocardial disease is present (selects the ASE 2016 algorithm)"])
    reduced = bool(myocardial_disease) or (lvef is not None and lvef < ASE_NORMAL_LVEF_MIN)

    if not reduced:
        a = ASE2016
        e_prime = (_any(_lt(septal_e, a["septal_e"]), _lt(lateral_e, a["lateral_e"]))
                   if septal_e is not None and lateral_e is not None
                   else _lt(septal_e, a["septal_e"]) if septal_e is not None else _lt(lateral_e, a["lateral_e"]))
        variables = {"average E/e′ >14": _gt(average_e_e, a["e_e_average"]),
                     "septal e′ <7 or lateral e′ <10 cm/s": e_prime,
                     "TR velocity >2.8 m/s": _gt(tr_velocity, a["tr_velocity"]),
                     "LAVI >34 mL/m²": _gt(lavi, a["lavi"])}
        available = [c for c in variables.values() if c is not None]
        n_abn = sum(available)
        det = {"algorithm": "normal LVEF", "variables": variables, "available": len(available), "abnormal": n_abn}
        if len(available) < ASE_MIN_AVAILABLE:
            return out("not_assessable", "Diastolic function not assessable: too few variables",
                       [k for k, c in variables.items() if c is None], **det)
        if 2 * n_abn < len(available):
            return out("absent", f"Normal diastolic function ({n_abn}/{len(available)} variables abnormal)", **det)
        if 2 * n_abn == len(available):
            return out("not_assessable", f"Diastolic function indeterminate ({n_abn}/{len(available)} abnormal)",
                       [k for k, c in variables.items() if c is None] or ["additional diastolic variables / clinical context"],
                       result="indeterminate", **det)
        lap, grade, missing, gdet = _grade_reduced_ef(e_a_ratio, e_velocity, average_e_e, tr_velocity, lavi)
        det.update(grading=gdet, lap=lap, grade=grade)
        return out("present", f"Diastolic dysfunction ({n_abn}/{len(available)} variables abnormal)"
                   + (f", grade {grade}, LAP {lap}" if grade else ", grade not determined"), missing, **det)

    lap, grade, missing, gdet = _grade_reduced_ef(e_a_ratio, e_velocity, average_e_e, tr_velocity, lavi)
    det = {"algorithm": "reduced LVEF or myocardial disease", "lap": lap, "grade": grade, "grading": gdet}
    if grade is None:
        return out("not_assessable", "Filling pressure and grade indeterminate" if lap == "indeterminate"
                   else "Filling pressure not assessable", missing, result=lap, **det)
    return out("present", f"Diastolic dysfunction grade {grade}, LAP {lap}", **det)



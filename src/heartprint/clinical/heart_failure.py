"""Heart failure rules: ESC 2021 HF type, HFA-PEFF, H2FPEF and ASE/EACVI 2016 diastolic function.

Every rule is three-valued on missing data: a criterion that cannot be evaluated is
unknown, and a conclusion is drawn only when the unknowns cannot change it. Otherwise the
Finding is ``not_assessable``, ``missing`` names what is needed and, where useful,
``details["would_be"]`` says what each answer would give. No parameter default states a
clinical fact. Where a guideline threshold depends on a fact (rhythm, sex, age band, the EF
range, myocardial disease) that was not given, the rule decides when the value clears the
threshold of every branch (e.g. NT-proBNP 400 pg/mL is above both the sinus-rhythm 125 and
the AF 365 pg/mL bound of ESC 2021 Table 9). Nothing is guessed.

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
#: LVEF below which the reduced-EF algorithm is used (with LVEF at or above it, the
#: normal-EF algorithm needs ``myocardial_disease=False``). ⚠M (ASE 2016 says "normal LVEF" without a number in the sources consulted; 50 %
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
# Deciding across a fact that was not given
# --------------------------------------------------------------------------------------

_OPS = {">": lambda x, t: x > t, ">=": lambda x, t: x >= t, "<": lambda x, t: x < t}


def _test(x: float | None, op: str, t: float) -> bool | None:
    return None if x is None else _OPS[op](x, t)


def _branches(x: float | None, rule: dict[str, tuple[str, float]], known: str | None) -> bool | None:
    """Tri-state test of ``x`` against a threshold that depends on a fact (rhythm, sex).

    With the fact known, the fact's own threshold decides; with the fact unknown, ``x`` is
    abnormal (normal) only when it is abnormal (normal) for every value of the fact.
    """
    if x is None:
        return None
    if known is not None:
        return _test(x, *rule[known])
    results = {_test(x, *r) for r in rule.values()}
    return results.pop() if len(results) == 1 else None


def _joined(names: list[str]) -> str:
    return ", ".join(names)


# --------------------------------------------------------------------------------------
# ESC 2021 HF type
# --------------------------------------------------------------------------------------

#: ESC 2021 Table 9 (✅P) as data: name → (fact the threshold depends on or None, test).
#: A fact-dependent test is {fact value: (operator, threshold)}.
TABLE9_TESTS: dict[str, tuple[str | None, Any]] = {
    "lvmi": ("sex", {"female": (">=", 95.0), "male": (">=", 115.0)}),
    "rwt": (None, (">", 0.42)),
    "lavi": ("rhythm", {"sinus": (">", 34.0), "af": (">", 40.0)}),
    "e_e_prime": (None, (">", 9.0)),
    "nt_probnp": ("rhythm", {"sinus": (">", 125.0), "af": (">", 365.0)}),
    "bnp": ("rhythm", {"sinus": (">", 35.0), "af": (">", 105.0)}),
    "pasp": (None, (">", 35.0)),
    "tr_velocity": (None, (">", 2.8)),
}
_TABLE9_UNITS = {"lvmi": "g/m2", "rwt": "1", "lavi": "mL/m2", "e_e_prime": "1", "nt_probnp": "pg/mL", "bnp": "pg/mL",
                 "pasp": "mmHg", "tr_velocity": "m/s"}
_TABLE9_NAMES = {"lvmi": "LV mass index", "rwt": "relative wall thickness", "lavi": "LA volume index", "e_e_prime": "E/e′",
                 "nt_probnp": "NT-proBNP", "bnp": "BNP", "pasp": "PA systolic pressure", "tr_velocity": "TR velocity"}
_UNIT_TEXT = {"g/m2": " g/m²", "mL/m2": " mL/m²", "pg/mL": " pg/mL", "mmHg": " mmHg", "m/s": " m/s", "1": ""}
_FACT_TEXT = {"sex": "sex", "rhythm": "rhythm (sinus rhythm or AF)"}
_BRANCH_TEXT = {"sinus": "sinus rhythm", "af": "AF", "male": "men", "female": "women"}
_OP_TEXT = {">": ">", ">=": "≥", "<": "<"}

#: Plain names of the ESC 2021 Table 3 types (and HF with improved EF), with their criteria.
HF_TYPE_NAMES = {"hfref": "HF with reduced EF", "hfmref": "HF with mildly reduced EF", "hfpef": "HF with preserved EF",
                 "hfimpef": "HF with improved EF"}
HF_TYPE_CRITERIA = {
    "hfref": "HFrEF (LVEF ≤40 %)",
    "hfmref": "HFmrEF (LVEF 41–49 %)",
    "hfpef": "HFpEF (LVEF ≥50 % with objective evidence, Table 9)",
    "hfimpef": "HF with improved EF (LVEF ≤40 % before, ≥50 % now)",
}
_EVIDENCE_TEXT = ("objective evidence of cardiac structural/functional abnormality consistent with LV diastolic "
                  "dysfunction or raised LV filling pressures, including raised natriuretic peptides (ESC 2021 Table 9)")


def _table9(values: dict[str, float | None], sex: str | None, rhythm: str | None) -> tuple[dict[str, bool | None], list[str]]:
    """Tri-state result of each measured Table 9 item, and the facts (plain words) that would decide the undecided."""
    tests: dict[str, bool | None] = {}
    needs: list[str] = []
    known = {"sex": sex, "rhythm": rhythm}
    for key, x in values.items():
        if x is None:
            continue
        fact, rule = TABLE9_TESTS[key]
        tests[key] = _test(x, *rule) if fact is None else _branches(x, rule, known[fact])
        if tests[key] is None:
            yes = [f"{_BRANCH_TEXT[b]} ({_OP_TEXT[op]}{t:g})" for b, (op, t) in rule.items() if _test(x, op, t)]
            no = [f"{_BRANCH_TEXT[b]} ({_OP_TEXT[op]}{t:g})" for b, (op, t) in rule.items() if not _test(x, op, t)]
            needs.append(f"{_FACT_TEXT[fact]}: {_TABLE9_NAMES[key]} {_shown(key, x)} is abnormal in {' and '.join(yes)} "
                         f"but not in {' and '.join(no)}")
    return tests, needs


def _shown(key: str, x: float) -> str:
    return f"{x:g}{_UNIT_TEXT[_TABLE9_UNITS[key]]}"


def hf_type(
    lvef: float,
    *,
    symptoms: bool | None = None,
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

    Every input but ``lvef`` may be unknown (``None``); the type is given only when it is the
    same for every value the unknown inputs could take, otherwise the Finding is
    ``not_assessable``, ``missing`` names what would decide it and ``details["would_be"]``
    says what each answer would give.

    Parameters
    ----------
    lvef
        LV ejection fraction, % (0–100).
    symptoms
        Symptoms ± signs of HF (Table 3 criterion 1). ``None``: unknown (no type is given;
        ``details["would_be"]`` has the type with and without symptoms). ``False``: no HF
        syndrome (``absent``).
    hfpef_evidence
        For LVEF ≥50 %: objective evidence of structural/functional abnormality consistent
        with LV diastolic dysfunction or raised filling pressures (criterion 3). If ``None``
        it is derived from the Table 9 measurements given (any one abnormal is evidence):
        ``lvmi`` g/m² (≥95 female, ≥115 male), ``rwt`` (>0.42), ``lavi`` mL/m² (>34 sinus
        rhythm, >40 AF), ``e_e_prime`` (>9), NT-proBNP (>125 sinus, >365 AF) and BNP (>35
        sinus, >105 AF) pg/mL, ``pasp`` mmHg (>35), ``tr_velocity`` m/s (>2.8). With ``sex``
        or ``rhythm`` unknown an item decides when it is abnormal for every sex / rhythm
        (e.g. LVMI ≥115 g/m², NT-proBNP >365 pg/mL). Normal Table 9 items never show the
        absence of evidence (other evidence exists), so without an abnormal item HFpEF is
        ``not_assessable``. ``hfpef_evidence=False`` with an abnormal Table 9 item is a
        contradiction, reported as such.
    previous_lvef
        Earlier LVEF, %. ≤40 % before and ≥50 % now → HF with improved EF. Unknown with
        LVEF ≥50 %: HFpEF and HF with improved EF cannot be told apart (``not_assessable``).
    sex, rhythm
        ``"male"``/``"female"``; ``"sinus"``/``"af"``.

    Returns
    -------
    Finding
        code ``hfref`` (LVEF ≤40 %), ``hfmref`` (41–49 %), ``hfpef`` (≥50 % + evidence) or
        ``hfimpef`` (improved EF); ``present``, ``absent`` (no symptoms; or HFpEF stated to
        lack objective evidence) or ``not_assessable``.

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
    measured = {
        "lvmi": v.optional("lvmi", lvmi, 0, 500, unit="g/m2"),
        "rwt": v.optional("rwt", rwt, 0, 2),
        "lavi": v.optional("lavi", lavi, 0, 300, unit="mL/m2"),
        "e_e_prime": v.optional("e_e_prime", e_e_prime, 0, 100),
        "nt_probnp": v.optional("nt_probnp", nt_probnp, 0, 1e6, unit="pg/mL"),
        "bnp": v.optional("bnp", bnp, 0, 1e6, unit="pg/mL"),
        "pasp": v.optional("pasp", pasp, 0, 200, unit="mmHg"),
        "tr_velocity": v.optional("tr_velocity", tr_velocity, 0, 8, unit="m/s"),
    }

    inputs: dict[str, Any] = {"lvef": _q("lvef", lvef, "%")}
    if symptoms is not None:
        inputs["symptoms"] = symptoms
    if previous_lvef is not None:
        inputs["previous_lvef"] = _q("previous_lvef", previous_lvef, "%")
    for key, x in measured.items():
        if x is not None:
            inputs[key] = _q(key, x, _TABLE9_UNITS[key])
    for key, x in (("sex", sex), ("rhythm", rhythm), ("hfpef_evidence", hfpef_evidence)):
        if x is not None:
            inputs[key] = x
    rule = v.rule_name(hf_type)
    band = "hfref" if lvef <= LVEF_HFREF_MAX else "hfmref" if lvef < LVEF_HFPEF_MIN else "hfpef"
    details: dict[str, Any] = {"bands": "HFrEF ≤40 %, HFmrEF 41–49 %, HFpEF ≥50 %"}

    # Criterion 3 (HFpEF only): objective evidence, Table 9
    tests, fact_needs = _table9(measured, sex, rhythm)
    abnormal = [ESC2021_TABLE9[k] for k, t in tests.items() if t]
    abnormal_values = [f"{_TABLE9_NAMES[k]} {_shown(k, measured[k])}" for k, t in tests.items() if t]
    if band == "hfpef" and tests:
        details["table9"] = tests
        details["table9_abnormal"] = abnormal
    evidence = hfpef_evidence if hfpef_evidence is not None else (True if abnormal else None)
    contradiction = hfpef_evidence is False and bool(abnormal)

    def outcome(sym: bool, prev_reduced: bool | None) -> tuple[str, str, str]:
        if not sym:
            return band, "absent", f"no HF syndrome: no symptoms or signs of HF (LVEF {lvef:g} %)"
        if band != "hfpef":
            return band, "present", HF_TYPE_CRITERIA[band]
        if prev_reduced:
            return "hfimpef", "present", HF_TYPE_CRITERIA["hfimpef"]
        if evidence is True:
            return "hfpef", "present", HF_TYPE_CRITERIA["hfpef"]
        if evidence is False:
            return "hfpef", "absent", "HFpEF criteria not met: no objective evidence (Table 9)"
        return "hfpef", "not_assessable", "HFpEF if there is objective evidence (Table 9); none shown"

    sym_values = [symptoms] if symptoms is not None else [True, False]
    if band != "hfpef":
        prev_values: list[bool | None] = [None]
    elif previous_lvef is not None:
        prev_values = [previous_lvef <= LVEF_HFREF_MAX]
    else:
        prev_values = [True, False]
    scenarios = {(s, p): outcome(s, p) for s in sym_values for p in prev_values}
    answers = {(c, st) for c, st, _ in scenarios.values()}
    reaches_evidence = any(s and not p for s, p in scenarios if band == "hfpef")

    if contradiction and reaches_evidence:
        details["contradiction"] = {"hfpef_evidence": False, "abnormal": abnormal_values}
        said = "; ".join(abnormal_values)
        return Finding(code="hfpef", status="not_assessable", rule=rule, citation=CITATION_ESC2021, inputs=inputs,
                       statement=f"HF type not assessable (LVEF {lvef:g} %): contradictory inputs: objective evidence of "
                                 f"HFpEF stated absent, but {said} is objective evidence",
                       missing=[f"resolve the contradiction: objective evidence of HFpEF stated absent, but {said}"],
                       details=details)
    if len(answers) == 1:
        code, status = next(iter(answers))
        if status != "not_assessable":
            text = next(iter(scenarios.values()))[2]
            statement = (f"{HF_TYPE_NAMES[code]} (LVEF {lvef:g} %)" if status == "present"
                         else text[0].upper() + text[1:])
            return Finding(code=code, statement=statement, status=status, rule=rule, citation=CITATION_ESC2021,
                           inputs=inputs, details=details)

    missing: list[str] = []
    if symptoms is None:  # without symptoms there is no HF syndrome; with them, a type: it always matters
        missing.append("symptoms ± signs of heart failure")
    if len(prev_values) > 1 and any(scenarios[(s, True)][:2] != scenarios[(s, False)][:2] for s in sym_values):
        missing.append("earlier LVEF (HF with improved EF if it was ≤40 %)")
    if any(st == "not_assessable" for _, st, _ in scenarios.values()):
        missing.append(_EVIDENCE_TEXT)
        missing += fact_needs
    if len(scenarios) > 1:
        would_be: dict[str, str] = {}
        for (s, p), (_, _, text) in scenarios.items():
            parts = []
            if symptoms is None:
                parts.append("with symptoms ± signs of HF" if s else "without symptoms or signs of HF")
            if s and len(prev_values) > 1:
                parts.append("earlier LVEF ≤40 %" if p else "earlier LVEF >40 % or none")
            would_be[", ".join(parts)] = text
        details["would_be"] = would_be
    statement = f"HF type not assessable (LVEF {lvef:g} %): needs {'; '.join(missing)}"
    if symptoms is None and (True, prev_values[0]) in scenarios and len(prev_values) == 1:
        statement += f"; with symptoms it would be {scenarios[(True, prev_values[0])][2]}"
    return Finding(code=band, statement=statement, status="not_assessable", rule=rule, citation=CITATION_ESC2021,
                   inputs=inputs, missing=missing, details=details)


# --------------------------------------------------------------------------------------
# HFA-PEFF
# --------------------------------------------------------------------------------------

_HFA_DOMAINS = ("functional", "morphological", "biomarker")


_Criterion = tuple[bool | None, tuple[str, ...]]  # (met?, names of the unknown measurements it needs)


def _domain(major: list[_Criterion], minor: list[_Criterion]) -> tuple[int, int, list[str]]:
    """(lowest, highest possible points, names of the unknown items that could change them) of one HFA-PEFF domain."""
    if any(m is True for m, _ in major):
        return 2, 2, []
    known = 1 if any(m is True for m, _ in minor) else 0
    unknown_major = [n for m, names in major if m is None for n in names]
    unknown_minor = [n for m, names in minor if m is None for n in names] if known == 0 else []
    hi = 2 if any(m is None for m, _ in major) else 1 if any(m is None for m, _ in minor) and known == 0 else known
    return known, hi, list(dict.fromkeys(unknown_major + unknown_minor)) if hi > known else []


def _c(met: bool | None, **values: float | None) -> _Criterion:
    """A criterion and the names of its unknown measurements (keys of :data:`_HFA_NAMES`)."""
    return met, tuple(_HFA_NAMES[k] for k, x in values.items() if x is None) if met is None else ()


_HFA_NAMES = {"septal_e": "septal e′ (cm/s)", "lateral_e": "lateral e′ (cm/s)", "average_e_e": "average E/e′",
              "tr_velocity": "TR velocity (m/s)", "pasp": "PASP (mmHg)", "gls": "GLS (%)", "lavi": "LAVI (mL/m²)",
              "lvmi": "LVMI (g/m²)", "rwt": "RWT", "wall_thickness": "LV wall thickness (mm)",
              "nt_probnp": "NT-proBNP (pg/mL)", "bnp": "BNP (pg/mL)"}


def _hfa_category(total: int) -> str:
    return "HFpEF" if total >= 5 else "unlikely" if total <= 1 else "intermediate"


_HFA_CATEGORY_TEXT = {"HFpEF": "HFpEF (score ≥5)", "intermediate": "intermediate (score 2–4): step 3 (F1) testing",
                      "unlikely": "HFpEF unlikely (score ≤1)"}


def _hfa_points(rhythm: str, sex: str, old: bool, m: dict[str, float | None]) -> dict[str, tuple[int, int, list[str]]]:
    """Points of each HFA-PEFF domain for one value of rhythm, sex and age band (measurements may be unknown)."""
    t = HFA_PEFF
    band = ">=75" if old else "<75"
    avg, lavi, lvmi, rwt = m["average_e_e"], m["lavi"], m["lvmi"], m["rwt"]
    functional = _domain(
        [_c(_lt(m["septal_e"], t["septal_e_major"][band]), septal_e=m["septal_e"]),
         _c(_lt(m["lateral_e"], t["lateral_e_major"][band]), lateral_e=m["lateral_e"]),
         _c(_ge(avg, t["e_e_major"]), average_e_e=avg),
         _c(_gt(m["tr_velocity"], t["tr_major"]), tr_velocity=m["tr_velocity"]),
         _c(_gt(m["pasp"], t["pasp_major"]), pasp=m["pasp"])],
        [_c(None if avg is None else t["e_e_minor"] <= avg < t["e_e_major"], average_e_e=avg),
         _c(None if m["gls"] is None else abs(m["gls"]) < t["gls_minor"], gls=m["gls"])])
    rwt_hi = _gt(rwt, t["rwt"])
    morphological = _domain(
        [_c(_gt(lavi, t["lavi_major"][rhythm]), lavi=lavi),
         _c(_all(_ge(lvmi, t["lvmi_major"][sex]), rwt_hi), lvmi=lvmi, rwt=rwt)],
        [_c(None if lavi is None else t["lavi_minor"][rhythm] <= lavi <= t["lavi_major"][rhythm], lavi=lavi),
         _c(_ge(lvmi, t["lvmi_minor"][sex]), lvmi=lvmi), _c(rwt_hi, rwt=rwt),
         _c(_ge(m["wall_thickness"], t["wall_minor"]), wall_thickness=m["wall_thickness"])])

    def peptide(key: str, table: str) -> tuple[_Criterion, _Criterion]:
        x = m[key]
        if x is None:
            return _c(None, **{key: x}), _c(None, **{key: x})
        lo, hi = t[table][rhythm]
        return (x > hi, ()), (lo <= x <= hi, ())

    nt_major, nt_minor = peptide("nt_probnp", "ntprobnp")
    b_major, b_minor = peptide("bnp", "bnp")
    biomarker = _domain([nt_major, b_major], [nt_minor, b_minor])
    return {"functional": functional, "morphological": morphological, "biomarker": biomarker}

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

    Every input may be unknown (``None``). A domain scores when its points are the same for
    every value of what was not given (rhythm, sex, age band and the unmeasured items);
    otherwise its points are uncertain (``details[domain]`` is ``None`` and
    ``details["points_range"][domain]`` gives the lowest and highest possible points). The
    category is given only when it holds for every possible score.

    Parameters
    ----------
    rhythm
        ``"sinus"`` or ``"af"`` (LAVI and natriuretic peptide thresholds differ). Unknown:
        a value above (below) both rhythms' thresholds still scores (does not score).
    sex
        ``"male"``/``"female"`` (LVMI thresholds).
    age
        Years (e′ thresholds are lower at ≥75 y).
    septal_e, lateral_e
        Mitral annular e′, cm/s (major: septal <7 or lateral <10; ≥75 y: <5 or <7). One
        normal e′ with the other unknown leaves the criterion unknown.
    average_e_e
        Average E/e′ (dimensionless).
    tr_velocity, pasp
        Peak TR velocity, m/s (>2.8); PA systolic pressure, mmHg (>35). Either abnormal
        meets the major criterion; one normal with the other unknown leaves it unknown.
    gls
        LV global longitudinal strain, % (sign ignored: |GLS| <16 % is the minor criterion).
    lavi, lvmi, rwt, wall_thickness
        LA volume index mL/m², LV mass index g/m², relative wall thickness, LV wall thickness mm.
    nt_probnp, bnp
        pg/mL. Either abnormal scores; one normal with the other unknown leaves the domain
        uncertain.

    Returns
    -------
    Finding
        code ``hfpef_hfa_peff``. ``present`` when every possible total is ≥5 (HFpEF),
        ``absent`` when every possible total is ≤1 (unlikely), ``not_assessable`` when 2–4
        (intermediate: step F1, diastolic stress echo or invasive haemodynamics) or when
        what was not given could change the category (``missing`` names it per domain).
        ``details``: points per domain (functional, morphological, biomarker; ``None`` when
        uncertain), ``points_range``, ``total`` (lowest possible), ``total_max`` (highest
        possible), ``category`` and, when undetermined, ``would_be``.

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
    m = {
        "septal_e": v.optional("septal_e", septal_e, 0, 40, unit="cm/s", low_open=True),
        "lateral_e": v.optional("lateral_e", lateral_e, 0, 40, unit="cm/s", low_open=True),
        "average_e_e": v.optional("average_e_e", average_e_e, 0, 100),
        "tr_velocity": v.optional("tr_velocity", tr_velocity, 0, 8, unit="m/s"),
        "pasp": v.optional("pasp", pasp, 0, 200, unit="mmHg"),
        "gls": v.optional("gls", gls, -50, 50, unit="%"),
        "lavi": v.optional("lavi", lavi, 0, 300, unit="mL/m2"),
        "lvmi": v.optional("lvmi", lvmi, 0, 500, unit="g/m2"),
        "rwt": v.optional("rwt", rwt, 0, 2),
        "wall_thickness": v.optional("wall_thickness", wall_thickness, 0, 60, unit="mm"),
        "nt_probnp": v.optional("nt_probnp", nt_probnp, 0, 1e6, unit="pg/mL"),
        "bnp": v.optional("bnp", bnp, 0, 1e6, unit="pg/mL"),
    }
    facts: dict[str, list[Any]] = {
        "rhythm": [rhythm] if rhythm is not None else list(_RHYTHMS),
        "sex": [sex] if sex is not None else list(_SEXES),
        "old": [age >= 75] if age is not None else [False, True],
    }
    combos = [(r, s, o) for r in facts["rhythm"] for s in facts["sex"] for o in facts["old"]]
    points = {c: _hfa_points(*c, m) for c in combos}

    per_domain: dict[str, Any] = {}
    ranges: dict[str, list[int]] = {}
    missing: list[str] = []
    fact_text = {0: "rhythm (sinus rhythm or AF: LAVI and natriuretic-peptide thresholds differ)",
                 1: "sex (LVMI thresholds differ)", 2: "age (e′ thresholds are lower at ≥75 years)"}
    for d in _HFA_DOMAINS:
        lohi = {c: points[c][d][:2] for c in combos}
        lo, hi = min(x[0] for x in lohi.values()), max(x[1] for x in lohi.values())
        ranges[d] = [lo, hi]
        per_domain[d] = lo if lo == hi else None
        if lo != hi:
            names = list(dict.fromkeys(n for c in combos for n in points[c][d][2]))
            # a fact matters when changing it alone changes the domain's possible points
            facts_needed = [fact_text[i] for i in range(3)
                            if any(lohi[c] != lohi[c2] for c in combos for c2 in combos
                                   if c[i] != c2[i] and all(c[j] == c2[j] for j in range(3) if j != i))]
            missing.append(f"{d}: {_joined(names + facts_needed)}")
    total = min(sum(points[c][d][0] for d in _HFA_DOMAINS) for c in combos)
    total_max = max(sum(points[c][d][1] for d in _HFA_DOMAINS) for c in combos)
    cat_lo, cat_hi = _hfa_category(total), _hfa_category(total_max)

    inputs = {k: val for k, val in {"rhythm": rhythm, "sex": sex, "age": age, **m}.items() if val is not None}
    details: dict[str, Any] = {**per_domain, "points_range": ranges, "total": total, "total_max": total_max,
                               "bands": "≥5 HFpEF; 2–4 intermediate (step F1); ≤1 unlikely",
                               "unverified": "ends of minor ranges (E/e′ 9–14, LAVI 29–34, LVMI ≥115/95) ⚠M"}
    rule = v.rule_name(hfa_peff)
    shown = f"{total}" if total == total_max else f"{total}–{total_max}"
    if cat_lo != cat_hi:
        details["category"] = None
        reachable = [c for c in ("unlikely", "intermediate", "HFpEF")
                     if any(_hfa_category(x) == c for x in range(total, total_max + 1))]
        details["would_be"] = {{"unlikely": "score ≤1", "intermediate": "score 2–4", "HFpEF": "score ≥5"}[c]:
                               _HFA_CATEGORY_TEXT[c] for c in reachable}
        return Finding(code="hfpef_hfa_peff", statement=f"HFA-PEFF score {shown} possible: category not assessable",
                       status="not_assessable", rule=rule, citation=CITATION_HFA_PEFF, inputs=inputs,
                       missing=missing, details=details)
    details["category"] = cat_lo
    if cat_lo == "HFpEF":
        return Finding(code="hfpef_hfa_peff", statement=f"HFA-PEFF score {shown}: HFpEF (≥5)", status="present",
                       rule=rule, citation=CITATION_HFA_PEFF, inputs=inputs, details=details)
    if cat_lo == "unlikely":
        return Finding(code="hfpef_hfa_peff", statement=f"HFA-PEFF score {shown}: HFpEF unlikely (≤1)", status="absent",
                       rule=rule, citation=CITATION_HFA_PEFF, inputs=inputs, details=details)
    return Finding(code="hfpef_hfa_peff", statement=f"HFA-PEFF score {shown}: intermediate (2–4)", status="not_assessable",
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
        Paroxysmal or persistent atrial fibrillation (3 points): a history of AF, not only the
        rhythm at the time of the echo (sinus rhythm on the day does not exclude paroxysmal
        AF). ``None``: unknown.
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
        missing inputs could change the band (``details["points_range"]`` is the lowest and
        highest possible score, ``details["would_be"]`` the bands it could reach). ``details["probability_percent"]`` is the
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
    details["points_range"] = [points, points_max]
    if band_lo != band_hi:
        details["band"] = None
        bands = {"low": "0–1 points", "intermediate": "2–5 points", "high": "6–9 points"}
        details["would_be"] = {bands[b]: f"{b} probability of HFpEF" for b in ("low", "intermediate", "high")
                               if any(_h2fpef_band(x) == b for x in range(points, points_max + 1))}
        return Finding(code="hfpef_h2fpef", statement=f"H2FPEF {points}–{points_max} points possible: band not assessable",
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
    """ASE 2016 algorithm B → (LAP, grade, missing, details).

    Decided only when the unknown criteria cannot change it: 2 of the 3 criteria positive
    (negative) whatever the third.
    """
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


_Result = tuple[str, str, list[str], dict[str, Any]]  # status, statement, missing, details


def _algorithm_b(e_a: float | None, e_vel: float | None, average_e_e: float | None, tr_velocity: float | None,
                 lavi: float | None) -> _Result:
    lap, grade, missing, gdet = _grade_reduced_ef(e_a, e_vel, average_e_e, tr_velocity, lavi)
    det = {"algorithm": "reduced LVEF or myocardial disease", "lap": lap, "grade": grade, "grading": gdet}
    if grade is None:
        return ("not_assessable", "Filling pressure and grade indeterminate" if lap == "indeterminate"
                else "Filling pressure not assessable", missing, {**det, "result": lap})
    return "present", f"Diastolic dysfunction grade {grade}, LAP {lap}", [], det


def _normal_ef_outcome(n_abnormal: int, n_available: int) -> str:
    if n_available < ASE_MIN_AVAILABLE:
        return "too few variables"
    if 2 * n_abnormal < n_available:
        return "normal"
    if 2 * n_abnormal == n_available:
        return "indeterminate"
    return "dysfunction"


def _algorithm_a(variables: dict[str, bool | None], grading: _Result) -> _Result:
    """ASE 2016 algorithm A on the four variables, decided over every value of the unknown ones.

    An unknown variable may be abnormal, normal or unobtainable (then it is not "available");
    the result is given only when it is the same in every case.
    """
    known = [c for c in variables.values() if c is not None]
    n_abn, n_unknown = sum(known), len(variables) - len(known)
    outcomes = {_normal_ef_outcome(n_abn + k_abn, len(known) + k_abn + k_norm)
                for k_abn in range(n_unknown + 1) for k_norm in range(n_unknown - k_abn + 1)}
    det: dict[str, Any] = {"algorithm": "normal LVEF", "variables": variables, "available": len(known), "abnormal": n_abn,
                           "available_only": f"{n_abn} of {len(known)} available variables abnormal: "
                                             f"{_normal_ef_outcome(n_abn, len(known))}"}
    unknown = [k for k, c in variables.items() if c is None]
    if len(outcomes) > 1:
        det["would_be"] = {o: f"possible, depending on {_joined(unknown)}" for o in sorted(outcomes)}
        return ("not_assessable", f"Diastolic function not assessable ({n_abn} of {len(known)} known variables abnormal; "
                f"the unknown ones could change it)", unknown, det)
    outcome = outcomes.pop()
    if outcome == "normal":
        return "absent", f"Normal diastolic function ({n_abn}/{len(known)} variables abnormal)", [], det
    if outcome == "indeterminate":
        return ("not_assessable", f"Diastolic function indeterminate ({n_abn}/{len(known)} abnormal)",
                ["additional diastolic variables / clinical context"], {**det, "result": "indeterminate"})
    g_status, _, g_missing, g_det = grading
    grade, lap = g_det["grade"], g_det["lap"]
    det.update(grading=g_det["grading"], lap=lap, grade=grade)
    if grade is None:  # dysfunction is certain, its grade is not: the answer (with its grade) is not given
        return ("not_assessable", f"Diastolic dysfunction ({n_abn}/{len(known)} variables abnormal); grade not assessable",
                g_missing, {**det, "result": "dysfunction, grade not determined", "dysfunction": True})
    return ("present", f"Diastolic dysfunction ({n_abn}/{len(known)} variables abnormal), grade {grade}, LAP {lap}",
            [], det)


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
        algorithm (B) is used.
    myocardial_disease
        Myocardial disease present (uses algorithm B even with normal LVEF); ``False``: none
        (normal LVEF → algorithm A); ``None``: unknown.
    septal_e, lateral_e
        e′, cm/s (abnormal: septal <7, lateral <10; one normal e′ with the other unknown
        leaves the variable unknown).
    average_e_e
        Average E/e′ (abnormal >14).
    tr_velocity
        Peak TR velocity, m/s (abnormal >2.8).
    lavi
        LA maximal volume index, mL/m² (abnormal >34).
    e_velocity, e_a_ratio
        Mitral inflow E, cm/s, and E/A (algorithm B, and grading).

    Returns
    -------
    Finding
        code ``diastolic_dysfunction``: ``absent`` (normal function), ``present`` (graded:
        ``details["grade"]`` I/II/III and ``details["lap"]`` normal/elevated), or
        ``not_assessable`` (indeterminate, or what was not given could change the answer;
        ``missing`` says what, ``details["would_be"]`` what each case would give).

    Notes
    -----
    The algorithm is chosen only when it is known: LVEF <50 % or myocardial disease → B;
    LVEF ≥50 % without myocardial disease → A. When LVEF or myocardial disease is unknown
    both are applied and an answer is given only when they agree.

    A (normal LVEF): dysfunction if >50 % of the available variables are abnormal, normal if
    <50 %, indeterminate at exactly 50 % (heartprint needs ≥2 available). An unmeasured
    variable could be abnormal, normal or unobtainable: the result is given only when it is
    the same in every case (``details["available_only"]`` has the reading on the measured
    variables alone). Dysfunction is graded by B; while its grade cannot be determined the
    Finding is ``not_assessable`` with ``details["dysfunction"] = True``. B: E/A ≤0.8 with E ≤50 cm/s → grade I;
    E/A ≥2 → grade III; otherwise 2–3 of (E/e′ >14, TR >2.8 m/s, LAVI >34) positive → grade
    II, 2–3 negative → grade I, otherwise indeterminate. Nagueh SF et al., J Am Soc
    Echocardiogr 2016;29:277–314, doi:10.1016/j.echo.2016.01.011 (✅S, ☑C; figure numbers ⚠M).
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

    def out(res: _Result, **extra: Any) -> Finding:
        status, statement, missing, details = res
        return Finding(code="diastolic_dysfunction", statement=statement, status=status, rule=rule,
                       citation=CITATION_ASE2016, inputs=inputs, missing=missing, details={**details, **extra})

    a = ASE2016
    b = _algorithm_b(e_a_ratio, e_velocity, average_e_e, tr_velocity, lavi)
    reduced = myocardial_disease is True or (lvef is not None and lvef < ASE_NORMAL_LVEF_MIN)
    if reduced:
        return out(b)
    variables = {"average E/e′ >14": _gt(average_e_e, a["e_e_average"]),
                 "septal e′ <7 or lateral e′ <10 cm/s": _any(_lt(septal_e, a["septal_e"]), _lt(lateral_e, a["lateral_e"])),
                 "TR velocity >2.8 m/s": _gt(tr_velocity, a["tr_velocity"]),
                 "LAVI >34 mL/m²": _gt(lavi, a["lavi"])}
    res_a = _algorithm_a(variables, b)
    if lvef is not None and myocardial_disease is False:
        return out(res_a)

    # algorithm unknown: LVEF and/or myocardial disease not given
    need = (["LVEF (%)"] if lvef is None else []) + (
        ["whether myocardial disease is present (selects the ASE 2016 algorithm with normal LVEF)"]
        if myocardial_disease is None else [])
    if res_a[0] == b[0] == "present" and res_a[3].get("grade") == b[3]["grade"]:
        return out(("present", b[1], [], b[3]), algorithm="either (both algorithms agree)")
    would_be = {"normal LVEF without myocardial disease (algorithm A)": res_a[1],
                "reduced LVEF or myocardial disease (algorithm B)": b[1]}
    missing = need + [m for m in dict.fromkeys(res_a[2] + b[2]) if m not in need]
    return out(("not_assessable", "Diastolic function not assessable: the ASE 2016 algorithm depends on LVEF and "
                "myocardial disease, and the two algorithms differ here", missing,
                {"algorithm": None, "would_be": would_be}))

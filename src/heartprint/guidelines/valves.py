"""Valve-disease grading shared by the echo room and the clinical rules (ESC/EACTS 2021, EACVI/ASE 2017).

A neutral leaf: it imports only numpy and :mod:`heartprint.errors`, so that both a modality
room (:mod:`heartprint.echo`, which measures the Doppler quantities) and :mod:`heartprint.clinical`
(which turns a phenotype's measurements into findings) grade with one set of thresholds; neither
room may import the other (``docs/architecture.md``, rooms table).

Gradings (:func:`aortic_stenosis`, :func:`mitral_regurgitation`)
------------------------------------------------------------------
Each returns a :class:`ValveGrading` with ``grade`` (``None`` when not decided),
``status`` ("present" / "absent" / "not_assessable", about *severe* disease), ``possible_grades``,
``inputs``, ``missing``, ``reasons`` and ``citation``. A grade is returned only when it
holds for every value the inputs that were not given could take ("unknown is never
no"); otherwise ``grade`` is ``None``, ``possible_grades`` lists what remains possible and
``missing`` names what would decide it. :func:`at_least_moderate` says, tri-state, whether the
possible grades are all moderate or worse (the aetiology differential reads it).

Thresholds are in the single tables :data:`AS_THRESHOLDS` and :data:`MR_THRESHOLDS`; each
entry says whether it was verified with the search tool (✅S, with where) or is from
memory (⚠M). :mod:`heartprint.echo` re-exports the gradings unchanged (``heartprint.echo.aortic_stenosis``).
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from heartprint.errors import InvalidInputError

__all__ = [
    "AS_CITATION", "AS_GRADES", "AS_THRESHOLDS", "MR_CITATION", "MR_GRADES", "MR_PRIORITY", "MR_THRESHOLDS",
    "AT_LEAST_MODERATE", "ValveGrading", "aortic_stenosis", "at_least_moderate", "checked_array",
    "mitral_regurgitation",
]

# --------------------------------------------------------------------------------------------
# Threshold tables (ONE table per valve lesion)
# --------------------------------------------------------------------------------------------

AS_CITATION = (
    "Vahanian A, Beyersdorf F, Praz F, et al. 2021 ESC/EACTS Guidelines for the management of "
    "valvular heart disease. Eur Heart J 2022;43:561-632, doi:10.1093/eurheartj/ehab395 "
    "(section 5.1, Figure 3); Baumgartner H, Hung J, Bermejo J, et al. Recommendations on the "
    "echocardiographic assessment of aortic valve stenosis: a focused update from the EACVI and "
    "the ASE. J Am Soc Echocardiogr 2017;30:372-392, doi:10.1016/j.echo.2017.02.009 (Table 4). "
    "Bibliographic details (pages, DOIs, table numbers) ⚠M: from the brief and memory, not re-read"
)

#: Aortic stenosis thresholds. Bands are half-open so that every value falls in exactly one:
#: a value *equal* to a lower bound belongs to the higher band (Vmax 4.00 → severe, 3.99 →
#: moderate); for the areas the severe band is strictly below its bound (AVA 0.99 → severe,
#: 1.00 → moderate, 1.50 → moderate, 1.51 → mild).
AS_THRESHOLDS: dict[str, dict[str, Any]] = {
    "vmax_m_s": {
        # Vmax ≥ 4.0 severe: ✅S ESC 2021 recommendation table (EuroIntervention reprint,
        # pmc.ncbi.nlm.nih.gov/articles/PMC9725093/table/T14: "severe, high-gradient aortic
        # stenosis [mean gradient ≥40 mmHg, peak velocity ≥4.0 m/s, ...]").
        "severe_min": 4.0,
        # 3.0-3.9 moderate, 2.6-2.9 mild, ≤2.5 aortic sclerosis: ✅S only in secondary sources
        # quoting Baumgartner 2017 Table 4 (droracle.ai "aortic sclerosis ≤2.5, mild 2.6-2.9,
        # moderate 3.0-4.0"; authorea.com methods "moderate Vmax 3.0-3.9 m/s"); the primary
        # table was not read.
        "moderate_min": 3.0,
        "mild_min": 2.6,
    },
    "mean_gradient_mmhg": {
        "severe_min": 40.0,   # ✅S ESC 2021 recommendation table (PMC9725093, as above)
        "moderate_min": 20.0,  # ✅S secondary sources (droracle.ai, authorea.com: "MG 20-39")
    },
    "ava_cm2": {
        # Severe < 1.0 cm² (EACVI/ASE 2017 wording, used here). ✅S the value; note the ESC 2021
        # recommendation table writes "valve area ≤1.0 cm² (or ≤0.6 cm²/m²)" — at exactly
        # 1.00 cm² the two documents differ; this module follows EACVI/ASE (1.00 → moderate).
        "severe_below": 1.0,
        "mild_above": 1.5,    # moderate 1.0-1.5, mild > 1.5: ✅S secondary sources (as above)
    },
    "ava_index_cm2_m2": {
        "severe_below": 0.6,   # ✅S ESC 2021 table ("or ≤0.6 cm2/m2"); same caveat at equality
        "mild_above": 0.85,    # ✅S secondary source (droracle.ai "Indexed AVA >0.85 mild")
    },
    "dimensionless_index": {
        "severe_below": 0.25,  # ✅S secondary sources (droracle.ai "<0.25"; authorea "≤0.25")
        "mild_above": 0.50,    # ✅S secondary source (droracle.ai "velocity ratio >0.50")
    },
    "sv_index_ml_m2": {
        # Low flow SVi ≤ 35 mL/m²: ✅S ESC 2021 table ("low-flow (SVi ≤35 mL/m2)").
        "low_flow_max": 35.0,
    },
    "lvef_percent": {
        "reduced_below": 50.0,  # ✅S ESC 2021 table ("reduced ejection fraction (<50%)")
    },
}

MR_CITATION = (
    "Lancellotti P, Tribouilloy C, Hagendorff A, et al. Recommendations for the echocardiographic "
    "assessment of native valvular regurgitation: an executive summary from the EACVI. Eur Heart J "
    "Cardiovasc Imaging 2013;14:611-644, doi:10.1093/ehjci/jet105 (Table 10); Vahanian A et al. "
    "2021 ESC/EACTS Guidelines for the management of valvular heart disease, Eur Heart J "
    "2022;43:561-632, doi:10.1093/eurheartj/ehab395 (Table 6). Bibliographic details (DOIs, table "
    "numbers) ⚠M: from the brief and memory, not re-read"
)

#: Mitral regurgitation thresholds per aetiology. ``severe_min``: value ≥ it is severe;
#: ``mild_below``: value < it is mild; in between moderate.
#: ✅S (both ends, primary MR): the same numbers are in the ASE 2017 native-regurgitation table
#: (accessanesthesiology.mhmedical.com, "VCW <0.3 … ≥0.7; EROA <0.20 … ≥0.40; RVol <30 … ≥60;
#: RF <30 … ≥50") and the ACC/AHA 2020 staging table (publicsafetymedicine.org "Vena contracta
#: ≥0.7cm, Regurgitant volume ≥60ml, Regurgitant fraction ≥50%, ERO ≥40"); the EACVI 2013 paper
#: itself was not read. Secondary MR: ⚠M — ESC 2021 (Table 6) is recalled to use the same
#: EROA ≥ 40 mm² / RVol ≥ 60 mL as primary MR, adding that ≥ 30 mm² / ≥ 45 mL may already be
#: severe with an elliptical orifice or low flow (also EACVI 2022); ✅S only for the qualitative
#: remark "may be lower in secondary MR with elliptical ROA" (ASE 2017 table, as above).
#: DECISION: secondary MR is graded severe only at the primary-MR thresholds; values in the
#: "possibly severe" zone (EROA 30-39 mm², RVol 45-59 mL) are graded moderate and flagged in
#: ``reasons``. (Lancellotti 2013's older secondary-MR cut-offs EROA ≥ 20 mm² / RVol ≥ 30 mL
#: are not used.)
MR_THRESHOLDS: dict[str, dict[str, dict[str, float]]] = {
    "primary": {
        "eroa_mm2": {"severe_min": 40.0, "mild_below": 20.0},
        "regurgitant_volume_ml": {"severe_min": 60.0, "mild_below": 30.0},
        "regurgitant_fraction_percent": {"severe_min": 50.0, "mild_below": 30.0},
        "vena_contracta_mm": {"severe_min": 7.0, "mild_below": 3.0},
    },
    "secondary": {
        "eroa_mm2": {"severe_min": 40.0, "mild_below": 20.0, "possibly_severe_min": 30.0},
        "regurgitant_volume_ml": {"severe_min": 60.0, "mild_below": 30.0, "possibly_severe_min": 45.0},
        "regurgitant_fraction_percent": {"severe_min": 50.0, "mild_below": 30.0},
        "vena_contracta_mm": {"severe_min": 7.0, "mild_below": 3.0},
    },
}

#: Order in which the MR parameters decide the grade (the first one given decides; the
#: others are checked for discordance). PISA EROA and RVol are the quantitative measures
#: the EACVI 2013 recommendations rank first; VC is semi-quantitative. Design choice (⚠M).
MR_PRIORITY = ("eroa_mm2", "regurgitant_volume_ml", "regurgitant_fraction_percent", "vena_contracta_mm")


# --------------------------------------------------------------------------------------------
# Result type
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ValveGrading:
    """Outcome of a guideline grading.

    ``status`` is about *severe* disease: "present" (severe for every value of what is
    missing), "absent" (not severe for every value) or "not_assessable". ``grade`` is the
    haemodynamic category when it is decided, else ``None`` (see ``possible_grades``).
    """

    finding: str
    grade: str | None
    status: str
    possible_grades: tuple[str, ...]
    inputs: dict[str, Any]
    missing: tuple[str, ...]
    reasons: tuple[str, ...]
    citation: str
    thresholds: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dictionary."""
        return {
            "finding": self.finding, "grade": self.grade, "status": self.status,
            "possible_grades": list(self.possible_grades), "inputs": dict(self.inputs),
            "missing": list(self.missing), "reasons": list(self.reasons), "citation": self.citation,
            "thresholds": copy.deepcopy(self.thresholds),
        }


# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------

def checked_array(name: str, value: Any, *, positive: bool = True, allow_zero: bool = False,
                  upper: float | None = None) -> np.ndarray:
    """``value`` as a float array, refused (:class:`InvalidInputError` naming ``name``) when it is
    ``None``, not numeric, not finite, not positive (or negative with ``allow_zero``) or above ``upper``."""
    if value is None:
        raise InvalidInputError(f"{name} is required (got None); expected a number")
    try:
        a = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name}={value!r} is not numeric; expected a number") from exc
    if not np.all(np.isfinite(a)):
        raise InvalidInputError(f"{name}={value!r} is not finite; expected a finite number")
    if positive:
        bad = a < 0 if allow_zero else a <= 0
        if np.any(bad):
            expect = "≥ 0" if allow_zero else "> 0"
            raise InvalidInputError(f"{name}={value!r} is out of range; expected {expect}")
    if upper is not None and np.any(a > upper):
        raise InvalidInputError(f"{name}={value!r} is out of range; expected ≤ {upper}")
    return a


def _opt(name: str, value: Any, *, allow_zero: bool = False, upper: float | None = None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or np.ndim(value) != 0:
        raise InvalidInputError(f"{name}={value!r} is not a scalar number; expected one value or None")
    return float(checked_array(name, value, allow_zero=allow_zero, upper=upper))


# --------------------------------------------------------------------------------------------
# Aortic stenosis
# --------------------------------------------------------------------------------------------

# Ordinal bands: 0 none/sclerosis (or "not more than mild" for MG/area), 1 mild, 2 moderate, 3 severe.
_AS_BAND_NAMES = {0: "no stenosis / sclerosis range", 1: "mild", 2: "moderate", 3: "severe"}
_AS_SEVERE = "severe_high_gradient"
_AS_LFLG_REDUCED = "low_flow_low_gradient_reduced_ef"
_AS_LFLG_PRESERVED = "paradoxical_low_flow_low_gradient_preserved_ef"
_AS_NFLG = "normal_flow_low_gradient"
_AS_GRADES = {0: "aortic_sclerosis_or_no_stenosis", 1: "mild", 2: "moderate"}
#: Every AS grade :func:`aortic_stenosis` returns, mildest first.
AS_GRADES = _AS_ORDER = ("aortic_sclerosis_or_no_stenosis", "mild", "moderate", _AS_NFLG, _AS_LFLG_PRESERVED,
             _AS_LFLG_REDUCED, _AS_SEVERE)

# Interval of each unknown band: (lo, hi) half-open [lo, hi).
_VMAX_BANDS = {0: (0.0, 2.6), 1: (2.6, 3.0), 2: (3.0, 4.0), 3: (4.0, math.inf)}
_MG_BANDS = {0: (0.0, 20.0), 2: (20.0, 40.0), 3: (40.0, math.inf)}


def _vmax_band(v: float) -> int:
    t = AS_THRESHOLDS["vmax_m_s"]
    return 3 if v >= t["severe_min"] else 2 if v >= t["moderate_min"] else 1 if v >= t["mild_min"] else 0


def _mg_band(m: float) -> int:
    t = AS_THRESHOLDS["mean_gradient_mmhg"]
    return 3 if m >= t["severe_min"] else 2 if m >= t["moderate_min"] else 0


#: Adult body surface areas (m2) over which an unknown AVA index (or AVA) is tried when only its partner is
#: given: heartprint's bound (⚠M: about the 0.1st-99.9th percentile range of adults by Mosteller), stated so
#: that a missing index never turns into a milder grade than the patient's body size allows.
ADULT_BSA_RANGE_M2 = (1.2, 2.8)


def _area_band(key: str, a: float) -> int:
    t = AS_THRESHOLDS[key]
    return 3 if a < t["severe_below"] else 0 if a > t["mild_above"] else 2


def _classify_as(vb: int, mb: int, ab: int, low_flow: bool, reduced_ef: bool) -> str:
    if vb == 3 or mb == 3:
        return _AS_SEVERE
    if ab == 3:
        if not low_flow:
            return _AS_NFLG
        return _AS_LFLG_REDUCED if reduced_ef else _AS_LFLG_PRESERVED
    return _AS_GRADES[max(vb, mb, ab)]


def _status(outcomes: Iterable[str], severe: set[str], not_severe: set[str]) -> str:
    s = set(outcomes)
    if s <= severe:
        return "present"
    if s <= not_severe:
        return "absent"
    return "not_assessable"


def aortic_stenosis(*, vmax_m_s: float | None = None, mean_gradient_mmhg: float | None = None,
                    ava_cm2: float | None = None, ava_index_cm2_m2: float | None = None,
                    dimensionless_index: float | None = None, sv_index_ml_m2: float | None = None,
                    lvef_percent: float | None = None) -> ValveGrading:
    """Grade aortic stenosis (ESC/EACTS 2021; EACVI/ASE 2017) from Doppler measurements.

    Inputs (all optional, keyword-only): peak aortic velocity ``vmax_m_s`` (m/s), mean
    gradient ``mean_gradient_mmhg`` (mmHg), continuity ``ava_cm2`` (cm²), indexed
    ``ava_index_cm2_m2`` (cm²/m²), ``dimensionless_index`` (unitless), stroke-volume index
    ``sv_index_ml_m2`` (mL/m²), ``lvef_percent`` (%).

    Decision (per :data:`AS_THRESHOLDS`):

    1. High gradient — Vmax ≥ 4.0 m/s **or** MG ≥ 40 mmHg → ``severe_high_gradient``
       (status present), whatever the area; a non-severe area is reported as discordance.
    2. Low gradient (Vmax < 4 and MG < 40) with a severe area (AVA < 1.0 cm² or AVAi < 0.6
       cm²/m²; the dimensionless index < 0.25 stands in only when neither area is given):
       SVi ≤ 35 and LVEF < 50 → ``low_flow_low_gradient_reduced_ef``; SVi ≤ 35 and LVEF ≥ 50 →
       ``paradoxical_low_flow_low_gradient_preserved_ef``; SVi > 35 → ``normal_flow_low_gradient``.
       These grades are decided but *severity* is not (status not_assessable): the guidelines
       ask for dobutamine-stress flow reserve (reduced EF) or CT aortic-valve calcium scoring
       (preserved EF), which ``missing`` names.
    3. Otherwise the most severe band of Vmax (≤2.5 sclerosis, 2.6-2.9 mild, 3.0-3.9
       moderate), MG (20-39 moderate) and area (1.0-1.5 cm² moderate) → ``moderate``,
       ``mild`` or ``aortic_sclerosis_or_no_stenosis`` (status absent).

    Unknown inputs: every band of every missing input is tried, keeping only combinations
    physically possible under the simplified Bernoulli equation (the mean gradient cannot
    exceed the peak gradient 4·Vmax²). The grade is returned only if all give the same; else
    ``grade`` is None and ``missing`` lists the inputs whose value changes the answer. So
    Vmax 4.5 alone → severe; Vmax 3.5 alone → not assessable (missing MG — 4·3.5² = 49 mmHg
    leaves MG ≥ 40 possible — and an area, and SVi/LVEF for the low-gradient paths); Vmax 2.0
    alone → not assessable (an AVA < 1.0 cm² is still possible; MG cannot reach 20 mmHg since
    4·2.0² = 16) with missing the area and SVi/LVEF; Vmax 2.0 with AVA 1.8 → sclerosis/no AS.
    """
    vmax = _opt("vmax_m_s", vmax_m_s, allow_zero=True, upper=10.0)
    mg = _opt("mean_gradient_mmhg", mean_gradient_mmhg, allow_zero=True, upper=250.0)
    ava = _opt("ava_cm2", ava_cm2, upper=10.0)
    avai = _opt("ava_index_cm2_m2", ava_index_cm2_m2, upper=6.0)
    di = _opt("dimensionless_index", dimensionless_index, upper=2.0)
    svi = _opt("sv_index_ml_m2", sv_index_ml_m2, upper=200.0)
    ef = _opt("lvef_percent", lvef_percent, allow_zero=True, upper=100.0)
    inputs = {"vmax_m_s": vmax, "mean_gradient_mmhg": mg, "ava_cm2": ava, "ava_index_cm2_m2": avai,
              "dimensionless_index": di, "sv_index_ml_m2": svi, "lvef_percent": ef}
    reasons: list[str] = []

    # Per-parameter bands of what was given.
    given_bands: dict[str, int] = {}
    if vmax is not None:
        given_bands["vmax_m_s"] = _vmax_band(vmax)
    if mg is not None:
        given_bands["mean_gradient_mmhg"] = _mg_band(mg)
    for key, val in (("ava_cm2", ava), ("ava_index_cm2_m2", avai), ("dimensionless_index", di)):
        if val is not None:
            given_bands[key] = _area_band(key, val)
    if vmax is not None and mg is not None and mg > 4.0 * vmax ** 2 * (1 + 1e-6):
        reasons.append(f"inconsistent: mean gradient {mg:g} mmHg exceeds the peak gradient 4·Vmax² = "
                       f"{4 * vmax ** 2:.1f} mmHg (different beats or windows?)")

    # Factor domains.
    vb_dom = [given_bands["vmax_m_s"]] if vmax is not None else list(_VMAX_BANDS)
    mb_dom = [given_bands["mean_gradient_mmhg"]] if mg is not None else list(_MG_BANDS)
    area_keys = [k for k in ("ava_cm2", "ava_index_cm2_m2") if k in given_bands]
    if not area_keys and "dimensionless_index" in given_bands:
        area_keys = ["dimensionless_index"]
        reasons.append("no AVA or AVAi given: the dimensionless index stands in for the valve area")
    ab_dom = [max(given_bands[k] for k in area_keys)] if area_keys else [0, 2, 3]
    partner_key = ""
    if (ava is None) != (avai is None):
        # Only one of AVA / AVAi given: the other is a criterion too (severe is AVA < 1.0 *or* AVAi < 0.6), and
        # it is AVA / BSA. Every band the partner reaches over adult body surface areas is tried, so an AVA of
        # 1.7 cm2 is not called mild for a patient whose BSA (unknown) could make the index moderate.
        lo, hi = ADULT_BSA_RANGE_M2
        if ava is not None:
            partner_key, reach = "ava_index_cm2_m2", (ava / hi, ava / lo)
        else:
            partner_key, reach = "ava_cm2", (avai * lo, avai * hi)
        partner = {_area_band(partner_key, v) for v in (reach[0], reach[1])}
        partner |= {b for b in (0, 2, 3) if min(partner) <= b <= max(partner)}
        ab_dom = sorted({max(ab_dom[0], b) for b in partner})
        if len(ab_dom) > 1:
            reasons.append(f"{partner_key} not given: over body surface areas {lo:g}-{hi:g} m2 it could fall in "
                           + ", ".join(_AS_BAND_NAMES[b] for b in sorted(partner)))
    lf_dom = [svi <= AS_THRESHOLDS["sv_index_ml_m2"]["low_flow_max"]] if svi is not None else [True, False]
    ef_dom = [ef < AS_THRESHOLDS["lvef_percent"]["reduced_below"]] if ef is not None else [True, False]

    def feasible(vb: int, mb: int) -> bool:
        if vmax is not None and mg is not None:
            return True  # both measured: graded as given (an inconsistency is only reported)
        m_lo = mg if mg is not None else _MG_BANDS[mb][0]
        if vmax is not None:
            return m_lo <= 4.0 * vmax ** 2
        return m_lo < 4.0 * _VMAX_BANDS[vb][1] ** 2

    factors = ("vmax_m_s", "mean_gradient_mmhg", "area", "sv_index_ml_m2", "lvef_percent")
    table: dict[tuple, str] = {}
    for combo in itertools.product(vb_dom, mb_dom, ab_dom, lf_dom, ef_dom):
        if feasible(combo[0], combo[1]):
            table[combo] = _classify_as(*combo)
    outcomes = set(table.values())

    known = {"vmax_m_s": vmax is not None, "mean_gradient_mmhg": mg is not None, "area": bool(area_keys),
             "sv_index_ml_m2": svi is not None, "lvef_percent": ef is not None}
    missing: list[str] = []
    if len(outcomes) > 1:
        for i, name in enumerate(factors):
            if known[name] and not (name == "area" and len(ab_dom) > 1):
                continue
            groups: dict[tuple, set[str]] = {}
            for combo, out in table.items():
                groups.setdefault(combo[:i] + combo[i + 1:], set()).add(out)
            if any(len(g) > 1 for g in groups.values()):
                missing.append(("ava_cm2 or ava_index_cm2_m2" if not area_keys else partner_key)
                               if name == "area" else name)

    grade = next(iter(outcomes)) if len(outcomes) == 1 else None
    severe = {_AS_SEVERE}
    not_severe = set(_AS_GRADES.values())
    status = _status(outcomes, severe, not_severe)
    if grade == _AS_LFLG_REDUCED:
        missing.append("flow reserve on low-dose dobutamine stress echocardiography")
        reasons.append("low-flow low-gradient AS with reduced EF: true-severe vs pseudo-severe needs "
                       "dobutamine stress echocardiography (flow reserve) or CT calcium scoring")
    elif grade in (_AS_LFLG_PRESERVED, _AS_NFLG):
        missing.append("aortic valve calcium score (CT)")
        reasons.append(f"{grade.replace('_', ' ')}: severity must be confirmed (CT aortic-valve calcium "
                       "score); normal-flow low-gradient AS is usually moderate")
    if grade is None:
        reasons.append("not assessable: possible grades " + ", ".join(g for g in _AS_ORDER if g in outcomes))

    # Discordance among what was given.
    if len(given_bands) > 1 and len(set(given_bands.values())) > 1:
        desc = "; ".join(f"{k}={inputs[k]:g} → {_AS_BAND_NAMES[b]}" for k, b in given_bands.items())
        reasons.append("discordant parameters: " + desc)
    if grade == _AS_SEVERE and area_keys and max(given_bands[k] for k in area_keys) < 3:
        reasons.append("severe by velocity/gradient although the valve area is not in the severe range "
                       "(check LVOT measurement, high-flow state)")

    return ValveGrading(
        finding="aortic_stenosis", grade=grade, status=status,
        possible_grades=tuple(g for g in _AS_ORDER if g in outcomes), inputs=inputs,
        missing=tuple(missing), reasons=tuple(reasons), citation=AS_CITATION,
        thresholds=AS_THRESHOLDS,
    )


# --------------------------------------------------------------------------------------------
# Mitral regurgitation
# --------------------------------------------------------------------------------------------

#: Every MR grade :func:`mitral_regurgitation` returns, mildest first.
MR_GRADES = _MR_BANDS = ("mild", "moderate", "severe")


def _mr_band(t: dict[str, float], value: float) -> str:
    return "severe" if value >= t["severe_min"] else "mild" if value < t["mild_below"] else "moderate"


def mitral_regurgitation(*, eroa_mm2: float | None = None, regurgitant_volume_ml: float | None = None,
                         regurgitant_fraction_percent: float | None = None,
                         vena_contracta_mm: float | None = None,
                         aetiology: str | None = None) -> ValveGrading:
    """Grade mitral regurgitation (EACVI 2013; ESC/EACTS 2021) from quantitative measures.

    Inputs (optional, keyword-only): PISA ``eroa_mm2`` (mm²), ``regurgitant_volume_ml`` (mL),
    ``regurgitant_fraction_percent`` (%), ``vena_contracta_mm`` (mm) and ``aetiology``
    ("primary", "secondary" or None = unknown).

    Each parameter falls in mild (EROA < 20 mm², RVol < 30 mL, RF < 30 %, VC < 3 mm), severe
    (≥ 40 mm², ≥ 60 mL, ≥ 50 %, ≥ 7 mm) or moderate (between) — see :data:`MR_THRESHOLDS`.
    The grade is the band of the first parameter given in :data:`MR_PRIORITY` order (EROA,
    RVol, RF, VC); the others are compared and any discordance is listed in ``reasons``
    (the guidelines ask for an integrated reading; this function does not overrule the
    quantitative PISA measure). With an unknown aetiology the grade is returned only if the
    primary- and secondary-MR tables give the same grade; secondary-MR values in the zone
    EROA 30-39 mm² / RVol 45-59 mL are graded moderate and flagged as possibly severe.
    ``status`` is "present" for severe, "absent" for mild/moderate, "not_assessable" when no
    parameter is given.
    """
    if aetiology is not None and aetiology not in MR_THRESHOLDS:
        raise InvalidInputError(f"aetiology={aetiology!r}; expected 'primary', 'secondary' or None")
    values = {
        "eroa_mm2": _opt("eroa_mm2", eroa_mm2, upper=500.0),
        "regurgitant_volume_ml": _opt("regurgitant_volume_ml", regurgitant_volume_ml, upper=500.0),
        "regurgitant_fraction_percent": _opt("regurgitant_fraction_percent", regurgitant_fraction_percent,
                                             upper=100.0),
        "vena_contracta_mm": _opt("vena_contracta_mm", vena_contracta_mm, upper=30.0),
    }
    inputs: dict[str, Any] = dict(values, aetiology=aetiology)
    given = [k for k in MR_PRIORITY if values[k] is not None]
    reasons: list[str] = []
    if not given:
        return ValveGrading(
            finding="mitral_regurgitation", grade=None, status="not_assessable",
            possible_grades=_MR_BANDS, inputs=inputs, missing=MR_PRIORITY,
            reasons=("no quantitative MR parameter given",), citation=MR_CITATION, thresholds=MR_THRESHOLDS)

    aetiologies = [aetiology] if aetiology is not None else list(MR_THRESHOLDS)
    outcomes: set[str] = set()
    for aet in aetiologies:
        table = MR_THRESHOLDS[aet]
        bands = {k: _mr_band(table[k], values[k]) for k in given}
        outcomes.add(bands[given[0]])
        if len(set(bands.values())) > 1:
            desc = "; ".join(f"{k}={values[k]:g} → {b}" for k, b in bands.items())
            msg = f"discordant parameters ({aet} MR thresholds): {desc}; graded by {given[0]}"
            if msg not in reasons:
                reasons.append(msg)
        if aet == "secondary":
            for k in ("eroa_mm2", "regurgitant_volume_ml"):
                t = table[k]
                if k in given and t["possibly_severe_min"] <= values[k] < t["severe_min"]:
                    reasons.append(f"{k}={values[k]:g} may be severe in secondary MR with an elliptical "
                                   "orifice or low flow (ESC 2021 / EACVI 2022, ⚠M); graded moderate here")
    grade = next(iter(outcomes)) if len(outcomes) == 1 else None
    missing: tuple[str, ...] = ("aetiology",) if grade is None else ()
    if grade is None:
        reasons.append("primary and secondary MR thresholds disagree; aetiology needed")
    status = _status(outcomes, {"severe"}, {"mild", "moderate"})
    return ValveGrading(
        finding="mitral_regurgitation", grade=grade, status=status,
        possible_grades=tuple(b for b in _MR_BANDS if b in outcomes), inputs=inputs, missing=missing,
        reasons=tuple(reasons), citation=MR_CITATION, thresholds=MR_THRESHOLDS)


# --------------------------------------------------------------------------------------------
# Moderate or worse (the heart-failure aetiology differential)
# --------------------------------------------------------------------------------------------

#: Grades that are at least moderate disease. The low-gradient AS grades qualify: their valve area
#: is in the severe range, and the alternative to true-severe is pseudo-severe AS, which is
#: moderate (EACVI/ASE 2017 low-flow low-gradient algorithm; ESC 2021 Figure 3) — design reading ⚠M.
AT_LEAST_MODERATE: frozenset[str] = frozenset({"moderate", _AS_NFLG, _AS_LFLG_PRESERVED, _AS_LFLG_REDUCED, _AS_SEVERE,
                                               "severe"})


def at_least_moderate(grading: ValveGrading) -> bool | None:
    """Whether the graded lesion is moderate or worse: ``True`` / ``False`` when every grade still
    possible agrees, ``None`` when the unknown inputs leave both answers open (or nothing was graded)."""
    possible = set(grading.possible_grades)
    if not possible:
        return None
    if possible <= AT_LEAST_MODERATE:
        return True
    if not possible & AT_LEAST_MODERATE:
        return False
    return None

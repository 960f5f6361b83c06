"""Unknown is a value (issue 16, item 1): one test walks every public rule.

For every public rule of :mod:`heartprint.clinical` (its ``__all__``) this file holds a few valid
base cases and, for each parameter, a domain of concrete values the parameter could take. For
each base case and each parameter in turn, the parameter is set to ``None`` (unknown). Unless the
rule then answers ``not_assessable`` (or refuses the call with a heartprint error), its answer —
a canonical signature: finding code, status and category/grade; the set of (recommendation code,
class); a pre-test probability category — must be the answer the rule gives for *every* concrete
value of that parameter. A concrete value whose result reports a contradiction with the other
inputs is not a value the unknown could take, and is skipped.

The test also fails

* when a public callable of ``heartprint.clinical`` is neither covered here nor excluded with a
  written reason (so a rule added later must be added here),
* when a covered rule has a parameter without a domain here (so a parameter added later must be
  given one), and
* when any public callable has a parameter whose default is not ``None`` (a default that would
  state a fact), unless it is listed in :data:`NON_FACT_DEFAULTS` with a reason.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

import heartprint.clinical as clinical
from heartprint.errors import HeartprintError, InvalidInputError
from heartprint.measure import Finding, Recommendation, ReferenceRange

BOOL = [True, False]
SEX = ["male", "female"]
RHYTHM = ["sinus", "af"]
NYHA = [1, 2, 3, 4]
ADULT_AGE = [25, 45, 65, 80]
CHEST_PAIN = ["typical", "atypical", "non-anginal", "none"]


def _scores(d: dict[int, int], default: int | None = 0) -> list[int | None]:
    return [d.get(s, default) for s in range(1, 18)]


@dataclass
class Walk:
    """How to walk one rule: base cases (keyword arguments) and each parameter's concrete values."""

    bases: list[dict[str, Any]]
    domains: dict[str, list[Any]]
    #: parameters not walked, each with the reason (a setting or selector, not a clinical fact)
    not_facts: dict[str, str] = field(default_factory=dict)
    #: per base case, domains that replace ``domains`` for it (values physically consistent with
    #: that base, e.g. an EDV index that the base's EDV allows at a body surface area of 1.5–2.3 m²)
    per_base: list[dict[str, list[Any]]] = field(default_factory=list)

    def domain(self, i: int, param: str) -> list[Any]:
        if i < len(self.per_base) and param in self.per_base[i]:
            return self.per_base[i][param]
        return self.domains[param]


# -- the rules ---------------------------------------------------------------------------------------

RR = ReferenceRange

WALKS: dict[str, Walk] = {
    # pre-test probability
    "ptp_esc2019": Walk(
        bases=[{"age": 45, "sex": "male", "chest_pain": "typical", "dyspnoea": False},
               {"age": 65, "sex": "female", "chest_pain": "none", "dyspnoea": True},
               {"age": 35, "sex": "female", "chest_pain": "non-anginal", "dyspnoea": True}],
        domains={"age": [35, 45, 55, 65, 75], "sex": SEX, "chest_pain": CHEST_PAIN, "dyspnoea": BOOL}),
    "likelihood_esc2024": Walk(
        bases=[{"age": 62, "sex": "female", "chest_pain": "typical", "dyspnoea": False, "risk_factors": 3},
               {"age": 35, "sex": "female", "chest_pain": "non-anginal", "dyspnoea": False, "risk_factors": 0},
               {"age": 62, "sex": "female", "chest_pain": "non-anginal", "dyspnoea": False, "risk_factors": 3},
               {"age": 75, "sex": "male", "chest_pain": "none", "dyspnoea": True, "risk_factors": 5}],
        domains={"age": [35, 45, 55, 65, 75], "sex": SEX, "chest_pain": CHEST_PAIN, "dyspnoea": BOOL,
                 "risk_factors": [0, 1, 2, 3, 4, 5]}),
    # CT
    "cad_rads": Walk(
        bases=[{"stenoses": {"mLAD": 30}, "plaque_present": True, "non_diagnostic": False, "high_risk_plaque": False,
                "ischaemia": "-", "stent": False, "graft": False, "exception": False, "cac": 50, "sis": 2},
               {"stenoses": {"pLAD": 0}, "plaque_present": False, "non_diagnostic": False, "high_risk_plaque": False,
                "ischaemia": "-", "stent": False, "graft": False, "exception": False, "cac": 0, "sis": 0},
               {"stenoses": {"LM": 60, "pRCA": 80}, "plaque_present": True, "non_diagnostic": True,
                "high_risk_plaque": True, "ischaemia": "+", "stent": True, "graft": False, "exception": False,
                "cac": 400, "sis": 6},
               {"stenoses": {"mLAD": 30}}],
        domains={"stenoses": [{}, {"pLAD": 0}, {"mLAD": 30}, {"pLAD": 60}, {"LM": 60},
                              {"pLAD": 70, "pLCx": 70, "pRCA": 70}, {"pRCA": 100}],
                 "plaque_present": BOOL, "non_diagnostic": BOOL,
                 "high_risk_plaque": [True, False, ["napkin_ring"], ["napkin_ring", "low_attenuation"]],
                 "ischaemia": ["+", "-", "±"], "stent": BOOL, "graft": BOOL, "exception": BOOL,
                 "cac": [0, 50, 250, 1500], "sis": [0, 2, 5, 9]}),
    "agatston_category": Walk(bases=[{"score": 50}], domains={"score": [0, 5, 50, 200, 1000]}),
    # ischaemia
    "ischaemic_burden": Walk(
        bases=[{"stress": _scores({}), "rest": _scores({})},
               {"stress": _scores({1: 4, 7: 4}), "rest": _scores({})},
               {"stress": _scores({1: 4, 2: 1}), "rest": _scores({1: 4})},
               {"stress": _scores({1: 4, 7: 4, 13: 4}), "rest": _scores({3: 0}, default=0)}],
        domains={"stress": [_scores({}), _scores({1: 2}), _scores({1: 4, 7: 4}), _scores({s: 3 for s in range(1, 18)})],
                 "rest": [_scores({}), _scores({1: 4}), _scores({s: 4 for s in range(1, 18)})]},
        not_facts={"territories": "segment → territory assignment (a model choice); None means the AHA standard"}),
    # heart failure
    "hf_type": Walk(
        bases=[{"lvef": 30, "symptoms": True, "hfpef_evidence": None, "previous_lvef": 35, "sex": "male",
                "rhythm": "sinus", "lvmi": 100, "rwt": 0.38, "lavi": 30, "e_e_prime": 8, "nt_probnp": 100, "bnp": 30,
                "pasp": 30, "tr_velocity": 2.5},
               {"lvef": 58, "symptoms": True, "hfpef_evidence": True, "previous_lvef": 60, "sex": "female",
                "rhythm": "af", "lvmi": 120, "rwt": 0.45, "lavi": 45, "e_e_prime": 12, "nt_probnp": 900, "bnp": 300,
                "pasp": 45, "tr_velocity": 3.1},
               {"lvef": 58, "symptoms": True, "hfpef_evidence": False, "previous_lvef": 55, "sex": "male",
                "rhythm": "sinus", "lvmi": 90, "rwt": 0.35, "lavi": 25, "e_e_prime": 7, "nt_probnp": 60, "bnp": 20,
                "pasp": 25, "tr_velocity": 2.2},
               {"lvef": 45, "symptoms": False}],
        domains={"lvef": [30, 40, 45, 55, 65], "symptoms": BOOL, "hfpef_evidence": BOOL, "previous_lvef": [30, 45, 60],
                 "sex": SEX, "rhythm": RHYTHM, "lvmi": [90, 100, 120], "rwt": [0.35, 0.45], "lavi": [30, 38, 45],
                 "e_e_prime": [8, 10], "nt_probnp": [100, 200, 400], "bnp": [30, 50, 150], "pasp": [30, 40],
                 "tr_velocity": [2.5, 3.0]}),
    "hfa_peff": Walk(
        bases=[{"rhythm": "sinus", "sex": "female", "age": 70, "septal_e": 6, "lateral_e": 9, "average_e_e": 16,
                "tr_velocity": 3.0, "pasp": 40, "gls": 15, "lavi": 38, "lvmi": 130, "rwt": 0.45, "wall_thickness": 13,
                "nt_probnp": 300, "bnp": 100},
               {"rhythm": "sinus", "sex": "male", "age": 60, "septal_e": 9, "lateral_e": 12, "average_e_e": 7,
                "tr_velocity": 2.2, "pasp": 25, "gls": 20, "lavi": 25, "lvmi": 90, "rwt": 0.38, "wall_thickness": 10,
                "nt_probnp": 80, "bnp": 20},
               {"rhythm": "af", "sex": "male", "age": 78, "septal_e": 6, "lateral_e": 9, "average_e_e": 12,
                "tr_velocity": 2.6, "pasp": 32, "gls": 17, "lavi": 36, "lvmi": 120, "rwt": 0.40, "wall_thickness": 11,
                "nt_probnp": 400, "bnp": 150}],
        domains={"rhythm": RHYTHM, "sex": SEX, "age": [60, 76], "septal_e": [4, 6, 8], "lateral_e": [6, 9, 11],
                 "average_e_e": [8, 12, 16], "tr_velocity": [2.5, 3.0], "pasp": [30, 40], "gls": [14, 18],
                 "lavi": [28, 32, 36, 42], "lvmi": [90, 100, 120, 150], "rwt": [0.38, 0.45], "wall_thickness": [10, 12.5],
                 "nt_probnp": [100, 150, 300, 400, 700], "bnp": [30, 50, 100, 150, 300]}),
    "h2fpef": Walk(
        bases=[{"bmi": 32, "antihypertensives": 2, "af": True, "pasp": 40, "age": 65, "e_e_prime": 10},
               {"bmi": 24, "antihypertensives": 0, "af": False, "pasp": 28, "age": 50, "e_e_prime": 7},
               {"bmi": 28, "antihypertensives": 1, "af": False, "pasp": 38, "age": 70, "e_e_prime": 11}],
        domains={"bmi": [25, 31], "antihypertensives": [0, 1, 2, 3], "af": BOOL, "pasp": [30, 36], "age": [55, 61, 70],
                 "e_e_prime": [8, 10]}),
    "diastolic_function": Walk(
        bases=[{"lvef": 62, "myocardial_disease": False, "septal_e": 5, "lateral_e": 8, "average_e_e": 16,
                "tr_velocity": 3.0, "lavi": 40, "e_velocity": 90, "e_a_ratio": 1.0},
               {"lvef": 62, "myocardial_disease": False, "septal_e": 10, "lateral_e": 13, "average_e_e": 7,
                "tr_velocity": 2.2, "lavi": 26, "e_velocity": 70, "e_a_ratio": 1.3},
               {"lvef": 35, "myocardial_disease": True, "septal_e": 5, "lateral_e": 7, "average_e_e": 15,
                "tr_velocity": 3.0, "lavi": 40, "e_velocity": 60, "e_a_ratio": 1.5}],
        domains={"lvef": [30, 45, 55, 65], "myocardial_disease": BOOL, "septal_e": [5, 8, 10], "lateral_e": [7, 9, 12],
                 "average_e_e": [8, 12, 16], "tr_velocity": [2.4, 2.9, 3.2], "lavi": [28, 34, 40],
                 "e_velocity": [40, 60, 90], "e_a_ratio": [0.7, 1.2, 2.5]}),
    # tissue
    "lake_louise": Walk(
        bases=[{"t2_regional_high_si": False, "t2_si_ratio": 1.5, "t2_mapping_elevated": False, "native_t1_elevated": False,
                "ecv_elevated": False, "lge_nonischaemic": False, "pericardial_effusion_or_enhancement": False,
                "wall_motion_abnormality": False},
               {"t2_regional_high_si": True, "t2_si_ratio": 1.5, "t2_mapping_elevated": False, "native_t1_elevated": False,
                "ecv_elevated": False, "lge_nonischaemic": False},
               {"t2_ms": 60, "t2_normal": RR(high=52), "t2_regional_high_si": False, "t2_si_ratio": 1.2,
                "native_t1_ms": 1100, "native_t1_normal": RR(high=1050), "ecv": 0.25, "ecv_normal": RR(high=0.30)},
               {"t2_si_ratio": 2.2, "lge_nonischaemic": True}],
        domains={"t2_regional_high_si": BOOL, "t2_si_ratio": [1.5, 2.0, 2.5], "t2_ms": [45, 55, 60],
                 "t2_normal": [RR(high=52), RR(high=58)], "t2_mapping_elevated": BOOL, "native_t1_ms": [1000, 1100],
                 "native_t1_normal": [RR(high=1050), RR(high=1120)], "native_t1_elevated": BOOL, "ecv": [0.25, 0.35],
                 "ecv_normal": [RR(high=0.30)], "ecv_elevated": BOOL, "lge_nonischaemic": BOOL,
                 "pericardial_effusion_or_enhancement": BOOL, "wall_motion_abnormality": BOOL}),
    "t2star_iron": Walk(bases=[{"t2star_ms": 15}, {"t2star_ms": 25}], domains={"t2star_ms": [5, 15, 25]}),
    "hcm_wall_thickness": Walk(
        bases=[{"max_wall_thickness_mm": 14, "family_history": True, "other_features": False},
               {"max_wall_thickness_mm": 16, "family_history": False, "other_features": False},
               {"max_wall_thickness_mm": 12, "family_history": False, "other_features": False},
               {"max_wall_thickness_mm": 14, "family_history": False, "other_features": False}],
        domains={"max_wall_thickness_mm": [10, 12, 13, 14, 15, 20], "family_history": BOOL, "other_features": BOOL,
                 "segment": [1, 3, 9, 17]},
        not_facts={"child_z_score": "the paediatric form of the measurement: given, it selects the child criterion "
                                    "(z > 2); the rule is otherwise the adult criterion (ESC 2023 §7.1.1.1)"}),
    "amyloid_native_t1": Walk(
        bases=[{"native_t1_ms": 1000, "sequence": "ShMOLLI", "field_strength": 1.5},
               {"native_t1_ms": 1200, "sequence": "ShMOLLI", "field_strength": 1.5},
               {"native_t1_ms": 1200, "sequence": "MOLLI", "field_strength": 3.0, "rule_out_below": 1100,
                "rule_in_above": 1150}],
        domains={"native_t1_ms": [900, 1000, 1100, 1200, 1300], "sequence": ["ShMOLLI", "MOLLI"],
                 "field_strength": [1.5, 3.0]},
        not_facts={"rule_out_below": "site cut-off (a setting): None means the published cut-offs for the acquisition",
                   "rule_in_above": "site cut-off (a setting): None means the published cut-offs for the acquisition"}),
    "ecv_amyloid": Walk(bases=[{"ecv_fraction": 0.45, "threshold": 0.40}, {"ecv_fraction": 0.30, "threshold": 0.40}],
                        domains={"ecv_fraction": [0.3, 0.45], "threshold": [0.35, 0.40, 0.50]}),
    # devices
    "crt_indication": Walk(
        bases=[{"lvef": 30, "qrs_ms": 160, "lbbb": True, "rhythm": "sinus", "nyha": 2, "on_omt": True,
                "av_block_pacing_indication": False, "existing_device_rv_pacing": False},
               {"lvef": 30, "qrs_ms": 140, "lbbb": False, "rhythm": "sinus", "nyha": 3, "on_omt": True,
                "av_block_pacing_indication": False, "existing_device_rv_pacing": False},
               {"lvef": 30, "qrs_ms": 120, "lbbb": False, "rhythm": "af", "nyha": 3, "on_omt": True,
                "av_block_pacing_indication": True, "existing_device_rv_pacing": False},
               {"lvef": 45, "qrs_ms": 160, "lbbb": True, "rhythm": "sinus", "nyha": 2, "on_omt": True,
                "av_block_pacing_indication": False, "existing_device_rv_pacing": False}],
        domains={"lvef": [20, 30, 35, 38, 45, 60], "qrs_ms": [100, 125, 135, 145, 155, 170], "lbbb": BOOL,
                 "rhythm": RHYTHM, "nyha": NYHA, "on_omt": BOOL, "av_block_pacing_indication": BOOL,
                 "existing_device_rv_pacing": BOOL}),
    "icd_primary_prevention": Walk(
        bases=[{"lvef": 30, "nyha": 2, "aetiology": "ischaemic", "omt_months": 6, "days_since_mi": 400, "prior_mi": True,
                "advanced_therapy_candidate": False},
               {"lvef": 30, "nyha": 3, "aetiology": "non-ischaemic", "omt_months": 6, "prior_mi": False,
                "advanced_therapy_candidate": False},
               {"lvef": 30, "nyha": 4, "aetiology": "ischaemic", "omt_months": 6, "days_since_mi": 400, "prior_mi": True,
                "advanced_therapy_candidate": False},
               {"lvef": 45, "nyha": 2, "aetiology": "ischaemic", "omt_months": 6, "days_since_mi": 400, "prior_mi": True,
                "advanced_therapy_candidate": False}],
        domains={"lvef": [20, 30, 35, 38, 45], "nyha": NYHA, "aetiology": ["ischaemic", "non-ischaemic"],
                 "omt_months": [1, 3, 6, 24], "days_since_mi": [10, 39, 40, 100, 1000], "prior_mi": BOOL,
                 "advanced_therapy_candidate": BOOL}),
    # imaging phenotype (heartprint.clinical.imaging)
    "lv_systolic_dysfunction": Walk(
        bases=[{"lvef": 35, "sex": "male", "age": 45, "acquisition": "cmr"},
               {"lvef": 62, "sex": "female", "age": 65, "acquisition": "cmr"},
               {"lvef": 50, "sex": "male", "age": 45, "acquisition": "echo 2d_biplane"}],
        domains={"lvef": [25, 35, 45, 52, 55, 62, 75], "sex": SEX, "age": ADULT_AGE,
                 "acquisition": ["cmr", "echo 2d_biplane"]}),
    "rv_systolic_dysfunction": Walk(
        bases=[{"rv_ef": 30, "sex": "male", "age": 45, "acquisition": "cmr"},
               {"rv_ef": 60, "sex": "female", "age": 65, "acquisition": "cmr"}],
        domains={"rv_ef": [25, 40, 48, 55, 65], "sex": SEX, "age": ADULT_AGE, "acquisition": ["cmr", "echo 2d_biplane"]}),
    "lv_dilatation": Walk(
        bases=[{"lv_edvi": 130, "lv_edv": 260, "sex": "male", "age": 45, "edvi_acquisition": "cmr", "edv_acquisition": "cmr"},
               {"lv_edvi": 75, "lv_edv": 140, "sex": "female", "age": 65, "edvi_acquisition": "cmr",
                "edv_acquisition": "cmr"}],
        domains={"lv_edvi": [60, 75, 95, 110, 130], "lv_edv": [120, 160, 200, 260], "sex": SEX, "age": ADULT_AGE,
                 "edvi_acquisition": ["cmr", "echo 2d_biplane"], "edv_acquisition": ["cmr", "echo 2d_biplane"]},
        per_base=[{"lv_edvi": [113, 150, 173], "lv_edv": [195, 225, 299]},  # EDV / BSA 1.5–2.3 m²
                  {"lv_edvi": [61, 81, 93], "lv_edv": [113, 130, 173]}]),
    "rv_dilatation": Walk(
        bases=[{"rv_edvi": 140, "rv_edv": 280, "sex": "male", "age": 45, "edvi_acquisition": "cmr", "edv_acquisition": "cmr"},
               {"rv_edvi": 75, "rv_edv": 140, "sex": "female", "age": 65, "edvi_acquisition": "cmr",
                "edv_acquisition": "cmr"}],
        domains={"rv_edvi": [60, 80, 100, 120, 140], "rv_edv": [120, 160, 220, 280], "sex": SEX, "age": ADULT_AGE,
                 "edvi_acquisition": ["cmr", "echo 2d_biplane"], "edv_acquisition": ["cmr", "echo 2d_biplane"]},
        per_base=[{"rv_edvi": [122, 162, 187], "rv_edv": [210, 242, 322]},  # EDV / BSA 1.5–2.3 m²
                  {"rv_edvi": [61, 81, 93], "rv_edv": [113, 130, 173]}]),
    "lv_hypertrophy": Walk(
        bases=[{"lv_massi": 110, "lv_mass": 220, "sex": "male", "age": 45, "massi_acquisition": "cmr",
                "mass_acquisition": "cmr"},
               {"lv_massi": 50, "lv_mass": 90, "sex": "female", "age": 65, "massi_acquisition": "cmr",
                "mass_acquisition": "cmr"}],
        domains={"lv_massi": [45, 60, 75, 90, 120], "lv_mass": [80, 120, 160, 220], "sex": SEX, "age": ADULT_AGE,
                 "massi_acquisition": ["cmr", "echo linear"], "mass_acquisition": ["cmr", "echo linear"]}),
    "lv_geometry": Walk(
        bases=[{"rwt": 0.48, "lv_massi": 120, "sex": "male", "age": 45, "massi_acquisition": "echo linear"},
               {"rwt": 0.35, "lv_massi": 70, "sex": "female", "age": 65, "massi_acquisition": "echo linear"}],
        domains={"rwt": [0.30, 0.40, 0.45, 0.55], "lv_massi": [70, 96, 116, 140], "sex": SEX, "age": ADULT_AGE,
                 "massi_acquisition": ["echo linear", "cmr"]}),
    "lge_presence": Walk(
        bases=[{"segments": {s: 0 for s in range(1, 18)}, "lge_extent": 0},
               {"segments": {**{s: 0 for s in range(1, 18)}, 7: (60, "subendocardial")}, "lge_extent": 5}],
        domains={"segments": [{s: 0 for s in range(1, 18)}, {7: 50}, {s: 0 for s in range(1, 10)}],
                 "lge_extent": [0, 3, 10]}),
    "native_t1_abnormal": Walk(bases=[{"native_t1_ms": 1100, "normal": RR(low=950, high=1050)}],
                               domains={"native_t1_ms": [900, 1000, 1100], "normal": [RR(low=950, high=1050)]}),
    "t2_abnormal": Walk(bases=[{"t2_ms": 55, "normal": RR(low=40, high=52)}],
                        domains={"t2_ms": [38, 45, 55], "normal": [RR(low=40, high=52)]}),
    "ecv_abnormal": Walk(bases=[{"ecv_percent": 35, "normal": RR(low=20, high=30)}],
                         domains={"ecv_percent": [18, 25, 35], "normal": [RR(low=20, high=30)]}),
}

#: Public callables that are not walked, each with the reason.
EXCLUDED: dict[str, str] = {
    "ecv": "a calculator (ECV from T1 and haematocrit); returns a number, states no finding",
    "percent_myocardium": "a calculator (summed score as % of LV); returns a number",
    "summed_scores": "a calculator of SSS/SRS/SDS; its finding is ischaemic_burden's (walked), which takes unknown segments",
    "reference_range": "a table lookup (sex and method select the row; an unknown raises); imaging rules that use it "
                       "are walked",
    "z_score": "a calculator against a reference row; returns a number",
    "cad_rads_plaque_burden": "returns a (P, reason) pair, not a finding (P None covers 'no plaque' and 'cannot "
                              "assign'); its unknown-stent rule is tested in test_clinical_cadrads",
    "ef_volume_contradictions": "takes measurements, not facts: reports inputs that contradict each other",
    "repeated_measurement_contradictions": "takes measurements, not facts: reports inputs that contradict each other",
    "input_contradictions": "takes measurements, not facts: reports inputs that contradict each other",
}

#: Parameters (``rule.parameter``) whose default is not ``None``, each with why it states no fact.
NON_FACT_DEFAULTS: dict[str, str] = {
    "percent_myocardium.n_segments": "the segment model (17 = AHA), a convention of the scores, not a patient fact",
    "ef_volume_contradictions.tolerance_points": "rounding tolerance of the comparison (a setting)",
    "input_contradictions.tolerance_points": "rounding tolerance of the comparison (a setting)",
}


# -- canonical answers ---------------------------------------------------------------------------------


def _finding_of(res: Any) -> Finding | None:
    if isinstance(res, Finding):
        return res
    if callable(getattr(res, "finding", None)):
        return res.finding()
    fs = getattr(res, "findings", None)
    if isinstance(fs, list) and fs and isinstance(fs[0], Finding):
        return fs[0]
    return None


def canonical(res: Any) -> tuple[str, Any]:
    """(status, signature) of a rule's answer; status ``not_assessable`` means it did not answer."""
    recs = getattr(res, "recommendations", None)
    if recs is None and isinstance(res, list) and all(isinstance(r, Recommendation) for r in res):
        recs = res
    f = _finding_of(res)
    status = f.status if f is not None else getattr(res, "status", "present")
    if recs is not None:
        return status, (f.code if f else None, status, frozenset((r.code, r.recommendation_class) for r in recs))
    if f is None:
        raise AssertionError(f"cannot read an answer from {type(res).__name__}")
    d = f.details
    return status, (f.code, status, d.get("category"), d.get("grade"), getattr(res, "category", None))


def contradicted(res: Any) -> bool:
    """The result reports inputs that contradict each other (the value is not one the unknown could take)."""
    if getattr(res, "contradictions", None):
        return True
    f = _finding_of(res)
    return f is not None and bool(f.details.get("contradictions") or f.details.get("contradiction"))


def _call(rule: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    try:
        return rule(**kwargs)
    except HeartprintError:
        return None


def _public() -> dict[str, Any]:
    return {name: getattr(clinical, name) for name in clinical.__all__}


# -- the tests ------------------------------------------------------------------------------------------


def test_every_public_rule_is_walked_or_excluded_with_a_reason():
    bad = []
    for name, obj in _public().items():
        if inspect.isclass(obj):
            continue  # result types (CadRads, PretestProbability, ...), not rules
        if not callable(obj):
            continue
        if name in WALKS and name in EXCLUDED:
            bad.append(f"{name}: both walked and excluded")
        elif name not in WALKS and not EXCLUDED.get(name, "").strip():
            bad.append(f"{name}: a public rule that this test neither walks nor excludes with a reason")
    stale = sorted((set(WALKS) | set(EXCLUDED)) - set(_public()))
    assert not stale, f"listed here but not public: {stale}"
    assert not bad, "\n".join(bad)


def test_every_parameter_of_a_walked_rule_has_a_domain():
    bad = []
    for name, walk in WALKS.items():
        params = inspect.signature(getattr(clinical, name)).parameters
        for p in params:
            if p not in walk.domains and not walk.not_facts.get(p, "").strip():
                bad.append(f"{name}: parameter {p!r} has no domain of values here (and no reason it is not a fact)")
        for p in set(walk.domains) | set(walk.not_facts):
            if p not in params:
                bad.append(f"{name}: {p!r} is not a parameter")
        for i, base in enumerate(walk.bases):
            res = _call(getattr(clinical, name), base)
            if res is None:
                bad.append(f"{name}: base case {i} is refused: {base}")
    assert not bad, "\n".join(bad)


def test_no_default_states_a_fact():
    bad = []
    for name, obj in _public().items():
        if inspect.isclass(obj) or not callable(obj):
            continue
        for p, par in inspect.signature(obj).parameters.items():
            if par.default is inspect.Parameter.empty or par.default is None:
                continue
            if not NON_FACT_DEFAULTS.get(f"{name}.{p}", "").strip():
                bad.append(f"{name}: parameter {p}={par.default!r} has a default that is not None")
    assert not bad, "\n".join(bad)


def compatible(unknown: tuple[Any, ...], concrete: tuple[Any, ...]) -> bool:
    """The answer given with an input unknown holds for a concrete value's answer: code and status equal;
    a category or grade the unknown answer does not state (``None``) claims nothing; one it states as
    ``"A or B"`` holds when the concrete answer is one of them; any other part must be equal."""
    if unknown[:2] != concrete[:2]:
        return False
    for u, c in zip(unknown[2:], concrete[2:]):
        if u is None or u == c:
            continue
        if isinstance(u, str) and isinstance(c, str) and c in u.split(" or "):
            continue
        return False
    return True


def walk(rule: Callable[..., Any], spec: Walk, name: str = "") -> list[str]:
    """Every (base case, parameter set to unknown) whose answer a concrete value of it contradicts."""
    failures = []
    for i, base in enumerate(spec.bases):
        for p in inspect.signature(rule).parameters:
            if p in spec.not_facts:
                continue
            res = _call(rule, {**base, p: None})
            if res is None:
                continue  # refused: not an answer
            status, answer = canonical(res)
            if status == "not_assessable":
                continue
            for value in spec.domain(i, p):
                concrete = _call(rule, {**base, p: value})
                if concrete is None or contradicted(concrete):
                    continue  # not a value the unknown could take with these other inputs
                _, c_answer = canonical(concrete)
                if not compatible(answer, c_answer):
                    failures.append(f"{name} base {i}, {p}=None answers {answer}, but {p}={value!r} answers {c_answer}")
                    break
    return failures


@pytest.mark.parametrize("name", sorted(WALKS))
def test_an_unknown_input_never_changes_an_answer(name):
    failures = walk(getattr(clinical, name), WALKS[name], name)
    assert not failures, "\n".join(failures)


def test_the_walk_catches_an_unknown_read_as_no():
    """The walk fails a rule that reads an unknown symptom as "no" (as ``hf_type(symptoms=True)``'s
    default once decided for a fact that was not given) and passes its tri-state version."""

    def as_no(lvef: float, *, symptoms: bool | None = None) -> Finding:
        if lvef is None:
            raise InvalidInputError("lvef=None: expected a number")
        present = lvef <= 40 and bool(symptoms)
        return Finding(code="toy", statement="", status="present" if present else "absent", rule="toy", citation="toy")

    def tri_state(lvef: float, *, symptoms: bool | None = None) -> Finding:
        if symptoms is None and lvef <= 40:
            return Finding(code="toy", statement="", status="not_assessable", rule="toy", citation="toy", missing=["symptoms"])
        return as_no(lvef, symptoms=symptoms)

    spec = Walk(bases=[{"lvef": 30, "symptoms": True}, {"lvef": 60, "symptoms": True}],
                domains={"lvef": [30, 60], "symptoms": BOOL})
    assert walk(as_no, spec, "as_no") == [
        "as_no base 0, symptoms=None answers ('toy', 'absent', None, None, None), "
        "but symptoms=True answers ('toy', 'present', None, None, None)"]
    assert walk(tri_state, spec, "tri_state") == []
    assert compatible(("g", "present", "concentric remodelling or concentric hypertrophy", None, None),
                      ("g", "present", "concentric hypertrophy", None, None))
    assert not compatible(("g", "present", "concentric remodelling", None, None),
                          ("g", "present", "concentric hypertrophy", None, None))

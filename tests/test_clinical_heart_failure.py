"""ESC 2021 HF type, HFA-PEFF, H2FPEF and ASE/EACVI 2016 diastolic function.

Oracles: clinical_reference.md §4–§6 (ESC 2021 Table 3/9 ✅P; HFA-PEFF ✅S/☑C; H2FPEF
points ☑C + bands ✅S; ASE 2016 ✅S/☑C). Boundaries tested on both sides. Values marked ⚠M
(minor-range ends of HFA-PEFF) are not tested as published.
"""

import pytest

from heartprint.clinical import diastolic_function, h2fpef, hf_type, hfa_peff
from heartprint.errors import InvalidInputError


# ---------------------------------------------------------------- ESC 2021 Table 3
#: symptoms given and an earlier LVEF >40 % (so HF with improved EF is ruled out)
KNOWN = dict(symptoms=True, previous_lvef=60)


@pytest.mark.parametrize("lvef,code", [(10, "hfref"), (40, "hfref"), (40.1, "hfmref"), (41, "hfmref"), (49, "hfmref"),
                                       (49.9, "hfmref"), (50, "hfpef"), (70, "hfpef")])
def test_hf_type_bands(lvef, code):
    f = hf_type(lvef, hfpef_evidence=True, **KNOWN)
    assert f.code == code and f.status == "present" and "ehab368" in f.citation


def test_hf_type_needs_symptoms():
    """Table 3 criterion 1 (symptoms ± signs): never assumed."""
    f = hf_type(30)
    assert f.status == "not_assessable" and f.code == "hfref" and f.missing == ["symptoms ± signs of heart failure"]
    assert f.details["would_be"] == {"with symptoms ± signs of HF": "HFrEF (LVEF ≤40 %)",
                                     "without symptoms or signs of HF": "no HF syndrome: no symptoms or signs of HF (LVEF 30 %)"}
    assert "HFrEF (LVEF ≤40 %)" in f.statement
    f = hf_type(45)
    assert f.status == "not_assessable" and f.details["would_be"]["with symptoms ± signs of HF"] == "HFmrEF (LVEF 41–49 %)"
    assert hf_type(30, symptoms=False).status == "absent"
    assert hf_type(30, symptoms=True).status == "present"


def test_hfpef_needs_evidence():
    f = hf_type(60, **KNOWN)
    assert f.status == "not_assessable" and f.missing
    assert hf_type(60, hfpef_evidence=False, **KNOWN).status == "absent"


@pytest.mark.parametrize(
    "kwargs,status",
    [({"sex": "female", "lvmi": 95}, "present"), ({"sex": "female", "lvmi": 94}, "not_assessable"),
     ({"sex": "male", "lvmi": 115}, "present"), ({"sex": "male", "lvmi": 114.9}, "not_assessable"),
     ({"rwt": 0.43}, "present"), ({"rwt": 0.42}, "not_assessable"),
     ({"rhythm": "sinus", "lavi": 34.1}, "present"), ({"rhythm": "sinus", "lavi": 34}, "not_assessable"),
     ({"rhythm": "af", "lavi": 40}, "not_assessable"), ({"rhythm": "af", "lavi": 40.5}, "present"),
     ({"e_e_prime": 9}, "not_assessable"), ({"e_e_prime": 9.1}, "present"),
     ({"rhythm": "sinus", "nt_probnp": 126}, "present"), ({"rhythm": "sinus", "nt_probnp": 125}, "not_assessable"),
     ({"rhythm": "af", "nt_probnp": 366}, "present"), ({"rhythm": "af", "nt_probnp": 365}, "not_assessable"),
     ({"rhythm": "sinus", "bnp": 36}, "present"), ({"rhythm": "af", "bnp": 105}, "not_assessable"),
     ({"rhythm": "af", "bnp": 106}, "present"),
     ({"pasp": 36}, "present"), ({"pasp": 35}, "not_assessable"),
     ({"tr_velocity": 2.9}, "present"), ({"tr_velocity": 2.8}, "not_assessable"),
     # sex unknown: LVMI ≥115 g/m² is abnormal for both sexes (Table 9: ≥95 women, ≥115 men)
     ({"lvmi": 120}, "present"), ({"lvmi": 115}, "present"), ({"lvmi": 114.9}, "not_assessable"),
     ({"lvmi": 100}, "not_assessable"),
     # rhythm unknown: above both the sinus-rhythm and the AF threshold decides
     ({"nt_probnp": 400}, "present"), ({"nt_probnp": 366}, "present"), ({"nt_probnp": 365}, "not_assessable"),
     ({"nt_probnp": 200}, "not_assessable"),
     ({"bnp": 106}, "present"), ({"bnp": 105}, "not_assessable"),
     ({"lavi": 40.1}, "present"), ({"lavi": 40}, "not_assessable")],
)
def test_esc2021_table9_thresholds(kwargs, status):
    assert hf_type(55, **KNOWN, **kwargs).status == status


def test_table9_names_the_fact_that_would_decide():
    f = hf_type(55, nt_probnp=200, **KNOWN)  # >125 (sinus rhythm) but ≤365 (AF)
    assert any(m.startswith("rhythm") and "NT-proBNP 200 pg/mL" in m for m in f.missing)
    f = hf_type(55, lvmi=100, **KNOWN)  # ≥95 (women) but <115 (men)
    assert any(m.startswith("sex") and "100 g/m²" in m for m in f.missing)


def test_hf_type_improved_ef():
    assert hf_type(55, symptoms=True, previous_lvef=35).code == "hfimpef"
    assert hf_type(55, symptoms=True, previous_lvef=40).code == "hfimpef"
    assert hf_type(55, symptoms=True, previous_lvef=41, hfpef_evidence=True).code == "hfpef"
    # earlier LVEF unknown: HFpEF and HF with improved EF cannot be told apart
    f = hf_type(55, symptoms=True, hfpef_evidence=True)
    assert f.status == "not_assessable" and f.missing == ["earlier LVEF (HF with improved EF if it was ≤40 %)"]
    assert set(f.details["would_be"]) == {"earlier LVEF ≤40 %", "earlier LVEF >40 % or none"}
    # … but below 50 % the earlier LVEF changes nothing
    assert hf_type(45, symptoms=True).status == "present"


def test_hf_type_contradiction_is_said():
    f = hf_type(55, hfpef_evidence=False, nt_probnp=900, **KNOWN)
    assert f.status == "not_assessable" and "NT-proBNP 900 pg/mL" in f.statement and "contradict" in f.statement
    # irrelevant below 50 %: the type does not depend on it
    assert hf_type(30, hfpef_evidence=False, nt_probnp=900, **KNOWN).status == "present"


@pytest.mark.parametrize("lvef", [140, -1, float("nan"), "40"])
def test_hf_type_bad_lvef(lvef):
    with pytest.raises(InvalidInputError, match="lvef"):
        hf_type(lvef)


# ---------------------------------------------------------------- HFA-PEFF
FULL_NORMAL = dict(rhythm="sinus", sex="male", age=60, septal_e=9, lateral_e=12, average_e_e=7, tr_velocity=2.2, pasp=25,
                   gls=20, lavi=25, lvmi=90, rwt=0.38, wall_thickness=9, nt_probnp=80, bnp=20)


def _hfa(**kw):
    d = dict(FULL_NORMAL)
    d.update(kw)
    return hfa_peff(**d)


def test_hfa_normal_is_zero():
    f = _hfa()
    assert f.details["total"] == 0 and f.status == "absent" and f.details["category"] == "unlikely"


@pytest.mark.parametrize(
    "kw,domain,points",
    [
        ({"septal_e": 6.9}, "functional", 2), ({"septal_e": 7}, "functional", 0),
        ({"lateral_e": 9.9}, "functional", 2), ({"lateral_e": 10}, "functional", 0),
        ({"age": 75, "septal_e": 5.5}, "functional", 0), ({"age": 75, "septal_e": 4.9}, "functional", 2),
        ({"age": 74.9, "septal_e": 5.5}, "functional", 2), ({"age": 75, "lateral_e": 6.9}, "functional", 2),
        ({"average_e_e": 15}, "functional", 2), ({"average_e_e": 14.9}, "functional", 1), ({"average_e_e": 10}, "functional", 1),
        ({"average_e_e": 8.9}, "functional", 0),
        ({"tr_velocity": 2.81}, "functional", 2), ({"tr_velocity": 2.8}, "functional", 0),
        ({"pasp": 36}, "functional", 2), ({"pasp": 35}, "functional", 0),
        ({"gls": 15.9}, "functional", 1), ({"gls": -15.9}, "functional", 1), ({"gls": 16}, "functional", 0),
        ({"lavi": 34.1}, "morphological", 2), ({"lavi": 34}, "morphological", 1), ({"lavi": 30}, "morphological", 1),
        ({"rhythm": "af", "lavi": 40.1, "nt_probnp": 80}, "morphological", 2), ({"rhythm": "af", "lavi": 40, "nt_probnp": 80}, "morphological", 1),
        ({"lvmi": 149, "rwt": 0.43}, "morphological", 2), ({"lvmi": 148, "rwt": 0.43}, "morphological", 1),
        ({"lvmi": 149, "rwt": 0.42}, "morphological", 1), ({"sex": "female", "lvmi": 122, "rwt": 0.45}, "morphological", 2),
        ({"sex": "female", "lvmi": 121, "rwt": 0.40}, "morphological", 1), ({"rwt": 0.43}, "morphological", 1),
        ({"wall_thickness": 12}, "morphological", 1), ({"wall_thickness": 11.9}, "morphological", 0),
        ({"nt_probnp": 221}, "biomarker", 2), ({"nt_probnp": 220}, "biomarker", 1), ({"nt_probnp": 125}, "biomarker", 1),
        ({"nt_probnp": 124}, "biomarker", 0), ({"nt_probnp": 50, "bnp": 81}, "biomarker", 2),
        ({"nt_probnp": 50, "bnp": 80}, "biomarker", 1), ({"nt_probnp": 50, "bnp": 34}, "biomarker", 0),
        ({"rhythm": "af", "lavi": 20, "nt_probnp": 661}, "biomarker", 2), ({"rhythm": "af", "lavi": 20, "nt_probnp": 660}, "biomarker", 1),
        ({"rhythm": "af", "lavi": 20, "nt_probnp": 364}, "biomarker", 0),
        ({"rhythm": "af", "lavi": 20, "nt_probnp": 50, "bnp": 241}, "biomarker", 2),
        ({"rhythm": "af", "lavi": 20, "nt_probnp": 50, "bnp": 104}, "biomarker", 0),
    ],
)
def test_hfa_domain_thresholds(kw, domain, points):
    assert _hfa(**kw).details[domain] == points


def test_hfa_domain_cap_and_total():
    f = _hfa(septal_e=5, average_e_e=20, tr_velocity=3.2, lavi=40, nt_probnp=500)
    assert (f.details["functional"], f.details["morphological"], f.details["biomarker"]) == (2, 2, 2)
    assert f.details["total"] == 6 and f.status == "present"


@pytest.mark.parametrize("kw,total,status", [
    ({"septal_e": 6, "lavi": 30, "nt_probnp": 150}, 4, "not_assessable"),
    ({"septal_e": 6, "lavi": 35, "nt_probnp": 150}, 5, "present"),
    ({"nt_probnp": 150}, 1, "absent"),
    ({"nt_probnp": 300}, 2, "not_assessable"),
])
def test_hfa_categories(kw, total, status):
    f = _hfa(**kw)
    assert f.details["total"] == total and f.status == status


def test_hfa_missing_inputs_never_guessed():
    f = hfa_peff(rhythm="sinus", septal_e=9, lateral_e=12, average_e_e=7, tr_velocity=2.2, gls=20)
    assert f.status == "not_assessable" and f.details["category"] is None
    assert any("biomarker" in m for m in f.missing) and any("morphological" in m for m in f.missing)
    # but enough abnormal findings decide it despite missing inputs
    f = hfa_peff(rhythm="sinus", sex="male", average_e_e=16, lavi=40, nt_probnp=150)
    assert f.details["total"] == 5 and f.status == "present"
    # age unknown: septal e′ 6 is <7 (<75 y) but not <5 (≥75 y): the functional domain is uncertain
    f = hfa_peff(septal_e=6, rhythm="sinus", lavi=20, nt_probnp=50)
    assert f.details["functional"] is None and f.details["points_range"]["functional"] == [0, 2]
    assert any("age" in m for m in f.missing if m.startswith("functional"))
    # … and below both age bands' thresholds it scores
    assert _hfa(age=None, septal_e=4.9).details["functional"] == 2


def test_hfa_rhythm_unknown_decides_above_both_thresholds():
    """LAVI >40 and NT-proBNP >660 pg/mL are major in sinus rhythm and in AF (Pieske 2019; ESC 2021 Table 9)."""
    f = _hfa(rhythm=None, lavi=41, nt_probnp=700, bnp=None)
    assert (f.details["morphological"], f.details["biomarker"]) == (2, 2)
    f = _hfa(rhythm=None, lavi=41, nt_probnp=700, bnp=None, septal_e=5, lateral_e=6)
    assert f.details["total"] == 6 and f.status == "present"
    # LAVI 36: major in sinus rhythm (>34), minor in AF (34–40): uncertain
    f = _hfa(rhythm=None, lavi=36)
    assert f.details["morphological"] is None and f.details["points_range"]["morphological"] == [1, 2]
    assert any("rhythm" in m for m in f.missing)
    # normal for both: LAVI 25, NT-proBNP 80, BNP 20 → 0 points whatever the rhythm
    assert _hfa(rhythm=None).status == "absent"


def test_hfa_sex_unknown():
    # LVMI 150 with RWT 0.45: ≥149 (men) and ≥122 (women): major either way
    assert _hfa(sex=None, lvmi=150, rwt=0.45).details["morphological"] == 2
    # LVMI 130 with RWT 0.45: major for women, minor for men
    f = _hfa(sex=None, lvmi=130, rwt=0.45)
    assert f.details["morphological"] is None and f.details["points_range"]["morphological"] == [1, 2]


def test_hfa_low_score_with_unmeasured_domains_is_not_unlikely():
    """Score 1 from the measured items is not "unlikely" when unmeasured items could add points."""
    f = hfa_peff(rhythm="sinus", nt_probnp=150, bnp=40)  # biomarker minor = 1; echo not given
    assert f.status == "not_assessable" and f.details["category"] is None
    assert f.details["total"] == 1 and f.details["total_max"] == 5
    assert set(f.details["would_be"]) == {"score ≤1", "score 2–4", "score ≥5"}
    assert any(m.startswith("functional") for m in f.missing) and any(m.startswith("morphological") for m in f.missing)
    # one peptide normal, the other not measured: the biomarker domain is uncertain
    f = _hfa(bnp=None)
    assert f.details["biomarker"] is None and f.status == "not_assessable"
    assert any(m.startswith("biomarker") and "BNP" in m for m in f.missing)


def test_hfa_bad_inputs():
    with pytest.raises(InvalidInputError, match="rhythm"):
        hfa_peff(rhythm="flutter")
    with pytest.raises(InvalidInputError, match="septal_e"):
        hfa_peff(septal_e=-3)


# ---------------------------------------------------------------- H2FPEF
ALL_H2 = dict(bmi=31, antihypertensives=2, af=True, pasp=36, age=61, e_e_prime=9.1)
NONE_H2 = dict(bmi=30, antihypertensives=1, af=False, pasp=35, age=60, e_e_prime=9)


@pytest.mark.parametrize("item,points", [("bmi", 2), ("antihypertensives", 1), ("af", 3), ("pasp", 1), ("age", 1), ("e_e_prime", 1)])
def test_h2fpef_each_item_and_its_boundary(item, points):
    kw = dict(NONE_H2)
    assert h2fpef(**kw).details["points"] == 0
    kw[item] = ALL_H2[item]
    assert h2fpef(**kw).details["points"] == points


def test_h2fpef_total_nine():
    f = h2fpef(**ALL_H2)
    assert f.details["points"] == 9 and f.details["band"] == "high" and f.status == "present"


@pytest.mark.parametrize("kw,points,band,status", [
    (dict(NONE_H2, age=61), 1, "low", "absent"),
    (dict(NONE_H2, bmi=31), 2, "intermediate", "not_assessable"),
    (dict(NONE_H2, af=True, bmi=31), 5, "intermediate", "not_assessable"),
    (dict(NONE_H2, af=True, bmi=31, age=65), 6, "high", "present"),
])
def test_h2fpef_bands_both_sides(kw, points, band, status):
    f = h2fpef(**kw)
    assert (f.details["points"], f.details["band"], f.status) == (points, band, status)


@pytest.mark.parametrize("age,bmi,ee,pasp,af,p", [(45, 31, 9, 35, False, 37.34), (60, 25, 5, 12, True, 38.60),
                                                  (51, 30, 10, 45, True, 87.30), (70, 35, 15, 45, True, 97.95)])
def test_h2fpef_continuous_matches_reference_coefficients(age, bmi, ee, pasp, af, p):
    # cases derived in clinical_reference.md §4b from the ☑C coefficients (not published values)
    f = h2fpef(age=age, bmi=bmi, e_e_prime=ee, pasp=pasp, af=af, antihypertensives=0)
    assert f.details["probability_percent"] == pytest.approx(p, abs=0.01)


def test_h2fpef_missing():
    f = h2fpef(bmi=31, age=70)
    assert f.status == "not_assessable" and f.details["band"] is None and "PASP (mmHg)" in f.missing
    assert f.details["probability_percent"] is None
    # already ≥6 without the unknowns -> decided
    assert h2fpef(af=True, bmi=35, age=70).status == "present"


@pytest.mark.parametrize("kw,match", [({"bmi": 5}, "bmi"), ({"age": 200}, "age"), ({"antihypertensives": -1}, "antihypertensives"),
                                      ({"af": "yes"}, "af")])
def test_h2fpef_bad(kw, match):
    with pytest.raises(InvalidInputError, match=match):
        h2fpef(**kw)


# ---------------------------------------------------------------- ASE/EACVI 2016
NORMAL_DD = dict(lvef=60, myocardial_disease=False, septal_e=8, lateral_e=11, average_e_e=10, tr_velocity=2.5, lavi=30)


@pytest.mark.parametrize("kw,status", [
    ({}, "absent"),
    ({"average_e_e": 14.1}, "absent"),  # 1/4
    ({"average_e_e": 14.1, "lavi": 34.1}, "not_assessable"),  # 2/4 indeterminate
    ({"average_e_e": 14.1, "lavi": 34.1, "tr_velocity": 2.9}, "not_assessable"),  # 3/4: dysfunction, grade needs E/A
    ({"average_e_e": 14.1, "lavi": 34.1, "tr_velocity": 2.9, "e_a_ratio": 2.5}, "present"),  # 3/4, grade III
    ({"average_e_e": 14, "lavi": 34, "tr_velocity": 2.8, "septal_e": 7}, "absent"),  # all on the normal side
    ({"septal_e": 6.9, "lateral_e": 11, "lavi": 35, "tr_velocity": 2.9, "e_a_ratio": 2.5}, "present"),
    ({"septal_e": 8, "lateral_e": 9.9, "lavi": 35, "tr_velocity": 2.9, "e_a_ratio": 2.5}, "present"),
])
def test_ase_normal_ef(kw, status):
    assert diastolic_function(**dict(NORMAL_DD, **kw)).status == status


def test_ase_dysfunction_without_grade_is_said_but_not_answered():
    """3/4 abnormal is dysfunction, but its grade (algorithm B) needs mitral inflow: not assessable, dysfunction stated."""
    f = diastolic_function(**dict(NORMAL_DD, average_e_e=15, lavi=40, tr_velocity=3.0))
    assert f.status == "not_assessable" and f.details["dysfunction"] is True and f.details["grade"] is None
    assert f.missing == ["mitral inflow E/A ratio (and E velocity, cm/s)"] and "Diastolic dysfunction" in f.statement


def test_ase_normal_ef_unmeasured_variables():
    """ASE 2016 counts the available variables; an unmeasured one could be abnormal, normal or unobtainable,
    so the answer is given only when it is the same in every case."""
    # 2 of 3 measured abnormal: dysfunction on the three (2/3), indeterminate if the 4th is normal (2/4)
    f = diastolic_function(lvef=60, myocardial_disease=False, average_e_e=15, lavi=40, tr_velocity=2.0)
    assert f.status == "not_assessable" and f.details["available"] == 3
    assert f.missing == ["septal e′ <7 or lateral e′ <10 cm/s"]
    assert f.details["available_only"] == "2 of 3 available variables abnormal: dysfunction"
    assert set(f.details["would_be"]) == {"dysfunction", "indeterminate"}
    # 3 of 3 measured abnormal: 3/4, 4/4 or 3/3 → dysfunction whatever the 4th
    f = diastolic_function(lvef=60, myocardial_disease=False, average_e_e=15, lavi=40, tr_velocity=3.0, e_a_ratio=2.5)
    assert f.status == "present" and f.details["grade"] == "III"
    # 3 of 3 measured normal: 0/4, 1/4 or 0/3 → normal whatever the 4th
    f = diastolic_function(lvef=60, myocardial_disease=False, average_e_e=10, lavi=30, tr_velocity=2.0)
    assert f.status == "absent"
    # one e′ normal and the other not measured: the e′ variable is unknown
    f = diastolic_function(lvef=60, myocardial_disease=False, septal_e=8, average_e_e=15, lavi=40)
    assert f.status == "not_assessable"
    f = diastolic_function(lvef=60, myocardial_disease=False, average_e_e=15, lavi=20)  # 1/2
    assert f.status == "not_assessable"
    f = diastolic_function(lvef=60, myocardial_disease=False, lavi=40)
    assert f.status == "not_assessable" and f.missing


def test_ase_algorithm_needs_lvef_and_myocardial_disease():
    """Algorithm A needs normal LVEF *and* no myocardial disease; unknown → both are tried."""
    normal = {k: v for k, v in NORMAL_DD.items() if k not in ("lvef", "myocardial_disease")}
    # normal LVEF, myocardial disease unknown: A says normal, B (no E/A) cannot grade → not assessable
    f = diastolic_function(lvef=60, **normal)
    assert f.status == "not_assessable"
    assert any("myocardial disease" in m for m in f.missing)
    assert set(f.details["would_be"]) == {"normal LVEF without myocardial disease (algorithm A)",
                                          "reduced LVEF or myocardial disease (algorithm B)"}
    # A normal, B grade I (E/A 0.7, E 40 cm/s): they disagree → not assessable
    f = diastolic_function(lvef=60, e_a_ratio=0.7, e_velocity=40, **normal)
    assert f.status == "not_assessable"
    # LVEF unknown, no myocardial disease: still either algorithm
    assert diastolic_function(myocardial_disease=False, **normal).status == "not_assessable"
    # both algorithms agree: A 4/4 abnormal and B grade II → answered without LVEF
    f = diastolic_function(septal_e=5, lateral_e=6, average_e_e=16, tr_velocity=3.0, lavi=40, e_a_ratio=1.5)
    assert f.status == "present" and f.details["grade"] == "II" and f.details["algorithm"].startswith("either")
    # myocardial disease → B whatever the LVEF
    assert diastolic_function(myocardial_disease=True, e_a_ratio=2.5).details["grade"] == "III"
    assert diastolic_function().status == "not_assessable"


@pytest.mark.parametrize("kw,grade,lap", [
    ({"e_a_ratio": 0.8, "e_velocity": 50}, "I", "normal"),
    ({"e_a_ratio": 2.0}, "III", "elevated"),
    ({"e_a_ratio": 1.99, "average_e_e": 15, "tr_velocity": 3.0, "lavi": 30}, "II", "elevated"),
    ({"e_a_ratio": 1.2, "average_e_e": 15, "tr_velocity": 2.0, "lavi": 30}, "I", "normal"),
    ({"e_a_ratio": 0.8, "e_velocity": 51, "average_e_e": 15, "lavi": 40}, "II", "elevated"),
    ({"e_a_ratio": 0.81, "e_velocity": 40, "average_e_e": 10, "lavi": 30}, "I", "normal"),
    ({"e_a_ratio": 1.0, "average_e_e": 14, "tr_velocity": 2.8, "lavi": 34}, "I", "normal"),
])
def test_ase_reduced_ef_grades(kw, grade, lap):
    f = diastolic_function(lvef=35, **kw)
    assert f.status == "present" and f.details["grade"] == grade and f.details["lap"] == lap


def test_ase_reduced_ef_indeterminate_and_missing():
    f = diastolic_function(lvef=35, e_a_ratio=1.2, average_e_e=15, lavi=30)  # 1+ 1- of 2
    assert f.status == "not_assessable" and f.details["lap"] == "indeterminate" and "TR velocity >2.8 m/s" in f.missing
    assert diastolic_function(lvef=35).status == "not_assessable"
    assert diastolic_function(lvef=35, e_a_ratio=0.7).missing == ["mitral E velocity (cm/s)"]
    assert diastolic_function(myocardial_disease=True, lvef=60, e_a_ratio=2.5).details["grade"] == "III"


def test_ase_dysfunction_is_graded():
    f = diastolic_function(lvef=60, myocardial_disease=False, septal_e=5, average_e_e=16, tr_velocity=3.0, lavi=40,
                           e_a_ratio=1.5)
    assert f.status == "present" and f.details["grade"] == "II"


@pytest.mark.parametrize("kw,match", [({"lvef": 140}, "lvef"), ({"tr_velocity": -1}, "tr_velocity"), ({"e_a_ratio": 0}, "e_a_ratio"),
                                      ({"myocardial_disease": "yes"}, "myocardial_disease")])
def test_ase_bad(kw, match):
    with pytest.raises(InvalidInputError, match=match):
        diastolic_function(**kw)

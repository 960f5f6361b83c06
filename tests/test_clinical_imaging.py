"""Imaging phenotype findings from imaging alone, and input contradictions (issue 16, items 2 and 4).

Thresholds are checked on both sides of each published boundary: the ASE/EACVI 2015 LVEF
partition and 2D-echo limits (Lang 2015 Table 4: LVEF 52 % men / 54 % women; LV mass index,
linear method, 115 / 95 g/m²; LVEDV index 74 / 61 mL/m²; RWT 0.42), the ESC 2021 EF categories
(Table 3), and the CMR SSFP limits of the verified table (mean ± 1.96 SD, read back from
:func:`heartprint.clinical.reference_ranges.reference_range`, whose own tests check the paper's
numbers). Unknown sex and age are values: a rule decides only when every value they could take
gives the same answer.
"""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest

from heartprint.clinical import _registry
from heartprint.clinical.imaging import (
    ADULT_AGES,
    ecv_abnormal,
    ef_volume_contradictions,
    input_contradictions,
    lge_presence,
    lv_dilatation,
    lv_geometry,
    lv_hypertrophy,
    lv_systolic_dysfunction,
    native_t1_abnormal,
    reference_method,
    repeated_measurement_contradictions,
    rv_dilatation,
    rv_systolic_dysfunction,
    t2_abnormal,
)
from heartprint.clinical.interpret import interpret
from heartprint.clinical.reference_ranges import reference_range
from heartprint.errors import InvalidInputError
from heartprint.measure import Measurement, ReferenceRange
from heartprint.phenotype import PatientFacts, Phenotype

ECHO = "US Simpson biplane"
SEXES = (None, "male", "female")
AGES = (None, 19, 30, 44, 45, 60, 74, 75, 90)
MY_CODES = {"lv_systolic_dysfunction", "lv_dilatation", "lv_hypertrophy", "lv_geometry", "rv_dilatation",
            "rv_systolic_dysfunction", "lge_presence", "native_t1_abnormal", "t2_abnormal", "ecv_abnormal",
            "input_contradiction"}


def cmr_limit(code: str, sex: str, age: float, which: str) -> float:
    rr = reference_range(code, sex, modality="cmr", method="ssfp", age=age)
    return rr.low if which == "low" else rr.high


# -- LV systolic function --------------------------------------------------------------------------


@pytest.mark.parametrize("ef, grade", [(10, "severely"), (29.9, "severely"), (30, "moderately"), (35, "moderately"),
                                       (40, "moderately"), (40.5, "mildly")])
def test_lvef_below_41_is_present_whatever_sex_age_and_modality(ef, grade):
    for sex, age, acq in itertools.product(SEXES, AGES, (None, "MR", ECHO, "CT", "US")):
        f = lv_systolic_dysfunction(ef, sex=sex, age=age, acquisition=acq)
        assert f.status == "present", (sex, age, acq, f.statement)
        assert f.details["grade"] == f"{grade} abnormal"
        assert not f.missing


@pytest.mark.parametrize("ef, category", [(40, "reduced"), (40.1, "mildly reduced"), (49.9, "mildly reduced"),
                                          (50, "preserved"), (64, "preserved")])
def test_esc_2021_ef_category_is_a_category_not_a_diagnosis(ef, category):
    f = lv_systolic_dysfunction(ef, sex="male", age=60, acquisition="MR")
    assert f.details["esc_2021_ef_category"].startswith(category + " (")
    assert "doi:10.1093/eurheartj/ehab368" in f.citation and "doi:10.1016/j.echo.2014.10.003" in f.citation
    if f.status == "present":
        assert "not a diagnosis of heart failure" in f.statement
    assert "HFrEF" not in f.statement and "heart failure with" not in f.statement


@pytest.mark.parametrize("sex, limit", [("male", 52.0), ("female", 54.0)])
def test_lvef_echo_lower_limit_lang_2015_table_4(sex, limit):
    below = lv_systolic_dysfunction(limit - 0.1, sex=sex, acquisition=ECHO)
    at = lv_systolic_dysfunction(limit, sex=sex, acquisition=ECHO)
    assert below.status == "present" and below.details["grade"] == "mildly abnormal"
    assert at.status == "absent"
    # the echo rows hold for every adult age: an unknown age decides
    assert lv_systolic_dysfunction(limit, sex=sex, age=None, acquisition=ECHO).status == "absent"


def test_lvef_echo_sex_unknown_decides_only_when_both_sexes_agree():
    assert lv_systolic_dysfunction(51.9, acquisition=ECHO).status == "present"  # below 52 and 54
    assert lv_systolic_dysfunction(54, acquisition=ECHO).status == "absent"  # at or above both
    f = lv_systolic_dysfunction(53, acquisition=ECHO)
    assert f.status == "not_assessable" and f.missing == ["sex"]
    assert sorted(f.details["would_be"].values()) == ["absent", "present (mildly abnormal)"]
    assert lv_systolic_dysfunction(53, sex="male", acquisition=ECHO).status == "absent"
    assert lv_systolic_dysfunction(53, sex="female", acquisition=ECHO).status == "present"


@pytest.mark.parametrize("sex", ["male", "female"])
def test_lvef_cmr_lower_limit_from_the_verified_table(sex):
    low = cmr_limit("lv_ef", sex, 60, "low")
    assert lv_systolic_dysfunction(low - 0.05, sex=sex, age=60, acquisition="MR").status == "present"
    assert lv_systolic_dysfunction(low, sex=sex, age=60, acquisition="MR").status == "absent"
    assert lv_systolic_dysfunction(low + 0.05, sex=sex, age=60, acquisition="MR").status == "absent"


def test_lvef_cmr_age_outside_every_band_is_not_assessable_unless_below_41():
    f = lv_systolic_dysfunction(45, sex="male", age=30, acquisition="MR")
    assert f.status == "not_assessable" and f.missing
    assert "30 y" in f.statement
    assert lv_systolic_dysfunction(40, sex="male", age=30, acquisition="MR").status == "present"
    # unknown age: some adult ages have no verified CMR LVEF range, so a normal LVEF is not "absent"
    g = lv_systolic_dysfunction(64, sex="male", acquisition="MR")
    assert g.status == "not_assessable" and g.missing == ["age"]
    assert "not assessable" in g.details["would_be"].values() and "absent" in g.details["would_be"].values()
    assert lv_systolic_dysfunction(64, sex="male", age=60, acquisition="MR").status == "absent"


def test_lvef_without_modality_or_range_is_not_assessable_above_40():
    f = lv_systolic_dysfunction(45, sex="male", age=60)
    assert f.status == "not_assessable" and f.missing == ["the modality and method of the LV ejection fraction measurement"]
    g = lv_systolic_dysfunction(45, sex="male", age=60, acquisition="US")  # echo without the biplane method
    assert g.status == "not_assessable" and "echo (method not stated)" in g.missing[0]


def test_reference_method_reads_modality_then_method():
    assert reference_method("lv_ef", "MR summation of discs") == ("cmr", "ssfp")
    assert reference_method("lv_ef", "cmr") == ("cmr", "ssfp")
    assert reference_method("lv_ef", "MR FLASH cine") is None  # gradient echo: no SSFP table
    assert reference_method("lv_ef", "US biplane Simpson") == ("echo", "2d_biplane")
    assert reference_method("lv_massi", "echo linear") == ("echo", "linear")
    assert reference_method("lavi", "US") == ("echo", "2d")
    assert reference_method("lv_ef", "US") is None
    assert reference_method("lv_ef", None) is None and reference_method("lv_ef", "SSFP") is None
    with pytest.raises(InvalidInputError):
        reference_method("lv_ef", 3)


def test_bad_inputs_raise():
    with pytest.raises(InvalidInputError):
        lv_systolic_dysfunction(120)
    with pytest.raises(InvalidInputError):
        lv_systolic_dysfunction(50, sex="m")
    with pytest.raises(InvalidInputError):
        lv_geometry(-0.1)


# -- size, mass, geometry ------------------------------------------------------------------------


@pytest.mark.parametrize("sex, high", [("male", 74.0), ("female", 61.0)])
def test_lv_dilatation_echo_index_upper_limit(sex, high):
    assert lv_dilatation(lv_edvi=high, sex=sex, edvi_acquisition=ECHO).status == "absent"
    f = lv_dilatation(lv_edvi=high + 0.1, sex=sex, edvi_acquisition=ECHO)
    assert f.status == "present" and "LV dilated" in f.statement
    assert f.details["used"] == "lv_edvi" and f.details["indexed_to_bsa"] is True


def test_lv_dilatation_sex_unknown():
    assert lv_dilatation(lv_edvi=75, edvi_acquisition=ECHO).status == "present"  # above 74 and 61
    assert lv_dilatation(lv_edvi=60, edvi_acquisition=ECHO).status == "absent"
    f = lv_dilatation(lv_edvi=65, edvi_acquisition=ECHO)
    assert f.status == "not_assessable" and f.missing == ["sex"]


@pytest.mark.parametrize("sex", ["male", "female"])
def test_lv_dilatation_cmr_absolute_volume_without_an_index(sex):
    high = cmr_limit("lv_edv", sex, 40, "high")
    assert lv_dilatation(lv_edv=high, sex=sex, age=40, edv_acquisition="MR").status == "absent"
    f = lv_dilatation(lv_edv=high + 0.1, sex=sex, age=40, edv_acquisition="MR")
    assert f.status == "present" and f.details["used"] == "lv_edv" and f.details["indexed_to_bsa"] is False


def test_lv_dilatation_index_and_absolute_volume():
    both_high = lv_dilatation(lv_edvi=120, lv_edv=260, sex="male", age=40, edvi_acquisition="MR", edv_acquisition="MR")
    assert both_high.status == "present" and both_high.details["used"] == "lv_edvi"
    assert both_high.details["other"]["verdict"] == "abnormal"
    # index normal, absolute high: the two disagree; said, never a silent choice of one
    f = lv_dilatation(lv_edvi=80, lv_edv=260, sex="male", age=40, edvi_acquisition="MR", edv_acquisition="MR")
    assert f.status == "not_assessable" and set(f.details["contradiction"]) == {"lv_edvi", "lv_edv"}
    assert "80 mL/m²" in f.statement and "260 mL" in f.statement and "BSA" in f.missing[0]
    # the index of an unstated modality has no range: the absolute CMR volume decides
    g = lv_dilatation(lv_edvi=80, lv_edv=260, sex="male", age=40, edv_acquisition="MR")
    assert g.status == "present" and g.details["used"] == "lv_edv" and g.details["other"]["verdict"] == "not decided"
    # the index undecided (sex unknown), the absolute volume above both sexes' limits: decided by it
    h = lv_dilatation(lv_edvi=105, lv_edv=260, age=40, edvi_acquisition="MR", edv_acquisition="MR")
    assert h.status == "present" and h.details["used"] == "lv_edv"
    none = lv_dilatation()
    assert none.status == "not_assessable" and "LV end-diastolic volume" in none.missing[0]


@pytest.mark.parametrize("sex, high", [("male", 115.0), ("female", 95.0)])
def test_lv_hypertrophy_echo_linear_upper_limit(sex, high):
    assert lv_hypertrophy(lv_massi=high, sex=sex, massi_acquisition="US linear").status == "absent"
    assert lv_hypertrophy(lv_massi=high + 0.1, sex=sex, massi_acquisition="US linear").status == "present"


def test_lv_hypertrophy_cmr_and_sex_unknown():
    for sex in ("male", "female"):
        high = cmr_limit("lv_massi", sex, 60, "high")
        assert lv_hypertrophy(lv_massi=high, sex=sex, age=60, massi_acquisition="MR").status == "absent"
        assert lv_hypertrophy(lv_massi=high + 0.1, sex=sex, age=60, massi_acquisition="MR").status == "present"
    m, f = cmr_limit("lv_massi", "male", 60, "high"), cmr_limit("lv_massi", "female", 60, "high")
    between = (m + f) / 2
    x = lv_hypertrophy(lv_massi=between, age=60, massi_acquisition="MR")
    assert x.status == "not_assessable" and x.missing == ["sex"]
    assert lv_hypertrophy(lv_massi=max(m, f) + 1, age=60, massi_acquisition="MR").status == "present"
    # absolute LV mass has no verified range: not assessable, never absent
    assert lv_hypertrophy(lv_mass=300, sex="male", age=60, mass_acquisition="MR").status == "not_assessable"


@pytest.mark.parametrize("rwt, massi, category, status", [
    (0.43, 116, "concentric hypertrophy", "present"),
    (0.43, 115, "concentric remodelling", "present"),
    (0.42, 116, "eccentric hypertrophy", "present"),
    (0.42, 115, "normal geometry", "absent"),
])
def test_lv_geometry_four_categories(rwt, massi, category, status):
    f = lv_geometry(rwt, lv_massi=massi, sex="male", massi_acquisition="US linear")
    assert f.status == status and f.details["category"] == category
    assert (category in f.statement) or (category == "normal geometry" and "normal LV geometry" in f.statement)


def test_lv_geometry_unknowns():
    no_rwt = lv_geometry(None, lv_massi=130, sex="male", massi_acquisition="US linear")
    assert no_rwt.status == "not_assessable" and no_rwt.missing == ["relative wall thickness"]
    concentric = lv_geometry(0.5)  # concentric whatever the mass: remodelling or hypertrophy, the mass index decides
    assert concentric.status == "not_assessable" and concentric.missing == ["LV mass index"]
    assert set(concentric.details["would_be"].values()) == {"concentric hypertrophy", "concentric remodelling"}
    not_concentric = lv_geometry(0.4)
    assert not_concentric.status == "not_assessable" and not_concentric.missing == ["LV mass index"]
    by_sex = lv_geometry(0.4, lv_massi=100, massi_acquisition="US linear")  # 100: >95 (women), ≤115 (men)
    assert by_sex.status == "not_assessable" and by_sex.missing == ["sex"]
    assert set(by_sex.details["would_be"].values()) == {"normal geometry", "eccentric hypertrophy"}


@pytest.mark.parametrize("sex", ["male", "female"])
def test_rv_dilatation_cmr_index(sex):
    high = cmr_limit("rv_edvi", sex, 40, "high")
    assert rv_dilatation(rv_edvi=high, sex=sex, age=40, edvi_acquisition="MR").status == "absent"
    assert rv_dilatation(rv_edvi=high + 0.1, sex=sex, age=40, edvi_acquisition="MR").status == "present"


def test_rv_systolic_dysfunction_never_absent_without_a_range():
    for ef in (20, 45, 70):
        f = rv_systolic_dysfunction(ef, sex="male", age=50, acquisition="MR")
        assert f.status in ("present", "not_assessable")
        if f.status == "not_assessable":
            assert f.missing


# -- LGE -------------------------------------------------------------------------------------------


def test_lge_presence_patterns_and_segments():
    f = lge_presence({3: (40.0, "mid_wall"), 7: (80.0, "transmural"), 8: (0.0, None), 12: (10.0, None)})
    assert f.status == "present"
    assert f.details["segments"] == [3, 7, 12]
    assert f.details["ischaemic_pattern_segments"] == [7] and f.details["non_ischaemic_pattern_segments"] == [3]
    assert f.details["pattern_not_stated_segments"] == [12]
    assert "mid wall" in f.statement and "transmural" in f.statement and "_" not in f.statement
    assert lge_presence(lge_extent=2.5).status == "present"


def test_lge_segments_contradicting_the_global_extent():
    f = lge_presence({7: (50.0, "subendocardial")}, lge_extent=0)
    assert f.status == "not_assessable" and f.details["contradiction"]["segments_with_lge"] == [7]
    assert "segment 7" in f.statement and "0 %" in f.statement
    g = lge_presence({s: 0.0 for s in range(1, 18)}, lge_extent=3)
    assert g.status == "not_assessable" and "3 %" in g.statement
    assert lge_presence({s: 0.0 for s in range(1, 10)}, lge_extent=3).status == "present"  # LGE may be elsewhere
    ph = Phenotype.from_dict({"measurements": [
        {"code": "lge_extent", "value": 0, "unit": "%"},
        {"code": "lge_transmurality", "value": 50, "unit": "%", "segment": 7, "pattern": "subendocardial"}]})
    it = interpret(ph)
    (c,) = [x for x in it.findings if x.code == "input_contradiction"]
    assert c.details["kind"] == "lge_segments_vs_extent" and "segment 7 (50 %)" in c.statement
    assert it.finding("lge_presence").status == "not_assessable"


def test_lge_absent_only_when_all_of_the_ventricle_was_seen():
    assert lge_presence({s: 0.0 for s in range(1, 18)}).status == "absent"
    assert lge_presence({1: 0.0}, lge_extent=0.0).status == "absent"
    partial = lge_presence({s: 0.0 for s in range(1, 17)})
    assert partial.status == "not_assessable" and "17" in partial.missing[0]
    assert lge_presence().status == "not_assessable"


def test_lge_presence_does_not_repeat_the_multimodality_pattern_findings():
    ph = Phenotype.from_dict({"measurements": [
        {"code": "lge_transmurality", "value": 40, "unit": "%", "segment": 3, "pattern": "mid_wall"}]})
    it = interpret(ph)
    codes = [f.code for f in it.findings]
    assert codes.count("lge_presence") == 1 and codes.count("lge_non_ischaemic_pattern") == 1
    assert it.finding("lge_presence").status == "present"


# -- T1 / T2 / ECV against the site range -------------------------------------------------------------


@pytest.mark.parametrize("rule, low, high", [(native_t1_abnormal, 950.0, 1050.0), (t2_abnormal, 40.0, 50.0),
                                             (ecv_abnormal, 22.0, 29.0)])
def test_mapping_against_the_site_range(rule, low, high):
    rng = ReferenceRange(low=low, high=high, population="site", reference="local normals")
    assert rule(high, normal=rng).status == "absent"
    up = rule(high + 0.1, normal=rng)
    assert up.status == "present" and up.details["direction"] == "high" and "elevated" in up.statement
    assert rule(low, normal=rng).status == "absent"
    down = rule(low - 0.1, normal=rng)
    assert down.status == "present" and down.details["direction"] == "low"
    na = rule(high + 10)
    assert na.status == "not_assessable" and "site normal range" in na.missing[0]
    assert "doi:10.1186/s12968-017-0389-8" in na.citation


def test_ecv_range_in_the_wrong_unit_is_an_error():
    with pytest.raises(InvalidInputError, match="percent"):
        ecv_abnormal(30, normal=ReferenceRange(low=0.22, high=0.29))


def test_mapping_reads_the_range_the_measurement_carries():
    ph = Phenotype.from_dict({"measurements": [
        {"code": "native_t1", "value": 1100, "unit": "ms", "modality": "MR", "method": "MOLLI 1.5 T",
         "reference_range": {"low": 950, "high": 1050}},
        {"code": "t2", "value": 48, "unit": "ms"}]})
    it = interpret(ph)
    assert it.finding("native_t1_abnormal").status == "present"
    assert it.finding("t2_abnormal").status == "not_assessable"


# -- contradictions ---------------------------------------------------------------------------------


def M(code, value, unit, **kw):
    return Measurement(code=code, name=code, value=value, unit=unit, **kw)


def test_ef_contradicting_its_volumes_names_both_values():
    ms = [M("lv_ef", 60, "%", source="s1"), M("lv_edv", 150, "mL", source="s1"), M("lv_esv", 100, "mL", source="s1")]
    (f,) = ef_volume_contradictions(ms)
    assert f.code == "input_contradiction" and f.status == "present"
    assert "60 %" in f.statement and "150 mL" in f.statement and "100 mL" in f.statement and "33.3 %" in f.statement
    assert f.details["ef_from_volumes"] == pytest.approx(33.33, abs=0.01)
    assert set(f.inputs) == {"lv_ef", "lv_edv", "lv_esv"}


def test_ef_tolerance_boundary_and_same_source_only():
    # EDV 200, ESV 100: EF from volumes 50 %; the rounding bound is 0.875 points, so 3 points applies
    def at(ef, src_ef="s1"):
        return ef_volume_contradictions([M("lv_ef", ef, "%", source=src_ef), M("lv_edv", 200, "mL", source="s1"),
                                         M("lv_esv", 100, "mL", source="s1")])
    assert at(53.0) == [] and at(47.0) == []
    assert len(at(53.1)) == 1 and len(at(46.9)) == 1
    assert at(70.0, src_ef="s2") == []  # another source (another study or software): not a contradiction
    # small volumes: the rounding bound (> 3 points) applies
    # small volumes: the rounding bound applies where it exceeds 3 points
    # (EDV 20, ESV 9: 55 % from volumes; bound 0.5 + 50·(1/20 + 9/400) = 4.125 points)
    def small(ef):
        return ef_volume_contradictions([M("lv_ef", ef, "%"), M("lv_edv", 20, "mL"), M("lv_esv", 9, "mL")])
    assert small(59) == [] and small(50.9) == []
    (f,) = small(59.2)
    assert f.details["tolerance_points"] == pytest.approx(4.13, abs=0.01)


def test_ef_contradiction_rv_and_indexed_and_timed():
    t = datetime(2024, 5, 1)
    ms = [M("rv_ef", 65, "%", time=t), M("rv_edvi", 90, "mL/m2", time=t), M("rv_esvi", 60, "mL/m2", time=t),
          M("rv_edv", 180, "mL", time=datetime(2023, 1, 1)), M("rv_esv", 60, "mL", time=datetime(2023, 1, 1))]
    (f,) = ef_volume_contradictions(ms)
    assert "RVEF 65 %" in f.statement and "index" in f.statement and f.details["time"] == t.isoformat()


def test_a_segment_reported_twice_is_said():
    t = datetime(2024, 5, 1)
    ms = [M("lge_transmurality", 40, "%", segment=3, pattern="mid_wall", source="a", time=t),
          M("lge_transmurality", 25, "%", segment=3, pattern="mid_wall", source="b", time=t),
          M("lge_transmurality", 40, "%", segment=4, source="a", time=t),
          M("lge_transmurality", 40, "%", segment=4, source="b", time=t),  # same value: no contradiction
          M("lge_transmurality", 10, "%", segment=5, source="a", time=t),
          M("lge_transmurality", 30, "%", segment=5, source="a", time=datetime(2024, 6, 1))]  # another time
    (f,) = repeated_measurement_contradictions(ms)
    assert f.details["segment"] == 3 and f.details["values"] == [40.0, 25.0] and f.details["sources"] == ["a", "b"]
    assert "40 %" in f.statement and "25 %" in f.statement and "segment 3" in f.statement
    assert "entered last (25 %" in f.statement
    stenosis = [M("stenosis", 50, "%", vessel="LAD"), M("stenosis", 70, "%", vessel="LAD"), M("stenosis", 70, "%", vessel="RCA")]
    (g,) = input_contradictions(stenosis)
    assert g.details["vessel"] == "LAD" and "50 %" in g.statement and "70 %" in g.statement


def test_interpret_reports_contradictions():
    ph = Phenotype.from_dict({"measurements": [
        {"code": "lv_ef", "value": 60, "unit": "%"}, {"code": "lv_edv", "value": 150, "unit": "mL"},
        {"code": "lv_esv", "value": 100, "unit": "mL"},
        {"code": "lge_transmurality", "value": 40, "unit": "%", "segment": 3, "pattern": "mid_wall"},
        {"code": "lge_transmurality", "value": 20, "unit": "%", "segment": 3, "pattern": "mid_wall"}]})
    found = [f for f in interpret(ph).findings if f.code == "input_contradiction"]
    kinds = sorted(f.details["kind"] for f in found)
    assert kinds == ["ef_vs_volumes", "repeated_measurement"]
    assert all(f.status == "present" and f.inputs for f in found)


# -- end to end ------------------------------------------------------------------------------------


def cine(ef, edv, esv, **extra):
    src = {"modality": "MR", "source": "1.2.840.1", "method": "summation of discs"}
    ms = [M("lv_ef", ef, "%", **src), M("lv_edv", edv, "mL", **src), M("lv_esv", esv, "mL", **src)]
    ms += [M(code, v, unit, **src) for code, (v, unit) in extra.items()]
    return ms


def test_interpret_lvef_24_cmr_sex_and_age_unknown():
    it = interpret(Phenotype(history=cine(24, 250, 190)))
    f = it.finding("lv_systolic_dysfunction")
    assert f is not None and f.status == "present" and f in it.findings
    assert f.inputs["lvef"]["value"] == 24 and f.inputs["lvef"]["source"] == "1.2.840.1"
    assert f.details["grade"] == "severely abnormal" and f.details["esc_2021_ef_category"].startswith("reduced")
    assert not any(f.code == "input_contradiction" for f in it.findings)  # 24 % = 100·(250−190)/250


@pytest.mark.parametrize("facts", [PatientFacts(), PatientFacts(sex="female", age=55), PatientFacts(sex="male", age=60)])
def test_interpret_normal_heart_has_none_of_these_findings_present(facts):
    ms = cine(64, 140, 50.4, lv_edvi=(75, "mL/m2"), lv_massi=(50, "g/m2"), rv_edvi=(75, "mL/m2"),
              rv_edv=(140, "mL"), rv_ef=(60, "%"), lv_mass=(95, "g"))
    it = interpret(Phenotype(facts=facts, history=ms))
    present = {f.code for f in it.findings if f.status == "present"}
    assert not present & MY_CODES, present
    mine = {f.code: f.status for f in it.findings + it.not_assessable if f.code in MY_CODES}
    assert {"lv_systolic_dysfunction", "lv_dilatation", "lv_hypertrophy", "rv_dilatation"} <= set(mine)
    if facts.sex is not None:
        assert mine["lv_systolic_dysfunction"] == "absent" and mine["lv_dilatation"] == "absent"
        assert mine["lv_hypertrophy"] == "absent" and mine["rv_dilatation"] == "absent"


def test_every_imaging_rule_is_declared_and_exported():
    import heartprint.clinical as clinical

    names = {"lv_systolic_dysfunction", "lv_dilatation", "lv_hypertrophy", "lv_geometry", "rv_dilatation",
             "rv_systolic_dysfunction", "lge_presence", "native_t1_abnormal", "t2_abnormal", "ecv_abnormal"}
    for name in names:
        assert name in _registry.RULES and callable(getattr(clinical, name))
        spec = _registry.RULES[name]
        assert spec.domain and spec.run_by == "interpret"
    assert _registry.RULES["input_contradictions"].adapter == "contradictions"
    for name in ("input_contradictions", "ef_volume_contradictions", "repeated_measurement_contradictions"):
        assert callable(getattr(clinical, name))


# -- unknown is never "no": a decided answer holds for every value of the unknowns --------------------


CASES = [
    (lv_systolic_dysfunction, {"lvef": x, "acquisition": a}) for x in (38, 45, 49, 50, 52, 53, 55, 64, 80)
    for a in ("MR", ECHO, None)
] + [
    (lv_dilatation, {"lv_edvi": x, "edvi_acquisition": "MR"}) for x in (70, 95, 105, 120)
] + [
    (lv_dilatation, {"lv_edv": x, "edv_acquisition": "MR"}) for x in (150, 200, 230)
] + [
    (lv_hypertrophy, {"lv_massi": x, "massi_acquisition": a}) for x in (50, 60, 75, 100, 130) for a in ("MR", "US linear")
] + [
    (lv_geometry, {"rwt": r, "lv_massi": x, "massi_acquisition": "US linear"}) for r in (0.3, 0.5) for x in (90, 100, 130)
] + [
    (rv_dilatation, {"rv_edvi": x, "edvi_acquisition": "MR"}) for x in (80, 105, 120)
] + [(rv_systolic_dysfunction, {"rv_ef": 50, "acquisition": "MR"})]


@pytest.mark.parametrize("rule, kwargs", CASES, ids=lambda x: getattr(x, "__name__", None) or str(x))
def test_unknown_sex_or_age_decides_only_when_every_value_agrees(rule, kwargs):
    ages = (18, 30, 44, 45, 60, 65, 66, 68, 69, 74, 75, 100)
    for sex, age in itertools.product(SEXES, (None, *ages)):
        f = rule(**kwargs, sex=sex, age=age)
        if f.status == "not_assessable":
            assert f.missing, f.statement
            continue
        sexes = ("male", "female") if sex is None else (sex,)
        every = ADULT_AGES if age is None else (age,)
        for s in sexes:
            for a in every:
                g = rule(**kwargs, sex=s, age=a)
                assert g.status == f.status, (kwargs, sex, age, "→", f.status, "but", s, a, "→", g.status)


def test_a_ct_stenosis_reported_twice_is_said_once():
    """CAD-RADS says a CT segment reported twice (its own contradiction); this rule says the others (ICA)."""
    ph = Phenotype.from_dict({"measurements": [
        {"code": "stenosis", "value": 50, "unit": "%", "vessel": "LAD", "modality": "CT"},
        {"code": "stenosis", "value": 70, "unit": "%", "vessel": "LAD", "modality": "CT"},
        {"code": "stenosis", "value": 40, "unit": "%", "vessel": "RCA", "modality": "ICA"},
        {"code": "stenosis", "value": 90, "unit": "%", "vessel": "RCA", "modality": "ICA"}]})
    found = [f for f in interpret(ph).findings if f.code == "input_contradiction"]
    lad = [f for f in found if "LAD" in f.statement]
    rca = [f for f in found if "RCA" in f.statement]
    assert len(lad) == 1 and len(rca) == 1
    assert rca[0].rule.endswith("repeated_measurement_contradictions")

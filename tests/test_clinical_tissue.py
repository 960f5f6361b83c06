"""Lake Louise 2018, T2* iron, HCM wall thickness, ECV and amyloid flags (reference §7, §9)."""

import pytest

from heartprint.clinical import amyloid_native_t1, ecv, ecv_amyloid, hcm_wall_thickness, lake_louise, t2star_iron
from heartprint.errors import InvalidInputError
from heartprint.measure import ReferenceRange


#: every T2-based / T1-based marker known negative (not acquired counts as "no positive result")
T2_NEG = {"t2_regional_high_si": False, "t2_si_ratio": 1.5, "t2_mapping_elevated": False}
T1_NEG = {"native_t1_elevated": False, "ecv_elevated": False, "lge_nonischaemic": False}


@pytest.mark.parametrize("kw,status,category", [
    ({"t2_si_ratio": 2.0, "lge_nonischaemic": True}, "present", "proven"),
    ({**T2_NEG, "t2_si_ratio": 1.99, "lge_nonischaemic": True}, "absent", "uncertain"),
    ({"t2_regional_high_si": True, "native_t1_elevated": True}, "present", "proven"),
    ({"t2_mapping_elevated": True, "ecv_elevated": True}, "present", "proven"),
    ({**T2_NEG, **T1_NEG}, "absent", "rejected"),
    ({"t2_mapping_elevated": True, **T1_NEG}, "absent", "uncertain"),
    ({"t2_mapping_elevated": True}, "not_assessable", None),
    ({}, "not_assessable", None),
    # issue 16: one negative marker does not make a criterion negative while another is unknown
    ({"t2_si_ratio": 1.99, "lge_nonischaemic": True}, "not_assessable", None),
    ({"t2_mapping_elevated": False, "lge_nonischaemic": False}, "not_assessable", None),
    ({"t2_mapping_elevated": True, "lge_nonischaemic": False}, "not_assessable", None),
])
def test_lake_louise(kw, status, category):
    f = lake_louise(**kw)
    assert f.status == status and f.details["category"] == category and "jacc.2018.09.072" in f.citation


def test_lake_louise_names_the_unknown_markers_and_each_answer():
    f = lake_louise(t2_si_ratio=1.99, lge_nonischaemic=True)
    assert f.missing == ["regional high T2 signal (T2-weighted imaging)", "T2 mapping above the site's normal range"]
    assert f.details["would_be"] == {"T2-based criterion met": "proven (present)",
                                     "T2-based criterion not met": "uncertain (absent)"}


def test_lake_louise_site_ranges():
    t2n = ReferenceRange(low=40, high=52, population="site 1.5 T T2 map")
    t1n = ReferenceRange(low=950, high=1050, population="site MOLLI 1.5 T")
    assert lake_louise(t2_ms=53, t2_normal=t2n, native_t1_ms=1051, native_t1_normal=t1n).status == "present"
    neg = {"t2_regional_high_si": False, "t2_si_ratio": 1.2, "ecv_elevated": False, "lge_nonischaemic": False}
    assert lake_louise(t2_ms=52, t2_normal=t2n, native_t1_ms=1050, native_t1_normal=t1n, **neg).details["category"] == "rejected"
    # a T2 without the site's normal range is an unknown marker, named, not an error
    f = lake_louise(t2_ms=60)
    assert f.status == "not_assessable" and "the site's normal range for T2 (ms)" in f.missing


def test_lake_louise_call_and_value_that_disagree_are_said():
    t2n = ReferenceRange(low=40, high=52)
    f = lake_louise(t2_ms=60, t2_normal=t2n, t2_mapping_elevated=False, t2_regional_high_si=False, t2_si_ratio=1.0,
                    lge_nonischaemic=True)
    assert f.status == "not_assessable" and f.details["t2_markers"]["T2 mapping above the site's normal range"] is None
    (c,) = f.details["contradictions"]
    assert "reported not elevated" in c and "60 is above" in c


@pytest.mark.parametrize("t2s,status,grade", [(35, "absent", "none"), (20.1, "absent", "none"), (20, "present", "mild-moderate"),
                                              (15, "present", "mild-moderate"), (10.1, "present", "mild-moderate"),
                                              (9.9, "present", "severe"), (4, "present", "severe")])
def test_t2star(t2s, status, grade):
    f = t2star_iron(t2s)
    assert f.status == status and f.details["grade"] == grade


def test_t2star_10ms_flagged_and_bad():
    assert "boundary_note" in t2star_iron(10).details
    for bad in (0, -2, 300):
        with pytest.raises(InvalidInputError, match="t2star_ms"):
            t2star_iron(bad)


@pytest.mark.parametrize("wt,kw,status", [
    (15, {}, "present"), (14.9, {}, "not_assessable"), (14.9, {"family_history": False}, "not_assessable"), (14.9, {"family_history": False, "other_features": False}, "absent"),
    (13, {"family_history": True}, "present"), (12.9, {"family_history": True}, "absent"), (13, {"other_features": True}, "present"),
    (10, {}, "absent"), (9, {"child_z_score": 2.1}, "present"), (9, {"child_z_score": 2.0}, "absent"),
])
def test_hcm(wt, kw, status):
    f = hcm_wall_thickness(wt, **kw)
    assert f.status == status and "ehad194" in f.citation


def test_hcm_bad():
    with pytest.raises(InvalidInputError, match="max_wall_thickness_mm"):
        hcm_wall_thickness(-1)


def test_ecv_worked_example():
    # clinical_reference.md §9 derived check
    assert ecv(0.42, 1000, 450, 1600, 300) == pytest.approx(0.2617, abs=1e-4)


@pytest.mark.parametrize("args,match", [((0.05, 1000, 450, 1600, 300), "hct"), ((0.42, 400, 450, 1600, 300), "t1_myo_post"),
                                        ((0.42, 1000, 450, 1600, 0), "t1_blood_post")])
def test_ecv_bad(args, match):
    with pytest.raises(InvalidInputError, match=match):
        ecv(*args)


@pytest.mark.parametrize("t1,status", [(1035, "absent"), (1036, "not_assessable"), (1164, "not_assessable"), (1165, "present")])
def test_native_t1_baggiano(t1, status):
    assert amyloid_native_t1(t1, sequence="ShMOLLI", field_strength=1.5).status == status


def test_native_t1_needs_matching_acquisition_or_site_cutoffs():
    f = amyloid_native_t1(1200, sequence="MOLLI", field_strength=3.0)
    assert f.status == "not_assessable" and f.missing
    assert amyloid_native_t1(1200, rule_out_below=1100, rule_in_above=1150).status == "present"
    with pytest.raises(InvalidInputError, match="rule_out_below"):
        amyloid_native_t1(1200, rule_out_below=1100)


def test_ecv_amyloid():
    assert ecv_amyloid(0.45).status == "not_assessable"
    assert ecv_amyloid(0.45, threshold=0.40).status == "present"
    assert ecv_amyloid(0.40, threshold=0.40).status == "absent"
    with pytest.raises(InvalidInputError, match="ecv_fraction"):
        ecv_amyloid(45)


def test_hcm_finding_names_the_segment_of_the_maximum():
    """Issue 16 item 4: the HCM phenotype finding names where the maximum lies; through interpret the
    segment comes from the cine measurement's method text ("...; slice 2, segment 3")."""
    from heartprint.clinical import hcm_wall_thickness
    from heartprint.clinical.interpret import interpret
    from heartprint.measure import Measurement
    from heartprint.phenotype import Phenotype

    f = hcm_wall_thickness(19.24, segment=3)
    assert f.status == "present" and f.details["segment"] == 3
    assert "19.2 mm (AHA segment 3, basal inferoseptal)" in f.statement and "19.24" not in f.statement
    m = Measurement(code="lv_max_wall_thickness", name="LV maximal end-diastolic wall thickness", value=17.5, unit="mm",
                    modality="MR", method="ED, 100 rays per slice; maximum of the median over a 30° arc; slice 2, segment 9")
    found = interpret(Phenotype(history=[m])).finding("hcm_wall_thickness")
    assert found.status == "present" and "AHA segment 9, mid inferoseptal" in found.statement

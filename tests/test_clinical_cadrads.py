"""CAD-RADS 2.0 categories, modifiers, plaque burden; Agatston categories.

Oracles: clinical_reference.md §2 (✅S bands) and §3 (Trials 2014 Table 1). Worked label
examples from radiologyassistant.nl CAD-RADS 2.0 cases ("CAD-RADS 2/P1", "CAD-RADS 5/P2/S",
"CAD-RADS 3/P1/I+"). Values marked ⚠M (LM exactly 50 %, CAC exactly 1000) are not tested
as published values.
"""

import pytest

from heartprint.clinical import agatston_category, cad_rads, cad_rads_plaque_burden
from heartprint.errors import InvalidInputError


@pytest.mark.parametrize(
    "stenosis,category",
    [(0, "0"), (1, "1"), (24, "1"), (24.9, "1"), (25, "2"), (49, "2"), (49.9, "2"), (50, "3"), (69, "3"),
     (69.9, "3"), (70, "4A"), (99, "4A"), (99.9, "4A"), (100, "5")],
)
def test_stenosis_bands_both_sides(stenosis, category):
    plaque = stenosis > 0
    assert cad_rads({"mLAD": stenosis}, plaque_present=plaque, non_diagnostic=False).category == category


def test_plaque_without_stenosis_is_category_1():
    assert cad_rads({"pRCA": 0}, plaque_present=True, non_diagnostic=False).category == "1"
    assert cad_rads({}, plaque_present=False, non_diagnostic=False).category == "0"


# -- unknown is never "no" (issue 16, item 1) ---------------------------------------------------


@pytest.mark.parametrize("stenoses", [{}, {"pRCA": 0}, {"LM": 0, "pLAD": 0, "pLCx": 0, "pRCA": 0}])
def test_no_stenosis_with_plaque_unknown_is_not_category_0(stenoses):
    r = cad_rads(stenoses, non_diagnostic=False)
    assert r.category is None and r.status == "not_assessable"
    assert r.missing == ("whether coronary plaque is present",)
    assert r.details["would_be"] == {"plaque present": "CAD-RADS 1", "plaque absent": "CAD-RADS 0"}
    f = r.finding()
    assert f.code == "cad_rads" and f.status == "not_assessable" and f.missing == ["whether coronary plaque is present"]


@pytest.mark.parametrize("kwargs,category", [
    ({"cac": 12}, "1"),  # calcium is plaque
    ({"sis": 2}, "1"),  # segments with plaque
    ({"sis": 0}, "0"),  # no segment with plaque
    ({"cac": 0}, None),  # CAC 0 does not exclude non-calcified plaque
])
def test_plaque_status_follows_from_calcium_and_sis(kwargs, category):
    assert cad_rads({"pLAD": 0}, non_diagnostic=False, **kwargs).category == category


def test_non_diagnostic_unknown_blocks_only_categories_below_50():
    r = cad_rads({"mLAD": 30})
    assert r.category is None and r.details["would_be"] == {"non-diagnostic segments yes": "CAD-RADS N",
                                                            "non-diagnostic segments no": "CAD-RADS 2"}
    r = cad_rads({"mLAD": 60})
    assert r.category == "3" and "N" not in r.modifiers and "N" in r.details["modifiers_not_assessed"]


def test_unknown_modifiers_are_not_assessed_not_absent():
    r = cad_rads({"pLAD": 75}, plaque_present=True, non_diagnostic=False, cac=250, stent=False)
    assert r.label == "CAD-RADS 4A/P2" and r.modifiers == ()
    assert r.details["modifiers_not_assessed"] == ["HRP", "I", "G", "E"]
    assert "not assessed: high-risk plaque" in r.finding().statement
    told = cad_rads({"pLAD": 75}, non_diagnostic=False, high_risk_plaque=False, ischaemia="-", stent=False, graft=False,
                    exception=False)
    assert told.details["modifiers_not_assessed"] == [] and "not assessed" not in told.finding().statement


def test_stent_unknown_keeps_cac_burden_only_when_sis_agrees():
    assert cad_rads_plaque_burden(cac=250) == (None, "CAC is not used with a coronary stent: needs stent status or the "
                                                     "segment involvement score")
    assert cad_rads_plaque_burden(cac=250, sis=3) == ("P2", "cac and sis")
    assert cad_rads_plaque_burden(cac=250, sis=8)[0] == "P4"  # the SIS holds with or without a stent
    assert cad_rads_plaque_burden(cac=250, stent=False) == ("P2", "cac")


# -- contradictions are said (issue 16, item 2) -------------------------------------------------


def test_no_plaque_with_a_stenosis_is_a_contradiction():
    r = cad_rads({"mLAD": 30}, plaque_present=False, non_diagnostic=False)
    assert r.category is None
    assert r.details["would_be"] == {"plaque present": "CAD-RADS 2", "plaque absent": "CAD-RADS 0"}
    (c,) = r.contradictions
    assert c.code == "input_contradiction" and c.status == "present"
    assert "no coronary plaque" in c.statement and "30 % stenosis in the mLAD" in c.statement
    assert c.details["values"] == {"plaque_present": False, "max_stenosis_percent": 30.0, "segment": "mLAD"}
    codes = [f.code for f in r.findings]
    assert codes == ["cad_rads", "input_contradiction"]
    # a non-atherosclerotic narrowing (modifier E) is not a contradiction
    e = cad_rads({"mLAD": 30}, plaque_present=False, non_diagnostic=False, exception=True)
    assert e.category == "2" and not e.contradictions and "E" in e.modifiers


@pytest.mark.parametrize("kwargs,text", [
    ({"plaque_present": False, "cac": 40}, "calcium score of 40"),
    ({"plaque_present": False, "sis": 3}, "3 segments with plaque"),
    ({"plaque_present": True, "sis": 0}, "segment involvement score of 0"),
    ({"sis": 0, "cac": 15}, "calcium score of 15"),
])
def test_plaque_contradictions(kwargs, text):
    r = cad_rads({"pLAD": 0}, non_diagnostic=False, **kwargs)
    assert r.category is None and any(text in c.statement for c in r.contradictions)


def test_a_segment_reported_twice_is_a_contradiction_not_a_max():
    r = cad_rads({"pLAD": [30, 60]}, non_diagnostic=False)
    assert r.category is None
    assert r.details["would_be"] == {"pLAD stenosis 30 %": "CAD-RADS 2", "pLAD stenosis 60 %": "CAD-RADS 3"}
    (c,) = r.contradictions
    assert "30 % and 60 %" in c.statement and c.details["values"]["stenosis_percent"] == [30.0, 60.0]
    # both values give the same category: decided, and the contradiction is still said
    r = cad_rads({"pLAD": 75, "PLAD": 90})
    assert r.category == "4A" and len(r.contradictions) == 1
    # the same value twice is no contradiction
    assert not cad_rads({"pLAD": [75, 75]}).contradictions


@pytest.mark.parametrize(
    "stenoses,category",
    [
        ({"LM": 60}, "4B"),
        ({"LM": 49}, "2"),
        ({"LM": 70, "pLAD": 100}, "5"),
        ({"LM": 100}, "5"),
        ({"pLAD": 70, "OM1": 70, "mRCA": 70}, "4B"),
        ({"pLAD": 70, "OM1": 69, "mRCA": 90}, "4A"),  # 2-vessel
        ({"pLAD": 90, "D1": 80}, "4A"),  # one vessel, two segments
        ({"pLAD": 70, "RI": 80, "mRCA": 70}, "4A"),  # ramus does not make the third vessel
    ],
)
def test_4b_and_5(stenoses, category):
    assert cad_rads(stenoses, non_diagnostic=False).category == category


def test_lm_threshold_is_data():
    from heartprint.clinical import cadrads

    assert cadrads.LEFT_MAIN_4B == 50.0  # ≥50 per issue text; exactly-50 boundary is ⚠M


@pytest.mark.parametrize(
    "kwargs,label",
    [
        ({"stenoses": {"mLAD": 30}, "cac": 50}, "CAD-RADS 2/P1"),
        ({"stenoses": {"pRCA": 100}, "stent": True, "sis": 3}, "CAD-RADS 5/P2/S"),
        ({"stenoses": {"pLAD": 60}, "cac": 80, "ischaemia": "+"}, "CAD-RADS 3/P1/I+"),
        ({"stenoses": {"pLAD": 75}, "cac": 250, "high_risk_plaque": True}, "CAD-RADS 4A/P2/HRP"),
        ({"stenoses": {"pLAD": 55}, "non_diagnostic": True}, "CAD-RADS 3/N"),
        ({"stenoses": {"pLAD": 10}, "non_diagnostic": True}, "CAD-RADS N"),
        ({"stenoses": {"mRCA": 40}, "graft": True, "exception": True, "ischaemia": "-"}, "CAD-RADS 2/I-/G/E"),
        ({"stenoses": {}, "plaque_present": False}, "CAD-RADS 0"),
    ],
)
def test_labels(kwargs, label):
    kwargs = {"non_diagnostic": False, "stent": False, **kwargs}
    assert cad_rads(**kwargs).label == label


def test_hrp_needs_two_features():
    assert "HRP" not in cad_rads({"pLAD": 40}, non_diagnostic=False, high_risk_plaque=["napkin_ring"]).modifiers
    assert "HRP" in cad_rads({"pLAD": 40}, non_diagnostic=False,
                             high_risk_plaque=["napkin_ring", "spotty_calcification"]).modifiers
    with pytest.raises(InvalidInputError, match="feature"):
        cad_rads({"pLAD": 40}, high_risk_plaque=["soft"])


@pytest.mark.parametrize(
    "cac,sis,expected",
    [(1, None, "P1"), (100, None, "P1"), (100.5, None, "P2"), (101, None, "P2"), (300, None, "P2"), (301, None, "P3"),
     (999, None, "P3"), (1001, None, "P4"), (5000, None, "P4"),
     (None, 1, "P1"), (None, 2, "P1"), (None, 3, "P2"), (None, 4, "P2"), (None, 5, "P3"), (None, 7, "P3"),
     (None, 8, "P4"), (None, 16, "P4"), (0, 3, "P2"), (None, None, None), (0, 0, None)],
)
def test_plaque_burden_bands(cac, sis, expected):
    assert cad_rads_plaque_burden(cac=cac, sis=sis, stent=False)[0] == expected


def test_stent_uses_sis_not_cac():
    assert cad_rads_plaque_burden(cac=2000, sis=2, stent=True) == ("P1", "sis")


@pytest.mark.parametrize(
    "stenoses,kwargs,match",
    [({"pLAD": -5}, {}, "pLAD"), ({"pLAD": 101}, {}, "pLAD"), ({"LXX": 10}, {}, "LXX"), ({"pLAD": 10}, {"ischaemia": "maybe"}, "ischaemia"),
     ({"pLAD": 10}, {"cac": -1}, "cac"), ({"pLAD": 10}, {"sis": 30}, "sis"), ({"pLAD": float("nan")}, {}, "pLAD")],
)
def test_bad_inputs(stenoses, kwargs, match):
    with pytest.raises(InvalidInputError, match=match):
        cad_rads(stenoses, **kwargs)


def test_finding():
    f = cad_rads({"LM": 55}, cac=400, stent=False).finding()
    assert f.code == "cad_rads_4b" and "jcct.2022.07.002" in f.citation
    assert f.details["management"] == "ICA recommended" and f.details["plaque_burden"] == "P3"


@pytest.mark.parametrize(
    "score,band",
    [(0, "0"), (0.1, "1-10"), (1, "1-10"), (10, "1-10"), (10.5, "11-100"), (11, "11-100"), (100, "11-100"),
     (101, "101-400"), (400, "101-400"), (400.1, ">400"), (401, ">400"), (3000, ">400")],
)
def test_agatston_bands(score, band):
    assert agatston_category(score).details["band"] == band


@pytest.mark.parametrize("score", [-1, float("inf"), "12", None])
def test_agatston_bad(score):
    with pytest.raises(InvalidInputError, match="score"):
        agatston_category(score)

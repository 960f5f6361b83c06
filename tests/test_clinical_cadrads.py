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
    assert cad_rads({"mLAD": stenosis}).category == category


def test_plaque_without_stenosis_is_category_1():
    assert cad_rads({"pRCA": 0}, plaque_present=True).category == "1"
    assert cad_rads({}, plaque_present=False).category == "0"


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
    assert cad_rads(stenoses).category == category


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
        ({"stenoses": {}}, "CAD-RADS 0"),
    ],
)
def test_labels(kwargs, label):
    assert cad_rads(**kwargs).label == label


def test_hrp_needs_two_features():
    assert "HRP" not in cad_rads({"pLAD": 40}, high_risk_plaque=["napkin_ring"]).modifiers
    assert "HRP" in cad_rads({"pLAD": 40}, high_risk_plaque=["napkin_ring", "spotty_calcification"]).modifiers
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
    assert cad_rads_plaque_burden(cac=cac, sis=sis)[0] == expected


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
    f = cad_rads({"LM": 55}, cac=400).finding()
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

"""Summed perfusion scores, % myocardium and the ≥10 % threshold (reference §8c, ✅S/✅P)."""

import pytest

from heartprint.clinical import ischaemic_burden, percent_myocardium, summed_scores
from heartprint.errors import InvalidInputError


@pytest.mark.parametrize("score,pct", [(0, 0.0), (6, 8.8235), (7, 10.2941), (34, 50.0), (68, 100.0)])
def test_percent_myocardium(score, pct):
    assert percent_myocardium(score) == pytest.approx(pct, abs=1e-4)


def test_percent_20_segments():
    assert percent_myocardium(8, n_segments=20) == pytest.approx(10.0)


@pytest.mark.parametrize("score", [-1, 69, float("nan")])
def test_percent_out_of_range(score):
    with pytest.raises(InvalidInputError, match="score"):
        percent_myocardium(score)


def _with(d):
    s = [0] * 17
    for seg, val in d.items():
        s[seg - 1] = val
    return s


@pytest.mark.parametrize("sds,present", [(6, "absent"), (7, "present")])
def test_threshold_both_sides(sds, present):
    stress = _with({1: 4, 7: min(sds - 4, 4)}) if sds > 4 else _with({1: sds})
    assert sum(stress) == sds
    f = summed_scores(stress, [0] * 17).finding()
    assert f.status == present and f.details["sds"] == sds


def test_summed_scores_values():
    stress = _with({1: 3, 2: 2, 4: 4, 16: 1})
    rest = _with({4: 4, 16: 1})
    ss = summed_scores(stress, rest)
    assert (ss.sss, ss.srs, ss.sds) == (10, 5, 5)
    assert ss.sds_percent == pytest.approx(5 / 68 * 100)


def test_mapping_input_and_stress_only():
    ss = summed_scores({i: 1 for i in range(1, 18)})
    assert ss.sss == 17 and ss.sds is None
    f = ss.finding()
    assert f.status == "not_assessable" and f.missing


def test_territories_default_aha():
    stress = _with({3: 2, 4: 2, 9: 2, 10: 2, 15: 2})  # whole RCA territory, score 2 each
    f = ischaemic_burden(stress, [0] * 17)
    rca = f.details["territories"]["RCA"]
    assert rca["sds"] == 10 and rca["segments"] == 5
    assert rca["sds_percent_territory"] == pytest.approx(50.0)
    assert rca["sds_percent_lv"] == pytest.approx(10 / 68 * 100)
    assert f.details["territories"]["LAD"]["sds"] == 0 and f.status == "present"
    assert {k: v["segments"] for k, v in f.details["territories"].items()} == {"LAD": 7, "RCA": 5, "LCx": 5}


@pytest.mark.parametrize(
    "stress,match",
    [([0] * 16, "17"), ([5] + [0] * 16, "segment 1"), ([-1] + [0] * 16, "segment 1"), ([0.5] + [0] * 16, "segment 1"),
     ({1: 0}, "1–17")],
)
def test_bad_scores(stress, match):
    with pytest.raises(InvalidInputError, match=match):
        summed_scores(stress, [0] * 17)


# -- unknown segments are unknown, never normal (issue 16, item 1) ---------------------------------


def test_stress_only_below_10_percent_is_decided():
    # SDS = SSS − SRS ≤ SSS: a stress defect of 6/68 (8.8 %) cannot hide ≥10 % ischaemia
    f = summed_scores(_with({1: 4, 7: 2})).finding()
    assert f.status == "absent" and f.details["sds_range"] == [0, 6]
    f = summed_scores(_with({1: 4, 7: 3})).finding()  # 7/68: depends on the rest scores
    assert f.status == "not_assessable" and f.missing


def test_partial_scores_bounds():
    full0 = {s: 0 for s in range(1, 18)}
    # apex (17) unscored in stress and rest: SDS 0 + at most 4 → <10 % whatever it is
    f = ischaemic_burden({k: v for k, v in full0.items() if k != 17}, {k: v for k, v in full0.items() if k != 17})
    assert f.status == "absent" and f.details["sds_range"] == [0, 4]
    # stress 4 + 4, the rest of those two segments unscored: SDS 0–8 → unknown, naming them
    stress = {**full0, 1: 4, 7: 4}
    f = ischaemic_burden(stress, {**{k: 0 for k in full0 if k not in (1, 7)}})
    assert f.status == "not_assessable" and f.missing == ["rest score, segment 1", "rest score, segment 7"]
    # 12 points reversible, one normal-stress segment unscored at rest (rest 0–4): SDS 8–12 → present
    stress = {**full0, 1: 4, 7: 4, 13: 4}
    f = ischaemic_burden(stress, {**{k: 0 for k in full0 if k != 3}})
    assert f.status == "present" and f.details["sds_range"][0] == 8
    assert f.details["territories"]["RCA"]["sds"] is None and f.details["territories"]["LAD"]["sds"] == 12


def test_rest_none_in_ischaemic_burden():
    assert ischaemic_burden(_with({1: 2, 7: 2})).status == "absent"
    assert ischaemic_burden(_with({1: 4, 7: 4})).status == "not_assessable"

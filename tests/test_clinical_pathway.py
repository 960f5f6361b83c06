"""The heart-failure pathway passes what it was not told as unknown: no HF type or device recommendation
without symptoms, no aetiology branch from partial coronary data, no class III from a missing fact
(ESC 2021 HF guideline Table 3, §6.1, §6.2; McDonagh TA et al., doi:10.1093/eurheartj/ehab368)."""

import pytest

from heartprint.clinical.aetiology import coronary_anatomy_complete
from heartprint.clinical.interpret import interpret
from heartprint.phenotype import Phenotype

LV = [{"code": "lv_ef", "value": 24, "unit": "%"}]
ALL_VESSELS_CLEAN = [{"code": "stenosis", "value": 10, "unit": "%", "vessel": v} for v in ("LM", "LAD", "LCx", "RCA")]
NON_ISCH_LGE = [{"code": "lge_transmurality", "value": 30, "unit": "%", "segment": s, "pattern": "mid_wall"} for s in (5, 11)]
KNOWN_HISTORY = {"months_omt": 6, "prior_mi": False, "pacing_indication": False}


def _it(patient, measurements):
    return interpret(Phenotype.from_dict({"patient": patient, "measurements": measurements}))


def _recs(it):
    return {r.code: r for r in it.recommendations}


def test_no_hf_type_or_device_without_symptoms():
    """LVEF 24 % with sex and age only (the imaging-only case): no HF type, no device recommendation."""
    it = _it({"sex": "male", "age": 60}, LV)
    assert not [r for r in it.recommendations if r.code.startswith(("icd_", "crt_"))]
    hf = it.finding("hfref")
    assert hf is not None and hf.status == "not_assessable" and "symptoms ± signs of heart failure" in hf.missing
    for code in ("icd_primary_prevention_assessment", "crt_indication_assessment"):
        f = it.finding(code)
        assert f.status == "not_assessable" and f.missing == ["symptoms ± signs of heart failure (NYHA class)"]
    assert not any(f.code in ("hfref", "hfmref", "hfpef", "hfimpef") for f in it.findings if f.status == "present")


def test_aetiology_unknown_picks_no_branch():
    """No coronary data: ischaemic (I A) or non-ischaemic (IIa A) — neither is returned."""
    it = _it({"symptoms": {"nyha": 2}, "rhythm": "sinus", "qrs": {"duration_ms": 100, "morphology": "other"},
              "history": KNOWN_HISTORY}, LV + NON_ISCH_LGE)
    icd = it.finding("icd_primary_prevention_assessment")
    assert icd.status == "not_assessable" and any("coronary assessment" in m for m in icd.missing)
    assert not [c for c in _recs(it) if c.startswith("icd_")]


def test_partial_coronary_anatomy_is_not_non_ischaemic():
    """One clean vessel says nothing of the others: the aetiology stays open, the ICD class with it."""
    partial = [{"code": "stenosis", "value": 10, "unit": "%", "vessel": "LAD"}]
    ph = Phenotype.from_dict({"measurements": LV + partial})
    assert not coronary_anatomy_complete(ph)
    it = _it({"symptoms": {"nyha": 2}, "history": KNOWN_HISTORY}, LV + partial + NON_ISCH_LGE)
    isch = it.finding("aetiology_ischaemic")
    assert isch.details["coronary_anatomy"]["not_reported"] == ["LCx", "LM", "RCA"]
    assert not any("without ≥50 % stenosis" in e["text"] for e in isch.details["evidence_against"])
    assert it.finding("icd_primary_prevention_assessment").status == "not_assessable"


def test_complete_clean_anatomy_gives_the_non_ischaemic_row():
    """Every main artery free of ≥50 % stenosis + non-ischaemic LGE: non-ischaemic, NYHA II, LVEF ≤35 %,
    ≥3 months OMT → ICD IIa A (§6.1)."""
    it = _it({"symptoms": {"nyha": 2}, "history": KNOWN_HISTORY}, LV + ALL_VESSELS_CLEAN + NON_ISCH_LGE)
    recs = _recs(it)
    assert recs["icd_primary_non_ischaemic"].recommendation_class == "IIa"
    assert it.finding("icd_primary_prevention_assessment").status == "present"


def test_mi_timing_unknown_is_not_no_recent_mi():
    it = _it({"symptoms": {"nyha": 2}, "history": {"months_omt": 6}}, LV + ALL_VESSELS_CLEAN + NON_ISCH_LGE)
    icd = it.finding("icd_primary_prevention_assessment")
    assert icd.status == "not_assessable" and any("myocardial infarction" in m for m in icd.missing)
    assert not [c for c in _recs(it) if c.startswith("icd_")]


@pytest.mark.parametrize("pacing,expected", [(None, None), (False, ("III", "A"))])
def test_no_class_iii_from_a_missing_pacing_indication(pacing, expected):
    """QRS 120 ms in sinus rhythm: CRT not recommended (III A) only when there is known to be no AV-block
    pacing indication; otherwise CRT rather than RV pacing (I A) could apply."""
    history = {"months_omt": 6, "prior_mi": False, **({} if pacing is None else {"pacing_indication": pacing})}
    it = _it({"symptoms": {"nyha": 2}, "rhythm": "sinus", "qrs": {"duration_ms": 120, "morphology": "lbbb"},
              "history": history}, LV)
    recs = _recs(it)
    got = recs.get("crt_sinus_qrs_lt130")
    if expected is None:
        assert got is None
    else:
        assert (got.recommendation_class, got.level_of_evidence) == expected
    if pacing is None:
        crt = it.finding("crt_indication_assessment")
        assert crt.status == "not_assessable" and "pacing indication for high-degree AV block" in crt.missing


def test_device_recommendations_that_hold_whatever_the_unknowns_are_given():
    """QRS 156 ms LBBB in sinus rhythm, NYHA II, on OMT: CRT I A holds whatever the AV-block and RV-pacing facts
    (which could only add recommendations); the finding still names them."""
    it = _it({"symptoms": {"nyha": 2}, "rhythm": "sinus", "qrs": {"duration_ms": 156, "morphology": "lbbb"},
              "history": {"months_omt": 6}}, LV)
    assert _recs(it)["crt_sinus_qrs_ge150_lbbb"].recommendation_class == "I"
    crt = it.finding("crt_indication_assessment")
    assert crt.status == "not_assessable" and "whatever they are" in crt.statement

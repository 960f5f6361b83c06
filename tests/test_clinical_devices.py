"""ICD and CRT recommendations, ESC 2021 HF guideline §6.1/§6.2 (reference §5, ✅P): every row,
and unknown inputs: a recommendation is returned only when it holds whatever they are."""

import pytest

from heartprint.clinical import crt_indication, icd_primary_prevention
from heartprint.clinical.devices import DeviceAssessment
from heartprint.errors import InvalidInputError

#: every fact known: ischaemic, NYHA II, LVEF 30 %, 6 months of OMT, no MI ever, not a candidate for advanced therapy
ICD_KNOWN = dict(nyha=2, aetiology="ischaemic", omt_months=6, prior_mi=False, advanced_therapy_candidate=False)


def _cls(res):
    return [(r.recommendation_class, r.level_of_evidence) for r in res.recommendations]


@pytest.mark.parametrize("lvef,kw,status,expected", [
    # §6.1 rows: ischaemic I A, non-ischaemic IIa A (LVEF ≤35 %, NYHA II–III, ≥3 months OMT)
    (35, dict(), "present", [("I", "A")]),
    (35, dict(nyha=3, aetiology="non-ischaemic", omt_months=3), "present", [("IIa", "A")]),
    (35.1, dict(), "absent", []),
    (30, dict(omt_months=2.9), "absent", []),
    (30, dict(nyha=1), "absent", []),
    # within 40 days of MI: III A; day 40 is no longer "within 40 days"
    (30, dict(prior_mi=None, days_since_mi=39), "absent", [("III", "A")]),
    (30, dict(prior_mi=True, days_since_mi=40), "present", [("I", "A")]),
    # NYHA IV refractory: III C unless a candidate for CRT, VAD or transplantation
    (30, dict(nyha=4), "absent", [("III", "C")]),
    (30, dict(nyha=4, advanced_therapy_candidate=True), "absent", []),
])
def test_icd_rows(lvef, kw, status, expected):
    res = icd_primary_prevention(lvef, **{**ICD_KNOWN, **kw})
    assert isinstance(res, DeviceAssessment)
    assert res.status == status and _cls(res) == expected
    assert all("ehab368" in r.citation for r in res.recommendations) and "ehab368" in res.findings[0].citation
    assert res.findings[0].code == "icd_primary_prevention" and not res.findings[0].missing


@pytest.mark.parametrize("unknown,would_be", [
    # MI timing unknown: within 40 days → III A, otherwise I A: neither is said
    ("prior_mi", {"MI within 40 days": "III A", "no MI within 40 days": "I A"}),
    # aetiology unknown never picks a branch: I A (ischaemic) or IIa A (non-ischaemic)
    ("aetiology", {"ischaemic aetiology": "I A", "non-ischaemic aetiology": "IIa A"}),
    ("omt_months", {"OMT <3 months": "no recommendation", "OMT ≥3 months": "I A"}),
])
def test_icd_unknown_is_not_no(unknown, would_be):
    res = icd_primary_prevention(30, **{**ICD_KNOWN, unknown: None})
    f = res.findings[0]
    assert f.status == "not_assessable" and res.recommendations == [] and len(f.missing) == 1
    assert set(f.details["would_be"]) == set(would_be)
    for case, cls in would_be.items():
        assert cls in f.details["would_be"][case]


def test_icd_advanced_therapy_unknown_matters_only_in_nyha_iv():
    # NYHA IV: III C if not a candidate, nothing if a candidate → not assessable
    res = icd_primary_prevention(30, **{**ICD_KNOWN, "nyha": 4, "advanced_therapy_candidate": None})
    assert res.status == "not_assessable" and res.recommendations == []
    assert "candidate for CRT, VAD or cardiac transplantation" in res.findings[0].missing[0]
    # NYHA II: the candidacy does not change the answer → decided
    assert _cls(icd_primary_prevention(30, **{**ICD_KNOWN, "advanced_therapy_candidate": None})) == [("I", "A")]


def test_icd_decides_what_unknowns_cannot_change():
    # LVEF 40 %: no ICD row applies whatever NYHA, aetiology, OMT, MI timing and candidacy are … except III A
    # within 40 days of MI, so MI timing matters; known no prior MI → nothing applies, decided
    res = icd_primary_prevention(40, prior_mi=False, advanced_therapy_candidate=True)
    assert res.status == "absent" and res.recommendations == []
    # within 40 days of MI: III A whatever the rest (§6.1)
    res = icd_primary_prevention(30, days_since_mi=10)
    assert res.status == "absent" and _cls(res) == [("III", "A")]


def test_icd_contradiction_is_said():
    res = icd_primary_prevention(30, **{**ICD_KNOWN, "days_since_mi": 20})  # prior_mi=False with a date of MI
    f = res.findings[0]
    assert f.status == "not_assessable" and res.recommendations == []
    assert "no prior myocardial infarction" in f.statement and "20 days" in f.statement


@pytest.mark.parametrize("kw,match", [
    (dict(lvef=140), "lvef"), (dict(nyha=5), "nyha"), (dict(aetiology="viral"), "aetiology"),
    (dict(omt_months=-1), "omt_months"), (dict(advanced_therapy_candidate="no"), "advanced_therapy_candidate"),
    (dict(prior_mi=1), "prior_mi"),
])
def test_icd_bad(kw, match):
    args = {"lvef": 30, **ICD_KNOWN, **kw}
    with pytest.raises(InvalidInputError, match=match):
        icd_primary_prevention(args.pop("lvef"), **args)


# ------------------------------------------------------------------------------------------ CRT
CRT_KNOWN = dict(rhythm="sinus", nyha=2, on_omt=True, av_block_pacing_indication=False, existing_device_rv_pacing=False)


@pytest.mark.parametrize("qrs,lbbb,cls", [
    (150, True, ("I", "A")), (180, True, ("I", "A")), (150, False, ("IIa", "B")),
    (149, True, ("IIa", "B")), (130, True, ("IIa", "B")), (149.9, False, ("IIb", "B")), (130, False, ("IIb", "B")),
    (129, True, ("III", "A")), (100, False, ("III", "A")),
])
def test_crt_sinus_table(qrs, lbbb, cls):
    res = crt_indication(35, qrs_ms=qrs, lbbb=lbbb, **CRT_KNOWN)
    assert _cls(res) == [cls]
    assert res.status == ("absent" if cls[0] == "III" else "present")


def test_crt_conditions():
    assert crt_indication(36, qrs_ms=160, lbbb=True, **{**CRT_KNOWN, "nyha": 3}).recommendations == []
    assert crt_indication(30, qrs_ms=160, lbbb=True, **{**CRT_KNOWN, "nyha": 1}).recommendations == []
    assert crt_indication(30, qrs_ms=160, lbbb=True, **{**CRT_KNOWN, "on_omt": False}).recommendations == []
    av = crt_indication(38, qrs_ms=100, lbbb=False, **{**CRT_KNOWN, "rhythm": "af", "nyha": 1,
                                                        "av_block_pacing_indication": True})
    assert av.classes() == [("crt_av_block", "I")] and av.status == "present"
    up = crt_indication(30, qrs_ms=170, lbbb=False, **{**CRT_KNOWN, "nyha": 3, "existing_device_rv_pacing": True})
    assert ("crt_upgrade", "IIa", "B") in [(r.code, r.recommendation_class, r.level_of_evidence) for r in up.recommendations]
    af = crt_indication(30, qrs_ms=160, lbbb=True, **{**CRT_KNOWN, "rhythm": "af", "nyha": 3})
    assert af.recommendations[0].code == "crt_af_not_covered" and af.recommendations[0].recommendation_class is None
    assert af.status == "not_assessable"  # outside the verified tables: said, not decided


def test_crt_never_class_iii_from_missing_data():
    # QRS 120 ms in sinus rhythm: III A (§6.2) only when there is known to be no AV-block pacing indication
    res = crt_indication(30, qrs_ms=120, lbbb=True, **{**CRT_KNOWN, "av_block_pacing_indication": None})
    assert res.status == "not_assessable" and res.recommendations == []
    assert res.findings[0].details["would_be"] == {"AV-block pacing indication": "CRT rather than RV pacing (I A)",
                                                   "no AV-block pacing indication":
                                                       "CRT is not recommended (sinus rhythm, QRS <130 ms, any QRS "
                                                       "morphology) (III A)"}
    # QRS 120 ms, morphology unknown: III A whatever the morphology (§6.2 "<130 ms: any") → decided
    res = crt_indication(30, qrs_ms=120, lbbb=None, **CRT_KNOWN)
    assert res.classes() == [("crt_sinus_qrs_lt130", "III")] and res.status == "absent"


def test_crt_returns_what_holds_and_names_what_is_missing():
    # QRS ≥150 ms with LBBB in sinus rhythm: I A whatever the AV-block and RV-pacing facts; they could add more
    res = crt_indication(30, qrs_ms=160, lbbb=True, rhythm="sinus", nyha=2, on_omt=True)
    assert res.classes() == [("crt_sinus_qrs_ge150_lbbb", "I")]
    f = res.findings[0]
    assert f.status == "not_assessable" and len(f.missing) == 2
    assert set(f.details["missing_parameters"]) == {"av_block", "device"}
    # QRS ≥150 ms, morphology unknown: I A (LBBB) or IIa B (non-LBBB) — neither is returned
    res = crt_indication(30, qrs_ms=160, lbbb=None, **CRT_KNOWN)
    assert res.recommendations == [] and res.findings[0].missing == ["QRS morphology (LBBB or not)"]
    # on OMT unknown: CRT I A or nothing (re-assess on OMT)
    res = crt_indication(30, qrs_ms=160, lbbb=True, **{**CRT_KNOWN, "on_omt": None})
    assert res.recommendations == [] and res.status == "not_assessable"
    # LVEF 38 %: only the AV-block row (HFrEF ≤40 %) could apply; known no AV-block indication → nothing, decided
    assert crt_indication(38, av_block_pacing_indication=False).status == "absent"


@pytest.mark.parametrize("kw,match", [(dict(qrs_ms=20), "qrs_ms"), (dict(rhythm="flutter"), "rhythm"), (dict(lbbb="yes"), "lbbb"),
                                      (dict(on_omt=1), "on_omt"), (dict(nyha=0), "nyha")])
def test_crt_bad(kw, match):
    base = dict(qrs_ms=150, lbbb=True, **CRT_KNOWN)
    base.update(kw)
    with pytest.raises(InvalidInputError, match=match):
        crt_indication(30, **base)

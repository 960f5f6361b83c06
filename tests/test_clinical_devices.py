"""ICD and CRT recommendations, ESC 2021 HF guideline §6.1/§6.2 (reference §5, ✅P): every row."""

import pytest

from heartprint.clinical import crt_indication, icd_primary_prevention
from heartprint.errors import InvalidInputError


@pytest.mark.parametrize("kw,expected", [
    (dict(lvef=35, nyha=2, aetiology="ischaemic", omt_months=3), [("I", "A")]),
    (dict(lvef=35, nyha=3, aetiology="non-ischaemic", omt_months=3), [("IIa", "A")]),
    (dict(lvef=35.1, nyha=2, aetiology="ischaemic", omt_months=6), []),
    (dict(lvef=30, nyha=2, aetiology="ischaemic", omt_months=2.9), []),
    (dict(lvef=30, nyha=1, aetiology="ischaemic", omt_months=6), []),
    (dict(lvef=30, nyha=2, aetiology="ischaemic", omt_months=6, days_since_mi=39), [("III", "A")]),
    (dict(lvef=30, nyha=2, aetiology="ischaemic", omt_months=6, days_since_mi=40), [("I", "A")]),
    (dict(lvef=30, nyha=4, aetiology="ischaemic", omt_months=6), [("III", "C")]),
    (dict(lvef=30, nyha=4, aetiology="ischaemic", omt_months=6, advanced_therapy_candidate=True), []),
])
def test_icd(kw, expected):
    recs = icd_primary_prevention(**kw)
    assert [(r.recommendation_class, r.level_of_evidence) for r in recs] == expected
    assert all("ehab368" in r.citation for r in recs)


@pytest.mark.parametrize("kw,match", [
    (dict(lvef=140, nyha=2, aetiology="ischaemic", omt_months=3), "lvef"),
    (dict(lvef=30, nyha=5, aetiology="ischaemic", omt_months=3), "nyha"),
    (dict(lvef=30, nyha=2, aetiology="viral", omt_months=3), "aetiology"),
    (dict(lvef=30, nyha=2, aetiology="ischaemic", omt_months=-1), "omt_months"),
])
def test_icd_bad(kw, match):
    with pytest.raises(InvalidInputError, match=match):
        icd_primary_prevention(**kw)


@pytest.mark.parametrize("qrs,lbbb,cls", [
    (150, True, ("I", "A")), (180, True, ("I", "A")), (150, False, ("IIa", "B")),
    (149, True, ("IIa", "B")), (130, True, ("IIa", "B")), (149.9, False, ("IIb", "B")), (130, False, ("IIb", "B")),
    (129, True, ("III", "A")), (100, False, ("III", "A")),
])
def test_crt_sinus_table(qrs, lbbb, cls):
    recs = crt_indication(35, qrs_ms=qrs, lbbb=lbbb, rhythm="sinus", nyha=2)
    assert [(r.recommendation_class, r.level_of_evidence) for r in recs] == [cls]


def test_crt_conditions():
    assert crt_indication(36, qrs_ms=160, lbbb=True, rhythm="sinus", nyha=3) == []
    assert crt_indication(30, qrs_ms=160, lbbb=True, rhythm="sinus", nyha=1) == []
    assert crt_indication(30, qrs_ms=160, lbbb=True, rhythm="sinus", nyha=2, on_omt=False) == []
    av = crt_indication(38, qrs_ms=100, lbbb=False, rhythm="af", nyha=1, av_block_pacing_indication=True)
    assert [(r.code, r.recommendation_class) for r in av] == [("crt_av_block", "I")]
    up = crt_indication(30, qrs_ms=170, lbbb=False, rhythm="sinus", nyha=3, existing_device_rv_pacing=True)
    assert ("crt_upgrade", "IIa", "B") in [(r.code, r.recommendation_class, r.level_of_evidence) for r in up]
    af = crt_indication(30, qrs_ms=160, lbbb=True, rhythm="af", nyha=3)
    assert af[0].code == "crt_af_not_covered" and af[0].recommendation_class is None


@pytest.mark.parametrize("kw,match", [(dict(qrs_ms=20), "qrs_ms"), (dict(rhythm="flutter"), "rhythm"), (dict(lbbb="yes"), "lbbb")])
def test_crt_bad(kw, match):
    base = dict(qrs_ms=150, lbbb=True, rhythm="sinus", nyha=2)
    base.update(kw)
    with pytest.raises(InvalidInputError, match=match):
        crt_indication(30, **base)

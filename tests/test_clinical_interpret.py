import json
import subprocess
import sys
from pathlib import Path

import pytest

from heartprint import DISCLAIMER
from heartprint.clinical.interpret import interpret
from heartprint.phenotype import Phenotype

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(name):
    return interpret(Phenotype.from_json(EXAMPLES / f"{name}.json"))


def codes(items, status=None):
    return {f.code for f in items if status is None or f.status == status}


def test_every_finding_carries_inputs_and_citation():
    for p in sorted(EXAMPLES.glob("*.json")):
        it = interpret(Phenotype.from_json(p))
        for f in it.findings:
            assert f.citation and f.rule, f.code
            assert f.inputs, f"{p.name}: {f.code} has no inputs"
        for f in it.not_assessable:
            assert f.missing, f"{p.name}: {f.code} says not assessable without naming what it needs"
        d = it.to_dict()
        assert d["disclaimer"] == DISCLAIMER
        json.dumps(d)


def test_ischaemic_hfref_vignette():
    it = run("ischaemic_hfref")
    present = codes(it.findings, "present")
    assert {"hfref", "cad_rads_4a", "ischaemia_high_risk", "significant_stenosis_lad", "lge_ischaemic_pattern"} <= present
    assert it.differential[0].code == "aetiology_ischaemic" and it.differential[0].status == "present"
    recs = {r.code: r for r in it.recommendations}
    assert "consider_revascularisation_lad" in recs and "[7, 13]" in recs["consider_revascularisation_lad"].action
    assert "ica_for_high_risk_ischaemia" in recs
    assert recs["icd_primary_ischaemic"].recommendation_class == "I"
    assert recs["crt_sinus_qrs_ge150_lbbb"].recommendation_class == "I"


def test_amyloid_vignette():
    it = run("amyloid")
    top = it.differential[0]
    assert top.code == "aetiology_amyloid" and top.status == "present"
    assert any("diffuse" in e["text"] for e in top.details["evidence_for"])
    assert it.finding("amyloid_native_t1").status == "present"  # ShMOLLI 1.5 T, 1210 ms > 1164 ms
    recs = {r.code: r for r in it.recommendations}
    assert recs["tafamidis_if_attr_cm"].recommendation_class == "I" and "amyloid_workup" in recs
    assert it.finding("aetiology_ischaemic").status == "absent"
    # ECV has no verified amyloid threshold: stated, not guessed
    assert it.finding("amyloid_ecv").status == "not_assessable"


def test_hfpef_vignette():
    it = run("hfpef_h2fpef")
    h2 = it.finding("hfpef_h2fpef")
    assert h2.status == "present" and "9 points" in h2.statement
    assert it.finding("hfpef").status == "present"
    assert it.finding("hfpef_h2fpef").inputs["bmi"]["value"] == pytest.approx(36.05, abs=0.01)
    # dyspnoea given, chest pain not: the ESC 2024 likelihood (and so the next test) depends on the
    # chest-pain type, which is unknown, not "no chest pain" (issue 16)
    nxt = it.finding("next_test_cad")
    assert nxt.status == "not_assessable" and nxt.missing == ["chest-pain type"]


def test_non_ischaemic_vignette():
    it = run("non_ischaemic_lge")
    assert it.finding("significant_stenosis_lcx").status == "absent"
    assert it.finding("lge_non_ischaemic_pattern").status == "present"
    assert it.finding("aetiology_ischaemic").status == "absent"
    assert "no_revascularisation_lcx" in {r.code for r in it.recommendations}


def test_missing_data_gives_not_assessable():
    it = interpret(Phenotype.from_dict({"patient": {"symptoms": {"chest_pain": "typical", "nyha": 2}}}))
    na = {f.code: f for f in it.not_assessable}
    assert "age" in na["clinical_likelihood_esc2024"].missing
    assert na["next_test_cad"].status == "not_assessable"
    assert na["hf_type_needs_lvef"].missing == ["lv_ef"]
    assert not it.recommendations


def test_device_rules_need_omt_duration():
    it = interpret(Phenotype.from_dict({"patient": {"symptoms": {"nyha": 2}, "rhythm": "sinus",
                                                    "qrs": {"duration_ms": 160, "morphology": "lbbb"}},
                                        "measurements": [{"code": "lv_ef", "value": 25, "unit": "%"}]}))
    crt = it.finding("crt_indication_assessment")
    assert crt.status == "not_assessable" and "months of optimal medical therapy" in crt.missing


def test_clinical_never_imports_pixel_rooms():
    code = ("import sys, heartprint.clinical.interpret as i, heartprint.clinical.multimodality, "
            "heartprint.clinical.aetiology, heartprint.clinical.pathway, heartprint.phenotype\n"
            "from heartprint.phenotype import Phenotype\n"
            f"i.interpret(Phenotype.from_json({str(EXAMPLES / 'ischaemic_hfref.json')!r}))\n"
            "bad=[m for m in sys.modules if m.split('.')[:2] in [['heartprint',r] for r in "
            "('io','segmentation','cmr','ct','nuclear','echo','report','service','pipeline')]]\n"
            "print(bad); assert not bad")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_verified_reference_range_and_z_score_attached():
    it = run("ischaemic_hfref")
    edvi = next(m for m in it.measurements if m.code == "lv_edvi")
    assert edvi.reference_range is not None and "Alfakih" in edvi.reference_range.reference
    assert edvi.z_score == pytest.approx((118 - 82.3) / 14.7)  # Alfakih 2003 men, SSFP: 82.3 ± 14.7 mL/m2
    dil = it.finding("aetiology_dilated")
    assert any("above its reference range" in e["text"] for e in dil.details["evidence_for"])
    assert dil.status == "absent"  # the ischaemic cause outweighs it


# -- issue 16: unknown is never "no"; contradictions are said (the adapters and the registry) ---------


def _it(doc):
    return interpret(Phenotype.from_dict(doc))


def test_ptp_adapter_passes_unknown_dyspnoea_as_unknown():
    base = {"age": 55, "sex": "male", "risk_factors": {"family_history_cad": False, "smoking": True, "dyslipidaemia": False,
                                                         "hypertension": False, "diabetes": False}}
    # typical angina: the dyspnoea column is not used either way (ESC 2019), score 3 either way (ESC 2024)
    it = _it({"patient": {**base, "symptoms": {"chest_pain": "typical"}}})
    assert it.finding("ptp_high").details["percent"] == 32
    assert it.finding("ptp_moderate").details["percent"] == 21  # ESC 2024: man 50–59, score 3, 0–1 risk factors
    # no chest pain and dyspnoea not given: the 2019 table applies only with dyspnoea
    it = _it({"patient": {**base, "symptoms": {"chest_pain": "none"}}})
    f = it.finding("ptp_esc2019")
    assert f.status == "not_assessable" and f.missing == ["dyspnoea"]
    assert f.details["would_be"] == {"dyspnoea yes": "20 % (high)", "dyspnoea no": "the table does not apply (no symptom)"}


def test_ptp_adapter_decides_with_risk_factors_partly_unknown_when_the_group_is_fixed():
    rf = {"family_history_cad": True, "smoking": True, "dyslipidaemia": True, "hypertension": True, "diabetes": None}
    it = _it({"patient": {"age": 62, "sex": "female", "symptoms": {"chest_pain": "typical", "dyspnoea": False},
                          "risk_factors": rf}})
    f = next(f for f in it.findings if f.rule.endswith("likelihood_esc2024"))
    assert f.details["percent"] == 19 and f.inputs["risk_factors"]["value"] == [4, 5]  # 4–5 either way


def _ct(*stenoses, **findings):
    return {"patient": {"findings": findings},
            "studies": [{"modality": "CT", "date": "2024-02-10", "measurements": [
                {"code": "stenosis", "value": v, "unit": "%", "vessel": vessel, **({"vessel_segment": part} if part else {})}
                for vessel, part, v in stenoses]}]}


def test_cadrads_adapter_reports_a_segment_given_twice_instead_of_taking_the_max():
    it = _it(_ct(("LAD", "proximal", 30), ("LAD", "proximal", 60), ccta_non_diagnostic=False))
    cr = it.finding("cad_rads")
    assert cr.status == "not_assessable" and cr.details["would_be"] == {"pLAD stenosis 30 %": "CAD-RADS 2",
                                                                         "pLAD stenosis 60 %": "CAD-RADS 3"}
    mine = [f for f in it.findings if f.code == "input_contradiction" and f.rule.endswith("cadrads.cad_rads")]
    assert len(mine) == 1 and "30 % and 60 %" in mine[0].statement
    assert {"stenosis_LAD_proximal_1", "stenosis_LAD_proximal_2"} <= set(mine[0].inputs)
    # a later study supersedes an earlier one: no contradiction
    doc = _ct(("LAD", "proximal", 30), ccta_non_diagnostic=False)
    doc["studies"].append({"modality": "CT", "date": "2024-06-01", "measurements": [
        {"code": "stenosis", "value": 60, "unit": "%", "vessel": "LAD", "vessel_segment": "proximal"}]})
    it = _it(doc)
    assert it.finding("cad_rads_3").status == "present"
    assert not [f for f in it.findings if f.code == "input_contradiction" and f.rule.endswith("cad_rads")]


def test_cadrads_adapter_reads_the_readers_calls_and_says_no_plaque_with_stenosis():
    it = _it(_ct(("RCA", "mid", 30), coronary_plaque=False, ccta_non_diagnostic=False))
    assert it.finding("cad_rads").status == "not_assessable"
    c = next(f for f in it.findings if f.code == "input_contradiction" and f.rule.endswith("cad_rads"))
    assert "no coronary plaque" in c.statement and "30 % stenosis in the mRCA" in c.statement
    it = _it(_ct(("RCA", "mid", 0), coronary_plaque=False, ccta_non_diagnostic=False))
    assert it.finding("cad_rads_0").status == "present"
    it = _it(_ct(("RCA", "mid", 0)))  # plaque and non-diagnostic segments not given: not "no CAD"
    f = it.finding("cad_rads")
    assert f.status == "not_assessable" and "whether coronary plaque is present" in f.missing


def test_stress_cmr_with_segments_not_read_is_not_low_risk():
    defects = [{"code": "perfusion_defect", "value": 1 if s == 3 else 0, "unit": "1", "segment": s} for s in range(1, 11)]
    f = _it({"measurements": defects}).finding("cmr_perfusion_high_risk")
    assert f.status == "not_assessable" and "stress CMR perfusion, segment 16" in f.missing
    all16 = [{"code": "perfusion_defect", "value": 1 if s == 3 else 0, "unit": "1", "segment": s} for s in range(1, 17)]
    assert _it({"measurements": all16}).finding("cmr_perfusion_high_risk").status == "absent"
    two = defects + [{"code": "perfusion_defect", "value": 1, "unit": "1", "segment": 11}]
    assert _it({"measurements": two}).finding("cmr_perfusion_high_risk").status == "present"


def test_spect_with_segments_unscored_decides_when_they_cannot_matter():
    stress = [{"code": "perfusion_stress_score", "value": 4 if s in (1, 7) else 0, "unit": "1", "segment": s}
              for s in range(1, 17)]  # apex not scored
    rest = [{"code": "perfusion_rest_score", "value": 0, "unit": "1", "segment": s} for s in range(1, 17)]
    f = _it({"measurements": stress + rest}).finding("ischaemia_high_risk")
    assert f.status == "not_assessable" and f.details["sds_range"] == [4, 12]  # 8 + (0..4) − (0..4): straddles 7
    stress = [{"code": "perfusion_stress_score", "value": 4 if s in (1, 7, 13) else 0, "unit": "1", "segment": s}
              for s in range(1, 17)]
    assert _it({"measurements": stress + rest}).finding("ischaemia_high_risk").status == "present"  # 12 − 4 ≥ 7


def test_hfpef_scores_with_lvef_unknown_do_not_conclude_hfpef():
    doc = {"patient": {"age": 72, "sex": "female", "rhythm": "af", "n_antihypertensives": 2,
                       "height": {"value": 163, "unit": "cm"}, "weight": {"value": 95, "unit": "kg"}},
           "measurements": [{"code": "e_e_prime", "value": 15, "unit": "1"}, {"code": "pasp", "value": 45, "unit": "mmHg"}]}
    f = _it(doc).finding("hfpef_h2fpef")
    assert f.status == "not_assessable" and "LV ejection fraction" in f.missing
    assert f.details["would_be"]["otherwise"] == "not HFpEF (HFpEF needs LVEF ≥50 %)"
    doc["measurements"].append({"code": "lv_ef", "value": 60, "unit": "%"})
    assert _it(doc).finding("hfpef_h2fpef").status == "present"


def test_lake_louise_reads_lge_as_unknown_unless_every_segment_was_read():
    from heartprint.clinical import _registry

    src = _registry.RULES["lake_louise"].inputs["lge_nonischaemic"]
    seg = lambda s, v, pat=None: {"code": "lge_transmurality", "value": v, "unit": "%", "segment": s,  # noqa: E731
                                  **({"pattern": pat} if pat else {})}
    read = lambda ms: _registry.resolve(Phenotype.from_dict({"measurements": ms}), src)[0]  # noqa: E731
    assert read([seg(s, 0) for s in range(1, 18)]) is False
    assert read([seg(s, 0) for s in range(1, 17)]) is None  # apex not read
    assert read([seg(3, 30, "mid_wall")]) is True
    assert read([seg(s, 0) for s in range(1, 17)] + [seg(17, 20)]) is None  # LGE without a stated pattern
    assert read([seg(s, 0) for s in range(1, 17)] + [seg(17, 40, "subendocardial")]) is False

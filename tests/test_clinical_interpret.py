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
    assert "next_test_ccta" in {r.code for r in it.recommendations}


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

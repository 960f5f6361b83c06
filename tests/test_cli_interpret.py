import json
from pathlib import Path

from heartprint import DISCLAIMER
from heartprint.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_json_output(capsys):
    assert main(["interpret", str(EXAMPLES / "ischaemic_hfref.json"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) >= {"schema", "disclaimer", "findings", "differential", "recommendations", "not_assessable",
                        "measurements", "regional"}
    assert doc["disclaimer"] == DISCLAIMER
    lad = next(f for f in doc["findings"] if f["code"] == "significant_stenosis_lad")
    assert lad["status"] == "present" and lad["inputs"]
    assert any(r["code"] == "consider_revascularisation_lad" for r in doc["recommendations"])


def test_plain_text_output_shows_measurements_and_disclaimer(capsys):
    assert main(["interpret", "--plain", str(EXAMPLES / "amyloid.json")]) == 0
    out = capsys.readouterr().out
    assert "Cardiac amyloidosis: supported" in out
    assert "from: " in out and "native_t1_ms=1210" in out
    assert "tafamidis" in out and "Not assessable:" in out
    assert out.rstrip().endswith(DISCLAIMER)


def test_rich_output(capsys):
    assert main(["interpret", str(EXAMPLES / "hfpef_h2fpef.json")]) == 0
    out = capsys.readouterr().out
    assert "H2FPEF" in out
    assert DISCLAIMER[:40] in out


def test_merges_several_files(tmp_path, capsys):
    extra = tmp_path / "ffr.json"
    extra.write_text(json.dumps({"studies": [{"modality": "ICA", "date": "2024-04-01", "measurements": [
        {"code": "ffr", "value": 0.9, "unit": "1", "vessel": "LAD"}]}]}))
    assert main(["interpret", "--json", str(EXAMPLES / "ischaemic_hfref.json"), str(extra)]) == 0
    doc = json.loads(capsys.readouterr().out)
    lad = next(f for f in doc["findings"] if f["code"] == "significant_stenosis_lad")
    assert lad["details"]["discordant"] is True


def test_bad_input_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"labs": [{"code": "nt_probnp", "value": 900}]}))
    assert main(["interpret", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("heartprint: error:") and "nt_probnp=900" in err and "no unit" in err
    assert main(["interpret", str(tmp_path / "missing.json")]) == 2


def test_analysis_document_plus_facts(capsys):
    assert main(["interpret", "--json", str(EXAMPLES / "cmr_analysis_with_facts.json")]) == 0
    doc = json.loads(capsys.readouterr().out)
    top = doc["differential"][0]
    assert top["code"] == "aetiology_dilated" and top["status"] == "present"
    lvef = next(m for m in doc["measurements"] if m["code"] == "lv_ef")
    assert lvef["source"] == "1.2.826.0.1.3680043.8.498.1" and lvef["modality"] == "MR"
    # no coronary data: the ICD rule cannot be told "non-ischaemic" from an LGE pattern alone
    icd = next(f for f in doc["not_assessable"] if f["code"] == "icd_primary_prevention_assessment")
    assert any("coronary assessment" in m for m in icd["missing"])
    assert any(r["code"] == "coronary_assessment_for_lv_dysfunction" for r in doc["recommendations"])

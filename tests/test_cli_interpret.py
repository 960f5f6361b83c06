import json
from pathlib import Path

import pytest

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


# -- patient facts from the command line (docs/patient_facts.md) --------------------------------------


def test_fact_flags_override_the_file_and_the_json_says_which_won(capsys):
    from heartprint.units import NT_PROBNP_PG_ML_PER_PMOL_L

    argv = ["interpret", "--json", str(EXAMPLES / "amyloid.json"), "--sex", "female", "--age", "61", "--symptoms", "yes",
            "--nyha", "3", "--rhythm", "af", "--qrs-ms", "150", "--qrs-morphology", "lbbb", "--height-cm", "160",
            "--weight-kg", "60", "--lab", "nt_probnp=141.6pmol/L", "--lab", "bnp=80 ng/L", "--lab", "HCT=0.42 L/L"]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    given = {g["key"]: g for g in doc["facts"]["given"]}
    expected = {"sex": "female", "age": 61.0, "hf_symptoms": True, "nyha": 3, "rhythm": "af", "qrs_ms": 150.0,
                "qrs_morphology": "lbbb", "height_cm": 160.0, "weight_kg": 60.0, "bnp": 80.0, "haematocrit": 42.0}
    for key, value in expected.items():
        assert given[key]["value"] == pytest.approx(value) and given[key]["source"] == "command line", given[key]
    nt = given["nt_probnp"]
    assert nt["value"] == pytest.approx(141.6 * NT_PROBNP_PG_ML_PER_PMOL_L) and nt["unit"] == "pg/mL"
    assert nt["entered"] == "141.6 pmol/L" and nt["replaced"] == [{"value": 4200.0, "source": "facts file"}]
    # which won: the file's values are named as replaced
    assert given["sex"]["replaced"] == [{"value": "male", "source": "facts file"}]
    assert given["nyha"]["replaced"] == [{"value": 2, "source": "facts file"}]
    assert given["dyspnoea"]["source"] == "facts file" and "replaced" not in given["dyspnoea"]
    # the rules were given the flags' values
    m = {x["code"]: x for x in doc["measurements"]}
    assert m["nt_probnp"]["value"] == pytest.approx(nt["value"]) and m["qrs_duration"]["value"] == 150.0
    assert m["bmi"]["value"] == pytest.approx(60 / 1.6 ** 2)
    unknown = {u["key"] for u in doc["facts"]["assumed_unknown"]}
    assert unknown and not unknown & set(given) and "symptomatic" not in unknown


def test_plain_output_lists_facts_given_and_not_given(capsys):
    assert main(["interpret", "--plain", str(EXAMPLES / "amyloid.json"), "--rhythm", "af"]) == 0
    out = capsys.readouterr().out
    assert "patient facts given:" in out
    assert "heart rhythm: atrial fibrillation (command line; replaces sinus rhythm from the facts file)" in out
    assert "NT-proBNP: 4200 pg/mL (facts file, entered as 4200 ng/L)" in out
    assert "symptoms or signs of heart failure: yes (derived from NYHA class II)" in out
    line = next(x for x in out.splitlines() if x.startswith("not given (assumed unknown): "))
    assert "BNP" in line and "months on optimal medical therapy for heart failure" in line

import json
from datetime import datetime

import pytest

from heartprint.errors import InvalidInputError
from heartprint.phenotype import Phenotype

ANALYSIS = {  # shape of the measurements.json written by heartprint 0.1 (study/1: results under "result";
    # the analysers stamp each measurement with its modality)
    "schema": "heartprint.study/1",
    "series": [
        {"series_uid": "1.2.3", "kind": "cine_sax", "status": "analysed",
         "result": {"qc_status": "ok", "measurements": [
             {"code": "lv_edv", "name": "LV end-diastolic volume", "value": 160.0, "unit": "mL", "method": "discs",
              "source": "1.2.3", "reference": "", "phase": "ED"},
             {"code": "lv_ef", "name": "LV ejection fraction", "value": 58.0, "unit": "%", "method": "x", "source": "1.2.3",
              "reference": "", "modality": "MR"},
             {"code": "lv_wall_thickness", "name": "LV wall thickness", "value": 9.5, "unit": "mm", "segment": 3,
              "method": "rays", "source": "1.2.3", "reference": ""}]}},
        {"series_uid": "9.9", "kind": "cine_sax", "status": "analysed",
         "result": {"qc_status": "error", "measurements": [
             {"code": "lv_ef", "name": "LV EF", "value": 5.0, "unit": "%", "method": "x", "source": "9.9", "reference": ""}]}},
        {"series_uid": "4.5", "kind": "localizer", "status": "not_analysed"},
    ],
}


def test_from_analysis_document():
    ph = Phenotype.from_dict(ANALYSIS)
    assert ph.value("lv_ef") == 58.0
    assert ph.latest("lv_ef").modality == "MR" and ph.latest("lv_ef").source == "1.2.3"
    assert ph.latest("lv_wall_thickness", segment=3).value == 9.5
    assert any("QC error" in n for n in ph.notes)


def test_latest_wins_history_kept_and_units_converted():
    ph = Phenotype.from_dict({
        "patient": {"age": 60, "sex": "F", "height": "65 in", "weight": {"value": 154, "unit": "lb"},
                    "symptoms": {"chest_pain": "atypical", "nyha": 2}, "rhythm": "AF",
                    "qrs": {"duration_ms": 128, "morphology": "RBBB"}, "family_history": {"hcm": True}},
        "labs": {"ldl_c": {"value": 116.01, "unit": "mg/dL"}, "nt_probnp": "500 ng/L"},
        "studies": [
            {"modality": "CMR", "date": "2023-01-01", "measurements": [{"code": "lv_ef", "value": 40, "unit": "%"}]},
            {"modality": "echo", "date": "2024-01-01", "measurements": [{"code": "lv_ef", "value": 0.45, "unit": "1"}]},
            {"modality": "MR", "date": "2022-06-01", "analysis": ANALYSIS},
        ],
    })
    f = ph.facts
    assert (f.sex, f.rhythm, f.qrs_morphology, f.chest_pain, f.family_history_hcm) == ("female", "af", "rbbb", "atypical", True)
    assert f.height_cm == pytest.approx(165.1) and f.weight_kg == pytest.approx(69.85322498)
    assert ph.value("bmi") == pytest.approx(69.85322498 / 1.651 ** 2)
    assert ph.value("ldl_c") == pytest.approx(3.0, abs=1e-4)
    assert ph.value("nt_probnp") == 500.0
    lvef = ph.latest("lv_ef")
    assert lvef.value == 45.0 and lvef.modality == "US" and lvef.time == datetime(2024, 1, 1)
    assert sorted(m.value for m in ph.history if m.code == "lv_ef") == [40.0, 45.0, 58.0]
    d = ph.to_dict()
    assert d["schema"] == "heartprint.phenotype/1" and d["n_history"] == len(ph.history)
    json.dumps(d)


def test_merge_keeps_facts_and_history():
    a = Phenotype.from_dict({"patient": {"age": 70, "sex": "male"}, "measurements": [
        {"code": "lv_ef", "value": 30, "unit": "%", "time": "2024-01-01"}]})
    b = Phenotype.from_dict({"patient": {"symptoms": {"nyha": 3}}, "measurements": [
        {"code": "lv_ef", "value": 35, "unit": "%", "time": "2023-01-01"}]})
    m = a.merge(b)
    assert m.facts.age == 70 and m.facts.nyha == 3
    assert m.value("lv_ef") == 30.0 and len([x for x in m.history if x.code == "lv_ef"]) == 2


def test_regional_needs_segment_or_vessel():
    with pytest.raises(InvalidInputError, match="needs 'segment'"):
        Phenotype.from_dict({"measurements": [{"code": "lge_transmurality", "value": 50, "unit": "%"}]})
    with pytest.raises(InvalidInputError, match="needs 'vessel'"):
        Phenotype.from_dict({"measurements": [{"code": "stenosis", "value": 50, "unit": "%"}]})
    ph = Phenotype.from_dict({"measurements": [{"code": "stenosis", "value": 50, "unit": "%", "vessel": "cx"}]})
    assert ph.regional("stenosis")[0].vessel == "LCx"


@pytest.mark.parametrize("doc, words", [
    ({"labs": [{"code": "nt_probnp", "value": 900}]}, ["labs[0] nt_probnp=900", "no unit", "pg/mL"]),
    ({"labs": [{"code": "creatinine", "value": 1.1, "unit": "mg/L"}]}, ["creatinine=1.1 mg/L", "umol/L", "mg/dL"]),
    ({"patient": {"height": 175}}, ["patient.height=175", "no unit", "cm"]),
    ({"patient": {"weight": "90 stone"}}, ["patient.weight=90.0 stone", "lb_av"]),
    ({"patient": {"age": 150}}, ["patient.age=150", "0–120"]),
    ({"patient": {"sex": "x"}}, ["patient.sex='x'"]),
    ({"patient": {"symptoms": {"nyha": 5}}}, ["nyha", "5"]),
    ({"measurements": [{"code": "lv_eff", "value": 50, "unit": "%"}]}, ["lv_eff", "not a known"]),
    ({"measurements": [{"code": "lv_ef", "value": 50, "unit": "%", "segment": 19}]}, ["segment"]),
    ({"labs": [{"code": "haematocrit", "value": 42, "unit": "1"}]}, ["haematocrit=42 1", "10–70 %"]),
    ({"bogus": 1}, ["unknown key", "bogus"]),
])
def test_bad_input_messages(doc, words):
    with pytest.raises(InvalidInputError) as e:
        Phenotype.from_dict(doc)
    for w in words:
        assert w in str(e.value)


def test_from_json_file(tmp_path):
    p = tmp_path / "p.json"
    p.write_text(json.dumps({"measurements": [{"code": "lv_ef", "value": 50, "unit": "%"}]}))
    assert Phenotype.from_json(p).value("lv_ef") == 50.0
    with pytest.raises(InvalidInputError, match="no such file"):
        Phenotype.from_json(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InvalidInputError, match="not valid JSON"):
        Phenotype.from_json(tmp_path / "bad.json")


def test_patient_facts_schema_additions():
    """Issue 16 item 5: symptoms.heart_failure, a bare QRS duration read as ms, null = unknown,
    labs only of lab concepts (docs/patient_facts.md)."""
    ph = Phenotype.from_dict({"patient": {"symptoms": {"heart_failure": True, "dyspnoea": None, "nyha": None},
                                          "qrs": {"duration_ms": 128}, "rhythm": None}})
    f = ph.facts
    assert (f.hf_symptoms, f.dyspnoea, f.nyha, f.rhythm, f.qrs_ms) == (True, None, None, None, 128.0)
    assert ph.value("qrs_duration") == 128.0 and set(ph.given) == {"hf_symptoms", "qrs_ms"}
    with pytest.raises(InvalidInputError, match="'lv_ef' is not a lab"):
        Phenotype.from_dict({"labs": {"lv_ef": "50 %"}})

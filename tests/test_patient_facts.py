"""Patient facts in (issue 16, item 5): the facts file and the flags, units converted and
range-checked, each fact with its source, later sources winning, and the facts the rules take
that were not given listed as assumed unknown, in the JSON and in the report.

Everything here is built by hand (no image analysis); the end-to-end runs through ``heartprint
analyze`` are in ``test_cli_analyze.py``.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime

import pytest

from heartprint.cli import main
from heartprint.errors import InvalidInputError
from heartprint.phenotype import LAB_CODES, PatientFacts, Phenotype, fact_text, lab_code
from heartprint.pipeline import AnalysisOptions, facts_summary, patient_facts
from heartprint.results import PatientIdentity, Provenanced, StudyInfo, StudyResult, validate_study_dict
from heartprint.units import BNP_PG_ML_PER_PMOL_L, NT_PROBNP_PG_ML_PER_PMOL_L

# -- symptoms of heart failure --------------------------------------------------------------------


@pytest.mark.parametrize("facts, expected", [
    ({}, None),                                                   # nothing given: unknown, never "no"
    ({"hf_symptoms": True}, True),
    ({"hf_symptoms": False}, False),
    ({"hf_symptoms": False, "nyha": 3, "dyspnoea": True}, False),  # the explicit answer wins
    ({"hf_symptoms": True, "nyha": 1}, True),
    ({"nyha": 1}, False),
    ({"nyha": 2}, True),
    ({"nyha": 4}, True),
    ({"nyha": 1, "dyspnoea": True}, False),                       # NYHA before dyspnoea
    ({"dyspnoea": True}, True),
    ({"dyspnoea": False}, None),                                  # signs may still be present
    ({"chest_pain": "typical"}, None),                            # chest pain is not an HF symptom
    ({"chest_pain": "typical", "dyspnoea": False}, None),
])
def test_symptomatic_is_explicit_then_nyha_then_dyspnoea_else_unknown(facts, expected):
    assert PatientFacts(**facts).symptomatic is expected


def test_facts_file_symptoms_heart_failure_key():
    assert Phenotype.from_dict({"patient": {"symptoms": {"heart_failure": False}}}).facts.hf_symptoms is False
    assert Phenotype.from_dict({"patient": {"symptoms": {"heart_failure": True}}}).facts.symptomatic is True
    assert Phenotype.from_dict({"patient": {"symptoms": {"dyspnoea": True}}}).facts.hf_symptoms is None


# -- facts file: conversion and checks ---------------------------------------------------------------


def test_labs_list_and_object_forms_units_converted_as_entered():
    ph = Phenotype.from_dict({
        "patient": {"qrs": {"duration_ms": "0.15 s"}},
        "labs": [{"code": "NT-proBNP", "value": 100, "unit": "pmol/L"}, {"code": "hct", "value": 0.42, "unit": "L/L"}],
    }, source="facts file")
    assert ph.value("nt_probnp") == pytest.approx(100 * NT_PROBNP_PG_ML_PER_PMOL_L)
    assert ph.value("haematocrit") == pytest.approx(42.0)
    assert ph.facts.qrs_ms == pytest.approx(150.0) and ph.value("qrs_duration") == pytest.approx(150.0)
    nt = ph.latest("nt_probnp")
    assert nt.source == "entered" and nt.modality == "LAB" and nt.unit == "pg/mL"
    g = ph.given
    assert g["nt_probnp"].entered == "100 pmol/L" and g["nt_probnp"].source == "facts file"
    assert g["haematocrit"].entered == "0.42 L/L" and g["qrs_ms"].entered == "0.15 s"
    obj = Phenotype.from_dict({"labs": {"bnp": "10 pmol/L", "nt_probnp": {"value": 900, "unit": "ng/L"}}})
    assert obj.value("bnp") == pytest.approx(10 * BNP_PG_ML_PER_PMOL_L)
    assert obj.value("nt_probnp") == 900.0 and obj.given["nt_probnp"].entered == "900 ng/L"  # exact identity
    assert obj.given["bnp"].source == "entered"  # no source said: "entered"


@pytest.mark.parametrize("doc, words", [
    ({"labs": [{"code": "lv_ef", "value": 50, "unit": "%"}]}, ["labs[0] code", "'lv_ef' is not a lab", "nt_probnp"]),
    ({"labs": {"troponin": "5 ng/L"}}, ["'troponin' is not a lab", *LAB_CODES]),
    ({"labs": [{"code": "bnp", "value": 80, "unit": "ng/L", "when": "2024"}]}, ["labs[0]", "unknown key", "when"]),
    ({"labs": [{"code": "bnp", "value": 80}]}, ["labs[0] bnp=80", "no unit", "pg/mL", "ng/L", "pmol/L"]),
    ({"labs": [{"code": "bnp", "value": 20000, "unit": "pg/mL"}]}, ["bnp=20000 pg/mL", "0–10000 pg/mL"]),
    ({"labs": [{"code": "nt_probnp", "value": 5, "unit": "mmol/L"}]}, ["nt_probnp=5 mmol/L", "not accepted"]),
    ({"labs": "nt_probnp=5"}, ["labs=", "expected a list"]),
    ({"patient": {"symptoms": {"hf": True}}}, ["patient.symptoms", "unknown key", "'hf'", "heart_failure"]),
    ({"patient": {"symptoms": {"nyha": 5}}}, ["patient.symptoms.nyha=5"]),
    ({"patient": {"symptoms": {"nyha": True}}}, ["patient.symptoms.nyha=True", "whole number"]),
    ({"patient": {"symptoms": {"heart_failure": "perhaps"}}}, ["patient.symptoms.heart_failure='perhaps'"]),
    ({"patient": {"rhythm": "flutter"}}, ["patient.rhythm='flutter'", "sinus, af"]),
    ({"patient": {"qrs": {"morphology": "ivcd"}}}, ["patient.qrs.morphology='ivcd'", "lbbb, rbbb, other"]),
    ({"patient": {"qrs": {"duration_ms": 12}}}, ["patient.qrs.duration_ms=12", "40–300 ms"]),
    ({"patient": {"qrs": {"width": 120}}}, ["patient.qrs", "unknown key", "width"]),
    ({"patient": {"history": {"months_omt": -1}}}, ["patient.history.months_omt=-1"]),
    ({"patient": {"symptoms": "yes"}}, ["patient.symptoms='yes'", "expected an object"]),
])
def test_bad_facts_name_the_field_value_and_what_was_expected(doc, words):
    with pytest.raises(InvalidInputError) as e:
        Phenotype.from_dict(doc)
    for w in words:
        assert w in str(e.value), (w, str(e.value))


def test_lab_names():
    assert lab_code("NT-proBNP") == lab_code("ntprobnp") == lab_code(" nt_probnp ") == "nt_probnp"
    assert lab_code("Hematocrit") == "haematocrit"
    assert "hb" not in LAB_CODES and "haemoglobin" not in LAB_CODES  # no concept: not accepted
    with pytest.raises(InvalidInputError, match="'haemoglobin' is not a lab"):
        lab_code("haemoglobin")


def test_fact_text_is_plain():
    assert fact_text("nyha", 3) == "III" and fact_text("rhythm", "af") == "atrial fibrillation"
    assert fact_text("hf_symptoms", False) == "no" and fact_text("age", 61.0, "a") == "61 years"
    assert fact_text("nt_probnp", 1197.5112, "pg/mL") == "1198 pg/mL"
    assert fact_text("qrs_morphology", "lbbb") == "left bundle branch block"


# -- layers: sources, what wins, what was replaced ----------------------------------------------------


def test_later_source_wins_and_says_what_it_replaced():
    file = Phenotype.from_dict({"patient": {"sex": "male", "age": 70, "symptoms": {"nyha": 2}, "rhythm": "sinus"},
                                "labs": [{"code": "nt_probnp", "value": 1200, "unit": "pg/mL", "time": "2024-05-01"}]},
                               source="facts file")
    flags = Phenotype.from_dict({"patient": {"sex": "female", "rhythm": "sinus"},
                                 "labs": [{"code": "nt_probnp", "value": 900, "unit": "ng/L"}]}, source="command line")
    ph = file.override(flags)
    assert ph.facts.sex == "female" and ph.facts.nyha == 2 and ph.facts.age == 70
    # the undated lab from the command line wins over the dated one of the file
    assert ph.value("nt_probnp") == 900.0 and [m.value for m in ph.history if m.code == "nt_probnp"] == [900.0]
    g = ph.given
    assert (g["sex"].source, g["sex"].replaced) == ("command line", (("male", "facts file"),))
    assert (g["rhythm"].source, g["rhythm"].replaced) == ("command line", ())  # the same value replaces nothing
    assert (g["nyha"].source, g["age"].source) == ("facts file", "facts file")
    assert g["nt_probnp"].replaced == ((1200.0, "facts file"),)
    # merge (not override): the dated lab stays the latest by time
    assert file.merge(flags).value("nt_probnp") == 1200.0


def test_bmi_made_again_from_the_merged_height_and_weight():
    a = Phenotype.from_dict({"patient": {"height_cm": 180, "weight_kg": 90}})
    b = Phenotype.from_dict({"patient": {"weight_kg": 81}})
    ph = a.merge(b)
    assert ph.value("bmi") == pytest.approx(81 / 1.8 ** 2) and ph.value("weight") == 81.0
    assert len([m for m in ph.history if m.code == "bmi"]) == 1


def test_options_layer_dicom_file_command_line():
    file_doc = {"schema": "heartprint.phenotype/1", "patient": {"sex": "female", "age": 70, "symptoms": {"nyha": 3}},
                "labs": [{"code": "nt_probnp", "value": 1200, "unit": "pg/mL"}]}
    flags = {"patient": {"rhythm": "af", "symptoms": {"heart_failure": True}},
             "labs": [{"code": "bnp", "value": 80, "unit": "ng/L"}]}
    o = AnalysisOptions(age_years=61, patient_facts=file_doc, entered_facts=flags)
    # sex from the file (no flag), age from the flag
    assert (o.sex, o.source_of("sex")) == ("female", "facts file")
    assert (o.age_years, o.source_of("age_years")) == (61.0, "command line")
    assert o.source_of("height_cm") == "command line"  # default: where the options came from
    dicom = PatientIdentity(sex=Provenanced("male", "DICOM"), age_years=Provenanced(61.0, "command line"),
                            height_cm=Provenanced(170.0, "DICOM"))
    ph = patient_facts(dicom, o.patient_facts, o)
    g = ph.given
    assert (g["sex"].value, g["sex"].source, g["sex"].replaced) == ("female", "facts file", (("male", "DICOM header"),))
    assert (g["age"].value, g["age"].source, g["age"].replaced) == (61.0, "command line", ((70.0, "facts file"),))
    assert (g["height_cm"].value, g["height_cm"].source) == (170.0, "DICOM header")
    assert (g["rhythm"].source, g["hf_symptoms"].source, g["nyha"].source) == ("command line", "command line", "facts file")
    assert ph.value("nt_probnp") == 1200.0 and ph.value("bnp") == 80.0
    # the bare patient object is still a facts file
    assert AnalysisOptions(patient_facts={"sex": "male"}).sex == "male"


@pytest.mark.parametrize("kw, words", [
    ({"patient_facts": {"patient": {}, "measurements": []}}, ["unknown key", "measurements", "heartprint interpret"]),
    ({"patient_facts": {"schema": "heartprint.study/2", "patient": {}}}, ["schema", "heartprint.phenotype/1"]),
    ({"patient_facts": {"labs": [{"code": "nt_probnp", "value": 1}]}}, ["nt_probnp=1", "no unit"]),
    ({"entered_facts": {"patient": {"symptoms": {"nyha": 0}}}}, ["patient.symptoms.nyha=0"]),
])
def test_options_reject_bad_facts(kw, words):
    with pytest.raises(InvalidInputError) as e:
        AnalysisOptions(**kw)
    for w in words:
        assert w in str(e.value)


# -- what the rules needed but were not told ------------------------------------------------------------


def test_summary_lists_declared_facts_not_given_and_drops_them_once_given():
    from heartprint.clinical._registry import RULES, Code, Fact
    from heartprint.concepts import CONCEPTS

    hf = RULES["hf_type"]
    lvef_only = Phenotype.from_dict({"measurements": [{"code": "lv_ef", "value": 30, "unit": "%"}]})
    unknown = {u.key: u for u in facts_summary(lvef_only).assumed_unknown}
    declared = {s.name for s in hf.inputs.values() if isinstance(s, Fact) and s.name != "findings"}
    declared |= {s.code for s in hf.inputs.values() if isinstance(s, Code) and CONCEPTS[s.code].kind != "imaging"}
    assert declared and declared <= set(unknown), declared - set(unknown)
    assert all("hf_type" in unknown[k].rules for k in declared)
    assert "symptomatic" in unknown and unknown["symptomatic"].name == "symptoms or signs of heart failure"
    # a rule whose domain the phenotype does not touch takes nothing
    assert not any("lake_louise" in u.rules for u in unknown.values())
    # nor one that requires an imaging measurement the phenotype lacks (the device rules need an LVEF)
    calcium = Phenotype.from_dict({"measurements": [{"code": "cac_agatston", "value": 10, "unit": "1"}]})
    rules = {r for u in facts_summary(calcium).assumed_unknown for r in u.rules}
    assert "lvef" in RULES["crt_indication"].required and "crt_indication" not in rules
    assert "crt_indication" in {r for u in unknown.values() for r in u.rules}
    given = lvef_only.override(Phenotype.from_dict({
        "patient": {"sex": "male", "age": 60, "symptoms": {"heart_failure": True}, "rhythm": "sinus"},
        "labs": {"nt_probnp": "900 pg/mL", "bnp": "200 pg/mL"}}, source="command line"))
    after = facts_summary(given)
    assert not any("hf_type" in u.rules for u in after.assumed_unknown), after.assumed_unknown
    assert {g.key for g in after.given} >= {"sex", "age", "hf_symptoms", "rhythm", "nt_probnp", "bnp"}
    assert not ({u.key for u in after.assumed_unknown} & {g.key for g in after.given})


def test_summary_derives_symptoms_and_says_contradictions():
    s = Phenotype.from_dict({"patient": {"symptoms": {"nyha": 2}}}).facts_summary()
    [d] = s.derived
    assert (d.key, d.value, d.source) == ("symptomatic", True, "derived from NYHA class II")
    s = Phenotype.from_dict({"patient": {"symptoms": {"heart_failure": False, "nyha": 3}}}).facts_summary()
    assert not s.derived and len(s.notes) == 1 and "NYHA class III" in s.notes[0] and "absent" in s.notes[0]
    s = Phenotype.from_dict({"patient": {"risk_factors": {"smoking": True}}}).facts_summary(
        [("risk_factors", "risk factors", "pretest_probability")])
    assert {u.key for u in s.assumed_unknown} == {"risk_factors.family_history_cad", "risk_factors.dyslipidaemia",
                                                 "risk_factors.hypertension", "risk_factors.diabetes"}


# -- JSON: study document, round trip -----------------------------------------------------------------


def _study(facts) -> StudyResult:
    r = StudyResult("/data/x", PatientIdentity(patient_id="P1", sex=Provenanced("female", "command line")),
                    StudyInfo("1.2.3.4.5", date(2024, 5, 1), "CMR", modalities=("MR",)), [])
    r.facts = facts
    return r


def test_study_document_carries_facts_and_validates_and_reads_back():
    ph = Phenotype.from_identity({"sex": {"value": "female", "source": "command line"}}).override(
        Phenotype.from_dict({"patient": {"symptoms": {"nyha": 3}, "qrs": {"duration_ms": 150, "morphology": "lbbb"},
                                         "risk_factors": {"smoking": True}, "findings": {"ecv_elevated": True}},
                             "labs": [{"code": "nt_probnp", "value": 141.6, "unit": "pmol/L", "time": "2024-04-01"}]},
                            source="facts file"))
    doc = json.loads(json.dumps(_study(facts_summary(ph)).to_dict()))
    validate_study_dict(doc)
    given = {g["key"]: g for g in doc["facts"]["given"]}
    assert given["sex"] == {"key": "sex", "name": "sex", "value": "female", "source": "command line"}
    assert given["nt_probnp"]["entered"] == "141.6 pmol/L" and given["nt_probnp"]["time"].startswith("2024-04-01")
    assert given["qrs_ms"]["unit"] == "ms" and given["risk_factors.smoking"]["value"] is True
    assert doc["facts"]["derived"][0]["key"] == "symptomatic"
    # heartprint interpret measurements.json: the facts, labs and sources come back
    back = Phenotype.from_dict({**doc, "series": []})
    assert (back.facts.sex, back.facts.nyha, back.facts.qrs_ms, back.facts.qrs_morphology) == ("female", 3, 150.0, "lbbb")
    assert back.facts.risk_factors.smoking is True and back.facts.findings == {"ecv_elevated": True}
    assert back.value("nt_probnp") == pytest.approx(141.6 * NT_PROBNP_PG_ML_PER_PMOL_L)
    assert back.latest("nt_probnp").time == datetime(2024, 4, 1)
    assert back.given["nyha"].source == "facts file" and back.given["sex"].source == "command line"
    bad = {**doc, "facts": {**doc["facts"], "given": [{"key": "favourite_colour", "value": "blue", "source": "x"}]}}
    with pytest.raises(InvalidInputError, match="favourite_colour"):
        Phenotype.from_dict({**bad, "series": []})


def test_schema_rejects_a_malformed_facts_block():
    doc = _study(None).to_dict()
    doc["facts"] = {"given": [{"key": "sex", "value": "female"}], "derived": [], "assumed_unknown": [], "notes": []}
    with pytest.raises(InvalidInputError, match="facts"):
        validate_study_dict(doc)


# -- the report ------------------------------------------------------------------------------------


def test_report_section_lists_given_facts_with_sources_and_the_unknown(tmp_path):
    from heartprint.report import build_report, render_report

    ph = Phenotype.from_identity({"sex": {"value": "male", "source": "DICOM"},
                                  "age_years": {"value": 58, "source": "DICOM"}}).override(
        Phenotype.from_dict({"patient": {"sex": "female", "symptoms": {"nyha": 2}},
                             "labs": {"nt_probnp": "141.6 pmol/L"}}, source="facts file")).override(
        Phenotype.from_dict({"patient": {"rhythm": "af"}}, source="command line"))
    summary = ph.facts_summary([("rhythm", "rhythm", "hf_type"), ("months_omt", "months of OMT", "crt_indication"),
                                ("qrs_morphology", "QRS morphology", "crt_indication"),
                                ("findings.ecv_elevated", "ecv elevated", "lake_louise")])
    sec = build_report(_study(summary), figures=False)["patient_facts"]
    rows = {g["name"]: g for g in sec["given"]}
    assert rows["Sex"]["value"] == "female" and rows["Sex"]["source"] == "facts file"
    assert rows["Sex"]["note"] == "replaces male from the DICOM header"
    assert rows["Age"]["value"] == "58 years" and rows["Age"]["source"] == "DICOM header"
    assert rows["NYHA class"]["value"] == "II"
    assert rows["Heart rhythm"]["value"] == "atrial fibrillation" and rows["Heart rhythm"]["source"] == "command line"
    assert rows["NT-proBNP"]["value"] == "1198 pg/mL" and rows["NT-proBNP"]["note"] == "entered as 141.6 pmol/L"
    assert sec["unknown"] == ["Months on optimal medical therapy for heart failure", "QRS morphology"]
    assert sec["unknown_findings"] == ["ECV elevated"]
    assert sec["derived"] == [{"name": "Symptoms or signs of heart failure", "value": "yes",
                               "source": "derived from NYHA class II"}]
    html = render_report(_study(summary), tmp_path, figures=False, pdf=False).html.read_text(encoding="utf-8")
    part = html[html.index('<section id="patient-facts">'): html.index("</section>", html.index('id="patient-facts"'))]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", part))
    for words in ("Patient facts", "Sex female facts file", "replaces male from the DICOM header",
                  "Not given (assumed unknown)", "Months on optimal medical therapy for heart failure; QRS morphology",
                  "Symptoms or signs of heart failure: yes (derived from NYHA class II)",
                  "Imaging findings not stated (assumed unknown) ECV elevated."):
        assert words in text, (words, text)
    for bad in ("_", "None", "{", "[", "hf_type", "GivenFact", ".json"):
        assert bad not in text, (bad, text)


def test_report_without_facts_has_no_section(tmp_path):
    from heartprint.report import build_report

    assert build_report(_study(None), figures=False)["patient_facts"]["shown"] is False


# -- interpret: the flags ------------------------------------------------------------------------------


@pytest.fixture
def facts_file(tmp_path):
    p = tmp_path / "facts.json"
    p.write_text(json.dumps({"schema": "heartprint.phenotype/1", "patient": {"sex": "male", "age": 70},
                             "labs": [{"code": "nt_probnp", "value": 2000, "unit": "pg/mL", "time": "2024-01-01"}],
                             "measurements": [{"code": "lv_ef", "value": 60, "unit": "%"}]}))
    return p


@pytest.mark.parametrize("argv, words", [
    (["--lab", "nt_probnp=1200"], ["--lab nt_probnp=1200", "no unit", "pg/mL", "pmol/L"]),
    (["--lab", "nt_probnp"], ["--lab 'nt_probnp'", "NAME=VALUE UNIT"]),
    (["--lab", "nt_probnp=lots pg/mL"], ["--lab nt_probnp='lots pg/mL'", "expected a number"]),
    (["--lab", "troponin=5ng/L"], ["'troponin' is not a lab", "bnp", "nt_probnp"]),
    (["--lab", "bnp=5 mmol/L"], ["--lab bnp=5.0 mmol/L", "unit not accepted", "pmol/L"]),
    (["--lab", "bnp=20000pg/mL"], ["--lab bnp=20000.0 pg/mL", "0–10000 pg/mL"]),
    (["--lab", "bnp=80ng/L", "--lab", "BNP=90 ng/L"], ["--lab bnp is given twice", "'bnp=80ng/L'", "'BNP=90 ng/L'"]),
    (["--qrs-ms", "1200"], ["--qrs-ms 1200", "40–300 ms"]),
    (["--age", "130"], ["--age 130", "0–120"]),
    (["--height-cm", "1.75"], ["--height-cm 1.75", "50–250 cm"]),
    (["--nyha", "5"], ["--nyha", "invalid choice"]),
    (["--rhythm", "flutter"], ["--rhythm", "invalid choice"]),
    (["--qrs-morphology", "ivcd"], ["--qrs-morphology", "invalid choice"]),
    (["--symptoms", "maybe"], ["--symptoms", "invalid choice"]),
])
def test_interpret_bad_flags_exit_2_with_one_clear_line(facts_file, capsys, argv, words):
    assert main(["interpret", str(facts_file), "--json", *argv]) == 2
    cap = capsys.readouterr()
    assert cap.out == "" and cap.err.startswith("heartprint: error: ") and cap.err.count("\n") == 1, cap.err
    for w in words:
        assert w in cap.err, (w, cap.err)

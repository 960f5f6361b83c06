"""``heartprint analyze``: batches of patients and studies, batch.json, exit status, validation
before any work, and terminal progress.

Data: the small phantom patient (``write_demo_patient(..., n_phases=10)``: a CMR study with cine,
LGE and T1, and a calcium CT study) twice, the second with another seed and its Patient ID and
name rewritten, in one folder. The two-patient batch is analysed once per module (~40 s on 2
cores); the other cases use the CT study alone (no segmentation; well under a second) or stop
before any analysis.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
import time
from pathlib import Path

import pytest

from heartprint.cli import main

pydicom = pytest.importorskip("pydicom")

OTHER_ID, OTHER_NAME = "HP-OTHER-0002", "PHANTOM^OTHER"


class _FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(scope="module")
def patients(tmp_path_factory, demo_patient_dicom):
    """A folder with two patients (each a CMR and a CT study); their truths."""
    import shutil

    from heartprint.phantoms import write_demo_patient

    root = tmp_path_factory.mktemp("batch")
    shutil.copytree(demo_patient_dicom[0], root / "a")
    truth_a = demo_patient_dicom[1]
    _, truth_b = write_demo_patient(root / "b", seed=1, n_phases=4, spect=False)  # 4 phases: enough for ED/ES
    for f in (root / "b").rglob("*.dcm"):
        ds = pydicom.dcmread(f)
        ds.PatientID, ds.PatientName = OTHER_ID, OTHER_NAME
        ds.save_as(f)
    return root, truth_a, truth_b


@pytest.fixture(scope="module")
def batch(patients, tmp_path_factory):
    """``heartprint analyze <folder of two patients> --out DIR`` with stderr a (fake) terminal."""
    root, truth_a, truth_b = patients
    out = tmp_path_factory.mktemp("out") / "results"
    stdout, stderr = io.StringIO(), _FakeTTY()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["analyze", str(root), "--out", str(out), "--no-tta", "--no-report"])
    doc = json.loads((out / "batch.json").read_text())
    return {"code": code, "out": out, "batch": doc, "stdout": stdout.getvalue(), "stderr": stderr.getvalue(),
            "truth": {truth_a["patient"]["patient_id"]: truth_a, OTHER_ID: truth_b}}


def test_two_patients_each_study_its_own_folder(batch):
    assert batch["code"] == 0, batch["batch"]
    entries = batch["batch"]["studies"]
    assert batch["batch"]["status"] == "ok" and batch["batch"]["counts"] == {"ok": 4, "partial": 0, "failed": 0}
    assert len(entries) == 4  # 2 patients x (CMR + CT)
    assert sorted(e["patient_id"] for e in entries) == sorted(["HP-DEMO-0001", "HP-DEMO-0001", OTHER_ID, OTHER_ID])
    assert len({e["output"] for e in entries}) == 4 and len({e["folder"] for e in entries}) == 4
    by_uid = {e["study_uid"]: e for e in entries}
    for pid, truth in batch["truth"].items():
        cmr, ct = truth["cine"]["study_uid"], truth["ct_calcium"]["study_uid"]
        assert by_uid[cmr]["series"] == {"total": 3, "analysed": 3, "failed": 0, "not_analysed": 0}
        assert by_uid[ct]["series"] == {"total": 1, "analysed": 1, "failed": 0, "not_analysed": 0}
        assert by_uid[cmr]["patient_id"] == by_uid[ct]["patient_id"] == pid
        assert by_uid[cmr]["study_date"] and by_uid[cmr]["errors"] == []
    for e in entries:
        folder = Path(e["output"])
        assert folder.parent == batch["out"] and folder.name == e["folder"]
        doc = json.loads((folder / "measurements.json").read_text())
        assert doc["patient"]["patient_id"] == e["patient_id"]
        assert doc["study"]["study_uid"] == e["study_uid"] and doc["status"] == "ok"


def test_history_never_names_another_patients_study(batch):
    entries = batch["batch"]["studies"]
    studies_of = {pid: {e["study_uid"] for e in entries if e["patient_id"] == pid} for pid in batch["truth"]}
    for e in entries:
        doc = json.loads((Path(e["output"]) / "measurements.json").read_text())
        history = {h["study_uid"] for h in doc["history"]}
        assert history <= studies_of[e["patient_id"]] - {e["study_uid"]}, (e["patient_id"], history)
    for pid, truth in batch["truth"].items():
        [cmr] = [e for e in entries if e["study_uid"] == truth["cine"]["study_uid"]]
        assert cmr["history"] == [truth["ct_calcium"]["study_uid"]]  # its own CT study, nothing else


def test_summary_names_patient_date_and_headline_values(batch):
    out = batch["stdout"]
    for pid in batch["truth"]:
        assert f"patient {pid}" in out
    for e in batch["batch"]["studies"]:
        assert f"study {e['study_date']}" in out
    # concept names and values, from the typed results
    assert "LV ejection fraction" in out and "Coronary artery calcium score (Agatston)" in out
    assert "Myocardial native T1" in out
    assert "4 studies: 4 ok, 0 partial, 0 failed" in out
    # each study says what the rules found (present findings, in plain words) or that none is present
    assert out.count("  findings:") == 4, out
    assert not re.search(r"findings:.*\{'|Finding\(", out)


def test_progress_on_a_terminal(batch):
    err = batch["stderr"]
    for stage in ("found 8 series in 4 studies", "loaded cine_sax", "segmented cine_sax", "analysed cine_sax",
                  "analysed ct_calcium", "written "):
        assert stage in err, (stage, err[:2000])
    assert "Traceback" not in err


# -- one study, fast (CT only) ---------------------------------------------------------------


@pytest.fixture
def ct_study(patients):
    root, truth, _ = patients
    return root / "a" / "ct", truth


def test_all_series_failed_is_a_failed_study_and_nonzero_exit(ct_study, tmp_path, capsys):
    folder, truth = ct_study
    uid = truth["ct_calcium"]["series_uid"]
    code = main(["analyze", str(folder), "--kind", f"{uid}=cine_sax", "--out", str(tmp_path / "o"), "--no-report"])
    assert code == 1
    batch = json.loads((tmp_path / "o" / "batch.json").read_text())
    assert batch["status"] == "failed" and batch["counts"]["failed"] == 1
    [e] = batch["studies"]
    assert e["status"] == "failed" and e["series"] == {"total": 1, "analysed": 0, "failed": 1, "not_analysed": 0}
    assert e["errors"] and "single phase" in e["errors"][0]
    doc = json.loads((Path(e["output"]) / "measurements.json").read_text())
    assert doc["status"] == "failed" and doc["series"][0]["status"] == "failed"
    assert "1 study: 0 ok, 0 partial, 1 failed" in capsys.readouterr().out


def test_unreadable_input_is_a_failed_entry_and_the_batch_goes_on(ct_study, tmp_path, capsys):
    folder, truth = ct_study
    empty = tmp_path / "not-a-study"
    empty.mkdir()
    (empty / "notes.txt").write_text("not DICOM")
    code = main(["analyze", str(empty), str(folder), "--out", str(tmp_path / "o"), "--no-report", "--quiet"])
    assert code == 1
    batch = json.loads((tmp_path / "o" / "batch.json").read_text())
    assert [e["status"] for e in batch["studies"]] == ["failed", "ok"]
    assert batch["status"] == "partial"
    bad, good = batch["studies"]
    assert bad["input"] == str(empty) and "no readable DICOM" in bad["errors"][0] and bad["output"] is None
    assert good["study_uid"] == truth["ct_calcium"]["study_uid"] and Path(good["output"]).is_dir()
    cap = capsys.readouterr()
    assert cap.out == "" and cap.err.count("\n") == 1 and cap.err.startswith("heartprint: error: ")


def test_json_is_pure_and_no_progress_even_on_a_terminal(ct_study, tmp_path, capsys, monkeypatch):
    folder, truth = ct_study
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code = main(["analyze", str(folder), "--json", "--out", str(tmp_path / "o"), "--no-report"])
    cap = capsys.readouterr()
    assert code == 0
    doc = json.loads(cap.out)  # nothing but the JSON document on stdout
    assert doc["status"] == "ok" and doc["studies"][0]["study_uid"] == truth["ct_calcium"]["study_uid"]
    assert doc["results"][0]["schema"] == "heartprint.study/2"
    assert doc["results"][0]["patient"]["patient_id"] == truth["patient"]["patient_id"]
    assert cap.err == ""


def test_quiet_shows_no_progress_on_a_terminal(ct_study, tmp_path, capsys, monkeypatch):
    folder, _ = ct_study
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(["analyze", str(folder), "--quiet", "--out", str(tmp_path / "o"), "--no-report"]) == 0
    cap = capsys.readouterr()
    assert cap.err == "" and cap.out == ""


def test_progress_stages_on_a_terminal(ct_study, tmp_path, capsys, monkeypatch):
    folder, _ = ct_study
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(["analyze", str(folder), "--out", str(tmp_path / "o"), "--no-report"]) == 0
    err = capsys.readouterr().err
    for stage in ("found 1 series in 1 study", "loaded ct_calcium", "analysed ct_calcium", "written "):
        assert stage in err, (stage, err)


def test_no_progress_when_not_a_terminal(ct_study, tmp_path, capsys):
    folder, _ = ct_study
    assert main(["analyze", str(folder), "--out", str(tmp_path / "o"), "--no-report"]) == 0
    assert capsys.readouterr().err == ""


def test_patient_values_from_command_line_and_facts(ct_study, tmp_path, capsys):
    folder, _ = ct_study
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps({"schema": "heartprint.phenotype/1",
                                 "patient": {"risk_factors": {"smoking": True}, "symptoms": {"chest_pain": "typical"}}}))
    code = main(["analyze", str(folder), "--out", str(tmp_path / "o"), "--no-report", "--quiet", "--sex", "female",
                 "--age", "61", "--height-cm", "165", "--weight-kg", "70", "--facts", str(facts)])
    assert code == 0
    [e] = json.loads((tmp_path / "o" / "batch.json").read_text())["studies"]
    doc = json.loads((Path(e["output"]) / "measurements.json").read_text())
    p = doc["patient"]
    assert p["sex"] == {"value": "female", "source": "command line"}
    assert p["age_years"] == {"value": 61.0, "source": "command line"}
    assert p["height_cm"]["source"] == p["weight_kg"]["source"] == "command line"
    assert doc["interpretation"].get("status") != "failed"
    given = {g["key"]: g for g in doc["facts"]["given"]}
    assert given["risk_factors.smoking"]["source"] == "facts file" and given["chest_pain"]["value"] == "typical"
    assert given["sex"]["source"] == given["age"]["source"] == "command line"


def test_facts_file_with_labs_and_flags_end_to_end(ct_study, tmp_path, capsys):
    """A facts file with patient facts and (dated) labs, and flags: the flags win and the outputs
    say which value each replaced; the file's sex, not given as a flag, replaces the DICOM
    header's; the labs reach the rules; measurements.json validates and reads back into
    ``heartprint interpret`` with its sources."""
    from heartprint.units import NT_PROBNP_PG_ML_PER_PMOL_L

    folder, _ = ct_study
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps({"schema": "heartprint.phenotype/1",
                                 "patient": {"sex": "female", "age": 70, "symptoms": {"nyha": 2}, "rhythm": "sinus"},
                                 "labs": [{"code": "nt_probnp", "value": 1200, "unit": "pg/mL", "time": "2024-01-01"},
                                          {"code": "haematocrit", "value": 0.42, "unit": "L/L"}]}))
    code = main(["analyze", str(folder), "--out", str(tmp_path / "o"), "--no-report", "--facts", str(facts),
                 "--age", "61", "--rhythm", "af", "--qrs-ms", "150", "--qrs-morphology", "lbbb",
                 "--lab", "nt_probnp=141.6pmol/L"])
    assert code == 0
    summary = capsys.readouterr().out
    assert "patient facts given:" in summary and "not given (assumed unknown):" in summary
    assert "heart rhythm: atrial fibrillation (command line; replaces sinus rhythm from the facts file)" in summary
    [e] = json.loads((tmp_path / "o" / "batch.json").read_text())["studies"]
    path = Path(e["output"]) / "measurements.json"
    doc = json.loads(path.read_text())  # written only after validating against study-2.schema.json
    assert doc["patient"]["sex"] == {"value": "female", "source": "facts file"}
    assert doc["patient"]["age_years"] == {"value": 61.0, "source": "command line"}
    given = {g["key"]: g for g in doc["facts"]["given"]}
    assert given["age"]["replaced"] == [{"value": 70.0, "source": "facts file"}]
    assert given["sex"]["source"] == "facts file"
    assert (given["nyha"]["value"], given["nyha"]["source"]) == (2, "facts file")
    assert given["rhythm"] == {"key": "rhythm", "name": "heart rhythm", "value": "af", "source": "command line",
                               "replaced": [{"value": "sinus", "source": "facts file"}]}
    assert (given["qrs_ms"]["value"], given["qrs_morphology"]["value"]) == (150.0, "lbbb")
    nt = given["nt_probnp"]
    assert nt["value"] == pytest.approx(141.6 * NT_PROBNP_PG_ML_PER_PMOL_L) and nt["source"] == "command line"
    assert nt["replaced"] == [{"value": 1200.0, "source": "facts file"}] and nt["entered"] == "141.6 pmol/L"
    assert given["haematocrit"]["value"] == pytest.approx(42.0) and given["haematocrit"]["source"] == "facts file"
    assert doc["facts"]["derived"] == [{"key": "symptomatic", "name": "symptoms or signs of heart failure",
                                        "value": True, "source": "derived from NYHA class II"}]
    unknown = {u["key"] for u in doc["facts"]["assumed_unknown"]}
    assert unknown and not unknown & set(given)
    interp = {m["code"]: m for m in doc["interpretation"]["measurements"]}
    assert interp["nt_probnp"]["value"] == pytest.approx(nt["value"]) and interp["nt_probnp"]["source"] == "entered"
    assert interp["qrs_duration"]["value"] == 150.0
    # heartprint interpret measurements.json: the facts come back with their sources
    assert main(["interpret", "--json", str(path)]) == 0
    again = {g["key"]: g for g in json.loads(capsys.readouterr().out)["facts"]["given"]}
    for key in ("sex", "age", "nyha", "rhythm", "nt_probnp", "haematocrit", "qrs_ms"):
        before, after = given[key]["value"], again[key]["value"]
        assert (after == pytest.approx(before) if isinstance(before, float) else after == before), key
        assert again[key]["source"] == given[key]["source"], key


# -- bad arguments: one line, exit 2, before any work -----------------------------------------


@pytest.fixture
def no_analysis(monkeypatch):
    """Fail the test if the pipeline is ever asked to analyse."""
    import heartprint.pipeline as pipeline

    def boom(*a, **k):
        raise AssertionError("analysis started although an argument was bad")

    monkeypatch.setattr(pipeline, "analyze", boom)


def _one_line_error(capsys) -> str:
    cap = capsys.readouterr()
    assert cap.out == ""
    assert cap.err.startswith("heartprint: error: ") and cap.err.count("\n") == 1, cap.err
    assert "Traceback" not in cap.err
    return cap.err


@pytest.mark.parametrize("argv, words", [
    (["--kind", "1.2.3=bogus"], ["bogus", "not a series kind"]),
    (["--kind", "no-equals-sign"], ["--kind", "SERIES_UID=KIND"]),
    (["--height-cm", "1750"], ["--height-cm", "50–250 cm"]),
    (["--weight-kg", "0.5"], ["--weight-kg"]),
    (["--age", "130"], ["--age"]),
    (["--age", "old"], ["--age", "invalid float"]),
    (["--sex", "x"], ["--sex", "invalid choice"]),
    (["--lab", "nt_probnp=1200"], ["--lab nt_probnp=1200", "no unit", "pg/mL", "ng/L", "pmol/L"]),
    (["--lab", "troponin=5ng/L"], ["--lab", "'troponin' is not a lab", "bnp", "nt_probnp", "haematocrit"]),
    (["--qrs-ms", "0.12"], ["--qrs-ms 0.12", "40–300 ms"]),
    (["--nyha", "0"], ["--nyha", "invalid choice"]),
    (["--symptoms", "maybe"], ["--symptoms", "invalid choice"]),
])
def test_bad_option_exits_2_before_any_analysis(ct_study, tmp_path, capsys, no_analysis, argv, words):
    folder, _ = ct_study
    t0 = time.perf_counter()
    code = main(["analyze", str(folder), "--out", str(tmp_path / "o"), *argv])
    assert code == 2 and time.perf_counter() - t0 < 5.0  # seconds: stopped before any analysis
    err = _one_line_error(capsys)
    for w in words:
        assert w in err, (w, err)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("facts, words", [
    ({"patient": {"height": {"value": 1750, "unit": "cm"}}}, ["--facts", "patient.height"]),
    ({"patient": {"favourite_colour": "blue"}}, ["--facts", "favourite_colour"]),
    ({"sex": "unknown-sex"}, ["--facts", "sex"]),
    ({"patient": {}, "measurements": []}, ["--facts", "measurements", "heartprint interpret"]),
    ({"labs": [{"code": "nt_probnp", "value": 1200}]}, ["--facts", "labs[0] nt_probnp=1200", "no unit", "pg/mL"]),
    ({"labs": {"troponin": {"value": 5, "unit": "ng/L"}}}, ["--facts", "'troponin' is not a lab", "nt_probnp"]),
    ({"patient": {"symptoms": {"heart_failure": "maybe"}}}, ["--facts", "patient.symptoms.heart_failure='maybe'"]),
    ({"patient": {"symptoms": {"nyha": True}}}, ["--facts", "patient.symptoms.nyha=True", "whole number"]),
    ("[1, 2", ["--facts", "not valid JSON"]),
])
def test_bad_facts_file_exits_2_before_any_analysis(ct_study, tmp_path, capsys, no_analysis, facts, words):
    folder, _ = ct_study
    path = tmp_path / "facts.json"
    path.write_text(facts if isinstance(facts, str) else json.dumps(facts))
    assert main(["analyze", str(folder), "--facts", str(path)]) == 2
    err = _one_line_error(capsys)
    for w in words:
        assert w in err, (w, err)


def test_missing_study_path_exits_2_before_any_analysis(ct_study, tmp_path, capsys, no_analysis):
    folder, _ = ct_study
    assert main(["analyze", str(folder), str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    err = _one_line_error(capsys)
    assert "missing" in err
    assert main(["analyze", str(folder), "--facts", str(tmp_path / "nope.json")]) == 2
    assert "nope.json" in _one_line_error(capsys)


def test_kind_override_takes_effect(ct_study, tmp_path, capsys):
    """A valid --kind reaches the pipeline (the contrast case of the bogus kind above)."""
    folder, truth = ct_study
    uid = truth["ct_calcium"]["series_uid"]
    assert main(["analyze", str(folder), "--kind", f"{uid}=other", "--out", str(tmp_path / "o"), "--quiet",
                 "--no-report"]) == 1
    [e] = json.loads((tmp_path / "o" / "batch.json").read_text())["studies"]
    assert e["series"] == {"total": 1, "analysed": 0, "failed": 0, "not_analysed": 1} and e["status"] == "failed"


def test_outputs_not_written_is_a_failed_entry_and_exit_1(ct_study, tmp_path, capsys, monkeypatch):
    """A study whose outputs cannot be written is failed in batch.json; the error is one line."""
    import heartprint.outputs as outputs

    def refuse(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(outputs, "write_study_outputs", refuse)
    folder, truth = ct_study
    assert main(["analyze", str(folder), "--out", str(tmp_path / "o"), "--no-report", "--quiet"]) == 1
    [e] = json.loads((tmp_path / "o" / "batch.json").read_text())["studies"]
    assert e["status"] == "failed" and e["output"] is None and e["folder"]
    assert e["study_uid"] == truth["ct_calcium"]["study_uid"]
    assert any("outputs not written" in m and "OSError: disk full" in m for m in e["errors"]), e["errors"]
    err = _one_line_error(capsys)
    assert "outputs not written" in err and "disk full" in err


def test_calcium_contrast_override_reaches_the_options(monkeypatch, tmp_path):
    """``--calcium-allow-contrast`` is the analyser option (default: refuse enhanced CT)."""
    import heartprint.cli as cli
    import heartprint.pipeline as pipeline

    seen = []

    def fake_analyze(paths, options, progress=None):
        seen.append(options.calcium_allow_contrast)
        return []

    monkeypatch.setattr(pipeline, "analyze", fake_analyze)
    (tmp_path / "in").mkdir()
    for extra in ([], ["--calcium-allow-contrast"]):
        cli.main(["analyze", str(tmp_path / "in"), "--out", str(tmp_path / f"out{len(extra)}"), "--no-report", *extra])
    assert seen == [False, True]

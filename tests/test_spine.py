"""The joints of issue 15: typed results, analysers declared by their modality packages, one
patient per result, identity in every output, the shipped JSON Schema — end to end on real
ACDC cine studies wrapped as DICOM (skipped with a reason when ../shared/data is absent)."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from heartprint.errors import InvalidInputError
from heartprint.io.classify import SeriesKind
from heartprint.pipeline import MODALITY_PACKAGES, AnalysisOptions, analysers, analyze, analyze_study
from heartprint.results import STUDY_SCHEMA, study_schema, validate_study_dict

import _acdc

ACDC_VAL = _acdc.ACDC_VAL
SRC = Path(__file__).resolve().parents[1] / "src" / "heartprint"
KINDS = {k.value for k in SeriesKind}


# -- analysers -----------------------------------------------------------------------------------


def test_analysers_come_from_the_modality_packages_in_need_order():
    found = analysers()
    kinds = [a.kind for a in found]
    assert len(kinds) == len(set(kinds)) and set(kinds) <= KINDS
    assert {"cine_sax", "lge", "t1_map", "ct_calcium"} <= set(kinds)
    for i, a in enumerate(found):
        assert set(a.needs) <= set(kinds[:i]), f"{a.kind} runs before what it needs"
        assert a.section in {"function", "ischaemia", "tissue", "coronary"} and a.title
    from heartprint.concepts import CONCEPTS

    emitted = {c for a in found for c in a.emits}
    # every emitted code is a concept or one of the series-only codes stored as they are
    unknown = sorted(c for c in emitted if c not in CONCEPTS)
    assert unknown == sorted({"lge_scar_volume", "lge_scar_mass", "lge_mvo_volume", "lge_segment_extent",
                              "t1_blood"}), unknown
    assert MODALITY_PACKAGES == ("heartprint.cmr", "heartprint.ct", "heartprint.nuclear", "heartprint.echo")
    assert {"nm_perfusion_stress", "nm_perfusion_rest", "nm_perfusion"} <= set(kinds)


def test_circular_or_missing_needs_are_refused(monkeypatch):
    import heartprint.cmr as cmr
    import heartprint.pipeline as pipeline
    from dataclasses import replace

    monkeypatch.setattr(cmr, "ANALYSERS", tuple(replace(a, needs=("lge",)) if a.kind == "cine_sax" else a
                                                 for a in cmr.ANALYSERS))
    pipeline.analysers.cache_clear()
    try:
        with pytest.raises(Exception, match="circular"):
            pipeline.analysers()
    finally:
        monkeypatch.undo()
        pipeline.analysers.cache_clear()


#: Calls whose ``kind=`` is another vocabulary: a concept's kind (imaging, lab, ecg, anthropometric)
#: and NumPy's sort kind.
_NOT_SERIES_KIND_CALLS = {"Concept", "argsort", "sort"}
#: ``Concept.kind`` values compared in the concept and clinical modules.
_CONCEPT_KINDS = {"imaging", "lab", "ecg", "anthropometric"}


def _kind_literals(tree: ast.AST) -> list[tuple[int, str]]:
    """String constants used as series kinds: compared with a name/attribute called ``kind``
    (``kind == "x"``, ``kind in ("x", ...)``), passed as ``kind="x"``, or keys/values of a
    mapping whose name mentions KIND."""
    out: list[tuple[int, str]] = []

    def consts(node: ast.AST) -> list[tuple[int, str]]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [(node.lineno, node.value)]
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return [c for e in node.elts for c in consts(e)]
        return []

    def is_kind(node: ast.AST) -> bool:
        if isinstance(node, ast.Name):
            return node.id == "kind"
        # ``arr.dtype.kind`` is NumPy's dtype kind, not a series kind
        return isinstance(node, ast.Attribute) and node.attr == "kind" and not (
            isinstance(node.value, ast.Attribute) and node.value.attr == "dtype")

    def callee(node: ast.AST) -> str:
        f = getattr(node, "func", None)
        return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""

    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and (is_kind(node.left) or any(is_kind(c) for c in node.comparators)):
            for side in (node.left, *node.comparators):
                out += consts(side)
        elif isinstance(node, ast.Call) and callee(node) not in _NOT_SERIES_KIND_CALLS:
            for kw in node.keywords:
                if kw.arg == "kind":
                    out += consts(kw.value)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and "KIND" in t.id.upper() and "KINDS" not in t.id.upper() for t in targets) \
                    and isinstance(node.value, ast.Dict):
                for k in node.value.keys:
                    if k is not None:
                        out += consts(k)
    return out


def test_no_module_names_a_kind_that_is_not_a_series_kind():
    """A kind named anywhere in the package (compared, passed as ``kind=``, or a kind table) must
    be a real :class:`SeriesKind` — a table naming "ccta" or "cac" is how kinds drifted apart."""
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        for line, value in _kind_literals(ast.parse(path.read_text(), str(path))):
            if value not in KINDS | _CONCEPT_KINDS and value not in ("straight", "arc"):  # vessel-path kinds
                bad.append(f"{path.relative_to(SRC)}:{line}: {value!r}")
    assert not bad, "kinds that are not series kinds:\n" + "\n".join(bad)


def test_the_kind_scan_can_fail():
    tree = ast.parse('KIND_SECTION = {"ccta": "coronary"}\nif s.kind == "cac": pass\nImage(a, kind="spect")')
    assert sorted(v for _, v in _kind_literals(tree)) == ["cac", "ccta", "spect"]


def test_no_other_module_keeps_a_kind_table():
    """Phenotype, report and CLI read kinds from the analysers; no ``*KIND*`` table elsewhere."""
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith("io/classify") or rel.endswith("_analysers.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    if isinstance(t, ast.Name) and re.search(r"KIND", t.id) and isinstance(node.value, ast.Dict):
                        offenders.append(f"{rel}: {t.id}")
    assert not offenders, offenders


# -- options ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kw, match", [
    ({"height_cm": 1750}, "height_cm=1750"), ({"weight_kg": 0}, "weight_kg=0"), ({"age_years": 130}, "age=130"),
    ({"sex": "unknown"}, "sex="), ({"kind_overrides": {"1.2.3": "bogus"}}, "'bogus' is not a series kind"),
    ({"patient_facts": {"nyha": 7}}, "nyha"),
])
def test_options_are_checked_before_any_work(kw, match):
    with pytest.raises(InvalidInputError, match=match):
        AnalysisOptions(**kw)


def test_options_keep_valid_values():
    o = AnalysisOptions(height_cm=180, weight_kg=80, sex="F", age_years=61)
    assert (o.height_cm, o.weight_kg, o.sex, o.age_years) == (180.0, 80.0, "female", 61.0)


# -- real ACDC studies wrapped as DICOM ---------------------------------------------------------


def _write_acdc_patient(folder: Path, patient: str, *, patient_id: str, name: str, sex: str, age: str) -> None:
    _acdc.write_dicom(folder, patient, patient_id=patient_id, name=name, sex=sex, age=age, height_m=1.70, weight_kg=72.0)


@pytest.fixture(scope="module")
def two_patients(tmp_path_factory):
    if not (ACDC_VAL / "patient039_frame01.h5").is_file():
        pytest.skip(f"ACDC validation stacks not found in {ACDC_VAL} (real-data test)")
    pytest.importorskip("h5py")
    root = tmp_path_factory.mktemp("acdc") / "folder"
    root.mkdir()
    _write_acdc_patient(root / "a", "039", patient_id="ACDC-039", name="HYPERTROPHY^HANNA", sex="F", age="054Y")
    _write_acdc_patient(root / "b", "019", patient_id="ACDC-019", name="DILATED^DAVID", sex="M", age="061Y")
    results = analyze(root, AnalysisOptions(tta=False))
    return root, results


@pytest.mark.slow
def test_a_folder_of_two_patients_gives_two_results(two_patients):
    root, results = two_patients
    assert len(results) == 2
    by_id = {r.patient.patient_id: r for r in results}
    assert set(by_id) == {"ACDC-039", "ACDC-019"}
    for pid, r in by_id.items():
        assert r.status == "ok", [(s.kind, s.status, s.message) for s in r.series]
        assert r.history == []  # the other study is another patient's: never history
        assert {m.source for m in r.measurements()} == {r.series[0].series_uid}
    assert by_id["ACDC-039"].patient.sex.value == "female" and by_id["ACDC-039"].patient.sex.source == "DICOM"
    assert by_id["ACDC-019"].patient.age_years.value == 61
    # the interpretations are each patient's own: LVEF of one never appears in the other's
    for r in results:
        ef = r.analysed("cine_sax")[0].global_values()["lv_ef"]
        text = json.dumps(r.interpretation.to_dict())
        assert "previous_lvef" not in text
        other = [o for o in results if o is not r][0].analysed("cine_sax")[0].global_values()["lv_ef"]
        assert round(other, 4) != round(ef, 4)


@pytest.mark.slow
def test_measured_wall_thickness_reaches_the_hcm_rule(two_patients):
    _, results = two_patients
    hcm = next(r for r in results if r.patient.patient_id == "ACDC-039")
    mwt = hcm.analysed("cine_sax")[0].global_values()["lv_max_wall_thickness"]
    doc = hcm.interpretation.to_dict()
    items = [f for f in doc["findings"] + doc["not_assessable"] if "hcm" in f["code"] or "hcm" in f["rule"]]
    assert items, "the HCM rule did not run although wall thickness was measured"
    for f in items:
        assert "maximal LV wall thickness" not in " ".join(f.get("missing") or []), f
    assert any(abs(float(v["value"]) - mwt) < 0.01 for f in items for v in (f.get("inputs") or {}).values()
               if isinstance(v, dict) and "value" in v and isinstance(v["value"], (int, float))), items


@pytest.mark.slow
def test_outputs_carry_identity_and_validate(two_patients, tmp_path):
    from heartprint.outputs import study_folder_name, write_study_outputs

    _, results = two_patients
    used: set[str] = set()
    for r in results:
        written = write_study_outputs(r, tmp_path / study_folder_name(r, used))
        doc = json.loads((written.path / "measurements.json").read_text())
        validate_study_dict(doc)
        assert doc["patient"]["patient_id"] == r.patient.patient_id and doc["status"] == "ok"
        # issue 18 on a real study: the per-slice valve-plane decisions and the agreement of the network's
        # passes reach measurements.json; the label file written is what was measured
        [cine] = [s for s in doc["series"] if s["kind"] == "cine_sax"]
        assert cine["figure_data"]["coverage"]["slice_decisions"]
        quality = cine["details"]["quality"]  # this run has test-time augmentation off: one pass, nothing to compare
        assert quality["score_ef_range_points"] is None and quality["passes"] == [] and "not scored" in quality["method"]
        [series] = r.analysed("cine_sax")
        lv_ed = int((series.labels.array[series.figure_data["phases"]["lv_ed"]] == 1).sum())
        assert lv_ed * series.image.voxel_volume_mm3 / 1000 == pytest.approx(series.global_values()["lv_edv"])
        # FHIR: one Patient, every Observation and the report have it as subject
        bundle = json.loads((written.path / "fhir_bundle.json").read_text())
        patients = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
        assert len(patients) == 1 and patients[0]["resource"]["identifier"][0]["value"] == r.patient.patient_id
        ref = patients[0]["fullUrl"]
        for e in bundle["entry"]:
            if e["resource"]["resourceType"] in ("Observation", "DiagnosticReport"):
                assert e["resource"]["subject"]["reference"] == ref
        assert any(e["resource"]["resourceType"] == "ImagingStudy" for e in bundle["entry"])
        # SR: every per-segment value names its AHA segment in dsrdump
        if shutil.which("dsrdump"):
            [sr] = sorted((written.path / "dicom").glob("sr_*.dcm"))
            dump = subprocess.run(["dsrdump", str(sr)], capture_output=True, text=True, check=True).stdout
            n_seg = sum(1 for m in r.measurements() if m.segment is not None)
            assert n_seg >= 16
            assert dump.count('"Finding Site")=') >= n_seg
        # SR on a real study: the LV EDV carries its ED outline, selected from an image of the analysed cine
        import highdicom as hd

        [sr_file] = sorted((written.path / "dicom").glob("sr_*.dcm"))
        sr_doc = hd.sr.srread(sr_file)
        [edv] = [m for g in sr_doc.content.get_image_measurement_groups() for m in g.get_measurements()
                 if m.name.value == "18026-5"]
        assert edv.value == pytest.approx(series.global_values()["lv_edv"])
        [outline] = edv.referenced_coordinates
        cine_uids = {str(h.SOPInstanceUID) for h in series.source_headers}
        assert outline.ContentSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID in cine_uids
        # report: names its own patient, never the other one
        other = [o for o in results if o is not r][0]
        if written.report is not None:
            html = (written.path / "report.html").read_text()
            assert r.patient.patient_id in html and other.patient.patient_id not in html


@pytest.mark.slow
def test_a_failing_heart_carries_its_verdict_and_finding_to_every_output(two_patients, tmp_path):
    """Issue 16 across the joints on a real study: ACDC-019 (dilated CM, man of 61 in the header)
    through DICOM → cine → verdict and findings → measurements.json, SR, FHIR and report."""
    from heartprint.io.sr import NORMALITY
    from heartprint.outputs import write_study_outputs
    from test_verdicts import _observations

    _, results = two_patients
    r = next(x for x in results if x.patient.patient_id == "ACDC-019")
    [ef] = [m for m in r.analysed("cine_sax")[0].measurements if m.code == "lv_ef" and m.segment is None]
    assert ef.value < 40 and ef.interpretation == "low" and "Petersen" in ef.reference_range.reference
    finding = next(f for f in r.interpretation.findings if f.code == "lv_systolic_dysfunction")
    assert finding.status == "present"
    assert not [f for f in r.interpretation.findings if f.code in ("hfref", "hfmref") and f.status == "present"]
    written = write_study_outputs(r, tmp_path / "out")
    doc = json.loads((written.path / "measurements.json").read_text())
    (cine,) = [s for s in doc["series"] if s["kind"] == "cine_sax"]
    assert next(m for m in cine["measurements"] if m["code"] == "lv_ef" and "segment" not in m)["interpretation"] == "low"
    obs = _observations(json.loads((written.path / "fhir_bundle.json").read_text()))["lv_ef"]
    assert obs["interpretation"][0]["coding"][0]["code"] == "L" and obs["referenceRange"][0]["low"]["value"] > ef.value
    if shutil.which("dsrdump"):
        [sr] = sorted((written.path / "dicom").glob("sr_*.dcm"))
        dump = subprocess.run(["dsrdump", str(sr)], capture_output=True, text=True, check=True).stdout
        assert f'"Normality")=({NORMALITY["low"].value},SCT,"Abnormally Low")' in dump
    if written.report is not None:
        html = (written.path / "report.html").read_text()
        assert "reduced LV systolic function" in html and "▼ low" in html


# -- identity -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_cine(tmp_path_factory):
    from heartprint.phantoms import write_demo_study

    folder = tmp_path_factory.mktemp("cine") / "dicom"
    write_demo_study(folder, seed=5, n_phases=6)
    return folder


def test_identity_mismatch_inside_one_study_is_an_error(small_cine, tmp_path):
    import pydicom

    folder = tmp_path / "mixed"
    shutil.copytree(small_cine, folder)
    victim = sorted(folder.rglob("*.dcm"))[3]
    ds = pydicom.dcmread(victim)
    ds.PatientID = "SOMEONE-ELSE"
    ds.save_as(victim)
    [r] = analyze(folder, AnalysisOptions(interpret=False))
    assert r.status == "failed"
    assert all(s.status == "failed" and "disagree on the patient" in s.message for s in r.series)
    with pytest.raises(InvalidInputError, match="disagree on the patient"):
        from heartprint.pipeline import patient_identity

        patient_identity([pydicom.dcmread(p, stop_before_pixels=True) for p in sorted(folder.rglob("*.dcm"))])


def test_command_line_values_override_dicom_and_say_so(small_cine):
    r = analyze_study(small_cine, AnalysisOptions(height_cm=181, sex="female", age_years=40, interpret=False, tta=False))
    p = r.patient
    assert (p.height_cm.value, p.height_cm.source) == (181.0, "command line")
    assert (p.sex.value, p.sex.source) == ("female", "command line")
    assert p.weight_kg.source == "DICOM"
    assert p.bsa_m2 is not None and p.bsa_m2.source.startswith("derived")
    doc = r.to_dict()
    assert doc["patient"]["height_cm"] == {"value": 181.0, "source": "command line"}


# -- schema -------------------------------------------------------------------------------------


def test_schema_ships_and_rejects_a_broken_document(small_cine):
    assert study_schema()["properties"]["schema"]["const"] == STUDY_SCHEMA
    r = analyze_study(small_cine, AnalysisOptions(tta=False))
    from heartprint.outputs import dumps

    doc = json.loads(dumps(r.to_dict()))
    validate_study_dict(doc)
    broken = json.loads(json.dumps(doc))
    broken["series"][0]["measurements"][0]["segment"] = 18
    with pytest.raises(InvalidInputError, match="segment"):
        validate_study_dict(broken)
    del broken["patient"]
    with pytest.raises(InvalidInputError, match="patient"):
        validate_study_dict(broken)


# -- output names -------------------------------------------------------------------------------


@pytest.mark.parametrize("uid, kept", [
    ("1.2.826.0.1.3680043.8.498.1", True), ("../../etc/passwd", False), ("1.2/../3", False), ("1.2.3\x00x", False),
    ("1." + "2" * 70, False), ("01.2", False), ("", False),
])
def test_uid_file_part_keeps_only_valid_uids(uid, kept):
    from heartprint.outputs import uid_file_part

    part = uid_file_part(uid)
    assert (part == uid) is kept
    assert re.fullmatch(r"[0-9.]{1,64}|x[0-9a-f]{16}", part)


def test_a_crafted_series_uid_writes_inside_the_output_folder(small_cine, tmp_path):
    from heartprint.outputs import study_folder_name, write_study_outputs

    r = analyze_study(small_cine, AnalysisOptions(tta=False, interpret=False))
    r.series[0].series_uid = "../../../escaped"
    r.patient = type(r.patient)(patient_id="../../evil")
    out = tmp_path / "out"
    written = write_study_outputs(r, out / study_folder_name(r), report=False)
    assert written.path.parent == out
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files and all(p.resolve().is_relative_to(written.path.resolve()) for p in files)
    assert not any("escaped" in p.name or "evil" in p.as_posix().split("/out/")[0] for p in files)
    assert {p.name for p in (written.path / "labels").iterdir()} == {"x" + __import__("hashlib").sha256(
        b"../../../escaped").hexdigest()[:16] + ".nii.gz"}


@pytest.mark.slow
def test_a_risk_model_answers_for_real_acdc_patients_in_every_output(two_patients, tmp_path):
    """Issue 21's joint on real studies: a model fitted on heartprint's own feature names answers for the two
    ACDC patients (measured LVEF, age from DICOM), into measurements.json (schema) and the report; the dilated
    heart (lower LVEF) gets the higher risk, as the fitted direction says."""
    pytest.importorskip("sksurv")
    from _risk_cohort import lvef_cohort

    from heartprint import risk
    from heartprint.outputs import study_folder_name, write_study_outputs
    from heartprint.pipeline import interpret_study
    from heartprint.report import build_report, render_html

    table = lvef_cohort(300, ef=(15, 75), noise=("age_years", 40, 80))
    model = risk.fit(table, time="time", event="event", model="cox",
                     cv=risk.CV(outer=3, inner=2, bootstrap=20, bootstrap_models=4, seed=1), horizon=5.0)
    _, results = two_patients
    used: set[str] = set()
    got = {}
    for r in results:
        interpret_study(r, results, options=AnalysisOptions(tta=False, risk_model=model))
        assert r.risk["status"] == "assessed", r.risk
        written = write_study_outputs(r, tmp_path / study_folder_name(r, used), report=False, dicom=False, fhir=False)
        doc = json.loads((written.path / "measurements.json").read_text())
        validate_study_dict(doc)
        assert doc["risk"]["risk"] == pytest.approx(r.risk["risk"])
        assert "Risk (research model)" in render_html(build_report(r, figures=False))
        got[r.patient.patient_id] = r.risk["risk"]
    assert got["ACDC-019"] > got["ACDC-039"]  # dilated (low LVEF) above hypertrophic

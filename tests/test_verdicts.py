"""Verdicts (low/normal/high, reference range, z-score) reach every output: the study result
(``interpret_study`` annotates the series' measurements), the DICOM SR (TID 310/312), FHIR
(``interpretation``, ``referenceRange``, z-score component) and the report; a measurement
without a verified range carries none of them."""

from __future__ import annotations

import html as htmllib
import json
import re
import shutil
import subprocess
import warnings
from datetime import date

import numpy as np
import pydicom
import pytest

from heartprint.measure import Measurement, ReferenceRange
from heartprint.results import PatientIdentity, Provenanced, SeriesResult, StudyInfo, StudyResult

UID = "1.2.826.0.1.3680043.8.498.44444444444444444444"
STUDY_UID = "1.2.826.0.1.3680043.8.498.55555555555555555555"

RR_EF = ReferenceRange(low=57.0, high=77.0, population="men 40–49 y, SSFP cine at 1.5 T (limits = mean ± 1.96 SD)",
                       reference="Test reference 2017, table 2, doi:10.0000/test")
#: one measurement per verdict, one with a one-sided range, and one with nothing
LOW = Measurement(code="lv_ef", name="LV ejection fraction", value=45.0, unit="%", modality="MR", source=UID,
                  reference_range=RR_EF, z_score=-2.6, interpretation="low")
HIGH = Measurement(code="lv_edv", name="LV end-diastolic volume", value=250.0, unit="mL", modality="MR", source=UID,
                   phase="ED", reference_range=ReferenceRange(low=100.0, high=200.0, population="men, SSFP",
                                                              reference="Test reference 2017"),
                   z_score=2.5, interpretation="high")
NORMAL = Measurement(code="rv_ef", name="RV ejection fraction", value=60.0, unit="%", modality="MR", source=UID,
                     reference_range=ReferenceRange(low=50.0, high=70.0, population="men, SSFP"),
                     interpretation="normal")
ONE_SIDED = Measurement(code="heart_rate", name="Heart rate", value=60.0, unit="/min", modality="MR", source=UID,
                        reference_range=ReferenceRange(high=100.0, population="adults at rest"),
                        interpretation="normal")
PLAIN = Measurement(code="lv_mass", name="LV myocardial mass", value=130.0, unit="g", modality="MR", source=UID)
MEASUREMENTS = [LOW, HIGH, NORMAL, ONE_SIDED, PLAIN]


# -- DICOM SR ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sr_file(tmp_path_factory):
    from heartprint.io import load
    from heartprint.io.seg import write_seg
    from heartprint.io.sr import write_sr
    from heartprint.phantoms import make_cine_sax
    from heartprint.phantoms._dicom import write_cine_sax_dicom

    out = tmp_path_factory.mktemp("sr_verdicts")
    phantom = make_cine_sax(n_phases=3, n_slices=4, matrix=(64, 64))
    paths = write_cine_sax_dicom(phantom, out / "src")
    seg = write_seg(load(out / "src").with_array(phantom.labels.astype(np.uint8)), paths, out / "seg.dcm")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # texts beyond ASCII (–, ±, ✅) must be encoded, never replaced
        return write_sr(MEASUREMENTS, out / "sr.dcm", seg=seg).path


def _num_items(items):
    """Every NUM content item under ``items`` (recursively)."""
    for it in items:
        if getattr(it, "ValueType", None) == "NUM":
            yield it
        yield from _num_items(getattr(it, "ContentSequence", []))


def _properties(num) -> dict[tuple[str, str], object]:
    """(code value, scheme) of each HAS PROPERTIES child of a NUM item → its value."""
    out: dict[tuple[str, str], object] = {}
    for child in getattr(num, "ContentSequence", []):
        if child.RelationshipType != "HAS PROPERTIES":
            continue
        name = child.ConceptNameCodeSequence[0]
        key = (name.CodeValue, name.CodingSchemeDesignator)
        if child.ValueType == "CODE":
            c = child.ConceptCodeSequence[0]
            out[key] = (c.CodeValue, c.CodingSchemeDesignator, c.CodeMeaning)
        elif child.ValueType == "NUM":
            mv = child.MeasuredValueSequence[0]
            out[key] = (float(mv.NumericValue), mv.MeasurementUnitsCodeSequence[0].CodeValue)
        elif child.ValueType == "TEXT":
            out[key] = child.TextValue
    return out


def _sr_codes(m: Measurement) -> set[str]:
    """The SR concept code value of a measurement (its standard code, else its key)."""
    from heartprint.io.sr import concept_code

    return {concept_code(m)[0].value}


def _sr_props(path) -> dict[str, dict]:
    """Concept code value of each measurement (its first coding) → its properties."""
    ds = pydicom.dcmread(path)
    return {n.ConceptNameCodeSequence[0].CodeValue: _properties(n) for n in _num_items(ds.ContentSequence)}


NORMALITY = ("121402", "DCM")
LOWER, UPPER = ("385524004", "SCT"), ("371933006", "SCT")
RANGE_DESCRIPTION, RANGE_AUTHORITY = ("121407", "DCM"), ("121408", "DCM")


def test_normality_codes_are_those_of_dicom_cid_222():
    from pydicom.sr._cid_dict import cid_concepts
    from pydicom.sr.codedict import codes

    from heartprint.io.sr import NORMALITY as CODES

    # DICOM PS3.16 CID 222 "Normality": SCT 371880002 Abnormally Low, 17621005 Normal, 371879000 Abnormally High
    assert {k: (c.value, c.scheme_designator) for k, c in CODES.items()} == {
        "low": ("371880002", "SCT"), "normal": ("17621005", "SCT"), "high": ("371879000", "SCT")}
    cid222 = {getattr(codes.SCT, n).value for n in cid_concepts[222]["SCT"]}
    assert {c.value for c in CODES.values()} <= cid222


def test_sr_carries_normality_and_normal_range_of_annotated_measurements(sr_file):
    props = _sr_props(sr_file)
    ef = props["8811-2"]  # LN 8811-2 "Left ventricular ejection fraction by MR"
    assert ef[NORMALITY] == ("371880002", "SCT", "Abnormally Low")
    assert ef[LOWER] == (57.0, "%") and ef[UPPER] == (77.0, "%")
    # the texts in ASCII (± → +/-, – → -), so the SR keeps the default character set
    assert ef[RANGE_DESCRIPTION] == "men 40-49 y, SSFP cine at 1.5 T (limits = mean +/- 1.96 SD)"
    assert ef[RANGE_AUTHORITY] == RR_EF.reference.replace("–", "-")
    assert props["18026-5"][NORMALITY][:2] == ("371879000", "SCT")  # LV EDV, high
    assert props["18026-5"][LOWER] == (100.0, "mL") and props["18026-5"][UPPER] == (200.0, "mL")
    assert props["8818-7"][NORMALITY][:2] == ("17621005", "SCT")  # RV EF, normal
    hr = props["8867-4"]  # heart rate: upper limit only
    assert hr[NORMALITY][:2] == ("17621005", "SCT") and hr[UPPER] == (100.0, "/min") and LOWER not in hr
    assert props["18087-7"] == {}  # LV mass: no range, no verdict, no properties


def test_sr_with_verdicts_passes_dsrdump_and_dciodvfy(sr_file):
    if shutil.which("dsrdump") is None or shutil.which("dciodvfy") is None:
        pytest.skip("dcmtk dsrdump or dicom3tools dciodvfy not installed")
    dump = subprocess.run(["dsrdump", str(sr_file)], capture_output=True, text=True, timeout=60)
    assert dump.returncode == 0 and "error" not in dump.stderr.lower(), dump.stderr
    assert "ISO_IR 192" not in dump.stdout + dump.stderr and not dump.stderr.strip(), dump.stderr  # no charset warning
    assert '"Normality")=(371880002,SCT,"Abnormally Low")' in dump.stdout
    assert '"Normal Range Lower Limit")="57' in dump.stdout
    proc = subprocess.run(["dciodvfy", str(sr_file)], capture_output=True, text=True, timeout=60)
    errors = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("Error")]
    assert not errors, errors


# -- FHIR --------------------------------------------------------------------------------------

V3 = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"


def _observations(bundle) -> dict[str, dict]:
    return {o["code"]["coding"][-1]["code"]: o for o in (e["resource"] for e in bundle["entry"])
            if o["resourceType"] == "Observation"}


@pytest.fixture(scope="module")
def bundle():
    pytest.importorskip("fhir.resources.R4B")
    from heartprint.io.fhir import build_fhir_bundle

    return build_fhir_bundle(MEASUREMENTS, patient_reference="Patient/example")  # validated (R4B) as it is built


def test_fhir_interpretation_codes_and_reference_ranges(bundle):
    obs = _observations(json.loads(json.dumps(bundle)))
    for m, code in ((LOW, "L"), (HIGH, "H"), (NORMAL, "N"), (ONE_SIDED, "N")):
        o = obs[m.code]
        assert o["interpretation"] == [{"coding": [{"system": V3, "code": code,
                                                    "display": {"L": "Low", "N": "Normal", "H": "High"}[code]}],
                                        "text": m.interpretation}]
        (rr,) = o["referenceRange"]
        for key in ("low", "high"):
            want = getattr(m.reference_range, key)
            if want is None:
                assert key not in rr
            else:
                assert rr[key] == {"value": want, "unit": o["valueQuantity"]["unit"],
                                   "system": "http://unitsofmeasure.org", "code": m.unit}
        assert rr["type"]["coding"][0]["code"] == "normal"
        assert m.reference_range.population in rr["text"]
    assert obs["lv_ef"]["referenceRange"][0]["text"] == f"{RR_EF.population}; source: {RR_EF.reference}"


def test_fhir_z_score_is_a_dicom_coded_component(bundle):
    obs = _observations(bundle)
    (comp,) = obs["lv_ef"]["component"]
    assert comp["code"]["coding"][0] == {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "121416",
                                         "display": "Z-Score of measurement"}
    assert comp["valueQuantity"]["value"] == -2.6 and comp["valueQuantity"]["code"] == "1"
    assert "component" not in obs["rv_ef"]  # a range without a z-score


def test_fhir_measurement_without_range_carries_no_verdict(bundle):
    o = _observations(bundle)["lv_mass"]
    assert not {"interpretation", "referenceRange", "component"} & set(o)


# -- report ------------------------------------------------------------------------------------


def _study(measurements, **kw) -> StudyResult:
    series = SeriesResult(UID, "cine_sax", "analysed", measurements=list(measurements), series_description="CINE SAX")
    patient = PatientIdentity(patient_id="P-9", name="DOE^JOHN", sex=Provenanced("male", "DICOM"),
                              birth_date=Provenanced(date(1975, 6, 1), "DICOM"))
    args = dict(source="/data/p9", patient=patient, series=[series],
                study=StudyInfo(STUDY_UID, date(2024, 3, 2), "CMR", modalities=("MR",)))
    args.update(kw)
    return StudyResult(**args)


def _rows(ctx) -> dict[str, dict]:
    return {m["code"]: m for sec in ctx["sections"] for s in sec["series"] for m in s["measurements"]}


def _tr(html: str, code: str) -> str:
    row = re.search(r'<tr data-code="' + code + r'">(.*?)</tr>', html, re.S).group(1)
    return re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", " ", row))).strip()


def test_report_rows_show_range_verdict_and_z():
    pytest.importorskip("jinja2")
    from heartprint.report import build_report
    from heartprint.report._render import render_html

    ctx = build_report(_study(MEASUREMENTS), figures=False)
    rows = _rows(ctx)
    assert (rows["lv_ef"]["range"], rows["lv_ef"]["flag"], rows["lv_ef"]["z"]) == ("57–77 %", "low", "z = -2.6")
    assert (rows["lv_edv"]["flag"], rows["lv_edv"]["z"]) == ("high", "z = +2.5")
    assert (rows["rv_ef"]["flag"], rows["rv_ef"]["z"]) == ("normal", "")
    assert rows["heart_rate"]["range"] == "≤ 100 /min" and rows["heart_rate"]["flag"] == "normal"
    assert (rows["lv_mass"]["range"], rows["lv_mass"]["flag"], rows["lv_mass"]["z"]) == ("", "", "")
    html = render_html(ctx)
    assert _tr(html, "lv_ef").startswith("LV ejection fraction") and "57–77 % [" in _tr(html, "lv_ef")
    assert "▼ low z = -2.6" in _tr(html, "lv_ef")
    assert "▲ high z = +2.5" in _tr(html, "lv_edv")
    assert 'class="flag flag-low"' in html and 'class="flag flag-high"' in html
    assert _tr(html, "lv_mass") == "LV myocardial mass 130 g n/a –"  # no range, no verdict, no z-score
    text = re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", " ", html)))
    ref = rows["lv_ef"]["range_ref"]
    assert f"Reference range for LV ejection fraction: {RR_EF.population} [{ref}]." in text
    assert ctx["appendix"]["references"][ref - 1].endswith("Test reference 2017, table 2, doi:10.0000/test")
    assert "No reference range (n/a), verdict or z-score is shown" in text


def test_report_verdict_is_the_measurements_own():
    """The verdict shown is the measurement's ``interpretation`` (the annotating rule's), not a
    recomputation; a range without a verdict is judged against the range shown."""
    from heartprint.report import build_report

    # at the limit: the rule says normal; the range is shown as 57–77
    at_limit = LOW.model_copy(update={"value": 57.0, "z_score": -1.96, "interpretation": "normal"})
    range_only = PLAIN.model_copy(update={"reference_range": ReferenceRange(low=150.0, high=250.0)})
    rows = _rows(build_report(_study([at_limit, range_only]), figures=False))
    assert rows["lv_ef"]["flag"] == "normal" and rows["lv_mass"]["flag"] == "low"


# -- pipeline: interpret_study annotates the series ----------------------------------------------


@pytest.fixture
def spy(monkeypatch):
    """Replace ``annotate`` with a spy that records (code, sex, age) and gives every LV EF a range."""
    import heartprint.clinical.reference_ranges as rr_mod

    calls: list[tuple] = []

    def annotate(m, *, sex, age):
        calls.append((m.code, sex, age))
        if m.code != "lv_ef":
            return m
        return m.model_copy(update={"reference_range": RR_EF, "z_score": -2.6, "interpretation": "low"})

    monkeypatch.setattr(rr_mod, "annotate", annotate, raising=False)
    return calls


def test_interpret_study_annotates_series_with_sex_and_age(spy):
    from heartprint.pipeline import interpret_study

    plain = LOW.model_copy(update={"reference_range": None, "z_score": None, "interpretation": None})
    result = _study([plain, PLAIN])
    interpret_study(result)
    # DICOM sex; age from the birth date (1975-06-01) and the study date (2024-03-02)
    # every call has the DICOM sex and the age from the dates (interpret's own pass over the phenotype
    # sees the same facts: the derived age is a patient fact for the rules too)
    assert {("lv_ef", "male", 48.0), ("lv_mass", "male", 48.0)} <= set(spy)
    assert {(sex, age) for _, sex, age in spy} == {("male", 48.0)}
    ef = next(m for m in result.series[0].measurements if m.code == "lv_ef")
    assert (ef.reference_range, ef.z_score, ef.interpretation) == (RR_EF, -2.6, "low")
    assert result.series[0].measurements[1] == PLAIN
    doc = result.to_dict()["series"][0]["measurements"][0]
    assert doc["interpretation"] == "low" and doc["z_score"] == -2.6 and doc["reference_range"]["low"] == 57.0
    # the rules read the annotated copies
    assert result.interpretation is not None
    assert next(m for m in result.interpretation.measurements if m.code == "lv_ef").interpretation == "low"


def test_interpret_study_facts_win_and_unknown_stays_unknown(spy):
    from heartprint.pipeline import interpret_study

    interpret_study(_study([PLAIN]), facts={"sex": "female", "age": 61})
    assert ("lv_mass", "female", 61.0) in spy and {(sex, age) for _, sex, age in spy} == {("female", 61.0)}
    spy.clear()
    interpret_study(_study([PLAIN], patient=PatientIdentity(patient_id="P-0")))
    assert ("lv_mass", None, None) in spy and {(sex, age) for _, sex, age in spy} == {(None, None)}


# -- end to end: the phantom patient through the DICOM path ---------------------------------------


def test_report_verdict_without_a_single_range_says_why():
    """Sex or age unknown but every candidate range agrees: a verdict, no range, and the reason."""
    pytest.importorskip("jinja2")
    from heartprint.report import build_report
    from heartprint.report._render import render_html

    agreed = LOW.model_copy(update={"reference_range": None, "z_score": None, "interpretation": "low", "value": 20.0})
    ctx = build_report(_study([agreed, PLAIN]), figures=False)
    row = _rows(ctx)["lv_ef"]
    assert (row["range"], row["flag"], row["z"]) == ("", "low", "")
    text = re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", " ", render_html(ctx))))
    assert _tr(render_html(ctx), "lv_ef") == "LV ejection fraction 20 % n/a ▼ low"
    assert ("LV ejection fraction: the verdict holds for every reference population (sex, age band) the patient "
            "could belong to") in text

"""FHIR R4 export: Bundle validates against fhir.resources R4B models; codes, UCUM units, disclaimer;
Patient / ImagingStudy / subject on every result; AHA segments in bodySite."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from heartprint import DISCLAIMER, __version__
from heartprint.errors import InvalidInputError
from heartprint.io.fhir import LOCAL_SYSTEM, build_fhir_bundle, validate_bundle
from heartprint.anatomy.aha_codes import AHA_SEGMENT_CODES
from heartprint.measure import Measurement, ReferenceRange
from heartprint.results import PatientIdentity, Provenanced, StudyInfo

pytest.importorskip("fhir.resources.R4B")

MEASUREMENTS = [
    Measurement(code="lv_ef", name="LV ejection fraction", value=57.1, unit="%", modality="MR",
                reference_range=ReferenceRange(low=57, high=77, population="adult")),
    Measurement(code="lv_edv", name="LV EDV", value=140.2, unit="mL", modality="MR", phase="ED"),
    Measurement(code="lv_edvi", name="LV EDVi", value=70.1, unit="mL/m2", modality="MR"),
    Measurement(code="stenosis", name="LAD stenosis", value=50.0, unit="%", modality="MR", vessel="LAD"),
]


@pytest.fixture(scope="module")
def bundle():
    return build_fhir_bundle(MEASUREMENTS, patient_reference="Patient/example")


def _by_type(bundle, kind):
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_bundle_validates_with_r4b_models_and_is_json(bundle):
    model = validate_bundle(json.loads(json.dumps(bundle)))
    assert model.type == "collection"
    assert len(_by_type(bundle, "Observation")) == len(MEASUREMENTS)


def test_observation_codes_and_ucum_units(bundle):
    obs = {o["code"]["coding"][-1]["code"]: o for o in _by_type(bundle, "Observation")}
    assert obs["lv_ef"]["code"]["coding"][0] == {
        "system": "http://loinc.org", "code": "8811-2", "display": "Left ventricular ejection fraction by MR"}
    assert obs["lv_edv"]["code"]["coding"][0]["code"] == "18026-5"
    assert obs["stenosis"]["code"]["coding"][0] == {"system": "http://snomed.info/sct", "code": "415582006", "display": "stenosis"}
    # no standard code: only the heartprint concept key
    assert [c["system"] for c in obs["lv_edvi"]["code"]["coding"]] == [LOCAL_SYSTEM]
    for m in MEASUREMENTS:
        q = obs[m.code]["valueQuantity"]
        assert q["system"] == "http://unitsofmeasure.org" and q["code"] == m.unit and q["value"] == m.value
    assert obs["lv_ef"]["referenceRange"][0]["low"]["value"] == 57
    assert all(o["subject"] == {"reference": "Patient/example"} for o in obs.values())


def test_report_links_observations_with_disclaimer_and_performer(bundle):
    (report,) = _by_type(bundle, "DiagnosticReport")
    urls = {e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"}
    assert {r["reference"] for r in report["result"]} == urls
    assert DISCLAIMER in report["conclusion"]
    assert report["performer"] == [{"display": f"heartprint {__version__}"}]
    assert "basedOn" not in report and all("derivedFrom" not in o for o in _by_type(bundle, "Observation"))


def test_bad_input_raises():
    bad = Measurement.model_construct(code="lv_edv", name="LV EDV", value=1.0, unit="furlong")
    with pytest.raises(InvalidInputError, match="unit 'furlong'"):
        build_fhir_bundle([bad])
    with pytest.raises(InvalidInputError, match="empty"):
        build_fhir_bundle([])
    with pytest.raises(InvalidInputError, match="not valid"):
        validate_bundle({"resourceType": "Bundle", "type": "collection",
                         "entry": [{"resource": {"resourceType": "Observation", "valueQuantity": {"value": "abc"}}}]})


# -- identity: Patient, ImagingStudy, subject ---------------------------------------------------

PATIENT = PatientIdentity(
    patient_id="MRN-12345", issuer="1.2.840.99999.1", name="DOE^JANE^Q^DR^PHD",
    sex=Provenanced("female", "DICOM"), birth_date=Provenanced(dt.date(1960, 2, 3), "DICOM"),
    height_cm=Provenanced(165.0, "DICOM"), weight_kg=Provenanced(60.5, "DICOM"), bsa_m2=Provenanced(1.66, "derived"),
)
STUDY = StudyInfo(study_uid="1.2.840.99999.2.3", date=dt.date(2024, 1, 10), description="CMR function",
                  accession_number="ACC777", modalities=("MR",))
SERIES = [("1.2.840.99999.2.3.4", "MR", "cine SAX"), ("1.2.840.99999.2.3.5", "MR", "LGE")]
SEGMENTAL = [Measurement(code="lv_wall_thickness", name="LV wall thickness", value=5.0 + n / 10, unit="mm",
                         modality="MR", segment=n) for n in range(1, 18)]


@pytest.fixture(scope="module")
def identified():
    return build_fhir_bundle(MEASUREMENTS + SEGMENTAL, patient=PATIENT, study=STUDY, series=SERIES)


def _urls(bundle, kind):
    return [e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_identified_bundle_validates_with_one_patient_and_one_imaging_study(identified):
    validate_bundle(json.loads(json.dumps(identified)))
    assert len(_by_type(identified, "Patient")) == 1 and len(_by_type(identified, "ImagingStudy")) == 1
    assert len(_by_type(identified, "DiagnosticReport")) == 1
    # measurements plus the three body measurements (height, weight, BSA)
    assert len(_by_type(identified, "Observation")) == len(MEASUREMENTS) + len(SEGMENTAL) + 3


def test_every_observation_and_the_report_have_the_patient_as_subject(identified):
    (patient_url,) = _urls(identified, "Patient")
    (study_url,) = _urls(identified, "ImagingStudy")
    assert patient_url.startswith("urn:uuid:")
    (report,) = _by_type(identified, "DiagnosticReport")
    assert report["subject"] == {"reference": patient_url}
    assert report["imagingStudy"] == [{"reference": study_url}]
    observations = _by_type(identified, "Observation")
    assert all(o["subject"] == {"reference": patient_url} for o in observations)
    assert {r["reference"] for r in report["result"]} == set(_urls(identified, "Observation"))
    imaging = [o for o in observations if o["category"][0]["coding"][0]["code"] == "imaging"]
    assert len(imaging) == len(MEASUREMENTS) + len(SEGMENTAL)
    assert all(o["derivedFrom"] == [{"reference": study_url}] for o in imaging)
    (study,) = _by_type(identified, "ImagingStudy")
    assert study["subject"] == {"reference": patient_url}


def test_patient_fields_round_trip(identified):
    (patient,) = _by_type(identified, "Patient")
    assert patient["identifier"] == [{"value": "MRN-12345", "system": "urn:oid:1.2.840.99999.1"}]
    (name,) = patient["name"]
    assert (name["family"], name["given"], name["prefix"], name["suffix"]) == ("DOE", ["JANE", "Q"], ["DR"], ["PHD"])
    assert patient["gender"] == "female" and patient["birthDate"] == "1960-02-03"
    # a non-OID issuer is the identifier's assigner; an unknown sex is "unknown"
    other = PatientIdentity(patient_id="42", issuer="GENERAL HOSPITAL", name="SMITH^JOHN", sex=Provenanced("X", "DICOM"))
    b = build_fhir_bundle(MEASUREMENTS[:1], patient=other)
    (p,) = _by_type(b, "Patient")
    assert p["identifier"] == [{"value": "42", "assigner": {"display": "GENERAL HOSPITAL"}}]
    assert p["gender"] == "unknown" and p["name"][0]["family"] == "SMITH" and "birthDate" not in p


def test_imaging_study_identifier_date_and_series(identified):
    (study,) = _by_type(identified, "ImagingStudy")
    assert study["identifier"][0] == {"system": "urn:dicom:uid", "value": "urn:oid:1.2.840.99999.2.3"}
    assert study["status"] == "available" and study["started"] == "2024-01-10"
    assert study["description"] == "CMR function"
    dcm = "http://dicom.nema.org/resources/ontology/DCM"
    assert [(s["uid"], s["modality"]["system"], s["modality"]["code"], s["description"]) for s in study["series"]] == [
        (uid, dcm, mod, desc) for uid, mod, desc in SERIES]
    assert study["numberOfSeries"] == 2


def test_body_measurements_use_loinc_vital_sign_codes(identified):
    vitals = {o["code"]["coding"][0]["code"]: o["valueQuantity"] for o in _by_type(identified, "Observation")
              if o["category"][0]["coding"][0]["code"] == "vital-signs"}
    assert vitals["8302-2"]["value"] == 165.0 and vitals["8302-2"]["code"] == "cm"
    assert vitals["29463-7"]["value"] == 60.5 and vitals["29463-7"]["code"] == "kg"
    assert vitals["8277-6"]["value"] == 1.66 and vitals["8277-6"]["code"] == "m2"


def test_per_segment_observations_carry_their_aha_segment(identified):
    segmental = [o for o in _by_type(identified, "Observation") if o["code"]["coding"][-1]["code"] == "lv_wall_thickness"]
    assert len(segmental) == 17
    seen = {}
    for o in segmental:
        (coding,) = o["bodySite"]["coding"]
        assert coding["system"] == "http://snomed.info/sct"
        n = int(o["bodySite"]["text"].split()[2])
        assert coding["code"] == AHA_SEGMENT_CODES[n][0] and coding["display"] == AHA_SEGMENT_CODES[n][2]
        seen[n] = o["valueQuantity"]["value"]
    assert seen == {m.segment: m.value for m in SEGMENTAL}
    (s4,) = [o for o in segmental if o["bodySite"]["coding"][0]["code"] == "264846001"]
    assert s4["bodySite"]["text"] == "AHA segment 4 (basal inferior)" and s4["valueQuantity"]["value"] == 5.4
    (lad,) = [o for o in _by_type(identified, "Observation") if o["code"]["coding"][-1]["code"] == "stenosis"]
    assert lad["bodySite"]["coding"][0]["code"] == "59438005" and lad["bodySite"]["text"] == "LAD"


def test_without_patient_there_is_no_subject_anywhere():
    b = build_fhir_bundle(MEASUREMENTS + SEGMENTAL, study=STUDY)
    validate_bundle(b)
    assert not _by_type(b, "Patient")
    assert all("subject" not in o for o in _by_type(b, "Observation"))
    (report,) = _by_type(b, "DiagnosticReport")
    assert "subject" not in report
    (study,) = _by_type(b, "ImagingStudy")
    assert study["subject"] == {"display": "patient not identified"}
    text = json.dumps(b)
    assert "MRN-12345" not in text and "DOE" not in text
    with pytest.raises(InvalidInputError, match="not both"):
        build_fhir_bundle(MEASUREMENTS, patient=PATIENT, patient_reference="Patient/1")

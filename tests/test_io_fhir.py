"""FHIR R4 export: Bundle validates against fhir.resources R4B models; codes, UCUM units, disclaimer."""

from __future__ import annotations

import json

import pytest

from heartprint import DISCLAIMER, __version__
from heartprint.errors import InvalidInputError
from heartprint.io.fhir import LOCAL_SYSTEM, build_fhir_bundle, validate_bundle
from heartprint.measure import Measurement, ReferenceRange

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

"""FHIR R4 export: a Bundle with one DiagnosticReport and one Observation per measurement.

Validated with the ``fhir.resources`` models of **R4B** (FHIR 4.3.0): ``fhir.resources`` ≥ 7
defaults to R5, and its ``R4B`` subpackage is the R4-family model set it ships (R4B changed
no element of Bundle, DiagnosticReport, Observation or Device used here relative to R4
4.0.1). The output is plain JSON-able dicts; the models are used for validation only.

Codes (``Observation.code.coding``) are the verified codes of
:data:`heartprint.concepts.CONCEPTS` (LOINC ``http://loinc.org``, SNOMED CT
``http://snomed.info/sct``, DICOM ``http://dicom.nema.org/resources/ontology/DCM``),
modality-specific first; every Observation also carries a coding in heartprint's own
system :data:`LOCAL_SYSTEM` with the measurement's stable key, and ``code.text``. Values
are ``valueQuantity`` in UCUM (``system`` ``http://unitsofmeasure.org``); an unknown unit
is an error. The disclaimer is the report's ``conclusion``; ``performer`` is
"heartprint <version>" (display only: R4 allows no Device performer) and each Observation
references a Device resource for heartprint. ``basedOn``/``derivedFrom`` are omitted.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

from heartprint.errors import InvalidInputError
from heartprint.measure import Measurement

__all__ = ["LOCAL_SYSTEM", "SYSTEMS", "build_fhir_bundle", "validate_bundle"]

#: DICOM/heartprint coding-scheme designator → FHIR system URI (HL7 FHIR R4 "Using Codes",
#: terminologies page; DICOM PS3.16 §8 for the DCM URI).
SYSTEMS: Mapping[str, str] = {
    "LN": "http://loinc.org",
    "SCT": "http://snomed.info/sct",
    "DCM": "http://dicom.nema.org/resources/ontology/DCM",
}
#: heartprint's own concept keys (stable, see :mod:`heartprint.concepts`).
LOCAL_SYSTEM = "urn:heartprint:concept"
UCUM_SYSTEM = "http://unitsofmeasure.org"
_OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


def _uuid() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _observation(m: Measurement, device_ref: str, subject: dict | None, effective: str | None) -> dict[str, Any]:
    from heartprint.io.sr import UCUM_MEANINGS

    try:
        ucum, meaning = UCUM_MEANINGS[m.unit]
    except (KeyError, TypeError):
        raise InvalidInputError(
            f"measurement {m.code!r}: unit {m.unit!r} is not a known UCUM unit; expected one of {sorted(UCUM_MEANINGS)}"
        ) from None
    if not math.isfinite(m.value):
        raise InvalidInputError(f"measurement {m.code!r}: value {m.value!r} is not finite")
    concept = m.concept
    codings = []
    if concept is not None:
        ordered = [c for c in concept.codings if m.modality and c.modality == m.modality]
        ordered += [c for c in concept.codings if c.modality is None]
        codings = [{"system": SYSTEMS[c.system], "code": c.value, "display": c.meaning} for c in ordered]
    codings.append({"system": LOCAL_SYSTEM, "code": m.code, "display": concept.name if concept else m.name})
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "preliminary",
        "category": [{"coding": [{"system": _OBS_CATEGORY, "code": "imaging", "display": "Imaging"}]}],
        "code": {"coding": codings, "text": m.name},
        "valueQuantity": {"value": float(m.value), "unit": meaning, "system": UCUM_SYSTEM, "code": ucum},
        "device": {"reference": device_ref},
    }
    notes = [x for x in (m.method, f"source: {m.source}" if m.source else "", m.reference) if x]
    if m.phase:
        notes.append(f"phase: {m.phase}")
    if notes:
        obs["note"] = [{"text": "; ".join(notes)}]
    if m.reference_range is not None and (m.reference_range.low is not None or m.reference_range.high is not None):
        rr: dict[str, Any] = {}
        for key in ("low", "high"):
            v = getattr(m.reference_range, key)
            if v is not None:
                rr[key] = {"value": float(v), "unit": meaning, "system": UCUM_SYSTEM, "code": ucum}
        if m.reference_range.population:
            rr["text"] = m.reference_range.population
        obs["referenceRange"] = [rr]
    if subject:
        obs["subject"] = subject
    time = m.time.isoformat() if m.time is not None else effective
    if time:
        obs["effectiveDateTime"] = time
    return obs


def build_fhir_bundle(
    measurements: Iterable[Measurement | Mapping[str, Any]],
    *,
    patient_reference: str | None = None,
    effective: datetime | None = None,
    conclusion: str | None = None,
    validate: bool = True,
) -> dict[str, Any]:
    """FHIR R4 ``collection`` Bundle: DiagnosticReport + Observations + the heartprint Device.

    Parameters
    ----------
    measurements
        :class:`~heartprint.measure.Measurement` objects or their dicts.
    patient_reference
        Optional ``Reference.reference`` of the subject (e.g. ``"Patient/123"``); omitted if
        unknown (no patient data is invented or copied here).
    effective
        Optional study date-time for ``effectiveDateTime``.
    conclusion
        Report conclusion; default :data:`heartprint.DISCLAIMER` (always appended if another
        text is given).
    validate
        Validate with the ``fhir.resources.R4B`` models (:func:`validate_bundle`).

    Returns
    -------
    dict
        The Bundle as JSON-able dict (``json.dumps`` ready).

    Raises
    ------
    InvalidInputError
        Unknown unit, non-finite value, invalid or no measurements.
    """
    from heartprint import DISCLAIMER, __version__

    ms = []
    for m in measurements:
        if isinstance(m, Measurement):
            ms.append(m)
            continue
        try:
            ms.append(Measurement.model_validate(dict(m)))
        except Exception as exc:  # pydantic ValidationError
            raise InvalidInputError(f"measurement {dict(m).get('code', m)!r}: invalid ({exc})") from exc
    if not ms:
        raise InvalidInputError("measurements is empty: nothing to report")
    subject = {"reference": patient_reference} if patient_reference else None
    eff = effective.isoformat() if effective is not None else None
    device_url = _uuid()
    device = {
        "resourceType": "Device",
        "deviceName": [{"name": "heartprint", "type": "manufacturer-name"}],
        "version": [{"value": __version__}],
        "manufacturer": "heartprint project",
    }
    entries = [{"fullUrl": device_url, "resource": device}]
    obs_urls = []
    for m in ms:
        url = _uuid()
        obs_urls.append(url)
        entries.append({"fullUrl": url, "resource": _observation(m, device_url, subject, eff)})
    report: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "status": "preliminary",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "RAD", "display": "Radiology"}]}],
        # SCT 241620005 from pydicom's PS3.16 code dictionary (codes.SCT.MagneticResonanceImagingOfHeart)
        "code": {"coding": [{"system": SYSTEMS["SCT"], "code": "241620005", "display": "Magnetic resonance imaging of heart"}],
                 "text": "heartprint cardiac imaging measurements"},
        "issued": datetime.now(timezone.utc).isoformat(),
        "performer": [{"display": f"heartprint {__version__}"}],
        "result": [{"reference": u} for u in obs_urls],
        "conclusion": DISCLAIMER if not conclusion else f"{conclusion} {DISCLAIMER}",
    }
    modalities = {m.modality for m in ms}
    if modalities != {"MR"}:
        report["code"] = {"text": "heartprint cardiac imaging measurements"}
    if subject:
        report["subject"] = subject
    if eff:
        report["effectiveDateTime"] = eff
    entries.insert(0, {"fullUrl": _uuid(), "resource": report})
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": datetime.now(timezone.utc).isoformat(),
        "entry": entries,
    }
    if validate:
        validate_bundle(bundle)
    return bundle


def validate_bundle(bundle: Mapping[str, Any]) -> Any:
    """Validate a Bundle dict with ``fhir.resources.R4B`` models (each entry's resource too).

    Returns the parsed ``Bundle`` model; raises :class:`InvalidInputError` naming the error.
    """
    from fhir.resources.R4B import get_fhir_model_class
    from fhir.resources.R4B.bundle import Bundle

    try:
        model = Bundle.model_validate(dict(bundle))
        for entry in bundle.get("entry", []):
            res = entry["resource"]
            get_fhir_model_class(res["resourceType"]).model_validate(res)
    except Exception as exc:  # pydantic ValidationError and fhir_core errors
        raise InvalidInputError(f"FHIR bundle is not valid R4(B): {exc}") from exc
    return model

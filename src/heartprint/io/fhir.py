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
references a Device resource for heartprint. ``basedOn`` is omitted.

Identity (optional): with a :class:`~heartprint.results.PatientIdentity` the bundle holds a
Patient (identifier, name from the DICOM PN, gender, birthDate) and the DiagnosticReport and
every Observation have ``subject`` referencing it (its ``urn:uuid:`` fullUrl); height, weight
and BSA become vital-sign Observations (LOINC 8302-2 "Body height", 29463-7 "Body weight" —
the codes fixed by the FHIR R4 bodyheight/bodyweight profiles — and 8277-6 "Body surface
area", in pydicom's PS3.16 code dictionary). With a :class:`~heartprint.results.StudyInfo`
the bundle holds an ImagingStudy (identifier ``urn:dicom:uid``), referenced by the
DiagnosticReport's ``imagingStudy`` and by each Observation's ``derivedFrom``. Without a
patient (e.g. a de-identified export) **no resource has a subject**, nothing about the
patient is written, and an ImagingStudy (whose ``subject`` R4 requires) names its subject
only as the text "patient not identified".

Per-segment Observations carry their AHA segment in ``bodySite`` (SNOMED CT code of DICOM
PS3.16 CID 3717 and text "AHA segment 4 (basal inferior)"); per-vessel ones their coronary
artery (CID 3015/3014), see :mod:`heartprint.anatomy.aha_codes`.

Verdicts: a measurement with a reference range (``Measurement.reference_range``, set with its
verdict by :func:`heartprint.clinical.reference_ranges.annotate`) has ``referenceRange`` (``low``
/``high`` in UCUM, ``type`` "normal" of the HL7 ``referencerange-meaning`` code system, ``text``
naming the population and the source); one with a verdict (``Measurement.interpretation``) has
``interpretation`` coded in the HL7 v3 ObservationInterpretation code system (:data:`INTERPRETATION`:
``L`` Low, ``N`` Normal, ``H`` High). A z-score is an ``Observation.component`` coded DICOM
DCM 121416 "Z-Score of measurement" (PS3.16 CID 227, in pydicom's code dictionary), value in
UCUM ``1``: a component, not an extension, because FHIR R4 defines no z-score extension and a
component needs only a standard code. A measurement without them carries none of the three.
"""

from __future__ import annotations

import math
import re
import uuid
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from heartprint.errors import InvalidInputError
from heartprint.measure import Measurement

if TYPE_CHECKING:  # pragma: no cover
    from heartprint.results import PatientIdentity, StudyInfo

__all__ = ["INTERPRETATION", "LOCAL_SYSTEM", "SYSTEMS", "build_fhir_bundle", "validate_bundle"]

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
#: HL7 v3 ObservationInterpretation (terminology.hl7.org) and FHIR referencerange-meaning systems.
INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
_RANGE_MEANING = "http://terminology.hl7.org/CodeSystem/referencerange-meaning"
#: ``Measurement.interpretation`` → (v3 ObservationInterpretation code, display).
INTERPRETATION: Mapping[str, tuple[str, str]] = {"low": ("L", "Low"), "normal": ("N", "Normal"), "high": ("H", "High")}
#: DICOM PS3.16 CID 227 "Z-Score of measurement" (pydicom ``codes.DCM.ZScoreOfMeasurement``).
_Z_SCORE = ("121416", "Z-Score of measurement")


#: LOINC codes of the patient's body measurements (FHIR R4 vital-signs profiles bodyheight
#: and bodyweight fix 8302-2 and 29463-7; 8277-6 is in pydicom's PS3.16 code dictionary).
_VITALS = (
    ("height_cm", "8302-2", "Body height", "cm", "centimeter"),
    ("weight_kg", "29463-7", "Body weight", "kg", "kilogram"),
    ("bsa_m2", "8277-6", "Body surface area", "m2", "square meter"),
)
_OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")
_GENDERS = {"male": "male", "m": "male", "female": "female", "f": "female", "other": "other", "o": "other"}
_NOT_IDENTIFIED = "patient not identified"


def _uuid() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _human_name(pn: str | None) -> dict[str, Any] | None:
    """FHIR HumanName from a DICOM PN ``Family^Given^Middle^Prefix^Suffix`` (first component group)."""
    if not pn:
        return None
    parts = [p.strip() for p in str(pn).split("=")[0].split("^")]
    parts += [""] * (5 - len(parts))
    family, given, middle, prefix, suffix = parts[:5]
    name: dict[str, Any] = {"use": "official"}
    if family:
        name["family"] = family
    if given or middle:
        name["given"] = [x for x in (given, middle) if x]
    if prefix:
        name["prefix"] = [prefix]
    if suffix:
        name["suffix"] = [suffix]
    if len(name) == 1:
        return None
    name["text"] = " ".join(x for x in (prefix, given, middle, family, suffix) if x)
    return name


def _as_date(value: Any) -> str | None:
    """ISO date from a date/datetime or a DICOM DA ``YYYYMMDD`` / ISO string; ``None`` if not a date."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    for fmt in ("%Y%m%d", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def _patient_resource(patient: PatientIdentity) -> dict[str, Any]:
    res: dict[str, Any] = {"resourceType": "Patient"}
    if patient.patient_id:
        ident: dict[str, Any] = {"value": str(patient.patient_id)}
        issuer = (patient.issuer or "").strip()
        if issuer and _OID.match(issuer):
            ident["system"] = f"urn:oid:{issuer}"
        elif issuer:
            ident["assigner"] = {"display": issuer}
        res["identifier"] = [ident]
    name = _human_name(patient.name)
    if name:
        res["name"] = [name]
    if patient.sex is not None:
        res["gender"] = _GENDERS.get(str(patient.sex.value).strip().lower(), "unknown")
    birth = _as_date(patient.birth_date.value) if patient.birth_date is not None else None
    if birth:
        res["birthDate"] = birth
    return res


def _modality_coding(modality: str) -> dict[str, Any]:
    """Coding of a DICOM modality in the DCM system, with the meaning from pydicom's PS3.16 dictionary."""
    coding: dict[str, Any] = {"system": SYSTEMS["DCM"], "code": modality}
    try:
        from pydicom.sr._concepts_dict import concepts

        meaning = next((m for entry in concepts["DCM"].values() for code, (m, _) in entry.items() if code == modality), None)
    except Exception:  # pragma: no cover - pydicom internals moved
        meaning = None
    if meaning:
        coding["display"] = meaning
    return coding


def _imaging_study_resource(study: StudyInfo, subject: dict[str, Any], series: Sequence[tuple[str, str, str]]) -> dict[str, Any]:
    if not study.study_uid:
        raise InvalidInputError("study.study_uid is empty: an ImagingStudy needs the Study Instance UID")
    res: dict[str, Any] = {
        "resourceType": "ImagingStudy",
        "identifier": [{"system": "urn:dicom:uid", "value": f"urn:oid:{study.study_uid}"}],
        "status": "available",
        "subject": subject,
    }
    modalities = list(dict.fromkeys([*study.modalities, *(mod for _, mod, _ in series if mod)]))
    if modalities:
        res["modality"] = [_modality_coding(m) for m in modalities]
    started = _as_date(study.date)
    if started:
        res["started"] = started
    if study.accession_number:
        res["identifier"].append({"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "ACSN"}]},
                                  "value": study.accession_number})
    if study.description:
        res["description"] = study.description
    if series:
        res["numberOfSeries"] = len(series)
        res["series"] = []
        for uid, modality, description in series:
            if not uid or not modality:
                raise InvalidInputError(f"series {(uid, modality, description)!r}: needs a series UID and a modality")
            entry: dict[str, Any] = {"uid": uid, "modality": _modality_coding(modality)}
            if description:
                entry["description"] = description
            res["series"].append(entry)
    return res


def _vital_observations(patient: PatientIdentity, device_ref: str, subject: dict, effective: str | None) -> list[dict[str, Any]]:
    out = []
    for attr, loinc, display, ucum, meaning in _VITALS:
        pv = getattr(patient, attr)
        if pv is None or pv.value is None:
            continue
        value = float(pv.value)
        if not math.isfinite(value):
            continue
        obs: dict[str, Any] = {
            "resourceType": "Observation",
            "status": "final",
            "category": [{"coding": [{"system": _OBS_CATEGORY, "code": "vital-signs", "display": "Vital Signs"}]}],
            "code": {"coding": [{"system": SYSTEMS["LN"], "code": loinc, "display": display}], "text": display},
            "subject": subject,
            "valueQuantity": {"value": value, "unit": meaning, "system": UCUM_SYSTEM, "code": ucum},
            "device": {"reference": device_ref},
        }
        if pv.source:
            obs["note"] = [{"text": f"source: {pv.source}"}]
        if effective:
            obs["effectiveDateTime"] = effective
        out.append(obs)
    return out


def _body_site(m: Measurement) -> dict[str, Any] | None:
    """``Observation.bodySite`` of a per-segment (CID 3717) or per-vessel (CID 3015/3014) measurement."""
    from heartprint.anatomy.aha_codes import segment_code, segment_text, vessel_code, vessel_text

    if m.segment is not None:
        value, scheme, meaning = segment_code(m.segment)
        return {"coding": [{"system": SYSTEMS[scheme], "code": value, "display": meaning}], "text": segment_text(m.segment)}
    if m.vessel is not None:
        code = vessel_code(m.vessel, m.vessel_segment)
        site: dict[str, Any] = {"text": vessel_text(m.vessel, m.vessel_segment)}
        if code is not None:
            site["coding"] = [{"system": SYSTEMS[code[1]], "code": code[0], "display": code[2]}]
        return site
    return None


def _observation(m: Measurement, device_ref: str, subject: dict | None, effective: str | None,
                 study_ref: str | None = None) -> dict[str, Any]:
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
    site = _body_site(m)
    if site is not None:
        obs["bodySite"] = site
    if study_ref:
        obs["derivedFrom"] = [{"reference": study_ref}]
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
        rr["type"] = {"coding": [{"system": _RANGE_MEANING, "code": "normal", "display": "Normal Range"}]}
        text = "; ".join(x for x in (m.reference_range.population,
                                     f"source: {m.reference_range.reference}" if m.reference_range.reference else "")
                         if x)
        if text:
            rr["text"] = text
        obs["referenceRange"] = [rr]
    if m.interpretation is not None:
        code, display = INTERPRETATION[m.interpretation]
        obs["interpretation"] = [{"coding": [{"system": INTERPRETATION_SYSTEM, "code": code, "display": display}],
                                  "text": m.interpretation}]
    if m.z_score is not None and math.isfinite(m.z_score):
        obs["component"] = [{
            "code": {"coding": [{"system": SYSTEMS["DCM"], "code": _Z_SCORE[0], "display": _Z_SCORE[1]}],
                     "text": "z-score against the reference population"},
            "valueQuantity": {"value": float(m.z_score), "unit": "no units", "system": UCUM_SYSTEM, "code": "1"},
        }]
    if subject:
        obs["subject"] = subject
    time = m.time.isoformat() if m.time is not None else effective
    if time:
        obs["effectiveDateTime"] = time
    return obs


def build_fhir_bundle(
    measurements: Iterable[Measurement | Mapping[str, Any]],
    *,
    patient: PatientIdentity | None = None,
    study: StudyInfo | None = None,
    series: Sequence[tuple[str, str, str]] = (),
    patient_reference: str | None = None,
    effective: datetime | None = None,
    conclusion: str | None = None,
    validate: bool = True,
) -> dict[str, Any]:
    """FHIR R4 ``collection`` Bundle: DiagnosticReport + Observations + Device (+ Patient, ImagingStudy).

    Parameters
    ----------
    measurements
        :class:`~heartprint.measure.Measurement` objects (or their dicts).
    patient
        Who the results belong to. Adds a Patient resource (identifier from ``patient_id`` —
        ``system`` ``urn:oid:<issuer>`` when the issuer is an OID, else ``assigner.display`` —,
        name from the DICOM PN, gender, birthDate) that the DiagnosticReport and every
        Observation reference as ``subject``, and height/weight/BSA Observations where known.
        ``None`` (e.g. de-identified export): no Patient and **no** ``subject`` anywhere.
    study
        The imaging study. Adds an ImagingStudy (``urn:dicom:uid`` identifier, status
        ``available``, ``started`` from the date, description, modalities) referenced by the
        DiagnosticReport's ``imagingStudy`` and every Observation's ``derivedFrom``.
    series
        ``(series instance UID, modality, description)`` of the series analysed, listed in the
        ImagingStudy (ignored without ``study``).
    patient_reference
        Alternative to ``patient``: a ``Reference.reference`` to a Patient kept elsewhere
        (e.g. ``"Patient/123"``). Giving both is an error.
    effective
        Optional study date-time for ``effectiveDateTime``; default the study's date, if any.
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
        Unknown unit, non-finite value, invalid or no measurements, both ``patient`` and
        ``patient_reference``, a study without a UID.
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
    if patient is not None and patient_reference:
        raise InvalidInputError("give either patient or patient_reference, not both")
    entries: list[dict[str, Any]] = []
    subject: dict[str, Any] | None = None
    if patient is not None:
        patient_url = _uuid()
        entries.append({"fullUrl": patient_url, "resource": _patient_resource(patient)})
        subject = {"reference": patient_url}
    elif patient_reference:
        subject = {"reference": patient_reference}
    if effective is not None:
        eff = effective.isoformat()
    else:
        eff = _as_date(study.date) if study is not None else None
    study_url = None
    if study is not None:
        study_url = _uuid()
        entries.append({"fullUrl": study_url,
                        "resource": _imaging_study_resource(study, subject or {"display": _NOT_IDENTIFIED}, series)})
    device_url = _uuid()
    device = {
        "resourceType": "Device",
        "deviceName": [{"name": "heartprint", "type": "manufacturer-name"}],
        "version": [{"value": __version__}],
        "manufacturer": "heartprint project",
    }
    entries.append({"fullUrl": device_url, "resource": device})
    obs_urls = []
    for m in ms:
        url = _uuid()
        obs_urls.append(url)
        entries.append({"fullUrl": url, "resource": _observation(m, device_url, subject, eff, study_url)})
    if patient is not None and subject is not None:
        for obs in _vital_observations(patient, device_url, subject, eff):
            url = _uuid()
            obs_urls.append(url)
            entries.append({"fullUrl": url, "resource": obs})
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
    if study_url:
        report["imagingStudy"] = [{"reference": study_url}]
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

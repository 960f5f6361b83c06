"""De-identification for export: DICOM PS3.15 Annex E Basic Application Level Confidentiality Profile.

Applied options (PS3.15 Table E.1-1 columns; coded in (0012,0064) De-identification Method
Code Sequence from PS3.16 CID 7050):

* DCM 113100 *Basic Application Confidentiality Profile* — the attributes in
  :data:`PHI_ACTIONS` are removed (``X``), emptied (``Z``) or replaced by a pseudonym
  (``D``), at every nesting level (sequences included); all private tags are removed;
  instance UIDs are remapped (``U``, :func:`remap_uid`).
* DCM 113107 *Retain Longitudinal Temporal Information with Modified Dates Option* — every
  DA value (and the date part of DT values) is shifted by a per-patient number of days
  derived from the secret salt and (0010,0020) Patient ID, so intervals between dates of one
  patient are kept; times of day are kept. (0028,0303) Longitudinal Temporal Information
  Modified = ``MODIFIED``.
* DCM 113108 *Retain Patient Characteristics Option* — only if requested
  (``retain_patient_characteristics=True``): sex, age, size and weight are kept (heartprint
  needs size and weight for body-surface-area indexing).

Not applied: the Clean Pixel Data option (113101). Pixel data are copied unchanged, so an
instance with (0028,0301) Burned In Annotation = ``YES`` is refused.

Pseudonyms and UIDs are deterministic given the salt: the same input UID maps to the same
output UID in every file of a run (and of later runs with the same salt), which keeps
series, frame-of-reference and SEG/SR references consistent. Keep the salt secret: with it
the mapping can be recomputed.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import warnings
from pathlib import Path
from typing import Iterable, Mapping

import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import UID_dictionary, generate_uid  # type: ignore[attr-defined]

from heartprint._atomic import atomic_dir
from heartprint.errors import InvalidInputError, SkippedFileWarning, UnsupportedSeriesError

__all__ = [
    "PHI_ACTIONS", "PHI_TABLE_CITATION", "date_offset_days", "deidentify_dataset", "deidentify_folder",
    "pseudonym", "remap_uid",
]

PHI_TABLE_CITATION = (
    "DICOM PS3.15 (2024) Annex E, Table E.1-1 'Application Level Confidentiality Profile "
    "Attributes', Basic Profile column; options per Table E.1-1 columns 'Rtn. Long. Modif. Dates' "
    "and 'Rtn. Pat. Chars.'"
)

#: keyword → action (PS3.15 Table E.1-1, Basic Profile): ``X`` remove, ``Z`` zero-length,
#: ``D`` dummy (pseudonym). Dates/times and UIDs are handled by VR (see the module docstring).
PHI_ACTIONS: Mapping[str, str] = {
    # patient
    "PatientName": "D", "PatientID": "D", "PatientBirthDate": "Z", "PatientBirthTime": "X",
    "PatientAddress": "X", "OtherPatientIDs": "X", "OtherPatientIDsSequence": "X", "OtherPatientNames": "X",
    "PatientBirthName": "X", "PatientMotherBirthName": "X", "PatientTelephoneNumbers": "X",
    "PatientTelecomInformation": "X", "MilitaryRank": "X", "BranchOfService": "X", "EthnicGroup": "X",
    "Occupation": "X", "PatientReligiousPreference": "X", "MedicalRecordLocator": "X", "IssuerOfPatientID": "X",
    "PatientInsurancePlanCodeSequence": "X", "PatientComments": "X", "AdditionalPatientHistory": "X",
    "MedicalAlerts": "X", "Allergies": "X", "SmokingStatus": "X", "PregnancyStatus": "X",
    "LastMenstrualDate": "X", "PatientState": "X", "CountryOfResidence": "X", "RegionOfResidence": "X",
    "ResponsiblePerson": "X", "ResponsibleOrganization": "X", "PatientSexNeutered": "X",
    "PatientSex": "Z", "PatientAge": "X", "PatientSize": "X", "PatientWeight": "X",
    # people and places
    "ReferringPhysicianName": "Z", "ReferringPhysicianAddress": "X", "ReferringPhysicianTelephoneNumbers": "X",
    "ReferringPhysicianIdentificationSequence": "X", "PhysiciansOfRecord": "X",
    "PhysiciansOfRecordIdentificationSequence": "X", "PerformingPhysicianName": "X",
    "PerformingPhysicianIdentificationSequence": "X", "NameOfPhysiciansReadingStudy": "X",
    "PhysiciansReadingStudyIdentificationSequence": "X", "RequestingPhysician": "X", "OperatorsName": "X",
    "OperatorIdentificationSequence": "X", "ContentCreatorName": "Z", "VerifyingObserverName": "D",
    "PersonName": "D", "InstitutionName": "X", "InstitutionAddress": "X", "InstitutionalDepartmentName": "X",
    "InstitutionCodeSequence": "X", "StationName": "X", "DeviceSerialNumber": "X", "DeviceUID": "X",
    "ScheduledPerformingPhysicianName": "X", "RequestingService": "X", "CurrentPatientLocation": "X",
    # study/request identifiers and free text
    "AccessionNumber": "Z", "StudyID": "Z", "IssuerOfAccessionNumberSequence": "X",
    "RequestAttributesSequence": "X", "ReferencedPatientSequence": "X", "ReferencedStudySequence": "X",
    "AdmissionID": "X", "AdmittingDiagnosesDescription": "X", "AdmittingDiagnosesCodeSequence": "X",
    "PerformedProcedureStepID": "X", "PerformedProcedureStepDescription": "X",
    "RequestedProcedureID": "X", "RequestedProcedureDescription": "X", "ScheduledProcedureStepID": "X",
    "ScheduledProcedureStepDescription": "X", "FillerOrderNumberImagingServiceRequest": "X",
    "PlacerOrderNumberImagingServiceRequest": "X", "StudyDescription": "X", "SeriesDescription": "X",
    "ImageComments": "X", "DerivationDescription": "X", "ProtocolName": "X", "TextComments": "X",
    "InterpretationText": "X", "ReasonForStudy": "X", "RequestedContrastAgent": "X",
    "ContrastBolusAgent": "D", "AcquisitionComments": "X", "FrameComments": "X",
}

#: Kept under the Retain Patient Characteristics option (DCM 113108).
_PATIENT_CHARACTERISTICS = frozenset({"PatientSex", "PatientAge", "PatientSize", "PatientWeight", "EthnicGroup", "SmokingStatus", "PregnancyStatus"})

#: UI attributes that hold well-known class/syntax/scheme UIDs, never remapped.
_KEEP_UI = frozenset({
    "SOPClassUID", "ReferencedSOPClassUID", "MediaStorageSOPClassUID", "TransferSyntaxUID",
    "ImplementationClassUID", "CodingSchemeUID", "ContextGroupExtensionCreatorUID", "MappingResourceUID",
    "ReferencedSOPClassUIDInFile", "ReferencedTransferSyntaxUIDInFile", "PrivateInformationCreatorUID",
})

_DCM_CODES = {
    "113100": "Basic Application Confidentiality Profile",
    "113107": "Retain Longitudinal Temporal Information Modified Dates Option",
    "113108": "Retain Patient Characteristics Option",
}


def _digest(salt: str | bytes, *parts: str) -> bytes:
    h = hashlib.sha256(salt.encode() if isinstance(salt, str) else bytes(salt))
    for p in parts:
        h.update(b"\x00" + p.encode())
    return h.digest()


def remap_uid(uid: str, *, salt: str | bytes) -> str:
    """Deterministic replacement UID: ``generate_uid(entropy_srcs=[salt, uid])`` (pydicom root)."""
    s = salt.decode() if isinstance(salt, bytes) else salt
    return str(generate_uid(entropy_srcs=[s, str(uid)]))


def date_offset_days(patient_id: str, *, salt: str | bytes) -> int:
    """Per-patient date shift in days, in ``[-3650, -1]`` (up to ten years into the past)."""
    return -(int.from_bytes(_digest(salt, "date", patient_id)[:8], "big") % 3650 + 1)


def pseudonym(patient_id: str, *, salt: str | bytes) -> str:
    """Replacement Patient ID / Name: ``HP`` + 16 hex digits of SHA-256(salt, patient ID)."""
    return "HP" + _digest(salt, "id", patient_id).hex()[:16].upper()


def _shift_da(value: str, days: int) -> str:
    if not value:
        return value
    try:
        d = _dt.datetime.strptime(str(value)[:8], "%Y%m%d").date()
    except ValueError:
        return ""  # an unparseable date cannot be shifted: remove its content
    return (d + _dt.timedelta(days=days)).strftime("%Y%m%d")


def _shift_dt(value: str, days: int) -> str:
    text = str(value)
    if len(text) < 8:
        return ""
    return _shift_da(text[:8], days) + text[8:]


def _clean(ds: Dataset, *, salt: str | bytes, days: int, alias: str, retain_chars: bool) -> None:
    for elem in list(ds):
        kw = elem.keyword
        action = PHI_ACTIONS.get(kw)
        if action and not (retain_chars and kw in _PATIENT_CHARACTERISTICS):
            if action == "X":
                del ds[elem.tag]
            elif action == "Z":
                elem.value = None
            elif elem.VR == "PN" or kw == "PatientID":
                elem.value = alias
            elif elem.VR == "SQ":
                del ds[elem.tag]
            else:
                elem.value = "REMOVED" if elem.VR in ("LO", "SH", "LT", "ST", "UT") else None
            continue
        if elem.VR == "SQ":
            for item in elem.value:
                _clean(item, salt=salt, days=days, alias=alias, retain_chars=retain_chars)
        elif elem.VR == "UI" and kw not in _KEEP_UI and elem.value:
            values = elem.value if elem.VM > 1 else [elem.value]
            new = [v if v in UID_dictionary else remap_uid(v, salt=salt) for v in values]
            elem.value = new if elem.VM > 1 else new[0]
        elif elem.VR == "DA" and elem.value:
            values = elem.value if elem.VM > 1 else [elem.value]
            new = [_shift_da(v, days) for v in values]
            elem.value = new if elem.VM > 1 else new[0]
        elif elem.VR == "DT" and elem.value:
            values = elem.value if elem.VM > 1 else [elem.value]
            new = [_shift_dt(v, days) for v in values]
            elem.value = new if elem.VM > 1 else new[0]
        elif elem.VR == "PN" and elem.value:
            elem.value = alias  # any other person name (PS3.15 E.1-1 lists names as D/Z/X)


def deidentify_dataset(
    ds: Dataset,
    *,
    salt: str | bytes,
    retain_patient_characteristics: bool = False,
    source: str | None = None,
) -> Dataset:
    """De-identify one dataset in place (and return it) per PS3.15 Annex E (see module docstring).

    Parameters
    ----------
    ds
        The dataset (with its ``file_meta``, whose Media Storage SOP Instance UID is remapped).
    salt
        Secret that makes pseudonyms, UIDs and the date shift deterministic; at least 8 characters.
    retain_patient_characteristics
        Keep sex, age, size and weight (PS3.15 option DCM 113108).
    source
        Name of the input for error messages.

    Raises
    ------
    InvalidInputError
        Salt too short.
    UnsupportedSeriesError
        (0028,0301) Burned In Annotation is ``YES`` (Clean Pixel Data is not implemented).
    """
    if not salt or len(salt) < 8:
        raise InvalidInputError("salt: expected a secret of at least 8 characters (it keys the UID and date mapping)")
    name = source or str(getattr(ds, "SOPInstanceUID", "<dataset>"))
    if str(getattr(ds, "BurnedInAnnotation", "")).upper() == "YES":
        raise UnsupportedSeriesError(f"{name}: (0028,0301) Burned In Annotation = YES; pixel data would need cleaning, which heartprint does not do")
    patient_id = str(getattr(ds, "PatientID", "") or "")
    days = date_offset_days(patient_id, salt=salt)
    alias = pseudonym(patient_id, salt=salt)
    ds.remove_private_tags()
    _clean(ds, salt=salt, days=days, alias=alias, retain_chars=retain_patient_characteristics)
    meta = getattr(ds, "file_meta", None)
    if meta is not None and "MediaStorageSOPInstanceUID" in meta:
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    from heartprint import __version__

    codes_used = ["113100", "113107"] + (["113108"] if retain_patient_characteristics else [])
    ds.PatientIdentityRemoved = "YES"
    ds.LongitudinalTemporalInformationModified = "MODIFIED"
    ds.DeidentificationMethod = f"heartprint {__version__} PS3.15 E basic, modified dates"[:64]
    items = []
    for code in codes_used:
        item = Dataset()
        item.CodeValue = code
        item.CodingSchemeDesignator = "DCM"
        item.CodeMeaning = _DCM_CODES[code]
        items.append(item)
    ds.DeidentificationMethodCodeSequence = items
    return ds


def _dicom_files(src: Path) -> Iterable[Path]:
    if src.is_file():
        yield src
        return
    for p in sorted(src.rglob("*")):
        if p.is_file():
            yield p


def deidentify_folder(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    salt: str | bytes,
    retain_patient_characteristics: bool = False,
    overwrite: bool = False,
) -> list[Path]:
    """De-identify every DICOM file under ``src`` into ``dst``, all or nothing.

    Output files are named by their new UIDs, ``<SeriesInstanceUID>/<SOPInstanceUID>.dcm``
    (input file and folder names may themselves carry PHI). Files that are not DICOM are
    skipped with a :class:`~heartprint.errors.SkippedFileWarning`. Everything is written into
    a temporary folder beside ``dst`` that is moved into place when complete.

    Returns
    -------
    list of Path
        The written files.

    Raises
    ------
    InvalidInputError
        ``src`` missing, ``dst`` exists without ``overwrite``, or no DICOM file found.
    """
    source = Path(src)
    out = Path(dst)
    if not source.exists():
        raise InvalidInputError(f"src {source}: does not exist")
    if out.exists() and not overwrite:
        raise InvalidInputError(f"dst {out}: exists; pass overwrite=True to replace it")
    written: list[Path] = []
    with atomic_dir(out) as tmp:
        for path in _dicom_files(source):
            try:
                ds = pydicom.dcmread(path)
            except Exception as exc:  # not DICOM
                warnings.warn(f"{path}: skipped, not readable as DICOM ({exc})", SkippedFileWarning, stacklevel=2)
                continue
            deidentify_dataset(ds, salt=salt, retain_patient_characteristics=retain_patient_characteristics, source=str(path))
            rel = Path(str(ds.get("SeriesInstanceUID", "unknown_series"))) / f"{ds.SOPInstanceUID}.dcm"
            (tmp / rel.parent).mkdir(parents=True, exist_ok=True)
            ds.save_as(tmp / rel, enforce_file_format=True)
            written.append(out / rel)
        if not written:
            raise InvalidInputError(f"src {source}: no DICOM file found")
    return written

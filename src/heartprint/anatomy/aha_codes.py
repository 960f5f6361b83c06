"""Coded concepts for AHA myocardial segments and coronary arteries (DICOM SR and FHIR).

Each entry is ``(code value, coding scheme designator, code meaning)``, copied from the DICOM
standard's context groups as shipped in pydicom's PS3.16 code dictionary
(``pydicom.sr.codedict.codes``, pydicom 3.0):

* :data:`AHA_SEGMENT_CODES` — DICOM PS3.16 **CID 3717** "Left Ventricle Myocardial Wall 17
  Segment Model" (``codes.cid3717``), SNOMED CT. The segment numbering and names are the
  AHA 17-segment model (Cerqueira et al. 2002, :data:`heartprint.anatomy.AHA_SEGMENT_NAMES`);
  CID 3717 names the same segments ("left ventricle basal anterior segment" ... "Apex of
  left ventricle").
* :data:`CORONARY_ARTERY_CODES` / :data:`CORONARY_SEGMENT_CODES` — DICOM PS3.16 **CID 3015**
  "Coronary Arteries" (``codes.cid3015``; the proximal/mid/distal codes are also in CID
  3014 "Coronary Artery Segments"), SNOMED CT.

``tests/test_io_sr.py`` checks every entry against pydicom's dictionary.
"""

from __future__ import annotations

from typing import Mapping

from heartprint.anatomy._aha import AHA_SEGMENT_NAMES

__all__ = [
    "AHA_SEGMENT_CODES", "CORONARY_ARTERY_CODES", "CORONARY_SEGMENT_CODES", "SNOMED_FHIR_SYSTEM",
    "segment_code", "segment_text", "vessel_code", "vessel_text",
]

#: FHIR system URI of SNOMED CT (scheme designator ``SCT``).
SNOMED_FHIR_SYSTEM = "http://snomed.info/sct"

#: AHA segment number → (code, scheme, meaning); DICOM PS3.16 CID 3717 (pydicom ``codes.cid3717``).
AHA_SEGMENT_CODES: Mapping[int, tuple[str, str, str]] = {
    1: ("264850008", "SCT", "left ventricle basal anterior segment"),
    2: ("396482007", "SCT", "left ventricle basal anteroseptal segment"),
    3: ("396646008", "SCT", "left ventricle basal inferoseptal segment"),
    4: ("264846001", "SCT", "left ventricle basal inferior segment"),
    5: ("396652009", "SCT", "left ventricle basal inferolateral segment"),
    6: ("396654005", "SCT", "left ventricle basal anterolateral segment"),
    7: ("264848000", "SCT", "left ventricle mid anterior segment"),
    8: ("396647004", "SCT", "left ventricle mid anteroseptal segment"),
    9: ("396649001", "SCT", "left ventricle mid inferoseptal segment"),
    10: ("264847005", "SCT", "left ventricle mid inferior segment"),
    11: ("396655006", "SCT", "left ventricle mid inferolateral segment"),
    12: ("396656007", "SCT", "left ventricle mid anterolateral segment"),
    13: ("264844003", "SCT", "left ventricle apical anterior segment"),
    14: ("264845002", "SCT", "left ventricle apical septal segment"),
    15: ("264849008", "SCT", "left ventricle apical inferior segment"),
    16: ("264853005", "SCT", "left ventricle apical lateral segment"),
    17: ("128564006", "SCT", "Apex of left ventricle"),
}

#: heartprint vessel key → (code, scheme, meaning); DICOM PS3.16 CID 3015 (pydicom ``codes.cid3015``).
CORONARY_ARTERY_CODES: Mapping[str, tuple[str, str, str]] = {
    "LM": ("3227004", "SCT", "Left Main Coronary Artery"),
    "LAD": ("59438005", "SCT", "Left Anterior Descending Coronary Artery"),
    "LCx": ("57396003", "SCT", "Circumflex Coronary Artery"),
    "RCA": ("13647002", "SCT", "Right Coronary Artery"),
}

#: (vessel, part) → (code, scheme, meaning); DICOM PS3.16 CID 3014/3015 (pydicom ``codes.cid3014``).
CORONARY_SEGMENT_CODES: Mapping[tuple[str, str], tuple[str, str, str]] = {
    ("LAD", "proximal"): ("68787002", "SCT", "Proximal Left Anterior Descending Coronary Artery"),
    ("LAD", "mid"): ("91748002", "SCT", "Mid Left Anterior Descending Coronary Artery"),
    ("LAD", "distal"): ("36672000", "SCT", "Distal Left Anterior Descending Coronary Artery"),
    ("LCx", "proximal"): ("52433000", "SCT", "Proximal Circumflex Coronary Artery"),
    ("LCx", "mid"): ("91753007", "SCT", "Mid Circumflex Coronary Artery"),
    ("LCx", "distal"): ("6511003", "SCT", "Distal Circumflex Coronary Artery"),
    ("RCA", "proximal"): ("91083009", "SCT", "Proximal Right Coronary Artery"),
    ("RCA", "mid"): ("450960006", "SCT", "Mid Right Coronary Artery"),
    ("RCA", "distal"): ("41879009", "SCT", "Distal Right Coronary Artery"),
}


def segment_code(segment: int) -> tuple[str, str, str]:
    """(code, scheme, meaning) of AHA segment ``segment`` (1–17), CID 3717."""
    from heartprint.errors import InvalidInputError

    try:
        return AHA_SEGMENT_CODES[int(segment)]
    except (KeyError, TypeError, ValueError):
        raise InvalidInputError(f"segment={segment!r}: expected an AHA segment number 1-17") from None


def segment_text(segment: int) -> str:
    """Plain name, e.g. ``"AHA segment 4 (basal inferior)"``."""
    segment_code(segment)
    return f"AHA segment {int(segment)} ({AHA_SEGMENT_NAMES[int(segment)]})"


def vessel_code(vessel: str, part: str | None = None) -> tuple[str, str, str] | None:
    """(code, scheme, meaning) of a coronary vessel (and part, where CID 3014 has one); ``None`` if unknown."""
    if part is not None and (vessel, part) in CORONARY_SEGMENT_CODES:
        return CORONARY_SEGMENT_CODES[(vessel, part)]
    return CORONARY_ARTERY_CODES.get(vessel)


def vessel_text(vessel: str, part: str | None = None) -> str:
    """Plain name, e.g. ``"LAD (proximal)"``."""
    return f"{vessel} ({part})" if part else vessel

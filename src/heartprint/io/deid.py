"""De-identification for export: DICOM PS3.15 Annex E, Basic Application Level Confidentiality Profile.

The per-attribute actions are those of PS3.15 Table E.1-1 (Basic Profile column), read from the
table that the maintained ``dicom-anonymizer`` package (KitwareMedical) ships for edition
2026c (``dicomanonymizer.dicom_anonymization_databases.dicomfields_2026c``); heartprint
applies them itself (at every sequence nesting level, with a keyed UID and date mapping and the
options below), because the package applies them only at the top level, with random UIDs and
without options. See ``docs/deidentification.md`` for the choice and what each action does.

Options (PS3.15 Table E.1-1 columns; coded in (0012,0064) De-identification Method Code
Sequence from PS3.16 CID 7050):

* DCM 113100 *Basic Application Confidentiality Profile* — always.
* DCM 113107 *Retain Longitudinal Temporal Information with Modified Dates* (default on,
  ``retain_modified_dates``): the attributes of that column are cleaned by shifting every date
  (DA, and the date part of DT) by a per-patient number of days derived from the secret salt
  and the Patient ID, so intervals between one patient's dates are kept; times are kept.
* DCM 113105 *Clean Descriptors* (``clean_descriptors``): descriptions and comments of that
  column are kept after removing every identifying value of the same instance (names, IDs,
  dates, institution...) and every run of 5 or more digits, instead of being removed.
* DCM 113110 *Retain UIDs* (``retain_uids``): the UIDs of that column are kept; otherwise
  every instance UID is replaced (``U``) by :func:`remap_uid`, the same input UID giving the
  same output UID in every file of a run (and of later runs with the same salt).
* DCM 113108 *Retain Patient Characteristics* (``retain_patient_characteristics``): sex, age,
  size, weight... are kept (heartprint needs size and weight for body-surface-area indexing).

The option columns are carried below as tag sets, transcribed from the machine-readable copy of
Table E.1-1 in ``idiscore`` 1.6.0 (``idiscore/_public_dicom.py``, scraped 2025-06-24 from the
current PS3.15 chapter E); an attribute of the 2026c Basic Profile column that is absent from an
option column gets its Basic Profile action (the safe side).

Private attributes are removed; so are curves (50xx) and overlays (60xx), every public attribute
that the data dictionary does not know, and the file meta information other than the SOP class,
instance and transfer syntax. Other standard attributes not in the table are kept, except that
any person name is emptied, any non-standard UID is replaced and any date is shifted like the
listed ones.

Not applied: Clean Pixel Data (113101). Pixel data are copied unchanged, so an instance with
(0028,0301) Burned In Annotation ``YES`` — or without that attribute, for a modality or SOP class
that often carries burned-in text (ultrasound, secondary capture, angiography, endoscopy, video,
photography...) — is refused unless the caller states that the pixel data were cleared
(``burned_in_annotation_cleared=True``).
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import os
import re
import stat
import warnings
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import pydicom
from pydicom.datadict import dictionary_has_tag
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag, Tag
from pydicom.uid import UID_dictionary, generate_uid  # type: ignore[attr-defined]

from heartprint._atomic import atomic_dir
from heartprint.errors import InvalidInputError, SkippedFileWarning, UnsupportedSeriesError

__all__ = [
    "BURNED_IN_MODALITIES", "PHI_TABLE_CITATION", "TABLE_EDITION", "basic_profile", "date_offset_days",
    "deidentify_dataset", "deidentify_folder", "option_actions", "output_name", "pseudonym", "remap_uid",
]

#: Edition of PS3.15 Table E.1-1 whose Basic Profile column is applied.
TABLE_EDITION = "2026c"

PHI_TABLE_CITATION = (
    "DICOM PS3.15 (2026c) Annex E, Table E.1-1 'Application Level Confidentiality Profile "
    "Attributes', Basic Profile column (as shipped by dicom-anonymizer 2.1.0, dicomfields_2026c); "
    "options per Table E.1-1 columns 'Rtn. Long. Modif. Dates', 'Clean Desc.', 'Rtn. UIDs' and "
    "'Rtn. Pat. Chars.' (as transcribed by idiscore 1.6.0 from the 2025 edition)"
)

#: Modalities (0008,0060) that often carry burned-in text: refused when (0028,0301) is absent.
BURNED_IN_MODALITIES = frozenset({
    "US", "IVUS", "XA", "RF", "ES", "XC", "GM", "OP", "SM", "OT", "DOC", "VA", "IO", "PX",
})
#: SOP classes of the same kind: secondary capture (…1.1.7 and …1.1.7.x) and VL images (…1.1.77.x:
#: photographs, endoscopy, video).
_SC_CLASS = "1.2.840.10008.5.1.4.1.1.7"
_BURNED_IN_SOP_PREFIXES = (_SC_CLASS + ".", "1.2.840.10008.5.1.4.1.1.77.")

_GROUPS = {  # dicom-anonymizer's grouping of Table E.1-1 rows by Basic Profile action
    "D_TAGS": "D", "Z_TAGS": "Z", "X_TAGS": "X", "U_TAGS": "U", "Z_D_TAGS": "Z/D", "X_Z_TAGS": "X/Z",
    "X_D_TAGS": "X/D", "X_Z_D_TAGS": "X/Z/D", "X_Z_U_STAR_TAGS": "X/Z/U*",
}


def _tags(text: str) -> frozenset[int]:
    return frozenset(int(t, 16) for t in text.split())


_OPT_RETAIN_UIDS = _tags("""
00001000 00001001 00020003 00041511 00080014 00080017 00080018 00080019 00080058 00081110
00081111 00081120 00081140 00081155 00081195 00082112 00083010 00181002 0018100B 00182042
0020000D 0020000E 00200052 00200200 00209161 00209164 00281199 00281214 003A0310 00400554
00404023 0040A171 0040A172 0040A402 0040DB0C 0040DB0D 00620021 00640003 006A0003 0070031A
00701101 00701102 00880140 30060024 300600C2 300A0013 300A0054 300A0083 300A0609 300A0650
300A0700 300A0785 30100006 3010000B 30100013 30100015 30100031 3010003B 3010006E 3010006F
""")
_OPT_MODIFIED_DATES = _tags("""
00080012 00080013 00080015 00080020 00080021 00080022 00080023 00080024 00080025 0008002A
00080030 00080031 00080032 00080033 00080034 00080035 00080106 00080107 00080201 001021D0
00120086 00120087 0014407C 0014407E 0016008D 00180027 00180035 00181012 00181014 00181042
00181043 00181072 00181073 00181078 00181079 00181200 00181201 00181202 00181203 00181204
00181205 0018700C 0018700E 00189074 00189151 00189369 0018936A 00189516 00189517 00189623
00189701 00189804 00189919 0018A002 00203403 00203405 00320032 00320033 00320034 00320035
00321000 00321001 00321010 00321011 00321040 00321041 00321050 00321051 00340007 0038001A
0038001B 0038001C 0038001D 00380020 00380021 00380030 00380032 003A0314 00400002 00400003
00400004 00400005 00400244 00400245 00400250 00400251 00402004 00402005 00404005 00404008
00404010 00404011 00404050 00404051 00404052 0040A023 0040A024 0040A030 0040A032 0040A033
0040A034 0040A035 0040A082 0040A110 0040A112 0040A120 0040A121 0040A122 0040A13A 0040A192
0040A193 0040B034 0040B036 0040DB06 0040DB07 0040E004 00440004 0044000B 00440010 00440104
00440105 00686226 00686270 00700082 00700083 0072000A 00720061 00720063 0072006B 01000420
04000105 04000310 04000562 21000040 21000050 30060008 30060009 3006002D 3006002E 30080024
30080025 30080054 30080056 30080162 30080164 30080166 30080168 30080250 30080251 300A0006
300A0007 300A022C 300A022E 300A0736 300A073A 300A0741 300A0760 300C0127 300E0004 300E0005
3010004C 3010004D 30100085 40080100 40080101 40080108 40080109 40080112 40080113
""")
_OPT_CLEAN_DESCRIPTORS = _tags("""
00081030 0008103E 00081080 00081084 00081088 00081301 00081302 00081303 00081304 00082111
00084000 00100016 00100042 00100045 00102000 00102110 00102180 001021B0 00104000 00120051
00120072 0016002B 0016004B 00180010 00181030 001811BB 00181400 00184000 00189185 0018937B
0018937F 00189424 00189937 0018A003 00200027 00204000 00209158 00321030 00321060 00321066
00321067 00321070 00324000 00380040 00380062 00380500 00384000 003A0329 003A032B 00400007
00400254 00400275 00400280 00400310 0040051A 00400600 00400602 00401002 0040100A 00401400
00402001 00402400 0040B03B 0040B03F 00500021 006A0005 006A0006 00720066 00720068 0072006C
0072006E 00720070 04000565 22000002 30020121 30020123 30060002 30060004 30060006 30060026
30060028 30060038 30060085 30060088 300A0002 300A0003 300A0004 300A000B 300A000E 300A0016
300A0072 300A00C3 300A00DD 300A0196 300A01A6 300A01B2 300A02EB 300A0608 300A0619 300A0623
300A062A 300A0676 300A067C 300A067D 300A0734 300A0742 300A0783 300A078E 300A0792 300A0794
300A079A 300C0113 3010000F 30100017 30100033 30100034 30100035 30100036 30100037 30100038
30100054 30100056 3010005A 3010005C 30100061 30100077 3010007A 3010007B 3010007F 30100081
4008010B 40080115 40080300 40084000
""")
_OPT_PATIENT_CHARACTERISTICS_K = _tags("""
00100040 00100043 00100046 00100047 00101010 00101020 00101030 00102160 00102161 00102162
001021A0 001021C0 00102203 0072005F
""")
_OPT_PATIENT_CHARACTERISTICS_C = _tags("""
00100042 00102110 00380050 00380500 00400012
""")


@functools.cache
def _profile() -> tuple[Mapping[int, str], tuple[tuple[int, int, int, int, str], ...]]:
    from dicomanonymizer.dicomfields_selector import dicom_anonymization_database_selector

    db = dicom_anonymization_database_selector("dicomfields_" + TABLE_EDITION)
    single: dict[int, str] = {}
    masked: list[tuple[int, int, int, int, str]] = []
    for group, action in _GROUPS.items():
        for t in db[group]:
            if len(t) == 2:
                single[int(Tag(t[0], t[1]))] = action
            else:  # (group, element, group mask, element mask): curves and overlays
                masked.append((t[0], t[1], t[2], t[3], action))
    return MappingProxyType(single), tuple(masked)


def basic_profile() -> Mapping[int, str]:
    """Tag (as int) → Basic Profile action of PS3.15 Table E.1-1 (edition :data:`TABLE_EDITION`).

    Actions: ``D`` dummy, ``Z`` zero length, ``X`` remove, ``U`` replace UID, and the
    alternatives ``Z/D``, ``X/Z``, ``X/D``, ``X/Z/D``, ``X/Z/U*`` (see ``docs/deidentification.md``
    for the one chosen). The repeating-group rows (curves 50xx, overlays 60xx) are not in it:
    those groups are removed whole.
    """
    return _profile()[0]


def option_actions(
    *, retain_modified_dates: bool, clean_descriptors: bool, retain_uids: bool, retain_patient_characteristics: bool
) -> dict[int, str]:
    """Tag → action (``K`` or ``C``) that the chosen options put in place of the Basic Profile action."""
    out: dict[int, str] = {}
    if clean_descriptors:
        out.update(dict.fromkeys(_OPT_CLEAN_DESCRIPTORS, "C"))
    if retain_modified_dates:
        out.update(dict.fromkeys(_OPT_MODIFIED_DATES, "C"))
    if retain_patient_characteristics:
        out.update(dict.fromkeys(_OPT_PATIENT_CHARACTERISTICS_C, "C"))
        out.update(dict.fromkeys(_OPT_PATIENT_CHARACTERISTICS_K, "K"))
    if retain_uids:
        out.update(dict.fromkeys(_OPT_RETAIN_UIDS, "K"))
    return out


#: UI attributes that hold well-known class/syntax/scheme UIDs, never remapped.
_KEEP_UI = frozenset({
    "SOPClassUID", "ReferencedSOPClassUID", "MediaStorageSOPClassUID", "TransferSyntaxUID",
    "ImplementationClassUID", "CodingSchemeUID", "ContextGroupExtensionCreatorUID", "MappingResourceUID",
    "ReferencedSOPClassUIDInFile", "ReferencedTransferSyntaxUIDInFile", "PrivateInformationCreatorUID",
    "RelatedGeneralSOPClassUID", "OriginalSpecializedSOPClassUID", "RetrieveAETitle",
})

_DCM_CODES = {
    "113100": "Basic Application Confidentiality Profile",
    "113105": "Clean Descriptors Option",
    "113107": "Retain Longitudinal Temporal Information Modified Dates Option",
    "113108": "Retain Patient Characteristics Option",
    "113110": "Retain UIDs Option",
}

_UID_RE = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")
_TEXT_VRS = frozenset({"AE", "CS", "LO", "LT", "SH", "ST", "UC", "UT", "PN"})
_BIN_INT_VRS = frozenset({"US", "SS", "UL", "SL", "UV", "SV", "FL", "FD", "AT"})
_DUMMY = {"DA": "19000101", "TM": "000000", "DT": "19000101000000", "AS": "000D", "DS": "0", "IS": "0",
          "UR": "http://removed.invalid", "CS": "REMOVED"}


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


def output_name(uid: object) -> str:
    """A file or folder name for a UID: the UID itself if it is a valid UID (digits and dots, at
    most 64 characters), else ``h`` + 32 hex digits of its SHA-256 — never a path."""
    text = str(uid if uid is not None else "")
    if 0 < len(text) <= 64 and _UID_RE.fullmatch(text):
        return text
    return "h" + hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def _shift_da(value: str, days: int) -> str:
    try:
        d = _dt.datetime.strptime(str(value).strip()[:8], "%Y%m%d").date()
        return (d + _dt.timedelta(days=days)).strftime("%Y%m%d")
    except (ValueError, OverflowError):
        return ""  # an unparseable date cannot be shifted: remove its content


def _shift_dt(value: str, days: int) -> str:
    text = str(value).strip()
    head = _shift_da(text[:8], days) if len(text) >= 8 else ""
    return head + text[8:] if head else ""


def _values(elem: DataElement) -> list:
    v = elem.value
    if v is None or v == "":
        return []
    return list(v) if elem.VM > 1 else [v]


def _set(elem: DataElement, values: list) -> None:
    values = [v for v in values if v not in ("", None)]
    elem.value = None if not values else values if len(values) > 1 else values[0]


class _Context:
    def __init__(self, *, salt, days, alias, options, retain_uids, shift_dates, identifiers):
        self.salt, self.days, self.alias, self.options = salt, days, alias, options
        self.retain_uids, self.shift_dates, self.identifiers = retain_uids, shift_dates, identifiers

    def uid(self, value: str, *, listed: bool = True) -> str:
        """Replacement of an instance UID; a standard UID (class, syntax...) is kept, and so is a
        UID of an attribute not listed in Table E.1-1 under the Retain UIDs option (listed ones
        are kept by that option's column)."""
        v = str(value).strip()
        if v in UID_dictionary or (self.retain_uids and not listed):
            return v
        return remap_uid(v, salt=self.salt)

    def clean_text(self, text: str) -> str:
        out = str(text)
        for ident in self.identifiers:
            out = re.sub(re.escape(ident), "*", out, flags=re.IGNORECASE)
        return re.sub(r"\d{5,}", "*", out)


def _dummy(elem: DataElement, ctx: _Context) -> None:
    vr = elem.VR
    if elem.tag in (0x00100010, 0x00100020):  # Patient's Name, Patient ID: the keyed pseudonym
        elem.value = ctx.alias
    elif vr == "UI":
        _set(elem, [remap_uid(v, salt=ctx.salt) for v in _values(elem)] or [remap_uid("dummy", salt=ctx.salt)])
    elif vr in _DUMMY:
        elem.value = _DUMMY[vr]
    elif vr in _TEXT_VRS:
        elem.value = "REMOVED"
    elif vr in _BIN_INT_VRS:
        elem.value = 0
    else:  # OB, OW, OF, OD, OL, OV, UN
        elem.value = b"\x00\x00"


def _shift(elem: DataElement, ctx: _Context) -> None:
    if elem.VR == "DA":
        _set(elem, [_shift_da(v, ctx.days) for v in _values(elem)])
    elif elem.VR == "DT":
        _set(elem, [_shift_dt(v, ctx.days) for v in _values(elem)])


def _apply(ds: Dataset, elem: DataElement, action: str, ctx: _Context) -> None:
    vr = elem.VR
    if action == "K":
        if vr == "SQ":
            _clean_items(elem, ctx)
        return
    if action == "C":
        if vr == "SQ":
            _clean_items(elem, ctx)
        elif vr in ("DA", "DT"):
            _shift(elem, ctx)
        elif vr in _TEXT_VRS and vr != "PN":
            _set(elem, [ctx.clean_text(v) for v in _values(elem)])
        elif vr == "TM" or vr in _BIN_INT_VRS or vr in ("DS", "IS", "AS"):
            pass  # a time, number or age is kept (with the date shift, times of day are kept)
        else:
            elem.value = None  # nothing cleanable (binary, names): zero length
        return
    # Basic Profile alternatives: the least removal that keeps a conformant instance
    action = {"Z/D": "D", "X/Z": "Z", "X/D": "D", "X/Z/D": "D"}.get(action, action)
    if action == "X":
        del ds[elem.tag]
    elif action == "Z":
        if elem.tag in (0x00100010, 0x00100020):  # Z allows a dummy: the keyed pseudonym links a patient's files
            elem.value = ctx.alias
        else:
            elem.value = Sequence() if vr == "SQ" else None
    elif action == "U":
        _set(elem, [ctx.uid(v) for v in _values(elem)]) if vr == "UI" else _dummy(elem, ctx)
    elif action == "X/Z/U*":  # references: keep the structure, replace contained UIDs
        if vr == "SQ":
            _clean_items(elem, ctx)
        elif vr == "UI":
            _set(elem, [ctx.uid(v) for v in _values(elem)])
        else:
            elem.value = None
    elif action == "D":
        if vr == "SQ":
            _clean_items(elem, ctx)
            for item in elem.value:  # e.g. Content Sequence: Text Value is not a table row, clean it
                for inner in item.iterall():
                    if inner.VR in ("LT", "ST", "UT", "UC") and int(inner.tag) not in _profile()[0]:
                        _set(inner, [ctx.clean_text(v) for v in _values(inner)])
            if len(elem.value) == 0:
                elem.value = [Dataset()]
        else:
            _dummy(elem, ctx)
    else:  # pragma: no cover - the table has no other action
        raise AssertionError(f"unknown action {action!r} for {elem.tag}")


def _clean_items(elem: DataElement, ctx: _Context) -> None:
    for item in elem.value or []:
        _clean(item, ctx)


def _clean(ds: Dataset, ctx: _Context) -> None:
    table, masked = _profile()
    for tag in list(ds.keys()):
        try:
            elem = ds[tag]  # converts a raw element
        except Exception:  # an element that cannot be parsed cannot be checked: removed
            del ds[tag]
            continue
        t = int(tag)
        group = t >> 16
        if BaseTag(t).is_private:
            del ds[tag]
            continue
        if (group & 0xFF00) in (0x5000, 0x6000) or (t & 0xFFFF) == 0 or not dictionary_has_tag(t):
            del ds[tag]  # curves, overlays (all of 50xx/60xx), group lengths, unknown public tags
            continue
        action = ctx.options.get(t) or table.get(t)
        if action is None and any(group & gm == g & gm and (t & 0xFFFF) & em == e & em for g, e, gm, em, _ in masked):
            del ds[tag]
            continue
        if action is not None:
            _apply(ds, elem, action, ctx)
        elif elem.VR == "SQ":
            _clean_items(elem, ctx)
        elif elem.VR == "UI" and elem.keyword not in _KEEP_UI:
            _set(elem, [ctx.uid(v, listed=False) for v in _values(elem)])
        elif elem.VR == "PN":
            elem.value = None
        elif elem.VR in ("DA", "DT"):
            if ctx.shift_dates:
                _shift(elem, ctx)
            else:
                elem.value = None


def _identifiers(ds: Dataset, table: Mapping[int, str], kept: Mapping[int, str]) -> tuple[str, ...]:
    """Every identifying text of the instance — values of Table E.1-1 rows that the profile and
    options remove or replace (not UIDs) — for the Clean Descriptors option; name components are
    listed one by one."""
    found: set[str] = set()
    for elem in ds.iterall():
        t = int(elem.tag)
        if t not in table or t in kept or elem.VR in ("SQ", "UI") or table[t] == "U":
            continue
        for v in _values(elem) if elem.VR in _TEXT_VRS | {"DA", "DT", "TM"} else []:
            text = str(v)
            parts = re.split(r"[\^=\s,]+", text) if elem.VR == "PN" else [text]
            found.update(p.strip() for p in parts if len(p.strip()) >= 3)
    return tuple(sorted(found, key=len, reverse=True))


def _burned_in_reason(ds: Dataset) -> str | None:
    value = str(ds.get("BurnedInAnnotation", "") or "").strip().upper()
    if value == "YES":
        return "(0028,0301) Burned In Annotation = YES"
    if value == "NO":
        return None
    modality = str(ds.get("Modality", "") or "").strip().upper()
    sop_class = str(ds.get("SOPClassUID", "") or "")
    if modality in BURNED_IN_MODALITIES or sop_class == _SC_CLASS or sop_class.startswith(_BURNED_IN_SOP_PREFIXES):
        kind = f"modality {modality}" if modality in BURNED_IN_MODALITIES else "a secondary capture or visible-light image"
        found = "absent" if not value else f"neither YES nor NO ({value[:16]})"
        return f"(0028,0301) Burned In Annotation is {found} for {kind}, which often carries burned-in text"
    return None


def deidentify_dataset(
    ds: Dataset,
    *,
    salt: str | bytes,
    retain_patient_characteristics: bool = False,
    retain_modified_dates: bool = True,
    clean_descriptors: bool = False,
    retain_uids: bool = False,
    burned_in_annotation_cleared: bool = False,
    source: str | None = None,
) -> Dataset:
    """De-identify one dataset in place (and return it) per PS3.15 Annex E (see module docstring).

    Parameters
    ----------
    ds
        The dataset (with its ``file_meta``, reduced to SOP class, instance and transfer syntax).
    salt
        Secret that makes pseudonyms, UIDs and the date shift deterministic; at least 8 characters.
    retain_patient_characteristics
        PS3.15 option DCM 113108: keep sex, age, size, weight...
    retain_modified_dates
        PS3.15 option DCM 113107: shift dates by a per-patient offset instead of removing them.
    clean_descriptors
        PS3.15 option DCM 113105: keep descriptions and comments, cleaned of identifying values.
    retain_uids
        PS3.15 option DCM 113110: keep UIDs instead of remapping them.
    burned_in_annotation_cleared
        The caller states that the pixel data carry no burned-in identifying text (it was
        checked or removed); without it, instances that may carry such text are refused.
    source
        Name of the input for error messages.

    Raises
    ------
    InvalidInputError
        Salt too short.
    UnsupportedSeriesError
        Burned-in annotation is, or may be, present (see the module docstring).
    """
    if not salt or len(salt) < 8:
        raise InvalidInputError("salt: expected a secret of at least 8 characters (it keys the UID and date mapping)")
    name = source or "<dataset>"
    if not burned_in_annotation_cleared:
        reason = _burned_in_reason(ds)
        if reason:
            raise UnsupportedSeriesError(
                f"{name}: {reason}; the pixel data would need cleaning, which heartprint does not do "
                "(pass burned_in_annotation_cleared=True if they were checked)"
            )
    table = basic_profile()
    patient_id = str(ds.get("PatientID", "") or "")
    options = option_actions(
        retain_modified_dates=retain_modified_dates, clean_descriptors=clean_descriptors,
        retain_uids=retain_uids, retain_patient_characteristics=retain_patient_characteristics,
    )
    ctx = _Context(
        salt=salt, days=date_offset_days(patient_id, salt=salt), alias=pseudonym(patient_id, salt=salt),
        options=options, retain_uids=retain_uids, shift_dates=retain_modified_dates,
        identifiers=_identifiers(ds, table, options),
    )
    meta = getattr(ds, "file_meta", None)
    _clean(ds, ctx)
    if meta is not None:
        new_meta = FileMetaDataset()
        for kw in ("MediaStorageSOPClassUID", "TransferSyntaxUID"):
            if kw in meta:
                setattr(new_meta, kw, meta[kw].value)
        if "SOPInstanceUID" in ds:
            new_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.file_meta = new_meta
    from heartprint import __version__

    codes_used = ["113100"]
    codes_used += ["113105"] if clean_descriptors else []
    codes_used += ["113107"] if retain_modified_dates else []
    codes_used += ["113108"] if retain_patient_characteristics else []
    codes_used += ["113110"] if retain_uids else []
    ds.PatientIdentityRemoved = "YES"
    if retain_modified_dates:
        ds.LongitudinalTemporalInformationModified = "MODIFIED"
    else:
        ds.LongitudinalTemporalInformationModified = "REMOVED"
    ds.DeidentificationMethod = f"heartprint {__version__} PS3.15 E {TABLE_EDITION} basic"[:64]
    items = []
    for code in codes_used:
        item = Dataset()
        item.CodeValue = code
        item.CodingSchemeDesignator = "DCM"
        item.CodeMeaning = _DCM_CODES[code]
        items.append(item)
    ds.DeidentificationMethodCodeSequence = items
    return ds


def _skip(path: object, reason: str, skipped: list[tuple[Path, str]] | None) -> None:
    warnings.warn(f"{path}: skipped, {reason}", SkippedFileWarning, stacklevel=3)
    if skipped is not None:
        skipped.append((Path(str(path)), reason))


def _is_output(path: Path, out: Path) -> bool:
    """``path`` (resolved) lies in the output folder ``out`` (resolved) or in one of its temporary
    or previous copies beside it (``.<name>.*``, see :func:`heartprint._atomic.atomic_dir`)."""
    if path == out or path.is_relative_to(out):
        return True
    try:
        first = path.relative_to(out.parent).parts[0]
    except (ValueError, IndexError):
        return False
    return first.startswith(f".{out.name}.")


def _inputs(source: Path, out: Path, skipped: list[tuple[Path, str]] | None) -> list[Path]:
    """Regular files under ``source`` (not following directory links); links that leave the tree
    and special files (FIFOs, devices, sockets) are skipped with a reason, the output folder
    ``out`` (resolved) and its temporary copies silently."""
    root = source.resolve()
    if root.is_file():
        return [root]
    found: list[Path] = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        here = Path(folder)
        for d in list(dirs):
            p = here / d
            if p.is_symlink():
                dirs.remove(d)
                _skip(p, "a link to a folder (not followed)", skipped)
            elif _is_output(p.resolve(), out):
                dirs.remove(d)
        for f in sorted(files):
            p = here / f
            try:
                real = p.resolve(strict=True)
                st = os.stat(real)
            except (OSError, RuntimeError) as exc:
                _skip(p, f"not readable ({type(exc).__name__}: {exc})", skipped)
                continue
            if p.is_symlink() and not real.is_relative_to(root):
                _skip(p, "a link to a file outside the input folder", skipped)
            elif not stat.S_ISREG(st.st_mode):
                _skip(p, "not a regular file (device, FIFO or socket)", skipped)
            elif _is_output(real, out):
                continue
            else:
                found.append(p)
    return sorted(found)


def _read(path: Path) -> Dataset:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise OSError("not a regular file")
        return pydicom.dcmread(fh)


def _write(ds: Dataset, root: Path, parts: tuple[str, ...]) -> Path:
    """Write under ``root`` (a fresh folder of ours), creating folders, refusing links and
    existing files; the final path is proven inside ``root``."""
    path = root.joinpath(*parts)
    if any(os.sep in p or (os.altsep and os.altsep in p) or p in ("", ".", "..") for p in parts):
        raise InvalidInputError(f"output name {parts!r}: not a plain file name")
    if not path.resolve().is_relative_to(root.resolve()):
        raise InvalidInputError(f"output {path}: outside the output folder")
    folder = root
    for part in parts[:-1]:
        folder = folder / part
        if folder.is_symlink():
            raise InvalidInputError(f"output folder {folder}: is a link")
        folder.mkdir(exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o666)
    with os.fdopen(fd, "wb") as fh:
        ds.save_as(fh, enforce_file_format=True)
    return path


def deidentify_folder(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    salt: str | bytes,
    retain_patient_characteristics: bool = False,
    retain_modified_dates: bool = True,
    clean_descriptors: bool = False,
    retain_uids: bool = False,
    burned_in_annotation_cleared: bool = False,
    overwrite: bool = False,
    skipped: list[tuple[Path, str]] | None = None,
) -> list[Path]:
    """De-identify every DICOM file under ``src`` into ``dst``, all or nothing.

    Output files are named ``<series>/<instance>.dcm`` from the *de-identified* Series and SOP
    Instance UIDs through :func:`output_name` (a valid UID, else a hash): no input file name,
    folder name or unchecked DICOM value becomes a path. Everything is written into a fresh
    temporary folder beside ``dst`` (files created exclusively, never through a link, each path
    proven inside it) that is moved into place when complete.

    Skipped, each with a :class:`~heartprint.errors.SkippedFileWarning` naming the reason (and
    appended to ``skipped`` as ``(path, reason)`` if given): files that are not readable as
    DICOM, links to files outside ``src``, links to folders, special files (FIFOs, devices,
    sockets), instances refused by :func:`deidentify_dataset` (burned-in annotation) and a
    second instance with the same SOP Instance UID. The de-identification options are those of
    :func:`deidentify_dataset`.

    Returns
    -------
    list of Path
        The written files.

    Raises
    ------
    InvalidInputError
        ``src`` missing, ``dst`` exists without ``overwrite`` or is a link, or no DICOM file
        was de-identified.
    """
    source = Path(src)
    out = Path(dst)
    if not source.exists():
        raise InvalidInputError(f"src {source}: does not exist")
    if out.is_symlink():
        raise InvalidInputError(f"dst {out}: is a link; give a real folder")
    if out.exists() and not overwrite:
        raise InvalidInputError(f"dst {out}: exists; pass overwrite=True to replace it")
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"dst {out}: exists and is not a folder")
    out_real = out.resolve()
    if source.is_dir() and source.resolve().is_relative_to(out_real):
        raise InvalidInputError(f"src {source}: lies inside dst {out}")
    options = dict(
        retain_patient_characteristics=retain_patient_characteristics, retain_modified_dates=retain_modified_dates,
        clean_descriptors=clean_descriptors, retain_uids=retain_uids,
        burned_in_annotation_cleared=burned_in_annotation_cleared,
    )
    written: list[Path] = []
    seen: set[tuple[str, str]] = set()
    files = _inputs(source, out_real, skipped)
    with atomic_dir(out) as tmp:
        for path in files:
            try:
                ds = _read(path)
                deidentify_dataset(ds, salt=salt, source=str(path), **options)
                parts = (output_name(ds.get("SeriesInstanceUID")), output_name(ds.get("SOPInstanceUID")) + ".dcm")
                if parts in seen:
                    _skip(path, "a second instance with the same SOP Instance UID", skipped)
                    continue
                rel = _write(ds, tmp, parts)
            except (KeyboardInterrupt, SystemExit, GeneratorExit):
                raise
            except UnsupportedSeriesError as exc:
                _skip(path, str(exc).removeprefix(f"{path}: "), skipped)
                continue
            except BaseException as exc:  # not DICOM, or a decoder error (some are not Exceptions)
                _skip(path, f"not readable or writable as DICOM ({type(exc).__name__}: {exc})", skipped)
                continue
            seen.add(parts)
            written.append(out / rel.relative_to(tmp))
        if not written:
            raise InvalidInputError(f"src {source}: no DICOM file found that could be de-identified")
    return written

"""De-identification (PS3.15 Annex E Basic Profile + options), tested attribute by attribute
against an independent copy of PS3.15 Table E.1-1; plus UID remapping, dates, burned-in
annotation refusal and output paths that no DICOM value can steer.

The copy of Table E.1-1 at the end of this file (``_TABLE_E_1_1``) is NOT the one heartprint
applies: it is innolitics/dicom-standard ``standard/confidentiality_profile_attributes.json``
(commit 8670abdd9ad16c61af5146ef857899699bdd9c5f, "Update standard to rev2024b", i.e. DICOM
2024b, parsed from the standard's DocBook source), reduced to tag | name | Basic Profile |
Rtn. Long. Modif. Dates | Clean Desc. | Rtn. UIDs | Rtn. Pat. Chars. heartprint applies the
2026c Basic Profile column shipped by dicom-anonymizer and option columns transcribed from
idiscore; 2024b → 2026c only added rows, so every row here must hold.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import re

import numpy as np
import pydicom
import pytest
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from heartprint.errors import InvalidInputError, SkippedFileWarning, UnsupportedSeriesError
from heartprint.io.deid import (
    basic_profile, date_offset_days, deidentify_dataset, deidentify_folder, output_name, pseudonym, remap_uid,
)
from heartprint.phantoms import make_cine_sax
from heartprint.phantoms._dicom import write_cine_sax_dicom

SALT = "test-secret-salt"
PHI = {
    "PatientName": "DOE^JANE", "PatientID": "MRN-12345", "PatientBirthDate": "19600203",
    "PatientAddress": "1 Main Street", "OtherPatientIDs": "OTHER-1", "ReferringPhysicianName": "WHO^DR",
    "InstitutionName": "General Hospital", "InstitutionAddress": "2 Side Road", "StationName": "MR01",
    "AccessionNumber": "ACC777", "StudyID": "S42", "DeviceSerialNumber": "SN-999", "OperatorsName": "TECH^ONE",
    "PerformingPhysicianName": "DOC^TWO", "PatientTelephoneNumbers": "555-0100", "PatientComments": "VIP",
}


# --------------------------------------------------------------------------- the table copy

def _rows() -> list[dict]:
    rows = []
    for line in _TABLE_E_1_1.strip().splitlines():
        tag, name, basic, dates, desc, uids, chars = line.split("|")
        rows.append({"tag": tag, "name": name, "basic": basic, "dates": dates, "desc": desc, "uids": uids, "chars": chars})
    return rows


def _single_rows() -> list[dict]:
    out = []
    for r in _rows():
        m = re.fullmatch(r"\(([0-9A-F]{4}),([0-9A-F]{4})\)", r["tag"])
        if m:
            out.append({**r, "int": int(m[1] + m[2], 16)})
    return out


def test_table_copy_is_complete_and_matches_the_applied_table():
    rows = _rows()
    assert len(rows) == 621  # rev2024b
    singles = _single_rows()
    assert len(singles) == 617 and len({r["int"] for r in singles}) == 617
    assert {r["tag"] for r in rows} - {r["tag"] for r in singles} == {
        "(50XX,XXXX)", "(60XX,4000)", "(60XX,3000)", "(GGGG,EEEE) WHERE GGGG IS ODD"}
    applied = basic_profile()
    diff = [(r["tag"], r["name"], r["basic"], applied.get(r["int"])) for r in singles if applied.get(r["int"]) != r["basic"]]
    assert not diff, diff


# --------------------------------------------------------------------------- a dataset with every row

NESTED_PHI = "NESTED^PHI"


def _vr(tag: int) -> str:
    return dictionary_VR(tag).split(" or ")[0]


def _value(tag: int, vr: str):
    g, e = tag >> 16, tag & 0xFFFF
    label = f"{g:04X}-{e:04X}"
    if vr == "SQ":
        item = Dataset()
        item.PerformingPhysicianName = NESTED_PHI  # (0008,1050) X
        item.ReferencedSOPInstanceUID = f"1.2.826.0.1.3680043.10.9.{tag}"  # (0008,1155) U
        item.CodeValue = "T-1"  # not in the table: kept
        return [item]
    return {
        "PN": f"FAMILY^N{label}", "CS": f"C_{g:04X}_{e:04X}", "AE": f"AE{g:04X}{e:04X}",
        "DA": "20200115", "TM": "101500", "DT": "20200115101500", "AS": "045Y", "DS": "12.5", "IS": "7",
        "UI": f"1.2.826.0.1.3680043.10.{tag}", "US": 7, "SS": 7, "OB": b"PHI!", "OW": b"PHI!", "UN": b"PHI!",
        "UR": "http://phi.example/x",
    }.get(vr, f"T {label}")


def _every_row_dataset() -> Dataset:
    ds = Dataset()
    for r in _single_rows():
        vr = _vr(r["int"])
        ds.add(DataElement(r["int"], vr, _value(r["int"], vr)))
    ds.add_new(0x60000010, "US", 16)  # overlay rows (60xx) and a curve (50xx)
    ds.add_new(0x60003000, "OW", b"\xff" * 32)
    ds.add_new(0x60004000, "LT", "overlay comment naming the patient")
    ds.add_new(0x50000005, "US", 2)
    ds.add_new(0x00091001, "LO", "private secret")  # a private attribute
    ds.private_block(0x0011, "ACME", create=True).add_new(0x01, "LO", "more secret")
    return ds


def _plain(value) -> list:
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple, pydicom.multival.MultiValue)):
        return [str(v) for v in value]
    return [str(value)]


def _nested(after) -> str:
    return "\n".join(str(e.value) for item in after.value for e in item.iterall())


def _basic_outcome(row: dict, before: DataElement, ds: Dataset, alias: str, uids_kept: bool = False) -> str | None:
    """None if the outcome agrees with the row's Basic Profile action, else what is wrong."""
    tag, act = row["int"], row["basic"]
    after = ds.get(tag)
    orig = _plain(before.value) if before.VR != "SQ" else None
    if after is None:
        return None if act.startswith("X") else f"removed, action {act}"
    if act == "X":
        return "kept, action X"
    if after.VR == "SQ":
        text = _nested(after)
        if NESTED_PHI in text or (not uids_kept and str(before.value[0].ReferencedSOPInstanceUID) in text):
            return f"sequence kept nested PHI or an unmapped UID, action {act}"
        if act == "Z":
            return None if len(after.value) == 0 else "sequence not emptied, action Z"
        if act in ("D", "Z/D"):
            return None if len(after.value) >= 1 or act == "Z/D" else "sequence emptied, action D"
        return None
    now = _plain(after.value)
    if act in ("U",) or (act == "X/Z/U*" and now):
        return None if now == [remap_uid(v, salt=SALT) for v in orig] else f"UID {now} is not the remapped {orig}"
    if not now:
        return None if act in ("Z", "X/Z", "X/Z/D", "Z/D", "X/Z/U*") else f"emptied, action {act}"
    if act == "Z" and tag not in (0x00100010, 0x00100020):
        return f"not emptied ({now}), action Z"
    if tag in (0x00100010, 0x00100020):
        return None if now == [alias] else f"{now} is not the pseudonym"
    if act in ("X/Z",):
        return f"value {now} kept, action X/Z"
    return None if now != orig else f"value {orig} kept, action {act}"


def test_every_attribute_of_table_e_1_1_basic_profile():
    ds = _every_row_dataset()
    before = {r["int"]: copy.deepcopy(ds[r["int"]]) for r in _single_rows()}
    alias = pseudonym(str(ds.PatientID), salt=SALT)
    deidentify_dataset(ds, salt=SALT, retain_modified_dates=False)
    problems = {}
    for r in _single_rows():
        wrong = _basic_outcome(r, before[r["int"]], ds, alias)
        if wrong:
            problems[f"{r['tag']} {r['name']}"] = wrong
    assert not problems, problems
    for elem in ds.iterall():
        assert not elem.tag.is_private, elem
        assert elem.tag.group & 0xFF00 not in (0x5000, 0x6000), elem  # curves and overlays
    assert [c.CodeValue for c in ds.DeidentificationMethodCodeSequence] == ["113100"]
    assert ds.LongitudinalTemporalInformationModified == "REMOVED"
    assert ds.PatientIdentityRemoved == "YES"


def _expected_option(row: dict) -> str:
    if row["uids"] == "K":
        return "K"
    if row["chars"]:
        return row["chars"]
    if row["dates"] == "C":
        return "Cdate"
    if row["desc"] == "C":
        return "Cdesc"
    return row["basic"]


def test_every_attribute_of_table_e_1_1_with_options():
    """Rtn. Long. Modif. Dates, Clean Desc., Rtn. UIDs and Rtn. Pat. Chars. columns, row by row."""
    ds = _every_row_dataset()
    before = {r["int"]: copy.deepcopy(ds[r["int"]]) for r in _single_rows()}
    days = date_offset_days(str(ds.PatientID), salt=SALT)
    alias = pseudonym(str(ds.PatientID), salt=SALT)
    deidentify_dataset(ds, salt=SALT, retain_modified_dates=True, clean_descriptors=True, retain_uids=True,
                       retain_patient_characteristics=True)
    shifted_da = (dt.date(2020, 1, 15) + dt.timedelta(days=days)).strftime("%Y%m%d")
    problems = {}
    counts = {"K": 0, "Cdate": 0, "Cdesc": 0, "C": 0}
    for r in _single_rows():
        exp = _expected_option(r)
        b, after = before[r["int"]], ds.get(r["int"])
        key = f"{r['tag']} {r['name']}"
        if exp in counts:
            counts[exp] += 1
            if after is None:
                problems[key] = f"removed, option action {exp}"
                continue
        if exp == "K":
            if after.VR == "SQ":
                if NESTED_PHI in _nested(after):
                    problems[key] = "kept sequence still holds nested PHI"
            elif _plain(after.value) != _plain(b.value):
                problems[key] = f"{_plain(after.value)} != kept {_plain(b.value)}"
        elif exp == "Cdate":
            want = {"DA": [shifted_da], "DT": [shifted_da + "101500"], "TM": ["101500"]}.get(b.VR)
            if want is not None and _plain(after.value) != want:
                problems[key] = f"{_plain(after.value)}, expected shifted {want}"
        elif exp in ("Cdesc", "C"):
            if after.VR == "SQ":
                if NESTED_PHI in _nested(after):
                    problems[key] = "cleaned sequence still holds nested PHI"
            elif b.VR in ("LO", "SH", "LT", "ST", "UT", "UC") and _plain(after.value) != _plain(b.value):
                problems[key] = f"descriptor {_plain(b.value)} became {_plain(after.value)} (holds no identifier)"
        else:
            wrong = _basic_outcome({**r, "basic": exp}, b, ds, alias, uids_kept=True)
            if wrong:  # a row outside the option columns keeps its Basic Profile action (UIDs too)
                problems[key] = wrong
    assert not problems, problems
    assert counts == {"K": 59 + 13 - 4, "Cdate": 165, "Cdesc": 125 - 2, "C": 4}, counts
    codes = [c.CodeValue for c in ds.DeidentificationMethodCodeSequence]
    assert codes == ["113100", "113105", "113107", "113108", "113110"]
    assert ds.LongitudinalTemporalInformationModified == "MODIFIED"


#: Attributes of the issue's list of survivors (comments, station and device identifiers,
#: overlays, Original Attributes Sequence, clinical-trial IDs), with their Table E.1-1 action.
SURVIVORS_21 = {
    "StudyComments": "X", "VisitComments": "X", "RequestedProcedureComments": "X",
    "ImagingServiceRequestComments": "X", "CommentsOnThePerformedProcedureStep": "X", "IdentifyingComments": "X",
    "StationAETitle": "X", "PerformedStationName": "X", "PerformedStationAETitle": "X", "ScheduledStationName": "X",
    "DetectorID": "X/D", "GantryID": "X", "DeviceDescription": "X", "UniqueDeviceIdentifier": "X",
    "OverlayData": "X", "OverlayComments": "X", "OriginalAttributesSequence": "X",
    "ClinicalTrialSubjectID": "D", "ClinicalTrialProtocolID": "D", "ClinicalTrialSiteID": "Z", "ClinicalTrialSeriesID": "X",
}


def test_the_21_survivors_are_removed_or_replaced(tmp_path):
    assert len(SURVIVORS_21) == 21
    ds = pydicom.dcmread(pydicom.data.get_testdata_file("CT_small.dcm"))
    values = {}
    for kw in SURVIVORS_21:
        if kw.startswith("Overlay"):
            continue
        tag = pydicom.datadict.tag_for_keyword(kw)
        vr = _vr(tag)
        values[kw] = _value(tag, vr)
        ds.add(DataElement(tag, vr, values[kw]))
    ds.add_new(0x60000010, "US", 8)
    ds.add_new(0x60003000, "OW", b"\x01" * 8)
    ds.add_new(0x60004000, "LT", "Overlay of DOE^JANE")
    oas = Dataset()
    oas.ModifyingSystem = "hospital system"
    mod = Dataset()
    mod.PatientName = "OLD^NAME"
    oas.ModifiedAttributesSequence = [mod]
    ds.OriginalAttributesSequence = [oas]
    deidentify_dataset(ds, salt=SALT)
    for kw, action in SURVIVORS_21.items():
        if kw.startswith("Overlay"):  # repeating group 60xx: checked below
            continue
        if action == "X":
            assert kw not in ds, kw
        elif action.startswith("X/"):  # removed, or a dummy where the IOD needs a value
            assert kw not in ds or ds[kw].value != values[kw], kw
        elif action == "Z":
            assert kw in ds and not ds[kw].value, kw
        else:
            assert kw in ds and ds[kw].value and ds[kw].value != values[kw], kw
    assert not any(e.tag.group & 0xFF00 == 0x6000 for e in ds)
    assert "OLD^NAME" not in str(ds)


def test_clean_descriptors_removes_identifying_values_only():
    ds = Dataset()
    ds.PatientName = "DOE^JANE"
    ds.PatientID = "MRN12345678"
    ds.InstitutionName = "Saint Elsewhere"
    ds.StudyDate = "20240110"
    ds.SeriesDescription = "Cine SAX doe jane MRN12345678 at Saint Elsewhere 0601234567"
    ds.StudyDescription = "Cardiac MRI"
    ds.ImageComments = "ok"
    item = Dataset()
    item.ValueType, item.TextValue = "TEXT", "Seen by Dr X with Jane Doe, phone 0601234567"
    ds.ContentSequence = [item]  # (0040,A730) D; its Text Value is not a table row
    plain = deidentify_dataset(copy.deepcopy(ds), salt=SALT)  # without the option: removed
    assert "SeriesDescription" not in plain and "StudyDescription" not in plain
    out = deidentify_dataset(ds, salt=SALT, clean_descriptors=True)
    assert out.SeriesDescription == "Cine SAX * * * at * *"
    assert out.StudyDescription == "Cardiac MRI" and out.ImageComments == "ok"
    assert plain.ContentSequence[0].TextValue == out.ContentSequence[0].TextValue == "Seen by Dr X with * *, phone *"
    assert "113105" in [c.CodeValue for c in out.DeidentificationMethodCodeSequence]


def test_retain_uids_keeps_and_remap_is_consistent_across_files():
    def instance(sop, ref):
        ds = Dataset()
        ds.PatientID = "P1"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = "1.2.3.1", "1.2.3.2", "1.2.3.3"
        ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
        ds.SOPInstanceUID = sop
        item = Dataset()
        item.ReferencedSOPClassUID = ds.SOPClassUID
        item.ReferencedSOPInstanceUID = ref
        ds.ReferencedImageSequence = [item]
        return ds

    a = deidentify_dataset(instance("1.2.3.10", "1.2.3.11"), salt=SALT)
    b = deidentify_dataset(instance("1.2.3.11", "1.2.3.10"), salt=SALT)
    assert a.StudyInstanceUID == b.StudyInstanceUID != "1.2.3.1"
    assert a.FrameOfReferenceUID == b.FrameOfReferenceUID != "1.2.3.3"
    assert a.ReferencedImageSequence[0].ReferencedSOPInstanceUID == b.SOPInstanceUID
    assert b.ReferencedImageSequence[0].ReferencedSOPInstanceUID == a.SOPInstanceUID
    assert a.SOPClassUID == "1.2.840.10008.5.1.4.1.1.4"  # a standard class UID is never remapped
    kept = deidentify_dataset(instance("1.2.3.10", "1.2.3.11"), salt=SALT, retain_uids=True)
    assert (kept.SOPInstanceUID, kept.StudyInstanceUID) == ("1.2.3.10", "1.2.3.1")
    assert kept.ReferencedImageSequence[0].ReferencedSOPInstanceUID == "1.2.3.11"
    assert "113110" in [c.CodeValue for c in kept.DeidentificationMethodCodeSequence]


# --------------------------------------------------------------------------- burned-in annotation

def _image(modality: str, burned: str | None, sop_class="1.2.840.10008.5.1.4.1.1.6.1") -> Dataset:
    ds = Dataset()
    ds.Modality, ds.SOPClassUID, ds.SOPInstanceUID = modality, sop_class, "1.2.3.4.5"
    ds.PatientID = "P1"
    if burned is not None:
        ds.BurnedInAnnotation = burned
    return ds


@pytest.mark.parametrize("modality,burned,sop_class,refused", [
    ("US", None, "1.2.840.10008.5.1.4.1.1.6.1", True),   # ultrasound, not stated: refused
    ("US", "NO", "1.2.840.10008.5.1.4.1.1.6.1", False),
    ("CT", "YES", "1.2.840.10008.5.1.4.1.1.2", True),
    ("CT", None, "1.2.840.10008.5.1.4.1.1.2", False),     # CT: rarely burned in, not refused
    ("MR", None, "1.2.840.10008.5.1.4.1.1.7", True),      # secondary capture
    ("XA", "", "1.2.840.10008.5.1.4.1.1.12.1", True),
])
def test_burned_in_annotation_refused_unless_cleared(modality, burned, sop_class, refused):
    if refused:
        with pytest.raises(UnsupportedSeriesError, match="Burned In Annotation"):
            deidentify_dataset(_image(modality, burned, sop_class), salt=SALT)
        out = deidentify_dataset(_image(modality, burned, sop_class), salt=SALT, burned_in_annotation_cleared=True)
        assert out.PatientIdentityRemoved == "YES"
    else:
        deidentify_dataset(_image(modality, burned, sop_class), salt=SALT)


# --------------------------------------------------------------------------- folders and paths

def _write_file(path, *, sop="1.2.3.4.5", series="1.2.3.4", modality="CT"):
    ds = _image(modality, None, "1.2.840.10008.5.1.4.1.1.2")
    ds.SOPInstanceUID, ds.SeriesInstanceUID, ds.StudyInstanceUID = sop, series, "1.2.3"
    ds.PatientName = "DOE^JANE"
    ds.Rows = ds.Columns = 2
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.PixelData = b"\x00" * 8
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4.5"
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.mark.filterwarnings("ignore:Invalid value for VR UI:UserWarning")
@pytest.mark.filterwarnings("ignore:The value length:UserWarning")
@pytest.mark.parametrize("uid", ["../../escaped", "/tmp/abs_escape_heartprint", "..", "a/b", "1.2.3\x00x", "9" * 80])
def test_hostile_uids_never_leave_the_output(tmp_path, uid):
    src, dst = tmp_path / "in", tmp_path / "work" / "out"
    _write_file(src / "a.dcm", sop=uid, series=uid)
    written = deidentify_folder(src, dst, salt=SALT, retain_uids=True)  # the hostile UID is kept in the file
    assert len(written) == 1
    for p in written:
        assert p.resolve().is_relative_to(dst.resolve())
        assert re.fullmatch(r"[0-9.]{1,64}|h[0-9a-f]{32}", p.parent.name) and p.name.endswith(".dcm")
    assert sorted(x.name for x in (tmp_path / "work").iterdir()) == ["out"]
    assert not (tmp_path / "escaped").exists() and not os.path.exists("/tmp/abs_escape_heartprint")
    assert output_name(uid) != uid


def test_output_name():
    assert output_name("1.2.840.113619.2.55") == "1.2.840.113619.2.55"
    for bad in ("", None, "1..2", "01.2", ".1", "1.2.", "../x", "1.2/3", "1" * 65):
        assert re.fullmatch(r"h[0-9a-f]{32}", output_name(bad)), bad


def test_links_special_files_duplicates_and_refusals_are_skipped_with_reasons(tmp_path):
    src, dst = tmp_path / "in", tmp_path / "out"
    _write_file(src / "ok.dcm", sop="1.2.3.4.1")
    _write_file(src / "dup.dcm", sop="1.2.3.4.1")  # same SOP Instance UID
    _write_file(src / "us.dcm", sop="1.2.3.4.2", modality="US")  # burned-in annotation not stated
    outside = _write_file(tmp_path / "elsewhere" / "x.dcm", sop="1.2.3.4.3")
    (src / "link_out.dcm").symlink_to(outside)
    (src / "link_in.dcm").symlink_to(src / "ok.dcm")  # inside the tree: read (then a duplicate)
    (src / "dirlink").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    os.mkfifo(src / "fifo.dcm")
    (src / "junk.dcm").write_bytes(b"not dicom")
    skipped: list = []
    with pytest.warns(SkippedFileWarning):
        written = deidentify_folder(src, dst, salt=SALT, skipped=skipped)
    reasons = {p.name: r for p, r in skipped}
    assert len(written) == 1
    assert "outside the input folder" in reasons["link_out.dcm"]
    assert "not a regular file" in reasons["fifo.dcm"]
    assert "link to a folder" in reasons["dirlink"]
    assert "Burned In Annotation" in reasons["us.dcm"]
    assert "not readable" in reasons["junk.dcm"]
    assert sum("same SOP Instance UID" in r for r in reasons.values()) == 2
    # with the option the ultrasound is written
    written = deidentify_folder(src, dst, salt=SALT, overwrite=True, burned_in_annotation_cleared=True)
    assert len(written) == 2


def test_output_links_and_nesting_refused(tmp_path):
    src = tmp_path / "in"
    _write_file(src / "a.dcm")
    (tmp_path / "real").mkdir()
    (tmp_path / "linked").symlink_to(tmp_path / "real", target_is_directory=True)
    with pytest.raises(InvalidInputError, match="link"):
        deidentify_folder(src, tmp_path / "linked", salt=SALT, overwrite=True)
    with pytest.raises(InvalidInputError, match="inside dst"):
        deidentify_folder(src, tmp_path, salt=SALT, overwrite=True)
    assert list((tmp_path / "real").iterdir()) == []
    # output inside the input folder: its own files (and leftovers of its temporary copies) are not read back
    written = deidentify_folder(src, src / "out", salt=SALT)
    _write_file(src / ".out.abc123" / "left.dcm", sop="1.2.3.9")
    again = deidentify_folder(src, src / "out", salt=SALT, overwrite=True)
    assert len(written) == len(again) == 1


# --------------------------------------------------------------------------- a real series, end to end

@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("deid")
    phantom = make_cine_sax(n_phases=3, n_slices=4, matrix=(64, 64))
    paths = write_cine_sax_dicom(phantom, out / "src", patient_id=PHI["PatientID"], patient_name=PHI["PatientName"])
    for i, p in enumerate(paths):  # add PHI, a private tag and a nested sequence with PHI
        ds = pydicom.dcmread(p)
        for kw, value in PHI.items():
            setattr(ds, kw, value)
        ds.StudyDate = "20240110"
        ds.SeriesDate = "20240112"  # 2 days later
        ds.AcquisitionDateTime = "20240112101500"
        ds.add_new(0x00091001, "LO", "private secret")
        ds.private_block(0x0011, "ACME", create=True).add_new(0x01, "LO", "more secret")
        ref = Dataset()
        ref.ReferencedSOPClassUID = ds.SOPClassUID
        ref.ReferencedSOPInstanceUID = pydicom.dcmread(paths[0]).SOPInstanceUID if i else ds.SOPInstanceUID
        ref.PerformingPhysicianName = "NESTED^NAME"
        ref.InstitutionName = "Nested Hospital"
        ds.ReferencedImageSequence = [ref]
        ds.save_as(p)
    originals = [pydicom.dcmread(p) for p in paths]
    outputs = deidentify_folder(out / "src", out / "deid", salt=SALT)
    return originals, [pydicom.dcmread(p) for p in outputs], out


def _walk_strings(ds):
    for elem in ds.iterall():
        if elem.VR != "SQ" and elem.value is not None:
            yield elem


def test_no_listed_phi_and_no_private_tags_survive(study):
    _, outs, _ = study
    basic = {r["int"]: r["basic"] for r in _single_rows() if not r["dates"]}  # dates are shifted (option)
    for ds in outs:
        for elem in ds.iterall():
            assert not elem.tag.is_private, elem
            action = basic.get(int(elem.tag))
            if action == "X":
                pytest.fail(f"{elem.keyword} survived")
            if action == "Z" and elem.keyword not in ("PatientName", "PatientID"):
                assert not elem.value, elem
        text = "\n".join(str(e.value) for e in _walk_strings(ds))
        for value in (*PHI.values(), "NESTED^NAME", "Nested Hospital", "private secret", "19600203", "20240110"):
            assert value not in text, value
        assert ds.PatientIdentityRemoved == "YES"
        assert [c.CodeValue for c in ds.DeidentificationMethodCodeSequence] == ["113100", "113107"]
        assert all(c.CodingSchemeDesignator == "DCM" for c in ds.DeidentificationMethodCodeSequence)


def test_geometry_and_pixels_unchanged(study):
    originals, outs, _ = study
    by_pos = {(tuple(o.ImagePositionPatient), o.TriggerTime): o for o in originals}
    assert len(outs) == len(originals)
    for ds in outs:
        o = by_pos[(tuple(ds.ImagePositionPatient), ds.TriggerTime)]
        assert np.array_equal(ds.pixel_array, o.pixel_array)
        for kw in ("ImageOrientationPatient", "PixelSpacing", "SliceThickness", "Rows", "Columns", "SOPClassUID"):
            assert ds[kw].value == o[kw].value


def test_uids_remapped_consistently_and_deterministically(study):
    originals, outs, _ = study
    assert len({d.SeriesInstanceUID for d in outs}) == 1 and len({d.StudyInstanceUID for d in outs}) == 1
    assert len({d.FrameOfReferenceUID for d in outs}) == 1
    assert outs[0].SeriesInstanceUID == remap_uid(originals[0].SeriesInstanceUID, salt=SALT)
    assert outs[0].SeriesInstanceUID != originals[0].SeriesInstanceUID
    new_sops = {d.SOPInstanceUID for d in outs}
    assert not new_sops & {o.SOPInstanceUID for o in originals}
    # a nested reference follows the same mapping, so it still points at a file of the output
    for d in outs:
        assert d.ReferencedImageSequence[0].ReferencedSOPInstanceUID in new_sops
        assert d.file_meta.MediaStorageSOPInstanceUID == d.SOPInstanceUID
    assert remap_uid("1.2.3.4", salt=SALT) == remap_uid("1.2.3.4", salt=SALT) != remap_uid("1.2.3.4", salt="another-salt")


def test_dates_shifted_per_patient_with_intervals_kept(study):
    _, outs, _ = study
    offset = date_offset_days(PHI["PatientID"], salt=SALT)
    assert offset < 0
    ds = outs[0]
    study_date = dt.datetime.strptime(ds.StudyDate, "%Y%m%d").date()
    series_date = dt.datetime.strptime(ds.SeriesDate, "%Y%m%d").date()
    assert study_date == dt.date(2024, 1, 10) + dt.timedelta(days=offset)
    assert (series_date - study_date).days == 2
    assert ds.AcquisitionDateTime == series_date.strftime("%Y%m%d") + "101500"
    assert ds.PatientID == ds.PatientName == outs[1].PatientID
    assert ds.LongitudinalTemporalInformationModified == "MODIFIED"


def test_bad_input(study, tmp_path):
    _, _, out = study
    with pytest.raises(InvalidInputError, match="exists"):
        deidentify_folder(out / "src", out / "deid", salt=SALT)
    with pytest.raises(InvalidInputError, match="salt"):
        deidentify_dataset(Dataset(), salt="short")
    ds = Dataset()
    ds.BurnedInAnnotation = "YES"
    with pytest.raises(UnsupportedSeriesError, match="Burned In Annotation"):
        deidentify_dataset(ds, salt=SALT)
    (tmp_path / "notdicom.txt").write_text("hello")
    with pytest.warns(SkippedFileWarning), pytest.raises(InvalidInputError, match="no DICOM"):
        deidentify_folder(tmp_path, tmp_path.parent / "deid_empty_out", salt=SALT)
    assert not (tmp_path.parent / "deid_empty_out").exists()


# PS3.15 Table E.1-1, rev2024b (innolitics/dicom-standard 8670abd): tag|name|Basic|Rtn.Long.Modif.Dates|Clean Desc.|Rtn.UIDs|Rtn.Pat.Chars.
_TABLE_E_1_1 = """
(0008,0050)|Accession Number|Z||||
(0018,4000)|Acquisition Comments|X||C||
(0040,0555)|Acquisition Context Sequence|X/Z||||
(0008,0022)|Acquisition Date|X/Z|C|||
(0008,002A)|Acquisition DateTime|X/Z/D|C|||
(0018,1400)|Acquisition Device Processing Description|X/D||C||
(0018,11BB)|Acquisition Field Of View Label|D||C||
(0018,9424)|Acquisition Protocol Description|X||C||
(0008,0032)|Acquisition Time|X/Z|C|||
(0008,0017)|Acquisition UID|U|||K|
(0040,4035)|Actual Human Performers Sequence|X||||
(0010,21B0)|Additional Patient History|X||C||
(0040,A353)|Address (Trial)|X||||
(0038,0010)|Admission ID|X||||
(0038,0020)|Admitting Date|X|C|||
(0008,1084)|Admitting Diagnoses Code Sequence|X||C||
(0008,1080)|Admitting Diagnoses Description|X||C||
(0038,0021)|Admitting Time|X|C|||
(0000,1000)|Affected SOP Instance UID|X|||K|
(0010,2110)|Allergies|X||C||C
(006A,0006)|Annotation Group Description|X||C||
(006A,0005)|Annotation Group Label|D||C||
(006A,0003)|Annotation Group UID|D|||K|
(0044,0004)|Approval Status DateTime|X|C|||
(4000,0010)|Arbitrary|X||||
(0044,0104)|Assertion DateTime|D|C|||
(0044,0105)|Assertion Expiration DateTime|X|C|||
(0400,0562)|Attribute Modification DateTime|D|C|||
(0040,A078)|Author Observer Sequence|X||||
(2200,0005)|Barcode Value|X/Z||||
(300A,00C3)|Beam Description|X||C||
(300C,0127)|Beam Hold Transition DateTime|D|C|||
(300A,00DD)|Bolus Description|X||C||
(0010,1081)|Branch of Service|X||||
(0014,407E)|Calibration Date|X|C|||
(0018,1203)|Calibration DateTime|Z|C|||
(0014,407C)|Calibration Time|X|C|||
(0016,004D)|Camera Owner Name|X||||
(0018,1007)|Cassette ID|X||||
(0400,0115)|Certificate of Signer|D||||
(0400,0310)|Certified Timestamp|X|C|||
(0012,0060)|Clinical Trial Coordinating Center Name|Z||||
(0012,0082)|Clinical Trial Protocol Ethics Committee Approval Number|X||||
(0012,0081)|Clinical Trial Protocol Ethics Committee Name|D||||
(0012,0020)|Clinical Trial Protocol ID|D||||
(0012,0021)|Clinical Trial Protocol Name|Z||||
(0012,0072)|Clinical Trial Series Description|X||C||
(0012,0071)|Clinical Trial Series ID|X||||
(0012,0030)|Clinical Trial Site ID|Z||||
(0012,0031)|Clinical Trial Site Name|Z||||
(0012,0010)|Clinical Trial Sponsor Name|D||||
(0012,0040)|Clinical Trial Subject ID|D||||
(0012,0042)|Clinical Trial Subject Reading ID|D||||
(0012,0051)|Clinical Trial Time Point Description|X||C||
(0012,0050)|Clinical Trial Time Point ID|Z||||
(0040,0310)|Comments on Radiation Dose|X||C||
(0040,0280)|Comments on the Performed Procedure Step|X||C||
(300A,02EB)|Compensator Description|X||C||
(0020,9161)|Concatenation UID|U|||K|
(3010,000F)|Conceptual Volume Combination Description|Z||C||
(3010,0017)|Conceptual Volume Description|Z||C||
(3010,0006)|Conceptual Volume UID|U|||K|
(0040,3001)|Confidentiality Constraint on Patient Data Description|X||||
(3010,0013)|Constituent Conceptual Volume UID|U|||K|
(0008,009C)|Consulting Physician's Name|Z||||
(0008,009D)|Consulting Physician Identification Sequence|X||||
(0050,001B)|Container Component ID|X||||
(0040,051A)|Container Description|X||C||
(0040,0512)|Container Identifier|D||||
(0070,0086)|Content Creator's Identification Code Sequence|X||||
(0070,0084)|Content Creator's Name|Z/D||||
(0008,0023)|Content Date|Z/D|C|||
(0040,A730)|Content Sequence|D||||
(0008,0033)|Content Time|Z/D|C|||
(0008,0107)|Context Group Local Version|D|C|||
(0008,0106)|Context Group Version|D|C|||
(0018,0010)|Contrast/Bolus Agent|Z/D||C||
(0018,1042)|Contrast/Bolus Start Time|X|C|||
(0018,1043)|Contrast/Bolus Stop Time|X|C|||
(0018,A002)|Contribution DateTime|X|C|||
(0018,A003)|Contribution Description|X||C||
(0010,2150)|Country of Residence|X||||
(2100,0040)|Creation Date|X|C|||
(2100,0050)|Creation Time|X|C|||
(0040,A307)|Current Observer (Trial)|X||||
(0038,0300)|Current Patient Location|X||||
(50XX,XXXX)|Curve Data|X||||
(0008,0025)|Curve Date|X|C|||
(0008,0035)|Curve Time|X|C|||
(0040,A07C)|Custodial Organization Sequence|X||||
(FFFC,FFFC)|Data Set Trailing Padding|X||||
(0040,A121)|Date|D|C|||
(0040,A110)|Date of Document or Verbal Transaction (Trial)|X|C|||
(0018,1205)|Date of Installation|X|C|||
(0018,1200)|Date of Last Calibration|X|C|||
(0018,700C)|Date of Last Detector Calibration|X/D|C|||
(0018,1204)|Date of Manufacture|X|C|||
(0018,1012)|Date of Secondary Capture|X|C|||
(0040,A120)|DateTime|D|C|||
(0018,1202)|DateTime of Last Calibration|X|C|||
(0018,9701)|Decay Correction DateTime|D|C|||
(0018,937F)|Decomposition Description|X||C||
(0008,2111)|Derivation Description|X||C||
(2100,0140)|Destination AE|D||||
(0018,700A)|Detector ID|X/D||||
(3010,001B)|Device Alternate Identifier|Z||||
(0050,0020)|Device Description|X||||
(3010,002D)|Device Label|D||||
(0018,1000)|Device Serial Number|X/Z/D||||
(0016,004B)|Device Setting Description|X||C||
(0018,1002)|Device UID|U|||K|
(0400,0105)|Digital Signature DateTime|D|C|||
(FFFA,FFFA)|Digital Signatures Sequence|X||||
(0400,0100)|Digital Signature UID|U||||
(0020,9164)|Dimension Organization UID|U|||K|
(0038,0030)|Discharge Date|X|C|||
(0038,0040)|Discharge Diagnosis Description|X||C||
(0038,0032)|Discharge Time|X|C|||
(300A,079A)|Displacement Reference Label|X||C||
(4008,011A)|Distribution Address|X||||
(4008,0119)|Distribution Name|X||||
(300A,0016)|Dose Reference Description|X||C||
(300A,0013)|Dose Reference UID|U|||K|
(3010,006E)|Dosimetric Objective UID|U|||K|
(0068,6226)|Effective DateTime|D|C|||
(0042,0011)|Encapsulated Document|D||||
(0018,9517)|End Acquisition DateTime|X/D|C|||
(3010,0037)|Entity Description|X||C||
(3010,0035)|Entity Label|D||C||
(3010,0038)|Entity Long Label|D||C||
(3010,0036)|Entity Name|X||C||
(300A,0676)|Equipment Frame of Reference Description|X||C||
(0012,0087)|Ethics Committee Approval Effectiveness End Date|X|C|||
(0012,0086)|Ethics Committee Approval Effectiveness Start Date|X|C|||
(0010,2160)|Ethnic Group|X||||K
(0018,9804)|Exclusion Start DateTime|D|C|||
(0040,4011)|Expected Completion DateTime|X|C|||
(0008,0058)|Failed SOP Instance UID List|U|||K|
(0070,031A)|Fiducial UID|U|||K|
(0040,2017)|Filler Order Number / Imaging Service Request|Z||||
(003A,032B)|Filter Lookup Table Description|X||C||
(0040,A023)|Findings Group Recording Date (Trial)|X|C|||
(0040,A024)|Findings Group Recording Time (Trial)|X|C|||
(3008,0054)|First Treatment Date|X/D|C|||
(300A,0196)|Fixation Device Description|X||C||
(0034,0002)|Flow Identifier|D||||
(0034,0001)|Flow Identifier Sequence|D||||
(3010,007F)|Fractionation Notes|Z||C||
(300A,0072)|Fraction Group Description|X||C||
(0018,9074)|Frame Acquisition DateTime|D|C|||
(0020,9158)|Frame Comments|X||C||
(0020,0052)|Frame of Reference UID|U|||K|
(0034,0007)|Frame Origin Timestamp|D|C|||
(0018,9151)|Frame Reference DateTime|D|C|||
(0018,9623)|Functional Sync Pulse|D|C|||
(0018,1008)|Gantry ID|X||||
(0018,1005)|Generator ID|X||||
(0016,0076)|GPS Altitude|X||||
(0016,0075)|GPS Altitude Ref|X||||
(0016,008C)|GPS Area Information|X||||
(0016,008D)|GPS Date Stamp|X|C|||
(0016,0088)|GPS Dest Bearing|X||||
(0016,0087)|GPS Dest Bearing Ref|X||||
(0016,008A)|GPS Dest Distance|X||||
(0016,0089)|GPS Dest Distance Ref|X||||
(0016,0084)|GPS Dest Latitude|X||||
(0016,0083)|GPS Dest Latitude Ref|X||||
(0016,0086)|GPS Dest Longitude|X||||
(0016,0085)|GPS Dest Longitude Ref|X||||
(0016,008E)|GPS Differential|X||||
(0016,007B)|GPS DOP|X||||
(0016,0081)|GPS Img Direction|X||||
(0016,0080)|GPS Img Direction Ref|X||||
(0016,0072)|GPS Latitude|X||||
(0016,0071)|GPS Latitude Ref|X||||
(0016,0074)|GPS Longitude|X||||
(0016,0073)|GPS Longitude Ref|X||||
(0016,0082)|GPS Map Datum|X||||
(0016,007A)|GPS Measure Mode|X||||
(0016,008B)|GPS Processing Method|X||||
(0016,0078)|GPS Satellites|X||||
(0016,007D)|GPS Speed|X||||
(0016,007C)|GPS Speed Ref|X||||
(0016,0079)|GPS Status|X||||
(0016,0077)|GPS Time Stamp|X||||
(0016,007F)|GPS Track|X||||
(0016,007E)|GPS Track Ref|X||||
(0016,0070)|GPS Version ID|X||||
(0070,0001)|Graphic Annotation Sequence|D||||
(0072,000A)|Hanging Protocol Creation DateTime|D|C|||
(0040,E004)|HL7 Document Effective Time|X|C|||
(0040,4037)|Human Performer's Name|X||||
(0040,4036)|Human Performer's Organization|X||||
(0088,0200)|Icon Image Sequence (see Note 11)|X||||
(0008,4000)|Identifying Comments|X||C||
(0020,4000)|Image Comments|X||C||
(0028,4000)|Image Presentation Comments|X||||
(0040,2400)|Imaging Service Request Comments|X||C||
(003A,0314)|Impedance Measurement DateTime|D|C|||
(4008,0300)|Impressions|X||C||
(0068,6270)|Information Issue DateTime|D|C|||
(0008,0015)|Instance Coercion DateTime|X|C|||
(0008,0012)|Instance Creation Date|X/D|C|||
(0008,0013)|Instance Creation Time|X/Z/D|C|||
(0008,0014)|Instance Creator UID|U|||K|
(0400,0600)|Instance Origin Status|X||||
(0008,0081)|Institution Address|X||||
(0008,1040)|Institutional Department Name|X||||
(0008,1041)|Institutional Department Type Code Sequence|X||||
(0008,0082)|Institution Code Sequence|X/Z/D||||
(0008,0080)|Institution Name|X/Z/D||||
(0018,9919)|Instruction Performed DateTime|Z/D|C|||
(0010,1050)|Insurance Plan Identification|X||||
(3010,0085)|Intended Fraction Start Time|X|C|||
(3010,004D)|Intended Phase End Date|X/D|C|||
(3010,004C)|Intended Phase Start Date|X/D|C|||
(0040,1011)|Intended Recipients of Results Identification Sequence|X||||
(300A,0741)|Interlock DateTime|D|C|||
(300A,0742)|Interlock Description|D||C||
(300A,0783)|Interlock Origin Description|D||C||
(4008,0112)|Interpretation Approval Date|X|C|||
(4008,0113)|Interpretation Approval Time|X|C|||
(4008,0111)|Interpretation Approver Sequence|X||||
(4008,010C)|Interpretation Author|X||||
(4008,0115)|Interpretation Diagnosis Description|X||C||
(4008,0200)|Interpretation ID|X||||
(4008,0202)|Interpretation ID Issuer|X||||
(4008,0100)|Interpretation Recorded Date|X|C|||
(4008,0101)|Interpretation Recorded Time|X|C|||
(4008,0102)|Interpretation Recorder|X||||
(4008,010B)|Interpretation Text|X||C||
(4008,010A)|Interpretation Transcriber|X||||
(4008,0108)|Interpretation Transcription Date|X|C|||
(4008,0109)|Interpretation Transcription Time|X|C|||
(0018,0035)|Intervention Drug Start Time|X|C|||
(0018,0027)|Intervention Drug Stop Time|X|C|||
(0008,3010)|Irradiation Event UID|U|||K|
(0040,2004)|Issue Date of Imaging Service Request|X|C|||
(0038,0011)|Issuer of Admission ID|X||||
(0038,0014)|Issuer of Admission ID Sequence|X||||
(0012,0022)|Issuer of Clinical Trial Protocol ID|X||||
(0012,0073)|Issuer of Clinical Trial Series ID|X||||
(0012,0032)|Issuer of Clinical Trial Site ID|X||||
(0012,0041)|Issuer of Clinical Trial Subject ID|X||||
(0012,0043)|Issuer of Clinical Trial Subject Reading ID|X||||
(0012,0055)|Issuer of Clinical Trial Time Point ID|X||||
(0010,0021)|Issuer of Patient ID|X||||
(0038,0061)|Issuer of Service Episode ID|X||||
(0038,0064)|Issuer of Service Episode ID Sequence|X||||
(0040,0513)|Issuer of the Container Identifier Sequence|Z||||
(0040,0562)|Issuer of the Specimen Identifier Sequence|Z||||
(0040,2005)|Issue Time of Imaging Service Request|X|C|||
(2200,0002)|Label Text|X/Z||C||
(0028,1214)|Large Palette Color Lookup Table UID|U|||K|
(0010,21D0)|Last Menstrual Date|X|C|||
(0016,004F)|Lens Make|X||||
(0016,0050)|Lens Model|X||||
(0016,0051)|Lens Serial Number|X||||
(0016,004E)|Lens Specification|X||||
(0050,0021)|Long Device Description|X||C||
(0400,0404)|MAC|X||||
(0016,002B)|Maker Note|X||C||
(0018,100B)|Manufacturer's Device Class UID|U|||K|
(3010,0043)|Manufacturer's Device Identifier|Z||||
(0002,0003)|Media Storage SOP Instance UID|U|||K|
(0010,2000)|Medical Alerts|X||C||
(0010,1090)|Medical Record Locator|X||||
(0010,1080)|Military Rank|X||||
(0400,0550)|Modified Attributes Sequence|X||||
(0020,3403)|Modified Image Date|X|C|||
(0020,3406)|Modified Image Description|X||||
(0020,3405)|Modified Image Time|X|C|||
(0020,3401)|Modifying Device ID|X||||
(0400,0563)|Modifying System|D||||
(3008,0056)|Most Recent Treatment Date|X/D|C|||
(0018,937B)|Multi-energy Acquisition Description|X||C||
(003A,0310)|Multiplex Group UID|U|||K|
(0008,1060)|Name of Physician(s) Reading Study|X||||
(0040,1010)|Names of Intended Recipients of Results|X||||
(0008,1000)|Network ID|X||||
(0400,0552)|Nonconforming Data Element Value|X||||
(0400,0551)|Nonconforming Modified Attributes Sequence|X||||
(0040,A192)|Observation Date (Trial)|X|C|||
(0040,A032)|Observation DateTime|X/D|C|||
(0040,A033)|Observation Start DateTime|X|C|||
(0040,A402)|Observation Subject UID (Trial)|U|||K|
(0040,A193)|Observation Time (Trial)|X|C|||
(0040,A171)|Observation UID|U|||K|
(0010,2180)|Occupation|X||C||
(0008,1072)|Operator Identification Sequence|X/D||||
(0008,1070)|Operators' Name|X/Z/D||||
(0040,2010)|Order Callback Phone Number|X||||
(0040,2011)|Order Callback Telecom Information|X||||
(0040,2008)|Order Entered By|X||||
(0040,2009)|Order Enterer's Location|X||||
(0400,0561)|Original Attributes Sequence|X||||
(2100,0070)|Originator|X||||
(0012,0023)|Other Clinical Trial Protocol IDs Sequence|X||||
(0010,1000)|Other Patient IDs|X||||
(0010,1002)|Other Patient IDs Sequence|X||||
(0010,1001)|Other Patient Names|X||||
(60XX,4000)|Overlay Comments|X||||
(60XX,3000)|Overlay Data|X||||
(0008,0024)|Overlay Date|X|C|||
(0008,0034)|Overlay Time|X|C|||
(300A,0760)|Override DateTime|D|C|||
(0028,1199)|Palette Color Lookup Table UID|U|||K|
(0040,A07A)|Participant Sequence|X||||
(0040,A082)|Participation DateTime|Z|C|||
(0010,1040)|Patient's Address|X||||
(0010,1010)|Patient's Age|X||||K
(0010,0030)|Patient's Birth Date|Z||||
(0010,1005)|Patient's Birth Name|X||||
(0010,0032)|Patient's Birth Time|X||||
(0038,0400)|Patient's Institution Residence|X||||
(0010,0050)|Patient's Insurance Plan Code Sequence|X||||
(0010,1060)|Patient's Mother's Birth Name|X||||
(0010,0010)|Patient's Name|Z||||
(0010,0101)|Patient's Primary Language Code Sequence|X||||
(0010,0102)|Patient's Primary Language Modifier Code Sequence|X||||
(0010,21F0)|Patient's Religious Preference|X||||
(0010,0040)|Patient's Sex|Z||||K
(0010,2203)|Patient's Sex Neutered|X/Z||||K
(0010,1020)|Patient's Size|X||||K
(0010,2155)|Patient's Telecom Information|X||||
(0010,2154)|Patient's Telephone Numbers|X||||
(0010,1030)|Patient's Weight|X||||K
(0010,4000)|Patient Comments|X||C||
(0010,0020)|Patient ID|Z/D||||
(300A,0794)|Patient Setup Photo Description|X||C||
(300A,0650)|Patient Setup UID|U|||K|
(0038,0500)|Patient State|X||C||C
(0040,1004)|Patient Transport Arrangements|X||||
(300A,0792)|Patient Treatment Preparation Method Description|X||C||
(300A,078E)|Patient Treatment Preparation Procedure Parameter Description|X||C||
(0040,0243)|Performed Location|X||||
(0040,0254)|Performed Procedure Step Description|X||C||
(0040,0250)|Performed Procedure Step End Date|X|C|||
(0040,4051)|Performed Procedure Step End DateTime|X|C|||
(0040,0251)|Performed Procedure Step End Time|X|C|||
(0040,0253)|Performed Procedure Step ID|X||||
(0040,0244)|Performed Procedure Step Start Date|X|C|||
(0040,4050)|Performed Procedure Step Start DateTime|X|C|||
(0040,0245)|Performed Procedure Step Start Time|X|C|||
(0040,0241)|Performed Station AE Title|X||||
(0040,4030)|Performed Station Geographic Location Code Sequence|X||||
(0040,0242)|Performed Station Name|X||||
(0040,4028)|Performed Station Name Code Sequence|X||||
(0008,1050)|Performing Physician's Name|X||||
(0008,1052)|Performing Physician Identification Sequence|X||||
(0040,1102)|Person's Address|X||||
(0040,1104)|Person's Telecom Information|X||||
(0040,1103)|Person's Telephone Numbers|X||||
(0040,1101)|Person Identification Code Sequence|D||||
(0040,A123)|Person Name|D||||
(0008,1048)|Physician(s) of Record|X||||
(0008,1049)|Physician(s) of Record Identification Sequence|X||||
(0008,1062)|Physician(s) Reading Study Identification Sequence|X||||
(4008,0114)|Physician Approving Interpretation|X||||
(0040,2016)|Placer Order Number / Imaging Service Request|Z||||
(0018,1004)|Plate ID|X||||
(3002,0123)|Position Acquisition Template Description|X||C||
(3002,0121)|Position Acquisition Template Name|X||C||
(0010,21C0)|Pregnancy Status|X||||K
(0040,0012)|Pre-Medication|X||||C
(300A,000E)|Prescription Description|X||C||
(3010,007B)|Prescription Notes|Z||C||
(3010,0081)|Prescription Notes Sequence|Z||C||
(0070,0082)|Presentation Creation Date|X|C|||
(0070,0083)|Presentation Creation Time|X|C|||
(0070,1101)|Presentation Display Collection UID|U|||K|
(0070,1102)|Presentation Sequence Collection UID|U|||K|
(3010,0061)|Prior Treatment Dose Description|X||C||
(GGGG,EEEE) WHERE GGGG IS ODD|Private Attributes|X||||
(0040,4052)|Procedure Step Cancellation DateTime|X|C|||
(0044,000B)|Product Expiration DateTime|X|C|||
(0018,1030)|Protocol Name|X/D||C||
(0008,1088)|Pyramid Description|X||C||
(0020,0027)|Pyramid Label|X||C||
(0008,0019)|Pyramid UID|U|||K|
(300A,0619)|Radiation Dose Identification Label|D||C||
(300A,0623)|Radiation Dose In-Vivo Measurement Label|D||C||
(300A,067D)|Radiation Generation Mode Description|Z||C||
(300A,067C)|Radiation Generation Mode Label|D||C||
(0018,1078)|Radiopharmaceutical Start DateTime|X|C|||
(0018,1072)|Radiopharmaceutical Start Time|X|C|||
(0018,1079)|Radiopharmaceutical Stop DateTime|X|C|||
(0018,1073)|Radiopharmaceutical Stop Time|X|C|||
(300C,0113)|Reason for Omission Description|X||C||
(0040,100A)|Reason for Requested Procedure Code Sequence|X||C||
(0032,1030)|Reason for Study|X||C||
(3010,005C)|Reason for Superseding|Z||C||
(0400,0565)|Reason for the Attribute Modification|D||C||
(0040,2001)|Reason for the Imaging Service Request|X||C||
(0040,1002)|Reason for the Requested Procedure|X||C||
(0032,1066)|Reason for Visit|X||C||
(0032,1067)|Reason for Visit Code Sequence|X||C||
(0074,1234)|Receiving AE|X||||
(300A,073A)|Recorded RT Control Point DateTime|D|C|||
(3010,000B)|Referenced Conceptual Volume UID|U|||K|
(0040,A13A)|Referenced DateTime|D|C|||
(0400,0402)|Referenced Digital Signature Sequence|X||||
(300A,0083)|Referenced Dose Reference UID|U|||K|
(3010,006F)|Referenced Dosimetric Objective UID|U|||K|
(3010,0031)|Referenced Fiducials UID|U|||K|
(3006,0024)|Referenced Frame of Reference UID|U|||K|
(0040,4023)|Referenced General Purpose Scheduled Procedure Step Transaction UID|U|||K|
(0008,1140)|Referenced Image Sequence|X/Z/U*|||K|
(0040,A172)|Referenced Observation UID (Trial)|U|||K|
(0038,0004)|Referenced Patient Alias Sequence|X||||
(0010,1100)|Referenced Patient Photo Sequence|X||||
(0008,1120)|Referenced Patient Sequence|X|||K|
(0008,1111)|Referenced Performed Procedure Step Sequence|X/Z/D|||K|
(0400,0403)|Referenced SOP Instance MAC Sequence|X||||
(0008,1155)|Referenced SOP Instance UID|U|||K|
(0004,1511)|Referenced SOP Instance UID in File|U|||K|
(0008,1110)|Referenced Study Sequence|X/Z|||K|
(300A,0785)|Referenced Treatment Position Group UID|U|||K|
(0008,0092)|Referring Physician's Address|X||||
(0008,0090)|Referring Physician's Name|Z||||
(0008,0094)|Referring Physician's Telephone Numbers|X||||
(0008,0096)|Referring Physician Identification Sequence|X||||
(0010,2152)|Region of Residence|X||||
(3006,00C2)|Related Frame of Reference UID|U|||K|
(0040,0275)|Request Attributes Sequence|X||C||
(0032,1070)|Requested Contrast Agent|X||C||
(0040,1400)|Requested Procedure Comments|X||C||
(0032,1060)|Requested Procedure Description|X/Z||C||
(0040,1001)|Requested Procedure ID|X||||
(0040,1005)|Requested Procedure Location|X||||
(0018,9937)|Requested Series Description|X||C||
(0000,1001)|Requested SOP Instance UID|U|||K|
(0074,1236)|Requesting AE|X||||
(0032,1032)|Requesting Physician|X||||
(0032,1033)|Requesting Service|X||||
(0018,9185)|Respiratory Motion Compensation Technique Description|X||C||
(0010,2299)|Responsible Organization|X||||
(0010,2297)|Responsible Person|X||||
(4008,4000)|Results Comments|X||C||
(4008,0118)|Results Distribution List Sequence|X||||
(4008,0040)|Results ID|X||||
(4008,0042)|Results ID Issuer|X||||
(0008,0054)|Retrieve AE Title|X||||
(300E,0004)|Review Date|Z|C|||
(300E,0008)|Reviewer Name|X/Z||||
(300E,0005)|Review Time|Z|C|||
(3006,004D)|ROI Creator Sequence|X||||
(3006,002D)|ROI DateTime|X|C|||
(3006,0028)|ROI Description|X||C||
(3006,0038)|ROI Generation Description|X||C||
(3006,00A6)|ROI Interpreter|Z||||
(3006,004E)|ROI Interpreter Sequence|X||||
(3006,0026)|ROI Name|Z||C||
(3006,002E)|ROI Observation DateTime|X|C|||
(3006,0088)|ROI Observation Description|X||C||
(3006,0085)|ROI Observation Label|X||C||
(300A,0615)|RT Accessory Device Slot ID|Z||||
(300A,0611)|RT Accessory Holder Slot ID|Z||||
(3010,005A)|RT Physician Intent Narrative|Z||C||
(300A,0006)|RT Plan Date|X/D|C|||
(300A,0004)|RT Plan Description|X||C||
(300A,0002)|RT Plan Label|D||C||
(300A,0003)|RT Plan Name|X||C||
(300A,0007)|RT Plan Time|X/D|C|||
(3010,0054)|RT Prescription Label|D||C||
(300A,062A)|RT Tolerance Set Label|D||C||
(3010,0056)|RT Treatment Approach Label|X/D||C||
(3010,003B)|RT Treatment Phase UID|U|||K|
(3008,0162)|Safe Position Exit Date|D|C|||
(3008,0164)|Safe Position Exit Time|D|C|||
(3008,0166)|Safe Position Return Date|D|C|||
(3008,0168)|Safe Position Return Time|D|C|||
(0038,001A)|Scheduled Admission Date|X|C|||
(0038,001B)|Scheduled Admission Time|X|C|||
(0038,001C)|Scheduled Discharge Date|X|C|||
(0038,001D)|Scheduled Discharge Time|X|C|||
(0040,4034)|Scheduled Human Performers Sequence|X||||
(0038,001E)|Scheduled Patient Institution Residence|X||||
(0040,0006)|Scheduled Performing Physician's Name|X||||
(0040,000B)|Scheduled Performing Physician Identification Sequence|X||||
(0040,0007)|Scheduled Procedure Step Description|X||C||
(0040,0004)|Scheduled Procedure Step End Date|X|C|||
(0040,0005)|Scheduled Procedure Step End Time|X|C|||
(0040,4008)|Scheduled Procedure Step Expiration DateTime|X|C|||
(0040,0009)|Scheduled Procedure Step ID|X||||
(0040,0011)|Scheduled Procedure Step Location|X||||
(0040,4010)|Scheduled Procedure Step Modification DateTime|X|C|||
(0040,0002)|Scheduled Procedure Step Start Date|X|C|||
(0040,4005)|Scheduled Procedure Step Start DateTime|X|C|||
(0040,0003)|Scheduled Procedure Step Start Time|X|C|||
(0040,0001)|Scheduled Station AE Title|X||||
(0040,4027)|Scheduled Station Geographic Location Code Sequence|X||||
(0040,0010)|Scheduled Station Name|X||||
(0040,4025)|Scheduled Station Name Code Sequence|X||||
(0032,1020)|Scheduled Study Location|X||||
(0032,1021)|Scheduled Study Location AE Title|X||||
(0032,1000)|Scheduled Study Start Date|X|C|||
(0032,1001)|Scheduled Study Start Time|X|C|||
(0032,1010)|Scheduled Study Stop Date|X|C|||
(0032,1011)|Scheduled Study Stop Time|X|C|||
(0072,005E)|Selector AE Value|D||||
(0072,005F)|Selector AS Value|D||||K
(0072,0061)|Selector DA Value|D|C|||
(0072,0063)|Selector DT Value|D|C|||
(0072,0066)|Selector LO Value|D||C||
(0072,0068)|Selector LT Value|D||C||
(0072,0065)|Selector OB Value|D||||
(0072,006A)|Selector PN Value|D||||
(0072,006C)|Selector SH Value|D||C||
(0072,006E)|Selector ST Value|D||C||
(0072,006B)|Selector TM Value|D|C|||
(0072,006D)|Selector UN Value|D||||
(0072,0071)|Selector UR Value|D||||
(0072,0070)|Selector UT Value|D||C||
(0008,0021)|Series Date|X/D|C|||
(0008,103E)|Series Description|X||C||
(0020,000E)|Series Instance UID|U|||K|
(0008,0031)|Series Time|X/D|C|||
(0038,0062)|Service Episode Description|X||C||
(0038,0060)|Service Episode ID|X||||
(300A,01B2)|Setup Technique Description|X||C||
(300A,01A6)|Shielding Device Description|X||C||
(0040,06FA)|Slide Identifier|X||||
(0010,21A0)|Smoking Status|X||||K
(0100,0420)|SOP Authorization DateTime|X|C|||
(0008,0018)|SOP Instance UID|U|||K|
(3010,0015)|Source Conceptual Volume UID|U|||K|
(0018,936A)|Source End DateTime|D|C|||
(0064,0003)|Source Frame of Reference UID|U|||K|
(0034,0005)|Source Identifier|D||||
(0008,2112)|Source Image Sequence|X/Z/U*|||K|
(300A,0216)|Source Manufacturer|X||||
(0400,0564)|Source of Previous Values|Z||||
(3008,0105)|Source Serial Number|X/Z||||
(0018,9369)|Source Start DateTime|D|C|||
(300A,022C)|Source Strength Reference Date|D|C|||
(300A,022E)|Source Strength Reference Time|D|C|||
(0038,0050)|Special Needs|X||||C
(0040,050A)|Specimen Accession Number|X||||
(0040,0602)|Specimen Detailed Description|X||C||
(0040,0551)|Specimen Identifier|D||||
(0040,0610)|Specimen Preparation Sequence|Z||||
(0040,0600)|Specimen Short Description|X||C||
(0040,0554)|Specimen UID|U|||K|
(0018,9516)|Start Acquisition DateTime|X/D|C|||
(0008,0055)|Station AE Title|X||||
(0008,1010)|Station Name|X/Z/D||||
(0088,0140)|Storage Media File-set UID|U|||K|
(3006,0008)|Structure Set Date|Z|C|||
(3006,0006)|Structure Set Description|X||C||
(3006,0002)|Structure Set Label|D||C||
(3006,0004)|Structure Set Name|X||C||
(3006,0009)|Structure Set Time|Z|C|||
(0032,1040)|Study Arrival Date|X|C|||
(0032,1041)|Study Arrival Time|X|C|||
(0032,4000)|Study Comments|X||C||
(0032,1050)|Study Completion Date|X|C|||
(0032,1051)|Study Completion Time|X|C|||
(0008,0020)|Study Date|Z|C|||
(0008,1030)|Study Description|X||C||
(0020,0010)|Study ID|Z||||
(0032,0012)|Study ID Issuer|X||||
(0020,000D)|Study Instance UID|U|||K|
(0032,0034)|Study Read Date|X|C|||
(0032,0035)|Study Read Time|X|C|||
(0008,0030)|Study Time|Z|C|||
(0032,0032)|Study Verified Date|X|C|||
(0032,0033)|Study Verified Time|X|C|||
(0044,0010)|Substance Administration DateTime|X|C|||
(0020,0200)|Synchronization Frame of Reference UID|U|||K|
(0018,2042)|Target UID|U|||K|
(0040,A354)|Telephone Number (Trial)|X||||
(0040,DB0D)|Template Extension Creator UID|U|||K|
(0040,DB0C)|Template Extension Organization UID|U|||K|
(0040,DB07)|Template Local Version|X|C|||
(0040,DB06)|Template Version|X|C|||
(4000,4000)|Text Comments|X||||
(2030,0020)|Text String|X||||
(0040,A122)|Time|D|C|||
(0040,A112)|Time of Document Creation or Verbal Transaction (Trial)|X|C|||
(0018,1201)|Time of Last Calibration|X|C|||
(0018,700E)|Time of Last Detector Calibration|X/D|C|||
(0018,1014)|Time of Secondary Capture|X|C|||
(0008,0201)|Timezone Offset From UTC|X|C|||
(0088,0910)|Topic Author|X||||
(0088,0912)|Topic Keywords|X||||
(0088,0906)|Topic Subject|X||||
(0088,0904)|Topic Title|X||||
(0062,0021)|Tracking UID|U|||K|
(0008,1195)|Transaction UID|U|||K|
(0018,5011)|Transducer Identification Sequence|X||||
(3008,0024)|Treatment Control Point Date|D|C|||
(3008,0025)|Treatment Control Point Time|D|C|||
(3008,0250)|Treatment Date|X/D|C|||
(300A,00B2)|Treatment Machine Name|X/Z||||
(300A,0608)|Treatment Position Group Label|D||C||
(300A,0609)|Treatment Position Group UID|U|||K|
(300A,0700)|Treatment Session UID|U|||K|
(3010,0077)|Treatment Site|X/D||C||
(300A,000B)|Treatment Sites|X||C||
(3010,007A)|Treatment Technique Notes|Z||C||
(3008,0251)|Treatment Time|X/D|C|||
(300A,0736)|Treatment Tolerance Violation DateTime|D|C|||
(300A,0734)|Treatment Tolerance Violation Description|D||C||
(0018,100A)|UDI Sequence|X||||
(0040,A124)|UID|U||||
(0018,1009)|Unique Device Identifier|X||||
(3010,0033)|User Content Label|D||C||
(3010,0034)|User Content Long Label|D||C||
(0040,A352)|Verbal Source (Trial)|X||||
(0040,A358)|Verbal Source Identifier Code Sequence (Trial)|X||||
(0040,A030)|Verification DateTime|D|C|||
(0040,A088)|Verifying Observer Identification Code Sequence|Z||||
(0040,A075)|Verifying Observer Name|D||||
(0040,A073)|Verifying Observer Sequence|D||||
(0040,A027)|Verifying Organization|D||||
(0038,4000)|Visit Comments|X||C||
(003A,0329)|Waveform Filter Description|X||C||
(0018,9371)|X-Ray Detector ID|D||||
(0018,9373)|X-Ray Detector Label|X||||
(0018,9367)|X-Ray Source ID|D||||
"""

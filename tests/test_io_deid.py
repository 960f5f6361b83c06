"""De-identification (PS3.15 Annex E basic profile + modified dates): no PHI survives, geometry,
pixels and intervals are kept, UIDs are remapped consistently."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset

from heartprint.errors import InvalidInputError, UnsupportedSeriesError
from heartprint.io.deid import PHI_ACTIONS, date_offset_days, deidentify_dataset, deidentify_folder, remap_uid
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
    for ds in outs:
        for elem in ds.iterall():
            assert not elem.tag.is_private, elem
            if elem.keyword in PHI_ACTIONS and PHI_ACTIONS[elem.keyword] in ("X",):
                pytest.fail(f"{elem.keyword} survived")
            if elem.keyword in PHI_ACTIONS and PHI_ACTIONS[elem.keyword] == "Z":
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
    with pytest.warns(UserWarning), pytest.raises(InvalidInputError, match="no DICOM"):
        deidentify_folder(tmp_path, tmp_path.parent / "deid_empty_out", salt=SALT)
    assert not (tmp_path.parent / "deid_empty_out").exists()

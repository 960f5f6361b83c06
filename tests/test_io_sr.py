"""DICOM SR (TID 1500) export: values round trip through highdicom, codes, units, validators,
AHA segment / coronary artery finding sites (CID 3717 / 3015), identity from the source."""

from __future__ import annotations

import shutil
import subprocess

import highdicom as hd
import numpy as np
import pydicom
import pytest
from _dsrdump import num_items

from heartprint.anatomy import AHA_SEGMENT_NAMES
from heartprint.anatomy.aha_codes import AHA_SEGMENT_CODES, CORONARY_ARTERY_CODES, CORONARY_SEGMENT_CODES
from heartprint.errors import InvalidInputError
from heartprint.io import load
from heartprint.io.deid import deidentify_folder
from heartprint.io.seg import write_seg
from heartprint.io.sr import LOCAL_SCHEME, write_sr
from heartprint.measure import Measurement
from heartprint.phantoms import make_cine_sax
from heartprint.phantoms._dicom import write_cine_sax_dicom

MEASUREMENTS = [
    Measurement(code="lv_edv", name="LV EDV", value=140.2, unit="mL", modality="MR"),
    Measurement(code="lv_ef", name="LV EF", value=57.1, unit="%", modality="MR"),
    Measurement(code="lv_edvi", name="LV EDVi", value=70.1, unit="mL/m2", modality="MR"),
    Measurement(code="lv_mass", name="LV mass", value=130.5, unit="g", modality="MR"),
    Measurement(code="rv_ef", name="RV EF", value=53.3, unit="%", modality="MR"),
    Measurement(code="heart_rate", name="Heart rate", value=60.0, unit="/min", modality="MR"),
]
#: code -> (scheme, value) expected in the SR: standard codes from heartprint.concepts, else local
EXPECTED_CODES = {
    "lv_edv": ("LN", "18026-5"), "lv_ef": ("LN", "8811-2"), "lv_edvi": (LOCAL_SCHEME, "lv_edvi"),
    "lv_mass": ("LN", "18087-7"), "rv_ef": ("LN", "8818-7"), "heart_rate": ("LN", "8867-4"),
}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("sr")
    phantom = make_cine_sax(n_phases=3, n_slices=5, matrix=(96, 96))
    paths = write_cine_sax_dicom(phantom, out / "src")
    image = load(out / "src")
    seg = write_seg(image.with_array(phantom.labels.astype(np.uint8)), paths, out / "seg.dcm")
    # dicts (as in SeriesAnalysis.result["measurements"]) are accepted as well as Measurements
    info = write_sr([MEASUREMENTS[0].to_dict(), *MEASUREMENTS[1:]], out / "sr.dcm", seg=seg)
    return seg, info, out


def _read_values(path):
    sr = hd.sr.srread(path)
    got = {}
    groups = list(sr.content.get_volumetric_roi_measurement_groups()) + list(sr.content.get_image_measurement_groups())
    for g in groups:
        for m in g.get_measurements():
            got[(m.name.scheme_designator, m.name.value)] = (m.value, m.unit.value, m.unit.scheme_designator, g)
    return sr, got


def test_values_codes_and_units_round_trip(report):
    _, info, _ = report
    _, got = _read_values(info.path)
    assert len(got) == len(MEASUREMENTS)
    for m in MEASUREMENTS:
        value, unit, scheme, _ = got[EXPECTED_CODES[m.code]]
        assert value == pytest.approx(m.value, abs=1e-9)
        assert (unit, scheme) == (m.unit, "UCUM")


def test_roi_groups_reference_the_seg_segments_and_carry_tracking_ids(report):
    seg, info, _ = report
    _, got = _read_values(info.path)
    numbers = {v: k for k, v in seg.segments.items()}
    for code, label in [("lv_edvi", "LV cavity"), ("lv_mass", "LV myocardium")]:
        group = got[EXPECTED_CODES[code]][3]
        ref = group.referenced_segment
        assert ref.referenced_sop_instance_uid == seg.sop_instance_uid
        assert list(ref.referenced_segment_numbers) == [numbers[label]]
        assert group.tracking_uid == info.group_tracking_uids[label]
        assert group.tracking_identifier.startswith("heartprint")
    ds = pydicom.dcmread(info.path)
    assert ds.StudyInstanceUID == seg.dataset.StudyInstanceUID
    evidence = ds.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0]
    assert evidence.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == seg.sop_instance_uid
    schemes = {s.CodingSchemeDesignator for s in ds.CodingSchemeIdentificationSequence}
    assert LOCAL_SCHEME in schemes


def test_volumes_carry_the_cavity_outline_they_were_inferred_from(report):
    """EDV/EF (LV) and EF (RV) are INFERRED FROM the SEG and from their cavity's outline on the
    mid-ventricular slice at ED (and ES), SELECTED FROM that cine image: the outline rasterises
    back to exactly the phantom's cavity pixels there, and the ED image is the largest-volume phase."""
    from skimage.draw import polygon2mask

    seg, info, out = report
    _, got = _read_values(info.path)
    phantom = make_cine_sax(n_phases=3, n_slices=5, matrix=(96, 96))  # the fixture's phantom
    paths = sorted((out / "src").glob("*.dcm"))
    where = {}
    for p in paths:  # files are IM_z{slice}_t{phase}.dcm
        z, t = int(p.stem.split("_")[1][1:]), int(p.stem.split("_")[2][1:])
        where[str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID)] = (t, z)
    lv_volume = (phantom.labels == 1).sum(axis=(1, 2, 3))
    expect_phases = {"lv_edv": [int(np.argmax(lv_volume))],
                     "lv_ef": [int(np.argmax(lv_volume)), int(np.argmin(lv_volume))]}
    for code, label, n in [("lv_edv", 1, 1), ("lv_ef", 1, 2), ("rv_ef", 3, 2)]:
        value, _, _, group = got[EXPECTED_CODES[code]]
        assert group.tracking_uid == info.group_tracking_uids[{1: "LV cavity", 3: "RV cavity"}[label] + " volumes"]
        m = next(x for x in group.get_measurements() if x.name.value == EXPECTED_CODES[code][1])
        assert [r.referenced_sop_instance_uid for r in m.referenced_images] == [seg.sop_instance_uid]
        coords = m.referenced_coordinates
        assert len(coords) == n
        phases = []
        for c in coords:
            assert c.graphic_type.value == "POLYLINE"
            xy = np.asarray(c.value)
            assert np.array_equal(xy[0], xy[-1])  # closed
            t, z = where[c.ContentSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID]
            phases.append(t)
            mask = phantom.labels[t, z] == label
            drawn = polygon2mask(mask.shape, np.stack([xy[:, 1] - 0.5, xy[:, 0] - 0.5], axis=1))
            assert np.array_equal(drawn, mask), (code, t, z, int((drawn != mask).sum()))
        if code in expect_phases:
            assert phases == expect_phases[code]
    assert got[EXPECTED_CODES["heart_rate"]][3].tracking_uid == info.group_tracking_uids["study"]


def test_dsrdump_and_dciodvfy_report_no_errors(report):
    _, info, _ = report
    if shutil.which("dsrdump") is None or shutil.which("dciodvfy") is None:
        pytest.skip("dcmtk dsrdump or dicom3tools dciodvfy not installed")
    dump = subprocess.run(["dsrdump", str(info.path)], capture_output=True, text=True, timeout=60)
    assert dump.returncode == 0 and "E:" not in dump.stderr and "error" not in dump.stderr.lower(), dump.stderr
    assert "Imaging Measurement Report" in dump.stdout
    proc = subprocess.run(["dciodvfy", str(info.path)], capture_output=True, text=True, timeout=60)
    errors = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("Error")]
    assert not errors, errors


def test_unknown_unit_and_bad_inputs_raise(report):
    seg, _, out = report
    bad = Measurement.model_construct(code="lv_edv", name="LV EDV", value=1.0, unit="furlong", modality="MR")
    with pytest.raises(InvalidInputError, match=r"'lv_edv': unit 'furlong'"):
        write_sr([bad], out / "bad.dcm", seg=seg)
    with pytest.raises(InvalidInputError, match="unit"):
        write_sr([{"code": "lv_edv", "name": "x", "value": 1.0, "unit": "cc"}], out / "bad.dcm", seg=seg)
    nan = Measurement(code="lv_edv", name="LV EDV", value=float("nan"), unit="mL")
    with pytest.raises(InvalidInputError, match="not finite"):
        write_sr([nan], out / "bad.dcm", seg=seg)
    with pytest.raises(InvalidInputError, match="empty"):
        write_sr([], out / "bad.dcm", seg=seg)
    assert not (out / "bad.dcm").exists()


# -- per-segment and per-vessel values name their anatomy --------------------------------------

#: one wall thickness per AHA segment, each value distinct so that the dump pairs them unambiguously
SEGMENT_VALUES = {n: round(4.0 + 0.25 * n, 2) for n in range(1, 18)}


def test_aha_code_table_is_dicom_cid_3717_and_cid_3015():
    from pydicom.sr.codedict import codes

    cid3717 = {getattr(codes.cid3717, k).value: getattr(codes.cid3717, k) for k in codes.cid3717.dir()}
    assert len(AHA_SEGMENT_CODES) == 17 and len({v for v, _, _ in AHA_SEGMENT_CODES.values()}) == 17
    for n, (value, scheme, meaning) in AHA_SEGMENT_CODES.items():
        code = cid3717[value]
        assert (code.scheme_designator, code.meaning) == (scheme, meaning)
        if n < 17:  # the CID meaning is the AHA name: segment 4 "basal inferior" = "left ventricle basal inferior segment"
            assert meaning == f"left ventricle {AHA_SEGMENT_NAMES[n]} segment"
    assert AHA_SEGMENT_CODES[17][2] == "Apex of left ventricle"
    cid3015 = {getattr(codes.cid3015, k).value: getattr(codes.cid3015, k) for k in codes.cid3015.dir()}
    for value, scheme, meaning in [*CORONARY_ARTERY_CODES.values(), *CORONARY_SEGMENT_CODES.values()]:
        assert (cid3015[value].scheme_designator, cid3015[value].meaning) == (scheme, meaning)


@pytest.fixture(scope="module")
def segment_report(report):
    seg, _, out = report
    ms = [Measurement(code="lv_wall_thickness", name="LV wall thickness", value=v, unit="mm", modality="MR", segment=n)
          for n, v in SEGMENT_VALUES.items()]
    ms.append(Measurement(code="stenosis", name="LAD stenosis", value=70.0, unit="%", modality="MR", vessel="LAD",
                          vessel_segment="proximal"))
    ms.append(Measurement(code="stenosis", name="RCA stenosis", value=30.0, unit="%", modality="MR", vessel="RCA"))
    return write_sr(ms, out / "sr_segments.dcm", seg=seg)


def test_dsrdump_shows_the_aha_segment_of_every_per_segment_value(segment_report):
    if shutil.which("dsrdump") is None:
        pytest.skip("dcmtk dsrdump not installed")
    dump = subprocess.run(["dsrdump", str(segment_report.path)], capture_output=True, text=True, timeout=60)
    assert dump.returncode == 0 and not dump.stderr.strip(), dump.stderr
    pairs = [(v, site) for _, v, site in num_items(dump.stdout)]
    by_value = {v: site for v, site in pairs}
    for n, value in SEGMENT_VALUES.items():
        code, scheme, meaning = AHA_SEGMENT_CODES[n]
        assert by_value.get(value) == (code, scheme, meaning), (n, value, by_value.get(value))
    assert by_value[70.0] == CORONARY_SEGMENT_CODES[("LAD", "proximal")]
    assert by_value[30.0] == CORONARY_ARTERY_CODES["RCA"]
    assert len([p for p in pairs if p[1] is not None]) == 19


def test_finding_sites_round_trip_through_highdicom(segment_report):
    sr = hd.sr.srread(segment_report.path)
    sites = {}
    for g in sr.content.get_volumetric_roi_measurement_groups():
        for m in g.get_measurements():
            (site,) = m.finding_sites
            sites[round(m.value, 2)] = site.value.value
    assert {sites[v] for v in SEGMENT_VALUES.values()} == {c for c, _, _ in AHA_SEGMENT_CODES.values()}
    for n, v in SEGMENT_VALUES.items():
        assert sites[v] == AHA_SEGMENT_CODES[n][0]


def test_segment_report_passes_dciodvfy(segment_report):
    if shutil.which("dciodvfy") is None:
        pytest.skip("dicom3tools dciodvfy not installed")
    proc = subprocess.run(["dciodvfy", str(segment_report.path)], capture_output=True, text=True, timeout=60)
    errors = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("Error")]
    assert not errors, errors


# -- identity: the SR's patient is the source's patient, and de-identification strips it -------

PHI = {"PatientName": "DOE^JANE", "PatientID": "MRN-12345", "PatientBirthDate": "19600203"}


def _phi_strings(ds):
    text = str(ds)  # every element, nested sequences included
    return [v for v in ("DOE^JANE", "DOE", "MRN-12345", "19600203") if v in text]


@pytest.fixture(scope="module")
def identified_source(tmp_path_factory):
    out = tmp_path_factory.mktemp("sr_phi")
    phantom = make_cine_sax(n_phases=2, n_slices=4, matrix=(64, 64))
    paths = write_cine_sax_dicom(phantom, out / "src", patient_name=PHI["PatientName"], patient_id=PHI["PatientID"])
    for p in paths:
        ds = pydicom.dcmread(p)
        ds.PatientBirthDate = PHI["PatientBirthDate"]
        ds.save_as(p)
    return phantom, out


def _seg_and_sr(phantom, folder, out):
    paths = sorted(p for p in folder.rglob("*.dcm"))
    image = load(folder)
    seg = write_seg(image.with_array(phantom.labels.astype(np.uint8)), paths, out / "seg.dcm")
    ms = [Measurement(code="lv_wall_thickness", name="WT", value=6.0, unit="mm", modality="MR", segment=1)]
    return write_sr(ms, out / "sr.dcm", seg=seg)


def test_sr_patient_comes_from_the_source_and_deidentification_strips_it(identified_source):
    phantom, out = identified_source
    (out / "a").mkdir()
    info = _seg_and_sr(phantom, out / "src", out / "a")
    ds = pydicom.dcmread(info.path)
    assert (str(ds.PatientName), ds.PatientID, ds.PatientBirthDate) == tuple(PHI.values())
    # an SR written with identity, de-identified afterwards: nothing of the patient remains
    written = deidentify_folder(out / "a", out / "a_deid", salt="sr-test-salt")
    for p in written:
        clean = pydicom.dcmread(p)
        assert not _phi_strings(clean), (p, _phi_strings(clean))
    sr_out = [pydicom.dcmread(p) for p in written]
    assert any(d.Modality == "SR" for d in sr_out)


def test_sr_from_a_deidentified_source_is_deidentified(identified_source):
    phantom, out = identified_source
    deidentify_folder(out / "src", out / "src_deid", salt="sr-test-salt")
    (out / "b").mkdir()
    info = _seg_and_sr(phantom, out / "src_deid", out / "b")
    ds = pydicom.dcmread(info.path)
    assert not _phi_strings(ds), _phi_strings(ds)
    assert ds.PatientID and ds.PatientID != PHI["PatientID"]


def test_series_description_names_the_analysed_series_within_lo():
    from heartprint.io.sr import report_description

    assert report_description("CINE SSFP SAX") == "heartprint measurements: CINE SSFP SAX"
    assert report_description(None) == report_description("\x00\\ ") == "heartprint measurement report"
    hostile = report_description("LGE\\PSIR\x1b[31m é" + "x" * 100)
    assert len(hostile) <= 64 and "\\" not in hostile and all(" " <= ch <= "~" for ch in hostile)

"""DICOM SR (TID 1500) export: values round trip through highdicom, codes, units, validators."""

from __future__ import annotations

import shutil
import subprocess

import highdicom as hd
import numpy as np
import pydicom
import pytest

from heartprint.errors import InvalidInputError
from heartprint.io import load
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
    for code, label in [("lv_edv", "LV cavity"), ("lv_mass", "LV myocardium"), ("rv_ef", "RV cavity")]:
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

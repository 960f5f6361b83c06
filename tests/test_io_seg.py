"""DICOM SEG export: exact mask round trip, source references, validation, bad input."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace

import highdicom as hd
import numpy as np
import pydicom
import pytest

from heartprint.errors import GeometryError, InvalidInputError
from heartprint.io import load
from heartprint.io.seg import SEGMENTS, write_seg
from heartprint.phantoms import make_cine_sax
from heartprint.phantoms._dicom import write_cine_sax_dicom

CARD = {"name": "interim", "sha256": "7e" * 32}


@pytest.fixture(scope="module")
def cine(tmp_path_factory):
    out = tmp_path_factory.mktemp("seg")
    phantom = make_cine_sax(n_phases=4, n_slices=6, matrix=(96, 96))
    paths = write_cine_sax_dicom(phantom, out / "src")
    image = load(out / "src")
    labels = image.with_array(phantom.labels.astype(np.uint8))
    info = write_seg(labels, paths, out / "seg.dcm", model_card=CARD)
    return phantom, paths, labels, info, out


def _expected_by_source(phantom, paths):
    """Expected label frame per source file (files are IM_z{z}_t{t}.dcm)."""
    out = []
    for p in paths:
        z, t = int(p.name[4:7]), int(p.name[9:12])
        out.append(phantom.labels[t, z])
    return np.stack(out)


def test_mask_round_trips_exactly_with_highdicom(cine):
    phantom, paths, _, info, _ = cine
    seg = hd.seg.segread(info.path)
    uids = [pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID for p in paths]
    got = seg.get_pixels_by_source_instance(uids, combine_segments=True)
    assert np.array_equal(got, _expected_by_source(phantom, paths))


def test_mask_round_trips_with_pydicom_and_frames_reference_sources(cine):
    phantom, paths, _, info, _ = cine
    ds = pydicom.dcmread(info.path)
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.66.4"  # Segmentation Storage
    assert ds.SegmentationType == "BINARY"
    by_uid = {pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID: p for p in paths}
    frames = ds.pixel_array
    rebuilt = {uid: np.zeros((96, 96), np.uint8) for uid in by_uid}
    for i, item in enumerate(ds.PerFrameFunctionalGroupsSequence):
        src_uid = item.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
        assert src_uid in by_uid
        number = int(item.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        rebuilt[src_uid][frames[i] > 0] = number
        # the frame's position is the source's position
        src = pydicom.dcmread(by_uid[src_uid], stop_before_pixels=True)
        assert np.allclose(item.PlanePositionSequence[0].ImagePositionPatient, src.ImagePositionPatient)
    got = np.stack([rebuilt[pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID] for p in paths])
    assert np.array_equal(got, _expected_by_source(phantom, paths))
    # every referenced instance is a source of this study
    refs = {r.ReferencedSOPInstanceUID for r in ds.ReferencedSeriesSequence[0].ReferencedInstanceSequence}
    assert refs <= set(by_uid) and len(refs) == len(by_uid)


def test_segments_are_coded_with_existing_codes_and_algorithm_identified(cine):
    *_, info, _ = cine
    ds = pydicom.dcmread(info.path, stop_before_pixels=True)
    assert [s.SegmentLabel for s in ds.SegmentSequence] == ["LV cavity", "LV myocardium", "RV cavity"]
    for item, spec in zip(ds.SegmentSequence, SEGMENTS.values()):
        t = item.SegmentedPropertyTypeCodeSequence[0]
        assert (t.CodingSchemeDesignator, t.CodeValue) == ("SCT", spec.property_type.value)
        algo = item.SegmentationAlgorithmIdentificationSequence[0]
        assert algo.AlgorithmName == "heartprint interim"
        assert algo.AlgorithmFamilyCodeSequence[0].CodeValue == "123110"  # DCM Artificial Intelligence
        assert "7e7e" in algo.AlgorithmParameters
        assert item.TrackingUID == info.segment_tracking_uids[int(item.SegmentNumber)]
    assert {"49848007", "87612001"} <= {i.SegmentedPropertyTypeCodeSequence[0].CodeValue for i in ds.SegmentSequence}


def test_dciodvfy_reports_no_errors(cine):
    if shutil.which("dciodvfy") is None:
        pytest.skip("dciodvfy (dicom3tools) not installed")
    *_, info, _ = cine
    proc = subprocess.run(["dciodvfy", str(info.path)], capture_output=True, text=True, timeout=60)
    errors = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("Error")]
    assert not errors, errors


def test_labels_off_the_source_grid_raise_naming_both(cine):
    _, paths, labels, _, out = cine
    affine = labels.affine.copy()
    affine[:3, 3] += 3.0 * labels.direction[:, 0]  # 3 mm along the slice normal: between source slices
    shifted = replace(labels, affine=affine)
    with pytest.raises(GeometryError, match="source instance .*labels"):
        write_seg(shifted, paths, out / "bad.dcm")
    cropped = replace(labels, array=labels.array[:, :, :90, :90])
    with pytest.raises(GeometryError, match=r"Rows x Columns = 96 x 96 .*90 x 90"):
        write_seg(cropped, paths, out / "bad.dcm")
    assert not (out / "bad.dcm").exists()


def test_missing_frames_and_empty_segmentation_raise(cine):
    _, paths, labels, _, out = cine
    with pytest.raises(GeometryError, match="no source instance"):
        write_seg(labels, paths[:-1], out / "bad.dcm")
    with pytest.raises(InvalidInputError, match="empty"):
        write_seg(labels.with_array(np.zeros_like(labels.array)), paths, out / "bad.dcm")
    with pytest.raises(InvalidInputError, match=r"label values \[7\]"):
        write_seg(labels.with_array(np.full_like(labels.array, 7)), paths, out / "bad.dcm")


def test_absent_label_is_omitted_and_remaining_segments_renumbered(cine):
    phantom, paths, labels, _, out = cine
    arr = labels.array.copy()
    arr[arr == 1] = 0  # no LV cavity
    info = write_seg(labels.with_array(arr), paths, out / "no_lv.dcm")
    assert info.segments == {1: "LV myocardium", 2: "RV cavity"}
    seg = hd.seg.segread(info.path)
    uids = [pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID for p in paths]
    got = seg.get_pixels_by_source_instance(uids, combine_segments=True, relabel=False)
    exp = _expected_by_source(phantom, paths).copy()
    exp = np.select([exp == 2, exp == 3], [1, 2], 0)
    assert np.array_equal(got, exp)


def test_segments_carry_fixed_display_colours_in_cielab(cine):
    """(0062,000D) equals the documented sRGB colour converted independently (scikit-image, D65)."""
    from skimage.color import rgb2lab

    *_, info, _ = cine
    ds = pydicom.dcmread(info.path, stop_before_pixels=True)
    written = {str(item.SegmentLabel): [int(v) for v in item.RecommendedDisplayCIELabValue] for item in ds.SegmentSequence}
    expected_rgb = {"LV cavity": (213, 94, 0), "LV myocardium": (0, 158, 115), "RV cavity": (86, 180, 233)}
    assert set(written) == set(expected_rgb)
    for name, rgb in expected_rgb.items():
        lab = rgb2lab(np.array(rgb, float).reshape(1, 1, 3) / 255.0).ravel()
        # DICOM encoding, PS3.3 C.10.7.1.1: L* 0..100 and a*, b* -128..127 onto 0..65535
        dicom = [lab[0] * 65535 / 100, (lab[1] + 128) * 65535 / 255, (lab[2] + 128) * 65535 / 255]
        assert np.allclose(written[name], dicom, atol=5), (name, written[name], dicom)
    # three distinct colours, as documented in heartprint.io.seg
    assert len({tuple(v) for v in written.values()}) == 3
    assert written["LV cavity"] == [35512, 44018, 49160]

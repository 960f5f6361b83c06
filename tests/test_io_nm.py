"""Reading nuclear DICOM (issue 19): NM tomographic multi-frame files and PET series.

Files are written here with pydicom (no phantom writer): every voxel value encodes its
(time, slice, row, column) so that placement and geometry are checked exactly.
"""

from __future__ import annotations

import math

from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from heartprint import io as hio
from heartprint.errors import GeometryError, InvalidInputError, UnsupportedSeriesError
from heartprint.io._load import load_nuclear

NM_SOP = "1.2.840.10008.5.1.4.1.1.20"
PET_SOP = "1.2.840.10008.5.1.4.1.1.128"
ROWS, COLS = 4, 5
SLICE, SLOT, RR, EW = 0x00540080, 0x00540070, 0x00540060, 0x00540010
# oblique geometry: row direction rotated 30° in the axial plane, column direction to the feet
COS, SIN = np.cos(np.radians(30)), np.sin(np.radians(30))
IOP = [COS, SIN, 0.0, 0.0, 0.0, -1.0]
IPP = [-120.5, 33.25, 80.0]
PS = (6.4, 3.2)  # (row spacing, column spacing) mm
STEP = 6.0


def _value(t, s, r, c):
    """Stored value of slot t (0-based), slice index s (1-based), row r, column c."""
    return t * 10000 + s * 100 + r * 10 + c


def _base(ds: Dataset, sop: str, modality: str) -> None:
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID = sop, ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality = modality
    ds.PatientID = "NM1"
    ds.StudyDate = "20260101"
    ds.Rows, ds.Columns = ROWS, COLS
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0


def write_nm(path: Path, *, n_slices=6, n_slots=1, order=None, image_type="RECON TOMO", description="SA STRESS",
             step=STEP, iop=IOP, ipp=IPP, edit=None) -> Path:
    """A minimal NM Image Storage multi-frame file: frames in ``order`` (list of (slot, slice) 0-based /
    1-based pairs; default slot-major, slice ascending) with the matching vectors."""
    gated = n_slots > 1 or "GATED" in image_type
    if order is None:
        order = [(t, s) for t in range(n_slots) for s in range(1, n_slices + 1)]
    ds = Dataset()
    _base(ds, NM_SOP, "NM")
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SeriesDescription = description
    ds.ImageType = ["ORIGINAL", "PRIMARY", image_type, "EMISSION"]
    ds.NumberOfFrames = len(order)
    pointers = [Tag(EW), Tag(RR), Tag(SLOT), Tag(SLICE)] if gated else [Tag(EW), Tag(SLICE)]
    ds.FrameIncrementPointer = pointers
    ds.EnergyWindowVector, ds.NumberOfEnergyWindows = [1] * len(order), 1
    ds.SliceVector, ds.NumberOfSlices = [s for _, s in order], n_slices
    if gated:
        ds.RRIntervalVector, ds.NumberOfRRIntervals = [1] * len(order), 1
        ds.TimeSlotVector, ds.NumberOfTimeSlots = [t + 1 for t, _ in order], n_slots
    ds.PixelSpacing = list(PS)
    ds.SpacingBetweenSlices = step
    ds.SliceThickness = abs(step)
    det = Dataset()
    det.ImagePositionPatient, det.ImageOrientationPatient = list(ipp), list(iop)
    ds.DetectorInformationSequence = Sequence([det])
    win = Dataset()
    rng = Dataset()
    rng.EnergyWindowLowerLimit, rng.EnergyWindowUpperLimit = 126.45, 154.55
    win.EnergyWindowRangeSequence, win.EnergyWindowName = Sequence([rng]), "TC99M"
    ds.EnergyWindowInformationSequence = Sequence([win])
    rp = Dataset()
    rp.Radiopharmaceutical = "Tc-99m Sestamibi"
    ds.RadiopharmaceuticalInformationSequence = Sequence([rp])
    r, c = np.meshgrid(np.arange(ROWS), np.arange(COLS), indexing="ij")
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 32, 32, 31  # values up to 7 × 10000 + …
    frames = np.stack([_value(t, s, r, c) for t, s in order]).astype(np.uint32)
    ds.PixelData = frames.tobytes()
    if edit is not None:
        edit(ds)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def _expected_lps(s, r, c, *, ipp=IPP, iop=IOP, step=STEP):
    """Header geometry: slice index s (1-based) at IPP + (s − 1)·step·(row × column)."""
    row, col = np.array(iop[:3]), np.array(iop[3:])
    n = np.cross(row, col)
    return np.array(ipp) + (s - 1) * step * n + r * PS[0] * col + c * PS[1] * row


# -- NM ------------------------------------------------------------------------------------------


def test_nm_recon_tomo_volume_and_geometry(tmp_path):
    path = write_nm(tmp_path / "nm" / "a.dcm")
    img = hio.load(tmp_path / "nm")  # public entry: routing by SOP Class
    assert img.modality == "NM" and img.array.shape == (6, ROWS, COLS) and img.frame_times_ms is None
    assert img.kind.startswith("nm_perfusion")  # classify may add _stress / _rest
    z, r, c = np.meshgrid(np.arange(6), np.arange(ROWS), np.arange(COLS), indexing="ij")
    np.testing.assert_array_equal(img.array, _value(0, z + 1, r, c))
    for idx in [(0, 0, 0), (3, 2, 4), (5, 3, 1)]:
        np.testing.assert_allclose(img.index_to_lps(np.array([idx]))[0], _expected_lps(idx[0] + 1, idx[1], idx[2]),
                                   atol=1e-9)
    assert img.spacing == pytest.approx((STEP, PS[0], PS[1]))
    assert img.meta["nm_state"] == "stress" and "(0008,103E)" in img.meta["nm_state_source"]
    assert img.meta["tracer"] == "Tc-99m Sestamibi"
    assert img.meta["energy_windows"] == [{"name": "TC99M", "lower_kev": 126.45, "upper_kev": 154.55}]
    assert img.meta["image_type"][2] == "RECON TOMO"
    assert img.meta["slice_spacing_source"] == "(0018,0088) Spacing Between Slices"
    assert path.exists()


def test_nm_reversed_and_shuffled_frames_load_sorted_along_normal(tmp_path):
    order = [(0, s) for s in (6, 5, 4, 3, 2, 1)]
    img = hio.load(write_nm(tmp_path / "r.dcm", order=order))
    assert [int(img.array[z, 0, 0]) for z in range(6)] == [_value(0, s, 0, 0) for s in range(1, 7)]
    n = np.cross(IOP[:3], IOP[3:])
    np.testing.assert_allclose(img.direction[:, 0], n, atol=1e-12)  # z increases along row × column
    np.testing.assert_allclose(img.index_to_lps(np.array([[5, 1, 2]]))[0], _expected_lps(6, 1, 2), atol=1e-9)


def test_nm_negative_spacing_reversed_to_normal(tmp_path):
    img = hio.load(write_nm(tmp_path / "n.dcm", step=-STEP))
    # slice index s lies at IPP − (s − 1)·STEP·n: z = 0 is slice 6
    assert int(img.array[0, 0, 0]) == _value(0, 6, 0, 0) and int(img.array[5, 0, 0]) == _value(0, 1, 0, 0)
    np.testing.assert_allclose(img.index_to_lps(np.array([[0, 2, 3]]))[0], _expected_lps(6, 2, 3, step=-STEP),
                               atol=1e-9)
    assert "negative" in img.meta["slice_order_note"]


def test_nm_slice_thickness_fallback_is_noted(tmp_path):
    img = hio.load(write_nm(tmp_path / "t.dcm", edit=lambda ds: delattr(ds, "SpacingBetweenSlices")))
    assert img.spacing[0] == pytest.approx(STEP)
    assert img.meta["slice_spacing_source"].startswith("(0018,0050) Slice Thickness")


def test_nm_gated_shape_and_frame_times(tmp_path):
    def edit(ds):
        item, gate = Dataset(), Dataset()
        item.FrameTime = 50.0
        gate.DataInformationSequence = Sequence([item])
        ds.GatedInformationSequence = Sequence([gate])

    rng = np.random.default_rng(0)
    order = [(t, s) for t in range(8) for s in range(1, 5)]
    order = [order[i] for i in rng.permutation(len(order))]
    img = hio.load(write_nm(tmp_path / "g.dcm", n_slices=4, n_slots=8, order=order,
                            image_type="RECON GATED TOMO", edit=edit))
    assert img.array.shape == (8, 4, ROWS, COLS)
    t, z, r, c = np.meshgrid(np.arange(8), np.arange(4), np.arange(ROWS), np.arange(COLS), indexing="ij")
    np.testing.assert_array_equal(img.array, _value(t, z + 1, r, c))
    np.testing.assert_allclose(img.frame_times_ms, np.arange(8) * 50.0)
    assert "(0018,1063) Frame Time" in img.meta["frame_times_source"]


def test_nm_gated_times_from_nominal_interval(tmp_path):
    img = hio.load(write_nm(tmp_path / "g.dcm", n_slices=3, n_slots=8, image_type="RECON GATED TOMO",
                            edit=lambda ds: setattr(ds, "NominalInterval", 800)))
    np.testing.assert_allclose(img.frame_times_ms, np.arange(8) * 100.0)
    assert img.meta["nm_rr_interval_ms"] == 800.0


@pytest.mark.parametrize("desc,study,expected", [
    ("SA STRESS_IRNC", None, "stress"), ("Rest SA", None, "rest"), ("RST-TOMO", None, "rest"),
    ("STR AC", None, "stress"), ("RESTING STRAIN", None, None), ("SA", "MPI REST STRESS", None),
    ("SA", "Myocardial stress", "stress"),
])
def test_nm_state_detection(tmp_path, desc, study, expected):
    def edit(ds):
        if study:
            ds.StudyDescription = study
    img = hio.load(write_nm(tmp_path / "s.dcm", description=desc, edit=edit))
    assert img.meta["nm_state"] == expected


def test_nm_state_override_wins(tmp_path):
    write_nm(tmp_path / "o" / "s.dcm", description="SA STRESS")
    img = load_nuclear(hio.scan(tmp_path / "o")[0], nm_state="rest")
    assert img.meta["nm_state"] == "rest" and img.meta["nm_state_source"] == "nm_state argument"
    with pytest.raises(InvalidInputError, match="nm_state='peak'"):
        load_nuclear(hio.scan(tmp_path / "o")[0], nm_state="peak")


def _slice_len(ds):
    ds.SliceVector = list(ds.SliceVector)[:60]


def _slice_zero(ds):
    v = list(ds.SliceVector)
    v[3] = 0
    ds.SliceVector = v


def _slice_big(ds):
    v = list(ds.SliceVector)
    v[0] = 65
    ds.SliceVector = v


def _gap(ds):
    ds.NumberOfSlices = 65


@pytest.mark.parametrize("edit,pattern", [
    (lambda ds: delattr(ds, "SliceVector"), r"\(0054,0080\) Slice Vector is missing"),
    (_slice_len, r"\(0054,0080\) Slice Vector has 60 values; expected 64 = \(0028,0008\) Number of Frames"),
    (_slice_zero, r"\(0054,0080\) Slice Vector value 0 at frame 4 is out of range; expected 1\.\.64"),
    (_slice_big, r"\(0054,0080\) Slice Vector value 65 .*expected 1\.\.64 = \(0054,0081\) Number of Slices"),
    (_gap, r"\(0054,0080\) Slice Vector has a gap: index\(es\) \[65\]"),
    (lambda ds: delattr(ds, "FrameIncrementPointer"), r"\(0028,0009\) Frame Increment Pointer is missing"),
    (lambda ds: delattr(ds, "NumberOfSlices"), r"\(0054,0081\) Number of Slices is None"),
])
def test_nm_vector_errors_name_the_tag(tmp_path, edit, pattern):
    path = write_nm(tmp_path / "e.dcm", n_slices=64, edit=edit)
    with pytest.raises(InvalidInputError, match=pattern):
        hio.load(path)


def test_nm_duplicate_slice_time_pairs(tmp_path):
    order = [(t, s) for t in range(2) for s in range(1, 4)]
    order[4] = (0, 2)  # (slot 1, slice 2) twice; (slot 2, slice 2) missing
    with pytest.raises(InvalidInputError, match=r"share \(0054,0080\) Slice Vector 2 and \(0054,0070\) Time Slot"):
        hio.load(write_nm(tmp_path / "d.dcm", n_slices=3, n_slots=2, order=order, image_type="RECON GATED TOMO"))


def test_nm_missing_detector_geometry(tmp_path):
    with pytest.raises(GeometryError, match=r"\(0054,0022\) Detector Information Sequence item 1 > \(0020,0032\)"):
        hio.load(write_nm(tmp_path / "g1.dcm", edit=lambda ds: delattr(ds, "DetectorInformationSequence")))
    with pytest.raises(GeometryError, match=r"\(0020,0037\) Image Orientation"):
        hio.load(write_nm(tmp_path / "g2.dcm",
                          edit=lambda ds: delattr(ds.DetectorInformationSequence[0], "ImageOrientationPatient")))


@pytest.mark.parametrize("image_type", ["STATIC", "TOMO", "GATED TOMO", "WHOLE BODY", "DYNAMIC"])
def test_nm_projections_are_unsupported(tmp_path, image_type):
    pattern = rf"\(0008,0008\) Image Type value 3 is '{image_type}'.*RECON TOMO"
    with pytest.raises(UnsupportedSeriesError, match=pattern):
        hio.load(write_nm(tmp_path / "p.dcm", image_type=image_type))


def test_nm_extra_energy_window_unsupported(tmp_path):
    def edit(ds):
        ds.EnergyWindowVector = [1, 2] * 3
        ds.NumberOfEnergyWindows = 2
    with pytest.raises(UnsupportedSeriesError, match=r"\(0054,0010\) Energy Window Vector holds 2"):
        hio.load(write_nm(tmp_path / "w.dcm", edit=edit))


# -- PET -----------------------------------------------------------------------------------------

PET_SLOPES = [0.5, 0.25, 2.0, 0.5]  # per slice: the stored value × slope gives Bq/mL


def _pet_true(t, z, r, c):
    return 2.0 * (t * 1000 + z * 100 + r * 10 + c)


def write_pet(folder: Path, *, series_type="DYNAMIC", n_t=3, durations=(10000, 20000, 30000),
              starts=(0, 10, 30), decay="START", image_index=True, edit=None) -> Path:
    """One PET Image Storage file per slice per frame (axial, z up; files written in a scrambled order)."""
    folder.mkdir(parents=True, exist_ok=True)
    study, series = generate_uid(), generate_uid()
    n_z = len(PET_SLOPES)
    jobs = [(t, z) for t in range(n_t) for z in range(n_z)]
    rng = np.random.default_rng(1)
    for k, j in enumerate(rng.permutation(len(jobs))):
        t, z = jobs[j]
        ds = Dataset()
        _base(ds, PET_SOP, "PT")
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.SeriesDescription = "Rb82 REST"
        ds.SeriesType = [series_type, "IMAGE"]
        ds.Units, ds.DecayCorrection = "BQML", decay
        ds.CorrectedImage = ["ATTN", "DECY"]
        ds.NumberOfSlices = n_z
        if series_type == "DYNAMIC":
            ds.NumberOfTimeSlices = n_t
            ds.ActualFrameDuration = durations[t]
            lam = math.log(2.0) / 76000.0  # 1/ms, the Rb-82 half-life written below
            # PS3.3 C.8.9.4.1.5: the decay-weighted mean time of the frame, (1/λ)·ln(λT/(1 − e^(−λT))) after its start
            ds.FrameReferenceTime = starts[t] * 1000.0 + math.log(lam * durations[t] / -math.expm1(-lam * durations[t])) / lam
            ds.SeriesDate, ds.SeriesTime = "20260101", "100000"
            ds.AcquisitionDate, ds.AcquisitionTime = "20260101", f"1000{starts[t]:02d}"
        else:
            ds.NumberOfTimeSlots = n_t
            ds.TriggerTime = 125.0 * t
        if image_index:
            ds.ImageIndex = t * n_z + z + 1
        rp = Dataset()
        rp.Radiopharmaceutical, rp.RadionuclideHalfLife = "Rubidium-82", 76.0
        ds.RadiopharmaceuticalInformationSequence = Sequence([rp])
        ds.ImagePositionPatient = [-10.0, -20.0, 50.0 + 4.0 * z]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing, ds.SliceThickness = [3.0, 2.5], 4.0
        ds.InstanceNumber = k + 1
        ds.RescaleSlope, ds.RescaleIntercept = PET_SLOPES[z], 0
        r, c = np.meshgrid(np.arange(ROWS), np.arange(COLS), indexing="ij")
        ds.PixelData = np.round(_pet_true(t, z, r, c) / PET_SLOPES[z]).astype(np.uint16).tobytes()
        if edit is not None:
            edit(ds)
        ds.save_as(folder / f"f{k:03d}.dcm", enforce_file_format=True)
    return folder


def _check_pet_values(img, n_t):
    t, z, r, c = np.meshgrid(np.arange(n_t), np.arange(4), np.arange(ROWS), np.arange(COLS), indexing="ij")
    np.testing.assert_allclose(img.array, _pet_true(t, z, r, c))


def test_pet_dynamic_frames_durations_and_rescale(tmp_path):
    img = hio.load(write_pet(tmp_path / "pet"))
    assert img.modality == "PT" and img.array.shape == (3, 4, ROWS, COLS)
    _check_pet_values(img, 3)  # per-slice (0028,1053) applied file by file
    assert img.meta["frame_start_ms"] == [0.0, 10000.0, 30000.0]
    assert img.meta["frame_duration_ms"] == [10000.0, 20000.0, 30000.0]
    np.testing.assert_allclose(img.frame_times_ms, [0.0, 10000.0, 30000.0])
    np.testing.assert_allclose(img.index_to_lps(np.array([[3, 1, 2]]))[0], [-10.0 + 2 * 2.5, -20.0 + 3.0, 62.0])
    assert img.meta["units"] == "BQML" and "units_note" not in img.meta
    assert img.meta["decay_correction"] == "START" and "decay_correction_note" not in img.meta
    assert img.meta["radionuclide_half_life_s"] == 76.0 and img.meta["tracer"] == "Rubidium-82"
    assert img.meta["nm_state"] == "rest"


def test_pet_dynamic_by_frame_reference_time(tmp_path):
    def edit(ds):
        del ds.AcquisitionTime
    img = hio.load(write_pet(tmp_path / "pet", image_index=False, edit=edit))
    _check_pet_values(img, 3)
    # (0054,1300) Frame Reference Time = start + decay-weighted mean time in these files: the starts come back
    assert img.meta["frame_start_ms"] == pytest.approx([0.0, 10000.0, 30000.0], abs=1e-6)
    assert "(0054,1300)" in img.meta["frame_times_source"]


def test_pet_decay_none_and_units_recorded(tmp_path):
    img = hio.load(write_pet(tmp_path / "pet", decay="NONE", edit=lambda ds: setattr(ds, "Units", "CNTS")))
    assert img.meta["decay_correction"] == "NONE" and "not decay-corrected" in img.meta["decay_correction_note"]
    assert img.meta["units"] == "CNTS" and "BQML" in img.meta["units_note"]


def test_pet_gated(tmp_path):
    img = hio.load(write_pet(tmp_path / "pet", series_type="GATED", n_t=4))
    assert img.array.shape == (4, 4, ROWS, COLS)
    _check_pet_values(img, 4)
    np.testing.assert_allclose(img.frame_times_ms, [0.0, 125.0, 250.0, 375.0])


def test_pet_static_generic_layout_with_pet_meta(tmp_path):
    img = hio.load(write_pet(tmp_path / "pet", series_type="STATIC", n_t=1, durations=(60000,), starts=(0,),
                             edit=lambda ds: setattr(ds, "SeriesType", ["STATIC", "IMAGE"])))
    assert img.array.shape == (4, ROWS, COLS)
    np.testing.assert_allclose(img.array, _pet_true(0, *np.meshgrid(np.arange(4), np.arange(ROWS), np.arange(COLS),
                                                                   indexing="ij")))
    assert img.meta["decay_correction"] == "START"


def test_pet_time_count_mismatch_names_tag(tmp_path):
    with pytest.raises(InvalidInputError, match=r"expected 5 = \(0054,0101\) Number of Time Slices"):
        hio.load(write_pet(tmp_path / "pet", edit=lambda ds: setattr(ds, "NumberOfTimeSlices", 5)))


def test_pet_frame_starts_must_follow_image_index(tmp_path):
    with pytest.raises(InvalidInputError, match=r"frame start times \[0\.0, 30000\.0, 10000\.0\] ms"):
        hio.load(write_pet(tmp_path / "pet", starts=(0, 30, 10)))


def test_nm_several_files_in_one_series_unsupported(tmp_path):
    a = write_nm(tmp_path / "two" / "a.dcm")
    study, series = _uids_of(a)

    def same_series(ds):
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
    write_nm(tmp_path / "two" / "b.dcm", edit=same_series)
    with pytest.raises(UnsupportedSeriesError, match="2 NM Image Storage files"):
        hio.load(tmp_path / "two")


def _uids_of(path):
    import pydicom

    ds = pydicom.dcmread(path, stop_before_pixels=True)
    return ds.StudyInstanceUID, ds.SeriesInstanceUID


def test_nm_rescale_slope_applied(tmp_path):
    def edit(ds):
        ds.RescaleSlope, ds.RescaleIntercept = 0.5, 0
    img = hio.load(write_nm(tmp_path / "s.dcm", edit=edit))
    assert float(img.array[2, 1, 3]) == pytest.approx(0.5 * _value(0, 3, 1, 3))

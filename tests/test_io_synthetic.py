"""Synthetic DICOM series with exact known geometry: sorting, cine, affine, bad input.

The helpers ``write_series`` and ``rotation`` are also used by test_cli_info.py.
"""

from __future__ import annotations

import random
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

from heartprint import io as hio
from heartprint.errors import (
    GeometryError,
    InvalidInputError,
    SkippedFileWarning,
    UnsupportedSeriesError,
)

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
ENHANCED_MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4.1"


def rotation(ax: float, ay: float, az: float) -> np.ndarray:
    """Rotation matrix from angles (degrees) about x, y, z."""
    a, b, c = np.radians([ax, ay, az])
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return rz @ ry @ rx


def base_dataset(
    *,
    modality: str = "MR",
    sop_class: str = MRImageStorage,
    study_uid: str,
    series_uid: str,
    description: str = "",
    rows: int = 8,
    cols: int = 8,
) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.Modality = modality
    ds.PatientID = "HP-TEST-1"
    ds.StudyDate = "20240101"
    ds.Manufacturer = "heartprint-tests"
    ds.SeriesDescription = description
    ds.SeriesNumber = 1
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    return ds


def write_series(
    folder: Path,
    *,
    n_slices: int = 5,
    n_phases: int = 1,
    rows: int = 8,
    cols: int = 8,
    pixel_spacing: tuple[float, float] = (1.25, 1.5),
    slice_step: float = 8.0,
    origin=(10.0, -20.0, 30.0),
    rot: np.ndarray | None = None,
    modality: str = "MR",
    sop_class: str = MRImageStorage,
    description: str = "SA cine",
    study_uid: str | None = None,
    series_uid: str | None = None,
    timing: str = "trigger",  # trigger | temporal | instance | none
    rr_ms: float = 1000.0,
    shuffle: bool = True,
    pixels=None,  # callable (t, z) -> (rows, cols) uint16 array
    extra=None,  # callable (ds, t, z) -> None, to edit tags per file
    prefix: str = "im",
) -> dict:
    """Write a series of single-frame files; return its expected geometry.

    Pixel values are ``100 * z + t`` (unless ``pixels`` is given) so sorting can be checked.
    Slices are written in a shuffled order under shuffled file names.
    """
    folder.mkdir(parents=True, exist_ok=True)
    rot = np.eye(3) if rot is None else rot
    row_dir, col_dir, normal = rot[:, 0], rot[:, 1], rot[:, 2]
    study_uid = study_uid or generate_uid()
    series_uid = series_uid or generate_uid()
    origin = np.asarray(origin, dtype=float)
    jobs = [(t, z) for z in range(n_slices) for t in range(n_phases)]
    order = list(range(len(jobs)))
    if shuffle:
        random.Random(1234).shuffle(order)
    paths = []
    for k, j in enumerate(order):
        t, z = jobs[j]
        ds = base_dataset(modality=modality, sop_class=sop_class, study_uid=study_uid, series_uid=series_uid,
                          description=description, rows=rows, cols=cols)
        ds.ImageOrientationPatient = [f"{v:.10f}" for v in np.concatenate([row_dir, col_dir])]
        ds.ImagePositionPatient = [f"{v:.10f}" for v in origin + z * slice_step * normal]
        ds.PixelSpacing = [pixel_spacing[0], pixel_spacing[1]]
        ds.SliceThickness = slice_step
        ds.InstanceNumber = 1 + t + n_phases * z
        if n_phases > 1:
            if timing == "trigger":
                ds.TriggerTime = f"{t * rr_ms / n_phases:.3f}"
            elif timing == "temporal":
                ds.TemporalPositionIdentifier = t + 1
                ds.NumberOfTemporalPositions = n_phases
            elif timing == "instance":
                ds.CardiacNumberOfImages = n_phases
            ds.NominalInterval = rr_ms
        arr = (np.full((rows, cols), 100 * z + t, dtype=np.uint16) if pixels is None
               else np.asarray(pixels(t, z), dtype=np.uint16))
        ds.PixelData = arr.tobytes()
        if extra is not None:
            extra(ds, t, z)
        path = folder / f"{prefix}_{k:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    affine = np.eye(4)
    affine[:3, 0] = normal * slice_step
    affine[:3, 1] = col_dir * pixel_spacing[0]
    affine[:3, 2] = row_dir * pixel_spacing[1]
    affine[:3, 3] = origin
    return {"paths": paths, "affine": affine, "study_uid": study_uid, "series_uid": series_uid,
            "times": np.arange(n_phases) * rr_ms / n_phases}


# -- sorting and geometry ------------------------------------------------------------------


def test_shuffled_slices_are_sorted_along_the_normal(tmp_path):
    exp = write_series(tmp_path, n_slices=7, n_phases=1, description="T1 axial stack")
    img = hio.load(tmp_path)
    assert img.array.shape == (7, 8, 8)
    assert img.array.dtype == np.int16
    assert [int(img.array[z, 0, 0]) for z in range(7)] == [100 * z for z in range(7)]
    np.testing.assert_allclose(img.affine, exp["affine"], atol=1e-9)
    assert img.spacing == pytest.approx((8.0, 1.25, 1.5))
    assert img.frame_times_ms is None
    assert img.series_uid == exp["series_uid"] and img.study_uid == exp["study_uid"]
    assert img.meta["n_files"] == 7 and img.meta["patient_id"] == "HP-TEST-1"


@pytest.mark.parametrize("angles", [(0, 0, 0), (30, -20, 45), (-65, 40, 110), (90, 0, 0)])
def test_oblique_affine_matches_ipp_and_iop_exactly(tmp_path, angles):
    rot = rotation(*angles)
    exp = write_series(tmp_path, n_slices=4, rot=rot, slice_step=6.5, pixel_spacing=(0.9, 1.1),
                       origin=(-12.5, 40.25, 101.0))
    img = hio.load(tmp_path)
    np.testing.assert_allclose(img.affine, exp["affine"], atol=1e-8)
    # Every file's (0020,0032) is the LPS position of its first voxel, pixel (0, 0).
    for path in exp["paths"]:
        ds = pydicom.dcmread(path)
        z = int(ds.InstanceNumber) - 1
        np.testing.assert_allclose(img.index_to_lps(np.array([z, 0, 0])), [float(v) for v in ds.ImagePositionPatient],
                                   atol=1e-8)
        # pixel (row r, column c) → IPP + r*Δr*col_dir + c*Δc*row_dir (PS3.3 C.7.6.2.1.1)
        iop = np.array([float(v) for v in ds.ImageOrientationPatient])
        r, c = 3, 5
        expected = (np.array([float(v) for v in ds.ImagePositionPatient])
                    + r * 0.9 * iop[3:] + c * 1.1 * iop[:3])
        np.testing.assert_allclose(img.index_to_lps(np.array([z, r, c])), expected, atol=1e-8)


def test_slice_spacing_comes_from_positions_not_slice_thickness(tmp_path):
    # (0018,0050) Slice Thickness 8 mm but slices 10 mm apart (2 mm gap).
    write_series(tmp_path, n_slices=4, slice_step=10.0, extra=lambda ds, t, z: setattr(ds, "SliceThickness", 8.0))
    img = hio.load(tmp_path)
    assert img.spacing[0] == pytest.approx(10.0)
    assert img.meta["slice_thickness_mm"] == 8.0


def test_reversed_acquisition_order_still_sorted_ascending_along_normal(tmp_path):
    exp = write_series(tmp_path, n_slices=5, slice_step=-7.0)
    img = hio.load(tmp_path)
    # slices at origin + z*(-7)*normal: sorted ascending along +normal, so index 0 is z=4
    assert [int(img.array[k, 0, 0]) for k in range(5)] == [400, 300, 200, 100, 0]
    normal = exp["affine"][:3, 0] / -7.0
    np.testing.assert_allclose(img.affine[:3, 0], normal * 7.0, atol=1e-9)
    np.testing.assert_allclose(img.affine[:3, 3], exp["affine"][:3, 3] + 4 * exp["affine"][:3, 0], atol=1e-9)


# -- cine ----------------------------------------------------------------------------------


@pytest.mark.parametrize("timing", ["trigger", "temporal", "instance"])
def test_cine_phase_split(tmp_path, timing):
    exp = write_series(tmp_path, n_slices=4, n_phases=6, timing=timing, rr_ms=900.0, rot=rotation(20, -35, 10))
    img = hio.load(tmp_path)
    assert img.array.shape == (6, 4, 8, 8)
    for t in range(6):
        for z in range(4):
            assert int(img.array[t, z, 4, 4]) == 100 * z + t
    np.testing.assert_allclose(img.frame_times_ms, exp["times"], atol=1e-3)
    np.testing.assert_allclose(img.affine, exp["affine"], atol=1e-8)
    assert img.meta["heart_rate_bpm"] == pytest.approx(60000 / 900)
    assert img.kind == "cine_sax"


def test_cine_heart_rate_tag_preferred(tmp_path):
    write_series(tmp_path, n_slices=3, n_phases=4, extra=lambda ds, t, z: setattr(ds, "HeartRate", 72))
    img = hio.load(tmp_path)
    assert img.meta["heart_rate_bpm"] == 72.0
    assert img.meta["heart_rate_source"].startswith("(0018,1088)")


def _enhanced_cine(path: Path, n_slices=3, n_phases=4, rot=None, ps=(1.4, 1.2), step=7.5, origin=(5.0, -3.0, 12.0)):
    rot = np.eye(3) if rot is None else rot
    ds = base_dataset(modality="MR", sop_class=ENHANCED_MR_STORAGE, study_uid=generate_uid(),
                      series_uid=generate_uid(), description="cine_retro_SAX", rows=6, cols=5)
    ds.NumberOfFrames = n_slices * n_phases
    shared = Dataset()
    po = Dataset()
    po.ImageOrientationPatient = [f"{v:.10f}" for v in np.concatenate([rot[:, 0], rot[:, 1]])]
    pm = Dataset()
    pm.PixelSpacing = list(ps)
    pm.SliceThickness = 6.0
    pvt = Dataset()
    pvt.RescaleSlope, pvt.RescaleIntercept, pvt.RescaleType = 2, -10, "US"
    shared.PlaneOrientationSequence = [po]
    shared.PixelMeasuresSequence = [pm]
    shared.PixelValueTransformationSequence = [pvt]
    ds.SharedFunctionalGroupsSequence = [shared]
    per = []
    frames = []
    order = [(t, z) for t in range(n_phases) for z in range(n_slices)]
    random.Random(7).shuffle(order)
    for t, z in order:
        item = Dataset()
        pp = Dataset()
        pp.ImagePositionPatient = [f"{v:.10f}" for v in np.asarray(origin) + z * step * rot[:, 2]]
        cs = Dataset()
        cs.NominalCardiacTriggerDelayTime = 50.0 * t
        fc = Dataset()
        fc.TemporalPositionIndex = t + 1
        item.PlanePositionSequence = [pp]
        item.CardiacSynchronizationSequence = [cs]
        item.FrameContentSequence = [fc]
        per.append(item)
        frames.append(np.full((6, 5), 100 * z + t, dtype=np.uint16))
    ds.PerFrameFunctionalGroupsSequence = per
    ds.PixelData = np.stack(frames).tobytes()
    ds.save_as(path, enforce_file_format=True)
    affine = np.eye(4)
    affine[:3, 0], affine[:3, 1], affine[:3, 2] = rot[:, 2] * step, rot[:, 1] * ps[0], rot[:, 0] * ps[1]
    affine[:3, 3] = origin
    return affine


def test_enhanced_multiframe_cine(tmp_path):
    rot = rotation(15, 25, -40)
    affine = _enhanced_cine(tmp_path / "enh.dcm", rot=rot)
    img = hio.load(tmp_path / "enh.dcm")
    assert img.array.shape == (4, 3, 6, 5)
    np.testing.assert_allclose(img.affine, affine, atol=1e-8)
    np.testing.assert_allclose(img.frame_times_ms, [0, 50, 100, 150])
    for t in range(4):
        for z in range(3):
            assert int(img.array[t, z, 0, 0]) == 2 * (100 * z + t) - 10  # per-frame rescale applied
    assert img.kind == "cine_sax"


# -- zip, overrides ------------------------------------------------------------------------


def test_zip_archive_loads_like_a_folder(tmp_path):
    exp = write_series(tmp_path / "dcm", n_slices=3, n_phases=2)
    archive = tmp_path / "study.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in exp["paths"]:
            zf.write(p, f"nested/dir/{p.name}")
        zf.writestr("nested/README.txt", "not dicom")
    with pytest.warns(SkippedFileWarning, match="README.txt"):
        result = hio.scan(archive)
    assert len(result) == 1 and len(result.skipped) == 1
    img = hio.load_series(result[0])
    ref = hio.load(tmp_path / "dcm")
    np.testing.assert_array_equal(img.array, ref.array)
    np.testing.assert_allclose(img.affine, ref.affine)


def test_kind_overrides_and_load_kind(tmp_path):
    exp = write_series(tmp_path, n_slices=3, n_phases=1, description="something")
    result = hio.scan(tmp_path, kind_overrides={exp["series_uid"]: "lge"})
    assert result[0].kind == "lge" and result[0].classification.confidence == 1.0
    assert hio.load_series(result[0]).kind == "lge"
    assert hio.load_series(result[0], kind="t1_map").kind == "t1_map"
    with pytest.raises(InvalidInputError, match="kind='bogus'"):
        hio.load_series(result[0], kind="bogus")
    with pytest.raises(InvalidInputError, match="kind_overrides"):
        hio.scan(tmp_path, kind_overrides={"1.2.3": "lge"})


def test_two_series_need_a_uid(tmp_path):
    a = write_series(tmp_path / "a", n_slices=2)
    write_series(tmp_path / "b", n_slices=3, study_uid=a["study_uid"])
    result = hio.scan(tmp_path)
    assert len(result) == 2 and list(result.studies()) == [a["study_uid"]]
    with pytest.raises(InvalidInputError, match="holds 2 series"):
        hio.load(tmp_path)
    assert hio.load(tmp_path, a["series_uid"]).array.shape == (2, 8, 8)


# -- resampling keeps physical volume ------------------------------------------------------


def test_resample_preserves_sphere_volume(tmp_path):
    radius, centre = 11.0, np.array([0.0, 0.0, 0.0])
    ps, step, n = (1.3, 0.9), 2.5, 32
    rot = rotation(25, -30, 15)
    origin = centre - rot @ np.array([(n - 1) / 2 * ps[1], (n - 1) / 2 * ps[0], (12 - 1) / 2 * step])
    sub = 4  # sub-voxel samples per axis for partial-volume fractions

    def fraction(t, z):
        off = (np.arange(sub) + 0.5) / sub - 0.5
        r = (np.arange(n * sub) + 0.5) / sub - 0.5
        R, C, Z = np.meshgrid(r, r, z + off, indexing="ij")
        pts = origin + R[..., None] * ps[0] * rot[:, 1] + C[..., None] * ps[1] * rot[:, 0] + Z[..., None] * step * rot[:, 2]
        inside = (np.linalg.norm(pts - centre, axis=-1) <= radius).astype(float)
        frac = inside.reshape(n, sub, n, sub, sub).mean(axis=(1, 3, 4))
        return np.round(frac * 1000)

    write_series(tmp_path, n_slices=12, n_phases=1, rows=n, cols=n, pixel_spacing=ps, slice_step=step,
                 origin=origin, rot=rot, pixels=fraction, shuffle=False,
                 extra=lambda ds, t, z: (setattr(ds, "RescaleSlope", 0.001), setattr(ds, "RescaleIntercept", 0)))
    img = hio.load(tmp_path)
    assert img.array.dtype == np.float32 and img.array.max() == pytest.approx(1.0)
    analytic = 4 / 3 * np.pi * radius**3
    vol = float(img.array.sum()) * img.voxel_volume_mm3
    assert vol == pytest.approx(analytic, rel=0.01)
    iso = img.resample((0.8, 0.8, 0.8))
    vol_iso = float(iso.array.sum()) * iso.voxel_volume_mm3
    assert vol_iso == pytest.approx(analytic, rel=0.01)


# -- bad input -----------------------------------------------------------------------------


def test_missing_image_position_names_file_and_tag(tmp_path):
    exp = write_series(tmp_path, n_slices=3,
                       extra=lambda ds, t, z: delattr(ds, "ImagePositionPatient") if z == 1 else None)
    bad = next(p for p in exp["paths"] if "ImagePositionPatient" not in pydicom.dcmread(p, stop_before_pixels=True))
    with pytest.raises(GeometryError) as err:
        hio.load(tmp_path)
    assert bad.name in str(err.value) and "(0020,0032) Image Position (Patient)" in str(err.value)


def test_missing_pixel_spacing_is_an_error_not_spacing_1(tmp_path):
    write_series(tmp_path, n_slices=2, extra=lambda ds, t, z: delattr(ds, "PixelSpacing"))
    with pytest.raises(GeometryError, match=r"\(0028,0030\) Pixel Spacing.*no default"):
        hio.load(tmp_path)
    # `info` still lists the series, with the error
    result = hio.scan(tmp_path)
    with pytest.raises(GeometryError):
        result[0].layout()


def test_inconsistent_slice_spacing(tmp_path):
    exp = write_series(tmp_path, n_slices=6, shuffle=False)
    exp["paths"][3].unlink()  # slice z=3 missing: one gap is 16 mm, the others 8 mm
    with pytest.raises(GeometryError) as err:
        hio.load(tmp_path)
    msg = str(err.value)
    assert "inconsistent slice spacing" in msg and "16.000 mm" in msg and "8.000 mm" in msg
    assert exp["paths"][2].name in msg and exp["paths"][4].name in msg and "(0020,0032)" in msg


def test_mixed_orientations(tmp_path):
    tilted = rotation(0, 0, 5)

    def tilt(ds, t, z):
        if z == 2:
            ds.ImageOrientationPatient = [f"{v:.10f}" for v in np.concatenate([tilted[:, 0], tilted[:, 1]])]

    exp = write_series(tmp_path, n_slices=4, extra=tilt, shuffle=False)
    with pytest.raises(GeometryError) as err:
        hio.load(tmp_path)
    assert "mixed orientations" in str(err.value) and "(0020,0037)" in str(err.value)
    assert exp["paths"][2].name in str(err.value)


def test_duplicate_positions_in_non_cine_series(tmp_path):
    write_series(tmp_path, n_slices=3, shuffle=False)
    write_series(tmp_path, n_slices=1, shuffle=False, prefix="dup",
                 series_uid=pydicom.dcmread(next(tmp_path.iterdir())).SeriesInstanceUID,
                 study_uid=pydicom.dcmread(next(tmp_path.iterdir())).StudyInstanceUID)
    with pytest.raises(GeometryError) as err:
        hio.load(tmp_path)
    assert "duplicate slice position" in str(err.value) and "dup_0000.dcm" in str(err.value)
    assert "(0020,0032)" in str(err.value)


def test_same_position_and_time_in_cine(tmp_path):
    exp = write_series(tmp_path, n_slices=2, n_phases=3, shuffle=False)
    extra = pydicom.dcmread(exp["paths"][0])
    extra.SOPInstanceUID = generate_uid()
    extra.save_as(tmp_path / "copy.dcm", enforce_file_format=True)
    # one extra copy at each position keeps the phase counts equal (4 and 4)
    extra2 = pydicom.dcmread(exp["paths"][3])
    extra2.SOPInstanceUID = generate_uid()
    extra2.save_as(tmp_path / "copy2.dcm", enforce_file_format=True)
    with pytest.raises(GeometryError) as err:
        hio.load(tmp_path)
    assert "duplicate frames" in str(err.value) and "copy" in str(err.value)


def test_unequal_phases_per_position(tmp_path):
    exp = write_series(tmp_path, n_slices=3, n_phases=4, shuffle=False)
    exp["paths"][5].unlink()  # z=1, t=1
    with pytest.raises(GeometryError, match=r"unequal phases per slice position.*3 frame\(s\).*expected the same"):
        hio.load(tmp_path)


def test_non_dicom_single_file(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("hello")
    with pytest.raises(InvalidInputError, match=r"notes\.txt: not a DICOM file"):
        hio.load(p)


def test_truncated_file(tmp_path):
    exp = write_series(tmp_path / "s", n_slices=1)
    data = exp["paths"][0].read_bytes()
    bad = tmp_path / "cut.dcm"
    bad.write_bytes(data[:-40])
    with pytest.raises(InvalidInputError) as err:
        hio.load(bad)
    assert "cut.dcm" in str(err.value) and "truncated" in str(err.value) and "(7FE0,0010)" in str(err.value)


def test_unknown_transfer_syntax(tmp_path):
    exp = write_series(tmp_path / "s", n_slices=1)
    ds = pydicom.dcmread(exp["paths"][0])
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"  # MPEG2 Main Profile
    ds.PixelData = encapsulate([ds.PixelData])
    ds["PixelData"].VR = "OB"
    bad = tmp_path / "mpeg.dcm"
    ds.save_as(bad, enforce_file_format=True)
    with pytest.raises(UnsupportedSeriesError) as err:
        hio.load(bad)
    assert "mpeg.dcm" in str(err.value) and "(0002,0010) Transfer Syntax UID 1.2.840.10008.1.2.4.100" in str(err.value)


def test_500_files_with_one_corrupt_still_load(tmp_path):
    exp = write_series(tmp_path, n_slices=499, rows=8, cols=8, slice_step=1.0, shuffle=False, description="axial")
    data = exp["paths"][10].read_bytes()
    (tmp_path / "zz_corrupt.dcm").write_bytes(data[: len(data) - 60])  # a truncated copy
    assert sum(1 for _ in tmp_path.iterdir()) == 500
    with pytest.warns(SkippedFileWarning, match="zz_corrupt.dcm"):
        result = hio.scan(tmp_path)
    assert [s.source.name for s in result.skipped] == ["zz_corrupt.dcm"]
    assert "truncated" in result.skipped[0].reason
    img = hio.load_series(result[0])
    assert img.array.shape == (499, 8, 8)
    assert img.spacing[0] == pytest.approx(1.0)
    assert int(img.array[-1, 0, 0]) == 100 * 498


def test_folder_with_garbage_files_warns_and_continues(tmp_path):
    write_series(tmp_path / "a", n_slices=3)
    (tmp_path / "a" / "junk.bin").write_bytes(b"\x00" * 300)
    (tmp_path / "empty.dcm").write_bytes(b"")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = hio.scan(tmp_path)
    skipped = sorted(s.source.name for s in result.skipped)
    assert skipped == ["empty.dcm", "junk.bin"]
    assert sum(issubclass(w.category, SkippedFileWarning) for w in caught) == 2
    assert hio.load_series(result[0]).array.shape == (3, 8, 8)


def test_folder_with_nothing_readable(tmp_path):
    (tmp_path / "x.txt").write_text("no")
    with pytest.warns(SkippedFileWarning), pytest.raises(InvalidInputError, match="no readable DICOM series"):
        hio.scan(tmp_path)


def test_missing_path():
    with pytest.raises(InvalidInputError, match="no such file or folder"):
        hio.scan("/nonexistent/heartprint/path")

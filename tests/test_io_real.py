"""Real DICOM files (pydicom test data, pydicom-data) and the real CT NIfTI in ../shared/data."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_modality_lut

from heartprint import io as hio
from heartprint.errors import GeometryError, InvalidInputError, UnsupportedSeriesError


def _file(name: str) -> str:
    path = get_testdata_file(name)
    if path is None:
        pytest.skip(f"{name} not available (pydicom-data not installed?)")
    return path


def test_ct_small_in_hounsfield_units():
    path = _file("CT_small.dcm")
    img = hio.load(path)
    ds = pydicom.dcmread(path)
    assert img.modality == "CT" and img.array.shape == (1, 128, 128)
    assert img.array.dtype == np.int16
    np.testing.assert_array_equal(img.array[0], apply_modality_lut(ds.pixel_array, ds))
    assert float(ds.RescaleIntercept) == -1024.0
    assert img.array.min() == -896 and img.array.max() == 1167
    # affine from IPP / IOP / PixelSpacing; single slice: z from (0018,0050) Slice Thickness
    np.testing.assert_allclose(img.affine[:3, 3], [float(v) for v in ds.ImagePositionPatient])
    np.testing.assert_allclose(img.spacing, (5.0, 0.661468, 0.661468))
    np.testing.assert_allclose(img.direction[:, 2], [float(v) for v in ds.ImageOrientationPatient[:3]])
    assert img.meta["slice_spacing_source"].startswith("(0018,0050)")
    assert img.meta["manufacturer"] == "GE MEDICAL SYSTEMS"


@pytest.mark.parametrize("name", ["MR_small_RLE.dcm", "MR_small_jpeg_ls_lossless.dcm", "MR_small_jp2klossless.dcm",
                                  "MR_small_bigendian.dcm", "MR_small_implicit.dcm"])
def test_compressed_and_other_syntaxes_decode_identically(name):
    ref = hio.load(_file("MR_small.dcm"))
    img = hio.load(_file(name))
    assert img.array.shape == (1, 64, 64) and img.array.dtype == np.int16
    np.testing.assert_array_equal(img.array, ref.array)
    np.testing.assert_allclose(img.affine, ref.affine)
    assert img.spacing == pytest.approx((0.8, 0.3125, 0.3125))


def test_jpeg2000_nm_planar_uses_pixel_spacing():
    path = _file("JPEG2000.dcm")
    img = hio.load(path)
    ds = pydicom.dcmread(path)
    assert img.modality == "NM" and img.array.shape == (1, 1024, 256)
    np.testing.assert_array_equal(img.array[0], ds.pixel_array)
    assert img.spacing[1:] == pytest.approx((2.26, 2.26))
    assert img.meta["patient_geometry"] is False
    assert img.kind == "nm_perfusion"


def test_echo_cine_region_calibration_in_mm():
    path = _file("color3d_jpeg_baseline.dcm")
    result = hio.scan(path)
    assert result[0].kind == "echo_cine"
    img = hio.load_series(result[0])
    assert img.array.shape == (120, 1, 480, 640)
    # (0018,602C)/(0018,602E) Physical Delta X/Y = 0.05104970559477806 cm, units code 3 (cm)
    assert img.spacing[1] == pytest.approx(0.5104970559477806, rel=1e-12)
    assert img.spacing[2] == pytest.approx(0.5104970559477806, rel=1e-12)
    # (0018,1063) Frame Time 33.333 ms
    assert img.frame_times_ms[:3] == pytest.approx([0.0, 33.333, 66.666])
    assert img.frame_times_ms[-1] == pytest.approx(119 * 33.333)
    assert img.meta["us_region_xyxy"] == [84, 31, 595, 414]
    assert 0 <= img.array.min() and img.array.max() <= 255


def test_enhanced_ct_per_frame_rescale_and_positions():
    path = _file("eCT_Supplemental.dcm")
    img = hio.load(path)
    ds = pydicom.dcmread(path)
    assert img.array.shape == (2, 512, 512) and img.array.dtype == np.int16
    assert img.spacing == pytest.approx((10.0, 0.388672, 0.388672))
    ipps = sorted(
        (np.array([float(v) for v in f.PlanePositionSequence[0].ImagePositionPatient])
         for f in ds.PerFrameFunctionalGroupsSequence),
        key=lambda p: p[2],
    )
    # IOP row (-1,0,0), col (0,1,0) → normal (0,0,-1): sorted along the normal, highest z first
    np.testing.assert_allclose(img.affine[:3, 3], ipps[-1])
    raw = ds.pixel_array
    z_of_frame = [0 if float(f.PlanePositionSequence[0].ImagePositionPatient[2]) == ipps[-1][2] else 1
                  for f in ds.PerFrameFunctionalGroupsSequence]
    for k, z in enumerate(z_of_frame):
        np.testing.assert_array_equal(img.array[z], raw[k].astype(np.int32) - 1024)


def test_enhanced_mr_without_geometry_is_a_geometry_error():
    path = _file("emri_small.dcm")  # anonymised: functional groups removed
    with pytest.raises(GeometryError) as err:
        hio.load(path)
    assert "emri_small.dcm" in str(err.value) and "(0020,0032) Image Position (Patient)" in str(err.value)


def test_truncated_real_file():
    with pytest.raises(InvalidInputError, match=r"MR_truncated\.dcm: truncated: \(7FE0,0010\) Pixel Data declares 8192"):
        hio.load(_file("MR_truncated.dcm"))


def test_structured_report_is_classified_not_loaded():
    path = _file("test-SR.dcm")
    result = hio.scan(path)
    assert result[0].kind == "sr" and result[0].classification.confidence > 0.9
    with pytest.raises(UnsupportedSeriesError, match="test-SR.dcm"):
        hio.load_series(result[0])


def test_no_preamble_file_rejected_with_force_false():
    with pytest.raises(InvalidInputError, match=r"no_meta\.dcm: not a DICOM file"):
        hio.load(_file("no_meta.dcm"))


# -- real CT NIfTI ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def heart_ct(shared_data):
    path = shared_data / "ct" / "heart_ct_cropped.nii.gz"
    if not path.exists():
        pytest.skip(f"{path} missing")
    return path


def test_read_real_ct_nifti(heart_ct):
    img = hio.read_nifti(heart_ct)
    # NIfTI (i, j, k) = 122 x 102 x 112 → heartprint (z, y, x) = (112, 102, 122)
    assert img.array.shape == (112, 102, 122) and img.array.dtype == np.int16
    assert img.spacing == pytest.approx((1.5, 1.5, 1.5))
    expected = np.array([
        [0.0, 0.0, 1.5, -71.658203125],
        [0.0, 1.5, 0.0, -255.658203125],
        [1.5, 0.0, 0.0, 576.2000122070312],
        [0.0, 0.0, 0.0, 1.0],
    ])
    np.testing.assert_allclose(img.affine, expected, atol=1e-4)
    lo, hi = int(img.array.min()), int(img.array.max())
    assert -1100 <= lo <= -900 and 500 <= hi <= 3500  # air .. contrast / bone, in HU
    # myocardium/blood in the middle of the crop: soft-tissue HU
    assert -200 < float(np.median(img.array)) < 400


def test_real_ct_round_trip(heart_ct, tmp_path):
    img = hio.read_nifti(heart_ct)
    out = hio.write_nifti(img, tmp_path / "ct.nii.gz")
    back = hio.read_nifti(out)
    assert back.array.dtype == img.array.dtype
    np.testing.assert_array_equal(back.array, img.array)
    np.testing.assert_allclose(back.affine, img.affine, atol=1e-6)

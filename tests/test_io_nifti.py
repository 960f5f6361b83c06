"""NIfTI read/write: RAS ↔ LPS, index order, time axis, atomic writes."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from heartprint import Image
from heartprint import io as hio
from heartprint.errors import InvalidInputError
from test_io_synthetic import rotation


def _oblique_image(shape=(5, 6, 7), spacing=(3.0, 1.25, 0.8)):
    arr = np.arange(np.prod(shape), dtype=np.int16).reshape(shape)
    return Image.from_array(arr, spacing, origin=(12.0, -34.5, 56.25), direction=rotation(20, -40, 65))


def test_lps_ras_and_index_order():
    img = _oblique_image()
    nz, ny, nx = img.array.shape
    # nibabel sees (x, y, z) data and a RAS affine
    flip = np.diag([-1.0, -1.0, 1.0, 1.0])
    swap = np.array([[0, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]], dtype=float)
    ras = flip @ img.affine @ swap
    for z, y, x in [(0, 0, 0), (4, 1, 6), (2, 5, 3)]:
        lps = img.index_to_lps(np.array([z, y, x]))
        ras_pt = ras @ np.array([x, y, z, 1.0])
        np.testing.assert_allclose(ras_pt[:3], [-lps[0], -lps[1], lps[2]], atol=1e-9)


def test_write_is_readable_by_nibabel_in_ras(tmp_path):
    img = _oblique_image()
    path = hio.write_nifti(img, tmp_path / "a.nii.gz")
    nii = nib.load(path)
    data = np.asanyarray(nii.dataobj)
    assert data.shape == (7, 6, 5)  # (x, y, z)
    assert data[6, 1, 4] == img.array[4, 1, 6]
    lps = img.index_to_lps(np.array([4, 1, 6]))
    ras = nii.affine @ np.array([6, 1, 4, 1.0])
    np.testing.assert_allclose(ras[:3], [-lps[0], -lps[1], lps[2]], atol=1e-5)
    assert int(nii.header["sform_code"]) == 1 and int(nii.header["qform_code"]) == 1


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_round_trip_3d(tmp_path, suffix):
    img = _oblique_image()
    back = hio.read_nifti(hio.write_nifti(img, tmp_path / f"x{suffix}"))
    np.testing.assert_array_equal(back.array, img.array)
    assert back.array.dtype == np.int16
    np.testing.assert_allclose(back.affine, img.affine, atol=1e-5)
    assert back.frame_times_ms is None


@pytest.mark.parametrize("times", [[0.0, 40.0, 80.0, 120.0], [0.0, 35.5, 80.0, 131.25]])
def test_round_trip_cine_time_last(tmp_path, times):
    arr = np.random.default_rng(0).random((4, 3, 5, 6)).astype(np.float32)
    img = Image.from_array(arr, (8.0, 1.4, 1.4), origin=(1, 2, 3), direction=rotation(10, 20, 30),
                           frame_times_ms=np.array(times), kind="cine_sax")
    path = hio.write_nifti(img, tmp_path / "cine.nii.gz")
    nii = nib.load(path)
    assert nii.shape == (6, 5, 3, 4)  # (x, y, z, t)
    assert nii.header.get_xyzt_units() == ("mm", "msec")
    assert float(nii.header["pixdim"][4]) == pytest.approx(np.median(np.diff(times)))
    back = hio.read_nifti(path)
    np.testing.assert_array_equal(back.array, arr)
    np.testing.assert_allclose(back.frame_times_ms, times)
    np.testing.assert_allclose(back.affine, img.affine, atol=1e-5)


def test_time_from_pixdim_when_no_extension(tmp_path):
    data = np.zeros((4, 4, 2, 5), dtype=np.uint8)
    nii = nib.Nifti1Image(data, np.diag([-2.0, -2.0, 5.0, 1.0]))
    nii.header.set_xyzt_units("mm", "sec")
    nii.header["pixdim"][4] = 0.05
    nib.save(nii, tmp_path / "t.nii")
    img = hio.read_nifti(tmp_path / "t.nii")
    assert img.array.shape == (5, 2, 4, 4)
    np.testing.assert_allclose(img.frame_times_ms, [0, 50, 100, 150, 200])
    np.testing.assert_allclose(img.affine[:3, :3], [[0, 0, 2], [0, 2, 0], [5, 0, 0]])


def test_write_is_atomic(tmp_path, monkeypatch):
    img = _oblique_image()
    target = hio.write_nifti(img, tmp_path / "keep.nii.gz")
    before = target.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(nib, "save", boom)
    with pytest.raises(OSError, match="disk full"):
        hio.write_nifti(Image.from_array(np.ones((2, 2, 2)), (1, 1, 1)), target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.nii.gz"]


def test_bad_nifti_inputs(tmp_path):
    (tmp_path / "bad.nii.gz").write_bytes(b"not gzip at all")
    with pytest.raises(InvalidInputError, match=r"bad\.nii\.gz: not a readable NIfTI"):
        hio.read_nifti(tmp_path / "bad.nii.gz")
    with pytest.raises(InvalidInputError, match=r"\.nii or \.nii\.gz"):
        hio.write_nifti(_oblique_image(), tmp_path / "out.img")


def test_written_files_get_the_usual_permissions(tmp_path):
    """Atomic writes must not leave outputs readable by their owner only (mkstemp's 0600)."""
    import os
    import stat

    from heartprint import Image
    from heartprint.io import write_nifti

    out = write_nifti(Image.from_array(np.zeros((2, 3, 4), np.uint8), (2, 1, 1)), tmp_path / "x.nii.gz")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o666 & ~mask

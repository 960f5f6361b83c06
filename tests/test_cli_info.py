"""``heartprint info PATH [--json]``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from heartprint import Image
from heartprint.cli import main
from heartprint.io import write_nifti
from test_io_synthetic import rotation, write_series


@pytest.fixture
def study(tmp_path):
    folder = tmp_path / "study"
    cine = write_series(folder / "cine", n_slices=4, n_phases=5, description="SA cine", rr_ms=1000.0,
                        pixel_spacing=(1.25, 1.25), slice_step=8.0)
    ct = write_series(folder / "lge", n_slices=3, description="LGE PSIR", study_uid=cine["study_uid"],
                      timing="none", rot=rotation(0, 90, 0), extra=lambda ds, t, z: setattr(ds, "SeriesNumber", 7))
    (folder / "junk.txt").write_text("not dicom")
    return folder, cine, ct


def test_info_text(study, capsys):
    folder, cine, lge = study
    assert main(["info", str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"study {cine['study_uid']}" in out and "patient HP-TEST-1" in out
    assert "'SA cine'" in out and "kind cine_sax" in out
    assert "shape (t,z,y,x)=(5, 4, 8, 8)" in out and "spacing (z,y,x)=(8, 1.25, 1.25) mm" in out
    assert "orientation axial  phases 5" in out
    assert "'LGE PSIR'" in out and "kind lge" in out and "orientation sagittal" in out
    assert "skipped 1 file(s):" in out and "junk.txt" in out


def test_info_json(study, capsys):
    folder, cine, lge = study
    assert main(["info", str(folder), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["format"] == "dicom" and len(info["studies"]) == 1
    series = {s["series_uid"]: s for s in info["studies"][0]["series"]}
    c = series[cine["series_uid"]]
    assert c["kind"] == "cine_sax" and 0 < c["confidence"] < 1 and c["reasons"]
    assert c["shape"] == [5, 4, 8, 8] and c["axes"] == "tzyx"
    assert c["spacing_mm"] == [8.0, 1.25, 1.25] and c["n_phases"] == 5 and c["n_slices"] == 4
    assert c["frame_times_ms"] == [0.0, 200.0, 400.0, 600.0, 800.0]
    assert c["n_files"] == 20
    g = series[lge["series_uid"]]
    assert g["kind"] == "lge" and g["shape"] == [3, 8, 8] and g["orientation"] == "sagittal"
    assert g["series_number"] == 7
    assert [s["file"].rsplit("/", 1)[-1] for s in info["skipped"]] == ["junk.txt"]


def test_info_reports_geometry_errors_per_series(tmp_path, capsys):
    write_series(tmp_path, n_slices=2, timing="none", extra=lambda ds, t, z: delattr(ds, "PixelSpacing"))
    assert main(["info", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "geometry error:" in out and "(0028,0030) Pixel Spacing" in out


def test_info_nifti(tmp_path, capsys):
    img = Image.from_array(np.zeros((3, 4, 5), np.int16), (2.0, 1.0, 0.5))
    write_nifti(img, tmp_path / "x.nii.gz")
    assert main(["info", str(tmp_path / "x.nii.gz"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["shape"] == [3, 4, 5] and info["spacing_mm"] == [2.0, 1.0, 0.5] and info["orientation"] == "axial"


def test_info_bad_path_one_line_error(tmp_path, capsys):
    assert main(["info", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("heartprint: error: ") and "missing" in err and err.count("\n") == 1


def test_info_not_dicom_file(tmp_path, capsys):
    p = tmp_path / "a.dcm"
    p.write_bytes(b"garbage")
    assert main(["info", str(p)]) == 2
    err = capsys.readouterr().err
    assert "heartprint: error:" in err and "a.dcm: not a DICOM file" in err


def test_usage_errors_exit_2(capsys):
    assert main([]) == 2
    assert main(["nope"]) == 2
    assert main(["--version"]) == 0

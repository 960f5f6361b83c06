"""Plausibility before numbers (issue 17, item 2): a header value that would make a clinical
number wrong is an error for that series (or, for timing, the number is not reported), never a
number with a QC note.

Each case builds the bad input from the phantoms (the calcium CT and the cine SAX, written as
DICOM and edited with pydicom, or their images edited directly), asserts the error or the
missing number, and checks that the unedited input still gives its answer.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest

from heartprint import io as hio
from heartprint.cmr import analyze_cine_function
from heartprint.ct import CalciumSeriesRefused
from heartprint.errors import GeometryError, InvalidInputError
from heartprint.image import Image
from heartprint.io._geometry import (
    CT_RESCALE_INTERCEPT_RANGE,
    CT_RESCALE_SLOPE_RANGE,
    ORTHONORMAL_TOLERANCE,
    check_rescale,
)
from heartprint.phantoms import make_calcium_phantom, make_cine_sax, write_calcium_dicom
from heartprint.phantoms._calcium import PHANTOM_CALIBRATION_MG_PER_ML_PER_HU as C_HA
from heartprint.pipeline import AnalysisOptions, analyze_image, analyze_study

pytestmark = pytest.mark.filterwarnings("ignore:Invalid value for VR")


def _mutate(paths: list[Path], dst: Path, edit) -> Path:
    """Copy a written series to ``dst`` with ``edit(ds, k)`` applied to file ``k``; return ``dst``."""
    dst.mkdir(parents=True)
    for k, p in enumerate(paths):
        ds = pydicom.dcmread(p)
        edit(ds, k)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds.save_as(dst / p.name, enforce_file_format=True)
    return dst


# -- calcium CT ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ct(tmp_path_factory):
    p = make_calcium_phantom(noise_hu=12.0, seed=3, n_slices=6, matrix=256)
    root = tmp_path_factory.mktemp("plaus_ct")
    return p, write_calcium_dicom(p, root / "ok"), root


_NO_INTERPRET = AnalysisOptions(interpret=False)


def _calcium_series(folder: Path):
    res = analyze_study(folder, _NO_INTERPRET)
    (s,) = res.series
    assert s.kind == "ct_calcium"
    return s


def test_good_calcium_ct_is_scored(ct):
    p, paths, _ = ct
    s = _calcium_series(paths[0].parent)
    assert s.status == "analysed", s.message
    agatston = next(m.value for m in s.measurements if m.code == "cac_agatston" and m.vessel is None)
    assert agatston == pytest.approx(p.truth["total"]["agatston"], rel=0.01)
    assert agatston > 100


@pytest.mark.parametrize("slope", ["NaN", "0", "-1", "inf", "1e-6", "100"])
def test_bad_rescale_slope_is_an_error_for_the_series(ct, slope):
    """Today a NaN/0 slope gave Agatston 0 ("very low risk"); now the series fails, naming tag and value."""
    _, paths, root = ct
    folder = _mutate(paths, root / f"slope_{slope}", lambda ds, k: setattr(ds, "RescaleSlope", slope))
    with pytest.raises(InvalidInputError, match=r"\(0028,1053\) Rescale Slope") as err:
        hio.load(folder)
    assert f"Rescale Slope is {slope!r}" in str(err.value) and "[0.01, 10]" in str(err.value)
    s = _calcium_series(folder)
    assert s.status == "failed" and "(0028,1053) Rescale Slope" in s.message and not s.measurements


@pytest.mark.parametrize("intercept", ["NaN", "-1e6", "50000"])
def test_absurd_rescale_intercept_is_an_error(ct, intercept):
    _, paths, root = ct
    folder = _mutate(paths, root / f"icpt_{intercept}", lambda ds, k: setattr(ds, "RescaleIntercept", intercept))
    with pytest.raises(InvalidInputError, match=r"\(0028,1052\) Rescale Intercept"):
        hio.load(folder)


def test_rescale_in_one_file_only_is_caught(ct):
    _, paths, root = ct
    folder = _mutate(paths, root / "slope_one_file", lambda ds, k: setattr(ds, "RescaleSlope", "0") if k == 3 else None)
    with pytest.raises(InvalidInputError, match=r"CT_z003\.dcm: \(0028,1053\) Rescale Slope is '0'"):
        hio.load(folder)


def test_rescale_ranges_stated():
    assert CT_RESCALE_SLOPE_RANGE == (0.01, 10.0) and CT_RESCALE_INTERCEPT_RANGE == (-10000.0, 10000.0)
    check_rescale("1", "-1024", "f", ct=True)
    check_rescale(0.001, 0, "f", ct=False)  # MR may scale by any positive factor
    for slope in ("0", "-2", "nan", float("nan"), "inf", ["1", "2"]):
        with pytest.raises(InvalidInputError, match="Rescale Slope"):
            check_rescale(slope, "0", "f", ct=False)


def test_ct_values_outside_hu_range_are_an_error(ct):
    """A plausible-looking intercept that puts most voxels outside -1100..4000 HU."""
    _, paths, root = ct
    folder = _mutate(paths, root / "hu_shift", lambda ds, k: setattr(ds, "RescaleIntercept", "8000"))
    with pytest.raises(InvalidInputError, match=r"outside -1100\.\.4000 HU"):
        hio.load(folder)


@pytest.mark.parametrize("kvp, code", [(None, "kvp_missing"), ("", "kvp_missing"), ("100", "kvp_not_standard"),
                                       ("140", "kvp_not_standard")])
def test_kvp_missing_or_not_120_is_refused(ct, kvp, code):
    _, paths, root = ct

    def edit(ds, k):
        if kvp is None:
            del ds.KVP
        else:
            ds.KVP = kvp

    folder = _mutate(paths, root / f"kvp_{kvp}", edit)
    img = hio.load(folder)
    with pytest.raises(CalciumSeriesRefused, match=r"\(0018,0060\) KVP") as err:
        from heartprint.ct import analyse_calcium_series

        analyse_calcium_series(img)
    assert err.value.code == code
    s = analyze_image(img, "ct_calcium", _NO_INTERPRET)
    assert s.status == "failed" and "(0018,0060) KVP" in s.message and "120 kVp" in s.message


def _enhanced(p) -> Image:
    """The phantom with an iodinated blood pool: a 40 mm radius disc of 320 HU round the inserts."""
    arr = np.asarray(p.image.array).astype(np.int16).copy()
    _, ny, nx = arr.shape
    dy, dx = p.image.spacing[1:]
    yy, xx = np.meshgrid((np.arange(ny) - ny / 2) * dy, (np.arange(nx) - nx / 2) * dx, indexing="ij")
    disc = (yy**2 + xx**2) <= 40.0**2
    pool = disc[None] & (arr < 130)
    arr[pool] = 320
    return p.image.with_array(arr)


def test_contrast_enhanced_ct_is_refused_unless_overridden(ct):
    """Today 1,367,171 with a warning; now the series fails, naming the blood-pool HU."""
    p, _, _ = ct
    img = _enhanced(p)
    s = analyze_image(img, "ct_calcium", _NO_INTERPRET)
    assert s.status == "failed" and "contrast-enhanced" in s.message and "320 HU" in s.message
    assert not s.measurements
    # the explicit analyser option scores it, with a warning saying so
    from heartprint.pipeline import AnalysisOptions

    s2 = analyze_image(img, "ct_calcium", AnalysisOptions(calcium_allow_contrast=True, interpret=False))
    assert s2.status == "analysed"
    assert "contrast_enhanced_override" in {f.code for f in s2.qc}
    # the unenhanced phantom is scored without that warning
    s3 = analyze_image(p.image, "ct_calcium", _NO_INTERPRET)
    assert s3.status == "analysed" and "contrast_enhanced_override" not in {f.code for f in s3.qc}
    agatston = next(m.value for m in s3.measurements if m.code == "cac_agatston")
    assert agatston == pytest.approx(p.truth["total"]["agatston"], rel=0.01)


def test_contrast_criterion_uses_the_region_mask_when_given(ct):
    from heartprint.ct import analyse_calcium_series

    p, _, _ = ct
    img = _enhanced(p)
    outside = np.zeros(img.array.shape, bool)
    outside[:, :20, :20] = True  # a corner with air only: no blood-pool voxel there
    out = analyse_calcium_series(img, region_mask=outside, calibration_mg_per_ml_per_hu=C_HA)
    assert out["agatston"] == 0.0  # every lesion outside that mask; the blood pool is not looked at there
    heart = np.asarray(_enhanced(p).array) == 320  # the blood pool itself as the heart region
    with pytest.raises(CalciumSeriesRefused, match="heart region mask"):
        analyse_calcium_series(img, region_mask=heart)


# -- geometry --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_cine(tmp_path_factory):
    p = make_cine_sax(n_phases=3, n_slices=4, matrix=(48, 48), spacing=(8.0, 4.0, 4.0), noise_sd=20.0)
    root = tmp_path_factory.mktemp("plaus_cine")
    return p, p.write_dicom(root / "ok"), root


def test_good_cine_geometry_loads(small_cine):
    p, paths, _ = small_cine
    img = hio.load(paths[0].parent)
    assert np.allclose(img.affine, p.image.affine, atol=1e-4)


def _set_iop(row, col):
    return lambda ds, k: setattr(ds, "ImageOrientationPatient", [f"{v:.8f}" for v in (*row, *col)])


def test_orientation_60_degrees_apart_is_a_geometry_error(small_cine):
    """Today 60° apart gave LV volumes 13 % low with no flag."""
    _, paths, root = small_cine
    c60 = (math.cos(math.radians(60)), math.sin(math.radians(60)), 0.0)
    folder = _mutate(paths, root / "iop60", _set_iop((1.0, 0.0, 0.0), c60))
    with pytest.raises(GeometryError, match=r"\(0020,0037\) Image Orientation \(Patient\).*not orthonormal") as err:
        hio.load(folder)
    msg = str(err.value)
    assert ".dcm" in msg and "angle 60.00°" in msg and f"{ORTHONORMAL_TOLERANCE:g}" in msg


@pytest.mark.parametrize("row, col, ok", [
    ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), True),
    ((1.0, 0.0, 0.0), (0.0005, 1.0, 0.0), True),  # within 1e-3 (5-decimal cosines)
    ((1.01, 0.0, 0.0), (0.0, 1.0, 0.0), False),  # not a unit vector
    ((1.0, 0.0, 0.0), (0.002, 1.0, 0.0), False),  # 0.11° skew
    ((1.0, 0.0, 0.0), (1.0, 0.0, 0.0), False),  # parallel
])
def test_orthonormality_tolerance(small_cine, row, col, ok):
    _, paths, root = small_cine
    folder = _mutate(paths, root / f"iop_{row}_{col}".replace(" ", ""), _set_iop(row, col))
    if ok:
        assert hio.load(folder).array.shape[0] == 3
    else:
        with pytest.raises(GeometryError, match="not orthonormal"):
            hio.load(folder)


@pytest.mark.parametrize("spacing", [["0", "4"], ["-4", "4"], ["NaN", "4"], ["0.0001", "4"], ["4"]])
def test_bad_pixel_spacing_is_a_geometry_error(small_cine, spacing):
    _, paths, root = small_cine
    folder = _mutate(paths, root / f"ps_{'_'.join(spacing)}", lambda ds, k: setattr(ds, "PixelSpacing", spacing))
    with pytest.raises(GeometryError, match=r"\(0028,0030\) Pixel Spacing"):
        hio.load(folder)


def test_inconsistent_or_invalid_slice_positions_are_errors(small_cine):
    _, paths, root = small_cine

    def shift(ds, k):  # files are slice-major (3 phases per slice): move slice 2 by 3 mm along the normal
        if k // 3 == 2:
            iop = np.array([float(v) for v in ds.ImageOrientationPatient])
            n = np.cross(iop[:3], iop[3:])
            ds.ImagePositionPatient = [f"{v:.6f}" for v in np.array([float(v) for v in ds.ImagePositionPatient]) + 3 * n]

    with pytest.raises(GeometryError, match="inconsistent slice spacing"):
        hio.load(_mutate(paths, root / "ipp_shift", shift))
    nan = _mutate(paths, root / "ipp_nan",
                  lambda ds, k: setattr(ds, "ImagePositionPatient", ["NaN", "0", "0"]) if k == 4 else None)
    with pytest.raises(GeometryError, match=r"\(0020,0032\) Image Position \(Patient\) is missing or invalid"):
        hio.load(nan)


# -- cine: heart rate, frame timing, phases, blank frames -------------------------------------------


@pytest.fixture(scope="module")
def cine():
    return make_cine_sax(n_phases=8, n_slices=12, matrix=(64, 64), spacing=(8.0, 3.75, 3.75))


def _codes(res) -> set[str]:
    return {f.code for f in res.qc}


def test_good_cine_reports_heart_rate_and_output(cine):
    res = analyze_cine_function(cine.image, cine.labels)
    assert res.value("heart_rate") == pytest.approx(60.0)
    assert res.value("lv_co") == pytest.approx(res.value("lv_sv") * 60.0 / 1000.0)
    assert res.value("lv_co") > 0 and res.get("lv_pfr") is not None


@pytest.mark.parametrize("hr", [-60.0, 0.0, 10.0, 300.0, float("nan"), "abc"])
def test_implausible_heart_rate_gives_no_cardiac_output(cine, hr):
    img = cine.image.with_array(cine.image.array)
    img = Image(img.array, img.affine, img.frame_times_ms, series_uid="1.2.3",
                meta={**cine.image.meta, "heart_rate_bpm": hr})
    res = analyze_cine_function(img, cine.labels)
    assert res.get("lv_co") is None and res.get("heart_rate") is None and res.get("lv_ci") is None
    assert "heart_rate_implausible" in _codes(res)
    flag = next(f for f in res.qc if f.code == "heart_rate_implausible")
    assert "20–250 /min" in flag.message and "cardiac output" in flag.message
    assert res.value("lv_ef") == pytest.approx(cine.truth["lv_ef_percent"], abs=3.0)  # volumes unaffected
    assert all(m.value >= 0 for m in res.measurements if m.code in ("lv_co", "lv_ci", "heart_rate"))


def test_negative_heart_rate_header_never_reaches_fhir(cine, small_cine):
    """(0018,1088) Heart Rate −60 in every file: loaded as −60, analysed and exported — no heart rate
    or cardiac output anywhere."""
    from heartprint.io.fhir import build_fhir_bundle

    _, paths, root = small_cine
    loaded = hio.load(_mutate(paths, root / "hr_neg", lambda ds, k: setattr(ds, "HeartRate", "-60")))
    assert loaded.meta["heart_rate_bpm"] == -60.0
    img = Image(cine.image.array, cine.image.affine, cine.image.frame_times_ms, series_uid="1.2.3",
                meta={**cine.image.meta, "heart_rate_bpm": loaded.meta["heart_rate_bpm"]})
    res = analyze_cine_function(img, cine.labels)
    assert res.get("lv_co") is None and "heart_rate_implausible" in _codes(res)
    bundle = build_fhir_bundle(res.measurements, validate=False)
    codes = {c.get("code") for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
             for c in e["resource"].get("code", {}).get("coding", [])}
    assert codes and not codes & {"8867-4", "82799009", "54993008"}  # heart rate, cardiac output, cardiac index
    ok = build_fhir_bundle(analyze_cine_function(cine.image, cine.labels).measurements, validate=False)
    assert "82799009" in str(ok)  # the test can fail: a plausible heart rate gives the output observation


def test_nominal_interval_outside_range_is_not_used(small_cine):
    _, paths, root = small_cine
    folder = _mutate(paths, root / "rr_bad", lambda ds, k: (setattr(ds, "NominalInterval", "-5"),
                                                            setattr(ds, "HeartRate", "")))
    img = hio.load(folder)
    assert img.meta["rr_interval_ms"] is None


@pytest.mark.parametrize("bad", ["non_monotonic", "nan", "repeated"])
def test_bad_frame_times_give_no_rates(cine, bad):
    times = np.array(cine.image.frame_times_ms, dtype=float)
    if bad == "non_monotonic":
        times[[3, 4]] = times[[4, 3]]
    elif bad == "nan":
        times[5] = np.nan
    else:
        times[6] = times[5]
    meta = {k: v for k, v in cine.image.meta.items() if k != "heart_rate_bpm"}
    img = Image(cine.image.array, cine.image.affine, times, series_uid="1.2.3", meta=meta)
    res = analyze_cine_function(img, cine.labels)
    assert "frame_times_invalid" in _codes(res)
    for code in ("lv_pfr", "lv_per", "lv_tpfr", "heart_rate", "lv_co"):
        assert res.get(code) is None, code
    assert res.value("lv_ef") == pytest.approx(cine.truth["lv_ef_percent"], abs=3.0)


def test_two_phase_ed_es_pair_is_measured_but_no_rates(cine):
    """An ACDC-style ED/ES pair is legitimate: EF from it, with a flag saying what it assumes; no
    peak rates and no R-R interval from two frame times."""
    ed, es = cine.truth["ed_phase"], cine.truth["es_phase"]
    keep = [ed, es]
    times = np.asarray(cine.image.frame_times_ms)[keep]
    meta = {k: v for k, v in cine.image.meta.items() if k not in ("heart_rate_bpm", "rr_ms")}
    img = Image(np.asarray(cine.image.array)[keep], cine.image.affine, times, series_uid="1.2.3", meta=meta)
    res = analyze_cine_function(img, cine.labels[keep])
    full = analyze_cine_function(cine.image, cine.labels)
    assert "two_phase_cine" in _codes(res)
    flag = next(q for q in res.qc if q.code == "two_phase_cine")
    assert str(getattr(flag.severity, "value", flag.severity)) == "info"  # what was assumed, not a likely error
    assert res.value("lv_ef") == pytest.approx(full.value("lv_ef"), rel=1e-12)
    for code in ("lv_pfr", "lv_per", "lv_tpfr", "heart_rate", "lv_co"):
        assert res.get(code) is None, code
    assert "two_phase_cine" not in _codes(full)


def test_blank_frame_fails_the_cine_series(cine):
    labels = {"1.2.3": Image(cine.labels, cine.image.affine, cine.image.frame_times_ms)}
    opts = AnalysisOptions(labels=labels, interpret=False)
    good = Image(cine.image.array, cine.image.affine, cine.image.frame_times_ms, series_uid="1.2.3",
                 meta=dict(cine.image.meta), kind="cine_sax")
    ok = analyze_image(good, "cine_sax", opts)
    assert ok.status == "analysed", ok.message
    for value in (0.0, 500.0):
        arr = np.array(cine.image.array, copy=True)
        arr[4, 6] = value  # one frame all zeros / constant
        bad = good.with_array(arr)
        s = analyze_image(bad, "cine_sax", opts)
        assert s.status == "failed" and "blank frame" in s.message and "phase 4 slice 6" in s.message
        assert not s.measurements

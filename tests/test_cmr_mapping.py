"""T1 (MOLLI), T2, T2* fits and the series-level T1 analysis, on exact signals and phantoms."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
from pydicom.dataset import Dataset

from heartprint.cmr import (
    analyse_t1_series,
    fit_t1_molli,
    fit_t2,
    fit_t2star,
    inversion_times_from_headers,
    map_from_vendor,
)
from heartprint.errors import GeometryError, InvalidInputError
from heartprint.phantoms import make_molli_series, make_t2_series, make_t2star_series

TIS = np.array([100, 180, 260, 1100, 1180, 1260, 2100, 2200.0])


def _molli(t1, m0=1000.0, kappa=1 / 3000):
    t1 = np.asarray(t1, float)
    t1s = t1 / (1 + kappa * t1)
    a = m0 * t1s / t1
    b = a + m0
    return a[None] - b[None] * np.exp(-TIS[:, None, None] / t1s[None]), t1s


@pytest.fixture(scope="module")
def molli():
    return make_molli_series(focal_t1_ms=1200.0)


def test_t1_exact_with_polarity_restoration():
    t1 = np.linspace(200, 2000, 40).reshape(5, 8)
    sig, t1s = _molli(t1)
    res = fit_t1_molli(np.abs(sig), TIS)
    assert res.t1.shape == (5, 8) and res.residual.shape == (5, 8)
    np.testing.assert_allclose(res.t1, t1, rtol=1e-6)
    np.testing.assert_allclose(res.t1_star, t1s, rtol=1e-6)
    assert np.all(res.residual < 1e-6)
    # without restoration the magnitude data cannot be fitted exactly
    bad = fit_t1_molli(np.abs(sig), TIS, polarity="signed")
    assert np.nanmax(np.abs(bad.t1 - t1) / t1) > 0.05


def test_t1_unsorted_times_are_sorted_with_images():
    sig, _ = _molli(np.full((3, 3), 1000.0))
    order = np.random.default_rng(0).permutation(len(TIS))
    res = fit_t1_molli(np.abs(sig)[order], TIS[order])
    np.testing.assert_allclose(res.t1, 1000.0, rtol=1e-6)
    np.testing.assert_array_equal(res.inversion_times_ms, TIS)


@pytest.mark.parametrize(
    "times, match",
    [
        ([100, 100, 260, 1100, 1180, 1260, 2100, 2200], "duplicated"),
        ([100, 180, 260], "3 values but images has 8"),
        ([], "missing"),
        ([100, -5, 260, 1100, 1180, 1260, 2100, 2200], ">= 0"),
    ],
)
def test_t1_bad_times(times, match):
    with pytest.raises(InvalidInputError, match=match):
        fit_t1_molli(np.ones((8, 2, 2)), times)


def test_t1_too_few_inversions():
    with pytest.raises(InvalidInputError, match="at least 3"):
        fit_t1_molli(np.ones((2, 2, 2)), [100, 1000])


def test_t1_phantom_bias_below_1pct(molli):
    res = analyse_t1_series(molli.image, molli.labels)
    json.dumps(res)
    g = res["global"]["mean"]
    seg7 = res["segments"]["7"]["mean"]  # focal 1200 ms in segment 7 (mid anterior)
    remote = [res["segments"][s]["mean"] for s in ("8", "9", "10", "11")]
    assert abs(np.mean(remote) - 1000.0) / 1000.0 < 0.01
    # the focal sector covers 48 of the segment's 60 degrees: area mean 0.8*1200 + 0.2*1000 = 1160 ms
    assert abs(seg7 - 1160.0) / 1160.0 < 0.01
    assert abs(res["blood"]["mean"] - 1600.0) / 1600.0 < 0.01
    assert res["segments"]["8"]["sd"] < 30.0  # pixel precision at SNR 50
    assert 1000 < g < 1200
    units = {m["code"]: m["unit"] for m in res["measurements"]}
    assert units["native_t1"] == "ms" and units["t1_blood"] == "ms"
    assert res["mask_source"] == "user" and res["qc_status"] == "ok"
    assert set(res["levels"].values()) == {"basal", "mid", "apical"}


def test_t1_series_mask_grid_mismatch_names_both(molli):
    with pytest.raises(GeometryError, match=r"\(3, 150, 160\).*\(3, 160, 160\)"):
        analyse_t1_series(molli.image, molli.labels[:, :150])


def test_t2_exact_and_phantom():
    te = np.arange(10, 90, 10.0)
    t2 = np.linspace(20, 200, 12).reshape(3, 4)
    res = fit_t2(800 * np.exp(-te[:, None, None] / t2[None]), te)
    np.testing.assert_allclose(res.t2, t2, rtol=1e-6)
    ph = make_t2_series()
    fit = fit_t2(ph.image.array, ph.times_ms)
    roi = (ph.labels == 2) & (np.abs(ph.maps["t2"] - 50) < 1e-9)
    assert abs(np.nanmean(fit.t2[roi]) - 50.0) / 50.0 < 0.01


def test_t2star_noise_floor_models():
    ph = make_t2star_series(t2star_myocardium_ms=6.0)
    roi = (ph.labels == 2) & (np.abs(ph.maps["t2star"] - 6.0) < 1e-9)
    floor = 2 * ph.truth["noise_floor"]
    trunc = fit_t2star(ph.image.array, ph.times_ms, noise_floor=floor)
    off = fit_t2star(ph.image.array, ph.times_ms, model="offset")
    assert abs(np.nanmean(trunc.t2star[roi]) - 6.0) / 6.0 < 0.05
    assert abs(np.nanmean(off.t2star[roi]) - 6.0) / 6.0 < 0.08
    assert trunc.n_echoes_used[roi].min() < len(ph.times_ms)
    with pytest.raises(InvalidInputError, match="noise_floor"):
        fit_t2star(ph.image.array, ph.times_ms)


def test_inversion_times_from_headers():
    a, b = Dataset(), Dataset()
    a.InversionTime, b.InversionTime = "100", "1100"
    np.testing.assert_array_equal(inversion_times_from_headers([a, b]), [100, 1100])
    c, d = Dataset(), Dataset()
    c.ImageComments, d.ImageComments = "T1 MOLLI TI 180 ms", "TI=1180"
    np.testing.assert_array_equal(inversion_times_from_headers([c, d]), [180, 1180])
    with pytest.raises(InvalidInputError, match="image 0"):
        inversion_times_from_headers([Dataset()])


def test_vendor_map_rescale():
    np.testing.assert_allclose(map_from_vendor([[1000]], slope=0.5, intercept=10), [[510]])
    np.testing.assert_allclose(map_from_vendor([[1.2]], unit="s"), [[1200]])
    with pytest.raises(InvalidInputError, match="slope"):
        map_from_vendor([[1]], slope=0)


def test_vendor_t1_map_series(molli):
    t1map = molli.image.phase(0).with_array(molli.maps["t1"])
    res = analyse_t1_series(t1map, molli.labels)
    assert abs(res["segments"]["9"]["mean"] - 1000.0) < 1e-6
    assert res["inversion_times_ms"] is None


@pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dciodvfy (dicom3tools) not installed")
def test_molli_dicom_valid(tmp_path, molli):
    import pydicom

    paths = molli.write_dicom(tmp_path / "molli")
    assert len(paths) == 24
    ds = pydicom.dcmread(paths[3])
    assert float(ds.InversionTime) == TIS[3]
    out = subprocess.run(["dciodvfy", str(paths[0])], capture_output=True, text=True)
    errors = [ln for ln in (out.stdout + out.stderr).splitlines() if ln.startswith("Error")]
    assert not errors, errors


def test_molli_dicom_inversion_times_reach_the_fit(tmp_path):
    """(0018,0082) Inversion Time of each MOLLI image is read by io into meta and used by the fit."""
    from heartprint import io
    from heartprint.phantoms import make_molli_series, write_tissue_dicom

    ph = make_molli_series(noise_sd=0.0, seed=1)
    write_tissue_dicom(ph, tmp_path / "molli")
    img = io.load(tmp_path / "molli")
    tis = img.meta["inversion_times_ms"]
    assert tis == pytest.approx(sorted(ph.times_ms))
    from heartprint.cmr import fit_t1_molli

    fit = fit_t1_molli(img.array[:, 1], tis)  # the mid-ventricular slice
    myo = ph.labels[1] == 2 if ph.labels.ndim == 3 else ph.labels[0, 1] == 2
    assert np.median(fit.t1[myo]) == pytest.approx(1000.0, rel=0.01)

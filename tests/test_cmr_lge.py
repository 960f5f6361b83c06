"""LGE scar quantification on the annulus phantom with known scar per segment."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from heartprint.cmr import MYOCARDIAL_DENSITY_G_PER_ML, analyse_lge_series, quantify_lge, transmurality_class
from heartprint.errors import GeometryError, InvalidInputError
from heartprint.phantoms import make_lge_sax
from heartprint.phantoms._tissue import ScarSpec


@pytest.fixture(scope="module")
def lge():
    return make_lge_sax()


@pytest.fixture(scope="module")
def fwhm(lge):
    return quantify_lge(lge.image, lge.labels)


def test_fwhm_volume_mass_percent(lge, fwhm):
    t = lge.truth
    assert fwhm.scar_ml == pytest.approx(t["scar_ml"], rel=0.05)
    assert fwhm.scar_g == pytest.approx(fwhm.scar_ml * MYOCARDIAL_DENSITY_G_PER_ML)
    assert fwhm.lv_myocardium_ml == pytest.approx(t["lv_myocardium_ml"], rel=0.02)
    assert fwhm.scar_pct_lv == pytest.approx(t["scar_pct_lv"], abs=1.0)


def test_segments_extent_class_pattern(lge, fwhm):
    for s, truth in lge.truth["segments"].items():
        got = fwhm.segments[s]
        assert got["extent_pct"] == pytest.approx(truth["extent_pct"], abs=5.0), s
        assert got["transmurality_class"] == transmurality_class(truth["transmurality_pct"]), s
        assert got["pattern"] == truth["pattern"], s
    scarred = set(lge.truth["segments"])
    for s, got in fwhm.segments.items():
        if s not in scarred:
            assert got["extent_pct"] < 1.0 and got["pattern"] is None, s
    assert fwhm.segments[1]["territory"] == "LAD" and fwhm.segments[4]["territory"] == "RCA"
    assert fwhm.global_pattern == "regional"


def test_mvo_found_in_segment_10_only(lge, fwhm):
    assert fwhm.mvo_ml == pytest.approx(lge.truth["mvo_ml"], rel=0.25)
    assert fwhm.segments[10]["mvo_voxels"] > 0
    assert sum(v["mvo_voxels"] for s, v in fwhm.segments.items() if s != 10) == 0
    assert not (fwhm.mvo_mask & ~fwhm.scar_mask).any()  # MVO is included in the scar


def test_nsd_thresholds_monotonic(lge, fwhm):
    c = fwhm.extra["scar_pct_lv_by_threshold"]
    assert c["2sd"] >= c["3sd"] >= c["5sd"] >= c["6sd"]
    five = quantify_lge(lge.image, lge.labels, method="nsd", n_sd=5)
    assert five.scar_ml >= fwhm.scar_ml
    assert five.scar_ml == pytest.approx(lge.truth["scar_ml"], rel=0.15)
    assert fwhm.remote["segments"] and not set(fwhm.remote["segments"]) & set(lge.truth["segments"])


def test_no_scar_gives_zero():
    ph = make_lge_sax(scars=(), seed=3)
    res = quantify_lge(ph.image, ph.labels, method="nsd", n_sd=5)
    assert res.scar_ml < 0.2
    assert all(v["transmurality_class"] == "0" for v in res.segments.values())


def test_diffuse_subendocardial_pattern():
    scars = tuple(ScarSpec(s, (0.0, 0.3), "subendocardial", inset_deg=0.0) for s in range(1, 17))
    ph = make_lge_sax(scars=scars, seed=4)
    res = quantify_lge(ph.image, ph.labels, remote_segments=[17])
    assert res.global_pattern == "diffuse_subendocardial"


def test_grid_mismatch_and_bad_method(lge):
    with pytest.raises(GeometryError, match=r"\(10, 160, 150\).*\(10, 160, 160\)"):
        quantify_lge(lge.image, lge.labels[..., :150])
    with pytest.raises(InvalidInputError, match="method"):
        quantify_lge(lge.image, lge.labels, method="otsu")
    with pytest.raises(InvalidInputError, match="myocardium_labels .*or a cine"):
        analyse_lge_series(lge.image)


def test_transmurality_classes():
    assert [transmurality_class(v) for v in (0, 0.2, 1, 25, 25.4, 26, 50, 51, 75, 76, 100)] == [
        "0", "0", "1-25", "1-25", "1-25", "26-50", "26-50", "51-75", "51-75", "76-100", "76-100"]


def test_series_dict_json(lge):
    d = analyse_lge_series(lge.image, lge.labels)
    json.dumps(d)
    assert d["schema"] == "heartprint.cmr.lge/1" and d["mask_source"] == "user" and d["disclaimer"]
    codes = {(m["code"], m["unit"]) for m in d["measurements"]}
    assert {("lge_scar_volume", "mL"), ("lge_scar_mass", "g"), ("lge_extent", "%"), ("lge_transmurality", "%")} <= codes
    seg1 = [m for m in d["measurements"] if m["code"] == "lge_transmurality" and m.get("segment") == 1][0]
    assert seg1["pattern"] == "transmural"


@pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dciodvfy (dicom3tools) not installed")
def test_lge_dicom_valid(tmp_path, lge):
    paths = lge.write_dicom(tmp_path / "lge")
    out = subprocess.run(["dciodvfy", str(paths[4])], capture_output=True, text=True)
    errors = [ln for ln in (out.stdout + out.stderr).splitlines() if ln.startswith("Error")]
    assert not errors, errors
    from heartprint.io import load

    img = load(tmp_path / "lge")
    assert img.array.shape == (10, 160, 160) and img.kind == "lge"
    np.testing.assert_allclose(img.spacing, (8.0, 1.4, 1.4), atol=1e-6)

"""Coronary calcium scoring: hand-computable lesions, every boundary, geometry, per-artery sums,
region exclusion, QC flags and measurements."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from heartprint import Image
from heartprint.ct import CORONARY_LABELS, agatston_weight, analyse_calcium_series, calcium_score
from heartprint.errors import GeometryError, InvalidInputError

SP = (3.0, 0.5, 0.5)  # (dz, dy, dx) mm: 3 mm slices, 0.25 mm2 pixels


def blank(nz: int = 3, n: int = 32, value: float = 20.0) -> np.ndarray:
    return np.full((nz, n, n), value, dtype=np.float32)


def codes(res) -> set[str]:
    return {f.code for f in res.qc}


# -- exact Agatston, volume and mass on hand-computable lesions ----------------------------------------


def test_square_lesion_exact_scores():
    hu = blank()
    hu[1, 4:8, 4:8] = 250.0  # 16 pixels x 0.25 mm2 = 4 mm2, peak 250 HU -> weight 2
    res = calcium_score(hu, SP, calibration_mg_per_ml_per_hu=0.8)
    assert res.agatston == pytest.approx(4.0 * 2)
    assert res.volume_mm3 == pytest.approx(16 * 0.75)  # voxel 3 x 0.5 x 0.5 mm3
    # mass = c_HA x V x mean HU = 0.8 mg/mL/HU x 0.012 mL x 250 HU
    assert res.mass_mg == pytest.approx(0.8 * 0.012 * 250.0)
    (les,) = res.lesions
    assert (les.slice, les.n_pixels, les.area_mm2, les.peak_hu, les.weight) == (1, 16, 4.0, 250.0, 2)
    assert les.centroid_index == pytest.approx((1.0, 5.5, 5.5))
    # default axial affine with origin 0: LPS = (x*dx, y*dy, z*dz)
    assert les.centroid_lps == pytest.approx((2.75, 2.75, 3.0))
    assert res.category == "1-10"
    assert res.per_artery == {}


def test_peak_not_mean_sets_the_weight():
    hu = blank()
    hu[0, 10:14, 10:14] = 150.0
    hu[0, 11, 12] = 420.0  # one bright pixel: peak 420 -> weight 4 for the whole lesion
    res = calcium_score(hu, SP)
    assert res.agatston == pytest.approx(4.0 * 4)
    assert res.lesions[0].mean_hu == pytest.approx((15 * 150 + 420) / 16)


@pytest.mark.parametrize(
    "peak, weight",
    [(129, 0), (129.9, 0), (130, 1), (199, 1), (199.9, 1), (200, 2), (299, 2), (300, 3), (399, 3), (399.9, 3), (400, 4), (1500, 4)],
)
def test_density_weight_boundaries(peak, weight):
    hu = blank()
    hu[2, 2:6, 2:10] = peak  # 32 pixels = 8 mm2
    res = calcium_score(hu, SP)
    assert res.agatston == pytest.approx(8.0 * weight)
    assert len(res.lesions) == (1 if weight else 0)
    assert int(agatston_weight(peak)) == weight


@pytest.mark.parametrize(
    "pixel, n_pixels, counted",
    [(0.5, 3, False), (0.5, 4, True), (0.4, 6, False), (0.4, 7, True), (1.0, 1, True), (0.7, 2, False), (0.7, 3, True)],
)
def test_minimum_area_one_mm2_both_sides(pixel, n_pixels, counted):
    hu = blank(1, 20)
    hu[0, 5, 5:5 + n_pixels] = 300.0  # a 1-pixel-high bar of n pixels
    res = calcium_score(hu, (3.0, pixel, pixel))
    area = n_pixels * pixel * pixel
    assert (len(res.lesions) == 1) is counted, area
    assert res.agatston == pytest.approx(area * 3 if counted else 0.0)
    assert res.method["n_below_min_area"] == (0 if counted else 1)


def test_connectivity_diagonal_pixels_join_in_plane_only():
    hu = blank(2, 20)
    hu[0, 4, 4:6] = 400.0  # two 2-pixel bars (0.5 mm2 each) touching only at a corner
    hu[0, 5, 6:8] = 400.0
    eight = calcium_score(hu, SP)  # 8-connected: one lesion of 1 mm2 -> counted
    assert len(eight.lesions) == 1 and eight.agatston == pytest.approx(1.0 * 4)
    assert "8-connected" in eight.method["connectivity"]
    four = calcium_score(hu, SP, connectivity=4)  # 4-connected: two 0.5 mm2 lesions -> both too small
    assert four.agatston == 0.0 and four.method["n_below_min_area"] == 2
    # the same pixels on two adjacent slices are two 2-D lesions, never one 3-D object
    hu2 = blank(2, 20)
    hu2[:, 4:8, 4:8] = 250.0
    res = calcium_score(hu2, SP)
    assert [les.slice for les in res.lesions] == [0, 1]
    assert res.agatston == pytest.approx(2 * 4.0 * 2)


def test_nan_voxels_are_never_calcium():
    hu = blank()
    hu[0, 4:8, 4:8] = np.nan
    hu[1, 4:8, 4:8] = 250.0
    assert calcium_score(hu, SP).agatston == pytest.approx(8.0)


# -- slice thickness and increment ---------------------------------------------------------------------


def _one_lesion(nz: int = 4) -> np.ndarray:
    hu = blank(nz)
    hu[1, 4:8, 4:8] = 250.0  # 4 mm2, weight 2 -> 8 per 3 mm slice
    return hu


@pytest.mark.parametrize(
    "dz, thickness, factor, flags",
    [
        (3.0, 3.0, 1.0, set()),
        (2.5, 2.5, 2.5 / 3, set()),
        (1.5, 3.0, 0.5, {"overlapping_slices"}),
        (5.0, 5.0, 5.0 / 3, {"slice_thickness_gt_3mm"}),
        (3.0, 1.0, 1.0, {"slice_gaps"}),
        (3.0, None, 1.0, {"slice_thickness_assumed"}),
    ],
)
def test_slice_geometry_scaling_and_flags(dz, thickness, factor, flags):
    res = calcium_score(_one_lesion(), (dz, 0.5, 0.5), slice_thickness=thickness)
    assert res.agatston == pytest.approx(8.0 * factor)
    assert res.volume_mm3 == pytest.approx(16 * dz * 0.25)  # volume uses the increment
    assert res.method["agatston_slice_factor"] == pytest.approx(dz / 3)
    got = codes(res) & {"overlapping_slices", "slice_thickness_gt_3mm", "slice_gaps", "slice_thickness_assumed"}
    assert got == flags


def test_overlapping_reconstruction_is_not_double_counted():
    # a 3 mm-thick disc reconstructed at 1.5 mm increments appears on 2 slices: 2 x 0.5 = 1 slice worth
    hu = _one_lesion()
    hu[2] = hu[1]
    res = calcium_score(hu, (1.5, 0.5, 0.5), slice_thickness=3.0)
    assert res.agatston == pytest.approx(8.0)


def test_image_input_uses_affine_and_meta_thickness():
    hu = _one_lesion()
    img = Image.from_array(hu, (1.5, 0.5, 0.5), origin=(10.0, -20.0, 30.0), meta={"slice_thickness_mm": 3.0}, series_uid="1.2.3")
    res = calcium_score(img)
    assert res.agatston == pytest.approx(8.0 * 0.5)
    assert "overlapping_slices" in codes(res)
    assert res.lesions[0].centroid_lps == pytest.approx(tuple(img.index_to_lps(np.array([1.0, 5.5, 5.5]))))
    assert res.measurements()[0].source == "1.2.3"
    with pytest.raises(GeometryError, match="differs"):
        calcium_score(img, (3.0, 0.5, 0.5))


# -- per-artery scores and region exclusion ------------------------------------------------------------


def _four_lesions():
    hu = blank(2, 40)
    arteries = np.zeros(hu.shape, dtype=np.uint8)
    hu[0, 2:6, 2:6] = 250.0  # LM (all pixels)
    arteries[0, 2:6, 2:6] = 1
    hu[0, 10:14, 10:14] = 450.0  # LAD (12 of 16 pixels), 4 in LCx: majority LAD
    arteries[0, 10:14, 10:13] = 2
    arteries[0, 10:14, 13] = 3
    hu[1, 20:24, 20:24] = 350.0  # RCA
    arteries[1, 20:24, 20:24] = 4
    hu[1, 30:34, 30:34] = 180.0  # outside every artery label: unassigned
    return hu, arteries


def test_per_artery_scores_sum_to_total():
    hu, arteries = _four_lesions()
    res = calcium_score(hu, SP, artery_labels=arteries)
    pa = res.per_artery
    assert pa["LM"]["agatston"] == pytest.approx(4 * 2)
    assert pa["LAD"]["agatston"] == pytest.approx(4 * 4)
    assert pa["LCx"]["agatston"] == 0.0 and pa["LCx"]["n_lesions"] == 0
    assert pa["RCA"]["agatston"] == pytest.approx(4 * 3)
    assert pa["unassigned"]["agatston"] == pytest.approx(4 * 1)
    for key in ("agatston", "volume_mm3", "mass_mg", "n_lesions"):
        assert sum(v[key] for v in pa.values()) == pytest.approx(getattr(res, key) if key != "n_lesions" else len(res.lesions))
    vessels = {m.vessel: m.value for m in res.measurements() if m.vessel}
    assert vessels == pytest.approx({"LM": 8.0, "LAD": 16.0, "LCx": 0.0, "RCA": 12.0})
    assert CORONARY_LABELS == {1: "LM", 2: "LAD", 3: "LCx", 4: "RCA"}


def test_lesion_assignments_without_label_map():
    hu, _ = _four_lesions()
    res = calcium_score(hu, SP)
    assert res.per_artery == {}
    ids = [les.id for les in res.lesions]
    out = res.assign({ids[0]: "LAD", ids[1]: "LAD", ids[2]: "RCA"})
    assert out.per_artery["LAD"]["agatston"] == pytest.approx(8 + 16)
    assert out.per_artery["unassigned"]["n_lesions"] == 1
    assert sum(v["agatston"] for v in out.per_artery.values()) == pytest.approx(res.agatston)
    with pytest.raises(InvalidInputError, match="LAD"):
        res.assign({ids[0]: "Cx"})
    with pytest.raises(InvalidInputError, match="999"):
        res.assign({999: "LAD"})


def test_region_mask_excludes_and_reports():
    hu, _ = _four_lesions()
    region = np.zeros(hu.shape, dtype=bool)
    region[:, :16, :16] = True  # keeps the LM and LAD lesions; RCA-like and the 180 HU one are outside
    region[0, 10:14, 14:] = True
    res = calcium_score(hu, SP, region_mask=region)
    assert len(res.lesions) == 2 and len(res.excluded) == 2
    assert res.agatston == pytest.approx(8 + 16)
    flag = next(f for f in res.qc if f.code == "excluded_outside_region")
    assert flag.details["n_lesions"] == 2
    assert flag.details["volume_mm3"] == pytest.approx(2 * 16 * 0.75)
    assert res.to_dict()["excluded"]["agatston"] == pytest.approx(12 + 4)
    # a lesion half inside is kept (>= 50 % rule), less than half is excluded
    half = np.zeros(hu.shape, dtype=bool)
    half[1, 20:22, 20:24] = True
    r2 = calcium_score(hu, SP, region_mask=half)
    assert [les.peak_hu for les in r2.lesions] == [350.0]


# -- bad input -----------------------------------------------------------------------------------------


def test_mask_on_a_different_grid_names_both_geometries():
    hu = blank()
    with pytest.raises(GeometryError) as exc:
        calcium_score(hu, SP, region_mask=np.ones((3, 16, 16), bool))
    assert "(3, 16, 16)" in str(exc.value) and "(3, 32, 32)" in str(exc.value)
    img = Image.from_array(hu, SP)
    other = Image.from_array(np.zeros(hu.shape, np.uint8), (3.0, 0.6, 0.6))
    with pytest.raises(GeometryError) as exc:
        calcium_score(img, artery_labels=other)
    msg = str(exc.value)
    assert "artery_labels" in msg and "0.6" in msg and "0.5" in msg
    shifted = Image.from_array(np.zeros(hu.shape, np.uint8), SP, origin=(5.0, 0.0, 0.0))
    with pytest.raises(GeometryError, match="origin"):
        calcium_score(img, region_mask=shifted)
    same = Image.from_array(np.ones(hu.shape, bool), SP)
    assert calcium_score(img, region_mask=same).agatston == 0.0


@pytest.mark.parametrize("spacing", [(3.0, float("nan"), 0.5), (3.0, 0.5, float("inf")), (0.0, 0.5, 0.5), (3.0, 0.5), None])
def test_bad_spacing_is_a_geometry_error(spacing):
    with pytest.raises(GeometryError):
        calcium_score(blank(), spacing)


@pytest.mark.parametrize(
    "kwargs",
    [{"slice_thickness": float("nan")}, {"slice_thickness": -3}, {"calibration_mg_per_ml_per_hu": 0},
     {"threshold_hu": float("nan")}, {"connectivity": 6}],
)
def test_bad_options(kwargs):
    with pytest.raises(InvalidInputError):
        calcium_score(blank(), SP, **kwargs)


def test_bad_arrays_and_labels():
    with pytest.raises(InvalidInputError):
        calcium_score(np.zeros((4, 4)), SP)
    with pytest.raises(InvalidInputError):
        calcium_score(Image.from_array(np.zeros((2, 2, 4, 4)), SP), None)
    hu, arteries = _four_lesions()
    arteries[0, 2, 2] = 7
    with pytest.raises(InvalidInputError, match="7"):
        calcium_score(hu, SP, artery_labels=arteries)


# -- outputs -------------------------------------------------------------------------------------------


def test_measurements_units_and_json():
    hu, arteries = _four_lesions()
    res = calcium_score(hu, SP, artery_labels=arteries, calibration_mg_per_ml_per_hu=0.75)
    ms = {m.code: m for m in res.measurements() if m.vessel is None}
    assert (ms["cac_agatston"].unit, ms["cac_volume"].unit, ms["cac_mass"].unit, ms["cac_lesion_count"].unit) == ("1", "mm3", "mg", "1")
    assert ms["cac_mass"].value == pytest.approx(res.mass_mg)
    assert "10.1016/0735-1097(90)90282-T" in ms["cac_agatston"].reference
    assert "10.1148/radiol.2432050808" in ms["cac_mass"].reference
    assert "mass_uncalibrated" not in codes(res)
    d = json.loads(json.dumps(res.to_dict()))
    assert d["category"] == "11-100" and d["category_code"] == "cac_11_100"
    assert len(d["lesions"]) == 4 and d["lesions"][1]["artery"] == "LAD"
    assert "mass_uncalibrated" in codes(calcium_score(hu, SP))


def test_category_comes_from_the_clinical_rule():
    from heartprint.clinical import agatston_category

    hu = blank(1, 64)
    hu[0, 0:40, 0:42] = 500.0  # 1680 px x 0.25 = 420 mm2 x 4 = 1680
    res = calcium_score(hu, SP)
    assert res.agatston == pytest.approx(1680.0)
    assert res.category == ">400" == agatston_category(1680.0).details["band"]
    assert calcium_score(blank(), SP).category == "0"


def test_series_entry_flags_contrast_and_missing_gating():
    """Warnings for what does not make the score wrong (gating, contrast named only in the header);
    refusal (an error for the series, issue 17) for what does: an enhanced blood pool, values not
    in HU, kVp missing or not 120."""
    from heartprint.ct import CalciumSeriesRefused

    hu = blank(4, 48, value=-1000.0)
    hu[:, 8:40, 8:40] = 40.0  # soft tissue
    hu[1, 20:24, 20:24] = 500.0
    std = {"kvp": 120.0}
    gated = Image.from_array(hu, SP, modality="CT", kind="ct_calcium",
                             meta={"heart_rate_bpm": 60.0, "slice_thickness_mm": 3.0, **std})
    out = analyse_calcium_series(gated)
    json.dumps(out)
    assert out["agatston"] == pytest.approx(16.0)
    assert {q["code"] for q in out["qc"]} == {"mass_uncalibrated"}
    assert out["disclaimer"] and out["method"]["threshold_hu"] == 130
    assert {m["code"] for m in out["measurements"]} >= {"cac_agatston", "cac_volume", "cac_mass"}

    plain = Image.from_array(hu, SP, modality="CT", meta={"series_description": "Thorax 5mm", "slice_thickness_mm": 3.0,
                                                          **std})
    assert "not_gated" in {q["code"] for q in analyse_calcium_series(plain)["qc"]}

    cta = Image.from_array(hu, SP, modality="CT", meta={"series_description": "CCTA 75%", "heart_rate_bpm": 60.0, **std})
    assert "contrast_enhanced" in {q["code"] for q in analyse_calcium_series(cta)["qc"]}

    enhanced = hu.copy()
    enhanced[:, 12:36, 12:36] = 350.0  # iodinated blood pool
    img = Image.from_array(enhanced, SP, modality="CT", kind="ct_calcium", meta={"heart_rate_bpm": 60.0, **std})
    with pytest.raises(CalciumSeriesRefused, match="contrast-enhanced") as err:
        analyse_calcium_series(img)
    assert err.value.code == "contrast_enhanced" and "350 HU" in str(err.value)
    flags = {q["code"]: q for q in analyse_calcium_series(img, allow_contrast=True)["qc"]}
    assert flags["contrast_enhanced_override"]["details"]["median_blood_pool_hu"] > 150

    stored = Image.from_array(hu + 1024, SP, modality="CT", kind="ct_calcium", meta={"heart_rate_bpm": 60.0, **std})
    with pytest.raises(CalciumSeriesRefused, match="stored pixel values") as err:
        analyse_calcium_series(stored)
    assert err.value.code == "not_hounsfield"
    for meta, code in (({}, "kvp_missing"), ({"kvp": 100.0}, "kvp_not_standard")):
        with pytest.raises(CalciumSeriesRefused, match=r"\(0018,0060\) KVP") as err:
            analyse_calcium_series(Image.from_array(hu, SP, modality="CT", meta={"heart_rate_bpm": 60.0, **meta}))
        assert err.value.code == code
    with pytest.raises(InvalidInputError):
        analyse_calcium_series(hu)  # type: ignore[arg-type]


def test_benchmark_alternative_agrees():
    """The per-slice scikit-image regionprops loop in the benchmark gives the same scores."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "calcium_speed.py"
    spec = importlib.util.spec_from_file_location("calcium_speed", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    hu = mod.synthetic_series(n=96, nz=6, seed=1)
    ref = mod.regionprops_score(hu, (3.0, 0.4, 0.4))
    res = calcium_score(hu, (3.0, 0.4, 0.4))
    assert res.agatston == pytest.approx(ref["agatston"]) and ref["agatston"] > 0
    assert res.volume_mm3 == pytest.approx(ref["volume_mm3"])
    assert len(res.lesions) == ref["n_lesions"]
    assert math.isfinite(res.mass_mg)

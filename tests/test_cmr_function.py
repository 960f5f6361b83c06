"""Cine function on the analytic phantom: exact answers at (8, 1.4, 1.4) mm with an oblique affine."""

import json

import numpy as np
import pytest

from heartprint import DISCLAIMER
from heartprint.cmr import MYOCARDIAL_DENSITY_G_PER_ML, analyze_cine_function, fourier_fit, peak_rates
from heartprint.errors import InvalidInputError
from heartprint.image import Image
from heartprint.labels import LV_CAVITY, LV_MYOCARDIUM, RV_CAVITY
from test_cmr_phantom import RR_MS, SPACING, analytic_lv_volume_ml, make_phantom

VOX_ML = SPACING[0] * SPACING[1] * SPACING[2] / 1000.0


@pytest.fixture(scope="module")
def clean():
    ph = make_phantom(meta={"heart_rate_bpm": 72.0})
    return ph, analyze_cine_function(ph.image, ph.labels, height_cm=170, weight_kg=70)


def test_voxel_volume_from_oblique_affine(clean):
    ph, _ = clean
    assert ph.image.voxel_volume_mm3 == pytest.approx(8 * 1.4 * 1.4, rel=1e-12)


def test_volumes_match_analytic(clean):
    ph, res = clean
    assert res.ed_index == 0 and res.es_index == 10
    assert res.value("lv_edv") == pytest.approx(analytic_lv_volume_ml(0.0), rel=0.015)
    assert res.value("lv_esv") == pytest.approx(analytic_lv_volume_ml(RR_MS / 2), rel=0.015)
    # exact identities from voxel counts
    n_ed = (ph.labels[0] == LV_CAVITY).sum()
    n_es = (ph.labels[10] == LV_CAVITY).sum()
    assert res.value("lv_edv") == pytest.approx(n_ed * VOX_ML, rel=1e-12)
    assert res.value("lv_ef") == pytest.approx((n_ed - n_es) / n_ed * 100, rel=1e-12)
    assert res.value("lv_ef") == pytest.approx(60.0, abs=1.0)
    n_myo = (ph.labels[0] == LV_MYOCARDIUM).sum()
    assert res.value("lv_mass") == pytest.approx(n_myo * VOX_ML * 1.05, rel=1e-12)
    assert MYOCARDIAL_DENSITY_G_PER_ML == 1.05
    assert res.value("rv_sv") == pytest.approx(res.value("lv_sv"), rel=0.05)
    assert res.rv_ed_index == 0 and res.rv_es_index == 10


def test_cardiac_output_and_indexing(clean):
    _, res = clean
    assert res.value("heart_rate") == 72.0
    assert res.value("lv_co") == pytest.approx(res.value("lv_sv") * 72.0 / 1000.0, rel=1e-12)
    bsa = np.sqrt(170 * 70 / 3600)
    assert res.value("bsa") == pytest.approx(bsa)
    assert res.value("lv_edvi") == pytest.approx(res.value("lv_edv") / bsa)
    assert res.value("lv_massi") == pytest.approx(res.value("lv_mass") / bsa)
    assert res.value("lv_ci") == pytest.approx(res.value("lv_co") / bsa)
    assert res.get("lv_edvi").unit == "mL/m2" and res.get("lv_ci").unit == "L/min/m2"


def test_heart_rate_from_frame_times_and_meta_rr():
    ph = make_phantom(n_phases=10)
    res = analyze_cine_function(ph.image, ph.labels)
    assert res.value("heart_rate") == pytest.approx(60000.0 / RR_MS)
    assert "rr_from_frame_times" in res.qc_codes() and "bsa_not_available" in res.qc_codes()
    assert res.get("lv_edvi") is None
    img = Image(ph.image.array, ph.image.affine, ph.image.frame_times_ms, meta={"rr_interval_ms": 1000.0,
                                                                              "patient_height_cm": 180,
                                                                              "patient_weight_kg": 90})
    res2 = analyze_cine_function(img, ph.labels)
    assert res2.value("heart_rate") == pytest.approx(60.0)
    assert res2.value("bsa") == pytest.approx(2.1213, abs=1e-4)


def test_peak_rates_on_sinusoid():
    rr, v0, a = 900.0, 120.0, 35.0
    t = np.arange(25) * rr / 25
    v = v0 + a * np.cos(2 * np.pi * t / rr)  # ED at 0, ES at rr/2
    fit = fourier_fit(t, v, rr)
    pr = peak_rates(fit, 0.0, rr / 2)
    analytic = a * 2 * np.pi / (rr / 1000.0)  # mL/s
    assert pr["pfr_ml_s"] == pytest.approx(analytic, rel=1e-3)
    assert pr["per_ml_s"] == pytest.approx(analytic, rel=1e-3)
    assert pr["tpfr_ms"] == pytest.approx(rr / 4, abs=1.0)
    # asymmetric curve: fast filling (2nd harmonic) — PFR > PER
    v2 = v + 8 * np.sin(4 * np.pi * t / rr)
    pr2 = peak_rates(fourier_fit(t, v2, rr), 0.0, rr / 2)
    assert pr2["pfr_ml_s"] != pytest.approx(pr2["per_ml_s"], rel=0.01)


def test_rates_on_phantom(clean):
    _, res = clean
    analytic = analytic_lv_volume_ml(0) * 0.3 * 2 * np.pi / (RR_MS / 1000)
    assert res.value("lv_pfr") == pytest.approx(analytic, rel=0.03)
    assert res.value("lv_tpfr") == pytest.approx(RR_MS / 4, abs=10)


def test_clean_phantom_raises_no_warnings(clean):
    _, res = clean
    bad = [f for f in res.qc if f.severity.value != "info"]
    assert bad == [], [f.message for f in bad]
    assert res.coverage["n_slices_with_lv_ed"] == 9
    assert res.coverage["slices_without_lv_ed"] == [0, 10, 11]
    assert res.coverage["basal_slices_ed"] == [1, 2, 3]


def test_to_dict_is_json(clean):
    _, res = clean
    d = json.loads(json.dumps(res.to_dict()))
    assert d["disclaimer"] == DISCLAIMER
    assert d["phases"]["lv_ed"] == 0 and len(d["curves"]["lv_cavity"]) == 20
    assert set(d["segments"]["wall_thickness_mm"]) == {str(s) for s in range(1, 17)}
    units = {m["code"]: m["unit"] for m in d["measurements"] if "segment" not in m}
    assert units["lv_ef"] == "%" and units["lv_mass"] == "g" and units["lv_pfr"] == "mL/s"
    assert d["qc_status"] in ("ok", "info")
    assert "summation of discs" in d["method"]


# ---------------------------------------------------------------------------- QC defects
def _run(labels, ph, **kw):
    return analyze_cine_function(ph.image, labels, height_cm=170, weight_kg=70, **kw)


@pytest.fixture(scope="module")
def small():
    return make_phantom(n_phases=10, meta={"heart_rate_bpm": 70})


def _defect(small, fn):
    lab = small.labels.copy()
    fn(lab)
    return _run(lab, small)


def test_qc_basal_and_apical_coverage(small):
    def cut_base(lab):
        lab[:, 0] = lab[:, 1]
    def cut_apex(lab):
        lab[:, 11] = lab[:, 9]
        lab[:, 10] = lab[:, 9]
    assert "basal_coverage_incomplete" in _defect(small, cut_base).qc_codes()
    assert "apical_coverage_incomplete" in _defect(small, cut_apex).qc_codes()


def test_qc_disconnected(small):
    def island(lab):
        lab[:, 4, 2:5, 2:5] = RV_CAVITY
    res = _defect(small, island)
    f = [f for f in res.qc if f.code == "disconnected_mask"][0]
    assert [0, 4, RV_CAVITY, 2] in f.details["slices_t_z_label_n"]


def test_qc_holes_and_open_cavity(small):
    def hole(lab):
        yx = np.argwhere(lab[0, 4] == LV_MYOCARDIUM)[len(np.argwhere(lab[0, 4] == LV_MYOCARDIUM)) // 2]
        lab[0, 4, yx[0], yx[1]] = 0
    def open_(lab):
        myo = lab[:, 5] == LV_MYOCARDIUM
        rows = np.nonzero(myo.any(axis=(0, 2)))[0]
        lab[:, 5, rows.min():rows.min() + 12][lab[:, 5, rows.min():rows.min() + 12] == LV_MYOCARDIUM] = 0
    r1 = _defect(small, hole)
    assert "myocardium_holes" in r1.qc_codes()
    assert "cavity_not_enclosed" in _defect(small, open_).qc_codes()


def test_qc_sv_mismatch_and_no_rv(small):
    def shrink_rv(lab):
        lab[5:][lab[5:] == RV_CAVITY] = 0  # RV vanishes at ES half: huge RV SV
        lab[5:, 3, 20:24, 20:24] = RV_CAVITY
    res = _defect(small, shrink_rv)
    assert "sv_lv_rv_mismatch" in res.qc_codes()
    res2 = _defect(small, lambda lab: lab.__setitem__(lab == RV_CAVITY, 0))
    assert "no_rv" in res2.qc_codes() and "aha_not_computed" in res2.qc_codes()
    assert res2.get("rv_edv") is None and res2.get("lv_edv") is not None


def test_qc_implausible_ef_mass_edv_and_mass_mismatch(small):
    def frozen(lab):
        lab[:] = lab[0]  # no contraction: EF 0
        lab[1, 8][lab[1, 8] == LV_CAVITY] = 0  # ES differs from ED by one small apical slice: EF ~3.5 %
    res = _defect(small, frozen)
    assert "implausible_lv_ef" in res.qc_codes()
    assert "mass_ed_es_mismatch" not in res.qc_codes()

    def thin(lab):
        lab[5:][lab[5:] == LV_MYOCARDIUM] = 0  # myocardium lost in late phases
    assert "mass_ed_es_mismatch" in _defect(small, thin).qc_codes()

    ph = make_phantom(n_phases=4, spacing=(1.0, 1.4, 1.4))  # slices 8x thinner: 1/8 of the volume
    res = analyze_cine_function(ph.image, ph.labels)
    assert {"implausible_lv_mass", "implausible_lv_edv"} <= res.qc_codes()
    f = [f for f in res.qc if f.code == "implausible_lv_mass"][0]
    assert f"{res.value('lv_mass'):.1f} g" in f.message


def test_qc_misalignment(small):
    def shift(lab):
        lab[:, 4] = np.roll(lab[:, 4], 11, axis=2)  # 15.4 mm in-plane
    res = _defect(small, shift)
    f = [f for f in res.qc if f.code == "slice_misalignment"]
    assert f and f[0].details["jumps_z0_z1_mm"][0][:2] in ([3, 4], [4, 5])


def test_qc_empty_and_missing_phases(small):
    res = _run(np.zeros_like(small.labels), small)
    assert [f.code for f in res.qc if f.severity.value == "error"] == ["empty_labels"]
    assert res.measurements == []
    lab = small.labels.copy()
    lab[3] = 0
    res = _run(lab, small)
    f = [f for f in res.qc if f.code == "phases_without_lv"][0]
    assert f.details["phases"] == [3]


def test_invalid_inputs(small):
    with pytest.raises(InvalidInputError, match=r"values \[7\]"):
        lab = small.labels.copy()
        lab[0, 0, 0, 0] = 7
        _run(lab, small)
    with pytest.raises(InvalidInputError, match="shape"):
        _run(small.labels[:, :5], small)

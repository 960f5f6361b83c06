"""Valve plane and apex (heartprint.cmr._slices) and the agreement QC of the network's passes
(heartprint.cmr._qc.check_agreement): exact answers on drawn label maps, and the rules checked
against real expert labels (ACDC validation, skipped when absent)."""

import numpy as np
import pytest

from heartprint.cmr import analyze_cine_function
from heartprint.cmr._qc import AGREEMENT_EF_RANGE_MAX_POINTS, check_agreement
from heartprint.cmr._slices import MIN_MYOCARDIAL_RING, myocardial_ring_fraction, ventricular_slices
from heartprint.image import Image
from heartprint.labels import LV_CAVITY, LV_MYOCARDIUM, RV_CAVITY
from heartprint.segmentation import SegmentationPasses

N = 48
YY, XX = np.mgrid[:N, :N]


def _disc(cy, cx, r):
    return (YY - cy) ** 2 + (XX - cx) ** 2 <= r * r


def _ventricle_slice(r_cav=8, wall=3, rv=True, ring_open_deg=0.0):
    """LV cavity (radius r_cav) in a myocardial ring; an opening of ``ring_open_deg`` degrees
    (centred on +x) replaced by background; an RV crescent to the left."""
    s = np.zeros((N, N), np.uint8)
    cy = cx = N // 2
    if rv:
        s[_disc(cy, cx - 12, 9) & ~_disc(cy, cx, r_cav + wall)] = RV_CAVITY
    s[_disc(cy, cx, r_cav + wall)] = LV_MYOCARDIUM
    s[_disc(cy, cx, r_cav)] = LV_CAVITY
    if ring_open_deg:
        ang = np.degrees(np.arctan2(YY - cy, XX - cx))
        gap = (np.abs(ang) <= ring_open_deg / 2) & (s == LV_MYOCARDIUM)
        s[gap] = 0
    return s


def _stack(n_z=6, **kw):
    return np.stack([_ventricle_slice(**kw) for _ in range(n_z)])


def test_ring_fraction_exact_cases():
    assert myocardial_ring_fraction(_ventricle_slice()) == 1.0
    assert myocardial_ring_fraction(np.zeros((N, N), np.uint8)) is None
    half = myocardial_ring_fraction(_ventricle_slice(ring_open_deg=200))
    assert 0.35 < half < MIN_MYOCARDIAL_RING
    open_ = np.zeros((N, N), np.uint8)
    open_[_disc(24, 24, 8)] = LV_CAVITY  # cavity without any myocardium
    assert myocardial_ring_fraction(open_) == 0.0


def test_basal_atrium_slice_excluded_and_reported():
    ed, es = _stack(), np.stack([_ventricle_slice(r_cav=6) for _ in range(6)])
    ed[0] = _ventricle_slice(ring_open_deg=250)  # base at ED: cavity < 50 % ringed → atrium/outflow
    lab = np.stack([ed, es])
    d = ventricular_slices(lab, base_first=True)
    assert not np.isin(d.labels[0, 0], (LV_CAVITY, LV_MYOCARDIUM)).any()
    assert (d.labels[0, 1:] == lab[0, 1:]).all() and (d.labels[1, 1:] == lab[1, 1:]).all()
    # at ES the base has descended: slice 0, atrium at ED, is not ventricle at ES either
    assert not d.labels[1, 0].any() and d.ed_basal_slice == 1
    row = next(r for r in d.table if r["phase"] == 0 and r["slice"] == 0)
    assert row["lv"] == "excluded" and "atrium" in row["reason"] and row["ring_fraction"] < 0.5
    # the RV in that slice is now above the LV base: rule 2 removes it as well
    assert row["rv"] == "excluded" and not (d.labels[0, 0] == RV_CAVITY).any()
    assert d.excluded_voxels[LV_CAVITY] == int((ed[0] == LV_CAVITY).sum() + (es[0] == LV_CAVITY).sum())
    # the same slice with base_first=False is the apex: kept (apical partial volume is counted)
    kept = ventricular_slices(lab, base_first=False)
    assert (kept.labels[0, 0] == lab[0, 0]).all()


def test_rule_needs_a_ringed_slice_and_stops_at_a_third():
    cav_only = np.where(_stack() == LV_MYOCARDIUM, 0, _stack())[None]  # no myocardium at all
    assert (ventricular_slices(cav_only, base_first=True).labels == cav_only).all()
    lab = _stack(n_z=6)
    for z in range(4):
        lab[z] = _ventricle_slice(ring_open_deg=250)
    d = ventricular_slices(lab[None], base_first=True)
    excluded = [r["slice"] for r in d.table if r["lv"] == "excluded"]
    assert excluded == [0, 1]  # basal third of 6 LV slices


def test_rv_above_lv_base_and_through_time():
    ed, es = _stack(), _stack()
    ed[0] = 0
    ed[0][_disc(24, 12, 9)] = RV_CAVITY  # RV with no LV in the slice: above the LV base
    es[0] = _ventricle_slice()  # ES ventricle in slice 0 while ED's base is slice 1 … (before rule 2 at ED)
    d = ventricular_slices(np.stack([ed, es]), base_first=True, ed_index=0)
    assert not d.labels[0, 0].any()
    # ED's base is slice 1 after rule 2 → ES slice 0 is more basal: not counted
    assert not d.labels[1, 0].any()
    reasons = {(r["phase"], r["slice"]): r["reason"] for r in d.table}
    assert "tricuspid" in reasons[(0, 0)] and "descends in systole" in reasons[(1, 0)]
    assert d.ed_basal_slice == 1


def test_function_analysis_counts_only_ventricle():
    ed = _stack()
    es = np.stack([_ventricle_slice(r_cav=6) for _ in range(6)])
    ed[0] = _ventricle_slice(ring_open_deg=250)
    lab = np.stack([ed, es])
    img = Image.from_array(np.ones(lab.shape, np.float32) + lab, (8.0, 1.5, 1.5), frame_times_ms=[0.0, 300.0],
                           modality="MR", kind="cine_sax")
    res = analyze_cine_function(img, lab, base_first=True)
    vox = 8.0 * 1.5 * 1.5 / 1000
    assert res.value("lv_edv") == pytest.approx((ed[1:] == LV_CAVITY).sum() * vox)
    # ES slice 0 lies above the end-diastolic base (slice 1): not counted either
    assert res.value("lv_esv") == pytest.approx((es[1:] == LV_CAVITY).sum() * vox)
    assert "valve_plane_exclusions" in res.qc_codes()
    assert any(r["lv"] == "excluded" for r in res.coverage["slice_decisions"])
    assert (res.labels[0, 0] == 0).all()
    raw = analyze_cine_function(img, lab, base_first=True, valve_plane=False)
    assert raw.value("lv_edv") == pytest.approx((ed == LV_CAVITY).sum() * vox)
    assert "slice_decisions" not in raw.coverage


def _passes(labels_per_pass):
    arr = np.stack(labels_per_pass).astype(np.uint8)  # raw (k, t, z, y, x): post-processing keeps these as they are
    return SegmentationPasses(arr, (8.0, 1.5, 1.5), tuple(f"pass {k}" for k in range(len(labels_per_pass))))


def test_agreement_identical_passes_score_zero():
    lab = np.stack([_stack(), np.stack([_ventricle_slice(r_cav=6) for _ in range(6)])])
    flags, q = check_agreement(_passes([lab, lab, lab]), base_first=True, valve_plane=True, ed=0, es=1, rv_ed=0, rv_es=1)
    assert flags == [] and q["score_ef_range_points"] == 0.0 and q["uncertain_slices"] == []
    assert len(q["lvef_per_pass"]) == 3


def test_agreement_flags_a_pass_that_loses_the_rv():
    ed = _stack()
    es = np.stack([_ventricle_slice(r_cav=6) for _ in range(6)])
    good = np.stack([ed, es])
    bad = good.copy()
    bad[1, 0:3][bad[1, 0:3] == RV_CAVITY] = 0  # one pass drops the basal RV at ES (slices 0-2)
    flags, q = check_agreement(_passes([good, good, bad]), base_first=True, valve_plane=True, ed=0, es=1,
                               rv_ed=0, rv_es=1)
    rvefs = q["rvef_per_pass"]
    assert max(rvefs) - min(rvefs) > AGREEMENT_EF_RANGE_MAX_POINTS
    assert q["score_ef_range_points"] == pytest.approx(max(rvefs) - min(rvefs), abs=0.01)
    (flag,) = flags
    assert flag.code == "segmentation_uncertain" and flag.severity.value == "warning"
    assert "RVEF" in flag.message and "slices 0, 1, 2" in flag.message
    assert {s["slice"] for s in q["uncertain_slices"] if s["structure"] == "RV cavity"} == {0, 1, 2}


def test_expert_labels_unchanged_by_the_rules():
    _acdc = pytest.importorskip("_acdc")
    pts = _acdc.patients()
    if not pts:
        pytest.skip(f"ACDC validation data not found in {_acdc.ACDC_VAL}")
    for p in pts:
        _, lab = _acdc._read(p)
        d = ventricular_slices(lab, base_first=True, ed_index=0)
        assert (d.labels == lab).all(), p

"""Reduced-order CT-FFR (research estimate): analytic Poiseuille and Young–Tsai checks, monotonicity."""

from __future__ import annotations

import numpy as np
import pytest

from heartprint.ct import (
    FlowModel, extract_centrelines, ffr_along_vessel, ffr_tree, poiseuille_drop_mmhg, stenosis_expansion_drop_mmhg,
    stenosis_profile,
)
from heartprint.errors import InvalidInputError

MMHG = 133.322387415


def test_poiseuille_exact():
    # 8 mu L Q / (pi r^4): mu 3.5e-3 Pa s, L 0.05 m, Q 2e-6 m3/s, r 1.5e-3 m
    by_hand = 8 * 3.5e-3 * 0.05 * 2e-6 / (np.pi * 1.5e-3**4) / MMHG
    assert poiseuille_drop_mmhg(50.0, 1.5, 2.0) == pytest.approx(by_hand, rel=1e-12)
    # the 1-D model integrates the same law along a uniform tube: flow fixed by a zero resistance limit
    s = np.linspace(0, 50.0, 101)
    area = np.full_like(s, np.pi * 1.5**2)
    model = FlowModel(hyperaemia_factor=1e-12)
    res = ffr_along_vessel(s, area, resting_flow_ml_s=1.0, model=model)
    drop = model.pa_mmhg - res["pressure_mmhg"][-1]
    assert drop == pytest.approx(poiseuille_drop_mmhg(50.0, 1.5, res["flow_ml_s"]), rel=1e-9)


def test_young_tsai_expansion_by_hand():
    # A0 = pi 2^2 mm2, As = pi 1^2 mm2 (50 % diameter), Q = 3 mL/s, Kt 1.52, rho 1060
    a0, as_ = np.pi * 4e-6, np.pi * 1e-6
    u = 3e-6 / a0
    by_hand = 1.52 * 1060 / 2 * (a0 / as_ - 1) ** 2 * u**2 / MMHG  # = 1.52*530*9*u^2 / 133.32
    assert by_hand == pytest.approx(1.52 * 530 * 9 * (3e-6 / (np.pi * 4e-6)) ** 2 / MMHG)
    assert stenosis_expansion_drop_mmhg(np.pi * 4, np.pi * 1, 3.0) == pytest.approx(by_hand, rel=1e-12)
    # in the vessel model the full loss appears distal to the lesion, on top of the viscous loss
    s = np.arange(0, 40.0, 0.5)
    area = np.full_like(s, np.pi * 4)
    base = ffr_along_vessel(s, area, resting_flow_ml_s=1.0, model=FlowModel(hyperaemia_factor=1e-12))
    q = base["flow_ml_s"]
    les = ffr_along_vessel(s, area, resting_flow_ml_s=1.0, lesions=[(20.0, 25.0, np.pi * 4, np.pi * 1)],
                           model=FlowModel(hyperaemia_factor=1e-12))
    assert les["expansion_coefficient"] * q**2 == pytest.approx(stenosis_expansion_drop_mmhg(np.pi * 4, np.pi, q))


def _cosine(st):
    s = np.arange(0, 40.0, 0.5)
    w = np.where(np.abs(s - 20) < 5, 0.5 * (1 + np.cos(2 * np.pi * (s - 20) / 10)), 0.0)
    r = 2.0 * (1 - st / 100 * w)
    area = np.pi * r**2
    lesions = [(20.0, 25.0, np.pi * 4, float(area.min()))] if st > 0 else []
    return s, area, lesions


def test_ffr_monotone_limits_and_ordering():
    out = {}
    for st in (0, 30, 50, 70, 85):
        s, area, lesions = _cosine(st)
        res = ffr_along_vessel(s, area, resting_flow_ml_s=1.0, lesions=lesions)
        f = res["ffr"]
        assert f[0] == pytest.approx(1.0) and np.all(np.diff(f) <= 1e-12)
        assert "Research estimate" in res["note"]
        out[st] = f[-1]
    assert out[0] > out[30] > out[50] > out[70] > out[85]
    assert out[0] > 0.98 and out[85] < 0.8
    # no stenosis, no length: FFR = 1 exactly
    z = ffr_along_vessel(np.zeros(1), np.full(1, np.pi * 4), resting_flow_ml_s=1.0)
    assert z["ffr"][-1] == pytest.approx(1.0, abs=1e-15)
    with pytest.raises(InvalidInputError):
        ffr_along_vessel(np.zeros(2), np.ones(3), resting_flow_ml_s=1.0)
    with pytest.raises(InvalidInputError):
        FlowModel().resting_flow_ml_s(0.0)


def test_tree_solver_reduces_to_single_vessel_closed_form():
    from heartprint.phantoms import make_stenosed_vessel

    ph = make_stenosed_vessel(stenosis_pct=60.0, length_mm=30.0, lesion_length_mm=8.0)
    prof = stenosis_profile(ph.lumen, extract_centrelines(ph.lumen)[0])
    tree = ffr_tree([prof], myocardial_mass_g=150.0)[prof.name]
    lesions = [(les.mla_arc_mm, les.end_mm, np.pi * les.reference_diameter_mm**2 / 4, les.mla_mm2)
               for les in prof.lesions]
    single = ffr_along_vessel(prof.centreline.arc_mm[prof.valid], prof.area_mm2[prof.valid],
                              resting_flow_ml_s=FlowModel().resting_flow_ml_s(150.0), lesions=lesions)
    assert tree["flow_ml_s"] == pytest.approx(single["flow_ml_s"], rel=1e-6)
    assert tree["distal_ffr"] == pytest.approx(single["ffr"][-1], abs=1e-6)
    assert tree["distal_ffr"] < 0.95

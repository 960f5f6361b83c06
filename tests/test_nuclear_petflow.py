"""PET myocardial blood flow from a dynamic PET image (issue 19): pet_flow on make_dynamic_pet_image phantoms.

The phantoms' MBF is known exactly (per AHA segment, from the territory flows). Noise: noise_cv = 0.10 per
voxel in the myocardium at the plateau (last frame; earlier frames scaled by duration and decay, see the
phantom module). Seeds 1, 2, 5 and 101–104 were used while tuning the method; the tests use seeds 11–17.

The 12-mm wall at 8-mm FWHM loses signal to its low-activity surroundings; without a partial-volume term
(tissue fraction 1 − Vb, Lortie 2007) the image-derived MBF reads −7…−9 % (N-13 ammonia) and −9…−13 % (Rb-82).
pet_flow's loss term from the late wall profile (TF = 1 − Vb − L, _petflow step 7) brings it within 10 %
(benchmarks/pet_flow_image.py: within ±5 % on seeds 201–205).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from heartprint.anatomy.territories import segments_of
from heartprint.errors import InvalidInputError
from heartprint.nuclear._flow import myocardial_flow_reserve
from heartprint.nuclear._petflow import pet_flow
from heartprint.phantoms._pet_dynamic import make_dynamic_pet_image

CV = 0.10


@pytest.fixture(scope="module")
def rb_stress():
    return make_dynamic_pet_image(2.5, tracer="rb82", state="stress", noise_cv=CV, seed=13, supersample=2)


@pytest.fixture(scope="module")
def rb_stress_flow(rb_stress):
    return pet_flow(rb_stress.image)


@pytest.fixture(scope="module")
def rb_rest():
    return make_dynamic_pet_image(1.0, tracer="rb82", state="rest", noise_cv=CV, seed=14, supersample=2)


@pytest.fixture(scope="module")
def rb_rest_flow(rb_rest):
    return pet_flow(rb_rest.image)


@pytest.mark.parametrize("mbf,seed", [(0.5, 11), (4.0, 12)])
def test_n13_global_mbf_within_ten_percent(mbf, seed):
    ph = make_dynamic_pet_image(mbf, tracer="n13", noise_cv=CV, seed=seed, supersample=2)
    res = pet_flow(ph.image)
    assert res.tracer == "n13-ammonia"
    assert abs(res.global_mbf / mbf - 1.0) < 0.10
    # the axis found on the late frames agrees with the phantom's
    assert np.linalg.norm(res.axis.apex_lps - np.array(ph.truth["lv_axis"]["apex_lps"])) < 8.0
    assert res.tacs["segments"].shape == (17, 20)
    assert not any("k2 at a bound" in w for w in res.warnings)


def test_rb82_global_mbf(rb_stress, rb_rest, rb_stress_flow, rb_rest_flow):
    for ph, mbf, res in ((rb_stress, 2.5, rb_stress_flow), (rb_rest, 1.0, rb_rest_flow)):
        assert res.tracer == "rb82"
        assert abs(res.global_mbf / mbf - 1.0) < 0.10
        pv = res.partial_volume
        assert pv["applied"] and pv["resolution"] == "fitted" and 0.02 < pv["loss"] < 0.12
        assert abs(pv["wall_mm"] - 12.0) < 2.0  # the phantom's wall
        assert np.all(np.asarray(res.fit.tissue_fraction) == pytest.approx(
            1.0 - np.asarray(res.fit.blood_volume) - pv["loss"], abs=1e-12))
        # blood input: the cavity sphere reads the arterial input (exact TAC) to within 2 %
        cb = np.array(ph.truth["blood_tac"])
        assert np.max(np.abs(res.tacs["blood"] - cb)) < 0.02 * cb.max()


def test_without_the_loss_term_the_rb82_flow_reads_low(rb_stress, rb_stress_flow):
    with pytest.raises(InvalidInputError, match="resolution_fwhm_mm"):
        pet_flow(rb_stress.image, resolution_fwhm_mm=-1.0)  # refused before any work
    a = pet_flow(rb_stress.image, partial_volume=False)
    b = rb_stress_flow
    assert not a.partial_volume["applied"] and a.global_mbf < 0.93 * 2.5  # measured −10 %
    assert b.global_mbf > a.global_mbf and abs(b.global_mbf / 2.5 - 1.0) < abs(a.global_mbf / 2.5 - 1.0)
    # a stated resolution is used instead of the fitted one
    c = pet_flow(rb_stress.image, resolution_fwhm_mm=8.0)
    assert c.partial_volume["resolution"] == "stated"
    assert c.partial_volume["sigma_mm"] == pytest.approx(np.hypot(8.0 / 2.3548200450309493, 4.0 / np.sqrt(12.0)))


def test_rb82_low_flow_axis_and_mbf():
    """0.5 mL/min/g Rb-82: the count-weighted late image finds the LV (the duration-weighted one did not)."""
    ph = make_dynamic_pet_image(0.5, tracer="rb82", noise_cv=CV, seed=17, supersample=2)
    res = pet_flow(ph.image)
    t = ph.truth["lv_axis"]
    assert np.linalg.norm(res.axis.apex_lps - np.array(t["apex_lps"])) < 10.0
    assert np.degrees(np.arccos(min(abs(float(res.axis.long_axis @ np.array(t["long_axis"]))), 1.0))) < 10.0
    assert abs(res.global_mbf / 0.5 - 1.0) < 0.10


def test_wall_profile_fit_recovers_a_blurred_slab():
    """Exact answer: a slab [−5.5, 6.5] mm of level 100, cavity 20, outside 30, blurred with σ 3.6 mm."""
    from scipy.special import ndtr

    from heartprint.nuclear._petflow import wall_profile_fit
    x = np.arange(-15.0, 16.0)
    x1, x2, sig = -5.5, 6.5, 3.6
    a, b = ndtr((x - x1) / sig), ndtr((x - x2) / sig)
    p = 100.0 * (a - b) + 20.0 * (1.0 - a) + 30.0 * b
    fit = wall_profile_fit(x, p, None, 4.0)
    assert fit["reliable"] and fit["resolution"] == "fitted"
    assert fit["inner_mm"] == pytest.approx(x1, abs=0.03) and fit["outer_mm"] == pytest.approx(x2, abs=0.03)
    assert fit["sigma_mm"] == pytest.approx(sig, abs=0.02)
    assert fit["loss"] == pytest.approx(ndtr(-x2 / sig) * (1.0 - 0.3), rel=0.02)
    # two contrasts of the same wall (first pass: bright cavity 300, wall 40, outside 10) share the geometry
    q = 40.0 * (a - b) + 300.0 * (1.0 - a) + 10.0 * b
    joint = wall_profile_fit(x, np.stack([p, q]), None, 4.0)
    assert joint["outer_mm"] == pytest.approx(x2, abs=0.03) and joint["sigma_mm"] == pytest.approx(sig, abs=0.02)
    assert joint["wall_level"] == pytest.approx(100.0, rel=1e-3) and joint["outside_ratio"] == pytest.approx(0.3, rel=1e-3)
    # stated resolution (FWHM with the voxel's box variance): the same σ gives the same edges
    fwhm = 2.3548200450309493 * np.sqrt(sig**2 - 4.0**2 / 12.0)
    st = wall_profile_fit(x, p, fwhm, 4.0)
    assert st["sigma_mm"] == pytest.approx(sig, abs=1e-9) and st["outer_mm"] == pytest.approx(x2, abs=0.03)


def test_reduced_lad_territory_found():
    ph = make_dynamic_pet_image({"LAD": 1.0, "RCA": 3.0, "LCx": 3.0}, tracer="n13", noise_cv=CV, seed=15, supersample=2)
    res = pet_flow(ph.image)
    # LAD territory mean: measured +10.6 % (this seed). It read +41 % while the polar map labelled its whole
    # hemispherical cap segment 17 and only body rings 13–16: that 17 and 14 took in high-flow apical-inferior and
    # apical-lateral myocardium. With segments by position along the axis in mm (issue 19 item 2: 17 only beyond
    # the cavity, 13–16 the apical third of the cavity, as the phantom's truth) the brief's 15 % target is met;
    # RCA / LCx read +0.2 / +1.0 % (−9 % before the partial-volume loss term).
    assert res.territories["LAD"] < 0.5 * min(res.territories["RCA"], res.territories["LCx"])
    assert abs(res.territories["LAD"] / 1.0 - 1.0) < 0.15
    for s in (1, 2, 7, 8):
        assert abs(res.mbf[s] / 1.0 - 1.0) < 0.12
    assert abs(res.territories["RCA"] / 3.0 - 1.0) < 0.05
    assert abs(res.territories["LCx"] / 3.0 - 1.0) < 0.05
    lad = [res.mbf[s] for s in segments_of("LAD") if s != 17]
    other = [res.mbf[s] for s in range(1, 17) if s not in segments_of("LAD")]
    assert max(lad) < min(other)


def test_flow_reserve(rb_stress, rb_rest, rb_stress_flow, rb_rest_flow):
    s, r = rb_stress_flow, rb_rest_flow
    mfr = myocardial_flow_reserve(s.global_mbf, r.global_mbf)
    assert abs(mfr / 2.5 - 1.0) < 0.05
    assert rb_stress.image.kind == "nm_perfusion_stress" and rb_rest.image.kind == "nm_perfusion_rest"


def test_decay_none_is_corrected(rb_stress, rb_stress_flow):
    ph = make_dynamic_pet_image(2.5, tracer="rb82", noise_cv=CV, seed=13, supersample=2, decay_corrected=False)
    assert ph.image.meta["decay_correction"] == "NONE"
    # the stored values are the decaying activity: late frames far below the corrected ones
    assert ph.image.array[-1].max() < 0.2 * rb_stress.image.array[-1].max()
    a, b = pet_flow(ph.image), rb_stress_flow
    assert any("Decay Correction NONE" in w for w in a.warnings)
    assert abs(a.global_mbf / b.global_mbf - 1.0) < 0.005
    # without the correction the decay constant ends up in k2 (K1 nearly unchanged): pretend the values are corrected
    img = dataclasses.replace(ph.image, meta={**ph.image.meta, "decay_correction": "START"})
    c = pet_flow(img)
    lam_per_min = 60.0 * np.log(2.0) / 76.0  # Rb-82 half-life 76 s
    assert abs((c.fit.k2[-1] - b.fit.k2[-1]) - lam_per_min) < 0.15 * lam_per_min


def test_unknown_tracer_and_bad_inputs(rb_stress):
    img = dataclasses.replace(rb_stress.image, meta={**rb_stress.image.meta, "tracer": "F-18 FDG",
                                                     "radionuclide": "18F"})
    with pytest.raises(InvalidInputError, match="tracer"):
        pet_flow(img)
    with pytest.raises(InvalidInputError, match="tracer"):
        pet_flow(rb_stress.image, tracer="O-15 water")
    # explicit tracer overrides the meta
    assert pet_flow(img, tracer="rb82").tracer == "rb82"
    with pytest.raises(InvalidInputError, match="frame_start_ms"):
        pet_flow(dataclasses.replace(rb_stress.image, meta={"tracer": "Rb-82"}))
    with pytest.raises(InvalidInputError):
        pet_flow(rb_stress.image.phase(0))


def test_to_dict_and_given_axis(rb_stress):
    from heartprint.nuclear._axis import LVAxis
    t = rb_stress.truth["lv_axis"]
    axis = LVAxis(t["apex_lps"], t["base_lps"], t["anterior"], t["septal"])
    res = pet_flow(rb_stress.image, axis)
    assert res.axis is axis
    d = res.to_dict()
    assert set(d["mbf_ml_min_g"]) == {str(s) for s in range(1, 18)}
    assert len(d["tacs"]["blood"]) == 20


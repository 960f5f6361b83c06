"""Valve haemodynamics and AS / MR grading (heartprint.echo._valves)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from heartprint.echo._valves import (
    AS_THRESHOLDS, MR_THRESHOLDS, aortic_stenosis, continuity_ava_cm2, dimensionless_index,
    mean_gradient_from_velocities, mitral_regurgitation, pisa_eroa_mm2, pisa_regurgitant_volume_ml,
    rvsp_mmhg, stroke_volume_lvot,
)
from heartprint.errors import InvalidInputError

SEV = "severe_high_gradient"
LFLG_R = "low_flow_low_gradient_reduced_ef"
LFLG_P = "paradoxical_low_flow_low_gradient_preserved_ef"
NFLG = "normal_flow_low_gradient"
NONE = "aortic_sclerosis_or_no_stenosis"

# --------------------------------------------------------------------------- formulas


def test_rvsp_hand_arithmetic() -> None:
    assert rvsp_mmhg(3.0, 5.0) == pytest.approx(4 * 9 + 5)
    assert rvsp_mmhg(2.5, 15) == pytest.approx(40.0)
    np.testing.assert_allclose(rvsp_mmhg([2.0, 3.0], [3.0, 8.0]), [19.0, 44.0])


def test_rvsp_requires_rap() -> None:
    with pytest.raises(InvalidInputError, match="ra_pressure_mmhg"):
        rvsp_mmhg(3.0, None)
    with pytest.raises(TypeError):
        rvsp_mmhg(3.0)  # type: ignore[call-arg]


def test_stroke_volume_and_continuity_hand_arithmetic() -> None:
    # d 20 mm → r 1 cm → area π cm²; × VTI 20 cm = 20π mL
    assert stroke_volume_lvot(20, 20) == pytest.approx(20 * math.pi)
    # AVA = π·1²·20/80 = 0.785 cm²
    assert continuity_ava_cm2(20, 20, 80) == pytest.approx(math.pi * 20 / 80)
    assert continuity_ava_cm2(20, 20, 80) == pytest.approx(0.7854, abs=1e-4)
    assert dimensionless_index(20, 80) == pytest.approx(0.25)
    np.testing.assert_allclose(stroke_volume_lvot([20, 22], [20, 20]), [20 * math.pi, math.pi * 1.21 * 20])


def test_mean_gradient_is_mean_of_4v2() -> None:
    assert mean_gradient_from_velocities([1.0, 3.0]) == pytest.approx((4 + 36) / 2)  # not 4·2² = 16
    assert mean_gradient_from_velocities([-2.0]) == pytest.approx(16.0)


def test_pisa_hand_arithmetic() -> None:
    # r 10 mm, Va 40 cm/s = 400 mm/s, Vmax 5 m/s = 5000 mm/s → 2π·100·400/5000 = 16π mm²
    assert pisa_eroa_mm2(10, 40, 5) == pytest.approx(16 * math.pi)
    assert pisa_regurgitant_volume_ml(40, 150) == pytest.approx(0.40 * 150)


@pytest.mark.parametrize("call", [
    lambda: rvsp_mmhg(-1, 5), lambda: rvsp_mmhg(float("nan"), 5), lambda: rvsp_mmhg("x", 5),
    lambda: stroke_volume_lvot(0, 20), lambda: stroke_volume_lvot(20, -1),
    lambda: continuity_ava_cm2(20, 20, 0), lambda: dimensionless_index(20, None),
    lambda: mean_gradient_from_velocities([]), lambda: mean_gradient_from_velocities([[1.0]]),
    lambda: pisa_eroa_mm2(10, 600, 5), lambda: pisa_eroa_mm2(-1, 40, 5),
    lambda: pisa_regurgitant_volume_ml(40, 0),
    lambda: aortic_stenosis(vmax_m_s=-1), lambda: aortic_stenosis(ava_cm2=0),
    lambda: aortic_stenosis(lvef_percent=120), lambda: aortic_stenosis(vmax_m_s=[4.0, 3.0]),
    lambda: aortic_stenosis(vmax_m_s=True),
    lambda: mitral_regurgitation(eroa_mm2=-5), lambda: mitral_regurgitation(aetiology="functional"),
    lambda: mitral_regurgitation(regurgitant_fraction_percent=101),
])
def test_validation_errors(call) -> None:
    with pytest.raises(InvalidInputError):
        call()

# --------------------------------------------------------------------------- AS bands

# Full information (normal flow, preserved EF): the grade of a single parameter at both ends
# of every band, other parameters set in the mild/none band so they do not raise the grade.
FULL = dict(sv_index_ml_m2=45.0, lvef_percent=60.0)


@pytest.mark.parametrize("vmax, grade", [
    (2.0, NONE), (2.59, NONE), (2.6, "mild"), (2.99, "mild"), (3.0, "moderate"), (3.99, "moderate"),
    (4.0, SEV), (4.01, SEV),
])
def test_as_vmax_bands(vmax: float, grade: str) -> None:
    mg = 10.0 if vmax < 3.9 else 19.0
    r = aortic_stenosis(vmax_m_s=vmax, mean_gradient_mmhg=mg, ava_cm2=2.0, ava_index_cm2_m2=1.1, **FULL)
    assert r.grade == grade


@pytest.mark.parametrize("mg, grade", [(19.99, "mild"), (20.0, "moderate"), (39.99, "moderate"),
                                       (40.0, SEV), (40.01, SEV)])
def test_as_mean_gradient_bands(mg: float, grade: str) -> None:
    r = aortic_stenosis(vmax_m_s=3.99 if mg >= 20 else 2.8, mean_gradient_mmhg=mg, ava_cm2=2.0, ava_index_cm2_m2=1.1,
                        **FULL)
    assert r.grade == grade


@pytest.mark.parametrize("ava, grade", [(0.99, NFLG), (1.0, "moderate"), (1.5, "moderate"),
                                        (1.51, NONE)])
def test_as_ava_bands(ava: float, grade: str) -> None:
    r = aortic_stenosis(vmax_m_s=2.0, mean_gradient_mmhg=10.0, ava_cm2=ava, ava_index_cm2_m2=1.1, **FULL)
    assert r.grade == grade


@pytest.mark.parametrize("avai, grade", [(0.59, NFLG), (0.6, "moderate"), (0.85, "moderate"),
                                         (0.86, NONE)])
def test_as_ava_index_bands(avai: float, grade: str) -> None:
    r = aortic_stenosis(vmax_m_s=2.0, mean_gradient_mmhg=10.0, ava_index_cm2_m2=avai, ava_cm2=2.0, **FULL)
    assert r.grade == grade


@pytest.mark.parametrize("di, grade", [(0.24, NFLG), (0.25, "moderate"), (0.50, "moderate"),
                                       (0.51, NONE)])
def test_as_dimensionless_index_bands(di: float, grade: str) -> None:
    r = aortic_stenosis(vmax_m_s=2.0, mean_gradient_mmhg=10.0, dimensionless_index=di, **FULL)
    assert r.grade == grade
    assert any("dimensionless index stands in" in x for x in r.reasons)


def test_as_threshold_table_values() -> None:
    assert AS_THRESHOLDS["vmax_m_s"] == {"severe_min": 4.0, "moderate_min": 3.0, "mild_min": 2.6}
    assert AS_THRESHOLDS["mean_gradient_mmhg"] == {"severe_min": 40.0, "moderate_min": 20.0}
    assert AS_THRESHOLDS["ava_cm2"] == {"severe_below": 1.0, "mild_above": 1.5}
    assert AS_THRESHOLDS["sv_index_ml_m2"]["low_flow_max"] == 35.0
    assert AS_THRESHOLDS["lvef_percent"]["reduced_below"] == 50.0

# --------------------------------------------------------------------------- AS low-flow paths


@pytest.mark.parametrize("svi, ef, grade, missing_word", [
    (35.0, 49.9, LFLG_R, "dobutamine"),   # SVi exactly 35 is low flow
    (30.0, 30.0, LFLG_R, "dobutamine"),
    (35.0, 50.0, LFLG_P, "calcium"),      # LVEF exactly 50 is preserved
    (25.0, 65.0, LFLG_P, "calcium"),
    (35.01, 30.0, NFLG, "calcium"),       # normal flow: EF irrelevant
    (45.0, 65.0, NFLG, "calcium"),
])
def test_as_low_gradient_paths(svi: float, ef: float, grade: str, missing_word: str) -> None:
    r = aortic_stenosis(vmax_m_s=3.5, mean_gradient_mmhg=30.0, ava_cm2=0.8, sv_index_ml_m2=svi,
                        lvef_percent=ef)
    assert r.grade == grade
    assert r.status == "not_assessable"  # severity needs DSE / CT calcium confirmation
    assert any(missing_word in m for m in r.missing)


def test_as_normal_flow_does_not_need_lvef() -> None:
    r = aortic_stenosis(vmax_m_s=3.5, mean_gradient_mmhg=30.0, ava_cm2=0.8, sv_index_ml_m2=40.0)
    assert r.grade == NFLG
    assert "lvef_percent" not in r.missing


def test_as_low_flow_needs_lvef() -> None:
    r = aortic_stenosis(vmax_m_s=3.5, mean_gradient_mmhg=30.0, ava_cm2=0.8, sv_index_ml_m2=30.0)
    assert r.grade is None and r.status == "not_assessable"
    assert r.missing == ("lvef_percent",)
    assert set(r.possible_grades) == {LFLG_R, LFLG_P}

# --------------------------------------------------------------------------- AS unknowns


def test_as_vmax_severe_alone() -> None:
    r = aortic_stenosis(vmax_m_s=4.5)
    assert (r.grade, r.status, r.missing) == (SEV, "present", ())


def test_as_mean_gradient_severe_alone() -> None:
    r = aortic_stenosis(mean_gradient_mmhg=40.0)
    assert (r.grade, r.status) == (SEV, "present")


def test_as_vmax_moderate_alone_is_not_assessable() -> None:
    r = aortic_stenosis(vmax_m_s=3.5)
    assert r.grade is None and r.status == "not_assessable"
    # 4·3.5² = 49 mmHg: MG ≥ 40 still possible; an AVA < 1 would make it low-gradient severe-area
    assert "mean_gradient_mmhg" in r.missing and "ava_cm2 or ava_index_cm2_m2" in r.missing
    assert SEV in r.possible_grades and "moderate" in r.possible_grades
    assert "mild" not in r.possible_grades


def test_as_vmax_below_316_excludes_high_gradient() -> None:
    # 4·3.1² = 38.4 < 40: MG cannot reach 40, so only the area (and flow/EF) are missing
    r = aortic_stenosis(vmax_m_s=3.1)
    assert "mean_gradient_mmhg" not in r.missing
    assert SEV not in r.possible_grades


def test_as_moderate_decided_without_flow_when_area_not_severe() -> None:
    r = aortic_stenosis(vmax_m_s=3.1, ava_cm2=1.2, ava_index_cm2_m2=0.7)
    assert (r.grade, r.status, r.missing) == ("moderate", "absent", ())


def test_as_moderate_with_mg_unknown_is_undecided() -> None:
    r = aortic_stenosis(vmax_m_s=3.5, ava_cm2=1.2, ava_index_cm2_m2=0.7)
    assert r.grade is None and r.missing == ("mean_gradient_mmhg",)
    assert set(r.possible_grades) == {"moderate", SEV}


def test_as_sclerosis_needs_area() -> None:
    r = aortic_stenosis(vmax_m_s=2.0)
    assert r.grade is None and r.status == "not_assessable"
    assert "ava_cm2 or ava_index_cm2_m2" in r.missing
    r2 = aortic_stenosis(vmax_m_s=2.0, ava_cm2=1.8, ava_index_cm2_m2=1.0)
    assert (r2.grade, r2.status) == (NONE, "absent")
    # AVA 1.8 cm2 alone: at BSA 2.8 m2 the index would be 0.64 (moderate), so the index is asked for
    r3 = aortic_stenosis(vmax_m_s=2.0, ava_cm2=1.8)
    assert r3.grade is None and "ava_index_cm2_m2" in r3.missing
    assert set(r3.possible_grades) == {NONE, "moderate"} and r3.status == "absent"  # severe AS is excluded
    # ... but AVA 2.5 cm2 gives an index above 0.85 at any adult BSA (2.5 / 2.8 = 0.89)
    r4 = aortic_stenosis(vmax_m_s=2.0, ava_cm2=2.5)
    assert (r4.grade, r4.status) == (NONE, "absent")


def test_as_nothing_given() -> None:
    r = aortic_stenosis()
    assert r.grade is None and r.status == "not_assessable"
    assert set(r.missing) >= {"vmax_m_s", "mean_gradient_mmhg", "ava_cm2 or ava_index_cm2_m2"}


def test_as_area_only_severe_needs_gradient_and_flow() -> None:
    r = aortic_stenosis(ava_cm2=0.8)
    assert r.grade is None
    assert {"vmax_m_s", "mean_gradient_mmhg", "sv_index_ml_m2", "lvef_percent"} <= set(r.missing)

# --------------------------------------------------------------------------- AS discordance


def test_as_discordant_velocity_vs_area() -> None:
    r = aortic_stenosis(vmax_m_s=4.2, ava_cm2=1.3)
    assert (r.grade, r.status) == (SEV, "present")
    assert any("discordant" in x and "ava_cm2=1.3" in x for x in r.reasons)
    assert any("area is not in the severe range" in x for x in r.reasons)


def test_as_concordant_has_no_discordance() -> None:
    r = aortic_stenosis(vmax_m_s=4.2, mean_gradient_mmhg=45, ava_cm2=0.8)
    assert r.grade == SEV
    assert not any("discordant" in x for x in r.reasons)


def test_as_inconsistent_mean_exceeds_peak_reported() -> None:
    r = aortic_stenosis(vmax_m_s=3.0, mean_gradient_mmhg=45.0)
    assert r.grade == SEV
    assert any("exceeds the peak gradient" in x for x in r.reasons)


def test_as_to_dict_is_json() -> None:
    d = aortic_stenosis(vmax_m_s=3.5).to_dict()
    assert json.loads(json.dumps(d))["status"] == "not_assessable"
    d["thresholds"]["vmax_m_s"]["severe_min"] = 0.0
    assert AS_THRESHOLDS["vmax_m_s"]["severe_min"] == 4.0

# --------------------------------------------------------------------------- MR


@pytest.mark.parametrize("param, values", [
    ("eroa_mm2", [(19.99, "mild"), (20.0, "moderate"), (39.99, "moderate"), (40.0, "severe")]),
    ("regurgitant_volume_ml", [(29.9, "mild"), (30.0, "moderate"), (59.9, "moderate"), (60.0, "severe")]),
    ("regurgitant_fraction_percent", [(29.9, "mild"), (30.0, "moderate"), (49.9, "moderate"),
                                      (50.0, "severe")]),
    ("vena_contracta_mm", [(2.9, "mild"), (3.0, "moderate"), (6.9, "moderate"), (7.0, "severe")]),
])
@pytest.mark.parametrize("aetiology", ["primary", "secondary", None])
def test_mr_bands(param: str, values: list, aetiology: str | None) -> None:
    for value, grade in values:
        r = mitral_regurgitation(**{param: value}, aetiology=aetiology)
        assert r.grade == grade, (param, value, aetiology)
        assert r.status == ("present" if grade == "severe" else "absent")


def test_mr_secondary_possibly_severe_zone_flagged() -> None:
    r = mitral_regurgitation(eroa_mm2=30.0, aetiology="secondary")
    assert r.grade == "moderate"
    assert any("elliptical" in x for x in r.reasons)
    r2 = mitral_regurgitation(eroa_mm2=29.9, aetiology="secondary")
    assert not any("elliptical" in x for x in r2.reasons)
    r3 = mitral_regurgitation(eroa_mm2=35.0, aetiology="primary")
    assert not any("elliptical" in x for x in r3.reasons)
    r4 = mitral_regurgitation(regurgitant_volume_ml=45.0)  # unknown aetiology → flagged
    assert r4.grade == "moderate" and any("elliptical" in x for x in r4.reasons)


def test_mr_priority_and_discordance() -> None:
    r = mitral_regurgitation(eroa_mm2=45.0, regurgitant_volume_ml=40.0, aetiology="primary")
    assert r.grade == "severe"
    assert any("discordant" in x and "graded by eroa_mm2" in x for x in r.reasons)
    r2 = mitral_regurgitation(regurgitant_fraction_percent=25.0, vena_contracta_mm=8.0)
    assert r2.grade == "mild"
    assert any("discordant" in x for x in r2.reasons)


def test_mr_nothing_given() -> None:
    r = mitral_regurgitation(aetiology="primary")
    assert r.grade is None and r.status == "not_assessable"
    assert set(r.missing) == {"eroa_mm2", "regurgitant_volume_ml", "regurgitant_fraction_percent",
                              "vena_contracta_mm"}


def test_mr_table_and_pisa_chain() -> None:
    assert MR_THRESHOLDS["primary"]["eroa_mm2"] == {"severe_min": 40.0, "mild_below": 20.0}
    eroa = pisa_eroa_mm2(10, 40, 5)  # 50.3 mm²
    rvol = pisa_regurgitant_volume_ml(eroa, 150)  # 75.4 mL
    r = mitral_regurgitation(eroa_mm2=eroa, regurgitant_volume_ml=rvol, aetiology="primary")
    assert r.grade == "severe" and not any("discordant" in x for x in r.reasons)
    assert json.loads(json.dumps(r.to_dict()))["grade"] == "severe"


def test_mr_unknown_aetiology_answers_only_where_tables_agree(monkeypatch) -> None:
    # The shipped tables agree for every value; with a hypothetical lower secondary cut-off the
    # disagreement zone must become not assessable, missing the aetiology.
    monkeypatch.setitem(MR_THRESHOLDS["secondary"]["eroa_mm2"], "severe_min", 30.0)
    r = mitral_regurgitation(eroa_mm2=35.0)
    assert r.grade is None and r.status == "not_assessable" and r.missing == ("aetiology",)
    assert set(r.possible_grades) == {"moderate", "severe"}
    assert mitral_regurgitation(eroa_mm2=45.0).grade == "severe"
    assert mitral_regurgitation(eroa_mm2=25.0).grade == "moderate"

"""Valve haemodynamics from Doppler echocardiography and guideline grading of AS and MR.

Formulas (units in every name; numpy-vectorised, scalars in → float out)
-----------------------------------------------------------------------
* :func:`rvsp_mmhg` — simplified Bernoulli, ``RVSP = 4 v_TR² + RAP`` (mmHg, v in m/s).
  The right-atrial pressure is **required**: there is no default, because any default
  (5, 8, 10 mmHg …) would assert a clinical fact the caller did not measure; a missing
  (``None``) RAP raises :class:`~heartprint.errors.InvalidInputError`.
* :func:`stroke_volume_lvot` — ``SV = π (d/2)² · VTI_LVOT`` (mL; d in mm converted to cm).
* :func:`continuity_ava_cm2` — continuity equation ``AVA = π (d/2)² · VTI_LVOT / VTI_AV``.
* :func:`dimensionless_index` — ``VTI_LVOT / VTI_AV``.
* :func:`mean_gradient_from_velocities` — mean over the ejection of ``4 v(t)²`` (mmHg).
* :func:`pisa_eroa_mm2` — ``EROA = 2π r² · V_alias / V_max`` (mm²).
* :func:`pisa_regurgitant_volume_ml` — ``RVol = EROA · VTI_MR`` (mL).

Gradings (:func:`aortic_stenosis`, :func:`mitral_regurgitation`)
------------------------------------------------------------------
Defined in the neutral :mod:`heartprint.guidelines.valves` (so that :mod:`heartprint.clinical`
grades with the same thresholds without importing this room) and re-exported here unchanged.
Each returns a :class:`ValveGrading` with ``grade`` (``None`` when not decided),
``status`` ("present" / "absent" / "not_assessable", about *severe* disease), ``possible_grades``,
``inputs``, ``missing``, ``reasons`` and ``citation``. A grade is returned only when it
holds for every value the inputs that were not given could take ("unknown is never
no"); otherwise ``grade`` is ``None``, ``possible_grades`` lists what remains possible and
``missing`` names what would decide it.

Thresholds are in the single tables :data:`AS_THRESHOLDS` and :data:`MR_THRESHOLDS`; each
entry says whether it was verified with the search tool (✅S, with where) or is from
memory (⚠M).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from heartprint.errors import InvalidInputError
from heartprint.guidelines.valves import (
    AS_CITATION,
    AS_THRESHOLDS,
    MR_CITATION,
    MR_PRIORITY,
    MR_THRESHOLDS,
    ValveGrading,
    aortic_stenosis,
    mitral_regurgitation,
)
from heartprint.guidelines.valves import checked_array as _arr

__all__ = [
    "AS_CITATION", "AS_THRESHOLDS", "MR_CITATION", "MR_PRIORITY", "MR_THRESHOLDS", "ValveGrading",
    "aortic_stenosis", "continuity_ava_cm2", "dimensionless_index", "mean_gradient_from_velocities",
    "mitral_regurgitation", "pisa_eroa_mm2", "pisa_regurgitant_volume_ml", "rvsp_mmhg",
    "stroke_volume_lvot",
]


def _out(a: np.ndarray) -> float | np.ndarray:
    return float(a) if a.ndim == 0 else a


# --------------------------------------------------------------------------------------------
# Formulas
# --------------------------------------------------------------------------------------------

def rvsp_mmhg(tr_vmax_m_s: Any, ra_pressure_mmhg: Any) -> float | np.ndarray:
    """Right-ventricular systolic pressure (mmHg) = 4·v² + RAP (simplified Bernoulli).

    ``tr_vmax_m_s``: peak tricuspid-regurgitation velocity (m/s, ≥ 0).
    ``ra_pressure_mmhg``: right-atrial pressure (mmHg, ≥ 0) — required, no default; ``None``
    raises :class:`InvalidInputError` (an assumed RAP would be an unmeasured clinical fact).
    """
    v = _arr("tr_vmax_m_s", tr_vmax_m_s, allow_zero=True, upper=10.0)
    if ra_pressure_mmhg is None:
        raise InvalidInputError("ra_pressure_mmhg is required (got None); expected the right-atrial "
                                "pressure in mmHg (e.g. estimated from IVC size and collapse)")
    rap = _arr("ra_pressure_mmhg", ra_pressure_mmhg, allow_zero=True, upper=50.0)
    return _out(4.0 * v ** 2 + rap)


def stroke_volume_lvot(lvot_diameter_mm: Any, lvot_vti_cm: Any) -> float | np.ndarray:
    """Stroke volume (mL) = π (d/2)² · VTI, d = LVOT diameter (mm → cm), VTI in cm."""
    d_cm = _arr("lvot_diameter_mm", lvot_diameter_mm, upper=60.0) / 10.0
    vti = _arr("lvot_vti_cm", lvot_vti_cm, upper=100.0)
    return _out(np.pi * (d_cm / 2.0) ** 2 * vti)


def continuity_ava_cm2(lvot_diameter_mm: Any, lvot_vti_cm: Any, av_vti_cm: Any) -> float | np.ndarray:
    """Aortic valve area (cm²) by the continuity equation = π (d/2)² · VTI_LVOT / VTI_AV."""
    sv = np.asarray(stroke_volume_lvot(lvot_diameter_mm, lvot_vti_cm))
    av = _arr("av_vti_cm", av_vti_cm, upper=300.0)
    return _out(sv / av)


def dimensionless_index(lvot_vti_cm: Any, av_vti_cm: Any) -> float | np.ndarray:
    """Dimensionless index (velocity-ratio by VTI, unitless) = VTI_LVOT / VTI_AV."""
    lv = _arr("lvot_vti_cm", lvot_vti_cm, upper=100.0)
    av = _arr("av_vti_cm", av_vti_cm, upper=300.0)
    return _out(lv / av)


def mean_gradient_from_velocities(velocities_m_s: Any) -> float:
    """Mean transvalvular gradient (mmHg) = mean over samples of 4 v(t)² (v in m/s).

    ``velocities_m_s``: the CW-Doppler envelope sampled evenly over the ejection period
    (1-D, ≥ 1 sample; the sign is ignored). Note: the mean of 4v² is not 4·(mean v)².
    """
    v = np.asarray(velocities_m_s, dtype=float) if velocities_m_s is not None else None
    if v is None or v.ndim != 1 or v.size == 0:
        raise InvalidInputError(f"velocities_m_s={velocities_m_s!r}; expected a non-empty 1-D sequence (m/s)")
    v = _arr("velocities_m_s", np.abs(v), allow_zero=True, upper=10.0)
    return float(np.mean(4.0 * v ** 2))


def pisa_eroa_mm2(radius_mm: Any, aliasing_velocity_cm_s: Any, peak_velocity_m_s: Any) -> float | np.ndarray:
    """Effective regurgitant orifice area by PISA (mm²) = 2π r² · Va / Vmax.

    ``radius_mm``: PISA radius (mm); ``aliasing_velocity_cm_s``: Nyquist/aliasing velocity
    (cm/s); ``peak_velocity_m_s``: peak CW regurgitant velocity (m/s). Velocities are put in
    the same unit (mm/s) before the ratio.
    """
    r = _arr("radius_mm", radius_mm, upper=50.0)
    va = _arr("aliasing_velocity_cm_s", aliasing_velocity_cm_s, upper=200.0) * 10.0  # mm/s
    vmax = _arr("peak_velocity_m_s", peak_velocity_m_s, upper=10.0) * 1000.0  # mm/s
    if np.any(va >= vmax):
        raise InvalidInputError(f"aliasing_velocity_cm_s={aliasing_velocity_cm_s!r} is not below "
                                f"peak_velocity_m_s={peak_velocity_m_s!r}; expected Va < Vmax")
    return _out(2.0 * np.pi * r ** 2 * va / vmax)


def pisa_regurgitant_volume_ml(eroa_mm2: Any, mr_vti_cm: Any) -> float | np.ndarray:
    """Regurgitant volume (mL) = EROA (mm² → cm², /100) · VTI of the MR jet (cm)."""
    e = _arr("eroa_mm2", eroa_mm2, upper=500.0)
    vti = _arr("mr_vti_cm", mr_vti_cm, upper=400.0)
    return _out(e / 100.0 * vti)

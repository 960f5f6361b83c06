"""Myocardial extracellular volume fraction (ECV) from native and post-contrast T1.

    ECV = (1 − Hct) · ΔR1_myo / ΔR1_blood,   ΔR1 = 1/T1_post − 1/T1_native

Source: Moon JC, Messroghli DR, Kellman P, et al. Myocardial T1 mapping and extracellular
volume quantification: a Society for Cardiovascular Magnetic Resonance (SCMR) and CMR
Working Group of the European Society of Cardiology consensus statement. *J Cardiovasc Magn
Reson* 2013;15:92. doi:10.1186/1532-429X-15-92 (citation verified; formula ✅S in
clinical_reference.md §9). Worked check: Hct 0.42, myocardium 1000 → 450 ms, blood
1600 → 300 ms gives ECV 0.2617.

Synthetic ECV (haematocrit estimated from blood T1, Treibel TA et al., JCMR 2016) is **not**
offered: its regression coefficients could not be verified against the paper here, and they
are sequence- and field-specific.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from heartprint.errors import InvalidInputError

__all__ = ["ECV_REFERENCE", "check_haematocrit", "ecv_fraction", "ecv_map"]

ECV_REFERENCE = (
    "Moon JC et al. Myocardial T1 mapping and extracellular volume quantification: SCMR and CMR Working "
    "Group of the ESC consensus statement. J Cardiovasc Magn Reson 2013;15:92. doi:10.1186/1532-429X-15-92"
)
_HCT_RANGE = (0.1, 0.7)


def check_haematocrit(hct: Any, *, name: str = "haematocrit") -> float:
    """Haematocrit as a fraction; accepts 0.1–0.7 or 10–70 (%).

    Raises
    ------
    InvalidInputError
        Missing, non-finite, negative, or outside 0.1–0.7 (fraction) / 10–70 (%).
    """
    try:
        v = float(hct)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name}={hct!r}: expected a number (fraction 0.1-0.7 or percent 10-70)") from exc
    if not np.isfinite(v) or v < 0:
        raise InvalidInputError(f"{name}={hct!r}: expected a haematocrit >= 0 (fraction 0.1-0.7 or percent 10-70)")
    if _HCT_RANGE[0] <= v <= _HCT_RANGE[1]:
        return v
    if 100 * _HCT_RANGE[0] <= v <= 100 * _HCT_RANGE[1]:
        return v / 100.0
    raise InvalidInputError(f"{name}={hct!r}: outside the plausible range 0.1-0.7 (fraction) or 10-70 (%)")


def _t1(v: Any, name: str) -> np.ndarray:
    arr = np.asarray(v, dtype=float)
    if arr.size == 0:
        raise InvalidInputError(f"{name} is empty: expected T1 in ms")
    finite = arr[np.isfinite(arr)]
    if finite.size and np.any(finite <= 0):
        raise InvalidInputError(f"{name} has values <= 0 ms (min {finite.min():g}): expected T1 in ms > 0")
    return arr


def ecv_fraction(t1_myo_native_ms: Any, t1_myo_post_ms: Any, t1_blood_native_ms: float, t1_blood_post_ms: float,
                 haematocrit: float) -> np.ndarray | float:
    """ECV (fraction 0–1) per Moon et al. 2013; myocardial T1 may be scalars or maps (ms).

    Raises :class:`InvalidInputError` for a haematocrit out of range (see
    :func:`check_haematocrit`), T1 ≤ 0, or a blood T1 that does not shorten after contrast.
    """
    hct = check_haematocrit(haematocrit)
    myo_n = _t1(t1_myo_native_ms, "t1_myo_native_ms")
    myo_p = _t1(t1_myo_post_ms, "t1_myo_post_ms")
    bn = float(_t1(t1_blood_native_ms, "t1_blood_native_ms"))
    bp = float(_t1(t1_blood_post_ms, "t1_blood_post_ms"))
    if not bp < bn:
        raise InvalidInputError(
            f"t1_blood_post_ms={bp:g} ms is not shorter than t1_blood_native_ms={bn:g} ms: no contrast effect"
        )
    d_blood = 1.0 / bp - 1.0 / bn
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (1.0 - hct) * (1.0 / myo_p - 1.0 / myo_n) / d_blood
    return float(out) if np.ndim(out) == 0 else out


def ecv_map(t1_native_ms: np.ndarray, t1_post_ms: np.ndarray, t1_blood_native_ms: float, t1_blood_post_ms: float,
            haematocrit: float) -> np.ndarray:
    """Pixel-wise ECV map (fraction) from co-registered native and post-contrast T1 maps of one grid."""
    a = np.asarray(t1_native_ms, dtype=float)
    b = np.asarray(t1_post_ms, dtype=float)
    if a.shape != b.shape:
        raise InvalidInputError(f"t1_native_ms shape {a.shape} does not match t1_post_ms shape {b.shape}")
    return np.asarray(ecv_fraction(a, b, t1_blood_native_ms, t1_blood_post_ms, haematocrit))

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

__all__ = ["ECV_REFERENCE", "analyse_ecv", "check_haematocrit", "ecv_fraction", "ecv_map"]

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


def analyse_ecv(
    t1_native_ms: np.ndarray,
    t1_post_ms: np.ndarray,
    labels: np.ndarray,
    affine: np.ndarray,
    haematocrit: float,
    *,
    levels: dict[int, str] | None = None,
    insertion_points_lps=None,
) -> dict[str, Any]:
    """ECV per AHA segment and globally from co-registered native and post-contrast T1 maps.

    ``t1_native_ms``, ``t1_post_ms``: ``(z, y, x)`` maps in ms on one grid with ``labels``
    (heartprint convention) and ``affine``. Blood T1 = mean of the LV cavity eroded by 2
    pixels on each map; the pixel-wise ECV map is summarised in the mid-wall third (see
    :func:`heartprint.cmr.map_region_summary`). Values are reported in % (UCUM ``%``).
    """
    from heartprint import DISCLAIMER
    from heartprint.cmr._mapping import map_region_summary
    from heartprint.measure import Measurement

    hct = check_haematocrit(haematocrit)
    lab = np.asarray(labels)
    native = np.asarray(t1_native_ms, float)
    post = np.asarray(t1_post_ms, float)
    if native.shape != lab.shape or post.shape != lab.shape:
        from heartprint.errors import GeometryError

        raise GeometryError(f"T1 maps {native.shape}/{post.shape} and labels {lab.shape} are not on one grid")
    bn = map_region_summary(native, lab, affine, levels=levels, insertion_points_lps=insertion_points_lps)["blood"]["mean"]
    bp = map_region_summary(post, lab, affine, levels=levels, insertion_points_lps=insertion_points_lps)["blood"]["mean"]
    if bn is None or bp is None:
        raise InvalidInputError("no LV blood pool (label 1) left after a 2-pixel erosion: blood T1 cannot be measured")
    ecv = 100.0 * ecv_map(native, post, bn, bp, hct)
    summ = map_region_summary(ecv, lab, affine, levels=levels, insertion_points_lps=insertion_points_lps)
    ms = []
    if summ["global"]["mean"] is not None:
        ms.append(Measurement(code="ecv", name="Extracellular volume fraction (global, mid-wall ROI)",
                              value=round(summ["global"]["mean"], 3), unit="%", method=f"pixel-wise ECV, Hct {hct:g}",
                              reference=ECV_REFERENCE, modality="MR"))
    for s, d in summ["segments"].items():
        ms.append(Measurement(code="ecv", name=f"ECV, segment {s}", value=round(d["mean"], 3), unit="%",
                              method=f"pixel-wise ECV, Hct {hct:g}", reference=ECV_REFERENCE, segment=int(s), modality="MR"))
    return {"schema": "heartprint.cmr.ecv/1", "disclaimer": DISCLAIMER, "haematocrit": hct,
            "t1_blood_native_ms": bn, "t1_blood_post_ms": bp, "unit": "%", "reference": ECV_REFERENCE,
            "synthetic_ecv": "not offered: published synthetic-haematocrit coefficients not verified", **summ,
            "measurements": [m.to_dict() for m in ms]}

"""Body surface area from height and weight.

Formulas (H in cm, W in kg, BSA in m²); checked against the worked table in
``clinical_reference.md`` §11 (status ✅S there: CRAN *admiral* ``compute_bsa`` docs):

* Mosteller RD. Simplified calculation of body-surface area. *N Engl J Med*
  1987;317:1098. doi:10.1056/NEJM198710223171717 — BSA = √(H·W/3600).
* Du Bois D, Du Bois EF. A formula to estimate the approximate surface area if height and
  weight be known. *Arch Intern Med* 1916;17:863–871 — BSA = 0.007184·H^0.725·W^0.425.
"""

from __future__ import annotations

import math
from typing import Literal

from heartprint.errors import InvalidInputError

__all__ = ["BSA_FORMULAS", "HEIGHT_RANGE_CM", "WEIGHT_RANGE_KG", "body_surface_area", "bsa_dubois", "bsa_mosteller"]

#: Accepted input ranges (plausibility checks, not clinical limits).
HEIGHT_RANGE_CM: tuple[float, float] = (50.0, 250.0)
WEIGHT_RANGE_KG: tuple[float, float] = (2.0, 400.0)

#: Formula name → citation.
BSA_FORMULAS: dict[str, str] = {
    "mosteller": "Mosteller RD. N Engl J Med 1987;317:1098. doi:10.1056/NEJM198710223171717",
    "dubois": "Du Bois D, Du Bois EF. Arch Intern Med 1916;17:863-871",
}


def _check(name: str, value: float, rng: tuple[float, float], unit: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name}={value!r}: expected a number in {unit}") from exc
    if not math.isfinite(v) or not (rng[0] <= v <= rng[1]):
        raise InvalidInputError(f"{name}={value!r} {unit}: expected {rng[0]:g}–{rng[1]:g} {unit}")
    return v


def bsa_mosteller(height_cm: float, weight_kg: float) -> float:
    """Mosteller BSA (m²) = √(height_cm · weight_kg / 3600). Mosteller, NEJM 1987;317:1098."""
    h = _check("height_cm", height_cm, HEIGHT_RANGE_CM, "cm")
    w = _check("weight_kg", weight_kg, WEIGHT_RANGE_KG, "kg")
    return math.sqrt(h * w / 3600.0)


def bsa_dubois(height_cm: float, weight_kg: float) -> float:
    """DuBois BSA (m²) = 0.007184 · height_cm^0.725 · weight_kg^0.425. Arch Intern Med 1916;17:863."""
    h = _check("height_cm", height_cm, HEIGHT_RANGE_CM, "cm")
    w = _check("weight_kg", weight_kg, WEIGHT_RANGE_KG, "kg")
    return 0.007184 * h**0.725 * w**0.425


def body_surface_area(height_cm: float, weight_kg: float, *, formula: Literal["mosteller", "dubois"] = "mosteller") -> float:
    """BSA in m² by the named formula (``"mosteller"`` default, or ``"dubois"``)."""
    if formula == "mosteller":
        return bsa_mosteller(height_cm, weight_kg)
    if formula == "dubois":
        return bsa_dubois(height_cm, weight_kg)
    raise InvalidInputError(f"formula={formula!r}: expected one of {sorted(BSA_FORMULAS)}")

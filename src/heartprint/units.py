"""Unit validation and conversion for values entered into a phenotype.

Every value enters with a unit, is converted to its concept's canonical UCUM unit
(:data:`heartprint.concepts.CONCEPTS`) and is range-checked there. A value without a unit
(where the quantity has one), an unknown unit, or a converted value outside the concept's
plausibility limits raises :class:`~heartprint.errors.InvalidInputError` naming the field,
the value, the unit and the expected range.

Conversion factors (``canonical = entered × factor``) are data with their source:

============================  ===============================  ============  ===========================================
quantity                      from → to                        factor        source / status
============================  ===============================  ============  ===========================================
cholesterol (total/LDL/HDL)   mg/dL → mmol/L                   1/38.67       molar mass of cholesterol 386.65 g/mol
                                                                             (10/386.65 = 0.02586); ✅S: several
                                                                             clinical unit converters and reference
                                                                             pages agree on 38.67 for total, LDL, HDL
creatinine                    mg/dL → µmol/L                   88.4          molar mass 113.12 g/mol (10 000/113.12 =
                                                                             88.4); ⚠M (standard SI conversion, not
                                                                             checked against a source here)
glucose                       mg/dL → mmol/L                   1/18.0        molar mass 180.16 g/mol (18.016); ⚠M
NT-proBNP                     ng/L → pg/mL                     1             identity (1 ng/L = 1 pg/mL, exact)
NT-proBNP                     pmol/L → pg/mL                   8.457         molecular mass ≈ 8457 Da; ⚠M
BNP                           ng/L → pg/mL                     1             identity (exact)
BNP                           pmol/L → pg/mL                   3.464         molecular mass ≈ 3464 Da; ⚠M
haematocrit                   fraction (1, L/L) → %            100           exact
HbA1c                         mmol/mol (IFCC) → % (NGSP)       0.09148·x +   IFCC–NGSP master equation; ⚠M
                                                               2.152
height                        [in_i] → cm                      2.54          exact (international inch)
weight                        [lb_av] → kg                     0.45359237    exact (avoirdupois pound)
============================  ===============================  ============  ===========================================

Generic SI prefixes (mL ↔ L, ms ↔ s, mm ↔ cm ↔ m, cm/s ↔ m/s) and fraction ↔ percent
(``1`` → ``%`` ×100, for EF, ECV, stenosis) are exact. Areas: ``cm2`` (UCUM square centimetre, the
unit of the echo valve and chamber areas: AVA, LVOT area, LA/RA area) ↔ ``mm2`` (EROA, as the ESC
2021 valve tables write it) by the exact factor 100 (1 cm = 10 mm), both ways, applied to the value
as written with exact fractions and rounded once (0.4 cm² is 40 mm² and 80 mm² is 0.8 cm² to the last
bit, so a value entered at a grading threshold stays on it); an indexed area ``cm2/m2`` (AVA index)
converts from ``mm2/m2`` the same way.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any, Callable

from heartprint.concepts import CONCEPTS, concept
from heartprint.errors import InvalidInputError

__all__ = [
    "CHOLESTEROL_MG_DL_PER_MMOL_L", "CREATININE_UMOL_L_PER_MG_DL", "GLUCOSE_MG_DL_PER_MMOL_L",
    "NT_PROBNP_PG_ML_PER_PMOL_L", "BNP_PG_ML_PER_PMOL_L", "INCH_CM", "POUND_KG",
    "normalize_unit", "convert", "to_canonical", "parse_quantity", "accepted_units",
]

CHOLESTEROL_MG_DL_PER_MMOL_L = 38.67
CREATININE_UMOL_L_PER_MG_DL = 88.4
GLUCOSE_MG_DL_PER_MMOL_L = 18.0
NT_PROBNP_PG_ML_PER_PMOL_L = 8.457  # ⚠M
BNP_PG_ML_PER_PMOL_L = 3.464  # ⚠M
INCH_CM = 2.54
POUND_KG = 0.45359237

#: Spellings users type → UCUM. Keys are matched case-sensitively first, then lower-cased.
_ALIASES: dict[str, str] = {
    "ml": "mL", "l": "L", "ml/m2": "mL/m2", "ml/m²": "mL/m2", "g/m²": "g/m2", "m²": "m2",
    "mmhg": "mm[Hg]", "mm hg": "mm[Hg]", "µmol/l": "umol/L", "μmol/l": "umol/L", "umol/l": "umol/L",
    "mmol/l": "mmol/L", "mg/dl": "mg/dL", "pg/ml": "pg/mL", "ng/l": "ng/L", "pmol/l": "pmol/L",
    "ng/ml": "ng/mL", "mmol/mol": "mmol/mol", "g/dl": "g/dL",
    "ml/min/1.73m2": "mL/min/{1.73_m2}", "ml/min/1.73 m2": "mL/min/{1.73_m2}", "ml/min/1.73m²": "mL/min/{1.73_m2}",
    "ml/min/{1.73_m2}": "mL/min/{1.73_m2}",
    "in": "[in_i]", "inch": "[in_i]", "inches": "[in_i]", "[in_i]": "[in_i]",
    "lb": "[lb_av]", "lbs": "[lb_av]", "pound": "[lb_av]", "pounds": "[lb_av]", "[lb_av]": "[lb_av]",
    "y": "a", "yr": "a", "yrs": "a", "year": "a", "years": "a", "a": "a",
    "bpm": "/min", "/min": "/min", "1/min": "/min", "beats/min": "/min",
    "fraction": "1", "ratio": "1", "1": "1", "l/l": "1", "percent": "%", "%": "%",
    "kg/m2": "kg/m2", "kg/m²": "kg/m2", "cm/s": "cm/s", "m/s": "m/s", "mm": "mm", "cm": "cm", "m": "m",
    "ms": "ms", "s": "s", "kg": "kg", "g": "g", "hu": "HU", "ml/min/g": "mL/min/g", "l/min": "L/min",
    "l/min/m2": "L/min/m2", "mm3": "mm3", "ml/s": "mL/s",
    "cm2": "cm2", "cm²": "cm2", "cm^2": "cm2", "mm2": "mm2", "mm²": "mm2", "mm^2": "mm2",
    "cm2/m2": "cm2/m2", "cm²/m²": "cm2/m2", "mm2/m2": "mm2/m2", "mm²/m²": "mm2/m2",
}

# Generic exact conversions: (from, to) → factor.
_GENERIC: dict[tuple[str, str], float] = {
    ("L", "mL"): 1000.0, ("s", "ms"): 1000.0, ("cm", "mm"): 10.0, ("m", "mm"): 1000.0, ("m", "cm"): 100.0,
    ("mm", "cm"): 0.1, ("m/s", "cm/s"): 100.0, ("cm/s", "m/s"): 0.01, ("1", "%"): 100.0, ("g", "kg"): 0.001,
    ("[in_i]", "cm"): INCH_CM, ("[lb_av]", "kg"): POUND_KG, ("ng/L", "pg/mL"): 1.0,
}

#: Exact decimal conversions (areas): (from, to) → power of ten; convert() scales the value as written
#: exactly (fractions) in either direction, so a threshold entered in either unit lands on the threshold.
_DECIMAL: dict[tuple[str, str], int] = {("cm2", "mm2"): 100, ("cm2/m2", "mm2/m2"): 100}

_CHOL = {("mg/dL", "mmol/L"): 1.0 / CHOLESTEROL_MG_DL_PER_MMOL_L}

#: Analyte-specific conversions: concept code → {(from, to): factor or function}.
_SPECIFIC: dict[str, dict[tuple[str, str], float | Callable[[float], float]]] = {
    "ldl_c": _CHOL, "hdl_c": _CHOL, "total_cholesterol": _CHOL,
    "creatinine": {("mg/dL", "umol/L"): CREATININE_UMOL_L_PER_MG_DL},
    "glucose": {("mg/dL", "mmol/L"): 1.0 / GLUCOSE_MG_DL_PER_MMOL_L},
    "nt_probnp": {("pmol/L", "pg/mL"): NT_PROBNP_PG_ML_PER_PMOL_L},
    "bnp": {("pmol/L", "pg/mL"): BNP_PG_ML_PER_PMOL_L},
    "hba1c": {("mmol/mol", "%"): lambda x: 0.09148 * x + 2.152},
}


def normalize_unit(unit: Any, *, field: str = "unit") -> str:
    """UCUM spelling of ``unit`` (``"mmHg"`` → ``"mm[Hg]"``, ``"µmol/L"`` → ``"umol/L"``)."""
    if not isinstance(unit, str) or not unit.strip():
        raise InvalidInputError(f"{field}: unit={unit!r}: expected a unit string such as 'mL' or 'pg/mL'")
    u = unit.strip()
    if u in _ALIASES.values():
        return u
    key = u.lower()
    if key in _ALIASES:
        return _ALIASES[key]
    from heartprint.measure import UCUM_UNITS

    if u in UCUM_UNITS:
        return u
    raise InvalidInputError(f"{field}: unit={unit!r} is not a recognised unit")


def accepted_units(code: str) -> list[str]:
    """Units in which ``code`` may be entered (its canonical unit first)."""
    canonical = concept(code).unit
    out = [canonical]
    for table in (_GENERIC, _DECIMAL, _SPECIFIC.get(code, {})):
        for (src, dst), f in table.items():
            if dst == canonical and src not in out:
                out.append(src)
            elif src == canonical and not callable(f) and dst not in out:  # convert() divides back
                out.append(dst)
    return out


def convert(value: float, from_unit: str, to_unit: str, *, code: str | None = None) -> float:
    """Convert ``value`` from ``from_unit`` to ``to_unit`` (UCUM or an alias).

    ``code`` (a concept key) selects analyte-specific factors (mass ↔ molar concentration).
    Raises :class:`InvalidInputError` if no conversion is known.
    """
    src, dst = normalize_unit(from_unit), normalize_unit(to_unit)
    if src == dst:
        return float(value)
    if (src, dst) in _DECIMAL or (dst, src) in _DECIMAL:
        # the value as written (its shortest decimal) times an exact power of ten, rounded once:
        # 0.4 cm2 is 40 mm2, not 40.00000000000001 (the product of the binary 0.4 and 100)
        f = Fraction(_DECIMAL[(src, dst)]) if (src, dst) in _DECIMAL else 1 / Fraction(_DECIMAL[(dst, src)])
        return float(Fraction(repr(float(value))) * f)
    for table in (_SPECIFIC.get(code or "", {}), _GENERIC):
        if (src, dst) in table:
            f = table[(src, dst)]
            return float(f(value)) if callable(f) else float(value) * f
        if (dst, src) in table and not callable(table[(dst, src)]):
            return float(value) / table[(dst, src)]
    what = f" for {CONCEPTS[code].name}" if code in CONCEPTS else ""
    raise InvalidInputError(f"cannot convert {value!r} {from_unit}{what} to {to_unit}: no conversion known")


_QTY = re.compile(r"^\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")


def parse_quantity(raw: Any, *, field: str) -> tuple[float, str | None]:
    """``(value, unit)`` from ``{"value": v, "unit": u}``, ``"175 cm"``, or a bare number (unit None)."""
    if isinstance(raw, dict):
        if "value" not in raw:
            raise InvalidInputError(f"{field}={raw!r}: expected {{'value': number, 'unit': str}}")
        value, unit = raw["value"], raw.get("unit")
    elif isinstance(raw, str):
        m = _QTY.match(raw)
        if not m:
            raise InvalidInputError(f"{field}={raw!r}: expected a number with a unit, e.g. '175 cm'")
        value, unit = float(m.group(1)), (m.group(2) or None)
    else:
        value, unit = raw, None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        raise InvalidInputError(f"{field}={value!r}: expected a finite number")
    return float(value), unit


def to_canonical(code: str, value: Any, unit: str | None, *, field: str | None = None) -> tuple[float, str]:
    """Validate ``value`` in ``unit`` for concept ``code`` and return ``(value, canonical_unit)``.

    Raises
    ------
    InvalidInputError
        The message names the field, the value and unit, and the accepted units or range:
        unit missing (for a quantity that has one), unit unknown or not convertible,
        or converted value outside the concept's plausible range.
    """
    c = concept(code)
    name = field or code
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        raise InvalidInputError(f"{name}={value!r}: expected a finite number in {c.unit}")
    if unit is None or (isinstance(unit, str) and not unit.strip()):
        if c.unit != "1":
            raise InvalidInputError(
                f"{name}={value!r} has no unit: expected a unit for {c.name}, one of {accepted_units(code)} "
                f"(plausible range {c.plausible[0]:g}–{c.plausible[1]:g} {c.unit})"
            )
        unit = "1"
    try:
        u = normalize_unit(unit, field=name)
        v = convert(float(value), u, c.unit, code=code)
    except InvalidInputError:
        raise InvalidInputError(
            f"{name}={value!r} {unit}: unit not accepted for {c.name}; expected one of {accepted_units(code)}"
        ) from None
    lo, hi = c.plausible
    if not lo <= v <= hi:
        shown = f"{value!r} {unit}" + (f" (= {v:.4g} {c.unit})" if u != c.unit else "")
        raise InvalidInputError(f"{name}={shown}: outside the plausible range {lo:g}–{hi:g} {c.unit} for {c.name}")
    return v, c.unit

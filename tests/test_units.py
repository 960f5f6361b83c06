import math

import pytest

from heartprint.errors import InvalidInputError
from heartprint.units import (
    CHOLESTEROL_MG_DL_PER_MMOL_L, CREATININE_UMOL_L_PER_MG_DL, GLUCOSE_MG_DL_PER_MMOL_L, accepted_units, convert,
    normalize_unit, parse_quantity, to_canonical,
)


@pytest.mark.parametrize("code, value, unit, expected, canonical", [
    ("ldl_c", 38.67, "mg/dL", 1.0, "mmol/L"),              # 1 mmol/L = 38.67 mg/dL
    ("total_cholesterol", 200, "mg/dL", 200 / 38.67, "mmol/L"),
    ("creatinine", 1.0, "mg/dL", 88.4, "umol/L"),
    ("creatinine", 88.4, "µmol/L", 88.4, "umol/L"),
    ("glucose", 90, "mg/dL", 5.0, "mmol/L"),
    ("nt_probnp", 450, "ng/L", 450.0, "pg/mL"),             # 1 ng/L = 1 pg/mL
    ("nt_probnp", 10, "pmol/L", 84.57, "pg/mL"),
    ("haematocrit", 0.42, "1", 42.0, "%"),
    ("haematocrit", 0.42, "L/L", 42.0, "%"),
    ("haematocrit", 42, "%", 42.0, "%"),
    ("height", 70, "in", 177.8, "cm"),
    ("height", 1.75, "m", 175.0, "cm"),
    ("weight", 100, "lb", 45.359237, "kg"),
    ("lv_ef", 0.55, "1", 55.0, "%"),
    ("ecv", 0.31, "fraction", 31.0, "%"),
    ("pasp", 40, "mmHg", 40.0, "mm[Hg]"),
    ("tr_vmax", 280, "cm/s", 2.8, "m/s"),
    ("native_t1", 1.05, "s", 1050.0, "ms"),
])
def test_known_conversions(code, value, unit, expected, canonical):
    v, u = to_canonical(code, value, unit)
    assert u == canonical
    assert v == pytest.approx(expected, rel=1e-12)


def test_factors_are_the_documented_ones():
    assert CHOLESTEROL_MG_DL_PER_MMOL_L == 38.67
    assert CREATININE_UMOL_L_PER_MG_DL == 88.4
    assert GLUCOSE_MG_DL_PER_MMOL_L == 18.0


@pytest.mark.parametrize("code, a, b, x", [
    ("ldl_c", "mmol/L", "mg/dL", 3.1), ("creatinine", "umol/L", "mg/dL", 97.0), ("glucose", "mmol/L", "mg/dL", 6.3),
    ("nt_probnp", "pg/mL", "pmol/L", 1234.0), ("height", "cm", "[in_i]", 181.0), ("weight", "kg", "[lb_av]", 72.5),
    ("haematocrit", "%", "1", 38.0),
])
def test_round_trips_exact(code, a, b, x):
    y = convert(x, a, b, code=code)
    assert convert(y, b, a, code=code) == pytest.approx(x, rel=1e-14)


def test_unit_aliases():
    assert normalize_unit("mmHg") == "mm[Hg]"
    assert normalize_unit("µmol/l") == "umol/L"
    assert normalize_unit("ml/m2") == "mL/m2"
    assert normalize_unit("bpm") == "/min"
    assert accepted_units("ldl_c") == ["mmol/L", "mg/dL"]


def test_rejects_unitless_value_naming_field_value_and_range():
    with pytest.raises(InvalidInputError) as e:
        to_canonical("nt_probnp", 900, None, field="labs[0] nt_probnp")
    msg = str(e.value)
    assert "labs[0] nt_probnp=900" in msg and "no unit" in msg and "pg/mL" in msg and "0–100000" in msg


def test_rejects_unknown_unit():
    with pytest.raises(InvalidInputError) as e:
        to_canonical("creatinine", 1.2, "furlongs")
    msg = str(e.value)
    assert "creatinine=1.2 furlongs" in msg and "umol/L" in msg and "mg/dL" in msg


def test_rejects_out_of_range_with_converted_value():
    with pytest.raises(InvalidInputError) as e:
        to_canonical("haematocrit", 42, "1", field="hct")  # 42 as a fraction = 4200 %
    msg = str(e.value)
    assert "hct=42 1" in msg and "4200 %" in msg and "10–70 %" in msg
    with pytest.raises(InvalidInputError, match=r"lv_ef=120 %.*1–95 %"):
        to_canonical("lv_ef", 120, "%")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), True, "abc", None])
def test_rejects_non_numbers(bad):
    with pytest.raises(InvalidInputError):
        to_canonical("lv_ef", bad, "%")


def test_wrong_dimension_rejected():
    with pytest.raises(InvalidInputError, match="unit not accepted"):
        to_canonical("ldl_c", 3.0, "pg/mL")


def test_parse_quantity():
    assert parse_quantity("175 cm", field="h") == (175.0, "cm")
    assert parse_quantity({"value": 5, "unit": "mmol/L"}, field="x") == (5.0, "mmol/L")
    assert parse_quantity(67, field="age") == (67.0, None)
    with pytest.raises(InvalidInputError):
        parse_quantity("tall", field="h")
    assert math.isclose(to_canonical("height", *parse_quantity("69 in", field="h"))[0], 175.26)

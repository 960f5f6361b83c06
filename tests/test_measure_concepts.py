import re
from datetime import datetime

import pytest
from pydantic import ValidationError

from heartprint.concepts import CONCEPTS, codings_for, concept
from heartprint.errors import InvalidInputError
from heartprint.measure import UCUM_UNITS, Measurement

CMR_CODES = ["lv_edv", "lv_esv", "lv_sv", "lv_ef", "heart_rate", "lv_co", "lv_mass", "lv_mass_es", "rv_edv", "rv_esv",
             "rv_sv", "rv_ef", "bsa", "lv_edvi", "lv_esvi", "lv_svi", "lv_massi", "rv_edvi", "rv_esvi", "rv_svi", "lv_ci",
             "lv_per", "lv_pfr", "lv_tpfr", "lv_wall_thickness", "lv_max_wall_thickness"]


def test_every_cmr_code_is_a_concept():
    assert not [c for c in CMR_CODES if c not in CONCEPTS]


def test_concept_table_integrity():
    for code, c in CONCEPTS.items():
        assert c.code == code and re.fullmatch(r"[a-z0-9_]+", code)
        assert c.unit in UCUM_UNITS, code
        assert c.plausible[0] < c.plausible[1]
        for coding in c.codings:
            assert coding.system in ("LN", "SCT", "DCM") and coding.verified_by and coding.meaning
            if coding.system == "LN":
                assert re.fullmatch(r"\d{1,6}-\d", coding.value), coding
            else:
                assert re.fullmatch(r"\d+", coding.value), coding


def test_known_verified_codes():
    assert concept("lv_ef").coding_for().value == "10230-1"
    assert concept("lv_ef").coding_for("MR").value == "8811-2"
    assert concept("nt_probnp").coding_for().value == "33762-6"
    assert concept("haematocrit").coding_for().value == "20570-8"
    assert concept("ffr").coding_for().value == "371842003"
    assert concept("bsa").codings == ()  # none verified: left empty, not invented
    assert [c["value"] for c in codings_for("lv_ef", "US")][:2] == ["18043-0", "10230-1"]


def test_unknown_concept():
    with pytest.raises(InvalidInputError, match="not a known concept"):
        concept("lv_magic")


def test_measurement_new_optional_fields_round_trip():
    m = Measurement(code="stenosis", name="Stenosis", value=75, unit="%", modality="CT", time=datetime(2024, 2, 1),
                    z_score=None, vessel="LAD", vessel_segment="proximal", source="1.2.3")
    d = m.to_dict()
    assert d["vessel"] == "LAD" and d["time"].startswith("2024-02-01")
    assert Measurement(**d) == m
    assert m.concept is CONCEPTS["stenosis"]
    # old-style construction still works and drops the new fields from to_dict
    old = Measurement(code="lv_edv", name="LV EDV", value=150.0, unit="mL")
    assert set(old.to_dict()) == {"code", "name", "value", "unit", "method", "reference"}


@pytest.mark.parametrize("bad", [{"modality": "XRAY"}, {"vessel": "D1"}, {"vessel_segment": "ostial"}, {"pattern": "Mid wall"}])
def test_new_fields_validated(bad):
    with pytest.raises(ValidationError):
        Measurement(**({"code": "stenosis", "name": "s", "value": 50.0, "unit": "%"} | bad))

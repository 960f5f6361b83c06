import json

import pytest
from pydantic import ValidationError

from heartprint.measure import Measurement, QCFlag, ReferenceRange, Severity


def test_measurement_round_trip_json():
    m = Measurement(code="lv_edv", name="LV EDV", value=150.0, unit="mL", method="discs", source="1.2.3",
                    reference="x", reference_range=ReferenceRange(low=100, high=200), phase="ED")
    d = m.to_dict()
    assert json.loads(json.dumps(d))["unit"] == "mL"
    assert Measurement(**d) == m


@pytest.mark.parametrize("bad", [{"unit": "ml"}, {"unit": "cc"}, {"code": "LV EDV"}, {"segment": 18}, {"segment": 0}])
def test_measurement_rejects_bad_fields(bad):
    kw = dict(code="lv_edv", name="LV EDV", value=1.0, unit="mL") | bad
    with pytest.raises(ValidationError):
        Measurement(**kw)


def test_reference_range_ordered():
    with pytest.raises(ValidationError):
        ReferenceRange(low=5, high=1)


def test_qcflag():
    f = QCFlag(code="implausible_lv_ef", severity="warning", message="LV EF 90 %", details={"value": 90})
    assert f.severity is Severity.WARNING
    assert f.to_dict()["severity"] == "warning"

"""Issue 20's joint: a vendor's echo SR in a study folder → the pipeline's echo analyser (a series
without pixels, read from its datasets) → measurements the clinical rules read, with RWT and linear
LV mass derived from the vendor's dimensions."""

from __future__ import annotations

import pytest
from _echo_sr_fixtures import DEFAULT_VALUES, write_vendor_echo_sr

from heartprint.pipeline import AnalysisOptions, analyze


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("echo_sr")
    write_vendor_echo_sr(root / "report.dcm", style="ge")
    [res] = list(analyze(root, AnalysisOptions(sex="female", age_years=70)))
    return res


def test_echo_sr_is_analysed_and_feeds_the_rules(study):
    [s] = study.series
    assert s.kind == "sr" and s.status == "analysed", s.message
    v = {m.code: m.value for m in s.measurements if m.segment is None}
    assert v["e_e_prime"] == pytest.approx(DEFAULT_VALUES["e_e_prime"])
    assert v["tr_vmax"] == pytest.approx(DEFAULT_VALUES["tr_vmax"] / 100.0)  # cm/s in the SR → m/s
    ivs, lvid, pw = (10 * DEFAULT_VALUES[k] for k in ("ivsd", "lvidd", "lvpwd"))  # cm → mm
    assert v["rwt"] == pytest.approx(2 * pw / lvid)
    assert v["lv_mass"] == pytest.approx(0.8 * 1.04 * ((ivs + lvid + pw) ** 3 - lvid ** 3) / 1000 + 0.6)
    assert all(m.modality == "US" and m.source == s.series_uid for m in s.measurements)
    # the rules read them: HFA-PEFF no longer asks for RWT (derived) nor for E/e′, TR or LAVI (given)
    [hfa] = [f for f in study.interpretation.not_assessable if f.rule.endswith("hfa_peff")]
    assert not any("RWT" in m or "E/e" in m or "TR" in m for m in hfa.missing), hfa.missing
    assert study.status == "ok"


def test_an_sr_that_is_not_an_echo_report_is_left_alone(tmp_path):
    import pydicom

    path = write_vendor_echo_sr(tmp_path / "other.dcm", style="ge")
    ds = pydicom.dcmread(path)
    ds.ConceptNameCodeSequence[0].CodeValue = "18748-4"  # Diagnostic imaging report, not TID 5200
    ds.ConceptNameCodeSequence[0].CodingSchemeDesignator = "LN"
    ds.save_as(path)
    [res] = list(analyze(tmp_path, AnalysisOptions(interpret=False)))
    [s] = res.series
    assert s.status == "not_analysed" and "not an Adult Echocardiography" in s.message


def test_echo_values_indexed_to_bsa_from_the_run(tmp_path):
    """With height and weight the echo mass and volumes are indexed (Mosteller), and HFA-PEFF no longer
    asks for LVMI."""
    import math

    write_vendor_echo_sr(tmp_path / "report.dcm", style="philips")
    [res] = list(analyze(tmp_path, AnalysisOptions(sex="female", age_years=70, height_cm=165, weight_kg=70)))
    [s] = res.series
    v = {m.code: m.value for m in s.measurements if m.segment is None}
    bsa = math.sqrt(165 * 70 / 3600)
    assert v["lv_massi"] == pytest.approx(v["lv_mass"] / bsa) and v["lv_edvi"] == pytest.approx(v["lv_edv"] / bsa)
    assert "lavi" in v  # given by the report: kept, not recomputed
    [hfa] = [f for f in res.interpretation.not_assessable + res.interpretation.findings if f.rule.endswith("hfa_peff")]
    assert not any("LVMI" in m for m in (hfa.missing or [])), hfa.missing


def test_valve_values_the_vendor_did_not_write_are_derived_from_the_lvot_and_aortic_vtis():
    """DI, LVOT SV and continuity AVA from LVOT diameter 20 mm, LVOT VTI 20 cm, aortic VTI 80 cm: exact answers
    (SV = pi x 1 cm2 x 20 cm = 62.83 mL, AVA = 0.785 cm2, DI = 0.25); nothing derived when an input is missing."""
    import math

    from heartprint.echo._analysers import _derived
    from heartprint.measure import Measurement

    def m(code, value, unit):
        return Measurement(code=code, name=code, value=value, unit=unit, source="1.2.3", modality="US")

    got = {x.code: x for x in _derived([m("echo_lvot_diameter", 20.0, "mm"), m("echo_lvot_vti", 20.0, "cm"),
                                        m("echo_av_vti", 80.0, "cm")], "1.2.3")}
    assert got["echo_av_dimensionless_index"].value == pytest.approx(0.25)
    assert got["echo_lvot_sv"].value == pytest.approx(20 * math.pi)
    assert got["echo_ava"].value == pytest.approx(math.pi / 4) and got["echo_ava"].unit == "cm2"
    partial = {x.code for x in _derived([m("echo_lvot_vti", 20.0, "cm"), m("echo_av_vti", 80.0, "cm")], "1.2.3")}
    assert partial == {"echo_av_dimensionless_index"}

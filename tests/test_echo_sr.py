"""Reading vendor echo SRs (TID 5200): codes, units, duplicate rules, unmapped items, refusals, validators."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _echo_sr_fixtures import COMPREHENSIVE_SR, write_non_echo_sr, write_vendor_echo_sr  # noqa: E402

from heartprint.echo._sr import CODE_TABLE, ECHO_CODES, read_echo_sr  # noqa: E402
from heartprint.concepts import CONCEPTS  # noqa: E402
from heartprint.errors import InvalidInputError  # noqa: E402

# Fixture defaults (tests/_echo_sr_fixtures.DEFAULT_VALUES) converted by hand: code → (value, unit).
EXPECTED: dict[str, tuple[float, str]] = {
    "heart_rate": (62.0, "/min"),
    "echo_lvidd": (47.5, "mm"),  # 4.75 cm
    "echo_ivsd": (12.5, "mm"),  # 1.25 cm
    "echo_lvpwd": (10.0, "mm"),  # 1.0 cm
    "lv_ef": (55.0, "%"),
    "lv_edv": (120.0, "mL"),
    "septal_e_prime": (6.5, "cm/s"),
    "lateral_e_prime": (9.5, "cm/s"),
    "e_e_prime": (10.5, "1"),
    "echo_la_volume": (60.0, "mL"),
    "lavi": (32.0, "mL/m2"),
    "mitral_e": (80.0, "cm/s"),
    "echo_mitral_a": (60.0, "cm/s"),
    "mitral_e_a": (1.25, "1"),
    "echo_av_vmax": (2.5, "m/s"),
    "echo_av_mean_gradient": (16.0, "mm[Hg]"),
    "echo_lvot_diameter": (20.0, "mm"),  # 2.0 cm
    "echo_lvot_vti": (20.0, "cm"),
    "tr_vmax": (2.75, "m/s"),  # 275 cm/s
    "echo_tapse": (22.5, "mm"),  # 2.25 cm
}


def _got(res) -> dict[str, tuple[float, str]]:
    return {m.code: (m.value, m.unit) for m in res.measurements}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("echo_sr")
    return {
        "ge": write_vendor_echo_sr(d / "ge.dcm", style="ge", extra_unknown=True, malformed=True),
        "philips": write_vendor_echo_sr(d / "philips.dcm", style="philips", extra_unknown=True, malformed=True),
        "dir": d,
    }


@pytest.mark.parametrize("style", ["ge", "philips"])
def test_values_codes_units_exact(files, style):
    res = read_echo_sr(files[style])
    assert _got(res) == EXPECTED
    assert len(res.measurements) == len(EXPECTED)  # one per quantity: duplicates resolved
    assert all(m.modality == "US" for m in res.measurements)
    for m in res.measurements:  # concept codes carry the concept's own unit
        if m.code in CONCEPTS:
            assert m.unit == CONCEPTS[m.code].unit
        else:
            assert m.unit == ECHO_CODES[m.code][1]


def test_ge_selection_status_wins(files):
    res = read_echo_sr(files["ge"])
    assert all("Mean value chosen (of 3 written)" in m.method for m in res.measurements if m.code != "heart_rate")
    assert not any("repeats" in n for n in res.notes)


def test_philips_mean_of_repeats_noted(files):
    res = read_echo_sr(files["philips"])
    lvidd = res.by_code("echo_lvidd")[0]
    assert "mean of 2 repeats as written by the vendor" in lvidd.method
    assert "echo_lvidd: mean of 2 repeats as written by the vendor (47.5 mm)" in res.notes


def test_chosen_value_beats_mean_and_mean_without_selection(files):
    ds = pydicom.dcmread(files["ge"])
    lv = next(c for c in ds.ContentSequence
              if c.ValueType == "CONTAINER" and c.ConceptNameCodeSequence[0].CodeValue == "87878005")
    group = [c for c in lv.ContentSequence if c.ValueType == "CONTAINER"][0]  # LVIDd: 4.5, 5.0, chosen 4.75
    group.ContentSequence[2].MeasuredValueSequence[0].NumericValue = "6.1"  # chosen ≠ mean of the repeats
    assert read_echo_sr(ds).by_code("echo_lvidd")[0].value == 61.0
    for num in group.ContentSequence:  # drop Selection Status → mean of 4.5, 5.0, 6.1 = 5.2 cm
        num.ContentSequence = pydicom.sequence.Sequence(
            [m for m in num.ContentSequence if m.ConceptNameCodeSequence[0].CodeValue != "121404"])
    res = read_echo_sr(ds)
    assert res.by_code("echo_lvidd")[0].value == 52.0
    assert "echo_lvidd: mean of 3 repeats as written by the vendor (52 mm)" in res.notes


def test_unmapped_and_malformed_are_listed(files):
    res = read_echo_sr(files["ge"])
    assert res.unmapped == [{"scheme": "LN", "code": "18015-8", "meaning": "Aortic Root Diameter", "value": 3.1,
                             "unit": "cm", "site": "Aortic Valve"}]
    assert any(n.startswith("unmapped Aortic Root Diameter (18015-8, LN)") for n in res.notes)
    assert any("Left Ventricle Internal Systolic Dimension (29438-9, LN)" in n and "without a numeric value" in n
               for n in res.notes)
    assert any("Left Ventricle Mass (18087-7, LN)" in n and "unknown unit" in n for n in res.notes)
    assert not res.by_code("lv_mass") and not res.by_code("echo_lvids")


def test_unit_conversion_exact(tmp_path):
    p = write_vendor_echo_sr(tmp_path / "u.dcm", style="philips", repeats=False,
                             values={"lvidd": 4.8, "tr_vmax": 280.0, "tapse": 1.7, "lvot_diameter": 2.1,
                                     "ivsd": 0.9})
    got = _got(read_echo_sr(p))
    assert got["echo_lvidd"] == (48.0, "mm")
    assert got["tr_vmax"] == (2.8, "m/s")
    assert got["echo_tapse"] == (17.0, "mm")
    assert got["echo_lvot_diameter"] == (21.0, "mm")
    assert got["echo_ivsd"] == (9.0, "mm")


def test_site_decides_mapping(tmp_path):
    """The same code (SCT 399133000, e′) maps by its annulus site; the generic VTI code by LVOT vs AV."""
    p = write_vendor_echo_sr(tmp_path / "s.dcm", style="philips", repeats=False,
                             values={"septal_e_prime": 5.0, "lateral_e_prime": 11.0, "lvot_vti": 22.0})
    got = _got(read_echo_sr(p))
    assert got == {"heart_rate": (62.0, "/min"), "septal_e_prime": (5.0, "cm/s"),
                   "lateral_e_prime": (11.0, "cm/s"), "echo_lvot_vti": (22.0, "cm")}


def test_comprehensive_sr_and_dataset_input(tmp_path):
    p = write_vendor_echo_sr(tmp_path / "c.dcm", sop_class=COMPREHENSIVE_SR, repeats=False, values={"lvef": 40.0})
    assert _got(read_echo_sr(pydicom.dcmread(p)))["lv_ef"] == (40.0, "%")


def test_refuses_non_echo(tmp_path):
    with pytest.raises(InvalidInputError, match="not an echo report.*125200"):
        read_echo_sr(write_non_echo_sr(tmp_path / "n.dcm"))
    ds = pydicom.dcmread(write_vendor_echo_sr(tmp_path / "x.dcm", repeats=False, values={"lvef": 40.0}))
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4"  # MR Image Storage
    with pytest.raises(InvalidInputError, match="not an Enhanced or Comprehensive SR"):
        read_echo_sr(ds)
    bad = tmp_path / "b.dcm"
    bad.write_bytes(b"not dicom")
    with pytest.raises(InvalidInputError, match="not a readable DICOM file"):
        read_echo_sr(bad)


def test_code_table_targets_are_defined():
    for target in CODE_TABLE.values():
        assert target in CONCEPTS or target in ECHO_CODES, target


@pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dciodvfy (dicom3tools) not installed")
@pytest.mark.parametrize("style", ["ge", "philips"])
def test_dciodvfy_no_errors(files, style):
    out = subprocess.run(["dciodvfy", str(files[style])], capture_output=True, text=True, timeout=30)
    errors = [ln for ln in (out.stdout + out.stderr).splitlines() if "Error" in ln]
    assert errors == []


@pytest.mark.skipif(shutil.which("dsrdump") is None, reason="dsrdump (dcmtk) not installed")
@pytest.mark.parametrize("style", ["ge", "philips"])
def test_dsrdump_reads(files, style):
    from _dsrdump import num_items

    out = subprocess.run(["dsrdump", str(files[style])], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    nums = num_items(out.stdout)
    per_quantity = 3 if style == "ge" else 2
    # 19 quantities × repeats + heart rate + unknown code + stone-unit mass (the empty NUM has no value)
    assert len(nums) == 19 * per_quantity + 3
    assert ("Left Ventricle Internal End Diastolic Dimension", 4.75, None) in nums or style == "philips"


# -- valve and chamber areas, flow and regurgitation (issue 20, items 4-5): every value comes back -------------

from _echo_valve_sr import OLD_CID_ITEMS, VALVE_ITEMS, write_valve_echo_sr  # noqa: E402


@pytest.fixture(scope="module")
def valve_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("echo_valve_sr")
    return {"cid12300": write_valve_echo_sr(d / "valves.dcm"), "old": write_valve_echo_sr(d / "old.dcm", old_cids=True)}


@pytest.mark.parametrize("which, items", [("cid12300", VALVE_ITEMS), ("old", OLD_CID_ITEMS)])
def test_every_valve_and_area_value_comes_back_with_code_and_unit(valve_files, which, items):
    """Each NUM of the fixture is mapped (none left unmapped) to its code, in its concept's unit, converted
    exactly (mm² → cm², cm² → mm² for the EROA, cm → mm); PISA and continuity volumes are kept apart."""
    res = read_echo_sr(valve_files[which])
    assert res.unmapped == []
    for *_, code, value, unit in items:
        got = [(m.value, m.unit, m.method) for m in res.by_code(code)]
        assert any(v == value and u == unit for v, u, _ in got), (code, got)
        assert CONCEPTS[code].unit == unit
    if which == "cid12300":  # two methods of one quantity: two measurements, each naming its method
        assert sorted((m.value, m.method) for m in res.by_code("echo_mr_rvol")) == [(64.0, "continuity (VTI)"),
                                                                                   (70.0, "PISA")]
    # the base report's values are all still there
    assert {c for c in EXPECTED} <= {m.code for m in res.measurements}


def test_an_orifice_area_at_the_mitral_valve_is_not_the_eroa_without_regurgitant_flow(tmp_path):
    """Cardiovascular Orifice Area at the mitral valve may be the valve area (stenosis): read as the EROA
    only with Flow Direction = Regurgitant Flow, otherwise kept in ``unmapped``."""
    import pydicom

    p = write_valve_echo_sr(tmp_path / "r.dcm", old_cids=True)
    ds = pydicom.dcmread(p)
    for sec in ds.ContentSequence:
        for item in getattr(sec, "ContentSequence", []):
            if getattr(item, "ValueType", "") == "NUM" and item.ConceptNameCodeSequence[0].CodeValue == "399367004":
                item.ContentSequence = pydicom.sequence.Sequence(
                    [m for m in item.ContentSequence if m.ConceptCodeSequence[0].CodeValue != "397417004"])
    ds.save_as(p)
    res = read_echo_sr(p)
    assert res.by_code("echo_mr_eroa") == []
    assert [u["code"] for u in res.unmapped] == ["399367004"]


@pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dciodvfy (dicom3tools) not installed")
def test_valve_fixture_dciodvfy_no_errors(valve_files):
    out = subprocess.run(["dciodvfy", str(valve_files["cid12300"])], capture_output=True, text=True, timeout=30)
    errors = [ln for ln in (out.stdout + out.stderr).splitlines() if "Error" in ln]
    assert errors == []


def test_every_target_is_a_concept_and_echo_codes_agree_with_it():
    from heartprint.echo._sr import _BY_REGURGITANT_FLOW

    assert {t for t in list(CODE_TABLE.values()) + list(_BY_REGURGITANT_FLOW.values()) if t not in CONCEPTS} == set()
    assert {c: u for c, (_, u) in ECHO_CODES.items() if CONCEPTS[c].unit != u} == {}

import pytest

from heartprint.clinical.multimodality import FFR_THRESHOLD, assess_vessels, reconcile, regional_map
from heartprint.phenotype import Phenotype

LAD_SEGS = (1, 2, 7, 8, 13, 14, 17)


def ph(*ms):
    return Phenotype.from_dict({"measurements": list(ms)})


def sten(v, pct, **kw):
    return {"code": "stenosis", "value": pct, "unit": "%", "vessel": v, "modality": "CT", **kw}


def spect(defect_segments, rest_defects=()):
    out = [{"code": "perfusion_stress_score", "value": 3 if s in defect_segments else 0, "unit": "1", "segment": s,
            "modality": "NM"} for s in range(1, 18)]
    out += [{"code": "perfusion_rest_score", "value": 3 if s in rest_defects else 0, "unit": "1", "segment": s,
             "modality": "NM"} for s in range(1, 18)]
    return out


def vessel_finding(p, vessel="lad"):
    return next(f for f in reconcile(p) if f.code == f"significant_stenosis_{vessel}")


def test_lad_stenosis_with_anterior_perfusion_defect_is_significant():
    f = vessel_finding(ph(sten("LAD", 75, vessel_segment="proximal"), *spect({1, 7, 13})))
    assert f.status == "present"
    assert "stress perfusion defect in the LAD territory" in f.statement
    assert f.inputs["stenosis_LAD"]["value"] == 75 and "perfusion_stress_score_7" in f.inputs
    assert "ehae177" in f.citation and "ehy394" in f.citation


def test_lad_stenosis_without_ischaemia_and_ffr_086_is_not_significant():
    f = vessel_finding(ph(sten("LAD", 75), {"code": "ffr", "value": 0.86, "unit": "1", "vessel": "LAD", "modality": "ICA"},
                          *spect(set())))
    assert f.status == "absent"
    assert "FFR 0.86 > 0.80" in f.statement and "perfusion normal" in f.statement


@pytest.mark.parametrize("ffr, status", [(0.80, "present"), (0.79, "present"), (0.81, "absent")])
def test_ffr_boundary(ffr, status):
    assert FFR_THRESHOLD == 0.80
    f = vessel_finding(ph(sten("LAD", 60), {"code": "ffr", "value": ffr, "unit": "1", "vessel": "LAD"}))
    assert f.status == status


def test_ct_ffr_counts_too():
    f = vessel_finding(ph(sten("RCA", 70), {"code": "ct_ffr", "value": 0.74, "unit": "1", "vessel": "RCA"}), "rca")
    assert f.status == "present" and "CT-FFR 0.74" in f.statement


def test_stenosis_without_functional_data_is_not_assessable():
    f = vessel_finding(ph(sten("LAD", 80)))
    assert f.status == "not_assessable" and any("FFR" in m for m in f.missing)


def test_perfusion_defect_elsewhere_does_not_make_lad_significant():
    p = ph(sten("LAD", 75), *spect({5, 11, 16}))  # LCx territory defect
    assert vessel_finding(p).status == "absent"
    assert any(f.code == "ischaemia_without_obstructive_stenosis" for f in reconcile(p))


def test_left_main_uses_lad_and_lcx_territories():
    a = assess_vessels(ph(sten("LM", 60), *spect({6, 12})))
    assert a[0].vessel == "LM" and a[0].status == "significant"


def test_ischaemic_lge_in_territory_makes_stenosis_significant():
    f = vessel_finding(ph(sten("LAD", 70), {"code": "lge_transmurality", "value": 80, "unit": "%", "segment": 7,
                                             "pattern": "transmural"}))
    assert f.status == "present" and "ischaemic-pattern LGE" in f.statement


def test_inferolateral_midwall_lge_without_stenosis_is_non_ischaemic():
    p = ph(sten("RCA", 20), {"code": "lge_transmurality", "value": 30, "unit": "%", "segment": 11, "pattern": "mid_wall"})
    codes = {f.code: f for f in reconcile(p)}
    assert codes["lge_non_ischaemic_pattern"].status == "present"
    assert "points away from an ischaemic aetiology" in codes["lge_non_ischaemic_pattern"].statement
    assert codes["scar_without_culprit_stenosis"].details["segments"] == [11]
    assert "lge_ischaemic_pattern" not in codes


def test_lge_without_pattern_is_not_assessable():
    fs = reconcile(ph({"code": "lge_transmurality", "value": 30, "unit": "%", "segment": 4}))
    assert fs[0].code == "lge_pattern_unspecified" and fs[0].status == "not_assessable"


def test_regional_map():
    r = regional_map(ph(sten("LAD", 75, vessel_segment="mid"), *spect({7})))
    assert r["segments"]["7"]["territory"] == "LAD" and r["segments"]["7"]["perfusion_stress_score"] == 3
    assert r["segments"]["15"]["variable_supply"] == ["LCx", "LAD"]
    assert r["vessels"]["LAD mid"]["stenosis"] == 75


# -- unknown is never "normal" (issue 16, item 1) ---------------------------------------------------


def test_partly_imaged_territory_is_not_normal_perfusion():
    partial = [{"code": "perfusion_stress_score", "value": 0, "unit": "1", "segment": s} for s in (1, 2, 7)]
    f = vessel_finding(ph(sten("LAD", 75), *partial))
    assert f.status == "not_assessable"
    assert any("segments 8, 13, 14, 17" in m for m in f.missing)
    full = [{"code": "perfusion_stress_score", "value": 0, "unit": "1", "segment": s} for s in LAD_SEGS]
    assert vessel_finding(ph(sten("LAD", 75), *full)).status == "absent"


def test_stress_cmr_reads_16_segments():
    cmr = [{"code": "perfusion_defect", "value": 0, "unit": "1", "segment": s} for s in LAD_SEGS if s != 17]
    assert vessel_finding(ph(sten("LAD", 75), *cmr)).status == "absent"


def test_defect_without_rest_score_is_not_called_ischaemia():
    stress = [{"code": "perfusion_stress_score", "value": 3 if s == 5 else 0, "unit": "1", "segment": s} for s in range(1, 18)]
    fs = {f.code: f for f in reconcile(ph(sten("LAD", 75), *stress))}
    f = fs["ischaemia_without_obstructive_stenosis"]
    assert f.status == "not_assessable" and f.missing == ["rest perfusion score, segment 5"]
    rest = [{"code": "perfusion_rest_score", "value": 3 if s == 5 else 0, "unit": "1", "segment": s} for s in range(1, 18)]
    fs = {f.code: f for f in reconcile(ph(sten("LAD", 75), *stress, *rest))}
    assert "ischaemia_without_obstructive_stenosis" not in fs  # a fixed defect (scar), not ischaemia

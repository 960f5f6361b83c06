"""Issue 3's phantom check through the whole pipeline (DICOM → classify → segment with the shipped
network → measure), on two analytic hearts. In a file of its own so that the test runner can run
these two slow analyses beside the rest of the pipeline tests."""

from __future__ import annotations

import numpy as np
import pytest

from heartprint.phantoms import FOUNDATION_HEART, write_demo_study
from heartprint.pipeline import AnalysisOptions, analyze_study
from test_pipeline import _assert_function_matches, _values

pytestmark = pytest.mark.accuracy  # make test-accuracy (CI), not make test


@pytest.mark.parametrize("heart", [
    {"seed": 3, **FOUNDATION_HEART},  # the demo heart's size and function, 8 x 1.4 x 1.4 mm
    {"seed": 12, "edv_ml": 110.0, "esv_ml": 40.0, "lv_mass_g": 95.0, "rv_edv_ml": 120.0, "rv_esv_ml": 50.0,
     "spacing": (10.0, 1.6, 1.6), **FOUNDATION_HEART},  # a small heart, 10 x 1.6 x 1.6 mm
], ids=["demo-size", "small-10x1.6mm"])
def test_foundation_phantom_function_within_issue_tolerances(heart, tmp_path):
    """Issue 3's phantom check: EDV/ESV/mass within 3 %, LVEF within 2 points of the analytic
    truth, through the whole pipeline (DICOM → classify → segment with the shipped network →
    measure); RV EDV within 5 %, RVEF within 3 points."""
    _, truth = write_demo_study(tmp_path / "dicom", **heart)
    result = analyze_study(tmp_path / "dicom", AnalysisOptions(height_cm=180, weight_kg=80, interpret=False))
    [series] = result.series
    assert series.status == "analysed", series.message
    v = _values(series)
    _assert_function_matches(v, truth, volume_rel=0.03, ef_abs=2.0, rv_volume_rel=0.05, rv_ef_abs=3.0)
    assert v["heart_rate"] == pytest.approx(truth["heart_rate_bpm"], rel=1e-6)
    assert v["bsa"] == pytest.approx(np.sqrt(180 * 80 / 3600), rel=1e-9)  # Mosteller
    # issue 18's joints: the per-slice valve-plane decisions and the agreement of the network's passes
    # reach the series result and its JSON; a clean phantom is neither uncertain nor warned for QC
    cov = series.figure_data["coverage"]
    assert cov["slice_decisions"] and all(r["lv"] in {"ventricle", "none", "excluded"} for r in cov["slice_decisions"])
    quality = series.details["quality"]
    assert len(quality["passes"]) == 3 and len(quality["lvef_per_pass"]) == 3
    assert quality["score_ef_range_points"] < 10.0
    assert max(quality["lvef_per_pass"]) - min(quality["lvef_per_pass"]) <= quality["score_ef_range_points"] + 1e-9
    assert "segmentation_uncertain" not in {q.code for q in series.qc}
    doc = result.to_dict()
    [sdoc] = doc["series"]
    assert sdoc["details"]["quality"]["score_ef_range_points"] == quality["score_ef_range_points"]

"""The joint from a risk model to the patient: a model fitted on heartprint's own feature names, given to the
analysis (``AnalysisOptions.risk_model``), answers in the study document (schema-checked) and in the report; a
patient lacking a feature the model uses is "not assessable", never imputed."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

pytest.importorskip("sksurv")

from _risk_cohort import lvef_cohort  # noqa: E402

from heartprint import risk  # noqa: E402
from heartprint.measure import Measurement  # noqa: E402
from heartprint.report import build_report, render_html as _render  # noqa: E402
from heartprint.pipeline import AnalysisOptions, interpret_study  # noqa: E402
from heartprint.results import (  # noqa: E402
    PatientIdentity, Provenanced, SeriesResult, StudyInfo, StudyResult, validate_study_dict,
)


@pytest.fixture(scope="module")
def model():
    """Lower LVEF raises the hazard (log HR 0.05 per point), age is noise: a cohort in heartprint's names."""
    table = lvef_cohort(300, ef=(20, 70), noise=("age_years", 40, 80))
    return risk.fit(table, time="time", event="event", model="cox",
                    cv=risk.CV(outer=3, inner=2, bootstrap=20, bootstrap_models=4, seed=1), horizon=5.0)


def _study(ef: float | None) -> StudyResult:
    ms = [Measurement(code="lv_ef", name="LV ejection fraction", value=ef, unit="%", method="test")] if ef else []
    ms.append(Measurement(code="lv_edv", name="LV end-diastolic volume", value=150.0, unit="mL", method="test"))
    return StudyResult(source="test", patient=PatientIdentity(patient_id="P1", sex=Provenanced("male", "DICOM"),
                                                              age_years=Provenanced(64, "DICOM")),
                       study=StudyInfo(study_uid="1.2.3", date=date(2024, 1, 2)),
                       series=[SeriesResult(series_uid="1.2.3.4", kind="cine_sax", status="analysed", method="test",
                                            measurements=ms)])


def _html(result: StudyResult) -> str:
    return _render(build_report(result, figures=False))


def test_risk_reaches_the_document_and_the_report(model):
    low = interpret_study(_study(25.0), options=AnalysisOptions(risk_model=model))
    high = interpret_study(_study(65.0), options=AnalysisOptions(risk_model=model))
    assert low.risk["status"] == "assessed" and high.risk["status"] == "assessed"
    assert low.risk["risk"] > high.risk["risk"]  # the fitted direction: a lower EF, a higher risk
    assert low.risk["risk"] == pytest.approx(float(model.predict(pd.DataFrame([{"lv_ef": 25.0, "age_years": 64.0}]))
                                                   ["risk_at_horizon"].iloc[0]))
    doc = low.to_dict()
    validate_study_dict(doc)
    assert doc["risk"]["status"] == "assessed" and doc["risk"]["horizon"] == 5.0
    html = _html(low)
    assert "Risk (research model)" in html and "LV ejection fraction" in html and "raises the risk" in html


def test_missing_feature_is_not_assessable_never_imputed(model):
    r = interpret_study(_study(None), options=AnalysisOptions(risk_model=model))
    assert r.risk["status"] == "not_assessable" and r.risk["missing"] == ["lv_ef"] and "risk" not in r.risk
    validate_study_dict(r.to_dict())
    assert "not assessable" in _html(r)


def test_no_model_no_risk_block():
    r = interpret_study(_study(40.0), options=AnalysisOptions())
    assert r.risk is None and "risk" not in r.to_dict()


def test_analyze_refuses_a_bad_risk_model_before_any_work(tmp_path, capsys):
    from heartprint.cli import main

    (tmp_path / "model").mkdir()
    code = main(["analyze", str(tmp_path), "--out", str(tmp_path / "out"), "--risk-model", str(tmp_path / "model")])
    err = capsys.readouterr().err
    assert code == 2 and "--risk-model" in err and not (tmp_path / "out").exists()

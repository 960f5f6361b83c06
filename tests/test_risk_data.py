"""Feature tables from heartprint study documents: one row per patient by the baseline/latest rule."""

from __future__ import annotations

import json
import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from heartprint.errors import InvalidInputError
from heartprint.measure import Measurement
from heartprint.results import PatientIdentity, Provenanced, SeriesResult, StudyInfo, StudyResult
from heartprint.risk import read_omics, results_table
from heartprint.risk._data import Survival, join_omics, survival_target


def _write(root, name, pid, when, values, *, second=None):
    series = [SeriesResult(series_uid=f"1.2.{name}.1", kind="cine_sax", status="analysed", method="test",
                           measurements=[Measurement(code=k, name=k, value=v, unit=u) for k, (v, u) in values.items()]
                           + [Measurement(code="lv_wall_thickness", name="wt", value=9.0, unit="mm", segment=3)])]
    if second:
        series.append(SeriesResult(series_uid=f"1.2.{name}.2", kind="cine_sax", status="analysed", method="test",
                                   measurements=[Measurement(code=k, name=k, value=v, unit=u) for k, (v, u) in second.items()]))
    doc = StudyResult(source="x", patient=PatientIdentity(patient_id=pid, sex=Provenanced("male", "DICOM"),
                                                          age_years=Provenanced(60, "DICOM")),
                      study=StudyInfo(study_uid=f"1.2.{name}", date=when), series=series).to_dict()
    folder = root / name
    folder.mkdir()
    (folder / "measurements.json").write_text(json.dumps(doc))


def test_baseline_and_latest_rules(tmp_path):
    _write(tmp_path, "a1", "P1", date(2020, 1, 1), {"lv_ef": (40.0, "%"), "lv_edv": (200.0, "mL")})
    _write(tmp_path, "a2", "P1", date(2022, 1, 1), {"lv_ef": (55.0, "%")})
    _write(tmp_path, "b1", "P2", date(2021, 5, 1), {"lv_ef": (60.0, "%")}, second={"lv_ef": (50.0, "%"), "lv_mass": (120.0, "g")})
    base = results_table([tmp_path], rule="baseline").set_index("patient_id")
    latest = results_table([tmp_path], rule="latest").set_index("patient_id")
    assert base.loc["P1", "lv_ef"] == 40.0 and base.loc["P1", "lv_edv"] == 200.0 and base.loc["P1", "study_date"] == "2020-01-01"
    assert latest.loc["P1", "lv_ef"] == 55.0 and math.isnan(latest.loc["P1", "lv_edv"])
    assert base.loc["P1", "n_studies"] == 2 and base.loc["P1", "sex_male"] == 1.0 and base.loc["P1", "age_years"] == 60
    # two series of one study disagree on lv_ef: missing, and listed as a conflict
    assert math.isnan(base.loc["P2", "lv_ef"]) and base.loc["P2", "lv_mass"] == 120.0
    assert ("P2", "lv_ef") in base.attrs["conflicts"]
    assert "lv_wall_thickness" not in base.columns  # per-segment values are not patient-level features
    assert base.attrs["units"]["lv_ef"] == "%"


def test_undated_study_among_several_is_refused(tmp_path):
    _write(tmp_path, "a1", "P1", date(2020, 1, 1), {"lv_ef": (40.0, "%")})
    _write(tmp_path, "a2", "P1", None, {"lv_ef": (55.0, "%")})
    with pytest.raises(InvalidInputError, match="no study date"):
        results_table([tmp_path])


def test_outcome_and_omics_join(tmp_path):
    table = pd.DataFrame({"pid": ["a", "b", "c"], "time": [1.0, 2.0, 3.0], "event": [1, 0, 1]})
    y = survival_target(table, Survival("time", "event"))
    assert y["event"].tolist() == [True, False, True] and y["time"].tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(InvalidInputError, match="follow-up time"):
        survival_target(table.assign(time=[1.0, None, 3.0]), Survival("time", "event"))
    with pytest.raises(InvalidInputError, match="not 0/1"):
        survival_target(table.assign(event=[1, 2, 0]), Survival("time", "event"))
    pd.DataFrame({"id": ["c", "a"], "g1": [3.0, 1.0]}).to_csv(tmp_path / "prot.csv", index=False)
    layers = read_omics(tmp_path / "prot.csv")
    joined = join_omics(table, layers, "pid")
    assert list(layers) == ["prot"]
    np.testing.assert_array_equal(joined["prot:g1"].to_numpy(), [1.0, np.nan, 3.0])


def test_mudata_file_gives_one_layer_per_modality(tmp_path):
    """A .h5mu file (MuData layout: /mod/<modality> AnnData groups) read without the mudata package."""
    import anndata
    import h5py
    from anndata.io import write_elem

    with h5py.File(tmp_path / "multi.h5mu", "w") as f:
        mod = f.create_group("mod")
        for name, k in (("rna", 3), ("prot", 2)):
            write_elem(mod, name, anndata.AnnData(np.arange(2.0 * k).reshape(2, k), obs=pd.DataFrame(index=["a", "c"]),
                                                  var=pd.DataFrame(index=[f"{name}{j}" for j in range(k)])))
    layers = read_omics(tmp_path / "multi.h5mu")
    assert sorted(layers) == ["prot", "rna"]
    assert layers["rna"].shape == (2, 3) and layers["rna"].loc["c", "rna2"] == 5.0

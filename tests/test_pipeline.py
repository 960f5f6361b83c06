"""Whole pipeline on the phantom's own DICOM: read → classify → segment → measure → write."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from heartprint.cli import main
from heartprint.errors import InvalidInputError
from heartprint.io import read_nifti
from heartprint.phantoms import write_demo_study
from heartprint.pipeline import AnalysisOptions, analyze_study


@pytest.fixture(scope="module")
def phantom_study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("phantom") / "dicom"
    paths, truth = write_demo_study(folder, seed=3)
    return folder, truth


@pytest.fixture(scope="module")
def analysed(phantom_study):
    folder, truth = phantom_study
    return analyze_study(folder, AnalysisOptions(height_cm=180, weight_kg=80)), truth


def _values(series):
    return series.global_values()


def _assert_function_matches(v, truth, *, volume_rel, ef_abs, rv_volume_rel, rv_ef_abs):
    """Measured LV EDV/ESV/mass, RV EDV (relative) and LVEF/RVEF (points) against the phantom's truth."""
    ed = truth["ed_phase"]
    assert v["lv_edv"] == pytest.approx(truth["lv_edv_ml"], rel=volume_rel)
    assert v["lv_esv"] == pytest.approx(truth["lv_esv_ml"], rel=volume_rel)
    assert v["lv_ef"] == pytest.approx(truth["lv_ef_percent"], abs=ef_abs)
    assert v["lv_mass"] == pytest.approx(truth["lv_mass_g"][ed], rel=volume_rel)
    assert v["rv_edv"] == pytest.approx(truth["rv_edv_ml"], rel=rv_volume_rel)
    assert v["rv_ef"] == pytest.approx(truth["rv_ef_percent"], abs=rv_ef_abs)


def test_phantom_is_found_and_analysed(analysed):
    result, truth = analysed
    [series] = result.series
    assert series.kind == "cine_sax" and series.status == "analysed", series.message
    assert series.series_uid == truth["series_uid"]
    assert series.labels.array.shape[0] == len(truth["frame_times_ms"])
    from heartprint.segmentation._infer import ensemble_members

    seg = series.model
    main, *others = ensemble_members()
    assert seg["model_sha256"] == main.sha256
    assert seg["ensemble"] == [{"file": m.path.name, "sha256": m.sha256} for m in others]


def test_phantom_chain_with_supplied_labels_is_exact(phantom_study):
    """DICOM → io → geometry → volumes → function is exact when the segmentation is: the
    phantom's own label maps supplied for its series reproduce the analytic truth."""
    from heartprint.io import load
    from heartprint.phantoms import make_cine_sax

    folder, truth = phantom_study
    ph = make_cine_sax(seed=3)  # same seed → same label maps as the written study
    image = load(folder)
    labels = image.with_array(ph.labels)
    result = analyze_study(folder, AnalysisOptions(labels={truth["series_uid"]: labels}, interpret=False))
    assert result.series[0].model["model"] == "supplied by the user"
    _assert_function_matches(_values(result.series[0]), truth, volume_rel=0.015, ef_abs=0.5, rv_volume_rel=0.015, rv_ef_abs=0.5)


def test_supplied_labels_on_another_grid_are_refused(phantom_study):
    from heartprint import Image

    folder, truth = phantom_study
    wrong = Image.from_array(np.zeros((2, 3, 8, 8), np.uint8), (8, 1.4, 1.4), frame_times_ms=[0, 40])
    result = analyze_study(folder, AnalysisOptions(labels={truth["series_uid"]: wrong}, interpret=False))
    assert result.series[0].status == "failed"
    assert "do not match the series" in result.series[0].message


def test_another_model_can_be_chosen_and_is_recorded(tmp_path):
    """``AnalysisOptions.model_path`` runs a model other than the shipped one (e.g. a training
    run's, as ``benchmarks/phantom_function.py --model`` does): a copy of the shipped model
    under another name gives the same labels and is named by its checksum; a missing model
    fails that series with its path, and nothing is measured."""
    import shutil

    from heartprint.segmentation._infer import card_path_for, ensemble_members

    from heartprint.phantoms import make_cine_sax, write_cine_sax_dicom

    folder = tmp_path / "small"
    write_cine_sax_dicom(make_cine_sax(seed=5, n_phases=4, n_slices=6, matrix=(80, 80), spacing=(8.0, 1.75, 1.75)),
                         folder, overwrite=True)
    shipped, *others = ensemble_members()
    if others:
        pytest.skip("the shipped model is an ensemble; this test copies a single network")
    copy = tmp_path / "candidate.onnx"
    shutil.copyfile(shipped.path, copy)
    shutil.copyfile(card_path_for(shipped.path), card_path_for(copy))
    base = analyze_study(folder, AnalysisOptions(tta=False, interpret=False))
    other = analyze_study(folder, AnalysisOptions(tta=False, interpret=False, model_path=copy))
    assert other.series[0].status == "analysed", other.series[0].message
    assert other.series[0].model["model_sha256"] == shipped.sha256
    np.testing.assert_array_equal(other.series[0].labels.array, base.series[0].labels.array)
    missing = analyze_study(folder, AnalysisOptions(tta=False, interpret=False, model_path=tmp_path / "none.onnx"))
    assert missing.series[0].status == "failed" and "none.onnx" in missing.series[0].message
    assert not missing.series[0].measurements and missing.series[0].model is None


@pytest.mark.xfail(strict=True, reason=(
    "known gap beyond issue 3's check: on the demo heart (the foundation's heart with trabeculae, papillary "
    "muscles and epicardial fat) the shipped network gives LV EDV +0.9 %, ESV +4.2 %, mass +2.4 %, RV EDV +1.4 %, "
    "LVEF -1.4 pt, RVEF +0.1 pt (benchmarks/phantom_function.py): behind trabeculae of myocardial signal it "
    "places the end-systolic compact endocardium outward. Strict: passes will force this marker's removal."))
def test_detailed_phantom_function_within_issue_tolerances(analysed):
    """The same tolerances on the demo heart (trabeculae and papillary muscles in the LV cavity)."""
    result, truth = analysed
    v = _values(result.series[0])
    _assert_function_matches(v, truth, volume_rel=0.03, ef_abs=2.0, rv_volume_rel=0.05, rv_ef_abs=3.0)


def test_analyze_cli_writes_json_and_labels(tmp_path, capsys):
    folder = tmp_path / "small"  # the command's plumbing, on a short cine (the phantom's values: tests above)
    _, truth = write_demo_study(folder, seed=3, n_phases=4)
    bad = tmp_path / "not-a-study"
    bad.mkdir()
    (bad / "notes.txt").write_text("not DICOM")
    code = main(["analyze", str(folder), str(bad), "--out", str(tmp_path / "out"), "--no-tta", "--no-report"])
    assert code != 0  # one study of the batch failed, and the batch went on
    batch = json.loads((tmp_path / "out" / "batch.json").read_text())
    assert [s["status"] for s in batch["studies"]] == ["ok", "failed"]
    assert "not-a-study" in batch["studies"][1]["error"]
    written = Path(batch["studies"][0]["output"])
    assert written.parent == tmp_path / "out"
    doc = json.loads((written / "measurements.json").read_text())
    assert "research" in doc["disclaimer"] and doc["schema"] == "heartprint.study/2"
    series = doc["series"][0]
    units = {m["code"]: m["unit"] for m in series["measurements"]}
    assert units["lv_edv"] == "mL" and units["lv_ef"] == "%" and units["lv_mass"] == "g"
    labels = read_nifti(written / "labels" / f"{truth['series_uid']}.nii.gz")
    assert labels.array.shape[0] == len(truth["frame_times_ms"])
    assert set(np.unique(labels.array)) <= {0, 1, 2, 3}
    out = capsys.readouterr()
    assert "LV ejection fraction" in out.out or "lv_ef" in out.out or "ejection" in out.out.lower()


def test_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(InvalidInputError, match="no readable DICOM"):
        analyze_study(tmp_path)

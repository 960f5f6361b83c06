"""Issue 20, items 1-4: the echo B-mode cine analysed from a tracing (the echo SR's SCOORD, a contour file,
or a dropped-in model), the report's echo section, and SR/FHIR carrying the strain values.

One small speckle phantom (10 frames, 160 x 128 pixels of 0.7 mm, 50 frames/s; GLS truth -18.5 %, the
apical lateral segment -8 % at the midline, -12 % at the endocardium) written as US Multi-frame DICOM with a TID 5200 SR holding the
ED and ES tracings. Tolerances: GLS within 1 strain point of the phantom's exact contour strain (issue 20's
"done when"); the reduced segment within 3 points (segmental tracking is the strain module's business).
"""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from heartprint.echo._cine import Tracing, load_contour_file, view_from_text
from heartprint.echo._geometry import biplane_volume, single_plane_volume
from heartprint.echo._model import NO_MODEL_REASON, find_echo_model, open_contour, segment_echo_cine
from heartprint.errors import InvalidInputError, ModelError
from heartprint.phantoms._echo_dicom import EchoPatient, SRContour, write_echo_cine_dicom, write_vendor_echo_sr
from heartprint.phantoms._echo_speckle import make_speckle_cine
from heartprint.pipeline import AnalysisOptions, analyze

ES = 9


@pytest.fixture(scope="module")
def phantom():
    return make_speckle_cine(n_frames=ES + 1, shape=(160, 128), pixel_mm=0.7, psf_axial_mm=0.8, psf_lateral_mm=2.0,
                             gls_percent=-18.0, segment_gls={"apical lateral": -8.0}, seed=3)


def _cine(phantom, path, rate=50.0, **kw):
    return write_echo_cine_dicom(phantom.images, phantom.spacing_mm, rate, path,
                                 patient=EchoPatient(study_uid="1.2.826.0.1.3680043.10.1519.77"), **kw)


@pytest.fixture(scope="module")
def study(tmp_path_factory, phantom):
    root = tmp_path_factory.mktemp("echo_cine")
    who = EchoPatient(study_uid="1.2.826.0.1.3680043.10.1519.77")
    ds = write_echo_cine_dicom(phantom.images, phantom.spacing_mm, 50.0, root / "cine.dcm", patient=who)
    vols = {f: single_plane_volume(phantom.true_contours_mm[f]) for f in (0, ES)}
    contours = [SRContour(phantom.true_contours_mm[f], f, ph, "A4C", ds.SOPClassUID, ds.SOPInstanceUID,
                          ds.SeriesInstanceUID, phantom.spacing_mm, vols[f]) for f, ph in ((0, "ED"), (ES, "ES"))]
    write_vendor_echo_sr(root / "sr.dcm", patient=who, contours=contours, values={"mitral_e": 80.0})
    [res] = list(analyze(root, AnalysisOptions(interpret=False)))
    return {"root": root, "res": res, "ds": ds, "vols": vols}


def _series(res, kind):
    [s] = [s for s in res.series if s.kind == kind]
    return s


def test_gls_and_strain_map_from_the_sr_tracing(study, phantom):
    cine = _series(study["res"], "echo_cine")
    assert cine.status == "analysed", cine.message
    gls = {m.code: m for m in cine.measurements if m.segment is None}["gls"]
    assert gls.unit == "%" and gls.modality == "US" and gls.source == study["ds"].SeriesInstanceUID
    assert gls.value == pytest.approx(-phantom.gls_percent, abs=1.0)  # magnitude, as the concept defines it
    d = cine.details
    assert (d["ed_frame"], d["es_frame"], d["view"], d["tracing_source"]) == (0, ES, "A4C", "the echo report (SR)")
    assert d["frame_rate_hz"] == pytest.approx(50.0) and cine.qc_status == "ok", cine.qc
    [sm] = cine.segment_maps
    assert (sm.code, sm.vmin, sm.vmax, sorted(sm.values)) == ("regional_longitudinal_strain", -25.0, 0.0,
                                                              [3, 6, 9, 12, 14, 16])
    seg = {m.segment: m.value for m in cine.measurements if m.code == "regional_longitudinal_strain"}
    assert seg == pytest.approx(dict(sm.values))
    truth16 = phantom.segment_strain_percent["apical lateral"]
    assert seg[16] == pytest.approx(truth16, abs=3.0) and seg[16] == max(seg.values())  # the reduced segment
    # the SR round trip: the traced volumes come back as written, with their phase
    sr = _series(study["res"], "sr")
    traced = {m.phase: m.value for m in sr.measurements if m.code in ("lv_edv", "lv_esv")}
    assert traced == {"End diastole": pytest.approx(round(study["vols"][0], 2)),
                      "End Systole": pytest.approx(round(study["vols"][ES], 2))}


@pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dicom3tools not installed")
def test_the_cine_and_the_sr_are_valid_dicom(study):
    for name in ("cine.dcm", "sr.dcm"):
        out = subprocess.run(["dciodvfy", str(study["root"] / name)], capture_output=True, text=True)
        errors = [ln for ln in (out.stdout + out.stderr).splitlines() if ln.startswith("Error")]
        assert not errors, (name, errors)


def test_without_a_contour_or_a_model_the_cine_is_not_measured(tmp_path, phantom):
    _cine(phantom, tmp_path / "cine.dcm")
    [res] = list(analyze(tmp_path, AnalysisOptions(interpret=False)))
    [s] = res.series
    assert (s.kind, s.status, s.message, s.measurements) == ("echo_cine", "not_analysed", NO_MODEL_REASON, [])


def _contour_file(path, uid, phantom, *, a2c_uid=None):
    sp = np.asarray(phantom.spacing_mm)
    tr = [{"series_uid": uid, "phase": ph, "frame": f, "units": "px",
           "points": (phantom.true_contours_mm[f] / sp).tolist()} for f, ph in ((0, "ED"), (ES, "ES"))]
    if a2c_uid:
        tr += [{"series_uid": a2c_uid, "view": "A2C", "phase": ph, "frame": f, "units": "mm",
                "points": (phantom.true_contours_mm[f] * [1.0, 0.8]).tolist()} for f, ph in ((0, "ED"), (ES, "ES"))]
    path.write_text(json.dumps({"format": "heartprint.echo-contours/1", "tracings": tr}))
    return load_contour_file(path)


def test_a_contour_file_gives_strain_and_with_an_a2c_the_biplane_volumes(tmp_path, phantom, study, capsys):
    """The command line's --echo-contours and --echo-view reach the analyser; the file's tracing gives the SR's GLS."""
    from heartprint.cli import main

    ds = _cine(phantom, tmp_path / "dicom" / "cine.dcm", rate=30.0, series_description="LV")
    uid = str(ds.SeriesInstanceUID)
    _contour_file(tmp_path / "contours.json", uid, phantom, a2c_uid="1.2.3.4")
    code = main(["analyze", str(tmp_path / "dicom"), "--json", "--echo-contours", str(tmp_path / "contours.json"),
                 "--echo-view", f"{uid}=a4c"])
    out = json.loads(capsys.readouterr().out)
    [s] = [s for doc in out["results"] for s in doc["series"]]
    assert code == 0 and s["status"] == "analysed" and s["details"]["tracing_source"] == "the contour file"
    assert (s["details"]["view"], s["details"]["view_source"]) == ("A4C", "given by the user")
    assert s["details"]["frame_rate_hz"] == pytest.approx(30.0, rel=1e-4)  # (0018,1063) 33.3333 ms
    assert [q["code"] for q in s["qc"] if q["severity"] == "warning"] == ["echo_low_frame_rate"]
    ref = _series(study["res"], "echo_cine").details["gls_percent"]
    assert s["details"]["gls_percent"] == pytest.approx(ref, abs=0.02)  # the SR's tracing (float32 SCOORD)
    v = {m["code"]: m["value"] for m in s["measurements"] if "segment" not in m}
    a4c, a2c = phantom.true_contours_mm[0], phantom.true_contours_mm[0] * [1.0, 0.8]
    edv = biplane_volume(a4c, a2c)
    esv = biplane_volume(phantom.true_contours_mm[ES], phantom.true_contours_mm[ES] * [1.0, 0.8])
    assert v["lv_edv"] == pytest.approx(edv, rel=1e-9) and v["lv_esv"] == pytest.approx(esv, rel=1e-9)
    assert v["lv_ef"] == pytest.approx(100 * (edv - esv) / edv, rel=1e-9)


def _no_frame_time(ds):
    del ds["FrameTime"], ds["FrameIncrementPointer"]


def _no_regions(ds):
    del ds["SequenceOfUltrasoundRegions"]


def _small_region(ds):  # a calibrated region that the tracing leaves
    ds.SequenceOfUltrasoundRegions[0].RegionLocationMaxX1 = 40


@pytest.mark.parametrize(("change", "words"), [(_no_frame_time, "(0018,1063)"), (_no_regions, "(0018,6011)"),
                                               (_small_region, "leaves the calibrated ultrasound region")])
def test_a_cine_without_frame_timing_or_calibration_is_refused_by_name(tmp_path, phantom, change, words):
    ds = _cine(phantom, tmp_path / "dicom" / "cine.dcm")
    change(ds)
    ds.save_as(tmp_path / "dicom" / "cine.dcm", enforce_file_format=True)
    given = _contour_file(tmp_path / "c.json", ds.SeriesInstanceUID, phantom)
    [res] = list(analyze(tmp_path / "dicom", AnalysisOptions(interpret=False, echo_contours=given)))
    [s] = res.series
    assert s.status == "failed" and words in s.message and not s.measurements, s.message


def test_view_words_override_and_contour_file_checks(tmp_path):
    assert [view_from_text(t) for t in ("A4C 2D", "apical 2CH", "APLAX", "Apical 3 chamber", "PLAX", None)] == \
        ["A4C", "A2C", "A3C", "A3C", None, None]
    with pytest.raises(InvalidInputError, match="A4C, A2C or A3C"):
        AnalysisOptions(echo_views={"1.2.3": "A5C"})
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "something else", "tracings": []}))
    with pytest.raises(InvalidInputError, match="heartprint.echo-contours/1"):
        load_contour_file(bad)
    with pytest.raises(InvalidInputError, match="units"):
        Tracing.from_dict({"series_uid": "1", "frame": 0, "units": "cm", "points": [[0, 0]] * 7}, "test")
    with pytest.raises(InvalidInputError, match=">= 7"):
        Tracing.from_dict({"series_uid": "1", "frame": 0, "points": [[0, 0]] * 3}, "test")


def test_the_model_slot_loads_a_carded_onnx_and_refuses_one_without(tmp_path):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    assert find_echo_model(tmp_path) is None  # nothing installed: no model, no number
    # a stand-in network: logits (0.5 - x, x - 0.5), i.e. "cavity" where the frame is brighter than 0.5
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 1, 64, 64])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 2, 64, 64])
    half = helper.make_node("Constant", [], ["h"], value=helper.make_tensor("hv", TensorProto.FLOAT, [], [0.5]))
    nodes = [half, helper.make_node("Sub", ["h", "x"], ["a"]), helper.make_node("Sub", ["x", "h"], ["b"]),
             helper.make_node("Concat", ["a", "b"], ["y"], axis=1)]
    model = helper.make_model(helper.make_graph(nodes, "threshold", [x], [y]), opset_imports=[helper.make_opsetid("", 13)])
    path = tmp_path / "echo_lv.onnx"
    onnx.save(model, path)
    with pytest.raises(ModelError, match="card"):
        find_echo_model(tmp_path)
    card = {"task": "echo_lv_cavity", "input_size": [64, 64], "input_spacing_mm": 1.0, "training_data": "none (test)"}
    (tmp_path / "echo_lv.card.json").write_text(json.dumps({**card, "task": "sax"}))
    with pytest.raises(ModelError, match="task"):
        find_echo_model(tmp_path)
    (tmp_path / "echo_lv.card.json").write_text(json.dumps(card))
    found = find_echo_model(tmp_path)
    # a bright half-ellipse cavity (apex at the top, open at the bottom), 1 mm pixels
    yy, xx = np.mgrid[0:64, 0:64]
    cavity = (((yy - 50) / 40.0) ** 2 + ((xx - 32) / 15.0) ** 2 <= 1) & (yy <= 50)
    frames = np.stack([cavity * 1.0, cavity * 1.0])
    masks = segment_echo_cine(found, frames, (1.0, 1.0))
    assert np.array_equal(masks[0], cavity)
    c = open_contour(masks[0], (1.0, 1.0))
    apex = c[np.argmin(c[:, 0])]
    assert apex[0] == pytest.approx(10.0, abs=1.0) and apex[1] == pytest.approx(32.0, abs=1.5)
    assert c[0, 1] < 32 < c[-1, 1] and c[0, 0] == pytest.approx(50.0, abs=1.0) and c[-1, 0] == pytest.approx(50.0, abs=1.0)


def test_report_groups_the_sr_values_and_draws_the_strain_bullseye(study):
    from heartprint.report import build_report

    rep = build_report(study["res"], figures=True)
    [fn] = [s for s in rep["sections"] if s["id"] == "function"]
    by_kind = {s["kind"]: s for s in fn["series"]}
    assert [g["title"] for g in by_kind["sr"]["groups"]] == ["Volumes and ejection fraction",
                                                             "Doppler and diastolic function", "Other"]
    cine = by_kind["echo_cine"]
    assert [f["code"] for f in cine["figures"] if f["figure_kind"] == "bullseye"] == ["regional_longitudinal_strain"]
    assert cine["summary"][0].startswith("Global longitudinal strain -") and "frames per second" in cine["summary"][0]
    assert not any(".dcm" in line or "1.2.826" in line for line in cine["summary"])


def test_sr_and_fhir_carry_the_strain_values(study):
    from heartprint.io.fhir import build_fhir_bundle
    from heartprint.io.sr import build_sr

    res, cine = study["res"], _series(study["res"], "echo_cine")
    bundle = build_fhir_bundle(cine.measurements, patient=res.patient, study=res.study)
    obs = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"]
    codes = [{c["code"] for c in o["code"]["coding"]} for o in obs]
    # regional strain goes out under its DICOM code (DCM 130670 Longitudinal Lagrangian Strain)
    assert sum("gls" in c for c in codes) == 1 and sum("130670" in c for c in codes) == 6
    sites = {o["bodySite"]["coding"][0]["display"] for o in obs if "bodySite" in o}
    assert "left ventricle apical lateral segment" in sites
    sr, _ = build_sr(cine.measurements, source=cine.source_headers, modality="US")
    nums = []

    def walk(item):
        for c in getattr(item, "ContentSequence", []) or []:
            if c.ValueType == "NUM":
                nums.append((c.ConceptNameCodeSequence[0].CodeMeaning, float(c.MeasuredValueSequence[0].NumericValue)))
            walk(c)

    walk(sr)
    gls = {m.code: m.value for m in cine.measurements if m.segment is None}["gls"]
    assert [v for n, v in nums if "global longitudinal strain" in n.lower()] == [pytest.approx(gls)]
    assert sum(n == "Longitudinal Lagrangian Strain" for n, _ in nums) == 6, nums

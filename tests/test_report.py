"""heartprint.report: content, bull's-eye geometry, HTML in headless Chromium, PDF via poppler."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("jinja2")

from heartprint import DISCLAIMER  # noqa: E402
from heartprint.errors import InvalidInputError  # noqa: E402
from heartprint.report import BULLSEYE_LAYOUT, build_report, bullseye, render_report  # noqa: E402
from heartprint.report._content import format_value  # noqa: E402

SHA = "ab" * 32
MEMBER_SHA = "cd" * 32


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def study():
    """A real cine result (phantom labels → cine analysis → interpretation, male so ranges attach)."""
    from heartprint.cmr import analyze_cine_function
    from heartprint.phantoms import make_cine_sax
    from heartprint.pipeline import SeriesAnalysis, StudyResult, interpret_study

    ph = make_cine_sax(n_phases=12, matrix=(128, 128), seed=3)
    res = analyze_cine_function(ph.image, ph.labels, height_cm=175, weight_kg=75).to_dict()
    res["segmentation"] = {"model": "test-net", "model_sha256": SHA, "test_time_augmentation": False,
                           "ensemble": [{"file": "member.onnx", "sha256": MEMBER_SHA}]}
    uid = ph.image.series_uid or "1.2.3.4"
    labels = ph.image.with_array(ph.labels)
    sa = SeriesAnalysis(uid, "cine_sax", "analysed", res, labels)
    sr = StudyResult("phantom", [sa, SeriesAnalysis("9.9.9", "lge", "not_analysed", message="no analyser for kind 'lge' yet")],
                     [], [ph.image.study_uid or "1.2"])
    sr.interpretation = interpret_study(sr, facts={"sex": "male", "age": 60})
    doc = json.loads(json.dumps(sr.to_dict(), default=float))
    return {"doc": doc, "uid": uid, "image": ph.image, "labels": labels}


@pytest.fixture(scope="module")
def rendered(study, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    files = render_report(study["doc"], images={study["uid"]: study["image"]}, labels={study["uid"]: study["labels"]},
                          out_dir=out)
    return files


def _value(doc, code):
    res = doc["series"][0]["result"]
    return next(m["value"] for m in res["measurements"] if m["code"] == code and m.get("segment") is None)


# -- bull's-eye ----------------------------------------------------------------------------

#: AHA convention (Cerqueira 2002) written out independently of BULLSEYE_LAYOUT:
#: segment → (angle of its centre in degrees counter-clockwise from 3 o'clock, radius
#: fraction). Anterior at the top (90°), septum on the left (150°-210°), inferior at the
#: bottom (270°), lateral on the right.
AHA_EXPECTED = {
    1: (90, 0.875), 2: (150, 0.875), 3: (210, 0.875), 4: (270, 0.875), 5: (330, 0.875), 6: (30, 0.875),
    7: (90, 0.625), 9: (210, 0.625), 11: (330, 0.625),
    13: (90, 0.375), 14: (180, 0.375), 15: (270, 0.375), 16: (0, 0.375), 17: (0, 0.0),
}


def _pixel(fig, x, y):
    ax = fig.axes[0]
    fig.canvas.draw()
    buf = np.asarray(fig.canvas.buffer_rgba())
    px, py = ax.transData.transform((x, y))
    return buf[int(round(buf.shape[0] - py)), int(round(px)), :3].astype(int)


@pytest.mark.parametrize("k", sorted(AHA_EXPECTED))
def test_bullseye_segment_in_aha_position(k):
    import matplotlib.pyplot as plt

    values = {s: 0.0 for s in range(1, 18)}
    values[k] = 10.0
    fig = bullseye(values, label="test (mm)", cmap="viridis", vmin=0, vmax=10, annotate=False)
    cmap = plt.get_cmap("viridis")
    high = (np.array(cmap(1.0)[:3]) * 255).astype(int)
    low = (np.array(cmap(0.0)[:3]) * 255).astype(int)
    angle, r = AHA_EXPECTED[k]
    # off the segment centre by 10° (and 0.05 in radius) so edges and rounding cannot decide
    a = np.radians(angle + 10)
    rr = r + 0.05 if k != 17 else 0.1
    got = _pixel(fig, rr * np.cos(a), rr * np.sin(a))
    assert np.abs(got - high).max() <= 3, (k, got, high)
    # the opposite side of the plot is another segment at the low value
    a2 = np.radians(angle + 190)
    ro = r if k != 17 else 0.875
    assert np.abs(_pixel(fig, ro * np.cos(a2), ro * np.sin(a2)) - low).max() <= 3
    plt.close(fig)


def test_bullseye_layout_covers_17_segments_and_rejects_bad_keys():
    assert sorted(BULLSEYE_LAYOUT) == list(range(1, 18))
    spans = sum(a1 - a0 for s, (_, _, a0, a1) in BULLSEYE_LAYOUT.items() if s != 17)
    assert spans == pytest.approx(3 * 360)
    with pytest.raises(InvalidInputError, match="segment 18"):
        bullseye({18: 1.0}, label="x")
    with pytest.raises(InvalidInputError, match="segment 'apex'"):
        bullseye({"apex": 1.0}, label="x")


def test_bullseye_missing_segments_are_grey():
    import matplotlib.pyplot as plt

    fig = bullseye({"1": 5.0, "2": float("nan"), 3: None}, label="x", vmin=0, vmax=10, annotate=False)
    grey = _pixel(fig, 0.875 * np.cos(np.radians(160)), 0.875 * np.sin(np.radians(160)))
    assert np.abs(grey - 0xD9).max() <= 40  # light grey (hatched)
    plt.close(fig)


# -- content -------------------------------------------------------------------------------


def test_sections_by_clinical_question_and_not_assessed(study):
    ctx = build_report(study["doc"], figures=False)
    ids = [s["id"] for s in ctx["sections"]]
    assert ids == ["function", "ischaemia", "tissue", "coronary", "aetiology", "recommendations"]
    sec = {s["id"]: s for s in ctx["sections"]}
    assert sec["function"]["assessed"]
    for sid in ("ischaemia", "coronary"):
        assert not sec[sid]["assessed"] and sec[sid]["not_assessed"].startswith("Not assessed")
    # a series found but not analysed is named in its section
    assert "lge series 9.9.9" in sec["tissue"]["not_assessed"]


def test_rows_carry_unit_range_and_flag(study):
    doc = json.loads(json.dumps(study["doc"]))
    ctx = build_report(doc, figures=False)
    rows = {r["code"]: r for r in ctx["sections"][0]["series"][0]["measurements"]}
    edv = rows["lv_edv"]
    assert edv["unit"] == "mL" and edv["range"].endswith("mL") and edv["flag"] in ("normal", "high", "low")
    assert edv["range_ref"] and "Hudsmith" in ctx["references"][edv["range_ref"] - 1]
    # a range on the measurement itself wins and flags high/low
    res = doc["series"][0]["result"]
    ef = next(m for m in res["measurements"] if m["code"] == "lv_ef")
    ef["reference_range"] = {"low": 10.0, "high": 20.0, "population": "test", "reference": "test ref"}
    hr = next(m for m in res["measurements"] if m["code"] == "heart_rate")
    hr["reference_range"] = {"low": 100.0, "high": None}
    rows = {r["code"]: r for r in build_report(doc, figures=False)["sections"][0]["series"][0]["measurements"]}
    assert rows["lv_ef"]["flag"] == "high" and rows["lv_ef"]["range"] == "10.0–20.0 %"
    assert rows["heart_rate"]["flag"] == "low" and rows["heart_rate"]["range"] == "≥ 100.0 /min"


def test_findings_show_evidence_and_citation(study):
    doc = json.loads(json.dumps(study["doc"]))
    doc["interpretation"]["findings"].append({
        "code": "cad_rads_3", "statement": "CAD-RADS 3", "status": "present", "rule": "heartprint.clinical.cadrads.cad_rads",
        "citation": "Cury RC et al. CAD-RADS 2.0. JCCT 2022", "inputs": {"max_stenosis": {"value": 55.0, "unit": "%"}},
        "missing": [], "details": {}})
    ctx = build_report(doc, figures=False)
    cor = next(s for s in ctx["sections"] if s["id"] == "coronary")
    f = cor["findings"][0]
    assert cor["assessed"] and f["evidence"] == ["max_stenosis = 55.0 %"] and "Cury" in f["citation"]


# -- rendered files ------------------------------------------------------------------------


def test_html_is_self_contained_with_figures_versions_and_disclaimer(rendered, study):
    html = rendered.html.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", html), "external resource in the report"
    assert "<link" not in html and "<script" not in html
    style = html[html.index("<style>"): html.index("</style>")]
    assert '"DejaVu Sans"' in style and "&#34;" not in style  # CSS inlined unescaped
    imgs = re.findall(r'<img src="data:image/png;base64,', html)
    assert len(imgs) == 3  # volume curves, overlays, bull's-eye
    assert html.count(DISCLAIMER) == 2 and html.index(DISCLAIMER) < html.index("Ventricular function")
    assert "test-net" in html and SHA in html and MEMBER_SHA in html
    assert "Not assessed" in html
    assert not list(rendered.html.parent.glob(".*tmp")), "temporary files left behind"


def test_overlays_skipped_with_note_without_images(study, tmp_path):
    files = render_report(study["doc"], out_dir=tmp_path, pdf=False)
    html = files.html.read_text(encoding="utf-8")
    assert files.pdf is None
    assert "Segmentation overlays not drawn" in html and len(re.findall(r"<img ", html)) == 2


def test_pdf_missing_weasyprint_is_a_note(study, tmp_path, monkeypatch):
    from heartprint.report import _render

    monkeypatch.setattr(_render, "_weasyprint", lambda: (None, "PDF not written: WeasyPrint is unavailable (test)"))
    files = render_report(study["doc"], out_dir=tmp_path)
    assert files.pdf is None and files.notes and "WeasyPrint is unavailable" in files.html.read_text(encoding="utf-8")


def test_rejects_non_study_dict(tmp_path):
    with pytest.raises(InvalidInputError, match="heartprint.study/1"):
        render_report({"schema": "other"}, out_dir=tmp_path)


def test_ct_hooks_draw_calcium_map_and_stenosis_profile(study, tmp_path):
    doc = json.loads(json.dumps(study["doc"]))
    lesion = {"centroid_index": [5, 40, 60], "centroid_lps_mm": [10.0, 20.0, 30.0], "agatston": 120.0, "artery": "LAD"}
    arc = list(np.linspace(0, 60, 31))
    diam = [3.0 if not 20 <= a <= 30 else 1.5 for a in arc]
    vessel = {"centreline": {"name": "LAD"}, "arc_mm": arc, "diameter_mm": diam, "reference_diameter_mm": [3.0] * 31,
              "lesions": [{"start_mm": 20.0, "end_mm": 30.0, "mla_arc_mm": 25.0, "diameter_stenosis_pct": 50.0}]}
    doc["series"] += [
        {"series_uid": "5.5", "kind": "ct_calcium", "status": "analysed", "result": {"agatston": 120.0, "lesions": [lesion], "measurements": [], "qc": []}},
        {"series_uid": "6.6", "kind": "ct_angio", "status": "analysed", "result": {"vessels": [vessel], "measurements": [], "qc": []}},
        {"series_uid": "7.7", "kind": "ct_calcium", "status": "analysed", "result": {"agatston": 0.0, "lesions": [], "measurements": [], "qc": []}},
    ]
    ctx = build_report(doc)
    cor = next(s for s in ctx["sections"] if s["id"] == "coronary")
    titles = [f["title"] for s in cor["series"] for f in s["figures"]]
    assert titles == ["Calcium lesion map", "Stenosis profiles"]  # no lesions: skipped, not a crash


def test_cli_helper_writes_report_when_source_unreadable(study, tmp_path, capsys):
    from heartprint.cli import _write_report

    files = _write_report(study["doc"], tmp_path, {study["uid"]: study["labels"]}, {}, quiet=False)  # no source image
    err = capsys.readouterr()
    assert files is not None and files.html.is_file() and "report written to" in err.out
    assert "overlays of series" in err.err


# -- headless Chromium and poppler ---------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _chromium(args, profile):
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--no-first-run", f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=90)


def _nonblank(png_path: Path) -> None:
    import matplotlib.image as mpimg

    a = mpimg.imread(str(png_path))[..., :3]
    assert a.std() > 0.05 and (a < 0.5).mean() > 0.005, f"{png_path} looks blank"


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium)")
def test_html_in_headless_chromium(rendered, study, tmp_path):
    url = rendered.html.resolve().as_uri()
    dom = _chromium(["--dump-dom", url], tmp_path / "profile").stdout
    assert "</html>" in dom
    for code in ("lv_ef", "lv_edv", "rv_edv"):
        assert f'data-code="{code}"><td>' in dom
        assert f'<td class="num">{format_value(_value(study["doc"], code))}</td>' in dom
    assert len(re.findall(r'<img src="data:image/png;base64,', dom)) == 3
    shot = tmp_path / "shot.png"
    _chromium([f"--screenshot={shot}", "--window-size=1000,1400", url], tmp_path / "profile")
    _nonblank(shot)


@pytest.mark.skipif(shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None,
                    reason="poppler-utils not installed (apt-get install poppler-utils)")
def test_pdf_page_and_text(rendered, study, tmp_path):
    if rendered.pdf is None:
        pytest.skip("WeasyPrint unavailable: no PDF")
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(rendered.pdf), str(tmp_path / "p")], check=True)
    _nonblank(next(tmp_path.glob("p*.png")))
    text = subprocess.run(["pdftotext", str(rendered.pdf), "-"], capture_output=True, text=True, check=True).stdout
    for code in ("lv_ef", "lv_edv"):
        assert format_value(_value(study["doc"], code)) in text
    assert "decision support" in text

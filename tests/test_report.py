"""heartprint.report on typed results: header, sections by analyser, bull's-eyes from segment
maps, clinical precision, plain patient-facing text, HTML in headless Chromium, PDF via poppler."""

from __future__ import annotations

import dataclasses
import html as htmllib
import json
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("jinja2")

from heartprint import DISCLAIMER  # noqa: E402
from heartprint.clinical.interpret import Interpretation  # noqa: E402
from heartprint.errors import InvalidInputError  # noqa: E402
from heartprint.measure import Finding, Measurement, QCFlag, Recommendation, ReferenceRange  # noqa: E402
from heartprint.report import (  # noqa: E402
    BULLSEYE_LAYOUT, build_report, bullseye, choose_overlay_slices, render_report,
)
from heartprint.report._content import format_value, plain_text, readable_name  # noqa: E402
from heartprint.report._render import render_html  # noqa: E402
from heartprint.results import (  # noqa: E402
    PatientIdentity, Provenanced, SegmentValues, SeriesResult, StudyInfo, StudyResult,
)

UID = "1.2.826.0.1.3680043.8.498.11111111111111111111"
UID_LGE = "1.2.826.0.1.3680043.8.498.22222222222222222222"
UID_T2 = "1.2.826.0.1.3680043.8.498.33333333333333333333"
STUDY_UID = "1.2.826.0.1.3680043.8.498.99999999999999999999"


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(demo_patient_dicom):
    """The small demo patient through the real pipeline: a CMR study (cine, LGE, T1) and a
    calcium CT study of the same patient (each the other's history)."""
    from heartprint.pipeline import AnalysisOptions, analyze

    root = demo_patient_dicom[0]
    results = analyze(root, AnalysisOptions(tta=False))  # the report, not the network, is under test
    cmr = next(r for r in results if "MR" in r.study.modalities)
    ct = next(r for r in results if "CT" in r.study.modalities)
    return {"cmr": cmr, "ct": ct, "root": root}


@pytest.fixture(scope="module")
def cmr_ctx(demo):
    return build_report(demo["cmr"])


@pytest.fixture(scope="module")
def rendered(demo, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return render_report(demo["cmr"], out)


@pytest.fixture(scope="module")
def rendered_ct(demo, tmp_path_factory):
    return render_report(demo["ct"], tmp_path_factory.mktemp("report_ct"), pdf=False)


def _patient_facing(html: str) -> str:
    """Visible text of everything before the technical appendix."""
    body = html[html.index("<body>"): html.index('<section id="appendix">')]
    text = re.sub(r"<[^>]+>", " ", body)
    return re.sub(r"\s+", " ", htmllib.unescape(text))


def _row(ctx, code):
    return next(m for sec in ctx["sections"] for s in sec["series"] for m in s["measurements"] if m["code"] == code)


def _value(result, code):
    return next(m.value for s in result.analysed() for m in s.measurements if m.code == code and m.segment is None)


def _section(ctx, sid):
    return next(s for s in ctx["sections"] if s["id"] == sid)


def _handmade(**kw) -> StudyResult:
    """A small hand-built study: one cine series (with a QC warning), a failed LGE series, and
    a series of a kind no analyser takes."""
    ms = [
        Measurement(code="lv_ef", name="LV ejection fraction", value=55.7588, unit="%", source=UID, modality="MR",
                    reference_range=ReferenceRange(low=57.0, high=77.0, population="men", reference="Ref A (✅S: abstract)"),
                    z_score=-1.234),
        Measurement(code="lv_edv", name="LV end-diastolic volume", value=141.449, unit="mL", phase="ED", source=UID,
                    modality="MR"),
        Measurement(code="lv_mass", name="LV myocardial mass (ED)", value=133.19, unit="g", phase="ED", source=UID,
                    modality="MR", reference="Density 1.05 g/mL (constant not verified against the paper; "
                                             "clinical_reference.md tag ⚠M)"),
        Measurement(code="lv_max_wall_thickness", name="LV maximal end-diastolic wall thickness", value=12.8272,
                    unit="mm", source=UID, modality="MR"),
        Measurement(code="bsa", name="Body surface area", value=1.90941, unit="m2", source=UID, modality="MR"),
    ] + [Measurement(code="lv_wall_thickness", name=f"LV wall thickness, segment {k}", value=8.0 + k / 10, unit="mm",
                     segment=k, source=UID, modality="MR") for k in range(1, 17)]
    cine = SeriesResult(
        UID, "cine_sax", "analysed", measurements=ms, series_description="CINE SAX",
        qc=[QCFlag(code="segments_incomplete", severity="warning",
                   message=f"segments_incomplete: segment 17 has no value in series {UID} (file /data/x/a.dcm)"),
            QCFlag(code="orientation", severity="info", message="consensus orientation used"),
            QCFlag(code="bad_fit", severity="error", message="fit residual 0.35123 above 0.1")],
        segment_maps=[SegmentValues("lv_wall_thickness", "ED wall thickness (mm)", "mm",
                                    {k: 8.0 + k / 10 for k in range(1, 17)}, 0.0, 15.0, "viridis")],
        method="summation of discs",
        model={"model": "test-net", "model_sha256": "ab" * 32, "test_time_augmentation": False,
               "ensemble": [{"file": "member.onnx", "sha256": "cd" * 32}]},
    )
    lge = SeriesResult(UID_LGE, "lge", "failed", series_description="LGE PSIR",
                       message=f"series {UID_LGE}: needs an analysed cine_sax series in the same study")
    t2 = SeriesResult(UID_T2, "t2_map", "not_analysed", series_description="T2 MAP", message="no analyser for kind 't2_map' yet")
    patient = PatientIdentity(
        patient_id="P-1", name="DOE^JANE", sex=Provenanced("female", "DICOM"),
        birth_date=Provenanced(date(1970, 5, 1), "DICOM"), height_cm=Provenanced(165.0, "command line"),
        weight_kg=Provenanced(60.0, "DICOM"), bsa_m2=Provenanced(1.66, "derived (BSA mosteller from height 165 cm)"),
    )
    args = dict(source="/data/studies/p1", patient=patient,
                study=StudyInfo(STUDY_UID, date(2024, 3, 2), "CMR heart", modalities=("MR",)),
                series=[cine, lge, t2])
    args.update(kw)
    return StudyResult(**args)


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


def test_overlay_slices_base_mid_apex_without_levels():
    lab = np.zeros((2, 9, 20, 20), np.uint8)
    for z in range(9):  # cavity shrinks from slice 0 (base) to slice 8 (apex)
        r = 9 - z
        lab[0, z, 10 - r // 2: 10 + r // 2 + 1, 10 - r // 2: 10 + r // 2 + 1] = 1
    got = choose_overlay_slices(lab, 0)
    assert list(got) == ["basal", "mid-ventricular", "apical"] and got["basal"] < got["mid-ventricular"] < got["apical"]
    got = choose_overlay_slices(lab, 0, {"base_first": False})  # geometry says the base is at the end
    assert got["basal"] > got["apical"]
    levels = {"1": "apex", "2": "apical", "3": "apical", "4": "mid", "5": "mid", "6": "basal", "7": "basal"}
    assert choose_overlay_slices(lab, 0, {"levels_ed": levels}) == {"basal": 7, "mid-ventricular": 5, "apical": 3}


# -- the demo study through the pipeline ---------------------------------------------------


def test_cmr_report_draws_three_bullseyes_from_segment_maps(demo, cmr_ctx, rendered):
    figs = [f for sec in cmr_ctx["sections"] for s in sec["series"] for f in s["figures"] if f["figure_kind"] == "bullseye"]
    assert sorted(f["code"] for f in figs) == ["lge_transmurality", "lv_wall_thickness", "native_t1"]
    html = rendered.html.read_text(encoding="utf-8")
    assert html.count('data-figure="bullseye"') == 3
    titles = re.findall(r'data-figure="bullseye"><img [^>]*data-title="([^"]+)"', html)
    assert any("wall thickness" in t for t in titles)
    assert any("LGE transmurality" in t for t in titles)
    assert any("native T1" in t.replace("Native", "native") for t in titles)
    # each bull's-eye sits in its analyser's section
    tissue = _section(cmr_ctx, "tissue")
    codes = {f["code"] for s in tissue["series"] for f in s["figures"] if f["figure_kind"] == "bullseye"}
    assert codes == {"lge_transmurality", "native_t1"}


def test_header_names_patient_study_and_sources(demo, cmr_ctx, rendered):
    r = demo["cmr"]
    p = cmr_ctx["header"]["patient"]
    assert p["name"] == "PHANTOM, DEMO" and p["id"] == "HP-DEMO-0001"
    assert p["sex"] == {"value": "male", "source": "DICOM"}
    assert p["age"]["value"] == "50 years" and p["age"]["source"] == "DICOM"
    assert p["height"] == {"value": "175 cm", "source": "DICOM"} and p["weight"] == {"value": "75 kg", "source": "DICOM"}
    assert p["bsa"]["value"] == "1.91 m²" and p["bsa"]["source"].startswith("calculated from height and weight")
    text = _patient_facing(rendered.html.read_text(encoding="utf-8"))
    for s in ("PHANTOM, DEMO", "HP-DEMO-0001", "male (DICOM)", "50 years (DICOM)", r.study.date.isoformat(),
              r.study.description, "175 cm (DICOM)", "75 kg (DICOM)", "1.91 m²", "Mosteller"):
        assert s in text, s


def test_header_says_command_line_for_an_overridden_height(demo):
    from heartprint.pipeline import AnalysisOptions, patient_identity

    r = demo["cmr"]
    headers = r.series[0].source_headers
    patient = patient_identity(headers, AnalysisOptions(height_cm=180))
    ctx = build_report(dataclasses.replace(r, patient=patient), figures=False)
    p = ctx["header"]["patient"]
    assert p["height"] == {"value": "180 cm", "source": "command line"}
    assert p["weight"] == {"value": "75 kg", "source": "DICOM"}
    text = _patient_facing(render_html(ctx))
    assert "180 cm (command line)" in text and "75 kg (DICOM)" in text


def test_studies_used_lists_this_study_and_history(demo, cmr_ctx, rendered):
    r, ct = demo["cmr"], demo["ct"]
    used = cmr_ctx["header"]["studies_used"]
    assert [u["description"] for u in used] == [r.study.description, ct.study.description]
    assert used[0]["role"] == "this study" and used[1]["modalities"] == "CT"
    html = rendered.html.read_text(encoding="utf-8")
    block = html[html.index('id="studies-used"'): html.index("</table>", html.index('id="studies-used"'))]
    assert r.study.description in block and ct.study.description in block


def test_clinical_precision(demo, cmr_ctx, rendered):
    r = demo["cmr"]
    ef = _row(cmr_ctx, "lv_ef")["value"]
    assert ef == str(round(_value(r, "lv_ef"))) and "." not in ef
    assert _row(cmr_ctx, "lv_edv")["value"] == f"{_value(r, 'lv_edv'):.0f}"
    assert _row(cmr_ctx, "lv_massi")["value"] == f"{_value(r, 'lv_massi'):.0f}"
    assert _row(cmr_ctx, "lv_max_wall_thickness")["value"] == f"{_value(r, 'lv_max_wall_thickness'):.1f}"
    assert _row(cmr_ctx, "native_t1")["value"] == f"{_value(r, 'native_t1'):.0f}"
    assert _row(cmr_ctx, "bsa")["value"] == f"{_value(r, 'bsa'):.2f}"
    assert _row(cmr_ctx, "heart_rate")["value"] == f"{_value(r, 'heart_rate'):.0f}"
    assert _row(cmr_ctx, "lge_extent")["value"] == f"{_value(r, 'lge_extent'):.0f}"
    html = rendered.html.read_text(encoding="utf-8")
    assert re.search(r'data-code="lv_ef"><td>[^<]*(?:<[^>]+>[^<]*)*?</td><td class="num">' + ef + "</td>", html)
    # per-segment LGE transmurality whole numbers, wall thickness one decimal
    seg = {g["code"]: g for sec in cmr_ctx["sections"] for s in sec["series"] for g in s["segmental"]}
    assert seg["lge_transmurality"]["values"] and seg["lv_wall_thickness"]["values"]  # the checks below are not vacuous
    assert all(re.fullmatch(r"\d+", v["value"]) for v in seg["lge_transmurality"]["values"].values())
    assert all(re.fullmatch(r"\d+\.\d", v["value"]) for v in seg["lv_wall_thickness"]["values"].values())
    assert format_value(12.8272, "lv_max_wall_thickness", "mm") == "12.8"
    assert format_value(55.7588, "lv_ef", "%") == "56" and format_value(-0.2, None, "%") == "0"


def test_precision_by_code_only_where_the_unit_does_not_decide():
    from heartprint.concepts import CONCEPTS
    from heartprint.report import PRECISION, PRECISION_BY_CODE

    for code, d in PRECISION_BY_CODE.items():
        assert code in CONCEPTS and PRECISION.get(CONCEPTS[code].unit) != d, code
    assert format_value(1.90941, "bsa", "m2") == "1.91" and format_value(0.8123, "ffr", "1") == "0.81"
    assert format_value(24.36, "t2star", "ms") == "24.4" and format_value(24.36, "t2", "ms") == "24"


@pytest.mark.parametrize("which", ["cmr", "ct"])
def test_patient_facing_text_is_plain(demo, rendered, rendered_ct, which):
    files = rendered if which == "cmr" else rendered_ct
    r = demo[which]
    html = files.html.read_text(encoding="utf-8")
    text = _patient_facing(html)
    uids = [s.series_uid for s in r.series] + [r.study.study_uid] + [h.study_uid for h in r.history]
    for uid in uids:
        assert uid not in text
    assert str(demo["root"]) not in text and r.source not in text
    for bad in ("⚠", "✅", "☑", "{'", "None", "Provenanced(", "ReferenceRange(", "verified_by", "(0010,", "(0018,",
                "clinical_reference", ".md", "[('"):
        assert bad not in text, (bad, text[max(0, text.find(bad) - 100): text.find(bad) + 100])
    assert not re.search(r"\b\d+\.\d{3,}\s?(?:%|mm|mL|ms|g)\b", text), "machine-precision number in patient-facing text"
    # the UIDs are in the technical appendix
    appendix = html[html.index('<section id="appendix">'):]
    assert "Series and software" in appendix and all(s.series_uid in appendix for s in r.series)


def test_overlays_at_three_levels(cmr_ctx, rendered):
    overlay = next(f for sec in cmr_ctx["sections"] for s in sec["series"] for f in s["figures"]
                   if f["figure_kind"] == "overlay")
    assert overlay["levels"] == ["basal", "mid-ventricular", "apical"]
    html = rendered.html.read_text(encoding="utf-8")
    cap = re.search(r'data-figure="overlay">.*?<figcaption>(.*?)</figcaption>', html, re.S).group(1)
    for level in ("basal", "mid-ventricular", "apical"):
        assert level in cap
    kinds = re.findall(r'data-figure="(\w+)"', html)
    assert {"curves", "overlay", "bullseye"} <= set(kinds)


def test_z_scores_shown_where_they_exist(demo, cmr_ctx, rendered):
    ann = {m.code: m.z_score for m in demo["cmr"].interpretation.measurements if m.segment is None and m.z_score is not None}
    assert "lv_edv" in ann
    row = _row(cmr_ctx, "lv_edv")
    assert row["z"] == f"z = {ann['lv_edv']:+.1f}"
    assert _row(cmr_ctx, "lv_ef")["z"] == ("" if "lv_ef" not in ann else f"z = {ann['lv_ef']:+.1f}")
    html = rendered.html.read_text(encoding="utf-8")
    assert f'<td class="z">{row["z"]}</td>' in html


def test_ct_study_report(demo, rendered_ct):
    ctx = build_report(demo["ct"], figures=False)
    cor = _section(ctx, "coronary")
    assert cor["assessed"] and cor["series"][0]["label"].startswith("Coronary calcium scoring CT")
    assert _row(ctx, "cac_agatston")["value"] == f"{_value(demo['ct'], 'cac_agatston'):.0f}"
    assert [u["modalities"] for u in ctx["header"]["studies_used"]] == ["CT", "MR"]
    html = rendered_ct.html.read_text(encoding="utf-8")
    assert 'data-figure="lesions"' in html
    assert "not recorded" in html  # CT headers carry no height or weight


# -- hand-built results --------------------------------------------------------------------


def test_sections_come_from_analysers_and_unanalysed_series_are_listed():
    ctx = build_report(_handmade(), figures=False)
    ids = [s["id"] for s in ctx["sections"]]
    assert ids == ["function", "ischaemia", "tissue", "coronary", "aetiology", "recommendations"]
    fn, tissue = _section(ctx, "function"), _section(ctx, "tissue")
    assert fn["assessed"] and fn["series"][0]["label"] == "Cine short-axis CMR (CINE SAX)"
    for sid in ("ischaemia", "coronary"):
        assert not _section(ctx, sid)["assessed"] and _section(ctx, sid)["not_assessed"].startswith("Not assessed")
    # the failed LGE series is named in its section, without its UID
    assert len(tissue["unanalysed"]) == 1 and "could not be analysed" in tissue["unanalysed"][0]
    assert UID_LGE not in tissue["unanalysed"][0]
    # a kind no analyser takes: the plain "found but not analysed" list
    assert len(ctx["not_analysed"]) == 1 and "T2 MAP" in ctx["not_analysed"][0]
    html = render_html(ctx)
    assert "Series found but not analysed" in html


def test_qc_plain_sentences_grouped_by_severity():
    ctx = build_report(_handmade(), figures=False)
    assert [g["severity"] for g in ctx["qc"]] == ["error", "warning", "info"]
    assert ctx["qc_flag_count"] == 2
    warn = ctx["qc"][1]["items"][0]
    assert warn["text"].startswith("Segment 17 has no value in the series") and warn["text"].endswith(".")
    assert UID not in warn["text"] and "/data" not in warn["text"] and "segments_incomplete" not in warn["text"]
    assert ctx["qc"][0]["items"][0]["text"] == "Fit residual 0.35 above 0.1."
    text = _patient_facing(render_html(ctx))
    assert "Errors" in text and "Warnings" in text and "For information" in text


def test_header_of_handmade_study():
    ctx = build_report(_handmade(), figures=False)
    p = ctx["header"]["patient"]
    assert p["name"] == "DOE, JANE" and p["sex"]["value"] == "female"
    assert p["birth_date"] == {"value": "1970-05-01", "source": "DICOM"}
    assert p["age"] == {"value": "53 years", "source": "calculated from the birth date and the study date"}
    assert p["height"] == {"value": "165 cm", "source": "command line"}
    assert readable_name("DOE^JANE^Q^DR^JR") == "DOE, DR JANE Q JR" and readable_name("") == ""
    empty = build_report(_handmade(patient=PatientIdentity()), figures=False)["header"]["patient"]
    assert empty["name"] == "not recorded" and empty["height"]["value"] == "not recorded"


def test_rows_carry_unit_range_flag_z_and_unverified_note():
    ctx = build_report(_handmade(), figures=False)
    ef = _row(ctx, "lv_ef")
    assert ef["value"] == "56" and ef["range"] == "57–77 %" and ef["flag"] == "low" and ef["z"] == "z = -1.2"
    assert ef["range_ref"] and "Ref A" in ctx["appendix"]["references"][ef["range_ref"] - 1]
    assert not any("✅" in ref for ref in ctx["appendix"]["references"])
    mass = _row(ctx, "lv_mass")
    assert mass["unverified"] and not ef["unverified"]
    text = _patient_facing(render_html(ctx))
    assert "has not been checked against the source publication" in text
    assert "⚠" not in text and "clinical_reference" not in text


def test_findings_and_recommendations_in_plain_words():
    f_cad = Finding(code="cad_rads_3", statement="CAD-RADS 3 (max stenosis 55.4321 %)", status="present",
                    rule="heartprint.clinical.cadrads.cad_rads", citation="Cury RC et al. CAD-RADS 2.0. JCCT 2022 (✅S)",
                    inputs={"max_stenosis": {"value": 55.4321, "unit": "%", "source": UID, "modality": "CT"}})
    f_lge = Finding(code="lge_ischaemic_pattern", statement="Ischaemic LGE", status="present",
                    rule="heartprint.clinical.multimodality.lge_findings", citation="Kim RJ 2000",
                    details={"viability_note": "LGE >50 % transmural: low likelihood of recovery (Kim RJ 2000; ⚠M)"})
    f_na = Finding(code="lake_louise", statement="not assessable: native_t1=999.505 given without a site normal range",
                   status="not_assessable", rule="heartprint.clinical.tissue.lake_louise", citation="Ferreira 2018",
                   missing=["site normal range: pass native_t1_normal=ReferenceRange(high=...)"])
    rec = Recommendation(code="ccta", action="CCTA for >5–50 % ⚠M (class not verified)", citation="ESC 2024 (class ⚠M)",
                         recommendation_class="I", level_of_evidence="B", findings=["ptp"])
    interp = Interpretation(findings=[f_cad, f_lge], recommendations=[rec], not_assessable=[f_na])
    ctx = build_report(_handmade(interpretation=interp), figures=False)
    cad = _section(ctx, "coronary")["findings"][0]
    assert cad["statement"] == "CAD-RADS 3 (max stenosis 55 %)."
    assert cad["evidence"] == ["coronary diameter stenosis = 55 % (CT)"]
    assert cad["citation"] == "Cury RC et al. CAD-RADS 2.0. JCCT 2022"
    lge = _section(ctx, "tissue")["findings"][0]
    assert lge["unverified"] and lge["notes"] == ["LGE >50 % transmural: low likelihood of recovery."]
    na = _section(ctx, "tissue")["not_assessable"][0]
    assert "ReferenceRange" not in na["statement"] + " ".join(na["missing"]) and "999.505" not in na["statement"]
    r = _section(ctx, "recommendations")["recommendations"][0]
    assert r["action"] == "CCTA for >5–50 %." and r["unverified"] and r["class"] == "I" and r["level"] == "B"
    text = _patient_facing(render_html(ctx))
    assert "⚠" not in text and "✅" not in text and "heartprint.clinical" not in text
    assert "The recommendation or its class has not been checked against the source publication." in text


def test_interpretation_failure_and_absence_are_said():
    ctx = build_report(_handmade(interpretation_error=f"bad value in series {UID}"), figures=False)
    assert ctx["interpretation_note"].startswith("The guideline interpretation failed") and UID not in ctx["interpretation_note"]
    assert _section(ctx, "aetiology")["not_assessed"] == "Not assessed: the interpretation of the measurements failed."
    ctx = build_report(_handmade(), figures=False)
    assert "not interpreted" in ctx["interpretation_note"]


def test_figures_chosen_by_figure_data_not_kind():
    from heartprint.phantoms import make_cine_sax

    ph = make_cine_sax(n_phases=8, matrix=(96, 96), seed=3)
    lesion = {"centroid_index": [5, 40, 60], "centroid_lps_mm": [10.0, 20.0, 30.0], "agatston": 120.0, "artery": "LAD"}
    arc = list(np.linspace(0, 60, 31))
    vessel = {"centreline": {"name": "LAD"}, "arc_mm": arc,
              "diameter_mm": [3.0 if not 20 <= a <= 30 else 1.5 for a in arc],
              "reference_diameter_mm": [3.0] * 31,
              "lesions": [{"start_mm": 20.0, "end_mm": 30.0, "mla_arc_mm": 25.0, "diameter_stenosis_pct": 50.0}]}
    cine_like = SeriesResult("9.1", "cine_sax", "analysed", figure_data={
        "overlay": "cine", "phases": {"lv_ed": 0, "lv_es": 3},
        "curves": {"time_ms": [0, 100, 200], "lv_cavity": [100, 80, 90]}},
        image=ph.image, labels=ph.image.with_array(ph.labels))
    # a calcium series with lesions, one with none, and a stenosis profile on a calcium-kind series
    cal = SeriesResult("9.2", "ct_calcium", "analysed", figure_data={"lesions": [lesion]})
    cal_none = SeriesResult("9.3", "ct_calcium", "analysed", figure_data={"lesions": []})
    prof = SeriesResult("9.4", "ct_calcium", "analysed", figure_data={"vessels": [vessel]})
    no_img = SeriesResult("9.5", "cine_sax", "analysed", figure_data={"overlay": "cine", "phases": {"lv_ed": 0, "lv_es": 3}})
    r = _handmade(series=[cine_like, cal, cal_none, prof, no_img])
    ctx = build_report(r)
    fn = [[f["figure_kind"] for f in s["figures"]] for s in _section(ctx, "function")["series"]]
    assert fn == [["curves", "overlay"], []]
    cor = [[f["figure_kind"] for f in s["figures"]] for s in _section(ctx, "coronary")["series"]]
    assert cor == [["lesions"], [], ["stenosis"]]
    assert any("Segmentation overlays not drawn" in n for n in _section(ctx, "function")["notes"])


def test_render_rejects_a_dict_and_writes_self_contained_files(rendered, tmp_path):
    with pytest.raises(InvalidInputError, match="StudyResult"):
        render_report({"schema": "heartprint.study/1"}, tmp_path)
    html = rendered.html.read_text(encoding="utf-8")
    assert rendered.html.name == "report.html" and (rendered.pdf is None or rendered.pdf.name == "report.pdf")
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", html), "external resource in the report"
    assert "<link" not in html and "<script" not in html
    style = html[html.index("<style>"): html.index("</style>")]
    assert '"DejaVu Sans"' in style and "&#34;" not in style  # CSS inlined unescaped
    assert html.count(DISCLAIMER) == 2 and html.index(DISCLAIMER) < html.index("Ventricular function")
    assert "heartprint-sax-unet" in html[html.index('<section id="appendix">'):]
    assert "Not assessed" in html
    assert not list(rendered.html.parent.glob(".*tmp")), "temporary files left behind"


def test_text_only_and_pdf_missing_weasyprint_is_a_note(tmp_path, monkeypatch):
    from heartprint.report import _render

    monkeypatch.setattr(_render, "_weasyprint", lambda: (None, "PDF not written: WeasyPrint is unavailable (test)"))
    files = render_report(_handmade(), tmp_path, figures=False)
    html = files.html.read_text(encoding="utf-8")
    assert files.pdf is None and files.notes and "WeasyPrint is unavailable" in html
    assert "<img " not in html


def test_plain_text_rules():
    assert plain_text(f"overlay of series {UID}: shape (3, 4)") == "overlay of the series: shape (3, 4)"
    assert plain_text("section 7.1.1.1 (HCM)") == "section 7.1.1.1 (HCM)"  # not a UID
    assert plain_text("rate from (0018,1088) tag") == "rate from tag"
    assert plain_text("value None; {'a': 1}") == "value unknown; a: 1"
    assert plain_text("see /data/p1/x.dcm now") == "see now"
    assert plain_text("LVEF 55.7588 %, BSA 1.90941 m2, max 12.8272 mm") == "LVEF 56 %, BSA 1.91 m2, max 12.8 mm"
    assert plain_text("lv_ef low") == "LV ejection fraction low"


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
def test_html_in_headless_chromium(rendered, cmr_ctx, tmp_path):
    url = rendered.html.resolve().as_uri()
    dom = _chromium(["--dump-dom", url], tmp_path / "profile").stdout
    assert "</html>" in dom
    for code in ("lv_ef", "lv_edv", "rv_edv"):
        assert f'data-code="{code}"><td>' in dom
        assert f'<td class="num">{_row(cmr_ctx, code)["value"]}</td>' in dom
    n_figs = sum(len(s["figures"]) for sec in cmr_ctx["sections"] for s in sec["series"])
    assert len(re.findall(r'<img src="data:image/png;base64,', dom)) == n_figs >= 5
    assert "PHANTOM, DEMO" in dom
    shot = tmp_path / "shot.png"
    _chromium([f"--screenshot={shot}", "--window-size=1000,1400", url], tmp_path / "profile")
    _nonblank(shot)


@pytest.mark.skipif(shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None,
                    reason="poppler-utils not installed (apt-get install poppler-utils)")
def test_pdf_page_and_text(rendered, cmr_ctx, tmp_path):
    if rendered.pdf is None:
        pytest.skip("WeasyPrint unavailable: no PDF")
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(rendered.pdf), str(tmp_path / "p")], check=True)
    _nonblank(next(tmp_path.glob("p*.png")))
    text = subprocess.run(["pdftotext", str(rendered.pdf), "-"], capture_output=True, text=True, check=True).stdout
    for code in ("lv_ef", "lv_edv", "lv_max_wall_thickness"):
        assert _row(cmr_ctx, code)["value"] in text
    assert "decision support" in text and "PHANTOM, DEMO" in text and "HP-DEMO-0001" in text


def test_end_to_end_verdicts_in_json_sr_and_fhir(demo, tmp_path):
    """The phantom patient (DICOM, with its header's sex and age): the cine measurements with a verified
    range carry the same verdict in measurements.json, the SR and the FHIR bundle (issue 16 item 3)."""
    from test_verdicts import NORMALITY, _observations, _sr_codes, _sr_props

    pytest.importorskip("fhir.resources.R4B")
    from heartprint.clinical.reference_ranges import annotate
    from heartprint.io.sr import NORMALITY as SR_CODES
    from heartprint.outputs import write_study_outputs

    cmr = demo["cmr"]
    sex, age = cmr.patient.sex.value, float(cmr.patient.age_years.value)
    out = write_study_outputs(cmr, tmp_path / "out", report=False)
    assert not out.problems, out.problems

    (cine,) = cmr.analysed("cine_sax")
    judged = [m for m in cine.measurements if m.interpretation is not None]
    assert "lv_ef" in {m.code for m in judged}
    for m in cine.measurements:  # exactly what annotate gives for the facts given
        bare = m.model_copy(update={"reference_range": None, "z_score": None, "interpretation": None})
        assert m == annotate(bare, sex=sex, age=age)

    doc = json.loads((out.path / "measurements.json").read_text())
    (sdoc,) = [s for s in doc["series"] if s["kind"] == "cine_sax"]
    ef = next(m for m in sdoc["measurements"] if m["code"] == "lv_ef" and "segment" not in m)
    want = next(m for m in judged if m.code == "lv_ef")
    assert ef["interpretation"] == want.interpretation
    assert (ef["reference_range"]["low"], ef["reference_range"]["high"]) == (want.reference_range.low,
                                                                             want.reference_range.high)

    from heartprint.outputs import uid_file_part

    sr_path = out.path / "dicom" / f"sr_{uid_file_part(cine.series_uid)}.dcm"  # the cine's (LGE and T1 have their own)
    props = _sr_props(sr_path)
    code = SR_CODES[want.interpretation]
    assert props["8811-2"][NORMALITY][:2] == (code.value, "SCT")

    bundle = json.loads((out.path / "fhir_bundle.json").read_text())
    obs = _observations(bundle)["lv_ef"]
    assert obs["interpretation"][0]["coding"][0]["code"] == {"low": "L", "normal": "N", "high": "H"}[want.interpretation]
    # un-annotated measurements carry none of it, in every output
    bare = [m for m in cine.measurements if m.reference_range is None and m.interpretation is None
            and m.segment is None and m.vessel is None]
    assert bare, "every global cine measurement has a verdict: nothing left to check the converse on"
    plain_obs = [o for o in (e["resource"] for e in bundle["entry"]) if o["resourceType"] == "Observation"
                 and o["code"]["coding"][-1]["code"] == bare[0].code and "bodySite" not in o]
    assert plain_obs and all("interpretation" not in o and "referenceRange" not in o for o in plain_obs)
    assert props[next(iter(_sr_codes(bare[0])))] == {}

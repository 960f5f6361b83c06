"""The nuclear modality's analysers: SPECT/PET myocardial perfusion, stress and rest.

A perfusion study has two series, stress and rest, of kinds ``nm_perfusion_stress`` and
``nm_perfusion_rest`` (told apart by the header, :mod:`heartprint.io.classify`; override with
``--kind UID=nm_perfusion_stress``). The rest series is analysed first; the stress analyser
reads its result when there is one (summed difference score, ischaemia, TID). A series whose
state the header does not give (kind ``nm_perfusion``) is measured (LV axis, polar map,
gated function) but not scored: stress and rest limits differ, and the state is never guessed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from heartprint.image import Image
from heartprint.measure import Measurement, QCFlag, Severity
from heartprint.results import Analyser, AnalysisContext, SegmentValues, SeriesResult

__all__ = ["ANALYSERS"]

_SCORE_REFERENCE = ("Hachamovitch R et al. Circulation 2003;107:2900-2907 (five-point scores, summed scores, "
                    "% myocardium = summed score / 68)")
_SEGMENT_REFERENCE = "Cerqueira MD et al. Circulation 2002;105:539-542. doi:10.1161/hc0402.102975"


def _flag(code: str, severity: Severity, message: str, **details: Any) -> QCFlag:
    return QCFlag(code=code, severity=severity, message=message, details=details)


def _measure_state(image: Image, ctx: AnalysisContext, state: str | None) -> dict[str, Any]:
    """Axis, polar map and (gated) function of one series; what every state shares."""
    from heartprint.nuclear._axis import find_lv_axis
    from heartprint.nuclear._polar import polar_map

    # a gated image is summed over its gates by find_lv_axis and polar_map (heartprint.nuclear._axis.summed_volume)
    override = (ctx.options.nm_axes or {}).get(image.series_uid or "")
    fit = find_lv_axis(image, override=override)
    qc: list[QCFlag] = [_flag("lv_axis_doubtful", Severity.WARNING, w) for w in fit.warnings]
    pm = polar_map(image, fit.axis)
    out: dict[str, Any] = {"fit": fit, "polar": pm, "qc": qc, "gated": None}
    if image.is_cine:
        from heartprint.nuclear._gated import gated_function

        out["gated"] = gated_function(image, fit.axis)
    return out


def _polar_details(pm: Any) -> dict[str, Any]:
    return {"values": np.round(pm.values, 2).tolist(), "segment": pm.segment.tolist(),
            "ring_position": np.round(pm.ring_position, 4).tolist(),
            "sector_angle_deg": np.round(pm.sector_angle_deg, 3).tolist()}


def _is_dynamic_pet(image: Image) -> bool:
    return (image.modality or "").upper() == "PT" and image.is_cine and bool((image.meta or {}).get("frame_duration_ms"))


def _run_flow(image: Image, ctx: AnalysisContext, state: str | None) -> SeriesResult:
    """Dynamic PET: myocardial blood flow per segment, globally and per territory; MFR with the rest study."""
    from heartprint.nuclear._flow import myocardial_flow_reserve
    from heartprint.nuclear._petflow import pet_flow

    override = (ctx.options.nm_axes or {}).get(image.series_uid or "")
    flow = pet_flow(image, override)
    qc = [_flag("pet_flow_doubtful", Severity.WARNING, w) for w in flow.warnings]
    ref = flow.fit.references[0] if getattr(flow.fit, "references", None) else "one-tissue compartment model"
    m: list[Measurement] = []
    kind = {"stress": "nm_perfusion_stress", "rest": "nm_perfusion_rest"}.get(state or "", "nm_perfusion")
    details: dict[str, Any] = {"pet_flow": flow.to_dict(), "lv_axis": flow.axis.to_dict(), "state": state}
    if state is None:
        qc.append(_flag("perfusion_state_unknown", Severity.WARNING,
                        "the header does not say whether this dynamic PET is at stress or at rest: flow is in the "
                        "details only; give the state with --kind UID=nm_perfusion_stress or ...rest"))
    else:
        code = "mbf_stress" if state == "stress" else "mbf_rest"
        m.append(Measurement(code=code, name=f"{state.capitalize()} myocardial blood flow (global)",
                             value=float(flow.global_mbf), unit="mL/min/g", method=flow.method, source=image.series_uid,
                             reference=ref, modality="PT"))
        rest_res = ctx.inputs.get("nm_perfusion_rest") if state == "stress" else None
        rest_mbf = next((x.value for x in rest_res.measurements if x.code == "mbf_rest"), None) if rest_res else None
        if rest_mbf:
            m.append(Measurement(code="mfr", name="Myocardial flow reserve", value=float(
                myocardial_flow_reserve(flow.global_mbf, rest_mbf)), unit="1", method="stress MBF / rest MBF (global)",
                source=image.series_uid, modality="PT"))
    maps = [SegmentValues(f"mbf_{state or 'unknown'}", f"{(state or 'PET').capitalize()} MBF (mL/min/g)", "mL/min/g",
                          {int(k): float(v) for k, v in flow.mbf.items()}, 0.0, 4.0, "inferno")]
    return SeriesResult(series_uid=image.series_uid or "", kind=kind, status="analysed", measurements=m, qc=qc,
                        segment_maps=maps, method=flow.method, details=details, image=image)


def _run(image: Image, ctx: AnalysisContext, state: str | None) -> SeriesResult:
    if _is_dynamic_pet(image):
        return _run_flow(image, ctx, state)
    from heartprint.nuclear._normals import load_normal_limits
    from heartprint.nuclear._scores import perfusion_scores

    src = image.series_uid
    modality = (image.modality or "NM").upper()
    got = _measure_state(image, ctx, state)
    pm, fit, qc = got["polar"], got["fit"], got["qc"]
    m: list[Measurement] = []

    def add(code: str, name: str, value: float, unit: str, method: str, reference: str = "", **kw: Any) -> None:
        m.append(Measurement(code=code, name=name, value=float(value), unit=unit, method=method, source=src,
                             reference=reference, modality=modality, **kw))

    maps = [SegmentValues(f"perfusion_uptake_{state or 'unknown'}", f"{(state or 'uptake').capitalize()} uptake (% of maximum)",
                          "%", {int(k): float(v) for k, v in pm.segments.items()}, 0.0, 100.0, "inferno")]
    details: dict[str, Any] = {"lv_axis": fit.axis.to_dict(), "axis_fit": fit.to_dict(), "polar_map": _polar_details(pm),
                               "state": state}
    method = ("LV long axis found automatically (heartprint.nuclear.find_lv_axis) or given by the user; counts sampled "
              "along rays normal to the myocardium (spherical apical cap, cylindrical body; maximum per ray), normalised "
              "to the map's robust maximum; AHA 17 segments (Cerqueira 2002), anterior at 12 o'clock from the patient "
              "frame.")
    rest_res = ctx.inputs.get("nm_perfusion_rest") if state == "stress" else None
    if state is None:
        qc.append(_flag("perfusion_state_unknown", Severity.WARNING,
                        "the header does not say whether this is a stress or a rest acquisition: the polar map and "
                        "function are measured but no perfusion score is given (stress and rest normal limits differ); "
                        "give the state with --kind UID=nm_perfusion_stress or --kind UID=nm_perfusion_rest"))
    else:
        normals = load_normal_limits()
        rest_pm = None
        if rest_res is not None and rest_res.status == "analysed" and "polar_map" in rest_res.details:
            from heartprint.nuclear._polar import PolarMap

            rd = rest_res.details["polar_map"]
            rest_pm = PolarMap(values=np.asarray(rd["values"], float), raw=np.asarray(rd["values"], float),
                               segment=np.asarray(rd["segment"], int), ring_position=np.asarray(rd["ring_position"]),
                               sector_angle_deg=np.asarray(rd["sector_angle_deg"]), axis=fit.axis)
        scores = perfusion_scores(pm, rest_pm, normals) if state == "stress" else perfusion_scores(pm, None, normals)
        details["scores"] = scores.to_dict()
        details["normal_limits"] = {"source": normals.source, "tracer": normals.tracer, "n_subjects": normals.n_subjects}
        score_code = "perfusion_stress_score" if state == "stress" else "perfusion_rest_score"
        score_name = "Stress perfusion score" if state == "stress" else "Rest perfusion score"
        how = ("each polar sample's uptake as % of its normal mean scored 0-4 (at least 1 inside a detected defect), segment score = rounded mean "
               "(heartprint.nuclear._scores.score_from_percent_of_normal)")
        for seg, (s_score, _r) in sorted(scores.segment_scores.items()):
            add(score_code, score_name, s_score, "1", how, _SCORE_REFERENCE, segment=int(seg))
        summed = "sss" if state == "stress" else "srs"
        add(summed, "Summed stress score" if state == "stress" else "Summed rest score", scores.sss, "1",
            "sum of the 17 segment scores", _SCORE_REFERENCE)
        if scores.tpd_percent is not None:
            add("tpd", f"Total perfusion deficit ({state})", scores.tpd_percent, "%",
                "extent x severity of polar samples below the normal limits", scores.references[-1] if scores.references else "")
        maps.append(SegmentValues(score_code, f"{state.capitalize()} score (0-4)", "1",
                                  {int(k): float(v[0]) for k, v in scores.segment_scores.items()}, 0.0, 4.0, "magma_r"))
        if state == "stress" and rest_pm is not None and scores.sds is not None:
            add("srs", "Summed rest score", scores.srs, "1", "sum of the 17 rest segment scores", _SCORE_REFERENCE)
            add("sds", "Summed difference score", scores.sds, "1",
                "sum over segments of max(stress score - rest score, 0)", _SCORE_REFERENCE)
            if scores.ischaemic_percent is not None:
                add("ischaemic_burden", "Ischaemic myocardium", scores.ischaemic_percent, "%", "SDS / 68 x 100",
                    _SCORE_REFERENCE)
            rest_seg = {int(k): v for k, v in rest_res.details["scores"]["segment_percent_of_normal"].items()}
            maps.append(SegmentValues("perfusion_reversibility", "Reversibility (rest - stress, % of normal)", "%",
                                      {k: float((rest_seg[k]["stress"] or 0) - v[0])
                                       for k, v in scores.segment_percent_of_normal.items() if k in rest_seg},
                                      -30.0, 30.0, "RdBu"))
        elif state == "stress":
            qc.append(_flag("no_rest_series", Severity.INFO,
                            "no analysed rest series in this study: the summed difference score and the ischaemic "
                            "burden are not computed (unknown, not zero)"))
        qc.append(_flag("normal_limits_phantom", Severity.INFO,
                        f"scores use the normal limits '{normals.source}' ({normals.n_subjects} subjects): "
                        "research use; load a site's own limits for clinical work"))
    g = got["gated"]
    if g is not None:
        how = g.method
        # resting function under the usual codes; the post-stress gated function under its own (it differs from
        # rest by design: stunning, TID), so that the two are never read as one quantity reported twice
        suffix, label = ("_post_stress", " post-stress (gated)") if state == "stress" else ("", " (gated)")
        add("lv_edv" + suffix, "LV end-diastolic volume" + label, g.edv, "mL", how, phase="ED")
        add("lv_esv" + suffix, "LV end-systolic volume" + label, g.esv, "mL", how, phase="ES")
        add("lv_ef" + suffix, "LV ejection fraction" + label, g.lvef, "%", "(EDV - ESV) / EDV x 100; " + how)
        details["gated"] = {"volumes_ml": [round(float(v), 2) for v in g.volumes_ml], "ed_index": g.ed_index,
                            "es_index": g.es_index, "mean_volume_ml": round(float(g.mean_volume_ml), 3),
                            "warnings": list(g.warnings)}
        qc += [_flag("gated_function_doubtful", Severity.WARNING, w) for w in g.warnings]
        if getattr(g, "thickening_pct", None):
            maps.append(SegmentValues("wall_thickening", "Wall thickening (%)", "%",
                                      {int(k): float(v) for k, v in g.thickening_pct.items()}, 0.0, 80.0, "viridis"))
        rest_mean = ((rest_res.details.get("gated") or {}).get("mean_volume_ml")
                     if state == "stress" and rest_res is not None else None)
        if rest_mean:
            from heartprint.nuclear._gated import transient_ischaemic_dilation

            add("tid_ratio", "Transient ischaemic dilation ratio", transient_ischaemic_dilation(g, rest_mean), "1",
                "mean LV cavity volume over the gates, stress / rest")
    kind = {"stress": "nm_perfusion_stress", "rest": "nm_perfusion_rest"}.get(state or "", "nm_perfusion")
    return SeriesResult(series_uid=src or "", kind=kind, status="analysed", measurements=m, qc=qc,
                        segment_maps=maps, method=method, details=details, image=image)


def _run_stress(image: Image, ctx: AnalysisContext) -> SeriesResult:
    return _run(image, ctx, "stress")


def _run_rest(image: Image, ctx: AnalysisContext) -> SeriesResult:
    return _run(image, ctx, "rest")


def _run_unknown(image: Image, ctx: AnalysisContext) -> SeriesResult:
    return _run(image, ctx, None)


_EMITS = ("perfusion_stress_score", "perfusion_rest_score", "sss", "srs", "sds", "ischaemic_burden", "tpd",
          "lv_edv", "lv_esv", "lv_ef", "lv_edv_post_stress", "lv_esv_post_stress", "lv_ef_post_stress", "tid_ratio",
          "mbf_stress", "mbf_rest", "mfr")

ANALYSERS = (
    Analyser(kind="nm_perfusion_rest", run=_run_rest, modality="NM", section="ischaemia",
             title="myocardial perfusion imaging, rest", emits=_EMITS),
    Analyser(kind="nm_perfusion_stress", run=_run_stress, modality="NM", section="ischaemia",
             title="myocardial perfusion imaging, stress", needs=("nm_perfusion_rest",), emits=_EMITS),
    Analyser(kind="nm_perfusion", run=_run_unknown, modality="NM", section="ischaemia",
             title="myocardial perfusion imaging (stress or rest not stated)", emits=("lv_edv", "lv_esv", "lv_ef")),
)

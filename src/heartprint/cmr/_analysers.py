"""The CMR analysers the pipeline runs: cine short axis, LGE and T1 mapping.

Each is declared once here as an :class:`~heartprint.results.Analyser` (kind taken, kinds it
needs from the same study, concept codes it emits, report section) and returns a typed
:class:`~heartprint.results.SeriesResult`. ``heartprint.pipeline`` collects :data:`ANALYSERS`
from this package; nothing else lists these kinds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from heartprint.errors import GeometryError, InvalidInputError
from heartprint.image import Image
from heartprint.results import AnalysisContext, Analyser, SegmentValues, SeriesResult

__all__ = ["ANALYSERS", "CINE_SAX", "LGE", "T1_MAP"]


def _supplied_labels(labels: Image, image: Image) -> np.ndarray:
    """A user's label map must lie on the series' grid (same shape and affine)."""
    arr = np.asarray(labels.array)
    if arr.shape != image.array.shape or not np.allclose(labels.affine, image.affine, atol=1e-3):
        raise GeometryError(
            f"supplied labels for series {image.series_uid}: shape {arr.shape}, spacing {tuple(round(v, 4) for v in labels.spacing)}, "
            f"origin {tuple(round(float(v), 3) for v in labels.origin)} do not match the series' shape {image.array.shape}, "
            f"spacing {tuple(round(v, 4) for v in image.spacing)}, origin {tuple(round(float(v), 3) for v in image.origin)}"
        )
    if arr.size and (arr.min() < 0 or arr.max() > 3):
        raise InvalidInputError(f"supplied labels for series {image.series_uid}: values {int(arr.min())}..{int(arr.max())}, expected 0–3")
    return arr.astype(np.uint8)


def _run_cine_sax(image: Image, ctx: AnalysisContext) -> SeriesResult:
    from heartprint.cmr._function import analyze_cine_function
    from heartprint.segmentation import segment_cine
    from heartprint.segmentation._infer import ensemble_members

    options = ctx.options
    if not image.is_cine:
        raise InvalidInputError(
            f"series {image.series_uid}: classified cine_sax but has a single phase (shape {image.array.shape})"
        )
    from heartprint.cmr._qc import check_cine_frames

    check_cine_frames(image)  # a blank frame fails the series before any segmentation (issue 17)
    supplied = (options.labels or {}).get(image.series_uid or "")
    passes = None
    if supplied is not None:
        labels = _supplied_labels(supplied, image)
        model: dict[str, Any] = {"model": "supplied by the user", "model_sha256": None}
    else:
        labels, passes = segment_cine(image, tta=options.tta, model_path=options.model_path, return_passes=True)
        main, *others = ensemble_members(options.model_path)
        card = main.card
        model = {
            "model": card.get("name"),
            "model_sha256": card.get("sha256"),
            "ensemble": [{"file": m.path.name, "sha256": m.card.get("sha256")} for m in others],
            "test_time_augmentation": options.tta,
            "validation": card.get("validation", {}).get("summary"),
        }
    ctx.progress("segmented", kind="cine_sax", series_uid=image.series_uid)
    res = analyze_cine_function(image, labels, height_cm=options.height_cm, weight_kg=options.weight_kg, passes=passes)
    if res.labels is not None:
        labels = res.labels  # what was measured: the valve-plane rules applied (heartprint.cmr._slices)
    doc = res.to_dict()
    maps = []
    if res.segment_thickness_mm:
        maps.append(SegmentValues("lv_wall_thickness", "ED wall thickness (mm)", "mm", dict(res.segment_thickness_mm),
                                  0.0, 15.0, "viridis"))
    return SeriesResult(
        series_uid=image.series_uid or "", kind="cine_sax", status="analysed",
        measurements=list(res.measurements), qc=list(res.qc), segment_maps=maps, method=res.method, model=model,
        figure_data={"curves": doc["curves"], "phases": doc["phases"], "coverage": doc["coverage"],
                     "overlay": "cine"},
        details={"segments": {k: v for k, v in doc["segments"].items() if k != "wall_thickness_mm"},
                 **({"quality": res.extra["quality"]} if "quality" in res.extra else {} if supplied is not None else
                    {"quality": {"score_ef_range_points": None, "passes": [],
                                 "method": "not scored: a single inference pass (test-time augmentation off, one "
                                           "model), so there is no agreement to measure"}})},
        labels=image.with_array(labels.astype(np.uint8)), image=image,
    )


def _cine_masks(ctx: AnalysisContext) -> tuple[Image, np.ndarray]:
    cine = ctx.need("cine_sax")
    if cine.image is None or cine.labels is None:
        raise InvalidInputError("the study's cine short-axis result carries no image or label map to transfer from")
    return cine.image, np.asarray(cine.labels.array)


def _transmurality_map(segments: dict[int, dict[str, Any]]) -> SegmentValues:
    return SegmentValues("lge_transmurality", "LGE transmurality (%)", "%",
                         {int(s): float(v["transmurality_pct"]) for s, v in segments.items()}, 0.0, 100.0, "cividis")


def _run_lge(image: Image, ctx: AnalysisContext) -> SeriesResult:
    from heartprint.cmr._lge import quantify_lge
    from heartprint.cmr._transfer import myocardium_source

    cine, cine_labels = _cine_masks(ctx)
    labels, _, tr = myocardium_source(image, None, cine, cine_labels, what="LGE analysis")
    res = quantify_lge(image, labels)
    doc = res.to_dict()
    details = {k: doc[k] for k in ("threshold", "remote", "scar_ml", "scar_g", "scar_pct_lv", "mvo_ml",
                                   "lv_myocardium_ml", "segments", "global_pattern") if k in doc}
    details["scar_pct_lv_by_threshold"] = doc.get("scar_pct_lv_by_threshold")
    details["mask_source"] = "cine_transfer"
    details["transfer"] = {k: v for k, v in tr.to_dict().items() if k != "qc"}
    return SeriesResult(
        series_uid=image.series_uid or "", kind="lge", status="analysed",
        measurements=list(res.measurements), qc=list(res.qc) + list(tr.qc),
        segment_maps=[_transmurality_map(res.segments)] if res.segments else [], method=res.method,
        details=details, image=image,
    )


def _run_t1(image: Image, ctx: AnalysisContext) -> SeriesResult:
    from heartprint.cmr._t1 import t1_series

    cine, cine_labels = _cine_masks(ctx)
    res = t1_series(image, cine=cine, cine_labels=cine_labels)
    values = {int(s): float(d["mean"]) for s, d in res.summary["segments"].items() if d.get("mean") is not None}
    maps = [SegmentValues("native_t1", "native T1 (ms)", "ms", values, None, None, "viridis")] if values else []
    details = {k: v for k, v in res.summary.items()}
    details.update({"mask_source": res.mask_source, "inversion_times_ms": res.inversion_times_ms, "fit_qc": res.fit_qc})
    if res.transfer is not None:
        details["transfer"] = {k: v for k, v in res.transfer.to_dict().items() if k != "qc"}
    return SeriesResult(
        series_uid=image.series_uid or "", kind="t1_map", status="analysed", measurements=list(res.measurements),
        qc=list(res.qc), segment_maps=maps, method=res.method, details=details, image=res.grid,
    )


_CINE_CODES = ("lv_edv", "lv_esv", "lv_sv", "lv_ef", "lv_edvi", "lv_esvi", "lv_svi", "lv_mass", "lv_massi", "lv_mass_es",
               "rv_edv", "rv_esv", "rv_sv", "rv_ef", "rv_edvi", "rv_esvi", "rv_svi", "heart_rate", "lv_co", "lv_ci", "bsa",
               "lv_per", "lv_pfr", "lv_tpfr", "lv_wall_thickness", "lv_max_wall_thickness")

CINE_SAX = Analyser(kind="cine_sax", run=_run_cine_sax, modality="MR", section="function",
                    title="cine short-axis CMR", emits=_CINE_CODES)
LGE = Analyser(kind="lge", run=_run_lge, modality="MR", section="tissue", title="late gadolinium enhancement CMR",
               needs=("cine_sax",), emits=("lge_extent", "lge_transmurality", "lge_scar_volume", "lge_scar_mass",
                                            "lge_mvo_volume", "lge_segment_extent"))
T1_MAP = Analyser(kind="t1_map", run=_run_t1, modality="MR", section="tissue", title="native T1 mapping CMR",
                  needs=("cine_sax",), emits=("native_t1", "t1_blood"))

#: The analysers of this package, for ``heartprint.pipeline``.
ANALYSERS: tuple[Analyser, ...] = (CINE_SAX, LGE, T1_MAP)

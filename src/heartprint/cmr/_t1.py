"""Series-level native T1 analysis, typed: fit (or read) the map, find the myocardium, summarise.

:func:`t1_series` is what the pipeline's T1 analyser runs; :func:`analyse_t1_series` is its JSON
form (schema ``heartprint.cmr.t1_mapping/1``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from heartprint.errors import InvalidInputError
from heartprint.image import Image
from heartprint.measure import Measurement, QCFlag, Severity

__all__ = ["T1SeriesResult", "analyse_t1_series", "t1_series"]


@dataclass
class T1SeriesResult:
    """A T1 series' typed outcome (see :func:`t1_series`)."""

    method: str
    mask_source: str
    inversion_times_ms: list[float] | None
    summary: dict[str, Any]  # map_region_summary: segments, global, blood, roi_rule, levels
    fit_qc: dict[str, Any]
    measurements: list[Measurement]
    qc: list[QCFlag]
    grid: Image  # the map's grid (z, y, x)
    labels: np.ndarray | None
    transfer: Any = None  # heartprint.cmr.TransferResult when the mask came from the cine


def t1_series(
    image: Image,
    myocardium_labels: Any = None,
    cine: Image | None = None,
    *,
    inversion_times_ms: Sequence[float] | None = None,
    cine_labels: Any = None,
    levels: dict[int, str] | None = None,
    insertion_points_lps=None,
) -> T1SeriesResult:
    """Native T1 of one series: MOLLI/ShMOLLI source images ``(n_TI, z, y, x)`` are fitted
    with :func:`~heartprint.cmr.fit_t1_molli`; a vendor T1 map ``(z, y, x)`` in ms is used as read.

    Inversion times: ``inversion_times_ms``, else ``image.meta["inversion_times_ms"]``, else
    ``image.frame_times_ms`` ((0018,1060) Trigger Time — flagged, because it equals the TI only
    for some vendors). The myocardium comes from ``myocardium_labels`` (on the map grid) or is
    transferred from ``cine`` (with ``cine_labels``).
    """
    from heartprint.cmr._mapping import MOLLI_REFERENCE, fit_t1_molli, map_region_summary
    from heartprint.cmr._regions import as_labels
    from heartprint.cmr._transfer import myocardium_source

    qc: list[QCFlag] = []
    fit_qc: dict[str, Any] = {}
    if image.is_cine:
        tis = inversion_times_ms
        if tis is None:
            tis = image.meta.get("inversion_times_ms")
        if tis is None and image.frame_times_ms is not None:
            tis = image.frame_times_ms
            qc.append(QCFlag(code="t1_ti_from_trigger_time", severity=Severity.WARNING,
                             message="inversion times taken from (0018,1060) Trigger Time; check they equal (0018,0082)",
                             details={"times_ms": [float(v) for v in tis]}))
        if tis is None:
            raise InvalidInputError("inversion_times_ms is missing: not given, not in image.meta, no frame times")
        fit = fit_t1_molli(image.array, tis)
        t1 = fit.t1
        grid = image.phase(0)
        method = fit.method
        tis_out: list[float] | None = fit.inversion_times_ms.tolist()
    else:
        t1 = np.asarray(image.array, dtype=float)
        grid = image
        method = "vendor T1 map (values in ms as stored after rescale)"
        tis_out = None
        fit = None
    labels, source, transfer = myocardium_source(grid, myocardium_labels, cine, cine_labels, what="T1 mapping analysis")
    if transfer is None:
        labels = as_labels(labels, grid)
    summary = map_region_summary(t1, labels, grid.affine, levels=levels, insertion_points_lps=insertion_points_lps)
    if fit is not None:
        rel = fit.relative_residual[labels == 2]
        med = float(np.nanmedian(rel)) if rel.size else float("nan")
        fit_qc = {"relative_residual_median_myocardium": round(med, 5),
                  "invalid_fraction_myocardium": round(float(1 - fit.valid[labels == 2].mean()), 5) if rel.size else None}
        if med > 0.05:
            qc.append(QCFlag(code="t1_fit_poor", severity=Severity.WARNING,
                             message=f"median RMS residual / A in the myocardium is {med:.3f} (> 0.05): motion or wrong TIs?",
                             details=fit_qc))
    src = image.series_uid
    ms: list[Measurement] = []
    g = summary["global"]
    if g["mean"] is not None:
        ms.append(Measurement(code="native_t1", name="Myocardial T1 (global, mid-wall ROI)", value=round(g["mean"], 3),
                              unit="ms", method=method + "; " + summary["roi_rule"], source=src, reference=MOLLI_REFERENCE,
                              modality="MR"))
    if summary["blood"]["mean"] is not None:
        ms.append(Measurement(code="t1_blood", name="LV blood-pool T1", value=round(summary["blood"]["mean"], 3),
                              unit="ms", method=method + "; LV cavity eroded by 2 pixels", source=src,
                              reference=MOLLI_REFERENCE, modality="MR"))
    for s, d in summary["segments"].items():
        ms.append(Measurement(code="native_t1", name=f"Myocardial T1, segment {s}", value=round(d["mean"], 3), unit="ms",
                              method=method + "; " + summary["roi_rule"], source=src, reference=MOLLI_REFERENCE,
                              segment=int(s), modality="MR"))
    if transfer is not None:
        qc.extend(transfer.qc)
    return T1SeriesResult(method=method, mask_source=source, inversion_times_ms=tis_out, summary=summary, fit_qc=fit_qc,
                          measurements=ms, qc=qc, grid=grid, labels=labels, transfer=transfer)


def analyse_t1_series(
    image: Image,
    myocardium_labels: Any = None,
    cine: Image | None = None,
    *,
    inversion_times_ms: Sequence[float] | None = None,
    cine_labels: Any = None,
    levels: dict[int, str] | None = None,
    insertion_points_lps=None,
) -> dict[str, Any]:
    """:func:`t1_series` as a JSON-able dict.

    Schema ``heartprint.cmr.t1_mapping/1``: ``schema, disclaimer, source, method, mask_source,
    transfer?, inversion_times_ms, segments{"7": {mean, sd, n}}, global, blood, roi_rule,
    fit_qc, measurements[], qc[], qc_status``.
    """
    from heartprint import DISCLAIMER
    from heartprint.cmr._mapping import MAPPING_SCHEMA
    from heartprint.cmr._regions import qc_status

    res = t1_series(image, myocardium_labels, cine, inversion_times_ms=inversion_times_ms, cine_labels=cine_labels,
                    levels=levels, insertion_points_lps=insertion_points_lps)
    out: dict[str, Any] = {"schema": MAPPING_SCHEMA, "disclaimer": DISCLAIMER, "source": image.series_uid,
                           "method": res.method, "mask_source": res.mask_source,
                           "inversion_times_ms": res.inversion_times_ms, **res.summary, "fit_qc": res.fit_qc,
                           "measurements": [m.to_dict() for m in res.measurements]}
    if res.transfer is not None:
        out["transfer"] = res.transfer.to_dict()
    out["qc"] = [f.to_dict() for f in res.qc]
    out["qc_status"] = qc_status(out["qc"])
    return out

"""Coronary CT angiography, one series: centrelines → stenosis profiles → plaque → CT-FFR.

The series-level entry sits above the rooms it combines (:mod:`._centreline`,
:mod:`._stenosis`, :mod:`._plaque`, :mod:`._ffr`), so none of them imports another in a
circle: ``_plaque`` and ``_ffr`` read :class:`~heartprint.ct._stenosis.VesselProfile`, and only
this module calls all four. Methods and references: see each module's docstring.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from heartprint.ct._centreline import check_mask, extract_centrelines
from heartprint.ct._ffr import FFR_DISCLAIMER, ffr_tree
from heartprint.ct._plaque import analyse_plaque
from heartprint.ct._stenosis import METHOD_TEXT, SCCT_SEGMENTS, stenosis_profile
from heartprint.errors import InvalidInputError
from heartprint.image import Image
from heartprint.measure import Measurement, QCFlag, Severity

__all__ = ["analyse_ccta"]


def analyse_ccta(
    image: Image,
    lumen_mask: Image | np.ndarray,
    *,
    wall_mask: Image | np.ndarray | None = None,
    vessel_labels: Mapping[Any, str] | None = None,
    step_mm: float = 0.5,
    lesion_threshold_pct: float = 20.0,
    max_trees: int | None = 2,
    myocardial_mass_g: float | None = 150.0,
    method: str = "plane",
) -> dict[str, Any]:
    """Coronary CT angiography analysis of one series: stenoses, plaque, CT-FFR (research).

    Parameters
    ----------
    image
        CCTA series in HU, ``(z, y, x)`` :class:`~heartprint.image.Image`.
    lumen_mask
        Coronary lumen mask on the same grid (an :class:`Image` from NIfTI / DICOM SEG, or an
        array of the image's shape); integer values may label vessels/segments.
    wall_mask
        Optional outer-wall (whole vessel) mask on the same grid, for plaque and remodelling.
    vessel_labels
        SCCT segment names, ``{mask label value: name}`` or ``{centreline name: name}``
        (e.g. ``{1: "LM", 2: "pLAD"}``); names as in :data:`SCCT_SEGMENTS`.
    step_mm, lesion_threshold_pct, max_trees, method
        See :func:`~heartprint.ct.extract_centrelines` and :func:`stenosis_profile`.
    myocardial_mass_g
        LV myocardial mass (g) for the CT-FFR flow; ``None`` skips CT-FFR.

    Returns
    -------
    dict
        JSON-able: ``vessels`` (profiles), ``lesions``, ``plaque``, ``ct_ffr`` (research
        estimate), ``cadrads_inputs`` (keyword arguments for
        :func:`heartprint.clinical.cad_rads`: ``stenoses`` {segment: max % diameter
        stenosis}, ``high_risk_plaque`` (feature list of the worst lesion),
        ``plaque_present``), ``measurements`` (:class:`~heartprint.measure.Measurement`
        dicts) and ``qc``.
    """
    if not isinstance(image, Image) or image.is_cine:
        raise InvalidInputError(f"image={type(image).__name__}: expected a 3-D CT heartprint.Image in HU")
    lumen = check_mask(lumen_mask, image, name="lumen_mask")
    wall = check_mask(wall_mask, image, name="wall_mask") if wall_mask is not None else None
    cls = extract_centrelines(lumen, step_mm=step_mm, max_trees=max_trees)
    profiles = [stenosis_profile(lumen, c, method=method, lesion_threshold_pct=lesion_threshold_pct,
                                 vessel_labels=vessel_labels) for c in cls]
    plaque = analyse_plaque(image, lumen, profiles, wall_mask=wall)
    ffr = ffr_tree(profiles, myocardial_mass_g=myocardial_mass_g) if myocardial_mass_g else {}
    source = image.series_uid
    lesions = [les for p in profiles for les in p.lesions]
    meas: list[Measurement] = []
    qc: list[QCFlag] = []
    ignored = cls[0].meta.get("ignored_parts") if cls else None
    if ignored:
        qc.append(QCFlag(code="ccta_mask_fragments", severity=Severity.INFO,
                         message=f"{len(ignored)} small lumen-mask part(s) not analysed", details={"parts": ignored}))
    stenoses: dict[str, float] = {}
    unlabelled: list[float] = []
    for les in lesions:
        kw = dict(modality="CT", source=source, vessel=les.vessel, vessel_segment=les.vessel_part)
        meas += [
            Measurement(code="stenosis", name=f"Diameter stenosis ({les.segment or les.centreline})",
                        value=round(les.diameter_stenosis_pct, 2), unit="%", method=METHOD_TEXT, **kw),
            Measurement(code="ccta_area_stenosis", name=f"Area stenosis ({les.segment or les.centreline})",
                        value=round(les.area_stenosis_pct, 2), unit="%", method=METHOD_TEXT, **kw),
            Measurement(code="ccta_mla", name=f"Minimal lumen area ({les.segment or les.centreline})",
                        value=round(les.mla_mm2, 4), unit="mm2", method=METHOD_TEXT, **kw),
            Measurement(code="ccta_lesion_length", name=f"Lesion length ({les.segment or les.centreline})",
                        value=round(les.length_mm, 3), unit="mm",
                        method=f"{METHOD_TEXT}; length with diameter stenosis >= {lesion_threshold_pct} %", **kw),
        ]
        if les.segment:
            stenoses[les.segment] = max(stenoses.get(les.segment, 0.0), round(les.diameter_stenosis_pct, 2))
        else:
            unlabelled.append(round(les.diameter_stenosis_pct, 2))
    if unlabelled:
        qc.append(QCFlag(code="ccta_unlabelled_lesions", severity=Severity.WARNING,
                         message=f"{len(unlabelled)} lesion(s) without an SCCT segment label (max "
                                 f"{max(unlabelled)} %): pass vessel_labels to use them for CAD-RADS",
                         details={"diameter_stenosis_pct": unlabelled}))
    pat = plaque.get("patient", {})
    for code, key, name, unit in (("ccta_total_plaque_volume", "plaque_mm3", "Total plaque volume", "mm3"),
                                  ("ccta_calcified_plaque_volume", "calcified_mm3", "Calcified plaque volume", "mm3"),
                                  ("ccta_noncalcified_plaque_volume", "noncalcified_mm3",
                                   "Non-calcified plaque volume", "mm3"),
                                  ("ccta_lap_volume", "lap_mm3", "Low-attenuation (<30 HU) plaque volume", "mm3"),
                                  ("ccta_pav", "pav_pct", "Percent atheroma volume", "%")):
        if key in pat:
            meas.append(Measurement(code=code, name=name, value=pat[key], unit=unit, modality="CT", source=source,
                                    method=f"HU bands {plaque['thresholds_hu']}; {plaque['method']}"))
    hrp_lesions = [les for les in lesions if les.high_risk_plaque]
    meas.append(Measurement(code="ccta_hrp_lesions", name="Lesions with high-risk plaque (>=2 features)",
                            value=len(hrp_lesions), unit="1", modality="CT", source=source,
                            method="CAD-RADS 2.0 HRP: >=2 of positive remodelling, LAP <30 HU, spotty calcification, "
                                   "napkin ring (napkin ring not assessed)"))
    ffr_out: dict[str, Any] = {}
    for p in profiles:
        if p.name in ffr and ffr[p.name]["distal_ffr"] is not None:
            f = ffr[p.name]
            seg = next((s for s in reversed(p.segments) if s), None)
            vessel = SCCT_SEGMENTS.get(seg.lower(), (None, None))[0] if seg else None
            ffr_out[p.name] = {"segment": seg, "distal_ffr": round(f["distal_ffr"], 4),
                               "hyperaemic_flow_ml_s": round(f["flow_ml_s"], 4),
                               "ffr": [None if not np.isfinite(v) else round(float(v), 4) for v in f["ffr"]]}
            meas.append(Measurement(code="ct_ffr", name=f"CT-FFR research estimate, distal {seg or p.name}",
                                    value=round(f["distal_ffr"], 4), unit="1", modality="CT", source=source,
                                    vessel=vessel, method="RESEARCH ESTIMATE: " + FFR_DISCLAIMER))
    worst = max(lesions, key=lambda les: (len(les.hrp_features), les.diameter_stenosis_pct), default=None)
    return {
        "method": METHOD_TEXT,
        "centrelines": [c.to_dict() for c in cls],
        "vessels": [p.to_dict() for p in profiles],
        "lesions": [les.to_dict() for les in lesions],
        "plaque": plaque,
        "ct_ffr": {"note": FFR_DISCLAIMER, "research_estimate": True, "myocardial_mass_g": myocardial_mass_g,
                   "vessels": ffr_out},
        "cadrads_inputs": {
            "stenoses": stenoses,
            "high_risk_plaque": sorted(worst.hrp_features) if worst else [],
            "plaque_present": bool(pat.get("plaque_mm3", 0.0) > 0 or lesions),
        },
        "measurements": [m.to_dict() for m in meas],
        "qc": [q.to_dict() for q in qc],
    }

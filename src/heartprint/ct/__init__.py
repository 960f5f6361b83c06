"""Cardiac CT: coronary calcium scoring (later: coronary lumen and stenosis, plaque, CT-FFR).

Public API
----------
calcium_score
    Agatston, volume and mass scores with a per-lesion table, per-artery sums and region
    exclusion, from a ``(z, y, x)`` HU array + spacing or a :class:`heartprint.Image`.
analyse_calcium_series
    Series-level entry for the pipeline (JSON-able dict with measurements, lesions, QC).
CalciumResult, CalciumLesion
    The result types.
CalciumSeriesRefused
    The error a series gets when its calcium score would be wrong (not HU, kVp not 120,
    contrast-enhanced blood pool); ``.code`` names the reason.
agatston_weight
    Density weight 1–4 of a lesion's peak HU (Agatston 1990).
CORONARY_LABELS
    Label map convention for ``artery_labels`` (1 LM, 2 LAD, 3 LCx, 4 RCA).
analyse_ccta
    Series-level coronary CT angiography entry: centrelines, stenoses, plaque, HRP features,
    CT-FFR research estimate and CAD-RADS inputs (JSON-able dict).
extract_centrelines, centreline_from_points, Centreline, check_mask
    Centrelines from a lumen mask (3-D skeleton + graph walk) or from given points.
stenosis_profile, lumen_areas, reference_diameter, VesselProfile, Lesion, SCCT_SEGMENTS
    Lumen area / diameter along a centreline, reference diameter, % stenosis, lesions.
analyse_plaque, PLAQUE_HU
    Plaque composition volumes, PAV, remodelling index, high-risk plaque features.
ffr_tree, ffr_along_vessel, FlowModel, poiseuille_drop_mmhg, stenosis_expansion_drop_mmhg
    Reduced-order CT-FFR (research estimate only).
"""

from heartprint.ct._calcium import (
    CORONARY_LABELS,
    DEFAULT_CALIBRATION_MG_PER_ML_PER_HU,
    CalciumLesion,
    CalciumResult,
    CalciumSeriesRefused,
    agatston_weight,
    analyse_calcium_series,
    calcium_score,
)
from heartprint.ct._ccta import analyse_ccta
from heartprint.ct._centreline import Centreline, centreline_from_points, check_mask, extract_centrelines
from heartprint.ct._ffr import (
    FFR_DISCLAIMER, FlowModel, ffr_along_vessel, ffr_tree, poiseuille_drop_mmhg, stenosis_expansion_drop_mmhg,
)
from heartprint.ct._plaque import PLAQUE_HU, analyse_plaque
from heartprint.ct._analysers import ANALYSERS  # the pipeline's CT analysers (calcium scoring)
from heartprint.ct._stenosis import (
    SCCT_SEGMENTS, Lesion, VesselProfile, lumen_areas, reference_diameter, stenosis_profile,
)

__all__ = [
    "CORONARY_LABELS",
    "DEFAULT_CALIBRATION_MG_PER_ML_PER_HU",
    "CalciumLesion",
    "CalciumResult",
    "CalciumSeriesRefused",
    "agatston_weight",
    "analyse_calcium_series",
    "calcium_score",
    # coronary CT angiography
    "Centreline", "FFR_DISCLAIMER", "FlowModel", "Lesion", "PLAQUE_HU", "SCCT_SEGMENTS", "VesselProfile",
    "analyse_ccta", "analyse_plaque", "centreline_from_points", "check_mask", "extract_centrelines",
    "ffr_along_vessel", "ffr_tree", "lumen_areas", "poiseuille_drop_mmhg", "reference_diameter",
    "stenosis_expansion_drop_mmhg", "stenosis_profile",
]

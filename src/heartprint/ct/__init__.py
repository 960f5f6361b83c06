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
agatston_weight
    Density weight 1–4 of a lesion's peak HU (Agatston 1990).
CORONARY_LABELS
    Label map convention for ``artery_labels`` (1 LM, 2 LAD, 3 LCx, 4 RCA).
"""

from heartprint.ct._calcium import (
    CORONARY_LABELS,
    DEFAULT_CALIBRATION_MG_PER_ML_PER_HU,
    CalciumLesion,
    CalciumResult,
    agatston_weight,
    analyse_calcium_series,
    calcium_score,
)

__all__ = [
    "CORONARY_LABELS",
    "DEFAULT_CALIBRATION_MG_PER_ML_PER_HU",
    "CalciumLesion",
    "CalciumResult",
    "agatston_weight",
    "analyse_calcium_series",
    "calcium_score",
]

"""Cardiovascular magnetic resonance analysis.

Cine function (:func:`analyze_cine_function`): LV/RV volumes, EF, SV, CO, LV mass, BSA
indexing, peak ejection/filling rates, AHA-segment wall thickness and QC flags.

``CineFunctionResult.to_dict()`` schema (``"schema": "heartprint.cmr.cine_function/1"``)::

    {
      "schema": str, "disclaimer": str, "source": str | None, "method": str,
      "phases": {"n_phases", "lv_ed", "lv_es", "rv_ed", "rv_es"},          # ints or None
      "curves": {"unit": "mL", "time_ms": [..] | None,
                 "lv_cavity": [..], "rv_cavity": [..], "lv_myocardium": [..]},
      "segments": {"reference": str, "wall_thickness_mm": {"1": mm, ...},
                   "levels": {"<slice>": "basal|mid|apical|apex"}, "origin": str | None},
      "coverage": {"n_slices", "base_first", "slices_with_lv_ed", "n_slices_with_lv_ed",
                   "slices_with_lv_es", "n_slices_with_lv_es", "slices_without_lv_ed",
                   "slices_without_lv_es", "basal_slices_ed", "levels_ed", "basal_slice_rule",
                   "lv_centroids_ed_z_a_b_mm", ...},
      "measurements": [{"code", "name", "value", "unit", "method", "source", "reference",
                        "phase"?, "segment"?, "reference_range"?}, ...],
      "qc": [{"code", "severity": "info|warning|error", "message", "details"}, ...],
      "qc_status": "ok|info|warning|error"
    }
"""

from heartprint.cmr._function import (
    MYOCARDIAL_DENSITY_G_PER_ML,
    CineFunctionResult,
    analyze_cine_function,
)
from heartprint.cmr._qc import QC_THRESHOLDS
from heartprint.cmr._rates import FourierFit, fourier_fit, peak_rates
from heartprint.cmr._thickness import WallThickness, wall_thickness

__all__ = [
    "MYOCARDIAL_DENSITY_G_PER_ML",
    "QC_THRESHOLDS",
    "CineFunctionResult",
    "FourierFit",
    "WallThickness",
    "analyze_cine_function",
    "fourier_fit",
    "peak_rates",
    "wall_thickness",
]

"""Cardiovascular magnetic resonance analysis.

Cine function (:func:`analyze_cine_function`): LV/RV volumes, EF, SV, CO, LV mass, BSA
indexing, peak ejection/filling rates, AHA-segment wall thickness and QC flags.

Tissue characterisation: LGE scar (:func:`quantify_lge`, :func:`analyse_lge_series`), T1/T2/T2*
fits (:func:`fit_t1_molli`, :func:`fit_t2`, :func:`fit_t2star`, :func:`analyse_t1_series`),
ECV (:func:`ecv_fraction`, :func:`analyse_ecv`) and cine-to-LGE/map label transfer
(:func:`transfer_cine_labels`).

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
from heartprint.cmr._ecv import ECV_REFERENCE, analyse_ecv, check_haematocrit, ecv_fraction, ecv_map
from heartprint.cmr._lge import LGEResult, analyse_lge_series, quantify_lge, transmurality_class
from heartprint.cmr._mapping import (
    MOLLI_REFERENCE,
    T1Fit,
    T2Fit,
    T2StarFit,
    fit_t1_molli,
    fit_t2,
    fit_t2star,
    inversion_times_from_headers,
    map_from_vendor,
    map_region_summary,
)
from heartprint.cmr._qc import QC_THRESHOLDS
from heartprint.cmr._t1 import analyse_t1_series, t1_series
from heartprint.cmr._rates import FourierFit, fourier_fit, peak_rates
from heartprint.cmr._thickness import WallThickness, wall_thickness
from heartprint.cmr._transfer import TransferResult, transfer_cine_labels
from heartprint.cmr._analysers import ANALYSERS  # the pipeline's CMR analysers (cine SAX, LGE, T1)

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
    # tissue characterisation (issue 6)
    "ECV_REFERENCE",
    "LGEResult",
    "MOLLI_REFERENCE",
    "T1Fit",
    "T2Fit",
    "T2StarFit",
    "TransferResult",
    "analyse_ecv",
    "analyse_lge_series",
    "analyse_t1_series",
    "check_haematocrit",
    "ecv_fraction",
    "ecv_map",
    "fit_t1_molli",
    "fit_t2",
    "fit_t2star",
    "inversion_times_from_headers",
    "map_from_vendor",
    "map_region_summary",
    "quantify_lge",
    "transfer_cine_labels",
    "transmurality_class",
]

"""Guideline rules: numbers in, cited Findings and Recommendations out.

``clinical`` works from numbers only and never imports a pixel room (io, segmentation,
cmr, ct, nuclear, echo, report, service, pipeline). Each rule is a small, range-checked
function whose docstring and output cite the guideline, year, table/section and DOI.

Public API (loaded lazily, so that importing one rule does not import them all):

- pre-test probability: :func:`ptp_esc2019`, :func:`likelihood_esc2024`
- CT: :func:`cad_rads`, :func:`cad_rads_plaque_burden`, :func:`agatston_category`
- ischaemia: :func:`summed_scores`, :func:`percent_myocardium`, :func:`ischaemic_burden`
- heart failure: :func:`hf_type`, :func:`hfa_peff`, :func:`h2fpef`,
  :func:`diastolic_function`
- tissue: :func:`lake_louise`, :func:`t2star_iron`, :func:`hcm_wall_thickness`,
  :func:`amyloid_native_t1`, :func:`ecv`, :func:`ecv_amyloid`
- devices: :func:`icd_primary_prevention`, :func:`crt_indication`
- imaging phenotype (from imaging alone): :func:`lv_systolic_dysfunction`, :func:`lv_dilatation`,
  :func:`lv_hypertrophy`, :func:`lv_geometry`, :func:`rv_dilatation`, :func:`rv_systolic_dysfunction`,
  :func:`lge_presence`, :func:`native_t1_abnormal`, :func:`t2_abnormal`, :func:`ecv_abnormal`
- contradictions between inputs: :func:`input_contradictions`, :func:`ef_volume_contradictions`,
  :func:`repeated_measurement_contradictions`
- reference ranges: :func:`reference_range`, :func:`z_score`
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    # pre-test probability
    "ptp_esc2019": "ptp",
    "likelihood_esc2024": "ptp",
    "PretestProbability": "ptp",
    # CT
    "cad_rads": "cadrads",
    "cad_rads_plaque_burden": "cadrads",
    "CadRads": "cadrads",
    "agatston_category": "calcium",
    # ischaemia
    "summed_scores": "ischaemia",
    "percent_myocardium": "ischaemia",
    "ischaemic_burden": "ischaemia",
    "SummedScores": "ischaemia",
    # heart failure
    "hf_type": "heart_failure",
    "hfa_peff": "heart_failure",
    "h2fpef": "heart_failure",
    "diastolic_function": "heart_failure",
    # tissue
    "lake_louise": "tissue",
    "t2star_iron": "tissue",
    "hcm_wall_thickness": "tissue",
    "amyloid_native_t1": "tissue",
    "ecv": "tissue",
    "ecv_amyloid": "tissue",
    # devices
    "icd_primary_prevention": "devices",
    "crt_indication": "devices",
    # imaging phenotype and input contradictions
    "lv_systolic_dysfunction": "imaging",
    "lv_dilatation": "imaging",
    "lv_hypertrophy": "imaging",
    "lv_geometry": "imaging",
    "rv_dilatation": "imaging",
    "rv_systolic_dysfunction": "imaging",
    "lge_presence": "imaging",
    "native_t1_abnormal": "imaging",
    "t2_abnormal": "imaging",
    "ecv_abnormal": "imaging",
    "input_contradictions": "imaging",
    "ef_volume_contradictions": "imaging",
    "repeated_measurement_contradictions": "imaging",
    # reference ranges
    "reference_range": "reference_ranges",
    "z_score": "reference_ranges",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'heartprint.clinical' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"heartprint.clinical.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

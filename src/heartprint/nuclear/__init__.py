"""Nuclear cardiology: SPECT and PET myocardial perfusion, polar maps, summed scores, gated function, PET flow.

Public API
----------
find_lv_axis(image)                    automatic LV localisation and long axis (:class:`LVAxis`, override possible)
reorient(image, axis)                  short-axis volume, apex to base, anterior up, septum left
polar_map(volume, axis=None)           count sampling normal to the myocardium → :class:`PolarMap` (.segments: 17 values)
perfusion_scores(stress, rest=None, normals=None)
                                       segment scores 0–4, SSS/SRS/SDS, TPD, % ischaemic, per territory
build_normal_limits, load_normal_limits, NormalLimits
                                       normal-limits databases (format ``heartprint.nm-normals/1``)
gated_function(image)                  EDV, ESV, LVEF and regional thickening from a gated study
transient_ischaemic_dilation(stress, rest)
fit_mbf(myocardium_tac, blood_tac, frame_mid_times_s, tracer="rb82")
                                       PET one-tissue compartment fit → MBF, K1, k2, blood volume (batched)
myocardial_flow_reserve(stress_mbf, rest_mbf)
pet_flow(dynamic_pet_image)            MBF per segment, global and per territory from a dynamic PET image
                                       (LV cavity input, fixed ray grid on the late frames, batched fit)

Validation is on phantoms with exact answers and on published constants; no real patient data
(see the README). Research and decision support only.
"""

from heartprint.nuclear._analysers import ANALYSERS
from heartprint.nuclear._axis import AxisFit, LVAxis, find_lv_axis, reorient
from heartprint.nuclear._flow import FlowFit, fit_mbf, myocardial_flow_reserve
from heartprint.nuclear._gated import GatedFunction, gated_function, transient_ischaemic_dilation
from heartprint.nuclear._normals import NormalLimits, build_normal_limits, load_normal_limits
from heartprint.nuclear._petflow import PetFlow, pet_flow
from heartprint.nuclear._polar import PolarMap, polar_map
from heartprint.nuclear._scores import PerfusionScores, perfusion_scores

__all__ = [
    "ANALYSERS", "AxisFit", "FlowFit", "GatedFunction", "LVAxis", "NormalLimits", "PerfusionScores", "PetFlow",
    "PolarMap", "pet_flow",
    "build_normal_limits", "find_lv_axis", "fit_mbf", "gated_function", "load_normal_limits", "myocardial_flow_reserve",
    "perfusion_scores", "polar_map", "reorient", "transient_ischaemic_dilation",
]

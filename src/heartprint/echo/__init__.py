"""Echocardiography (issue 20): vendor measurements in, chamber geometry, Doppler and valves.

Public API
----------
read_echo_sr(path)                        Adult Echocardiography Procedure Report (TID 5200) → measurements
                                          (``.measurements``, ``.unmapped``, ``.notes``; duplicates resolved)
biplane_volume(a4c_contour_mm, a2c_contour_mm)
                                          LV volume (mL), biplane method of discs (ASE/EACVI 2015, 20 discs)
single_plane_volume, la_volume_discs, la_volume_area_length, indexed
lv_mass_linear(ivsd_mm, lvidd_mm, lvpwd_mm)   LV mass (g), cube formula (Devereux 1986, ASE 2015)
lv_mass_area_length, relative_wall_thickness
aortic_stenosis(*, vmax_m_s=None, mean_gradient_mmhg=None, ava_cm2=None, ...)
                                          grade with its inputs (ESC/EACTS 2021, EACVI/ASE 2017); undecided when
                                          an unknown input could change it
global_longitudinal_strain(cine, contour_mm)  speckle tracking (dense optical flow) → .gls_percent, .segments
                                          (within 1 point of the phantom's truth over -8 … -25 % at 50 frames/s)
regional_strain({"a4c": r, "a2c": r, "a3c": r})   18-segment and AHA 17 bull's-eye (.gls_percent, .segments18, .aha17)
mitral_regurgitation(*, eroa_mm2=None, ...), rvsp_mmhg, stroke_volume_lvot, continuity_ava_cm2,
dimensionless_index, pisa_eroa_mm2, pisa_regurgitant_volume_ml

The pipeline analyses a vendor's echo SR (kind ``sr``) and apical B-mode cines (kind ``echo_cine``:
GLS and the regional strain map from the SR's tracing, a ``--echo-contours`` file, or a dropped-in
echo model — none ships, no labelled echo data can be obtained here; see the README). Research and
decision support only.
"""

from heartprint.echo._analysers import ANALYSERS
from heartprint.echo._cine import CONTOUR_FORMAT, Tracing, analyse_echo_cine, load_contour_file, tracings_from_sr
from heartprint.echo._model import NO_MODEL_REASON, find_echo_model
from heartprint.echo._geometry import (
    biplane_volume,
    indexed,
    la_volume_area_length,
    la_volume_discs,
    lv_mass_area_length,
    lv_mass_linear,
    relative_wall_thickness,
    single_plane_volume,
)
from heartprint.echo._sr import EchoSRResult, read_echo_sr
from heartprint.echo._strain import StrainResult, global_longitudinal_strain
from heartprint.echo._regional_strain import RegionalStrain, regional_strain
from heartprint.echo._valves import (
    ValveGrading,
    aortic_stenosis,
    continuity_ava_cm2,
    dimensionless_index,
    mitral_regurgitation,
    pisa_eroa_mm2,
    pisa_regurgitant_volume_ml,
    rvsp_mmhg,
    stroke_volume_lvot,
)

__all__ = [
    "ANALYSERS", "EchoSRResult", "StrainResult", "global_longitudinal_strain", "ValveGrading", "aortic_stenosis", "biplane_volume", "continuity_ava_cm2", "dimensionless_index",
    "indexed", "la_volume_area_length", "la_volume_discs", "lv_mass_area_length", "lv_mass_linear",
    "mitral_regurgitation", "pisa_eroa_mm2", "pisa_regurgitant_volume_ml", "read_echo_sr", "relative_wall_thickness",
    "rvsp_mmhg", "single_plane_volume", "stroke_volume_lvot",
    "RegionalStrain", "regional_strain",
]
__all__ += ["CONTOUR_FORMAT", "NO_MODEL_REASON", "Tracing", "analyse_echo_cine", "find_echo_model", "load_contour_file",
            "tracings_from_sr"]  # echo cine: tracings (contour file, SR SCOORD), the model slot

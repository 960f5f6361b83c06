"""Echocardiography (issue 20, in progress): vendor measurements in, chamber geometry, Doppler and valves.

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
                                          (in progress: within 1 point at -20 %, 1.2 short at -12 % on the phantom)
mitral_regurgitation(*, eroa_mm2=None, ...), rvsp_mmhg, stroke_volume_lvot, continuity_ava_cm2,
dimensionless_index, pisa_eroa_mm2, pisa_regurgitant_volume_ml

The pipeline analyses a vendor's echo SR (kind ``sr``, read from its datasets); echo cines are not
analysed yet, and no echo segmentation ships (no labelled echo data can be obtained here; see the
README). Research and decision support only.
"""

from heartprint.echo._analysers import ANALYSERS
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
]

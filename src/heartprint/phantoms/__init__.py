"""Synthetic studies with exact, known answers — for tests, demos and benchmarks.

Public API
----------
make_cine_sax, FOUNDATION_HEART
    A beating-heart cine short-axis bSSFP stack (:class:`CinePhantom`): image, label maps
    and analytic truth (volumes, mass, EF, wall thickness, RV insertion points, axes).
write_cine_sax_dicom
    Write a :class:`CinePhantom` as a valid MR Image Storage series (one file per slice
    and phase), atomically.
write_demo_study
    Both of the above in one call; returns the file paths and a JSON-able truth dict.
make_demo_patient, write_demo_patient
    A multi-modality phantom patient (cine, LGE and MOLLI on one heart; calcium CT) and its
    DICOM: two studies of one patient, with the exact answers.
truncated_ellipsoid_volume_mm3
    Closed-form volume of a prolate ellipsoid cut by a plane perpendicular to its axis.
Defect, make_perfusion_phantom, make_stress_rest, normal_population, write_nm_dicom
    SPECT myocardial perfusion phantoms (oblique LV shell, defects of known extent, severity and
    territory, gating with known volumes, Poisson noise) and their NM DICOM.
make_dynamic_pet, make_dynamic_pet_image, write_pet_dicom
    PET flow phantoms: time-activity curves with known MBF, a dynamic PET volume, and its PET DICOM.
"""

from heartprint.phantoms._calcium import CalciumPhantom, make_calcium_phantom, write_calcium_dicom
from heartprint.phantoms._cine_sax import (
    FOUNDATION_HEART,
    LABELS,
    MYOCARDIAL_DENSITY_G_PER_ML,
    CinePhantom,
    make_cine_sax,
)
from heartprint.phantoms._demo import write_demo_study
from heartprint.phantoms._dicom import write_cine_sax_dicom
from heartprint.phantoms._patient import DemoPatient, make_demo_patient, write_demo_patient
from heartprint.phantoms._geometry import truncated_ellipsoid_volume_mm3
from heartprint.phantoms._tissue import TissuePhantom, make_lge_sax, make_molli_series, make_t2_series, make_t2star_series, write_tissue_dicom
from heartprint.phantoms._vessels import TreePhantom, VesselPhantom, make_coronary_tree, make_stenosed_vessel
from heartprint.phantoms._nuclear import (
    Defect,
    FlowPhantom,
    PerfusionPhantom,
    make_dynamic_pet,
    make_perfusion_phantom,
    make_stress_rest,
    normal_population,
)
from heartprint.phantoms._nm_dicom import write_nm_dicom
from heartprint.phantoms._pet_dicom import write_pet_dicom
from heartprint.phantoms._pet_dynamic import DynamicPetPhantom, make_dynamic_pet_image

__all__ = [
    "TissuePhantom",
    "make_lge_sax",
    "make_molli_series",
    "make_t2_series",
    "make_t2star_series",
    "write_tissue_dicom",
    "CalciumPhantom", "make_calcium_phantom", "write_calcium_dicom",  # QRM-like calcium phantom (CT)
    "FOUNDATION_HEART",
    "LABELS",
    "MYOCARDIAL_DENSITY_G_PER_ML",
    "CinePhantom",
    "make_cine_sax",
    "truncated_ellipsoid_volume_mm3",
    "write_cine_sax_dicom",
    "write_demo_study",
    "DemoPatient", "make_demo_patient", "write_demo_patient",  # multi-modality phantom patient
    "TreePhantom", "VesselPhantom", "make_coronary_tree", "make_stenosed_vessel",
    "Defect", "FlowPhantom", "PerfusionPhantom", "make_dynamic_pet", "make_perfusion_phantom", "make_stress_rest",
    "normal_population", "write_nm_dicom",  # SPECT/PET perfusion (issue 19)
    "DynamicPetPhantom", "make_dynamic_pet_image", "write_pet_dicom",
]

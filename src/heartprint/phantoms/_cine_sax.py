"""A beating-heart cine short-axis (SAX) bSSFP phantom with exact ground truth.

Anatomy (all sizes in mm, volumes in mL, times in ms):

* **LV** — a truncated prolate ellipsoidal shell. Endocardium and epicardium are
  ellipsoids sharing the long axis and centre, cut by a fixed basal plane. The
  endocardial volume follows a physiological curve (ejection to end-systole at ~35 % of
  RR, rapid filling, diastasis, atrial kick); the epicardium at each phase is solved so
  that the myocardial volume is constant (to 1e-9 relative). Volumes are closed-form
  (:func:`~heartprint.phantoms._geometry.truncated_ellipsoid_volume_mm3`).
* **RV** — a crescent wrapped round the septum: at each level an ellipse minus the LV
  epicardial disc, truncated at the same basal plane, with a 3 mm free wall (label 0).
  Its volume is semi-analytic (relative error < 1e-5).
* **Surroundings** — body outline (elliptic cylinder 300 × 220 mm), subcutaneous fat,
  chest-wall muscle, lungs, liver, spine, descending aorta, atria and great vessels above
  the base, and epicardial fat partly round the heart.

Image formation: every voxel is the mean of 3 × 3 in-plane × 5 through-plane sub-samples
of a tissue intensity table (partial volume), multiplied by a smooth coil-sensitivity
field, with Rician noise, rounded to integers in 0–65535 (stored as uint16 in DICOM).
Labels are by **plurality of the 45 sub-samples** of each voxel (ties go to the lower
label), so the voxel label volume is an unbiased estimate of the analytic volume.

The slice slabs are placed so that the most basal slice lies wholly above the base (atria
and great vessels, no LV or RV) and the basal plane falls exactly on the boundary between
it and the next; with the default 12 slices of 8 mm the most apical slice lies wholly
below the apex. The z index runs along the DICOM normal (row × column), which for this
orientation is apex → base (``truth["slice_level_mm"]`` gives each slice's level).

Myocardial density 1.05 g/mL: Kawel-Boehm N et al. Reference ranges ("normal values")
for cardiovascular magnetic resonance (CMR) in adults and children: 2020 update.
J Cardiovasc Magn Reson 2020;22:87, doi:10.1186/s12968-020-00683-3.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from scipy.optimize import brentq

from heartprint.errors import InvalidInputError
from heartprint.image import Image, affine_from_geometry, check_spacing
from heartprint.phantoms._geometry import (
    RVShape,
    disc_radius_mm,
    rv_cavity_volume_mm3,
    truncated_ellipsoid_volume_mm3,
)

__all__ = ["CinePhantom", "make_cine_sax", "MYOCARDIAL_DENSITY_G_PER_ML", "LABELS", "TISSUE_INTENSITIES"]

#: Myocardial density, g/mL (Kawel-Boehm et al., JCMR 2020;22:87, doi:10.1186/s12968-020-00683-3).
MYOCARDIAL_DENSITY_G_PER_ML = 1.05

#: heartprint label convention (DESIGN.md).
LABELS = {"background": 0, "lv_cavity": 1, "lv_myocardium": 2, "rv_cavity": 3}

#: Keyword arguments of :func:`make_cine_sax` for the foundation's heart (issue 2: LV of
#: ellipsoidal shells and RV, smooth cavities, no epicardial fat), on which issue 3 states its
#: whole-pipeline check; the defaults add trabeculae, papillary muscles and fat.
FOUNDATION_HEART = {"trabeculation_mm": 0.0, "papillary_radius_mm": 0.0, "epicardial_fat_mm": 0.0}

_MM3_PER_ML = 1000.0

# --- fixed anatomy (mm) ------------------------------------------------------------------
_BASE_OFFSET = 22.0        # basal plane above the LV ellipsoid centre
_EPI_LENGTH_ED = 78.0      # epicardial base-to-apex length at end-diastole
_APEX_WALL_ED = 6.0        # apical wall thickness at end-diastole
_LONG_AXIS_EXPONENT = 0.6  # L_endo ∝ (R_endo scale)**0.6: long axis shortens less than the radius
_RV_WALL = 3.0             # RV free-wall thickness
_RV_A0, _RV_B0 = 24.0, 44.0      # RV ellipse radial / tangential semi-axes at scale 1
_RV_S0, _RV_C = -14.0, 54.0      # RV ellipsoid profile centre and half-length along s
_RV_SEPTAL_FRACTION = 0.35       # septal edge of the RV ellipse at 0.35 r_epi
_RV_TANGENTIAL_EXPONENT = 0.5    # b ∝ scale**0.5 (the free wall moves more than the span)
_RV_ANGLE_DEG = 200.0      # in-plane direction LV axis -> RV, degrees from +x (image row) towards +y
_LV_AXIS_PIXEL = (0.47, 0.56)    # LV axis at (row, column) fraction of the matrix
_LV_CENTRE_LPS = np.array([35.0, -20.0, 10.0])

# Double-oblique SAX orientation with exact decimal direction cosines (a rotation from the
# integer quaternion (6, -2, 3, -1), norm 50): columns are the LPS directions of
# increasing z (base -> apex: left, anterior, inferior), y (image rows: posterior-inferior)
# and x (image columns: left). DICOM row x column = -z.
_OBLIQUE_DIRECTION = np.array([[0.6, 0.0, 0.8], [-0.48, 0.8, 0.36], [-0.64, -0.6, 0.48]])
# "oblique=False": an axial stack, z index running inferiorly, x = L, y = P.
_AXIAL_DIRECTION = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])

# --- tissues and bSSFP-like intensities (blood = 1000 before the bias field) ------------
#: Default tissue intensities of the phantom (see ``make_cine_sax(intensities=...)``).
TISSUE_INTENSITIES = MappingProxyType({
    "air": 0.0, "lv_blood": 1000.0, "lv_myo": 300.0, "rv_blood": 1000.0, "rv_wall": 300.0,
    "epi_fat": 850.0, "subcut_fat": 800.0, "muscle": 280.0, "lung": 35.0, "liver": 400.0,
    "mediastinum": 100.0, "bone": 380.0, "csf": 900.0, "vessel_blood": 950.0, "abdomen": 420.0,
    "lv_trabeculae": 300.0,
})
_T = {name: i for i, name in enumerate(TISSUE_INTENSITIES)}
_INTENSITY = np.array(list(TISSUE_INTENSITIES.values()), dtype=np.float32)
_TISSUE_LABEL = np.zeros(len(_T), dtype=np.uint8)
_TISSUE_LABEL[_T["lv_blood"]] = LABELS["lv_cavity"]
_TISSUE_LABEL[_T["lv_myo"]] = LABELS["lv_myocardium"]
_TISSUE_LABEL[_T["rv_blood"]] = LABELS["rv_cavity"]
# Papillary muscles and trabeculae belong to the LV cavity (the ACDC convention and one of the
# two SCMR-accepted ones: Fratz et al., JCMR 2013;15:51, doi:10.1186/1532-429X-15-51, Fig. 8).
_TISSUE_LABEL[_T["lv_trabeculae"]] = LABELS["lv_cavity"]

# --- endocardial and epicardial detail (defaults of make_cine_sax) -------------------------
#: Two papillary muscles (anterolateral, posteromedial) as round columns attached to the
#: wall between 30 % and 75 % of the base-to-apex cavity length. A 5.5 mm radius gives
#: 6 g together for the default heart (5.7 mL rendered), 3 g/m² for a 1.9 m² patient
#: (non-hypertrophied HCM mutation carriers 4.0 ± 0.9 g/m²: Gommans et al., Neth Heart J
#: 2016;24:326, doi:10.1007/s12471-016-0805-y). They thicken by 15 % in radius by end-systole.
_PAPILLARY_ANGLES_DEG = (130.0, -110.0)   # from the septal (RV) direction
_PAPILLARY_LEVELS = (0.30, 0.75)          # fraction of the cavity length from the base
_PAPILLARY_ES_GROWTH = 1.15
#: Trabeculae: 16 radial strands filling ~45 % of the layer at the compact wall, tapering to
#: ~20 % at its inner edge; a 2.5 mm layer holds 8 % of the default LV mass (9.8 mL; normal
#: trabeculated mass is well below 20 % of the total: Jacquier et al., Eur Heart J
#: 2010;31:1098, doi:10.1093/eurheartj/ehp595).
_TRABECULAE_STRANDS = 16

_SUB_INPLANE = 3
_SUB_THROUGH = 5


# ------------------------------------------------------------------------------------------
def volume_curve(tau: np.ndarray, tau_es: float) -> np.ndarray:
    """Normalised ventricular volume over the cycle: 1 at end-diastole, 0 at end-systole.

    ``tau`` is time / RR in [0, 1). Raised-cosine pieces (C¹, zero slope at each joint):
    ejection 0 → ``tau_es``; rapid filling to 75 % of the stroke volume over 0.2 RR;
    diastasis to 80 % by 0.8 RR; atrial contraction to 100 % at 1.0 RR.
    """
    tau = np.asarray(tau, dtype=float)
    tau_rf, tau_a = tau_es + 0.2, 0.8

    def rise(x: np.ndarray) -> np.ndarray:
        return 0.5 * (1.0 - np.cos(np.pi * np.clip(x, 0.0, 1.0)))

    return np.select(
        [tau <= tau_es, tau <= tau_rf, tau <= tau_a],
        [
            1.0 - rise(tau / tau_es),
            0.75 * rise((tau - tau_es) / (tau_rf - tau_es)),
            0.75 + 0.05 * rise((tau - tau_rf) / (tau_a - tau_rf)),
        ],
        0.8 + 0.2 * rise((tau - tau_a) / (1.0 - tau_a)),
    )


@dataclass(frozen=True)
class LVPhase:
    """LV shell at one phase (mm): endocardial and epicardial ellipsoid semi-axes."""

    endo_radius: float
    endo_half_length: float
    epi_radius: float
    epi_half_length: float


@dataclass(eq=False)
class CinePhantom:
    """A synthetic cine SAX study and its exact answers.

    Attributes
    ----------
    image
        :class:`heartprint.Image`, ``(t, z, y, x)`` float32 intensities (integers 0–65535,
        identical to the DICOM pixel values), ``frame_times_ms``, LPS affine.
    labels
        ``(t, z, y, x)`` uint8 label maps (0 background, 1 LV cavity, 2 LV myocardium,
        3 RV cavity) by plurality of each voxel's 45 sub-samples.
    truth
        JSON-able dict of the analytic answers (see :func:`make_cine_sax`).
    lv_phases
        Per-phase :class:`LVPhase` ellipsoid parameters.
    rv_shapes
        Per-phase :class:`~heartprint.phantoms._geometry.RVShape`.
    """

    image: Image
    labels: np.ndarray
    truth: dict[str, Any]
    lv_phases: list[LVPhase] = field(repr=False)
    rv_shapes: list[RVShape] = field(repr=False)
    base_offset_mm: float = _BASE_OFFSET
    lv_centre_lps: np.ndarray = field(default_factory=lambda: np.zeros(3), repr=False)
    long_axis_lps: np.ndarray = field(default_factory=lambda: np.zeros(3), repr=False)
    rv_direction_lps: np.ndarray = field(default_factory=lambda: np.zeros(3), repr=False)
    tangent_direction_lps: np.ndarray = field(default_factory=lambda: np.zeros(3), repr=False)

    def lv_cavity_volume_ml(self, t: int) -> float:
        return self.truth["lv_cavity_volume_ml"][t]

    def label_volumes_ml(self, t: int) -> dict[str, float]:
        """Voxel-count volumes (mL) of labels 1–3 at phase ``t`` (for checks against ``truth``)."""
        vox = self.image.voxel_volume_mm3 / _MM3_PER_ML
        lab = self.labels[t]
        return {name: float(np.count_nonzero(lab == value) * vox) for name, value in LABELS.items() if value}

    def write_dicom(self, out_dir, **kwargs):
        """Write one MR Image Storage file per (slice, phase); see :func:`write_cine_sax_dicom`."""
        from heartprint.phantoms._dicom import write_cine_sax_dicom

        return write_cine_sax_dicom(self, out_dir, **kwargs)


# ------------------------------------------------------------------------------------------
def _solve_lv(edv_ml: float, volumes_ml: np.ndarray, myo_ml: float) -> list[LVPhase]:
    base = _BASE_OFFSET
    epi_len_ed = _EPI_LENGTH_ED - base
    endo_len_ed = epi_len_ed - _APEX_WALL_ED
    unit = truncated_ellipsoid_volume_mm3(1.0, endo_len_ed, base)
    r_ed = np.sqrt(edv_ml * _MM3_PER_ML / unit)
    v_myo = myo_ml * _MM3_PER_ML

    def epi_for(r_i: float, l_i: float, kappa: float) -> float:
        v_endo = truncated_ellipsoid_volume_mm3(r_i, l_i, base)
        return brentq(
            lambda t: truncated_ellipsoid_volume_mm3(r_i + t, l_i + kappa * t, base) - v_endo - v_myo,
            1e-6, 60.0, xtol=1e-12, rtol=1e-14,
        )

    # End-diastole fixes the apical/equatorial thickness ratio kappa.
    t_ed = brentq(
        lambda t: truncated_ellipsoid_volume_mm3(r_ed + t, epi_len_ed, base)
        - edv_ml * _MM3_PER_ML - v_myo,
        1e-6, 60.0, xtol=1e-12, rtol=1e-14,
    )
    kappa = _APEX_WALL_ED / t_ed
    phases = []
    for v in volumes_ml:
        def f(lam: float) -> float:
            return truncated_ellipsoid_volume_mm3(r_ed * lam, endo_len_ed * lam**_LONG_AXIS_EXPONENT, base) - v * _MM3_PER_ML

        lo = (base / endo_len_ed) ** (1.0 / _LONG_AXIS_EXPONENT) * (1 + 1e-9)
        if f(lo) > 0:
            raise InvalidInputError(f"LV volume {v:.1f} mL is too small for the phantom's basal geometry")
        lam = brentq(f, lo, 3.0, xtol=1e-14, rtol=1e-15)
        r_i, l_i = r_ed * lam, endo_len_ed * lam**_LONG_AXIS_EXPONENT
        t = epi_for(r_i, l_i, kappa)
        phases.append(LVPhase(float(r_i), float(l_i), float(r_i + t), float(l_i + kappa * t)))
    return phases


def _rv_shape(scale: float, lv: LVPhase) -> RVShape:
    return RVShape(
        _RV_A0 * scale, _RV_B0 * scale**_RV_TANGENTIAL_EXPONENT, _RV_S0, _RV_C, _RV_SEPTAL_FRACTION,
        lv.epi_radius, lv.epi_half_length, _BASE_OFFSET, _RV_WALL,
    )


def _solve_rv(volumes_ml: np.ndarray, lv_phases: list[LVPhase]) -> list[RVShape]:
    shapes = []
    for v, lv in zip(volumes_ml, lv_phases):
        target = v * _MM3_PER_ML
        scale = brentq(
            lambda m: rv_cavity_volume_mm3(_rv_shape(m, lv), n_s=48, n_theta=1024) - target,
            0.2, 3.0, xtol=1e-5,
        )
        shapes.append(_rv_shape(scale, lv))
    return shapes


# ------------------------------------------------------------------------------------------
def _static_tissue(pts: np.ndarray, frame: dict[str, np.ndarray]) -> np.ndarray:
    """Tissue code of the surroundings at LPS points ``(..., 3)`` (mm)."""
    x, y, z = pts[..., 0], pts[..., 1], pts[..., 2]
    out = np.full(x.shape, _T["air"], dtype=np.uint8)

    def ell2(cx, cy, ax, ay):
        return ((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2

    def ell3(c, ax):
        return ((x - c[0]) / ax[0]) ** 2 + ((y - c[1]) / ax[1]) ** 2 + ((z - c[2]) / ax[2]) ** 2

    out[ell2(0, 0, 150, 110) < 1] = _T["subcut_fat"]
    out[ell2(0, 2, 136, 97) < 1] = _T["muscle"]
    thorax = ell2(0, 4, 124, 86) < 1
    abdomen_level = z < -60
    out[thorax] = _T["mediastinum"]
    out[thorax & abdomen_level] = _T["abdomen"]
    out[thorax & (ell3((-68, 8, 40), (52, 72, 150)) < 1)] = _T["lung"]
    out[thorax & (ell3((78, 14, 40), (44, 66, 150)) < 1)] = _T["lung"]
    out[thorax & (ell3((-45, -5, -95), (95, 78, 62)) < 1)] = _T["liver"]
    out[ell2(0, 76, 18, 16) < 1] = _T["bone"]
    out[ell2(0, 98, 7, 7) < 1] = _T["csf"]
    out[ell2(24, 56, 11, 11) < 1] = _T["vessel_blood"]

    # Atria and great vessels: only above the basal plane (s < -base_offset).
    rel = pts - frame["centre"]
    s = rel @ frame["u"]
    above = s < -_BASE_OFFSET
    p = rel @ frame["p"]
    q = rel @ frame["q"]
    post = rel @ frame["post_inplane"]
    sb = s + _BASE_OFFSET  # <= 0 above the base

    def blob(dp, dpost, ds, rad):
        # (dp along RV direction, dpost along the in-plane posterior direction, ds above the base)
        dq_p = p - dp * 1.0
        return (dq_p**2 + (post - dpost) ** 2) / rad[0] ** 2 + ((sb - ds) / rad[1]) ** 2 < 1

    del q
    out[above & blob(-8.0, 18.0, -26.0, (27.0, 28.0))] = _T["vessel_blood"]  # left atrium
    out[above & blob(38.0, 12.0, -24.0, (24.0, 28.0))] = _T["vessel_blood"]  # right atrium
    out[above & blob(14.0, -14.0, -30.0, (13.0, 40.0))] = _T["vessel_blood"]  # aortic root
    out[above & blob(42.0, -34.0, -30.0, (12.0, 40.0))] = _T["vessel_blood"]  # pulmonary trunk
    return out


def _paint_endocardial_detail(
    tissue: np.ndarray, cavity: np.ndarray, r2: np.ndarray, p: np.ndarray, q: np.ndarray, strands: np.ndarray,
    r_endo: float, contraction: float, level: float, trabeculation_mm: float, papillary_radius_mm: float,
) -> None:
    """Paint trabeculae and papillary muscles (tissue ``lv_trabeculae``) inside the cavity of
    one sub-sample plane; ``level`` is the fraction of the cavity length from the base and
    ``contraction`` 0 at end-diastole, 1 at end-systole."""
    if trabeculation_mm > 0:
        depth = (np.float32(r_endo) - np.sqrt(r2)) / np.float32(trabeculation_mm)  # 0 at the wall, 1 inside
        # strands: cos(16 angle) above a threshold rising with depth (fill ~45 % → ~20 %)
        tissue[cavity & (depth < 1.0) & (strands > 0.15 + 0.45 * depth)] = _T["lv_trabeculae"]
    if papillary_radius_mm > 0 and _PAPILLARY_LEVELS[0] < level < _PAPILLARY_LEVELS[1]:
        rp = papillary_radius_mm * (1.0 + (_PAPILLARY_ES_GROWTH - 1.0) * contraction)
        d = max(r_endo - 0.7 * rp, 0.0)  # centre: the muscle overlaps the wall by 30 % of its radius
        for angle in np.deg2rad(_PAPILLARY_ANGLES_DEG):
            inside = (p - np.float32(d * np.cos(angle))) ** 2 + (q - np.float32(d * np.sin(angle))) ** 2 < np.float32(rp * rp)
            tissue[cavity & inside] = _T["lv_trabeculae"]


def _bias_field(ny: int, nx: int, k: int, nz: int) -> np.ndarray:
    """Smooth multiplicative coil sensitivity, 0.8–1.2 (anterior surface coil brighter)."""
    yy = (np.arange(ny) + 0.5) / ny - 0.5
    xx = (np.arange(nx) + 0.5) / nx - 0.5
    y, x = np.meshgrid(yy, xx, indexing="ij")
    zf = (k + 0.5) / nz - 0.5
    field_ = 1.0 - 0.22 * y + 0.08 * x + 0.06 * zf - 0.25 * (x**2 + y**2)
    return field_.astype(np.float32)


def make_cine_sax(
    *,
    n_phases: int = 25,
    n_slices: int = 12,
    spacing: tuple[float, float, float] = (8.0, 1.4, 1.4),
    matrix: tuple[int, int] = (192, 192),
    rr_ms: float = 1000.0,
    edv_ml: float = 140.0,
    esv_ml: float = 60.0,
    lv_mass_g: float = 130.0,
    rv_edv_ml: float = 150.0,
    rv_esv_ml: float = 70.0,
    noise_sd: float = 20.0,
    seed: int = 0,
    oblique: bool = True,
    intensities: dict[str, float] | None = None,
    trabeculation_mm: float = 2.5,
    papillary_radius_mm: float = 5.5,
    epicardial_fat_mm: float = 1.5,
) -> CinePhantom:
    """Synthesise a cine SAX bSSFP stack of a beating heart with its exact answers.

    Parameters
    ----------
    n_phases, n_slices
        Cardiac phases (equally spaced over ``rr_ms``, first at the R wave, 0 ms) and
        short-axis slices (contiguous slabs, slice thickness = ``spacing[0]``).
    spacing
        ``(dz, dy, dx)`` mm. ``dz`` is both slice thickness and slice spacing.
    matrix
        ``(rows, columns)``.
    rr_ms
        R-R interval (ms); heart rate is ``60000 / rr_ms`` /min.
    edv_ml, esv_ml, rv_edv_ml, rv_esv_ml
        LV volumes are reproduced exactly at phase 0 (ED) and at the ES phase
        (``round(0.35 n_phases)``); RV volumes are matched to ~0.5 % by a coarse solve and
        reported exactly (semi-analytic) in ``truth``.
    lv_mass_g
        LV myocardial mass (g) = myocardial volume × 1.05 g/mL, constant over the cycle.
        The default 130 g gives an end-diastolic wall of ~9.2 mm.
    noise_sd
        Standard deviation of the complex Gaussian noise (Rician magnitude); blood ≈ 1000.
    seed
        Seed of the noise (the only random element); equal seeds give identical arrays.
    oblique
        ``True``: a double-oblique SAX orientation; ``False``: an axial stack (the heart
        is then rotated so that its long axis is cranio-caudal).
    intensities
        Tissue intensities replacing the default bSSFP-like table (keys among
        :data:`TISSUE_INTENSITIES`, the defaults; blood is 1000). Trabeculae take the
        myocardium's value unless given their own.
    trabeculation_mm, papillary_radius_mm
        Depth of the trabecular layer inside the compact endocardium and radius of the two
        papillary muscles at end-diastole (0 disables either: a smooth cavity). Both have
        the myocardium's signal and are labelled LV cavity, so the analytic cavity volumes
        (inside the compact wall) and the mass (compact wall) do not depend on them;
        ``truth["lv_papillary_trabecular_volume_ml"]`` gives their rendered volume.
    epicardial_fat_mm
        A layer of epicardial fat of this thickness round the LV epicardium wherever the RV
        does not adjoin it, besides the thicker fat of the atrioventricular and
        interventricular grooves (0 disables).

    Returns
    -------
    CinePhantom
        ``truth`` holds (units in the key names): ``lv_cavity_volume_ml``,
        ``rv_cavity_volume_ml``, ``lv_myocardial_volume_ml``, ``lv_mass_g`` (per phase
        lists), ``ed_phase``, ``es_phase``, ``lv_edv_ml``, ``lv_esv_ml``, ``lv_sv_ml``,
        ``lv_ef_percent``, ``rv_edv_ml``, ``rv_esv_ml``, ``rv_sv_ml``, ``rv_ef_percent``,
        ``heart_rate_bpm``, ``rr_ms``, ``frame_times_ms``, ``myocardial_density_g_per_ml``,
        ``lv_long_axis_lps`` (unit vector base→apex), ``lv_centre_lps`` (ellipsoid centre),
        ``lv_base_centre_lps`` (centre of the basal plane), ``slice_level_mm`` (distance
        of each slice centre from the basal plane along the long axis, positive apically),
        ``wall_thickness_mm`` ``[t][z]`` (in-plane radial wall thickness in the slice
        centre plane, the same in every direction; ``None`` where the slice has no
        myocardium), ``rv_insertion_points_lps`` ``[t][z]`` (two LPS points or ``None``),
        ``lv_present``/``rv_present`` ``[t][z]`` booleans (analytic, slice centre plane),
        ``apex_covered``, ``base_covered``, ``label_rule``, ``geometry`` (ellipsoid
        parameters per phase) and ``citation``.
    """
    dz, dy, dx = check_spacing(spacing)
    ny, nx = (int(v) for v in matrix)
    if n_phases < 2 or n_slices < 2 or ny < 16 or nx < 16:
        raise InvalidInputError(
            f"n_phases={n_phases}, n_slices={n_slices}, matrix={matrix}: expected >= 2 phases, >= 2 slices, >= 16x16"
        )
    if not (0 < esv_ml < edv_ml and 0 < rv_esv_ml < rv_edv_ml and lv_mass_g > 0 and rr_ms > 0 and noise_sd >= 0):
        raise InvalidInputError(
            f"edv_ml={edv_ml}, esv_ml={esv_ml}, rv_edv_ml={rv_edv_ml}, rv_esv_ml={rv_esv_ml}, "
            f"lv_mass_g={lv_mass_g}, rr_ms={rr_ms}, noise_sd={noise_sd}: expected 0 < ESV < EDV, mass > 0, RR > 0, noise >= 0"
        )
    detail = {"trabeculation_mm": trabeculation_mm, "papillary_radius_mm": papillary_radius_mm,
              "epicardial_fat_mm": epicardial_fat_mm}
    for name, value in detail.items():
        if not (np.isfinite(value) and 0.0 <= value <= 15.0):
            raise InvalidInputError(f"{name}={value}: expected a thickness in mm between 0 and 15")

    # --- timing and volume curves ---------------------------------------------------------
    es_phase = int(round(0.35 * n_phases))
    tau_es = es_phase / n_phases
    frame_times = np.arange(n_phases) * (rr_ms / n_phases)
    g = volume_curve(np.arange(n_phases) / n_phases, tau_es)
    lv_target = esv_ml + (edv_ml - esv_ml) * g
    rv_target = rv_esv_ml + (rv_edv_ml - rv_esv_ml) * g
    myo_ml = lv_mass_g / MYOCARDIAL_DENSITY_G_PER_ML

    lv_phases = _solve_lv(edv_ml, lv_target, myo_ml)
    rv_shapes = _solve_rv(rv_target, lv_phases)

    # --- geometry -------------------------------------------------------------------------
    direction = _OBLIQUE_DIRECTION if oblique else _AXIAL_DIRECTION
    u, yhat, xhat = direction[:, 0], direction[:, 1], direction[:, 2]
    phi = np.deg2rad(_RV_ANGLE_DEG)
    # in-plane coordinates relative to the LV axis, in the (x, y) image basis
    p_img = np.array([np.cos(phi), np.sin(phi)])
    q_img = np.array([-np.sin(phi), np.cos(phi)])
    p_lps = p_img[0] * xhat + p_img[1] * yhat
    q_lps = q_img[0] * xhat + q_img[1] * yhat
    posterior = np.array([0.0, 1.0, 0.0])
    post_inplane = posterior - (posterior @ u) * u
    post_inplane /= np.linalg.norm(post_inplane)

    axis_row, axis_col = _LV_AXIS_PIXEL[0] * (ny - 1), _LV_AXIS_PIXEL[1] * (nx - 1)
    slice_level = -dz / 2.0 + dz * np.arange(n_slices)  # from the base plane, apically positive
    s_centres = slice_level - _BASE_OFFSET
    origin = _LV_CENTRE_LPS + s_centres[0] * u - axis_col * dx * xhat - axis_row * dy * yhat
    origin = np.round(origin, 2)  # short decimals: exact in DICOM DS
    # The LV centre sits on the axis through (axis_row, axis_col) of every slice.
    centre = origin + axis_col * dx * xhat + axis_row * dy * yhat - s_centres[0] * u
    affine = affine_from_geometry((dz, dy, dx), origin, direction)
    frame = {"centre": centre, "u": u, "p": p_lps, "q": q_lps, "post_inplane": post_inplane}

    # --- sub-sample grids -----------------------------------------------------------------
    m, n = _SUB_INPLANE, _SUB_THROUGH
    sub_in = ((np.arange(m) + 0.5) / m - 0.5)
    sub_z = ((np.arange(n) + 0.5) / n - 0.5) * dz
    rows = (np.arange(ny)[:, None] + sub_in[None, :]).reshape(-1)  # fine row coordinates (pixels)
    cols = (np.arange(nx)[:, None] + sub_in[None, :]).reshape(-1)
    # in-plane mm relative to the LV axis
    ry = ((rows - axis_row) * dy).astype(np.float64)
    rx = ((cols - axis_col) * dx).astype(np.float64)

    # Heart region of interest (pixels), generous enough for RV wall and fat at ED.
    reach = 0.0
    for lv, rv in zip(lv_phases, rv_shapes):
        reach = max(reach, lv.epi_radius + 8.0, _RV_SEPTAL_FRACTION * lv.epi_radius + 2 * rv.a + rv.wall_mm + 8.0,
                    rv.b + rv.wall_mm + 8.0)
    r0 = max(0, int(np.floor(axis_row - reach / dy)) - 1)
    r1 = min(ny, int(np.ceil(axis_row + reach / dy)) + 2)
    c0 = max(0, int(np.floor(axis_col - reach / dx)) - 1)
    c1 = min(nx, int(np.ceil(axis_col + reach / dx)) + 2)
    fy = ry[r0 * m:r1 * m][:, None]
    fx = rx[c0 * m:c1 * m][None, :]
    px_ = (fx * p_img[0] + fy * p_img[1]).astype(np.float32)   # p coordinate (towards RV)
    qx_ = (fx * q_img[0] + fy * q_img[1]).astype(np.float32)
    strand_phase = np.cos(_TRABECULAE_STRANDS * np.arctan2(qx_, px_)).astype(np.float32)
    r2 = (fx**2 + fy**2).astype(np.float32)
    ang = np.arctan2(fy, fx)  # image-plane angle, +y (image down = posterior-inferior) at +90°
    # epicardial fat sectors: inferior (AV groove side) and the anterior interventricular groove
    fat_lv_sector = ((np.cos(ang - np.deg2rad(80.0)) > 0.35) | (np.cos(ang - np.deg2rad(245.0)) > 0.93))
    fat_rv_sector = np.cos(ang - np.deg2rad(215.0)) > 0.5
    hr, hc = r1 - r0, c1 - c0

    image = np.empty((n_phases, n_slices, ny, nx), dtype=np.float32)
    labels = np.zeros((n_phases, n_slices, ny, nx), dtype=np.uint8)
    intensity_lut = _INTENSITY.copy()
    for name, value in (intensities or {}).items():
        if name not in _T or not np.isfinite(value) or value < 0:
            raise InvalidInputError(f"intensities[{name!r}] = {value}: expected a tissue among {sorted(_T)} and a value >= 0")
        intensity_lut[_T[name]] = value
    if "lv_trabeculae" not in (intensities or {}):
        intensity_lut[_T["lv_trabeculae"]] = intensity_lut[_T["lv_myo"]]
    sub_voxel_ml = dz * dy * dx / (m * m * n) / _MM3_PER_ML
    pap_trab_ml = np.zeros(n_phases)
    for k in range(n_slices):
        # static surroundings: (n, ny*m, nx*m) sub-samples in LPS
        plane_pts = (
            origin[None, None, :]
            + (rows[:, None, None] * dy) * yhat[None, None, :]
            + (cols[None, :, None] * dx) * xhat[None, None, :]
        )
        static = np.stack([
            _static_tissue(plane_pts + (k * dz + dzo) * u, frame) for dzo in sub_z
        ])  # (n, ny*m, nx*m)
        static_img = intensity_lut[static].reshape(n, ny, m, nx, m).mean(axis=(0, 2, 4))
        static_roi = static[:, r0 * m:r1 * m, c0 * m:c1 * m]
        s_sub = s_centres[k] + sub_z
        for t in range(n_phases):
            lv, rv = lv_phases[t], rv_shapes[t]
            img = static_img.copy()
            if np.all(s_sub < -_BASE_OFFSET):
                image[t, k] = img
                continue
            r_i = disc_radius_mm(s_sub, lv.endo_radius, lv.endo_half_length, _BASE_OFFSET)
            r_e = disc_radius_mm(s_sub, lv.epi_radius, lv.epi_half_length, _BASE_OFFSET)
            _, cp, a, b = rv.level(s_sub)
            # Tight box (pixels, relative to the ROI) holding this slice's heart at this phase.
            lv_reach = float(np.max(r_e)) + 6.0
            p_hi = float(np.max(np.where(a > 0, cp + a, 0.0))) + rv.wall_mm + 6.0
            q_hi = float(np.max(b)) + rv.wall_mm + 6.0
            corners = np.array([[pp, qq] for pp in (-lv_reach, p_hi) for qq in (-q_hi, q_hi)])
            cxy = corners[:, :1] * p_img + corners[:, 1:] * q_img  # (x, y) mm
            xlo = min(cxy[:, 0].min(), -lv_reach); xhi = max(cxy[:, 0].max(), lv_reach)
            ylo = min(cxy[:, 1].min(), -lv_reach); yhi = max(cxy[:, 1].max(), lv_reach)
            ra = int(np.clip(np.floor(axis_row + ylo / dy) - 1 - r0, 0, hr))
            rb = int(np.clip(np.ceil(axis_row + yhi / dy) + 2 - r0, 0, hr))
            ca = int(np.clip(np.floor(axis_col + xlo / dx) - 1 - c0, 0, hc))
            cb = int(np.clip(np.ceil(axis_col + xhi / dx) + 2 - c0, 0, hc))
            fr, fc = slice(ra * m, rb * m), slice(ca * m, cb * m)
            tissue = static_roi[:, fr, fc].copy()
            px_b, qx_b, r2_b = px_[fr, fc], qx_[fr, fc], r2[fr, fc]
            strand_b = strand_phase[fr, fc]
            fat_lv_b, fat_rv_b = fat_lv_sector[fr, fc], fat_rv_sector[fr, fc]
            for j in range(n):
                if s_sub[j] < -_BASE_OFFSET:
                    continue
                tj = tissue[j]
                if r_e[j] > 0:
                    tj[(r2_b < np.float32((r_e[j] + 5.0) ** 2)) & fat_lv_b] = _T["epi_fat"]
                    if epicardial_fat_mm > 0:
                        tj[r2_b < np.float32((r_e[j] + epicardial_fat_mm) ** 2)] = _T["epi_fat"]
                if a[j] > 0:
                    dp = px_b - np.float32(cp[j])
                    aw, bw = np.float32(a[j] + rv.wall_mm), np.float32(b[j] + rv.wall_mm)
                    ea = (dp / aw) ** 2 + (qx_b / bw) ** 2
                    tj[(ea < ((aw + 4.0) / aw) ** 2) & fat_rv_b] = _T["epi_fat"]
                    tj[ea < 1.0] = _T["rv_wall"]
                    tj[(dp / np.float32(a[j])) ** 2 + (qx_b / np.float32(b[j])) ** 2 < 1.0] = _T["rv_blood"]
                tj[r2_b < np.float32(r_e[j] ** 2)] = _T["lv_myo"]
                cavity = r2_b < np.float32(r_i[j] ** 2)
                tj[cavity] = _T["lv_blood"]
                if r_i[j] > 0:
                    _paint_endocardial_detail(
                        tj, cavity, r2_b, px_b, qx_b, strand_b, float(r_i[j]), float(1.0 - g[t]),
                        float((s_sub[j] + _BASE_OFFSET) / (lv.endo_half_length + _BASE_OFFSET)),
                        trabeculation_mm, papillary_radius_mm,
                    )
            pap_trab_ml[t] += np.count_nonzero(tissue == _T["lv_trabeculae"]) * sub_voxel_ml
            bh, bw_ = rb - ra, cb - ca
            img[r0 + ra:r0 + rb, c0 + ca:c0 + cb] = intensity_lut[tissue].reshape(n, bh, m, bw_, m).mean(axis=(0, 2, 4))
            image[t, k] = img
            lab = _TISSUE_LABEL[tissue].reshape(n, bh, m, bw_, m)
            counts = np.stack([(lab == v).sum(axis=(0, 2, 4), dtype=np.int16) for v in range(4)])
            labels[t, k, r0 + ra:r0 + rb, c0 + ca:c0 + cb] = np.argmax(counts, axis=0).astype(np.uint8)

    # --- bias field, Rician noise, integer intensities -------------------------------------
    rng = np.random.default_rng(seed)
    bias = np.stack([_bias_field(ny, nx, k, n_slices) for k in range(n_slices)])
    for t in range(n_phases):
        clean = image[t] * bias
        noise = rng.standard_normal((2, *clean.shape), dtype=np.float32) * np.float32(noise_sd)
        mag = np.sqrt((clean + noise[0]) ** 2 + noise[1] ** 2)
        image[t] = np.clip(np.rint(mag), 0, 65535)

    truth = _truth(
        lv_phases, rv_shapes, frame_times, rr_ms, es_phase, myo_ml, slice_level, s_centres, centre, u,
        p_lps, q_lps, dz,
    )
    truth["lv_papillary_trabecular_volume_ml"] = [float(v) for v in pap_trab_ml]
    truth["endocardial_detail"] = {**detail, "convention": (
        "papillary muscles and trabeculae are part of the LV cavity (volumes) and not of the LV mass")}
    # Built base-first; stored with z along the DICOM normal (row x column), as heartprint.io
    # returns a series. (highdicom's Volume stacks the other way, along column x row, so that
    # (slice, row, column) is right-handed: its array is this one flipped on axis 0.)
    if np.dot(np.cross(xhat, yhat), u) < 0:
        image = np.ascontiguousarray(image[:, ::-1])
        labels = np.ascontiguousarray(labels[:, ::-1])
        origin = np.round(origin + (n_slices - 1) * dz * u, 6)
        direction = direction * np.array([-1.0, 1.0, 1.0])
        affine = affine_from_geometry((dz, dy, dx), origin, direction)
        truth["slice_level_mm"] = truth["slice_level_mm"][::-1]
        for key in ("wall_thickness_mm", "rv_insertion_points_lps", "lv_present", "rv_present"):
            truth[key] = [row[::-1] for row in truth[key]]
    truth["slice_order"] = (
        "z index increases along the DICOM slice normal (row x column direction); "
        "slice_level_mm gives each slice's distance from the basal plane (positive apically)"
    )
    meta = {
        "series_description": "CINE SSFP SAX",
        "heart_rate_bpm": truth["heart_rate_bpm"],
        "rr_ms": float(rr_ms),
        "patient_size_m": 1.75,
        "patient_weight_kg": 75.0,
        "phantom": "heartprint.phantoms.make_cine_sax",
        "seed": int(seed),
    }
    from pydicom.uid import generate_uid

    img = Image(
        image, affine, frame_times_ms=frame_times, study_uid=generate_uid(), series_uid=generate_uid(),
        modality="MR", kind="cine_sax", meta=meta,
    )
    return CinePhantom(
        image=img, labels=labels, truth=truth, lv_phases=lv_phases, rv_shapes=rv_shapes,
        lv_centre_lps=centre, long_axis_lps=u, rv_direction_lps=p_lps, tangent_direction_lps=q_lps,
    )


def _truth(lv_phases, rv_shapes, frame_times, rr_ms, es_phase, myo_ml, slice_level, s_centres, centre, u,
           p_lps, q_lps, dz) -> dict[str, Any]:
    base = _BASE_OFFSET
    lv_vol = [truncated_ellipsoid_volume_mm3(p.endo_radius, p.endo_half_length, base) / _MM3_PER_ML for p in lv_phases]
    epi_vol = [truncated_ellipsoid_volume_mm3(p.epi_radius, p.epi_half_length, base) / _MM3_PER_ML for p in lv_phases]
    myo = [e - v for e, v in zip(epi_vol, lv_vol)]
    rv_vol = [rv_cavity_volume_mm3(s) / _MM3_PER_ML for s in rv_shapes]
    ed, es = 0, int(es_phase)
    wall, ins, lv_present, rv_present = [], [], [], []
    for lv, rv in zip(lv_phases, rv_shapes):
        ri = disc_radius_mm(s_centres, lv.endo_radius, lv.endo_half_length, base)
        re = disc_radius_mm(s_centres, lv.epi_radius, lv.epi_half_length, base)
        wall.append([float(e - i) if e > 0 else None for e, i in zip(re, ri)])
        lv_present.append([bool(e > 0) for e in re])
        rv_present.append([bool(rv.level(s)[2] > 0) for s in s_centres])
        row = []
        for s in s_centres:
            pts = rv.insertion_points(float(s))
            row.append(None if pts is None else [
                [float(v) for v in centre + s * u + pq[0] * p_lps + pq[1] * q_lps] for pq in pts
            ])
        ins.append(row)
    lv_edv, lv_esv = lv_vol[ed], lv_vol[es]
    rv_edv, rv_esv = rv_vol[ed], rv_vol[es]
    # The apex is covered when the last slab lies wholly beyond the epicardial apex at every phase.
    last_slab_start = slice_level[-1] - dz / 2.0
    apex_len = max(p.epi_half_length + base for p in lv_phases)
    return {
        "lv_cavity_volume_ml": lv_vol,
        "rv_cavity_volume_ml": rv_vol,
        "lv_myocardial_volume_ml": myo,
        "lv_mass_g": [v * MYOCARDIAL_DENSITY_G_PER_ML for v in myo],
        "myocardial_density_g_per_ml": MYOCARDIAL_DENSITY_G_PER_ML,
        "ed_phase": ed,
        "es_phase": es,
        "lv_edv_ml": lv_edv,
        "lv_esv_ml": lv_esv,
        "lv_sv_ml": lv_edv - lv_esv,
        "lv_ef_percent": 100.0 * (lv_edv - lv_esv) / lv_edv,
        "rv_edv_ml": rv_edv,
        "rv_esv_ml": rv_esv,
        "rv_sv_ml": rv_edv - rv_esv,
        "rv_ef_percent": 100.0 * (rv_edv - rv_esv) / rv_edv,
        "rr_ms": float(rr_ms),
        "heart_rate_bpm": 60000.0 / float(rr_ms),
        "frame_times_ms": [float(v) for v in frame_times],
        "lv_long_axis_lps": [float(v) for v in u],
        "lv_centre_lps": [float(v) for v in centre],
        "lv_base_centre_lps": [float(v) for v in centre - base * u],
        "slice_level_mm": [float(v) for v in slice_level],
        "wall_thickness_mm": wall,
        "rv_insertion_points_lps": ins,
        "lv_present": lv_present,
        "rv_present": rv_present,
        "base_covered": bool(slice_level[0] + dz / 2.0 <= 0.0),
        "apex_covered": bool(last_slab_start >= apex_len),
        "label_rule": "plurality of 3x3 in-plane x 5 through-plane sub-samples per voxel (ties -> lower label); "
                      "papillary muscles and trabeculae are LV cavity",
        "geometry": {
            "base_offset_mm": base,
            "lv": [
                {"endo_radius_mm": float(p.endo_radius), "endo_half_length_mm": float(p.endo_half_length),
                 "epi_radius_mm": float(p.epi_radius), "epi_half_length_mm": float(p.epi_half_length)}
                for p in lv_phases
            ],
            "rv": [
                {"a_mm": s.a, "b_mm": s.b, "s0_mm": s.s0, "c_mm": s.c, "septal_fraction": s.septal_fraction,
                 "wall_mm": s.wall_mm}
                for s in rv_shapes
            ],
        },
        "citation": "Myocardial density 1.05 g/mL: Kawel-Boehm N et al., J Cardiovasc Magn Reson "
                    "2020;22:87, doi:10.1186/s12968-020-00683-3",
    }

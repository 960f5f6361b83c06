"""Gated perfusion SPECT/PET function: LV cavity volumes, ejection fraction, regional thickening, TID.

Method (all gates share the LV axis found on the summed image, so the frame does not move):

* **Rays** as in :func:`heartprint.nuclear._polar.polar_map`: body rings cast rays ⟂ the long axis
  on short-axis planes from the apical-cap centre to the basal plane; apical-cap rings cast rays
  over a hemisphere from a centre on the axis about one LV radius from the apex. Every gate is
  sampled at the same points (one ``map_coordinates`` call per gate).
* **Endocardium**: on each ray the wall is the count maximum within ``±search_half_width_mm`` of
  the ring's mean wall radius (per gate); the endocardial boundary is where the profile, going
  inward from that maximum, falls through ``endo_fraction`` of it (linear interpolation between
  samples). Vectorised over all rays. For a wall of thickness T blurred by a Gaussian of
  standard deviation σ, the count at the true endocardium is (Φ(T/σ) − ½)/(2Φ(T/2σ) − 1) of the
  wall maximum: 0.78 for T = 10 mm and 0.64 for T = 15 mm at FWHM 15 mm, so a fixed 50 % level
  lies inside the cavity and shrinks small (end-systolic) cavities most. The default 0.7 was
  chosen on the analytic shells of ``tests/test_nuclear_geometry.py`` (walls 9–15 mm, FWHM
  12–18 mm); it is a calibration to those phantoms, not to CMR or to clinical software.
* **Cavity volume**: body rings: area of the endocardial polygon on each short-axis plane
  (``½ Σ r_k r_{k+1} sin Δθ``) × ring thickness, up to the basal plane; apical cap:
  ``Σ r³/3 · sin φ Δφ Δθ`` (volume of a star-shaped region seen from the cap centre).
* ED = gate of largest volume, ES = gate of smallest; LVEF = (EDV − ESV)/EDV × 100.

Bias (measured on those analytic shells, truncated prolate ellipsoids, FWHM 15 mm, no noise): EDV
about −20 %, ESV about −20 %, LVEF within ±1 point; at FWHM 12 mm LVEF about −3 points and at
18 mm about +3.5 points (ESV −40 %): the error grows with blur relative to the cavity. Volumes are
for trend and ratios (EF, TID), not for absolute comparison with CMR.

Count-based wall thickening: in a wall thinner than about twice the system resolution, the
recovered maximum count is proportional to the wall thickness (partial-volume effect; Galt JR,
Garcia EV, Robbins WL. Effects of myocardial wall thickness on SPECT quantification. *IEEE Trans
Med Imaging* 1990;9:144–150 ⚠ from memory, not verified here), so percent systolic thickening ≈
(max count at ES − max count at ED)/max count at ED × 100 (Cooke CD, Garcia EV, Cullom SJ,
Faber TL, Pettigrew RI. Determining the accuracy of calculating systolic wall thickening using a
fast Fourier transform approximation: a simulation study based on canine and patient data.
*J Nucl Med* 1994;35:1185–1192 ⚠ from memory, not verified here). The count change saturates
once the wall approaches the resolution (≈ 2× FWHM), so it under-reads large thickening.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

from heartprint.errors import InvalidInputError
from heartprint.image import Image
from heartprint.nuclear._axis import LVAxis, find_lv_axis, summed_volume
from heartprint.nuclear._polar import _mid_radius, grid_segments, ray_grid, sample_rays, wall_maxima

__all__ = ["GatedFunction", "gated_function", "transient_ischaemic_dilation", "endocardial_radii"]


@dataclass
class GatedFunction:
    """LV function from a gated perfusion image.

    ``edv``, ``esv`` (mL), ``lvef`` (%), ``volumes_ml`` (per gate, mL), ``ed_index``/``es_index``
    (gate indices), ``method`` (text), ``thickening_pct`` (AHA segment → % count-based systolic
    thickening), ``axis`` (the LV frame used for all gates), ``warnings``.
    """

    edv: float
    esv: float
    lvef: float
    volumes_ml: np.ndarray
    ed_index: int
    es_index: int
    method: str
    thickening_pct: dict[int, float]
    axis: LVAxis
    warnings: list[str] = field(default_factory=list)

    @property
    def mean_volume_ml(self) -> float:
        """Time-averaged cavity volume over the gates (mL), the gated analogue of the summed-image volume."""
        return float(np.mean(self.volumes_ml))

    def to_dict(self) -> dict[str, Any]:
        return {
            "edv_ml": self.edv,
            "esv_ml": self.esv,
            "lvef_pct": self.lvef,
            "volumes_ml": [float(v) for v in self.volumes_ml],
            "ed_index": self.ed_index,
            "es_index": self.es_index,
            "method": self.method,
            "thickening_pct": {str(k): v for k, v in self.thickening_pct.items()},
            "axis": self.axis.to_dict(),
            "warnings": list(self.warnings),
        }


def endocardial_radii(profiles: np.ndarray, radii: np.ndarray, k_max: np.ndarray, fraction: float) -> np.ndarray:
    """Radius (mm) where each ray's profile, going inward from its maximum at ``k_max``, falls through
    ``fraction`` × maximum (linear interpolation); 0 where it never does (cavity not resolved)."""
    K = radii.size
    m = np.take_along_axis(profiles, k_max[..., None], axis=-1)[..., 0]
    level = fraction * m
    j = np.arange(K)
    below = (profiles < level[..., None]) & (j < k_max[..., None])
    last = np.where(below, j, -1).max(axis=-1)  # last sample below the level inside the maximum
    ok = last >= 0
    jj = np.clip(last, 0, K - 2)
    p0 = np.take_along_axis(profiles, jj[..., None], axis=-1)[..., 0]
    p1 = np.take_along_axis(profiles, (jj + 1)[..., None], axis=-1)[..., 0]
    step = radii[1] - radii[0]
    frac = np.clip((level - p0) / np.where(p1 - p0 > 0, p1 - p0, 1.0), 0.0, 1.0)
    return np.where(ok, radii[jj] + frac * step, 0.0)


#: A ray whose count maximum (summed gates) is below this fraction of the median body ray is in a
#: perfusion defect: its endocardial radius is interpolated from its ring's other rays (project choice).
DEFECT_RAY_FRACTION = 0.75


def _bridge(r: np.ndarray, defect: np.ndarray) -> np.ndarray:
    """``r`` (rings, sectors) with the ``defect`` rays replaced by periodic linear interpolation
    round their ring from the ring's other rays (a ring with fewer than 3 such rays is kept)."""
    out = r.copy()
    n = r.shape[1]
    idx = np.arange(n)
    for i in np.nonzero(defect.any(axis=1))[0]:
        good = ~defect[i]
        if good.sum() < 3:
            continue
        out[i, ~good] = np.interp(idx[~good], idx[good], r[i, good], period=n)
    return out


def gated_function(
    image: Image,
    axis: LVAxis | None = None,
    *,
    n_rings: int = 36,
    n_sectors: int = 60,
    n_cap_rings: int = 6,
    endo_fraction: float = 0.7,
    max_radius_mm: float = 60.0,
    search_half_width_mm: float = 15.0,
    step_mm: float = 1.0,
    smooth_fwhm_mm: float = 10.0,
) -> GatedFunction:
    """Cavity volume per gate, EDV/ESV/LVEF and count-based regional thickening of a gated image.

    ``image``: (t, z, y, x) counts, t ≥ 2 gates. ``axis``: the LV frame (default: found on the
    summed image with :func:`find_lv_axis`). See the module docstring for the method and bias.
    """
    arr = np.asarray(image.array, dtype=float)
    if arr.ndim != 4 or arr.shape[0] < 2:
        raise InvalidInputError(f"gated image shape {arr.shape}: expected (t, z, y, x) with t ≥ 2 gates")
    if smooth_fwhm_mm > 0:
        # each gate holds 1/n of the counts: Poisson noise moves the ray maxima and edges outward (noisy
        # phantoms: EDV +20 %); a Gaussian pre-filter per gate (spatial only: a temporal filter flattens the
        # volume curve of 8 gates) plays the part of the low-pass filter of gated SPECT reconstruction.
        # 10 mm chosen on phantoms (seeds 11-13, anterior defect): LVEF error within 4 points at 10 mm,
        # up to -6 points at 8 mm (project choice)
        sigma = smooth_fwhm_mm / (2.0 * np.sqrt(2.0 * np.log(2.0))) / np.asarray(image.spacing, float)
        arr = np.stack([ndimage.gaussian_filter(a, sigma) for a in arr])
    if not 0.1 <= endo_fraction <= 0.9:
        raise InvalidInputError(f"endo_fraction={endo_fraction!r}: expected a fraction in [0.1, 0.9]")
    warnings: list[str] = []
    if axis is None:
        fit = find_lv_axis(image)
        axis = fit.axis
        warnings += [f"axis: {w}" for w in fit.warnings]
    summed = arr.sum(axis=0)
    cap_r = _mid_radius(summed, image, axis, max_radius_mm, step_mm)
    grid = ray_grid(axis, n_rings=n_rings, n_sectors=n_sectors, n_cap_rings=n_cap_rings,
                    max_radius_mm=max_radius_mm, step_mm=step_mm, cap_radius_mm=cap_r, basal_margin_mm=0.0)
    C = n_cap_rings
    dtheta = np.deg2rad(360.0 / n_sectors)
    dphi = np.deg2rad(90.0 / max(C, 1))
    sin_phi = np.sin(np.deg2rad(grid.cap_phi_deg))
    # rays through a perfusion defect: their edge, found relative to a low maximum, is not the wall's;
    # the surface there is interpolated round the ring from the rays beside it (as gated SPECT
    # software does for severe defects), judged once on the summed image so every gate agrees
    m_sum, _ = wall_maxima(sample_rays(summed, image, grid.points), grid.radii, search_half_width_mm)
    defect = m_sum < DEFECT_RAY_FRACTION * np.median(m_sum[C:])
    vols, maxima, unresolved = [], [], []
    for g in range(arr.shape[0]):  # a few gates; each gate is one vectorised sampling
        prof = sample_rays(arr[g], image, grid.points)
        m, k = wall_maxima(prof, grid.radii, search_half_width_mm)
        r = _bridge(endocardial_radii(prof, grid.radii, k, endo_fraction), defect)
        unresolved.append(float(np.mean(r <= 0)))
        body = r[C:]
        area = 0.5 * np.sum(body * np.roll(body, -1, axis=1), axis=1) * np.sin(dtheta)  # (B,) mm²
        cap = np.sum(r[:C] ** 3 / 3.0 * sin_phi[:, None]) * dphi * dtheta
        vols.append((area.sum() * grid.disc_mm + cap) / 1000.0)
        maxima.append(m)
    volumes = np.asarray(vols)
    ed, es = int(np.argmax(volumes)), int(np.argmin(volumes))
    edv, esv = float(volumes[ed]), float(volumes[es])
    lvef = 100.0 * (edv - esv) / edv if edv > 0 else float("nan")
    if max(unresolved) > 0.05:
        warnings.append(
            f"the endocardium was not resolved on {100 * max(unresolved):.0f} % of rays in some gate "
            "(small cavity filled by blur): ESV and LVEF are doubtful"
        )
    seg = grid_segments(grid, axis.length_mm)  # by position along the axis in mm
    thick: dict[int, float] = {}
    for s in range(1, 18):
        sel = seg == s
        m_ed, m_es = float(maxima[ed][sel].mean()), float(maxima[es][sel].mean())
        thick[s] = 100.0 * (m_es - m_ed) / m_ed if m_ed > 0 else float("nan")
    method = (
        f"each gate smoothed (Gaussian {smooth_fwhm_mm:g} mm FWHM); "
        f"endocardium at {100 * endo_fraction:.0f} % of the ray count maximum (inner side; bridged round the ring "
        f"across rays below {100 * DEFECT_RAY_FRACTION:.0f} % of the median count, a perfusion defect), "
        f"{n_rings} rings × {n_sectors} sectors, axis from the summed image; cavity = short-axis "
        "polygon discs + hemispherical apical cap up to the basal plane; thickening from count change ED→ES"
    )
    return GatedFunction(edv, esv, lvef, volumes, ed, es, method, thick, axis, warnings)


def transient_ischaemic_dilation(stress: GatedFunction | float, rest: GatedFunction | float) -> float:
    """TID ratio = stress LV cavity volume / rest LV cavity volume (dimensionless).

    A :class:`GatedFunction` contributes its time-averaged cavity volume (mean over gates, the
    gated analogue of the summed-image volume on which TID is usually measured); a number is
    taken as a volume in mL. Reference: Abidov A, Bax JJ, Hayes SW, et al. Transient ischemic
    dilation ratio of the left ventricle is a significant predictor of future cardiac events in
    patients with otherwise normal myocardial perfusion SPECT. *J Am Coll Cardiol*
    2003;42:1818–1825 ⚠ (citation from memory, not verified here). The abnormal threshold depends on
    protocol, tracer and software (published values lie roughly between 1.1 and 1.4 ⚠ unverified), so
    none is applied here.
    """
    def vol(v: GatedFunction | float, name: str) -> float:
        x = v.mean_volume_ml if isinstance(v, GatedFunction) else float(v)
        if not np.isfinite(x) or x <= 0:
            raise InvalidInputError(f"{name} cavity volume {x!r} mL: expected a positive number")
        return x

    return vol(stress, "stress") / vol(rest, "rest")

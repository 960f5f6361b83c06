"""Nuclear-cardiology phantoms with exact answers: SPECT myocardial perfusion and PET flow TACs.

Perfusion (SPECT, Tc-99m sestamibi)
-----------------------------------
The left ventricle is a truncated prolate-ellipsoid shell in its own frame. With ``B`` the
centre of the basal (valve) plane, ``d`` the unit vector base → apex and, for a point ``x``,
``s = (x − B)·d`` (mm from the basal plane toward the apex) and ``r`` its distance from the
long axis:

* cavity (blood pool): ``s ≥ 0`` and ``r²/Rc² + s²/Lc² < 1`` (a half ellipsoid, volume
  ``(2/3)π Rc² Lc``, with ``Lc = 2.4 Rc`` so that the volume is ``edv_ml``);
* myocardium: ``s ≥ 0``, inside the epicardial half ellipsoid ``r²/Re² + s²/Le² ≤ 1`` with
  ``Re = Rc + w``, ``Le = Lc + w`` (``w = wall_mm``), and outside the cavity; open at the base.

The LV frame follows the nuclear contract (``nuclear/_axis.py`` ``LVAxis``): ``apex_lps`` is
where the long axis meets the mid-wall of the apical myocardium, ``B + d (Lc + w/2)``;
``base_lps = B``; ``anterior`` is LPS anterior ``(0, −1, 0)`` projected on the plane ⟂ the long
axis, normalised; ``septal`` is LPS right ``(−1, 0, 0)`` projected on the plane ⟂ the long axis
and ⟂ ``anterior``, normalised. Polar angle ``θ = atan2(v·septal, v·anterior)`` in degrees
0–360 (0 anterior, 90 septal, 180 inferior, 270 lateral), ``v`` the component of ``x − B`` ⟂ the
axis. Long-axis position ``p = 1 − s / (Lc + w/2)`` clipped to [0, 1] (0 apex … 1 base; the
myocardium beyond the apical mid-wall has ``p = 0``).

Orientation (``axis_tilt_deg = (a, b)``): the base → apex direction is
``d = cos a · (cos b, −sin b, 0) + (0, 0, −sin a)`` in LPS — ``a`` degrees below the axial
plane (toward the feet) and, in the axial plane, ``b`` degrees from the patient's left toward
anterior. The default (35°, 40°) points the apex left, anterior and inferior, oblique to every
axis of the axial image grid (z along S, y along P, x along L). The midpoint of ``B`` and the
epicardial apex ``B + d Le`` sits at LPS (0, 0, 0), the centre of the image grid.

AHA segments (Cerqueira MD et al., Circulation 2002;105:539–542, doi:10.1161/hc0402.102975) of
a myocardial point: segment 17 (apical cap) where ``s > Lc`` (beyond the end of the cavity);
otherwise the cavity length ``[0, Lc]`` is cut into equal thirds — basal ``s < Lc/3``, mid,
apical ``s ≥ 2Lc/3`` — with 60° sectors centred on 0, 60, …, 300° (1–6 basal, 7–12 mid;
1/7 anterior, 2/8 anteroseptal, 3/9 inferoseptal, 4/10 inferior, 5/11 inferolateral,
6/12 anterolateral) and 90° apical sectors centred on 0, 90, 180, 270° (13 anterior,
14 septal, 15 inferior, 16 lateral). Territories from :mod:`heartprint.anatomy.territories`.

Activity (relative uptake): myocardium 1.0 × the optional smooth heterogeneity field ×
``severity`` inside active defects (the lowest severity where defects overlap); LV blood pool
0.08; body (an elliptic cylinder, semi-axes 160 mm L–R × 115 mm A–P, centred at LPS x = −30,
y = 15) 0.05; a liver-like ellipsoid (centre LPS (−55, 10, −100) mm, semi-axes 85 × 75 × 50 mm)
0.35 below the inferior wall (about 30 mm from it at the default geometry); 0 outside the body. These are phantom choices giving a
realistic-looking sestamibi image, not measured values.

Counts: the heart region is evaluated at ``supersample³`` points per voxel (partial volume),
background at voxel centres; expected counts per voxel = ``counts_per_ml`` × voxel volume (mL)
× mean relative uptake, then blurred with a 3-D Gaussian of ``fwhm_mm`` (system resolution)
and Poisson-sampled with ``numpy.random.default_rng(seed)``. Default ``counts_per_ml`` = 600:
with 6.4 mm voxels (0.262 mL) a voxel wholly in normal myocardium expects 157 counts before the
blur, and the blurred 10 mm wall peaks at ~90 counts per voxel, ~11 per gate of 8 (a phantom
choice for "clinical counts": about 80,000 counts in the LV myocardium; at a quarter of that,
150 /mL, 8-gate LVEF errors reached ±6 points from noise alone, issue 19). Gated: each of the
``n_gates`` gates receives ``1/n_gates`` of the counts.

Gated motion: gate ``g`` is at ``t_g = g · RR / n_gates`` (RR 1000 ms); the cavity volume
follows ``V(t) = ESV + (EDV − ESV)(1 + cos 2πt/RR)/2`` (ED at gate 0, ES at ``RR/2``), the
cavity keeps its shape (``Rc, Lc`` scaled by ``(V/EDV)^(1/3)``, base plane fixed), and the
epicardium ``(Rc + w_g, Lc + w_g)`` is solved so that the myocardial volume equals ED's
(mass conserved; the wall thickens in systole).

Truth is computed from the geometry (see :func:`make_perfusion_phantom`): defect extents are
exact fractions of the shell volume (closed form), union and AHA-segment overlaps are
integrated on a fine (θ, s) parameter grid (0.25° × Le/2000) weighted by the exact slab volumes.

PET flow (:func:`make_dynamic_pet`)
-----------------------------------
Time–activity curves only; see that function for the exact model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from pydicom.uid import generate_uid
from scipy.ndimage import gaussian_filter
from scipy.signal import lfilter

from heartprint.anatomy.territories import territory_of
from heartprint.errors import InvalidInputError
from heartprint.image import Image

__all__ = [
    "Defect", "PerfusionPhantom", "FlowPhantom", "make_perfusion_phantom", "make_stress_rest",
    "normal_population", "make_dynamic_pet", "rb82_extraction_k1", "nh3_extraction_k1",
    "lv_frame_from_direction", "aha_segment_of", "PHANTOM_UPTAKE",
]

#: Relative uptake of each compartment (phantom choice, see the module docstring).
PHANTOM_UPTAKE = {"myocardium": 1.0, "blood_pool": 0.08, "body": 0.05, "liver": 0.35}
#: Cavity long/short semi-axis ratio Lc/Rc (phantom choice, a typical LV sphericity).
_LC_OVER_RC = 2.4
_BODY_CENTRE_XY = (-30.0, 15.0)
_BODY_SEMI_AXES = (160.0, 115.0)
_LIVER_CENTRE = (-55.0, 10.0, -100.0)
_LIVER_SEMI_AXES = (85.0, 75.0, 50.0)
_RR_MS = 1000.0
_THETA_BIN_DEG = 0.25
_S_BINS = 2000


# ----------------------------------------------------------------------------------------
# Defects and the LV frame
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Defect:
    """A perfusion defect in the LV frame.

    ``theta_deg``: polar-angle range (degrees; 0 anterior, 90 septal, 180 inferior, 270
    lateral), from ``theta_deg[0]`` counter-clockwise to ``theta_deg[1]``, may wrap through 0
    (``(330, 30)`` is a 60° anterior defect; ``(0, 360)`` the whole circumference).
    ``span``: long-axis fraction range ``(p0, p1)``, 0 apex … 1 base. ``severity``: uptake as a
    fraction of normal (0–1). ``reversible``: True — present at stress only (ischaemia);
    False — fixed (scar), present at stress and rest.
    """

    theta_deg: tuple[float, float]
    span: tuple[float, float]
    severity: float = 0.4
    reversible: bool = True

    def __post_init__(self) -> None:
        try:
            t0, t1 = (float(v) for v in self.theta_deg)
            p0, p1 = (float(v) for v in self.span)
            sev = float(self.severity)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"Defect {self!r}: theta_deg and span must be pairs of numbers") from exc
        if not all(math.isfinite(v) for v in (t0, t1, p0, p1, sev)):
            raise InvalidInputError(f"Defect theta_deg={self.theta_deg}, span={self.span}, severity={self.severity}: expected finite values")
        if not (0.0 <= t0 <= 360.0 and 0.0 <= t1 <= 360.0) or t0 == t1:
            raise InvalidInputError(f"Defect theta_deg={self.theta_deg}: expected two different angles in 0–360 degrees")
        if not 0.0 <= p0 < p1 <= 1.0:
            raise InvalidInputError(f"Defect span={self.span}: expected 0 <= p0 < p1 <= 1 (0 apex … 1 base)")
        if not 0.0 <= sev <= 1.0:
            raise InvalidInputError(f"Defect severity={self.severity}: expected an uptake fraction in 0–1")
        if not isinstance(self.reversible, (bool, np.bool_)):
            raise InvalidInputError(f"Defect reversible={self.reversible!r}: expected True or False")
        object.__setattr__(self, "theta_deg", (t0, t1))
        object.__setattr__(self, "span", (p0, p1))
        object.__setattr__(self, "severity", sev)
        object.__setattr__(self, "reversible", bool(self.reversible))

    @property
    def width_deg(self) -> float:
        """Angular width (degrees) counter-clockwise from ``theta_deg[0]`` to ``theta_deg[1]``."""
        t0, t1 = self.theta_deg
        return 360.0 if t1 - t0 == 360.0 else (t1 - t0) % 360.0

    def contains_theta(self, theta_deg: np.ndarray) -> np.ndarray:
        """Boolean: is each angle (degrees) inside the (possibly wrapping) range."""
        return np.mod(np.asarray(theta_deg, dtype=float) - self.theta_deg[0], 360.0) <= self.width_deg

    def contains_p(self, p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=float)
        return (p >= self.span[0]) & (p <= self.span[1])

    def active(self, state: str) -> bool:
        """Present in ``state`` ("stress": every defect; "rest": fixed defects only)."""
        return state == "stress" or not self.reversible


def lv_frame_from_direction(base_to_apex: Sequence[float]) -> dict[str, np.ndarray]:
    """``long_axis`` (unit apex → base), ``anterior`` and ``septal`` per the nuclear LVAxis contract.

    ``anterior`` = LPS (0, −1, 0) projected on the plane ⟂ the long axis, normalised; ``septal``
    = LPS (−1, 0, 0) projected on the plane ⟂ the long axis and ⟂ ``anterior``, normalised.
    """
    d = np.asarray(base_to_apex, dtype=float)
    n = np.linalg.norm(d)
    if d.shape != (3,) or not np.isfinite(n) or n < 1e-9:
        raise InvalidInputError(f"base_to_apex={base_to_apex!r}: expected a non-zero 3-vector")
    u = -d / n  # apex -> base
    ant = np.array([0.0, -1.0, 0.0])
    ant = ant - (ant @ u) * u
    if np.linalg.norm(ant) < 1e-6:
        raise InvalidInputError("long axis is parallel to the anterior-posterior axis: anterior undefined")
    ant /= np.linalg.norm(ant)
    sep = np.array([-1.0, 0.0, 0.0])
    sep = sep - (sep @ u) * u - (sep @ ant) * ant
    if np.linalg.norm(sep) < 1e-6:
        raise InvalidInputError("long axis is parallel to the left-right axis: septal undefined")
    sep /= np.linalg.norm(sep)
    return {"long_axis": u, "anterior": ant, "septal": sep}


def aha_segment_of(theta_deg: np.ndarray, s_mm: np.ndarray, lc_mm: float) -> np.ndarray:
    """AHA segment (1–17) of myocardial points at polar angle ``theta_deg`` and depth ``s_mm``
    from the basal plane toward the apex, for a cavity of long semi-axis ``lc_mm`` (see the
    module docstring: segment 17 beyond the cavity, thirds of the cavity length otherwise)."""
    th = np.mod(np.asarray(theta_deg, dtype=float), 360.0)
    s = np.asarray(s_mm, dtype=float)
    third = np.clip(np.floor(s / (lc_mm / 3.0)), 0, 2).astype(int)
    six = (np.floor(np.mod(th + 30.0, 360.0) / 60.0).astype(int) % 6) + 1
    four = (np.floor(np.mod(th + 45.0, 360.0) / 90.0).astype(int) % 4) + 13
    seg = np.where(third == 0, six, np.where(third == 1, six + 6, four))
    return np.where(s > lc_mm, 17, seg)


# ----------------------------------------------------------------------------------------
# Geometry of one cardiac phase
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Shape:
    rc: float
    lc: float
    re: float
    le: float

    @property
    def la(self) -> float:  # distance base plane -> apex mid-wall (nominal wall = ED wall)
        return self.lc + 0.5 * (self.le - self.lc)

    def cavity_ml(self) -> float:
        return 2.0 / 3.0 * math.pi * self.rc**2 * self.lc / 1000.0

    def shell_ml(self) -> float:
        return 2.0 / 3.0 * math.pi * (self.re**2 * self.le - self.rc**2 * self.lc) / 1000.0

    def shell_cumulative_mm3(self, s: np.ndarray) -> np.ndarray:
        """Myocardial volume (mm³) between the basal plane and depth ``s`` (closed form)."""
        s = np.clip(np.asarray(s, dtype=float), 0.0, self.le)
        sc = np.minimum(s, self.lc)
        return math.pi * (self.re**2 * (s - s**3 / (3 * self.le**2)) - self.rc**2 * (sc - sc**3 / (3 * self.lc**2)))


def _ed_shape(edv_ml: float, wall_mm: float) -> _Shape:
    rc = (3.0 * edv_ml * 1000.0 / (2.0 * math.pi * _LC_OVER_RC)) ** (1.0 / 3.0)
    lc = _LC_OVER_RC * rc
    return _Shape(rc, lc, rc + wall_mm, lc + wall_mm)


def _phase_shape(ed: _Shape, volume_ml: float) -> _Shape:
    """Cavity scaled to ``volume_ml``, epicardium offset by a uniform w solved for constant myocardial volume."""
    f = (volume_ml / ed.cavity_ml()) ** (1.0 / 3.0)
    rc, lc = ed.rc * f, ed.lc * f
    target = (volume_ml + ed.shell_ml()) * 1000.0 * 3.0 / (2.0 * math.pi)
    # (rc + w)^2 (lc + w) = target: monotone in w >= 0, solve the cubic
    roots = np.roots([1.0, 2 * rc + lc, rc**2 + 2 * rc * lc, rc**2 * lc - target])
    w = float(max(r.real for r in roots if abs(r.imag) < 1e-6 and r.real > 0))
    return _Shape(rc, lc, rc + w, lc + w)


def _tilt_direction(axis_tilt_deg: Sequence[float]) -> np.ndarray:
    a, b = (math.radians(float(v)) for v in axis_tilt_deg)
    return np.array([math.cos(a) * math.cos(b), -math.cos(a) * math.sin(b), -math.sin(a)])


@dataclass(frozen=True)
class _Heart:
    base: np.ndarray  # B, LPS
    d: np.ndarray  # unit base -> apex
    anterior: np.ndarray
    septal: np.ndarray

    def local(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(s, r, theta_deg) of LPS points ``(N, 3)``."""
        rel = pts - self.base
        s = rel @ self.d
        v = rel - s[:, None] * self.d
        r = np.linalg.norm(v, axis=1)
        theta = np.degrees(np.arctan2(v @ self.septal, v @ self.anterior)) % 360.0
        return s, r, theta


def _heterogeneity(theta: np.ndarray, p: np.ndarray, het: dict[str, Any]) -> np.ndarray:
    """Smooth multiplicative uptake field (1 = none) at myocardial points."""
    f = np.ones_like(theta)
    amp = float(het.get("regional", 0.0))
    if amp > 0:
        coef = np.asarray(het["coef"], dtype=float)  # (k, 2) harmonic cos/sin coefficients + last row: p-gradient
        th = np.radians(theta)
        h = np.zeros_like(theta)
        for k in range(coef.shape[0] - 1):
            h += coef[k, 0] * np.cos((k + 1) * th) + coef[k, 1] * np.sin((k + 1) * th)
        h += coef[-1, 0] * (2 * p - 1)
        f *= 1.0 + amp * h / np.abs(coef).sum()
    apical = float(het.get("apical_thinning", 0.0))
    if apical > 0:
        f *= 1.0 - apical * np.exp(-p / 0.15)  # apical thinning: deficit largest at the apex, e-folding 0.15 of the axis
    inferior = float(het.get("inferior_attenuation", 0.0))
    if inferior > 0:
        f *= 1.0 - inferior * 0.5 * (1.0 - np.cos(np.radians(theta)))  # deficit largest at θ = 180° (inferior wall)
    return f


def _activity(pts: np.ndarray, heart: _Heart, shape: _Shape, defects: Sequence[Defect], state: str,
              het: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Relative uptake, myocardium and cavity membership of LPS points ``(N, 3)``."""
    x, y, z = pts[:, 0], pts[:, 1], pts[:, 2]
    act = np.zeros(len(pts))
    body = ((x - _BODY_CENTRE_XY[0]) / _BODY_SEMI_AXES[0]) ** 2 + ((y - _BODY_CENTRE_XY[1]) / _BODY_SEMI_AXES[1]) ** 2 <= 1.0
    act[body] = PHANTOM_UPTAKE["body"]
    liver = sum(((pts[:, i] - _LIVER_CENTRE[i]) / _LIVER_SEMI_AXES[i]) ** 2 for i in range(3)) <= 1.0
    act[liver] = PHANTOM_UPTAKE["liver"]
    s, r, theta = heart.local(pts)
    cav = (s >= 0) & ((r / shape.rc) ** 2 + (s / shape.lc) ** 2 < 1.0)
    myo = (s >= 0) & ((r / shape.re) ** 2 + (s / shape.le) ** 2 <= 1.0) & ~cav
    act[cav] = PHANTOM_UPTAKE["blood_pool"]
    th_m = theta[myo]
    p_m = np.clip(1.0 - s[myo] / shape.la, 0.0, 1.0)
    up = PHANTOM_UPTAKE["myocardium"] * _heterogeneity(th_m, p_m, het)
    sev = np.ones_like(up)
    for dft in defects:
        if dft.active(state):
            inside = dft.contains_theta(th_m) & dft.contains_p(p_m)
            sev[inside] = np.minimum(sev[inside], dft.severity)
    act[myo] = up * sev
    return act, myo, cav


# ----------------------------------------------------------------------------------------
# Truth on the (theta, s) parameter grid
# ----------------------------------------------------------------------------------------
def _defect_truth(defects: Sequence[Defect], state: str, shape: _Shape) -> tuple[list[dict[str, Any]], float]:
    n_t = int(round(360.0 / _THETA_BIN_DEG))
    th_c = (np.arange(n_t) + 0.5) * _THETA_BIN_DEG
    edges = np.linspace(0.0, shape.le, _S_BINS + 1)
    s_c = 0.5 * (edges[1:] + edges[:-1])
    w_s = np.diff(shape.shell_cumulative_mm3(edges))  # exact slab volumes (mm^3)
    total = float(shape.shell_cumulative_mm3(np.array(shape.le)))
    w_t = np.full(n_t, 1.0 / n_t)
    p_c = np.clip(1.0 - s_c / shape.la, 0.0, 1.0)
    seg = aha_segment_of(th_c[:, None], s_c[None, :], shape.lc)  # (n_t, n_s)
    weight = w_t[:, None] * w_s[None, :]
    seg_vol = {k: float(weight[seg == k].sum()) for k in range(1, 18)}
    union = np.zeros(seg.shape, dtype=bool)
    out = []
    for dft in defects:
        m_t, m_s = dft.contains_theta(th_c), dft.contains_p(p_c)
        mask = m_t[:, None] & m_s[None, :]
        s_lo = shape.la * (1.0 - dft.span[1])
        s_hi = shape.le if dft.span[0] <= 0.0 else shape.la * (1.0 - dft.span[0])
        exact = dft.width_deg / 360.0 * float(np.diff(shape.shell_cumulative_mm3(np.array([s_lo, s_hi])))[0]) / total
        vol = float(weight[mask].sum())
        segs = {int(k): float(weight[mask & (seg == k)].sum() / seg_vol[k]) for k in np.unique(seg[mask])}
        segs = {k: v for k, v in sorted(segs.items()) if v > 1e-6}
        terr: dict[str, float] = {}
        for k in np.unique(seg[mask]):
            t = territory_of(int(k))
            terr[t] = terr.get(t, 0.0) + float(weight[mask & (seg == k)].sum()) / max(vol, 1e-300)
        active = dft.active(state)
        if active:
            union |= mask
        out.append({
            "theta_deg": list(dft.theta_deg), "span": list(dft.span), "severity": dft.severity,
            "reversible": dft.reversible, "active": active,
            "extent_pct": 100.0 * exact, "extent_pct_grid": 100.0 * vol / total,
            "segments": segs, "territories": terr,
            "territory": max(terr, key=terr.get) if terr else None,
        })
    return out, 100.0 * float(weight[union].sum()) / total


# ----------------------------------------------------------------------------------------
# Perfusion phantom
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PerfusionPhantom:
    """A SPECT perfusion phantom.

    ``image``: counts, :class:`~heartprint.image.Image` ``(z, y, x)`` or gated ``(t, z, y, x)``
    (modality "NM", kind "nm_perfusion"); ``expected``: the noiseless expected counts (same
    shape, float); ``myocardium``: boolean ``(z, y, x)`` mask of voxels at least half myocardium
    at end-diastole; ``truth``: JSON-able exact answers (see :func:`make_perfusion_phantom`).
    """

    image: Image
    myocardium: np.ndarray
    expected: np.ndarray
    truth: dict[str, Any] = field(default_factory=dict)


_STATES = ("stress", "rest")


def make_perfusion_phantom(
    *,
    defects: Sequence[Defect] = (),
    state: str = "stress",
    gated: bool = False,
    n_gates: int = 8,
    lvef: float = 0.6,
    edv_ml: float = 120.0,
    wall_mm: float = 10.0,
    voxel_mm: float = 6.4,
    matrix: int = 64,
    counts_per_ml: float = 600.0,
    fwhm_mm: float = 15.0,
    noise: bool = True,
    seed: int = 0,
    axis_tilt_deg: tuple[float, float] = (35.0, 40.0),
    supersample: int = 4,
    heterogeneity: float = 0.0,
    apical_thinning: float = 0.0,
    inferior_attenuation: float = 0.0,
    heterogeneity_seed: int | None = None,
    study_uid: str | None = None,
) -> PerfusionPhantom:
    """Build a Tc-99m sestamibi SPECT perfusion phantom (geometry and model: module docstring).

    Parameters
    ----------
    defects
        :class:`Defect` s; in ``state="rest"`` only fixed ones are drawn.
    state
        "stress" or "rest".
    gated, n_gates, lvef
        ECG-gated study with ``n_gates`` gates over one 1000 ms RR interval, cavity from
        ``edv_ml`` (gate 0) to ``edv_ml·(1 − lvef)`` (at RR/2).
    edv_ml, wall_mm
        End-diastolic cavity volume (mL) and wall thickness (mm) at ED.
    voxel_mm, matrix
        Isotropic voxel size (mm) and grid size (``matrix³``, axial: z S, y P, x L).
    counts_per_ml
        Expected counts per mL of normal myocardium (before blur; divided among gates).
    fwhm_mm
        Gaussian system resolution (mm FWHM).
    noise, seed
        Poisson noise from ``numpy.random.default_rng(seed)``.
    axis_tilt_deg
        ``(a, b)``: long axis ``a`` degrees below the axial plane, ``b`` degrees from left toward anterior.
    supersample
        Fine points per voxel edge in the heart region (partial volume).
    heterogeneity, apical_thinning, inferior_attenuation, heterogeneity_seed
        Normal-variant uptake fields (fractions): smooth regional ±``heterogeneity`` field (harmonics
        in θ up to 3 and a linear apex–base gradient, random coefficients from
        ``heterogeneity_seed``, default ``seed``), apical deficit ``apical_thinning·exp(−p/0.15)``,
        inferior deficit ``inferior_attenuation·(1 − cos θ)/2``.

    Returns
    -------
    PerfusionPhantom
        ``truth`` keys: ``lv_axis`` (apex_lps, base_lps, anterior, septal, long_axis), ``state``,
        ``defects`` (per defect: theta_deg, span, severity, reversible, active, ``extent_pct`` exact
        percent of the ED myocardial volume, ``extent_pct_grid`` on the (θ, s) grid, ``segments``
        {AHA segment: fraction of that segment covered}, ``territories`` {territory: fraction of
        the defect}, ``territory`` the main one), ``extent_pct_total`` (union of the defects
        active in ``state``), ``myocardial_volume_ml``, ``cavity_volume_ml``, ``shape_mm``
        (rc, lc, re, le), ``counts_per_voxel_normal`` (expected counts of a voxel wholly in
        normal myocardium, per gate when gated, before blur), ``counts_peak_expected`` (max of
        the noiseless myocardial counts), ``uptake``, and when gated ``edv_ml``, ``esv_ml``,
        ``lvef_pct`` (geometry), ``edv_ml_grid``/``esv_ml_grid`` (cavity fine points × fine
        voxel volume), ``gate_volumes_ml``, ``gate_volumes_ml_grid``, ``rr_ms``.
    """
    if state not in _STATES:
        raise InvalidInputError(f"state={state!r}: expected 'stress' or 'rest'")
    for name, val, lo, hi in (("lvef", lvef, 0.05, 0.9), ("edv_ml", edv_ml, 20.0, 500.0), ("wall_mm", wall_mm, 3.0, 30.0),
                              ("voxel_mm", voxel_mm, 1.0, 15.0), ("fwhm_mm", fwhm_mm, 0.0, 40.0),
                              ("heterogeneity", heterogeneity, 0.0, 0.5), ("apical_thinning", apical_thinning, 0.0, 0.5),
                              ("inferior_attenuation", inferior_attenuation, 0.0, 0.5)):
        if not (isinstance(val, (int, float)) and math.isfinite(val) and lo <= val <= hi):
            raise InvalidInputError(f"{name}={val!r}: expected a number in {lo}–{hi}")
    if not (isinstance(counts_per_ml, (int, float)) and math.isfinite(counts_per_ml) and counts_per_ml > 0):
        raise InvalidInputError(f"counts_per_ml={counts_per_ml!r}: expected a positive number")
    if int(matrix) != matrix or not 16 <= matrix <= 256:
        raise InvalidInputError(f"matrix={matrix!r}: expected an integer 16–256")
    if int(n_gates) != n_gates or not (1 <= n_gates <= 32):
        raise InvalidInputError(f"n_gates={n_gates!r}: expected an integer 1–32")
    if int(supersample) != supersample or not 1 <= supersample <= 8:
        raise InvalidInputError(f"supersample={supersample!r}: expected an integer 1–8")
    tilt = tuple(float(v) for v in axis_tilt_deg)
    if len(tilt) != 2 or not (0.0 <= tilt[0] <= 80.0 and -90.0 <= tilt[1] <= 90.0):
        raise InvalidInputError(f"axis_tilt_deg={axis_tilt_deg!r}: expected (0–80, −90–90) degrees")
    defects = tuple(defects)
    if not all(isinstance(d, Defect) for d in defects):
        raise InvalidInputError(f"defects={defects!r}: expected Defect instances")
    matrix, n_gates, supersample = int(matrix), int(n_gates), int(supersample)

    ed = _ed_shape(float(edv_ml), float(wall_mm))
    d = _tilt_direction(tilt)
    frame = lv_frame_from_direction(d)
    base = -d * ed.le / 2.0  # midpoint of base and epicardial apex at LPS origin
    heart = _Heart(base, d, frame["anterior"], frame["septal"])
    het_rng = np.random.default_rng(seed if heterogeneity_seed is None else heterogeneity_seed)
    het = {"regional": float(heterogeneity), "coef": het_rng.uniform(-1.0, 1.0, size=(4, 2)),
           "apical_thinning": float(apical_thinning), "inferior_attenuation": float(inferior_attenuation)}

    vox = float(voxel_mm)
    origin = np.full(3, -(matrix - 1) / 2.0 * vox)  # LPS (x, y, z) of voxel (0, 0, 0)
    spacing = (vox, vox, vox)
    img0 = Image.from_array(np.zeros((1, 1, 1)), spacing, origin=tuple(origin))

    # background at voxel centres
    zz, yy, xx = np.meshgrid(*(np.arange(matrix),) * 3, indexing="ij")
    centres = img0.index_to_lps(np.stack([zz, yy, xx], axis=-1).reshape(-1, 3).astype(float))

    if gated:
        t_ms = np.arange(n_gates) * _RR_MS / n_gates
        esv_curve = edv_ml * (1.0 - lvef)
        vols = esv_curve + (edv_ml - esv_curve) * 0.5 * (1.0 + np.cos(2 * np.pi * t_ms / _RR_MS))
        shapes = [_phase_shape(ed, float(v)) for v in vols]
    else:
        t_ms, shapes = None, [ed]

    # heart box (index space) covering the largest epicardium over all phases
    reach = max(max(sh.re, sh.le) for sh in shapes)
    corner = np.array([[i, j, k] for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)], dtype=float)
    box_pts = base + corner * (reach + 2 * vox)
    idx = img0.lps_to_index(box_pts)
    lo = np.clip(np.floor(idx.min(axis=0)).astype(int), 0, matrix - 1)
    hi = np.clip(np.ceil(idx.max(axis=0)).astype(int) + 1, 1, matrix)
    bz, by, bx = (np.arange(lo[i], hi[i]) for i in range(3))
    sub = (np.arange(supersample) + 0.5) / supersample - 0.5
    fz, fy, fx = (np.add.outer(b, sub).ravel() for b in (bz, by, bx))
    FZ, FY, FX = np.meshgrid(fz, fy, fx, indexing="ij")
    fine_pts = img0.index_to_lps(np.stack([FZ, FY, FX], axis=-1).reshape(-1, 3))
    fine_shape = (len(bz), supersample, len(by), supersample, len(bx), supersample)
    fine_vox_ml = (vox / supersample) ** 3 / 1000.0
    voxel_ml = vox**3 / 1000.0

    def block_mean(v: np.ndarray) -> np.ndarray:
        return v.reshape(len(fz), len(fy), len(fx)).reshape(fine_shape).mean(axis=(1, 3, 5))

    bg, _, _ = _activity(centres, heart, ed, (), state, het)
    bg = bg.reshape(matrix, matrix, matrix)
    frames, cav_ml_grid, myo_mask = [], [], None
    cpv = counts_per_ml * voxel_ml / (n_gates if gated else 1)
    for g, sh in enumerate(shapes):
        act, myo, cav = _activity(fine_pts, heart, sh, defects, state, het)
        vol = bg.copy()
        vol[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = block_mean(act)
        cav_ml_grid.append(float(cav.sum()) * fine_vox_ml)
        if g == 0:
            myo_mask = np.zeros((matrix,) * 3, dtype=bool)
            myo_mask[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = block_mean(myo.astype(float)) >= 0.5
        sigma = float(fwhm_mm) / (2.0 * math.sqrt(2.0 * math.log(2.0))) / vox
        frames.append(gaussian_filter(vol * cpv, sigma, mode="nearest") if sigma > 0 else vol * cpv)
    expected = np.stack(frames) if gated else frames[0]
    if noise:
        counts = np.random.default_rng(seed).poisson(expected).astype(np.float32)
    else:
        counts = expected.astype(np.float32)

    defect_truth, total_pct = _defect_truth(defects, state, ed)
    apex = base + d * ed.la
    description = f"MPI {state.upper()} {'GATED ' if gated else ''}SPECT Tc99m sestamibi (heartprint phantom)"
    meta = {"nm_state": state, "tracer": "Tc-99m sestamibi", "isotope": "Tc-99m", "series_description": description,
            "gated": bool(gated), "counts_per_ml": float(counts_per_ml), "fwhm_mm": float(fwhm_mm)}
    if gated:
        meta.update({"n_gates": n_gates, "rr_interval_ms": _RR_MS, "heart_rate_bpm": 60000.0 / _RR_MS})
    image = Image.from_array(counts, spacing, origin=tuple(origin), frame_times_ms=t_ms,
                             study_uid=study_uid or generate_uid(), series_uid=generate_uid(),
                             modality="NM", kind="nm_perfusion", meta=meta)
    myo_expected = expected[0] if gated else expected
    truth: dict[str, Any] = {
        "state": state,
        "lv_axis": {"apex_lps": apex.tolist(), "base_lps": base.tolist(), "anterior": frame["anterior"].tolist(),
                    "septal": frame["septal"].tolist(), "long_axis": frame["long_axis"].tolist()},
        "axis_tilt_deg": list(tilt),
        "shape_mm": {"rc": ed.rc, "lc": ed.lc, "re": ed.re, "le": ed.le, "wall": float(wall_mm)},
        "defects": defect_truth,
        "extent_pct_total": total_pct,
        "myocardial_volume_ml": ed.shell_ml(),
        "cavity_volume_ml": ed.cavity_ml(),
        "counts_per_voxel_normal": cpv,
        "counts_peak_expected": float(myo_expected[myo_mask].max()),
        "uptake": dict(PHANTOM_UPTAKE),
        "heterogeneity": {"regional": float(heterogeneity), "apical_thinning": float(apical_thinning),
                          "inferior_attenuation": float(inferior_attenuation)},
        "segments_model": "AHA 17: segment 17 beyond the cavity tip; thirds of the cavity length; 60/90 degree sectors",
        "seed": int(seed), "noise": bool(noise), "voxel_mm": vox, "fwhm_mm": float(fwhm_mm),
    }
    if gated:
        gv = [sh.cavity_ml() for sh in shapes]
        i_es = int(np.argmin(gv))
        truth.update({
            "edv_ml": gv[0], "esv_ml": gv[i_es], "lvef_pct": 100.0 * (gv[0] - gv[i_es]) / gv[0],
            "edv_ml_grid": cav_ml_grid[0], "esv_ml_grid": cav_ml_grid[i_es],
            "es_gate": i_es, "gate_volumes_ml": gv, "gate_volumes_ml_grid": cav_ml_grid,
            "gate_myocardial_volume_ml": [sh.shell_ml() for sh in shapes],
            "gate_wall_mm": [sh.re - sh.rc for sh in shapes], "rr_ms": _RR_MS, "n_gates": n_gates,
        })
    return PerfusionPhantom(image=image, myocardium=myo_mask, expected=expected, truth=truth)


def make_stress_rest(defects: Sequence[Defect] = (), **kw: Any) -> tuple[PerfusionPhantom, PerfusionPhantom]:
    """Stress and rest phantoms of the same heart in one study: same geometry and heterogeneity field,
    noise seeds ``seed`` (stress) and ``seed + 1`` (rest); reversible defects appear at stress only."""
    for key in ("state", "study_uid"):
        if key in kw:
            raise InvalidInputError(f"make_stress_rest sets {key!r} itself")
    seed = int(kw.pop("seed", 0))
    kw.setdefault("heterogeneity_seed", seed)
    study = generate_uid()
    stress = make_perfusion_phantom(defects=defects, state="stress", seed=seed, study_uid=study, **kw)
    rest = make_perfusion_phantom(defects=defects, state="rest", seed=seed + 1, study_uid=study, **kw)
    return stress, rest


def normal_population(n: int = 20, seed: int = 2019, **kw: Any) -> list[PerfusionPhantom]:
    """``n`` normal hearts (no defects) for a normal-limits database.

    Per subject (drawn from ``numpy.random.default_rng(seed)``): EDV = ``edv_ml`` (default 120)
    × U(0.85, 1.15); wall = ``wall_mm`` (default 10) × U(0.85, 1.15); each tilt angle ±U(−10°, 10°)
    around ``axis_tilt_deg``; regional heterogeneity ±8 %; apical thinning U(0.05, 0.15) and
    inferior attenuation U(0.05, 0.15) (SPECT normal variants, phantom choices). Noise seed
    ``seed·1000 + i``. Each phantom's ``truth["subject"]`` records the drawn values.
    """
    if int(n) != n or n < 1:
        raise InvalidInputError(f"n={n!r}: expected a positive integer")
    if "defects" in kw:
        raise InvalidInputError("normal_population makes normal hearts: do not pass defects")
    rng = np.random.default_rng(seed)
    edv0 = float(kw.pop("edv_ml", 120.0))
    wall0 = float(kw.pop("wall_mm", 10.0))
    tilt0 = tuple(float(v) for v in kw.pop("axis_tilt_deg", (35.0, 40.0)))
    out = []
    for i in range(int(n)):
        subj = {
            "edv_ml": edv0 * rng.uniform(0.85, 1.15), "wall_mm": wall0 * rng.uniform(0.85, 1.15),
            "axis_tilt_deg": (tilt0[0] + rng.uniform(-10, 10), tilt0[1] + rng.uniform(-10, 10)),
            "heterogeneity": 0.08, "apical_thinning": rng.uniform(0.05, 0.15),
            "inferior_attenuation": rng.uniform(0.05, 0.15), "heterogeneity_seed": int(rng.integers(2**31)),
        }
        ph = make_perfusion_phantom(seed=int(seed) * 1000 + i, **subj, **kw)
        ph.truth["subject"] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in subj.items()}
        out.append(ph)
    return out


# ----------------------------------------------------------------------------------------
# PET flow
# ----------------------------------------------------------------------------------------
_HALF_LIFE_S = {"rb82": 76.0, "n13": 598.0}  # Rb-82 76 s; N-13 9.97 min (598 s)
#: Distribution volume K1/k2 (mL/g) used for each tracer — ⚠ phantom choices (not literature values),
#: giving k2 ≈ 0.1–0.3 /min at rest flows.
DISTRIBUTION_VOLUME = {"rb82": 3.0, "n13": 4.0}


def rb82_extraction_k1(mbf: float | np.ndarray) -> float | np.ndarray:
    """Rb-82 uptake rate K1 (mL/min/g) from MBF (mL/min/g): ``MBF·(1 − 0.77·exp(−0.63/MBF))``.

    Lortie M, Beanlands RSB, Yoshinaga K, Klein R, DaSilva JN, deKemp RA. Quantification of
    myocardial blood flow with 82Rb dynamic PET imaging. Eur J Nucl Med Mol Imaging
    2007;34:1765–1774. doi:10.1007/s00259-007-0478-2.
    """
    f = np.asarray(mbf, dtype=float)
    return f * (1.0 - 0.77 * np.exp(-0.63 / f))


def nh3_extraction_k1(mbf: float | np.ndarray) -> float | np.ndarray:
    """N-13 ammonia K1 (mL/min/g) from MBF: ``MBF·(1 − 0.607·exp(−1.25/MBF))``.

    N-13 ammonia first-pass extraction, usually traced to Schelbert HR et al., Circulation 1981
    (citation and constants not verified, ⚠M); DeGrado 1996 uses K1 = MBF (PMOD documentation of
    its "Card. NH3 (de Grado)" model). The phantom and :mod:`heartprint.nuclear._flow` use the same form.
    """
    f = np.asarray(mbf, dtype=float)
    return f * (1.0 - 0.607 * np.exp(-1.25 / f))


@dataclass(frozen=True)
class FlowPhantom:
    """Dynamic PET time–activity curves (decay-corrected to injection, Bq/mL).

    ``frame_start_s``, ``frame_duration_s``, ``frame_mid_s``: frame timing (s from injection);
    ``blood_tac``, ``myocardium_tac``: frame-mean concentrations with noise; ``*_true``: without
    noise; ``decay_factor``: the factor each frame's mean was multiplied by to correct for decay
    (``λd / (e^{−λ t0}(1 − e^{−λd}))``); ``truth``: {mbf, k1, k2, vb, tracer, ...}; ``input_params``:
    the analytic input function (see :meth:`blood_input`).
    """

    frame_start_s: np.ndarray
    frame_duration_s: np.ndarray
    frame_mid_s: np.ndarray
    blood_tac: np.ndarray
    myocardium_tac: np.ndarray
    blood_tac_true: np.ndarray
    myocardium_tac_true: np.ndarray
    decay_factor: np.ndarray
    truth: dict[str, Any]
    input_params: dict[str, float]

    def blood_input(self, t_s: np.ndarray) -> np.ndarray:
        """Arterial input ``C_b(t)`` (Bq/mL, decay-corrected) at times ``t_s`` (s)."""
        return _input_function(np.asarray(t_s, dtype=float), self.input_params)


def _input_function(t: np.ndarray, p: dict[str, float]) -> np.ndarray:
    """Gamma-variate bolus plus a slow recirculation term, both zero before ``t0``.

    ``C_b(t) = A·(τ/(αβ))^α·exp(α − τ/β) + R·A·(1 − exp(−τ/τ_r))·exp(−τ/τ_c)``, ``τ = t − t0``;
    the first term peaks at ``A`` at ``τ = αβ``.
    """
    tau = np.maximum(t - p["t0"], 0.0)
    a, b = p["alpha"], p["beta"]
    bolus = p["peak"] * (tau / (a * b)) ** a * np.exp(a - tau / b)
    tail = p["recirc"] * p["peak"] * (1.0 - np.exp(-tau / p["tau_rise"])) * np.exp(-tau / p["tau_clear"])
    return np.where(t > p["t0"], bolus + tail, 0.0)


def make_dynamic_pet(
    mbf: float = 1.0,
    *,
    tracer: str = "rb82",
    frame_durations_s: Sequence[float] = (10.0,) * 12 + (30.0,) * 4 + (60.0,) * 4,
    blood_volume: float = 0.1,
    spillover: float = 0.15,
    noise_cv: float = 0.05,
    distribution_volume: float | None = None,
    peak_bq_per_ml: float = 3.0e5,
    dt_s: float = 0.05,
    seed: int = 0,
) -> FlowPhantom:
    """One-tissue-compartment myocardial TACs for a given MBF (mL/min/g).

    Model (tissue density taken as 1 g/mL): ``dC_t/dt = K1·C_b − k2·C_t`` with ``K1`` from MBF by
    the tracer's extraction model (:func:`rb82_extraction_k1` Lortie 2007,
    :func:`nh3_extraction_k1`, ⚠M) and ``k2 = K1 / Vd`` (``Vd`` = ``distribution_volume``,
    default :data:`DISTRIBUTION_VOLUME`, phantom choices). ``C_b`` is the analytic input
    (:func:`_input_function`: gamma variate t0 = 5 s, α = 3, β = 4 s, peak ``peak_bq_per_ml``, plus
    10 % recirculation rising with τ 20 s and clearing with τ 300 s). ``C_t`` is integrated exactly
    for a piecewise-linear input on a ``dt_s`` grid (exponential recursion), then each frame is the
    time mean over the frame. Observed myocardium:
    ``C_myo = (1 − Vb)·C_t + Vb·C_b`` with ``Vb = blood_volume + spillover`` (spill-over from the
    LV cavity treated as extra blood fraction, so that a fit of this same model is unbiased;
    ``truth["vb"]`` is this sum). All TACs are decay-corrected to the injection time (half-lives
    Rb-82 76 s, N-13 598 s): the model is written for decay-corrected activity and
    ``decay_factor`` gives the correction applied to each frame. Noise: independent Gaussian with
    standard deviation ``noise_cv × true value`` on both TACs (``numpy.random.default_rng(seed)``).
    """
    tracer = str(tracer).lower().replace("-", "")
    if tracer in ("nh3", "n13ammonia", "ammonia"):
        tracer = "n13"
    if tracer not in _HALF_LIFE_S:
        raise InvalidInputError(f"tracer={tracer!r}: expected 'rb82' or 'n13' (ammonia)")
    if not (math.isfinite(mbf) and 0.05 <= mbf <= 10.0):
        raise InvalidInputError(f"mbf={mbf!r}: expected 0.05–10 mL/min/g")
    durs = np.asarray(frame_durations_s, dtype=float)
    if durs.ndim != 1 or len(durs) < 2 or np.any(~np.isfinite(durs)) or np.any(durs <= 0):
        raise InvalidInputError(f"frame_durations_s={frame_durations_s!r}: expected >= 2 positive durations (s)")
    vb = float(blood_volume) + float(spillover)
    if not (0.0 <= blood_volume < 1 and 0.0 <= spillover < 1 and vb < 1.0):
        raise InvalidInputError(f"blood_volume={blood_volume}, spillover={spillover}: expected fractions with sum < 1")
    if not (0.0 <= noise_cv < 1.0):
        raise InvalidInputError(f"noise_cv={noise_cv!r}: expected 0 <= cv < 1")
    if not (0 < dt_s <= 1.0):
        raise InvalidInputError(f"dt_s={dt_s!r}: expected 0 < dt_s <= 1 s")
    vd = DISTRIBUTION_VOLUME[tracer] if distribution_volume is None else float(distribution_volume)
    if not (math.isfinite(vd) and vd > 0):
        raise InvalidInputError(f"distribution_volume={distribution_volume!r}: expected > 0 mL/g")
    k1 = float(rb82_extraction_k1(mbf) if tracer == "rb82" else nh3_extraction_k1(mbf))  # mL/min/g
    k2 = k1 / vd  # 1/min
    params = {"t0": 5.0, "alpha": 3.0, "beta": 4.0, "peak": float(peak_bq_per_ml), "recirc": 0.1,
              "tau_rise": 20.0, "tau_clear": 300.0}

    starts = np.concatenate([[0.0], np.cumsum(durs)[:-1]])
    ends = starts + durs
    n_fine = int(math.ceil(ends[-1] / dt_s))
    t = np.arange(n_fine + 1) * dt_s
    cb = _input_function(t, params)
    k1s, k2s = k1 / 60.0, k2 / 60.0  # per second
    e = math.exp(-k2s * dt_s)
    c0 = (1.0 - e) / k2s
    c1 = dt_s / k2s - (1.0 - e) / k2s**2  # ∫0^h τ e^{-k2(h-τ)} dτ
    inc = k1s * (cb[:-1] * c0 + (cb[1:] - cb[:-1]) / dt_s * c1)
    ct = np.zeros_like(t)
    ct[1:] = lfilter([1.0], [1.0, -e], inc)  # the recursion C_t[i+1] = e·C_t[i] + inc[i]
    observed = (1.0 - vb) * ct + vb * cb

    def frame_mean(y: np.ndarray) -> np.ndarray:
        # exact trapezoid of the fine samples, with the frame edges interpolated on the grid
        cum = np.concatenate([[0.0], np.cumsum(0.5 * (y[1:] + y[:-1]) * dt_s)])
        return (np.interp(ends, t, cum) - np.interp(starts, t, cum)) / durs

    blood_true, myo_true = frame_mean(cb), frame_mean(observed)
    rng = np.random.default_rng(seed)
    blood = blood_true + rng.normal(0.0, 1.0, len(durs)) * noise_cv * blood_true
    myo = myo_true + rng.normal(0.0, 1.0, len(durs)) * noise_cv * myo_true
    lam = math.log(2.0) / _HALF_LIFE_S[tracer]
    decay = lam * durs / (np.exp(-lam * starts) * (1.0 - np.exp(-lam * durs)))
    truth = {"mbf": float(mbf), "k1": k1, "k2": k2, "vb": vb, "blood_volume": float(blood_volume),
             "spillover": float(spillover), "tracer": tracer, "distribution_volume": vd,
             "half_life_s": _HALF_LIFE_S[tracer], "decay_corrected": True, "noise_cv": float(noise_cv),
             "units": {"mbf": "mL/min/g", "k1": "mL/min/g", "k2": "1/min", "tac": "Bq/mL", "time": "s"},
             "model": "C_myo = (1 - vb) C_t + vb C_b; dC_t/dt = K1 C_b - k2 C_t; frame means"}
    return FlowPhantom(frame_start_s=starts, frame_duration_s=durs, frame_mid_s=starts + durs / 2,
                       blood_tac=blood, myocardium_tac=myo, blood_tac_true=blood_true, myocardium_tac_true=myo_true,
                       decay_factor=decay, truth=truth, input_params=params)


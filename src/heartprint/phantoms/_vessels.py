"""Coronary tube phantoms with exact known stenoses and plaque, for CCTA analysis tests.

Geometry (all lengths in mm, areas in mm², volumes in mm³, attenuation in HU)
----------------------------------------------------------------------------
A vessel is a tube along a centreline of arc length ``L`` (a straight segment or a
circular arc). At arc length ``s`` the **lumen** radius is::

    r(s) = R * (1 - delta * w(s)),     w(s) = (1 + cos(2 pi (s - s0) / Ls)) / 2  for |s - s0| < Ls / 2
                                       w(s) = 0                                   elsewhere

so the stenosis is axisymmetric and cosine-shaped, centred at ``s0``, of length ``Ls``;
``delta`` is the fractional **diameter** stenosis (``100 * delta`` % diameter stenosis,
``100 * (1 - (1 - delta)**2)`` % area stenosis, minimal lumen area ``pi (R (1 - delta))**2``).
The **outer vessel wall** radius is ``Rv(s) = R * sqrt(1 + (RI - 1) * w(s))`` so that the
vessel area at the throat is exactly ``RI`` times the reference vessel area (remodelling
index ``RI``; healthy wall is thinner than a CT voxel and is not modelled). The region
``r(s) < rho <= Rv(s)`` is plaque, split by angle round the centreline into a
low-attenuation sector (centred on the binormal, ``lap_hu``), a calcified sector opposite
it (``calcified_hu``, optionally limited to an axial length ``calcified_length_mm`` round
``s0`` — a spot shorter than 3 mm is "spotty calcification"), and non-calcified plaque
elsewhere (``noncalcified_hu``).

Exact volumes: every compartment's volume is ``∫ f(s) pi (Rv(s)^2 - r(s)^2) ds`` with
``f`` its angular fraction; for the arc the sectors are symmetric about the binormal, so
by Pappus' theorem the same integral holds (the centroid of each sector lies on the
arc's radius). The integrals are evaluated with 200 001-point Simpson quadrature
(relative error < 1e-10).

Image formation: the masks are the analytic shapes sampled at voxel centres; the HU image
mixes lumen (``lumen_hu``), plaque and epicardial fat (``fat_hu``) with a linear partial-
volume ramp one voxel wide across each surface, plus optional Gaussian noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from scipy.integrate import simpson

from heartprint.errors import InvalidInputError
from heartprint.image import Image, check_spacing

__all__ = ["VesselPhantom", "TreePhantom", "make_stenosed_vessel", "make_coronary_tree"]

#: Default attenuation values (HU) of the phantom's compartments. Lumen ~400 HU is a
#: typical contrast-enhanced coronary lumen; plaque values sit inside the composition
#: bands used by :mod:`heartprint.ct` (<30 low-attenuation, 30–350 non-calcified,
#: >350 calcified).
DEFAULT_HU: dict[str, float] = {
    "lumen": 400.0, "lap": 15.0, "noncalcified": 100.0, "calcified": 700.0, "fat": -80.0,
}


def _bump(s: np.ndarray, s0: float, length: float) -> np.ndarray:
    """Cosine bump ``w(s)``: 1 at ``s0``, 0 outside ``|s - s0| < length / 2``."""
    x = (np.asarray(s, dtype=float) - s0) / length
    return np.where(np.abs(x) < 0.5, 0.5 * (1.0 + np.cos(2.0 * np.pi * x)), 0.0)


def _ramp(d: np.ndarray, width: float) -> np.ndarray:
    """Partial-volume fraction of a voxel whose centre is ``d`` mm inside a surface."""
    return np.clip(0.5 + d / width, 0.0, 1.0)


@dataclass(frozen=True)
class _Tube:
    """One tube: path + radius profile + plaque layout (internal)."""

    kind: str  # "straight" | "arc"
    start: np.ndarray  # straight: start point; arc: circle centre (LPS mm)
    e1: np.ndarray
    e2: np.ndarray
    e3: np.ndarray
    length: float
    arc_radius: float
    radius: float
    delta: float
    s0: float
    lesion_length: float
    ri: float
    lap_deg: float
    cal_deg: float
    cal_length: float

    def point(self, s: np.ndarray) -> np.ndarray:
        s = np.asarray(s, dtype=float)[..., None]
        if self.kind == "straight":
            return self.start + s * self.e1
        phi = s / self.arc_radius
        return self.start + self.arc_radius * (np.cos(phi) * self.e1 + np.sin(phi) * self.e2)

    def local(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(s, rho, theta, within)`` of points ``p`` (..., 3): arc length of the nearest
        centreline point (clipped to [0, L]), distance to it, angle round it (0 = normal,
        90° = binormal), and whether the unclipped arc length lies in [0, L]."""
        d = p - self.start
        if self.kind == "straight":
            s_raw = d @ self.e1
            s = np.clip(s_raw, 0.0, self.length)
            radial = d - s[..., None] * self.e1
            normal = np.broadcast_to(self.e2, radial.shape)
            binormal = np.broadcast_to(self.e3, radial.shape)
        else:
            phi = np.arctan2(d @ self.e2, d @ self.e1)
            phi = np.mod(phi + np.pi / 2, 2 * np.pi) - np.pi / 2
            s_raw = phi * self.arc_radius
            phi = np.clip(phi, 0.0, self.length / self.arc_radius)
            s = phi * self.arc_radius
            normal = np.cos(phi)[..., None] * self.e1 + np.sin(phi)[..., None] * self.e2
            radial = d - self.arc_radius * normal
            binormal = np.broadcast_to(self.e3, radial.shape)
        rho = np.linalg.norm(radial, axis=-1)
        theta = np.degrees(np.arctan2(np.sum(radial * binormal, -1), np.sum(radial * normal, -1))) % 360.0
        return s, rho, theta, (s_raw >= 0) & (s_raw <= self.length)

    def lumen_radius(self, s: np.ndarray) -> np.ndarray:
        return self.radius * (1.0 - self.delta * _bump(s, self.s0, self.lesion_length))

    def vessel_radius(self, s: np.ndarray) -> np.ndarray:
        return self.radius * np.sqrt(1.0 + (self.ri - 1.0) * _bump(s, self.s0, self.lesion_length))

    def plaque_class(self, s: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """0 non-calcified, 1 low-attenuation, 2 calcified (plaque voxels only)."""
        in_lesion = np.abs(s - self.s0) < self.lesion_length / 2
        lap = in_lesion & (np.abs(theta - 90.0) < self.lap_deg / 2)
        cal = (np.abs(s - self.s0) < self.cal_length / 2) & in_lesion & (np.abs(theta - 270.0) < self.cal_deg / 2)
        return np.where(cal, 2, np.where(lap, 1, 0))

    def truth(self) -> dict[str, Any]:
        s = np.linspace(0.0, self.length, 200_001)
        r, rv = self.lumen_radius(s), self.vessel_radius(s)
        ring = np.pi * (rv**2 - r**2)
        in_lesion = np.abs(s - self.s0) < self.lesion_length / 2
        in_cal = in_lesion & (np.abs(s - self.s0) < self.cal_length / 2)
        lap = simpson(ring * in_lesion * (self.lap_deg / 360.0), x=s)
        cal = simpson(ring * in_cal * (self.cal_deg / 360.0), x=s)
        plaque = simpson(ring, x=s)
        vessel = simpson(np.pi * rv**2, x=s)
        return {
            "reference_radius_mm": self.radius,
            "reference_diameter_mm": 2 * self.radius,
            "diameter_stenosis_pct": 100.0 * self.delta,
            "area_stenosis_pct": 100.0 * (1.0 - (1.0 - self.delta) ** 2),
            "mla_mm2": float(np.pi * (self.radius * (1 - self.delta)) ** 2),
            "lesion_centre_mm": self.s0,
            "lesion_length_mm": self.lesion_length,
            "remodelling_index": self.ri,
            "length_mm": self.length,
            "plaque_mm3": float(plaque),
            "lap_mm3": float(lap),
            "calcified_mm3": float(cal),
            "noncalcified_mm3": float(plaque - lap - cal),
            "vessel_mm3": float(vessel),
            "lumen_mm3": float(vessel - plaque),
            "pav_pct": float(100.0 * plaque / vessel),
            "calcified_length_mm": float(min(self.cal_length, self.lesion_length)) if self.cal_deg > 0 else 0.0,
        }


@dataclass(frozen=True)
class VesselPhantom:
    """A single stenosed coronary tube with its exact truth.

    Attributes
    ----------
    image
        HU image ``(z, y, x)``.
    lumen, vessel
        ``uint8`` masks on the same grid: lumen, and the whole vessel inside the outer wall
        (lumen + plaque).
    centreline_lps
        ``(N, 3)`` true centreline (LPS mm) every 0.1 mm; ``arc_mm`` ``(N,)`` its arc length.
    truth
        Exact values (see module docstring): ``diameter_stenosis_pct``,
        ``area_stenosis_pct``, ``mla_mm2``, ``lesion_length_mm``, ``plaque_mm3``,
        ``lap_mm3``, ``noncalcified_mm3``, ``calcified_mm3``, ``vessel_mm3``, ``pav_pct``,
        ``remodelling_index``...
    """

    image: Image
    lumen: Image
    vessel: Image
    centreline_lps: np.ndarray
    arc_mm: np.ndarray
    truth: dict[str, Any]
    _tube: _Tube = field(repr=False)

    def lumen_area_mm2(self, s_mm: np.ndarray) -> np.ndarray:
        """Exact lumen cross-sectional area (mm²) at arc length ``s_mm`` (mm)."""
        return np.pi * self._tube.lumen_radius(np.asarray(s_mm, dtype=float)) ** 2

    def lesion_length_at(self, threshold_pct: float) -> float:
        """Exact length (mm) over which the diameter stenosis is at least ``threshold_pct`` %."""
        d = self._tube.delta * 100.0
        if threshold_pct > d:
            return 0.0
        if threshold_pct <= 0:
            return self._tube.lesion_length
        return float(self._tube.lesion_length / np.pi * np.arccos(2.0 * threshold_pct / d - 1.0))

    def arc_of(self, points_lps: np.ndarray) -> np.ndarray:
        """Arc length (mm) of the true centreline point nearest each of ``points_lps`` (..., 3)."""
        return self._tube.local(np.asarray(points_lps, dtype=float))[0]


def _unit(v: Sequence[float]) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


def _render(tubes: list[_Tube], spacing: tuple[float, float, float], margin: float, hu: dict[str, float],
            noise_sd: float, seed: int, flat_caps: bool) -> tuple[Image, Image, Image]:
    """Voxelise tubes on an axial LPS grid covering them (+ margin mm).

    ``flat_caps``: tube ends are cut by planes (single vessels, exact volumes); otherwise
    they are hemispherical (capsules, which join smoothly at a tree's branch points).
    """
    pts = np.concatenate([t.point(np.linspace(0, t.length, 400)) for t in tubes])
    rmax = max(t.radius * np.sqrt(t.ri) for t in tubes)
    lo = pts.min(0) - rmax - margin
    hi = pts.max(0) + rmax + margin
    dz, dy, dx = spacing
    # index (z, y, x) -> LPS (x*dx, y*dy, z*dz) + origin (default axial direction)
    shape = tuple(int(np.ceil((hi[k] - lo[k]) / sp)) + 1 for k, sp in ((2, dz), (1, dy), (0, dx)))
    img0 = Image.from_array(np.zeros(shape, np.float32), spacing, origin=lo)
    zz, yy, xx = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    p = img0.index_to_lps(np.stack([zz, yy, xx], -1).reshape(-1, 3))
    width = max(spacing)
    f_lumen = np.zeros(len(p))
    f_vessel = np.zeros(len(p))
    lumen = np.zeros(len(p), bool)
    vessel = np.zeros(len(p), bool)
    plaque_hu = np.full(len(p), hu["noncalcified"])
    best = np.full(len(p), np.inf)
    for t in tubes:
        s, rho, theta, within = t.local(p)
        r, rv = t.lumen_radius(s), t.vessel_radius(s)
        f_l = _ramp(r - rho, width)
        f_v = _ramp(rv - rho, width)
        if flat_caps:
            # beyond the end planes nothing belongs to the tube (no partial volume across the cut)
            f_l, f_v = f_l * within, f_v * within
        lumen |= (rho <= r) & (within | (not flat_caps))
        vessel |= (rho <= rv) & (within | (not flat_caps))
        f_lumen = np.maximum(f_lumen, f_l)
        f_vessel = np.maximum(f_vessel, f_v)
        closer = (rho - rv) < best
        cls = t.plaque_class(s, theta)
        plaque_hu = np.where(closer, np.choose(cls, [hu["noncalcified"], hu["lap"], hu["calcified"]]), plaque_hu)
        best = np.minimum(best, rho - rv)
    f_vessel = np.maximum(f_vessel, f_lumen)
    arr = f_lumen * hu["lumen"] + (f_vessel - f_lumen) * plaque_hu + (1 - f_vessel) * hu["fat"]
    if noise_sd > 0:
        arr = arr + np.random.default_rng(seed).normal(0.0, noise_sd, arr.shape)
    arr = arr.reshape(shape).astype(np.float32)
    image = Image(arr, img0.affine, modality="CT", kind="ct_angio")  # heartprint.io.classify.SeriesKind.CT_ANGIO
    return image, image.with_array(lumen.reshape(shape).astype(np.uint8)), image.with_array(
        vessel.reshape(shape).astype(np.uint8))


def make_stenosed_vessel(
    *,
    path: str = "straight",
    radius_mm: float = 2.0,
    stenosis_pct: float = 50.0,
    lesion_length_mm: float = 10.0,
    length_mm: float = 40.0,
    arc_radius_mm: float = 20.0,
    remodelling_index: float = 1.2,
    lap_sector_deg: float = 90.0,
    calcified_sector_deg: float = 90.0,
    calcified_length_mm: float | None = None,
    spacing: Sequence[float] = (0.5, 0.5, 0.5),
    hu: dict[str, float] | None = None,
    noise_sd: float = 0.0,
    seed: int = 0,
) -> VesselPhantom:
    """A straight or circular-arc coronary tube with a cosine-shaped axisymmetric stenosis.

    Parameters
    ----------
    path
        ``"straight"`` (along LPS x, tilted out of the grid axes by a few degrees) or
        ``"arc"`` (a circular arc of radius ``arc_radius_mm`` in an oblique plane).
    radius_mm
        Reference lumen radius ``R`` (mm).
    stenosis_pct
        Diameter stenosis at the throat (%, 0–95).
    lesion_length_mm, length_mm
        Stenosis length ``Ls`` and tube length ``L`` (mm); the lesion is centred at ``L/2``.
    remodelling_index
        Outer vessel area at the throat / reference vessel area (≥ 1).
    lap_sector_deg, calcified_sector_deg
        Angular extent (degrees) of the low-attenuation and calcified plaque sectors.
    calcified_length_mm
        Axial extent of the calcified sector round the throat (default: the whole lesion).
    spacing
        ``(dz, dy, dx)`` voxel spacing (mm).
    hu
        Overrides of :data:`DEFAULT_HU`.
    noise_sd, seed
        Gaussian noise (HU) added to the image.
    """
    spacing = check_spacing(spacing)
    if not 0 <= stenosis_pct <= 95:
        raise InvalidInputError(f"stenosis_pct={stenosis_pct}: expected 0–95 %")
    if remodelling_index < 1:
        raise InvalidInputError(f"remodelling_index={remodelling_index}: expected >= 1")
    if not 0 < lesion_length_mm < length_mm:
        raise InvalidInputError(f"lesion_length_mm={lesion_length_mm}: expected 0 < Ls < length_mm={length_mm}")
    hu_all = {**DEFAULT_HU, **(hu or {})}
    if path == "straight":
        e1 = _unit([1.0, 0.12, 0.07])
        e2 = _unit(np.cross([0.0, 0.0, 1.0], e1))
        e3 = np.cross(e1, e2)
        start = np.zeros(3)
    elif path == "arc":
        e3 = _unit([0.25, -0.3, 1.0])
        e1 = _unit(np.cross(e3, [0.0, 1.0, 0.0]))
        e2 = np.cross(e3, e1)
        start = np.zeros(3)
        if length_mm / arc_radius_mm > 1.5 * np.pi:
            raise InvalidInputError(f"arc length {length_mm} mm / radius {arc_radius_mm} mm: expected an arc < 270°")
    else:
        raise InvalidInputError(f"path={path!r}: expected 'straight' or 'arc'")
    tube = _Tube(
        kind=path, start=start, e1=e1, e2=e2, e3=e3, length=float(length_mm), arc_radius=float(arc_radius_mm),
        radius=float(radius_mm), delta=stenosis_pct / 100.0, s0=length_mm / 2.0, lesion_length=float(lesion_length_mm),
        ri=float(remodelling_index), lap_deg=float(lap_sector_deg), cal_deg=float(calcified_sector_deg),
        cal_length=float(lesion_length_mm if calcified_length_mm is None else calcified_length_mm),
    )
    image, lumen, vessel = _render([tube], spacing, 3.0, hu_all, noise_sd, seed, flat_caps=True)
    s = np.arange(0.0, length_mm + 1e-9, 0.1)
    return VesselPhantom(image=image, lumen=lumen, vessel=vessel, centreline_lps=tube.point(s), arc_mm=s,
                         truth=tube.truth(), _tube=tube)


@dataclass(frozen=True)
class TreePhantom:
    """A small coronary tree (two trees: left with LM/LAD/LCx/D1, right with RCA).

    ``truth[name]`` holds each vessel's :meth:`_Tube.truth` values; ``vessel_labels`` maps
    the label values of ``labels`` (1 LM, 2 LAD, 3 LCx, 4 D1, 5 RCA) to SCCT names.
    """

    image: Image
    lumen: Image
    vessel: Image
    labels: Image
    vessel_labels: dict[int, str]
    truth: dict[str, dict[str, Any]]


def make_coronary_tree(*, spacing: Sequence[float] = (0.5, 0.5, 0.5), noise_sd: float = 0.0,
                       seed: int = 0) -> TreePhantom:
    """A 4-vessel left tree (LM → LAD with D1, LCx) plus a separate RCA, with stenoses.

    Straight tubes joined end to start (LAD and LCx start at the LM's end, D1 at the LAD's
    36 mm); stenoses: LAD 70 %, LCx 50 %, RCA 40 % diameter, D1 and LM none. Sizes are
    typical adult proximal diameters (LM 4.5, LAD 3.5, LCx 3.0, D1 2.2, RCA 3.6 mm).
    """
    spacing = check_spacing(spacing)
    z = np.array([0.0, 0.0, 1.0])

    def straight(p0, direction, length, radius, sten=0.0, ri=1.0):
        e1 = _unit(direction)
        e2 = _unit(np.cross(z if abs(e1 @ z) < 0.9 else [1.0, 0, 0], e1))
        return _Tube("straight", np.asarray(p0, float), e1, e2, np.cross(e1, e2), float(length), 0.0, radius,
                     sten / 100.0, length / 2.0, min(10.0, 0.5 * length), ri, 90.0, 90.0, 1e9)

    lm = straight([0, 0, 0], [1, 0.3, -0.2], 10.0, 2.25)
    lm_end = lm.point(lm.length)
    lad = straight(lm_end, [0.6, 1.0, -0.5], 45.0, 1.75, 70.0, 1.15)
    lcx = straight(lm_end, [0.7, -0.9, -0.6], 35.0, 1.5, 50.0, 1.1)
    d1 = straight(lad.point(36.0), [1.0, 0.4, -0.3], 20.0, 1.1)
    rca = straight([-8.0, 12.0, 0.0], [-0.3, 0.8, -0.6], 40.0, 1.8, 40.0, 1.2)
    tubes = {"LM": lm, "LAD": lad, "LCx": lcx, "D1": d1, "RCA": rca}
    image, lumen, vessel = _render(list(tubes.values()), spacing, 3.0, DEFAULT_HU, noise_sd, seed, flat_caps=False)
    # label map: nearest tube's label inside the lumen
    p = image.index_to_lps(np.argwhere(lumen.array > 0))
    loc = [t.local(p) for t in tubes.values()]
    dist = np.stack([lc[1] - t.lumen_radius(lc[0]) for lc, t in zip(loc, tubes.values())], -1)
    lab = np.zeros(lumen.shape3d, np.uint8)
    idx = np.argwhere(lumen.array > 0)
    lab[tuple(idx.T)] = np.argmin(dist, -1) + 1
    names = {1: "LM", 2: "LAD", 3: "LCx", 4: "D1", 5: "RCA"}
    return TreePhantom(image=image, lumen=lumen, vessel=vessel, labels=lumen.with_array(lab), vessel_labels=names,
                       truth={k: t.truth() for k, t in tubes.items()})

"""Closed-form and semi-analytic geometry of the cine phantom's ventricles.

Conventions
-----------
The left ventricle lives in its own frame: ``s`` (mm) runs along the LV long axis from the
ellipsoid centre towards the apex; ``(p, q)`` (mm) are in-plane, ``p`` pointing from the
LV axis towards the right ventricle. The basal plane is ``s = -base_offset`` and
everything on the apical side (``s >= -base_offset``) belongs to the ventricles.

A prolate ellipsoid with equatorial radius ``R`` and polar semi-axis ``L``,
``(p**2 + q**2) / R**2 + s**2 / L**2 <= 1``, truncated by the basal plane, has the exact
volume (integrate the disc area ``pi R**2 (1 - s**2 / L**2)`` from ``-S`` to ``L``)::

    V = pi R**2 [ (L + S) - (L**3 + S**3) / (3 L**2) ]

The RV cavity at level ``s`` is an ellipse minus the LV epicardial disc; its area is
integrated on rays from the LV axis (exact ray-ellipse intersections, trapezoid rule in
angle) and its volume by Gauss-Legendre quadrature along ``s`` (see
:func:`rv_cavity_volume_mm3`; relative error below 1e-5 at the default resolution,
checked against a brute-force grid in the tests).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from heartprint.errors import InvalidInputError

__all__ = [
    "truncated_ellipsoid_volume_mm3",
    "disc_radius_mm",
    "ellipse_minus_disc_area_mm2",
    "rv_cavity_volume_mm3",
    "RVShape",
]


def truncated_ellipsoid_volume_mm3(radius_mm: float, half_length_mm: float, base_offset_mm: float) -> float:
    """Volume (mm³) of a prolate ellipsoid cut by the plane ``s = -base_offset_mm``.

    Parameters
    ----------
    radius_mm
        Equatorial (short-axis) semi-axis ``R``.
    half_length_mm
        Polar (long-axis) semi-axis ``L``.
    base_offset_mm
        Distance ``S`` of the basal plane from the ellipsoid centre towards the base;
        ``0`` keeps exactly half the ellipsoid. Must satisfy ``-L <= S <= L``.
    """
    r, half, base = float(radius_mm), float(half_length_mm), float(base_offset_mm)
    if r <= 0 or half <= 0 or not -half <= base <= half:
        raise InvalidInputError(
            f"truncated ellipsoid R={r}, L={half}, S={base}: expected R > 0, L > 0, -L <= S <= L (mm)"
        )
    return float(np.pi * r * r * ((half + base) - (half**3 + base**3) / (3.0 * half * half)))


def disc_radius_mm(s_mm: np.ndarray | float, radius_mm: float, half_length_mm: float, base_offset_mm: float) -> np.ndarray:
    """Radius (mm) of the ellipsoid's cross-section at level ``s`` (0 above the base or past the apex)."""
    s = np.asarray(s_mm, dtype=float)
    inside = 1.0 - (s / half_length_mm) ** 2
    r = radius_mm * np.sqrt(np.clip(inside, 0.0, None))
    return np.where(s >= -base_offset_mm, r, 0.0)


def ellipse_minus_disc_area_mm2(
    disc_r: np.ndarray,
    centre_p: np.ndarray,
    semi_p: np.ndarray,
    semi_q: np.ndarray,
    *,
    n_theta: int = 8192,
) -> np.ndarray:
    """Area (mm²) of the ellipse ``((p - c)/a)**2 + (q/b)**2 <= 1`` outside the disc ``p**2 + q**2 < r**2``.

    All arguments broadcast (one value per level). The area is ``∫ ½ (max(t2, r)² -
    max(t1, r)²) dθ`` over rays from the disc centre, where ``[t1, t2]`` is the exact chord
    of the ray inside the ellipse; the angular integral uses the periodic trapezoid rule
    (error O(n_theta⁻¹·⁵) from the rays tangent to the ellipse and the kinks where it
    crosses the disc; ~3e-5 relative at 8192 rays for a small, distant ellipse).
    """
    r = np.asarray(disc_r, dtype=float)[..., None]
    c = np.asarray(centre_p, dtype=float)[..., None]
    a = np.asarray(semi_p, dtype=float)[..., None]
    b = np.asarray(semi_q, dtype=float)[..., None]
    theta = (np.arange(n_theta) + 0.5) * (2.0 * np.pi / n_theta)
    ct, st = np.cos(theta), np.sin(theta)
    with np.errstate(divide="ignore", invalid="ignore"):
        qa = ct**2 / a**2 + st**2 / b**2
        qb = -2.0 * ct * c / a**2
        qc = c**2 / a**2 - 1.0
        disc = qb**2 - 4.0 * qa * qc
        root = np.sqrt(np.clip(disc, 0.0, None))
        t1 = np.clip((-qb - root) / (2.0 * qa), 0.0, None)
        t2 = np.clip((-qb + root) / (2.0 * qa), 0.0, None)
    hit = (disc > 0) & (a > 0) & (b > 0)
    outer = np.maximum(t2, r)
    inner = np.maximum(t1, r)
    area = np.where(hit, 0.5 * (outer**2 - inner**2), 0.0)
    return area.sum(axis=-1) * (2.0 * np.pi / n_theta)


class RVShape:
    """The RV cavity at one phase: at level ``s`` an ellipse in ``(p, q)`` minus the LV epicardial disc.

    The ellipse's size follows an ellipsoid profile ``sigma(s) = sqrt(1 - ((s - s0)/c)**2)``:
    semi-axes ``(a sigma, b sigma)``; its septal edge is anchored inside the LV epicardium
    at ``p = septal_fraction * r_epi(s)`` so the crescent stays attached to the septum, i.e.
    the centre is at ``p = septal_fraction * r_epi(s) + a sigma``. The cavity exists for
    ``-base_offset <= s <= s0 + c``.
    """

    def __init__(self, a: float, b: float, s0: float, c: float, septal_fraction: float,
                 epi_radius: float, epi_half_length: float, base_offset: float, wall_mm: float):
        self.a, self.b, self.s0, self.c = float(a), float(b), float(s0), float(c)
        self.septal_fraction = float(septal_fraction)
        self.epi_radius, self.epi_half_length = float(epi_radius), float(epi_half_length)
        self.base_offset = float(base_offset)
        self.wall_mm = float(wall_mm)

    def sigma(self, s: np.ndarray | float) -> np.ndarray:
        s = np.asarray(s, dtype=float)
        sig = np.sqrt(np.clip(1.0 - ((s - self.s0) / self.c) ** 2, 0.0, None))
        return np.where(s >= -self.base_offset, sig, 0.0)

    def level(self, s: np.ndarray | float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(r_epi, centre_p, semi_p, semi_q)`` at level(s) ``s`` (mm)."""
        r_epi = disc_radius_mm(s, self.epi_radius, self.epi_half_length, self.base_offset)
        sig = self.sigma(s)
        return r_epi, self.septal_fraction * r_epi + self.a * sig, self.a * sig, self.b * sig

    @property
    def s_range(self) -> tuple[float, float]:
        return -self.base_offset, self.s0 + self.c

    def insertion_points(self, s: float) -> np.ndarray | None:
        """The two ``(p, q)`` points (mm) where the RV ellipse meets the LV epicardial circle at level ``s``."""
        r, cp, a, b = (float(v) for v in self.level(s))
        if r <= 0 or a <= 0 or b <= 0:
            return None
        # p**2 + q**2 = r**2 and ((p - cp)/a)**2 + q**2/b**2 = 1  ->  quadratic in p
        k2 = 1.0 / a**2 - 1.0 / b**2
        k1 = -2.0 * cp / a**2
        k0 = cp**2 / a**2 + r**2 / b**2 - 1.0
        roots = np.roots([k2, k1, k0]) if abs(k2) > 1e-15 else np.array([-k0 / k1])
        for p in np.sort(np.real(roots[np.isreal(roots)])):
            if abs(p) <= r:
                q = np.sqrt(max(r * r - p * p, 0.0))
                return np.array([[p, q], [p, -q]])
        return None


def rv_cavity_volume_mm3(shape: RVShape, *, n_s: int = 128, n_theta: int = 4096) -> float:
    """RV cavity volume (mm³): Gauss-Legendre quadrature along ``s`` of the crescent area.

    The integrand is smooth on ``[-base_offset, s0 + c]`` (the ellipse always overlaps the
    epicardial disc; rays tangent to the ellipse make the angular rule converge as
    O(n_theta**-1.5)), so 128 nodes and 4096 rays give a relative error below 1e-5
    (measured 4e-7 to 3e-6 against 512-1024 nodes x 32768-65536 rays; also checked
    against a brute-force grid in the tests).
    """
    lo, hi = shape.s_range
    x, w = _gauss_legendre(n_s)
    s = 0.5 * (hi - lo) * x + 0.5 * (hi + lo)
    r, cp, a, b = shape.level(s)
    area = ellipse_minus_disc_area_mm2(r, cp, a, b, n_theta=n_theta)
    return float(0.5 * (hi - lo) * np.sum(w * area))


@lru_cache(maxsize=8)
def _gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(n)
    x.flags.writeable = False
    w.flags.writeable = False
    return x, w

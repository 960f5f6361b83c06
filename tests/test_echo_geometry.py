"""Echo chamber geometry against exact analytic shapes (heartprint.echo._geometry)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad

from heartprint.echo._geometry import (
    biplane_volume,
    disc_diameters,
    indexed,
    la_volume_area_length,
    la_volume_discs,
    long_axis,
    lv_mass_area_length,
    lv_mass_linear,
    relative_wall_thickness,
    single_plane_volume,
)
from heartprint.errors import InvalidInputError


# --------------------------------------------------------------------------- shapes
def spheroid_section(semi_minor: float, semi_major: float, cut: float, n_points: int) -> np.ndarray:
    """Open contour of the section of x²/r² + z²/A² = 1 above the plane z = cut.

    Runs from the hinge (+x, cut) round the apex (0, A) to (−x, cut); the annulus
    midpoint is (0, cut), so the long axis is A − cut.
    """
    phi0 = math.asin(cut / semi_major)
    phi = np.linspace(phi0, math.pi - phi0, n_points)
    return np.column_stack([semi_minor * np.cos(phi), semi_major * np.sin(phi)])


def truncated_spheroid_volume(a: float, b: float, semi_major: float, cut: float) -> float:
    """Exact volume (mL) of the ellipsoid (a, b, A) above z = cut: πab[(A−c) − (A³−c³)/(3A²)]."""
    big = semi_major
    return math.pi * a * b * ((big - cut) - (big**3 - cut**3) / (3 * big**2)) / 1000.0


def rigid(contour: np.ndarray, angle: float, shift: tuple[float, float], reverse: bool) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    out = contour @ np.array([[c, s], [-s, c]]) + np.asarray(shift)
    return out[::-1] if reverse else out


# --------------------------------------------------------------------------- biplane LV
@pytest.mark.parametrize("n_points", [41, 50, 60])
def test_half_ellipsoid_biplane_within_1pct(n_points: int) -> None:
    a, b, length = 22.0, 17.0, 80.0  # A4C and A2C minor semi-axes differ
    exact = 2.0 / 3.0 * math.pi * a * b * length / 1000.0
    v = biplane_volume(spheroid_section(a, length, 0.0, n_points), spheroid_section(b, length, 0.0, n_points))
    assert abs(v / exact - 1.0) < 0.01
    # Swapping the views changes nothing (Σ a_k b_k is symmetric, L is the max of both).
    v_swapped = biplane_volume(spheroid_section(b, length, 0.0, n_points), spheroid_section(a, length, 0.0, n_points))
    assert v_swapped == pytest.approx(v, rel=1e-12)


@pytest.mark.parametrize("cut", [25.0, 50.0, -30.0])  # above the equator twice, below once
def test_truncated_ellipsoid_biplane_within_1pct(cut: float) -> None:
    a, b, big = 24.0, 19.0, 90.0
    exact = truncated_spheroid_volume(a, b, big, cut)
    v = biplane_volume(spheroid_section(a, big, cut, 50), spheroid_section(b, big, cut, 50))
    assert abs(v / exact - 1.0) < 0.01
    _, _, length = long_axis(spheroid_section(a, big, cut, 51))
    assert length == pytest.approx(big - cut, rel=1e-12)


def test_truncated_formula_reduces_to_half_ellipsoid() -> None:
    # Independent check of the test's own closed form: cut = 0 gives 2/3·π·a·b·A.
    assert truncated_spheroid_volume(20, 15, 70, 0.0) == pytest.approx(2 / 3 * math.pi * 20 * 15 * 70 / 1000)
    # cut = −A gives the whole ellipsoid 4/3·π·a·b·A.
    assert truncated_spheroid_volume(20, 15, 70, -70.0) == pytest.approx(4 / 3 * math.pi * 20 * 15 * 70 / 1000)


def test_rigid_motion_and_point_order_do_not_change_volume() -> None:
    a4c = spheroid_section(23.0, 85.0, 20.0, 47)
    a2c = spheroid_section(18.0, 85.0, 20.0, 53)
    ref = biplane_volume(a4c, a2c)
    rng = np.random.default_rng(20)
    for _ in range(5):
        moved4 = rigid(a4c, rng.uniform(0, 2 * math.pi), tuple(rng.uniform(-200, 200, 2)), bool(rng.integers(2)))
        moved2 = rigid(a2c, rng.uniform(0, 2 * math.pi), tuple(rng.uniform(-200, 200, 2)), bool(rng.integers(2)))
        assert biplane_volume(moved4, moved2) == pytest.approx(ref, rel=1e-9)


def test_closed_contour_with_annulus_indices_equals_open_contour() -> None:
    a4c = spheroid_section(21.0, 80.0, 0.0, 50)
    a2c = spheroid_section(16.0, 80.0, 0.0, 50)
    ref = biplane_volume(a4c, a2c)
    k, n = 17, 50
    rolled = np.roll(a4c, k, axis=0)  # same cyclic polygon, hinge points now at k and k−1
    v = biplane_volume(rolled, a2c, a4c_annulus=(k, (n - 1 + k) % n))
    assert v == pytest.approx(ref, rel=1e-12)


def test_disc_count_error_follows_midpoint_rule() -> None:
    # Densely sampled half spheroid: the method of discs is the midpoint rule on the
    # quadratic profile 1 − (z/L)², whose error is exactly +1/(8·n²) of the volume.
    a, b, length = 25.0, 20.0, 80.0
    exact = 2.0 / 3.0 * math.pi * a * b * length / 1000.0
    a4c, a2c = spheroid_section(a, length, 0.0, 4001), spheroid_section(b, length, 0.0, 4001)
    errors = []
    for n in (2, 5, 10, 20, 40):
        rel = biplane_volume(a4c, a2c, n_discs=n) / exact - 1.0
        assert rel == pytest.approx(1.0 / (8 * n * n), abs=2e-5)
        errors.append(rel)
    assert all(e1 > e2 > 0 for e1, e2 in zip(errors, errors[1:]))  # overestimate shrinking with n


def test_cone_single_plane_exact_midpoint_error() -> None:
    # A triangle's chords are exact, so the only error is the midpoint rule on (1 − x)²: −1/(4n²).
    radius, length = 20.0, 70.0
    tri = np.array([[radius, 0.0], [0.0, length], [-radius, 0.0]])
    exact = math.pi * radius**2 * length / 3.0 / 1000.0
    for n in (1, 3, 20):
        assert single_plane_volume(tri, n_discs=n) == pytest.approx(exact * (1 - 1 / (4 * n * n)), rel=1e-12)


def test_cylinder_with_conical_roof_chords_exact() -> None:
    # Cylinder (radius 15, height 60) with a cone roof to the apex at z = 80.
    poly = np.array([[15.0, 0.0], [15.0, 60.0], [0.0, 80.0], [-15.0, 60.0], [-15.0, 0.0]])
    widths, length = disc_diameters(poly, n_discs=8)
    assert length == pytest.approx(80.0)
    np.testing.assert_allclose(widths, [30, 30, 30, 30, 30, 30, 22.5, 7.5], atol=1e-12)
    expected = math.pi / 4 * (6 * 30**2 + 22.5**2 + 7.5**2) * 10.0 / 1000.0
    assert single_plane_volume(poly, n_discs=8) == pytest.approx(expected, rel=1e-14)


def test_concave_contour_chords_sum_inside_intervals() -> None:
    # Closed polygon with a notch from the base: a horizontal line at z < 30 crosses 4 edges.
    poly = np.array(
        [[-20, 0], [-20, 50], [0, 90], [20, 50], [20, 0], [5, 0], [5, 30], [-5, 30], [-5, 0]], dtype=float
    )
    widths, length = disc_diameters(poly, n_discs=9, annulus=(0, 4))
    assert length == pytest.approx(90.0)
    np.testing.assert_allclose(widths, [30, 30, 30, 40, 40, 35, 25, 15, 5], atol=1e-12)


def test_single_plane_body_of_revolution_within_1pct() -> None:
    r, big, cut = 24.0, 85.0, 15.0
    exact = truncated_spheroid_volume(r, r, big, cut)
    v = single_plane_volume(spheroid_section(r, big, cut, 45))
    assert abs(v / exact - 1.0) < 0.01


def test_biplane_uses_the_longer_long_axis() -> None:
    a4c = spheroid_section(22.0, 80.0, 0.0, 51)
    a2c = spheroid_section(18.0, 72.0, 0.0, 51)  # foreshortened view
    da, la = disc_diameters(a4c)
    db, lb = disc_diameters(a2c)
    assert (la, lb) == (pytest.approx(80.0), pytest.approx(72.0))
    expected = math.pi / 4 * np.sum(da * db) * 80.0 / 20 / 1000
    assert biplane_volume(a4c, a2c) == pytest.approx(expected, rel=1e-12)
    assert biplane_volume(a2c, a4c) == pytest.approx(expected, rel=1e-12)


# --------------------------------------------------------------------------- LA
def test_la_area_length_exact_arithmetic_and_shorter_length() -> None:
    # 0.85 · 2000 · 1500 / 50 mm³ = 51 000 mm³ = 51 mL.
    assert la_volume_area_length(2000.0, 1500.0, 50.0) == pytest.approx(51.0, rel=1e-14)
    assert la_volume_area_length(2000.0, 1500.0, (50.0, 60.0)) == pytest.approx(51.0, rel=1e-14)
    assert la_volume_area_length(2000.0, 1500.0, (60.0, 50.0)) == pytest.approx(51.0, rel=1e-14)


def test_la_area_length_on_exact_ellipsoid() -> None:
    # Ellipsoid semi-axes a, b (minor) and c (long): A1 = πac, A2 = πbc, L = 2c.
    # The formula's constant for exactness is 8/(3π); with 0.85 the result is
    # exactly 0.85·3π/8 (= 1.00138…) times 4/3·π·a·b·c.
    a, b, c = 20.0, 16.0, 27.0
    exact = 4.0 / 3.0 * math.pi * a * b * c / 1000.0
    v = la_volume_area_length(math.pi * a * c, math.pi * b * c, 2 * c)
    assert v == pytest.approx(exact * 0.85 * 3 * math.pi / 8, rel=1e-12)
    assert abs(v / exact - 1.0) < 0.0015


def test_la_discs_on_truncated_ellipsoid() -> None:
    a, b, big, cut = 19.0, 17.0, 30.0, -10.0
    exact = truncated_spheroid_volume(a, b, big, cut)
    v = la_volume_discs(spheroid_section(a, big, cut, 40), spheroid_section(b, big, cut, 40))
    assert abs(v / exact - 1.0) < 0.01


def test_indexed() -> None:
    assert indexed(120.0, 2.0) == 60.0
    assert indexed(181.976, 1.82) == pytest.approx(99.98681, rel=1e-6)


# --------------------------------------------------------------------------- mass, RWT
def test_lv_mass_linear_hand_values() -> None:
    # (1.0 + 5.0 + 1.0)³ − 5.0³ = 343 − 125 = 218 mL; 0.8·1.04·218 + 0.6 = 181.976 g
    assert lv_mass_linear(10.0, 50.0, 10.0) == pytest.approx(181.976, rel=1e-12)
    # (1.2 + 4.8 + 1.1)³ − 4.8³ = 357.911 − 110.592 = 247.319; ·0.832 + 0.6 = 206.369408 g
    assert lv_mass_linear(12.0, 48.0, 11.0) == pytest.approx(206.369408, rel=1e-12)


def _bullet_volume_numeric(radius: float, length: float) -> float:
    """∫ π r(z)² dz for a bullet: cylinder to length/2, then a half spheroid to the apex."""
    half = length / 2.0

    def area(z: float) -> float:
        if z <= half:
            return math.pi * radius**2
        return math.pi * radius**2 * (1.0 - ((z - half) / half) ** 2)

    value, _ = quad(area, 0.0, length, points=[half], epsabs=0, epsrel=1e-13)
    return value


def test_lv_mass_area_length_against_exact_bullet_shell() -> None:
    b, t, length = 25.0, 10.0, 80.0  # cavity radius, wall, cavity length (mm)
    shell_mm3 = _bullet_volume_numeric(b + t, length + t) - _bullet_volume_numeric(b, length)
    expected_g = 1.05 * shell_mm3 / 1000.0
    got = lv_mass_area_length(math.pi * (b + t) ** 2, math.pi * b**2, length)
    assert got == pytest.approx(expected_g, rel=1e-10)
    assert 150 < got < 250  # ≈ 165.6 g: a plausible adult LV


def test_relative_wall_thickness() -> None:
    assert relative_wall_thickness(10.0, 50.0) == pytest.approx(0.4)
    assert relative_wall_thickness(12.0, 40.0) == pytest.approx(0.6)
    assert relative_wall_thickness(2.0, 120.0) == pytest.approx(4 / 120)  # both ends of the ranges
    assert relative_wall_thickness(40.0, 10.0) == pytest.approx(8.0)


# --------------------------------------------------------------------------- errors
GOOD = spheroid_section(20.0, 80.0, 0.0, 41)


@pytest.mark.parametrize(
    "contour, kwargs, match",
    [
        (GOOD[:2], {}, "at least 3"),
        (GOOD[:, :1], {}, "shape"),
        (np.where(np.arange(41)[:, None] == 5, np.nan, GOOD), {}, "non-finite"),
        (GOOD / 1000.0, {}, "long axis"),  # metres passed as mm
        (np.vstack([GOOD, GOOD[:1]]), {}, "coincide"),  # explicitly closed without annulus=
        (GOOD, {"annulus": (3, 3)}, "distinct"),
        (GOOD, {"annulus": (0, 99)}, "distinct"),
        (GOOD, {"n_discs": 0}, "n_discs"),
        (GOOD, {"n_discs": 2.5}, "n_discs"),
        ([["a", "b"], ["c", "d"], ["e", "f"]], {}, "array"),
    ],
)
def test_contour_errors(contour: object, kwargs: dict, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        single_plane_volume(contour, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: lv_mass_linear(-1.0, 50.0, 10.0), "ivsd_mm"),
        (lambda: lv_mass_linear(10.0, math.nan, 10.0), "lvidd_mm"),
        (lambda: lv_mass_linear(10.0, 5.0, 10.0), "lvidd_mm"),  # cm passed as mm
        (lambda: lv_mass_linear(10.0, 50.0, 41.0), "lvpwd_mm"),
        (lambda: lv_mass_area_length(1000.0, 2000.0, 80.0), "epicardial"),
        (lambda: lv_mass_area_length(2000.0, 1000.0, 0.0), "length_mm"),
        (lambda: lv_mass_area_length(50_000.0, 100.0, 80.0), "wall thickness"),
        (lambda: relative_wall_thickness(0.0, 50.0), "pwd_mm"),
        (lambda: relative_wall_thickness(10.0, "x"), "lvidd_mm"),
        (lambda: la_volume_area_length(2000.0, 1500.0, (50.0, 60.0, 70.0)), "length_mm"),
        (lambda: la_volume_area_length(2000.0, -1.0, 50.0), "a2c_area_mm2"),
        (lambda: la_volume_area_length(2000.0, 1500.0, math.inf), "length_mm"),
        (lambda: indexed(100.0, 0.0), "bsa_m2"),
        (lambda: indexed(-5.0, 1.8), "value"),
    ],
)
def test_scalar_errors(call, match: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInputError, match=match):
        call()

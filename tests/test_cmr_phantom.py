"""Analytic cine short-axis label phantom for the cmr/anatomy tests (no heartprint.phantoms).

Geometry (all in physical in-plane mm, so it is exact at any spacing/affine):

* 12 slices, LV from slice 1 (base) to 8 with cavity, slice 9 = apex cap (myocardium disc),
  slices 0, 10, 11 empty. Cavity radius ``R_c(z) * sqrt(f(t))`` with
  ``f(t) = 1 - EF_TRUE * (1 - cos(2πt/RR)) / 2`` (area fraction: ED at t=0, ES at RR/2).
* Myocardium ring ``R_c <= r < R_o``, ``R_o(θ,t)² = R_c(t)² + (R_c,ED + T(θ))² - R_c,ED²`` —
  constant area per angle, so mass is the same in every phase. ``T(θ)`` is the ED wall
  thickness, uniform or a per-AHA-segment table.
* RV crescent over ±60° around the RV direction (right-anterior in LPS), from the
  epicardium outward, with outer radius chosen so that RV area(t) loses exactly the LV
  area loss: RV SV = LV SV.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from heartprint.image import Image, affine_from_geometry

SPACING = (8.0, 1.4, 1.4)
SHAPE = (12, 96, 96)
CENTRE_YX = (48.3, 47.6)
N_PHASES = 20
RR_MS = 800.0
EF_TRUE = 0.6
R_CAV = {1: 25.0, 2: 25.0, 3: 25.0, 4: 25.0, 5: 25.0, 6: 22.0, 7: 18.0, 8: 12.0}
APEX_Z, APEX_R = 9, 16.0
LEVEL_OF = {1: "basal", 2: "basal", 3: "basal", 4: "mid", 5: "mid", 6: "mid", 7: "apical", 8: "apical"}
RV_Z = range(1, 8)
RV_WIDTH_ED = 25.0
WALL_T = 8.0
# Segment thickness table (mm): neighbours differ by >= 3 mm so a direction error shows.
SEG_T = {1: 6.0, 2: 12.0, 3: 7.0, 4: 13.0, 5: 8.0, 6: 14.0, 7: 9.0, 8: 15.0, 9: 6.0, 10: 12.0, 11: 7.0,
         12: 13.0, 13: 6.0, 14: 11.0, 15: 7.0, 16: 12.0}
ANTERIOR_LPS = np.array([0.0, -1.0, 0.0])
RV_DIR_LPS = np.array([-1.0, -0.6, 0.0])  # right (−L) and anterior (−P)


def oblique_direction(mirror: bool = False) -> np.ndarray:
    """Columns = LPS unit vectors of increasing z (base→apex: left, anterior, inferior), y, x."""
    ez = np.array([0.6, -0.5, -0.6])
    ez /= np.linalg.norm(ez)
    ex = np.cross(ez, [0.0, 0.0, 1.0])
    ex /= np.linalg.norm(ex)
    ey = np.cross(ez, ex)
    if mirror:
        ex = -ex
    return np.column_stack([ez, ey, ex])


def expected_segment(phi_deg: np.ndarray, level: str) -> np.ndarray:
    """Independent statement of the AHA table: φ from the anterior insertion toward the septum."""
    phi = np.mod(phi_deg, 360.0)
    if level in ("basal", "mid"):
        order = np.array([2, 3, 4, 5, 6, 1]) + (6 if level == "mid" else 0)
        return order[(phi // 60).astype(int) % 6]
    return np.array([14, 15, 16, 13])[(np.mod(phi - 15.0, 360.0) // 90).astype(int) % 4]


@dataclass
class Phantom:
    image: Image
    labels: np.ndarray
    direction: np.ndarray
    alpha_rv: float  # deg, in the (Y, X) in-plane frame
    alpha_ant: float  # anterior insertion angle
    sense: int  # +1 if φ increases with α

    def phi_of(self, alpha_deg: np.ndarray) -> np.ndarray:
        return np.mod(self.sense * (np.asarray(alpha_deg) - self.alpha_ant), 360.0)


def _in_plane(v: np.ndarray, direction: np.ndarray) -> float:
    """Angle (deg) of the in-plane projection of an LPS vector in the (Y, X) frame."""
    return float(np.degrees(np.arctan2(v @ direction[:, 2], v @ direction[:, 1])))


def make_phantom(
    *,
    segment_thickness: bool = False,
    mirror: bool = False,
    n_phases: int = N_PHASES,
    spacing: tuple[float, float, float] = SPACING,
    meta: dict | None = None,
) -> Phantom:
    direction = oblique_direction(mirror)
    dz, dy, dx = spacing
    nz, ny, nx = SHAPE
    yy, xx = np.meshgrid((np.arange(ny) - CENTRE_YX[0]) * dy, (np.arange(nx) - CENTRE_YX[1]) * dx, indexing="ij")
    r = np.hypot(yy, xx)
    alpha = np.degrees(np.arctan2(xx, yy))
    alpha_rv = _in_plane(RV_DIR_LPS, direction)
    cand = [alpha_rv + 60.0, alpha_rv - 60.0]

    def p_of(a: float) -> float:
        d = np.cos(np.radians(a)) * direction[:, 1] + np.sin(np.radians(a)) * direction[:, 2]
        return float(d[1])

    alpha_ant = min(cand, key=p_of)
    sense = 1 if np.isclose(np.mod(alpha_rv - alpha_ant, 360.0), 60.0) else -1
    ph = Phantom(None, None, direction, alpha_rv, alpha_ant, sense)  # type: ignore[arg-type]
    phi = ph.phi_of(alpha)
    dang = np.abs(np.mod(alpha - alpha_rv + 180.0, 360.0) - 180.0)
    times = np.arange(n_phases) * RR_MS / n_phases
    labels = np.zeros((n_phases,) + SHAPE, np.uint8)
    for t, tm in enumerate(times):
        f = 1.0 - EF_TRUE * (1.0 - np.cos(2 * np.pi * tm / RR_MS)) / 2.0
        for z, rc_ed in R_CAV.items():
            thick = (np.vectorize(lambda s: SEG_T[s])(expected_segment(phi, LEVEL_OF[z]))
                     if segment_thickness else WALL_T)
            rc = rc_ed * np.sqrt(f)
            ro = np.sqrt(rc**2 + (rc_ed + thick) ** 2 - rc_ed**2)
            sl = labels[t, z]
            sl[r < ro] = 2
            sl[r < rc] = 1
            if z in RV_Z:
                ro_ed_mean = rc_ed + WALL_T
                a_rv_ed = np.pi / 3 * ((ro_ed_mean + RV_WIDTH_ED) ** 2 - ro_ed_mean**2)
                a_rv = a_rv_ed - np.pi * rc_ed**2 * (1 - f)
                k = 3 * a_rv / np.pi
                sl[(dang <= 60.0) & (r >= ro) & (r**2 < ro**2 + k)] = 3
        labels[t, APEX_Z][r < APEX_R] = 2
    image = Image.from_array(
        np.zeros(labels.shape, np.float32), spacing, origin=(-30.0, 12.0, 80.0), direction=direction,
        frame_times_ms=times, series_uid="1.2.826.0.1.3680043.8.498.1", meta=dict(meta or {}),
    )
    ph.image, ph.labels = image, labels
    return ph


def analytic_lv_volume_ml(t_ms: float, spacing=SPACING) -> float:
    f = 1.0 - EF_TRUE * (1.0 - np.cos(2 * np.pi * t_ms / RR_MS)) / 2.0
    return sum(np.pi * rc**2 * f for rc in R_CAV.values()) * spacing[0] / 1000.0


def test_phantom_is_well_formed():
    ph = make_phantom()
    assert ph.labels.shape == (N_PHASES,) + SHAPE
    assert set(np.unique(ph.labels)) == {0, 1, 2, 3}
    assert not ph.labels[:, [0, 10, 11]].any()
    # The anterior insertion is more anterior (smaller LPS y) than the inferior one.
    assert ph.sense in (1, -1)

"""AHA 17-segment model for short-axis stacks.

Source: Cerqueira MD, Weissman NJ, Dilsizian V, et al. Standardized myocardial
segmentation and nomenclature for tomographic imaging of the heart. *Circulation*
2002;105:539–542. doi:10.1161/hc0402.102975.

Rules implemented here (stated so that a reader can check them):

* **Levels.** The slices that contain LV myocardium at the given phase form the LV extent.
  Starting from the apical end, slices with myocardium but *no* LV cavity are the apex cap
  (segment 17). The remaining slices are split base → apex into three groups of (near)
  equal slice count (``numpy.array_split``; the basal group takes a remainder first):
  basal (1–6), mid (7–12), apical (13–16).
* **Which end is basal** is taken from anatomy, not from the slice order: the end whose
  half of the extent holds the larger LV cavity volume is basal (the cavity tapers to the
  apex). It can be forced with ``base_first``.
* **Orientation.** In each slice the RV insertion points are the two ends of the arc where
  RV cavity touches LV myocardium, seen from the LV cavity centroid (the complement of the
  largest angular gap between contact voxels). Of the two, the **anterior** insertion is the
  one with the smaller LPS *y* (LPS *y* grows toward Posterior). The septum is the arc
  between them that contains the RV. Slices without RV (or with an ambiguous anterior
  decision, |ΔP| < 1 mm) use the stack's consensus frame (circular mean of the anterior
  angle, majority direction). Insertion points may instead be given in LPS.
* **Angles.** φ is measured in the slice plane (true mm/degrees) from the anterior
  insertion, increasing *toward the septum* (anterior → septum → inferior). This is the
  counter-clockwise direction of the standard short-axis view, but it is derived from the
  anatomy, so it does not depend on image orientation or handedness.
  Basal and mid: 6 × 60° — φ∈[0,60) anteroseptal (2/8), [60,120) inferoseptal (3/9),
  [120,180) inferior (4/10), [180,240) inferolateral (5/11), [240,300) anterolateral (6/12),
  [300,360) anterior (1/7). Apical: 4 × 90° centred on the mid-septum (φ = 60°):
  [15,105) septal (14), [105,195) inferior (15), [195,285) lateral (16), [285,375) anterior (13).
  With ``origin="septal_bisector"`` φ is shifted so that the bisector of the measured
  insertion arc falls at 60° (useful when the septal arc is far from 120°).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Sequence

import numpy as np
from scipy import ndimage

from heartprint.anatomy._plane import SlicePlane, mask_ab
from heartprint.errors import InvalidInputError
from heartprint.labels import LV_CAVITY, LV_MYOCARDIUM, RV_CAVITY

__all__ = [
    "AHA_SEGMENT_NAMES",
    "AHA_REFERENCE",
    "AHASegmentation",
    "SliceFrame",
    "aha_segments",
    "rv_insertion_points",
    "segment_of_angle",
]

AHA_REFERENCE = (
    "Cerqueira MD et al. Standardized myocardial segmentation and nomenclature for tomographic "
    "imaging of the heart. Circulation 2002;105:539-542. doi:10.1161/hc0402.102975"
)

AHA_SEGMENT_NAMES: dict[int, str] = {
    1: "basal anterior", 2: "basal anteroseptal", 3: "basal inferoseptal", 4: "basal inferior",
    5: "basal inferolateral", 6: "basal anterolateral",
    7: "mid anterior", 8: "mid anteroseptal", 9: "mid inferoseptal", 10: "mid inferior",
    11: "mid inferolateral", 12: "mid anterolateral",
    13: "apical anterior", 14: "apical septal", 15: "apical inferior", 16: "apical lateral",
    17: "apex",
}

# φ-sector tables (φ from the anterior insertion toward the septum, degrees).
_SIX = (2, 3, 4, 5, 6, 1)  # sectors [0,60), [60,120), ... for basal; +6 for mid
_FOUR = (14, 15, 16, 13)  # sectors of 90° starting at φ = 15°
_APICAL_START = 15.0
_AMBIGUOUS_DP_MM = 1.0

Level = Literal["basal", "mid", "apical", "apex"]


def segment_of_angle(phi_deg: np.ndarray | float, level: Level) -> np.ndarray:
    """AHA segment number(s) for angle(s) φ (degrees from the anterior insertion toward the septum)."""
    phi = np.mod(np.asarray(phi_deg, dtype=float), 360.0)
    if level in ("basal", "mid"):
        k = np.minimum((phi // 60.0).astype(int), 5)
        seg = np.asarray(_SIX)[k]
        return seg + (6 if level == "mid" else 0)
    if level == "apical":
        k = np.minimum((np.mod(phi - _APICAL_START, 360.0) // 90.0).astype(int), 3)
        return np.asarray(_FOUR)[k]
    if level == "apex":
        return np.full(phi.shape, 17)
    raise InvalidInputError(f"level={level!r}: expected basal, mid, apical or apex")


@dataclass(frozen=True)
class SliceFrame:
    """Angular frame of one slice: centre (in-plane mm), anterior-insertion angle, direction."""

    z: int
    centre_ab: np.ndarray
    anterior_angle_deg: float
    direction: int  # +1 or -1: sign turning from the anterior insertion toward the septum
    septal_arc_deg: float  # measured arc between insertions through the septum (nan if unknown)
    source: str  # "labels", "input" or "consensus"
    anterior_lps: np.ndarray | None = None
    inferior_lps: np.ndarray | None = None

    def phi(self, ab: np.ndarray, *, origin: str = "anterior_insertion") -> np.ndarray:
        d = np.atleast_2d(ab) - self.centre_ab
        theta = np.degrees(np.arctan2(d[:, 1], d[:, 0]))
        return self.phi_of_theta(theta, origin=origin)

    def phi_of_theta(self, theta_deg: np.ndarray, *, origin: str = "anterior_insertion") -> np.ndarray:
        phi = np.mod(self.direction * (np.asarray(theta_deg) - self.anterior_angle_deg), 360.0)
        if origin == "septal_bisector" and np.isfinite(self.septal_arc_deg):
            phi = np.mod(phi - (self.septal_arc_deg / 2.0 - 60.0), 360.0)
        return phi


@dataclass
class AHASegmentation:
    """Result of :func:`aha_segments`.

    Attributes
    ----------
    segments
        ``(z, y, x)`` int8: AHA segment 1–17 of each LV-myocardium voxel, 0 elsewhere.
    levels
        slice index → ``"basal" | "mid" | "apical" | "apex"`` for slices with myocardium.
    base_first
        True when slice 0 is at the base.
    frames
        slice index → :class:`SliceFrame` (angular frame used).
    origin
        ``"anterior_insertion"`` or ``"septal_bisector"``.
    notes
        Plain-language notes (slices using the consensus frame, etc.).
    """

    segments: np.ndarray
    levels: dict[int, str]
    base_first: bool
    frames: dict[int, SliceFrame]
    origin: str
    notes: list[str] = field(default_factory=list)

    def level_slices(self, level: str) -> list[int]:
        return sorted(z for z, lv in self.levels.items() if lv == level)


def _centre(plane: SlicePlane, lab2d: np.ndarray) -> np.ndarray | None:
    for mask in (lab2d == LV_CAVITY, (lab2d == LV_CAVITY) | (lab2d == LV_MYOCARDIUM)):
        if mask.any():
            return mask_ab(plane, mask)[1].mean(axis=0)
    return None


def rv_insertion_points(
    affine: np.ndarray, labels3d: np.ndarray, z: int
) -> tuple[np.ndarray, np.ndarray, float, float] | None:
    """RV insertion points of slice ``z`` from the labels.

    Returns ``(anterior_lps, inferior_lps, anterior_angle_deg, inferior_angle_deg)`` — LPS
    mm of the two ends of the RV–LV-myocardium contact arc (voxel centres on the myocardial
    side) and their in-plane angles about the LV cavity centroid — or ``None`` when the slice
    has no RV or no LV. If the RV does not touch the myocardium, the angular extent of the
    RV cavity itself is used.
    """
    plane = SlicePlane.from_affine(np.asarray(affine, dtype=float))
    lab = np.asarray(labels3d[z])
    rv = lab == RV_CAVITY
    myo = lab == LV_MYOCARDIUM
    centre = _centre(plane, lab)
    if centre is None or not rv.any():
        return None
    contact = myo & ndimage.binary_dilation(rv, structure=np.ones((3, 3), bool))
    pts_mask = contact if contact.sum() >= 2 else rv
    yx, ab = mask_ab(plane, pts_mask)
    d = ab - centre
    theta = np.degrees(np.arctan2(d[:, 1], d[:, 0]))
    order = np.argsort(theta)
    ts = theta[order]
    gaps = np.diff(np.concatenate([ts, ts[:1] + 360.0]))
    g = int(np.argmax(gaps))
    i_start = order[(g + 1) % len(ts)]  # first voxel after the largest gap
    i_end = order[g]  # last voxel before it
    p_start = plane.lps(z, yx[i_start])[0]
    p_end = plane.lps(z, yx[i_end])[0]
    if p_start[1] <= p_end[1]:
        return p_start, p_end, float(theta[i_start]), float(theta[i_end])
    return p_end, p_start, float(theta[i_end]), float(theta[i_start])


def _frame_from_points(
    plane: SlicePlane, z: int, centre: np.ndarray, ant_ab: np.ndarray, inf_ab: np.ndarray, rv_ab: np.ndarray | None
) -> tuple[float, int, float]:
    ta = float(np.degrees(np.arctan2(*(ant_ab - centre)[::-1])))
    ti = float(np.degrees(np.arctan2(*(inf_ab - centre)[::-1])))
    if rv_ab is not None:
        tr = float(np.degrees(np.arctan2(*(rv_ab - centre)[::-1])))
        direction = 1 if np.mod(tr - ta, 360.0) < np.mod(ti - ta, 360.0) else -1
    else:  # no RV mass to tell the septal side: take the shorter arc as the septum
        direction = 1 if np.mod(ti - ta, 360.0) <= 180.0 else -1
    arc = float(np.mod(direction * (ti - ta), 360.0))
    return ta, direction, arc


def _rv_side_ab(plane: SlicePlane, lab: np.ndarray) -> np.ndarray | None:
    rv = lab == RV_CAVITY
    return mask_ab(plane, rv)[1].mean(axis=0) if rv.any() else None


def _levels(labels3d: np.ndarray, voxel_mm3: float, base_first: bool | None) -> tuple[dict[int, str], bool]:
    myo_z = [z for z in range(labels3d.shape[0]) if (labels3d[z] == LV_MYOCARDIUM).any()]
    if not myo_z:
        return {}, True if base_first is None else base_first
    zs = list(range(min(myo_z), max(myo_z) + 1))
    cav = np.array([(labels3d[z] == LV_CAVITY).sum() for z in zs], dtype=float) * voxel_mm3
    if base_first is None:
        half = len(zs) // 2
        first, last = cav[:half].sum(), cav[len(zs) - half :].sum()
        base_first = bool(first >= last)
    ordered = zs if base_first else zs[::-1]  # base → apex
    has_myo = {z: (labels3d[z] == LV_MYOCARDIUM).any() for z in ordered}
    has_cav = {z: (labels3d[z] == LV_CAVITY).any() for z in ordered}
    levels: dict[int, str] = {}
    body = [z for z in ordered if has_myo[z]]
    while body and not has_cav[body[-1]]:
        levels[body.pop()] = "apex"
    for name, group in zip(("basal", "mid", "apical"), np.array_split(np.array(body, dtype=int), 3)):
        for z in group:
            levels[int(z)] = name
    return levels, base_first


def aha_segments(
    affine: np.ndarray,
    labels3d: np.ndarray,
    *,
    insertion_points_lps: Sequence[Sequence[float]] | None = None,
    origin: Literal["anterior_insertion", "septal_bisector"] = "anterior_insertion",
    base_first: bool | None = None,
) -> AHASegmentation:
    """Assign each LV-myocardium voxel of a short-axis stack its AHA segment (1–17).

    Parameters
    ----------
    affine
        4×4 index ``(z, y, x, 1)`` → LPS mm affine of the stack (``Image.affine``).
    labels3d
        ``(z, y, x)`` label map in the heartprint convention (:mod:`heartprint.labels`),
        normally the end-diastolic phase.
    insertion_points_lps
        Optional ``(anterior, inferior)`` RV insertion points in LPS mm, used for every slice
        (each is projected onto the slice plane). Default: found per slice from the labels.
    origin
        Angle origin, see the module docstring.
    base_first
        Force the slice order (True: slice 0 is basal). Default: from the cavity taper.

    Raises
    ------
    InvalidInputError
        If the labels are not 3-D, or no orientation can be found (no RV in any slice and no
        insertion points given).
    """
    labels3d = np.asarray(labels3d)
    affine = np.asarray(affine, dtype=float)
    if labels3d.ndim != 3:
        raise InvalidInputError(f"labels3d shape {labels3d.shape}: expected (z, y, x)")
    if origin not in ("anterior_insertion", "septal_bisector"):
        raise InvalidInputError(f"origin={origin!r}: expected 'anterior_insertion' or 'septal_bisector'")
    plane = SlicePlane.from_affine(affine)
    voxel_mm3 = float(abs(np.linalg.det(affine[:3, :3])))
    levels, base_first = _levels(labels3d, voxel_mm3, base_first)
    notes: list[str] = []
    frames: dict[int, SliceFrame] = {}
    pending: list[tuple[int, np.ndarray]] = []
    for z in sorted(levels):
        lab = labels3d[z]
        centre = _centre(plane, lab)
        if centre is None:
            continue
        if insertion_points_lps is not None:
            ant, inf = (np.asarray(p, dtype=float) for p in insertion_points_lps)
            ab = plane.project_lps(z, np.stack([ant, inf]))
            ta, direction, arc = _frame_from_points(plane, z, centre, ab[0], ab[1], _rv_side_ab(plane, lab))
            frames[z] = SliceFrame(z, centre, ta, direction, arc, "input", ant, inf)
            continue
        found = rv_insertion_points(affine, labels3d, z)
        if found is None or abs(found[0][1] - found[1][1]) < _AMBIGUOUS_DP_MM:
            pending.append((z, centre))
            continue
        ant, inf, _, _ = found
        ab = plane.project_lps(z, np.stack([ant, inf]))
        ta, direction, arc = _frame_from_points(plane, z, centre, ab[0], ab[1], _rv_side_ab(plane, lab))
        frames[z] = SliceFrame(z, centre, ta, direction, arc, "labels", ant, inf)
    if pending:
        if not frames:
            raise InvalidInputError(
                "AHA segmentation: no RV cavity (label RV_CAVITY) touching the LV in any slice and no "
                "insertion_points_lps given; cannot orient the segments"
            )
        angs = np.radians([f.anterior_angle_deg for f in frames.values()])
        mean_ta = float(np.degrees(np.arctan2(np.sin(angs).mean(), np.cos(angs).mean())))
        direction = 1 if sum(f.direction for f in frames.values()) >= 0 else -1
        arcs = [f.septal_arc_deg for f in frames.values() if np.isfinite(f.septal_arc_deg)]
        arc = float(np.median(arcs)) if arcs else float("nan")
        for z, centre in pending:
            frames[z] = SliceFrame(z, centre, mean_ta, direction, arc, "consensus")
        notes.append(
            "slices " + ", ".join(str(z) for z, _ in pending) + " have no usable RV insertion points; "
            "the stack's consensus orientation was used"
        )
    segments = np.zeros(labels3d.shape, dtype=np.int8)
    for z, frame in frames.items():
        myo = labels3d[z] == LV_MYOCARDIUM
        if not myo.any():
            continue
        yx, ab = mask_ab(plane, myo)
        seg = segment_of_angle(frame.phi(ab, origin=origin), levels[z])  # type: ignore[arg-type]
        segments[z][tuple(yx.T)] = seg
    return AHASegmentation(segments, levels, base_first, frames, origin, notes)

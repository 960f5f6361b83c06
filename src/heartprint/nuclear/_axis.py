"""Left-ventricular localisation and long-axis reorientation of a perfusion volume.

Conventions (issue-19 nuclear contract): patient coordinates are DICOM LPS millimetres. The LV
frame is an :class:`LVAxis`: ``apex_lps`` (long axis ∩ mid-wall of the apical myocardium),
``base_lps`` (centre of the basal/valve plane on the long axis), ``anterior`` (the patient's
anterior ``(0, −1, 0)`` projected onto the plane ⟂ long axis) and ``septal`` (the patient's
right ``(−1, 0, 0)`` projected onto the plane ⟂ long axis and ⟂ anterior). Polar angle θ:
0° anterior, 90° septal, 180° inferior, 270° lateral; a direction at angle θ in a short-axis
plane is ``cos θ · anterior + sin θ · septal``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

from heartprint.errors import InvalidInputError
from heartprint.image import Image

__all__ = ["LVAxis", "AxisFit", "find_lv_axis", "reorient", "summed_volume"]

_PATIENT_ANTERIOR = np.array([0.0, -1.0, 0.0])
_PATIENT_RIGHT = np.array([-1.0, 0.0, 0.0])
# Least sine of the angle between the long axis and the patient's anterior direction for which
# "anterior" is still defined (≈ 5.7°).
_MIN_SINE = 0.1


def _vec3(v: Any, name: str) -> np.ndarray:
    arr = np.asarray(v, dtype=float).reshape(-1)
    if arr.shape != (3,) or not np.all(np.isfinite(arr)):
        raise InvalidInputError(f"{name}={v!r}: expected 3 finite LPS numbers (mm)")
    return arr


@dataclass(frozen=True, eq=False)
class LVAxis:
    """The LV coordinate frame (all vectors LPS; points in mm).

    Attributes
    ----------
    apex_lps
        (3,) apex: where the long axis meets the mid-wall of the apical myocardium.
    base_lps
        (3,) centre of the basal (valve) plane on the long axis.
    anterior
        (3,) unit vector ⟂ long axis toward the anterior wall (12 o'clock on a polar map).
    septal
        (3,) unit vector ⟂ long axis and ⟂ anterior toward the septum (9 o'clock).
    """

    apex_lps: np.ndarray
    base_lps: np.ndarray
    anterior: np.ndarray
    septal: np.ndarray

    def __post_init__(self) -> None:
        apex = _vec3(self.apex_lps, "apex_lps")
        base = _vec3(self.base_lps, "base_lps")
        ant = _vec3(self.anterior, "anterior")
        sep = _vec3(self.septal, "septal")
        length = float(np.linalg.norm(base - apex))
        if length < 1.0:
            raise InvalidInputError(f"apex_lps={apex.tolist()} and base_lps={base.tolist()}: expected ≥ 1 mm apart")
        la = (base - apex) / length
        for name, v in (("anterior", ant), ("septal", sep)):
            if abs(np.linalg.norm(v) - 1.0) > 1e-3:
                raise InvalidInputError(f"{name}={v.tolist()}: expected a unit vector")
            if abs(float(v @ la)) > 1e-3:
                raise InvalidInputError(f"{name}={v.tolist()}: expected ⟂ to the long axis {la.tolist()}")
        if abs(float(ant @ sep)) > 1e-3:
            raise InvalidInputError(f"anterior={ant.tolist()}, septal={sep.tolist()}: expected orthogonal")
        for name, v in (("apex_lps", apex), ("base_lps", base), ("anterior", ant), ("septal", sep)):
            v.setflags(write=False)
            object.__setattr__(self, name, v)

    @property
    def long_axis(self) -> np.ndarray:
        """Unit vector apex → base (LPS)."""
        d = self.base_lps - self.apex_lps
        return d / np.linalg.norm(d)

    @property
    def length_mm(self) -> float:
        """Apex-to-base distance (mm)."""
        return float(np.linalg.norm(self.base_lps - self.apex_lps))

    def direction(self, theta_deg: np.ndarray | float) -> np.ndarray:
        """Unit in-plane direction(s) at polar angle θ (deg): ``cos θ·anterior + sin θ·septal``; shape (..., 3)."""
        th = np.deg2rad(np.asarray(theta_deg, dtype=float))[..., None]
        return np.cos(th) * self.anterior + np.sin(th) * self.septal

    def to_dict(self) -> dict[str, list[float]]:
        return {
            "apex_lps": self.apex_lps.tolist(),
            "base_lps": self.base_lps.tolist(),
            "anterior": self.anterior.tolist(),
            "septal": self.septal.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "LVAxis":
        try:
            return cls(d["apex_lps"], d["base_lps"], d["anterior"], d["septal"])
        except KeyError as exc:
            raise InvalidInputError(f"LVAxis dict {d!r}: missing key {exc}") from exc

    @classmethod
    def from_points(cls, apex_lps: Any, base_lps: Any) -> "LVAxis":
        """Frame from the apex and base points; ``anterior``/``septal`` from the patient frame (contract).

        Raises :class:`InvalidInputError` when the long axis is within ≈ 5.7° of the patient's
        anterior–posterior direction (anterior undefined). When the patient's right lies in the
        plane of the long axis and anterior (long axis exactly transaxial), ``septal`` is taken as
        ``long_axis × anterior``'s sign-matched partner of the normal anatomy (``anterior × long_axis``).
        """
        apex = _vec3(apex_lps, "apex_lps")
        base = _vec3(base_lps, "base_lps")
        d = base - apex
        n = float(np.linalg.norm(d))
        if n < 1.0:
            raise InvalidInputError(f"apex_lps={apex.tolist()} and base_lps={base.tolist()}: expected ≥ 1 mm apart")
        la = d / n
        ant = _PATIENT_ANTERIOR - (_PATIENT_ANTERIOR @ la) * la
        if np.linalg.norm(ant) < _MIN_SINE:
            raise InvalidInputError(
                f"long axis {la.round(3).tolist()} is (nearly) parallel to the patient's anterior direction "
                "(0, -1, 0): the anterior wall is undefined"
            )
        ant /= np.linalg.norm(ant)
        perp = np.cross(la, ant)  # unit, ⟂ both
        s = float(_PATIENT_RIGHT @ perp)
        if abs(s) < 1e-9:
            # normal anatomy (apex left-anterior-inferior) gives septal = anterior × long_axis
            sep = np.cross(ant, la)
        else:
            sep = perp if s > 0 else -perp
        return cls(apex, base, ant, sep / np.linalg.norm(sep))


@dataclass
class AxisFit:
    """Result of :func:`find_lv_axis`: the axis, quality measures and warnings (plain strings)."""

    axis: LVAxis
    quality: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"axis": self.axis.to_dict(), "quality": dict(self.quality), "warnings": list(self.warnings)}


def summed_volume(image: Image) -> np.ndarray:
    """The (z, y, x) float counts of a perfusion image; a gated (t, z, y, x) image is summed over gates."""
    arr = np.asarray(image.array, dtype=float)
    if arr.ndim == 4:
        arr = arr.sum(axis=0)
    if not np.all(np.isfinite(arr)):
        raise InvalidInputError("perfusion image contains non-finite counts: expected finite values")
    return arr


def _robust_max(sm: np.ndarray) -> float:
    """99.5th percentile of the voxels above 25 % of the maximum of a smoothed volume.

    The percentile is taken over the bright voxels only because the heart fills < 0.5 % of a
    typical SPECT field of view, so a whole-volume 99.5th percentile would fall in background.
    """
    top = float(sm.max())
    if top <= 0:
        raise InvalidInputError("perfusion image has no positive counts: expected a tracer distribution")
    return float(np.percentile(sm[sm >= 0.25 * top], 99.5))


def _line_fit(pts: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted principal line (centre, unit direction) through points."""
    m = (pts * w[:, None]).sum(0) / w.sum()
    d = pts - m
    cov = (d * w[:, None]).T @ d / w.sum()
    vals, vecs = np.linalg.eigh(cov)
    return m, vecs[:, -1]


def _refine_by_rings(pts: np.ndarray, w: np.ndarray, centre: np.ndarray, u: np.ndarray, bin_mm: float = 4.0,
                     n_iter: int = 3, trim: float = 0.2) -> tuple[np.ndarray, np.ndarray, float]:
    """Refine an axis (centre, u) so that it passes through the centres of circles fitted to short-axis slabs.

    Each 4-mm slab of the central part (``trim`` of the extent dropped at each end: the oblique
    basal cut and the apical cap bias the fit) gets a count-weighted algebraic circle fit (Kåsa
    1976) in the plane ⟂ u; a circle fit to an arc stays centred when part of the wall is missing
    (a perfusion defect), unlike a centroid. The axis is the weighted principal line through the
    circle centres. Returns (centre, u, score) where score is the count-weighted mean within-slab
    variance of the radial distance from the axis (mm²): small for a shell of revolution.
    """
    score = np.inf
    for it in range(n_iter + 1):
        e1 = np.cross(u, [1.0, 0.0, 0.0] if abs(u[0]) < 0.9 else [0.0, 1.0, 0.0])
        e1 /= np.linalg.norm(e1)
        e2 = np.cross(u, e1)
        d = pts - centre
        s = d @ u
        x, y = d @ e1, d @ e2
        b = np.floor((s - s.min()) / bin_mm).astype(int)
        nb = int(b.max()) + 1
        wsum = np.bincount(b, weights=w, minlength=nb)
        r = np.hypot(x, y)
        rm = np.bincount(b, weights=w * r, minlength=nb) / np.maximum(wsum, 1e-12)
        rv = np.bincount(b, weights=w * (r - rm[b]) ** 2, minlength=nb) / np.maximum(wsum, 1e-12)
        score = float((rv * wsum).sum() / wsum.sum())
        pos = (np.arange(nb) + 0.5) * bin_mm + s.min()
        lo_s, hi_s = np.percentile(s, [3, 97])
        central = (pos > lo_s + trim * (hi_s - lo_s)) & (pos < hi_s - trim * (hi_s - lo_s))
        ok = (wsum > 0.02 * wsum.max()) & central
        if it == n_iter or ok.sum() < 3:
            break
        # Kåsa fit per slab: x² + y² + D x + E y + F = 0, weighted normal equations from bincounts
        q = x ** 2 + y ** 2
        cols = (x, y, np.ones_like(x))
        A = np.empty((nb, 3, 3))
        rhs = np.empty((nb, 3))
        for i in range(3):
            rhs[:, i] = -np.bincount(b, weights=w * q * cols[i], minlength=nb)
            for j in range(3):
                A[:, i, j] = np.bincount(b, weights=w * cols[i] * cols[j], minlength=nb)
        A, rhs = A[ok], rhs[ok]
        good = np.abs(np.linalg.det(A)) > 1e-9
        if good.sum() < 3:
            break
        sol = np.linalg.solve(A[good], rhs[good][..., None])[..., 0]
        cx, cy = -sol[:, 0] / 2, -sol[:, 1] / 2
        cen = centre + pos[ok][good, None] * u + cx[:, None] * e1 + cy[:, None] * e2
        c_new, u_new = _line_fit(cen, wsum[ok][good])
        if u_new @ u < 0:
            u_new = -u_new
        centre, u = c_new, u_new
    return centre, u, score


def _sample(vol: np.ndarray, image: Image, pts_lps: np.ndarray) -> np.ndarray:
    """Linear interpolation of a (z, y, x) volume at LPS points (..., 3); 0 outside."""
    idx = image.lps_to_index(pts_lps.reshape(-1, 3)).T
    vals = ndimage.map_coordinates(vol, idx, order=1, mode="constant", cval=0.0)
    return vals.reshape(pts_lps.shape[:-1])


def _components(sm: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, int, list[tuple[int, float, float]]]:
    """Label a mask (26-connectivity); return labels, count and (label, counts, cavity contrast) of the
    components holding ≥ 5 % of the largest one's counts. Cavity contrast = smoothed count at the
    count-weighted centroid / the component's mean count (< 0.7: hollow)."""
    lab, n = ndimage.label(mask, structure=np.ones((3, 3, 3), bool))
    if n == 0:
        return lab, 0, []
    ids = np.arange(1, n + 1)
    counts = np.asarray(ndimage.sum(sm, lab, ids))
    sizes = np.bincount(lab.ravel(), minlength=n + 1)[1:]
    cands = []
    for i in ids[counts >= 0.05 * counts.max()]:  # a handful of components, not voxels
        cen_idx = np.asarray(ndimage.center_of_mass(sm, lab, int(i)))
        c_val = float(ndimage.map_coordinates(sm, cen_idx[:, None], order=1)[0])
        mean_val = float(counts[i - 1] / sizes[i - 1])
        cands.append((int(i), float(counts[i - 1]), c_val / mean_val))
    return lab, int(n), cands


def find_lv_axis(
    image: Image,
    *,
    myocardium_threshold: float = 0.5,
    smooth_fwhm_mm: float = 8.0,
    override: LVAxis | None = None,
) -> AxisFit:
    """Locate the LV in a transaxial perfusion volume and fit its long axis.

    Method
    ------
    1. Counts: the (z, y, x) volume (a gated image is summed over gates), smoothed with a
       Gaussian of ``smooth_fwhm_mm``.
    2. Myocardium: voxels ≥ ``myocardium_threshold`` × robust maximum (99.5th percentile of the
       voxels above 25 % of the smoothed maximum); connected components (26-connectivity).
    3. Choice of component (rule): among components holding ≥ 5 % of the largest component's
       counts, the *shell-like* ones (count at the count-weighted centroid < 0.7 × the
       component's mean count: a hollow LV has its centroid in the cavity; liver, gut and a
       filled blob do not) are preferred, and of these the one with the most counts wins. With
       no shell-like component the global level is lowered (×0.7, ×0.5, ×0.35) — hot liver or gut
       can hold the image maximum — and the first hollow component found is re-thresholded at
       ``myocardium_threshold`` of its own robust maximum (with a warning); if none appears, the
       component with the most counts is used and a warning given.
    4. Long axis: for each eigenvector of the count-weighted covariance of the component the
       axis is refined to pass through the centres of circles fitted to 4-mm short-axis slabs
       (robust to a perfusion defect removing part of a ring); the candidate
       whose slabs have the least radial spread (a shell of revolution) is kept.
    5. Apex vs base: the end whose voxels lie nearer the axis (mean radial distance) is the
       closed apical end. The apex point is the count maximum along the axis beyond the cavity
       (the apical mid-wall; blur pulls this maximum into the cavity where the cap is strongly
       curved: ≈ 3–4 mm inside the true mid-wall at FWHM 15 mm on the test shells). The base is where the mean over 24 angles of the ray-maximum count
       on short-axis planes falls below 50 % of its 90th percentile (for a blurred wall that
       ends at a plane, the 50 % point lies at the plane).
    6. ``anterior``/``septal`` from the patient frame (:meth:`LVAxis.from_points`).

    ``quality`` holds ``source`` ("auto"), ``explained_count_fraction`` (counts of the chosen
    component / counts of all supra-threshold voxels at the level used), ``cavity_contrast`` (centroid count /
    component mean count; < 0.7 = hollow), ``shell_roundness`` (min/max transverse
    count-weighted variance, 1 = circular), ``radial_spread_mm`` (RMS within-slab radial spread),
    ``apical_closure`` (mean radius at the apical end / mid radius), ``axis_length_mm`` and
    ``n_components``. Warnings flag: no closed end, length < 40 mm or > 150 mm, component
    touching the image border, several shell-like candidates of similar counts, no cavity,
    and an apex that is not toward the patient's left.

    ``override``: a user-supplied axis, returned unchanged with ``quality == {"source": "user"}``.
    """
    if override is not None:
        if not isinstance(override, LVAxis):
            raise InvalidInputError(f"override={override!r}: expected an LVAxis or None")
        return AxisFit(override, {"source": "user"}, [])
    if not 0.05 <= myocardium_threshold <= 0.95:
        raise InvalidInputError(f"myocardium_threshold={myocardium_threshold!r}: expected a fraction in [0.05, 0.95]")
    vol = summed_volume(image)
    if min(vol.shape) < 3:
        raise InvalidInputError(f"perfusion volume shape {vol.shape}: expected ≥ 3 voxels along each axis")
    spacing = np.array(image.spacing)
    sigma = smooth_fwhm_mm / 2.3548 / spacing
    sm = ndimage.gaussian_filter(vol, sigma, mode="constant")
    rmax = _robust_max(sm)
    warnings: list[str] = []
    # Hot extracardiac activity (liver, gut) can hold the global maximum: lower the global level
    # step by step until a hollow component appears, then re-threshold it on its own maximum.
    levels = [myocardium_threshold * f for f in (1.0, 0.7, 0.5, 0.35)]
    for level in levels:
        mask = sm >= level * rmax
        lab, n, cands = _components(sm, mask)
        if n == 0:
            raise InvalidInputError("no voxel above the myocardium threshold: expected a perfusion image")
        shell = [c for c in cands if c[2] < 0.7]
        if shell:
            break
    if shell:
        best = max(shell, key=lambda c: c[1])
        similar = [c for c in shell if c is not best and c[1] >= 0.7 * best[1]]
        if similar:
            warnings.append(
                f"{len(similar) + 1} shell-like candidate components of similar counts: the LV choice is doubtful"
            )
        if level < myocardium_threshold:
            warnings.append(
                f"extracardiac activity brighter than the myocardium: the LV was found at {100 * level:.0f} % of the "
                "image maximum instead of {:.0f} %".format(100 * myocardium_threshold)
            )
            comp0 = lab == best[0]
            own = float(np.percentile(sm[comp0], 99.5))
            lab2, _ = ndimage.label(sm >= myocardium_threshold * own, structure=np.ones((3, 3, 3), bool))
            hit = np.bincount(lab2[comp0], minlength=lab2.max() + 1)
            hit[0] = 0
            comp2 = lab2 == int(np.argmax(hit))
            if hit.max() > 0 and sm[comp2].sum() <= 3.0 * best[1]:  # not merged with the hot organ
                lab = np.where(comp2, best[0], 0)
                rmax = own
    else:
        lab, n, cands = _components(sm, sm >= myocardium_threshold * rmax)
        best = max(cands, key=lambda c: c[1])
        warnings.append("no hollow (cavity-containing) component found: the LV may not be a shell; axis doubtful")
    mask = lab > 0
    comp = lab == best[0]
    zz, yy, xx = np.nonzero(comp)
    idx = np.stack([zz, yy, xx], 1)
    touches = bool((idx.min(0) == 0).any() or (idx.max(0) == np.array(vol.shape) - 1).any())
    if touches:
        warnings.append("the LV component touches the image border: the heart may be truncated")
    pts = image.index_to_lps(idx)
    w = sm[zz, yy, xx]
    centre0 = (pts * w[:, None]).sum(0) / w.sum()
    d0 = pts - centre0
    cov = (d0 * w[:, None]).T @ d0 / w.sum()
    _, vecs = np.linalg.eigh(cov)
    fits = [_refine_by_rings(pts, w, centre0, vecs[:, k]) for k in range(3)]
    centre, u, score = min(fits, key=lambda f: f[2])
    # apex vs base: the closed end has its voxels near the axis
    s = (pts - centre) @ u
    r = np.linalg.norm(pts - centre - np.outer(s, u), axis=1)
    lo, hi = np.percentile(s, [3, 97])
    span = hi - lo
    end_lo = s < lo + 0.2 * span
    end_hi = s > hi - 0.2 * span
    mid = np.abs(s - (lo + hi) / 2) < 0.2 * span
    r_lo = float(np.average(r[end_lo], weights=w[end_lo])) if end_lo.any() else np.nan
    r_hi = float(np.average(r[end_hi], weights=w[end_hi])) if end_hi.any() else np.nan
    r_mid = float(np.average(r[mid], weights=w[mid])) if mid.any() else np.nan
    if r_hi < r_lo:  # make u point apex → base with the apex at low s
        u = -u
        s = -s
        lo, hi = -hi, -lo
        r_lo, r_hi = r_hi, r_lo
    closure = r_lo / r_mid if r_mid > 0 else np.nan
    # apex point: count maximum along the axis from the centre toward (and past) the apical end
    t = np.arange(0.0, -lo + 30.0, 0.5)
    prof = _sample(sm, image, centre[None, :] - t[:, None] * u[None, :])
    k_apex = int(np.argmax(prof))
    closed = bool(prof[k_apex] >= myocardium_threshold * rmax and prof[:k_apex + 1].min() < 0.8 * prof[k_apex])
    if not closed or not (closure < 0.75):
        warnings.append("no closed apical end found: apex/base orientation and apex position are doubtful")
    apex = centre - t[k_apex] * u
    # base: ring-maximum profile along the axis
    tt = np.arange(0.0, 170.0, 1.0)
    th = np.deg2rad(np.arange(0, 360, 15.0))
    e1 = np.cross(u, [1.0, 0.0, 0.0] if abs(u[0]) < 0.9 else [0.0, 1.0, 0.0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(u, e1)
    rr = np.arange(0.0, 50.0, 1.5)
    dirs = np.cos(th)[:, None] * e1 + np.sin(th)[:, None] * e2
    grid = (apex[None, None, None, :] + tt[:, None, None, None] * u
            + rr[None, None, :, None] * dirs[None, :, None, :])
    ring = _sample(sm, image, grid).max(axis=2).mean(axis=1)
    ref = float(np.percentile(ring, 90))
    k_peak = int(np.argmax(ring))
    below = np.nonzero(ring[k_peak:] < 0.5 * ref)[0]
    if below.size:
        k = k_peak + int(below[0])
        f0, f1 = ring[k - 1], ring[k]
        t_base = tt[k - 1] + (f0 - 0.5 * ref) / max(f0 - f1, 1e-12) * (tt[k] - tt[k - 1])
    else:
        t_base = float(tt[-1])
        warnings.append("the basal end of the myocardium was not found within 170 mm of the apex")
    length = float(t_base)
    if not 40.0 <= length <= 150.0:
        warnings.append(f"apex-to-base length {length:.0f} mm is implausible (expected 40–150 mm)")
    if u[0] > 0:
        warnings.append("the apex is not toward the patient's left of the base: check the orientation (dextrocardia?)")
    try:
        axis = LVAxis.from_points(apex, apex + max(length, 1.0) * u)
    except InvalidInputError as exc:
        raise InvalidInputError(f"automatic LV axis failed: {exc}") from exc
    # roundness in the LV frame
    dd = pts - centre
    p1, p2 = dd @ axis.anterior, dd @ axis.septal
    v1, v2 = np.average(p1 ** 2, weights=w), np.average(p2 ** 2, weights=w)
    total = float(vol[mask].sum())
    quality = {
        "source": "auto",
        "explained_count_fraction": float(vol[comp].sum() / total) if total > 0 else 0.0,
        "cavity_contrast": float(best[2]),
        "shell_roundness": float(min(v1, v2) / max(v1, v2)),
        "radial_spread_mm": float(np.sqrt(score)),
        "apical_closure": float(closure),
        "axis_length_mm": length,
        "n_components": int(n),
        "robust_max": rmax,
    }
    return AxisFit(axis, quality, warnings)


def reorient(
    image: Image,
    axis: LVAxis,
    *,
    spacing_mm: float | None = None,
    margin_mm: float = 20.0,
    half_width_mm: float = 60.0,
) -> Image:
    """Resample a perfusion image into the LV frame (short-axis stack).

    Output index ``(k, i, j)`` (or ``(t, k, i, j)`` for a gated image):

    * ``k`` runs along the long axis from apex to base (slice ``k`` at distance
      ``−margin_mm + k·spacing`` from the apex);
    * ``i`` (rows, top → bottom) runs along ``−anterior``: row 0 is the anterior side,
      the last row the inferior side;
    * ``j`` (columns, left → right) runs along ``−septal``: column 0 is the septal side,
      the last column the lateral side.

    So a displayed slice (row 0 at the top) shows anterior at 12 o'clock and the septum on the
    viewer's left — the standard short-axis display. The affine maps ``(k, i, j, 1)`` to LPS with
    direction columns ``(long_axis, −anterior, −septal)``, so the result is a valid
    :class:`Image` (its direction matrix may be left-handed). In-plane extent:
    ``±half_width_mm`` around the axis; along the axis from ``margin_mm`` beyond the apex to
    ``margin_mm`` beyond the base. Linear interpolation (scipy ``map_coordinates``), 0 outside.
    ``spacing_mm`` defaults to the smallest input spacing.
    """
    if not isinstance(axis, LVAxis):
        raise InvalidInputError(f"axis={axis!r}: expected an LVAxis")
    h = float(spacing_mm) if spacing_mm is not None else float(min(image.spacing))
    if not np.isfinite(h) or h <= 0:
        raise InvalidInputError(f"spacing_mm={spacing_mm!r}: expected a positive number of mm")
    n_k = int(np.ceil((axis.length_mm + 2 * margin_mm) / h)) + 1
    n_ij = int(np.ceil(2 * half_width_mm / h)) + 1
    direction = np.stack([axis.long_axis, -axis.anterior, -axis.septal], axis=1)
    # voxel (0, 0, 0): margin before the apex, on the anterior and septal corner of the slab
    origin = axis.apex_lps - margin_mm * axis.long_axis + half_width_mm * (axis.anterior + axis.septal)
    affine = np.eye(4)
    affine[:3, :3] = direction * h
    affine[:3, 3] = origin
    k, i, j = np.meshgrid(np.arange(n_k), np.arange(n_ij), np.arange(n_ij), indexing="ij")
    pts = np.stack([k, i, j], -1).reshape(-1, 3) @ affine[:3, :3].T + origin
    src_idx = image.lps_to_index(pts).T
    arr = np.asarray(image.array, dtype=float)
    if arr.ndim == 4:
        out = np.stack([ndimage.map_coordinates(a, src_idx, order=1, mode="constant", cval=0.0) for a in arr])
        out = out.reshape(arr.shape[0], n_k, n_ij, n_ij)
    else:
        out = ndimage.map_coordinates(arr, src_idx, order=1, mode="constant", cval=0.0).reshape(n_k, n_ij, n_ij)
    meta = dict(image.meta)
    meta["lv_frame"] = {
        "axis": axis.to_dict(),
        "index_order": "k: apex→base, i: anterior→inferior, j: septal→lateral",
    }
    return Image(out, affine, frame_times_ms=image.frame_times_ms if arr.ndim == 4 else None,
                 study_uid=image.study_uid, series_uid=image.series_uid, modality=image.modality,
                 kind=image.kind, meta=meta)

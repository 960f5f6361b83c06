"""Synthetic apical B-mode cine (4-, 2- or 3-chamber view) with speckle and a KNOWN longitudinal strain.

Geometry (all in mm; in-plane points are ``(y, x)`` = ``(row * dy, column * dx)``, y = depth)
-----------------------------------------------------------------------------------------------
The LV wall of an apical 4-chamber (A4C) view is a 2-D horseshoe band of myocardium around a
half-ellipse *midline*: apex at the top (near the transducer), the two basal ends (annulus
hinges) at the bottom.  The wall on the image's LEFT (smaller x) is called **septal**, the wall
on the RIGHT **lateral** (the usual A4C display with the LV on the right of the sector and its
septum towards the middle; ⚠ the left/right assignment is a convention of this phantom).
Each side is split, by arc length from the apex, into equal thirds: apical, mid and basal.
``view="a2c"`` / ``"a3c"`` draw the same geometry and deformation model with the walls of the
two-chamber (inferior left, anterior right) or apical long-axis view (inferolateral left,
anteroseptal right) instead (:data:`heartprint.anatomy.echo_views.VIEW_WALLS`), so that a
multi-view regional-strain combination can be checked against exact segmental answers.
A straight 5 mm continuation of the wall below each hinge (annulus / atrial wall) carries
speckle so that the hinges are not at the edge of the textured region.

Deformation (exact and known)
-----------------------------
A material point of the wall has coordinates ``(s, n)``: signed arc length ``s`` along the ED
midline from the apex (septal < 0 < lateral) and offset ``n`` along the outward normal.  At a
frame with segmental strain ``eps_k(t) = eps_k * f(t)`` (``f`` rises as ``(1 - cos(pi t/(T-1)))/2``
from 0 at ED to 1 at ES), the local longitudinal stretch is ``lambda(s) = 1 + eps(s)``
(piecewise constant per segment, smoothed with a 3 mm Gaussian so the wall does not tear at the
segment borders).  The deformed arc length is ``sigma(s) = int_0^s lambda``; each side of the
midline is the ED half-curve scaled about the FIXED apex by ``k = L_side(t) / L_side(0)`` and the
point sits at arc length ``sigma`` of it, so the base moves towards the apex and the walls
inwards.  With ``thickening=True`` the normal offset becomes ``n / lambda(s)`` (2-D
incompressibility: area element ``ds dn`` preserved).

Image formation
---------------
Point scatterers (``scatterers_per_mm2`` per mm² of wall, uniformly placed; Rayleigh amplitude,
uniform random phase) are splatted bilinearly onto the pixel grid as complex amplitudes and
convolved with an anisotropic Gaussian PSF (FWHM ``psf_axial_mm`` in depth, finer than
``psf_lateral_mm``); the envelope is the modulus (interference → fully developed speckle).
Speckle decorrelation: every scatterer's phase performs a random walk of ``decorrelation_rad``
per frame.  Thermal noise: complex Gaussian noise of RMS ``noise`` × the RMS myocardial echo,
added before envelope detection.  Log compression to ``dynamic_range_db`` (default 50 dB) and
scaling to [0, 1].  ⚠ Linear-array (Cartesian) geometry, no sector scan conversion, no RF carrier
(so axial motion changes no phase), no out-of-plane motion, no blood-pool speckle.

Truth
-----
``gls_percent``: Lagrangian strain ``(L_ES - L_ED) / L_ED`` × 100 of the polyline through the
ED endocardial contour's points mapped exactly by the deformation (the quantity a contour
tracker measures).  ``segment_strain_percent``: the same for each sixth (by ED arc length) of that
polyline (end points interpolated along the contour, as heartprint's tracker cuts its sixths).
``midline_gls_percent``: the same for the midline.  ``segment_gls_input``: the
requested segmental strains.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from heartprint.anatomy.echo_views import A4C_SEGMENTS, VIEW_SEGMENTS, VIEW_WALLS
from heartprint.errors import InvalidInputError

__all__ = ["A4C_SEGMENTS", "SpeckleCine", "make_speckle_cine"]

_FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


@dataclass(eq=False)
class SpeckleCine:
    """A synthetic A4C B-mode cine and its exact strain.

    Attributes
    ----------
    images
        ``(t, y, x)`` float B-mode images in [0, 1] (log-compressed), frame 0 = end-diastole,
        the last frame = end-systole.
    spacing_mm
        ``(dy, dx)`` pixel spacing in mm.
    frame_rate_hz
        Frames per second.
    ed_contour_mm
        ``(N, 2)`` ED endocardial contour, ``(y, x)`` mm, open: septal hinge → apex → lateral hinge.
    gls_percent
        Truth GLS (%) of that contour at ES (negative = shortening).
    segment_strain_percent
        Truth strain (%) of each sixth of the contour, keyed by the view's segment names
        (:data:`A4C_SEGMENTS` for A4C).
    midline_gls_percent
        Truth GLS (%) of the wall midline.
    segment_gls_input
        The requested segmental strains (%) at the midline.
    true_contours_mm
        ``(t, N, 2)`` the contour's points at every frame (exact).
    """

    images: NDArray[np.float64]
    spacing_mm: tuple[float, float]
    frame_rate_hz: float
    ed_contour_mm: NDArray[np.float64]
    gls_percent: float
    segment_strain_percent: dict[str, float]
    midline_gls_percent: float
    segment_gls_input: dict[str, float]
    true_contours_mm: NDArray[np.float64]
    meta: dict[str, float] = field(default_factory=dict)
    view: str = "a4c"


def _polyline_length(points: NDArray[np.float64]) -> NDArray[np.float64]:
    """Length (mm) of ``(..., N, 2)`` polylines."""
    return np.linalg.norm(np.diff(points, axis=-2), axis=-1).sum(axis=-1)


def _sixth_strains(tracks: NDArray[np.float64]) -> list[float]:
    """Lagrangian strain (%) of each sixth, by ED arc length, of ``(t, N, 2)`` polylines (ED → last).

    A sixth is the polyline through its two end points (interpolated along the contour index at
    the ED arc-length sixths) and the vertices between them, followed frame by frame.
    """
    cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(tracks[0], axis=0), axis=1))])
    idx = np.interp(np.linspace(0.0, cum[-1], 7), cum, np.arange(cum.size))
    out = []
    for fa, fb in zip(idx[:-1], idx[1:]):
        inner = np.arange(int(np.floor(fa)) + 1, int(np.ceil(fb)))

        def at(fi: float) -> NDArray[np.float64]:
            i0 = min(int(np.floor(fi)), cum.size - 2)
            return (1 - (fi - i0)) * tracks[:, i0] + (fi - i0) * tracks[:, i0 + 1]

        seg = np.concatenate([at(fa)[:, None], tracks[:, inner], at(fb)[:, None]], axis=1)
        ln = _polyline_length(seg)
        out.append(float(100.0 * (ln[-1] - ln[0]) / ln[0]))
    return out


def make_speckle_cine(
    *,
    n_frames: int = 25,
    frame_rate_hz: float = 50.0,
    gls_percent: float = -20.0,
    segment_gls: dict[str, float] | None = None,
    pixel_mm: float = 0.3,
    shape: tuple[int, int] = (256, 200),
    wall_mm: float = 7.0,
    psf_axial_mm: float = 0.5,
    psf_lateral_mm: float = 1.5,
    scatterers_per_mm2: float = 6.0,
    noise: float = 0.1,
    decorrelation_rad: float = 0.05,
    dynamic_range_db: float = 50.0,
    thickening: bool = True,
    n_contour: int = 61,
    seed: int = 0,
    view: str = "a4c",
) -> SpeckleCine:
    """Simulate an A4C B-mode speckle cine from ED to ES with known longitudinal strain.

    Parameters
    ----------
    n_frames
        Frames from ED (frame 0) to ES (last frame), ≥ 2.
    frame_rate_hz
        Frame rate (frames/s); only recorded (the strain time course is per frame).
    gls_percent
        Uniform segmental strain (%) at ES, used for every segment not in ``segment_gls``.
    segment_gls
        Optional ``{segment name: strain %}`` overriding single segments (names of the view:
        :data:`heartprint.anatomy.echo_views.VIEW_SEGMENTS`), e.g. ``{"apical lateral": -5.0}``
        for a regional defect in A4C.
    pixel_mm, shape
        Square pixel size (mm) and ``(rows, columns)``; the LV is scaled to the field of view.
    wall_mm
        ED wall thickness (mm).
    psf_axial_mm, psf_lateral_mm
        Gaussian PSF full widths at half maximum (mm) in depth and laterally.
    scatterers_per_mm2
        Scatterer density in the myocardium (per mm²).
    noise
        Thermal-noise RMS relative to the RMS myocardial echo amplitude.
    decorrelation_rad
        Per-frame random-walk step (rad) of each scatterer's phase.
    dynamic_range_db
        Displayed dynamic range (dB) of the log compression.
    thickening
        Thicken the wall as ``1 / stretch`` (2-D incompressibility).
    n_contour
        Points of the returned endocardial contour.
    seed
        Random seed.
    view
        ``"a4c"``, ``"a2c"`` or ``"a3c"``: which walls the two sides are (names only).
    """
    if int(n_frames) != n_frames or n_frames < 2:
        raise InvalidInputError(f"n_frames={n_frames!r}: expected an integer >= 2")
    if not (np.isfinite(frame_rate_hz) and frame_rate_hz > 0):
        raise InvalidInputError(f"frame_rate_hz={frame_rate_hz!r}: expected a finite number > 0")
    if view not in VIEW_SEGMENTS:
        raise InvalidInputError(f"view={view!r}: expected one of {sorted(VIEW_SEGMENTS)}")
    names_view = VIEW_SEGMENTS[view]
    segs = {name: float(gls_percent) for name in names_view}
    for name, value in (segment_gls or {}).items():
        if name not in segs:
            raise InvalidInputError(f"segment_gls key {name!r}: expected one of {names_view}")
        segs[name] = float(value)
    if not all(-60.0 < v < 60.0 for v in segs.values()):
        raise InvalidInputError(f"segmental strains {segs}: expected values in (-60, 60) %")
    if not (pixel_mm > 0 and len(shape) == 2 and min(shape) >= 32):
        raise InvalidInputError(f"pixel_mm={pixel_mm!r}, shape={shape!r}: expected > 0 mm and >= 32 x 32 pixels")
    rng = np.random.default_rng(seed)
    ny, nx = int(shape[0]), int(shape[1])
    h_mm, w_mm = ny * pixel_mm, nx * pixel_mm

    # --- ED midline: half-ellipse (apex at top) + straight 20 mm continuation below each hinge.
    apex_y = 0.08 * h_mm + wall_mm
    base_y = 0.80 * h_mm
    ly, ax, xc = base_y - apex_y, 0.33 * w_mm, 0.5 * w_mm
    if ly <= 2 * wall_mm or ax <= wall_mm:
        raise InvalidInputError(f"shape={shape!r} with pixel_mm={pixel_mm}: field of view too small for the LV")
    phi = np.linspace(0.0, np.pi / 2, 4001)  # one side (lateral: +x); septal mirrored
    half = np.stack([base_y - ly * np.cos(phi), xc + ax * np.sin(phi)], axis=1)
    ext = np.stack([base_y + np.linspace(0, 20.0, 401)[1:], np.full(400, xc + ax)], axis=1)
    half = np.concatenate([half, ext])
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(half, axis=0), axis=1))])
    l_side = float(arc[len(phi) - 1])  # apex → hinge arc length of one side
    tang = np.gradient(half, arc, axis=0)
    tang /= np.linalg.norm(tang, axis=1, keepdims=True)
    normal_lat = np.stack([-tang[:, 1], tang[:, 0]], axis=1)  # (y,x) rotate: outward on the lateral side
    # outward = away from the cavity (for the lateral side: +x at the hinge level)
    if normal_lat[len(phi) - 1, 1] < 0:
        normal_lat = -normal_lat
    apex = half[0].copy()

    def side_curve(sign: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        mirror = np.array([1.0, float(sign)])
        pts = (half - [0.0, xc]) * mirror + [0.0, xc]
        return pts, normal_lat * mirror

    # --- stretch profile per side on a dense arc-length grid, smoothed with a 3 mm Gaussian.
    ds = float(arc[1] - arc[0]) if arc[1] > 0 else 0.01
    grid = np.arange(0.0, arc[-1] + ds, 0.05)
    thirds = l_side / 3.0

    def eps_profile(sign: int) -> NDArray[np.float64]:
        names = ("apical", "mid", "basal")
        side = VIEW_WALLS[view][0] if sign < 0 else VIEW_WALLS[view][1]
        idx = np.minimum((grid // thirds).astype(int), 2)
        e = np.array([segs[f"{names[i]} {side}"] for i in range(3)])[idx] / 100.0
        return ndimage.gaussian_filter1d(e, 3.0 / 0.05, mode="nearest")

    eps_es = {-1: eps_profile(-1), +1: eps_profile(+1)}
    t_frac = (1.0 - np.cos(np.pi * np.arange(n_frames) / (n_frames - 1))) / 2.0

    def deform(s_signed: NDArray[np.float64], n: NDArray[np.float64], frame: int) -> NDArray[np.float64]:
        """Exact position (y, x mm) at ``frame`` of material points ``(s, n)``."""
        out = np.empty((s_signed.size, 2))
        for sign in (-1, 1):
            sel = (s_signed < 0) if sign < 0 else (s_signed >= 0)
            if not np.any(sel):
                continue
            lam = 1.0 + eps_es[sign] * t_frac[frame]
            sig_grid = np.concatenate([[0.0], np.cumsum(0.5 * (lam[1:] + lam[:-1]) * np.diff(grid))])
            s_abs = np.abs(s_signed[sel])
            sigma = np.interp(s_abs, grid, sig_grid)
            k = float(np.interp(l_side, grid, sig_grid)) / l_side
            pts, nrm = side_curve(sign)
            u = sigma / k  # arc length on the ED curve
            p = np.stack([np.interp(u, arc, pts[:, 0]), np.interp(u, arc, pts[:, 1])], axis=1)
            nv = np.stack([np.interp(u, arc, nrm[:, 0]), np.interp(u, arc, nrm[:, 1])], axis=1)
            nv /= np.linalg.norm(nv, axis=1, keepdims=True)
            n_t = n[sel] / np.interp(s_abs, grid, lam) if thickening else n[sel]
            out[sel] = apex + k * (p - apex) + n_t[:, None] * nv
        return out

    # --- scatterers in the wall band (plus 5 mm below each hinge).
    s_max = l_side + 5.0
    n_sc = int(round(scatterers_per_mm2 * 2 * s_max * wall_mm))
    s_sc = rng.uniform(-s_max, s_max, n_sc)
    n_scat = rng.uniform(-wall_mm / 2, wall_mm / 2, n_sc)
    amp = rng.rayleigh(1.0, n_sc)
    phase = rng.uniform(0, 2 * np.pi, n_sc)

    sig_px = (psf_axial_mm * _FWHM_TO_SIGMA / pixel_mm, psf_lateral_mm * _FWHM_TO_SIGMA / pixel_mm)
    images = np.empty((n_frames, ny, nx))
    noise_rms = None
    for f in range(n_frames):
        pos = deform(s_sc, n_scat, f) / pixel_mm  # fractional (row, col)
        r0 = np.floor(pos[:, 0]).astype(int)
        c0 = np.floor(pos[:, 1]).astype(int)
        fr, fc = pos[:, 0] - r0, pos[:, 1] - c0
        cplx = amp * np.exp(1j * phase)
        grid_c = np.zeros(ny * nx, dtype=complex)
        for dr, dc, w in ((0, 0, (1 - fr) * (1 - fc)), (1, 0, fr * (1 - fc)), (0, 1, (1 - fr) * fc), (1, 1, fr * fc)):
            rr, cc = r0 + dr, c0 + dc
            ok = (rr >= 0) & (rr < ny) & (cc >= 0) & (cc < nx)
            idx = rr[ok] * nx + cc[ok]
            grid_c += np.bincount(idx, weights=(w * cplx)[ok].real, minlength=ny * nx)
            grid_c += 1j * np.bincount(idx, weights=(w * cplx)[ok].imag, minlength=ny * nx)
        g = grid_c.reshape(ny, nx)
        rf = ndimage.gaussian_filter(g.real, sig_px) + 1j * ndimage.gaussian_filter(g.imag, sig_px)
        if noise_rms is None:
            tissue = np.abs(rf) > 0.05 * np.abs(rf).max()
            noise_rms = float(noise) * float(np.sqrt(np.mean(np.abs(rf[tissue]) ** 2)))
            ref = float(np.percentile(np.abs(rf[tissue]), 99))
        rf = rf + noise_rms / np.sqrt(2) * (rng.standard_normal((ny, nx)) + 1j * rng.standard_normal((ny, nx)))
        env = np.abs(rf) / ref
        db = 20.0 * np.log10(np.maximum(env, 1e-12))
        images[f] = np.clip((db + dynamic_range_db) / dynamic_range_db, 0.0, 1.0)
        phase = phase + rng.normal(0.0, decorrelation_rad, n_sc)

    # --- endocardial contour (septal hinge → apex → lateral hinge) and truth.
    s_c = np.linspace(-l_side, l_side, int(n_contour))
    n_endo = np.full(s_c.size, -wall_mm / 2)
    true_c = np.stack([deform(s_c, n_endo, f) for f in range(n_frames)])
    length = _polyline_length(true_c)
    gls = 100.0 * (length[-1] - length[0]) / length[0]
    seg_truth = dict(zip(names_view, _sixth_strains(true_c)))
    s_m = np.linspace(-l_side, l_side, 2001)
    mid = np.stack([deform(s_m, np.zeros_like(s_m), f) for f in (0, n_frames - 1)])
    mid_len = _polyline_length(mid)
    return SpeckleCine(
        images=images,
        spacing_mm=(float(pixel_mm), float(pixel_mm)),
        frame_rate_hz=float(frame_rate_hz),
        ed_contour_mm=true_c[0].copy(),
        gls_percent=float(gls),
        segment_strain_percent=seg_truth,
        midline_gls_percent=float(100.0 * (mid_len[1] - mid_len[0]) / mid_len[0]),
        segment_gls_input=segs,
        true_contours_mm=true_c,
        meta={"wall_mm": float(wall_mm), "midline_side_length_mm": l_side},
        view=view,
    )

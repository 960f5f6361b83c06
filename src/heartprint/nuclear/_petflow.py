"""PET myocardial blood flow from a dynamic PET image (Rb-82 or N-13 ammonia).

Pipeline (:func:`pet_flow`)
---------------------------
1. **Timing.** Frame starts and durations from ``meta["frame_start_ms"]`` / ``meta["frame_duration_ms"]``
   (the PET reader's (0008,0032)/(0054,1300) and (0018,1242)); mid times ``start + duration/2`` in s.
   Time zero is the first frame's start, taken as the injection time (the usual protocol: acquisition
   started with the bolus).
2. **Tracer** from the argument, else from ``meta["tracer"]`` / ``meta["radionuclide"]`` (keywords
   Rb-82 / rubidium → ``rb82``; ammonia / NH3 / N-13 → ``n13-ammonia``); anything else is an error.
3. **Decay.** ``meta["decay_correction"]`` "START" or "ADMIN": used as is. "NONE": each frame is
   corrected here to the scan start with the frame-mean factor ``λd / (e^{−λ t0}(1 − e^{−λd}))``
   (half-life from ``meta["radionuclide_half_life_s"]``, else Rb-82 76 s, N-13 598 s — nuclide
   half-lives, e.g. NNDC/NuDat) and a warning says so. Absent: used as is, with a warning.
4. **Axis.** :func:`~heartprint.nuclear._axis.find_lv_axis` on the *late* image, or the given ``axis``. The late
   image is the mean of the frames whose mid time lies in the last third of the scan (tracer retained in the
   myocardium, blood pool cleared), each weighted by its *detected counts*, ∝ duration / frame-mean decay-correction
   factor (rule: the inverse-variance weighting of decay-corrected frames whose noise is Poisson in the counts; it is
   the late sum with the least noise). With Rb-82 (76-s half-life) a duration weighting gave the last 60-s frames,
   whose decay correction is 20–60×, most of the weight: at 0.5 mL/min/g and noise CV 0.10 the axis finder then failed
   or put the apex up to 68 mm off (seeds 101–104 and 201–205; MBF −20 ± 7.5 %, worst −33 %); count weighting, which
   favours the 160–300 s frames where myocardium-to-blood and myocardium-to-background contrast are both ≥ 2.4,
   keeps the apex within 13 mm (``benchmarks/pet_flow_image.py``). The same late image serves steps 5–7.
5. **Myocardial TACs.** One fixed ray grid — the polar map's geometry
   (:func:`~heartprint.nuclear._polar.ray_grid`, 36 rings × 60 sectors, apical cap, 10 mm basal margin: the automatic base can lie a few mm beyond the valve plane):
   each ray's wall position is the maximum of the *late* image along it (within ±15 mm of its ring's
   mean wall radius, :func:`~heartprint.nuclear._polar.wall_maxima`); every frame is then read at those
   fixed points (linear interpolation). Per-frame maxima are *not* used: in the early, noisy, blood-dominated
   frames a maximum picks the noise peak or slides into the cavity and biases the curve upward.
   Rays are averaged per AHA segment (17 TACs) and over the whole map (global TAC).
6. **Blood input**: the mean of the LV cavity over a sphere on the long axis at mid-ventricle
   (half-way from apex to base) of radius one third of the local cavity radius (the cavity radius is where
   the late-image short-axis profile, averaged over 36 angles, rises to half-way between its centre value and its
   wall maximum; ≥ 1 voxel). A small LV-cavity region far from the wall as the image-derived input follows
   common practice — Lortie M et al., Eur J Nucl Med Mol Imaging 2007;34:1765–1774,
   doi:10.1007/s00259-007-0478-2; Hutchins GD et al., J Am Coll Cardiol 1990;15:1032–1042,
   doi:10.1016/0735-1097(90)90237-J (⚠ the exact ROI placement of these papers not re-read here:
   basal-cavity and mid-cavity ROIs are both in use).
7. **Partial volume** (``partial_volume=True``). The late image and the first-pass image (the frames at the blood
   input's peak ± 1: bright cavity, nearly empty wall) are sampled ±15 mm along every body-ring ray around its
   sample point; the two mean profiles are fitted *jointly* with one blurred slab (:func:`wall_profile_fit`: wall
   between two edges, Gaussian σ, shared; wall / cavity / outside levels per image). The late profile alone does not
   separate σ from the wall thickness (thin bright wall ≈ thick dim wall: on 6-mm voxels it collapsed to a 2–4 mm
   wall and +78 % MBF); the first-pass cavity edge, a blurred step, pins σ and the inner edge. The loss
   L = Φ(−x_out/σ)·(1 − Co/M) — the part of the point-spread function at the sample point that lies beyond the epicardial edge, weighted by how
   much less active the outside is — enters the fit as the tissue fraction TF = 1 − Vb − L
   (:mod:`~heartprint.nuclear._flow`, "Tissue fraction"; Hutchins 1990 tissue-fraction model). σ is the stated
   resolution
   (``resolution_fwhm_mm`` or ``meta["resolution_fwhm_mm"]``, plus the voxel's box variance Δ²/12) or, when none is
   stated, fitted with the edges (the default, measured on phantoms below; ``method`` says which).
   **Identifiable / assumed**: from the curves only TF·K1 and Vb;
   L from the image assumes a locally slab-like wall ⟂ to the rays, an outside whose curve is tissue-like (scaled by
   its late level), one L for the whole LV (the late wall level barely depends on flow, so a per-segment ρ came
   out uniform), and (stated mode) a Gaussian resolution. Measured (global MBF, phantoms 12-mm wall, 8-mm FWHM,
   4-mm voxels, CV 0.10, 5 seeds 201–205 per cell not used in tuning; ``benchmarks/pet_flow_image.py``): without L
   −6.7…−8.8 % (N-13 ammonia) and −9.4…−11.8 % (Rb-82, worst −17 % at 0.5); with the fitted σ mean +1.7…+2.7 %
   (ammonia) and −2.1…+2.6 % (Rb-82), worst single study 8.6 % (Rb-82 at 0.5: noise, SD 3.9 %); the stated 8 mm
   under-corrects (−2.8…−4.5 %, Rb-82 0.5 −7.6 %, worst −13 %: the sampled profile is wider than 8 mm FWHM + voxel
   box — linear interpolation and the per-ray maxima add blur), so the fitted σ is the default. The fitted mode's
   residual +2 to +3 % is probably the slab's neglect of wall curvature and of the outside's different kinetics
   (not separated here).
8. **Fit.** One batched :func:`~heartprint.nuclear._flow.fit_mbf` call (frame-averaged model) for the 17
   segments + global: one-tissue model with a blood-volume / spill-over term and the tissue fraction of step 7,
   K1 → MBF by the tracer's extraction model.

Territories (LAD / RCA / LCx, :mod:`heartprint.anatomy.territories`): mean of the segment MBFs weighted
by the number of polar-map rays in each segment (a proxy of the myocardial area sampled).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage
from scipy.optimize import minimize
from scipy.special import ndtr

from heartprint.anatomy.territories import territory_of
from heartprint.errors import InvalidInputError
from heartprint.image import Image
from heartprint.nuclear._axis import LVAxis, find_lv_axis
from heartprint.nuclear._flow import FlowFit, fit_mbf
from heartprint.nuclear._polar import _mid_radius, grid_segments, ray_grid, sample_rays, wall_maxima

__all__ = ["PetFlow", "pet_flow", "wall_profile_fit", "HALF_LIFE_S"]

#: Physical half-lives (s): Rb-82 76 s (1.273 min), N-13 598 s (9.965 min) — NNDC NuDat 3 nuclear data.
HALF_LIFE_S = {"rb82": 76.0, "n13-ammonia": 598.0}
_N_RINGS, _N_SECTORS, _N_CAP = 36, 60, 6
_SEARCH_HALF_WIDTH_MM = 15.0
_BASAL_MARGIN_MM = 10.0
#: RMS fit residual above this fraction of the mean myocardial value (fit window) → warning (heartprint choice).
_POOR_FIT_FRACTION = 0.15
#: Half-length (mm) of the late wall profile, centred on each ray's sample point, used for the partial-volume fit.
_PROFILE_HALF_MM = 15
_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))


def _profile_basis(x: np.ndarray, x1: np.ndarray, x2: np.ndarray, sig: np.ndarray) -> np.ndarray:
    """(m, n, 3) blurred-slab basis: wall [x1, x2], inner side x < x1, outer side x > x2 (Gaussian σ)."""
    a = ndtr((x[None, :] - x1[:, None]) / sig[:, None])
    b = ndtr((x[None, :] - x2[:, None]) / sig[:, None])
    return np.stack([a - b, 1.0 - a, b], axis=-1)


def _profile_ls(x: np.ndarray, p: np.ndarray, x1, x2, sig) -> tuple[np.ndarray, np.ndarray]:
    """Linear LS levels (m, 3, k) of the k profiles ``p`` (k, n) and their summed RSS (m,) for each (x1, x2, σ)."""
    basis = _profile_basis(x, np.atleast_1d(x1), np.atleast_1d(x2), np.atleast_1d(sig))
    bt = np.swapaxes(basis, 1, 2)
    coef = np.linalg.solve(bt @ basis + 1e-9 * np.eye(3), bt @ p.T)  # (m, 3, k)
    rss = np.sum((basis @ coef - p.T[None]) ** 2, axis=(1, 2))
    return coef, rss


def wall_profile_fit(x_mm: Any, profile: Any, fwhm_mm: float | None, voxel_mm: float) -> dict[str, Any]:
    """Blurred-slab fit of the mean late wall profile → the partial-volume loss L of the sampled wall signal.

    ``profile`` (n,) — or (k, n): profiles of the same wall at different contrasts (e.g. late uptake and first-pass
    blood pool) sharing the geometry, each with its own levels, each scaled to its maximum; the levels reported and
    ρ are those of the first — sampled at offsets ``x_mm`` (n,) from the sample point (inner side negative). Model
    (1-D, wall ⟂ to the ray): ``M·[Φ((x−x1)/σ) − Φ((x−x2)/σ)] + Cc·Φ((x1−x)/σ) + Co·Φ((x−x2)/σ)`` — a wall of
    level M between x1 < 0 < x2 blurred by a Gaussian of SD σ, cavity level Cc inside, outside level Co. σ is the
    stated resolution (``fwhm_mm``/2.355, with the voxel's box variance Δ²/12 added) or, when ``fwhm_mm`` is None,
    fitted with the edges. (M, Cc, Co) by linear least squares for each (x1, x2, σ) ("variable projection"): a
    grid (1 mm, 0.4 mm) then Nelder–Mead from its best point (:func:`scipy.optimize.minimize`). Out: ``spill_out`` =
    Φ(−x2/σ) (fraction of the point-spread function at the sample point lying outside the wall), ``outside_ratio``
    ρ = Co/M in [0, 1], ``loss`` L = spill_out·(1 − ρ), ``wall_mm`` = x2 − x1, ``sigma_mm``, ``inner_mm``/``outer_mm``
    (x1, x2), the three levels, ``reliable`` (False if an edge or σ ends at a bound of its range, M ≤ 0, or the wall
    is thinner than σ — the thin-bright / thick-dim degeneracy of a single profile).
    """
    x = np.asarray(x_mm, float)
    p = np.atleast_2d(np.asarray(profile, float))
    scale = np.max(np.abs(p), axis=1, keepdims=True)
    p = p / np.where(scale > 0, scale, 1.0)  # each profile weighs the same
    half = float(np.max(np.abs(x)))
    e_lo, e_hi = 0.5, half - 1.0
    if fwhm_mm is not None:
        sig0 = math.sqrt((float(fwhm_mm) / _FWHM_PER_SIGMA) ** 2 + voxel_mm**2 / 12.0)
        s_lo = s_hi = sig0
        sigs = np.array([sig0])
    else:
        s_lo, s_hi = 1.0, 0.5 * half
        sigs = np.arange(s_lo, s_hi + 1e-9, 0.4)
    edges = np.arange(e_lo, e_hi + 1e-9, 1.0)
    g1, g2, gs = (v.ravel() for v in np.meshgrid(-edges, edges, sigs, indexing="ij"))
    _, rss = _profile_ls(x, p, g1, g2, gs)
    i = int(np.argmin(rss))

    def unpack(v):
        return (float(np.clip(v[0], -e_hi, -e_lo)), float(np.clip(v[1], e_lo, e_hi)),
                float(np.clip(v[2], s_lo, s_hi)) if fwhm_mm is None else s_lo)

    def cost(v):
        return float(_profile_ls(x, p, *unpack(v))[1][0])

    x0 = [g1[i], g2[i]] + ([gs[i]] if fwhm_mm is None else [])
    res = minimize(cost, x0, method="Nelder-Mead",
                   options={"xatol": 1e-3, "fatol": 1e-12 * float(np.sum(p * p)), "maxiter": 2000})
    x1, x2, sg = unpack(res.x)
    coef = _profile_ls(x, p, x1, x2, sg)[0][0][:, 0] * scale[0, 0]  # levels of the first (late) profile
    m, cc, co = (float(c) for c in coef)
    at_bound = (min(-x1, x2) <= e_lo + 1e-3 or max(-x1, x2) >= e_hi - 1e-3
                or (fwhm_mm is None and (sg <= s_lo + 1e-3 or sg >= s_hi - 1e-3)))
    spill_out = float(ndtr(-x2 / sg))
    rho = float(np.clip(co / m, 0.0, 1.0)) if m > 0 else 1.0
    return {"wall_mm": x2 - x1, "sigma_mm": sg, "inner_mm": x1, "outer_mm": x2,
            "wall_level": m, "cavity_level": cc, "outside_level": co, "spill_out": spill_out,
            "outside_ratio": rho, "loss": spill_out * (1.0 - rho),
            "reliable": bool(m > 0 and not at_bound and x2 - x1 >= sg),
            "resolution": "stated" if fwhm_mm is not None else "fitted"}


def _tracer_key(text: str) -> str | None:
    t = str(text).lower().replace(" ", "").replace("_", "-")
    if "rb" in t and "82" in t or "rubidium" in t:
        return "rb82"
    if "ammonia" in t or "nh3" in t or "n-13" in t or "13n" in t or "n13" in t:
        return "n13-ammonia"
    return None


@dataclass
class PetFlow:
    """Result of :func:`pet_flow`.

    ``mbf``, ``k1`` {segment 1..17: mL/min/g}, ``k2`` {segment: 1/min}, ``blood_volume`` {segment: fraction
    (blood volume + spill-over)}; ``global_mbf`` (mL/min/g, the fit of the global TAC); ``territories``
    {LAD/RCA/LCx: mL/min/g}; ``fit`` the batched :class:`FlowFit` (rows 0–16 segments 1–17, row 17 global);
    ``axis`` the LV frame; ``tacs`` {"time_s", "duration_s", "segments" (17, n), "global" (n,), "blood" (n,)}
    (decay-corrected, image units); ``tracer``; ``warnings``; ``method``; ``partial_volume`` the wall-profile fit
    of step 7 (:func:`wall_profile_fit` output + ``applied``; ``loss`` is the L of TF = 1 − Vb − L).
    """

    mbf: dict[int, float]
    global_mbf: float
    territories: dict[str, float]
    k1: dict[int, float]
    k2: dict[int, float]
    blood_volume: dict[int, float]
    fit: FlowFit
    axis: LVAxis
    tacs: dict[str, np.ndarray]
    tracer: str
    warnings: list[str] = field(default_factory=list)
    method: str = ""
    partial_volume: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mbf_ml_min_g": {str(k): v for k, v in self.mbf.items()},
            "global_mbf_ml_min_g": self.global_mbf,
            "territories_ml_min_g": dict(self.territories),
            "k1_ml_min_g": {str(k): v for k, v in self.k1.items()},
            "k2_per_min": {str(k): v for k, v in self.k2.items()},
            "blood_volume": {str(k): v for k, v in self.blood_volume.items()},
            "fit": self.fit.to_dict(),
            "axis": self.axis.to_dict(),
            "tacs": {k: np.asarray(v).tolist() for k, v in self.tacs.items()},
            "tracer": self.tracer,
            "warnings": list(self.warnings),
            "method": self.method,
            "partial_volume": dict(self.partial_volume),
        }


def _timing(image: Image) -> tuple[np.ndarray, np.ndarray]:
    meta = image.meta or {}
    n = image.array.shape[0]
    start, dur = meta.get("frame_start_ms"), meta.get("frame_duration_ms")
    if start is None or dur is None:
        raise InvalidInputError(
            "dynamic PET image: meta['frame_start_ms'] and meta['frame_duration_ms'] are required "
            "(frame start and duration, ms); expected them from the PET reader")
    try:
        s = np.asarray(start, dtype=float) / 1000.0
        d = np.asarray(dur, dtype=float) / 1000.0
    except (TypeError, ValueError) as exc:
        raise InvalidInputError("meta frame_start_ms / frame_duration_ms: expected numbers (ms)") from exc
    if s.shape != (n,) or d.shape != (n,):
        raise InvalidInputError(f"meta frame_start_ms {s.shape} / frame_duration_ms {d.shape}: expected ({n},) each")
    if not (np.all(np.isfinite(s)) and np.all(np.isfinite(d)) and np.all(d > 0)):
        raise InvalidInputError("meta frame_start_ms / frame_duration_ms: expected finite starts and positive durations")
    s = s - s[0]  # time zero = first frame start (taken as injection)
    if n > 1 and np.any(s[1:] < s[:-1] + d[:-1] - 1e-3):
        raise InvalidInputError("frame timing: frames overlap or are not in time order; expected consecutive frames")
    return s, d


def _sphere_points(centre: np.ndarray, radius: float, step: float) -> np.ndarray:
    g = np.arange(-radius, radius + 1e-9, step)
    X, Y, Z = np.meshgrid(g, g, g, indexing="ij")
    off = np.stack([X, Y, Z], -1).reshape(-1, 3)
    return centre + off[np.linalg.norm(off, axis=1) <= radius + 1e-9]


def pet_flow(
    image: Image,
    axis: LVAxis | None = None,
    *,
    tracer: str | None = None,
    fit_window_s: Any = None,
    resolution_fwhm_mm: float | None = None,
    partial_volume: bool = True,
) -> PetFlow:
    """Regional and global MBF (mL/min/g) from a dynamic cardiac PET image (method: module docstring).

    ``image``: (t, z, y, x) activity concentration (Bq/mL), ≥ 4 frames, with ``meta["frame_start_ms"]`` and
    ``meta["frame_duration_ms"]``; ``axis``: an :class:`LVAxis` to use instead of the automatic one;
    ``tracer``: "rb82" / "n13-ammonia" (aliases as :func:`fit_mbf`), default from the meta;
    ``fit_window_s``: passed to :func:`fit_mbf` (None: all frames); ``resolution_fwhm_mm``: the image's spatial
    resolution (mm FWHM, positron range included) for the partial-volume step, default
    ``meta["resolution_fwhm_mm"]``, else estimated from the late image's wall profile (module docstring, step 7);
    ``partial_volume``: False → no partial-volume loss term (the Lortie 2007 tissue fraction 1 − Vb).
    """
    if not isinstance(image, Image):
        raise InvalidInputError(f"image={type(image).__name__}: expected a heartprint Image")
    arr = np.asarray(image.array, dtype=float)
    if arr.ndim != 4 or arr.shape[0] < 4:
        raise InvalidInputError(f"image shape {arr.shape}: expected a dynamic (t, z, y, x) series with ≥ 4 frames")
    if not np.all(np.isfinite(arr)):
        raise InvalidInputError("dynamic PET image holds non-finite values; expected finite Bq/mL")
    if axis is not None and not isinstance(axis, LVAxis):
        raise InvalidInputError(f"axis={axis!r}: expected an LVAxis or None")
    meta = image.meta or {}
    warnings: list[str] = []
    notes: list[str] = []
    fwhm = resolution_fwhm_mm if resolution_fwhm_mm is not None else meta.get("resolution_fwhm_mm")
    if fwhm is not None:
        try:
            fwhm = float(fwhm)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"resolution_fwhm_mm={fwhm!r}: expected mm FWHM") from exc
        if not (math.isfinite(fwhm) and 0.0 < fwhm <= 30.0):
            raise InvalidInputError(f"resolution_fwhm_mm={fwhm!r}: expected 0–30 mm FWHM")

    # tracer
    if tracer is not None:
        key = _tracer_key(tracer)
        if key is None:
            raise InvalidInputError(f"tracer={tracer!r}: expected Rb-82 or N-13 ammonia")
    else:
        found = [k for k in (_tracer_key(meta.get(f) or "") for f in ("tracer", "radionuclide")) if k]
        if not found:
            raise InvalidInputError(
                f"tracer unknown (meta tracer={meta.get('tracer')!r}, radionuclide={meta.get('radionuclide')!r}): "
                "expected Rb-82 or N-13 ammonia; pass tracer='rb82' or 'n13-ammonia'")
        key = found[0]

    start, dur = _timing(image)
    mid = start + dur / 2.0

    # decay
    dc = meta.get("decay_correction")
    dc = str(dc).strip().upper() if dc is not None else None
    hl = meta.get("radionuclide_half_life_s")
    hl = float(hl) if isinstance(hl, (int, float)) and hl > 0 else HALF_LIFE_S[key]
    lam = math.log(2.0) / hl
    factor = lam * dur / (np.exp(-lam * start) * (-np.expm1(-lam * dur)))  # frame-mean decay correction to t = 0
    if dc == "NONE":
        arr = arr * factor[:, None, None, None]
        notes.append(f"decay-corrected here to the scan start (half-life {hl:g} s, frame-mean factors "
                     f"{factor[0]:.3g}–{factor[-1]:.3g})")
        warnings.append(f"image not decay-corrected (Decay Correction NONE): corrected here with half-life {hl:g} s")
    elif dc is None:
        warnings.append("decay correction of the image unknown (meta decay_correction absent): used as decay-corrected")
    elif dc not in ("START", "ADMIN"):
        warnings.append(f"decay correction {dc!r} not recognised: values used as decay-corrected")
    units = meta.get("units")
    if units is not None and str(units).upper() != "BQML":
        warnings.append(f"units {units!r}: Bq/mL expected; MBF is unaffected by a common scale factor")

    # late image and axis
    t_end = float(start[-1] + dur[-1])
    late = mid >= (2.0 / 3.0) * t_end
    if late.sum() == 0:
        late[-1] = True
    w_late = np.where(late, dur / factor, 0.0)  # detected counts ∝ duration / decay-correction factor
    late_vol = np.tensordot(w_late, arr, axes=1) / w_late.sum()
    late_img = Image(late_vol, image.affine, study_uid=image.study_uid, series_uid=image.series_uid,
                     modality=image.modality, kind=image.kind, meta={})
    if axis is None:
        af = find_lv_axis(late_img)
        axis = af.axis
        warnings += [f"axis: {w}" for w in af.warnings]

    # fixed ray grid on the late image
    step = 1.0
    cap_r = _mid_radius(late_vol, late_img, axis, 60.0, step)
    grid = ray_grid(axis, n_rings=_N_RINGS, n_sectors=_N_SECTORS, n_cap_rings=_N_CAP, max_radius_mm=60.0,
                    step_mm=step, cap_radius_mm=cap_r, basal_margin_mm=_BASAL_MARGIN_MM)
    prof = sample_rays(late_vol, late_img, grid.points)
    _, kmax = wall_maxima(prof, grid.radii, _SEARCH_HALF_WIDTH_MM)
    wall_pts = np.take_along_axis(grid.points, kmax[..., None, None], axis=2)[:, :, 0, :].reshape(-1, 3)
    seg = grid_segments(grid, axis.length_mm).ravel()  # by position along the axis in mm
    idx = image.lps_to_index(wall_pts).T
    ray_tac = np.stack([ndimage.map_coordinates(f, idx, order=1, mode="constant", cval=0.0) for f in arr], axis=1)
    n_ray = np.bincount(seg, minlength=18)[1:]
    seg_tac = np.stack([np.bincount(seg, weights=ray_tac[:, k], minlength=18)[1:] for k in range(arr.shape[0])],
                       axis=1) / np.maximum(n_ray, 1)[:, None]
    glob_tac = ray_tac.mean(axis=0)

    # blood input: sphere in the mid-ventricular cavity
    centre = axis.apex_lps + 0.5 * axis.length_mm * axis.long_axis
    radii = np.arange(0.0, 60.0, 0.5)
    dirs = axis.direction(np.arange(0.0, 360.0, 10.0))
    mprof = sample_rays(late_vol, late_img, centre + radii[None, :, None] * dirs[:, None, :]).mean(axis=0)
    k_w = int(np.argmax(mprof))
    half = 0.5 * (mprof[0] + mprof[k_w])
    inner = np.nonzero(mprof[:k_w + 1] >= half)[0]
    r_cav = float(radii[inner[0]]) if inner.size and k_w > 0 else 0.0
    vox = float(min(image.spacing))
    r_roi = max(r_cav / 3.0, vox)
    if r_cav <= 3.0 * vox:
        warnings.append(f"small LV cavity (radius ≈ {r_cav:.0f} mm at mid-ventricle): the blood input may hold "
                        "myocardial spill-over")
    bpts = _sphere_points(centre, r_roi, vox / 2.0)
    bidx = image.lps_to_index(bpts).T
    blood = np.array([ndimage.map_coordinates(f, bidx, order=1, mode="constant", cval=0.0).mean() for f in arr])

    if int(np.argmax(blood)) == 0:
        warnings.append("blood input peaks in the first frame: the bolus peak may not be captured (late start?)")
    elif int(np.argmax(blood)) == blood.size - 1:
        warnings.append("blood input peaks in the last frame: no bolus seen")

    # partial volume: loss of the wall signal to its low-activity surroundings, from the late wall profile
    pv: dict[str, Any] = {"applied": False}
    loss = 0.0
    if partial_volume:
        off = np.arange(-_PROFILE_HALF_MM, _PROFILE_HALF_MM + 1)
        kk = np.clip(kmax[..., None] + off, 0, grid.radii.size - 1)
        aligned = np.take_along_axis(prof, kk, axis=2)[_N_CAP:]  # body rings: rays ⟂ to the wall
        # first pass (the blood input's peak frame ± 1): bright cavity, nearly empty wall — its inner edge fixes σ
        k_pk = int(np.argmax(blood))
        fp = slice(max(k_pk - 1, 0), k_pk + 2)
        first_vol = np.tensordot(dur[fp], arr[fp], axes=1) / dur[fp].sum()
        first = np.take_along_axis(sample_rays(first_vol, late_img, grid.points), kk, axis=2)[_N_CAP:]
        pv = wall_profile_fit(off * step, np.stack([aligned.reshape(-1, off.size).mean(axis=0),
                                                    first.reshape(-1, off.size).mean(axis=0)]), fwhm, vox)
        loss = pv["loss"]  # one value: the late wall level barely depends on flow (ρ per segment measured uniform)
        if not pv["reliable"]:
            warnings.append("the heart-wall profile could not be fitted reliably (wall "
                            f"{pv['wall_mm']:.1f} mm, resolution {pv['sigma_mm'] * _FWHM_PER_SIGMA:.1f} mm FWHM): "
                            "no partial-volume correction; flow may read low by about 10 %")
            loss = 0.0
        pv["applied"] = bool(pv["reliable"])

    y = np.vstack([seg_tac, glob_tac[None, :]])
    fit = fit_mbf(y, blood, mid, frame_durations_s=dur, tracer=key, fit_window_s=fit_window_s, tissue_loss=loss)
    mbf = np.asarray(fit.mbf, float)
    k1, k2, vb = (np.asarray(v, float) for v in (fit.k1, fit.k2, fit.blood_volume))
    at_bound = np.asarray(fit.k2_at_bound, bool)
    names = [str(s) for s in range(1, 18)] + ["global"]
    if at_bound.any():
        warnings.append(f"k2 at a bound of its search range for {', '.join(n for n, b in zip(names, at_bound) if b)}: "
                        "fit unreliable there")
    if fit_window_s is None:
        sel = np.ones(mid.size, bool)
    else:
        w = np.atleast_1d(np.asarray(fit_window_s, float))
        sel = (mid <= w[0]) if w.size == 1 else ((mid >= w[0]) & (mid <= w[1]))
    rel = np.asarray(fit.residual, float) / np.maximum(np.abs(y[:, sel]).mean(axis=1), 1e-12)
    poor = rel > _POOR_FIT_FRACTION
    if poor.any():
        warnings.append(f"poor fit (RMS residual > {100 * _POOR_FIT_FRACTION:.0f} % of the mean TAC) for "
                        f"{', '.join(n for n, p in zip(names, poor) if p)}")

    seg_ids = list(range(1, 18))
    terr: dict[str, float] = {}
    for t in ("LAD", "RCA", "LCx"):
        ii = [s - 1 for s in seg_ids if territory_of(s) == t]
        terr[t] = float(np.average(mbf[ii], weights=n_ray[ii]))
    pv_text = (f"partial-volume loss {pv['loss']:.3f} of the wall signal (blurred-slab fit of the late and first-pass "
               f"wall profiles: wall {pv['wall_mm']:.1f} mm, resolution σ {pv['sigma_mm']:.1f} mm {pv['resolution']}, "
               f"outside/wall {pv['outside_ratio']:.2f}); " if pv.get("applied") else "no partial-volume loss term; ")
    method = ("dynamic PET MBF: LV axis from the late frames (last third of the scan, count-weighted); fixed polar-map ray grid "
              f"({_N_RINGS}×{_N_SECTORS}, wall position = late-image ray maximum) read in every frame, averaged per "
              f"AHA segment; blood input = mean of a {r_roi:.1f}-mm-radius sphere in the mid-ventricular LV cavity; "
              + ("; ".join(notes) + "; " if notes else "") + pv_text + fit.method)
    tacs = {"time_s": mid, "duration_s": dur, "segments": seg_tac, "global": glob_tac, "blood": blood}
    return PetFlow(
        mbf={s: float(mbf[s - 1]) for s in seg_ids}, global_mbf=float(mbf[17]), territories=terr,
        k1={s: float(k1[s - 1]) for s in seg_ids}, k2={s: float(k2[s - 1]) for s in seg_ids},
        blood_volume={s: float(vb[s - 1]) for s in seg_ids}, fit=fit, axis=axis, tacs=tacs, tracer=key,
        warnings=warnings, method=method, partial_volume=pv,
    )

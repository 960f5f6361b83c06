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
4. **Axis.** :func:`~heartprint.nuclear._axis.find_lv_axis` on the *late* image: the duration-weighted sum
   of the frames whose mid time lies in the last third of the scan (tracer retained in the myocardium,
   blood pool cleared), or the given ``axis``.
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
7. **Fit.** One batched :func:`~heartprint.nuclear._flow.fit_mbf` call (frame-averaged model) for the 17
   segments + global: one-tissue model with a blood-volume / spill-over term, K1 → MBF by the tracer's
   extraction model.

Territories (LAD / RCA / LCx, :mod:`heartprint.anatomy.territories`): mean of the segment MBFs weighted
by the number of polar-map rays in each segment (a proxy of the myocardial area sampled).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

from heartprint.anatomy.territories import territory_of
from heartprint.errors import InvalidInputError
from heartprint.image import Image
from heartprint.nuclear._axis import LVAxis, find_lv_axis
from heartprint.nuclear._flow import FlowFit, fit_mbf
from heartprint.nuclear._polar import _mid_radius, ray_grid, sample_rays, segment_of, wall_maxima

__all__ = ["PetFlow", "pet_flow", "HALF_LIFE_S"]

#: Physical half-lives (s): Rb-82 76 s (1.273 min), N-13 598 s (9.965 min) — NNDC NuDat 3 nuclear data.
HALF_LIFE_S = {"rb82": 76.0, "n13-ammonia": 598.0}
_N_RINGS, _N_SECTORS, _N_CAP = 36, 60, 6
_SEARCH_HALF_WIDTH_MM = 15.0
_BASAL_MARGIN_MM = 10.0
#: RMS fit residual above this fraction of the mean myocardial value (fit window) → warning (heartprint choice).
_POOR_FIT_FRACTION = 0.15


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
    (decay-corrected, image units); ``tracer``; ``warnings``; ``method``.
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
) -> PetFlow:
    """Regional and global MBF (mL/min/g) from a dynamic cardiac PET image (method: module docstring).

    ``image``: (t, z, y, x) activity concentration (Bq/mL), ≥ 4 frames, with ``meta["frame_start_ms"]`` and
    ``meta["frame_duration_ms"]``; ``axis``: an :class:`LVAxis` to use instead of the automatic one;
    ``tracer``: "rb82" / "n13-ammonia" (aliases as :func:`fit_mbf`), default from the meta;
    ``fit_window_s``: passed to :func:`fit_mbf` (None: all frames).
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
    if dc == "NONE":
        hl = meta.get("radionuclide_half_life_s")
        hl = float(hl) if isinstance(hl, (int, float)) and hl > 0 else HALF_LIFE_S[key]
        lam = math.log(2.0) / hl
        factor = lam * dur / (np.exp(-lam * start) * (-np.expm1(-lam * dur)))
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
    late_vol = np.tensordot(dur[late], arr[late], axes=1) / dur[late].sum()
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
    seg = segment_of(np.arange(_N_RINGS)[:, None], grid.sector_angle_deg[None, :], n_rings=_N_RINGS,
                     n_cap_rings=_N_CAP).ravel()
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

    y = np.vstack([seg_tac, glob_tac[None, :]])
    fit = fit_mbf(y, blood, mid, frame_durations_s=dur, tracer=key, fit_window_s=fit_window_s)
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
    method = ("dynamic PET MBF: LV axis from the late frames (last third of the scan); fixed polar-map ray grid "
              f"({_N_RINGS}×{_N_SECTORS}, wall position = late-image ray maximum) read in every frame, averaged per "
              f"AHA segment; blood input = mean of a {r_roi:.1f}-mm-radius sphere in the mid-ventricular LV cavity; "
              + ("; ".join(notes) + "; " if notes else "") + fit.method)
    tacs = {"time_s": mid, "duration_s": dur, "segments": seg_tac, "global": glob_tac, "blood": blood}
    return PetFlow(
        mbf={s: float(mbf[s - 1]) for s in seg_ids}, global_mbf=float(mbf[17]), territories=terr,
        k1={s: float(k1[s - 1]) for s in seg_ids}, k2={s: float(k2[s - 1]) for s in seg_ids},
        blood_volume={s: float(vb[s - 1]) for s in seg_ids}, fit=fit, axis=axis, tacs=tacs, tracer=key,
        warnings=warnings, method=method,
    )

"""Dynamic PET *image* phantom for myocardial blood flow (Rb-82 or N-13 ammonia), with exact answers.

Geometry: the same truncated prolate-ellipsoid LV shell as the SPECT perfusion phantom
(:func:`heartprint.phantoms._nuclear.make_perfusion_phantom`; its internal helpers are imported,
not copied): cavity ``r²/Rc² + s²/Lc² < 1``, myocardium out to ``Re = Rc + w``, ``Le = Lc + w``,
open at the basal plane; AHA segments by :func:`~heartprint.phantoms._nuclear.aha_segment_of`
(segment 17 beyond the end of the cavity, thirds of the cavity length, 60°/90° sectors).
The default wall is 12 mm: an ungated dynamic PET frame averages the wall over the cardiac cycle
(≈ 10 mm at end-diastole, ≈ 15 mm at end-systole; phantom choice).

Compartments and their time–activity curves (frame means, decay-corrected to the scan start =
injection, Bq/mL):

* **LV cavity**: the arterial input ``C_b(t)`` of :func:`~heartprint.phantoms._nuclear.make_dynamic_pet`
  (gamma-variate bolus, t0 = 5 s, plus recirculation).
* **RV cavity** (optional, spill-over source for the septum): an ellipsoid of blood beside the
  septum (semi-axes 0.75·Rc across, 0.7·Lc along the axis, its centre ``Rc + w + 0.75·Rc`` from the LV axis
  toward the septal direction, mid-cavity level); its curve is the same input shape arriving
  ``rv_lead_s`` (4 s) *earlier* (venous bolus: right heart before left heart), same area.
* **Myocardium**, per AHA segment: ``(1 − vb_myo)·C_t + vb_myo·C_b`` with ``C_t`` the exact
  one-tissue solution of ``make_dynamic_pet`` for the segment's MBF (its territory's, LAD / RCA /
  LCx per :mod:`heartprint.anatomy.territories`): K1 from MBF by the tracer's extraction model,
  k2 = K1 / Vd. ``vb_myo`` = 0.05 intrinsic myocardial blood volume (phantom choice).
* **Body** (everything else in the field of view): a low-flow tissue, one-tissue curve for
  MBF-equivalent ``background_flow`` = 0.1 mL/min/g with 5 % blood (phantom choice; lung and
  skeletal muscle take up little Rb-82 / ammonia).

Each voxel of the heart region is the volume-weighted mean of its ``supersample³`` sub-points
(partial volume); every frame is then blurred with a 3-D Gaussian of ``fwhm_mm`` (PET resolution,
positron range included) and noise is added.

**Noise model** (independent Gaussian per voxel and frame, after the blur; real reconstructions
have spatially correlated noise — not modelled): the variance of a decay-corrected voxel value is
proportional to the detected counts times the square of the decay correction, i.e. to
``C·DF/d`` (C the decay-corrected concentration, DF the frame's decay-correction factor, d its duration):
``σ_k(v) = noise_cv · sqrt(C_k(v) · C_ref · (d_ref/d_k) · (DF_k/DF_ref))`` with ``ref`` the last frame
and ``C_ref`` the mean noiseless value of the myocardial voxels in that frame — so a myocardial voxel
of the last (plateau) frame has a coefficient of variation ``noise_cv``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
from pydicom.uid import generate_uid
from scipy.ndimage import gaussian_filter

from heartprint.anatomy.territories import territory_of
from heartprint.errors import InvalidInputError
from heartprint.image import Image
from heartprint.phantoms._nuclear import (
    _HALF_LIFE_S,
    _Heart,
    _ed_shape,
    _input_function,
    _tilt_direction,
    aha_segment_of,
    lv_frame_from_direction,
    make_dynamic_pet,
)

__all__ = ["DynamicPetPhantom", "make_dynamic_pet_image"]

_TERRITORIES = ("LAD", "RCA", "LCx")
_VB_MYO = 0.05  # intrinsic myocardial blood volume fraction (phantom choice)
_BG_VB = 0.05  # blood fraction of the body background (phantom choice)
_TRACER_NAMES = {"rb82": ("Rb-82 rubidium chloride", "82Rb"), "n13": ("N-13 ammonia", "13N")}


@dataclass(frozen=True)
class DynamicPetPhantom:
    """A dynamic cardiac PET phantom.

    ``image``: :class:`~heartprint.image.Image` ``(t, z, y, x)`` in Bq/mL (decay-corrected to the scan
    start unless built with ``decay_corrected=False``), modality "PT"; ``expected``: the same without noise;
    ``myocardium``: boolean ``(z, y, x)`` mask of voxels at least half myocardium; ``truth``: see
    :func:`make_dynamic_pet_image`.
    """

    image: Image
    expected: np.ndarray
    myocardium: np.ndarray
    truth: dict[str, Any] = field(default_factory=dict)


def _frame_mean(y: np.ndarray, t: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Frame means of samples ``y`` on the uniform grid ``t`` (trapezoid, edges interpolated) — as make_dynamic_pet."""
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (y[1:] + y[:-1]) * np.diff(t))])
    return (np.interp(ends, t, cum) - np.interp(starts, t, cum)) / (ends - starts)


def _segment_mbf(mbf_by_territory: float | Mapping[str, float]) -> dict[int, float]:
    if isinstance(mbf_by_territory, Mapping):
        keys = {str(k).upper(): float(v) for k, v in mbf_by_territory.items()}
        canon = {t.upper(): t for t in _TERRITORIES}
        bad = set(keys) - set(canon)
        if bad or len(keys) != 3:
            raise InvalidInputError(f"mbf_by_territory={dict(mbf_by_territory)!r}: expected the keys LAD, RCA, LCx")
        by_t = {canon[k]: v for k, v in keys.items()}
    else:
        try:
            g = float(mbf_by_territory)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"mbf_by_territory={mbf_by_territory!r}: expected a number or a dict") from exc
        by_t = {t: g for t in _TERRITORIES}
    for t, v in by_t.items():
        if not (math.isfinite(v) and 0.05 <= v <= 10.0):
            raise InvalidInputError(f"MBF {t}={v!r}: expected 0.05–10 mL/min/g")
    return {s: by_t[territory_of(s)] for s in range(1, 18)}


def make_dynamic_pet_image(
    mbf_by_territory: float | Mapping[str, float] = 2.5,
    *,
    tracer: str = "rb82",
    state: str = "stress",
    frame_durations_s: Sequence[float] = (10.0,) * 12 + (30.0,) * 4 + (60.0,) * 4,
    noise_cv: float = 0.05,
    seed: int = 0,
    voxel_mm: float = 4.0,
    matrix: int = 56,
    fwhm_mm: float = 8.0,
    edv_ml: float = 120.0,
    wall_mm: float = 12.0,
    axis_tilt_deg: tuple[float, float] = (35.0, 40.0),
    rv: bool = True,
    rv_lead_s: float = 4.0,
    background_flow: float = 0.1,
    peak_bq_per_ml: float = 3.0e5,
    decay_corrected: bool = True,
    supersample: int = 3,
    study_uid: str | None = None,
) -> DynamicPetPhantom:
    """Build a dynamic PET image of the heart whose myocardial TACs follow known MBF (module docstring).

    Parameters
    ----------
    mbf_by_territory
        MBF (mL/min/g): one number for the whole LV, or ``{"LAD": …, "RCA": …, "LCx": …}``.
    tracer
        "rb82" or "n13" (ammonia; also "nh3", "n13-ammonia").
    state
        "stress" or "rest" (image kind ``nm_perfusion_stress`` / ``nm_perfusion_rest``).
    frame_durations_s
        Consecutive frames from t = 0 (injection).
    noise_cv, seed
        Noise (module docstring) from ``numpy.random.default_rng(seed)``; 0 → no noise.
    voxel_mm, matrix, fwhm_mm
        Isotropic voxel (mm), grid ``matrix³`` (axial: z S, y P, x L, centred on LPS 0), PET resolution (mm FWHM).
    edv_ml, wall_mm, axis_tilt_deg
        LV geometry, as in ``make_perfusion_phantom``.
    rv, rv_lead_s
        Include the RV blood pool; its bolus arrives ``rv_lead_s`` earlier than the LV's.
    background_flow
        MBF-equivalent flow (mL/min/g) of the body background tissue.
    decay_corrected
        True: pixel values decay-corrected to the scan start (meta ``decay_correction`` "START");
        False: the frame means of the *decaying* activity (meta "NONE"); the truth TACs are always decay-corrected.

    Returns
    -------
    DynamicPetPhantom
        ``truth``: ``mbf_segments`` {1..17: MBF}, ``mbf_territories`` {LAD/RCA/LCx: MBF}, ``mbf_global``
        (mean over the myocardial volume), ``k1_segments``, ``k2_segments`` (mL/min/g, 1/min), ``vb_myocardium``
        (intrinsic 0.05; the fitted Vb also holds spill-over), ``lv_axis`` (apex_lps, base_lps, anterior, septal),
        ``frame_start_s``, ``frame_duration_s``, ``frame_mid_s``, ``blood_tac`` (LV input, frame means),
        ``segment_tacs`` {segment: noiseless myocardial-tissue TAC, frame means, before blur},
        ``segment_volume_ml``, ``tracer``, ``half_life_s``, ``noise_cv``, ``decay_factor``.
    """
    key = str(tracer).strip().lower().replace("-", "").replace("_", "")
    key = {"rb82": "rb82", "82rb": "rb82", "rubidium": "rb82", "n13": "n13", "nh3": "n13", "n13ammonia": "n13",
           "ammonia": "n13", "13nammonia": "n13"}.get(key)
    if key is None:
        raise InvalidInputError(f"tracer={tracer!r}: expected 'rb82' or 'n13' (ammonia)")
    if state not in ("stress", "rest"):
        raise InvalidInputError(f"state={state!r}: expected 'stress' or 'rest'")
    seg_mbf = _segment_mbf(mbf_by_territory)
    for name, val, lo, hi in (("noise_cv", noise_cv, 0.0, 1.0), ("voxel_mm", voxel_mm, 1.0, 10.0),
                              ("fwhm_mm", fwhm_mm, 0.0, 30.0), ("wall_mm", wall_mm, 3.0, 30.0),
                              ("edv_ml", edv_ml, 20.0, 500.0), ("rv_lead_s", rv_lead_s, 0.0, 5.0),
                              ("background_flow", background_flow, 0.01, 2.0)):
        if not (isinstance(val, (int, float)) and math.isfinite(val) and lo <= val <= hi):
            raise InvalidInputError(f"{name}={val!r}: expected a number in {lo}–{hi}")
    if int(matrix) != matrix or not 24 <= matrix <= 160:
        raise InvalidInputError(f"matrix={matrix!r}: expected an integer 24–160")
    if int(supersample) != supersample or not 1 <= supersample <= 6:
        raise InvalidInputError(f"supersample={supersample!r}: expected an integer 1–6")
    durs = np.asarray(frame_durations_s, dtype=float)
    if durs.ndim != 1 or durs.size < 4 or not np.all(np.isfinite(durs)) or np.any(durs <= 0):
        raise InvalidInputError(f"frame_durations_s={frame_durations_s!r}: expected ≥ 4 positive durations (s)")
    matrix, supersample = int(matrix), int(supersample)

    # -- TACs (exact 1TCM of make_dynamic_pet, one call per distinct flow) ----------------------
    common = dict(tracer=key, frame_durations_s=durs, blood_volume=0.0, spillover=0.0, noise_cv=0.0,
                  peak_bq_per_ml=peak_bq_per_ml)
    by_flow = {f: make_dynamic_pet(f, **common) for f in sorted(set(seg_mbf.values()))}
    ref = next(iter(by_flow.values()))
    starts, mid = ref.frame_start_s, ref.frame_mid_s
    ends = starts + durs
    cb = ref.blood_tac_true
    bg_ph = make_dynamic_pet(float(background_flow), **common)
    bg_tac = (1.0 - _BG_VB) * bg_ph.myocardium_tac_true + _BG_VB * cb
    t_fine = np.arange(int(math.ceil(ends[-1] / 0.05)) + 1) * 0.05
    rv_params = dict(ref.input_params, t0=ref.input_params["t0"] - float(rv_lead_s))
    rv_tac = _frame_mean(_input_function(t_fine, rv_params), t_fine, starts, ends)
    seg_tac = {s: (1.0 - _VB_MYO) * by_flow[f].myocardium_tac_true + _VB_MYO * cb for s, f in seg_mbf.items()}

    # -- geometry (shared with make_perfusion_phantom) -------------------------------------------
    ed = _ed_shape(float(edv_ml), float(wall_mm))
    d = _tilt_direction(tuple(float(v) for v in axis_tilt_deg))
    frame = lv_frame_from_direction(d)
    base = -d * ed.le / 2.0
    heart = _Heart(base, d, frame["anterior"], frame["septal"])
    vox = float(voxel_mm)
    origin = np.full(3, -(matrix - 1) / 2.0 * vox)
    img0 = Image.from_array(np.zeros((1, 1, 1)), (vox, vox, vox), origin=tuple(origin))
    rv_rad = 0.75 * ed.rc
    rv_centre = base + d * (0.5 * ed.lc) + frame["septal"] * (ed.re + rv_rad)
    rv_semi_long = 0.7 * ed.lc

    reach = max(ed.re, ed.le) + (2 * rv_rad + 2 * vox if rv else 2 * vox)
    corner = np.array([[i, j, k] for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)], dtype=float)
    idx = img0.lps_to_index(base + corner * reach)
    lo = np.clip(np.floor(idx.min(axis=0)).astype(int), 0, matrix - 1)
    hi = np.clip(np.ceil(idx.max(axis=0)).astype(int) + 1, 1, matrix)
    nb = hi - lo
    sub = (np.arange(supersample) + 0.5) / supersample - 0.5
    fz, fy, fx = (np.add.outer(np.arange(lo[i], hi[i]), sub).ravel() for i in range(3))
    FZ, FY, FX = np.meshgrid(fz, fy, fx, indexing="ij")
    pts = img0.index_to_lps(np.stack([FZ, FY, FX], axis=-1).reshape(-1, 3))
    s, r, theta = heart.local(pts)
    cav = (s >= 0) & ((r / ed.rc) ** 2 + (s / ed.lc) ** 2 < 1.0)
    myo = (s >= 0) & ((r / ed.re) ** 2 + (s / ed.le) ** 2 <= 1.0) & ~cav
    # compartment label: 0 body, 1..17 segment, 18 LV cavity, 19 RV cavity
    lab = np.zeros(len(pts), dtype=np.int64)
    lab[myo] = aha_segment_of(theta[myo], s[myo], ed.lc)
    lab[cav] = 18
    if rv:
        rel = pts - rv_centre
        along = rel @ d
        perp = np.linalg.norm(rel - along[:, None] * d, axis=1)
        rvm = ((perp / rv_rad) ** 2 + (along / rv_semi_long) ** 2 < 1.0) & ~myo & ~cav
        lab[rvm] = 19
    # voxel index of each fine point inside the box
    vz, vy, vx = (np.repeat(np.arange(n), supersample) for n in nb)
    VZ, VY, VX = np.meshgrid(vz, vy, vx, indexing="ij")
    vflat = (VZ * nb[1] * nb[2] + VY * nb[2] + VX).ravel()
    n_box = int(np.prod(nb))
    frac = np.bincount(lab * n_box + vflat, minlength=20 * n_box).reshape(20, n_box) / supersample ** 3

    tacs = np.zeros((20, durs.size))
    tacs[0] = bg_tac
    for sgm in range(1, 18):
        tacs[sgm] = seg_tac[sgm]
    tacs[18] = cb
    tacs[19] = rv_tac
    box = (frac.T @ tacs).T.reshape(durs.size, *nb)  # (t, box)
    expected = np.broadcast_to(bg_tac[:, None, None, None], (durs.size, matrix, matrix, matrix)).copy()
    expected[:, lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = box
    sigma = float(fwhm_mm) / (2.0 * math.sqrt(2.0 * math.log(2.0))) / vox
    if sigma > 0:
        expected = np.stack([gaussian_filter(f, sigma, mode="nearest") for f in expected])
    myo_mask = np.zeros((matrix,) * 3, dtype=bool)
    myo_mask[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = (frac[1:18].sum(axis=0) >= 0.5).reshape(*nb)

    half_life = _HALF_LIFE_S[key]
    lam = math.log(2.0) / half_life
    decay = lam * durs / (np.exp(-lam * starts) * (1.0 - np.exp(-lam * durs)))  # frame-mean correction factor
    rng = np.random.default_rng(seed)
    if noise_cv > 0:
        c_ref = float(expected[-1][myo_mask].mean())
        var = noise_cv**2 * np.clip(expected, 0.0, None) * c_ref * (durs[-1] / durs)[:, None, None, None] \
            * (decay / decay[-1])[:, None, None, None]
        image_arr = expected + np.sqrt(var) * rng.standard_normal(expected.shape)
    else:
        image_arr = expected.copy()
    if not decay_corrected:
        image_arr = image_arr / decay[:, None, None, None]
    name, nuclide = _TRACER_NAMES[key]
    meta = {
        "tracer": name, "radionuclide": nuclide, "radionuclide_half_life_s": half_life,
        "units": "BQML", "decay_correction": "START" if decay_corrected else "NONE",
        "frame_start_ms": (starts * 1000.0).tolist(), "frame_duration_ms": (durs * 1000.0).tolist(),
        "nm_state": state, "pet_series_type": ["DYNAMIC", "IMAGE"],
        "series_description": f"{state.upper()} dynamic cardiac PET {name} (heartprint phantom)",
    }
    image = Image.from_array(image_arr.astype(np.float32), (vox, vox, vox), origin=tuple(origin),
                             frame_times_ms=starts * 1000.0, study_uid=study_uid or generate_uid(),
                             series_uid=generate_uid(), modality="PT", kind=f"nm_perfusion_{state}", meta=meta)

    seg_vol = frac[1:18].sum(axis=1) * vox**3 / 1000.0  # mL (grid estimate)
    k1 = {sg: float(by_flow[f].truth["k1"]) for sg, f in seg_mbf.items()}
    k2 = {sg: float(by_flow[f].truth["k2"]) for sg, f in seg_mbf.items()}
    apex = base + d * ed.la
    terr = {t: float(np.average([seg_mbf[sg] for sg in range(1, 18) if territory_of(sg) == t],
                                weights=[seg_vol[sg - 1] for sg in range(1, 18) if territory_of(sg) == t]))
            for t in _TERRITORIES}
    truth: dict[str, Any] = {
        "state": state, "tracer": key, "half_life_s": half_life,
        "mbf_segments": dict(seg_mbf), "mbf_territories": terr,
        "mbf_global": float(np.average([seg_mbf[sg] for sg in range(1, 18)], weights=seg_vol)),
        "k1_segments": k1, "k2_segments": k2, "vb_myocardium": _VB_MYO,
        "lv_axis": {"apex_lps": apex.tolist(), "base_lps": base.tolist(), "anterior": frame["anterior"].tolist(),
                    "septal": frame["septal"].tolist(), "long_axis": frame["long_axis"].tolist()},
        "frame_start_s": starts.tolist(), "frame_duration_s": durs.tolist(), "frame_mid_s": mid.tolist(),
        "blood_tac": cb.tolist(), "rv_blood_tac": rv_tac.tolist(), "background_tac": bg_tac.tolist(),
        "segment_tacs": {sg: v.tolist() for sg, v in seg_tac.items()},
        "segment_volume_ml": {sg: float(seg_vol[sg - 1]) for sg in range(1, 18)},
        "shape_mm": {"rc": ed.rc, "lc": ed.lc, "re": ed.re, "le": ed.le, "wall": float(wall_mm)},
        "noise_cv": float(noise_cv), "seed": int(seed), "fwhm_mm": float(fwhm_mm), "voxel_mm": vox,
        "decay_factor": decay.tolist(), "decay_corrected": bool(decay_corrected),
        "input_params": dict(ref.input_params), "rv": bool(rv),
        "units": {"mbf": "mL/min/g", "k1": "mL/min/g", "k2": "1/min", "tac": "Bq/mL", "time": "s"},
    }
    return DynamicPetPhantom(image=image, expected=expected, myocardium=myo_mask, truth=truth)

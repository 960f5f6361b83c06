"""Tissue-characterisation phantoms (LGE, MOLLI T1, T2, T2*) with exact answers.

Anatomy: a stepped **annulus LV model** — in each short-axis slab the LV is a circular
cavity inside a 10 mm circular wall, constant through the 8 mm slab, so every area and
volume is closed-form. Slices 0–8 hold LV cavity (radius 26 mm at the base, −1.5 mm per
slice), slice 9 is the apical cap (myocardial disc, radius 12 mm, no cavity). The RV
cavity (slices 0–7) is an ellipse minus the LV epicardial disc, built so that it meets the
epicardium exactly at ±60° about the septal direction: the two RV insertion points, so the
septal arc is 120°. In-plane pixels are 1.4 mm (160 × 160), slices 8 mm; the affine is
axial-like (x → L, y → P, z → S) and the septum points to −x (patient right).

AHA convention (Cerqueira 2002, as in :mod:`heartprint.anatomy`): φ is measured from the
anterior insertion towards the septum; with 9 cavity slices, 0–2 are basal, 3–5 mid,
6–8 apical and 9 the apex.

Image formation: each voxel is the mean of 4 × 4 in-plane sub-samples of the tissue class
(partial volume; nothing varies through the slab), the signal equation of each class is
applied per sub-sample, and Rician noise is added (magnitude of a complex Gaussian with
per-channel SD ``noise_sd``), rounded to integers for DICOM (uint16).

* **LGE** — bright blood, nulled remote myocardium, scar of known extent and depth per
  segment (:data:`DEFAULT_SCARS`), a dark microvascular-obstruction core (MVO) in the
  subendocardium of a transmural infarct.
* **MOLLI** — 3(3)5-like scheme TIs 100, 180, 260, 1100, 1180, 1260, 2100, 2200 ms on 3
  slices (basal, mid, apical); signal ``|A − B·exp(−TI/T1*)|`` with ``A = M0·T1*/T1``,
  ``B = A + M0`` (ideal inversion) and apparent ``1/T1* = 1/T1 + κ`` (κ = 1/3000 ms⁻¹ ≈
  the readout's extra relaxation), so that the Look-Locker correction
  ``T1 = T1*·(B/A − 1)`` (Messroghli 2004) is exact for the model.
* **T2** — multi-echo ``M0·exp(−TE/T2)``; **T2*** — multi-echo gradient echo
  ``M0·exp(−TE/T2*)`` down to the Rician noise floor.

DICOM: :func:`write_tissue_dicom` writes any of these as MR Image Storage with (0018,0082)
Inversion Time or (0018,0081) Echo Time per image (passes dciodvfy).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from heartprint.errors import InvalidInputError
from heartprint.image import Image, affine_from_geometry
from heartprint.phantoms._dicom_common import (SeriesHeader, _ds, check_out_dir, image_dataset, image_uids,
                                               set_image_plane, set_mr_acquisition, set_pixels, write_series)

__all__ = [
    "DEFAULT_SCARS",
    "MOLLI_TIS_MS",
    "ScarSpec",
    "TissuePhantom",
    "make_lge_sax",
    "make_molli_series",
    "make_t2_series",
    "make_t2star_series",
    "write_tissue_dicom",
]

MOLLI_TIS_MS = (100.0, 180.0, 260.0, 1100.0, 1180.0, 1260.0, 2100.0, 2200.0)
_KAPPA_PER_MS = 1.0 / 3000.0
_MYOCARDIAL_DENSITY_G_PER_ML = 1.05  # same constant as heartprint.cmr.MYOCARDIAL_DENSITY_G_PER_ML
_SHAPE = (10, 160, 160)
_SPACING = (8.0, 1.4, 1.4)
_CENTRE_YX = (80.0, 80.0)  # LV axis, pixel units
_WALL = 10.0
_CAP_R = 12.0
_N_CAVITY = 9
_N_RV = 8
_SUB = 4
_SEPTAL_ARC = 120.0
_ANT_THETA = 240.0  # image angle (x right, y down) of the anterior insertion; septum at 180°
_LEVEL_OF = {**{z: "basal" for z in (0, 1, 2)}, **{z: "mid" for z in (3, 4, 5)},
             **{z: "apical" for z in (6, 7, 8)}, 9: "apex"}

# tissue classes
_AIR, _BODY, _BLOOD, _MYO, _SCAR, _MVO, _RV = range(7)


@dataclass(frozen=True)
class ScarSpec:
    """Scar in one AHA segment: wall-depth range (0 endo → 1 epi), angular inset (deg), MVO core."""

    segment: int
    depth: tuple[float, float]
    pattern: str
    inset_deg: float = 6.0
    mvo_depth: tuple[float, float] | None = None
    mvo_half_width_deg: float = 15.0


#: Default scars: anterior transmural (1, 7), inferior subendocardial 40 % (4), mid-wall
#: stripe in the basal inferoseptum (3), transmural mid inferior with a subendocardial MVO
#: core (10), epicardial mid anterolateral (12).
DEFAULT_SCARS: tuple[ScarSpec, ...] = (
    ScarSpec(1, (0.0, 1.0), "transmural"),
    ScarSpec(7, (0.0, 1.0), "transmural"),
    ScarSpec(4, (0.0, 0.4), "subendocardial"),
    ScarSpec(3, (0.35, 0.65), "mid_wall"),
    ScarSpec(10, (0.0, 1.0), "transmural", mvo_depth=(0.0, 0.3)),
    ScarSpec(12, (0.7, 1.0), "epicardial"),
)

# φ ranges (deg, from the anterior insertion toward the septum) of each segment
_SEG_PHI = {**{s: ((s - 2) % 6 * 60.0, (s - 2) % 6 * 60.0 + 60.0) for s in range(1, 7)},
            **{s: ((s - 8) % 6 * 60.0, (s - 8) % 6 * 60.0 + 60.0) for s in range(7, 13)},
            14: (15.0, 105.0), 15: (105.0, 195.0), 16: (195.0, 285.0), 13: (285.0, 375.0)}
_SEG_LEVEL = {**{s: "basal" for s in range(1, 7)}, **{s: "mid" for s in range(7, 13)},
              **{s: "apical" for s in range(13, 17)}}


@dataclass
class TissuePhantom:
    """A tissue phantom: image (``(z, y, x)`` or ``(t, z, y, x)``), labels, maps and truth."""

    image: Image
    labels: np.ndarray
    truth: dict[str, Any]
    maps: dict[str, np.ndarray] = field(default_factory=dict)
    times_ms: np.ndarray | None = None
    time_tag: str | None = None  # "InversionTime" or "EchoTime"

    def write_dicom(self, out_dir, **kwargs) -> list[Path]:
        return write_tissue_dicom(self, out_dir, **kwargs)


def _r_endo(z: int) -> float:
    return 26.0 - 1.5 * z


def _rv_ellipse(r_epi: float) -> tuple[float, float, float]:
    """(centre offset d along −x, semi-axis along x, semi-axis along y) meeting the epicardium at 180°±60°."""
    d = r_epi + 6.0
    ra = r_epi / 2.0 + 16.0
    xp = d - r_epi / 2.0
    yp = r_epi * np.sin(np.radians(_SEPTAL_ARC / 2))
    rb = yp / np.sqrt(1.0 - (xp / ra) ** 2)
    return d, ra, rb


def _phi(theta_deg: np.ndarray) -> np.ndarray:
    return np.mod(_ANT_THETA - theta_deg, 360.0)


def _in_phi(phi: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.mod(phi - lo, 360.0) < (hi - lo)


def _classes(z: int, scars: Sequence[ScarSpec], sub: int = _SUB) -> np.ndarray:
    """Tissue class of every sub-sample of slice ``z``: ``(ny*sub, nx*sub)``."""
    ny, nx = _SHAPE[1:]
    dy, dx = _SPACING[1:]
    off = (np.arange(sub) + 0.5) / sub - 0.5
    yy = (np.arange(ny)[:, None] + off[None, :]).reshape(-1)
    xx = (np.arange(nx)[:, None] + off[None, :]).reshape(-1)
    ym = (yy - _CENTRE_YX[0]) * dy
    xm = (xx - _CENTRE_YX[1]) * dx
    y2, x2 = np.meshgrid(ym, xm, indexing="ij")
    r = np.hypot(x2, y2)
    theta = np.degrees(np.arctan2(y2, x2))
    phi = _phi(theta)
    cls = np.full(r.shape, _AIR, dtype=np.int8)
    cls[(x2 / 140.0) ** 2 + ((y2 - 10.0) / 105.0) ** 2 <= 1.0] = _BODY
    if z < _N_CAVITY:
        r_i = _r_endo(z)
        r_o = r_i + _WALL
        if z < _N_RV:
            d, ra, rb = _rv_ellipse(r_o)
            rv = (((x2 + d) / ra) ** 2 + (y2 / rb) ** 2 <= 1.0) & (r >= r_o)
            cls[rv] = _RV
        cls[r < r_i] = _BLOOD
        myo = (r >= r_i) & (r < r_o)
        cls[myo] = _MYO
        depth = (r - r_i) / _WALL
        level = _LEVEL_OF[z]
        for sc in scars:
            if _SEG_LEVEL.get(sc.segment) != level:
                continue
            lo, hi = _SEG_PHI[sc.segment]
            sector = _in_phi(phi, lo + sc.inset_deg, hi - sc.inset_deg)
            inside = myo & sector & (depth >= sc.depth[0]) & (depth < sc.depth[1])
            cls[inside] = _SCAR
            if sc.mvo_depth is not None:
                mid = (lo + hi) / 2.0
                core = (myo & _in_phi(phi, mid - sc.mvo_half_width_deg, mid + sc.mvo_half_width_deg)
                        & (depth >= sc.mvo_depth[0]) & (depth < sc.mvo_depth[1]))
                cls[core] = _MVO
    else:
        cls[r < _CAP_R] = _MYO
    return cls


def _downsample(a: np.ndarray, sub: int = _SUB) -> np.ndarray:
    ny, nx = a.shape[0] // sub, a.shape[1] // sub
    return a.reshape(ny, sub, nx, sub).mean(axis=(1, 3))


def _labels_from_classes(cls: np.ndarray, sub: int = _SUB) -> np.ndarray:
    groups = {0: (_AIR, _BODY), 1: (_BLOOD,), 2: (_MYO, _SCAR, _MVO), 3: (_RV,)}
    counts = np.stack([_downsample(np.isin(cls, g).astype(float), sub) for g in groups.values()])
    return np.argmax(counts, axis=0).astype(np.uint8)  # ties go to the lower label


def _rician(clean: np.ndarray, sd: float, rng: np.random.Generator) -> np.ndarray:
    if sd <= 0:
        return np.abs(clean)
    return np.abs(clean + rng.normal(0, sd, clean.shape) + 1j * rng.normal(0, sd, clean.shape))


def _affine() -> np.ndarray:
    return affine_from_geometry(_SPACING, origin=(-112.0, -112.0, -40.0))


def _sector_area(r1: float, r2: float, dphi_deg: float) -> float:
    return 0.5 * np.radians(dphi_deg) * (r2 * r2 - r1 * r1)


def _lge_truth(scars: Sequence[ScarSpec]) -> dict[str, Any]:
    dz = _SPACING[0]
    myo_mm3 = sum(np.pi * ((_r_endo(z) + _WALL) ** 2 - _r_endo(z) ** 2) * dz for z in range(_N_CAVITY))
    myo_mm3 += np.pi * _CAP_R**2 * dz
    scar_mm3 = 0.0
    mvo_mm3 = 0.0
    per_seg: dict[int, dict[str, Any]] = {}
    for sc in scars:
        level = _SEG_LEVEL[sc.segment]
        lo, hi = _SEG_PHI[sc.segment]
        zs = [z for z, lv in _LEVEL_OF.items() if lv == level]
        seg_area = scar_area = 0.0
        for z in zs:
            r_i = _r_endo(z)
            seg_area += _sector_area(r_i, r_i + _WALL, hi - lo)
            a = _sector_area(r_i + sc.depth[0] * _WALL, r_i + sc.depth[1] * _WALL, hi - lo - 2 * sc.inset_deg)
            scar_area += a
            if sc.mvo_depth is not None:
                mvo_mm3 += _sector_area(r_i + sc.mvo_depth[0] * _WALL, r_i + sc.mvo_depth[1] * _WALL,
                                        2 * sc.mvo_half_width_deg) * dz
        scar_mm3 += scar_area * dz
        per_seg[sc.segment] = {
            "extent_pct": 100.0 * scar_area / seg_area,
            "transmurality_pct": 100.0 * (sc.depth[1] - sc.depth[0]),
            "pattern": sc.pattern,
            "depth": list(sc.depth),
        }
    return {
        "lv_myocardium_ml": myo_mm3 / 1000.0,
        "scar_ml": scar_mm3 / 1000.0,
        "scar_g": scar_mm3 / 1000.0 * _MYOCARDIAL_DENSITY_G_PER_ML,
        "scar_pct_lv": 100.0 * scar_mm3 / myo_mm3,
        "mvo_ml": mvo_mm3 / 1000.0,
        "segments": per_seg,
        "levels": {str(z): lv for z, lv in _LEVEL_OF.items()},
        "insertion_septal_arc_deg": _SEPTAL_ARC,
        "spacing_mm": list(_SPACING),
        "note": "volumes from the closed-form stepped annulus model (partial volume is in the image, not the truth)",
    }


def make_lge_sax(
    *,
    scars: Sequence[ScarSpec] = DEFAULT_SCARS,
    blood: float = 650.0,
    remote: float = 40.0,
    scar: float = 900.0,
    mvo: float = 40.0,
    body: float = 150.0,
    rv_blood: float = 650.0,
    noise_sd: float = 15.0,
    seed: int = 0,
) -> TissuePhantom:
    """LGE short-axis stack ``(10, 160, 160)`` at 8 × 1.4 × 1.4 mm with known scar.

    Returns
    -------
    TissuePhantom
        ``.image`` (``(z, y, x)`` integers, kind ``"lge"``), ``.labels`` (heartprint labels
        by sub-sample plurality), ``.maps["scar_fraction"]`` (partial-volume fraction of scar
        incl. MVO per voxel), ``.maps["mvo_fraction"]`` and ``.truth``: ``scar_ml``,
        ``scar_g`` (1.05 g/mL), ``scar_pct_lv``, ``mvo_ml``, ``lv_myocardium_ml`` and per
        segment ``extent_pct`` (area fraction), ``transmurality_pct`` (radial depth of the
        scar along chords that contain it) and ``pattern``.
    """
    rng = np.random.default_rng(seed)
    value = np.zeros(7)
    value[[_AIR, _BODY, _BLOOD, _MYO, _SCAR, _MVO, _RV]] = [0.0, body, blood, remote, scar, mvo, rv_blood]
    nz, ny, nx = _SHAPE
    clean = np.zeros(_SHAPE)
    labels = np.zeros(_SHAPE, dtype=np.uint8)
    scar_frac = np.zeros(_SHAPE)
    mvo_frac = np.zeros(_SHAPE)
    for z in range(nz):
        cls = _classes(z, scars)
        clean[z] = _downsample(value[cls])
        labels[z] = _labels_from_classes(cls)
        scar_frac[z] = _downsample(np.isin(cls, (_SCAR, _MVO)).astype(float))
        mvo_frac[z] = _downsample((cls == _MVO).astype(float))
    img = np.clip(np.rint(_rician(clean, noise_sd, rng)), 0, 65535)
    image = Image(img, _affine(), modality="MR", kind="lge",
                  meta={"series_description": "LGE SAX PHANTOM", "inversion_time_ms": 300.0})
    truth = _lge_truth(scars)
    truth.update({"noise_sd": noise_sd, "intensities": {"blood": blood, "remote": remote, "scar": scar, "mvo": mvo}})
    return TissuePhantom(image, labels, truth, {"scar_fraction": scar_frac, "mvo_fraction": mvo_frac})


def _param_maps(z_list: Sequence[int], values: dict[int, float], focal: dict[int, float] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class parameter maps (sub-sampled) for the given slices: returns (param, m0, labels)."""
    m0_of = {_AIR: 0.0, _BODY: 800.0, _BLOOD: 1200.0, _MYO: 1000.0, _SCAR: 1000.0, _MVO: 1000.0, _RV: 1200.0}
    focal_spec = (ScarSpec(7, (0.0, 1.0), "focal"),) if focal else ()
    params, m0s, labs = [], [], []
    for z in z_list:
        cls = _classes(z, focal_spec)
        lut = np.array([values.get(c, values[_BODY]) for c in range(7)], dtype=float)
        if focal:
            lut[_SCAR] = focal[_MYO]
        params.append(lut[cls])
        m0s.append(np.array([m0_of[c] for c in range(7)])[cls])
        labs.append(_labels_from_classes(cls))
    return np.stack(params), np.stack(m0s), np.stack(labs)


_MAP_SLICES = (1, 4, 7)


def _slice_affine(z_list: Sequence[int]) -> np.ndarray:
    aff = _affine()
    step = z_list[1] - z_list[0] if len(z_list) > 1 else 1
    out = aff.copy()
    out[:3, 3] = aff[:3, 3] + aff[:3, 0] * z_list[0]
    out[:3, 0] = aff[:3, 0] * step
    return out


def molli_signal(t1_ms: np.ndarray, m0: np.ndarray, inversion_times_ms: Sequence[float]) -> np.ndarray:
    """Signed MOLLI signal ``A − B·exp(−TI/T1*)`` for each TI: shape ``(n_TI, *t1_ms.shape)``.

    ``1/T1* = 1/T1 + κ`` (κ = 1/3000 ms⁻¹), ``A = M0·T1*/T1``, ``B = A + M0`` (ideal
    inversion), so the Look-Locker correction ``T1 = T1*·(B/A − 1)`` (Messroghli 2004) is
    exact. Take the magnitude (with noise, :func:`_rician`) for magnitude images.
    """
    t1 = np.asarray(t1_ms, dtype=float)
    tis = np.asarray(inversion_times_ms, dtype=float).reshape((-1,) + (1,) * t1.ndim)
    t1s = t1 / (1.0 + _KAPPA_PER_MS * t1)
    a = np.asarray(m0, dtype=float) * t1s / t1
    b = a + np.asarray(m0, dtype=float)
    return a[None] - b[None] * np.exp(-tis / t1s[None])


def make_molli_series(
    *,
    t1_myocardium_ms: float = 1000.0,
    t1_blood_ms: float = 1600.0,
    t1_body_ms: float = 900.0,
    focal_t1_ms: float | None = None,
    inversion_times_ms: Sequence[float] = MOLLI_TIS_MS,
    noise_sd: float = 20.0,
    slices: Sequence[int] = _MAP_SLICES,
    seed: int = 0,
) -> TissuePhantom:
    """MOLLI source images ``(n_TI, 3, 160, 160)`` from known T1 maps (slices basal, mid, apical).

    ``focal_t1_ms`` sets T1 in a mid-anterior (segment 7) transmural sector. Noise is Rician
    with per-channel SD ``noise_sd`` (M0: myocardium 1000, blood 1200). Truth: ``.maps["t1"]``
    (sub-sample mean per voxel), ``.truth["t1_myocardium_ms"]``, ``["t1_blood_ms"]``.
    """
    rng = np.random.default_rng(seed)
    tis = np.asarray(inversion_times_ms, dtype=float)
    values = {_AIR: 1000.0, _BODY: t1_body_ms, _BLOOD: t1_blood_ms, _MYO: t1_myocardium_ms,
              _SCAR: t1_myocardium_ms, _MVO: t1_myocardium_ms, _RV: t1_blood_ms}
    focal = {_MYO: focal_t1_ms} if focal_t1_ms else None
    t1, m0, labels = _param_maps(slices, values, focal)
    sig = molli_signal(t1, m0, tis)
    clean = np.stack([np.stack([_downsample(sig[i, k]) for k in range(len(slices))]) for i in range(len(tis))])
    noisy = np.clip(np.rint(_rician(clean, noise_sd, rng)), 0, 65535)
    image = Image(noisy, _slice_affine(slices), frame_times_ms=tis, modality="MR", kind="t1_map",
                  meta={"series_description": "MOLLI 5(3)3 SAX PHANTOM", "inversion_times_ms": tis.tolist()})
    t1_vox = np.stack([_downsample(t1[k]) for k in range(len(slices))])
    truth = {"t1_myocardium_ms": t1_myocardium_ms, "t1_blood_ms": t1_blood_ms, "focal_t1_ms": focal_t1_ms,
             "kappa_per_ms": _KAPPA_PER_MS, "noise_sd": noise_sd, "inversion_times_ms": tis.tolist(),
             "slices": list(slices), "levels": [_LEVEL_OF[z] for z in slices]}
    return TissuePhantom(image, labels, truth, {"t1": t1_vox}, tis, "InversionTime")


def _multi_echo(param: str, tissue_ms: dict[int, float], tes: np.ndarray, noise_sd: float, slices, seed) -> tuple:
    rng = np.random.default_rng(seed)
    vals, m0, labels = _param_maps(slices, tissue_ms, None)
    sig = m0[None] * np.exp(-tes[:, None, None, None] / vals[None])
    clean = np.stack([np.stack([_downsample(sig[i, k]) for k in range(len(slices))]) for i in range(len(tes))])
    noisy = np.clip(np.rint(_rician(clean, noise_sd, rng)), 0, 65535)
    vox = np.stack([_downsample(vals[k]) for k in range(len(slices))])
    return noisy, labels, vox


def make_t2_series(*, t2_myocardium_ms: float = 50.0, t2_blood_ms: float = 200.0,
                   echo_times_ms: Sequence[float] = tuple(10.0 * k for k in range(1, 9)),
                   noise_sd: float = 10.0, slices: Sequence[int] = _MAP_SLICES, seed: int = 0) -> TissuePhantom:
    """Multi-echo T2 series ``(n_TE, 3, 160, 160)``: ``M0·exp(−TE/T2)`` with Rician noise."""
    tes = np.asarray(echo_times_ms, dtype=float)
    vals = {_AIR: 50.0, _BODY: 40.0, _BLOOD: t2_blood_ms, _MYO: t2_myocardium_ms, _SCAR: t2_myocardium_ms,
            _MVO: t2_myocardium_ms, _RV: t2_blood_ms}
    noisy, labels, vox = _multi_echo("t2", vals, tes, noise_sd, slices, seed)
    image = Image(noisy, _slice_affine(slices), frame_times_ms=tes, modality="MR", kind="t2_map",
                  meta={"series_description": "T2 MAP MULTI-ECHO SAX PHANTOM", "echo_times_ms": tes.tolist()})
    truth = {"t2_myocardium_ms": t2_myocardium_ms, "t2_blood_ms": t2_blood_ms, "noise_sd": noise_sd,
             "echo_times_ms": tes.tolist()}
    return TissuePhantom(image, labels, truth, {"t2": vox}, tes, "EchoTime")


def make_t2star_series(*, t2star_myocardium_ms: float = 25.0, t2star_blood_ms: float = 100.0,
                       echo_times_ms: Sequence[float] = tuple(2.59 + 2.26 * k for k in range(8)),
                       noise_sd: float = 20.0, slices: Sequence[int] = (4,), seed: int = 0) -> TissuePhantom:
    """Multi-echo gradient-echo T2* series ``(n_TE, 1, 160, 160)`` (mid slice) with Rician noise.

    The noise floor (mean background magnitude) is ``noise_sd·sqrt(π/2)`` ≈ 1.25·``noise_sd``.
    """
    tes = np.asarray(echo_times_ms, dtype=float)
    vals = {_AIR: 20.0, _BODY: 30.0, _BLOOD: t2star_blood_ms, _MYO: t2star_myocardium_ms,
            _SCAR: t2star_myocardium_ms, _MVO: t2star_myocardium_ms, _RV: t2star_blood_ms}
    noisy, labels, vox = _multi_echo("t2star", vals, tes, noise_sd, slices, seed)
    image = Image(noisy, _slice_affine(slices), frame_times_ms=tes, modality="MR", kind="t2star_map",
                  meta={"series_description": "T2STAR MULTI-ECHO SAX PHANTOM", "echo_times_ms": tes.tolist()})
    truth = {"t2star_myocardium_ms": t2star_myocardium_ms, "t2star_blood_ms": t2star_blood_ms,
             "noise_sd": noise_sd, "noise_floor": float(noise_sd * np.sqrt(np.pi / 2)), "echo_times_ms": tes.tolist()}
    return TissuePhantom(image, labels, truth, {"t2star": vox}, tes, "EchoTime")


# ----------------------------------------------------------------------------- DICOM
def write_tissue_dicom(
    phantom: TissuePhantom,
    out_dir: str | os.PathLike,
    *,
    patient_name: str = "PHANTOM^TISSUE",
    patient_id: str = "HP-PHANTOM-0002",
    series_number: int = 10,
    patient_sex: str = "O",
    patient_age: str = "050Y",
    frame_of_reference_uid: str | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write a :class:`TissuePhantom` as single-frame MR Image Storage files, atomically.

    ``patient_sex``/``patient_age`` fill (0010,0040)/(0010,1010); ``frame_of_reference_uid`` is
    (0020,0052) Frame of Reference UID (default: a new one) — series of one study that share
    patient coordinates pass the same.

    LGE: one file per slice, (0018,0082) Inversion Time from ``meta["inversion_time_ms"]``.
    MOLLI: one file per (slice, TI) with (0018,0082) Inversion Time = TI and (0018,1060)
    Trigger Time = TI (so readers that order images by trigger time keep the TI order).
    T2/T2*: one file per (slice, echo) with (0018,0081) Echo Time and (0018,0086) Echo
    Numbers. Geometry tags as in :func:`~heartprint.phantoms.write_cine_sax_dicom`.
    """
    from pydicom.uid import MRImageStorage

    image = phantom.image
    arr = np.asarray(image.array)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.min() < 0 or arr.max() > 65535 or not np.all(arr == np.rint(arr)):
        raise InvalidInputError("phantom image values must be integers in 0..65535 to be stored as uint16")
    out = check_out_dir(out_dir, overwrite)
    n_t, n_z, n_y, n_x = arr.shape
    dz = image.spacing[0]
    times = phantom.times_ms if phantom.times_ms is not None else np.zeros(n_t)
    pixels = arr.astype(np.uint16)
    desc = image.meta.get("series_description", "PHANTOM")
    header = SeriesHeader(
        sop_class_uid=MRImageStorage, modality="MR", image_type=("ORIGINAL", "PRIMARY", "M", "NONE"),
        study_description="heartprint phantom CMR", series_description=desc,
        model_name="heartprint tissue phantom", protocol_name=desc,
        patient_name=patient_name, patient_id=patient_id, patient_sex=patient_sex, patient_age=patient_age,
        series_number=series_number, **image_uids(image, frame_of_reference_uid),
    )

    def datasets():
        for z in range(n_z):
            for t in range(n_t):
                ds = image_dataset(header, z * n_t + t + 1)
                set_mr_acquisition(ds, dz, n_y, n_x)
                if phantom.time_tag == "EchoTime":
                    ds.ScanningSequence = ["GR"] if image.kind == "t2star_map" else ["SE"]
                    ds.SequenceVariant = ["SP"]
                    ds.ScanOptions = ""
                    ds.EchoTime = _ds(times[t])
                    ds.EchoNumbers = str(t + 1)
                    ds.RepetitionTime = "20.0" if image.kind == "t2star_map" else "1000.0"
                else:
                    ds.ScanningSequence = ["GR", "IR"]
                    ds.SequenceVariant = ["SK", "SP"]
                    ds.ScanOptions = ["IR", "CG"] if phantom.time_tag == "InversionTime" else ["IR"]
                    ti = times[t] if phantom.time_tag == "InversionTime" else image.meta.get("inversion_time_ms", 300.0)
                    ds.InversionTime = _ds(ti)
                    ds.EchoTime = "1.1"
                    ds.EchoNumbers = "1"
                    ds.RepetitionTime = "2.6"
                    if phantom.time_tag == "InversionTime":
                        ds.TriggerTime = _ds(times[t])
                ds.SequenceName = "heartprint"
                ds.FlipAngle = "35"
                set_image_plane(ds, image, z)
                set_pixels(ds, pixels[t, z], "500", "1000")
                yield f"IM_z{z:03d}_t{t:03d}.dcm", ds

    return write_series(out, datasets())

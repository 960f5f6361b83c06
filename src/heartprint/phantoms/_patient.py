"""A multi-modality phantom patient: cine SAX, LGE and MOLLI T1 in one CMR study, a calcium-score CT,
and a stress/rest SPECT myocardial perfusion study.

One patient (one (0010,0020) Patient ID), three studies:

* **CMR study** — one Study Instance UID and one Frame of Reference UID for its three series:

  - **cine SAX** — :func:`~heartprint.phantoms.make_cine_sax` (beating heart, exact volumes).
  - **LGE** — one magnitude inversion-recovery image per cine slice position, on the cine's
    grid (same affine: same slice positions and orientation), made from the cine phantom's
    **end-diastolic labels**: LV and RV blood 600, remote myocardium nulled 40, scar 800;
    everything outside the heart labels is the noise-free end-diastolic cine image × 0.5
    (fat bright, lungs dark, atria and great vessels bright), all times the cine's coil
    sensitivity field, then Rician noise (per-channel SD ``lge_noise_sd``).
  - **MOLLI** — source images at 8 inversion times (:data:`~heartprint.phantoms._tissue.MOLLI_TIS_MS`)
    on three cine slice positions (the middle slice of the basal, mid and apical thirds), from a
    known T1 map on the same end-diastolic labels: myocardium 1000 ms, LV/RV blood 1600 ms,
    everything else 900 ms; M0 1000 (myocardium), 1200 (blood), the noise-free cine image
    elsewhere. Signal :func:`~heartprint.phantoms._tissue.molli_signal` (Look-Locker model, exact
    under the 3-parameter correction), magnitude with Rician noise.

* **CT study** — :func:`~heartprint.phantoms.make_calcium_phantom` (QRM-like inserts, analytic
  Agatston, volume and mass).

* **SPECT study** — gated stress and rest Tc-99m sestamibi perfusion
  (:func:`heartprint.phantoms._nuclear.make_stress_rest`) with one reversible anterior defect
  (:data:`DEMO_SPECT_DEFECT`: LAD territory), exact defect extent, territory and gated volumes.

Scar truth (stated method): AHA segments of the end-diastolic **truth labels** by
:func:`heartprint.anatomy.aha_segments` (which also gives each slice's angular frame φ). A
myocardial voxel is scar when its segment is one of ``scars`` (:class:`~heartprint.phantoms._tissue.ScarSpec`),
its φ lies inside that segment's sector inset by ``inset_deg`` on each side (so the scar does
not touch the neighbouring segments, whose boundary a measurement places slightly
differently), and its normalised wall depth — (r − r_endo)/(r_epi − r_endo) at the voxel
centre, with r_endo and r_epi the **analytic** end-diastolic ellipsoid radii at that level —
lies in ``depth``. Scar volume = voxel count × voxel volume; % of LV = scar voxels / LV
myocardium voxels of the truth labels. Transmurality truth is the depth range (100 % for
transmural, e.g. 40 % for ``depth=(0, 0.4)``).

The image is voxel-exact for the labels (no sub-voxel partial volume in LGE/MOLLI, unlike
the cine), so the truths above are exact for the images as written.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from pydicom.uid import generate_uid

from heartprint.errors import InvalidInputError
from heartprint.image import Image
from heartprint.labels import LV_CAVITY, LV_MYOCARDIUM, RV_CAVITY
from heartprint.phantoms._calcium import CalciumPhantom, make_calcium_phantom, write_calcium_dicom
from heartprint.phantoms._nuclear import Defect
from heartprint.phantoms._cine_sax import CinePhantom, _bias_field, make_cine_sax
from heartprint.phantoms._dicom import write_cine_sax_dicom
from heartprint.phantoms._geometry import disc_radius_mm
from heartprint.phantoms._tissue import (
    _SEG_PHI,
    MOLLI_TIS_MS,
    ScarSpec,
    TissuePhantom,
    _in_phi,
    _rician,
    molli_signal,
    write_tissue_dicom,
)

__all__ = ["DEMO_SCARS", "DemoPatient", "make_demo_patient", "write_demo_patient"]

#: LAD infarct: mid and apical anterior transmural; plus a basal inferior subendocardial scar
#: 40 % deep (an RCA-territory non-transmural infarct).
DEMO_SCARS: tuple[ScarSpec, ...] = (
    ScarSpec(7, (0.0, 1.0), "transmural"),
    ScarSpec(13, (0.0, 1.0), "transmural"),
    ScarSpec(4, (0.0, 0.4), "subendocardial"),
)

PATIENT_ID = "HP-DEMO-0001"
#: The demo SPECT study's one perfusion defect: anterior (LAD), basal to apical-mid, uptake 45 % of
#: normal at stress, normal at rest (reversible).
DEMO_SPECT_DEFECT = Defect(theta_deg=(330.0, 30.0), span=(0.3, 1.0), severity=0.45, reversible=True)
PATIENT_NAME = "PHANTOM^DEMO"
_PATIENT_SEX, _PATIENT_AGE = "M", "050Y"
_LGE_TI_MS = 300.0
_LEVELS = ("basal", "mid", "apical")


@dataclass(eq=False)
class DemoPatient:
    """The phantom patient: images and truth of every series (see the module docstring).

    Attributes
    ----------
    cine
        :class:`~heartprint.phantoms.CinePhantom` (``.image`` ``(t, z, y, x)``, ``.labels``, ``.truth``).
    lge
        :class:`~heartprint.phantoms.TissuePhantom`: ``(z, y, x)`` image on the cine grid,
        ``.labels`` (cine ED labels), ``.maps["scar"]`` (bool), ``.truth``.
    molli
        :class:`~heartprint.phantoms.TissuePhantom`: ``(n_TI, 3, y, x)`` source images,
        ``.maps["t1"]`` (ms), ``.truth``.
    calcium
        :class:`~heartprint.phantoms.CalciumPhantom`.
    truth
        JSON-able: ``{"patient": ..., "cine": ..., "lge": ..., "t1": ..., "ct_calcium": ...}``.
    """

    cine: CinePhantom
    lge: TissuePhantom
    molli: TissuePhantom
    calcium: CalciumPhantom
    truth: dict[str, Any] = field(default_factory=dict)
    frame_of_reference_uid: str = field(default_factory=generate_uid)
    #: ``(stress, rest)`` :class:`~heartprint.phantoms._nuclear.PerfusionPhantom` s, or ``None``
    spect: tuple[Any, Any] | None = None


def _clean_ed(cine_kwargs: dict[str, Any]) -> np.ndarray:
    """Noise-free end-diastolic cine image (with coil field): the same heart at phase 0."""
    kw = {k: v for k, v in cine_kwargs.items() if k not in ("n_phases", "noise_sd", "seed")}
    return np.asarray(make_cine_sax(n_phases=2, noise_sd=0.0, **kw).image.array[0], dtype=float)


def _bias(shape3d: tuple[int, int, int]) -> np.ndarray:
    nz, ny, nx = shape3d
    return np.stack([_bias_field(ny, nx, k, nz) for k in range(nz)]).astype(float)


def _wall_depth(cine: CinePhantom, phase: int) -> np.ndarray:
    """Normalised wall depth (0 endocardium → 1 epicardium) at every voxel centre, from the
    analytic ellipsoids of ``phase`` (NaN where the level has no LV)."""
    img = cine.image
    nz, ny, nx = img.shape3d
    idx = np.stack(np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij"), axis=-1).reshape(-1, 3)
    rel = img.index_to_lps(idx.astype(float)) - cine.lv_centre_lps
    s = rel @ cine.long_axis_lps
    r = np.linalg.norm(rel - s[:, None] * cine.long_axis_lps, axis=1)
    lv = cine.lv_phases[phase]
    r_i = disc_radius_mm(s, lv.endo_radius, lv.endo_half_length, cine.base_offset_mm)
    r_e = disc_radius_mm(s, lv.epi_radius, lv.epi_half_length, cine.base_offset_mm)
    with np.errstate(invalid="ignore", divide="ignore"):
        depth = np.where(r_e > r_i, (r - r_i) / (r_e - r_i), np.nan)
    return depth.reshape(nz, ny, nx)


def _scar_truth(cine: CinePhantom, scars: Sequence[ScarSpec]) -> tuple[np.ndarray, dict[str, Any]]:
    from heartprint.anatomy import aha_segments
    from heartprint.anatomy._plane import SlicePlane

    ed = int(cine.truth["ed_phase"])
    labels = cine.labels[ed]
    affine = cine.image.affine
    aha = aha_segments(affine, labels)
    plane = SlicePlane.from_affine(affine)
    depth = np.clip(_wall_depth(cine, ed), 0.0, 1.0)
    phi = np.full(labels.shape, np.nan)
    for z, frame in aha.frames.items():
        yx = np.argwhere(labels[z] == LV_MYOCARDIUM)
        if len(yx):
            phi[z][tuple(yx.T)] = frame.phi(plane.ab(yx))
    scar = np.zeros(labels.shape, dtype=bool)
    per_seg: dict[str, Any] = {}
    for sc in scars:
        if sc.segment not in _SEG_PHI:
            raise InvalidInputError(f"scar segment {sc.segment}: expected an AHA segment 1-16")
        lo, hi = _SEG_PHI[sc.segment]
        in_seg = aha.segments == sc.segment
        here = in_seg & _in_phi(np.nan_to_num(phi), lo + sc.inset_deg, hi - sc.inset_deg) \
            & (depth >= sc.depth[0]) & (depth < sc.depth[1])
        scar |= here
        per_seg[str(sc.segment)] = {
            "pattern": sc.pattern,
            "depth": list(sc.depth),
            "transmurality_pct": 100.0 * (sc.depth[1] - sc.depth[0]),
            "extent_pct": 100.0 * float(here.sum()) / float(in_seg.sum()),
            "scar_voxels": int(here.sum()),
        }
    vox_ml = cine.image.voxel_volume_mm3 / 1000.0
    n_myo = int((labels == LV_MYOCARDIUM).sum())
    truth = {
        "scar_ml": float(scar.sum()) * vox_ml,
        "scar_pct_lv": 100.0 * float(scar.sum()) / n_myo,
        "lv_myocardium_ml": n_myo * vox_ml,
        "segments": per_seg,
        "levels": {str(z): lv for z, lv in sorted(aha.levels.items())},
        "method": ("scar voxels of the cine end-diastolic truth labels: AHA segment by heartprint.anatomy.aha_segments, "
                   "phi inside the segment's sector inset by inset_deg, analytic normalised wall depth in the depth range; "
                   "volume = voxel count x voxel volume; % of LV by voxel count"),
    }
    return scar, truth


def _molli_slices(levels: dict[str, str]) -> list[int]:
    """Middle slice of the basal, mid and apical thirds, if equally spaced; else the mid one."""
    mids = []
    for name in _LEVELS:
        zs = sorted(int(z) for z, lv in levels.items() if lv == name)
        if zs:
            mids.append(zs[len(zs) // 2])
    mids = sorted(mids)
    steps = {b - a for a, b in zip(mids, mids[1:])}
    if len(mids) == 3 and len(steps) == 1:
        return mids
    return [mids[len(mids) // 2]]


def _subset_affine(affine: np.ndarray, slices: Sequence[int]) -> np.ndarray:
    out = affine.copy()
    step = slices[1] - slices[0] if len(slices) > 1 else 1
    out[:3, 3] = affine[:3, 3] + affine[:3, 0] * slices[0]
    out[:3, 0] = affine[:3, 0] * step
    return out


def make_demo_patient(
    seed: int = 0,
    *,
    scars: Sequence[ScarSpec] = DEMO_SCARS,
    lge_intensities: dict[str, float] | None = None,
    lge_noise_sd: float = 15.0,
    t1_myocardium_ms: float = 1000.0,
    t1_blood_ms: float = 1600.0,
    t1_other_ms: float = 900.0,
    molli_noise_sd: float = 15.0,
    calcium_noise_hu: float = 8.0,
    spect: bool = True,
    spect_supersample: int = 4,
    **cine_kwargs: Any,
) -> DemoPatient:
    """Make the phantom patient (module docstring). ``cine_kwargs`` go to :func:`make_cine_sax`
    (e.g. ``n_phases=12`` for a quicker run); LGE and MOLLI follow its geometry.

    ``lge_intensities``: ``{"blood": 600, "remote": 40, "scar": 800, "outside_scale": 0.5}``.
    """
    inten = {"blood": 600.0, "remote": 40.0, "scar": 800.0, "outside_scale": 0.5, **(lge_intensities or {})}
    cine = make_cine_sax(seed=seed, **cine_kwargs)
    ed = int(cine.truth["ed_phase"])
    labels = cine.labels[ed]
    clean = _clean_ed(cine_kwargs)
    bias = _bias(labels.shape)
    study_uid = cine.image.study_uid
    rng = np.random.default_rng([seed, 7])

    # --- LGE ------------------------------------------------------------------------------
    scar, lge_truth = _scar_truth(cine, scars)
    lge = clean * inten["outside_scale"]
    lge = np.where(np.isin(labels, (LV_CAVITY, RV_CAVITY)), inten["blood"] * bias, lge)
    lge = np.where(labels == LV_MYOCARDIUM, inten["remote"] * bias, lge)
    lge = np.where(scar, inten["scar"] * bias, lge)
    lge = np.clip(np.rint(_rician(lge, lge_noise_sd, rng)), 0, 65535)
    lge_image = Image(lge, cine.image.affine, study_uid=study_uid, series_uid=generate_uid(), modality="MR",
                      kind="lge", meta={"series_description": "LGE IR SAX (heartprint demo)", "inversion_time_ms": _LGE_TI_MS})
    lge_truth.update({"intensities": inten, "noise_sd": lge_noise_sd, "inversion_time_ms": _LGE_TI_MS,
                      "scars": [{"segment": s.segment, "depth": list(s.depth), "pattern": s.pattern,
                                 "inset_deg": s.inset_deg} for s in scars]})
    lge_ph = TissuePhantom(lge_image, labels.copy(), lge_truth, {"scar": scar})

    # --- MOLLI ----------------------------------------------------------------------------
    zs = _molli_slices(lge_truth["levels"])
    lab = labels[zs]
    blood = np.isin(lab, (LV_CAVITY, RV_CAVITY))
    myo = lab == LV_MYOCARDIUM
    t1 = np.where(myo, t1_myocardium_ms, np.where(blood, t1_blood_ms, t1_other_ms))
    m0 = np.where(myo, 1000.0 * bias[zs], np.where(blood, 1200.0 * bias[zs], clean[zs]))
    tis = np.asarray(MOLLI_TIS_MS, dtype=float)
    sig = molli_signal(t1, m0, tis)
    molli = np.clip(np.rint(_rician(sig, molli_noise_sd, rng)), 0, 65535)
    molli_image = Image(molli, _subset_affine(cine.image.affine, zs), frame_times_ms=tis, study_uid=study_uid,
                        series_uid=generate_uid(), modality="MR", kind="t1_map",
                        meta={"series_description": "MOLLI 5(3)3 T1 SAX (heartprint demo)", "inversion_times_ms": tis.tolist()})
    t1_truth = {
        "t1_myocardium_ms": t1_myocardium_ms, "t1_blood_ms": t1_blood_ms, "t1_other_ms": t1_other_ms,
        "inversion_times_ms": tis.tolist(), "noise_sd": molli_noise_sd, "cine_slices": zs,
        "levels": [lge_truth["levels"].get(str(z)) for z in zs],
        "method": "voxel T1 from the cine end-diastolic truth labels; signal heartprint.phantoms._tissue.molli_signal",
    }
    molli_ph = TissuePhantom(molli_image, lab, t1_truth, {"t1": t1}, tis, "InversionTime")

    # --- calcium CT (a second study of the same patient) ------------------------------------
    calcium = make_calcium_phantom(noise_hu=calcium_noise_hu, seed=seed)

    cine_truth = dict(cine.truth)
    cine_truth["lv_mass_ed_g"] = cine_truth["lv_mass_g"][ed]
    truth = {
        "patient": {"patient_id": PATIENT_ID, "patient_name": PATIENT_NAME, "sex": _PATIENT_SEX, "age": _PATIENT_AGE},
        "cine": cine_truth,
        "lge": lge_truth,
        "t1": t1_truth,
        "ct_calcium": calcium.truth,
    }
    spect_pair = None
    if spect:
        from heartprint.phantoms._nuclear import make_stress_rest

        spect_pair = make_stress_rest([DEMO_SPECT_DEFECT], gated=True, seed=seed + 100, supersample=spect_supersample)
        truth["spect"] = {"stress": spect_pair[0].truth, "rest": spect_pair[1].truth,
                          "defect": {"theta_deg": list(DEMO_SPECT_DEFECT.theta_deg),
                                     "span": list(DEMO_SPECT_DEFECT.span),
                                     "severity": DEMO_SPECT_DEFECT.severity, "reversible": True, "territory": "LAD"}}
    return DemoPatient(cine, lge_ph, molli_ph, calcium, truth, spect=spect_pair)


def write_demo_patient(
    out_dir: str | os.PathLike, seed: int = 0, *, overwrite: bool = False, **kwargs: Any
) -> tuple[list[Path], dict[str, Any]]:
    """Make the phantom patient and write it as DICOM: ``out_dir/cmr/{cine,lge,molli}`` (one
    study, one frame of reference), ``out_dir/ct/calcium`` (a second study) and ``out_dir/nm/{stress,rest}``
    (the SPECT study, unless ``spect=False``).

    Keyword arguments go to :func:`make_demo_patient`. Returns the study folders
    ``[out_dir/cmr, out_dir/ct, out_dir/nm]`` and the JSON-able truth, with the written UIDs added
    (``truth[<series>]["study_uid"|"series_uid"]``, ``truth["patient"]["frame_of_reference_uid"]``).
    """
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise InvalidInputError(f"out_dir {out} exists and is not empty: pass overwrite=True to replace its series")
    pt = make_demo_patient(seed, **kwargs)
    who = {"patient_name": PATIENT_NAME, "patient_id": PATIENT_ID, "patient_sex": _PATIENT_SEX,
           "patient_age": _PATIENT_AGE, "overwrite": True}
    frame = pt.frame_of_reference_uid
    cmr, ct = out / "cmr", out / "ct"
    write_cine_sax_dicom(pt.cine, cmr / "cine", series_number=1, frame_of_reference_uid=frame, **who)
    write_tissue_dicom(pt.lge, cmr / "lge", series_number=2, frame_of_reference_uid=frame, **who)
    write_tissue_dicom(pt.molli, cmr / "molli", series_number=3, frame_of_reference_uid=frame, **who)
    write_calcium_dicom(pt.calcium, ct / "calcium", series_number=1, **who)
    folders = [cmr, ct]
    if pt.spect is not None:
        from heartprint.phantoms._nm_dicom import write_nm_dicom

        nm = out / "nm"
        for i, (name, ph) in enumerate(zip(("stress", "rest"), pt.spect)):
            write_nm_dicom(ph, nm / name, patient_id=PATIENT_ID, patient_name=PATIENT_NAME, series_number=i + 1,
                           overwrite=True)
            pt.truth["spect"][name]["study_uid"] = ph.image.study_uid
        folders.append(nm)
    truth = pt.truth
    truth["patient"]["frame_of_reference_uid"] = frame
    for key, img in (("cine", pt.cine.image), ("lge", pt.lge.image), ("t1", pt.molli.image), ("ct_calcium", pt.calcium.image)):
        truth[key]["study_uid"], truth[key]["series_uid"] = img.study_uid, img.series_uid
    json.dumps(truth)  # fail here, not in the caller, if anything is not JSON-able
    return folders, truth

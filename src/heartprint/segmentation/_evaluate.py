"""Accuracy of a short-axis model on held-out real data (ACDC validation stacks, Sunnybrook).

Used by ``heartprint train`` (to write the model card's metrics) and by
``benchmarks/segmentation_accuracy.py``. The ACDC/Sunnybrook files carry no spacing; they
are segmented at a nominal 1.5 mm in-plane (see ``_preprocess.TARGET_SPACING_MM``).
Dice and ejection fractions are ratios, so they do not depend on that assumption.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from heartprint.labels import LV_CAVITY, LV_MYOCARDIUM, RV_CAVITY
from heartprint.segmentation._infer import segment_short_axis
from heartprint.segmentation._metrics import dice

NOMINAL_SPACING = (10.0, 1.5, 1.5)
STRUCTURES = {"lv": LV_CAVITY, "myo": LV_MYOCARDIUM, "rv": RV_CAVITY}


def _ef(ed: np.ndarray, es: np.ndarray, label: int) -> float:
    edv, esv = int((ed == label).sum()), int((es == label).sum())
    return 100.0 * (edv - esv) / edv if edv else float("nan")


def evaluate_acdc(folder: Path, *, model_path: Path | None = None, tta: bool = True,
                  patients: list[str] | None = None) -> dict:
    """3-D Dice per structure and phase, and LVEF/RVEF from predicted vs reference labels (every validation
    patient, or those named in ``patients``)."""
    from heartprint.segmentation._datasets import load_acdc_stacks

    stacks = load_acdc_stacks(Path(folder), patients)
    by_patient: dict[str, dict] = {}
    for pid, frame, image, ref in stacks:
        pred = segment_short_axis(image, NOMINAL_SPACING, tta=tta, model_path=model_path)
        phase = "ED" if frame == "01" else "ES"
        rec = by_patient.setdefault(pid, {})
        rec[phase] = {"pred": pred, "ref": ref}
    rows = []
    for pid, rec in sorted(by_patient.items()):
        row: dict = {"patient": pid}
        for phase in ("ED", "ES"):
            for name, lab in STRUCTURES.items():
                row[f"dice_{name}_{phase}"] = dice(rec[phase]["pred"], rec[phase]["ref"], lab)
        for name, lab in (("lvef", LV_CAVITY), ("rvef", RV_CAVITY)):
            row[f"{name}_ref"] = _ef(rec["ED"]["ref"], rec["ES"]["ref"], lab)
            row[f"{name}_pred"] = _ef(rec["ED"]["pred"], rec["ES"]["pred"], lab)
        rows.append(row)
    summary: dict = {"n_patients": len(rows)}
    for name in STRUCTURES:
        for phase in ("ED", "ES"):
            summary[f"dice_{name}_{phase}"] = float(np.mean([r[f"dice_{name}_{phase}"] for r in rows]))
        summary[f"dice_{name}"] = float(np.mean([r[f"dice_{name}_{p}"] for r in rows for p in ("ED", "ES")]))
    for name in ("lvef", "rvef"):
        err = np.array([r[f"{name}_pred"] - r[f"{name}_ref"] for r in rows])
        summary[f"{name}_bias"] = float(np.mean(err))
        summary[f"{name}_sd"] = float(np.std(err, ddof=1)) if len(err) > 1 else 0.0
        summary[f"{name}_mae"] = float(np.mean(np.abs(err)))
    return {"summary": summary, "patients": rows}


#: Largest in-plane displacement (pixels) of a reference mask from the blood pool it outlines
#: that is accepted as annotation noise; beyond it the reference is reported as misregistered.
REFERENCE_DISPLACEMENT_LIMIT_PX = 3
#: Search range (pixels) of :func:`reference_displacement`.
REFERENCE_SEARCH_PX = 12


def reference_displacement(image: np.ndarray, mask: np.ndarray, max_shift: int = REFERENCE_SEARCH_PX) -> tuple[int, int]:
    """The in-plane shift ``(dy, dx)`` that, applied to a blood-pool ``mask``, maximises the
    contrast between the mean image intensity inside it and in a 2-pixel ring outside it.

    A check of a reference annotation against its own image, independent of any model: a
    bright-blood cavity outline that fits its image needs (about) no shift. Computed for
    all shifts at once by circular cross-correlation (FFT)."""
    from scipy import ndimage

    img = np.asarray(image, np.float64)
    m = np.asarray(mask, bool)
    if m.sum() < 10:
        return (0, 0)
    ring = ndimage.binary_dilation(m, iterations=2) & ~m
    f = np.fft.rfft2(img)

    def mean_over_shifted(region):
        return np.fft.irfft2(f * np.conj(np.fft.rfft2(region.astype(np.float64))), s=img.shape) / region.sum()

    contrast = mean_over_shifted(m) - mean_over_shifted(ring)
    shifts = np.arange(-max_shift, max_shift + 1)
    sub = contrast[np.ix_(shifts % img.shape[0], shifts % img.shape[1])]
    i, j = np.unravel_index(int(np.argmax(sub)), sub.shape)
    return int(shifts[i]), int(shifts[j])


def reference_displacements(slices) -> dict[str, list[float]]:
    """Median :func:`reference_displacement` ``[dy, dx]`` of each patient's LV reference masks."""
    shifts: dict[str, list[tuple[int, int]]] = {}
    for s in slices:
        shifts.setdefault(s.source, []).append(reference_displacement(s.image, s.label == LV_CAVITY))
    return {pid: [float(v) for v in np.median(np.array(sh), axis=0)] for pid, sh in shifts.items()}


def _beyond_limit(displacement: dict[str, list[float]]) -> dict[str, list[float]]:
    return {pid: d for pid, d in displacement.items() if max(abs(d[0]), abs(d[1])) > REFERENCE_DISPLACEMENT_LIMIT_PX}


def misregistered_references(slices) -> dict[str, list[float]]:
    """Patients whose median reference displacement exceeds :data:`REFERENCE_DISPLACEMENT_LIMIT_PX`."""
    return _beyond_limit(reference_displacements(slices))


def evaluate_sunnybrook(folder: Path, patients: list[str], *, model_path: Path | None = None, tta: bool = True) -> dict:
    """LV cavity Dice on Sunnybrook patients: pooled over each patient's slices, and per slice.

    Each patient's reference masks are checked against their images first
    (:func:`reference_displacement`, median over the patient's slices). Patients whose
    reference is displaced by more than :data:`REFERENCE_DISPLACEMENT_LIMIT_PX` pixels are
    listed under ``reference_misregistered`` and left out of ``dice_lv_patient_pooled_reference_qc``;
    ``dice_lv_patient_pooled`` keeps every patient.
    """
    from heartprint.segmentation._datasets import load_sunnybrook

    slices = load_sunnybrook(Path(folder), patients)
    per_patient: dict[str, list[tuple[int, int, int]]] = {}
    per_slice = []
    for s in slices:
        pred = segment_short_axis(s.image[None], NOMINAL_SPACING, tta=tta, model_path=model_path)[0]
        p, r = pred == LV_CAVITY, s.label == LV_CAVITY
        per_patient.setdefault(s.source, []).append((int((p & r).sum()), int(p.sum()), int(r.sum())))
        per_slice.append(dice(pred, s.label, LV_CAVITY))
    pooled = {pid: 2 * sum(v[0] for v in vals) / max(1, sum(v[1] + v[2] for v in vals)) for pid, vals in per_patient.items()}
    displacement = reference_displacements(slices)
    misregistered = _beyond_limit(displacement)
    kept = [v for pid, v in pooled.items() if pid not in misregistered]
    return {
        "summary": {
            "n_patients": len(pooled),
            "n_slices": len(per_slice),
            "dice_lv_patient_pooled": float(np.mean(list(pooled.values()))) if pooled else float("nan"),
            "dice_lv_per_slice_mean": float(np.mean(per_slice)) if per_slice else float("nan"),
            "n_patients_reference_qc": len(kept),
            "dice_lv_patient_pooled_reference_qc": float(np.mean(kept)) if kept else float("nan"),
        },
        "patients": pooled,
        "reference_displacement_px": displacement,
        "reference_misregistered": misregistered,
    }

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


def evaluate_acdc(folder: Path, *, model_path: Path | None = None, tta: bool = True) -> dict:
    """3-D Dice per structure and phase, and LVEF/RVEF from predicted vs reference labels."""
    from heartprint.segmentation._datasets import load_acdc_stacks

    stacks = load_acdc_stacks(Path(folder))
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


def evaluate_sunnybrook(folder: Path, patients: list[str], *, model_path: Path | None = None, tta: bool = True) -> dict:
    """LV cavity Dice on Sunnybrook patients: pooled over each patient's slices, and per slice."""
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
    return {
        "summary": {
            "n_patients": len(pooled),
            "n_slices": len(per_slice),
            "dice_lv_patient_pooled": float(np.mean(list(pooled.values()))) if pooled else float("nan"),
            "dice_lv_per_slice_mean": float(np.mean(per_slice)) if per_slice else float("nan"),
        },
        "patients": pooled,
    }

"""The spread of expert-labelled hearts that the cine QC limits were calibrated from.

Reproduces, on the 70 ACDC *training* patients' reference labels (never the network's), the
constants behind :data:`heartprint.cmr._qc.QC_THRESHOLDS` (``mass_ed_es_max_pct``,
``sv_lv_rv_max_pct``, ``centroid_jump_max_mm``) and the valve-plane rules of
:mod:`heartprint.cmr._slices` (``MIN_MYOCARDIAL_RING`` and rules 2 and 3). Per patient:

1. ED/ES LV mass difference ``|myo_ES - myo_ED| / myo_ED`` (%, voxel counts);
2. signed LV-RV stroke-volume difference ``(SV_LV - SV_RV) / SV_LV`` (%, voxel counts);
3. the largest detrended adjacent-slice LV centroid jump at ED (mm), as ``check_alignment`` computes it;
4. the valve-plane rule checks: myocardial ring fraction of every slice with LV cavity, ES ventricle
   more basal than ED, RV slices above the LV base (and, for contrast, beyond the LV apex), and the
   voxels ``ventricular_slices`` changes.

The 2-D slices (``../shared/data/acdc/train_slices/patientNNN_frame0F_slice_K.h5``) are stacked by
K (lowest K basal); of each patient's two frames the one with more LV cavity is ED. Spacing is a
nominal 10 mm x 1.5 mm x 1.5 mm (the files carry none); every quantity but the centroid jump is a
ratio or a count. On demand (needs the data and h5py):

    .venv/bin/python benchmarks/qc_calibration.py
"""

from __future__ import annotations

import collections
import re
import sys
from pathlib import Path

import numpy as np

TRAIN = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "acdc" / "train_slices"
SPACING_MM = (10.0, 1.5, 1.5)
_NAME = re.compile(r"patient(\d{3})_frame(\d{2})_slice_(\d+)\.h5$")
LV, MYO, RV = 1, 2, 3  # heartprint numbering (map_acdc_labels)


def load_patients(folder: Path) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], list[str]]:
    """Patient → (ED labels, ES labels) as ``(z, y, x)`` stacks, and the patients skipped (with why)."""
    import h5py

    from heartprint.segmentation._datasets import map_acdc_labels

    files: dict[str, dict[str, dict[int, Path]]] = collections.defaultdict(lambda: collections.defaultdict(dict))
    for path in folder.glob("patient*_frame*_slice_*.h5"):
        m = _NAME.match(path.name)
        if m:
            files[m[1]][m[2]][int(m[3])] = path
    stacks, skipped = {}, []
    for pid, frames in sorted(files.items()):
        if len(frames) != 2:
            skipped.append(f"{pid}: {len(frames)} frame(s)")
            continue
        per_frame = []
        for _, slices in sorted(frames.items()):
            labs = []
            for k in sorted(slices):
                with h5py.File(slices[k], "r") as f:
                    labs.append(map_acdc_labels(np.asarray(f["label"])))
            per_frame.append(labs)
        if len({lab.shape for labs in per_frame for lab in labs}) != 1 or len(per_frame[0]) != len(per_frame[1]):
            skipped.append(f"{pid}: slices of differing shapes or counts")
            continue
        a, b = (np.stack(labs) for labs in per_frame)
        stacks[pid] = (a, b) if (a == LV).sum() >= (b == LV).sum() else (b, a)
    return stacks, skipped


def mass_difference_pct(ed: np.ndarray, es: np.ndarray) -> float:
    m_ed, m_es = int((ed == MYO).sum()), int((es == MYO).sum())
    return 100.0 * abs(m_es - m_ed) / m_ed


def signed_sv_difference_pct(ed: np.ndarray, es: np.ndarray) -> float:
    sv_lv = int((ed == LV).sum()) - int((es == LV).sum())
    sv_rv = int((ed == RV).sum()) - int((es == RV).sum())
    return 100.0 * (sv_lv - sv_rv) / sv_lv


def centroid_jump_mm(ed: np.ndarray) -> float | None:
    """Largest adjacent-slice jump of the ED LV centroid after removing a linear trend in z (mm);
    the centroids come from ``check_alignment``, the detrending is the one it does."""
    from heartprint import Image
    from heartprint.cmr._qc import check_alignment

    img = Image.from_array(ed.astype(np.float32), SPACING_MM)
    _, table = check_alignment(img.affine, ed)
    if len(table) < 3:
        return None
    t = np.array(table, float)
    trend = np.polynomial.polynomial.polyvander(t[:, 0], 1)
    coef, *_ = np.linalg.lstsq(trend, t[:, 1:], rcond=None)
    return float(np.linalg.norm(np.diff(t[:, 1:] - trend @ coef, axis=0), axis=1).max())


def _basal_slice(frame: np.ndarray, labels: tuple[int, ...]) -> int | None:
    zs = [z for z in range(frame.shape[0]) if np.isin(frame[z], labels).any()]
    return zs[0] if zs else None


def rule_checks(stacks: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict:
    """The valve-plane rules of ``heartprint.cmr._slices`` applied to the expert labels."""
    from heartprint.cmr._slices import MIN_MYOCARDIAL_RING, myocardial_ring_fraction, ventricular_slices

    rings, es_above, rv_slices, rv_above, rv_below, changed = [], [], 0, [], [], {}
    for pid, (ed, es) in stacks.items():
        for frame in (ed, es):
            rings += [f for f in map(myocardial_ring_fraction, frame) if f is not None]
            lv_z = [z for z in range(frame.shape[0]) if np.isin(frame[z], (LV, MYO)).any()]
            rv_z = [z for z in range(frame.shape[0]) if (frame[z] == RV).any()]
            rv_slices += len(rv_z)
            if lv_z:
                rv_above += [f"{pid} slice {z}" for z in rv_z if z < lv_z[0]]
                rv_below += [f"{pid} slice {z}" for z in rv_z if z > lv_z[-1]]
        ed_base, es_base = _basal_slice(ed, (LV, MYO, RV)), _basal_slice(es, (LV, MYO, RV))
        if es_base is not None and ed_base is not None and es_base < ed_base:
            es_above.append(pid)
        both = np.stack([ed, es])
        n = int((ventricular_slices(both, base_first=True, ed_index=0).labels != both).sum())
        if n:
            changed[pid] = n
    return {
        "n_lv_cavity_slices": len(rings),
        "ring_fraction_min": float(min(rings)),
        "n_ring_below_threshold": sum(f < MIN_MYOCARDIAL_RING for f in rings),
        "ring_threshold": MIN_MYOCARDIAL_RING,
        "patients_es_more_basal_than_ed": es_above,
        "n_rv_slices": rv_slices,
        "rv_slices_above_lv_base": rv_above,
        "rv_slices_beyond_lv_apex": rv_below,
        "voxels_changed_by_ventricular_slices": changed,
    }


def _row(name: str, values: list[float], unit: str, tails: bool = False) -> str:
    v = np.asarray(values, float)
    q = np.percentile(v, [50, 90, 95])
    extra = f"   central 95 %: {np.percentile(v, 2.5):+.1f} to {np.percentile(v, 97.5):+.1f}" if tails else ""
    return f"{name:<44}{len(v):>4}{q[0]:>9.1f}{q[1]:>8.1f}{q[2]:>8.1f}{v.max():>8.1f}  {unit}{extra}"


def main() -> int:
    if not TRAIN.is_dir():
        print(f"skipped: {TRAIN} not found", file=sys.stderr)
        return 0
    stacks, skipped = load_patients(TRAIN)
    mass = [mass_difference_pct(ed, es) for ed, es in stacks.values()]
    sv = [signed_sv_difference_pct(ed, es) for ed, es in stacks.values()]
    jumps = [j for j in (centroid_jump_mm(ed) for ed, _ in stacks.values()) if j is not None]
    print(f"ACDC training patients: {len(stacks)} used" + (f", skipped {', '.join(skipped)}" if skipped else ""))
    print(f"\n{'quantity (expert labels)':<44}{'n':>4}{'median':>9}{'90th':>8}{'95th':>8}{'max':>8}")
    print(_row("ED/ES LV mass difference |dM|/M_ED", mass, "%"))
    print(_row("LV-RV stroke volume difference (signed)", sv, "% of SV_LV", tails=True))
    print(_row("ED LV centroid jump, detrended (max/study)", jumps, "mm"))
    r = rule_checks(stacks)
    print("\nvalve-plane rules (heartprint.cmr._slices) on the expert labels")
    print(f"  slices with LV cavity (ED and ES): {r['n_lv_cavity_slices']}; myocardial ring fraction min "
          f"{r['ring_fraction_min']:.3f}, below {r['ring_threshold']:g}: {r['n_ring_below_threshold']}")
    print(f"  patients whose ES ventricle is more basal than ED's: {len(r['patients_es_more_basal_than_ed'])}"
          + (f" ({', '.join(r['patients_es_more_basal_than_ed'])})" if r["patients_es_more_basal_than_ed"] else ""))
    print(f"  RV cavity slices above the LV base of their frame: {len(r['rv_slices_above_lv_base'])} "
          f"of {r['n_rv_slices']}"
          + (f" ({', '.join(r['rv_slices_above_lv_base'])})" if r["rv_slices_above_lv_base"] else ""))
    print(f"  RV cavity slices beyond the LV apex (more apical than the last LV slice): "
          f"{len(r['rv_slices_beyond_lv_apex'])} of {r['n_rv_slices']}")
    changed = r["voxels_changed_by_ventricular_slices"]
    print(f"  voxels changed by ventricular_slices: {sum(changed.values())}"
          + (f" ({', '.join(f'{p}: {n}' for p, n in changed.items())})" if changed else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Accuracy of heartprint's cine short-axis analysis on real held-out data, and how well its QC
finds the studies it gets wrong.

1. **Whole pipeline on real studies** (the main figure). The 10 ACDC validation patients (never
   trained on) are wrapped as DICOM cines (``tests/_acdc.py``: nominal 1.5 mm pixels, 10 mm
   slices) and analysed end to end by ``heartprint.pipeline.analyze`` (segmentation, valve-plane
   rules, measurement, QC). The final label maps are compared with the expert labels (3-D Dice
   per structure, ED and ES) and the measurements with the same measuring code applied to the
   expert labels (LVEF/RVEF error in points; volumes and LV mass in % of reference — ratios, so
   exact whatever the true spacing). A study is *erroneous* when |ΔLVEF| or |ΔRVEF| > 5 points or
   any per-phase Dice (LV, myocardium, RV) < 0.85; the AUROC of the test-time-augmentation
   agreement score and of the QC status (warning or error = 1) say how well each ranks the
   erroneous studies above the correct ones. The issue-18 QC floors and the accuracy floors are
   checked ("holds"/"fails").
2. **Network alone, whole field of view**: the model on the same ACDC stacks
   (``evaluate_acdc``: no valve-plane rules, EF from voxel counts) and on the Sunnybrook patients
   held out from training (``evaluate_sunnybrook``).

Prints tables; ``--json FILE`` saves everything (both sections)::

    .venv/bin/python benchmarks/segmentation_accuracy.py [--no-tta] [--model M.onnx] [--json out.json]

Needs ../shared/data and h5py (ACDC is not redistributed with heartprint); skips when absent.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO / "tests"))

STRUCTURES = {"lv": ("LV cavity", 1), "myo": ("myocardium", 2), "rv": ("RV cavity", 3)}
PHASES = ("ED", "ES")  # the cine's phase 0 is ACDC frame01 (ED), phase 1 frame02 (ES)
EF_CODES = ("lv_ef", "rv_ef")
VOLUME_CODES = {"lv_edv": "LV EDV", "lv_esv": "LV ESV", "rv_edv": "RV EDV", "rv_esv": "RV ESV", "lv_mass": "LV mass"}
#: a study is erroneous beyond these (EF points; per-phase Dice)
ERROR_EF_POINTS, ERROR_DICE = 5.0, 0.85
#: issue 18: a study this wrong must carry a warning
MISS_EF_POINTS, MISS_RV_DICE = 8.0, 0.8
MAX_WARNING_FRACTION = 0.2
#: accuracy floors: (label, where the value is, at least / at most, limit)
ACCURACY_FLOORS = (
    ("Dice LV cavity (pipeline)", ("pipeline", "dice_lv"), ">=", 0.955),
    ("Dice myocardium (pipeline)", ("pipeline", "dice_myo"), ">=", 0.905),
    ("Dice RV cavity (pipeline)", ("pipeline", "dice_rv"), ">=", 0.925),
    ("RVEF MAE, points (pipeline)", ("pipeline", "rv_ef_mae"), "<=", 3.5),
    ("LVEF MAE, points (pipeline)", ("pipeline", "lv_ef_mae"), "<=", 1.8),
    ("Sunnybrook LV Dice, pooled (network alone)", ("sunnybrook", "dice_lv_patient_pooled"), ">=", 0.92),
)


# ---------------------------------------------------------------- whole pipeline: per study


def _flagged(status: str) -> bool:
    return status in ("warning", "error")


def _study_row(patient: str, series, seconds: float) -> dict:
    """Everything measured on one analysed study, against its expert labels."""
    import _acdc

    from heartprint.segmentation._metrics import dice

    pred = np.asarray(series.labels.array)
    _, ref = _acdc._read(patient)
    reference = _acdc.reference_result(patient)
    got = {m.code: m.value for m in series.measurements if m.segment is None}
    row: dict = {"patient": patient, "group": _acdc.group(patient), "seconds": seconds}
    for key, (_, label) in STRUCTURES.items():
        for t, phase in enumerate(PHASES):
            row[f"dice_{key}_{phase}"] = dice(pred[t], ref[t], label)
        row[f"dice_{key}"] = float(np.mean([row[f"dice_{key}_{p}"] for p in PHASES]))
    for code in (*EF_CODES, *VOLUME_CODES):
        row[f"{code}_pred"], row[f"{code}_ref"] = got.get(code), reference.value(code)
        ok = row[f"{code}_pred"] is not None and row[f"{code}_ref"] is not None
        row[f"{code}_delta"] = row[f"{code}_pred"] - row[f"{code}_ref"] if ok else None
    quality = series.details.get("quality") or {}
    row.update(
        qc_status=series.qc_status,
        qc=[{"code": q.code, "severity": q.severity.value, "message": q.message} for q in series.qc],
        warnings=[q.code for q in series.qc if _flagged(q.severity.value)],
        agreement_score=quality.get("score_ef_range_points"),
        lvef_per_pass=quality.get("lvef_per_pass"),
        rvef_per_pass=quality.get("rvef_per_pass"),
        n_uncertain_slices=len(quality.get("uncertain_slices", [])),
    )
    row["ef_error"] = max(abs(row[f"{c}_delta"]) if row[f"{c}_delta"] is not None else np.inf for c in EF_CODES)
    row["erroneous"] = bool(row["ef_error"] > ERROR_EF_POINTS
                            or min(row[f"dice_{k}_{p}"] for k in STRUCTURES for p in PHASES) < ERROR_DICE)
    return row


def run_pipeline(*, tta: bool, model: Path | None) -> list[dict]:
    """Analyse the ACDC validation patients wrapped as DICOM; one row per analysed cine."""
    import _acdc

    from heartprint.pipeline import AnalysisOptions, analyze

    root = Path(tempfile.mkdtemp(prefix="seg-accuracy-"))
    _acdc.write_folder(root, sex="M", age="055Y")
    rows = []
    t0 = time.perf_counter()
    for r in analyze(root, AnalysisOptions(interpret=False, tta=tta, model_path=model)):
        seconds = time.perf_counter() - t0
        for s in r.analysed("cine_sax"):
            rows.append(_study_row(r.patient.patient_id.removeprefix("ACDC-"), s, seconds))
        t0 = time.perf_counter()  # measuring the expert labels above is not the pipeline's time
    return sorted(rows, key=lambda row: row["patient"])


# ---------------------------------------------------------------- whole pipeline: summary


def _error_stats(rows: list[dict], code: str) -> dict:
    d = [(r[f"{code}_delta"], r["patient"]) for r in rows if r[f"{code}_delta"] is not None]
    err = np.array([v for v, _ in d])
    worst = max(d, key=lambda x: abs(x[0]))
    return {"bias": float(err.mean()), "sd": float(err.std(ddof=1)) if len(err) > 1 else 0.0,
            "mae": float(np.abs(err).mean()), "worst": float(worst[0]), "worst_patient": worst[1]}


def _relative_stats(rows: list[dict], code: str) -> dict:
    rel = np.array([100.0 * r[f"{code}_delta"] / r[f"{code}_ref"] for r in rows if r[f"{code}_delta"] is not None])
    return {"bias_pct": float(rel.mean()), "sd_pct": float(rel.std(ddof=1)) if len(rel) > 1 else 0.0}


def auroc(scores: list[float | None], positive: list[bool]) -> float | None:
    """Probability that an erroneous study scores above a correct one (Mann-Whitney, ties 1/2);
    ``None`` when a class is empty or a score is missing."""
    if any(s is None for s in scores):
        return None
    pos = [s for s, y in zip(scores, positive) if y]
    neg = [s for s, y in zip(scores, positive) if not y]
    if not pos or not neg:
        return None
    return sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / (len(pos) * len(neg))


def qc_ranking(rows: list[dict]) -> dict:
    err = [r["erroneous"] for r in rows]
    flagged = [r for r in rows if _flagged(r["qc_status"])]
    missed = [r["patient"] for r in rows if not _flagged(r["qc_status"])
              and (r["ef_error"] > MISS_EF_POINTS or r["dice_rv"] < MISS_RV_DICE)]
    return {
        "n": len(rows), "n_erroneous": sum(err), "erroneous": [r["patient"] for r in rows if r["erroneous"]],
        "auroc_agreement_score": auroc([r["agreement_score"] for r in rows], err),
        "auroc_qc_status": auroc([float(_flagged(r["qc_status"])) for r in rows], err),
        "n_flagged": len(flagged), "flagged": [r["patient"] for r in flagged],
        "flagged_fraction": len(flagged) / len(rows),
        "flagged_fraction_holds": len(flagged) / len(rows) <= MAX_WARNING_FRACTION,
        "missed": missed, "missed_holds": not missed,
    }


def summarize(rows: list[dict]) -> dict:
    s: dict = {"n_studies": len(rows), "seconds_per_study": float(np.mean([r["seconds"] for r in rows]))}
    for key in STRUCTURES:
        for phase in PHASES:
            s[f"dice_{key}_{phase}"] = float(np.mean([r[f"dice_{key}_{phase}"] for r in rows]))
        s[f"dice_{key}"] = float(np.mean([r[f"dice_{key}"] for r in rows]))
    for code in EF_CODES:
        s.update({f"{code}_{k}": v for k, v in _error_stats(rows, code).items()})
    for code in VOLUME_CODES:
        s.update({f"{code}_{k}": v for k, v in _relative_stats(rows, code).items()})
    return s


def check_floors(pipeline: dict, sunnybrook: dict) -> list[dict]:
    where = {"pipeline": pipeline, "sunnybrook": sunnybrook}
    out = []
    for label, (section, key), op, limit in ACCURACY_FLOORS:
        v = where[section][key]
        out.append({"floor": label, "value": v, "op": op, "limit": limit,
                    "holds": bool(v >= limit if op == ">=" else v <= limit)})
    return out


# ---------------------------------------------------------------- printing


def _holds(ok: bool) -> str:
    return "holds" if ok else "fails"


def _fmt(v: float | None, spec: str) -> str:
    return "n/a" if v is None else format(v, spec)


def _dice_table(s: dict, title: str) -> None:
    print(f"{title:<14}{'ED':>8}{'ES':>8}{'mean':>8}")
    for key, (name, _) in STRUCTURES.items():
        print(f"{name:<14}{s[f'dice_{key}_ED']:>8.3f}{s[f'dice_{key}_ES']:>8.3f}{s[f'dice_{key}']:>8.3f}")


def print_pipeline(rows: list[dict], s: dict, rank: dict, tta: bool) -> None:
    print(f"\n=== Whole pipeline on real studies: ACDC validation as DICOM, {s['n_studies']} studies, "
          f"TTA {'on' if tta else 'off'} ({s['seconds_per_study']:.1f} s per study) ===\n")
    _dice_table(s, "3-D Dice")
    print(f"\n{'EF error (pred - ref)':<22}{'bias':>8}{'SD':>8}{'MAE':>8}{'worst':>15}   (percentage points)")
    for code in EF_CODES:
        print(f"{code.replace('_', '').upper():<22}{s[f'{code}_bias']:>8.2f}{s[f'{code}_sd']:>8.2f}"
              f"{s[f'{code}_mae']:>8.2f}{s[f'{code}_worst']:>+9.2f} ({s[f'{code}_worst_patient']})")
    print(f"\n{'volume/mass error':<22}{'bias ± SD, % of reference':>28}")
    for code, name in VOLUME_CODES.items():
        print(f"{name:<22}{s[f'{code}_bias_pct']:>+14.1f} ± {s[f'{code}_sd_pct']:.1f}")
    print("  (spacing nominal 1.5 mm x 1.5 mm x 10 mm: absolute volumes are nominal, the ratios exact)")
    print(f"\n{'patient':<9}{'group':<6}{'Dice LV':>8}{'myo':>7}{'RV':>7}{'ΔLVEF':>8}{'ΔRVEF':>8}  "
          f"{'QC':<8}{'score':>6}  warnings")
    for r in rows:
        print(_study_line(r))
    print("\nworst five studies by max(|ΔLVEF|, |ΔRVEF|)")
    for r in sorted(rows, key=lambda r: -r["ef_error"])[:5]:
        print(_study_line(r))
    print(f"\nQC ranking: erroneous = |ΔLVEF| or |ΔRVEF| > {ERROR_EF_POINTS:g} points or a per-phase Dice "
          f"< {ERROR_DICE:g}: {rank['n_erroneous']}/{rank['n']}"
          + (f" ({', '.join(rank['erroneous'])})" if rank["erroneous"] else ""))
    print(f"  AUROC agreement score {_fmt(rank['auroc_agreement_score'], '.3f')}, "
          f"QC status (warning/error = 1) {_fmt(rank['auroc_qc_status'], '.3f')}")
    print(f"  floor: studies with a warning or error {rank['n_flagged']}/{rank['n']} "
          f"({100 * rank['flagged_fraction']:.0f} %, at most {100 * MAX_WARNING_FRACTION:.0f} %): "
          f"{_holds(rank['flagged_fraction_holds'])}")
    print(f"  floor: studies with |ΔEF| > {MISS_EF_POINTS:g} or RV Dice < {MISS_RV_DICE:g} and no warning: "
          f"{', '.join(rank['missed']) or 'none'}: {_holds(rank['missed_holds'])}")


def _study_line(r: dict) -> str:
    d = {c: _fmt(r[f"{c}_delta"], "+.1f") for c in EF_CODES}
    return (f"{r['patient']:<9}{r['group']:<6}{r['dice_lv']:>8.3f}{r['dice_myo']:>7.3f}{r['dice_rv']:>7.3f}"
            f"{d['lv_ef']:>8}{d['rv_ef']:>8}  {r['qc_status']:<8}{_fmt(r['agreement_score'], '.1f'):>6}  "
            f"{', '.join(r['warnings']) or '-'}")


def print_network(acdc: dict, sb: dict, card: dict, seconds_per_stack: float) -> None:
    s = acdc["summary"]
    print(f"\n=== Network alone, whole field of view: model {card['name']} "
          f"({card['parameters'] / 1e6:.2f} M parameters) ===")
    print(f"\nACDC validation, {s['n_patients']} patients, 3-D Dice ({seconds_per_stack:.2f} s per stack)")
    _dice_table(s, "structure")
    print(f"\n{'EF error (pred - ref)':<22}{'bias':>8}{'SD':>8}{'MAE':>8}   (percentage points, voxel counts)")
    for key in ("lvef", "rvef"):
        print(f"{key.upper():<22}{s[f'{key}_bias']:>8.2f}{s[f'{key}_sd']:>8.2f}{s[f'{key}_mae']:>8.2f}")
    print(f"\n{'patient':<9}{'LV ED':>7}{'LV ES':>7}{'myo ED':>7}{'myo ES':>7}{'RV ED':>7}{'RV ES':>7}{'LVEF ref':>9}{'pred':>7}{'RVEF ref':>9}{'pred':>7}")
    for r in acdc["patients"]:
        print(f"{r['patient']:<9}" + "".join(f"{r[f'dice_{k}_{p}']:>7.3f}" for k in STRUCTURES for p in PHASES)
              + f"{r['lvef_ref']:>9.1f}{r['lvef_pred']:>7.1f}{r['rvef_ref']:>9.1f}{r['rvef_pred']:>7.1f}")
    b = sb["summary"]
    print(f"\nSunnybrook held-out: {b['n_patients']} patients, {b['n_slices']} slices: LV Dice pooled per patient "
          f"{b['dice_lv_patient_pooled']:.3f}, mean per slice {b['dice_lv_per_slice_mean']:.3f}")
    for pid, d in sb["reference_misregistered"].items():
        print(f"  reference QC: {pid}'s outlines sit {d[0]:+.0f}, {d[1]:+.0f} px (dy, dx) off the blood pool in its images")
    print(f"  patients whose reference passes QC: {b['n_patients_reference_qc']}, LV Dice pooled per patient "
          f"{b['dice_lv_patient_pooled_reference_qc']:.3f}")
    print("  per patient: " + ", ".join(f"{pid} {v:.3f}" for pid, v in sorted(sb["patients"].items())))


def print_floors(floors: list[dict]) -> None:
    print("\n=== Accuracy floors ===")
    for f in floors:
        print(f"{f['floor']:<44}{f['value']:>8.3f} {f['op']} {f['limit']:<6g} {_holds(f['holds'])}")


# ---------------------------------------------------------------- main


def run_network(*, tta: bool, model: Path | None) -> tuple[dict, dict, dict, float]:
    from heartprint.segmentation import load_model_card
    from heartprint.segmentation._evaluate import evaluate_acdc, evaluate_sunnybrook

    card = load_model_card(model).card
    t0 = time.perf_counter()
    acdc = evaluate_acdc(DATA / "acdc" / "val", tta=tta, model_path=model)
    per_stack = (time.perf_counter() - t0) / (2 * acdc["summary"]["n_patients"])
    held = card["training_data"]["Sunnybrook"]["patients_held_out"]
    sb = evaluate_sunnybrook(DATA / "sunnybrook", held, tta=tta, model_path=model)
    return acdc, sb, card, per_stack


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--no-tta", action="store_true", help="no test-time augmentation")
    ap.add_argument("--json", help="save every number here")
    ap.add_argument("--model", help="ONNX model (default: the shipped one)")
    args = ap.parse_args()
    if not (DATA / "acdc" / "val").is_dir():
        print(f"skipped: {DATA / 'acdc' / 'val'} not found", file=sys.stderr)
        return 0
    tta, model = not args.no_tta, Path(args.model) if args.model else None
    rows = run_pipeline(tta=tta, model=model)
    pipeline, rank = summarize(rows), qc_ranking(rows)
    print_pipeline(rows, pipeline, rank, tta)
    acdc, sb, card, per_stack = run_network(tta=tta, model=model)
    print_network(acdc, sb, card, per_stack)
    floors = check_floors(pipeline, sb["summary"])
    print_floors(floors)
    if args.json:
        out = {"tta": tta, "model": card["name"],
               "pipeline": {"summary": pipeline, "qc_ranking": rank, "studies": rows},
               "network_alone": {"acdc": acdc, "sunnybrook": sb}, "floors": floors}
        Path(args.json).write_text(json.dumps(out, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())

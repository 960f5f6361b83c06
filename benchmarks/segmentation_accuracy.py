"""Accuracy of the shipped short-axis model on real held-out data.

ACDC validation patients (10, whole ED and ES stacks, never trained on) and the Sunnybrook
patients held out from training. Prints a table; `--json FILE` saves everything.

    .venv/bin/python benchmarks/segmentation_accuracy.py [--no-tta] [--json out.json]

Needs ../shared/data (ACDC is not redistributed with heartprint).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-tta", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--model", help="ONNX model (default: the shipped one)")
    args = ap.parse_args()
    if not (DATA / "acdc" / "val").is_dir():
        print(f"skipped: {DATA / 'acdc' / 'val'} not found", file=sys.stderr)
        return 0
    from heartprint.segmentation import load_model_card
    from heartprint.segmentation._evaluate import evaluate_acdc, evaluate_sunnybrook

    model = Path(args.model) if args.model else None
    card = load_model_card(model).card
    t0 = time.perf_counter()
    acdc = evaluate_acdc(DATA / "acdc" / "val", tta=not args.no_tta, model_path=model)
    t_acdc = time.perf_counter() - t0
    held = card["training_data"]["Sunnybrook"]["patients_held_out"]
    sb = evaluate_sunnybrook(DATA / "sunnybrook", held, tta=not args.no_tta, model_path=model)
    s = acdc["summary"]
    print(f"model {card['name']} ({card['parameters'] / 1e6:.2f} M parameters), TTA {'off' if args.no_tta else 'on'}")
    print(f"\nACDC validation, {s['n_patients']} patients, 3-D Dice ({t_acdc / (2 * s['n_patients']):.2f} s per stack)")
    print(f"{'structure':<14}{'ED':>8}{'ES':>8}{'mean':>8}")
    for key, name in (("lv", "LV cavity"), ("myo", "myocardium"), ("rv", "RV cavity")):
        print(f"{name:<14}{s[f'dice_{key}_ED']:>8.3f}{s[f'dice_{key}_ES']:>8.3f}{s[f'dice_{key}']:>8.3f}")
    print(f"\n{'EF error (pred - ref)':<22}{'bias':>8}{'SD':>8}{'MAE':>8}   (percentage points)")
    for key in ("lvef", "rvef"):
        print(f"{key.upper():<22}{s[f'{key}_bias']:>8.2f}{s[f'{key}_sd']:>8.2f}{s[f'{key}_mae']:>8.2f}")
    print(f"\n{'patient':<9}{'LV ED':>7}{'LV ES':>7}{'myo ED':>7}{'myo ES':>7}{'RV ED':>7}{'RV ES':>7}{'LVEF ref':>9}{'pred':>7}{'RVEF ref':>9}{'pred':>7}")
    for r in acdc["patients"]:
        print(f"{r['patient']:<9}" + "".join(f"{r[f'dice_{k}_{p}']:>7.3f}" for k in ("lv", "myo", "rv") for p in ("ED", "ES"))
              + f"{r['lvef_ref']:>9.1f}{r['lvef_pred']:>7.1f}{r['rvef_ref']:>9.1f}{r['rvef_pred']:>7.1f}")
    b = sb["summary"]
    print(f"\nSunnybrook held-out: {b['n_patients']} patients, {b['n_slices']} slices: LV Dice pooled per patient "
          f"{b['dice_lv_patient_pooled']:.3f}, mean per slice {b['dice_lv_per_slice_mean']:.3f}")
    for pid, d in sb["reference_misregistered"].items():
        print(f"  reference QC: {pid}'s outlines sit {d[0]:+.0f}, {d[1]:+.0f} px (dy, dx) off the blood pool in its images")
    print(f"  patients whose reference passes QC: {b['n_patients_reference_qc']}, LV Dice pooled per patient "
          f"{b['dice_lv_patient_pooled_reference_qc']:.3f}")
    print("  per patient: " + ", ".join(f"{pid} {v:.3f}" for pid, v in sorted(sb["patients"].items())))
    if args.json:
        Path(args.json).write_text(json.dumps({"acdc": acdc, "sunnybrook": sb}, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Issue 16 on real studies: do measured abnormalities reach the findings?

ACDC validation patients (../shared/data/acdc/val) wrapped as DICOM in one folder, analysed end
to end with only sex and age given (as ``heartprint analyze --sex --age`` would), once for each
sex. Prints one row per patient and sex: ACDC group, reference LVEF and maximal wall thickness
(expert labels, same measurement code), the measured ones, the imaging findings present, and
whether any heart-failure type or device recommendation appeared (it must not: no symptoms given).

On demand (needs the data and h5py): ``.venv/bin/python benchmarks/findings_real.py [--age 55]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import _acdc  # noqa: E402

IMAGING = ("lv_systolic_dysfunction", "lv_dilatation", "lv_hypertrophy", "hcm_wall_thickness", "rv_dilatation",
           "rv_systolic_dysfunction", "input_contradiction")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--age", type=float, default=55.0)
    args = ap.parse_args()
    from heartprint.pipeline import AnalysisOptions, analyze

    root = Path(tempfile.mkdtemp(prefix="findings-real-"))
    pts = _acdc.write_folder(root)  # no sex or age in the headers: they come as facts, like --sex/--age
    if not pts:
        print(f"no ACDC validation stacks in {_acdc.ACDC_VAL}")
        return 1
    refs = {p: _acdc.reference(p) for p in pts}
    ok = True
    print(f"{'pt':<5}{'group':<6}{'sex':<8}{'refEF':>6}{'EF':>6}{'refMWT':>8}{'MWT':>6}  {'HF/device':<10}findings present")
    for sex in ("female", "male"):
        t0 = time.perf_counter()
        results = {r.patient.patient_id[5:]: r for r in analyze(root, AnalysisOptions(sex=sex, age_years=args.age))}
        dt = time.perf_counter() - t0
        for p in pts:
            r, ref = results[p], refs[p]
            g = r.analysed("cine_sax")[0].global_values()
            present = sorted(f.code for f in r.interpretation.findings if f.status == "present")
            shown = [c for c in present if c.startswith(IMAGING)]
            hf = [c for c in present if c.startswith(("hfref", "hfmref", "hfpef", "icd", "crt"))] + \
                 [x.code for x in r.interpretation.recommendations if x.code.startswith(("icd", "crt"))]
            good = not hf
            if ref.lv_ef < 40:
                good &= "lv_systolic_dysfunction" in present
            if ref.lv_max_wall_thickness >= 15:
                good &= "hcm_wall_thickness" in present
            if _acdc.group(p) == "NOR":
                good &= not {"lv_systolic_dysfunction", "hcm_wall_thickness"} & set(present)
            ok &= good
            print(f"{p:<5}{_acdc.group(p):<6}{sex:<8}{ref.lv_ef:>6.0f}{g['lv_ef']:>6.0f}{ref.lv_max_wall_thickness:>8.1f}"
                  f"{g['lv_max_wall_thickness']:>6.1f}  {'YES' if hf else 'none':<10}{', '.join(shown) or '-'}"
                  f"{'' if good else '   <-- FAILS'}")
        print(f"({sex}: {len(pts)} patients analysed in {dt:.1f} s)")
    print("\nall rows hold" if ok else "\nA ROW FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

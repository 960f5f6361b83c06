"""The spine on real studies: ACDC validation patients wrapped as DICOM, all in ONE folder,
through ``heartprint.pipeline.analyze`` and ``heartprint.outputs.write_study_outputs``.

Prints one row per result: patient, LVEF, max wall thickness, whether the HCM rule was
assessed, whether the report names its own patient (and no other), FHIR subjects, SR segments.
On demand (needs ../shared/data/acdc/val and h5py): ``.venv/bin/python benchmarks/spine_real.py``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import _acdc  # noqa: E402


def main() -> int:
    from heartprint.outputs import study_folder_name, write_study_outputs
    from heartprint.pipeline import AnalysisOptions, analyze

    tmp = Path(tempfile.mkdtemp(prefix="spine-"))
    folder = tmp / "one-folder"
    patients = _acdc.write_folder(folder, sex="MF", age="055Y", height_m=1.70, weight_kg=72.0)
    if not patients:
        print(f"no ACDC validation stacks in {_acdc.ACDC_VAL}")
        return 1
    t0 = time.perf_counter()
    results = analyze(folder, AnalysisOptions(tta=False))
    t_analyse = time.perf_counter() - t0
    used: set[str] = set()
    print(f"{len(patients)} patients in one folder -> {len(results)} results ({t_analyse:.1f} s analysis)\n")
    print(f"{'patient':<10}{'status':<8}{'LVEF':>6}{'MWT mm':>8}  {'HCM rule':<16}{'report':<8}{'FHIR subj':<10}{'SR seg':<8}")
    ok = len(results) == len(patients)
    for r in sorted(results, key=lambda r: r.patient.patient_id or ""):
        out = write_study_outputs(r, tmp / "out" / study_folder_name(r, used))
        cine = r.analysed("cine_sax")[0].global_values()
        doc = r.interpretation.to_dict() if r.interpretation else {"findings": [], "not_assessable": []}
        hcm = [f for f in doc["findings"] + doc["not_assessable"] if "hcm" in f["rule"]]
        hcm_state = hcm[0]["status"] if hcm else "not run"
        html = (out.path / "report.html").read_text() if (out.path / "report.html").is_file() else ""
        others = [o.patient.patient_id for o in results if o is not r]
        own = bool(html) and r.patient.patient_id in html and not any(o in html for o in others)
        bundle = json.loads((out.path / "fhir_bundle.json").read_text())
        pat = [e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
        subj = all(e["resource"].get("subject", {}).get("reference") == pat[0] for e in bundle["entry"]
                   if e["resource"]["resourceType"] in ("Observation", "DiagnosticReport")) if len(pat) == 1 else False
        seg_ok = "n/a"
        if shutil.which("dsrdump"):
            [sr] = sorted((out.path / "dicom").glob("sr_*.dcm"))
            dump = subprocess.run(["dsrdump", str(sr)], capture_output=True, text=True).stdout
            n = sum(1 for m in r.measurements() if m.segment is not None)
            seg_ok = "yes" if dump.count('"Finding Site")=') >= n else "no"
        ok &= r.status == "ok" and own and subj and seg_ok != "no" and hcm_state != "not run"
        print(f"{r.patient.patient_id:<10}{r.status:<8}{cine.get('lv_ef', float('nan')):>6.0f}"
              f"{cine.get('lv_max_wall_thickness', float('nan')):>8.1f}  {hcm_state:<16}{'own' if own else 'WRONG':<8}"
              f"{'yes' if subj else 'no':<10}{seg_ok:<8}")
    shutil.rmtree(tmp, ignore_errors=True)
    print("\nall joints hold" if ok else "\nA JOINT FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

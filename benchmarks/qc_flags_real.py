"""How often each cine QC flag fires on real studies, with the network's labels and with the
expert labels (a flag that fires as often on the reference as on the network does not separate
good studies from bad: issue 18).

ACDC validation patients wrapped as DICOM (tests/_acdc.py), analysed end to end; the expert
labels measured with the same cine code. On demand (needs the data and h5py):
``.venv/bin/python benchmarks/qc_flags_real.py``.
"""

from __future__ import annotations

import collections
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import _acdc  # noqa: E402


def _severity(q) -> str:
    return str(getattr(q.severity, "value", q.severity))


def main() -> int:
    from heartprint.pipeline import AnalysisOptions, analyze

    root = Path(tempfile.mkdtemp(prefix="qc-flags-"))
    pts = _acdc.write_folder(root, sex="M", age="055Y")
    if not pts:
        print(f"no ACDC validation stacks in {_acdc.ACDC_VAL}")
        return 1
    predicted: collections.Counter = collections.Counter()
    for r in analyze(root, AnalysisOptions(interpret=False)):
        for s in r.analysed("cine_sax"):
            predicted.update({(q.code, _severity(q)) for q in s.qc})
    reference: collections.Counter = collections.Counter()
    for p in pts:
        reference.update({(q.code, _severity(q)) for q in _acdc.reference_result(p).qc})
    n = len(pts)
    print(f"{'flag':<30}{'severity':<10}{'network':>9}{'reference':>11}")
    for key in sorted(set(predicted) | set(reference), key=lambda k: (k[1] != "error", k[1] != "warning", k[0])):
        print(f"{key[0]:<30}{key[1]:<10}{predicted[key]:>6}/{n:<2}{reference[key]:>8}/{n:<2}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

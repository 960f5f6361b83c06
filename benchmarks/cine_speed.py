"""Seconds per full cine short-axis study (10 slices × 25 phases), DICOM in → measurements out.

Compares the batched pipeline with the obvious alternative in the same run: the same model
called once per slice (no batching). 2 CPU cores; onnxruntime.

    .venv/bin/python benchmarks/cine_speed.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    from heartprint.phantoms import write_demo_study
    from heartprint.pipeline import AnalysisOptions, analyze_study
    from heartprint.segmentation._infer import predict_probabilities
    from heartprint.segmentation._preprocess import normalise_intensity

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "cine"
        write_demo_study(folder, seed=0, n_slices=10, n_phases=25)
        analyze_study(folder, AnalysisOptions(tta=False))  # warm-up: imports, session creation
        rows = []
        for tta in (True, False):
            times = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                res = analyze_study(folder, AnalysisOptions(tta=tta))
                times.append(time.perf_counter() - t0)
            assert res.series[0].status == "analysed", res.series[0].message
            rows.append((f"heartprint analyze (TTA {'on' if tta else 'off'})", statistics.median(times)))
        # the alternative: same model, same preprocessing, one call per slice
        from heartprint.io import load

        from heartprint.segmentation._preprocess import TARGET_SPACING_MM

        img = load(folder)
        dz = img.spacing[0]
        from heartprint.segmentation import load_model_card
        from heartprint.segmentation._infer import with_context

        context = int(load_model_card().card.get("context", 0))
        slices = np.concatenate([  # the pipeline's pre-processing: normalise, resample to 1.5 mm, neighbours
            with_context(img.phase(t).with_array(normalise_intensity(img.array[t]))
                         .resample((dz, TARGET_SPACING_MM, TARGET_SPACING_MM)).array, context)
            for t in range(img.n_phases)
        ])
        t0 = time.perf_counter()
        for s in slices:
            predict_probabilities(s[None], tta=False)
        per_slice = time.perf_counter() - t0
        t0 = time.perf_counter()
        predict_probabilities(slices, tta=False)
        batched = time.perf_counter() - t0

    print(f"cine study: 10 slices x 25 phases = {len(slices)} images, 2 CPU cores, median of {args.repeats}")
    print(f"{'step':<44}{'seconds':>10}")
    for name, t in rows:
        print(f"{name:<44}{t:>10.2f}")
    print(f"{'one network, whole field of view, batched':<44}{batched:>10.2f}")
    print(f"{'one network, whole field of view, per slice':<44}{per_slice:>10.2f}")
    print(f"batched / per-slice speed-up: {per_slice / batched:.2f}x; target <= 10 s per study including I/O")
    return 0


if __name__ == "__main__":
    sys.exit(main())

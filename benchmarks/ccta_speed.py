"""Seconds for centreline + stenosis analysis of a 4-vessel coronary tree phantom (target < 10 s, 2 cores).

Compares, in the same run, heartprint's orthogonal-plane cross-sections with the obvious
alternative — a distance-transform radius (area = pi r^2) — for speed and for accuracy of
the maximal diameter stenosis against the phantom's truth (LAD 70 %, LCx 50 %, RCA 40 %).

    .venv/bin/python benchmarks/ccta_speed.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    from heartprint.ct import extract_centrelines, stenosis_profile
    from heartprint.phantoms import make_coronary_tree

    tree = make_coronary_tree()
    labels = tree.labels
    truth = {k: v["diameter_stenosis_pct"] for k, v in tree.truth.items()}
    rows = []
    for method in ("plane", "distance"):
        times, result = [], {}
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            cls = extract_centrelines(labels)
            profs = [stenosis_profile(labels, c, method=method, vessel_labels=tree.vessel_labels) for c in cls]
            times.append(time.perf_counter() - t0)
        for p in profs:
            for les in p.lesions:
                if les.segment:
                    result[les.segment] = max(result.get(les.segment, 0.0), les.diameter_stenosis_pct)
        err = max(abs(result.get(k, 0.0) - v) for k, v in truth.items())
        rows.append((method, statistics.median(times), err, result))
    print(f"4-vessel tree phantom {tree.image.shape3d} voxels at {tree.image.spacing} mm; median of {args.repeats}")
    print(f"{'cross-section method':<22}{'seconds':>10}{'max |%DS error|':>18}  per-segment max %DS")
    for m, t, e, r in rows:
        print(f"{m:<22}{t:>10.2f}{e:>18.1f}  {', '.join(f'{k} {v:.0f}' for k, v in sorted(r.items()))}")
    print(f"truth: {', '.join(f'{k} {v:.0f}' for k, v in sorted(truth.items()) if v)}")
    print(f"ratio plane / distance time: {rows[0][1] / max(rows[1][1], 1e-9):.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

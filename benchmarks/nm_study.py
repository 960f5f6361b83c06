"""A whole stress/rest SPECT study, DICOM in → scores out, on phantoms with exact answers.

Part 1, accuracy (issue 19's floors): phantoms with defects of known extent, severity and
territory (none used to build the normal limits or to tune the methods: other seeds and defects),
gated; each written as NM DICOM and analysed by the pipeline. Prints the stress defect extent
against the exact one, the territories flagged, SDS (> 0 only for reversible defects) and gated
LVEF against the exact one, with holds/fails per floor.

Part 2, speed: the polar map of one study, vectorised (every ray sample in one
``map_coordinates`` call, :func:`heartprint.nuclear.polar_map`) against the obvious alternative
in the same run — one ``map_coordinates`` call per ray — and the whole study's time. The PET
flow fit has its own benchmark (``benchmarks/pet_flow.py``: batched fit vs ``curve_fit``).

    .venv/bin/python benchmarks/nm_study.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

CASES = (  # name, defects (theta, span, severity, reversible), seed
    ("anterior reversible (LAD)", [((330.0, 30.0), (0.35, 1.0), 0.5, True)], 101),
    ("inferior fixed (RCA)", [((150.0, 210.0), (0.3, 0.9), 0.4, False)], 102),
    ("lateral reversible (LCx)", [((240.0, 300.0), (0.2, 0.95), 0.45, True)], 103),
    ("septal reversible + inferior fixed", [((60.0, 120.0), (0.3, 1.0), 0.5, True),
                                            ((160.0, 200.0), (0.4, 0.9), 0.4, False)], 104),
    ("normal", [], 105),
)


def _study(defects, seed: int, root: Path):
    from heartprint.phantoms._nm_dicom import write_nm_dicom
    from heartprint.phantoms._nuclear import Defect, make_stress_rest

    ds = [Defect(theta_deg=t, span=s, severity=v, reversible=r) for t, s, v, r in defects]
    stress, rest = make_stress_rest(ds, gated=True, seed=seed)
    write_nm_dicom(stress, root / "stress")
    write_nm_dicom(rest, root / "rest")
    return stress, rest, ds


def accuracy() -> bool:
    from heartprint.anatomy.territories import territory_of
    from heartprint.pipeline import AnalysisOptions, analyze

    print(f"{'case':<36}{'extent exact':>13}{'measured':>9}{'flagged':>12}{'expected':>12}{'SDS':>5}"
          f"{'LVEF exact':>11}{'rest':>6}{'stress':>7}{'s/study':>8}")
    ok = True
    for name, defects, seed in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            stress, rest, ds = _study(defects, seed, Path(tmp))
            t0 = time.perf_counter()
            [res] = list(analyze(Path(tmp), AnalysisOptions(interpret=False)))
            dt = time.perf_counter() - t0
        by = {s.kind: s for s in res.analysed()}
        s, r = by["nm_perfusion_stress"], by["nm_perfusion_rest"]
        sc = s.details["scores"]
        flagged = sorted(k for k, v in sc["territories"].items() if v["flagged"])
        expected = sorted({territory_of(seg) for d in stress.truth["defects"] for seg, f in d["segments"].items()
                           if f >= 0.5})
        sds = s.global_values()["sds"]
        reversible = any(d.reversible for d in ds)
        lvef_rest = r.global_values()["lv_ef"]
        lvef_stress = s.global_values()["lv_ef_post_stress"]
        exact = stress.truth["extent_pct_total"]
        rows_ok = (abs(sc["extent_percent"] - exact) <= 5.0 and flagged == expected and (sds > 0) == reversible
                   and abs(lvef_rest - rest.truth["lvef_pct"]) <= 5.0 and abs(lvef_stress - stress.truth["lvef_pct"]) <= 5.0)
        ok &= rows_ok
        print(f"{name:<36}{exact:>13.1f}{sc['extent_percent']:>9.1f}{','.join(flagged) or '-':>12}"
              f"{','.join(expected) or '-':>12}{sds:>5.0f}{rest.truth['lvef_pct']:>11.1f}{lvef_rest:>6.1f}"
              f"{lvef_stress:>7.1f}{dt:>8.1f}  {'holds' if rows_ok else 'FAILS'}")
    print("floors: extent within 5 % of the myocardium, the right territory flagged, SDS > 0 only for reversible "
          f"defects, gated LVEF within 5 points: {'all hold' if ok else 'some fail'}")
    return ok


def speed(repeats: int = 3) -> None:
    from scipy import ndimage

    from heartprint.nuclear import find_lv_axis, polar_map
    from heartprint.nuclear._polar import ray_grid
    from heartprint.phantoms._nuclear import make_perfusion_phantom

    ph = make_perfusion_phantom(seed=106)
    img = ph.image
    axis = find_lv_axis(img).axis
    t_vec = min(_timed(lambda: polar_map(img, axis)) for _ in range(repeats))
    grid = ray_grid(axis, n_rings=36, n_sectors=60, n_cap_rings=6, max_radius_mm=60.0, step_mm=1.0,
                    cap_radius_mm=30.0, basal_margin_mm=5.0)
    pts = grid.points.reshape(-1, grid.points.shape[-2], 3)
    vol = np.asarray(img.array, float)

    def per_ray():
        out = np.empty(pts.shape[0])
        for i, ray in enumerate(pts):  # the obvious alternative: one interpolation call per ray
            idx = img.lps_to_index(ray).T
            out[i] = ndimage.map_coordinates(vol, idx, order=1, mode="nearest").max()
        return out

    t_loop = min(_timed(per_ray) for _ in range(repeats))
    print(f"\npolar map ({pts.shape[0]} rays x {pts.shape[1]} samples), best of {repeats}:")
    print(f"{'vectorised polar_map (one map_coordinates call)':<52}{t_vec * 1000:>8.1f} ms")
    print(f"{'per-ray map_coordinates loop (sampling only)':<52}{t_loop * 1000:>8.1f} ms")
    print(f"speed-up {t_loop / t_vec:.1f}x")


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> int:
    ok = accuracy()
    speed()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

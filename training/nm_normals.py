"""Build the shipped SPECT normal-limits database from a population of normal phantoms.

Each normal heart of :func:`heartprint.phantoms._nuclear.normal_population` (inter-subject
variation in size, wall, axis, regional uptake, apical thinning and inferior attenuation;
Poisson noise) goes through exactly what the analyser does: automatic LV axis
(:func:`heartprint.nuclear.find_lv_axis`) and polar map (:func:`heartprint.nuclear.polar_map`).
The per-sample mean and SD become ``src/heartprint/nuclear/data/normals_tc99m_sestamibi_phantom.json``
(format: :mod:`heartprint.nuclear._normals`). The per-segment mean and SD are over each heart's own
segment layout (segments follow its long axis in mm, :func:`heartprint.nuclear._polar.grid_segments`);
when the hearts' layouts differ (they do for this population) the file stores none.

These are phantom limits, for research and for the tests: they are not a patient population.
A site loads its own with ``heartprint.nuclear.load_normal_limits(path)``.

    .venv/bin/python training/nm_normals.py [--n 30] [--seed 2019] [--out PATH]
"""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src" / "heartprint" / "nuclear" / "data" / \
    "normals_tc99m_sestamibi_phantom.json"


def build(n: int, seed: int):
    from heartprint.nuclear._axis import find_lv_axis
    from heartprint.nuclear._normals import build_normal_limits
    from heartprint.nuclear._polar import polar_map
    from heartprint.phantoms._nuclear import normal_population

    maps = []
    for ph in normal_population(n=n, seed=seed, state="stress"):
        fit = find_lv_axis(ph.image)
        maps.append(polar_map(ph.image, fit.axis))
    return build_normal_limits(
        maps, tracer="Tc-99m sestamibi", protocol="stress and rest (one set of limits)",
        source=f"heartprint phantom population v1 (n={n}, seed={seed})",
        built_from=("heartprint.phantoms._nuclear.normal_population: normal hearts with EDV and wall x U(0.85, 1.15), "
                    "axis tilt +-10 deg, regional heterogeneity 8 %, apical thinning and inferior attenuation "
                    "U(0.05, 0.15), 15 mm FWHM, Poisson noise; automatic axis and polar map as in the analyser"))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--seed", type=int, default=2019)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    a = ap.parse_args()
    nl = build(a.n, a.seed)
    path = nl.to_json(a.out)
    seg = " ".join(f"{s}:{nl.segment_mean[s]:.0f}±{nl.segment_sd[s]:.1f}" for s in range(1, 18))
    print(f"wrote {path} ({nl.n_subjects} subjects)\nsegment mean ± SD (%): {seg}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A phantom cohort: N synthetic cine short-axis studies (:mod:`heartprint.phantoms`), each with
its own heart, patient, sex and age, some of them broken on purpose — for the cohort tests and
the throughput benchmark.

Broken studies, in turn (every ``broken_every``-th study):

* ``truncated`` — one DICOM file cut to half its length (the reader skips it, naming why);
* ``no_geometry`` — (0020,0037) Image Orientation (Patient) removed from every file (the series
  cannot be placed in patient space: it fails, naming the tag);
* ``not_dicom`` — a folder holding only a text file (no readable DICOM: the study fails).

``write_phantom_cohort`` writes the studies into ``out/studies/`` (a folder of studies) and
``out/manifest.csv`` (path, patient, sex, age), and returns each study's truth (the phantom's
exact volumes, mass and EF).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

__all__ = ["BROKEN_KINDS", "write_phantom_cohort"]

BROKEN_KINDS = ("truncated", "no_geometry", "not_dicom")
#: Small phantoms for tests: fewer phases and slices, a smaller matrix (same geometry otherwise).
SMALL = {"n_phases": 6, "n_slices": 6, "matrix": (64, 64), "spacing": (10.0, 2.8, 2.8)}


def _break(folder: Path, how: str) -> None:
    import pydicom

    files = sorted(folder.glob("*.dcm"))
    if how == "truncated":
        data = files[len(files) // 2].read_bytes()
        files[len(files) // 2].write_bytes(data[: len(data) // 2])
    elif how == "no_geometry":
        for f in files:
            ds = pydicom.dcmread(f)
            del ds.ImageOrientationPatient
            ds.save_as(f)
    else:
        for f in files:
            f.unlink()
        (folder / "notes.txt").write_text("This folder was meant to hold a study; it holds no images.\n")


def write_phantom_cohort(out: str | os.PathLike, n: int, *, broken_every: int = 5, seed: int = 0,
                         small: bool = False, distinct: int | None = None) -> list[dict[str, Any]]:
    """Write ``n`` cine SAX studies as ``out/studies/study-NNNN/`` (plus ``out/manifest.csv``); every
    ``broken_every``-th study (1-based; 0: none) is broken, cycling through :data:`BROKEN_KINDS`.

    Study ``i`` has LV EDV 110-150 mL, EF 45-65 %, LV mass 100-140 g, alternating sex and an age
    of 25-84 years (all from ``i``, so a cohort is the same on every call). ``small``: the
    :data:`SMALL` phantom (seconds to analyse; for tests). ``distinct``: synthesise only this many
    hearts (study ``i`` shows heart ``i % distinct``, with its own patient, sex, age and new study
    and series UIDs), because making a full-size phantom takes longer than analysing it.
    Returns one dict per study: ``item``, ``path``, ``patient``, ``sex``, ``age``, ``broken``
    (``None`` or the kind) and ``truth`` (of its heart).
    """
    from dataclasses import replace

    from pydicom.uid import generate_uid

    from heartprint.phantoms import make_cine_sax, write_cine_sax_dicom

    root = Path(out)
    (root / "studies").mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    n_broken = 0
    hearts: dict[int, Any] = {}
    for i in range(n):
        h = i % distinct if distinct else i
        if h not in hearts:
            edv = 110.0 + 10.0 * (h % 5)
            ef = 45.0 + 5.0 * (h % 5 + h % 3) / 1.5
            hearts[h] = make_cine_sax(seed=seed + h, edv_ml=edv, esv_ml=round(edv * (1 - ef / 100.0), 1),
                                      lv_mass_g=100.0 + 10.0 * (h % 5), rv_edv_ml=edv + 10.0,
                                      rv_esv_ml=round((edv + 10) * 0.5, 1), **(SMALL if small else {}))
        sex = "F" if i % 2 else "M"
        age = 25 + (i * 17) % 60
        name = f"study-{i:04d}"
        folder = root / "studies" / name
        uid = {k: generate_uid(entropy_srcs=[f"heartprint-cohort-{seed}-{i}-{k}"]) for k in ("study", "series")}
        ph = replace(hearts[h], image=replace(hearts[h].image, study_uid=uid["study"], series_uid=uid["series"]))
        write_cine_sax_dicom(ph, folder, patient_id=f"HP-COHORT-{i:04d}", patient_name=f"COHORT^{i:04d}",
                             patient_sex=sex, patient_age=f"{age:03d}Y", overwrite=True)
        broken = None
        if broken_every and (i + 1) % broken_every == 0:
            broken = BROKEN_KINDS[n_broken % len(BROKEN_KINDS)]
            n_broken += 1
            _break(folder, broken)
        rows.append({"item": name, "path": str(folder), "patient": f"HP-COHORT-{i:04d}",
                     "sex": {"M": "male", "F": "female"}[sex], "age": float(age), "broken": broken,
                     "truth": {k: ph.truth[k] for k in ("lv_edv_ml", "lv_esv_ml", "lv_ef_percent", "lv_mass_ed_g")
                               if k in ph.truth}})
    with open(root / "manifest.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "patient", "sex", "age"])
        for r in rows:
            w.writerow([f"studies/{r['item']}", r["patient"], r["sex"], int(r["age"])])
    return rows

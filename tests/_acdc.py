"""Real ACDC cine studies (../shared/data/acdc/val, HDF5: image + label, frame01 = ED, frame02 = ES)
wrapped as a DICOM cine at a nominal 1.5 mm pixel and 10 mm slice, and their reference values
measured on the expert labels with heartprint's own cine measurement code.

Shared by tests (test_spine.py, test_findings_real.py) and benchmarks (benchmarks/findings_real.py).
ACDC groups by patient number: 001–020 dilated CM, 021–040 hypertrophic CM, 041–060 myocardial
infarction, 061–080 normal, 081–100 abnormal RV (Bernard et al., IEEE TMI 2018,
doi:10.1109/TMI.2018.2837502). The files are never committed to the project.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from heartprint import Image

ACDC_VAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "acdc" / "val"
SPACING_MM = (10.0, 1.5, 1.5)  # nominal: the HDF5 stacks carry no spacing
#: ACDC label values → heartprint's (1 LV cavity, 2 myocardium, 3 RV cavity); ACDC: 1 RV, 2 myo, 3 LV
_TO_HEARTPRINT = np.array([0, 3, 2, 1], np.uint8)


def patients() -> list[str]:
    """Three-digit numbers of the ACDC validation patients on disk (empty when absent)."""
    return sorted({p.name[7:10] for p in ACDC_VAL.glob("patient*_frame01.h5")})


def group(patient: str) -> str:
    n = int(patient)
    return ("DCM", "HCM", "MINF", "NOR", "RV")[min((n - 1) // 20, 4)]


def _read(patient: str) -> tuple[np.ndarray, np.ndarray]:
    import h5py

    images, labels = [], []
    for frame in ("01", "02"):
        with h5py.File(ACDC_VAL / f"patient{patient}_frame{frame}.h5", "r") as f:
            images.append(np.asarray(f["image"], np.float32))
            labels.append(_TO_HEARTPRINT[np.asarray(f["label"])])
    return np.stack(images), np.stack(labels)


def cine(patient: str, *, height_m: float | None = None, weight_kg: float | None = None) -> Image:
    """The two-phase (ED, ES) cine of ``patient`` as a heartprint image (integers for uint16 DICOM);
    height and weight (DICOM PatientSize/PatientWeight) only when given: the HDF5 stacks have none."""
    images, _ = _read(patient)
    meta = {k: v for k, v in (("patient_size_m", height_m), ("patient_weight_kg", weight_kg)) if v is not None}
    return Image.from_array(np.rint(images * 1000.0), SPACING_MM, frame_times_ms=[0.0, 320.0], modality="MR",
                            kind="cine_sax", meta=meta)


def write_dicom(folder: Path, patient: str, *, patient_id: str, name: str, sex: str | None, age: str | None,
                height_m: float | None = None, weight_kg: float | None = None) -> None:
    """Write ``patient``'s cine as a DICOM series under ``folder`` (sex ``"M"``/``"F"``/None, age ``"055Y"``/None)."""
    from heartprint.phantoms import write_cine_sax_dicom

    fake = SimpleNamespace(image=cine(patient, height_m=height_m, weight_kg=weight_kg),
                           truth={"rr_ms": 900.0, "heart_rate_bpm": 66.7})
    write_cine_sax_dicom(fake, folder, patient_id=patient_id, patient_name=name, patient_sex=sex or "", patient_age=age or "")


def write_folder(root: Path, *, sex: str | None = None, age: str | None = None, height_m: float | None = None,
                 weight_kg: float | None = None) -> list[str]:
    """Every validation patient as a DICOM series under ``root/<patient>`` (patient ID ``ACDC-<n>``);
    ``sex`` ``"M"``/``"F"``, or ``"FM"`` to alternate by patient; returns the patients (empty when
    the data are absent)."""
    pts = patients()
    for i, p in enumerate(pts):
        write_dicom(root / p, p, patient_id=f"ACDC-{p}", name=f"PATIENT^{p}", sex=sex[i % len(sex)] if sex else None,
                    age=age, height_m=height_m, weight_kg=weight_kg)
    return pts


@dataclass(frozen=True)
class Reference:
    """Values measured on the expert labels (same code as the analysis, so only the labels differ)."""

    lv_ef: float
    lv_edv: float
    lv_max_wall_thickness: float
    rv_ef: float


def reference_result(patient: str):
    """The cine analysis of the expert labels (a ``CineFunctionResult``)."""
    from heartprint.cmr import analyze_cine_function

    images, labels = _read(patient)
    img = Image.from_array(images, SPACING_MM, frame_times_ms=[0.0, 320.0], modality="MR", kind="cine_sax")
    return analyze_cine_function(img, labels)


def reference(patient: str) -> Reference:
    g = {m.code: m.value for m in reference_result(patient).measurements if m.segment is None}
    return Reference(g["lv_ef"], g["lv_edv"], g["lv_max_wall_thickness"], g["rv_ef"])

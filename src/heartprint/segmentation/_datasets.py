"""Training and validation data readers (ACDC HDF5, Sunnybrook PNG), mapped to heartprint labels.

These read the copies in ``../shared/data`` (see its README for licences): ACDC
(Bernard et al., IEEE TMI 2018, doi:10.1109/TMI.2018.2837502; research use with citation,
treated as CC BY-NC-SA 4.0, never redistributed) and Sunnybrook Cardiac Data (Radau et al.,
MIDAS Journal 2009; CC0 1.0). Needs ``h5py`` and ``pillow`` (the ``dl``/``dev`` extras).
"""

from __future__ import annotations

from typing import Any

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from heartprint.errors import InvalidInputError
from heartprint.labels import BACKGROUND, LV_CAVITY, LV_MYOCARDIUM, RV_CAVITY

#: ACDC label numbers → heartprint label numbers (ACDC: 1 RV, 2 myocardium, 3 LV).
ACDC_TO_HEARTPRINT = np.array([BACKGROUND, RV_CAVITY, LV_MYOCARDIUM, LV_CAVITY], dtype=np.uint8)

_ACDC_SLICE = re.compile(r"patient(\d{3})_frame(\d{2})_slice_(\d+)\.h5$")
_ACDC_STACK = re.compile(r"patient(\d{3})_frame(\d{2})\.h5$")
_SB_NAME = re.compile(r"^(SC-[A-Z]+(?:-[A-Z]+)?-\d+)-")


def map_acdc_labels(label: np.ndarray) -> np.ndarray:
    lab = np.asarray(label)
    if lab.size and int(lab.max()) > 3:
        raise InvalidInputError(f"ACDC label value {int(lab.max())}: expected 0–3")
    return ACDC_TO_HEARTPRINT[lab]


def _read_h5(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import h5py

    with h5py.File(path, "r") as f:
        return np.asarray(f["image"], dtype=np.float32), map_acdc_labels(np.asarray(f["label"]))


@dataclass
class Slice2D:
    image: np.ndarray  # (y, x) float32, normalised per source volume
    label: np.ndarray  # (y, x) uint8 heartprint labels
    source: str  # patient/group identifier
    lv_only: bool  # True: only the LV cavity is labelled (Sunnybrook)
    #: the neighbouring slices of the same stack (previous, next), zeros beyond its ends;
    #: None for an isolated slice (treated as zeros)
    neighbours: tuple[np.ndarray, np.ndarray] | None = None
    #: one of the two first or the last slice of its stack (the valve plane and apex, where
    #: most disagreement with the reference is: oversampled in training)
    edge: bool = False
    #: a synthetic phantom slice (sampled at ``TrainConfig.phantom_fraction`` of each batch)
    synthetic: bool = False
    #: from the end-systolic stack of its patient (the one with the smaller labelled LV
    #: cavity; a phantom's ES phase): weighted by ``TrainConfig.es_weight`` (real slices) or
    #: ``phantom_es_weight`` (within the phantom share)
    end_systole: bool = False


def load_acdc_train_slices(folder: Path) -> list[Slice2D]:
    """All 2-D training slices; intensities normalised per (patient, frame) stack."""
    from heartprint.segmentation._preprocess import PERCENTILES

    groups: dict[tuple[str, str], list[tuple[int, Path]]] = {}
    for p in sorted(Path(folder).glob("*.h5")):
        m = _ACDC_SLICE.search(p.name)
        if m:
            groups.setdefault((m.group(1), m.group(2)), []).append((int(m.group(3)), p))
    if not groups:
        raise InvalidInputError(f"{folder}: no ACDC slice files patientNNN_frameFF_slice_K.h5 found")
    out: list[Slice2D] = []
    stacks = {}
    for (pid, frame), items in sorted(groups.items()):
        items.sort()
        stacks[(pid, frame)] = [_read_h5(p) for _, p in items]
    lv_voxels: dict[str, dict[str, int]] = {}  # patient → frame → labelled LV cavity voxels
    for (pid, frame), pairs in stacks.items():
        lv_voxels.setdefault(pid, {})[frame] = sum(int((lab == LV_CAVITY).sum()) for _, lab in pairs)
    es_frame = {pid: min(frames, key=frames.get) for pid, frames in lv_voxels.items() if len(frames) == 2}
    for (pid, frame), pairs in stacks.items():
        end_systole = es_frame.get(pid) == frame
        flat = np.concatenate([im.ravel() for im, _ in pairs])
        lo, hi = np.percentile(flat, PERCENTILES)
        norms = [np.clip((im - lo) / max(hi - lo, 1e-6), 0, 1).astype(np.float32) for im, _ in pairs]
        for k, (norm, (_, lab)) in enumerate(zip(norms, pairs)):
            prev = norms[k - 1] if k > 0 else np.zeros_like(norm)
            nxt = norms[k + 1] if k + 1 < len(norms) else np.zeros_like(norm)
            if prev.shape != norm.shape or nxt.shape != norm.shape:
                raise InvalidInputError(f"ACDC patient {pid}: slices of one stack differ in shape")
            edge = k < 2 or k == len(norms) - 1
            out.append(Slice2D(norm, lab, f"acdc{pid}", False, (prev, nxt), edge, end_systole=end_systole))
    return out


def load_acdc_stacks(folder: Path, patients: Any = None) -> list[tuple[str, str, np.ndarray, np.ndarray]]:
    """Whole validation stacks: ``(patient, frame, image (z,y,x), label (z,y,x))``; only the patients named
    in ``patients`` (ACDC numbers such as ``"002"``) when given."""
    out = []
    for p in sorted(Path(folder).glob("*.h5")):
        m = _ACDC_STACK.search(p.name)
        if m and (patients is None or m.group(1) in patients):
            im, lab = _read_h5(p)
            out.append((m.group(1), m.group(2), im, lab))
    return out


def sunnybrook_patients(folder: Path) -> list[str]:
    names = {(_SB_NAME.match(p.name) or [None, None])[1] for p in Path(folder, "images").glob("*.png")}
    return sorted(n for n in names if n)


def sunnybrook_split(folder: Path) -> tuple[list[str], list[str]]:
    """Deterministic split of the 30 Sunnybrook patients: within each group (HF-I, HF-NI,
    HYP, N) in name order, alternate patients go to training and to held-out testing."""
    train, test = [], []
    by_group: dict[str, list[str]] = {}
    for pid in sunnybrook_patients(folder):
        by_group.setdefault(pid.rsplit("-", 1)[0], []).append(pid)
    for members in by_group.values():
        for i, pid in enumerate(sorted(members)):
            (train if i % 2 == 0 else test).append(pid)
    return sorted(train), sorted(test)


def load_sunnybrook(folder: Path, patients: list[str]) -> list[Slice2D]:
    """Sunnybrook slices of the given patients (label 255 = LV cavity → heartprint 1)."""
    from PIL import Image as PILImage

    from heartprint.segmentation._preprocess import normalise_intensity

    wanted = set(patients)
    out = []
    for p in sorted(Path(folder, "images").glob("*.png")):
        m = _SB_NAME.match(p.name)
        if not m or m.group(1) not in wanted:
            continue
        im = np.asarray(PILImage.open(p).convert("L"), dtype=np.float32)
        lab = np.asarray(PILImage.open(Path(folder, "labels", p.name)).convert("L"))
        out.append(Slice2D(normalise_intensity(im[None])[0], np.where(lab > 127, LV_CAVITY, 0).astype(np.uint8), m.group(1), True))
    return out


#: Ranges of the synthetic training phantoms (see :func:`phantom_slices`).
PHANTOM_RANGES = {
    "edv_ml": (90.0, 260.0),
    "esv_fraction_of_edv": (0.25, 0.70),
    "lv_mass_g": (70.0, 220.0),
    "rv_edv_fraction_of_lv_edv": (0.8, 1.4),
    "rv_esv_fraction_of_rv_edv": (0.30, 0.70),
    "noise_sd": (5.0, 45.0),
    "slice_mm": (6.0, 10.0),
    "pixel_mm": (1.2, 1.9),
    "field_of_view_mm": (250.0, 360.0),
    "tissue_intensity_factor": (0.75, 1.30),
}

#: Ranges of the endocardial and epicardial detail drawn when ``phantom_slices(detail=True)``
#: (keyword arguments of ``make_cine_sax``; 0 is a smooth cavity / no fat layer). Each is
#: switched off in a third of the stacks, so smooth and detailed hearts are both seen.
PHANTOM_DETAIL_RANGES = {
    "trabeculation_mm": (0.0, 3.5),
    "papillary_radius_mm": (0.0, 7.0),
    "epicardial_fat_mm": (0.0, 3.0),
}


def phantom_slices(n_stacks: int, seed: int, detail: bool = False) -> list[Slice2D]:
    """Short-axis slices of ``n_stacks`` synthetic beating-heart phantoms (ED and ES) with
    exact labels, drawn at random from :data:`PHANTOM_RANGES` (heart size and function,
    mass, noise, resolution, field of view, every tissue's intensity).

    They teach the network smooth-walled hearts without trabeculation, which it otherwise
    mis-reads (a network trained on ACDC alone puts a cartoon phantom's septum partly in
    the RV). With ``detail`` the hearts also get trabeculae, papillary muscles (both LV
    cavity, as in ACDC's labels) and an epicardial fat layer drawn from
    :data:`PHANTOM_DETAIL_RANGES`; without it they are smooth (the draws of earlier recipes
    are unchanged). Stacks are resampled to the network's 1.5 mm and normalised like real ones.
    """
    from heartprint.phantoms._cine_sax import TISSUE_INTENSITIES, make_cine_sax
    from heartprint.segmentation._preprocess import TARGET_SPACING_MM, normalise_intensity

    rng = np.random.default_rng(seed)
    R = PHANTOM_RANGES
    out: list[Slice2D] = []
    k = 0
    while k < n_stacks:
        u = lambda key: float(rng.uniform(*R[key]))  # noqa: E731
        edv = u("edv_ml")
        rv_edv = edv * u("rv_edv_fraction_of_lv_edv")
        dz, pix = u("slice_mm"), u("pixel_mm")
        n = int(round(u("field_of_view_mm") / pix))
        tissues = {name: value * u("tissue_intensity_factor") for name, value in TISSUE_INTENSITIES.items()
                   if name != "lv_trabeculae"}  # trabeculae: the myocardium's signal
        anatomy = {name: 0.0 for name in PHANTOM_DETAIL_RANGES}
        if detail:
            anatomy = {name: float(rng.uniform(*lim)) * float(rng.uniform() > 1 / 3)
                       for name, lim in PHANTOM_DETAIL_RANGES.items()}
        try:
            ph = make_cine_sax(
                n_phases=2, n_slices=int(np.ceil(110.0 / dz)) + 1, spacing=(dz, pix, pix), matrix=(n, n),
                edv_ml=edv, esv_ml=edv * u("esv_fraction_of_edv"), lv_mass_g=u("lv_mass_g"),
                rv_edv_ml=rv_edv, rv_esv_ml=rv_edv * u("rv_esv_fraction_of_rv_edv"),
                noise_sd=u("noise_sd"), seed=int(rng.integers(2**31)), intensities=tissues, **anatomy,
            )
        except (InvalidInputError, ValueError):  # an impossible combination: draw again
            continue
        for t in range(2):
            img = ph.image.phase(t)
            target = (dz, TARGET_SPACING_MM, TARGET_SPACING_MM)
            im = img.with_array(normalise_intensity(img.array)).resample(target, interpolation="linear").array
            lab = img.with_array(ph.labels[t]).resample(target, interpolation="nearest").array.astype(np.uint8)
            for z in range(im.shape[0]):
                prev = im[z - 1] if z > 0 else np.zeros_like(im[z])
                nxt = im[z + 1] if z + 1 < im.shape[0] else np.zeros_like(im[z])
                out.append(Slice2D(im[z].astype(np.float32), lab[z], f"phantom{k:03d}", False, (prev, nxt),
                                   edge=False, synthetic=True, end_systole=t == 1))
        k += 1
    return out

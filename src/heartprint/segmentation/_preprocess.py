"""Pre- and post-processing shared by training and inference (numpy/scipy only).

The network sees short-axis slices resampled to :data:`TARGET_SPACING_MM` in-plane and
intensities mapped to [0, 1] between the volume's 0.5th and 99.5th percentiles. Training
and inference call the same functions, so the contract cannot drift.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from heartprint.labels import LV_CAVITY, LV_MYOCARDIUM, RV_CAVITY

#: In-plane pixel size (mm) the network works at. ACDC's pixel grid is treated as nominally
#: 1.5 mm (its in-plane resolution is 1.37–1.68 mm; Bernard et al., IEEE TMI 2018,
#: doi:10.1109/TMI.2018.2837502) and training augments scale by ±30 % around it.
TARGET_SPACING_MM = 1.5

#: Percentiles for intensity normalisation.
PERCENTILES = (0.5, 99.5)

#: Total down-sampling factor of the network: inputs are padded to a multiple of it.
NET_STRIDE = 16


def normalise_intensity(volume: np.ndarray) -> np.ndarray:
    """Map a stack's intensities to [0, 1] between its 0.5th and 99.5th percentiles.

    Percentiles are taken over the whole (z, y, x) stack, so apical slices keep their
    relative darkness. A constant volume maps to zeros.
    """
    vol = np.asarray(volume, dtype=np.float32)
    lo, hi = np.percentile(vol, PERCENTILES)
    if not np.isfinite(lo) or not np.isfinite(hi) or hi <= lo:
        return np.zeros_like(vol)
    return np.clip((vol - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def pad_to_multiple(arr: np.ndarray, multiple: int = NET_STRIDE) -> tuple[np.ndarray, tuple[slice, slice]]:
    """Zero-pad the last two axes up to a multiple of ``multiple`` (centred).

    Returns the padded array and the slices that crop it back.
    """
    h, w = arr.shape[-2:]
    H = int(np.ceil(h / multiple) * multiple)
    W = int(np.ceil(w / multiple) * multiple)
    top, left = (H - h) // 2, (W - w) // 2
    pad = [(0, 0)] * (arr.ndim - 2) + [(top, H - h - top), (left, W - w - left)]
    return np.pad(arr, pad), (slice(top, top + h), slice(left, left + w))


def keep_largest_components(labels: np.ndarray) -> np.ndarray:
    """Keep, for each heart label, only its largest 3-D connected component.

    Connectivity is full (26-neighbourhood in 3-D) so that a structure continuing between
    slices 8–10 mm apart stays one object. Voxels removed become background.
    """
    out = labels.copy()
    structure = np.ones((3,) * labels.ndim, dtype=bool)
    for lab in (LV_CAVITY, LV_MYOCARDIUM, RV_CAVITY):
        mask = labels == lab
        if not mask.any():
            continue
        comp, n = ndimage.label(mask, structure=structure)
        if n <= 1:
            continue
        sizes = np.bincount(comp.ravel())
        sizes[0] = 0
        out[mask & (comp != int(np.argmax(sizes)))] = 0
    return out


def fill_cavity_holes(labels: np.ndarray) -> np.ndarray:
    """Fill holes inside the LV cavity per slice (ACDC convention: papillary muscles and
    trabeculae inside the blood pool belong to the cavity)."""
    out = labels.copy()
    for z in range(labels.shape[0]):
        lv = labels[z] == LV_CAVITY
        box = bounding_box(lv)
        if box is None:
            continue
        lv_b = lv[box]
        filled = ndimage.binary_fill_holes(lv_b)  # a hole lies inside the cavity's box
        out[z][box][filled & ~lv_b & (labels[z][box] == 0)] = LV_CAVITY
    return out


def bounding_box(mask: np.ndarray, margin: int = 0) -> tuple[slice, ...] | None:
    """The smallest box (slices, ``margin`` pixels wider where the array allows) holding every
    true pixel of ``mask``; ``None`` when it has none."""
    idx = [np.nonzero(mask.any(axis=tuple(a for a in range(mask.ndim) if a != d)))[0] for d in range(mask.ndim)]
    if not len(idx[0]):
        return None
    return tuple(slice(max(0, int(i[0]) - margin), min(n, int(i[-1]) + 1 + margin)) for i, n in zip(idx, mask.shape))

"""Regions of the LV wall shared by LGE, mapping and ECV: grids, labels, AHA segments, ROIs.

Moved here from ``_lge`` and ``_mapping`` (which still re-export every name) so that neither
of those modules imports the other: LGE needs the mid-wall and depth helpers, mapping needs
the label normalisation, the AHA segment map and the QC roll-up.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage

from heartprint.anatomy._aha import AHASegmentation, aha_segments, segment_of_angle
from heartprint.anatomy._plane import SlicePlane
from heartprint.errors import GeometryError
from heartprint.image import Image
from heartprint.results import qc_status  # noqa: F401 (the cmr modules' name for it)
from heartprint.labels import LV_CAVITY, LV_MYOCARDIUM

__all__ = [
    "as_labels",
    "check_mask_grid",
    "mid_wall_mask",
    "normalised_depth",
    "qc_status",
    "segment_map",
    "segment_map_statistics",
]


def mid_wall_mask(myocardium: np.ndarray, cavity: np.ndarray, spacing_yx: tuple[float, float]) -> np.ndarray:
    """The middle third of the wall: myocardium voxels whose normalised depth lies in [1/3, 2/3].

    Depth = ``d_endo / (d_endo + d_epi)`` with Euclidean distances (mm, real in-plane
    spacing) to the LV cavity and to the outside of cavity ∪ myocardium, per slice. This
    keeps regions of interest away from blood-pool (and epicardial fat) partial volume, as
    the SCMR/EACVI mapping consensus recommends for ROIs (conservative, in the mid-wall).
    ``myocardium`` and ``cavity`` are ``(z, y, x)`` booleans.
    """
    depth = normalised_depth(myocardium, cavity, spacing_yx)
    return myocardium & (depth >= 1.0 / 3.0) & (depth <= 2.0 / 3.0)


def normalised_depth(myocardium: np.ndarray, cavity: np.ndarray, spacing_yx: tuple[float, float]) -> np.ndarray:
    """Per-voxel normalised wall depth (0 endocardium → 1 epicardium), NaN outside the myocardium."""
    myo = np.asarray(myocardium, bool)
    cav = np.asarray(cavity, bool)
    out = np.full(myo.shape, np.nan)
    for z in range(myo.shape[0]):
        if not myo[z].any():
            continue
        lv = myo[z] | cav[z]
        if cav[z].any():
            d_endo = ndimage.distance_transform_edt(~cav[z], sampling=spacing_yx) - 0.5 * min(spacing_yx)
        else:  # apical cap: depth from the LV centre line is undefined; use the epicardial distance only
            d_endo = np.zeros(myo[z].shape)
        d_epi = ndimage.distance_transform_edt(lv, sampling=spacing_yx) - 0.5 * min(spacing_yx)
        d_endo = np.maximum(d_endo, 0)
        d_epi = np.maximum(d_epi, 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            dep = d_endo / (d_endo + d_epi)
        dep = np.where(np.isfinite(dep), dep, 0.5)
        out[z][myo[z]] = dep[myo[z]]
    return out


def check_mask_grid(mask_shape: tuple[int, ...], image_shape: tuple[int, ...], *, mask_name: str = "myocardium_labels",
                    image_name: str = "image", mask_affine: np.ndarray | None = None,
                    image_affine: np.ndarray | None = None) -> None:
    """Raise :class:`GeometryError` naming both grids unless the mask lies on the image grid."""
    if tuple(mask_shape) != tuple(image_shape):
        raise GeometryError(f"{mask_name} grid {tuple(mask_shape)} does not match {image_name} grid {tuple(image_shape)}")
    if mask_affine is not None and image_affine is not None and not np.allclose(mask_affine, image_affine, atol=1e-3):
        raise GeometryError(
            f"{mask_name} affine {np.round(mask_affine, 4).tolist()} does not match {image_name} affine "
            f"{np.round(image_affine, 4).tolist()} (resample the mask onto the image grid first)"
        )


def segment_map_statistics(
    values: np.ndarray, segments: np.ndarray, roi: np.ndarray | None = None
) -> dict[int, dict[str, float]]:
    """Mean, SD and voxel count of ``values`` per AHA segment (1–17) inside ``roi``.

    ``values``, ``segments`` (int, 0 outside the myocardium) and ``roi`` (bool) share one
    ``(z, y, x)`` grid; non-finite values are ignored.
    """
    vals = np.asarray(values, dtype=float)
    seg = np.asarray(segments)
    keep = np.isfinite(vals) & (seg > 0)
    if roi is not None:
        keep &= np.asarray(roi, bool)
    out: dict[int, dict[str, float]] = {}
    for s in range(1, 18):
        v = vals[keep & (seg == s)]
        if v.size:
            out[s] = {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if v.size > 1 else 0.0, "n": int(v.size)}
    return out


def as_labels(labels: Any, image: Image, name: str = "myocardium_labels") -> np.ndarray:
    if isinstance(labels, Image):
        check_mask_grid(labels.shape3d, image.shape3d, mask_name=name, image_name="image",
                        mask_affine=labels.affine, image_affine=image.affine)
        arr = np.asarray(labels.array)
    else:
        arr = np.asarray(labels)
    if arr.ndim == 2 and len(image.shape3d) == 3 and image.shape3d[0] == 1:
        arr = arr[None]
    check_mask_grid(arr.shape, image.shape3d, mask_name=name, image_name="image")
    if arr.dtype == bool:  # a myocardium mask alone: the cavity is what the wall encloses
        myo = arr
        cav = np.stack([ndimage.binary_fill_holes(m) & ~m for m in myo])
        arr = np.where(myo, LV_MYOCARDIUM, np.where(cav, LV_CAVITY, 0)).astype(np.uint8)
    return arr


def segment_map(affine: np.ndarray, labels: np.ndarray, *, levels: dict[int, str] | None = None,
              insertion_points_lps=None) -> tuple[np.ndarray, AHASegmentation]:
    """AHA segment map; ``levels`` (slice → level) overrides the automatic basal/mid/apical split."""
    aha = aha_segments(affine, labels, insertion_points_lps=insertion_points_lps)
    seg = aha.segments.copy()
    if levels:
        plane = SlicePlane.from_affine(np.asarray(affine, float))
        for z, level in levels.items():
            if z not in aha.frames:
                continue
            myo = labels[z] == LV_MYOCARDIUM
            yx = np.argwhere(myo)
            phi = aha.frames[z].phi(plane.ab(yx), origin=aha.origin)
            seg[z] = 0
            seg[z][tuple(yx.T)] = segment_of_angle(phi, level)  # type: ignore[arg-type]
            aha.levels[z] = level
    return seg, aha

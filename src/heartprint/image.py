"""The one in-memory image type of heartprint.

An :class:`Image` is a pixel array indexed ``(z, y, x)`` or ``(t, z, y, x)`` together with
the 4×4 affine that maps a voxel index ``(z, y, x, 1)`` to DICOM patient coordinates (LPS,
millimetres) — the same index order and matrix form as ``highdicom.Volume``, but slices are stacked
along row × column where highdicom stacks along column × row (its volume is ours flipped on axis 0;
``tests/test_architecture_imports.py`` checks this on real series). Frame
times (ms from the R wave) travel with a cine. Spacing is *derived* from the affine and is
never assumed: an affine with a zero or non-finite column is a :class:`GeometryError`.

Resampling goes through SimpleITK only (:meth:`Image.resample`, :meth:`Image.to_sitk`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import numpy as np

from heartprint.errors import GeometryError, InvalidInputError

__all__ = ["Image", "affine_from_geometry", "check_spacing"]


def check_spacing(spacing: Sequence[float], *, name: str = "spacing", ndim: int = 3) -> tuple[float, ...]:
    """Validate a voxel spacing in millimetres and return it as a tuple of floats.

    Raises :class:`GeometryError` naming ``name`` and the value unless there are ``ndim``
    finite, strictly positive numbers.
    """
    try:
        values = tuple(float(s) for s in spacing)
    except (TypeError, ValueError) as exc:
        raise GeometryError(f"{name}={spacing!r}: expected {ndim} numbers in mm") from exc
    if len(values) != ndim or not all(np.isfinite(v) and v > 0 for v in values):
        raise GeometryError(f"{name}={spacing!r}: expected {ndim} finite spacings > 0 mm")
    return values


def affine_from_geometry(
    spacing: Sequence[float],
    origin: Sequence[float] = (0.0, 0.0, 0.0),
    direction: np.ndarray | None = None,
) -> np.ndarray:
    """Affine mapping index ``(z, y, x, 1)`` to LPS mm.

    Parameters
    ----------
    spacing
        ``(dz, dy, dx)`` in mm.
    origin
        LPS position (mm) of the centre of voxel ``(0, 0, 0)`` — DICOM (0020,0032)
        Image Position (Patient) of the first slice.
    direction
        3×3 matrix whose columns are the unit LPS directions of increasing z, y and x
        index. Default: x along L, y along P, z along S (an axial stack).
    """
    dz, dy, dx = check_spacing(spacing)
    if direction is None:
        direction = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    direction = np.asarray(direction, dtype=float)
    if direction.shape != (3, 3) or not np.all(np.isfinite(direction)):
        raise GeometryError(f"direction={direction!r}: expected a finite 3x3 matrix")
    norms = np.linalg.norm(direction, axis=0)
    if np.any(norms < 1e-6):
        raise GeometryError(f"direction={direction.tolist()}: a column has zero length")
    affine = np.eye(4)
    affine[:3, :3] = direction / norms * np.array([dz, dy, dx])
    affine[:3, 3] = np.asarray(origin, dtype=float)
    return affine


@dataclass(frozen=True, eq=False)
class Image:
    """Pixels with their geometry, in LPS millimetres.

    Attributes
    ----------
    array
        ``(z, y, x)`` or ``(t, z, y, x)`` pixel values (modality units: HU for CT after
        rescale, arbitrary units for MR).
    affine
        4×4 matrix mapping ``(z, y, x, 1)`` to LPS mm (highdicom ``Volume``'s matrix form; slice
        axis reversed relative to it).
    frame_times_ms
        ``(t,)`` times of the phases in ms (DICOM (0018,1060) Trigger Time for MR cine);
        ``None`` for a single-phase image.
    study_uid, series_uid, modality
        Identifiers of the source series: (0020,000D), (0020,000E), (0008,0060).
    kind
        The series kind from :mod:`heartprint.io.classify` (e.g. ``"cine_sax"``), if known.
    meta
        Other facts carried from the source (series description, heart rate, patient size
        and weight, ...). Plain JSON-able values.
    """

    array: np.ndarray
    affine: np.ndarray
    frame_times_ms: np.ndarray | None = None
    study_uid: str | None = None
    series_uid: str | None = None
    modality: str | None = None
    kind: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        arr = np.asarray(self.array)
        if arr.ndim not in (3, 4):
            raise InvalidInputError(f"Image array shape {arr.shape}: expected (z, y, x) or (t, z, y, x)")
        aff = np.asarray(self.affine, dtype=float)
        if aff.shape != (4, 4) or not np.all(np.isfinite(aff)):
            raise GeometryError(f"Image affine {self.affine!r}: expected a finite 4x4 matrix")
        if abs(np.linalg.det(aff[:3, :3])) < 1e-9:
            raise GeometryError(f"Image affine {aff.tolist()}: singular (a zero spacing or parallel axes)")
        object.__setattr__(self, "array", arr)
        object.__setattr__(self, "affine", aff)
        if self.frame_times_ms is not None:
            times = np.asarray(self.frame_times_ms, dtype=float)
            if arr.ndim != 4 or times.shape != (arr.shape[0],):
                raise GeometryError(
                    f"frame_times_ms has shape {times.shape}: expected ({arr.shape[0] if arr.ndim == 4 else 0},) "
                    f"for an array of shape {arr.shape}"
                )
            object.__setattr__(self, "frame_times_ms", times)

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_array(
        cls,
        array: np.ndarray,
        spacing: Sequence[float],
        origin: Sequence[float] = (0.0, 0.0, 0.0),
        direction: np.ndarray | None = None,
        **kwargs: Any,
    ) -> "Image":
        """Build an image from an array and ``(dz, dy, dx)`` spacing in mm."""
        return cls(np.asarray(array), affine_from_geometry(spacing, origin, direction), **kwargs)

    # -- geometry -----------------------------------------------------------------------
    @property
    def is_cine(self) -> bool:
        return self.array.ndim == 4

    @property
    def n_phases(self) -> int:
        return self.array.shape[0] if self.is_cine else 1

    @property
    def shape3d(self) -> tuple[int, int, int]:
        return tuple(self.array.shape[-3:])  # type: ignore[return-value]

    @property
    def spacing(self) -> tuple[float, float, float]:
        """``(dz, dy, dx)`` in mm, from the affine's column lengths."""
        return tuple(float(v) for v in np.linalg.norm(self.affine[:3, :3], axis=0))  # type: ignore[return-value]

    @property
    def direction(self) -> np.ndarray:
        """3×3 unit LPS directions of increasing z, y, x index (columns)."""
        return self.affine[:3, :3] / np.linalg.norm(self.affine[:3, :3], axis=0)

    @property
    def origin(self) -> np.ndarray:
        return self.affine[:3, 3].copy()

    @property
    def voxel_volume_mm3(self) -> float:
        """Volume of one voxel (mm³): |det| of the affine's linear part (exact for oblique grids)."""
        return float(abs(np.linalg.det(self.affine[:3, :3])))

    def index_to_lps(self, index: np.ndarray) -> np.ndarray:
        """Map ``(..., 3)`` voxel indices ``(z, y, x)`` to LPS mm."""
        idx = np.asarray(index, dtype=float)
        return idx @ self.affine[:3, :3].T + self.affine[:3, 3]

    def lps_to_index(self, points: np.ndarray) -> np.ndarray:
        """Map ``(..., 3)`` LPS points (mm) to fractional voxel indices ``(z, y, x)``."""
        pts = np.asarray(points, dtype=float) - self.affine[:3, 3]
        return pts @ np.linalg.inv(self.affine[:3, :3]).T

    # -- time ---------------------------------------------------------------------------
    def phase(self, t: int) -> "Image":
        """The 3-D image of phase ``t`` of a cine (identity for a 3-D image and ``t == 0``)."""
        if not self.is_cine:
            if t != 0:
                raise InvalidInputError(f"phase {t} requested from a single-phase image")
            return self
        meta = dict(self.meta)
        if self.frame_times_ms is not None:
            meta["frame_time_ms"] = float(self.frame_times_ms[t])
        return replace(self, array=self.array[t], frame_times_ms=None, meta=meta)

    def with_array(self, array: np.ndarray, **changes: Any) -> "Image":
        """Same geometry and identifiers, new pixels (e.g. a label map)."""
        arr = np.asarray(array)
        if arr.shape[-3:] != self.shape3d:
            raise InvalidInputError(f"array shape {arr.shape} does not match image grid {self.shape3d}")
        times = self.frame_times_ms if arr.ndim == 4 and arr.shape[0] == self.n_phases else None
        return replace(self, array=arr, frame_times_ms=changes.pop("frame_times_ms", times), **changes)

    # -- SimpleITK bridge: the one place resampling happens -----------------------------
    def to_sitk(self, t: int | None = None):
        """A ``SimpleITK.Image`` of one 3-D phase (SimpleITK works in LPS natively)."""
        import SimpleITK as sitk

        arr = self.array if not self.is_cine else self.array[0 if t is None else t]
        img = sitk.GetImageFromArray(np.ascontiguousarray(arr))
        sz, sy, sx = self.spacing
        img.SetSpacing((sx, sy, sz))
        img.SetOrigin(tuple(float(v) for v in self.affine[:3, 3]))
        d = self.direction[:, ::-1]  # SimpleITK index order is (x, y, z)
        img.SetDirection(tuple(float(v) for v in d.flatten()))
        return img

    @classmethod
    def from_sitk(cls, img, **kwargs: Any) -> "Image":
        """Wrap a 3-D ``SimpleITK.Image`` (LPS) as an :class:`Image`."""
        import SimpleITK as sitk

        arr = sitk.GetArrayFromImage(img)
        sx, sy, sz = img.GetSpacing()
        d = np.array(img.GetDirection(), dtype=float).reshape(3, 3)[:, ::-1]
        return cls(arr, affine_from_geometry((sz, sy, sx), img.GetOrigin(), d), **kwargs)

    def resample(self, spacing: Sequence[float], *, interpolation: str = "linear") -> "Image":
        """Resample onto a grid with ``(dz, dy, dx)`` spacing (mm) covering the same extent.

        ``interpolation`` is ``"linear"``, ``"bspline"`` or ``"nearest"`` (use nearest for
        label maps). Every phase of a cine is resampled onto the same grid.
        """
        import SimpleITK as sitk

        new = check_spacing(spacing)
        interp = {
            "linear": sitk.sitkLinear,
            "bspline": sitk.sitkBSpline,
            "nearest": sitk.sitkNearestNeighbor,
        }.get(interpolation)
        if interp is None:
            raise InvalidInputError(f"interpolation={interpolation!r}: expected linear, bspline or nearest")
        old = np.array(self.spacing)
        extent = np.array(self.shape3d) * old
        size_zyx = np.maximum(1, np.round(extent / np.array(new)).astype(int))
        # Keep the grid's outer boundary: the first voxel centre moves by half a voxel.
        shift = (np.array(new) - old) / 2.0
        origin = self.affine[:3, 3] + self.direction @ shift
        ref = sitk.Image([int(v) for v in size_zyx[::-1]], sitk.sitkFloat32)
        ref.SetSpacing(tuple(float(v) for v in new[::-1]))
        ref.SetOrigin(tuple(float(v) for v in origin))
        ref.SetDirection(tuple(float(v) for v in self.direction[:, ::-1].flatten()))

        def one(t: int | None) -> np.ndarray:
            src = self.to_sitk(t)
            if interpolation != "nearest":
                src = sitk.Cast(src, sitk.sitkFloat32)
            out = sitk.Resample(src, ref, sitk.Transform(), interp, 0.0, src.GetPixelID())
            return sitk.GetArrayFromImage(out)

        arr = np.stack([one(t) for t in range(self.n_phases)]) if self.is_cine else one(None)
        affine = affine_from_geometry(new, origin, self.direction)
        return replace(self, array=arr, affine=affine)

    def resample_like(self, reference: "Image", *, interpolation: str = "linear") -> "Image":
        """Resample this 3-D image onto ``reference``'s grid (same physical space, LPS).

        Points of the reference grid outside this image get 0.
        """
        import SimpleITK as sitk

        if self.is_cine:
            raise InvalidInputError("resample_like takes a 3-D image; resample each phase")
        interp = {"linear": sitk.sitkLinear, "nearest": sitk.sitkNearestNeighbor}.get(interpolation)
        if interp is None:
            raise InvalidInputError(f"interpolation={interpolation!r}: expected linear or nearest")
        src = self.to_sitk()
        if interpolation != "nearest":
            src = sitk.Cast(src, sitk.sitkFloat32)
        ref = reference.to_sitk(0 if reference.is_cine else None)
        out = sitk.Resample(src, ref, sitk.Transform(), interp, 0.0, src.GetPixelID())
        return replace(reference.phase(0) if reference.is_cine else reference, array=sitk.GetArrayFromImage(out))

"""Transfer cine short-axis labels to LGE or mapping slices (slice match + rigid in-plane registration).

Steps, per target slice:

1. **Phase.** ``phase`` if given; else the cine frame nearest in (0018,1060) Trigger Time to
   the target's (``target_trigger_time_ms`` or ``target.meta["trigger_time_ms"]``); else
   end-diastole = the phase with the largest LV cavity in the cine labels (phase 0 when the
   cine labels are 3-D). LGE and mapping images are normally acquired in diastole.
2. **Slice.** The cine slice nearest along the cine's slice normal to the target slice
   centre; used only if the distance is at most half the cine slice spacing (+ 0.01 mm).
3. **Resampling.** That cine slice (image and labels, as a one-slice volume, which
   SimpleITK treats as ± half a slice thick) is resampled onto the target slice grid in LPS
   (linear for intensities, nearest neighbour for labels).
4. **Registration.** SimpleITK rigid ``Euler2DTransform`` (rotation about the LV centre +
   translation) maximising Mattes mutual information (16 bins; the contrasts differ between
   bSSFP cine and LGE/maps) between the target slice (fixed) and the resampled cine frame
   (moving), inside a mask of the labelled heart dilated by 10 mm, three resolution levels
   (shrink 4, 2, 1; smoothing 2, 1, 0 pixels).
   A result that moves more than ``max_translation_mm`` or rotates more than 15° is rejected
   (the unregistered labels are kept) and flagged.

Reported QC per slice: distance (mm), phase, translation (mm), rotation (°), final metric
value (negative MI: lower is better), and, when ``reference_labels`` (e.g. a direct
segmentation of the target) are given, the Dice of the transferred vs reference myocardium.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

from heartprint.errors import GeometryError, InvalidInputError
from heartprint.image import Image
from heartprint.labels import LV_CAVITY, LV_MYOCARDIUM
from heartprint.measure import QCFlag, Severity

__all__ = ["SliceTransfer", "TransferResult", "myocardium_source", "transfer_cine_labels"]

_MAX_ROT_DEG = 15.0


@dataclass
class SliceTransfer:
    """How one target slice got its labels."""

    target_slice: int
    cine_slice: int | None
    distance_mm: float | None
    phase: int
    translation_mm: list[float] = field(default_factory=lambda: [0.0, 0.0])
    rotation_deg: float = 0.0
    metric: float | None = None
    registered: bool = False
    dice_myocardium: float | None = None
    note: str = ""


@dataclass
class TransferResult:
    """Labels on the target grid (``(z, y, x)`` uint8) with per-slice provenance and QC."""

    labels: np.ndarray
    slices: list[SliceTransfer]
    phase: int
    phase_rule: str
    method: str
    qc: list[QCFlag]

    @property
    def dice_myocardium(self) -> float | None:
        v = [s.dice_myocardium for s in self.slices if s.dice_myocardium is not None]
        return float(np.mean(v)) if v else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "phase": self.phase,
            "phase_rule": self.phase_rule,
            "slices": [asdict(s) for s in self.slices],
            "dice_myocardium": self.dice_myocardium,
            "qc": [f.to_dict() for f in self.qc],
        }


def _dice(a: np.ndarray, b: np.ndarray) -> float | None:
    s = a.sum() + b.sum()
    return None if s == 0 else float(2.0 * (a & b).sum() / s)


def _slice_sitk(img: Image, arr2d: np.ndarray, z: int, pixel_type):
    import SimpleITK as sitk

    s = sitk.GetImageFromArray(np.ascontiguousarray(arr2d[None]).astype(pixel_type))
    sz, sy, sx = img.spacing
    s.SetSpacing((sx, sy, sz))
    s.SetOrigin(tuple(float(v) for v in img.affine[:3, 3] + z * img.affine[:3, 0]))
    s.SetDirection(tuple(float(v) for v in img.direction[:, ::-1].flatten()))
    return s


def _register(fixed2d: np.ndarray, moving2d: np.ndarray, labels2d: np.ndarray, spacing_yx: tuple[float, float]):
    import SimpleITK as sitk

    dy, dx = spacing_yx
    fixed = sitk.GetImageFromArray(fixed2d.astype(np.float32))
    moving = sitk.GetImageFromArray(moving2d.astype(np.float32))
    for im in (fixed, moving):
        im.SetSpacing((dx, dy))
    heart = labels2d > 0
    radius = int(np.ceil(10.0 / min(dy, dx)))
    yy, xx = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    mask = ndimage.binary_dilation(heart, structure=(yy**2 + xx**2) <= radius**2)
    mimg = sitk.GetImageFromArray(mask.astype(np.uint8))
    mimg.SetSpacing((dx, dy))
    lv = np.argwhere((labels2d == LV_CAVITY) | (labels2d == LV_MYOCARDIUM))
    cy, cx = lv.mean(axis=0) if len(lv) else np.array(labels2d.shape) / 2.0
    tx = sitk.Euler2DTransform()
    tx.SetCenter((float(cx * dx), float(cy * dy)))
    reg = sitk.ImageRegistrationMethod()
    reg.SetMetricAsMattesMutualInformation(numberOfHistogramBins=16)
    reg.SetMetricFixedMask(mimg)
    reg.SetMetricSamplingStrategy(reg.NONE)
    reg.SetInterpolator(sitk.sitkLinear)
    reg.SetOptimizerAsRegularStepGradientDescent(learningRate=1.0, minStep=1e-4, numberOfIterations=300,
                                                 relaxationFactor=0.6)
    reg.SetOptimizerScalesFromPhysicalShift()
    reg.SetShrinkFactorsPerLevel([4, 2, 1])
    reg.SetSmoothingSigmasPerLevel([2.0, 1.0, 0.0])
    reg.SmoothingSigmasAreSpecifiedInPhysicalUnitsOff()
    reg.SetInitialTransform(tx, inPlace=True)
    reg.Execute(fixed, moving)
    metric = float(reg.GetMetricValue())
    lab = sitk.GetImageFromArray(labels2d.astype(np.uint8))
    lab.SetSpacing((dx, dy))
    moved = sitk.GetArrayFromImage(sitk.Resample(lab, fixed, tx, sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8))
    # Euler2D maps fixed → moving points: the labels move by minus the translation (x, y in mm)
    t = tx.GetTranslation()
    return moved, [-float(t[1]), -float(t[0])], float(np.degrees(tx.GetAngle())), metric


def transfer_cine_labels(
    cine: Image,
    target: Image,
    *,
    cine_labels: Any = None,
    phase: int | None = None,
    target_trigger_time_ms: float | None = None,
    register: bool = True,
    reference_labels: np.ndarray | None = None,
    max_translation_mm: float = 15.0,
) -> TransferResult:
    """Transfer cine SAX labels to the slices of ``target`` (LGE or mapping image).

    Parameters
    ----------
    cine
        ``(t, z, y, x)`` (or ``(z, y, x)``) cine short-axis image with frame times.
    target
        ``(z, y, x)`` or ``(t, z, y, x)`` target; for a multi-image mapping series the first
        image is registered unless it is 4-D, in which case the image with the largest mean
        intensity is used (the most recovered inversion, best anatomy).
    cine_labels
        ``(t, z, y, x)`` or ``(z, y, x)`` labels on the cine grid; default: segment the chosen
        phase with :func:`heartprint.segmentation.segment_short_axis`.
    reference_labels
        Optional ``(z, y, x)`` labels on the target grid (e.g. a direct segmentation) for a
        Dice check of the transfer.

    Returns
    -------
    TransferResult
        ``labels`` on the target grid and per-slice provenance/QC (translation mm, rotation
        degrees, Mattes MI metric, slice distance mm, Dice).

    Raises
    ------
    GeometryError
        Cine labels not on the cine grid, or reference labels not on the target grid.
    """
    import SimpleITK as sitk

    cine_arr = np.asarray(cine.array, dtype=float)
    if cine_arr.ndim == 3:
        cine_arr = cine_arr[None]
    n_t = cine_arr.shape[0]
    rule = ""
    if cine_labels is not None:
        lab = np.asarray(cine_labels.array if isinstance(cine_labels, Image) else cine_labels)
        if lab.shape[-3:] != cine.shape3d:
            raise GeometryError(f"cine_labels grid {lab.shape} does not match cine grid {cine.array.shape}")
    else:
        lab = None
    if phase is None:
        tt = target_trigger_time_ms if target_trigger_time_ms is not None else target.meta.get("trigger_time_ms")
        if tt is not None and cine.frame_times_ms is not None:
            phase = int(np.argmin(np.abs(cine.frame_times_ms - float(tt))))
            rule = f"cine frame nearest to target trigger time {float(tt):g} ms"
        elif lab is not None and lab.ndim == 4:
            phase = int(np.argmax((lab == LV_CAVITY).reshape(lab.shape[0], -1).sum(1)))
            rule = "end-diastole (largest LV cavity)"
        else:
            phase = 0
            rule = "phase 0 (assumed end-diastole)"
    else:
        rule = "given"
    if not 0 <= phase < n_t:
        raise InvalidInputError(f"phase={phase}: the cine has {n_t} phases")
    if lab is None:
        from heartprint.segmentation import segment_short_axis

        lab3 = segment_short_axis(cine.phase(phase) if cine.is_cine else cine)
    else:
        lab3 = lab[phase] if lab.ndim == 4 else lab
    frame = cine_arr[phase]

    tgt = np.asarray(target.array, dtype=float)
    if tgt.ndim == 4:
        tgt = tgt[int(np.argmax(tgt.reshape(tgt.shape[0], -1).mean(1)))]
    nz, ny, nx = target.shape3d
    if reference_labels is not None and np.asarray(reference_labels).shape != (nz, ny, nx):
        raise GeometryError(f"reference_labels grid {np.asarray(reference_labels).shape} does not match target grid {(nz, ny, nx)}")
    normal = cine.direction[:, 0]
    dz_cine = cine.spacing[0]
    cine_pos = np.array([(cine.affine[:3, 3] + k * cine.affine[:3, 0]) @ normal for k in range(cine.shape3d[0])])
    out = np.zeros((nz, ny, nx), dtype=np.uint8)
    slices: list[SliceTransfer] = []
    qc: list[QCFlag] = []
    _, dy, dx = target.spacing
    for z in range(nz):
        centre = target.index_to_lps(np.array([z, (ny - 1) / 2.0, (nx - 1) / 2.0]))
        d = centre @ normal - cine_pos
        k = int(np.argmin(np.abs(d)))
        dist = float(abs(d[k]))
        if dist > dz_cine / 2.0 + 0.01:
            slices.append(SliceTransfer(z, None, dist, phase, note="no cine slice within half a slice thickness"))
            continue
        ref = _slice_sitk(target, np.zeros((ny, nx)), z, np.float32)
        mov_img = _slice_sitk(cine, frame[k], k, np.float32)
        mov_lab = _slice_sitk(cine, lab3[k], k, np.uint8)
        res_img = sitk.GetArrayFromImage(sitk.Resample(mov_img, ref, sitk.Transform(), sitk.sitkLinear, 0.0))[0]
        res_lab = sitk.GetArrayFromImage(sitk.Resample(mov_lab, ref, sitk.Transform(), sitk.sitkNearestNeighbor, 0,
                                                       sitk.sitkUInt8))[0]
        st = SliceTransfer(z, k, dist, phase)
        labels2d = res_lab
        if register and (res_lab > 0).any():
            moved, trans, rot, metric = _register(tgt[z], res_img, res_lab, (dy, dx))
            st.metric = metric
            if np.hypot(*trans) > max_translation_mm or abs(rot) > _MAX_ROT_DEG:
                st.note = f"registration rejected (translation {np.hypot(*trans):.1f} mm, rotation {rot:.1f} deg)"
                qc.append(QCFlag(code="transfer_registration_rejected", severity=Severity.WARNING,
                                 message=f"slice {z}: rigid registration moved {np.hypot(*trans):.1f} mm / {rot:.1f} deg "
                                         f"(limits {max_translation_mm:g} mm / {_MAX_ROT_DEG:g} deg); unregistered labels kept",
                                 details={"slice": z, "translation_mm": trans, "rotation_deg": rot}))
            else:
                labels2d = moved
                st.translation_mm = [round(v, 3) for v in trans]
                st.rotation_deg = round(rot, 3)
                st.registered = True
        out[z] = labels2d
        if reference_labels is not None:
            st.dice_myocardium = _dice(labels2d == LV_MYOCARDIUM, np.asarray(reference_labels)[z] == LV_MYOCARDIUM)
        slices.append(st)
    missing = [s.target_slice for s in slices if s.cine_slice is None]
    if missing:
        qc.append(QCFlag(code="transfer_slices_unmatched", severity=Severity.WARNING,
                         message=f"target slices {missing} have no cine slice within half a slice thickness "
                                 f"({dz_cine / 2:.1f} mm); they have no myocardium mask", details={"slices": missing}))
    dices = [s.dice_myocardium for s in slices if s.dice_myocardium is not None]
    if dices and min(dices) < 0.7:
        qc.append(QCFlag(code="transfer_low_dice", severity=Severity.WARNING,
                         message=f"Dice of transferred vs reference myocardium down to {min(dices):.2f} (< 0.70)",
                         details={"dice": dices}))
    method = (f"cine labels transferred: phase {phase} ({rule}); nearest cine slice along the normal within half a "
              f"slice ({dz_cine / 2:.1f} mm); " + ("rigid Euler2D registration, Mattes MI" if register else "no registration"))
    return TransferResult(out, slices, phase, rule, method, qc)


def myocardium_source(grid: Image, given: Any, cine: Image | None, cine_labels: Any, *,
                      what: str) -> tuple[Any, str, "TransferResult | None"]:
    """Where a tissue series' myocardium comes from: ``given`` labels on its grid (returned as
    given, source ``"user"``), else the ``cine``'s labels transferred onto ``grid``
    (``"cine_transfer"``, with the :class:`TransferResult`); neither is an error naming ``what``."""
    if given is not None:
        return given, "user", None
    if cine is not None:
        tr = transfer_cine_labels(cine, grid, cine_labels=cine_labels)
        return tr.labels, "cine_transfer", tr
    raise InvalidInputError(f"{what} needs myocardium_labels (on its grid) or a cine to transfer from")

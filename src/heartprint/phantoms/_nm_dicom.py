"""Write a :class:`~heartprint.phantoms._nuclear.PerfusionPhantom` as NM Image Storage (multi-frame).

One file per series, SOP class NM Image Storage (1.2.840.10008.5.1.4.1.1.20), explicit VR
little endian, 16-bit unsigned pixels. Modules filled (PS3.3 A.5): Patient, General Study,
General Series, NM/PET Patient Orientation, Frame of Reference, General Equipment, General
Image, Image Pixel, Multi-frame, NM Image Pixel, NM Multi-frame, NM Image, NM Isotope, NM
Detector, NM TOMO Acquisition, NM Multi-gated Acquisition (gated), NM Reconstruction, VOI LUT
and SOP Common.

Layout
------
* Image Type ``ORIGINAL\\PRIMARY\\RECON TOMO\\EMISSION`` (``RECON GATED TOMO`` when gated).
* Ungated: (0028,0009) Frame Increment Pointer = Slice Vector (0054,0080); frame ``k`` is slice
  ``k + 1`` (image index z = k), Slice Vector = 1..Nz, (0054,0081) Number of Slices = Nz.
* Gated: Frame Increment Pointer = [R-R Interval Vector (0054,0060), Time Slot Vector (0054,0070),
  Slice Vector (0054,0080)] (the enumerated value for RECON GATED TOMO, PS3.3 C.8.4.8.1.1), one R-R
  interval (R-R Interval Vector all 1);
  frames are **time-slot-major**: frame ``k = g·Nz + z`` holds gate ``g`` (time slot ``g + 1``)
  and slice ``z`` (slice ``z + 1``); Time Slot Vector = [1]*Nz + [2]*Nz + …, Slice Vector =
  [1..Nz] repeated; (0054,0071) Number of Time Slots = number of gates.
* Geometry: the Detector Information Sequence item holds (0020,0032) Image Position (Patient) of
  the first slice (``affine @ (0, 0, 0, 1)``) and (0020,0037) Image Orientation (Patient) (row =
  x direction, column = y direction); slices advance along row × column by (0018,0088) Spacing
  Between Slices. (0028,0030) Pixel Spacing ``[dy, dx]``; (0018,0050) Slice Thickness ``dz``.
* Pixels: counts. Integer counts (Poisson noise on) are stored as they are, without rescale
  attributes; non-integer (noise off) or > 65535 counts are stored as ``round(counts / slope)``
  with (0028,1053) Rescale Slope = ``max / 65535``, (0028,1052) Rescale Intercept 0 and
  (0054,1001) Units ``CNTS`` (attributes outside the NM IOD: a Standard Extended SOP Class).
* State: (0008,103E) Series Description contains "STRESS" or "REST"; the state keyword is also
  in (0018,1030) Protocol Name ("... STRESS"/"... REST") and (0054,0400) Image ID (the state).
* Isotope: Tc-99m (SCT 72454006), Tc-99m sestamibi (SCT 424299003), 140 keV ±10 % energy window
  (126–154 keV).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from heartprint.errors import InvalidInputError
from heartprint.phantoms._dicom_common import SeriesHeader, _ds, check_out_dir, image_dataset, write_series

__all__ = ["write_nm_dicom", "NM_IMAGE_STORAGE"]

NM_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.20"
_SLICE_VECTOR = Tag(0x0054, 0x0080)
_TIME_SLOT_VECTOR = Tag(0x0054, 0x0070)
_RR_INTERVAL_VECTOR = Tag(0x0054, 0x0060)


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def write_nm_dicom(
    phantom,
    out_dir: str | os.PathLike,
    *,
    patient_id: str = "PHANTOM-NM",
    patient_name: str = "PHANTOM^NM",
    study_uid: str | None = None,
    series_description: str | None = None,
    series_number: int | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write ``phantom.image`` as one multi-frame NM Image Storage file (layout: module docstring).

    Parameters
    ----------
    phantom
        A :class:`~heartprint.phantoms._nuclear.PerfusionPhantom` (``image.meta["nm_state"]``
        "stress" or "rest").
    out_dir
        Directory to create (must not exist unless ``overwrite``); the file is
        ``NM_{STATE}.dcm``.
    study_uid
        (0020,000D); default: the image's own study UID (stress and rest of
        :func:`~heartprint.phantoms._nuclear.make_stress_rest` share one), else new.
    series_description
        (0008,103E); default the image's meta description. Must contain the state
        ("STRESS"/"REST", any case) if given.

    Returns
    -------
    list of Path
        The one written file.
    """
    image = phantom.image
    arr = np.asarray(image.array, dtype=np.float64)
    state = str(image.meta.get("nm_state", "")).lower()
    if state not in ("stress", "rest"):
        raise InvalidInputError(f"image.meta['nm_state']={state!r}: expected 'stress' or 'rest'")
    gated = arr.ndim == 4
    if not np.all(np.isfinite(arr)) or arr.min() < 0:
        raise InvalidInputError("NM counts must be finite and non-negative")
    desc = series_description or str(image.meta.get("series_description") or f"MPI {state.upper()} SPECT")
    if state.upper() not in desc.upper():
        raise InvalidInputError(f"series_description={desc!r}: expected it to contain {state.upper()!r}")
    out = check_out_dir(out_dir, overwrite)

    n_t = arr.shape[0] if gated else 1
    vol = arr if gated else arr[None]
    n_z, n_y, n_x = vol.shape[1:]
    dz, dy, dx = image.spacing
    integer = bool(np.all(vol == np.rint(vol))) and vol.max() <= 65535
    slope = 1.0 if integer else max(float(vol.max()), 1e-12) / 65535.0
    stored = np.rint(vol / slope).astype(np.uint16)
    frames = stored.reshape(n_t * n_z, n_y, n_x)  # time-slot-major: k = g * n_z + z

    uids = {}
    if study_uid or image.study_uid:
        uids["study_uid"] = study_uid or image.study_uid
    if image.series_uid:
        uids["series_uid"] = image.series_uid
    header = SeriesHeader(
        sop_class_uid=NM_IMAGE_STORAGE, modality="NM",
        image_type=("ORIGINAL", "PRIMARY", "RECON GATED TOMO" if gated else "RECON TOMO", "EMISSION"),
        study_description="heartprint phantom myocardial perfusion SPECT", series_description=desc,
        model_name="make_perfusion_phantom", protocol_name=f"MPI Tc99m sestamibi {state.upper()}",
        patient_name=patient_name, patient_id=patient_id, patient_sex="O", patient_age="060Y",
        series_number=int(series_number if series_number is not None else (1 if state == "stress" else 2)),
        **uids,
    )
    ds = image_dataset(header, 1)
    ds.ImageID = state.upper()
    del ds.PatientPosition  # not allowed with the Patient Orientation Code Sequence (NM/PET Patient Orientation)

    # NM/PET Patient Orientation (C.8.4.6)
    orient = _code("102538003", "SCT", "recumbent")
    orient.PatientOrientationModifierCodeSequence = [_code("40199007", "SCT", "supine")]
    ds.PatientOrientationCodeSequence = [orient]
    ds.PatientGantryRelationshipCodeSequence = [_code("102540008", "SCT", "headfirst")]

    # Image Pixel / NM Image Pixel (C.7.6.3, C.8.4.7)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = n_y, n_x
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelSpacing = [_ds(dy), _ds(dx)]

    # Multi-frame / NM Multi-frame (C.7.6.6, C.8.4.8)
    ds.NumberOfFrames = n_t * n_z
    ds.NumberOfEnergyWindows = 1
    ds.NumberOfDetectors = 1
    ds.NumberOfRotations = 1
    ds.SliceVector = [int(z) + 1 for _ in range(n_t) for z in range(n_z)]
    ds.NumberOfSlices = n_z
    if gated:
        ds.FrameIncrementPointer = [_RR_INTERVAL_VECTOR, _TIME_SLOT_VECTOR, _SLICE_VECTOR]
        ds.TimeSlotVector = [g + 1 for g in range(n_t) for _ in range(n_z)]
        ds.NumberOfTimeSlots = n_t
        ds.RRIntervalVector = [1] * (n_t * n_z)
        ds.NumberOfRRIntervals = 1
    else:
        ds.FrameIncrementPointer = _SLICE_VECTOR

    # NM Image (C.8.4.9)
    ds.LossyImageCompression = "00"
    ds.CountsAccumulated = int(round(float(vol.sum())))
    ds.CorrectedImage = ["UNIF", "COR"]
    if slope != 1.0:  # not in the NM IOD: dciodvfy warns "Standard Extended SOP Class" (no error)
        ds.Units = "CNTS"
        ds.RescaleIntercept = "0"
        ds.RescaleSlope = _ds(slope)

    # NM Isotope (C.8.4.10): Tc-99m 140 keV, 15 % window
    window = Dataset()
    rng = Dataset()
    rng.EnergyWindowLowerLimit, rng.EnergyWindowUpperLimit = "129.5", "150.5"
    window.EnergyWindowRangeSequence = [rng]
    window.EnergyWindowName = "Tc99m 140keV 15%"
    ds.EnergyWindowInformationSequence = [window]
    rp = Dataset()
    rp.RadionuclideCodeSequence = [_code("72454006", "SCT", "^99m^Technetium")]
    rp.Radiopharmaceutical = "Tc-99m sestamibi"
    rp.RadiopharmaceuticalCodeSequence = [_code("424299003", "SCT", "Technetium Tc^99m^ sestamibi")]
    rp.RadionuclideTotalDose = "370" if state == "rest" else "1110"  # MBq, 10 / 30 mCi one-day protocol
    ds.RadiopharmaceuticalInformationSequence = [rp]

    # NM Detector (C.8.4.11): one item for the reconstructed volume, with the geometry
    row_dir, col_dir = image.direction[:, 2], image.direction[:, 1]
    det = Dataset()
    det.CollimatorGridName = "LEHR"
    det.CollimatorType = "PARA"
    det.FocalDistance = ""
    det.XFocusCenter = ""
    det.YFocusCenter = ""
    det.ZoomFactor = ["1", "1"]
    det.ImagePositionPatient = [_ds(v) for v in image.affine[:3, 3]]
    det.ImageOrientationPatient = [_ds(v) for v in (*row_dir, *col_dir)]
    ds.DetectorInformationSequence = [det]

    # NM TOMO Acquisition (C.8.4.12)
    rot = Dataset()
    rot.StartAngle, rot.AngularStep, rot.RotationDirection, rot.ScanArc = "0", "3", "CW", "180"
    rot.ActualFrameDuration = "25000"  # ms per view
    rot.NumberOfFramesInRotation = 60
    rot.TableTraverse, rot.TableHeight = "0", "150"
    ds.RotationInformationSequence = [rot]
    ds.TypeOfDetectorMotion = "STEP AND SHOOT"

    if gated:  # NM Multi-gated Acquisition (C.8.4.13)
        rr_ms = float(image.meta.get("rr_interval_ms", 1000.0))
        ds.BeatRejectionFlag = "N"
        ds.TriggerSourceOrType = "EKG"
        ds.HeartRate = str(int(round(60000.0 / rr_ms)))
        gate = Dataset()
        gate.TriggerTime = "0"
        info = Dataset()
        info.FrameTime = _ds(rr_ms / n_t)
        info.NominalInterval = str(int(round(rr_ms)))
        info.LowRRValue, info.HighRRValue = str(int(round(rr_ms * 0.8))), str(int(round(rr_ms * 1.2)))
        info.IntervalsAcquired, info.IntervalsRejected = 900, 0
        slots = []
        for g in range(n_t):
            slot = Dataset()
            slot.TimeSlotTime = _ds(rr_ms / n_t)
            slots.append(slot)
        info.TimeSlotInformationSequence = slots
        gate.DataInformationSequence = [info]
        ds.GatedInformationSequence = [gate]

    # NM Reconstruction (C.8.4.14)
    ds.SpacingBetweenSlices = _ds(dz)
    ds.ReconstructionDiameter = _ds(n_x * dx)
    ds.ConvolutionKernel = "Butterworth"
    ds.SliceThickness = _ds(dz)

    # VOI LUT
    top = float(stored.max()) * slope
    ds.WindowCenter, ds.WindowWidth = _ds(top / 2.0), _ds(max(top, 1.0))
    ds.PixelData = np.ascontiguousarray(frames).tobytes()
    ds["PixelData"].VR = "OW"
    return write_series(out, [(f"NM_{state.upper()}.dcm", ds)])

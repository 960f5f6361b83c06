"""Write a :class:`~heartprint.phantoms._pet_dynamic.DynamicPetPhantom` as PET Image Storage, a file per slice/frame.

SOP class PET Image Storage (1.2.840.10008.5.1.4.1.1.128), explicit VR little endian, 16-bit
pixels. Modules filled (PS3.3 A.21): Patient, General Study, General Series, PET Series, PET
Isotope, NM/PET Patient Orientation, Frame of Reference, General Equipment, General Image, Image
Plane, Image Pixel, PET Image, VOI LUT and SOP Common.

Layout
------
* (0054,1000) Series Type ``DYNAMIC\\IMAGE``; (0054,0081) Number of Slices = Nz; (0054,0101)
  Number of Time Slices = Nt; file ``(t, z)`` has (0054,1330) Image Index ``t·Nz + z + 1`` (PS3.3
  C.8.9.4.1.9) and (0020,0013) Instance Number the same.
* Times: (0008,0021)/(0008,0031) Series Date/Time = the scan start (= injection, time zero of the
  phantom); (0008,0022)/(0008,0032) Acquisition Date/Time of frame ``t`` = scan start + frame start
  (``meta["frame_start_ms"]``), to the microsecond; (0018,1242) Actual Frame Duration =
  ``meta["frame_duration_ms"]`` (IS, ms, rounded); (0054,1300) Frame Reference Time (ms from the
  series reference time) = the frame's decay-weighted mean time (PS3.3 C.8.9.4.1.5: the time at
  which the activity equals the frame's mean),
  ``t_ref = t0 + (1/λ)·ln(λd / (1 − e^{−λd}))`` for start ``t0``, duration ``d``, ``λ = ln 2 / T½``
  (the mid-frame time when the half-life is unknown).
* Quantities: (0054,1001) Units ``BQML``; (0054,1102) Decay Correction from ``meta["decay_correction"]``
  (``START``: decay-corrected to the series time; ``NONE``); (0028,0051) Corrected Image
  ``NORM\\DTIM\\ATTN\\SCAT\\RAN`` plus ``DECY`` when decay-corrected; (0054,1321) Decay Factor (1C,
  decay-corrected only) = the frame-mean correction factor ``λd / (e^{−λ t0}(1 − e^{−λd}))``.
* Pixels: values in Bq/mL stored **per file** as ``round(v / slope)`` with (0028,1053) Rescale
  Slope ``= max|v| / 32767`` (signed 16-bit, used when any value of the series is negative, e.g.
  noise around zero) or ``max v / 65535`` (unsigned 16-bit); (0028,1052) Rescale Intercept 0.
  The decoded value ``stored · slope`` differs from ``v`` by at most ``slope / 2`` (plus the DS
  rounding of the slope, ≤ 1e-12 relative). An all-zero slice gets slope 1.
* Geometry (per file, :func:`~heartprint.phantoms._dicom_common.set_image_plane`): (0020,0032) Image
  Position (Patient) ``= affine @ (z, 0, 0, 1)``, (0020,0037) Image Orientation (Patient) = the
  affine's x (row) and y (column) directions, (0028,0030) Pixel Spacing ``[dy, dx]``, (0018,0050)
  Slice Thickness ``dz`` (mm).
* Isotope: (0054,0016) Radiopharmaceutical Information Sequence with (0054,0300) Radionuclide
  Code Sequence (CID 4020: ^13^Nitrogen SCT 21576001, ^82^Rubidium SCT 79197006), (0018,0031)
  Radiopharmaceutical ("N-13 ammonia" / "Rb-82 chloride"), (0054,0304) Radiopharmaceutical Code
  Sequence (CID 4021: Ammonia N^13^ SCT 129508003, Rubidium chloride Rb^82^ SCT 129503007 —
  DICOM PS3.16), (0018,1075) Radionuclide Half Life (s, from the phantom), (0018,1074)
  Radionuclide Total Dose (Bq; phantom choice: 370 MBq N-13 ammonia, 1110 MBq Rb-82, the lower
  ends of the ranges of the ASNC PET guideline, Dilsizian V et al., J Nucl Cardiol
  2016;23:1187–1226, doi:10.1007/s12350-016-0522-3 — ⚠ ranges not re-read here; nothing reads
  the dose for flow), (0018,1072) Radiopharmaceutical Start Time = the scan start.
* State: (0008,103E) Series Description contains "STRESS" or "REST" (``meta["nm_state"]``); also
  (0018,1030) Protocol Name.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from heartprint.errors import InvalidInputError
from heartprint.phantoms._dicom_common import (
    SeriesHeader,
    _ds,
    check_out_dir,
    image_dataset,
    set_image_plane,
    write_series,
)

__all__ = ["write_pet_dicom", "PET_IMAGE_STORAGE"]

PET_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.128"

#: tracer key → (Radiopharmaceutical text, radionuclide code (CID 4020), radiopharmaceutical code (CID 4021),
#: total dose in Bq (phantom choice, see the module docstring)). Codes: DICOM PS3.16 CID 4020 / CID 4021.
_TRACERS: dict[str, tuple[str, tuple[str, str], tuple[str, str], float]] = {
    "n13": ("N-13 ammonia", ("21576001", "^13^Nitrogen"), ("129508003", "Ammonia N^13^"), 370e6),
    "rb82": ("Rb-82 chloride", ("79197006", "^82^Rubidium"), ("129503007", "Rubidium chloride Rb^82^"), 1110e6),
}


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def _tracer_key(meta: dict[str, Any]) -> str:
    text = " ".join(str(meta.get(k) or "") for k in ("tracer", "radionuclide")).lower()
    if any(w in text for w in ("ammonia", "n-13", "13n", "n13", "nh3")):
        return "n13"
    if any(w in text for w in ("rb-82", "82rb", "rb82", "rubidium")):
        return "rb82"
    raise InvalidInputError(f"image.meta tracer {meta.get('tracer')!r} / radionuclide {meta.get('radionuclide')!r}: "
                            "expected N-13 ammonia or Rb-82")


def _tm(moment: _dt.datetime) -> str:
    """A DICOM TM ``HHMMSS.FFFFFF``."""
    return moment.strftime("%H%M%S.%f")


def _quantise(frame: np.ndarray, signed: bool) -> tuple[np.ndarray, str]:
    """``frame`` (Bq/mL) as 16-bit integers and the DS Rescale Slope that decodes them (intercept 0)."""
    top = float(np.max(np.abs(frame))) if signed else float(np.max(frame))
    full = 32767.0 if signed else 65535.0
    slope_text = _ds(top / full) if top > 0 else "1"
    slope = float(slope_text)
    lo = -full if signed else 0.0
    stored = np.clip(np.rint(frame / slope), lo, full)
    return stored.astype(np.int16 if signed else np.uint16), slope_text


def write_pet_dicom(
    phantom: Any,
    out_dir: str | os.PathLike,
    *,
    patient_id: str = "PHANTOM-PET",
    patient_name: str = "PHANTOM^PET",
    study_uid: str | None = None,
    series_description: str | None = None,
    series_number: int | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write ``phantom.image`` (``(t, z, y, x)`` Bq/mL) as a dynamic PET series (layout: module docstring).

    Parameters
    ----------
    phantom
        A :class:`~heartprint.phantoms._pet_dynamic.DynamicPetPhantom` (or anything with an ``image``
        of that kind): modality "PT", 4-D, ``meta`` with ``frame_start_ms``, ``frame_duration_ms`` (one
        per frame, ms), ``nm_state`` ("stress"/"rest"), ``tracer`` (N-13 ammonia or Rb-82),
        ``radionuclide_half_life_s`` (s) and ``decay_correction`` ("START" or "NONE").
    out_dir
        Folder to create (must not exist unless ``overwrite``); written atomically. Files are
        ``PT_{STATE}_T{t+1:03d}_S{z+1:03d}.dcm``.
    study_uid
        (0020,000D); default the image's study UID, else new.
    series_description
        (0008,103E); default the image's meta description (or ``"{STATE} dynamic cardiac PET {tracer}"``
        when that is longer than the 64 characters of LO). Must contain the state ("STRESS"/"REST",
        any case).
    series_number
        (0020,0011); default 1 for stress, 2 for rest.

    Returns
    -------
    list of Path
        The written files, frame-major (file ``t·Nz + z``).

    Raises
    ------
    InvalidInputError
        Not a 4-D image, non-finite values, missing/inconsistent frame timing, unknown tracer or state.
    """
    image = phantom.image
    arr = np.asarray(image.array, dtype=np.float64)
    meta = dict(image.meta or {})
    if arr.ndim != 4:
        raise InvalidInputError(f"image shape {arr.shape}: expected a dynamic (t, z, y, x) PET image")
    if not np.all(np.isfinite(arr)):
        raise InvalidInputError("PET image values must be finite (Bq/mL)")
    n_t, n_z, n_y, n_x = arr.shape
    state = str(meta.get("nm_state", "")).lower()
    if state not in ("stress", "rest"):
        raise InvalidInputError(f"image.meta['nm_state']={meta.get('nm_state')!r}: expected 'stress' or 'rest'")
    starts = np.asarray(meta.get("frame_start_ms") or [], dtype=float)
    durs = np.asarray(meta.get("frame_duration_ms") or [], dtype=float)
    if starts.shape != (n_t,) or durs.shape != (n_t,) or not (np.all(np.isfinite(starts)) and np.all(durs > 0)):
        raise InvalidInputError(f"image.meta frame_start_ms {starts.tolist()} / frame_duration_ms {durs.tolist()}: "
                                f"expected {n_t} finite starts and {n_t} positive durations (ms)")
    if np.any(starts < 0) or (n_t > 1 and not np.all(np.diff(starts) > 0)):
        raise InvalidInputError(f"image.meta frame_start_ms {starts.tolist()}: expected increasing starts ≥ 0 ms")
    decay_corr = str(meta.get("decay_correction") or "START").upper()
    if decay_corr not in ("START", "NONE"):
        raise InvalidInputError(f"image.meta['decay_correction']={decay_corr!r}: expected 'START' or 'NONE'")
    key = _tracer_key(meta)
    pharm_text, nuclide_code, pharm_code, dose_bq = _TRACERS[key]
    half_life = meta.get("radionuclide_half_life_s")
    half_life = float(half_life) if half_life is not None else None
    if half_life is not None and not (math.isfinite(half_life) and half_life > 0):
        raise InvalidInputError(f"image.meta['radionuclide_half_life_s']={half_life!r}: expected a positive number (s)")
    if decay_corr == "START" and half_life is None:
        raise InvalidInputError("image.meta['radionuclide_half_life_s'] is missing: expected the half-life (s), "
                                "needed for (0054,1321) Decay Factor")
    desc = series_description or str(meta.get("series_description") or "")
    if not series_description and (not desc or len(desc) > 64):
        desc = f"{state.upper()} dynamic cardiac PET {pharm_text}"  # the meta text is too long for LO
    if state.upper() not in desc.upper() or len(desc) > 64:
        raise InvalidInputError(f"series_description={desc!r}: expected ≤ 64 characters (LO) containing "
                                f"{state.upper()!r}")
    out = check_out_dir(out_dir, overwrite)

    # frame reference times and decay factors (module docstring)
    t0_s, d_s = starts / 1000.0, durs / 1000.0
    if half_life is not None:
        lam = math.log(2.0) / half_life
        ref_ms = (t0_s + np.log(lam * d_s / -np.expm1(-lam * d_s)) / lam) * 1000.0
        decay_factor = lam * d_s / (np.exp(-lam * t0_s) * -np.expm1(-lam * d_s))
    else:
        ref_ms = starts + durs / 2.0
        decay_factor = np.ones(n_t)

    uids: dict[str, str] = {}
    if study_uid or image.study_uid:
        uids["study_uid"] = str(study_uid or image.study_uid)
    if image.series_uid:
        uids["series_uid"] = str(image.series_uid)
    header = SeriesHeader(
        sop_class_uid=PET_IMAGE_STORAGE, modality="PT", image_type=("ORIGINAL", "PRIMARY"),
        study_description="heartprint phantom myocardial perfusion PET", series_description=desc,
        model_name="make_dynamic_pet_image", protocol_name=f"Cardiac PET {pharm_text} {state.upper()}",
        patient_name=patient_name, patient_id=patient_id, patient_sex="O", patient_age="060Y",
        series_number=int(series_number if series_number is not None else (1 if state == "stress" else 2)),
        **uids,
    )
    scan_start = _dt.datetime.strptime("".join(header.date_time), "%Y%m%d%H%M%S")
    signed = bool(arr.min() < 0)
    dx = image.spacing[2]

    # attributes shared by every file, set once; the per-file ones are set in _files() just before each save
    ds = image_dataset(header, 1)
    del ds.PatientPosition  # not with the Patient Orientation Code Sequence (NM/PET Patient Orientation)

    # NM/PET Patient Orientation (C.8.4.6)
    orient = _code("102538003", "SCT", "recumbent")
    orient.PatientOrientationModifierCodeSequence = [_code("40199007", "SCT", "supine")]
    ds.PatientOrientationCodeSequence = [orient]
    ds.PatientGantryRelationshipCodeSequence = [_code("102540008", "SCT", "headfirst")]

    # PET Series (C.8.9.1)
    ds.Units = "BQML"
    ds.CountsSource = "EMISSION"
    ds.SeriesType = ["DYNAMIC", "IMAGE"]
    ds.NumberOfSlices = n_z
    ds.NumberOfTimeSlices = n_t
    ds.CorrectedImage = ["NORM", "DTIM", "ATTN", "SCAT", "RAN"] + (["DECY"] if decay_corr == "START" else [])
    ds.DecayCorrection = decay_corr
    ds.RandomsCorrectionMethod = "DLYD"
    ds.AttenuationCorrectionMethod = "none (phantom: no attenuation simulated)"
    ds.ScatterCorrectionMethod = "none (phantom)"
    ds.ReconstructionMethod = "heartprint phantom (no reconstruction)"
    ds.ReconstructionDiameter = _ds(n_x * dx)
    ds.CollimatorType = "NONE"
    ds.TypeOfDetectorMotion = "NONE"

    # PET Isotope (C.8.9.2)
    rp = Dataset()
    rp.RadionuclideCodeSequence = [_code(nuclide_code[0], "SCT", nuclide_code[1])]
    rp.Radiopharmaceutical = pharm_text
    rp.RadiopharmaceuticalCodeSequence = [_code(pharm_code[0], "SCT", pharm_code[1])]
    rp.RadiopharmaceuticalStartTime = _tm(scan_start)
    rp.RadionuclideTotalDose = _ds(dose_bq)
    if half_life is not None:
        rp.RadionuclideHalfLife = _ds(half_life)
    ds.RadiopharmaceuticalInformationSequence = [rp]

    # Image Pixel (C.7.6.3), PET Image (C.8.9.4)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = n_y, n_x
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    ds.PixelRepresentation = 1 if signed else 0
    ds.RescaleIntercept = "0"
    ds.LossyImageCompression = "00"

    def _files() -> Iterator[tuple[str, Dataset]]:
        """One dataset, updated in place per file: :func:`write_series` saves each before the next update."""
        for t in range(n_t):
            acq = scan_start + _dt.timedelta(milliseconds=float(starts[t]))
            ds.AcquisitionDate, ds.AcquisitionTime = acq.strftime("%Y%m%d"), _tm(acq)
            ds.ContentDate, ds.ContentTime = ds.AcquisitionDate, ds.AcquisitionTime
            ds.AcquisitionNumber = str(t + 1)
            ds.FrameReferenceTime = _ds(float(ref_ms[t]))
            ds.ActualFrameDuration = str(int(round(float(durs[t]))))
            if decay_corr != "NONE":
                ds.DecayFactor = _ds(float(decay_factor[t]))
            for z in range(n_z):
                index = t * n_z + z + 1
                ds.SOPInstanceUID = generate_uid()
                ds.InstanceNumber = str(index)
                ds.ImageIndex = index
                set_image_plane(ds, image, z)  # Image Plane (C.7.6.2)
                stored, slope_text = _quantise(arr[t, z], signed)
                ds.RescaleSlope = slope_text
                top = max(float(np.abs(stored).max()) * float(slope_text), 1.0)  # VOI LUT
                ds.WindowCenter, ds.WindowWidth = _ds(top / 2.0), _ds(top)
                ds.PixelData = np.ascontiguousarray(stored).tobytes()
                ds["PixelData"].VR = "OW"
                yield f"PT_{state.upper()}_T{t + 1:03d}_S{z + 1:03d}.dcm", ds

    return write_series(out, _files())

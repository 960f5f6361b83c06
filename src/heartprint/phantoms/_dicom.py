"""Write a :class:`~heartprint.phantoms.CinePhantom` as a valid MR Image Storage series.

One single-frame file per (slice, phase), SOP class MR Image Storage
(1.2.840.10008.5.1.4.1.1.4), explicit VR little endian, 16-bit unsigned pixels without
rescale. The Patient, General Study, General Series, Frame of Reference, General
Equipment, General Image, Image Plane, Image Pixel, MR Image, VOI LUT and SOP Common
modules are filled; the files pass dciodvfy (dicom3tools) without errors.

Files are written to a temporary directory next to ``out_dir`` and moved into place only
when all are complete, so a failure never leaves a half-written series.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

from heartprint.errors import InvalidInputError

__all__ = ["write_cine_sax_dicom", "write_demo_study"]

_IMPLEMENTATION_UID = "1.2.826.0.1.3680043.10.1519.1"  # within pydicom's documented root for examples
_DS_MAX_ABS = 1e10


def _ds(value: float) -> str:
    """A DICOM DS string (<= 16 characters) that parses back to ``value`` as closely as DS allows."""
    text = repr(float(value))
    if len(text) <= 16:
        return text
    for digits in range(12, 4, -1):
        text = f"{float(value):.{digits}g}"
        if len(text) <= 16:
            return text
    raise InvalidInputError(f"value {value!r} cannot be written as a DICOM DS")


def write_cine_sax_dicom(
    phantom,
    out_dir: str | os.PathLike,
    *,
    patient_name: str = "PHANTOM^CINE",
    patient_id: str = "HP-PHANTOM-0001",
    series_number: int = 1,
    overwrite: bool = False,
) -> list[Path]:
    """Write ``phantom.image`` as ``n_slices × n_phases`` MR Image Storage files.

    Parameters
    ----------
    phantom
        A :class:`~heartprint.phantoms.CinePhantom`.
    out_dir
        Directory to create (must not exist unless ``overwrite``); files are named
        ``IM_z{slice:03d}_t{phase:03d}.dcm``.

    Returns
    -------
    list of Path
        The written files, ordered slice-major (slice 0 phases 0..T-1, slice 1, ...);
        (0020,0013) InstanceNumber follows the same order.

    Notes
    -----
    Geometry: (0020,0032) Image Position (Patient) of slice ``z`` is ``affine @ (z, 0, 0, 1)``;
    (0020,0037) Image Orientation (Patient) is the affine's x (row) then y (column)
    direction; (0028,0030) Pixel Spacing is ``[dy, dx]``; (0018,0050) Slice Thickness and
    (0018,0088) Spacing Between Slices are ``dz``; (0020,1041) Slice Location is the
    position projected on the normal row × column. Timing: (0018,1060) Trigger Time,
    (0018,1090) Cardiac Number of Images, (0018,1062) Nominal Interval, (0018,1088) Heart Rate.
    """
    image = phantom.image
    arr = np.asarray(image.array)
    if arr.ndim != 4:
        raise InvalidInputError(f"phantom image shape {arr.shape}: expected (t, z, y, x)")
    if arr.min() < 0 or arr.max() > 65535 or not np.all(arr == np.rint(arr)):
        raise InvalidInputError("phantom image values must be integers in 0..65535 to be stored as uint16")
    out = Path(out_dir)
    if out.exists() and not overwrite:
        raise InvalidInputError(f"out_dir {out} exists: pass overwrite=True to replace it")
    n_t, n_z, n_y, n_x = arr.shape
    direction = image.direction
    dz, dy, dx = image.spacing
    row_dir, col_dir = direction[:, 2], direction[:, 1]
    normal = np.cross(row_dir, col_dir)
    times = image.frame_times_ms if image.frame_times_ms is not None else np.zeros(n_t)
    truth = phantom.truth
    rr = float(truth["rr_ms"])
    hr = int(round(truth["heart_rate_bpm"]))
    meta = image.meta
    study_uid = image.study_uid or generate_uid()
    series_uid = image.series_uid or generate_uid()
    frame_uid = generate_uid()
    now = _dt.datetime.now()
    date, time_ = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
    pixels = arr.astype(np.uint16)
    window_center, window_width = 600, 1200

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    paths: list[Path] = []
    try:
        for z in range(n_z):
            position = image.affine @ np.array([z, 0.0, 0.0, 1.0])
            position = position[:3]
            for t in range(n_t):
                ds = Dataset()
                ds.SpecificCharacterSet = "ISO_IR 100"
                ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "NONE"]
                ds.InstanceCreationDate, ds.InstanceCreationTime = date, time_
                ds.SOPClassUID = MRImageStorage
                ds.SOPInstanceUID = generate_uid()
                ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = date
                ds.StudyTime = ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = time_
                ds.AccessionNumber = ""
                ds.Modality = "MR"
                ds.Manufacturer = "heartprint"
                ds.InstitutionName = "heartprint synthetic phantom"
                ds.ReferringPhysicianName = ""
                ds.StudyDescription = "heartprint phantom CMR"
                ds.SeriesDescription = meta.get("series_description", "CINE SSFP SAX")
                ds.ManufacturerModelName = "make_cine_sax"
                ds.PatientName = patient_name
                ds.PatientID = patient_id
                ds.PatientBirthDate = ""
                ds.PatientSex = "M"
                ds.PatientAge = "050Y"
                ds.PatientSize = _ds(meta.get("patient_size_m", 1.75))
                ds.PatientWeight = _ds(meta.get("patient_weight_kg", 75.0))
                ds.BodyPartExamined = "HEART"
                ds.ScanningSequence = ["GR"]
                ds.SequenceVariant = ["SK", "SS"]
                ds.ScanOptions = ["CG"]
                ds.MRAcquisitionType = "2D"
                ds.SequenceName = "tfi2d1"
                ds.AngioFlag = "N"
                ds.SliceThickness = _ds(dz)
                ds.RepetitionTime = "3.0"
                ds.EchoTime = "1.5"
                ds.NumberOfAverages = "1"
                ds.ImagingFrequency = "63.68"
                ds.ImagedNucleus = "1H"
                ds.EchoNumbers = "1"
                ds.MagneticFieldStrength = "1.5"
                ds.SpacingBetweenSlices = _ds(dz)
                ds.EchoTrainLength = "1"
                ds.PercentSampling = "100"
                ds.PercentPhaseFieldOfView = "100"
                ds.PixelBandwidth = "930"
                ds.SoftwareVersions = "heartprint"
                ds.ProtocolName = "CINE SSFP SAX"
                ds.TriggerTime = _ds(times[t])
                ds.NominalInterval = str(int(round(rr)))
                ds.HeartRate = str(hr)
                ds.CardiacNumberOfImages = str(n_t)
                ds.TriggerWindow = "0"
                ds.ReceiveCoilName = "Body"
                ds.TransmitCoilName = "Body"
                ds.AcquisitionMatrix = [0, n_x, n_y, 0]
                ds.InPlanePhaseEncodingDirection = "ROW"
                ds.FlipAngle = "60"
                ds.PatientPosition = "HFS"
                ds.StudyInstanceUID = study_uid
                ds.SeriesInstanceUID = series_uid
                ds.StudyID = "1"
                ds.SeriesNumber = str(series_number)
                ds.AcquisitionNumber = "1"
                ds.InstanceNumber = str(z * n_t + t + 1)
                ds.ImagePositionPatient = [_ds(v) for v in position]
                ds.ImageOrientationPatient = [_ds(v) for v in (*row_dir, *col_dir)]
                ds.FrameOfReferenceUID = frame_uid
                ds.PositionReferenceIndicator = ""
                ds.SliceLocation = _ds(float(position @ normal))
                ds.SamplesPerPixel = 1
                ds.PhotometricInterpretation = "MONOCHROME2"
                ds.Rows, ds.Columns = n_y, n_x
                ds.PixelSpacing = [_ds(dy), _ds(dx)]
                ds.BitsAllocated = 16
                ds.BitsStored = 16
                ds.HighBit = 15
                ds.PixelRepresentation = 0
                ds.WindowCenter = str(window_center)
                ds.WindowWidth = str(window_width)
                ds.PixelData = np.ascontiguousarray(pixels[t, z]).tobytes()
                ds["PixelData"].VR = "OW"

                fm = FileMetaDataset()
                fm.MediaStorageSOPClassUID = ds.SOPClassUID
                fm.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
                fm.TransferSyntaxUID = ExplicitVRLittleEndian
                fm.ImplementationClassUID = _IMPLEMENTATION_UID
                fm.ImplementationVersionName = "HEARTPRINT01"
                ds.file_meta = fm
                name = f"IM_z{z:03d}_t{t:03d}.dcm"
                ds.save_as(tmp / name, enforce_file_format=True)
                paths.append(out / name)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return paths


def write_demo_study(out_dir: str | os.PathLike, seed: int = 0, **kwargs: Any) -> tuple[list[Path], dict[str, Any]]:
    """Make the default cine SAX phantom and write it as DICOM under ``out_dir``.

    Keyword arguments go to :func:`~heartprint.phantoms.make_cine_sax`. Returns the file
    paths and the JSON-able truth (with ``study_uid`` and ``series_uid`` added).
    """
    from heartprint.phantoms._cine_sax import make_cine_sax

    phantom = make_cine_sax(seed=seed, **kwargs)
    paths = write_cine_sax_dicom(phantom, out_dir)
    truth = dict(phantom.truth)
    truth["study_uid"] = phantom.image.study_uid
    truth["series_uid"] = phantom.image.series_uid
    json.dumps(truth)  # fail here, not in the caller, if anything is not JSON-able
    return paths, truth

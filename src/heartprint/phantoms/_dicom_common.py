"""What every phantom DICOM writer shares: common modules, image plane, pixels, file meta, atomic series write.

The writers (:func:`~heartprint.phantoms.write_cine_sax_dicom`,
:func:`~heartprint.phantoms.write_tissue_dicom`,
:func:`~heartprint.phantoms.write_calcium_dicom`) make one :class:`SeriesHeader` per
series, one dataset per image with :func:`image_dataset`, add their modality-specific
attributes, and hand ``(file name, dataset)`` pairs to :func:`write_series`. All files are
single-frame, explicit VR little endian, 16-bit unsigned pixels (PS3.3 C.7.6.3 Image Pixel).
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from heartprint._atomic import atomic_dir
from heartprint.errors import InvalidInputError
from heartprint.image import Image

IMPLEMENTATION_UID = "1.2.826.0.1.3680043.10.1519.1"  # within pydicom's documented root for examples
IMPLEMENTATION_VERSION_NAME = "HEARTPRINT01"


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


def check_out_dir(out_dir: str | os.PathLike, overwrite: bool) -> Path:
    """``out_dir`` as a Path; raises :class:`InvalidInputError` if it exists and not ``overwrite``."""
    out = Path(out_dir)
    if out.exists() and not overwrite:
        raise InvalidInputError(f"out_dir {out} exists: pass overwrite=True to replace it")
    return out


def _today() -> tuple[str, str]:
    now = _dt.datetime.now()
    return now.strftime("%Y%m%d"), now.strftime("%H%M%S")


@dataclass(frozen=True)
class SeriesHeader:
    """Attributes that every image of one phantom series carries.

    ``study_uid``/``series_uid`` default to new UIDs (pass the image's own when it has
    them); the Frame of Reference UID is always new; ``date``/``time`` are now.
    """

    sop_class_uid: str
    modality: str
    image_type: tuple[str, ...]
    study_description: str
    series_description: str
    model_name: str
    protocol_name: str
    patient_name: str
    patient_id: str
    patient_sex: str
    patient_age: str
    series_number: int
    study_uid: str = field(default_factory=generate_uid)
    series_uid: str = field(default_factory=generate_uid)
    frame_uid: str = field(default_factory=generate_uid)
    date_time: tuple[str, str] = field(default_factory=_today)


def image_uids(image: Image, frame_of_reference_uid: str | None = None) -> dict[str, str]:
    """``study_uid`` and ``series_uid`` of ``image``, each a new UID where the image has none,
    and ``frame_uid``: ``frame_of_reference_uid`` or a new UID (series that share one, e.g.
    the MR series of one study, pass the same)."""
    return {"study_uid": image.study_uid or generate_uid(), "series_uid": image.series_uid or generate_uid(),
            "frame_uid": frame_of_reference_uid or generate_uid()}


def image_dataset(header: SeriesHeader, instance_number: int) -> Dataset:
    """A dataset with the SOP Common, Patient, General Study, General Series, Frame of
    Reference, General Equipment and General Image modules filled from ``header``.

    (0020,0013) Instance Number is ``instance_number``; (0008,0018) SOP Instance UID is new.
    """
    date, time_ = header.date_time
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = list(header.image_type)
    ds.InstanceCreationDate, ds.InstanceCreationTime = date, time_
    ds.SOPClassUID = header.sop_class_uid
    ds.SOPInstanceUID = generate_uid()
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = date
    ds.StudyTime = ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = time_
    ds.AccessionNumber = ""
    ds.Modality = header.modality
    ds.Manufacturer = "heartprint"
    ds.InstitutionName = "heartprint synthetic phantom"
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = header.study_description
    ds.SeriesDescription = header.series_description
    ds.ManufacturerModelName = header.model_name
    ds.SoftwareVersions = "heartprint"
    ds.ProtocolName = header.protocol_name
    ds.PatientName = header.patient_name
    ds.PatientID = header.patient_id
    ds.PatientBirthDate = ""
    ds.PatientSex = header.patient_sex
    ds.PatientAge = header.patient_age
    ds.BodyPartExamined = "HEART"
    ds.PatientPosition = "HFS"
    ds.StudyInstanceUID = header.study_uid
    ds.SeriesInstanceUID = header.series_uid
    ds.StudyID = "1"
    ds.SeriesNumber = str(header.series_number)
    ds.AcquisitionNumber = "1"
    ds.InstanceNumber = str(instance_number)
    ds.FrameOfReferenceUID = header.frame_uid
    ds.PositionReferenceIndicator = ""
    return ds


def set_image_plane(ds: Dataset, image: Image, z: int) -> None:
    """Fill the Image Plane module for slice ``z`` of ``image`` (a ``(z, y, x)`` grid, LPS affine).

    (0020,0032) Image Position (Patient) is ``affine @ (z, 0, 0, 1)``; (0020,0037) Image
    Orientation (Patient) is the affine's x (row) then y (column) direction; (0028,0030)
    Pixel Spacing is ``[dy, dx]``; (0018,0050) Slice Thickness is ``dz`` (mm); (0020,1041)
    Slice Location is the position projected on the normal row × column.
    """
    dz, dy, dx = image.spacing
    direction = image.direction
    row_dir, col_dir = direction[:, 2], direction[:, 1]
    position = (image.affine @ np.array([z, 0.0, 0.0, 1.0]))[:3]
    ds.ImagePositionPatient = [_ds(v) for v in position]
    ds.ImageOrientationPatient = [_ds(v) for v in (*row_dir, *col_dir)]
    ds.SliceLocation = _ds(float(position @ np.cross(row_dir, col_dir)))
    ds.PixelSpacing = [_ds(dy), _ds(dx)]
    ds.SliceThickness = _ds(dz)


def set_mr_acquisition(ds: Dataset, spacing_between_slices_mm: float, n_y: int, n_x: int) -> None:
    """The MR Image attributes the cine and tissue phantoms share (1.5 T, body coil, 2-D)."""
    ds.MRAcquisitionType = "2D"
    ds.AngioFlag = "N"
    ds.NumberOfAverages = "1"
    ds.ImagingFrequency = "63.68"
    ds.ImagedNucleus = "1H"
    ds.MagneticFieldStrength = "1.5"
    ds.SpacingBetweenSlices = _ds(spacing_between_slices_mm)
    ds.EchoTrainLength = "1"
    ds.PercentSampling = "100"
    ds.PercentPhaseFieldOfView = "100"
    ds.PixelBandwidth = "930"
    ds.ReceiveCoilName = "Body"
    ds.TransmitCoilName = "Body"
    ds.AcquisitionMatrix = [0, n_x, n_y, 0]
    ds.InPlanePhaseEncodingDirection = "ROW"


def set_pixels(ds: Dataset, frame: np.ndarray, window_center: str, window_width: str) -> None:
    """Fill the Image Pixel module from a 2-D uint16 ``frame`` (rows, columns) and the VOI LUT window."""
    n_y, n_x = frame.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = n_y, n_x
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.WindowCenter = window_center
    ds.WindowWidth = window_width
    ds.PixelData = np.ascontiguousarray(frame, dtype=np.uint16).tobytes()
    ds["PixelData"].VR = "OW"


def file_meta(ds: Dataset) -> FileMetaDataset:
    """The File Meta Information (PS3.10 7.1) for ``ds``: explicit VR little endian."""
    fm = FileMetaDataset()
    fm.MediaStorageSOPClassUID = ds.SOPClassUID
    fm.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    fm.TransferSyntaxUID = ExplicitVRLittleEndian
    fm.ImplementationClassUID = IMPLEMENTATION_UID
    fm.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    return fm


def write_series(out: Path, datasets: Iterable[tuple[str, Dataset]]) -> list[Path]:
    """Save each ``(file name, dataset)`` into a temporary folder that then replaces ``out``.

    Returns the final paths (``out / name``) in the order given.
    """
    paths: list[Path] = []
    with atomic_dir(out) as tmp:
        for name, ds in datasets:
            ds.file_meta = file_meta(ds)
            ds.save_as(tmp / name, enforce_file_format=True)
            paths.append(out / name)
    return paths

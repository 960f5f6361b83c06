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

import os
from pathlib import Path

import numpy as np
from pydicom.uid import MRImageStorage

from heartprint.errors import InvalidInputError
from heartprint.phantoms._dicom_common import (SeriesHeader, _ds, check_out_dir, image_dataset, image_uids,
                                               set_image_plane, set_mr_acquisition, set_pixels, write_series)

__all__ = ["write_cine_sax_dicom"]


def write_cine_sax_dicom(
    phantom,
    out_dir: str | os.PathLike,
    *,
    patient_name: str = "PHANTOM^CINE",
    patient_id: str = "HP-PHANTOM-0001",
    series_number: int = 1,
    patient_sex: str = "M",
    patient_age: str = "050Y",
    frame_of_reference_uid: str | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write ``phantom.image`` as ``n_slices × n_phases`` MR Image Storage files.

    ``patient_sex``/``patient_age`` fill (0010,0040)/(0010,1010); ``frame_of_reference_uid`` is
    (0020,0052) Frame of Reference UID (default: a new one) — series of one study that share
    patient coordinates pass the same.

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
    out = check_out_dir(out_dir, overwrite)
    n_t, n_z, n_y, n_x = arr.shape
    dz = image.spacing[0]
    times = image.frame_times_ms if image.frame_times_ms is not None else np.zeros(n_t)
    truth = phantom.truth
    rr = float(truth["rr_ms"])
    hr = int(round(truth["heart_rate_bpm"]))
    meta = image.meta
    header = SeriesHeader(
        sop_class_uid=MRImageStorage, modality="MR", image_type=("ORIGINAL", "PRIMARY", "M", "NONE"),
        study_description="heartprint phantom CMR",
        series_description=meta.get("series_description", "CINE SSFP SAX"),
        model_name="make_cine_sax", protocol_name="CINE SSFP SAX",
        patient_name=patient_name, patient_id=patient_id, patient_sex=patient_sex, patient_age=patient_age,
        series_number=series_number, **image_uids(image, frame_of_reference_uid),
    )
    pixels = arr.astype(np.uint16)
    window_center, window_width = 600, 1200

    def datasets():
        for z in range(n_z):
            for t in range(n_t):
                ds = image_dataset(header, z * n_t + t + 1)
                # height and weight only when the image says so: a default would be a made-up patient fact
                if meta.get("patient_size_m") is not None:
                    ds.PatientSize = _ds(meta["patient_size_m"])
                if meta.get("patient_weight_kg") is not None:
                    ds.PatientWeight = _ds(meta["patient_weight_kg"])
                set_mr_acquisition(ds, dz, n_y, n_x)
                ds.ScanningSequence = ["GR"]
                ds.SequenceVariant = ["SK", "SS"]
                ds.ScanOptions = ["CG"]
                ds.SequenceName = "tfi2d1"
                ds.RepetitionTime = "3.0"
                ds.EchoTime = "1.5"
                ds.EchoNumbers = "1"
                ds.TriggerTime = _ds(times[t])
                ds.NominalInterval = str(int(round(rr)))
                ds.HeartRate = str(hr)
                ds.CardiacNumberOfImages = str(n_t)
                ds.TriggerWindow = "0"
                ds.FlipAngle = "60"
                set_image_plane(ds, image, z)
                set_pixels(ds, pixels[t, z], str(window_center), str(window_width))
                yield f"IM_z{z:03d}_t{t:03d}.dcm", ds

    return write_series(out, datasets())

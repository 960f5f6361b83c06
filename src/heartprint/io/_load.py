"""The load layer: decode the pixels of a scanned series into a :class:`heartprint.Image`."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.pixels import apply_modality_lut, get_decoder

from heartprint.errors import HeartprintError, InvalidInputError, UnsupportedSeriesError
from heartprint.image import Image
from heartprint.io._nm import nuclear_layout, nuclear_route
from heartprint.io._geometry import Layout, _float, _nominal_interval
from heartprint.io._scan import (
    FATAL_EXCEPTIONS,
    DicomSource,
    PixelElement,
    ScanResult,
    SeriesInfo,
    _is_encapsulated,
    frame_problem,
    one_line,
    plausible_size_weight,
    read_dataset,
    scan,
)

__all__ = ["load", "load_series"]

#: ITU-R BT.601 luma weights, used to turn colour (RGB) ultrasound frames into grey levels.
_LUMA_BT601 = np.array([0.299, 0.587, 0.114])


def _check_transfer_syntax(source: DicomSource, ds: Dataset) -> None:
    ts = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    if ts is None:
        return
    try:
        decoder = get_decoder(ts)
    except NotImplementedError as exc:
        raise UnsupportedSeriesError(
            f"{source}: (0002,0010) Transfer Syntax UID {ts} ({ts.name}) cannot be decoded; expected a "
            "native or a JPEG / JPEG-LS / JPEG 2000 / RLE syntax decodable by pydicom + pylibjpeg"
        ) from exc
    if not decoder.is_available:
        raise UnsupportedSeriesError(
            f"{source}: (0002,0010) Transfer Syntax UID {ts} ({ts.name}) has no installed decoder plugin; "
            "expected pylibjpeg-libjpeg / -openjpeg / -rle to be installed"
        )


def _pixel_element(ds: Dataset) -> PixelElement | None:
    for tag in (0x7FE00010, 0x7FE00008, 0x7FE00009):
        if tag in ds:
            value = ds.get_item(tag).value
            n = len(value) if isinstance(value, (bytes, bytearray)) else 0
            return PixelElement(tag, None if _is_encapsulated(ds) else n, n)
    return None


def _read_pixels(source: DicomSource, expected_frames: int | None = None) -> tuple[Dataset, np.ndarray]:
    """Read one file with its pixel data; return the dataset and ``(frames, rows, cols)`` stored values.

    The pixel description is checked against the pixel data length before anything is decoded
    (:func:`heartprint.io._scan.frame_problem`), and (0028,0008) Number of Frames against
    ``expected_frames`` (the frames the series layout gives this file). Whatever the reader or
    a decoder raises (including ``BaseException`` subclasses such as a Rust decoder's
    ``PanicException``) becomes an :class:`InvalidInputError` naming the file.
    """
    try:
        return _read_pixels_unguarded(source, expected_frames)
    except HeartprintError:
        raise
    except pydicom.errors.InvalidDicomError as exc:
        raise InvalidInputError(f"{source}: not a DICOM file ({exc}); expected a DICOM Part 10 file") from exc
    except FATAL_EXCEPTIONS:
        raise
    except BaseException as exc:  # noqa: BLE001 - decoders raise non-Exception errors (PanicException)
        raise InvalidInputError(
            f"{source}: (7FE0,0010) Pixel Data could not be read or decoded ({one_line(exc)}); the file may be "
            "truncated or its (0028,xxxx) image pixel description wrong"
        ) from None


def _read_pixels_unguarded(source: DicomSource, expected_frames: int | None) -> tuple[Dataset, np.ndarray]:
    ds, _ = read_dataset(source, stop_before_pixels=False)
    pixel = _pixel_element(ds)
    if pixel is None:
        raise InvalidInputError(f"{source}: (7FE0,0010) Pixel Data is missing; expected an image file")
    if not pixel.available:
        raise InvalidInputError(f"{source}: (7FE0,0010) Pixel Data is empty; expected an image file")
    problem = frame_problem(ds, pixel, encapsulated=_is_encapsulated(ds))
    if problem:
        raise InvalidInputError(f"{source}: {problem}")
    nf = max(1, int(ds.get("NumberOfFrames", 1) or 1))
    if expected_frames is not None and nf != expected_frames:
        raise InvalidInputError(
            f"{source}: (0028,0008) Number of Frames {nf}; expected {expected_frames} from the series layout; "
            "not decoded")
    _check_transfer_syntax(source, ds)
    try:
        arr = ds.pixel_array
    except NotImplementedError as exc:
        ts = ds.file_meta.TransferSyntaxUID
        raise UnsupportedSeriesError(
            f"{source}: (0002,0010) Transfer Syntax UID {ts} ({ts.name}) could not be decoded ({exc})"
        ) from exc
    spp = int(ds.get("SamplesPerPixel", 1) or 1)
    if spp > 1:  # colour: pydicom returns RGB (YBR converted) with samples last
        arr = (arr.astype(np.float32) @ _LUMA_BT601.astype(np.float32)).astype(np.float32)
    if nf == 1:
        arr = arr[np.newaxis]
    return ds, arr


def _to_modality_units(ds: Dataset, frames: np.ndarray, layout: Layout, file: int) -> np.ndarray:
    """Apply the modality LUT: (0028,1052)/(0028,1053) Rescale Intercept/Slope (per frame if enhanced).

    A slope or intercept that cannot give correct values (NaN, 0, negative, infinite, multi-valued;
    for CT outside :data:`~heartprint.io._geometry.CT_RESCALE_SLOPE_RANGE` /
    :data:`~heartprint.io._geometry.CT_RESCALE_INTERCEPT_RANGE`), and a CT whose values after
    rescale are mostly outside :data:`~heartprint.io._geometry.CT_HU_PLAUSIBLE_RANGE`, raise
    :class:`~heartprint.errors.InvalidInputError`: an error for the series, never a wrong number.
    """
    from heartprint.io._geometry import check_ct_hu, check_rescale

    where = str(getattr(ds, "filename", None) or "<dataset>")
    ct = str(ds.get("Modality", "")) == "CT" or str(ds.get("SOPClassUID", "")) in (CT_IMAGE_STORAGE, CT_IMAGE_STORAGE + ".1")
    per_file = [f for f in layout.frames if f.file == file]
    if "PerFrameFunctionalGroupsSequence" in ds or "SharedFunctionalGroupsSequence" in ds:
        for f in per_file:
            check_rescale(f.slope, f.intercept, where if f.index is None else f"{where} frame {f.index + 1}", ct=ct)
        slopes = np.array([f.slope for f in per_file], dtype=float)
        intercepts = np.array([f.intercept for f in per_file], dtype=float)
        if np.all(slopes == 1.0) and np.all(intercepts == 0.0):
            out = frames
        else:
            out = frames.astype(np.float64) * slopes[:, None, None] + intercepts[:, None, None]
    elif "RescaleSlope" in ds or "RescaleIntercept" in ds or "ModalityLUTSequence" in ds:
        if "ModalityLUTSequence" not in ds:
            if ct and ("RescaleSlope" not in ds or "RescaleIntercept" not in ds):
                missing = "(0028,1053) Rescale Slope" if "RescaleSlope" not in ds else "(0028,1052) Rescale Intercept"
                raise InvalidInputError(
                    f"{where}: CT image without {missing}; expected (0028,1052) Rescale Intercept and (0028,1053) "
                    "Rescale Slope (both Type 1 in the CT Image module) to give HU"
                )
            try:
                raw_slope, raw_intercept = ds.get("RescaleSlope"), ds.get("RescaleIntercept")
            except (TypeError, ValueError, OverflowError) as exc:
                raise InvalidInputError(
                    f"{where}: (0028,1052) Rescale Intercept / (0028,1053) Rescale Slope unreadable ({exc}); "
                    "expected numbers"
                ) from exc
            check_rescale(raw_slope, raw_intercept, where, ct=ct)
        out = np.asarray(apply_modality_lut(frames, ds))
    elif ds.get("SOPClassUID") == CT_IMAGE_STORAGE:
        # (0028,1052)/(0028,1053) are Type 1 in the CT Image module (PS3.3 C.8.2.1): without
        # them stored values cannot be read as Hounsfield units.
        raise InvalidInputError(
            f"{ds.filename if getattr(ds, 'filename', None) else '<dataset>'}: CT image without (0028,1052) Rescale "
            "Intercept / (0028,1053) Rescale Slope; expected both (Type 1 in the CT Image module) to give HU"
        )
    else:
        out = frames
    if ct:
        check_ct_hu(out, where)
    return out


#: CT Image Storage SOP Class UID.
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"


def _compact(arr: np.ndarray) -> np.ndarray:
    """Store integer-valued results as int16/int32 (CT HU), other real values as float32."""
    if arr.dtype.kind in "iu" or (
        arr.size and np.all(np.isfinite(arr)) and np.array_equal(arr, np.round(arr))
    ):
        lo, hi = (float(arr.min()), float(arr.max())) if arr.size else (0.0, 0.0)
        for dtype in (np.int16, np.int32):
            info = np.iinfo(dtype)
            if info.min <= lo and hi <= info.max:
                return arr.astype(dtype)
        return arr if arr.dtype.kind in "iu" else arr.astype(np.float64)
    return arr.astype(np.float32)


def _view_code(ds: Any) -> str | None:
    """Code value of (0054,0220) View Code Sequence's first item (echo views: DICOM CID 12226), or None."""
    seq = ds.get("ViewCodeSequence")
    try:
        return str(seq[0].CodeValue) if seq else None
    except (AttributeError, IndexError, TypeError):
        return None


def _meta(series: SeriesInfo, layout: Layout) -> dict[str, Any]:
    ds = series.first

    def text(keyword: str) -> str | None:
        v = ds.get(keyword)
        return None if v is None or str(v) == "" else str(v)

    size_m, weight_kg, header_notes = plausible_size_weight(ds)
    heart_rate = _float(ds.get("HeartRate"))  # (0018,1088)
    hr_source = "(0018,1088) Heart Rate" if heart_rate else None
    if not heart_rate:
        nominal = _float(ds.get("NominalInterval"))  # (0018,1062)
        if nominal and nominal > 0:
            heart_rate, hr_source = 60000.0 / nominal, "(0018,1062) Nominal Interval (R-R ms)"
    meta: dict[str, Any] = {
        "series_description": text("SeriesDescription"),
        "protocol_name": text("ProtocolName"),
        "patient_id": text("PatientID"),
        "study_date": text("StudyDate"),
        "manufacturer": text("Manufacturer"),
        "sop_class_uid": series.sop_class_uid,
        "view_code": _view_code(ds),
        "heart_rate_bpm": heart_rate,
        "heart_rate_source": hr_source,
        "rr_interval_ms": _nominal_interval(ds),
        "patient_size_m": size_m,
        "patient_height_cm": None if size_m is None else 100.0 * size_m,
        "patient_weight_kg": weight_kg,
        "patient_sex": text("PatientSex"),
        "patient_age": text("PatientAge"),
        "slice_thickness_mm": _float(ds.get("SliceThickness")),
        "n_files": series.n_files,
        "files": [str(s) for s in series.sources[:3]] + (["..."] if series.n_files > 3 else []),
    }
    if series.classification is not None:
        meta["kind_confidence"] = series.classification.confidence
        meta["kind_reasons"] = list(series.classification.reasons)
        if series.classification.subkind:
            meta["subkind"] = series.classification.subkind
    meta.update(layout.notes)
    if header_notes:
        meta["header_notes"] = header_notes
    tis = _inversion_times(series, layout)
    if tis is not None:
        meta["inversion_times_ms"] = tis
    return meta


def _inversion_times(series: SeriesInfo, layout: Layout) -> list[float] | None:
    """(0018,0082) Inversion Time of each phase (MOLLI/ShMOLLI source images), when every
    phase's first frame has one and they differ; else None."""
    if layout.n_phases < 2:
        return None
    values = []
    for t in range(layout.n_phases):
        frame = layout.frames[int(layout.grid[t, 0])]
        ti = _float(series.headers[frame.file].get("InversionTime"))
        if ti is None:
            return None
        values.append(ti)
    return values if len(set(values)) > 1 else None


def load_series(series: SeriesInfo, kind: str | None = None) -> Image:
    """Decode a scanned series into an :class:`~heartprint.Image`.

    Parameters
    ----------
    series
        A :class:`SeriesInfo` from :func:`scan`.
    kind
        Override the series kind (a :class:`~heartprint.io.classify.SeriesKind` value, e.g.
        ``"cine_sax"``); by default the scan's classification is used.

    Returns
    -------
    Image
        ``(z, y, x)``, or ``(t, z, y, x)`` with ``frame_times_ms`` for a cine, in modality
        units (CT in HU after (0028,1052)/(0028,1053) rescale); LPS affine from (0020,0032),
        (0020,0037), (0028,0030) and the measured slice step.

    Raises
    ------
    GeometryError
        Missing or inconsistent geometry (see :func:`heartprint.io._geometry.plan_layout`).
    UnsupportedSeriesError
        No image frames, or a transfer syntax that cannot be decoded.
    InvalidInputError
        A file is not DICOM, truncated, or its pixel data does not decode.
    """
    try:
        return _load_series(series, kind)
    except HeartprintError:
        raise
    except FATAL_EXCEPTIONS:
        raise
    except BaseException as exc:  # noqa: BLE001 - a header value the layout or decoder cannot take
        first = series.sources[0] if series.sources else series.series_uid
        raise InvalidInputError(f"series {series.series_uid} ({first}, ...): could not be loaded "
                                f"({one_line(exc)})") from None


#: Bytes the decoded array of one series may take (int64/float64 working copy): 8 GiB.
MAX_SERIES_BYTES = 8 << 30


def _load_series(series: SeriesInfo, kind: str | None) -> Image:
    from heartprint.io.classify import SeriesKind

    if kind is not None:
        try:
            kind = SeriesKind(kind).value
        except ValueError as exc:
            raise InvalidInputError(
                f"kind={kind!r}: expected one of {[k.value for k in SeriesKind]}"
            ) from exc
    # issue 19 (nuclear cardiology): NM Image Storage multi-frame files (split by the (0028,0009) Frame
    # Increment Pointer vectors) and PET Image Storage series (dynamic / gated grouping, PET meta) are laid
    # out by heartprint.io._nm, which then decodes through _image_from_layout below like every other series.
    if nuclear_route(series) is not None:
        return load_nuclear(series, kind)
    return _image_from_layout(series, series.layout(), kind)


def load_nuclear(series: SeriesInfo, kind: str | None = None, *, nm_state: str | None = None) -> Image:
    """Load an NM or PET series laid out by :func:`heartprint.io._nm.nuclear_layout` (frame vectors,
    dynamic/gated PET grouping); ``nm_state`` (``"stress"``/``"rest"``) overrides the header's state."""
    return _image_from_layout(series, nuclear_layout(series, nm_state=nm_state), kind)


def _image_from_layout(series: SeriesInfo, layout: Layout, kind: str | None) -> Image:
    """Decode the frames of ``series`` into the ``(t, z)`` grid of ``layout`` (issue 19: split out of
    :func:`_load_series` unchanged, so that :mod:`heartprint.io._nm` reuses the same guarded decoding)."""
    n_t, n_z = layout.grid.shape
    if n_t * n_z * layout.rows * layout.columns * 8 > MAX_SERIES_BYTES:
        raise InvalidInputError(
            f"series {series.series_uid}: {n_t} phase(s) × {n_z} slice(s) of {layout.rows} × {layout.columns} would "
            f"need more than {MAX_SERIES_BYTES} bytes (8 GiB) decoded; not loaded")
    out: np.ndarray | None = None
    position = {}  # frame id -> (t, z)
    for t in range(n_t):
        for z in range(n_z):
            position[int(layout.grid[t, z])] = (t, z)
    frame_ids_by_file: dict[int, list[int]] = {}
    for fid, f in enumerate(layout.frames):
        frame_ids_by_file.setdefault(f.file, []).append(fid)
    for file, fids in frame_ids_by_file.items():
        source = series.sources[file]
        ds, frames = _read_pixels(source, expected_frames=len(fids))
        if frames.shape[0] != len(fids) or frames.shape[1:] != (layout.rows, layout.columns):
            raise InvalidInputError(
                f"{source}: decoded pixel array of shape {frames.shape}; expected "
                f"({len(fids)}, {layout.rows}, {layout.columns}) from (0028,0008)/(0028,0010)/(0028,0011)"
            )
        frames = _to_modality_units(ds, frames, layout, file)
        if out is None:
            dtype = np.float64 if frames.dtype.kind == "f" else np.int64
            out = np.zeros((n_t, n_z, layout.rows, layout.columns), dtype=dtype)
        elif frames.dtype.kind == "f" and out.dtype.kind != "f":
            out = out.astype(np.float64)
        for k, fid in enumerate(fids):
            out[position[fid]] = frames[k]
    assert out is not None
    arr = _compact(out if n_t > 1 else out[0])
    if kind is None and series.classification is not None:
        kind = series.classification.kind.value
    return Image(
        arr,
        layout.affine,
        frame_times_ms=layout.frame_times_ms if n_t > 1 and layout.frame_times_ms is not None else None,
        study_uid=series.study_uid or None,
        series_uid=series.series_uid,
        modality=series.modality or None,
        kind=kind,
        meta=_meta(series, layout),
    )


def load(path: str | os.PathLike, series_uid: str | None = None, *, kind: str | None = None) -> Image:
    """Scan ``path`` and load one series.

    Parameters
    ----------
    path
        A DICOM file, a folder (recursive) or a .zip.
    series_uid
        (0020,000E) Series Instance UID to load; may be omitted when ``path`` holds one series.
    kind
        Optional kind override, as in :func:`load_series`.

    Raises
    ------
    InvalidInputError
        ``series_uid`` is not found, or omitted while ``path`` holds several series.
    """
    result: ScanResult = scan(path)
    if series_uid is not None:
        return load_series(result.get(series_uid), kind=kind)
    if len(result) != 1:
        listing = ", ".join(f"{s.series_uid} ({s.description or s.modality})" for s in result)
        raise InvalidInputError(
            f"{path}: holds {len(result)} series; expected one, or pass series_uid= one of: {listing}"
        )
    return load_series(result[0], kind=kind)

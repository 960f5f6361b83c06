"""Nuclear cardiology DICOM: NM tomographic reconstructions and PET series (issue 19).

Two readers, both ending in the guarded pixel decoding of :mod:`heartprint.io._load`
(:func:`~heartprint.io._load._image_from_layout`: frame checks, modality LUT with
:func:`~heartprint.io._geometry.check_rescale`, size caps):

**NM Image Storage** (1.2.840.10008.5.1.4.1.1.20), one multi-frame file per series (PS3.3 C.8.4).
The frames are split by the vectors that (0028,0009) Frame Increment Pointer names: (0054,0080)
Slice Vector, (0054,0070) Time Slot Vector, (0054,0010) Energy Window Vector, (0054,0020) Detector
Vector, (0054,0030) Phase Vector, (0054,0050) Rotation Vector, (0054,0060) R-R Interval Vector,
(0054,0100) Time Slice Vector. Each vector must hold (0028,0008) Number of Frames values in
1..N (N from its count tag, e.g. (0054,0081) Number of Slices), use every index 1..N (no gap), and
every combination of indices may occur once. Only (0008,0008) Image Type value 3 ``RECON TOMO``
(→ ``(z, y, x)``) and ``RECON GATED TOMO`` (→ ``(t, z, y, x)``) are read; projections are refused.

Geometry (PS3.3 C.8.4.11 NM Detector module): (0054,0022) Detector Information Sequence item 1 →
(0020,0032) Image Position (Patient) = the centre of the first voxel of slice index 1 and (0020,0037)
Image Orientation (Patient); (0028,0030) Pixel Spacing; slice step (0018,0088) Spacing Between
Slices (fallback (0018,0050) Slice Thickness, recorded in ``meta["slice_spacing_source"]``). Slice
index ``k`` (1-based, Slice Vector value) lies at ``IPP + (k − 1) · Δ · n`` with ``n = row × column``
(the same right-handed normal the rest of heartprint stacks along): output slice ``z`` is slice
index ``z + 1``, so the volume is ordered along ``+n`` whatever the frame order in the file. A
negative Spacing Between Slices means the slices step along ``−n``; the volume is then reversed so
that it is still ordered along ``+n`` (noted in meta).

Gated frame times (ms from the R wave, start of each time slot): (0054,0062) Gated Information
Sequence > (0054,0063) Data Information Sequence > (0018,1063) Frame Time (the nominal time per
gate bin) × slot index; else the R-R interval ((0018,1062) Nominal Interval in that item or the
dataset, or (0018,1088) Heart Rate) / (0054,0071) Number of Time Slots × slot index; else none.

**PET Image Storage** (1.2.840.10008.5.1.4.1.1.128), one file per slice per frame (PS3.3 C.8.9).
Static series go through the generic layout (:func:`~heartprint.io._geometry.plan_layout`). For
(0054,1000) Series Type value 1 ``DYNAMIC`` or ``GATED`` each file's time index comes from
(0054,1330) Image Index (PS3.3 C.8.9.4.1.9: ``((time index − 1) × Number of Slices) + slice
index``), else from (0054,1300) Frame Reference Time (dynamic) or (0018,1060) Trigger Time (gated);
the frames are then sorted by the generic cross-sectional layout (positions along the normal,
equal slice gaps, one frame per position and time). Rescale Slope/Intercept are applied per file
(PET slopes vary per slice). Dynamic frame starts (ms from (0008,0031) Series Time): (0008,0032) Acquisition Time
(C.8.9.4.1.4: the beginning of the frame's accumulation); without it, (0054,1300) Frame Reference Time minus the
decay-weighted mean time of the frame (C.8.9.4.1.5; needs (0018,1075) Radionuclide Half Life, else an error names
it). Enhanced PET (1.2.840.10008.5.1.4.1.1.130) and Legacy Converted
Enhanced PET (…128.1) use the generic enhanced layout and get the same PET meta.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from heartprint.errors import GeometryError, InvalidInputError, UnsupportedSeriesError
from heartprint.image import Image
from heartprint.io._geometry import (
    ORTHONORMAL_TOLERANCE,
    PIXEL_SPACING_RANGE_MM,
    RR_INTERVAL_RANGE_MS,
    Frame,
    Layout,
    _cross_sectional_layout,
    _float,
    _floats,
    _int,
    _nominal_interval,
    _pixel_spacing,
    _rescale_value,
    frames_of,
)

__all__ = [
    "NM_IMAGE_STORAGE", "PET_IMAGE_STORAGE", "ENHANCED_PET_STORAGE", "nuclear_route", "nuclear_layout",
    "detect_nm_state", "NM_VECTORS",
]

#: NM Image Storage SOP Class UID (PS3.4 B.5).
NM_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.20"
#: PET Image Storage SOP Class UID.
PET_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.128"
#: Enhanced PET Image Storage and Legacy Converted Enhanced PET Image Storage SOP Class UIDs.
ENHANCED_PET_STORAGE = ("1.2.840.10008.5.1.4.1.1.130", "1.2.840.10008.5.1.4.1.1.128.1")

#: NM frame-index vectors (PS3.3 C.8.4.8 / C.8.4.10.1.x): tag → (name, count keyword, count tag and name).
NM_VECTORS: dict[int, tuple[str, str, str]] = {
    0x00540080: ("(0054,0080) Slice Vector", "NumberOfSlices", "(0054,0081) Number of Slices"),
    0x00540070: ("(0054,0070) Time Slot Vector", "NumberOfTimeSlots", "(0054,0071) Number of Time Slots"),
    0x00540010: ("(0054,0010) Energy Window Vector", "NumberOfEnergyWindows", "(0054,0011) Number of Energy Windows"),
    0x00540020: ("(0054,0020) Detector Vector", "NumberOfDetectors", "(0054,0021) Number of Detectors"),
    0x00540030: ("(0054,0030) Phase Vector", "NumberOfPhases", "(0054,0031) Number of Phases"),
    0x00540050: ("(0054,0050) Rotation Vector", "NumberOfRotations", "(0054,0051) Number of Rotations"),
    0x00540060: ("(0054,0060) R-R Interval Vector", "NumberOfRRIntervals", "(0054,0061) Number of R-R Intervals"),
    0x00540100: ("(0054,0100) Time Slice Vector", "NumberOfTimeSlices", "(0054,0101) Number of Time Slices"),
    0x00540090: ("(0054,0090) Angular View Vector", "NumberOfAngularViews", "(0054,0091) Number of Angular Views"),
}
_SLICE, _TIME_SLOT = 0x00540080, 0x00540070

#: (0008,0008) Image Type value 3 of the NM images read as volumes (PS3.3 C.8.4.7.1.1); the other
#: defined terms (STATIC, DYNAMIC, GATED, WHOLE BODY, TOMO, GATED TOMO) are planar projections.
NM_TOMO_TYPES = ("RECON TOMO", "RECON GATED TOMO")

#: Whole-word keywords of the NM state in free text (case-insensitive; "_", "-", digits separate words).
_STATE_WORDS = {"stress": ("STRESS", "STR"), "rest": ("REST", "RST")}


# -- routing ---------------------------------------------------------------------------------------


def nuclear_route(series: Any) -> str | None:
    """``"nm"``, ``"pet"``, ``"enhanced_pet"`` from (0008,0016) SOP Class UID of the series, else ``None``
    (planar NM stored as Secondary Capture etc. keep the generic loader)."""
    sop = str(series.sop_class_uid or "").strip()
    if sop == NM_IMAGE_STORAGE:
        return "nm"
    if sop == PET_IMAGE_STORAGE:
        return "pet"
    if sop in ENHANCED_PET_STORAGE:
        return "enhanced_pet"
    return None


def nuclear_layout(series: Any, *, nm_state: str | None = None) -> Any:
    """The frame layout of an NM or PET series (see the module docstring for the conventions);
    :func:`heartprint.io._load.load_nuclear` decodes it through the guarded pixel path.

    Parameters
    ----------
    series
        A :class:`~heartprint.io.SeriesInfo` whose SOP Class is NM Image Storage, PET Image Storage or
        (Legacy Converted) Enhanced PET Image Storage.
    nm_state
        ``"stress"``, ``"rest"`` or ``None``: overrides the state detected from the headers
        (:func:`detect_nm_state`); recorded in ``meta["nm_state"]`` with ``meta["nm_state_source"]``.

    Raises
    ------
    UnsupportedSeriesError
        An NM projection (Image Type value 3 not RECON TOMO / RECON GATED TOMO), several NM files in one
        series, or an extra dimension (energy windows, detectors, …) with more than one index.
    InvalidInputError
        A frame vector missing, of the wrong length, out of range, with a gap or duplicates; the message
        names the tag, the value and what was expected.
    GeometryError
        Missing or implausible geometry (Detector Information Sequence position/orientation, spacing).
    """
    if nm_state is not None and nm_state not in ("stress", "rest"):
        raise InvalidInputError(f"nm_state={nm_state!r}: expected 'stress', 'rest' or None")
    route = nuclear_route(series)
    if route == "nm":
        layout = _nm_layout(series)
        state, source = (nm_state, "nm_state argument") if nm_state is not None else detect_nm_state(series.first)
        layout.notes.update(nm_state=state, nm_state_source=source, **_nm_meta(series.first))
    elif route in ("pet", "enhanced_pet"):
        layout = _pet_layout(series) if route == "pet" else series.layout()
        layout.notes.update(_pet_meta(series.first))
        if nm_state is not None:
            layout.notes.update(nm_state=nm_state, nm_state_source="nm_state argument")
        else:
            state, source = detect_nm_state(series.first)
            layout.notes.update(nm_state=state, nm_state_source=source)
    else:
        raise UnsupportedSeriesError(
            f"series {series.series_uid}: (0008,0016) SOP Class UID {series.sop_class_uid!r}; expected NM Image "
            f"Storage {NM_IMAGE_STORAGE}, PET Image Storage {PET_IMAGE_STORAGE} or Enhanced PET {ENHANCED_PET_STORAGE}")
    return layout


# -- shared header helpers -------------------------------------------------------------------------


def _text(ds: Dataset, keyword: str) -> str | None:
    try:
        v = ds.get(keyword)
    except (TypeError, ValueError):
        return None
    if v is None:
        return None
    s = " ".join(str(v).split())
    return s or None


def _values(ds: Dataset, keyword: str) -> list[str]:
    v = ds.get(keyword)
    if v is None or v == "":
        return []
    if isinstance(v, (str, bytes)):
        return [str(v).strip()]
    return [str(x).strip() for x in v]


def _tag_str(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def detect_nm_state(ds: Dataset) -> tuple[str | None, str | None]:
    """Stress or rest from (0008,103E) Series Description, (0054,0400) Image ID, then (0008,1030) Study
    Description: the first text naming exactly one state (whole words STRESS/STR or REST/RST,
    case-insensitive; texts naming both are skipped). Returns ``(state, source)``, ``(None, None)``
    when no text decides."""
    for keyword, tag in (("SeriesDescription", "(0008,103E) Series Description"), ("ImageID", "(0054,0400) Image ID"),
                         ("StudyDescription", "(0008,1030) Study Description")):
        text = _text(ds, keyword)
        if not text:
            continue
        found = {state for state, words in _STATE_WORDS.items()
                 if any(re.search(rf"(?<![A-Z]){w}(?![A-Z])", text.upper()) for w in words)}
        if len(found) == 1:
            state = found.pop()
            return state, f"{tag} {text[:64]!r}"
    return None, None


def _tracer_meta(ds: Dataset) -> dict[str, Any]:
    """(0054,0016) Radiopharmaceutical Information Sequence item 1: tracer, radionuclide, half-life, dose."""
    seq = ds.get("RadiopharmaceuticalInformationSequence") or []
    item = seq[0] if len(seq) else Dataset()

    def code(parent: Dataset, keyword: str) -> str | None:
        s = parent.get(keyword) or []
        return _text(s[0], "CodeMeaning") if len(s) else None

    tracer = _text(item, "Radiopharmaceutical") or code(item, "RadiopharmaceuticalCodeSequence")
    half_life = _float(item.get("RadionuclideHalfLife"))
    dose = _float(item.get("RadionuclideTotalDose"))
    return {
        "tracer": tracer,
        "tracer_source": ("(0054,0016) > (0018,0031) Radiopharmaceutical" if _text(item, "Radiopharmaceutical")
                          else "(0054,0016) > (0054,0304) Radiopharmaceutical Code Sequence" if tracer else None),
        "radionuclide": code(item, "RadionuclideCodeSequence"),
        "radionuclide_half_life_s": half_life if half_life is not None and half_life > 0 else None,
        "radionuclide_total_dose_mbq": None if dose is None else dose / 1e6,  # (0018,1074) is in Bq
        "radiopharmaceutical_start_time": _text(item, "RadiopharmaceuticalStartTime"),
        "image_type": _values(ds, "ImageType"),
    }


# -- NM --------------------------------------------------------------------------------------------


def _nm_meta(ds: Dataset) -> dict[str, Any]:
    windows = []
    for w in ds.get("EnergyWindowInformationSequence") or []:
        rng = (w.get("EnergyWindowRangeSequence") or [None])[0]
        windows.append({
            "name": _text(w, "EnergyWindowName"),
            "lower_kev": None if rng is None else _float(rng.get("EnergyWindowLowerLimit")),
            "upper_kev": None if rng is None else _float(rng.get("EnergyWindowUpperLimit")),
        })
    return {**_tracer_meta(ds), "energy_windows": windows}


def _count(ds: Dataset, keyword: str, name: str, where: str) -> int:
    raw = ds.get(keyword)
    n = _int(raw)
    if n is None or n < 1:
        raise InvalidInputError(f"{where}: {name} is {raw!r}; expected a positive integer")
    return n


def _nm_vectors(ds: Dataset, where: str, nf: int) -> dict[int, np.ndarray]:
    """The frame-index vectors named by (0028,0009), each checked (length, range, no gap)."""
    fip = ds.get("FrameIncrementPointer")
    if fip is None:
        raise InvalidInputError(f"{where}: (0028,0009) Frame Increment Pointer is missing; expected it to name the "
                                "frame vectors of an NM multi-frame image (e.g. (0054,0080) Slice Vector)")
    pointers = [int(Tag(t)) for t in (fip if isinstance(fip, (list, tuple)) or type(fip).__name__ == "MultiValue"
                                      else [fip])]
    out: dict[int, np.ndarray] = {}
    for tag in pointers:
        if tag not in NM_VECTORS:
            raise UnsupportedSeriesError(
                f"{where}: (0028,0009) Frame Increment Pointer names {_tag_str(tag)}; expected NM frame vectors "
                f"{[_tag_str(t) for t in NM_VECTORS]}")
        name, count_kw, count_name = NM_VECTORS[tag]
        if tag not in ds:
            raise InvalidInputError(f"{where}: {name} is missing but (0028,0009) Frame Increment Pointer names it; "
                                    f"expected {nf} values = (0028,0008) Number of Frames")
        raw = ds[tag].value
        values = [raw] if isinstance(raw, (int, float, str)) else list(raw or [])
        if len(values) != nf:
            raise InvalidInputError(f"{where}: {name} has {len(values)} values; expected {nf} = (0028,0008) "
                                    "Number of Frames")
        try:
            vec = np.array([int(v) for v in values], dtype=np.int64)
        except (TypeError, ValueError, OverflowError):
            raise InvalidInputError(f"{where}: {name} holds non-integer values; expected indices 1..N") from None
        n = _count(ds, count_kw, count_name, where)
        bad = (vec < 1) | (vec > n)
        if bad.any():
            k = int(np.argmax(bad))
            raise InvalidInputError(f"{where}: {name} value {int(vec[k])} at frame {k + 1} is out of range; "
                                    f"expected 1..{n} = {count_name}")
        missing = sorted(set(range(1, n + 1)) - set(vec.tolist()))
        if missing:
            raise InvalidInputError(f"{where}: {name} has a gap: index(es) {missing[:10]} of 1..{n} ({count_name}) "
                                    "never occur; expected every index")
        out[tag] = vec
    return out


def _nm_layout(series: Any) -> Layout:
    where = str(series.sources[0])
    if series.n_files != 1:
        raise UnsupportedSeriesError(
            f"series {series.series_uid}: {series.n_files} NM Image Storage files ({where}, ...); expected one "
            "multi-frame file per series (load each file as its own series)")
    ds: Dataset = series.first
    image_type = _values(ds, "ImageType")
    value3 = image_type[2].upper() if len(image_type) > 2 else None
    if value3 not in NM_TOMO_TYPES:
        raise UnsupportedSeriesError(
            f"{where}: (0008,0008) Image Type value 3 is {value3!r} (Image Type {image_type}); this is not a "
            f"tomographic volume — supported: {' and '.join(NM_TOMO_TYPES)} (reconstructed SPECT), not planar "
            "STATIC / DYNAMIC / GATED / WHOLE BODY images or raw TOMO / GATED TOMO projections")
    gated = value3 == "RECON GATED TOMO"
    nf = _count(ds, "NumberOfFrames", "(0028,0008) Number of Frames", where)
    rows, cols = int(ds.Rows), int(ds.Columns)
    vectors = _nm_vectors(ds, where, nf)
    if _SLICE not in vectors:
        raise InvalidInputError(f"{where}: (0028,0009) Frame Increment Pointer does not name (0054,0080) Slice "
                                f"Vector; expected it for {value3}")
    if gated and _TIME_SLOT not in vectors:
        raise InvalidInputError(f"{where}: (0028,0009) Frame Increment Pointer does not name (0054,0070) Time Slot "
                                "Vector; expected it for RECON GATED TOMO")
    for tag, vec in vectors.items():
        if tag not in (_SLICE, _TIME_SLOT) and len(set(vec.tolist())) > 1:
            raise UnsupportedSeriesError(
                f"{where}: {NM_VECTORS[tag][0]} holds {len(set(vec.tolist()))} different indices; expected one "
                "(one energy window / detector / rotation / phase per volume)")
    slices = vectors[_SLICE] - 1
    slots = vectors[_TIME_SLOT] - 1 if _TIME_SLOT in vectors else np.zeros(nf, dtype=np.int64)
    n_z = int(ds.NumberOfSlices)
    n_t = int(ds.NumberOfTimeSlots) if _TIME_SLOT in vectors else 1
    key = slots * n_z + slices
    uniq, counts = np.unique(key, return_counts=True)
    if (counts > 1).any():
        k = int(uniq[np.argmax(counts > 1)])
        frames_at = (np.nonzero(key == k)[0] + 1).tolist()
        raise InvalidInputError(
            f"{where}: frames {frames_at} share (0054,0080) Slice Vector {k % n_z + 1}"
            + (f" and (0054,0070) Time Slot Vector {k // n_z + 1}" if _TIME_SLOT in vectors else "")
            + "; expected one frame per (slice, time slot)")
    if uniq.size != n_t * n_z:
        raise InvalidInputError(
            f"{where}: (0028,0008) Number of Frames {nf} gives {uniq.size} (slice, time slot) pairs; expected "
            f"{n_t * n_z} = (0054,0081) Number of Slices {n_z} × (0054,0071) Number of Time Slots {n_t}")

    notes: dict[str, Any] = {"nm_vectors": [NM_VECTORS[t][0] for t in vectors]}
    # Geometry: (0054,0022) Detector Information Sequence item 1.
    det = ds.get("DetectorInformationSequence") or []
    item = det[0] if len(det) else None
    position = None if item is None else _floats(item.get("ImagePositionPatient"), 3)
    orientation = None if item is None else _floats(item.get("ImageOrientationPatient"), 6)
    for value, name, kw in ((position, "(0020,0032) Image Position (Patient)", "ImagePositionPatient"),
                            (orientation, "(0020,0037) Image Orientation (Patient)", "ImageOrientationPatient")):
        if value is None:
            raw = None if item is None else item.get(kw)
            raise GeometryError(
                f"{where}: (0054,0022) Detector Information Sequence item 1 > {name} is missing or invalid "
                f"(value {raw!r}; sequence has {len(det)} item(s)); expected it for a {value3} volume — no default "
                "is assumed")
    assert position is not None and orientation is not None
    row_dir, col_dir = orientation[:3], orientation[3:]
    n_row, n_col, dot = float(np.linalg.norm(row_dir)), float(np.linalg.norm(col_dir)), float(row_dir @ col_dir)
    if not max(abs(n_row - 1), abs(n_col - 1), abs(dot)) <= ORTHONORMAL_TOLERANCE:
        raise GeometryError(
            f"{where}: (0054,0022) > (0020,0037) Image Orientation (Patient) {np.round(orientation, 6).tolist()} is "
            f"not orthonormal (|row| {n_row:.6f}, |column| {n_col:.6f}, row·column {dot:.6f}); expected unit "
            f"direction cosines at right angles within {ORTHONORMAL_TOLERANCE:g}")
    spacing = _pixel_spacing(ds.get("PixelSpacing"))
    lo, hi = PIXEL_SPACING_RANGE_MM
    if spacing is None or not all(lo <= v <= hi for v in spacing):
        raise GeometryError(f"{where}: (0028,0030) Pixel Spacing {ds.get('PixelSpacing')!r}; expected two values in "
                            f"{lo:g}–{hi:g} mm")
    step = _float(ds.get("SpacingBetweenSlices"))
    if step is not None and step != 0 and lo <= abs(step) <= hi:
        notes["slice_spacing_source"] = "(0018,0088) Spacing Between Slices"
    else:
        thickness = _float(ds.get("SliceThickness"))
        if thickness is None or not lo <= thickness <= hi:
            raise GeometryError(
                f"{where}: (0018,0088) Spacing Between Slices {ds.get('SpacingBetweenSlices')!r} and (0018,0050) "
                f"Slice Thickness {ds.get('SliceThickness')!r}; expected a slice step in {lo:g}–{hi:g} mm")
        step = thickness
        notes["slice_spacing_source"] = ("(0018,0050) Slice Thickness: (0018,0088) Spacing Between Slices "
                                         f"{ds.get('SpacingBetweenSlices')!r} missing or invalid; contiguous slices "
                                         "assumed")
    normal = np.cross(row_dir, col_dir)
    normal = normal / np.linalg.norm(normal)
    reverse = step < 0
    if reverse:
        notes["slice_order_note"] = ("(0018,0088) Spacing Between Slices is negative: slice indices step along "
                                     "−(row × column); volume reversed to run along +(row × column)")
    # z index of each slice index so that z increases along +normal
    z_of_slice = (n_z - 1 - slices) if reverse else slices
    origin = position + (n_z - 1) * step * normal if reverse else position
    ps_row, ps_col = spacing
    affine = np.eye(4)
    affine[:3, 0] = normal * abs(step)
    affine[:3, 1] = col_dir * ps_row
    affine[:3, 2] = row_dir * ps_col
    affine[:3, 3] = origin

    slope = _rescale_value(ds.get("RescaleSlope"), 1.0)
    intercept = _rescale_value(ds.get("RescaleIntercept"), 0.0)
    frames = [Frame(file=0, index=k, position=origin + float(z_of_slice[k]) * abs(step) * normal,
                    orientation=orientation, pixel_spacing=spacing, time_ms=None,
                    temporal_index=int(slots[k]) + 1, instance=_int(ds.get("InstanceNumber")),
                    slope=slope, intercept=intercept) for k in range(nf)]
    grid = np.empty((n_t, n_z), dtype=int)
    grid[slots, z_of_slice] = np.arange(nf)

    frame_times = None
    if gated:
        frame_times, source, rr = _gated_times(ds, n_t)
        notes["frame_times_source"] = source
        if rr is not None:
            notes["nm_rr_interval_ms"] = rr
    return Layout(grid, frames, affine, frame_times, rows, cols, notes)


def _gated_times(ds: Dataset, n_t: int) -> tuple[np.ndarray | None, str, float | None]:
    """Start time (ms from the R wave) of each time slot; the source; the R-R interval (ms) used, if any."""
    gated = ds.get("GatedInformationSequence") or []
    data = (gated[0].get("DataInformationSequence") or []) if len(gated) else []
    item = data[0] if len(data) else None
    lo, hi = RR_INTERVAL_RANGE_MS
    if item is not None:
        ft = _float(item.get("FrameTime"))
        if ft is not None and 0 < ft * n_t <= hi:
            return np.arange(n_t) * ft, "(0054,0062) > (0054,0063) > (0018,1063) Frame Time × time slot", None
        rr = _float(item.get("NominalInterval"))
        if rr is not None and lo <= rr <= hi:
            return (np.arange(n_t) * rr / n_t,
                    "(0054,0062) > (0054,0063) > (0018,1062) Nominal Interval / (0054,0071) Number of Time Slots", rr)
    rr = _nominal_interval(ds)
    if rr is not None:
        return (np.arange(n_t) * rr / n_t,
                "(0018,1062) Nominal Interval or (0018,1088) Heart Rate / (0054,0071) Number of Time Slots", rr)
    return None, "none (time slot order only)", None


# -- PET -------------------------------------------------------------------------------------------


def _pet_meta(ds: Dataset) -> dict[str, Any]:
    series_type = _values(ds, "SeriesType")
    units = _text(ds, "Units")
    decay = _text(ds, "DecayCorrection")
    meta: dict[str, Any] = {
        **_tracer_meta(ds),
        "pet_series_type": series_type,
        "units": units,
        "decay_correction": decay.upper() if decay else None,
        "corrected_image": _values(ds, "CorrectedImage"),
    }
    if units is None or units.upper() != "BQML":
        meta["units_note"] = (f"(0054,1001) Units {units!r}; BQML (Bq/mL) is expected for quantitative flow")
    if decay is None:
        meta["decay_correction_note"] = "(0054,1102) Decay Correction absent: unknown whether decay-corrected"
    elif decay.upper() == "NONE":
        meta["decay_correction_note"] = "(0054,1102) Decay Correction NONE: the pixel values are not decay-corrected"
    return meta


def _dt_ms(date: Any, time: Any) -> float | None:
    """DICOM DA + TM as milliseconds since an arbitrary epoch (None if unparsable)."""
    d, t = str(date or "").strip(), str(time or "").strip()
    m = re.fullmatch(r"(\d{2})(\d{2})?(\d{2})?(?:\.(\d{1,6}))?", t)
    if not re.fullmatch(r"\d{8}", d) or m is None:
        return None
    try:
        base = datetime(int(d[:4]), int(d[4:6]), int(d[6:8]))
    except ValueError:
        return None
    frac = float("0." + m.group(4)) if m.group(4) else 0.0
    secs = int(m.group(1)) * 3600 + int(m.group(2) or 0) * 60 + int(m.group(3) or 0) + frac
    return base.timestamp() * 1000.0 + secs * 1000.0


def _start_from_frame_reference_time(series: Any, heads: list[Dataset], durations: list[float]) -> np.ndarray:
    """Frame starts (ms from Series Time) from (0054,1300) Frame Reference Time, when Acquisition Time is absent.

    PS3.3 C.8.9.4.1.5: Frame Reference Time is the time (ms from the Series Reference Time, i.e. Series Date/Time)
    at which the pixel values occurred; for a short-lived nuclide it is the time of the decay-weighted mean
    activity of the frame, T_ave = (1/λ)·ln(λT / (1 − e^(−λT))) after the frame start (λ = ln 2 / Radionuclide Half
    Life, T = Actual Frame Duration; T_ave < T/2). The start is the inverse: Frame Reference Time − T_ave. ⚠ The
    standard calls the value implementation dependent (its Example 1, for long-lived nuclides, uses the frame
    mid-point): a scanner that writes the mid-point gives starts later by T/2 − T_ave (Rb-82, 10-s frame: 0.23 s;
    N-13, 60-s frame: 0.5 s). Missing Frame Reference Time or half-life → InvalidInputError naming the tag.
    """
    ref_times = [_float(h.get("FrameReferenceTime")) for h in heads]
    if any(v is None for v in ref_times):
        raise InvalidInputError(
            f"series {series.series_uid}: no frame start time: (0008,0032) Acquisition Time / (0008,0031) "
            "Series Time and (0054,1300) Frame Reference Time are missing; expected one of them")
    seq = heads[0].get("RadiopharmaceuticalInformationSequence") or []
    half_life = _float(seq[0].get("RadionuclideHalfLife")) if len(seq) else None
    if half_life is None or not half_life > 0:
        raise InvalidInputError(
            f"series {series.series_uid}: (0008,0032) Acquisition Time is missing and the frame start cannot be "
            "derived from (0054,1300) Frame Reference Time (the decay-weighted mean time of the frame, PS3.3 "
            "C.8.9.4.1.5) without (0054,0016) > (0018,1075) Radionuclide Half Life; expected one of them")
    lam = np.log(2.0) / (half_life * 1000.0)  # 1/ms
    t = np.asarray(durations, dtype=float)
    t_ave = np.log(lam * t / -np.expm1(-lam * t)) / lam
    return np.asarray(ref_times, dtype=float) - t_ave


def _pet_layout(series: Any) -> Layout:
    first: Dataset = series.first
    where = str(series.sources[0])
    series_type = _values(first, "SeriesType")
    temporal = series_type[0].upper() if series_type else "STATIC"
    if temporal not in ("DYNAMIC", "GATED"):
        layout = series.layout()
        layout.notes["pet_layout"] = f"(0054,1000) Series Type {series_type}: static volume"
        return layout
    sizes = {(int(ds.Rows), int(ds.Columns)) for ds in series.headers}
    if len(sizes) > 1:
        raise GeometryError(f"{series.series_uid}: frames of different sizes (0028,0010)/(0028,0011) {sorted(sizes)} "
                            "in one series; expected one matrix size")
    rows, cols = sizes.pop()
    n_z = _count(first, "NumberOfSlices", "(0054,0081) Number of Slices", where)
    count_kw, count_name = (("NumberOfTimeSlices", "(0054,0101) Number of Time Slices") if temporal == "DYNAMIC"
                            else ("NumberOfTimeSlots", "(0054,0071) Number of Time Slots"))
    n_t = _count(first, count_kw, count_name, where)
    # time index of each file
    index = [_int(ds.get("ImageIndex")) for ds in series.headers]
    if all(i is not None and i >= 1 for i in index):
        t_of = np.array([(i - 1) // n_z for i in index], dtype=int)  # PS3.3 C.8.9.4.1.9
        source = "(0054,1330) Image Index"
    else:
        kw, name = (("FrameReferenceTime", "(0054,1300) Frame Reference Time") if temporal == "DYNAMIC"
                    else ("TriggerTime", "(0018,1060) Trigger Time"))
        values = [_float(ds.get(kw)) for ds in series.headers]
        if any(v is None for v in values):
            k = next(i for i, v in enumerate(values) if v is None)
            raise InvalidInputError(
                f"{series.sources[k]}: (0054,1330) Image Index and {name} are missing or invalid; expected one of "
                f"them to tell the {temporal.lower()} frame of each file")
        _levels, t_of = np.unique(np.round(np.array(values, dtype=float), 3), return_inverse=True)
        source = name
    found = int(t_of.max()) + 1 if t_of.size else 0
    if found != n_t or len(set(t_of.tolist())) != n_t:
        raise InvalidInputError(
            f"series {series.series_uid}: {len(set(t_of.tolist()))} {temporal.lower()} frame(s) found from {source} "
            f"(highest index {found}); expected {n_t} = {count_name}")
    frames: list[Frame] = []
    for k, ds in enumerate(series.headers):
        for f in frames_of(ds, k):
            frames.append(replace(f, temporal_index=int(t_of[k]) + 1, time_ms=None))
    for f in frames:
        for attr, name in (("position", "(0020,0032) Image Position (Patient)"),
                           ("orientation", "(0020,0037) Image Orientation (Patient)"),
                           ("pixel_spacing", "(0028,0030) Pixel Spacing")):
            if getattr(f, attr) is None:
                raise GeometryError(f"{series.sources[f.file]}: {name} is missing or invalid; expected it for a PET "
                                    "image — no default is assumed")
    layout = _cross_sectional_layout(series, frames, rows, cols)
    if layout.n_slices != n_z:
        raise InvalidInputError(f"series {series.series_uid}: {layout.n_slices} slice positions per frame; expected "
                                f"{n_z} = (0054,0081) Number of Slices")
    notes: dict[str, Any] = {"pet_layout": f"(0054,1000) Series Type {temporal}: frames by {source}"}
    heads = [series.headers[frames[int(layout.grid[t, 0])].file] for t in range(n_t)]
    if temporal == "DYNAMIC":
        durations = []
        for t in range(n_t):
            d = {_float(series.headers[frames[int(i)].file].get("ActualFrameDuration")) for i in layout.grid[t]}
            if None in d or len(d) != 1:
                raise InvalidInputError(
                    f"series {series.series_uid}: (0018,1242) Actual Frame Duration of frame {t + 1} is "
                    f"{sorted(d, key=str)} across its slices; expected one value (ms) per frame")
            durations.append(d.pop())
        ref = _dt_ms(first.get("SeriesDate"), first.get("SeriesTime"))
        acq = [_dt_ms(h.get("AcquisitionDate") or first.get("SeriesDate"), h.get("AcquisitionTime")) for h in heads]
        if ref is not None and all(a is not None for a in acq):
            start = np.array([a - ref for a in acq], dtype=float)  # type: ignore[operator]
            notes["frame_times_source"] = ("(0008,0022)/(0008,0032) Acquisition Date/Time − (0008,0021)/(0008,0031) "
                                           "Series Date/Time (frame start)")
        else:
            start = _start_from_frame_reference_time(series, heads, durations)
            notes["frame_times_source"] = (
                "(0054,1300) Frame Reference Time − decay-weighted mean time of the frame "
                "(1/λ)·ln(λT/(1 − e^(−λT))), T = (0018,1242) Actual Frame Duration, λ = ln 2 / (0018,1075) "
                "Radionuclide Half Life (PS3.3 C.8.9.4.1.5)")
        if n_t > 1 and not np.all(np.diff(start) > 0):
            raise InvalidInputError(
                f"series {series.series_uid}: frame start times {start.tolist()} ms ({notes['frame_times_source']}) "
                f"do not increase with the frame order of {source}; expected strictly increasing starts")
        notes["frame_start_ms"] = start.tolist()
        notes["frame_duration_ms"] = [float(d) for d in durations]
        notes["frame_reference_time_ms"] = [_float(h.get("FrameReferenceTime")) for h in heads]
        layout.frame_times_ms = start
    else:
        trig = [_float(h.get("TriggerTime")) for h in heads]
        if all(v is not None for v in trig):
            layout.frame_times_ms = np.array(trig, dtype=float)
            notes["frame_times_source"] = "(0018,1060) Trigger Time"
        else:
            rr = _nominal_interval(first)
            layout.frame_times_ms = None if rr is None else np.arange(n_t) * rr / n_t
            notes["frame_times_source"] = ("(0018,1062) Nominal Interval / (0054,0071) Number of Time Slots"
                                           if rr is not None else "none (gate order only)")
    layout.notes.update(notes)
    return layout

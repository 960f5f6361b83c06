"""DICOM Segmentation (SEG) export of heartprint label maps, referencing the source images.

One SEG instance is written per segmented series. A cine label map ``(t, z, y, x)`` on the
source grid becomes one frame per (phase, slice, segment) with foreground, each frame
referencing the single-frame source instance it was segmented on (DICOM PS3.3 C.8.20
Segmentation IOD; frame references in the Derivation Image Sequence of the per-frame
functional groups, PS3.3 C.7.6.16.2.6).

Segments (heartprint label → segment number, PS3.3 C.8.20.2 Segment Description):

======  ============  ===========================  ==============================  ==========================
number  label         property category (CID 7150)  property type                   anatomic region
======  ============  ===========================  ==============================  ==========================
1       LV cavity     SCT 85756007 Tissue           SCT 87612001 Blood              SCT 87878005 Left ventricle
2       LV myocardium SCT 91723000 Anatomical       SCT 49848007 Left Ventricle     —
                      Structure                     Myocardium
3       RV cavity     SCT 85756007 Tissue           SCT 87612001 Blood              SCT 53085002 Right ventricle
======  ============  ===========================  ==============================  ==========================

Display colours: every segment carries a fixed (0062,000D) Recommended Display CIELab Value,
so that viewers (OHIF, 3D Slicer) draw heartprint's segments alike everywhere instead of
falling back to their own palettes. The colours are from the Okabe–Ito colour-blind-safe
palette (M. Okabe, K. Ito, *Color Universal Design (CUD): how to make figures and
presentations that are friendly to colorblind people*, 2008, https://jfly.uni-koeln.de/color/),
so the cavity and its surrounding myocardium stay distinct for red–green colour-blind readers:

=============  ==============  ============  ======================  =====================
label          Okabe–Ito name  sRGB (0–255)  CIELab L*, a*, b*       (0062,000D) value
=============  ==============  ============  ======================  =====================
LV cavity      vermillion      213, 94, 0    54.2, 43.3, 63.3        35512, 44018, 49160
LV myocardium  bluish green    0, 158, 115   57.7, −45.7, 12.8       37842, 21141, 36174
RV cavity      sky blue        86, 180, 233  69.8, −12.0, −34.8      45761, 29808, 23959
=============  ==============  ============  ======================  =====================

The sRGB triple is converted to CIELab (D65 white point) and scaled to the DICOM encoding
(L* 0–100 → 0–65535, a*/b* −128–127 → 0–65535; PS3.3 C.10.7.1.1) by
:meth:`highdicom.color.CIELabColor.from_rgb`; ``tests/test_io_seg.py`` checks the written
values against an independent conversion (:func:`skimage.color.rgb2lab`).

Every code is taken from :data:`pydicom.sr.codedict.codes` (DICOM PS3.16 as shipped with
pydicom). PS3.16 has no concept for "left ventricular cavity" in pydicom's dictionary, so
a cavity is described as *blood* (the segmented property) *in* the ventricle (Anatomic
Region Sequence), which is the pattern PS3.3 C.8.20.2 allows for a property located in a
structure.

Empty-segment policy: a label with no voxel in any frame is **omitted** from the SEG (no
Segment Description, no frames) and the returned :class:`SegInfo` lists only the segments
written; a label map with no foreground at all is an :class:`~heartprint.errors.InvalidInputError`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes

from heartprint._atomic import atomic_file
from heartprint.errors import GeometryError, InvalidInputError
from heartprint.image import Image
from heartprint.labels import LV_CAVITY, LV_MYOCARDIUM, RV_CAVITY

__all__ = ["SEGMENTS", "SegInfo", "SegmentSpec", "build_seg", "export_headers", "match_source_frames", "write_seg"]

#: Tolerance (mm) when matching a label-map slice to a source (0020,0032) Image Position (Patient).
POSITION_TOLERANCE_MM = 0.05
#: Tolerance (ms) when matching a label-map phase to a source (0018,1060) Trigger Time.
TRIGGER_TOLERANCE_MS = 0.5


@dataclass(frozen=True)
class SegmentSpec:
    """How one heartprint label is described in a SEG (PS3.3 C.8.20.2, CIDs 7150/7151).

    ``display_rgb`` is the segment's fixed display colour as an sRGB triple (0–255), written
    as (0062,000D) Recommended Display CIELab Value (see the module docstring for the palette).
    """

    label: int
    name: str
    category: Any  # pydicom Code
    property_type: Any
    display_rgb: tuple[int, int, int]
    anatomic_region: Any | None = None


#: heartprint label value → segment description; segment number = label value.
SEGMENTS: Mapping[int, SegmentSpec] = {
    LV_CAVITY: SegmentSpec(
        LV_CAVITY, "LV cavity", codes.SCT.Tissue, codes.SCT.Blood, (213, 94, 0), codes.SCT.LeftVentricle
    ),
    LV_MYOCARDIUM: SegmentSpec(
        LV_MYOCARDIUM, "LV myocardium", codes.SCT.AnatomicalStructure, codes.SCT.LeftVentricleMyocardium, (0, 158, 115)
    ),
    RV_CAVITY: SegmentSpec(
        RV_CAVITY, "RV cavity", codes.SCT.Tissue, codes.SCT.Blood, (86, 180, 233), codes.SCT.RightVentricle
    ),
}


@dataclass(frozen=True)
class SegInfo:
    """What :func:`write_seg` wrote: file, UIDs and the segments present (number → label name)."""

    path: Path | None
    sop_instance_uid: str
    series_instance_uid: str
    segments: dict[int, str]
    segment_tracking_uids: dict[int, str]
    dataset: Dataset
    #: header values of the source images normalised or left out of the SEG (and so of the SR
    #: built on it), each said once: see :func:`export_headers`
    notes: tuple[str, ...] = ()


def _read_sources(sources: Sequence[Dataset | str | os.PathLike]) -> list[Dataset]:
    out = []
    for s in sources:
        if isinstance(s, Dataset):
            out.append(s)
            continue
        try:
            out.append(pydicom.dcmread(s))
        except Exception as exc:  # pydicom raises several types for unreadable files
            raise InvalidInputError(f"{s}: cannot be read as a DICOM source image ({exc})") from exc
    if not out:
        raise InvalidInputError("source_datasets is empty: expected the source images of the segmented series")
    return out


#: Patient and General Study module attributes (PS3.3 C.7.1.1, C.7.2.1) that highdicom copies from
#: the source images into a SEG (and the SR then copies from the SEG); Type 2 ones must be present.
_TYPE2_COPIED = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
                 "ReferringPhysicianName", "StudyID", "AccessionNumber")


def _replace(ds: Dataset, keyword: str, value: Any) -> None:
    """Set ``keyword`` by replacing its element (never mutating one shared with another dataset)."""
    from pydicom.dataelem import DataElement
    from pydicom.datadict import dictionary_VR, tag_for_keyword

    tag = tag_for_keyword(keyword)
    ds[tag] = DataElement(tag, dictionary_VR(tag), value)


def export_headers(sources: Sequence[Dataset]) -> tuple[list[Dataset], list[str]]:
    """Copies of the source headers whose patient and study values a SEG/SR can carry, and notes.

    Messy but ordinary values never stop the export: (0010,0040) Patient's Sex becomes M, F, O
    or empty (``Male`` → M, ``U`` → empty); (0010,0030) Birth Date and (0008,0020) Study Date
    become a valid DA (``2023-04-15`` → ``20230415``) or empty (``00000000``); (0008,0030)
    Study Time a valid TM (``12:30`` → ``1230``) or empty; (0010,1010) Age a valid AS or
    removed; implausible (0010,1020) Size / (0010,1030) Weight are removed; a Type 2 attribute
    that is missing is added empty; an unknown (0008,0005) Specific Character Set is replaced
    by ISO_IR 192 (UTF-8) after the text is decoded as best effort. The sources themselves are
    not changed. Each note says what was done, once.
    """
    import copy
    import re

    from heartprint.io._scan import charset_note, dicom_date, dicom_sex, plausible_size_weight, quote

    out: list[Dataset] = []
    notes: list[str] = []

    def note(text: str | None) -> None:
        if text and text not in notes:
            notes.append(text)

    for ds in sources:
        new = copy.copy(ds)
        new.__dict__["_dict"] = dict(ds._dict)  # own element table: edits below replace, never mutate
        for kw in _TYPE2_COPIED:
            if kw not in new or new[kw].value is None:
                _replace(new, kw, "")
        sex, sex_note = dicom_sex(new.PatientSex)
        if (sex or "") != str(new.PatientSex or ""):
            _replace(new, "PatientSex", sex or "")
            note(f"{sex_note}; written to the SEG/SR as {sex or 'empty'!r}" if sex_note else None)
        for kw, what in (("PatientBirthDate", "(0010,0030) Patient's Birth Date"), ("StudyDate", "(0008,0020) Study Date")):
            raw = str(new[kw].value or "").strip()
            d, _ = dicom_date(raw, what)
            fixed = d.strftime("%Y%m%d") if d is not None else ""
            if fixed != raw:
                _replace(new, kw, fixed)
                note(f"{what} {quote(raw)} written to the SEG/SR as {fixed or 'empty'!r}")
        tm = str(new.StudyTime or "").strip()
        m = re.fullmatch(r"(\d{1,2}):?(\d{2})?(?::?(\d{2})(\.\d{1,6})?)?", tm)
        fixed_tm = ""
        if m and int(m.group(1)) < 24 and int(m.group(2) or 0) < 60 and int(m.group(3) or 0) < 61:
            fixed_tm = f"{int(m.group(1)):02d}{m.group(2) or ''}{m.group(3) or ''}{m.group(4) or ''}"
        if fixed_tm != tm:
            _replace(new, "StudyTime", fixed_tm)
            note(f"(0008,0030) Study Time {quote(tm)} written to the SEG/SR as {fixed_tm or 'empty'!r}")
        if "PatientAge" in new and not re.fullmatch(r"\d{3}[DWMY]", str(new.PatientAge or "").strip()):
            note(f"(0010,1010) Patient's Age {quote(new.PatientAge)} is not an age string; left out of the SEG/SR")
            del new["PatientAge"]
        size, weight, _ = plausible_size_weight(new)
        for kw, tag, ok in (("PatientSize", "(0010,1020)", size), ("PatientWeight", "(0010,1030)", weight)):
            if kw in new and ok is None and str(new[kw].value or "").strip():
                note(f"{tag} {kw} {quote(new[kw].value)} is not plausible; left out of the SEG/SR")
                del new[kw]
        cs = charset_note(new)
        if cs:
            new.decode()  # best effort with pydicom's fallback encoding, before the charset changes
            _replace(new, "SpecificCharacterSet", "ISO_IR 192")
            note(f"{cs}; the SEG/SR are written in UTF-8 (ISO_IR 192)")
        out.append(new)
    return out, notes


def _labels_desc(labels: Image) -> str:
    return f"labels (shape {labels.array.shape}, series {labels.series_uid})"


def match_source_frames(labels: Image, sources: Sequence[Dataset]) -> np.ndarray:
    """Index of the source instance of every ``(t, z)`` frame of ``labels``.

    A source matches frame ``(t, z)`` when its (0020,0032) Image Position (Patient) equals
    the label map's LPS position of voxel ``(z, 0, 0)`` within :data:`POSITION_TOLERANCE_MM`,
    its (0020,0037) Image Orientation (Patient) equals the label map's row/column
    directions, its (0028,0010)/(0028,0011) Rows/Columns equal ``(y, x)``, its (0028,0030)
    Pixel Spacing equals ``(dy, dx)`` and its (0018,1060) Trigger Time equals
    ``labels.frame_times_ms[t]`` within :data:`TRIGGER_TOLERANCE_MS` (for a cine).

    Returns
    -------
    numpy.ndarray
        ``(t, z)`` integer indices into ``sources``.

    Raises
    ------
    GeometryError
        A source does not lie on the label grid, or a frame has no (or two) sources; the
        message names both the label map and the source instance.
    """
    arr = labels.array
    n_t = arr.shape[0] if arr.ndim == 4 else 1
    n_z, n_y, n_x = arr.shape[-3:]
    times = labels.frame_times_ms
    direction = labels.direction
    row_dir, col_dir = direction[:, 2], direction[:, 1]
    dz, dy, dx = labels.spacing
    index = np.full((n_t, n_z), -1, dtype=int)
    for i, ds in enumerate(sources):
        name = f"source instance {getattr(ds, 'SOPInstanceUID', i)}"
        try:
            ipp = np.array([float(v) for v in ds.ImagePositionPatient])
            iop = np.array([float(v) for v in ds.ImageOrientationPatient])
            rows, cols = int(ds.Rows), int(ds.Columns)
            ps = [float(v) for v in ds.PixelSpacing]
        except (AttributeError, TypeError, ValueError) as exc:
            raise GeometryError(f"{name}: missing or invalid geometry tag ({exc}); cannot reference it from {_labels_desc(labels)}") from exc
        if (rows, cols) != (n_y, n_x):
            raise GeometryError(f"{name}: (0028,0010/0011) Rows x Columns = {rows} x {cols} does not match {_labels_desc(labels)} in-plane size {n_y} x {n_x}")
        if not np.allclose(ps, [dy, dx], atol=1e-3):
            raise GeometryError(f"{name}: (0028,0030) Pixel Spacing {ps} does not match {_labels_desc(labels)} spacing [{dy:.4g}, {dx:.4g}] mm")
        if not (np.allclose(iop[:3], row_dir, atol=1e-3) and np.allclose(iop[3:], col_dir, atol=1e-3)):
            raise GeometryError(f"{name}: (0020,0037) Image Orientation {iop.tolist()} does not match {_labels_desc(labels)} directions {np.r_[row_dir, col_dir].round(4).tolist()}")
        frac = labels.lps_to_index(ipp)
        z = int(round(frac[0]))
        off_mm = np.abs(labels.index_to_lps(np.array([z, 0.0, 0.0])) - ipp).max()
        if not (0 <= z < n_z) or off_mm > POSITION_TOLERANCE_MM:
            raise GeometryError(f"{name}: (0020,0032) Image Position {ipp.tolist()} is not a slice of {_labels_desc(labels)} (fractional index {frac.round(3).tolist()})")
        if arr.ndim == 4:
            if times is None:
                if n_t != 1:
                    raise GeometryError(f"{_labels_desc(labels)}: a cine label map needs frame_times_ms to match (0018,1060) Trigger Time")
                t = 0
            else:
                trig = getattr(ds, "TriggerTime", None)
                if trig is None:
                    raise GeometryError(f"{name}: no (0018,1060) Trigger Time; cannot match it to a phase of {_labels_desc(labels)}")
                dt = np.abs(times - float(trig))
                t = int(np.argmin(dt))
                if dt[t] > TRIGGER_TOLERANCE_MS:
                    raise GeometryError(f"{name}: (0018,1060) Trigger Time {float(trig)} ms matches no phase of {_labels_desc(labels)} (times {np.round(times, 2).tolist()} ms)")
        else:
            t = 0
        if index[t, z] >= 0:
            raise GeometryError(f"{name} and source instance {sources[index[t, z]].SOPInstanceUID} both match frame (t={t}, z={z}) of {_labels_desc(labels)}")
        index[t, z] = i
    missing = np.argwhere(index < 0)
    if len(missing):
        raise GeometryError(f"{_labels_desc(labels)}: frames (t, z) {missing[:5].tolist()} have no source instance among the {len(sources)} given")
    return index


def _algorithm(model_card: Mapping[str, Any] | None):
    import highdicom as hd

    from heartprint import __version__

    params = {}
    name = "heartprint"
    if model_card:
        name = f"heartprint {model_card.get('name', 'model')}"
        if model_card.get("sha256"):
            params["model_sha256"] = str(model_card["sha256"])
    return hd.AlgorithmIdentificationSequence(
        name=name[:64], family=codes.DCM.ArtificialIntelligence, version=__version__, parameters=params or None
    )


def build_seg(
    labels: Image,
    source_datasets: Sequence[Dataset | str | os.PathLike],
    *,
    model_card: Mapping[str, Any] | None = None,
    series_number: int = 900,
    segmentation_type: str = "BINARY",
) -> tuple[Dataset, dict[int, str], dict[int, str]]:
    """Build (without writing) the SEG dataset; see :func:`write_seg`.

    Returns the ``highdicom.seg.Segmentation``, ``{segment number: label name}`` and
    ``{segment number: tracking UID}``.
    """
    import highdicom as hd

    from heartprint import __version__

    arr = np.asarray(labels.array)
    if arr.ndim not in (3, 4):
        raise InvalidInputError(f"{_labels_desc(labels)}: expected (z, y, x) or (t, z, y, x)")
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.all(arr == np.rint(arr)):
            raise InvalidInputError(f"{_labels_desc(labels)}: dtype {arr.dtype} with non-integer values; expected a label map")
        arr = arr.astype(np.int64)
    present = sorted(int(v) for v in np.unique(arr) if v != 0)
    unknown = [v for v in present if v not in SEGMENTS]
    if unknown:
        raise InvalidInputError(f"{_labels_desc(labels)}: label values {unknown} are not heartprint labels {sorted(SEGMENTS)}")
    if not present:
        raise InvalidInputError(f"{_labels_desc(labels)}: the segmentation is empty (no voxel of any label); no SEG written")
    if segmentation_type.upper() not in ("BINARY", "LABELMAP"):
        raise InvalidInputError(f"segmentation_type={segmentation_type!r}: expected 'BINARY' or 'LABELMAP'")
    sources, _ = export_headers(_read_sources(source_datasets))
    index = match_source_frames(labels, sources)
    arr4 = arr if arr.ndim == 4 else arr[None]
    order = index.reshape(-1)  # (t, z) row-major
    src = [sources[i] for i in order]
    pixels = arr4.reshape(-1, *arr4.shape[-2:]).astype(np.uint8)

    algo = _algorithm(model_card)
    tracking: dict[int, str] = {}
    descriptions = []
    # segment number == label value, so renumber only if a label is absent
    remap = np.zeros(max(SEGMENTS) + 1, dtype=np.uint8)
    for number, value in enumerate(present, start=1):
        spec = SEGMENTS[value]
        remap[value] = number
        tracking[number] = hd.UID()
        descriptions.append(
            hd.seg.SegmentDescription(
                segment_number=number,
                segment_label=spec.name,
                segmented_property_category=spec.category,
                segmented_property_type=spec.property_type,
                algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
                algorithm_identification=algo,
                tracking_uid=tracking[number],
                tracking_id=f"heartprint {spec.name}",
                anatomic_regions=[spec.anatomic_region] if spec.anatomic_region is not None else None,
                display_color=hd.color.CIELabColor.from_rgb(*spec.display_rgb),
            )
        )
    pixels = remap[pixels]
    common = dict(
        segmentation_type=segmentation_type.upper(),
        segment_descriptions=descriptions,
        series_instance_uid=hd.UID(),
        series_number=int(series_number),
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="heartprint",
        manufacturer_model_name="heartprint",
        software_versions=__version__,
        device_serial_number="0",
        content_label="HEARTPRINT",
        content_description="heartprint cardiac segmentation (research use)",
        series_description="heartprint SEG",
        omit_empty_frames=True,
    )
    n_t, n_z = index.shape
    if n_t == 1:
        seg = hd.seg.Segmentation(source_images=src, pixel_array=pixels, **common)
    else:
        phases = []
        for t in range(n_t):
            block = pixels[t * n_z:(t + 1) * n_z]
            if block.any():
                phases.append((t, hd.seg.Segmentation(source_images=src[t * n_z:(t + 1) * n_z], pixel_array=block, **common)))
        seg = _merge_phases(phases, labels)
    names = {n: SEGMENTS[v].name for n, v in enumerate(present, start=1)}
    return seg, names, tracking


def _merge_phases(phases: list[tuple[int, Dataset]], labels: Image) -> Dataset:
    """Join per-phase SEGs (same UIDs and segments) into one multi-frame SEG with a temporal dimension.

    highdicom 0.28 refuses duplicate plane positions, which a cine has by design (the same
    slice at every phase). Each phase is therefore built by highdicom and the frames are
    concatenated here, with a third dimension — (0020,9128) Temporal Position Index in the
    (0020,9111) Frame Content Sequence (PS3.3 C.7.6.16.2.2) — added to the Multi-frame
    Dimension module (PS3.3 C.7.6.17), so that frame (segment, slice, phase) is uniquely
    indexed. Position indices are recomputed over the union of the phases.
    """
    from pydicom.pixels import pack_bits
    from pydicom.sequence import Sequence as DcmSequence

    base = phases[0][1]
    normal = labels.direction[:, 0]
    frames_px, groups, refs = [], [], {}
    dists = set()
    for t, seg in phases:
        px = seg.pixel_array
        px = px[None] if px.ndim == 2 else px
        frames_px.append(px.astype(np.uint8))
        for item in seg.PerFrameFunctionalGroupsSequence:
            item.FrameContentSequence[0].TemporalPositionIndex = t + 1
            groups.append(item)
            dists.add(round(float(np.dot([float(v) for v in item.PlanePositionSequence[0].ImagePositionPatient], normal)), 3))
        for series in seg.ReferencedSeriesSequence:
            for inst in series.ReferencedInstanceSequence:
                refs[inst.ReferencedSOPInstanceUID] = inst
    order = {d: i + 1 for i, d in enumerate(sorted(dists))}
    for item in groups:
        d = round(float(np.dot([float(v) for v in item.PlanePositionSequence[0].ImagePositionPatient], normal)), 3)
        seg_number = int(item.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        t_index = int(item.FrameContentSequence[0].TemporalPositionIndex)
        item.FrameContentSequence[0].DimensionIndexValues = [seg_number, order[d], t_index]
    dim = Dataset()
    dim.DimensionOrganizationUID = base.DimensionIndexSequence[0].DimensionOrganizationUID
    dim.DimensionIndexPointer = 0x00209128  # Temporal Position Index
    dim.FunctionalGroupPointer = 0x00209111  # Frame Content Sequence
    dim.DimensionDescriptionLabel = "Temporal Position Index"
    base.DimensionIndexSequence.append(dim)
    if "DimensionOrganizationType" in base:
        del base.DimensionOrganizationType  # "3D" would claim a purely spatial organisation
    base.PerFrameFunctionalGroupsSequence = DcmSequence(groups)
    base.ReferencedSeriesSequence[0].ReferencedInstanceSequence = DcmSequence(list(refs.values()))
    allpx = np.concatenate(frames_px, axis=0)
    base.NumberOfFrames = int(allpx.shape[0])
    if base.SegmentationType == "BINARY":
        base.PixelData = pack_bits(allpx)
    else:
        base.PixelData = allpx.tobytes()
    return base


def write_seg(
    labels: Image,
    source_datasets: Sequence[Dataset | str | os.PathLike],
    out_path: str | os.PathLike,
    *,
    model_card: Mapping[str, Any] | None = None,
    series_number: int = 900,
    segmentation_type: str = "BINARY",
) -> SegInfo:
    """Write a heartprint label map as a DICOM Segmentation referencing its source images.

    Parameters
    ----------
    labels
        ``(t, z, y, x)`` (cine) or ``(z, y, x)`` label map on the source grid, values in
        :mod:`heartprint.labels` (1 LV cavity, 2 LV myocardium, 3 RV cavity); the affine and
        ``frame_times_ms`` locate each frame (e.g. ``SeriesAnalysis.labels``).
    source_datasets
        The source series: pydicom datasets or file paths, one single-frame instance per
        ``(t, z)``. Frames are matched by position and trigger time
        (:func:`match_source_frames`), not by order.
    out_path
        File to write (written to a temporary file beside it, then moved into place).
    model_card
        The segmentation model's card (``name``, ``sha256``); recorded in the Segment
        Algorithm Identification (PS3.3 C.8.20.2; Algorithm Family DCM 123110
        "Artificial Intelligence", CID 7162).
    series_number
        (0020,0011) of the new SEG series.
    segmentation_type
        (0062,0001) ``"BINARY"`` (default; Segmentation Storage) or ``"LABELMAP"`` (Label
        Map Segmentation Storage, PS3.3 C.8.20.2 with Supplement 243).

    Returns
    -------
    SegInfo
        Path, UIDs, the segments written and their Tracking UIDs (used by the SR).

    Raises
    ------
    GeometryError
        The label grid does not match the source geometry (the message names both).
    InvalidInputError
        Empty segmentation, unknown label values or unreadable sources.

    Notes
    -----
    DICOM PS3.3 A.51 Segmentation IOD, C.8.20 Segmentation modules; codes from PS3.16
    CID 7150 (Segmentation Property Categories) and CID 7151 (Segmentation Property Types).
    """
    seg, names, tracking = build_seg(
        labels, source_datasets, model_card=model_card, series_number=series_number, segmentation_type=segmentation_type
    )
    sources = [s for s in source_datasets if isinstance(s, Dataset)]
    notes = export_headers(sources)[1] if sources else []
    out = Path(out_path)
    with atomic_file(out) as tmp:
        seg.save_as(tmp, enforce_file_format=True)
    return SegInfo(out, str(seg.SOPInstanceUID), str(seg.SeriesInstanceUID), names, tracking, seg, tuple(notes))

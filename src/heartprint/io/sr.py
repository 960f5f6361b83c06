"""DICOM Structured Report export: TID 1500 Measurement Report of heartprint measurements.

The report is a Comprehensive 3D SR (PS3.3 A.35.13) whose content tree follows DICOM PS3.16
TID 1500 "Measurement Report". Measurements of a segmented structure go into a TID 1411
"Volumetric ROI Measurements and Qualitative Evaluations" group that references the
structure's segment in the heartprint SEG (``Referenced Segment`` DCM 121191, via
:func:`heartprint.io.seg.write_seg`); other measurements go into a TID 1501 "Measurement
and Qualitative Evaluation Group". Every group carries a Tracking Identifier (DCM 112039)
and Tracking Unique Identifier (DCM 112040) (PS3.16 TID 4108).

Concept names (TID 300 "Measurement") come from :data:`heartprint.concepts.CONCEPTS`:
the verified LOINC (``LN``), SNOMED CT (``SCT``) or ``DCM`` code — the modality-specific one
first (e.g. LN 8811-2 "Left ventricular ejection fraction by MR") — else a code of the
private coding scheme :data:`LOCAL_SCHEME` (``99HEARTPRINT``; code value = the
measurement's stable key), which is declared in the (0008,0110) Coding Scheme
Identification Sequence (PS3.3 C.12.1.1.2.1). Units are UCUM (PS3.16 CID 7181 / coding
scheme ``UCUM``); an unknown unit is an error, never a guess.

A per-segment measurement (``Measurement.segment``) carries its AHA segment as the TID 300
Finding Site (SCT 363698007, HAS CONCEPT MOD) of the measurement itself, coded from DICOM
PS3.16 CID 3717 "Left Ventricle Myocardial Wall 17 Segment Model" (e.g. SCT 264846001 "left
ventricle basal inferior segment" for segment 4); a per-vessel one carries its coronary artery
from CID 3015/3014 (:mod:`heartprint.anatomy.aha_codes`). ``dsrdump`` prints it under the value.

A measurement with a reference range or a verdict (``Measurement.reference_range``,
``Measurement.interpretation``, set by :func:`heartprint.clinical.reference_ranges.annotate`)
carries TID 310 "Measurement Properties" (highdicom ``MeasurementProperties``): the Normality
(DCM 121402) from CID 222, coded by :data:`NORMALITY` (SCT 371880002 "Abnormally Low",
17621005 "Normal", 371879000 "Abnormally High"), and TID 312 "Normal Range Properties" with
the limits present as CID 223 SCT 385524004 "Normal Range Lower Limit" / 371933006 "Normal
Range Upper Limit" in the measurement's unit, the population as Normal Range description
(DCM 121407) and the source as Normal Range Authority (DCM 121408). Codes are those of
pydicom's PS3.16 code dictionary. A measurement without them carries no properties. The
z-score is not written: TID 311 "Measurement Statistical Properties", where DCM 121416
"Z-Score of measurement" belongs, requires the population's mean and SD, which a
:class:`~heartprint.measure.ReferenceRange` does not carry.

Without a SEG (a series analysed without a label map: nuclear perfusion, CT calcium, CMR
mapping...), the report is built from the analysed series' own source DICOM headers
(``source=``): every measurement goes into a TID 1501 group (no Referenced Segment); the groups
are those of the SEG path (LV cavity / LV myocardium / RV cavity by the measurement's key, see
:data:`_SEGMENT_OF`, and a per-AHA-segment value in the LV myocardium group, since the AHA
segments are segments of the LV myocardium), each with its finding type; the evidence is every
source instance (PS3.3 C.17.2.3 Current Requested Procedure Evidence Sequence, by study and
series). Per-segment values keep their CID 3717 finding site exactly as on the SEG path.

Identity: the SR's Patient and General Study modules are copied (by highdicom) from the SEG,
which copies them from the source series, or, without a SEG, from the first source header
(after :func:`heartprint.io.seg.export_headers` normalises messy values). The SR therefore
names whoever the source names, and a de-identified source gives a de-identified SR; nothing
here adds patient data. The Comprehensive 3D SR IOD (PS3.3 A.35.13) has no Frame of Reference
module and the report holds only 2D image coordinates (SCOORD, below), so no Frame of Reference
UID is written.

Outlines. With a SEG, the cavity volumes and ejection fractions (:data:`CONTOURED`: LV and RV
EDV, ESV, SV, EF) are each INFERRED FROM (TID 300) the SEG (TID 320 IMAGE) and from the closed
outline (SCOORD POLYLINE, SELECTED FROM the cine image) of their cavity on the mid-ventricular
slice at ED and/or ES (:func:`key_contours`). A viewer can then show the values on the image
they come from: OHIF v3 draws a TID 1500 measurement only where it has image coordinates.
TID 1411 groups may not carry coordinates in their measurements, so these values go into a TID
1501 group of their own per cavity ("LV cavity volumes"; Finding: the ventricle); each value is
written once. A SEG whose frames do not name their source images gives an SR without outlines.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sr.codedict import codes

from heartprint._atomic import atomic_file
from heartprint.errors import InvalidInputError
from heartprint.measure import Measurement

__all__ = ["LOCAL_SCHEME", "NORMALITY", "UCUM_MEANINGS", "SRInfo", "build_sr", "concept_code", "unit_code", "write_sr"]

#: Private coding scheme for concepts with no verified standard code (PS3.16 §8.2: "99" prefix).
LOCAL_SCHEME = "99HEARTPRINT"
LOCAL_SCHEME_NAME = "heartprint measurement concepts"

#: heartprint unit string → (UCUM code, code meaning). Units follow UCUM (unitsofmeasure.org);
#: heartprint's "HU" is written as UCUM's ``[hnsf'U]`` (Hounsfield unit).
UCUM_MEANINGS: Mapping[str, tuple[str, str]] = {
    "mL": ("mL", "milliliter"),
    "mL/m2": ("mL/m2", "milliliter per square meter"),
    "g": ("g", "gram"),
    "g/m2": ("g/m2", "gram per square meter"),
    "%": ("%", "percent"),
    "ms": ("ms", "millisecond"),
    "s": ("s", "second"),
    "mm": ("mm", "millimeter"),
    "mm2": ("mm2", "square millimeter"),
    "cm2": ("cm2", "square centimeter"),
    "cm2/m2": ("cm2/m2", "square centimeter per square meter"),
    "mm3": ("mm3", "cubic millimeter"),
    "cm": ("cm", "centimeter"),
    "m2": ("m2", "square meter"),
    "kg": ("kg", "kilogram"),
    "mg": ("mg", "milligram"),
    "kg/m2": ("kg/m2", "kilogram per square meter"),
    "L/min": ("L/min", "liter per minute"),
    "L/min/m2": ("L/min/m2", "liter per minute per square meter"),
    "mL/s": ("mL/s", "milliliter per second"),
    "mL/min": ("mL/min", "milliliter per minute"),
    "mL/min/g": ("mL/min/g", "milliliter per minute per gram"),
    "/min": ("/min", "per minute"),
    "1": ("1", "no units"),
    "HU": ("[hnsf'U]", "Hounsfield unit"),
    "mm[Hg]": ("mm[Hg]", "millimeter of mercury"),
    "cm/s": ("cm/s", "centimeter per second"),
    "m/s": ("m/s", "meter per second"),
    "pg/mL": ("pg/mL", "picogram per milliliter"),
    "ng/L": ("ng/L", "nanogram per liter"),
    "pmol/L": ("pmol/L", "picomole per liter"),
    "mmol/L": ("mmol/L", "millimole per liter"),
    "umol/L": ("umol/L", "micromole per liter"),
    "mmol/mol": ("mmol/mol", "millimole per mole"),
    "mg/dL": ("mg/dL", "milligram per deciliter"),
    "g/dL": ("g/dL", "gram per deciliter"),
    "mL/min/{1.73_m2}": ("mL/min/{1.73_m2}", "milliliter per minute per 1.73 square meter"),
    "a": ("a", "year"),
}

#: Which SEG segment (by segment label, see :data:`heartprint.io.seg.SEGMENTS`) a measurement
#: describes, by its key. First matching rule wins; keys matching none go to the
#: non-ROI group (TID 1501).
_SEGMENT_OF: tuple[tuple[str, str], ...] = (
    ("lv_mass", "LV myocardium"),
    ("lv_wall_thickness", "LV myocardium"),
    ("lv_max_wall_thickness", "LV myocardium"),
    ("lv_", "LV cavity"),
    ("rv_", "RV cavity"),
)

#: Finding type (PS3.16 TID 1411 row 3) of each segment's group; SCT codes from pydicom's codedict.
_FINDING_TYPE = {
    "LV cavity": codes.SCT.LeftVentricle,
    "LV myocardium": codes.SCT.LeftVentricleMyocardium,
    "RV cavity": codes.SCT.RightVentricle,
}

#: Procedure Reported (TID 1500 row 4; CID 100 is extensible) by modality: SNOMED CT codes of
#: DICOM PS3.16 CID 3757 "Cardiac Diagnostic Procedures" as shipped in pydicom's code dictionary
#: (``codes.cid3757``): MR SCT 241620005 "Magnetic resonance imaging of heart" (CID 3757 "Cardiac
#: MRI"), CT SCT 241547009 "Cardiac CT", NM SCT 252432008 "Radionuclide myocardial perfusion
#: study", PT SCT 241439007 "PET heart study", US SCT 40701008 "Echocardiography". A CT report
#: whose measurements are all calcium scores (``cac_*``) gets SCT 426005005 "Cardiac CT for
#: calcium scoring" (:data:`_CT_CALCIUM`).
_PROCEDURE = {
    "MR": codes.SCT.MagneticResonanceImagingOfHeart,  # 241620005
    "CT": codes.cid3757.CardiacCT,  # 241547009
    "NM": codes.cid3757.RadionuclideMyocardialPerfusionStudy,  # 252432008
    "PT": codes.cid3757.PETHeartStudy,  # 241439007
    "US": codes.cid3757.Echocardiography,  # 40701008
}
_CT_CALCIUM = codes.cid3757.CardiacCTForCalciumScoring  # 426005005

#: ``Measurement.interpretation`` → Normality (TID 310 row 1, DICOM PS3.16 CID 222 "Normality"),
#: SNOMED CT codes from pydicom's PS3.16 code dictionary.
NORMALITY = {
    "low": codes.SCT.AbnormallyLow,  # 371880002
    "normal": codes.SCT.Normal,  # 17621005
    "high": codes.SCT.AbnormallyHigh,  # 371879000
}


@dataclass(frozen=True)
class SRInfo:
    """What :func:`write_sr` wrote."""

    path: Path | None
    sop_instance_uid: str
    series_instance_uid: str
    group_tracking_uids: dict[str, str]
    dataset: Dataset
    #: source header values normalised for the SR (:func:`heartprint.io.seg.export_headers`;
    #: ``source=`` only: with a SEG they are the SEG's notes)
    notes: tuple[str, ...] = ()


def _as_measurement(m: Measurement | Mapping[str, Any]) -> Measurement:
    if isinstance(m, Measurement):
        return m
    try:
        return Measurement.model_validate(dict(m))
    except Exception as exc:  # pydantic ValidationError
        raise InvalidInputError(f"measurement {dict(m).get('code', m)!r}: invalid ({exc})") from exc


def unit_code(unit: str, *, code: str = "<measurement>"):
    """UCUM coded concept of a heartprint unit string (``hd.sr.CodedConcept(value, "UCUM", meaning)``).

    Raises
    ------
    InvalidInputError
        ``unit`` is not in :data:`UCUM_MEANINGS`.
    """
    import highdicom as hd

    try:
        value, meaning = UCUM_MEANINGS[unit]
    except (KeyError, TypeError):
        raise InvalidInputError(
            f"measurement {code!r}: unit {unit!r} is not a known UCUM unit; expected one of {sorted(UCUM_MEANINGS)}"
        ) from None
    return hd.sr.CodedConcept(value, "UCUM", meaning)


def concept_code(m: Measurement):
    """Coded concept name of a measurement: the concept table's verified code, else a 99HEARTPRINT code.

    Returns
    -------
    (highdicom.sr.CodedConcept, bool)
        The code and whether it is a standard (LN/SCT/DCM) code.
    """
    import highdicom as hd

    from heartprint.concepts import CONCEPTS

    concept = CONCEPTS.get(m.code)
    coding = concept.coding_for(m.modality) if concept is not None else None
    if coding is not None:
        return hd.sr.CodedConcept(coding.value, coding.system, coding.meaning), True
    # (0008,0104) Code Meaning is LO (64 characters): ASCII spelling of symbols (… → ...), as range texts
    meaning = (_text(concept.name if concept is not None else m.name) or m.code)[:64]
    return hd.sr.CodedConcept(m.code, LOCAL_SCHEME, meaning), False


def _segment_for(code: str) -> str | None:
    for prefix, label in _SEGMENT_OF:
        if code.startswith(prefix):
            return label
    return None


def _finding_sites(m: Measurement) -> list[Any] | None:
    """TID 300 Finding Site (SCT 363698007) of a per-segment or per-vessel measurement.

    AHA segment: DICOM CID 3717; coronary vessel (and part): CID 3015/3014 — see
    :mod:`heartprint.anatomy.aha_codes`. ``None`` for a global measurement.
    """
    import highdicom as hd

    from heartprint.anatomy.aha_codes import segment_code, vessel_code

    if m.segment is not None:
        code = segment_code(m.segment)
    elif m.vessel is not None:
        code = vessel_code(m.vessel, m.vessel_segment)
    else:
        code = None
    if code is None:
        return None
    return [hd.sr.FindingSite(anatomic_location=hd.sr.CodedConcept(*code))]


#: Symbols of the range texts and local concept names spelt in ASCII, so that the SR keeps the default character set
#: (dsrdump's checker does not support ISO_IR 192).
_ASCII = str.maketrans({"±": "+/-", "–": "-", "—": "-", "≥": ">=", "≤": "<=", "²": "2", "³": "3", "µ": "u",
                        "·": ".", "×": "x", "’": "'", "‘": "'", "“": '"', "”": '"', "é": "e", "ö": "o", "ü": "u",
                        "…": "...", "→": "->", "′": "'"})


def report_description(about: str | None) -> str:
    """(0008,103E) Series Description of an SR: ``heartprint measurements: <analysed series>``, the
    analysed series' own description reduced to what LO allows (printable ASCII, no backslash; 64
    characters), or ``heartprint measurement report`` without one."""
    text = "".join(ch for ch in (_text(about) or "") if " " <= ch <= "~" and ch != "\\").strip()
    return f"heartprint measurements: {text}"[:64].rstrip() if text else "heartprint measurement report"


def _text(s: str | None) -> str | None:
    return s.translate(_ASCII) if s else None


def _properties(m: Measurement) -> Any:
    """TID 310 Measurement Properties (Normality, TID 312 Normal Range) of a measurement with a
    verdict or a reference range; ``None`` for a measurement with neither."""
    import highdicom as hd
    from highdicom.sr.enum import RelationshipTypeValues

    rr = m.reference_range
    limits = [(code, getattr(rr, key)) for key, code in (("low", codes.SCT.NormalRangeLowerLimit),
                                                         ("high", codes.SCT.NormalRangeUpperLimit))
              if rr is not None and getattr(rr, key) is not None]
    if m.interpretation is None and not limits:
        return None
    normal_range = None
    if limits:
        unit = unit_code(m.unit, code=m.code)
        values = [hd.sr.NumContentItem(name=code, value=float(v), unit=unit,
                                       relationship_type=RelationshipTypeValues.HAS_PROPERTIES) for code, v in limits]
        normal_range = hd.sr.NormalRangeProperties(values=values, description=_text(rr.population),
                                                   authority=_text(rr.reference))
    normality = NORMALITY[m.interpretation] if m.interpretation is not None else None
    return hd.sr.MeasurementProperties(normality=normality, normal_range_properties=normal_range)


#: Measurements that carry, TID 300 INFERRED FROM, the closed contour of their cavity on the mid-ventricular
#: slice at the phase(s) they were measured at (segment label, phases). The values are volumes summed over
#: every slice; the contour names one slice they were inferred from, where a viewer can show them.
CONTOURED: dict[str, tuple[str, tuple[str, ...]]] = {
    "lv_edv": ("LV cavity", ("ED",)), "lv_esv": ("LV cavity", ("ES",)),
    "lv_sv": ("LV cavity", ("ED", "ES")), "lv_ef": ("LV cavity", ("ED", "ES")),
    "rv_edv": ("RV cavity", ("ED",)), "rv_esv": ("RV cavity", ("ES",)),
    "rv_sv": ("RV cavity", ("ED", "ES")), "rv_ef": ("RV cavity", ("ED", "ES")),
}


@dataclass(frozen=True)
class KeyContour:
    """A cavity's outline on one source image: SCOORD pixel coordinates (column, row; (0, 0) the
    top-left corner of the top-left pixel, PS3.3 C.18.6.1.1), closed (first point = last)."""

    sop_class_uid: str
    sop_instance_uid: str
    frame: int | None  # Referenced Frame Number of a multi-frame source, else None
    points: np.ndarray  # (n, 2) float


def key_contours(seg_ds: Dataset, segments: Mapping[str, int]) -> dict[str, dict[str, KeyContour]]:
    """The ED and ES outline of each cavity segment of a heartprint SEG, on its mid-ventricular slice.

    ED and ES are the temporal positions of largest and smallest (non-zero) segment area summed
    over slices — the phases :func:`heartprint.cmr.analyze_cine_function` reports (max/min LV
    volume; RV by its own volumes). The slice is the middle one (by position along the stack) of
    those holding the segment at ED, and the same slice at ES (else the nearest that holds it).
    The outline is the longest iso-line at 0.5 of the frame's mask (scikit-image
    ``find_contours``). Returns ``{label: {"ED": KeyContour, "ES": ...}}``; a SEG whose frames do
    not name their source image (Derivation Image Sequence) gives ``{}``: the SR is then written
    without contours, its values unchanged.
    """
    from skimage.measure import find_contours

    wanted = {segments[label]: label for label in {v[0] for v in CONTOURED.values()} if label in segments}
    frames = getattr(seg_ds, "PerFrameFunctionalGroupsSequence", None)
    if not wanted or frames is None or "PixelData" not in seg_ds:
        return {}
    index: dict[int, list[tuple[int, int, float, Dataset]]] = {}  # segment -> (frame, t, position, source ref)
    normal = None
    for i, item in enumerate(frames):
        try:
            number = int(item.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
            if number not in wanted:
                continue
            ref = item.DerivationImageSequence[0].SourceImageSequence[0]
            position = np.array([float(v) for v in item.PlanePositionSequence[0].ImagePositionPatient])
            if normal is None:
                o = [float(v) for v in seg_ds.SharedFunctionalGroupsSequence[0].PlaneOrientationSequence[0]
                     .ImageOrientationPatient]
                normal = np.cross(o[:3], o[3:])
            fc = item.FrameContentSequence[0]
            t = int(fc.TemporalPositionIndex) if "TemporalPositionIndex" in fc else 1
        except (AttributeError, IndexError, KeyError, TypeError, ValueError):
            return {}  # a frame without its source image, position or orientation: no contours
        index.setdefault(number, []).append((i, t, round(float(np.dot(position, normal)), 3), ref))
    if not index:
        return {}
    pixels = seg_ds.pixel_array
    pixels = pixels[None] if pixels.ndim == 2 else pixels
    out: dict[str, dict[str, KeyContour]] = {}
    for number, entries in index.items():
        area: dict[int, int] = {}
        for i, t, _, _ in entries:
            area[t] = area.get(t, 0) + int(np.count_nonzero(pixels[i]))
        present = {t: a for t, a in area.items() if a > 0}
        if not present:
            continue
        ed = max(present, key=lambda t: (present[t], -t))
        es = min(present, key=lambda t: (present[t], t))
        phases = {"ED": ed} if ed == es else {"ED": ed, "ES": es}
        at_ed = sorted(d for i, t, d, _ in entries if t == ed and pixels[i].any())
        mid = at_ed[(len(at_ed) - 1) // 2]
        contours = {}
        for phase, t in phases.items():
            held = [(abs(d - mid), d, i, ref) for i, tt, d, ref in entries if tt == t and pixels[i].any()]
            _, _, i, ref = min(held, key=lambda x: (x[0], x[1]))
            mask = np.pad(pixels[i] > 0, 1).astype(np.float32)
            lines = find_contours(mask, 0.5)
            rc = max(lines, key=len) - 1.0  # back to the unpadded frame's (row, col) pixel indices
            points = np.stack([rc[:, 1] + 0.5, rc[:, 0] + 0.5], axis=1)  # pixel centre (r, c) is (c + .5, r + .5)
            rf = ref.get("ReferencedFrameNumber")
            frame = None if rf is None else int(rf[0] if isinstance(rf, (list, MultiValue)) else rf)
            contours[phase] = KeyContour(str(ref.ReferencedSOPClassUID), str(ref.ReferencedSOPInstanceUID), frame,
                                         points.round(2))
        out[wanted[number]] = contours
    return out


def _outlines(code: str, contours: Mapping[str, Mapping[str, KeyContour]]) -> list[Any] | None:
    """TID 300 ``INFERRED FROM`` TID 320 SCOORD (``SELECTED FROM`` its source image): the cavity
    outlines of a :data:`CONTOURED` measurement, when the SEG gave them; else ``None``."""
    import highdicom as hd

    label, phases = CONTOURED.get(code, (None, ()))
    found = [contours[label][p] for p in phases if label in contours and p in contours[label]]
    return [hd.sr.CoordinatesForMeasurement(
        graphic_type=hd.sr.GraphicTypeValues.POLYLINE, graphic_data=c.points,
        source_image=hd.sr.SourceImageForRegion(c.sop_class_uid, c.sop_instance_uid,
                                                referenced_frame_numbers=[c.frame] if c.frame is not None else None))
        for c in found] or None


def _outline_evidence(seg_ds: Dataset, contours: Mapping[str, Mapping[str, KeyContour]]) -> list[Dataset]:
    """The source images the outlines are SELECTED FROM, as evidence (PS3.3 C.17.2.3): the SEG's study
    and its source series, which they belong to (the SEG's frames name them)."""
    seen: dict[str, Dataset] = {}
    for phases in contours.values():
        for c in phases.values():
            ds = Dataset()
            ds.SOPClassUID, ds.SOPInstanceUID = c.sop_class_uid, c.sop_instance_uid
            ds.StudyInstanceUID = seg_ds.StudyInstanceUID
            ds.SeriesInstanceUID = seg_ds.ReferencedSeriesSequence[0].SeriesInstanceUID
            seen.setdefault(c.sop_instance_uid, ds)
    return list(seen.values())


def _seg_dataset(seg: Any) -> Dataset:
    if isinstance(seg, Dataset):
        return seg
    if hasattr(seg, "dataset"):
        return seg.dataset
    try:
        return pydicom.dcmread(seg)
    except Exception as exc:
        raise InvalidInputError(f"seg={seg!r}: cannot be read as a DICOM SEG ({exc})") from exc


#: What every source header must carry to be evidence and to give the SR its study (PS3.3 C.12.1, C.7.2.1).
_SOURCE_REQUIRED = ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")


def _source_datasets(source: Any) -> tuple[list[Dataset], list[str]]:
    """The analysed series' source headers (Datasets or files), checked and normalised for the SR
    (:func:`heartprint.io.seg.export_headers`), and the notes on what was normalised."""
    from heartprint.io.seg import _read_sources, export_headers

    if isinstance(source, (Dataset, str, os.PathLike)):
        source = [source]
    try:
        items = list(source)
    except TypeError:
        raise InvalidInputError(
            f"source={source!r}: expected a list of the source DICOM headers (pydicom Datasets)") from None
    if not items:
        raise InvalidInputError("source is empty: expected the source DICOM headers of the analysed series")
    datasets = _read_sources(items)
    for i, ds in enumerate(datasets):
        missing = [kw for kw in _SOURCE_REQUIRED if not str(ds.get(kw, "") or "").strip()]
        if missing:
            raise InvalidInputError(f"source[{i}] ({ds.get('SOPInstanceUID', 'no SOP Instance UID')}): "
                                    f"{', '.join(missing)} missing; expected a DICOM image header")
    return export_headers(datasets)


def _default_procedure(modality: str, ms: list[Measurement]) -> Any:
    if modality == "CT" and all(m.code.startswith("cac_") for m in ms):
        return _CT_CALCIUM
    return _PROCEDURE.get(modality)


def build_sr(
    measurements: Iterable[Measurement | Mapping[str, Any]],
    *,
    seg: Any = None,
    source: Any = None,
    modality: str | None = None,
    procedure_reported: Any = None,
    series_number: int = 901,
    device_uid: str | None = None,
) -> tuple[Dataset, dict[str, str]]:
    """Build (without writing) the TID 1500 Measurement Report; see :func:`write_sr`."""
    sr, tracking, _ = _build(measurements, seg=seg, source=source, modality=modality,
                             procedure_reported=procedure_reported, series_number=series_number, device_uid=device_uid)
    return sr, tracking


def _build(
    measurements: Iterable[Measurement | Mapping[str, Any]],
    *,
    seg: Any,
    source: Any,
    modality: str | None,
    procedure_reported: Any,
    series_number: int,
    device_uid: str | None,
    about: str | None = None,
) -> tuple[Dataset, dict[str, str], list[str]]:
    import highdicom as hd

    from heartprint import __version__

    if (seg is None) == (source is None):
        raise InvalidInputError("pass exactly one of seg= (the DICOM SEG the measurements were derived from) "
                                "or source= (the analysed series' source DICOM headers)"
                                + ("; got both" if seg is not None else "; got neither"))
    ms = [_as_measurement(m) for m in measurements]
    if not ms:
        raise InvalidInputError("measurements is empty: nothing to report")
    notes: list[str] = []
    if seg is not None:
        seg_ds = read = _seg_dataset(seg)  # read once: ``read`` keeps the pixel frames for the outlines
        if isinstance(seg_ds, Dataset):
            from heartprint.io.seg import export_headers

            # the SR copies the patient and study from the SEG: a SEG written elsewhere may carry
            # values highdicom refuses (PatientSex 'U', StudyDate '2023-04-15'); use valid ones
            seg_ds = export_headers([seg_ds])[0][0]
        if getattr(seg_ds, "Modality", None) != "SEG":
            raise InvalidInputError(f"seg {getattr(seg_ds, 'SOPInstanceUID', seg)}: Modality {getattr(seg_ds, 'Modality', None)!r}, expected 'SEG'")
        segments = {str(s.SegmentLabel): int(s.SegmentNumber) for s in seg_ds.SegmentSequence}
        try:
            contours = key_contours(read, segments)
        except (AttributeError, IndexError, KeyError, TypeError, ValueError):
            contours = {}  # a SEG whose frames cannot be read back: the values, without outlines
        source_series = str(seg_ds.ReferencedSeriesSequence[0].SeriesInstanceUID)
        evidence = [seg_ds, *_outline_evidence(seg_ds, contours)]
        modality = modality or "MR"
    else:
        evidence, notes = _source_datasets(source)
        segments, contours = {}, {}
        modality = modality or str(evidence[0].get("Modality", "") or "")
    procedure = procedure_reported or _default_procedure(modality, ms)
    if procedure is None:
        raise InvalidInputError(f"modality={modality!r}: no default Procedure Reported (known: {sorted(_PROCEDURE)}); "
                                "pass procedure_reported (a CID 100 code)")

    groups: dict[str | None, list[Any]] = {}
    for m in ms:
        if not math.isfinite(m.value):
            raise InvalidInputError(f"measurement {m.code!r}: value {m.value!r} is not finite")
        name, _ = concept_code(m)
        outlines = _outlines(m.code, contours)
        # a value with outlines is also INFERRED FROM the SEG it was measured on (TID 320 IMAGE)
        from_seg = [hd.sr.SourceImageForMeasurement(seg_ds.SOPClassUID, seg_ds.SOPInstanceUID)] if outlines else None
        item = hd.sr.Measurement(name=name, value=float(m.value), unit=unit_code(m.unit, code=m.code),
                                 finding_sites=_finding_sites(m), properties=_properties(m),
                                 referenced_images=from_seg, referenced_coordinates=outlines)
        label = _segment_for(m.code)
        if outlines:  # TID 1411 forbids coordinates in its measurements: a TID 1501 group of its own
            key = f"{label} volumes"
        elif seg is not None:
            key = label if label in segments else None
        else:  # no SEG: the structure's TID 1501 group; an AHA segment is a segment of the LV myocardium
            key = label or ("LV myocardium" if m.segment is not None else None)
        groups.setdefault(key, []).append(item)

    algo = hd.sr.AlgorithmIdentification(name="heartprint", version=__version__)
    tracking: dict[str, str] = {}
    content = []
    # groups with outlines first: a viewer opening the SR shows its first measurement (OHIF v3 does)
    for label, items in sorted(groups.items(), key=lambda kv: not (kv[0] or "").endswith(" volumes")):
        uid = hd.UID()
        key = label or "study"
        tracking[key] = str(uid)
        tid = hd.sr.TrackingIdentifier(uid=uid, identifier=f"heartprint {key} measurements")
        if label is None or seg is None or label not in segments:
            finding = _FINDING_TYPE.get((label or "").removesuffix(" volumes"), codes.SCT.Heart)
            content.append(hd.sr.MeasurementsAndQualitativeEvaluations(
                tracking_identifier=tid, finding_type=finding,
                algorithm_id=algo, measurements=items))
        else:
            ref = hd.sr.ReferencedSegment(
                sop_class_uid=seg_ds.SOPClassUID, sop_instance_uid=seg_ds.SOPInstanceUID,
                segment_number=segments[label], source_series=hd.sr.SourceSeriesForSegmentation(source_series))
            content.append(hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(
                tracking_identifier=tid, referenced_segment=ref, finding_type=_FINDING_TYPE[label],
                algorithm_id=algo, measurements=items))

    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=device_uid or hd.UID(), name="heartprint", manufacturer_name="heartprint",
            model_name="heartprint", serial_number=__version__),
    )
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=observer),
        procedure_reported=procedure,
        imaging_measurements=content,
    )
    texts = [_text(t) or "" for m in ms if m.reference_range is not None
             for t in (m.reference_range.population, m.reference_range.reference)]
    # (0008,0005): the evidence's (SEG or first source), unless a range's text needs more than ASCII; then UTF-8
    charset = {"specific_character_set": "ISO_IR 192"} if any(not t.isascii() for t in texts) else {}
    try:
        sr = hd.sr.Comprehensive3DSR(
            evidence=evidence,
            content=report[0],
            series_instance_uid=hd.UID(),
            series_number=int(series_number),
            sop_instance_uid=hd.UID(),
            instance_number=1,
            manufacturer="heartprint",
            is_complete=True,
            is_final=False,
            is_verified=False,
            series_description=report_description(about),
            **charset,
        )
    except (ValueError, TypeError, AttributeError) as exc:  # highdicom refusing a source header's value
        if seg is not None:
            raise
        raise InvalidInputError(
            f"source series {evidence[0].SeriesInstanceUID}: its headers cannot make an SR ({exc})") from exc
    scheme = Dataset()
    scheme.CodingSchemeDesignator = LOCAL_SCHEME
    scheme.CodingSchemeName = LOCAL_SCHEME_NAME
    scheme.CodingSchemeResponsibleOrganization = "heartprint project"
    scheme.CodingSchemeVersion = __version__
    sr.CodingSchemeIdentificationSequence = [scheme]
    return sr, tracking, notes


def write_sr(
    measurements: Iterable[Measurement | Mapping[str, Any]],
    out_path: str | os.PathLike,
    *,
    seg: Any = None,
    source: Any = None,
    modality: str | None = None,
    procedure_reported: Any = None,
    series_number: int = 901,
    about: str | None = None,
) -> SRInfo:
    """Write measurements as a DICOM TID 1500 Measurement Report, on a SEG or on the source series.

    Parameters
    ----------
    measurements
        :class:`~heartprint.measure.Measurement` objects or their dicts (e.g.
        ``SeriesAnalysis.result["measurements"]``).
    out_path
        File to write (temporary file beside it, then moved into place).
    seg
        The SEG the measurements were derived from: a :class:`~heartprint.io.seg.SegInfo`,
        its dataset or its file. It supplies the patient/study (the SR joins its study),
        the Referenced Segment of each ROI group (TID 1411) and the evidence (PS3.3 C.17.2.3
        Current Requested Procedure Evidence Sequence).
    source
        Instead of ``seg`` (exactly one of the two): the analysed series' source DICOM headers
        (pydicom Datasets, as :attr:`heartprint.results.SeriesResult.source_headers` holds, or
        their files). The first supplies the patient and study; every source instance is
        evidence (its SOP Class/Instance UID, by study and series); every measurement goes
        into a TID 1501 group without a Referenced Segment (module docstring).
    modality
        Selects the default Procedure Reported (:data:`_PROCEDURE`: MR, CT, NM, PT, US).
        ``None``: the first source's (0008,0060) Modality, or ``"MR"`` with a SEG. Concept codes
        follow each measurement's own ``modality``.
    procedure_reported
        A CID 100 code overriding the default.
    series_number
        (0020,0011) of the SR series.
    about
        The analysed series' description, named in the SR's (0008,103E) Series Description
        (:func:`report_description`) so that a reader tells one study's SRs apart in a viewer.

    Returns
    -------
    SRInfo
        ``notes``: the source header values normalised for the SR (``source=`` only).

    Raises
    ------
    InvalidInputError
        Unknown unit (not in :data:`UCUM_MEANINGS`), non-finite value, invalid measurement,
        empty list, both or neither of ``seg``/``source``, a ``seg`` that is not a SEG, a
        source header without SOP Class/Instance, Study or Series UID, or a modality
        without a default Procedure Reported.

    Notes
    -----
    DICOM PS3.16 TID 1500 (Measurement Report), TID 1411 (Volumetric ROI Measurements),
    TID 1501 (Measurement and Qualitative Evaluation Group), TID 300 (Measurement),
    TID 4108 (Tracking Identifier); PS3.3 A.35.13 Comprehensive 3D SR IOD. Units: UCUM
    (PS3.16 §8 "Coding Schemes", designator ``UCUM``).
    """
    sr, tracking, notes = _build(measurements, seg=seg, source=source, modality=modality,
                                 procedure_reported=procedure_reported, series_number=series_number, device_uid=None,
                                 about=about)
    out = Path(out_path)
    with atomic_file(out) as tmp:
        sr.save_as(tmp, enforce_file_format=True)
    return SRInfo(out, str(sr.SOPInstanceUID), str(sr.SeriesInstanceUID), tracking, sr, tuple(notes))

"""Echo phantoms as DICOM: an apical B-mode cine (US Multi-frame) and a vendor-style echo SR (TID 5200).

:func:`write_echo_cine_dicom` writes a :class:`~heartprint.phantoms._echo_speckle.SpeckleCine` as one
Ultrasound Multi-frame Image (SOP class 1.2.840.10008.5.1.4.1.1.3.1, PS3.3 A.7): 8-bit MONOCHROME2
frames, the Cine and Multi-frame modules with (0018,1063) Frame Time (ms) as the frame increment
pointer, the US Region Calibration module with one 2-D tissue region whose (0018,602C)/(0018,602E)
Physical Delta X/Y are the pixel size in cm (units code 3), and the view in (0054,0220) View Code
Sequence (DICOM CID 12226: SCT 399214001 "Apical four chamber", 399232001 "Apical two chamber",
399339008 "Apical long axis").

:func:`write_vendor_echo_sr` writes a TID 5200 Adult Echocardiography Procedure Report in the
nesting of one vendor (``style="ge"``: TID 5203 measurement groups with a value marked "Mean value
chosen"; ``style="philips"``: flat, each value written twice). With ``contours`` the LV volumes
traced on the cine (Method of Disks, Single Plane; end diastole and end systole) are written as NUMs
each INFERRED FROM a SCOORD POLYLINE (the endocardial tracing, image pixel coordinates, PS3.3
C.18.6) SELECTED FROM the traced frame of the cine, and the cine is listed in (0040,A375) Current
Requested Procedure Evidence Sequence — how an echo machine stores the tracing behind a volume
(TID 300 row "INFERRED FROM" TID 320). Every code is a DICOM PS3.16 one as shipped in pydicom's
concept dictionary; nothing is invented.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence as Seq

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from heartprint.errors import InvalidInputError

__all__ = [
    "COMPREHENSIVE_SR", "DEFAULT_VALUES", "ENHANCED_SR", "IMAGE_MODES", "QUANTITIES", "SITES", "SPREAD",
    "US_MULTIFRAME", "VIEW_CODES", "SRContour", "EchoPatient", "write_echo_cine_dicom", "write_vendor_echo_sr",
]

ENHANCED_SR = "1.2.840.10008.5.1.4.1.1.88.22"
COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
US_MULTIFRAME = "1.2.840.10008.5.1.4.1.1.3.1"

#: View → (SCT code, meaning) of DICOM CID 12226 "Echocardiography Image View" (pydicom codes.cid12226).
VIEW_CODES: dict[str, tuple[str, str]] = {
    "A4C": ("399214001", "Apical four chamber"),
    "A2C": ("399232001", "Apical two chamber"),
    "A3C": ("399339008", "Apical long axis"),
}

# Sections: key → (SCT code, meaning) of the finding site.
SITES: dict[str, tuple[str, str]] = {
    "lv": ("87878005", "Left ventricle"),
    "la": ("82471001", "Left atrium"),
    "mv": ("91134007", "Mitral Valve"),
    "av": ("34202007", "Aortic Valve"),
    "tv": ("46030003", "Tricuspid valve"),
    "rv": ("53085002", "Right ventricle"),
    "lvot": ("13418002", "Left ventricle outflow tract"),
    "medial_ma": ("399093001", "Medial Mitral Annulus"),
    "lateral_ma": ("399086000", "Lateral Mitral Annulus"),
}

#: key → (section, scheme, code, meaning, UCUM unit as written, image mode key or None, own site or None)
QUANTITIES: dict[str, tuple[str, str, str, str, str, str | None, str | None]] = {
    "lvidd": ("lv", "LN", "29436-3", "Left Ventricle Internal End Diastolic Dimension", "cm", "2d", None),
    "ivsd": ("lv", "LN", "18154-5", "Interventricular Septum Diastolic Thickness", "cm", "2d", None),
    "lvpwd": ("lv", "LN", "18152-9", "Left Ventricle Posterior Wall Diastolic Thickness", "cm", "2d", None),
    "lvef": ("lv", "LN", "18043-0", "Left Ventricular Ejection Fraction by US", "%", "2d", None),
    "lvedv": ("lv", "LN", "18026-5", "Left Ventricular End Diastolic Volume", "mL", "2d", None),
    "septal_e_prime": ("lv", "SCT", "399133000", "Left Ventricular Peak Early Diastolic Tissue Velocity",
                       "cm/s", "tdi", "medial_ma"),
    "lateral_e_prime": ("lv", "SCT", "399133000", "Left Ventricular Peak Early Diastolic Tissue Velocity",
                        "cm/s", "tdi", "lateral_ma"),
    "e_e_prime": ("lv", "LN", "59111-5", "E Velocity to Annulus E Velocity Ratio", "{ratio}", None, None),
    "la_volume": ("la", "SCT", "399235004", "Left Atrium Systolic Volume", "mL", "2d", None),
    "lavi": ("la", "LN", "79984-1", "Left atrial end systolic volume biplane (MOD) / BSA", "mL/m2", "2d", None),
    "mitral_e": ("mv", "LN", "18037-2", "Mitral Valve E-Wave Peak Velocity", "cm/s", "pw", None),
    "mitral_a": ("mv", "LN", "17978-8", "Mitral Valve A-Wave Peak Velocity", "cm/s", "pw", None),
    "mitral_e_a": ("mv", "LN", "18038-0", "Mitral Valve E to A Ratio", "{ratio}", "pw", None),
    "av_vmax": ("av", "LN", "20355-4", "Peak Blood Velocity", "m/s", "cw", None),
    "av_mean_gradient": ("av", "LN", "20256-4", "Mean Gradient", "mm[Hg]", "cw", None),
    "lvot_diameter": ("av", "SCT", "399027007", "Cardiovascular Orifice Diameter", "cm", "2d", "lvot"),
    "lvot_vti": ("av", "LN", "20354-7", "Velocity Time Integral", "cm", "pw", "lvot"),
    "tr_vmax": ("tv", "LN", "79921-3", "Tricuspid regurgitation Vmax", "cm/s", "cw", None),
    "tapse": ("rv", "LN", "77903-3", "Tricuspid Annular Plane Systolic Excursion (TAPSE)", "cm", "mm", None),
}

IMAGE_MODES: dict[str, tuple[str, str]] = {
    "2d": ("399064001", "2D mode"), "mm": ("399155008", "M mode"), "pw": ("261199008", "Doppler Pulsed"),
    "cw": ("261198000", "Doppler Continuous Wave"), "tdi": ("439858009", "Tissue Doppler Imaging"),
}

#: Values (as written, unit of QUANTITIES) used by default; chosen so that value ± 0.5·spread are exact.
DEFAULT_VALUES: dict[str, float] = {
    "lvidd": 4.75, "ivsd": 1.25, "lvpwd": 1.0, "lvef": 55.0, "lvedv": 120.0, "septal_e_prime": 6.5,
    "lateral_e_prime": 9.5, "e_e_prime": 10.5, "la_volume": 60.0, "lavi": 32.0, "mitral_e": 80.0,
    "mitral_a": 60.0, "mitral_e_a": 1.25, "av_vmax": 2.5, "av_mean_gradient": 16.0, "lvot_diameter": 2.0,
    "lvot_vti": 20.0, "tr_vmax": 275.0, "tapse": 2.25,
}
SPREAD = 0.25  # repeats are value ± SPREAD (exact in binary for the defaults)

_PHASES = {"ED": ("416190007", "End diastole"), "ES": ("416430001", "End Systole")}
#: LV volume NUM per phase (LOINC, pydicom CID 12200): 18026-5 LV EDV, 18148-7 LV ESV.
_LV_VOLUME = {"ED": ("18026-5", "Left Ventricular End Diastolic Volume"),
              "ES": ("18148-7", "Left Ventricular End Systolic Volume")}


@dataclass(frozen=True)
class EchoPatient:
    """Who and which study the echo files belong to (DICOM values as written)."""

    patient_name: str = "ECHO^TEST"
    patient_id: str = "ECHO001"
    patient_sex: str = "O"
    patient_age: str = ""
    study_uid: str = ""
    study_date: str = "20260101"
    study_time: str = "120000"


@dataclass(frozen=True)
class SRContour:
    """An endocardial tracing to write into the SR: ``points_yx_mm`` (``(N, 2)``, ``(y, x)`` mm from the
    centre of pixel (0, 0), open: septal hinge → apex → lateral hinge), the traced ``frame`` (0-based), its
    ``phase`` (``"ED"``/``"ES"``), the ``view``, the cine's SOP Class/Instance UIDs and pixel ``spacing_mm``
    ``(dy, dx)``, and ``volume_ml`` written as the NUM's value (single-plane method of discs)."""

    points_yx_mm: Any
    frame: int
    phase: str
    view: str
    sop_class_uid: str
    sop_instance_uid: str
    series_uid: str
    spacing_mm: tuple[float, float]
    volume_ml: float


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    ds = Dataset()
    ds.CodeValue = value
    ds.CodingSchemeDesignator = scheme
    ds.CodeMeaning = meaning
    return ds


def _item(rel: str, vtype: str, name: tuple[str, str, str] | None) -> Dataset:
    ds = Dataset()
    ds.RelationshipType = rel
    ds.ValueType = vtype
    if name is not None:
        ds.ConceptNameCodeSequence = Sequence([_code(*name)])
    return ds


def _container(rel: str, name: tuple[str, str, str], children: list[Dataset]) -> Dataset:
    ds = _item(rel, "CONTAINER", name)
    ds.ContinuityOfContent = "SEPARATE"
    ds.ContentSequence = Sequence(children)
    return ds


def _codeitem(name: tuple[str, str, str], value: tuple[str, str, str]) -> Dataset:
    ds = _item("HAS CONCEPT MOD", "CODE", name)
    ds.ConceptCodeSequence = Sequence([_code(*value)])
    return ds


_FINDING_SITE = ("363698007", "SCT", "Finding Site")
_IMAGE_MODE = ("399264008", "SCT", "Image Mode")
_SELECTION = ("121404", "DCM", "Selection Status")
_METHOD = ("370129005", "SCT", "Measurement Method")
_CYCLE = ("272518008", "SCT", "Cardiac Phase")
_VIEW = ("111031", "DCM", "Image View")


def _site(key: str) -> Dataset:
    v, m = SITES[key]
    return _codeitem(_FINDING_SITE, (v, "SCT", m))


def _num(scheme: str, code: str, meaning: str, value: float | None, unit: str,
         mods: list[Dataset]) -> Dataset:
    ds = _item("CONTAINS", "NUM", (code, scheme, meaning))
    ucum_meaning = {"{ratio}": "ratio", "mm[Hg]": "mmHg", "{H.B.}/min": "BPM"}.get(unit, unit)
    if value is not None:
        mv = Dataset()
        mv.MeasurementUnitsCodeSequence = Sequence([_code(unit, "UCUM", ucum_meaning)])
        mv.NumericValue = f"{value:.10g}"
        ds.MeasuredValueSequence = Sequence([mv])
    else:  # a NUM with no value: the Numeric Value Qualifier says why (DICOM PS3.3 C.18.1)
        ds.MeasuredValueSequence = Sequence([])
        ds.NumericValueQualifierCodeSequence = Sequence([_code("114006", "DCM", "Measurement failure")])
    if mods:
        ds.ContentSequence = Sequence(mods)
    return ds


def _mods(key: str, *, selected: bool) -> list[Dataset]:
    _, _, _, _, _, mode, own_site = QUANTITIES[key]
    out: list[Dataset] = []
    if own_site:
        out.append(_site(own_site))
    if mode:
        v, m = IMAGE_MODES[mode]
        out.append(_codeitem(_IMAGE_MODE, (v, "SCT", m)))
    if selected:
        out.append(_codeitem(_SELECTION, ("121412", "DCM", "Mean value chosen")))
    return out


def _traced_volume(c: SRContour) -> Dataset:
    """LV volume NUM (single-plane discs, view, phase) INFERRED FROM the SCOORD tracing on its frame."""
    if c.phase not in _PHASES or c.view not in VIEW_CODES:
        raise InvalidInputError(f"contour phase={c.phase!r}, view={c.view!r}: expected ED/ES and one of {sorted(VIEW_CODES)}")
    pts = np.asarray(c.points_yx_mm, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] < 3:
        raise InvalidInputError(f"contour points of shape {pts.shape}: expected (N, 2) mm with N >= 3")
    dy, dx = c.spacing_mm
    # SCOORD: (column, row) image coordinates, (0, 0) = top left corner of the top left pixel (PS3.3 C.18.6.1.1)
    xy = np.stack([pts[:, 1] / dx + 0.5, pts[:, 0] / dy + 0.5], axis=1)
    sc = _item("INFERRED FROM", "SCOORD", None)
    sc.GraphicType = "POLYLINE"
    sc.GraphicData = [float(v) for v in xy.ravel()]
    img = _item("SELECTED FROM", "IMAGE", None)
    ref = Dataset()
    ref.ReferencedSOPClassUID = c.sop_class_uid
    ref.ReferencedSOPInstanceUID = c.sop_instance_uid
    ref.ReferencedFrameNumber = str(int(c.frame) + 1)
    img.ReferencedSOPSequence = Sequence([ref])
    sc.ContentSequence = Sequence([img])
    code, meaning = _LV_VOLUME[c.phase]
    mods = [_codeitem(_IMAGE_MODE, ("399064001", "SCT", "2D mode")),
            _codeitem(_METHOD, ("125208", "DCM", "Method of Disks, Single Plane")),
            _codeitem(_CYCLE, (*_PHASES[c.phase][:1], "SCT", _PHASES[c.phase][1])),
            _codeitem(_VIEW, (VIEW_CODES[c.view][0], "SCT", VIEW_CODES[c.view][1]))]
    num = _num("LN", code, meaning, round(float(c.volume_ml), 2), "mL", mods)
    num.ContentSequence.append(sc)
    return num


def _base_dataset(sop_class: str, modality: str, who: EchoPatient, series_uid: str, series_number: int,
                  manufacturer: str) -> Dataset:
    ds = Dataset()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = "1.2.826.0.1.3680043.10.1519.1"
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.Modality = modality
    ds.PatientName = who.patient_name
    ds.PatientID = who.patient_id
    ds.PatientBirthDate = ""
    ds.PatientSex = who.patient_sex
    if who.patient_age:
        ds.PatientAge = who.patient_age
    ds.StudyInstanceUID = who.study_uid or generate_uid()
    ds.SeriesInstanceUID = series_uid
    ds.StudyDate = ds.ContentDate = who.study_date
    ds.StudyTime = ds.ContentTime = who.study_time
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.StudyID = "1"
    ds.SeriesNumber = series_number
    ds.InstanceNumber = 1
    ds.Manufacturer = manufacturer
    return ds


def write_vendor_echo_sr(path: str | Path, *, style: str = "ge", values: Mapping[str, float] | None = None,
                         repeats: bool = True, extra_unknown: bool = False, malformed: bool = False,
                         sop_class: str = ENHANCED_SR, spread: float = SPREAD, patient: EchoPatient | None = None,
                         contours: Seq[SRContour] = (), series_number: int = 1) -> Path:
    """Write a TID 5200 echo SR in the ``style`` of one vendor to ``path``; returns the path.

    ``values`` (default :data:`DEFAULT_VALUES`) are the *chosen* values in the units of
    :data:`QUANTITIES`. With ``repeats``: GE style writes ``v - spread``, ``v + spread`` and then
    ``v`` marked "Mean value chosen"; Philips style writes ``v - spread`` and ``v + spread`` (mean ``v``).
    ``contours``: LV tracings on a cine, each written as its LV volume NUM inferred from the SCOORD
    (module docstring). ``patient``: identity and study (default: a test patient, a new study UID).
    """
    if style not in ("ge", "philips"):
        raise ValueError(f"style={style!r}: expected 'ge' or 'philips'")
    who = patient or EchoPatient()
    vals = dict(DEFAULT_VALUES if values is None else values)
    sections: dict[str, list[Dataset]] = {}
    for key, v in vals.items():
        sec, scheme, code, meaning, unit, _, _ = QUANTITIES[key]
        items: list[Dataset] = []
        if repeats:
            items += [_num(scheme, code, meaning, v - spread, unit, _mods(key, selected=False)),
                      _num(scheme, code, meaning, v + spread, unit, _mods(key, selected=False))]
            if style == "ge":
                items.append(_num(scheme, code, meaning, v, unit, _mods(key, selected=True)))
        else:
            items.append(_num(scheme, code, meaning, v, unit, _mods(key, selected=False)))
        if style == "ge":
            items = [_container("CONTAINS", ("125007", "DCM", "Measurement Group"), items)]
        sections.setdefault(sec, []).extend(items)
    for c in contours:
        traced = [_traced_volume(c)]
        if style == "ge":
            traced = [_container("CONTAINS", ("125007", "DCM", "Measurement Group"), traced)]
        sections.setdefault("lv", []).extend(traced)
    if extra_unknown:  # Aortic root diameter written with a code this reader does not map
        sections.setdefault("av", []).append(
            _num("LN", "18015-8", "Aortic Root Diameter", 3.1, "cm", []))
    if malformed:
        sections.setdefault("lv", []).append(
            _num("LN", "29438-9", "Left Ventricle Internal Systolic Dimension", None, "cm", []))
        sections["lv"].append(_num("LN", "18087-7", "Left Ventricle Mass", 150.0, "[stone_av]", []))

    section_names = {"lv": "Left Ventricle", "la": "Left Atrium", "mv": "Mitral Valve", "av": "Aortic Valve",
                     "tv": "Tricuspid Valve", "rv": "Right Ventricle"}
    content: list[Dataset] = [
        _codeitem(("121049", "DCM", "Language of Content Item and Descendants"), ("en", "RFC5646", "English")),
        _container("CONTAINS", ("121118", "DCM", "Patient Characteristics"), [
            _num("LN", "8867-4", "Heart rate", 62.0, "{H.B.}/min", [])]),
    ]
    for sec in ("lv", "la", "mv", "av", "tv", "rv"):
        if sec not in sections:
            continue
        v, m = SITES[sec]
        children = [_site(sec)] + sections[sec]
        # TID 5202 Echo Section: container named by the section (here the site's own code)
        content.append(_container("CONTAINS", (v, "SCT", section_names[sec]), children))

    manufacturer = {"ge": "GE Vingmed Ultrasound", "philips": "Philips Medical Systems"}[style]
    ds = _base_dataset(sop_class, "SR", who, generate_uid(), series_number, manufacturer)
    ds.ReferencedPerformedProcedureStepSequence = Sequence([])
    ds.PerformedProcedureCodeSequence = Sequence([])
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = Sequence([_code("125200", "DCM", "Adult Echocardiography Procedure Report")])
    ds.ContinuityOfContent = "SEPARATE"
    tmpl = Dataset()
    tmpl.MappingResource = "DCMR"
    tmpl.TemplateIdentifier = "5200"
    ds.ContentTemplateSequence = Sequence([tmpl])
    ds.ContentSequence = Sequence(content)
    if contours:  # the traced images, by study and series (PS3.3 C.17.2.3), required once an item references them
        by_series: dict[str, dict[str, str]] = {}
        for c in contours:
            by_series.setdefault(c.series_uid, {})[c.sop_instance_uid] = c.sop_class_uid
        series_items = []
        for suid, sops in by_series.items():
            s = Dataset()
            s.SeriesInstanceUID = suid
            refs = []
            for iuid, cuid in sops.items():
                r = Dataset()
                r.ReferencedSOPClassUID, r.ReferencedSOPInstanceUID = cuid, iuid
                refs.append(r)
            s.ReferencedSOPSequence = Sequence(refs)
            series_items.append(s)
        st = Dataset()
        st.StudyInstanceUID = ds.StudyInstanceUID
        st.ReferencedSeriesSequence = Sequence(series_items)
        ds.CurrentRequestedProcedureEvidenceSequence = Sequence([st])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def write_echo_cine_dicom(images: Any, spacing_mm: tuple[float, float], frame_rate_hz: float, path: str | os.PathLike,
                          *, view: str | None = "A4C", patient: EchoPatient | None = None,
                          series_description: str | None = None, series_number: int = 1,
                          heart_rate_bpm: float | None = None) -> Dataset:
    """Write a B-mode cine ``images`` (``(t, y, x)`` in [0, 1]) as one Ultrasound Multi-frame Image.

    ``spacing_mm`` ``(dy, dx)`` goes into the US region's Physical Delta Y/X (cm); ``frame_rate_hz`` into
    (0018,1063) Frame Time = 1000 / rate ms and (0018,0040) Cine Rate; ``view`` into (0054,0220) View Code
    Sequence (``None``: not written) and, by default, the series description. Returns the dataset written
    (its SOP Instance UID is what an SR tracing references).
    """
    arr = np.asarray(images, dtype=float)
    if arr.ndim != 3 or arr.shape[0] < 2 or not np.all(np.isfinite(arr)):
        raise InvalidInputError(f"images of shape {arr.shape}: expected (t >= 2, y, x) finite values in [0, 1]")
    if view is not None and view not in VIEW_CODES:
        raise InvalidInputError(f"view={view!r}: expected one of {sorted(VIEW_CODES)} or None")
    dy, dx = (float(v) for v in spacing_mm)
    if not (dy > 0 and dx > 0 and frame_rate_hz > 0):
        raise InvalidInputError(f"spacing_mm={spacing_mm!r}, frame_rate_hz={frame_rate_hz!r}: expected > 0")
    who = patient or EchoPatient()
    n_t, ny, nx = arr.shape
    ds = _base_dataset(US_MULTIFRAME, "US", who, generate_uid(), series_number, "heartprint")
    # values 3-4 (body region, imaging mode; PS3.3 C.8.5.6.1.1) not written: value 3 has no cardiac defined term
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.InstitutionName = "heartprint synthetic phantom"
    ds.ManufacturerModelName = "speckle phantom"
    ds.StudyDescription = "Echocardiogram (phantom)"
    ds.SeriesDescription = series_description if series_description is not None else f"{view or ''} 2D".strip()
    ds.BodyPartExamined = "HEART"
    ds.SeriesDate, ds.SeriesTime = who.study_date, who.study_time
    ds.AcquisitionDateTime = who.study_date + who.study_time
    ds.LossyImageCompression = "00"
    ds.PatientOrientation = ""
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = ny, nx
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.NumberOfFrames = n_t
    ds.FrameIncrementPointer = 0x00181063  # Frame Time
    frame_ms = 1000.0 / float(frame_rate_hz)
    ds.FrameTime = f"{frame_ms:.6g}"
    ds.CineRate = int(round(frame_rate_hz))
    ds.RecommendedDisplayFrameRate = int(round(frame_rate_hz))
    ds.EffectiveDuration = f"{frame_ms * n_t / 1000.0:.6g}"
    ds.ActualFrameDuration = int(round(frame_ms))
    if heart_rate_bpm is not None:
        ds.HeartRate = int(round(heart_rate_bpm))
    ds.StartTrim, ds.StopTrim = 1, n_t
    if view is not None:
        ds.ViewCodeSequence = Sequence([_code(VIEW_CODES[view][0], "SCT", VIEW_CODES[view][1])])
    region = Dataset()  # US Region Calibration (PS3.3 C.8.5.5): one 2-D tissue region, cm units
    region.RegionSpatialFormat = 1  # 2D
    region.RegionDataType = 1  # tissue
    region.RegionFlags = 0
    region.RegionLocationMinX0, region.RegionLocationMinY0 = 0, 0
    region.RegionLocationMaxX1, region.RegionLocationMaxY1 = nx - 1, ny - 1
    region.PhysicalUnitsXDirection = region.PhysicalUnitsYDirection = 3  # cm
    region.PhysicalDeltaX, region.PhysicalDeltaY = dx / 10.0, dy / 10.0
    region.ReferencePixelX0, region.ReferencePixelY0 = nx // 2, 0
    region.ReferencePixelPhysicalValueX = region.ReferencePixelPhysicalValueY = 0.0
    ds.SequenceOfUltrasoundRegions = Sequence([region])
    ds.PixelData = np.clip(np.rint(arr * 255.0), 0, 255).astype(np.uint8).tobytes()
    ds["PixelData"].VR = "OB"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return ds

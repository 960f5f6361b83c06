"""Writers of vendor-style DICOM Adult Echocardiography Procedure Reports (TID 5200) for tests.

Two nestings, as vendors write them (the codes are the DICOM PS3.16 ones shipped in pydicom's
concept dictionary; nothing here is invented):

``style="ge"``
    one TID 5202 *Echo Section* container per finding site (Left Ventricle, Left Atrium, Mitral
    Valve, Aortic Valve, Tricuspid Valve, Right Ventricle) holding TID 5203 *Measurement Group*
    containers; each quantity is written ``repeats`` times (user measurements) and once more as the
    mean, the mean marked with Selection Status = "Mean value chosen" (CID 224).
``style="philips"``
    a flatter layout: NUM items directly under the echo-section containers, each value written twice
    (``repeats``) and no Selection Status.

``values`` maps a key of :data:`QUANTITIES` to the value *as written* (in the unit listed there);
repeats are written as ``value - d`` and ``value + d`` (``d`` = ``spread``), whose mean is ``value``
exactly for the values the tests use. ``extra_unknown`` adds one NUM whose code the reader does not
map; ``malformed`` adds a NUM without a value and a NUM with an unknown unit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

ENHANCED_SR = "1.2.840.10008.5.1.4.1.1.88.22"
COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"

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


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    ds = Dataset()
    ds.CodeValue = value
    ds.CodingSchemeDesignator = scheme
    ds.CodeMeaning = meaning
    return ds


def _item(rel: str, vtype: str, name: tuple[str, str, str]) -> Dataset:
    ds = Dataset()
    ds.RelationshipType = rel
    ds.ValueType = vtype
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


def write_vendor_echo_sr(path: str | Path, *, style: str = "ge", values: Mapping[str, float] | None = None,
                         repeats: bool = True, extra_unknown: bool = False, malformed: bool = False,
                         sop_class: str = ENHANCED_SR, spread: float = SPREAD) -> Path:
    """Write a TID 5200 echo SR in the ``style`` of one vendor to ``path``; returns the path.

    ``values`` (default :data:`DEFAULT_VALUES`) are the *chosen* values in the units of
    :data:`QUANTITIES`. With ``repeats``: GE style writes ``v - spread``, ``v + spread`` and then
    ``v`` marked "Mean value chosen"; Philips style writes ``v - spread`` and ``v + spread`` (mean ``v``).
    """
    if style not in ("ge", "philips"):
        raise ValueError(f"style={style!r}: expected 'ge' or 'philips'")
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
    content[0].RelationshipType = "HAS CONCEPT MOD"
    for sec in ("lv", "la", "mv", "av", "tv", "rv"):
        if sec not in sections:
            continue
        v, m = SITES[sec]
        children = [_site(sec)] + sections[sec]
        # TID 5202 Echo Section: container named by the section (here the site's own code)
        children[0].RelationshipType = "HAS CONCEPT MOD"
        content.append(_container("CONTAINS", (v, "SCT", section_names[sec]), children))

    ds = Dataset()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = generate_uid()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.Modality = "SR"
    ds.PatientName = "ECHO^TEST"
    ds.PatientID = "ECHO001"
    ds.PatientBirthDate = ""
    ds.PatientSex = "O"
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.StudyDate = ds.ContentDate = "20260101"
    ds.StudyTime = ds.ContentTime = "120000"
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.Manufacturer = {"ge": "GE Vingmed Ultrasound", "philips": "Philips Medical Systems"}[style]
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
    path = Path(path)
    ds.save_as(path, enforce_file_format=True)
    return path


def write_non_echo_sr(path: str | Path) -> Path:
    """A valid Comprehensive SR whose root is not TID 5200 (a Measurement Report, TID 1500)."""
    p = write_vendor_echo_sr(path, sop_class=COMPREHENSIVE_SR, values={"lvidd": 4.8}, repeats=False)
    import pydicom

    ds = pydicom.dcmread(p)
    ds.ConceptNameCodeSequence[0].CodeValue = "126000"
    ds.ConceptNameCodeSequence[0].CodeMeaning = "Imaging Measurement Report"
    ds.ContentTemplateSequence[0].TemplateIdentifier = "1500"
    ds.save_as(p, enforce_file_format=True)
    return p


def as_dataset_values(**kw: Any) -> dict[str, float]:
    """``DEFAULT_VALUES`` updated with ``kw``."""
    return {**DEFAULT_VALUES, **kw}

"""Reading vendor DICOM Adult Echocardiography Procedure Reports (TID 5200) into Measurements.

An echo SR (SOP class Enhanced SR ``1.2.840.10008.5.1.4.1.1.88.22`` or Comprehensive SR ``…88.33``,
root concept ``(125200, DCM, "Adult Echocardiography Procedure Report")``) holds TID 5201 *Patient
Characteristics* and one TID 5202 *Echo Section* container per finding site (left ventricle, left
atrium, mitral valve, aortic valve, tricuspid valve, right ventricle …), with NUM items — directly
(Philips-like, flat) or inside TID 5203 *Measurement Group* containers (GE-like). Each NUM carries
concept modifiers: Finding Site, Image Mode, Measurement Method, Cardiac cycle point, Flow Direction,
Selection Status (CID 224).

Code table
----------
Every code below is the DICOM PS3.16 one as shipped in pydicom 3.0.2's concept dictionary
(``pydicom.sr._concepts_dict`` / ``_cid_dict``: CIDs 12200–12211 and the ASE "core" CID 12300);
none is invented. :data:`CODE_TABLE` maps ``(scheme, code, site)`` → heartprint code (``site`` =
the SNOMED CT code of the NUM's own Finding Site, else of its section's, or ``None`` = any site);
the most specific row wins. Every target is a key of :data:`heartprint.concepts.CONCEPTS` and is
converted to the concept's unit (:data:`ECHO_CODES` repeats the names and units of the first vendor
codes; a code in both must agree). Areas are in ``cm2`` (AVA and its index ``cm2/m2``, LVOT area,
LA/RA areas; a value written in ``mm2`` or ``m2`` is converted exactly), the MR effective regurgitant
orifice area in ``mm2`` (the unit of the ESC 2021 table it is graded against). Where a code names its
own method (PISA or continuity regurgitant volume and fraction) and the NUM has no Measurement Method
modifier, that method is kept, so two methods are never averaged.

Not in pydicom's tables (so not mapped by code): global longitudinal strain (``gls``) and relative
wall thickness (``rwt``) — vendors write them with private codes, which land in ``unmapped``.

Duplicates
----------
NUMs are grouped by (heartprint code, finding site, cardiac phase, method, image mode). In a group of
several: (1) if one or more carry a Selection Status (CID 224: "User chosen value", "Mean value
chosen", "Most recent value chosen") the first of those is kept; (2) otherwise the arithmetic mean
of the N repeats is kept, with the note "mean of N repeats as written by the vendor".

Unknown and malformed
---------------------
A NUM whose code is not in the table is kept in ``unmapped`` (code, scheme, meaning, value, unit,
site) and listed in ``notes``; a NUM without a value, with an unparsable value, or with a unit this
reader cannot convert is skipped with a named note. Nothing is dropped silently.

Unit conversion is exact: ``value × factor`` computed with :class:`fractions.Fraction` from the
float as written and the exact decimal factor (cm→mm ×10, cm/s→m/s ÷100, s→ms ×1000 …), then
rounded once to the nearest double.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from os import PathLike
from typing import Any, Iterator

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from heartprint.concepts import CONCEPTS
from heartprint.errors import InvalidInputError
from heartprint.measure import Measurement

__all__ = ["CODE_TABLE", "ECHO_CODES", "EchoSRResult", "is_echo_report", "read_echo_sr", "ECHO_SR_SOP_CLASSES"]

ECHO_SR_SOP_CLASSES: dict[str, str] = {
    "1.2.840.10008.5.1.4.1.1.88.22": "Enhanced SR",
    "1.2.840.10008.5.1.4.1.1.88.33": "Comprehensive SR",
}
_ROOT = ("DCM", "125200")  # Adult Echocardiography Procedure Report

# --- sites (SNOMED CT, pydicom CID 12236 / 4) -------------------------------------------------
LV, LA, MV, AV, TV, RV = "87878005", "82471001", "91134007", "34202007", "46030003", "53085002"
LVOT, MEDIAL_MA, LATERAL_MA = "13418002", "399093001", "399086000"

#: heartprint codes without a concept yet: code → (name, canonical UCUM unit).
ECHO_CODES: dict[str, tuple[str, str]] = {
    "echo_lvidd": ("LV internal end-diastolic dimension", "mm"),
    "echo_lvids": ("LV internal systolic dimension", "mm"),
    "echo_ivsd": ("Interventricular septum diastolic thickness", "mm"),
    "echo_lvpwd": ("LV posterior wall diastolic thickness", "mm"),
    "echo_lv_fs": ("LV fractional shortening", "%"),
    "echo_la_volume": ("LA end-systolic volume", "mL"),
    "echo_la_diameter": ("LA antero-posterior systolic dimension", "mm"),
    "echo_mitral_a": ("Mitral A-wave peak velocity", "cm/s"),
    "echo_mitral_dt": ("Mitral E-wave deceleration time", "ms"),
    "echo_e_e_prime_septal": ("Septal E/e′", "1"),
    "echo_e_e_prime_lateral": ("Lateral E/e′", "1"),
    "echo_e_prime": ("LV e′ velocity (annulus site not stated)", "cm/s"),
    "echo_av_vmax": ("Aortic valve peak velocity", "m/s"),
    "echo_av_mean_gradient": ("Aortic valve mean gradient", "mm[Hg]"),
    "echo_av_peak_gradient": ("Aortic valve peak gradient", "mm[Hg]"),
    "echo_av_vti": ("Aortic valve VTI", "cm"),
    "echo_lvot_diameter": ("LVOT diameter", "mm"),
    "echo_lvot_vti": ("LVOT VTI", "cm"),
    "echo_lvot_vmax": ("LVOT peak velocity", "m/s"),
    "echo_tr_peak_gradient": ("Tricuspid regurgitation peak gradient", "mm[Hg]"),
    "echo_rvsp": ("RV peak systolic pressure", "mm[Hg]"),
    "echo_tapse": ("TAPSE", "mm"),
    "echo_rv_s_prime": ("RV (tricuspid annulus) s′ velocity", "cm/s"),
}

#: (scheme, code, site or None) → heartprint code. Meanings as in pydicom's dictionary.
CODE_TABLE: dict[tuple[str, str, str | None], str] = {
    # LV linear (CID 12201, 12300)
    ("LN", "29436-3", None): "echo_lvidd",  # Left Ventricle Internal End Diastolic Dimension
    ("LN", "80007-8", None): "echo_lvidd",  # LV internal diastolic dimension - 2D
    ("LN", "80008-6", None): "echo_lvidd",  # LV internal diastolic dimension - MM
    ("LN", "29438-9", None): "echo_lvids",  # Left Ventricle Internal Systolic Dimension
    ("LN", "80011-0", None): "echo_lvids",  # LV internal systolic dimension - 2D
    ("LN", "80012-8", None): "echo_lvids",  # LV internal systolic dimension - MM
    ("LN", "18154-5", None): "echo_ivsd",  # Interventricular Septum Diastolic Thickness
    ("LN", "79968-4", None): "echo_ivsd",  # Interventricular septum diastolic dimension MM
    ("LN", "79969-2", None): "echo_ivsd",  # Interventricular septum diastolic dimension 2D
    ("LN", "18152-9", None): "echo_lvpwd",  # Left Ventricle Posterior Wall Diastolic Thickness
    ("LN", "80031-8", None): "echo_lvpwd",  # LV posterior wall diastolic thickness
    ("LN", "80032-6", None): "echo_lvpwd",  # LV posterior wall diastolic thickness
    ("LN", "18051-3", None): "echo_lv_fs",  # Left Ventricular Fractional Shortening
    # LV volumes / function (CID 12202, 12300)
    ("LN", "18043-0", None): "lv_ef",  # Left Ventricular Ejection Fraction by US
    ("LN", "79991-6", None): "lv_ef",  # LVEF biplane (MOD)
    ("LN", "79990-8", None): "lv_ef",  # LVEF 3D
    ("LN", "79992-4", None): "lv_ef",  # LVEF single plane 2C (MOD)
    ("LN", "79993-2", None): "lv_ef",  # LVEF single plane 4C (MOD)
    ("LN", "77891-0", None): "lv_ef",  # LVEF (Teichholz) 2D
    ("LN", "18049-7", None): "lv_ef",  # LVEF (Teichholz) MM
    ("LN", "18026-5", None): "lv_edv",  # Left Ventricular End Diastolic Volume
    ("LN", "79996-5", None): "lv_edv",  # LVEDV biplane (MOD)
    ("LN", "79995-7", None): "lv_edv",  # LVEDV (3D)
    ("LN", "18148-7", None): "lv_esv",  # Left Ventricular End Systolic Volume
    ("LN", "80001-1", None): "lv_esv",  # LVESV biplane (MOD)
    ("LN", "80000-3", None): "lv_esv",  # LVESV (3D)
    ("LN", "18087-7", None): "lv_mass",  # Left Ventricle Mass
    ("LN", "8867-4", None): "heart_rate",  # Heart rate
    # tissue Doppler (CID 12203, 12300); site = mitral annulus side
    ("SCT", "399133000", MEDIAL_MA): "septal_e_prime",  # LV Peak Early Diastolic Tissue Velocity
    ("SCT", "399133000", LATERAL_MA): "lateral_e_prime",
    ("SCT", "399133000", None): "echo_e_prime",
    ("LN", "79911-4", None): "septal_e_prime",  # Mitral septal e-prime Vmax
    ("LN", "80054-0", None): "lateral_e_prime",  # Mitral lateral e-prime Vmax
    ("LN", "59111-5", MEDIAL_MA): "echo_e_e_prime_septal",  # E Velocity to Annulus E Velocity Ratio
    ("LN", "59111-5", LATERAL_MA): "echo_e_e_prime_lateral",
    ("LN", "59111-5", None): "e_e_prime",  # no annulus side stated: read as the average (⚠ vendor use)
    ("SCT", "399140004", MEDIAL_MA): "echo_e_e_prime_septal",  # Ratio of MV Peak Velocity to LV Peak TV E-Wave
    ("SCT", "399140004", LATERAL_MA): "echo_e_e_prime_lateral",
    ("SCT", "399140004", None): "e_e_prime",
    # left atrium (CID 12205, 12300)
    ("SCT", "399235004", None): "echo_la_volume",  # Left Atrium Systolic Volume
    ("LN", "79983-3", None): "echo_la_volume",  # LA ES volume biplane (MOD)
    ("LN", "79981-7", None): "echo_la_volume",  # LA ES volume biplane (area-length)
    ("LN", "79984-1", None): "lavi",  # LA ES volume biplane (MOD) / BSA
    ("LN", "79982-5", None): "lavi",  # LA ES volume biplane (area-length) / BSA
    ("LN", "29469-4", None): "echo_la_diameter",  # Left Atrium Antero-posterior Systolic Dimension
    # mitral inflow (CID 12207, 12300)
    ("LN", "18037-2", None): "mitral_e",  # Mitral Valve E-Wave Peak Velocity
    ("LN", "80070-6", None): "mitral_e",  # Mitral valve E-wave Vmax
    ("LN", "59080-2", MV): "mitral_e",  # E-Wave Peak Velocity (at the mitral valve)
    ("LN", "17978-8", None): "echo_mitral_a",  # Mitral Valve A-Wave Peak Velocity
    ("LN", "80066-4", None): "echo_mitral_a",  # Mitral valve A-wave Vmax
    ("LN", "59081-0", MV): "echo_mitral_a",  # A-Wave Peak Velocity (at the mitral valve)
    ("LN", "18038-0", None): "mitral_e_a",  # Mitral Valve E to A Ratio
    ("LN", "59104-0", MV): "mitral_e_a",  # Peak E wave/Peak A wave by US (at the mitral valve)
    ("SCT", "399354002", None): "echo_mitral_dt",  # Mitral Valve E-Wave Deceleration Time
    ("LN", "78191-4", None): "echo_mitral_dt",  # Mitral valve deceleration time
    ("LN", "20217-6", MV): "echo_mitral_dt",  # Deceleration Time (at the mitral valve)
    # aortic valve / LVOT (CID 12211, 12300)
    ("LN", "79964-3", None): "echo_av_vmax",  # Aortic valve Vmax
    ("LN", "20355-4", AV): "echo_av_vmax",  # Peak Blood Velocity (at the aortic valve)
    ("LN", "59107-3", AV): "echo_av_vmax",  # Stenosis Peak Velocity (at the aortic valve)
    ("LN", "79962-7", None): "echo_av_mean_gradient",  # Aortic valve mean gradient
    ("LN", "20256-4", AV): "echo_av_mean_gradient",  # Mean Gradient (at the aortic valve)
    ("LN", "79963-5", None): "echo_av_peak_gradient",  # Aortic valve peak instantaneous gradient
    ("LN", "20247-3", AV): "echo_av_peak_gradient",  # Peak Gradient (at the aortic valve)
    ("LN", "79965-0", None): "echo_av_vti",  # Aortic valve VTI
    ("LN", "20354-7", AV): "echo_av_vti",  # Velocity Time Integral (at the aortic valve)
    ("LN", "80028-4", None): "echo_lvot_diameter",  # LV outflow tract dimension (2D)
    ("SCT", "399027007", LVOT): "echo_lvot_diameter",  # Cardiovascular Orifice Diameter (at the LVOT)
    ("LN", "80030-0", None): "echo_lvot_vti",  # LV outflow tract VTI
    ("LN", "20354-7", LVOT): "echo_lvot_vti",  # Velocity Time Integral (at the LVOT)
    ("LN", "80029-2", None): "echo_lvot_vmax",  # LV outflow tract Vmax
    ("LN", "20355-4", LVOT): "echo_lvot_vmax",  # Peak Blood Velocity (at the LVOT)
    # tricuspid valve / right heart (CID 12204, 12208, 12300)
    ("LN", "79921-3", None): "tr_vmax",  # Tricuspid regurgitation Vmax
    ("LN", "79937-9", None): "echo_tr_peak_gradient",  # Tricuspid regurgitation peak gradient
    ("SCT", "399023006", None): "echo_rvsp",  # Right Ventricular Peak Systolic Pressure
    ("LN", "77903-3", None): "echo_tapse",  # Tricuspid Annular Plane Systolic Excursion (TAPSE)
    # aortic valve area, LVOT area and forward flow (CID 12300; CID 12211 by finding site)
    ("LN", "79958-5", None): "echo_ava",  # Aortic valve area (Continuity VTI)
    ("LN", "79956-9", None): "echo_ava_vmax",  # Aortic valve area (Continuity Vmax)
    ("LN", "79959-3", None): "echo_avai",  # Aortic valve area (Continuity VTI) / BSA
    ("LN", "79957-7", None): "echo_avai_vmax",  # Aortic valve area (Continuity Vmax) / BSA
    ("SCT", "399367004", LVOT): "echo_lvot_area",  # Cardiovascular Orifice Area (at the LVOT)
    ("SCT", "90096001", LVOT): "echo_lvot_sv",  # Stroke Volume (at the LVOT)
    ("SCT", "277381004", LVOT): "echo_lvot_svi",  # Stroke Index (at the LVOT)
    # mitral regurgitation (CID 12300; CID 12207 by finding site)
    ("LN", "80071-4", None): "echo_mr_eroa",  # Mitral valve effective regurgitant orifice area (PISA)
    ("LN", "80064-9", None): "echo_mr_rvol",  # Mitral regurgitation volume (PISA)
    ("LN", "80063-1", None): "echo_mr_rvol",  # Mitral regurgitation volume (Continuity VTI)
    ("LN", "80056-5", None): "echo_mr_rf",  # Mitral regurgitant fraction (PISA)
    ("LN", "80055-7", None): "echo_mr_rf",  # Mitral regurgitant fraction (Continuity VTI)
    ("SCT", "399301000", MV): "echo_mr_rf",  # Regurgitant Fraction (at the mitral valve)
    ("LN", "80061-5", None): "echo_mr_vc",  # Mitral regurgitation vena contracta width
    ("DCM", "125334", MV): "echo_mr_vc",  # Vena Contracta Width (at the mitral valve)
    # atrial areas (CID 12300; CIDs 12205, 12206)
    ("LN", "79974-2", None): "echo_la_area",  # Left atrial end systolic area 4C
    ("LN", "17977-0", None): "echo_la_area",  # Left Atrium Area A4C view
    ("LN", "79973-4", None): "echo_la_area_2c",  # Left atrial end systolic area 2C
    ("LN", "80075-5", None): "echo_ra_area",  # Right atrial end systolic area 4C
    ("LN", "17988-7", None): "echo_ra_area",  # Right Atrium Area A4C view
}
#: The method a code names itself (kept in the measurement's method and in the duplicate grouping when the
#: NUM carries no Measurement Method modifier, so a PISA and a continuity volume are never averaged).
_CODE_METHOD: dict[tuple[str, str], str] = {
    ("LN", "80064-9"): "PISA", ("LN", "80063-1"): "continuity (VTI)",
    ("LN", "80056-5"): "PISA", ("LN", "80055-7"): "continuity (VTI)",
}
#: Codes read only where the NUM carries Flow Direction = Regurgitant Flow (SCT 397417004): TR Vmax and
#: gradient, the MR effective regurgitant orifice area and volume of the older site-based CIDs (12207).
#: ⚠M: reading "Volume flow" at the mitral valve as the regurgitant volume; a flow *rate* (mL/s) is
#: refused by the unit check (it does not convert to mL).
_REGURGITANT = "397417004"
_BY_REGURGITANT_FLOW: dict[tuple[str, str, str | None], str] = {
    ("LN", "20355-4", TV): "tr_vmax",  # Peak Blood Velocity, tricuspid valve, regurgitant flow
    ("LN", "20247-3", TV): "echo_tr_peak_gradient",  # Peak Gradient, tricuspid valve, regurgitant flow
    ("SCT", "399367004", MV): "echo_mr_eroa",  # Cardiovascular Orifice Area, mitral valve, regurgitant flow
    ("LN", "33878-0", MV): "echo_mr_rvol",  # Volume flow, mitral valve, regurgitant flow
}

# concept-modifier names: SCT codes and their legacy SNOMED-RT (SRT) forms (pydicom's SRT→SCT mapping)
_FINDING_SITE = {"363698007", "G-C0E3"}
_IMAGE_MODE = {"399264008", "G-0373"}
_METHOD = {"370129005", "G-C036"}
_CYCLE_POINT = {"272518008"}  # Cardiovascular cycle point
_SELECTION = {"121404"}  # DCM Selection Status
_SELECTED = {"121410": "User chosen value", "121411": "Most recent value chosen", "121412": "Mean value chosen"}
_FLOW_VALUES = {"397417004", "263677008", "RetrogradeFlow"}  # CID 12221 values; recognised by value

#: UCUM spellings vendors write → the spelling used here.
_UNIT_ALIASES = {"{ratio}": "1", "ratio": "1", "1": "1", "{H.B.}/min": "/min", "{beats}/min": "/min",
                 "/min": "/min", "mmHg": "mm[Hg]", "mm[Hg]": "mm[Hg]", "ml": "mL", "ml/m2": "mL/m2",
                 "cm^2": "cm2", "cm²": "cm2", "mm^2": "mm2", "mm²": "mm2", "cm2/m^2": "cm2/m2", "cm²/m²": "cm2/m2"}
#: Exact factors (from, to) → Fraction (decimal SI prefixes).
_FACTORS: dict[tuple[str, str], Fraction] = {
    ("cm", "mm"): Fraction(10), ("m", "mm"): Fraction(1000), ("mm", "cm"): Fraction(1, 10), ("m", "cm"): Fraction(100),
    ("cm/s", "m/s"): Fraction(1, 100), ("m/s", "cm/s"): Fraction(100), ("mm/s", "cm/s"): Fraction(1, 10),
    ("s", "ms"): Fraction(1000), ("L", "mL"): Fraction(1000), ("cm3", "mL"): Fraction(1), ("1", "%"): Fraction(100),
    ("kg", "g"): Fraction(1000),
    ("mm2", "cm2"): Fraction(1, 100), ("cm2", "mm2"): Fraction(100), ("m2", "cm2"): Fraction(10000),
    ("mm2/m2", "cm2/m2"): Fraction(1, 100),
}
_KNOWN_UNITS = {u for pair in _FACTORS for u in pair} | {"mL/m2", "mm[Hg]", "/min", "g", "g/m2", "cm2", "%", "1"}


@dataclass
class EchoSRResult:
    """What :func:`read_echo_sr` found: ``measurements`` (heartprint units), ``unmapped`` (dicts with
    ``scheme``, ``code``, ``meaning``, ``value``, ``unit``, ``site``) and ``notes`` (one line each)."""

    measurements: list[Measurement] = field(default_factory=list)
    unmapped: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    source: str | None = None

    def __iter__(self) -> Iterator[Measurement]:
        return iter(self.measurements)

    def __len__(self) -> int:
        return len(self.measurements)

    def by_code(self, code: str) -> list[Measurement]:
        """The measurements whose ``code`` is ``code``."""
        return [m for m in self.measurements if m.code == code]


def _code_of(ds: Dataset, attr: str) -> tuple[str, str, str] | None:
    seq = getattr(ds, attr, None)
    if not seq:
        return None
    c = seq[0]
    value = str(getattr(c, "CodeValue", None) or getattr(c, "LongCodeValue", None) or getattr(c, "URNCodeValue", ""))
    return str(getattr(c, "CodingSchemeDesignator", "")), value, str(getattr(c, "CodeMeaning", ""))


def _sct(code: tuple[str, str, str] | None) -> str | None:
    """SNOMED CT value of a code, SRT codes mapped to SCT via pydicom's table."""
    if code is None:
        return None
    scheme, value, _ = code
    if scheme == "SRT":
        from pydicom.sr._snomed_dict import mapping

        return mapping["SRT"].get(value, value)
    return value


def _modifiers(ds: Dataset) -> dict[str, Any]:
    """Concept modifiers (HAS CONCEPT MOD) directly under ``ds``."""
    out: dict[str, Any] = {}
    for item in getattr(ds, "ContentSequence", []) or []:
        if getattr(item, "RelationshipType", "") != "HAS CONCEPT MOD" or getattr(item, "ValueType", "") != "CODE":
            continue
        name = _sct(_code_of(item, "ConceptNameCodeSequence"))
        val = _code_of(item, "ConceptCodeSequence")
        sval = _sct(val)
        if name in _FINDING_SITE:
            out["site"] = (sval, val[2] if val else "")
        elif name in _IMAGE_MODE:
            out["mode"] = val[2] if val else None
        elif name in _METHOD:
            out["method"] = val[2] if val else None
        elif name in _CYCLE_POINT:
            out["phase"] = val[2] if val else None
        elif name in _SELECTION:
            out["selected"] = _SELECTED.get(val[1] if val else "", val[2] if val else "")
        elif sval in _FLOW_VALUES:
            out["flow"] = sval
    return out


def _walk(ds: Dataset, ctx: dict[str, Any]) -> Iterator[tuple[Dataset, dict[str, Any]]]:
    for item in getattr(ds, "ContentSequence", []) or []:
        vt = getattr(item, "ValueType", "")
        if vt == "CONTAINER":
            sub = {**ctx, **{k: v for k, v in _modifiers(item).items() if k != "selected"}}
            name = _code_of(item, "ConceptNameCodeSequence")
            sub["section"] = name[2] if name else ctx.get("section")
            yield from _walk(item, sub)
        elif vt == "NUM":
            yield item, {**ctx, **_modifiers(item)}


def _exact(value: float, src: str, dst: str) -> float:
    if src == dst:
        return float(value)
    if (src, dst) not in _FACTORS:
        raise KeyError((src, dst))
    return float(Fraction(value) * _FACTORS[(src, dst)])


def _load(source: str | PathLike[str] | Dataset) -> tuple[Dataset, str]:
    if isinstance(source, Dataset):
        return source, str(getattr(source, "SOPInstanceUID", "<dataset>"))
    try:
        return pydicom.dcmread(source), str(source)
    except Exception as exc:  # noqa: BLE001 - re-raised with the file named
        raise InvalidInputError(f"{source}: not a readable DICOM file ({exc}); expected a DICOM echo SR") from None


def is_echo_report(ds: Dataset) -> bool:
    """Whether ``ds`` is an Enhanced/Comprehensive SR whose document title is (125200, DCM) — TID 5200."""
    root = _code_of(ds, "ConceptNameCodeSequence")
    return str(getattr(ds, "SOPClassUID", "")) in ECHO_SR_SOP_CLASSES and root is not None and \
        (root[0], root[1]) == _ROOT


def read_echo_sr(source: str | PathLike[str] | Dataset) -> EchoSRResult:
    """Read a TID 5200 Adult Echocardiography Procedure Report (file path or pydicom Dataset).

    Returns an :class:`EchoSRResult`: ``measurements`` in heartprint codes and units (mm, m/s, cm/s,
    mm[Hg], mL, mL/m2, %, 1 — see :data:`CODE_TABLE` and :data:`ECHO_CODES`), modality ``US``,
    ``method`` naming the image mode, method and how duplicates were resolved; ``unmapped`` NUMs with
    unknown codes; ``notes`` on everything skipped or merged. Duplicates: a value marked by Selection
    Status wins; otherwise the mean of the repeats (module docstring).

    Raises
    ------
    InvalidInputError
        Not DICOM; not an Enhanced/Comprehensive SR; root concept not (125200, DCM, "Adult
        Echocardiography Procedure Report").
    """
    ds, src = _load(source)
    sop = str(getattr(ds, "SOPClassUID", ""))
    if sop not in ECHO_SR_SOP_CLASSES:
        raise InvalidInputError(
            f"{src}: SOPClassUID={sop or None!r} is not an Enhanced or Comprehensive SR; expected one of "
            f"{sorted(ECHO_SR_SOP_CLASSES)} holding an Adult Echocardiography Procedure Report (TID 5200)")
    root = _code_of(ds, "ConceptNameCodeSequence")
    if root is None or (root[0], root[1]) != _ROOT:
        raise InvalidInputError(
            f"{src}: SR document title={root!r} is not an echo report; expected (125200, DCM, "
            f"'Adult Echocardiography Procedure Report') (TID 5200)")

    res = EchoSRResult(source=src)
    groups: dict[tuple[Any, ...], list[tuple[float, str, dict[str, Any]]]] = {}
    for item, ctx in _walk(ds, {}):
        name = _code_of(item, "ConceptNameCodeSequence") or ("", "", "")
        scheme, code, meaning = name
        label = f"{meaning or code} ({code}, {scheme}) in {ctx.get('section') or 'the report'}"
        mv = getattr(item, "MeasuredValueSequence", None)
        if not mv or getattr(mv[0], "NumericValue", None) in (None, ""):
            res.notes.append(f"skipped {label}: NUM without a numeric value")
            continue
        try:
            value = float(mv[0].NumericValue)
        except (TypeError, ValueError):
            res.notes.append(f"skipped {label}: numeric value {mv[0].NumericValue!r} is not a number")
            continue
        ucode = _code_of(mv[0], "MeasurementUnitsCodeSequence")
        raw_unit = ucode[1] if ucode else ""
        unit = _UNIT_ALIASES.get(raw_unit, raw_unit)
        site = (ctx.get("site") or (None, ""))[0]
        target = None
        if ctx.get("flow") == _REGURGITANT:
            target = _BY_REGURGITANT_FLOW.get((scheme, code, site))
        target = target or CODE_TABLE.get((scheme, code, site)) or CODE_TABLE.get((scheme, code, None))
        if target is None:
            res.unmapped.append({"scheme": scheme, "code": code, "meaning": meaning, "value": value,
                                 "unit": raw_unit, "site": (ctx.get("site") or (None, ""))[1] or None})
            res.notes.append(f"unmapped {label} = {value:g} {raw_unit}: code not in the echo code table")
            continue
        dst = CONCEPTS[target].unit if target in CONCEPTS else ECHO_CODES[target][1]
        if unit not in _KNOWN_UNITS:
            res.notes.append(f"skipped {label} = {value:g} {raw_unit!r}: unknown unit; expected {dst}")
            continue
        if unit != dst and (unit, dst) not in _FACTORS:
            res.notes.append(f"skipped {label} = {value:g} {raw_unit}: cannot convert {raw_unit} to {dst}")
            continue
        if not ctx.get("method") and (scheme, code) in _CODE_METHOD:
            ctx = {**ctx, "method": _CODE_METHOD[(scheme, code)]}
        key = (target, site, ctx.get("phase"), ctx.get("method"), ctx.get("mode"))
        groups.setdefault(key, []).append((value, unit, ctx))

    for (target, _site, phase, method, mode), rows in groups.items():
        name = CONCEPTS[target].name if target in CONCEPTS else ECHO_CODES[target][0]
        unit = CONCEPTS[target].unit if target in CONCEPTS else ECHO_CODES[target][1]
        chosen = [(v, u, c) for v, u, c in rows if c.get("selected")]
        how = [x for x in (mode, method) if x]
        if chosen:
            raw, src_unit, ctx = chosen[0]
            value = _exact(raw, src_unit, unit)
            how.append(f"{ctx['selected']} (of {len(rows)} written)" if len(rows) > 1 else ctx["selected"])
            if len({(v, u) for v, u, _ in chosen}) > 1:
                res.notes.append(f"{target}: {len(chosen)} values marked chosen; the first ({value:g} {unit}) kept")
        elif len(rows) > 1:
            # mean in the unit as written (one unit) so that a vendor's own mean is reproduced, then converted
            units = {u for _, u, _ in rows}
            if len(units) == 1:
                value = _exact(float(np.mean(np.array([v for v, _, _ in rows], dtype=float))), rows[0][1], unit)
            else:
                value = float(np.mean(np.array([_exact(v, u, unit) for v, u, _ in rows], dtype=float)))
            how.append(f"mean of {len(rows)} repeats as written by the vendor")
            res.notes.append(f"{target}: mean of {len(rows)} repeats as written by the vendor ({value:g} {unit})")
        else:
            raw, src_unit, _ = rows[0]
            value = _exact(raw, src_unit, unit)
        if target in CONCEPTS and not CONCEPTS[target].plausible[0] <= value <= CONCEPTS[target].plausible[1]:
            lo, hi = CONCEPTS[target].plausible
            res.notes.append(f"{target}={value:g} {unit} is outside the plausible range {lo:g}–{hi:g} {unit}; "
                             "kept as written — check the unit in the SR")
        res.measurements.append(Measurement(
            code=target, name=name, value=value, unit=unit, method="; ".join(how) or "echo SR",
            source=src, modality="US", phase=phase,
            reference="DICOM PS3.16 TID 5200 (Adult Echocardiography Procedure Report)"))
    return res

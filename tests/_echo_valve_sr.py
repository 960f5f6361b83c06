"""A vendor echo SR (TID 5200) with the valve and chamber areas and the regurgitation measures, for tests.

:func:`write_valve_echo_sr` writes the GE-style report of :mod:`_echo_sr_fixtures` and adds one NUM per
row of :data:`VALVE_ITEMS` to the section of its finding site, in the unit a vendor may write it (areas in
cm² or mm², on purpose both), with the concept modifiers vendors use (finding site, flow direction). Each
row says what :func:`heartprint.echo.read_echo_sr` must give back: heartprint code, value, unit. Codes are
DICOM PS3.16 ones as shipped in pydicom's concept dictionary (CID 12300 and the older CIDs 12205-12211).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydicom
from _echo_sr_fixtures import SITES, _codeitem, _num, _site, as_dataset_values, write_vendor_echo_sr
from pydicom.sequence import Sequence

_FLOW_DIRECTION = ("260674002", "SCT", "Direction of flow")  # pydicom concept dictionary (SCT DirectionOfFlow)
_REGURGITANT = ("397417004", "SCT", "Regurgitant Flow")

#: (section, scheme, code, meaning, value as written, UCUM unit as written, own site, regurgitant flow,
#:  expected heartprint code, expected value, expected unit)
VALVE_ITEMS: tuple[tuple[Any, ...], ...] = (
    ("av", "LN", "79958-5", "Aortic valve area (Continuity VTI)", 0.75, "cm2", None, False, "echo_ava", 0.75, "cm2"),
    ("av", "LN", "79959-3", "Aortic valve area (Continuity VTI) / BSA", 0.4, "cm2/m2", None, False,
     "echo_avai", 0.4, "cm2/m2"),
    ("av", "LN", "79956-9", "Aortic valve area (Continuity Vmax)", 78.0, "mm2", None, False, "echo_ava_vmax", 0.78,
     "cm2"),
    ("av", "SCT", "399367004", "Cardiovascular Orifice Area", 314.0, "mm2", "lvot", False, "echo_lvot_area", 3.14,
     "cm2"),
    ("av", "SCT", "90096001", "Stroke Volume", 62.0, "mL", "lvot", False, "echo_lvot_sv", 62.0, "mL"),
    ("av", "SCT", "277381004", "Stroke Index", 33.0, "mL/m2", "lvot", False, "echo_lvot_svi", 33.0, "mL/m2"),
    ("mv", "LN", "80071-4", "Mitral valve effective regurgitant orifice area (PISA)", 0.45, "cm2", None, False,
     "echo_mr_eroa", 45.0, "mm2"),
    ("mv", "LN", "80064-9", "Mitral regurgitation volume (PISA)", 70.0, "mL", None, False, "echo_mr_rvol", 70.0, "mL"),
    ("mv", "LN", "80063-1", "Mitral regurgitation volume (Continuity VTI)", 64.0, "mL", None, False, "echo_mr_rvol",
     64.0, "mL"),
    ("mv", "LN", "80056-5", "Mitral regurgitant fraction (PISA)", 55.0, "%", None, False, "echo_mr_rf", 55.0, "%"),
    ("mv", "LN", "80061-5", "Mitral regurgitation vena contracta width", 0.75, "cm", None, False, "echo_mr_vc", 7.5,
     "mm"),
    ("la", "LN", "79974-2", "Left atrial end systolic area 4C", 24.0, "cm2", None, False, "echo_la_area", 24.0, "cm2"),
    ("la", "LN", "79973-4", "Left atrial end systolic area 2C", 2150.0, "mm2", None, False, "echo_la_area_2c", 21.5,
     "cm2"),
    ("rv", "LN", "17988-7", "Right Atrium Area A4C view", 1800.0, "mm2", None, False, "echo_ra_area", 18.0, "cm2"),
)

#: The same report in the older, site-based coding (CID 12207): an orifice area and a volume flow at the
#: mitral valve read as the MR EROA and volume only with Flow Direction = Regurgitant Flow.
OLD_CID_ITEMS: tuple[tuple[Any, ...], ...] = (
    ("mv", "SCT", "399367004", "Cardiovascular Orifice Area", 38.0, "mm2", None, True, "echo_mr_eroa", 38.0, "mm2"),
    ("mv", "LN", "33878-0", "Volume flow", 52.0, "mL", None, True, "echo_mr_rvol", 52.0, "mL"),
    ("mv", "SCT", "399301000", "Regurgitant Fraction", 41.0, "%", None, True, "echo_mr_rf", 41.0, "%"),
)

#: Aortic-valve values of the base report (as written, m/s and mmHg): a severe high-gradient stenosis.
SEVERE_AS = {"av_vmax": 4.25, "av_mean_gradient": 46.0}


def _add(ds: pydicom.Dataset, items: tuple[tuple[Any, ...], ...]) -> None:
    sections = {}
    for item in ds.ContentSequence:
        if getattr(item, "ValueType", "") == "CONTAINER":
            sections[item.ConceptNameCodeSequence[0].CodeValue] = item
    for sec, scheme, code, meaning, value, unit, own_site, regurgitant, *_ in items:
        mods = []
        if own_site:
            mods.append(_site(own_site))
        if regurgitant:
            mods.append(_codeitem(_FLOW_DIRECTION, _REGURGITANT))
        container = sections[SITES[sec][0]]
        container.ContentSequence = Sequence(list(container.ContentSequence) + [_num(scheme, code, meaning, value, unit,
                                                                                     mods)])


def write_valve_echo_sr(path: str | Path, *, old_cids: bool = False, **values: float) -> Path:
    """Write the GE-style report (default values, aortic valve :data:`SEVERE_AS` unless ``values`` say
    otherwise) with :data:`VALVE_ITEMS` (``old_cids``: :data:`OLD_CID_ITEMS` instead) added; returns the path."""
    path = write_vendor_echo_sr(path, style="ge", values=as_dataset_values(**{**SEVERE_AS, **values}))
    ds = pydicom.dcmread(path)
    _add(ds, OLD_CID_ITEMS if old_cids else VALVE_ITEMS)
    ds.save_as(path, enforce_file_format=True)
    return Path(path)

"""Writers of vendor-style DICOM Adult Echocardiography Procedure Reports (TID 5200) for tests.

The writer lives in :mod:`heartprint.phantoms._echo_dicom` (the demo patient's echo uses it too); this
module keeps the names the tests import. Two nestings, as vendors write them (the codes are the DICOM
PS3.16 ones shipped in pydicom's concept dictionary; nothing here is invented):

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
from typing import Any

from heartprint.phantoms._echo_dicom import (  # noqa: F401 - re-exported for the tests
    COMPREHENSIVE_SR,
    DEFAULT_VALUES,
    ENHANCED_SR,
    IMAGE_MODES,
    QUANTITIES,
    SITES,
    SPREAD,
    _code,
    _codeitem,
    _container,
    _item,
    _mods,
    _num,
    _site,
    write_vendor_echo_sr,
)


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

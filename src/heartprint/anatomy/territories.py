"""Coronary territories of the AHA 17 segments (default assignment).

Source: Cerqueira MD, Weissman NJ, Dilsizian V, Jacobs AK, Kaul S, Laskey WK, Pennell DJ,
Rumberger JA, Ryan T, Verani MS. Standardized myocardial segmentation and nomenclature for
tomographic imaging of the heart. *Circulation* 2002;105:539–542.
doi:10.1161/hc0402.102975. Assignment (✅S in ``clinical_reference.md`` §8b, PMOD
documentation quoting the AHA figure):

* LAD: 1, 2, 7, 8, 13, 14, 17
* RCA: 3, 4, 9, 10, 15
* LCx: 5, 6, 11, 12, 16

Variability: the statement stresses that the blood supply of individual segments varies
between patients, most at the apical cap. Segments whose supply depends on coronary
dominance or on the LAD's length are listed in :data:`VARIABLE_SEGMENTS` with the artery
that may supply them instead — the inferior wall (4, 10, 15) and the inferolateral wall
(5, 11) with left dominance; the apex and apical inferior segment (15, 17) by a wrap-around
LAD; the apical lateral segment (16) by a large diagonal. This list is **⚠M** (from
knowledge of coronary anatomy, not read from the statement): use it to soften, never to
reassign, a territory.

Vessel codes (SNOMED CT, DICOM PS3.16 via pydicom): LAD 59438005, RCA 13647002, left main
3227004, circumflex 57396003.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

from heartprint.errors import InvalidInputError

__all__ = [
    "TERRITORY_REFERENCE", "SEGMENT_TERRITORY", "TERRITORY_SEGMENTS", "VARIABLE_SEGMENTS", "VESSEL_SNOMED",
    "territory_of", "segments_of", "vessel_territory",
]

TERRITORY_REFERENCE = (
    "Cerqueira MD et al. Standardized myocardial segmentation and nomenclature for tomographic imaging of "
    "the heart. Circulation 2002;105:539-542. doi:10.1161/hc0402.102975 (default coronary territories)"
)

#: Territory (LAD, LCx, RCA) → AHA segments, Cerqueira 2002.
TERRITORY_SEGMENTS: Mapping[str, tuple[int, ...]] = MappingProxyType({
    "LAD": (1, 2, 7, 8, 13, 14, 17),
    "RCA": (3, 4, 9, 10, 15),
    "LCx": (5, 6, 11, 12, 16),
})

#: AHA segment → default territory.
SEGMENT_TERRITORY: Mapping[int, str] = MappingProxyType(
    {s: t for t, segs in TERRITORY_SEGMENTS.items() for s in segs}
)

#: Segment → arteries that may supply it instead of the default (⚠M, see module docstring).
VARIABLE_SEGMENTS: Mapping[int, tuple[str, ...]] = MappingProxyType({
    4: ("LCx",), 10: ("LCx",), 15: ("LCx", "LAD"), 5: ("RCA",), 11: ("RCA",), 16: ("LAD",), 17: ("RCA", "LCx"),
})

#: SNOMED CT codes of the vessels (DICOM PS3.16 via pydicom.sr.codedict).
VESSEL_SNOMED: Mapping[str, tuple[str, str]] = MappingProxyType({
    "LM": ("3227004", "Left Main Coronary Artery"),
    "LAD": ("59438005", "Left Anterior Descending Coronary Artery"),
    "LCx": ("57396003", "Circumflex Coronary Artery"),
    "RCA": ("13647002", "Right Coronary Artery"),
})


def territory_of(segment: int) -> str:
    """Default coronary territory (``"LAD"``, ``"LCx"`` or ``"RCA"``) of AHA ``segment`` 1–17."""
    if isinstance(segment, bool) or not isinstance(segment, int) or segment not in SEGMENT_TERRITORY:
        raise InvalidInputError(f"segment={segment!r}: expected an AHA segment number 1–17")
    return SEGMENT_TERRITORY[segment]


def segments_of(territory: str) -> tuple[int, ...]:
    """AHA segments of a territory; ``"LM"`` (left main) supplies the LAD and LCx territories."""
    if territory == "LM":
        return tuple(sorted(TERRITORY_SEGMENTS["LAD"] + TERRITORY_SEGMENTS["LCx"]))
    try:
        return TERRITORY_SEGMENTS[territory]
    except KeyError:
        raise InvalidInputError(f"territory={territory!r}: expected one of LM, LAD, LCx, RCA") from None


def vessel_territory(vessel: str) -> tuple[str, ...]:
    """Territories a vessel's stenosis affects: LM → (LAD, LCx); others → themselves."""
    if vessel == "LM":
        return ("LAD", "LCx")
    if vessel not in TERRITORY_SEGMENTS:
        raise InvalidInputError(f"vessel={vessel!r}: expected one of LM, LAD, LCx, RCA")
    return (vessel,)

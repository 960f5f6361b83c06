"""Segments of the apical echocardiographic views and their place in the 18- and 17-segment models.

Each apical view cuts two opposite LV walls; traced as an open endocardial contour from the first
wall's mitral hinge round the apex to the other wall's hinge, its sixths are the view's segments
(basal, mid, apical of the first wall, then apical, mid, basal of the second; order kept):

===========================  ==============================  ===============================
view                         first wall (contour start)      second wall
===========================  ==============================  ===============================
``"a4c"`` four-chamber       (infero)septal                  (antero)lateral
``"a2c"`` two-chamber        inferior                        anterior
``"a3c"`` apical long axis   inferolateral                   anteroseptal
===========================  ==============================  ===============================

The three views together give the **18-segment model** used for strain (six walls × basal,
mid, apical levels: Lang RM et al., ASE/EACVI chamber quantification 2015, J Am Soc Echocardiogr
2015;28:1–39, DOI 10.1016/j.echo.2014.10.003, Figure 3 and its segment/view diagram; Voigt JU et al.,
EACVI/ASE/Industry Task Force to standardise deformation imaging, Eur Heart J Cardiovasc Imaging
2015;16:1–11, DOI 10.1093/ehjci/jeu184 — title, journal and DOI checked with the search tool,
2026-12; the wall each view cuts ⚠M from the guideline figures as remembered, not re-read).
Mapping to the **AHA 17-segment model** (Cerqueira MD et al., Circulation 2002;105:539–542,
DOI 10.1161/hc0402.102975): basal and mid segments 1–12 are the same walls (1 anterior,
2 anteroseptal, 3 inferoseptal, 4 inferior, 5 inferolateral, 6 anterolateral; 7–12 likewise);
the six apical segments fold into four (13 apical anterior; 14 apical septal = apical
anteroseptal + apical inferoseptal; 15 apical inferior; 16 apical lateral = apical
inferolateral + apical anterolateral); segment 17 (apical cap) is not cut by the three
apical-view contours' sixths and is therefore not measured.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

__all__ = [
    "A4C_AHA_NUMBERS", "A4C_SEGMENTS", "AHA17_FROM_18", "SEGMENTS_18", "VIEW_AHA_NUMBERS", "VIEW_SEGMENTS",
    "VIEW_TO_18", "VIEW_WALLS",
]

#: The six A4C segments, septal hinge → apex → lateral hinge.
A4C_SEGMENTS: tuple[str, ...] = (
    "basal septal", "mid septal", "apical septal", "apical lateral", "mid lateral", "basal lateral",
)

#: The two walls of each apical view, (first = contour start, second).
VIEW_WALLS: Mapping[str, tuple[str, str]] = MappingProxyType({
    "a4c": ("septal", "lateral"),
    "a2c": ("inferior", "anterior"),
    "a3c": ("inferolateral", "anteroseptal"),
})


def _six(first: str, second: str) -> tuple[str, ...]:
    return (f"basal {first}", f"mid {first}", f"apical {first}", f"apical {second}", f"mid {second}", f"basal {second}")


#: The six segments of each apical view in contour order (A4C names as :data:`A4C_SEGMENTS`).
VIEW_SEGMENTS: Mapping[str, tuple[str, ...]] = MappingProxyType({v: _six(*w) for v, w in VIEW_WALLS.items()})

#: The 18-segment model: six walls at basal, mid and apical levels.
SEGMENTS_18: tuple[str, ...] = tuple(
    f"{level} {wall}" for level in ("basal", "mid", "apical")
    for wall in ("anterior", "anteroseptal", "inferoseptal", "inferior", "inferolateral", "anterolateral")
)

_WALL_18 = {"a4c": ("inferoseptal", "anterolateral"), "a2c": ("inferior", "anterior"), "a3c": ("inferolateral", "anteroseptal")}

#: Each view's segment name → its 18-segment name.
VIEW_TO_18: Mapping[str, Mapping[str, str]] = MappingProxyType({
    v: MappingProxyType(dict(zip(VIEW_SEGMENTS[v], _six(*_WALL_18[v])))) for v in VIEW_WALLS
})

#: 18-segment name → AHA 17-segment number (the two apical septal and two apical lateral share one).
AHA17_FROM_18: Mapping[str, int] = MappingProxyType({
    **{f"{lv} {w}": i + off for off, lv in ((1, "basal"), (7, "mid")) for i, w in enumerate(
        ("anterior", "anteroseptal", "inferoseptal", "inferior", "inferolateral", "anterolateral"))},
    "apical anterior": 13, "apical anteroseptal": 14, "apical inferoseptal": 14, "apical inferior": 15,
    "apical inferolateral": 16, "apical anterolateral": 16,
})

#: Each view's segment name → AHA 17-segment number.
VIEW_AHA_NUMBERS: Mapping[str, Mapping[str, int]] = MappingProxyType({
    v: MappingProxyType({k: AHA17_FROM_18[s18] for k, s18 in VIEW_TO_18[v].items()}) for v in VIEW_WALLS
})

#: AHA 17-segment number of each A4C segment (inferoseptal and anterolateral walls).
A4C_AHA_NUMBERS: Mapping[str, int] = VIEW_AHA_NUMBERS["a4c"]

"""Segments of the apical echocardiographic views.

The apical four-chamber (A4C) view cuts the inferoseptal and anterolateral walls; traced as an
open contour from the septal mitral hinge round the apex to the lateral hinge, its sixths are the
segments below (order kept). AHA 17-segment numbers (Cerqueira MD et al., Circulation
2002;105:539-542, doi:10.1161/hc0402.102975; the wall each segment lies in ⚠M).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

__all__ = ["A4C_AHA_NUMBERS", "A4C_SEGMENTS"]

#: The six A4C segments, septal hinge → apex → lateral hinge.
A4C_SEGMENTS: tuple[str, ...] = (
    "basal septal", "mid septal", "apical septal", "apical lateral", "mid lateral", "basal lateral",
)
#: AHA 17-segment number of each A4C segment (inferoseptal and anterolateral walls).
A4C_AHA_NUMBERS: Mapping[str, int] = MappingProxyType({
    "basal septal": 3, "mid septal": 9, "apical septal": 14, "apical lateral": 16, "mid lateral": 12,
    "basal lateral": 6,
})

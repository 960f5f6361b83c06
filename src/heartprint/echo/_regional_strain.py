"""Regional longitudinal strain of the three apical views: the 18-segment model and its AHA 17 bull's-eye.

The apical four-chamber (A4C), two-chamber (A2C) and long-axis (A3C) views each give six segments
(basal, mid, apical × the view's two walls; :data:`heartprint.anatomy.echo_views.VIEW_TO_18`), which
together are the 18-segment model of longitudinal strain (Lang RM et al., ASE/EACVI chamber
quantification 2015, DOI 10.1016/j.echo.2014.10.003; Voigt JU et al., EACVI/ASE/Industry Task
Force to standardise deformation imaging, Eur Heart J Cardiovasc Imaging 2015;16:1–11,
DOI 10.1093/ehjci/jeu184 — DOI and title checked with the search tool; the table contents ⚠M).
The AHA 17-segment values (Cerqueira 2002, DOI 10.1161/hc0402.102975) take basal and mid segments
as they are and fold the six apical segments into four: segment 14 (apical septal) is the mean of
apical anteroseptal (A3C) and apical inferoseptal (A4C), segment 16 (apical lateral) the mean of
apical inferolateral (A3C) and apical anterolateral (A4C).  Segment 17 (apical cap) is not
measured by the views' sixths: it is reported as not assessable, never filled in.

GLS is the mean of the three views' GLS (each the Lagrangian change of that view's whole
endocardial contour length, ED → ES), the usual way the apical views are combined into one global
value (⚠M: Voigt 2015 discusses global-length and segment-average definitions of GLS, as
remembered, not re-read).  With a view missing, the GLS and that view's segments are not
assessable (never filled in from the other views).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from heartprint.anatomy.echo_views import AHA17_FROM_18, SEGMENTS_18, VIEW_SEGMENTS, VIEW_TO_18
from heartprint.echo._strain import StrainResult
from heartprint.errors import InvalidInputError

__all__ = ["RegionalStrain", "regional_strain"]


@dataclass(frozen=True)
class RegionalStrain:
    """Longitudinal strain of the LV from the apical views.

    Attributes
    ----------
    gls_percent
        Mean GLS (%) of the A4C, A2C and A3C views; ``None`` unless all three were given.
    view_gls_percent
        GLS (%) of each view given.
    segments18
        Strain (%) of each measured segment of the 18-segment model (names of
        :data:`heartprint.anatomy.echo_views.SEGMENTS_18`).
    aha17
        Strain (%) keyed by AHA 17-segment number, for the segments measured (1–16).
    not_assessable
        ``{what: why}`` for every 18-segment name, AHA number and the GLS that could not be
        measured (e.g. segment 17, or a missing view's segments).
    """

    gls_percent: float | None
    view_gls_percent: dict[str, float]
    segments18: dict[str, float]
    aha17: dict[int, float]
    not_assessable: dict[str | int, str] = field(default_factory=dict)


def regional_strain(views: Mapping[str, StrainResult]) -> RegionalStrain:
    """Combine per-view :class:`StrainResult` s (``{"a4c": …, "a2c": …, "a3c": …}``) into 18 and AHA 17 segments.

    Each result must have been measured with the matching ``view=`` (its segment names are that
    view's); the A4C result may be the default ``view="a4c"`` result of
    :func:`heartprint.echo.global_longitudinal_strain`.
    """
    if not isinstance(views, Mapping) or not views:
        raise InvalidInputError(f"views={views!r}: expected a mapping {{'a4c'|'a2c'|'a3c': StrainResult}}")
    seg18: dict[str, float] = {}
    gls: dict[str, float] = {}
    for key, res in views.items():
        if key not in VIEW_SEGMENTS:
            raise InvalidInputError(f"view key {key!r}: expected one of {sorted(VIEW_SEGMENTS)}")
        if not isinstance(res, StrainResult):
            raise InvalidInputError(f"views[{key!r}]: expected a StrainResult, got {type(res).__name__}")
        if res.view != key or set(res.segments) != set(VIEW_SEGMENTS[key]):
            raise InvalidInputError(
                f"views[{key!r}] was measured as view {res.view!r} (segments {sorted(res.segments)}): "
                f"expected the {key} segments {list(VIEW_SEGMENTS[key])} (pass view={key!r} when measuring)")
        gls[key] = float(res.gls_percent)
        for name, value in res.segments.items():
            seg18[VIEW_TO_18[key][name]] = float(value)
    missing = [v for v in VIEW_SEGMENTS if v not in views]
    why: dict[str | int, str] = {}
    for v in missing:
        for name18 in VIEW_TO_18[v].values():
            why[name18] = f"not assessable: needs the {v.upper()} view"
    aha: dict[int, float] = {}
    for number in range(1, 17):
        parts = [n for n in SEGMENTS_18 if AHA17_FROM_18[n] == number]
        if all(p in seg18 for p in parts):
            aha[number] = float(np.mean([seg18[p] for p in parts]))
        else:
            why[number] = "not assessable: needs " + ", ".join(
                sorted({f"the {v.upper()} view" for v in missing for p in parts if p in VIEW_TO_18[v].values()}))
    why[17] = "not assessable: the apical cap is not one of the apical views' six segments"
    total = float(np.mean(list(gls.values()))) if not missing else None
    if missing:
        why["gls"] = "not assessable: needs " + ", ".join(f"the {v.upper()} view" for v in missing)
    ordered = {n: seg18[n] for n in SEGMENTS_18 if n in seg18}
    return RegionalStrain(gls_percent=total, view_gls_percent=gls, segments18=ordered, aha17=aha, not_assessable=why)

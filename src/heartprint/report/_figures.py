"""Report figures: AHA 17-segment bull's-eye, segmentation overlays, volume curves, and
the CT hooks (calcium lesion map, stenosis profile).

Each function takes arrays, :class:`heartprint.Image` objects or plain data (a series'
``figure_data``, a :class:`~heartprint.results.SegmentValues`' values) and returns
a Matplotlib :class:`~matplotlib.figure.Figure` (Agg backend, report style); nothing here
reads or writes files.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from heartprint.errors import InvalidInputError
from heartprint.image import Image
from heartprint.report._style import (
    ARTERY_COLOURS,
    LABEL_COLOURS,
    MISSING_COLOUR,
    OKABE_ITO,
    SEQUENTIAL_CMAP,
    style,
)

__all__ = [
    "BULLSEYE_LAYOUT",
    "bullseye",
    "overlay_figure",
    "choose_overlay_slices",
    "OVERLAY_LEVELS",
    "volume_curves_figure",
    "calcium_lesion_map",
    "stenosis_profile_figure",
]

#: AHA 17-segment bull's-eye geometry (Cerqueira MD et al. Circulation 2002;105:539-542,
#: doi:10.1161/hc0402.102975): segment → (inner radius, outer radius, start angle, end angle),
#: radii as fractions of the plot radius, angles in degrees counter-clockwise from 3 o'clock.
#: Basal ring outermost, apex (17) in the centre; anterior (1, 7, 13) at the top, septum
#: (2-3, 8-9, 14) on the left, inferior (4, 10, 15) at the bottom, lateral on the right.
BULLSEYE_LAYOUT: dict[int, tuple[float, float, float, float]] = {}
for _i in range(6):  # basal 1-6 and mid 7-12: 60° each, segment 1/7 centred at 90°
    _c = 90.0 + 60.0 * _i
    BULLSEYE_LAYOUT[1 + _i] = (0.75, 1.0, _c - 30.0, _c + 30.0)
    BULLSEYE_LAYOUT[7 + _i] = (0.5, 0.75, _c - 30.0, _c + 30.0)
for _i in range(4):  # apical 13-16: 90° each, 13 centred at 90°
    _c = 90.0 + 90.0 * _i
    BULLSEYE_LAYOUT[13 + _i] = (0.25, 0.5, _c - 45.0, _c + 45.0)
BULLSEYE_LAYOUT[17] = (0.0, 0.25, 0.0, 360.0)

_RING_NAMES = (("basal", 1.0), ("mid", 0.75), ("apical", 0.5))


def _segment_values(values: Mapping[Any, Any]) -> dict[int, float]:
    out: dict[int, float] = {}
    for k, v in values.items():
        try:
            seg = int(k)
        except (TypeError, ValueError):
            raise InvalidInputError(f"bull's-eye segment {k!r}: expected an AHA segment number 1-17") from None
        if seg not in BULLSEYE_LAYOUT:
            raise InvalidInputError(f"bull's-eye segment {seg}: expected an AHA segment number 1-17")
        if v is None:
            continue
        fv = float(v)
        if math.isfinite(fv):
            out[seg] = fv
    return out


def _text_colour(rgba: Sequence[float]) -> str:
    r, g, b = rgba[:3]
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def bullseye(
    values: Mapping[int, float],
    *,
    label: str,
    cmap: str = SEQUENTIAL_CMAP,
    vmin: float | None = None,
    vmax: float | None = None,
    title: str | None = None,
    fmt: str = "{:.1f}",
    annotate: bool = True,
    size_in: float = 3.6,
) -> Any:
    """AHA 17-segment bull's-eye plot of one value per segment.

    Parameters
    ----------
    values
        Segment number (1-17, int or numeric string) → value in the unit named by
        ``label``. Segments absent, ``None`` or NaN are drawn grey and hatched ("no data").
        Works for any per-segment quantity: wall thickness (mm), LGE transmurality (%),
        perfusion scores, native T1 (ms), ECV (%).
    label
        Colour-bar label with unit, e.g. ``"ED wall thickness (mm)"``.
    cmap
        Matplotlib colour map name (colour-blind safe: viridis, cividis, magma).
    vmin, vmax
        Colour limits; default the data's min and max.
    title
        Figure title.
    fmt
        Format of the value written in each segment (``annotate=True``).

    Returns
    -------
    matplotlib.figure.Figure
        Square data axes ``ax`` (``fig.axes[0]``) spanning -1.08..1.08 with the plot
        centred at (0, 0) and radius 1 (layout in :data:`BULLSEYE_LAYOUT`).
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import Normalize
    from matplotlib.patches import Circle, Wedge

    vals = _segment_values(values)
    finite = list(vals.values())
    lo = vmin if vmin is not None else (min(finite) if finite else 0.0)
    hi = vmax if vmax is not None else (max(finite) if finite else 1.0)
    if hi <= lo:
        hi = lo + 1.0
    norm = Normalize(lo, hi, clip=True)
    colours = plt.get_cmap(cmap)
    with style():
        fig = plt.figure(figsize=(size_in * 1.25, size_in))
        ax = fig.add_axes((0.02, 0.04, 0.74, 0.86))
        cax = fig.add_axes((0.80, 0.12, 0.04, 0.70))
        for seg, (r0, r1, a0, a1) in BULLSEYE_LAYOUT.items():
            v = vals.get(seg)
            face = colours(norm(v)) if v is not None else MISSING_COLOUR
            if seg == 17:
                patch = Circle((0, 0), r1, facecolor=face, edgecolor="white", linewidth=1.5,
                               hatch=None if v is not None else "///")
            else:
                patch = Wedge((0, 0), r1, a0, a1, width=r1 - r0, facecolor=face, edgecolor="white", linewidth=1.5,
                              hatch=None if v is not None else "///")
            ax.add_patch(patch)
            if annotate:
                rm = (r0 + r1) / 2 if seg != 17 else 0.0
                am = math.radians((a0 + a1) / 2)
                x, y = rm * math.cos(am), rm * math.sin(am)
                tc = _text_colour(face if v is not None else (0.85, 0.85, 0.85))
                text = f"{seg}\n{fmt.format(v)}" if v is not None else f"{seg}\n–"
                ax.text(x, y, text, ha="center", va="center", fontsize=7, color=tc, linespacing=0.95)
        ax.text(0, 1.04, "anterior", ha="center", va="bottom", fontsize=7, color="#444444")
        ax.text(0, -1.04, "inferior", ha="center", va="top", fontsize=7, color="#444444")
        ax.text(-1.04, 0, "septal", ha="right", va="center", fontsize=7, color="#444444", rotation=90)
        ax.text(1.04, 0, "lateral", ha="left", va="center", fontsize=7, color="#444444", rotation=270)
        ax.set_xlim(-1.08, 1.08)
        ax.set_ylim(-1.08, 1.08)
        ax.set_aspect("equal")
        ax.axis("off")
        sm = plt.cm.ScalarMappable(norm=norm, cmap=colours)
        cb = fig.colorbar(sm, cax=cax)
        cb.set_label(label)
        if title:
            fig.suptitle(title, x=0.40, y=0.98, fontsize=10)
    return fig


#: Overlay slice levels, base to apex: AHA level (:data:`heartprint.anatomy` ``Level``) → row name
#: in the figure. The apex (segment 17) has no slice of its own in the overlay.
OVERLAY_LEVELS: dict[str, str] = {"basal": "basal", "mid": "mid-ventricular", "apical": "apical"}


def choose_overlay_slices(labels: np.ndarray, phase: int, coverage: Mapping[str, Any] | None = None) -> dict[str, int]:
    """A basal, a mid-ventricular and an apical slice index for overlays (base to apex).

    Uses the analysis' AHA levels (``coverage["levels_ed"]``: slice → ``basal``/``mid``/
    ``apical``/``apex``) when they name at least two levels, else thirds of the slices that
    hold LV cavity at ``phase`` (base at the end named by ``coverage["base_first"]``, or, if
    that is unknown, at the end with the larger LV cavity). Each level's middle slice is taken.
    Returns ``{"basal": z, "mid-ventricular": z, "apical": z}`` (only the levels found, in that
    order); ``{}`` without LV cavity.
    """
    cov = coverage or {}
    by_level: dict[str, list[int]] = {name: [] for name in OVERLAY_LEVELS.values()}
    for z, lev in (cov.get("levels_ed") or {}).items():
        if lev in OVERLAY_LEVELS:
            by_level[OVERLAY_LEVELS[lev]].append(int(z))
    if sum(bool(v) for v in by_level.values()) < 2:
        lv = [z for z in range(labels.shape[1]) if np.any(labels[phase, z] == 1)]
        if not lv:
            return {}
        n = len(lv)
        thirds = [lv[: max(1, n // 3)], lv[n // 3: max(n // 3 + 1, 2 * n // 3)], lv[2 * n // 3:] or lv[-1:]]
        base_first = cov.get("base_first")
        if base_first is None:
            # base/apex order unknown without geometry: the base is the end with the larger LV cavity
            area = [sum(int(np.sum(labels[phase, z] == 1)) for z in t) / len(t) for t in (thirds[0], thirds[2])]
            base_first = area[0] >= area[1]
        if not base_first:
            thirds = thirds[::-1]
        by_level = {"basal": thirds[0], "mid-ventricular": thirds[1], "apical": thirds[2]}
        if n < 3:  # too few slices for three distinct levels
            by_level = {"basal": thirds[0], "mid-ventricular": [],
                        "apical": thirds[2] if thirds[2] != thirds[0] else []}
    out: dict[str, int] = {}
    for name in OVERLAY_LEVELS.values():
        zs = sorted(by_level.get(name) or [])
        if zs:
            out[name] = zs[len(zs) // 2]
    return out


def _window(a: np.ndarray) -> tuple[float, float]:
    lo, hi = np.percentile(a, (1.0, 99.5))
    return float(lo), float(hi if hi > lo else lo + 1.0)


def overlay_figure(
    image: Image,
    labels: Image | np.ndarray,
    *,
    phases: Mapping[str, int],
    slices: Mapping[str, int],
    margin_mm: float = 25.0,
) -> Any:
    """Segmentation contours on the source images: one row per slice, one column per phase.

    Parameters
    ----------
    image
        Cine image ``(t, z, y, x)``.
    labels
        Label map of the same shape (0 background, 1 LV cavity, 2 LV myocardium, 3 RV cavity).
    phases
        Column title → phase index, e.g. ``{"ED": 0, "ES": 9}``.
    slices
        Row title → slice index, e.g. ``{"basal": 9, "mid-ventricular": 6, "apical": 3}``.
    margin_mm
        Crop around the labelled heart.

    Contours: LV endocardium (label 1 boundary), LV epicardium (labels 1 ∪ 2), RV
    endocardium (label 3), in Okabe–Ito colours.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    lab = labels.array if isinstance(labels, Image) else np.asarray(labels)
    img = image.array
    if img.ndim != 4 or lab.shape != img.shape:
        raise InvalidInputError(
            f"overlay of series {image.series_uid}: image shape {img.shape} and labels shape {lab.shape} "
            "must be the same (t, z, y, x)"
        )
    for name, t in phases.items():
        if not 0 <= int(t) < img.shape[0]:
            raise InvalidInputError(f"overlay: phase {name}={t} outside 0..{img.shape[0] - 1}")
    for name, z in slices.items():
        if not 0 <= int(z) < img.shape[1]:
            raise InvalidInputError(f"overlay: slice {name}={z} outside 0..{img.shape[1] - 1}")
    _, dy, dx = image.spacing
    heart = np.zeros(img.shape[2:], bool)
    for t in phases.values():
        for z in slices.values():
            heart |= lab[int(t), int(z)] > 0
    if heart.any():
        ys, xs = np.nonzero(heart)
        my, mx = int(round(margin_mm / dy)), int(round(margin_mm / dx))
        y0, y1 = max(0, ys.min() - my), min(img.shape[2], ys.max() + my + 1)
        x0, x1 = max(0, xs.min() - mx), min(img.shape[3], xs.max() + mx + 1)
    else:
        y0, y1, x0, x1 = 0, img.shape[2], 0, img.shape[3]
    contours = (
        ("LV endocardium", (1,), LABEL_COLOURS[1]),
        ("LV epicardium", (1, 2), LABEL_COLOURS[2]),
        ("RV endocardium", (3,), LABEL_COLOURS[3]),
    )
    nr, nc = len(slices), len(phases)
    with style():
        aspect = dy / dx
        h_in = 2.0 * (y1 - y0) * aspect / max(1, x1 - x0)
        fig, axes = plt.subplots(nr, nc, figsize=(2.0 * nc + 0.2, h_in * nr + 0.6), squeeze=False)
        for i, (sname, z) in enumerate(slices.items()):
            for j, (pname, t) in enumerate(phases.items()):
                ax = axes[i][j]
                a = img[int(t), int(z), y0:y1, x0:x1].astype(float)
                lo, hi = _window(img[int(t), int(z)])
                ax.imshow(a, cmap="gray", vmin=lo, vmax=hi, aspect=aspect, interpolation="bilinear")
                sl = lab[int(t), int(z), y0:y1, x0:x1]
                for _, vals, colour in contours:
                    mask = np.isin(sl, vals)
                    if mask.any() and not mask.all():
                        ax.contour(mask.astype(float), levels=[0.5], colors=[colour], linewidths=1.3)
                ax.set_xticks([])
                ax.set_yticks([])
                for s in ax.spines.values():
                    s.set_visible(False)
                ax.set_title(f"{pname} (phase {int(t)})\n{sname} (slice {int(z)})", fontsize=8)
        handles = [Line2D([0], [0], color=c, lw=2, label=n) for n, _, c in contours]
        fig.legend(handles=handles, loc="lower center", ncol=3, bbox_to_anchor=(0.5, 0.0))
        fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def volume_curves_figure(curves: Mapping[str, Any], phases: Mapping[str, Any] | None = None) -> Any:
    """LV and RV cavity volume over the cardiac cycle with ED and ES marked.

    Parameters
    ----------
    curves
        ``{"time_ms": [...], "lv_cavity": [...], "rv_cavity": [...], "unit": "mL"}`` (the
        cine analysis' ``curves``); ``lv_myocardium`` is not drawn.
    phases
        ``{"lv_ed": i, "lv_es": j, "rv_ed": k, "rv_es": l}`` phase indices.
    """
    import matplotlib.pyplot as plt

    t = np.asarray(curves.get("time_ms") or [], float)
    if t.size == 0:
        raise InvalidInputError("volume curves: 'time_ms' is empty")
    unit = curves.get("unit", "mL")
    phases = phases or {}
    series = (("LV", "lv_cavity", OKABE_ITO["blue"], "o"), ("RV", "rv_cavity", OKABE_ITO["vermillion"], "s"))
    with style():
        fig, ax = plt.subplots(figsize=(5.6, 3.0))
        for name, key, colour, marker in series:
            v = curves.get(key)
            if v is None:
                continue
            v = np.asarray([np.nan if x is None else x for x in v], float)
            ax.plot(t, v, color=colour, marker=marker, ms=3, lw=1.6, label=f"{name} cavity")
            for ev, ls in (("ed", "--"), ("es", ":")):
                idx = phases.get(f"{name.lower()}_{ev}")
                if idx is None or not 0 <= int(idx) < t.size:
                    continue
                ax.axvline(t[int(idx)], color=colour, ls=ls, lw=1.0, alpha=0.8)
                ax.annotate(f"{name} {ev.upper()} {v[int(idx)]:.0f} {unit}", (t[int(idx)], v[int(idx)]),
                            xytext=(5, 6 if ev == "ed" else -12), textcoords="offset points", fontsize=7, color=colour,
                            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.8})
        ax.set_xlabel("time from R wave (ms)")
        ax.set_ylabel(f"cavity volume ({unit})")
        ax.set_xlim(t.min(), t.max())
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo - 0.08 * (hi - lo), hi + 0.10 * (hi - lo))
        ax.legend(loc="lower right")
        ax.set_title("Volumes over the cardiac cycle (ED dashed, ES dotted)", pad=8)
        fig.tight_layout()
    return fig


def calcium_lesion_map(result: Mapping[str, Any], image: Image | None = None) -> Any | None:
    """Coronary calcium lesions (a series' ``figure_data["lesions"]``, with ``agatston`` for
    the title); ``None`` without lesions.

    With the CT ``image`` (``(z, y, x)`` HU), lesions are drawn on an axial maximum
    intensity projection at their centroid (``centroid_index``); without it, at their
    patient position (``centroid_lps_mm``, L → right of the plot, P → down). Marker area
    scales with the lesion's Agatston score, colour is the artery (LM/LAD/LCx/RCA).
    """
    import matplotlib.pyplot as plt

    lesions = list(result.get("lesions") or [])
    if not lesions:
        return None
    with style():
        fig, ax = plt.subplots(figsize=(4.6, 4.2))
        if image is not None and image.array.ndim == 3:
            mip = np.clip(image.array.max(axis=0), -200, 800)
            _, dy, dx = image.spacing
            ax.imshow(mip, cmap="gray", aspect=dy / dx)
            xy = [(les["centroid_index"][2], les["centroid_index"][1]) for les in lesions]
            ax.set_xticks([])
            ax.set_yticks([])
        else:
            xy = [(les["centroid_lps_mm"][0], les["centroid_lps_mm"][1]) for les in lesions]
            ax.invert_yaxis()
            ax.set_xlabel("L (mm)")
            ax.set_ylabel("P (mm)")
            ax.set_aspect("equal")
        seen = set()
        for les, (x, y) in zip(lesions, xy):
            art = les.get("artery") or "unassigned"
            colour = ARTERY_COLOURS.get(art, ARTERY_COLOURS["unassigned"])
            size = min(400.0, 20.0 + 0.4 * max(0.0, float(les.get("agatston") or 0.0)))
            ax.scatter([x], [y], s=size, facecolor=colour, edgecolor="white", linewidth=0.8, alpha=0.9,
                       label=art if art not in seen else None)
            seen.add(art)
        ax.legend(loc="best", title="artery")
        total = result.get("agatston")
        ax.set_title("Calcium lesions" + (f" (Agatston {float(total):.0f})" if total is not None else ""))
        fig.tight_layout()
    return fig


def stenosis_profile_figure(result: Mapping[str, Any], *, max_vessels: int = 6) -> Any | None:
    """Lumen diameter along each vessel with the reference diameter and lesions (a series'
    ``figure_data["vessels"]``: stenosis profiles); ``None`` without profiles."""
    import matplotlib.pyplot as plt

    vessels = [v for v in (result.get("vessels") or []) if v.get("arc_mm")][:max_vessels]
    if not vessels:
        return None
    with style():
        fig, axes = plt.subplots(len(vessels), 1, figsize=(5.6, 1.7 * len(vessels) + 0.4), squeeze=False)
        for ax, v in zip(axes[:, 0], vessels):
            arc = np.asarray([np.nan if x is None else x for x in v["arc_mm"]], float)
            d = np.asarray([np.nan if x is None else x for x in v.get("diameter_mm") or []], float)
            ref = np.asarray([np.nan if x is None else x for x in v.get("reference_diameter_mm") or []], float)
            name = (v.get("centreline") or {}).get("name") or v.get("name") or "vessel"
            if d.size == arc.size:
                ax.plot(arc, d, color=OKABE_ITO["blue"], lw=1.5, label="lumen diameter")
            if ref.size == arc.size:
                ax.plot(arc, ref, color=OKABE_ITO["black"], lw=1.0, ls="--", label="reference diameter")
            for les in v.get("lesions") or []:
                ax.axvspan(les["start_mm"], les["end_mm"], color=OKABE_ITO["orange"], alpha=0.3, lw=0)
                ax.text(les["mla_arc_mm"], ax.get_ylim()[1], f"{les['diameter_stenosis_pct']:.0f} %", ha="center",
                        va="top", fontsize=7, color=OKABE_ITO["vermillion"])
            ax.set_ylabel("diameter (mm)")
            ax.set_title(str(name), loc="left", fontsize=9)
        axes[-1, 0].set_xlabel("distance along centreline (mm)")
        axes[0, 0].legend(loc="upper right")
        fig.tight_layout()
    return fig

"""One look for every report figure: Agg backend, fonts, colour-blind-safe palettes.

Lines use the Okabe–Ito palette (Okabe M, Ito K. Color Universal Design, 2002; Wong B.
Points of view: Color blindness. Nat Methods 2011;8:441. doi:10.1038/nmeth.1618); maps use
perceptually uniform viridis/cividis (cividis: Nuñez JR et al. PLoS One 2018;13:e0199239.
doi:10.1371/journal.pone.0199239).
"""

from __future__ import annotations

import base64
import io
from typing import Any

import matplotlib

matplotlib.use("Agg", force=True)

import matplotlib.pyplot as plt  # noqa: E402

#: Okabe–Ito colours by name.
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

#: Colours of heartprint's labels (1 LV cavity, 2 LV myocardium, 3 RV cavity) in figures.
LABEL_COLOURS: dict[int, str] = {1: OKABE_ITO["sky_blue"], 2: OKABE_ITO["orange"], 3: OKABE_ITO["reddish_purple"]}
LABEL_NAMES: dict[int, str] = {1: "LV cavity", 2: "LV myocardium", 3: "RV cavity"}

#: Coronary arteries in figures (calcium map, stenosis profiles).
ARTERY_COLOURS: dict[str, str] = {
    "LM": OKABE_ITO["black"],
    "LAD": OKABE_ITO["blue"],
    "LCx": OKABE_ITO["bluish_green"],
    "RCA": OKABE_ITO["vermillion"],
    "unassigned": "#999999",
}

#: Default colour maps: sequential maps for values, missing segments drawn in this grey.
SEQUENTIAL_CMAP = "viridis"
MISSING_COLOUR = "#d9d9d9"

#: Figure resolution (dots per inch) of the PNGs embedded in reports.
DPI = 110

_RC: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "legend.frameon": False,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "svg.fonttype": "none",
}


def style() -> Any:
    """Context manager applying the report style (``with style(): ...``)."""
    return plt.rc_context(_RC)


def png_bytes(fig: Any, *, dpi: int = DPI) -> bytes:
    """PNG of a figure; the figure is closed afterwards."""
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", pad_inches=0.05)
    finally:
        plt.close(fig)
    return buf.getvalue()


def data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` for an inline ``<img src>``."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")

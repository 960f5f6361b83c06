"""heartprint's label convention for cardiac segmentations — the one place it is defined.

Datasets with other conventions (ACDC, M&Ms, UK Biobank, ...) are mapped to these values
when they are loaded; no other module redefines the integers.
"""

from __future__ import annotations

__all__ = ["BACKGROUND", "LV_CAVITY", "LV_MYOCARDIUM", "RV_CAVITY", "LABEL_NAMES", "KNOWN_LABELS"]

BACKGROUND: int = 0
LV_CAVITY: int = 1  #: left-ventricular blood pool (papillary muscles included, as segmented)
LV_MYOCARDIUM: int = 2  #: left-ventricular myocardium (compact wall)
RV_CAVITY: int = 3  #: right-ventricular blood pool

LABEL_NAMES: dict[int, str] = {
    BACKGROUND: "background",
    LV_CAVITY: "LV cavity",
    LV_MYOCARDIUM: "LV myocardium",
    RV_CAVITY: "RV cavity",
}
KNOWN_LABELS: frozenset[int] = frozenset(LABEL_NAMES)

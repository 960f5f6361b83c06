"""Study reports: one self-contained HTML file and a PDF per study, with figures.

The header names the patient (name, ID, sex, age or birth date, height, weight, BSA, each
with where it came from) and the studies used (this one and the earlier studies whose
measurements the interpretation used). Sections follow the clinical questions (function,
ischaemia, scar/tissue, coronary anatomy and plaque, aetiology, recommendations); a series
goes to its analyser's section, a section without data says "not assessed". Every number is
shown at clinical precision with its unit, reference range, flag and z-score where one
exists; every finding with its evidence and citation; QC flags as plain sentences grouped by
severity. Series UIDs, methods, software and model versions and references stand in the
technical appendix "Series and software"; the research and decision support statement
stands at the top and the bottom.

Needs the ``report`` extra (matplotlib, jinja2, weasyprint); the PDF is skipped with a
note when WeasyPrint cannot be loaded.

Public API
----------
render_report
    ``render_report(result: StudyResult, out_dir, *, figures=True) -> ReportFiles``.
ReportFiles
    Paths written (``html``, ``pdf`` or ``None``) and notes.
build_report
    ``build_report(result: StudyResult, *, figures=True) -> dict``: the report's content as
    data (header, sections, rows, findings, QC, appendix).
bullseye
    AHA 17-segment bull's-eye of any per-segment value.
overlay_figure, choose_overlay_slices
    Segmentation contours on the source images at ED and ES (basal, mid, apical slices).
volume_curves_figure
    LV/RV volume over the cardiac cycle with ED/ES marked.
calcium_lesion_map, stenosis_profile_figure
    Drawn when a series' ``figure_data`` holds ``lesions`` / ``vessels``.
PRECISION, format_value
    Clinical display precision by unit (and by concept code where needed).
"""

from heartprint.report._figures import (
    BULLSEYE_LAYOUT,
    bullseye,
    calcium_lesion_map,
    choose_overlay_slices,
    overlay_figure,
    stenosis_profile_figure,
    volume_curves_figure,
)
from heartprint.report._content import PRECISION, PRECISION_BY_CODE, SECTIONS, build_report, format_value
from heartprint.report._render import ReportFiles, render_html, render_report

__all__ = [
    "BULLSEYE_LAYOUT",
    "PRECISION",
    "PRECISION_BY_CODE",
    "ReportFiles",
    "SECTIONS",
    "build_report",
    "bullseye",
    "calcium_lesion_map",
    "choose_overlay_slices",
    "format_value",
    "overlay_figure",
    "render_html",
    "render_report",
    "stenosis_profile_figure",
    "volume_curves_figure",
]

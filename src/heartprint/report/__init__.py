"""Study reports: one self-contained HTML file and a PDF per study, with figures.

Sections follow the clinical questions (function, ischaemia, scar/tissue, coronary
anatomy and plaque, aetiology, recommendations), not the modules that measured; a section
without data says "not assessed". Every number carries its unit, reference range and flag;
every finding its evidence and citation; QC flags and software/model versions are listed,
and the research and decision support statement stands at the top and the bottom.

Needs the ``report`` extra (matplotlib, jinja2, weasyprint); the PDF is skipped with a
note when WeasyPrint cannot be loaded.

Public API
----------
render_report
    ``render_report(result, *, images=None, labels=None, out_dir) -> ReportFiles``.
ReportFiles
    Paths written (``html``, ``pdf`` or ``None``) and notes.
build_report
    The report's content as data (sections, rows, findings, QC, versions).
bullseye
    AHA 17-segment bull's-eye of any per-segment value.
overlay_figure, choose_overlay_slices
    Segmentation contours on the source images at ED and ES.
volume_curves_figure
    LV/RV volume over the cardiac cycle with ED/ES marked.
calcium_lesion_map, stenosis_profile_figure
    Hooks for ``ct_calcium`` and CCTA results (drawn when a study has them).
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
from heartprint.report._content import SECTIONS, build_report
from heartprint.report._render import ReportFiles, render_html, render_report

__all__ = [
    "BULLSEYE_LAYOUT",
    "ReportFiles",
    "SECTIONS",
    "build_report",
    "bullseye",
    "calcium_lesion_map",
    "choose_overlay_slices",
    "overlay_figure",
    "render_html",
    "render_report",
    "stenosis_profile_figure",
    "volume_curves_figure",
]

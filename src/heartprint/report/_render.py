"""Render a study report to a self-contained HTML file and a PDF (WeasyPrint), atomically."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from heartprint._atomic import atomic_file
from heartprint.errors import InvalidInputError
from heartprint.report._content import UNVERIFIED_NOTE, build_report
from heartprint.results import StudyResult

__all__ = ["ReportFiles", "render_report", "render_html"]


@dataclass(frozen=True)
class ReportFiles:
    """Paths of a rendered report; ``pdf`` is ``None`` when no PDF could be made (see ``notes``)."""

    html: Path
    pdf: Path | None
    notes: list[str] = field(default_factory=list)


def _template_text(name: str) -> str:
    return resources.files("heartprint.report").joinpath("templates", name).read_text(encoding="utf-8")


def render_html(context: Mapping[str, Any], *, notes: list[str] | None = None) -> str:
    """HTML text of a report context (:func:`heartprint.report.build_report`), CSS inlined."""
    try:
        import jinja2
    except ImportError as exc:  # pragma: no cover - the report extra installs it
        raise InvalidInputError(f"the report needs jinja2 (pip install 'heartprint[report]'): {exc}") from None
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    template = env.from_string(_template_text("report.html.j2"))
    return template.render(r=context, css=_template_text("report.css"), render_notes=list(notes or []),
                           unverified_note=UNVERIFIED_NOTE)


def _weasyprint() -> tuple[Any, str]:
    """(weasyprint.HTML, "") or (None, reason)."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # OSError: missing system libraries (pango, harfbuzz)
        return None, f"PDF not written: WeasyPrint is unavailable ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}). Install with pip install 'heartprint[report]' and the system libraries it needs."
    return HTML, ""


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, with the usual file mode (0666 less the umask)."""
    with atomic_file(path, suffix=".tmp") as tmp:
        tmp.write_bytes(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)


def render_report(result: StudyResult, out_dir: str | os.PathLike, *, figures: bool = True,
                  pdf: bool = True) -> ReportFiles:
    """Write ``<out_dir>/report.html`` (self-contained) and ``<out_dir>/report.pdf``.

    Parameters
    ----------
    result
        The typed study result (:func:`heartprint.pipeline.analyze`). Overlays are drawn from
        each series' ``image`` and ``labels``; without them the report says so.
    out_dir
        Folder to write into (created if missing; the output writer passes a temporary folder it
        moves into place). Each file is written to a temporary name beside its destination and
        moved into place.
    figures
        Draw figures; ``False`` for a text-only report.
    pdf
        Also write the PDF. If WeasyPrint cannot be imported the PDF is skipped, the reason is
        listed in ``ReportFiles.notes`` and at the end of the HTML.

    Returns
    -------
    ReportFiles
        ``html``, ``pdf`` (``None`` when no PDF was made) and ``notes``.
    """
    if not isinstance(result, StudyResult):
        raise InvalidInputError(f"render_report: expected a heartprint.results.StudyResult, got {type(result).__name__}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    html_cls = None
    if pdf:
        html_cls, reason = _weasyprint()
        if html_cls is None:
            notes.append(reason)
    context = build_report(result, figures=figures)
    html = render_html(context, notes=notes)
    html_path = out / "report.html"
    pdf_path: Path | None = None
    if html_cls is not None:
        data = html_cls(string=html, base_url=str(out)).write_pdf()
        pdf_path = out / "report.pdf"
        _atomic_write(pdf_path, data)
    _atomic_write(html_path, html.encode("utf-8"))
    return ReportFiles(html=html_path, pdf=pdf_path, notes=notes)

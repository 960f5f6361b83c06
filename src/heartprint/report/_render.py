"""Render a study report to a self-contained HTML file and a PDF (WeasyPrint), atomically."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from heartprint._atomic import atomic_file
from heartprint.errors import InvalidInputError
from heartprint.image import Image

__all__ = ["ReportFiles", "render_report", "render_html"]

_SCHEMA = "heartprint.study/1"


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
    return template.render(r=context, css=_template_text("report.css"), render_notes=list(notes or []))


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


def render_report(
    result: Mapping[str, Any],
    *,
    images: Mapping[str, Image] | None = None,
    labels: Mapping[str, Image] | None = None,
    out_dir: str | os.PathLike,
    basename: str = "report",
    pdf: bool = True,
    title: str | None = None,
) -> ReportFiles:
    """Write ``<out_dir>/<basename>.html`` (self-contained) and ``<basename>.pdf``.

    Parameters
    ----------
    result
        ``heartprint.study/1`` result dict (:meth:`heartprint.pipeline.StudyResult.to_dict`,
        or a ``measurements.json`` read back).
    images, labels
        Series UID → source :class:`~heartprint.Image` and label map (``(t, z, y, x)`` for
        cine); the segmentation overlays need both, other figures need neither. Without
        them the overlays are skipped and the report says so.
    out_dir
        Folder to write into (created if missing). Each file is written to a temporary
        name beside its destination and moved into place.
    pdf
        Also write the PDF. If WeasyPrint cannot be imported the PDF is skipped, the
        reason is listed in ``ReportFiles.notes`` and at the end of the HTML.

    Returns
    -------
    ReportFiles
    """
    if not isinstance(result, Mapping) or result.get("schema") != _SCHEMA:
        got = result.get("schema") if isinstance(result, Mapping) else type(result).__name__
        raise InvalidInputError(f"render_report: expected a {_SCHEMA!r} result dict, got schema {got!r}")
    from heartprint.report._content import build_report

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    html_cls = None
    if pdf:
        html_cls, reason = _weasyprint()
        if html_cls is None:
            notes.append(reason)
    context = build_report(result, images=images, labels=labels, title=title)
    html = render_html(context, notes=notes)
    html_path = out / f"{basename}.html"
    pdf_path: Path | None = None
    if html_cls is not None:
        data = html_cls(string=html, base_url=str(out)).write_pdf()
        pdf_path = out / f"{basename}.pdf"
        _atomic_write(pdf_path, data)
    _atomic_write(html_path, html.encode("utf-8"))
    return ReportFiles(html=html_path, pdf=pdf_path, notes=notes)

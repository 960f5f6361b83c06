"""Regenerate the report example images in docs/ from the demo patient.

    .venv/bin/python docs/make_report_examples.py            # writes the demo patient to a temporary folder
    .venv/bin/python docs/make_report_examples.py DICOM_DIR  # or analyses an existing DICOM folder

Runs :func:`heartprint.pipeline.analyze` on the demo patient (CMR: cine, LGE, T1; CT: calcium),
takes the CMR study, and writes docs/report_bullseye.png (wall thickness, LGE transmurality,
native T1 side by side), report_overlay.png (basal, mid-ventricular and apical slices at ED and
ES), report_curves.png and report_screenshot.png (the rendered report in headless Chromium),
palette-quantised to stay small.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image as PILImage

from heartprint.pipeline import analyze
from heartprint.report import bullseye, choose_overlay_slices, overlay_figure, render_report, volume_curves_figure
from heartprint.report._content import decimals_for
from heartprint.report._style import png_bytes

DOCS = Path(__file__).resolve().parent


def _save(png: bytes, name: str) -> None:
    path = DOCS / name
    path.write_bytes(png)
    PILImage.open(path).convert("RGB").quantize(colors=128).save(path, optimize=True)
    print(f"{path} {path.stat().st_size // 1024} KB")


def _side_by_side(pngs: list[bytes]) -> bytes:
    import io

    imgs = [PILImage.open(io.BytesIO(p)).convert("RGB") for p in pngs]
    out = PILImage.new("RGB", (sum(i.width for i in imgs), max(i.height for i in imgs)), "white")
    x = 0
    for i in imgs:
        out.paste(i, (x, 0))
        x += i.width
    buf = io.BytesIO()
    out.save(buf, format="PNG")
    return buf.getvalue()


def main(dicom: Path, work: Path) -> None:
    results = analyze(dicom)
    cmr = next(r for r in results if "MR" in r.study.modalities)
    maps = [sm for s in cmr.analysed() for sm in s.segment_maps]
    _save(_side_by_side([png_bytes(bullseye(dict(sm.values), label=sm.label, cmap=sm.cmap, vmin=sm.vmin, vmax=sm.vmax,
                                            fmt="{:.%df}" % (decimals_for(sm.code, sm.unit) or 0)))
                         for sm in maps]), "report_bullseye.png")
    cine = next(s for s in cmr.analysed() if s.figure_data.get("curves"))
    fd = cine.figure_data
    _save(png_bytes(volume_curves_figure(fd["curves"], fd["phases"])), "report_curves.png")
    ph = fd["phases"]
    slices = choose_overlay_slices(cine.labels.array, ph["lv_ed"], fd.get("coverage"))
    phases = {"ED": ph["lv_ed"], "ES": ph["lv_es"]}
    _save(png_bytes(overlay_figure(cine.image, cine.labels, phases=phases, slices=slices)), "report_overlay.png")
    files = render_report(cmr, work / "report", pdf=False)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium:
        shot = work / "shot.png"
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--disable-component-update", "--no-first-run", f"--user-data-dir={work}/profile",
                        f"--screenshot={shot}", "--window-size=900,1500", files.html.resolve().as_uri()],
                       capture_output=True, check=True, timeout=120)
        _save(shot.read_bytes(), "report_screenshot.png")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        if len(sys.argv) > 1:
            src = Path(sys.argv[1])
        else:
            from heartprint.phantoms import write_demo_patient

            src = Path(tmp) / "dicom"
            src.mkdir()
            write_demo_patient(src, seed=0, n_phases=10)
        main(src, Path(tmp))

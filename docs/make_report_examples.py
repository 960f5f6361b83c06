"""Regenerate the report example images in docs/ from a `heartprint demo --out DIR` folder.

    .venv/bin/heartprint demo --out /tmp/demo
    .venv/bin/python docs/make_report_examples.py /tmp/demo

Writes docs/report_bullseye.png, report_overlay.png, report_curves.png and
report_screenshot.png (headless Chromium, palette-quantised to stay small).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image as PILImage

from heartprint.io import load
from heartprint.io.nifti import read_nifti
from heartprint.report import bullseye, choose_overlay_slices, overlay_figure, volume_curves_figure
from heartprint.report._style import png_bytes

DOCS = Path(__file__).resolve().parent


def _save(png: bytes, name: str) -> None:
    path = DOCS / name
    path.write_bytes(png)
    PILImage.open(path).convert("RGB").quantize(colors=128).save(path, optimize=True)
    print(f"{path} {path.stat().st_size // 1024} KB")


def main(demo: Path) -> None:
    doc = json.loads((demo / "result" / "measurements.json").read_text())
    series = next(s for s in doc["series"] if s["kind"] == "cine_sax")
    res, uid = series["result"], series["series_uid"]
    _save(png_bytes(bullseye(res["segments"]["wall_thickness_mm"], label="ED wall thickness (mm)", vmin=0, vmax=15)),
          "report_bullseye.png")
    _save(png_bytes(volume_curves_figure(res["curves"], res["phases"])), "report_curves.png")
    img = load(demo / "dicom", series_uid=uid)
    lab = read_nifti(demo / "result" / "labels" / f"{uid}.nii.gz")
    ph = res["phases"]
    slices = choose_overlay_slices(lab.array, ph["lv_ed"], res.get("coverage"))
    _save(png_bytes(overlay_figure(img, lab, phases={"ED": ph["lv_ed"], "ES": ph["lv_es"]}, slices=slices)),
          "report_overlay.png")
    chromium = shutil.which("chromium")
    if chromium:
        with tempfile.TemporaryDirectory() as tmp:
            shot = Path(tmp) / "shot.png"
            subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                            "--disable-component-update", "--no-first-run", f"--user-data-dir={tmp}/profile",
                            f"--screenshot={shot}", "--window-size=900,1500",
                            (demo / "result" / "report.html").resolve().as_uri()], capture_output=True, check=True, timeout=120)
            _save(shot.read_bytes(), "report_screenshot.png")


if __name__ == "__main__":
    main(Path(sys.argv[1]))

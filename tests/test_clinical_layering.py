"""``clinical`` works from numbers only: importing every rule pulls in no pixel room."""

import subprocess
import sys

FORBIDDEN = ("io", "segmentation", "cmr", "ct", "nuclear", "echo", "report", "service", "pipeline")
MODULES = ("ptp", "cadrads", "calcium", "ischaemia", "heart_failure", "tissue", "devices", "reference_ranges")


def test_no_pixel_rooms_imported():
    code = (
        "import sys, heartprint.clinical as c\n"
        + "".join(f"import heartprint.clinical.{m}\n" for m in MODULES)
        + "[getattr(c, n) for n in c.__all__]\n"
        + f"bad = [m for m in sys.modules if m.split('.')[:2] in [['heartprint', r] for r in {FORBIDDEN!r}]]\n"
        + "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"clinical imported pixel rooms: {out}"


def test_public_api_resolves():
    import heartprint.clinical as c

    for name in c.__all__:
        assert callable(getattr(c, name)), name

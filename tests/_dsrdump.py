"""Reading dcmtk ``dsrdump`` text in tests: every NUM content item with its concept name, value and
the Finding Site that modifies it (shared by tests/test_io_sr.py and tests/test_io_sr_sources.py)."""

from __future__ import annotations

import re

_NUM = re.compile(r'<contains NUM:\([^,]*,[^,]*,"([^"]*)"\)="([^"]+)" \(')
_SITE = re.compile(r'"Finding Site"\)=\(([^,]+),([^,]+),"([^"]+)"\)')


def num_items(text: str) -> list[tuple[str, float, tuple[str, str, str] | None]]:
    """``(concept meaning, value, (code, scheme, meaning) of its Finding Site or None)`` per NUM item,
    the site taken from the concept-modifier items that directly follow it."""
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        num = _NUM.search(line)
        if not num:
            continue
        site = None
        for nxt in lines[i + 1:]:
            if "<has concept mod CODE:" not in nxt:
                break
            hit = _SITE.search(nxt)
            if hit:
                site = hit.groups()
        out.append((num.group(1), float(num.group(2)), site))
    return out

"""One study of a cohort (its own module: the sources, the archive client and the tasks all use it)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CohortItem", "safe_id"]

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class CohortItem:
    """One study of a cohort: where it is, its name in the run, its patient and given facts.

    ``item_id`` names the study's output folder (``OUT/studies/<item_id>/``) and its rows; it is
    made of letters, digits, ``.``, ``_`` and ``-`` only and unique within the run. ``path`` is a
    file or folder, or for a study in an archive its address ``orthanc+http://…/studies/<id>``
    (:mod:`heartprint.cohort._archive`).
    """

    item_id: str
    path: str
    patient: str | None = None
    facts: Mapping[str, Any] = field(default_factory=dict)

    def options_facts(self) -> dict[str, Any]:
        """The facts as :class:`~heartprint.pipeline.AnalysisOptions` keywords (only those given)."""
        f = dict(self.facts)
        out: dict[str, Any] = {}
        for key, opt in (("sex", "sex"), ("age", "age_years"), ("height_cm", "height_cm"), ("weight_kg", "weight_kg")):
            if f.get(key) is not None:
                out[opt] = f[key]
        if f.get("facts"):
            out["entered_facts"] = f["facts"]
        return out


def safe_id(text: str, used: set[str]) -> str:
    """``text`` as an item name (letters, digits, ``.``, ``_``, ``-``; at most 80 characters), made unique
    against ``used`` by a numeric suffix, and added to it."""
    base = _SAFE.sub("-", text).strip(".-_")[:80].strip(".-_") or "study"
    name, i = base, 1
    while name in used:
        i += 1
        name = f"{base}-{i}"
    used.add(name)
    return name

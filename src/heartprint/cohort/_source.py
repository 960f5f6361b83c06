"""What a cohort run is given: the studies (a folder of studies, a manifest or an Orthanc query) and
each study's key.

A **folder of studies** holds one study per entry: each sub-folder, zip archive or single file
directly inside it is one study, named by its entry name (hidden entries are skipped). A
**manifest** is a CSV or Parquet table with a ``path`` column (absolute, or relative to the
manifest's folder), an optional ``patient`` column (the cohort's own patient identifier) and
optional patient-fact columns (:data:`FACT_COLUMNS`): ``sex``, ``age`` (years), ``height_cm``,
``weight_kg``, and ``facts`` (a JSON facts document, docs/patient_facts.md). An empty cell is an
unknown fact, never a default. Any other column is refused by name, so a misspelt fact is never
dropped silently. An **Orthanc query** ``orthanc+http://HOST:PORT/?Keyword=value&…`` lists the
archive's matching studies (:mod:`heartprint.cohort._archive`, which also keys and fetches them).

Each study is keyed (:func:`study_key`) by the SHA-256 of the content of every file under its
path (relative name, size and bytes), the heartprint version, the segmentation model's SHA-256
and the run's analysis options. A rerun skips a study whose key is already in the cohort's
tables and redoes one whose files, options or software changed.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any, Mapping

from heartprint.cohort._item import CohortItem, safe_id as _safe_id
from heartprint.errors import InvalidInputError

__all__ = ["FACT_COLUMNS", "CohortItem", "discover", "key_salt", "study_key"]

#: Manifest columns read as patient facts (each overrides the DICOM header; source "cohort manifest").
FACT_COLUMNS = ("sex", "age", "height_cm", "weight_kg", "facts")
_KNOWN_COLUMNS = ("path", "patient", "item") + FACT_COLUMNS
#: Version of the key recipe: a change to :func:`study_key` changes every key (all studies redone).
KEY_SCHEMA = "heartprint.cohort-key/1"
_CHUNK = 1 << 20




def _cell(value: Any) -> Any:
    """A manifest cell as a Python value; empty, NaN and None are unknown (``None``)."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if hasattr(value, "item"):  # numpy scalar
        return _cell(value.item())
    return value


def _read_manifest(path: Path) -> list[CohortItem]:
    import pandas as pd

    if path.suffix.lower() == ".parquet":
        table = pd.read_parquet(path)
    else:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    unknown = [c for c in table.columns if c not in _KNOWN_COLUMNS]
    if unknown:
        raise InvalidInputError(f"manifest {path}: unknown column(s) {unknown}; expected path, patient and the facts "
                                f"{', '.join(FACT_COLUMNS)}")
    if "path" not in table.columns:
        raise InvalidInputError(f"manifest {path}: no 'path' column")
    items: list[CohortItem] = []
    used: set[str] = set()
    for i, row in enumerate(table.to_dict("records"), start=2):
        p = _cell(row.get("path"))
        if p is None:
            raise InvalidInputError(f"manifest {path}, row {i}: empty path")
        full = Path(str(p)).expanduser()
        if not full.is_absolute():
            full = path.parent / full
        facts: dict[str, Any] = {}
        for col in FACT_COLUMNS:
            v = _cell(row.get(col))
            if v is None:
                continue
            if col in ("age", "height_cm", "weight_kg"):
                try:
                    v = float(v)
                except ValueError:
                    raise InvalidInputError(f"manifest {path}, row {i}: {col}={v!r} is not a number") from None
            elif col == "facts" and isinstance(v, str):
                try:
                    v = json.loads(v)
                except json.JSONDecodeError as exc:
                    raise InvalidInputError(f"manifest {path}, row {i}: facts is not JSON ({exc})") from None
            facts[col] = v
        patient = _cell(row.get("patient"))
        name = _cell(row.get("item")) or (f"{patient}_{full.name}" if patient else full.name)
        items.append(CohortItem(_safe_id(str(name), used), str(full), None if patient is None else str(patient), facts))
    return items


def discover(source: str | os.PathLike) -> list[CohortItem]:
    """The studies of ``source``: a folder of studies, a ``.csv``/``.parquet`` manifest or an
    Orthanc query (module docstring). Raises :class:`InvalidInputError` naming the problem
    (missing, empty, bad manifest, bad query, archive unreachable)."""
    from heartprint.cohort._archive import is_archive_source, list_studies

    if is_archive_source(source):
        found = list_studies(str(source))
        if not found:
            raise InvalidInputError(f"cohort source {str(source).split('?', 1)[0]}: no study matches the query")
        return found
    src = Path(source).expanduser()
    if not src.exists():
        raise InvalidInputError(f"cohort source {src}: not found")
    if src.is_file():
        if src.suffix.lower() not in (".csv", ".parquet"):
            raise InvalidInputError(f"cohort source {src}: expected a folder of studies or a .csv/.parquet manifest")
        items = _read_manifest(src)
    else:
        used: set[str] = set()
        items = [CohortItem(_safe_id(e.name, used), str(src / e.name))
                 for e in sorted(os.scandir(src), key=lambda e: e.name) if not e.name.startswith(".")]
    if not items:
        raise InvalidInputError(f"cohort source {src}: no studies found")
    return items


def key_salt(options: Mapping[str, Any]) -> str:
    """What every key of a run shares: the key recipe, heartprint version, model SHA-256 and the
    run's options (JSON, sorted). A missing model is part of the salt as such (the analysis of
    cine series then fails, and is tabled)."""
    from heartprint import __version__

    try:
        from heartprint.segmentation import load_model_card

        model = str(load_model_card(options.get("model_path")).card.get("sha256") or "")
    except Exception as exc:  # noqa: BLE001 - the salt must exist even when the model does not load
        model = f"unavailable: {type(exc).__name__}"
    return json.dumps({"key": KEY_SCHEMA, "heartprint": __version__, "model_sha256": model,
                       "options": {k: options[k] for k in sorted(options)}}, sort_keys=True, default=str)


def study_key(item: CohortItem, salt: str) -> str:
    """SHA-256 (hex) of ``salt``, the item's facts and every file under its path: relative name,
    size and contents, in sorted order. A path that cannot be read hashes its error instead, so
    the key exists and the study fails (and is tabled) when analysed. Links are not followed
    out of the tree (as :func:`heartprint.io.scan` does not). A study in an archive is keyed by
    the archive's list of its instances instead (:func:`heartprint.cohort._archive.archive_key`)."""
    from heartprint.cohort._archive import archive_key, is_archive_source

    if is_archive_source(item.path):
        return archive_key(item, salt)
    h = hashlib.sha256()
    h.update(salt.encode())
    h.update(json.dumps({"patient": item.patient, "facts": dict(item.facts)}, sort_keys=True, default=str).encode())
    root = Path(item.path)
    try:
        if root.is_dir():
            files = sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
        else:
            files = [root]
        for p in files:
            rel = p.relative_to(root).as_posix() if root.is_dir() else p.name
            st = p.stat()
            h.update(f"\0{rel}\0{st.st_size}\0".encode("utf-8", "surrogateescape"))
            with open(p, "rb") as fh:
                while chunk := fh.read(_CHUNK):
                    h.update(chunk)
    except OSError as exc:
        h.update(f"\0unreadable\0{exc.strerror or exc}".encode("utf-8", "surrogateescape"))
    return h.hexdigest()

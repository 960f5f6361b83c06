"""The cohort's tables: rows made from one analysed study, written in atomic parts, merged.

Tables (``OUT/tables/<name>.parquet``):

* ``measurements`` — long form, one row per measurement: the study key and item, patient, study
  and series, the concept code with its verified coding (system, value, meaning), value and
  UCUM unit, phase / segment / vessel, method, modality, the reference range, z-score and
  verdict, and the series' QC status and flags;
* ``studies`` — wide, one row per study: identity (patient, sex, age and age band), status,
  counts of series, QC flags and findings, the study's output folder and report, its error, and
  one column per global measurement code (the value from the first analysed series with QC not
  ``error`` that has it; its unit is the concept's, as in ``measurements``);
* ``findings`` — one row per guideline finding (present, absent, not assessable);
* ``failures`` — one row per failure: a study that could not be analysed (``stage`` ``study``),
  a failed series (``series``), an output that could not be written (``outputs``), a study an
  archive could not give (``fetch``, retried on the next run), or a worker lost while analysing it
  (``worker``, retried on the next run);
* ``timings`` — seconds, worker and the worker process's peak resident memory so far (MiB, Linux
  ``ru_maxrss``) per study, kept apart so that the four tables above are the same, value for
  value, however the run was split, interrupted or scheduled.

Parts. The driver writes each batch of finished studies as one part folder
``OUT/.cohort/parts/<time_ns>-<pid>/`` holding one Parquet file per table, built under a
temporary name and swapped in at once (:func:`heartprint._atomic.atomic_dir`): a study is done
exactly when its rows are in a part. :func:`merge_parts` keeps, per study (:func:`done_id`), the rows of the latest
part that has it, keeps only the keys of the current source, sorts by item and casts every
column to its declared type, so the merged tables do not depend on how studies were batched.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

from heartprint._atomic import atomic_dir, atomic_file, temporary_name

__all__ = ["COLUMNS", "TABLES", "age_band", "done_id", "done_keys", "merge_parts", "read_parts", "write_part"]

#: Declared columns and types of each table (``studies`` also has one float column per measurement code).
COLUMNS: dict[str, dict[str, str]] = {
    "measurements": {
        "key": "str", "item_id": "str", "patient": "str", "study_uid": "str", "series_uid": "str", "kind": "str",
        "code": "str", "name": "str", "coding_system": "str", "coding_value": "str", "coding_meaning": "str",
        "value": "float", "unit": "str", "phase": "str", "segment": "int", "vessel": "str", "vessel_segment": "str",
        "pattern": "str", "method": "str", "modality": "str", "ref_low": "float", "ref_high": "float",
        "ref_population": "str", "z_score": "float", "interpretation": "str", "series_qc_status": "str",
        "series_qc_flags": "str",
    },
    "studies": {
        "key": "str", "item_id": "str", "path": "str", "patient": "str", "patient_id": "str", "study_uid": "str",
        "study_date": "str", "sex": "str", "age_years": "float", "age_band": "str", "status": "str",
        "n_series": "int", "n_analysed": "int", "n_failed": "int", "qc_status": "str", "n_qc_warnings": "int",
        "n_qc_errors": "int", "n_findings": "int", "folder": "str", "report": "str", "error": "str", "retry": "bool",
    },
    "findings": {
        "key": "str", "item_id": "str", "patient": "str", "study_uid": "str", "code": "str", "status": "str",
        "statement": "str", "rule": "str", "citation": "str", "missing": "str",
    },
    "failures": {
        "key": "str", "item_id": "str", "path": "str", "patient": "str", "study_uid": "str", "series_uid": "str",
        "kind": "str", "stage": "str", "error": "str", "retry": "bool",
    },
    "timings": {"key": "str", "item_id": "str", "seconds": "float", "worker": "str", "max_rss_mib": "float"},
}
TABLES = tuple(COLUMNS)
#: Age bands of the summary and the ``age_band`` column (years, lower bound included).
AGE_BANDS = ((0, 18, "<18"), (18, 40, "18-39"), (40, 50, "40-49"), (50, 60, "50-59"), (60, 70, "60-69"),
             (70, 200, "70+"))


def age_band(age: float | None) -> str | None:
    """The band of :data:`AGE_BANDS` holding ``age`` (years); ``None`` when the age is unknown."""
    if age is None:
        return None
    return next((name for lo, hi, name in AGE_BANDS if lo <= age < hi), None)


def _frame(table: str, rows: list[Mapping[str, Any]]):  # noqa: ANN202
    import pandas as pd

    extra = [] if table != "studies" else sorted({k for r in rows for k in r} - set(COLUMNS[table]))
    df = pd.DataFrame(list(rows), columns=list(COLUMNS[table]) + extra)
    return _typed(table, df)


def _typed(table: str, df):  # noqa: ANN001, ANN202
    """``df`` with every declared column in its type (text: object with None; float: float64;
    int: nullable Int64; bool: bool) and the measurement columns of ``studies`` as float64."""
    import pandas as pd

    spec = COLUMNS[table]
    for col in df.columns:
        ctype = spec.get(col, "float")
        s = df[col]
        if ctype == "str":
            df[col] = s.astype(object).where(s.notna(), None).map(lambda v: None if v is None else str(v))
        elif ctype == "float":
            df[col] = pd.to_numeric(s, errors="coerce").astype("float64")
        elif ctype == "int":
            df[col] = pd.to_numeric(s, errors="coerce").astype("Int64")
        else:
            df[col] = s.fillna(False).astype(bool)
    return df


def write_part(parts_dir: Path, rows: Mapping[str, list[Mapping[str, Any]]]) -> Path:
    """Write one batch's rows as a part folder (one Parquet file per table), all at once."""
    name = f"{time.time_ns():020d}-{os.getpid()}"
    dest = Path(parts_dir) / name
    with atomic_dir(dest) as tmp:
        for table in TABLES:
            _frame(table, list(rows.get(table, []))).to_parquet(tmp / f"{table}.parquet", index=False)
    return dest


def _parts(parts_dir: Path) -> list[Path]:
    try:
        entries = sorted(os.scandir(parts_dir), key=lambda e: e.name)
    except FileNotFoundError:
        return []
    return [Path(e.path) for e in entries if e.is_dir(follow_symlinks=False) and temporary_name(e.name) is None
            and not e.name.startswith(".")]


def read_parts(parts_dir: Path, table: str, columns: list[str] | None = None):  # noqa: ANN201
    """One table over every part, with the part's name in column ``_part`` (empty frame if none)."""
    import pandas as pd

    frames = []
    for p in _parts(parts_dir):
        df = pd.read_parquet(p / f"{table}.parquet", columns=columns)
        df["_part"] = p.name
        frames.append(df)
    if not frames:
        return pd.DataFrame(columns=list(columns or COLUMNS[table]) + ["_part"])
    return pd.concat(frames, ignore_index=True)


def done_id(item_id: str, key: str) -> str:
    """What is done: a study (``key``) under its name in the source (``item_id``). Two folders
    with the same files are two rows; renaming a folder redoes it (its output folder is named
    after it)."""
    return f"{item_id}/{key}"


def _ids(df):  # noqa: ANN001, ANN202
    return df["item_id"].astype(str) + "/" + df["key"].astype(str)


def _latest(studies) -> dict[str, str]:  # noqa: ANN001
    """Done id → the latest part that holds it."""
    if studies.empty:
        return {}
    return studies.assign(_id=_ids(studies)).groupby("_id")["_part"].max().to_dict()


def done_keys(parts_dir: Path) -> set[str]:
    """Done ids (:func:`done_id`) whose latest rows are final (not a lost worker's, which a rerun retries)."""
    studies = read_parts(parts_dir, "studies", ["item_id", "key", "retry"])
    if studies.empty:
        return set()
    ids = _ids(studies)
    final = studies[studies["_part"] == ids.map(_latest(studies))]
    return set(_ids(final)[~final["retry"].astype(bool)])


def merge_parts(parts_dir: Path, tables_dir: Path, ids: Iterable[str],
                paths: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Merge the parts into ``tables_dir/<table>.parquet`` (each replaced atomically): per done
    id the rows of its latest part, only ``ids`` (the current source's, :func:`done_id`), sorted
    by item (stable, so a study's rows keep their order), columns typed. ``paths`` (item → its
    path in the current source) updates the ``path`` column of a study done when the source was
    elsewhere. Returns the frames."""
    wanted = set(ids)
    latest = _latest(read_parts(parts_dir, "studies", ["item_id", "key"]))
    chosen = {k: p for k, p in latest.items() if k in wanted}
    out: dict[str, Any] = {}
    for table in TABLES:
        df = read_parts(parts_dir, table)
        if not df.empty:
            df = df[df["_part"] == _ids(df).map(chosen)]
        df = df.drop(columns=["_part"])
        if paths and "path" in df.columns and not df.empty:
            df["path"] = df["item_id"].map(paths).where(df["item_id"].isin(list(paths)), df["path"])
        fixed = list(COLUMNS[table])
        extra = sorted(c for c in df.columns if c not in COLUMNS[table])
        if table == "studies":  # measurement columns no chosen row has are dropped
            extra = [c for c in extra if df[c].notna().any()]
        df = df.reindex(columns=fixed + extra)
        order = sorted(range(len(df)), key=df["item_id"].astype(str).tolist().__getitem__)  # stable
        df = df.iloc[order].reset_index(drop=True)
        df = _typed(table, df)
        tables_dir.mkdir(parents=True, exist_ok=True)
        with atomic_file(tables_dir / f"{table}.parquet", suffix=".parquet") as tmp:
            df.to_parquet(tmp, index=False)
        out[table] = df
    return out

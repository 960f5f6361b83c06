"""Cohort tables for risk models: heartprint results → one row per patient, omics layers, missingness.

Three inputs meet here, all joined on one patient key:

* heartprint's own study documents (``measurements.json``, schema ``heartprint.study/2``), turned
  into one row per patient by a stated rule (:func:`results_table`);
* a clinical/outcome table the user brings (CSV or Parquet), with the follow-up time and the
  event indicator (:func:`read_table`);
* omics matrices, one per layer (AnnData ``.h5ad``, MuData ``.h5mu``, CSV or Parquet; rows are
  patients, columns features), read by :func:`read_omics`.

Nothing here fills a missing value: missing data are counted per feature
(:func:`missing_report`) and imputed inside the cross-validation, by the model's own pipeline.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping

import numpy as np
import pandas as pd

from heartprint.errors import InvalidInputError

__all__ = ["OMICS_SEPARATOR", "Survival", "missing_report", "read_omics", "read_table", "results_table", "survival_target"]

#: Omics feature columns are named ``<layer><OMICS_SEPARATOR><feature>`` once joined to the cohort.
OMICS_SEPARATOR = ":"

#: Patient fields of the study document taken as features (value, unit).
_PATIENT_FIELDS = {"age_years": "a", "height_cm": "cm", "weight_kg": "kg", "bsa_m2": "m2"}


# -- heartprint results → one row per patient ---------------------------------------------------


def _documents(paths: Iterable[str | Path]) -> list[tuple[Path, dict[str, Any]]]:
    """Every ``measurements.json`` under ``paths`` (result folders, output roots or the files)."""
    from heartprint.results import validate_study_dict

    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_file():
            found.append(p)
        elif p.is_dir():
            found.extend(sorted(p.rglob("measurements.json")))
        else:
            raise InvalidInputError(f"{p}: no such result folder or measurements.json")
    if not found:
        raise InvalidInputError(f"no measurements.json under {', '.join(map(str, paths))}")
    docs = []
    for f in found:
        try:
            doc = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidInputError(f"{f}: not a readable study document ({exc})") from exc
        validate_study_dict(doc)
        docs.append((f, doc))
    return docs


def _study_values(doc: dict[str, Any]) -> tuple[dict[str, float], list[str]]:
    """Global measurements of one study document (code → value) and the codes in conflict.

    Only analysed series whose QC is not ``error`` count; per-segment and per-vessel values are
    left out (a per-patient table has one value per concept). When two series of the study give
    one code different values, the code is missing for this study and listed as a conflict:
    choosing one would state a fact the study does not settle.
    """
    seen: dict[str, set[float]] = {}
    for s in doc["series"]:
        if s["status"] != "analysed" or s.get("qc_status") == "error":
            continue
        for m in s.get("measurements", []):
            if m.get("segment") is None and m.get("vessel") is None:
                seen.setdefault(m["code"], set()).add(float(m["value"]))
    values = {k: next(iter(v)) for k, v in seen.items() if len(v) == 1}
    return values, sorted(k for k, v in seen.items() if len(v) > 1)


def results_table(paths: Iterable[str | Path], *, rule: Literal["baseline", "latest"] = "baseline",
                  key: str = "patient_id") -> pd.DataFrame:
    """One row per patient from heartprint result folders.

    Parameters
    ----------
    paths
        Result folders (each holding ``measurements.json``), output roots searched recursively,
        or the documents themselves.
    rule
        Which study stands for the patient: ``"baseline"`` the earliest study date, ``"latest"``
        the most recent. A patient with several studies, one of them undated, cannot be ordered
        and is an error (a guess could pick a follow-up as the baseline).
    key
        Name of the key column (the DICOM Patient ID; ``<issuer>/<id>`` when an issuer is given).

    Returns
    -------
    DataFrame
        ``key``, ``study_date``, ``n_studies``, the patient's age/height/weight/BSA as recorded
        in the chosen study (``age_years`` ...), ``sex_male`` (1/0, missing when unknown or
        "other"), and one column per global measurement code (the concept's UCUM unit in
        ``DataFrame.attrs["units"]``). ``attrs["conflicts"]`` lists (patient, code) pairs left
        missing because two series disagreed.
    """
    if rule not in ("baseline", "latest"):
        raise InvalidInputError(f"rule {rule!r}: expected 'baseline' or 'latest'")
    per_patient: dict[str, list[tuple[date | None, Path, dict[str, Any]]]] = {}
    for f, doc in _documents(paths):
        pid, issuer = doc["patient"]["patient_id"], doc["patient"]["issuer"]
        if not pid:
            raise InvalidInputError(f"{f}: the study has no Patient ID, so it cannot be joined to outcomes")
        raw = doc["study"]["date"]
        per_patient.setdefault(f"{issuer}/{pid}" if issuer else pid, []).append(
            (date.fromisoformat(raw) if raw else None, f, doc))
    rows, units, conflicts = [], {}, []
    for pid, studies in sorted(per_patient.items()):
        if len(studies) > 1 and any(d is None for d, _, _ in studies):
            undated = [str(f) for d, f, _ in studies if d is None]
            raise InvalidInputError(f"patient {pid}: {len(studies)} studies and {', '.join(undated)} has no "
                                    f"study date, so the {rule} study cannot be chosen")
        studies.sort(key=lambda t: (t[0] or date.min))
        when, f, doc = studies[0] if rule == "baseline" else studies[-1]
        values, clash = _study_values(doc)
        conflicts += [(pid, c) for c in clash]
        for s in doc["series"]:
            for m in s.get("measurements", []):
                units.setdefault(m["code"], m["unit"])
        row: dict[str, Any] = {key: pid, "study_date": when.isoformat() if when else None, "n_studies": len(studies)}
        pat = doc["patient"]
        for field, unit in _PATIENT_FIELDS.items():
            v = pat.get(field)
            row[field] = float(v["value"]) if v is not None else math.nan
            units[field] = unit
        sex = (pat.get("sex") or {}).get("value")
        row["sex_male"] = {"male": 1.0, "female": 0.0}.get(sex, math.nan)
        row.update(values)
        rows.append(row)
    fixed = [key, "study_date", "n_studies", *_PATIENT_FIELDS, "sex_male"]
    # the same columns whatever the rule: every global code any document holds
    codes = sorted({c for studies in per_patient.values() for _, _, d in studies
                    for part in _study_values(d) for c in part} - set(fixed))
    table = pd.DataFrame(rows).reindex(columns=fixed + codes)
    table.attrs["units"] = units
    table.attrs["conflicts"] = conflicts
    table.attrs["rule"] = rule
    return table


# -- tables the user brings --------------------------------------------------------------------


def read_table(path: str | Path) -> pd.DataFrame:
    """A cohort or clinical table from CSV (``.csv``, ``.tsv``) or Parquet (``.parquet``)."""
    p = Path(path)
    if not p.is_file():
        raise InvalidInputError(f"{p}: no such table")
    suffix = p.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(p)
        if suffix in (".csv", ".tsv", ".txt"):
            return pd.read_csv(p, sep="\t" if suffix == ".tsv" else ",")
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"{p}: not a readable table ({exc})") from exc
    raise InvalidInputError(f"{p}: expected .csv, .tsv or .parquet, got {suffix or 'no suffix'}")


def _frame(ad: Any) -> pd.DataFrame:
    """An AnnData object as a DataFrame: observations (patients) × variables (features)."""
    x = ad.X.toarray() if hasattr(ad.X, "toarray") else np.asarray(ad.X)
    return pd.DataFrame(x, index=pd.Index(ad.obs_names.astype(str)), columns=list(map(str, ad.var_names)))


def read_omics(path: str | Path) -> dict[str, pd.DataFrame]:
    """The omics layers of one file: ``{layer name: matrix}``, patients as the index, features as columns.

    * ``.h5ad`` (AnnData): one layer named after the file (``rna.h5ad`` → ``rna``); ``obs_names``
      are the patient keys and ``X`` the values (observations = patients, as AnnData stores samples).
    * ``.h5mu`` (MuData): one layer per modality (``/mod/<name>``, each an AnnData group), read
      with anndata's own element reader, so the ``mudata`` package is not needed.
    * CSV/Parquet: one layer named after the file; the first column holds the patient keys.

    Values must be numeric; a duplicated patient key is an error.
    """
    p = Path(path)
    if not p.is_file():
        raise InvalidInputError(f"{p}: no such omics file")
    suffix = p.suffix.lower()
    if suffix == ".h5ad":
        import anndata

        frames = {p.name.split(".")[0]: _frame(anndata.read_h5ad(p))}
    elif suffix == ".h5mu":
        import h5py
        from anndata.io import read_elem

        with h5py.File(p, "r") as f:
            if "mod" not in f or not len(f["mod"]):
                raise InvalidInputError(f"{p}: a MuData file with no modalities under /mod")
            frames = {name: _frame(read_elem(f["mod"][name])) for name in f["mod"]}
    else:
        raw = read_table(p)
        frame = raw.set_index(raw.columns[0])
        frame.index = frame.index.astype(str)
        frames = {p.name.split(".")[0]: frame}
    for name, frame in frames.items():
        bad = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
        if bad:
            raise InvalidInputError(f"{p} (layer {name}): omics columns must be numeric; {bad[:5]} are not")
        if frame.index.duplicated().any():
            raise InvalidInputError(f"{p} (layer {name}): patient keys repeated: "
                                    f"{list(frame.index[frame.index.duplicated()][:5])}")
    return {name: frame.astype(float) for name, frame in frames.items()}


def join_omics(table: pd.DataFrame, omics: Mapping[str, pd.DataFrame], key: str) -> pd.DataFrame:
    """``table`` with each layer's columns (``layer:feature``) joined on ``table[key]``.

    A patient without a row in a layer gets missing values there (imputed inside the CV, and
    counted by :func:`missing_report`); nobody is dropped.
    """
    if key not in table.columns:
        raise InvalidInputError(f"omics are joined on the key column {key!r}, which the table lacks "
                                f"(columns: {', '.join(map(str, table.columns[:12]))})")
    keys = table[key].astype(str)
    out = [table]
    for name, frame in omics.items():
        if OMICS_SEPARATOR in name:
            raise InvalidInputError(f"omics layer name {name!r} must not contain {OMICS_SEPARATOR!r}")
        block = frame.reindex(keys.to_numpy())
        block.columns = [f"{name}{OMICS_SEPARATOR}{c}" for c in frame.columns]
        block.index = table.index
        out.append(block)
    return pd.concat(out, axis=1)


# -- outcome and missingness ------------------------------------------------------------------


@dataclass(frozen=True)
class Survival:
    """The outcome: follow-up ``time`` (the table's unit) and ``event`` (1 = event, 0 = censored)."""

    time: str
    event: str


def survival_target(table: pd.DataFrame, outcome: Survival) -> np.ndarray:
    """The scikit-survival structured array ``(event: bool, time: float)`` of ``table``.

    Time must be known and ≥ 0 and the event 0/1 (or boolean) for every patient: a patient
    without follow-up cannot be placed in a risk set, and filling it would invent an outcome.
    """
    for col in (outcome.time, outcome.event):
        if col not in table.columns:
            raise InvalidInputError(f"outcome column {col!r} is not in the table "
                                    f"(columns: {', '.join(map(str, table.columns[:12]))})")
    t = pd.to_numeric(table[outcome.time], errors="coerce").to_numpy(dtype=float)
    e_raw = table[outcome.event]
    e = pd.to_numeric(e_raw.map(lambda v: float(v) if isinstance(v, (bool, np.bool_)) else v),
                      errors="coerce").to_numpy(dtype=float)
    bad_t = ~np.isfinite(t) | (t < 0)
    bad_e = ~np.isin(e, (0.0, 1.0))
    if bad_t.any():
        raise InvalidInputError(f"column {outcome.time!r}: {int(bad_t.sum())} rows without a follow-up time ≥ 0 "
                                f"(first at row {int(np.argmax(bad_t))})")
    if bad_e.any():
        raise InvalidInputError(f"column {outcome.event!r}: {int(bad_e.sum())} rows not 0/1 "
                                f"(first value {e_raw.iloc[int(np.argmax(bad_e))]!r})")
    if e.sum() < 2:
        raise InvalidInputError(f"column {outcome.event!r}: {int(e.sum())} events; a survival model needs events")
    y = np.empty(len(t), dtype=[("event", bool), ("time", float)])
    y["event"], y["time"] = e.astype(bool), t
    return y


def missing_report(table: pd.DataFrame, features: Iterable[str]) -> list[dict[str, Any]]:
    """Per feature: how many patients lack it (count and fraction), in the order given."""
    n = len(table)
    out = []
    for c in features:
        k = int(table[c].isna().sum())
        out.append({"feature": c, "missing": k, "fraction": round(k / n, 4) if n else 0.0})
    return out

"""Verified normal reference ranges (echo, CMR) by sex, kept as data with citations.

Data: ``tables/reference_ranges.csv`` (one row per code × modality × method × sex, with
its verification tag). Only values verified against a primary or secondary source are
carried (clinical_reference.md §10): ASE/EACVI 2015 echo chamber quantification rows and
the SSFP CMR studies of Alfakih 2003 and Hudsmith 2005. Kawel-Boehm 2020 (SCMR) pooled
tables were not available and are not included. Indexed codes (``*_edvi``, ``*_massi``,
``lavi``) are per m² BSA.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from heartprint.clinical import _validate as v
from heartprint.errors import InvalidInputError
from heartprint.measure import ReferenceRange

__all__ = ["reference_range", "z_score"]

#: Full citations of the table's ``source`` keys.
SOURCES: dict[str, str] = {
    # DOI ☑C (cited identically by several public repositories)
    "lang2015": ("Lang RM, Badano LP, Mor-Avi V, et al. Recommendations for cardiac chamber quantification by "
                 "echocardiography in adults: an update from the ASE and EACVI. J Am Soc Echocardiogr 2015;28:1-39. "
                 "doi:10.1016/j.echo.2014.10.003"),
    "alfakih2003": "Alfakih K, et al. J Magn Reson Imaging 2003;17:323-329 (SSFP normal values, n=60, 20-65 y)",
    "hudsmith2005": "Hudsmith LE, et al. J Cardiovasc Magn Reson 2005 (SSFP normal values, n=108: 63 men, 45 women)",
}
#: Two-sided 95 % limits from a published mean ± SD (normal approximation).
Z95 = 1.96


@dataclass(frozen=True)
class _Row:
    code: str
    modality: str
    method: str
    sex: str
    low: float | None
    high: float | None
    mean: float | None
    sd: float | None
    unit: str
    population: str
    source: str
    verification: str


def _f(x: str) -> float | None:
    return float(x) if x.strip() else None


@lru_cache(maxsize=1)
def _table() -> dict[tuple[str, str, str, str], _Row]:
    text = resources.files("heartprint.clinical").joinpath("tables/reference_ranges.csv").read_text(encoding="utf-8")
    rows: dict[tuple[str, str, str, str], _Row] = {}
    for r in csv.DictReader(text.splitlines()):
        row = _Row(r["code"], r["modality"], r["method"], r["sex"], _f(r["low"]), _f(r["high"]), _f(r["mean"]),
                   _f(r["sd"]), r["unit"], r["population"], r["source"], r["verification"])
        rows[(row.code, row.modality, row.method, row.sex)] = row
    return rows


def _row(code: str, sex: str, modality: str, method: str) -> _Row:
    sex = v.choice("sex", sex, ("male", "female"))
    key = (str(code), str(modality).lower(), str(method).lower(), sex)
    row = _table().get(key)
    if row is None:
        available = sorted({(c, m, me) for c, m, me, _ in _table()})
        raise InvalidInputError(f"reference range for code={code!r}, modality={modality!r}, method={method!r}, "
                                f"sex={sex!r}: not available; verified (code, modality, method) are {available}")
    return row


def reference_range(code: str, sex: str, *, modality: str, method: str) -> ReferenceRange:
    """Verified normal range for a measurement.

    Parameters
    ----------
    code
        Measurement code (``"lv_ef"``, ``"lv_edvi"``, ``"lv_massi"``, ``"lavi"``, ``"rwt"``,
        ``"lv_edv"``, ``"lv_esv"``, ``"rv_edv"``, ``"rv_esv"``, ``"rv_edvi"``, ``"lv_esvi"``).
    sex
        ``"male"`` or ``"female"``.
    modality
        ``"echo"`` or ``"cmr"``.
    method
        Echo: ``"2d_biplane"``, ``"2d"``, ``"linear"``; CMR: ``"ssfp"``.

    Returns
    -------
    ReferenceRange
        ``low``/``high`` in the code's unit (indexed values per m² BSA). Where the source
        gives mean ± SD the limits are mean ± 1.96 SD and ``population`` says so.
        ``reference`` holds the citation and the verification tag.

    Raises
    ------
    InvalidInputError
        No verified range for that combination (the message lists what is available).
    """
    row = _row(code, sex, modality, method)
    low, high = row.low, row.high
    if row.mean is not None and row.sd is not None:
        low, high = row.mean - Z95 * row.sd, row.mean + Z95 * row.sd
    return ReferenceRange(low=low, high=high, population=f"{row.population} [{row.unit}]",
                          reference=f"{SOURCES[row.source]} ({row.verification})")


def z_score(value: float, code: str, sex: str, *, modality: str, method: str) -> float:
    """z-score of ``value`` against a verified published mean ± SD.

    Only rows with a published mean and SD (CMR SSFP: Alfakih 2003, Hudsmith 2005) support
    z-scores; ranges published as limits only (ASE/EACVI 2015) raise.

    Parameters
    ----------
    value
        Measured value in the row's unit (see :func:`reference_range`).
    """
    x = v.number("value", value, unit="")
    row = _row(code, sex, modality, method)
    if row.mean is None or row.sd is None:
        raise InvalidInputError(f"z-score for code={code!r} ({modality}, {method}): the source gives limits only, "
                                "no verified mean ± SD")
    return (x - row.mean) / row.sd

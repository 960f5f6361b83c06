"""Verified normal reference ranges (echo, CMR) by sex and age, kept as data with citations.

Data: ``tables/reference_ranges.csv``, one row per code × modality × method × sex × age
band, with its verification tag and where the numbers were read (``docs/reference_ranges.md``
lists every row). Only values verified against a primary or secondary source are carried
(clinical_reference.md §10):

- echo: ASE/EACVI 2015 chamber quantification (Lang 2015), any adult age;
- CMR balanced SSFP: Alfakih 2003 (20–65 y), Hudsmith 2005 (21–68 y) and the UK Biobank
  reference cohort of Petersen 2017 (healthy Caucasians 45–74 y; LV ejection fraction and
  LV mass index by sex, from the paper's abstract). The per-decade tables of Petersen 2017
  and the pooled tables of Kawel-Boehm 2020 could not be read and are not included.

Indexed codes (``*_edvi``, ``*_massi``, ``lavi``) are per m² BSA.

Age bands
---------
A row's band ``age_low``–``age_high`` is in completed years: band 45–74 covers
45.0 ≤ age < 75.0. A blank band means any adult age (18 y and over). An age outside every
band of the rows for a measurement has no verified range: nothing is extrapolated.

Which row applies (deterministic)
---------------------------------
With sex and age known, the rows of that sex whose band contains the age are candidates;
the one with the narrowest band applies (the age-specific source before a wider one), ties
going to the source listed first in :data:`SOURCES`. :func:`reference_range` and
:func:`z_score` called without ``age`` keep their earlier behaviour: the row with the widest
band (the most general population) for that sex, ties again by :data:`SOURCES` order; its
``population`` states the ages it covers.

Verdicts (:func:`verdict`, :func:`annotate`) never assume a sex or an age: with either
unknown they compare the value with every row the unknown could select and answer only when
every comparison agrees.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal

from heartprint.clinical import _validate as v
from heartprint.errors import InvalidInputError
from heartprint.measure import Measurement, ReferenceRange

__all__ = ["SOURCES", "Verdict", "annotate", "method_key", "reference_range", "verdict", "z_score"]

#: Full citations of the table's ``source`` keys (first listed wins a tie, see the module docstring).
SOURCES: dict[str, str] = {
    "petersen2017": ("Petersen SE, Aung N, Sanghvi MM, Zemrak F, Fung K, Paiva JM, Francis JM, Khanji MY, Lukaschuk E, "
                     "Lee AM, Carapella V, Kim YJ, Leeson P, Piechnik SK, Neubauer S. Reference ranges for cardiac "
                     "structure and function using cardiovascular magnetic resonance (CMR) in Caucasians from the UK "
                     "Biobank population cohort. J Cardiovasc Magn Reson 2017;19:18. doi:10.1186/s12968-017-0327-9"),
    "hudsmith2005": ("Hudsmith LE, Petersen SE, Francis JM, Robson MD, Neubauer S. Normal human left and right "
                     "ventricular and left atrial dimensions using steady state free precession magnetic resonance "
                     "imaging. J Cardiovasc Magn Reson 2005;7:775-782. doi:10.1080/10976640500295516"),
    "alfakih2003": ("Alfakih K, et al. Normal human left and right ventricular dimensions for MRI as assessed by turbo "
                    "gradient echo and steady-state free precession imaging sequences. J Magn Reson Imaging "
                    "2003;17:323-329. doi:10.1002/jmri.10262"),
    # DOI ☑C (cited identically by several public repositories)
    "lang2015": ("Lang RM, Badano LP, Mor-Avi V, et al. Recommendations for cardiac chamber quantification by "
                 "echocardiography in adults: an update from the ASE and EACVI. J Am Soc Echocardiogr 2015;28:1-39. "
                 "doi:10.1016/j.echo.2014.10.003"),
    # Source of the papillary-muscle conventions, ages and group sizes of the CMR studies (Table 1); no rows.
    "kawelboehm2020": ("Kawel-Boehm N, Hetzel SJ, Ambale-Venkatesh B, Captur G, Francois CJ, Jerosch-Herold M, "
                       "Salerno M, Teague SD, Valsangiacomo-Buechel E, van der Geest RJ, Bluemke DA. Reference "
                       "ranges (\"normal values\") for cardiovascular magnetic resonance (CMR) in adults and "
                       "children: 2020 update. J Cardiovasc Magn Reson 2020;22:87. doi:10.1186/s12968-020-00683-3"),
}
#: Short names used in plain-language reasons.
_SHORT = {"petersen2017": "UK Biobank, Petersen 2017", "hudsmith2005": "Hudsmith 2005", "alfakih2003": "Alfakih 2003",
          "lang2015": "ASE/EACVI 2015"}
#: Two-sided 95 % limits from a published mean ± SD (normal approximation).
Z95 = 1.96
#: A blank age band means any adult age: from this age (years) on.
ADULT_AGE = 18.0
_SEXES = ("male", "female")
#: Plain names of the (modality, method) keys, for reasons.
_TECHNIQUE = {("cmr", "ssfp"): "CMR cine (balanced SSFP)", ("echo", "2d_biplane"): "2D echo (biplane)",
              ("echo", "2d"): "2D echo", ("echo", "linear"): "echo (linear method)"}
_PEOPLE = {"male": "men", "female": "women"}
Status = Literal["low", "normal", "high", "not_assessable"]


@dataclass(frozen=True)
class _Row:
    code: str
    modality: str
    method: str
    sex: str
    age_low: float | None
    age_high: float | None
    low: float | None
    high: float | None
    mean: float | None
    sd: float | None
    unit: str
    population: str
    papillary: str
    source: str
    verification: str

    @property
    def start(self) -> float:
        """First age (years) the band covers."""
        return ADULT_AGE if self.age_low is None else self.age_low

    @property
    def stop(self) -> float:
        """First age (years) past the band (completed years: 45–74 stops at 75)."""
        return math.inf if self.age_high is None else self.age_high + 1.0

    def covers(self, age: float) -> bool:
        return self.start <= age < self.stop

    @property
    def band(self) -> str:
        if self.age_low is None and self.age_high is None:
            return "adults"
        return f"{self.start:g}–{self.age_high:g} y" if self.age_high is not None else f"{self.start:g} y and over"

    @property
    def limits(self) -> tuple[float | None, float | None]:
        if self.mean is not None and self.sd is not None:
            return self.mean - Z95 * self.sd, self.mean + Z95 * self.sd
        return self.low, self.high

    @property
    def label(self) -> str:
        who = f"adult {_PEOPLE[self.sex]}" if self.band == "adults" else f"{_PEOPLE[self.sex]} {self.band}"
        return f"{who} ({_SHORT.get(self.source, self.source)})"

    def rank(self) -> int:
        return list(SOURCES).index(self.source) if self.source in SOURCES else len(SOURCES)

    def reference_range(self) -> ReferenceRange:
        low, high = self.limits
        # the citation only: how it was checked (the verification tag) stays in the table and docs,
        # not in what reaches a report, an SR or a FHIR bundle
        return ReferenceRange(low=low, high=high, population=f"{self.population} [{self.unit}]",
                              reference=SOURCES[self.source])


def _f(x: str) -> float | None:
    return float(x) if x.strip() else None


@lru_cache(maxsize=1)
def _table() -> tuple[_Row, ...]:
    text = resources.files("heartprint.clinical").joinpath("tables/reference_ranges.csv").read_text(encoding="utf-8")
    rows: list[_Row] = []
    for r in csv.DictReader(text.splitlines()):
        row = _Row(r["code"], r["modality"], r["method"], r["sex"], _f(r["age_low"]), _f(r["age_high"]),
                   _f(r["low"]), _f(r["high"]), _f(r["mean"]), _f(r["sd"]), r["unit"], r["population"],
                   r["papillary"], r["source"], r["verification"])
        if row.source not in SOURCES or row.sex not in _SEXES or row.start >= row.stop:
            raise ValueError(f"reference_ranges.csv: bad row {r}")
        rows.append(row)
    keys = [(r.code, r.modality, r.method, r.sex, r.age_low, r.age_high) for r in rows]
    if len(set(keys)) != len(keys):
        raise ValueError("reference_ranges.csv: a code × modality × method × sex × age band appears twice")
    return tuple(rows)


def _rows(code: str, modality: str, method: str, sex: str | None = None) -> list[_Row]:
    return [r for r in _table() if (r.code, r.modality, r.method) == (code, modality, method)
            and (sex is None or r.sex == sex)]


def _pick(rows: Iterable[_Row], age: float) -> _Row | None:
    """The row that applies at ``age``: narrowest band containing it, ties by SOURCES order."""
    covering = [r for r in rows if r.covers(age)]
    return min(covering, key=lambda r: (r.stop - r.start, r.rank())) if covering else None


def _key(code: str, modality: str, method: str) -> tuple[str, str, str]:
    return str(code), str(modality).lower(), str(method).lower()


def _age(age: float | None) -> float | None:
    return v.optional("age", age, 0, 130, unit="years")


def _row(code: str, sex: str, modality: str, method: str, age: float | None) -> _Row:
    sex = v.choice("sex", sex, _SEXES)
    age = _age(age)
    code, modality, method = _key(code, modality, method)
    rows = _rows(code, modality, method, sex)
    if not rows:
        available = sorted({(r.code, r.modality, r.method) for r in _table()})
        raise InvalidInputError(f"reference range for code={code!r}, modality={modality!r}, method={method!r}, "
                                f"sex={sex!r}: not available; verified (code, modality, method) are {available}")
    if age is None:
        return min(rows, key=lambda r: (-(r.stop - r.start), r.rank()))
    row = _pick(rows, age)
    if row is None:
        bands = ", ".join(sorted({r.label for r in rows}))
        raise InvalidInputError(f"reference range for code={code!r}, modality={modality!r}, method={method!r}, "
                                f"sex={sex!r}, age={age:g}: not available for that age; verified bands: {bands}")
    return row


def reference_range(code: str, sex: str, *, modality: str, method: str, age: float | None = None) -> ReferenceRange:
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
    age
        Age in years. Given, the row whose age band contains it applies (the narrowest such
        band); an age outside every band raises. Not given, the row of the widest band
        (see the module docstring); its ``population`` names the ages it covers.

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
    return _row(code, sex, modality, method, age).reference_range()


def z_score(value: float, code: str, sex: str, *, modality: str, method: str, age: float | None = None) -> float:
    """z-score of ``value`` against a verified published mean ± SD.

    Only rows with a published mean and SD (CMR SSFP: Alfakih 2003, Hudsmith 2005,
    Petersen 2017) support z-scores; ranges published as limits only (ASE/EACVI 2015) raise.
    The row is chosen as in :func:`reference_range`.

    Parameters
    ----------
    value
        Measured value in the row's unit (see :func:`reference_range`).
    """
    x = v.number("value", value, unit="")
    row = _row(code, sex, modality, method, age)
    if row.mean is None or row.sd is None:
        raise InvalidInputError(f"z-score for code={code!r} ({modality}, {method}): the source gives limits only, "
                                "no verified mean ± SD")
    return (x - row.mean) / row.sd


# -- verdicts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """A measured value against the verified ranges it could be compared with.

    Attributes
    ----------
    status
        ``"low"``, ``"normal"`` or ``"high"`` when every applicable range gives that class;
        ``"not_assessable"`` otherwise.
    z
        z-score, only when exactly one row applies and it has a published mean ± SD.
    range
        The applicable range when exactly one row applies (None when sex or age is unknown
        and several rows agree, or when not assessable).
    candidates
        Every range the value was compared with.
    missing
        What would decide it (``"sex"``, ``"age"``) when not assessable; empty when nothing
        can (an age outside every verified band, a sex without a verified row).
    reason
        The verdict in plain clinical words.
    would_be
        (who, class) for each compared range, e.g. ``(("men 45–74 y (…)", "normal"), …)``.
    """

    status: Status
    z: float | None
    range: ReferenceRange | None
    candidates: tuple[ReferenceRange, ...]
    missing: tuple[str, ...]
    reason: str
    would_be: tuple[tuple[str, str], ...] = ()


def _classify(x: float, row: _Row) -> str:
    low, high = row.limits
    if low is not None and x < low:
        return "low"
    if high is not None and x > high:
        return "high"
    return "normal"


def _name(code: str) -> str:
    try:
        from heartprint.concepts import concept

        return concept(code).name
    except (ImportError, InvalidInputError):
        return code


def _show(x: float, unit: str) -> str:
    shown = {"mL/m2": "mL/m²", "g/m2": "g/m²", "1": ""}.get(unit, unit)
    return f"{x:g} {shown}".rstrip()


_PHRASE = {"low": "below the lower limit of normal", "high": "above the upper limit of normal",
           "normal": "within the normal range"}


def verdict(value: float, code: str, *, sex: str | None, age: float | None, modality: str,
            method: str) -> Verdict | None:
    """Low / normal / high against the verified ranges, or not assessable and why.

    Parameters
    ----------
    value
        Measured value in the code's unit (see :func:`reference_range`).
    code, modality, method
        As for :func:`reference_range`.
    sex
        ``"male"``, ``"female"`` or None (unknown: both sexes are compared).
    age
        Age in years, or None (unknown: every adult age is possible, so a verdict needs verified
        ranges covering every adult age that all give the same class; otherwise ``missing`` names age).

    Returns
    -------
    Verdict or None
        None when no verified range exists for (code, modality, method) at all. Otherwise a
        :class:`Verdict`: a class only when every range the unknowns could select gives the
        same class; a value whose class depends on sex or age is ``not_assessable`` with
        ``missing`` naming what would decide it. A known age outside every band has no
        verified range (not assessable; the reason names the population covered).
    """
    x = v.number("value", value, unit="")
    sex = None if sex is None else v.choice("sex", sex, _SEXES)
    age = _age(age)
    code, modality, method = _key(code, modality, method)
    rows = _rows(code, modality, method)
    if not rows:
        return None
    name, unit = _name(code), rows[0].unit
    shown = f"{name} {_show(x, unit)}"
    sexes = (sex,) if sex is not None else _SEXES
    all_bands = "; ".join(sorted({r.label for r in rows}))
    technique = _TECHNIQUE.get((modality, method), f"{modality} {method}")

    def na(reason: str, missing: tuple[str, ...] = (), cands: Iterable[_Row] = (),
           would_be: tuple[tuple[str, str], ...] = ()) -> Verdict:
        return Verdict("not_assessable", None, None, tuple(r.reference_range() for r in cands), missing, reason,
                       would_be)

    # Rows each sex could select: at the known age, or over every age segment of the bands.
    if age is not None:
        ages = (age,)
    else:
        # every adult age: an age no verified band covers is an age the patient may have
        edges = sorted({ADULT_AGE} | {e for r in rows for e in (r.start, r.stop) if math.isfinite(e)})
        ages = tuple((a + b) / 2 for a, b in zip(edges, edges[1:])) + (edges[-1] + 1.0,)
    grid: dict[tuple[str, float], _Row | None] = {(s, a): _pick(_rows(code, modality, method, s), a)
                                                  for s in sexes for a in ages}
    no_row = [s for s in sexes if all(grid[(s, a)] is None for a in ages)]
    if age is None and not no_row and any(r is None for r in grid.values()):
        return na(f"{shown}: not assessable without age; the verified {technique} ranges cover only {all_bands} "
                  "(not extrapolated to other ages)", ("age",), [r for r in grid.values() if r is not None])
    if no_row:
        who = " and ".join(_PEOPLE[s] for s in no_row)
        where = f" aged {age:g} y" if age is not None else ""
        if sex is None and len(no_row) < len(sexes):
            return na(f"{shown}: not assessable without sex; there is no verified {technique} range "
                      f"for {who}{where} (verified: {all_bands})", ("sex",))
        return na(f"{shown}: no verified {technique} range for {who}{where}; the verified ranges "
                  f"cover {all_bands}. Not extrapolated.")
    picked = {k: r for k, r in grid.items() if r is not None}
    cands = list(dict.fromkeys(picked.values()))
    cls = {r: _classify(x, r) for r in cands}
    would_be = tuple((r.label, cls[r]) for r in cands)
    statuses = set(cls.values())
    if len(statuses) == 1:
        status = statuses.pop()
        one = cands[0] if len(cands) == 1 else None
        z = (x - one.mean) / one.sd if one is not None and one.mean is not None and one.sd is not None else None
        who = one.label if one is not None else "every sex and age band it can be compared with (" + "; ".join(
            r.label for r in cands) + ")"
        return Verdict(status, z, one.reference_range() if one else None, tuple(r.reference_range() for r in cands),
                       (), f"{shown} is {_PHRASE[status]} for {who}", would_be)
    by_sex = any(len({cls[picked[(s, a)]] for s in sexes if (s, a) in picked}) > 1 for a in ages)
    by_age = any(len({cls[picked[(s, a)]] for a in ages if (s, a) in picked}) > 1 for s in sexes)
    missing = tuple(m for m, hit in (("sex", by_sex and sex is None), ("age", by_age and age is None)) if hit)
    if not missing:
        missing = tuple(m for m, unknown in (("sex", sex is None), ("age", age is None)) if unknown)
    detail = "; ".join(f"{cls[r]} for {r.label}" for r in cands)
    return na(f"{shown}: not assessable without {' and '.join(missing)}; it would be {detail}", missing, cands,
              would_be)


def method_key(m: Measurement) -> tuple[str, str] | None:
    """(modality, method) key of the verified tables for a measurement, or None.

    MR cine is balanced SSFP (heartprint's cine analysis and the tables' studies):
    ``("cmr", "ssfp")``. Echo (``US``): ``("echo", "2d_biplane")`` when the method text says
    biplane, ``("echo", "linear")`` when it says linear, ``("echo", "2d")`` for LA volume index.
    """
    text = (m.method or "").lower()
    if m.modality == "MR":
        return ("cmr", "ssfp")
    if m.modality == "US":
        if "biplane" in text:
            return ("echo", "2d_biplane")
        if "linear" in text:
            return ("echo", "linear")
        if m.code == "lavi":
            return ("echo", "2d")
    return None


def annotate(m: Measurement, *, sex: str | None, age: float | None) -> Measurement:
    """A copy of ``m`` with its verified range, z-score and low/normal/high verdict.

    Skipped (``m`` returned unchanged): regional measurements (a segment or vessel), ones
    that already carry a reference range or an interpretation, ones whose modality/method
    has no verified table (:func:`method_key`) or whose unit differs from the table's, and
    ones whose verdict is not assessable (sex or age needed, age outside every band).
    When sex or age is unknown but every candidate range agrees, ``interpretation`` is set
    and ``reference_range`` stays empty (no single population applies).
    """
    if m.segment is not None or m.vessel is not None or m.reference_range is not None or m.interpretation is not None:
        return m
    key = method_key(m)
    if key is None:
        return m
    rows = _rows(*_key(m.code, *key))
    if not rows or rows[0].unit.lower() != (m.unit or "").lower():
        return m
    res = verdict(m.value, m.code, sex=sex, age=age, modality=key[0], method=key[1])
    if res is None or res.status == "not_assessable":
        return m
    return m.model_copy(update={"reference_range": res.range, "interpretation": res.status,
                                "z_score": m.z_score if m.z_score is not None else res.z})

"""Pre-test probability / clinical likelihood of obstructive CAD (ESC 2019 and ESC 2024).

Tables are kept as data below with their citation and verification status. Neither table
is extrapolated: an age outside a table's bands raises
:class:`~heartprint.errors.InvalidInputError` naming the age and the table's range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from heartprint.clinical import _unknowns
from heartprint.clinical import _validate as v
from heartprint.errors import InvalidInputError
from heartprint.measure import Finding

__all__ = ["PretestProbability", "likelihood_esc2024", "ptp_esc2019"]

CITATION_ESC2019 = (
    "Knuuti J, Wijns W, et al. 2019 ESC Guidelines for the diagnosis and management of "
    "chronic coronary syndromes. Eur Heart J 2020;41:407-477, Table 5 (pre-test probability "
    "of obstructive CAD by age, sex and symptoms). doi:10.1093/eurheartj/ehz425"
)
CITATION_ESC2024 = (
    "Vrints C, et al. 2024 ESC Guidelines for the management of chronic coronary syndromes. "
    "Eur Heart J 2024;45:3415-3537, Figure 4 (risk-factor-weighted clinical likelihood, "
    "RF-CL) and section 3.2.1 / Recommendation Table 3. doi:10.1093/eurheartj/ehae177"
)

#: ESC 2019 Table 5 — PTP (%) of obstructive CAD. Keys: age band (low, high inclusive,
#: ``None`` = open), then (symptom, sex). Verified ✅S + ☑C: all 40 cells match the reproduced
#: table image and lookup table of the R package pretestcad 1.1.0 (JauntyJJS/pretestcad,
#: ``man/figures/esc_2019.jpg``, ``R/esc_2019_conference_ptp.R``). Table number: ⚠M.
ESC2019_TABLE: dict[tuple[int, int | None], dict[tuple[str, str], int]] = {
    (30, 39): {("typical", "male"): 3, ("typical", "female"): 5, ("atypical", "male"): 4, ("atypical", "female"): 3,
               ("non-anginal", "male"): 1, ("non-anginal", "female"): 1, ("dyspnoea", "male"): 0, ("dyspnoea", "female"): 3},
    (40, 49): {("typical", "male"): 22, ("typical", "female"): 10, ("atypical", "male"): 10, ("atypical", "female"): 6,
               ("non-anginal", "male"): 3, ("non-anginal", "female"): 2, ("dyspnoea", "male"): 12, ("dyspnoea", "female"): 3},
    (50, 59): {("typical", "male"): 32, ("typical", "female"): 13, ("atypical", "male"): 17, ("atypical", "female"): 6,
               ("non-anginal", "male"): 11, ("non-anginal", "female"): 3, ("dyspnoea", "male"): 20, ("dyspnoea", "female"): 9},
    (60, 69): {("typical", "male"): 44, ("typical", "female"): 16, ("atypical", "male"): 26, ("atypical", "female"): 11,
               ("non-anginal", "male"): 22, ("non-anginal", "female"): 6, ("dyspnoea", "male"): 27, ("dyspnoea", "female"): 14},
    (70, None): {("typical", "male"): 52, ("typical", "female"): 27, ("atypical", "male"): 34, ("atypical", "female"): 19,
                 ("non-anginal", "male"): 24, ("non-anginal", "female"): 10, ("dyspnoea", "male"): 32, ("dyspnoea", "female"): 12},
}

#: ESC 2024 Figure 4 — RF-CL (%) of obstructive CAD. Keys: age band, then (sex, symptom-score
#: column "0-1" | "2" | "3"), value = (RF 0–1, RF 2–3, RF 4–5). Verified ✅P + ☑C: all 90
#: cells read from the guideline's Figure 4 text and matched cell-for-cell to pretestcad
#: ``calculate_esc_2024_fig_4_ptp_simplfied``.
ESC2024_TABLE: dict[tuple[int, int], dict[tuple[str, str], tuple[int, int, int]]] = {
    (30, 39): {("female", "0-1"): (0, 1, 2), ("male", "0-1"): (1, 2, 5), ("female", "2"): (0, 1, 3),
               ("male", "2"): (2, 4, 8), ("female", "3"): (2, 5, 10), ("male", "3"): (9, 14, 22)},
    (40, 49): {("female", "0-1"): (1, 1, 3), ("male", "0-1"): (2, 4, 8), ("female", "2"): (1, 2, 5),
               ("male", "2"): (3, 6, 12), ("female", "3"): (4, 7, 12), ("male", "3"): (14, 20, 27)},
    (50, 59): {("female", "0-1"): (1, 2, 5), ("male", "0-1"): (4, 7, 12), ("female", "2"): (2, 3, 7),
               ("male", "2"): (6, 11, 17), ("female", "3"): (6, 10, 15), ("male", "3"): (21, 27, 33)},
    (60, 69): {("female", "0-1"): (2, 4, 7), ("male", "0-1"): (8, 12, 17), ("female", "2"): (3, 6, 11),
               ("male", "2"): (12, 17, 25), ("female", "3"): (10, 14, 19), ("male", "3"): (32, 35, 39)},
    (70, 80): {("female", "0-1"): (4, 7, 11), ("male", "0-1"): (15, 19, 24), ("female", "2"): (6, 10, 16),
               ("male", "2"): (22, 27, 34), ("female", "3"): (16, 19, 23), ("male", "3"): (44, 44, 45)},
}

#: Chest-pain type → ESC 2024 symptom score (✅P, Figure 4 caption: 3 points = typical,
#: 2 = atypical, 0–1 = non-anginal; non-anginal is scored 1, which falls in the "0-1" column).
CHEST_PAIN_POINTS: dict[str, int] = {"typical": 3, "atypical": 2, "non-anginal": 1}
#: Dyspnoea on exertion scores 2 points (✅P, Figure 4).
DYSPNOEA_POINTS = 2

#: ESC 2019 interpretation bands (upper bound inclusive, %). Band edges ✅S (shading of the
#: reproduced table: ≤5 unshaded, 6–15 light, >15 dark); the labels low/intermediate/high are
#: pretestcad's (☑C); the action wording is ⚠M and only reported in ``details``.
ESC2019_BANDS: tuple[tuple[float, str, str], ...] = (
    (5.0, "low", "testing only for compelling reasons (⚠M wording)"),
    (15.0, "intermediate", "testing may be considered after assessing overall clinical likelihood (⚠M wording)"),
    (math.inf, "high", "non-invasive testing most beneficial (⚠M wording)"),
)
#: ESC 2024 likelihood categories (upper bound inclusive, %), ✅P: section 3.2.1 and
#: Recommendation Table 3.
ESC2024_BANDS: tuple[tuple[float, str], ...] = (
    (5.0, "very low"), (15.0, "low"), (50.0, "moderate"), (85.0, "high"), (math.inf, "very high"),
)

_SEXES = ("male", "female")
_MAX_PLAUSIBLE_AGE = 120.0


@dataclass(frozen=True)
class PretestProbability:
    """Result of a pre-test probability / clinical likelihood lookup.

    Attributes
    ----------
    percent
        Probability of obstructive CAD, in percent (the table's integer cell); ``None`` when
        not assessable.
    category
        The guideline's category words (ESC 2019: low/intermediate/high;
        ESC 2024: very low/low/moderate/high/very high); ``None`` when not assessable.
    rule, citation
        The function that produced it and the table cited.
    inputs
        The inputs after validation (age in years, sex, symptom, ...; ``None`` = unknown).
    details
        Table band, column and mapping used; when not assessable, ``would_be`` maps each
        value the unknown inputs could take to the answer it would give.
    status
        ``"present"`` (a table cell applies) or ``"not_assessable"`` (the cell depends on an
        input that is unknown).
    missing
        Plain names of the unknown inputs the answer depends on.
    """

    percent: float | None
    category: str | None
    rule: str
    citation: str
    inputs: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    status: str = "present"
    missing: tuple[str, ...] = ()

    def finding(self) -> Finding:
        """This result as a :class:`~heartprint.measure.Finding` (code ``ptp_<category>``; when
        not assessable ``ptp_esc2019`` or ``clinical_likelihood_esc2024``)."""
        if self.status == "not_assessable" or self.category is None:
            code = "clinical_likelihood_esc2024" if self.rule.endswith("likelihood_esc2024") else "ptp_esc2019"
            name = "ESC 2024 clinical likelihood" if code.startswith("clinical") else "ESC 2019 pre-test probability"
            return Finding(code=code, statement=f"{name} not assessable: depends on {', '.join(self.missing)}",
                           status="not_assessable", rule=self.rule, citation=self.citation, inputs=self.inputs,
                           missing=list(self.missing), details=dict(self.details))
        code = "ptp_" + self.category.replace(" ", "_")
        return Finding(
            code=code,
            statement=f"{self.percent:g} % probability of obstructive CAD ({self.category})",
            status="present",
            rule=self.rule,
            citation=self.citation,
            inputs=self.inputs,
            details={"percent": self.percent, "category": self.category, **self.details},
        )


def _age_band(age: float, bands: list[tuple[int, int | None]], table: str) -> tuple[int, int | None]:
    years = math.floor(age)  # age in completed years
    for lo, hi in bands:
        if years >= lo and (hi is None or years <= hi):
            return lo, hi
    lo, hi = bands[0][0], bands[-1][1]
    span = f"{lo}–{hi}" if hi is not None else f"≥{lo}"
    raise InvalidInputError(f"age={age!r} years: outside the {table} table ({span} years); the table is not extrapolated")


def _band(percent: float, bands: tuple[tuple[Any, ...], ...]) -> tuple[Any, ...]:
    for band in bands:
        if percent <= band[0]:
            return band
    raise AssertionError("unreachable")  # pragma: no cover


#: Chest-pain values a rule takes: the three types, or ``"none"`` (no chest pain). ``None``
#: (not a string) means unknown.
CHEST_PAIN_VALUES = ("typical", "atypical", "non-anginal", "none")


def _chest_pain(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip().lower().replace("_", "-")
    return v.choice("chest_pain", value, CHEST_PAIN_VALUES)


def _sex(value: Any) -> str | None:
    return None if value is None else v.choice("sex", value, _SEXES)


def _options(value: Any, domain: tuple[Any, ...]) -> tuple[Any, ...]:
    """The values an input may take: itself when known, every value of its domain when unknown."""
    return (value,) if value is not None else domain


def _decide(outcomes: dict[_unknowns.Key, float | None], table: str) -> float | None:
    """The one table cell every possible value of the unknown inputs gives, or ``None`` when they
    disagree. Raises when no possible value is a symptomatic patient (the tables do not apply)."""
    cells = set(outcomes.values())
    if cells == {None}:
        raise InvalidInputError(
            f"no chest pain and no dyspnoea: the {table} covers symptomatic patients; expected a chest-pain type "
            "('typical', 'atypical', 'non-anginal') or dyspnoea=True")
    return cells.pop() if len(cells) == 1 and None not in cells else None


def _would_be(outcomes: dict[_unknowns.Key, float | None], bands: tuple[tuple[Any, ...], ...]) -> dict[str, str]:
    """Plain-language answer for each combination of the unknown inputs' values."""
    return _unknowns.would_be(outcomes, lambda percent: "the table does not apply (no symptom)" if percent is None
                              else f"{percent:g} % ({_band(percent, bands)[1]})")


def _assumed(pairs: list[tuple[str, Any, Any]]) -> _unknowns.Key:
    """The (plain name, value) of each input that was unknown, for one enumerated combination."""
    words = {True: "yes", False: "no", "none": "absent"}
    return tuple((name, words.get(val, str(val))) for name, given, val in pairs if given is None)


def ptp_esc2019(age: float, sex: str | None, chest_pain: str | None, dyspnoea: bool | None = None) -> PretestProbability:
    """Pre-test probability of obstructive CAD, ESC 2019 chronic coronary syndromes.

    Parameters
    ----------
    age
        Age in years (completed years are used: 39.9 falls in 30–39). Table bands 30–39,
        40–49, 50–59, 60–69, 70+; younger ages raise.
    sex
        ``"male"``, ``"female"`` or ``None`` (unknown).
    chest_pain
        ``"typical"`` (all three anginal characteristics), ``"atypical"`` (two),
        ``"non-anginal"`` (zero or one), ``"none"`` (no chest pain) or ``None`` (unknown).
    dyspnoea
        Dyspnoea as the symptom: ``True``, ``False`` or ``None`` (unknown). Following
        pretestcad's convention (☑C), the dyspnoea column is used only when there is no chest
        pain; with chest pain, its type is used.

    Returns
    -------
    PretestProbability
        ``percent`` from the table; ``category`` ``"low"`` (≤5 %), ``"intermediate"``
        (>5–15 %) or ``"high"`` (>15 %). An unknown input that changes the cell makes it
        ``not_assessable`` (``missing`` names it; ``details["would_be"]`` gives each answer);
        an unknown that does not change the cell (dyspnoea with chest pain given) is decided.

    Raises
    ------
    InvalidInputError
        Age outside the table (<30 y, or implausible >120 y), unknown sex or symptom, or no
        symptom at all (the table covers symptomatic patients only).

    Notes
    -----
    Knuuti J, Wijns W, et al. Eur Heart J 2020;41:407–477, Table 5 (table number ⚠M).
    doi:10.1093/eurheartj/ehz425. Cells ✅S + ☑C (see :data:`ESC2019_TABLE`).
    """
    age = v.number("age", age, 0, _MAX_PLAUSIBLE_AGE, unit="years")
    sex = _sex(sex)
    chest_pain = _chest_pain(chest_pain)
    dyspnoea = v.flag("dyspnoea", dyspnoea)
    band = _age_band(age, list(ESC2019_TABLE), "ESC 2019 PTP")
    outcomes: dict[_unknowns.Key, float | None] = {}
    columns: set[str] = set()
    for cp in _options(chest_pain, CHEST_PAIN_VALUES):
        for dys in _options(dyspnoea, (True, False)):
            for sx in _options(sex, _SEXES):
                key = _assumed([("chest pain", chest_pain, cp), ("dyspnoea", dyspnoea, dys), ("sex", sex, sx)])
                if cp == "none" and not dys:
                    outcomes[key] = None
                    continue
                column = cp if cp != "none" else "dyspnoea"
                columns.add(column)
                outcomes[key] = float(ESC2019_TABLE[band][(column, sx)])
    percent = _decide(outcomes, "ESC 2019 table")
    inputs = {"age": {"value": age, "unit": "a"}, "sex": sex, "chest_pain": chest_pain, "dyspnoea": dyspnoea}
    details: dict[str, Any] = {"age_band": _band_label(band), "bands": "≤5 low, >5–15 intermediate, >15 high"}
    rule = v.rule_name(ptp_esc2019)
    if percent is None:
        matter = _unknowns.mattering(outcomes)
        missing = [n for n, key in (("chest-pain type", "chest pain"), ("dyspnoea", "dyspnoea"), ("sex", "sex"))
                   if key in matter]
        return PretestProbability(percent=None, category=None, rule=rule, citation=CITATION_ESC2019, inputs=inputs,
                                  details={**details, "would_be": _would_be(outcomes, ESC2019_BANDS)},
                                  status="not_assessable", missing=tuple(missing))
    _, category, action = _band(percent, ESC2019_BANDS)
    unknown = [n for n, val in (("chest_pain", chest_pain), ("dyspnoea", dyspnoea), ("sex", sex)) if val is None]
    if unknown:
        details["same_for_every_value_of"] = unknown
    return PretestProbability(
        percent=percent,
        category=category,
        rule=rule,
        citation=CITATION_ESC2019,
        inputs=inputs,
        details={**details, "column": " or ".join(sorted(columns)), "interpretation": action},
    )


def _risk_factor_counts(risk_factors: Any) -> tuple[int, int]:
    """(fewest, most) risk factors: an int, a (known present, known present + unknown) pair, or
    ``None`` (all five unknown)."""
    if risk_factors is None:
        return 0, 5
    if isinstance(risk_factors, tuple):
        if len(risk_factors) != 2:
            raise InvalidInputError(f"risk_factors={risk_factors!r}: expected an integer 0–5 or a (fewest, most) pair")
        lo = v.integer("risk_factors (fewest)", risk_factors[0], 0, 5)
        hi = v.integer("risk_factors (most)", risk_factors[1], lo, 5)
        return lo, hi
    n = v.integer("risk_factors", risk_factors, 0, 5)
    return n, n


def likelihood_esc2024(age: float, sex: str | None, chest_pain: str | None, dyspnoea: bool | None,
                       risk_factors: int | tuple[int, int] | None) -> PretestProbability:
    """Risk-factor-weighted clinical likelihood (RF-CL) of obstructive CAD, ESC 2024.

    Parameters
    ----------
    age
        Age in years (completed years; bands 30–39 … 70–80). Outside 30–80 raises.
    sex
        ``"male"``, ``"female"`` or ``None`` (unknown).
    chest_pain
        ``"typical"`` → 3 points, ``"atypical"`` → 2, ``"non-anginal"`` → 1 (the "0–1"
        column), ``"none"`` → no chest pain, ``None`` → unknown. Figure 4 scores chest pain by
        its three characteristics (retrosternal constricting discomfort; provoked by physical
        or emotional stress; relieved by rest or nitrates within 5 min): 3 = typical,
        2 = atypical, 0–1 = non-anginal (✅P).
    dyspnoea
        Exertional dyspnoea (``True``/``False``/``None`` unknown) scores 2 points (✅P). The
        main symptom is either chest pain or dyspnoea; when both are present the higher score
        is used (pretestcad convention, ☑C): typical + dyspnoea → 3, atypical/non-anginal +
        dyspnoea → 2.
    risk_factors
        Number of risk factors, 0–5: family history of premature CAD, smoking (current or
        past), dyslipidaemia, hypertension, diabetes. Grouped 0–1, 2–3, 4–5. When some are
        unknown pass ``(present, present + unknown)``; ``None``: all unknown.

    Returns
    -------
    PretestProbability
        ``percent`` from Figure 4; ``category`` ``"very low"`` (≤5 %), ``"low"``
        (>5–15 %), ``"moderate"`` (>15–50 %), ``"high"`` (>50–85 %), ``"very high"``
        (>85 %) (✅P, section 3.2.1). ``not_assessable`` when the cell depends on an unknown
        input (``details["would_be"]`` gives each answer).

    Raises
    ------
    InvalidInputError
        Age outside 30–80 years, risk_factors outside 0–5, unknown sex or symptom, or no
        symptom (the model covers symptomatic patients).

    Notes
    -----
    Vrints C, et al. Eur Heart J 2024;45:3415–3537, Figure 4. doi:10.1093/eurheartj/ehae177.
    Data: Winther S, et al. J Am Coll Cardiol 2020, doi:10.1016/j.jacc.2020.09.585.
    """
    age = v.number("age", age, 0, _MAX_PLAUSIBLE_AGE, unit="years")
    sex = _sex(sex)
    chest_pain = _chest_pain(chest_pain)
    dyspnoea = v.flag("dyspnoea", dyspnoea)
    rf_lo, rf_hi = _risk_factor_counts(risk_factors)
    band = _age_band(age, list(ESC2024_TABLE), "ESC 2024 RF-CL")
    groups = sorted({0 if n <= 1 else 1 if n <= 3 else 2 for n in range(rf_lo, rf_hi + 1)})
    rf_known = rf_lo == rf_hi
    outcomes: dict[_unknowns.Key, float | None] = {}
    scores: set[int] = set()
    for cp in _options(chest_pain, CHEST_PAIN_VALUES):
        for dys in _options(dyspnoea, (True, False)):
            for sx in _options(sex, _SEXES):
                for g in groups:
                    key = _assumed([("chest pain", chest_pain, cp), ("dyspnoea", dyspnoea, dys), ("sex", sex, sx),
                                    ("risk factors", None if not rf_known else rf_lo, ("0-1", "2-3", "4-5")[g])])
                    if cp == "none" and not dys:
                        outcomes[key] = None
                        continue
                    score = max(CHEST_PAIN_POINTS.get(cp, 0), DYSPNOEA_POINTS if dys else 0)
                    scores.add(score)
                    column = "0-1" if score <= 1 else str(score)
                    outcomes[key] = float(ESC2024_TABLE[band][(sx, column)][g])  # type: ignore[index]
    percent = _decide(outcomes, "ESC 2024 RF-CL model")
    rf_input: Any = rf_lo if rf_known else [rf_lo, rf_hi]
    inputs = {"age": {"value": age, "unit": "a"}, "sex": sex, "chest_pain": chest_pain, "dyspnoea": dyspnoea,
              "risk_factors": rf_input}
    details: dict[str, Any] = {"age_band": _band_label(band),
                               "bands": "≤5 very low, >5–15 low, >15–50 moderate, >50–85 high, >85 very high"}
    rule = v.rule_name(likelihood_esc2024)
    if percent is None:
        matter = _unknowns.mattering(outcomes)
        missing = [n for n, key in (("chest-pain type", "chest pain"), ("dyspnoea", "dyspnoea"), ("sex", "sex"),
                                    ("risk factors (family history, smoking, dyslipidaemia, hypertension, diabetes)",
                                     "risk factors")) if key in matter]
        return PretestProbability(percent=None, category=None, rule=rule, citation=CITATION_ESC2024, inputs=inputs,
                                  details={**details, "would_be": _would_be(outcomes, ESC2024_BANDS)},
                                  status="not_assessable", missing=tuple(missing))
    _, category = _band(percent, ESC2024_BANDS)
    unknown = [n for n, val in (("chest_pain", chest_pain), ("dyspnoea", dyspnoea), ("sex", sex),
                                ("risk_factors", rf_lo if rf_known else None)) if val is None]
    if unknown:
        details["same_for_every_value_of"] = unknown
    return PretestProbability(
        percent=percent,
        category=category,
        rule=rule,
        citation=CITATION_ESC2024,
        inputs=inputs,
        details={**details, "symptom_score": next(iter(scores)) if len(scores) == 1 else sorted(scores),
                 "symptom_column": " or ".join(sorted({"0-1" if sc <= 1 else str(sc) for sc in scores})),
                 "risk_factor_group": " or ".join(("0-1", "2-3", "4-5")[g] for g in groups)},
    )


def _band_label(band: tuple[int, int | None]) -> str:
    lo, hi = band
    return f"{lo}+" if hi is None else f"{lo}-{hi}"

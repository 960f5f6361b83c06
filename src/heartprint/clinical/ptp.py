"""Pre-test probability / clinical likelihood of obstructive CAD (ESC 2019 and ESC 2024).

Tables are kept as data below with their citation and verification status. Neither table
is extrapolated: an age outside a table's bands raises
:class:`~heartprint.errors.InvalidInputError` naming the age and the table's range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

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
        Probability of obstructive CAD, in percent (the table's integer cell).
    category
        The guideline's category words (ESC 2019: low/intermediate/high;
        ESC 2024: very low/low/moderate/high/very high).
    rule, citation
        The function that produced it and the table cited.
    inputs
        The inputs after validation (age in years, sex, symptom, ...).
    details
        Table band, column and mapping used.
    """

    percent: float
    category: str
    rule: str
    citation: str
    inputs: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def finding(self) -> Finding:
        """This result as a :class:`~heartprint.measure.Finding` (code ``ptp_<category>``)."""
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


def ptp_esc2019(age: float, sex: str, chest_pain: str | None, dyspnoea: bool = False) -> PretestProbability:
    """Pre-test probability of obstructive CAD, ESC 2019 chronic coronary syndromes.

    Parameters
    ----------
    age
        Age in years (completed years are used: 39.9 falls in 30–39). Table bands 30–39,
        40–49, 50–59, 60–69, 70+; younger ages raise.
    sex
        ``"male"`` or ``"female"``.
    chest_pain
        ``"typical"`` (all three anginal characteristics), ``"atypical"`` (two),
        ``"non-anginal"`` (zero or one), or ``None`` (no chest pain).
    dyspnoea
        Dyspnoea as the symptom. Following pretestcad's convention (☑C), the dyspnoea
        column is used only when there is no chest pain; with chest pain, its type is used.

    Returns
    -------
    PretestProbability
        ``percent`` from the table; ``category`` ``"low"`` (≤5 %), ``"intermediate"``
        (>5–15 %) or ``"high"`` (>15 %).

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
    sex = v.choice("sex", sex, _SEXES)
    if chest_pain is not None:
        chest_pain = v.choice("chest_pain", chest_pain, tuple(CHEST_PAIN_POINTS))
    dyspnoea = v.flag("dyspnoea", dyspnoea)
    if chest_pain is None and not dyspnoea:
        raise InvalidInputError(
            "chest_pain=None and dyspnoea=False: the ESC 2019 table covers symptomatic patients; "
            "expected a chest-pain type ('typical', 'atypical', 'non-anginal') or dyspnoea=True"
        )
    column = chest_pain if chest_pain is not None else "dyspnoea"
    band = _age_band(age, list(ESC2019_TABLE), "ESC 2019 PTP")
    percent = float(ESC2019_TABLE[band][(column, sex)])
    _, category, action = _band(percent, ESC2019_BANDS)
    return PretestProbability(
        percent=percent,
        category=category,
        rule=v.rule_name(ptp_esc2019),
        citation=CITATION_ESC2019,
        inputs={"age": {"value": age, "unit": "a"}, "sex": sex, "chest_pain": chest_pain, "dyspnoea": bool(dyspnoea)},
        details={"age_band": _band_label(band), "column": column, "interpretation": action,
                 "bands": "≤5 low, >5–15 intermediate, >15 high"},
    )


def likelihood_esc2024(age: float, sex: str, chest_pain: str | None, dyspnoea: bool, risk_factors: int) -> PretestProbability:
    """Risk-factor-weighted clinical likelihood (RF-CL) of obstructive CAD, ESC 2024.

    Parameters
    ----------
    age
        Age in years (completed years; bands 30–39 … 70–80). Outside 30–80 raises.
    sex
        ``"male"`` or ``"female"``.
    chest_pain
        ``"typical"`` → 3 points, ``"atypical"`` → 2, ``"non-anginal"`` → 1 (the "0–1"
        column), ``None`` → no chest pain. Figure 4 scores chest pain by its three
        characteristics (retrosternal constricting discomfort; provoked by physical or
        emotional stress; relieved by rest or nitrates within 5 min): 3 = typical,
        2 = atypical, 0–1 = non-anginal (✅P).
    dyspnoea
        Exertional dyspnoea scores 2 points (✅P). The main symptom is either chest pain or
        dyspnoea; when both are present the higher score is used (pretestcad convention,
        ☑C): typical + dyspnoea → 3, atypical/non-anginal + dyspnoea → 2.
    risk_factors
        Number of risk factors, 0–5: family history of premature CAD, smoking (current or
        past), dyslipidaemia, hypertension, diabetes. Grouped 0–1, 2–3, 4–5.

    Returns
    -------
    PretestProbability
        ``percent`` from Figure 4; ``category`` ``"very low"`` (≤5 %), ``"low"``
        (>5–15 %), ``"moderate"`` (>15–50 %), ``"high"`` (>50–85 %), ``"very high"``
        (>85 %) (✅P, section 3.2.1).

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
    sex = v.choice("sex", sex, _SEXES)
    if chest_pain is not None:
        chest_pain = v.choice("chest_pain", chest_pain, tuple(CHEST_PAIN_POINTS))
    dyspnoea = v.flag("dyspnoea", dyspnoea)
    risk_factors = v.integer("risk_factors", risk_factors, 0, 5)
    if chest_pain is None and not dyspnoea:
        raise InvalidInputError(
            "chest_pain=None and dyspnoea=False: the ESC 2024 RF-CL model covers symptomatic patients; "
            "expected a chest-pain type ('typical', 'atypical', 'non-anginal') or dyspnoea=True"
        )
    score = max(CHEST_PAIN_POINTS.get(chest_pain, 0) if chest_pain else 0, DYSPNOEA_POINTS if dyspnoea else 0)
    column = "0-1" if score <= 1 else str(score)
    rf_group = 0 if risk_factors <= 1 else 1 if risk_factors <= 3 else 2
    band = _age_band(age, list(ESC2024_TABLE), "ESC 2024 RF-CL")
    percent = float(ESC2024_TABLE[band][(sex, column)][rf_group])  # type: ignore[index]
    _, category = _band(percent, ESC2024_BANDS)
    return PretestProbability(
        percent=percent,
        category=category,
        rule=v.rule_name(likelihood_esc2024),
        citation=CITATION_ESC2024,
        inputs={"age": {"value": age, "unit": "a"}, "sex": sex, "chest_pain": chest_pain,
                "dyspnoea": bool(dyspnoea), "risk_factors": risk_factors},
        details={"age_band": _band_label(band), "symptom_score": score, "symptom_column": column,
                 "risk_factor_group": ("0-1", "2-3", "4-5")[rf_group],
                 "bands": "≤5 very low, >5–15 low, >15–50 moderate, >50–85 high, >85 very high"},
    )


def _band_label(band: tuple[int, int | None]) -> str:
    lo, hi = band
    return f"{lo}+" if hi is None else f"{lo}-{hi}"

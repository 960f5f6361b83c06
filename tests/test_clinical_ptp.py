"""ESC 2019 PTP (Table 5) and ESC 2024 RF-CL (Figure 4): every cell, every boundary.

The expected tables are typed in here again from clinical_reference.md §1 (verified ✅S/✅P
against the reproduced table / guideline figure text and pretestcad), independently of the
module's own data.
"""

import pytest

from heartprint.clinical import likelihood_esc2024, ptp_esc2019
from heartprint.errors import InvalidInputError
from heartprint.measure import Finding

ESC2019 = """
30 39 | 3 5 | 4 3 | 1 1 | 0 3
40 49 | 22 10 | 10 6 | 3 2 | 12 3
50 59 | 32 13 | 17 6 | 11 3 | 20 9
60 69 | 44 16 | 26 11 | 22 6 | 27 14
70 95 | 52 27 | 34 19 | 24 10 | 32 12
"""
COLS_2019 = ["typical", "atypical", "non-anginal", "none"]  # "none" = no chest pain: dyspnoea only


def _cells_2019():
    for line in ESC2019.strip().splitlines():
        parts = [p.split() for p in line.split("|")]
        lo, hi = map(int, parts[0])
        for symptom, pair in zip(COLS_2019, parts[1:]):
            for sex, val in zip(("male", "female"), map(int, pair)):
                for age in (lo, hi):
                    yield age, sex, symptom, val


@pytest.mark.parametrize("age,sex,symptom,expected", list(_cells_2019()))
def test_esc2019_every_cell(age, sex, symptom, expected):
    r = ptp_esc2019(age, sex, symptom, dyspnoea=symptom == "none")
    assert r.percent == expected


def test_esc2019_chest_pain_takes_precedence_over_dyspnoea():
    assert ptp_esc2019(45, "male", "non-anginal", dyspnoea=True).percent == 3
    assert ptp_esc2019(45, "male", "none", dyspnoea=True).percent == 12


@pytest.mark.parametrize("age,band", [(39, "30-39"), (39.99, "30-39"), (40, "40-49"), (69.99, "60-69"), (70, "70+"), (104, "70+")])
def test_esc2019_age_band_edges(age, band):
    assert ptp_esc2019(age, "male", "typical").details["age_band"] == band


@pytest.mark.parametrize("age", [29.99, 29, 18, 0, 121, 200, -1, float("nan")])
def test_esc2019_out_of_table_age_raises(age):
    with pytest.raises(InvalidInputError, match="age"):
        ptp_esc2019(age, "male", "typical")


def test_esc2019_error_names_table_range():
    with pytest.raises(InvalidInputError, match=r"≥30"):
        ptp_esc2019(25, "female", "atypical")


@pytest.mark.parametrize(
    "args,category",
    [
        ((35, "female", "typical"), "low"),  # 5 % -> ≤5 low
        ((45, "female", "atypical"), "intermediate"),  # 6 %
        ((65, "female", "none", True), "intermediate"),  # 14 %
        ((65, "female", "typical"), "high"),  # 16 %
        ((45, "male", "non-anginal"), "low"),  # 3 %
    ],
)
def test_esc2019_category_bands_both_sides(args, category):
    assert ptp_esc2019(*args).category == category


def test_esc2019_band_edges_exact():
    from heartprint.clinical.ptp import ESC2019_BANDS, _band

    assert _band(5.0, ESC2019_BANDS)[1] == "low"
    assert _band(5.0001, ESC2019_BANDS)[1] == "intermediate"
    assert _band(15.0, ESC2019_BANDS)[1] == "intermediate"
    assert _band(15.0001, ESC2019_BANDS)[1] == "high"


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"sex": "other"}, "sex"),
        ({"chest_pain": "crushing"}, "chest_pain"),
        ({"chest_pain": "none", "dyspnoea": False}, "symptomatic"),
        ({"dyspnoea": "yes"}, "dyspnoea"),
        ({"age": "fifty"}, "age"),
    ],
)
def test_esc2019_bad_inputs(kwargs, match):
    base = {"age": 50, "sex": "male", "chest_pain": "typical", "dyspnoea": False}
    base.update(kwargs)
    with pytest.raises(InvalidInputError, match=match):
        ptp_esc2019(**base)


def test_esc2019_finding():
    f = ptp_esc2019(55, "male", "typical").finding()
    assert isinstance(f, Finding)
    assert f.code == "ptp_high" and f.status == "present"
    assert "ehz425" in f.citation and f.inputs["sex"] == "male"
    assert f.details["percent"] == 32


# ESC 2024 Figure 4: age | W 0-1 | M 0-1 | W 2 | M 2 | W 3 | M 3, each RF 0-1/2-3/4-5
ESC2024 = """
30 39 | 0 1 2 | 1 2 5 | 0 1 3 | 2 4 8 | 2 5 10 | 9 14 22
40 49 | 1 1 3 | 2 4 8 | 1 2 5 | 3 6 12 | 4 7 12 | 14 20 27
50 59 | 1 2 5 | 4 7 12 | 2 3 7 | 6 11 17 | 6 10 15 | 21 27 33
60 69 | 2 4 7 | 8 12 17 | 3 6 11 | 12 17 25 | 10 14 19 | 32 35 39
70 80 | 4 7 11 | 15 19 24 | 6 10 16 | 22 27 34 | 16 19 23 | 44 44 45
"""
# (sex, how to produce the symptom column)
COLS_2024 = [
    ("female", [("non-anginal", False)]), ("male", [("non-anginal", False)]),
    ("female", [("atypical", False), ("none", True), ("non-anginal", True), ("atypical", True)]),
    ("male", [("atypical", False), ("none", True), ("non-anginal", True), ("atypical", True)]),
    ("female", [("typical", False), ("typical", True)]), ("male", [("typical", False), ("typical", True)]),
]
RF_GROUPS = [(0, 1), (2, 3), (4, 5)]


def _cells_2024():
    for line in ESC2024.strip().splitlines():
        parts = [p.split() for p in line.split("|")]
        lo, hi = map(int, parts[0])
        for (sex, symptom_ways), triple in zip(COLS_2024, parts[1:]):
            for rfs, val in zip(RF_GROUPS, map(int, triple)):
                for age in (lo, hi):
                    for rf in rfs:
                        for cp, dys in symptom_ways:
                            yield age, sex, cp, dys, rf, val


CELLS_2024 = list(_cells_2024())


def test_esc2024_cell_count():
    assert sum(len(p.split()) for line in ESC2024.strip().splitlines() for p in line.split("|")[1:]) == 90


@pytest.mark.parametrize("age,sex,cp,dys,rf,expected", CELLS_2024)
def test_esc2024_every_cell(age, sex, cp, dys, rf, expected):
    assert likelihood_esc2024(age, sex, cp, dys, rf).percent == expected


@pytest.mark.parametrize("age,match", [(29.99, "30–80"), (81, "30–80"), (85, "30–80"), (200, "age=200"), (-5, "age=-5")])
def test_esc2024_out_of_table_age_raises(age, match):
    with pytest.raises(InvalidInputError, match=match):
        likelihood_esc2024(age, "male", "typical", False, 2)


@pytest.mark.parametrize("rf", [-1, 6, 2.5, True, "3"])
def test_esc2024_bad_risk_factors(rf):
    with pytest.raises(InvalidInputError, match="risk_factors"):
        likelihood_esc2024(50, "male", "typical", False, rf)


def test_esc2024_no_symptom_raises():
    with pytest.raises(InvalidInputError, match="symptomatic"):
        likelihood_esc2024(50, "male", "none", False, 2)


@pytest.mark.parametrize(
    "args,category",
    [
        ((30, "male", "non-anginal", False, 5), "very low"),  # 5
        ((50, "female", "atypical", False, 5), "low"),  # 7
        ((55, "female", "typical", False, 5), "low"),  # 15
        ((45, "female", "typical", False, 5), "low"),  # 12
        ((65, "male", "non-anginal", False, 5), "moderate"),  # 17
        ((75, "male", "typical", False, 5), "moderate"),  # 45
    ],
)
def test_esc2024_categories(args, category):
    assert likelihood_esc2024(*args).category == category


def test_esc2024_band_edges_exact():
    from heartprint.clinical.ptp import ESC2024_BANDS, _band

    for edge, below, above in [(5, "very low", "low"), (15, "low", "moderate"), (50, "moderate", "high"), (85, "high", "very high")]:
        assert _band(float(edge), ESC2024_BANDS)[1] == below
        assert _band(edge + 1e-6, ESC2024_BANDS)[1] == above


def test_esc2024_finding_and_mapping_details():
    r = likelihood_esc2024(62, "female", "non-anginal", True, 3)
    assert r.details["symptom_score"] == 2 and r.details["risk_factor_group"] == "2-3"
    assert r.percent == 6 and r.category == "low"
    f = r.finding()
    assert f.code == "ptp_low" and "ehae177" in f.citation and f.inputs["risk_factors"] == 3


def test_lookup_can_fail():
    """The test oracle differs from a neighbouring cell (guards against a shifted table)."""
    assert likelihood_esc2024(70, "male", "typical", False, 0).percent != likelihood_esc2024(69, "male", "typical", False, 0).percent


# -- unknown is never "no" (issue 16, item 1) ---------------------------------------------------


def test_dyspnoea_unknown_is_decided_when_chest_pain_sets_the_column():
    r = ptp_esc2019(45, "male", "non-anginal")  # dyspnoea not given: the chest-pain column applies either way
    assert r.status == "present" and r.percent == 3 and r.details["same_for_every_value_of"] == ["dyspnoea"]
    assert likelihood_esc2024(62, "female", "typical", None, 3).percent == 14  # score 3 either way


def test_dyspnoea_unknown_without_chest_pain_is_not_assessable():
    r = ptp_esc2019(45, "male", "none")
    assert r.status == "not_assessable" and r.percent is None and r.missing == ("dyspnoea",)
    assert r.details["would_be"] == {"dyspnoea yes": "12 % (intermediate)",
                                     "dyspnoea no": "the table does not apply (no symptom)"}
    f = r.finding()
    assert f.code == "ptp_esc2019" and f.status == "not_assessable" and f.missing == ["dyspnoea"]


def test_chest_pain_unknown_is_not_no_chest_pain():
    r = ptp_esc2019(45, "male", None, dyspnoea=True)
    assert r.status == "not_assessable" and r.missing == ("chest-pain type",)
    assert r.details["would_be"]["chest pain absent"] == "12 % (intermediate)"
    assert r.details["would_be"]["chest pain typical"] == "22 % (high)"


def test_non_anginal_pain_with_dyspnoea_unknown_esc2024():
    # non-anginal (1 point) vs dyspnoea (2 points): columns 0-1 and 2 differ for a 62-year-old woman (4 vs 6 %)
    r = likelihood_esc2024(62, "female", "non-anginal", None, 3)
    assert r.status == "not_assessable" and r.missing == ("dyspnoea",)
    assert r.details["would_be"] == {"dyspnoea yes": "6 % (low)", "dyspnoea no": "4 % (very low)"}
    # ...but a 35-year-old woman with 0–1 risk factors is 0 % in both columns
    assert likelihood_esc2024(35, "female", "non-anginal", None, 0).percent == 0


def test_sex_unknown_decided_only_where_both_columns_agree():
    assert ptp_esc2019(35, None, "non-anginal").percent == 1  # 1 % men and women
    r = ptp_esc2019(55, None, "typical")
    assert r.status == "not_assessable" and r.details["would_be"] == {"sex male": "32 % (high)", "sex female": "13 % (intermediate)"}


@pytest.mark.parametrize("rf,expected", [((2, 3), 14), ((4, 5), 19), ((0, 1), 10), ((1, 2), None), (None, None)])
def test_risk_factors_partly_unknown(rf, expected):
    # 62-year-old woman, typical angina: RF 0-1 → 10, 2-3 → 14, 4-5 → 19 %
    r = likelihood_esc2024(62, "female", "typical", False, rf)
    assert r.percent == expected
    if expected is None:
        assert r.missing == ("risk factors (family history, smoking, dyslipidaemia, hypertension, diabetes)",)


def test_no_possible_symptom_raises():
    with pytest.raises(InvalidInputError, match="symptomatic"):
        ptp_esc2019(50, "male", "none", False)

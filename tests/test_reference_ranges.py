"""Reference ranges by sex and age: table vs source text, docs vs table, tri-state verdicts, annotate.

The source text quoted below is what was read (docs/reference_ranges.md says where); the
numbers are parsed out of it, so a typo in the CSV, the docs or the parser's target fails.
"""

from __future__ import annotations

import csv
import math
import re
from importlib import resources
from pathlib import Path

import pytest

from heartprint.clinical.reference_ranges import (SOURCES, Verdict, annotate, method_key, reference_range, verdict,
                                                  z_score)
from heartprint.errors import InvalidInputError
from heartprint.measure import Measurement, ReferenceRange

ROOT = Path(__file__).resolve().parents[1]

# -- the source text, as read ------------------------------------------------------------------

#: Petersen 2017, abstract (Results), jcmr-online.biomedcentral.com/articles/10.1186/s12968-017-0327-9
PETERSEN_ABSTRACT = (
    "LV ejection fraction was significantly greater in females compared to males (mean ± standard deviation [SD] "
    "of 61 ± 5% vs 58 ± 5%) and remained static with age for both genders. In older age groups, LV mass was lower "
    "in men, but remained virtually unchanged in women. LV mass was significantly higher in males compared to "
    "females (mean ± SD of 53 ± 9 g/m2 vs 42 ± 7 g/m2)."
)
#: Kawel-Boehm 2020, Table 1 (jcmr-online .../s12968-020-00683-3/tables/1), two of its rows.
KB2020_TABLE1 = {
    "petersen2017": ("Petersen, 2017 [16] 1.5 T, short axis bSSFP, papillary muscles included in LV volume "
                     "368:432 45–74"),
    "hudsmith2005": "Hudsmith, 2005 [22] 1.5 T, short axis bSSFP, papillary muscles included in LV mass 63:45 21–68",
}
#: Hudsmith 2005, abstract (Results), cardioscience.ox.ac.uk/publications/104926
HUDSMITH_ABSTRACT = (
    "LV end-diastolic volume 160 +/- 29 mL vs. 135 +/- 26 mL, LV end-systolic volume 50 +/- 16 mL vs. 42 +/- 12 mL; "
    "RV end-diastolic volume 190 +/- 33 mL vs. 148 +/- 35 mL, RV end-systolic volume 78 +/- 20 mL vs. 56 +/- 18 mL"
)
#: Alfakih 2003, abstract (Methods, Results), pubmed.ncbi.nlm.nih.gov/12594722
ALFAKIH_ABSTRACT = (
    "Sixty normal subjects (30 male and 30 female; age range, 20-65) were examined; ... For TGE the LV "
    "end-diastolic volume (EDV)/BSA (mL/m(2)) in males was 74.4 +/- 14.6 and in females was 70.9 +/- 11.7, while in "
    "SSFP in males it was 82.3 +/- 14.7 and in females it was 77.7 +/- 10.8. For the TGE the LV mass/BSA (g/m(2)) in "
    "males was 77.8 +/- 9.1 and in females it was 61.5 +/- 7.5, while in SSFP in males it was 64.7 +/- 9.3 and in "
    "females it was 52.0 +/- 7.4. For TGE the RV EDV/BSA (mL/m(2)) in males was 78.4 +/- 14.0 and in females it was "
    "67.5 +/- 12.7, while in SSFP in males it was 86.2 +/- 14.1 and in females it was 75.2 +/- 13.8."
)
#: Lang 2015 (ASE/EACVI), published limits (low, high) by sex, as in clinical_reference.md §10b.
LANG2015 = {  # (code, method): {sex: (low, high)}
    ("lv_ef", "2d_biplane"): {"male": (52, 72), "female": (54, 74)},
    ("lavi", "2d"): {"male": (16, 34), "female": (16, 34)},
    ("lv_edvi", "2d_biplane"): {"male": (34, 74), "female": (29, 61)},
    ("lv_esvi", "2d_biplane"): {"male": (None, 31), "female": (None, 24)},
    ("lv_edv", "2d_biplane"): {"male": (62, 150)},
    ("lv_massi", "linear"): {"male": (49, 115), "female": (43, 95)},
    ("lv_massi", "2d"): {"male": (50, 102), "female": (44, 88)},
    ("rwt", "linear"): {"male": (0.24, 0.42), "female": (0.22, 0.42)},
}

_PM = r"(\d+(?:\.\d+)?) (?:±|\+/-) (\d+(?:\.\d+)?)"


def _pairs(text: str) -> list[tuple[float, float]]:
    return [(float(a), float(b)) for a, b in re.findall(_PM, text)]


def _kb(source: str) -> tuple[str, int, int, float, float]:
    m = re.search(r"papillary muscles included in LV (volume|mass) (\d+):(\d+) (\d+)–(\d+)", KB2020_TABLE1[source])
    return m.group(1), int(m.group(2)), int(m.group(3)), float(m.group(4)), float(m.group(5))


def _transcription() -> dict[tuple, dict]:
    """(code, modality, method, sex, age_low, age_high) → expected numbers, from the text above."""
    out: dict[tuple, dict] = {}
    # Petersen 2017: "females ... vs males" for EF; "males ... vs females" for mass.
    ef_f, ef_m, mass_m, mass_f = _pairs(PETERSEN_ABSTRACT)
    pap, n_m, n_f, lo, hi = _kb("petersen2017")
    for code, sex, (mean, sd), unit, n in (("lv_ef", "male", ef_m, "%", n_m), ("lv_ef", "female", ef_f, "%", n_f),
                                           ("lv_massi", "male", mass_m, "g/m2", n_m),
                                           ("lv_massi", "female", mass_f, "g/m2", n_f)):
        out[(code, "cmr", "ssfp", sex, lo, hi)] = dict(mean=mean, sd=sd, unit=unit, papillary=pap, n=n,
                                                       source="petersen2017")
    # Hudsmith 2005: men vs women, in order LVEDV, LVESV, RVEDV, RVESV.
    pap, n_m, n_f, lo, hi = _kb("hudsmith2005")
    vals = _pairs(HUDSMITH_ABSTRACT)
    for i, code in enumerate(("lv_edv", "lv_esv", "rv_edv", "rv_esv")):
        for sex, (mean, sd), n in (("male", vals[2 * i], n_m), ("female", vals[2 * i + 1], n_f)):
            out[(code, "cmr", "ssfp", sex, lo, hi)] = dict(mean=mean, sd=sd, unit="mL", papillary=pap, n=n,
                                                           source="hudsmith2005")
    # Alfakih 2003: the SSFP pairs (every second pair of men/women values), ages from Methods.
    lo, hi = (float(x) for x in re.search(r"age range, (\d+)-(\d+)", ALFAKIH_ABSTRACT).groups())
    ssfp = [p for i, p in enumerate(_pairs(ALFAKIH_ABSTRACT)) if (i // 2) % 2 == 1]
    for i, (code, unit) in enumerate((("lv_edvi", "mL/m2"), ("lv_massi", "g/m2"), ("rv_edvi", "mL/m2"))):
        for sex, (mean, sd) in (("male", ssfp[2 * i]), ("female", ssfp[2 * i + 1])):
            out[(code, "cmr", "ssfp", sex, lo, hi)] = dict(mean=mean, sd=sd, unit=unit, papillary="", n=30,
                                                           source="alfakih2003")
    for (code, method), by_sex in LANG2015.items():
        for sex, (low, high) in by_sex.items():
            out[(code, "echo", method, sex, None, None)] = dict(low=low, high=high, papillary="", source="lang2015")
    return out


def _f(x: str) -> float | None:
    return float(x) if x.strip() else None


def _csv() -> list[dict[str, str]]:
    text = resources.files("heartprint.clinical").joinpath("tables/reference_ranges.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def _k(r: dict[str, str]) -> tuple:
    return (r["code"], r["modality"], r["method"], r["sex"], _f(r["age_low"]), _f(r["age_high"]))


# -- the table against the source ---------------------------------------------------------------


def test_transcription_parses_what_was_read():
    t = _transcription()
    assert t[("lv_ef", "cmr", "ssfp", "male", 45.0, 74.0)]["mean"] == 58  # guards the parser itself
    assert t[("lv_massi", "cmr", "ssfp", "female", 20.0, 65.0)] == dict(mean=52.0, sd=7.4, unit="g/m2", papillary="",
                                                                          n=30, source="alfakih2003")
    assert len(t) == 15 + 14 + 4


def test_every_csv_row_matches_the_source_text():
    t = _transcription()
    rows = _csv()
    assert sorted(map(_k, rows), key=str) == sorted(t, key=str)  # nothing added, nothing missing
    for r in rows:
        exp = t[_k(r)]
        assert r["source"] == exp["source"] and r["papillary"] == exp["papillary"], r
        if "mean" in exp:
            assert (float(r["mean"]), float(r["sd"])) == (exp["mean"], exp["sd"]), r
            assert r["low"] == r["high"] == "" and r["unit"] == exp["unit"], r
            assert f"n={exp['n']}" in r["population"] and "mean ± 1.96 SD, derived" in r["population"], r
        else:
            assert (_f(r["low"]), _f(r["high"])) == (exp["low"], exp["high"]), r
            assert r["mean"] == r["sd"] == "", r
        assert r["verification"].startswith("✅"), r
        assert r["read_at"], r


@pytest.mark.parametrize("key", sorted(_transcription(), key=str))
def test_api_returns_the_source_numbers(key):
    code, modality, method, sex, lo, hi = key
    exp = _transcription()[key]
    age = None if lo is None else (lo + hi) / 2
    rr = reference_range(code, sex, modality=modality, method=method, age=age)
    if "mean" in exp:
        m, s = exp["mean"], exp["sd"]
        assert (rr.low, rr.high) == (pytest.approx(m - 1.96 * s), pytest.approx(m + 1.96 * s))
        assert z_score(m + s, code, sex, modality=modality, method=method, age=age) == pytest.approx(1)
    else:
        assert (rr.low, rr.high) == (exp["low"], exp["high"])
    doi = re.search(r"doi:(\S+)", SOURCES[exp["source"]]).group(1)
    assert doi in rr.reference and "✅" not in rr.reference  # tags stay in the table


# -- the docs against the table -----------------------------------------------------------------


def _docs_rows() -> list[list[str]]:
    text = (ROOT / "docs" / "reference_ranges.md").read_text(encoding="utf-8")
    block = text.split("<!-- ranges-table:start -->")[1].split("<!-- ranges-table:end -->")[0]
    lines = [ln for ln in block.strip().splitlines() if ln.startswith("|")]
    return [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[2:]]


def test_docs_table_matches_csv():
    docs, rows = _docs_rows(), _csv()
    assert len(docs) == len(rows)
    pap = {"volume": "in blood volume", "mass": "in LV mass"}
    for d, r in zip(docs, rows):
        code, modality, method, sex, band, low, high, mean, sd, unit, papillary, source, verification, limits = d
        blank = lambda x: "" if x == "—" else x  # noqa: E731
        assert (code, modality, method, sex, unit) == (r["code"], r["modality"], r["method"], r["sex"], r["unit"])
        want_band = "adults (18+)" if not r["age_low"] else f"{r['age_low']}–{r['age_high']}"
        assert band == want_band
        assert [_f(blank(x)) for x in (low, high, mean, sd)] == [_f(r[c]) for c in ("low", "high", "mean", "sd")]
        assert papillary == pap.get(r["papillary"], "not stated" if modality == "cmr" else "n/a (echo)")
        assert "doi:" + re.search(r"doi:(\S+)", SOURCES[r["source"]]).group(1) in source
        assert verification == r["verification"]
        if r["mean"]:
            m, s = float(r["mean"]), float(r["sd"])
            assert limits == f"mean ± 1.96 SD, derived: {m - 1.96 * s:.2f}–{m + 1.96 * s:.2f}"
        else:
            assert limits == "published limits"


def test_every_source_cited_in_docs():
    text = (ROOT / "docs" / "reference_ranges.md").read_text(encoding="utf-8")
    for key, citation in SOURCES.items():
        assert f"`{key}`" in text and re.search(r"doi:(\S+)", citation).group(1) in text


# -- verdicts -----------------------------------------------------------------------------------

CMR = dict(modality="cmr", method="ssfp")


def test_lvef_24_low_with_sex_unknown():
    res = verdict(24, "lv_ef", sex=None, age=60, **CMR)
    assert isinstance(res, Verdict)
    assert (res.status, res.z, res.range, res.missing) == ("low", None, None, ())
    assert len(res.candidates) == 2 and {w for _, w in res.would_be} == {"low"}
    assert "below the lower limit" in res.reason and "every sex and age band" in res.reason


def test_age_unknown_is_every_adult_age():
    """The CMR LVEF ranges cover 45–74 y only: with age unknown the patient may be 30 or 80, where no
    verified range exists, so even LVEF 24 % gets no verdict from the ranges (the LV systolic
    dysfunction rule decides it from the guideline bands instead)."""
    res = verdict(24, "lv_ef", sex=None, age=None, **CMR)
    assert (res.status, res.missing) == ("not_assessable", ("age",))
    assert "45" in res.reason and "not extrapolated" in res.reason


def test_low_for_women_normal_for_men_needs_sex():
    # limits: men 58 ± 1.96·5 → 48.2; women 61 ± 1.96·5 → 51.2
    res = verdict(50, "lv_ef", sex=None, age=50, **CMR)
    assert (res.status, res.missing, res.z, res.range) == ("not_assessable", ("sex",), None, None)
    assert dict(res.would_be) == {"men 45–74 y (UK Biobank, Petersen 2017)": "normal",
                                  "women 45–74 y (UK Biobank, Petersen 2017)": "low"}
    assert "without sex" in res.reason
    assert verdict(50, "lv_ef", sex="male", age=50, **CMR).status == "normal"
    f = verdict(50, "lv_ef", sex="female", age=50, **CMR)
    assert f.status == "low" and f.z == pytest.approx(-2.2) and f.range.low == pytest.approx(51.2)


@pytest.mark.parametrize("age", [30, 44.99, 75, 90])
def test_age_outside_every_band_not_assessable(age):
    res = verdict(24, "lv_ef", sex="male", age=age, **CMR)
    assert (res.status, res.missing, res.candidates) == ("not_assessable", (), ())
    assert "45–74" in res.reason and "Not extrapolated" in res.reason
    with pytest.raises(InvalidInputError, match="not available for that age"):
        reference_range("lv_ef", "male", age=age, **CMR)


@pytest.mark.parametrize("age", [45, 60, 74.99])
def test_band_edges_inside(age):
    assert verdict(60, "lv_ef", sex="male", age=age, **CMR).status == "normal"


def test_age_specific_source_preferred_and_age_needed_when_bands_disagree():
    # LV mass index 75 g/m2, men: Alfakih 20–65 (64.7 ± 9.3 → ≤ 82.93) normal;
    # Petersen 45–74 (53 ± 9 → ≤ 70.64) high
    assert verdict(75, "lv_massi", sex="male", age=50, **CMR).status == "high"     # Petersen (narrower band)
    assert verdict(75, "lv_massi", sex="male", age=30, **CMR).status == "normal"   # only Alfakih covers 30
    assert verdict(75, "lv_massi", sex="male", age=70, **CMR).status == "high"     # only Petersen covers 70
    res = verdict(75, "lv_massi", sex="male", age=None, **CMR)
    assert (res.status, res.missing) == ("not_assessable", ("age",))
    assert reference_range("lv_massi", "male", age=50, **CMR).low == pytest.approx(53 - 1.96 * 9)
    assert reference_range("lv_massi", "male", age=30, **CMR).low == pytest.approx(64.7 - 1.96 * 9.3)
    assert reference_range("lv_massi", "male", **CMR).low == pytest.approx(64.7 - 1.96 * 9.3)  # no age: widest band
    assert z_score(62, "lv_massi", "male", age=50, **CMR) == pytest.approx(1.0)


def test_value_exactly_on_a_limit_is_normal_and_one_sided_limits():
    echo = dict(modality="echo", method="2d_biplane")
    assert verdict(52, "lv_ef", sex="male", age=40, **echo).status == "normal"
    assert verdict(51.9, "lv_ef", sex="male", age=40, **echo).status == "low"
    assert verdict(5, "lv_esvi", sex="male", age=40, **echo).status == "normal"  # no lower limit published
    assert verdict(32, "lv_esvi", sex="male", age=40, **echo).status == "high"
    assert verdict(60, "lv_ef", sex="male", age=17, **echo).status == "not_assessable"  # blank band = adults


def test_sex_without_a_verified_row():
    echo = dict(modality="echo", method="2d_biplane")
    res = verdict(100, "lv_edv", sex=None, age=40, **echo)  # the female echo LVEDV range is not carried (⚠M)
    assert (res.status, res.missing) == ("not_assessable", ("sex",))
    res = verdict(100, "lv_edv", sex="female", age=40, **echo)
    assert (res.status, res.missing) == ("not_assessable", ()) and "women" in res.reason
    assert verdict(100, "lv_edv", sex="male", age=40, **echo).status == "normal"


def test_no_table_returns_none_and_bad_input_raises():
    assert verdict(60, "lv_ef", sex="male", age=50, modality="ct", method="x") is None
    assert verdict(60, "rv_ef", sex="male", age=50, **CMR) is None
    with pytest.raises(InvalidInputError, match="sex"):
        verdict(60, "lv_ef", sex="x", age=50, **CMR)
    with pytest.raises(InvalidInputError, match="age"):
        verdict(60, "lv_ef", sex="male", age=-1, **CMR)
    with pytest.raises(InvalidInputError, match="value"):
        verdict(float("nan"), "lv_ef", sex="male", age=50, **CMR)


def _keys() -> list[tuple[str, str, str]]:
    return sorted({(r["code"], r["modality"], r["method"]) for r in _csv()})


@pytest.mark.parametrize("code,modality,method", _keys())
def test_unknown_is_never_assumed(code, modality, method):
    """A class given with sex/age unknown holds for every sex and age with a verified row, and a
    not-assessable answer really does change with what it names as missing."""
    rows = [r for r in _csv() if (r["code"], r["modality"], r["method"]) == (code, modality, method)]
    centre = [float(r["mean"]) if r["mean"] else sum(x for x in (_f(r["low"]), _f(r["high"])) if x is not None)
              / len([x for x in (_f(r["low"]), _f(r["high"])) if x is not None]) for r in rows]
    span = max(centre) * 0.8
    values = [x for x in (round(min(centre) - span + i * 2 * span / 24, 3) for i in range(25)) if x > 0]
    ages = [18, 20, 21, 30, 44.9, 45, 60, 65.9, 66, 68.9, 69, 74.9, 75, 90]
    for x in values:
        decided = {}
        for s in ("male", "female"):
            for a in ages:
                st = verdict(x, code, sex=s, age=a, modality=modality, method=method).status
                if st != "not_assessable":
                    decided[(s, a)] = st
        for sex in ("male", "female", None):
            for age in ages + [None]:
                res = verdict(x, code, sex=sex, age=age, modality=modality, method=method)
                match = {st for (s, a), st in decided.items() if sex in (None, s) and age in (None, a)}
                if res.status == "not_assessable":
                    if res.missing:  # it names an unknown: the answer really depends on it
                        both_sexes = all(any(k[0] == s for k in decided) for s in ("male", "female"))
                        # age unknown: an adult age without a verified range is a possible age
                        uncovered = age is None and any((s, a) not in decided for s in ("male", "female")
                                                        if sex in (None, s) for a in ages)
                        assert len(match) > 1 or (sex is None and not both_sexes) or uncovered, (x, code, sex, age, res)
                else:
                    assert match == {res.status}, (x, code, sex, age, res, match)


def test_reasons_are_plain_words():
    for args in ((24, "lv_ef", None, None), (50, "lv_ef", None, 50), (24, "lv_ef", "male", 30),
                 (75, "lv_massi", "male", None)):
        reason = verdict(args[0], args[1], sex=args[2], age=args[3], **CMR).reason
        assert "lv_" not in reason and "None" not in reason and "_Row" not in reason and "'" not in reason
        assert reason.startswith(("LV ejection fraction", "LV mass index"))


# -- method_key and annotate --------------------------------------------------------------------


def _m(**kw) -> Measurement:
    base = dict(code="lv_ef", name="LV ejection fraction", value=24.0, unit="%", modality="MR", method="cine SSFP")
    return Measurement(**{**base, **kw})


def test_method_key():
    assert method_key(_m()) == ("cmr", "ssfp")
    assert method_key(_m(modality="US", method="Simpson biplane")) == ("echo", "2d_biplane")
    assert method_key(_m(modality="US", method="linear (Devereux)", code="lv_massi", unit="g/m2")) == ("echo", "linear")
    assert method_key(_m(modality="US", method="", code="lavi", unit="mL/m2")) == ("echo", "2d")
    assert method_key(_m(modality="US", method="")) is None
    assert method_key(_m(modality="CT")) is None
    assert method_key(_m(modality=None)) is None


def test_annotate_sets_verdict_and_round_trips():
    low = annotate(_m(), sex=None, age=60)
    assert (low.interpretation, low.reference_range, low.z_score) == ("low", None, None)
    assert annotate(_m(), sex=None, age=None).interpretation is None  # age unknown: any adult age
    normal = annotate(_m(value=60.0), sex="female", age=60)
    assert normal.interpretation == "normal" and normal.z_score == pytest.approx(-0.2)
    assert isinstance(normal.reference_range, ReferenceRange) and "Petersen" in normal.reference_range.reference
    for m in (low, normal):
        assert Measurement.model_validate_json(m.model_dump_json()) == m
        assert annotate(m, sex="female", age=60) == m  # already annotated: unchanged
    assert _m() == Measurement(**{k: v for k, v in low.model_dump().items() if k not in ("interpretation",)})


def test_annotate_leaves_alone():
    not_assessable = _m(value=50.0)
    assert annotate(not_assessable, sex=None, age=50) is not_assessable              # needs sex
    young = _m()
    assert annotate(young, sex="male", age=30) is young                              # outside 45–74
    regional = _m(code="lv_wall_thickness", name="wall", unit="mm", value=9.0, segment=3)
    assert annotate(regional, sex="male", age=50) is regional
    ranged = _m(reference_range=ReferenceRange(low=50, high=70, population="x", reference="y"))
    assert annotate(ranged, sex="male", age=50) is ranged
    ct = _m(modality="CT")
    assert annotate(ct, sex="male", age=50) is ct
    wrong_unit = _m(code="lv_massi", name="LV mass index", unit="g", value=200.0)
    assert annotate(wrong_unit, sex="male", age=50) is wrong_unit
    no_table = _m(code="rv_ef", name="RV ejection fraction")
    assert annotate(no_table, sex="male", age=50) is no_table
    assert not math.isnan(annotate(_m(value=60.0), sex="male", age=50).z_score)

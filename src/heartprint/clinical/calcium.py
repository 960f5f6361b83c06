"""Coronary artery calcium (Agatston score) categories.

Age/sex/ethnicity percentiles (MESA, McClelland RL et al., Circulation 2006) are **not**
implemented: no verified table or closed-form equation was found (the MESA tool is
non-parametric), so heartprint does not compute them.
"""

from __future__ import annotations

from heartprint.clinical import _validate as v
from heartprint.measure import Finding

__all__ = ["agatston_category"]

CITATION = (
    "Agatston AS, Janowitz WR, et al. J Am Coll Cardiol 1990;15:827-832, doi:10.1016/0735-1097(90)90282-T "
    "(score); categories: Rumberger JA et al., Mayo Clin Proc 1999;74:243-252, as reproduced in "
    "Trials 2014;15:352, Table 1 'Calcium score interpretation'"
)

#: Agatston categories: (upper bound inclusive, band label, code, interpretation). Verified
#: ✅S against Trials 2014;15:352 Table 1 (original Rumberger 1999, ⚠M). Integer bands are
#: applied to real-valued scores as (0,10], (10,100], (100,400], >400.
AGATSTON_BANDS: tuple[tuple[float, str, str, str], ...] = (
    (0.0, "0", "cac_0", "No identifiable plaque; CAD risk very low (<5 %)"),
    (10.0, "1-10", "cac_1_10", "Minimal identifiable plaque; CAD very unlikely (<10 %)"),
    (100.0, "11-100", "cac_11_100", "Definite, at least mild, atherosclerotic plaque; mild or minimal narrowings likely"),
    (400.0, "101-400", "cac_101_400", "Definite, at least moderate, plaque; mild CAD highly likely, significant narrowings possible"),
    (float("inf"), ">400", "cac_gt400", "Extensive plaque; high likelihood of at least one significant narrowing"),
)


def agatston_category(score: float) -> Finding:
    """Interpretation band of an Agatston coronary calcium score.

    Parameters
    ----------
    score
        Agatston score (dimensionless, ≥0).

    Returns
    -------
    Finding
        ``code`` ``cac_0``, ``cac_1_10``, ``cac_11_100``, ``cac_101_400`` or ``cac_gt400``;
        ``details["band"]`` is the band label and ``details["interpretation"]`` its text.

    Notes
    -----
    Bands 0 / 1–10 / 11–100 / 101–400 / >400 (Rumberger 1999 via Trials 2014;15:352 Table 1).
    """
    score = v.number("score", score, 0, 100000, unit="Agatston")
    for hi, band, code, text in AGATSTON_BANDS:
        if score <= hi:
            return Finding(
                code=code, statement=f"Agatston score {score:g}: {text}",
                status="present",
                rule=v.rule_name(agatston_category), citation=CITATION,
                inputs={"agatston_score": {"value": score, "unit": "1"}},
                details={"band": band, "interpretation": text, "percentile": "not computed (MESA percentiles unverified)"},
            )
    raise AssertionError("unreachable")  # pragma: no cover

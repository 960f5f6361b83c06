"""Myocardial perfusion summed scores (17-segment, 0–4) and ischaemic burden.

Percent myocardium = summed score / (4 × number of segments) × 100, i.e. / 68 × 100 for
the AHA 17-segment model (✅S: LOINC LP229987-5 / LP229988-3 / LP229993-3, panel 82654-5,
citing Hachamovitch R et al., Circulation 2003;107:2900–2907, PMID 12771008). High event
risk when the ischaemic area is ≥10 % of LV myocardium on stress SPECT/PET (✅P: 2024 ESC
CCS guideline, Recommendation Table 14, class I level B, doi:10.1093/eurheartj/ehae177).
Segment → territory assignment is :mod:`heartprint.anatomy.territories` (Cerqueira 2002).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from heartprint.anatomy.territories import SEGMENT_TERRITORY, TERRITORY_REFERENCE
from heartprint.clinical import _validate as v
from heartprint.errors import InvalidInputError
from heartprint.measure import Finding

__all__ = ["SummedScores", "ischaemic_burden", "percent_myocardium", "summed_scores"]

CITATION_SCORES = (
    "Summed stress/rest/difference scores, 17-segment 5-point scale (0 normal, 1 equivocal, 2 moderate, "
    "3 severe reduction, 4 absent uptake); % myocardium = score/(4 x segments) x 100. LOINC 82654-5 / "
    "LP229987-5 / LP229988-3 / LP229993-3; Hachamovitch R et al., Circulation 2003;107:2900-2907 (PMID 12771008)"
)
CITATION_THRESHOLD = (
    "Vrints C, et al. 2024 ESC Guidelines for the management of chronic coronary syndromes. Eur Heart J "
    "2024;45:3415-3537, Recommendation Table 14 (high event risk: ischaemia >=10% of LV myocardium on stress "
    "SPECT/PET; class I, level B). doi:10.1093/eurheartj/ehae177"
)

#: Points per segment on the 5-point scale and the maximum per segment.
MAX_SEGMENT_SCORE = 4
N_SEGMENTS = 17
#: High-event-risk threshold (% of LV myocardium, inclusive), ✅P ESC 2024 Rec. Table 14.
HIGH_RISK_PERCENT = 10.0
#: SSS categories (upper bound inclusive): <4 normal, 4–8 mildly, 9–13 moderately, >13
#: severely abnormal. ⚠M — unverified; reported in details only, never used for a decision.
SSS_CATEGORIES_UNVERIFIED: tuple[tuple[int, str], ...] = ((3, "normal"), (8, "mildly abnormal"), (13, "moderately abnormal"), (68, "severely abnormal"))


def _scores(name: str, scores: Sequence[int] | Mapping[int, int]) -> dict[int, int]:
    if isinstance(scores, Mapping):
        items = dict(scores)
        if sorted(items) != list(range(1, N_SEGMENTS + 1)):
            raise InvalidInputError(f"{name} segments={sorted(items)}: expected scores for all AHA segments 1–17")
    else:
        if isinstance(scores, (str, bytes)) or len(scores) != N_SEGMENTS:
            raise InvalidInputError(f"{name}: expected 17 segment scores (AHA 1–17), got {scores!r}")
        items = {i + 1: s for i, s in enumerate(scores)}
    return {seg: v.integer(f"{name}[segment {seg}]", s, 0, MAX_SEGMENT_SCORE) for seg, s in items.items()}


def percent_myocardium(score: float, n_segments: int = N_SEGMENTS) -> float:
    """Summed score as percent of LV myocardium: ``score / (4 × n_segments) × 100``.

    Parameters
    ----------
    score
        Summed score (SSS, SRS or SDS), 0 to ``4 × n_segments``.
    n_segments
        17 (AHA model, maximum 68) or 20 (maximum 80).

    Returns
    -------
    float
        Percent (%). Example: SDS 7 → 10.29 %, SDS 6 → 8.82 %.
    """
    n_segments = v.integer("n_segments", n_segments, 1, 20)
    score = v.number("score", score, 0, MAX_SEGMENT_SCORE * n_segments)
    return score / (MAX_SEGMENT_SCORE * n_segments) * 100.0


@dataclass(frozen=True)
class SummedScores:
    """SSS, SRS and SDS with their percentages of LV myocardium (17 segments)."""

    sss: int
    srs: int | None
    sds: int | None
    sss_percent: float
    srs_percent: float | None
    sds_percent: float | None
    reverse_segments: tuple[int, ...] = ()
    inputs: dict[str, Any] = field(default_factory=dict)

    def finding(self) -> Finding:
        """Ischaemic-burden Finding (≥10 % of LV → high event risk, ESC 2024)."""
        if self.sds_percent is None:
            return Finding(code="ischaemia_high_risk", statement="Ischaemic burden not assessable: rest scores missing",
                           status="not_assessable", rule=f"{__name__}.summed_scores", citation=CITATION_THRESHOLD,
                           inputs=self.inputs, missing=["rest segment scores (AHA 1–17, 0–4)"],
                           details={"sss": self.sss, "sss_percent": self.sss_percent})
        high = self.sds_percent >= HIGH_RISK_PERCENT
        return Finding(
            code="ischaemia_high_risk",
            statement=(f"Ischaemia {self.sds_percent:.1f} % of LV myocardium (SDS {self.sds}/68): "
                       + ("≥10 %, high event risk" if high else "<10 %")),
            status="present" if high else "absent", rule=f"{__name__}.summed_scores",
            citation=CITATION_THRESHOLD + "; " + CITATION_SCORES, inputs=self.inputs,
            details={"sss": self.sss, "srs": self.srs, "sds": self.sds, "sss_percent": self.sss_percent,
                     "srs_percent": self.srs_percent, "sds_percent": self.sds_percent,
                     "threshold_percent": HIGH_RISK_PERCENT, "reverse_redistribution_segments": list(self.reverse_segments),
                     "sss_category_unverified": _sss_category(self.sss)},
        )


def _sss_category(sss: int) -> str:
    return next(name for hi, name in SSS_CATEGORIES_UNVERIFIED if sss <= hi) + " (unverified ⚠M)"


def summed_scores(stress: Sequence[int] | Mapping[int, int], rest: Sequence[int] | Mapping[int, int] | None = None) -> SummedScores:
    """Summed stress, rest and difference scores on the AHA 17-segment, 5-point scale.

    Parameters
    ----------
    stress, rest
        17 integer scores 0–4 in AHA order (segment 1 first), or a mapping segment → score.
        ``rest`` may be ``None`` (stress-only study: SRS and SDS are then ``None``).

    Returns
    -------
    SummedScores
        SDS = SSS − SRS (= Σ per-segment stress − rest). Segments where rest > stress
        (reverse redistribution) are listed in ``reverse_segments``.
    """
    s = _scores("stress", stress)
    r = _scores("rest", rest) if rest is not None else None
    sss = sum(s.values())
    srs = sum(r.values()) if r else None
    sds = sss - srs if srs is not None else None
    reverse = tuple(seg for seg in s if r and r[seg] > s[seg])
    return SummedScores(
        sss=sss, srs=srs, sds=sds, sss_percent=percent_myocardium(sss),
        srs_percent=percent_myocardium(srs) if srs is not None else None,
        sds_percent=percent_myocardium(max(sds, 0)) if sds is not None else None,
        reverse_segments=reverse,
        inputs={"stress_scores": [s[i] for i in range(1, 18)], "rest_scores": [r[i] for i in range(1, 18)] if r else None},
    )


def ischaemic_burden(stress: Sequence[int] | Mapping[int, int], rest: Sequence[int] | Mapping[int, int], *,
                     territories: Mapping[int, str] | None = None) -> Finding:
    """Ischaemic burden overall and per coronary territory.

    Parameters
    ----------
    stress, rest
        17 segment scores 0–4 each (see :func:`summed_scores`).
    territories
        Segment → territory mapping; default the AHA assignment (Cerqueira 2002, from
        :mod:`heartprint.anatomy.territories`): LAD 1,2,7,8,13,14,17; RCA 3,4,9,10,15;
        LCx 5,6,11,12,16.

    Returns
    -------
    Finding
        ``ischaemia_high_risk``, ``present`` when SDS/68 ≥ 10 % (ESC 2024 Rec. Table 14,
        I B). ``details["territories"]`` gives per territory the summed difference score,
        its % of the LV (/68) and % of the territory (/(4 × its segments)).
    """
    ss = summed_scores(stress, rest)
    mapping = dict(territories) if territories is not None else dict(SEGMENT_TERRITORY)
    if sorted(mapping) != list(range(1, N_SEGMENTS + 1)):
        raise InvalidInputError(f"territories keys={sorted(mapping)}: expected AHA segments 1–17")
    s = _scores("stress", stress)
    r = _scores("rest", rest)
    per: dict[str, dict[str, float]] = {}
    for seg, terr in mapping.items():
        d = per.setdefault(str(terr), {"sss": 0, "srs": 0, "sds": 0, "segments": 0})
        d["sss"] += s[seg]
        d["srs"] += r[seg]
        d["sds"] += s[seg] - r[seg]
        d["segments"] += 1
    for d in per.values():
        d["sds_percent_lv"] = percent_myocardium(max(d["sds"], 0))
        d["sds_percent_territory"] = max(d["sds"], 0) / (MAX_SEGMENT_SCORE * d["segments"]) * 100.0
    base = ss.finding()
    details = dict(base.details)
    details["territories"] = per
    details["territory_reference"] = TERRITORY_REFERENCE if territories is None else "user-supplied mapping"
    return base.model_copy(update={"details": details, "rule": v.rule_name(ischaemic_burden)})

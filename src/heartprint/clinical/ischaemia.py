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
            # SDS = SSS − SRS ≤ SSS: a stress defect under 10 % cannot hide ≥10 % ischaemia
            if self.sss_percent < HIGH_RISK_PERCENT:
                return Finding(
                    code="ischaemia_high_risk",
                    statement=(f"Stress defect {self.sss_percent:.1f} % of LV myocardium (SSS {self.sss}/68): ischaemia "
                               "is at most this, <10 %, whatever the rest scores"),
                    status="absent", rule=f"{__name__}.summed_scores", citation=CITATION_THRESHOLD + "; " + CITATION_SCORES,
                    inputs=self.inputs, details={"sss": self.sss, "sss_percent": self.sss_percent, "sds_range": [0, self.sss],
                                                 "threshold_percent": HIGH_RISK_PERCENT})
            return Finding(code="ischaemia_high_risk", statement="Ischaemic burden not assessable: rest scores missing",
                           status="not_assessable", rule=f"{__name__}.summed_scores", citation=CITATION_THRESHOLD,
                           inputs=self.inputs, missing=["rest segment scores (AHA 1–17, 0–4)"],
                           details={"sss": self.sss, "sss_percent": self.sss_percent, "sds_range": [0, self.sss],
                                    "would_be": {"rest scores summing to ≤ " + str(self.sss - 7): "≥10 %: high event risk",
                                                 "rest scores summing to more": "<10 %"}})
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


def _partial_scores(name: str, scores: Sequence[int | None] | Mapping[int, int | None] | None) -> dict[int, int | None]:
    """Segment → score 0–4, or ``None`` for a segment not scored (unknown)."""
    if scores is None:
        return {seg: None for seg in range(1, N_SEGMENTS + 1)}
    if isinstance(scores, Mapping):
        bad = sorted(set(scores) - set(range(1, N_SEGMENTS + 1)), key=str)
        if bad:
            raise InvalidInputError(f"{name} segments={bad}: expected AHA segments 1–17")
        items = {seg: scores.get(seg) for seg in range(1, N_SEGMENTS + 1)}
    else:
        if isinstance(scores, (str, bytes)) or len(scores) != N_SEGMENTS:
            raise InvalidInputError(f"{name}: expected 17 segment scores (AHA 1–17, None for a segment not scored), got {scores!r}")
        items = {i + 1: x for i, x in enumerate(scores)}
    return {seg: None if x is None else v.integer(f"{name}[segment {seg}]", x, 0, MAX_SEGMENT_SCORE)
            for seg, x in items.items()}


def ischaemic_burden(stress: Sequence[int | None] | Mapping[int, int | None],
                     rest: Sequence[int | None] | Mapping[int, int | None] | None = None, *,
                     territories: Mapping[int, str] | None = None) -> Finding:
    """Ischaemic burden overall and per coronary territory.

    Parameters
    ----------
    stress, rest
        Segment scores 0–4 (see :func:`summed_scores`): 17 values in AHA order or a mapping
        segment → score. A segment left out of a mapping (or given as ``None``) was not
        scored: unknown, never normal. ``rest=None``: no rest scores.
    territories
        Segment → territory mapping; default the AHA assignment (Cerqueira 2002, from
        :mod:`heartprint.anatomy.territories`): LAD 1,2,7,8,13,14,17; RCA 3,4,9,10,15;
        LCx 5,6,11,12,16.

    Returns
    -------
    Finding
        ``ischaemia_high_risk``, ``present`` when SDS/68 ≥ 10 % (ESC 2024 Rec. Table 14,
        I B), ``absent`` when <10 %. With segments unscored the SDS lies between the values
        the unknown scores (0–4 each) allow; the finding is decided only when the whole range
        is on one side of 10 % (``details["sds_range"]``), else ``not_assessable``.
        ``details["territories"]`` gives per territory the summed difference score, its % of
        the LV (/68) and % of the territory (/(4 × its segments)), ``None`` where a segment of
        the territory is unscored.
    """
    s = _partial_scores("stress", stress)
    r = _partial_scores("rest", rest)
    mapping = dict(territories) if territories is not None else dict(SEGMENT_TERRITORY)
    if sorted(mapping) != list(range(1, N_SEGMENTS + 1)):
        raise InvalidInputError(f"territories keys={sorted(mapping)}: expected AHA segments 1–17")
    if all(x is not None for x in s.values()) and all(x is not None for x in r.values()):
        base = summed_scores(s, r).finding()
    else:
        base = _bounded(s, r)
    per: dict[str, dict[str, Any]] = {}
    for seg, terr in mapping.items():
        d = per.setdefault(str(terr), {"sss": 0, "srs": 0, "sds": 0, "segments": 0})
        d["segments"] += 1
        for k, val in (("sss", s[seg]), ("srs", r[seg])):
            d[k] = None if d[k] is None or val is None else d[k] + val
        d["sds"] = None if d["sss"] is None or d["srs"] is None else d["sss"] - d["srs"]
    for d in per.values():
        known = d["sds"] is not None
        d["sds_percent_lv"] = percent_myocardium(max(d["sds"], 0)) if known else None
        d["sds_percent_territory"] = max(d["sds"], 0) / (MAX_SEGMENT_SCORE * d["segments"]) * 100.0 if known else None
    details = dict(base.details)
    details["territories"] = per
    details["territory_reference"] = TERRITORY_REFERENCE if territories is None else "user-supplied mapping"
    return base.model_copy(update={"details": details, "rule": v.rule_name(ischaemic_burden)})


def _bounded(s: dict[int, int | None], r: dict[int, int | None]) -> Finding:
    """Ischaemic burden with some segment scores unknown (each 0–4): decided only if every
    possible SDS is on the same side of 10 %."""
    lo = sum((0 if s[k] is None else s[k]) - (MAX_SEGMENT_SCORE if r[k] is None else r[k]) for k in s)
    hi = sum((MAX_SEGMENT_SCORE if s[k] is None else s[k]) - (0 if r[k] is None else r[k]) for k in s)
    lo_pct, hi_pct = percent_myocardium(max(lo, 0)), percent_myocardium(min(max(hi, 0), MAX_SEGMENT_SCORE * N_SEGMENTS))
    unscored = {"stress": [k for k, x in s.items() if x is None], "rest": [k for k, x in r.items() if x is None]}
    inputs = {"stress_scores": [s[i] for i in range(1, 18)], "rest_scores": [r[i] for i in range(1, 18)]}
    details = {"sds_range": [max(lo, 0), max(hi, 0)], "sds_percent_range": [lo_pct, hi_pct],
               "unscored_segments": unscored, "threshold_percent": HIGH_RISK_PERCENT}
    rule = f"{__name__}.ischaemic_burden"
    if lo_pct >= HIGH_RISK_PERCENT:
        return Finding(code="ischaemia_high_risk", status="present", rule=rule,
                       statement=f"Ischaemia at least {lo_pct:.1f} % of LV myocardium (SDS ≥{lo}/68) whatever the unscored "
                                 "segments: ≥10 %, high event risk",
                       citation=CITATION_THRESHOLD + "; " + CITATION_SCORES, inputs=inputs, details=details)
    if hi_pct < HIGH_RISK_PERCENT:
        return Finding(code="ischaemia_high_risk", status="absent", rule=rule,
                       statement=f"Ischaemia at most {hi_pct:.1f} % of LV myocardium (SDS ≤{max(hi, 0)}/68) whatever the "
                                 "unscored segments: <10 %",
                       citation=CITATION_THRESHOLD + "; " + CITATION_SCORES, inputs=inputs, details=details)
    need = [f"{kind} score, segment {k}" for kind, segs in unscored.items() for k in segs]
    return Finding(code="ischaemia_high_risk", status="not_assessable", rule=rule,
                   statement=f"Ischaemic burden not assessable: between {lo_pct:.1f} % and {hi_pct:.1f} % of LV myocardium "
                             "depending on the unscored segments",
                   citation=CITATION_THRESHOLD, inputs=inputs, missing=need,
                   details={**details, "would_be": {"SDS ≥7 (≥10 %)": "high event risk", "SDS ≤6 (<10 %)": "not high risk"}})

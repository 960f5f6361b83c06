"""Semi-quantitative myocardial perfusion scores: segment scores, SSS/SRS/SDS, TPD, territories.

Inputs are polar maps in the nuclear package's layout: ``values`` (n_rings, n_sectors) in percent of
the map's robust maximum and ``segment`` (n_rings, n_sectors) AHA segments 1..17 (Cerqueira MD et
al., Circulation 2002;105:539–542, doi:10.1161/hc0402.102975). Any object with ``.values`` and
``.segment`` (a ``PolarMap``) or a plain 2-D array plus ``segment=`` is accepted.

**Segment scores (five-point scale).** 0 = normal, 1 = equivocal / mildly reduced, 2 = moderate
reduction, 3 = severe reduction, 4 = absent uptake — the scale of Hachamovitch R et al.,
Circulation 2003;107:2900–2907 (PMID 12771008) and the ASNC / LOINC panel 82654-5. How a segment's
uptake maps to a score is **not** fixed by a guideline (readers score visually, software by its own
normal limits). ⚠ heartprint's own choice (:data:`SEGMENT_SCORE_TABLE`, monotone): the segment's
mean uptake as a percent of the normal segment mean (from the normal-limits database; without one,
of 100 % = the map maximum) — ≥ 70 % → 0, 60–70 % → 1, 50–60 % → 2, 40–50 % → 3, < 40 % → 4.
With normal limits the table scores each polar sample and a sample inside a detected defect scores
at least 1 (:data:`DEFECT_SAMPLE_MIN_SCORE`); a segment's score is the rounded mean of its samples'.

**Summed scores** (clinical_reference §8c, LOINC LP229987-5 / LP229988-3 / LP229993-3):
SSS = Σ stress scores, SRS = Σ rest scores, SDS = Σ per segment of max(stress − rest, 0) over the
segments whose rest uptake exceeds their stress uptake by at least :data:`MIN_REVERSIBILITY_PERCENT`
of normal (⚠ project choice: a margin beyond count noise, about 1–2 SDs of a normal segment mean in
the shipped limits, so that a fixed defect at a score boundary does not read as ischaemia). A segment
scoring *worse at rest than at stress* ("reverse redistribution") contributes 0 to the SDS. So
SDS = SSS − SRS when every segment that changes score changes by more than the margin.
% myocardium = summed score / 68 × 100 (17 segments × 4); ``ischaemic_percent`` = SDS / 68 × 100,
so the ≥ 10 % high-risk threshold (ESC 2024 CCS) is SDS ≥ 7.

**Per-sample abnormality and TPD** (need normal limits). Deviation z = (normal mean − value) /
normal SD per polar sample; a sample is abnormal when z > :data:`ABNORMAL_SD` = 2.5 — ⚠M the
2.5-SD cut-off is quoted for the simplified normal limits of Slomka PJ et al., "Automated
quantitation of myocardial perfusion SPECT using simplified normal limits", J Nucl Cardiol
2005;12:66–77 (doi:10.1016/j.nuclcard.2004.10.006); not verified against the paper here. Total
perfusion deficit (Slomka 2005: extent and severity combined in one number) is computed here in a
⚠ simplified form chosen by heartprint: per abnormal sample the severity is the fractional deficit
relative to normal, s = clip((mean − value) / mean, 0, 1) (0 = normal uptake, 1 = no uptake), and

    TPD = 100 × Σ_i w_i · abnormal_i · s_i        (Σ_i w_i = 1)

so a defect with no uptake counts its full extent and one at 40 % of normal counts 60 % of it. The
paper maps the deviation to a continuous 0–4 score instead; the numbers are not interchangeable.

**Area weighting.** Extents (``extent_percent``, ``ischaemic_extent_percent``) and TPD
are Σ w over the samples in question × 100, i.e. percent of the LV myocardium, with w_i the share of
the myocardium sample i stands for. When the stress map carries ``sample_area_mm2`` (every
:func:`heartprint.nuclear.polar_map` does), w_i = area_i / Σ area: the mid-wall surface area of the
sample (:func:`heartprint.nuclear._polar.sample_areas`), proportional to its myocardial volume for a
wall of uniform thickness. Otherwise (plain arrays) sample i of segment k has w_i = 1 / (17 · n_k)
(n_k = samples of segment k): every AHA segment is 1/17 of the LV, as in the 17-segment model.
The geometric weights are needed because the polar grid's segments are not equal shares of the
wall: its apical cap is a hemisphere of about one LV radius and the body rings are equally spaced
between it and the base, so on the phantoms a defect's 1/17-weighted extent read 3–5 points of the
LV above its true share of the myocardial volume (benchmarks/nm_study.py, issue 19). Segment
scores and summed scores are unchanged by this (each segment scores 0–4 whatever its size).

**Without normal limits** scores are relative to 100 % (the map maximum), and TPD, extents and
per-sample abnormality are *not* computed (``None``): they need an SD.

**Territories** (``heartprint.anatomy.territories``, LAD / RCA / LCx): stress and ischaemic extent in
percent of the LV and of the territory — on the 17-segment model's weights (each segment 1/17), not the
geometric ones, because a territory is a set of AHA segments and the model gives each segment equal
weight (Cerqueira 2002); the segments themselves follow the long axis in mm
(:func:`heartprint.nuclear._polar.segment_of`: 17 only beyond the cavity's end, apical 13–16 the apical
third of the cavity, most of it on the hemispherical cap), so an apical ring defect reaches LAD, LCx and RCA;
SSS and SDS of its segments; and ``flagged`` — ⚠ heartprint's choice: with normals, the territory's
abnormal stress extent ≥ :data:`MIN_TERRITORY_EXTENT_PERCENT` (3 % of the LV); without normals, any of
its segments with a stress score ≥ :data:`MIN_TERRITORY_SCORE` (2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from heartprint.anatomy.territories import TERRITORY_SEGMENTS
from heartprint.errors import InvalidInputError
from heartprint.nuclear._normals import N_SEGMENTS, NormalLimits, check_segment, polar_arrays, segment_means

__all__ = [
    "ABNORMAL_SD", "SEGMENT_SCORE_TABLE", "MAX_SUMMED_SCORE", "MIN_TERRITORY_EXTENT_PERCENT", "MIN_TERRITORY_SCORE",
    "PerfusionScores", "TerritoryScores", "perfusion_scores", "score_from_percent_of_normal", "sample_weights",
]

#: A defect is detected where samples lie more than this many normal SDs below the normal mean (⚠M Slomka
#: 2005, see the module docstring); its extent is then set by :func:`defect_mask`'s half-depth rule, not by
#: this threshold (an SD threshold alone over-counted a deep defect's blurred shoulder by up to 8 points of
#: the LV and missed a mild defect's edge by 6 on the phantoms).
ABNORMAL_SD = 2.5
#: Detected regions smaller than this (percent of the LV, area-weighted) are noise, not defects (⚠ project choice).
MIN_DEFECT_EXTENT_PERCENT = 1.0
#: A sample at a defect's edge counts only if it is also this far below the normal mean (keeps count noise
#: out of the depth contour of a shallow defect; ⚠ project choice, chosen on the tuning phantoms of
#: ``benchmarks/nm_study.py --tuning`` (seeds 301–309) among 1.0, 1.5 and 2.0: 2.0 cut a mild gated defect's
#: extent by 5.4 points; 1.0 gave the same extents as 1.5).
EDGE_SD = 1.5
#: A defect's extent is the connected samples whose deficit is at least this fraction of its peak deficit
#: (⚠ project choice: 0.5 is the edge of a blurred step; chosen on the tuning phantoms among 0.35–0.5 —
#: 0.5 missed 5.4 points of a mild gated defect, 0.4 read two defects 40° apart +4.6 and 0.35 +6.3;
#: 0.45 kept the tuning set within −4.5 … +3.1 points).
DEPTH_FRACTION = 0.45
#: A polar sample inside a detected defect (beyond the normal limits) scores at least this (1, "equivocal /
#: mildly reduced") even when its uptake is ≥ 70 % of the normal mean: with normal SDs of 6–8 % of the mean,
#: 75–85 % of normal is 2.5–3 SD below it, and the table alone scored such defects 0 (reversible defects of
#: 70 % uptake, and of 50–55 % blurred by gating, had SDS 0 on the tuning phantoms; ⚠ project choice).
DEFECT_SAMPLE_MIN_SCORE = 1
#: Smallest rest − stress uptake difference (percent of normal) for a segment to count as reversible.
MIN_REVERSIBILITY_PERCENT = 5.0
#: ⚠ heartprint's choice, not a guideline: (lower bound of % of normal segment mean, score), checked in order;
#: below the last bound → 4 (absent). Monotone: lower uptake never gives a lower score.
SEGMENT_SCORE_TABLE: tuple[tuple[float, int], ...] = ((70.0, 0), (60.0, 1), (50.0, 2), (40.0, 3))
ABSENT_SCORE = 4
#: 17 segments × 4 (Hachamovitch 2003; LOINC "SSS/(4 × number of segments) × 100").
MAX_SUMMED_SCORE = 4 * N_SEGMENTS
#: ⚠ heartprint's choice: a territory is flagged when its abnormal stress extent is at least this % of the LV.
MIN_TERRITORY_EXTENT_PERCENT = 3.0
#: ⚠ heartprint's choice (no normals): a territory is flagged when one of its segments scores at least this.
MIN_TERRITORY_SCORE = 2

REFERENCES = [
    "Hachamovitch R et al. Comparison of the short-term survival benefit associated with revascularization "
    "compared with medical therapy in patients with no prior coronary artery disease undergoing stress myocardial "
    "perfusion single photon emission computed tomography. Circulation 2003;107:2900-2907 (five-point scale, "
    "summed scores; LOINC 82654-5)",
    "Slomka PJ et al. Automated quantitation of myocardial perfusion SPECT using simplified normal limits. "
    "J Nucl Cardiol 2005;12:66-77. doi:10.1016/j.nuclcard.2004.10.006 (total perfusion deficit)",
    "Cerqueira MD et al. Standardized myocardial segmentation and nomenclature for tomographic imaging of the "
    "heart. Circulation 2002;105:539-542. doi:10.1161/hc0402.102975 (17 segments, coronary territories)",
]


def score_from_percent_of_normal(percent: Any) -> np.ndarray:
    """Five-point segment score from uptake in percent of the normal segment mean (:data:`SEGMENT_SCORE_TABLE`).

    Percent is rounded to 1e-6 before the look-up so that e.g. 0.4 × mean / mean × 100 scores as 40 %.
    """
    pct = np.round(np.asarray(percent, dtype=float), 6)
    score = np.full(pct.shape, ABSENT_SCORE, dtype=int)
    for bound, s in reversed(SEGMENT_SCORE_TABLE):
        score = np.where(pct >= bound, s, score)
    return score


def _usable_area(area: Any, shape: tuple[int, ...]) -> bool:
    if area is None:
        return False
    a = np.asarray(area, dtype=float)
    return a.shape == tuple(shape) and bool(np.all(np.isfinite(a))) and bool(np.all(a > 0))


def sample_weights(segment: np.ndarray, area: Any = None) -> np.ndarray:
    """Share of the LV myocardium each polar sample stands for; sums to 1 (see the module docstring).

    ``area``: the samples' mid-wall surface areas (``PolarMap.sample_area_mm2``) → ``area / Σ area``;
    without it (or when it is not a finite positive array of the map's shape), 1 / (17 · samples in
    the sample's segment)."""
    if _usable_area(area, segment.shape):
        a = np.asarray(area, dtype=float)
        return a / a.sum()
    counts = np.bincount(segment.ravel() - 1, minlength=N_SEGMENTS).astype(float)
    return 1.0 / (N_SEGMENTS * counts[segment - 1])


@dataclass
class TerritoryScores:
    """Scores of one coronary territory (percentages are of the whole LV unless named ``*_of_territory``)."""

    territory: str
    segments: tuple[int, ...]
    sss: int
    srs: int | None
    sds: int | None
    stress_extent_percent: float | None
    ischaemic_extent_percent: float | None
    stress_extent_of_territory_percent: float | None
    ischaemic_extent_of_territory_percent: float | None
    flagged: bool

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass
class PerfusionScores:
    """Outcome of :func:`perfusion_scores` (see the module docstring for every definition).

    ``segment_scores``: AHA segment → (stress score, rest score or None). Percentages are of the LV.
    Per-sample arrays (``stress_deviation_sd`` z, ``stress_abnormal``, ``rest_abnormal``) are ``None``
    without normal limits and are left out of :meth:`to_dict`.
    """

    sss: int
    srs: int | None
    sds: int | None
    segment_scores: dict[int, tuple[int, int | None]]
    segment_percent_of_normal: dict[int, tuple[float, float | None]]
    summed_percent: float
    summed_rest_percent: float | None
    ischaemic_percent: float | None
    tpd_percent: float | None
    tpd_rest_percent: float | None
    extent_percent: float | None
    extent_rest_percent: float | None
    ischaemic_extent_percent: float | None
    territories: dict[str, TerritoryScores]
    method: str
    references: list[str] = field(default_factory=lambda: list(REFERENCES))
    stress_deviation_sd: np.ndarray | None = None
    stress_abnormal: np.ndarray | None = None
    rest_abnormal: np.ndarray | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (per-sample arrays left out; segment keys as strings)."""
        skip = {"stress_deviation_sd", "stress_abnormal", "rest_abnormal", "territories", "segment_scores",
                "segment_percent_of_normal"}
        out = {k: v for k, v in self.__dict__.items() if k not in skip}
        out["segment_scores"] = {str(k): {"stress": v[0], "rest": v[1]} for k, v in self.segment_scores.items()}
        out["segment_percent_of_normal"] = {
            str(k): {"stress": v[0], "rest": v[1]} for k, v in self.segment_percent_of_normal.items()}
        out["territories"] = {k: t.to_dict() for k, t in self.territories.items()}
        out["references"] = list(self.references)
        return out


def _label_wrapped(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected components of a (rings, sectors) polar mask, joined across the 0°/360° seam."""
    from scipy import ndimage

    lab, n = ndimage.label(mask, structure=np.ones((3, 3), bool))
    if n < 2:
        return lab, n
    parent = np.arange(n + 1)

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    rows = lab.shape[0]
    for r in range(rows):  # sector 0 touches the last sector in the same and the adjacent rings
        for rr in (r - 1, r, r + 1):
            if 0 <= rr < rows and lab[r, 0] and lab[rr, -1]:
                a, b = find(int(lab[r, 0])), find(int(lab[rr, -1]))
                if a != b:
                    parent[max(a, b)] = min(a, b)
    roots = np.array([find(i) for i in range(n + 1)])
    uniq, relabelled = np.unique(roots[lab], return_inverse=True)
    relabelled = relabelled.reshape(lab.shape)
    return relabelled, len(uniq) - (1 if uniq[0] == 0 else 0)


def defect_mask(dev: np.ndarray, sev: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The polar samples inside perfusion defects.

    Detection: connected regions of samples more than :data:`ABNORMAL_SD` below the normal mean,
    holding at least :data:`MIN_DEFECT_EXTENT_PERCENT` of the LV (``weights``, smaller ones are noise).
    Extent: each detected region is grown or trimmed to the connected samples whose deficit is at
    least :data:`DEPTH_FRACTION` of the region's peak deficit (90th percentile) and more than
    :data:`EDGE_SD` below the mean. Camera blur is symmetric, so a step-edged defect's half-depth
    contour lies on its true edge whatever its severity: an SD threshold alone counts the blurred
    shoulder of a deep defect and misses the edge of a mild one. The fraction sits a little below
    one half because gating motion and count noise make a mild defect's edge shallower than its
    centre (project method, ⚠; tuned and checked on separate phantom seeds, benchmarks/nm_study.py)."""
    det, n = _label_wrapped(dev > ABNORMAL_SD)
    out = np.zeros(dev.shape, bool)
    for k in range(1, n + 1):
        comp = det == k
        if 100.0 * float(np.sum(weights * comp)) < MIN_DEFECT_EXTENT_PERCENT:
            continue
        peak = float(np.percentile(sev[comp], 90))
        cand, _ = _label_wrapped((sev >= DEPTH_FRACTION * peak) & (dev > EDGE_SD))
        keep = np.unique(cand[comp])
        out |= np.isin(cand, keep[keep > 0])
    return out


def _check_normals(normals: Any, shape: tuple[int, ...], name: str) -> NormalLimits:
    if not isinstance(normals, NormalLimits):
        raise InvalidInputError(f"{name}: expected a NormalLimits (load_normal_limits / build_normal_limits), "
                                f"got {type(normals).__name__}")
    if normals.mean.shape != shape:
        raise InvalidInputError(f"{name}: limits of shape {normals.mean.shape}, map of shape {shape}; expected the same layout")
    return normals


def perfusion_scores(
    stress: Any,
    rest: Any = None,
    normals: NormalLimits | None = None,
    *,
    rest_normals: NormalLimits | None = None,
    segment: Any = None,
) -> PerfusionScores:
    """Segment scores, summed scores (SSS/SRS/SDS), TPD, extents and territories of a perfusion study.

    ``stress``/``rest``: PolarMap-like (``.values`` percent, ``.segment`` 1..17) or 2-D arrays with
    ``segment=`` (or the layout stored in ``normals``). Both maps are scored on the stress map's layout:
    the two are one heart on one grid, and each map's own layout follows its axis fit in mm
    (:func:`heartprint.nuclear._polar.grid_segments`), so the two may differ by a ring at a boundary —
    one layout keeps SDS a same-sample comparison. The normals' per-segment means are compared by
    segment number (built on each normal heart's own layout, :func:`~heartprint.nuclear._normals.build_normal_limits`).
    ``normals``: stress normal limits; ``rest_normals`` (default ``normals``) for the rest map.
    Definitions, thresholds and their sources: module docstring.
    """
    s_val, s_seg = polar_arrays(stress, segment, name="stress")
    if s_seg is None:
        if normals is not None and isinstance(normals, NormalLimits) and normals.segment is not None:
            s_seg = check_segment(normals.segment, s_val.shape, name="normals.segment")
        else:
            raise InvalidInputError("stress: no '.segment' layout and no segment= given; expected AHA segments 1..17")
    r_val = None
    if rest is not None:
        r_val, _ = polar_arrays(rest, segment, name="rest")
        if r_val.shape != s_val.shape:
            raise InvalidInputError(f"rest: shape {r_val.shape}, expected the stress map's {s_val.shape}")
    shape = s_val.shape
    if normals is not None:
        normals = _check_normals(normals, shape, "normals")
        rest_normals = normals if rest_normals is None else _check_normals(rest_normals, shape, "rest_normals")
    elif rest_normals is not None:
        raise InvalidInputError("rest_normals given without normals; expected stress normals too")

    def ref_seg(nl: NormalLimits | None) -> np.ndarray:
        if nl is None:
            return np.full(N_SEGMENTS, 100.0)
        ref = np.array([nl.segment_mean[s] for s in range(1, N_SEGMENTS + 1)])
        if not np.all(ref > 0):
            raise InvalidInputError("normals.segment_mean: values ≤ 0; expected positive percent")
        return ref

    area = getattr(stress, "sample_area_mm2", None)
    w = sample_weights(s_seg, area)
    area_weighted = _usable_area(area, s_seg.shape)
    w_seg = sample_weights(s_seg)  # territories are sets of AHA segments: their burden is on the 1/17 model
    z = s_abn = r_abn = None
    tpd = tpd_rest = extent = extent_rest = isch_extent = None
    if normals is not None:
        def deviation(values: np.ndarray, nl: NormalLimits) -> tuple[np.ndarray, np.ndarray, float, float]:
            dev = (nl.mean - values) / nl.sd
            sev = np.clip((nl.mean - values) / np.maximum(nl.mean, np.finfo(float).tiny), 0.0, 1.0)
            abn = defect_mask(dev, sev, w)
            return dev, abn, float(100.0 * np.sum(w * abn * sev)), float(100.0 * np.sum(w * abn))

        z, s_abn, tpd, extent = deviation(s_val, normals)
        if r_val is not None:
            _, r_abn, tpd_rest, extent_rest = deviation(r_val, rest_normals)
            isch_extent = float(100.0 * np.sum(w * (s_abn & ~r_abn)))

    def seg_scores(values: np.ndarray, pct: np.ndarray, nl: NormalLimits | None,
                   abn: np.ndarray | None) -> np.ndarray:
        """With normal limits, each polar sample is scored against its own normal mean — at least
        :data:`DEFECT_SAMPLE_MIN_SCORE` inside a defect (:func:`defect_mask`) — and a segment's score is the
        rounded mean of its samples' scores (so a defect covering half a segment scores about half of a
        whole one, as readers grade it); without limits, the segment mean's score."""
        if nl is None:
            return score_from_percent_of_normal(pct)
        sample = score_from_percent_of_normal(100.0 * values / np.maximum(nl.mean, np.finfo(float).tiny))
        if abn is not None:
            sample = np.where(abn, np.maximum(sample, DEFECT_SAMPLE_MIN_SCORE), sample)
        return np.floor(segment_means(sample.astype(float), s_seg) + 0.5).astype(int)

    seg_idx = np.arange(1, N_SEGMENTS + 1)
    s_pct = 100.0 * segment_means(s_val, s_seg) / ref_seg(normals)
    s_score = seg_scores(s_val, s_pct, normals, s_abn)
    sss = int(s_score.sum())
    srs = sds = None
    r_pct = r_score = seg_sds = None
    if r_val is not None:
        r_pct = 100.0 * segment_means(r_val, s_seg) / ref_seg(rest_normals)
        r_score = seg_scores(r_val, r_pct, rest_normals, r_abn)
        srs = int(r_score.sum())
        # a segment is reversible only if its rest uptake exceeds its stress uptake by a margin beyond
        # noise: a fixed defect whose segment sits at a score boundary must not flip into "ischaemia"
        reversible = (r_pct - s_pct) >= MIN_REVERSIBILITY_PERCENT
        seg_sds = np.where(reversible, np.maximum(s_score - r_score, 0), 0)
        sds = int(seg_sds.sum())

    territories: dict[str, TerritoryScores] = {}
    for name, segs in TERRITORY_SEGMENTS.items():
        sel = np.isin(seg_idx, segs)
        mask = np.isin(s_seg, segs)
        share = float(np.sum(w_seg * mask))  # fraction of the LV in the 17-segment model (= len(segs) / 17)
        t_ext = t_isch = t_ext_rel = t_isch_rel = None
        if s_abn is not None:
            t_ext = float(100.0 * np.sum(w_seg * (s_abn & mask)))
            t_ext_rel = t_ext / share
            if r_abn is not None:
                t_isch = float(100.0 * np.sum(w_seg * (s_abn & ~r_abn & mask)))
                t_isch_rel = t_isch / share
            flagged = t_ext >= MIN_TERRITORY_EXTENT_PERCENT
        else:
            flagged = bool(np.any(s_score[sel] >= MIN_TERRITORY_SCORE))
        territories[name] = TerritoryScores(
            territory=name, segments=tuple(segs), sss=int(s_score[sel].sum()),
            srs=None if r_score is None else int(r_score[sel].sum()),
            sds=None if seg_sds is None else int(seg_sds[sel].sum()),
            stress_extent_percent=t_ext, ischaemic_extent_percent=t_isch,
            stress_extent_of_territory_percent=t_ext_rel, ischaemic_extent_of_territory_percent=t_isch_rel,
            flagged=bool(flagged),
        )

    if normals is not None:
        method = (f"segment scores from % of the normal segment mean ({normals.tracer}, {normals.protocol}, "
                  f"n={normals.n_subjects}; heartprint table ≥70/60/50/40 % → 0/1/2/3, else 4); samples abnormal "
                  f"when > {ABNORMAL_SD} SD below the normal mean, and a sample in a defect scores at least "
                  f"{DEFECT_SAMPLE_MIN_SCORE}; TPD = area-weighted Σ of fractional deficit over "
                  "abnormal samples (heartprint's simplification of Slomka 2005); "
                  + ("samples weighted by the mid-wall area they stand for" if area_weighted else
                     "segments weighted 1/17 each"))
    else:
        method = ("no normal limits: segment scores from % of the map maximum (100 %) with heartprint's table "
                  "≥70/60/50/40 % → 0/1/2/3, else 4; TPD and extents not computed (they need normal limits)")
    return PerfusionScores(
        sss=sss, srs=srs, sds=sds,
        segment_scores={int(s): (int(s_score[s - 1]), None if r_score is None else int(r_score[s - 1])) for s in seg_idx},
        segment_percent_of_normal={
            int(s): (float(s_pct[s - 1]), None if r_pct is None else float(r_pct[s - 1])) for s in seg_idx},
        summed_percent=100.0 * sss / MAX_SUMMED_SCORE,
        summed_rest_percent=None if srs is None else 100.0 * srs / MAX_SUMMED_SCORE,
        ischaemic_percent=None if sds is None else 100.0 * sds / MAX_SUMMED_SCORE,
        tpd_percent=tpd, tpd_rest_percent=tpd_rest, extent_percent=extent, extent_rest_percent=extent_rest,
        ischaemic_extent_percent=isch_extent, territories=territories, method=method,
        stress_deviation_sd=z, stress_abnormal=s_abn, rest_abnormal=r_abn,
    )

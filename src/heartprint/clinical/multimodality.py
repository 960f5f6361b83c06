"""Multimodality reconciliation: anatomy (stenosis) against function (FFR, perfusion) and scar (LGE).

Every regional result is mapped to AHA segments and to coronary territories (default
assignment, Cerqueira 2002, :mod:`heartprint.anatomy.territories`). Then, per vessel:

* A stenosis ≥50 % (CCTA or ICA; CAD-RADS ≥3) is **haemodynamically significant** when
  (a) invasive FFR or CT-FFR of that vessel is ≤0.80, or (b) a stress perfusion defect lies
  in its territory (SPECT/PET segment stress score ≥2 — heartprint's convention for a
  "moderate or worse" reduction on the 0–4 scale, ⚠M — or a CMR stress perfusion defect),
  or (c) ischaemic-pattern LGE (subendocardial or transmural) lies in its territory.
  It is **not significant** when a functional test covering the territory is negative
  (FFR/CT-FFR >0.80, or stress perfusion normal in the territory) and no LGE is there.
  Without any functional test it is **not assessable** (needs FFR/CT-FFR or stress perfusion).
  When invasive FFR >0.80 and perfusion is abnormal the result is significant by the rule
  above and flagged ``discordant`` in ``details``.
* A left-main stenosis affects the LAD and LCx territories.
* When coronary anatomy is known (any stenosis entered), vessels not listed are taken as
  free of ≥50 % stenosis (as in CAD-RADS reporting, :func:`heartprint.clinical.cad_rads`).
* Stress perfusion is "normal in a territory" only when every segment of the territory was
  imaged and none shows a defect; a partly imaged territory is unknown, never normal. A
  SPECT/PET stress defect counts as reversible ischaemia (for "ischaemia without obstructive
  stenosis") only when its rest score is known and lower.

Scar: LGE with an ischaemic pattern (subendocardial, transmural) follows coronary
territories; mid-wall, epicardial, RV-insertion or diffuse LGE is a non-ischaemic pattern.
LGE without a culprit (≥50 %) stenosis in its territory points away from an ischaemic
aetiology.

Citations
---------
* ESC 2024 CCS: Vrints C et al. 2024 ESC Guidelines for the management of chronic coronary
  syndromes. Eur Heart J 2024;45:3415–3537. doi:10.1093/eurheartj/ehae177 (functional
  imaging for anatomically uncertain stenoses; Rec. Table 14: FFR-CT ≤0.8, ischaemia ≥10 %,
  ≥2 of 16 CMR perfusion-defect segments; ✅P via clinical_reference.md §8c).
* FFR ≤0.80: 2018 ESC/EACTS Guidelines on myocardial revascularization, Neumann FJ,
  Sousa-Uva M et al., Eur Heart J 2019;40:87–165, doi:10.1093/eurheartj/ehy394 (DOI ✅S;
  threshold ✅S via the ACC/AHA appropriate-use summary "FFR ≤0.80 is abnormal"); ESC 2019
  CCS, Knuuti J et al., Eur Heart J 2020;41:407–477, doi:10.1093/eurheartj/ehz425.
* LGE patterns: ischaemic (subendocardial → transmural, coronary distribution) versus
  non-ischaemic (mid-wall, epicardial) — Lake Louise 2018 (Ferreira VM et al., J Am Coll
  Cardiol 2018;72:3158–3176) uses "non-ischaemic distribution" LGE as a T1 criterion (✅S);
  ESC 2023 cardiomyopathy guideline (Arbelo E et al., Eur Heart J 2023;44:3503–3626,
  doi:10.1093/eurheartj/ehad194).
* Viability: LGE transmurality >50 % predicts little functional recovery after
  revascularisation (Kim RJ et al., N Engl J Med 2000;343:1445–1453) — ⚠M.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from heartprint.anatomy.territories import (
    SEGMENT_TERRITORY,
    TERRITORY_REFERENCE,
    VARIABLE_SEGMENTS,
    segments_of,
    vessel_territory,
)
from heartprint.measure import Finding, Measurement

__all__ = [
    "CITATION_CCS_2024", "CITATION_FFR", "FFR_THRESHOLD", "STENOSIS_THRESHOLD", "PERFUSION_DEFECT_SCORE",
    "ISCHAEMIC_LGE_PATTERNS", "NON_ISCHAEMIC_LGE_PATTERNS", "VesselAssessment", "regional_map", "reconcile",
    "assess_vessels", "lge_findings",
]

CITATION_CCS_2024 = (
    "Vrints C et al. 2024 ESC Guidelines for the management of chronic coronary syndromes. "
    "Eur Heart J 2024;45:3415-3537. doi:10.1093/eurheartj/ehae177"
)
CITATION_FFR = (
    "FFR <=0.80 = haemodynamically significant: 2018 ESC/EACTS Guidelines on myocardial revascularization, "
    "Neumann FJ, Sousa-Uva M et al. Eur Heart J 2019;40:87-165. doi:10.1093/eurheartj/ehy394; "
    "2019 ESC CCS, Knuuti J et al. Eur Heart J 2020;41:407-477. doi:10.1093/eurheartj/ehz425; "
    "FFR-CT <=0.8: ESC 2024 CCS Rec. Table 14"
)
CITATION_LGE = (
    "LGE patterns: Ferreira VM et al. (Lake Louise 2018) J Am Coll Cardiol 2018;72:3158-3176 "
    "(non-ischaemic distribution); Arbelo E et al. 2023 ESC cardiomyopathy guideline, Eur Heart J "
    "2023;44:3503-3626. doi:10.1093/eurheartj/ehad194"
)

#: FFR / CT-FFR at or below which a stenosis is haemodynamically significant.
FFR_THRESHOLD = 0.80
#: Diameter stenosis (%) from which a lesion is assessed (CAD-RADS ≥3: "moderate", 50–69 %).
STENOSIS_THRESHOLD = 50.0
#: SPECT/PET stress score (0–4) from which a segment counts as a perfusion defect (⚠M convention).
PERFUSION_DEFECT_SCORE = 2
ISCHAEMIC_LGE_PATTERNS = frozenset({"subendocardial", "transmural"})
NON_ISCHAEMIC_LGE_PATTERNS = frozenset({"mid_wall", "epicardial", "rv_insertion", "diffuse", "patchy",
                                        "diffuse_subendocardial"})
_RULE = "heartprint.clinical.multimodality"


def _inp(m: Measurement) -> dict[str, Any]:
    d: dict[str, Any] = {"code": m.code, "value": round(m.value, 4), "unit": m.unit, "source": m.source}
    for k in ("modality", "segment", "vessel", "vessel_segment", "pattern"):
        if getattr(m, k) is not None:
            d[k] = getattr(m, k)
    if m.time is not None:
        d["time"] = m.time.isoformat()
    return d


def regional_map(phenotype: Any) -> dict[str, Any]:
    """Every segmental result by AHA segment, with its territory, and every vessel result by vessel.

    Returns ``{"segments": {"1": {"territory": "LAD", "variable_supply": [...], "<code>": value,
    "lge_pattern": ...}, ...}, "vessels": {"LAD": {"stenosis": %, "ffr": v, "ct_ffr": v}},
    "territory_reference": str}``.
    """
    segs: dict[str, dict[str, Any]] = {}
    for s in range(1, 18):
        segs[str(s)] = {"territory": SEGMENT_TERRITORY[s]}
        if s in VARIABLE_SEGMENTS:
            segs[str(s)]["variable_supply"] = list(VARIABLE_SEGMENTS[s])
    vessels: dict[str, dict[str, Any]] = {}
    for m in phenotype.measurements:
        if m.segment is not None:
            segs[str(m.segment)][m.code] = m.value
            if m.pattern:
                segs[str(m.segment)][f"{m.code}_pattern"] = m.pattern
        elif m.vessel is not None:
            key = m.vessel if m.vessel_segment is None else f"{m.vessel} {m.vessel_segment}"
            vessels.setdefault(key, {})[m.code] = m.value
    return {"segments": segs, "vessels": vessels, "territory_reference": TERRITORY_REFERENCE}


@dataclass
class VesselAssessment:
    """One vessel's reconciliation (see the module docstring for the rule)."""

    vessel: str
    status: str  # "significant", "not_significant", "not_assessable"
    stenosis: Measurement | None
    evidence_for: list[str] = field(default_factory=list)
    evidence_against: list[str] = field(default_factory=list)
    inputs: list[Measurement] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def discordant(self) -> bool:
        """Significant by one test while another says not (e.g. a perfusion defect with FFR > 0.80):
        derived from the evidence, so it is never asserted without it."""
        return self.status == "significant" and bool(self.evidence_against)


def _max_by_vessel(ms: list[Measurement]) -> dict[str, Measurement]:
    out: dict[str, Measurement] = {}
    for m in ms:
        if m.vessel and (m.vessel not in out or m.value > out[m.vessel].value):
            out[m.vessel] = m
    return out


def _min_by_vessel(ms: list[Measurement]) -> dict[str, Measurement]:
    out: dict[str, Measurement] = {}
    for m in ms:
        if m.vessel and (m.vessel not in out or m.value < out[m.vessel].value):
            out[m.vessel] = m
    return out


def _perfusion(phenotype: Any) -> tuple[dict[int, Measurement], dict[int, Measurement], dict[int, Measurement]]:
    stress = {m.segment: m for m in phenotype.regional("perfusion_stress_score")}
    rest = {m.segment: m for m in phenotype.regional("perfusion_rest_score")}
    cmr = {m.segment: m for m in phenotype.regional("perfusion_defect")}
    return stress, rest, cmr


def assess_vessels(phenotype: Any) -> list[VesselAssessment]:
    """Per-vessel reconciliation for every vessel with a ≥50 % stenosis or an FFR/CT-FFR value."""
    sten = _max_by_vessel(phenotype.regional("stenosis"))
    ffr = _min_by_vessel(phenotype.regional("ffr"))
    ctffr = _min_by_vessel(phenotype.regional("ct_ffr"))
    stress, rest, cmr = _perfusion(phenotype)
    lge = {m.segment: m for m in phenotype.regional("lge_transmurality") if m.value > 0}
    perfusion_known = set(stress) | set(cmr)
    vessels = sorted({v for v, m in sten.items() if m.value >= STENOSIS_THRESHOLD} | set(ffr) | set(ctffr),
                     key=lambda v: ("LM", "LAD", "LCx", "RCA").index(v))
    out = []
    for v in vessels:
        a = VesselAssessment(vessel=v, status="not_assessable", stenosis=sten.get(v))
        if a.stenosis is not None:
            a.inputs.append(a.stenosis)
        segs = [s for t in vessel_territory(v) for s in segments_of(t)]
        functional_negative = False
        # (a) pressure wire / CT-FFR
        for label, table in (("invasive FFR", ffr), ("CT-FFR", ctffr)):
            m = table.get(v)
            if m is None:
                continue
            a.inputs.append(m)
            if m.value <= FFR_THRESHOLD:
                a.evidence_for.append(f"{label} {m.value:.2f} ≤ {FFR_THRESHOLD:.2f}")
            else:
                a.evidence_against.append(f"{label} {m.value:.2f} > {FFR_THRESHOLD:.2f}")
                functional_negative = True
        # (b) perfusion in the territory: normal only when every segment of it was imaged (stress
        # CMR reads 16 segments, ESC 2024 Rec. Table 14, so the apex, 17, is not required from CMR alone)
        in_terr = [s for s in segs if s in perfusion_known]
        required = [s for s in segs if s != 17 or stress or not cmr]
        unimaged = [s for s in required if s not in perfusion_known]
        if in_terr:
            defects = []
            for s in in_terr:
                if s in stress:
                    a.inputs.append(stress[s])
                    if s in rest:
                        a.inputs.append(rest[s])
                    if stress[s].value >= PERFUSION_DEFECT_SCORE:
                        kind = "fixed" if s in rest and rest[s].value >= stress[s].value else "reversible"
                        defects.append(f"{s} ({kind}, stress score {stress[s].value:g})")
                if s in cmr:
                    a.inputs.append(cmr[s])
                    if cmr[s].value >= 1:
                        defects.append(f"{s} (CMR stress perfusion defect)")
            if defects:
                a.evidence_for.append(f"stress perfusion defect in the {'/'.join(vessel_territory(v))} territory: segments {', '.join(defects)}")
            elif not unimaged:
                a.evidence_against.append(f"stress perfusion normal in the {'/'.join(vessel_territory(v))} territory (segments {sorted(in_terr)})")
                functional_negative = True
        # (c) ischaemic-pattern LGE in the territory
        scar = [lge[s] for s in segs if s in lge and (lge[s].pattern or "") in ISCHAEMIC_LGE_PATTERNS]
        if scar:
            a.inputs += scar
            a.evidence_for.append("ischaemic-pattern LGE in the territory: segments " +
                                  ", ".join(f"{m.segment} ({m.pattern or 'unspecified pattern'}, {m.value:g} % transmural)" for m in scar))
        if a.evidence_for:
            a.status = "significant"
        elif functional_negative:
            a.status = "not_significant"
        else:
            perf = (f"stress perfusion of segments {', '.join(map(str, unimaged))} of the {'/'.join(vessel_territory(v))} "
                    "territory (the others imaged were normal)" if in_terr else
                    f"stress perfusion imaging (SPECT/PET/CMR) of the {'/'.join(vessel_territory(v))} territory")
            a.missing = [f"FFR or CT-FFR of the {v}", perf]
        out.append(a)
    return out


def _vessel_finding(a: VesselAssessment) -> Finding:
    st = a.stenosis
    what = f"{st.value:g} % {a.vessel}{' ' + st.vessel_segment if st and st.vessel_segment else ''} stenosis" if st else f"{a.vessel} lesion"
    if a.status == "significant":
        statement = f"{what} is haemodynamically significant: " + "; ".join(a.evidence_for)
        if a.discordant:
            statement += f" (discordant: {'; '.join(a.evidence_against)})"
        status, code = "present", f"significant_stenosis_{a.vessel.lower()}"
    elif a.status == "not_significant":
        statement = f"{what} is not haemodynamically significant: " + "; ".join(a.evidence_against)
        status, code = "absent", f"significant_stenosis_{a.vessel.lower()}"
    else:
        statement = f"{what}: haemodynamic significance not assessable: needs " + " or ".join(a.missing)
        status, code = "not_assessable", f"significant_stenosis_{a.vessel.lower()}"
    return Finding(
        code=code, statement=statement, status=status, rule=f"{_RULE}.assess_vessels",
        citation=f"{CITATION_FFR}; {CITATION_CCS_2024}; territories: {TERRITORY_REFERENCE}",
        inputs={f"{m.code}{'_' + str(m.segment) if m.segment else ''}{'_' + m.vessel if m.vessel else ''}": _inp(m) for m in a.inputs},
        missing=a.missing,
        details={"vessel": a.vessel, "territories": list(vessel_territory(a.vessel)), "evidence_for": a.evidence_for,
                 "evidence_against": a.evidence_against, "discordant": a.discordant,
                 "ffr_threshold": FFR_THRESHOLD, "stenosis_threshold_percent": STENOSIS_THRESHOLD,
                 "perfusion_defect_score": PERFUSION_DEFECT_SCORE},
    )


def lge_findings(phenotype: Any, assessments: list[VesselAssessment] | None = None) -> list[Finding]:
    """LGE pattern findings: ischaemic vs non-ischaemic distribution, and scar without a culprit stenosis."""
    lge = [m for m in phenotype.regional("lge_transmurality") if m.value > 0]
    if not lge:
        return []
    sten = _max_by_vessel(phenotype.regional("stenosis"))
    anatomy_known = bool(sten)
    culprit_territories = {t for v, m in sten.items() if m.value >= STENOSIS_THRESHOLD for t in vessel_territory(v)}
    out: list[Finding] = []
    isch = [m for m in lge if (m.pattern or "") in ISCHAEMIC_LGE_PATTERNS]
    non = [m for m in lge if (m.pattern or "") in NON_ISCHAEMIC_LGE_PATTERNS]
    unspecified = [m for m in lge if not m.pattern or (m.pattern not in ISCHAEMIC_LGE_PATTERNS | NON_ISCHAEMIC_LGE_PATTERNS)]

    def seglist(ms: list[Measurement]) -> str:
        return ", ".join(f"{m.segment} ({SEGMENT_TERRITORY[m.segment]}, {m.pattern or '?'}, {m.value:g} %)" for m in ms)

    if isch:
        terr = sorted({SEGMENT_TERRITORY[m.segment] for m in isch})
        nonviable = [m.segment for m in isch if m.value > 50]
        out.append(Finding(
            code="lge_ischaemic_pattern", status="present",
            statement=f"Ischaemic-pattern LGE (subendocardial/transmural) in the {', '.join(terr)} territory: segments {seglist(isch)}",
            rule=f"{_RULE}.lge_findings", citation=f"{CITATION_LGE}; territories: {TERRITORY_REFERENCE}",
            inputs={f"lge_transmurality_{m.segment}": _inp(m) for m in isch},
            details={"territories": terr, "segments": [m.segment for m in isch],
                     "segments_transmurality_gt50": nonviable,
                     "viability_note": "LGE >50 % transmural: low likelihood of functional recovery (Kim RJ et al. "
                                       "N Engl J Med 2000;343:1445-1453; ⚠M)"},
        ))
    if non:
        out.append(Finding(
            code="lge_non_ischaemic_pattern", status="present",
            statement=f"Non-ischaemic pattern LGE ({', '.join(sorted({m.pattern for m in non}))}): segments {seglist(non)}; "
                      "points away from an ischaemic aetiology",
            rule=f"{_RULE}.lge_findings", citation=CITATION_LGE,
            inputs={f"lge_transmurality_{m.segment}": _inp(m) for m in non},
            details={"patterns": sorted({m.pattern for m in non}), "segments": [m.segment for m in non]},
        ))
    if unspecified:
        out.append(Finding(
            code="lge_pattern_unspecified", status="not_assessable",
            statement=f"LGE in segments {', '.join(str(m.segment) for m in unspecified)} without a stated pattern: "
                      "ischaemic vs non-ischaemic distribution not assessable: needs the LGE pattern "
                      "(subendocardial, transmural, mid_wall, epicardial)",
            rule=f"{_RULE}.lge_findings", citation=CITATION_LGE,
            inputs={f"lge_transmurality_{m.segment}": _inp(m) for m in unspecified},
            missing=["LGE pattern per segment"],
        ))
    if anatomy_known:
        orphan = [m for m in lge if SEGMENT_TERRITORY[m.segment] not in culprit_territories]
        if orphan:
            out.append(Finding(
                code="scar_without_culprit_stenosis", status="present",
                statement=f"LGE without a ≥{STENOSIS_THRESHOLD:g} % stenosis in its territory (segments {seglist(orphan)}): "
                          "points away from an ischaemic aetiology of this scar (consider non-ischaemic causes, "
                          "or embolic / recanalised infarction if subendocardial)",
                rule=f"{_RULE}.lge_findings", citation=f"{CITATION_LGE}; {CITATION_CCS_2024}",
                inputs={**{f"lge_transmurality_{m.segment}": _inp(m) for m in orphan},
                        **{f"stenosis_{v}": _inp(m) for v, m in sten.items()}},
                details={"segments": [m.segment for m in orphan], "culprit_territories": sorted(culprit_territories)},
            ))
    return out


def _ischaemia_without_stenosis(phenotype: Any) -> list[Finding]:
    sten = _max_by_vessel(phenotype.regional("stenosis"))
    if not sten:
        return []
    culprit = {t for v, m in sten.items() if m.value >= STENOSIS_THRESHOLD for t in vessel_territory(v)}
    stress, rest, cmr = _perfusion(phenotype)
    # a SPECT/PET defect is ischaemia only when the rest score shows it reversible; without a rest
    # score it may be a fixed defect (scar), so it is a possible orphan, not a definite one
    defects = [m for s, m in stress.items() if m.value >= PERFUSION_DEFECT_SCORE and SEGMENT_TERRITORY[s] not in culprit]
    orphan = [m for m in defects if m.segment in rest and rest[m.segment].value < m.value]
    possible = [m for m in defects if m.segment not in rest]
    orphan += [m for s, m in cmr.items() if m.value >= 1 and SEGMENT_TERRITORY[s] not in culprit]
    if not orphan and possible:
        return [Finding(
            code="ischaemia_without_obstructive_stenosis", status="not_assessable",
            statement="Stress perfusion defect without a ≥50 % stenosis in its territory (segments "
                      f"{', '.join(str(m.segment) for m in possible)}): reversible ischaemia or a fixed defect not "
                      "assessable: needs the rest scores of these segments",
            rule=f"{_RULE}.reconcile", citation=CITATION_CCS_2024,
            inputs={**{f"{m.code}_{m.segment}": _inp(m) for m in possible}, **{f"stenosis_{v}": _inp(m) for v, m in sten.items()}},
            missing=[f"rest perfusion score, segment {m.segment}" for m in possible],
            details={"segments": [m.segment for m in possible]},
        )]
    if not orphan:
        return []
    return [Finding(
        code="ischaemia_without_obstructive_stenosis", status="present",
        statement="Stress perfusion defect without a ≥50 % stenosis in its territory (segments "
                  f"{', '.join(str(m.segment) for m in orphan)}): consider coronary microvascular dysfunction or "
                  "vasospasm (ANOCA/INOCA), or a false-positive perfusion result",
        rule=f"{_RULE}.reconcile", citation=CITATION_CCS_2024,
        inputs={**{f"{m.code}_{m.segment}": _inp(m) for m in orphan}, **{f"stenosis_{v}": _inp(m) for v, m in sten.items()}},
        details={"segments": [m.segment for m in orphan]},
    )]


def reconcile(phenotype: Any) -> list[Finding]:
    """All multimodality findings: per-vessel significance, LGE patterns, orphan ischaemia."""
    assessments = assess_vessels(phenotype)
    return [_vessel_finding(a) for a in assessments] + lge_findings(phenotype, assessments) + _ischaemia_without_stenosis(phenotype)

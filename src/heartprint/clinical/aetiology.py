"""Heart-failure / cardiomyopathy aetiology differential, ranked with evidence for and against.

The differential does not re-derive thresholds: it reads the findings of the guideline rules
(:mod:`heartprint.clinical` tissue, heart-failure and ischaemia rules) and of the
multimodality reconciliation, and weighs them per candidate:

=================  ==============================================  =============================================
candidate          evidence for (weight)                           evidence against (weight)
=================  ==============================================  =============================================
ischaemic          significant stenosis (2); ischaemic-pattern     complete coronary anatomy (LM, LAD, LCx, RCA)
                   LGE (2); high-risk ischaemia (1); prior MI (1)  without ≥50 % stenosis, or with every ≥50 %
                                                                   stenosis not significant by physiology (2);
                                                                   scar without culprit stenosis (1);
                                                                   only non-ischaemic LGE (1)
dilated (DCM)      LVEF <50 % (1) with LV dilatation (1);          LVEF ≥50 % (2); an ischaemic cause shown (2)
                   non-ischaemic LGE (1)
hypertrophic       HCM wall-thickness rule positive (2);           HCM rule negative (1); amyloid evidence
                   family history of HCM (1)                       (phenocopy, 1)
amyloid            ECV rule positive (2); native-T1 rule positive  native-T1 rule negative (2); ECV rule
                   (2); diffuse / global subendocardial LGE (2);   negative (1)
                   wall thickness ≥12 mm red flag (1)
myocarditis        Lake Louise positive (2); epicardial/mid-wall   Lake Louise negative (1)
                   LGE (1)
iron overload      T2* rule positive (3)                           T2* rule negative (2)
sarcoid            non-ischaemic LGE of the septum or RV           —
                   insertion, or patchy LGE (1, ⚠M)
Fabry              LV hypertrophy with basal/mid inferolateral     —
                   mid-wall LGE (1, ⚠M)
valvular           severe aortic stenosis (2); severe primary MR   —
                   (2); moderate AS, low-gradient AS with a
                   severe-range area, AS at least moderate but
                   not graded, moderate primary MR, or moderate /
                   severe MR of unknown mechanism (1)
=================  ==============================================  =============================================

Valve disease (``aortic_stenosis`` and ``mitral_regurgitation`` findings of
:mod:`heartprint.clinical.valves`, read through their ``details["at_least_moderate"]``, tri-state):
moderate or severe AS or MR enters the differential as a candidate cause of heart failure (ESC 2021 HF
guideline, aetiologies of heart failure: valve disease, ⚠M table number). Secondary (functional) MR
is a consequence of LV disease, not its cause (ESC/EACTS 2021 valvular guideline, section on secondary
MR, ⚠M), so it weighs nothing for the valvular candidate; MR of unknown mechanism weighs 1 (either).
The pressure / volume load of moderate or severe valve disease also counts against a cardiomyopathy
defined as unexplained by abnormal loading conditions (1 each): dilated cardiomyopathy ("dilatation
and systolic impairment unexplained by abnormal loading conditions or coronary artery disease", ESC
2008 definition kept by the 2023 guideline; ✅S accesscardiology.mhmedical.com Hurst's chapter quoting
it, 2023 wording ⚠M) and hypertrophic cardiomyopathy ("increased LV wall thickness not solely explained
by abnormal loading conditions", ESC 2014 HCM guideline; ✅S radcliffecardiology.com summary of Elliott
2014, 2023 wording ⚠M). No valve measurement, or AS and MR below moderate, never counts against the
valvular candidate: the other valves (aortic regurgitation, mitral stenosis, right-sided valves) were
not graded.

Unknown is never "no": coronary anatomy counts against an ischaemic cause only when every main
coronary artery (LM, LAD, LCx, RCA) was assessed; a vessel not reported could hold the culprit
lesion, so partial anatomy is listed (``details["coronary_anatomy"]``) but weighs nothing.

Weights are heartprint's ordering device (⚠M: not from a guideline); each evidence item
cites the rule that produced it. Ranking: net weight (for − against), then weight for.
Status: ``present`` (supported: weight for ≥2 and more for than against), ``absent``
(weight against ≥ weight for), ``not_assessable`` (no evidence, or only weak evidence for;
``missing`` names the test that would inform it).

Sources: ESC 2023 cardiomyopathy guideline (Arbelo E et al., Eur Heart J 2023;44:3503–3626,
doi:10.1093/eurheartj/ehad194; amyloid red flags Figure 21 incl. LV wall thickness ≥12 mm, ✅P
with the '≥' ⚠M); ESC 2021 HF guideline (McDonagh TA et al., Eur Heart J 2021;42:3599–3726,
doi:10.1093/eurheartj/ehab368).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from heartprint.clinical._registry import RULES, read_code
from heartprint.measure import Finding

__all__ = ["CANDIDATES", "MAIN_CORONARIES", "VALVE_FINDINGS", "coronary_anatomy_complete", "differential"]

CITATION = (
    "Arbelo E et al. 2023 ESC Guidelines for the management of cardiomyopathies. Eur Heart J 2023;44:3503-3626. "
    "doi:10.1093/eurheartj/ehad194; McDonagh TA et al. 2021 ESC HF guidelines. Eur Heart J 2021;42:3599-3726. "
    "doi:10.1093/eurheartj/ehab368"
)

#: candidate code → (display name, test that would inform it when nothing is known).
CANDIDATES: dict[str, tuple[str, str]] = {
    "ischaemic": ("Ischaemic cardiomyopathy", "coronary anatomy (CCTA or ICA) with functional testing, and LGE CMR"),
    "dilated": ("Dilated cardiomyopathy", "LV volumes with reference ranges and LGE CMR"),
    "hypertrophic": ("Hypertrophic cardiomyopathy", "maximal LV wall thickness (CMR or echo)"),
    "amyloid": ("Cardiac amyloidosis", "native T1 / ECV CMR, then bone scintigraphy and light-chain tests"),
    "myocarditis": ("Myocarditis / inflammatory cardiomyopathy", "T2 and T1 mapping CMR (Lake Louise criteria)"),
    "iron_overload": ("Iron-overload cardiomyopathy", "myocardial T2* CMR"),
    "sarcoid": ("Cardiac sarcoidosis", "LGE CMR and FDG-PET"),
    "fabry": ("Anderson–Fabry disease", "native T1 CMR and alpha-galactosidase A / GLA testing"),
    "valvular": ("Valvular heart disease", "Doppler echocardiography of every valve (aortic stenosis: peak "
                                           "velocity, mean gradient, valve area; mitral regurgitation: EROA, "
                                           "regurgitant volume)"),
}

#: Findings of :mod:`heartprint.clinical.valves` read by the differential.
VALVE_FINDINGS = ("aortic_stenosis", "mitral_regurgitation")

#: The main coronary arteries that must all be assessed before anatomy can speak against an ischaemic cause.
MAIN_CORONARIES = frozenset({"LM", "LAD", "LCx", "RCA"})


def _assessed_vessels(ph: Any) -> set[str]:
    return {m.vessel for m in ph.regional("stenosis") if m.vessel is not None}


def coronary_anatomy_complete(ph: Any) -> bool:
    """Whether every main coronary artery (LM, LAD, LCx, RCA) has a stenosis measurement (CCTA or ICA)."""
    return MAIN_CORONARIES <= _assessed_vessels(ph)


AMYLOID_WALL_MM = 12.0  # ESC 2023 Figure 21 red flag (✅P; '≥' ⚠M)
#: Maximal LV wall thickness, read as the HCM rule declares it: one value per study that may name the
#: AHA segment of the maximum.
_MAX_WALL_THICKNESS = RULES["hcm_wall_thickness"].inputs["max_wall_thickness_mm"]


@dataclass
class _Ev:
    for_: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)
    against: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)


def _match(findings: list[Finding], name: str) -> list[Finding]:
    """Findings produced by a rule (by rule-name suffix) or carrying ``name`` as code."""
    return [f for f in findings if f.code == name or f.rule.split(".")[-1] == name]


def _status(findings: list[Finding], name: str) -> tuple[str | None, Finding | None]:
    fs = [f for f in _match(findings, name) if f.status != "not_assessable"]
    if not fs:
        return None, None
    pos = [f for f in fs if f.status == "present"]
    return ("present", pos[0]) if pos else ("absent", fs[0])


def _code_present(findings: list[Finding], prefix: str) -> list[Finding]:
    return [f for f in findings if f.code.startswith(prefix) and f.status == "present"]


def differential(phenotype: Any, findings: list[Finding]) -> list[Finding]:
    """Ranked aetiology findings for a phenotype with LV dysfunction, hypertrophy or tissue data."""
    ph = phenotype
    relevant = {"lv_ef", "lge_transmurality", "lv_max_wall_thickness", "native_t1", "ecv", "t2star", "t2"}
    valve = [f for f in findings if f.code in VALVE_FINDINGS and f.details.get("at_least_moderate") is True]
    if not relevant.intersection(m.code for m in ph.measurements) and not valve:
        return []
    ev: dict[str, _Ev] = {k: _Ev() for k in CANDIDATES}

    def add(cand: str, side: str, text: str, weight: int, f: Finding | None = None) -> None:
        src = {"rule": f.rule, "finding": f.code, "inputs": f.inputs, "citation": f.citation} if f else {}
        (ev[cand].for_ if side == "for" else ev[cand].against).append((text, weight, src))

    lvef = ph.latest("lv_ef")
    # ischaemic
    sig = [f for f in findings if f.code.startswith("significant_stenosis_")]
    for f in sig:
        if f.status == "present":
            add("ischaemic", "for", f.statement, 2, f)
    sten = ph.regional("stenosis")
    complete = coronary_anatomy_complete(ph)
    if sten and not complete:
        partial = {"assessed": sorted(_assessed_vessels(ph)),
                   "not_reported": sorted(MAIN_CORONARIES - _assessed_vessels(ph))}
    else:
        partial = None
    if sten and complete and not any(m.value >= 50 for m in sten):
        add("ischaemic", "against", "coronary anatomy without ≥50 % stenosis (max "
            f"{max(m.value for m in sten):g} %)", 2,
            Finding(code="coronary_anatomy", statement="", rule="heartprint.clinical.multimodality", citation="",
                    inputs={f"stenosis_{m.vessel}": {"value": m.value, "unit": m.unit, "source": m.source} for m in sten}))
    if sig and complete and all(f.status == "absent" for f in sig):
        add("ischaemic", "against", "every ≥50 % stenosis is haemodynamically not significant: "
            + "; ".join(f.statement for f in sig), 2, sig[0])
    for f in _code_present(findings, "lge_ischaemic_pattern"):
        add("ischaemic", "for", f.statement, 2, f)
    for f in _code_present(findings, "ischaemia_high_risk") + _code_present(findings, "cmr_perfusion_high_risk"):
        add("ischaemic", "for", f.statement, 1, f)
    if ph.facts.prior_mi:
        add("ischaemic", "for", "prior myocardial infarction (history)", 1)
    for f in _code_present(findings, "scar_without_culprit_stenosis"):
        add("ischaemic", "against", f.statement, 1, f)
    non_isch = _code_present(findings, "lge_non_ischaemic_pattern")
    if non_isch and not _code_present(findings, "lge_ischaemic_pattern"):
        add("ischaemic", "against", non_isch[0].statement, 1, non_isch[0])
    ischaemic_shown = any(w >= 2 for _, w, _ in ev["ischaemic"].for_)

    # dilated
    if lvef is not None:
        if lvef.value < 50:
            lvef_f = Finding(code="lv_ef", statement="", rule="measurement", citation="",
                             inputs={"lv_ef": {"value": round(lvef.value, 1), "unit": "%", "source": lvef.source}})
            add("dilated", "for", f"LVEF {lvef.value:.0f} % (<50 %)", 1, lvef_f)
            edvi = ph.latest("lv_edvi")
            if edvi is not None and ((edvi.z_score is not None and edvi.z_score > 2) or
                                     (edvi.reference_range is not None and edvi.reference_range.high is not None
                                      and edvi.value > edvi.reference_range.high)):
                add("dilated", "for", f"LV dilated (EDVi {edvi.value:.0f} mL/m², above its reference range)", 1)
        else:
            add("dilated", "against", f"LVEF {lvef.value:.0f} % (≥50 %)", 2)
    for f in non_isch:
        if any(p in ("mid_wall",) for p in f.details.get("patterns", [])):
            add("dilated", "for", f.statement, 1, f)
    if ischaemic_shown:
        add("dilated", "against", "an ischaemic cause is shown (significant stenosis or ischaemic-pattern LGE)", 2)

    # hypertrophic
    st, f = _status(findings, "hcm_wall_thickness")
    if st == "present":
        add("hypertrophic", "for", f.statement, 2, f)
    elif st == "absent":
        add("hypertrophic", "against", f.statement, 1, f)
    if ph.facts.family_history_hcm:
        add("hypertrophic", "for", "family history of HCM", 1)

    # amyloid
    for rule in ("ecv_amyloid", "amyloid_native_t1"):
        st, f = _status(findings, rule)
        if st == "present":
            add("amyloid", "for", f.statement, 2, f)
        elif st == "absent":
            add("amyloid", "against", f.statement, 2 if rule == "amyloid_native_t1" else 1, f)
    diffuse = [m for m in ph.regional("lge_transmurality") if m.value > 0 and m.pattern in ("diffuse", "diffuse_subendocardial")]
    if diffuse:
        add("amyloid", "for", f"diffuse / global subendocardial LGE (segments {sorted(m.segment for m in diffuse)})", 2,
            Finding(code="lge_diffuse", statement="", rule="heartprint.clinical.aetiology", citation=CITATION,
                    inputs={f"lge_transmurality_{m.segment}": {"value": m.value, "unit": "%", "pattern": m.pattern,
                                                               "source": m.source} for m in diffuse}))
    mwt = read_code(ph, _MAX_WALL_THICKNESS)
    if mwt is not None and mwt.value >= AMYLOID_WALL_MM:
        add("amyloid", "for", f"LV wall thickness {mwt.value:.0f} mm (≥{AMYLOID_WALL_MM:g} mm red flag, ESC 2023 Fig. 21)", 1,
            Finding(code="wall", statement="", rule="heartprint.clinical.aetiology", citation=CITATION,
                    inputs={"lv_max_wall_thickness": {"value": mwt.value, "unit": "mm", "source": mwt.source}}))
    if any(w >= 2 for _, w, _ in ev["amyloid"].for_) and ev["hypertrophic"].for_:
        add("hypertrophic", "against", "amyloid evidence (HCM phenocopy)", 1)

    # myocarditis
    st, f = _status(findings, "lake_louise")
    if st == "present":
        add("myocarditis", "for", f.statement, 2, f)
    elif st == "absent":
        add("myocarditis", "against", f.statement, 1, f)
    for f in non_isch:
        if any(p in ("epicardial", "mid_wall") for p in f.details.get("patterns", [])):
            add("myocarditis", "for", f.statement, 1, f)

    # iron
    st, f = _status(findings, "t2star_iron")
    if st == "present":
        add("iron_overload", "for", f.statement, 3, f)
    elif st == "absent":
        add("iron_overload", "against", f.statement, 2, f)

    # sarcoid, Fabry (⚠M patterns)
    lge = [m for m in ph.regional("lge_transmurality") if m.value > 0]
    sar = [m for m in lge if (m.pattern in ("mid_wall", "epicardial", "patchy") and m.segment in (2, 3, 8, 9, 14))
           or m.pattern in ("rv_insertion", "patchy")]
    if sar:
        add("sarcoid", "for", f"non-ischaemic septal / RV-insertion / patchy LGE (segments {sorted(m.segment for m in sar)}) (⚠M)", 1)
    fab = [m for m in lge if m.pattern == "mid_wall" and m.segment in (5, 11)]
    if fab and mwt is not None and mwt.value >= AMYLOID_WALL_MM:
        add("fabry", "for", f"LV hypertrophy ({mwt.value:.0f} mm) with inferolateral mid-wall LGE (segments "
            f"{sorted(m.segment for m in fab)}) (⚠M)", 1)

    # valve disease (moderate or worse AS / MR)
    for f in valve:
        grade = f.details.get("grade")
        if f.code == "aortic_stenosis":
            weight = 2 if grade == "severe_high_gradient" else 1
        else:
            mechanism = f.details.get("aetiology")
            if mechanism == "secondary":
                continue  # a consequence of LV disease, not its cause
            weight = 2 if grade == "severe" and mechanism == "primary" else 1
        add("valvular", "for", f.details["summary"], weight, f)
        load = f"{f.details['summary']} (abnormal loading condition)"
        if ev["dilated"].for_:
            add("dilated", "against", load, 1, f)
        if ev["hypertrophic"].for_:
            add("hypertrophic", "against", load, 1, f)

    out = []
    for cand, e in ev.items():
        wf = sum(w for _, w, _ in e.for_)
        wa = sum(w for _, w, _ in e.against)
        name, test = CANDIDATES[cand]
        inputs: dict[str, Any] = {}
        for _, _, src in e.for_ + e.against:
            inputs.update(src.get("inputs", {}))
        if not e.for_ and not e.against:
            status, statement, missing = "not_assessable", f"{name}: not assessable: needs {test}", [test]
        elif wf < 2 and wf > wa:
            status, missing = "not_assessable", [test]
            statement = (f"{name}: weak evidence only, not assessable: needs {test} (for: "
                         f"{'; '.join(t for t, _, _ in e.for_)}; against: {'; '.join(t for t, _, _ in e.against) or 'none'})")
        else:
            status = "present" if wf > wa else "absent"
            verdict = "supported" if status == "present" else "not supported"
            statement = (f"{name}: {verdict} (for: {'; '.join(t for t, _, _ in e.for_) or 'none'}; "
                         f"against: {'; '.join(t for t, _, _ in e.against) or 'none'})")
            missing = []
        extra: dict[str, Any] = {}
        if cand == "ischaemic" and partial is not None:
            extra["coronary_anatomy"] = {**partial, "note": "partial coronary anatomy does not count against an "
                                                            "ischaemic cause (a vessel not reported may hold the culprit lesion)"}
            if status != "present":
                missing = list(dict.fromkeys(missing + [f"coronary anatomy of {', '.join(partial['not_reported'])}"]))
        out.append(Finding(
            code=f"aetiology_{cand}", statement=statement, status=status, rule="heartprint.clinical.aetiology.differential",
            citation=CITATION, inputs=inputs, missing=missing,
            details={**extra, "candidate": name, "weight_for": wf, "weight_against": wa, "net": wf - wa,
                     "evidence_for": [{"text": t, "weight": w, **{k: v for k, v in s.items() if k != "inputs"}} for t, w, s in e.for_],
                     "evidence_against": [{"text": t, "weight": w, **{k: v for k, v in s.items() if k != "inputs"}} for t, w, s in e.against]},
        ))
    order = {"present": 0, "absent": 1, "not_assessable": 2}
    out.sort(key=lambda f: (order[f.status], -f.details["net"], -f.details["weight_for"]))
    return [f.model_copy(update={"details": {**f.details, "rank": i + 1}}) for i, f in enumerate(out)]

"""Device indications: primary-prevention ICD and CRT (ESC 2021 heart failure guideline).

Only the recommendations verified against the guideline text (✅P, clinical_reference.md
§5: McDonagh TA et al., Eur Heart J 2021;42:3599–3726, sections 6.1 and 6.2,
doi:10.1093/eurheartj/ehab368) are encoded, each as data with its class and level of
evidence. Not covered (not verified here): CRT in permanent AF without an AV-block pacing
indication, the 2023 focused update, and the ESC 2021 pacing guideline (Glikson M et al.,
Eur Heart J 2021;42:3427–3520, doi:10.1093/eurheartj/ehab364) — the functions say so in a
class-less Recommendation rather than guess.

Unknown is a value. Every input may be ``None`` (unknown); no default states a clinical
fact. A rule works out its recommendations for every value the unknown inputs could take
and returns, as :class:`DeviceAssessment`, only the recommendations that hold in every case;
its finding is ``not_assessable`` when the full answer depends on what was not given
(``missing`` names it, ``details["would_be"]`` says what each case would give). A class III
"not recommended" is never derived from missing data.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Callable

from heartprint.clinical import _validate as v
from heartprint.measure import Finding, Recommendation

__all__ = ["DeviceAssessment", "crt_indication", "icd_primary_prevention"]

CITATION_ICD = ("McDonagh TA, et al. 2021 ESC Guidelines for the diagnosis and treatment of acute and chronic heart "
                "failure. Eur Heart J 2021;42:3599-3726, section 6.1 (ICD). doi:10.1093/eurheartj/ehab368")
CITATION_CRT = ("McDonagh TA, et al. 2021 ESC Guidelines for the diagnosis and treatment of acute and chronic heart "
                "failure. Eur Heart J 2021;42:3599-3726, section 6.2 (CRT). doi:10.1093/eurheartj/ehab368")

#: ICD recommendations (✅P): key → (action, class, level).
ICD_RECOMMENDATIONS: dict[str, tuple[str, str, str]] = {
    "ischaemic": ("ICD for primary prevention (ischaemic aetiology): symptomatic HF (NYHA II–III), LVEF ≤35 % despite "
                  "≥3 months of OMT, not within 40 days of MI, provided expected survival is substantially >1 year with "
                  "good functional status", "I", "A"),
    "non_ischaemic": ("ICD should be considered for primary prevention (non-ischaemic aetiology): NYHA II–III, "
                      "LVEF ≤35 % despite ≥3 months of OMT", "IIa", "A"),
    "early_post_mi": ("ICD implantation within 40 days of MI is not recommended", "III", "A"),
    "nyha_iv": ("ICD not recommended in NYHA class IV with severe symptoms refractory to pharmacological therapy, "
                "unless a candidate for CRT, VAD or cardiac transplantation", "III", "C"),
}
ICD_LVEF_MAX = 35.0
ICD_OMT_MONTHS = 3.0
ICD_DAYS_AFTER_MI = 40

#: CRT in sinus rhythm, symptomatic HF, LVEF ≤35 % despite OMT (✅P): (QRS band, LBBB) →
#: (class, level). QRS bands: ≥150 ms, 130–149 ms, <130 ms.
CRT_SINUS: dict[tuple[str, bool], tuple[str, str]] = {
    ("≥150", True): ("I", "A"), ("≥150", False): ("IIa", "B"),
    ("130-149", True): ("IIa", "B"), ("130-149", False): ("IIb", "B"),
    ("<130", True): ("III", "A"), ("<130", False): ("III", "A"),
}
CRT_LVEF_MAX = 35.0
CRT_AV_BLOCK = ("CRT rather than RV pacing for HFrEF with an indication for ventricular pacing for high-degree AV block, "
                "regardless of NYHA class or QRS width, including patients with AF", "I", "A")
CRT_UPGRADE = ("Upgrade to CRT should be considered: LVEF ≤35 % with a conventional pacemaker or ICD, worsening HF "
               "despite OMT and a significant proportion of RV pacing", "IIa", "B")
CRT_AF_NOT_COVERED = ("CRT in AF without an AV-block pacing indication: not covered by heartprint's verified tables; see "
                      "ESC 2021 HF guideline section 6.2 and the ESC 2021 pacing guideline")
HFREF_LVEF_MAX = 40.0  # ESC 2021 Table 3 (✅P)

_POSITIVE = ("I", "IIa", "IIb")
#: Short plain names of the recommendations (for ``details["would_be"]``).
_SHORT = {
    "icd_primary_ischaemic": "ICD recommended", "icd_primary_non_ischaemic": "ICD should be considered",
    "icd_primary_early_post_mi": "ICD not recommended (within 40 days of MI)",
    "icd_primary_nyha_iv": "ICD not recommended (NYHA IV, not a candidate for advanced therapy)",
    "crt_av_block": "CRT rather than RV pacing", "crt_upgrade": "upgrade to CRT should be considered",
    "crt_af_not_covered": "CRT in AF: outside heartprint's verified tables",
}
_VERB = {"I": "is recommended", "IIa": "should be considered", "IIb": "may be considered", "III": "is not recommended"}


def _sinus_code(band: str, lbbb: bool) -> str:
    """Code of a sinus-rhythm row; QRS <130 ms is one row whatever the morphology (§6.2)."""
    if band == "<130":
        return "crt_sinus_qrs_lt130"
    return f"crt_sinus_qrs_{'ge150' if band == '≥150' else '130_149'}_{'lbbb' if lbbb else 'non_lbbb'}"


def _morphology(band: str, lbbb: bool) -> str:
    return "any QRS morphology" if band == "<130" else "LBBB" if lbbb else "non-LBBB"


_SHORT.update({_sinus_code(band, lbbb): f"CRT {_VERB[cls]} (sinus rhythm, QRS {band} ms, {_morphology(band, lbbb)})"
               for (band, lbbb), (cls, _) in CRT_SINUS.items()})

# (code, action, class, level) of one recommendation in one case
_Rec = tuple[str, str, "str | None", "str | None"]


@dataclass(frozen=True)
class DeviceAssessment:
    """What a device rule concludes: one finding and the recommendations that hold whatever the unknowns.

    Attributes
    ----------
    findings
        One Finding (code ``icd_primary_prevention`` or ``crt_indication``): ``present`` when a
        class I/IIa/IIb recommendation applies, ``absent`` when none or only class III applies,
        ``not_assessable`` when the answer depends on inputs not given (``missing``; its
        ``details["would_be"]`` says what each case would give, ``details["missing_parameters"]``
        names the parameters) or falls outside the verified tables.
    recommendations
        The recommendations that hold for every value of the unknown inputs (possibly empty).
    """

    findings: list[Finding]
    recommendations: list[Recommendation]

    @property
    def status(self) -> str:
        """The finding's status."""
        return self.findings[0].status

    def classes(self) -> list[tuple[str, str | None]]:
        """(code, class) of each recommendation."""
        return [(r.code, r.recommendation_class) for r in self.recommendations]


@dataclass(frozen=True)
class _Input:
    """One input of a device rule: its known value, or the cases an unknown one could be in."""

    name: str  # plain name, for "missing"
    known: Any
    cases: tuple[tuple[Any, str], ...]  # (representative value, plain label) when unknown

    def values(self) -> list[Any]:
        return [self.known] if self.known is not None else [c for c, _ in self.cases]

    def label(self, value: Any) -> str:
        return dict(self.cases)[value]


def _text(recs: frozenset[tuple[str, str | None, str | None]]) -> str:
    if not recs:
        return "no recommendation applies"
    return "; ".join(f"{_SHORT.get(code, code.replace('_', ' '))}" + (f" ({cls} {loe})" if cls else "")
                     for code, cls, loe in sorted(recs, key=lambda r: r[0]))


def _assess(code: str, rule: str, citation: str, label: str, core: Callable[..., list[_Rec]],
            ins: dict[str, _Input], facts: str, inputs: dict[str, Any], contradiction: str | None = None) -> DeviceAssessment:
    """Run ``core`` for every case of the unknown inputs; keep what holds in all of them."""
    if contradiction is not None:
        f = Finding(code=code, status="not_assessable", rule=rule, citation=citation, inputs=inputs,
                    statement=f"{label} not assessable: contradictory inputs: {contradiction}",
                    missing=[f"resolve the contradiction: {contradiction}"], details={"contradiction": contradiction})
        return DeviceAssessment([f], [])
    names = list(ins)
    cases = list(itertools.product(*(ins[n].values() for n in names)))
    results: dict[tuple[Any, ...], list[_Rec]] = {c: core(**dict(zip(names, c))) for c in cases}
    keys = {c: frozenset((r[0], r[2], r[3]) for r in recs) for c, recs in results.items()}
    certain = frozenset.intersection(*keys.values())
    first = results[cases[0]]
    recs = [Recommendation(code=r[0], action=r[1], recommendation_class=r[2], level_of_evidence=r[3], citation=citation,
                           rationale=facts) for r in first if (r[0], r[2], r[3]) in certain]
    details: dict[str, Any] = {"recommendations": [r.code for r in recs]}
    outcomes = set(keys.values())
    if len(outcomes) == 1:
        classes = {r.recommendation_class for r in recs}
        details["certain"] = True
        if classes & set(_POSITIVE):
            status = "present"
        elif None in classes:
            status = "not_assessable"
        else:
            status = "absent"
        statement = ("; ".join(f"{r.action} ({r.recommendation_class} {r.level_of_evidence})"
                               if r.recommendation_class else r.action for r in recs)
                     if recs else f"{label}: no recommendation applies ({facts})")
        missing = [CRT_AF_NOT_COVERED] if status == "not_assessable" else []
        return DeviceAssessment([Finding(code=code, status=status, rule=rule, citation=citation, inputs=inputs,
                                         statement=statement, missing=missing, details=details)], recs)

    # which unknown inputs change the answer (alone, with the others held)
    matters = []
    for i, n in enumerate(names):
        if len(ins[n].values()) < 2:
            continue
        groups: dict[tuple[Any, ...], set[frozenset[Any]]] = {}
        for c in cases:
            groups.setdefault(c[:i] + c[i + 1:], set()).add(keys[c])
        if any(len(g) > 1 for g in groups.values()):
            matters.append(n)
    scenario_keys = list(itertools.product(*(ins[n].values() for n in matters)))
    fixed = {n: ins[n].values()[0] for n in names if n not in matters}
    would_be: dict[str, str] = {}
    if len(scenario_keys) <= 24:
        for sk in scenario_keys:
            case = dict(fixed, **dict(zip(matters, sk)))
            would_be["; ".join(ins[n].label(x) for n, x in zip(matters, sk))] = _text(keys[tuple(case[n] for n in names)])
    else:  # too many cases to list: the possible answers
        would_be = {_text(outcome): "possible" for outcome in sorted(outcomes, key=_text)}
    details.update(would_be=would_be, missing_parameters=matters, certain=False)
    if certain:
        details["whatever_the_unknowns"] = _text(certain)
    missing = [ins[n].name for n in matters]
    sure = f"; whatever they are: {_text(certain)}" if certain else ""
    statement = f"{label} not assessable ({facts}): needs {', '.join(missing)}{sure}"
    return DeviceAssessment([Finding(code=code, status="not_assessable", rule=rule, citation=citation, inputs=inputs,
                                     statement=statement, missing=missing, details=details)], recs)


def _facts(parts: list[tuple[Any, str]]) -> str:
    return ", ".join(text for value, text in parts if value is not None) or "no facts given"


_NYHA = ((1, "NYHA I"), (2, "NYHA II"), (3, "NYHA III"), (4, "NYHA IV"))
_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


def icd_primary_prevention(
    lvef: float | None,
    *,
    nyha: int | None = None,
    aetiology: str | None = None,
    omt_months: float | None = None,
    days_since_mi: int | None = None,
    prior_mi: bool | None = None,
    advanced_therapy_candidate: bool | None = None,
) -> DeviceAssessment:
    """Primary-prevention ICD recommendations (ESC 2021 HF guideline, section 6.1).

    Parameters
    ----------
    lvef
        LVEF, % (on optimal medical therapy); ``None``: unknown.
    nyha
        NYHA class 1–4; ``None``: unknown.
    aetiology
        ``"ischaemic"`` or ``"non-ischaemic"``; ``None``: unknown (never a branch by default).
    omt_months
        Duration of optimal medical therapy, months; ``None``: unknown.
    days_since_mi
        Days since the most recent myocardial infarction; ``None``: unknown (or no MI, when
        ``prior_mi=False``).
    prior_mi
        Any myocardial infarction ever. ``False`` means no MI, so none within 40 days;
        ``None``: unknown. ``False`` together with ``days_since_mi`` is a contradiction.
    advanced_therapy_candidate
        Candidate for CRT, VAD or transplantation (lifts the NYHA IV contraindication);
        ``None``: unknown.

    Returns
    -------
    DeviceAssessment
        The recommendations that hold whatever the unknown inputs are (possibly none: e.g.
        LVEF >35 % or OMT <3 months: re-assess after ≥3 months of OMT; class III within 40
        days of MI or in refractory NYHA IV only when that is known), and a finding
        ``icd_primary_prevention`` (see :class:`DeviceAssessment`). The class I
        recommendation carries its proviso (expected survival substantially >1 year with
        good functional status) in its text: a clinical judgement the rule does not make.
    """
    lvef = v.optional("lvef", lvef, 0, 100, unit="%")
    if nyha is not None:
        nyha = v.integer("nyha", nyha, 1, 4)
    if aetiology is not None:
        aetiology = v.choice("aetiology", aetiology, ("ischaemic", "non-ischaemic"))
    omt_months = v.optional("omt_months", omt_months, 0, 600, unit="months")
    if days_since_mi is not None:
        days_since_mi = v.integer("days_since_mi", days_since_mi, 0, 100000)
    prior_mi = v.flag("prior_mi", prior_mi)
    advanced_therapy_candidate = v.flag("advanced_therapy_candidate", advanced_therapy_candidate)
    recent_mi = (days_since_mi < ICD_DAYS_AFTER_MI if days_since_mi is not None
                 else False if prior_mi is False else None)
    contradiction = (f"no prior myocardial infarction, but {days_since_mi} days since myocardial infarction"
                     if prior_mi is False and days_since_mi is not None else None)

    ins = {
        "lvef": _Input("LVEF (%)", lvef, ((30.0, "LVEF ≤35 %"), (40.0, "LVEF >35 %"))),
        "nyha": _Input("NYHA class", nyha, _NYHA),
        "aetiology": _Input("aetiology (ischaemic or non-ischaemic)", aetiology,
                            (("ischaemic", "ischaemic aetiology"), ("non-ischaemic", "non-ischaemic aetiology"))),
        "omt_months": _Input("months of optimal medical therapy", omt_months,
                             ((0.0, "OMT <3 months"), (ICD_OMT_MONTHS, "OMT ≥3 months"))),
        "recent_mi": _Input("whether there was a myocardial infarction within 40 days (days since MI, or no prior MI)",
                            recent_mi, ((True, "MI within 40 days"), (False, "no MI within 40 days"))),
        "advanced": _Input("whether the patient is a candidate for CRT, VAD or cardiac transplantation",
                           advanced_therapy_candidate,
                           ((True, "candidate for CRT, VAD or transplantation"), (False, "not a candidate for advanced therapy"))),
    }

    def rec(key: str) -> _Rec:
        action, cls, loe = ICD_RECOMMENDATIONS[key]
        return f"icd_primary_{key}", action, cls, loe

    def core(lvef: float, nyha: int, aetiology: str, omt_months: float, recent_mi: bool, advanced: bool) -> list[_Rec]:
        if recent_mi:
            return [rec("early_post_mi")]
        if nyha == 4 and not advanced:
            return [rec("nyha_iv")]
        if lvef <= ICD_LVEF_MAX and nyha in (2, 3) and omt_months >= ICD_OMT_MONTHS:
            return [rec("ischaemic" if aetiology == "ischaemic" else "non_ischaemic")]
        return []

    facts = _facts([(lvef, f"LVEF {lvef:g} %" if lvef is not None else ""),
                    (nyha, f"NYHA {_ROMAN.get(nyha, '')}"), (aetiology, f"{aetiology} aetiology"),
                    (omt_months, f"OMT {omt_months:g} months" if omt_months is not None else ""),
                    (days_since_mi, f"{days_since_mi} days after MI"),
                    (prior_mi if days_since_mi is None else None, "prior MI" if prior_mi else "no prior MI"),
                    (advanced_therapy_candidate, "candidate for advanced therapy" if advanced_therapy_candidate
                     else "not a candidate for advanced therapy")])
    inputs = {k: x for k, x in {"lvef": lvef, "nyha": nyha, "aetiology": aetiology, "omt_months": omt_months,
                                "days_since_mi": days_since_mi, "prior_mi": prior_mi,
                                "advanced_therapy_candidate": advanced_therapy_candidate}.items() if x is not None}
    return _assess("icd_primary_prevention", v.rule_name(icd_primary_prevention), CITATION_ICD,
                   "ICD (primary prevention)", core, ins, facts, inputs, contradiction)


def _qrs_band(qrs_ms: float) -> str:
    return "≥150" if qrs_ms >= 150 else "130-149" if qrs_ms >= 130 else "<130"


def crt_indication(
    lvef: float | None,
    *,
    qrs_ms: float | None = None,
    lbbb: bool | None = None,
    rhythm: str | None = None,
    nyha: int | None = None,
    on_omt: bool | None = None,
    av_block_pacing_indication: bool | None = None,
    existing_device_rv_pacing: bool | None = None,
) -> DeviceAssessment:
    """CRT recommendations (ESC 2021 HF guideline, section 6.2).

    Parameters
    ----------
    lvef
        LVEF, %; ``None``: unknown.
    qrs_ms
        QRS duration, ms (bands ≥150, 130–149, <130); ``None``: unknown.
    lbbb
        Left bundle branch block morphology; ``None``: unknown.
    rhythm
        ``"sinus"`` or ``"af"``; ``None``: unknown.
    nyha
        NYHA class 1–4 (symptomatic = II–IV); ``None``: unknown.
    on_omt
        LVEF measured despite optimal medical therapy; ``None``: unknown.
    av_block_pacing_indication
        Indication for ventricular pacing for high-degree AV block; ``None``: unknown.
    existing_device_rv_pacing
        Conventional pacemaker/ICD with a significant proportion of RV pacing and worsening
        HF; ``None``: unknown.

    Returns
    -------
    DeviceAssessment
        The recommendations that hold whatever the unknown inputs are (each with class and
        level of evidence; a class-less one says when the case, AF without an AV-block pacing
        indication, is outside the verified tables), and a finding ``crt_indication`` (see
        :class:`DeviceAssessment`).
    """
    lvef = v.optional("lvef", lvef, 0, 100, unit="%")
    qrs_ms = v.optional("qrs_ms", qrs_ms, 40, 300, unit="ms")
    lbbb = v.flag("lbbb", lbbb)
    if rhythm is not None:
        rhythm = v.choice("rhythm", rhythm, ("sinus", "af"))
    if nyha is not None:
        nyha = v.integer("nyha", nyha, 1, 4)
    on_omt = v.flag("on_omt", on_omt)
    av_block_pacing_indication = v.flag("av_block_pacing_indication", av_block_pacing_indication)
    existing_device_rv_pacing = v.flag("existing_device_rv_pacing", existing_device_rv_pacing)

    ins = {
        "lvef": _Input("LVEF (%)", lvef, ((30.0, "LVEF ≤35 %"), (38.0, "LVEF 36–40 %"), (45.0, "LVEF >40 %"))),
        "qrs_ms": _Input("QRS duration (ms)", qrs_ms,
                         ((120.0, "QRS <130 ms"), (140.0, "QRS 130–149 ms"), (160.0, "QRS ≥150 ms"))),
        "lbbb": _Input("QRS morphology (LBBB or not)", lbbb, ((True, "LBBB"), (False, "non-LBBB"))),
        "rhythm": _Input("rhythm (sinus rhythm or AF)", rhythm, (("sinus", "sinus rhythm"), ("af", "AF"))),
        "nyha": _Input("NYHA class", nyha, _NYHA),
        "on_omt": _Input("whether LVEF was measured despite optimal medical therapy", on_omt,
                         ((True, "on optimal medical therapy"), (False, "not yet on optimal medical therapy"))),
        "av_block": _Input("whether there is an indication for ventricular pacing for high-degree AV block",
                           av_block_pacing_indication,
                           ((True, "AV-block pacing indication"), (False, "no AV-block pacing indication"))),
        "device": _Input("whether a pacemaker or ICD with a significant proportion of RV pacing and worsening HF is present",
                         existing_device_rv_pacing,
                         ((True, "pacemaker/ICD with significant RV pacing"), (False, "no pacemaker/ICD with RV pacing"))),
    }

    def core(lvef: float, qrs_ms: float, lbbb: bool, rhythm: str, nyha: int, on_omt: bool, av_block: bool,
             device: bool) -> list[_Rec]:
        out: list[_Rec] = []
        if av_block and lvef <= HFREF_LVEF_MAX:
            out.append(("crt_av_block", *CRT_AV_BLOCK))
        if device and lvef <= CRT_LVEF_MAX:
            out.append(("crt_upgrade", *CRT_UPGRADE))
        if lvef > CRT_LVEF_MAX or nyha < 2 or not on_omt:
            return out
        if rhythm == "af":
            if not av_block:
                out.append(("crt_af_not_covered", CRT_AF_NOT_COVERED, None, None))
            return out
        band = _qrs_band(qrs_ms)
        if band == "<130" and av_block:
            return out
        cls, loe = CRT_SINUS[(band, lbbb)]
        out.append((_sinus_code(band, lbbb), f"CRT {_VERB[cls]}: symptomatic HF in sinus rhythm, LVEF ≤35 % despite OMT, "
                                             f"QRS {band} ms, {_morphology(band, lbbb)}", cls, loe))
        return out

    facts = _facts([(lvef, f"LVEF {lvef:g} %" if lvef is not None else ""),
                    (qrs_ms, f"QRS {qrs_ms:g} ms" if qrs_ms is not None else ""),
                    (lbbb, "LBBB" if lbbb else "non-LBBB"), (rhythm, "AF" if rhythm == "af" else "sinus rhythm"),
                    (nyha, f"NYHA {_ROMAN.get(nyha, '')}"),
                    (on_omt, "on optimal medical therapy" if on_omt else "not yet on optimal medical therapy"),
                    (av_block_pacing_indication, "AV-block pacing indication" if av_block_pacing_indication
                     else "no AV-block pacing indication"),
                    (existing_device_rv_pacing, "pacemaker/ICD with significant RV pacing" if existing_device_rv_pacing
                     else "no pacemaker/ICD with RV pacing")])
    inputs = {k: x for k, x in {"lvef": lvef, "qrs_ms": qrs_ms, "lbbb": lbbb, "rhythm": rhythm, "nyha": nyha,
                                "on_omt": on_omt, "av_block_pacing_indication": av_block_pacing_indication,
                                "existing_device_rv_pacing": existing_device_rv_pacing}.items() if x is not None}
    return _assess("crt_indication", v.rule_name(crt_indication), CITATION_CRT, "CRT", core, ins, facts, inputs)

"""Device indications: primary-prevention ICD and CRT (ESC 2021 heart failure guideline).

Only the recommendations verified against the guideline text (✅P, clinical_reference.md
§5: McDonagh TA et al., Eur Heart J 2021;42:3599–3726, sections 6.1 and 6.2,
doi:10.1093/eurheartj/ehab368) are encoded, each as data with its class and level of
evidence. Not covered (not verified here): CRT in permanent AF without an AV-block pacing
indication, the 2023 focused update, and the ESC 2021 pacing guideline (Glikson M et al.,
Eur Heart J 2021;42:3427–3520, doi:10.1093/eurheartj/ehab364) — the functions say so in a
class-less Recommendation rather than guess.
"""

from __future__ import annotations

from heartprint.clinical import _validate as v
from heartprint.measure import Recommendation

__all__ = ["crt_indication", "icd_primary_prevention"]

CITATION_ICD = ("McDonagh TA, et al. 2021 ESC Guidelines for the diagnosis and treatment of acute and chronic heart "
                "failure. Eur Heart J 2021;42:3599-3726, section 6.1 (ICD). doi:10.1093/eurheartj/ehab368")
CITATION_CRT = ("McDonagh TA, et al. 2021 ESC Guidelines for the diagnosis and treatment of acute and chronic heart "
                "failure. Eur Heart J 2021;42:3599-3726, section 6.2 (CRT). doi:10.1093/eurheartj/ehab368")

#: ICD recommendations (✅P): key → (action, class, level).
ICD_RECOMMENDATIONS: dict[str, tuple[str, str, str]] = {
    "ischaemic": ("ICD for primary prevention (ischaemic aetiology): symptomatic HF (NYHA II–III), LVEF ≤35 % despite "
                  "≥3 months of OMT, not within 40 days of MI, expected survival substantially >1 year with good "
                  "functional status", "I", "A"),
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
HFREF_LVEF_MAX = 40.0  # ESC 2021 Table 3 (✅P)


def icd_primary_prevention(
    lvef: float,
    *,
    nyha: int,
    aetiology: str,
    omt_months: float,
    days_since_mi: int | None = None,
    advanced_therapy_candidate: bool = False,
) -> list[Recommendation]:
    """Primary-prevention ICD recommendations (ESC 2021 HF guideline, section 6.1).

    Parameters
    ----------
    lvef
        LVEF, % (on optimal medical therapy).
    nyha
        NYHA class 1–4.
    aetiology
        ``"ischaemic"`` or ``"non-ischaemic"``.
    omt_months
        Duration of optimal medical therapy, months.
    days_since_mi
        Days since the most recent myocardial infarction (``None``: no recent MI).
    advanced_therapy_candidate
        Candidate for CRT, VAD or transplantation (lifts the NYHA IV contraindication).

    Returns
    -------
    list of Recommendation
        Possibly empty (no ICD recommendation applies, e.g. LVEF >35 % or OMT <3 months:
        re-assess after ≥3 months of OMT). Class III recommendations (within 40 days of MI;
        refractory NYHA IV) are returned as such.
    """
    lvef = v.number("lvef", lvef, 0, 100, unit="%")
    nyha = v.integer("nyha", nyha, 1, 4)
    aetiology = v.choice("aetiology", aetiology, ("ischaemic", "non-ischaemic"))
    omt_months = v.number("omt_months", omt_months, 0, 600, unit="months")
    if days_since_mi is not None:
        days_since_mi = v.integer("days_since_mi", days_since_mi, 0, 100000)
    advanced_therapy_candidate = bool(v.flag("advanced_therapy_candidate", advanced_therapy_candidate))

    def rec(key: str, rationale: str) -> Recommendation:
        action, cls, loe = ICD_RECOMMENDATIONS[key]
        return Recommendation(code=f"icd_primary_{key}", action=action, recommendation_class=cls, level_of_evidence=loe,
                              citation=CITATION_ICD, rationale=rationale)

    facts = f"LVEF {lvef:g} %, NYHA {nyha}, {aetiology}, OMT {omt_months:g} months" + (
        f", {days_since_mi} days after MI" if days_since_mi is not None else "")
    if days_since_mi is not None and days_since_mi < ICD_DAYS_AFTER_MI:
        return [rec("early_post_mi", facts)]
    if nyha == 4 and not advanced_therapy_candidate:
        return [rec("nyha_iv", facts)]
    if lvef <= ICD_LVEF_MAX and nyha in (2, 3) and omt_months >= ICD_OMT_MONTHS:
        return [rec("ischaemic" if aetiology == "ischaemic" else "non_ischaemic", facts)]
    return []


def _qrs_band(qrs_ms: float) -> str:
    return "≥150" if qrs_ms >= 150 else "130-149" if qrs_ms >= 130 else "<130"


def crt_indication(
    lvef: float,
    *,
    qrs_ms: float,
    lbbb: bool,
    rhythm: str,
    nyha: int,
    on_omt: bool = True,
    av_block_pacing_indication: bool = False,
    existing_device_rv_pacing: bool = False,
) -> list[Recommendation]:
    """CRT recommendations (ESC 2021 HF guideline, section 6.2).

    Parameters
    ----------
    lvef
        LVEF, %.
    qrs_ms
        QRS duration, ms (bands ≥150, 130–149, <130).
    lbbb
        Left bundle branch block morphology.
    rhythm
        ``"sinus"`` or ``"af"``.
    nyha
        NYHA class 1–4 (symptomatic = II–IV).
    on_omt
        LVEF measured despite optimal medical therapy.
    av_block_pacing_indication
        Indication for ventricular pacing for high-degree AV block.
    existing_device_rv_pacing
        Conventional pacemaker/ICD with a significant proportion of RV pacing and worsening HF.

    Returns
    -------
    list of Recommendation
        Each with class and level of evidence; a class-less recommendation says when the
        case (AF without an AV-block pacing indication) is outside the verified tables.
    """
    lvef = v.number("lvef", lvef, 0, 100, unit="%")
    qrs_ms = v.number("qrs_ms", qrs_ms, 40, 300, unit="ms")
    lbbb = bool(v.flag("lbbb", lbbb))
    rhythm = v.choice("rhythm", rhythm, ("sinus", "af"))
    nyha = v.integer("nyha", nyha, 1, 4)
    on_omt = bool(v.flag("on_omt", on_omt))
    av_block_pacing_indication = bool(v.flag("av_block_pacing_indication", av_block_pacing_indication))
    existing_device_rv_pacing = bool(v.flag("existing_device_rv_pacing", existing_device_rv_pacing))
    facts = f"LVEF {lvef:g} %, QRS {qrs_ms:g} ms {'LBBB' if lbbb else 'non-LBBB'}, {rhythm}, NYHA {nyha}"
    out: list[Recommendation] = []
    if av_block_pacing_indication and lvef <= HFREF_LVEF_MAX:
        action, cls, loe = CRT_AV_BLOCK
        out.append(Recommendation(code="crt_av_block", action=action, recommendation_class=cls, level_of_evidence=loe,
                                  citation=CITATION_CRT, rationale=facts))
    if existing_device_rv_pacing and lvef <= CRT_LVEF_MAX:
        action, cls, loe = CRT_UPGRADE
        out.append(Recommendation(code="crt_upgrade", action=action, recommendation_class=cls, level_of_evidence=loe,
                                  citation=CITATION_CRT, rationale=facts))
    if lvef > CRT_LVEF_MAX or nyha < 2 or not on_omt:
        return out
    if rhythm == "af":
        if not av_block_pacing_indication:
            out.append(Recommendation(code="crt_af_not_covered",
                                      action="CRT in AF without an AV-block pacing indication: not covered by heartprint's "
                                             "verified tables; see ESC 2021 HF guideline section 6.2 and the ESC 2021 pacing guideline",
                                      citation=CITATION_CRT, rationale=facts))
        return out
    band = _qrs_band(qrs_ms)
    cls, loe = CRT_SINUS[(band, lbbb)]
    if band == "<130" and av_block_pacing_indication:
        return out
    morph = "LBBB" if lbbb else "non-LBBB"
    verb = {"I": "is recommended", "IIa": "should be considered", "IIb": "may be considered", "III": "is not recommended"}[cls]
    out.append(Recommendation(
        code=f"crt_sinus_qrs_{'ge150' if band == '≥150' else '130_149' if band == '130-149' else 'lt130'}_{'lbbb' if lbbb else 'non_lbbb'}",
        action=f"CRT {verb}: symptomatic HF in sinus rhythm, LVEF ≤35 % despite OMT, QRS {band} ms, {morph}",
        recommendation_class=cls, level_of_evidence=loe, citation=CITATION_CRT, rationale=facts))
    return out

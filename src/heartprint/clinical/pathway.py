"""Diagnostic pathway: the next most informative test, and treatment-relevant conclusions.

Reads the findings of the rules, the multimodality reconciliation and the aetiology
differential; it derives nothing from raw numbers that a rule already decides.

Chronic coronary syndrome (ESC 2024 CCS, Vrints C et al., Eur Heart J 2024;45:3415–3537,
doi:10.1093/eurheartj/ehae177):

* no coronary test yet → by the RF-CL clinical likelihood (Rec. Table 3, ✅P for the first
  two rows): very low ≤5 % → consider deferring testing (IIa B); low >5–15 % → consider
  CACS to reclassify (IIa B); >5–50 % → CCTA; >50–85 % → functional imaging; >85 % → ICA.
  The CCTA / functional / ICA rows and their classes are **⚠M** (not checked against the
  recommendation table): classes are left empty.
* after CCTA: CAD-RADS 3–4A → functional imaging or CT-FFR; 4B / 5 → ICA (CAD-RADS 2.0
  management text, via :func:`heartprint.clinical.cad_rads`).
* after functional imaging: high-risk ischaemia (≥10 % LV, or ≥2/16 CMR perfusion-defect
  segments, Rec. Table 14, ✅P) → ICA.
* per vessel: a haemodynamically significant stenosis → revascularisation to consider
  (with the viability caveat when the territory's LGE is >50 % transmural); a stenosis
  shown not significant → revascularisation not indicated for that lesion (FFR >0.80).

Heart failure: device rules (:func:`heartprint.clinical.icd_primary_prevention`,
:func:`heartprint.clinical.crt_indication`) run only once symptoms ± signs of HF (or NYHA I)
are given, with every fact not given passed as unknown (aetiology is "non-ischaemic" only
with every main coronary artery assessed); their recommendations are those that hold whatever
the unknowns are, with their class, and a ``not_assessable`` finding names what would settle
the rest. Specific therapy follows the aetiology: suspected amyloid → bone scintigraphy with
serum/urine light-chain tests, and tafamidis for ATTR-CM (class I per the issue / memory,
**⚠M**: ESC 2021 HF and 2023 cardiomyopathy guidelines, not checked against the text).

Missing data never produce a guess: the result is a ``not_assessable`` finding naming what
is needed.
"""

from __future__ import annotations

from typing import Any

from heartprint.errors import HeartprintError
from heartprint.measure import Finding, Recommendation

__all__ = ["plan"]

CCS_2024 = ("Vrints C et al. 2024 ESC Guidelines for the management of chronic coronary syndromes. "
            "Eur Heart J 2024;45:3415-3537. doi:10.1093/eurheartj/ehae177")
CMP_2023 = ("Arbelo E et al. 2023 ESC Guidelines for the management of cardiomyopathies. Eur Heart J "
            "2023;44:3503-3626. doi:10.1093/eurheartj/ehad194")
HF_2021 = ("McDonagh TA et al. 2021 ESC Guidelines for heart failure. Eur Heart J 2021;42:3599-3726. "
           "doi:10.1093/eurheartj/ehab368")
REVASC_2018 = ("Neumann FJ, Sousa-Uva M et al. 2018 ESC/EACTS Guidelines on myocardial revascularization. "
               "Eur Heart J 2019;40:87-165. doi:10.1093/eurheartj/ehy394")
_RULE = "heartprint.clinical.pathway.plan"


def _first(findings: list[Finding], *, code: str | None = None, prefix: str | None = None, rule: str | None = None,
           status: str | None = None) -> Finding | None:
    for f in findings:
        if code and f.code != code:
            continue
        if prefix and not f.code.startswith(prefix):
            continue
        if rule and f.rule.split(".")[-1] != rule:
            continue
        if status and f.status != status:
            continue
        return f
    return None


def _cad(ph: Any, findings: list[Finding], recs: list[Recommendation], out: list[Finding]) -> None:
    has_anatomy = bool(ph.regional("stenosis")) or ph.latest("cac_agatston") is not None
    has_function = bool(ph.regional("perfusion_stress_score") or ph.regional("perfusion_defect")
                        or ph.regional("ffr") or ph.regional("ct_ffr"))
    # suspected CCS needs chest pain or dyspnoea given as present; unknown symptoms give no next-test
    # suggestion (and no claim either way)
    symptomatic = ph.facts.chest_pain not in (None, "none") or ph.facts.dyspnoea is True
    cadrads = _first(findings, prefix="cad_rads_")
    high_risk = [f for f in findings if f.code in ("ischaemia_high_risk", "cmr_perfusion_high_risk") and f.status == "present"]

    if high_risk:
        recs.append(Recommendation(
            code="ica_for_high_risk_ischaemia", action="Invasive coronary angiography (high-risk ischaemia on functional imaging)",
            citation=f"{CCS_2024}, Rec. Table 14 (high event risk definitions, ✅P); ICA recommendation class ⚠M",
            findings=[f.code for f in high_risk], rationale="; ".join(f.statement for f in high_risk)))
    if cadrads is not None:
        cat = cadrads.details.get("category")
        if cat in ("3", "4A") and not has_function:
            recs.append(Recommendation(
                code="functional_test_after_ccta", action="Functional imaging (stress perfusion SPECT/PET/CMR or stress echo) or CT-FFR",
                citation=f"CAD-RADS 2.0 management ({cadrads.citation}); {CCS_2024}",
                findings=[cadrads.code], rationale=f"{cadrads.statement}; management: {cadrads.details.get('management')}"))
        elif cat in ("4B", "5"):
            recs.append(Recommendation(
                code="ica_after_ccta", action="Invasive coronary angiography",
                citation=f"CAD-RADS 2.0 management ({cadrads.citation}); {CCS_2024}",
                findings=[cadrads.code], rationale=f"{cadrads.statement}; management: {cadrads.details.get('management')}"))
    if symptomatic and not has_anatomy and not has_function:
        cl = _first(findings, code="clinical_likelihood_esc2024") or _first(findings, rule="likelihood_esc2024")
        if cl is None or cl.status == "not_assessable":
            out.append(Finding(
                code="next_test_cad", status="not_assessable", rule=_RULE, citation=CCS_2024,
                statement="Next test for suspected CCS not assessable: needs the ESC 2024 clinical likelihood "
                          "(age 30–80, sex, chest-pain type or dyspnoea, and the five risk factors)",
                missing=cl.missing if cl is not None and cl.missing else ["age", "sex", "symptoms", "risk factors"],
                inputs=cl.inputs if cl is not None else {}))
        else:
            pct = float(cl.details.get("percent", 0))
            if pct <= 5:
                rec = ("defer_testing", "Consider deferring diagnostic testing (very low clinical likelihood ≤5 %)", "IIa", "B",
                       "Rec. Table 3 (✅P)")
            elif pct <= 50:
                rec = ("ccta", "Coronary CT angiography (low–moderate clinical likelihood >5–50 %)"
                       + ("; CACS may reclassify a low (>5–15 %) likelihood (IIa B)" if pct <= 15 else ""), None, None,
                       "CCTA for >5–50 % ⚠M (class not verified)")
            elif pct <= 85:
                rec = ("functional_imaging", "Functional imaging (stress SPECT/PET, stress CMR or stress echo) "
                       "(high clinical likelihood >50–85 %)", None, None, "⚠M (class not verified)")
            else:
                rec = ("ica", "Invasive coronary angiography (very high clinical likelihood >85 %)", None, None,
                       "⚠M (class not verified)")
            recs.append(Recommendation(code=f"next_test_{rec[0]}", action=rec[1], recommendation_class=rec[2],
                                       level_of_evidence=rec[3], citation=f"{CCS_2024}; {rec[4]}", findings=[cl.code],
                                       rationale=cl.statement))

    for f in findings:
        if not f.code.startswith("significant_stenosis_"):
            continue
        vessel = f.details.get("vessel", "?")
        if f.status == "present":
            terr = set(f.details.get("territories", []))
            lge = _first(findings, code="lge_ischaemic_pattern")
            nonviable = []
            if lge is not None:
                from heartprint.anatomy.territories import SEGMENT_TERRITORY

                nonviable = [s for s in lge.details.get("segments_transmurality_gt50", []) if SEGMENT_TERRITORY[s] in terr]
            caveat = (f"; LGE >50 % transmural in segments {nonviable} of this territory: low likelihood of functional "
                      "recovery there (⚠M, Kim RJ NEJM 2000)") if nonviable else ""
            recs.append(Recommendation(
                code=f"consider_revascularisation_{vessel.lower()}",
                action=f"Consider revascularisation of the {vessel} (haemodynamically significant stenosis){caveat}",
                citation=f"{REVASC_2018}; {CCS_2024}", findings=[f.code], rationale=f.statement))
        elif f.status == "absent":
            recs.append(Recommendation(
                code=f"no_revascularisation_{vessel.lower()}",
                action=f"Revascularisation of the {vessel} lesion not indicated by physiology; medical therapy",
                citation=f"{REVASC_2018} (deferral when FFR >0.80); {CCS_2024}", findings=[f.code], rationale=f.statement))
        else:
            recs.append(Recommendation(
                code=f"assess_physiology_{vessel.lower()}",
                action=f"Assess the {vessel} stenosis functionally: invasive FFR / CT-FFR or stress perfusion imaging",
                citation=f"{CCS_2024}; {REVASC_2018}", findings=[f.code], rationale=f.statement))


def _q(m: Any) -> dict[str, Any] | None:
    if m is None:
        return None
    return {"value": round(m.value, 4), "unit": m.unit, "source": m.source, **({"modality": m.modality} if m.modality else {})}


#: Plain names of the device rules' parameters, as the pathway fills them from the patient facts.
_DEVICE_NEEDS = {
    "lvef": "LVEF", "nyha": "NYHA class",
    "aetiology": "aetiology (ischaemic vs non-ischaemic; non-ischaemic needs coronary assessment)",
    "omt_months": "months of optimal medical therapy", "on_omt": "months of optimal medical therapy",
    "recent_mi": "days since myocardial infarction (or no prior MI)",
    "advanced": "whether the patient is a candidate for CRT, VAD or cardiac transplantation",
    "qrs_ms": "QRS duration", "lbbb": "QRS morphology", "rhythm": "rhythm (sinus/AF)",
    "av_block": "pacing indication for high-degree AV block",
    "device": "whether a pacemaker or ICD with a significant proportion of RV pacing and worsening HF is present",
}
_SYMPTOMS = "symptoms ± signs of heart failure (NYHA class)"


def _devices(ph: Any, diff: list[Finding], recs: list[Recommendation], out: list[Finding]) -> None:
    """ICD / CRT by the device rules (ESC 2021 HF 6.1/6.2), fed with the aetiology from the differential.

    Nothing is assumed: a fact not given is passed as unknown, and the rules return only the
    recommendations that hold whatever it is. No device rule runs before symptoms ± signs of HF
    (or their absence, NYHA I) are given: HFrEF needs them (ESC 2021 Table 3).
    """
    from heartprint.clinical.aetiology import coronary_anatomy_complete
    from heartprint.clinical.devices import HFREF_LVEF_MAX, crt_indication, icd_primary_prevention

    lvef = ph.latest("lv_ef")
    if lvef is None or lvef.value > HFREF_LVEF_MAX:  # every device recommendation needs LVEF ≤40 % (≤35 % most)
        return
    f = ph.facts
    isch = next((d for d in diff if d.code == "aetiology_ischaemic"), None)
    # "non-ischaemic" needs every main coronary artery assessed, not only an LGE pattern or one vessel
    aet = None
    if isch is not None and isch.status == "present":
        aet = "ischaemic"
    elif isch is not None and isch.status == "absent" and coronary_anatomy_complete(ph):
        aet = "non-ischaemic"
    qrs_m = ph.latest("qrs_duration")
    qrs = f.qrs_ms if f.qrs_ms is not None else (qrs_m.value if qrs_m is not None else None)
    inputs = {"lv_ef": _q(lvef), "nyha": {"value": f.nyha, "source": "entered"},
              "months_omt": {"value": f.months_omt, "source": "entered"},
              "aetiology": {"value": aet, "source": "heartprint.clinical.aetiology.differential"},
              "qrs_duration": _q(qrs_m) if qrs_m is not None else ({"value": qrs, "unit": "ms", "source": "entered"}
                                                                    if qrs is not None else None),
              "qrs_morphology": {"value": f.qrs_morphology, "source": "entered"},
              "rhythm": {"value": f.rhythm, "source": "entered"},
              "days_since_mi": {"value": f.days_since_mi, "source": "entered"},
              "prior_mi": {"value": f.prior_mi, "source": "entered"},
              "pacing_indication": {"value": f.pacing_indication, "source": "entered"},
              "symptoms": {"value": f.symptomatic, "source": "entered"}}
    specs = (
        ("icd_primary_prevention", "ICD (primary prevention)",
         ("lv_ef", "symptoms", "nyha", "months_omt", "aetiology", "days_since_mi", "prior_mi"),
         lambda: icd_primary_prevention(
             lvef.value, nyha=f.nyha, aetiology=aet, omt_months=f.months_omt,
             days_since_mi=None if f.days_since_mi is None else int(f.days_since_mi), prior_mi=f.prior_mi,
             advanced_therapy_candidate=None)),
        ("crt_indication", "CRT",
         ("lv_ef", "symptoms", "qrs_duration", "qrs_morphology", "rhythm", "nyha", "months_omt", "pacing_indication"),
         lambda: crt_indication(
             lvef.value, qrs_ms=qrs, lbbb=None if f.qrs_morphology is None else f.qrs_morphology == "lbbb",
             rhythm=f.rhythm, nyha=f.nyha, on_omt=None if f.months_omt is None else f.months_omt >= 3,
             av_block_pacing_indication=f.pacing_indication, existing_device_rv_pacing=None)),
    )
    for rule, label, input_keys, run in specs:
        ins = {k: inputs[k] for k in input_keys if inputs.get(k) is not None and
               (not isinstance(inputs[k], dict) or inputs[k].get("value") is not None)}
        code = f"{rule}_assessment"
        if f.symptomatic is None:
            out.append(Finding(code=code, status="not_assessable", rule=f"heartprint.clinical.devices.{rule}", citation=HF_2021,
                               statement=f"{label} eligibility not assessable: needs {_SYMPTOMS}", missing=[_SYMPTOMS],
                               inputs=ins))
            continue
        try:
            result = run()
        except HeartprintError as exc:  # a rule's input check — reported, never guessed
            out.append(Finding(code=code, status="not_assessable", rule=f"heartprint.clinical.devices.{rule}", citation=HF_2021,
                               statement=f"{label} eligibility not assessable: {exc}", missing=[str(exc)], inputs=ins))
            continue
        finding = result.findings[0]
        params = finding.details.get("missing_parameters", [])
        missing = list(dict.fromkeys(_DEVICE_NEEDS.get(p, p) for p in params)) or list(finding.missing)
        statement = finding.statement
        if finding.status == "not_assessable" and params:
            statement = f"{label} eligibility not assessable: needs {', '.join(missing)}" + (
                f"; whatever they are: {finding.details['whatever_the_unknowns']}"
                if "whatever_the_unknowns" in finding.details else "")
        out.append(finding.model_copy(update={"code": code, "inputs": ins, "missing": missing, "statement": statement}))
        for r in result.recommendations:
            recs.append(r.model_copy(update={"findings": list(r.findings) + [code]}))


def _hf(ph: Any, findings: list[Finding], diff: list[Finding], recs: list[Recommendation], out: list[Finding]) -> None:
    _devices(ph, diff, recs, out)
    by = {f.code: f for f in diff}
    amy = by.get("aetiology_amyloid")
    if amy is not None and amy.status == "present":
        recs.append(Recommendation(
            code="amyloid_workup", action="Suspected cardiac amyloidosis: bone scintigraphy (DPD/PYP/HMDP) with serum and urine "
                                          "immunofixation and serum free light chains to separate ATTR from AL",
            citation=f"{CMP_2023} (amyloidosis diagnostic algorithm; class ⚠M)", findings=[amy.code], rationale=amy.statement))
        recs.append(Recommendation(
            code="tafamidis_if_attr_cm", action="If ATTR cardiomyopathy is confirmed: tafamidis (to reduce symptoms, CV "
                                                "hospitalisation and mortality)",
            recommendation_class="I", citation=f"{CMP_2023}; {HF_2021}", findings=[amy.code],
            rationale="Conditional on ATTR-CM confirmation; class I as stated in the issue, ⚠M (not checked against the "
                      "guideline text)"))
    iron = by.get("aetiology_iron_overload")
    if iron is not None and iron.status == "present":
        recs.append(Recommendation(code="iron_chelation_review", action="Myocardial iron: review iron-chelation therapy with "
                                   "haematology; repeat T2* to monitor", citation="T2* <20 ms myocardial iron (Anderson LJ et al., "
                                   "Eur Heart J 2001;22:2171; ⚠M); management ⚠M", findings=[iron.code], rationale=iron.statement))
    hcm = by.get("aetiology_hypertrophic")
    if hcm is not None and hcm.status == "present":
        recs.append(Recommendation(code="hcm_scd_risk", action="HCM: estimate 5-year SCD risk (HCM Risk-SCD) and offer family "
                                   "screening", citation=f"{CMP_2023} (class ⚠M)", findings=[hcm.code], rationale=hcm.statement))
    myo = by.get("aetiology_myocarditis")
    if myo is not None and myo.status == "present":
        recs.append(Recommendation(code="myocarditis_followup", action="Myocarditis on CMR: clinical follow-up and repeat CMR; "
                                   "consider endomyocardial biopsy if severe or unexplained (⚠M)",
                                   citation="2025 ESC myocarditis and pericarditis guidelines, doi:10.1093/eurheartj/ehaf192 (class ⚠M)",
                                   findings=[myo.code], rationale=myo.statement))
    sar = by.get("aetiology_sarcoid")
    if sar is not None and sar.status == "present":
        recs.append(Recommendation(code="sarcoid_fdg_pet", action="Suspected cardiac sarcoidosis: FDG-PET (⚠M)", citation=f"{CMP_2023} ⚠M",
                                   findings=[sar.code], rationale=sar.statement))
    lvef = ph.latest("lv_ef")
    if lvef is not None and lvef.value < 50 and not ph.regional("lge_transmurality") and not any(
            m.code in ("native_t1", "ecv", "t2star", "t2") for m in ph.measurements):
        recs.append(Recommendation(code="cmr_for_aetiology", action="CMR with LGE (and T1/T2/T2* mapping) to establish the aetiology "
                                   "of LV dysfunction", citation=f"{HF_2021} (CMR for aetiology; class ⚠M)", findings=[],
                                   rationale=f"LVEF {lvef.value:.0f} % without tissue characterisation"))
    if lvef is not None and lvef.value < 50 and not ph.regional("stenosis") and not ph.regional("perfusion_stress_score") \
            and not ph.regional("perfusion_defect"):
        recs.append(Recommendation(code="coronary_assessment_for_lv_dysfunction", action="Assess the coronary arteries (CCTA or ICA) "
                                   "to exclude an ischaemic cause of LV dysfunction", citation=f"{HF_2021} (class ⚠M)", findings=[],
                                   rationale=f"LVEF {lvef.value:.0f} % with no coronary or ischaemia data"))
    if lvef is None and (ph.facts.nyha or ph.facts.dyspnoea):
        out.append(Finding(code="hf_type_needs_lvef", status="not_assessable", rule=_RULE, citation=HF_2021,
                           statement="HF type not assessable: needs LVEF (echo, CMR, CT or nuclear)", missing=["lv_ef"]))


def plan(phenotype: Any, findings: list[Finding], differential: list[Finding]) -> tuple[list[Recommendation], list[Finding]]:
    """Recommendations (next test, revascularisation, devices, specific therapy) and pathway findings."""
    recs: list[Recommendation] = []
    out: list[Finding] = []
    _cad(phenotype, findings, recs, out)
    _hf(phenotype, findings, differential, recs, out)
    seen: set[str] = set()
    unique = []
    for r in recs:
        if r.code not in seen:
            seen.add(r.code)
            unique.append(r)
    return unique, out

"""Interpret a phenotype: run every applicable rule, reconcile modalities, rank aetiologies, plan.

:func:`interpret` is the one entry point (the CLI ``heartprint interpret`` and the pipeline
call it). It

1. runs each guideline rule of :mod:`heartprint.clinical` whose domain the phenotype touches
   (pre-test probability, CAD-RADS, calcium, ischaemic burden, HF type, HFpEF scores,
   diastolic function, tissue rules), calling it only through its declaration in
   :data:`heartprint.clinical._registry.RULES` (parameter → concept code or patient fact).
   A rule whose required inputs are absent gives a ``not_assessable`` finding naming them
   (the concept's plain name); a rule whose module is not installed yet is listed the same
   way — never guessed. The device rules run in :mod:`~heartprint.clinical.pathway`;
2. reconciles modalities per vessel and segment (:mod:`~heartprint.clinical.multimodality`);
3. ranks the heart-failure aetiologies (:mod:`~heartprint.clinical.aetiology`);
4. proposes the next test and treatment-relevant conclusions (:mod:`~heartprint.clinical.pathway`).

Every finding carries the measurements it came from (``inputs``) and its citation.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

from heartprint import DISCLAIMER
from heartprint.clinical import _registry
from heartprint.clinical._registry import provenance as _inp
from heartprint.errors import HeartprintError
from heartprint.measure import Finding, Measurement, Recommendation

__all__ = ["INTERPRETATION_SCHEMA", "Interpretation", "interpret", "run_rules", "with_reference_ranges"]

INTERPRETATION_SCHEMA = "heartprint.interpretation/1"


def _na(code: str, statement: str, rule: str, citation: str, missing: list[str], inputs: dict[str, Any] | None = None,
        details: dict[str, Any] | None = None) -> Finding:
    return Finding(code=code, statement=statement, status="not_assessable", rule=rule, citation=citation,
                   inputs=inputs or {}, missing=missing, details=details or {})


def _as_findings(result: Any) -> list[Finding]:
    if result is None:
        return []
    if isinstance(result, Finding):
        return [result]
    if isinstance(result, (list, tuple)):
        return [f for r in result for f in _as_findings(r)]
    if hasattr(result, "finding"):
        return _as_findings(result.finding())
    if hasattr(result, "findings"):
        return _as_findings(result.findings)
    return []


def _with_inputs(f: Finding, inputs: dict[str, Any]) -> Finding:
    """Attach the measurement provenance (value, unit, source) to a rule's finding."""
    merged = {**{k: v for k, v in inputs.items() if v is not None}, **{k: v for k, v in f.inputs.items() if k not in inputs}}
    return f.model_copy(update={"inputs": merged})


def _rule(name: str) -> Callable[..., Any] | None:
    clinical = importlib.import_module("heartprint.clinical")
    try:
        return getattr(clinical, name)
    except (AttributeError, ImportError):
        return None


# -- explicit adapters for rules whose inputs need shaping --------------------------------------

_PTP_PAIN = {"typical": "typical", "atypical": "atypical", "non_anginal": "non-anginal", "none": None}


def _ptp(ph: Any) -> list[Finding]:
    f = ph.facts
    if f.chest_pain is None and not f.dyspnoea:
        return []
    out: list[Finding] = []
    missing = [n for n, v in (("age", f.age), ("sex", f.sex)) if v is None]
    pain = _PTP_PAIN.get(f.chest_pain) if f.chest_pain else None
    base_inputs = {"age": _inp(ph.latest("age")), "sex": {"value": f.sex, "source": "entered"},
                   "chest_pain": {"value": f.chest_pain, "source": "entered"},
                   "dyspnoea": {"value": bool(f.dyspnoea), "source": "entered"}}
    rf = f.risk_factors.count()
    for name, needs_rf in (("likelihood_esc2024", True), ("ptp_esc2019", False)):
        func = _rule(name)
        miss = missing + (["risk factors (family history, smoking, dyslipidaemia, hypertension, diabetes)"] if needs_rf and rf is None else [])
        code = "clinical_likelihood_esc2024" if needs_rf else "ptp_esc2019"
        if func is None or miss:
            out.append(_na(code, f"{'ESC 2024 clinical likelihood' if needs_rf else 'ESC 2019 pre-test probability'} "
                                 f"not assessable: needs {', '.join(miss) or 'the rule module'}",
                           f"heartprint.clinical.ptp.{name}", "ESC CCS 2024 / 2019", miss or ["heartprint.clinical.ptp"]))
            continue
        try:
            res = func(f.age, f.sex, pain, bool(f.dyspnoea), rf) if needs_rf else func(f.age, f.sex, pain, bool(f.dyspnoea))
        except HeartprintError as exc:
            out.append(_na(code, f"not assessable: {exc}", f"heartprint.clinical.ptp.{name}", "ESC CCS 2024 / 2019",
                           [str(exc)], base_inputs))
            continue
        inputs = dict(base_inputs)
        if needs_rf:
            inputs["risk_factors"] = {"value": rf, "source": "entered", "items": f.risk_factors.model_dump()}
        out += [_with_inputs(x, inputs) for x in _as_findings(res)]
    return out


def _cadrads(ph: Any) -> list[Finding]:
    sten = [m for m in ph.regional("stenosis") if m.modality in (None, "CT")]
    cac = ph.latest("cac_agatston")
    out: list[Finding] = []
    if sten:
        func = _rule("cad_rads")
        prefix = {"proximal": "p", "mid": "m", "distal": "d"}
        stenoses: dict[str, float] = {}
        for m in sten:
            key = m.vessel if m.vessel == "LM" or m.vessel_segment is None else prefix[m.vessel_segment] + m.vessel
            stenoses[key] = max(stenoses.get(key, 0.0), m.value)
        if func is not None:
            try:
                res = func(stenoses, cac=cac.value if cac else None)
                inputs = {f"stenosis_{m.vessel}{'_' + m.vessel_segment if m.vessel_segment else ''}": _inp(m) for m in sten}
                if cac:
                    inputs["cac_agatston"] = _inp(cac)
                out += [_with_inputs(x, inputs) for x in _as_findings(res)]
            except HeartprintError as exc:
                out.append(_na("cad_rads", f"CAD-RADS not assessable: {exc}", "heartprint.clinical.cadrads.cad_rads",
                               "CAD-RADS 2.0", [str(exc)]))
    if cac is not None and _rule("agatston_category") is not None:
        out += [_with_inputs(x, {"cac_agatston": _inp(cac)}) for x in _as_findings(_rule("agatston_category")(cac.value))]
    return out


def _ischaemia(ph: Any) -> list[Finding]:
    stress = {m.segment: m for m in ph.regional("perfusion_stress_score")}
    rest = {m.segment: m for m in ph.regional("perfusion_rest_score")}
    out: list[Finding] = []
    if stress:
        if len(stress) < 17:
            out.append(_na("ischaemic_burden", "Ischaemic burden not assessable: needs stress scores for all 17 AHA segments "
                                               f"(have {sorted(stress)})", "heartprint.clinical.ischaemia.ischaemic_burden",
                           "ESC 2024 CCS Rec. Table 14", [f"stress score, segment {s}" for s in range(1, 18) if s not in stress]))
        else:
            s = {k: int(round(m.value)) for k, m in stress.items()}
            inputs = {f"stress_score_{k}": _inp(m) for k, m in sorted(stress.items())}
            if len(rest) == 17:
                r = {k: int(round(m.value)) for k, m in rest.items()}
                inputs.update({f"rest_score_{k}": _inp(m) for k, m in sorted(rest.items())})
                res = _rule("ischaemic_burden")(s, r)
            else:
                res = _rule("summed_scores")(s, None)
            out += [_with_inputs(x, inputs) for x in _as_findings(res)]
    cmr = [m for m in ph.regional("perfusion_defect")]
    if cmr:
        n = sum(1 for m in cmr if m.value >= 1 and m.segment != 17)
        out.append(Finding(
            code="cmr_perfusion_high_risk", status="present" if n >= 2 else "absent",
            statement=f"Stress CMR: {n} of 16 segments with a perfusion defect "
                      f"({'≥2: high-risk ischaemia' if n >= 2 else '<2: not high-risk'})",
            rule="heartprint.clinical.interpret._ischaemia",
            citation="ESC 2024 CCS, Vrints C et al., Eur Heart J 2024;45:3415-3537, doi:10.1093/eurheartj/ehae177, "
                     "Rec. Table 14 (stress CMR >=2 of 16 segments with perfusion defects = high event risk, I B)",
            inputs={f"perfusion_defect_{m.segment}": _inp(m) for m in cmr},
            details={"defect_segments": sorted(m.segment for m in cmr if m.value >= 1), "threshold_segments": 2},
        ))
    return out


# -- running the declared rules ----------------------------------------------------------------


def _run_spec(ph: _registry.Snapshot, spec: _registry.RuleSpec) -> list[Finding]:
    """Call ``spec``'s rule with the arguments its declaration binds (see :mod:`._registry`)."""
    name, cite = spec.name, spec.citation_hint
    func = _rule(name)
    if func is None:
        return [_na(name, f"{name} not assessable: the rule module is not available yet", f"heartprint.clinical.{name}",
                    cite, [f"heartprint.clinical.{name}"])]
    kwargs, inputs, missing = _registry.bind(ph, spec)
    if missing:
        return [_na(name, f"{name} not assessable: needs {', '.join(missing)}", f"heartprint.clinical.{name}", cite,
                    missing, inputs)]
    try:
        res = func(**kwargs)
    except HeartprintError as exc:
        return [_na(name, f"{name} not assessable: {exc}", f"heartprint.clinical.{name}", cite, [str(exc)], inputs)]
    return [_with_inputs(x, inputs) for x in _as_findings(res)]


#: adapter name (``RuleSpec.adapter``) → function of a :class:`~._registry.DeclaredView`.
_ADAPTERS: dict[str, Callable[[Any], list[Finding]]] = {"ptp": _ptp, "cadrads": _cadrads, "ischaemia": _ischaemia}


def run_rules(phenotype: Any) -> list[Finding]:
    """Every applicable guideline rule's findings (including ``not_assessable`` ones), each rule
    called only through its declaration in :data:`heartprint.clinical._registry.RULES`."""
    ph = _registry.Snapshot(phenotype)  # sorted once, read by every rule
    out: list[Finding] = []
    for spec in _registry.RULES.values():
        if spec.run_by != "interpret":
            continue
        if spec.domain and not ph.codes.intersection(spec.domain):
            continue
        if spec.applies is not None and not spec.applies(ph):
            continue
        if spec.adapter is not None:
            out += _ADAPTERS[spec.adapter](_registry.DeclaredView(ph, spec))
        else:
            out += _run_spec(ph, spec)
    return out


# -- the interpretation ------------------------------------------------------------------------


@dataclass
class Interpretation:
    """Findings, recommendations and what could not be assessed, for one phenotype."""

    findings: list[Finding]
    recommendations: list[Recommendation]
    not_assessable: list[Finding]
    differential: list[Finding] = field(default_factory=list)
    regional: dict[str, Any] = field(default_factory=dict)
    measurements: list[Measurement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    disclaimer: str = DISCLAIMER

    def finding(self, code: str) -> Finding | None:
        """The first finding (of any status) with ``code``."""
        for f in self.findings + self.differential + self.not_assessable:
            if f.code == code:
                return f
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": INTERPRETATION_SCHEMA,
            "disclaimer": self.disclaimer,
            "findings": [f.to_dict() for f in self.findings],
            "differential": [f.to_dict() for f in self.differential],
            "recommendations": [r.to_dict() for r in self.recommendations],
            "not_assessable": [f.to_dict() for f in self.not_assessable],
            "measurements": [m.to_dict() for m in self.measurements],
            "regional": self.regional,
            "notes": list(self.notes),
        }


def _method_key(m: Measurement) -> tuple[str, str] | None:
    """(modality, method) key of the verified reference tables for a measurement, or None."""
    text = (m.method or "").lower()
    if m.modality == "MR":
        return ("cmr", "ssfp")  # cine CMR is balanced SSFP (heartprint's cine analysis and the tables' studies)
    if m.modality == "US":
        if "biplane" in text:
            return ("echo", "2d_biplane")
        if "linear" in text:
            return ("echo", "linear")
        if m.code == "lavi":
            return ("echo", "2d")
    return None


def with_reference_ranges(phenotype: Any) -> Any:
    """A copy of the phenotype whose measurements carry verified reference ranges and z-scores.

    Uses :func:`heartprint.clinical.reference_range` / :func:`heartprint.clinical.z_score`
    (verified rows only; sex and a matching modality/method are required). Measurements
    that already carry a reference range, or for which no verified row exists, are unchanged.
    """
    from dataclasses import replace

    sex = phenotype.facts.sex
    rr_func, z_func = _rule("reference_range"), _rule("z_score")
    if sex is None or rr_func is None:
        return phenotype
    out = []
    for m in phenotype.history:
        key = _method_key(m)
        if m.reference_range is not None or key is None:
            out.append(m)
            continue
        try:
            rr = rr_func(m.code, sex, modality=key[0], method=key[1])
        except HeartprintError:
            out.append(m)
            continue
        z = None
        if z_func is not None:
            try:
                z = z_func(m.value, m.code, sex, modality=key[0], method=key[1])
            except HeartprintError:
                z = None
        out.append(m.model_copy(update={"reference_range": rr, "z_score": m.z_score if m.z_score is not None else z}))
    return replace(phenotype, history=out)


def interpret(phenotype: Any) -> Interpretation:
    """Run every applicable rule on ``phenotype`` (a :class:`heartprint.phenotype.Phenotype`)."""
    from heartprint.clinical.aetiology import differential
    from heartprint.clinical.multimodality import reconcile, regional_map
    from heartprint.clinical.pathway import plan

    phenotype = with_reference_ranges(phenotype)
    rules = run_rules(phenotype)
    mm = reconcile(phenotype)
    all_findings = rules + mm
    diff = differential(phenotype, all_findings)
    recs, path_findings = plan(phenotype, all_findings, diff)
    all_findings += path_findings
    present = [f for f in all_findings if f.status != "not_assessable"]
    na = [f for f in all_findings if f.status == "not_assessable"]
    return Interpretation(
        findings=present, recommendations=recs, not_assessable=na, differential=diff,
        regional=regional_map(phenotype), measurements=phenotype.measurements, notes=list(phenotype.notes),
    )

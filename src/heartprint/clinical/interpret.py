"""Interpret a phenotype: run every applicable rule, reconcile modalities, rank aetiologies, plan.

:func:`interpret` is the one entry point (the CLI ``heartprint interpret`` and the pipeline
call it). It

1. runs each guideline rule of :mod:`heartprint.clinical` whose domain the phenotype touches
   (pre-test probability, CAD-RADS, calcium, ischaemic burden, HF type, HFpEF scores,
   diastolic function, tissue rules, valve disease), calling it only through its declaration in
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
from heartprint.clinical.valves import aortic_stenosis_rule, mitral_regurgitation_rule
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

_PTP_PAIN = {"typical": "typical", "atypical": "atypical", "non_anginal": "non-anginal", "none": "none"}


def _ptp(ph: Any) -> list[Finding]:
    f = ph.facts
    if (f.chest_pain is None and f.dyspnoea is None) or (f.chest_pain == "none" and f.dyspnoea is False):
        return []  # nothing said about symptoms, or none: the tables cover symptomatic patients
    out: list[Finding] = []
    missing = ["age"] if f.age is None else []
    pain = _PTP_PAIN.get(f.chest_pain) if f.chest_pain else None
    base_inputs = {"age": _inp(ph.latest("age")), "sex": {"value": f.sex, "source": "entered"},
                   "chest_pain": {"value": f.chest_pain, "source": "entered"},
                   "dyspnoea": {"value": f.dyspnoea, "source": "entered"}}
    rf_items = f.risk_factors.model_dump()
    n_present = sum(1 for x in rf_items.values() if x is True)
    n_unknown = sum(1 for x in rf_items.values() if x is None)
    rf: int | tuple[int, int] = n_present if n_unknown == 0 else (n_present, n_present + n_unknown)
    for name, needs_rf in (("likelihood_esc2024", True), ("ptp_esc2019", False)):
        func = _rule(name)
        code = "clinical_likelihood_esc2024" if needs_rf else "ptp_esc2019"
        if func is None or missing:
            out.append(_na(code, f"{'ESC 2024 clinical likelihood' if needs_rf else 'ESC 2019 pre-test probability'} "
                                 f"not assessable: needs {', '.join(missing) or 'the rule module'}",
                           f"heartprint.clinical.ptp.{name}", "ESC CCS 2024 / 2019", missing or ["heartprint.clinical.ptp"],
                           base_inputs))
            continue
        try:
            res = func(f.age, f.sex, pain, f.dyspnoea, rf) if needs_rf else func(f.age, f.sex, pain, f.dyspnoea)
        except HeartprintError as exc:
            out.append(_na(code, f"not assessable: {exc}", f"heartprint.clinical.ptp.{name}", "ESC CCS 2024 / 2019",
                           [str(exc)], base_inputs))
            continue
        inputs = dict(base_inputs)
        if needs_rf:
            inputs["risk_factors"] = {"value": rf if isinstance(rf, int) else list(rf), "source": "entered",
                                      "items": rf_items}
        out += [_with_inputs(x, inputs) for x in _as_findings(res)]
    return out


_VESSEL_PART = {"proximal": "p", "mid": "m", "distal": "d"}


def _stenosis_key(m: Measurement) -> str:
    """CAD-RADS segment name of a stenosis measurement (vessel, or p/m/d + vessel)."""
    return m.vessel if m.vessel == "LM" or m.vessel_segment is None else _VESSEL_PART[m.vessel_segment] + m.vessel


def _latest_stenoses(ph: Any) -> dict[str, list[Measurement]]:
    """Per CAD-RADS segment, the CT stenosis measurements of its latest time (more than one when the
    segment was reported twice then: passed to the rule as a contradiction, never reduced to one)."""
    by_key: dict[str, list[Measurement]] = {}
    for m in ph.history("stenosis"):
        if m.modality not in (None, "CT") or m.vessel is None:
            continue
        group = by_key.setdefault(_stenosis_key(m), [])
        if group and group[-1].time != m.time:
            group.clear()  # a later study supersedes an earlier one (history is in time order)
        group.append(m)
    return by_key


def _cadrads(ph: Any) -> list[Finding]:
    cac = ph.latest("cac_agatston")
    out: list[Finding] = []
    groups = _latest_stenoses(ph)
    func = _rule("cad_rads")
    if groups and func is not None:
        stenoses: dict[str, Any] = {}
        for key, ms in groups.items():
            values = [m.value for m in ms]
            stenoses[key] = values[0] if len(set(values)) == 1 else values
        facts = ph.facts.findings
        calls = {param: facts.get(key) for param, key in (
            ("plaque_present", "coronary_plaque"), ("non_diagnostic", "ccta_non_diagnostic"),
            ("high_risk_plaque", "high_risk_plaque"), ("stent", "coronary_stent"), ("graft", "coronary_bypass_graft"),
            ("exception", "coronary_non_atherosclerotic"))}
        inputs: dict[str, Any] = {}
        for key, ms in groups.items():
            for i, m in enumerate(ms):
                part = f"_{m.vessel_segment}" if m.vessel_segment else ""
                inputs[f"stenosis_{m.vessel}{part}" + (f"_{i + 1}" if len(ms) > 1 else "")] = _inp(m)
        if cac:
            inputs["cac_agatston"] = _inp(cac)
        inputs.update({p: {"value": val, "source": "entered"} for p, val in calls.items() if val is not None})
        try:
            res = func(stenoses, cac=cac.value if cac else None, **calls)
            out += [_with_inputs(x, inputs) for x in res.findings]
        except HeartprintError as exc:
            out.append(_na("cad_rads", f"CAD-RADS not assessable: {exc}", "heartprint.clinical.cadrads.cad_rads",
                           "CAD-RADS 2.0", [str(exc)]))
    if cac is not None and _rule("agatston_category") is not None:
        out += [_with_inputs(x, {"cac_agatston": _inp(cac)}) for x in _as_findings(_rule("agatston_category")(cac.value))]
    return out


#: Stress CMR: ≥2 of 16 segments with a perfusion defect = high event risk (ESC 2024 Rec. Table 14, I B).
CMR_PERFUSION_HIGH_RISK_SEGMENTS = 2
_CMR_PERFUSION_CITATION = (
    "ESC 2024 CCS, Vrints C et al., Eur Heart J 2024;45:3415-3537, doi:10.1093/eurheartj/ehae177, "
    "Rec. Table 14 (stress CMR >=2 of 16 segments with perfusion defects = high event risk, I B)")


def _ischaemia(ph: Any) -> list[Finding]:
    stress = {m.segment: m for m in ph.regional("perfusion_stress_score")}
    rest = {m.segment: m for m in ph.regional("perfusion_rest_score")}
    out: list[Finding] = []
    if stress:
        # segments not scored are unknown (0–4 each): the rule decides only when they cannot change the answer
        s = {k: int(round(m.value)) for k, m in stress.items()}
        r = {k: int(round(m.value)) for k, m in rest.items()} if rest else None
        inputs = {f"stress_score_{k}": _inp(m) for k, m in sorted(stress.items())}
        inputs.update({f"rest_score_{k}": _inp(m) for k, m in sorted(rest.items())})
        try:
            res = _rule("ischaemic_burden")(s, r)
            out += [_with_inputs(x, inputs) for x in _as_findings(res)]
        except HeartprintError as exc:
            out.append(_na("ischaemia_high_risk", f"Ischaemic burden not assessable: {exc}",
                           "heartprint.clinical.ischaemia.ischaemic_burden", "ESC 2024 CCS Rec. Table 14", [str(exc)], inputs))
    cmr = [m for m in ph.regional("perfusion_defect") if m.segment != 17]
    if cmr:
        n = sum(1 for m in cmr if m.value >= 1)
        unread = [s for s in range(1, 17) if s not in {m.segment for m in cmr}]
        need = CMR_PERFUSION_HIGH_RISK_SEGMENTS
        if n >= need:
            status, verdict = "present", f"≥{need}: high-risk ischaemia"
        elif n + len(unread) < need:
            status, verdict = "absent", f"<{need}: not high-risk"
        else:
            status, verdict = "not_assessable", f"not assessable: segments {', '.join(map(str, unread))} were not read"
        out.append(Finding(
            code="cmr_perfusion_high_risk", status=status,
            statement=f"Stress CMR: {n} of {16 - len(unread)} segments read with a perfusion defect ({verdict})",
            rule="heartprint.clinical.interpret._ischaemia", citation=_CMR_PERFUSION_CITATION,
            inputs={f"perfusion_defect_{m.segment}": _inp(m) for m in cmr},
            missing=[f"stress CMR perfusion, segment {s}" for s in unread] if status == "not_assessable" else [],
            details={"defect_segments": sorted(m.segment for m in cmr if m.value >= 1), "threshold_segments": need,
                     "segments_not_read": unread},
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
    out = [_with_inputs(x, inputs) for x in _as_findings(res)]
    pre = spec.presupposes
    if pre is not None and pre.holds(ph) is None:
        out = [_presupposed(f, pre) for f in out]
    return out


def _presupposed(f: Finding, pre: _registry.Presupposition) -> Finding:
    """A rule's finding when a condition its conclusion presupposes is unknown: a positive one is
    held back (``not_assessable``, naming what settles it); a negative one stands (it holds either way)."""
    details = {**f.details, "presupposes": pre.condition, f"{pre.needs} known": False}
    if f.status != "present":
        return f.model_copy(update={"details": details})
    would_be = {f"if {pre.condition}": f.statement, "otherwise": pre.otherwise}
    return f.model_copy(update={
        "status": "not_assessable", "statement": f"{f.statement} — only if {pre.condition}: {pre.needs} unknown",
        "missing": [*f.missing, pre.needs], "details": {**details, "would_be": would_be}})


def _contradictions(ph: Any) -> list[Finding]:
    """Inputs that contradict each other (:func:`heartprint.clinical.imaging.input_contradictions`): every
    measurement of the declared codes, not only the latest, since a contradiction is between two of them."""
    from heartprint.clinical.imaging import input_contradictions

    codes = sorted(_registry.RULES["input_contradictions"].codes)
    # a CT stenosis reported twice is said by the CAD-RADS rule (_cadrads), which reads the same measurements
    return input_contradictions([m for code in codes for m in ph.history(code)
                                 if not (code == "stenosis" and m.modality in (None, "CT"))])


#: adapter name (``RuleSpec.adapter``) → function of a :class:`~._registry.DeclaredView`.
_ADAPTERS: dict[str, Callable[[Any], list[Finding]]] = {"ptp": _ptp, "cadrads": _cadrads, "ischaemia": _ischaemia,
                                                        "contradictions": _contradictions,
                                                        "aortic_stenosis": aortic_stenosis_rule,
                                                        "mitral_regurgitation": mitral_regurgitation_rule}


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


def with_reference_ranges(phenotype: Any) -> Any:
    """A copy of the phenotype whose measurements carry their verdict against the verified reference
    ranges (:func:`heartprint.clinical.reference_ranges.annotate`: range, z-score and low/normal/high
    for the modality, method, sex and age; unknown sex or age gives a verdict only where every
    possible range agrees). Measurements already carrying a range, or without a verified one, are
    unchanged."""
    from dataclasses import replace

    from heartprint.clinical.reference_ranges import annotate

    facts = phenotype.facts
    return replace(phenotype, history=[annotate(m, sex=facts.sex, age=facts.age) for m in phenotype.history])


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

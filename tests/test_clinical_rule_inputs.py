"""Rules declare their inputs (issue 15, item 3).

Each guideline rule declares the concept codes and patient facts it takes
(:data:`heartprint.clinical._registry.RULES`); ``interpret`` calls rules only from those
declarations. These tests fail when a rule needs a code that nothing can produce, when an
analyser emits a quantity a rule needs under another code (or another shape: per-segment vs
global), and when a measurement as the analysers emit it does not reach its rule (the HCM rule
answered "needs maximal LV wall thickness" on a study whose wall thickness was measured).
"""

from __future__ import annotations

import inspect
import re
from datetime import date

import numpy as np
import pytest

from heartprint.clinical import _registry
from heartprint.clinical._registry import Code, Fact
from heartprint.clinical.interpret import _ADAPTERS, _rule, interpret
from heartprint.concepts import CONCEPTS
from heartprint.measure import Measurement
from heartprint.phenotype import PatientFacts, Phenotype

#: Imaging codes a rule takes that no analyser emits yet: today they can only be entered as
#: measurements. This set must only shrink: a code an analyser emits may not stay here.
ENTERED_ONLY = frozenset({
    # echocardiography: diastolic function, filling pressures, strain, LV geometry (echo analysers: a later issue)
    # (E/e′, e′, mitral E, E/A, TR velocity, LAVI and RWT come from a vendor's echo SR: heartprint.echo)
    # (GLS comes from the echo cine analyser, heartprint.echo._cine)
    "pasp",
    # CMR tissue maps without a pipeline analyser: T2, T2*, T2-weighted SI ratio; ECV (heartprint.cmr.analyse_ecv
    # exists, but no Analyser declares it yet)
    "t2", "t2star", "t2_ratio", "ecv",
    # stress CMR perfusion defects (SPECT/PET scores come from heartprint.nuclear; stress CMR has no analyser yet)
    "perfusion_defect",
    # CCTA stenosis: heartprint.ct.analyse_ccta needs a lumen segmenter that is not shipped, so no analyser yet
    "stenosis",
})

#: A patient as entered, with every fact a rule may read (for "non-imaging codes come from the facts").
FULL_PATIENT = {
    "age": 60, "sex": "male", "height": {"value": 175, "unit": "cm"}, "weight": {"value": 80, "unit": "kg"},
    "symptoms": {"chest_pain": "typical", "dyspnoea": True, "nyha": 2},
    "risk_factors": {"family_history_cad": False, "smoking": True, "dyslipidaemia": False, "hypertension": True,
                     "diabetes": False},
    "n_antihypertensives": 1, "rhythm": "sinus", "qrs": {"duration_ms": 150, "morphology": "lbbb"},
    "family_history": {"hcm": True, "scd": False},
    "history": {"prior_mi": False, "days_since_mi": 100, "months_omt": 6, "pacing_indication": False},
}


def _analysers():
    from heartprint.pipeline import analysers

    return analysers()


def _declared():
    """(spec, parameter, source) for every declared input of every rule."""
    return [(spec, p, src) for spec in _registry.RULES.values() for p, src in spec.inputs.items()]


def _declared_codes() -> set[str]:
    return {src.code for _, _, src in _declared() if isinstance(src, Code)}


# -- 1. declarations name real concepts, facts and parameters -----------------------------------


def test_declared_codes_are_concepts_and_facts_are_patient_facts():
    bad = []
    for spec, param, src in _declared():
        if isinstance(src, Code):
            if src.code not in CONCEPTS:
                bad.append(f"{spec.name}.{param}: code {src.code!r} is not a key of CONCEPTS")
                continue
            regional = CONCEPTS[src.code].regional is not None
            if regional != (src.select == "regional"):
                bad.append(f"{spec.name}.{param}: {src.code!r} is {'a per-segment/vessel' if regional else 'a global'} "
                           f"concept but declared select={src.select!r}")
        else:
            is_field = src.name in PatientFacts.model_fields
            is_derived = isinstance(getattr(PatientFacts, src.name, None), property)
            if not (is_field or is_derived):
                bad.append(f"{spec.name}.{param}: fact {src.name!r} is not an attribute of PatientFacts")
            if src.key is not None and src.name != "findings":
                bad.append(f"{spec.name}.{param}: only 'findings' has keys, not {src.name!r}")
    for spec in _registry.RULES.values():
        missing = set(spec.domain) - spec.codes
        if missing:
            bad.append(f"{spec.name}: domain codes {sorted(missing)} are not bound by its declaration")
    assert not bad, "\n".join(bad)


def test_declarations_match_the_rule_signatures():
    """A directly-called rule gets exactly its declared parameters, and every parameter it cannot
    do without is declared required (so a missing input is reported, never a TypeError)."""
    bad = []
    for spec in _registry.RULES.values():
        if spec.adapter is not None:
            if spec.adapter not in _ADAPTERS:
                bad.append(f"{spec.name}: adapter {spec.adapter!r} is not in interpret._ADAPTERS")
            continue
        func = _rule(spec.name)
        assert func is not None, spec.name
        params = inspect.signature(func).parameters
        for p in spec.inputs:
            if p not in params:
                bad.append(f"{spec.name}: declares {p!r}, which is not a parameter of the rule")
        for p, par in params.items():
            if par.default is inspect.Parameter.empty and p not in spec.derived:
                if p not in spec.required:
                    bad.append(f"{spec.name}: parameter {p!r} has no default but is not declared required")
    assert not bad, "\n".join(bad)


def test_no_rule_default_stands_in_for_an_unknown_fact():
    """Unknown is a value: every optional input of a rule that interpret calls is passed, as ``None``
    when unknown, and every parameter whose default is a boolean is declared (so that its default,
    e.g. ``hf_type(symptoms=True)``, never decides for a fact that was not given)."""
    bad = []
    for spec in _registry.RULES.values():
        if spec.adapter is not None or spec.run_by != "interpret":
            continue
        for p, par in inspect.signature(_rule(spec.name)).parameters.items():
            if isinstance(par.default, bool) and p not in spec.inputs:
                bad.append(f"{spec.name}: parameter {p}={par.default!r} is not declared, so its default is assumed")
        kwargs, _, missing = _registry.bind(Phenotype(), spec)
        assert missing == [_registry.input_name(spec.inputs[p]) for p in spec.required], spec.name
        optional = set(spec.inputs) - set(spec.required)
        if set(kwargs) != optional or any(v is not None for v in kwargs.values()):
            bad.append(f"{spec.name}: unknown inputs bound as {kwargs}, expected None for each of {sorted(optional)}")
    assert not bad, "\n".join(bad)


def test_hf_type_gets_symptoms_none_when_unknown():
    ph = Phenotype.from_dict({"measurements": [{"code": "lv_ef", "value": 30, "unit": "%"}]})
    kwargs, inputs, missing = _registry.bind(ph, _registry.RULES["hf_type"])
    assert kwargs["symptoms"] is None and kwargs["lvef"] == 30.0 and not missing
    assert "symptoms" not in inputs
    ph = Phenotype.from_dict({"patient": {"symptoms": {"nyha": 3}},
                              "measurements": [{"code": "lv_ef", "value": 30, "unit": "%"}]})
    kwargs, inputs, _ = _registry.bind(ph, _registry.RULES["hf_type"])
    assert kwargs["symptoms"] is True and inputs["symptoms"] == {"value": True, "source": "entered"}


def test_a_required_input_must_be_declared():
    with pytest.raises(ValueError, match="lvef"):
        _registry.RuleSpec("x", inputs={"ef": Code("lv_ef")}, required=("lvef",))


def test_snapshot_reads_what_the_phenotype_reads():
    """interpret reads every rule's inputs from one Snapshot of the phenotype: each declared code,
    however selected (global, located, previous, regional), reads the same there as on the phenotype."""
    later = {"time": "2024-05-01T10:00:00"}
    ph = Phenotype.from_dict({"patient": FULL_PATIENT, "measurements": [
        {"code": "lv_ef", "value": 30, "unit": "%", "time": "2023-01-01T10:00:00"},
        {"code": "lv_ef", "value": 45, "unit": "%", **later},
        {"code": "lv_max_wall_thickness", "value": 16, "unit": "mm", "segment": 9, **later},
        {"code": "native_t1", "value": 1100, "unit": "ms", "method": "ShMOLLI 1.5 T",
         "reference_range": {"low": 900, "high": 1000}},
        {"code": "ecv", "value": 35, "unit": "%"},
        {"code": "lge_transmurality", "value": 40, "unit": "%", "segment": 3, "pattern": "midwall"},
        {"code": "lge_transmurality", "value": 0, "unit": "%", "segment": 4},
        {"code": "stenosis", "value": 70, "unit": "%", "vessel": "LAD"},
        {"code": "lv_wall_thickness", "value": 12, "unit": "mm", "segment": 9}]})
    snap = _registry.Snapshot(ph)
    assert snap.codes == {m.code for m in ph.measurements}
    read = 0
    for spec, param, src in _declared():
        if isinstance(src, Code) and src.select == "regional" and src.read is None:  # an adapter's list
            expected = _registry.read_code(ph, src)
            assert _registry.read_code(snap.of(src.code), src) == expected, f"{spec.name}.{param}"
        else:
            expected = _registry.resolve(ph, src)[0]
            assert _registry.resolve(snap, src) == _registry.resolve(ph, src), f"{spec.name}.{param}"
        read += expected is not None
    assert read >= 20  # the phenotype above exercises most declarations, not only their absence
    assert _registry.resolve(snap, _registry.RULES["hf_type"].inputs["previous_lvef"])[0] == 30.0


# -- 2. every declared code can be produced ------------------------------------------------------


def test_every_declared_imaging_code_is_emitted_or_entered_only():
    emitted = {c for a in _analysers() for c in a.emits}
    imaging = {c for c in _declared_codes() if CONCEPTS[c].kind == "imaging"}
    unproduced = sorted(imaging - emitted - ENTERED_ONLY)
    assert not unproduced, f"rules need {unproduced}, which no analyser emits and ENTERED_ONLY does not list"
    stale = sorted(ENTERED_ONLY & emitted)
    assert not stale, f"ENTERED_ONLY lists {stale}, which an analyser now emits: remove them"
    unused = sorted(ENTERED_ONLY - imaging)
    assert not unused, f"ENTERED_ONLY lists {unused}, which no rule takes (or that are not imaging concepts)"


def test_every_declared_non_imaging_code_comes_from_patient_facts_or_labs():
    from_facts = Phenotype.from_dict({"patient": FULL_PATIENT})
    bad = []
    for code in sorted(c for c in _declared_codes() if CONCEPTS[c].kind != "imaging"):
        con = CONCEPTS[code]
        if con.kind == "lab":
            lo, hi = con.plausible
            ph = Phenotype.from_dict({"labs": [{"code": code, "value": (lo + hi) / 2, "unit": con.unit}]})
            ok = ph.latest(code) is not None
        else:
            ok = from_facts.latest(code) is not None
        if not ok:
            bad.append(f"{code} ({con.kind}): not produced from the patient facts / labs")
    assert not bad, "\n".join(bad)


def test_every_declared_fact_can_be_entered():
    ph = Phenotype.from_dict({"patient": FULL_PATIENT})
    unknown = sorted({src.name for _, _, src in _declared()
                      if isinstance(src, Fact) and src.name != "findings" and getattr(ph.facts, src.name) is None})
    assert not unknown, f"facts rules take that FULL_PATIENT (the phenotype patient schema) does not fill: {unknown}"


# -- 3. no quantity a rule needs is emitted under another code --------------------------------------

_STRIP_WORDS = re.compile(r"\b(maximal|maximum|max|global|mean|regional|segmental|per-segment|segment)\b")
_STRIP_PARTS = {"max", "global", "mean", "regional", "segment", "seg"}


def _base_name(code: str) -> str:
    name = CONCEPTS[code].name if code in CONCEPTS else code.replace("_", " ")
    return " ".join(_STRIP_WORDS.sub(" ", name.lower()).split())


def _base_code(code: str) -> str:
    return "_".join(p for p in code.split("_") if p not in _STRIP_PARTS)


def _codings(code: str) -> set[tuple[str, str]]:
    return {(c.system, c.value) for c in CONCEPTS[code].codings} if code in CONCEPTS else set()


def same_quantity(a: str, b: str) -> bool:
    """Two codes for one quantity: a shared standard coding, or one name once per-segment /
    global / maximal wording is stripped."""
    return a != b and bool(_codings(a) & _codings(b) or _base_name(a) == _base_name(b) or _base_code(a) == _base_code(b))


def test_same_quantity_detects_the_wall_thickness_pair():
    assert same_quantity("lv_max_wall_thickness", "lv_wall_thickness")  # DCM 122445 on both; "maximal" stripped
    assert same_quantity("lge_extent", "lge_segment_extent")
    assert not same_quantity("lv_mass", "lv_mass_es") and not same_quantity("lv_edv", "lv_edvi")


def test_no_analyser_emits_a_rule_input_under_another_code():
    bad = []
    for code in sorted(_declared_codes()):
        for a in _analysers():
            others = sorted(d for d in a.emits if same_quantity(code, d))
            if others and code not in a.emits:
                bad.append(f"rules need {code!r}; the {a.kind} analyser emits the same quantity only as {others}")
    assert not bad, "\n".join(bad)


# -- 4. end to end: measured wall thickness reaches the HCM rule ------------------------------------


def _cine_measurements(max_segment: int | None) -> list[Measurement]:
    """Wall thickness as the cine analyser emits it: 16 per-segment means and the maximum (ED, mm)."""
    how = "ED, 180 rays per slice from the LV cavity centroid; mean per AHA segment"
    ms = [Measurement(code="lv_wall_thickness", name="LV end-diastolic wall thickness", value=10.0 + (s % 5), unit="mm",
                      method=how, source="1.2.3.4", phase="ED", segment=s, modality="MR") for s in range(1, 17)]
    ms.append(Measurement(code="lv_max_wall_thickness", name="LV maximal end-diastolic wall thickness", value=22.0,
                          unit="mm", method=how.replace("mean per AHA segment", "maximum of a 3-ray median") + "; segment 9",
                          source="1.2.3.4", phase="ED", segment=max_segment, modality="MR"))
    ms.append(Measurement(code="lv_ef", name="LV ejection fraction", value=68.0, unit="%", source="1.2.3.4", modality="MR"))
    return ms


@pytest.mark.parametrize("max_segment", [None, 9], ids=["global", "segment-stamped (stored results)"])
def test_hcm_rule_sees_measured_wall_thickness(max_segment):
    it = interpret(Phenotype(history=_cine_measurements(max_segment)))
    hcm = it.finding("hcm_wall_thickness")
    assert hcm is not None
    assert hcm.status == "present", hcm.statement
    assert "needs" not in hcm.statement
    assert hcm.inputs["max_wall_thickness_mm"]["value"] == 22.0
    assert hcm.inputs["max_wall_thickness_mm"]["modality"] == "MR"
    assert hcm.inputs["max_wall_thickness_mm"]["source"] == "1.2.3.4"
    # the per-segment means are never read as the maximum
    assert all(v.get("value") != 14.0 for v in hcm.inputs.values() if isinstance(v, dict))


def test_the_cine_analyser_output_reaches_every_rule_that_takes_it():
    """Run the pipeline's cine analyser (supplied labels on the analytic phantom) and build the
    phenotype as the pipeline does: every global code it emitted that a rule declares is read."""
    from test_cmr_phantom import make_phantom

    from heartprint.pipeline import AnalysisOptions
    from heartprint.results import AnalysisContext, PatientIdentity, StudyInfo, StudyResult

    phantom = make_phantom(meta={"heart_rate_bpm": 72.0})
    # the analytic phantom carries labels only; give every frame image content (a blank frame is
    # refused before measurement, issue 17)
    texture = np.arange(phantom.labels.size, dtype=float).reshape(phantom.labels.shape) % 7
    image = phantom.image.with_array(phantom.labels * 100.0 + texture)
    cine = next(a for a in _analysers() if a.kind == "cine_sax")
    options = AnalysisOptions(labels={image.series_uid or "": image.with_array(phantom.labels)}, height_cm=170,
                              weight_kg=70)
    series = cine.run(image, AnalysisContext(options=options))
    assert series.status == "analysed" and series.qc_status != "error"
    study = StudyResult(source="phantom", patient=PatientIdentity(patient_id="P"),
                        study=StudyInfo(study_uid="1.2.3", date=date(2024, 5, 1)), series=[series])
    ph = Phenotype.from_study_result(study)
    produced = {m.code for m in series.measurements}
    unread = []
    for spec, param, src in _declared():
        if isinstance(src, Code) and src.select in ("global", "located") and src.read is None and src.code in produced:
            value, prov = _registry.resolve(ph, src)
            if value is None:
                unread.append(f"{spec.name}.{param} <- {src.code}")
    assert not unread, f"emitted by the cine analyser but not read by the rule: {unread}"
    hcm = interpret(ph).finding("hcm_wall_thickness")
    mwt = next(m for m in series.measurements if m.code == "lv_max_wall_thickness")
    assert hcm is not None and hcm.status != "not_assessable", hcm.statement
    assert hcm.inputs["max_wall_thickness_mm"]["value"] == pytest.approx(mwt.value, abs=1e-4)


# -- 5. interpret calls rules only through their declarations ---------------------------------------


def _with_spec(monkeypatch, name, **changes):
    from dataclasses import replace

    rules = dict(_registry.RULES)
    rules[name] = replace(rules[name], **changes)
    monkeypatch.setattr(_registry, "RULES", rules)
    return rules[name]


def test_rebinding_a_declared_input_changes_what_the_rule_reads(monkeypatch):
    spec = _registry.RULES["hcm_wall_thickness"]
    _with_spec(monkeypatch, "hcm_wall_thickness",
               inputs={**spec.inputs, "max_wall_thickness_mm": Code("lv_mass")})
    hcm = interpret(Phenotype(history=_cine_measurements(None))).finding("hcm_wall_thickness")
    assert hcm.status == "not_assessable"
    assert hcm.missing == [CONCEPTS["lv_mass"].name]
    assert f"needs {CONCEPTS['lv_mass'].name}" in hcm.statement


def test_dropping_a_declared_input_means_the_rule_never_gets_it(monkeypatch):
    ph = Phenotype.from_dict({"patient": {"family_history": {"hcm": True}},
                              "measurements": [{"code": "lv_max_wall_thickness", "value": 14, "unit": "mm"}]})
    assert interpret(ph).finding("hcm_wall_thickness").status == "present"  # 13–14 mm + family history
    spec = _registry.RULES["hcm_wall_thickness"]
    _with_spec(monkeypatch, "hcm_wall_thickness", inputs={k: v for k, v in spec.inputs.items() if k != "family_history"})
    hcm = interpret(ph).finding("hcm_wall_thickness")
    assert hcm.status == "not_assessable" and "family history of HCM" in hcm.missing
    assert "family_history" not in {k for k, v in hcm.inputs.items() if isinstance(v, dict)}


def test_a_missing_required_input_is_named_by_its_concept():
    ph = Phenotype.from_dict({"measurements": [{"code": "lv_wall_thickness", "value": 16, "unit": "mm", "segment": 3}]})
    spec = _registry.RULES["hcm_wall_thickness"]
    kwargs, _, missing = _registry.bind(ph, spec)
    assert "max_wall_thickness_mm" not in kwargs
    assert missing == [CONCEPTS["lv_max_wall_thickness"].name]  # a segment's mean is not the maximum


def test_adapters_read_only_what_they_declare(monkeypatch):
    ph = Phenotype.from_dict({"measurements": [{"code": "cac_agatston", "value": 120, "unit": "1"},
                                               {"code": "stenosis", "value": 60, "unit": "%", "vessel": "LAD"}]})
    assert any(f.code.startswith("cad_rads_") for f in interpret(ph).findings)
    spec = _registry.RULES["coronary_ct"]
    _with_spec(monkeypatch, "coronary_ct", inputs={k: v for k, v in spec.inputs.items() if k != "cac_agatston"})
    with pytest.raises(_registry.UndeclaredInputError, match="cac_agatston"):
        interpret(ph)

"""What each guideline rule takes: its inputs declared as concept codes and patient facts.

:func:`heartprint.clinical.interpret.interpret` calls a rule only through its
:class:`RuleSpec` in :data:`RULES`: every argument it passes comes from one declared source,

* :class:`Code` — a measurement concept (a key of :data:`heartprint.concepts.CONCEPTS`),
  read from the phenotype (its latest global value unless the declaration says otherwise),
  optionally scaled (ECV % → fraction) or reduced to something the measurement carries
  (its reference range, the mapping sequence named in its method);
* :class:`Fact` — a named patient fact, an attribute of :class:`heartprint.phenotype.PatientFacts`
  (``sex``, ``rhythm``, ``nyha``, ``family_history_hcm``, a key of ``findings`` ...).

Nothing is matched by parameter name. A required input that the phenotype lacks makes the
rule ``not_assessable`` naming the concept's plain name (``CONCEPTS[code].name``). A rule
whose arguments need shaping keeps an adapter in ``interpret`` (``adapter``); the adapter is
handed a :class:`DeclaredView` of the phenotype that reads only what its spec declares.
``interpret`` sorts the phenotype once per call into a :class:`Snapshot` that every rule reads.

Example::

    RuleSpec("hcm_wall_thickness",
             inputs={"max_wall_thickness_mm": Code("lv_max_wall_thickness", select="located"),
                     "family_history": Fact("family_history_hcm")},
             required=("max_wall_thickness_mm",), domain=("lv_max_wall_thickness",),
             citation_hint="ESC 2023 cardiomyopathy 7.1.1.1")

reads as: call ``heartprint.clinical.hcm_wall_thickness(max_wall_thickness_mm=<latest
lv_max_wall_thickness, whatever segment it names>, family_history=<facts.family_history_hcm>)``
when the phenotype has an ``lv_max_wall_thickness`` measurement. A declared input that is unknown
is passed as ``None`` (never left to the rule's default: unknown is a value), and ``required``
names the parameters without which the rule is not assessable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, Callable, Literal, Mapping, Union

from heartprint.concepts import concept
from heartprint.measure import Measurement, ReferenceRange
from heartprint.phenotype import Phenotype

__all__ = ["Code", "DeclaredView", "Fact", "LVEF_PRESERVED", "Presupposition", "RULES", "RuleSpec", "Snapshot", "UndeclaredInputError", "bind", "input_name",
           "provenance", "read_code"]

#: Which measurement(s) of a concept a :class:`Code` declaration reads (see :class:`Code`).
Select = Literal["global", "located", "previous", "regional"]


@dataclass(frozen=True)
class Code:
    """A rule input read from measurements of the concept ``code``.

    Attributes
    ----------
    code
        Key of :data:`~heartprint.concepts.CONCEPTS`.
    select
        Which measurement(s) of ``code`` are read:

        * ``"global"`` — the latest global one (no segment, no vessel), so a per-segment value is
          never taken for the global one;
        * ``"located"`` — the latest one whatever AHA segment it names: the concept is one value
          per study, but its measurement may name the segment where it was found (the cine
          analyser stamped ``lv_max_wall_thickness`` with the segment of the maximum before
          issue 15, and results stored then still carry it);
        * ``"previous"`` — the global one before the latest (an earlier study's value);
        * ``"regional"`` — the per-segment / per-vessel ones (latest each); ``read`` gets the list.
    scale
        Factor applied to the value (``0.01``: % → fraction).
    read
        Derive the argument from the measurement (the list of them for ``"regional"``) instead of
        passing its value; ``None`` from ``read`` counts as absent. A ``read`` that returns
        ``(value, measurement)`` names the measurement the value's provenance cites.
    """

    code: str
    select: Select = "global"
    scale: float = 1.0
    read: Callable[[Any], Any] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Fact:
    """A rule input read from the patient facts: ``PatientFacts.<name>`` (``findings[key]`` for
    ``name="findings"``), optionally derived by ``read`` (which sees only known values)."""

    name: str
    key: str | None = None
    read: Callable[[Any], Any] | None = field(default=None, compare=False)


Source = Union[Code, Fact]


@dataclass(frozen=True)
class Presupposition:
    """A condition a rule's positive conclusion presupposes.

    Attributes
    ----------
    holds
        Phenotype (a :class:`Snapshot`) → ``True``, ``False`` or ``None`` (unknown).
    condition
        The condition in words (``"LVEF ≥50 %"``).
    needs
        Plain name of what would settle it (``"LV ejection fraction"``).
    otherwise
        What the conclusion is when the condition does not hold (``"not HFpEF (HFpEF needs LVEF ≥50 %)"``).
    """

    holds: Callable[[Any], bool | None] = field(compare=False)
    condition: str
    needs: str
    otherwise: str


@dataclass(frozen=True)
class RuleSpec:
    """One guideline rule and the inputs it takes.

    Attributes
    ----------
    name
        The rule's identifier: a public name of :mod:`heartprint.clinical` (the function that
        ``interpret`` calls with the declared arguments) or, for an adapter, the adapter's name.
    inputs
        Parameter (or, for an adapter, input label) → :class:`Code` / :class:`Fact`.
    required
        Parameters (keys of ``inputs``) without which the rule cannot run: when one is unknown
        the rule is ``not_assessable: needs <plain name>``. Every other declared input that is
        unknown is passed as ``None``.
    domain
        Concept codes whose presence makes the rule applicable (a finding, possibly
        ``not_assessable``, is produced only then; empty: always). Every domain code is a
        declared input.
    citation_hint
        Short citation used on ``not_assessable`` findings before the rule runs.
    applies
        Optional further condition on the phenotype (e.g. HFpEF scores only with LVEF ≥50 %).
    adapter
        Name of an adapter in ``heartprint.clinical.interpret`` that shapes the inputs itself
        (reading the phenotype only through a :class:`DeclaredView`); ``None``: called directly.
    run_by
        ``"interpret"``, or the module that runs the rule itself (``"heartprint.clinical.pathway"``
        for the device rules, which need the aetiology from the differential: ``derived`` names
        those arguments).
    presupposes
        A fact about the phenotype that the rule's positive conclusion takes for granted but does
        not read itself (the HFpEF scores: LVEF ≥50 %). When it is unknown the rule still runs,
        but a ``present`` finding is reported ``not_assessable`` naming it (see :class:`Presupposition`).
    """

    name: str
    inputs: Mapping[str, Source]
    required: tuple[str, ...] = ()
    domain: tuple[str, ...] = ()
    citation_hint: str = ""
    applies: Callable[[Any], bool] | None = field(default=None, compare=False)
    adapter: str | None = None
    run_by: str = "interpret"
    derived: tuple[str, ...] = ()
    presupposes: "Presupposition | None" = field(default=None, compare=False)

    def __post_init__(self) -> None:
        undeclared = sorted(set(self.required) - set(self.inputs))
        if undeclared:
            raise ValueError(f"rule {self.name!r}: required {undeclared} are not keys of its inputs {sorted(self.inputs)}")

    @cached_property
    def codes(self) -> frozenset[str]:
        """Concept codes the declaration reads."""
        return frozenset(s.code for s in self.inputs.values() if isinstance(s, Code))

    @cached_property
    def facts(self) -> frozenset[str]:
        """Patient facts (attributes of ``PatientFacts``) the declaration reads."""
        return frozenset(s.name for s in self.inputs.values() if isinstance(s, Fact))


# -- reading a declared source -------------------------------------------------------------------

#: Plain names of the patient facts rules take (for "not assessable: needs ...").
_FACT_NAMES = {
    "age": "age", "sex": "sex", "nyha": "NYHA class", "rhythm": "rhythm (sinus/AF)", "symptomatic": "symptoms ± signs of HF",
    "family_history_hcm": "family history of HCM", "n_antihypertensives": "number of antihypertensive drugs",
    "months_omt": "months of optimal medical therapy", "qrs_morphology": "QRS morphology",
    "chest_pain": "chest pain type", "dyspnoea": "dyspnoea", "risk_factors": "risk factors",
    "days_since_mi": "days since myocardial infarction", "pacing_indication": "pacing indication",
}


def input_name(src: Source) -> str:
    """Plain name of a declared input: the concept's name, or the fact's."""
    if isinstance(src, Code):
        return concept(src.code).name
    if src.key:
        return src.key.replace("_", " ")
    return _FACT_NAMES.get(src.name, src.name.replace("_", " "))


class Snapshot:
    """A phenotype read once for one interpretation: its measurements grouped by code, in time order.

    :meth:`Phenotype.latest <heartprint.phenotype.Phenotype.latest>` sorts the whole history at
    every call; the rules' declared inputs are read from here instead. Each code's measurements
    form a :class:`~heartprint.phenotype.Phenotype` of their own (:meth:`of`), so "latest",
    "regional" and "previous" mean exactly what they mean on the whole phenotype.
    """

    def __init__(self, ph: Phenotype) -> None:
        self.facts = ph.facts
        groups: dict[str, list[Measurement]] = {}
        for m in ph._ordered():
            groups.setdefault(m.code, []).append(m)
        self._by_code = {code: Phenotype(facts=ph.facts, history=ms) for code, ms in groups.items()}
        self._empty = Phenotype(facts=ph.facts)
        #: Codes of which the phenotype has a measurement.
        self.codes = frozenset(groups)

    def of(self, code: str) -> Phenotype:
        """The measurements of ``code`` alone, as a phenotype."""
        return self._by_code.get(code, self._empty)

    def latest(self, code: str, **kw: Any) -> Measurement | None:
        return self.of(code).latest(code, **kw)

    def value(self, code: str, **kw: Any) -> float | None:
        return self.of(code).value(code, **kw)

    def regional(self, code: str) -> list[Measurement]:
        return self.of(code).regional(code)


def read_code(ph: Phenotype, src: Code) -> Measurement | list[Measurement] | None:
    """The measurement(s) a :class:`Code` declaration selects from phenotype ``ph``."""
    if src.select == "regional":
        return ph.regional(src.code) or None
    if src.select == "global":
        return ph.latest(src.code)
    series = [m for m in ph._ordered() if m.code == src.code and m.vessel is None
              and (src.select == "located" or m.segment is None)]
    if src.select == "previous":
        return series[-2] if len(series) > 1 else None
    return series[-1] if series else None


def provenance(m: Measurement | None) -> dict[str, Any] | None:
    """A measurement as a finding's input: its concept code, value, unit, source, and modality,
    segment, vessel, pattern and time where it has them."""
    if m is None:
        return None
    d: dict[str, Any] = {"code": m.code, "value": round(m.value, 4), "unit": m.unit, "source": m.source}
    for k in ("modality", "segment", "vessel", "pattern"):
        if getattr(m, k) is not None:
            d[k] = getattr(m, k)
    if m.time is not None:
        d["time"] = m.time.isoformat()
    return d


def resolve(ph: Phenotype | Snapshot, src: Source) -> tuple[Any, dict[str, Any] | None]:
    """(argument value or ``None`` if unknown, provenance) for one declared source."""
    if isinstance(src, Code):
        m = read_code(ph.of(src.code) if isinstance(ph, Snapshot) else ph, src)
        if m is None:
            return None, None
        value = m.value * src.scale if src.read is None else src.read(m)
        if value is None:
            return None, None
        prov_m = m[0] if isinstance(m, list) else m
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], Measurement):
            value, prov_m = value
        return value, provenance(prov_m)
    raw = getattr(ph.facts, src.name)
    if src.key is not None:
        raw = raw.get(src.key) if isinstance(raw, Mapping) else None
    value = raw if raw is None or src.read is None else src.read(raw)
    if value is None:
        return None, None
    return value, {"value": value, "source": "entered"}


def bind(ph: Phenotype | Snapshot, spec: RuleSpec) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """(keyword arguments, their provenance, plain names of missing required inputs) for ``spec``.

    Every declared optional input is passed, an unknown one as ``None``, so that no rule default
    stands in for a clinical fact that was not given; a missing required one is left out of the
    arguments and named in the third item.
    """
    kwargs: dict[str, Any] = {}
    inputs: dict[str, Any] = {}
    missing: list[str] = []
    for param, src in spec.inputs.items():
        value, prov = resolve(ph, src)
        if value is None and param in spec.required:
            missing.append(input_name(src))
            continue
        kwargs[param] = value
        if value is not None and prov not in inputs.values():  # one measurement read twice is cited once
            inputs[param] = prov
    return kwargs, inputs, missing


class UndeclaredInputError(RuntimeError):
    """An adapter read a concept or fact its :class:`RuleSpec` does not declare (a programming error)."""


class _FactsView:
    def __init__(self, facts: Any, allowed: frozenset[str], rule: str) -> None:
        self._facts, self._allowed, self._rule = facts, allowed, rule

    def __getattr__(self, name: str) -> Any:
        if name not in self._allowed:
            raise UndeclaredInputError(f"rule {self._rule!r} read patient fact {name!r}, which its RuleSpec does not declare")
        return getattr(self._facts, name)


class DeclaredView:
    """The phenotype (or its :class:`Snapshot`) as an adapter sees it: only the codes and facts
    its spec declares."""

    def __init__(self, ph: Phenotype | Snapshot, spec: RuleSpec) -> None:
        self._ph, self._spec = ph, spec
        self.facts = _FactsView(ph.facts, spec.facts, spec.name)

    def _check(self, code: str) -> None:
        if code not in self._spec.codes:
            raise UndeclaredInputError(f"rule {self._spec.name!r} read concept {code!r}, which its RuleSpec does not declare")

    def latest(self, code: str, **kw: Any) -> Measurement | None:
        self._check(code)
        return self._ph.latest(code, **kw)

    def value(self, code: str, **kw: Any) -> float | None:
        self._check(code)
        return self._ph.value(code, **kw)

    def regional(self, code: str) -> list[Measurement]:
        self._check(code)
        return self._ph.regional(code)

    def history(self, code: str) -> list[Measurement]:
        """Every measurement of ``code``, in time order (untimed first, then by entry order)."""
        self._check(code)
        ph = self._ph.of(code) if isinstance(self._ph, Snapshot) else self._ph
        return [m for m in ph._ordered() if m.code == code]


# -- readers used by declarations -------------------------------------------------------------------


def _range(scale: float) -> Callable[[Measurement], ReferenceRange | None]:
    """The site normal range the measurement carries (canonical unit × ``scale``)."""

    def read(m: Measurement) -> ReferenceRange | None:
        rr = m.reference_range
        if rr is None:
            return None
        return ReferenceRange(low=None if rr.low is None else rr.low * scale, high=None if rr.high is None else rr.high * scale,
                              population=rr.population, reference=rr.reference)

    return read


def _t1_acquisition(m: Measurement) -> tuple[str, float] | None:
    """(sequence, field strength T) named in the native-T1 method text, e.g. "ShMOLLI 1.5 T"."""
    seq = re.search(r"(shmolli|molli|saskia|sasha)", m.method or "", re.I)
    fs = re.search(r"(\d(?:\.\d)?)\s*T\b", m.method or "")
    return (seq.group(1).lower(), float(fs.group(1))) if seq and fs else None


def _t1_sequence(m: Measurement) -> str | None:
    acq = _t1_acquisition(m)
    return None if acq is None else acq[0]


def _t1_field(m: Measurement) -> float | None:
    acq = _t1_acquisition(m)
    return None if acq is None else acq[1]


def _lge_nonischaemic(ms: list[Measurement]) -> tuple[bool, Measurement] | None:
    """Any LGE in a non-ischaemic pattern, from per-segment transmurality with a pattern.

    ``True`` when a segment has LGE in a non-ischaemic pattern; ``False`` only when every AHA
    segment (1–17) was read and none has LGE of a non-ischaemic or unstated pattern; otherwise
    unknown (``None``): a segment not read, or LGE whose pattern is not stated, could be it.
    """
    from heartprint.clinical.multimodality import ISCHAEMIC_LGE_PATTERNS, NON_ISCHAEMIC_LGE_PATTERNS

    lge = [m for m in ms if m.value > 0]
    non = [m for m in lge if m.pattern in NON_ISCHAEMIC_LGE_PATTERNS]
    if non:
        return True, non[0]
    unstated = [m for m in lge if m.pattern not in ISCHAEMIC_LGE_PATTERNS]
    read = {m.segment for m in ms if m.segment is not None}
    if unstated or not read >= set(range(1, 18)):
        return None
    return False, (lge[0] if lge else ms[0])


def _segment_of_maximum(m: Measurement) -> int | None:
    """AHA segment of a maximal wall thickness: the measurement's own, or the one its method names
    ("...; slice 3, segment 9"), as the cine analyser writes it."""
    if m.segment is not None:
        return m.segment
    found = re.search(r"\bsegment (\d{1,2})\b", m.method or "")
    return int(found.group(1)) if found and 1 <= int(found.group(1)) <= 17 else None


def _af_known(rhythm: str) -> bool | None:
    """H2FPEF's "AF" item (paroxysmal or persistent AF): yes when the rhythm is AF; sinus rhythm on the
    day does not exclude paroxysmal AF, so it stays unknown."""
    return True if rhythm == "af" else None


def _lvef_not_reduced(ph: Any) -> bool:
    """HFpEF scores apply with LVEF ≥50 % or LVEF unknown (then :data:`LVEF_PRESERVED` says so)."""
    m = ph.latest("lv_ef")
    return m is None or m.value >= 50


def _lvef_preserved(ph: Any) -> bool | None:
    m = ph.latest("lv_ef")
    return None if m is None else m.value >= 50


#: HFpEF needs LVEF ≥50 % (ESC 2021 HF Table 3, ✅P). The HFpEF scores do not take the LVEF
#: themselves, so interpret holds a positive score back when the LVEF is unknown.
LVEF_PRESERVED = Presupposition(holds=_lvef_preserved, condition="LVEF ≥50 %", needs="LV ejection fraction",
                                otherwise="not HFpEF (HFpEF needs LVEF ≥50 %)")


# -- the declarations --------------------------------------------------------------------------------

_ECHO_DIASTOLIC = ("e_e_prime", "septal_e_prime", "lateral_e_prime", "lavi", "tr_vmax")
#: Measurements of the aortic valve / mitral regurgitation whose presence makes the valve rules applicable
#: (the flow and EF inputs alone do not: they say nothing about a valve).
_AS_CODES = ("echo_av_vmax", "echo_av_mean_gradient", "echo_ava", "echo_avai", "echo_av_dimensionless_index")
_MR_CODES = ("echo_mr_eroa", "echo_mr_rvol", "echo_mr_rf", "echo_mr_vc")

_SPECS: tuple[RuleSpec, ...] = (
    # adapters in heartprint.clinical.interpret (inputs shaped there, read through a DeclaredView)
    RuleSpec("pretest_probability", adapter="ptp", citation_hint="ESC CCS 2024 / 2019", inputs={
        "age": Code("age"), "age_years": Fact("age"), "sex": Fact("sex"), "chest_pain": Fact("chest_pain"),
        "dyspnoea": Fact("dyspnoea"), "risk_factors": Fact("risk_factors")}),
    RuleSpec("coronary_ct", adapter="cadrads", domain=("stenosis", "cac_agatston"), citation_hint="CAD-RADS 2.0", inputs={
        "stenoses": Code("stenosis", select="regional"), "cac_agatston": Code("cac_agatston"),
        # the reader's CCTA calls (patient facts "findings"; unknown when not given)
        "plaque_present": Fact("findings", key="coronary_plaque"),
        "non_diagnostic": Fact("findings", key="ccta_non_diagnostic"),
        "high_risk_plaque": Fact("findings", key="high_risk_plaque"),
        "stent": Fact("findings", key="coronary_stent"),
        "graft": Fact("findings", key="coronary_bypass_graft"),
        "exception": Fact("findings", key="coronary_non_atherosclerotic")}),
    RuleSpec("ischaemia", adapter="ischaemia", domain=("perfusion_stress_score", "perfusion_defect"),
             citation_hint="ESC 2024 CCS Rec. Table 14", inputs={
                 "stress_scores": Code("perfusion_stress_score", select="regional"),
                 "rest_scores": Code("perfusion_rest_score", select="regional"),
                 "cmr_defects": Code("perfusion_defect", select="regional")}),
    # called directly with the declared arguments
    RuleSpec("hf_type", domain=("lv_ef",), required=("lvef",), citation_hint="ESC 2021 HF Table 3", inputs={
        "lvef": Code("lv_ef"), "symptoms": Fact("symptomatic"), "previous_lvef": Code("lv_ef", select="previous"),
        "sex": Fact("sex"), "rhythm": Fact("rhythm"),
        "lvmi": Code("lv_massi"), "rwt": Code("rwt"), "lavi": Code("lavi"), "e_e_prime": Code("e_e_prime"),
        "nt_probnp": Code("nt_probnp"), "bnp": Code("bnp"), "pasp": Code("pasp"), "tr_velocity": Code("tr_vmax")}),
    RuleSpec("hfa_peff", domain=_ECHO_DIASTOLIC + ("nt_probnp", "bnp"), citation_hint="HFA-PEFF 2019",
             applies=_lvef_not_reduced, presupposes=LVEF_PRESERVED, inputs={
                 "rhythm": Fact("rhythm"), "sex": Fact("sex"), "age": Code("age"), "septal_e": Code("septal_e_prime"),
                 "lateral_e": Code("lateral_e_prime"), "average_e_e": Code("e_e_prime"), "tr_velocity": Code("tr_vmax"),
                 "pasp": Code("pasp"), "gls": Code("gls"), "lavi": Code("lavi"), "lvmi": Code("lv_massi"), "rwt": Code("rwt"),
                 "wall_thickness": Code("lv_max_wall_thickness", select="located"), "nt_probnp": Code("nt_probnp"),
                 "bnp": Code("bnp")}),
    RuleSpec("h2fpef", domain=("e_e_prime", "pasp"), citation_hint="H2FPEF, Reddy 2018", applies=_lvef_not_reduced,
             presupposes=LVEF_PRESERVED, inputs={
        "bmi": Code("bmi"), "antihypertensives": Fact("n_antihypertensives"), "af": Fact("rhythm", read=_af_known),
        "pasp": Code("pasp"), "age": Code("age"), "e_e_prime": Code("e_e_prime")}),
    RuleSpec("diastolic_function", domain=_ECHO_DIASTOLIC + ("mitral_e_a",), citation_hint="ASE/EACVI 2016", inputs={
        "lvef": Code("lv_ef"), "septal_e": Code("septal_e_prime"), "lateral_e": Code("lateral_e_prime"),
        "average_e_e": Code("e_e_prime"), "tr_velocity": Code("tr_vmax"), "lavi": Code("lavi"),
        "e_velocity": Code("mitral_e"), "e_a_ratio": Code("mitral_e_a")}),
    RuleSpec("lake_louise", domain=("t2", "t2_ratio", "native_t1", "ecv"), citation_hint="Lake Louise 2018", inputs={
        "t2_regional_high_si": Fact("findings", key="t2_regional_high_si"), "t2_si_ratio": Code("t2_ratio"),
        "t2_ms": Code("t2"), "t2_normal": Code("t2", read=_range(1.0)),
        "t2_mapping_elevated": Fact("findings", key="t2_mapping_elevated"),
        "native_t1_ms": Code("native_t1"), "native_t1_normal": Code("native_t1", read=_range(1.0)),
        "native_t1_elevated": Fact("findings", key="native_t1_elevated"),
        "ecv": Code("ecv", scale=0.01), "ecv_normal": Code("ecv", read=_range(0.01)),
        "ecv_elevated": Fact("findings", key="ecv_elevated"),
        "lge_nonischaemic": Code("lge_transmurality", select="regional", read=_lge_nonischaemic),
        "pericardial_effusion_or_enhancement": Fact("findings", key="pericardial_effusion_or_enhancement"),
        "wall_motion_abnormality": Fact("findings", key="wall_motion_abnormality")}),
    RuleSpec("t2star_iron", domain=("t2star",), required=("t2star_ms",), citation_hint="T2* iron, Anderson 2001",
             inputs={"t2star_ms": Code("t2star")}),
    RuleSpec("hcm_wall_thickness", domain=("lv_max_wall_thickness",), required=("max_wall_thickness_mm",),
             citation_hint="ESC 2023 cardiomyopathy 7.1.1.1", inputs={
                 "max_wall_thickness_mm": Code("lv_max_wall_thickness", select="located"),
                 "family_history": Fact("family_history_hcm"),
                 "segment": Code("lv_max_wall_thickness", select="located", read=_segment_of_maximum)}),
    RuleSpec("amyloid_native_t1", domain=("native_t1",), required=("native_t1_ms",), citation_hint="Baggiano 2020", inputs={
        "native_t1_ms": Code("native_t1"), "sequence": Code("native_t1", read=_t1_sequence),
        "field_strength": Code("native_t1", read=_t1_field)}),
    RuleSpec("ecv_amyloid", domain=("ecv",), required=("ecv_fraction",), citation_hint="ESC WG amyloidosis 2021",
             inputs={"ecv_fraction": Code("ecv", scale=0.01)}),
    # run by heartprint.clinical.pathway (they need the aetiology from the differential); declared
    # here so that their codes and facts are checked like every other rule's
    RuleSpec("icd_primary_prevention", run_by="heartprint.clinical.pathway", derived=("aetiology",),
             required=("lvef",), citation_hint="ESC 2021 HF 6.1", inputs={
                 "lvef": Code("lv_ef"), "nyha": Fact("nyha"), "omt_months": Fact("months_omt"),
                 "days_since_mi": Fact("days_since_mi"), "prior_mi": Fact("prior_mi")}),
    RuleSpec("crt_indication", run_by="heartprint.clinical.pathway", citation_hint="ESC 2021 HF 6.2",
             required=("lvef",), inputs={
                 "lvef": Code("lv_ef"), "qrs_ms": Code("qrs_duration"),
                 "lbbb": Fact("qrs_morphology", read=lambda m: m == "lbbb"), "rhythm": Fact("rhythm"), "nyha": Fact("nyha"),
                 "on_omt": Fact("months_omt", read=lambda months: months >= 3),
                 "av_block_pacing_indication": Fact("pacing_indication")}),
    # imaging phenotype findings from imaging alone (heartprint.clinical.imaging): each measurement is
    # judged against the verified range of its modality and method, read as ``acquisition``
    # (the measurement's modality, then its method text, e.g. "MR summation of discs ...")
    RuleSpec("lv_systolic_dysfunction", domain=("lv_ef",), required=("lvef",),
             citation_hint="ASE/EACVI 2015 Table 4; ESC 2021 HF Table 3", inputs={
                 "lvef": Code("lv_ef"), "sex": Fact("sex"), "age": Fact("age"),
                 "acquisition": Code("lv_ef", read=(
                     _acquisition := lambda m: " ".join(x for x in (m.modality, m.method) if x) or None))}),
    RuleSpec("lv_dilatation", domain=("lv_edvi", "lv_edv"), citation_hint="verified LV volume reference ranges",
             inputs={"lv_edvi": Code("lv_edvi"), "lv_edv": Code("lv_edv"), "sex": Fact("sex"), "age": Fact("age"),
                     "edvi_acquisition": Code("lv_edvi", read=_acquisition),
                     "edv_acquisition": Code("lv_edv", read=_acquisition)}),
    RuleSpec("lv_hypertrophy", domain=("lv_massi", "lv_mass"), citation_hint="verified LV mass reference ranges",
             inputs={"lv_massi": Code("lv_massi"), "lv_mass": Code("lv_mass"), "sex": Fact("sex"), "age": Fact("age"),
                     "massi_acquisition": Code("lv_massi", read=_acquisition),
                     "mass_acquisition": Code("lv_mass", read=_acquisition)}),
    RuleSpec("lv_geometry", domain=("rwt", "lv_massi"), citation_hint="ASE/EACVI 2015 LV geometry",
             inputs={"rwt": Code("rwt"), "lv_massi": Code("lv_massi"), "sex": Fact("sex"), "age": Fact("age"),
                     "massi_acquisition": Code("lv_massi", read=_acquisition)}),
    RuleSpec("rv_dilatation", domain=("rv_edvi", "rv_edv"), citation_hint="verified RV volume reference ranges",
             inputs={"rv_edvi": Code("rv_edvi"), "rv_edv": Code("rv_edv"), "sex": Fact("sex"), "age": Fact("age"),
                     "edvi_acquisition": Code("rv_edvi", read=_acquisition),
                     "edv_acquisition": Code("rv_edv", read=_acquisition)}),
    RuleSpec("rv_systolic_dysfunction", domain=("rv_ef",), required=("rv_ef",),
             citation_hint="verified RVEF reference ranges", inputs={
                 "rv_ef": Code("rv_ef"), "sex": Fact("sex"), "age": Fact("age"),
                 "acquisition": Code("rv_ef", read=_acquisition)}),
    RuleSpec("lge_presence", domain=("lge_transmurality", "lge_extent"), citation_hint="LGE patterns, Lake Louise 2018",
             inputs={"segments": Code("lge_transmurality", select="regional",
                                      read=lambda ms: {m.segment: (m.value, m.pattern) for m in ms}),
                     "lge_extent": Code("lge_extent")}),
    RuleSpec("native_t1_abnormal", domain=("native_t1",), required=("native_t1_ms",),
             citation_hint="SCMR/EACVI mapping consensus 2017", inputs={
                 "native_t1_ms": Code("native_t1"), "normal": Code("native_t1", read=_range(1.0))}),
    RuleSpec("t2_abnormal", domain=("t2",), required=("t2_ms",), citation_hint="SCMR/EACVI mapping consensus 2017",
             inputs={"t2_ms": Code("t2"), "normal": Code("t2", read=_range(1.0))}),
    RuleSpec("ecv_abnormal", domain=("ecv",), required=("ecv_percent",), citation_hint="SCMR/EACVI mapping consensus 2017",
             inputs={"ecv_percent": Code("ecv"), "normal": Code("ecv", read=_range(1.0))}),
    # valve disease from echo Doppler measurements (heartprint.clinical.valves; grading shared with heartprint.echo
    # through heartprint.guidelines.valves): read as the echo SR reader maps the vendor's values
    RuleSpec("aortic_stenosis", adapter="aortic_stenosis", domain=_AS_CODES,
             citation_hint="ESC/EACTS 2021 valvular heart disease 5.1; EACVI/ASE 2017", inputs={
                 "vmax_m_s": Code("echo_av_vmax"), "mean_gradient_mmhg": Code("echo_av_mean_gradient"),
                 "ava_cm2": Code("echo_ava"), "ava_index_cm2_m2": Code("echo_avai"),
                 "dimensionless_index": Code("echo_av_dimensionless_index"), "sv_index_ml_m2": Code("echo_lvot_svi"),
                 "lvef_percent": Code("lv_ef")}),
    RuleSpec("mitral_regurgitation", adapter="mitral_regurgitation", domain=_MR_CODES,
             citation_hint="EACVI 2013 Table 10; ESC/EACTS 2021 Table 6", inputs={
                 "eroa_mm2": Code("echo_mr_eroa"), "regurgitant_volume_ml": Code("echo_mr_rvol"),
                 "regurgitant_fraction_percent": Code("echo_mr_rf"), "vena_contracta_mm": Code("echo_mr_vc"),
                 # the reader's call on the mechanism (patient facts "findings"; unknown when not given)
                 "aetiology": Fact("findings", key="primary_mitral_regurgitation",
                                   read=lambda primary: "primary" if primary else "secondary")}),
    # contradictions between inputs (an EF against its volumes, a value reported twice): the adapter
    # reads every measurement of these codes, not only the latest
    RuleSpec("input_contradictions", adapter="contradictions", citation_hint="input consistency", domain=(
        _contradiction_codes := ("lv_ef", "lv_edv", "lv_esv", "lv_edvi", "lv_esvi", "rv_ef", "rv_edv", "rv_esv", "rv_edvi",
                                 "rv_esvi", "lv_mass", "lv_massi", "lv_max_wall_thickness", "lv_wall_thickness", "rwt",
                                 "lge_transmurality", "lge_extent", "native_t1", "t2", "ecv", "stenosis",
                                 "perfusion_stress_score", "perfusion_rest_score", "perfusion_defect")),
        inputs={c: Code(c, select="regional" if concept(c).regional else "global") for c in _contradiction_codes}),
)

#: rule name → :class:`RuleSpec` (read-only), in the order ``interpret`` runs them.
RULES: Mapping[str, RuleSpec] = MappingProxyType({s.name: s for s in _SPECS})

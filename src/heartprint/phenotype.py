"""One patient's measurements across studies and modalities, with the patient facts.

A :class:`Phenotype` is what ``clinical`` reads. It is built

* from JSON (:meth:`Phenotype.from_dict` / :meth:`Phenotype.from_json`; schema below),
* from a typed :class:`heartprint.results.StudyResult` (:meth:`Phenotype.from_study_result`),
* from heartprint analysis results (the ``measurements.json`` written by
  ``heartprint analyze``: ``{"series": [{"kind": "cine_sax", "result": {"measurements": [...]}}]}``),
* by merging several of them (:meth:`Phenotype.merge`): every measurement is kept in
  :attr:`Phenotype.history`; for each concept (and segment / vessel) the **latest** one wins,
  ordered by ``time`` (untimed entries rank before timed ones, then by entry order).

Every entered value passes :func:`heartprint.units.to_canonical`: unit required, converted to
the concept's canonical UCUM unit, range-checked; failures raise
:class:`~heartprint.errors.InvalidInputError` naming the field, value, unit and range.

Input schema (``"schema": "heartprint.phenotype/1"``; every key optional)::

    {
      "patient": {
        "id": str, "age": years | {"value", "unit"}, "sex": "male" | "female",
        "height": {"value": 175, "unit": "cm"} | "69 in",  "height_cm": number,
        "weight": {"value": 80, "unit": "kg"} | "176 lb",  "weight_kg": number,
        "symptoms": {"heart_failure": bool,      # symptoms and/or signs of heart failure
                     "chest_pain": "typical|atypical|non_anginal|none",
                     "chest_pain_score": 0-3, "dyspnoea": bool, "nyha": 1-4},
        "risk_factors": {"family_history_cad", "smoking", "dyslipidaemia", "hypertension",
                         "diabetes": bool},
        "n_antihypertensives": int,
        "rhythm": "sinus" | "af",
        "qrs": {"duration_ms": number, "morphology": "lbbb|rbbb|other"},
        "family_history": {"hcm": bool, "scd": bool},
        "history": {"prior_mi": bool, "days_since_mi": number, "months_omt": number,
                    "prior_revascularisation": bool, "pacing_indication": bool},
        "findings": {"pericardial_effusion": bool, "t2_regional_increase": bool,
                     "t1_regional_increase": bool, ...}      # qualitative imaging findings
      },
      "labs": [{"code": "nt_probnp", "value": 1200, "unit": "pg/mL", "time": ISO}] |
              {"nt_probnp": {"value": 1200, "unit": "pg/mL"}, ...},
      "measurements": [{"code", "value", "unit", "modality"?, "time"?, "segment"?, "vessel"?,
                        "vessel_segment"?, "pattern"?, "method"?, "source"?}],
      "studies": [{"modality": "MR", "date": ISO, "source": str, "measurements": [...]}
                  | {"modality": "MR", "date": ISO, "analysis": <measurements.json>}]
    }

A fact that is absent or ``null`` is unknown (``None``), never "no". Labs are concepts of kind
``lab`` only. The full description of the patient facts and labs, with the units each accepts,
is ``docs/patient_facts.md``.

Where each fact came from is kept (:attr:`Phenotype.given`: ``"command line"``,
``"facts file"``, ``"DICOM header"``, ...): :meth:`Phenotype.from_dict` takes the ``source``
of what it reads, :meth:`Phenotype.merge` records what a later value replaced, and
:meth:`Phenotype.override` makes a later source win for labs too.
:meth:`Phenotype.facts_summary` says what was given and which declared facts were not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from heartprint.concepts import CONCEPTS
from heartprint.errors import InvalidInputError
from heartprint.measure import Measurement
from heartprint.units import parse_quantity, to_canonical

__all__ = ["FACT_NAMES", "FactsSummary", "GivenFact", "LAB_CODES", "PHENOTYPE_SCHEMA", "PatientFacts", "Phenotype",
           "RiskFactors", "UnknownFact", "fact_text", "lab_code"]

PHENOTYPE_SCHEMA = "heartprint.phenotype/1"

#: Concept codes that may be entered as labs (the concepts of kind ``lab``).
LAB_CODES: tuple[str, ...] = tuple(sorted(code for code, c in CONCEPTS.items() if c.kind == "lab"))

#: Other spellings of lab names accepted on the way in (lower case, ``-`` and spaces read as ``_``).
_LAB_ALIASES = {"ntprobnp": "nt_probnp", "nt_pro_bnp": "nt_probnp", "hematocrit": "haematocrit", "hct": "haematocrit",
                "ldl": "ldl_c", "hdl": "hdl_c"}


def lab_code(name: Any, *, field: str = "lab") -> str:
    """The concept code of a lab name (``"NT-proBNP"`` → ``"nt_probnp"``); an unknown name raises
    :class:`InvalidInputError` listing the accepted ones."""
    key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
    key = _LAB_ALIASES.get(key, key)
    if key not in LAB_CODES:
        raise InvalidInputError(f"{field}: {name!r} is not a lab heartprint takes; "
                                f"expected one of {', '.join(LAB_CODES)}")
    return key


class RiskFactors(BaseModel):
    """ESC 2024 RF-CL risk factors (``None`` = unknown)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    family_history_cad: bool | None = None
    smoking: bool | None = None
    dyslipidaemia: bool | None = None
    hypertension: bool | None = None
    diabetes: bool | None = None

    def count(self) -> int | None:
        """Number of risk factors present, or ``None`` if any is unknown."""
        vals = [self.family_history_cad, self.smoking, self.dyslipidaemia, self.hypertension, self.diabetes]
        return None if any(v is None for v in vals) else sum(bool(v) for v in vals)


class PatientFacts(BaseModel):
    """Facts about the patient that are not imaging measurements (canonical units; ``None`` = unknown)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    patient_id: str | None = None
    age: float | None = Field(default=None, ge=0, le=120)
    sex: Literal["male", "female"] | None = None
    height_cm: float | None = None
    weight_kg: float | None = None
    #: symptoms and/or signs of heart failure (ESC 2021 HF Table 3's first criterion)
    hf_symptoms: bool | None = None
    chest_pain: Literal["typical", "atypical", "non_anginal", "none"] | None = None
    chest_pain_score: int | None = Field(default=None, ge=0, le=3)
    dyspnoea: bool | None = None
    nyha: int | None = Field(default=None, ge=1, le=4)
    risk_factors: RiskFactors = RiskFactors()
    n_antihypertensives: int | None = Field(default=None, ge=0, le=10)
    rhythm: Literal["sinus", "af"] | None = None
    qrs_ms: float | None = None
    qrs_morphology: Literal["lbbb", "rbbb", "other"] | None = None
    family_history_hcm: bool | None = None
    family_history_scd: bool | None = None
    prior_mi: bool | None = None
    days_since_mi: float | None = Field(default=None, ge=0, le=36525)  # at most 100 years
    months_omt: float | None = Field(default=None, ge=0, le=1200)
    prior_revascularisation: bool | None = None
    pacing_indication: bool | None = None
    findings: dict[str, bool] = Field(default_factory=dict)

    @property
    def bmi(self) -> float | None:
        """Body-mass index (kg/m²) from height and weight, or ``None``."""
        if self.height_cm is None or self.weight_kg is None:
            return None
        return self.weight_kg / (self.height_cm / 100.0) ** 2

    @property
    def symptomatic(self) -> bool | None:
        """Symptoms and/or signs of heart failure, as the HF rules read them (``None`` = unknown).

        The explicit answer (:attr:`hf_symptoms`) wins; else a NYHA class (II–IV: yes, I: no);
        else dyspnoea given as present (yes). Dyspnoea given as absent leaves it unknown (signs
        may still be present), and chest pain is not a heart-failure symptom.
        """
        if self.hf_symptoms is not None:
            return self.hf_symptoms
        if self.nyha is not None:
            return self.nyha >= 2
        if self.dyspnoea is True:
            return True
        return None


# -- names, units and facts-file places of the facts ----------------------------------------------

#: Plain names of the patient facts (keys: :class:`PatientFacts` attributes, ``risk_factors.<name>``,
#: ``findings.<name>``), as outputs and reports say them. Labs are named by their concept.
FACT_NAMES: Mapping[str, str] = {
    "sex": "sex", "age": "age", "height_cm": "height", "weight_kg": "weight",
    "bmi": "body-mass index (from height and weight)",
    "hf_symptoms": "symptoms or signs of heart failure",
    "symptomatic": "symptoms or signs of heart failure",
    "nyha": "NYHA class", "dyspnoea": "breathlessness (dyspnoea)",
    "chest_pain": "chest pain type", "chest_pain_score": "chest pain score",
    "rhythm": "heart rhythm", "qrs_ms": "QRS duration", "qrs_morphology": "QRS morphology",
    "risk_factors.family_history_cad": "family history of early coronary artery disease",
    "risk_factors.smoking": "smoking", "risk_factors.dyslipidaemia": "dyslipidaemia",
    "risk_factors.hypertension": "hypertension", "risk_factors.diabetes": "diabetes",
    "n_antihypertensives": "number of blood-pressure drugs",
    "family_history_hcm": "family history of hypertrophic cardiomyopathy",
    "family_history_scd": "family history of sudden cardiac death",
    "prior_mi": "previous myocardial infarction", "days_since_mi": "days since the myocardial infarction",
    "months_omt": "months on optimal medical therapy for heart failure",
    "prior_revascularisation": "previous coronary revascularisation",
    "pacing_indication": "indication for ventricular pacing (e.g. high-degree AV block)",
}

#: UCUM units of the quantitative facts (canonical).
_FACT_UNITS = {"age": "a", "height_cm": "cm", "weight_kg": "kg", "qrs_ms": "ms", "days_since_mi": "d",
               "months_omt": "mo"}

#: PatientFacts field → its place in the facts file's "patient" object.
_FIELD_PATHS: Mapping[str, tuple[str, ...]] = {
    "age": ("age",), "sex": ("sex",), "height_cm": ("height_cm",), "weight_kg": ("weight_kg",),
    "hf_symptoms": ("symptoms", "heart_failure"), "chest_pain": ("symptoms", "chest_pain"),
    "chest_pain_score": ("symptoms", "chest_pain_score"), "dyspnoea": ("symptoms", "dyspnoea"),
    "nyha": ("symptoms", "nyha"), "n_antihypertensives": ("n_antihypertensives",), "rhythm": ("rhythm",),
    "qrs_ms": ("qrs", "duration_ms"), "qrs_morphology": ("qrs", "morphology"),
    "family_history_hcm": ("family_history", "hcm"), "family_history_scd": ("family_history", "scd"),
    "prior_mi": ("history", "prior_mi"), "days_since_mi": ("history", "days_since_mi"),
    "months_omt": ("history", "months_omt"), "prior_revascularisation": ("history", "prior_revascularisation"),
    "pacing_indication": ("history", "pacing_indication"),
}

_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}

#: Sources as outputs name them (``PatientIdentity`` says ``"DICOM"``).
_SOURCE_NAMES = {"DICOM": "DICOM header"}


_VALUE_WORDS = {"sinus": "sinus rhythm", "af": "atrial fibrillation", "lbbb": "left bundle branch block",
                "rbbb": "right bundle branch block", "other": "other", "non_anginal": "non-anginal",
                "typical": "typical angina", "atypical": "atypical angina", "none": "none"}
_UNIT_WORDS = {"a": "years", "d": "days", "mo": "months"}


def fact_text(key: str, value: Any, unit: str | None = None) -> str:
    """A fact's value in plain words: ``yes``/``no``, ``III`` (NYHA class), ``atrial fibrillation``,
    ``61 years``, ``1200 pg/mL`` (four significant figures at most)."""
    if isinstance(value, bool):
        text = "yes" if value else "no"
    elif key == "nyha" and isinstance(value, int):
        text = str(_ROMAN.get(value, value))
    elif isinstance(value, (int, float)):
        v = float(value)
        text = f"{v:.0f}" if abs(v) >= 1e4 else f"{v:.4g}"
    else:
        text = _VALUE_WORDS.get(str(value), str(value).replace("_", " "))
    if unit and unit != "1":
        text += f" {_UNIT_WORDS.get(unit, unit)}"
    return text


#: Abbreviations said in capitals when a finding's key is turned into words.
_ABBREVIATIONS = {"t1": "T1", "t2": "T2", "ecv": "ECV", "ccta": "CCTA", "lge": "LGE", "lv": "LV", "rv": "RV",
                  "cad": "CAD", "si": "signal", "mi": "MI", "af": "AF"}


def _fact_name(key: str) -> str:
    if key in FACT_NAMES:
        return FACT_NAMES[key]
    if key in CONCEPTS:
        return CONCEPTS[key].name
    words = key.split(".", 1)[-1].split("_")
    return " ".join(_ABBREVIATIONS.get(w.lower(), w) for w in words)


def _fact_category(key: str) -> str:
    """``lab``, ``finding`` (a qualitative imaging finding a reader states) or ``patient``."""
    if key in LAB_CODES:
        return "lab"
    return "finding" if key.startswith("findings.") else "patient"


@dataclass(frozen=True)
class GivenFact:
    """One patient fact or lab as it was given, in canonical units, with where it came from.

    ``key`` is a :class:`PatientFacts` field, ``risk_factors.<name>``, ``findings.<name>`` or a
    lab's concept code; ``entered`` is the value as typed where a unit was converted;
    ``replaced`` lists the ``(value, source)`` of earlier values this one overrode.
    """

    key: str
    name: str
    value: Any
    source: str
    unit: str | None = None
    entered: str | None = None
    time: datetime | None = None
    replaced: tuple[tuple[Any, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"key": self.key, "name": self.name, "value": self.value, "source": self.source}
        if self.unit:
            d["unit"] = self.unit
        if self.entered:
            d["entered"] = self.entered
        if self.time is not None:
            d["time"] = self.time.isoformat()
        if self.replaced:
            d["replaced"] = [{"value": v, "source": s} for v, s in self.replaced]
        return d


@dataclass(frozen=True)
class UnknownFact:
    """A fact a guideline rule takes that was not given (so it was treated as unknown)."""

    key: str
    name: str
    rules: tuple[str, ...] = ()
    #: ``patient`` (a fact about the patient), ``lab``, or ``finding`` (a qualitative imaging
    #: finding a reader states, ``findings.<name>``)
    category: str = "patient"

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "category": self.category, "rules": list(self.rules)}


@dataclass(frozen=True)
class FactsSummary:
    """What was given about the patient (each fact with its source) and which facts the rules
    take that were not given (``assumed_unknown``); ``derived`` says what was concluded from
    the given facts (symptoms from the NYHA class), ``notes`` any contradiction among them."""

    given: tuple[GivenFact, ...] = ()
    assumed_unknown: tuple[UnknownFact, ...] = ()
    derived: tuple[GivenFact, ...] = ()
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"given": [g.to_dict() for g in self.given], "derived": [g.to_dict() for g in self.derived],
                "assumed_unknown": [u.to_dict() for u in self.assumed_unknown], "notes": list(self.notes)}


def _fact_items(facts: PatientFacts) -> Iterable[tuple[str, Any]]:
    """(key, value) of every fact that is known, in the order of :data:`FACT_NAMES`."""
    for name in PatientFacts.model_fields:
        if name == "patient_id":
            continue
        if name == "risk_factors":
            for k, v in facts.risk_factors.model_dump().items():
                if v is not None:
                    yield f"risk_factors.{k}", v
        elif name == "findings":
            for k, v in sorted(facts.findings.items()):
                if v is not None:
                    yield f"findings.{k}", v
        else:
            v = getattr(facts, name)
            if v is not None:
                yield name, v


def _given_of(facts: PatientFacts, source: str, entered: Mapping[str, str]) -> dict[str, GivenFact]:
    return {k: GivenFact(k, _fact_name(k), v, source, _FACT_UNITS.get(k), entered.get(k))
            for k, v in _fact_items(facts)}


def _key(m: Measurement) -> tuple[str, int | None, str | None, str | None]:
    return (m.code, m.segment, m.vessel, m.vessel_segment)


#: Concepts that the patient facts imply (age, height, ...): made from the facts, never entered twice.
_FACT_CODES = {"age": "age", "height": "height_cm", "weight": "weight_kg", "qrs_duration": "qrs_ms"}


def _from_facts(m: Measurement) -> bool:
    """Whether ``m`` is a measurement made from the patient facts (see :func:`_fact_measurements`)."""
    return (m.code in _FACT_CODES or m.code == "bmi") and m.source == "entered" and m.time is None \
        and m.modality in ("CLINIC", "ECG") and m.segment is None


def _fact_measurements(facts: PatientFacts) -> list[Measurement]:
    """The measurements the facts imply: age, height, weight, BMI (from both) and QRS duration."""
    out = []
    for code, name in _FACT_CODES.items():
        v = getattr(facts, name)
        if v is not None:
            out.append(Measurement(code=code, name=CONCEPTS[code].name, value=float(v), unit=CONCEPTS[code].unit,
                                   source="entered", modality="ECG" if code == "qrs_duration" else "CLINIC"))
    if facts.bmi is not None:
        v, cu = to_canonical("bmi", facts.bmi, "kg/m2", field="patient BMI (from height and weight)")
        out.append(Measurement(code="bmi", name="Body mass index", value=v, unit=cu, source="entered",
                               method="weight / height^2", modality="CLINIC"))
    return out


@dataclass
class Phenotype:
    """A patient's facts and measurements (all kept in :attr:`history`; latest wins).

    :attr:`given` records, per fact (and per lab), the value given, its source and what it
    replaced; it is kept in step with :attr:`facts` by :meth:`from_dict` and :meth:`merge`.
    """

    facts: PatientFacts = field(default_factory=PatientFacts)
    history: list[Measurement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    given: dict[str, GivenFact] = field(default_factory=dict)

    # -- access ----------------------------------------------------------------------------
    def _ordered(self) -> list[Measurement]:
        idx = {id(m): i for i, m in enumerate(self.history)}
        return sorted(self.history, key=lambda m: (m.time is not None, _naive(m.time), idx[id(m)]))

    @property
    def measurements(self) -> list[Measurement]:
        """The latest measurement per (code, segment, vessel, vessel part)."""
        latest: dict[tuple, Measurement] = {}
        for m in self._ordered():
            latest[_key(m)] = m
        return list(latest.values())

    def latest(self, code: str, *, segment: int | None = None, vessel: str | None = None) -> Measurement | None:
        """Latest global (or the given segment's / vessel's) measurement of ``code``."""
        found = None
        for m in self._ordered():
            if m.code == code and m.segment == segment and (vessel is None and m.vessel is None or m.vessel == vessel):
                found = m
        return found

    def value(self, code: str, **kw: Any) -> float | None:
        m = self.latest(code, **kw)
        return None if m is None else m.value

    def regional(self, code: str) -> list[Measurement]:
        """Latest per segment/vessel of a regional concept (e.g. ``stenosis``, ``lge_transmurality``)."""
        return [m for m in self.measurements if m.code == code and (m.segment is not None or m.vessel is not None)]

    def known(self, key: str) -> bool:
        """Whether the fact ``key`` is known: a :class:`PatientFacts` attribute (field or derived,
        e.g. ``symptomatic``), ``risk_factors`` (all five), ``risk_factors.<name>``,
        ``findings.<name>``, or a concept code (a global measurement of it exists)."""
        if key.startswith("findings."):
            return self.facts.findings.get(key.partition(".")[2]) is not None
        if key.startswith("risk_factors."):
            return getattr(self.facts.risk_factors, key.partition(".")[2]) is not None
        if key == "risk_factors":
            return self.facts.risk_factors.count() is not None
        if key in PatientFacts.model_fields or isinstance(getattr(PatientFacts, key, None), property):
            return getattr(self.facts, key) is not None
        return self.latest(key) is not None

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, doc: dict[str, Any], *, source: str = "entered") -> "Phenotype":
        """Build from the JSON schema in the module docstring (or an analysis document).

        ``source`` names where the patient facts and labs came from (``"facts file"``,
        ``"command line"``); it is kept in :attr:`given`.
        """
        if not isinstance(doc, dict):
            raise InvalidInputError(f"phenotype input: expected a JSON object, got {type(doc).__name__}")
        if "series" in doc and ("patient" not in doc or str(doc.get("schema", "")).startswith("heartprint.study/")):
            return cls.from_analysis(doc)
        unknown = set(doc) - {"schema", "patient", "labs", "measurements", "studies", "disclaimer", "description"}
        if unknown:
            raise InvalidInputError(f"phenotype input: unknown key(s) {sorted(unknown)}; expected patient, labs, measurements, studies")
        facts, derived, entered = _facts(doc.get("patient") or {})
        ph = cls(facts=facts, history=list(derived), given=_given_of(facts, source, entered))
        labs = _labs(doc.get("labs") or [])
        ph.history.extend(m for m, _ in labs)
        idx = {id(m): i for i, (m, _) in enumerate(labs)}
        for m, text in sorted(labs, key=lambda x: (x[0].time is not None, _naive(x[0].time), idx[id(x[0])])):
            ph.given[m.code] = GivenFact(m.code, CONCEPTS[m.code].name, m.value, source, m.unit, text, m.time)
        for i, raw in enumerate(doc.get("measurements") or []):
            ph.history.append(_measurement(raw, f"measurements[{i}]"))
        for j, study in enumerate(doc.get("studies") or []):
            ph = ph.merge(_study(study, f"studies[{j}]"))
        return ph

    @classmethod
    def from_json(cls, path_or_text: str | Path, *, source: str = "entered") -> "Phenotype":
        """Build from a JSON file path or a JSON string (``source``: as :meth:`from_dict`)."""
        text = str(path_or_text)
        if not text.lstrip().startswith("{"):
            p = Path(path_or_text)
            if not p.is_file():
                raise InvalidInputError(f"{p}: no such file (expected a phenotype JSON file)")
            text = p.read_text()
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"{path_or_text}: not valid JSON ({exc})") from None
        return cls.from_dict(doc, source=source)

    @classmethod
    def from_identity(cls, patient: Mapping[str, Any]) -> "Phenotype":
        """The facts of a ``heartprint.study/2`` "patient" object
        (:meth:`heartprint.results.PatientIdentity.to_dict`): sex, age, height and weight, each
        with the source it records (``"DICOM"`` is said ``"DICOM header"``)."""
        by_source: dict[str, dict[str, Any]] = {}
        for key, name, unit in (("sex", "sex", None), ("age_years", "age", "a"), ("height_cm", "height", "cm"),
                                ("weight_kg", "weight", "kg")):
            p = patient.get(key)
            if not isinstance(p, Mapping) or p.get("value") is None:
                continue
            v = p["value"]
            if key == "sex" and v not in ("male", "female"):
                continue  # "other": not a value the rules branch on, so unknown to them
            src = str(p.get("source") or "entered")
            by_source.setdefault(_SOURCE_NAMES.get(src, src), {})[name] = {"value": v, "unit": unit} if unit else v
        ph = cls()
        for src, facts in by_source.items():
            ph = ph.merge(cls.from_dict({"patient": facts}, source=src))
        if patient.get("patient_id"):
            ph.facts = ph.facts.model_copy(update={"patient_id": str(patient["patient_id"])})
        return ph

    @classmethod
    def from_analysis(cls, doc: dict[str, Any], *, time: datetime | None = None, modality: str | None = None) -> "Phenotype":
        """Measurements from a ``heartprint analyze`` document (``measurements.json``).

        Series whose QC status is ``error`` are skipped and said so in :attr:`notes`. A
        ``heartprint.study/2`` document also gives the patient's sex, age, height and weight
        (each with its recorded source), the patient facts and labs of its ``facts`` block, and
        its study date times the measurements.
        """
        ph = cls()
        patient = doc.get("patient") if isinstance(doc.get("patient"), dict) else None
        if patient is not None:
            study_date = (doc.get("study") or {}).get("date")
            if time is None and study_date:
                time = _parse_time(study_date, "study.date")
            ident = cls.from_identity(patient)
            ph = ph.merge(replace(ident, facts=ident.facts.model_copy(update={"patient_id": None})))
        facts_block = doc.get("facts")
        if isinstance(facts_block, dict):
            ph = ph.override(_from_given(facts_block.get("given") or []))
        for s in doc.get("series") or []:
            res = s.get("result") or s  # heartprint.study/1 kept results under "result"
            if not res.get("measurements"):
                continue
            if res.get("qc_status") == "error":
                ph.notes.append(f"series {s.get('series_uid')} ({s.get('kind')}): QC error, measurements not used")
                continue
            mod = modality
            for i, raw in enumerate(res["measurements"]):
                raw = dict(raw)
                raw.setdefault("source", s.get("series_uid"))
                if mod:
                    raw.setdefault("modality", mod)
                if time is not None:
                    raw.setdefault("time", time)
                ph.history.append(_measurement(raw, f"series {s.get('series_uid')} measurements[{i}]", trusted=True))
        return ph

    @classmethod
    def from_study_result(cls, result: Any) -> "Phenotype":
        """The measurements of a typed :class:`heartprint.results.StudyResult` (no JSON round trip),
        timed at the study date. Series whose QC status is ``error`` are skipped and said so."""
        ph = cls()
        when = None if result.study.date is None else datetime(result.study.date.year, result.study.date.month,
                                                               result.study.date.day)
        for s in result.analysed():
            if not s.measurements:
                continue
            if s.qc_status == "error":
                ph.notes.append(f"{s.kind} series {s.series_uid}: a quality-control error, so its measurements were not used")
                continue
            for m in s.measurements:
                ph.history.append(m if when is None or m.time is not None else m.model_copy(update={"time": when}))
        return ph

    def merge(self, *others: "Phenotype") -> "Phenotype":
        """A new phenotype with all histories; facts given later override unknown/earlier ones.

        :attr:`given` follows the facts: a later value of a fact replaces the earlier one, which
        is kept in the later one's ``replaced``. Labs are measurements: the latest by time wins
        (use :meth:`override` to make a later source win whatever the times). The measurements
        made from the facts (age, height, weight, BMI, QRS duration) are made again from the
        merged facts.
        """
        facts = self.facts.model_dump()
        history, notes, given = list(self.history), list(self.notes), dict(self.given)
        for o in others:
            for k, v in o.facts.model_dump().items():
                if k == "risk_factors":
                    facts[k] = {**facts[k], **{a: b for a, b in v.items() if b is not None}}
                elif k == "findings":
                    facts[k] = {**facts[k], **v}
                elif v is not None:
                    facts[k] = v
            for k, g in o.given.items():
                old = given.get(k)
                if old is not None:
                    chain = [*old.replaced, (old.value, old.source), *g.replaced]
                    kept: list[tuple[Any, str]] = []
                    for v, src in chain:  # what was replaced, oldest first, once each, never the value kept
                        if v != g.value and (v, src) not in kept:
                            kept.append((v, src))
                    g = replace(g, replaced=tuple(kept))
                given[k] = g
            history += o.history
            notes += o.notes
        merged = PatientFacts(**facts)
        from_facts = _fact_measurements(merged)
        remade = {m.code for m in from_facts}
        history = [m for m in history if not (_from_facts(m) and m.code in remade)] + from_facts
        return Phenotype(merged, history, notes, given)

    def override(self, other: "Phenotype") -> "Phenotype":
        """:meth:`merge` where ``other`` wins for labs too: the global measurements of each lab
        ``other`` gives are dropped from this phenotype's history first (the value it replaced is
        kept in :attr:`given`), so a lab from the command line wins over a dated one in a file."""
        labs = {k for k in other.given if k in LAB_CODES}
        kept = [m for m in self.history if not (m.code in labs and m.segment is None and m.vessel is None)]
        return replace(self, history=kept).merge(other)

    def facts_summary(self, declared: Iterable[tuple[str, str, str]] = ()) -> FactsSummary:
        """What was given (with sources) and which of the ``declared`` facts were not.

        ``declared``: ``(key, plain name, rule)`` for each fact a rule takes (key as in
        :meth:`known`; ``risk_factors`` stands for its five items). Facts set without a record
        of where they came from are said to be ``"entered"``.
        """
        given = dict(self.given)
        for k, v in _fact_items(self.facts):
            if k not in given or given[k].value != v:
                given[k] = GivenFact(k, _fact_name(k), v, "entered", _FACT_UNITS.get(k))
        facts_keys = {k for k, _ in _fact_items(self.facts)}
        shown = [g for k, g in given.items() if k in facts_keys or (k in LAB_CODES and self.latest(k) is not None)]
        order = {k: i for i, k in enumerate([*_FIELD_PATHS, *(f"risk_factors.{r}" for r in RiskFactors.model_fields)])}
        shown.sort(key=lambda g: (0 if g.key in order else 1 if g.key.startswith("findings.") else 2,
                                  order.get(g.key, 0), g.key))
        unknown: dict[str, tuple[str, list[str]]] = {}
        for key, name, rule in declared:
            if key == "risk_factors":
                keys = [(f"risk_factors.{r}", f"risk_factors.{r}") for r in RiskFactors.model_fields]
            else:  # a concept the facts give (age, QRS duration) is said under the fact's key
                keys = [(key, _FACT_CODES.get(key, key))]
            for probe, k in keys:
                n = _fact_name(k) if k in FACT_NAMES or k.startswith("findings.") else name
                if not self.known(probe):
                    rules = unknown.setdefault(k, (n, []))[1]
                    if rule not in rules:
                        rules.append(rule)
        derived: list[GivenFact] = []
        f = self.facts
        if f.hf_symptoms is None and f.symptomatic is not None:
            basis = (f"NYHA class {_ROMAN[f.nyha]}" if f.nyha is not None else "breathlessness given as present")
            derived.append(GivenFact("symptomatic", FACT_NAMES["symptomatic"], f.symptomatic, f"derived from {basis}"))
        notes = []
        if f.hf_symptoms is False and f.nyha is not None and f.nyha >= 2:
            notes.append("Symptoms or signs of heart failure were given as absent, but NYHA class "
                         f"{_ROMAN[f.nyha]} was given, which means symptoms with ordinary activity; the rules "
                         "used the explicit answer (absent). Please check both.")
        missing = tuple(UnknownFact(k, n, tuple(r), _fact_category(k)) for k, (n, r) in unknown.items())
        return FactsSummary(tuple(shown), missing, tuple(derived), tuple(notes))

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": PHENOTYPE_SCHEMA,
            "patient": self.facts.model_dump(mode="json", exclude_none=True),
            "measurements": [m.to_dict() for m in self.measurements],
            "n_history": len(self.history),
            "notes": list(self.notes),
        }



# -- parsing helpers ---------------------------------------------------------------------------


def _naive(t: datetime | None) -> datetime:
    if t is None:
        return datetime.min
    return t.replace(tzinfo=None)


def _parse_time(raw: Any, where: str) -> datetime | None:
    if raw is None or isinstance(raw, datetime):
        return raw
    if isinstance(raw, date):
        return datetime(raw.year, raw.month, raw.day)
    try:
        return datetime.fromisoformat(str(raw))
    except ValueError:
        raise InvalidInputError(f"{where}: time={raw!r}: expected an ISO date or date-time, e.g. 2024-05-01") from None


def _measurement(raw: Any, where: str, *, trusted: bool = False, defaults: dict[str, Any] | None = None) -> Measurement:
    if not isinstance(raw, dict):
        raise InvalidInputError(f"{where}={raw!r}: expected an object with code, value, unit")
    d = {**(defaults or {}), **raw}
    code = d.get("code")
    if code not in CONCEPTS:
        if trusted and isinstance(code, str):
            try:
                return Measurement(**{**d, "time": _parse_time(d.get("time"), where)})
            except ValidationError as exc:
                raise InvalidInputError(f"{where}: {exc.errors()[0]['msg']}") from None
        raise InvalidInputError(f"{where}: code={code!r} is not a known measurement concept; expected one of {sorted(CONCEPTS)}")
    c = CONCEPTS[code]
    value, unit = d.get("value"), d.get("unit")
    if isinstance(value, (dict, str)):
        value, unit2 = parse_quantity(value, field=f"{where} {code}")
        unit = unit or unit2
    v, canonical = to_canonical(code, value, unit, field=f"{where} {code}")
    if c.regional == "segment" and d.get("segment") is None:
        raise InvalidInputError(f"{where} {code}: needs 'segment' (AHA 1–17)")
    if c.regional == "vessel" and d.get("vessel") is None:
        raise InvalidInputError(f"{where} {code}: needs 'vessel' (LM, LAD, LCx, RCA)")
    vessel = d.get("vessel")
    if isinstance(vessel, str) and vessel.upper() in ("LCX", "CX", "CFX"):
        vessel = "LCx"
    elif isinstance(vessel, str):
        vessel = vessel.upper()
    modality = d.get("modality")
    if isinstance(modality, str):
        modality = {"CMR": "MR", "MRI": "MR", "CCTA": "CT", "CTA": "CT", "SPECT": "NM", "PET": "PT",
                    "ECHO": "US", "TTE": "US"}.get(modality.upper(), modality.upper())
    try:
        return Measurement(
            code=code, name=d.get("name") or c.name, value=v, unit=canonical, method=d.get("method", "") or "",
            source=d.get("source") or "entered", reference=d.get("reference", "") or "",
            phase=d.get("phase"), segment=d.get("segment"), modality=modality,
            time=_parse_time(d.get("time"), where), z_score=d.get("z_score"), vessel=vessel,
            vessel_segment=d.get("vessel_segment"), pattern=d.get("pattern"),
            reference_range=d.get("reference_range"),
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise InvalidInputError(f"{where} {code}: {loc}={err.get('input')!r}: {err['msg']}") from None


def _entered_text(value: Any, unit: Any, canonical: str) -> str | None:
    """The value as typed, where its unit was converted (``"141.6 pmol/L"``), else ``None``."""
    if unit is None:
        return None
    from heartprint.units import normalize_unit

    try:
        same = normalize_unit(unit) == canonical
    except InvalidInputError:
        same = False
    return None if same else f"{value:g} {unit}".strip()


_LAB_KEYS = {"code", "value", "unit", "time", "method", "source", "name", "modality"}


def _labs(raw: Any) -> list[tuple[Measurement, str | None]]:
    """The labs (list or object form) as measurements (source ``entered``, modality ``LAB``),
    each with the value as typed where its unit was converted."""
    if isinstance(raw, dict):
        items = [{"code": k, **(v if isinstance(v, dict) else {"value": v})} for k, v in raw.items()]
    elif isinstance(raw, list):
        items = raw
    else:
        raise InvalidInputError(f"labs={raw!r}: expected a list of {{code, value, unit}} "
                                "or an object name → {value, unit}")
    out = []
    for i, item in enumerate(items):
        where = f"labs[{i}]"
        if not isinstance(item, dict):
            raise InvalidInputError(f"{where}={item!r}: expected an object with code, value, unit")
        extra = sorted(set(item) - _LAB_KEYS)
        if extra:
            raise InvalidInputError(f"{where}: unknown key(s) {extra}; expected code, value, unit and optionally time")
        item = {**item, "code": lab_code(item.get("code"), field=f"{where} code")}
        m = _measurement(item, where, defaults={"modality": "LAB"})
        value, unit = item.get("value"), item.get("unit")
        if isinstance(value, (dict, str)):
            value, unit2 = parse_quantity(value, field=f"{where} {m.code}")
            unit = unit or unit2
        out.append((m, _entered_text(value, unit, m.unit)))
    return out


def _from_given(entries: Any) -> Phenotype:
    """The facts and labs of a study document's ``facts.given`` list (round trip of
    :meth:`FactsSummary.to_dict`), each with its recorded source, checked like a facts file."""
    if not isinstance(entries, list):
        raise InvalidInputError(f"facts.given={entries!r}: expected a list")
    by_source: dict[str, dict[str, Any]] = {}
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or "key" not in e or "value" not in e:
            raise InvalidInputError(f"facts.given[{i}]={e!r}: expected an object with key, value, source")
        doc = by_source.setdefault(str(e.get("source") or "entered"), {"patient": {}, "labs": []})
        key = str(e["key"])
        if key in LAB_CODES:
            doc["labs"].append({k: e[k] for k in ("value", "unit", "time") if e.get(k) is not None} | {"code": key})
            continue
        head, _, tail = key.partition(".")
        path = _FIELD_PATHS.get(key) or ((head, tail) if head in ("risk_factors", "findings") and tail else None)
        if path is None:
            raise InvalidInputError(f"facts.given[{i}]: key={key!r} is not a patient fact or a lab")
        node = doc["patient"]
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = {"value": e["value"], "unit": e["unit"]} if key == "age" and e.get("unit") else e["value"]
    ph = Phenotype()
    for src, doc in by_source.items():
        ph = ph.override(Phenotype.from_dict(doc, source=src))
    return ph


def _study(study: Any, where: str) -> Phenotype:
    if not isinstance(study, dict):
        raise InvalidInputError(f"{where}: expected an object with modality, date and measurements or analysis")
    t = _parse_time(study.get("date") or study.get("time"), where)
    modality = study.get("modality")
    if "analysis" in study or "series" in study:
        doc = study.get("analysis") or study
        ph = Phenotype.from_analysis(doc, time=t, modality=modality.upper() if isinstance(modality, str) else None)
    else:
        ph = Phenotype()
    defaults = {k: v for k, v in (("modality", modality), ("time", t), ("source", study.get("source"))) if v is not None}
    for i, raw in enumerate(study.get("measurements") or []):
        ph.history.append(_measurement(raw, f"{where}.measurements[{i}]", defaults=defaults))
    return ph


_CHEST_PAIN = {"typical": "typical", "typical_angina": "typical", "atypical": "atypical", "atypical_angina": "atypical",
               "non_anginal": "non_anginal", "non-anginal": "non_anginal", "nonanginal": "non_anginal", "none": "none"}
_RHYTHM = {"sinus": "sinus", "sr": "sinus", "sinus rhythm": "sinus", "sinus_rhythm": "sinus", "af": "af",
           "atrial_fibrillation": "af", "atrial fibrillation": "af"}
_QRS_MORPHOLOGY = {"lbbb": "lbbb", "rbbb": "rbbb", "other": "other", "non_lbbb": "other", "non-lbbb": "other"}
_SEXES = {"m": "male", "male": "male", "man": "male", "f": "female", "female": "female", "woman": "female"}

#: Keys each part of the "patient" object may hold.
_PATIENT_KEYS = {"id", "patient_id", "age", "age_years", "sex", "height", "height_cm", "weight", "weight_kg",
                 "symptoms", "risk_factors", "n_antihypertensives", "rhythm", "qrs", "qrs_ms", "family_history",
                 "history", "findings"}
_PART_KEYS = {
    "symptoms": ("heart_failure", "chest_pain", "chest_pain_score", "dyspnoea", "nyha"),
    "qrs": ("duration_ms", "morphology"),
    "family_history": ("hcm", "scd"),
    "history": ("prior_mi", "days_since_mi", "months_omt", "prior_revascularisation", "pacing_indication"),
}
#: Fields that hold a count or a class (a true/false there is a mistake, not 1/0).
_INT_FIELDS = ("nyha", "chest_pain_score", "n_antihypertensives")


def _part(p: dict[str, Any], name: str) -> dict[str, Any]:
    """The object ``patient.<name>`` (``{}`` if absent), its keys checked."""
    part = p.get(name)
    if part is None:
        return {}
    if not isinstance(part, dict):
        raise InvalidInputError(f"patient.{name}={part!r}: expected an object with some of {', '.join(_PART_KEYS[name])}")
    unknown = sorted(set(part) - set(_PART_KEYS[name]))
    if unknown:
        raise InvalidInputError(f"patient.{name}: unknown key(s) {unknown}; expected some of {', '.join(_PART_KEYS[name])}")
    return part


def _choice(raw: Any, table: Mapping[str, str], where: str, expected: str) -> str:
    v = table.get(str(raw).strip().lower()) if isinstance(raw, str) else None
    if v is None:
        raise InvalidInputError(f"{where}={raw!r}: expected one of {expected}")
    return v


def _facts(p: dict[str, Any]) -> tuple[PatientFacts, list[Measurement], dict[str, str]]:
    """Patient facts (converted, checked), the measurements they imply (age, height, ...), and
    the values as typed where a unit was converted (fact key → text)."""
    if not isinstance(p, dict):
        raise InvalidInputError(f"patient={p!r}: expected an object")
    unknown = set(p) - _PATIENT_KEYS
    if unknown:
        raise InvalidInputError(f"patient: unknown key(s) {sorted(unknown)}; expected some of {sorted(_PATIENT_KEYS)}")
    out: dict[str, Any] = {"patient_id": p.get("id") or p.get("patient_id")}
    entered: dict[str, str] = {}

    def qty(code: str, name: str, keys: tuple[tuple[str, str | None], ...]) -> float | None:
        """First present key; its implied unit (None: the value must carry a unit) applies to bare numbers."""
        for key, implied in keys:
            if p.get(key) is None:
                continue
            value, u = parse_quantity(p[key], field=f"patient.{key}")
            v, cu = to_canonical(code, value, u or implied, field=f"patient.{key}")
            if text := _entered_text(value, u, cu):
                entered[name] = text
            return v
        return None

    # Age is conventionally given in years: a bare number under "age" is read as years.
    out["age"] = qty("age", "age", (("age", "a"), ("age_years", "a")))
    out["height_cm"] = qty("height", "height_cm", (("height", None), ("height_cm", "cm")))
    out["weight_kg"] = qty("weight", "weight_kg", (("weight", None), ("weight_kg", "kg")))
    if p.get("sex") is not None:
        out["sex"] = _choice(p["sex"], _SEXES, "patient.sex", "'male' or 'female'")
    sym = _part(p, "symptoms")
    if sym.get("chest_pain") is not None:
        out["chest_pain"] = _choice(sym["chest_pain"], _CHEST_PAIN, "patient.symptoms.chest_pain",
                                    "typical, atypical, non_anginal, none")
    out["hf_symptoms"] = sym.get("heart_failure")
    for k in ("chest_pain_score", "dyspnoea", "nyha"):
        out[k] = sym.get(k)
    out["risk_factors"] = p.get("risk_factors")
    out["n_antihypertensives"] = p.get("n_antihypertensives")
    if p.get("rhythm") is not None:
        out["rhythm"] = _choice(p["rhythm"], _RHYTHM, "patient.rhythm", "sinus, af")
    qrs = _part(p, "qrs")
    if qrs.get("duration_ms") is not None or p.get("qrs_ms") is not None:
        where, raw = ("patient.qrs.duration_ms", qrs["duration_ms"]) if qrs.get("duration_ms") is not None \
            else ("patient.qrs_ms", p["qrs_ms"])
        value, u = parse_quantity(raw, field=where)
        out["qrs_ms"], cu = to_canonical("qrs_duration", value, u or "ms", field=where)
        if text := _entered_text(value, u, cu):
            entered["qrs_ms"] = text
    if qrs.get("morphology") is not None:
        out["qrs_morphology"] = _choice(qrs["morphology"], _QRS_MORPHOLOGY, "patient.qrs.morphology", "lbbb, rbbb, other")
    fh = _part(p, "family_history")
    out["family_history_hcm"], out["family_history_scd"] = fh.get("hcm"), fh.get("scd")
    hist = _part(p, "history")
    for k in _PART_KEYS["history"]:
        out[k] = hist.get(k)
    out["findings"] = p.get("findings") or {}
    for k in _INT_FIELDS:
        if isinstance(out.get(k), bool):
            path = "patient." + ".".join(_FIELD_PATHS[k])
            raise InvalidInputError(f"{path}={out[k]!r}: expected a whole number, not true/false")
    try:
        facts = PatientFacts(**{k: v for k, v in out.items() if v is not None})
    except ValidationError as exc:
        err = exc.errors()[0]
        head = str(err["loc"][0]) if err["loc"] else ""
        loc = ".".join([*_FIELD_PATHS.get(head, (head,)), *(str(x) for x in err["loc"][1:])])
        raise InvalidInputError(f"patient.{loc}={err.get('input')!r}: {err['msg']}") from None
    return facts, _fact_measurements(facts), entered

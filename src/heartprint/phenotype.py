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
        "symptoms": {"chest_pain": "typical|atypical|non_anginal|none",
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
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from heartprint.concepts import CONCEPTS
from heartprint.errors import InvalidInputError
from heartprint.measure import Measurement
from heartprint.units import parse_quantity, to_canonical

__all__ = ["PatientFacts", "Phenotype", "RiskFactors", "PHENOTYPE_SCHEMA"]

PHENOTYPE_SCHEMA = "heartprint.phenotype/1"



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
    """Facts about the patient that are not imaging measurements (canonical units)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    patient_id: str | None = None
    age: float | None = Field(default=None, ge=0, le=120)
    sex: Literal["male", "female"] | None = None
    height_cm: float | None = None
    weight_kg: float | None = None
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
    days_since_mi: float | None = Field(default=None, ge=0)
    months_omt: float | None = Field(default=None, ge=0)
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
        if self.nyha is not None:
            return self.nyha >= 2
        if self.dyspnoea or (self.chest_pain not in (None, "none")):
            return True
        return None


def _key(m: Measurement) -> tuple[str, int | None, str | None, str | None]:
    return (m.code, m.segment, m.vessel, m.vessel_segment)


@dataclass
class Phenotype:
    """A patient's facts and measurements (all kept in :attr:`history`; latest wins)."""

    facts: PatientFacts = field(default_factory=PatientFacts)
    history: list[Measurement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

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

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> "Phenotype":
        """Build from the JSON schema in the module docstring (or an analysis document)."""
        if not isinstance(doc, dict):
            raise InvalidInputError(f"phenotype input: expected a JSON object, got {type(doc).__name__}")
        if "series" in doc and ("patient" not in doc or str(doc.get("schema", "")).startswith("heartprint.study/")):
            return cls.from_analysis(doc)
        unknown = set(doc) - {"schema", "patient", "labs", "measurements", "studies", "disclaimer", "description"}
        if unknown:
            raise InvalidInputError(f"phenotype input: unknown key(s) {sorted(unknown)}; expected patient, labs, measurements, studies")
        facts, derived = _facts(doc.get("patient") or {})
        ph = cls(facts=facts, history=list(derived))
        ph.history.extend(_labs(doc.get("labs") or []))
        for i, raw in enumerate(doc.get("measurements") or []):
            ph.history.append(_measurement(raw, f"measurements[{i}]"))
        for j, study in enumerate(doc.get("studies") or []):
            ph = ph.merge(_study(study, f"studies[{j}]"))
        return ph

    @classmethod
    def from_json(cls, path_or_text: str | Path) -> "Phenotype":
        """Build from a JSON file path or a JSON string."""
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
        return cls.from_dict(doc)

    @classmethod
    def from_analysis(cls, doc: dict[str, Any], *, time: datetime | None = None, modality: str | None = None) -> "Phenotype":
        """Measurements from a ``heartprint analyze`` document (``measurements.json``).

        Series whose QC status is ``error`` are skipped and said so in :attr:`notes`. A
        ``heartprint.study/2`` document also gives the patient's sex, age, height and weight, and
        its study date times the measurements.
        """
        ph = cls()
        patient = doc.get("patient") if isinstance(doc.get("patient"), dict) else None
        if patient is not None:
            study_date = (doc.get("study") or {}).get("date")
            if time is None and study_date:
                time = _parse_time(study_date, "study.date")
            facts: dict[str, Any] = {}
            for key, name, unit in (("sex", "sex", None), ("age_years", "age", None), ("height_cm", "height", "cm"),
                                    ("weight_kg", "weight", "kg")):
                v = (patient.get(key) or {}).get("value") if isinstance(patient.get(key), dict) else None
                if v is not None and not (key == "sex" and v not in ("male", "female")):
                    facts[name] = {"value": v, "unit": unit} if unit else v
            if facts:
                ph = ph.merge(cls.from_dict({"patient": facts}))
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
        """A new phenotype with all histories; facts given later override unknown/earlier ones."""
        facts = self.facts.model_dump()
        history, notes = list(self.history), list(self.notes)
        for o in others:
            for k, v in o.facts.model_dump().items():
                if k == "risk_factors":
                    facts[k] = {**facts[k], **{a: b for a, b in v.items() if b is not None}}
                elif k == "findings":
                    facts[k] = {**facts[k], **v}
                elif v is not None:
                    facts[k] = v
            history += o.history
            notes += o.notes
        return Phenotype(PatientFacts(**facts), history, notes)

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


def _labs(raw: Any) -> Iterable[Measurement]:
    items = [{"code": k, **(v if isinstance(v, dict) else {"value": v})} for k, v in raw.items()] if isinstance(raw, dict) else raw
    for i, item in enumerate(items):
        yield _measurement(item, f"labs[{i}]", defaults={"modality": "LAB"})


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


def _facts(p: dict[str, Any]) -> tuple[PatientFacts, list[Measurement]]:
    """Patient facts (converted, checked) and the measurements they imply (age, height, ...)."""
    if not isinstance(p, dict):
        raise InvalidInputError(f"patient={p!r}: expected an object")
    known = {"id", "patient_id", "age", "age_years", "sex", "height", "height_cm", "weight", "weight_kg", "symptoms",
             "risk_factors", "n_antihypertensives", "rhythm", "qrs", "qrs_ms", "family_history", "history", "findings"}
    unknown = set(p) - known
    if unknown:
        raise InvalidInputError(f"patient: unknown key(s) {sorted(unknown)}; expected some of {sorted(known)}")
    out: dict[str, Any] = {"patient_id": p.get("id") or p.get("patient_id")}
    derived: list[Measurement] = []

    def qty(code: str, keys: tuple[tuple[str, str | None], ...]) -> float | None:
        """First present key; its implied unit (None: the value must carry a unit) applies to bare numbers."""
        for key, implied in keys:
            if p.get(key) is None:
                continue
            value, u = parse_quantity(p[key], field=f"patient.{key}")
            v, cu = to_canonical(code, value, u or implied, field=f"patient.{key}")
            derived.append(Measurement(code=code, name=CONCEPTS[code].name, value=v, unit=cu, source="entered",
                                       modality="CLINIC"))
            return v
        return None

    # Age is conventionally given in years: a bare number under "age" is read as years.
    out["age"] = qty("age", (("age", "a"), ("age_years", "a")))
    out["height_cm"] = qty("height", (("height", None), ("height_cm", "cm")))
    out["weight_kg"] = qty("weight", (("weight", None), ("weight_kg", "kg")))
    sex = p.get("sex")
    if sex is not None:
        s = str(sex).strip().lower()
        out["sex"] = {"m": "male", "male": "male", "man": "male", "f": "female", "female": "female", "woman": "female"}.get(s)
        if out["sex"] is None:
            raise InvalidInputError(f"patient.sex={sex!r}: expected 'male' or 'female'")
    sym = p.get("symptoms") or {}
    if sym.get("chest_pain") is not None:
        cp = _CHEST_PAIN.get(str(sym["chest_pain"]).strip().lower())
        if cp is None:
            raise InvalidInputError(f"patient.symptoms.chest_pain={sym['chest_pain']!r}: expected one of typical, atypical, non_anginal, none")
        out["chest_pain"] = cp
    for k in ("chest_pain_score", "dyspnoea", "nyha"):
        if sym.get(k) is not None:
            out[k] = sym[k]
    if p.get("risk_factors") is not None:
        out["risk_factors"] = p["risk_factors"]
    if p.get("n_antihypertensives") is not None:
        out["n_antihypertensives"] = p["n_antihypertensives"]
    if p.get("rhythm") is not None:
        r = str(p["rhythm"]).strip().lower()
        out["rhythm"] = {"sinus": "sinus", "sr": "sinus", "af": "af", "atrial_fibrillation": "af",
                         "atrial fibrillation": "af"}.get(r, r)
    qrs = p.get("qrs") or {}
    raw_qrs = qrs.get("duration_ms", p.get("qrs_ms"))
    if raw_qrs is not None:
        v, _ = to_canonical("qrs_duration", raw_qrs, "ms", field="patient.qrs.duration_ms")
        out["qrs_ms"] = v
        derived.append(Measurement(code="qrs_duration", name="QRS duration", value=v, unit="ms", source="entered", modality="ECG"))
    if qrs.get("morphology") is not None:
        out["qrs_morphology"] = str(qrs["morphology"]).strip().lower()
    fh = p.get("family_history") or {}
    out["family_history_hcm"], out["family_history_scd"] = fh.get("hcm"), fh.get("scd")
    hist = p.get("history") or {}
    for k in ("prior_mi", "days_since_mi", "months_omt", "prior_revascularisation", "pacing_indication"):
        out[k] = hist.get(k)
    out["findings"] = p.get("findings") or {}
    try:
        facts = PatientFacts(**{k: v for k, v in out.items() if v is not None})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise InvalidInputError(f"patient.{loc}={err.get('input')!r}: {err['msg']}") from None
    if facts.bmi is not None:
        v, cu = to_canonical("bmi", facts.bmi, "kg/m2", field="patient BMI (from height and weight)")
        derived.append(Measurement(code="bmi", name="Body mass index", value=v, unit=cu, source="entered",
                                   method="weight / height^2", modality="CLINIC"))
    return facts, derived

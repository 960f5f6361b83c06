"""Measurements and quality-control flags: the currency between rooms.

A :class:`Measurement` is one number with its UCUM unit, a stable code, the method that
produced it, the series it came from and the reference it follows. A :class:`QCFlag` is a
reason to look twice at a result, carrying the value that triggered it. A later layer
(``phenotype``, ``clinical``) builds Findings on top of these; nothing here interprets.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "MODALITIES", "VESSELS", "Finding", "Measurement", "QCFlag", "Recommendation", "ReferenceRange", "Severity",
    "UCUM_UNITS",
]

#: UCUM unit strings heartprint emits. ``"1"`` is the UCUM unit for a dimensionless count or
#: ratio. The second group (pressures, velocities, laboratory concentrations, anthropometry)
#: is what the phenotype layer stores after :mod:`heartprint.units` has converted an entry:
#: ``mm[Hg]`` (UCUM's millimetre of mercury), ``umol/L`` (µmol/L), ``mmol/mol`` (HbA1c, IFCC),
#: ``mL/min/{1.73_m2}`` (eGFR), ``a`` (year).
UCUM_UNITS: frozenset[str] = frozenset(
    {
        "mL", "mL/m2", "g", "mg", "g/m2", "%", "ms", "mm", "mm2", "cm2", "cm2/m2", "m2", "L/min", "L/min/m2",
        "mL/s", "/min", "HU", "mL/min/g", "1", "cm", "kg",
        # phenotype layer (clinical inputs)
        "mm[Hg]", "cm/s", "m/s", "pg/mL", "ng/L", "pmol/L", "mmol/L", "mg/dL", "umol/L", "mmol/mol",
        "mL/min/{1.73_m2}", "kg/m2", "a", "mm3", "g/dL", "mL/min", "s",
    }
)

#: Modality labels a measurement may carry (DICOM (0008,0060) values where one exists,
#: plus ``ICA`` (invasive angiography), ``LAB`` (laboratory), ``ECG`` and ``CLINIC`` (entered)).
MODALITIES: frozenset[str] = frozenset({"MR", "CT", "NM", "PT", "US", "XA", "ICA", "LAB", "ECG", "CLINIC"})

#: Coronary vessels a regional measurement may name (LM left main, LAD, LCx, RCA).
VESSELS: frozenset[str] = frozenset({"LM", "LAD", "LCx", "RCA"})


class Severity(str, Enum):
    """How much a QC flag matters: ``info`` (note), ``warning`` (check), ``error`` (do not use)."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class ReferenceRange(BaseModel):
    """A normal range for a measurement, with the population it applies to and its source."""

    model_config = ConfigDict(frozen=True)

    low: float | None = None
    high: float | None = None
    population: str = ""  # e.g. "adult men, SSFP 1.5 T"
    reference: str = ""  # citation with DOI

    @model_validator(mode="after")
    def _ordered(self) -> "ReferenceRange":
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"reference range low={self.low} > high={self.high}")
        return self


class Measurement(BaseModel):
    """One measured value.

    Attributes
    ----------
    code
        Stable machine key, e.g. ``"lv_edv"``; never changes once published.
    name
        Human-readable name, e.g. ``"LV end-diastolic volume"``.
    value, unit
        The number and its UCUM unit (``mL``, ``mL/m2``, ``g``, ``%``, ``ms``, ...).
    method
        Short description of how the value was obtained.
    source
        The input it was measured on (series instance UID or file name).
    reference
        Citation (with DOI where there is one) of the definition or constant used.
    reference_range
        Optional normal range.
    phase
        Optional cardiac phase (``"ED"``, ``"ES"`` or a frame index as text).
    segment
        Optional AHA segment number (1–17, Cerqueira et al. 2002).
    modality
        Optional modality of the source (see :data:`MODALITIES`: ``MR``, ``CT``, ``NM``, ``PT``,
        ``US``, ``ICA``, ``LAB``, ...).
    time
        Optional acquisition (or sampling) date-time; the phenotype keeps the latest value
        per concept.
    z_score
        Optional z-score against a verified reference population (``reference_range`` names it).
    interpretation
        Optional verdict against ``reference_range``: ``"low"``, ``"normal"`` or ``"high"``
        (set only where a verified range for the modality, method, sex and age applies).
    vessel, vessel_segment
        Optional coronary vessel (``LM``, ``LAD``, ``LCx``, ``RCA``) and its part
        (``proximal``, ``mid``, ``distal``) for per-vessel results (stenosis, FFR).
    pattern
        Optional qualitative descriptor of a regional result, e.g. LGE distribution
        (``subendocardial``, ``transmural``, ``mid_wall``, ``epicardial``, ``diffuse``, ``rv_insertion``).
    """

    model_config = ConfigDict(frozen=True)

    code: str = Field(min_length=1, pattern=r"^[a-z0-9_]+$")
    name: str
    value: float
    unit: str
    method: str = ""
    source: str | None = None
    reference: str = ""
    reference_range: ReferenceRange | None = None
    phase: str | None = None
    segment: int | None = Field(default=None, ge=1, le=17)
    modality: str | None = None
    time: datetime | None = None
    z_score: float | None = None
    interpretation: Literal["low", "normal", "high"] | None = None
    vessel: str | None = None
    vessel_segment: str | None = Field(default=None, pattern=r"^(proximal|mid|distal)$")
    pattern: str | None = Field(default=None, pattern=r"^[a-z0-9_]+$")

    @field_validator("modality")
    @classmethod
    def _modality(cls, modality: str | None) -> str | None:
        if modality is not None and modality not in MODALITIES:
            raise ValueError(f"modality={modality!r}: expected one of {sorted(MODALITIES)}")
        return modality

    @field_validator("vessel")
    @classmethod
    def _vessel(cls, vessel: str | None) -> str | None:
        if vessel is not None and vessel not in VESSELS:
            raise ValueError(f"vessel={vessel!r}: expected one of {sorted(VESSELS)}")
        return vessel

    @property
    def concept(self) -> Any:
        """The :class:`heartprint.concepts.Concept` for :attr:`code` (``None`` if not in the table)."""
        from heartprint.concepts import CONCEPTS

        return CONCEPTS.get(self.code)

    @field_validator("unit")
    @classmethod
    def _ucum(cls, unit: str) -> str:
        if unit not in UCUM_UNITS:
            raise ValueError(f"unit={unit!r}: expected one of the UCUM units {sorted(UCUM_UNITS)}")
        return unit

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (``None`` fields dropped)."""
        return self.model_dump(mode="json", exclude_none=True)


class QCFlag(BaseModel):
    """A quality-control observation about an analysis.

    ``message`` states the measured value that triggered the flag and the threshold;
    ``details`` carries the same numbers in machine-readable form (slice and phase lists,
    values, thresholds).
    """

    model_config = ConfigDict(frozen=True)

    code: str = Field(min_length=1, pattern=r"^[a-z0-9_]+$")
    severity: Severity
    message: str
    details: dict[str, Any] = Field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class Finding(BaseModel):
    """A conclusion drawn by a cited rule from measurements (never from pixels).

    Attributes
    ----------
    code
        Stable key of the conclusion, e.g. ``"hfref"``, ``"cad_rads_4a"``.
    statement
        Human-readable conclusion, e.g. ``"HF with reduced EF (LVEF 32 %)"``.
    status
        ``"present"``, ``"absent"`` or ``"not_assessable"`` (then ``missing`` names what is needed).
    rule
        The rule's identifier (module.function) that produced it.
    citation
        Guideline, year, table/section and DOI.
    inputs
        The measurements/facts the rule used: ``{name: {"value":…, "unit":…, "source":…}}``.
    missing
        Inputs the rule needed but did not have ("not assessable: needs X").
    details
        Rule-specific numbers (points, probability, category, thresholds applied).
    """

    model_config = ConfigDict(frozen=True)

    code: str = Field(min_length=1, pattern=r"^[a-z0-9_]+$")
    statement: str
    status: str = Field(default="present", pattern=r"^(present|absent|not_assessable)$")
    rule: str
    citation: str
    inputs: dict[str, Any] = Field(default_factory=dict)
    missing: list[str] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class Recommendation(BaseModel):
    """An action suggested by a guideline, with its class and level where the guideline gives them.

    ``findings`` lists the codes of the findings behind it.
    """

    model_config = ConfigDict(frozen=True)

    code: str = Field(min_length=1, pattern=r"^[a-z0-9_]+$")
    action: str
    recommendation_class: str | None = None  # "I", "IIa", "IIb", "III"
    level_of_evidence: str | None = None  # "A", "B", "C"
    citation: str
    findings: list[str] = Field(default_factory=list)
    rationale: str = ""

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

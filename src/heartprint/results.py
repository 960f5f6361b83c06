"""Typed results: what every analyser returns and every output reads.

The flow is ``io → Image → <modality analyser> → SeriesResult → StudyResult → outputs``.
Nothing in between passes dictionaries: a :class:`SeriesResult` holds the series'
:class:`~heartprint.measure.Measurement` objects, :class:`~heartprint.measure.QCFlag` objects,
per-AHA-segment values (:class:`SegmentValues`, what a bull's-eye draws), the label map and
what figures need. A :class:`StudyResult` groups one patient's series of one study with the
patient's identity (:class:`PatientIdentity`) and the study's description (:class:`StudyInfo`).

JSON exists only at the edge: :meth:`StudyResult.to_dict` produces the
``heartprint.study/2`` document, whose JSON Schema ships in the package
(``heartprint/schemas/study-2.schema.json``, :func:`study_schema`).

An analyser is declared once, by the modality package that owns it, as an :class:`Analyser`
(kind taken, kinds it needs from the same study, concept codes it emits, report section,
function). ``heartprint.pipeline`` lists the modality packages and orders analysers by need;
no other module keeps a table of kinds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Callable, Literal, Mapping, Sequence

from heartprint.measure import Measurement, QCFlag, Severity

if TYPE_CHECKING:  # pragma: no cover
    from heartprint.image import Image

__all__ = [
    "STUDY_SCHEMA", "Analyser", "AnalysisContext", "jsonable", "Provenanced", "PatientIdentity", "SegmentValues", "SeriesResult",
    "StudyInfo", "StudyResult", "qc_status", "study_schema", "validate_study_dict",
]

#: Identifier of the study document written by :meth:`StudyResult.to_dict`.
STUDY_SCHEMA = "heartprint.study/2"

SeriesStatus = Literal["analysed", "not_analysed", "failed"]
_QC_ORDER = {"ok": 0, "info": 1, "warning": 2, "error": 3}


def qc_status(flags: Sequence[QCFlag | Mapping[str, Any]]) -> str:
    """The worst severity among ``flags`` (objects or their dicts): ``ok``, ``info``, ``warning`` or ``error``."""
    worst = max((_QC_ORDER[Severity(f["severity"] if isinstance(f, Mapping) else f.severity).value] for f in flags),
                default=0)
    return {v: k for k, v in _QC_ORDER.items()}[worst]


@dataclass(frozen=True)
class SegmentValues:
    """One quantity per AHA segment (1–17), as a bull's-eye draws it.

    ``code`` is the concept code of the per-segment measurements (``lv_wall_thickness``,
    ``lge_transmurality``, ``native_t1``...); ``label`` the legend; ``vmin``/``vmax`` the colour
    scale (``None``: from the data); ``cmap`` a matplotlib colour map name.
    """

    code: str
    label: str
    unit: str
    values: Mapping[int, float]
    vmin: float | None = None
    vmax: float | None = None
    cmap: str = "viridis"

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "label": self.label, "unit": self.unit,
                "values": {str(k): float(v) for k, v in sorted(self.values.items())},
                "vmin": self.vmin, "vmax": self.vmax, "cmap": self.cmap}


@dataclass
class SeriesResult:
    """One series' outcome (typed). ``status``: ``analysed``, ``not_analysed`` or ``failed``.

    Attributes
    ----------
    measurements, qc
        The series' measurements and quality-control flags.
    segment_maps
        Per-AHA-segment values for bull's-eye plots.
    method
        One line on how the series was analysed.
    model
        Provenance of a segmentation model used (name, checksum, ensemble, TTA), or ``None``.
    figure_data
        JSON-able data figures need beyond the measurements: ``curves`` (volume per phase),
        ``phases`` (ED/ES indices), ``coverage``, ``lesions`` (calcium), ...
    details
        JSON-able analyser-specific results (LGE remote statistics, per-segment detail,
        transfer fit, per-artery calcium...), written to the JSON document as they are.
    labels, image, source_headers
        The label map (heartprint labels, on the series' grid), the loaded image and the source
        DICOM headers (for SEG/SR and overlays). Never written to JSON.
    """

    series_uid: str
    kind: str
    status: SeriesStatus
    message: str = ""
    seconds: float = 0.0
    measurements: list[Measurement] = field(default_factory=list)
    qc: list[QCFlag] = field(default_factory=list)
    segment_maps: list[SegmentValues] = field(default_factory=list)
    method: str = ""
    model: dict[str, Any] | None = None
    figure_data: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    study_uid: str | None = None
    series_description: str = ""
    labels: "Image | None" = field(default=None, repr=False)
    image: "Image | None" = field(default=None, repr=False)
    source_headers: list[Any] | None = field(default=None, repr=False)

    @property
    def qc_status(self) -> str:
        return qc_status(self.qc)

    def global_values(self) -> dict[str, float]:
        """Code → value of the series' global (not per-segment, not per-vessel) measurements."""
        return {m.code: m.value for m in self.measurements if m.segment is None and m.vessel is None}

    def segment_map(self, code: str) -> SegmentValues | None:
        return next((s for s in self.segment_maps if s.code == code), None)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"series_uid": self.series_uid, "kind": self.kind, "status": self.status,
                               "seconds": round(float(self.seconds), 3)}
        if self.study_uid:
            out["study_uid"] = self.study_uid
        if self.series_description:
            out["series_description"] = self.series_description
        if self.message:
            out["message"] = self.message
        if self.status == "analysed":
            out.update({
                "method": self.method,
                "qc_status": self.qc_status,
                "measurements": [m.to_dict() for m in self.measurements],
                "qc": [q.to_dict() for q in self.qc],
                "segment_maps": [s.to_dict() for s in self.segment_maps],
                "figure_data": jsonable(self.figure_data),
                "details": jsonable(self.details),
            })
            if self.model is not None:
                out["model"] = jsonable(self.model)
        return out


@dataclass(frozen=True)
class Provenanced:
    """A value with where it came from: ``"DICOM"``, ``"command line"``, ``"facts file"``, ``"derived"``."""

    value: Any
    source: str

    def to_dict(self) -> dict[str, Any]:
        v = self.value.isoformat() if isinstance(self.value, date) else self.value
        return {"value": v, "source": self.source}


@dataclass(frozen=True)
class PatientIdentity:
    """Who the results belong to. ``patient_id`` with ``issuer`` identifies the patient;
    every other field is a :class:`Provenanced` value or ``None`` (unknown)."""

    patient_id: str | None = None
    issuer: str | None = None
    name: str | None = None  # DICOM PN form, e.g. "DOE^JANE"
    sex: Provenanced | None = None  # "male" / "female" / "other"
    birth_date: Provenanced | None = None  # datetime.date
    age_years: Provenanced | None = None
    height_cm: Provenanced | None = None
    weight_kg: Provenanced | None = None
    bsa_m2: Provenanced | None = None

    @property
    def key(self) -> tuple[str, str]:
        """(issuer, patient ID): what groups series and studies into one patient."""
        return (self.issuer or "", self.patient_id or "")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"patient_id": self.patient_id, "issuer": self.issuer, "name": self.name}
        for k in ("sex", "birth_date", "age_years", "height_cm", "weight_kg", "bsa_m2"):
            v = getattr(self, k)
            out[k] = None if v is None else v.to_dict()
        return out


@dataclass(frozen=True)
class StudyInfo:
    """One imaging study: Study Instance UID, date, description, accession number, modalities."""

    study_uid: str
    date: date | None = None
    description: str = ""
    accession_number: str = ""
    modalities: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"study_uid": self.study_uid, "date": self.date.isoformat() if self.date else None,
                "description": self.description, "accession_number": self.accession_number,
                "modalities": list(self.modalities)}


@dataclass
class StudyResult:
    """One patient's one study: its series results, the patient, and the interpretation.

    ``history`` lists the other studies of the same patient whose measurements the
    interpretation used (never another patient's).
    """

    source: str
    patient: PatientIdentity
    study: StudyInfo
    series: list[SeriesResult]
    skipped_files: list[dict[str, str]] = field(default_factory=list)
    history: list[StudyInfo] = field(default_factory=list)
    #: :class:`heartprint.clinical.interpret.Interpretation`, or a failure message
    interpretation: Any = None
    interpretation_error: str | None = None
    #: a research risk model's answer for this patient (:func:`heartprint.risk.explain`), when one was given
    risk: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    #: :class:`heartprint.phenotype.FactsSummary`: the patient facts given (with sources) and
    #: those the rules take that were not given; set with the interpretation
    facts: Any = None

    @property
    def study_uids(self) -> list[str]:
        return [self.study.study_uid]

    @property
    def status(self) -> str:
        """``ok`` (every analysable series analysed), ``partial`` (some failed) or ``failed``
        (none analysed although some had an analyser, or nothing could be analysed)."""
        tried = [s for s in self.series if s.status != "not_analysed"]
        ok = [s for s in tried if s.status == "analysed"]
        if not tried or not ok:
            return "failed"
        return "ok" if len(ok) == len(tried) else "partial"

    def analysed(self, kind: str | None = None) -> list[SeriesResult]:
        return [s for s in self.series if s.status == "analysed" and (kind is None or s.kind == kind)]

    def measurements(self) -> list[Measurement]:
        """Every measurement of the analysed series whose QC is not ``error``."""
        return [m for s in self.analysed() if s.qc_status != "error" for m in s.measurements]

    def to_dict(self) -> dict[str, Any]:
        from heartprint import DISCLAIMER, __version__

        out: dict[str, Any] = {
            "schema": STUDY_SCHEMA,
            "heartprint_version": __version__,
            "disclaimer": DISCLAIMER,
            "source": self.source,
            "status": self.status,
            "patient": self.patient.to_dict(),
            "study": self.study.to_dict(),
            "study_uids": self.study_uids,
            "history": [h.to_dict() for h in self.history],
            "series": [s.to_dict() for s in self.series],
            "skipped_files": list(self.skipped_files),
            "notes": list(self.notes),
        }
        if self.facts is not None:
            out["facts"] = jsonable(self.facts.to_dict())
        if self.interpretation is not None:
            out["interpretation"] = self.interpretation.to_dict()
        elif self.interpretation_error is not None:
            out["interpretation"] = {"status": "failed", "message": self.interpretation_error}
        if self.risk is not None:
            out["risk"] = jsonable(self.risk)
        return out


# -- analysers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnalysisContext:
    """What an analyser is given besides its image: the run's options and the results of the
    kinds it declared in :attr:`Analyser.needs` (same study, analysed first)."""

    options: Any  # heartprint.pipeline.AnalysisOptions
    inputs: Mapping[str, SeriesResult] = field(default_factory=dict)
    #: ``progress(stage, **info)``, e.g. ``progress("segmented", kind=..., series_uid=...)``
    progress: Callable[..., None] = field(default=lambda stage, **info: None)

    def need(self, kind: str) -> SeriesResult:
        """The analysed series of ``kind`` this analyser declared it needs, or a clear error."""
        from heartprint.errors import InvalidInputError

        res = self.inputs.get(kind)
        if res is None or res.status != "analysed":
            raise InvalidInputError(f"needs an analysed {kind} series in the same study, and there is none")
        return res


@dataclass(frozen=True)
class Analyser:
    """A modality package's declaration of one analyser.

    Attributes
    ----------
    kind
        The series kind it takes (a :class:`heartprint.io.classify.SeriesKind` value).
    run
        ``(image, context) -> SeriesResult``.
    needs
        Kinds whose results (same study) it reads from ``context.inputs``; an absent one
        fails the series with a message naming it.
    emits
        Concept codes (:data:`heartprint.concepts.CONCEPTS`) of the measurements it can produce.
    modality
        DICOM modality of its measurements (``MR``, ``CT``, ``NM``, ``PT``, ``US``).
    section
        Report section it belongs to (``function``, ``ischaemia``, ``tissue``, ``coronary``).
    title
        Plain name for people (``"cine short-axis CMR"``).
    reads
        ``"image"`` (default) or ``"headers"`` (a series without pixels, e.g. a vendor's SR).
    """

    kind: str
    run: Callable[["Image", AnalysisContext], SeriesResult]
    modality: str
    section: str
    title: str
    needs: tuple[str, ...] = ()
    emits: tuple[str, ...] = ()
    #: ``"image"``: ``run`` gets the loaded :class:`~heartprint.image.Image`; ``"headers"``: a series without
    #: pixels (a structured report) — ``run`` gets its DICOM datasets (``list[pydicom.Dataset]``) instead
    reads: str = "image"


# -- JSON at the edge -------------------------------------------------------------------------


def jsonable(obj: Any) -> Any:
    """Plain JSON types (NumPy scalars/arrays, tuples, dates converted; NaN/inf → None)."""
    import math

    import numpy as np

    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return jsonable(obj.item())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, date):
        return obj.isoformat()
    if hasattr(obj, "to_dict"):
        return jsonable(obj.to_dict())
    return obj


@lru_cache(maxsize=1)
def study_schema() -> dict[str, Any]:
    """The JSON Schema of the ``heartprint.study/2`` document (shipped in the package)."""
    text = resources.files("heartprint").joinpath("schemas/study-2.schema.json").read_text()
    return json.loads(text)


def validate_study_dict(doc: Mapping[str, Any]) -> None:
    """Raise :class:`~heartprint.errors.InvalidInputError` unless ``doc`` follows the schema."""
    import jsonschema

    from heartprint.errors import InvalidInputError

    validator = jsonschema.Draft202012Validator(study_schema())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.absolute_path) or "(document)"
        raise InvalidInputError(f"study result does not follow {STUDY_SCHEMA} at {where}: {e.message}")

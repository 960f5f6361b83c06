"""The one path a study takes: scan → group by patient and study → analyse each series by its
modality's analyser → phenotype → interpretation. Everything stays typed
(:mod:`heartprint.results`); JSON is made only by the outputs.

The CLI, the demo, and later the service and cohort runs call :func:`analyze` (every patient
and study under a path) or :func:`analyze_study` (exactly one study); none re-implements it.

Adding a modality: write its package with an ``ANALYSERS`` tuple of
:class:`~heartprint.results.Analyser` and add the package's name to :data:`MODALITY_PACKAGES`.
Analysers run in the order their ``needs`` impose (a kind's analyser runs after the analysers
of the kinds it needs). A series whose analysis fails is recorded with its error and the study
goes on; series of a kind with no analyser are listed as ``not_analysed``.
"""

from __future__ import annotations

import importlib
import re
import time
import warnings
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping, Sequence

from heartprint.errors import HeartprintError, InvalidInputError, SkippedFileWarning
from heartprint.image import Image
from heartprint.results import (
    AnalysisContext, Analyser, PatientIdentity, Provenanced, SeriesResult, StudyInfo, StudyResult,
)

__all__ = [
    "MODALITY_PACKAGES", "AnalysisOptions", "analysers", "analyser_for", "analyze", "analyze_headers", "analyze_image",
    "analyze_study",
    "facts_document", "facts_summary", "interpret_study", "patient_facts", "patient_identity",
]

#: The modality packages whose ``ANALYSERS`` the pipeline runs. A new modality adds one line here.
MODALITY_PACKAGES: tuple[str, ...] = (
    "heartprint.cmr",
    "heartprint.ct",
    "heartprint.nuclear",
    "heartprint.echo",
)

#: Progress callback: ``progress(stage, **info)``; stages ``found``, ``loaded``, ``segmented``,
#: ``analysed``, ``interpreted`` (``written`` is sent by the output writer's caller).
Progress = Callable[..., None]

_SEXES = {"male", "female", "other"}


def _checked(code: str, name: str, value: float | None, unit: str) -> float | None:
    """``value`` (in ``unit``) range-checked against the concept's plausible range (``units.to_canonical``)."""
    if value is None:
        return None
    from heartprint.units import to_canonical

    return to_canonical(code, value, unit, field=name)[0]


@dataclass(frozen=True)
class AnalysisOptions:
    """Per-run options, validated when made (a bad value fails before any work starts).

    The patient facts come in layers, each said by its source in the outputs: the DICOM headers
    ((0010,0040) sex, (0010,1010) age, (0010,1020) size, (0010,1030) weight), overridden by the
    facts file (``patient_facts``, source ``facts_file_source``), overridden by the command line
    (``height_cm``, ``weight_kg``, ``sex``, ``age_years`` and ``entered_facts``, source
    ``facts_source``). Where the command line does not give sex, age, height or weight and the
    facts file does, the file's value is taken here (and :meth:`source_of` names the file), so
    after construction those four fields hold the values in force: ``dataclasses.replace`` on an
    instance would pass them on as command-line values.
    """

    height_cm: float | None = None
    weight_kg: float | None = None
    sex: str | None = None
    age_years: float | None = None
    kind_overrides: Mapping[str, str] | None = None
    tta: bool = True
    #: score calcium on a contrast-enhanced CT anyway (refused by default: the enhanced blood pool
    #: is scored as calcium); the score then carries a ``contrast_enhanced_override`` warning
    calcium_allow_contrast: bool = False
    #: run the guideline rules on each study's measurements (``clinical.interpret``)
    interpret: bool = True
    #: patient facts from a facts file: a ``heartprint.phenotype/1`` document with "patient" and
    #: "labs" (no measurements or studies), or the "patient" object itself (docs/patient_facts.md)
    patient_facts: Mapping[str, Any] | None = None
    #: label maps supplied by the user, series UID → Image on the series' grid (heartprint labels)
    labels: Mapping[str, Image] | None = None
    #: segmentation model (an ``.onnx`` beside its ``.card.json``) used instead of the shipped one
    model_path: Path | None = None
    #: LV long axes given by the user for nuclear perfusion series, series UID →
    #: :class:`heartprint.nuclear.LVAxis` (instead of the automatic :func:`~heartprint.nuclear.find_lv_axis`)
    nm_axes: Mapping[str, Any] | None = None
    #: endocardial tracings given by the user for echo cines, series UID → list of
    #: :class:`heartprint.echo._cine.Tracing` (``--echo-contours FILE``, format ``heartprint.echo-contours/1``)
    echo_contours: Mapping[str, Any] | None = None
    #: apical view of echo cines given by the user, series UID → ``"A4C"``, ``"A2C"`` or ``"A3C"`` (``--echo-view``)
    echo_views: Mapping[str, str] | None = None
    #: a research risk model (:func:`heartprint.risk.load`), applied to each study's phenotype after the
    #: guideline rules (``analyze --risk-model DIR``); its answer goes to ``StudyResult.risk`` and the report
    risk_model: Any = None
    #: where the overriding values (height ... age, ``entered_facts``) came from, as the outputs say it
    facts_source: str = "command line"
    #: further patient facts from the command line (symptoms, NYHA class, rhythm, QRS, labs), in the
    #: same form as ``patient_facts``; they override the facts file
    entered_facts: Mapping[str, Any] | None = None
    #: where ``patient_facts`` came from, as the outputs say it
    facts_file_source: str = "facts file"
    _facts: Any = field(default=None, init=False, repr=False, compare=False)
    _sources: Mapping[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "height_cm", _checked("height", "height_cm", self.height_cm, "cm"))
        object.__setattr__(self, "weight_kg", _checked("weight", "weight_kg", self.weight_kg, "kg"))
        object.__setattr__(self, "age_years", _checked("age", "age", self.age_years, "a"))
        if self.sex is not None:
            sex = str(self.sex).strip().lower()
            sex = {"m": "male", "f": "female", "o": "other"}.get(sex, sex)
            if sex not in _SEXES:
                raise InvalidInputError(f"sex={self.sex!r}: expected male, female or other")
            object.__setattr__(self, "sex", sex)
        from heartprint.io.classify import SeriesKind

        kinds = {k.value for k in SeriesKind}
        for uid, kind in (self.kind_overrides or {}).items():
            if kind not in kinds:
                raise InvalidInputError(f"kind override {uid}={kind}: {kind!r} is not a series kind; expected one of "
                                        f"{', '.join(sorted(kinds))}")
        if self.nm_axes:
            from heartprint.nuclear import LVAxis

            for uid, ax in self.nm_axes.items():
                if not isinstance(ax, LVAxis):
                    raise InvalidInputError(f"nm axis for series {uid}: {type(ax).__name__}; expected a "
                                            "heartprint.nuclear.LVAxis (LVAxis.from_points(apex_lps, base_lps))")
        if self.echo_contours:
            from heartprint.echo._cine import Tracing

            for uid, tracings in self.echo_contours.items():
                if not all(isinstance(t, Tracing) for t in tracings):
                    raise InvalidInputError(f"echo contours for series {uid}: expected heartprint.echo.Tracing objects "
                                            "(heartprint.echo.load_contour_file(path))")
        for uid, view in (self.echo_views or {}).items():
            if view not in ("A4C", "A2C", "A3C"):
                raise InvalidInputError(f"echo view for series {uid}: {view!r}; expected A4C, A2C or A3C")
        from heartprint.phenotype import Phenotype

        # raises InvalidInputError naming the field
        file_facts = Phenotype.from_dict(facts_document(self.patient_facts), source=self.facts_file_source)
        entered = facts_document(self.entered_facts)
        patient = dict(entered.get("patient") or {})
        for attr, key, unit in (("sex", "sex", None), ("age_years", "age", "a"), ("height_cm", "height", "cm"),
                                ("weight_kg", "weight", "kg")):
            v = getattr(self, attr)
            if v is not None and v != "other":
                patient[key] = {"value": v, "unit": unit} if unit else v
        command_line = Phenotype.from_dict({**entered, "patient": patient}, source=self.facts_source)
        sources: dict[str, str] = {}
        for attr, key in (("sex", "sex"), ("age_years", "age"), ("height_cm", "height_cm"), ("weight_kg", "weight_kg")):
            if getattr(self, attr) is not None:
                sources[attr] = self.facts_source
            elif key in file_facts.given:
                object.__setattr__(self, attr, file_facts.given[key].value)
                sources[attr] = self.facts_file_source
        object.__setattr__(self, "_facts", file_facts.override(command_line))
        object.__setattr__(self, "_sources", MappingProxyType(sources))

    def source_of(self, name: str) -> str:
        """Where the option ``name`` (``sex``, ``age_years``, ``height_cm``, ``weight_kg``) came from."""
        return self._sources.get(name, self.facts_source)

    def facts_phenotype(self) -> Any:
        """The patient facts and labs of the options (:class:`heartprint.phenotype.Phenotype`): the
        facts file overridden by the command line, each fact with its source."""
        return self._facts


def facts_document(doc: Mapping[str, Any] | None) -> dict[str, Any]:
    """``{"patient": {...}, "labs": [...]}`` from a facts document: the ``heartprint.phenotype/1``
    form without measurements or studies, or the "patient" object alone. Raises
    :class:`InvalidInputError` for other top-level keys."""
    if not doc:
        return {}
    if not isinstance(doc, Mapping):
        raise InvalidInputError(f"patient facts: expected a JSON object, got {type(doc).__name__}")
    if "patient" not in doc and "labs" not in doc:
        return {"patient": dict(doc)}
    from heartprint.phenotype import PHENOTYPE_SCHEMA

    extra = sorted(set(doc) - {"schema", "patient", "labs", "description"})
    if extra:
        raise InvalidInputError(f"patient facts: unknown key(s) {extra}; a facts document holds patient and labs "
                                "(give measurements and studies to 'heartprint interpret')")
    if doc.get("schema") not in (None, PHENOTYPE_SCHEMA):
        raise InvalidInputError(f"patient facts: schema={doc['schema']!r}: expected {PHENOTYPE_SCHEMA!r}")
    return {"patient": doc.get("patient") or {}, "labs": doc.get("labs") or []}


def patient_facts(patient: PatientIdentity, facts: Mapping[str, Any] | None = None,
                  options: AnalysisOptions | None = None) -> Any:
    """The patient facts of a study, layer over layer, each with its source: what the DICOM
    headers say (sex, age, height, weight, as :class:`~heartprint.results.PatientIdentity` holds
    them), then the options' facts file and command line, then ``facts`` (a facts document, if it
    is not the options' own file; source ``"entered"``). Returns a
    :class:`heartprint.phenotype.Phenotype` of facts and labs."""
    from heartprint.phenotype import Phenotype

    ph = Phenotype.from_identity(patient.to_dict())
    if options is not None:
        ph = ph.override(options.facts_phenotype())
    if facts and (options is None or facts is not options.patient_facts):
        ph = ph.override(Phenotype.from_dict(facts_document(facts), source="entered"))
    return ph


def facts_summary(phenotype: Any) -> Any:
    """What was given about the patient and which facts the guideline rules take that were not
    (:class:`heartprint.phenotype.FactsSummary`).

    A rule counts when it would run on the phenotype, as ``clinical.interpret`` decides it: its
    domain is touched (or it has none), its ``applies`` holds, and the imaging measurements it
    requires are there (the device rules need an LVEF). Its facts are its declared :class:`Fact`
    inputs and its non-imaging :class:`Code` inputs (labs, QRS duration, age, BMI)
    (:data:`heartprint.clinical._registry.RULES`).
    """
    from heartprint.clinical._registry import RULES, Code, Fact, Snapshot, input_name
    from heartprint.concepts import CONCEPTS

    snap = Snapshot(phenotype)
    declared: list[tuple[str, str, str]] = []
    for spec in RULES.values():
        if spec.domain and not snap.codes.intersection(spec.domain):
            continue
        imaging = [src.code for name, src in spec.inputs.items() if name in spec.required and isinstance(src, Code)
                   and CONCEPTS[src.code].kind == "imaging"]
        if not snap.codes.issuperset(imaging) or (spec.applies is not None and not spec.applies(snap)):
            continue
        for src in spec.inputs.values():
            if isinstance(src, Fact):
                key = f"findings.{src.key}" if src.name == "findings" and src.key else src.name
            elif isinstance(src, Code) and CONCEPTS[src.code].kind != "imaging" and src.select != "regional":
                key = src.code
            else:
                continue
            declared.append((key, input_name(src), spec.name))
    return phenotype.facts_summary(declared)


# -- analysers ----------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def analysers() -> tuple[Analyser, ...]:
    """Every modality package's analysers, ordered so that each runs after those it needs.

    Raises :class:`~heartprint.errors.HeartprintError` if two analysers take the same kind, a
    kind is not a :class:`~heartprint.io.classify.SeriesKind`, or needs are missing or circular.
    """
    from heartprint.io.classify import SeriesKind

    found: dict[str, Analyser] = {}
    for pkg in MODALITY_PACKAGES:
        for a in importlib.import_module(pkg).ANALYSERS:
            if a.kind in found:
                raise HeartprintError(f"{pkg}: kind {a.kind!r} already has an analyser")
            found[a.kind] = a
    kinds = {k.value for k in SeriesKind}
    for a in found.values():
        bad = [k for k in (a.kind, *a.needs) if k not in kinds]
        if bad:
            raise HeartprintError(f"analyser {a.kind!r}: {bad} not series kinds")
        missing = [k for k in a.needs if k not in found]
        if missing:
            raise HeartprintError(f"analyser {a.kind!r} needs {missing}, which no analyser takes")
    ordered: list[Analyser] = []
    done: set[str] = set()
    pending = list(found.values())
    while pending:
        ready = [a for a in pending if set(a.needs) <= done]
        if not ready:
            raise HeartprintError(f"analysers with circular needs: {sorted(a.kind for a in pending)}")
        for a in ready:
            ordered.append(a)
            done.add(a.kind)
            pending.remove(a)
    return tuple(ordered)


def analyser_for(kind: str) -> Analyser | None:
    """The analyser that takes ``kind``, or ``None``."""
    return next((a for a in analysers() if a.kind == kind), None)


def _stamp(res: SeriesResult, analyser: Analyser, series_uid: str | None) -> SeriesResult:
    """Give every measurement its source series and modality (from the analyser's declaration)."""
    fixed = []
    for m in res.measurements:
        upd: dict[str, Any] = {}
        if m.modality is None:
            upd["modality"] = analyser.modality
        if not m.source:
            upd["source"] = series_uid
        fixed.append(m.model_copy(update=upd) if upd else m)
    res.measurements = fixed
    return res


def _no_progress(stage: str, **info: Any) -> None:
    return None


def analyze_image(image: Image, kind: str, options: AnalysisOptions = AnalysisOptions(),
                  inputs: Mapping[str, SeriesResult] | None = None, *, progress: Progress = _no_progress) -> SeriesResult:
    """Analyse one loaded series of a known kind (timed; a heartprint error becomes a failed result)."""
    t0 = time.perf_counter()
    analyser = analyser_for(kind)
    uid = image.series_uid or ""
    if analyser is None:
        return SeriesResult(uid, kind, "not_analysed", message=f"no analyser for kind {kind!r} yet")
    ctx = AnalysisContext(options=options, inputs=dict(inputs or {}), progress=progress)
    try:
        res = _stamp(analyser.run(image, ctx), analyser, image.series_uid)
    except HeartprintError as exc:
        res = SeriesResult(uid, kind, "failed", message=" ".join(str(exc).split()))
    res.seconds = time.perf_counter() - t0
    return res


def analyze_headers(headers: Sequence[Any], kind: str, options: AnalysisOptions = AnalysisOptions(),
                    inputs: Mapping[str, SeriesResult] | None = None, series_uid: str = "") -> SeriesResult:
    """Analyse a series without pixels (an analyser with ``reads="headers"``) from its DICOM datasets."""
    t0 = time.perf_counter()
    analyser = analyser_for(kind)
    if analyser is None:
        return SeriesResult(series_uid, kind, "not_analysed", message=f"no analyser for kind {kind!r} yet")
    ctx = AnalysisContext(options=options, inputs=dict(inputs or {}))
    try:
        res = _stamp(analyser.run(list(headers), ctx), analyser, series_uid)
    except HeartprintError as exc:
        res = SeriesResult(series_uid, kind, "failed", message=" ".join(str(exc).split()))
    res.seconds = time.perf_counter() - t0
    return res


# -- identity -----------------------------------------------------------------------------------


def _text(ds: Any, keyword: str) -> str:
    v = ds.get(keyword) if ds is not None else None
    return "" if v is None else str(v).strip()


def _dicom_date(value: str) -> date | None:
    """A DA value as a date: ``YYYYMMDD``, or ``YYYY-MM-DD`` and the like; ``None`` when not a date
    (``00000000``, placeholders); :func:`heartprint.io._scan.header_notes` says which were read how."""
    from heartprint.io._scan import dicom_date

    return dicom_date(value)[0]


def _dicom_age(value: str) -> float | None:
    m = re.fullmatch(r"(\d{3})([DWMY])", value)
    if not m:
        return None
    n = int(m.group(1))
    return {"Y": float(n), "M": n / 12.0, "W": n * 7 / 365.25, "D": n / 365.25}[m.group(2)]


_IDENTITY_KEYS = ("PatientID", "IssuerOfPatientID", "PatientName", "PatientBirthDate", "PatientSex")


def patient_identity(headers: Sequence[Any], options: AnalysisOptions = AnalysisOptions()) -> PatientIdentity:
    """The patient of a study from its DICOM headers, with the options' overrides.

    Raises :class:`~heartprint.errors.InvalidInputError` if the headers disagree on the patient
    ((0010,0020) ID, (0010,0021) issuer, (0010,0010) name, (0010,0030) birth date, (0010,0040) sex).
    """
    from heartprint.io._scan import dicom_sex, plausible_size_weight

    def norm(ds: Any, k: str) -> str:  # compare what the values mean ('Male' and 'M' agree)
        if k == "PatientSex":
            return dicom_sex(_text(ds, k))[0] or ""
        if k == "PatientBirthDate":
            return str(_dicom_date(_text(ds, k)) or "")
        return _text(ds, k)

    seen: dict[str, set[str]] = {k: set() for k in _IDENTITY_KEYS}
    for ds in headers:
        for k in _IDENTITY_KEYS:
            seen[k].add(norm(ds, k))
    clash = {k: sorted(v) for k, v in seen.items() if len(v) > 1}
    if clash:
        what = "; ".join(f"{k} has {len(v)} different values" for k, v in clash.items())
        raise InvalidInputError(f"the series of one study disagree on the patient ({what}): "
                                "not analysed, because results could be attributed to the wrong patient")
    first = headers[0] if headers else None
    src = "DICOM"
    sex_raw = {"M": "male", "F": "female", "O": "other"}.get(dicom_sex(_text(first, "PatientSex"))[0] or "")
    sex = Provenanced(options.sex, options.source_of("sex")) if options.sex else (Provenanced(sex_raw, src) if sex_raw else None)
    birth = _dicom_date(_text(first, "PatientBirthDate"))
    age_raw = _dicom_age(_text(first, "PatientAge"))
    if options.age_years is not None:
        age = Provenanced(options.age_years, options.source_of("age_years"))
    elif age_raw is not None:
        age = Provenanced(age_raw, src)
    else:
        age = None
    size_m, weight, _ = plausible_size_weight(first) if first is not None else (None, None, [])
    height = (Provenanced(options.height_cm, options.source_of("height_cm")) if options.height_cm is not None
              else Provenanced(round(100.0 * size_m, 1), src) if size_m else None)
    wt = (Provenanced(options.weight_kg, options.source_of("weight_kg")) if options.weight_kg is not None
          else Provenanced(weight, src) if weight else None)
    return PatientIdentity(
        patient_id=_text(first, "PatientID") or None, issuer=_text(first, "IssuerOfPatientID") or None,
        name=_text(first, "PatientName") or None,
        sex=sex, birth_date=Provenanced(birth, src) if birth else None, age_years=age, height_cm=height, weight_kg=wt,
    )


def _study_info(study_uid: str, headers: Sequence[Any]) -> StudyInfo:
    first = headers[0] if headers else None
    mods = tuple(sorted({_text(ds, "Modality") for ds in headers if _text(ds, "Modality")}))
    return StudyInfo(study_uid=study_uid, date=_dicom_date(_text(first, "StudyDate")),
                     description=_text(first, "StudyDescription"), accession_number=_text(first, "AccessionNumber"),
                     modalities=mods)


# -- the study ----------------------------------------------------------------------------------


def _analyse_series_of_study(series_list: Sequence[Any], options: AnalysisOptions, progress: Progress,
                             study_uid: str) -> list[SeriesResult]:
    from heartprint.io import load_series

    order = {a.kind: i for i, a in enumerate(analysers())}
    ordered = sorted(series_list, key=lambda s: order.get(str(s.kind), len(order)))
    results: list[SeriesResult] = []
    done: dict[str, SeriesResult] = {}
    for series in ordered:
        kind = str(series.kind)
        analyser = analyser_for(kind)
        if analyser is None:
            results.append(SeriesResult(series.series_uid, kind, "not_analysed", study_uid=study_uid,
                                        series_description=series.description,
                                        message=f"no analyser for kind {kind!r} yet"))
            continue
        t0 = time.perf_counter()
        if analyser.reads == "headers":  # a series without pixels (a vendor's structured report)
            res = analyze_headers(list(series.headers), kind, options,
                                  {k: done[k] for k in analyser.needs if k in done}, series.series_uid)
            res.seconds = time.perf_counter() - t0
            res.study_uid = study_uid
            res.series_description = series.description
            if res.status == "analysed":
                res.source_headers = list(series.headers)
                done.setdefault(kind, res)
            results.append(res)
            progress("analysed", kind=kind, series_uid=series.series_uid, status=res.status, seconds=res.seconds)
            continue
        try:
            image = load_series(series)
        except HeartprintError as exc:
            results.append(SeriesResult(series.series_uid, kind, "failed", message=" ".join(str(exc).split()),
                                        seconds=time.perf_counter() - t0, study_uid=study_uid,
                                        series_description=series.description))
            progress("analysed", kind=kind, series_uid=series.series_uid, status="failed")
            continue
        progress("loaded", kind=kind, series_uid=series.series_uid)
        inputs = {k: done[k] for k in analyser.needs if k in done}
        res = analyze_image(image, kind, options, inputs, progress=progress)
        res.seconds = time.perf_counter() - t0
        res.study_uid = study_uid
        res.series_description = series.description
        if res.status == "analysed":
            res.source_headers = list(series.headers)
            res.image = res.image if res.image is not None else image
            done.setdefault(kind, res)
        results.append(res)
        progress("analysed", kind=kind, series_uid=series.series_uid, status=res.status, seconds=res.seconds)
    return results


def _with_bsa(patient: PatientIdentity, series: Sequence[SeriesResult]) -> PatientIdentity:
    from dataclasses import replace

    for s in series:
        for m in s.measurements:
            if m.code == "bsa" and m.segment is None:
                return replace(patient, bsa_m2=Provenanced(round(m.value, 3), f"derived ({m.method or 'BSA formula'})"))
    return patient


def analyze(path: str | Path, options: AnalysisOptions = AnalysisOptions(), *,
            progress: Progress = _no_progress) -> list[StudyResult]:
    """Scan ``path`` (folder, zip or file of DICOM) and analyse every study of every patient.

    Returns one :class:`~heartprint.results.StudyResult` per (patient, study), never merged. A
    study whose series disagree on the patient is returned with every series ``failed`` (the
    message says why). Each study's interpretation uses its own measurements and, as history,
    those of the same patient's other studies under ``path`` dated on or before it (listed in
    :attr:`StudyResult.history`).
    """
    from heartprint.io import scan

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkippedFileWarning)  # recorded on the result instead
        found = scan(path, kind_overrides=options.kind_overrides)
    from heartprint.io._scan import header_notes

    skipped = [{"file": str(s.source), "reason": s.reason} for s in found.skipped]
    if not len(found):
        raise InvalidInputError(f"{path}: no readable DICOM series found ({len(found.skipped)} files skipped)")
    studies = found.studies()
    progress("found", n_series=len(found), n_studies=len(studies), n_skipped=len(skipped))
    results: list[StudyResult] = []
    for study_uid, series_list in studies.items():
        headers = [s.first for s in series_list]
        info = _study_info(study_uid, headers)
        notes = [f"Header: {n}." for n in header_notes([h for s in series_list for h in s.headers])]
        try:
            patient = patient_identity([h for s in series_list for h in s.headers], options)
        except InvalidInputError as exc:
            msg = " ".join(str(exc).split())
            results.append(StudyResult(str(path), PatientIdentity(), info, [
                SeriesResult(s.series_uid, str(s.kind), "failed", message=msg, study_uid=study_uid,
                             series_description=s.description) for s in series_list], skipped_files=skipped,
                notes=notes))
            continue
        series = _analyse_series_of_study(series_list, options, progress, study_uid)
        results.append(StudyResult(str(path), _with_bsa(patient, series), info, series, skipped_files=skipped,
                                   notes=notes))
    _link_history(results)
    if options.interpret:
        for r in results:
            if r.analysed():
                interpret_study(r, results, facts=options.patient_facts, options=options)
                progress("interpreted", study_uid=r.study.study_uid)
    return results


def analyze_study(path: str | Path, options: AnalysisOptions = AnalysisOptions(), *,
                  progress: Progress = _no_progress) -> StudyResult:
    """Analyse the one study under ``path``; a path holding several studies or patients is an
    error that names them (use :func:`analyze`)."""
    results = analyze(path, options, progress=progress)
    if len(results) != 1:
        names = ", ".join(f"patient {r.patient.patient_id or '(no ID)'} study {r.study.study_uid}" for r in results)
        raise InvalidInputError(f"{path}: holds {len(results)} studies ({names}); analyse it with heartprint.pipeline.analyze")
    return results[0]


def _link_history(results: list[StudyResult]) -> None:
    """Each study's history: the same patient's other studies dated on or before it."""
    for r in results:
        if not r.patient.patient_id or r.study.date is None:
            if len(results) > 1 and not r.patient.patient_id:
                r.notes.append("The study has no Patient ID, so no other study was taken as this patient's history.")
            continue
        r.history = [o.study for o in results if o is not r and o.patient.key == r.patient.key
                     and o.study.date is not None and o.study.date <= r.study.date and o.analysed()]


def interpret_study(result: StudyResult, others: Sequence[StudyResult] = (), *, facts: Mapping[str, Any] | None = None,
                    options: AnalysisOptions | None = None) -> StudyResult:
    """Build the patient's phenotype from ``result`` (and the studies named in its history,
    found in ``others``), add the patient facts, and run the guideline rules; sets
    ``result.interpretation`` (or ``interpretation_error``) and returns ``result``.

    First, with the patient's sex and age known (identity, then ``facts``, which win; age from
    the birth and study dates when neither gives it), each analysed series' measurements are
    replaced by :func:`heartprint.clinical.reference_ranges.annotate`'s copies, which carry the
    verified reference range, z-score and verdict where one applies. The study result itself
    then holds them (measurements.json, report, SR, FHIR), and so do the rules' inputs."""
    from heartprint.clinical.interpret import interpret
    from heartprint.phenotype import Phenotype

    try:
        known = patient_facts(result.patient, facts, options)  # DICOM header < facts file < command line
        if known.facts.age is None and _age_at_study(result) is not None:  # the rules need it too
            known = Phenotype.from_dict({"patient": {"age": _age_at_study(result)}},
                                        source="derived (birth date and study date)").merge(known)
        _annotate_series(result, sex=known.facts.sex, age=known.facts.age)
        ph = Phenotype.from_study_result(result)
        history_uids = {h.study_uid for h in result.history}
        for o in others:
            if o is not result and o.study.study_uid in history_uids and o.patient.key == result.patient.key:
                ph = Phenotype.from_study_result(o).merge(ph)
        ph = ph.merge(known)
        result.facts = facts_summary(ph)
        result.interpretation = interpret(ph)
        if options is not None and options.risk_model is not None:
            result.risk = _risk(options.risk_model, ph)
    except HeartprintError as exc:
        result.interpretation_error = " ".join(str(exc).split())
    return result


def _risk(model: Any, ph: Any) -> dict[str, Any]:
    """The research risk model's answer for this patient (:func:`heartprint.risk.explain`): the risk at the
    horizon with its interval and top contributions, or "not assessable" naming the features the patient lacks
    (nothing is imputed for one patient); a model that cannot be applied is recorded, never raised."""
    from heartprint.risk import explain

    try:
        return explain(model, ph)
    except HeartprintError as exc:
        return {"status": "failed", "message": " ".join(str(exc).split())}


def _age_at_study(result: StudyResult) -> float | None:
    """Whole years from the birth date (0010,0030) to the study date (0008,0020), or ``None``."""
    birth = result.patient.birth_date.value if result.patient.birth_date is not None else None
    when = result.study.date
    if not isinstance(birth, date) or when is None or when < birth:
        return None
    return float(when.year - birth.year - ((when.month, when.day) < (birth.month, birth.day)))


def _annotate_series(result: StudyResult, *, sex: str | None, age: float | None) -> None:
    """Give each analysed series' measurements their verified reference range, z-score and
    verdict (:func:`heartprint.clinical.reference_ranges.annotate`; unchanged where none applies)."""
    from heartprint.clinical.reference_ranges import annotate

    for s in result.analysed():
        s.measurements = [annotate(m, sex=sex, age=age) for m in s.measurements]

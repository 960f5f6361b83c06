"""The one path a study takes: scan and classify series → analyse each by kind → results.

The CLI, the service and cohort runs all call :func:`analyze_study`; none re-implements it.
A series whose analysis fails is recorded with its error and the study goes on; a study
that cannot be read at all raises a :class:`~heartprint.errors.HeartprintError`.

Only the cine short-axis analyser exists so far; other kinds are listed as "not analysed"
with the reason, so nothing is dropped silently. New analysers register in
:data:`ANALYSERS` (kind → function ``(image, options) -> SeriesAnalysis``).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from heartprint import DISCLAIMER, __version__
from heartprint.errors import HeartprintError, InvalidInputError, SkippedFileWarning
from heartprint.image import Image

__all__ = ["AnalysisOptions", "SeriesAnalysis", "StudyResult", "analyze_study", "analyze_image", "interpret_study", "ANALYSERS"]


@dataclass(frozen=True)
class AnalysisOptions:
    """Per-run options. ``height_cm``/``weight_kg`` override the DICOM (0010,1020)/(0010,1030)."""

    height_cm: float | None = None
    weight_kg: float | None = None
    kind_overrides: Mapping[str, str] | None = None
    tta: bool = True
    #: run the guideline rules on the study's measurements (``clinical.interpret``)
    interpret: bool = True
    #: patient facts for the interpretation, in the ``heartprint.phenotype/1`` "patient" form
    patient_facts: Mapping[str, Any] | None = None
    #: label maps supplied by the user (e.g. from other software), series UID → Image on the
    #: series' grid in heartprint labels; used instead of the shipped network for that series
    labels: Mapping[str, Image] | None = None
    #: segmentation model (an ``.onnx`` beside its ``.card.json``, e.g. a training run's) used
    #: instead of the shipped one; its card is checked as the shipped one's is
    model_path: Path | None = None


@dataclass
class SeriesAnalysis:
    """One series' outcome: its results dict (JSON-able) and any label maps produced."""

    series_uid: str
    kind: str
    status: str  # "analysed", "not_analysed", "failed"
    result: dict[str, Any] = field(default_factory=dict)
    labels: Image | None = None
    message: str = ""
    seconds: float = 0.0
    #: the source series' DICOM headers (no pixels), for outputs that reference them (SEG, SR)
    source_headers: list[Any] | None = field(default=None, repr=False)
    #: the loaded source image (for figures such as segmentation overlays)
    image: Image | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out = {"series_uid": self.series_uid, "kind": self.kind, "status": self.status, "seconds": round(self.seconds, 3)}
        if self.message:
            out["message"] = self.message
        if self.result:
            out["result"] = self.result
        return out


@dataclass
class StudyResult:
    source: str
    series: list[SeriesAnalysis]
    skipped_files: list[dict[str, str]]
    study_uids: list[str]
    #: guideline interpretation of the study's measurements (``clinical.interpret``), if run
    interpretation: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "schema": "heartprint.study/1",
            "heartprint_version": __version__,
            "disclaimer": DISCLAIMER,
            "source": self.source,
            "study_uids": self.study_uids,
            "series": [s.to_dict() for s in self.series],
            "skipped_files": self.skipped_files,
        }
        if self.interpretation is not None:
            out["interpretation"] = self.interpretation
        return out


def interpret_study(result: StudyResult, *, facts: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Gather the study's measurements into a phenotype (plus optional patient ``facts`` in
    the ``heartprint.phenotype/1`` "patient" form) and interpret them with the guideline rules."""
    from heartprint.clinical.interpret import interpret
    from heartprint.phenotype import Phenotype

    ph = Phenotype.from_analysis(result.to_dict())
    if facts:
        ph = ph.merge(Phenotype.from_dict({"patient": dict(facts)}))
    return interpret(ph).to_dict()


def dicom_patient_facts(meta: Mapping[str, Any]) -> dict[str, Any]:
    """Patient facts from a series' DICOM header (``Image.meta``): (0010,0040) Patient's Sex,
    (0010,1010) Patient's Age, (0010,1020) Patient's Size, (0010,1030) Patient's Weight."""
    facts: dict[str, Any] = {}
    sex = {"M": "male", "F": "female"}.get(str(meta.get("patient_sex") or "").upper())
    if sex:
        facts["sex"] = sex
    age = str(meta.get("patient_age") or "")
    if len(age) == 4 and age[:3].isdigit() and age[3] == "Y":
        facts["age"] = int(age[:3])
    if meta.get("patient_height_cm"):
        facts["height"] = f"{float(meta['patient_height_cm']):g} cm"
    if meta.get("patient_weight_kg"):
        facts["weight_kg"] = float(meta["patient_weight_kg"])
    return facts


def _analyse_cine_sax(image: Image, options: AnalysisOptions, context: dict[str, Any]) -> SeriesAnalysis:
    from heartprint.cmr import analyze_cine_function
    from heartprint.segmentation import segment_cine
    from heartprint.segmentation._infer import ensemble_members

    if not image.is_cine:
        raise InvalidInputError(
            f"series {image.series_uid}: classified cine_sax but has a single phase (shape {image.array.shape})"
        )
    supplied = (options.labels or {}).get(image.series_uid or "")
    if supplied is not None:
        labels = _check_supplied_labels(supplied, image)
        segmentation = {"model": "supplied by the user", "model_sha256": None}
    else:
        labels = segment_cine(image, tta=options.tta, model_path=options.model_path)
        main, *others = ensemble_members(options.model_path)
        card = main.card
        segmentation = {
            "model": card.get("name"),
            "model_sha256": card.get("sha256"),
            "ensemble": [{"file": m.path.name, "sha256": m.card.get("sha256")} for m in others],
            "test_time_augmentation": options.tta,
            "validation": card.get("validation", {}).get("summary"),
        }
    res = analyze_cine_function(image, labels, height_cm=options.height_cm, weight_kg=options.weight_kg)
    out = res.to_dict()
    out["segmentation"] = segmentation
    context.setdefault("cine", (image, labels))
    return SeriesAnalysis(image.series_uid or "", "cine_sax", "analysed", out, image.with_array(labels.astype(np.uint8)))


def _check_supplied_labels(labels: Image, image: Image) -> np.ndarray:
    """A user's label map must lie on the series' grid (same shape and affine)."""
    from heartprint.errors import GeometryError

    arr = np.asarray(labels.array)
    if arr.shape != image.array.shape or not np.allclose(labels.affine, image.affine, atol=1e-3):
        raise GeometryError(
            f"supplied labels for series {image.series_uid}: shape {arr.shape}, spacing {tuple(round(v, 4) for v in labels.spacing)}, "
            f"origin {tuple(round(float(v), 3) for v in labels.origin)} do not match the series' shape {image.array.shape}, "
            f"spacing {tuple(round(v, 4) for v in image.spacing)}, origin {tuple(round(float(v), 3) for v in image.origin)}"
        )
    if arr.size and (arr.min() < 0 or arr.max() > 3):
        raise InvalidInputError(f"supplied labels for series {image.series_uid}: values {int(arr.min())}..{int(arr.max())}, expected 0–3")
    return arr.astype(np.uint8)


def _analyse_ct_calcium(image: Image, options: AnalysisOptions, context: dict[str, Any]) -> SeriesAnalysis:
    from heartprint.ct import analyse_calcium_series

    return SeriesAnalysis(image.series_uid or "", "ct_calcium", "analysed", analyse_calcium_series(image))


def _cine_for(kind: str, context: dict[str, Any]) -> tuple[Image, np.ndarray]:
    if "cine" not in context:
        raise InvalidInputError(
            f"{kind} series: no myocardium mask — the study has no analysed cine short-axis series to transfer it from"
        )
    return context["cine"]


def _analyse_lge(image: Image, options: AnalysisOptions, context: dict[str, Any]) -> SeriesAnalysis:
    from heartprint.cmr import analyse_lge_series

    cine, cine_labels = _cine_for("lge", context)
    return SeriesAnalysis(image.series_uid or "", "lge", "analysed", analyse_lge_series(image, cine=cine, cine_labels=cine_labels))


def _analyse_t1(image: Image, options: AnalysisOptions, context: dict[str, Any]) -> SeriesAnalysis:
    from heartprint.cmr import analyse_t1_series

    cine, cine_labels = _cine_for("t1_map", context)
    return SeriesAnalysis(image.series_uid or "", "t1_map", "analysed", analyse_t1_series(image, cine=cine, cine_labels=cine_labels))


#: kind → analyser. Later capabilities (LGE, mapping, CCTA, nuclear, echo) add theirs here.
#: An analyser may read and add to ``context`` (shared by the series of one study): the cine
#: analyser leaves ``context["cine"] = (image, labels)`` for LGE and mapping (mask transfer).
ANALYSERS: dict[str, Callable[[Image, AnalysisOptions, dict[str, Any]], SeriesAnalysis]] = {
    "cine_sax": _analyse_cine_sax,
    "ct_calcium": _analyse_ct_calcium,
    "lge": _analyse_lge,
    "t1_map": _analyse_t1,
}

#: Kinds analysed first, because others depend on their results (mask transfer).
_FIRST = ("cine_sax",)


def analyze_image(
    image: Image, kind: str, options: AnalysisOptions = AnalysisOptions(), context: dict[str, Any] | None = None
) -> SeriesAnalysis:
    """Analyse one loaded series of a known kind (timed; errors become a failed record)."""
    t0 = time.perf_counter()
    fn = ANALYSERS.get(kind)
    if fn is None:
        return SeriesAnalysis(image.series_uid or "", kind, "not_analysed", message=f"no analyser for kind {kind!r} yet")
    try:
        res = fn(image, options, {} if context is None else context)
    except HeartprintError as exc:
        res = SeriesAnalysis(image.series_uid or "", kind, "failed", message=str(exc))
    res.seconds = time.perf_counter() - t0
    return res


def analyze_study(path: str | Path, options: AnalysisOptions = AnalysisOptions()) -> StudyResult:
    """Scan ``path`` (folder, zip or file of DICOM), classify every series and analyse
    those with an analyser. Per-series failures are recorded, not raised."""
    from heartprint.io import load_series, scan

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkippedFileWarning)  # recorded on the result instead
        found = scan(path, kind_overrides=options.kind_overrides)
    if not len(found):
        raise InvalidInputError(f"{path}: no readable DICOM series found ({len(found.skipped)} files skipped)")
    analyses = []
    context: dict[str, Any] = {}
    ordered = sorted(found, key=lambda s: 0 if str(s.kind) in _FIRST else 1)
    for series in ordered:
        kind = str(series.kind)
        if kind not in ANALYSERS:
            analyses.append(SeriesAnalysis(series.series_uid, kind, "not_analysed", message=f"no analyser for kind {kind!r} yet"))
            continue
        t0 = time.perf_counter()
        try:
            image = load_series(series)
        except HeartprintError as exc:
            analyses.append(SeriesAnalysis(series.series_uid, kind, "failed", message=str(exc), seconds=time.perf_counter() - t0))
            continue
        context.setdefault("dicom_facts", dicom_patient_facts(image.meta))
        res = analyze_image(image, kind, options, context)
        res.seconds = time.perf_counter() - t0
        res.source_headers = list(series.headers)
        res.image = image
        analyses.append(res)
    skipped = [{"file": str(s.source), "reason": s.reason} for s in found.skipped]
    result = StudyResult(str(path), analyses, skipped, sorted(found.studies().keys()))
    if options.interpret and any(a.status == "analysed" for a in analyses):
        try:
            facts = {**context.get("dicom_facts", {}), **dict(options.patient_facts or {})}
            result.interpretation = interpret_study(result, facts=facts)
        except HeartprintError as exc:
            result.interpretation = {"status": "failed", "message": str(exc)}
    return result

"""The CT analysers the pipeline runs: coronary calcium scoring.

Declared once here as :class:`~heartprint.results.Analyser` objects; ``heartprint.pipeline``
collects :data:`ANALYSERS` from this package. (CCTA, :func:`heartprint.ct.analyse_ccta`, needs a
lumen mask from a segmenter that is not shipped yet, so it has no pipeline analyser.)
"""

from __future__ import annotations

from heartprint.image import Image
from heartprint.results import AnalysisContext, Analyser, SeriesResult

__all__ = ["ANALYSERS", "CT_CALCIUM"]


def _run_ct_calcium(image: Image, ctx: AnalysisContext) -> SeriesResult:
    """Refuses (raises, so the pipeline records the series as failed with the reason) a series whose
    score would be wrong: values not in HU, (0018,0060) KVP missing or not 120, a contrast-enhanced
    blood pool — the last unless the run's option ``calcium_allow_contrast`` is true."""
    from heartprint.ct._calcium import _series_qc, calcium_score

    allow_contrast = bool(ctx.options.calcium_allow_contrast)
    series_flags = _series_qc(image, None, allow_contrast=allow_contrast)
    res = calcium_score(image)
    doc = res.to_dict()
    m = res.method
    how = (f"Agatston scoring at >= {m['threshold_hu']:g} HU, {m['connectivity']}, lesions >= {m['min_area_mm2']:g} mm2, "
           f"slice increment {m['slice_increment_mm']:g} mm ({m['agatston_slice_factor']:g} x the 3 mm reference)")
    details = {k: v for k, v in doc.items() if k not in ("qc", "lesions", "method")}
    return SeriesResult(
        series_uid=image.series_uid or "", kind="ct_calcium", status="analysed",
        measurements=res.measurements(source=image.series_uid), qc=list(res.qc) + series_flags,
        method=how, figure_data={"lesions": doc["lesions"]}, details={**details, "scoring_method": m}, image=image,
    )


CT_CALCIUM = Analyser(kind="ct_calcium", run=_run_ct_calcium, modality="CT", section="coronary",
                      title="coronary calcium scoring CT",
                      emits=("cac_agatston", "cac_volume", "cac_mass", "cac_lesion_count"))

#: The analysers of this package, for ``heartprint.pipeline``.
ANALYSERS: tuple[Analyser, ...] = (CT_CALCIUM,)

"""Writing analysis results: measurements JSON and label maps (NIfTI), all or nothing.

Everything for one study goes into a temporary folder beside the destination, which is
then moved into place, so a crash never leaves a half-written result folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

from heartprint._atomic import atomic_dir
from heartprint.image import Image
from heartprint.io.nifti import write_nifti


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


def dumps(result: Mapping[str, Any]) -> str:
    """JSON text of a result dict (NumPy scalars and arrays converted; NaN written as null)."""
    import math

    def clean(o: Any) -> Any:
        if isinstance(o, float) and not math.isfinite(o):
            return None
        if isinstance(o, dict):
            return {k: clean(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [clean(v) for v in o]
        return o

    return json.dumps(clean(json.loads(json.dumps(result, default=_json_default))), indent=2)


def _standard_outputs(result: Mapping[str, Any], labels: Mapping[str, Image], sources: Mapping[str, Sequence[Any]],
                      tmp: Path) -> list[dict[str, str]]:
    """DICOM SEG + TID 1500 SR per segmented series, and one FHIR R4 Bundle for the study.

    Returns the outputs that could not be written (series UID, output, reason); the rest
    of the study's outputs are still written.
    """
    from heartprint.errors import HeartprintError
    from heartprint.io.fhir import build_fhir_bundle
    from heartprint.io.seg import write_seg
    from heartprint.io.sr import write_sr

    problems: list[dict[str, str]] = []
    all_measurements: list[Mapping[str, Any]] = []
    for series in result.get("series", []):
        uid = series.get("series_uid")
        res = series.get("result") or {}
        measurements = res.get("measurements") or []
        all_measurements.extend(measurements)
        if uid not in labels or not sources.get(uid):
            continue
        card = {"name": (res.get("segmentation") or {}).get("model"), "sha256": (res.get("segmentation") or {}).get("model_sha256")}
        try:
            seg = write_seg(labels[uid], list(sources[uid]), tmp / "dicom" / f"seg_{uid}.dcm", model_card=card)
            write_sr(measurements, tmp / "dicom" / f"sr_{uid}.dcm", seg=seg)
        except HeartprintError as exc:
            problems.append({"series_uid": uid, "output": "DICOM SEG/SR", "reason": str(exc)})
    if all_measurements:
        try:
            from heartprint import DISCLAIMER

            try:
                import fhir.resources  # noqa: F401  (the "fhir" extra validates the bundle)

                validate = True
            except ImportError:
                validate = False
                problems.append({"series_uid": "", "output": "FHIR bundle",
                                 "reason": "written without validation: fhir.resources (extra 'fhir') is not installed"})
            bundle = build_fhir_bundle(all_measurements, conclusion=DISCLAIMER, validate=validate)
            (tmp / "fhir_bundle.json").write_text(dumps(bundle))
        except HeartprintError as exc:
            problems.append({"series_uid": "", "output": "FHIR bundle", "reason": str(exc)})
    return problems


def write_study_outputs(
    result: Mapping[str, Any],
    labels: Mapping[str, Image],
    out_dir: str | Path,
    *,
    sources: Mapping[str, Sequence[Any]] | None = None,
) -> Path:
    """Write a study's outputs into ``out_dir``, all or nothing.

    ``measurements.json``, ``labels/<series_uid>.nii.gz`` and, when the source DICOM
    headers of a segmented series are given in ``sources`` (series UID → datasets),
    ``dicom/seg_<uid>.dcm`` (DICOM SEG), ``dicom/sr_<uid>.dcm`` (TID 1500 SR) and
    ``fhir_bundle.json`` (FHIR R4). An output that cannot be made is listed under
    ``output_problems`` in measurements.json. An existing ``out_dir`` is replaced only
    after the new contents are complete.
    """
    out = Path(out_dir)
    with atomic_dir(out) as tmp:
        if sources:
            problems = _standard_outputs(result, labels, sources, tmp)
            if problems:
                result = {**result, "output_problems": problems}
        (tmp / "measurements.json").write_text(dumps(result))
        if labels:
            (tmp / "labels").mkdir()
            for uid, img in labels.items():
                write_nifti(img, tmp / "labels" / f"{uid}.nii.gz")
    return out

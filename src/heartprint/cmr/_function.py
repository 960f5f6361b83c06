"""Cine short-axis ventricular function: volumes, EF, mass, rates, AHA wall thickness, QC.

Inputs are an :class:`~heartprint.image.Image` cine (``(t, z, y, x)`` with its affine and
frame times) and a label map of the same shape in the heartprint convention
(:mod:`heartprint.labels`). Nothing here segments, reads files or formats a report.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from heartprint import DISCLAIMER
from heartprint.anatomy._aha import AHA_REFERENCE, AHASegmentation, _levels, aha_segments
from heartprint.anthropometry import BSA_FORMULAS, body_surface_area
from heartprint.cmr._qc import (
    HEART_RATE_RANGE_BPM,
    QC_THRESHOLDS,
    RR_RANGE_MS,
    _flag,
    check_alignment,
    check_components,
    check_holes_and_enclosure,
    check_agreement,
    check_values,
)
from heartprint.cmr._slices import MIN_MYOCARDIAL_RING, SliceDecisions, ventricular_slices
from heartprint.cmr._rates import fourier_fit, peak_rates
from heartprint.cmr._thickness import WallThickness, wall_thickness
from heartprint.results import qc_status
from heartprint.errors import InvalidInputError
from heartprint.image import Image
from heartprint.labels import KNOWN_LABELS, LABEL_NAMES, LV_CAVITY, LV_MYOCARDIUM, RV_CAVITY
from heartprint.measure import Measurement, QCFlag, Severity

__all__ = ["CineFunctionResult", "MYOCARDIAL_DENSITY_G_PER_ML", "analyze_cine_function"]

#: Myocardial tissue density used to turn myocardial volume into mass (g/mL).
#: Conventional CMR value, attributed to Kawel-Boehm N et al., J Cardiovasc Magn Reson
#: 2020;22:87, doi:10.1186/s12968-020-00683-3. clinical_reference.md §9 tags it ☑C/⚠M:
#: NOT verified against the paper's text here. Secondary evidence: Gheorghe AG et al.,
#: BMC Med Imaging 2019 (doi:10.1186/s12880-019-0326-4) calls 1.055 g/mL the "hitherto used"
#: density (and measured 1.265 g/mL post mortem).
MYOCARDIAL_DENSITY_G_PER_ML = 1.05
MASS_REFERENCE = (
    "Myocardial density 1.05 g/mL, per Kawel-Boehm N et al. J Cardiovasc Magn Reson 2020;22:87, "
    "doi:10.1186/s12968-020-00683-3 (constant not verified against the paper; clinical_reference.md tag ⚠M)"
)
VOLUME_REFERENCE = "Summation of discs (voxel count x voxel volume from the image affine)"
SCHEMA = "heartprint.cmr.cine_function/1"

_MM3_PER_ML = 1000.0
_MS_PER_MIN = 60000.0
_ML_PER_L = 1000.0


@dataclass
class CineFunctionResult:
    """Everything :func:`analyze_cine_function` measured.

    Curves are per phase (mL); indices refer to the phase axis of the input.
    """

    measurements: list[Measurement]
    times_ms: np.ndarray | None
    lv_volume_ml: np.ndarray
    rv_volume_ml: np.ndarray
    myo_volume_ml: np.ndarray
    ed_index: int | None
    es_index: int | None
    rv_ed_index: int | None
    rv_es_index: int | None
    segment_thickness_mm: dict[int, float]
    qc: list[QCFlag]
    method: str
    coverage: dict[str, Any]
    source: str | None = None
    aha: AHASegmentation | None = None
    thickness: WallThickness | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: the labels measured: the input with the slices the valve-plane rules exclude removed
    #: (:mod:`heartprint.cmr._slices`); ``None`` before they are applied
    labels: np.ndarray | None = None

    def get(self, code: str, *, segment: int | None = None) -> Measurement | None:
        """The measurement with ``code`` (and ``segment``), or ``None``."""
        for m in self.measurements:
            if m.code == code and m.segment == segment:
                return m
        return None

    def value(self, code: str, *, segment: int | None = None) -> float | None:
        m = self.get(code, segment=segment)
        return None if m is None else m.value

    def qc_codes(self) -> set[str]:
        return {f.code for f in self.qc}

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form; see the module docstring of :mod:`heartprint.cmr` for the schema."""

        def lst(a: np.ndarray | None) -> list[float] | None:
            return None if a is None else [round(float(v), 4) for v in a]

        return {
            "schema": SCHEMA,
            "disclaimer": DISCLAIMER,
            "source": self.source,
            "method": self.method,
            "phases": {
                "n_phases": int(len(self.lv_volume_ml)),
                "lv_ed": self.ed_index,
                "lv_es": self.es_index,
                "rv_ed": self.rv_ed_index,
                "rv_es": self.rv_es_index,
            },
            "curves": {
                "unit": "mL",
                "time_ms": lst(self.times_ms),
                "lv_cavity": lst(self.lv_volume_ml),
                "rv_cavity": lst(self.rv_volume_ml),
                "lv_myocardium": lst(self.myo_volume_ml),
            },
            "segments": {
                "reference": AHA_REFERENCE,
                "wall_thickness_mm": {str(k): round(v, 3) for k, v in sorted(self.segment_thickness_mm.items())},
                "levels": {} if self.aha is None else {str(z): lv for z, lv in sorted(self.aha.levels.items())},
                "origin": None if self.aha is None else self.aha.origin,
            },
            "coverage": self.coverage,
            "measurements": [m.to_dict() for m in self.measurements],
            "qc": [f.to_dict() for f in self.qc],
            "qc_status": qc_status(self.qc),
        }


def _slices_method(decisions: SliceDecisions) -> str:
    return (f"Valve plane and apex: a basal slice counts as LV when myocardium rings >= {100 * MIN_MYOCARDIAL_RING:.0f} % "
            "of the cavity border (SCMR 2020); RV above the most basal LV slice and any label more basal than the "
            "end-diastolic base are not counted; apical cavity and apical-cap myocardium are counted "
            f"({len(decisions.excluded)} phase-slice(s) excluded; listed per slice in 'coverage').")


def _describe_exclusion(row: dict[str, Any]) -> str:
    return f"phase {row['phase']}, slice {row['slice']}: {row['reason']}"


def _check_inputs(image: Image, labels: np.ndarray) -> np.ndarray:
    labels = np.asarray(labels)
    if not image.is_cine:
        raise InvalidInputError(f"image array shape {image.array.shape}: expected a cine (t, z, y, x)")
    if labels.shape != image.array.shape:
        raise InvalidInputError(f"labels shape {labels.shape}: expected the image shape {image.array.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise InvalidInputError(f"labels dtype {labels.dtype}: expected an integer label map (uint8)")
    found = set(np.unique(labels).tolist())
    unknown = found - set(KNOWN_LABELS)
    if unknown:
        raise InvalidInputError(
            f"labels contain values {sorted(unknown)}: expected only {sorted(KNOWN_LABELS)} "
            "(heartprint.labels: 0 background, 1 LV cavity, 2 LV myocardium, 3 RV cavity)"
        )
    return labels


def _plausible(value: Any, lo: float, hi: float) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) and lo <= v <= hi else None


def _timing(image: Image) -> tuple[np.ndarray | None, float | None, float | None, str, list[QCFlag]]:
    """Frame times, RR (ms), heart rate (/min) and how they were obtained.

    Nothing implausible is used (issue 17): frame times that are not finite or not strictly
    increasing are dropped (no rates, no RR from them); a heart rate outside
    :data:`HEART_RATE_RANGE_BPM` or an RR outside :data:`RR_RANGE_MS` is not used (no heart rate,
    no cardiac output), and each is said in a QC flag. RR is estimated from frame times only with
    at least ``QC_THRESHOLDS["min_phases_for_rates"]`` phases, which then sample the whole cycle.
    """
    flags: list[QCFlag] = []
    times = image.frame_times_ms
    meta = image.meta or {}
    n_t = int(image.array.shape[0]) if image.array.ndim == 4 else 1
    if times is not None:
        t = np.asarray(times, dtype=float)
        if t.shape != (n_t,) or not np.all(np.isfinite(t)) or (t.size > 1 and not np.all(np.diff(t) > 0)):
            flags.append(_flag("frame_times_invalid", Severity.WARNING,
                               f"frame times {[round(float(v), 3) for v in t.ravel()[:40]]} ms are not {n_t} finite, "
                               "strictly increasing values: not used — filling/ejection rates and an RR from frame "
                               "times not computed", frame_times_ms=[float(v) for v in t.ravel()[:40]]))
            times = None
        else:
            times = t
    hr_lo, hr_hi = HEART_RATE_RANGE_BPM
    rr_lo, rr_hi = RR_RANGE_MS
    rr, rr_how = None, ""
    rr_bad = False
    if meta.get("rr_interval_ms") is not None:
        rr = _plausible(meta["rr_interval_ms"], rr_lo, rr_hi)
        if rr is None:
            rr_bad = True
            flags.append(_flag("rr_implausible", Severity.WARNING,
                               f"R-R interval {meta['rr_interval_ms']!r} ms is outside the plausible {rr_lo:g}–{rr_hi:g} ms: "
                               "not used", rr_ms=str(meta["rr_interval_ms"]), low=rr_lo, high=rr_hi))
        else:
            rr_how = "RR from meta 'rr_interval_ms' (DICOM (0018,1062))"
    n_min = int(QC_THRESHOLDS["min_phases_for_rates"])
    if rr is None and not rr_bad and times is not None and len(times) >= n_min:
        step = float(np.median(np.diff(times)))
        est = float(times[-1] + step)
        if _plausible(est, rr_lo, rr_hi) is not None:
            rr = est
            rr_how = f"RR estimated as last frame time + median frame interval = {times[-1]:.1f} + {step:.1f} ms"
            flags.append(_flag("rr_from_frame_times", Severity.INFO, rr_how + f" = {rr:.1f} ms", rr_ms=rr))
    if times is not None and rr is not None and times.max() >= rr:
        flags.append(
            _flag("rr_shorter_than_frames", Severity.WARNING,
                  f"RR {rr:.1f} ms is not longer than the last frame time {times.max():.1f} ms; RR re-estimated",
                  rr_ms=rr, last_frame_ms=float(times.max()))
        )
        step = float(np.median(np.diff(times))) if len(times) > 1 else 0.0
        est = float(times[-1] + step)
        if len(times) >= n_min and _plausible(est, rr_lo, rr_hi) is not None:
            rr, rr_how = est, "RR estimated from frame times (meta RR too short)"
        else:
            rr, rr_how = None, "no RR: meta RR shorter than the frames and too few phases to estimate it"
    if meta.get("heart_rate_bpm") is not None and meta.get("heart_rate_bpm") != "":
        hr = _plausible(meta["heart_rate_bpm"], hr_lo, hr_hi)
        if hr is None:  # never replaced by another source: the headers contradict or are corrupt
            hr_how = (f"heart rate {meta['heart_rate_bpm']!r} /min (DICOM (0018,1088)) outside the plausible "
                      f"{hr_lo:g}–{hr_hi:g} /min: not used, so heart rate and cardiac output are not reported")
            flags.append(_flag("heart_rate_implausible", Severity.WARNING, hr_how,
                               heart_rate=str(meta["heart_rate_bpm"]), low=hr_lo, high=hr_hi))
        else:
            hr_how = "heart rate from meta 'heart_rate_bpm' (DICOM (0018,1088))"
    elif rr:
        hr, hr_how = _MS_PER_MIN / rr, f"heart rate = 60000 / RR; {rr_how}"
    elif rr_bad:
        hr, hr_how = None, "no heart rate: the R-R interval is implausible"
    else:
        hr, hr_how = None, "no heart rate: no 'heart_rate_bpm', 'rr_interval_ms' or frame times"
    if times is None and image.frame_times_ms is None:
        flags.append(_flag("no_frame_times", Severity.WARNING,
                           "the cine has no frame times: filling/ejection rates not computed"))
    return times, rr, hr, hr_how + (f"; {rr_how}" if rr_how and rr_how not in hr_how else ""), flags


def _bsa(image: Image, height_cm: float | None, weight_kg: float | None, formula: str) -> tuple[float | None, str]:
    meta = image.meta or {}
    h = height_cm if height_cm is not None else meta.get("patient_height_cm")
    w = weight_kg if weight_kg is not None else meta.get("patient_weight_kg")
    if h is None or w is None:
        return None, f"BSA not available (height_cm={h!r}, weight_kg={w!r})"
    return body_surface_area(float(h), float(w), formula=formula), (  # type: ignore[arg-type]
        f"BSA {formula} from height {float(h):g} cm, weight {float(w):g} kg ({BSA_FORMULAS[formula]})"
    )


def analyze_cine_function(
    image: Image,
    labels: np.ndarray,
    *,
    height_cm: float | None = None,
    weight_kg: float | None = None,
    bsa_formula: Literal["mosteller", "dubois"] = "mosteller",
    insertion_points_lps: tuple[np.ndarray, np.ndarray] | None = None,
    base_first: bool | None = None,
    n_rays: int = 100,
    n_harmonics: int | None = None,
    valve_plane: bool = True,
    passes: Any = None,
) -> CineFunctionResult:
    """Ventricular function from a cine short-axis stack and its label maps.

    Parameters
    ----------
    image
        Cine SAX :class:`Image`, array ``(t, z, y, x)``; its affine gives the voxel volume and
        in-plane geometry; ``frame_times_ms`` (DICOM (0018,1060) Trigger Time) the time axis.
        ``meta`` may hold ``heart_rate_bpm``, ``rr_interval_ms``, ``patient_height_cm``,
        ``patient_weight_kg``.
    labels
        ``(t, z, y, x)`` integer label map on the image grid: 0 background, 1 LV cavity,
        2 LV myocardium, 3 RV cavity (:mod:`heartprint.labels`).
    height_cm, weight_kg
        For BSA indexing (override ``meta``). Range-checked.
    bsa_formula
        ``"mosteller"`` (default) or ``"dubois"``.
    insertion_points_lps
        Optional ``(anterior, inferior)`` RV insertion points (LPS mm) for the AHA model;
        default: found from the labels.
    base_first
        Force the base/apex direction of the slice order; default: from the cavity taper.
    n_rays, n_harmonics
        Rays per slice for wall thickness; Fourier harmonics for the rate fit.
    valve_plane
        Apply the valve-plane rules of :mod:`heartprint.cmr._slices` (default): basal slices
        that are atrium or outflow, and anything more basal than the end-diastolic base, are
        not counted; every decision is listed in ``coverage["slice_decisions"]``. ``False``
        counts every labelled voxel (for labels already drawn to a reader's convention).
    passes
        The network's per-pass labels (:class:`heartprint.segmentation.SegmentationPasses`);
        when given, their agreement is scored (:func:`heartprint.cmr._qc.check_agreement`).

    Returns
    -------
    CineFunctionResult
        Measurements (UCUM units), curves, ED/ES indices, AHA wall thickness, QC flags.
        Problems with the labels become QC flags rather than exceptions, so that a batch
        keeps going; malformed inputs raise :class:`~heartprint.errors.InvalidInputError`.
    """
    labels = _check_inputs(image, labels)
    source = image.series_uid or (image.meta or {}).get("source")
    vox_ml = image.voxel_volume_mm3 / _MM3_PER_ML
    decisions = None
    if valve_plane and labels.shape[0] >= 1 and (labels == LV_CAVITY).any():
        raw_ed = int(np.argmax((labels == LV_CAVITY).sum(axis=(1, 2, 3))))
        base_first = _levels(labels[raw_ed], image.voxel_volume_mm3, base_first)[1]
        decisions = ventricular_slices(labels, base_first=base_first)
        labels = decisions.labels
    n_t, n_z = labels.shape[:2]
    lv = (labels == LV_CAVITY).sum(axis=(1, 2, 3)) * vox_ml
    rv = (labels == RV_CAVITY).sum(axis=(1, 2, 3)) * vox_ml
    myo = (labels == LV_MYOCARDIUM).sum(axis=(1, 2, 3)) * vox_ml
    qc: list[QCFlag] = []
    method_parts = [
        f"Volumes by summation of discs: voxel count x voxel volume {image.voxel_volume_mm3:.4g} mm3 "
        f"(|det| of the image affine; spacing dz,dy,dx = {', '.join(f'{s:.3g}' for s in image.spacing)} mm). "
        + (_slices_method(decisions) if decisions is not None else
           "All labelled voxels are counted as segmented (no valve-plane rule applied); "
           "the basal third of the LV slices is reported in 'coverage'."),
        "LV ED = phase of maximum LV cavity volume, ES = minimum; RV ED/ES from the RV curve.",
        f"LV mass = myocardial volume x {MYOCARDIAL_DENSITY_G_PER_ML} g/mL at ED (and at ES for QC).",
    ]
    times, rr, hr, timing_how, tflags = _timing(image)
    qc += tflags
    method_parts.append(timing_how + ".")
    coverage: dict[str, Any] = {}
    result = CineFunctionResult(
        measurements=[], times_ms=times, lv_volume_ml=lv, rv_volume_ml=rv, myo_volume_ml=myo,
        ed_index=None, es_index=None, rv_ed_index=None, rv_es_index=None, segment_thickness_mm={},
        qc=qc, method="", coverage=coverage, source=source, labels=labels,
    )
    if decisions is not None:
        coverage["slice_decisions"] = decisions.table
        coverage["valve_plane_excluded_voxels"] = {LABEL_NAMES[k]: v for k, v in decisions.excluded_voxels.items()}
        if decisions.excluded:
            qc.append(_flag("valve_plane_exclusions", Severity.INFO,
                            f"{len(decisions.excluded)} phase-slice(s) held labels the valve-plane rules do not count "
                            f"(e.g. {_describe_exclusion(decisions.excluded[0])})",
                            excluded=[[r['phase'], r['slice'], r['lv'], r['rv']] for r in decisions.excluded]))

    valid = np.nonzero(lv > 0)[0]
    no_lv = [int(t) for t in np.nonzero(lv == 0)[0]]
    if not len(valid):
        qc.append(_flag("empty_labels", Severity.ERROR,
                        f"no LV cavity voxels (label {LV_CAVITY}) in any of the {n_t} phases; nothing measured",
                        n_phases=n_t, lv_myocardium_voxels=int((labels == LV_MYOCARDIUM).sum()),
                        rv_voxels=int((labels == RV_CAVITY).sum())))
        result.method = " ".join(method_parts)
        return result
    if no_lv:
        qc.append(_flag("phases_without_lv", Severity.WARNING,
                        f"{len(no_lv)} phase(s) have no LV cavity and were excluded from ED/ES selection: {no_lv}",
                        phases=no_lv))
    ed = int(valid[np.argmax(lv[valid])])
    es = int(valid[np.argmin(lv[valid])])
    result.ed_index, result.es_index = ed, es
    if n_t < 2 or ed == es:
        qc.append(_flag("single_phase", Severity.ERROR,
                        f"only {len(valid)} usable phase(s): EF/SV/CO not computed", n_usable_phases=int(len(valid))))
    elif n_t == 2:
        # ACDC-style ED/ES pairs are legitimate input: ED/ES are then the larger/smaller LV volume, valid
        # only if the two frames are the end-diastolic and end-systolic ones; nothing needing the cycle.
        # Information, not a warning: it says what was assumed and fires on every ED/ES-pair study
        # (all 10 ACDC validation studies), so as a warning it would mark good studies as suspect
        qc.append(_flag("two_phase_cine", Severity.INFO,
                        "only 2 phases: ED and ES are taken as the phases of larger and smaller LV volume, which is "
                        "valid only if the two frames are the end-diastolic and end-systolic frames (an ED/ES pair); "
                        "peak ejection/filling rates and an R-R interval from frame times are not computed",
                        n_phases=n_t, lv_ed=ed, lv_es=es))

    m: list[Measurement] = result.measurements

    def add(code: str, name: str, value: float, unit: str, method: str, reference: str = "", **kw: Any) -> None:
        m.append(Measurement(code=code, name=name, value=float(value), unit=unit, method=method,
                             source=source, reference=reference, **kw))

    vol_method = "summation of discs (voxel count x voxel volume)"
    add("lv_edv", "LV end-diastolic volume", lv[ed], "mL", vol_method + f"; ED = phase {ed} (max LV volume)",
        VOLUME_REFERENCE, phase="ED")
    add("lv_esv", "LV end-systolic volume", lv[es], "mL", vol_method + f"; ES = phase {es} (min LV volume)",
        VOLUME_REFERENCE, phase="ES")
    values: dict[str, float | None] = {"lv_edv": lv[ed], "lv_esv": lv[es]}
    functional = ed != es
    if functional:
        sv = lv[ed] - lv[es]
        ef = sv / lv[ed] * 100.0
        add("lv_sv", "LV stroke volume", sv, "mL", "EDV - ESV")
        add("lv_ef", "LV ejection fraction", ef, "%", "(EDV - ESV) / EDV x 100")
        values.update(lv_sv=sv, lv_ef=ef)
        if hr is not None:
            add("heart_rate", "Heart rate", hr, "/min", timing_how)
            add("lv_co", "LV cardiac output", sv * hr / _ML_PER_L, "L/min", "SV x heart rate; " + timing_how)
    mass_ed = myo[ed] * MYOCARDIAL_DENSITY_G_PER_ML
    mass_es = myo[es] * MYOCARDIAL_DENSITY_G_PER_ML
    add("lv_mass", "LV myocardial mass (ED)", mass_ed, "g",
        f"ED myocardial volume x {MYOCARDIAL_DENSITY_G_PER_ML} g/mL (papillary muscles in cavity as segmented)",
        MASS_REFERENCE, phase="ED")
    add("lv_mass_es", "LV myocardial mass (ES)", mass_es, "g",
        f"ES myocardial volume x {MYOCARDIAL_DENSITY_G_PER_ML} g/mL (QC: should equal ED mass)",
        MASS_REFERENCE, phase="ES")
    values.update(lv_mass_ed=mass_ed, lv_mass_es=mass_es)

    # RV
    rv_valid = np.nonzero(rv > 0)[0]
    if not len(rv_valid):
        qc.append(_flag("no_rv", Severity.WARNING,
                        f"no RV cavity voxels (label {RV_CAVITY}) in any phase: RV volumes not measured and "
                        "AHA orientation needs insertion points", rv_voxels=0))
    else:
        red = int(rv_valid[np.argmax(rv[rv_valid])])
        res = int(rv_valid[np.argmin(rv[rv_valid])])
        result.rv_ed_index, result.rv_es_index = red, res
        add("rv_edv", "RV end-diastolic volume", rv[red], "mL", vol_method + f"; RV ED = phase {red}",
            VOLUME_REFERENCE, phase="ED")
        add("rv_esv", "RV end-systolic volume", rv[res], "mL", vol_method + f"; RV ES = phase {res}",
            VOLUME_REFERENCE, phase="ES")
        values.update(rv_edv=rv[red], rv_esv=rv[res])
        if red != res:
            rsv = rv[red] - rv[res]
            add("rv_sv", "RV stroke volume", rsv, "mL", "RV EDV - RV ESV")
            add("rv_ef", "RV ejection fraction", rsv / rv[red] * 100.0, "%", "(RV EDV - RV ESV) / RV EDV x 100")
            values.update(rv_sv=rsv, rv_ef=rsv / rv[red] * 100.0)
        if len(rv_valid) < n_t:
            missing = [int(t) for t in np.nonzero(rv == 0)[0]]
            qc.append(_flag("phases_without_rv", Severity.WARNING,
                            f"{len(missing)} phase(s) have no RV and were excluded from RV ED/ES: {missing}",
                            phases=missing))

    # BSA indexing
    bsa, bsa_how = _bsa(image, height_cm, weight_kg, bsa_formula)
    method_parts.append(bsa_how + ".")
    if bsa is None:
        qc.append(_flag("bsa_not_available", Severity.INFO, bsa_how + ": indexed values not computed"))
    else:
        add("bsa", "Body surface area", bsa, "m2", bsa_how, BSA_FORMULAS[bsa_formula])
        for code, unit_i in (("lv_edv", "mL/m2"), ("lv_esv", "mL/m2"), ("lv_sv", "mL/m2"), ("lv_mass", "g/m2"),
                             ("rv_edv", "mL/m2"), ("rv_esv", "mL/m2"), ("rv_sv", "mL/m2"), ("lv_co", "L/min/m2")):
            base = result.get(code)
            if base is None:
                continue
            new_code = "lv_ci" if code == "lv_co" else code + "i"
            add(new_code, base.name + " indexed to BSA", base.value / bsa, unit_i,
                f"{code} / BSA ({bsa_formula}, {bsa:.4f} m2)", base.reference, phase=base.phase)

    # Peak rates
    n_min = int(QC_THRESHOLDS["min_phases_for_rates"])
    if functional and times is not None and rr is not None:
        if n_t < n_min:
            qc.append(_flag("too_few_phases_for_rates", Severity.INFO,
                            f"{n_t} phases < {n_min}: peak ejection/filling rates not computed", n_phases=n_t))
        else:
            use = lv > 0
            fit = fourier_fit(times[use], lv[use], rr, n_harmonics=n_harmonics)
            pr = peak_rates(fit, float(times[ed]), float(times[es]))
            how = (f"derivative of a periodic least-squares Fourier fit ({fit.n_harmonics} harmonics, period RR "
                   f"{rr:.1f} ms) of the LV volume curve vs frame time")
            add("lv_per", "LV peak ejection rate", pr["per_ml_s"], "mL/s", how + "; max -dV/dt from ED to ES")
            add("lv_pfr", "LV peak filling rate", pr["pfr_ml_s"], "mL/s", how + "; max dV/dt from ES to next ED")
            add("lv_tpfr", "LV time to peak filling rate", pr["tpfr_ms"], "ms",
                how + "; time from the ES frame to the PFR")
            result.extra["rates"] = pr
            method_parts.append("Rates: " + how + ".")

    # Coverage and levels (at ED)
    lab_ed, lab_es = labels[ed], labels[es]
    levels, bfirst = _levels(lab_ed, image.voxel_volume_mm3, base_first)

    def lv_slices(lab3: np.ndarray) -> list[int]:
        return [z for z in range(n_z) if ((lab3[z] == LV_CAVITY) | (lab3[z] == LV_MYOCARDIUM)).any()]

    sl_ed, sl_es = lv_slices(lab_ed), lv_slices(lab_es)
    basal_end, apical_end = (0, n_z - 1) if bfirst else (n_z - 1, 0)
    coverage.update(
        n_slices=n_z,
        base_first=bfirst,
        slices_with_lv_ed=sl_ed, n_slices_with_lv_ed=len(sl_ed),
        slices_with_lv_es=sl_es, n_slices_with_lv_es=len(sl_es),
        slices_without_lv_ed=[z for z in range(n_z) if z not in sl_ed],
        slices_without_lv_es=[z for z in range(n_z) if z not in sl_es],
        basal_slices_ed=sorted(z for z, v in levels.items() if v == "basal"),
        levels_ed={str(z): v for z, v in sorted(levels.items())},
        basal_slice_rule=(_slices_method(decisions) if decisions is not None else
                          "all labelled voxels counted as segmented; no valve-plane exclusion"),
        excluded_slices_note="slices without LV contribute nothing to LV volumes and are listed here",
    )
    # Information, not warnings: with the valve plane decided per slice, ventricle in the end slice is
    # the normal planning of a short-axis stack (the network's labels: 10/10 ACDC val studies at the base,
    # the experts' 9/10), not a sign of a wrong number (issue 18)
    if basal_end in sl_ed:
        qc.append(_flag("basal_coverage_incomplete", Severity.INFO,
                        f"LV is present in the basal end slice {basal_end} at ED: the stack may not cover the base",
                        slice=basal_end))
    if apical_end in sl_ed:
        qc.append(_flag("apical_coverage_incomplete", Severity.INFO,
                        f"LV is present in the apical end slice {apical_end} at ED: the stack may not cover the apex",
                        slice=apical_end))
    inner_gaps = [z for z in range(min(sl_ed), max(sl_ed) + 1) if z not in sl_ed] if sl_ed else []
    if inner_gaps:
        qc.append(_flag("lv_slice_gap", Severity.WARNING,
                        f"slices {inner_gaps} inside the LV extent have no LV at ED", slices=inner_gaps))

    # Mask QC
    qc += check_components(labels)
    mid = sorted(z for z, v in levels.items() if v == "mid")
    qc += check_holes_and_enclosure(labels, mid)
    al_flags, centroids = check_alignment(image.affine, lab_ed)
    qc += al_flags
    coverage["lv_centroids_ed_z_a_b_mm"] = centroids
    qc += check_values(values)
    if passes is not None:
        agreement_flags, quality = check_agreement(passes, base_first=bfirst, valve_plane=valve_plane,
                                                   ed=ed, es=es, rv_ed=result.rv_ed_index, rv_es=result.rv_es_index)
        qc += agreement_flags
        result.extra["quality"] = quality

    # AHA segments and wall thickness at ED
    try:
        aha = aha_segments(image.affine, lab_ed, insertion_points_lps=insertion_points_lps, base_first=bfirst)
    except InvalidInputError as exc:
        qc.append(_flag("aha_not_computed", Severity.WARNING, f"AHA segments not computed: {exc}"))
        aha = None
    if aha is not None:
        result.aha = aha
        for note in aha.notes:
            qc.append(_flag("aha_consensus_orientation", Severity.INFO, note))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            wt = wall_thickness(image.affine, lab_ed, aha, n_rays=n_rays)
        result.thickness = wt
        result.segment_thickness_mm = wt.per_segment
        wt_how = (f"ED, {n_rays} rays per slice from the LV cavity centroid; endo/epi = zero crossings of "
                  "signed distance maps (mm, real in-plane spacing); mean per AHA segment")
        for seg, val in sorted(wt.per_segment.items()):
            add("lv_wall_thickness", "LV end-diastolic wall thickness", val, "mm", wt_how, AHA_REFERENCE,
                phase="ED", segment=seg)
        if wt.max_slice is not None:
            add("lv_max_wall_thickness", "LV maximal end-diastolic wall thickness", wt.max_mm, "mm",
                wt_how.replace("mean per AHA segment", "maximum of the median over a 30° arc")
                + f"; slice {wt.max_slice}, segment {wt.max_segment}", AHA_REFERENCE, phase="ED")
            # global (no ``segment``): the HCM rule reads the patient's maximal thickness, not a segment's value;
            # the segment where it lies is named in the method
        missing = [s for s in range(1, 17) if s not in wt.per_segment]
        if missing or wt.skipped:
            qc.append(_flag("segments_incomplete", Severity.INFO,
                            f"wall thickness missing for AHA segments {missing}; skipped: {wt.skipped[:5]}",
                            missing_segments=missing, skipped=[[z, r] for z, r in wt.skipped]))
        method_parts.append(
            "AHA 17-segment model (Cerqueira 2002) at ED: thirds of the LV slices base to apex, angles from the "
            "anterior RV insertion point toward the septum (anterior = smaller LPS y).")

    result.method = " ".join(method_parts)
    return result

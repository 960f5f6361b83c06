"""Quality-control checks of a cine short-axis analysis (labels and derived numbers)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from heartprint.anatomy._plane import SlicePlane
from heartprint.labels import BACKGROUND, LABEL_NAMES, LV_CAVITY, LV_MYOCARDIUM, RV_CAVITY
from heartprint.measure import QCFlag, Severity

__all__ = ["QC_THRESHOLDS", "HEART_RATE_RANGE_BPM", "RR_RANGE_MS", "check_cine_frames"]

#: Heart rate (/min) used for cardiac output: heartprint's plausibility range of the
#: ``heart_rate`` concept (:data:`heartprint.concepts.CONCEPTS`, 20–250 /min), the same as
#: :data:`heartprint.io._geometry.HEART_RATE_RANGE_BPM`. Outside it the value is not used.
HEART_RATE_RANGE_BPM: tuple[float, float] = (20.0, 250.0)
#: R-R interval (ms) used: 60000 / :data:`HEART_RATE_RANGE_BPM` (240–3000 ms).
RR_RANGE_MS: tuple[float, float] = (60000.0 / HEART_RATE_RANGE_BPM[1], 60000.0 / HEART_RATE_RANGE_BPM[0])

#: Every numeric QC threshold, in one place. Plausibility limits, not normal ranges.
QC_THRESHOLDS: dict[str, float] = {
    "ef_min_pct": 5.0,  # LV/RV EF below this is implausible for a segmentation of a beating heart
    "ef_max_pct": 85.0,
    "lv_mass_min_g": 30.0,
    "lv_mass_max_g": 400.0,
    "lv_edv_min_ml": 20.0,
    "lv_edv_max_ml": 600.0,
    "mass_ed_es_max_pct": 10.0,  # |mass_ES − mass_ED| / mass_ED
    "sv_lv_rv_max_pct": 15.0,  # |SV_LV − SV_RV| / SV_LV (regurgitation or a shunt also causes this)
    "centroid_jump_max_mm": 10.0,  # adjacent-slice LV centroid jump after removing a linear trend
    "min_phases_for_rates": 8.0,
}


def _flag(code: str, severity: Severity, message: str, **details) -> QCFlag:
    return QCFlag(code=code, severity=severity, message=message, details=details)


def check_cine_frames(image) -> None:
    """Refuse a cine with a blank frame: any ``(phase, slice)`` frame that is constant (all zeros
    or one value) or holds a non-finite value. A real cine frame always holds anatomy and noise;
    a blank one is a missing or corrupt image, and the segmentation and every volume built on it
    would be wrong (issue 17). Raises :class:`~heartprint.errors.InvalidInputError` naming the
    first blank frames."""
    from heartprint.errors import InvalidInputError

    arr = np.asarray(image.array)
    if arr.ndim != 4 or not arr.size:
        return
    finite = np.isfinite(arr).all(axis=(2, 3)) if arr.dtype.kind == "f" else np.ones(arr.shape[:2], bool)
    with np.errstate(invalid="ignore"):
        flat = (arr.max(axis=(2, 3)) == arr.min(axis=(2, 3)))
    bad = np.argwhere(flat | ~finite)
    if bad.size:
        shown = ", ".join(f"phase {int(t)} slice {int(z)}" for t, z in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise InvalidInputError(
            f"cine series {image.series_uid or ''}: {len(bad)} blank frame(s) (constant or not finite: {shown}{more}) of "
            f"{arr.shape[0]} phases x {arr.shape[1]} slices; expected an image in every frame — a missing or corrupt "
            "frame would make the volumes wrong, so the series is not analysed"
        )


def check_components(labels: np.ndarray) -> list[QCFlag]:
    """More than one connected component of a structure in a slice (2-D, 8-connected) or a phase (3-D, 26-connected)."""
    hits2d: list[list[int]] = []
    hits3d: list[list[int]] = []
    s2, s3 = np.ones((3, 3), bool), np.ones((3, 3, 3), bool)
    for lab_value in (LV_CAVITY, LV_MYOCARDIUM, RV_CAVITY):
        for t in range(labels.shape[0]):
            m = labels[t] == lab_value
            if not m.any():
                continue
            n3 = ndimage.label(m, structure=s3)[1]
            if n3 > 1:
                hits3d.append([t, lab_value, int(n3)])
            for z in np.nonzero(m.any(axis=(1, 2)))[0]:
                n2 = ndimage.label(m[z], structure=s2)[1]
                if n2 > 1:
                    hits2d.append([t, int(z), lab_value, int(n2)])
    flags = []
    if hits2d or hits3d:
        ex = hits2d[0] if hits2d else None
        msg = (
            f"{len(hits2d)} slice(s) and {len(hits3d)} phase volume(s) have a structure in more than one "
            "connected piece"
        )
        if ex:
            msg += f" (e.g. phase {ex[0]}, slice {ex[1]}: {LABEL_NAMES[ex[2]]} in {ex[3]} pieces)"
        flags.append(
            _flag("disconnected_mask", Severity.WARNING, msg, slices_t_z_label_n=hits2d, volumes_t_label_n=hits3d)
        )
    return flags


def check_holes_and_enclosure(labels: np.ndarray, mid_slices: list[int]) -> list[QCFlag]:
    """Holes inside the LV (background/RV enclosed by cavity ∪ myocardium) in any slice, and
    LV cavity touching background or RV directly in the mid-ventricular slices."""
    holes: list[list[int]] = []
    open_: list[list[int]] = []
    s2 = np.ones((3, 3), bool)
    for t in range(labels.shape[0]):
        for z in range(labels.shape[1]):
            lab = labels[t, z]
            lv = (lab == LV_CAVITY) | (lab == LV_MYOCARDIUM)
            if not lv.any():
                continue
            n_hole = int((ndimage.binary_fill_holes(lv) & ~lv).sum())
            if n_hole:
                holes.append([t, z, n_hole])
            if z in mid_slices:
                cav = np.pad(lab == LV_CAVITY, 1)
                other = np.pad((lab == BACKGROUND) | (lab == RV_CAVITY), 1, constant_values=True)
                n_open = int((ndimage.binary_dilation(cav, structure=s2) & other).sum())
                if n_open:
                    open_.append([t, z, n_open])
    flags = []
    if holes:
        t, z, n = holes[0]
        flags.append(
            _flag(
                "myocardium_holes", Severity.WARNING,
                f"{len(holes)} slice(s) have non-LV voxels enclosed by the LV (e.g. phase {t}, slice {z}: {n} voxels)",
                slices_t_z_nvoxels=holes,
            )
        )
    if open_:
        t, z, n = open_[0]
        flags.append(
            _flag(
                "cavity_not_enclosed", Severity.WARNING,
                f"{len(open_)} mid-ventricular slice(s) have LV cavity touching background/RV instead of "
                f"myocardium (e.g. phase {t}, slice {z}: {n} boundary voxels)",
                slices_t_z_nvoxels=open_, mid_slices=mid_slices,
            )
        )
    return flags


def check_alignment(affine: np.ndarray, labels3d: np.ndarray) -> tuple[list[QCFlag], list[list[float]]]:
    """Adjacent-slice jumps of the in-plane LV centroid (mm) after removing a linear trend."""
    plane = SlicePlane.from_affine(affine)
    zs, cents = [], []
    for z in range(labels3d.shape[0]):
        lv = (labels3d[z] == LV_CAVITY) | (labels3d[z] == LV_MYOCARDIUM)
        if lv.any():
            zs.append(z)
            cents.append(plane.ab(np.argwhere(lv)).mean(axis=0))
    if len(zs) < 3:
        return [], []
    zs_a, c = np.array(zs, float), np.array(cents)
    trend = np.polynomial.polynomial.polyvander(zs_a, 1)
    coef, *_ = np.linalg.lstsq(trend, c, rcond=None)
    res = c - trend @ coef
    jumps = np.linalg.norm(np.diff(res, axis=0), axis=1)
    limit = QC_THRESHOLDS["centroid_jump_max_mm"]
    bad = [[int(zs[i]), int(zs[i + 1]), round(float(j), 2)] for i, j in enumerate(jumps) if j > limit]
    table = [[int(z), round(float(a), 2), round(float(b), 2)] for z, (a, b) in zip(zs, c)]
    if not bad:
        return [], table
    worst = max(bad, key=lambda b: b[2])
    return [
        _flag(
            "slice_misalignment", Severity.WARNING,
            f"LV centroid jumps {worst[2]:.1f} mm between slices {worst[0]} and {worst[1]} at ED "
            f"(detrended; threshold {limit:g} mm) — breath-hold misregistration?",
            jumps_z0_z1_mm=bad, threshold_mm=limit,
        )
    ], table


#: Single-value plausibility checks of :func:`check_values`: (value key, flag code, label,
#: unit, low and high keys of :data:`QC_THRESHOLDS`), in the order the flags are raised.
_PLAUSIBLE_RANGES: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("lv_ef", "implausible_lv_ef", "LV EF", "%", "ef_min_pct", "ef_max_pct"),
    ("rv_ef", "implausible_rv_ef", "RV EF", "%", "ef_min_pct", "ef_max_pct"),
    ("lv_mass_ed", "implausible_lv_mass", "LV mass", "g", "lv_mass_min_g", "lv_mass_max_g"),
    ("lv_edv", "implausible_lv_edv", "LV EDV", "mL", "lv_edv_min_ml", "lv_edv_max_ml"),
)


def check_values(values: dict[str, float | None]) -> list[QCFlag]:
    """Plausibility of EF, mass, EDV; ED/ES mass agreement; LV/RV stroke-volume agreement."""
    th = QC_THRESHOLDS
    flags: list[QCFlag] = []
    for key, code, label, unit, low_key, high_key in _PLAUSIBLE_RANGES:
        v = values.get(key)
        if v is not None and not (th[low_key] <= v <= th[high_key]):
            flags.append(
                _flag(
                    code, Severity.WARNING,
                    f"{label} {v:.1f} {unit} outside the plausible {th[low_key]:g}–{th[high_key]:g} {unit}",
                    value=v, low=th[low_key], high=th[high_key],
                )
            )
    mass = values.get("lv_mass_ed")
    mass_es = values.get("lv_mass_es")
    if mass and mass_es is not None:
        diff = abs(mass_es - mass) / mass * 100.0
        if diff > th["mass_ed_es_max_pct"]:
            flags.append(
                _flag(
                    "mass_ed_es_mismatch", Severity.WARNING,
                    f"LV mass differs by {diff:.1f} % between ED ({mass:.1f} g) and ES ({mass_es:.1f} g); "
                    f"threshold {th['mass_ed_es_max_pct']:g} % (myocardium is incompressible)",
                    value_pct=diff, mass_ed_g=mass, mass_es_g=mass_es, threshold_pct=th["mass_ed_es_max_pct"],
                )
            )
    lsv, rsv = values.get("lv_sv"), values.get("rv_sv")
    if lsv is not None and rsv is not None and lsv > 0:
        diff = abs(lsv - rsv) / lsv * 100.0
        if diff > th["sv_lv_rv_max_pct"]:
            flags.append(
                _flag(
                    "sv_lv_rv_mismatch", Severity.WARNING,
                    f"LV SV {lsv:.1f} mL and RV SV {rsv:.1f} mL differ by {diff:.1f} % of LV SV "
                    f"(threshold {th['sv_lv_rv_max_pct']:g} %): segmentation error, regurgitation or shunt",
                    value_pct=diff, lv_sv_ml=lsv, rv_sv_ml=rsv, threshold_pct=th["sv_lv_rv_max_pct"],
                )
            )
    return flags

"""Quality-control checks of a cine short-axis analysis (labels and derived numbers)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from heartprint.anatomy._plane import SlicePlane
from heartprint.labels import BACKGROUND, LABEL_NAMES, LV_CAVITY, LV_MYOCARDIUM, RV_CAVITY
from heartprint.measure import QCFlag, Severity
from heartprint.segmentation._preprocess import bounding_box

__all__ = ["QC_THRESHOLDS", "HEART_RATE_RANGE_BPM", "RR_RANGE_MS", "check_cine_frames"]

#: Heart rate (/min) used for cardiac output: heartprint's plausibility range of the
#: ``heart_rate`` concept (:data:`heartprint.concepts.CONCEPTS`, 20–250 /min), the same as
#: :data:`heartprint.io._geometry.HEART_RATE_RANGE_BPM`. Outside it the value is not used.
HEART_RATE_RANGE_BPM: tuple[float, float] = (20.0, 250.0)
#: R-R interval (ms) used: 60000 / :data:`HEART_RATE_RANGE_BPM` (240–3000 ms).
RR_RANGE_MS: tuple[float, float] = (60000.0 / HEART_RATE_RANGE_BPM[1], 60000.0 / HEART_RATE_RANGE_BPM[0])

#: Every numeric QC threshold, in one place. Plausibility limits, not normal ranges.
#:
#: A warning must mean a likely error the user should look at (issue 18), so the limits of the
#: checks that real hearts also fail are set from the spread of expert-labelled hearts: the 70
#: ACDC training patients' reference labels, measured by ``benchmarks/qc_calibration.py``
#: (nominal 1.5 mm pixels, 10 mm slices). There the ED/ES mass difference has median 12.9 %
#: and 95th percentile 34.0 %; the detrended adjacent-slice LV centroid jump (per study maximum)
#: median 4.7 mm, 95th percentile 13.1 mm; the signed LV-RV stroke-volume difference spans
#: −105 % to +79 % of LV SV (central 95 %: valve regurgitation and the basal-slice convention),
#: so that difference is information, never a warning.
QC_THRESHOLDS: dict[str, float] = {
    "ef_min_pct": 5.0,  # LV/RV EF below this is implausible for a segmentation of a beating heart
    "ef_max_pct": 85.0,
    "lv_mass_min_g": 30.0,
    "lv_mass_max_g": 400.0,
    "lv_edv_min_ml": 20.0,
    "lv_edv_max_ml": 600.0,
    "mass_ed_es_max_pct": 34.0,  # |mass_ES − mass_ED| / mass_ED; 95th percentile of expert-labelled hearts
    "mass_ed_es_info_pct": 10.0,  # above this, an information flag (the textbook limit for one reader)
    "sv_lv_rv_max_pct": 15.0,  # |SV_LV − SV_RV| / SV_LV: information only (regurgitation, shunt, basal slices)
    "centroid_jump_max_mm": 13.1,  # adjacent-slice LV centroid jump after removing a linear trend; 95th pct
    # stray pieces of a structure in a slice, or holes in the LV, make a warning only when they hold more than
    # this fraction of the structure's volume in that phase (they change the volume by as much; ACDC val: at most 1 %)
    "fragment_warn_fraction": 0.02,
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
    pieces: list[tuple[int, int, int, float]] = []
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
                comp, n2 = ndimage.label(m[z], structure=s2)
                if n2 > 1:
                    hits2d.append([t, int(z), lab_value, int(n2)])
                    sizes = np.bincount(comp.ravel())[1:]
                    pieces.append((t, int(z), lab_value, float((sizes.sum() - sizes.max()) / m.sum())))
    flags = []
    if hits2d or hits3d:
        ex = hits2d[0] if hits2d else None
        msg = (
            f"{len(hits2d)} slice(s) and {len(hits3d)} phase volume(s) have a structure in more than one "
            "connected piece"
        )
        if ex:
            msg += f" (e.g. phase {ex[0]}, slice {ex[1]}: {LABEL_NAMES[ex[2]]} in {ex[3]} pieces)"
        # a warning only when the stray pieces are a sizeable part of the structure; a few voxels change no
        # number (ACDC val: 1-54 voxels in 4/10 studies)
        worst = max((f for _, _, _, f in pieces), default=0.0)
        sev = Severity.WARNING if worst > QC_THRESHOLDS["fragment_warn_fraction"] or hits3d else Severity.INFO
        flags.append(
            _flag("disconnected_mask", sev, msg + f"; the stray pieces hold at most {100 * worst:.1f} % of the structure "
                  "volume in their phase", slices_t_z_label_n=hits2d, volumes_t_label_n=hits3d,
                  largest_stray_fraction=round(worst, 4))
        )
    return flags


def check_holes_and_enclosure(labels: np.ndarray, mid_slices: list[int]) -> list[QCFlag]:
    """Holes inside the LV (background/RV enclosed by cavity ∪ myocardium) in any slice, and
    LV cavity touching background or RV directly in the mid-ventricular slices."""
    holes: list[list[int]] = []
    open_: list[list[int]] = []
    s2 = np.ones((3, 3), bool)
    for t in range(labels.shape[0]):
        lv_phase = int(((labels[t] == LV_CAVITY) | (labels[t] == LV_MYOCARDIUM)).sum())
        for z in range(labels.shape[1]):
            lab = labels[t, z]
            lv = (lab == LV_CAVITY) | (lab == LV_MYOCARDIUM)
            box = bounding_box(lv)
            if box is None:
                continue
            n_hole = int((ndimage.binary_fill_holes(lv[box]) & ~lv[box]).sum())  # holes lie inside the LV's box
            if n_hole:
                holes.append([t, z, n_hole, round(n_hole / lv_phase, 4)])
            if z in mid_slices:
                cav = np.pad(lab == LV_CAVITY, 1)
                other = np.pad((lab == BACKGROUND) | (lab == RV_CAVITY), 1, constant_values=True)
                n_open = int((ndimage.binary_dilation(cav, structure=s2) & other).sum())
                if n_open:
                    open_.append([t, z, n_open])
    flags = []
    if holes:
        t, z, n, frac = max(holes, key=lambda h: h[3])
        # a warning only when the hole is a sizeable part of the LV (ACDC val: 2-31 voxels)
        sev = Severity.WARNING if frac > QC_THRESHOLDS["fragment_warn_fraction"] else Severity.INFO
        flags.append(
            _flag(
                "myocardium_holes", sev,
                f"{len(holes)} slice(s) have non-LV voxels enclosed by the LV (largest: phase {t}, slice {z}: {n} voxels, "
                f"{100 * frac:.2f} % of the LV volume in that phase)",
                slices_t_z_nvoxels=[h[:3] for h in holes], largest_fraction=frac,
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
            f"(detrended; threshold {limit:g} mm, the 95th percentile of expert-labelled hearts) — breath-hold "
            "misregistration?",
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
        if diff > th["mass_ed_es_info_pct"]:
            warn = diff > th["mass_ed_es_max_pct"]
            flags.append(
                _flag(
                    "mass_ed_es_mismatch", Severity.WARNING if warn else Severity.INFO,
                    f"LV mass differs by {diff:.1f} % between ED ({mass:.1f} g) and ES ({mass_es:.1f} g) "
                    "(myocardium is incompressible); "
                    + (f"beyond {th['mass_ed_es_max_pct']:g} %, the 95th percentile of expert-labelled hearts"
                       if warn else f"within the spread of expert-labelled hearts (95th percentile "
                                    f"{th['mass_ed_es_max_pct']:g} %)"),
                    value_pct=diff, mass_ed_g=mass, mass_es_g=mass_es, threshold_pct=th["mass_ed_es_max_pct"],
                )
            )
    lsv, rsv = values.get("lv_sv"), values.get("rv_sv")
    if lsv is not None and rsv is not None and lsv > 0:
        diff = abs(lsv - rsv) / lsv * 100.0
        if diff > th["sv_lv_rv_max_pct"]:
            flags.append(
                _flag(
                    "sv_lv_rv_mismatch", Severity.INFO,
                    f"LV SV {lsv:.1f} mL and RV SV {rsv:.1f} mL differ by {diff:.1f} % of LV SV "
                    f"(more than {th['sv_lv_rv_max_pct']:g} %): regurgitation, a shunt or a segmentation error; "
                    "information only, as expert-labelled hearts differ by up to 100 %",
                    value_pct=diff, lv_sv_ml=lsv, rv_sv_ml=rsv, threshold_pct=th["sv_lv_rv_max_pct"],
                )
            )
    return flags


#: Agreement QC (issue 18): a study is flagged when the network's own inference passes (each
#: test-time augmentation of each ensemble member) disagree on an ejection fraction by more than
#: this many percentage points. Calibrated on the 10 ``acdc/val`` studies with the shipped model:
#: their ranges were 0.2–7.1 points except the one study whose RV failed (patient 030: range
#: 14.7 points, RVEF error −16.7, RV Dice at ES 0.59); ``benchmarks/segmentation_accuracy.py``
#: reports how the score ranks studies by their error.
AGREEMENT_EF_RANGE_MAX_POINTS = 10.0
#: Slices reported as uncertain: the passes disagree on more than this fraction of a structure's
#: voxels in the slice (1 − voxels all passes label / voxels any pass labels) …
SLICE_DISAGREEMENT_REPORT = 0.5
#: … where at least this many voxels (working grid, 1.5 mm pixels) carry the structure in some pass.
SLICE_DISAGREEMENT_MIN_VOXELS = 30


def _ef_of(volumes: np.ndarray, ed: int, es: int) -> float | None:
    return None if volumes[ed] <= 0 else float(100.0 * (volumes[ed] - volumes[es]) / volumes[ed])


def check_agreement(passes, *, base_first: bool, valve_plane: bool, ed: int, es: int,
                    rv_ed: int | None, rv_es: int | None) -> tuple[list[QCFlag], dict]:
    """Score how much the network's inference passes agree (:class:`~heartprint.segmentation.SegmentationPasses`).

    Each pass's labels are measured as the final labels are (valve-plane rules when
    ``valve_plane``), at the consensus ED/ES phases. Returns the flags (``segmentation_uncertain``,
    a warning, when the LVEF or RVEF range over the passes exceeds
    :data:`AGREEMENT_EF_RANGE_MAX_POINTS`) and a quality record: ``score`` (the larger EF range,
    points), the EF per pass, and the slices where the passes disagree."""
    from heartprint.cmr._slices import ventricular_slices

    names = list(passes.names)
    # only the phases the numbers come from, ED first (the through-time rule needs its base)
    used = list(dict.fromkeys(t for t in (ed, es, rv_ed, rv_es) if t is not None))
    at = {t: i for i, t in enumerate(used)}
    per_pass = []
    for k in range(len(names)):
        lab = passes.phases(k, used)
        if valve_plane:
            lab = ventricular_slices(lab, base_first=base_first, ed_index=0).labels
        per_pass.append(lab)
    lv = np.array([[(p[i] == LV_CAVITY).sum() for i in range(len(used))] for p in per_pass], float)
    rv = np.array([[(p[i] == RV_CAVITY).sum() for i in range(len(used))] for p in per_pass], float)
    lvef = [_ef_of(v, at[ed], at[es]) for v in lv]
    rvef = ([_ef_of(v, at[rv_ed], at[rv_es]) for v in rv]
            if rv_ed is not None and rv_es is not None and rv_ed != rv_es else [])
    ranges = {}
    for key, efs in (("lvef", lvef), ("rvef", rvef)):
        vals = [e for e in efs if e is not None]
        if len(vals) >= 2:
            ranges[key] = (min(vals), max(vals))
    phases = {"ED": ed, "ES": es}
    if rv_ed is not None and rv_ed != ed:
        phases["RV ED"] = rv_ed
    if rv_es is not None and rv_es != es:
        phases["RV ES"] = rv_es
    slices = []
    stack = np.stack(per_pass)
    for pname, t in phases.items():
        for value in (LV_CAVITY, LV_MYOCARDIUM, RV_CAVITY):
            if pname.startswith("RV") and value != RV_CAVITY:
                continue
            m = stack[:, at[t]] == value
            union, inter = m.any(axis=0).sum(axis=(1, 2)), m.all(axis=0).sum(axis=(1, 2))
            for z in np.nonzero(union >= SLICE_DISAGREEMENT_MIN_VOXELS)[0]:
                d = 1.0 - inter[z] / union[z]
                if d > SLICE_DISAGREEMENT_REPORT:
                    slices.append({"phase": pname, "phase_index": int(t), "slice": int(z), "structure": LABEL_NAMES[value],
                                   "disagreement": round(float(d), 3), "voxels_any_pass": int(union[z])})
    score = max((hi - lo for lo, hi in ranges.values()), default=0.0)
    quality = {
        "score_ef_range_points": round(float(score), 2),
        "threshold_points": AGREEMENT_EF_RANGE_MAX_POINTS,
        "passes": names,
        "lvef_per_pass": [None if e is None else round(e, 2) for e in lvef],
        "rvef_per_pass": [None if e is None else round(e, 2) for e in rvef],
        "uncertain_slices": slices,
        "method": ("every inference pass (test-time augmentation x ensemble member) measured alone with the same rules; "
                   "score = the larger of the LVEF and RVEF ranges over the passes, in percentage points"),
    }
    flags = []
    if score > AGREEMENT_EF_RANGE_MAX_POINTS:
        key = max(ranges, key=lambda k: ranges[k][1] - ranges[k][0])
        lo, hi = ranges[key]
        where = _describe_slices([s for s in slices if (s["structure"] == LABEL_NAMES[RV_CAVITY]) == (key == "rvef")] or slices)
        flags.append(_flag(
            "segmentation_uncertain", Severity.WARNING,
            f"the {len(names)} inference passes give {key[:2].upper()}EF from {lo:.0f} % to {hi:.0f} % "
            f"(range {hi - lo:.1f} points, threshold {AGREEMENT_EF_RANGE_MAX_POINTS:g})"
            + (f"; they disagree on {where}" if where else "") + ": check the contours there before using the number",
            score_points=round(float(score), 2), measure=key, range_pct=[round(lo, 2), round(hi, 2)],
            threshold_points=AGREEMENT_EF_RANGE_MAX_POINTS, slices=slices[:20],
        ))
    return flags, quality


def _describe_slices(slices: list[dict]) -> str:
    if not slices:
        return ""
    by: dict[tuple[str, str], list[int]] = {}
    for s in slices:
        by.setdefault((s["structure"], s["phase"]), []).append(s["slice"])
    parts = [f"the {struct} at {phase} in slice{'s' if len(zs) > 1 else ''} {', '.join(map(str, sorted(zs)))}"
             for (struct, phase), zs in list(by.items())[:3]]
    return "; ".join(parts)

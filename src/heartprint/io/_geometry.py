"""Frame geometry of a DICOM series: sort slices, split cine phases, build the affine.

Everything here works on headers only (no pixels), so ``heartprint info`` can report
shape, spacing and phases without decoding a single frame.

Conventions: the affine maps index ``(z, y, x, 1)`` to LPS mm. Its x column is the row
direction (0020,0037)[0:3] times the column spacing (0028,0030)[1]; its y column is the
column direction (0020,0037)[3:6] times the row spacing (0028,0030)[0]; its z column is
the *measured* step between consecutive (0020,0032) Image Position (Patient) values, sorted
along the slice normal (row × column). (0018,0050) Slice Thickness is never used as spacing
when there are two or more slices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from heartprint.errors import GeometryError, UnsupportedSeriesError

__all__ = [
    "Frame", "Layout", "plan_layout", "check_rescale", "SLICE_GAP_TOLERANCE", "ORIENTATION_TOLERANCE",
    "ORTHONORMAL_TOLERANCE", "CT_RESCALE_SLOPE_RANGE", "CT_RESCALE_INTERCEPT_RANGE", "HEART_RATE_RANGE_BPM",
    "RR_INTERVAL_RANGE_MS", "PIXEL_SPACING_RANGE_MM", "CT_HU_PLAUSIBLE_RANGE", "CT_HU_MAX_OUTSIDE_FRACTION",
    "check_ct_hu", "plausible_heart_rate",
]

#: Relative tolerance on slice gaps: a gap differing from the median by more than this
#: fraction makes the series inconsistent (missing or extra slices).
SLICE_GAP_TOLERANCE = 0.10
#: Largest difference between direction cosines (0020,0037) still called the same orientation.
ORIENTATION_TOLERANCE = 1e-3
#: Two positions closer than this along the normal (mm) are the same slice position.
POSITION_TOLERANCE_MM = 1e-2
#: (0020,0037) row and column direction cosines must be unit vectors and perpendicular:
#: ``|‖row‖ − 1|``, ``|‖col‖ − 1|`` and ``|row · col|`` all at most this. Stored as DS (≤ 16
#: characters), real cosines carry ≥ 5 decimals, so 1e-3 leaves two orders of margin while a
#: skew of 0.06° (cos 89.94° = 1e-3) is already refused: non-orthogonal axes make every voxel
#: volume (|det| of the affine) and in-plane distance wrong (60° apart: volumes −13 %).
ORTHONORMAL_TOLERANCE = 1e-3
#: (0028,0030) Pixel Spacing (mm) accepted for a cross-sectional (CT/MR/PET) image. A plausibility
#: range, not a standard: cardiac CT pixels are ~0.2–1 mm, CMR 0.6–3 mm, PET 2–6 mm; outside it
#: every length, area and volume would be scaled wrong.
PIXEL_SPACING_RANGE_MM = (0.05, 20.0)
#: CT (0028,1053) Rescale Slope accepted (HU per stored unit). PS3.3 C.11.1.1.2 only requires a
#: number; real CT uses 1 (sometimes 0.5–2 or 0.1 for decimal HU). A slope outside this range
#: (NaN, 0, negative, ∞, or so small/large that the image collapses or explodes) cannot give HU.
CT_RESCALE_SLOPE_RANGE = (0.01, 10.0)
#: CT (0028,1052) Rescale Intercept accepted (HU). Real CT uses 0, −1000, −1024, −2048 or −8192.
CT_RESCALE_INTERCEPT_RANGE = (-10000.0, 10000.0)
#: Heart rate (/min) accepted from (0018,1088) Heart Rate: heartprint's plausibility range of the
#: ``heart_rate`` concept (:data:`heartprint.concepts.CONCEPTS`, 20–250 /min). Outside it the value
#: is not used (no cardiac output is computed from it).
HEART_RATE_RANGE_BPM = (20.0, 250.0)
#: CT numbers (HU) a patient CT can hold: air −1000 (noise to ≈ −1100) to dense bone/iodine ≈ 3000
#: (metal beyond). Voxels outside are padding (−2048/−3024 outside the reconstruction circle, at
#: most 1 − π/4 ≈ 21 % of a square image), metal or errors.
CT_HU_PLAUSIBLE_RANGE = (-1100.0, 4000.0)
#: A CT file whose voxels are more than this fraction outside :data:`CT_HU_PLAUSIBLE_RANGE` (or
#: not finite) after rescale is refused: its values are not Hounsfield units.
CT_HU_MAX_OUTSIDE_FRACTION = 0.5
#: R-R interval (ms) accepted from (0018,1062) Nominal Interval: 60000 / the heart-rate range.
RR_INTERVAL_RANGE_MS = (60000.0 / HEART_RATE_RANGE_BPM[1], 60000.0 / HEART_RATE_RANGE_BPM[0])

#: Modalities whose images are cross-sections placed in the patient: they must carry
#: (0020,0032), (0020,0037) and (0028,0030).
_CROSS_SECTIONAL = {"MR", "CT", "PT"}

_SR_PREFIX = "1.2.840.10008.5.1.4.1.1.88."


@dataclass(frozen=True)
class Frame:
    """One 2-D frame: a single-frame file, or frame ``index`` of a multi-frame file."""

    file: int  # index into SeriesInfo.sources / headers
    index: int | None  # frame within a multi-frame file (0-based), None for single-frame
    position: np.ndarray | None  # (0020,0032) LPS mm
    orientation: np.ndarray | None  # (0020,0037) 6 direction cosines
    pixel_spacing: tuple[float, float] | None  # (0028,0030) (row spacing, column spacing) mm
    time_ms: float | None  # (0018,1060) Trigger Time / (0020,9153) Nominal Cardiac Trigger Delay
    temporal_index: int | None  # (0020,0100) Temporal Position Identifier / (0020,9128)
    instance: int | None  # (0020,0013) Instance Number
    slope: float = 1.0  # (0028,1053)
    intercept: float = 0.0  # (0028,1052)


@dataclass
class Layout:
    """How the frames of a series fill a ``(t, z)`` grid, and the resulting affine.

    Attributes
    ----------
    grid
        ``(n_phases, n_slices)`` array of indices into ``frames``.
    frames
        All frames of the series.
    affine
        4×4 index ``(z, y, x, 1)`` → LPS mm.
    frame_times_ms
        ``(n_phases,)`` or ``None``.
    rows, columns
        (0028,0010) Rows and (0028,0011) Columns.
    notes
        Facts about how geometry was obtained (go to ``Image.meta``).
    """

    grid: np.ndarray
    frames: list[Frame]
    affine: np.ndarray
    frame_times_ms: np.ndarray | None
    rows: int
    columns: int
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def n_phases(self) -> int:
        return int(self.grid.shape[0])

    @property
    def n_slices(self) -> int:
        return int(self.grid.shape[1])

    @property
    def shape(self) -> tuple[int, ...]:
        base = (self.n_slices, self.rows, self.columns)
        return (self.n_phases, *base) if self.n_phases > 1 else base

    @property
    def spacing(self) -> tuple[float, float, float]:
        return tuple(float(v) for v in np.linalg.norm(self.affine[:3, :3], axis=0))  # type: ignore[return-value]


# -- reading tags --------------------------------------------------------------------------


def _floats(value: Any, n: int) -> np.ndarray | None:
    if value is None:
        return None
    try:
        arr = np.array([float(v) for v in value], dtype=float)
    except (TypeError, ValueError):
        return None
    return arr if arr.shape == (n,) and np.all(np.isfinite(arr)) else None


def _float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _item(ds: Dataset | None, keyword: str) -> Dataset | None:
    if ds is None:
        return None
    seq = ds.get(keyword)
    return seq[0] if seq else None


def _functional(per: Dataset | None, shared: Dataset | None, seq: str, keyword: str) -> Any:
    """A value from a functional group macro, per-frame first then shared (PS3.3 C.7.6.16)."""
    for group in (per, shared):
        item = _item(group, seq)
        if item is not None and keyword in item:
            return item.get(keyword)
    return None


def n_frames(ds: Dataset) -> int:
    """(0028,0008) Number of Frames, 1 if absent."""
    return max(1, _int(ds.get("NumberOfFrames")) or 1)


def frames_of(ds: Dataset, file: int) -> list[Frame]:
    """The frames of one file, with their geometry and timing from the header."""
    if "PerFrameFunctionalGroupsSequence" in ds or "SharedFunctionalGroupsSequence" in ds:
        return _enhanced_frames(ds, file)
    common = dict(
        orientation=_floats(ds.get("ImageOrientationPatient"), 6),
        pixel_spacing=_pixel_spacing(ds.get("PixelSpacing")),
        instance=_int(ds.get("InstanceNumber")),
        slope=_rescale_value(ds.get("RescaleSlope"), 1.0),
        intercept=_rescale_value(ds.get("RescaleIntercept"), 0.0),
    )
    nf = n_frames(ds)
    position = _floats(ds.get("ImagePositionPatient"), 3)
    if nf == 1:
        return [
            Frame(
                file=file,
                index=None,
                position=position,
                time_ms=_float(ds.get("TriggerTime")),
                temporal_index=_int(ds.get("TemporalPositionIdentifier")),
                **common,
            )
        ]
    # Legacy multi-frame (US, NM, XA): frames share one plane; times come from the cine module.
    times = _legacy_frame_times(ds, nf)
    return [
        Frame(file=file, index=i, position=position, time_ms=None if times is None else float(times[i]),
              temporal_index=i + 1, **common)
        for i in range(nf)
    ]


def _rescale_value(value: Any, default: float) -> float:
    """A (0028,1052)/(0028,1053) value: ``default`` when absent or empty, NaN when present but
    not one finite number (so that :func:`check_rescale` refuses it instead of a default hiding it)."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return default
    v = _float(value)
    return float("nan") if v is None else v


def check_rescale(slope: Any, intercept: Any, where: str, *, ct: bool) -> None:
    """Refuse a modality LUT that cannot give correct values.

    Every modality: (0028,1053) Rescale Slope must be one finite number > 0 and (0028,1052)
    Rescale Intercept one finite number. CT additionally: slope within
    :data:`CT_RESCALE_SLOPE_RANGE` and intercept within :data:`CT_RESCALE_INTERCEPT_RANGE`
    (HU). ``None`` means the tag is absent (the caller decides whether that is allowed).

    Raises
    ------
    InvalidInputError
        Naming ``where``, the tag, the value found and the range expected.
    """
    from heartprint.errors import InvalidInputError

    checks = (("(0028,1053) Rescale Slope", slope, CT_RESCALE_SLOPE_RANGE, True),
              ("(0028,1052) Rescale Intercept", intercept, CT_RESCALE_INTERCEPT_RANGE, False))
    for tag, raw, (lo, hi), positive in checks:
        if raw is None or (not ct and isinstance(raw, str) and not raw.strip()):
            continue  # absent (empty Type 2/3 outside CT): the caller's default applies
        v = _float(raw) if not isinstance(raw, float) else (raw if np.isfinite(raw) else None)
        if ct:
            expected = f"a number in [{lo:g}, {hi:g}]{' HU' if not positive else ''} for CT"
            ok = v is not None and lo <= v <= hi
        else:
            expected = "one finite number > 0" if positive else "one finite number"
            ok = v is not None and (v > 0 or not positive)
        if not ok:
            shown = getattr(raw, "original_string", None) or (f"{raw:g}" if isinstance(raw, float) else str(raw))
            raise InvalidInputError(
                f"{where}: {tag} is {shown!r}; expected {expected} — the stored values cannot be turned "
                "into correct modality units (e.g. HU), so the series is not analysed"
            )


def check_ct_hu(values: np.ndarray, where: str) -> None:
    """Refuse CT values (after rescale) that are not Hounsfield units: any non-finite value, or more
    than :data:`CT_HU_MAX_OUTSIDE_FRACTION` of the voxels outside :data:`CT_HU_PLAUSIBLE_RANGE`."""
    from heartprint.errors import InvalidInputError

    arr = np.asarray(values)
    if not arr.size:
        return
    lo, hi = CT_HU_PLAUSIBLE_RANGE
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            raise InvalidInputError(
                f"{where}: {int(bad.sum())} CT value(s) are not finite after (0028,1052)/(0028,1053) rescale; "
                "expected Hounsfield units"
            )
    outside = float(np.count_nonzero((arr < lo) | (arr > hi))) / arr.size
    if outside > CT_HU_MAX_OUTSIDE_FRACTION:
        raise InvalidInputError(
            f"{where}: {outside:.0%} of the CT values after (0028,1052) Rescale Intercept / (0028,1053) Rescale "
            f"Slope lie outside {lo:g}..{hi:g} HU (range found {float(arr.min()):g}..{float(arr.max()):g}); "
            f"expected Hounsfield units (at most {CT_HU_MAX_OUTSIDE_FRACTION:.0%} outside) — wrong rescale?"
        )


def _legacy_frame_times(ds: Dataset, nf: int) -> np.ndarray | None:
    """Frame times (ms) from (0018,1065) Frame Time Vector or (0018,1063) Frame Time (PS3.3 C.7.6.5)."""
    vector = ds.get("FrameTimeVector")
    if vector is not None:
        try:
            values = [vector] if isinstance(vector, (str, bytes, int, float)) else list(vector)
            v = np.array([float(x) for x in values], dtype=float)
        except (TypeError, ValueError):
            v = np.array([])
        # increments after the first (0 by definition; be tolerant) must be finite and > 0, else no times
        if v.size == nf and np.all(np.isfinite(v)) and np.all(v[1:] > 0):
            return np.cumsum(v) - v[0]
        if v.size == nf:
            return None
    ft = _float(ds.get("FrameTime"))
    if ft is not None and ft > 0:
        return np.arange(nf) * ft
    return None


def _pixel_spacing(value: Any) -> tuple[float, float] | None:
    ps = _floats(value, 2)
    if ps is None or np.any(ps <= 0):
        return None
    return float(ps[0]), float(ps[1])


def _enhanced_frames(ds: Dataset, file: int) -> list[Frame]:
    shared = _item(ds, "SharedFunctionalGroupsSequence")
    per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []
    nf = n_frames(ds)
    out = []
    for i in range(nf):
        per = per_frame[i] if i < len(per_frame) else None
        slope = _rescale_value(_functional(per, shared, "PixelValueTransformationSequence", "RescaleSlope"), 1.0)
        intercept = _rescale_value(
            _functional(per, shared, "PixelValueTransformationSequence", "RescaleIntercept"), 0.0
        )
        out.append(
            Frame(
                file=file,
                index=i,
                position=_floats(_functional(per, shared, "PlanePositionSequence", "ImagePositionPatient"), 3),
                orientation=_floats(
                    _functional(per, shared, "PlaneOrientationSequence", "ImageOrientationPatient"), 6
                ),
                pixel_spacing=_pixel_spacing(_functional(per, shared, "PixelMeasuresSequence", "PixelSpacing")),
                time_ms=_float(
                    _functional(per, shared, "CardiacSynchronizationSequence", "NominalCardiacTriggerDelayTime")
                ),
                temporal_index=_int(_functional(per, shared, "FrameContentSequence", "TemporalPositionIndex")),
                instance=i + 1,
                slope=slope,
                intercept=intercept,
            )
        )
    return out


# -- layout --------------------------------------------------------------------------------


def _tag_name(enhanced: bool, what: str) -> str:
    names = {
        "position": ("(0020,0032) Image Position (Patient)", "(0020,9113) Plane Position Sequence > (0020,0032)"),
        "orientation": (
            "(0020,0037) Image Orientation (Patient)",
            "(0020,9116) Plane Orientation Sequence > (0020,0037)",
        ),
        "spacing": ("(0028,0030) Pixel Spacing", "(0028,9110) Pixel Measures Sequence > (0028,0030)"),
    }
    return names[what][1 if enhanced else 0]


def plan_layout(series) -> Layout:
    """Sort the frames of ``series`` (a :class:`~heartprint.io.SeriesInfo`) into a ``(t, z)`` grid.

    Raises
    ------
    GeometryError
        Missing (0020,0032)/(0020,0037)/(0028,0030) or ultrasound calibration; mixed
        orientations; duplicate positions; unequal phases per position; slice gaps that
        differ by more than :data:`SLICE_GAP_TOLERANCE`. Messages name the file and tag.
    UnsupportedSeriesError
        A structured report or other series without pixel frames, or mixed frame sizes.
    """
    first = series.headers[0]
    src = series.sources
    sop = str(first.get("SOPClassUID", ""))
    if sop.startswith(_SR_PREFIX) or series.modality in {"SR", "KO", "PR", "RTPLAN", "RTSTRUCT", "ECG"}:
        raise UnsupportedSeriesError(
            f"{src[0]}: (0008,0016) SOP Class UID {sop} / (0008,0060) Modality {series.modality!r} "
            "has no image frames; expected an image series"
        )
    for k, ds in enumerate(series.headers):
        if "Rows" not in ds or "Columns" not in ds:
            raise UnsupportedSeriesError(f"{src[k]}: (0028,0010) Rows / (0028,0011) Columns missing; expected an image")
    sizes = {(int(ds.Rows), int(ds.Columns)) for ds in series.headers}
    if len(sizes) > 1:
        raise GeometryError(
            f"{series.series_uid}: frames of different sizes (0028,0010)/(0028,0011) {sorted(sizes)} "
            "in one series; expected one matrix size"
        )
    rows, cols = sizes.pop()
    frames: list[Frame] = []
    for k, ds in enumerate(series.headers):
        frames.extend(frames_of(ds, k))

    enhanced = any("PerFrameFunctionalGroupsSequence" in ds for ds in series.headers)
    has_patient_geometry = any(f.position is not None or f.orientation is not None for f in frames)
    cross_sectional = series.modality in _CROSS_SECTIONAL or enhanced or has_patient_geometry
    if not cross_sectional:
        return _projection_layout(series, frames, rows, cols)

    for what, attr in (("position", "position"), ("orientation", "orientation"), ("spacing", "pixel_spacing")):
        for f in frames:
            if getattr(f, attr) is None:
                where = src[f.file] if f.index is None else f"{src[f.file]} frame {f.index + 1}"
                raw = series.headers[f.file].get(
                    {"position": "ImagePositionPatient", "orientation": "ImageOrientationPatient",
                     "spacing": "PixelSpacing"}[what]
                )
                raise GeometryError(
                    f"{where}: {_tag_name(enhanced, what)} is missing or invalid (value {raw!r}); "
                    f"expected it for a {series.modality or 'cross-sectional'} image — no default is assumed"
                )
    layout = _cross_sectional_layout(series, frames, rows, cols)
    layout.notes.update(_acquisition_notes(series))
    return layout


def _acquisition_notes(series) -> dict[str, Any]:
    """Acquisition facts that decide whether a CT number-based method applies (go to ``Image.meta``):
    ``kvp`` from (0018,0060) KVP (``None`` when absent, empty or not one positive number) and
    ``contrast_bolus_agent`` from (0018,0010) Contrast/Bolus Agent, for CT series."""
    if series.modality != "CT":
        return {}
    ds = series.headers[0]
    try:
        raw = ds.get("KVP")
        if raw is None:  # Enhanced CT: (0018,9325) CT X-Ray Details Sequence, per frame or shared
            per = ds.get("PerFrameFunctionalGroupsSequence")
            shared = ds.get("SharedFunctionalGroupsSequence")
            raw = _functional(per[0] if per else None, shared[0] if shared else None, "CTXRayDetailsSequence", "KVP")
        kvp = _float(raw)
    except (TypeError, ValueError, OverflowError, IndexError):  # malformed: unknown, never a default
        kvp = None
    try:
        agent = ds.get("ContrastBolusAgent")
    except (TypeError, ValueError):
        agent = None
    return {
        "kvp": kvp if kvp is not None and kvp > 0 else None,
        "contrast_bolus_agent": None if agent is None or str(agent).strip() == "" else str(agent).strip(),
    }


def _where(series, f: Frame) -> str:
    src = series.sources[f.file]
    return str(src) if f.index is None else f"{src} frame {f.index + 1}"


def _check_orthonormal(series, frames: list[Frame], enhanced: bool) -> None:
    """Every distinct (0020,0037) must be two unit vectors at right angles (:data:`ORTHONORMAL_TOLERANCE`)."""
    seen: set[tuple[float, ...]] = set()
    for f in frames:
        key = tuple(np.round(f.orientation, 9).tolist())
        if key in seen:
            continue
        seen.add(key)
        row, col = f.orientation[:3], f.orientation[3:]
        n_row, n_col, dot = float(np.linalg.norm(row)), float(np.linalg.norm(col)), float(row @ col)
        worst = max(abs(n_row - 1.0), abs(n_col - 1.0), abs(dot))
        if not worst <= ORTHONORMAL_TOLERANCE:
            angle = float(np.degrees(np.arccos(np.clip(dot / max(n_row * n_col, 1e-12), -1.0, 1.0))))
            raise GeometryError(
                f"{_where(series, f)}: {_tag_name(enhanced, 'orientation')} {np.round(f.orientation, 6).tolist()} "
                f"is not orthonormal (|row| {n_row:.6f}, |column| {n_col:.6f}, row·column {dot:.6f}, angle "
                f"{angle:.2f}°); expected unit row and column direction cosines at right angles within "
                f"{ORTHONORMAL_TOLERANCE:g} — volumes and distances would be wrong"
            )


def _check_pixel_spacing(series, ref: Frame, enhanced: bool) -> None:
    lo, hi = PIXEL_SPACING_RANGE_MM
    if not all(lo <= v <= hi for v in ref.pixel_spacing):
        raise GeometryError(
            f"{_where(series, ref)}: {_tag_name(enhanced, 'spacing')} {list(ref.pixel_spacing)} mm is outside "
            f"the plausible {lo:g}–{hi:g} mm of a CT/MR/PET image; expected the pixel size in mm"
        )


def _is_cine_series(series, frames: list[Frame]) -> bool:
    """Whether frames sharing a position are meant as phases of a cine (not duplicates)."""
    ds = series.headers[0]
    if (_int(ds.get("CardiacNumberOfImages")) or 0) > 1:  # (0018,1090)
        return True
    if (_int(ds.get("NumberOfTemporalPositions")) or 0) > 1:  # (0020,0105)
        return True
    times = {f.time_ms for f in frames if f.time_ms is not None}
    temporal = {f.temporal_index for f in frames if f.temporal_index is not None}
    return len(times) > 1 or len(temporal) > 1


def _cross_sectional_layout(series, frames: list[Frame], rows: int, cols: int) -> Layout:
    ref = frames[0]
    for f in frames[1:]:
        if np.max(np.abs(f.orientation - ref.orientation)) > ORIENTATION_TOLERANCE:
            raise GeometryError(
                f"mixed orientations in series {series.series_uid}: (0020,0037) Image Orientation (Patient) "
                f"{np.round(ref.orientation, 4).tolist()} in {_where(series, ref)} but "
                f"{np.round(f.orientation, 4).tolist()} in {_where(series, f)}; expected one orientation per series"
            )
        if not np.allclose(f.pixel_spacing, ref.pixel_spacing, rtol=1e-3):
            raise GeometryError(
                f"mixed (0028,0030) Pixel Spacing in series {series.series_uid}: {ref.pixel_spacing} in "
                f"{_where(series, ref)} but {f.pixel_spacing} in {_where(series, f)}; expected one spacing"
            )
    enhanced = any("PerFrameFunctionalGroupsSequence" in ds for ds in series.headers)
    _check_orthonormal(series, frames, enhanced)
    _check_pixel_spacing(series, ref, enhanced)
    row_dir, col_dir = ref.orientation[:3], ref.orientation[3:]
    normal = np.cross(row_dir, col_dir)
    normal = normal / np.linalg.norm(normal)

    # Group frames by their distance along the slice normal.
    dist = np.array([float(f.position @ normal) for f in frames])
    order = np.argsort(dist, kind="stable")
    groups: list[list[int]] = []
    for i in order:
        if groups and dist[i] - dist[groups[-1][0]] <= POSITION_TOLERANCE_MM:
            groups[-1].append(int(i))
        else:
            groups.append([int(i)])
    counts = [len(g) for g in groups]
    n_t = counts[0]
    cine = _is_cine_series(series, frames)
    if n_t > 1 and not cine or (len(set(counts)) > 1 and not cine):
        g = next(g for g in groups if len(g) > 1)
        a, b = frames[g[0]], frames[g[1]]
        raise GeometryError(
            f"duplicate slice position in series {series.series_uid}: {_where(series, a)} and "
            f"{_where(series, b)} share (0020,0032) Image Position (Patient) {np.round(a.position, 3).tolist()} "
            "with no cine timing ((0018,1060) Trigger Time / (0020,0100) Temporal Position Identifier); "
            "expected one frame per position"
        )
    if len(set(counts)) > 1:
        bad = next(g for g in groups if len(g) != n_t)
        raise GeometryError(
            f"unequal phases per slice position in series {series.series_uid}: {len(bad)} frame(s) at "
            f"{dist[bad[0]]:.2f} mm along the normal (e.g. {_where(series, frames[bad[0]])}) but {n_t} at "
            f"{dist[groups[0][0]]:.2f} mm; expected the same number of phases at every position "
            f"(counts {counts})"
        )

    # Order phases within each position.
    time_key = _phase_key(series, frames, groups)
    grid = np.empty((n_t, len(groups)), dtype=int)
    for z, g in enumerate(groups):
        keyed = sorted(g, key=lambda i: (time_key(frames[i]), i))
        if n_t > 1:
            for a, b in zip(keyed[:-1], keyed[1:]):
                if time_key(frames[a]) == time_key(frames[b]):
                    raise GeometryError(
                        f"duplicate frames in series {series.series_uid}: {_where(series, frames[a])} and "
                        f"{_where(series, frames[b])} share position {np.round(frames[a].position, 3).tolist()} "
                        f"and time key {time_key(frames[a])}; expected one frame per "
                        "position and time"
                    )
        grid[:, z] = keyed

    notes: dict[str, Any] = {}
    frame_times = None
    if n_t > 1:
        phase_frames = [frames[i] for i in grid[:, 0]]
        if all(f.time_ms is not None for f in phase_frames):
            frame_times = np.array([float(np.mean([frames[i].time_ms for i in grid[t]])) for t in range(n_t)])
            notes["frame_times_source"] = "trigger time"
        else:
            nominal = _nominal_interval(series.headers[0])
            if nominal is not None:
                frame_times = np.arange(n_t) * nominal / n_t
                notes["frame_times_source"] = "(0018,1062) Nominal Interval / phases"
            else:
                notes["frame_times_source"] = "none (phase order only)"

    # Slice spacing from the measured positions.
    pos = np.array([frames[grid[0, z]].position for z in range(len(groups))])
    ps_row, ps_col = ref.pixel_spacing
    affine = np.eye(4)
    affine[:3, 2] = row_dir * ps_col
    affine[:3, 1] = col_dir * ps_row
    affine[:3, 3] = pos[0]
    if len(groups) > 1:
        gaps = np.diff(pos @ normal)
        median = float(np.median(gaps))
        worst = int(np.argmax(np.abs(gaps - median)))
        if abs(gaps[worst] - median) > SLICE_GAP_TOLERANCE * median:
            a, b = frames[grid[0, worst]], frames[grid[0, worst + 1]]
            raise GeometryError(
                f"inconsistent slice spacing in series {series.series_uid}: gap {gaps[worst]:.3f} mm between "
                f"{_where(series, a)} and {_where(series, b)} ((0020,0032) Image Position (Patient)) but median "
                f"gap {median:.3f} mm; expected gaps within {SLICE_GAP_TOLERANCE:.0%} (missing slice?)"
            )
        affine[:3, 0] = (pos[-1] - pos[0]) / (len(groups) - 1)
        notes["slice_spacing_source"] = "(0020,0032) Image Position (Patient) differences"
    else:
        ds = series.headers[frames[grid[0, 0]].file]
        thickness = _float(ds.get("SliceThickness"))
        if thickness is None:
            per = ds.get("SharedFunctionalGroupsSequence")
            thickness = _float(_functional(None, per[0] if per else None, "PixelMeasuresSequence", "SliceThickness"))
        if thickness is not None and thickness > 0:
            affine[:3, 0] = normal * thickness
            notes["slice_spacing_source"] = "(0018,0050) Slice Thickness (single slice)"
        else:
            affine[:3, 0] = normal * ps_col
            notes["slice_spacing_source"] = "undefined (single slice without (0018,0050)); set to in-plane spacing"
    return Layout(grid, frames, affine, frame_times, rows, cols, notes)


def _nominal_interval(ds: Dataset) -> float | None:
    """R-R interval in ms from (0018,1062) Nominal Interval or (0018,1088) Heart Rate."""
    nominal = _float(ds.get("NominalInterval"))
    lo, hi = RR_INTERVAL_RANGE_MS
    if nominal is not None and lo <= nominal <= hi:
        return nominal
    hr = plausible_heart_rate(ds.get("HeartRate"))
    if hr is not None:
        return 60000.0 / hr
    return None


def plausible_heart_rate(value: Any) -> float | None:
    """(0018,1088) Heart Rate as a number within :data:`HEART_RATE_RANGE_BPM`, else ``None``
    (absent, not a number, zero, negative or implausible: never used)."""
    hr = _float(value)
    lo, hi = HEART_RATE_RANGE_BPM
    return hr if hr is not None and lo <= hr <= hi else None


def _phase_key(series, frames: list[Frame], groups: list[list[int]]):
    """Key ordering the phases at one position: Trigger Time, Temporal Position, Instance Number."""

    def usable(attr: str) -> bool:
        return all(getattr(frames[i], attr) is not None for g in groups for i in g)

    if usable("time_ms"):
        return lambda f: (round(f.time_ms, 3),)
    if usable("temporal_index"):
        return lambda f: (f.temporal_index,)
    if usable("instance"):
        return lambda f: (f.instance,)
    return lambda f: (f.file, f.index or 0)


def _ultrasound_spacing(series) -> tuple[tuple[float, float], dict[str, Any]]:
    """In-plane spacing (mm) from (0018,6011) Sequence of Ultrasound Regions.

    Uses the first region with (0018,6024)/(0018,6026) Physical Units X/Y Direction = 3
    (cm); (0018,602C)/(0018,602E) Physical Delta X/Y are converted cm → mm.
    """
    cm_code = 3
    mm_per_cm = 10.0
    ds = series.headers[0]
    regions = ds.get("SequenceOfUltrasoundRegions") or []
    for k, r in enumerate(regions):
        if int(r.get("PhysicalUnitsXDirection", -1)) == cm_code and int(r.get("PhysicalUnitsYDirection", -1)) == cm_code:
            dx, dy = _float(r.get("PhysicalDeltaX")), _float(r.get("PhysicalDeltaY"))
            if dx and dy and dx > 0 and dy > 0:
                region = [int(r.get(t, 0)) for t in ("RegionLocationMinX0", "RegionLocationMinY0",
                                                       "RegionLocationMaxX1", "RegionLocationMaxY1")]
                return (abs(dy) * mm_per_cm, abs(dx) * mm_per_cm), {
                    "pixel_spacing_source": f"(0018,6011) Sequence of Ultrasound Regions item {k + 1} (cm → mm)",
                    "us_region_xyxy": region,
                }
    units = [(r.get("PhysicalUnitsXDirection"), r.get("PhysicalUnitsYDirection")) for r in regions]
    raise GeometryError(
        f"{series.sources[0]}: no ultrasound region calibrated in cm: (0018,6011) Sequence of Ultrasound "
        f"Regions has {len(regions)} item(s) with (0018,6024)/(0018,6026) Physical Units {units}; "
        "expected a region with units code 3 (cm) and (0018,602C)/(0018,602E) Physical Delta X/Y"
    )


def _projection_layout(series, frames: list[Frame], rows: int, cols: int) -> Layout:
    """Images without patient position (US, planar NM, secondary capture): 2-D calibrated geometry.

    Frames are phases of one plane (``z`` has size 1). The affine has identity directions and
    an origin at 0 (patient position unknown); in-plane spacing comes from the ultrasound
    regions (US) or (0028,0030) Pixel Spacing.
    """
    notes: dict[str, Any] = {"patient_geometry": False}
    if series.modality == "US":
        (ps_row, ps_col), extra = _ultrasound_spacing(series)
        notes.update(extra)
    else:
        ps = frames[0].pixel_spacing
        if ps is None:
            raise GeometryError(
                f"{series.sources[0]}: (0028,0030) Pixel Spacing is missing for a {series.modality or '?'} image "
                "without (0020,0032) Image Position (Patient); expected a calibrated pixel size — no default is assumed"
            )
        ps_row, ps_col = ps
        notes["pixel_spacing_source"] = "(0028,0030) Pixel Spacing"
    if len(series.headers) > 1 and all(f.index is None for f in frames):
        order = sorted(range(len(frames)), key=lambda i: (frames[i].instance or 0, i))
    else:
        order = list(range(len(frames)))
    grid = np.array(order, dtype=int).reshape(-1, 1)
    affine = np.eye(4)
    affine[:3, 2] = [ps_col, 0.0, 0.0]
    affine[:3, 1] = [0.0, ps_row, 0.0]
    affine[:3, 0] = [0.0, 0.0, ps_col]
    notes["slice_spacing_source"] = "undefined (2-D image); set to in-plane spacing"
    times = None
    if len(order) > 1:
        t = [frames[i].time_ms for i in order]
        if all(v is not None for v in t):
            times = np.array(t, dtype=float)
            notes["frame_times_source"] = "(0018,1063) Frame Time / (0018,1065) Frame Time Vector"
    return Layout(grid, frames, affine, times, rows, cols, notes)

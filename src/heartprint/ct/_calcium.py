"""Coronary artery calcium scoring on non-contrast ECG-gated CT: Agatston, volume and mass.

Method (every constant is in :data:`AGATSTON_WEIGHTS` or the module constants below, with
its source):

1. **Candidates.** Voxels with CT number ≥ ``threshold_hu`` (130 HU; Agatston AS,
   Janowitz WR, et al., *J Am Coll Cardiol* 1990;15:827–832,
   doi:10.1016/0735-1097(90)90282-T) are grouped into lesions **per slice, in 2-D**, with
   **8-connectivity in-plane** (pixels touching at an edge *or a corner* join; no joins
   across slices). The 1990 paper scored each slice separately; in-plane connectivity is not
   standardised in public implementations (SimpleITK's ConnectedComponentImageFilter joins
   faces only unless FullyConnected; MolloiLab CalciumScoring.jl uses a square neighbourhood),
   so 8-connectivity is heartprint's documented choice (``connectivity=4`` is available).
2. **Minimum area.** A lesion counts when its area is ≥ 1 mm² (Agatston 1990; "≥1 mm² and
   ≥130 HU" as quoted by Tzolos et al.). Some scanners and studies use "≥ 3 contiguous
   pixels" instead (unverified, not implemented; at 0.5 mm pixels 1 mm² is 4 pixels).
3. **Agatston score.** Σ over lesions of area (mm²) × density weight of the lesion's
   *peak* HU (130–199 → 1, 200–299 → 2, 300–399 → 3, ≥ 400 → 4), the original definition
   for contiguous 3 mm slices.
4. **Other slice geometry.** Each slice's contribution is multiplied by
   ``increment / 3 mm`` (the z-extent a slice represents relative to the 3 mm slices of the
   original protocol), with ``increment`` the slice spacing ``dz``. For contiguous,
   non-overlapping slices this equals ``thickness / 3``; for overlapping reconstructions
   (thickness > increment) it stops a lesion seen on several overlapping slices from being
   counted several times: a lesion's score no longer depends on the increment. Overlap, gaps
   and thickness > 3 mm raise QC warnings. This normalisation follows from the 3 mm
   definition; it was **not verified** against a primary source (one public calculator even
   applies the inverse, × 3/thickness).
5. **Volume score** (mm³): number of voxels of counted lesions × voxel volume
   (``dz·dy·dx``, ``dz`` the increment).
6. **Mass score** (mg): ``c_HA × Σ_voxels HU × voxel volume``, i.e. calibration factor ×
   lesion volume × mean CT number summed over lesions (McCollough CH, Ulzheimer S,
   Halliburton SS, et al., *Radiology* 2007;243:527–538, doi:10.1148/radiol.2432050808).
   ``c_HA`` (mg HA per mL per HU) comes from a calibration phantom scanned with the same
   protocol; without one a nominal :data:`DEFAULT_CALIBRATION_MG_PER_ML_PER_HU` is used and
   a QC flag says the mass is not calibrated.

7. **Refusals** (series level, :func:`analyse_calcium_series` and the pipeline analyser; an
   error for the series, never a score with a note): values not in HU, (0018,0060) KVP
   missing or not :data:`AGATSTON_KVP` (120 kVp — the threshold and weights are defined for
   it; no kVp-adapted method is implemented), and a contrast-enhanced blood pool (median
   CT number of the heart region above :data:`CONTRAST_BLOOD_HU`, :func:`blood_pool_hu`)
   unless ``allow_contrast`` / the analyser option ``calcium_allow_contrast`` is given.

Per-artery scores need a coronary label map on the same grid (:data:`CORONARY_LABELS`) or
lesion assignments (:meth:`CalciumResult.assign`). A heart / coronary region mask excludes
lesions lying mostly outside it (aortic wall, valves, bone), and the exclusions are reported.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

import numpy as np
from scipy import ndimage

from heartprint.errors import GeometryError, InvalidInputError
from heartprint.image import Image, affine_from_geometry, check_spacing
from heartprint.measure import Measurement, QCFlag, Severity

__all__ = [
    "AGATSTON_WEIGHTS",
    "CORONARY_LABELS",
    "DEFAULT_CALIBRATION_MG_PER_ML_PER_HU",
    "CalciumLesion",
    "CalciumResult",
    "CalciumSeriesRefused",
    "AGATSTON_KVP",
    "CONTRAST_BLOOD_HU",
    "blood_pool_hu",
    "agatston_weight",
    "analyse_calcium_series",
    "calcium_score",
]

AGATSTON_CITATION = (
    "Agatston AS, Janowitz WR, Hildner FJ, et al. Quantification of coronary artery calcium using "
    "ultrafast computed tomography. J Am Coll Cardiol 1990;15:827-832. doi:10.1016/0735-1097(90)90282-T"
)
MASS_CITATION = (
    "McCollough CH, Ulzheimer S, Halliburton SS, et al. Coronary artery calcium: a multi-institutional, "
    "multimanufacturer international standard for quantification at cardiac CT. Radiology 2007;243:527-538. "
    "doi:10.1148/radiol.2432050808"
)

#: Density weights by lesion peak CT number (Agatston 1990): (lower bound HU inclusive, weight).
#: Peak 130–199 HU → 1, 200–299 → 2, 300–399 → 3, ≥ 400 → 4. Checked against several
#: independent implementations and secondary descriptions (Radiopaedia "Agatston score").
AGATSTON_WEIGHTS: tuple[tuple[float, int], ...] = ((130.0, 1), (200.0, 2), (300.0, 3), (400.0, 4))

#: Slice thickness (mm) of the original Agatston protocol (20 contiguous 3 mm EBCT slices).
REFERENCE_SLICE_MM = 3.0
#: Lesions smaller than this area (mm²) are not counted (Agatston 1990).
MIN_AREA_MM2 = 1.0
#: Nominal calibration factor (mg hydroxyapatite per mL per HU) used when none is given.
#: **Nominal, not verified** (HA calibration at 120 kVp is typically a little under 1); a
#: QC flag marks every mass computed with it as uncalibrated.
DEFAULT_CALIBRATION_MG_PER_ML_PER_HU = 0.8

#: Coronary label map convention for ``artery_labels``: 0 none, 1 LM, 2 LAD, 3 LCx, 4 RCA.
CORONARY_LABELS: dict[int, str] = {1: "LM", 2: "LAD", 3: "LCx", 4: "RCA"}
ARTERIES: tuple[str, ...] = ("LM", "LAD", "LCx", "RCA")
UNASSIGNED = "unassigned"

#: Contrast refusal: a series whose blood pool (:func:`blood_pool_hu`: median CT number of the
#: voxels in :data:`BLOOD_POOL_WINDOW_HU` in the heart region, else the central third of the
#: field of view) is above this is contrast-enhanced and is not scored (unless overridden).
#: Unenhanced blood is about 40 HU (30–60 with the haematocrit); coronary CTA aims at ≥ 250 HU
#: in the lumen. 150 HU lies well between (heartprint's choice, not a guideline value): the
#: median of a non-contrast heart region is blood and myocardium (~40 HU) even with a small
#: share of calcium or bone, while an enhanced blood pool fills most of the heart region.
#: Limitation: a late (venous/delayed) phase with blood under 150 HU is not refused by this
#: criterion; header evidence ((0018,0010) Contrast/Bolus Agent, description) then warns.
CONTRAST_BLOOD_HU = 150.0
#: CT numbers (HU) counted as blood/soft tissue by the contrast criterion: above fat (−100 HU)
#: and lung, below cortical bone and metal.
BLOOD_POOL_WINDOW_HU = (-50.0, 1000.0)
#: Tube voltage (kVp) at which the Agatston method's 130 HU threshold and density weights are
#: applied on multidetector CT: the international standard protocol scans at 120 kVp
#: (McCollough 2007, doi:10.1148/radiol.2432050808 — ⚠ not verified against the text here);
#: the 1990 definition was on electron-beam CT. At lower voltage calcium has higher CT numbers
#: and the threshold must change (147 HU at 100 kVp: Nakazato R, Dey D, Gutstein A, et al.,
#: J Cardiovasc Comput Tomogr 2009;3(6), "Coronary artery calcium scoring using a reduced tube
#: voltage and radiation dose protocol with dual-source computed tomography"). heartprint
#: implements no kVp-adapted method, so a series at another (or an unknown) kVp is refused.
AGATSTON_KVP = 120.0
#: (0018,0060) KVP within this many kV of :data:`AGATSTON_KVP` counts as that voltage.
KVP_TOLERANCE = 0.5

_TOL_MM = 1e-6


def agatston_weight(peak_hu: float | np.ndarray) -> np.ndarray:
    """Agatston density weight (1–4) of a lesion's peak CT number in HU; 0 below 130 HU.

    Bands (Agatston 1990): 130–199 → 1, 200–299 → 2, 300–399 → 3, ≥ 400 → 4. Bounds are
    inclusive below, so 199.9 HU → 1 and 200 HU → 2.
    """
    peak = np.asarray(peak_hu, dtype=float)
    bounds = np.array([b for b, _ in AGATSTON_WEIGHTS])
    return np.searchsorted(bounds, peak, side="right").astype(int)


@dataclass(frozen=True)
class CalciumLesion:
    """One 2-D calcified lesion on one slice.

    Attributes
    ----------
    id
        1-based lesion number (slice-major order).
    slice
        z index of the slice.
    centroid_index
        ``(z, y, x)`` voxel-index centroid.
    centroid_lps
        Centroid in LPS mm (from the image affine; origin 0 for a bare array).
    n_pixels, area_mm2
        Pixel count and area (mm²).
    peak_hu, mean_hu
        Peak and mean CT number (HU) of the lesion's pixels.
    weight
        Agatston density weight (1–4).
    agatston
        ``area_mm2 × weight × increment / 3 mm``.
    volume_mm3, mass_mg
        ``n_pixels × voxel volume`` and ``c_HA × Σ HU × voxel volume`` (mg).
    artery
        ``LM``, ``LAD``, ``LCx``, ``RCA``, ``unassigned``, or ``None`` when no labels were given.
    inside_region
        Fraction (0–1) of the lesion's pixels inside ``region_mask`` (``None`` without a mask).
    """

    id: int
    slice: int
    centroid_index: tuple[float, float, float]
    centroid_lps: tuple[float, float, float]
    n_pixels: int
    area_mm2: float
    peak_hu: float
    mean_hu: float
    weight: int
    agatston: float
    volume_mm3: float
    mass_mg: float
    artery: str | None = None
    inside_region: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "slice": self.slice,
            "centroid_index": [round(v, 3) for v in self.centroid_index],
            "centroid_lps_mm": [round(v, 3) for v in self.centroid_lps],
            "n_pixels": self.n_pixels, "area_mm2": self.area_mm2, "peak_hu": self.peak_hu,
            "mean_hu": self.mean_hu, "weight": self.weight, "agatston": self.agatston,
            "volume_mm3": self.volume_mm3, "mass_mg": self.mass_mg, "artery": self.artery,
            "inside_region": self.inside_region,
        }


def _totals(lesions: Sequence[CalciumLesion]) -> dict[str, float]:
    return {
        "agatston": float(sum(les.agatston for les in lesions)),
        "volume_mm3": float(sum(les.volume_mm3 for les in lesions)),
        "mass_mg": float(sum(les.mass_mg for les in lesions)),
        "n_lesions": len(lesions),
    }


@dataclass(frozen=True)
class CalciumResult:
    """Calcium scores of one series.

    Attributes
    ----------
    agatston
        Agatston score (dimensionless), normalised to 3 mm slices.
    volume_mm3
        Volume score (mm³).
    mass_mg
        Mass score (mg hydroxyapatite equivalent).
    lesions
        Counted lesions (:class:`CalciumLesion`), inside the region mask if one was given.
    excluded
        Lesions ≥ the minimum area that the region mask excluded.
    per_artery
        ``{artery: {"agatston", "volume_mm3", "mass_mg", "n_lesions"}}`` for LM, LAD, LCx,
        RCA (and ``unassigned`` when some lesions touch no artery label); empty when no
        artery labels or assignments were given. The entries sum to the totals.
    qc
        :class:`~heartprint.measure.QCFlag` list.
    method
        Threshold, connectivity, minimum area, slice geometry, calibration and citations.
    """

    agatston: float
    volume_mm3: float
    mass_mg: float
    lesions: tuple[CalciumLesion, ...]
    excluded: tuple[CalciumLesion, ...] = ()
    per_artery: dict[str, dict[str, float]] = field(default_factory=dict)
    qc: tuple[QCFlag, ...] = ()
    method: dict[str, Any] = field(default_factory=dict)
    source: str | None = None

    @property
    def category_finding(self):
        """The clinical interpretation band (:func:`heartprint.clinical.agatston_category`)."""
        from heartprint.clinical.calcium import agatston_category

        try:
            return agatston_category(round(self.agatston, 6))
        except InvalidInputError:  # outside the rule's range (implausible score, e.g. values not in HU)
            return None

    @property
    def category(self) -> str | None:
        """Agatston band ``"0"``, ``"1-10"``, ``"11-100"``, ``"101-400"`` or ``">400"``
        (Rumberger 1999 bands via :mod:`heartprint.clinical.calcium`); ``None`` when the
        score is outside the clinical rule's range (0–100 000)."""
        finding = self.category_finding
        return None if finding is None else str(finding.details["band"])

    def assign(self, assignments: Mapping[int, str]) -> "CalciumResult":
        """Return a copy with lesions assigned to arteries by lesion ``id``.

        ``assignments`` maps lesion id → ``LM``/``LAD``/``LCx``/``RCA``; lesions not named
        keep their artery or become ``unassigned``. ``per_artery`` is recomputed.
        """
        ids = {les.id for les in self.lesions}
        for lid, artery in assignments.items():
            if lid not in ids:
                raise InvalidInputError(f"assignments: lesion id {lid!r} is not a counted lesion; expected one of {sorted(ids)}")
            if artery not in ARTERIES:
                raise InvalidInputError(f"assignments[{lid}]={artery!r}: expected one of {list(ARTERIES)}")
        lesions = tuple(
            replace(les, artery=assignments.get(les.id, les.artery or UNASSIGNED)) for les in self.lesions
        )
        return replace(self, lesions=lesions, per_artery=_per_artery(lesions))

    def measurements(self, source: str | None = None) -> list[Measurement]:
        """Totals (and per-artery Agatston) as :class:`~heartprint.measure.Measurement`.

        Units: Agatston ``"1"``, volume ``"mm3"``, mass ``"g"`` (UCUM; ``mg`` is not yet in
        :data:`heartprint.measure.UCUM_UNITS`, so the mass score is stored in grams).
        """
        src = source if source is not None else self.source
        common = {"source": src, "modality": "CT"}
        thr = self.method.get("threshold_hu", 130)
        out = [
            Measurement(code="cac_agatston", name="Coronary artery calcium score (Agatston)", value=self.agatston,
                        unit="1", method=f"Agatston, >= {thr:g} HU, 2-D 8-connected lesions >= 1 mm2, x increment/3 mm",
                        reference=AGATSTON_CITATION, **common),
            Measurement(code="cac_volume", name="Coronary artery calcium volume score", value=self.volume_mm3,
                        unit="mm3", method=f"voxels of counted lesions x voxel volume (>= {thr:g} HU)",
                        reference=AGATSTON_CITATION, **common),
            Measurement(code="cac_mass", name="Coronary artery calcium mass score", value=self.mass_mg,
                        unit="mg", method=(f"c_HA x sum(HU x voxel volume), c_HA = {self.method.get('calibration_mg_per_ml_per_hu')} "
                                          f"mg/mL/HU ({self.method.get('calibration_source')})"),
                        reference=MASS_CITATION, **common),
            Measurement(code="cac_lesion_count", name="Number of calcified lesions (2-D, per slice)",
                        value=float(len(self.lesions)), unit="1", method="8-connected per-slice lesions >= 1 mm2",
                        reference=AGATSTON_CITATION, **common),
        ]
        for artery in ARTERIES:
            if artery in self.per_artery:
                out.append(Measurement(code="cac_agatston", name=f"Agatston score, {artery}",
                                       value=self.per_artery[artery]["agatston"], unit="1", vessel=artery,
                                       method="Agatston score of lesions assigned to the artery",
                                       reference=AGATSTON_CITATION, **common))
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        ex = _totals(self.excluded)
        return {
            "agatston": self.agatston,
            "volume_mm3": self.volume_mm3,
            "mass_mg": self.mass_mg,
            "category": self.category,
            "category_code": None if self.category_finding is None else self.category_finding.code,
            "n_lesions": len(self.lesions),
            "lesions": [les.to_dict() for les in self.lesions],
            "per_artery": self.per_artery,
            "excluded": {"n_lesions": ex["n_lesions"], "volume_mm3": ex["volume_mm3"], "agatston": ex["agatston"],
                         "lesions": [les.to_dict() for les in self.excluded]},
            "qc": [f.to_dict() for f in self.qc],
            "method": self.method,
        }


def _per_artery(lesions: Sequence[CalciumLesion]) -> dict[str, dict[str, float]]:
    if not lesions or all(les.artery is None for les in lesions):
        return {}
    out = {a: _totals([les for les in lesions if les.artery == a]) for a in ARTERIES}
    rest = [les for les in lesions if les.artery not in ARTERIES]
    if rest:
        out[UNASSIGNED] = _totals(rest)
    return out


# -- input handling ---------------------------------------------------------------------------------


def _describe_grid(shape: Sequence[int], affine: np.ndarray | None) -> str:
    if affine is None:
        return f"shape {tuple(int(s) for s in shape)} (no geometry)"
    sp = np.linalg.norm(affine[:3, :3], axis=0)
    return (f"shape {tuple(int(s) for s in shape)}, spacing (dz,dy,dx) {tuple(round(float(v), 4) for v in sp)} mm, "
            f"origin {tuple(round(float(v), 3) for v in affine[:3, 3])} mm")


def _on_grid(name: str, value: Any, shape: tuple[int, ...], affine: np.ndarray, have_affine: bool) -> np.ndarray:
    """Return ``value`` (array or Image) as an array on the scored grid, else GeometryError naming both grids."""
    if isinstance(value, Image):
        if value.is_cine:
            raise InvalidInputError(f"{name}: a cine image of shape {value.array.shape}; expected a 3-D (z, y, x) map")
        same = value.shape3d == shape
        if same:
            if have_affine:
                same = np.allclose(value.affine, affine, atol=1e-3, rtol=0)
            else:  # bare hu array: only the spacing is known
                same = np.allclose(value.spacing, np.linalg.norm(affine[:3, :3], axis=0), atol=1e-4, rtol=0)
        if not same:
            raise GeometryError(
                f"{name} grid [{_describe_grid(value.shape3d, value.affine)}] differs from the CT grid "
                f"[{_describe_grid(shape, affine)}]; expected the same grid (resample with Image.resample_like, nearest)"
            )
        return np.asarray(value.array)
    arr = np.asarray(value)
    if arr.shape != shape:
        raise GeometryError(
            f"{name} grid [{_describe_grid(arr.shape, None)}] differs from the CT grid "
            f"[{_describe_grid(shape, affine)}]; expected an array of shape {shape}"
        )
    return arr


def _positive(name: str, value: Any, unit: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name}={value!r}: expected a finite number > 0 {unit}") from exc
    if not (math.isfinite(x) and x > 0):
        raise InvalidInputError(f"{name}={value!r}: expected a finite number > 0 {unit}")
    return x


def calcium_score(
    hu: np.ndarray | Image,
    spacing: Sequence[float] | None = None,
    *,
    slice_thickness: float | None = None,
    artery_labels: np.ndarray | Image | None = None,
    region_mask: np.ndarray | Image | None = None,
    calibration_mg_per_ml_per_hu: float | None = None,
    threshold_hu: float = 130.0,
    min_area_mm2: float = MIN_AREA_MM2,
    connectivity: int = 8,
) -> CalciumResult:
    """Agatston, volume and mass calcium scores of a non-contrast CT volume.

    Parameters
    ----------
    hu
        ``(z, y, x)`` CT numbers in Hounsfield units (axial slices along z), or a 3-D
        :class:`~heartprint.Image` (then ``spacing`` comes from the affine, the slice
        thickness from ``meta["slice_thickness_mm"]`` and centroids are in true LPS).
    spacing
        ``(dz, dy, dx)`` in mm, ``dz`` being the slice *increment*. Required for an array;
        must match the image's if given with an Image.
    slice_thickness
        Reconstructed slice thickness in mm (DICOM (0018,0050)). ``None``: taken from the
        image meta, else assumed equal to ``dz`` (contiguous slices; QC info flag).
    artery_labels
        Optional ``(z, y, x)`` integer map on the same grid, :data:`CORONARY_LABELS`
        (1 LM, 2 LAD, 3 LCx, 4 RCA). Each lesion goes to the artery holding most of its
        pixels (``unassigned`` if none).
    region_mask
        Optional boolean ``(z, y, x)`` heart/coronary region on the same grid. Lesions with
        less than half of their pixels inside are excluded and reported in ``.excluded``.
    calibration_mg_per_ml_per_hu
        Mass calibration factor c_HA (mg HA per mL per HU) from a calibration phantom
        (McCollough 2007). ``None``: :data:`DEFAULT_CALIBRATION_MG_PER_ML_PER_HU`, flagged.
    threshold_hu
        Candidate threshold (HU), 130 by definition; density weights keep their 1990 bands.
    min_area_mm2
        Minimum lesion area (mm²), 1 by definition; compared with a 1e-6 mm² tolerance.
    connectivity
        In-plane connectivity, 8 (default: corner neighbours join) or 4.

    Returns
    -------
    CalciumResult
        ``.agatston``, ``.volume_mm3``, ``.mass_mg``, ``.category``, ``.lesions``,
        ``.per_artery``, ``.excluded``, ``.qc``, ``.measurements()``, ``.to_dict()``.

    Raises
    ------
    GeometryError
        Non-finite or non-positive spacing; label map or mask on a different grid (the
        message names both grids).
    InvalidInputError
        Not a 3-D numeric array; bad slice thickness, calibration, threshold or connectivity.

    Notes
    -----
    Agatston AS et al., J Am Coll Cardiol 1990;15:827–832, doi:10.1016/0735-1097(90)90282-T;
    McCollough CH et al., Radiology 2007;243:527–538, doi:10.1148/radiol.2432050808. See the
    module docstring for each step and its source.
    """
    qc: list[QCFlag] = []
    source = None
    if isinstance(hu, Image):
        if hu.is_cine:
            raise InvalidInputError(f"hu: a cine image of shape {hu.array.shape}; expected a 3-D (z, y, x) CT volume")
        img_spacing = hu.spacing
        if spacing is not None:
            given = check_spacing(spacing)
            if not np.allclose(given, img_spacing, atol=1e-4, rtol=0):
                raise GeometryError(f"spacing={tuple(spacing)!r} differs from the image's (dz,dy,dx) {img_spacing} mm")
        affine = hu.affine
        have_affine = True
        if slice_thickness is None and hu.meta.get("slice_thickness_mm") is not None:
            slice_thickness = hu.meta["slice_thickness_mm"]
        source = hu.series_uid
        arr = np.asarray(hu.array)
        dz, dy, dx = img_spacing
        voxel_mm3 = hu.voxel_volume_mm3
        pixel_mm2 = float(np.linalg.norm(np.cross(affine[:3, 1], affine[:3, 2])))
    else:
        if spacing is None:
            raise GeometryError("spacing=None with an array input: expected (dz, dy, dx) in mm (never assumed)")
        dz, dy, dx = check_spacing(spacing)
        arr = np.asarray(hu)
        affine = affine_from_geometry((dz, dy, dx))
        have_affine = False
        voxel_mm3 = dz * dy * dx
        pixel_mm2 = dy * dx
    if arr.ndim != 3 or arr.dtype.kind not in "iuf" or 0 in arr.shape:
        raise InvalidInputError(f"hu: array of shape {arr.shape} and dtype {arr.dtype}; expected a non-empty (z, y, x) numeric array in HU")
    threshold = float(threshold_hu)
    if not math.isfinite(threshold):
        raise InvalidInputError(f"threshold_hu={threshold_hu!r}: expected a finite number of HU")
    if threshold != 130.0:
        qc.append(QCFlag(code="nonstandard_threshold", severity=Severity.WARNING,
                         message=f"threshold {threshold:g} HU instead of the Agatston 130 HU; scores are not comparable",
                         details={"threshold_hu": threshold}))
    if connectivity not in (4, 8):
        raise InvalidInputError(f"connectivity={connectivity!r}: expected 4 or 8 (in-plane)")
    min_area = _positive("min_area_mm2", min_area_mm2, "mm2")
    if calibration_mg_per_ml_per_hu is None:
        c_ha, c_source = DEFAULT_CALIBRATION_MG_PER_ML_PER_HU, "nominal default (uncalibrated)"
        qc.append(QCFlag(code="mass_uncalibrated", severity=Severity.INFO,
                         message=(f"mass score uses the nominal calibration {c_ha} mg/mL/HU; supply "
                                  "calibration_mg_per_ml_per_hu from a calibration phantom for a calibrated mass"),
                         details={"calibration_mg_per_ml_per_hu": c_ha}))
    else:
        c_ha, c_source = _positive("calibration_mg_per_ml_per_hu", calibration_mg_per_ml_per_hu, "mg/mL/HU"), "user-supplied"

    # -- slice geometry --------------------------------------------------------------------------
    if slice_thickness is None:
        thickness = dz
        thickness_source = "assumed equal to the slice increment dz (not given)"
        qc.append(QCFlag(code="slice_thickness_assumed", severity=Severity.INFO,
                         message=f"slice thickness not given; assumed equal to the increment {dz:g} mm (contiguous slices)",
                         details={"increment_mm": dz}))
    else:
        thickness = _positive("slice_thickness", slice_thickness, "mm")
        thickness_source = "given"
    if thickness > REFERENCE_SLICE_MM + _TOL_MM:
        qc.append(QCFlag(code="slice_thickness_gt_3mm", severity=Severity.WARNING,
                         message=(f"slice thickness {thickness:g} mm > {REFERENCE_SLICE_MM:g} mm: Agatston scoring is defined on "
                                  "3 mm slices; thick slices lose small and low-density lesions to partial volume"),
                         details={"slice_thickness_mm": thickness, "limit_mm": REFERENCE_SLICE_MM}))
    if thickness > dz + 0.01:
        qc.append(QCFlag(code="overlapping_slices", severity=Severity.WARNING,
                         message=(f"overlapping reconstruction: thickness {thickness:g} mm > increment {dz:g} mm; each slice's "
                                  f"score is weighted by increment/3 = {dz / REFERENCE_SLICE_MM:.4g} so overlap is not double-counted, "
                                  "but scores differ from a contiguous 3 mm reconstruction"),
                         details={"slice_thickness_mm": thickness, "increment_mm": dz}))
    elif thickness < dz - 0.01:
        qc.append(QCFlag(code="slice_gaps", severity=Severity.WARNING,
                         message=(f"gaps between slices: thickness {thickness:g} mm < increment {dz:g} mm; calcium in the gaps "
                                  "is not imaged"),
                         details={"slice_thickness_mm": thickness, "increment_mm": dz}))
    z_scale = dz / REFERENCE_SLICE_MM

    # masks are checked before anything is computed, even when there is no candidate voxel
    amap = None if artery_labels is None else _on_grid("artery_labels", artery_labels, arr.shape, affine, have_affine)
    rmask = None if region_mask is None else _on_grid("region_mask", region_mask, arr.shape, affine, have_affine)

    # -- lesions: 2-D components on every slice in one labelling call --------------------------
    values = arr.astype(np.float32, copy=False) if arr.dtype.kind == "f" else arr
    candidates = values >= threshold  # NaN compares False: never a candidate
    structure = np.zeros((3, 3, 3), dtype=bool)
    structure[1] = ndimage.generate_binary_structure(2, 2 if connectivity == 8 else 1)
    labels, n = ndimage.label(candidates, structure=structure)
    lesions: list[CalciumLesion] = []
    excluded: list[CalciumLesion] = []
    n_small = 0
    if n:
        flat = labels.ravel()
        where = np.flatnonzero(candidates)
        lab = flat[where]
        hu_vals = values.ravel()[where].astype(np.float64)
        counts = np.bincount(lab, minlength=n + 1)[1:]
        area = counts * pixel_mm2
        keep = area >= min_area - _TOL_MM
        n_small = int(np.count_nonzero(~keep))
        sums = np.bincount(lab, weights=hu_vals, minlength=n + 1)[1:]
        order = np.argsort(lab, kind="stable")  # group pixels by lesion, then a segmented max
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        peak = np.maximum.reduceat(hu_vals[order], starts)
        zyx = np.unravel_index(where, arr.shape)
        cent = np.stack([np.bincount(lab, weights=c.astype(np.float64), minlength=n + 1)[1:] / counts for c in zyx], axis=1)
        lps = cent @ affine[:3, :3].T + affine[:3, 3]
        artery_of = [None] * n
        if amap is not None:
            if amap.dtype.kind not in "iub":
                if not np.all(np.isfinite(amap)) or not np.array_equal(amap, np.round(amap)):
                    raise InvalidInputError("artery_labels: expected integer labels 0-4 (0 none, 1 LM, 2 LAD, 3 LCx, 4 RCA)")
            avals = amap.ravel()[where].astype(np.int64)
            bad = set(np.unique(avals).tolist()) - {0, *CORONARY_LABELS}
            if bad:
                raise InvalidInputError(f"artery_labels: values {sorted(bad)} under lesions; expected 0 or {CORONARY_LABELS}")
            votes = np.bincount((lab - 1) * 5 + avals, minlength=n * 5).reshape(n, 5)
            best = votes[:, 1:].argmax(axis=1) + 1
            has = votes[:, 1:].sum(axis=1) > 0
            artery_of = [CORONARY_LABELS[int(b)] if h else UNASSIGNED for b, h in zip(best, has)]
        inside = [None] * n
        if rmask is not None:
            rin = (rmask.ravel()[where] != 0).astype(np.float64)
            inside = (np.bincount(lab, weights=rin, minlength=n + 1)[1:] / counts).tolist()
        weights = agatston_weight(peak)
        out_of_region = np.array([fr is not None and fr < 0.5 for fr in inside])
        cent_l, lps_l = cent.tolist(), lps.tolist()
        for i in np.flatnonzero(keep).tolist():
            dest = excluded if out_of_region[i] else lesions
            dest.append(CalciumLesion(
                id=len(dest) + 1, slice=int(round(cent_l[i][0])),
                centroid_index=tuple(cent_l[i]), centroid_lps=tuple(lps_l[i]),
                n_pixels=int(counts[i]), area_mm2=float(area[i]), peak_hu=float(peak[i]),
                mean_hu=float(sums[i] / counts[i]), weight=int(weights[i]),
                agatston=float(area[i] * weights[i] * z_scale), volume_mm3=float(counts[i] * voxel_mm3),
                mass_mg=float(c_ha * sums[i] * voxel_mm3 / 1000.0),  # mm3 -> mL
                artery=artery_of[i], inside_region=None if inside[i] is None else float(inside[i]),
            ))
    if region_mask is not None:
        ex = _totals(excluded)
        qc.append(QCFlag(code="excluded_outside_region", severity=Severity.INFO,
                         message=(f"{ex['n_lesions']} lesion(s), {ex['volume_mm3']:.1f} mm3 (Agatston {ex['agatston']:.1f}) "
                                  "lay mostly outside the heart/coronary region mask and were excluded"),
                         details={"n_lesions": ex["n_lesions"], "volume_mm3": ex["volume_mm3"], "agatston": ex["agatston"]}))
    totals = _totals(lesions)
    method = {
        "threshold_hu": threshold,
        "connectivity": f"2-D per slice, {connectivity}-connected in-plane",
        "min_area_mm2": min_area,
        "n_below_min_area": n_small,
        "density_weights": "peak HU 130-199 -> 1, 200-299 -> 2, 300-399 -> 3, >=400 -> 4",
        "slice_increment_mm": dz,
        "slice_thickness_mm": thickness,
        "slice_thickness_source": thickness_source,
        "agatston_slice_factor": z_scale,
        "pixel_area_mm2": pixel_mm2,
        "voxel_volume_mm3": voxel_mm3,
        "calibration_mg_per_ml_per_hu": c_ha,
        "calibration_source": c_source,
        "region_mask": region_mask is not None,
        "region_rule": "lesion excluded when < 50 % of its pixels lie inside region_mask" if region_mask is not None else None,
        "artery_labels": "majority label per lesion (1 LM, 2 LAD, 3 LCx, 4 RCA)" if artery_labels is not None else None,
        "citations": [AGATSTON_CITATION, MASS_CITATION],
    }
    return CalciumResult(
        agatston=totals["agatston"], volume_mm3=totals["volume_mm3"], mass_mg=totals["mass_mg"],
        lesions=tuple(lesions), excluded=tuple(excluded), per_artery=_per_artery(lesions),
        qc=tuple(qc), method=method, source=source,
    )


# -- series-level entry ---------------------------------------------------------------------------

_GATED = re.compile(r"gat|ecg|ekg|cardiac|calcium|ca[ _-]?scor|\bcac\b|\bcs\b|agatston|trigger|prospective|heart", re.I)
_CONTRAST = re.compile(r"angio|\bcta\b|ccta|contrast|arterial|\bkm\b|\+c\b|bolus", re.I)


class CalciumSeriesRefused(InvalidInputError):
    """A series on which a calcium score would be wrong (not HU, wrong kVp, contrast-enhanced, not CT).

    ``code`` names the reason (``not_ct``, ``not_hounsfield``, ``kvp_missing``, ``kvp_not_standard``,
    ``contrast_enhanced``); the message says what was found and what is expected.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _refuse(code: str, image: Image, message: str) -> CalciumSeriesRefused:
    who = f"series {image.series_uid}" if image.series_uid else "the CT series"
    return CalciumSeriesRefused(code, f"calcium scoring refused for {who}: {message}")


def blood_pool_hu(image: Image, region: np.ndarray | None = None) -> tuple[float, str, int]:
    """The contrast criterion's statistic: median CT number (HU) of the voxels within
    :data:`BLOOD_POOL_WINDOW_HU` inside ``region`` (a heart mask), else inside the central third
    of the field of view in x and y (all slices — a calcium scan is centred on the heart).

    Returns ``(median HU, where, n voxels)``; the median is NaN when no voxel is in the window.
    """
    arr = np.asarray(image.array)
    if region is not None and np.any(region):
        sample = arr[np.asarray(region).astype(bool)]
        where = "heart region mask"
    else:
        _, ny, nx = arr.shape
        sample = arr[:, ny // 3: max(ny // 3 + 1, 2 * ny // 3), nx // 3: max(nx // 3 + 1, 2 * nx // 3)]
        where = "central third of the field of view"
    lo, hi = BLOOD_POOL_WINDOW_HU
    soft = sample[(sample > lo) & (sample < hi)]
    return (float(np.median(soft)) if soft.size else float("nan")), where, int(soft.size)


def _series_qc(image: Image, region: np.ndarray | None, *, allow_contrast: bool = False) -> list[QCFlag]:
    """Checks of a CT series before its calcium score may be reported.

    Raises :class:`CalciumSeriesRefused` (an :class:`~heartprint.errors.InvalidInputError`) when the
    score would be wrong — an error for the series, never a number with a note:

    - ``not_ct``: (0008,0060) Modality other than CT;
    - ``not_hounsfield``: non-finite values, no voxel below −100 HU (no air: stored values, not HU)
      or most voxels outside :data:`~heartprint.io._geometry.CT_HU_PLAUSIBLE_RANGE`;
    - ``kvp_missing`` / ``kvp_not_standard``: (0018,0060) KVP (``meta["kvp"]``) absent or not
      :data:`AGATSTON_KVP` — the 130 HU threshold and the density weights hold at that tube
      voltage only (see :data:`AGATSTON_KVP`);
    - ``contrast_enhanced``: blood pool above :data:`CONTRAST_BLOOD_HU` (:func:`blood_pool_hu`),
      unless ``allow_contrast`` (then a WARNING flag says the override was used).

    Returns the remaining warnings: no evidence of ECG gating, header evidence of contrast.
    """
    from heartprint.io._geometry import CT_HU_MAX_OUTSIDE_FRACTION, CT_HU_PLAUSIBLE_RANGE

    meta = image.meta or {}
    flags: list[QCFlag] = []
    if image.modality not in (None, "CT"):
        raise _refuse("not_ct", image, f"(0008,0060) Modality {image.modality!r}; calcium scoring needs CT in HU")
    arr = np.asarray(image.array)
    if arr.size and arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise _refuse("not_hounsfield", image, f"{int(np.count_nonzero(~np.isfinite(arr)))} voxel(s) are not finite "
                      "numbers; expected CT numbers in HU")
    lo = float(arr.min()) if arr.size else 0.0
    if lo >= -100:
        raise _refuse("not_hounsfield", image,
                      f"minimum value {lo:g} >= -100: no air in the image, the values look like stored pixel values, "
                      "not HU (missing or wrong (0028,1052) Rescale Intercept / (0028,1053) Rescale Slope?)")
    hu_lo, hu_hi = CT_HU_PLAUSIBLE_RANGE
    outside = float(np.count_nonzero((arr < hu_lo) | (arr > hu_hi))) / max(arr.size, 1)
    if outside > CT_HU_MAX_OUTSIDE_FRACTION:
        raise _refuse("not_hounsfield", image, f"{outside:.0%} of the voxels lie outside {hu_lo:g}..{hu_hi:g} HU; "
                      "expected CT numbers in HU (wrong rescale?)")
    kvp = meta.get("kvp")
    try:
        kvp = None if kvp is None else float(kvp)
    except (TypeError, ValueError):
        kvp = None
    if kvp is None or not math.isfinite(kvp):
        raise _refuse("kvp_missing", image,
                      f"(0018,0060) KVP is not given; the Agatston 130 HU threshold and density weights hold at "
                      f"{AGATSTON_KVP:g} kVp only, so the tube voltage must be known")
    if abs(kvp - AGATSTON_KVP) > KVP_TOLERANCE:
        raise _refuse("kvp_not_standard", image,
                      f"(0018,0060) KVP {kvp:g}; expected {AGATSTON_KVP:g} kVp, the tube voltage at which the Agatston "
                      "130 HU threshold and density weights are standardised (at other voltages calcium has other CT "
                      "numbers, e.g. a 147 HU threshold at 100 kVp: Nakazato 2009); heartprint has no validated "
                      "kVp-adapted method")
    # contrast: blood-pool CT number in the heart region (refusal), header evidence (warning)
    median, where, n_soft = blood_pool_hu(image, region)
    if n_soft and median > CONTRAST_BLOOD_HU:
        what = (f"median CT number {median:.0f} HU of the blood/soft-tissue voxels ({BLOOD_POOL_WINDOW_HU[0]:g} to "
                f"{BLOOD_POOL_WINDOW_HU[1]:g} HU) in the {where} is above {CONTRAST_BLOOD_HU:g} HU: the blood pool is "
                "contrast-enhanced (unenhanced blood is about 40 HU), and iodine above 130 HU is scored as calcium")
        if not allow_contrast:
            raise _refuse("contrast_enhanced", image, what + "; expected a non-contrast series (override: "
                          "allow_contrast, the analyser option calcium_allow_contrast)")
        flags.append(QCFlag(code="contrast_enhanced_override", severity=Severity.WARNING,
                            message=("scored although the series is contrast-enhanced, because the override was given: "
                                     + what + "; the score is not an Agatston score of a non-contrast scan"),
                            details={"median_blood_pool_hu": median, "threshold_hu": CONTRAST_BLOOD_HU,
                                     "region": where}))
    text = " ".join(str(meta.get(k) or "") for k in ("series_description", "protocol_name"))
    # ECG gating
    from heartprint.io._geometry import plausible_heart_rate

    gating = [k for k in ("heart_rate_bpm", "rr_interval_ms")
              if (plausible_heart_rate(meta.get(k)) if k == "heart_rate_bpm" else meta.get(k))]
    if not gating and not _GATED.search(text) and image.kind != "ct_calcium":
        flags.append(QCFlag(code="not_gated", severity=Severity.WARNING,
                            message=("no evidence of ECG gating: no (0018,1088) Heart Rate / (0018,1062) Nominal Interval and "
                                     f"series description {text.strip()!r} names no cardiac/calcium protocol; motion can "
                                     "blur and mis-score calcium"),
                            details={"series_description": text.strip()}))
    reasons = []
    agent = str(meta.get("contrast_bolus_agent") or "").strip()
    if agent and agent.lower() not in {"none", "no", "n", "0"}:
        reasons.append(f"(0018,0010) Contrast/Bolus Agent {agent!r}")
    if image.kind == "ct_angio":
        reasons.append("series classified ct_angio")
    for r in meta.get("kind_reasons") or []:
        if "Contrast/Bolus Agent" in str(r) and "empty" not in str(r):
            reasons.append(str(r))
    m = _CONTRAST.search(text)
    if m:
        reasons.append(f"series description {text.strip()!r} ~ {m.group(0)!r}")
    if reasons:
        flags.append(QCFlag(code="contrast_enhanced", severity=Severity.WARNING,
                            message=("the header suggests contrast (" + "; ".join(reasons) + ") although the blood pool is "
                                     f"not enhanced by its CT number (median {median:.0f} HU in the {where}); iodine above "
                                     "130 HU would be scored as calcium"),
                            details={"reasons": reasons, "median_soft_tissue_hu": median,
                                     "threshold_hu": CONTRAST_BLOOD_HU}))
    return flags


def analyse_calcium_series(
    image: Image,
    *,
    artery_labels: np.ndarray | Image | None = None,
    region_mask: np.ndarray | Image | None = None,
    calibration_mg_per_ml_per_hu: float | None = None,
    allow_contrast: bool = False,
) -> dict[str, Any]:
    """Calcium scoring of one loaded CT series, as a JSON-able dict for the pipeline.

    Parameters
    ----------
    image
        A 3-D CT :class:`~heartprint.Image` in HU (from :func:`heartprint.io.load_series`);
        ``meta["kvp"]`` ((0018,0060) KVP) must be :data:`AGATSTON_KVP`.
    artery_labels, region_mask, calibration_mg_per_ml_per_hu
        As in :func:`calcium_score`.
    allow_contrast
        Score a series whose blood pool is contrast-enhanced (refused by default); the result
        then carries a ``contrast_enhanced_override`` warning.

    Raises
    ------
    CalciumSeriesRefused
        (an :class:`~heartprint.errors.InvalidInputError`) when the score would be wrong: not CT,
        values not in HU, (0018,0060) KVP missing or not 120, contrast-enhanced blood pool (see
        :func:`_series_qc`); the exception's ``code`` names the reason.

    Returns
    -------
    dict
        ``schema``, ``series_uid``, ``measurements`` (UCUM units), ``agatston``,
        ``volume_mm3``, ``mass_mg``, ``category``, ``lesions``, ``per_artery``,
        ``excluded``, ``qc`` (scoring flags plus series warnings: ECG gating, contrast named
        in the header, the contrast override), ``method`` and ``disclaimer``.
    """
    from heartprint import DISCLAIMER

    if not isinstance(image, Image):
        raise InvalidInputError(f"image: {type(image).__name__}; expected a heartprint.Image")
    res = calcium_score(image, artery_labels=artery_labels, region_mask=region_mask,
                        calibration_mg_per_ml_per_hu=calibration_mg_per_ml_per_hu)
    region = None
    if region_mask is not None:
        region = np.asarray(region_mask.array if isinstance(region_mask, Image) else region_mask)
    flags = list(res.qc) + _series_qc(image, region, allow_contrast=allow_contrast)
    out = res.to_dict()
    out["qc"] = [f.to_dict() for f in flags]
    return {
        "schema": "heartprint.ct_calcium/1",
        "series_uid": image.series_uid,
        "measurements": [m.to_dict() for m in res.measurements(source=image.series_uid)],
        **out,
        "disclaimer": DISCLAIMER,
    }

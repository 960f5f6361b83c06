"""A QRM-like coronary calcium phantom with analytic truth, and its CT DICOM writer.

Geometry (all in mm, LPS, axial slices): a water-equivalent elliptical body (default
20 HU, semi-axes 70 × 55 mm) in air (−1000 HU), holding cylindrical hydroxyapatite (HA)
inserts with their axes along z. Default: diameters 1, 3 and 5 mm × densities 200, 400
and 800 mg HA/cm³ (nine inserts on a 3 × 3 grid 15 mm apart), each 6 mm long and aligned
with slice boundaries (two whole 3 mm slices), so there is no through-plane partial volume.
Pixels 0.5 mm, 3 mm contiguous slices.

CT number of an insert: ``HU = ρ_HA / c_HA`` with ``c_HA`` = :data:`PHANTOM_CALIBRATION_MG_PER_ML_PER_HU`
(0.8 mg/mL/HU, so 200 → 250 HU, 400 → 500 HU, 800 → 1000 HU): a documented linear,
through-zero model chosen for the phantom, not a scanner measurement.

Truth is computed **analytically from the insert geometry** (never from the voxels):
area ``π d²/4``, volume ``π d²/4 × L``, physical mass ``ρ_HA × volume``, Agatston
``Σ_slices area × weight(insert HU) × increment/3`` for inserts whose area is ≥ 1 mm², in
the partial-volume-free model (a pixel takes the insert value when the insert covers at least
half of it, the area fraction being estimated from ``supersample²`` sub-pixel samples; insert
centres sit 0.26 and 0.74 pixel off a pixel centre so that no pixel is a symmetric tie).
``partial_volume=True`` instead fills each pixel with that area fraction (realistic blurring
of edges; the analytic truth is unchanged, so recovered volume and Agatston then exceed it by
blooming while the mass, which conserves attenuation, stays close to the physical mass).
Gaussian noise (default σ = 0 HU) is added last; the phantom is returned with integer HU.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from pydicom.uid import CTImageStorage, generate_uid

from heartprint.errors import InvalidInputError
from heartprint.image import Image
from heartprint.phantoms._dicom_common import (SeriesHeader, _ds, check_out_dir, image_dataset, image_uids,
                                               set_image_plane, set_pixels, write_series)

__all__ = ["CalciumPhantom", "PHANTOM_CALIBRATION_MG_PER_ML_PER_HU", "make_calcium_phantom", "write_calcium_dicom"]

#: Linear HA-density → CT-number factor of the phantom (mg HA per mL per HU).
PHANTOM_CALIBRATION_MG_PER_ML_PER_HU = 0.8
#: Rescale intercept written to the DICOM files (stored value = HU + 1024, unsigned 16 bit).
_RESCALE_INTERCEPT = -1024.0

_WEIGHT_BOUNDS = (200.0, 300.0, 400.0)  # Agatston 1990 density bands above 130 HU


def _weight(hu: float) -> int:
    if hu < 130.0:
        return 0
    return 1 + sum(hu >= b for b in _WEIGHT_BOUNDS)


def _area_fraction(yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, r: float, pixel_mm: float, s: int) -> np.ndarray:
    """Fraction (0–1) of each pixel inside the disc of radius ``r`` at ``(cy, cx)``, by ``s × s`` sub-samples."""
    frac = np.zeros(yy.shape)
    near = (np.abs(yy - cy) <= r + pixel_mm) & (np.abs(xx - cx) <= r + pixel_mm)
    py, px = yy[near], xx[near]
    off = ((np.arange(s) + 0.5) / s - 0.5) * pixel_mm
    inside = np.zeros(py.shape)
    for oy in off:
        for ox in off:
            inside += ((py + oy - cy) ** 2 + (px + ox - cx) ** 2) < r * r
    frac[near] = inside / (s * s)
    return frac


@dataclass(frozen=True)
class CalciumPhantom:
    """The phantom image (HU, int16) and its analytic truth (JSON-able dict).

    ``truth["inserts"]`` lists each insert (diameter_mm, density_mg_per_ml, hu, centre_lps,
    slices, area_mm2, volume_mm3, mass_mg, weight, counted, agatston); ``truth["total"]``
    the counted totals (``agatston``, ``volume_mm3``, ``mass_mg``) and the physical mass of
    all inserts (``physical_mass_mg``); ``truth["model"]`` states how truth was computed.
    """

    image: Image
    truth: dict[str, Any] = field(default_factory=dict)


def make_calcium_phantom(
    *,
    diameters_mm: Sequence[float] = (1.0, 3.0, 5.0),
    densities_mg_per_ml: Sequence[float] = (200.0, 400.0, 800.0),
    pixel_mm: float = 0.5,
    slice_mm: float = 3.0,
    n_slices: int = 8,
    matrix: int = 320,
    insert_length_mm: float = 6.0,
    insert_spacing_mm: float = 15.0,
    body_hu: float = 20.0,
    noise_hu: float = 0.0,
    partial_volume: bool = False,
    supersample: int = 16,
    seed: int = 0,
) -> CalciumPhantom:
    """Build the phantom (see the module docstring for the geometry and the truth model).

    Parameters
    ----------
    diameters_mm, densities_mg_per_ml
        Insert diameters (mm, rows of the grid) and HA densities (mg/cm³, columns).
    pixel_mm, slice_mm
        In-plane pixel size and slice thickness = increment (mm).
    n_slices, matrix
        Grid size ``(n_slices, matrix, matrix)``.
    insert_length_mm
        Cylinder length along z; must be a whole number of slices.
    body_hu, noise_hu
        Body CT number (HU, water-equivalent 0–40) and Gaussian noise σ (HU).
    partial_volume, supersample
        Area-fraction pixels from ``supersample²`` sub-samples instead of centre-in-insert.
    seed
        Noise seed.
    """
    if not (0 < pixel_mm < 5 and 0 < slice_mm < 20):
        raise InvalidInputError(f"pixel_mm={pixel_mm}, slice_mm={slice_mm}: expected pixels < 5 mm and slices < 20 mm")
    n_len = insert_length_mm / slice_mm
    if abs(n_len - round(n_len)) > 1e-9 or round(n_len) < 1:
        raise InvalidInputError(f"insert_length_mm={insert_length_mm}: expected a whole number of {slice_mm} mm slices")
    n_len = int(round(n_len))
    z0 = (n_slices - n_len) // 2
    if z0 < 0:
        raise InvalidInputError(f"n_slices={n_slices} < insert length {n_len} slices")
    c_ha = PHANTOM_CALIBRATION_MG_PER_ML_PER_HU
    spacing = (float(slice_mm), float(pixel_mm), float(pixel_mm))
    # index (z, y, x) -> LPS with the default axial direction: x along L, y along P, z along S.
    coords = (np.arange(matrix) - (matrix - 1) / 2) * pixel_mm  # mm from the grid centre, same for y and x
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    body = (xx / 70.0) ** 2 + (yy / 55.0) ** 2 <= 1.0
    plane = np.where(body, body_hu, -1000.0)
    vol = np.repeat(plane[None], n_slices, axis=0).astype(np.float64)

    nd, nr = len(diameters_mm), len(densities_mg_per_ml)
    inserts = []
    for i, d in enumerate(diameters_mm):
        for j, rho in enumerate(densities_mg_per_ml):
            # centres a generic sub-pixel offset (0.26, 0.74 pixel) from a pixel centre: no symmetric ties
            # between pixels exactly half covered, so the majority rule discretises areas without bias
            iy = int(round((matrix - 1) / 2 + (i - (nd - 1) / 2) * insert_spacing_mm / pixel_mm))
            ix = int(round((matrix - 1) / 2 + (j - (nr - 1) / 2) * insert_spacing_mm / pixel_mm))
            cy, cx = float(coords[iy]) + 0.26 * pixel_mm, float(coords[ix]) + 0.74 * pixel_mm
            hu = float(rho) / c_ha
            r = float(d) / 2.0
            frac = _area_fraction(yy, xx, cy, cx, r, pixel_mm, int(supersample))
            if not partial_volume:
                frac = (frac >= 0.5).astype(float)  # each pixel takes the material covering most of it
            for z in range(z0, z0 + n_len):
                vol[z] = vol[z] * (1 - frac) + hu * frac
            area = math.pi * r * r
            counted = area >= 1.0
            w = _weight(hu)
            centre_lps = [float(cx), float(cy), float(((z0 + z0 + n_len - 1) / 2) * slice_mm)]
            inserts.append({
                "diameter_mm": float(d), "density_mg_per_ml": float(rho), "hu": hu,
                "centre_lps": centre_lps, "slices": list(range(z0, z0 + n_len)),
                "area_mm2": area, "volume_mm3": area * insert_length_mm, "mass_mg": float(rho) * area * insert_length_mm / 1000.0,
                "weight": w, "counted": bool(counted and w > 0),
                "agatston": area * w * n_len * (slice_mm / 3.0) if counted else 0.0,
            })
    if noise_hu > 0:
        vol += np.random.default_rng(seed).normal(0.0, noise_hu, size=vol.shape)
    arr = np.clip(np.rint(vol), -1024, 3071).astype(np.int16)
    image = Image.from_array(
        arr, spacing, origin=(float(coords[0]), float(coords[0]), 0.0),
        study_uid=generate_uid(), series_uid=generate_uid(), modality="CT", kind="ct_calcium",
        meta={"series_description": "CaScore 3.0 Qr36 ECG-gated (heartprint phantom)", "slice_thickness_mm": float(slice_mm),
              "heart_rate_bpm": 60.0, "kvp": 120.0},
    )
    counted = [x for x in inserts if x["counted"]]
    truth = {
        "model": ("analytic from insert geometry (area pi d^2/4, length, density); partial-volume-free; "
                  f"HU = density / {c_ha} mg/mL/HU; Agatston counts inserts with area >= 1 mm2, weight from the insert HU, "
                  "x increment/3"),
        "calibration_mg_per_ml_per_hu": c_ha,
        "spacing_mm": list(spacing),
        "body_hu": body_hu, "noise_hu": noise_hu, "partial_volume": partial_volume,
        "inserts": inserts,
        "total": {
            "agatston": float(sum(x["agatston"] for x in counted)),
            "volume_mm3": float(sum(x["volume_mm3"] for x in counted)),
            "mass_mg": float(sum(x["mass_mg"] for x in counted)),
            "n_lesions_2d": int(sum(len(x["slices"]) for x in counted)),
            "physical_mass_mg": float(sum(x["mass_mg"] for x in inserts)),
        },
    }
    return CalciumPhantom(image=image, truth=truth)


def write_calcium_dicom(
    phantom: CalciumPhantom,
    out_dir: str | os.PathLike,
    *,
    patient_name: str = "PHANTOM^CALCIUM",
    patient_id: str = "HP-PHANTOM-CAC1",
    series_number: int = 2,
    rescale: bool = True,
    patient_sex: str = "O",
    patient_age: str = "060Y",
    frame_of_reference_uid: str | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write the phantom as CT Image Storage (1.2.840.10008.5.1.4.1.1.2), one file per slice.

    ``patient_sex``/``patient_age`` fill (0010,0040)/(0010,1010); ``frame_of_reference_uid`` is
    (0020,0052) Frame of Reference UID (default: a new one) — series of one study that share
    patient coordinates pass the same.

    Unsigned 16-bit stored values with (0028,1052) Rescale Intercept −1024 and (0028,1053)
    Rescale Slope 1 ((0028,1054) Rescale Type HU), explicit VR little endian. Headers look
    like a prospectively ECG-gated calcium scan: (0008,103E) "CaScore 3.0 Qr36 ECG-gated",
    (0018,0060) KVP 120, (0018,0050) Slice Thickness 3, (0018,1210) Convolution Kernel Qr36,
    (0018,1088) Heart Rate 60, no Contrast/Bolus module. ``rescale=False`` omits the rescale
    tags and writes stored values (HU + 1024) — a deliberately broken series for tests.
    Files go to a temporary directory first and are moved into place when complete.
    """
    image = phantom.image
    arr = np.asarray(image.array)
    out = check_out_dir(out_dir, overwrite)
    n_z, n_y, n_x = arr.shape
    dx = image.spacing[2]
    stored = np.rint(arr.astype(np.float64) - _RESCALE_INTERCEPT)
    if stored.min() < 0 or stored.max() > 65535:
        raise InvalidInputError("phantom HU outside -1024..64511 cannot be stored as uint16 with intercept -1024")
    pixels = stored.astype(np.uint16)
    header = SeriesHeader(
        sop_class_uid=CTImageStorage, modality="CT", image_type=("ORIGINAL", "PRIMARY", "AXIAL"),
        study_description="heartprint phantom cardiac CT", series_description="CaScore 3.0 Qr36 ECG-gated",
        model_name="make_calcium_phantom", protocol_name="Cardiac Calcium Score prospective ECG-triggered",
        patient_name=patient_name, patient_id=patient_id, patient_sex=patient_sex, patient_age=patient_age,
        series_number=series_number, **image_uids(image, frame_of_reference_uid),
    )

    def datasets():
        for z in range(n_z):
            ds = image_dataset(header, z + 1)
            ds.ScanOptions = "AXIAL"
            ds.KVP = "120"
            ds.DataCollectionDiameter = _ds(n_x * dx)
            ds.ReconstructionDiameter = _ds(n_x * dx)
            ds.GantryDetectorTilt = "0"
            ds.TableHeight = "150"
            ds.RotationDirection = "CW"
            ds.ExposureTime = "150"
            ds.XRayTubeCurrent = "80"
            ds.Exposure = "12"
            ds.ConvolutionKernel = "Qr36"
            ds.HeartRate = "60"
            set_image_plane(ds, image, z)
            if rescale:
                ds.RescaleIntercept = _ds(_RESCALE_INTERCEPT)
                ds.RescaleSlope = "1"
                ds.RescaleType = "HU"
            set_pixels(ds, pixels[z], "300" if rescale else "1324", "1500")
            yield f"CT_z{z:03d}.dcm", ds

    return write_series(out, datasets())

"""The demo study: the default cine SAX phantom, written as DICOM, with its truth; and the demo patient's echo
(an apical B-mode cine and its vendor SR, :func:`write_demo_echo`).

Sits above :mod:`._cine_sax` (the phantom) and :mod:`._dicom` (its writer), which it
combines; the writer takes any phantom object and does not import the phantom module.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from heartprint.phantoms._cine_sax import make_cine_sax
from heartprint.phantoms._dicom import write_cine_sax_dicom
from heartprint.phantoms._echo_dicom import DEFAULT_VALUES

__all__ = ["ECHO_SR_VALUES", "write_demo_echo", "write_demo_study"]


def write_demo_study(out_dir: str | os.PathLike, seed: int = 0, **kwargs: Any) -> tuple[list[Path], dict[str, Any]]:
    """Make the default cine SAX phantom and write it as DICOM under ``out_dir``.

    Keyword arguments go to :func:`~heartprint.phantoms.make_cine_sax`. Returns the file
    paths and the JSON-able truth (with ``study_uid`` and ``series_uid`` added).
    """
    phantom = make_cine_sax(seed=seed, **kwargs)
    paths = write_cine_sax_dicom(phantom, out_dir)
    truth = dict(phantom.truth)
    truth["study_uid"] = phantom.image.study_uid
    truth["series_uid"] = phantom.image.series_uid
    json.dumps(truth)  # fail here, not in the caller, if anything is not JSON-able
    return paths, truth


#: The demo echo's vendor values (units as written in the SR, :data:`~heartprint.phantoms._echo_dicom.QUANTITIES`):
#: the defaults of the echo SR fixtures without a typed LV EDV (the SR's LV volumes are the ones traced on the cine).
ECHO_SR_VALUES = {k: v for k, v in DEFAULT_VALUES.items() if k != "lvedv"}


def write_demo_echo(out_dir: str | os.PathLike, *, seed: int = 0, small: bool = False, patient_name: str,
                    patient_id: str, patient_sex: str, patient_age: str, study_date: str = "20260105") -> dict[str, Any]:
    """The demo patient's echo study under ``out_dir``: an apical 4-chamber B-mode cine with a known strain
    (:func:`~heartprint.phantoms._echo_speckle.make_speckle_cine`, 50 frames/s, ED → ES) written as US
    Multi-frame DICOM (``cine/``), and a TID 5200 echo SR (``sr/``) with :data:`ECHO_SR_VALUES` and the LV
    tracings at ED and ES (the phantom's exact endocardium on those frames) as SCOORDs on the cine.

    ``small``: 10 frames of 160 × 128 pixels of 0.7 mm (LV EDV about 98 mL; about 0.5 s to track) instead of
    20 frames of 192 × 160 pixels of 0.6 mm (EDV 119 mL, ESV 60 mL; about 1.5 s). The point-spread function
    (FWHM 0.8 × 2.0 mm, resp. 0.7 × 1.8 mm, axial × lateral) spans at least one pixel so that the speckle is
    sampled. Returns the JSON-able truth: ``gls_percent`` (signed), ``segment_strain_percent`` by AHA
    segment, the traced volumes (single-plane discs), the SR values as written, the UIDs.
    """
    from pydicom.uid import generate_uid

    from heartprint.anatomy.echo_views import A4C_AHA_NUMBERS
    from heartprint.echo._geometry import single_plane_volume
    from heartprint.phantoms._echo_dicom import (EchoPatient, QUANTITIES, SRContour, write_echo_cine_dicom,
                                                 write_vendor_echo_sr)
    from heartprint.phantoms._echo_speckle import make_speckle_cine

    size = (dict(n_frames=10, shape=(160, 128), pixel_mm=0.7, psf_axial_mm=0.8, psf_lateral_mm=2.0) if small else
            dict(n_frames=20, shape=(192, 160), pixel_mm=0.6, psf_axial_mm=0.7, psf_lateral_mm=1.8))
    cine = make_speckle_cine(gls_percent=-18.0, segment_gls={"apical lateral": -8.0}, frame_rate_hz=50.0,
                             seed=seed, **size)
    out = Path(out_dir)
    who = EchoPatient(patient_name=patient_name, patient_id=patient_id, patient_sex=patient_sex,
                      patient_age=patient_age, study_uid=generate_uid(), study_date=study_date)
    ds = write_echo_cine_dicom(cine.images, cine.spacing_mm, cine.frame_rate_hz, out / "cine" / "a4c.dcm",
                               view="A4C", patient=who, series_number=1)
    es = cine.images.shape[0] - 1
    volumes = {ph: float(single_plane_volume(cine.true_contours_mm[f])) for f, ph in ((0, "ED"), (es, "ES"))}
    contours = [SRContour(cine.true_contours_mm[f], f, ph, "A4C", ds.SOPClassUID, ds.SOPInstanceUID,
                          ds.SeriesInstanceUID, cine.spacing_mm, volumes[ph]) for f, ph in ((0, "ED"), (es, "ES"))]
    # the vendor's EF is the one of its traced volumes (an EF that disagrees with its volumes is a contradiction)
    values = {**ECHO_SR_VALUES, "lvef": round(100.0 * (volumes["ED"] - volumes["ES"]) / volumes["ED"], 1)}
    write_vendor_echo_sr(out / "sr" / "report.dcm", style="ge", values=values, patient=who,
                         contours=contours, series_number=2)
    truth = {
        "study_uid": who.study_uid, "series_uid": str(ds.SeriesInstanceUID),
        "gls_percent": cine.gls_percent,
        "segment_strain_percent": {str(A4C_AHA_NUMBERS[k]): v for k, v in cine.segment_strain_percent.items()},
        "traced_volume_ml": {ph: round(v, 2) for ph, v in volumes.items()},
        "sr_values": {k: {"value": v, "unit": QUANTITIES[k][4]} for k, v in values.items()},
        "frames": int(cine.images.shape[0]), "frame_rate_hz": cine.frame_rate_hz, "spacing_mm": list(cine.spacing_mm),
    }
    json.dumps(truth)
    return truth

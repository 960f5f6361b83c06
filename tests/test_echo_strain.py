"""Speckle-tracking GLS on the synthetic A4C speckle phantom (truth exact from the known deformation)."""

from __future__ import annotations

import numpy as np
import pytest

from heartprint.echo._strain import A4C_AHA_NUMBERS, A4C_SEGMENT_NAMES, global_longitudinal_strain
from heartprint.errors import InvalidInputError
from heartprint.image import Image
from heartprint.phantoms._echo_speckle import make_speckle_cine

SMALL = dict(n_frames=16, frame_rate_hz=50.0, pixel_mm=0.5, shape=(160, 128))


@pytest.mark.parametrize(("gls", "seed"), [
    (-20.0, 11),
    pytest.param(-12.0, 12, marks=pytest.mark.xfail(strict=True, reason=(
        "known gap (issue 20's 1-point floor): GLS reads 1.16 points short at -12 %: the dense flow under-tracks "
        "the apical endocardium, whose tight curve and thickening its smoothing window cannot follow"))),
])
def test_gls_within_one_point(gls: float, seed: int) -> None:
    cine = make_speckle_cine(gls_percent=gls, seed=seed, **SMALL)
    img = Image.from_array(cine.images[:, None], spacing=(1.0, *cine.spacing_mm))
    res = global_longitudinal_strain(img, cine.ed_contour_mm)
    assert abs(res.gls_percent - cine.gls_percent) < 1.0
    assert res.tracked_contours.shape == (16, cine.ed_contour_mm.shape[0], 2)
    assert set(res.aha_segments) == {3, 9, 14, 16, 12, 6}


def test_regional_defect_found_in_its_segment() -> None:
    cine = make_speckle_cine(gls_percent=-20.0, segment_gls={"mid lateral": -5.0}, seed=13, **SMALL)
    res = global_longitudinal_strain(cine.images, cine.ed_contour_mm, spacing_mm=cine.spacing_mm)
    worst = max(res.segments, key=lambda k: res.segments[k])  # least negative
    assert worst == "mid lateral"
    assert abs(res.segments["mid lateral"] - cine.segment_strain_percent["mid lateral"]) < 3.0
    others = [v for k, v in res.segments.items() if k != "mid lateral"]
    assert max(others) < -12.0
    assert abs(res.gls_percent - cine.gls_percent) < 1.0


def test_zero_deformation() -> None:
    cine = make_speckle_cine(gls_percent=0.0, seed=14, **SMALL)
    assert cine.gls_percent == pytest.approx(0.0, abs=1e-9)
    res = global_longitudinal_strain(cine.images, cine.ed_contour_mm, spacing_mm=cine.spacing_mm)
    assert abs(res.gls_percent) < 1.0


def test_segment_mapping_and_phantom_truth() -> None:
    assert A4C_SEGMENT_NAMES[0] == "basal septal" and A4C_AHA_NUMBERS["basal septal"] == 3
    assert A4C_AHA_NUMBERS["apical lateral"] == 16
    cine = make_speckle_cine(gls_percent=-20.0, n_frames=2, pixel_mm=0.5, shape=(160, 128), seed=0)
    assert cine.midline_gls_percent == pytest.approx(-20.0, abs=1e-3)  # uniform midline stretch exact


def test_input_validation() -> None:
    cine = np.zeros((3, 40, 40))
    contour = np.stack([np.linspace(5, 15, 9), np.linspace(5, 15, 9)], axis=1)
    with pytest.raises(InvalidInputError, match="spacing_mm"):
        global_longitudinal_strain(cine, contour)
    with pytest.raises(InvalidInputError, match="spacing_mm"):
        global_longitudinal_strain(cine, contour, spacing_mm=(0.0, 0.5))
    with pytest.raises(InvalidInputError, match="cine shape"):
        global_longitudinal_strain(np.zeros((40, 40)), contour, spacing_mm=0.5)
    with pytest.raises(InvalidInputError, match="contour_mm"):
        global_longitudinal_strain(cine, contour[:3], spacing_mm=0.5)
    with pytest.raises(InvalidInputError, match="outside"):
        global_longitudinal_strain(cine, contour + 100, spacing_mm=0.5)
    with pytest.raises(InvalidInputError, match="es_index"):
        global_longitudinal_strain(cine, contour, spacing_mm=0.5, ed_index=2, es_index=1)
    with pytest.raises(InvalidInputError, match="method"):
        global_longitudinal_strain(cine, contour, spacing_mm=0.5, method="sad")
    with pytest.raises(InvalidInputError, match="segment_gls"):
        make_speckle_cine(segment_gls={"septum": -5.0})
    with pytest.raises(InvalidInputError, match="n_frames"):
        make_speckle_cine(n_frames=1)

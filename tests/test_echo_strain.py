"""Speckle-tracking GLS on the synthetic A4C speckle phantom (truth exact from the known deformation)."""

from __future__ import annotations

import numpy as np
import pytest

from heartprint.anatomy.echo_views import AHA17_FROM_18, SEGMENTS_18, VIEW_SEGMENTS, VIEW_TO_18
from heartprint.echo import RegionalStrain, regional_strain
from heartprint.echo._strain import A4C_AHA_NUMBERS, A4C_SEGMENT_NAMES, StrainResult, global_longitudinal_strain
from heartprint.errors import InvalidInputError
from heartprint.image import Image
from heartprint.phantoms._echo_speckle import make_speckle_cine

SMALL_SHAPE = dict(pixel_mm=0.5, shape=(160, 128))
SMALL = dict(n_frames=16, frame_rate_hz=50.0, pixel_mm=0.5, shape=(160, 128))  # 50 frames/s, noise 0.1 (20 dB)


@pytest.fixture(scope="module")
def a4c_minus12():
    cine = make_speckle_cine(gls_percent=-12.0, seed=12, **SMALL)
    return cine, global_longitudinal_strain(cine.images, cine.ed_contour_mm, spacing_mm=cine.spacing_mm)


def test_gls_within_one_point_image_input() -> None:
    cine = make_speckle_cine(gls_percent=-20.0, seed=11, **SMALL)
    img = Image.from_array(cine.images[:, None], spacing=(1.0, *cine.spacing_mm))
    res = global_longitudinal_strain(img, cine.ed_contour_mm)
    assert abs(res.gls_percent - cine.gls_percent) < 1.0
    assert res.tracked_contours.shape == (16, cine.ed_contour_mm.shape[0], 2)
    assert set(res.aha_segments) == {3, 9, 14, 16, 12, 6}


def test_gls_within_one_point_apex_case(a4c_minus12) -> None:
    # the former strict xfail (read 1.16 points short: the band mean under-read the apical endocardium)
    cine, res = a4c_minus12
    assert cine.gls_percent == pytest.approx(-14.65, abs=0.01)
    assert abs(res.gls_percent - cine.gls_percent) < 1.0
    assert "extrapolated to the endocardium" in res.method and res.view == "a4c"


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
    with pytest.raises(InvalidInputError, match="view"):
        global_longitudinal_strain(cine, contour, spacing_mm=0.5, view="plax")
    with pytest.raises(InvalidInputError, match="view"):
        make_speckle_cine(view="psax")


def test_eighteen_segment_tables() -> None:
    assert len(SEGMENTS_18) == 18 and len(set(SEGMENTS_18)) == 18
    mapped = [s for v in VIEW_TO_18.values() for s in v.values()]
    assert sorted(mapped) == sorted(SEGMENTS_18)  # the three views tile the 18 segments once
    assert sorted(set(AHA17_FROM_18.values())) == list(range(1, 17))
    assert VIEW_TO_18["a4c"]["apical septal"] == "apical inferoseptal" and AHA17_FROM_18["apical inferoseptal"] == 14
    assert VIEW_TO_18["a2c"]["basal anterior"] == "basal anterior" and AHA17_FROM_18["basal anterior"] == 1
    assert VIEW_TO_18["a3c"]["mid inferolateral"] == "mid inferolateral" and AHA17_FROM_18["mid inferolateral"] == 11
    assert AHA17_FROM_18["apical anterolateral"] == AHA17_FROM_18["apical inferolateral"] == 16


def _exact(cine) -> StrainResult:
    """A StrainResult carrying the phantom's exact values (no tracking)."""
    return StrainResult(gls_percent=cine.gls_percent, segments=dict(cine.segment_strain_percent),
                        tracked_contours=cine.true_contours_mm, method="truth", view=cine.view)


def test_regional_strain_combination_exact() -> None:
    views = {
        "a4c": make_speckle_cine(n_frames=2, gls_percent=-18.0, segment_gls={"apical septal": -6.0}, view="a4c", **SMALL_SHAPE),
        "a2c": make_speckle_cine(n_frames=2, gls_percent=-15.0, segment_gls={"mid anterior": -4.0}, view="a2c", **SMALL_SHAPE),
        "a3c": make_speckle_cine(n_frames=2, gls_percent=-21.0, segment_gls={"apical anteroseptal": -10.0}, view="a3c",
                                 **SMALL_SHAPE),
    }
    out = regional_strain({k: _exact(c) for k, c in views.items()})
    assert isinstance(out, RegionalStrain)
    assert out.gls_percent == pytest.approx(np.mean([c.gls_percent for c in views.values()]), abs=1e-12)
    assert list(out.segments18) == list(SEGMENTS_18)
    for v, cine in views.items():
        for name, value in cine.segment_strain_percent.items():
            assert out.segments18[VIEW_TO_18[v][name]] == value
    s18 = out.segments18
    assert out.aha17[7] == s18["mid anterior"] and out.aha17[3] == s18["basal inferoseptal"]
    assert out.aha17[14] == pytest.approx((s18["apical anteroseptal"] + s18["apical inferoseptal"]) / 2, abs=1e-12)
    assert out.aha17[16] == pytest.approx((s18["apical inferolateral"] + s18["apical anterolateral"]) / 2, abs=1e-12)
    assert max(out.aha17, key=out.aha17.get) == 7  # the mid-anterior defect is the least shortening segment
    assert 17 not in out.aha17 and out.not_assessable[17].startswith("not assessable")
    # a missing view: its segments, the AHA numbers that need it and the GLS are not assessable, never guessed
    part = regional_strain({"a4c": _exact(views["a4c"]), "a2c": _exact(views["a2c"])})
    assert part.gls_percent is None and "A3C" in part.not_assessable["gls"]
    assert "apical anteroseptal" not in part.segments18 and 14 not in part.aha17 and 2 not in part.aha17
    assert part.aha17[1] == s18["basal anterior"] and "A3C" in part.not_assessable[5]
    with pytest.raises(InvalidInputError, match="view"):
        regional_strain({"a2c": _exact(views["a4c"])})  # an A4C result filed as A2C
    with pytest.raises(InvalidInputError, match="view key"):
        regional_strain({"plax": _exact(views["a4c"])})


def test_regional_strain_tracked_three_views_range_ends(a4c_minus12) -> None:
    # the clinical range's ends (truth about -8 % and -25 %) in the 2- and 3-chamber views, seeds not used for tuning
    results = {"a4c": a4c_minus12[1]}
    truths = {"a4c": a4c_minus12[0]}
    for view, gls, seed in (("a2c", -6.6, 31), ("a3c", -20.5, 32)):
        cine = make_speckle_cine(gls_percent=gls, seed=seed, view=view, **SMALL)
        res = global_longitudinal_strain(cine.images, cine.ed_contour_mm, spacing_mm=cine.spacing_mm, view=view)
        assert list(res.segments) == list(VIEW_SEGMENTS[view])
        assert abs(res.gls_percent - cine.gls_percent) < 1.0, (view, res.gls_percent, cine.gls_percent)
        results[view], truths[view] = res, cine
    assert truths["a2c"].gls_percent == pytest.approx(-8.0, abs=0.1)
    assert truths["a3c"].gls_percent == pytest.approx(-25.3, abs=0.1)
    out = regional_strain(results)
    truth_gls = np.mean([c.gls_percent for c in truths.values()])
    assert abs(out.gls_percent - truth_gls) < 1.0
    assert set(out.aha17) == set(range(1, 17)) and len(out.segments18) == 18

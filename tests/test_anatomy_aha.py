"""AHA 17-segment assignment and wall thickness on analytic phantoms (oblique, anisotropic)."""

import numpy as np
import pytest

from heartprint.anatomy import aha_segments, rv_insertion_points, segment_of_angle
from heartprint.cmr import wall_thickness
from heartprint.errors import InvalidInputError
from heartprint.labels import LV_MYOCARDIUM, RV_CAVITY
from test_cmr_phantom import LEVEL_OF, SEG_T, expected_segment, make_phantom


def test_segment_table():
    assert segment_of_angle(np.array([5, 65, 125, 185, 245, 305]), "basal").tolist() == [2, 3, 4, 5, 6, 1]
    assert segment_of_angle(np.array([5, 65, 125, 185, 245, 305]), "mid").tolist() == [8, 9, 10, 11, 12, 7]
    assert segment_of_angle(np.array([20, 110, 200, 290, 0]), "apical").tolist() == [14, 15, 16, 13, 13]
    assert segment_of_angle(np.array([1.0]), "apex").tolist() == [17]


def _seg_lps_centroid(ph, aha, seg):
    idx = np.argwhere(aha.segments == seg)
    return ph.image.index_to_lps(idx).mean(axis=0)


@pytest.mark.parametrize("mirror", [False, True])
def test_segment_direction_is_anatomical(mirror):
    ph = make_phantom(mirror=mirror, n_phases=2)
    aha = aha_segments(ph.image.affine, ph.labels[0])
    assert aha.base_first
    assert {z: aha.levels[z] for z in LEVEL_OF} == LEVEL_OF and aha.levels[9] == "apex"
    rv = ph.image.index_to_lps(np.argwhere(ph.labels[0] == RV_CAVITY)).mean(axis=0)
    c = {s: _seg_lps_centroid(ph, aha, s) for s in range(1, 18)}
    # anterior segments are more anterior (smaller LPS y) than inferior ones
    assert c[1][1] < c[4][1] and c[7][1] < c[10][1] and c[13][1] < c[15][1]
    assert c[2][1] < c[3][1] and c[8][1] < c[9][1]
    # septal segments face the RV; lateral ones face away
    dist = {s: np.linalg.norm(c[s] - rv) for s in c}
    assert max(dist[2], dist[3]) < min(dist[5], dist[6])
    assert dist[14] < dist[16]
    # each myocardial voxel of a basal slice has the segment of its phantom angle
    z = 2
    yx = np.argwhere(ph.labels[0, z] == LV_MYOCARDIUM)
    from test_cmr_phantom import CENTRE_YX, SPACING
    alpha = np.degrees(np.arctan2((yx[:, 1] - CENTRE_YX[1]) * SPACING[2], (yx[:, 0] - CENTRE_YX[0]) * SPACING[1]))
    want = expected_segment(ph.phi_of(alpha), "basal")
    got = aha.segments[z][tuple(yx.T)]
    assert np.mean(got == want) > 0.95  # boundaries move by a few degrees with the voxelised insertion points


@pytest.mark.parametrize("mirror,reverse", [(False, False), (True, False), (False, True)])
def test_wall_thickness_per_segment(mirror, reverse):
    ph = make_phantom(segment_thickness=True, mirror=mirror, n_phases=2)
    lab = ph.labels[0][::-1] if reverse else ph.labels[0]
    aha = aha_segments(ph.image.affine, lab)
    assert aha.base_first is (not reverse)
    wt = wall_thickness(ph.image.affine, lab, aha)
    assert set(wt.per_segment) == set(range(1, 17))
    for s, t in SEG_T.items():
        assert wt.per_segment[s] == pytest.approx(t, abs=0.75), s
    assert wt.max_mm == pytest.approx(max(SEG_T.values()), abs=1.0)
    assert wt.max_segment == 8


def test_given_insertion_points_match_detected():
    ph = make_phantom(segment_thickness=True, n_phases=2)
    found = rv_insertion_points(ph.image.affine, ph.labels[0], 4)
    assert found is not None
    ant, inf = found[0], found[1]
    assert ant[1] < inf[1]
    aha = aha_segments(ph.image.affine, ph.labels[0], insertion_points_lps=(ant, inf))
    ref = aha_segments(ph.image.affine, ph.labels[0])
    myo = ph.labels[0] == LV_MYOCARDIUM
    assert np.mean(aha.segments[myo] == ref.segments[myo]) > 0.97


def test_no_rv_and_no_points_raises():
    ph = make_phantom(n_phases=2)
    lab = ph.labels[0].copy()
    lab[lab == RV_CAVITY] = 0
    with pytest.raises(InvalidInputError, match="insertion_points_lps"):
        aha_segments(ph.image.affine, lab)


def _with_thickening(lab: np.ndarray, slices, half_width_deg: float, extra_mm: float, spacing) -> np.ndarray:
    """``lab`` with the myocardium of ``slices`` grown outward by ``extra_mm`` over an arc of
    ±``half_width_deg`` around the ray pointing along +x (image columns) from the cavity centroid."""
    from test_cmr_phantom import CENTRE_YX

    out = lab.copy()
    ny, nx = lab.shape[1:]
    yy, xx = np.meshgrid((np.arange(ny) - CENTRE_YX[0]) * spacing[1], (np.arange(nx) - CENTRE_YX[1]) * spacing[2],
                         indexing="ij")
    r, ang = np.hypot(yy, xx), np.degrees(np.arctan2(yy, xx))
    for z in slices:
        myo = lab[z] == LV_MYOCARDIUM
        r_epi = r[myo & (np.abs(ang) <= half_width_deg)].max()
        grow = (np.abs(ang) <= half_width_deg) & (r > r_epi - 0.1) & (r <= r_epi + extra_mm)
        out[z][grow] = LV_MYOCARDIUM
    return out


def test_max_wall_thickness_is_a_wall_not_a_ray():
    """The maximal thickness follows a thickened wall (60°, the width of a segment) but not a
    narrow spike (12°, three rays): a caliper measures a wall, and spikes are what raised normal ACDC hearts
    above 15 mm with a 3-ray median."""
    from test_cmr_phantom import SPACING

    ph = make_phantom(n_phases=2)
    lab = ph.labels[0]
    aha = aha_segments(ph.image.affine, lab)
    mid = [z for z, lvl in aha.levels.items() if lvl == "mid"]
    base = wall_thickness(ph.image.affine, lab, aha).max_mm
    spike = wall_thickness(ph.image.affine, _with_thickening(lab, mid, 6.0, 8.0, SPACING), aha).max_mm
    wall = wall_thickness(ph.image.affine, _with_thickening(lab, mid, 30.0, 8.0, SPACING), aha).max_mm
    assert spike == pytest.approx(base, abs=0.5)
    assert wall == pytest.approx(base + 8.0, abs=1.5)

"""Tests of heartprint.phantoms: analytic geometry, voxelisation, DICOM validity and round trip."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pydicom
import pytest
from scipy import ndimage

from heartprint.errors import InvalidInputError

from heartprint.phantoms import (
    FOUNDATION_HEART,
    LABELS,
    MYOCARDIAL_DENSITY_G_PER_ML,
    make_cine_sax,
    truncated_ellipsoid_volume_mm3,
    write_cine_sax_dicom,
    write_demo_study,
)
from heartprint.phantoms._cine_sax import _rv_shape, _solve_lv, volume_curve
from heartprint.phantoms._geometry import ellipse_minus_disc_area_mm2, rv_cavity_volume_mm3

# Voxel-count volumes at (8, 1.4, 1.4) mm must match the analytic volumes within this
# relative tolerance (measured: <= 0.6 % for LV cavity, myocardium and RV cavity).
VOXEL_TOLERANCE = 0.015


@pytest.fixture(scope="module")
def phantom():
    # Full in-plane resolution and slice thickness; fewer phases and a smaller matrix for speed.
    return make_cine_sax(n_phases=5, matrix=(128, 128), noise_sd=20.0, seed=3)


@pytest.fixture(scope="module")
def small():
    return make_cine_sax(n_phases=3, n_slices=12, matrix=(48, 48), spacing=(8.0, 3.5, 3.5), seed=1)


# --- analytic geometry ---------------------------------------------------------------------
@pytest.mark.parametrize("radius, half, base", [(20.0, 30.0, 10.0), (25.0, 40.0, 0.0), (15.0, 35.0, -12.0)])
def test_truncated_ellipsoid_volume_matches_fine_grid(radius, half, base):
    h = 0.25  # mm
    s = np.arange(-base + h / 2, half, h)
    x = np.arange(-radius + h / 2, radius, h)
    xx, yy = np.meshgrid(x, x, indexing="ij")
    rho2 = (xx**2 + yy**2)[None] / radius**2
    count = np.count_nonzero(rho2 + (s[:, None, None] / half) ** 2 <= 1.0)
    numeric = count * h**3
    analytic = truncated_ellipsoid_volume_mm3(radius, half, base)
    assert abs(numeric / analytic - 1) < 0.002


def test_truncated_ellipsoid_exact_identities():
    r, half = 23.0, 41.0
    assert truncated_ellipsoid_volume_mm3(r, half, 0.0) == pytest.approx(2 / 3 * np.pi * r * r * half, rel=1e-14)
    assert truncated_ellipsoid_volume_mm3(r, half, half) == pytest.approx(4 / 3 * np.pi * r * r * half, rel=1e-14)


def test_crescent_area_matches_fine_grid():
    r, cp, a, b = 30.0, 38.0, 25.0, 45.0
    h = 0.05
    p = np.arange(cp - a, cp + a, h) + h / 2
    q = np.arange(-b, b, h) + h / 2
    pp, qq = np.meshgrid(p, q, indexing="ij")
    inside = (((pp - cp) / a) ** 2 + (qq / b) ** 2 < 1) & (pp**2 + qq**2 >= r * r)
    numeric = np.count_nonzero(inside) * h * h
    assert ellipse_minus_disc_area_mm2(r, cp, a, b) == pytest.approx(numeric, rel=1e-3)
    # and an ellipse wholly outside the disc keeps its full area
    assert ellipse_minus_disc_area_mm2(5.0, 40.0, 10.0, 20.0) == pytest.approx(np.pi * 200.0, rel=1e-4)


def test_rv_volume_matches_brute_force_grid():
    lv = _solve_lv(140.0, np.array([140.0]), 130.0 / 1.05)[0]
    shape = _rv_shape(1.2, lv)
    ref = rv_cavity_volume_mm3(shape)
    assert rv_cavity_volume_mm3(shape, n_s=512, n_theta=32768) == pytest.approx(ref, rel=1e-5)
    lo, hi = shape.s_range
    h, hs = 0.4, 0.5
    p = np.arange(-10.0, 100.0, h) + h / 2
    q = np.arange(-60.0, 60.0, h) + h / 2
    pp, qq = np.meshgrid(p, q, indexing="ij")
    rr = pp**2 + qq**2
    total = 0
    for s in np.arange(lo, hi, hs) + hs / 2:
        r_e, cp, a, b = (float(v) for v in shape.level(s))
        if a <= 0:
            continue
        total += np.count_nonzero((((pp - cp) / a) ** 2 + (qq / b) ** 2 < 1) & (rr >= r_e * r_e))
    assert total * h * h * hs == pytest.approx(ref, rel=2e-3)


def test_volume_curve_shape():
    tau = np.linspace(0, 1, 1001)
    g = volume_curve(tau, 0.36)
    assert g[0] == 1.0 and g.min() == pytest.approx(0.0, abs=1e-12) and abs(tau[np.argmin(g)] - 0.36) < 1e-3
    assert g[-1] == pytest.approx(1.0) and np.all(np.abs(np.diff(g)) < 0.02)  # smooth, no jumps


# --- the phantom ---------------------------------------------------------------------------
def test_truth_is_exact_and_consistent(phantom):
    t = phantom.truth
    assert t["ed_phase"] == 0 and t["es_phase"] == 2  # round(0.35 * 5)
    assert t["lv_edv_ml"] == pytest.approx(140.0, rel=1e-12)
    assert t["lv_esv_ml"] == pytest.approx(60.0, rel=1e-12)
    assert t["lv_ef_percent"] == pytest.approx(100 * 80 / 140, rel=1e-12)
    assert t["lv_sv_ml"] == pytest.approx(80.0, rel=1e-12)
    assert t["rv_edv_ml"] == pytest.approx(150.0, rel=0.005)
    assert t["rv_esv_ml"] == pytest.approx(70.0, rel=0.005)
    assert t["rv_ef_percent"] == pytest.approx(100 * (t["rv_edv_ml"] - t["rv_esv_ml"]) / t["rv_edv_ml"])
    assert max(t["lv_cavity_volume_ml"]) == t["lv_edv_ml"] and min(t["lv_cavity_volume_ml"]) == t["lv_esv_ml"]
    assert t["heart_rate_bpm"] == 60.0
    myo = np.array(t["lv_myocardial_volume_ml"])
    np.testing.assert_allclose(myo, 130.0 / MYOCARDIAL_DENSITY_G_PER_ML, rtol=1e-9)
    np.testing.assert_allclose(t["lv_mass_g"], 130.0, rtol=1e-9)
    json.dumps(t)


def test_lv_volume_recomputed_from_geometry(phantom):
    t = phantom.truth
    for g, v in zip(t["geometry"]["lv"], t["lv_cavity_volume_ml"]):
        base = t["geometry"]["base_offset_mm"]
        r, half = g["endo_radius_mm"], g["endo_half_length_mm"]
        assert v * 1000 == pytest.approx(np.pi * r * r * ((half + base) - (half**3 + base**3) / (3 * half * half)))


@pytest.mark.parametrize("key, label", [("lv_cavity_volume_ml", "lv_cavity"),
                                        ("lv_myocardial_volume_ml", "lv_myocardium"),
                                        ("rv_cavity_volume_ml", "rv_cavity")])
def test_voxel_volumes_match_analytic(phantom, key, label):
    assert phantom.image.spacing == pytest.approx((8.0, 1.4, 1.4))
    for t in range(phantom.image.n_phases):
        voxel = phantom.label_volumes_ml(t)[label]
        assert voxel == pytest.approx(phantom.truth[key][t], rel=VOXEL_TOLERANCE), (t, voxel)


def test_coverage_and_geometry(phantom):
    t = phantom.truth
    lab = phantom.labels
    assert t["apex_covered"] and t["base_covered"]
    levels = np.array(t["slice_level_mm"])
    basal_out, apical_out = int(np.argmin(levels)), int(np.argmax(levels))
    assert levels[basal_out] < 0 < levels[apical_out]
    assert not lab[:, basal_out].any() and not lab[:, apical_out].any()
    assert all((lab[:, z] == LABELS["lv_myocardium"]).any() for z in range(lab.shape[1]) if z not in (basal_out, apical_out))
    # Long axis perpendicular to the slices, and parallel to the affine's z direction.
    u = np.array(t["lv_long_axis_lps"])
    assert abs(abs(u @ phantom.image.direction[:, 0]) - 1) < 1e-12
    # Oblique: not an axial stack.
    assert abs(phantom.image.direction[2, 0]) < 0.9
    # LV centre projects onto the same in-plane point of every slice.
    idx = phantom.image.lps_to_index(np.array(t["lv_centre_lps"]))
    lv_mask = phantom.labels[0] == LABELS["lv_cavity"]
    z = int(np.argmax(lv_mask.sum(axis=(1, 2))))
    ys, xs = np.nonzero(lv_mask[z])
    assert abs(ys.mean() - idx[1]) < 0.5 and abs(xs.mean() - idx[2]) < 0.5


def test_wall_thickness(phantom):
    t = phantom.truth
    ed = np.array([w for w in t["wall_thickness_mm"][0] if w is not None])
    es = np.array([w for w in t["wall_thickness_mm"][t["es_phase"]] if w is not None])
    mid = slice(1, -1)
    assert np.all((ed[mid] > 8.8) & (ed[mid] < 10.5))  # ~uniform 9.2 mm at ED
    assert es[1:4].min() > ed[1:4].max() + 2.0  # thicker at ES
    # Voxel check at the slice with the most LV myocardium: area = pi (re^2 - ri^2).
    g = t["geometry"]["lv"][0]
    levels = np.array(t["slice_level_mm"])
    z = int(np.argmin(np.abs(levels - 28.0)))  # a mid-ventricular slice (level 28 mm)
    s = levels[z] - t["geometry"]["base_offset_mm"]
    ri = g["endo_radius_mm"] * np.sqrt(1 - (s / g["endo_half_length_mm"]) ** 2)
    re = g["epi_radius_mm"] * np.sqrt(1 - (s / g["epi_half_length_mm"]) ** 2)
    assert t["wall_thickness_mm"][0][z] == pytest.approx(re - ri, rel=1e-12)
    area = np.count_nonzero(phantom.labels[0, z] == 2) * 1.4 * 1.4
    assert area == pytest.approx(np.pi * (re**2 - ri**2), rel=0.03)


def test_rv_insertion_points_on_epicardium(phantom):
    t = phantom.truth
    c, u = np.array(t["lv_centre_lps"]), np.array(t["lv_long_axis_lps"])
    g = t["geometry"]["lv"][0]
    for z, pts in enumerate(t["rv_insertion_points_lps"][0]):
        if pts is None:
            continue
        for pt in np.array(pts):
            s = (pt - c) @ u
            radial = np.linalg.norm((pt - c) - s * u)
            re = g["epi_radius_mm"] * np.sqrt(1 - (s / g["epi_half_length_mm"]) ** 2)
            assert radial == pytest.approx(re, rel=1e-9)


def test_intensities_look_like_bssfp(phantom):
    img, lab = phantom.image.array, phantom.labels
    blood = np.median(img[lab == 1])
    myo = np.median(img[lab == 2])
    rv = np.median(img[lab == 3])
    assert 700 < blood < 1300 and abs(rv / blood - 1) < 0.1 and 0.2 < myo / blood < 0.45
    assert img.dtype == np.float32 and img.min() >= 0 and img.max() <= 65535
    assert np.all(img == np.rint(img))


def test_tissue_intensities_can_be_replaced():
    kw = dict(n_phases=2, n_slices=4, matrix=(48, 48), spacing=(8, 3, 3), noise_sd=0.0)
    a = make_cine_sax(**kw)
    b = make_cine_sax(**kw, intensities={"lv_myo": 600.0})
    assert np.array_equal(a.labels, b.labels)
    myo = a.labels == 2
    ratio = np.median(b.image.array[myo]) / np.median(a.image.array[myo])
    assert 1.8 < ratio < 2.05  # 300 -> 600, less the partial volume with brighter neighbours
    blood = a.labels == 1
    assert np.median(b.image.array[blood]) == pytest.approx(np.median(a.image.array[blood]), rel=0.02)
    with pytest.raises(InvalidInputError, match="heart_muscle"):
        make_cine_sax(**kw, intensities={"heart_muscle": 1.0})


def test_endocardial_detail_is_cavity_and_leaves_the_truth_alone(phantom):
    """Trabeculae and papillary muscles change the image, not the labels or the analytic
    answers: they are LV cavity by convention (ACDC; one of SCMR's two)."""
    smooth = make_cine_sax(n_phases=5, matrix=(128, 128), noise_sd=20.0, seed=3, **FOUNDATION_HEART)
    np.testing.assert_array_equal(phantom.labels, smooth.labels)
    for key in ("lv_edv_ml", "lv_esv_ml", "lv_mass_g", "rv_edv_ml"):
        assert phantom.truth[key] == smooth.truth[key]
    cavity, myo = phantom.labels == 1, phantom.labels == 2
    changed = phantom.image.array != smooth.image.array
    # the cavity darkens where trabeculae and papillary muscles are; nothing changes beyond
    # the LV and the 1.5 mm fat layer round it (two 1.4 mm voxels, plus partial volume; one
    # slice through-plane, where the basal slab holds LV in less than half its depth)
    assert np.mean(phantom.image.array[cavity]) < 0.93 * np.mean(smooth.image.array[cavity])
    near_lv = ndimage.binary_dilation(cavity | myo, structure=np.ones((1, 3, 7, 7), bool))
    assert np.any(changed & cavity) and not np.any(changed & ~near_lv)
    # rendered volume (sub-sample count): ~10 % of the myocardium at end-diastole, below the
    # 20 % that suggests non-compaction (Jacquier 2010); papillary muscles thicken in systole
    pt = phantom.truth["lv_papillary_trabecular_volume_ml"]
    myo_ml = phantom.truth["lv_myocardial_volume_ml"][0]
    assert 0.06 < pt[0] / myo_ml < 0.16
    assert smooth.truth["lv_papillary_trabecular_volume_ml"] == [0.0] * 5
    # trabeculae take the myocardium's signal: dark strands in bright blood
    in_cavity = phantom.image.array[cavity]
    assert np.percentile(in_cavity, 2) < 0.6 * np.median(in_cavity)


def test_papillary_muscles_alone_have_the_expected_volume():
    """Two columns of radius r attached to the wall over 45 % of the cavity length: the
    rendered volume grows as r² and is a few mL for the default radius."""
    kw = dict(n_phases=2, matrix=(128, 128), noise_sd=0.0, trabeculation_mm=0.0, epicardial_fat_mm=0.0)
    v4 = make_cine_sax(papillary_radius_mm=4.0, **kw).truth["lv_papillary_trabecular_volume_ml"][0]
    v6 = make_cine_sax(papillary_radius_mm=6.0, **kw).truth["lv_papillary_trabecular_volume_ml"][0]
    assert 2.0 < v4 < 6.0
    assert v6 / v4 == pytest.approx((6.0 / 4.0) ** 2, rel=0.15)


@pytest.mark.parametrize("key", list(FOUNDATION_HEART))
def test_detail_out_of_range_is_refused(key):
    with pytest.raises(InvalidInputError, match=key):
        make_cine_sax(n_phases=2, n_slices=3, matrix=(32, 32), spacing=(8, 4, 4), **{key: -1.0})


def test_seed_reproducible():
    a = make_cine_sax(n_phases=2, n_slices=3, matrix=(32, 32), spacing=(8, 4, 4), seed=7)
    b = make_cine_sax(n_phases=2, n_slices=3, matrix=(32, 32), spacing=(8, 4, 4), seed=7)
    c = make_cine_sax(n_phases=2, n_slices=3, matrix=(32, 32), spacing=(8, 4, 4), seed=8)
    np.testing.assert_array_equal(a.image.array, b.image.array)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.image.affine, b.image.affine)
    assert not np.array_equal(a.image.array, c.image.array)


def test_axial_variant():
    ph = make_cine_sax(n_phases=2, matrix=(48, 48), spacing=(8, 3.5, 3.5), oblique=False)
    np.testing.assert_allclose(np.abs(ph.image.direction[:, 0]), [0, 0, 1])
    assert ph.truth["lv_edv_ml"] == pytest.approx(140.0)


# --- DICOM -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def written(small, tmp_path_factory):
    out = tmp_path_factory.mktemp("dcm") / "series"
    return write_cine_sax_dicom(small, out)


def test_dicom_round_trip(small, written):
    img = small.image
    n_t, n_z = img.array.shape[:2]
    assert len(written) == n_t * n_z and all(p.exists() for p in written)
    dss = [pydicom.dcmread(p) for p in written]
    ds0 = dss[0]
    assert ds0.SOPClassUID == "1.2.840.10008.5.1.4.1.1.4"
    assert ds0.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
    assert len({d.SOPInstanceUID for d in dss}) == len(dss)
    assert {d.SeriesInstanceUID for d in dss} == {img.series_uid}
    row, col = np.array(ds0.ImageOrientationPatient[:3], float), np.array(ds0.ImageOrientationPatient[3:], float)
    normal = np.cross(row, col)
    positions = sorted({tuple(float(v) for v in d.ImagePositionPatient) for d in dss}, key=lambda p: np.dot(p, normal))
    positions = np.array(positions)
    assert len(positions) == n_z
    dz = float(np.linalg.norm(positions[1] - positions[0]))
    dy, dx = (float(v) for v in ds0.PixelSpacing)
    affine = np.eye(4)
    affine[:3, 0] = normal * dz
    affine[:3, 1] = col * dy
    affine[:3, 2] = row * dx
    affine[:3, 3] = positions[0]
    np.testing.assert_allclose(affine, img.affine, rtol=0, atol=1e-9)
    assert float(ds0.SpacingBetweenSlices) == float(ds0.SliceThickness) == pytest.approx(dz, abs=1e-9)
    # pixels and timing
    by_pos = {tuple(p): z for z, p in enumerate(positions)}
    for d in dss:
        z = by_pos[tuple(float(v) for v in d.ImagePositionPatient)]
        t = int(np.argmin(np.abs(img.frame_times_ms - float(d.TriggerTime))))
        assert float(d.TriggerTime) == pytest.approx(img.frame_times_ms[t], abs=1e-6)
        np.testing.assert_array_equal(d.pixel_array, img.array[t, z].astype(np.uint16))
        assert d.pixel_array.dtype == np.uint16
        assert int(d.CardiacNumberOfImages) == n_t
        assert float(d.SliceLocation) == pytest.approx(float(np.dot(positions[z], normal)), abs=1e-6)
    assert int(ds0.HeartRate) == 60 and int(ds0.NominalInterval) == 1000
    assert ds0.SeriesDescription == "CINE SSFP SAX" and ds0.ScanningSequence == "GR"
    assert float(ds0.PatientSize) == 1.75 and float(ds0.PatientWeight) == 75.0
    assert "RescaleSlope" not in ds0


@pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dciodvfy (dicom3tools) is not installed")
def test_dciodvfy_reports_no_errors(written):
    for path in (written[0], written[len(written) // 2]):
        res = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True)
        lines = (res.stdout + res.stderr).splitlines()
        errors = [ln for ln in lines if ln.startswith("Error")]
        assert not errors, "\n".join(lines)
        assert any(ln.strip() == "MRImage" for ln in lines)


@pytest.mark.skipif(shutil.which("dcmdump") is None, reason="dcmdump (dcmtk) is not installed")
def test_dcmdump_parses(written):
    res = subprocess.run(["dcmdump", "-E", str(written[0])], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "(0018,1060)" in res.stdout and "MRImageStorage" in res.stdout


def test_write_is_atomic_and_refuses_overwrite(small, tmp_path):
    out = tmp_path / "s"
    write_cine_sax_dicom(small, out)
    with pytest.raises(Exception):
        write_cine_sax_dicom(small, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]  # no temporary leftovers


def test_write_demo_study(tmp_path):
    paths, truth = write_demo_study(tmp_path / "demo", seed=0, n_phases=2, matrix=(32, 32), spacing=(8, 4, 4))
    assert len(paths) == 2 * 12
    assert json.loads(json.dumps(truth))["lv_edv_ml"] == pytest.approx(140.0)
    assert pydicom.dcmread(paths[0]).StudyInstanceUID == truth["study_uid"]

"""The shipped short-axis model: loading, input checks, pre/post-processing, real-data accuracy."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from heartprint import Image
from heartprint.errors import GeometryError, InvalidInputError, ModelError
from heartprint.labels import LV_CAVITY, LV_MYOCARDIUM, RV_CAVITY
from heartprint.segmentation import dice, load_model_card, segment_short_axis
from heartprint.segmentation._datasets import map_acdc_labels
from heartprint.segmentation._infer import SAX_CARD, SAX_MODEL, weights_dir
from heartprint.segmentation._preprocess import (
    fill_cavity_holes,
    keep_largest_components,
    normalise_intensity,
    pad_to_multiple,
)


# -- the shipped weights and their card ---------------------------------------------------


def test_shipped_model_matches_its_card():
    from heartprint.segmentation._infer import ensemble_members

    model = load_model_card()
    assert model.path.name == SAX_MODEL
    members = ensemble_members()  # every member checked against its own card
    assert [m.path.name for m in members] == [SAX_MODEL, *model.card.get("ensemble", [])]
    # the whole ensemble stays under the 30 MB (weights stored as float16)
    assert sum(m.path.stat().st_size for m in members) < 30 * 1024 * 1024
    for m in members:
        assert m.card["sha256"] == m.sha256
        assert m.card["training_data"]["Sunnybrook"]["patients_held_out"] == model.card["training_data"]["Sunnybrook"]["patients_held_out"]
        assert not {"acdc002", "acdc019", "acdc087"} & set(m.card["training_data"]["ACDC"]["patients"])
    data = model.card["training_data"]
    assert "doi:10.1109/TMI.2018.2837502" in data["ACDC"]["citation"]
    assert "non-commercial" in data["ACDC"]["terms"]
    assert "CC0" in data["Sunnybrook"]["terms"]
    # the ACDC validation patients were never trained on
    val = {"acdc002", "acdc019", "acdc028", "acdc030", "acdc039", "acdc045", "acdc078", "acdc082", "acdc085", "acdc087"}
    assert not val & set(data["ACDC"]["patients"])
    assert not set(data["Sunnybrook"]["patients_held_out"]) & set(data["Sunnybrook"]["patients_used_for_training_lv_only"])


def test_tampered_model_is_refused(tmp_path):
    src = weights_dir()
    shutil.copyfile(src / SAX_CARD, tmp_path / SAX_CARD)
    data = (src / SAX_MODEL).read_bytes()
    (tmp_path / SAX_MODEL).write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="SHA-256"):
        load_model_card(tmp_path / SAX_MODEL)


def test_corrupt_model_without_checksum_fails_at_load(tmp_path):
    card = json.loads((weights_dir() / SAX_CARD).read_text())
    card.pop("sha256")
    card.pop("ensemble", None)
    (tmp_path / SAX_CARD).write_text(json.dumps(card))
    (tmp_path / SAX_MODEL).write_bytes(b"not an onnx model")
    with pytest.raises(ModelError, match="onnxruntime could not load"):
        segment_short_axis(np.zeros((2, 32, 32), np.float32), (8, 1.5, 1.5), model_path=tmp_path / SAX_MODEL)


def test_ensemble_members_are_checked_and_averaged(tmp_path):
    """A card may list further members; each is checked against its own card, and the
    probabilities are averaged (two copies of one model give that model's labels)."""
    src = weights_dir()
    card = {k: v for k, v in json.loads((src / SAX_CARD).read_text()).items() if k != "ensemble"}
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copyfile(src / SAX_MODEL, alone / SAX_MODEL)
    (alone / SAX_CARD).write_text(json.dumps(card))
    shutil.copyfile(src / SAX_MODEL, tmp_path / SAX_MODEL)
    shutil.copyfile(src / SAX_MODEL, tmp_path / "member.onnx")
    (tmp_path / "member.card.json").write_text(json.dumps(card))
    (tmp_path / SAX_CARD).write_text(json.dumps({**card, "ensemble": ["member.onnx"]}))
    from heartprint.phantoms import make_cine_sax

    vol = make_cine_sax(n_phases=2, n_slices=6, matrix=(96, 96), oblique=False).image.phase(0)
    single = segment_short_axis(vol, model_path=alone / SAX_MODEL)
    assert (single == LV_CAVITY).sum() > 100  # a real heart, so the comparison means something
    assert np.array_equal(segment_short_axis(vol, model_path=tmp_path / SAX_MODEL), single)
    vol = vol.array  # the tampering check below takes an array with spacing
    (tmp_path / "member.onnx").write_bytes(b"tampered")
    with pytest.raises(ModelError, match="member.onnx"):
        segment_short_axis(vol, (8, 1.5, 1.5), model_path=tmp_path / SAX_MODEL)


def test_missing_model_names_the_file(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        load_model_card(tmp_path / "absent.onnx")


# -- input checks ---------------------------------------------------------------------------


def test_spacing_is_required_for_arrays():
    with pytest.raises(InvalidInputError, match="spacing=None"):
        segment_short_axis(np.zeros((2, 32, 32)))


@pytest.mark.parametrize("spacing", [(8, 0, 1.5), (8, 1.5), (8, float("nan"), 1.5), (8, -1, 1)])
def test_bad_spacing_is_named(spacing):
    with pytest.raises(GeometryError, match="spacing"):
        segment_short_axis(np.zeros((2, 32, 32)), spacing)


def test_cine_image_is_refused_with_a_pointer():
    img = Image.from_array(np.zeros((3, 2, 32, 32)), (8, 1.5, 1.5), frame_times_ms=[0, 30, 60])
    with pytest.raises(InvalidInputError, match="segment_cine"):
        segment_short_axis(img)


def test_slices_with_the_wrong_channel_count_are_named():
    from heartprint.segmentation._infer import predict_probabilities, with_context

    context = int(load_model_card().card.get("context", 0))
    stack = np.random.default_rng(0).random((3, 32, 32)).astype(np.float32)
    good = with_context(stack, context)
    assert predict_probabilities(good, tta=False).shape == (3, 4, 32, 32)
    bad = np.concatenate([good, good], axis=1)
    with pytest.raises(InvalidInputError, match=f"expected .*{1 + 2 * context}|expected \\(n, y, x\\)"):
        predict_probabilities(bad, tta=False)


def test_output_is_on_the_input_grid_and_uint8():
    rng = np.random.default_rng(0)
    vol = rng.random((3, 41, 57)).astype(np.float32)
    out = segment_short_axis(vol, (8.0, 1.3, 1.7))
    assert out.shape == vol.shape and out.dtype == np.uint8
    assert set(np.unique(out)) <= {0, 1, 2, 3}


# -- pre/post-processing --------------------------------------------------------------------


def test_cine_path_agrees_with_the_validated_whole_field_path():
    """``segment_cine`` runs the network in a box round the heart (for speed); the validated
    numbers come from the whole field of view (``segment_short_axis``). The box must not
    change the volumes: a tight one (30 mm margins) thinned a small heart's wall by 5 %."""
    from heartprint.phantoms import make_cine_sax
    from heartprint.segmentation import segment_cine

    ph = make_cine_sax(n_phases=2, seed=12, edv_ml=110.0, esv_ml=40.0, lv_mass_g=95.0, rv_edv_ml=120.0,
                       rv_esv_ml=50.0, spacing=(10.0, 1.6, 1.6), trabeculation_mm=0.0, papillary_radius_mm=0.0,
                       epicardial_fat_mm=0.0)
    boxed = segment_cine(ph.image, tta=False)
    for t in range(2):
        whole = segment_short_axis(ph.image.phase(t), tta=False)
        for label in (LV_CAVITY, LV_MYOCARDIUM, RV_CAVITY):
            n_box, n_whole = np.count_nonzero(boxed[t] == label), np.count_nonzero(whole == label)
            assert n_box == pytest.approx(n_whole, rel=0.02), (t, label)


def test_acdc_label_mapping():
    acdc = np.array([0, 1, 2, 3])  # ACDC: 1 RV, 2 myocardium, 3 LV
    assert map_acdc_labels(acdc).tolist() == [0, RV_CAVITY, LV_MYOCARDIUM, LV_CAVITY]
    with pytest.raises(InvalidInputError, match="ACDC label value 4"):
        map_acdc_labels(np.array([4]))


def test_normalise_and_pad():
    vol = np.linspace(-100, 500, 2 * 20 * 30).reshape(2, 20, 30)
    n = normalise_intensity(vol)
    assert n.min() == 0.0 and n.max() == 1.0
    assert np.all(normalise_intensity(np.full((1, 4, 4), 7.0)) == 0)
    padded, crop = pad_to_multiple(n)
    assert padded.shape == (2, 32, 32)
    assert np.array_equal(padded[:, crop[0], crop[1]], n)


def test_largest_component_and_hole_filling():
    lab = np.zeros((3, 20, 20), np.uint8)
    lab[:, 5:12, 5:12] = LV_CAVITY
    lab[1, 8, 8] = 0  # a hole inside the cavity
    lab[0, 17:19, 17:19] = LV_CAVITY  # a stray island
    clean = fill_cavity_holes(keep_largest_components(lab))
    assert clean[0, 17, 17] == 0
    assert clean[1, 8, 8] == LV_CAVITY
    assert (clean == LV_CAVITY).sum() == 3 * 49


def test_dice():
    a = np.zeros((4, 4), np.uint8)
    b = a.copy()
    a[:2] = 1
    b[1:3] = 1
    assert dice(a, b, 1) == pytest.approx(0.5)
    assert dice(a * 0, b * 0, 1) == 1.0
    with pytest.raises(InvalidInputError):
        dice(a, b[:2], 1)


@pytest.mark.parametrize("shift", [(0, 0), (3, -5), (-7, 10)])
def test_reference_displacement_finds_a_moved_outline(shift):
    """A blood-pool outline moved off its bright disc is found and the shift back reported."""
    from heartprint.segmentation._evaluate import reference_displacement

    yy, xx = np.mgrid[:96, :112]
    disc = np.hypot(yy - 50, xx - 60) < 14
    image = np.where(disc, 0.9, 0.3) + np.random.default_rng(0).normal(0, 0.05, disc.shape)
    moved = np.roll(disc, shift, (0, 1))
    assert reference_displacement(image, moved) == (-shift[0], -shift[1])


def test_misregistered_reference_patients_are_named():
    from heartprint.segmentation._datasets import Slice2D
    from heartprint.segmentation._evaluate import misregistered_references

    yy, xx = np.mgrid[:64, :64]
    disc = np.hypot(yy - 32, xx - 32) < 10
    image = np.where(disc, 1.0, 0.2).astype(np.float32)
    good = Slice2D(image, disc.astype(np.uint8) * LV_CAVITY, "P-good", True)
    bad = Slice2D(image, np.roll(disc, 6, 1).astype(np.uint8) * LV_CAVITY, "P-bad", True)
    assert misregistered_references([good, good, bad, bad]) == {"P-bad": [0.0, -6.0]}


# -- real data ------------------------------------------------------------------------------


def _acdc_stack(shared_data, pid="078", frame="01"):
    h5py = pytest.importorskip("h5py")
    path = shared_data / "acdc" / "val" / f"patient{pid}_frame{frame}.h5"
    if not path.exists():
        pytest.skip(f"{path} not present")
    with h5py.File(path) as f:
        return np.asarray(f["image"], np.float32), map_acdc_labels(np.asarray(f["label"]))


def test_resampling_happens_inside(shared_data):
    """The same heart given on a 1.0 mm grid (with its true spacing) gets the same physical volumes."""
    image, _ = _acdc_stack(shared_data)
    base = segment_short_axis(image, (10.0, 1.5, 1.5))
    fine = Image.from_array(image, (10.0, 1.5, 1.5)).resample((10.0, 1.0, 1.0))
    out = segment_short_axis(fine)
    for lab in (LV_CAVITY, LV_MYOCARDIUM, RV_CAVITY):
        v_base = (base == lab).sum() * 1.5 * 1.5
        v_fine = (out == lab).sum() * 1.0 * 1.0
        assert v_fine == pytest.approx(v_base, rel=0.04), lab


def test_sunnybrook_reference_qc_finds_the_displaced_patient(shared_data):
    """Sunnybrook as distributed here: SC-N-06's LV outlines sit about 10 pixels (~13 mm)
    off the blood pool (shown by image contrast alone, no model); every other patient's
    outlines are within the accepted 3 pixels (most are 1 pixel off, a rasterisation offset)."""
    pytest.importorskip("PIL")
    from heartprint.segmentation._datasets import load_sunnybrook, sunnybrook_patients
    from heartprint.segmentation._evaluate import reference_displacements

    folder = shared_data / "sunnybrook"
    if not folder.is_dir():
        pytest.skip("Sunnybrook not present")
    disp = reference_displacements(load_sunnybrook(folder, sunnybrook_patients(folder)))
    assert len(disp) == 30
    bad = {pid for pid, d in disp.items() if max(map(abs, d)) > 3}
    assert bad == {"SC-N-06"}
    assert disp["SC-N-06"][1] >= 8


def test_inference_threads_from_the_environment(monkeypatch):
    import os

    from heartprint.errors import ModelError
    from heartprint.segmentation._infer import inference_threads

    monkeypatch.setenv("HEARTPRINT_THREADS", "3")
    assert inference_threads() == 3
    monkeypatch.delenv("HEARTPRINT_THREADS")
    assert inference_threads() == max(1, os.cpu_count() or 1)
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv("HEARTPRINT_THREADS", bad)
        with pytest.raises(ModelError, match="HEARTPRINT_THREADS"):
            inference_threads()

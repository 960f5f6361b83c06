"""Training is seeded and resumable: an interrupted run continues to the same weights."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("monai")
h5py = pytest.importorskip("h5py")

from heartprint.errors import InvalidInputError  # noqa: E402
from heartprint.labels import LV_CAVITY, RV_CAVITY  # noqa: E402
from heartprint.segmentation._train import TrainConfig, export_checkpoint, train  # noqa: E402


def _write_acdc_like(folder, n_patients=3):
    """Tiny ACDC-format slices (ACDC labels: 1 RV, 2 myocardium, 3 LV)."""
    folder.mkdir()
    yy, xx = np.mgrid[:64, :64]
    for p in range(n_patients):
        for s in range(2):
            r = np.hypot(yy - 32, xx - 30 - p)
            label = np.where(r < 8, 3, np.where(r < 12, 2, 0)).astype(np.uint8)
            label[(np.hypot(yy - 32, xx - 48) < 8) & (label == 0)] = 1
            image = np.choose(label, [0.1, 0.9, 0.3, 0.9]).astype(np.float32)
            with h5py.File(folder / f"patient{p + 1:03d}_frame01_slice_{s + 1}.h5", "w") as f:
                f["image"] = image
                f["label"] = label


def _cfg(data, out, iterations):
    return TrainConfig(acdc_dir=str(data), sunnybrook_dir=None, out_dir=str(out), iterations=iterations,
                       batch_size=2, crop=32, channels=(4, 8), num_res_units=0, checkpoint_every=2, threads=1)


def test_resume_reproduces_an_uninterrupted_run(tmp_path):
    data = tmp_path / "acdc"
    _write_acdc_like(data)
    logs = []
    train(_cfg(data, tmp_path / "full", 4), log=logs.append)
    assert train(_cfg(data, tmp_path / "part", 4), log=logs.append, stop_at=2) is None  # interrupted
    train(_cfg(data, tmp_path / "part", 4), log=logs.append)  # resumed to 4
    assert any("resumed" in m and "iteration 2" in m for m in logs)
    a = torch.load(tmp_path / "full" / "checkpoint.pt", weights_only=False)
    b = torch.load(tmp_path / "part" / "checkpoint.pt", weights_only=False)
    assert a["iteration"] == b["iteration"] == 4
    for k in a["model"]:
        assert torch.allclose(a["model"][k].float(), b["model"][k].float(), atol=1e-6), k
    card = json.loads((tmp_path / "full" / "sax_unet.card.json").read_text())
    assert card["config"]["seed"] == 20261124
    assert card["training_data"]["ACDC"]["patients"] == ["acdc001", "acdc002", "acdc003"]


def test_exported_onnx_matches_torch(tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    from heartprint.segmentation._train import build_network

    data = tmp_path / "acdc"
    _write_acdc_like(data, 1)
    train(_cfg(data, tmp_path / "run", 2), log=lambda m: None)
    assert export_checkpoint(tmp_path / "run" / "checkpoint.pt", tmp_path / "m.onnx") == 2
    ck = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)
    net = build_network((4, 8), 0)
    net.load_state_dict(ck["ema"])
    net.eval()
    x = np.random.default_rng(1).random((3, 1, 48, 64)).astype(np.float32)
    ref = net(torch.from_numpy(x)).detach().numpy()
    got = onnxruntime.InferenceSession(str(tmp_path / "m.onnx")).run(None, {"image": x})[0]
    # weights are stored as float16 (relative precision 2**-11): logits agree to ~1e-3 of their range
    assert np.abs(ref - got).max() < 2e-3 * np.abs(ref).max()
    assert (ref.argmax(1) == got.argmax(1)).mean() > 0.99


def test_weights_stored_half_give_the_rounded_weights_exactly(tmp_path):
    """store_weights_half: float16 storage + Cast computes with exactly the float16-rounded
    weights in float32; tensors beyond float16's range and tiny ones stay float32."""
    onnx = pytest.importorskip("onnx")
    onnxruntime = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper, numpy_helper

    from heartprint.segmentation._train import store_weights_half

    rng = np.random.default_rng(3)
    w = rng.normal(size=(32, 8)).astype(np.float32)
    big = np.full((32, 8), 1e5, np.float32)
    small = rng.normal(size=(8,)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["a"]), helper.make_node("Add", ["a", "small"], ["y"]),
         helper.make_node("MatMul", ["x", "big"], ["z"])],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 8]),
         helper.make_tensor_value_info("z", TensorProto.FLOAT, [None, 8])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(big, "big"), numpy_helper.from_array(small, "small")],
    )
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    assert store_weights_half(path) == 1  # only w: big overflows float16, small has 8 values
    stored = {i.name: numpy_helper.to_array(i).dtype for i in onnx.load(str(path)).graph.initializer}
    assert stored == {"w__float16": np.float16, "big": np.float32, "small": np.float32}
    x = rng.normal(size=(5, 32)).astype(np.float32)
    y, z = onnxruntime.InferenceSession(str(path)).run(None, {"x": x})
    assert np.allclose(y, x @ w.astype(np.float16).astype(np.float32) + small, rtol=1e-5, atol=1e-5)
    assert np.allclose(z, x @ big, rtol=1e-6)
    assert not np.allclose(y, x @ w + small, rtol=1e-5, atol=1e-5)  # the rounding is real, so the test can fail


def test_a_2p5d_network_inflated_from_a_2d_one_starts_identical():
    """Fine-tuning a 2.5-D model from 2-D weights: with the neighbour channels zero-weighted
    it computes exactly the 2-D network's output, whatever the neighbours contain."""
    from heartprint.segmentation._train import build_network, inflate_input_channels

    torch.manual_seed(0)
    net2d = build_network((4, 8, 16), num_res_units=2, context=0).eval()
    net25 = build_network((4, 8, 16), num_res_units=2, context=1).eval()
    net25.load_state_dict(inflate_input_channels(net2d.state_dict(), net25.state_dict()))
    rng = np.random.default_rng(3)
    centre = rng.random((2, 1, 32, 48)).astype(np.float32)
    x = np.concatenate([rng.random((2, 1, 32, 48)), centre, rng.random((2, 1, 32, 48))], 1).astype(np.float32)
    with torch.no_grad():
        a = net2d(torch.from_numpy(centre))
        b = net25(torch.from_numpy(x))
    assert torch.allclose(a, b, atol=1e-5)
    with pytest.raises(ValueError, match="cannot initialise"):
        inflate_input_channels(build_network((4, 8), 0).state_dict(), net25.state_dict())


def test_phantom_share_of_each_batch_is_as_configured():
    """Synthetic slices are drawn at ``phantom_fraction`` of the fully labelled draws,
    whatever their number relative to the real ones."""
    from heartprint.segmentation._train import _Sampler

    n_real, n_syn = 90, 10
    img = np.zeros((n_real + n_syn, 1, 32, 32), np.float32)
    lab = np.zeros((n_real + n_syn, 32, 32), np.uint8)
    synthetic = np.r_[np.zeros(n_real, bool), np.ones(n_syn, bool)]
    cfg = TrainConfig(acdc_dir="-", sunnybrook_dir=None, out_dir="-", batch_size=64, crop=16,
                      phantom_fraction=0.25, edge_weight=2.0, sunnybrook_fraction=0.0)
    edge = np.zeros(n_real + n_syn, bool)
    edge[:30] = True  # real edge slices weigh 2
    s = _Sampler(img, lab, np.zeros(n_real + n_syn, bool), cfg, edge=edge, synthetic=synthetic)
    w = s.full_weight
    assert float(w[n_real:].sum() / w.sum()) == pytest.approx(0.25, rel=1e-6)
    draws = torch.multinomial(w, 40000, replacement=True, generator=torch.Generator().manual_seed(0))
    assert float((draws >= n_real).float().mean()) == pytest.approx(0.25, abs=0.01)
    cfg.phantom_fraction = 1.0
    with pytest.raises(InvalidInputError, match="phantom_fraction=1.0"):
        _Sampler(img, lab, np.zeros(n_real + n_syn, bool), cfg, edge=edge, synthetic=synthetic)


def test_end_systolic_slices_are_weighted_with_the_edge_slices():
    """``es_weight`` multiplies the sampling weight of end-systolic slices (edge slices keep
    theirs on top), and the phantoms keep their share of the draws."""
    from heartprint.segmentation._train import _Sampler

    n_real, n_syn = 80, 20
    n = n_real + n_syn
    img, lab = np.zeros((n, 1, 32, 32), np.float32), np.zeros((n, 32, 32), np.uint8)
    synthetic = np.r_[np.zeros(n_real, bool), np.ones(n_syn, bool)]
    es = np.r_[np.zeros(40, bool), np.ones(40, bool), np.zeros(n_syn, bool)]
    edge = np.zeros(n, bool)
    edge[[0, 40]] = True  # one ED and one ES edge slice
    cfg = TrainConfig(acdc_dir="-", sunnybrook_dir=None, out_dir="-", batch_size=64, crop=16,
                      phantom_fraction=0.1, edge_weight=3.0, es_weight=2.0, sunnybrook_fraction=0.0)
    w = _Sampler(img, lab, np.zeros(n, bool), cfg, edge=edge, synthetic=synthetic, end_systole=es).full_weight
    assert [float(w[i]) for i in (0, 1, 40, 41)] == [3.0, 1.0, 6.0, 2.0]
    assert float(w[n_real:].sum() / w.sum()) == pytest.approx(0.1, rel=1e-6)
    assert float(w[40:80].sum() / w[:80].sum()) == pytest.approx(2 * 42 / (2 * 42 + 42), rel=1e-6)


def test_phantom_end_systolic_weight_stays_inside_the_phantom_share():
    """``phantom_es_weight`` shifts the phantom draws towards end-systole without changing the
    phantoms' share or the real slices' weights; ``es_weight`` does not touch phantoms."""
    from heartprint.segmentation._train import _Sampler

    n_real, n_syn = 80, 20
    n = n_real + n_syn
    img, lab = np.zeros((n, 1, 32, 32), np.float32), np.zeros((n, 32, 32), np.uint8)
    synthetic = np.r_[np.zeros(n_real, bool), np.ones(n_syn, bool)]
    es = np.r_[np.zeros(40, bool), np.ones(40, bool), np.zeros(10, bool), np.ones(10, bool)]
    weights = []
    for pw in (1.0, 3.0):
        cfg = TrainConfig(acdc_dir="-", sunnybrook_dir=None, out_dir="-", batch_size=64, crop=16,
                          phantom_fraction=0.2, es_weight=2.0, phantom_es_weight=pw, sunnybrook_fraction=0.0)
        weights.append(_Sampler(img, lab, np.zeros(n, bool), cfg, synthetic=synthetic, end_systole=es).full_weight)
    for w, pw in zip(weights, (1.0, 3.0)):
        assert float(w[n_real:].sum() / w.sum()) == pytest.approx(0.2, rel=1e-6)
        assert float(w[90:].sum() / w[n_real:].sum()) == pytest.approx(pw / (1 + pw), rel=1e-6)
    np.testing.assert_allclose(weights[0][:n_real].numpy(), weights[1][:n_real].numpy())
    assert float(weights[0][80]) == float(weights[0][95])  # es_weight is for real slices only


N_REAL, N_SYN = 40, 20


def _phantom_labels() -> np.ndarray:
    """Labels of 40 real then 20 phantom slices (real and phantom each: ED then ES halves), all
    with an LV cavity except the last four end-systolic phantom slices (blood, no LV)."""
    lab = np.zeros((N_REAL + N_SYN, 32, 32), np.uint8)
    lab[:, 10:20, 10:20] = LV_CAVITY
    lab[-4:] = RV_CAVITY
    return lab


def _sampler_weights(lab: np.ndarray, **cfg) -> dict:
    """Sampling weights of those slices with the flag ``cfg`` names off (False) and on (True)."""
    from heartprint.segmentation._train import _Sampler

    (flag,) = cfg
    n = N_REAL + N_SYN
    img = np.zeros((n, 1, 32, 32), np.float32)
    synthetic = np.r_[np.zeros(N_REAL, bool), np.ones(N_SYN, bool)]
    es = np.r_[np.zeros(20, bool), np.ones(20, bool), np.zeros(10, bool), np.ones(10, bool)]
    w = {}
    for on in (False, True):
        c = TrainConfig(acdc_dir="-", sunnybrook_dir=None, out_dir="-", batch_size=64, crop=16, phantom_fraction=0.2,
                        phantom_es_weight=4.0, sunnybrook_fraction=0.0, **{flag: on})
        w[on] = _Sampler(img, lab, np.zeros(n, bool), c, synthetic=synthetic, end_systole=es).full_weight
    for ww in w.values():  # the phantom share and the real slices' weights never change
        assert float(ww[N_REAL:].sum() / ww.sum()) == pytest.approx(0.2, rel=1e-6)
    np.testing.assert_allclose(w[False][:N_REAL].numpy(), w[True][:N_REAL].numpy())
    return w


def test_phantom_end_systolic_weight_can_skip_slices_without_lv():
    """With ``phantom_es_ventricle_only`` the end-systolic phantom slices beyond the base or
    apex (no LV cavity) are drawn as often as end-diastolic ones; the phantom share and the
    real slices' weights are unchanged, and the default keeps the earlier draws."""
    w = _sampler_weights(_phantom_labels(), phantom_es_ventricle_only=True)
    assert float(w[False][-1]) == pytest.approx(4 * float(w[False][N_REAL]))  # the default: every ES slice x4
    assert float(w[True][-1]) == pytest.approx(float(w[True][N_REAL]))  # no LV: weighted as end-diastole
    assert float(w[True][N_REAL + 10]) == pytest.approx(4 * float(w[True][N_REAL]))  # ES with LV: x4


def test_phantom_slices_without_lv_can_be_left_out():
    """With ``phantom_ventricle_only`` no phantom slice without LV cavity is drawn; the other
    phantom slices keep the whole phantom share in their old proportions, real slices are
    untouched."""
    lab = _phantom_labels()
    lab[N_REAL] = 0  # and one end-diastolic phantom slice of background alone
    w = _sampler_weights(lab, phantom_ventricle_only=True)
    assert float(w[False][-1]) > 0 and float(w[False][N_REAL]) > 0
    assert float(w[True][-1]) == 0.0 and float(w[True][N_REAL]) == 0.0  # no LV cavity: never drawn
    assert float(w[True][N_REAL + 10]) == pytest.approx(4 * float(w[True][N_REAL + 1]))  # ES with LV still x4
    no_lv = _phantom_labels()
    no_lv[N_REAL:] = RV_CAVITY
    with pytest.raises(InvalidInputError, match="none of the 20 phantom slices holds LV cavity"):
        _sampler_weights(no_lv, phantom_ventricle_only=True)


def test_acdc_end_systole_is_the_stack_with_the_smaller_lv(tmp_path):
    from heartprint.segmentation._datasets import load_acdc_train_slices

    folder = tmp_path / "acdc"
    _write_acdc_like(folder, 1)  # frame01: LV radius 8 pixels
    yy, xx = np.mgrid[:64, :64]
    for s in range(2):  # frame09: the same heart with a smaller LV cavity
        r = np.hypot(yy - 32, xx - 30)
        label = np.where(r < 5, 3, np.where(r < 11, 2, 0)).astype(np.uint8)
        with h5py.File(folder / f"patient001_frame09_slice_{s + 1}.h5", "w") as f:
            f["image"] = np.choose(label, [0.1, 0.9, 0.3, 0.9]).astype(np.float32)
            f["label"] = label
    slices = load_acdc_train_slices(folder)
    assert [s.end_systole for s in slices] == [False, False, True, True]
    assert all((s.label == LV_CAVITY).sum() < 100 for s in slices if s.end_systole)


def test_phantom_slices_have_exact_labels_at_the_network_spacing():
    from heartprint.segmentation._datasets import phantom_slices

    slices = phantom_slices(1, seed=5)
    assert all(s.synthetic and not s.lv_only for s in slices)
    labelled = [s for s in slices if (s.label > 0).any()]
    assert labelled and {int(v) for s in labelled for v in np.unique(s.label)} == {0, 1, 2, 3}
    assert all(0.0 <= s.image.min() and s.image.max() <= 1.0 for s in slices)
    # the LV blood pool is bright and the myocardium darker, as in the phantom's intensity table
    lv = np.concatenate([s.image[s.label == 1] for s in labelled])
    myo = np.concatenate([s.image[s.label == 2] for s in labelled])
    assert np.median(lv) > 1.8 * np.median(myo)


def test_dice_weight_scales_only_the_dice_terms():
    import torch
    import torch.nn.functional as F
    from monai.losses import DiceLoss

    from heartprint.segmentation._train import _loss

    g = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 4, 16, 16, generator=g)
    y = torch.randint(0, 4, (4, 16, 16), generator=g)
    lv_only = torch.tensor([False, False, True, True])
    dice = DiceLoss(include_background=False, to_onehot_y=True, softmax=True, batch=True)
    full = ~lv_only
    ce = F.cross_entropy(logits[full], y[full])
    p = torch.softmax(logits[lv_only], 1)[:, 1].clamp(1e-6, 1 - 1e-6)
    bce = F.binary_cross_entropy(p, (y[lv_only] == 1).float())
    # cross-entropy alone when the weight is 0; the Dice terms add linearly with it
    assert float(_loss(logits, y, lv_only, dice, 0.0)) == pytest.approx(float(ce + 0.5 * bce), rel=1e-6)
    l1, l2 = (float(_loss(logits, y, lv_only, dice, w)) for w in (1.0, 2.0))
    assert l2 - l1 == pytest.approx(l1 - float(ce + 0.5 * bce), rel=1e-5) and l1 > float(ce + 0.5 * bce)


def test_detailed_phantom_slices_keep_trabeculae_in_the_cavity(monkeypatch):
    """``detail=True`` draws trabeculae, papillary muscles and fat (PHANTOM_DETAIL_RANGES) and
    passes them on; the smooth default passes zeros, so earlier recipes draw what they drew."""
    import heartprint.phantoms._cine_sax as C
    from heartprint.segmentation import _datasets as D

    seen = []
    real = C.make_cine_sax
    monkeypatch.setattr(C, "make_cine_sax", lambda **kw: seen.append(kw) or real(**kw))
    smooth = D.phantom_slices(1, seed=5)
    detailed = D.phantom_slices(3, seed=5, detail=True)
    assert all(seen[0][k] == 0.0 for k in D.PHANTOM_DETAIL_RANGES)
    drawn = seen[-3:]
    for name, (lo, hi) in D.PHANTOM_DETAIL_RANGES.items():
        assert all(kw[name] == 0.0 or lo <= kw[name] <= hi for kw in drawn)
    assert any(kw["trabeculation_mm"] > 0 for kw in drawn) and "lv_trabeculae" not in drawn[0]["intensities"]
    # the LV cavity of a trabeculated heart holds dark myocardial strands; a smooth one does not
    def dark_fraction(slices):
        cav = np.concatenate([s.image[s.label == 1] for s in slices if (s.label == 1).sum() > 200])
        return float(np.mean(cav < 0.6 * np.median(cav)))
    stacks = [[s for s in detailed if s.source == f"phantom{k:03d}"] for k in range(3)]
    trabeculated = [st for st, kw in zip(stacks, drawn) if kw["trabeculation_mm"] > 1.0 or kw["papillary_radius_mm"] > 3.0]
    assert trabeculated and dark_fraction(trabeculated[0]) > dark_fraction(smooth) + 0.02


def test_train_cli_reads_a_recipe_and_refuses_unknown_fields(tmp_path, capsys):
    from heartprint.cli import main

    data = tmp_path / "acdc"
    _write_acdc_like(data, 1)
    recipe = {"iterations": 2, "batch_size": 2, "crop": 32, "channels": [4, 8], "num_res_units": 0,
              "checkpoint_every": 2, "threads": 1, "seed": 11}
    (tmp_path / "r.json").write_text(json.dumps(recipe))
    assert main(["train", "--acdc", str(data), "--out", str(tmp_path / "run"), "--config", str(tmp_path / "r.json")]) == 0
    card = json.loads((tmp_path / "run" / "sax_unet.card.json").read_text())
    assert card["config"]["seed"] == 11 and card["config"]["channels"] == [4, 8] and len(card["sha256"]) == 64
    (tmp_path / "bad.json").write_text(json.dumps({"iterations": 2, "learning_rate": 1.0}))
    code = main(["train", "--acdc", str(data), "--out", str(tmp_path / "run2"), "--config", str(tmp_path / "bad.json")])
    assert code != 0
    assert "learning_rate" in capsys.readouterr().err


def test_finalize_attaches_ensemble_members_and_installs_them(tmp_path, monkeypatch):
    """``finalize(members=...)``: the other run's model is copied beside this one with its
    own checksummed card, listed under ``ensemble``, loaded as a member, and installed with
    the main model (replacing members of an earlier ensemble)."""
    pytest.importorskip("onnxruntime")
    import heartprint.segmentation._infer as infer
    from heartprint.segmentation._train import finalize

    data = tmp_path / "acdc"
    _write_acdc_like(data, 1)
    for run in ("a", "b"):
        train(_cfg(data, tmp_path / run, 2), log=lambda m: None)
    installed = tmp_path / "weights"
    installed.mkdir()
    (installed / "sax_unet_m7.onnx").write_bytes(b"old member")
    monkeypatch.setattr(infer, "weights_dir", lambda: installed)
    card = finalize(tmp_path / "a", acdc_val=None, sunnybrook_dir=None, install=True, members=[tmp_path / "b"])
    assert card["ensemble"] == ["sax_unet_m2.onnx"]
    member_card = json.loads((tmp_path / "a" / "sax_unet_m2.card.json").read_text())
    assert member_card["source_run"] == "b" and member_card["ensemble_member_of"] == "sax_unet.onnx"
    members = infer.ensemble_members(tmp_path / "a" / "sax_unet.onnx")
    assert [m.path.name for m in members] == ["sax_unet.onnx", "sax_unet_m2.onnx"]
    assert sorted(p.name for p in installed.iterdir()) == [
        "sax_unet.card.json", "sax_unet.onnx", "sax_unet_m2.card.json", "sax_unet_m2.onnx"]
    assert [m.path.name for m in infer.ensemble_members(installed / "sax_unet.onnx")] == ["sax_unet.onnx", "sax_unet_m2.onnx"]


def test_an_ensemble_member_with_another_sunnybrook_split_is_refused(tmp_path):
    from heartprint.segmentation._train import finalize

    data = tmp_path / "acdc"
    _write_acdc_like(data, 1)
    for run in ("a", "b"):
        train(_cfg(data, tmp_path / run, 2), log=lambda m: None)
    card_b = tmp_path / "b" / "sax_unet.card.json"
    card = json.loads(card_b.read_text())
    card["training_data"]["Sunnybrook"]["patients_held_out"] = ["SC-HF-I-01"]
    card_b.write_text(json.dumps(card))
    with pytest.raises(InvalidInputError, match="held out"):
        finalize(tmp_path / "a", acdc_val=None, sunnybrook_dir=None, members=[tmp_path / "b"])
    with pytest.raises(InvalidInputError, match="finished run"):
        finalize(tmp_path / "a", acdc_val=None, sunnybrook_dir=None, members=[tmp_path / "absent"])

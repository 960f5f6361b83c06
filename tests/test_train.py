"""Training is seeded and resumable: an interrupted run continues to the same weights."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("monai")
h5py = pytest.importorskip("h5py")

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
    assert np.allclose(ref, got, atol=1e-4)

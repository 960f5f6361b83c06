"""Training of the short-axis segmentation network (needs the ``dl`` extra: torch, MONAI, onnx).

Design:

* Network: MONAI ``UNet`` (2-D, residual units, batch norm), 1 input channel, 4 outputs
  (heartprint labels 0–3).
* Data: ACDC training slices (70 patients) and, for the LV cavity only, half of the
  Sunnybrook patients (:func:`~heartprint.segmentation._datasets.sunnybrook_split`). ACDC
  validation patients are never read here.
* Augmentation on whole batches in torch (fast on a CPU): random crop around the heart,
  rotation (any angle), flips, isotropic scale ×0.70–1.40 and anisotropic ±10 %,
  gamma 0.6–1.7, contrast/brightness, smooth multiplicative bias field, Gaussian noise,
  blur and low-resolution simulation.
* Loss: cross-entropy + soft Dice (MONAI ``DiceLoss``; weight ``dice_weight``) on fully
  labelled samples; binary cross-entropy + soft Dice on P(LV cavity) for LV-only samples
  (Sunnybrook), so partial labels never teach "everything else is background".
* Resumable: a checkpoint (model, EMA model, optimiser, iteration) every
  ``checkpoint_every`` iterations; the random stream of iteration *i* is seeded with
  ``seed`` and *i*, so a resumed run draws the same batches as an uninterrupted one.
* Export: the exponential-moving-average weights to ONNX (opset 17) with a JSON model card.
"""

from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from heartprint.errors import InvalidInputError
from heartprint.labels import LV_CAVITY


@dataclass
class TrainConfig:
    acdc_dir: str
    sunnybrook_dir: str | None
    out_dir: str
    iterations: int = 6000
    batch_size: int = 16
    crop: int = 144
    lr: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 20261124
    channels: tuple[int, ...] = (32, 64, 128, 256, 384)
    #: neighbouring slices on each side given as extra input channels (0: plain 2-D; 1: 2.5-D)
    context: int = 0
    num_res_units: int = 2
    sunnybrook_fraction: float = 0.2
    #: sampling weight of the stack-end slices (two basal, one apical) relative to the others
    edge_weight: float = 1.0
    #: sampling weight of ACDC end-systolic slices relative to end-diastolic ones (the RV at
    #: end-systole is the weakest structure); multiplies ``edge_weight``
    es_weight: float = 1.0
    #: synthetic phantom stacks (ED + ES each, see ``_datasets.phantom_slices``) added to
    #: training, and the share of each batch drawn from them
    phantom_stacks: int = 0
    phantom_fraction: float = 0.0
    #: phantoms with trabeculae, papillary muscles and epicardial fat (``_datasets.PHANTOM_DETAIL_RANGES``)
    phantom_detail: bool = False
    #: within the phantom share, end-systolic phantom slices are drawn this many times as
    #: often as end-diastolic ones (the share itself stays ``phantom_fraction``)
    phantom_es_weight: float = 1.0
    #: give ``phantom_es_weight`` only to end-systolic phantom slices that hold LV cavity (the
    #: end-systolic endocardium it is for), not to those beyond the base or apex
    phantom_es_ventricle_only: bool = False
    #: draw no phantom slice that holds no LV cavity (beyond the base the phantom labels its
    #: outflow tract and atria background, where ACDC's basal convention says LV when the
    #: outflow is ringed by myocardium); the share stays ``phantom_fraction``
    phantom_ventricle_only: bool = False
    #: weight of the soft-Dice terms beside cross-entropy (0: cross-entropy alone). Soft Dice
    #: can over-segment small, uncertain structures (a volume bias: Bertels et al., Med Image
    #: Anal 2021;67, arXiv:2211.04161), such as the end-systolic cavity.
    dice_weight: float = 1.0
    #: fine-tune: start from the EMA weights of this checkpoint (same architecture, or the
    #: 2-D version of a 2.5-D one: see :func:`inflate_input_channels`)
    init_from: str | None = None
    checkpoint_every: int = 250
    ema_decay: float = 0.999
    threads: int = 2
    augmentation: dict = field(
        default_factory=lambda: {
            "rotation_deg": [-180, 180],
            "flip_x": 0.5,
            "flip_y": 0.5,
            "scale": [0.70, 1.40],
            "anisotropic_scale": [0.9, 1.1],
            "centre_jitter_fraction_of_fov": 0.25,
            "random_centre_probability": 0.1,
            "gamma": [0.6, 1.7],
            "contrast": [0.75, 1.3],
            "brightness": [-0.1, 0.1],
            "bias_field_strength": 0.35,
            "noise_sd": [0.0, 0.06],
            "blur_probability": 0.2,
            "low_resolution_probability": 0.2,
            "reverse_slice_order": 0.5,
        }
    )


def build_network(channels=(32, 64, 128, 256, 384), num_res_units=2, context=0):
    from monai.networks.nets import UNet

    return UNet(
        spatial_dims=2,
        in_channels=1 + 2 * context,
        out_channels=4,
        channels=tuple(channels),
        strides=(2,) * (len(channels) - 1),
        num_res_units=num_res_units,
        norm="batch",
    )


def _pad_stack(slices, size=256, context=0):
    """Centre-pad (or crop) every slice to size×size: images (n, 1 + 2·context, size, size)
    with channels (previous…, slice, next…) and labels (n, size, size)."""
    n = len(slices)
    img = np.zeros((n, 1 + 2 * context, size, size), np.float32)
    lab = np.zeros((n, size, size), np.uint8)
    for i, s in enumerate(slices):
        planes = [s.image]
        if context:
            prev, nxt = s.neighbours if s.neighbours is not None else (np.zeros_like(s.image),) * 2
            planes = [prev, s.image, nxt]
        stack = np.stack(planes)
        h, w = s.image.shape
        lb = s.label
        if h > size or w > size:  # centre-crop oversize images
            t, l = max(0, (h - size) // 2), max(0, (w - size) // 2)
            stack, lb = stack[:, t : t + size, l : l + size], lb[t : t + size, l : l + size]
        h, w = lb.shape
        t, l = (size - h) // 2, (size - w) // 2
        img[i, :, t : t + h, l : l + w] = stack
        lab[i, t : t + h, l : l + w] = lb
    return img, lab


class _Sampler:
    """Draws augmented batches from in-memory 256×256 slices."""

    def __init__(self, img, lab, lv_only, cfg: TrainConfig, edge=None, synthetic=None, end_systole=None):
        import torch

        self.img = torch.from_numpy(img)
        self.lab = torch.from_numpy(lab)[:, None].float()
        self.lv_only = torch.from_numpy(lv_only)
        self.cfg = cfg
        n, size = img.shape[0], img.shape[-1]
        self.size = size
        # heart centre of each slice in normalised [-1, 1] coordinates (x, y)
        centres = np.zeros((n, 2), np.float32)
        for i in range(n):
            ys, xs = np.nonzero(lab[i])
            if len(ys):
                centres[i] = [(xs.mean() + 0.5) / size * 2 - 1, (ys.mean() + 0.5) / size * 2 - 1]
        self.centres = torch.from_numpy(centres)
        self.full_idx = torch.nonzero(~self.lv_only).flatten()
        self.sb_idx = torch.nonzero(self.lv_only).flatten()
        edge_t = torch.zeros(n, dtype=torch.bool) if edge is None else torch.from_numpy(np.asarray(edge, bool))
        self.full_weight = torch.where(edge_t[self.full_idx], float(cfg.edge_weight), 1.0)
        es_t = torch.zeros(n, dtype=torch.bool) if end_systole is None else torch.from_numpy(np.asarray(end_systole, bool))
        if cfg.es_weight != 1.0:
            self.full_weight = self.full_weight * torch.where(es_t[self.full_idx], float(cfg.es_weight), 1.0)
        self.weighted = cfg.edge_weight != 1.0 or cfg.es_weight != 1.0
        if not 0.0 <= cfg.phantom_fraction < 1.0:
            raise InvalidInputError(f"phantom_fraction={cfg.phantom_fraction}: expected 0 <= fraction < 1")
        if synthetic is not None and np.any(synthetic) and cfg.phantom_fraction > 0:
            syn = torch.from_numpy(np.asarray(synthetic, bool))[self.full_idx]
            real_total = float(self.full_weight[~syn].sum())
            # synthetic slices share phantom_fraction of the fully labelled draws, their
            # end-systolic ones weighted by phantom_es_weight within that share
            es_syn = es_t[self.full_idx]
            if cfg.phantom_es_ventricle_only or cfg.phantom_ventricle_only:  # scans every label map: only when asked
                has_lv = (self.lab[self.full_idx] == LV_CAVITY).flatten(1).any(1)
            if cfg.phantom_es_ventricle_only:
                es_syn = es_syn & has_lv
            syn_w = torch.where(es_syn, float(cfg.phantom_es_weight), 1.0) * syn
            if cfg.phantom_ventricle_only:
                syn_w = syn_w * has_lv
            if float(syn_w.sum()) == 0.0:
                raise InvalidInputError(
                    f"phantom_ventricle_only=True: none of the {int(syn.sum())} phantom slices holds LV cavity "
                    f"(label {LV_CAVITY}); expected phantom stacks through the ventricles")
            per_syn = cfg.phantom_fraction / (1 - cfg.phantom_fraction) * real_total / float(syn_w.sum())
            self.full_weight = torch.where(syn, per_syn * syn_w, self.full_weight)
            self.weighted = True

    def batch(self, gen):
        import torch
        import torch.nn.functional as F

        cfg, aug = self.cfg, self.cfg.augmentation
        B = cfg.batch_size

        def U(lo, hi, *shape):
            return lo + (hi - lo) * torch.rand(*(shape or (B,)), generator=gen)

        n_sb = int(round(B * cfg.sunnybrook_fraction)) if len(self.sb_idx) else 0
        if not self.weighted:
            ia = self.full_idx[torch.randint(len(self.full_idx), (B - n_sb,), generator=gen)]
        else:
            ia = self.full_idx[torch.multinomial(self.full_weight, B - n_sb, replacement=True, generator=gen)]
        isb = self.sb_idx[torch.randint(len(self.sb_idx), (n_sb,), generator=gen)] if n_sb else ia[:0]
        idx = torch.cat([ia, isb])
        img, lab, lv_only = self.img[idx], self.lab[idx], self.lv_only[idx]

        # geometry: output pixel (crop grid) → input normalised coordinates
        ang = U(*aug["rotation_deg"]) * math.pi / 180
        scale = torch.exp(U(math.log(aug["scale"][0]), math.log(aug["scale"][1])))
        aniso = U(*aug["anisotropic_scale"])
        sx = (cfg.crop / self.size) / (scale * aniso)
        sy = (cfg.crop / self.size) / (scale / aniso)
        fx = torch.where(torch.rand(B, generator=gen) < aug["flip_x"], -1.0, 1.0)
        fy = torch.where(torch.rand(B, generator=gen) < aug["flip_y"], -1.0, 1.0)
        cos, sin = torch.cos(ang), torch.sin(ang)
        theta = torch.zeros(B, 2, 3)
        theta[:, 0, 0] = cos * sx * fx
        theta[:, 0, 1] = -sin * sy * fy
        theta[:, 1, 0] = sin * sx * fx
        theta[:, 1, 1] = cos * sy * fy
        jitter = aug["centre_jitter_fraction_of_fov"] * 2
        centre = self.centres[idx] + U(-jitter, jitter, B, 2) * (cfg.crop / self.size)
        rand_c = torch.rand(B, generator=gen) < aug["random_centre_probability"]
        centre[rand_c] = U(-0.6, 0.6, B, 2)[rand_c]
        theta[:, :, 2] = centre
        grid = F.affine_grid(theta, (B, 1, cfg.crop, cfg.crop), align_corners=False)
        x = F.grid_sample(img, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        if x.shape[1] > 1:  # 2.5-D: the stack may run base→apex or apex→base
            rev = torch.rand(B, generator=gen) < aug["reverse_slice_order"]
            x[rev] = x[rev].flip(1)
        y = F.grid_sample(lab, grid, mode="nearest", padding_mode="zeros", align_corners=False)[:, 0].long()

        # intensity
        x = x.clamp(0, 1) ** U(*aug["gamma"]).view(B, 1, 1, 1)
        low = torch.rand(B, 1, 4, 4, generator=gen) * 2 - 1
        bias = F.interpolate(low, size=(cfg.crop, cfg.crop), mode="bicubic", align_corners=False)
        x = x * torch.exp(aug["bias_field_strength"] * bias)
        x = x * U(*aug["contrast"]).view(B, 1, 1, 1) + U(*aug["brightness"]).view(B, 1, 1, 1)
        blur = torch.rand(B, generator=gen) < aug["blur_probability"]
        if blur.any():
            k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16
            kk = (k[:, None] * k[None, :]).view(1, 1, 5, 5)
            xb = x[blur]
            x[blur] = F.conv2d(xb.reshape(-1, 1, *xb.shape[2:]), kk, padding=2).reshape(xb.shape)
        lowres = torch.rand(B, generator=gen) < aug["low_resolution_probability"]
        if lowres.any():
            f = float(U(1.3, 2.0, 1))
            small = F.interpolate(x[lowres], scale_factor=1 / f, mode="bilinear", align_corners=False)
            x[lowres] = F.interpolate(small, size=(cfg.crop, cfg.crop), mode="bilinear", align_corners=False)
        x = x + torch.randn(x.shape, generator=gen) * U(*aug["noise_sd"]).view(B, 1, 1, 1)
        return x.float(), y, lv_only


def _loss(logits, y, lv_only, dice_loss, dice_weight: float = 1.0):
    import torch
    import torch.nn.functional as F

    total = logits.new_zeros(())
    full = ~lv_only
    if full.any():
        total = total + F.cross_entropy(logits[full], y[full])
        if dice_weight:
            total = total + dice_weight * dice_loss(logits[full], y[full][:, None])
    if lv_only.any():
        p = torch.softmax(logits[lv_only], 1)[:, LV_CAVITY].clamp(1e-6, 1 - 1e-6)
        t = (y[lv_only] == LV_CAVITY).float()
        bce = F.binary_cross_entropy(p, t)
        inter = (p * t).sum()
        dice = 1 - (2 * inter + 1) / (p.sum() + t.sum() + 1)
        total = total + 0.5 * (bce + dice_weight * dice)
    return total


def export_onnx(model, path: Path) -> None:
    """Export a trained network to ONNX with dynamic batch, height and width."""
    import torch

    model = copy.deepcopy(model).eval()
    in_ch = next(model.parameters()).shape[1]
    dummy = torch.zeros(1, in_ch, 160, 160)
    tmp = Path(str(path) + ".tmp")
    torch.onnx.export(
        model,
        dummy,
        str(tmp),
        input_names=["image"],
        output_names=["logits"],
        dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"}, "logits": {0: "batch", 2: "height", 3: "width"}},
        opset_version=17,
        dynamo=False,
    )
    store_weights_half(tmp)
    tmp.replace(path)


#: Weights beyond this magnitude stay float32 (float16 overflows at 65,504).
_HALF_MAX = 6.0e4


def store_weights_half(path: Path) -> int:
    """Store an ONNX model's float32 weight tensors as float16, each followed by a Cast back
    to float32; returns the number of tensors converted.

    The file halves (about 10 MB for the 5-M-parameter network); onnxruntime folds the
    casts when it loads the model, so inference still runs in float32 at the same speed.
    The rounding moves logits by about 1e-2 at most (relative precision 2^-11), and the
    model card's validation numbers are measured on the stored file. Tensors of fewer
    than 17 values (shapes, scalars) and any with a value beyond float16's range are kept.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    casts, converted = [], 0
    for init in list(graph.initializer):
        arr = numpy_helper.to_array(init)
        if arr.dtype != np.float32 or arr.size <= 16 or not np.all(np.abs(arr) < _HALF_MAX):
            continue
        half_name = f"{init.name}__float16"
        graph.initializer.remove(init)
        graph.initializer.append(numpy_helper.from_array(arr.astype(np.float16), half_name))
        casts.append(helper.make_node("Cast", [half_name], [init.name], to=TensorProto.FLOAT, name=f"{init.name}__cast"))
        converted += 1
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return converted


def inflate_input_channels(source: dict, target: dict) -> dict:
    """Weights of a 2-D (1-channel) network made to fit a 2.5-D (1 + 2·context channel) one.

    Tensors whose shapes differ only in the input-channel axis (the first convolution and
    its residual projection) get the 2-D kernel on the centre channel and zeros on the
    neighbour channels, so the 2.5-D network starts out computing exactly what the 2-D one
    did and fine-tuning can only add what the neighbours contribute. Other tensors are
    copied; any other mismatch is an error.
    """
    out = {}
    for name, t in target.items():
        if name not in source:
            raise ValueError(f"cannot initialise {name}: not in the source weights (another architecture?)")
        s = source[name]
        if s.shape == t.shape:
            out[name] = s
        elif s.ndim == t.ndim and s.ndim >= 2 and s.shape[0] == t.shape[0] and s.shape[2:] == t.shape[2:] \
                and s.shape[1] == 1 and t.shape[1] % 2 == 1:
            w = t.new_zeros(t.shape)
            w[:, t.shape[1] // 2] = s[:, 0]
            out[name] = w
        else:
            raise ValueError(f"cannot initialise {name}: shape {tuple(s.shape)} vs {tuple(t.shape)}")
    return out


def train(cfg: TrainConfig, log=print, *, stop_at: int | None = None) -> Path | None:
    """Train (or resume) and export ``sax_unet.onnx`` + ``sax_unet.card.json`` into ``cfg.out_dir``.

    ``stop_at`` ends this call after that iteration with a checkpoint and no export (as an
    interruption would); calling again resumes. Returns the ONNX path, or None if stopped.
    """
    import torch
    from monai.losses import DiceLoss

    from heartprint.segmentation import _datasets as D
    from heartprint.segmentation._evaluate import misregistered_references

    torch.set_num_threads(cfg.threads)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "checkpoint.pt"

    slices = D.load_acdc_train_slices(Path(cfg.acdc_dir))
    acdc_patients = sorted({s.source for s in slices})
    sb_train: list[str] = []
    sb_test: list[str] = []
    if cfg.sunnybrook_dir:
        sb_train, sb_test = D.sunnybrook_split(Path(cfg.sunnybrook_dir))
        sb_slices = D.load_sunnybrook(Path(cfg.sunnybrook_dir), sb_train)
        bad = misregistered_references(sb_slices)  # reference QC, as in evaluation
        if bad:
            log(f"Sunnybrook references displaced from their images, not trained on: {bad}")
            sb_train = [p for p in sb_train if p not in bad]
            sb_slices = [s for s in sb_slices if s.source not in bad]
        slices += sb_slices
    if cfg.phantom_stacks:
        slices += D.phantom_slices(cfg.phantom_stacks, cfg.seed, detail=cfg.phantom_detail)
    img, lab = _pad_stack(slices, context=cfg.context)
    lv_only = np.array([s.lv_only for s in slices])
    synthetic = np.array([s.synthetic for s in slices])
    sampler = _Sampler(img, lab, lv_only, cfg, edge=np.array([s.edge for s in slices]), synthetic=synthetic,
                       end_systole=np.array([s.end_systole for s in slices]))
    log(f"data: {int((~lv_only & ~synthetic).sum())} ACDC slices from {len(acdc_patients)} patients, "
        f"{int(lv_only.sum())} Sunnybrook slices from {len(sb_train)} patients, "
        f"{int(synthetic.sum())} phantom slices from {cfg.phantom_stacks} stacks")

    torch.manual_seed(cfg.seed)
    model = build_network(cfg.channels, cfg.num_res_units, cfg.context)
    ema = copy.deepcopy(model)
    for p in ema.parameters():
        p.requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    start, history = 0, []
    if cfg.init_from and not ckpt_path.exists():
        init = torch.load(cfg.init_from, weights_only=False)
        state = inflate_input_channels(init["ema"], model.state_dict())
        model.load_state_dict(state)
        ema.load_state_dict(state)
        log(f"initialised from the EMA weights of {cfg.init_from} (iteration {init['iteration']})")
    if ckpt_path.exists():
        ck = torch.load(ckpt_path, weights_only=False)
        model.load_state_dict(ck["model"])
        ema.load_state_dict(ck["ema"])
        opt.load_state_dict(ck["opt"])
        start, history = ck["iteration"], ck["history"]
        log(f"resumed from {ckpt_path} at iteration {start}")

    dice_loss = DiceLoss(include_background=False, to_onehot_y=True, softmax=True, batch=True)
    warmup = 200
    t0, running = time.time(), []
    end = cfg.iterations if stop_at is None else min(stop_at, cfg.iterations)
    for it in range(start, end):
        lr = cfg.lr * min(1.0, (it + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * it / cfg.iterations))
        for g in opt.param_groups:
            g["lr"] = lr
        gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + it)
        x, y, lv = sampler.batch(gen)
        model.train()
        loss = _loss(model(x), y, lv, dice_loss, cfg.dice_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            d = min(cfg.ema_decay, (1 + it) / (10 + it))
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(d).add_(pm.detach(), alpha=1 - d)
            for be, bm in zip(ema.buffers(), model.buffers()):
                be.copy_(bm)
        running.append(float(loss.detach()))
        if (it + 1) % 50 == 0:
            rate = (time.time() - t0) / len(running)
            history.append({"iteration": it + 1, "loss": float(np.mean(running[-50:])), "lr": lr})
            log(f"it {it + 1}/{cfg.iterations} loss {np.mean(running[-50:]):.4f} lr {lr:.2e} {rate:.2f}s/it")
        if (it + 1) % cfg.checkpoint_every == 0 or it + 1 == end:
            tmp = out / "checkpoint.pt.tmp"
            torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                        "iteration": it + 1, "history": history, "config": asdict(cfg)}, tmp)
            tmp.replace(ckpt_path)

    if end < cfg.iterations:
        log(f"stopped at iteration {end} of {cfg.iterations}; run again to resume")
        return None
    onnx_path = out / "sax_unet.onnx"
    export_onnx(ema, onnx_path)
    card = {
        "name": "heartprint-sax-unet",
        "task": "2-D short-axis cine CMR segmentation: 0 background, 1 LV cavity, 2 LV myocardium, 3 RV cavity",
        "architecture": f"MONAI UNet 2-D, channels {list(cfg.channels)}, residual units {cfg.num_res_units}, batch norm",
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "context": cfg.context,
        "input": f"{1 + 2 * cfg.context} channel(s) (the slice and {cfg.context} neighbour(s) on each side along the stack, zeros beyond its ends); slices resampled to 1.5 mm in-plane; intensities mapped to [0,1] between the stack's 0.5th and 99.5th percentiles; height and width multiples of 16",
        "config": asdict(cfg),
        "training_data": {
            "ACDC": {
                "citation": "Bernard O et al. Deep learning techniques for automatic MRI cardiac multi-structures segmentation and diagnosis: is the problem solved? IEEE TMI 2018;37:2514-2525. doi:10.1109/TMI.2018.2837502",
                "terms": "research use with citation; treated as CC BY-NC-SA 4.0 (non-commercial). Images are not redistributed; these weights are derived from them.",
                "patients": acdc_patients,
                "slices": int((~lv_only & ~synthetic).sum()),
            },
            "Sunnybrook": {
                "citation": "Radau P et al. Evaluation framework for algorithms segmenting short axis cardiac MRI. The MIDAS Journal 2009.",
                "terms": "CC0 1.0 (public domain)",
                "patients_used_for_training_lv_only": sb_train,
                "patients_held_out": sb_test,
                "slices": int(lv_only.sum()),
            },
            **({"heartprint phantoms": {
                "description": "synthetic beating-heart cine phantoms (heartprint.phantoms.make_cine_sax), "
                               "ED and ES, exact labels, parameters drawn from the ranges below with the run's seed",
                "stacks": cfg.phantom_stacks,
                "slices": int(synthetic.sum()),
                "ranges": D.PHANTOM_RANGES,
                **({"detail_ranges": D.PHANTOM_DETAIL_RANGES} if cfg.phantom_detail else {}),
                "batch_fraction": cfg.phantom_fraction,
            }} if cfg.phantom_stacks else {}),
        },
        "history": history[-20:],
        "intended_use": "research and clinical decision support only; not a diagnosis",
    }
    (out / "sax_unet.card.json").write_text(json.dumps(card, indent=2))
    log(f"exported {onnx_path}")
    return onnx_path


def export_checkpoint(checkpoint: Path, onnx_path: Path) -> int:
    """Export the EMA weights of a training checkpoint to ONNX; returns its iteration."""
    import torch

    ck = torch.load(checkpoint, weights_only=False)
    cfg = ck["config"]
    model = build_network(cfg["channels"], cfg["num_res_units"], cfg.get("context", 0))
    model.load_state_dict(ck["ema"])
    export_onnx(model, Path(onnx_path))
    return int(ck["iteration"])


#: File names of ensemble members beside the main model: sax_unet_m2.onnx, sax_unet_m3.onnx…
_MEMBER_STEM = "sax_unet_m"


def _member_name(k: int) -> str:
    return f"{_MEMBER_STEM}{k}.onnx"


def _attach_members(run_dir: Path, card: dict, members: list[Path]) -> list[str]:
    """Copy the models of other runs beside this run's model as ensemble members
    (``sax_unet_m2.onnx``…, each with its card and checksum) and list them in ``card``.

    Members must hold out the same Sunnybrook patients (else the held-out evaluation
    would score patients a member trained on)."""
    import shutil

    from heartprint.segmentation._infer import SAX_CARD, SAX_MODEL, card_path_for, file_sha256

    held_out = card.get("training_data", {}).get("Sunnybrook", {}).get("patients_held_out")
    names = []
    for k, member_dir in enumerate(members, start=2):
        member_dir = Path(member_dir)
        src_model, src_card = member_dir / SAX_MODEL, member_dir / SAX_CARD
        if not src_model.is_file() or not src_card.is_file():
            raise InvalidInputError(f"ensemble member {member_dir}: expected {SAX_MODEL} and {SAX_CARD} there (a finished run)")
        member_card = json.loads(src_card.read_text())
        member_held_out = member_card.get("training_data", {}).get("Sunnybrook", {}).get("patients_held_out")
        if member_held_out != held_out:
            raise InvalidInputError(
                f"ensemble member {member_dir}: Sunnybrook patients held out {member_held_out}, expected {held_out} "
                "(the same split as the main model)"
            )
        name = _member_name(k)
        shutil.copyfile(src_model, run_dir / name)
        member_card.pop("validation", None)
        member_card.update(sha256=file_sha256(run_dir / name), size_bytes=(run_dir / name).stat().st_size,
                           ensemble_member_of=SAX_MODEL, source_run=member_dir.name)
        card_path_for(run_dir / name).write_text(json.dumps(member_card, indent=2))
        names.append(name)
    if names:
        card["ensemble"] = names
    else:
        card.pop("ensemble", None)
    return names


def finalize(run_dir: Path, *, acdc_val: str | None, sunnybrook_dir: str | None, install: bool = False,
             members: list[Path] = ()) -> dict:
    """Checksum the exported model, evaluate it on held-out data and complete its card.

    ``members``: run folders of further models averaged with this one (an ensemble:
    copied beside it, see :func:`_attach_members`); the evaluation is of the ensemble.
    Evaluation: ACDC validation stacks (3-D Dice, LVEF/RVEF error) and the Sunnybrook
    patients the card lists as held out. With ``install`` the model, its members and their
    cards are copied into the package (``heartprint/segmentation/weights``).
    """
    import shutil

    from heartprint.segmentation._evaluate import evaluate_acdc, evaluate_sunnybrook
    from heartprint.segmentation._infer import SAX_CARD, SAX_MODEL, card_path_for, file_sha256, weights_dir

    run_dir = Path(run_dir)
    model = run_dir / SAX_MODEL
    card_path = run_dir / SAX_CARD
    card = json.loads(card_path.read_text())
    card["sha256"] = file_sha256(model)
    card["size_bytes"] = model.stat().st_size
    member_names = _attach_members(run_dir, card, list(members))
    card_path.write_text(json.dumps(card, indent=2))  # the card must match before evaluation loads it
    validation: dict = {}
    if acdc_val:
        acdc = evaluate_acdc(Path(acdc_val), model_path=model)
        validation["acdc_val"] = acdc
        validation["summary"] = {f"acdc_{k}": v for k, v in acdc["summary"].items()}
    held_out = card.get("training_data", {}).get("Sunnybrook", {}).get("patients_held_out") or []
    if sunnybrook_dir and held_out:
        sb = evaluate_sunnybrook(Path(sunnybrook_dir), held_out, model_path=model)
        validation["sunnybrook_held_out"] = sb
        validation.setdefault("summary", {}).update({f"sunnybrook_{k}": v for k, v in sb["summary"].items()})
    validation["method"] = (
        "ACDC validation patients (never trained on): whole ED and ES stacks segmented at a nominal "
        "1.5 mm in-plane with flip test-time augmentation; 3-D Dice per structure; EF from voxel counts "
        "of predicted vs reference labels. Sunnybrook: LV cavity Dice pooled over each held-out patient's slices."
    )
    card["validation"] = validation
    card_path.write_text(json.dumps(card, indent=2))
    if install:
        dest = weights_dir()
        dest.mkdir(parents=True, exist_ok=True)
        for stale in dest.glob(f"{_MEMBER_STEM}*"):
            stale.unlink()  # a previously installed ensemble's members and their cards
        for name in member_names:
            shutil.copyfile(run_dir / name, dest / name)
            shutil.copyfile(card_path_for(run_dir / name), card_path_for(dest / name))
        shutil.copyfile(model, dest / SAX_MODEL)
        shutil.copyfile(card_path, dest / SAX_CARD)
    return card

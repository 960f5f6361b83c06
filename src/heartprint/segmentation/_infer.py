"""Inference of the shipped short-axis network with onnxruntime (no torch needed)."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Sequence

import numpy as np

from heartprint.errors import InvalidInputError, ModelError
from heartprint.image import Image, check_spacing
from heartprint.segmentation._preprocess import (
    TARGET_SPACING_MM,
    fill_cavity_holes,
    keep_largest_components,
    normalise_intensity,
    pad_to_multiple,
)

#: Shipped model file names inside ``heartprint/segmentation/weights``.
SAX_MODEL = "sax_unet.onnx"
SAX_CARD = "sax_unet.card.json"

_BATCH = 16


def card_path_for(model_path: Path) -> Path:
    """The model card beside an ONNX file: ``name.onnx`` → ``name.card.json``."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.name.replace(".onnx", ".card.json"))


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@dataclass(frozen=True)
class ShippedModel:
    """An ONNX model file and its model card (the card records the file's SHA-256)."""

    path: Path
    card: dict

    @property
    def sha256(self) -> str:
        return file_sha256(self.path)


def weights_dir() -> Path:
    return Path(str(resources.files("heartprint.segmentation") / "weights"))


def load_model_card(model_path: Path | None = None) -> ShippedModel:
    """Locate the shipped model and its card; check the file against the card's checksum.

    The check (hashing a ~10 MB file) runs once per file version: results are cached by
    path, size and modification time of the model and its card, so a changed file is
    checked again.
    """
    path = Path(model_path) if model_path else weights_dir() / SAX_MODEL
    card_path = card_path_for(path)
    if not path.is_file():
        raise ModelError(f"{path}: model file not found (expected the shipped {SAX_MODEL})")
    if not card_path.is_file():
        raise ModelError(f"{card_path}: model card not found beside {path.name}")
    m, c = path.stat(), card_path.stat()
    return _checked_model(str(path), m.st_size, m.st_mtime_ns, c.st_size, c.st_mtime_ns)


@lru_cache(maxsize=16)
def _checked_model(path_str: str, *file_version: int) -> ShippedModel:
    path = Path(path_str)
    card_path = card_path_for(path)
    try:
        card = json.loads(card_path.read_text())
    except json.JSONDecodeError as exc:
        raise ModelError(f"{card_path}: model card is not valid JSON ({exc})") from exc
    model = ShippedModel(path, card)
    expected = card.get("sha256")
    if expected and model.sha256 != expected:
        raise ModelError(f"{path}: SHA-256 {model.sha256[:12]}… does not match the model card's {expected[:12]}…")
    return model


@lru_cache(maxsize=4)
def _session(path: str, threads: int, *file_version: int):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        return ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf types
        raise ModelError(f"{path}: onnxruntime could not load the model ({exc})") from exc


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def inference_threads() -> int:
    """Threads for one inference session: ``HEARTPRINT_THREADS`` if set (e.g. 1 per worker when
    several processes share the machine), else every core."""
    raw = os.environ.get("HEARTPRINT_THREADS", "").strip()
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            raise ModelError(f"HEARTPRINT_THREADS={raw!r}: expected a positive whole number of threads")
        return int(raw)
    return max(1, os.cpu_count() or 1)


def predict_probabilities(slices: np.ndarray, *, model_path: Path | None = None, tta: bool = True,
                          threads: int | None = None, passes_out: list[np.ndarray] | None = None) -> np.ndarray:
    """Class probabilities ``(n, 4, y, x)`` for normalised slices at 1.5 mm.

    ``slices`` is ``(n, y, x)``, or ``(n, c, y, x)`` with the neighbouring slices as channels
    for a 2.5-D model (see :func:`with_context`). With ``tta`` the prediction is averaged
    with those of the x- and y-flipped slices. ``threads``: see :func:`inference_threads`.
    ``passes_out``: a list that receives, for each pass (unflipped, x-flipped, y-flipped),
    its own arg-max labels ``uint8 (n, y, x)`` — the material of the agreement QC
    (:func:`heartprint.cmr._qc.check_agreement`).
    """
    model = load_model_card(model_path)
    st = model.path.stat()
    sess = _session(str(model.path), threads or inference_threads(), st.st_size, st.st_mtime_ns)
    arr = np.asarray(slices, np.float32)
    channels = 1 + 2 * int(model.card.get("context", 0))
    got = 1 if arr.ndim == 3 else (arr.shape[1] if arr.ndim == 4 else None)
    if got != channels:
        expected = "(n, y, x) or (n, 1, y, x)" if channels == 1 else f"(n, {channels}, y, x): each slice with its neighbours (see with_context)"
        raise InvalidInputError(f"slices of shape {arr.shape} for {model.path.name}: expected {expected}")
    x, crop = pad_to_multiple(arr[:, None] if arr.ndim == 3 else arr)
    flips = [(), (3,), (2,)] if tta else [()]
    probs = np.zeros((x.shape[0], 4) + x.shape[2:], np.float32)
    passes = [np.zeros((x.shape[0],) + x.shape[2:], np.uint8) for _ in flips] if passes_out is not None else None
    for start in range(0, x.shape[0], _BATCH):
        xb = x[start : start + _BATCH]
        for k, axes in enumerate(flips):
            xi = np.flip(xb, axes) if axes else xb
            p = _softmax(sess.run(None, {"image": np.ascontiguousarray(xi)})[0])
            p = np.flip(p, axes) if axes else p
            probs[start : start + _BATCH] += p
            if passes is not None:
                passes[k][start : start + _BATCH] = np.argmax(p, axis=1)
    probs /= len(flips)
    if passes is not None:
        passes_out.extend(np.ascontiguousarray(q[:, crop[0], crop[1]]) for q in passes)
    return probs[:, :, crop[0], crop[1]]


#: Margin (mm) kept round the heart found by the first pass.
ROI_MARGIN_MM = 30.0
#: Smallest side (pixels at 1.5 mm) of the box the network runs in when the card gives no
#: training crop: the network must see at least the field of view it was trained on.
DEFAULT_TRAINING_CROP_PX = 144


def _heart_box(first_phase: np.ndarray, *, model: ShippedModel) -> tuple[slice, slice] | None:
    """In-plane bounding box (pixels at 1.5 mm) of the heart in one phase, found by a quick
    pass without test-time augmentation, with :data:`ROI_MARGIN_MM` on every side and no
    side shorter than the network's training crop (where the image allows).

    The network is not blind to what lies beyond the heart: in a tight box, zero padding
    next to the wall moves its epicardium (a phantom's myocardium: -7 % in a box with 30 mm
    margins, -2 % with the whole field of view), so the box is never smaller than the
    crops it learnt from."""
    p = predict_probabilities(first_phase, model_path=model.path, tta=False)
    heart = np.argmax(p, axis=1) > 0
    if heart.sum() < 50:
        return None
    ys, xs = np.nonzero(heart.any(axis=0))
    m = int(round(ROI_MARGIN_MM / TARGET_SPACING_MM))
    side = int(model.card.get("config", {}).get("crop", DEFAULT_TRAINING_CROP_PX))
    h, w = heart.shape[-2:]

    def span(lo: int, hi: int, n: int) -> slice:
        lo, hi = lo - m, hi + 1 + m
        grow = max(0, side - (hi - lo))
        lo, hi = lo - grow // 2, hi + grow - grow // 2
        shift = max(0, -lo) - max(0, hi - n)  # slide back inside the image
        return slice(max(0, lo + shift), min(n, hi + shift))

    return span(ys.min(), ys.max(), h), span(xs.min(), xs.max(), w)


def ensemble_members(model_path: Path | None = None) -> list[ShippedModel]:
    """The model and the further members its card lists under ``"ensemble"`` (file names
    beside it); each member is checked against its own card."""
    first = load_model_card(model_path)
    members = [first]
    for name in first.card.get("ensemble", []):
        members.append(load_model_card(first.path.with_name(name)))
    return members


def _predict_in_heart_box(
    phases_1p5: list[np.ndarray], *, members: list[ShippedModel], tta: bool,
    passes_out: list[np.ndarray] | None = None,
) -> np.ndarray:
    """Probabilities ``(n, 4, y, x)`` for all slices of all phases (each ``(z, y, x)`` at 1.5 mm),
    averaged over the ensemble members, each given its own input (2-D or 2.5-D).

    The network runs only inside the heart's box found by a quick pass of the first member
    on the first phase (outside it, background has probability 1); it falls back to the
    whole field of view when no heart is found, when the box would not save work, or for a
    single phase. ``passes_out`` receives each member's and each augmentation's own arg-max
    labels ``(n, y', x')`` inside the heart's box (see :func:`predict_probabilities`)."""
    def inputs(member: ShippedModel) -> np.ndarray:
        ctx = int(member.card.get("context", 0))
        return np.concatenate([with_context(ph, ctx) for ph in phases_1p5])

    h, w = phases_1p5[0].shape[-2:]
    box = None
    if len(phases_1p5) > 1:
        first = members[0]
        box = _heart_box(with_context(phases_1p5[0], int(first.card.get("context", 0))), model=first)
        if box is not None and (box[0].stop - box[0].start) * (box[1].stop - box[1].start) > 0.7 * h * w:
            box = None
    total = None
    for member in members:
        x = inputs(member)
        own: list[np.ndarray] | None = [] if passes_out is not None else None
        if box is None:
            p = predict_probabilities(x, model_path=member.path, tta=tta, passes_out=own)
        else:
            inner = predict_probabilities(x[..., box[0], box[1]], model_path=member.path, tta=tta, passes_out=own)
            p = np.zeros((x.shape[0], inner.shape[1], h, w), np.float32)
            p[:, 0] = 1.0
            p[:, :, box[0], box[1]] = inner
        if passes_out is not None:
            passes_out.extend(own or [])
        total = p if total is None else total + p
    return total / len(members)


def with_context(stack: np.ndarray, context: int) -> np.ndarray:
    """``(z, y, x)`` stack → ``(z, 1 + 2·context, y, x)``: each slice with its neighbours
    along the stack as channels (previous…, slice, next…), zeros beyond the ends."""
    if context == 0:
        return stack[:, None]
    z = stack.shape[0]
    padded = np.concatenate([np.zeros((context,) + stack.shape[1:], stack.dtype), stack,
                             np.zeros((context,) + stack.shape[1:], stack.dtype)])
    return np.stack([padded[k : k + z] for k in range(2 * context + 1)], axis=1)


def _as_image(volume, spacing) -> Image:
    if isinstance(volume, Image):
        if volume.is_cine:
            raise InvalidInputError(
                f"segment_short_axis takes one phase (z, y, x); got a cine of shape {volume.array.shape} — use segment_cine"
            )
        return volume
    arr = np.asarray(volume, dtype=np.float32)
    if arr.ndim != 3:
        raise InvalidInputError(f"volume shape {arr.shape}: expected (z, y, x)")
    if spacing is None:
        raise InvalidInputError("spacing=None: give (dz, dy, dx) in mm; heartprint never assumes 1 mm")
    return Image.from_array(arr, check_spacing(spacing))


def segment_short_axis(
    volume: np.ndarray | Image,
    spacing: Sequence[float] | None = None,
    *,
    tta: bool = True,
    model_path: Path | None = None,
) -> np.ndarray:
    """Segment one short-axis stack into heartprint labels.

    Parameters
    ----------
    volume
        ``(z, y, x)`` float array of one cardiac phase, or a 3-D :class:`heartprint.Image`.
    spacing
        ``(dz, dy, dx)`` in mm (required for an array; taken from the image otherwise).
    tta
        Average predictions over x/y flips (test-time augmentation).

    Returns
    -------
    numpy.ndarray
        ``uint8 (z, y, x)`` on the input grid: 0 background, 1 LV cavity, 2 LV myocardium,
        3 RV cavity. Slices are resampled to 1.5 mm in-plane and normalised inside; the
        class probabilities are resampled back (linear) before the arg-max, then each
        structure keeps its largest 3-D connected component and holes in the LV cavity are
        filled.
    """
    img = _as_image(volume, spacing)
    return _segment_phases([img], tta=tta, model_path=model_path)[0]


@dataclass(frozen=True)
class SegmentationPasses:
    """Each inference pass's own labels of a cine (every ensemble member × every test-time
    augmentation), the material of the agreement QC.

    ``raw`` is the arg-max ``uint8 (k, t, z, y, x)`` of each pass on the network's working grid
    (the input slices resampled to ``spacing`` = ``(dz, 1.5, 1.5)`` mm, inside the heart's box);
    :meth:`phases` post-processes the phases asked for as the final labels are."""

    raw: np.ndarray
    spacing: tuple[float, float, float]
    names: tuple[str, ...]

    @property
    def voxel_ml(self) -> float:
        return float(np.prod(self.spacing)) / 1000.0

    def phases(self, k: int, phases: Sequence[int]) -> np.ndarray:
        """Pass ``k``'s labels of ``phases`` ``(len(phases), z, y, x)``, each phase post-processed
        as the final labels are (largest 3-D component per structure, LV cavity holes filled)."""
        return np.stack([fill_cavity_holes(keep_largest_components(self.raw[k, t])) for t in phases])


def segment_cine(image: Image, *, tta: bool = True, model_path: Path | None = None,
                 return_passes: bool = False) -> np.ndarray | tuple[np.ndarray, SegmentationPasses | None]:
    """Segment every phase of a cine short-axis :class:`Image`; returns ``uint8 (t, z, y, x)``.

    With ``return_passes`` it returns ``(labels, passes)``: ``passes`` is a
    :class:`SegmentationPasses` holding every pass's own labels, or ``None`` when there is a
    single pass (no augmentation, one member) and so nothing to compare."""
    phases = [image.phase(t) for t in range(image.n_phases)]
    if not return_passes:
        return np.stack(_segment_phases(phases, tta=tta, model_path=model_path))
    raw: list[np.ndarray] = []
    labels = np.stack(_segment_phases(phases, tta=tta, model_path=model_path, passes_out=raw))
    if len(raw) < 2:
        return labels, None
    n_t = len(phases)
    per_pass = np.stack([np.stack(np.split(q, n_t)) for q in raw])
    members = ensemble_members(model_path)
    flips = ("as acquired", "mirrored left-right", "mirrored top-bottom") if tta else ("as acquired",)
    names = tuple(f"{m.path.stem} {f}" if len(members) > 1 else f for m in members for f in flips)
    dz = float(phases[0].spacing[0])
    return labels, SegmentationPasses(per_pass, (dz, TARGET_SPACING_MM, TARGET_SPACING_MM), names)


def _segment_phases(phases: list[Image], *, tta: bool, model_path: Path | None,
                    passes_out: list[np.ndarray] | None = None) -> list[np.ndarray]:
    dz = phases[0].spacing[0]
    work = []
    for ph in phases:
        norm = ph.with_array(normalise_intensity(ph.array))
        work.append(norm.resample((dz, TARGET_SPACING_MM, TARGET_SPACING_MM), interpolation="linear"))
    probs = _predict_in_heart_box([w.array for w in work], members=ensemble_members(model_path), tta=tta,
                                  passes_out=passes_out)
    out, start = [], 0
    for ph, w in zip(phases, work):
        n = w.array.shape[0]
        p = probs[start : start + n]
        start += n
        if w.shape3d != ph.shape3d or not np.allclose(w.affine, ph.affine):
            p = np.stack([w.with_array(p[:, c]).resample_like(ph).array for c in range(p.shape[1])], axis=1)
        labels = np.argmax(p, axis=1).astype(np.uint8)
        out.append(fill_cavity_holes(keep_largest_components(labels)))
    return out

"""The echo segmentation model slot: an LV-cavity network dropped in beside the CMR one, none shipped.

No labelled echocardiograms can be obtained here (CAMUS and EchoNet-Dynamic are not downloadable
in this environment), and a network trained on synthetic speckle would not measure patients, so
**no echo model ships**. The slot uses the CMR network's loading (``heartprint.segmentation``): an
ONNX file ``echo_lv.onnx`` in ``heartprint/segmentation/weights/`` with its model card
``echo_lv.card.json`` beside it, the file checked against the card's SHA-256 before use.

Card contract (JSON)
--------------------
``task``            ``"echo_lv_cavity"`` (anything else is refused)
``input_size``      ``[rows, columns]`` the network takes
``input_spacing_mm`` pixel size (mm) the frames are resampled to before inference
``labels``          ``{"0": "background", "1": "LV cavity"}`` — channel 1 of the output is the cavity
``views``           the apical views it was trained on (``["A4C", "A2C"]``)
``training_data``   what it was trained on (named data set, number of patients); shown with results

Input ``(N, 1, rows, columns)`` float32 frames scaled to [0, 1]; output ``(N, C, rows, columns)``
logits. End-diastole and end-systole are the frames of largest and smallest cavity area (ED first);
the endocardial contour is the cavity boundary opened at the mitral annulus (see :func:`open_contour`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from heartprint.errors import InvalidInputError, ModelError

__all__ = ["ECHO_CARD", "ECHO_MODEL", "NO_MODEL_REASON", "find_echo_model", "open_contour", "segment_echo_cine"]

ECHO_MODEL = "echo_lv.onnx"
ECHO_CARD = "echo_lv.card.json"
TASK = "echo_lv_cavity"
#: What a cine without a contour and without a model says (plain words, no number).
NO_MODEL_REASON = "needs an endocardial contour: no echo segmentation model is installed"


def find_echo_model(weights: Path | None = None) -> Any:
    """The installed echo model (:class:`heartprint.segmentation._infer.ShippedModel`) or ``None``.

    Looks for :data:`ECHO_MODEL` in ``weights`` (default: the package's weights folder). A file without
    its card, with a wrong checksum, or whose card's ``task`` is not ``"echo_lv_cavity"`` is a
    :class:`~heartprint.errors.ModelError` (never silently ignored).
    """
    from heartprint.segmentation._infer import load_model_card, weights_dir

    path = Path(weights or weights_dir()) / ECHO_MODEL
    if not path.is_file():
        return None
    model = load_model_card(path)
    card = model.card
    if card.get("task") != TASK:
        raise ModelError(f"{path.name}: model card task {card.get('task')!r}; expected {TASK!r}")
    for key in ("input_size", "input_spacing_mm", "training_data"):
        if key not in card:
            raise ModelError(f"{path.name}: model card has no {key!r} (see heartprint.echo._model)")
    return model


def segment_echo_cine(model: Any, frames: NDArray[np.float64], spacing_mm: tuple[float, float]) -> NDArray[np.bool_]:
    """LV cavity masks ``(t, y, x)`` of a B-mode cine by the model (frames resampled to the card's grid,
    inferred, resampled back by nearest neighbour)."""
    from scipy import ndimage

    from heartprint.segmentation._infer import _session, inference_threads

    rows, cols = (int(v) for v in model.card["input_size"])
    sp = float(model.card["input_spacing_mm"])
    arr = np.asarray(frames, dtype=np.float64)
    lo, hi = float(arr.min()), float(arr.max())
    norm = (arr - lo) / (hi - lo) if hi > lo else np.zeros_like(arr)
    zoom = (spacing_mm[0] / sp, spacing_mm[1] / sp)
    small = np.stack([ndimage.zoom(f, zoom, order=1) for f in norm])
    batch = np.zeros((small.shape[0], 1, rows, cols), dtype=np.float32)
    h, w = min(rows, small.shape[1]), min(cols, small.shape[2])
    batch[:, 0, :h, :w] = small[:, :h, :w]
    st = model.path.stat()
    sess = _session(str(model.path), inference_threads(), st.st_size, st.st_mtime_ns)
    logits = sess.run(None, {sess.get_inputs()[0].name: batch})[0]
    if logits.ndim != 4 or logits.shape[0] != batch.shape[0] or logits.shape[1] < 2:
        raise ModelError(f"{model.path.name}: output of shape {logits.shape}; expected (N, C >= 2, rows, columns)")
    cavity = np.argmax(logits, axis=1) == 1
    out = np.zeros(arr.shape, dtype=bool)
    for t in range(arr.shape[0]):
        full = np.zeros(small.shape[1:], dtype=bool)
        full[:h, :w] = cavity[t, :h, :w]
        back = ndimage.zoom(full.astype(np.uint8), (arr.shape[1] / full.shape[0], arr.shape[2] / full.shape[1]), order=0)
        out[t] = back[: arr.shape[1], : arr.shape[2]].astype(bool)
    return out


def open_contour(mask: NDArray[np.bool_], spacing_mm: tuple[float, float]) -> NDArray[np.float64]:
    """The cavity boundary of an apical-view mask as an open contour ``(N, 2)`` (``(y, x)`` mm), opened at
    the mitral annulus: the apex is the boundary point nearest the transducer (smallest depth ``y``), the
    hinges the deepest boundary point on each side of it; the contour runs from the hinge on the image's
    left through the apex to the hinge on the right."""
    from skimage.measure import find_contours

    if not np.any(mask):
        raise InvalidInputError("the LV cavity mask is empty: no contour")
    rings = find_contours(np.pad(mask.astype(float), 1), 0.5)
    ring = max(rings, key=len) - 1.0  # (row, col), undo the padding
    if np.allclose(ring[0], ring[-1]):
        ring = ring[:-1]
    apex = int(np.argmin(ring[:, 0]))
    ring = np.roll(ring, -apex, axis=0)  # apex first
    left = ring[:, 1] < ring[0, 1]
    right = ~left
    i_r = int(np.flatnonzero(right)[np.argmax(ring[right, 0])]) if np.any(right) else 0
    i_l = int(np.flatnonzero(left)[np.argmax(ring[left, 0])]) if np.any(left) else len(ring) - 1
    # one way round from the apex reaches one hinge first; join the two arcs through the apex
    if i_r < i_l:
        path = np.concatenate([ring[i_l:], ring[: i_r + 1]])
    else:
        path = np.concatenate([ring[i_r:], ring[: i_l + 1]])[::-1]
    if path[0, 1] > path[-1, 1]:
        path = path[::-1]
    return path * np.asarray(spacing_mm, dtype=float)

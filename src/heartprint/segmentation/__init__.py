"""Segmentation networks, shipped weights with model cards, inference and metrics.

Public API
----------
segment_short_axis(volume, spacing)  one short-axis phase → uint8 labels (heartprint numbers)
segment_cine(image)                   every phase of a cine short-axis Image
SegmentationPasses                    each inference pass's own labels (segment_cine(..., return_passes=True))
dice(a, b, label)                     Dice overlap of one label
load_model_card()                     the shipped model and its card

Inference needs only onnxruntime; training (``heartprint train``) needs the ``dl`` extra.
"""

from heartprint.segmentation._infer import SegmentationPasses, load_model_card, segment_cine, segment_short_axis
from heartprint.segmentation._metrics import dice

__all__ = ["SegmentationPasses", "dice", "load_model_card", "segment_cine", "segment_short_axis"]

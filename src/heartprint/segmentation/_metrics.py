"""Overlap metrics (spacing-free by construction: Dice is a ratio of voxel counts on one grid)."""

from __future__ import annotations

import numpy as np

from heartprint.errors import InvalidInputError


def dice(a: np.ndarray, b: np.ndarray, label: int) -> float:
    """Dice coefficient 2|A∩B| / (|A|+|B|) of ``label`` in two label maps on the same grid.

    Both empty → 1.0 (perfect agreement that the structure is absent).
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise InvalidInputError(f"dice: label maps of shapes {a.shape} and {b.shape} differ")
    ma, mb = a == label, b == label
    denom = int(ma.sum()) + int(mb.sum())
    return 1.0 if denom == 0 else 2.0 * int((ma & mb).sum()) / denom

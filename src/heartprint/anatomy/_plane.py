"""In-plane physical coordinates of a slice stack (private helper shared by anatomy and cmr)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from heartprint.errors import GeometryError


@dataclass(frozen=True)
class SlicePlane:
    """Orthonormal in-plane frame of the ``(y, x)`` grid of a stack.

    ``u`` is the LPS unit vector of increasing x index; ``v`` completes a right-handed-in-plane
    orthonormal pair from the y column. In-plane coordinates ``(a, b)`` (mm) of voxel
    ``(y, x)`` are ``M @ (y, x)`` with ``M`` 2×2; they are physical, so angles and distances
    measured in them are true millimetres and degrees whatever the pixel spacing.
    """

    affine: np.ndarray
    u: np.ndarray
    v: np.ndarray
    m: np.ndarray  # 2x2: (a, b) = m @ (y, x)
    m_inv: np.ndarray

    @classmethod
    def from_affine(cls, affine: np.ndarray) -> "SlicePlane":
        col_y = affine[:3, 1]
        col_x = affine[:3, 2]
        nx = np.linalg.norm(col_x)
        if nx <= 0:
            raise GeometryError(f"affine {affine.tolist()}: zero x column")
        u = col_x / nx
        v = col_y - (col_y @ u) * u
        nv = np.linalg.norm(v)
        if nv < 1e-9:
            raise GeometryError(f"affine {affine.tolist()}: y and x columns are parallel")
        v = v / nv
        m = np.array([[col_y @ u, col_x @ u], [col_y @ v, col_x @ v]])
        return cls(affine=affine, u=u, v=v, m=m, m_inv=np.linalg.inv(m))

    def ab(self, yx: np.ndarray) -> np.ndarray:
        """``(..., 2)`` indices ``(y, x)`` → ``(..., 2)`` in-plane mm ``(a, b)``."""
        return np.asarray(yx, dtype=float) @ self.m.T

    def yx(self, ab: np.ndarray) -> np.ndarray:
        """``(..., 2)`` in-plane mm ``(a, b)`` → fractional indices ``(y, x)``."""
        return np.asarray(ab, dtype=float) @ self.m_inv.T

    def lps(self, z: float, yx: np.ndarray) -> np.ndarray:
        """LPS mm of fractional voxel ``(z, y, x)`` rows."""
        yx = np.atleast_2d(np.asarray(yx, dtype=float))
        idx = np.column_stack([np.full(len(yx), float(z)), yx])
        return idx @ self.affine[:3, :3].T + self.affine[:3, 3]

    def project_lps(self, z: float, points: np.ndarray) -> np.ndarray:
        """In-plane ``(a, b)`` of LPS points projected onto the plane of slice ``z``."""
        origin = self.affine[:3, 3] + z * self.affine[:3, 0]
        d = np.atleast_2d(np.asarray(points, dtype=float)) - origin
        return np.column_stack([d @ self.u, d @ self.v])

    def in_plane_spacing(self) -> tuple[float, float]:
        """``(dy, dx)`` in mm (column lengths of the affine)."""
        return float(np.linalg.norm(self.affine[:3, 1])), float(np.linalg.norm(self.affine[:3, 2]))


def mask_ab(plane: SlicePlane, mask2d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(n, 2)`` indices ``(y, x)`` and ``(n, 2)`` in-plane mm of the true voxels of ``mask2d``."""
    yx = np.argwhere(mask2d)
    return yx, plane.ab(yx)

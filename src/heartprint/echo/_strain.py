"""Longitudinal strain from a B-mode cine by dense optical-flow speckle tracking.

Method (all lengths in mm, strains in %, negative = shortening)
--------------------------------------------------------------
1. Frame-to-frame dense displacement fields between consecutive frames from ``ed_index`` to
   ``es_index`` with scikit-image's iterative Lucas–Kanade (``optical_flow_ilk``, coarse-to-fine
   pyramid, Gaussian window, ``radius`` pixels, default 7) or TV-L1 (``optical_flow_tvl1``),
   computed on the pixel grid (displacements converted to mm with the pixel spacing).
2. The ED endocardial contour (open, one annulus hinge → apex → other hinge) and ``n_layers``
   copies of it offset 0…``band_mm`` outward into the myocardium (outward = away from the
   contour's centroid side, along the local normal) are advected frame by frame: each point's
   displacement is the bilinear interpolation (``scipy.ndimage.map_coordinates``, order 1) of
   the flow at its current position, averaged across the layers at the same contour index (a
   transmural band, which reduces speckle noise); all points are moved in one vectorised call
   per frame.
3. Strain = Lagrangian change of arc length ``(L_ES - L_ED)/L_ED × 100`` of the tracked
   endocardial polyline (GLS), and of each sixth of it by arc length of the ED contour
   (segments).  ⚠ No drift correction: the cine is tracked ED → ES only (drift correction
   needs a full cycle returning to ED).

Segments of a single A4C view, in contour order from the first point (the contour must start at
the SEPTAL hinge; pass ``reverse=True`` otherwise): "basal septal", "mid septal", "apical septal",
"apical lateral", "mid lateral", "basal lateral".  ``StrainResult.aha_segments`` gives the same
values keyed by the AHA 17-segment numbers used for the A4C view in the 18-segment (six apical
plane) strain display: basal inferoseptal 3, mid inferoseptal 9, apical septal 14, apical
lateral 16, mid anterolateral 12, basal anterolateral 6 (Cerqueira et al., Circulation 2002;
105:539–542, DOI 10.1161/hc0402.102975, and Voigt et al., EACVI/ASE/industry strain
standardisation, Eur Heart J Cardiovasc Imaging 2015;16:1–11, DOI 10.1093/ehjci/jeu184 ⚠M —
A4C shows inferoseptal and anterolateral walls; not verified with the search tool).

Reference GLS values (not used to grade here): normal GLS about −20 % with magnitude < 16 %
abnormal (Lang et al., ASE/EACVI chamber quantification 2015, DOI 10.1016/j.echo.2014.10.003 ⚠M).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from heartprint.anatomy.echo_views import A4C_AHA_NUMBERS, A4C_SEGMENTS
from heartprint.errors import InvalidInputError
from heartprint.image import Image

__all__ = ["A4C_AHA_NUMBERS", "A4C_SEGMENT_NAMES", "StrainResult", "global_longitudinal_strain"]

A4C_SEGMENT_NAMES = A4C_SEGMENTS  # the six A4C segments (heartprint.anatomy.echo_views)


@dataclass(frozen=True)
class StrainResult:
    """Speckle-tracking longitudinal strain of one view.

    Attributes
    ----------
    gls_percent
        Global longitudinal strain (%), Lagrangian, ED → ES, negative = shortening.
    segments
        Strain (%) of each sixth of the contour keyed by :data:`A4C_SEGMENT_NAMES`.
    tracked_contours
        ``(t, N, 2)`` tracked endocardial contour (mm, ``(y, x)``), frames ``ed_index..es_index``.
    method
        ``"ilk"`` or ``"tvl1"`` and its parameters.
    """

    gls_percent: float
    segments: dict[str, float]
    tracked_contours: NDArray[np.float64]
    method: str

    @property
    def aha_segments(self) -> dict[int, float]:
        """The segmental strains keyed by AHA segment number (see the module docstring)."""
        return {A4C_AHA_NUMBERS[k]: v for k, v in self.segments.items()}


def _as_cine(cine: Any, spacing_mm: Any) -> tuple[NDArray[np.float64], tuple[float, float]]:
    if isinstance(cine, Image):
        arr = np.asarray(cine.array, dtype=np.float64)
        if arr.ndim != 4 or arr.shape[1] != 1:
            raise InvalidInputError(f"cine Image array shape {arr.shape}: expected (t, 1, y, x)")
        arr = arr[:, 0]
        sp = cine.spacing[1:] if spacing_mm is None else spacing_mm
    else:
        arr = np.asarray(cine, dtype=np.float64)
        if arr.ndim == 4 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 3:
            raise InvalidInputError(f"cine shape {arr.shape}: expected (t, y, x) or (t, 1, y, x)")
        if spacing_mm is None:
            raise InvalidInputError("spacing_mm=None: expected (dy, dx) in mm for an array cine")
        sp = spacing_mm
    try:
        spacing = tuple(float(v) for v in np.broadcast_to(np.asarray(sp, dtype=float), (2,)))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"spacing_mm={sp!r}: expected (dy, dx) in mm") from exc
    if not all(np.isfinite(v) and v > 0 for v in spacing):
        raise InvalidInputError(f"spacing_mm={sp!r}: expected finite spacings > 0 mm")
    if arr.shape[0] < 2 or not np.all(np.isfinite(arr)):
        raise InvalidInputError(f"cine of shape {arr.shape}: expected >= 2 frames of finite values")
    return arr, spacing  # type: ignore[return-value]


def _arc(points: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.linalg.norm(np.diff(points, axis=-2), axis=-1).sum(axis=-1)


def global_longitudinal_strain(
    cine: Any,
    contour_mm: Any,
    *,
    spacing_mm: Any = None,
    ed_index: int = 0,
    es_index: int | None = None,
    method: str = "ilk",
    radius: int = 7,
    band_mm: float = 2.0,
    n_layers: int = 3,
    reverse: bool = False,
) -> StrainResult:
    """Global and segmental longitudinal strain (%) of an A4C cine by speckle tracking.

    Parameters
    ----------
    cine
        :class:`heartprint.image.Image` with array ``(t, 1, y, x)``, or an array ``(t, y, x)``
        (or ``(t, 1, y, x)``) with ``spacing_mm``.
    contour_mm
        ``(N, 2)`` ED endocardial contour, ``(y, x)`` mm relative to pixel (0, 0) centre, open:
        septal hinge → apex → lateral hinge (N ≥ 7).
    spacing_mm
        ``(dy, dx)`` pixel spacing (mm); for an Image it overrides the Image's in-plane spacing.
    ed_index, es_index
        Frames of end-diastole and end-systole (default: the last frame); ``es_index > ed_index``.
    method
        ``"ilk"`` (iterative Lucas–Kanade, window ``radius`` pixels) or ``"tvl1"``.
    radius
        ILK window radius (pixels).
    band_mm, n_layers
        Transmural band (mm outward from the endocardium) and the number of contour copies in it
        whose displacements are averaged (``n_layers=1``: endocardium alone).
    reverse
        Set when the contour starts at the lateral hinge (segment names then still correct).
    """
    from skimage.registration import optical_flow_ilk, optical_flow_tvl1

    arr, (dy, dx) = _as_cine(cine, spacing_mm)
    n_t = arr.shape[0]
    es = n_t - 1 if es_index is None else int(es_index)
    ed = int(ed_index)
    if not (0 <= ed < es < n_t):
        raise InvalidInputError(f"ed_index={ed_index!r}, es_index={es_index!r}: expected 0 <= ed < es < {n_t}")
    if method not in ("ilk", "tvl1"):
        raise InvalidInputError(f"method={method!r}: expected 'ilk' or 'tvl1'")
    if int(radius) != radius or radius < 1:
        raise InvalidInputError(f"radius={radius!r}: expected an integer >= 1 (pixels)")
    if int(n_layers) != n_layers or n_layers < 1 or not (np.isfinite(band_mm) and band_mm >= 0):
        raise InvalidInputError(f"n_layers={n_layers!r}, band_mm={band_mm!r}: expected an integer >= 1 and >= 0 mm")
    try:
        c = np.asarray(contour_mm, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"contour_mm: expected an (N, 2) array of mm, got {type(contour_mm)}") from exc
    if c.ndim != 2 or c.shape[1] != 2 or c.shape[0] < 7 or not np.all(np.isfinite(c)):
        raise InvalidInputError(f"contour_mm shape {c.shape}: expected (N, 2) finite mm with N >= 7")
    if reverse:
        c = c[::-1]
    ext = np.array([(arr.shape[1] - 1) * dy, (arr.shape[2] - 1) * dx])
    if np.any(c < 0) or np.any(c > ext):
        raise InvalidInputError(f"contour_mm lies outside the image (0..{ext.tolist()} mm)")
    if _arc(c) <= 0:
        raise InvalidInputError("contour_mm has zero length")

    # Outward normals: rotate the tangent; orient away from the cavity (the centroid of the
    # contour's polygon, closed through the annulus, lies inside the cavity).
    tang = np.gradient(c, axis=0)
    tang /= np.maximum(np.linalg.norm(tang, axis=1, keepdims=True), 1e-12)
    nrm = np.stack([-tang[:, 1], tang[:, 0]], axis=1)
    centre = c.mean(axis=0)
    if np.mean(np.sum((c - centre) * nrm, axis=1)) < 0:
        nrm = -nrm
    offsets = np.linspace(0.0, band_mm, int(n_layers)) if n_layers > 1 else np.zeros(1)
    pts = c[None, :, :] + offsets[:, None, None] * nrm[None, :, :]  # (layers, N, 2) mm
    scale = np.array([dy, dx])

    track = [c.copy()]
    lo, hi = float(np.min(arr)), float(np.max(arr))
    norm = (arr - lo) / (hi - lo) if hi > lo else np.zeros_like(arr)
    for f in range(ed, es):
        if method == "ilk":
            v, u = optical_flow_ilk(norm[f], norm[f + 1], radius=int(radius))
        else:
            v, u = optical_flow_tvl1(norm[f], norm[f + 1])
        # optical_flow_* return the flow that warps frame f+1 onto frame f: I1(x + flow) ≈ I0(x),
        # i.e. the displacement of material at x in frame f.
        px = (pts / scale).reshape(-1, 2).T
        dv = ndimage.map_coordinates(v, px, order=1, mode="nearest")
        du = ndimage.map_coordinates(u, px, order=1, mode="nearest")
        disp = np.stack([dv * dy, du * dx], axis=-1).reshape(pts.shape)
        pts = pts + disp.mean(axis=0, keepdims=True)
        track.append(pts[0].copy())
    tracked = np.stack(track)
    length = _arc(tracked)
    gls = float(100.0 * (length[-1] - length[0]) / length[0])
    # sixths by the ED contour's arc length
    cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(c, axis=0), axis=1))])
    bounds = np.linspace(0.0, cum[-1], 7)
    segs: dict[str, float] = {}
    for i, name in enumerate(A4C_SEGMENT_NAMES):
        a, b = bounds[i], bounds[i + 1]
        inner = (cum > a) & (cum < b)
        # polyline of the segment: its end points interpolated along the index, inner vertices
        fa, fb = np.interp([a, b], cum, np.arange(cum.size))

        def at(fi: float) -> NDArray[np.float64]:
            i0 = min(int(np.floor(fi)), cum.size - 2)
            w = fi - i0
            return (1 - w) * tracked[:, i0] + w * tracked[:, i0 + 1]

        seg = np.concatenate([at(fa)[:, None], tracked[:, inner], at(fb)[:, None]], axis=1)
        sl = _arc(seg)
        segs[name] = float(100.0 * (sl[-1] - sl[0]) / sl[0])
    if reverse:
        tracked = tracked[:, ::-1]
    desc = f"{method}" + (f"(radius={int(radius)} px)" if method == "ilk" else "") + f", band {band_mm} mm x {n_layers}"
    return StrainResult(gls_percent=gls, segments=segs, tracked_contours=tracked, method=desc)

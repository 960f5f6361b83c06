"""Coronary centrelines from a lumen mask: 3-D skeleton, graph walk, smoothing, resampling.

Method
------
1. The lumen mask (any segmenter's output, binary or one label per vessel) is checked to lie
   on the CT grid (:func:`check_mask`).
2. Each 26-connected part of the mask is thinned with scikit-image's 3-D ``skeletonize``
   (Lee TC, Kashyap RL, Chu CN. Building skeleton models via 3-D medial surface/axis
   thinning algorithms. CVGIP: Graphical Models and Image Processing 1994;56:462–478,
   doi:10.1006/cgip.1994.1042).
3. The skeleton voxels form a graph (26-neighbours, edges weighted by their length in mm,
   so anisotropic and oblique grids are handled). The root of each tree is the end point
   with the largest distance-transform radius (the ostium is the widest end). Shortest
   paths from the root (``scipy.sparse.csgraph.dijkstra``) to every other end point are
   split into branches, longest first: a branch runs from the point where it leaves an
   already-taken path to its end point. Branches shorter than ``min_branch_mm`` (or 1.5×
   the local radius) are skeletonisation spurs and are dropped.
4. Each branch's voxel path is mapped to LPS mm, smoothed with a Gaussian of
   ``smoothing_mm`` (standard deviation along the path) and resampled at fixed arc-length
   steps ``step_mm`` (default 0.5 mm) by linear interpolation. Tangents are central
   differences, normalised.

A mask part whose skeleton is shorter than ``min_tree_mm`` is noise and is reported (not
analysed); more than ``max_trees`` substantial parts (a coronary mask normally holds the
left and the right tree) raises :class:`~heartprint.errors.InvalidInputError`, naming the
parts' sizes, since a segmentation broken into pieces would give wrong stenoses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from scipy import ndimage, sparse
from scipy.sparse.csgraph import connected_components, dijkstra

from heartprint.errors import GeometryError, InvalidInputError
from heartprint.image import Image

__all__ = ["Centreline", "check_mask", "extract_centrelines", "centreline_from_points"]


@dataclass(frozen=True, eq=False)
class Centreline:
    """One coronary branch's centreline, resampled at fixed arc-length steps.

    Attributes
    ----------
    name
        ``"t{tree}v{branch}"`` (``t0v0`` is the longest path of the largest tree).
    points_lps
        ``(N, 3)`` points (LPS mm), ``arc_mm`` ``(N,)`` arc length from the branch start (mm).
    tangents
        ``(N, 3)`` unit tangents (direction of increasing arc length).
    radius_dt_mm
        ``(N,)`` distance from each point to the mask boundary (mm; Euclidean distance
        transform, trilinear), ``nan`` if no mask was given.
    labels
        ``(N,)`` label value of the lumen mask at each point (nearest voxel; 0 outside), for
        multi-label masks (one label per vessel/segment).
    tree, parent, parent_arc_mm
        Index of the tree (connected mask part), the branch it leaves (``None`` for the
        main path from the root) and the arc length on the parent where it leaves.
    """

    name: str
    points_lps: np.ndarray
    arc_mm: np.ndarray
    tangents: np.ndarray
    radius_dt_mm: np.ndarray
    labels: np.ndarray
    tree: int = 0
    parent: str | None = None
    parent_arc_mm: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def length_mm(self) -> float:
        return float(self.arc_mm[-1]) if len(self.arc_mm) else 0.0

    @property
    def step_mm(self) -> float:
        return float(np.median(np.diff(self.arc_mm))) if len(self.arc_mm) > 1 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "tree": self.tree, "parent": self.parent, "parent_arc_mm": self.parent_arc_mm,
                "length_mm": self.length_mm, "n_points": int(len(self.arc_mm)),
                "points_lps": np.round(self.points_lps, 3).tolist()}


def _geometry_text(img: Image) -> str:
    return (f"shape {tuple(img.shape3d)}, spacing {tuple(round(s, 4) for s in img.spacing)} mm, "
            f"origin {tuple(round(float(v), 3) for v in img.origin)}")


def check_mask(mask: Image | np.ndarray, image: Image, *, name: str = "lumen_mask") -> Image:
    """Return ``mask`` as an :class:`Image` on ``image``'s grid, or raise.

    Parameters
    ----------
    mask
        An :class:`Image` (e.g. from :func:`heartprint.io.read_nifti` or a DICOM SEG) or a
        ``(z, y, x)`` array of the CT's shape. Non-zero voxels are lumen; integer values may
        label vessels/segments.
    image
        The CT series (HU) whose grid the mask must share.

    Raises
    ------
    GeometryError
        The mask's shape or affine differs from the image's (both geometries are named).
    InvalidInputError
        The mask is 4-D or empty.
    """
    if isinstance(mask, Image):
        m = mask
        if m.is_cine:
            raise InvalidInputError(f"{name}: shape {m.array.shape} is 4-D, expected a 3-D (z, y, x) mask")
        same = m.shape3d == image.shape3d and np.allclose(m.affine, image.affine, atol=1e-3)
        if not same:
            raise GeometryError(
                f"{name} geometry ({_geometry_text(m)}) differs from the CT image's ({_geometry_text(image)}); "
                f"resample the mask onto the CT grid (Image.resample_like(..., interpolation='nearest'))")
    else:
        arr = np.asarray(mask)
        if arr.shape != tuple(image.shape3d):
            raise GeometryError(f"{name} array shape {arr.shape} differs from the CT image's ({_geometry_text(image)})")
        m = image.with_array(arr)
    if not np.any(m.array):
        raise InvalidInputError(f"{name} is empty (no non-zero voxel in {m.shape3d}): expected a coronary lumen mask")
    return m


def _resample_path(points: np.ndarray, step_mm: float, smoothing_mm: float) -> np.ndarray:
    """Smooth an ordered ``(K, 3)`` path (LPS mm) and resample it every ``step_mm``."""
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    keep = np.concatenate([[True], seg > 1e-9])
    points = points[keep]
    if len(points) < 2:
        return points
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    if smoothing_mm > 0:
        sigma = smoothing_mm / float(np.mean(seg))
        sm = ndimage.gaussian_filter1d(points, sigma, axis=0, mode="nearest")
        sm[0], sm[-1] = points[0], points[-1]
        points = sm
        seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    s = np.arange(0.0, arc[-1] + 1e-9, step_mm)
    return np.stack([np.interp(s, arc, points[:, k]) for k in range(3)], axis=1)


def _tangents(points: np.ndarray) -> np.ndarray:
    if len(points) < 2:
        return np.tile([1.0, 0.0, 0.0], (len(points), 1))
    t = np.gradient(points, axis=0)
    return t / np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-12)


def _build(name: str, pts: np.ndarray, mask: Image | None, dt: np.ndarray | None, tree: int = 0,
           parent: str | None = None, parent_arc: float | None = None) -> Centreline:
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    if mask is not None and dt is not None:
        idx = mask.lps_to_index(pts)
        radius = ndimage.map_coordinates(dt, idx.T, order=1, mode="nearest")
        near = np.clip(np.rint(idx).astype(int), 0, np.array(mask.shape3d) - 1)
        labels = np.asarray(mask.array)[tuple(near.T)].astype(int)
    else:
        radius = np.full(len(pts), np.nan)
        labels = np.zeros(len(pts), int)
    return Centreline(name=name, points_lps=pts, arc_mm=arc, tangents=_tangents(pts), radius_dt_mm=radius,
                      labels=labels, tree=tree, parent=parent, parent_arc_mm=parent_arc)


_OFFSETS = np.array([(a, b, c) for a in (-1, 0, 1) for b in (-1, 0, 1) for c in (-1, 0, 1)
                     if (a, b, c) > (0, 0, 0)])  # 13 half-neighbourhood offsets


def _skeleton_graph(skel: np.ndarray, affine3: np.ndarray) -> tuple[np.ndarray, sparse.csr_matrix]:
    """Skeleton voxel indices ``(K, 3)`` and their 26-neighbour graph (edge weights in mm)."""
    coords = np.argwhere(skel)
    lookup = np.full(skel.shape, -1, dtype=np.int64)
    lookup[tuple(coords.T)] = np.arange(len(coords))
    rows, cols, w = [], [], []
    shape = np.array(skel.shape)
    for off in _OFFSETS:
        nb = coords + off
        ok = np.all((nb >= 0) & (nb < shape), axis=1)
        j = np.full(len(coords), -1)
        j[ok] = lookup[tuple(nb[ok].T)]
        hit = j >= 0
        rows.append(np.nonzero(hit)[0])
        cols.append(j[hit])
        w.append(np.full(hit.sum(), np.linalg.norm(affine3 @ off)))
    r, c, ww = np.concatenate(rows), np.concatenate(cols), np.concatenate(w)
    g = sparse.coo_matrix((np.concatenate([ww, ww]), (np.concatenate([r, c]), np.concatenate([c, r]))),
                          shape=(len(coords), len(coords))).tocsr()
    return coords, g


def extract_centrelines(
    lumen_mask: Image,
    *,
    step_mm: float = 0.5,
    smoothing_mm: float = 1.0,
    min_branch_mm: float = 3.0,
    min_tree_mm: float = 5.0,
    max_trees: int | None = 2,
) -> list[Centreline]:
    """Centrelines of every branch of every coronary tree in a lumen mask.

    Parameters
    ----------
    lumen_mask
        ``(z, y, x)`` mask :class:`Image` (non-zero = lumen; may carry one label per vessel).
    step_mm
        Arc-length step of the resampled centrelines (mm).
    smoothing_mm
        Standard deviation (mm) of the Gaussian smoothing along the skeleton path.
    min_branch_mm
        Side branches shorter than this (or 1.5× the radius where they leave) are dropped.
    min_tree_mm
        Mask parts whose skeleton is shorter than this are ignored (listed in ``meta``).
    max_trees
        Largest number of substantial mask parts accepted (2: left and right coronary
        trees); ``None`` keeps every part.

    Returns
    -------
    list of Centreline
        Branch by branch, trees by decreasing size; each tree's first branch runs from the
        root (widest end) to the farthest end point.

    Raises
    ------
    InvalidInputError
        Empty mask, no skeleton longer than ``min_tree_mm``, or more than ``max_trees`` parts.
    """
    if step_mm <= 0:
        raise InvalidInputError(f"step_mm={step_mm}: expected > 0 mm")
    from skimage.morphology import skeletonize

    binary = np.asarray(lumen_mask.array) > 0
    if not binary.any():
        raise InvalidInputError("lumen mask is empty: expected a coronary lumen mask with non-zero voxels")
    affine3 = lumen_mask.affine[:3, :3]
    dt = ndimage.distance_transform_edt(binary, sampling=lumen_mask.spacing).astype(np.float32)
    parts, n_parts = ndimage.label(binary, structure=np.ones((3, 3, 3)))
    sizes = np.bincount(parts.ravel())[1:]
    order = np.argsort(sizes)[::-1]
    out: list[Centreline] = []
    ignored: list[dict[str, float]] = []
    trees: list[tuple[int, float]] = []
    for lab in order + 1:
        sl = ndimage.find_objects((parts == lab).astype(np.uint8))[0]
        sl = tuple(slice(max(s.start - 1, 0), s.stop + 1) for s in sl)
        sub = parts[sl] == lab
        skel = skeletonize(sub) > 0
        if skel.sum() < 2:
            ignored.append({"voxels": int(sizes[lab - 1]), "skeleton_mm": 0.0})
            continue
        coords, graph = _skeleton_graph(skel, affine3)
        coords = coords + np.array([s.start for s in sl])
        ncomp, comp = connected_components(graph, directed=False)
        for c in range(ncomp):
            nodes = np.nonzero(comp == c)[0]
            sub_g = graph[nodes][:, nodes]
            length = float(sub_g.sum() / 2.0)
            if length < min_tree_mm:
                ignored.append({"voxels": int(sizes[lab - 1]), "skeleton_mm": round(length, 2)})
                continue
            trees.append((len(trees), length))
            out.extend(_branches(coords[nodes], sub_g, lumen_mask, dt, len(trees) - 1, step_mm, smoothing_mm,
                                 min_branch_mm))
    if not out:
        raise InvalidInputError(
            f"lumen mask ({int(binary.sum())} voxels in {n_parts} parts) has no skeleton longer than "
            f"min_tree_mm={min_tree_mm} mm: expected a coronary lumen mask")
    if max_trees is not None and len(trees) > max_trees:
        raise InvalidInputError(
            f"lumen mask skeleton falls into {len(trees)} disconnected parts (lengths "
            f"{[round(t[1], 1) for t in trees]} mm): expected at most max_trees={max_trees} (left and right "
            f"coronary trees); a broken segmentation gives wrong stenoses — repair it or pass max_trees=None")
    if ignored:
        object.__setattr__(out[0], "meta", {**out[0].meta, "ignored_parts": ignored})
    return out


def _branches(coords: np.ndarray, g: sparse.csr_matrix, mask: Image, dt: np.ndarray, tree: int,
              step_mm: float, smoothing_mm: float, min_branch_mm: float) -> list[Centreline]:
    degree = np.diff(g.indptr)
    radius = dt[tuple(coords.T)]
    ends = np.nonzero(degree == 1)[0]
    root = int(ends[np.argmax(radius[ends])]) if len(ends) else int(np.argmax(radius))
    dist, pred = dijkstra(g, directed=False, indices=root, return_predecessors=True)
    targets = [int(e) for e in ends if e != root and np.isfinite(dist[e])]
    targets.sort(key=lambda e: -dist[e])
    taken: dict[int, tuple[str, float]] = {}  # node -> (branch name, arc on that branch)
    out: list[Centreline] = []
    for e in targets:
        path = [e]
        while path[-1] != root and path[-1] not in taken:
            path.append(int(pred[path[-1]]))
        path = path[::-1]  # junction (or root) -> end point
        junction = path[0]
        unique = dist[e] - dist[junction]
        if out and unique < max(min_branch_mm, 1.5 * float(radius[junction])):
            continue
        name = f"t{tree}v{len(out)}"
        pts_vox = mask.index_to_lps(coords[path].astype(float))
        parent = taken.get(junction) if out else None
        if parent is not None:
            # start the branch at the parent's (smoothed) centreline point nearest the junction
            pc = next(c for c in out if c.name == parent[0])
            k = int(np.argmin(np.linalg.norm(pc.points_lps - pts_vox[0], axis=1)))
            pts_vox = np.vstack([pc.points_lps[k], pts_vox[1:]])
            parent_arc = float(pc.arc_mm[k])
        else:
            parent_arc = None
        pts = _resample_path(pts_vox, step_mm, smoothing_mm)
        cl = _build(name, pts, mask, dt, tree, parent[0] if parent else None, parent_arc)
        out.append(cl)
        # map this path's skeleton nodes to arc positions on the new branch
        arc_nodes = dist[path] - dist[junction]
        for node, a in zip(path, arc_nodes):
            taken.setdefault(node, (name, float(a)))
    if not out:  # a single straight skeleton with the root as one end
        pts = _resample_path(mask.index_to_lps(coords[[root]].astype(float)), step_mm, smoothing_mm)
        out.append(_build(f"t{tree}v0", pts, mask, dt, tree))
    return out


def centreline_from_points(
    points_lps: np.ndarray | Sequence[Sequence[float]],
    *,
    name: str = "v0",
    step_mm: float = 0.5,
    smoothing_mm: float = 0.0,
    max_gap_mm: float = 2.0,
    lumen_mask: Image | None = None,
) -> Centreline:
    """A :class:`Centreline` from user-given ordered points (LPS mm), e.g. a vendor export.

    Parameters
    ----------
    points_lps
        ``(K, 3)`` ordered points, ostium first (LPS mm).
    max_gap_mm
        Largest distance (mm) allowed between consecutive points; a larger gap means the
        centreline is disconnected and raises :class:`~heartprint.errors.GeometryError`.
    lumen_mask
        Optional mask (for the distance-transform radius and labels).
    """
    pts = np.asarray(points_lps, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 3 or len(pts) < 2 or not np.all(np.isfinite(pts)):
        raise InvalidInputError(f"centreline {name!r}: points of shape {pts.shape}: expected (K >= 2, 3) finite LPS mm")
    gaps = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    if gaps.max() > max_gap_mm:
        k = int(np.argmax(gaps))
        raise GeometryError(
            f"centreline {name!r} is disconnected: {gaps[k]:.2f} mm between points {k} and {k + 1} "
            f"(max_gap_mm={max_gap_mm})")
    res = _resample_path(pts, step_mm, smoothing_mm)
    dt = None
    if lumen_mask is not None:
        dt = ndimage.distance_transform_edt(np.asarray(lumen_mask.array) > 0, sampling=lumen_mask.spacing)
    return _build(name, res, lumen_mask, dt)

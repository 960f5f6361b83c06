"""Parametric mapping: vectorised T1 (MOLLI/ShMOLLI), T2 and T2* fits, vendor maps, segment ROIs.

Every fit runs on all pixels at once (NumPy matrix products; no per-pixel Python loop):

1. **Variable projection grid.** For a model ``y = a + b·exp(−t/τ)`` (or without ``a``)
   the amplitudes are linear, so for each ``τ`` of a log-spaced grid (2 % steps) they are
   solved in closed form for every pixel from weighted sums (2 × 2 normal equations) and the
   residual sum of squares (RSS) of every (pixel, τ) pair is computed; the best τ per pixel
   is the start.
2. **Levenberg–Marquardt refinement.** A few vectorised LM steps on ``(a, b, τ)`` (3 × 3
   systems solved for all pixels with ``numpy.linalg.solve``) reach the least-squares
   optimum that a per-pixel ``scipy.optimize.curve_fit`` finds (see
   ``benchmarks/t1_fit_speed.py``: same T1 within 0.5 %).

T1 (MOLLI, ShMOLLI source images)
    Three-parameter model ``S(TI) = A − B·exp(−TI/T1*)`` with the Look-Locker correction
    ``T1 = T1*·(B/A − 1)``: Messroghli DR, Radjenovic A, Kozerke S, Higgins DM, Sivananthan
    MU, Ridgway JP. Modified Look-Locker inversion recovery (MOLLI) for high-resolution T1
    mapping of the heart. *Magn Reson Med* 2004;52:141–146. doi:10.1002/mrm.20110 (citation
    verified). Magnitude images lose the sign of the recovery before the null point.
    **Polarity restoration**: with the inversion times sorted, each candidate null position
    ``k = 0 … n−1`` (the first ``k`` samples negated) is fitted and the candidate with the
    smallest RSS among physically valid fits (``A > 0``, ``B > A``) is kept — the approach of
    fitting every sign pattern described for inversion-recovery magnitude data by Nekolla S
    et al. (T1 maps by k-space reduced snapshot-FLASH MRI, *J Comput Assist Tomogr*
    1992;16:327–332) and used in MOLLI mapping by Xue H et al. (*Magn Reson Med*
    2012;67:1644–1655); both citations are **not verified** here (from memory).
T2
    Mono-exponential ``S = S0·exp(−TE/T2)``.
T2*
    Mono-exponential with noise-floor handling, two documented options: ``"truncation"``
    drops, per pixel, every echo from the first one whose magnitude is at or below
    ``noise_floor`` (the truncation model), ``"offset"`` fits ``S0·exp(−TE/T2*) + C``. Both
    were compared for myocardial T2* by He T et al. (*Magn Reson Med* 2008;60:350–356,
    citation **not verified**).

Input conventions: ``images`` is ``(n, y, x)`` (or ``(n, ...)``: any trailing shape) in
scanner units; times are ms. Inversion times are read by the caller from (0018,0082)
Inversion Time, or from (0020,4000) Image Comments (``"TI 100"``, ``"TI=100"``,
``"TI: 100 ms"``) where a vendor writes them there (Siemens MOLLI source images), see
:func:`inversion_times_from_headers`. Unsorted times are sorted together with the images;
duplicated times are an error (a MOLLI scheme never repeats an inversion time and a
duplicate usually means two series were mixed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Literal, Sequence

import numpy as np
from scipy import ndimage

from heartprint.cmr._regions import as_labels as _as_labels
from heartprint.cmr._regions import (  # noqa: F401 (re-exported: they were defined here)
    check_mask_grid,
    mid_wall_mask,
    normalised_depth,
    segment_map_statistics,
)
from heartprint.cmr._regions import segment_map as _segments
from heartprint.errors import InvalidInputError
from heartprint.image import Image

__all__ = [
    "MAPPING_SCHEMA",
    "MOLLI_REFERENCE",
    "map_region_summary",
    "T1Fit",
    "T2Fit",
    "T2StarFit",
    "fit_t1_molli",
    "fit_t2",
    "fit_t2star",
    "inversion_times_from_headers",
    "map_from_vendor",
    "mid_wall_mask",
    "segment_map_statistics",
]

MOLLI_REFERENCE = (
    "Messroghli DR et al. Modified Look-Locker inversion recovery (MOLLI) for high-resolution T1 mapping "
    "of the heart. Magn Reson Med 2004;52:141-146. doi:10.1002/mrm.20110"
)
POLARITY_REFERENCE = (
    "Polarity restoration by fitting every candidate null point, after Nekolla S et al. J Comput Assist "
    "Tomogr 1992;16:327-332 and Xue H et al. Magn Reson Med 2012;67:1644-1655 (citations not verified)"
)
T2STAR_REFERENCE = (
    "Truncation and offset models for myocardial T2*: He T et al. Magn Reson Med 2008;60:350-356 "
    "(citation not verified)"
)

_CHUNK = 4096  # pixels per block: keeps the (grid × pixels) work arrays to a few tens of MB


# ----------------------------------------------------------------------------- inputs
def _check_series(images: Any, times: Any, name: str, min_n: int) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    arr = np.asarray(images, dtype=float)
    if arr.ndim < 2:
        raise InvalidInputError(f"images shape {arr.shape}: expected (n, y, x) with one image per {name[:-4]}")
    try:
        t = np.asarray(times, dtype=float).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name}={times!r}: expected numbers in ms") from exc
    if t.size == 0:
        raise InvalidInputError(f"{name} is missing (empty): expected {arr.shape[0]} times in ms")
    if t.size != arr.shape[0]:
        raise InvalidInputError(f"{name} has {t.size} values but images has {arr.shape[0]} images (shape {arr.shape})")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise InvalidInputError(f"{name}={t.tolist()}: expected finite times >= 0 ms")
    if t.size < min_n:
        raise InvalidInputError(f"{name}={t.tolist()}: {t.size} images; at least {min_n} are needed for this model")
    order = np.argsort(t, kind="stable")
    t, arr = t[order], arr[order]
    dup = t[1:][np.diff(t) == 0]
    if dup.size:
        raise InvalidInputError(f"{name}={np.asarray(times, dtype=float).tolist()}: duplicated time(s) {sorted(set(dup.tolist()))} ms")
    if not np.all(np.isfinite(arr)):
        raise InvalidInputError("images contain non-finite values")
    shape = arr.shape[1:]
    return arr.reshape(arr.shape[0], -1), t, shape


def inversion_times_from_headers(headers: Iterable[Any]) -> np.ndarray:
    """Inversion times (ms) of MOLLI/ShMOLLI source images from their DICOM headers.

    Reads (0018,0082) Inversion Time; where it is absent or zero for every image (some
    vendors leave it empty on MOLLI source images), (0020,4000) Image Comments is parsed for
    ``TI`` followed by a number (``"TI 100"``, ``"TI=100"``, ``"TI: 100 ms"``). ``headers`` are
    pydicom Datasets (or any mapping with ``.get``), one per image, in image order.

    Raises
    ------
    InvalidInputError
        If an image has no inversion time in either place (names the image index).
    """
    out = []
    hdrs = list(headers)
    from_tag = []
    for ds in hdrs:
        v = ds.get("InversionTime") if hasattr(ds, "get") else None
        try:
            from_tag.append(float(v) if v not in (None, "") else None)
        except (TypeError, ValueError):
            from_tag.append(None)
    use_tag = all(v is not None for v in from_tag) and any(v > 0 for v in from_tag)  # type: ignore[operator]
    for i, ds in enumerate(hdrs):
        if use_tag:
            out.append(from_tag[i])
            continue
        comment = str(ds.get("ImageComments", "") or "")
        m = re.search(r"\bTI\s*[:=]?\s*(\d+(?:\.\d+)?)", comment, flags=re.IGNORECASE)
        if m is None:
            raise InvalidInputError(
                f"image {i}: no inversion time in (0018,0082) Inversion Time ({from_tag[i]!r}) or in "
                f"(0020,4000) Image Comments ({comment!r})"
            )
        out.append(float(m.group(1)))
    return np.asarray(out, dtype=float)


# ----------------------------------------------------------------------------- engine
def _tau_grid(lo: float, hi: float, step: float = 0.02) -> np.ndarray:
    return np.exp(np.arange(np.log(lo), np.log(hi) + step, step))


def _grid_search(
    y: np.ndarray, w: np.ndarray, t: np.ndarray, taus: np.ndarray, offset: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Best ``(a, b, τ, rss)`` of ``y ≈ a + b·exp(−t/τ)`` (``a = 0`` if not ``offset``) over ``taus``.

    ``y``, ``w``: ``(n, N)`` samples and weights (0/1 masks or positive weights).
    """
    e = np.exp(-t[None, :] / taus[:, None])  # (G, n)
    wy = w * y
    s_ey = e @ wy  # (G, N)
    s_ee = (e * e) @ w
    s_yy = (wy * y).sum(0)
    if offset:
        s_w = w.sum(0)
        s_e = e @ w
        s_y = wy.sum(0)
        det = s_w[None] * s_ee - s_e * s_e
        det = np.where(np.abs(det) < 1e-12, np.nan, det)
        a = (s_ee * s_y[None] - s_e * s_ey) / det
        b = (s_w[None] * s_ey - s_e * s_y[None]) / det
        rss = s_yy[None] - (a * s_y[None] + b * s_ey)
    else:
        b = s_ey / np.where(s_ee > 0, s_ee, np.nan)
        a = np.zeros_like(b)
        rss = s_yy[None] - b * s_ey
    rss = np.where(np.isfinite(rss), rss, np.inf)
    k = np.argmin(rss, axis=0)
    cols = np.arange(y.shape[1])
    return a[k, cols], b[k, cols], taus[k], rss[k, cols]


def _basis(t: np.ndarray, taus: np.ndarray, offset: bool) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal bases ``Q`` (G, n, m) of the design matrices and their pseudo-inverses (G, m, n).

    Design matrix columns: ``[1, exp(−t/τ)]`` (``offset``) or ``[exp(−t/τ)]``.
    """
    e = np.exp(-t[None, :] / taus[:, None])
    x = np.stack([np.ones_like(e), e], axis=-1) if offset else e[..., None]
    q, _ = np.linalg.qr(x)
    return q, np.linalg.pinv(x)


def _grid_search_unweighted(
    y: np.ndarray, t: np.ndarray, taus: np.ndarray, offset: bool, basis=None, signs: Iterable[int] = (0,),
    valid_fn=None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fast unweighted variable-projection grid search, optionally over sign-restoration candidates.

    ``RSS(τ) = ‖y‖² − ‖Qᵀ(τ) y‖²``: one matrix product per block gives every (τ, pixel) pair.
    For polarity candidate ``k`` (first ``k`` samples negated) ``Qᵀ y_k`` is updated from
    ``Qᵀ y_{k−1}`` by a rank-one term. ``valid_fn(a, b)`` marks physically valid fits; a
    valid candidate always beats an invalid one. Returns ``a, b, τ, rss, k``.
    """
    q, pinv = basis if basis is not None else _basis(t, taus, offset)
    g, n, m = q.shape
    qt = q.transpose(0, 2, 1).reshape(g * m, n)  # (G·m, n)
    s_yy = (y * y).sum(0)
    proj = qt @ y  # (G·m, N) for k = 0
    npx = y.shape[1]
    cols = np.arange(npx)
    best_score = np.full(npx, np.inf)
    out = [np.full(npx, np.nan) for _ in range(4)] + [np.zeros(npx, dtype=np.int16)]
    ks = sorted(signs)
    k_prev = 0
    for k in ks:
        for j in range(k_prev, k):  # negate sample j
            proj -= 2.0 * qt[:, j][:, None] * y[j][None, :]
        k_prev = k
        rss = s_yy[None] - (proj.reshape(g, m, npx) ** 2).sum(1)
        gi = np.argmin(rss, axis=0)
        r = rss[gi, cols]
        sign = np.ones(n)
        sign[:k] = -1.0
        coef = np.einsum("kin,nk->ki", pinv[gi], y * sign[:, None])
        a = coef[:, 0] if offset else np.zeros(npx)
        b = coef[:, -1]
        score = r.copy()
        if valid_fn is not None:
            score = np.where(valid_fn(a, b), score, score + 1e300)
        better = score < best_score
        best_score = np.where(better, score, best_score)
        for o, v in zip(out, (a, b, taus[gi], r, np.full(npx, k))):
            o[better] = v[better]
    return tuple(out)  # type: ignore[return-value]


def _lm_refine(
    y: np.ndarray, w: np.ndarray, t: np.ndarray, a: np.ndarray, b: np.ndarray, tau: np.ndarray,
    offset: bool, n_iter: int = 12,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised Levenberg–Marquardt on ``(a, b, τ)`` (or ``(b, τ)``) for all pixels."""
    p = np.stack([a, b, tau], axis=1) if offset else np.stack([b, tau], axis=1)
    m = p.shape[1]

    def model(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if offset:
            aa, bb, tt = p[:, 0], p[:, 1], p[:, 2]
        else:
            aa, bb, tt = 0.0, p[:, 0], p[:, 1]
        e = np.exp(-t[:, None] / tt[None, :])  # (n, N)
        f = aa + bb[None, :] * e
        return f, e

    def cost(p: np.ndarray) -> np.ndarray:
        f, _ = model(p)
        return (w * (y - f) ** 2).sum(0)

    lam = np.full(p.shape[0], 1e-3)
    c = cost(p)
    eye = np.eye(m)
    for _ in range(n_iter):
        f, e = model(p)
        tt = p[:, -1]
        bb = p[:, -2]
        d_tau = bb[None, :] * e * t[:, None] / (tt[None, :] ** 2)
        cols = ([np.ones_like(e)] if offset else []) + [e, d_tau]
        jac = np.stack(cols, axis=-1)  # (n, N, m)
        r = y - f
        jw = jac * w[..., None]
        jtj = np.einsum("nki,nkj->kij", jw, jac)
        jtr = np.einsum("nki,nk->ki", jw, r)
        diag = np.einsum("kii->ki", jtj)
        lhs = jtj + (lam[:, None] * np.maximum(diag, 1e-12))[:, :, None] * eye[None]
        ok = np.all(np.isfinite(lhs), axis=(1, 2)) & (np.abs(np.linalg.det(lhs)) > 0)
        step = np.zeros_like(p)
        if ok.any():
            step[ok] = np.linalg.solve(lhs[ok], jtr[ok][..., None])[..., 0]
        new = p + step
        new[:, -1] = np.where(new[:, -1] > 0, new[:, -1], p[:, -1] * 0.5)
        c_new = cost(new)
        better = np.isfinite(c_new) & (c_new < c)
        p = np.where(better[:, None], new, p)
        c = np.where(better, c_new, c)
        lam = np.where(better, lam / 3.0, np.minimum(lam * 4.0, 1e8))
    if offset:
        return p[:, 0], p[:, 1], p[:, 2], c
    return np.zeros(p.shape[0]), p[:, 0], p[:, 1], c


# ----------------------------------------------------------------------------- T1
@dataclass
class T1Fit:
    """Result of :func:`fit_t1_molli`; every map has the trailing shape of the input (``(y, x)``).

    Attributes
    ----------
    t1
        Look-Locker corrected T1 (ms), ``T1*·(B/A − 1)``; NaN where the fit is not valid.
    t1_star
        Apparent T1* (ms).
    a, b
        Fitted ``A`` and ``B`` (signal units).
    residual
        Root-mean-square residual of the fit (signal units), the goodness-of-fit map.
    null_index
        Number of leading (sorted) samples whose sign was restored (negated).
    valid
        ``A > 0``, ``B > A`` and finite T1 (background pixels are usually not valid).
    inversion_times_ms
        The sorted inversion times used.
    """

    t1: np.ndarray
    t1_star: np.ndarray
    a: np.ndarray
    b: np.ndarray
    residual: np.ndarray
    null_index: np.ndarray
    valid: np.ndarray
    inversion_times_ms: np.ndarray
    method: str = ""
    reference: str = MOLLI_REFERENCE

    @property
    def relative_residual(self) -> np.ndarray:
        """RMS residual / A (dimensionless)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.residual / np.abs(self.a)


def fit_t1_molli(
    images: Any,
    inversion_times_ms: Sequence[float],
    *,
    polarity: Literal["restore", "signed"] = "restore",
    t1_star_range_ms: tuple[float, float] = (20.0, 6000.0),
    n_iter: int = 12,
) -> T1Fit:
    """Pixel-wise MOLLI/ShMOLLI T1 fit, vectorised over all pixels.

    Parameters
    ----------
    images
        ``(n, y, x)`` source images (magnitude, or signed/real PSIR-like data with
        ``polarity="signed"``), scanner units.
    inversion_times_ms
        ``(n,)`` effective inversion times in ms, one per image (any order: sorted with the
        images). Read from (0018,0082) Inversion Time or Image Comments
        (:func:`inversion_times_from_headers`).
    polarity
        ``"restore"`` (magnitude input; every candidate null point is fitted and the best
        valid one kept) or ``"signed"`` (the data already carry their sign).
    t1_star_range_ms
        Range of the T1* search grid (2 % log steps) before refinement.

    Returns
    -------
    T1Fit
        ``.t1`` (ms, Look-Locker corrected), ``.t1_star`` (ms), ``.a``, ``.b``, ``.residual``
        (RMS, signal units) maps of shape ``(y, x)``.

    Raises
    ------
    InvalidInputError
        Times missing, of the wrong length, negative or duplicated; fewer than 3 images.

    Notes
    -----
    Model ``S(TI) = A − B·exp(−TI/T1*)``, ``T1 = T1*·(B/A − 1)`` (Messroghli et al. 2004,
    doi:10.1002/mrm.20110).
    """
    y, t, shape = _check_series(images, inversion_times_ms, "inversion_times_ms", 3)
    if polarity not in ("restore", "signed"):
        raise InvalidInputError(f"polarity={polarity!r}: expected 'restore' or 'signed'")
    n, npx = y.shape
    taus = _tau_grid(*t1_star_range_ms)
    a_out = np.full(npx, np.nan)
    b_out = np.full(npx, np.nan)
    tau_out = np.full(npx, np.nan)
    rss_out = np.full(npx, np.nan)
    k_out = np.zeros(npx, dtype=np.int16)
    ks = range(n) if polarity == "restore" else range(1)
    basis = _basis(t, taus, True)
    valid_fn = lambda a, bneg: (a > 0) & (-bneg > a)  # noqa: E731  (b = -B in the engine's sign convention)
    for s in range(0, npx, _CHUNK):
        blk = slice(s, min(npx, s + _CHUNK))
        yb = np.abs(y[:, blk]) if polarity == "restore" else y[:, blk]
        a, bneg, tau, _, kk = _grid_search_unweighted(yb, t, taus, True, basis, ks, valid_fn)
        sign = np.where(np.arange(n)[:, None] < kk[None, :], -1.0, 1.0)
        a2, bneg2, tau2, rss2 = _lm_refine(yb * sign, np.ones_like(yb), t, a, bneg, tau, offset=True, n_iter=n_iter)
        a_out[blk], b_out[blk], tau_out[blk], rss_out[blk] = a2, -bneg2, tau2, rss2
        k_out[blk] = kk
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = tau_out * (b_out / a_out - 1.0)
    valid = (a_out > 0) & (b_out > a_out) & np.isfinite(t1) & (t1 > 0)
    t1 = np.where(valid, t1, np.nan)
    resid = np.sqrt(np.maximum(rss_out, 0.0) / n)
    method = (
        f"3-parameter fit S(TI)=A-B*exp(-TI/T1*) on {n} inversion times {t.tolist()} ms, Look-Locker "
        f"correction T1=T1*(B/A-1); {'polarity restoration (best of every candidate null point)' if polarity == 'restore' else 'signed data'}; "
        "vectorised variable-projection grid (2% steps in T1*) + Levenberg-Marquardt"
    )
    return T1Fit(
        t1=t1.reshape(shape), t1_star=tau_out.reshape(shape), a=a_out.reshape(shape), b=b_out.reshape(shape),
        residual=resid.reshape(shape), null_index=k_out.reshape(shape), valid=valid.reshape(shape),
        inversion_times_ms=t, method=method,
    )


# ----------------------------------------------------------------------------- T2, T2*
@dataclass
class T2Fit:
    """Result of :func:`fit_t2`: ``.t2`` (ms), ``.s0``, ``.residual`` (RMS) maps, ``.valid``."""

    t2: np.ndarray
    s0: np.ndarray
    residual: np.ndarray
    valid: np.ndarray
    echo_times_ms: np.ndarray
    method: str = ""


@dataclass
class T2StarFit:
    """Result of :func:`fit_t2star`: ``.t2star`` (ms), ``.s0``, ``.offset``, ``.residual``, ``.n_echoes_used``."""

    t2star: np.ndarray
    s0: np.ndarray
    offset: np.ndarray
    residual: np.ndarray
    n_echoes_used: np.ndarray
    valid: np.ndarray
    echo_times_ms: np.ndarray
    method: str = ""
    reference: str = T2STAR_REFERENCE


def _mono_fit(y: np.ndarray, w: np.ndarray, t: np.ndarray, taus: np.ndarray, offset: bool, n_iter: int):
    npx = y.shape[1]
    out = [np.full(npx, np.nan) for _ in range(4)]
    for s in range(0, npx, _CHUNK):
        blk = slice(s, min(npx, s + _CHUNK))
        if np.all(w[:, blk] == 1.0):
            a, b, tau, _, _ = _grid_search_unweighted(y[:, blk], t, taus, offset)
        else:
            a, b, tau, _ = _grid_search(y[:, blk], w[:, blk], t, taus, offset)
        res = _lm_refine(y[:, blk], w[:, blk], t, a, b, tau, offset, n_iter)
        for o, r in zip(out, res):
            o[blk] = r
    return out


def fit_t2(images: Any, echo_times_ms: Sequence[float], *, t2_range_ms: tuple[float, float] = (2.0, 2000.0),
           n_iter: int = 10) -> T2Fit:
    """Pixel-wise mono-exponential T2 fit ``S = S0·exp(−TE/T2)``, vectorised.

    Parameters
    ----------
    images
        ``(n, y, x)`` magnitude images, one per echo time (or T2-preparation duration).
    echo_times_ms
        ``(n,)`` times in ms ((0018,0081) Echo Time, or the T2-prep duration), n ≥ 2.

    Returns
    -------
    T2Fit
        ``.t2`` (ms), ``.s0`` and ``.residual`` (RMS, signal units) of shape ``(y, x)``.
    """
    y, t, shape = _check_series(images, echo_times_ms, "echo_times_ms", 2)
    y = np.abs(y)
    a, s0, t2, rss = _mono_fit(y, np.ones_like(y), t, _tau_grid(*t2_range_ms), False, n_iter)
    valid = (s0 > 0) & np.isfinite(t2) & (t2 > 0)
    return T2Fit(
        t2=np.where(valid, t2, np.nan).reshape(shape), s0=s0.reshape(shape),
        residual=np.sqrt(np.maximum(rss, 0) / len(t)).reshape(shape), valid=valid.reshape(shape),
        echo_times_ms=t, method=f"mono-exponential S0*exp(-TE/T2) least squares on TE {t.tolist()} ms",
    )


def fit_t2star(
    images: Any,
    echo_times_ms: Sequence[float],
    *,
    noise_floor: float | None = None,
    model: Literal["truncation", "offset"] = "truncation",
    t2star_range_ms: tuple[float, float] = (0.5, 500.0),
    n_iter: int = 10,
) -> T2StarFit:
    """Pixel-wise T2* fit with noise-floor handling, vectorised.

    Parameters
    ----------
    images
        ``(n, y, x)`` multi-echo gradient-echo magnitude images.
    echo_times_ms
        ``(n,)`` echo times in ms ((0018,0081) Echo Time).
    noise_floor
        Magnitude (signal units) at or below which an echo is noise-dominated, e.g. the mean
        background magnitude (≈ 1.25 σ for Rician noise) times 1.5–2. Required for
        ``model="truncation"``; ignored for ``"offset"``.
    model
        ``"truncation"``: per pixel, the first echo at or below ``noise_floor`` and all later
        ones are dropped and ``S0·exp(−TE/T2*)`` is fitted to the rest (at least 2 echoes are
        kept). ``"offset"``: ``S0·exp(−TE/T2*) + C`` on all echoes (needs n ≥ 3).

    Returns
    -------
    T2StarFit
        ``.t2star`` (ms), ``.s0``, ``.offset`` (0 for truncation), ``.residual`` (RMS over the
        echoes used), ``.n_echoes_used``.
    """
    if model not in ("truncation", "offset"):
        raise InvalidInputError(f"model={model!r}: expected 'truncation' or 'offset'")
    y, t, shape = _check_series(images, echo_times_ms, "echo_times_ms", 3 if model == "offset" else 2)
    y = np.abs(y)
    n = len(t)
    if model == "truncation":
        if noise_floor is None or not np.isfinite(noise_floor) or noise_floor < 0:
            raise InvalidInputError(f"noise_floor={noise_floor!r}: expected a magnitude >= 0 for model='truncation'")
        below = y <= float(noise_floor)
        first_below = np.where(below.any(0), below.argmax(0), n)
        keep_n = np.maximum(first_below, 2)
        w = (np.arange(n)[:, None] < keep_n[None, :]).astype(float)
        a, s0, t2s, rss = _mono_fit(y, w, t, _tau_grid(*t2star_range_ms), False, n_iter)
        method = f"truncation model: echoes at or below noise floor {float(noise_floor):g} dropped; S0*exp(-TE/T2*)"
    else:
        w = np.ones_like(y)
        keep_n = np.full(y.shape[1], n)
        a, s0, t2s, rss = _mono_fit(y, w, t, _tau_grid(*t2star_range_ms), True, n_iter)
        method = "offset model S0*exp(-TE/T2*)+C on all echoes"
    valid = (s0 > 0) & np.isfinite(t2s) & (t2s > 0)
    return T2StarFit(
        t2star=np.where(valid, t2s, np.nan).reshape(shape), s0=s0.reshape(shape), offset=a.reshape(shape),
        residual=np.sqrt(np.maximum(rss, 0) / keep_n).reshape(shape), n_echoes_used=keep_n.reshape(shape),
        valid=valid.reshape(shape), echo_times_ms=t, method=method + f"; TE {t.tolist()} ms",
    )


# ----------------------------------------------------------------------------- vendor maps
def map_from_vendor(stored: Any, *, slope: float = 1.0, intercept: float = 0.0, unit: str = "ms") -> np.ndarray:
    """Values of a scanner-generated T1/T2/T2* map in ms.

    Applies (0028,1053) Rescale Slope and (0028,1052) Rescale Intercept (``heartprint.io``
    already does this when it loads a series; pass the defaults then). ``unit`` is the map's
    unit as written by the vendor ((0028,1054) Rescale Type or (0040,08EA) Measurement Units
    Code Sequence): ``"ms"`` or ``"s"``.
    """
    if unit not in ("ms", "s"):
        raise InvalidInputError(f"unit={unit!r}: expected 'ms' or 's' for a relaxation-time map")
    if not np.isfinite(slope) or slope == 0:
        raise InvalidInputError(f"slope={slope!r}: expected a finite non-zero (0028,1053) Rescale Slope")
    vals = np.asarray(stored, dtype=float) * float(slope) + float(intercept)
    return vals * (1000.0 if unit == "s" else 1.0)


# ----------------------------------------------------------------------------- ROIs and segments
@dataclass
class _SegmentInfo:
    segments: np.ndarray
    levels: dict[int, str]
    notes: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- series entry
MAPPING_SCHEMA = "heartprint.cmr.t1_mapping/1"


def map_region_summary(
    values: np.ndarray, labels: np.ndarray, affine: np.ndarray, *, levels: dict[int, str] | None = None,
    insertion_points_lps=None,
) -> dict[str, Any]:
    """Per-segment and global mean/SD of a map inside the mid-wall third, plus LV blood pool.

    ``values`` ``(z, y, x)`` (ms or fraction), ``labels`` heartprint labels on that grid. A
    single-slice map is taken as the mid-ventricular level unless ``levels`` says otherwise.
    Blood pool: LV cavity eroded by 2 pixels (away from the papillary muscles and wall).
    """
    lab = np.asarray(labels)
    if levels is None and lab.shape[0] == 1:
        levels = {0: "mid"}
    seg, aha = _segments(affine, lab, levels=levels, insertion_points_lps=insertion_points_lps)
    sp = np.linalg.norm(np.asarray(affine)[:3, :3], axis=0)
    myo, cav = lab == 2, lab == 1
    roi = mid_wall_mask(myo, cav, (float(sp[1]), float(sp[2])))
    per = segment_map_statistics(values, seg, roi)
    v = np.asarray(values, float)[roi & np.isfinite(values)]
    blood_roi = np.stack([ndimage.binary_erosion(c, iterations=2) for c in cav])
    b = np.asarray(values, float)[blood_roi & np.isfinite(values)]
    return {
        "segments": {str(k): {kk: round(vv, 4) if isinstance(vv, float) else vv for kk, vv in d.items()} for k, d in per.items()},
        "global": {"mean": float(v.mean()) if v.size else None, "sd": float(v.std(ddof=1)) if v.size > 1 else None,
                   "n": int(v.size)},
        "blood": {"mean": float(b.mean()) if b.size else None, "sd": float(b.std(ddof=1)) if b.size > 1 else None,
                  "n": int(b.size)},
        "roi_rule": "middle third of the wall (normalised depth 1/3-2/3), away from blood-pool partial volume",
        "levels": {str(k): v for k, v in aha.levels.items()},
    }

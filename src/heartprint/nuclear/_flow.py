"""PET myocardial blood flow (MBF) from dynamic time–activity curves: one-tissue compartment model.

**Model.** With the arterial (LV-cavity) blood input C_b(t) and the tissue concentration
C_t(t) = K1 · (C_b ⊗ e^{−k2 t})(t), the measured myocardial curve is

    C_myo(t) = (1 − Vb) · C_t(t) + Vb · C_b(t)

where Vb (fraction, 0 ≤ Vb ≤ :data:`VB_MAX`) absorbs the myocardial blood volume *and* the spill-over of
LV-cavity activity into the myocardial region. K1 (uptake rate) is then converted to MBF by inverting the
tracer's extraction model K1 = MBF · E(MBF):

* Rb-82: K1 = MBF · [1 − 0.77 · exp(−0.63 / MBF)] — Lortie M et al., "Quantification of myocardial blood
  flow with 82Rb dynamic PET imaging", Eur J Nucl Med Mol Imaging 2007;34:1765–1774,
  doi:10.1007/s00259-007-0478-2 (✅S: A = 0.77, B = 0.63 mL/min/g as quoted from Lortie et al. by the PMOD
  documentation of its 'Card. Rb82 (1 Compartment)' model, doc37.pmod.com; the paper itself not re-read here).
* N-13 ammonia: K1 = MBF · [1 − 0.607 · exp(−1.25 / MBF)] (⚠M: the constants were not found in the sources
  searched — PMOD model documentation, rdrr.io traceRkinetic, web pages — so they stay unverified; the form is the
  flow-dependent first-pass extraction of ammonia, usually traced to canine data of Schelbert HR et al.,
  Circulation 1981 — that citation itself not verified here). The former attribution to DeGrado TR et al., J Nucl Cardiol
  1996;3:494–507 is *withdrawn*: PMOD's description of that model ("Card. NH3 (de Grado)",
  doc.pmod.com/pkin/pmclass_lib_pmkin_models_pkcardiacnh3degradomodel.html, checked) takes K1 = MBF with a linear
  metabolite correction of the input (mCorr = 0.077/min) and fits only the first 4 min — a different model.

For both, f(F) = F·(1 − A·e^{−B/F}) has f′(F) ≥ 1 − A > 0 (since e^{−x}(1 + x) ≤ 1), so it is strictly
increasing with (1 − A)·F ≤ f(F) ≤ F; the inversion is a vectorised bisection on [K1, K1 / (1 − A)] to
machine precision (:func:`mbf_from_k1`).

**Tissue fraction (partial volume).** A region's signal is TF·C_t + Vb·C_b: only the products a = TF·K1 and
Vb are identifiable from the curves, TF (the fraction of the region's signal that is perfusable tissue, the
"tissue fraction" of Hutchins GD et al., J Am Coll Cardiol 1990;15:1032–1042, doi:10.1016/0735-1097(90)90237-J,
and of the perfusable-tissue-fraction idea of Iida H et al. for O-15 water, ⚠ neither re-read here) is not. The
Lortie 2007 model takes TF = 1 − Vb: everything that is not blood (myocardial blood volume *or* spill-over from the
cavity) is tissue — true only when the region loses nothing to low-activity surroundings. A wall blurred by the
scanner also spills *out* toward lung / body: with L the fraction of the point-spread function at the sample point
lying outside the wall (weighted by 1 − outside/wall activity), the signal budget RC + S_cavity + S_outside = 1
gives TF = 1 − Vb − L (``tissue_loss`` = L; derivation: signal = RC·[(1 − v)C_t + v·C_b] + S_cav·C_b + S_out·C_out,
Vb = RC·v + S_cav, so RC·(1 − v) = 1 − Vb − S_out when C_out ≈ 0). L comes from the image (geometry and
resolution), not from the curves: see :func:`heartprint.nuclear._petflow.wall_profile_fit`.

**Units and conventions.** Times are seconds from the start of the injection (t = 0); the blood input is
taken as 0 at t = 0 and as the measured blood value at each frame's mid time, linear in between and
constant after the last mid time. Both TACs must be in the same units (e.g. Bq/mL) and both decay-corrected
(if neither is, K1 is unchanged and k2 absorbs the decay constant). K1 is reported in mL/min/g and k2 in
1/min (the fit works per second and multiplies by 60); tissue is taken as 1 g/mL (⚠ the usual convention of
the extraction models; divide by 1.05 g/mL for a mass-based value). MBF is in mL/min/g.

**Convolution.** The piecewise-linear input is integrated *exactly* against e^{−k2 t} between its knots
(t = 0, the frame mid times and, with durations, the frame boundaries — no time grid is needed, so no
discretisation error beyond the piecewise-linear input itself): per interval of length Δ,
y_{j+1} = y_j·e^{−kΔ} + c_j·(1 − e^{−kΔ})/k + (c_{j+1} − c_j)/Δ · (Δ − (1 − e^{−kΔ})/k)/k, evaluated for all
knots at once as a scaled cumulative sum. With frame durations the model is frame-averaged, exactly, from
y′ = C_b − k·y: ∫_frame y dt = (∫_frame C_b dt − [y(end) − y(start)]) / k; without, it is sampled at the mid
times. The measured blood value is used as is for the Vb term. ⚠ Representing a frame-averaged input by its
value at the mid time smooths a sharp bolus: with 10-s early frames this biases MBF by about +1 % in
noise-free simulations (5-s frames: +0.3 %).

**Fit (vectorised over regions).** For fixed k2 the model is linear in a = K1·(1 − Vb) and Vb:
C_myo = a·g(k2) + Vb·C_b. (a, Vb) follow in closed form by bounded linear least squares (a ≥ 0,
0 ≤ Vb ≤ VB_MAX; interior solution or the best of the three edges). k2 is found by a grid search
(:data:`N_K2_GRID` log-spaced values in [:data:`K2_MIN`, :data:`K2_MAX`] 1/min) and refined by a golden-section
search in log k2 on the bracketing grid interval ("variable projection"), all regions at once. Then
K1 = a / TF with TF = 1 − Vb − L (L = 0 by default; TF ≤ 0 → K1 and MBF NaN). Unweighted least squares over the frames in the fit window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from heartprint.errors import InvalidInputError

__all__ = [
    "EXTRACTION_MODELS", "K2_MIN", "K2_MAX", "VB_MAX", "N_K2_GRID", "FlowFit", "fit_mbf",
    "k1_from_mbf", "mbf_from_k1", "myocardial_flow_reserve", "one_tissue_model",
]

#: Tracer → (A, B, reference) of K1 = MBF · [1 − A·exp(−B/MBF)] (see module docstring: Rb-82 ✅S, ammonia ⚠M).
EXTRACTION_MODELS: dict[str, tuple[float, float, str]] = {
    "rb82": (0.77, 0.63, "Lortie M et al. Eur J Nucl Med Mol Imaging 2007;34:1765-1774. doi:10.1007/s00259-007-0478-2"),
    "n13-ammonia": (0.607, 1.25, "N-13 ammonia first-pass extraction, usually traced to Schelbert HR et al. "
                    "Circulation 1981 (citation and constants not verified against a source, ⚠M)"),
}
_TRACER_ALIASES = {
    "rb82": "rb82", "rb-82": "rb82", "82rb": "rb82", "rubidium-82": "rb82", "rubidium": "rb82",
    "n13-ammonia": "n13-ammonia", "nh3": "n13-ammonia", "13n-ammonia": "n13-ammonia", "n13": "n13-ammonia",
    "n-13-ammonia": "n13-ammonia", "ammonia": "n13-ammonia", "13nh3": "n13-ammonia",
}
K2_MIN = 0.005  # 1/min
K2_MAX = 10.0  # 1/min
VB_MAX = 0.95
N_K2_GRID = 64
N_GOLDEN = 30
_GOLD = (np.sqrt(5.0) - 1.0) / 2.0
_MAX_EXPONENT = 700.0


def _tracer(tracer: str) -> str:
    key = _TRACER_ALIASES.get(str(tracer).strip().lower()) if isinstance(tracer, str) else None
    if key is None:
        raise InvalidInputError(f"tracer={tracer!r}: expected one of {sorted(EXTRACTION_MODELS)} (Rb-82 or N-13 ammonia)")
    return key


def k1_from_mbf(mbf: Any, tracer: str = "rb82") -> np.ndarray | float:
    """K1 (mL/min/g) = MBF · [1 − A·exp(−B/MBF)] for the tracer's extraction model; MBF ≤ 0 → 0."""
    a, b, _ = EXTRACTION_MODELS[_tracer(tracer)]
    f = np.asarray(mbf, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        k1 = np.where(f > 0, f * (1.0 - a * np.exp(-b / np.where(f > 0, f, 1.0))), 0.0)
    return float(k1) if k1.ndim == 0 else k1


def mbf_from_k1(k1: Any, tracer: str = "rb82") -> np.ndarray | float:
    """MBF (mL/min/g) from K1 (mL/min/g) by inverting the extraction model (bisection, machine precision).

    K1 ≤ 0 → 0; NaN → NaN.
    """
    a, b, _ = EXTRACTION_MODELS[_tracer(tracer)]
    k = np.asarray(k1, dtype=float)
    pos = np.isfinite(k) & (k > 0)
    kk = np.where(pos, k, 1.0)
    lo, hi = kk.copy(), kk / (1.0 - a)
    for _ in range(200):  # halves the bracket each time; stops when it no longer moves
        mid = 0.5 * (lo + hi)
        f = mid * (1.0 - a * np.exp(-b / mid))
        below = f < kk
        new_lo, new_hi = np.where(below, mid, lo), np.where(below, hi, mid)
        if np.array_equal(new_lo, lo) and np.array_equal(new_hi, hi):
            break
        lo, hi = new_lo, new_hi
    out = np.where(pos, 0.5 * (lo + hi), np.where(np.isnan(k), np.nan, 0.0))
    return float(out) if out.ndim == 0 else out


@dataclass
class _Protocol:
    mid: np.ndarray  # (n_frames,) s
    durations: np.ndarray | None  # (n_frames,) s, or None (sampled at mid times)
    knots: np.ndarray  # (n_knots,) s: 0, mid times and frame boundaries, sorted, unique
    cb_knots: np.ndarray  # (n_knots,) piecewise-linear blood input at the knots
    i_mid: np.ndarray  # knot index of each mid time
    i_start: np.ndarray | None  # knot index of each frame start / end
    i_end: np.ndarray | None
    cb_frame_integral: np.ndarray | None  # ∫ C_b dt over each frame (exact for the piecewise-linear input)


def _as_1d(x: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name}: expected a 1-D numeric array") from exc
    if arr.ndim != 1 or arr.size == 0:
        raise InvalidInputError(f"{name}: expected a non-empty 1-D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InvalidInputError(f"{name}: holds non-finite values; expected finite numbers")
    return arr


def _protocol(blood: np.ndarray, mid: np.ndarray, durations: Any) -> _Protocol:
    n = mid.size
    if blood.size != n:
        raise InvalidInputError(f"blood_tac: {blood.size} frames, expected {n} (one per frame_mid_times_s)")
    if mid[0] < 0:
        raise InvalidInputError(f"frame_mid_times_s[0]={mid[0]}: expected ≥ 0 s (time from injection)")
    if n > 1 and not np.all(np.diff(mid) > 0):
        raise InvalidInputError("frame_mid_times_s: expected strictly increasing times (s)")
    start = end = d = None
    if durations is not None:
        d = _as_1d(durations, "frame_durations_s")
        if d.size != n:
            raise InvalidInputError(f"frame_durations_s: {d.size} values, expected {n} (one per frame)")
        if not np.all(d > 0):
            raise InvalidInputError(f"frame_durations_s: {int(np.sum(d <= 0))} values ≤ 0; expected positive seconds")
        start, end = mid - d / 2.0, mid + d / 2.0
        tol = 1e-6 * max(1.0, float(end[-1]))
        if start[0] < -tol:
            raise InvalidInputError(f"frame_durations_s: the first frame starts at {start[0]:.3f} s; expected ≥ 0")
        if n > 1 and np.any(start[1:] < end[:-1] - tol):
            raise InvalidInputError("frame_durations_s: frames overlap (a frame starts before the previous ends)")
        start = np.maximum(start, 0.0)
        d = end - start
    parts = [np.zeros(1), mid] + ([start, end] if start is not None else [])
    knots = np.unique(np.concatenate(parts))
    if mid[0] > 0:
        cb_knots = np.interp(knots, np.concatenate([[0.0], mid]), np.concatenate([[0.0], blood]))
    else:
        cb_knots = np.interp(knots, mid, blood)
    i_start = i_end = integral = None
    if start is not None:
        i_start, i_end = np.searchsorted(knots, start), np.searchsorted(knots, end)
        cum = np.concatenate([[0.0], np.cumsum(0.5 * (cb_knots[1:] + cb_knots[:-1]) * np.diff(knots))])
        integral = cum[i_end] - cum[i_start]
    return _Protocol(mid=mid, durations=d, knots=knots, cb_knots=cb_knots, i_mid=np.searchsorted(knots, mid),
                     i_start=i_start, i_end=i_end, cb_frame_integral=integral)


def _response(k2_per_min: np.ndarray, proto: _Protocol) -> np.ndarray:
    """Frame-averaged (or mid-time sampled) C_b ⊗ e^{−k2 t} (time in s) for each k2 → (m, n_frames).

    Exact for the piecewise-linear input: y(t_{j+1}) = y(t_j)·e^{−kΔ} + c_j·A + (c_{j+1} − c_j)/Δ·B with
    A = (1 − e^{−kΔ})/k, B = (Δ − A)/k, summed for all knots at once as a scaled cumulative sum. Frame means
    use y′ = C_b − k·y: ∫_frame y dt = (∫_frame C_b dt − [y(end) − y(start)]) / k.
    """
    k = (np.asarray(k2_per_min, float) / 60.0)[:, None]  # 1/s
    t = proto.knots
    dts = np.diff(t)[None, :]
    A = -np.expm1(-k * dts) / k
    B = (dts - A) / k
    c = proto.cb_knots
    u = c[None, :-1] * A + (np.diff(c) / np.diff(t))[None, :] * B  # (m, n_knots − 1)
    E = np.exp(k * (t[None, 1:] - 0.5 * t[-1]))
    y = np.zeros((k.shape[0], t.size))
    y[:, 1:] = np.cumsum(u * E, axis=1) / E
    if proto.i_start is None:
        return y[:, proto.i_mid]
    return (proto.cb_frame_integral[None, :] - (y[:, proto.i_end] - y[:, proto.i_start])) / k / proto.durations[None, :]


def _solve(gg, gc, cc, gy, cy, yy):
    """Bounded LS for y ≈ a·g + v·c with a ≥ 0, 0 ≤ v ≤ VB_MAX, from inner products (broadcast)."""
    def rss(a, v):
        return yy - 2.0 * (a * gy + v * cy) + a * a * gg + 2.0 * a * v * gc + v * v * cc

    with np.errstate(divide="ignore", invalid="ignore"):
        det = gg * cc - gc * gc
        a0 = (gy * cc - gc * cy) / det
        v0 = (gg * cy - gc * gy) / det
    ok = np.isfinite(a0) & np.isfinite(v0) & (a0 >= 0) & (v0 >= 0) & (v0 <= VB_MAX)
    a0, v0 = np.where(ok, a0, 0.0), np.where(ok, v0, 0.0)
    cands = [
        (a0, v0, np.where(ok, rss(a0, v0), np.inf)),
        (np.maximum(gy / gg, 0.0), np.zeros_like(a0), None),
        (np.maximum((gy - VB_MAX * gc) / gg, 0.0), np.full_like(a0, VB_MAX), None),
        (np.zeros_like(a0), np.clip(cy / cc, 0.0, VB_MAX) * np.ones_like(a0), None),
    ]
    best_a, best_v, best_r = cands[0]
    for a, v, r in cands[1:]:
        r = rss(a, v)
        better = r < best_r
        best_a, best_v, best_r = np.where(better, a, best_a), np.where(better, v, best_v), np.where(better, r, best_r)
    return best_a, best_v, best_r


@dataclass
class FlowFit:
    """Outcome of :func:`fit_mbf`: floats for one region, arrays (n_regions,) for a batch.

    ``mbf`` and ``k1`` in mL/min/g, ``k2`` in 1/min, ``blood_volume`` Vb (fraction), ``residual`` the RMS
    residual over the fitted frames (TAC units), ``fitted`` the model curve over all frames, ``k2_at_bound``
    True where k2 ended at a bound of [K2_MIN, K2_MAX] (fit unreliable), ``tissue_fraction`` TF = 1 − Vb − L
    (L the ``tissue_loss`` given to :func:`fit_mbf`; K1 = a / TF).
    """

    mbf: Any
    k1: Any
    k2: Any
    blood_volume: Any
    residual: Any
    fitted: np.ndarray
    k2_at_bound: Any
    tracer: str
    method: str
    references: list[str] = field(default_factory=list)
    tissue_fraction: Any = None

    def to_dict(self) -> dict[str, Any]:
        def conv(v):
            return v.tolist() if isinstance(v, np.ndarray) else v
        return {k: conv(v) for k, v in self.__dict__.items()}


def one_tissue_model(
    k1: Any, k2: Any, blood_volume: Any, blood_tac: Any, frame_mid_times_s: Any, frame_durations_s: Any = None,
) -> np.ndarray:
    """Model myocardial TAC(s) (1-D, or (n, n_frames) for array parameters) for K1 (mL/min/g), k2 (1/min), Vb."""
    mid = _as_1d(frame_mid_times_s, "frame_mid_times_s")
    blood = _as_1d(blood_tac, "blood_tac")
    proto = _protocol(blood, mid, frame_durations_s)
    k1a, k2a, vba = np.broadcast_arrays(*(np.atleast_1d(np.asarray(x, float)) for x in (k1, k2, blood_volume)))
    if np.any(k2a <= 0):
        raise InvalidInputError("k2: expected > 0 (1/min)")
    g = _response(k2a, proto)
    out = (1.0 - vba)[:, None] * (k1a / 60.0)[:, None] * g + vba[:, None] * blood[None, :]
    scalar = all(np.ndim(x) == 0 for x in (k1, k2, blood_volume))
    return out[0] if scalar else out


def fit_mbf(
    myocardium_tac: Any,
    blood_tac: Any,
    frame_mid_times_s: Any,
    *,
    frame_durations_s: Any = None,
    tracer: str = "rb82",
    fit_window_s: Any = None,
    tissue_loss: Any = 0.0,
) -> FlowFit:
    """Fit the one-tissue compartment model and convert K1 to MBF (see the module docstring).

    ``myocardium_tac``: (n_frames,) or (n_regions, n_frames) (e.g. 17 segments + global, fitted at once);
    ``blood_tac``: (n_frames,) LV-cavity input; ``frame_mid_times_s``: strictly increasing, s from injection;
    ``frame_durations_s``: optional (frame-averaged model); ``tracer``: "rb82" or "n13-ammonia";
    ``fit_window_s``: None (all frames), an end time, or (start, end) in s — frames whose mid time lies inside;
    ``tissue_loss``: L ≥ 0, scalar or (n_regions,): the fraction of the region's signal lost to low-activity
    surroundings by partial volume (module docstring, "Tissue fraction"); K1 = a / (1 − Vb − L). 0 (default):
    the Lortie 2007 model, TF = 1 − Vb.
    """
    key = _tracer(tracer)
    mid = _as_1d(frame_mid_times_s, "frame_mid_times_s")
    blood = _as_1d(blood_tac, "blood_tac")
    try:
        y = np.asarray(myocardium_tac, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError("myocardium_tac: expected a numeric (n_frames,) or (n_regions, n_frames) array") from exc
    single = y.ndim == 1
    y2 = y[None, :] if single else y
    if y2.ndim != 2 or y2.shape[0] == 0:
        raise InvalidInputError(f"myocardium_tac: shape {y.shape}, expected (n_frames,) or (n_regions, n_frames)")
    if y2.shape[1] != mid.size:
        raise InvalidInputError(f"myocardium_tac: {y2.shape[1]} frames, expected {mid.size} (one per frame_mid_times_s)")
    if not np.all(np.isfinite(y2)):
        raise InvalidInputError("myocardium_tac: holds non-finite values; expected finite numbers")
    proto = _protocol(blood, mid, frame_durations_s)
    try:
        loss = np.broadcast_to(np.asarray(tissue_loss, dtype=float), (y2.shape[0],)).copy()
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"tissue_loss: expected a number or one per region ({y2.shape[0]})") from exc
    if not (np.all(np.isfinite(loss)) and np.all(loss >= 0.0) and np.all(loss < 1.0)):
        raise InvalidInputError(f"tissue_loss={tissue_loss!r}: expected fractions in [0, 1)")

    if fit_window_s is None:
        lo_t, hi_t = -np.inf, np.inf
    else:
        w = np.atleast_1d(np.asarray(fit_window_s, dtype=float))
        if w.size == 1:
            lo_t, hi_t = -np.inf, float(w[0])
        elif w.size == 2 and w[0] < w[1]:
            lo_t, hi_t = float(w[0]), float(w[1])
        else:
            raise InvalidInputError(f"fit_window_s={fit_window_s!r}: expected an end time or (start, end) in s")
    sel = (mid >= lo_t) & (mid <= hi_t)
    if int(sel.sum()) < 4:
        raise InvalidInputError(f"fit_window_s={fit_window_s!r}: {int(sel.sum())} frames inside, expected ≥ 4 (3 parameters)")
    if not np.any(blood[sel] != 0):
        raise InvalidInputError("blood_tac: all zero in the fit window; expected an input function")

    ys = y2[:, sel]
    c = blood[sel]
    cc = float(c @ c)
    cy = ys @ c
    yy = np.sum(ys * ys, axis=1)
    k2_hi = min(K2_MAX, 60.0 * _MAX_EXPONENT / max(0.5 * proto.knots[-1], 1e-9))
    log_grid = np.linspace(np.log(K2_MIN), np.log(k2_hi), N_K2_GRID)

    g = _response(np.exp(log_grid), proto)[:, sel]  # (m, f)
    gg, gc = np.sum(g * g, axis=1), g @ c
    _, _, r = _solve(gg[None, :], gc[None, :], cc, ys @ g.T, cy[:, None], yy[:, None])
    i = np.argmin(r, axis=1)
    lo = log_grid[np.maximum(i - 1, 0)]
    hi = log_grid[np.minimum(i + 1, N_K2_GRID - 1)]

    def objective(logk: np.ndarray):
        gk = _response(np.exp(logk), proto)[:, sel]
        return _solve(np.sum(gk * gk, axis=1), gk @ c, cc, np.sum(ys * gk, axis=1), cy, yy)

    xc, xd = hi - _GOLD * (hi - lo), lo + _GOLD * (hi - lo)
    fc, fd = objective(xc)[2], objective(xd)[2]
    for _ in range(N_GOLDEN):
        left = fc < fd  # minimum in [lo, xd]
        hi = np.where(left, xd, hi)
        lo = np.where(left, lo, xc)
        x_new = np.where(left, hi - _GOLD * (hi - lo), lo + _GOLD * (hi - lo))
        f_new = objective(x_new)[2]
        xd, fd, xc, fc = (np.where(left, xc, x_new), np.where(left, fc, f_new),
                          np.where(left, x_new, xd), np.where(left, f_new, fd))
    logk = np.where(fc < fd, xc, xd)
    a, vb, _ = objective(logk)
    k2 = np.exp(logk)
    tf = 1.0 - vb - loss
    with np.errstate(divide="ignore", invalid="ignore"):
        k1 = np.where(tf > 0, 60.0 * a / tf, np.nan)  # mL/min/g (per second → per minute); TF ≤ 0: not estimable
    mbf = np.asarray(mbf_from_k1(k1, key), dtype=float)
    fitted = (a[:, None] * _response(k2, proto) + vb[:, None] * blood[None, :])
    residual = np.sqrt(np.mean((y2[:, sel] - fitted[:, sel]) ** 2, axis=1))
    at_bound = (logk <= np.log(K2_MIN) + 1e-3) | (logk >= np.log(k2_hi) - 1e-3)
    method = (f"one-tissue compartment model with blood-volume/spill-over term, {'frame-averaged' if proto.i_start is not None else 'mid-time sampled'} "
              f"exact convolution of the piecewise-linear input; grid search over k2 "
              f"[{K2_MIN}, {k2_hi:.3g}] 1/min + golden-section refinement, closed-form bounded LS for K1(1-Vb), Vb; "
              f"{int(sel.sum())} of {mid.size} frames; "
              + (f"tissue fraction 1 - Vb - L (partial-volume loss L {float(loss.min()):.3f}"
                 + (f"-{float(loss.max()):.3f}" if loss.max() > loss.min() else "") + "); " if np.any(loss > 0)
                 else "tissue fraction 1 - Vb; ")
              + f"MBF from K1 via the {key} extraction model")

    def out(v):
        return v[0].item() if single else v

    return FlowFit(mbf=out(mbf), k1=out(k1), k2=out(k2), blood_volume=out(vb), residual=out(residual),
                   fitted=fitted[0] if single else fitted, k2_at_bound=out(at_bound), tracer=key, method=method,
                   references=[EXTRACTION_MODELS[key][2]], tissue_fraction=out(tf))


def myocardial_flow_reserve(stress_mbf: Any, rest_mbf: Any) -> np.ndarray | float:
    """Myocardial flow reserve = stress MBF / rest MBF (dimensionless); rest must be > 0, both finite."""
    s = np.asarray(stress_mbf, dtype=float)
    r = np.asarray(rest_mbf, dtype=float)
    try:
        s, r = np.broadcast_arrays(s, r)
    except ValueError as exc:
        raise InvalidInputError(f"stress_mbf shape {s.shape} and rest_mbf shape {r.shape}: expected the same shape") from exc
    if not (np.all(np.isfinite(s)) and np.all(np.isfinite(r))):
        raise InvalidInputError("stress_mbf / rest_mbf: non-finite values; expected finite mL/min/g")
    if np.any(r <= 0):
        raise InvalidInputError("rest_mbf: values ≤ 0; expected a positive rest flow (mL/min/g)")
    if np.any(s < 0):
        raise InvalidInputError("stress_mbf: negative values; expected ≥ 0 mL/min/g")
    out = s / r
    return float(out) if out.ndim == 0 else out

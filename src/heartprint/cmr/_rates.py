"""Peak ejection / filling rates from a Fourier fit of the LV volume curve."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from heartprint.errors import InvalidInputError

__all__ = ["FourierFit", "fourier_fit", "peak_rates"]


@dataclass(frozen=True)
class FourierFit:
    """Periodic least-squares fit V(t) = a0 + Σ_k a_k cos(2πkt/RR) + b_k sin(2πkt/RR).

    ``rr_ms`` is the period; ``coef`` is ``[a0, a1, b1, a2, b2, ...]`` in mL.
    """

    rr_ms: float
    coef: np.ndarray
    n_harmonics: int

    def _basis(self, t_ms: np.ndarray, deriv: int) -> np.ndarray:
        t = np.asarray(t_ms, dtype=float)
        w = 2.0 * np.pi / self.rr_ms
        cols = [np.ones_like(t) if deriv == 0 else np.zeros_like(t)]
        for k in range(1, self.n_harmonics + 1):
            kw = k * w
            if deriv == 0:
                cols += [np.cos(kw * t), np.sin(kw * t)]
            else:  # first derivative (per ms)
                cols += [-kw * np.sin(kw * t), kw * np.cos(kw * t)]
        return np.stack(cols, axis=-1)

    def volume(self, t_ms: np.ndarray) -> np.ndarray:
        """Fitted volume (mL) at times ``t_ms``."""
        return self._basis(t_ms, 0) @ self.coef

    def rate_ml_s(self, t_ms: np.ndarray) -> np.ndarray:
        """dV/dt in mL/s at times ``t_ms``."""
        return (self._basis(t_ms, 1) @ self.coef) * 1000.0


def fourier_fit(times_ms: np.ndarray, volumes_ml: np.ndarray, rr_ms: float, *, n_harmonics: int | None = None) -> FourierFit:
    """Least-squares periodic Fourier fit of a volume curve over one RR interval.

    ``n_harmonics`` defaults to ``min(6, (n_phases - 1) // 2)`` so the system stays
    over-determined (Nyquist) while smoothing frame-to-frame segmentation noise.
    """
    t = np.asarray(times_ms, dtype=float)
    v = np.asarray(volumes_ml, dtype=float)
    if t.shape != v.shape or t.ndim != 1:
        raise InvalidInputError(f"times {t.shape} and volumes {v.shape}: expected equal 1-D shapes")
    if not np.isfinite(rr_ms) or rr_ms <= 0 or (len(t) and t.max() >= rr_ms):
        raise InvalidInputError(f"rr_ms={rr_ms}: expected a period > last frame time {t.max() if len(t) else None} ms")
    k_max = (len(t) - 1) // 2
    k = k_max if n_harmonics is None else int(n_harmonics)
    k = min(k, 6) if n_harmonics is None else k
    if k < 1 or k > k_max:
        raise InvalidInputError(f"n_harmonics={k}: expected 1..{k_max} for {len(t)} phases")
    fit = FourierFit(float(rr_ms), np.zeros(2 * k + 1), k)
    coef, *_ = np.linalg.lstsq(fit._basis(t, 0), v, rcond=None)
    return FourierFit(float(rr_ms), coef, k)


def peak_rates(fit: FourierFit, t_ed_ms: float, t_es_ms: float, *, step_ms: float = 0.5) -> dict[str, float]:
    """Peak ejection rate (PER, during ED→ES) and peak filling rate (PFR, during ES→next ED).

    Both are reported as positive mL/s. ``tpfr_ms`` is the time from end-systole (the ES
    frame time) to the PFR. ``t_per_ms``/``t_pfr_ms`` are absolute times from the R wave.
    """
    rr = fit.rr_ms
    sys_len = np.mod(t_es_ms - t_ed_ms, rr)
    dia_len = rr - sys_len
    t_sys = t_ed_ms + np.arange(0.0, sys_len + step_ms / 2, step_ms)
    t_dia = t_es_ms + np.arange(0.0, dia_len + step_ms / 2, step_ms)
    r_sys = fit.rate_ml_s(np.mod(t_sys, rr))
    r_dia = fit.rate_ml_s(np.mod(t_dia, rr))
    i_per = int(np.argmin(r_sys))
    i_pfr = int(np.argmax(r_dia))
    return {
        "per_ml_s": float(-r_sys[i_per]),
        "pfr_ml_s": float(r_dia[i_pfr]),
        "t_per_ms": float(np.mod(t_sys[i_per], rr)),
        "t_pfr_ms": float(np.mod(t_dia[i_pfr], rr)),
        "tpfr_ms": float(t_dia[i_pfr] - t_es_ms),
    }

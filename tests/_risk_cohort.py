"""A survival cohort in heartprint's feature names for the risk tests: lower LVEF raises the hazard
(log hazard ratio 0.05 per point below 50 %, baseline rate 0.1 per time unit), uniform censoring
over 15 time units, and one more feature that is noise."""

from __future__ import annotations

import numpy as np
import pandas as pd


def lvef_cohort(n: int, *, ef: tuple[float, float], noise: tuple[str, float, float], seed: int = 3) -> pd.DataFrame:
    """``n`` patients: ``lv_ef`` uniform in ``ef``, the noise feature ``noise[0]`` uniform in
    ``noise[1:]``, columns ``time`` and ``event`` (1 = the event, 0 = censored)."""
    rng = np.random.default_rng(seed)
    lv_ef = rng.uniform(ef[0], ef[1], n)
    t_event = rng.exponential(1 / (0.1 * np.exp(0.05 * (50 - lv_ef))))
    t_cens = rng.uniform(0, 15, n)
    return pd.DataFrame({"lv_ef": lv_ef, noise[0]: rng.uniform(noise[1], noise[2], n),
                         "time": np.minimum(t_event, t_cens), "event": (t_event <= t_cens).astype(int)})

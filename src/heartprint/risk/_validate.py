"""Nested cross-validation and the performance measures a reviewer asks for.

Outer loop: ``outer`` folds stratified on the event indicator. In each, the model is tuned and
fitted on the training part alone (:func:`heartprint.risk._models.tune`: inner folds of the
training part choose the hyper-parameters; imputation, encoding and scaling are pipeline steps,
so they are fitted on training rows only) and the plain Cox model is fitted on the *same*
training part; both predict the held-out part. Measures, per outer fold on the held-out part:

* Harrell's C (:func:`sksurv.metrics.concordance_index_censored`; Harrell et al., JAMA 1982,
  doi:10.1001/jama.1982.03320430047030);
* Uno's C truncated at the horizon (:func:`sksurv.metrics.concordance_index_ipcw`; Uno et al.,
  Stat Med 2011, doi:10.1002/sim.4154), censoring weights from the training part;
* the mean cumulative/dynamic time-dependent AUC over the evaluation times
  (:func:`sksurv.metrics.cumulative_dynamic_auc`; Uno et al., JASA 2007,
  doi:10.1198/016214507000000149);
* the integrated Brier score over the evaluation times (:func:`sksurv.metrics.integrated_brier_score`;
  Graf et al., Stat Med 1999, doi:10.1002/(SICI)1097-0258(19990915/30)18:17/18<2529::AID-SIM274>3.0.CO;2-5).

The reported C is the mean over outer folds. Its 95 % interval is a percentile bootstrap: each
replicate resamples the held-out patients of every fold with replacement and averages the folds'
C; the model and Cox share the resamples, so the interval of their *difference* is paired. The
interval reflects sampling of the evaluated patients, not refitting on resampled training data.

Calibration at the horizon ``h``: the pooled out-of-fold predicted risk ``p = 1 − S(h | x)``
(each from the model that did not see the patient) against the outcome censored at ``h``. The
calibration slope is the coefficient of a Cox model of that outcome on ``log(−log(1 − p))``
(1 = ideal, < 1 predictions too extreme; Crowson et al., Stat Methods Med Res 2016,
doi:10.1177/0962280213497434; Austin et al., Stat Med 2020, doi:10.1002/sim.8570). The plot
data are quantile groups of ``p``: mean predicted risk against the Kaplan–Meier risk at ``h``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd
from sklearn.base import clone
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.metrics import (concordance_index_censored, concordance_index_ipcw,
                            cumulative_dynamic_auc, integrated_brier_score)
from sksurv.nonparametric import CensoringDistributionEstimator, kaplan_meier_estimator

from heartprint.risk._models import inner_splits, tune

__all__ = ["Fold", "Validation", "calibration", "evaluation_times", "nested_cv", "survival_at"]

#: Percentiles of the observed event times used as evaluation times of td-AUC and the Brier score.
EVAL_PERCENTILES = (10, 20, 30, 40, 50, 60, 70, 80)
#: Quantile groups of predicted risk in the calibration plot.
CALIBRATION_GROUPS = 5
#: Predicted risks are kept inside [ε, 1 − ε] before the complementary log-log transform.
_EPS = 1e-6


def survival_at(est: Any, X: pd.DataFrame, times: np.ndarray) -> np.ndarray:
    """Survival probability ``S(t | x)`` of each row of ``X`` at ``times`` (rows × times).

    Read off the model's step functions (right-continuous; 1 before the first step, the last
    value after the last training time).
    """
    times = np.atleast_1d(np.asarray(times, dtype=float))
    out = np.empty((len(X), len(times)))
    for i, fn in enumerate(est.predict_survival_function(X)):
        idx = np.searchsorted(fn.x, times, side="right") - 1
        out[i] = np.where(idx < 0, 1.0, fn.a * fn.y[np.clip(idx, 0, None)] + fn.b)
    return out


def evaluation_times(y: np.ndarray, horizon: float) -> np.ndarray:
    """Percentiles :data:`EVAL_PERCENTILES` of the event times, those below the horizon (at least two)."""
    t = np.percentile(y["time"][y["event"]], EVAL_PERCENTILES)
    t = np.unique(t[t <= horizon])
    return t if len(t) >= 2 else np.unique(np.percentile(y["time"][y["event"]], EVAL_PERCENTILES[:4]))


@dataclass
class Fold:
    """One outer fold: indices, the fitted model and Cox, their held-out predictions and measures."""

    train: np.ndarray
    test: np.ndarray
    params: dict[str, Any]
    estimator: Any
    cox: Any
    risk: np.ndarray
    cox_risk: np.ndarray
    risk_h: np.ndarray  # predicted probability of the event by the horizon
    cox_risk_h: np.ndarray
    metrics: dict[str, float]
    cox_metrics: dict[str, float]


@dataclass
class Validation:
    """Nested-CV result: folds, fold-mean measures with intervals, paired comparison with Cox, calibration."""

    folds: list[Fold]
    horizon: float
    times: np.ndarray
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def c_index(self) -> float:
        return self.summary["model"]["harrell_c"]

    @property
    def c_index_ci(self) -> tuple[float, float]:
        return tuple(self.summary["model"]["harrell_c_ci"])


def _fold_metrics(y_tr: np.ndarray, y_te: np.ndarray, risk: np.ndarray, surv: np.ndarray, times: np.ndarray,
                  horizon: float) -> dict[str, float]:
    # each evaluation time needs a held-out event at or before it (else no cases: AUC undefined)
    ok = (times >= y_te["time"][y_te["event"]].min()) & (times < y_te["time"].max()) & (times < y_tr["time"].max())
    t = times[ok]
    m = {"harrell_c": float(concordance_index_censored(y_te["event"], y_te["time"], risk)[0]),
         "uno_c": _uno(y_tr, y_te, risk, horizon),
         "td_auc": float("nan"), "ibs": float("nan")}
    if len(t) >= 2:
        y_in = _inside(y_tr, y_te)
        m["td_auc"] = float(cumulative_dynamic_auc(y_tr, y_in, risk, t)[1])
        m["ibs"] = float(integrated_brier_score(y_tr, y_in, surv[:, ok], t))
    return m


def _inside(y_tr: np.ndarray, y_te: np.ndarray) -> np.ndarray:
    """``y_te`` censored just before the training part's last observed time.

    The censoring weights (Kaplan–Meier of the training censoring) are undefined past that time;
    every evaluation time lies before it, so the measures at those times are unchanged.
    """
    last = y_tr["time"].max()
    out = y_te.copy()
    late = out["time"] >= last
    out["event"][late] = False
    out["time"][late] = np.nextafter(last, -np.inf)
    return out


def _uno(y_tr: np.ndarray, y_te: np.ndarray, risk: np.ndarray, horizon: float) -> float:
    tau = min(horizon, float(y_tr["time"][y_tr["event"]].max()))
    try:
        return float(concordance_index_ipcw(y_tr, y_te, risk, tau=tau)[0])
    except ValueError:  # no comparable pair before tau in a resample
        return float("nan")


def nested_cv(est: Any, cox: Any, X: pd.DataFrame, y: np.ndarray, *, outer: int, inner: int, horizon: float,
              bootstrap: int, seed: int, same_as_cox: bool = False,
              progress: Callable[[str], None] = lambda msg: None) -> Validation:
    """Nested CV of ``est`` beside ``cox`` on the same outer folds (see the module docstring)."""
    times = evaluation_times(y, horizon)
    grid_h = np.array([horizon])
    folds: list[Fold] = []
    clock = dict.fromkeys(("tune", "cox_fit", "predict", "metrics", "bootstrap"), 0.0)
    for k, (tr, te) in enumerate(inner_splits(y, outer, seed)):
        progress(f"outer fold {k + 1}/{outer}")
        t0 = time.perf_counter()
        fitted, params = tune(est, X.iloc[tr], y[tr], inner=inner, seed=seed + 1 + k)
        t1 = time.perf_counter()
        base = fitted if same_as_cox else clone(cox).fit(X.iloc[tr], y[tr])
        t2 = time.perf_counter()
        Xte = X.iloc[te]
        surv, cox_surv = survival_at(fitted, Xte, np.r_[times, grid_h]), survival_at(base, Xte, np.r_[times, grid_h])
        risk, cox_risk = fitted.predict(Xte), base.predict(Xte)
        t3 = time.perf_counter()
        folds.append(Fold(tr, te, params, fitted, base, risk, cox_risk, 1 - surv[:, -1], 1 - cox_surv[:, -1],
                          _fold_metrics(y[tr], y[te], risk, surv[:, :-1], times, horizon),
                          _fold_metrics(y[tr], y[te], cox_risk, cox_surv[:, :-1], times, horizon)))
        t4 = time.perf_counter()
        for name, dt in (("tune", t1 - t0), ("cox_fit", t2 - t1), ("predict", t3 - t2), ("metrics", t4 - t3)):
            clock[name] += dt
    val = Validation(folds, horizon, times)
    t0 = time.perf_counter()
    val.summary = _summary(folds, y, horizon, bootstrap, seed)
    clock["bootstrap"] = time.perf_counter() - t0
    val.summary["seconds"] = {k: round(v, 2) for k, v in clock.items()}
    return val


def uno_weights(y_tr: np.ndarray, y_te: np.ndarray, horizon: float) -> np.ndarray:
    """Per held-out patient, the squared inverse-probability-of-censoring weight of Uno's C
    truncated at the horizon, exactly as :func:`sksurv.metrics.concordance_index_ipcw` computes it.

    Each weight depends only on that patient and the training part's censoring distribution, so a
    bootstrap resample of the held-out patients takes the weights along instead of refitting the
    censoring Kaplan–Meier estimate for every replicate.
    """
    tau = min(horizon, float(y_tr["time"][y_tr["event"]].max()))
    cens = CensoringDistributionEstimator().fit(y_tr)
    mask = y_te["time"] < tau
    w = np.zeros(len(y_te))
    w[mask] = cens.predict_ipcw(y_te[mask])
    return np.square(w)


def _c(y: np.ndarray, risk: np.ndarray, weights: np.ndarray, tied_tol: float = 1e-8) -> float:
    """Weighted concordance (weights 1: Harrell's; :func:`uno_weights`: Uno's); NaN without a comparable pair.

    The pair rule of :func:`sksurv.metrics.concordance_index_censored` (an event is comparable
    with every later time and with censored patients at its own time; risk ties count one half),
    written as one array operation so that bootstrap replicates are cheap; a test checks it
    against scikit-survival's functions.
    """
    e, t = y["event"], y["time"]
    ev = np.flatnonzero(e)
    ti = t[ev][:, None]
    comparable = (t[None, :] > ti) | ((t[None, :] == ti) & ~e[None, :])
    diff = risk[None, :] - risk[ev][:, None]
    ties = (np.abs(diff) <= tied_tol) & comparable
    concordant = (diff < 0) & ~ties & comparable
    w = weights[ev]
    den = float((w * comparable.sum(axis=1)).sum())
    return float((w * (concordant.sum(axis=1) + 0.5 * ties.sum(axis=1))).sum()) / den if den > 0 else float("nan")


def _summary(folds: list[Fold], y: np.ndarray, horizon: float, bootstrap: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    boot = {"model": [], "cox": [], "diff": [], "model_uno": [], "cox_uno": []}
    weights = [uno_weights(y[f.train], y[f.test], horizon) for f in folds]
    for _ in range(bootstrap):
        c_m, c_c, u_m, u_c = [], [], [], []
        for f, w in zip(folds, weights):
            idx = rng.integers(0, len(f.test), len(f.test))
            yt = y[f.test][idx]
            if not yt["event"].any():
                continue
            ones = np.ones(len(idx))
            c_m.append(_c(yt, f.risk[idx], ones))
            c_c.append(_c(yt, f.cox_risk[idx], ones))
            u_m.append(_c(yt, f.risk[idx], w[idx]))
            u_c.append(_c(yt, f.cox_risk[idx], w[idx]))
        boot["model"].append(np.nanmean(c_m))
        boot["cox"].append(np.nanmean(c_c))
        boot["diff"].append(np.nanmean(np.subtract(c_m, c_c)))
        boot["model_uno"].append(np.nanmean(u_m))
        boot["cox_uno"].append(np.nanmean(u_c))

    def ci(v: list[float]) -> list[float]:
        v = np.asarray(v, dtype=float)
        v = v[np.isfinite(v)]
        return [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] if len(v) else [float("nan")] * 2

    out: dict[str, Any] = {}
    for who, attr, uno in (("model", "metrics", "model_uno"), ("cox", "cox_metrics", "cox_uno")):
        per = {k: [getattr(f, attr)[k] for f in folds] for k in folds[0].metrics}
        risk_h = np.concatenate([f.risk_h if who == "model" else f.cox_risk_h for f in folds])
        test = np.concatenate([f.test for f in folds])
        out[who] = {
            "harrell_c": float(np.mean(per["harrell_c"])), "harrell_c_ci": ci(boot[who]),
            "uno_c": float(np.nanmean(per["uno_c"])), "uno_c_ci": ci(boot[uno]),
            "td_auc": float(np.nanmean(per["td_auc"])), "ibs": float(np.nanmean(per["ibs"])),
            "per_fold": {k: [round(float(x), 4) for x in v] for k, v in per.items()},
            "calibration": calibration(risk_h, y[test], horizon),
        }
    d = np.mean([f.metrics["harrell_c"] - f.cox_metrics["harrell_c"] for f in folds])
    lo, hi = ci(boot["diff"])
    out["difference"] = {"harrell_c": float(d), "ci": [lo, hi],
                         "verdict": ("better than Cox" if lo > 0 else "worse than Cox" if hi < 0
                                     else "not distinguishable from Cox")}
    out["bootstrap"] = bootstrap
    return out


def calibration(risk_h: np.ndarray, y: np.ndarray, horizon: float) -> dict[str, Any]:
    """Calibration slope at ``horizon`` and the quantile-group plot data (see the module docstring)."""
    p = np.clip(risk_h, _EPS, 1 - _EPS)
    lp = np.log(-np.log(1 - p))
    yh = np.empty(len(y), dtype=y.dtype)
    yh["event"] = y["event"] & (y["time"] <= horizon)
    yh["time"] = np.minimum(y["time"], horizon)
    slope = float("nan")
    if yh["event"].sum() >= 2 and np.ptp(lp) > 0:
        slope = float(CoxPHSurvivalAnalysis(alpha=0.0, ties="breslow").fit(lp[:, None], yh).coef_[0])
    groups = []
    edges = np.unique(np.quantile(p, np.linspace(0, 1, CALIBRATION_GROUPS + 1)))
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    for g in range(len(edges) - 1):
        sel = which == g
        if sel.sum() < 2:
            continue
        t, s = kaplan_meier_estimator(y["event"][sel], y["time"][sel])
        i = np.searchsorted(t, horizon, side="right") - 1
        groups.append({"n": int(sel.sum()), "predicted": float(p[sel].mean()),
                       "observed": float(1 - (s[i] if i >= 0 else 1.0))})
    t, s = kaplan_meier_estimator(y["event"], y["time"])
    i = np.searchsorted(t, horizon, side="right") - 1
    return {"horizon": float(horizon), "slope": slope, "mean_predicted": float(p.mean()),
            "observed_km": float(1 - (s[i] if i >= 0 else 1.0)), "groups": groups}

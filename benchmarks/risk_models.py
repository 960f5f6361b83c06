"""Risk models on real cohorts: each model beside plain Cox on the same outer folds.

Cardiac cohorts (all installed offline):

* TRACE (SurvSet ``TRACE``): 1878 patients screened for the TRAndolapril Cardiac Evaluation
  after acute myocardial infarction; echocardiographic wall-motion index, age, sex, clinical
  heart failure, diabetes, ventricular fibrillation; all-cause death (Jensen et al., 1997).
* heartvalve (SurvSet ``heartvalve``): 256 aortic-valve replacement patients (joineR
  ``heart.valve``) with EF, LV mass index, gradient, NYHA class, ...; death. The source is in
  counting-process form (984 rows: repeated echo visits, ``(time, time2]`` intervals); here it is
  one row per patient by the baseline rule: the first visit's covariates, follow-up to the last
  ``time2``, the event of the last interval.
* WHAS500 (scikit-survival): Worcester Heart Attack Study, 500 patients after acute MI; death.

Omics stand-in: the breast-cancer gene-expression set of scikit-survival (198 patients, 76 genes
plus age, ER status, grade, tumour size; distant metastasis-free survival; Desmedt et al. 2007;
grade "unkown" in two patients is treated as missing).
It is not cardiac; it exercises early fusion (per-layer PCA → elastic-net Cox), late fusion
(per-layer Cox risks stacked on out-of-fold predictions) and clinical-only on the same folds.

Per dataset and model: Harrell's C (outer-fold mean, 95 % percentile bootstrap over held-out
patients) beside plain Cox's on the same folds; the paired difference's interval and verdict
("better than Cox" only when the interval excludes 0 above); Uno's C to the horizon; the
integrated Brier score; the calibration slope at the horizon. Then the time of each full nested CV
on the largest set (TRACE), split into inner tuning with the outer refit, the Cox comparator,
prediction, fold measures, bootstrap intervals and the final fit on all data.

Run::

    HEARTPRINT_THREADS=1 .venv/bin/python benchmarks/risk_models.py            # full (~10 min on 1 core)
    HEARTPRINT_THREADS=1 .venv/bin/python benchmarks/risk_models.py --quick    # 3 outer folds, 50 trees
"""

from __future__ import annotations

import argparse
import time
import warnings

import pandas as pd

import heartprint.risk as risk
from heartprint.risk._models import Settings


def cardiac_sets() -> dict[str, tuple[pd.DataFrame, float, str]]:
    """name → (table with ``time``/``event``, horizon, time unit)."""
    from SurvSet.data import SurvLoader
    from sksurv.datasets import load_whas500

    loader = SurvLoader()
    trace = loader.load_dataset("TRACE")["df"].drop(columns=["pid"])
    visits = loader.load_dataset("heartvalve")["df"].sort_values(["pid", "time"])
    first = visits.groupby("pid").head(1).set_index("pid").drop(columns=["time", "time2", "event"])
    last = visits.groupby("pid").agg(time=("time2", "max"), event=("event", "max"))
    valve = first.join(last).reset_index(drop=True)
    X, y = load_whas500()
    whas = X.assign(time=y["lenfol"], event=y["fstat"].astype(int))
    return {"TRACE": (trace, 5.0, "years"), "heartvalve": (valve, 5.0, "years"), "WHAS500": (whas, 365.0, "days")}


def markdown(table: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(map(str, r)) + " |" for r in table.itertuples(index=False)]
    return "\n".join(lines)


def _ci(v) -> str:
    return f"({v[0]:.3f}-{v[1]:.3f})"


def row(name: str, model: str, m: risk.RiskModel, seconds: float) -> dict[str, str]:
    s = m.summary
    a, c, d = s["model"], s["cox"], s["difference"]
    return {"dataset": name, "model": m.kind if not m.fusion else f"{m.kind}+{m.fusion}" if m.fusion != "late" else "late fusion",
            "Harrell C (95% CI)": f"{a['harrell_c']:.3f} {_ci(a['harrell_c_ci'])}",
            "Cox C, same folds": f"{c['harrell_c']:.3f} {_ci(c['harrell_c_ci'])}",
            "dC vs Cox (paired CI)": f"{d['harrell_c']:+.3f} ({d['ci'][0]:+.3f},{d['ci'][1]:+.3f})",
            "verdict": d["verdict"] if model != "cox" else "(is Cox)",
            "Uno C (CI)": f"{a['uno_c']:.3f} {_ci(a['uno_c_ci'])}",
            "tdAUC": f"{a['td_auc']:.3f}",
            "IBS (Cox)": f"{a['ibs']:.3f} ({c['ibs']:.3f})",
            "cal. slope (Cox)": f"{a['calibration']['slope']:.2f} ({c['calibration']['slope']:.2f})",
            "s": f"{seconds:.0f}"}


def cardiac(cv: risk.CV, settings: Settings) -> tuple[pd.DataFrame, list[tuple[str, risk.RiskModel, float]]]:
    rows, trace = [], []
    for name, (df, horizon, unit) in cardiac_sets().items():
        print(f"# {name}: {len(df)} rows, {int(df['event'].sum())} events, horizon {horizon:g} {unit}", flush=True)
        for model in risk.MODELS:
            t = time.perf_counter()
            m = risk.fit(df, time="time", event="event", model=model, cv=cv, horizon=horizon, settings=settings,
                         time_unit=unit, source=name)
            seconds = time.perf_counter() - t
            rows.append(row(name, model, m, seconds))
            if name == "TRACE":
                trace.append((model, m, seconds))
            print("  " + " | ".join(rows[-1].values()), flush=True)
    return pd.DataFrame(rows), trace


def omics(cv: risk.CV, settings: Settings) -> pd.DataFrame:
    from sksurv.datasets import load_breast_cancer

    X, y = load_breast_cancer()
    genes = [c for c in X.columns if c.startswith("X")]
    clin = X.drop(columns=genes).assign(pid=[f"b{i:03d}" for i in range(len(X))],
                                        time=y["t.tdm"], event=y["e.tdm"].astype(int))
    # grade "unkown" (2 patients) is a missing value, not a grade: missing, imputed inside the CV
    clin["grade"] = clin["grade"].astype(object).where(clin["grade"].astype(str) != "unkown")
    layer = pd.DataFrame(X[genes].to_numpy(), index=clin["pid"], columns=genes)
    horizon = 5 * 365.25  # days
    rows = []
    runs = [("clinical only, coxnet", dict(model="coxnet")),
            ("early fusion (PCA10/layer -> coxnet)", dict(model="coxnet", omics={"expression": layer})),
            ("late fusion (stacked Cox risks)", dict(model="coxnet", omics={"expression": layer}, fusion="late"))]
    for label, kw in runs:
        t = time.perf_counter()
        m = risk.fit(clin, time="time", event="event", key="pid", cv=cv, horizon=horizon, settings=settings,
                     time_unit="days", **kw)
        r = row("breast-cancer GE", kw["model"], m, time.perf_counter() - t)
        r["model"] = label
        rows.append(r)
        print("  " + " | ".join(r.values()), flush=True)
    return pd.DataFrame(rows)


def timing(runs: list[tuple[str, risk.RiskModel, float]]) -> None:
    """Where the time of each full nested CV went on the largest set, from the runs themselves."""
    print("\n# Time of a full nested CV on TRACE (largest set), per model, seconds of wall time (n_jobs=1)")
    print("| model | risk.fit total | nested CV: inner tuning + outer refit | Cox comparator fits | predict | fold measures "
          "| bootstrap CIs | final tuning on all data + refits |")
    print("|---|---|---|---|---|---|---|---|")
    for model, m, total in runs:
        sec = m.summary["seconds"]
        rest = total - sum(sec.values())
        print(f"| {model} | {total:.0f} | {sec['tune']:.1f} | {sec['cox_fit']:.1f} | {sec['predict']:.1f} | "
              f"{sec['metrics']:.1f} | {sec['bootstrap']:.1f} | {rest:.1f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 outer folds, 50 trees, 100 bootstrap replicates")
    ap.add_argument("--part", choices=("all", "cardiac", "omics"), default="all")
    args = ap.parse_args()
    cv = risk.CV(outer=3 if args.quick else 5, inner=3, bootstrap=100 if args.quick else 200, bootstrap_models=0, seed=0)
    settings = Settings(trees=50 if args.quick else 100, seed=0)
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    pd.set_option("display.width", 250, "display.max_columns", 20, "display.max_colwidth", 40)
    print(f"outer {cv.outer} x inner {cv.inner} folds (stratified on event), {cv.bootstrap} bootstrap replicates, "
          f"{settings.trees} trees; n_jobs=1")
    if args.part in ("all", "cardiac"):
        table, trace = cardiac(cv, settings)
        print("\n" + markdown(table))
        timing(trace)
    if args.part in ("all", "omics"):
        print("\n# Gene expression (omics stand-in): Cox column = clinical-only Cox on the same folds")
        print("\n" + markdown(omics(cv, settings)))


if __name__ == "__main__":
    main()

"""``heartprint risk fit`` and ``heartprint risk predict``: the command-line face of :mod:`heartprint.risk`.

``heartprint risk fit TABLE --time COL --event COL [--omics FILE ...] --out MODEL_DIR`` fits and
validates a model on a cohort table (CSV/Parquet, one row per patient) and writes the model
folder (model, manifest with checksums and versions, card as JSON and Markdown, calibration
plot); it prints the card's performance lines. ``heartprint risk predict MODEL_DIR TABLE`` loads
the model (refused on a checksum, version or feature mismatch) and writes one CSV row per
patient: the risk at the horizon with its interval and the top contributing features.

Register with :func:`add_subcommand` on the ``heartprint`` subparsers; handlers return an exit code
and raise :class:`~heartprint.errors.HeartprintError` for bad input (the main command prints it
as one line and exits 2).
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_subcommand", "cmd_fit", "cmd_predict"]


def cmd_fit(args: argparse.Namespace) -> int:
    from heartprint.risk._model import CV, fit
    from heartprint.risk._models import Settings

    def progress(msg: str) -> None:
        if not args.quiet:
            print(f"risk fit: {msg}", file=sys.stderr)

    model = fit(args.table, time=args.time, event=args.event, model=args.model, omics=args.omics or None,
                cv=CV(outer=args.outer_folds, inner=args.inner_folds, bootstrap=args.bootstrap,
                      bootstrap_models=args.bootstrap_models, seed=args.seed),
                key=args.key, horizon=args.horizon, fusion=args.fusion,
                settings=Settings(trees=args.trees, seed=args.seed), time_unit=args.time_unit,
                source=f"table {args.table}", progress=progress)
    out = model.save(args.out)
    p = model.card["performance"]
    print(f"model {model.kind}: Harrell's C {p['harrell_c']:.3f} ({p['harrell_c_ci95'][0]:.3f}-{p['harrell_c_ci95'][1]:.3f}); "
          f"plain Cox {p['cox_baseline']['harrell_c']:.3f}; {p['difference_vs_cox']['verdict']}; "
          f"calibration slope at {model.horizon:g} {args.time_unit}: {p['calibration']['slope']:.2f}")
    print(f"written: {out}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    import pandas as pd

    from heartprint.risk._data import read_table
    from heartprint.risk._model import load

    model = load(args.model_dir)
    table = read_table(args.table)
    pred = model.predict(table, omics=args.omics or None)
    contrib = model.contributions(table, omics=args.omics or None)
    top = []
    for _, row in contrib.iterrows():
        order = row.abs().sort_values(ascending=False).index[: args.top]
        top.append("; ".join(f"{c} {row[c]:+.3f}" for c in order if row[c] != 0))
    pred["top_features"] = top
    pred["contribution_unit"] = model.contribution_unit
    pred["horizon"] = model.horizon
    if model.key and model.key in table.columns:
        pred.insert(0, model.key, table[model.key].to_numpy())
    if args.out:
        pred.to_csv(args.out, index=False)
    else:
        pd.DataFrame(pred).to_csv(sys.stdout, index=False)
    return 0


def add_subcommand(subparsers: argparse._SubParsersAction) -> None:
    """Create ``risk`` with its ``fit`` and ``predict`` subcommands on ``subparsers``.

    Imports nothing heavy: scikit-survival and pandas load only when a ``risk`` command runs, so
    building the ``heartprint`` parser stays fast and works without the ``risk`` extra.
    """
    from heartprint.risk._names import MODELS

    p = subparsers.add_parser("risk", help="fit, validate and apply survival risk models (research use)",
                              description="Survival risk models on cohort tables with optional omics layers: "
                              "nested cross-validation beside plain Cox, model card, per-patient risk.")
    sub = p.add_subparsers(dest="risk_command", metavar="ACTION")
    sub.required = True

    f = sub.add_parser("fit", help="fit and validate a model on a cohort table, write MODEL_DIR",
                       description="Fit a survival model on TABLE (CSV/Parquet, one row per patient), validate it by "
                       "nested cross-validation beside plain Cox on the same folds, and write the model folder.")
    f.add_argument("table", metavar="TABLE", help="cohort table (.csv, .tsv or .parquet)")
    f.add_argument("--time", required=True, help="follow-up time column")
    f.add_argument("--event", required=True, help="event column (1 event, 0 censored)")
    f.add_argument("--omics", nargs="+", metavar="FILE", help="omics layers (.h5ad, .csv, .parquet; patients as rows)")
    f.add_argument("--key", help="patient key column (joins omics; never a feature)")
    f.add_argument("--model", choices=MODELS, default="coxnet", help="model (default coxnet)")
    f.add_argument("--fusion", choices=("early", "late"), default="early", help="omics fusion (default early)")
    f.add_argument("--horizon", type=float, help="time at which risk is given (default: median observed time)")
    f.add_argument("--time-unit", default="time units", help="unit of the time column, for the card (e.g. years)")
    f.add_argument("--outer-folds", type=int, default=5)
    f.add_argument("--inner-folds", type=int, default=3)
    f.add_argument("--bootstrap", type=int, default=200, help="bootstrap replicates for intervals of C")
    f.add_argument("--bootstrap-models", type=int, default=20, help="refits for per-patient intervals (0: none)")
    f.add_argument("--trees", type=int, default=100, help="trees (rsf) or boosting stages (gbsa)")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--quiet", action="store_true", help="no progress on stderr")
    f.add_argument("--out", required=True, metavar="MODEL_DIR", help="folder to write the model into")
    f.set_defaults(func=cmd_fit)

    q = sub.add_parser("predict", help="apply a saved model to a table; CSV of risks on stdout",
                       description="Load MODEL_DIR (refused on a checksum, version or feature mismatch) and give each "
                       "row of TABLE its risk at the horizon, interval and top contributing features.")
    q.add_argument("model_dir", metavar="MODEL_DIR")
    q.add_argument("table", metavar="TABLE")
    q.add_argument("--omics", nargs="+", metavar="FILE", help="the omics layers the model was fitted with")
    q.add_argument("--top", type=int, default=3, help="contributing features listed per patient (default 3)")
    q.add_argument("--out", help="write the CSV here instead of stdout")
    q.set_defaults(func=cmd_predict)

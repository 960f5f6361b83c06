"""``heartprint risk fit`` / ``predict`` on a tiny CSV: the parser, the model folder, the round trip."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest

from heartprint.risk import load
from heartprint.risk.cli import add_subcommand


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="heartprint")
    add_subcommand(parser.add_subparsers(dest="command", required=True))
    return parser


@pytest.fixture(scope="module")
def tiny_csv(tmp_path_factory):
    rng = np.random.default_rng(7)
    n = 120
    ef = rng.normal(55, 10, n)
    hazard = 0.05 * np.exp(-0.06 * (ef - 55))  # lower EF, higher hazard
    t_event, t_cens = rng.exponential(1 / hazard), rng.uniform(0, 30, n)
    df = pd.DataFrame({"patient_id": [f"P{i:03d}" for i in range(n)], "lv_ef": ef.round(1),
                       "nyha": rng.choice(["I", "II", "III"], n),
                       "time": np.minimum(t_event, t_cens).round(3), "event": (t_event <= t_cens).astype(int)})
    df.loc[3, "lv_ef"] = np.nan
    path = tmp_path_factory.mktemp("risk") / "cohort.csv"
    df.to_csv(path, index=False)
    return path, df


def test_parser_shapes():
    args = _parser().parse_args(["risk", "fit", "t.csv", "--time", "t", "--event", "e", "--omics", "a.h5ad", "b.csv",
                                 "--out", "m"])
    assert (args.table, args.time, args.event, args.omics, args.out, args.model) == ("t.csv", "t", "e", ["a.h5ad", "b.csv"], "m", "coxnet")
    args = _parser().parse_args(["risk", "predict", "m", "t.csv"])
    assert (args.model_dir, args.table) == ("m", "t.csv")
    with pytest.raises(SystemExit):
        _parser().parse_args(["risk", "fit", "t.csv", "--event", "e", "--out", "m"])  # --time is required


def test_fit_then_predict_round_trip(tiny_csv, tmp_path, capsys):
    path, df = tiny_csv
    out = tmp_path / "model"
    args = _parser().parse_args(["risk", "fit", str(path), "--time", "time", "--event", "event", "--key", "patient_id",
                                 "--model", "cox", "--outer-folds", "2", "--inner-folds", "2", "--bootstrap", "20",
                                 "--bootstrap-models", "2", "--time-unit", "months", "--quiet", "--out", str(out)])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "Harrell's C" in printed and "plain Cox" in printed
    assert (out / "card.md").read_text().count("months") >= 2

    args = _parser().parse_args(["risk", "predict", str(out), str(path), "--out", str(tmp_path / "pred.csv")])
    assert args.func(args) == 0
    pred = pd.read_csv(tmp_path / "pred.csv")
    expected = load(out).predict(pd.read_csv(path))
    assert list(pred["patient_id"]) == list(df["patient_id"])
    np.testing.assert_allclose(pred["risk_at_horizon"], expected["risk_at_horizon"], rtol=1e-12)
    assert pred.loc[3, "imputed"] == "lv_ef"
    assert pred["top_features"].str.contains("lv_ef").all()
    # lower EF → higher risk, as the cohort was built: EF's term of the linear predictor falls with EF
    ef_term = load(out).contributions(df)["lv_ef"].iloc[4:]
    assert np.corrcoef(ef_term, df["lv_ef"].iloc[4:])[0, 1] == pytest.approx(-1.0, abs=1e-9)


def test_registering_the_subcommand_imports_nothing_heavy():
    """Building the ``heartprint`` parser must not import scikit-survival or pandas (seconds, and an extra)."""
    import subprocess
    import sys

    code = ("import sys, argparse; from heartprint.risk.cli import add_subcommand; "
            "add_subcommand(argparse.ArgumentParser().add_subparsers()); "
            "print(sorted(m for m in ('sksurv', 'sklearn', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

"""heartprint.risk: validation without leaks, known hazards recovered, save/load and refusals, explanations.

Synthetic cohorts with known answers (exponential survival times, hazard ``h0·exp(β·x)``),
small enough to keep the file within a few seconds.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

import heartprint.risk as risk
from heartprint.errors import InvalidInputError
from heartprint.risk import CV, RiskModelError

BETA_X1 = 0.8  # log hazard ratio per unit of x1 in the synthetic cohort
FAST = CV(outer=3, inner=2, bootstrap=40, bootstrap_models=4, seed=1)


def _cohort(n: int, seed: int, *, noise: int = 1) -> pd.DataFrame:
    """x1 drives the hazard (β = 0.8 per unit), x2... are noise; ``group`` is a harmless category."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    t_event = rng.exponential(1 / (0.1 * np.exp(BETA_X1 * x1)))
    t_cens = rng.uniform(0, 25, size=n)
    df = pd.DataFrame({"pid": [f"p{i:04d}" for i in range(n)], "x1": x1})
    for j in range(noise):
        df[f"x{j + 2}"] = rng.normal(size=n)
    df["group"] = rng.choice(["a", "b", "c"], size=n)
    df["time"] = np.minimum(t_event, t_cens)
    df["event"] = (t_event <= t_cens).astype(int)
    return df


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    df = _cohort(400, 0)
    df.loc[df.index % 9 == 0, "x1"] = np.nan  # missing values the pipeline must impute inside each fold
    df.loc[df.index % 13 == 0, "group"] = np.nan
    return df


@pytest.fixture(scope="module")
def cox_model(cohort):
    return risk.fit(cohort, time="time", event="event", model="cox", key="pid", cv=FAST, horizon=5.0)


def test_known_hazard_recovered(cox_model, cohort):
    """The final Cox coefficient of x1, back on the raw scale, is β = 0.8 (SE ≈ 0.07 at ~250 events)."""
    prep = cox_model.estimator.named_steps["prep"]
    coef = cox_model.estimator.named_steps["model"].coef_
    from heartprint.risk._models import feature_groups

    names = feature_groups(prep)
    sd = prep.named_steps["scale"].scale_
    beta = dict(zip(names, coef / sd))
    # x1 is missing in 1/9 of rows (median-imputed), which attenuates β a little
    assert 0.6 < beta["x1"] < 0.95
    assert abs(beta["x2"]) < 0.2
    assert cox_model.c_index > 0.65
    lo, hi = cox_model.c_index_ci
    assert lo < cox_model.c_index < hi


def test_identifier_column_is_not_taken_as_a_feature(cohort):
    with pytest.raises(InvalidInputError, match="identifier"):
        risk.fit(cohort, time="time", event="event", model="cox", cv=FAST)  # pid left in, no key=


def test_shuffled_outcome_gives_chance_concordance():
    """Leak test: with the outcome shuffled against 30 noise features, the cross-validated C is
    chance while the same model's apparent (in-sample) C is not, so the test can tell the two apart."""
    df = _cohort(300, 2, noise=30)
    rng = np.random.default_rng(3)
    perm = rng.permutation(len(df))
    df[["time", "event"]] = df[["time", "event"]].to_numpy()[perm]
    m = risk.fit(df, time="time", event="event", model="cox", key="pid",
                 cv=CV(outer=3, inner=2, bootstrap=40, bootstrap_models=0, seed=0))
    assert abs(m.c_index - 0.5) < 0.06, m.c_index
    assert m.c_index_ci[0] < 0.5 < m.c_index_ci[1]
    from sksurv.metrics import concordance_index_censored

    apparent = concordance_index_censored(df["event"].astype(bool), df["time"], m.predict(df)["risk_score"])[0]
    assert apparent > 0.6, apparent


def test_imputer_fitted_on_training_folds_only(cox_model, cohort):
    """Each outer fold's imputer holds the median of that fold's training rows, not of all rows
    and not of the held-out rows."""
    x1 = cohort["x1"].to_numpy()
    for fold in cox_model.validation.folds:
        for est in (fold.estimator, fold.cox):
            imputer = est.named_steps["prep"].named_steps["columns"].named_transformers_["num"]
            stat = dict(zip(imputer.feature_names_in_, imputer.statistics_))["x1"]
            assert stat == pytest.approx(np.nanmedian(x1[fold.train]), abs=0)
            assert stat != np.nanmedian(x1)
            assert stat != np.nanmedian(x1[fold.test])
        # a missing category is imputed, never a level of its own
        enc = fold.estimator.named_steps["prep"].named_steps["columns"].named_transformers_["cat"].named_steps["onehot"]
        assert [list(c) for c in enc.categories_] == [["a", "b", "c"]]
    # the folds partition the cohort and never overlap
    tests = np.concatenate([f.test for f in cox_model.validation.folds])
    assert sorted(tests) == list(range(len(cohort)))
    assert all(not set(f.train) & set(f.test) for f in cox_model.validation.folds)


def test_cox_contributions_add_up_to_linear_predictor(cox_model, cohort):
    """coef × standardised value summed over features is the model's linear predictor, exactly."""
    pred = cox_model.predict(cohort.iloc[:20])
    contrib = cox_model.contributions(cohort.iloc[:20])
    assert list(contrib.columns) == ["x1", "x2", "group"]
    np.testing.assert_allclose(contrib.sum(axis=1), pred["risk_score"], rtol=1e-10, atol=1e-12)
    assert (pred["risk_low"] <= pred["risk_high"]).all()
    assert pred["imputed"].iloc[0] == "x1, group" and pred["imputed"].iloc[1] == "" and pred["imputed"].iloc[9] == "x1"


def test_save_load_round_trip_and_refusals(cox_model, cohort, tmp_path):
    folder = cox_model.save(tmp_path / "m")
    assert {p.name for p in folder.iterdir()} >= {"model.joblib", "manifest.json", "card.json", "card.md", "calibration.png"}
    loaded = risk.load(folder)
    pd.testing.assert_frame_equal(loaded.predict(cohort), cox_model.predict(cohort))
    card = json.loads((folder / "card.json").read_text())
    assert card["intended_use"].startswith("research")
    assert card["performance"]["harrell_c"] == pytest.approx(cox_model.c_index)
    assert "Missing data" in (folder / "card.md").read_text()

    with pytest.raises(RiskModelError, match="lacks 1 feature.*x2"):
        loaded.predict(cohort.drop(columns=["x2"]))
    with pytest.raises(RiskModelError, match="never saw.*'z'"):
        loaded.predict(cohort.assign(group="z"))

    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["versions"]["scikit-survival"] = "0.0.1"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(RiskModelError, match="other versions.*scikit-survival 0.0.1"):
        risk.load(folder)

    shutil.copytree(tmp_path / "m", tmp_path / "m2")
    manifest["versions"]["scikit-survival"] = cox_model.versions["scikit-survival"]
    (tmp_path / "m2" / "manifest.json").write_text(json.dumps(manifest))
    data = bytearray((tmp_path / "m2" / "model.joblib").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "m2" / "model.joblib").write_bytes(bytes(data))
    with pytest.raises(RiskModelError, match="checksum"):
        risk.load(tmp_path / "m2")


def test_explain_for_the_report(cox_model, cohort):
    row = cohort.drop(columns=["time", "event"]).iloc[1].to_dict()
    out = risk.explain(cox_model, row)
    assert out["status"] == "assessed"
    expected = cox_model.predict(cohort.iloc[[1]])
    assert out["risk"] == pytest.approx(expected["risk_at_horizon"].iloc[0])
    lo, hi = out["risk_interval"]
    assert 0 <= lo <= hi <= 1
    mags = [abs(c["contribution"]) for c in out["contributions"]]
    assert mags == sorted(mags, reverse=True)
    top = out["contributions"][0]
    assert top["direction"] == ("raises" if top["contribution"] > 0 else "lowers")
    assert out["contribution_unit"] == "log hazard ratio"
    # unknown is never imputed for one patient
    row["x2"] = None
    gap = risk.explain(cox_model, row)
    assert gap["status"] == "not_assessable" and gap["missing"] == ["x2"] and "risk" not in gap


def test_explain_reads_a_phenotype(cox_model):
    from heartprint.measure import Measurement
    from heartprint.phenotype import PatientFacts, Phenotype

    ph = Phenotype(facts=PatientFacts(age=61, sex="female"),
                   history=[Measurement(code="lv_ef", name="LV ejection fraction", value=48.0, unit="%")])
    row = risk.phenotype_row(ph)
    assert row["lv_ef"] == 48.0 and row["sex_male"] == 0.0 and row["age_years"] == 61 and row["weight_kg"] is None
    gap = risk.explain(cox_model, ph)
    assert gap["status"] == "not_assessable" and gap["missing"] == ["x1", "x2", "group"]


def test_late_and_early_fusion_with_an_h5ad_layer(tmp_path):
    """An omics layer (AnnData file) carrying the signal: both fusions find it; Cox on clinical does not."""
    import anndata

    rng = np.random.default_rng(5)
    n, p = 120, 12
    signal = rng.normal(size=n)  # one latent factor loads on every gene, as omics layers have factor structure
    genes = 0.8 * signal[:, None] + 0.6 * rng.normal(size=(n, p))
    t_event = rng.exponential(1 / (0.1 * np.exp(1.0 * signal)))
    t_cens = rng.uniform(0, 20, size=n)
    df = pd.DataFrame({"pid": [f"p{i}" for i in range(n)], "age": rng.normal(60, 10, n),
                       "time": np.minimum(t_event, t_cens), "event": (t_event <= t_cens).astype(int)})
    ad = anndata.AnnData(genes, obs=pd.DataFrame(index=df["pid"]), var=pd.DataFrame(index=[f"g{j}" for j in range(p)]))
    ad.write_h5ad(tmp_path / "rna.h5ad")
    cv = CV(outer=3, inner=2, bootstrap=20, bootstrap_models=0, seed=0)
    early = risk.fit(df.iloc[::-1], time="time", event="event", key="pid", omics=[tmp_path / "rna.h5ad"], cv=cv, model="cox",
                     settings=risk.Settings(omics_components=2))
    late = risk.fit(df, time="time", event="event", key="pid", omics=[tmp_path / "rna.h5ad"], fusion="late", cv=cv,
                    settings=risk.Settings(omics_components=2, late_alphas=(10.0,)))
    for m in (early, late):
        assert m.omics_layers == ("rna",)
        assert m.c_index > 0.62, m.c_index
        assert m.summary["cox"]["harrell_c"] < 0.6  # the baseline sees clinical columns only
    contrib = late.contributions(df.iloc[:5], omics=[tmp_path / "rna.h5ad"])
    assert list(contrib.columns) == ["clinical", "omics layer rna"]
    with pytest.raises(RiskModelError, match="omics layers rna"):
        late.predict(df.iloc[:5])
    row = df.drop(columns=["time", "event"]).iloc[0].to_dict()
    assert risk.explain(late, row)["missing"] == ["omics layer rna"]
    told = risk.explain(late, row, omics=[tmp_path / "rna.h5ad"])
    assert told["status"] == "assessed" and {c["feature"] for c in told["contributions"]} <= {"clinical", "omics layer rna"}


def test_bootstrap_uno_weights_match_scikit_survival():
    """The per-patient IPCW weights reused across bootstrap replicates give sksurv's Uno's C exactly."""
    from sksurv.metrics import concordance_index_censored, concordance_index_ipcw

    from heartprint.risk._validate import _c, uno_weights

    df = _cohort(300, 11)
    y = np.array(list(zip(df["event"].astype(bool), df["time"])), dtype=[("event", bool), ("time", float)])
    tr, te = y[:200], y[200:]
    te["time"] = np.minimum(te["time"], tr["time"].max() * 0.99)
    r = -df["x1"].to_numpy()[200:]
    assert _c(te, r, uno_weights(tr, te, 8.0)) == pytest.approx(concordance_index_ipcw(tr, te, r, tau=8.0)[0], abs=1e-12)
    r_tied = np.round(r, 1)  # risk ties, and a time tie between an event and a censored patient
    te["time"][1], te["event"][:2] = te["time"][0], [True, False]
    for risk_ in (r, r_tied):
        assert _c(te, risk_, np.ones(len(te))) == pytest.approx(
            concordance_index_censored(te["event"], te["time"], risk_)[0], abs=1e-12)
        assert _c(te, risk_, uno_weights(tr, te, 8.0)) == pytest.approx(
            concordance_index_ipcw(tr, te, risk_, tau=8.0)[0], abs=1e-12)

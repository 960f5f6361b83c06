"""Fitting, applying, saving and explaining a risk model.

:func:`fit` runs the nested cross-validation (:mod:`heartprint.risk._validate`), then refits the
model on the whole cohort with hyper-parameters chosen by inner CV on the whole cohort, plus
``CV.bootstrap_models`` refits on bootstrap resamples (same hyper-parameters) that give each
applied risk its interval (2.5th–97.5th percentile of the resampled models' risks).

Contributions (why this patient's risk is what it is):

* Cox and elastic-net Cox: ``coefficient × standardised value`` (the value centred on the
  training mean), summed over a categorical feature's dummies and over an omics layer's factors:
  the feature's term of the linear predictor, in log hazard-ratio units against an average
  training patient.
* Late fusion: the stacking coefficient × the block's standardised risk, one term per block
  (clinical, each omics layer), also in log hazard-ratio units.
* Random survival forest and gradient boosting: occlusion against a reference patient: the
  predicted risk at the horizon minus the risk with that one feature set to its training median
  (numbers) or most frequent level (categories), in risk units (0–1). Not SHAP (shap cannot be
  installed here); unlike SHAP the terms need not add up to the risk.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import clone

from heartprint.errors import HeartprintError, InvalidInputError
from heartprint.risk._card import card_markdown, make_card
from heartprint.risk._data import Survival, join_omics, missing_report, read_omics, read_table, survival_target
from heartprint.risk._models import MODELS, ColumnPlan, LateFusionCox, Settings, build, feature_groups, tune
from heartprint.risk._validate import Validation, nested_cv, survival_at

__all__ = ["CV", "RiskModel", "RiskModelError", "explain", "fit", "load", "phenotype_row"]

MODEL_FORMAT = "heartprint.risk-model/1"
_MODEL_FILE, _MANIFEST, _CARD_JSON, _CARD_MD, _CAL_PNG = "model.joblib", "manifest.json", "card.json", "card.md", "calibration.png"
#: Packages whose versions must match between saving and loading (a pickled scikit-learn model is
#: only guaranteed to behave the same under the versions that wrote it).
VERSIONED = ("heartprint", "scikit-survival", "scikit-learn", "numpy", "pandas", "scipy")
#: Contributions listed per patient.
TOP_FEATURES = 5


class RiskModelError(HeartprintError):
    """A saved risk model cannot be used: checksum, versions or features do not match."""


@dataclass(frozen=True)
class CV:
    """Validation design: ``outer`` × ``inner`` stratified folds, ``bootstrap`` replicates for the
    intervals of C, ``bootstrap_models`` refits for per-patient intervals (0: none), ``seed``."""

    outer: int = 5
    inner: int = 3
    bootstrap: int = 200
    bootstrap_models: int = 20
    seed: int = 0


def versions() -> dict[str, str]:
    """Installed versions of :data:`VERSIONED` and Python."""
    out = {}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    out["python"] = platform.python_version()
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class RiskModel:
    """A fitted, validated survival model (build with :func:`fit`, read with :func:`load`).

    Attributes
    ----------
    c_index, c_index_ci
        Harrell's C, mean over the outer folds, and its 95 % bootstrap interval.
    card
        The TRIPOD-style model card (dict; :attr:`card_markdown` for people).
    horizon
        Time (the table's unit) at which absolute risks are given.
    validation
        The nested-CV folds and measures (in memory only; not saved).
    """

    kind: str
    fusion: str | None
    outcome: Survival
    key: str | None
    features: tuple[str, ...]
    plan: ColumnPlan
    categories: dict[str, list[str]]
    reference: dict[str, Any]
    horizon: float
    estimator: Any
    boot_estimators: list[Any]
    summary: dict[str, Any]
    card: dict[str, Any]
    versions: dict[str, str]
    omics_layers: tuple[str, ...] = ()
    validation: Validation | None = field(default=None, repr=False)

    # -- performance -----------------------------------------------------------------------
    @property
    def c_index(self) -> float:
        return float(self.summary["model"]["harrell_c"])

    @property
    def c_index_ci(self) -> tuple[float, float]:
        lo, hi = self.summary["model"]["harrell_c_ci"]
        return float(lo), float(hi)

    @property
    def card_markdown(self) -> str:
        return card_markdown(self.card)

    # -- applying --------------------------------------------------------------------------
    def _design(self, table: pd.DataFrame, omics: Mapping[str, pd.DataFrame] | Sequence[str | Path] | None) -> pd.DataFrame:
        if self.omics_layers:
            layers = _omics_frames(omics)
            lacking = [n for n in self.omics_layers if n not in layers]
            if lacking:
                raise RiskModelError(f"the model was fitted with omics layers {', '.join(self.omics_layers)}; "
                                     f"not given: {', '.join(lacking)}")
            table = join_omics(table, {n: layers[n] for n in self.omics_layers}, self.key)
        missing = [c for c in self.features if c not in table.columns]
        if missing:
            raise RiskModelError(f"the table lacks {len(missing)} feature(s) the model was fitted on: "
                                 f"{', '.join(missing[:20])}")
        X = table.loc[:, list(self.features)]
        for c, levels in self.categories.items():
            seen = X[c].dropna().astype(str)
            new = sorted(set(seen) - set(levels))
            if new:
                raise RiskModelError(f"feature {c!r} has values the model never saw: {new[:10]} "
                                     f"(known: {levels[:10]})")
        return X

    def predict(self, table: pd.DataFrame, *, omics: Mapping[str, pd.DataFrame] | Sequence[str | Path] | None = None) -> pd.DataFrame:
        """Risk for each row of ``table`` (same index).

        Columns: ``risk_score`` (the model's own scale: linear predictor for Cox models, ensemble
        risk for forests/boosting; higher = higher risk), ``risk_at_horizon`` (probability of the
        event by :attr:`horizon`), ``risk_low`` / ``risk_high`` (95 % interval from the bootstrap
        refits; NaN when none were made), ``imputed`` (features that were missing and imputed).
        A missing feature column, an omics layer not given, or a category never seen is refused.
        """
        X = self._design(table, omics)
        out = pd.DataFrame(index=table.index)
        out["risk_score"] = self.estimator.predict(X)
        out["risk_at_horizon"] = 1 - survival_at(self.estimator, X, [self.horizon])[:, 0]
        if self.boot_estimators:
            boot = np.column_stack([1 - survival_at(e, X, [self.horizon])[:, 0] for e in self.boot_estimators])
            out["risk_low"], out["risk_high"] = np.percentile(boot, 2.5, axis=1), np.percentile(boot, 97.5, axis=1)
        else:
            out["risk_low"] = out["risk_high"] = np.nan
        isna = X.isna()
        out["imputed"] = [", ".join(X.columns[row]) for row in isna.to_numpy()]
        return out

    def contributions(self, table: pd.DataFrame, *, omics: Any = None) -> pd.DataFrame:
        """Each row's contribution per feature (columns: features, or blocks for late fusion).

        Units: log hazard ratio (Cox, elastic-net Cox, late fusion) or risk at the horizon
        (forest, boosting); see the module docstring for the method.
        """
        X = self._design(table, omics)
        est = self.estimator
        if isinstance(est, LateFusionCox):
            z = est.block_risks(X)
            return pd.DataFrame(z * est.stacker_.coef_, index=table.index, columns=est.block_names_)
        model = est.named_steps["model"]
        if hasattr(model, "coef_"):
            z = est.named_steps["prep"].transform(X)
            coef = np.asarray(model.coef_, dtype=float)
            coef = coef[:, -1] if coef.ndim == 2 else coef
            groups = feature_groups(est.named_steps["prep"])
            terms = pd.DataFrame(z * coef, index=table.index, columns=range(len(groups)))
            return terms.T.groupby(np.asarray(groups), sort=False).sum().T
        base = 1 - survival_at(est, X, [self.horizon])[:, 0]
        out = {}
        for c in self.features:
            ref = X.copy()
            ref[c] = pd.Series([self.reference[c]] * len(X), index=X.index, dtype=X[c].dtype)
            out[c] = base - (1 - survival_at(est, ref, [self.horizon])[:, 0])
        return pd.DataFrame(out, index=table.index)

    @property
    def contribution_unit(self) -> str:
        if isinstance(self.estimator, LateFusionCox) or hasattr(self.estimator.named_steps["model"], "coef_"):
            return "log hazard ratio"
        return "risk at horizon"

    # -- saving ----------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the model folder: ``model.joblib``, ``manifest.json`` (format, SHA-256 of the model
        and card files, versions, features), ``card.json``, ``card.md`` and ``calibration.png``."""
        import joblib

        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        stored = RiskModel(**{**self.__dict__, "validation": None})
        joblib.dump(stored, out / _MODEL_FILE, compress=3)
        (out / _CARD_JSON).write_text(json.dumps(self.card, indent=2, default=_json_default), encoding="utf-8")
        (out / _CARD_MD).write_text(self.card_markdown, encoding="utf-8")
        _calibration_plot(self.summary, out / _CAL_PNG, self.kind if self.fusion != "late" else "late fusion")
        manifest = {"format": MODEL_FORMAT, "kind": self.kind, "fusion": self.fusion, "features": list(self.features),
                    "omics_layers": list(self.omics_layers), "outcome": {"time": self.outcome.time, "event": self.outcome.event},
                    "horizon": self.horizon, "versions": self.versions,
                    "sha256": {f: _sha256(out / f) for f in (_MODEL_FILE, _CARD_JSON)}}
        (out / _MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        return out


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON-able: {type(o).__name__}")


def _calibration_plot(summary: dict[str, Any], path: Path, kind: str) -> None:
    """Quantile groups of predicted risk at the horizon against Kaplan–Meier risk, model and plain Cox."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 4))
    for who, label, style in (("model", kind, "o-"), ("cox", "plain Cox, same folds", "s--")):
        g = summary[who]["calibration"]["groups"]
        ax.plot([x["predicted"] for x in g], [x["observed"] for x in g], style,
                label=f"{label} (slope {summary[who]['calibration']['slope']:.2f})")
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8)
    ax.set_xlabel("predicted risk at horizon")
    ax.set_ylabel("observed risk (Kaplan–Meier)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def load(path: str | Path) -> RiskModel:
    """Read a model folder written by :meth:`RiskModel.save`, refusing it when its files do not match
    their checksums or when the installed versions (:data:`VERSIONED`) differ from those that wrote it.

    The model file is a pickle: the checksum catches corruption and edits, not a forged folder;
    load only models from people you trust.
    """
    import joblib

    folder = Path(path)
    try:
        manifest = json.loads((folder / _MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RiskModelError(f"{folder}: not a heartprint risk model folder ({exc})") from exc
    if manifest.get("format") != MODEL_FORMAT:
        raise RiskModelError(f"{folder}: format {manifest.get('format')!r}, expected {MODEL_FORMAT!r}")
    for name, digest in manifest["sha256"].items():
        if not (folder / name).is_file() or _sha256(folder / name) != digest:
            raise RiskModelError(f"{folder / name}: checksum does not match the manifest; the model was changed or damaged")
    now = versions()
    differ = {k: (v, now.get(k)) for k, v in manifest["versions"].items() if now.get(k) != v}
    if differ:
        raise RiskModelError(f"{folder}: written with other versions: "
                             + "; ".join(f"{k} {a} (installed {b})" for k, (a, b) in differ.items()))
    model = joblib.load(folder / _MODEL_FILE)
    if not isinstance(model, RiskModel) or list(model.features) != manifest["features"]:
        raise RiskModelError(f"{folder}: the model's features do not match its manifest")
    return model


# -- fitting -----------------------------------------------------------------------------------


def _omics_frames(omics: Mapping[str, pd.DataFrame] | Sequence[str | Path] | None) -> dict[str, pd.DataFrame]:
    if omics is None:
        return {}
    if isinstance(omics, Mapping):
        return {str(k): v for k, v in omics.items()}
    frames: dict[str, pd.DataFrame] = {}
    for p in omics:
        for name, frame in read_omics(p).items():
            if name in frames:
                raise InvalidInputError(f"two omics inputs give the layer name {name!r}; rename one")
            frames[name] = frame
    return frames


def fit(table: pd.DataFrame | str | Path, *, time: str, event: str, model: str = "coxnet",
        omics: Mapping[str, pd.DataFrame] | Sequence[str | Path] | None = None, cv: CV = CV(),
        key: str | None = None, features: Sequence[str] | None = None, horizon: float | None = None,
        fusion: str = "early", settings: Settings = Settings(), time_unit: str = "time units",
        source: str = "user table", progress: Callable[[str], None] = lambda msg: None) -> RiskModel:
    """Fit and validate a survival model on a cohort table (one row per patient).

    Parameters
    ----------
    table
        DataFrame, or a CSV/Parquet path.
    time, event
        Follow-up time column (any unit, ``time_unit`` names it) and event column (1/0).
    model
        ``"cox"``, ``"coxnet"`` (default), ``"rsf"`` or ``"gbsa"`` (:mod:`heartprint.risk._models`).
    omics
        Omics layers: ``{name: DataFrame}`` (patients × features, index = patient key) or file
        paths (:func:`~heartprint.risk._data.read_omics`), joined on ``table[key]``. With omics,
        ``fusion="early"`` reduces each layer to PCA factors inside the model's pipeline and fits
        one model; ``"late"`` stacks per-layer Cox risks (:class:`~heartprint.risk._models.LateFusionCox`).
        The Cox baseline then uses the clinical columns only.
    cv
        The validation design (:class:`CV`).
    key
        Patient key column (needed with omics; never used as a feature).
    features
        Feature columns; default every column except time, event and key.
    horizon
        Time at which absolute risk and calibration are given; default the median observed time.
    """
    if model not in MODELS:
        raise InvalidInputError(f"model {model!r}: expected one of {', '.join(MODELS)}")
    frame = read_table(table) if isinstance(table, (str, Path)) else table.reset_index(drop=True)
    layers = _omics_frames(omics)
    if layers and key is None:
        raise InvalidInputError("omics layers are joined on a patient key: give key=<column>")
    if key is not None and key not in frame.columns:
        raise InvalidInputError(f"key column {key!r} is not in the table")
    outcome = Survival(time, event)
    y = survival_target(frame, outcome)
    feats = list(features) if features is not None else [c for c in frame.columns if c not in (time, event, key)]
    absent = [c for c in feats if c not in frame.columns]
    if absent:
        raise InvalidInputError(f"feature columns not in the table: {', '.join(absent)}")
    if layers:
        own = set(frame.columns)
        frame = join_omics(frame, layers, key)
        feats += [c for c in frame.columns if c not in own]
    X = frame.loc[:, feats]
    empty = [c for c in feats if X[c].isna().all()]
    if empty:
        raise InvalidInputError(f"features with no value in any row: {', '.join(empty[:20])}")
    plan = ColumnPlan.of(X, feats)
    ids = [c for c in plan.categorical if len(X) > 20 and X[c].nunique() == X[c].notna().sum()]
    if ids:
        raise InvalidInputError(f"column(s) {', '.join(ids)} hold a different value in every row, like an identifier; "
                                "give it as key= or leave it out with features=")
    h = float(np.median(y["time"])) if horizon is None else float(horizon)
    if not 0 < h < y["time"].max():
        raise InvalidInputError(f"horizon {h}: must lie inside the follow-up (0 to {y['time'].max():g} {time_unit})")
    est = build(model, plan, settings, fusion if layers else "early")
    if isinstance(est, LateFusionCox):
        est.set_params(inner=cv.inner)
    cox = build("cox", plan.clinical() if layers else plan, settings)
    same = model == "cox" and not layers
    val = nested_cv(est, cox, X, y, outer=cv.outer, inner=cv.inner, horizon=h, bootstrap=cv.bootstrap,
                    seed=cv.seed, same_as_cox=same, progress=progress)
    progress("final fit on the whole cohort")
    final, params = tune(est, X, y, inner=cv.inner, seed=cv.seed)
    rng = np.random.default_rng(cv.seed)
    boots = []
    for _ in range(cv.bootstrap_models):
        idx = rng.integers(0, len(X), len(X))
        boots.append(clone(final).fit(X.iloc[idx], y[idx]))
    categories = {c: sorted(X[c].dropna().astype(str).unique().tolist()) for c in plan.categorical}
    reference = {c: (X[c].mode(dropna=True).iloc[0] if c in categories else float(X[c].median())) for c in feats}
    vers = versions()
    fus = (fusion if layers else None)
    explanation = _explanation_text(final)
    card = make_card(
        model=model if fus != "late" else "late-fusion Cox", fusion=fus,
        data={"source": source, "n_patients": int(len(X)), "n_events": int(y["event"].sum()),
              "median_time": float(np.median(y["time"])), "key": key, "omics_layers": list(layers)},
        outcome={"time": time, "event": event, "time_unit": time_unit, "horizon": h,
                 "horizon_rule": "given" if horizon is not None else "median observed time (default)"},
        features=feats, missing=missing_report(X, feats), summary=val.summary,
        cv={"outer": cv.outer, "inner": cv.inner, "bootstrap": cv.bootstrap, "bootstrap_models": cv.bootstrap_models,
            "seed": cv.seed, "fold_params": [f.params for f in val.folds]},
        params={k: v for k, v in params.items()}, versions=vers, explanation=explanation)
    return RiskModel(kind=model, fusion=fus, outcome=outcome, key=key, features=tuple(feats), plan=plan,
                     categories=categories, reference=reference, horizon=h, estimator=final, boot_estimators=boots,
                     summary=val.summary, card=card, versions=vers, omics_layers=tuple(layers), validation=val)


def _explanation_text(est: Any) -> str:
    if isinstance(est, LateFusionCox):
        return ("per block (clinical, each omics layer): stacking coefficient × standardised block risk, "
                "in log hazard-ratio units")
    if hasattr(est.named_steps["model"], "coef_"):
        return ("coefficient × standardised (training-centred) value, summed per feature (and per omics layer), "
                "in log hazard-ratio units")
    return ("occlusion: risk at the horizon minus the risk with the feature set to its training median "
            "(most frequent level for categories), in risk units; not SHAP")


# -- one patient, for the report -----------------------------------------------------------------


def phenotype_row(phenotype: Any) -> dict[str, float | None]:
    """A :class:`heartprint.phenotype.Phenotype` as one feature row, named as :func:`results_table`
    names columns: every latest global measurement by concept code, ``age_years``, ``height_cm``,
    ``weight_kg`` and ``sex_male`` (1 male, 0 female, ``None`` unknown) from the patient facts."""
    row: dict[str, float | None] = {m.code: float(m.value) for m in phenotype.measurements
                                    if m.segment is None and m.vessel is None}
    f = phenotype.facts
    row.update({"age_years": f.age, "height_cm": f.height_cm, "weight_kg": f.weight_kg,
                "sex_male": None if f.sex is None else float(f.sex == "male")})
    return row


def explain(model: RiskModel, row: Mapping[str, Any] | pd.Series | pd.DataFrame | Any,
            *, omics: Mapping[str, pd.DataFrame] | Sequence[str | Path] | None = None) -> dict[str, Any]:
    """One patient's risk for the report: the risk at the horizon, its interval and the top contributions.

    ``row`` is a mapping (feature → value), a one-row DataFrame/Series, or a
    :class:`heartprint.phenotype.Phenotype` (read by :func:`phenotype_row`). Unknown is never
    imputed here: when the patient lacks a feature the model uses, the answer is
    ``status="not_assessable"`` with ``missing`` naming the features (imputation is a cohort
    device; for one patient it would state values nobody measured); likewise an omics layer the
    model uses and ``omics`` does not give (``omics layer <name>``).

    Returns
    -------
    dict
        ``status`` (``"assessed"`` / ``"not_assessable"``), ``model`` (kind, fusion),
        ``horizon`` and ``time_unit``, ``risk`` and ``risk_interval`` (probability of the event by the
        horizon, 95 % interval from the bootstrap refits or ``None``), ``contributions`` (the
        :data:`TOP_FEATURES` largest by magnitude: feature, value, contribution, ``raises``/``lowers``),
        ``contribution_unit``, ``method``, ``performance`` (Harrell's C with its interval, and
        plain Cox's), ``intended_use``; for ``not_assessable`` ``missing`` instead of the risk.
    """
    from heartprint.phenotype import Phenotype

    if isinstance(row, Phenotype):
        row = phenotype_row(row)
    if isinstance(row, pd.DataFrame):
        if len(row) != 1:
            raise InvalidInputError(f"explain takes one patient; got {len(row)} rows")
        frame = row.reset_index(drop=True)
    else:
        frame = pd.DataFrame([dict(row)])
    clinical = list(model.plan.numeric + model.plan.categorical)
    lacking = [c for c in clinical if c not in frame.columns or pd.isna(frame.loc[0, c])]
    layers = _omics_frames(omics)
    lacking += [f"omics layer {n}" for n in model.omics_layers if n not in layers]
    card = model.card
    base = {"model": {"kind": model.kind, "fusion": model.fusion}, "horizon": model.horizon,
            "time_unit": card["outcome"]["time_unit"], "event": card["outcome"]["event"],
            "intended_use": card["intended_use"],
            "performance": {"harrell_c": model.c_index, "harrell_c_ci95": list(model.c_index_ci),
                            "cox_harrell_c": model.summary["cox"]["harrell_c"],
                            "difference_vs_cox": model.summary["difference"]["verdict"]}}
    if lacking:
        return {**base, "status": "not_assessable", "missing": lacking}
    pred = model.predict(frame, omics=layers).iloc[0]
    contrib = model.contributions(frame, omics=layers).iloc[0]
    order = contrib.abs().sort_values(ascending=False).index[:TOP_FEATURES]
    top = [{"feature": str(c), "value": (None if c not in frame.columns else _plain(frame.loc[0, c])),
            "contribution": float(contrib[c]), "direction": "raises" if contrib[c] > 0 else "lowers"}
           for c in order if contrib[c] != 0]
    interval = None if math.isnan(pred["risk_low"]) else [float(pred["risk_low"]), float(pred["risk_high"])]
    return {**base, "status": "assessed", "risk": float(pred["risk_at_horizon"]), "risk_interval": interval,
            "contributions": top, "contribution_unit": model.contribution_unit,
            "method": card["model"]["explanation_method"]}


def _plain(v: Any) -> Any:
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    return v

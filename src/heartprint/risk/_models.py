"""The survival models: scikit-survival estimators behind one preprocessing pipeline.

Every model is a scikit-learn :class:`~sklearn.pipeline.Pipeline` whose first step prepares the
columns and whose last step is a scikit-survival estimator, so that imputation, encoding,
scaling and omics reduction are refitted inside every training fold and never see a test fold:

* numeric clinical/imaging columns: median imputation;
* categorical columns (object, category or boolean dtype): most-frequent imputation, then
  one-hot coding with the first level dropped (so plain Cox has no collinear dummies);
* each omics layer (columns ``layer:feature``): median imputation, standardisation, then PCA to
  at most ``omics_components`` factors (the per-layer reduction of early fusion);
* then every column standardised (mean 0, SD 1 on the training fold), so a Cox coefficient is
  per training-SD and ``coefficient × value`` is a centred contribution.

Models (``model=``):

``cox``
    :class:`sksurv.linear_model.CoxPHSurvivalAnalysis`, unpenalised (Breslow ties): the
    baseline every other model is compared with on the same outer folds.
``coxnet``
    :class:`sksurv.linear_model.CoxnetSurvivalAnalysis`, elastic net (``l1_ratio`` 0.5), the
    penalty ``alpha`` chosen in the inner loop from the training fold's own regularisation path.
``rsf``
    :class:`sksurv.ensemble.RandomSurvivalForest`; ``min_samples_leaf`` chosen in the inner loop.
``gbsa``
    :class:`sksurv.ensemble.GradientBoostingSurvivalAnalysis` (Cox partial-likelihood loss,
    depth-2 trees); ``learning_rate`` chosen in the inner loop.

Late fusion of omics (:class:`LateFusionCox`) fits one model per block (clinical: Cox;
each omics layer: ridge-penalised Cox on that layer's PCA factors), and stacks the blocks'
linear predictors with an unpenalised Cox model fitted on *out-of-fold* block predictions of the
training data (inner folds), so the stacking weights are not fitted on in-sample risks.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sksurv.ensemble import GradientBoostingSurvivalAnalysis, RandomSurvivalForest
from sksurv.linear_model import CoxnetSurvivalAnalysis, CoxPHSurvivalAnalysis

from heartprint.errors import InvalidInputError
from heartprint.risk._data import OMICS_SEPARATOR
from heartprint.risk._names import MODELS

__all__ = ["MODELS", "ColumnPlan", "LateFusionCox", "Settings", "build", "feature_groups", "inner_splits", "tune"]


#: Elastic-net mixing of ``coxnet`` (0 ridge, 1 lasso).
COXNET_L1_RATIO = 0.5
#: Number of penalties tried from the regularisation path, and the path's smallest/largest ratio.
COXNET_GRID, COXNET_MIN_RATIO = 6, 0.01


@dataclass(frozen=True)
class Settings:
    """Model options that are not hyper-parameters tuned in the inner loop.

    ``trees``: trees of the random survival forest and boosting stages of ``gbsa``;
    ``omics_components``: PCA factors kept per omics layer; ``late_alphas``: ridge penalties of
    the per-layer Cox models in late fusion, tried in the inner loop; ``seed``: every random state.
    """

    trees: int = 100
    omics_components: int = 10
    late_alphas: tuple[float, ...] = (1.0, 10.0, 100.0)
    seed: int = 0


@dataclass(frozen=True)
class ColumnPlan:
    """Which columns are numeric, categorical, and which belong to each omics layer."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    layers: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def features(self) -> tuple[str, ...]:
        return self.numeric + self.categorical + tuple(c for cols in self.layers.values() for c in cols)

    @classmethod
    def of(cls, table: pd.DataFrame, features: Sequence[str]) -> "ColumnPlan":
        numeric, categorical, layers = [], [], {}
        for c in features:
            if OMICS_SEPARATOR in c:
                layers.setdefault(c.split(OMICS_SEPARATOR, 1)[0], []).append(c)
            elif pd.api.types.is_bool_dtype(table[c]) or not pd.api.types.is_numeric_dtype(table[c]):
                categorical.append(c)
            else:
                numeric.append(c)
        return cls(tuple(numeric), tuple(categorical), {k: tuple(v) for k, v in layers.items()})

    def clinical(self) -> "ColumnPlan":
        return ColumnPlan(self.numeric, self.categorical, {})

    def only_layer(self, name: str) -> "ColumnPlan":
        return ColumnPlan((), (), {name: self.layers[name]})


def _as_object(x: Any) -> Any:
    """Categorical columns as strings (one-hot sees ``1`` and ``"1"`` as one level); missing stays NaN."""
    return pd.DataFrame(x).astype(object).map(lambda v: np.nan if pd.isna(v) else str(v))


def preprocessor(plan: ColumnPlan, settings: Settings) -> Pipeline:
    """The column preparation of every model (see the module docstring); unfitted."""
    from sklearn.preprocessing import FunctionTransformer

    parts: list[tuple[str, Any, list[str]]] = []
    if plan.numeric:
        parts.append(("num", SimpleImputer(strategy="median"), list(plan.numeric)))
    if plan.categorical:
        parts.append(("cat", Pipeline([
            ("str", FunctionTransformer(_as_object, feature_names_out="one-to-one")),
            ("impute", SimpleImputer(strategy="most_frequent")),
            ("onehot", OneHotEncoder(drop="first", handle_unknown="ignore", sparse_output=False)),
        ]), list(plan.categorical)))
    for name, cols in plan.layers.items():
        parts.append((f"omics{OMICS_SEPARATOR}{name}", Pipeline([
            ("impute", SimpleImputer(strategy="median")),
            ("scale", StandardScaler()),
            ("pca", PCA(n_components=min(settings.omics_components, len(cols)), random_state=settings.seed)),
        ]), list(cols)))
    if not parts:
        raise InvalidInputError("no feature columns to model")
    return Pipeline([("columns", ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)),
                     ("scale", StandardScaler())])


def feature_groups(prep: Pipeline) -> list[str]:
    """For each output column of a fitted :func:`preprocessor`, the input feature (or omics layer) it comes from."""
    ct: ColumnTransformer = prep.named_steps["columns"]
    out: list[str] = []
    for name, trans, cols in ct.transformers_:
        if name == "remainder":
            continue
        if name == "num":
            out += list(cols)
        elif name == "cat":
            enc: OneHotEncoder = trans.named_steps["onehot"]
            for i, c in enumerate(cols):
                drop = enc.drop_idx_ is not None and enc.drop_idx_[i] is not None
                out += [c] * (len(enc.categories_[i]) - int(drop))
        else:
            out += [f"omics layer {name.split(OMICS_SEPARATOR, 1)[1]}"] * int(trans.named_steps["pca"].n_components_)
    return out


def _estimator(model: str, settings: Settings) -> Any:
    if model == "cox":
        return CoxPHSurvivalAnalysis(alpha=0.0, ties="breslow")
    if model == "coxnet":
        return CoxnetSurvivalAnalysis(l1_ratio=COXNET_L1_RATIO, fit_baseline_model=True)
    if model == "rsf":
        return RandomSurvivalForest(n_estimators=settings.trees, max_features="sqrt", n_jobs=1,
                                    random_state=settings.seed, low_memory=False)
    if model == "gbsa":
        return GradientBoostingSurvivalAnalysis(loss="coxph", n_estimators=settings.trees, max_depth=2,
                                                subsample=0.8, random_state=settings.seed)
    raise InvalidInputError(f"model {model!r}: expected one of {', '.join(MODELS)}")


def build(model: str, plan: ColumnPlan, settings: Settings,
          fusion: Literal["early", "late"] = "early") -> Pipeline | "LateFusionCox":
    """The unfitted model: preprocessing + estimator (or the late-fusion stack)."""
    if fusion == "late":
        if not plan.layers:
            raise InvalidInputError("late fusion needs at least one omics layer")
        return LateFusionCox(plan=plan, settings=settings)
    if fusion != "early":
        raise InvalidInputError(f"fusion {fusion!r}: expected 'early' or 'late'")
    return Pipeline([("prep", preprocessor(plan, settings)), ("model", _estimator(model, settings))])


def inner_splits(y: np.ndarray, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` folds stratified on the event indicator (each fold keeps the event rate)."""
    skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return list(skf.split(np.zeros(len(y)), y["event"]))


def _grid(est: Any, X: pd.DataFrame, y: np.ndarray) -> dict[str, list[Any]]:
    """Hyper-parameter grid of ``est`` for the inner loop; for ``coxnet`` read from the training
    data's own regularisation path (only ``X``, the training fold, is seen)."""
    if isinstance(est, LateFusionCox):
        return {"layer_alpha": list((est.settings or Settings()).late_alphas)}
    model = est.named_steps["model"]
    if isinstance(model, CoxnetSurvivalAnalysis):
        path = clone(est).set_params(model__alpha_min_ratio=COXNET_MIN_RATIO, model__n_alphas=30,
                                     model__fit_baseline_model=False).fit(X, y)
        alphas = path.named_steps["model"].alphas_
        pick = alphas[np.linspace(0, len(alphas) - 1, COXNET_GRID).round().astype(int)]
        return {"model__alphas": [[float(a)] for a in pick]}
    if isinstance(model, RandomSurvivalForest):
        return {"model__min_samples_leaf": [5, 15]}
    if isinstance(model, GradientBoostingSurvivalAnalysis):
        return {"model__learning_rate": [0.05, 0.2]}
    return {}


def tune(est: Any, X: pd.DataFrame, y: np.ndarray, *, inner: int, seed: int) -> tuple[Any, dict[str, Any]]:
    """Fit ``est`` on (X, y) with its hyper-parameters chosen by ``inner``-fold CV on (X, y) alone.

    The inner score is Harrell's C (scikit-survival estimators' ``score``). Returns the refitted
    estimator and the chosen parameters (empty for plain Cox, which has none).
    """
    grid = _grid(est, X, y)
    fixed = {k: v[0] for k, v in grid.items() if len(v) == 1}
    grid = {k: v for k, v in grid.items() if len(v) > 1}
    if not grid:
        return clone(est).set_params(**fixed).fit(X, y), fixed
    search = GridSearchCV(clone(est), grid, cv=inner_splits(y, inner, seed), refit=True, n_jobs=1, error_score=np.nan)
    with warnings.catch_warnings():  # the path's largest penalty zeroes every coefficient, by definition
        warnings.filterwarnings("ignore", message="all coefficients are zero")
        search.fit(X, y)
    return search.best_estimator_, {**fixed, **search.best_params_}


class LateFusionCox(BaseEstimator):
    """Late fusion: one Cox model per block, stacked by a Cox model on out-of-fold block risks.

    Blocks are the clinical columns (unpenalised Cox) and each omics layer (its PCA factors,
    ridge-penalised Cox with ``layer_alpha``). The stacker sees, for every training patient,
    each block's linear predictor from a block model that did not see that patient
    (``inner`` stratified folds of the training data); at prediction the block models refitted on
    all training data give the inputs. Scikit-survival estimators throughout.
    """

    def __init__(self, plan: ColumnPlan | None = None, settings: Settings | None = None, layer_alpha: float = 10.0,
                 inner: int = 3):
        self.plan = plan
        self.settings = settings
        self.layer_alpha = layer_alpha
        self.inner = inner

    def _blocks(self) -> dict[str, Pipeline]:
        s = self.settings or Settings()
        blocks: dict[str, Pipeline] = {}
        clin = self.plan.clinical()
        if clin.features:
            blocks["clinical"] = Pipeline([("prep", preprocessor(clin, s)),
                                           ("model", CoxPHSurvivalAnalysis(alpha=0.0, ties="breslow"))])
        for name in self.plan.layers:
            blocks[f"omics layer {name}"] = Pipeline([
                ("prep", preprocessor(self.plan.only_layer(name), s)),
                ("model", CoxPHSurvivalAnalysis(alpha=self.layer_alpha, ties="breslow"))])
        return blocks

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> "LateFusionCox":
        blocks = self._blocks()
        self.block_names_ = list(blocks)
        oof = np.zeros((len(X), len(blocks)))
        for tr, te in inner_splits(y, self.inner, (self.settings or Settings()).seed):
            for j, b in enumerate(blocks.values()):
                oof[te, j] = clone(b).fit(X.iloc[tr], y[tr]).predict(X.iloc[te])
        self.blocks_ = [clone(b).fit(X, y) for b in blocks.values()]
        self.stack_scale_ = StandardScaler().fit(oof)
        self.stacker_ = CoxPHSurvivalAnalysis(alpha=0.0, ties="breslow").fit(self.stack_scale_.transform(oof), y)
        self.unique_times_ = self.stacker_.unique_times_
        return self

    def block_risks(self, X: pd.DataFrame) -> np.ndarray:
        """Standardised linear predictor of each block (columns in :attr:`block_names_` order)."""
        return self.stack_scale_.transform(np.column_stack([b.predict(X) for b in self.blocks_]))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.stacker_.predict(self.block_risks(X))

    def predict_survival_function(self, X: pd.DataFrame, return_array: bool = False) -> Any:
        return self.stacker_.predict_survival_function(self.block_risks(X), return_array=return_array)

    def score(self, X: pd.DataFrame, y: np.ndarray) -> float:
        from sksurv.metrics import concordance_index_censored

        return concordance_index_censored(y["event"], y["time"], self.predict(X))[0]

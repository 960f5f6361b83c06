"""The model card: TRIPOD-style facts about a fitted risk model, as JSON and Markdown.

Items follow the TRIPOD statement for prediction-model development with internal validation
(Collins et al., BMJ 2015, doi:10.1136/bmj.g7594): source of data, participants, outcome and
horizon, predictors, sample size and events, missing data and how they were handled, model
building, validation (nested cross-validation), performance with intervals (discrimination and
calibration), intended use and limitations.
"""

from __future__ import annotations

from typing import Any

__all__ = ["card_markdown", "make_card"]

INTENDED_USE = ("research: estimating event risk in cohorts like the development cohort; not a "
                "clinical decision tool and not validated outside the cohort it was fitted on")

LIMITS = (
    "Validated internally only (nested cross-validation on the development cohort); no external validation.",
    "Intervals of C are percentile bootstraps over the held-out patients of each outer fold; they do "
    "not include the variation of refitting the model.",
    "Calibration is assessed at one horizon only; risks beyond the longest follow-up are not estimated.",
    "Missing values are imputed (training-fold median for numbers, most frequent level for categories); "
    "an applied risk with imputed inputs is less certain than its interval says.",
    "Associations, not causes: a feature's contribution is not the effect of changing it.",
)


def _fmt(x: float) -> str:
    return "n/a" if x != x else f"{x:.3f}"


def make_card(*, model: str, fusion: str | None, data: dict[str, Any], outcome: dict[str, Any], features: list[str],
              missing: list[dict[str, Any]], summary: dict[str, Any], cv: dict[str, Any], params: dict[str, Any],
              versions: dict[str, str], explanation: str) -> dict[str, Any]:
    """The card as a JSON-able dict (the same content :func:`card_markdown` renders)."""
    m, c = summary["model"], summary["cox"]
    return {
        "schema": "heartprint.risk-card/1",
        "model": {"kind": model, "fusion": fusion, "hyperparameters": params,
                  "explanation_method": explanation},
        "data": data,
        "outcome": outcome,
        "predictors": features,
        "missing_data": {"rule": "imputed inside each training fold by the model pipeline: median for numeric "
                                 "columns, most frequent level for categorical ones; never fitted on held-out rows",
                         "per_feature": missing},
        "validation": {"design": "nested cross-validation; hyper-parameters chosen in the inner loop; plain Cox "
                                 "fitted on the same outer training folds", **cv},
        "performance": {
            "harrell_c": m["harrell_c"], "harrell_c_ci95": m["harrell_c_ci"],
            "uno_c": m["uno_c"], "uno_c_ci95": m["uno_c_ci"],
            "td_auc_mean": m["td_auc"], "integrated_brier": m["ibs"],
            "calibration": m["calibration"],
            "cox_baseline": {"harrell_c": c["harrell_c"], "harrell_c_ci95": c["harrell_c_ci"], "uno_c": c["uno_c"],
                             "integrated_brier": c["ibs"], "calibration_slope": c["calibration"]["slope"]},
            "difference_vs_cox": summary["difference"],
        },
        "intended_use": INTENDED_USE,
        "limits": list(LIMITS),
        "software": versions,
    }


def card_markdown(card: dict[str, Any]) -> str:
    """The card as Markdown for people."""
    p, d, o = card["performance"], card["data"], card["outcome"]
    cal, cox, diff = p["calibration"], p["cox_baseline"], p["difference_vs_cox"]
    lines = [
        f"# Risk model card: {card['model']['kind']}" + (f" ({card['model']['fusion']} fusion)" if card['model']['fusion'] else ""),
        "",
        f"**Intended use:** {card['intended_use']}.",
        "",
        "## Data and cohort",
        f"- Source: {d['source']}",
        f"- Patients: {d['n_patients']}, events: {d['n_events']}, median follow-up time: {_fmt(d['median_time'])} {o['time_unit']}",
        f"- Patient key: {d['key'] or 'none'}; omics layers: {', '.join(d['omics_layers']) or 'none'}",
        "",
        "## Outcome",
        f"- Time column `{o['time']}`, event column `{o['event']}` (1 = event); horizon {_fmt(o['horizon'])} "
        f"{o['time_unit']} ({o['horizon_rule']})",
        "",
        "## Predictors",
        f"- {len(card['predictors'])}: " + ", ".join(card["predictors"][:40]) + (" ..." if len(card["predictors"]) > 40 else ""),
        "",
        "## Missing data",
        f"- Rule: {card['missing_data']['rule']}",
    ]
    miss = [r for r in card["missing_data"]["per_feature"] if r["missing"]]
    lines += [f"- `{r['feature']}`: {r['missing']} missing ({100 * r['fraction']:.1f} %)" for r in miss[:40]] or ["- none missing"]
    v = card["validation"]
    lines += [
        "",
        "## Validation",
        f"- {v['design']}; {v['outer']} outer × {v['inner']} inner folds (stratified on the event), "
        f"{v['bootstrap']} bootstrap replicates, seed {v['seed']}",
        "",
        "## Performance (outer-fold mean, 95 % bootstrap interval)",
        "",
        "| measure | this model | plain Cox, same folds |",
        "|---|---|---|",
        f"| Harrell's C | {_fmt(p['harrell_c'])} ({_fmt(p['harrell_c_ci95'][0])}–{_fmt(p['harrell_c_ci95'][1])}) | "
        f"{_fmt(cox['harrell_c'])} ({_fmt(cox['harrell_c_ci95'][0])}–{_fmt(cox['harrell_c_ci95'][1])}) |",
        f"| Uno's C (to horizon) | {_fmt(p['uno_c'])} ({_fmt(p['uno_c_ci95'][0])}–{_fmt(p['uno_c_ci95'][1])}) | {_fmt(cox['uno_c'])} |",
        f"| mean time-dependent AUC | {_fmt(p['td_auc_mean'])} | |",
        f"| integrated Brier score | {_fmt(p['integrated_brier'])} | {_fmt(cox['integrated_brier'])} |",
        f"| calibration slope at horizon | {_fmt(cal['slope'])} | {_fmt(cox['calibration_slope'])} |",
        "",
        f"Difference in Harrell's C vs Cox: {diff['harrell_c']:+.3f} (paired 95 % interval "
        f"{diff['ci'][0]:+.3f} to {diff['ci'][1]:+.3f}): {diff['verdict']}.",
        "",
        f"## Calibration at {_fmt(cal['horizon'])} {o['time_unit']}",
        f"- Mean predicted risk {_fmt(cal['mean_predicted'])}; Kaplan–Meier observed {_fmt(cal['observed_km'])}",
        "",
        "| group | n | predicted | observed (KM) |",
        "|---|---|---|---|",
    ]
    lines += [f"| {i + 1} | {g['n']} | {_fmt(g['predicted'])} | {_fmt(g['observed'])} |" for i, g in enumerate(cal["groups"])]
    lines += ["", "## Explanations", f"- {card['model']['explanation_method']}", "", "## Limits"]
    lines += [f"- {x}" for x in card["limits"]]
    lines += ["", "## Software", "- " + ", ".join(f"{k} {v}" for k, v in card["software"].items()), ""]
    return "\n".join(lines)

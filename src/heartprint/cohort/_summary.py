"""The cohort summary report (``OUT/cohort_summary.html``) and its percentile table
(``OUT/tables/percentiles.csv``): plain Matplotlib figures in the report package's style,
rendered with Jinja2, one self-contained file.

What it shows:

* the studies by status and QC status, and the failures by stage with their most common errors;
* for each main measurement (:data:`MAIN_CODES` present in the cohort, else the most frequent
  global codes), its distribution by sex and age band (box plots, every study a dot);
* percentiles (2.5, 5, 25, 50, 75, 95, 97.5) per measurement, sex and age band, with the count:
  the cohort's own reference distribution. A cell with fewer than :data:`MIN_N` studies gets no
  percentiles (too few to take as a reference). Studies with unknown sex or age are counted in
  the "all" rows only — an unknown is never put in a band;
* outliers: studies whose value lies more than :data:`OUTLIER_Z` robust standard deviations
  (1.4826 × the median absolute deviation, the consistent estimator of the SD for normal data;
  Rousseeuw & Croux, J Am Stat Assoc 1993;88:1273-83, doi:10.1080/01621459.1993.10476408) from
  the cohort median, each with a link to its study report.

These percentiles describe this cohort only (its scanners, protocol and people); they are not
the verified reference ranges of ``clinical/reference_ranges`` and the page says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from heartprint._atomic import atomic_write
from heartprint.cohort._tables import AGE_BANDS, COLUMNS

__all__ = ["MAIN_CODES", "MIN_N", "OUTLIER_Z", "PERCENTILES", "outliers", "percentile_table", "write_summary"]

#: Measurements shown first when present (cine CMR function and mass, then CT and nuclear).
MAIN_CODES = ("lv_edv", "lv_esv", "lv_ef", "lv_mass", "rv_edv", "rv_esv", "rv_ef", "lv_edvi", "lv_massi",
              "cac_agatston", "native_t1")
PERCENTILES = (2.5, 5.0, 25.0, 50.0, 75.0, 95.0, 97.5)
#: Fewest studies in a cell for its percentiles to be given.
MIN_N = 20
#: Robust z beyond which a study is listed as an outlier.
OUTLIER_Z = 3.5
_MAX_PLOTS = 8

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Cohort summary</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em;color:#222;max-width:1100px}
table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f2f2f2}td.l,th.l{text-align:left}img{max-width:100%}.note{color:#555;font-size:0.9em}
</style></head><body>
<h1>Cohort summary</h1>
<p>{{ n_studies }} studies: {% for s, n in status.items() %}{{ n }} {{ s }}{% if not loop.last %}, {% endif %}{% endfor %}.
For research and decision support; not a diagnosis.</p>
<h2>Quality control</h2>
<table><tr><th class="l">QC status of the analysed series</th><th>studies</th></tr>
{% for s, n in qc.items() %}<tr><td class="l">{{ s }}</td><td>{{ n }}</td></tr>{% endfor %}</table>
<table><tr><th class="l">failure</th><th>count</th></tr>
{% for s, n in failure_stages.items() %}<tr><td class="l">{{ s }}</td><td>{{ n }}</td></tr>{% endfor %}
{% if not failure_stages %}<tr><td class="l">none</td><td>0</td></tr>{% endif %}</table>
{% if top_errors %}<table><tr><th class="l">most common reasons</th><th>count</th></tr>
{% for e, n in top_errors %}<tr><td class="l">{{ e }}</td><td>{{ n }}</td></tr>{% endfor %}</table>{% endif %}
<h2>Distributions by sex and age band</h2>
{% for f in figures %}<figure><img src="{{ f.uri }}" alt="{{ f.alt }}"><figcaption class="note">{{ f.alt }}</figcaption></figure>{% endfor %}
{% if not figures %}<p>No measurements to show.</p>{% endif %}
<h2>Percentiles (a local reference)</h2>
<p class="note">This cohort's own distribution (also in <code>tables/percentiles.csv</code>): its scanners, protocol
and people, not a verified reference range. Cells with fewer than {{ min_n }} studies have no percentiles.
Studies of unknown sex or age count only in the "all" rows.</p>
<table><tr><th class="l">measurement</th><th class="l">sex</th><th class="l">age band</th><th>n</th>
{% for p in percentiles %}<th>P{{ p }}</th>{% endfor %}</tr>
{% for r in pct_rows %}<tr><td class="l">{{ r.label }}</td><td class="l">{{ r.sex }}</td><td class="l">{{ r.age_band }}</td><td>{{ r.n }}</td>
{% for v in r["values"] %}<td>{{ v }}</td>{% endfor %}</tr>{% endfor %}</table>
<h2>Outliers</h2>
<p class="note">More than {{ outlier_z }} robust standard deviations (1.4826 × median absolute deviation) from the
cohort median.</p>
<table><tr><th class="l">study</th><th class="l">measurement</th><th>value</th><th>cohort median</th><th>robust z</th></tr>
{% for o in outliers %}<tr><td class="l">{% if o.report %}<a href="{{ o.report }}">{{ o.item_id }}</a>{% else %}{{ o.item_id }}{% endif %}</td>
<td class="l">{{ o.label }}</td><td>{{ o.value }}</td><td>{{ o.median }}</td><td>{{ o.z }}</td></tr>{% endfor %}
{% if not outliers %}<tr><td class="l" colspan="5">none</td></tr>{% endif %}</table>
</body></html>
"""


def _label(code: str) -> str:
    from heartprint.concepts import CONCEPTS

    c = CONCEPTS.get(code)
    return f"{c.name} ({c.unit})" if c is not None else code


def _codes(studies: Any) -> list[str]:
    measured = [c for c in studies.columns if c not in COLUMNS["studies"] and studies[c].notna().any()]
    main = [c for c in MAIN_CODES if c in measured]
    rest = sorted((c for c in measured if c not in main), key=lambda c: -int(studies[c].notna().sum()))
    return (main + rest)[:_MAX_PLOTS] if main else rest[:_MAX_PLOTS]


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def percentile_table(studies: Any, codes: list[str]) -> Any:
    """Rows (code, sex, age band, n, P2.5 … P97.5) for ``codes``: all studies, then by sex, then by
    sex and age band; percentiles empty where n < :data:`MIN_N`."""
    import numpy as np
    import pandas as pd

    rows = []
    bands = [b for _, _, b in AGE_BANDS]
    for code in codes:
        groups = [("all", "all", studies[code])]
        for sex in ("female", "male"):
            of_sex = studies[studies["sex"] == sex]
            groups.append((sex, "all", of_sex[code]))
            groups += [(sex, band, of_sex.loc[of_sex["age_band"] == band, code]) for band in bands]
        for sex, band, values in groups:
            v = values.dropna().to_numpy(float)
            if band != "all" and v.size == 0:
                continue
            pct = np.percentile(v, PERCENTILES) if v.size >= MIN_N else [np.nan] * len(PERCENTILES)
            rows.append({"code": code, "sex": sex, "age_band": band, "n": int(v.size),
                         **{f"p{p:g}": float(x) for p, x in zip(PERCENTILES, pct)}})
    return pd.DataFrame(rows, columns=["code", "sex", "age_band", "n"] + [f"p{p:g}" for p in PERCENTILES])


def outliers(studies: Any, codes: list[str]) -> list[dict[str, Any]]:
    """Studies more than :data:`OUTLIER_Z` robust SDs from the cohort median of a measurement."""
    import numpy as np

    found = []
    for code in codes:
        col = studies[code]
        v = col.dropna().to_numpy(float)
        if v.size < 5:
            continue
        med = float(np.median(v))
        sd = 1.4826 * float(np.median(np.abs(v - med)))
        if sd <= 0:
            continue
        for i, x in col.dropna().items():
            z = (float(x) - med) / sd
            if abs(z) > OUTLIER_Z:
                found.append({"item_id": studies.at[i, "item_id"], "report": studies.at[i, "report"], "code": code,
                              "label": _label(code), "value": _fmt(float(x)), "median": _fmt(med), "z": f"{z:+.1f}"})
    return found


def _figure(studies: Any, code: str) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from heartprint.report._style import OKABE_ITO, data_uri, png_bytes, style

    bands = [b for _, _, b in AGE_BANDS]
    with style():
        fig, ax = plt.subplots(figsize=(8, 3.2))
        pos, ticks, labels = 0, [], []
        for sex, colour in (("female", OKABE_ITO["vermillion"]), ("male", OKABE_ITO["blue"])):
            for band in bands:
                v = studies.loc[(studies["sex"] == sex) & (studies["age_band"] == band), code].dropna().to_numpy(float)
                if v.size == 0:
                    continue
                ax.boxplot([v], positions=[pos], widths=0.6, showfliers=False)
                jitter = (np.arange(v.size) % 7 - 3) * 0.04
                ax.plot(pos + jitter, v, "o", ms=3, alpha=0.6, color=colour)
                ticks.append(pos)
                labels.append(f"{sex[0].upper()} {band}")
                pos += 1
            pos += 0.5
        ax.set_xticks(ticks, labels, rotation=0, fontsize=8)
        ax.set_ylabel(_label(code))
        ax.set_title(_label(code))
        fig.tight_layout()
        uri = data_uri(png_bytes(fig))
    n = int(studies[code].notna().sum())
    known = int(studies.loc[studies["sex"].notna() & studies["age_band"].notna(), code].notna().sum())
    return {"uri": uri, "alt": f"{_label(code)} by sex (F, M) and age band: {known} of {n} studies with known sex "
                                f"and age"}


def write_summary(tables: Mapping[str, Any], path: Path) -> Path:
    """Write the summary page and ``tables/percentiles.csv`` beside the tables; returns the page."""
    import jinja2

    studies, failures = tables["studies"], tables["failures"]
    codes = _codes(studies)
    pct = percentile_table(studies, codes)
    atomic_write(path.parent / "tables" / "percentiles.csv", pct.to_csv(index=False, float_format="%.6g"))
    pct_rows = [{"label": _label(r["code"]), "sex": r["sex"], "age_band": r["age_band"], "n": r["n"],
                 "values": ["" if r[f"p{p:g}"] != r[f"p{p:g}"] else _fmt(r[f"p{p:g}"]) for p in PERCENTILES]}
                for r in pct.to_dict("records")]
    errors = failures["error"].fillna("").map(lambda e: e[:160]).value_counts().head(10)
    context = {
        "n_studies": len(studies), "status": studies["status"].value_counts().to_dict(),
        "qc": studies["qc_status"].fillna("not analysed").value_counts().to_dict(),
        "failure_stages": failures["stage"].value_counts().to_dict(),
        "top_errors": list(errors.items()), "figures": [_figure(studies, c) for c in codes],
        "percentiles": [f"{p:g}" for p in PERCENTILES], "pct_rows": pct_rows, "min_n": MIN_N,
        "outliers": outliers(studies, codes), "outlier_z": OUTLIER_Z,
    }
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    atomic_write(path, env.from_string(_TEMPLATE).render(**context))
    return path

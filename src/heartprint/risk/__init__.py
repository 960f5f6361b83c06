"""Risk models: imaging, clinical and omics features → validated survival models.

A user brings a cohort table (heartprint's own measurements, :func:`results_table`, joined with
outcomes and clinical variables) and optional omics layers, and gets a model validated by nested
cross-validation beside plain Cox on the same folds, with a TRIPOD-style card, that can be saved,
loaded (refused on a checksum, version or feature mismatch) and applied to new patients with a
per-patient risk, its interval and the features that drive it. Research use only.

Public API::

    model = heartprint.risk.fit(table, time="time", event="event", model="coxnet", omics=None, cv=CV())
    model.c_index, model.c_index_ci, model.card, model.predict(table), model.save(path)
    model = heartprint.risk.load(path)
    heartprint.risk.explain(model, phenotype_or_row)   # dict for the patient report

See ``docs/risk.md``.
"""

from importlib import import_module
from typing import Any

from heartprint.risk._names import MODELS

#: Public name → the private module that defines it (imported on first use: scikit-survival and
#: pandas take seconds to import, and ``heartprint`` must start without the ``risk`` extra).
_WHERE = {
    "CV": "_model", "RiskModel": "_model", "RiskModelError": "_model", "explain": "_model", "fit": "_model",
    "load": "_model", "phenotype_row": "_model", "Settings": "_models",
    "read_omics": "_data", "read_table": "_data", "results_table": "_data",
}

__all__ = ["CV", "MODELS", "RiskModel", "RiskModelError", "Settings", "explain", "fit", "load", "phenotype_row",
           "read_omics", "read_table", "results_table"]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(import_module(f"heartprint.risk.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'heartprint.risk' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

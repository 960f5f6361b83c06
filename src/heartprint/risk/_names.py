"""Names the command line needs without importing scikit-survival (which takes seconds to import)."""

#: Model kinds of :func:`heartprint.risk.fit` (see :mod:`heartprint.risk._models`).
MODELS = ("cox", "coxnet", "rsf", "gbsa")

"""custvalue: which customers to let go, and why.

The package follows the data one way: ``contract`` (validated loading) ->
``engine``/``features`` (per-customer aggregates in DuckDB through Ibis) ->
models (``lifetime``, ``cost_to_serve``, ``payment``) -> ``review`` -> scorecard
and report.

For analysts, the main functions and classes are available from the package itself
(``custvalue.load_quarter``, ``custvalue.score_quarter``, ...; see ``__all__``). They are
imported on first use (PEP 562), so ``import custvalue`` and ``custvalue --help`` stay
fast::

    import custvalue
    results = custvalue.load_quarter("data/processed", "2026Q2")
    results.scorecard.query("status == 'let_go'")
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# Public name -> the module defining it (imported when the name is first used).
_EXPORTS: dict[str, str] = {
    # scoring a quarter and reading it back
    "load_config": "custvalue.config",
    "Config": "custvalue.config",
    "Quarter": "custvalue.quarters",
    "load_raw": "custvalue.loading",
    "score_quarter": "custvalue.pipeline",
    "score_unless_current": "custvalue.pipeline",
    "load_quarter": "custvalue.pipeline",
    "QuarterResults": "custvalue.pipeline",
    "find_project": "custvalue.paths",
    # the models' fit functions and their results
    "estimate_lifetime_value": "custvalue.lifetime",
    "LifetimeValueResult": "custvalue.lifetime",
    "BetaGeoModel": "custvalue.lifetime",
    "ParetoNBDModel": "custvalue.lifetime",
    "GammaGammaModel": "custvalue.lifetime",
    "summarise_orders": "custvalue.lifetime",
    "compute_cost_to_serve": "custvalue.cost_to_serve",
    "CostToServeResult": "custvalue.cost_to_serve",
    "analyse_payments": "custvalue.payment",
    "PaymentResult": "custvalue.payment",
    # the report, and progress for long calls
    "render_report": "custvalue.report",
    "ReportParameters": "custvalue.report",
    "Progress": "custvalue.progress",
    "LineProgress": "custvalue.progress",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'custvalue' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})

"""custvalue: which customers to let go, and why.

The package follows the data one way: ``contract`` (validated loading) ->
``engine``/``features`` (per-customer aggregates in DuckDB through Ibis) ->
models (``lifetime``, ``cost_to_serve``, ``payment``) -> ``review`` -> scorecard
and report.
"""

__version__ = "0.1.0"

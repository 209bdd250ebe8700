"""Cost to serve: what each customer costs to serve, and which customers destroy profit.

Time-driven activity-based costing (Kaplan & Anderson, 2004) turns the driver
quantities of the activity table into minutes of resource pools and those into money at
each pool's capacity cost rate; financing of receivables and bad debt are added, and
unused capacity is reported, never charged. The whale curve (Kaplan & Cooper, 1998) and
the price-cost map (Shapiro et al., 1987) show where profit is made and lost.

Main entry point: :func:`compute_cost_to_serve`, returning a :class:`CostToServeResult`.
The method, with a worked example, is in ``docs/cost-to-serve.md``.
"""

from custvalue.drivers import (
    ACTIVITY_DRIVERS,
    COST_DRIVERS,
    DRIVER_LABELS,
    DRIVER_OF_COLUMN,
    FINANCIAL_DRIVERS,
    OURS_OF_COLUMN,
)
from custvalue.cost_to_serve.result import CostToServeResult, add_ratios
from custvalue.cost_to_serve.tdabc import capacity_cost_rates, compute_cost_to_serve, required_columns
from custvalue.cost_to_serve.whale import QUADRANTS, PriceCostMap, WhaleCurve, price_cost_map, whale_curve

__all__ = [
    "ACTIVITY_DRIVERS",
    "COST_DRIVERS",
    "DRIVER_LABELS",
    "DRIVER_OF_COLUMN",
    "FINANCIAL_DRIVERS",
    "OURS_OF_COLUMN",
    "QUADRANTS",
    "CostToServeResult",
    "PriceCostMap",
    "WhaleCurve",
    "add_ratios",
    "capacity_cost_rates",
    "compute_cost_to_serve",
    "price_cost_map",
    "required_columns",
    "whale_curve",
]

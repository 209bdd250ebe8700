"""What letting a set of customers go really does to profit, capacity and future value.

Dropping a customer releases minutes, not money (Kaplan & Anderson, 2004): the cost of a
pool goes away only as far as the pool's cost behaves (see
:class:`custvalue.config.ResourcePool`): a ``variable`` pool's cost goes with the
minutes, a ``step`` pool's only in whole units of capacity and only if they are cut, a
``committed`` pool's stays. Financing and bad debt go with the customer unless declared
committed. So there are two bottom lines: the profit change if the freed capacity is
kept (it becomes unused capacity), and if the whole units it frees are cut.

:func:`let_go` is a pure function over a scored quarter as saved
(:func:`custvalue.pipeline.load_quarter`); :func:`basis` reads what it needs once, so
many sets of customers can be tried quickly. Every additive figure conserves: what leaves
plus what stays equals today's total.

References
----------
.. [1] Kaplan, R. S., & Anderson, S. R. (2004). Time-Driven Activity-Based Costing.
   Harvard Business Review, 82(11), 131-138.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from custvalue.config import CostToServeSettings
from custvalue.cost_to_serve import CostToServeResult

_CUSTOMER_FIGURES = ("revenue", "gross_margin", "cost_financing", "cost_bad_debt", "cost_to_serve", "operating_profit")


@dataclass(frozen=True)
class WhatIfBasis:
    """What :func:`let_go` reads, for one quarter: per customer its figures and minutes
    per pool (its own and those of the tickets we caused on its account), and per pool the
    capacity, rate and behaviour."""

    quarter: str
    customers: pd.DataFrame
    """Indexed by ``customer_id``: :data:`_CUSTOMER_FIGURES`, ``future_value``,
    ``open_receivables`` and ``minutes_<pool>`` (customer's and ours)."""
    pools: pd.DataFrame
    """Indexed by pool: ``cost``, ``practical_capacity_minutes``, ``rate_per_minute``,
    ``used_minutes``, ``behaviour``, ``step_minutes``."""
    settings: CostToServeSettings


def basis(costs: CostToServeResult, scorecard: pd.DataFrame, quarter: str | None = None) -> WhatIfBasis:
    """The basis of :func:`let_go` from the cost-to-serve result and the scorecard
    (``customer_id``, ``future_value``, ``open_receivables``) of one quarter (default:
    the latest costed)."""
    (quarter,) = costs.select_quarters(quarter)
    settings = costs.settings
    rows = costs.customer_costs
    rows = rows[rows["quarter"].astype(str) == quarter].set_index("customer_id")
    ours = costs.our_costs
    ours = ours[ours["quarter"].astype(str) == quarter].groupby("customer_id").sum(numeric_only=True)
    ids = pd.Index(scorecard["customer_id"]).union(rows.index)
    frame = pd.DataFrame(index=ids)
    for column in _CUSTOMER_FIGURES:
        frame[column] = rows[column].reindex(ids).fillna(0.0).astype(float)
    card = scorecard.set_index("customer_id")
    for column in ("future_value", "open_receivables"):
        frame[column] = card[column].reindex(ids).fillna(0.0).astype(float)
    for pool in settings.pools:
        column = f"pool_minutes_{pool}"
        frame[f"minutes_{pool}"] = rows[column].reindex(ids).fillna(0.0) + (ours[column].reindex(ids).fillna(0.0) if column in ours else 0.0)
    pools = costs.capacity(quarter).set_index("pool")
    pools["behaviour"] = [settings.pools[p].behaviour for p in pools.index]
    pools["step_minutes"] = [settings.pools[p].step_minutes for p in pools.index]
    return WhatIfBasis(quarter, frame, pools[["cost", "practical_capacity_minutes", "rate_per_minute", "used_minutes", "behaviour", "step_minutes"]], settings)


def basis_of_results(results) -> WhatIfBasis:
    """:func:`basis` of a scored quarter as saved (:class:`custvalue.pipeline.QuarterResults`)."""
    return basis(results.cost_to_serve, results.scorecard, str(results.quarter))


@dataclass(frozen=True)
class LetGoEffect:
    """The effect on one quarter of letting a set of customers go (amounts per quarter).

    ``by_pool`` has one row per pool: ``behaviour``, ``hours_released``,
    ``steps_released`` (whole units that could be cut), ``cost_avoided_now`` (variable
    pools), ``cost_if_cut`` (the whole units' cost), ``unused_cost_if_kept`` and
    ``unused_cost_if_cut`` (the cost of the released minutes left idle).
    """

    quarter: str
    customers: int
    revenue_given_up: float
    gross_margin_given_up: float
    cost_avoided_now: float
    """Variable pools' cost of the released minutes plus variable financial costs."""
    financial_cost_avoided: float
    bad_debt: float
    """The leaving customers' write-offs this quarter (avoided when bad debt is variable)."""
    receivables_at_risk: float
    """Their open receivables: a customer being let go may not pay what it owes."""
    future_value_given_up: float
    """Their predicted future value after cost to serve (the lifetime model's discounted
    value over its horizon; negative: a future loss avoided)."""
    cost_if_cut: float
    unused_capacity_if_kept: float
    profit_change_capacity_kept: float
    profit_change_capacity_cut: float
    by_pool: pd.DataFrame


def let_go(source, customers: Iterable[str]) -> LetGoEffect:
    """What letting ``customers`` go does this quarter.

    Parameters
    ----------
    source : WhatIfBasis or QuarterResults
        From :func:`basis` (fast for many sets), or a scored quarter as saved.
    customers : iterable of str
        Customer ids; ids not in the quarter are ignored.

    Notes
    -----
    Per pool, the minutes released are the leaving customers' minutes (and those of the
    tickets we caused on their accounts). A variable pool's cost of those minutes goes
    now. A step pool's released minutes become idle only where the pool was not over
    capacity (the first minutes freed in an over-full pool only remove overtime); the
    whole units in those idle minutes, ``floor(idle / step_minutes)``, are what could be
    cut, at ``step_minutes x rate`` each. Committed pools free minutes and no cost::

        profit change, capacity kept = - gross margin given up + cost avoided now
        profit change, capacity cut  = profit change, capacity kept + cost if cut
    """
    base = source if isinstance(source, WhatIfBasis) else basis_of_results(source)
    leaving = base.customers.loc[base.customers.index.intersection(pd.Index(list(customers)))]
    behaviour = base.settings.financial_costs
    financial = sum(float(leaving[f"cost_{name}"].sum()) for name, kind in behaviour.items() if kind == "variable")
    rows = []
    for pool, row in base.pools.iterrows():
        released = float(leaving[f"minutes_{pool}"].sum())
        rate = float(row["rate_per_minute"])
        idle_after = max(0.0, row["practical_capacity_minutes"] - (row["used_minutes"] - released))
        idle = min(released, idle_after)
        steps = math.floor(idle / row["step_minutes"] + 1e-9) if row["behaviour"] == "step" else 0
        now = released * rate if row["behaviour"] == "variable" else 0.0
        cut = steps * row["step_minutes"] * rate
        kept_idle = 0.0 if row["behaviour"] == "variable" else released * rate
        rows.append((pool, row["behaviour"], released / 60.0, steps, now, cut, kept_idle, kept_idle - cut))
    by_pool = pd.DataFrame(rows, columns=["pool", "behaviour", "hours_released", "steps_released", "cost_avoided_now",
                                          "cost_if_cut", "unused_cost_if_kept", "unused_cost_if_cut"])  # fmt: skip
    margin = float(leaving["gross_margin"].sum())
    avoided = float(by_pool["cost_avoided_now"].sum()) + financial
    kept = -margin + avoided
    cut = float(by_pool["cost_if_cut"].sum())
    return LetGoEffect(
        quarter=base.quarter,
        customers=len(leaving),
        revenue_given_up=float(leaving["revenue"].sum()),
        gross_margin_given_up=margin,
        cost_avoided_now=avoided,
        financial_cost_avoided=financial,
        bad_debt=float(leaving["cost_bad_debt"].sum()),
        receivables_at_risk=float(leaving["open_receivables"].sum()),
        future_value_given_up=float(leaving["future_value"].sum()),
        cost_if_cut=cut,
        unused_capacity_if_kept=float(by_pool["unused_cost_if_kept"].sum()),
        profit_change_capacity_kept=kept,
        profit_change_capacity_cut=kept + cut,
        by_pool=by_pool,
    )


ADDITIVE = ("customers", "revenue_given_up", "gross_margin_given_up", "financial_cost_avoided", "bad_debt",
            "receivables_at_risk", "future_value_given_up", "unused_capacity_if_kept")  # fmt: skip
"""Figures of :class:`LetGoEffect` that add up: a set's and its complement's make everyone's."""


def todays_totals(base: WhatIfBasis) -> dict[str, float]:
    """Today's totals of the figures that :func:`let_go` gives up or releases."""
    frame = base.customers
    return {
        "revenue": float(frame["revenue"].sum()),
        "gross_margin": float(frame["gross_margin"].sum()),
        "future_value": float(frame["future_value"].sum()),
        "open_receivables": float(frame["open_receivables"].sum()),
        **{f"minutes_{pool}": float(frame[f"minutes_{pool}"].sum()) for pool in base.pools.index},
    }


def released_minutes(effect: LetGoEffect) -> np.ndarray:
    """Minutes released per pool (in ``by_pool`` order)."""
    return effect.by_pool["hours_released"].to_numpy() * 60.0

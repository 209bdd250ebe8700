"""The result of costing: an immutable object with the frames, views and a text summary,
saved to and loaded from a folder (Parquet + JSON)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from custvalue.config import CostToServeSettings
from custvalue.drivers import COST_DRIVERS, DRIVER_LABELS
from custvalue.cost_to_serve.whale import (
    PriceCostMap,
    WhaleCurve,
    price_cost_map,
    whale_curve,
)
from custvalue.stored import load_result, save_result

FORMAT_VERSION = 2  # 2: pools state their cost behaviour
_FRAMES = ("customer_costs", "our_costs", "pools", "activities")
_SUMMED = [
    "revenue", "cost_of_goods", "returned_value", "discount", "gross_margin",
    *[f"cost_{driver}" for driver in COST_DRIVERS], "cost_to_serve", "operating_profit",
    "service_minutes", "support_minutes",
]  # fmt: skip


def add_ratios(frame: pd.DataFrame, copy: bool = True) -> pd.DataFrame:
    """Add ``support_hours``, ``profit_per_support_hour`` and ``headache_ratio``.

    ``profit_per_support_hour`` is operating profit per hour of support the customer
    caused; NaN without support. ``headache_ratio`` is service minutes (all pools) per
    unit of gross margin: 0 without service minutes, ``+inf`` when there are service
    minutes but gross margin is zero or negative (no margin can pay for any minute, so
    such customers rank last, behind every finite ratio). ``copy=False`` adds the
    columns to ``frame`` itself.
    """
    if copy:
        frame = frame.copy()
    minutes = frame["service_minutes"].to_numpy(np.float64)
    margin = frame["gross_margin"].to_numpy(np.float64)
    frame["support_hours"] = frame["support_minutes"] / 60.0
    hours = frame["support_hours"].to_numpy(np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        frame["profit_per_support_hour"] = np.where(hours > 0, frame["operating_profit"].to_numpy(np.float64) / hours, np.nan)
        frame["headache_ratio"] = np.where(minutes <= 0, 0.0, np.where(margin > 0, minutes / margin, np.inf))
    return frame


class CostToServeResult:
    """Customer cost to serve by driver, our own costs, and capacity per pool.

    Immutable: the frames are returned as copies (shallow ones: with pandas'
    copy-on-write, changing a returned frame never changes the result, and no data is
    copied until then). Build one with
    :func:`custvalue.cost_to_serve.compute_cost_to_serve`, or read one back with
    :meth:`load`.

    Attributes
    ----------
    customer_costs : pandas.DataFrame
        One row per customer and quarter: ``revenue``, ``cost_of_goods``,
        ``returned_value``, ``discount`` (given; already netted from revenue),
        ``gross_margin``, ``cost_<driver>`` for each of
        :data:`~custvalue.drivers.COST_DRIVERS`, ``cost_to_serve`` (their
        sum), ``operating_profit``, ``service_minutes``, ``support_minutes``,
        ``pool_minutes_<pool>``, ``support_hours``, ``profit_per_support_hour``,
        ``headache_ratio``.
    our_costs : pandas.DataFrame
        Per customer and quarter with tickets we caused: ``our_tickets``,
        ``service_minutes``, ``cost_support`` and ``pool_minutes_<pool>``. Charged to
        us, never to the customer.
    pools : pandas.DataFrame
        One row per pool and quarter: ``cost``, ``practical_capacity_minutes``,
        ``rate_per_minute``, ``used_minutes`` (= ``customer_minutes`` +
        ``our_minutes``), ``unused_minutes``, ``assigned_to_customers``,
        ``assigned_to_us``, ``unused_capacity_cost``, ``utilisation``,
        ``over_capacity``.
    activities : pandas.DataFrame
        One row per activity and quarter: minutes and cost for customers and for us.
    settings : CostToServeSettings
        The settings the costs were computed with.

    References
    ----------
    .. [1] Kaplan, R. S., & Anderson, S. R. (2004). Time-Driven Activity-Based Costing.
       Harvard Business Review, 82(11), 131-138.
    .. [2] Kaplan, R. S., & Cooper, R. (1998). Cost & Effect. Harvard Business School
       Press.
    .. [3] Shapiro, B. P., Rangan, V. K., Moriarty, R. T., & Ross, E. B. (1987). Manage
       Customers for Profits (Not Just Sales). Harvard Business Review, 65(5), 101-108.
    """

    __slots__ = ("_customer_costs", "_our_costs", "_pools", "_activities", "_settings")

    def __init__(
        self,
        customer_costs: pd.DataFrame,
        our_costs: pd.DataFrame,
        pools: pd.DataFrame,
        activities: pd.DataFrame,
        settings: CostToServeSettings,
    ) -> None:
        for name, value in zip(_FRAMES, (customer_costs, our_costs, pools, activities)):
            object.__setattr__(self, f"_{name}", value.copy(deep=False))
        object.__setattr__(self, "_settings", settings)

    @classmethod
    def _from_frames(cls, customer_costs, our_costs, pools, activities, settings) -> "CostToServeResult":
        """Wrap frames this package has just built (no defensive copy)."""
        result = object.__new__(cls)
        for name, value in zip(_FRAMES, (customer_costs, our_costs, pools, activities)):
            object.__setattr__(result, f"_{name}", value)
        object.__setattr__(result, "_settings", settings)
        return result

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __repr__(self) -> str:
        span = f"{self.quarters[0]}..{self.quarters[-1]}" if self.quarters else "no quarters"
        customers = self._customer_costs["customer_id"].nunique()
        return f"<CostToServeResult {span}: {customers:,} customers, {len(self._settings.pools)} pools>"

    # ------------------------------------------------------------------ the frames

    @property
    def customer_costs(self) -> pd.DataFrame:
        return self._customer_costs.copy(deep=False)

    @property
    def our_costs(self) -> pd.DataFrame:
        return self._our_costs.copy(deep=False)

    @property
    def pools(self) -> pd.DataFrame:
        return self._pools.copy(deep=False)

    @property
    def activities(self) -> pd.DataFrame:
        return self._activities.copy(deep=False)

    @property
    def settings(self) -> CostToServeSettings:
        return self._settings

    @property
    def quarters(self) -> tuple[str, ...]:
        """Quarters costed, oldest first."""
        return tuple(sorted(self._pools["quarter"].astype(str).unique()))

    # ------------------------------------------------------------------ views

    def last_quarters(self, count: int) -> tuple[str, ...]:
        """The latest ``count`` quarters costed (fewer if fewer were costed)."""
        if count < 1:
            raise ValueError(f"count must be >= 1, got {count}")
        return self.quarters[-count:]

    def select_quarters(self, quarters: str | Iterable[str] | None = None) -> tuple[str, ...]:
        """The quarters a view covers: ``None`` is the latest quarter costed, a label one
        quarter, an iterable those quarters (sorted). Unknown quarters are an error."""
        if quarters is None:
            chosen = self.quarters[-1:]
        elif isinstance(quarters, str):
            chosen = (quarters,)
        else:
            chosen = tuple(str(q) for q in quarters)
        unknown = [q for q in chosen if q not in self.quarters]
        if unknown or not chosen:
            raise ValueError(f"quarter(s) {', '.join(unknown) or '(none)'} not costed; costed: {', '.join(self.quarters)}")
        return tuple(sorted(chosen))

    def by_customer(self, quarters: str | Iterable[str] | None = None) -> pd.DataFrame:
        """One row per customer: amounts and costs summed over ``quarters`` (default the
        latest), with the ratios recomputed on the sums."""
        chosen = self.select_quarters(quarters)
        rows = self._customer_costs[self._customer_costs["quarter"].isin(chosen)]
        summed = _SUMMED + [c for c in rows.columns if c.startswith("pool_minutes_")]
        frame = rows.groupby("customer_id", sort=True)[summed].sum().reset_index()
        return add_ratios(frame, copy=False)

    def whale_curve(self, quarters: str | Iterable[str] | None = None) -> WhaleCurve:
        """The whale curve of operating profit summed over ``quarters`` (default: the
        latest quarter). See :class:`~custvalue.cost_to_serve.whale.WhaleCurve`."""
        chosen = self.select_quarters(quarters)
        return whale_curve(self.by_customer(chosen), chosen)

    def price_cost_map(self, quarters: str | Iterable[str] | None = None) -> PriceCostMap:
        """Shapiro et al.'s net-price vs cost-to-serve map over ``quarters`` (default: the
        latest). See :class:`~custvalue.cost_to_serve.whale.PriceCostMap`."""
        chosen = self.select_quarters(quarters)
        return price_cost_map(self.by_customer(chosen), chosen)

    def worst_customers(self, count: int = 20, quarters: str | Iterable[str] | None = None) -> pd.DataFrame:
        """The ``count`` customers who lose most money, with their cost drivers and
        ``main_driver`` (the label of their largest cost driver)."""
        frame = self.by_customer(quarters)
        frame = frame.sort_values(["operating_profit", "customer_id"], kind="mergesort").head(count).reset_index(drop=True)
        columns = [f"cost_{driver}" for driver in COST_DRIVERS]
        largest = frame[columns].to_numpy().argmax(axis=1) if len(frame) else np.array([], dtype=int)
        frame["main_driver"] = pd.array([DRIVER_LABELS[COST_DRIVERS[i]] for i in largest], dtype="string")
        return frame

    def capacity(self, quarters: str | Iterable[str] | None = None) -> pd.DataFrame:
        """Per pool over ``quarters`` (default: the latest): capacity cost rate, practical
        capacity, minutes used by customers and by us, unused minutes and their cost, and
        the share of capacity used (above 1 means over capacity)."""
        chosen = self.select_quarters(quarters)
        pools = self._pools[self._pools["quarter"].isin(chosen)]
        summed = ["cost", "practical_capacity_minutes", "customer_minutes", "our_minutes", "used_minutes",
                  "unused_minutes", "assigned_to_customers", "assigned_to_us", "unused_capacity_cost"]  # fmt: skip
        frame = pools.groupby("pool", sort=False)[summed].sum()
        frame.insert(0, "rate_per_minute", pools.groupby("pool", sort=False)["rate_per_minute"].first())
        frame["utilisation"] = frame["used_minutes"] / frame["practical_capacity_minutes"]
        frame["quarters_over_capacity"] = pools.groupby("pool", sort=False)["over_capacity"].sum().astype(int)
        return frame.reset_index()

    def cost_by_driver(self, quarters: str | Iterable[str] | None = None) -> pd.DataFrame:
        """Total cost per driver over ``quarters`` (default: the latest).

        Rows: each cost driver (``in_cost_to_serve`` true; they add up to the total cost
        to serve), then discounts given (already netted from revenue, so not part of cost
        to serve: shown as margin lost to price, not subtracted twice), the cost of
        tickets we caused, and unused capacity (neither is charged to customers).
        """
        chosen = self.select_quarters(quarters)
        customers = self._customer_costs[self._customer_costs["quarter"].isin(chosen)]
        pools = self._pools[self._pools["quarter"].isin(chosen)]
        ours = self._our_costs[self._our_costs["quarter"].isin(chosen)]
        rows = [(d, DRIVER_LABELS[d], float(customers[f"cost_{d}"].sum()), True) for d in COST_DRIVERS]
        rows += [
            ("discount", DRIVER_LABELS["discount"], float(customers["discount"].sum()), False),
            ("our_errors", "tickets we caused (charged to us)", float(ours["cost_support"].sum()), False),
            ("unused_capacity", "unused capacity (not charged)", float(pools["unused_capacity_cost"].sum()), False),
        ]
        return pd.DataFrame(rows, columns=["driver", "label", "amount", "in_cost_to_serve"])

    def reconciliation(self) -> pd.DataFrame:
        """Per pool and quarter: the pool's cost against customer costs (summed from the
        customer rows), our costs and unused capacity. ``difference`` is zero up to
        floating-point rounding (the conservation of TDABC)."""
        rates = self._pools.set_index(["pool", "quarter"])["rate_per_minute"]
        rows = []
        for (pool, quarter), rate in rates.items():
            column = f"pool_minutes_{pool}"
            theirs = self._customer_costs.loc[self._customer_costs["quarter"] == quarter, column].to_numpy() * rate
            ours = self._our_costs.loc[self._our_costs["quarter"] == quarter, column].to_numpy() * rate
            rows.append((pool, quarter, math.fsum(theirs), math.fsum(ours)))
        frame = pd.DataFrame(rows, columns=["pool", "quarter", "customers", "us"])
        pools = self._pools.set_index(["pool", "quarter"])
        index = pd.MultiIndex.from_frame(frame[["pool", "quarter"]])
        frame["unused"] = pools["unused_capacity_cost"].reindex(index).to_numpy()
        frame["cost"] = pools["cost"].reindex(index).to_numpy()
        frame["difference"] = frame["customers"] + frame["us"] + frame["unused"] - frame["cost"]
        return frame

    # ------------------------------------------------------------------ text

    def summary(self, quarters: str | Iterable[str] | None = None) -> str:
        """A plain-text summary: pools and capacity, cost by driver, profit and the whale
        curve, over ``quarters`` (default: the latest)."""
        chosen = self.select_quarters(quarters)
        span = chosen[0] if len(chosen) == 1 else f"{chosen[0]}..{chosen[-1]}"
        width = 78
        lines = ["Cost to serve (time-driven activity-based costing)".center(width), "=" * width]
        lines.append(f"Quarters: {span}    Costed: {self.quarters[0]}..{self.quarters[-1]}    "
                     f"Cost of capital: {self._settings.cost_of_capital_annual:.1%} a year")  # fmt: skip
        lines.append("-" * width)
        lines.append(f"{'pool':<20}{'rate/min':>9}{'capacity':>12}{'used':>12}{'use':>7}{'unused cost':>16}")
        pools = self._pools[self._pools["quarter"].isin(chosen)]
        for pool, group in pools.groupby("pool", sort=False):
            capacity, used = group["practical_capacity_minutes"].sum(), group["used_minutes"].sum()
            flag = " over" if (group["over_capacity"]).any() else ""
            lines.append(
                f"{str(pool):<20}{group['rate_per_minute'].iloc[0]:>9.2f}{capacity:>12,.0f}{used:>12,.0f}"
                f"{used / capacity:>7.0%}{group['unused_capacity_cost'].sum():>16,.0f}{flag}"
            )
        lines.append("-" * width)
        customers = self.by_customer(chosen)
        lines.append(f"{'customers':<44}{len(customers):>16,}")
        for label, column in (("revenue (net of discounts)", "revenue"), ("gross margin", "gross_margin")):
            lines.append(f"{label:<44}{customers[column].sum():>16,.0f}")
        drivers = self.cost_by_driver(chosen)
        for row in drivers.itertuples():
            if row.in_cost_to_serve:
                lines.append(f"  cost: {row.label:<37}{row.amount:>16,.0f}")
        lines.append(f"{'cost to serve':<44}{customers['cost_to_serve'].sum():>16,.0f}")
        lines.append(f"{'operating profit':<44}{customers['operating_profit'].sum():>16,.0f}")
        for row in drivers.itertuples():
            if not row.in_cost_to_serve:
                lines.append(f"  memo: {row.label:<37}{row.amount:>16,.0f}")
        lines.append("-" * width)
        curve = whale_curve(customers, chosen)
        lines.extend(_wrap(curve.summary(), width))
        return "\n".join(lines)

    # ------------------------------------------------------------------ files

    def save(self, folder: Path | str) -> Path:
        """Write the result to ``folder`` atomically (Parquet frames + ``result.json``)."""
        frames = {name: getattr(self, f"_{name}") for name in _FRAMES}
        metadata = {"quarters": list(self.quarters), "settings": dataclasses.asdict(self._settings)}
        return save_result(folder, frames, metadata, FORMAT_VERSION)

    @classmethod
    def load(cls, folder: Path | str) -> "CostToServeResult":
        """Read a result written by :meth:`save`."""
        frames, metadata = load_result(folder, _FRAMES, "cost-to-serve", FORMAT_VERSION)
        return cls(settings=CostToServeSettings.from_dict(metadata["settings"]), **frames)


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width)

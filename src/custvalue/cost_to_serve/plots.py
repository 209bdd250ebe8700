"""Matplotlib figures for the cost-to-serve page: capacity use by pool, cost by driver,
the whale curve and the price-cost map. Each function draws on ``ax`` (a new figure
when omitted) and returns the axes."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from custvalue.cost_to_serve.result import CostToServeResult
from custvalue.cost_to_serve.whale import PriceCostMap, WhaleCurve

_CUSTOMERS, _US, _UNUSED, _OVER = "#1f5fa8", "#e39b2d", "#c8ced6", "#c0392b"


def _axes(ax, size=(8, 4)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def plot_capacity(result: CostToServeResult, quarters: str | Iterable[str] | None = None, ax=None):
    """Per pool: share of practical capacity used by customers, by us, and unused
    (over-capacity shown beyond 100% in red), summed over ``quarters`` (default latest)."""
    ax = _axes(ax)
    chosen = result.select_quarters(quarters)
    pools = result.pools
    pools = pools[pools["quarter"].isin(chosen)].groupby("pool", sort=False)[
        ["practical_capacity_minutes", "customer_minutes", "our_minutes", "unused_minutes"]
    ].sum()
    capacity = pools["practical_capacity_minutes"]
    theirs, ours = pools["customer_minutes"] / capacity, pools["our_minutes"] / capacity
    unused = (pools["unused_minutes"] / capacity).clip(lower=0)
    names = [str(name) for name in pools.index]
    ax.barh(names, theirs, color=_CUSTOMERS, label="customers")
    ax.barh(names, ours, left=theirs, color=_US, label="tickets we caused")
    ax.barh(names, unused, left=theirs + ours, color=_UNUSED, label="unused")
    over = (theirs + ours) > 1
    if over.any():
        ax.barh(np.array(names)[over], (theirs + ours)[over] - 1, left=1, color=_OVER, label="over capacity")
    ax.axvline(1.0, color="#333", linewidth=1)
    ax.xaxis.set_major_formatter(_percent())
    ax.invert_yaxis()
    ax.set_xlabel("share of practical capacity")
    ax.set_title("Capacity use by resource pool")
    ax.legend(loc="lower right", fontsize="small", frameon=True)
    return ax


def plot_cost_by_driver(result: CostToServeResult, quarters: str | Iterable[str] | None = None, ax=None, currency: str = ""):
    """Cost to serve by driver; discounts, our errors and unused capacity shown apart
    (hatched: not part of customers' cost to serve)."""
    ax = _axes(ax)
    drivers = result.cost_by_driver(quarters)
    colors = [_CUSTOMERS if inside else _UNUSED for inside in drivers["in_cost_to_serve"]]
    bars = ax.barh(drivers["label"], drivers["amount"], color=colors)
    for bar, inside in zip(bars, drivers["in_cost_to_serve"]):
        if not inside:
            bar.set_hatch("//")
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(_thousands())
    ax.set_xlabel(f"amount {currency}".strip())
    ax.set_title("Cost to serve by driver (hatched: not charged to customers)")
    return ax


def plot_whale_curve(curve: WhaleCurve, marked: Iterable[str] = (), ax=None, marked_label: str = "marked"):
    """Cumulative operating profit (share of the total, or the amount when the total is
    not positive) against the share of customers, most profitable first; ``marked``
    customer ids are shown as points on the curve."""
    ax = _axes(ax)
    frame = curve.frame
    relative = curve.total_profit > 0
    y = frame["cumulative_share"] if relative else frame["cumulative_profit"]
    ax.plot(np.r_[0, frame["customer_share"]], np.r_[0, y], color=_CUSTOMERS, linewidth=2)
    if relative:
        ax.axhline(1.0, color="#333", linewidth=1, linestyle="--")
        ax.yaxis.set_major_formatter(_percent())
    marked = set(marked)
    if marked:
        hit = frame["customer_id"].isin(marked)
        ax.scatter(frame.loc[hit, "customer_share"], y[hit], color=_OVER, s=18, zorder=3, label=marked_label)
        ax.legend(loc="lower left", fontsize="small")
    ax.axvline(curve.share_of_customers_at_peak, color=_UNUSED, linewidth=1)
    ax.xaxis.set_major_formatter(_percent())
    ax.set_xlabel("customers, most profitable first")
    ax.set_ylabel("cumulative operating profit" + (" (share of total)" if relative else ""))
    span = curve.quarters[0] if len(curve.quarters) == 1 else f"{curve.quarters[0]}..{curve.quarters[-1]}"
    ax.set_title(f"Whale curve {span}")
    return ax


def plot_price_cost_map(price_map: PriceCostMap, marked: Iterable[str] = (), ax=None, marked_label: str = "marked"):
    """Net price against cost to serve (share of revenue), one point per customer sized
    by revenue, with the median split and Shapiro et al.'s quadrant names."""
    ax = _axes(ax, (7, 5))
    frame = price_map.frame
    if frame.empty:
        ax.set_title("Net price vs cost to serve (no customers with revenue)")
        return ax
    size = 8 + 80 * np.sqrt(frame["revenue"] / frame["revenue"].max())
    cost = frame["cost_to_serve_share"].clip(upper=frame["cost_to_serve_share"].quantile(0.99))
    ax.scatter(cost, frame["net_price"], s=size, alpha=0.35, color=_CUSTOMERS, linewidths=0)
    marked = set(marked)
    if marked:
        hit = frame["customer_id"].isin(marked)
        ax.scatter(cost[hit], frame.loc[hit, "net_price"], s=size[hit], color=_OVER, alpha=0.8, linewidths=0, label=marked_label)
        ax.legend(loc="center right", fontsize="small")
    ax.axvline(price_map.cost_threshold, color="#333", linewidth=1)
    ax.axhline(price_map.price_threshold, color="#333", linewidth=1)
    for text, (x, y) in {
        "passive": (0.02, 0.97), "carriage trade": (0.98, 0.97),
        "bargain basement": (0.02, 0.03), "aggressive": (0.98, 0.03),
    }.items():  # fmt: skip
        ax.text(x, y, text, transform=ax.transAxes, ha="left" if x < 0.5 else "right", va="top" if y > 0.5 else "bottom", color="#555")
    ax.xaxis.set_major_formatter(_percent())
    ax.yaxis.set_major_formatter(_percent())
    ax.set_xlabel("cost to serve, share of revenue")
    ax.set_ylabel("net price (share of list price)")
    ax.set_title("Net price vs cost to serve")
    return ax


def _percent():
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0, decimals=0)


def _thousands():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _: f"{value:,.0f}")

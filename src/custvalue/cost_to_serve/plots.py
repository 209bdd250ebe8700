"""Matplotlib figures for the cost-to-serve page: capacity use by pool, cost by driver,
the whale curve and the price-cost map. Each function draws on ``ax`` (a new figure
when omitted) and returns the axes.

Figures with one mark per customer draw a bounded number of marks whatever the number of
customers: the whale curve through at most ``max_points`` of its points (exact values,
evenly spaced, the peak always among them), and scatters a seeded random sample, said so
in the legend or title."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from custvalue.cost_to_serve.result import CostToServeResult
from custvalue.cost_to_serve.whale import PriceCostMap, WhaleCurve

_CUSTOMERS, _US, _UNUSED, _OVER = "#1f5fa8", "#e39b2d", "#c8ced6", "#c0392b"
MAX_CURVE_POINTS = 1_000
MAX_SCATTER_POINTS = 5_000
MAX_MARKED_POINTS = 1_000
SEED = 0


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


def curve_points(count: int, max_points: int, keep: Iterable[int] = ()) -> np.ndarray:
    """Positions ``0..count-1`` to draw a curve of ``count`` points through at most
    ``max_points`` of them (plus ``keep``): evenly spaced, first and last included."""
    if count <= max_points:
        return np.arange(count)
    spaced = np.linspace(0, count - 1, max(2, max_points)).round().astype(np.int64)
    extra = np.asarray([k for k in keep if 0 <= k < count], dtype=np.int64)
    return np.unique(np.concatenate([spaced, extra]))


def sample_positions(count: int, max_points: int, seed: int = SEED) -> np.ndarray:
    """All positions ``0..count-1``, or a seeded random ``max_points`` of them (sorted)."""
    if count <= max_points:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, size=max_points, replace=False))


def plot_whale_curve(
    curve: WhaleCurve,
    marked: Iterable[str] = (),
    ax=None,
    marked_label: str = "marked",
    max_points: int = MAX_CURVE_POINTS,
    max_marked: int = MAX_MARKED_POINTS,
    seed: int = SEED,
):
    """Cumulative operating profit (share of the total, or the amount when the total is
    not positive) against the share of customers, most profitable first; ``marked``
    customer ids are shown as points on the curve.

    The curve is drawn through at most ``max_points`` of its points (their exact values,
    the peak always among them): at a million customers the line looks the same. More
    than ``max_marked`` marked customers are shown as a seeded random sample, and the
    legend says how many of them are drawn."""
    ax = _axes(ax)
    frame = curve.frame
    relative = curve.total_profit > 0
    y = (frame["cumulative_share"] if relative else frame["cumulative_profit"]).to_numpy()
    share = frame["customer_share"].to_numpy()
    drawn = curve_points(len(frame), max_points, keep=(curve.customers_at_peak - 1,))
    ax.plot(np.r_[0, share[drawn]], np.r_[0, y[drawn]], color=_CUSTOMERS, linewidth=2)
    if relative:
        ax.axhline(1.0, color="#333", linewidth=1, linestyle="--")
        ax.yaxis.set_major_formatter(_percent())
    marked = set(marked)
    if marked:
        hit = np.flatnonzero(frame["customer_id"].isin(marked).to_numpy())
        shown = hit[sample_positions(len(hit), max_marked, seed)]
        label = marked_label if len(shown) == len(hit) else f"{marked_label} ({len(shown):,} of {len(hit):,} shown)"
        ax.scatter(share[shown], y[shown], color=_OVER, s=18, zorder=3, label=label)
        ax.legend(loc="lower left", fontsize="small")
    ax.axvline(curve.share_of_customers_at_peak, color=_UNUSED, linewidth=1)
    ax.xaxis.set_major_formatter(_percent())
    ax.set_xlabel("customers, most profitable first")
    ax.set_ylabel("cumulative operating profit" + (" (share of total)" if relative else ""))
    span = curve.quarters[0] if len(curve.quarters) == 1 else f"{curve.quarters[0]}..{curve.quarters[-1]}"
    ax.set_title(f"Whale curve {span}")
    return ax


def plot_price_cost_map(
    price_map: PriceCostMap,
    marked: Iterable[str] = (),
    ax=None,
    marked_label: str = "marked",
    max_points: int = MAX_SCATTER_POINTS,
    max_marked: int = MAX_MARKED_POINTS,
    seed: int = SEED,
):
    """Net price against cost to serve (share of revenue), one point per customer sized
    by revenue, with the median split and Shapiro et al.'s quadrant names.

    More than ``max_points`` customers are drawn as a seeded random sample (and more
    than ``max_marked`` marked ones likewise), said so in the title and legend; the
    median split and the scales are those of all customers."""
    ax = _axes(ax, (7, 5))
    frame = price_map.frame
    if frame.empty:
        ax.set_title("Net price vs cost to serve (no customers with revenue)")
        return ax
    size = (8 + 80 * np.sqrt(frame["revenue"] / frame["revenue"].max())).to_numpy()
    cost = frame["cost_to_serve_share"].clip(upper=frame["cost_to_serve_share"].quantile(0.99)).to_numpy()
    price = frame["net_price"].to_numpy()
    drawn = sample_positions(len(frame), max_points, seed)
    ax.scatter(cost[drawn], price[drawn], s=size[drawn], alpha=0.35, color=_CUSTOMERS, linewidths=0)
    marked = set(marked)
    if marked:
        hit = np.flatnonzero(frame["customer_id"].isin(marked).to_numpy())
        shown = hit[sample_positions(len(hit), max_marked, seed)]
        label = marked_label if len(shown) == len(hit) else f"{marked_label} ({len(shown):,} of {len(hit):,} shown)"
        ax.scatter(cost[shown], price[shown], s=size[shown], color=_OVER, alpha=0.8, linewidths=0, label=label)
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
    title = "Net price vs cost to serve"
    if len(drawn) < len(frame):
        title += f"\n(a random sample of {len(drawn):,} of {len(frame):,} customers)"
    ax.set_title(title)
    return ax


def _percent():
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0, decimals=0)


def _thousands():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _: f"{value:,.0f}")

"""Where the profit comes from and where it goes: the whale curve and the price-cost map.

The *whale curve* (Kaplan & Cooper, 1998) plots cumulative operating profit against
customers ranked from most to least profitable. It rises above 100% of total profit
while profitable customers are added, peaks, and falls back to 100% as the unprofitable
tail erodes it; the height of the hump is the profit the tail destroys.

The *price-cost map* (Shapiro, Rangan, Moriarty & Ross, 1987) places customers by the
net price they pay and what they cost to serve, in four quadrants: carriage trade (high
price, high cost), passive (high price, low cost), bargain basement (low price, low
cost) and aggressive (low price, high cost).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

QUADRANTS: dict[tuple[bool, bool], str] = {
    (True, True): "carriage trade",
    (True, False): "passive",
    (False, False): "bargain basement",
    (False, True): "aggressive",
}
"""(high net price, high cost to serve) -> Shapiro et al.'s name of the quadrant."""


@dataclass(frozen=True)
class WhaleCurve:
    """Cumulative profit of customers ranked by operating profit, most profitable first.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per customer: ``rank`` (1 = most profitable), ``customer_id``,
        ``operating_profit``, ``cumulative_profit``, ``customer_share`` (share of the
        customers ranked so far) and ``cumulative_share`` (cumulative profit as a share
        of the total; NaN when the total is not positive).
    quarters : tuple of str
        The quarters whose profit is summed per customer.
    total_profit : float
        Operating profit of all customers.
    peak_profit : float
        The highest point of the curve (0 when no customer is profitable).
    peak_share : float
        ``peak_profit / total_profit`` (e.g. 1.6 = the profitable customers earn 160% of
        the total); NaN when the total is not positive.
    customers_at_peak : int
        Customers ranked up to the peak (those with positive profit).
    share_of_customers_at_peak : float
        ``customers_at_peak`` over all customers.
    erosion : float
        ``peak_profit - total_profit``: the profit the tail beyond the peak destroys.
    unprofitable_customers : int
        Customers with negative operating profit.

    References
    ----------
    .. [1] Kaplan, R. S., & Cooper, R. (1998). Cost & Effect. Harvard Business School
       Press, ch. 10.
    """

    frame: pd.DataFrame
    quarters: tuple[str, ...]
    total_profit: float
    peak_profit: float
    peak_share: float
    customers_at_peak: int
    share_of_customers_at_peak: float
    erosion: float
    unprofitable_customers: int

    @property
    def customers(self) -> int:
        return len(self.frame)

    def bottom(self, share: float = 0.10) -> pd.DataFrame:
        """The least profitable ``share`` of customers (at least one; ``ceil(share x n)``)."""
        if not 0 < share <= 1:
            raise ValueError(f"share must be in (0, 1], got {share}")
        count = max(1, math.ceil(share * len(self.frame))) if len(self.frame) else 0
        return self.frame.tail(count).iloc[::-1].reset_index(drop=True)

    def summary(self) -> str:
        """One paragraph in plain words."""
        span = self.quarters[0] if len(self.quarters) == 1 else f"{self.quarters[0]}..{self.quarters[-1]}"
        if not self.customers:
            return f"Whale curve {span}: no customers."
        peak = "n/a" if math.isnan(self.peak_share) else f"{self.peak_share:.0%}"
        return (
            f"Whale curve {span}: {self.customers:,} customers, total operating profit {self.total_profit:,.0f}. "
            f"The {self.customers_at_peak:,} profitable customers ({self.share_of_customers_at_peak:.0%}) earn "
            f"{self.peak_profit:,.0f} ({peak} of the total); the {self.unprofitable_customers:,} unprofitable "
            f"customers erode {self.erosion:,.0f}."
        )


def whale_curve(profits: pd.DataFrame, quarters: tuple[str, ...] = ()) -> WhaleCurve:
    """Build the whale curve from one row per customer with ``operating_profit``.

    Ties are broken by ``customer_id`` so the ranking is deterministic.
    """
    frame = profits[["customer_id", "operating_profit"]].copy()
    frame = frame.sort_values(["operating_profit", "customer_id"], ascending=[False, True], kind="mergesort")
    frame = frame.reset_index(drop=True)
    n = len(frame)
    frame.insert(0, "rank", np.arange(1, n + 1))
    frame["cumulative_profit"] = frame["operating_profit"].cumsum()
    frame["customer_share"] = frame["rank"] / n if n else []
    total = float(frame["operating_profit"].sum()) if n else 0.0
    frame["cumulative_share"] = frame["cumulative_profit"] / total if total > 0 else np.nan
    cumulative = np.concatenate([[0.0], frame["cumulative_profit"].to_numpy()])
    at_peak = int(np.argmax(cumulative))  # first maximum: zero-profit customers do not count
    peak = float(cumulative[at_peak])
    return WhaleCurve(
        frame=frame,
        quarters=tuple(quarters),
        total_profit=total,
        peak_profit=peak,
        peak_share=peak / total if total > 0 else math.nan,
        customers_at_peak=at_peak,
        share_of_customers_at_peak=at_peak / n if n else math.nan,
        erosion=peak - total,
        unprofitable_customers=int((frame["operating_profit"] < 0).sum()),
    )


@dataclass(frozen=True)
class PriceCostMap:
    """Customers on Shapiro et al.'s net-price vs cost-to-serve map.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per customer with revenue: ``customer_id``, ``revenue``, ``discount``,
        ``net_price`` (revenue / list value, i.e. 1 - discount rate),
        ``cost_to_serve``, ``cost_to_serve_share`` (cost to serve / revenue),
        ``operating_profit`` and ``quadrant``.
    price_threshold, cost_threshold : float
        The medians that split high from low (a value above the median is high).
    quarters : tuple of str
        The quarters summed per customer.

    References
    ----------
    .. [1] Shapiro, B. P., Rangan, V. K., Moriarty, R. T., & Ross, E. B. (1987).
       Manage Customers for Profits (Not Just Sales). Harvard Business Review, 65(5),
       101-108.
    """

    frame: pd.DataFrame
    price_threshold: float
    cost_threshold: float
    quarters: tuple[str, ...]

    def counts(self) -> pd.Series:
        """Customers per quadrant."""
        return self.frame["quadrant"].value_counts().reindex(list(QUADRANTS.values()), fill_value=0)


def price_cost_map(customers: pd.DataFrame, quarters: tuple[str, ...] = ()) -> PriceCostMap:
    """Place customers (one row each, with revenue) on the price-cost map.

    Customers without positive revenue have no price and are left out. Net price is
    ``revenue / (revenue + discount)``; cost to serve is taken relative to revenue so
    that large and small customers compare. Both axes are split at their medians.
    """
    frame = customers.loc[customers["revenue"] > 0, ["customer_id", "revenue", "discount", "cost_to_serve", "operating_profit"]].copy()
    frame["net_price"] = frame["revenue"] / (frame["revenue"] + frame["discount"])
    frame["cost_to_serve_share"] = frame["cost_to_serve"] / frame["revenue"]
    price_threshold = float(frame["net_price"].median()) if len(frame) else math.nan
    cost_threshold = float(frame["cost_to_serve_share"].median()) if len(frame) else math.nan
    high_price = frame["net_price"] > price_threshold
    high_cost = frame["cost_to_serve_share"] > cost_threshold
    frame["quadrant"] = [QUADRANTS[(bool(p), bool(c))] for p, c in zip(high_price, high_cost)]
    frame["quadrant"] = frame["quadrant"].astype("string")
    return PriceCostMap(frame.reset_index(drop=True), price_threshold, cost_threshold, tuple(quarters))

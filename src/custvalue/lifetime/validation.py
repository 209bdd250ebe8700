"""Calibration/holdout validation of the purchase-count models.

* :func:`calibration_holdout_summary` splits the orders by date into a
  calibration summary and the purchases made in the holdout period.
* :func:`compare_holdout` sets each customer's predicted holdout purchases
  against the actual ones (MAE, and means by calibration frequency).
* :func:`tracking_data` gives the cumulative repeat purchases of the cohort
  over time, actual against the model's expectation (Fader, Hardie & Lee
  2005, figure 1).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._mle import FitResults
from .summary import days_per_unit, epoch_day, purchase_days, summarise_orders

__all__ = ["HoldoutComparison", "calibration_holdout_summary", "compare_holdout", "tracking_data"]


def calibration_holdout_summary(
    orders,
    calibration_end,
    holdout_end,
    *,
    unit: str | float = "W",
    value: str = "margin",
) -> pd.DataFrame:
    """Calibration summary plus holdout purchases, split by date.

    Customers are those whose first purchase falls on or before
    ``calibration_end``; see :func:`summarise_orders` for the columns.

    Parameters
    ----------
    orders : ibis.Table or pandas.DataFrame
        Orders of the data contract.
    calibration_end, holdout_end : date-like
        Last days (inclusive) of the two periods.
    unit : {"D", "W"} or float, default "W"
        Time unit.
    value : str, default "margin"
        Value of a purchase.

    Returns
    -------
    pandas.DataFrame
        ``frequency, recency, T, monetary_value, frequency_holdout,
        monetary_value_holdout, duration_holdout`` by ``customer_id``.
    """
    return summarise_orders(orders, calibration_end, unit=unit, value=value, holdout_end=holdout_end)


@dataclass(frozen=True)
class HoldoutComparison:
    """Predicted against actual holdout purchases.

    Attributes
    ----------
    per_customer : pandas.DataFrame
        ``frequency`` (calibration), ``predicted`` and ``actual`` holdout
        purchases, by customer.
    by_frequency : pandas.DataFrame
        Indexed by calibration-frequency group (``"0"``, ``"1"``, ...,
        ``"7+"``): ``n_customers``, mean ``actual`` and mean ``predicted``.
    mae : float
        Mean absolute error of the per-customer predictions.
    """

    per_customer: pd.DataFrame
    by_frequency: pd.DataFrame
    mae: float


def compare_holdout(transaction_results: FitResults, summary: pd.DataFrame, *, max_frequency: int = 7) -> HoldoutComparison:
    """Compare the model's holdout predictions with what customers did.

    Parameters
    ----------
    transaction_results : BetaGeoResults or ParetoNBDResults
        Model fitted on the calibration columns of ``summary``.
    summary : pandas.DataFrame
        Output of :func:`calibration_holdout_summary`.
    max_frequency : int, default 7
        Customers with at least this many calibration repeat purchases form
        the last group.

    Returns
    -------
    HoldoutComparison
    """
    predicted = transaction_results.conditional_expected_purchases(
        summary["duration_holdout"].to_numpy(float),
        summary["frequency"].to_numpy(float),
        summary["recency"].to_numpy(float),
        summary["T"].to_numpy(float),
    )
    per_customer = pd.DataFrame(
        {
            "frequency": summary["frequency"].to_numpy(),
            "predicted": predicted,
            "actual": summary["frequency_holdout"].to_numpy(float),
        },
        index=summary.index,
    )
    labels = [str(k) for k in range(max_frequency)] + [f"{max_frequency}+"]
    group = pd.Categorical.from_codes(np.minimum(per_customer["frequency"].to_numpy(), max_frequency), labels)
    by_frequency = (
        per_customer.groupby(group, observed=False)
        .agg(n_customers=("actual", "size"), actual=("actual", "mean"), predicted=("predicted", "mean"))
        .rename_axis("frequency")
    )
    mae = float(np.mean(np.abs(per_customer["predicted"] - per_customer["actual"])))
    return HoldoutComparison(per_customer=per_customer, by_frequency=by_frequency, mae=mae)


def tracking_data(
    orders,
    transaction_results: FitResults,
    calibration_end,
    holdout_end,
    *,
    unit: str | float = "W",
) -> pd.DataFrame:
    """Cumulative repeat purchases of the cohort over time, actual and expected.

    The cohort is every customer whose first purchase is on or before
    ``calibration_end``. The expected curve sums, over customers, the
    model's unconditional expectation ``E[X(t)]`` at each customer's time
    since their first purchase: it uses the birth dates only, not the
    purchase histories.

    Parameters
    ----------
    orders : ibis.Table or pandas.DataFrame
        Orders with ``customer_id`` and ``order_date``.
    transaction_results : BetaGeoResults or ParetoNBDResults
        Fitted model, in time unit ``unit``.
    calibration_end, holdout_end : date-like
        End of calibration (defines the cohort) and of the tracked period.
    unit : {"D", "W"} or float, default "W"
        Time unit of the model, and the spacing of the points.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``period`` 1, 2, ...: ``date`` (last day of the period,
        counted from the first purchase of the cohort), ``actual`` and
        ``expected`` cumulative repeat purchases, and ``holdout`` (whether the
        period ends after ``calibration_end``).
    """
    calibration_day, holdout_day = epoch_day(calibration_end), epoch_day(holdout_end)
    if holdout_day < calibration_day:
        raise ValueError("holdout_end must not precede calibration_end")
    scale = days_per_unit(unit)

    days = purchase_days(orders, value=None)
    days = days.mutate(first=days.day.min().over(group_by="customer_id"))
    cohort = days.filter((days["first"] <= calibration_day) & (days.day <= holdout_day))
    repeats = cohort.filter(cohort.day > cohort["first"])
    repeats_per_day = repeats.group_by("day").aggregate(n=repeats.count()).to_pyarrow().to_pandas()
    firsts = cohort.filter(cohort.day == cohort["first"])
    births_per_day = firsts.group_by("day").aggregate(n=firsts.count()).order_by("day").to_pyarrow().to_pandas()
    if births_per_day.empty:
        raise ValueError("no customer made a first purchase by calibration_end")

    start = int(births_per_day["day"].min())
    n_periods = int(np.floor((holdout_day - start + 1) / scale))
    period = np.arange(1, n_periods + 1)
    # Period k ends on day start + k*unit - 1: with weeks, period 1 is days 0..6.
    period_end = start + np.round(period * scale).astype(int) - 1

    repeat_days = repeats_per_day["day"].to_numpy()
    repeat_counts = repeats_per_day["n"].to_numpy(float)
    order = np.argsort(repeat_days)
    cumulative = np.concatenate([[0.0], np.cumsum(repeat_counts[order])])
    actual = cumulative[np.searchsorted(repeat_days[order], period_end, side="right")]

    birth_days = births_per_day["day"].to_numpy()
    exposure = np.clip(period_end[:, None] - birth_days[None, :], 0, None) / scale
    expected = transaction_results.expected_purchases(exposure) @ births_per_day["n"].to_numpy(float)

    epoch = dt.date(1970, 1, 1)
    return pd.DataFrame(
        {
            "date": [epoch + dt.timedelta(days=int(d)) for d in period_end],
            "actual": actual,
            "expected": expected,
            "holdout": period_end > calibration_day,
        },
        index=pd.Index(period, name="period"),
    )

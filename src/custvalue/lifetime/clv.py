"""Discounted customer lifetime value from a purchase-count and a value model."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._mle import FitResults
from ._rows import distinct_rows
from .gammagamma import GammaGammaResults
from .summary import days_per_unit

__all__ = ["discounted_expected_purchases", "customer_lifetime_value"]

_DAYS_PER_YEAR = 365.25


def discounted_expected_purchases(
    transaction_results: FitResults,
    frequency,
    recency,
    T,
    *,
    horizon_periods: int,
    discount_rate_per_year: float,
    unit: str | float = "W",
    period_length: float = 1.0,
) -> np.ndarray:
    """Present value of each customer's expected purchases over a horizon.

    ``sum_k (E[X(k L) | history] - E[X((k-1) L) | history]) / (1 + d)^(k L / year)``
    for ``k = 1 .. horizon_periods``: the purchases expected in each future
    period, discounted from the end of that period.

    Parameters
    ----------
    transaction_results : BetaGeoResults or ParetoNBDResults
        Fitted purchase-count model.
    frequency, recency, T : array_like
        Customer histories in the model's time unit.
    horizon_periods : int
        Number of future periods.
    discount_rate_per_year : float
        Annual discount rate, e.g. 0.10; converted to the period length.
    unit : {"D", "W"} or float, default "W"
        The model's time unit (as in :func:`summarise_orders`).
    period_length : float, default 1.0
        Length of one period in model units (e.g. ``52/12`` weeks for months).

    Returns
    -------
    ndarray
        Discounted expected number of purchases per customer.
    """
    if int(horizon_periods) != horizon_periods or horizon_periods < 1:
        raise ValueError("horizon_periods must be a positive whole number")
    if not discount_rate_per_year > -1.0:
        raise ValueError("discount_rate_per_year must be greater than -1")
    if not period_length > 0:
        raise ValueError("period_length must be positive")
    x, t_x, age = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (frequency, recency, T)))
    # The expectation depends on the history only: compute it once per distinct row.
    rows = distinct_rows(x, t_x, age)
    ux, ut, uT = rows.columns

    years_per_unit = days_per_unit(unit) / _DAYS_PER_YEAR
    log_growth = np.log1p(discount_rate_per_year)
    total = np.zeros(len(rows))
    previous = np.zeros(len(rows))
    for k in range(1, int(horizon_periods) + 1):
        elapsed = k * period_length
        cumulative = transaction_results.conditional_expected_purchases(elapsed, ux, ut, uT)
        total += (cumulative - previous) * np.exp(-log_growth * elapsed * years_per_unit)
        previous = cumulative
    return rows.expand(total)


def customer_lifetime_value(
    transaction_results: FitResults,
    value,
    frequency,
    recency,
    T,
    monetary_value=None,
    *,
    horizon_periods: int,
    discount_rate_per_year: float,
    unit: str | float = "W",
    period_length: float = 1.0,
):
    """Discounted expected margin of each customer over a horizon.

    The discounted expected purchases (:func:`discounted_expected_purchases`)
    times the expected margin per purchase.

    Parameters
    ----------
    transaction_results : BetaGeoResults or ParetoNBDResults
        Fitted purchase-count model.
    value : GammaGammaResults, float or array_like
        Either a fitted Gamma-Gamma model, whose
        ``conditional_expected_value(frequency, monetary_value)`` gives the
        margin per purchase, or the margin per purchase itself.
    frequency, recency, T : array_like
        Customer histories in the model's time unit.
    monetary_value : array_like, optional
        Mean repeat-purchase value; needed when ``value`` is a Gamma-Gamma fit.
    horizon_periods, discount_rate_per_year, unit, period_length
        See :func:`discounted_expected_purchases`.

    Returns
    -------
    ndarray or pandas.Series
        Lifetime value per customer; a Series named ``clv`` with the index of
        ``frequency`` when that is a Series.

    References
    ----------
    .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). RFM and CLV:
       Using Iso-Value Curves for Customer Base Analysis. Journal of
       Marketing Research 42(4), 415-430.
    """
    if isinstance(value, GammaGammaResults):
        if monetary_value is None:
            raise ValueError("monetary_value is needed to apply a Gamma-Gamma model")
        margin = value.conditional_expected_value(frequency, monetary_value)
    else:
        margin = np.asarray(value, dtype=float)
    purchases = discounted_expected_purchases(
        transaction_results,
        frequency,
        recency,
        T,
        horizon_periods=horizon_periods,
        discount_rate_per_year=discount_rate_per_year,
        unit=unit,
        period_length=period_length,
    )
    clv = purchases * margin
    if isinstance(frequency, pd.Series):
        return pd.Series(np.broadcast_to(clv, frequency.shape), index=frequency.index, name="clv")
    return clv

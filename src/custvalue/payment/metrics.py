"""Collections metrics at an as-of date, per customer, per segment and for the company.

All aggregation runs in the engine; one row per group comes back. With ``AR`` the open
receivables at the as-of date (the ledger's ``balance``), ``AR_current`` the part not yet
past due, ``S_N`` the collectible sales (amount less write-offs) invoiced in the ``N`` days
up to and including the as-of date, and ``AR_start`` the receivables ``N`` days earlier:

=====================  ====================================================================
``dso``                days sales outstanding, ``AR / S_N * N`` (N = ``dso_period_days``)
``dso_countback``      countback DSO: walk back month by month from the as-of date,
                       taking each month's sales off ``AR`` until it is used up; the days
                       walked (the last month pro rata)
``best_dso``           best possible DSO, ``AR_current / S_N * N``
``add_dso``            average days delinquent in its classic form, ``dso - best_dso``
``add``                average days delinquent, amount-weighted: open balances weighted by
                       their days past due (current balances count 0)
``cei``                collection effectiveness index over ``N = cei_period_days``:
                       ``(AR_start + S_N - AR) / (AR_start + S_N - AR_current) * 100``
``aging_*``            open balance by days past due: ``current`` (not yet due), then one
                       bucket per bound of ``aging_buckets_days`` and ``over_<last>``
=====================  ====================================================================

Ratios are empty (NaN) where their denominator is zero. Write-offs never count as
receivable (see :mod:`custvalue.payment.ledger`), so the CEI measures the collectible book
and the write-offs are judged on their own.

References
----------
.. [1] Credit Research Foundation, "Calculation of Days Sales Outstanding (DSO)",
   "Best Possible DSO", "Average Days Delinquent" and "Collection Effectiveness Index";
   the standard definitions used in credit management.
.. [2] Salek, J. G. (2005). *Accounts Receivable Management Best Practices*. Wiley.
   (DSO, countback DSO, CEI and aging.)
"""

from __future__ import annotations

from datetime import date

import ibis
import numpy as np
import pandas as pd

from custvalue.config import PaymentSettings
from custvalue.engine import fetch

COMPANY = "company"
CENT = 0.01


def aging_labels(bounds: tuple[int, ...] | list[int]) -> list[str]:
    """Column names of the aging buckets for the given upper bounds (days past due)."""
    bounds = list(bounds)
    labels = ["aging_current" if bounds[0] == 0 else f"aging_upto_{bounds[0]}"]
    labels += [f"aging_{low + 1}_{high}" for low, high in zip(bounds[:-1], bounds[1:])]
    labels.append(f"aging_over_{bounds[-1]}")
    return labels


def aging_bucket(days_past_due: ibis.Value, bounds: tuple[int, ...] | list[int]) -> ibis.Value:
    """Index of the aging bucket of each days-past-due value (0 = first bucket)."""
    bounds = list(bounds)
    branches = [(days_past_due <= bound, index) for index, bound in enumerate(bounds)]
    return ibis.cases(*branches, else_=len(bounds))


def _group_key(ledger: ibis.Table, by: str | None) -> tuple[ibis.Table, str]:
    if by is None:
        return ledger.mutate(scope=ibis.literal(COMPANY)), "scope"
    return ledger, by


def receivable_at(ledger: ibis.Table, day: date, as_of: date) -> ibis.Value:
    """Each invoice's receivable balance at ``day`` (on or before ``as_of``).

    Settled invoices count their collectible amount from issue until their paid date;
    open invoices count it until the as-of date, where part payments are taken off.
    """
    day, as_of = pd.Timestamp(day).date(), pd.Timestamp(as_of).date()
    if day >= as_of:
        return ledger.balance
    on = ibis.literal(day)
    unpaid_then = ledger.paid_date.isnull() | (ledger.paid_date > on)
    return ibis.ifelse((ledger.issue_date <= on) & unpaid_then, ledger.collectible, 0.0)


def collections_metrics_expr(ledger: ibis.Table, as_of: date, settings: PaymentSettings, by: str | None) -> ibis.Table:
    """The metrics of the module docstring as one Ibis expression, grouped ``by`` a column
    (``customer_id``, ``segment``) or, with ``None``, for the whole company."""
    as_of = pd.Timestamp(as_of).date()
    ledger, key = _group_key(ledger, by)
    dso_start = ibis.literal(as_of - pd.Timedelta(days=settings.dso_period_days).to_pytimedelta())
    cei_start_day = (pd.Timestamp(as_of) - pd.Timedelta(days=settings.cei_period_days)).date()
    cei_start = ibis.literal(cei_start_day)
    bucket = aging_bucket(ledger.days_past_due, settings.aging_buckets_days)
    current = ledger.days_past_due <= 0
    measures = {
        "invoices": ledger.count(),
        "open_invoices": (ledger.balance > 0).sum(),
        "ar": ledger.balance.sum(),
        "ar_current": ibis.ifelse(current, ledger.balance, 0.0).sum(),
        "ar_weighted_days": (ledger.balance * ibis.greatest(ledger.days_past_due, 0)).sum(),
        "sales_dso": ibis.ifelse(ledger.issue_date > dso_start, ledger.collectible, 0.0).sum(),
        "sales_cei": ibis.ifelse(ledger.issue_date > cei_start, ledger.collectible, 0.0).sum(),
        "ar_cei_start": receivable_at(ledger, cei_start_day, as_of).sum(),
        "written_off": ledger.written_off.sum(),
    }
    for index, label in enumerate(aging_labels(settings.aging_buckets_days)):
        measures[label] = ibis.ifelse(bucket == index, ledger.balance, 0.0).sum()
    measures.update(monthly_sales_measures(ledger, as_of, settings.countback_months))
    sums = ledger.group_by(key).aggregate(**measures)
    n_dso = float(settings.dso_period_days)

    def ratio(numerator: ibis.Value, denominator: ibis.Value) -> ibis.Value:
        return ibis.ifelse(denominator > 0, numerator / denominator, ibis.null("float64"))

    collected = sums.ar_cei_start + sums.sales_cei - sums.ar
    collectible = sums.ar_cei_start + sums.sales_cei - sums.ar_current
    return sums.mutate(
        dso=ratio(sums.ar * n_dso, sums.sales_dso),
        best_dso=ratio(sums.ar_current * n_dso, sums.sales_dso),
        add_dso=ratio((sums.ar - sums.ar_current) * n_dso, sums.sales_dso),
        add=ratio(sums.ar_weighted_days, sums.ar),
        # in [0, 100] by construction (see the docs); the clip only removes rounding noise
        cei=ratio(100.0 * collected, collectible).clip(0.0, 100.0),
    ).drop("ar_weighted_days")


def monthly_sales_measures(ledger: ibis.Table, as_of: date, months: int) -> dict[str, ibis.Value]:
    """Collectible sales per month back from the as-of date (``sales_m0`` = the as-of
    month up to the as-of date), as conditional sums for one aggregation pass."""
    as_of = pd.Timestamp(as_of).date()
    back = ibis.literal(as_of.year * 12 + as_of.month - 1) - (ledger.issue_date.year() * 12 + ledger.issue_date.month() - 1)
    return {f"sales_m{k}": ibis.ifelse(back == k, ledger.collectible, 0.0).sum() for k in range(months)}


def countback_days(ar: np.ndarray, monthly: np.ndarray, month_days: np.ndarray) -> np.ndarray:
    """Countback DSO, vectorised: ``monthly`` holds each group's sales newest month first.

    The walk stops in the month whose sales use up what is left of ``ar`` (that month
    counts pro rata); when the months run out first, all their days count.
    """
    ar = np.asarray(ar, dtype=float)
    month_days = np.asarray(month_days, dtype=float)
    monthly = np.asarray(monthly, dtype=float).reshape(len(ar), len(month_days))
    cumulative = np.cumsum(monthly, axis=1)
    before = cumulative - monthly
    # Money is in cents: half a cent of tolerance keeps sums that match exactly from
    # missing each other by floating-point rounding.
    tolerance = CENT / 2
    reaches = (before < ar[:, None] - tolerance) & (cumulative >= ar[:, None] - tolerance) & (monthly > 0)
    found = reaches.any(axis=1)
    month = np.where(found, reaches.argmax(axis=1), 0)
    rows = np.arange(len(ar))
    days_before = np.concatenate([[0.0], np.cumsum(month_days)])[month]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.minimum((ar - before[rows, month]) / monthly[rows, month], 1.0)
    walked = days_before + month_days[month] * share
    return np.where(ar <= 0, 0.0, np.where(found, walked, month_days.sum()))


def _countback_months(as_of: date, count: int) -> pd.DataFrame:
    """Month ``back`` = 0 is the as-of month up to the as-of date; then whole calendar months."""
    month_end = pd.Timestamp(as_of)
    rows = []
    for back in range(count):
        start = month_end.replace(day=1)
        rows.append({"back": back, "month_days": int((month_end - start).days) + 1})
        month_end = start - pd.Timedelta(days=1)
    return pd.DataFrame(rows)


def collections_metrics(ledger: ibis.Table, as_of: date, settings: PaymentSettings, by: str | None) -> pd.DataFrame:
    """Execute the collections metrics (with countback DSO) for groups ``by``.

    Parameters
    ----------
    ledger : ibis.Table
        From :func:`custvalue.payment.ledger.invoice_ledger` at ``as_of``.
    as_of : date
        The date the receivables are measured at.
    settings : PaymentSettings
        Periods and aging buckets.
    by : {"customer_id", "segment", None}
        Grouping; ``None`` gives one row for the whole company (key column ``scope``).

    Returns
    -------
    pandas.DataFrame
        One row per group with the columns of the module docstring.
    """
    key = by or "scope"
    frame = fetch(collections_metrics_expr(ledger, as_of, settings, by).order_by(key))
    monthly = [f"sales_m{k}" for k in range(settings.countback_months)]
    month_days = _countback_months(as_of, settings.countback_months)["month_days"].to_numpy()
    frame["dso_countback"] = countback_days(frame["ar"].to_numpy(float), frame[monthly].to_numpy(float), month_days)
    order = [key, "invoices", "open_invoices", "ar", "ar_current", "sales_dso", "dso", "dso_countback", "best_dso", "add_dso", "add",
             "ar_cei_start", "sales_cei", "cei", "written_off", *aging_labels(settings.aging_buckets_days)]  # fmt: skip
    frame = frame[order]
    frame[key] = frame[key].astype("str")
    return frame.astype({column: float for column in order[3:]})


def cei(ar_start: float, sales: float, ar_end: float, ar_end_current: float) -> float:
    """Collection effectiveness index (percent) from its four quantities; NaN when undefined.

    ``(ar_start + sales - ar_end) / (ar_start + sales - ar_end_current) * 100``.
    """
    denominator = ar_start + sales - ar_end_current
    return float("nan") if denominator <= 0 else 100.0 * (ar_start + sales - ar_end) / denominator


def dso(ar: float, sales: float, period_days: int) -> float:
    """Days sales outstanding ``ar / sales * period_days``; NaN without sales."""
    return float("nan") if sales <= 0 else ar / sales * period_days


def countback_dso(ar: float, monthly_sales: list[float] | np.ndarray, month_days: list[int] | np.ndarray) -> float:
    """Countback DSO of one group from its monthly sales, newest month first."""
    return float(countback_days(np.array([ar]), np.array([monthly_sales], dtype=float), np.asarray(month_days))[0])

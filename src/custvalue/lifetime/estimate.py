"""Lifetime value in the quarterly review: fit, predict, validate.

:func:`estimate_lifetime_value` turns the accepted orders into one row per customer with
the probability that they are still a customer (``p_alive``), the purchases and margin
expected over the configured horizon, the discounted customer lifetime value (``clv``)
and its percentile rank among customers. It checks the purchase model on a holdout
period and returns everything in an immutable
:class:`~custvalue.lifetime.result.LifetimeValueResult`. The choices (margin,
non-positive margins, retries) are in ``docs/lifetime.md``, section "In the quarterly
review".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from custvalue.config import LifetimeSettings
from custvalue.errors import ContractError

from ._mle import FitResults
from .boundary import CommonRateSpendResults, ExactMeanSpendResults
from .clv import customer_lifetime_value
from .fitting import (
    CANDIDATES,
    PURCHASE_MODELS,
    FitRecord,
    LifetimeFitError,
    ModelChoice,
    RescuedFit,
    choose_purchase_model,
    fit_with_rescue,
    rank_by_aic,
)
from .gammagamma import GammaGammaModel, GammaGammaResults
from .result import CUSTOMER_COLUMNS, DAYS_PER_QUARTER, LifetimeValueResult
from .summary import (
    as_table,
    days_per_unit,
    epoch_day,
    purchase_days,
    summarise_orders,
    to_date,
)
from .validation import calibration_holdout_summary, tracking_data

__all__ = ["estimate_lifetime_value"]

#: CLV sums the horizon in months (a third of a quarter), each discounted from its end.
_PERIODS_PER_QUARTER = 3
#: Name of the per-order margin column added to the orders, in whole cents: sums of
#: whole numbers are exact in float64, so they do not depend on the order in which
#: DuckDB's threads add them up (currency amounts summed directly do, in the last bits).
_MARGIN = "_lifetime_margin_cents"
_CENTS = 100.0
#: A holdout check needs at least this many customers in the calibration period.
_MIN_CALIBRATION_CUSTOMERS = 10

def estimate_lifetime_value(
    orders: ir.Table | pd.DataFrame,
    customers: pd.DataFrame,
    as_of: dt.date,
    settings: LifetimeSettings,
    *,
    holdout_quarters: int = 2,
    max_frequency: int | None = None,
    p_alive_as_of: Sequence[dt.date] = (),
) -> LifetimeValueResult:
    """Fit the lifetime models on the orders up to ``as_of`` and value every customer.

    Parameters
    ----------
    orders : ibis.Table or pandas.DataFrame
        Accepted orders: ``customer_id``, ``order_date``, ``revenue``,
        ``cost_of_goods`` and ``returned_value`` (missing or null counts as 0).
    customers : pandas.DataFrame
        Accepted customers: ``customer_id`` and optionally ``ended_on``. Every customer
        in the orders must be here.
    as_of : date-like
        Last day (inclusive) of the history used, usually the quarter's end.
    settings : LifetimeSettings
        Time unit, horizon, discount rate, purchase model (or ``auto``), boundary
        handling and penalizer.
    holdout_quarters : int, default 2
        Length of the holdout period: the purchase model is refitted on the orders up to
        this many quarters before ``as_of`` and its forecast compared with what happened.
        With ``transaction_model: auto`` every candidate is, and the best is chosen.
    max_frequency : int, optional
        Customers with at least this many calibration repeat purchases form the last
        group of the holdout comparison. Default: the calibration frequencies' 75th
        percentile, kept within 7..30.
    p_alive_as_of : sequence of dates
        Earlier dates at which to state each customer's P(alive) as well (from its
        history up to that date, with this fit's parameters): the basis for statuses
        of past quarters that use the same inputs as today's.

    Returns
    -------
    LifetimeValueResult

    Raises
    ------
    LifetimeFitError
        If the purchase model the review uses (on all data) or the spend model cannot
        be fitted, even at a boundary or after the retry with a penalizer (see
        :func:`~custvalue.lifetime.fitting.fit_with_rescue`). A holdout check that
        cannot be made is a warning in the result, not an error.
    ContractError
        If there are no orders by ``as_of`` or no repeat purchase with a positive margin.
    ValueError
        If the orders name customers that ``customers`` lacks.
    """
    settings.validate("lifetime")
    if int(holdout_quarters) != holdout_quarters or holdout_quarters < 1:
        raise ValueError("holdout_quarters must be a positive whole number")
    as_of = to_date(as_of)
    unit = settings.time_unit
    notes: list[str] = []
    warnings: list[str] = []
    table = _with_margin(orders)

    summary = _in_currency(summarise_orders(table, as_of, unit=unit, value=_MARGIN))
    if summary.empty:
        raise ContractError(f"lifetime value: no orders on or before {as_of}, so there is nothing to fit")
    known = pd.Index(customers["customer_id"].astype(str))
    unknown = summary.index.difference(known)
    if len(unknown):
        raise ValueError(
            f"orders name {len(unknown):,} customer(s) missing from customers, e.g. {', '.join(map(str, unknown[:3]))}"
        )

    # The holdout check: every candidate refitted on the calibration period.
    calibration_end = _quarters_before(as_of, int(holdout_quarters))
    calibration = _in_currency(calibration_holdout_summary(table, calibration_end, as_of, unit=unit, value=_MARGIN))
    candidates = CANDIDATES if settings.transaction_model == "auto" else (settings.transaction_model,)
    choice: ModelChoice | None = None
    if len(calibration) >= _MIN_CALIBRATION_CUSTOMERS and (calibration["frequency"] > 0).any():
        if max_frequency is None:
            max_frequency = int(np.clip(round(float(calibration["frequency"].quantile(0.75))), 7, 30))
        choice = choose_purchase_model(candidates, calibration, settings, int(max_frequency))
        if not choice.ranking:
            reasons = "; ".join(choice.comparison["note"])
            warnings.append(f"the holdout check was not made: no purchase model could be fitted on the orders up to {calibration_end} ({reasons})")
    else:
        warnings.append(
            f"the holdout check was not made: the history before {calibration_end} is too short "
            f"({len(calibration):,} customers with orders by then, {int((calibration['frequency'] > 0).sum()):,} "
            f"of them with a repeat purchase; at least {_MIN_CALIBRATION_CUSTOMERS} customers and one repeat purchase needed)"
        )

    transaction, key, comparison, how = _fit_purchase_model(summary, settings, candidates, choice, warnings)
    notes.extend(transaction.notes)
    transaction_record = transaction.record

    spend, spend_record = _fit_spend_model(summary, settings, notes)

    frame = _value_customers(summary, transaction.results, spend, settings)
    ended_on = pd.to_datetime(customers.set_index(customers["customer_id"].astype(str))["ended_on"]) if "ended_on" in customers else None
    if ended_on is not None:
        ended = ended_on.reindex(frame.index).to_numpy()
        frame["ended"] = pd.notna(ended) & (ended <= np.datetime64(as_of))
    else:
        frame["ended"] = False
    frame = frame[list(CUSTOMER_COLUMNS)]

    fits = {"transaction": transaction_record, "spend": spend_record}
    holdout_frames = {"holdout_customers": _EMPTY_HOLDOUT.copy(), "holdout_by_frequency": _EMPTY_BY_FREQUENCY.copy(), "tracking": _EMPTY_TRACKING.copy()}
    holdout_info: dict = {"holdout_mae": None, "naive_holdout_mae": None, "holdout_actual_mean": None, "holdout_predicted_mean": None}
    if choice is not None and key in choice.fits:
        holdout_model, holdout = choice.fits[key], choice.holdouts[key]
        fits["holdout_transaction"] = holdout_model.record
        notes.extend(note for note in holdout_model.notes if note not in notes)
        own_rate = np.where(calibration["T"] > 0, calibration["frequency"] / calibration["T"].where(calibration["T"] > 0, 1.0), 0.0)
        holdout_frames = {
            "holdout_customers": holdout.per_customer.reset_index(),
            "holdout_by_frequency": _by_frequency_frame(holdout.by_frequency),
            "tracking": _weekly_tracking(table, holdout_model.results, calibration_end, as_of, unit),
        }
        holdout_info = {
            "holdout_mae": float(holdout.mae),
            "naive_holdout_mae": float(np.mean(np.abs(own_rate * calibration["duration_holdout"] - calibration["frequency_holdout"]))),
            "holdout_actual_mean": float(holdout.per_customer["actual"].mean()),
            "holdout_predicted_mean": float(holdout.per_customer["predicted"].mean()),
        }
    elif choice is not None and choice.ranking:
        warnings.append(f"the holdout check was not made for the {transaction_record.requested_model}: it could not be fitted on the orders up to {calibration_end}")

    n_population = int(customers["customer_id"].astype(str).nunique())
    info = {
        "customers": int(len(frame)),
        "customers_without_orders": n_population - int(len(frame)),
        "customers_spend_model": int(((summary["frequency"] > 0) & (summary["monetary_value"] > 0)).sum()),
        "customers_nonpositive_margin": int((frame["margin_source"] == "nonpositive_mean").sum()),
        "customers_ended": int(frame["ended"].sum()),
        "holdout_quarters": int(holdout_quarters),
        "holdout_customers": int(len(calibration)),
        "holdout_max_frequency": None if max_frequency is None else int(max_frequency),
        **holdout_info,
        "purchase_model": key,
        "purchase_model_choice": how,
        "horizon_periods": int(settings.horizon_quarters * _PERIODS_PER_QUARTER),
        "margin_definition": "revenue - cost_of_goods - returned_value, summed per purchase day",
    }
    return LifetimeValueResult(
        customers=frame,
        model_comparison=comparison,
        p_alive_history=_p_alive_history(table, transaction.results, p_alive_as_of, unit),
        fits=fits,
        settings=settings,
        as_of=as_of,
        calibration_end=calibration_end,
        info=info,
        notes=tuple(notes),
        warnings=tuple(warnings),
        **holdout_frames,
    )


_EMPTY_HOLDOUT = pd.DataFrame({"customer_id": pd.Series(dtype=str), "frequency": pd.Series(dtype="int64"),
                               "predicted": pd.Series(dtype=float), "actual": pd.Series(dtype=float)})
_EMPTY_BY_FREQUENCY = pd.DataFrame({"frequency": pd.Series(dtype=str), "n_customers": pd.Series(dtype="int64"),
                                    "actual": pd.Series(dtype=float), "predicted": pd.Series(dtype=float)})
_EMPTY_TRACKING = pd.DataFrame({"week": pd.Series(dtype="int64"), "date": pd.Series(dtype="datetime64[ns]"),
                                "actual": pd.Series(dtype=float), "expected": pd.Series(dtype=float),
                                "holdout": pd.Series(dtype=bool)})


def _fit_purchase_model(
    summary: pd.DataFrame, settings: LifetimeSettings, candidates: tuple[str, ...], choice: ModelChoice | None, warnings: list[str]
) -> tuple[RescuedFit, str, pd.DataFrame, str]:
    """The purchase model the review uses, fitted on all data: the candidate ranked first
    by the holdout check (the next where it cannot be fitted on all data), or, without
    a holdout check, the one with the lowest AIC on all data.

    Returns the fit, its configuration name, the comparison table and how it was chosen.
    """

    def fit(key: str) -> RescuedFit:
        model_class = PURCHASE_MODELS[key]
        return fit_with_rescue("transaction", lambda penalizer: model_class.from_summary(summary, penalizer=penalizer), settings)

    if len(candidates) == 1:
        comparison = choice.comparison if choice is not None else pd.DataFrame()
        return fit(candidates[0]), candidates[0], comparison, "as set in the configuration"
    if choice is not None and choice.ranking:
        failures = []
        for key in choice.ranking:
            try:
                kept = fit(key)
            except LifetimeFitError as error:
                failures.append(str(error))
                warnings.append(f"the {PURCHASE_MODELS[key]._results_class.display_name}, best on the holdout check, could not be fitted on all data ({error}); the next best is used")
                continue
            return kept, key, choice.comparison, "by the smallest holdout error (ties: the lowest AIC)"
        raise LifetimeFitError(failures[-1])
    # No holdout check: every candidate on all data, the lowest AIC kept.
    fits: dict[str, RescuedFit] = {}
    rows, last_error = [], None
    for key in candidates:
        row = {"candidate": key, "model": PURCHASE_MODELS[key]._results_class.display_name}
        try:
            fits[key] = fit(key)
        except LifetimeFitError as error:
            last_error = error
            rows.append(row | {"fitted_as": "", "note": f"not fitted: {error}"})
            continue
        record = fits[key].record
        rows.append(row | {"fitted_as": record.model, "parameters": len(record.parameters), "log_likelihood": record.llf,
                           "aic": record.aic, "holdout_mae": np.nan, "note": record.boundary})
    comparison = pd.DataFrame(rows, columns=["candidate", "model", "fitted_as", "parameters", "log_likelihood", "aic", "holdout_mae", "note"])
    ranking = rank_by_aic(comparison)
    if not ranking:
        raise last_error
    comparison["rank"] = comparison["candidate"].map({k: place + 1 for place, k in enumerate(ranking)}).fillna(0).astype("int64")
    comparison["parameters"] = comparison["parameters"].fillna(0).astype("int64")
    return fits[ranking[0]], ranking[0], comparison, "by the lowest AIC on all data, as no holdout check could be made"


def _fit_spend_model(summary: pd.DataFrame, settings: LifetimeSettings, notes: list[str]) -> tuple[FitResults, FitRecord]:
    """The Gamma-Gamma model of the margin per purchase, on repeat buyers with a positive mean margin."""
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    if repeat.empty:
        raise ContractError("lifetime value: no repeat customer with a positive mean margin, so the spend model (Gamma-Gamma) cannot be fitted")
    # No penalty on the spend model: its gamma is in currency units, so an L2 penalty
    # on it would depend on the currency; maximum likelihood is scale-free.
    unpenalised = dataclasses.replace(settings, penalizer=0.0)
    spend = fit_with_rescue("spend", lambda _: GammaGammaModel(repeat["frequency"], repeat["monetary_value"]), unpenalised, retry=False)
    notes.extend(spend.notes)
    if isinstance(spend.results, GammaGammaResults) and not spend.results.params["q"] > 1.0:
        raise LifetimeFitError(
            f"lifetime value: the Gamma-Gamma fit has q = {spend.results.params['q']:.3f} <= 1, so the mean margin per purchase "
            "is infinite; margins are too heavy-tailed for the model"
        )
    return spend.results, spend.record


def _p_alive_history(table, transaction: FitResults, dates: Sequence[dt.date], unit: str) -> pd.DataFrame:
    """P(alive) of each customer at each of ``dates`` (columns: ISO dates), from the
    history up to that date; customers without an order by then have none (NaN)."""
    columns = {}
    for day in sorted({to_date(d) for d in dates}):
        history = summarise_orders(table, day, unit=unit, value=_MARGIN)
        columns[day.isoformat()] = pd.Series(
            transaction.conditional_probability_alive(history["frequency"], history["recency"], history["T"]),
            index=history.index.astype(str),
        )
    frame = pd.DataFrame(columns)
    frame.index.name = "customer_id"
    return frame


def _with_margin(orders) -> ir.Table:
    """The orders with the margin of each order, revenue - cost_of_goods - returned_value, in whole cents."""
    table = as_table(orders)
    missing = {"customer_id", "order_date", "revenue", "cost_of_goods"} - set(table.columns)
    if missing:
        raise ValueError(f"orders lacks column(s) {sorted(missing)}")
    returned = table.returned_value.cast("float64").fill_null(0.0) if "returned_value" in table.columns else ibis.literal(0.0)
    margin = table.revenue.cast("float64").fill_null(0.0) - table.cost_of_goods.cast("float64").fill_null(0.0) - returned
    return table.mutate(**{_MARGIN: (margin * _CENTS).round(0).cast("float64")})


def _in_currency(summary: pd.DataFrame) -> pd.DataFrame:
    """A summary of :func:`_with_margin` orders with its value columns back in currency units."""
    summary = summary.copy()
    for column in ("monetary_value", "monetary_value_holdout"):
        if column in summary:
            summary[column] = summary[column] / _CENTS
    return summary


def _value_customers(summary: pd.DataFrame, transaction: FitResults, spend: FitResults, settings: LifetimeSettings) -> pd.DataFrame:
    """Per-customer predictions from the fitted models."""
    unit_days = days_per_unit(settings.time_unit)
    quarter = DAYS_PER_QUARTER / unit_days
    horizon = settings.horizon_quarters * quarter
    x = summary["frequency"].to_numpy(dtype=float)
    t_x = summary["recency"].to_numpy(dtype=float)
    age = summary["T"].to_numpy(dtype=float)
    zbar = summary["monetary_value"].to_numpy(dtype=float)

    # E[margin | x, zbar] = w zbar + (1 - w) population mean, w = p x / (p x + q - 1): the
    # Gamma-Gamma expectation for positive zbar. For a zero or negative zbar the same
    # credibility weights are applied (the formula is linear in zbar): continuous at 0,
    # near the customer's own loss when it rests on many purchases, pulled towards the
    # mean when it rests on one or two.
    nonpositive = (x > 0) & (zbar <= 0)
    margin = spend.conditional_expected_value(x, zbar)
    source = np.where(x == 0, "population", np.where(nonpositive, "nonpositive_mean", "gamma_gamma"))
    if isinstance(spend, CommonRateSpendResults):  # one mean for all: the data show no difference between customers
        source = np.full(len(x), "population")
    elif isinstance(spend, ExactMeanSpendResults):  # each purchase at the customer's own mean
        source = np.where(x == 0, "population", "own_mean")

    clv = customer_lifetime_value(
        transaction,
        margin,
        x,
        t_x,
        age,
        horizon_periods=settings.horizon_quarters * _PERIODS_PER_QUARTER,
        discount_rate_per_year=settings.discount_rate_annual,
        unit=settings.time_unit,
        period_length=quarter / _PERIODS_PER_QUARTER,
    )
    frame = pd.DataFrame(
        {
            "frequency": summary["frequency"].to_numpy(dtype="int64"),
            "recency": t_x,
            "T": age,
            "monetary_value": zbar,
            "p_alive": transaction.conditional_probability_alive(x, t_x, age),
            "expected_purchases": transaction.conditional_expected_purchases(horizon, x, t_x, age),
            "expected_margin_per_purchase": margin,
            "margin_source": pd.array(source, dtype="string"),
            "clv": np.asarray(clv, dtype=float),
        },
        index=pd.Index(summary.index.astype(str), name="customer_id"),
    )
    if not np.all(np.isfinite(frame["clv"])):
        raise FloatingPointError("lifetime value: some CLV values are not finite")
    frame["future_value_rank"] = _percentile_rank(frame["clv"].to_numpy())
    return frame


def _percentile_rank(values: np.ndarray) -> np.ndarray:
    """0 for the lowest value, 1 for the highest; ties get the mean of their ranks."""
    if len(values) == 1:
        return np.ones(1)
    ranks = pd.Series(values).rank(method="average").to_numpy()
    return (ranks - 1.0) / (len(values) - 1.0)


def _quarters_before(day: dt.date, quarters: int) -> dt.date:
    """``day`` moved back ``quarters`` quarters; a month end stays a month end (2026-06-30 -> 2025-12-31)."""
    stamp = pd.Timestamp(day)
    if stamp.is_month_end:
        return (stamp - pd.offsets.MonthEnd(3 * quarters)).date()
    return (stamp - pd.DateOffset(months=3 * quarters)).date()


def _weekly_tracking(table, model: FitResults, calibration_end: dt.date, holdout_end: dt.date, unit: str) -> pd.DataFrame:
    """Cumulative repeat purchases per week (a daily model's daily points, every seventh day).

    ``actual`` is :func:`tracking_data`'s. ``expected`` is recomputed here with the
    cohort's birth days in ascending order: :func:`tracking_data` sums over them in the
    order the engine returns them, which varies from run to run and changes the last bits.
    """
    tracking = tracking_data(table, model, calibration_end, holdout_end, unit=unit)
    scale = days_per_unit(unit)
    days = purchase_days(table, value=None)
    firsts = days.group_by("customer_id").aggregate(day=days.day.min())
    firsts = firsts.filter(firsts.day <= epoch_day(calibration_end))
    births = firsts.group_by("day").aggregate(n=firsts.count()).order_by("day").to_pyarrow().to_pandas()
    period_end = np.array([epoch_day(d) for d in tracking["date"]], dtype=float)
    exposure = np.clip(period_end[:, None] - births["day"].to_numpy(float)[None, :], 0, None) / scale
    tracking["expected"] = model.expected_purchases(exposure) @ births["n"].to_numpy(float)
    if unit == "D":
        tracking = tracking[tracking.index % 7 == 0]
        tracking.index = pd.Index(tracking.index // 7, name="period")
    tracking = tracking.reset_index().rename(columns={"period": "week"})
    tracking["week"] = tracking["week"].astype("int64")
    tracking["date"] = pd.to_datetime(tracking["date"]).astype("datetime64[ns]")
    return tracking


def _by_frequency_frame(by_frequency: pd.DataFrame) -> pd.DataFrame:
    frame = by_frequency.reset_index()
    frame["frequency"] = frame["frequency"].astype(str)
    frame["n_customers"] = frame["n_customers"].astype("int64")
    return frame

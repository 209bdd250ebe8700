"""Lifetime value in the quarterly review: fit, predict, validate, save.

:func:`estimate_lifetime_value` turns the accepted orders into one row per customer with
the probability that they are still a customer (``p_alive``), the purchases and margin
expected over the configured horizon, the discounted customer lifetime value (``clv``)
and its percentile rank among customers. It checks the purchase model on a holdout
period and returns everything in an immutable :class:`LifetimeValueResult`, which the
pipeline saves next to the quarter's scorecard and the ``lifetime_value`` report page
reads back. The choices (margin, non-positive margins, retries) are in
``docs/lifetime.md``, section "In the quarterly review".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from collections.abc import Sequence
from pathlib import Path

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from custvalue.config import LifetimeSettings
from custvalue.errors import ContractError
from custvalue.stored import load_result, save_result

from ._mle import FitResults
from .boundary import CommonRateSpendResults, ExactMeanSpendResults
from .clv import customer_lifetime_value
from .fitting import (
    CANDIDATES,
    PURCHASE_MODELS,
    RETRY_PENALIZER,
    FitRecord,
    LifetimeFitError,
    ModelChoice,
    RescuedFit,
    choose_purchase_model,
    fit_with_rescue,
    rank_by_aic,
)
from .gammagamma import GammaGammaModel, GammaGammaResults
from .summary import (
    as_table,
    days_per_unit,
    epoch_day,
    purchase_days,
    summarise_orders,
    to_date,
)
from .validation import (
    HoldoutComparison,
    calibration_holdout_summary,
    compare_holdout,
    tracking_data,
)

__all__ = [
    "CUSTOMER_COLUMNS",
    "RETRY_PENALIZER",
    "FitRecord",
    "LifetimeFitError",
    "LifetimeValueResult",
    "estimate_lifetime_value",
]

FORMAT_VERSION = 2
#: Mean length of a calendar quarter, in days.
_DAYS_PER_QUARTER = 365.25 / 4.0
#: CLV sums the horizon in months (a third of a quarter), each discounted from its end.
_PERIODS_PER_QUARTER = 3
#: Name of the per-order margin column added to the orders, in whole cents: sums of
#: whole numbers are exact in float64, so they do not depend on the order in which
#: DuckDB's threads add them up (currency amounts summed directly do, in the last bits).
_MARGIN = "_lifetime_margin_cents"
_CENTS = 100.0

_REQUIRED_FITS = ("transaction", "spend")  # plus "holdout_transaction" where the holdout check could be made
_FRAMES = ("customers", "holdout_customers", "holdout_by_frequency", "tracking", "model_comparison", "p_alive_history")
#: A holdout check needs at least this many customers in the calibration period.
_MIN_CALIBRATION_CUSTOMERS = 10

#: Columns of :attr:`LifetimeValueResult.customers` (indexed by ``customer_id``), in order.
CUSTOMER_COLUMNS = (
    "frequency",
    "recency",
    "T",
    "monetary_value",
    "p_alive",
    "expected_purchases",
    "expected_margin_per_purchase",
    "margin_source",
    "clv",
    "future_value_rank",
    "ended",
)

#: Where ``expected_margin_per_purchase`` comes from (column ``margin_source``).
MARGIN_SOURCES = {
    "gamma_gamma": "Gamma-Gamma conditional expectation (repeat buyer with a positive mean margin)",
    "population": "population mean of the spend model (no repeat purchase yet, or a spend model with one rate for all)",
    "own_mean": "the customer's own mean margin (a spend model in which purchases do not vary around it)",
    "nonpositive_mean": (
        "zero or negative mean repeat margin, weighted against the population mean with the Gamma-Gamma "
        "weights (outside the model, which describes positive values only)"
    ),
}


class LifetimeValueResult:
    """Per-customer lifetime value with the fits and checks behind it (immutable).

    Build one with :func:`estimate_lifetime_value`, or read one back with :meth:`load`.
    Frames are returned as copies.

    Attributes
    ----------
    customers : pandas.DataFrame
        Indexed by ``customer_id`` (sorted), one row per customer with a purchase on or
        before ``as_of``: ``frequency`` (repeat purchase days), ``recency``, ``T`` (in
        the time unit), ``monetary_value`` (mean margin of the repeat purchase days),
        ``p_alive``, ``expected_purchases`` (over the horizon, undiscounted),
        ``expected_margin_per_purchase``, ``margin_source`` (see
        :data:`MARGIN_SOURCES`), ``clv`` (discounted), ``future_value_rank`` (0 =
        lowest ``clv``, 1 = highest; ties share the mean rank) and ``ended``
        (``ended_on`` on or before ``as_of``; the model's numbers are not overridden).
    transaction_fit, spend_fit : FitRecord
        The purchase model and the spend model, each possibly the nested model at a
        boundary of the parameter space (see ``FitRecord.boundary``).
    holdout_fit : FitRecord or None
        The purchase model refitted on the calibration period; ``None`` when the
        holdout check could not be made (then ``warnings`` says why).
    holdout : HoldoutComparison or None
        Predicted against actual purchases in the holdout period, per customer and by
        calibration-frequency group, with the MAE.
    tracking : pandas.DataFrame
        Weekly cumulative repeat purchases of the calibration cohort, actual and
        expected (from the calibration fit); empty without a holdout check.
    model_comparison : pandas.DataFrame
        The purchase models compared (see
        :class:`~custvalue.lifetime.fitting.ModelChoice`), one row per candidate.
    p_alive_history : pandas.DataFrame
        P(alive) at earlier dates (one column per ISO date), from each customer's
        history up to that date and this fit's parameters.
    settings : LifetimeSettings
    as_of, calibration_end : datetime.date
    info : dict
        Counts and context: customers without orders, spend-model customers, customers
        with a non-positive mean margin, the naive holdout MAE, how the purchase model
        was chosen, etc.
    notes : tuple of str
        Everything the reader should know about how this result was obtained
        (boundaries, retries with a penalizer).
    warnings : tuple of str
        Diagnostics that could not be made, with the reason (the review goes on).
    """

    __slots__ = (
        "_customers", "_holdout_customers", "_holdout_by_frequency", "_tracking", "_model_comparison",
        "_p_alive_history", "_fits", "_settings", "_as_of", "_calibration_end", "_info", "_notes", "_warnings",
    )  # fmt: skip

    def __init__(
        self,
        *,
        customers: pd.DataFrame,
        holdout_customers: pd.DataFrame,
        holdout_by_frequency: pd.DataFrame,
        tracking: pd.DataFrame,
        model_comparison: pd.DataFrame,
        p_alive_history: pd.DataFrame,
        fits: dict[str, FitRecord],
        settings: LifetimeSettings,
        as_of: dt.date,
        calibration_end: dt.date,
        info: dict,
        notes: tuple[str, ...] = (),
        warnings: tuple[str, ...] = (),
    ) -> None:
        frames = (customers, holdout_customers, holdout_by_frequency, tracking, model_comparison, p_alive_history)
        for name, frame in zip(_FRAMES, frames):
            object.__setattr__(self, f"_{name}", frame.copy(deep=False))
        missing = [role for role in _REQUIRED_FITS if role not in fits]
        if missing:
            raise ValueError(f"fits missing: {missing}")
        object.__setattr__(self, "_fits", dict(fits))
        object.__setattr__(self, "_settings", settings)
        object.__setattr__(self, "_as_of", to_date(as_of))
        object.__setattr__(self, "_calibration_end", to_date(calibration_end))
        object.__setattr__(self, "_info", json.loads(json.dumps(info)))
        object.__setattr__(self, "_notes", tuple(str(n) for n in notes))
        object.__setattr__(self, "_warnings", tuple(str(w) for w in warnings))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __repr__(self) -> str:
        check = f"holdout MAE {self.holdout_mae:.3f}" if self.holdout_fit is not None else "no holdout check"
        return (
            f"<LifetimeValueResult as of {self._as_of}: {len(self._customers):,} customers, "
            f"{self.transaction_fit.model} + {self.spend_fit.model}, {check}>"
        )

    # ------------------------------------------------------------------ the frames

    @property
    def customers(self) -> pd.DataFrame:
        return self._customers.copy(deep=False)

    @property
    def tracking(self) -> pd.DataFrame:
        return self._tracking.copy(deep=False)

    @property
    def model_comparison(self) -> pd.DataFrame:
        return self._model_comparison.copy(deep=False)

    @property
    def p_alive_history(self) -> pd.DataFrame:
        return self._p_alive_history.copy(deep=False)

    @property
    def holdout(self) -> HoldoutComparison | None:
        if self.holdout_fit is None:
            return None
        return HoldoutComparison(
            per_customer=self._holdout_customers.set_index("customer_id"),
            by_frequency=self._holdout_by_frequency.set_index("frequency"),
            mae=self.holdout_mae,
        )

    @property
    def holdout_mae(self) -> float:
        """Mean absolute error of the per-customer holdout predictions (purchases); NaN without a holdout check."""
        value = self._info.get("holdout_mae")
        return float("nan") if value is None else float(value)

    # ------------------------------------------------------------------ fits

    @property
    def transaction_fit(self) -> FitRecord:
        return self._fits["transaction"]

    @property
    def spend_fit(self) -> FitRecord:
        return self._fits["spend"]

    @property
    def holdout_fit(self) -> FitRecord | None:
        return self._fits.get("holdout_transaction")

    @property
    def transaction_params(self) -> pd.Series:
        return self.transaction_fit.params

    @property
    def spend_params(self) -> pd.Series:
        return self.spend_fit.params

    @property
    def transaction_summary(self) -> str:
        return self.transaction_fit.summary_text

    @property
    def spend_summary(self) -> str:
        return self.spend_fit.summary_text

    @property
    def transaction_results(self) -> FitResults:
        """The purchase model's estimates as a results object (predictions and plots)."""
        return self.transaction_fit.results()

    @property
    def spend_results(self) -> FitResults:
        return self.spend_fit.results()

    @property
    def retried(self) -> bool:
        """Whether any fit needed the retry with a penalizer."""
        return any(fit.retried for fit in self._fits.values())

    @property
    def boundaries(self) -> tuple[str, ...]:
        """The boundaries of the fits the review uses, in words (purchase model first)."""
        return tuple(fit.boundary for fit in (self.transaction_fit, self.spend_fit) if fit.boundary)

    # ------------------------------------------------------------------ context

    @property
    def settings(self) -> LifetimeSettings:
        return self._settings

    @property
    def as_of(self) -> dt.date:
        return self._as_of

    @property
    def calibration_end(self) -> dt.date:
        return self._calibration_end

    @property
    def info(self) -> dict:
        return json.loads(json.dumps(self._info))

    @property
    def notes(self) -> tuple[str, ...]:
        return self._notes

    @property
    def warnings(self) -> tuple[str, ...]:
        return self._warnings

    @property
    def horizon(self) -> float:
        """The CLV horizon in the model's time unit."""
        return self._settings.horizon_quarters * _DAYS_PER_QUARTER / days_per_unit(self._settings.time_unit)

    # ------------------------------------------------------------------ text

    def summary(self) -> str:
        """A plain-text summary: settings, fits, holdout check and the value distribution."""
        s, info, frame = self._settings, self._info, self._customers
        unit = {"W": "weeks", "D": "days"}[s.time_unit]
        width = 72
        lines = ["Customer lifetime value".center(width), "=" * width]
        lines.append(
            f"As of {self._as_of}    horizon {s.horizon_quarters} quarters ({self.horizon:.1f} {unit})    "
            f"discount {s.discount_rate_annual:.1%} a year"
        )
        lines.append(f"Customers: {len(frame):,} with orders ({info['customers_without_orders']:,} without orders left out)")
        lines.append("-" * width)
        for record in (self.transaction_fit, self.spend_fit):
            lines.append(record.summary_text)
        lines.append("-" * width)
        if self.holdout_fit is not None:
            lines.append(
                f"Holdout: {self.holdout_fit.model} refitted up to {self._calibration_end}, predicting to {self._as_of}: "
                f"mean absolute error {self.holdout_mae:.3f} purchases per customer "
                f"(naive own-rate forecast {info['naive_holdout_mae']:.3f}; actual mean {info['holdout_actual_mean']:.3f})"
            )
        else:
            lines.append("Holdout: no check could be made (see the warnings below)")
        lines.append(f"Purchase model chosen: {info.get('purchase_model_choice', '')}")
        lines.append("-" * width)
        clv = frame["clv"]
        lines.append(
            f"CLV total {clv.sum():,.0f}; median {clv.median():,.2f}; top 10% of customers hold "
            f"{_top_share(clv, 0.10):.0%} of positive value; {int((clv < 0).sum()):,} customers have a negative CLV"
        )
        lines.append(
            f"P(alive) below 0.3: {int((frame['p_alive'] < 0.3).sum()):,} customers; "
            f"repeat customers with a zero or negative mean margin: {info['customers_nonpositive_margin']:,}"
        )
        for note in self._notes:
            lines.append(f"Note: {note}")
        for warning in self._warnings:
            lines.append(f"Warning: {warning}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ files

    def save(self, folder: Path | str) -> Path:
        """Write the result to ``folder`` atomically (Parquet frames + ``result.json``):
        readers see the previous result or the new one, never a mix."""
        frames = {name: getattr(self, f"_{name}") for name in _FRAMES}
        for name in ("customers", "p_alive_history"):
            frames[name] = frames[name].reset_index()
        metadata = {
            "as_of": self._as_of.isoformat(),
            "calibration_end": self._calibration_end.isoformat(),
            "settings": dataclasses.asdict(self._settings),
            "fits": {role: record.to_dict() for role, record in self._fits.items()},
            "info": self._info,
            "notes": list(self._notes),
            "warnings": list(self._warnings),
        }
        return save_result(folder, frames, metadata, FORMAT_VERSION)

    @classmethod
    def load(cls, folder: Path | str) -> "LifetimeValueResult":
        """Read a result written by :meth:`save`."""
        frames, meta = load_result(folder, _FRAMES, "lifetime-value", FORMAT_VERSION)
        for name in ("customers", "p_alive_history"):
            frames[name] = frames[name].set_index("customer_id")
        return cls(
            **frames,
            fits={role: FitRecord.from_dict(record) for role, record in meta["fits"].items()},
            settings=LifetimeSettings(**meta["settings"]),
            as_of=dt.date.fromisoformat(meta["as_of"]),
            calibration_end=dt.date.fromisoformat(meta["calibration_end"]),
            info=meta["info"],
            notes=tuple(meta["notes"]),
            warnings=tuple(meta["warnings"]),
        )


# ---------------------------------------------------------------------- estimation


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
    quarter = _DAYS_PER_QUARTER / unit_days
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


def _top_share(values: pd.Series, share: float) -> float:
    positive = np.sort(np.clip(values.to_numpy(dtype=float), 0.0, None))[::-1]
    total = positive.sum()
    if total <= 0:
        return float("nan")
    return float(positive[: max(1, math.ceil(share * len(positive)))].sum() / total)


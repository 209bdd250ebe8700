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
from pathlib import Path

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from custvalue.config import LifetimeSettings
from custvalue.errors import PipelineError
from custvalue.stored import load_result, save_result

from ._mle import ConvergenceError, FitResults
from .bgnbd import BetaGeoModel, BetaGeoResults
from .clv import customer_lifetime_value
from .gammagamma import GammaGammaModel, GammaGammaResults
from .paretonbd import ParetoNBDModel, ParetoNBDResults
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

FORMAT_VERSION = 1
#: Penalizer of the one retry after a fit that did not converge (or ten times the
#: configured one, if that is larger).
RETRY_PENALIZER = 0.001
#: Mean length of a calendar quarter, in days.
_DAYS_PER_QUARTER = 365.25 / 4.0
#: CLV sums the horizon in months (a third of a quarter), each discounted from its end.
_PERIODS_PER_QUARTER = 3
#: Name of the per-order margin column added to the orders, in whole cents: sums of
#: whole numbers are exact in float64, so they do not depend on the order in which
#: DuckDB's threads add them up (currency amounts summed directly do, in the last bits).
_MARGIN = "_lifetime_margin_cents"
_CENTS = 100.0

_TRANSACTION_MODELS = {"bgnbd": BetaGeoModel, "paretonbd": ParetoNBDModel}
_RESULTS_CLASSES = {"BG/NBD": BetaGeoResults, "Pareto/NBD": ParetoNBDResults, "Gamma-Gamma": GammaGammaResults}
_FITS = ("transaction", "spend", "holdout_transaction")
_FRAMES = ("customers", "holdout_customers", "holdout_by_frequency", "tracking")

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
    "population": "Gamma-Gamma population mean (no repeat purchase yet)",
    "nonpositive_mean": (
        "zero or negative mean repeat margin, weighted against the population mean with the Gamma-Gamma "
        "weights (outside the model, which describes positive values only)"
    ),
}


class LifetimeFitError(PipelineError, ConvergenceError):
    """A lifetime model did not converge, even after the retry with a penalizer."""


@dataclasses.dataclass(frozen=True)
class FitRecord:
    """How one model was fitted, and its estimates (what is kept of a fit).

    Attributes
    ----------
    role : {"transaction", "spend", "holdout_transaction"}
        The purchase model on all data, the Gamma-Gamma spend model, or the purchase
        model refitted on the calibration period for the holdout check.
    model : str
        ``"BG/NBD"``, ``"Pareto/NBD"`` or ``"Gamma-Gamma"``.
    parameters : pandas.DataFrame
        Indexed by parameter: ``estimate``, ``std_err``, ``ci_lower``, ``ci_upper``
        (95 %, Wald on the log scale).
    penalizer : float
        The L2 penalizer of the fit that was kept.
    retried : bool
        Whether the first fit (configured penalizer) failed to converge and the kept fit
        is the retry with a larger penalizer (purchase models only).
    first_error : str
        The first fit's error message when ``retried``; empty otherwise.
    llf, aic, bic, nobs : float
        Log-likelihood, information criteria and number of customers.
    iterations : int
    summary_text : str
        The fit's ``summary()``.
    """

    role: str
    model: str
    parameters: pd.DataFrame
    penalizer: float
    retried: bool
    first_error: str
    llf: float
    aic: float
    bic: float
    nobs: float
    iterations: int
    summary_text: str

    @classmethod
    def from_fit(cls, role: str, fit: FitResults, *, retried: bool, first_error: str) -> "FitRecord":
        ci = fit.conf_int(0.05)
        parameters = pd.DataFrame(
            {
                "estimate": fit.params.to_numpy(dtype=float),
                "std_err": fit.bse.to_numpy(dtype=float),
                "ci_lower": ci["lower"].to_numpy(dtype=float),
                "ci_upper": ci["upper"].to_numpy(dtype=float),
            },
            index=pd.Index(list(fit.params.index), name="parameter"),
        )
        return cls(
            role=role,
            model=fit.model_name,
            parameters=parameters,
            penalizer=float(fit.penalizer),
            retried=retried,
            first_error=first_error,
            llf=float(fit.llf),
            aic=float(fit.aic),
            bic=float(fit.bic),
            nobs=float(fit.nobs),
            iterations=int(fit.iterations),
            summary_text=fit.summary(),
        )

    @property
    def params(self) -> pd.Series:
        """The estimates by parameter name."""
        return self.parameters["estimate"].rename(None).copy()

    def results(self) -> FitResults:
        """A results object carrying these estimates, for predictions and plots (no standard errors)."""
        return _RESULTS_CLASSES[self.model].from_params(self.params, model_name=self.model)

    def to_dict(self) -> dict:
        return {
            "role": self.role,
            "model": self.model,
            "parameters": {
                name: {column: float(value) for column, value in row.items()} for name, row in self.parameters.iterrows()
            },
            "penalizer": self.penalizer,
            "retried": self.retried,
            "first_error": self.first_error,
            "llf": self.llf,
            "aic": self.aic,
            "bic": self.bic,
            "nobs": self.nobs,
            "iterations": self.iterations,
            "summary_text": self.summary_text,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "FitRecord":
        parameters = pd.DataFrame.from_dict(data["parameters"], orient="index")
        parameters = parameters[["estimate", "std_err", "ci_lower", "ci_upper"]].astype("float64")
        parameters.index = pd.Index(list(parameters.index), name="parameter")
        fields = {k: data[k] for k in ("role", "model", "first_error", "summary_text")}
        numbers = {k: float(data[k]) for k in ("penalizer", "llf", "aic", "bic", "nobs")}
        return cls(parameters=parameters, retried=bool(data["retried"]), iterations=int(data["iterations"]), **fields, **numbers)


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
    transaction_fit, spend_fit, holdout_fit : FitRecord
        The purchase model, the Gamma-Gamma spend model, and the purchase model refitted
        on the calibration period.
    holdout : HoldoutComparison
        Predicted against actual purchases in the holdout period, per customer and by
        calibration-frequency group, with the MAE.
    tracking : pandas.DataFrame
        Weekly cumulative repeat purchases of the calibration cohort, actual and
        expected (from the calibration fit).
    settings : LifetimeSettings
    as_of, calibration_end : datetime.date
    info : dict
        Counts and context: customers without orders, Gamma-Gamma customers, customers
        with a non-positive mean margin, the naive holdout MAE, etc.
    notes : tuple of str
        Everything the reader should know about how this result was obtained
        (retries with a penalizer, in particular).
    """

    __slots__ = (
        "_customers", "_holdout_customers", "_holdout_by_frequency", "_tracking",
        "_fits", "_settings", "_as_of", "_calibration_end", "_info", "_notes",
    )  # fmt: skip

    def __init__(
        self,
        *,
        customers: pd.DataFrame,
        holdout_customers: pd.DataFrame,
        holdout_by_frequency: pd.DataFrame,
        tracking: pd.DataFrame,
        fits: dict[str, FitRecord],
        settings: LifetimeSettings,
        as_of: dt.date,
        calibration_end: dt.date,
        info: dict,
        notes: tuple[str, ...] = (),
    ) -> None:
        for name, frame in zip(_FRAMES, (customers, holdout_customers, holdout_by_frequency, tracking)):
            object.__setattr__(self, f"_{name}", frame.copy(deep=False))
        missing = [role for role in _FITS if role not in fits]
        if missing:
            raise ValueError(f"fits missing: {missing}")
        object.__setattr__(self, "_fits", dict(fits))
        object.__setattr__(self, "_settings", settings)
        object.__setattr__(self, "_as_of", to_date(as_of))
        object.__setattr__(self, "_calibration_end", to_date(calibration_end))
        object.__setattr__(self, "_info", json.loads(json.dumps(info)))
        object.__setattr__(self, "_notes", tuple(str(n) for n in notes))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __repr__(self) -> str:
        return (
            f"<LifetimeValueResult as of {self._as_of}: {len(self._customers):,} customers, "
            f"{self.transaction_fit.model} + Gamma-Gamma, holdout MAE {self.holdout_mae:.3f}>"
        )

    # ------------------------------------------------------------------ the frames

    @property
    def customers(self) -> pd.DataFrame:
        return self._customers.copy(deep=False)

    @property
    def tracking(self) -> pd.DataFrame:
        return self._tracking.copy(deep=False)

    @property
    def holdout(self) -> HoldoutComparison:
        return HoldoutComparison(
            per_customer=self._holdout_customers.set_index("customer_id"),
            by_frequency=self._holdout_by_frequency.set_index("frequency"),
            mae=float(self._info["holdout_mae"]),
        )

    @property
    def holdout_mae(self) -> float:
        """Mean absolute error of the per-customer holdout predictions (purchases)."""
        return float(self._info["holdout_mae"])

    # ------------------------------------------------------------------ fits

    @property
    def transaction_fit(self) -> FitRecord:
        return self._fits["transaction"]

    @property
    def spend_fit(self) -> FitRecord:
        return self._fits["spend"]

    @property
    def holdout_fit(self) -> FitRecord:
        return self._fits["holdout_transaction"]

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
    def spend_results(self) -> GammaGammaResults:
        return self.spend_fit.results()

    @property
    def retried(self) -> bool:
        """Whether any fit needed the retry with a penalizer."""
        return any(fit.retried for fit in self._fits.values())

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
        lines.append(
            f"Holdout: {self.holdout_fit.model} refitted up to {self._calibration_end}, predicting to {self._as_of}: "
            f"mean absolute error {self.holdout_mae:.3f} purchases per customer "
            f"(naive own-rate forecast {info['naive_holdout_mae']:.3f}; actual mean {info['holdout_actual_mean']:.3f})"
        )
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
        return "\n".join(lines)

    # ------------------------------------------------------------------ files

    def save(self, folder: Path | str) -> Path:
        """Write the result to ``folder`` atomically (Parquet frames + ``result.json``):
        readers see the previous result or the new one, never a mix."""
        frames = {name: getattr(self, f"_{name}") for name in _FRAMES}
        frames["customers"] = frames["customers"].reset_index()
        metadata = {
            "as_of": self._as_of.isoformat(),
            "calibration_end": self._calibration_end.isoformat(),
            "settings": dataclasses.asdict(self._settings),
            "fits": {role: record.to_dict() for role, record in self._fits.items()},
            "info": self._info,
            "notes": list(self._notes),
        }
        return save_result(folder, frames, metadata, FORMAT_VERSION)

    @classmethod
    def load(cls, folder: Path | str) -> "LifetimeValueResult":
        """Read a result written by :meth:`save`."""
        frames, meta = load_result(folder, _FRAMES, "lifetime-value", FORMAT_VERSION)
        frames["customers"] = frames["customers"].set_index("customer_id")
        return cls(
            **frames,
            fits={role: FitRecord.from_dict(record) for role, record in meta["fits"].items()},
            settings=LifetimeSettings(**meta["settings"]),
            as_of=dt.date.fromisoformat(meta["as_of"]),
            calibration_end=dt.date.fromisoformat(meta["calibration_end"]),
            info=meta["info"],
            notes=tuple(meta["notes"]),
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
        Time unit, horizon, discount rate, purchase model and penalizer.
    holdout_quarters : int, default 2
        Length of the holdout period: the purchase model is refitted on the orders up to
        this many quarters before ``as_of`` and its forecast compared with what happened.
    max_frequency : int, optional
        Customers with at least this many calibration repeat purchases form the last
        group of the holdout comparison. Default: the calibration frequencies' 75th
        percentile, kept within 7..30.

    Returns
    -------
    LifetimeValueResult

    Raises
    ------
    LifetimeFitError
        If the purchase model (on all data, or on the calibration period) does not
        converge with ``settings.penalizer`` nor on the one retry with a penalizer of
        ``max(0.001, 10 x settings.penalizer)``; or the Gamma-Gamma model (always
        fitted without a penalty) does not converge or has ``q <= 1``.
    ValueError
        If there are no orders by ``as_of`` or before the holdout period, or the orders
        name customers that ``customers`` lacks.
    """
    settings.validate("lifetime")
    if int(holdout_quarters) != holdout_quarters or holdout_quarters < 1:
        raise ValueError("holdout_quarters must be a positive whole number")
    as_of = to_date(as_of)
    unit = settings.time_unit
    notes: list[str] = []
    table = _with_margin(orders)

    summary = _in_currency(summarise_orders(table, as_of, unit=unit, value=_MARGIN))
    if summary.empty:
        raise ValueError(f"no orders on or before {as_of}: nothing to fit")
    known = pd.Index(customers["customer_id"].astype(str))
    unknown = summary.index.difference(known)
    if len(unknown):
        raise ValueError(
            f"orders name {len(unknown):,} customer(s) missing from customers, e.g. {', '.join(map(str, unknown[:3]))}"
        )

    transaction_class = _TRANSACTION_MODELS[settings.transaction_model]
    transaction, transaction_record = _fit_with_retry(
        "transaction", lambda penalizer: transaction_class.from_summary(summary, penalizer=penalizer), settings.penalizer, notes
    )

    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    if repeat.empty:
        raise ValueError("no repeat customer with a positive mean margin: the Gamma-Gamma model cannot be fitted")
    # No penalty on the spend model: its gamma is in currency units, so an L2 penalty
    # on it would depend on the currency; maximum likelihood is scale-free.
    try:
        spend = GammaGammaModel(repeat["frequency"], repeat["monetary_value"]).fit()
    except ConvergenceError as error:
        raise LifetimeFitError(f"lifetime value: the spend model (Gamma-Gamma) did not converge: {_one_line(error)}") from error
    spend_record = FitRecord.from_fit("spend", spend, retried=False, first_error="")
    if not spend.params["q"] > 1.0:
        raise LifetimeFitError(
            f"lifetime value: the Gamma-Gamma fit has q = {spend.params['q']:.3f} <= 1, so the mean margin per purchase "
            "is infinite; margins are too heavy-tailed for the model"
        )

    frame = _value_customers(summary, transaction, spend, settings)
    ended_on = pd.to_datetime(customers.set_index(customers["customer_id"].astype(str))["ended_on"]) if "ended_on" in customers else None
    if ended_on is not None:
        ended = ended_on.reindex(frame.index).to_numpy()
        frame["ended"] = pd.notna(ended) & (ended <= np.datetime64(as_of))
    else:
        frame["ended"] = False
    frame = frame[list(CUSTOMER_COLUMNS)]

    calibration_end = _quarters_before(as_of, int(holdout_quarters))
    calibration = _in_currency(calibration_holdout_summary(table, calibration_end, as_of, unit=unit, value=_MARGIN))
    if calibration.empty:
        raise ValueError(f"no orders on or before {calibration_end}: no calibration period for the holdout check")
    holdout_model, holdout_record = _fit_with_retry(
        "holdout_transaction",
        lambda penalizer: transaction_class.from_summary(calibration, penalizer=penalizer),
        settings.penalizer,
        notes,
    )
    if max_frequency is None:
        max_frequency = int(np.clip(round(float(calibration["frequency"].quantile(0.75))), 7, 30))
    comparison = compare_holdout(holdout_model, calibration, max_frequency=int(max_frequency))
    own_rate = np.where(calibration["T"] > 0, calibration["frequency"] / calibration["T"].where(calibration["T"] > 0, 1.0), 0.0)
    naive_mae = float(np.mean(np.abs(own_rate * calibration["duration_holdout"] - calibration["frequency_holdout"])))
    tracking = _weekly_tracking(table, holdout_model, calibration_end, as_of, unit)

    n_population = int(customers["customer_id"].astype(str).nunique())
    info = {
        "customers": int(len(frame)),
        "customers_without_orders": n_population - int(len(frame)),
        "customers_gamma_gamma": int(len(repeat)),
        "customers_nonpositive_margin": int((frame["margin_source"] == "nonpositive_mean").sum()),
        "customers_ended": int(frame["ended"].sum()),
        "holdout_quarters": int(holdout_quarters),
        "holdout_customers": int(len(calibration)),
        "holdout_max_frequency": int(max_frequency),
        "holdout_mae": float(comparison.mae),
        "naive_holdout_mae": naive_mae,
        "holdout_actual_mean": float(comparison.per_customer["actual"].mean()),
        "holdout_predicted_mean": float(comparison.per_customer["predicted"].mean()),
        "horizon_periods": int(settings.horizon_quarters * _PERIODS_PER_QUARTER),
        "margin_definition": "revenue - cost_of_goods - returned_value, summed per purchase day",
    }
    return LifetimeValueResult(
        customers=frame,
        holdout_customers=comparison.per_customer.reset_index(),
        holdout_by_frequency=_by_frequency_frame(comparison.by_frequency),
        tracking=tracking,
        fits={"transaction": transaction_record, "spend": spend_record, "holdout_transaction": holdout_record},
        settings=settings,
        as_of=as_of,
        calibration_end=calibration_end,
        info=info,
        notes=tuple(notes),
    )


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


def _fit_with_retry(role: str, build, penalizer: float, notes: list[str]):
    """Fit ``build(penalizer)``; on ConvergenceError retry once with a larger penalizer.

    The retry is recorded in the returned :class:`FitRecord` and in ``notes``; a second
    failure raises :class:`LifetimeFitError` quoting both errors.
    """
    try:
        fit = build(penalizer).fit()
        return fit, FitRecord.from_fit(role, fit, retried=False, first_error="")
    except ConvergenceError as first:
        first_error = _one_line(first)
    retry = max(RETRY_PENALIZER, 10.0 * penalizer)
    try:
        fit = build(retry).fit()
    except ConvergenceError as second:
        raise LifetimeFitError(
            f"lifetime value: the {_ROLE_LABELS[role]} did not converge with penalizer {penalizer:g} ({first_error}) "
            f"nor with penalizer {retry:g} ({_one_line(second)}); set lifetime.penalizer in the configuration "
            "or choose the other transaction_model"
        ) from second
    notes.append(
        f"The {_ROLE_LABELS[role]} ({fit.model_name}) did not converge with penalizer {penalizer:g} and was refitted "
        f"with penalizer {retry:g}. The penalty pulls the parameters towards zero; where the data do not identify a "
        f"parameter, the penalty decides its value. First error: {first_error}"
    )
    return fit, FitRecord.from_fit(role, fit, retried=True, first_error=first_error)


_ROLE_LABELS = {
    "transaction": "purchase model",
    "holdout_transaction": "purchase model of the holdout check",
}


def _value_customers(summary: pd.DataFrame, transaction: FitResults, spend: GammaGammaResults, settings: LifetimeSettings) -> pd.DataFrame:
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


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())

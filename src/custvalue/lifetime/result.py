"""The saveable result of the lifetime-value step: :class:`LifetimeValueResult`.

:func:`~custvalue.lifetime.estimate.estimate_lifetime_value` builds it; the pipeline
saves it next to the quarter's scorecard and the ``lifetime_value`` report page reads it
back with :meth:`LifetimeValueResult.load`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from custvalue.config import LifetimeSettings
from custvalue.frozen import FrozenResult
from custvalue.stored import load_result, save_result

from ._mle import FitResults
from .fitting import FitRecord
from .summary import days_per_unit, to_date
from .validation import HoldoutComparison

__all__ = ["CUSTOMER_COLUMNS", "DAYS_PER_QUARTER", "MARGIN_SOURCES", "LifetimeValueResult"]

FORMAT_VERSION = 2
#: Mean length of a calendar quarter, in days.
DAYS_PER_QUARTER = 365.25 / 4.0

_REQUIRED_FITS = ("transaction", "spend")  # plus "holdout_transaction" where the holdout check could be made
_FRAMES = ("customers", "holdout_customers", "holdout_by_frequency", "tracking", "model_comparison", "p_alive_history")
_INDEXED_BY_CUSTOMER = ("customers", "p_alive_history")

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


@dataclass(frozen=True, repr=False)
class LifetimeValueResult(FrozenResult):
    """Per-customer lifetime value with the fits and checks behind it (immutable).

    Build one with :func:`~custvalue.lifetime.estimate.estimate_lifetime_value`, or read
    one back with :meth:`load`. Frames are handed out as copies.

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
    holdout_customers, holdout_by_frequency : pandas.DataFrame
        The holdout comparison's frames (empty without a holdout check); see
        :attr:`holdout`.
    tracking : pandas.DataFrame
        Weekly cumulative repeat purchases of the calibration cohort, actual and
        expected (from the calibration fit); empty without a holdout check.
    model_comparison : pandas.DataFrame
        The purchase models compared (see
        :class:`~custvalue.lifetime.fitting.ModelChoice`), one row per candidate.
    p_alive_history : pandas.DataFrame
        P(alive) at earlier dates (one column per ISO date), from each customer's
        history up to that date and this fit's parameters.
    fits : dict of str to FitRecord
        ``transaction`` and ``spend`` (each possibly the nested model at a boundary of
        the parameter space, see ``FitRecord.boundary``), and ``holdout_transaction``
        where the holdout check could be made.
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

    customers: pd.DataFrame
    holdout_customers: pd.DataFrame
    holdout_by_frequency: pd.DataFrame
    tracking: pd.DataFrame
    model_comparison: pd.DataFrame
    p_alive_history: pd.DataFrame
    fits: dict[str, FitRecord]
    settings: LifetimeSettings
    as_of: dt.date
    calibration_end: dt.date
    info: dict
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        missing = [role for role in _REQUIRED_FITS if role not in self.fits]
        if missing:
            raise ValueError(f"fits missing: {missing}")
        object.__setattr__(self, "as_of", to_date(self.as_of))
        object.__setattr__(self, "calibration_end", to_date(self.calibration_end))
        # Through JSON: the info is saved as JSON, so it holds only what survives a round trip.
        object.__setattr__(self, "info", json.loads(json.dumps(self.info)))
        object.__setattr__(self, "notes", tuple(str(n) for n in self.notes))
        object.__setattr__(self, "warnings", tuple(str(w) for w in self.warnings))

    def __repr__(self) -> str:
        check = f"holdout MAE {self.holdout_mae:.3f}" if self.holdout_fit is not None else "no holdout check"
        return (
            f"<LifetimeValueResult as of {self.as_of}: {len(self.customers):,} customers, "
            f"{self.transaction_fit.model} + {self.spend_fit.model}, {check}>"
        )

    # ------------------------------------------------------------------ checks

    @property
    def holdout(self) -> HoldoutComparison | None:
        """Predicted against actual purchases in the holdout period, per customer and by
        calibration-frequency group, with the MAE; ``None`` without a holdout check."""
        if self.holdout_fit is None:
            return None
        return HoldoutComparison(
            per_customer=self.holdout_customers.set_index("customer_id"),
            by_frequency=self.holdout_by_frequency.set_index("frequency"),
            mae=self.holdout_mae,
        )

    @property
    def holdout_mae(self) -> float:
        """Mean absolute error of the per-customer holdout predictions (purchases); NaN without a holdout check."""
        value = self.info.get("holdout_mae")
        return float("nan") if value is None else float(value)

    # ------------------------------------------------------------------ fits

    @property
    def transaction_fit(self) -> FitRecord:
        """The purchase model the review uses."""
        return self.fits["transaction"]

    @property
    def spend_fit(self) -> FitRecord:
        """The spend model (margin per purchase)."""
        return self.fits["spend"]

    @property
    def holdout_fit(self) -> FitRecord | None:
        """The purchase model refitted on the calibration period; ``None`` when the
        holdout check could not be made (then ``warnings`` says why)."""
        return self.fits.get("holdout_transaction")

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
        return any(fit.retried for fit in self.fits.values())

    @property
    def boundaries(self) -> tuple[str, ...]:
        """The boundaries of the fits the review uses, in words (purchase model first)."""
        return tuple(fit.boundary for fit in (self.transaction_fit, self.spend_fit) if fit.boundary)

    @property
    def horizon(self) -> float:
        """The CLV horizon in the model's time unit."""
        return self.settings.horizon_quarters * DAYS_PER_QUARTER / days_per_unit(self.settings.time_unit)

    # ------------------------------------------------------------------ text

    def summary(self) -> str:
        """A plain-text summary: settings, fits, holdout check and the value distribution."""
        s, info, frame = self.settings, self.info, self.customers
        unit = {"W": "weeks", "D": "days"}[s.time_unit]
        width = 72
        lines = ["Customer lifetime value".center(width), "=" * width]
        lines.append(
            f"As of {self.as_of}    horizon {s.horizon_quarters} quarters ({self.horizon:.1f} {unit})    "
            f"discount {s.discount_rate_annual:.1%} a year"
        )
        lines.append(f"Customers: {len(frame):,} with orders ({info['customers_without_orders']:,} without orders left out)")
        lines.append("-" * width)
        for record in (self.transaction_fit, self.spend_fit):
            lines.append(record.summary_text)
        lines.append("-" * width)
        if self.holdout_fit is not None:
            lines.append(
                f"Holdout: {self.holdout_fit.model} refitted up to {self.calibration_end}, predicting to {self.as_of}: "
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
        lines.extend(f"Note: {note}" for note in self.notes)
        lines.extend(f"Warning: {warning}" for warning in self.warnings)
        return "\n".join(lines)

    # ------------------------------------------------------------------ files

    def save(self, folder: Path | str) -> Path:
        """Write the result to ``folder`` atomically (Parquet frames + ``result.json``):
        readers see the previous result or the new one, never a mix."""
        frames = {name: getattr(self, name) for name in _FRAMES}
        for name in _INDEXED_BY_CUSTOMER:
            frames[name] = frames[name].reset_index()
        metadata = {
            "as_of": self.as_of.isoformat(),
            "calibration_end": self.calibration_end.isoformat(),
            "settings": dataclasses.asdict(self.settings),
            "fits": {role: record.to_dict() for role, record in self.fits.items()},
            "info": self.info,
            "notes": list(self.notes),
            "warnings": list(self.warnings),
        }
        return save_result(folder, frames, metadata, FORMAT_VERSION)

    @classmethod
    def load(cls, folder: Path | str) -> LifetimeValueResult:
        """Read a result written by :meth:`save`."""
        frames, meta = load_result(folder, _FRAMES, "lifetime-value", FORMAT_VERSION)
        for name in _INDEXED_BY_CUSTOMER:
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


def _top_share(values: pd.Series, share: float) -> float:
    """Share of the positive total held by the top ``share`` of values."""
    positive = np.sort(np.clip(values.to_numpy(dtype=float), 0.0, None))[::-1]
    total = positive.sum()
    if total <= 0:
        return float("nan")
    return float(positive[: max(1, math.ceil(share * len(positive)))].sum() / total)

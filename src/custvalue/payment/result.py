"""The payment analysis end to end, and its saveable result.

:func:`analyse_payments` builds the invoice ledger in the engine, fits the time-to-payment
models on a seeded sample, computes the collections metrics and judges every customer
in every requested quarter. The :class:`PaymentResult` it returns is immutable and is
written with :meth:`PaymentResult.save` (Parquet and JSON) to
``data/processed/<quarter>/payment/``, from where the report page reads it back with
:meth:`PaymentResult.load`.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
from ibis import _

from custvalue.config import PaymentSettings
from custvalue.engine import Engine, fetch
from custvalue.payment.lateness import (
    lateness_by_customer,
    payment_by_quarter,
    predicted_invoices,
)
from custvalue.payment.ledger import (
    EngineSource,
    as_engine,
    drop_temporary,
    engine_arrow_table,
    has_table,
    invoice_ledger,
    materialise,
    with_history,
)
from custvalue.payment.metrics import collections_metrics
from custvalue.payment.survival import (
    MODEL_COVARIATES,
    MODEL_STRATUM,
    PEER_COVARIATES,
    CoxFit,
    fit_cox,
    fit_sample_expr,
    kaplan_meier,
    load_fits,
    save_fits,
    survival_counts_expr,
    with_covariates,
)
from custvalue.quarters import Quarter
from custvalue.stored import load_result, save_result

FORMAT_VERSION = 1
_FRAMES = ("customers", "segments", "company", "by_quarter", "survival")
_SAMPLE_COLUMNS = (
    "invoice_id", "customer_id", "segment", "duration_days", "paid", "log_employees", "employees_missing",
    "log_amount", "disputed_x", "log_terms", "history_late_x", "history_missing", "model_stratum",
)  # fmt: skip


@dataclass(frozen=True)
class PaymentResult:
    """Payment behaviour at an as-of date.

    Attributes
    ----------
    as_of : datetime.date
        What was known: payments after this date count as not made.
    quarters : tuple of str
        The quarters judged in ``by_quarter``.
    settings : PaymentSettings
        The settings used.
    customers : DataFrame
        One row per customer: ``open_balance`` (receivables at the as-of date, 0 without
        invoices), collections metrics (``dso``, ``dso_countback``,
        ``best_dso``, ``add``, ``add_dso``, ``cei``, aging buckets), lateness over the
        judged quarters (``days_late``, ``peer_days_late``, ``excess_days_shrunk``) and
        the number of flagged quarters.
    segments, company : DataFrame
        The collections metrics per segment and for the company.
    by_quarter : DataFrame
        The verdict, one row per customer and quarter (see
        :mod:`custvalue.payment.lateness`).
    survival : DataFrame
        Kaplan-Meier curves of days to payment by segment.
    fits : dict of str to CoxFit
        ``model`` (with the customer's own history) and ``peers`` (without).
    info : dict
        Sizes and timings of the run.
    """

    as_of: date
    quarters: tuple[str, ...]
    settings: PaymentSettings
    customers: pd.DataFrame
    segments: pd.DataFrame
    company: pd.DataFrame
    by_quarter: pd.DataFrame
    survival: pd.DataFrame
    fits: dict[str, CoxFit]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def model(self) -> CoxFit:
        """The Cox model with the customer's own history."""
        return self.fits["model"]

    @property
    def peers(self) -> CoxFit:
        """The Cox model of what size and segment peers do (no own history)."""
        return self.fits["peers"]

    def summary(self):
        """Summary of the Cox model (``self.model.summary()``)."""
        return self.model.summary()

    def flagged(self, quarter: Quarter | str | None = None) -> pd.DataFrame:
        """Customer-quarters with a late or non-payment flag (one quarter, or all)."""
        rows = self.by_quarter[self.by_quarter["late_flag"] | self.by_quarter["nonpayment_flag"]]
        if quarter is not None:
            rows = rows[rows["quarter"] == str(quarter)]
        return rows.reset_index(drop=True)

    def most_late(self, quarter: Quarter | str | None = None, n: int = 20) -> pd.DataFrame:
        """The ``n`` customer-quarters with the highest shrunk excess lateness (one quarter,
        default the latest judged)."""
        quarter = str(quarter or self.quarters[-1])
        rows = self.by_quarter[(self.by_quarter["quarter"] == quarter) & self.by_quarter["excess_days_shrunk"].notna()]
        return rows.sort_values("excess_days_shrunk", ascending=False).head(n).reset_index(drop=True)

    def save(self, folder: Path | str) -> Path:
        """Write the result to ``folder`` (replaced atomically): one Parquet file per
        table, ``result.json``, the fits in ``cox.json`` and ``cox_summary.txt``."""

        def write_fits(staging: Path) -> None:
            save_fits(self.fits, staging)
            summaries = "\n\n".join(str(fit.summary()) for fit in self.fits.values())
            (staging / "cox_summary.txt").write_text(summaries, encoding="utf-8")

        frames = {name: getattr(self, name) for name in _FRAMES}
        metadata = {
            "as_of": self.as_of.isoformat(),
            "quarters": list(self.quarters),
            "settings": dataclasses.asdict(self.settings),
            "info": self.info,
        }
        return save_result(folder, frames, metadata, FORMAT_VERSION, extra=write_fits)

    @classmethod
    def load(cls, folder: Path | str) -> "PaymentResult":
        """Read a result written by :meth:`save`."""
        frames, meta = load_result(folder, _FRAMES, "payment", FORMAT_VERSION)
        raw = dict(meta["settings"])
        raw["aging_buckets_days"] = tuple(raw["aging_buckets_days"])
        return cls(
            as_of=date.fromisoformat(meta["as_of"]),
            quarters=tuple(meta["quarters"]),
            settings=PaymentSettings(**raw),
            fits=load_fits(Path(folder)),
            info=meta.get("info", {}),
            **frames,
        )


def fit_payment_models(ledger: ibis.Table, settings: PaymentSettings) -> dict[str, CoxFit]:
    """Fit the ``peers`` and ``model`` Cox fits on a seeded sample of the ledger.

    Parameters
    ----------
    ledger : ibis.Table
        Invoice ledger with covariates (:func:`~custvalue.payment.survival.with_covariates`).
    settings : PaymentSettings
        ``fit_sample_cap``, ``seed`` and ``horizon_days``.
    """
    payers = fitting_population(ledger)
    population = int(payers.count().to_pyarrow().as_py())
    chosen = payers if population <= settings.fit_sample_cap else fit_sample_expr(payers, settings.fit_sample_cap, settings.seed)
    sample = fetch(chosen.select(*_SAMPLE_COLUMNS))
    sample = sample.sort_values("invoice_id").reset_index(drop=True)
    common = dict(horizon_days=settings.horizon_days, n_population=population, sample_cap=settings.fit_sample_cap, seed=settings.seed)
    return {
        "model": fit_cox(sample, MODEL_COVARIATES, "model", strata_column=MODEL_STRATUM, **common),
        "peers": fit_cox(sample, PEER_COVARIATES, "peers", **common),
    }


def fitting_population(ledger: ibis.Table) -> ibis.Table:
    """The invoices time to payment is modelled on: all but those written off and never
    paid. A write-off is a different outcome (default), judged as non-payment; kept in,
    it would look like a very slow payment and stretch every expectation."""
    return ledger.filter(ledger.paid | (ledger.written_off <= 0))


def default_quarters(engine: Engine, count: int = 4) -> list[Quarter]:
    """The ``count`` quarters up to the last complete one covered by the invoices."""
    last = engine.table("invoices").issue_date.max().execute()
    if last is None or pd.isna(last):
        raise ValueError("no invoices: cannot choose the quarters to judge")
    latest = Quarter.last_complete(pd.Timestamp(last).date())
    return [latest.shift(-step) for step in range(count - 1, -1, -1)]


def analyse_payments(
    source: EngineSource,
    customers: pd.DataFrame | None = None,
    as_of: date | str | None = None,
    quarters: Sequence[Quarter | str] | None = None,
    settings: PaymentSettings | None = None,
) -> PaymentResult:
    """Analyse payment behaviour: ledger, metrics, time-to-payment models and the verdict.

    Parameters
    ----------
    source : Engine, LoadedData or mapping of DataFrames
        Where the tables are (``invoices``, ``customers``; ``support_tickets`` optional).
    customers : DataFrame, optional
        The customers table: replaces that of a mapping; with an engine (or validated
        data, which hold one), it is used only when the engine has no ``customers`` table.
    as_of : date or ISO string, optional
        What is known (payments later than this are treated as not made). Default: the
        end of the last quarter judged.
    quarters : sequence of Quarter or ``YYYYQn``, optional
        Quarters to judge. Default: the four up to the last complete quarter of invoices.
    settings : PaymentSettings, optional
        Thresholds, periods and model settings (default: the defaults).

    Returns
    -------
    PaymentResult

    Examples
    --------
    >>> result = analyse_payments(engine, quarters=["2026Q1", "2026Q2"])  # doctest: +SKIP
    >>> result.flagged("2026Q2")[["customer_id", "evidence", "repair"]]  # doctest: +SKIP
    >>> result.model.summary()  # doctest: +SKIP
    """
    settings = settings or PaymentSettings()
    settings.validate("payment")
    if customers is not None and isinstance(source, Mapping):
        source = {**source, "customers": customers}
    engine = as_engine(source)
    if customers is not None and not has_table(engine, "customers"):
        engine.connection.create_table("customers", engine_arrow_table("customers", customers))
    chosen = sorted({q if isinstance(q, Quarter) else Quarter.parse(str(q)) for q in quarters}) if quarters else default_quarters(engine)
    as_of_day = pd.Timestamp(as_of).date() if as_of is not None else chosen[-1].end
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 3)
        clock = now

    tag = uuid.uuid4().hex[:10]
    base_name, ledger_name, predicted_name = f"_payment_base_{tag}", f"_payment_ledger_{tag}", f"_payment_predicted_{tag}"
    try:
        base = materialise(engine, invoice_ledger(engine, as_of_day, settings.quarter_by, history=False), base_name)
        ledger = materialise(engine, with_covariates(with_history(base)), ledger_name)
        lap("ledger")
        by_customer = collections_metrics(base, as_of_day, settings, "customer_id")
        segments = collections_metrics(base, as_of_day, settings, "segment")
        company = collections_metrics(base, as_of_day, settings, None)
        drop_temporary(engine, base_name)  # free the engine's memory before the models
        lap("metrics")
        fits = fit_payment_models(ledger, settings)
        lap("cox_fits")
        survival = kaplan_meier(survival_counts_expr(fitting_population(ledger)).execute())
        lap("kaplan_meier")
        labels = [str(q) for q in chosen]
        predicted = materialise(
            engine, predicted_invoices(ledger.filter(_.quarter.isin(labels)), fits, as_of_day), predicted_name
        )
        by_quarter = payment_by_quarter(engine, ledger, fits, as_of_day, chosen, settings, predicted=predicted)
        lateness = lateness_by_customer(predicted, settings)
        lap("verdict")
        n_invoices = int(ledger.count().execute())
    finally:
        drop_temporary(engine, predicted_name)
        drop_temporary(engine, ledger_name)
        drop_temporary(engine, base_name)
    table = _customer_table(engine, by_customer, lateness, by_quarter)
    info = {
        "invoices": n_invoices,
        "customers": int(len(table)),
        "fit_sample": fits["model"].n_obs,
        "seconds": timings,
    }
    return PaymentResult(
        as_of=as_of_day,
        quarters=tuple(str(q) for q in chosen),
        settings=settings,
        customers=table,
        segments=segments,
        company=company,
        by_quarter=by_quarter,
        survival=survival,
        fits=fits,
        info=info,
    )


def _customer_table(engine: Engine, metrics: pd.DataFrame, lateness: pd.DataFrame, by_quarter: pd.DataFrame) -> pd.DataFrame:
    base = engine.table("customers").select("customer_id", "segment", employees=_.employees.cast("int64")).execute()
    base["customer_id"] = base["customer_id"].astype("str")
    base["employees"] = base["employees"].astype("Int64")
    flags = by_quarter.groupby("customer_id").agg(
        late_quarters=("late_flag", "sum"), nonpayment_quarters=("nonpayment_flag", "sum")
    )
    table = base.merge(metrics, on="customer_id", how="left")
    table.insert(table.columns.get_loc("ar"), "open_balance", table["ar"].fillna(0.0))
    lateness = lateness.rename(columns={"judged_invoices": "judged_invoices_window", "open_invoices": "open_invoices_window"})
    table = table.merge(lateness, on="customer_id", how="left")
    table = table.merge(flags, left_on="customer_id", right_index=True, how="left")
    for column in ("late_quarters", "nonpayment_quarters", "invoices", "open_invoices", "judged_invoices_window", "open_invoices_window"):
        table[column] = table[column].fillna(0).astype("int64")
    return table.sort_values("customer_id").reset_index(drop=True)

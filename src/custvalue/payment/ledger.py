"""Per invoice, as known at an as-of date: days to pay, days late, balances and quarter.

An invoice is *settled* when its ``paid_date`` is on or before the as-of date. Everything
else issued by then is *open* at the as-of date, and its time to payment is *censored*:
we know only that it was not paid within ``duration_days``. Open invoices are never
dropped, and never averaged as if they had been paid on the as-of date without saying
so: ``days_late`` of an open invoice is the lateness *so far* (a lower bound), and the
models in :mod:`custvalue.payment.survival` turn it into an expectation.

Columns of :func:`invoice_ledger` (one row per invoice issued on or before the as-of date):

=======================  ===============================================================
``invoice_id``           the key
``customer_id``          with the customer's ``segment`` and ``employees``
``issue_date``           dates (``date``); ``paid_date`` is empty when open at as-of
``due_date, paid_date``
``amount``               invoiced amount
``paid_amount``          as recorded (part payments of open invoices included)
``written_off``          bad debt recorded on the invoice
``disputed``             the customer disputed the invoice
``terms_days``           due date minus issue date
``paid``                 settled on or before the as-of date (the event was observed)
``duration_days``        issue to payment, or issue to as-of when open (censored)
``days_late``            ``duration_days - terms_days``: observed, or lateness so far
``days_past_due``        as-of minus due date (negative: not yet due)
``balance``              open balance at as-of: 0 when settled, else amount less part
                         payments and write-offs (never below 0)
``collectible``          ``amount - written_off``: what the receivables metrics count
``quarter``              ``YYYYQn`` of the due date (or issue date, per settings)
``history_n``            settled invoices of the customer paid before this one was issued
``history_late``         their mean days late (empty without history)
=======================  ===============================================================

Assumptions forced by the contract (it records when an invoice was settled, but not when
a part payment or a write-off happened): a settled invoice leaves the receivables in full
on its ``paid_date``; part payments of an open invoice count only at the as-of date;
written-off amounts never count as receivable (they are bad debt, reported on their own
as the non-payment signal).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import ibis
import pandas as pd
from ibis import _

from custvalue.config import EngineSettings
from custvalue.contract import LoadedData
from custvalue.engine import Engine, connect

LEDGER_TABLES = ("invoices", "customers", "support_tickets")
UNKNOWN_SEGMENT = "(no segment)"

EngineSource = Engine | LoadedData | Mapping[str, pd.DataFrame]


def as_engine(source: EngineSource, settings: EngineSettings | None = None) -> Engine:
    """An :class:`~custvalue.engine.Engine` for ``source``.

    Parameters
    ----------
    source : Engine, LoadedData or mapping of table name to DataFrame
        An engine is used as it is. Validated data, or plain frames (``invoices`` and
        ``customers`` required, ``support_tickets`` optional), are put into a new
        embedded DuckDB connection.
    settings : EngineSettings, optional
        Connection settings for a new engine.
    """
    if isinstance(source, Engine):
        return source
    frames = {name: source.accepted(name) for name in source.tables} if isinstance(source, LoadedData) else dict(source)
    missing = [name for name in ("invoices", "customers") if name not in frames]
    if missing:
        raise ValueError(f"payment analysis needs the tables {', '.join(missing)}")
    connection = connect(settings)
    for name in LEDGER_TABLES:
        if name in frames:
            connection.create_table(name, _engine_frame(name, frames[name]), overwrite=True)
    return Engine(connection)


def _engine_frame(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Fill the contract's optional columns with their defaults and give booleans a plain type."""
    frame = frame.copy()
    defaults = {
        "invoices": {"paid_date": pd.NaT, "paid_amount": 0.0, "disputed": False, "written_off": 0.0},
        "customers": {"employees": pd.NA, "ended_on": pd.NaT},
        "support_tickets": {"escalated": False},
    }.get(name, {})
    for column, default in defaults.items():
        if column not in frame.columns:
            frame[column] = default
    for column in frame.columns:
        if str(frame[column].dtype) in {"boolean", "object"} and column in {"disputed", "caused_by_us", "escalated"}:
            frame[column] = frame[column].fillna(False).astype(bool)
    if "employees" in frame.columns:
        frame["employees"] = frame["employees"].astype("Int64")
    for column in ("issue_date", "due_date", "paid_date", "created_on", "ended_on", "opened_on"):
        if column in frame.columns:
            frame[column] = pd.to_datetime(frame[column]).astype("datetime64[us]")
    return frame


def has_table(engine: Engine, name: str) -> bool:
    """Whether the engine holds table ``name``.

    (Asks for the table rather than listing tables: ``list_tables`` of ibis 12 fails
    on DuckDB 2.)
    """
    try:
        engine.connection.table(name)
    except Exception:  # noqa: BLE001 - any lookup failure means "not there"
        return False
    return True


def quarter_label(day: ibis.Value) -> ibis.Value:
    """``YYYYQn`` of a date expression."""
    return day.year().cast("string") + "Q" + day.quarter().cast("string")


def invoice_ledger(engine: Engine, as_of: date | pd.Timestamp, quarter_by: str = "due", history: bool = True) -> ibis.Table:
    """Every invoice issued up to ``as_of``, as known at ``as_of`` (see the module docstring).

    Parameters
    ----------
    engine : Engine
        Holds ``invoices`` and ``customers``.
    as_of : date
        What is known: payments after this date are treated as not (yet) made.
    quarter_by : {"due", "issue"}
        Which date assigns an invoice to a quarter.
    history : bool
        Attach ``history_n`` and ``history_late`` (an as-of join: the costliest part;
        the collections metrics do not need it).

    Returns
    -------
    ibis.Table
        An unexecuted expression, one row per invoice.
    """
    as_of_day = ibis.literal(pd.Timestamp(as_of).date())
    invoices = engine.table("invoices")
    customers = engine.table("customers").select(
        "customer_id",
        segment=ibis.coalesce(_.segment, ibis.literal(UNKNOWN_SEGMENT)),
        employees=_.employees.cast("int64"),
    )
    issue, due = invoices.issue_date.date(), invoices.due_date.date()
    recorded_paid = invoices.paid_date.date()
    paid = recorded_paid.notnull() & (recorded_paid <= as_of_day)
    open_part_payment = ibis.ifelse(recorded_paid.isnull(), invoices.paid_amount, 0.0)
    ledger = invoices.filter(issue <= as_of_day).select(
        "invoice_id",
        "customer_id",
        issue_date=issue,
        due_date=due,
        paid_date=ibis.ifelse(paid, recorded_paid, ibis.null("date")),
        amount=invoices.amount,
        paid_amount=invoices.paid_amount,
        written_off=invoices.written_off,
        disputed=invoices.disputed.cast("boolean"),
        terms_days=due.delta(issue, unit="day"),
        paid=paid,
        duration_days=ibis.ifelse(paid, recorded_paid, as_of_day).delta(issue, unit="day"),
        days_past_due=as_of_day.delta(due, unit="day"),
        balance=ibis.ifelse(
            paid, 0.0, ibis.greatest(invoices.amount - open_part_payment - invoices.written_off, 0.0).round(2)
        ),
        collectible=ibis.greatest(invoices.amount - invoices.written_off, 0.0).round(2),
        quarter=quarter_label(due if quarter_by == "due" else issue),
    )
    ledger = ledger.mutate(days_late=_.duration_days - _.terms_days)
    ledger = ledger.left_join(customers, "customer_id").drop("customer_id_right")
    return with_history(ledger) if history else ledger


def with_history(ledger: ibis.Table) -> ibis.Table:
    """Attach each invoice's payment history: the customer's invoices settled before it
    was issued (number and mean days late). Only what was known at issue is used.

    ``ledger`` is read twice (settled invoices, and all of them): pass a materialised
    table (:func:`materialise`) on large data."""
    settled = ledger.filter(_.paid).group_by(["customer_id", "paid_date"]).aggregate(
        settled_n=_.count(), settled_late=_.days_late.sum()
    )
    running = ibis.window(group_by="customer_id", order_by="paid_date", preceding=None, following=0)
    history = settled.select(
        history_customer=_.customer_id,
        history_date=_.paid_date,
        history_n=_.settled_n.sum().over(running),
        history_late_sum=_.settled_late.sum().over(running),
    )
    joined = ledger.asof_join(
        history, on=ledger.issue_date > history.history_date, predicates=ledger.customer_id == history.history_customer
    )
    joined = joined.mutate(
        history_n=_.history_n.fill_null(0),
        history_late=_.history_late_sum.cast("float64") / _.history_n.cast("float64"),
    )
    return joined.drop("history_customer", "history_date", "history_late_sum")


def ledger_frame(source: EngineSource, as_of: date | pd.Timestamp, quarter_by: str = "due") -> pd.DataFrame:
    """The invoice ledger executed into pandas (for small data, tests and inspection)."""
    frame = invoice_ledger(as_engine(source), as_of, quarter_by).order_by("invoice_id").execute()
    return frame.reset_index(drop=True)


def to_frame(expression: ibis.Table) -> pd.DataFrame:
    """Execute into pandas through Arrow's own conversion (several times faster than
    ``execute`` on wide results; meant for results without date columns)."""
    return expression.to_pyarrow().to_pandas()


def materialise(engine: Engine, expression: ibis.Table, name: str) -> ibis.Table:
    """Compute ``expression`` once into a temporary table of the engine's connection."""
    return engine.connection.create_table(name, expression, temp=True, overwrite=True)


def drop_temporary(engine: Engine, name: str) -> None:
    """Drop a temporary table made by :func:`materialise` (no error when absent)."""
    try:
        engine.connection.drop_table(name, force=True)
    except Exception:  # noqa: BLE001 - cleanup must never fail an analysis
        pass

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
from typing import TYPE_CHECKING, Union

import ibis
import pandas as pd
from ibis import _

from custvalue.config import EngineSettings
from custvalue.engine import Engine, connect
from custvalue.frames import cached, days_between, engine_arrow_table, quarter_label

if TYPE_CHECKING:
    from custvalue.loading import LoadedData

__all__ = [
    "as_engine", "drop_temporary", "engine_arrow_table", "has_table", "invoice_ledger", "ledger_frame",
    "materialise", "quarter_label", "with_history",
]  # fmt: skip

LEDGER_TABLES = ("invoices", "customers", "support_tickets")
UNKNOWN_SEGMENT = "(no segment)"

EngineSource = Union[Engine, "LoadedData", Mapping[str, pd.DataFrame]]


def as_engine(source: EngineSource, settings: EngineSettings | None = None) -> Engine:
    """An :class:`~custvalue.engine.Engine` for ``source``.

    Parameters
    ----------
    source : Engine, LoadedData or mapping of table name to DataFrame
        An engine is used as it is, validated data by its engine. Plain frames
        (``invoices`` and ``customers`` required, ``support_tickets`` optional) are put
        into a new engine connection with the engine schema
        (:func:`~custvalue.features.engine_arrow_table`: dates as ``date``, optional
        columns filled, an absent ``support_tickets`` empty).
    settings : EngineSettings, optional
        Connection settings for a new engine.
    """
    if isinstance(source, Engine):
        return source
    if isinstance(getattr(source, "engine", None), Engine):
        return source.engine
    frames = dict(source)
    missing = [name for name in ("invoices", "customers") if name not in frames]
    if missing:
        raise ValueError(f"payment analysis needs the tables {', '.join(missing)}")
    connection = connect(settings)
    for name in LEDGER_TABLES:
        connection.create_table(name, engine_arrow_table(name, frames.get(name)), overwrite=True)
    return Engine(connection)


def has_table(engine: Engine, name: str) -> bool:
    """Whether the engine holds table ``name``.

    (Asks for the table rather than listing tables: ``list_tables`` of ibis 12 fails
    on DuckDB 2.)
    """
    try:
        engine.table(name)
    except Exception:  # noqa: BLE001 - any lookup failure means "not there"
        return False
    return True


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
    issue, due, recorded_paid = invoices.issue_date, invoices.due_date, invoices.paid_date
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
        terms_days=days_between(due, issue),
        paid=paid,
        duration_days=days_between(ibis.ifelse(paid, recorded_paid, as_of_day), issue),
        days_past_due=days_between(as_of_day, due),
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

    One running sum per customer over a merged timeline of settlement days and issue
    days (an issue sorts before the settlements of its own day, so those do not count):
    portable, where an as-of join is not (Spark has none).

    ``ledger`` is read twice (settled invoices, and all of them): pass a materialised
    table (:func:`materialise`) on large data."""
    settled = ledger.filter(_.paid).group_by(["customer_id", "paid_date"]).aggregate(
        settled_n=_.count(), settled_late=_.days_late.sum()
    )
    events = ibis.union(
        settled.select(
            event_customer=_.customer_id,
            event_day=_.paid_date,
            event_kind=ibis.literal(1, "int8"),
            event_invoice=ibis.null("string"),
            settled_n=_.settled_n.cast("int64"),
            settled_late=_.settled_late.cast("int64"),
        ),
        ledger.select(
            event_customer=_.customer_id,
            event_day=_.issue_date,
            event_kind=ibis.literal(0, "int8"),
            event_invoice=_.invoice_id.cast("string"),
            settled_n=ibis.literal(0, "int64"),
            settled_late=ibis.literal(0, "int64"),
        ),
        distinct=False,
    )
    running = ibis.window(group_by="event_customer", order_by=["event_day", "event_kind"], rows=(None, 0))
    history = events.mutate(
        history_n=_.settled_n.sum().over(running), history_late_sum=_.settled_late.sum().over(running)
    ).filter(_.event_kind == 0)
    history = history.select(
        history_invoice=_.event_invoice,
        history_n=_.history_n.cast("int64"),
        history_late=ibis.ifelse(
            _.history_n > 0, _.history_late_sum.cast("float64") / _.history_n.cast("float64"), ibis.null("float64")
        ),
    )
    joined = ledger.left_join(history, ledger.invoice_id == history.history_invoice)
    return joined.mutate(history_n=_.history_n.fill_null(0)).drop("history_invoice")


def ledger_frame(source: EngineSource, as_of: date | pd.Timestamp, quarter_by: str = "due") -> pd.DataFrame:
    """The invoice ledger executed into pandas (for small data, tests and inspection)."""
    frame = invoice_ledger(as_engine(source), as_of, quarter_by).order_by("invoice_id").execute()
    return frame.reset_index(drop=True)


def materialise(engine: Engine, expression: ibis.Table, name: str) -> ibis.Table:
    """Compute ``expression`` once and keep it in the engine's session.

    See :func:`custvalue.frames.cached`; ``name`` is what :func:`drop_temporary`
    releases it by.
    """
    table = cached(expression)
    _MATERIALISED[(id(engine.connection), name)] = table
    return table


def drop_temporary(engine: Engine, name: str) -> None:
    """Release a table made by :func:`materialise` (no error when absent)."""
    table = _MATERIALISED.pop((id(engine.connection), name), None)
    if table is None:
        return
    try:
        table.release()
    except Exception:  # noqa: BLE001 - cleanup must never fail an analysis
        pass


_MATERIALISED: dict[tuple[int, str], ibis.Table] = {}

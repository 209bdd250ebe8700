"""Per customer and quarter: what the customer bought, how it bought, and how it behaved.

The activity table is computed in the engine (Ibis expressions) and only this compact
table, one row per customer and quarter, comes back to pandas. Its quantities are the
*drivers* of the models: cost to serve multiplies them by time equations; the review
compares them with segment peers.

Columns (all zero where there was no activity):

=========================  ================================================================
``customer_id, quarter``    the key; ``quarter`` is ``YYYYQn``
``quarter_start/end``       its dates
``orders, order_lines``     orders placed and their lines
``rush_orders``             orders with expedited delivery
``manual_orders``           orders keyed by hand
``returns``                 orders with goods returned; ``returned_value`` their value
``revenue, cost_of_goods``  net revenue and cost of the goods sold
``discount``                concessions off list price
``tickets, ticket_minutes`` support tickets the customer caused, and staff minutes on them
``minutes_<channel>``       those minutes by channel (phone, email, chat, onsite)
``onsite_visits``           onsite tickets the customer caused
``our_tickets...``          the same for tickets caused by us (charged to us, not the customer)
``escalations``             escalated tickets the customer caused
``invoices, invoiced``      invoices issued in the quarter and their amount
``disputes``                disputed invoices issued in the quarter
``written_off``             amount written off on invoices issued in the quarter
``receivable_days``         sum over open receivables of amount x days outstanding in the quarter
``incidents``               relationship incidents logged in the quarter
``severity_<kind>``         summed severity by incident kind
=========================  ================================================================
"""

from __future__ import annotations

from datetime import date, timedelta

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
from ibis import _

from custvalue.contract import INCIDENT_KINDS, TICKET_CHANNELS
from custvalue.engine import Engine, fetch_scattered
from custvalue.quarters import Quarter, quarter_range
from custvalue.frames import (
    NUMBER_KEY,
    POSITION,
    account_spans,
    cached,
    days_between,
    quarter_number,
    quarters_table,
    serial_number,
)



def _sum_if(condition: ibis.Value, value: ibis.Value | int = 1) -> ibis.Value:
    return ibis.cases((condition, value), else_=0).sum()


def _whole(total: ibis.Value) -> ibis.Value:
    """An integer total as a 64-bit integer on every engine.

    DuckDB sums 64-bit integers into 128-bit ones (PostgreSQL into ``numeric``), which
    every fetch must then convert, column by column. The totals here are far below 2^53,
    so going through float64 is exact.
    """
    return total.cast("float64").cast("int64")


def order_drivers(orders: ibis.Table) -> ibis.Table:
    return (
        orders.mutate(quarter_number=quarter_number(orders.order_date))
        .group_by(NUMBER_KEY)
        .aggregate(
            orders=_.count(),
            order_lines=_whole(_.lines.sum()),
            rush_orders=_whole(_sum_if(_.rush)),
            manual_orders=_whole(_sum_if(_.manual)),
            returns=_whole(_sum_if(_.returned_value > 0)),
            returned_value=_.returned_value.sum(),
            revenue=_.revenue.sum(),
            cost_of_goods=_.cost_of_goods.sum(),
            discount=_.discount.sum(),
        )
    )


def ticket_drivers(tickets: ibis.Table) -> ibis.Table:
    tickets = tickets.mutate(quarter_number=quarter_number(tickets.opened_on))
    theirs = ~tickets.caused_by_us
    measures = {
        "tickets": _whole(_sum_if(theirs)),
        "ticket_minutes": _sum_if(theirs, tickets.minutes),
        "onsite_visits": _whole(_sum_if(theirs & (tickets.channel == "onsite"))),
        "escalations": _whole(_sum_if(theirs & tickets.escalated)),
        "our_tickets": _whole(_sum_if(tickets.caused_by_us)),
        "our_ticket_minutes": _sum_if(tickets.caused_by_us, tickets.minutes),
        "our_onsite_visits": _whole(_sum_if(tickets.caused_by_us & (tickets.channel == "onsite"))),
    }
    for channel in TICKET_CHANNELS:
        on_channel = tickets.channel == channel
        measures[f"minutes_{channel}"] = _sum_if(theirs & on_channel, tickets.minutes)
        measures[f"our_minutes_{channel}"] = _sum_if(tickets.caused_by_us & on_channel, tickets.minutes)
    return tickets.group_by(NUMBER_KEY).aggregate(**measures)


def invoice_drivers(invoices: ibis.Table) -> ibis.Table:
    return (
        invoices.mutate(quarter_number=quarter_number(invoices.issue_date))
        .group_by(NUMBER_KEY)
        .aggregate(
            invoices=_.count(),
            invoiced=_.amount.sum(),
            disputes=_whole(_sum_if(_.disputed)),
            written_off=_.written_off.sum(),
        )
    )


def receivable_drivers(invoices: ibis.Table, quarters: ibis.Table, as_of: date) -> ibis.Table:
    """Amount x days each invoice stayed unpaid within each quarter, up to and including
    the day ``as_of`` (an open invoice is outstanding through the as-of day)."""
    day_after = ibis.literal(as_of + timedelta(days=1))
    settled = ibis.least(ibis.coalesce(invoices.paid_date, day_after), day_after)
    outstanding = invoices.select("customer_id", "amount", open_from=invoices.issue_date, open_until=settled)
    overlap = outstanding.cross_join(quarters).filter(
        (_.open_from <= _.quarter_end) & (_.open_until > _.quarter_start)
    )
    until = ibis.least(overlap.open_until, overlap.next_quarter_start)
    days = days_between(until, ibis.greatest(overlap.open_from, overlap.quarter_start))
    return overlap.mutate(amount_days=overlap.amount * days).group_by(NUMBER_KEY).aggregate(receivable_days=_.amount_days.sum())


def incident_drivers(incidents: ibis.Table) -> ibis.Table:
    incidents = incidents.mutate(quarter_number=quarter_number(incidents.date))
    measures = {"incidents": incidents.count()}
    for kind in INCIDENT_KINDS:
        measures[f"severity_{kind}"] = _whole(_sum_if(incidents.kind == kind, incidents.severity))
    return incidents.group_by(NUMBER_KEY).aggregate(**measures)


def activity_parts(engine: Engine, first: Quarter, last: Quarter) -> list[ibis.Table]:
    """The activity measures by customer and quarter (``quarter_number``), one table per
    source, each with only the customer-quarters in which something happened."""
    quarters = quarters_table(first, last)
    window = (ibis.literal(first.start), ibis.literal(last.end))

    def in_window(table: ibis.Table, column: str) -> ibis.Table:
        return table.filter(table[column].between(*window))

    return [
        order_drivers(in_window(engine.table("orders"), "order_date")),
        ticket_drivers(in_window(engine.table("support_tickets"), "opened_on")),
        invoice_drivers(in_window(engine.table("invoices"), "issue_date")),
        receivable_drivers(engine.table("invoices").filter(_.issue_date <= window[1]), quarters, last.end),
        incident_drivers(in_window(engine.table("incidents"), "date")),
    ]


def placed(part: ibis.Table, spans: ibis.Table) -> ibis.Table:
    """The measures of ``part`` (an :func:`activity_parts` table) with their row's
    :data:`POSITION` in the activity table; rows of quarters in which the account did
    not exist are dropped, as the activity table has no row for them."""
    spans = spans.select("customer_id", "first_quarter", "last_quarter", POSITION)
    joined = part.inner_join(spans, "customer_id").filter(_.quarter_number.between(_.first_quarter, _.last_quarter))
    measures = [name for name in part.columns if name not in NUMBER_KEY]
    return joined.select(
        **{POSITION: (joined[POSITION] + joined.quarter_number - joined.first_quarter).cast("int64")},
        **{name: joined[name] for name in measures},
    )


def quarterly_activity(engine: Engine, first: Quarter, last: Quarter) -> pd.DataFrame:
    """One row per customer and quarter with the driver quantities (see module docstring),
    ordered by customer and quarter.

    The rows are known before any activity is summed: each customer's quarters
    (:func:`account_spans`). So the engine returns only the customer-quarters with
    activity, each with its place, and they are put in place here
    (:func:`custvalue.engine.fetch_scattered`), rather than joined in the engine to the
    whole grid of customers and quarters and sorted (at a million customers, seven
    million rows of which 30% have no activity).
    """
    with cached(account_spans(engine, first, last)) as spans:
        accounts = spans.order_by(POSITION).select("customer_id", "first_quarter", "quarters", POSITION).to_pyarrow()
        counts = accounts["quarters"].to_numpy()
        starts = np.cumsum(counts) - counts
        if not np.array_equal(accounts[POSITION].to_numpy(), starts):
            raise ValueError("customers: the accounts' quarters do not line up (is customer_id unique?)")
        rows = int(counts.sum())
        measures: dict[str, np.ndarray] = {}
        for part in activity_parts(engine, first, last):
            measures.update(fetch_scattered(placed(part, spans), POSITION, rows))
    owner = np.repeat(np.arange(len(counts)), counts)
    code = accounts["first_quarter"].to_numpy()[owner] + (np.arange(rows) - starts[owner]) - serial_number(first)
    quarters = quarter_range(first, last)
    labels = pa.DictionaryArray.from_arrays(pa.array(code, pa.int32()), pa.array([str(q) for q in quarters]))
    customer_ids = accounts["customer_id"].combine_chunks().take(pa.array(owner))
    frame = {
        "customer_id": pd.array(customer_ids, dtype="string"),
        "quarter": pd.array(labels.cast(pa.string()), dtype="string"),
        **{f"quarter_{day}": np.array([getattr(q, day) for q in quarters], dtype="datetime64[us]")[code] for day in ("start", "end")},
        **measures,
    }
    return pd.DataFrame(frame, copy=False)

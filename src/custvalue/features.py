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

import ibis
import pandas as pd
from ibis import _

from custvalue.contract import INCIDENT_KINDS, TICKET_CHANNELS
from custvalue.engine import Engine
from custvalue.quarters import Quarter, quarter_range

KEY = ["customer_id", "quarter"]


def quarters_table(first: Quarter, last: Quarter) -> ibis.Table:
    """An Ibis table of quarters with their start and end dates."""
    quarters = quarter_range(first, last)
    frame = pd.DataFrame(
        {
            "quarter": [str(q) for q in quarters],
            "quarter_start": pd.to_datetime([q.start for q in quarters]),
            "quarter_end": pd.to_datetime([q.end for q in quarters]),
            "next_quarter_start": pd.to_datetime([q.shift(1).start for q in quarters]),
        }
    )
    return ibis.memtable(frame)


def _quarter_of(date_column: ibis.Value) -> ibis.Value:
    return date_column.year().cast("string") + "Q" + date_column.quarter().cast("string")


def _sum_if(condition: ibis.Value, value: ibis.Value | int = 1) -> ibis.Value:
    return ibis.cases((condition, value), else_=0).sum()


def order_drivers(orders: ibis.Table) -> ibis.Table:
    return (
        orders.mutate(quarter=_quarter_of(orders.order_date))
        .group_by(KEY)
        .aggregate(
            orders=_.count(),
            order_lines=_.lines.sum(),
            rush_orders=_sum_if(_.rush),
            manual_orders=_sum_if(_.manual),
            returns=_sum_if(_.returned_value > 0),
            returned_value=_.returned_value.sum(),
            revenue=_.revenue.sum(),
            cost_of_goods=_.cost_of_goods.sum(),
            discount=_.discount.sum(),
        )
    )


def ticket_drivers(tickets: ibis.Table) -> ibis.Table:
    tickets = tickets.mutate(quarter=_quarter_of(tickets.opened_on))
    theirs = ~tickets.caused_by_us
    measures = {
        "tickets": _sum_if(theirs),
        "ticket_minutes": _sum_if(theirs, tickets.minutes),
        "onsite_visits": _sum_if(theirs & (tickets.channel == "onsite")),
        "escalations": _sum_if(theirs & tickets.escalated),
        "our_tickets": _sum_if(tickets.caused_by_us),
        "our_ticket_minutes": _sum_if(tickets.caused_by_us, tickets.minutes),
        "our_onsite_visits": _sum_if(tickets.caused_by_us & (tickets.channel == "onsite")),
    }
    for channel in TICKET_CHANNELS:
        on_channel = tickets.channel == channel
        measures[f"minutes_{channel}"] = _sum_if(theirs & on_channel, tickets.minutes)
        measures[f"our_minutes_{channel}"] = _sum_if(tickets.caused_by_us & on_channel, tickets.minutes)
    return tickets.group_by(KEY).aggregate(**measures)


def invoice_drivers(invoices: ibis.Table) -> ibis.Table:
    return (
        invoices.mutate(quarter=_quarter_of(invoices.issue_date))
        .group_by(KEY)
        .aggregate(
            invoices=_.count(),
            invoiced=_.amount.sum(),
            disputes=_sum_if(_.disputed),
            written_off=_.written_off.sum(),
        )
    )


def receivable_drivers(invoices: ibis.Table, quarters: ibis.Table, as_of: pd.Timestamp) -> ibis.Table:
    """Amount x days each invoice stayed unpaid within each quarter, up to and including
    the day ``as_of`` (an open invoice is outstanding through the as-of day)."""
    as_of_date = ibis.literal((as_of + pd.Timedelta(days=1)).date())
    settled = ibis.coalesce(invoices.paid_date.date(), as_of_date)
    settled = ibis.least(settled, as_of_date)
    outstanding = invoices.mutate(open_from=invoices.issue_date.date(), open_until=settled)
    overlap = outstanding.cross_join(quarters).filter(
        (_.open_from <= _.quarter_end.date()) & (_.open_until > _.quarter_start.date())
    )
    until = ibis.least(overlap.open_until, overlap.next_quarter_start.date())
    days = until.delta(ibis.greatest(overlap.open_from, overlap.quarter_start.date()), unit="day")
    return overlap.mutate(amount_days=overlap.amount * days).group_by(KEY).aggregate(receivable_days=_.amount_days.sum())


def incident_drivers(incidents: ibis.Table) -> ibis.Table:
    incidents = incidents.mutate(quarter=_quarter_of(incidents.date))
    measures = {"incidents": incidents.count()}
    for kind in INCIDENT_KINDS:
        measures[f"severity_{kind}"] = _sum_if(incidents.kind == kind, incidents.severity)
    return incidents.group_by(KEY).aggregate(**measures)


def customer_quarters(engine: Engine, first: Quarter, last: Quarter) -> ibis.Table:
    """Every customer for every quarter from ``first`` to ``last`` in which the account
    existed (opened before the quarter ended, not ended before it began)."""
    customers = engine.table("customers")
    grid = customers.select("customer_id", "created_on", "ended_on").cross_join(quarters_table(first, last))
    return grid.filter(
        (grid.created_on <= grid.quarter_end)
        & (grid.ended_on.isnull() | (grid.ended_on >= grid.quarter_start))
    ).select("customer_id", "quarter", "quarter_start", "quarter_end")


def quarterly_activity_expr(engine: Engine, first: Quarter, last: Quarter) -> ibis.Table:
    """The activity table as an Ibis expression (not yet executed)."""
    as_of = pd.Timestamp(last.end)
    quarters = quarters_table(first, last)
    window = (ibis.literal(first.start), ibis.literal(last.end))

    def in_window(table: ibis.Table, column: str) -> ibis.Table:
        return table.filter(table[column].date().between(*window))

    invoices = engine.table("invoices").filter(_.issue_date.date() <= window[1])
    parts = [
        order_drivers(in_window(engine.table("orders"), "order_date")),
        ticket_drivers(in_window(engine.table("support_tickets"), "opened_on")),
        invoice_drivers(in_window(engine.table("invoices"), "issue_date")),
        receivable_drivers(invoices, quarters, as_of),
        incident_drivers(in_window(engine.table("incidents"), "date")),
    ]
    table = customer_quarters(engine, first, last)
    for part in parts:
        table = table.left_join(part, KEY).drop("customer_id_right", "quarter_right")
    measures = [name for name in table.columns if name not in {*KEY, "quarter_start", "quarter_end"}]
    return table.mutate(**{name: table[name].fill_null(0) for name in measures}).order_by(KEY)


def quarterly_activity(engine: Engine, first: Quarter, last: Quarter) -> pd.DataFrame:
    """One row per customer and quarter with the driver quantities (see module docstring)."""
    # Through Arrow: ``execute()`` turns DuckDB's 128-bit integer sums into Python Decimal
    # objects first, which costs several times the time and memory of the query itself.
    frame = quarterly_activity_expr(engine, first, last).to_pyarrow().to_pandas()
    frame["customer_id"] = frame["customer_id"].astype("string")
    return frame.reset_index(drop=True)

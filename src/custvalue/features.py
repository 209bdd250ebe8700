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
import pyarrow.compute as pc
from ibis import _

from custvalue.contract import INCIDENT_KINDS, TABLES, TICKET_CHANNELS, column_kind
from custvalue.engine import Engine, engine_type, fetch_scattered
from custvalue.quarters import Quarter, quarter_range

KEY = ["customer_id", "quarter"]
NUMBER_KEY = ["customer_id", "quarter_number"]
POSITION = "grid_position"
"""The activity row's place in (customer, quarter) order, counted from 0."""


def engine_arrow_table(name: str, frame: pd.DataFrame | None) -> pa.Table:
    """Rows of contract table ``name`` with the engine schema, ready for
    ``connection.create_table(name, ...)`` on any backend.

    Every contract column is present, in contract order: a column the frame lacks is
    filled with its contract default (or NULL). Types: text -> string, every date
    column -> ``date`` (a calendar day, no time of day), decimals -> float64, whole
    numbers -> int64 (nullable), booleans -> boolean, never NULL (missing -> default or
    false). Columns outside the contract are kept after them. ``None`` gives an empty
    table (an absent optional table).
    """
    frame = pd.DataFrame() if frame is None else frame
    columns, fields = {}, []
    for column, spec in TABLES[name].columns.items():
        kind = engine_type(column_kind(spec)).to_pyarrow()
        default = (spec.metadata or {}).get("default")
        if column in frame.columns:
            values = frame[column]
        else:
            values = pd.Series([default] * len(frame), dtype=object, index=frame.index)
        if pa.types.is_boolean(kind):
            if values.dtype != bool:
                values = values.astype("boolean").fillna(bool(default)).astype(bool)
        elif default is not None:
            values = values.where(values.notna(), default)
        if pa.types.is_date32(kind):
            values = pd.to_datetime(values)
        columns[column] = pa.array(values, from_pandas=True).cast(kind)
        fields.append(pa.field(column, kind, nullable=True))
    for column in frame.columns:
        if column not in columns:
            columns[column] = pa.array(frame[column], from_pandas=True)
            fields.append(pa.field(column, columns[column].type))
    return pa.table(list(columns.values()), schema=pa.schema(fields))


def quarters_table(first: Quarter, last: Quarter) -> ibis.Table:
    """An Ibis table of quarters with their start and end dates (``date`` columns)."""
    quarters = quarter_range(first, last)
    table = pa.table(
        {
            "quarter": pa.array([str(q) for q in quarters], pa.string()),
            "quarter_number": pa.array([serial_number(q) for q in quarters], pa.int64()),
            "quarter_start": pa.array([q.start for q in quarters], pa.date32()),
            "quarter_end": pa.array([q.end for q in quarters], pa.date32()),
            "next_quarter_start": pa.array([q.shift(1).start for q in quarters], pa.date32()),
        }
    )
    return ibis.memtable(table)


def quarter_label(day: ibis.Value) -> ibis.Value:
    """``YYYYQn`` of a date expression."""
    return day.year().cast("string") + "Q" + day.quarter().cast("string")


def serial_number(quarter: Quarter) -> int:
    """Quarters counted from year 0: consecutive quarters have consecutive numbers."""
    return quarter.year * 4 + quarter.number - 1


def quarter_number(day: ibis.Value) -> ibis.Value:
    """:func:`serial_number` of the quarter of a date expression (joins and groups on an
    integer are cheaper than on the ``YYYYQn`` text)."""
    return day.year().cast("int64") * 4 + day.quarter().cast("int64") - 1


def days_between(later: ibis.Value, earlier: ibis.Value) -> ibis.Value:
    """Whole days from date ``earlier`` to date ``later`` (int64, negative when before)."""
    return later.delta(earlier, unit="day")


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


def customer_quarters(engine: Engine, first: Quarter, last: Quarter) -> ibis.Table:
    """Every customer for every quarter from ``first`` to ``last`` in which the account
    existed (opened before the quarter ended, not ended before it began)."""
    spans = _open_quarters(engine, first, last)
    grid = spans.cross_join(quarters_table(first, last))
    return grid.filter(grid.quarter_number.between(grid.first_quarter, grid.last_quarter)).select(
        "customer_id", "quarter", "quarter_start", "quarter_end"
    )


def _open_quarters(engine: Engine, first: Quarter, last: Quarter) -> ibis.Table:
    """Per customer, the first and last quarter from ``first`` to ``last`` in which the
    account existed (:func:`serial_number`); customers without one are left out. An
    account is open in a quarter when it was created before the quarter ended and did not
    end before it began, so its open quarters are consecutive."""
    customers = engine.table("customers")
    opened, closed = serial_number(first), serial_number(last)
    return customers.select(
        "customer_id",
        first_quarter=ibis.greatest(quarter_number(customers.created_on), opened),
        last_quarter=ibis.least(ibis.coalesce(quarter_number(customers.ended_on), closed), closed),
    ).filter(_.last_quarter >= _.first_quarter)


def account_spans(engine: Engine, first: Quarter, last: Quarter) -> ibis.Table:
    """Per customer, the quarters from ``first`` to ``last`` in which the account existed:
    ``first_quarter`` and ``last_quarter`` (:func:`serial_number`), ``quarters`` (their
    count) and :data:`POSITION`, the place of the customer's first quarter among every
    customer's quarters in (customer, quarter) order, as :func:`quarterly_activity` has
    them. Customers without such a quarter are left out."""
    spans = _open_quarters(engine, first, last).mutate(quarters=_.last_quarter - _.first_quarter + 1)
    before = _.quarters.cumsum(order_by="customer_id") - _.quarters
    # SUM gives a wider type on some engines (HUGEINT, numeric): positions are int64.
    return spans.mutate(**{POSITION: before.cast("int64")})


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


def arrow_text(values) -> pa.Array:  # noqa: ANN001 - any sequence of text
    """Text values as one Arrow string array (raises for values that are not text)."""
    text = pa.array(values, type=pa.string())
    return text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text


def in_key_order(frame: pd.DataFrame) -> bool:
    """Whether ``frame``'s rows strictly increase in (``customer_id``, ``quarter``), as
    :func:`quarterly_activity` returns them (checked in Arrow, without sorting)."""
    if len(frame) < 2:
        return True
    try:
        customer, quarter = (arrow_text(frame[column].array) for column in KEY)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return False
    if customer.null_count or quarter.null_count:
        return False
    rows = len(frame)
    before, after = customer.slice(0, rows - 1), customer.slice(1)
    same = pc.equal(before, after)
    increasing = pc.or_(pc.less(before, after), pc.and_(same, pc.less(quarter.slice(0, rows - 1), quarter.slice(1))))
    return pc.all(increasing).as_py() is True


def cached(expression: ibis.Table) -> ibis.Table:
    """``expression`` computed once and kept in the engine's session, until ``release()``
    (or the end of a ``with`` block).

    Ibis's own cache: a temporary table on DuckDB and PostgreSQL, a cached temporary view
    on Spark (which has no temporary tables).
    """
    # Run the (empty) head of the query first: it registers the in-memory tables the
    # expression uses, which ibis 12's Spark cache does not do by itself.
    expression.limit(0).to_pyarrow()
    return expression.cache()

"""What the models and the review share below them: the customer x quarter grid, quarter
labels and numbers in the engine, Arrow text and key checks, and results kept in the engine.

These helpers used to live in :mod:`custvalue.features`, which made the payment and cost
models depend on the feature step; they belong to no model, so they sit here, beside the
engine, and every step above may use them.
"""

from __future__ import annotations

import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from ibis import _

from custvalue.contract import TABLES, column_kind
from custvalue.engine import Engine, engine_type
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

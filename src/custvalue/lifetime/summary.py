"""Per-customer recency-frequency-monetary summary of an orders table.

Everything up to the per-customer rows runs in the data engine (Ibis expressions, on
whichever backend holds the orders: DuckDB, PostgreSQL or Spark); only the summary comes
back to pandas.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

__all__ = ["as_table", "days_per_unit", "epoch_day", "purchase_days", "summarise_orders", "to_date"]

#: Length of the supported time units, in days.
_UNIT_DAYS = {"D": 1.0, "W": 7.0}


def days_per_unit(unit: str | float) -> float:
    """Number of days in a time unit.

    Parameters
    ----------
    unit : {"D", "W"} or float
        Days, weeks, or a positive number of days.

    Returns
    -------
    float
    """
    if isinstance(unit, str):
        try:
            return _UNIT_DAYS[unit.upper()]
        except KeyError:
            raise ValueError(f"unit must be one of {sorted(_UNIT_DAYS)} or a number of days, not {unit!r}") from None
    days = float(unit)
    if not days > 0:
        raise ValueError("a numeric unit is a positive number of days")
    return days


def to_date(value) -> dt.date:
    """Coerce a date-like value (str, date, datetime, Timestamp) to ``datetime.date``."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return pd.Timestamp(value).date()


def as_table(orders) -> ir.Table:
    """Return ``orders`` as an Ibis table, wrapping a pandas DataFrame with ``ibis.memtable``.

    A frame's date-time columns become ``date`` columns (calendar days), as in the
    engine's tables, so a frame and an engine table give the same expressions.
    """
    if isinstance(orders, ir.Table):
        return orders
    if isinstance(orders, pd.DataFrame):
        return ibis.memtable(dates_as_days(pa.Table.from_pandas(orders, preserve_index=False)))
    raise TypeError(f"orders must be an ibis.Table or a pandas.DataFrame, not {type(orders).__name__}")


def dates_as_days(table: pa.Table) -> pa.Table:
    """``table`` with its timestamp columns cast to ``date32`` (the time of day dropped)."""
    for index, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            days = table.column(index).cast(pa.date32(), safe=False)
            table = table.set_column(index, pa.field(field.name, pa.date32()), days)
    return table


def purchase_days(orders, *, value: str = "margin") -> ir.Table:
    """One row per customer and purchase day, with the day's summed value.

    Purchases on the same day count as one purchase, as in the CDNOW
    summaries the models were published on.

    Parameters
    ----------
    orders : ibis.Table or pandas.DataFrame
        Columns ``customer_id``, ``order_date`` and those ``value`` needs.
    value : str or None, default "margin"
        ``"margin"`` (``revenue - cost_of_goods``), the name of a numeric
        column, or None when only the purchase days are wanted.

    Returns
    -------
    ibis.Table
        Columns ``customer_id`` (string), ``day`` (days since 1970-01-01)
        and, unless ``value`` is None, ``value``.
    """
    table = as_table(orders)
    if value is None:
        amount = ibis.literal(0.0)
    elif value == "margin":
        missing = {"revenue", "cost_of_goods"} - set(table.columns)
        if missing:
            raise ValueError(f"value='margin' needs columns revenue and cost_of_goods; missing {sorted(missing)}")
        amount = table.revenue.cast("float64") - table.cost_of_goods.cast("float64")
    elif value in table.columns:
        amount = table[value].cast("float64")
    else:
        raise ValueError(f"value {value!r} is neither 'margin' nor a column of orders")
    missing = {"customer_id", "order_date"} - set(table.columns)
    if missing:
        raise ValueError(f"orders lacks column(s) {sorted(missing)}")
    keyed = table.select(
        customer_id=table.customer_id.cast("string"),
        day=table.order_date.cast("date").epoch_days(),
        value=amount,
    )
    if value is None:
        return keyed.select("customer_id", "day").distinct()
    return keyed.group_by(["customer_id", "day"]).aggregate(value=keyed.value.sum())


def summarise_orders(
    orders,
    cutoff,
    *,
    unit: str | float = "W",
    value: str = "margin",
    holdout_end=None,
) -> pd.DataFrame:
    """Per-customer frequency, recency, age and mean repeat value as of a cut-off.

    Parameters
    ----------
    orders : ibis.Table or pandas.DataFrame
        Orders with ``customer_id``, ``order_date`` and the value columns
        (``revenue`` and ``cost_of_goods`` for margin).
    cutoff : date-like
        Last day of the observation (calibration) period, inclusive. Orders
        after it are ignored, except for the holdout columns.
    unit : {"D", "W"} or float, default "W"
        Time unit of ``recency``, ``T`` and ``duration_holdout`` (days,
        weeks, or a number of days).
    value : str, default "margin"
        ``"margin"`` for ``revenue - cost_of_goods``, or a column name.
    holdout_end : date-like, optional
        If given, also count each customer's purchases after ``cutoff`` up to
        this day (inclusive): columns ``frequency_holdout``,
        ``monetary_value_holdout`` (mean value per purchase day, 0 if none)
        and ``duration_holdout``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_id`` (customers whose first purchase is on or
        before ``cutoff``), sorted, with columns ``frequency`` (repeat
        purchase days), ``recency`` (first to last purchase), ``T`` (first
        purchase to cutoff) and ``monetary_value`` (mean value of the repeat
        purchase days; 0 when ``frequency`` is 0).
    """
    cutoff_day = epoch_day(cutoff)
    scale = days_per_unit(unit)
    days = purchase_days(orders, value=value)

    calibration = days.filter(days.day <= cutoff_day)
    first_day = calibration.day.min().over(group_by="customer_id")
    calibration = calibration.mutate(repeat=calibration.day > first_day)
    per_customer = calibration.group_by("customer_id").aggregate(
        first=calibration.day.min(),
        last=calibration.day.max(),
        frequency=calibration.count() - 1,
        repeat_value=calibration.value.sum(where=calibration.repeat),
    )
    summary = per_customer.select(
        "customer_id",
        "frequency",
        recency=(per_customer["last"] - per_customer["first"]).cast("float64") / scale,
        T=(ibis.literal(cutoff_day) - per_customer["first"]).cast("float64") / scale,
        monetary_value=ibis.ifelse(
            per_customer.frequency > 0,
            per_customer.repeat_value.fill_null(0.0) / per_customer.frequency.cast("float64"),
            0.0,
        ),
    )

    if holdout_end is not None:
        holdout_day = epoch_day(holdout_end)
        if holdout_day <= cutoff_day:
            raise ValueError("holdout_end must be after cutoff")
        later = days.filter((days.day > cutoff_day) & (days.day <= holdout_day))
        holdout = later.group_by("customer_id").aggregate(
            frequency_holdout=later.count(),
            monetary_value_holdout=later.value.mean(),
        )
        summary = summary.left_join(holdout, "customer_id").select(
            *summary.columns,
            frequency_holdout=holdout.frequency_holdout.fill_null(0),
            monetary_value_holdout=holdout.monetary_value_holdout.fill_null(0.0),
        )

    result = summary.to_pyarrow().to_pandas().set_index("customer_id").sort_index()
    if holdout_end is not None:
        # A constant, added here: as an SQL literal it would be an exact DECIMAL on
        # PostgreSQL and Spark rather than a float.
        result["duration_holdout"] = float((holdout_day - cutoff_day) / scale)
    int_columns = [c for c in ("frequency", "frequency_holdout") if c in result]
    return result.astype({c: "int64" for c in int_columns})


def epoch_day(value) -> int:
    """Days from 1970-01-01 to a date-like value (the ``day`` of :func:`purchase_days`)."""
    return (to_date(value) - dt.date(1970, 1, 1)).days

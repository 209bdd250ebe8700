"""The Ibis/DuckDB customer summary on small hand-checked order tables."""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pytest

from custvalue.lifetime import calibration_holdout_summary, summarise_orders


def orders_table() -> pd.DataFrame:
    rows = [
        # customer a: two orders on day 0 (one purchase), then days 7 and 21.
        ("a", "2024-01-01", 10.0, 4.0),
        ("a", "2024-01-01", 5.0, 1.0),
        ("a", "2024-01-08", 20.0, 5.0),
        ("a", "2024-01-22", 30.0, 10.0),
        # customer b: a single purchase.
        ("b", "2024-01-15", 12.0, 2.0),
        # customer c: first purchase after the cut-off, so not in the summary.
        ("c", "2024-02-10", 8.0, 1.0),
        # customer a again, in the holdout period: two purchase days.
        ("a", "2024-02-05", 7.0, 2.0),
        ("a", "2024-02-12", 9.0, 2.0),
        ("a", "2024-02-12", 1.0, 0.0),
    ]
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date", "revenue", "cost_of_goods"])
    frame["order_date"] = pd.to_datetime(frame["order_date"]).dt.date
    frame["channel"] = "web"  # columns outside the contract are ignored
    return frame


def test_weekly_summary_by_hand():
    summary = summarise_orders(orders_table(), "2024-01-28")
    assert list(summary.index) == ["a", "b"]
    a, b = summary.loc["a"], summary.loc["b"]
    assert a["frequency"] == 2  # day 0 counts once
    assert a["recency"] == pytest.approx(3.0)  # 21 days
    assert a["T"] == pytest.approx(27 / 7)
    assert a["monetary_value"] == pytest.approx(((20 - 5) + (30 - 10)) / 2)  # repeat margins only
    assert (b["frequency"], b["recency"], b["monetary_value"]) == (0, 0.0, 0.0)
    assert b["T"] == pytest.approx(13 / 7)
    assert summary["frequency"].dtype == np.int64


def test_daily_unit_revenue_value_and_cutoff_inclusive():
    summary = summarise_orders(orders_table(), dt.date(2024, 1, 22), unit="D", value="revenue")
    a = summary.loc["a"]
    assert (a["frequency"], a["recency"], a["T"]) == (2, 21.0, 21.0)
    assert a["monetary_value"] == pytest.approx(25.0)


def test_ibis_table_and_timestamp_dates_give_the_same_summary():
    frame = orders_table()
    expected = summarise_orders(frame, "2024-01-28")
    frame_ts = frame.assign(order_date=pd.to_datetime(frame["order_date"]))
    np.testing.assert_allclose(summarise_orders(ibis.memtable(frame_ts), "2024-01-28"), expected)


def test_holdout_columns():
    summary = calibration_holdout_summary(orders_table(), "2024-01-28", "2024-02-29")
    a, b = summary.loc["a"], summary.loc["b"]
    assert a["frequency_holdout"] == 2
    assert a["monetary_value_holdout"] == pytest.approx(((7 - 2) + (9 - 2 + 1)) / 2)
    assert b["frequency_holdout"] == 0 and b["monetary_value_holdout"] == 0.0
    assert a["duration_holdout"] == pytest.approx(32 / 7)
    assert "c" not in summary.index


def test_numeric_unit_in_days():
    monthly = summarise_orders(orders_table(), "2024-01-28", unit=30.0)
    assert monthly.loc["a", "recency"] == pytest.approx(21 / 30)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"unit": "fortnight"}, "unit"),
        ({"value": "profit"}, "profit"),
        ({"holdout_end": "2024-01-01"}, "after cutoff"),
    ],
)
def test_bad_arguments_are_explained(kwargs, message):
    with pytest.raises(ValueError, match=message):
        summarise_orders(orders_table(), "2024-01-28", **kwargs)


def test_margin_needs_cost_column():
    with pytest.raises(ValueError, match="cost_of_goods"):
        summarise_orders(orders_table().drop(columns="cost_of_goods"), "2024-01-28")


def test_rejects_other_inputs():
    with pytest.raises(TypeError):
        summarise_orders([("a", "2024-01-01")], "2024-01-28")

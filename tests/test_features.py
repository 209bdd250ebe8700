"""The activity table (``features.quarterly_activity``): which customer-quarters it has,
what lands in them, and agreement with the plain pandas baseline of the benchmark."""

from __future__ import annotations

import importlib
import sys
from datetime import date
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest

from custvalue.demo import DemoSpec, generate_world
from custvalue.features import quarterly_activity
from custvalue.quarters import Quarter
from tests.backends import engine_on

FIRST, LAST = Quarter(2025, 1), Quarter(2025, 4)
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def day(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


@pytest.fixture(scope="module")
def handmade() -> pd.DataFrame:
    """Five accounts, listed out of order, with activity inside and outside their lives."""
    customers = pd.DataFrame(
        {
            "customer_id": ["C3", "C1", "C2", "C4", "C0"],
            "segment": ["retail"] * 5,
            "created_on": [day("2024-05-01"), day("2025-05-20"), day("2023-01-01"), day("2026-01-10"), day("2025-12-31")],
            "ended_on": [pd.NaT, day("2025-08-15"), day("2024-12-31"), pd.NaT, pd.NaT],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": ["O1", "O2", "O3", "O4", "O5", "O6"],
            "customer_id": ["C1", "C1", "C1", "C3", "C3", "C0"],
            "order_date": [day("2025-05-20"), day("2025-09-01"), day("2025-10-05"), day("2024-12-31"), day("2025-03-31"), day("2025-12-31")],
            "revenue": [100.0, 50.0, 999.0, 999.0, 10.0, 7.0],
            "cost_of_goods": [60.0, 30.0, 1.0, 1.0, 4.0, 2.0],
            "lines": pd.array([3, None, 1, 1, 2, 1], dtype="Int64"),
            "rush": [True, False, True, True, False, False],
        }
    )
    tickets = pd.DataFrame(
        {
            "ticket_id": ["T1", "T2"],
            "customer_id": ["C3", "C3"],
            "opened_on": [day("2025-07-01"), day("2025-07-01")],
            "minutes": [30.0, 60.0],
            "channel": ["phone", "onsite"],
            "caused_by_us": [True, False],
        }
    )
    invoices = pd.DataFrame(
        {
            "invoice_id": ["I1"],
            "customer_id": ["C1"],
            "issue_date": [day("2025-06-20")],
            "due_date": [day("2025-07-20")],
            "amount": [100.0],
            "paid_date": [day("2025-07-10")],
            "paid_amount": [100.0],
        }
    )
    incidents = pd.DataFrame(
        {
            "incident_id": ["N1", "N2"],
            "customer_id": ["C0", "C2"],
            "date": [day("2025-11-01"), day("2025-11-01")],
            "kind": ["abusive_conduct", "abusive_conduct"],
            "severity": pd.array([3, 4], dtype="Int64"),
        }
    )
    tables = {"customers": customers, "orders": orders, "support_tickets": tickets, "invoices": invoices, "incidents": incidents}
    return quarterly_activity(engine_on(ibis.duckdb.connect(), tables), FIRST, LAST)


def test_one_row_per_quarter_an_account_was_open_in_key_order(handmade):
    keys = list(zip(handmade["customer_id"], handmade["quarter"]))
    # C2 ended before the window, C4 opened after it; C1 lived from Q2 to Q3.
    assert keys == [("C0", "2025Q4"), ("C1", "2025Q2"), ("C1", "2025Q3"), *[("C3", f"2025Q{n}") for n in range(1, 5)]]
    assert handmade["quarter_start"].tolist() == [pd.Timestamp(Quarter.parse(q).start) for _, q in keys]
    assert handmade["quarter_end"].tolist() == [pd.Timestamp(Quarter.parse(q).end) for _, q in keys]


def test_activity_lands_in_its_quarter_and_everything_else_is_zero(handmade):
    expected = {
        ("C0", "2025Q4"): {"orders": 1, "order_lines": 1, "revenue": 7.0, "cost_of_goods": 2.0, "incidents": 1, "severity_abusive_conduct": 3},
        ("C1", "2025Q2"): {
            "orders": 1, "order_lines": 3, "rush_orders": 1, "revenue": 100.0, "cost_of_goods": 60.0,
            "invoices": 1, "invoiced": 100.0,
            "receivable_days": 100.0 * 11,  # open 20 June to 30 June
        },
        # The order of 5 October came after the account ended: no row, not counted.
        ("C1", "2025Q3"): {"orders": 1, "revenue": 50.0, "cost_of_goods": 30.0, "receivable_days": 100.0 * 9},  # lines unknown: 0
        ("C3", "2025Q1"): {"orders": 1, "order_lines": 2, "revenue": 10.0, "cost_of_goods": 4.0},  # 31 Dec 2024 is outside
        ("C3", "2025Q3"): {
            "tickets": 1, "ticket_minutes": 60.0, "onsite_visits": 1, "minutes_onsite": 60.0,
            "our_tickets": 1, "our_ticket_minutes": 30.0, "our_minutes_phone": 30.0,
        },
    }  # fmt: skip
    measures = handmade.columns[4:]
    for row in handmade.itertuples(index=False):
        wanted = expected.get((row.customer_id, row.quarter), {})
        for name in measures:
            assert getattr(row, name) == wanted.get(name, 0), (row.customer_id, row.quarter, name)


def test_types_are_the_contracts(handmade):
    assert handmade["customer_id"].dtype == "string" and handmade["quarter"].dtype == "string"
    assert handmade["quarter_start"].dtype.kind == "M"
    assert handmade["orders"].dtype == np.int64 and handmade["severity_abusive_conduct"].dtype == np.int64
    assert handmade["revenue"].dtype == np.float64 and handmade["receivable_days"].dtype == np.float64


def test_no_open_account_gives_an_empty_table_with_every_column(handmade):
    tables = {"customers": pd.DataFrame({"customer_id": ["C9"], "segment": ["retail"], "created_on": [day("2027-01-01")]})}
    empty = quarterly_activity(engine_on(ibis.duckdb.connect(), tables), FIRST, LAST)
    assert len(empty) == 0
    assert list(empty.columns) == list(handmade.columns)


def test_the_same_as_the_benchmarks_plain_pandas_baseline():
    """Two implementations written independently (Ibis in the engine; pandas groupby
    and numpy) agree on a demo world, value by value."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        baseline = importlib.import_module("bench_pipeline").pandas_activity
    finally:
        sys.path.remove(str(BENCHMARKS))
    world = generate_world(DemoSpec(n_customers=300, seed=5, end=date(2026, 6, 30)))
    first, last = Quarter(2026, 2).shift(-7), Quarter(2026, 2)
    engine = quarterly_activity(engine_on(ibis.duckdb.connect(), world.tables), first, last)
    expected = baseline(world.tables, first, last)
    assert len(engine) > 2_000
    pd.testing.assert_frame_equal(engine, expected, check_dtype=False, check_exact=False, rtol=1e-12)

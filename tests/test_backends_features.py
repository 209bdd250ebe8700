"""The Ibis feature layer gives the same results on DuckDB, PostgreSQL and Spark.

One small demo world is loaded into each backend with the engine schema (dates as
``date``, decimals float64, counts int64, booleans never NULL); the activity table, the
payment analysis and the lifetime order summaries computed there are compared with
DuckDB's. PostgreSQL is a throwaway server and Spark a local session (see
tests/backends.py); without them these tests skip locally and fail in CI.
"""

from __future__ import annotations

from datetime import date

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from custvalue.config import LifetimeSettings
from custvalue.demo import DemoSpec, generate_world
from custvalue.engine import Engine
from custvalue.features import quarterly_activity
from custvalue.frames import engine_arrow_table
from custvalue.lifetime import calibration_holdout_summary, summarise_orders
from custvalue.lifetime import estimate_lifetime_value
from custvalue.payment import analyse_payments
from custvalue.quarters import Quarter
from tests.backends import engine_on

pytestmark = [
    pytest.mark.backends,
    # PySpark 4.0 under pandas 3: upstream deprecations, not ours
    pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning"),
]

AS_OF = date(2026, 6, 30)
LAST = Quarter(2026, 2)
FIRST = LAST.shift(-7)
JUDGED = [LAST.shift(-k) for k in range(3, -1, -1)]
OTHERS = ["postgres", "spark"]
RTOL = 1e-9


@pytest.fixture(scope="module")
def world():
    return generate_world(DemoSpec(n_customers=300, seed=5, end=AS_OF))


def compute(engine: Engine, world) -> dict:
    """Everything compared, computed once per backend."""
    orders = engine.table("orders")
    return {
        "activity": quarterly_activity(engine, FIRST, LAST),
        "payments": analyse_payments(engine, as_of=AS_OF, quarters=JUDGED),
        "summary": summarise_orders(orders, AS_OF, unit="D"),
        "holdout": calibration_holdout_summary(orders, date(2025, 12, 31), AS_OF, unit="W"),
        "lifetime": estimate_lifetime_value(orders, world.tables["customers"], AS_OF, LifetimeSettings()),
    }


@pytest.fixture(scope="module")
def results(world, request) -> dict:
    """``results[backend]``, computed on first use (a backend's connection is only started
    when a test needs it)."""

    class Lazy(dict):
        def __missing__(self, backend):
            if backend == "duckdb":
                connection = ibis.duckdb.connect()
            elif backend == "postgres":
                connection = request.getfixturevalue("postgres_connection")
            else:
                connection = request.getfixturevalue("spark_connection")
            self[backend] = compute(engine_on(connection, world.tables), world)
            return self[backend]

    return Lazy()


def assert_same(actual: pd.DataFrame, expected: pd.DataFrame, keys: list[str] | None = None) -> None:
    """Equal columns, dtypes and values (floats to RTOL) after sorting by ``keys``."""
    if keys:
        actual = actual.sort_values(keys).reset_index(drop=True)
        expected = expected.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(actual, expected, check_exact=False, rtol=RTOL, atol=0)


def test_engine_schema_is_the_contracts():
    customers = engine_arrow_table("customers", pd.DataFrame({"customer_id": ["A"], "created_on": [pd.Timestamp("2024-02-29")]}))
    assert customers.schema.field("created_on").type == pa.date32()
    assert customers.column("created_on").to_pylist() == [date(2024, 2, 29)]
    assert customers.schema.field("employees").type == pa.int64()
    assert customers.column("ended_on").null_count == 1
    incidents = engine_arrow_table("incidents", None)
    assert incidents.num_rows == 0 and incidents.schema.field("severity").type == pa.int64()
    invoices = engine_arrow_table(
        "invoices", pd.DataFrame({"invoice_id": ["I"], "disputed": pd.array([pd.NA], dtype="boolean")})
    )
    assert invoices.column("disputed").to_pylist() == [False]
    assert invoices.column("written_off").to_pylist() == [0.0]
    assert invoices.schema.field("paid_date").type == pa.date32()


@pytest.mark.parametrize("backend", OTHERS)
def test_activity_is_the_same(results, backend):
    expected, actual = results["duckdb"]["activity"], results[backend]["activity"]
    assert len(expected) == 2144
    assert_same(actual, expected, ["customer_id", "quarter"])


@pytest.mark.parametrize("backend", OTHERS)
def test_payments_are_the_same(results, backend):
    expected, actual = results["duckdb"]["payments"], results[backend]["payments"]
    assert_same(actual.customers, expected.customers, ["customer_id"])
    assert_same(actual.by_quarter, expected.by_quarter, ["customer_id", "quarter"])
    assert_same(actual.segments, expected.segments, ["segment"])
    assert_same(actual.company, expected.company)
    assert_same(actual.survival, expected.survival, ["segment", "day"])
    for name in ("model", "peers"):
        pd.testing.assert_series_equal(actual.fits[name].params, expected.fits[name].params, rtol=RTOL)
    assert actual.info["invoices"] == expected.info["invoices"]
    assert actual.by_quarter["late_flag"].any() and actual.by_quarter["nonpayment_flag"].any()


@pytest.mark.parametrize("backend", OTHERS)
def test_lifetime_summaries_are_the_same(results, backend):
    expected, actual = results["duckdb"], results[backend]
    # Margins summed as floats: equal to the last bits only up to the order of addition.
    assert_same(actual["summary"], expected["summary"])
    assert_same(actual["holdout"], expected["holdout"])
    for name in ("summary", "holdout"):
        counts = ["frequency", "recency", "T"] + (["frequency_holdout", "duration_holdout"] if name == "holdout" else [])
        pd.testing.assert_frame_equal(actual[name][counts], expected[name][counts], check_exact=True)
    # Margins are summed in whole cents: the fits see identical numbers on every backend.
    pd.testing.assert_frame_equal(actual["lifetime"].customers, expected["lifetime"].customers, check_exact=True)
    pd.testing.assert_frame_equal(actual["lifetime"].tracking, expected["lifetime"].tracking, check_exact=True)


def test_duckdb_engine_matches_pandas_orders(results, world):
    """The lifetime summary of an engine table equals that of the pandas frame."""
    from_frame = summarise_orders(world.tables["orders"], AS_OF, unit="D")
    assert_same(results["duckdb"]["summary"], from_frame)
    assert np.isfinite(results["duckdb"]["lifetime"].customers["clv"]).all()

"""The whole quarter scored on PostgreSQL and on Spark gives DuckDB's scorecard.

A small demo world is scored three ways: DuckDB reading the raw CSV files (the default);
a real PostgreSQL server holding the world as warehouse tables (customers and orders as
text columns, so the contract's parser runs in PostgreSQL; the others typed); and Spark
in local mode reading the same CSV files. Validation, features, costing, payment metrics
and the order summary run in each backend; the scorecards must agree customer by customer.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from custvalue.config import Config, EngineSettings
from custvalue.contract import TABLES
from custvalue.frames import engine_arrow_table
from custvalue.loading import load_raw
from custvalue.pipeline import score_quarter
from tests.conftest import write_demo

TEXT_TABLES = ("customers", "orders")
pytestmark = pytest.mark.backends


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return write_demo(tmp_path_factory.mktemp("backend_world"), n_customers=250, seed=8)


@pytest.fixture(scope="module")
def duckdb_scored(world, tmp_path_factory):
    return score_quarter(world.raw_dir, tmp_path_factory.mktemp("duckdb") / "processed", Config())


def with_engine(**engine) -> Config:
    return dataclasses.replace(Config(), engine=EngineSettings(**engine))


def assert_same_scorecard(expected: pd.DataFrame, actual: pd.DataFrame) -> None:
    expected = expected.sort_values("customer_id", ignore_index=True)
    actual = actual.sort_values("customer_id", ignore_index=True)
    assert list(actual.columns) == list(expected.columns)
    assert actual["customer_id"].tolist() == expected["customer_id"].tolist()
    for column in expected.columns:
        left, right = expected[column], actual[column]
        if pd.api.types.is_numeric_dtype(left) and not pd.api.types.is_bool_dtype(left):
            np.testing.assert_allclose(right.to_numpy(float), left.to_numpy(float), rtol=1e-9, atol=1e-6, err_msg=column)
        else:
            assert right.astype(str).tolist() == left.astype(str).tolist(), column


def test_postgres_scores_the_quarter_like_duckdb(world, duckdb_scored, postgres_url, tmp_path):
    import ibis

    data = load_raw(world.raw_dir)
    warehouse = ibis.connect(postgres_url)
    for name in TABLES:
        if name in TEXT_TABLES:
            rows = pd.read_csv(world.raw_dir / f"{name}.csv", dtype=str, keep_default_na=False)
        else:
            rows = engine_arrow_table(name, data.accepted(name))
        warehouse.create_table(f"warehouse_{name}", rows, overwrite=True)
    warehouse.disconnect()

    config = with_engine(backend="postgres", url=postgres_url, tables={name: f"warehouse_{name}" for name in TABLES})
    scored = score_quarter(world.raw_dir, tmp_path / "processed", config)
    assert scored.data.engine.backend == "postgres"
    assert scored.data.quality()["rejected"].sum() == 0
    assert scored.data.quality()["input_rows"].tolist() == data.quality()["input_rows"].tolist()
    assert_same_scorecard(duckdb_scored.scorecard, scored.scorecard)


def test_spark_scores_the_quarter_like_duckdb(world, duckdb_scored, spark_connection, tmp_path):
    scored = score_quarter(world.raw_dir, tmp_path / "processed", with_engine(backend="pyspark", spark_master="local[2]"))
    assert scored.data.engine.backend == "pyspark"
    assert scored.data.quality()["rejected"].sum() == 0
    assert_same_scorecard(duckdb_scored.scorecard, scored.scorecard)


def test_spark_quarantines_bad_rows_with_file_row_numbers(world, spark_connection, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for path in world.raw_dir.iterdir():
        (raw / path.name).write_bytes(path.read_bytes())
    orders = pd.read_csv(raw / "orders.csv", dtype=str, keep_default_na=False)
    orders.loc[4, "revenue"] = "-5"
    orders.loc[9, "order_date"] = "2025-02-30"
    orders.to_csv(raw / "orders.csv", index=False)
    data = load_raw(raw, EngineSettings(backend="pyspark"))
    rejected = data.tables["orders"].rejected
    assert rejected["row"].tolist() == [5, 10]
    assert rejected["reason"].tolist() == [
        "revenue: must be >= 0 (got '-5'); returned_value <= revenue does not hold",
        "order_date: not an ISO date YYYY-MM-DD (got '2025-02-30')",
    ]

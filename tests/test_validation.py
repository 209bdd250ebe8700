"""The contract compiled to Ibis: agreement with the pandera models, file order at scale,
database tables as sources, and the engine settings that choose them."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from custvalue.config import EngineSettings
from custvalue.contract import TABLES
from custvalue.demo import DemoSpec, generate_world, write_tables
from custvalue.testing import inject_violations
from custvalue.engine import without_secrets
from custvalue.errors import ConfigError, ContractError, EngineError
from custvalue.loading import load_raw


@pytest.fixture(scope="module")
def violated(tmp_path_factory):
    """A 200-customer world with the demo's labelled contract violations, as CSV."""
    world = generate_world(DemoSpec(n_customers=200, seed=3))
    tables, injected = inject_violations(world.tables, seed=2)
    raw = tmp_path_factory.mktemp("violated") / "raw"
    write_tables(tables, raw)
    return raw, tables, injected


def test_every_labelled_violation_is_quarantined_at_its_row(violated):
    raw, tables, injected = violated
    data = load_raw(raw)
    for name, load in data.tables.items():
        expected = set(injected.loc[injected["table"] == name, "row"].astype(int))
        assert set(load.rejected["row"]) == expected, name
        assert load.input_rows == len(tables[name]) == load.accepted_rows + len(load.rejected)


def test_accepted_rows_pass_the_pandera_models_themselves(violated):
    """The engine's compiled rules never accept what the pandas models would reject."""
    data = load_raw(violated[0])
    for name, spec in TABLES.items():
        frame = data.accepted(name)
        for column_name, column in spec.columns.items():
            if str(column.dtype).startswith("string"):
                frame[column_name] = frame[column_name].astype("string")
        spec.model.validate(frame, lazy=True)


def test_rows_keep_their_file_order_in_a_large_csv(tmp_path):
    """DuckDB reads a CSV in parallel; row numbers must still be the file's."""
    raw = tmp_path / "raw"
    world = generate_world(DemoSpec(n_customers=200, seed=1))
    tables = {name: frame.copy() for name, frame in world.tables.items()}
    orders = tables["orders"]
    big = orders.iloc[np.arange(300_000) % len(orders)].reset_index(drop=True)
    big["order_id"] = [f"O{i}" for i in range(len(big))]
    bad = [0, 123_456, 299_999]
    big["revenue"] = big["revenue"].astype(object)
    big.loc[bad, "revenue"] = "n/a"
    tables["orders"] = big
    write_tables(tables, raw)
    load = load_raw(raw).tables["orders"]
    assert load.rejected["row"].tolist() == [row + 1 for row in bad]
    assert load.rejected["order_id"].tolist() == [f"O{row}" for row in bad]
    assert load.rejected["reason"].str.startswith("revenue: not a number (got 'n/a')").all()


def test_database_tables_are_sources_numbered_by_key(tmp_path):
    """With ``engine.tables``, rows come from the connection's tables; a duplicate key is
    "later" when it sorts after the other row."""
    database = tmp_path / "warehouse.duckdb"
    world = generate_world(DemoSpec(n_customers=200, seed=4))
    with duckdb.connect(str(database)) as connection:
        connection.execute("CREATE SCHEMA sales")
        for name, frame in world.tables.items():
            connection.register("frame", frame)
            connection.execute(f"CREATE TABLE sales.{name} AS SELECT * FROM frame")
            connection.unregister("frame")
        connection.execute("INSERT INTO sales.orders SELECT * REPLACE ('zzz' AS customer_id) FROM sales.orders LIMIT 1")
    settings = EngineSettings(database=str(database), tables={name: f"sales.{name}" for name in TABLES})
    data = load_raw(None, settings)
    orders = data.tables["orders"]
    assert orders.location == "duckdb table sales.orders" and orders.sha256 is None
    assert orders.input_rows == len(world.tables["orders"]) + 1
    rejected = orders.rejected
    assert len(rejected) == 1 and rejected.iloc[0]["customer_id"] == "zzz"
    assert "order_id: duplicate of an earlier row" in rejected.iloc[0]["reason"]
    assert "customer_id: unknown customer" in rejected.iloc[0]["reason"]
    assert data.quality().set_index("table").loc["orders", "file"] == "duckdb table sales.orders"
    pd.testing.assert_series_equal(
        data.accepted("customers")["customer_id"].sort_values(ignore_index=True),
        world.tables["customers"]["customer_id"].astype(str).sort_values(ignore_index=True),
        check_dtype=False,
    )
    data.engine.connection.disconnect()
    with duckdb.connect(str(database), read_only=True) as connection:
        tables = connection.execute("SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'warehouse'").fetchall()
        views = connection.execute("SELECT view_name FROM duckdb_views() WHERE database_name = 'warehouse' AND NOT internal").fetchall()
    assert sorted(tables) == sorted(("sales", name) for name in world.tables), "custvalue never writes into the warehouse"
    assert views == []


def test_working_tables_are_compressed_in_their_own_database(violated):
    """DuckDB keeps the accepted rows in an in-memory database of their own, checkpointed
    (compressed) once loaded; every table is there with its accepted rows."""
    raw, _, _ = violated
    data = load_raw(raw)
    connection = data.engine.connection.con
    held = dict(connection.execute("SELECT table_name, estimated_size FROM duckdb_tables() WHERE database_name = 'custvalue_work'").fetchall())
    for name, load in data.tables.items():
        assert f"cv_{name}" in held
        assert data.table(name).count().to_pyarrow().as_py() == load.accepted_rows
    # Before a checkpoint every segment is "Uncompressed"; after it, DuckDB chose a compression.
    methods = {row[0] for row in connection.execute("SELECT DISTINCT compression FROM pragma_storage_info('custvalue_work.main.cv_orders')").fetchall()}
    assert methods and methods != {"Uncompressed"}, methods


def test_a_missing_source_table_is_one_clear_line(tmp_path):
    database = tmp_path / "empty.duckdb"
    duckdb.connect(str(database)).close()
    settings = EngineSettings(database=str(database), tables={"customers": "customers", "orders": "orders", "invoices": "invoices"})
    with pytest.raises(ContractError) as caught:
        load_raw(None, settings)
    assert all("\n" not in problem for problem in caught.value.problems)
    assert any(problem.startswith("duckdb table customers: not found") for problem in caught.value.problems)


@pytest.mark.parametrize(
    "settings, message",
    [
        (EngineSettings(backend="oracle"), "backend must be 'duckdb', 'postgres' or 'pyspark'"),
        (EngineSettings(backend="postgres", tables={"orders": "o"}), "url must be a postgresql:// URL"),
        (EngineSettings(backend="postgres", url="postgresql://me@db/sales"), "tables must name the table"),
        (EngineSettings(tables={"order": "o"}), "unknown contract table(s) order"),
        (EngineSettings(memory_limit="lots"), "memory_limit must look like '6GB'"),
    ],
)
def test_engine_settings_are_checked(settings, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        settings.validate("engine")


def test_a_password_in_the_url_never_reaches_the_manifest():
    config = {"engine": {"url": "postgresql://ann:s3cr:et@db:5432/sales"}, "currency": "EUR"}
    assert without_secrets(config) == {"engine": {"url": "postgresql://ann:***@db:5432/sales"}, "currency": "EUR"}
    assert without_secrets({"engine": {"url": ""}}) == {"engine": {"url": ""}}


def test_an_unreachable_warehouse_is_one_clear_line():
    settings = EngineSettings(backend="postgres", url="postgresql://analyst@127.0.0.1:1/sales", tables={"orders": "sales.orders"})
    with pytest.raises(EngineError) as caught:
        load_raw(None, settings)
    (problem,) = caught.value.problems
    assert problem.startswith("engine.url: cannot connect to PostgreSQL") and "\n" not in problem

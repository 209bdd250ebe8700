"""Fetching a large result in a known order without asking the engine to sort it: rows
numbered 0..n-1 come back in that order, whatever runs the engine returned them in; and
rows that fill only some places of a known grid land in their places, zero elsewhere."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custvalue.engine import fetch, fetch_scattered, runs_in_order

POSITION = "position"


def shuffled_runs(rows: int, cuts: list[int], seed: int, batch_rows: int) -> pa.Table:
    """A result as an engine might return it: rows cut into runs, the runs shuffled, the
    whole split into batches that need not follow the runs."""
    table = pa.table(
        {
            "customer_id": pa.array([f"C{number:05d}" for number in range(rows)]),
            POSITION: pa.array(np.arange(rows), pa.int64()),
            "orders": pa.array(np.arange(rows) * 10, pa.int64()),
            "revenue": pa.array(np.arange(rows) * 1.5),
            "day": pa.array(np.datetime64("2026-01-01") + np.arange(rows) % 90, pa.date32()),
        }
    )
    bounds = [0, *sorted({cut for cut in cuts if 0 < cut < rows}), rows]
    runs = [table.slice(start, end - start) for start, end in zip(bounds, bounds[1:])]
    order = np.random.default_rng(seed).permutation(len(runs))
    shuffled = pa.concat_tables([runs[i] for i in order]).combine_chunks()
    return pa.Table.from_batches(shuffled.to_batches(max_chunksize=batch_rows))


def assert_in_order(frame: pd.DataFrame, rows: int) -> None:
    assert list(frame.columns) == ["customer_id", "orders", "revenue", "day"]
    assert frame["customer_id"].tolist() == [f"C{number:05d}" for number in range(rows)]
    np.testing.assert_array_equal(frame["orders"].to_numpy(), np.arange(rows) * 10)
    np.testing.assert_array_equal(frame["revenue"].to_numpy(), np.arange(rows) * 1.5)
    assert frame["day"].dtype == "datetime64[ns]"
    assert (frame["day"] == pd.Timestamp("2026-01-01") + pd.to_timedelta(np.arange(rows) % 90, unit="D")).all()


@settings(max_examples=40, deadline=None)
@given(
    rows=st.integers(1, 300),
    cuts=st.lists(st.integers(0, 300), max_size=30),
    seed=st.integers(0, 2**32 - 1),
    batch_rows=st.integers(1, 400),
)
def test_rows_come_back_in_order_from_any_runs(rows, cuts, seed, batch_rows):
    assert_in_order(fetch(ibis.memtable(shuffled_runs(rows, cuts, seed, batch_rows)), in_order_of=POSITION), rows)


@settings(max_examples=30, deadline=None)
@given(rows=st.integers(2, 200), seed=st.integers(0, 2**32 - 1), batch_rows=st.integers(1, 50))
def test_rows_in_no_order_at_all_are_reordered_one_by_one(rows, seed, batch_rows):
    """More runs than ``most_runs``: the row-by-row path puts every row in place."""
    table = shuffled_runs(rows, list(range(rows)), seed, batch_rows)
    arranged, order = runs_in_order(table, POSITION, most_runs=0)
    assert isinstance(order, np.ndarray)
    np.testing.assert_array_equal(arranged.column(POSITION).to_numpy()[order], np.arange(rows))


def test_runs_are_rearranged_without_reordering_rows():
    table = shuffled_runs(1_000, [100, 350, 700], seed=1, batch_rows=64)
    arranged, order = runs_in_order(table, POSITION)
    assert order == slice(None)
    np.testing.assert_array_equal(arranged.column(POSITION).to_numpy(), np.arange(1_000))


def test_a_plain_fetch_keeps_the_engines_order_and_types():
    table = shuffled_runs(50, [10, 20], seed=3, batch_rows=7)
    frame = fetch(ibis.memtable(table))
    assert frame[POSITION].tolist() == table.column(POSITION).to_pylist()
    assert frame["day"].dtype == "datetime64[ns]"


def sparse_result(rows: int, places: list[int], seed: int, batch_rows: int) -> tuple[pa.Table, dict[str, np.ndarray]]:
    """Rows for some places of a grid of ``rows``, shuffled into batches, with NULLs; and
    the grid's columns they should give."""
    rng = np.random.default_rng(seed)
    at = rng.permutation(np.array(sorted(set(places)), dtype=np.int64))
    count = rng.integers(1, 1_000, size=len(at))
    amount = rng.normal(size=len(at))
    missing = rng.random(len(at)) < 0.2
    table = pa.table(
        {
            "count": pa.array(count, pa.int64(), mask=missing),
            POSITION: pa.array(at, pa.int64()),
            "amount": pa.array(amount, pa.float64()),
        }
    )
    expected = {"count": np.zeros(rows, np.int64), "amount": np.zeros(rows)}
    expected["count"][at] = np.where(missing, 0, count)
    expected["amount"][at] = amount
    return pa.Table.from_batches(table.to_batches(max_chunksize=batch_rows), schema=table.schema), expected


@settings(max_examples=40, deadline=None)
@given(
    rows=st.integers(1, 300),
    data=st.data(),
    seed=st.integers(0, 2**32 - 1),
    batch_rows=st.integers(1, 400),
)
def test_scattered_rows_land_in_their_places_and_zero_fills_the_rest(rows, data, seed, batch_rows):
    places = data.draw(st.lists(st.integers(0, rows - 1), max_size=rows))
    table, expected = sparse_result(rows, places, seed, batch_rows)
    columns = fetch_scattered(ibis.memtable(table), POSITION, rows)
    assert list(columns) == ["count", "amount"]
    for name, values in expected.items():
        assert columns[name].dtype == values.dtype
        np.testing.assert_array_equal(columns[name], values)
        assert columns[name].flags.writeable


def test_scattered_rows_outside_the_grid_or_without_a_place_are_errors():
    table, _ = sparse_result(10, [0, 5, 9], seed=1, batch_rows=2)
    with pytest.raises(ValueError, match="outside 0..8"):
        fetch_scattered(ibis.memtable(table), POSITION, 9)
    unplaced = table.set_column(1, POSITION, pa.array([0, None, 9], pa.int64()))
    with pytest.raises(ValueError, match="1 rows have no position"):
        fetch_scattered(ibis.memtable(unplaced), POSITION, 10)
    with pytest.raises(TypeError, match="customer_id is string"):
        fetch_scattered(ibis.memtable(table.append_column("customer_id", pa.array(["a", "b", "c"]))), POSITION, 10)

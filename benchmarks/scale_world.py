"""Write a large benchmark world (Parquet) for the scale benchmarks.

The world is built from the demo generator (:mod:`custvalue.demo`), whose shape and
planted archetypes it keeps: ``generate_world`` cannot make 1M customers in one go (it
gives ~60 orders, 60 invoices and 15 tickets per customer over three years, so 1M
customers would be 60M orders and ~30 GB of memory), so the world is generated in
*blocks* of ``--block`` customers (default 20,000), each its own demo world with its own
seed, and

- every id gets the block number after its letter (``C00000001`` is customer ``C00001``
  of block 0000, ``O0012...`` an order of block 12), so ids stay unique across blocks;
- events are thinned with a seeded Bernoulli draw per block to the target counts per
  customer (default 20 orders, 5 invoices, 2 tickets; incidents are kept as generated,
  ~0.9 per customer). An invoice is kept only with its order (the demo bills one invoice
  per order, same customer, day and amount), so invoices still match orders.

Blocks are appended to one Parquet file per table with ``pyarrow.parquet.ParquetWriter``
(one row group per block), so memory stays at one block's worth (~0.7 GB at 20,000
customers) whatever the size. The files follow the data contract like the demo's Parquet
(dates as ``date32``, booleans, missing = null) and are written into a temporary folder
that is renamed when complete; a finished world (``spec.json`` matching) is reused.

Output: ``benchmarks/data/scale/<name>/raw/{customers,orders,invoices,support_tickets,
incidents}.parquet`` and ``benchmarks/data/scale/<name>/spec.json`` (git-ignored).

Usage::

    .venv/bin/python benchmarks/scale_world.py                      # 1M customers, ~20M orders
    .venv/bin/python benchmarks/scale_world.py --customers 100000   # -> benchmarks/data/scale/100k
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
SCALE = HERE / "data" / "scale"
TABLES = ("customers", "orders", "invoices", "support_tickets", "incidents")
ID_COLUMNS = {
    "customers": ("customer_id", "C"),
    "orders": ("order_id", "O"),
    "invoices": ("invoice_id", "INV"),
    "support_tickets": ("ticket_id", "T"),
    "incidents": ("incident_id", "I"),
}
_S, _D, _F, _I, _B = pa.string(), pa.date32(), pa.float64(), pa.int64(), pa.bool_()
SCHEMAS = {
    "customers": pa.schema([("customer_id", _S), ("name", _S), ("segment", _S), ("region", _S), ("account_manager", _S),
                            ("created_on", _D), ("employees", _I), ("ended_on", _D)]),
    "orders": pa.schema([("order_id", _S), ("customer_id", _S), ("order_date", _D), ("revenue", _F), ("cost_of_goods", _F),
                         ("discount", _F), ("lines", _I), ("rush", _B), ("manual", _B), ("returned_value", _F)]),
    "invoices": pa.schema([("invoice_id", _S), ("customer_id", _S), ("issue_date", _D), ("due_date", _D), ("amount", _F),
                           ("paid_date", _D), ("paid_amount", _F), ("disputed", _B), ("written_off", _F)]),
    "support_tickets": pa.schema([("ticket_id", _S), ("customer_id", _S), ("opened_on", _D), ("minutes", _I),
                                  ("channel", _S), ("caused_by_us", _B), ("escalated", _B)]),
    "incidents": pa.schema([("incident_id", _S), ("customer_id", _S), ("date", _D), ("kind", _S), ("severity", _I),
                            ("note", _S)]),
}  # fmt: skip


def default_name(customers: int) -> str:
    """``1m`` for 1,000,000, ``100k`` for 100,000, else the number."""
    if customers % 1_000_000 == 0:
        return f"{customers // 1_000_000}m"
    if customers % 1_000 == 0:
        return f"{customers // 1_000}k"
    return str(customers)


def world_dir(name: str) -> Path:
    return SCALE / name


def raw_dir(name: str) -> Path:
    return world_dir(name) / "raw"


def _arrow_column(series: pd.Series, kind: pa.DataType) -> pa.Array:
    if kind == _D:
        days = series.to_numpy(dtype="datetime64[s]").astype("datetime64[D]")
        return pa.array(days, type=_D, mask=np.isnat(days))
    if kind == _S:
        values = series.to_numpy(dtype=object)
        return pa.array(values, type=_S, from_pandas=True)
    if kind == _I and isinstance(series.dtype, pd.Int64Dtype):
        return pa.array(series.to_numpy(dtype=np.int64, na_value=0), type=_I, mask=series.isna().to_numpy())
    return pa.array(series.to_numpy(), type=kind)


def _prefixed(array: pa.Array, letter: str, block: int) -> pa.Array:
    """``C00001`` of block 12 -> ``C001200001``."""
    rest = pc.utf8_slice_codeunits(array, len(letter))
    return pc.binary_join_element_wise(pa.scalar(f"{letter}{block:04d}"), rest, "")


def _to_arrow(name: str, frame: pd.DataFrame, block: int) -> pa.Table:
    schema = SCHEMAS[name]
    columns = {field.name: _arrow_column(frame[field.name], field.type) for field in schema}
    id_column, letter = ID_COLUMNS[name]
    columns[id_column] = _prefixed(columns[id_column], letter, block)
    if name != "customers":
        columns["customer_id"] = _prefixed(columns["customer_id"], "C", block)
    return pa.table(columns, schema=schema)


def _thin(frame: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    return frame.iloc[np.flatnonzero(keep)].reset_index(drop=True)


def generate(
    customers: int,
    name: str | None = None,
    *,
    orders_per_customer: float = 20.0,
    invoices_per_customer: float = 5.0,
    tickets_per_customer: float = 2.0,
    block: int = 20_000,
    seed: int = 20260630,
    force: bool = False,
    quiet: bool = False,
) -> Path:
    """Write the world (if not already there) and return its raw folder."""
    from custvalue.demo import DemoSpec, generate_world

    name = name or default_name(customers)
    target = world_dir(name)
    spec = {
        "customers": customers, "orders_per_customer": orders_per_customer,
        "invoices_per_customer": invoices_per_customer, "tickets_per_customer": tickets_per_customer,
        "block": block, "seed": seed,
    }  # fmt: skip
    spec_path = target / "spec.json"
    if not force and spec_path.is_file():
        written = json.loads(spec_path.read_text())
        if written.get("spec") == spec:
            return target / "raw"
    n_blocks = max(1, -(-customers // block))
    sizes = [len(part) for part in np.array_split(np.arange(customers), n_blocks)]
    if min(sizes) < 200:
        raise SystemExit(f"--block {block}: blocks of {min(sizes)} customers; the demo needs at least 200")

    staging = SCALE / f".{name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "raw").mkdir(parents=True)
    writers = {table: pq.ParquetWriter(staging / "raw" / f"{table}.parquet", SCHEMAS[table]) for table in TABLES}
    counts = dict.fromkeys(TABLES, 0)
    seeds = np.random.SeedSequence(seed).spawn(n_blocks)
    started = time.perf_counter()
    try:
        for index, (size, block_seed) in enumerate(zip(sizes, seeds)):
            demo_seed, thin_seed = block_seed.generate_state(2)
            world = generate_world(DemoSpec(n_customers=size, seed=int(demo_seed)))
            rng = np.random.default_rng(int(thin_seed))
            tables = dict(world.tables)
            orders, invoices = tables["orders"], tables["invoices"]
            assert len(orders) == len(invoices) and (orders["customer_id"].to_numpy() == invoices["customer_id"].to_numpy()).all()
            keep_order = rng.random(len(orders)) < min(1.0, orders_per_customer * size / max(len(orders), 1))
            share = invoices_per_customer * size / max(int(keep_order.sum()), 1)
            keep_invoice = keep_order & (rng.random(len(invoices)) < min(1.0, share))
            tables["orders"] = _thin(orders, keep_order)
            tables["invoices"] = _thin(invoices, keep_invoice)
            tickets = tables["support_tickets"]
            tables["support_tickets"] = _thin(tickets, rng.random(len(tickets)) < min(1.0, tickets_per_customer * size / max(len(tickets), 1)))
            del world, orders, invoices, tickets
            for table in TABLES:
                writers[table].write_table(_to_arrow(table, tables[table], index))
                counts[table] += len(tables[table])
            del tables
            if not quiet:
                elapsed = time.perf_counter() - started
                print(f"  block {index + 1}/{n_blocks}: {counts['customers']:,} customers, {counts['orders']:,} orders "
                      f"({elapsed:.0f} s)", flush=True)  # fmt: skip
    finally:
        for writer in writers.values():
            writer.close()
    seconds = time.perf_counter() - started
    sizes_mb = {table: round((staging / "raw" / f"{table}.parquet").stat().st_size / 1e6, 1) for table in TABLES}
    (staging / "spec.json").write_text(json.dumps({"spec": spec, "rows": counts, "parquet_mb": sizes_mb, "seconds": round(seconds, 1)}, indent=2))
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    if not quiet:
        print(f"wrote {target / 'raw'} in {seconds:.0f} s: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
    return target / "raw"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--name", default=None, help="folder under benchmarks/data/scale (default: 1m, 100k, ...)")
    parser.add_argument("--orders-per-customer", type=float, default=20.0)
    parser.add_argument("--invoices-per-customer", type=float, default=5.0)
    parser.add_argument("--tickets-per-customer", type=float, default=2.0)
    parser.add_argument("--block", type=int, default=20_000, help="customers per demo world (memory ~ 35 kB each)")
    parser.add_argument("--seed", type=int, default=20260630)
    parser.add_argument("--force", action="store_true", help="regenerate even when the world exists")
    arguments = parser.parse_args(argv)
    raw = generate(
        arguments.customers, arguments.name, orders_per_customer=arguments.orders_per_customer,
        invoices_per_customer=arguments.invoices_per_customer, tickets_per_customer=arguments.tickets_per_customer,
        block=arguments.block, seed=arguments.seed, force=arguments.force,
    )  # fmt: skip
    print(raw)
    return 0


if __name__ == "__main__":
    sys.exit(main())

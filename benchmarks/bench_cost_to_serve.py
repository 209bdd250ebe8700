"""Benchmark: cost to serve on 20 million orders and 2 million tickets.

Synthetic contract tables are generated with numpy (seeded) as Parquet under
``benchmarks/data/cost_to_serve/`` (git-ignored; reused when present). Two pipelines
build the same activity table for eight quarters and cost it with the same settings:

- **engine** (custvalue): DuckDB reads the Parquet files, the features' Ibis
  expressions (``custvalue.features.quarterly_activity``) aggregate in the engine, and
  only the compact customer x quarter table comes back to pandas for
  ``compute_cost_to_serve``;
- the same expression fetched with ``to_pyarrow().to_pandas()`` rather than Ibis'
  ``execute()`` (a variant, to show where the engine pipeline's memory peak is);
- **pandas baseline**: the same columns read into pandas and aggregated with plain
  ``groupby`` (receivable days with one vectorised pass per quarter), then the same
  ``compute_cost_to_serve``.

Each runs in its own process, so its peak resident memory is its own. The script
prints wall time (aggregation, costing) and peak memory per pipeline, checks that both
produced the same activity table and costs, and exits non-zero if they differ.

Usage::

    .venv/bin/python benchmarks/bench_cost_to_serve.py [--orders 20000000] [--tickets 2000000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "cost_to_serve"
FIRST, LAST = "2024Q3", "2026Q2"
START, END = np.datetime64("2024-07-01"), np.datetime64("2026-06-30")
CHANNELS = np.array(["phone", "email", "chat", "onsite"])
KINDS = np.array(["abusive_conduct", "staff_avoidance", "unreasonable_demand", "price_pressure", "info_withheld", "contract_breach"])
CHUNK = 5_000_000


# --------------------------------------------------------------------------- data


def generate(folder: Path, n_orders: int, n_tickets: int, seed: int = 20260630) -> None:
    """Write customers, orders, invoices, support_tickets and incidents as Parquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_customers = max(1_000, n_orders // 100)
    days = int((END - START).astype(int)) + 1
    ids = np.array([f"C{i:07d}" for i in range(n_customers)], dtype=object)
    ids_arrow = pa.array(ids, type=pa.string())

    def stamp(day_numbers: np.ndarray) -> pa.Array:
        return pa.array((START + day_numbers.astype("timedelta64[D]")).astype("datetime64[us]"))

    def customer_column(index: np.ndarray) -> pa.Array:
        return ids_arrow.take(pa.array(index))

    created = np.where(rng.random(n_customers) < 0.8, -rng.integers(30, 3000, n_customers), rng.integers(0, days - 30, n_customers))
    ended = np.where(rng.random(n_customers) < 0.05, np.minimum(created + rng.integers(200, 700, n_customers), days - 1), -1)
    ended_arrow = pa.array((START + np.maximum(ended, 0).astype("timedelta64[D]")).astype("datetime64[us]"), mask=ended < 0)
    pq.write_table(
        pa.table({"customer_id": ids_arrow, "name": ids_arrow, "segment": pa.array(np.full(n_customers, "small-business")),
                  "created_on": stamp(created), "ended_on": ended_arrow}),
        folder / "customers.parquet",
    )  # fmt: skip
    lo = np.maximum(created, 0)
    hi = np.where(ended >= 0, ended, days - 1)
    weight = rng.lognormal(0.0, 1.0, n_customers)
    weight /= weight.sum()

    def events(count: int) -> tuple[np.ndarray, np.ndarray]:
        customer = rng.choice(n_customers, size=count, p=weight)
        day = lo[customer] + (rng.random(count) * (hi[customer] - lo[customer] + 1)).astype(np.int64)
        return customer, day

    with pq.ParquetWriter(folder / "orders.parquet", _schema("orders")) as writer:
        for done in range(0, n_orders, CHUNK):
            k = min(CHUNK, n_orders - done)
            customer, day = events(k)
            lines = 1 + rng.negative_binomial(2, 0.3, k)
            revenue = np.round(lines * rng.lognormal(4.5, 0.6, k), 2)
            returned = np.where(rng.random(k) < 0.04, np.round(revenue * rng.uniform(0.05, 1, k), 2), 0.0)
            writer.write_table(pa.table({
                "order_id": pa.array(np.char.add("O", (np.arange(k) + done).astype(str))),
                "customer_id": customer_column(customer), "order_date": stamp(day), "revenue": revenue,
                "cost_of_goods": np.round(revenue * rng.uniform(0.6, 0.75, k), 2),
                "discount": np.round(revenue * np.where(rng.random(k) < 0.5, rng.uniform(0, 0.1, k), 0), 2),
                "lines": lines.astype(np.int64), "rush": rng.random(k) < 0.06, "manual": rng.random(k) < 0.15,
                "returned_value": returned,
            }, schema=_schema("orders")))  # fmt: skip

    # Monthly invoices per active customer month.
    month_starts = np.arange(START.astype("datetime64[M]"), (END + 1).astype("datetime64[M]")).astype("datetime64[D]")
    month_day = (month_starts - START).astype(int)
    alive = (lo[:, None] <= month_day[None, :] + 27) & (hi[:, None] >= month_day[None, :])
    customer, month = np.nonzero(alive)
    k = customer.size
    issue = month_day[month] + 27
    amount = np.round(rng.lognormal(6.0, 1.0, k), 2)
    late = np.rint(rng.normal(5, 10, k)).astype(np.int64)
    never = rng.random(k) < 0.01
    paid = np.where(never, -1, issue + 30 + np.clip(late, -20, 120))
    written_off = np.where(never & (issue + 150 <= days - 1), amount, 0.0)
    pq.write_table(pa.table({
        "invoice_id": pa.array(np.char.add("I", np.arange(k).astype(str))),
        "customer_id": customer_column(customer), "issue_date": stamp(issue), "due_date": stamp(issue + 30),
        "amount": amount, "paid_date": pa.array((START + np.maximum(paid, 0).astype("timedelta64[D]")).astype("datetime64[us]"), mask=paid < 0),
        "paid_amount": np.where(never, 0.0, amount), "disputed": rng.random(k) < 0.02, "written_off": written_off,
    }), folder / "invoices.parquet")  # fmt: skip

    customer, day = events(n_tickets)
    channel = rng.choice(4, size=n_tickets, p=[0.3, 0.4, 0.22, 0.08])
    minutes = np.where(channel == 3, rng.integers(120, 241, n_tickets), rng.integers(10, 61, n_tickets))
    pq.write_table(pa.table({
        "ticket_id": pa.array(np.char.add("T", np.arange(n_tickets).astype(str))),
        "customer_id": customer_column(customer), "opened_on": stamp(day), "minutes": minutes.astype(np.float64),
        "channel": pa.array(CHANNELS[channel]), "caused_by_us": rng.random(n_tickets) < 0.15,
        "escalated": rng.random(n_tickets) < 0.05,
    }), folder / "support_tickets.parquet")  # fmt: skip

    n_incidents = max(100, n_tickets // 40)
    customer, day = events(n_incidents)
    pq.write_table(pa.table({
        "incident_id": pa.array(np.char.add("X", np.arange(n_incidents).astype(str))),
        "customer_id": customer_column(customer), "date": stamp(day),
        "kind": pa.array(KINDS[rng.integers(0, len(KINDS), n_incidents)]),
        "severity": rng.integers(1, 4, n_incidents).astype(np.int64),
    }), folder / "incidents.parquet")  # fmt: skip
    (folder / "spec.json").write_text(json.dumps({"orders": n_orders, "tickets": n_tickets, "seed": seed}))


def _schema(name: str):
    import pyarrow as pa

    assert name == "orders"
    return pa.schema([
        ("order_id", pa.string()), ("customer_id", pa.string()), ("order_date", pa.timestamp("us")),
        ("revenue", pa.float64()), ("cost_of_goods", pa.float64()), ("discount", pa.float64()),
        ("lines", pa.int64()), ("rush", pa.bool_()), ("manual", pa.bool_()), ("returned_value", pa.float64()),
    ])  # fmt: skip


# --------------------------------------------------------------------------- the two pipelines


def run_engine(folder: Path) -> dict:
    """custvalue: DuckDB + the features' Ibis code, then compute_cost_to_serve."""
    import ibis

    from custvalue.config import Config
    from custvalue.cost_to_serve import compute_cost_to_serve
    from custvalue.engine import Engine
    from custvalue.features import quarterly_activity
    from custvalue.quarters import Quarter

    start = time.perf_counter()
    connection = ibis.duckdb.connect()
    for name in ("customers", "orders", "invoices", "support_tickets", "incidents"):
        connection.read_parquet(folder / f"{name}.parquet", table_name=name)
    engine, first, last = Engine(connection), Quarter.parse(FIRST), Quarter.parse(LAST)
    activity = quarterly_activity(engine, first, last)
    aggregated = time.perf_counter()
    result = compute_cost_to_serve(activity, Config().cost_to_serve)
    done = time.perf_counter()
    return _report(activity, result, aggregated - start, done - aggregated)


def run_pandas(folder: Path) -> dict:
    """Baseline: the same drivers with plain pandas groupby, then compute_cost_to_serve."""
    import pandas as pd

    from custvalue.config import Config
    from custvalue.cost_to_serve import compute_cost_to_serve
    from custvalue.quarters import Quarter, quarter_range

    start = time.perf_counter()
    quarters = quarter_range(Quarter.parse(FIRST), Quarter.parse(LAST))
    first_day, last_day = pd.Timestamp(quarters[0].start), pd.Timestamp(quarters[-1].end)
    key = ["customer_id", "quarter"]

    def label(dates: pd.Series) -> pd.Series:
        return dates.dt.year.astype(str) + "Q" + dates.dt.quarter.astype(str)

    def window(frame: pd.DataFrame, column: str) -> pd.DataFrame:
        day = frame[column].dt.normalize()
        frame = frame[(day >= first_day) & (day <= last_day)].copy()
        frame["quarter"] = label(frame[column])
        return frame

    orders = window(pd.read_parquet(folder / "orders.parquet", columns=["customer_id", "order_date", "revenue", "cost_of_goods", "discount", "lines", "rush", "manual", "returned_value"]), "order_date")
    orders["has_return"] = orders["returned_value"] > 0
    order_part = orders.groupby(key).agg(
        orders=("lines", "size"), order_lines=("lines", "sum"), rush_orders=("rush", "sum"), manual_orders=("manual", "sum"),
        returns=("has_return", "sum"), returned_value=("returned_value", "sum"), revenue=("revenue", "sum"),
        cost_of_goods=("cost_of_goods", "sum"), discount=("discount", "sum"),
    )  # fmt: skip
    del orders

    tickets = window(pd.read_parquet(folder / "support_tickets.parquet", columns=["customer_id", "opened_on", "minutes", "channel", "caused_by_us", "escalated"]), "opened_on")
    ours, theirs = tickets["caused_by_us"], ~tickets["caused_by_us"]
    onsite = tickets["channel"] == "onsite"
    measures = {
        "tickets": theirs, "ticket_minutes": tickets["minutes"].where(theirs, 0), "onsite_visits": theirs & onsite,
        "escalations": theirs & tickets["escalated"], "our_tickets": ours, "our_ticket_minutes": tickets["minutes"].where(ours, 0),
        "our_onsite_visits": ours & onsite,
    }  # fmt: skip
    for channel in CHANNELS:
        on = tickets["channel"] == channel
        measures[f"minutes_{channel}"] = tickets["minutes"].where(theirs & on, 0)
        measures[f"our_minutes_{channel}"] = tickets["minutes"].where(ours & on, 0)
    ticket_part = pd.DataFrame({**{k: tickets[k] for k in key}, **measures}).groupby(key).sum()
    del tickets, measures

    invoices = pd.read_parquet(folder / "invoices.parquet", columns=["customer_id", "issue_date", "amount", "paid_date", "disputed", "written_off"])
    issued = window(invoices, "issue_date")
    invoice_part = issued.groupby(key).agg(invoices=("amount", "size"), invoiced=("amount", "sum"), disputes=("disputed", "sum"), written_off=("written_off", "sum"))
    del issued
    invoices = invoices[invoices["issue_date"].dt.normalize() <= last_day]
    stop = last_day + pd.Timedelta(days=1)
    open_from = invoices["issue_date"].dt.normalize()
    open_until = invoices["paid_date"].dt.normalize().fillna(stop).clip(upper=stop)
    pieces = []
    for quarter in quarters:
        q_start, q_next = pd.Timestamp(quarter.start), pd.Timestamp(quarter.shift(1).start)
        overlap = (open_from < q_next) & (open_until > q_start)
        days = (open_until.clip(upper=q_next) - open_from.clip(lower=q_start)).dt.days
        piece = pd.DataFrame({"customer_id": invoices["customer_id"][overlap], "amount_days": (invoices["amount"] * days)[overlap]})
        pieces.append(piece.groupby("customer_id")["amount_days"].sum().rename("receivable_days").reset_index().assign(quarter=str(quarter)))
    receivable_part = pd.concat(pieces).set_index(key)
    del invoices, pieces

    incidents = window(pd.read_parquet(folder / "incidents.parquet", columns=["customer_id", "date", "kind", "severity"]), "date")
    severity = {f"severity_{kind}": incidents["severity"].where(incidents["kind"] == kind, 0) for kind in KINDS}
    incident_part = pd.DataFrame({**{k: incidents[k] for k in key}, "incidents": 1, **severity}).groupby(key).sum()

    customers = pd.read_parquet(folder / "customers.parquet", columns=["customer_id", "created_on", "ended_on"])
    grid = []
    for quarter in quarters:
        q_start, q_end = pd.Timestamp(quarter.start), pd.Timestamp(quarter.end)
        alive = (customers["created_on"] <= q_end) & (customers["ended_on"].isna() | (customers["ended_on"] >= q_start))
        grid.append(pd.DataFrame({"customer_id": customers["customer_id"][alive], "quarter": str(quarter)}))
    activity = pd.concat(grid).set_index(key)
    for part in (order_part, ticket_part, invoice_part, receivable_part, incident_part):
        activity = activity.join(part, how="left")
    activity = activity.fillna(0).reset_index().sort_values(key, ignore_index=True)
    aggregated = time.perf_counter()
    result = compute_cost_to_serve(activity, Config().cost_to_serve)
    done = time.perf_counter()
    return _report(activity, result, aggregated - start, done - aggregated)


def _report(activity, result, aggregate_seconds: float, cost_seconds: float) -> dict:
    costs = result.customer_costs
    return {
        "aggregate_seconds": aggregate_seconds,
        "cost_seconds": cost_seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rows": len(activity),
        "checksums": {
            **{c: float(activity[c].astype(float).sum()) for c in ("orders", "order_lines", "ticket_minutes", "our_ticket_minutes", "receivable_days", "incidents")},
            "cost_to_serve": float(costs["cost_to_serve"].sum()),
            "operating_profit": float(costs["operating_profit"].sum()),
        },
    }


PHASES = {
    "engine": run_engine,
    "pandas": run_pandas,
}


# --------------------------------------------------------------------------- driver


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000_000)
    parser.add_argument("--tickets", type=int, default=2_000_000)
    parser.add_argument("--phase", choices=list(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, default=None, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    folder = arguments.data or DATA / f"{arguments.orders}_{arguments.tickets}"
    if arguments.phase:
        print(json.dumps(PHASES[arguments.phase](folder)))
        return 0

    if not (folder / "spec.json").is_file():
        print(f"generating {arguments.orders:,} orders and {arguments.tickets:,} tickets into {folder} ...", flush=True)
        started = time.perf_counter()
        generate(folder, arguments.orders, arguments.tickets)
        print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)
    size = sum(path.stat().st_size for path in folder.glob("*.parquet")) / 1e6
    print(f"data: {folder} ({size:,.0f} MB of Parquet)")
    results = {}
    titles = {
        "engine": "custvalue: DuckDB + Ibis features",
        "pandas": "baseline: plain pandas groupby",
    }
    for phase, title in titles.items():
        started = time.perf_counter()
        output = subprocess.run(
            [sys.executable, __file__, "--phase", phase, "--data", str(folder)], check=True, capture_output=True, text=True
        ).stdout
        figures = json.loads(output.strip().splitlines()[-1])
        figures["wall_seconds"] = time.perf_counter() - started
        results[title] = figures
    print(f"\n{'pipeline':<36}{'aggregate s':>12}{'cost s':>9}{'process s':>11}{'peak MB':>10}{'rows':>12}")
    for title, f in results.items():
        print(f"{title:<36}{f['aggregate_seconds']:>12.1f}{f['cost_seconds']:>9.2f}{f['wall_seconds']:>11.1f}{f['peak_rss_mb']:>10,.0f}{f['rows']:>12,}")
    engine, limited, baseline = results.values()
    print(f"\nspeed-up (aggregate + cost): {(baseline['aggregate_seconds'] + baseline['cost_seconds']) / (engine['aggregate_seconds'] + engine['cost_seconds']):.1f}x; "
          f"peak memory: {engine['peak_rss_mb'] / baseline['peak_rss_mb']:.0%} of the baseline's")  # fmt: skip
    mismatched = {
        name: (run["checksums"][name], baseline["checksums"][name])
        for run in (engine, limited)
        for name in run["checksums"]
        if not np.isclose(run["checksums"][name], baseline["checksums"][name], rtol=1e-9, atol=0.01)
    }
    if mismatched or not engine["rows"] == limited["rows"] == baseline["rows"]:
        print(f"MISMATCH between the pipelines: {mismatched or 'row counts'}")
        return 1
    print("both pipelines give the same activity table totals and costs")
    return 0


if __name__ == "__main__":
    sys.exit(main())

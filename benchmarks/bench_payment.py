"""Benchmark: payment behaviour on 5 million invoices (not a test; `make benchmark`).

A seeded synthetic ledger (``custvalue.testing``) is written once to
``benchmarks/data/payment_<n>.parquet`` (git-ignored) and then run through, each in its
own process so that peak memory (max resident set size) is measured separately:

``pandas-metrics``   the baseline: a plain pandas implementation of the collections
                     metrics (DSO, countback DSO, best possible DSO, ADD, CEI, aging per
                     customer), reading the Parquet files into memory;
``engine-metrics``   the same metrics in the engine (Ibis on DuckDB), as the package
                     computes them;
``engine-full``      the whole analysis: ledger, both Cox fits on a 200k sample, Kaplan-
                     Meier, metrics per customer, segment and company, and the verdict for
                     four quarters.

The two metric implementations are also compared value by value.

Usage: ``python benchmarks/bench_payment.py [--invoices 5000000] [--seed 7]``
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
AS_OF = date(2026, 6, 30)
INVOICES_PER_CUSTOMER = 12.5


def paths(invoices: int, seed: int) -> dict[str, Path]:
    stem = f"payment_{invoices}_{seed}"
    return {"invoices": DATA / f"{stem}_invoices.parquet", "customers": DATA / f"{stem}_customers.parquet"}


def generate(invoices: int, seed: int) -> None:
    from custvalue.testing import LedgerSpec, simulate_ledger

    files = paths(invoices, seed)
    if all(path.is_file() for path in files.values()):
        return
    DATA.mkdir(parents=True, exist_ok=True)
    spec = LedgerSpec(
        n_customers=int(invoices / INVOICES_PER_CUSTOMER),
        invoices_per_customer=INVOICES_PER_CUSTOMER,
        seed=seed,
        write_off_rate=0.01,
    )
    started = time.perf_counter()
    tables = simulate_ledger(spec)
    for name, path in files.items():
        tables[name].to_parquet(path, index=False)
    print(f"generated {len(tables['invoices']):,} invoices for {len(tables['customers']):,} customers "
          f"in {time.perf_counter() - started:.1f} s -> {files['invoices'].parent}")  # fmt: skip


# --------------------------------------------------------------------------- the baseline


def pandas_metrics(invoices: pd.DataFrame, as_of: date, dso_days: int, cei_days: int, months: int, bounds: tuple[int, ...]) -> pd.DataFrame:
    """Plain pandas: the collections metrics per customer (same definitions as the package)."""
    as_of = pd.Timestamp(as_of)
    inv = invoices[invoices["issue_date"] <= as_of]
    paid = inv["paid_date"].notna() & (inv["paid_date"] <= as_of)
    part = np.where(inv["paid_date"].isna(), inv["paid_amount"], 0.0)
    balance = np.where(paid, 0.0, np.maximum(inv["amount"] - part - inv["written_off"], 0.0)).round(2)
    collectible = np.maximum(inv["amount"] - inv["written_off"], 0.0).round(2)
    past_due = (as_of - inv["due_date"]).dt.days.to_numpy()
    cei_start = as_of - pd.Timedelta(days=cei_days)
    open_at_start = (inv["issue_date"] <= cei_start) & (inv["paid_date"].isna() | (inv["paid_date"] > cei_start))
    frame = pd.DataFrame(
        {
            "customer_id": inv["customer_id"].to_numpy(),
            "ar": balance,
            "ar_current": np.where(past_due <= 0, balance, 0.0),
            "weighted": balance * np.maximum(past_due, 0),
            "sales_dso": np.where(inv["issue_date"] > as_of - pd.Timedelta(days=dso_days), collectible, 0.0),
            "sales_cei": np.where(inv["issue_date"] > cei_start, collectible, 0.0),
            "ar_cei_start": np.where(open_at_start, collectible, 0.0),
        }
    )
    edges = [-np.inf, *bounds, np.inf]
    bucket = np.digitize(past_due, edges[1:-1], right=True)
    for index in range(len(bounds) + 1):
        frame[f"aging_{index}"] = np.where(bucket == index, balance, 0.0)
    sums = frame.groupby("customer_id", sort=True).sum()
    out = pd.DataFrame(index=sums.index)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["dso"] = np.where(sums["sales_dso"] > 0, sums["ar"] * dso_days / sums["sales_dso"], np.nan)
        out["best_dso"] = np.where(sums["sales_dso"] > 0, sums["ar_current"] * dso_days / sums["sales_dso"], np.nan)
        out["add"] = np.where(sums["ar"] > 0, sums["weighted"] / sums["ar"], np.nan)
        collected = sums["ar_cei_start"] + sums["sales_cei"] - sums["ar"]
        collectable = sums["ar_cei_start"] + sums["sales_cei"] - sums["ar_current"]
        out["cei"] = np.where(collectable > 0, (100 * collected / collectable).clip(0, 100), np.nan)
    out["ar"] = sums["ar"]
    # countback: monthly sales newest first, walked back until the receivables are used up
    back = (as_of.year * 12 + as_of.month - 1) - (inv["issue_date"].dt.year * 12 + inv["issue_date"].dt.month - 1)
    keep = (back >= 0) & (back < months)
    monthly = (
        pd.DataFrame({"customer_id": inv["customer_id"].to_numpy()[keep], "back": back[keep].to_numpy(), "s": collectible[keep]})
        .pivot_table(index="customer_id", columns="back", values="s", aggfunc="sum", fill_value=0.0)
        .reindex(index=sums.index, columns=range(months), fill_value=0.0)
        .to_numpy()
    )
    lengths, end = [], as_of
    for _ in range(months):
        start = end.replace(day=1)
        lengths.append((end - start).days + 1)
        end = start - pd.Timedelta(days=1)
    lengths = np.array(lengths, dtype=float)
    ar = sums["ar"].to_numpy()
    cum = np.cumsum(monthly, axis=1)
    prev = cum - monthly
    reach = (prev < ar[:, None] - 0.005) & (cum >= ar[:, None] - 0.005) & (monthly > 0)
    first = np.where(reach.any(axis=1), reach.argmax(axis=1), -1)
    rows = np.arange(len(ar))
    days_before = np.concatenate([[0.0], np.cumsum(lengths)])[np.maximum(first, 0)]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = (ar - prev[rows, np.maximum(first, 0)]) / monthly[rows, np.maximum(first, 0)]
        partial = lengths[np.maximum(first, 0)] * np.minimum(share, 1.0)
    out["dso_countback"] = np.where(ar <= 0, 0.0, np.where(first >= 0, days_before + partial, lengths.sum()))
    return out.reset_index()


# --------------------------------------------------------------------------- variants


def _engine(files: dict[str, Path]):
    from custvalue.engine import Engine, connect

    connection = connect()
    for name, path in files.items():
        connection.read_parquet(path, table_name=name)
    return Engine(connection)


def run_variant(variant: str, invoices: int, seed: int) -> dict:
    from custvalue.config import PaymentSettings

    files = paths(invoices, seed)
    settings = PaymentSettings()
    started = time.perf_counter()
    details: dict = {}
    if variant == "pandas-metrics":
        frame = pd.read_parquet(files["invoices"])
        loaded = time.perf_counter()
        metrics = pandas_metrics(frame, AS_OF, settings.dso_period_days, settings.cei_period_days, settings.countback_months, settings.aging_buckets_days)
        details = {"read_seconds": round(loaded - started, 2), "customers": len(metrics)}
        metrics.to_parquet(DATA / "bench_pandas_metrics.parquet", index=False)
    elif variant == "engine-metrics":
        from custvalue.payment.ledger import invoice_ledger, materialise
        from custvalue.payment.metrics import collections_metrics

        engine = _engine(files)
        ledger = materialise(engine, invoice_ledger(engine, AS_OF, history=False), "bench_ledger")
        metrics = collections_metrics(ledger, AS_OF, settings, "customer_id")
        details = {"customers": len(metrics)}
        metrics.to_parquet(DATA / "bench_engine_metrics.parquet", index=False)
    elif variant == "engine-full":
        from custvalue.payment import analyse_payments

        result = analyse_payments(_engine(files), as_of=AS_OF, quarters=["2025Q3", "2025Q4", "2026Q1", "2026Q2"], settings=settings)
        ci = result.peers.conf_int()
        details = {
            "stages": result.info["seconds"],
            "invoices": result.info["invoices"],
            "fit_sample": result.info["fit_sample"],
            "customer_quarters": len(result.by_quarter),
            "late_flags": int(result.by_quarter["late_flag"].sum()),
            "nonpayment_flags": int(result.by_quarter["nonpayment_flag"].sum()),
            "log_hr_disputed": [round(float(result.peers.params["disputed"]), 4), [round(float(v), 4) for v in ci.loc["disputed"]]],
            "log_hr_log_employees": [round(float(result.peers.params["log_employees"]), 4), [round(float(v), 4) for v in ci.loc["log_employees"]]],
        }
    else:
        raise SystemExit(f"unknown variant {variant}")
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes
    return {"variant": variant, "seconds": round(seconds, 2), "peak_rss_mb": round(peak_mb), **details}


def compare() -> dict:
    engine = pd.read_parquet(DATA / "bench_engine_metrics.parquet").set_index("customer_id")
    baseline = pd.read_parquet(DATA / "bench_pandas_metrics.parquet").set_index("customer_id").reindex(engine.index)
    return {
        column: float(np.nanmax(np.abs(engine[column].to_numpy(float) - baseline[column].to_numpy(float))))
        for column in ("dso", "dso_countback", "best_dso", "add", "cei", "ar")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=5_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--variant", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(run_variant(args.variant, args.invoices, args.seed)))
        return
    generate(args.invoices, args.seed)
    rows = []
    for variant in ("pandas-metrics", "engine-metrics", "engine-full"):
        done = subprocess.run(
            [sys.executable, __file__, "--variant", variant, "--invoices", str(args.invoices), "--seed", str(args.seed)],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]))
    base, engine = rows[0], rows[1]
    print(f"\nmetrics, {args.invoices:,} invoices: pandas baseline {base['seconds']:.1f} s / {base['peak_rss_mb']:,} MB peak; "
          f"engine {engine['seconds']:.1f} s / {engine['peak_rss_mb']:,} MB peak "
          f"(time {engine['seconds'] / base['seconds']:.2f}x, peak memory {engine['peak_rss_mb'] / base['peak_rss_mb']:.2f}x the baseline's)")  # fmt: skip
    print(f"whole analysis (ledger, two Cox fits on {rows[2]['fit_sample']:,} invoices, metrics, verdict): "
          f"{rows[2]['seconds']:.1f} s / {rows[2]['peak_rss_mb']:,} MB peak")  # fmt: skip
    print("largest difference engine vs baseline:", {k: f"{v:.2e}" for k, v in compare().items()})


if __name__ == "__main__":
    main()

"""Benchmark: scoring one quarter at scale (not a test; `make benchmark`).

Worlds come from ``benchmarks/scale_world.py`` (demo-shaped, ~20 orders, 5 invoices,
2 tickets and ~0.9 incidents per customer; generated on first use into
``benchmarks/data/scale/<name>/raw/``, git-ignored). For each size (default 100k then
1M customers) three child processes run one after the other, so each peak is its own:

``pipeline``          ``custvalue.pipeline.score_quarter`` end to end on DuckDB, with the
                      default configuration (``config/custvalue.yaml``), into
                      ``benchmarks/data/scale/<name>/processed/``. The library functions
                      ``score_quarter`` calls are wrapped (in the pipeline module's
                      namespace only, so nothing runs twice) to time each step: load +
                      validate (``load_raw``, in the engine), features, cost to serve,
                      payment, lifetime, review (``review_inputs``, ``judge_quarters``,
                      ``future_value``, ``assign_status`` x2, ``statuses_over_time``,
                      ``movement``, ``move_on``, ``_scorecard``) and writing; ``other`` is
                      the remainder of the total.
``features-engine``   the feature step alone: ``features.quarterly_activity`` on DuckDB,
                      after ``loading.load_raw`` (timed separately) of the world.
``features-pandas``   the named baseline: the same customer x quarter activity table in
                      plain pandas (``pandas_activity`` below), from the same tables.

The engine variant starts from the validated tables in DuckDB (``load_raw``, timed
separately); the pandas baseline from the typed tables read from the world's Parquet
(that read is not timed; the world has no rejected rows). Their outputs are compared value by value on a sample of 2,000
customers (every quarter, every column) and by column totals.

Memory. *Peak* is the child's ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (peak
resident set size, including DuckDB's native memory). Per step, a thread in the child
samples the resident set (``/proc/self/statm``) every 20 ms and keeps the maximum seen
while the step ran. The parent also watches each child and stops it if it goes above
``--rss-cap-gb`` (default 14) or ``--timeout`` (default 1,500 s), so a size that does not
fit does not take the machine down; that size then misses its goals.

Goals (from the "scale" issue): one quarter for 1M customers in under 5 minutes with a
peak under 8 GB, and the feature step at least 3x faster than the pandas baseline (at the
largest size measured). The script runs everything, prints the tables, says which goals
are met and exits 1 when one is missed (2 when the two feature implementations differ).
When a size cannot be run, the 1M figures are extrapolated from the two largest sizes
measured (a power law per step) and shown as such; a goal judged on an extrapolation is
reported as not met.

Usage::

    .venv/bin/python benchmarks/bench_pipeline.py                       # 100k, then 1M
    .venv/bin/python benchmarks/bench_pipeline.py --sizes 100000,300000
    .venv/bin/python benchmarks/bench_pipeline.py --sizes 100000 --only pipeline --profile
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import scale_world  # the sibling script
from memory import RssSampler, peak_rss_mb  # the sibling module

CONFIG = ROOT / "config" / "custvalue.yaml"
GOAL_SECONDS = 300.0
GOAL_PEAK_MB = 8 * 1024
GOAL_FEATURE_SPEEDUP = 3.0
GOAL_CUSTOMERS = 1_000_000
SAMPLE_CUSTOMERS = 2_000
STEPS = ("load+validate", "features", "cost to serve", "payment", "lifetime", "review", "writing", "other")
WRAPPED = {
    "load_raw": "load+validate",
    "quarterly_activity": "features",
    "compute_cost_to_serve": "cost to serve",
    "analyse_payments": "payment",
    "estimate_lifetime_value": "lifetime",
    "review_inputs": "review",
    "judge_quarters": "review",
    "future_value": "review",
    "assign_status": "review",
    "statuses_over_time": "review",
    "movement": "review",
    "move_on": "review",
    "_scorecard": "review",
    "write_outputs": "writing",
}
VARIANTS = ("pipeline", "features-engine", "features-pandas")


# --------------------------------------------------------------------------- memory


# --------------------------------------------------------------------------- the pipeline, step by step


def run_pipeline(raw: Path, processed: Path, profile: Path | None = None, progress: Path | None = None) -> dict:
    """Score the world's last complete quarter, timing each step. If the run fails, the
    steps done so far are returned with ``failed``; ``progress`` (a JSON file) is
    rewritten after every step, so a run stopped from outside still leaves its figures."""
    from custvalue import pipeline
    from custvalue.config import load_config

    config = load_config(CONFIG)
    seconds = dict.fromkeys(STEPS, 0.0)
    calls: dict[str, int] = {}

    def partial() -> dict:
        return {
            "variant": "pipeline",
            "steps": {step: round(value, 2) for step, value in seconds.items() if value},
            "step_peak_mb": {step: round(value / 2**20) for step, value in sampler.step_peak.items()},
            "peak_rss_mb": round(peak_rss_mb()),
        }

    with RssSampler() as sampler:
        active: list[str] = []

        def wrap(name: str, step: str):
            function = getattr(pipeline, name)

            @functools.wraps(function)
            def timed(*args, **kwargs):
                if active:  # already inside a timed step
                    return function(*args, **kwargs)
                active.append(step)
                sampler.step = step
                started = time.perf_counter()
                try:
                    return function(*args, **kwargs)
                finally:
                    seconds[step] += time.perf_counter() - started
                    calls[name] = calls.get(name, 0) + 1
                    active.pop()
                    sampler.step = "other"
                    if progress:
                        progress.write_text(json.dumps({**partial(), "done": list(calls)}))

            return timed

        missing = [name for name in WRAPPED if not hasattr(pipeline, name)]
        for name, step in WRAPPED.items():
            if name not in missing:
                setattr(pipeline, name, wrap(name, step))
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        sampler.step = "other"
        started = time.perf_counter()
        try:
            scored = pipeline.score_quarter(raw, processed, config)
        except Exception as error:  # noqa: BLE001 - report what was measured, then the failure
            sampler.step = None
            return {**partial(), "failed": f"{type(error).__name__}: {error}"[:300], "after_seconds": round(time.perf_counter() - started, 1)}
        total = time.perf_counter() - started
        sampler.step = None
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)
    seconds["other"] = total - sum(seconds[step] for step in STEPS if step != "other")
    data = scored.data
    return {
        "variant": "pipeline",
        "quarter": str(scored.quarter),
        "seconds": round(total, 2),
        "peak_rss_mb": round(peak_rss_mb()),
        "steps": {step: round(value, 2) for step, value in seconds.items()},
        "step_peak_mb": {step: round(value / 2**20) for step, value in sampler.step_peak.items()},
        "rows": {name: load.input_rows for name, load in data.tables.items()},
        "rejected": int(sum(len(load.rejected) for load in data.tables.values())),
        "scorecard_rows": len(scored.scorecard),
        "quarterly_rows": len(scored.quarterly),
        "statuses": scored.scorecard["status"].astype(str).value_counts().to_dict(),
        "calls": calls,
        "not_wrapped": missing,
    }


# --------------------------------------------------------------------------- the feature step


def typed_tables(raw: Path) -> dict[str, pd.DataFrame]:
    """The world's tables typed as ``contract.load_raw`` types accepted rows (strings as
    ``string``, dates ``datetime64[ns]``, integers ``Int64``, booleans ``bool``)."""
    import pyarrow.parquet as pq
    import pyarrow.types as pat

    tables = {}
    for name in scale_world.TABLES:
        table = pq.read_table(raw / f"{name}.parquet")
        columns = {}
        for field in table.schema:
            column = table.column(field.name)
            if pat.is_date(field.type):
                columns[field.name] = pd.Series(column.to_numpy().astype("datetime64[ns]"))
            elif pat.is_string(field.type):
                columns[field.name] = pd.Series(column.to_pandas(), dtype="string")
            elif pat.is_integer(field.type) and field.name in ("lines", "severity", "employees"):
                columns[field.name] = pd.Series(column.to_pandas(), dtype="Int64")
            elif pat.is_integer(field.type):  # ticket minutes: a decimal in the contract
                columns[field.name] = pd.Series(column.to_numpy(), dtype="float64")
            else:
                columns[field.name] = column.to_pandas()
        tables[name] = pd.DataFrame(columns)
    return tables


def history(last: str = "2026Q2"):
    from custvalue.config import load_config
    from custvalue.quarters import Quarter

    quarter = Quarter.parse(last)
    return quarter.shift(-(load_config(CONFIG).review.history_quarters - 1)), quarter


def run_features_engine(raw: Path, out: Path) -> dict:
    from custvalue.features import quarterly_activity
    from custvalue.loading import load_raw

    first, last = history()
    with RssSampler() as sampler:
        sampler.step = "load+validate"
        started = time.perf_counter()
        engine = load_raw(raw).engine
        loaded = time.perf_counter()
        sampler.step = "features"
        activity = quarterly_activity(engine, first, last)
        done = time.perf_counter()
        sampler.step = None
    return _feature_report("features-engine", activity, out, done - loaded, loaded - started, sampler)


def run_features_pandas(raw: Path, out: Path) -> dict:
    tables = typed_tables(raw)
    first, last = history()
    with RssSampler() as sampler:
        sampler.step = "features"
        started = time.perf_counter()
        activity = pandas_activity(tables, first, last)
        done = time.perf_counter()
        sampler.step = None
    return _feature_report("features-pandas", activity, out, done - started, 0.0, sampler)


def _feature_report(variant: str, activity: pd.DataFrame, out: Path, seconds: float, load_seconds: float, sampler: RssSampler) -> dict:
    peak = round(peak_rss_mb())
    numeric = [c for c in activity.columns if pd.api.types.is_numeric_dtype(activity[c])]
    totals = {c: float(activity[c].astype(float).sum()) for c in numeric}
    activity.to_parquet(out, index=False)
    return {
        "variant": variant,
        "seconds": round(seconds, 2),
        "engine_load_seconds": round(load_seconds, 2),
        "peak_rss_mb": peak,
        "step_peak_mb": {step: round(value / 2**20) for step, value in sampler.step_peak.items()},
        "rows": len(activity),
        "columns": list(activity.columns),
        "totals": totals,
    }


def pandas_activity(tables: dict[str, pd.DataFrame], first, last) -> pd.DataFrame:
    """Baseline: the activity table of ``custvalue.features`` in plain pandas.

    Per customer and quarter from ``first`` to ``last`` for every account open in it:
    order, ticket, invoice and incident drivers summed by ``groupby``, and receivable
    days from each invoice expanded to the quarters it stayed open in (numpy repeat).
    Quarters are integer codes while aggregating and labelled ``YYYYQn`` at the end.
    """
    from custvalue.contract import INCIDENT_KINDS, TICKET_CHANNELS
    from custvalue.quarters import quarter_range

    quarters = quarter_range(first, last)
    n_q = len(quarters)
    base = first.year * 4 + first.number - 1
    window_start, window_end = pd.Timestamp(first.start), pd.Timestamp(last.end)
    starts = np.array([np.datetime64(q.start, "D") for q in quarters])
    ends = np.array([np.datetime64(q.end, "D") for q in quarters])
    key = ["customer_id", "q"]

    def quarter_code(dates: pd.Series) -> np.ndarray:
        return (dates.dt.year * 4 + dates.dt.quarter - 1 - base).to_numpy(dtype=np.int64)

    def in_window(frame: pd.DataFrame, column: str) -> pd.DataFrame:
        day = frame[column].dt.normalize()
        kept = frame.loc[(day >= window_start) & (day <= window_end)]
        return kept.assign(q=quarter_code(kept[column]))

    orders = in_window(tables["orders"], "order_date")
    order_part = (
        orders.assign(
            rush=orders["rush"].astype(np.int64),
            manual=orders["manual"].astype(np.int64),
            has_return=(orders["returned_value"] > 0).astype(np.int64),
            lines=orders["lines"].astype(np.int64),
        )
        .groupby(key, sort=False)
        .agg(
            orders=("order_id", "size"), order_lines=("lines", "sum"), rush_orders=("rush", "sum"),
            manual_orders=("manual", "sum"), returns=("has_return", "sum"), returned_value=("returned_value", "sum"),
            revenue=("revenue", "sum"), cost_of_goods=("cost_of_goods", "sum"), discount=("discount", "sum"),
        )
    )
    del orders

    tickets = in_window(tables["support_tickets"], "opened_on")
    ours = tickets["caused_by_us"].to_numpy(dtype=bool)
    theirs = ~ours
    minutes = tickets["minutes"].to_numpy(dtype=float)
    channel = tickets["channel"].to_numpy(dtype=object)
    onsite = channel == "onsite"
    parts = {
        "tickets": theirs.astype(np.int64),
        "ticket_minutes": np.where(theirs, minutes, 0.0),
        "onsite_visits": (theirs & onsite).astype(np.int64),
        "escalations": (theirs & tickets["escalated"].to_numpy(dtype=bool)).astype(np.int64),
        "our_tickets": ours.astype(np.int64),
        "our_ticket_minutes": np.where(ours, minutes, 0.0),
        "our_onsite_visits": (ours & onsite).astype(np.int64),
    }
    for name in TICKET_CHANNELS:
        on = channel == name
        parts[f"minutes_{name}"] = np.where(theirs & on, minutes, 0.0)
        parts[f"our_minutes_{name}"] = np.where(ours & on, minutes, 0.0)
    ticket_part = pd.DataFrame({"customer_id": tickets["customer_id"].to_numpy(), "q": tickets["q"].to_numpy(), **parts}).groupby(key, sort=False).sum()
    del tickets, parts

    issued = in_window(tables["invoices"], "issue_date")
    invoice_part = (
        issued.assign(disputed=issued["disputed"].astype(np.int64))
        .groupby(key, sort=False)
        .agg(invoices=("invoice_id", "size"), invoiced=("amount", "sum"), disputes=("disputed", "sum"), written_off=("written_off", "sum"))
    )
    del issued

    # Receivable days: each invoice is open from its issue day until paid (or through the
    # as-of day); expand it to every quarter of the window it overlaps.
    invoices = tables["invoices"]
    invoices = invoices.loc[invoices["issue_date"].dt.normalize() <= window_end]
    stop = np.datetime64(last.end, "D") + 1
    open_from = invoices["issue_date"].to_numpy().astype("datetime64[D]")
    paid = invoices["paid_date"].to_numpy().astype("datetime64[D]")
    open_until = np.minimum(np.where(np.isnat(paid), stop, paid), stop)
    lo = np.searchsorted(ends, open_from, side="left")  # first quarter ending on or after open_from
    hi = np.searchsorted(starts, open_until, side="left") - 1  # last quarter starting before open_until
    lo, hi = np.clip(lo, 0, n_q), np.clip(hi, -1, n_q - 1)
    span = np.clip(hi - lo + 1, 0, None)
    row = np.repeat(np.arange(len(invoices)), span)
    q = lo[row] + (np.arange(row.size) - np.repeat(np.cumsum(span) - span, span))
    next_start = np.append(starts[1:], ends[-1] + 1)
    days = (np.minimum(open_until[row], next_start[q]) - np.maximum(open_from[row], starts[q])).astype(np.int64)
    receivable_part = (
        pd.DataFrame({"customer_id": invoices["customer_id"].to_numpy()[row], "q": q,
                      "receivable_days": invoices["amount"].to_numpy()[row] * days})
        .groupby(key, sort=False)
        .sum()
    )
    del invoices, row, q, days

    incidents = in_window(tables["incidents"], "date")
    kind = incidents["kind"].to_numpy(dtype=object)
    severity = incidents["severity"].to_numpy(dtype=np.int64)
    incident_part = pd.DataFrame(
        {"customer_id": incidents["customer_id"].to_numpy(), "q": incidents["q"].to_numpy(), "incidents": 1,
         **{f"severity_{name}": np.where(kind == name, severity, 0) for name in INCIDENT_KINDS}}
    ).groupby(key, sort=False).sum()
    del incidents

    customers = tables["customers"]
    created = customers["created_on"].to_numpy().astype("datetime64[D]")
    ended = customers["ended_on"].to_numpy().astype("datetime64[D]")
    alive = (created[:, None] <= ends[None, :]) & (np.isnat(ended)[:, None] | (ended[:, None] >= starts[None, :]))
    who, q = np.nonzero(alive)
    grid = pd.DataFrame({"customer_id": customers["customer_id"].to_numpy()[who], "q": q}).set_index(key)
    activity = grid.join([order_part, ticket_part, invoice_part, receivable_part, incident_part], how="left")
    activity = activity.fillna(0).reset_index()
    labels = np.array([str(quarter) for quarter in quarters], dtype=object)
    activity.insert(1, "quarter", labels[activity["q"].to_numpy()])
    activity.insert(2, "quarter_start", starts.astype("datetime64[ns]")[activity["q"].to_numpy()])
    activity.insert(3, "quarter_end", ends.astype("datetime64[ns]")[activity["q"].to_numpy()])
    activity = activity.drop(columns="q").sort_values(["customer_id", "quarter"], ignore_index=True)
    activity["customer_id"] = activity["customer_id"].astype("string")
    return activity


# --------------------------------------------------------------------------- the driver


def run_child(variant: str, name: str, cap_mb: float, timeout: float, profile: bool) -> dict:
    """Run one variant in its own process, watching its resident set and time."""
    import psutil

    command = [sys.executable, __file__, "--child", variant, "--world", name]
    if profile:
        command.append("--profile")
    progress = scale_world.world_dir(name) / "pipeline_progress.json" if variant == "pipeline" else None
    if progress:
        progress.unlink(missing_ok=True)
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watched = psutil.Process(process.pid)
    stopped, seen = None, 0.0
    while process.poll() is None:
        try:
            seen = max(seen, watched.memory_info().rss / 2**20)
        except psutil.NoSuchProcess:
            break
        elapsed = time.perf_counter() - started
        if seen > cap_mb or elapsed > timeout:
            stopped = f"stopped at {seen:,.0f} MB resident" if seen > cap_mb else f"stopped after {elapsed:,.0f} s"
            process.kill()
            break
        time.sleep(0.1)
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - started
    if stopped or process.returncode != 0:
        reason = stopped or f"exit code {process.returncode}: {stderr.strip().splitlines()[-1] if stderr.strip() else ''}"
        result = {"variant": variant, "failed": reason, "wall_seconds": round(wall, 1), "peak_rss_mb": round(seen)}
        if progress and progress.is_file():  # the steps finished before it was stopped
            done = json.loads(progress.read_text())
            result.update(steps=done["steps"], step_peak_mb=done["step_peak_mb"], done=done["done"])
        return result
    result = json.loads(stdout.strip().splitlines()[-1])
    result["wall_seconds"] = round(wall, 1)
    return result


def compare_features(name: str) -> dict:
    """Engine vs pandas activity tables: sample of customers value by value, and totals."""
    import pyarrow.parquet as pq

    folder = scale_world.world_dir(name)
    ids = pq.read_table(folder / "raw" / "customers.parquet", columns=["customer_id"]).column(0).to_numpy(zero_copy_only=False)
    sample = list(np.random.default_rng(7).choice(ids, size=min(SAMPLE_CUSTOMERS, len(ids)), replace=False))
    frames = {}
    for variant in ("engine", "pandas"):
        table = pq.read_table(folder / f"activity_{variant}.parquet", filters=[("customer_id", "in", sample)])
        frames[variant] = table.to_pandas().sort_values(["customer_id", "quarter"], ignore_index=True)
    engine, baseline = frames["engine"], frames["pandas"]
    problems = []
    if list(engine.columns) != list(baseline.columns):
        problems.append(f"columns differ: {sorted(set(engine.columns) ^ set(baseline.columns))}")
    if len(engine) != len(baseline) or not (engine["customer_id"].astype(str).to_numpy() == baseline["customer_id"].astype(str).to_numpy()).all():
        problems.append(f"sample rows differ: {len(engine)} vs {len(baseline)}")
    worst = 0.0
    if not problems:
        for column in engine.columns:
            left, right = engine[column], baseline[column]
            if pd.api.types.is_numeric_dtype(left):
                a, b = left.to_numpy(dtype=float), right.to_numpy(dtype=float)
                if not np.allclose(a, b, rtol=1e-9, atol=1e-6):
                    problems.append(f"{column}: max difference {np.max(np.abs(a - b)):.3g}")
                worst = max(worst, float(np.max(np.abs(a - b))) if len(a) else 0.0)
            elif not (left.astype(str).to_numpy() == right.astype(str).to_numpy()).all():
                problems.append(f"{column}: values differ")
    return {"sample_customers": len(sample), "sample_rows": len(engine), "max_abs_difference": worst, "problems": problems}


def extrapolate(measured: dict[int, dict], target: int) -> dict | None:
    """Per step, t = a * n^b through the two largest sizes measured (b at least 1 when only
    one size is known: linear)."""
    sizes = sorted(size for size, run in measured.items() if "steps" in run and "failed" not in run)
    if not sizes:
        return None
    big = sizes[-1]
    small = sizes[-2] if len(sizes) > 1 else None
    out = {"from": [s for s in (small, big) if s], "steps": {}}

    def scale(a: float, b: float | None) -> float:
        if small is None or not b or not a or a <= 0 or b <= 0:
            return a * target / big
        exponent = max(np.log(a / b) / np.log(big / small), 0.0)
        return a * (target / big) ** exponent

    for step in STEPS:
        a = measured[big]["steps"].get(step, 0.0)
        b = measured[small]["steps"].get(step, 0.0) if small else None
        out["steps"][step] = round(scale(a, b), 1) if step != "other" else round(a * target / big, 1)
    out["seconds"] = round(sum(out["steps"].values()), 1)
    peak_b = measured[small]["peak_rss_mb"] if small else None
    out["peak_rss_mb"] = round(scale(measured[big]["peak_rss_mb"], peak_b))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="customers per world, comma-separated")
    parser.add_argument("--only", choices=["pipeline", "features"], default=None)
    parser.add_argument("--rss-cap-gb", type=float, default=14.0)
    parser.add_argument("--timeout", type=float, default=1500.0, help="seconds per child process")
    parser.add_argument("--profile", action="store_true", help="cProfile the pipeline child into <world>/pipeline.prof")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--world", help=argparse.SUPPRESS)
    arguments = parser.parse_args()

    if arguments.child:
        folder = scale_world.world_dir(arguments.world)
        raw = folder / "raw"
        if arguments.child == "pipeline":
            profile = folder / "pipeline.prof" if arguments.profile else None
            result = run_pipeline(raw, folder / "processed", profile, folder / "pipeline_progress.json")
        elif arguments.child == "features-engine":
            result = run_features_engine(raw, folder / "activity_engine.parquet")
        else:
            result = run_features_pandas(raw, folder / "activity_pandas.parquet")
        print(json.dumps(result))
        return 0

    sizes = [int(size) for size in arguments.sizes.split(",")]
    variants = [v for v in VARIANTS if arguments.only is None or v.startswith(arguments.only)]
    cap_mb = arguments.rss_cap_gb * 1024
    print(f"bench_pipeline {date.today()} on {os.cpu_count()} CPUs, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GB RAM; sizes {sizes}", flush=True)  # fmt: skip
    results: dict[int, dict[str, dict]] = {}
    comparisons: dict[int, dict] = {}
    for size in sizes:
        name = scale_world.default_name(size)
        started = time.perf_counter()
        subprocess.run([sys.executable, str(HERE / "scale_world.py"), "--customers", str(size)], check=True, stdout=subprocess.DEVNULL)
        spec = json.loads((scale_world.world_dir(name) / "spec.json").read_text())
        print(f"\n== {size:,} customers: {', '.join(f'{t} {n:,}' for t, n in spec['rows'].items())} "
              f"({sum(spec['parquet_mb'].values()):,.0f} MB Parquet; ready in {time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip
        results[size] = {}
        for variant in variants:
            run = run_child(variant, name, cap_mb, arguments.timeout, arguments.profile and variant == "pipeline")
            results[size][variant] = run
            shown = run.get("failed") or f"{run['seconds']:.1f} s, peak {run['peak_rss_mb']:,} MB"
            print(f"   {variant:<16} {shown}", flush=True)
            print(f"   {json.dumps(run)}", file=sys.stderr, flush=True)
        if {"features-engine", "features-pandas"} <= set(results[size]) and not any("failed" in results[size][v] for v in ("features-engine", "features-pandas")):
            comparisons[size] = compare_features(name)

    # ---- tables
    runs = {size: r["pipeline"] for size, r in results.items() if "pipeline" in r}
    measured = {size: run for size, run in runs.items() if "failed" not in run}
    estimate = extrapolate(measured, GOAL_CUSTOMERS) if GOAL_CUSTOMERS not in measured and measured else None
    partial_goal = runs.get(GOAL_CUSTOMERS, {}).get("steps", {})
    if estimate and partial_goal:  # steps the stopped 1M run finished: measured beats extrapolated
        estimate["steps"].update({step: partial_goal[step] for step in partial_goal if step != "other"})
        estimate["measured"] = [step for step in partial_goal if step != "other"]
        estimate["seconds"] = round(sum(estimate["steps"].values()), 1)
    if runs:
        columns = [f"{s:,}" for s in runs] + (["1M (extrap.)"] if estimate else [])
        print("\nscore_quarter end to end (seconds; peak resident MB while the step ran)")
        print(f"{'step':<16}" + "".join(f"{c:>22}" for c in columns))
        for step in STEPS:
            cells = []
            for run in runs.values():
                if step not in run.get("steps", {}):
                    cells.append("-")
                else:
                    cells.append(f"{run['steps'][step]:.1f} s / {run['step_peak_mb'].get(step, 0):,} MB")
            if estimate:
                cells.append(f"{estimate['steps'][step]:.0f} s" + (" (measured)" if step in estimate.get("measured", []) else ""))
            print(f"{step:<16}" + "".join(f"{c:>22}" for c in cells))
        cells = [run["failed"][:21] if "failed" in run else f"{run['seconds']:.1f} s" for run in runs.values()] + ([f"{estimate['seconds']:.0f} s"] if estimate else [])
        print(f"{'total':<16}" + "".join(f"{c:>22}" for c in cells))
        cells = [f"{run['peak_rss_mb']:,} MB" + ("+" if "failed" in run else "") for run in runs.values()] + ([f"{estimate['peak_rss_mb']:,} MB"] if estimate else [])
        print(f"{'peak (maxrss)':<16}" + "".join(f"{c:>22}" for c in cells))
        if estimate:
            print(f"(1M extrapolated per step with a power law through {', '.join(f'{s:,}' for s in estimate['from'])} customers)")

    features = {size: r for size, r in results.items() if "features-engine" in r}
    if features:
        print("\nfeature step: features.quarterly_activity on DuckDB vs plain pandas baseline")
        print(f"{'customers':>10}{'load+validate s':>17}{'engine s':>10}{'engine MB':>11}{'pandas s':>10}{'pandas MB':>11}{'speed-up':>10}{'rows':>12}  sample check")
        for size, r in features.items():
            engine, baseline = r["features-engine"], r["features-pandas"]
            if "failed" in engine or "failed" in baseline:
                print(f"{size:>10,}  engine: {engine.get('failed', 'ok')}; pandas: {baseline.get('failed', 'ok')}")
                continue
            check = comparisons.get(size, {})
            verdict = "equal" if not check.get("problems") else "; ".join(check["problems"])[:80]
            print(f"{size:>10,}{engine['engine_load_seconds']:>17.1f}{engine['seconds']:>10.1f}{engine['peak_rss_mb']:>11,}{baseline['seconds']:>10.1f}"
                  f"{baseline['peak_rss_mb']:>11,}{baseline['seconds'] / engine['seconds']:>9.1f}x{engine['rows']:>12,}  {verdict} "
                  f"({check.get('sample_rows', 0):,} rows)")  # fmt: skip

    # ---- goals
    print("\ngoals")
    missed = []
    at_goal = runs.get(GOAL_CUSTOMERS)
    if at_goal and "failed" not in at_goal:
        time_ok, peak_ok = at_goal["seconds"] < GOAL_SECONDS, at_goal["peak_rss_mb"] < GOAL_PEAK_MB
        time_text, peak_text = f"{at_goal['seconds']:.0f} s", f"{at_goal['peak_rss_mb']:,} MB"
    else:
        time_ok = peak_ok = False
        why = at_goal["failed"] if at_goal else "not run"
        time_text = f"not measured at 1M ({why})" + (f"; extrapolated {estimate['seconds']:.0f} s" if estimate else "")
        peak_text = f"not measured at 1M ({why})" + (f"; extrapolated {estimate['peak_rss_mb']:,} MB" if estimate else "")
    if "pipeline" in variants:
        print(f"  [{'met' if time_ok else 'MISSED'}] one quarter for 1M customers in under {GOAL_SECONDS / 60:.0f} min: {time_text}")
        print(f"  [{'met' if peak_ok else 'MISSED'}] peak memory under {GOAL_PEAK_MB / 1024:.0f} GB: {peak_text}")
        missed += [goal for goal, ok in (("time", time_ok), ("memory", peak_ok)) if not ok]
    mismatch = any(check["problems"] for check in comparisons.values())
    if features:
        both = [size for size, r in features.items() if not any("failed" in r[v] for v in ("features-engine", "features-pandas"))]
        speed_ok, text = False, "not measured"
        if both:
            largest = max(both)
            engine, baseline = features[largest]["features-engine"], features[largest]["features-pandas"]
            speed = baseline["seconds"] / engine["seconds"]
            speed_ok, text = speed >= GOAL_FEATURE_SPEEDUP, f"{speed:.2f}x at {largest:,} customers ({engine['seconds']:.1f} s vs {baseline['seconds']:.1f} s)"
        for size in sorted(set(features) - set(both)):
            engine, baseline = features[size]["features-engine"], features[size]["features-pandas"]
            speed_ok = False
            text += (f"; at {size:,}: engine {engine.get('failed') or str(engine['seconds']) + ' s'}, "
                     f"pandas {baseline.get('failed') or str(baseline['seconds']) + ' s'}")  # fmt: skip
        print(f"  [{'met' if speed_ok else 'MISSED'}] feature step at least {GOAL_FEATURE_SPEEDUP:.0f}x faster than the pandas baseline: {text}")
        print(f"  [{'ok' if not mismatch else 'MISMATCH'}] engine and pandas activity tables equal on a {SAMPLE_CUSTOMERS:,}-customer sample")
        if not speed_ok:
            missed.append("feature speed-up")
    if mismatch:
        return 2
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

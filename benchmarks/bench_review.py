"""Benchmark: the quarterly review step alone, against the review as it was (not a test).

The review is what ``custvalue.pipeline.score_quarter`` does after the models:
``review_inputs``, ``judge_quarters``, ``future_value``, ``assign_status`` (this quarter,
with P(alive)), ``statuses_over_time`` (every reviewable quarter), ``assign_status`` (the
previous quarter), ``movement``, ``move_on`` and ``pipeline._scorecard``. This script runs
exactly that sequence, timing each call and sampling memory, on cached inputs.

Inputs (cached, git-ignored): the first part of ``score_quarter`` (load + validate,
engine, features, cost to serve, payment, lifetime) is run once per world in a child
process and what the review takes is pickled to
``benchmarks/data/review_inputs/<size>/inputs.pkl`` (activity, customer costs,
payments by quarter, receivables, customers, lifetime customers, quarter, config).
Worlds:

``demo``   a ``custvalue.demo`` world (``--demo-customers``, default 3,000), for a fast loop;
``100k``, ``300k``, ``1m``   the scale worlds of ``scale_world.py`` in
           ``benchmarks/data/scale/<size>/raw`` (made by ``bench_pipeline.py`` /
           ``scale_world.py``; this script does not make them).

Named baseline: the review as it was at commit ``ab4713a`` (``BASELINE_COMMIT``: one
``review.py``, before this round's policy changes), copied to
``benchmarks/data/review_baseline_ab4713a.py`` when missing (``--baseline PATH`` for
another) and imported by path; its scorecard step is that commit's ``pipeline._scorecard``,
taken from the commit's source. For each size, one child process per variant
(``baseline``, then ``current`` = the ``custvalue.review`` package) loads the inputs, runs
the review and pickles its outputs; the parent then reports, output by output, whether
they are exactly equal (``pandas.testing.assert_frame_equal``, ``check_exact=True``). They
differ where the policy changed since the baseline (grounds to let go, onboarding);
``--require-equal`` makes a difference an error, for a baseline with the same policy.
``--reuse-baseline`` compares with the outputs and figures an earlier run saved
(``result_baseline.json`` and ``out_baseline_*.pkl``) instead of running the baseline
again (211 s and 16 GB at 1m).

Building the inputs takes time and memory (at 1m: about 5 minutes, 18.5 GB peak with
DuckDB limited to 11 GB, ``--engine-memory-limit 11GB``; 6 GB is too little for the
feature step), and a 1m inputs.pkl is 5.9 GB, each variant's outputs about 5 GB more.

Time: wall seconds per call, and in brackets the CPU seconds of the process (all
threads), which vary less when other jobs share the machine.

Memory: per call, a thread samples the resident set every 20 ms; ``peak`` is the
child's ``ru_maxrss``; ``review peak`` is the highest sample during the review minus the
resident set once the inputs are loaded (what the review itself adds).

Exit status: 0 when done (and, with ``--goal-seconds``, the current review is within it
at the largest size), 1 when a goal is missed, 2 when outputs differ under
``--require-equal``.

Usage::

    .venv/bin/python benchmarks/bench_review.py                          # demo world, baseline vs current
    .venv/bin/python benchmarks/bench_review.py --sizes 100k,300k
    .venv/bin/python benchmarks/bench_review.py --sizes 1m --reuse-baseline    # baseline outputs of an earlier run
    .venv/bin/python benchmarks/bench_review.py --sizes 1m --prepare-only --engine-memory-limit 11GB
    .venv/bin/python benchmarks/bench_review.py --sizes 1m --variants current --goal-seconds 60
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import pickle
import subprocess
import sys
import time
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"
INPUTS = DATA / "review_inputs"
SCALE = DATA / "scale"
#: The review as it was before this round changed its policy (grounds to let go, onboarding,
#: past statuses with P(alive) of their own quarter): the last commit with one review.py.
BASELINE_COMMIT = "ab4713a"
BASELINE = DATA / f"review_baseline_{BASELINE_COMMIT}.py"
CONFIG = ROOT / "config" / "custvalue.yaml"
sys.path.insert(0, str(HERE))

from memory import RssSampler, peak_rss_mb  # noqa: E402 - the sibling module

CALLS = (
    "review_inputs",
    "judge_quarters",
    "future_value",
    "assign_status",
    "statuses_over_time",
    "assign_status (previous)",
    "movement",
    "move_on",
    "_scorecard",
)
OUTPUTS = ("judged", "value", "card", "statuses", "previous", "movement", "move_on", "scorecard")


# --------------------------------------------------------------------------- inputs


def folder(size: str) -> Path:
    return INPUTS / size


def raw_dir(size: str, demo_customers: int) -> Path:
    if size == "demo":
        return folder(size) / f"raw_{demo_customers}"
    return SCALE / size / "raw"


def prepare(size: str, demo_customers: int, engine_memory: str = "") -> dict:
    """Run the first part of ``score_quarter`` and pickle the review's inputs."""
    from custvalue.config import load_config
    from custvalue.cost_to_serve import compute_cost_to_serve
    from custvalue.features import quarterly_activity
    from custvalue.lifetime import estimate_lifetime_value
    from custvalue.payment import analyse_payments
    from custvalue.pipeline import check_quarter_is_covered, default_quarter
    from custvalue.quarters import quarter_range

    raw = raw_dir(size, demo_customers)
    if size == "demo" and not (raw / "customers.csv").exists():
        from custvalue.demo import DemoSpec, generate_world, write_world
        from custvalue.paths import demo_truth_path

        write_world(generate_world(DemoSpec(n_customers=demo_customers, seed=11)), raw, demo_truth_path(raw))
    if not raw.is_dir():
        raise SystemExit(f"{raw}: world not found (make it with benchmarks/scale_world.py)")
    config = load_config(CONFIG)
    if engine_memory and hasattr(config.engine, "memory_limit"):  # results do not depend on it
        import dataclasses

        config = dataclasses.replace(config, engine=dataclasses.replace(config.engine, memory_limit=engine_memory))
    seconds = {}
    started = time.perf_counter()

    def progress(step: str) -> None:  # on stderr, so a run stopped from outside says how far it got
        print(f"[prepare {size}] {step} at {time.perf_counter() - started:.0f} s, peak {peak_rss_mb() / 1024:.1f} GB", file=sys.stderr, flush=True)
    try:  # the loader being rewritten: load and engine in one step
        from custvalue.loading import load_raw

        data = load_raw(raw, config.engine)
        engine = data.engine
    except ImportError:  # the loader as it was: load, then the engine
        from custvalue.contract import load_raw
        from custvalue.engine import load_engine

        data = load_raw(raw)
        engine = load_engine(data, config.engine)
    seconds["load"] = time.perf_counter() - started
    progress("loaded")
    quarter = default_quarter(data)
    check_quarter_is_covered(data, quarter)
    history = quarter_range(quarter.shift(-(config.review.history_quarters - 1)), quarter)
    customers = data.accepted("customers")
    started = time.perf_counter()
    activity = quarterly_activity(engine, history[0], quarter)
    progress("features")
    costs = compute_cost_to_serve(activity, config.cost_to_serve)
    progress("cost to serve")
    payments = analyse_payments(engine, customers, as_of=quarter.end, quarters=history, settings=config.payment)
    progress("payment")
    lifetime = estimate_lifetime_value(engine.table("orders"), customers, quarter.end, config.lifetime)
    progress("lifetime")
    seconds["models"] = time.perf_counter() - started
    inputs = {
        "activity": activity,
        "customer_costs": costs.customer_costs,
        "payment_by_quarter": payments.by_quarter,
        "payment_customers": payments.customers[["customer_id", "ar"]].copy(),
        "customers": customers,
        "lifetime_customers": lifetime.customers,
        "quarter": quarter,
        "history": history,
        "config": config,
        "raw_dir": str(raw),
    }
    target = folder(size) / "inputs.pkl"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".tmp")
    with open(partial, "wb") as handle:
        pickle.dump(inputs, handle, protocol=pickle.HIGHEST_PROTOCOL)
    partial.replace(target)
    return {"size": size, "quarter": str(quarter), "rows": len(activity), "customers": len(customers),
            "seconds": {k: round(v, 1) for k, v in seconds.items()}, "peak_rss_mb": round(peak_rss_mb())}


# --------------------------------------------------------------------------- the review, call by call


def load_module(variant: str, baseline: Path) -> types.ModuleType:
    if variant == "current":
        import custvalue.review as module

        return module
    spec = importlib.util.spec_from_file_location("custvalue_review_baseline", baseline)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def scorecard_function(review: types.ModuleType, variant: str):
    """The scorecard step of the variant: ``custvalue.review.scorecard`` for the current
    review; for the baseline, ``pipeline._scorecard`` of :data:`BASELINE_COMMIT` (taken
    from that commit's source) with the baseline's ``state_future_potential``,
    ``strike_history`` and ``window_of``, so the baseline run is the baseline throughout.
    Both take ``(card, judged, receivables, value, quarter, config)``."""
    if variant == "current":
        return lambda card, judged, receivables, value, quarter, config: review.scorecard(
            card, judged, receivables, value, quarter, config.review, config.currency
        )
    import __future__

    import ast

    import numpy as np
    import pandas as pd

    source = subprocess.run(["git", "show", f"{BASELINE_COMMIT}:src/custvalue/pipeline.py"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout
    wanted = [node for node in ast.parse(source).body
              if (isinstance(node, ast.FunctionDef) and node.name == "_scorecard")
              or (isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "SCORECARD_COLUMNS" for t in node.targets))]
    namespace = {"pd": pd, "np": np, "state_future_potential": review.state_future_potential,
                 "strike_history": review.strike_history, "window_of": review.window_of}
    code = compile(ast.Module(body=wanted, type_ignores=[]), "pipeline.py", "exec", flags=__future__.annotations.compiler_flag)
    exec(code, namespace)  # noqa: S102 - the function's own source, from this repository's history
    return namespace["_scorecard"]


def run_review(size: str, variant: str, baseline: Path, save: bool) -> dict:
    """Run the review as ``score_quarter`` does, each call timed; pickle the outputs."""
    review = load_module(variant, baseline)
    with open(folder(size) / "inputs.pkl", "rb") as handle:
        inputs = pickle.load(handle)
    gc.collect()
    config, quarter, history = inputs["config"], inputs["quarter"], inputs["history"]
    customers = inputs["customers"]
    scorecard_fn = scorecard_function(review, variant)

    seconds: dict[str, float] = {}
    cpu: dict[str, float] = {}  # CPU time of the process (all threads): steadier than wall time on a busy machine
    out: dict[str, object] = {}
    with RssSampler() as sampler:
        start_rss = sampler.rss()

        def timed(name, function, *args, **kwargs):
            sampler.step = name
            started, cpu_started = time.perf_counter(), time.process_time()
            result = function(*args, **kwargs)
            seconds[name] = time.perf_counter() - started
            cpu[name] = time.process_time() - cpu_started
            sampler.step = None
            return result

        total = time.perf_counter()
        prepared = timed("review_inputs", review.review_inputs, inputs["activity"], inputs["customer_costs"],
                         inputs["payment_by_quarter"], customers)
        judged = timed("judge_quarters", review.judge_quarters, prepared, review.standard_criteria(config.review))
        del prepared
        lifetime = inputs["lifetime_customers"]
        value = timed("future_value", review.future_value, lifetime["clv"], judged, review.window_of(quarter, config.review))
        rank, p_alive = value["future_value_rank"], lifetime["p_alive"]
        card = timed("assign_status", review.assign_status, judged, customers, quarter, config.review, rank, p_alive)
        reviewable = [q for q in history if q.shift(-(config.review.window_quarters - 1)) >= history[0]]
        statuses = timed("statuses_over_time", review.statuses_over_time, judged, customers, reviewable, config.review, rank)
        statuses[str(quarter)] = card.set_index("customer_id")["status"].astype(str)
        previous = timed("assign_status (previous)", review.assign_status, judged, customers, quarter.shift(-1), config.review, rank)
        changes = timed("movement", review.movement, previous, card)
        ended = timed("move_on", review.move_on, judged, customers, statuses, quarter)
        out.update(judged=judged, value=value, previous=previous.copy(), statuses=statuses, movement=changes, move_on=ended)
        card_before_scorecard = card.copy()
        receivables = inputs["payment_customers"].set_index("customer_id")["ar"]
        scorecard = timed("_scorecard", scorecard_fn, card, judged, receivables,
                          lifetime.drop(columns="future_value_rank").join(value), quarter, config)
        out["scorecard"] = scorecard
        total = time.perf_counter() - total
        out["card"] = card_before_scorecard
    review_peak = max((sampler.step_peak.get(name, 0) for name in CALLS), default=0)
    result = {
        "size": size,
        "variant": variant,
        "rows": len(judged),
        "customers": len(customers),
        "seconds": {name: round(value, 2) for name, value in seconds.items()},
        "total": round(total, 2),
        "cpu_seconds": {name: round(value, 2) for name, value in cpu.items()},
        "cpu_total": round(sum(cpu.values()), 2),
        "step_peak_mb": {name: round(value / 2**20) for name, value in sampler.step_peak.items()},
        "inputs_rss_mb": round(start_rss / 2**20),
        "review_peak_above_inputs_mb": round((review_peak - start_rss) / 2**20),
        "peak_rss_mb": round(peak_rss_mb()),
    }
    if save:
        for name, frame in out.items():
            with open(folder(size) / f"out_{variant}_{name}.pkl", "wb") as handle:
                pickle.dump(frame, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return result


def compare(size: str, variants: tuple[str, str]) -> dict[str, str]:
    """Exact equality of every output between two variants (one output at a time)."""
    import pandas as pd

    verdicts = {}
    for name in OUTPUTS:
        paths = [folder(size) / f"out_{variant}_{name}.pkl" for variant in variants]
        if not all(path.exists() for path in paths):
            verdicts[name] = "missing"
            continue
        frames = []
        for path in paths:
            with open(path, "rb") as handle:
                frames.append(pickle.load(handle))
        try:
            pd.testing.assert_frame_equal(frames[0], frames[1], check_exact=True)
            verdicts[name] = "equal"
        except AssertionError as error:
            verdicts[name] = "DIFFERENT: " + str(error).replace("\n", " ")[:400]
        del frames
        gc.collect()
    return verdicts


# --------------------------------------------------------------------------- driver


def child(args: list[str]) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), *args]
    process = subprocess.run(command, capture_output=True, text=True, check=False)
    if process.returncode != 0:
        raise SystemExit(f"child {args} failed (exit status {process.returncode}):\n{process.stderr[-3000:]}")
    if process.stderr.strip():
        print(process.stderr.strip(), file=sys.stderr)
    return json.loads(process.stdout.strip().splitlines()[-1])


def table(results: dict[str, dict[str, dict]], sizes: list[str], variants: list[str]) -> str:
    columns = [(size, variant) for size in sizes for variant in variants if variant in results.get(size, {})]
    head = "| call: wall s (CPU s) / peak RSS | " + " | ".join(f"{size} {variant}" for size, variant in columns) + " |"
    lines = [head, "| --- |" + " ---: |" * len(columns)]
    for call in CALLS:
        cells = []
        for size, variant in columns:
            r = results[size][variant]
            s, c, m = r["seconds"].get(call), r.get("cpu_seconds", {}).get(call), r["step_peak_mb"].get(call)
            text = "–" if s is None else f"{s:.2f} s" + (f" ({c:.2f})" if c is not None else "") + (f" / {m / 1024:.1f} GB" if m else "")
            cells.append(text)
        lines.append(f"| {call} | " + " | ".join(cells) + " |")
    rows = [
        ("**review total**", lambda r: f"**{r['total']:.2f} s**" + (f" ({r['cpu_total']:.2f})" if "cpu_total" in r else "")),
        ("rows in judged", lambda r: f"{r['rows']:,}"),
        ("RSS with inputs loaded", lambda r: f"{r['inputs_rss_mb'] / 1024:.1f} GB"),
        ("review peak above inputs", lambda r: f"{r['review_peak_above_inputs_mb'] / 1024:.1f} GB"),
        ("peak (maxrss)", lambda r: f"{r['peak_rss_mb'] / 1024:.1f} GB"),
    ]
    for label, cell in rows:
        lines.append(f"| {label} | " + " | ".join(cell(results[size][variant]) for size, variant in columns) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="demo", help="comma-separated: demo, 100k, 300k, 1m")
    parser.add_argument("--variants", default="baseline,current", help="baseline and/or current")
    parser.add_argument("--demo-customers", type=int, default=3000, help="customers of the demo world (with --rebuild when changed)")
    parser.add_argument("--baseline", type=Path, default=BASELINE, help="the baseline review module (a .py file)")
    parser.add_argument("--prepare-only", action="store_true", help="only build the cached inputs")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached inputs")
    parser.add_argument("--engine-memory-limit", default="11GB",
                        help="DuckDB memory limit while building the inputs (the scoring config's engine.memory_limit; '' = its own)")
    parser.add_argument("--reuse-baseline", action="store_true",
                        help="compare with the baseline outputs and figures saved by an earlier run instead of running it again")
    parser.add_argument("--goal-seconds", type=float, default=None, help="fail when the current review exceeds this")
    parser.add_argument("--require-equal", action="store_true",
                        help="fail when the outputs differ from the baseline's (they do since the policy changed after it)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        kind, size, *rest = args.child
        if kind == "prepare":
            result = prepare(size, args.demo_customers, args.engine_memory_limit)
        else:
            result = run_review(size, rest[0], args.baseline, save=True)
        print(json.dumps(result))
        return 0

    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    if "baseline" in variants and not args.baseline.exists():
        source = subprocess.run(["git", "show", f"{BASELINE_COMMIT}:src/custvalue/review.py"], cwd=ROOT, capture_output=True, text=True, check=True)
        args.baseline.parent.mkdir(parents=True, exist_ok=True)
        # The helpers the baseline imports have moved since (custvalue.frames, custvalue.drivers).
        baseline_source = source.stdout.replace("from custvalue.features import", "from custvalue.frames import")
        baseline_source = baseline_source.replace("from custvalue.cost_to_serve.drivers import", "from custvalue.drivers import")
        args.baseline.write_text(baseline_source, encoding="utf-8")
        print(f"baseline: review.py of {BASELINE_COMMIT} copied to {args.baseline}")
    common = ["--demo-customers", str(args.demo_customers), "--baseline", str(args.baseline), "--engine-memory-limit", args.engine_memory_limit]

    results: dict[str, dict[str, dict]] = {}
    equal = True
    for size in sizes:
        if args.rebuild or not (folder(size) / "inputs.pkl").exists():
            print(f"[{size}] building review inputs (load, features, cost to serve, payment, lifetime) ...", flush=True)
            print(f"[{size}] {child([*common, '--child', 'prepare', size])}", flush=True)
        if args.prepare_only:
            continue
        results[size] = {}
        for variant in variants:
            saved = folder(size) / f"result_{variant}.json"
            if variant == "baseline" and args.reuse_baseline and saved.exists():
                results[size][variant] = json.loads(saved.read_text())
                print(f"[{size}] baseline: reusing the outputs and figures of an earlier run ({saved.name})", flush=True)
                continue
            print(f"[{size}] review, {variant} ...", flush=True)
            results[size][variant] = child([*common, "--child", "run", size, variant])
            saved.write_text(json.dumps(results[size][variant], indent=2))
            print(f"[{size}] {variant}: {results[size][variant]['total']:.2f} s", flush=True)
        if len(variants) == 2:
            verdicts = compare(size, tuple(variants))
            print(f"[{size}] outputs {variants[0]} vs {variants[1]}: " + ", ".join(f"{k} {v}" for k, v in verdicts.items()))
            if args.require_equal:
                equal &= all(v == "equal" for v in verdicts.values())
    if not results:
        return 0
    print()
    print(table(results, sizes, variants))
    INPUTS.mkdir(parents=True, exist_ok=True)
    (INPUTS / "last_results.json").write_text(json.dumps(results, indent=2))
    if not equal:
        print("\nOUTPUTS DIFFER from the baseline")
        return 2
    if args.goal_seconds is not None and "current" in variants:
        largest = results[sizes[-1]]["current"]["total"]
        if largest > args.goal_seconds:
            print(f"\ngoal missed: review {largest:.1f} s > {args.goal_seconds:.0f} s at {sizes[-1]}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

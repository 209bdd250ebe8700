"""Benchmark: custvalue's BG/NBD and Pareto/NBD fits against lifetimes 0.11.3.

The CDNOW 1/10 sample (2,357 customers) is replicated (x1000 for BG/NBD,
x100 for Pareto/NBD) and fitted by both libraries in the same run. lifetimes'
pins need numpy 1.x, so it runs in its own virtual environment
(``benchmarks/.venv-lifetimes``, created on first use) as a subprocess that
times its ``fit`` call only. Our fit is timed with the unique-row compression
(the default) and without it, to show where the speed comes from.

Prints a table and exits non-zero if a target is missed: BG/NBD at least 10x
and Pareto/NBD at least 20x faster than lifetimes, with estimates within
``--max-param-diff`` relative of lifetimes'.

With ``--predictions`` it times the predictions instead: CDNOW x1000 (2,357,000
customers), ``conditional_expected_purchases(39, ...)`` and
``conditional_probability_alive`` of BG/NBD and Pareto/NBD at the same parameters, ours
and lifetimes' in the same run, each with its peak memory (tracemalloc peak of the
call, measured in a second call so that timing runs untraced). Exits non-zero unless
ours is at least 5x faster with a lower peak, and agrees to 1e-6 relative.

Usage::

    .venv/bin/python benchmarks/bench_lifetime.py [--bg-copies 1000] [--pareto-copies 100]
    .venv/bin/python benchmarks/bench_lifetime.py --predictions [--copies 1000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd

from custvalue.lifetime import BetaGeoModel, ParetoNBDModel

HERE = Path(__file__).resolve().parent
CDNOW_SUMMARY = HERE.parent / "tests" / "data" / "cdnow" / "cdnow_customers_summary.csv"
LIFETIMES_VENV = HERE / ".venv-lifetimes"
#: lifetimes 0.11.3 with the newest releases it still works with on Python 3.11.
LIFETIMES_REQUIREMENTS = [
    "lifetimes==0.11.3",
    "numpy==1.26.4",
    "scipy==1.11.4",
    "pandas==1.5.3",
    "autograd==1.6.2",
    "dill",
]
SPEEDUP_TARGETS = {"BG/NBD": 10.0, "Pareto/NBD": 20.0}
#: Predictions: at least this much faster than lifetimes (and with a lower peak memory).
PREDICTION_SPEEDUP = 5.0

# Runs inside the lifetimes environment: replicate the data, time fit() only.
LIFETIMES_SCRIPT = textwrap.dedent(
    """
    import json, sys, time, warnings
    import numpy as np, pandas as pd
    warnings.simplefilter("ignore")
    from lifetimes import BetaGeoFitter, ParetoNBDFitter

    path, model, copies = sys.argv[1], sys.argv[2], int(sys.argv[3])
    data = pd.read_csv(path)
    x = np.tile(data["frequency"].to_numpy(), copies)
    t_x = np.tile(data["recency"].to_numpy(), copies)
    T = np.tile(data["T"].to_numpy(), copies)
    fitter = BetaGeoFitter() if model == "BG/NBD" else ParetoNBDFitter()
    start = time.perf_counter()
    fitter.fit(x, t_x, T)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "params": fitter.params_.to_dict()}))
    """
)


# Runs inside the lifetimes environment: one prediction at given parameters, timed, then
# its peak memory (tracemalloc sees numpy's allocations) in a second, traced call.
LIFETIMES_PREDICTION_SCRIPT = textwrap.dedent(
    """
    import json, sys, time, tracemalloc, warnings
    import numpy as np, pandas as pd
    warnings.simplefilter("ignore")
    from lifetimes import BetaGeoFitter, ParetoNBDFitter

    path, model, copies, question = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    params = json.loads(sys.argv[5])
    data = pd.read_csv(path)
    x, t_x, T = (np.tile(data[c].to_numpy(float), copies) for c in ("frequency", "recency", "T"))
    fitter = BetaGeoFitter() if model == "BG/NBD" else ParetoNBDFitter()
    fitter.params_ = pd.Series(params)
    def call():
        if question == "expected_purchases":
            return np.asarray(fitter.conditional_expected_number_of_purchases_up_to_time(39, x, t_x, T))
        return np.asarray(fitter.conditional_probability_alive(x, t_x, T))
    start = time.perf_counter(); values = call(); seconds = time.perf_counter() - start
    tracemalloc.start(); call(); peak = tracemalloc.get_traced_memory()[1]; tracemalloc.stop()
    print(json.dumps({"seconds": seconds, "peak": peak, "first": values[:2357].tolist()}))
    """
)


def lifetimes_python() -> Path:
    """Python of the lifetimes environment, creating the environment if missing."""
    python = LIFETIMES_VENV / "bin" / "python"
    if python.exists():
        return python
    print(f"creating {LIFETIMES_VENV} with {' '.join(LIFETIMES_REQUIREMENTS)} ...", flush=True)
    subprocess.run(["python3", "-m", "venv", "--clear", str(LIFETIMES_VENV)], check=True)
    # Keep the environment out of git whatever the repository's .gitignore says.
    (LIFETIMES_VENV / ".gitignore").write_text("*\n")
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *LIFETIMES_REQUIREMENTS], check=True)
    return python


def run_lifetimes(model: str, copies: int) -> dict:
    """Fit with lifetimes in its environment; return seconds and params."""
    completed = subprocess.run(
        [str(lifetimes_python()), "-c", LIFETIMES_SCRIPT, str(CDNOW_SUMMARY), model, str(copies)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def time_ours(model_class, data: pd.DataFrame, copies: int, compress: bool) -> tuple[float, pd.Series]:
    """Seconds of our fit() on the replicated data, and the estimates."""
    model = model_class(*(np.tile(data[c].to_numpy(), copies) for c in ("frequency", "recency", "T")))
    start = time.perf_counter()
    results = model.fit(compress=compress)
    return time.perf_counter() - start, results.params


def predictions(copies: int) -> int:
    """Time and peak memory of the predictions, ours against lifetimes'; 0 when the goal is met."""
    import tracemalloc

    from custvalue.lifetime import BetaGeoResults, ParetoNBDResults

    data = pd.read_csv(CDNOW_SUMMARY)
    x, t_x, T = (np.tile(data[c].to_numpy(float), copies) for c in ("frequency", "recency", "T"))
    rows, failures = [], []
    for name, model_class in (("BG/NBD", BetaGeoModel), ("Pareto/NBD", ParetoNBDModel)):
        fit = model_class(data["frequency"], data["recency"], data["T"]).fit()
        results = (BetaGeoResults if name == "BG/NBD" else ParetoNBDResults).from_params(fit.params)
        for question in ("expected_purchases", "p_alive"):
            def call():
                if question == "expected_purchases":
                    return results.conditional_expected_purchases(39, x, t_x, T)
                return results.conditional_probability_alive(x, t_x, T)

            start = time.perf_counter()
            ours = call()
            seconds = time.perf_counter() - start
            tracemalloc.start()
            call()
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            completed = subprocess.run(
                [str(lifetimes_python()), "-c", LIFETIMES_PREDICTION_SCRIPT, str(CDNOW_SUMMARY), name, str(copies),
                 question, json.dumps(fit.params.to_dict())],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            theirs = json.loads(completed.stdout.strip().splitlines()[-1])
            difference = float(np.max(np.abs(ours[: len(data)] / np.asarray(theirs["first"]) - 1.0)))
            row = {
                "model": name, "prediction": question, "customers": len(x),
                "ours s": seconds, "lifetimes s": theirs["seconds"], "speedup": theirs["seconds"] / seconds,
                "ours peak MB": peak / 2**20, "lifetimes peak MB": theirs["peak"] / 2**20, "max rel diff": difference,
            }  # fmt: skip
            print(f"  {name:<11}{question:<20}ours {seconds:7.3f} s {row['ours peak MB']:8.1f} MB   "
                  f"lifetimes {theirs['seconds']:7.3f} s {row['lifetimes peak MB']:8.1f} MB   x{row['speedup']:.1f}", flush=True)  # fmt: skip
            rows.append(row)
            if row["speedup"] < PREDICTION_SPEEDUP or peak >= theirs["peak"] or difference > 1e-6:
                failures.append(f"{name} {question}: x{row['speedup']:.1f}, {row['ours peak MB']:.0f} MB vs {row['lifetimes peak MB']:.0f} MB, diff {difference:.1e}")
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.float_format", "{:.4g}".format):
        print()
        print(pd.DataFrame(rows).set_index(["model", "prediction"]))
    for failure in failures:
        print("TARGET MISSED:", failure, file=sys.stderr)
    return 1 if failures else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--predictions", action="store_true", help="benchmark the predictions instead of the fits")
    parser.add_argument("--copies", type=int, default=1000, help="replications of CDNOW for --predictions")
    parser.add_argument("--bg-copies", type=int, default=1000, help="replications of CDNOW for BG/NBD")
    parser.add_argument("--pareto-copies", type=int, default=100, help="replications of CDNOW for Pareto/NBD")
    parser.add_argument("--max-param-diff", type=float, default=1e-3, help="largest relative difference allowed")
    args = parser.parse_args(argv)
    if args.predictions:
        return predictions(args.copies)

    data = pd.read_csv(CDNOW_SUMMARY)
    rows = []
    for name, model_class, copies in (
        ("BG/NBD", BetaGeoModel, args.bg_copies),
        ("Pareto/NBD", ParetoNBDModel, args.pareto_copies),
    ):
        print(f"{name}: {copies} copies of CDNOW ({copies * len(data):,} customers)", flush=True)
        ours_seconds, ours_params = time_ours(model_class, data, copies, compress=True)
        print(f"  ours (compressed)     {ours_seconds:9.3f} s", flush=True)
        raw_seconds, raw_params = time_ours(model_class, data, copies, compress=False)
        print(f"  ours (no compression) {raw_seconds:9.3f} s", flush=True)
        theirs = run_lifetimes(name, copies)
        print(f"  lifetimes 0.11.3      {theirs['seconds']:9.3f} s", flush=True)
        their_params = pd.Series(theirs["params"])[ours_params.index]
        rows.append(
            {
                "model": name,
                "n customers": copies * len(data),
                "ours s": ours_seconds,
                "ours s (no compression)": raw_seconds,
                "lifetimes s": theirs["seconds"],
                "speedup": theirs["seconds"] / ours_seconds,
                "speedup (no compression)": theirs["seconds"] / raw_seconds,
                "max rel param diff": float(np.max(np.abs(ours_params / their_params - 1.0))),
                "compression changes params by": float(np.max(np.abs(raw_params / ours_params - 1.0))),
            }
        )

    table = pd.DataFrame(rows).set_index("model")
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.float_format", "{:.4g}".format):
        print()
        print(table.T)

    failures = [
        f"{name}: speedup {row['speedup']:.1f}x < {SPEEDUP_TARGETS[name]:g}x"
        for name, row in table.iterrows()
        if row["speedup"] < SPEEDUP_TARGETS[name]
    ] + [
        f"{name}: estimates differ from lifetimes by {row['max rel param diff']:.2e} relative"
        for name, row in table.iterrows()
        if row["max rel param diff"] > args.max_param_diff
    ]
    for failure in failures:
        print("TARGET MISSED:", failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

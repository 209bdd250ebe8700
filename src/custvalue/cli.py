"""The ``custvalue`` command: a thin shell around the library.

Every problem the user can act on is printed as one line on stderr (``error: ...``) with
exit status 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from custvalue import __version__, paths
from custvalue.errors import CustvalueError
from custvalue.quarters import Quarter

EXIT_UNUSABLE = 2


def _quarter(text: str) -> Quarter:
    try:
        return Quarter.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date YYYY-MM-DD: {text!r}") from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="custvalue", description="Which customers to let go, and why.")
    parser.add_argument("--version", action="version", version=f"custvalue {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="generate the demo world (a believable B2B distributor)")
    demo.add_argument("--out", type=Path, default=paths.RAW_DIR, help="folder for the raw tables (default: data/raw)")
    demo.add_argument("--truth", type=Path, default=None, help="ground-truth file, kept outside the raw folder (default: demo_ground_truth.csv beside it)")
    demo.add_argument("--customers", type=_positive_int, default=2000, help="number of customers (default 2000)")
    demo.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    demo.add_argument("--end", type=_iso_date, default=date(2026, 6, 30), help="last day of the data (default 2026-06-30)")
    demo.add_argument("--format", choices=["csv", "parquet"], default="csv", help="file format (default csv)")
    demo.add_argument("--if-empty", action="store_true", help="do nothing when the folder already holds data")
    demo.add_argument("--violations", action="store_true", help="inject deliberate contract violations (for testing)")
    demo.add_argument("--hostile-names", action="store_true", help="inject HTML and formula payloads into names (for testing)")

    validate = commands.add_parser("validate", help="check raw data against the contract and summarise")
    validate.add_argument("--raw", type=Path, default=paths.RAW_DIR, help="raw data folder (default: data/raw)")
    validate.add_argument("--config", type=Path, default=None, help="configuration YAML; its engine section says where the data are")

    for name, text in (("score", "score a quarter: write the scorecard"), ("report", "score a quarter and render the HTML report")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--raw", type=Path, default=paths.RAW_DIR, help="raw data folder (default: data/raw)")
        command.add_argument("--quarter", type=_quarter, default=None, help="quarter YYYYQn (default: last complete quarter in the data)")
        command.add_argument("--config", type=Path, default=None, help="configuration YAML (default: config/custvalue.yaml if present)")
        if name == "score":
            command.add_argument("--out", type=Path, default=paths.PROCESSED_DIR, help="processed folder (default: data/processed)")
        else:
            command.add_argument("--out", type=Path, default=paths.REPORTS_DIR, help="reports folder (default: reports)")
            command.add_argument("--processed", type=Path, default=paths.PROCESSED_DIR, help="processed folder (default: data/processed)")
            command.add_argument("--notebooks", type=Path, default=paths.NOTEBOOKS_DIR, help="notebook folder (default: notebooks)")
            command.add_argument("--timeout", type=_positive_int, default=900, help="seconds per notebook cell (default 900)")

    latest = commands.add_parser("latest-quarter", help="print the last complete quarter in the raw data")
    latest.add_argument("--raw", type=Path, default=paths.RAW_DIR, help="raw data folder (default: data/raw)")
    latest.add_argument("--config", type=Path, default=None, help="configuration YAML; its engine section says where the data are")

    contract_doc = commands.add_parser("contract-doc", help="write docs/data-contract.md from the schemas")
    contract_doc.add_argument("--out", type=Path, default=paths.PROJECT_ROOT / "docs" / "data-contract.md")
    config_doc = commands.add_parser("config-doc", help="write docs/configuration.md from the settings")
    config_doc.add_argument("--out", type=Path, default=paths.PROJECT_ROOT / "docs" / "configuration.md")
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    try:
        return _COMMANDS[arguments.command](arguments)
    except CustvalueError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _config_path(arguments: argparse.Namespace) -> Path | None:
    if arguments.config is not None:
        return arguments.config
    return paths.CONFIG_PATH if paths.CONFIG_PATH.is_file() else None


def _run_demo(arguments: argparse.Namespace) -> int:
    from custvalue.engine import raw_folder_has_data
    from custvalue.demo import DemoSpec, generate_world, inject_violations, write_world

    if arguments.if_empty and raw_folder_has_data(arguments.out):
        print(f"{arguments.out} already holds data; left as it is")
        return 0
    truth = arguments.truth or paths.demo_truth_path(arguments.out)
    spec = DemoSpec(n_customers=arguments.customers, seed=arguments.seed, end=arguments.end, hostile_names=arguments.hostile_names)
    world = generate_world(spec)
    if arguments.violations:
        tables, injected = inject_violations(world.tables, seed=arguments.seed)
        world = type(world)(tables=tables, truth=world.truth, spec=world.spec)
        print(f"injected {len(injected)} contract violations")
    written = write_world(world, arguments.out, truth, fmt=arguments.format)
    for name, path in written.items():
        print(f"{name}: {path}")
    return 0


def _load(arguments: argparse.Namespace):  # noqa: ANN202 - LoadedData, imported lazily for a fast --help
    from custvalue.config import load_config
    from custvalue.loading import load_raw

    return load_raw(arguments.raw, load_config(_config_path(arguments)).engine)


def _run_validate(arguments: argparse.Namespace) -> int:
    data = _load(arguments)
    print(data.quality().to_string(index=False))
    reasons = data.rejection_reasons()
    if not reasons.empty:
        print("\nrejected rows by rule:")
        print(reasons.to_string(index=False))
    last = data.last_event_date()
    if last is not None:
        print(f"\nlast event {last.date()}; last complete quarter {Quarter.last_complete(last.date())}")
    return 0


def _run_score(arguments: argparse.Namespace) -> int:
    from custvalue.config import load_config
    from custvalue.pipeline import score_quarter

    scored = score_quarter(arguments.raw, arguments.out, load_config(_config_path(arguments)), arguments.quarter)
    counts = scored.scorecard["status"].value_counts().reindex(scored.scorecard["status"].cat.categories).fillna(0)
    print(f"{scored.quarter}: scored {len(scored.scorecard)} customers -> {scored.outputs.folder}")
    print("  " + ", ".join(f"{status} {int(n)}" for status, n in counts.items()))
    return 0


def _run_report(arguments: argparse.Namespace) -> int:
    from custvalue.config import load_config
    from custvalue.pipeline import score_quarter
    from custvalue.report import ReportParameters, ensure_kernel, render_report

    ensure_kernel()
    config_path = _config_path(arguments)
    scored = score_quarter(arguments.raw, arguments.processed, load_config(config_path), arguments.quarter)
    parameters = ReportParameters(scored.quarter, arguments.raw.resolve(), arguments.processed.resolve(), config_path.resolve() if config_path else None)
    folder = render_report(parameters, arguments.out, arguments.notebooks, timeout_seconds=arguments.timeout)
    print(f"{scored.quarter}: report -> {folder / 'index.html'}")
    return 0


def _run_latest_quarter(arguments: argparse.Namespace) -> int:
    from custvalue.pipeline import default_quarter

    print(default_quarter(_load(arguments)))
    return 0


def _write_document(path: Path, text: str) -> int:
    from custvalue.atomic import atomic_write_text

    atomic_write_text(path, text)
    print(f"wrote {path}")
    return 0


def _run_contract_doc(arguments: argparse.Namespace) -> int:
    from custvalue.contract import contract_markdown

    return _write_document(arguments.out, contract_markdown())


def _run_config_doc(arguments: argparse.Namespace) -> int:
    from custvalue.config import configuration_markdown

    return _write_document(arguments.out, configuration_markdown())


_COMMANDS = {
    "demo": _run_demo,
    "validate": _run_validate,
    "score": _run_score,
    "report": _run_report,
    "latest-quarter": _run_latest_quarter,
    "contract-doc": _run_contract_doc,
    "config-doc": _run_config_doc,
}


if __name__ == "__main__":
    sys.exit(main())

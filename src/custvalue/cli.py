"""The ``custvalue`` command: a thin shell around the library.

Every problem the user can act on is printed as one line on stderr (``error: ...``) with
exit status 2, never as a traceback.

Every default folder is the project folder's (:func:`custvalue.paths.find_project`), and
an option means the same on every command: ``--raw`` the raw data, ``--processed`` the
scored quarters, ``--reports`` the reports, ``--notebooks`` the pages' notebooks,
``--config`` the configuration. ``--out`` is kept as another name for the folder a
command writes (``demo``: raw, ``score``: processed, ``report``: reports). A run says on
stderr, first, which folders it reads and writes, then how it gets on (``--quiet``: only
errors); results go to stdout.
"""

from __future__ import annotations

import argparse
import re
import sys
import traceback
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from custvalue import __version__, paths
from custvalue.errors import expected_failure, one_line
from custvalue.quarters import Quarter

if TYPE_CHECKING:  # imported by the commands that use them, for a fast --help
    from custvalue.config import Config
    from custvalue.loading import LoadedData
    from custvalue.progress import Progress

EXIT_UNUSABLE = 2
EXIT_BUG = 1
EXIT_INTERRUPTED = 130
BUG_REPORTS = "the project's issue tracker"
VALIDATE_WIDTH = 100
"""Columns the table of ``custvalue validate`` fits in."""

EXIT_CODES = """\
exit codes:
  0  done
  2  bad input or configuration (one line per problem on stderr), or a usage error
  1  unexpected failure (a bug: please report it)
  130 interrupted (Ctrl-C)"""

PROJECT_FOLDER = """\
default folders are the project folder's: the nearest folder, from the working folder
up, holding config/custvalue.yaml or a pyproject.toml with a [tool.custvalue] table
(else the working folder; $CUSTVALUE_HOME overrides): data/raw, data/processed,
reports, config/custvalue.yaml, notebooks (else the notebooks shipped with custvalue)."""

EXAMPLES = {
    "demo": "custvalue demo --raw w/raw --customers 300",
    "validate": "custvalue validate --raw w/raw",
    "score": "custvalue score --raw w/raw --processed w/processed --quarter 2026Q2",
    "report": "custvalue report --raw w/raw --processed w/processed --reports w/reports",
    "latest-quarter": "custvalue latest-quarter --raw w/raw",
    "contract-doc": "custvalue contract-doc --out docs/data-contract.md",
    "config-doc": "custvalue config-doc --out docs/configuration.md",
}


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
    parser = argparse.ArgumentParser(
        prog="custvalue",
        description="Which customers to let go, and why.",
        epilog=f"example:\n  {EXAMPLES['report']}\n\n{PROJECT_FOLDER}\n\n{EXIT_CODES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"custvalue {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name, help=text, description=text[0].upper() + text[1:] + ".",
            epilog=f"example:\n  {EXAMPLES[name]}\n\n{EXIT_CODES}", formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    demo = command("demo", "generate the demo world (a believable B2B distributor)")
    demo.add_argument("--raw", "--out", dest="raw", type=Path, metavar="DIR", help="folder for the raw tables (default: the project's data/raw)")
    demo.add_argument("--truth", type=Path, default=None, help="ground-truth file, kept outside the raw folder (default: demo_ground_truth.csv beside it)")
    demo.add_argument("--customers", type=_positive_int, default=2000, help="number of customers (default 2000)")
    demo.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    demo.add_argument("--end", type=_iso_date, default=date(2026, 6, 30), help="last day of the data (default 2026-06-30)")
    demo.add_argument("--format", choices=["csv", "parquet"], default="csv", help="file format (default csv)")
    demo.add_argument("--if-empty", action="store_true", help="do nothing when the folder already holds data")
    demo.add_argument("--violations", action="store_true", help="inject deliberate contract violations (for testing)")
    demo.add_argument("--hostile-names", action="store_true", help="inject HTML and formula payloads into names (for testing)")
    _quiet(demo)

    validate = command("validate", "check raw data against the contract and summarise")
    _raw_and_config(validate)
    validate.add_argument("--processed", type=Path, metavar="DIR", help="processed folder, where `score` puts rejected rows (default: the project's data/processed)")
    _quiet(validate)

    score = command("score", "score a quarter: write the scorecard")
    _raw_and_config(score)
    score.add_argument("--quarter", type=_quarter, default=None, help="quarter YYYYQn (default: last complete quarter in the data)")
    _output_folder(score, "--processed", "processed folder (default: the project's data/processed)")
    _force_and_quiet(score, "score")

    report = command("report", "score a quarter and render the HTML report")
    _raw_and_config(report)
    report.add_argument("--quarter", type=_quarter, default=None, help="quarter YYYYQn (default: last complete quarter in the data)")
    report.add_argument("--processed", type=Path, metavar="DIR", help="processed folder (default: the project's data/processed)")
    _output_folder(report, "--reports", "reports folder (default: the project's reports)")
    report.add_argument("--notebooks", type=Path, metavar="DIR", help="the pages' notebooks (default: the project's notebooks, else those shipped with custvalue)")
    report.add_argument("--timeout", type=_positive_int, default=900, help="seconds per notebook cell (default 900)")
    _force_and_quiet(report, "score and render")

    latest = command("latest-quarter", "print the last complete quarter in the raw data")
    _raw_and_config(latest)
    latest.add_argument("--processed", type=Path, metavar="DIR", help="processed folder: a quarter scored there from the same inputs answers without loading them (default: the project's data/processed)")
    _quiet(latest)

    contract_doc = command("contract-doc", "write docs/data-contract.md from the schemas")
    contract_doc.add_argument("--out", type=Path, metavar="FILE", help="the file to write (default: the project's docs/data-contract.md)")
    config_doc = command("config-doc", "write docs/configuration.md from the settings")
    config_doc.add_argument("--out", type=Path, metavar="FILE", help="the file to write (default: the project's docs/configuration.md)")
    return parser


def _raw_and_config(command: argparse.ArgumentParser) -> None:
    command.add_argument("--raw", type=Path, metavar="DIR", help="raw data folder (default: the project's data/raw)")
    command.add_argument("--config", type=Path, default=None, help="configuration YAML (default: the project's config/custvalue.yaml if present); its engine section says where the data are")


def _output_folder(command: argparse.ArgumentParser, option: str, text: str) -> None:
    """``option`` and ``--out``, two names for the folder the command writes (one of them)."""
    names = command.add_mutually_exclusive_group()
    names.add_argument(option, dest=option.lstrip("-"), type=Path, metavar="DIR", help=text)
    names.add_argument("--out", dest=option.lstrip("-"), type=Path, metavar="DIR", help=f"the same as {option} (its older name)")


def _force_and_quiet(command: argparse.ArgumentParser, verb: str) -> None:
    command.add_argument("--force", action="store_true", help=f"{verb} even when the outputs are up to date with their inputs")
    _quiet(command)


def _quiet(command: argparse.ArgumentParser) -> None:
    command.add_argument("--quiet", "-q", action="store_true", help="print no progress on stderr, only errors")


def main(argv: list[str] | None = None) -> int:
    """Run one command; the one boundary where every failure gets its exit code.

    Expected failures (the input, the configuration, the output location, the engine's
    resources, a backend that cannot be reached) print one ``error:`` line per problem and
    give :data:`EXIT_UNUSABLE`; an interruption gives :data:`EXIT_INTERRUPTED`; anything
    else is a bug: its traceback, a line asking for a report, :data:`EXIT_BUG`.
    """
    arguments = build_parser().parse_args(argv)
    try:
        return _COMMANDS[arguments.command](arguments)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # noqa: BLE001 - the boundary: every failure is reported here
        expected = expected_failure(error)
        if expected is None:
            traceback.print_exc(file=sys.stderr)
            print(f"error: custvalue {__version__} failed unexpectedly: {type(error).__name__}: {one_line(error)[:300]}", file=sys.stderr)
            print(f"this is a bug; please report it with the lines above and the command you ran ({BUG_REPORTS})", file=sys.stderr)
            return EXIT_BUG
        for problem in expected.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_UNUSABLE


def _project_defaults(arguments: argparse.Namespace) -> paths.Project:
    """Fill every folder option left out with the project folder's; return the project."""
    project = paths.find_project()
    for option in ("raw", "processed", "reports"):
        if getattr(arguments, option, False) is None:
            setattr(arguments, option, getattr(project, option))
    if getattr(arguments, "config", False) is None:
        arguments.config = project.config
    return project


def _progress(arguments: argparse.Namespace) -> Progress:
    from custvalue.progress import for_stream

    return for_stream(quiet=arguments.quiet)


def _announce(progress: Progress, project: paths.Project, reads: dict[str, str], writes: dict[str, str]) -> None:
    """The run's first lines: the project folder, and every folder it reads and writes."""
    progress.say(f"project folder: {project.root} ({project.found_by})")
    for verb, folders in (("reads", reads), ("writes", writes)):
        for number, (what, where) in enumerate(folders.items() or {"nothing": ""}.items()):
            progress.say(f"{verb if number == 0 else '':<7}{what:<10} {where}".rstrip())


def _raw_location(arguments: argparse.Namespace, config: Config) -> str:
    if config.engine.tables:
        return f"{config.engine.backend} tables named in engine.tables of the configuration"
    return str(arguments.raw.resolve())


def _config_location(arguments: argparse.Namespace) -> str:
    return str(arguments.config.resolve()) if arguments.config else "none: the defaults"


def _run_demo(arguments: argparse.Namespace) -> int:
    from custvalue.engine import raw_folder_has_data
    from custvalue.demo import DemoSpec, generate_world, write_world
    from custvalue.testing import inject_violations

    project = _project_defaults(arguments)
    if arguments.if_empty and raw_folder_has_data(arguments.raw):
        print(f"{arguments.raw} already holds data; left as it is")
        return 0
    truth = arguments.truth or paths.demo_truth_path(arguments.raw)
    _announce(_progress(arguments), project, {}, {"raw": str(arguments.raw.resolve()), "truth": str(Path(truth).resolve())})
    spec = DemoSpec(n_customers=arguments.customers, seed=arguments.seed, end=arguments.end, hostile_names=arguments.hostile_names)
    world = generate_world(spec)
    if arguments.violations:
        tables, injected = inject_violations(world.tables, seed=arguments.seed)
        world = type(world)(tables=tables, truth=world.truth, spec=world.spec)
        print(f"injected {len(injected)} contract violations")
    written = write_world(world, arguments.raw, truth, fmt=arguments.format)
    for name, path in written.items():
        print(f"{name}: {path}")
    return 0


def _start(arguments: argparse.Namespace, writes: tuple[str, ...] = (), reads: dict[str, str] | None = None) -> tuple[Config, Progress]:
    """Fill the defaults, read the configuration, and say which folders the run reads and
    writes (``writes``: the options naming them). Returns the configuration and the
    progress to report on."""
    from custvalue.config import load_config

    project = _project_defaults(arguments)
    config = load_config(arguments.config)
    progress = _progress(arguments)
    reads = {"raw": _raw_location(arguments, config), "config": _config_location(arguments), **(reads or {})}
    _announce(progress, project, reads, {name: str(getattr(arguments, name).resolve()) for name in writes})
    return config, progress


def _load(arguments: argparse.Namespace) -> LoadedData:
    from custvalue.loading import load_raw

    config, progress = _start(arguments)
    return load_raw(arguments.raw, config.engine, progress=progress)


def _run_validate(arguments: argparse.Namespace) -> int:
    data = _load(arguments)
    print(quality_table(data, VALIDATE_WIDTH))
    last = data.last_event_date()
    if last is None:
        return 0
    quarter = Quarter.last_complete(last.date())
    print(f"\nlast event {last.date()}; last complete quarter {quarter}")
    if any(len(load.rejected) for load in data.tables.values()):
        rejected = paths.QuarterOutputs(arguments.processed.resolve(), quarter).rejected_dir
        print(f"rejected rows, each with its reasons, are written by `custvalue score` to\n  {rejected}/<table>.csv")
    return 0


def quality_table(data: LoadedData, width: int = VALIDATE_WIDTH, reasons_shown: int = 3) -> str:
    """Rows, accepted and rejected by table, with the commonest reasons (one a line, the
    most frequent first), in ``width`` columns."""
    reasons = data.rejection_reasons()
    head = f"{'table':<16}{'rows':>11}{'accepted':>11}{'rejected':>10}  "
    room = width - len(head)
    lines = [f"{head}top reasons"]
    for name, load in data.tables.items():
        if load.location is None:
            lines.append(f"{name:<16}{'absent (optional)':>32}")
            continue
        top = reasons[reasons["table"] == name].sort_values("rows", ascending=False, kind="stable")
        why = [_fit(f"{rule} ({int(rows):,})", room) for rule, rows in zip(top["rule"], top["rows"])]
        if len(why) > reasons_shown:
            why = [*why[:reasons_shown], f"and {len(why) - reasons_shown} more rules"]
        figures = f"{name:<16}{load.input_rows:>11,}{load.accepted_rows:>11,}{len(load.rejected):>10,}"
        lines.append(f"{figures}  {why[0]}" if why else figures)
        lines.extend(" " * len(head) + reason for reason in why[1:])
    return "\n".join(lines)


def _fit(text: str, room: int) -> str:
    """``text`` in ``room`` columns: a long one loses its explanation in brackets, then its end."""
    if len(text) > room:
        text = re.sub(r" \([^()]*\)( \([0-9,]+\))$", r"\1", text)
    return text if len(text) <= room else text[: room - 3] + "..."


def _run_score(arguments: argparse.Namespace) -> int:
    from custvalue.pipeline import score_unless_current, status_counts

    config, progress = _start(arguments, writes=("processed",))
    run = score_unless_current(arguments.raw, arguments.processed, config, arguments.quarter, force=arguments.force, progress=progress)
    card = run.results.scorecard
    print(f"{run.results.quarter}: scored {len(card)} customers -> {run.results.outputs.folder}")
    print("  " + status_counts(card))
    return 0


def _run_report(arguments: argparse.Namespace) -> int:
    from custvalue.pipeline import score_unless_current
    from custvalue.report import ReportParameters, ensure_kernel, notebooks_for_report, render_unless_current

    ensure_kernel()
    notebooks, origin = notebooks_for_report(arguments.notebooks)
    config, progress = _start(arguments, writes=("processed", "reports"), reads={"notebooks": f"{notebooks} ({origin})"})
    run = score_unless_current(arguments.raw, arguments.processed, config, arguments.quarter, force=arguments.force, progress=progress)
    config_path = arguments.config.resolve() if arguments.config else None
    parameters = ReportParameters(run.results.quarter, arguments.raw.resolve(), arguments.processed.resolve(), config_path)
    report = render_unless_current(parameters, arguments.reports, notebooks, timeout_seconds=arguments.timeout, force=arguments.force, progress=progress)
    print(f"{run.results.quarter}: report -> {report.folder / 'index.html'}")
    return 0


def _run_latest_quarter(arguments: argparse.Namespace) -> int:
    from custvalue.loading import load_raw
    from custvalue.pipeline import default_quarter
    from custvalue.provenance import recorded_last_complete_quarter

    config, progress = _start(arguments)
    recorded = recorded_last_complete_quarter(arguments.processed, arguments.raw, config)
    if recorded is not None:
        progress.say(f"latest-quarter: {recorded}, as recorded when a quarter was scored from these inputs, configuration and code")
        print(recorded)
        return 0
    print(default_quarter(load_raw(arguments.raw, config.engine, progress=progress)))
    return 0


def _write_document(path: Path, text: str) -> int:
    from custvalue.atomic import atomic_write_text

    atomic_write_text(path, text)
    print(f"wrote {path}")
    return 0


def _run_contract_doc(arguments: argparse.Namespace) -> int:
    from custvalue.contract import contract_markdown

    return _write_document(arguments.out or paths.find_project().docs / "data-contract.md", contract_markdown())


def _run_config_doc(arguments: argparse.Namespace) -> int:
    from custvalue.config import configuration_markdown

    return _write_document(arguments.out or paths.find_project().docs / "configuration.md", configuration_markdown())


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

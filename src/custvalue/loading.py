"""Validated loading: the raw input, checked against the contract inside the engine.

:func:`load_raw` opens the configured engine, reads each contract table there (files of
the raw folder, or tables named in the configuration), and runs the compiled contract
(:mod:`custvalue.validation`) on it in three passes, all lazy (every problem is found at
once):

1. *Unusable input*: a required file or column missing, a file that cannot be parsed.
   Raises :class:`~custvalue.errors.ContractError` with one line per problem.
2. *Parsing*: every cell is parsed to its declared type; a cell that does not parse
   quarantines its row.
3. *Rules*: ranges, allowed values, uniqueness, rules across columns, and the reference
   to accepted ``customers``. A row breaking any rule is quarantined with every reason.

Accepted rows stay in the engine (one table per contract table); rejected rows come back
as text with their row number and reasons. For every table, input rows = accepted +
rejected: the three counts are measured separately and a mismatch is an error. Raw files
are only ever read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import ibis
import pandas as pd
from ibis.backends import BaseBackend

from custvalue.config import EngineSettings
from custvalue.contract import REASON_COLUMN, TABLES, TableSpec, column_kind, rule_of_reason
from custvalue.engine import (
    ROW,
    Engine,
    Source,
    connect,
    create_empty,
    engine_type,
    fetch,
    find_table_file,
    materialize,
    open_file,
    open_table,
    settle,
    work_database,
)
from custvalue.errors import ContractError, InsufficientDataError
from custvalue.progress import SILENT, Progress
from custvalue.validation import compile_table, reasons_of, source_text

EVENT_DATES = (("orders", "order_date"), ("invoices", "issue_date"), ("support_tickets", "opened_on"), ("incidents", "date"))
"""The dated events of the input: the span of the data is the span of these."""


@dataclass(frozen=True)
class TableLoad:
    """One table after validation: counts, where it came from, and its quarantine."""

    spec: TableSpec
    location: str | None
    """The file's path or the source table; ``None`` when the optional table is absent."""
    sha256: str | None
    input_rows: int
    accepted_rows: int
    rejected: pd.DataFrame
    """Rejected rows as they were in the input (text), with ``row`` and ``reason`` columns."""
    ignored_columns: tuple[str, ...] = ()

    def counts(self) -> str:
        """``12,000 rows, 11,998 accepted, 2 rejected``, or that the optional table is absent."""
        if self.location is None:
            return "absent (optional)"
        return f"{self.input_rows:,} rows, {self.accepted_rows:,} accepted, {len(self.rejected):,} rejected"

    @property
    def source_label(self) -> str:
        """How the data-quality page names the source: a file's name, or the table."""
        if self.location is None:
            return "(absent)"
        return Path(self.location).name if self.sha256 is not None else self.location


@dataclass(frozen=True)
class LoadedData:
    """The validated input: accepted rows in the engine, the quarantine in pandas."""

    raw_dir: Path | None
    engine: Engine
    tables: dict[str, TableLoad] = field(default_factory=dict)
    customers: pd.DataFrame | None = None
    """The accepted customers (the one table that is always small enough for pandas)."""

    def table(self, name: str) -> ibis.Table:
        """Accepted rows of ``name`` as an Ibis expression (in the engine)."""
        return self.engine.table(name)

    def accepted(self, name: str) -> pd.DataFrame:
        """Accepted rows of ``name`` in input order, in pandas.

        Meant for small inputs and tests: at scale, work on :meth:`table` instead.
        """
        if name == "customers" and self.customers is not None:
            return self.customers
        return accepted_frame(self.engine, name)

    def quality(self) -> pd.DataFrame:
        """Input, accepted and rejected row counts per table."""
        rows = [
            {
                "table": name,
                "file": load.source_label,
                "input_rows": load.input_rows,
                "accepted": load.accepted_rows,
                "rejected": len(load.rejected),
            }
            for name, load in self.tables.items()
        ]
        return pd.DataFrame(rows, columns=["table", "file", "input_rows", "accepted", "rejected"])

    def rejection_reasons(self) -> pd.DataFrame:
        """Rejected rows counted by table and rule (a row breaking two rules counts under both)."""
        frames = []
        for name, load in self.tables.items():
            if load.rejected.empty:
                continue
            rules = load.rejected[REASON_COLUMN].str.split("; ").explode().map(rule_of_reason)
            counts = rules.value_counts().rename_axis("rule").reset_index(name="rows")
            counts.insert(0, "table", name)
            frames.append(counts)
        if not frames:
            return pd.DataFrame(columns=["table", "rule", "rows"])
        return pd.concat(frames, ignore_index=True).sort_values(["table", "rows", "rule"], ascending=[True, False, True])

    def event_dates(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """The first and last dated event in the accepted data (orders, invoices, tickets,
        incidents), or ``None`` when there is none. Computed in the engine."""
        spans = [
            self.engine.table(name).aggregate(first=lambda t, c=column: t[c].min(), last=lambda t, c=column: t[c].max())
            for name, column in EVENT_DATES
            if name in self.tables
        ]
        found = fetch(ibis.union(*spans)).dropna()
        if found.empty:
            return None
        return pd.Timestamp(found["first"].min()), pd.Timestamp(found["last"].max())

    def last_event_date(self) -> pd.Timestamp | None:
        """The latest dated event in the accepted data."""
        span = self.event_dates()
        return span[1] if span else None


def accepted_frame(engine: Engine, name: str) -> pd.DataFrame:
    """The accepted rows of ``name`` in pandas, in input order, typed as the contract says."""
    frame = fetch(engine.table(name).order_by(ROW)).drop(columns=ROW)
    for column_name, column in TABLES[name].columns.items():
        if column_kind(column) == "integer" and column.nullable:
            frame[column_name] = frame[column_name].astype("Int64")
    return frame


def load_raw(raw_dir: Path | str | None, settings: EngineSettings | None = None, *, progress: Progress = SILENT) -> LoadedData:
    """Read and validate every table of the contract in the configured engine.

    Parameters
    ----------
    raw_dir : path
        The raw folder (``<table>.csv`` or ``<table>.parquet``). Not used when the engine
        settings name a source table for every contract table.
    settings : EngineSettings, optional
        The engine (default: embedded DuckDB reading ``raw_dir``).
    progress : Progress, optional
        Told each table's counts as it is validated; silent by default.

    Returns
    -------
    LoadedData
        Accepted rows (in the engine) and quarantined rows (as text, with ``row`` and ``reason``).

    Raises
    ------
    ContractError
        When the input cannot be used at all; one message line per problem.
    """
    settings = settings or EngineSettings()
    raw_dir = Path(raw_dir) if raw_dir is not None else None
    require_raw_folder(raw_dir, settings)
    connection = connect(settings)
    sources = open_sources(connection, raw_dir, settings)
    names = {name: f"cv_{name}" for name in TABLES}
    engine = Engine(connection, names, work_database(connection))
    loads: dict[str, TableLoad] = {}
    for name, spec in TABLES.items():
        customers = engine.table("customers") if name != "customers" else None
        with progress.step(f"validate {name}") as step:
            loads[name] = validate_source(connection, spec, sources[name], names[name], customers)
            step.detail = loads[name].counts()
    empty = [f"{load.location}: no row of required table '{name}' is accepted ({load.counts()}); nothing to score"
             for name, load in loads.items() if load.spec.required and load.location is not None and load.accepted_rows == 0]
    if empty:
        raise InsufficientDataError(empty)
    customers = accepted_frame(engine, "customers")
    settle(connection)
    return LoadedData(raw_dir=raw_dir, engine=engine, tables=loads, customers=customers)


def require_raw_folder(raw_dir: Path | None, settings: EngineSettings) -> None:
    """Raise ContractError when the engine reads files and ``raw_dir`` is not a folder."""
    if not settings.tables and (raw_dir is None or not raw_dir.is_dir()):
        raise ContractError(f"{raw_dir}: raw data folder not found")


def open_sources(connection: BaseBackend, raw_dir: Path | None, settings: EngineSettings) -> dict[str, Source | None]:
    """Every contract table's source (``None`` = an absent optional table).

    Raises ContractError listing every unusable input at once.
    """
    sources: dict[str, Source | None] = {}
    problems: list[str] = []
    for name, spec in TABLES.items():
        try:
            source = _open_source(connection, raw_dir, settings, spec)
        except ContractError as error:
            problems.extend(error.problems)
            continue
        sources[name] = source
        if source is None:
            if spec.required:
                where = f"{raw_dir / (name + '.csv')}" if raw_dir is not None else f"engine.tables.{name}"
                problems.append(f"{where}: required table '{name}' is missing (CSV or Parquet)")
            continue
        missing = [column for column in spec.required_columns() if column not in source.columns]
        problems.extend(f"{source.location}: column '{column}': required column is missing" for column in missing)
    if problems:
        raise ContractError(problems)
    return sources


def _open_source(connection: BaseBackend, raw_dir: Path | None, settings: EngineSettings, spec: TableSpec) -> Source | None:
    if settings.tables:
        qualified = settings.tables.get(spec.name)
        return open_table(connection, spec.name, qualified, spec.id_column) if qualified else None
    if connection.name == "postgres":
        raise ContractError("engine.tables: PostgreSQL reads tables, not files; name the table of each contract table")
    path = find_table_file(raw_dir, spec.name)
    return open_file(connection, spec.name, path) if path is not None else None


def validate_source(
    connection: BaseBackend, spec: TableSpec, source: Source | None, target: str, customers: ibis.Table | None
) -> TableLoad:
    """Validate one source in the engine: keep its accepted rows as table ``target``,
    bring back the rejected ones with their reasons."""
    schema = ibis.schema({ROW: "int64", **{name: engine_type(column_kind(column)) for name, column in spec.columns.items()}})
    if source is None:
        create_empty(connection, target, schema)
        empty = pd.DataFrame(columns=["row", *spec.columns, REASON_COLUMN])
        return TableLoad(spec, None, None, 0, 0, empty)
    compiled = compile_table(spec, source, customers)
    flagged = materialize(connection, f"cv_rejected_{spec.name}", compiled.checked.filter(compiled.failing))
    rejected_rows = _count(flagged)
    accepted = compiled.parsed if rejected_rows == 0 else compiled.parsed.anti_join(flagged, ROW)
    accepted_rows = _count(materialize(connection, target, accepted))
    input_rows = _count(source.table)
    if input_rows != accepted_rows + rejected_rows:
        raise RuntimeError(f"{source.location}: {input_rows} input rows but {accepted_rows} accepted + {rejected_rows} rejected")
    if rejected_rows:
        rows = fetch(source_text(source).inner_join(flagged, ROW).order_by(ROW))
        rejected = reasons_of(rows, compiled.checks)
    else:
        rejected = pd.DataFrame(columns=["row", *source.columns, REASON_COLUMN])
    ignored = tuple(column for column in source.columns if column not in spec.columns)
    return TableLoad(spec, source.location, source.sha256(), input_rows, accepted_rows, rejected, ignored)


def _count(table: ibis.Table) -> int:
    return int(table.count().to_pyarrow().as_py())

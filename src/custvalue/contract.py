"""The data contract (v1): what the input tables must look like, and validated loading.

The pandera ``DataFrameModel`` classes below are the single statement of the contract.
The validator runs them, and ``docs/data-contract.md`` is rendered from them by
:func:`contract_markdown` (a test keeps the two in step).

Loading a raw folder works in three passes, all lazy (every problem is found at once):

1. *Unusable input* — a required file or column missing, a file that cannot be parsed —
   raises :class:`~custvalue.errors.ContractError` with one line per problem.
2. *Parsing* — every cell is read as text and parsed to its declared type (ISO dates,
   decimals, integers, booleans spelled true/false, 1/0 or yes/no). A cell that does not
   parse quarantines its row.
3. *Rules* — the pandera checks (ranges, allowed values, uniqueness, cross-column rules)
   and the reference to ``customers``. A row breaking any rule is quarantined with every
   reason it fails.

For every table, input rows = accepted + rejected. Raw files are only ever read.
Rows are numbered from 1 for the first data row (the header is row 0).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing.pandas import Series

from custvalue.errors import ContractError

ROW_COLUMN = "row"
REASON_COLUMN = "reason"

SEGMENT_EXAMPLES = ("enterprise", "mid-market", "small-business")
TICKET_CHANNELS = ("phone", "email", "chat", "onsite")
INCIDENT_KINDS = (
    "abusive_conduct",
    "staff_avoidance",
    "unreasonable_demand",
    "price_pressure",
    "info_withheld",
    "contract_breach",
)
_TRUE_WORDS = {"true", "1", "yes"}
_FALSE_WORDS = {"false", "0", "no"}


def _optional(default: Any = None) -> dict[str, Any]:
    """Field metadata for a column that may be left out of the file (then ``default``)."""
    return {"optional": True, "default": default}


def _unique_first_kept(series: pd.Series) -> pd.Series:
    """Later repeats of a value fail; its first occurrence is accepted."""
    return ~series.duplicated(keep="first")


def _not_before(frame: pd.DataFrame, later: str, earlier: str) -> pd.Series:
    """``frame[later] >= frame[earlier]``; holds vacuously where either value is missing."""
    holds = frame[later] >= frame[earlier]
    return (holds | frame[later].isna() | frame[earlier].isna()).astype(bool)


class Customers(pa.DataFrameModel):
    """One row per customer account. Required."""

    customer_id: Series[str] = pa.Field(str_length={"min_value": 1}, description="Unique, non-empty.")
    name: Series[str] = pa.Field(
        str_length={"min_value": 1}, description="Non-empty; any characters (untrusted text, escaped on output)."
    )
    segment: Series[str] = pa.Field(
        str_length={"min_value": 1},
        description=f"Peer group used for comparisons, e.g. {', '.join(SEGMENT_EXAMPLES)}.",
    )
    region: Series[str] = pa.Field(nullable=True, metadata=_optional(), description="Sales region.")
    account_manager: Series[str] = pa.Field(nullable=True, metadata=_optional(), description="Who looks after the account.")
    created_on: Series[pd.Timestamp] = pa.Field(description="Date the account was opened.")
    employees: Series[pd.Int64Dtype] = pa.Field(
        ge=0, nullable=True, metadata=_optional(), description="Company size, >= 0."
    )
    ended_on: Series[pd.Timestamp] = pa.Field(
        nullable=True, metadata=_optional(), description="The relationship ended (we let them go, or they left)."
    )

    @pa.check("customer_id", name="unique")
    def _customer_id_unique(cls, series: pd.Series) -> pd.Series:
        return _unique_first_kept(series)

    @pa.dataframe_check(name="ended_on >= created_on")
    def _ended_after_created(cls, frame: pd.DataFrame) -> pd.Series:
        return _not_before(frame, "ended_on", "created_on")


class Orders(pa.DataFrameModel):
    """One row per order or delivery. Required."""

    order_id: Series[str] = pa.Field(str_length={"min_value": 1}, description="Unique.")
    customer_id: Series[str] = pa.Field(metadata={"references": "customers"}, description="Must exist in customers.")
    order_date: Series[pd.Timestamp] = pa.Field(description="Date of the order.")
    revenue: Series[float] = pa.Field(ge=0, description="Net of discounts, >= 0.")
    cost_of_goods: Series[float] = pa.Field(ge=0, description=">= 0.")
    discount: Series[float] = pa.Field(ge=0, description="Concession off list price, >= 0.")
    lines: Series[pd.Int64Dtype] = pa.Field(ge=1, description="Order lines, >= 1.")
    rush: Series[bool] = pa.Field(description="Expedited delivery.")
    manual: Series[bool] = pa.Field(
        metadata=_optional(False), description="Placed by phone/email, keyed by hand."
    )
    returned_value: Series[float] = pa.Field(
        ge=0, metadata=_optional(0.0), description="Value of goods returned, 0 <= returned_value <= revenue."
    )

    @pa.check("order_id", name="unique")
    def _order_id_unique(cls, series: pd.Series) -> pd.Series:
        return _unique_first_kept(series)

    @pa.dataframe_check(name="returned_value <= revenue")
    def _returns_within_revenue(cls, frame: pd.DataFrame) -> pd.Series:
        return _not_before(frame, "revenue", "returned_value")


class Invoices(pa.DataFrameModel):
    """One row per invoice. Required."""

    invoice_id: Series[str] = pa.Field(str_length={"min_value": 1}, description="Unique.")
    customer_id: Series[str] = pa.Field(metadata={"references": "customers"}, description="Must exist in customers.")
    issue_date: Series[pd.Timestamp] = pa.Field(description="Date issued.")
    due_date: Series[pd.Timestamp] = pa.Field(description=">= issue_date.")
    amount: Series[float] = pa.Field(gt=0, description="> 0.")
    paid_date: Series[pd.Timestamp] = pa.Field(
        nullable=True, metadata=_optional(), description="Empty = still open; >= issue_date."
    )
    paid_amount: Series[float] = pa.Field(
        ge=0, metadata=_optional(0.0), description="0 <= paid_amount <= amount."
    )
    disputed: Series[bool] = pa.Field(metadata=_optional(False), description="The customer disputed the invoice.")
    written_off: Series[float] = pa.Field(
        ge=0, metadata=_optional(0.0), description="Bad debt, 0 <= written_off <= amount."
    )

    @pa.check("invoice_id", name="unique")
    def _invoice_id_unique(cls, series: pd.Series) -> pd.Series:
        return _unique_first_kept(series)

    @pa.dataframe_check(name="due_date >= issue_date")
    def _due_after_issue(cls, frame: pd.DataFrame) -> pd.Series:
        return _not_before(frame, "due_date", "issue_date")

    @pa.dataframe_check(name="paid_date >= issue_date")
    def _paid_after_issue(cls, frame: pd.DataFrame) -> pd.Series:
        return _not_before(frame, "paid_date", "issue_date")

    @pa.dataframe_check(name="paid_amount <= amount")
    def _paid_within_amount(cls, frame: pd.DataFrame) -> pd.Series:
        return _not_before(frame, "amount", "paid_amount")

    @pa.dataframe_check(name="written_off <= amount")
    def _written_off_within_amount(cls, frame: pd.DataFrame) -> pd.Series:
        return _not_before(frame, "amount", "written_off")


class SupportTickets(pa.DataFrameModel):
    """One row per support ticket. Optional table (absent = no tickets)."""

    ticket_id: Series[str] = pa.Field(str_length={"min_value": 1}, description="Unique.")
    customer_id: Series[str] = pa.Field(metadata={"references": "customers"}, description="Must exist in customers.")
    opened_on: Series[pd.Timestamp] = pa.Field(description="Date opened.")
    minutes: Series[float] = pa.Field(ge=0, description="Staff time spent, >= 0.")
    channel: Series[str] = pa.Field(isin=list(TICKET_CHANNELS), description=f"One of {', '.join(TICKET_CHANNELS)}.")
    caused_by_us: Series[bool] = pa.Field(
        description="Root cause was our error (defect, wrong delivery, billing mistake); never counts against the customer."
    )
    escalated: Series[bool] = pa.Field(metadata=_optional(False), description="Escalated to management.")

    @pa.check("ticket_id", name="unique")
    def _ticket_id_unique(cls, series: pd.Series) -> pd.Series:
        return _unique_first_kept(series)


class Incidents(pa.DataFrameModel):
    """Relationship log kept by account teams. Optional table (absent = no incidents)."""

    incident_id: Series[str] = pa.Field(str_length={"min_value": 1}, description="Unique.")
    customer_id: Series[str] = pa.Field(metadata={"references": "customers"}, description="Must exist in customers.")
    date: Series[pd.Timestamp] = pa.Field(description="Date of the incident.")
    kind: Series[str] = pa.Field(isin=list(INCIDENT_KINDS), description=f"One of {', '.join(INCIDENT_KINDS)}.")
    severity: Series[pd.Int64Dtype] = pa.Field(in_range={"min_value": 1, "max_value": 3}, description="1 (minor) .. 3 (severe).")
    note: Series[str] = pa.Field(nullable=True, metadata=_optional(), description="Free text (untrusted, escaped on output).")

    @pa.check("incident_id", name="unique")
    def _incident_id_unique(cls, series: pd.Series) -> pd.Series:
        return _unique_first_kept(series)


@dataclass(frozen=True)
class TableSpec:
    """A table of the contract: its schema, whether the file must exist, and its key."""

    name: str
    model: type[pa.DataFrameModel]
    required: bool
    id_column: str

    @property
    def schema(self) -> pa.DataFrameSchema:
        return self.model.to_schema()

    @property
    def columns(self) -> dict[str, pa.Column]:
        return dict(self.schema.columns)

    def required_columns(self) -> list[str]:
        return [name for name, column in self.columns.items() if not (column.metadata or {}).get("optional")]


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec("customers", Customers, required=True, id_column="customer_id"),
        TableSpec("orders", Orders, required=True, id_column="order_id"),
        TableSpec("invoices", Invoices, required=True, id_column="invoice_id"),
        TableSpec("support_tickets", SupportTickets, required=False, id_column="ticket_id"),
        TableSpec("incidents", Incidents, required=False, id_column="incident_id"),
    )
}
FILE_SUFFIXES = (".csv", ".parquet")


@dataclass(frozen=True)
class TableLoad:
    """One table after validation."""

    spec: TableSpec
    source: Path | None
    sha256: str | None
    accepted: pd.DataFrame
    rejected: pd.DataFrame
    """Rejected rows as they were in the file (text), with ``row`` and ``reason`` columns."""
    ignored_columns: tuple[str, ...] = ()

    @property
    def input_rows(self) -> int:
        return len(self.accepted) + len(self.rejected)


@dataclass(frozen=True)
class LoadedData:
    """The validated input: accepted rows per table (typed) and the quarantine."""

    raw_dir: Path
    tables: dict[str, TableLoad] = field(default_factory=dict)

    def accepted(self, name: str) -> pd.DataFrame:
        return self.tables[name].accepted

    def quality(self) -> pd.DataFrame:
        """Input, accepted and rejected row counts per table."""
        rows = [
            {
                "table": name,
                "file": str(load.source.name) if load.source else "(absent)",
                "input_rows": load.input_rows,
                "accepted": len(load.accepted),
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
            rules = load.rejected[REASON_COLUMN].str.split("; ").explode().map(_rule_of_reason)
            counts = rules.value_counts().rename_axis("rule").reset_index(name="rows")
            counts.insert(0, "table", name)
            frames.append(counts)
        if not frames:
            return pd.DataFrame(columns=["table", "rule", "rows"])
        return pd.concat(frames, ignore_index=True).sort_values(["table", "rows", "rule"], ascending=[True, False, True])

    def event_dates(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """The first and last dated event in the accepted data (orders, invoices, tickets,
        incidents), or ``None`` when there is none."""
        columns = (("orders", "order_date"), ("invoices", "issue_date"), ("support_tickets", "opened_on"), ("incidents", "date"))
        dates = pd.concat(
            [self.tables[name].accepted[column] for name, column in columns if name in self.tables], ignore_index=True
        ).dropna()
        return (dates.min(), dates.max()) if len(dates) else None

    def last_event_date(self) -> pd.Timestamp | None:
        """The latest dated event in the accepted data."""
        span = self.event_dates()
        return span[1] if span else None

    def source_hashes(self) -> dict[str, str | None]:
        return {name: load.sha256 for name, load in self.tables.items()}


def find_table_file(raw_dir: Path, name: str) -> Path | None:
    """The file holding table ``name`` in ``raw_dir`` (``name.csv`` or ``name.parquet``)."""
    candidates = [raw_dir / f"{name}{suffix}" for suffix in FILE_SUFFIXES]
    present = [path for path in candidates if path.is_file()]
    if len(present) > 1:
        raise ContractError(f"{raw_dir}: both {present[0].name} and {present[1].name} present; keep one")
    return present[0] if present else None


def raw_folder_has_data(raw_dir: Path) -> bool:
    """Whether ``raw_dir`` holds any table file of the contract."""
    return raw_dir.is_dir() and any(
        (raw_dir / f"{name}{suffix}").is_file() for name in TABLES for suffix in FILE_SUFFIXES
    )


def read_as_text(path: Path) -> pd.DataFrame:
    """Read a CSV or Parquet file with every cell as text (missing = ``<NA>``).

    Raises ContractError when the file cannot be parsed.
    """
    try:
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            text = pd.DataFrame(
                {column: _values_as_text(frame[column]) for column in frame.columns}, index=frame.index
            )
        else:
            text = pd.read_csv(
                path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8", skipinitialspace=False
            )
    except UnicodeDecodeError as error:
        raise ContractError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except Exception as error:  # noqa: BLE001 - any parser failure makes the file unusable
        raise ContractError(f"{path}: cannot be parsed ({' '.join(str(error).split())})") from None
    text.columns = [str(column).strip() for column in text.columns]
    text = text.astype("string").apply(lambda column: column.str.strip())
    text.index = pd.RangeIndex(1, len(text) + 1)
    return text


def _values_as_text(column: pd.Series) -> pd.Series:
    """Typed Parquet values as the text a CSV would hold, so both go through one parser."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return column.dt.strftime("%Y-%m-%d").astype("string")
    if column.dtype == object:
        column = column.map(lambda value: value.isoformat() if hasattr(value, "isoformat") else value)
    return column.astype("string")


def load_raw(raw_dir: Path | str) -> LoadedData:
    """Read and validate every table of the contract in ``raw_dir``.

    Returns
    -------
    LoadedData
        Accepted rows (typed) and quarantined rows (as text, with ``row`` and ``reason``).

    Raises
    ------
    ContractError
        When the input cannot be used at all; one message line per problem.
    """
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise ContractError(f"{raw_dir}: raw data folder not found")
    texts: dict[str, tuple[Path | None, pd.DataFrame]] = {}
    problems: list[str] = []
    for name, spec in TABLES.items():
        try:
            path = find_table_file(raw_dir, name)
        except ContractError as error:
            problems.extend(error.problems)
            continue
        if path is None:
            if spec.required:
                problems.append(f"{raw_dir / (name + '.csv')}: required table '{name}' is missing (CSV or Parquet)")
            texts[name] = (None, pd.DataFrame(columns=list(spec.columns), dtype="string"))
            continue
        try:
            text = read_as_text(path)
        except ContractError as error:
            problems.extend(error.problems)
            continue
        missing = [column for column in spec.required_columns() if column not in text.columns]
        problems.extend(f"{path}: column '{column}': required column is missing" for column in missing)
        texts[name] = (path, text)
    if problems:
        raise ContractError(problems)

    loads: dict[str, TableLoad] = {}
    known_customers: pd.Index | None = None
    for name, spec in TABLES.items():
        path, text = texts[name]
        load = validate_table(spec, text, path, known_customers)
        loads[name] = load
        if name == "customers":
            known_customers = pd.Index(load.accepted["customer_id"])
    return LoadedData(raw_dir=raw_dir, tables=loads)


def validate_table(
    spec: TableSpec, text: pd.DataFrame, source: Path | None = None, known_customers: pd.Index | None = None
) -> TableLoad:
    """Parse and check one table given as text; split it into accepted and rejected rows.

    ``known_customers`` enables the reference check on ``customer_id``.
    """
    columns = spec.columns
    reasons: dict[int, list[str]] = {}

    def reject(rows: pd.Index, message: str) -> None:
        for row in rows:
            reasons.setdefault(int(row), []).append(message)

    typed = pd.DataFrame(index=text.index)
    for name, column in columns.items():
        metadata = column.metadata or {}
        if name in text.columns:
            raw = text[name]
        else:
            raw = pd.Series(pd.NA, index=text.index, dtype="string")
        parsed, unparsable = _parse_column(raw, column)
        for kind_message, rows in unparsable.items():
            for row in rows:
                reject(pd.Index([row]), f"{name}: {kind_message} (got {_quote(raw.loc[row])})")
        if metadata.get("optional") and metadata.get("default") is not None:
            parsed = parsed.fillna(metadata["default"]).astype(parsed.dtype) if parsed.isna().any() else parsed
        typed[name] = parsed

    # Rows already failing to parse are checked too, so every problem is reported at once;
    # their unparsable cells are missing here and only their parse reason is given.
    try:
        spec.model.validate(_for_pandera(typed, columns), lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        cases = cases[cases["index"].notna()]
        for _, case in cases.iterrows():
            row = int(case["index"])
            column = case["column"]
            already_unparsable = any(reason.startswith(f"{column}: ") for reason in reasons.get(row, []))
            # The parser guarantees types, so a dtype failure only restates a missing or
            # unparsable cell, which has its own reason.
            if str(case["check"]).startswith("dtype(") or (already_unparsable and case["check"] == "not_nullable"):
                continue
            raw_value = text[column].loc[row] if isinstance(column, str) and column in text.columns else case["failure_case"]
            message = _rule_message(case, raw_value)
            if message not in reasons.get(row, []):
                reject(pd.Index([row]), message)

    for name, column in columns.items():
        target = (column.metadata or {}).get("references")
        if target and known_customers is not None:
            unknown = typed.index[typed[name].notna() & ~typed[name].isin(known_customers)]
            reject(unknown, f"{name}: unknown customer (not an accepted row of {target})")

    rejected_rows = pd.Index(sorted(reasons), dtype=int)
    accepted = typed.drop(index=rejected_rows).reset_index(drop=True)
    rejected = text.loc[rejected_rows].copy()
    rejected.insert(0, ROW_COLUMN, rejected_rows.to_numpy())
    rejected[REASON_COLUMN] = ["; ".join(reasons[row]) for row in rejected_rows]
    ignored = tuple(column for column in text.columns if column not in columns)
    return TableLoad(
        spec=spec,
        source=source,
        sha256=_sha256(source) if source else None,
        accepted=accepted,
        rejected=rejected.reset_index(drop=True),
        ignored_columns=ignored,
    )


def _parse_column(raw: pd.Series, column: pa.Column) -> tuple[pd.Series, dict[str, list[int]]]:
    """Parse text to the column's type. Returns the parsed column and the rows that failed."""
    dtype = str(column.dtype)
    present = raw.notna()
    if dtype.startswith("datetime64"):
        parsed = pd.to_datetime(raw, format="%Y-%m-%d", errors="coerce")
        failed = present & parsed.isna()
        return parsed.astype("datetime64[ns]"), _failed_rows(failed, "not an ISO date YYYY-MM-DD")
    if dtype in {"float64", "Int64"}:
        numbers = pd.to_numeric(raw, errors="coerce").astype("float64")
        failed = present & ~np.isfinite(numbers.fillna(np.nan).to_numpy(dtype=float, na_value=np.nan))
        if dtype == "float64":
            return numbers.where(~failed), _failed_rows(failed, "not a number")
        fractional = present & ~failed & (numbers.fillna(0) % 1 != 0)
        integers = numbers.where(~(failed | fractional)).round().astype("Int64")
        problems = _failed_rows(failed, "not a number")
        problems.update(_failed_rows(fractional, "not a whole number"))
        return integers, problems
    if dtype == "bool":
        lowered = raw.str.lower()
        truth = pd.Series(pd.NA, index=raw.index, dtype="boolean")
        truth[lowered.isin(_TRUE_WORDS).fillna(False).astype(bool)] = True
        truth[lowered.isin(_FALSE_WORDS).fillna(False).astype(bool)] = False
        failed = present & truth.isna()
        return truth, _failed_rows(failed, "not a boolean (true/false, 1/0, yes/no)")
    return raw.astype("string"), {}


def _for_pandera(typed: pd.DataFrame, columns: dict[str, pa.Column]) -> pd.DataFrame:
    """Cast parsed columns to the dtypes the schema declares (missing booleans stay
    missing as object so pandera reports them as null rather than failing the cast)."""
    frame = typed.copy()
    for name, column in columns.items():
        dtype = str(column.dtype)
        if dtype == "bool":
            values = frame[name]
            frame[name] = values.astype(bool) if values.notna().all() else values.astype(object)
        elif dtype.startswith("string") or dtype == "str":
            frame[name] = frame[name].astype(object).where(frame[name].notna(), None).astype(column.dtype.type)
    return frame


def _failed_rows(mask: pd.Series, message: str) -> dict[str, list[int]]:
    rows = mask.index[mask.fillna(False).astype(bool)].tolist()
    return {message: rows} if rows else {}


_CHECK_WORDS = {
    "greater_than_or_equal_to": lambda s: f"must be >= {_number(s['min_value'])}",
    "greater_than": lambda s: f"must be > {_number(s['min_value'])}",
    "in_range": lambda s: f"must be between {_number(s['min_value'])} and {_number(s['max_value'])}",
    "isin": lambda s: f"must be one of {', '.join(map(str, s['allowed_values']))}",
    "str_length": lambda s: "must not be empty",
    "unique": lambda s: "duplicate of an earlier row",
    "not_nullable": lambda s: "required value is missing",
}


def _rule_message(case: pd.Series, raw_value: Any) -> str:
    check = str(case["check"])
    column = case["column"]
    name = check.split("(")[0]
    if case["schema_context"] == "DataFrameSchema" or column is None or pd.isna(column):
        return f"{check} does not hold"
    statistics = _statistics_of(column, name)
    words = _CHECK_WORDS.get(name)
    description = words(statistics) if words else check
    suffix = "" if name in {"not_nullable", "str_length"} or pd.isna(raw_value) else f" (got {_quote(raw_value)})"
    return f"{column}: {description}{suffix}"


def _rule_of_reason(reason: str) -> str:
    """A reason without the offending value, for counting: ``revenue: must be >= 0``."""
    return reason.split(" (got ")[0]


def _statistics_of(column: str, check_name: str) -> dict[str, Any]:
    for spec in TABLES.values():
        if column in spec.columns:
            for check in spec.columns[column].checks:
                if check.name == check_name:
                    return dict(check.statistics or {})
    return {}


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _quote(value: Any) -> str:
    text = "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
    text = text if len(text) <= 40 else text[:37] + "..."
    return repr(text)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def contract_markdown() -> str:
    """Render the contract as Markdown (the body of ``docs/data-contract.md``)."""
    kinds = {"str": "string", "datetime64[ns]": "date", "float64": "decimal", "Int64": "integer", "bool": "boolean"}
    parts = [
        "# Data contract (v1)",
        "",
        "<!-- Generated from src/custvalue/contract.py by `custvalue contract-doc`; do not edit by hand. -->",
        "",
        "The input folder (`data/raw/` by default) holds one file per table, CSV (UTF-8, header row) or",
        "Parquet, named by table (`orders.csv` or `orders.parquet`). Dates are ISO `YYYY-MM-DD`. Amounts",
        "are in the one currency of the configuration. Booleans: `true`/`false`, `1`/`0`, `yes`/`no`",
        "(any case). An empty cell is a missing value. Columns marked *optional* may be left out of the",
        "file; their default is used. Other columns are ignored (and listed on the data-quality page).",
        "",
        "A row that breaks any rule is quarantined to `data/processed/<quarter>/rejected/<table>.csv`,",
        "as it was in the file, with its row number (1 = first data row) and every reason it fails.",
        "For every table, input rows = accepted + rejected. A missing required file or column, or a file",
        "that cannot be parsed, stops the run with one line per problem (exit code 2).",
        "",
    ]
    for spec in TABLES.values():
        schema = spec.schema
        status = "required" if spec.required else "optional; absent = none"
        parts += [f"## `{spec.name}` ({status})", "", (spec.model.__doc__ or "").strip(), ""]
        parts += ["| column | type | rules |", "| --- | --- | --- |"]
        for name, column in schema.columns.items():
            metadata = column.metadata or {}
            kind = kinds.get(str(column.dtype), "string" if "str" in str(column.dtype) else str(column.dtype))
            rules = [column.description or ""]
            if metadata.get("optional"):
                default = metadata.get("default")
                shown = "empty" if default is None else str(default).lower()
                rules.insert(0, f"*optional* (default {shown}).")
            parts.append(f"| {name} | {kind} | {' '.join(rule for rule in rules if rule)} |")
        cross = [check.name for check in schema.checks]
        if cross:
            parts += ["", "Row rules: " + "; ".join(f"`{name}`" for name in cross) + " (where both values are present)."]
        parts.append("")
    return "\n".join(parts)

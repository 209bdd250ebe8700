"""The data contract (v1): what the input tables must look like.

The pandera ``DataFrameModel`` classes below are the single statement of the contract.
The engine's validator (:mod:`custvalue.validation`) compiles their fields and checks into
Ibis expressions, so the same rules run in DuckDB, PostgreSQL or Spark without pulling a
table into memory; ``docs/data-contract.md`` is rendered from them by
:func:`contract_markdown` (a test keeps the two in step). The models also validate a
pandas frame directly (``Orders.validate(frame)``), and a test shows that they and the
compiled rules agree.

Rows are numbered from 1 for the first data row (the header is row 0).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.typing.pandas import Series

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


def column_kind(column: pa.Column) -> str:
    """What a contract column holds: ``text``, ``date``, ``decimal``, ``integer`` or ``boolean``."""
    dtype = str(column.dtype)
    if dtype.startswith("datetime64"):
        return "date"
    return {"float64": "decimal", "Int64": "integer", "bool": "boolean"}.get(dtype, "text")


PARSE_MESSAGES = {
    "date": "not an ISO date YYYY-MM-DD",
    "decimal": "not a number",
    "integer": "not a number",
    "boolean": "not a boolean (true/false, 1/0, yes/no)",
}
"""Why a cell of each kind fails to parse (a fractional integer: ``not a whole number``)."""
TRUE_WORDS = ("true", "1", "yes")
FALSE_WORDS = ("false", "0", "no")
MISSING_MESSAGE = "required value is missing"
UNKNOWN_CUSTOMER_MESSAGE = "unknown customer (not an accepted row of {target})"

_CHECK_WORDS = {
    "greater_than_or_equal_to": lambda s: f"must be >= {_number(s['min_value'])}",
    "greater_than": lambda s: f"must be > {_number(s['min_value'])}",
    "in_range": lambda s: f"must be between {_number(s['min_value'])} and {_number(s['max_value'])}",
    "isin": lambda s: f"must be one of {', '.join(map(str, s['allowed_values']))}",
    "str_length": lambda s: "must not be empty",
    "unique": lambda s: "duplicate of an earlier row",
}
SILENT_CHECKS = frozenset({"str_length"})
"""Checks whose message does not repeat the offending value (it is empty)."""


def check_message(check: pa.Check) -> str:
    """The words of a column check's failure, e.g. ``must be >= 0``."""
    words = _CHECK_WORDS.get(check.name)
    if words is None:
        raise NotImplementedError(f"no message for the contract check {check.name!r}")
    return words(dict(check.statistics or {}))


def ordering_rule(check: pa.Check) -> tuple[str, str]:
    """``(larger, smaller)`` of a row rule named ``"a >= b"`` or ``"a <= b"``.

    The name is the rule's declarative statement (the pandas check implements it with
    :func:`_not_before`); the engine's validator compiles it from the name.
    """
    match = re.fullmatch(r"(\w+) (>=|<=) (\w+)", check.name or "")
    if match is None:
        raise NotImplementedError(f"the row rule {check.name!r} is not of the form 'a >= b' or 'a <= b'")
    left, operator, right = match.groups()
    return (left, right) if operator == ">=" else (right, left)


def rule_of_reason(reason: str) -> str:
    """A reason without the offending value, for counting: ``revenue: must be >= 0``."""
    return reason.split(" (got ")[0]


def quote(value: Any) -> str:
    """An offending value as a message shows it: quoted, at most 40 characters."""
    text = "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
    text = text if len(text) <= 40 else text[:37] + "..."
    return repr(text)


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def contract_markdown() -> str:
    """Render the contract as Markdown (the body of ``docs/data-contract.md``)."""
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
        "Instead of files, the tables can live in PostgreSQL or a Spark catalog: `engine.tables` in the",
        "configuration names the table of each contract table (see the README, \"Where the data live\").",
        "The same rules then run in that database. Columns typed there (dates, numbers, booleans) are",
        "taken as they are; text columns are parsed as in a file.",
        "",
        "A row that breaks any rule is quarantined to `data/processed/<quarter>/rejected/<table>.csv`,",
        "as it was in the file, with its row number (1 = first data row) and every reason it fails.",
        "A database table has no file order: its rows are numbered in the order of the table's key, then",
        "of its other columns, so of two rows with the same key the one sorting first is kept.",
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
            kind = {"text": "string"}.get(column_kind(column), column_kind(column))
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

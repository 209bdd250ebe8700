"""The data contract compiled to Ibis, so validation runs where the data are.

:mod:`custvalue.contract` states the rules as pandera models. This module turns each
model into two Ibis expressions over a :class:`~custvalue.engine.Source`:

``parsed``
    the source row number and every contract column parsed to its engine type (text
    trimmed; ISO dates; decimals; whole numbers; booleans spelled true/false, 1/0 or
    yes/no), with the defaults of optional columns filled in;
``checked``
    the row number and one boolean per :class:`Check` (``True`` = the row breaks it).

Both are plain SQL on the backend (regular expressions, ``CASE``, a window for
uniqueness, ``IN`` for the customer reference), so a table of tens of millions of rows is
validated without leaving the engine; only failing rows are brought back, to write
their reasons. Why not pandera's own Ibis backend: it reports failure cases per check,
but the quarantine needs, per row, every reason it fails, its row number in the file,
and rules across tables (the customer reference), in one pass over the data.

Every pandera check of the models must be understood here: an unknown one raises
``NotImplementedError`` when the table is compiled, so the contract cannot grow a rule
that the engine silently skips.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce

import ibis
import ibis.expr.datatypes as dt
import pandas as pd
import pandera.pandas as pa

from custvalue.contract import (
    FALSE_WORDS,
    MISSING_MESSAGE,
    PARSE_MESSAGES,
    REASON_COLUMN,
    ROW_COLUMN,
    SILENT_CHECKS,
    TRUE_WORDS,
    UNKNOWN_CUSTOMER_MESSAGE,
    TableSpec,
    check_message,
    column_kind,
    ordering_rule,
    quote,
)
from custvalue.engine import ROW, Source, engine_type, strip_spaces

_ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
# A plain decimal (optionally signed, optionally with an exponent of at most two digits,
# which keeps every accepted value finite in a double).
_NUMBER = r"^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]{1,2})?$"
_MAX_NUMBER_LENGTH = 40


@dataclass(frozen=True)
class Check:
    """One rule a row can break, as a boolean column of :attr:`CompiledTable.checked`."""

    flag: str
    column: str | None
    """The contract column the message names; ``None`` for a rule across columns."""
    message: str
    show_value: bool
    """Whether the message repeats the offending cell (``(got '...')``)."""

    def reason(self, raw_value: object) -> str:
        if self.column is None:
            return self.message
        text = f"{self.column}: {self.message}"
        if self.show_value and isinstance(raw_value, str) and raw_value != "":
            text += f" (got {quote(raw_value)})"
        return text


@dataclass(frozen=True)
class CompiledTable:
    """A contract table's rules as Ibis expressions over one source."""

    spec: TableSpec
    parsed: ibis.Table
    checked: ibis.Table
    checks: tuple[Check, ...]

    @property
    def failing(self) -> ibis.Value:
        """Whether a row of :attr:`checked` breaks any rule."""
        return reduce(lambda a, b: a | b, (self.checked[check.flag] for check in self.checks), ibis.literal(False))


def compile_table(spec: TableSpec, source: Source | None, customers: ibis.Table | None = None) -> CompiledTable:
    """Compile ``spec``'s rules over ``source``.

    Parameters
    ----------
    spec : TableSpec
        The contract table.
    source : Source
        Where its rows come from; columns the contract does not know are ignored, and an
        optional column the source lacks takes its default.
    customers : ibis.Table, optional
        Accepted customers; enables the reference check of ``customer_id``.
    """
    table = source.table
    parsed: dict[str, ibis.Value] = {}
    unparsable: dict[str, list[tuple[str, ibis.Value]]] = {}
    for name, column in spec.columns.items():
        kind = column_kind(column)
        if name in table.columns:
            value, failures = _parse(table[name], kind, source.backend)
        else:
            value, failures = ibis.null().cast(engine_type(kind)), []
        default = (column.metadata or {}).get("default")
        if default is not None:
            value = value.fill_null(default)
        parsed[name] = value.cast(engine_type(kind)).name(name)
        unparsable[name] = failures

    checks: list[Check] = []
    flags: dict[str, ibis.Value] = {}

    def add(condition: ibis.Value, column: str | None, message: str, show_value: bool) -> None:
        check = Check(f"check_{len(checks)}", column, message, show_value)
        checks.append(check)
        # A comparison with a missing value is not a failure (missing has its own check).
        flags[check.flag] = ibis.coalesce(condition, False)

    step = table.select(ROW, **parsed, **{f"unparsable_{n}_{i}": flag for n, failures in unparsable.items() for i, (_, flag) in enumerate(failures)})
    for name, column in spec.columns.items():
        value = step[name]
        failed_parse = [step[f"unparsable_{name}_{i}"] for i in range(len(unparsable[name]))]
        for i, (message, _) in enumerate(unparsable[name]):
            add(failed_parse[i], name, message, True)
        if not column.nullable:
            cannot_parse = reduce(lambda a, b: a | b, failed_parse, ibis.literal(False))
            add(value.isnull() & ~cannot_parse, name, MISSING_MESSAGE, False)
        for check in column.checks:
            add(_breaks(check, value, step), name, check_message(check), check.name not in SILENT_CHECKS)
    for rule in spec.schema.checks:
        larger, smaller = ordering_rule(rule)
        add(step[larger] < step[smaller], None, f"{rule.name} does not hold", False)
    for name, column in spec.columns.items():
        target = (column.metadata or {}).get("references")
        if target and customers is not None:
            value = step[name]
            add(value.notnull() & ~value.isin(customers.customer_id), name, UNKNOWN_CUSTOMER_MESSAGE.format(target=target), False)

    return CompiledTable(
        spec=spec,
        parsed=step.select(ROW, *spec.columns),
        checked=step.select(ROW, **flags),
        checks=tuple(checks),
    )


def _breaks(check: pa.Check, value: ibis.Value, table: ibis.Table) -> ibis.Value:
    """Whether ``value`` breaks a column check of the contract."""
    statistics = dict(check.statistics or {})
    if check.name == "greater_than_or_equal_to":
        return value < statistics["min_value"]
    if check.name == "greater_than":
        return value <= statistics["min_value"]
    if check.name == "in_range":
        low = value < statistics["min_value"] if statistics.get("include_min", True) else value <= statistics["min_value"]
        high = value > statistics["max_value"] if statistics.get("include_max", True) else value >= statistics["max_value"]
        return low | high
    if check.name == "isin":
        return ~value.isin(list(statistics["allowed_values"]))
    if check.name == "str_length":
        shortest, longest = statistics.get("min_value"), statistics.get("max_value")
        too_short = value.length() < shortest if shortest is not None else ibis.literal(False)
        too_long = value.length() > longest if longest is not None else ibis.literal(False)
        return too_short | too_long
    if check.name == "unique":
        # Later repeats fail; the first occurrence (lowest row number) is accepted.
        return value.notnull() & (ibis.row_number().over(group_by=value, order_by=table[ROW]) > 0)
    raise NotImplementedError(f"the contract check {check.name!r} has no engine form")


def _parse(raw: ibis.Value, kind: str, backend: str) -> tuple[ibis.Value, list[tuple[str, ibis.Value]]]:
    """A source column parsed to ``kind``; returns the value and its (message, failed) pairs."""
    source_type = raw.type()
    if kind == "text":
        text = raw if source_type.is_string() else raw.cast("string")
        return ibis.ifelse(_missing(text), ibis.null().cast(dt.string), strip_spaces(text, backend)), []
    if kind == "date":
        if source_type.is_date():
            return raw, []
        if source_type.is_timestamp():
            return raw.date(), []
        text, present = _present_text(raw, backend)
        valid = _valid_iso_date(text)
        return ibis.ifelse(valid, text, ibis.null().cast(dt.string)).cast(dt.date), [(PARSE_MESSAGES["date"], present & ~valid)]
    if kind in {"decimal", "integer"}:
        number, failures = _parse_number(raw, backend)
        if kind == "decimal" or source_type.is_integer():
            return number, failures
        fractional = number.notnull() & (number != number.floor())
        whole = ibis.ifelse(fractional, ibis.null().cast(dt.float64), number)
        return whole.round().cast(dt.int64), [*failures, ("not a whole number", fractional)]
    if kind == "boolean":
        if source_type.is_boolean():
            return raw, []
        text, present = _present_text(raw, backend)
        lowered = text.lower()
        truth = ibis.cases((lowered.isin(TRUE_WORDS), True), (lowered.isin(FALSE_WORDS), False), else_=ibis.null().cast(dt.boolean))
        return truth, [(PARSE_MESSAGES["boolean"], present & truth.isnull())]
    raise ValueError(f"unknown column kind {kind!r}")


def _parse_number(raw: ibis.Value, backend: str) -> tuple[ibis.Value, list[tuple[str, ibis.Value]]]:
    source_type = raw.type()
    if source_type.is_floating():
        # NaN is a missing value; an infinite amount is not a number.
        infinite = raw.isinf()
        return ibis.ifelse(raw.isnan() | infinite, ibis.null().cast(dt.float64), raw.cast(dt.float64)), [(PARSE_MESSAGES["decimal"], infinite)]
    if source_type.is_numeric():
        return raw.cast(dt.float64), []
    text, present = _present_text(raw, backend)
    valid = text.re_search(_NUMBER) & (text.length() <= _MAX_NUMBER_LENGTH)
    return ibis.ifelse(valid, text, ibis.null().cast(dt.string)).cast(dt.float64), [(PARSE_MESSAGES["decimal"], present & ~valid)]


def _missing(text: ibis.StringValue) -> ibis.BooleanValue:
    return text.isnull() | (text == "")


def _present_text(raw: ibis.Value, backend: str) -> tuple[ibis.StringValue, ibis.BooleanValue]:
    text = raw if raw.type().is_string() else raw.cast("string")
    present = ~_missing(text)
    return strip_spaces(text, backend), present


def _valid_iso_date(text: ibis.StringValue) -> ibis.BooleanValue:
    """``YYYY-MM-DD`` naming a day of the calendar (no 30 February), in portable SQL."""
    shaped = text.re_search(_ISO_DATE)

    def part(start: int, length: int) -> ibis.IntegerValue:
        # Digits are only cast where the shape is right, so no backend sees a bad cast.
        return ibis.ifelse(shaped, text.substr(start, length), ibis.null().cast(dt.string)).cast(dt.int64)

    year, month, day = part(0, 4), part(5, 2), part(8, 2)
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    february = ibis.ifelse(leap, 29, 28)
    thirty = month.isin([4, 6, 9, 11])
    last_day = ibis.cases((month == 2, february), (thirty, 30), else_=31)
    return ibis.coalesce(shaped & month.between(1, 12) & (day >= 1) & (day <= last_day), False)


def source_text(source: Source) -> ibis.Table:
    """The source's rows as text (how a rejected row is written back out)."""
    table = source.table
    return table.select(ROW, **{name: table[name] if table[name].type().is_string() else table[name].cast("string") for name in source.columns})


def reasons_of(rejected: pd.DataFrame, checks: tuple[Check, ...]) -> pd.DataFrame:
    """Rejected rows as they were (text) with ``row`` first and ``reason`` last.

    ``rejected`` holds the source row number, the source's text columns and one flag
    column per check.
    """
    flags = [check.flag for check in checks]
    reasons: list[list[str]] = [[] for _ in range(len(rejected))]
    for check in checks:
        failing = rejected[check.flag].fillna(False).to_numpy(dtype=bool)
        raw = rejected[check.column] if check.column in rejected.columns and check.column not in flags else None
        for position in failing.nonzero()[0]:
            reasons[position].append(check.reason(raw.iat[position] if raw is not None else None))
    frame = rejected.drop(columns=flags).rename(columns={ROW: ROW_COLUMN})
    frame[REASON_COLUMN] = ["; ".join(reason) for reason in reasons]
    return frame.reset_index(drop=True)

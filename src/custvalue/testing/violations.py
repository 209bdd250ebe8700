"""Helpers for testing custvalue on broken data: contract violations with known rows."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

import numpy as np
import pandas as pd

from custvalue.demo.spec import DemoError
from custvalue.demo.writing import tables_as_text

VIOLATION_COLUMNS = ("table", "row", "id", "column", "rule")


def inject_violations(
    tables: Mapping[str, pd.DataFrame], seed: int = 0
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """A copy of clean tables with a known set of contract-breaking rows appended.

    Each bad row is a copy of a valid row (of a long-standing, still active customer,
    dated well inside its life) with one field broken, so it breaks exactly the rule it
    is labelled with (a row with negative revenue also has ``returned_value`` above
    ``revenue``; that follows from the one change).

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        Clean tables (typed, as from :func:`generate_world`, or text).
    seed : int
        Chooses which rows are copied.

    Returns
    -------
    tables : dict of str to pandas.DataFrame
        Text tables (see :func:`tables_as_text`; values like ``"yesterday"`` cannot live
        in typed columns): the original rows first, unchanged, then the bad rows.
    injected : pandas.DataFrame
        One row per bad row: ``table``, ``row`` (1 = first data row of the file, the
        contract's numbering), ``id`` (the row's key; ``""`` for the empty one),
        ``column`` (the broken field) and ``rule``.
    """
    rng = np.random.default_rng(seed)
    text = tables_as_text(tables)
    customers = text["customers"]
    created = pd.to_datetime(customers["created_on"], format="%Y-%m-%d")
    first_event = pd.to_datetime(text["orders"]["order_date"], format="%Y-%m-%d").min()
    long_standing = (created < first_event - pd.Timedelta(days=30)) & (customers["ended_on"] == "")
    veterans = set(customers.loc[long_standing, "customer_id"])

    def base_row(name: str, date_column: str | None, extra: pd.Series | None = None) -> pd.Series:
        frame = text[name]
        ok = frame["customer_id"].isin(veterans)
        if date_column is not None:
            dates = pd.to_datetime(frame[date_column], format="%Y-%m-%d")
            ok &= dates > first_event + pd.Timedelta(days=30)
        if extra is not None:
            ok &= extra
        candidates = np.flatnonzero(ok.to_numpy())
        if candidates.size == 0:
            raise DemoError(f"inject_violations: no clean {name} row to copy")
        return frame.iloc[int(rng.choice(candidates))].copy()

    def shift(day: str, days: int) -> str:
        return (date.fromisoformat(day) + timedelta(days=days)).isoformat()

    id_column = {"customers": "customer_id", "orders": "order_id", "invoices": "invoice_id",
                 "support_tickets": "ticket_id", "incidents": "incident_id"}  # fmt: skip
    prefix = {"customers": "CX", "orders": "OX", "invoices": "INVX", "support_tickets": "TX", "incidents": "IX"}
    added: dict[str, list[pd.Series]] = {name: [] for name in text}
    labels: list[dict[str, object]] = []

    def add(name: str, row: pd.Series, column: str, value: str, rule: str, *, keep_id: bool = False) -> None:
        row = row.copy()
        key = id_column[name]
        if not keep_id and not (name == "customers" and column == key):
            row[key] = f"{prefix[name]}{len(labels) + 1:04d}"
        row[column] = value
        added[name].append(row)
        row_number = len(text[name]) + len(added[name])
        labels.append({"table": name, "row": row_number, "id": row[key], "column": column, "rule": rule})

    invoices = text["invoices"]
    paid = invoices["paid_date"] != ""
    fully_paid = paid & (invoices["written_off"] == "0.00")

    add("customers", base_row("customers", None), "name", "", "empty_name")
    add("customers", base_row("customers", None), "customer_id", "", "empty_customer_id")

    add("orders", base_row("orders", "order_date"), "order_date", "2026-02-30", "invalid_date")
    add("orders", base_row("orders", "order_date"), "revenue", "-10.00", "negative_revenue")
    add("orders", base_row("orders", "order_date"), "customer_id", "C-UNKNOWN", "unknown_customer")
    row = base_row("orders", "order_date")
    row["revenue"] = f"{float(row['revenue']) + 1:.2f}"
    existing = text["orders"]["order_id"].iloc[int(rng.integers(len(text["orders"])))]
    add("orders", row, "order_id", existing, "duplicate_id", keep_id=True)
    row = base_row("orders", "order_date")
    add("orders", row, "returned_value", f"{float(row['revenue']) + 5:.2f}", "returned_exceeds_revenue")
    add("orders", base_row("orders", "order_date"), "lines", "0", "lines_below_one")
    add("orders", base_row("orders", "order_date"), "rush", "maybe", "invalid_boolean")

    row = base_row("invoices", "issue_date")
    row["amount"] = f"{float(row['amount']) + 1:.2f}"
    existing = invoices["invoice_id"].iloc[int(rng.integers(len(invoices)))]
    add("invoices", row, "invoice_id", existing, "duplicate_id", keep_id=True)
    row = base_row("invoices", "issue_date", paid)
    add("invoices", row, "paid_date", shift(row["issue_date"], -3), "paid_before_issue")
    row = base_row("invoices", "issue_date")
    add("invoices", row, "due_date", shift(row["issue_date"], -1), "due_before_issue")
    row = base_row("invoices", "issue_date", fully_paid)
    add("invoices", row, "paid_amount", f"{float(row['amount']) + 10:.2f}", "paid_exceeds_amount")

    add("support_tickets", base_row("support_tickets", "opened_on"), "opened_on", "yesterday", "invalid_date")
    add("support_tickets", base_row("support_tickets", "opened_on"), "minutes", "-15", "negative_minutes")
    add("support_tickets", base_row("support_tickets", "opened_on"), "channel", "fax", "unknown_channel")
    add("support_tickets", base_row("support_tickets", "opened_on"), "caused_by_us", "maybe", "invalid_boolean")

    add("incidents", base_row("incidents", "date"), "severity", "4", "severity_out_of_range")
    add("incidents", base_row("incidents", "date"), "kind", "rudeness", "unknown_kind")
    add("incidents", base_row("incidents", "date"), "customer_id", "C-NOBODY", "unknown_customer")

    result = {
        name: pd.concat([frame, pd.DataFrame(added[name], columns=frame.columns)], ignore_index=True)
        if added[name]
        else frame.reset_index(drop=True)
        for name, frame in text.items()
    }
    return result, pd.DataFrame(labels, columns=list(VIOLATION_COLUMNS))

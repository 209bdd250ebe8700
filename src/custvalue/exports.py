"""Exports for account managers (CSV and Excel), safe to open in a spreadsheet: every
text cell goes through :func:`custvalue.cells.neutralise` (formula prefixes made inert,
control characters removed)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from custvalue.atomic import atomic_write_path
from custvalue.cells import FORMULA_TRIGGERS, neutralise, neutralised  # noqa: F401 (the exports' public names)


def write_spreadsheet_exports(frame: pd.DataFrame, folder: Path, stem: str, sheet_name: str) -> tuple[Path, Path]:
    """Write ``folder/stem.csv`` and ``folder/stem.xlsx`` atomically, text neutralised."""
    safe = neutralised(frame)
    csv_path, xlsx_path = Path(folder) / f"{stem}.csv", Path(folder) / f"{stem}.xlsx"
    with atomic_write_path(csv_path) as temporary:
        safe.to_csv(temporary, index=False, encoding="utf-8")
    with atomic_write_path(xlsx_path) as temporary:
        with pd.ExcelWriter(temporary, engine="openpyxl") as writer:
            safe.to_excel(writer, sheet_name=sheet_name[:31], index=False)
            sheet = writer.sheets[sheet_name[:31]]
            for row in sheet.iter_rows(min_row=2):
                for cell in row:
                    if isinstance(cell.value, str):
                        cell.data_type = "s"  # never a formula, whatever the text
    return csv_path, xlsx_path


FUTURE_VALUE_COLUMN = ("future_value", "future value")
"""The one future-value figure every page and export shows: the lifetime model's
discounted value over its horizon, after the share of margin lost to cost to serve (the
scorecard's ``future_value``, what protection ranks on), and its label."""

ACCOUNT_MANAGER_COLUMNS = {
    "customer_id": "customer id",
    "name": "customer",
    "segment": "segment",
    "account_manager": "account manager",
    "revenue": "revenue this quarter",
    "operating_profit": "operating profit this quarter",
    FUTURE_VALUE_COLUMN[0]: FUTURE_VALUE_COLUMN[1],
    "strikes": "strikes",
    "strike_quarters": "strike quarters",
    "reasons": "reasons",
    "our_share": "our share of the problem",
    "action": "action",
}


def account_manager_rows(scorecard: pd.DataFrame, status: str) -> pd.DataFrame:
    """The rows of one status, in the columns and labels account managers get."""
    rows = scorecard[scorecard["status"].astype(str) == status]
    return rows[list(ACCOUNT_MANAGER_COLUMNS)].rename(columns=ACCOUNT_MANAGER_COLUMNS).reset_index(drop=True)


def write_let_go_exports(scorecard: pd.DataFrame, folder: Path) -> tuple[Path, Path]:
    """``let_go.csv`` and ``let_go.xlsx``: the customers to let go, as in the report."""
    return write_spreadsheet_exports(account_manager_rows(scorecard, "let_go"), folder, "let_go", "Let go")

"""The executive view of a scored quarter: the key figures and the tables of the
"customers to let go" page, computed here so the notebook stays a thin page."""

from __future__ import annotations

import html
from dataclasses import dataclass

import pandas as pd

from custvalue import pages
from custvalue.exports import FUTURE_VALUE_COLUMN, account_manager_rows
from custvalue.pipeline import QuarterResults

STATUS_TITLES = {
    "let_go": "Let go: terminate and refer to another supplier",
    "final_notice": "Final notice: present the issue to the customer",
    "protected": "Protected: high future value, repair instead",
    "watch": "Watch: one strike, repair",
}
TABLE_COLUMNS = {
    "name": "customer",
    "segment": "segment",
    "account_manager": "account manager",
    "revenue": "revenue",
    "operating_profit": "operating profit",
    FUTURE_VALUE_COLUMN[0]: FUTURE_VALUE_COLUMN[1],
    "strike_history": "strikes",
    "reasons": "reasons",
    "action": "action",
}
MONEY = ("revenue", "operating profit", FUTURE_VALUE_COLUMN[1])
LONG = ("reasons", "action")
LET_GO_EXPORTS = {"let_go.xlsx": "let_go.xlsx", "let_go.csv": "let_go.csv"}
"""The account managers' exports of every customer to let go, beside the report pages."""
MOVE_ON_MONEY = ("revenue given up", "loss avoided", "cost to serve avoided", "bad debt avoided")


@dataclass(frozen=True)
class KeyFigures:
    """What letting the ``let_go`` customers go means this quarter."""

    customers_to_let_go: int
    revenue_given_up: float
    profit_gained: float
    support_hours_freed: float
    receivables_at_risk: float
    final_notice: int
    watch: int
    protected: int
    new_strikes: int
    cleared_strikes: int


def key_figures(results: QuarterResults) -> KeyFigures:
    card = results.scorecard
    let_go = card[card["status"].astype(str) == "let_go"]
    changes = results.frame("movement")
    statuses = card["status"].astype(str).value_counts()

    def count(status: str) -> int:
        return int(statuses.get(status, 0))

    return KeyFigures(
        customers_to_let_go=len(let_go),
        revenue_given_up=float(let_go["revenue"].sum()),
        profit_gained=float(-let_go["operating_profit"].sum()),
        support_hours_freed=float(let_go["support_hours"].sum()),
        receivables_at_risk=float(let_go["open_receivables"].sum()),
        final_notice=count("final_notice"),
        watch=count("watch"),
        protected=count("protected"),
        new_strikes=int((changes["change"] == "new strike").sum()),
        cleared_strikes=int((changes["change"] == "strike cleared").sum()),
    )


def let_go_effect(results: QuarterResults):
    """What letting this quarter's ``let_go`` customers go does (see :func:`custvalue.whatif.let_go`)."""
    from custvalue.whatif import let_go

    card = results.scorecard
    return let_go(results, card.loc[card["status"].astype(str) == "let_go", "customer_id"])


def hours_freed_table(effect) -> pd.DataFrame:
    """Per pool: how its cost behaves, hours freed, whole people (steps) and what they cost."""
    pools = effect.by_pool
    return pd.DataFrame(
        {
            "pool": pools["pool"].str.replace("_", " "),
            "cost behaviour": pools["behaviour"],
            "hours freed": pools["hours_released"],
            "whole steps that could be cut": pools["steps_released"],
            "saved now": pools["cost_avoided_now"],
            "saved if cut": pools["cost_if_cut"],
        }
    )


HOURS_FREED_MONEY = ("saved now", "saved if cut")


def status_count(results: QuarterResults, status: str) -> int:
    """How many customers have ``status`` this quarter."""
    return int((results.scorecard["status"].astype(str) == status).sum())


def status_table(results: QuarterResults, status: str, limit: int | None = None) -> pd.DataFrame:
    """The customers of one status, worst operating profit first, with readable headers:
    at most ``limit`` rows (default :data:`custvalue.pages.STATUS_TABLE_ROWS` for the
    status), so the page stays small however many customers there are.

    Our share of the problem follows the reasons; the action column is left out where it
    is the same for everyone (let go: terminate and refer)."""
    limit = pages.STATUS_TABLE_ROWS.get(status, pages.TOP_ROWS) if limit is None else limit
    card = results.scorecard
    rows = card[card["status"].astype(str) == status]
    rows = rows.sort_values(["operating_profit", "customer_id"], kind="mergesort").head(limit).copy()
    rows["reasons"] = [
        f"{reasons} (our share: {share})" if share else reasons for reasons, share in zip(rows["reasons"], rows["our_share"])
    ]
    columns = {k: v for k, v in TABLE_COLUMNS.items() if not (status == "let_go" and k == "action")}
    return rows[list(columns)].rename(columns=columns)


def status_section(results: QuarterResults, status: str, currency: str = "") -> str:
    """The HTML of one status on the index page: its title and count, then its worst
    customers (see :func:`status_table`), saying where the full list is when it is longer.
    The customers to let go are followed by the links to the account managers' exports."""
    total = status_count(results, status)
    rows = status_table(results, status)
    links = LET_GO_EXPORTS if status == "let_go" else None
    table = pages.limited_table(
        rows, len(rows), total=total, noun="customers", order="worst operating profit first",
        full_list=str(results.outputs.scorecard_csv), selected_by=f"status {status}", links=links,
        money_columns=MONEY, long_columns=LONG, currency=currency, empty="No customer.",
    )
    section = (
        f"<h2>{html.escape(STATUS_TITLES[status])} ({total:,})</h2>"
        '<p class="cv-meta">Strikes, oldest quarter first: ✗ failed, ✓ passed, · not reviewed.</p>' + table
    )
    if status == "let_go":
        exports = " · ".join(f'<a href="{html.escape(href)}">{html.escape(label)}</a>' for label, href in LET_GO_EXPORTS.items())
        section += f"<p>For account managers: {exports} (all {total:,} customers to let go, with their ids).</p>"
    return section


def status_changes(results: QuarterResults) -> pd.DataFrame:
    """Counts of customers by status last quarter and now (only those that changed)."""
    changes = results.frame("movement")
    moved = changes[changes["status"].astype(str) != changes["status_before"].astype(str)]
    table = moved.groupby(["status_before", "status"], observed=True).size().rename("customers").reset_index()
    return table.rename(columns={"status_before": "last quarter", "status": "this quarter"}).sort_values("customers", ascending=False)


def move_on_table(results: QuarterResults, limit: int | None = None) -> pd.DataFrame:
    """Relationships ended after a let-go recommendation, and what that did so far,
    largest loss avoided first; at most ``limit`` rows when given."""
    moved = results.frame("move_on")
    if moved.empty:
        return moved
    names = results.scorecard.set_index("customer_id")["name"]
    table = pd.DataFrame(
        {
            "customer": names.reindex(moved["customer_id"]).to_numpy(),
            "ended": moved["ended_on"].dt.strftime("%Y-%m-%d"),
            "quarters since": moved["quarters_since"],
            "revenue given up": moved["revenue_since"],
            "loss avoided": -moved["operating_profit_since"],
            "cost to serve avoided": moved["cost_to_serve_since"],
            "bad debt avoided": moved["bad_debt_since"],
            "support hours freed": moved["support_hours_since"],
        }
    )
    table = table.sort_values("loss avoided", ascending=False, kind="mergesort").reset_index(drop=True)
    return table if limit is None else table.head(limit)


def move_on_section(results: QuarterResults, currency: str = "") -> str:
    """The move-on table of the index page: the totals of every ended relationship and the
    :data:`custvalue.pages.TOP_ROWS` with the largest loss avoided."""
    moved = move_on_table(results)
    heading = "<h2>Move on: relationships ended after a let-go recommendation</h2>"
    empty = "No relationship has ended after a let-go recommendation in the history reviewed."
    if len(moved) > pages.TOP_ROWS:
        sums = moved[list(MOVE_ON_MONEY) + ["support hours freed"]].sum()
        totals = ", ".join(f"{label} {pages.money(sums[label], currency)}" for label in MOVE_ON_MONEY)
        heading += pages.note(f"{len(moved):,} relationships ended; together: {totals}, "
                              f"{sums['support hours freed']:,.0f} support hours freed.")
    full_list = str(results.outputs.folder / "move_on.parquet")
    return heading + pages.limited_table(
        moved, pages.TOP_ROWS, noun="relationships", order="largest loss avoided first", full_list=full_list,
        money_columns=MOVE_ON_MONEY, number_columns=["quarters since", "support hours freed"], currency=currency, empty=empty,
    )


def let_go_export_rows(results: QuarterResults) -> pd.DataFrame:
    """The rows of the account managers' export (same customers as the let-go table)."""
    return account_manager_rows(results.scorecard, "let_go")


def demo_truth_evaluation(results: QuarterResults) -> dict[str, float] | None:
    """Precision and recall of ``let_go`` when the raw data is a demo world whose ground
    truth sits beside it (``<raw>/../demo_ground_truth.csv``, where ``custvalue demo``
    puts it); ``None`` for real data."""
    from custvalue.paths import demo_truth_path
    from custvalue.demo import evaluate_against_truth

    truth_path = demo_truth_path(results.manifest["raw_dir"])
    if not truth_path.is_file():
        return None
    return evaluate_against_truth(results.scorecard, pd.read_csv(truth_path, dtype={"customer_id": str}))

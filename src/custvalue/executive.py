"""The executive view of a scored quarter: the key figures and the tables of the
"customers to let go" page, computed here so the notebook stays a thin page."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from custvalue.exports import account_manager_rows
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
    "future_value": "future value",
    "strike_history": "strikes",
    "reasons": "reasons",
    "action": "action",
}
MONEY = ("revenue", "operating profit", "future value")
LONG = ("reasons", "action")


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


def status_table(results: QuarterResults, status: str) -> pd.DataFrame:
    """The customers of one status, worst operating profit first, with readable headers.

    Our share of the problem follows the reasons; the action column is left out where it
    is the same for everyone (let go: terminate and refer)."""
    rows = results.scorecard[results.scorecard["status"].astype(str) == status].sort_values("operating_profit").copy()
    rows["reasons"] = [
        f"{reasons} (our share: {share})" if share else reasons for reasons, share in zip(rows["reasons"], rows["our_share"])
    ]
    columns = {k: v for k, v in TABLE_COLUMNS.items() if not (status == "let_go" and k == "action")}
    return rows[list(columns)].rename(columns=columns)


def status_changes(results: QuarterResults) -> pd.DataFrame:
    """Counts of customers by status last quarter and now (only those that changed)."""
    changes = results.frame("movement")
    moved = changes[changes["status"].astype(str) != changes["status_before"].astype(str)]
    table = moved.groupby(["status_before", "status"], observed=True).size().rename("customers").reset_index()
    return table.rename(columns={"status_before": "last quarter", "status": "this quarter"}).sort_values("customers", ascending=False)


def move_on_table(results: QuarterResults) -> pd.DataFrame:
    """Relationships ended after a let-go recommendation, and what that did so far."""
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
    return table


def let_go_export_rows(results: QuarterResults) -> pd.DataFrame:
    """The rows of the account managers' export (same customers as the let-go table)."""
    return account_manager_rows(results.scorecard, "let_go")


def demo_truth_evaluation(results: QuarterResults) -> dict[str, float] | None:
    """Precision and recall of ``let_go`` when the raw data is a demo world whose ground
    truth sits beside it (``<raw>/../demo_ground_truth.csv``, where ``custvalue demo``
    puts it); ``None`` for real data."""
    from custvalue.paths import demo_truth_path
    from custvalue.review import evaluate_against_truth

    truth_path = demo_truth_path(results.manifest["raw_dir"])
    if not truth_path.is_file():
        return None
    return evaluate_against_truth(results.scorecard, pd.read_csv(truth_path, dtype={"customer_id": str}))

"""Movement since last quarter and move-on: what changed, and what the relationships
that ended after a let-go recommendation brought and cost."""

from __future__ import annotations

import numpy as np
import pandas as pd

from custvalue.quarters import Quarter

def movement(previous: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """How each customer's status and strikes changed since the previous quarter."""
    merged = current[["customer_id", "status", "strikes"]].merge(
        previous[["customer_id", "status", "strikes"]], on="customer_id", how="left", suffixes=("", "_before")
    )
    merged["status_before"] = merged["status_before"].astype(object).fillna("(not reviewed)")
    merged["strikes_before"] = merged["strikes_before"].fillna(0).astype(int)
    merged["change"] = np.select(
        [merged["strikes"] > merged["strikes_before"], merged["strikes"] < merged["strikes_before"]],
        ["new strike", "strike cleared"],
        default="",
    )
    return merged


def move_on(
    judged: pd.DataFrame,
    customers: pd.DataFrame,
    statuses: pd.DataFrame,
    quarter: Quarter,
) -> pd.DataFrame:
    """The realised effect of relationships that ended after a ``let_go`` recommendation.

    For each such customer: what it brought and cost per quarter over the four quarters
    before it left (revenue, operating profit, cost to serve, bad debt, support hours), and
    the quarters since, so the effect so far is that per-quarter figure times the quarters
    since leaving: revenue given up against the loss, cost to serve and bad debt avoided.
    """
    quarter_end = pd.Timestamp(quarter.end)
    ended = customers.loc[customers["ended_on"].notna() & (customers["ended_on"] <= quarter_end), ["customer_id", "ended_on"]].copy()
    if ended.empty:
        return pd.DataFrame()
    left = (ended["ended_on"].dt.year * 4 + (ended["ended_on"].dt.month - 1) // 3).to_numpy(dtype=np.int64)  # quarter left in
    steps, position = np.unique(left - 1, return_inverse=True)
    names = np.array([str(Quarter(step // 4, step % 4 + 1)) for step in steps.tolist()], dtype=object)
    ended["before"] = names[position.reshape(-1)] if len(ended) else []
    ended["quarters_since"] = (quarter.year * 4 + quarter.number - 1) - left if len(ended) else []
    if statuses.index.is_unique and statuses.columns.is_unique:
        ended = ended[_status_at(statuses, ended["customer_id"], ended["before"]) == "let_go"]
    else:
        verdicts = statuses.stack().rename("status_before")
        verdicts.index.names = ["customer_id", "before"]
        ended = ended.join(verdicts, on=["customer_id", "before"])
        ended = ended[ended["status_before"] == "let_go"]
    # the judged rows of these customers only (the merge keeps them in the same order)
    theirs = judged[judged["customer_id"].isin(ended["customer_id"]).to_numpy(dtype=bool)]
    history = theirs.merge(ended[["customer_id", "before"]], on="customer_id")
    history = history[history["quarter"] <= history["before"]].sort_values(["customer_id", "quarter"]).groupby("customer_id").tail(4)
    if history.empty:
        return pd.DataFrame()
    per_quarter = history.groupby("customer_id").agg(
        revenue_per_quarter=("revenue", "mean"),
        operating_profit_per_quarter=("operating_profit", "mean"),
        cost_to_serve_per_quarter=("cost_to_serve", "mean"),
        bad_debt_per_quarter=("written_off", "mean"),
        support_hours_per_quarter=("ticket_minutes", lambda minutes: minutes.mean() / 60),
    )
    frame = ended[["customer_id", "ended_on", "quarters_since"]].join(per_quarter, on="customer_id", how="inner").reset_index(drop=True)
    for measure in ("revenue", "operating_profit", "cost_to_serve", "bad_debt", "support_hours"):
        frame[f"{measure}_since"] = frame[f"{measure}_per_quarter"] * frame["quarters_since"]
    return frame


def _status_at(statuses: pd.DataFrame, customer_ids: pd.Series, quarters: pd.Series) -> np.ndarray:
    """``statuses`` (unique index and columns) at each (customer, quarter) pair, NaN where
    it has none: a lookup in ``statuses.stack()`` without stacking."""
    row = statuses.index.get_indexer(customer_ids)
    column = statuses.columns.get_indexer(quarters)
    found = np.full(len(row), np.nan, dtype=object)
    for j in np.unique(column[column >= 0]):
        at = np.flatnonzero((column == j) & (row >= 0))
        found[at] = statuses.iloc[:, j].take(row[at]).to_numpy(dtype=object)
    return found

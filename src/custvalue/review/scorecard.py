"""The scorecard: one row per customer with its status, strikes, reasons, action and the
quarter's figures (what ``scorecard.parquet`` holds)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from custvalue.config import ReviewSettings
from custvalue.quarters import Quarter
from custvalue.review.status import strike_history, window_of
from custvalue.review.value import state_future_potential

SCORECARD_COLUMNS = [
    "customer_id",
    "name",
    "segment",
    "region",
    "account_manager",
    "status",
    "strikes",
    "strike_quarters",
    "strike_history",
    "reasons",
    "our_share",
    "action",
    "revenue",
    "gross_margin",
    "cost_to_serve",
    "operating_profit",
    "support_hours",
    "open_receivables",
    "clv",
    "future_value",
    "p_alive",
    "future_value_rank",
]
"""The scorecard's columns, in order."""


def scorecard(
    card: pd.DataFrame, judged: pd.DataFrame, receivables: pd.Series, value: pd.DataFrame, quarter: Quarter,
    settings: ReviewSettings, currency: str,
) -> pd.DataFrame:
    """The review's verdict with this quarter's figures, one row per customer
    (:data:`SCORECARD_COLUMNS`), the gravest status first."""
    figures = ["revenue", "gross_margin", "cost_to_serve", "operating_profit", "ticket_minutes"]
    now = judged.loc[judged["quarter"] == str(quarter), ["customer_id", *figures]].set_index("customer_id")
    ids = card["customer_id"]
    # One lookup of the card's customers serves every figure (0 where not judged this quarter).
    position = now.index.get_indexer(ids)
    found = position >= 0

    def this_quarter(column: str) -> np.ndarray:
        values = np.zeros(len(ids))
        values[found] = now[column].to_numpy(dtype=float)[position[found]]
        return np.nan_to_num(values, nan=0.0)

    for column in figures[:-1]:
        card[column] = this_quarter(column)
    card["support_hours"] = this_quarter("ticket_minutes") / 60
    card["open_receivables"] = receivables.reindex(ids).fillna(0.0).to_numpy()
    future = value.reindex(ids)
    for column in ("clv", "future_value", "p_alive", "future_value_rank"):
        card[column] = future[column].to_numpy()
    card["strike_history"] = strike_history(judged, ids, window_of(quarter, settings))
    card = state_future_potential(card, currency)
    order = {status: rank for rank, status in enumerate(card["status"].cat.categories)}
    card = card.assign(_order=card["status"].astype(str).map(order)).sort_values(["_order", "operating_profit", "customer_id"])
    return card[SCORECARD_COLUMNS].reset_index(drop=True)

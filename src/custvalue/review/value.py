"""Future value in the review: lifetime value net of what serving the customer costs,
its rank, and the case it adds for customers facing a final notice or let go."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

def future_value(clv: pd.Series, judged: pd.DataFrame, window: Sequence[str]) -> pd.DataFrame:
    """Predicted future value net of what serving the customer costs, and its rank.

    Lifetime value predicts future gross margin; a customer whose margin is eaten by cost
    to serve or bad debt brings far less. The margin that survived over the window
    (operating profit / gross margin, between -1 and 1) scales the prediction, so a
    loss-maker or non-payer is never protected by margin it will not deliver.
    """
    columns = ["customer_id", "operating_profit", "gross_margin"]
    recent = judged.loc[judged["quarter"].isin(window).to_numpy(dtype=bool), columns].groupby("customer_id")[columns[1:]].sum()
    kept = (recent["operating_profit"] / recent["gross_margin"].where(recent["gross_margin"] > 0)).clip(-1, 1)
    kept = kept.where(recent["gross_margin"] > 0, -1.0).reindex(clv.index).fillna(1.0)
    value = clv.fillna(0.0) * kept
    return pd.DataFrame({"future_value": value, "future_value_rank": value.rank(pct=True, method="average")})


def state_future_potential(card: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """Add low future potential to the case of customers facing a final notice or let go.

    ``card`` needs ``status``, ``reasons``, ``future_value`` and ``future_value_rank``.
    A customer below the median future value has little future to weigh against its
    record, and the reasons say so with the figure.
    """
    card = card.copy()
    low = card["status"].astype(str).isin(["let_go", "final_notice"]) & (card["future_value_rank"] < 0.5)
    unit = f" {currency}" if currency else ""
    card.loc[low, "reasons"] = [
        f"{reasons}; low future potential: predicted future value {value:,.0f}{unit}, below {1 - rank:.0%} of customers"
        for reasons, value, rank in zip(card.loc[low, "reasons"], card.loc[low, "future_value"], card.loc[low, "future_value_rank"])
    ]
    return card

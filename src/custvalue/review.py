"""The quarterly review: criteria per quarter, strikes, status, reasons and actions.

Each quarter is judged on its own behaviour. A *criterion* looks at one customer-quarter
and either passes or fails it, with evidence in plain words. A quarter failing at least
one criterion is one *strike*; a single bad quarter is never more than one strike,
because nothing is judged on a trailing window. The status comes from the strikes in
the last ``window_quarters`` quarters:

====================  =====================================================================
``healthy``           no strike
``watch``             one strike: repair (the actions tied to the reasons)
``final_notice``      two strikes, or three or more while the latest quarter passed:
                      present the issue to the customer
``let_go``            ``strikes_for_let_go`` or more, the latest quarter failing:
                      terminate and refer to another supplier
``protected``         would be ``final_notice`` or ``let_go`` but its predicted future
                      value is in the top share: repair instead
``inactive``          the relationship has ended or gone quiet: not reviewed again
``new``               too little history to judge fairly
====================  =====================================================================

Criteria never count what we caused: tickets caused by us are excluded upstream (see
:mod:`custvalue.features`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from custvalue.config import ReviewSettings
from custvalue.quarters import Quarter

STATUS_ORDER = ("let_go", "final_notice", "protected", "watch", "healthy", "new", "inactive")
RELATIONSHIP_KINDS = ("abusive_conduct", "staff_avoidance", "price_pressure", "info_withheld", "unreasonable_demand", "contract_breach")


@dataclass(frozen=True)
class Verdict:
    """What one criterion found for every customer-quarter: pass/fail, evidence, repair."""

    failed: pd.Series
    """Boolean, indexed like the quarterly table."""
    evidence: pd.Series
    """Plain-language reason where failed (empty string where passed)."""
    action: str
    """The repair suggested when this criterion fails."""


@dataclass(frozen=True)
class Criterion:
    """A named test of one customer-quarter."""

    name: str
    judge: Callable[[pd.DataFrame], Verdict]


def relationship_incidents(threshold_points: int = 3) -> Criterion:
    """Fails a quarter whose relationship incidents reach ``threshold_points`` of severity."""

    def judge(quarterly: pd.DataFrame) -> Verdict:
        points = sum(quarterly[f"severity_{kind}"] for kind in RELATIONSHIP_KINDS)
        failed = points >= threshold_points
        evidence = pd.Series("", index=quarterly.index)
        for row in quarterly.index[failed]:
            parts = [
                f"{int(quarterly.at[row, f'severity_{kind}'])} severity points of {kind.replace('_', ' ')}"
                for kind in RELATIONSHIP_KINDS
                if quarterly.at[row, f"severity_{kind}"] > 0
            ]
            evidence[row] = "relationship incidents: " + ", ".join(parts)
        return Verdict(failed, evidence, "change the account team and set rules of conduct in writing")

    return Criterion("relationship", judge)


def non_payment() -> Criterion:
    """Fails a quarter in which invoiced amounts were written off as bad debt."""

    def judge(quarterly: pd.DataFrame) -> Verdict:
        failed = quarterly["written_off"] > 0
        evidence = pd.Series("", index=quarterly.index)
        evidence[failed] = [f"wrote off {amount:,.0f} of invoices" for amount in quarterly.loc[failed, "written_off"]]
        return Verdict(failed, evidence, "require prepayment or a deposit")

    return Criterion("non_payment", judge)


def negative_gross_margin() -> Criterion:
    """Fails a quarter whose revenue, net of returns, did not cover the cost of goods."""

    def judge(quarterly: pd.DataFrame) -> Verdict:
        margin = quarterly["revenue"] - quarterly["returned_value"] - quarterly["cost_of_goods"]
        failed = (quarterly["orders"] > 0) & (margin < 0)
        evidence = pd.Series("", index=quarterly.index)
        evidence[failed] = [f"gross margin {value:,.0f} (sold below cost)" for value in margin[failed]]
        return Verdict(failed, evidence, "reprice: stop discounts below cost")

    return Criterion("negative_margin", judge)


def default_criteria() -> list[Criterion]:
    """The criteria that need no fitted model (the first version of the review)."""
    return [negative_gross_margin(), non_payment(), relationship_incidents()]


def judge_quarters(quarterly: pd.DataFrame, criteria: Sequence[Criterion]) -> pd.DataFrame:
    """Apply every criterion to every customer-quarter.

    Returns the quarterly table with, per criterion, ``fail_<name>`` and ``why_<name>``,
    and overall ``failed`` (strike) and ``reasons`` (all evidence joined).
    """
    judged = quarterly.copy()
    actions: dict[str, str] = {}
    for criterion in criteria:
        verdict = criterion.judge(quarterly)
        judged[f"fail_{criterion.name}"] = verdict.failed.astype(bool).to_numpy()
        judged[f"why_{criterion.name}"] = verdict.evidence.to_numpy()
        actions[criterion.name] = verdict.action
    fail_columns = [f"fail_{c.name}" for c in criteria]
    judged["failed"] = judged[fail_columns].any(axis=1) if fail_columns else False
    judged["reasons"] = _join_columns(judged, [f"why_{c.name}" for c in criteria])
    judged["actions"] = _join_columns(
        judged.assign(**{f"act_{name}": np.where(judged[f"fail_{name}"], action, "") for name, action in actions.items()}),
        [f"act_{name}" for name in actions],
    )
    return judged


def _join_columns(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    if not columns:
        return pd.Series("", index=frame.index)
    values = frame[columns].to_numpy(dtype=object)
    return pd.Series(["; ".join(text for text in row if text) for row in values], index=frame.index)


def assign_status(
    judged: pd.DataFrame,
    customers: pd.DataFrame,
    quarter: Quarter,
    settings: ReviewSettings,
    protected_ids: pd.Index | None = None,
    inactive_ids: pd.Index | None = None,
) -> pd.DataFrame:
    """Strikes within the window, status, and the case for each customer at ``quarter``.

    Parameters
    ----------
    judged : DataFrame
        Output of :func:`judge_quarters`, one row per customer and quarter.
    customers : DataFrame
        Accepted customers (``customer_id``, ``created_on``, ``ended_on``...).
    quarter : Quarter
        The quarter under review (the latest in ``judged`` that counts).
    settings : ReviewSettings
        Window, strikes for let go, minimum history.
    protected_ids : Index, optional
        Customers whose predicted future value protects them from termination.
    inactive_ids : Index, optional
        Customers judged gone (e.g. no recent activity and a low probability of being alive).
    """
    window = [str(quarter.shift(-step)) for step in range(settings.window_quarters)][::-1]
    in_window = judged[judged["quarter"].isin(window)]
    strikes = in_window[in_window["failed"]].groupby("customer_id")["quarter"].agg(lambda qs: sorted(qs))
    current = judged[judged["quarter"] == str(quarter)].set_index("customer_id")

    card = customers.set_index("customer_id").copy()
    card["strike_quarters"] = strikes.reindex(card.index).apply(lambda qs: qs if isinstance(qs, list) else [])
    card["strikes"] = card["strike_quarters"].str.len().astype(int)
    card["failing_now"] = current["failed"].reindex(card.index).fillna(False).astype(bool)
    card["reasons"] = current["reasons"].reindex(card.index).fillna("")
    card["repairs"] = current["actions"].reindex(card.index).fillna("")
    # A customer whose latest quarter passed is still told why its earlier strikes fell.
    latest_strike = in_window[in_window["failed"]].sort_values("quarter").groupby("customer_id").last()
    quiet = card.index[card["reasons"].eq("") & card["strikes"].gt(0)]
    card.loc[quiet, "reasons"] = "in " + latest_strike.loc[quiet, "quarter"] + ": " + latest_strike.loc[quiet, "reasons"]
    card.loc[quiet, "repairs"] = latest_strike.loc[quiet, "actions"]

    status = pd.Series("healthy", index=card.index, dtype=object)
    status[card["strikes"] == 1] = "watch"
    status[card["strikes"] >= 2] = "final_notice"
    status[(card["strikes"] >= settings.strikes_for_let_go) & card["failing_now"]] = "let_go"
    if protected_ids is not None:
        at_risk = status.isin(["let_go", "final_notice"]) & card.index.isin(protected_ids)
        status[at_risk] = "protected"
    quarter_end = pd.Timestamp(quarter.end)
    too_young = (quarter_end - card["created_on"]).dt.days < settings.min_history_days
    status[too_young] = "new"
    ended = card["ended_on"].notna() & (card["ended_on"] <= quarter_end)
    gone = ended | (card.index.isin(inactive_ids) if inactive_ids is not None else False)
    status[gone] = "inactive"
    card["status"] = pd.Categorical(status, categories=STATUS_ORDER)
    card["action"] = [_action(s, repairs) for s, repairs in zip(card["status"], card["repairs"])]
    card["strike_quarters"] = card["strike_quarters"].str.join(";")
    return card.reset_index().drop(columns=["failing_now", "repairs"])


def _action(status: str, repairs: str) -> str:
    if status == "let_go":
        return "terminate and refer to another supplier"
    if status == "final_notice":
        return "present the issue to the customer" + (f"; repair: {repairs}" if repairs else "")
    if status in {"watch", "protected"}:
        return f"repair: {repairs}" if repairs else "monitor"
    return ""

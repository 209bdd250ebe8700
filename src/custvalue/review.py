"""The quarterly review: criteria per quarter, strikes, status, reasons and actions.

Each quarter is judged on its own behaviour. A *criterion* looks at one customer-quarter
and passes or fails it, with evidence in plain words compared with the segment, and the
repair that fits the evidence. A quarter failing at least one criterion is one *strike*;
a single bad quarter is never more than one strike, because nothing is judged on a
trailing window. The status comes from the strikes in the last ``window_quarters``:

====================  =====================================================================
``healthy``           no strike
``watch``             one strike: repair (the actions tied to the reasons)
``final_notice``      two strikes, or three or more while the latest quarter passed:
                      present the issue to the customer
``let_go``            ``strikes_for_let_go`` or more, the latest quarter failing:
                      terminate and refer to another supplier
``protected``         would be ``final_notice`` or ``let_go``, but its predicted future
                      value is in the top share: repair instead
``inactive``          the relationship has ended, or gone quiet with a low probability of
                      being alive: not reviewed (and not "let go" again)
``new``               younger than ``min_history_days``: too little history to judge fairly
====================  =====================================================================

The criteria (every threshold in :class:`custvalue.config.ReviewSettings`):

- ``unprofitable``: operating profit after cost to serve below ``-unprofitable_min_loss``.
- ``headache``: service minutes per unit of gross margin in the worst
  ``headache_worst_share`` of the quarter, with service minutes at least
  ``headache_min_multiple`` times the segment's median.
- ``payment``: excess lateness over size-and-segment peers, or non-payment (from
  :mod:`custvalue.payment`, so enterprises slow by policy are not punished).
- ``relationship``: incident points (weight x severity) reaching
  ``incident_points_threshold``.

What we caused never counts: tickets caused by us are costed to us (see
:mod:`custvalue.cost_to_serve`), and disputes of our own errors are not judged. Where we
caused part of the trouble, the reasons say so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from custvalue.config import ReviewSettings
from custvalue.quarters import Quarter

STATUS_ORDER = ("let_go", "final_notice", "protected", "watch", "healthy", "new", "inactive")
FLAGGED = ("let_go", "final_notice", "protected", "watch")
TERMINATE = "terminate and refer to another supplier"
PRESENT = "present the issue to the customer"

# The repair that answers each cost driver when it is what makes a customer unprofitable.
DRIVER_REPAIRS = {
    "order_handling": "set a minimum order size",
    "rush": "charge for rush delivery",
    "manual_entry": "move ordering to the web shop or EDI; charge for manual orders",
    "return_handling": "charge a restocking fee for returns",
    "support": "charge for support beyond an allowance",
    "relationship": "change the account team and agree rules of conduct in writing",
    "financing": "shorten payment terms",
    "bad_debt": "require prepayment or a deposit",
}
DRIVER_WORDS = {
    "order_handling": "order handling",
    "rush": "rush orders",
    "manual_entry": "manual order entry",
    "return_handling": "returns",
    "support": "support",
    "relationship": "relationship incidents",
    "financing": "financing of receivables",
    "bad_debt": "bad debt",
}


@dataclass(frozen=True)
class Verdict:
    """What one criterion found for every customer-quarter."""

    failed: pd.Series
    """Boolean, indexed like the review inputs."""
    evidence: pd.Series
    """Plain-language reason where failed (empty string where passed)."""
    repair: pd.Series
    """The repair that fits the evidence (empty string where passed)."""


@dataclass(frozen=True)
class Criterion:
    """A named test of one customer-quarter."""

    name: str
    judge: Callable[[pd.DataFrame], Verdict]


def review_inputs(
    activity: pd.DataFrame,
    customer_costs: pd.DataFrame,
    payment_by_quarter: pd.DataFrame,
    customers: pd.DataFrame,
) -> pd.DataFrame:
    """One row per customer and quarter: the drivers, the costs and the payment verdict."""
    key = ["customer_id", "quarter"]
    costs = customer_costs.drop(columns=[c for c in customer_costs.columns if c in activity.columns and c not in key])
    payment = payment_by_quarter[[*key, "late_flag", "nonpayment_flag", "evidence", "repair", "our_fix"]].rename(
        columns={"evidence": "payment_evidence", "repair": "payment_repair", "our_fix": "payment_our_fix"}
    )
    inputs = activity.merge(costs, on=key, how="left").merge(payment, on=key, how="left")
    inputs = inputs.merge(customers[["customer_id", "segment"]], on="customer_id", how="left")
    for column in ("late_flag", "nonpayment_flag"):
        inputs[column] = inputs[column].fillna(False).astype(bool)
    for column in ("payment_evidence", "payment_repair", "payment_our_fix"):
        inputs[column] = inputs[column].fillna("").astype(str)
    return inputs


def _empty(index: pd.Index) -> pd.Series:
    return pd.Series("", index=index, dtype=object)


def _segment_median(inputs: pd.DataFrame, column: str, among: pd.Series) -> pd.Series:
    """Each row's segment median of ``column`` in its quarter, over the rows in ``among``."""
    medians = inputs[among].groupby(["quarter", "segment"])[column].median()
    keys = pd.MultiIndex.from_frame(inputs[["quarter", "segment"]])
    return pd.Series(medians.reindex(keys).to_numpy(), index=inputs.index)


def _times(value: float, reference: float) -> str:
    if not np.isfinite(reference) or reference <= 0:
        return ""
    return f", {value / reference:.1f}x the segment median"


def unprofitable(settings: ReviewSettings) -> Criterion:
    """Fails a quarter whose operating profit after cost to serve is a material loss."""
    from custvalue.cost_to_serve import COST_DRIVERS

    def judge(inputs: pd.DataFrame) -> Verdict:
        profit = inputs["operating_profit"].fillna(0.0)
        failed = profit < -settings.unprofitable_min_loss
        evidence, repair = _empty(inputs.index), _empty(inputs.index)
        driver_costs = inputs[[f"cost_{driver}" for driver in COST_DRIVERS]].fillna(0.0)
        for row in inputs.index[failed]:
            costs = driver_costs.loc[row].sort_values(ascending=False)
            top = [(column.removeprefix("cost_"), amount) for column, amount in costs.items() if amount > 0][:2]
            named = ", ".join(f"{DRIVER_WORDS[driver]} {amount:,.0f}" for driver, amount in top)
            margin = inputs.at[row, "gross_margin"]
            evidence[row] = (
                f"lost {-profit[row]:,.0f} after cost to serve {inputs.at[row, 'cost_to_serve']:,.0f}"
                f" on gross margin {margin:,.0f} (largest: {named})"
            )
            repairs = [DRIVER_REPAIRS[driver] for driver, _ in top[:1]]
            if margin <= 0.05 * max(inputs.at[row, "revenue"], 1.0):
                repairs.insert(0, "reprice: stop discounts that leave no margin")
            repair[row] = "; ".join(repairs)
        return Verdict(failed, evidence, repair)

    return Criterion("unprofitable", judge)


def headache(settings: ReviewSettings) -> Criterion:
    """Fails a quarter whose service effort per unit of margin is among the worst and far
    above the segment's usual."""

    def judge(inputs: pd.DataFrame) -> Verdict:
        ratio = inputs["headache_ratio"].astype(float).fillna(0.0)
        minutes = inputs["service_minutes"].fillna(0.0)
        served = minutes > 0
        ranked = ratio.where(served).groupby(inputs["quarter"]).rank(pct=True, method="max")
        worst = ranked > 1 - settings.headache_worst_share
        # A low margin alone is the unprofitable criterion's business: a headache takes
        # far more service effort than the segment's usual customer.
        typical = _segment_median(inputs.assign(_minutes=minutes), "_minutes", served)
        far_above = minutes >= settings.headache_min_multiple * typical.fillna(0.0)
        failed = (worst & far_above & served).fillna(False).astype(bool)
        support_hours = inputs["ticket_minutes"].fillna(0.0) / 60
        typical_hours = _segment_median(inputs.assign(_hours=support_hours), "_hours", inputs["orders"] > 0)
        rush_share = inputs["rush_orders"] / inputs["orders"].where(inputs["orders"] > 0)
        typical_rush = _segment_median(inputs.assign(_rush=rush_share), "_rush", inputs["orders"] > 0)
        evidence, repair = _empty(inputs.index), _empty(inputs.index)
        for row in inputs.index[failed]:
            parts, repairs = [], []
            if support_hours[row] > 0:
                parts.append(f"support {support_hours[row]:,.1f} h this quarter{_times(support_hours[row], typical_hours[row])}")
                repairs.append(DRIVER_REPAIRS["support"])
            if rush_share[row] >= 0.25:
                parts.append(f"{rush_share[row]:.0%} of orders rush (segment median {typical_rush[row]:.0%})")
                repairs.append(DRIVER_REPAIRS["rush"])
            if inputs.at[row, "manual_orders"] > 0 and inputs.at[row, "manual_orders"] >= 0.5 * inputs.at[row, "orders"]:
                parts.append(f"{int(inputs.at[row, 'manual_orders'])} of {int(inputs.at[row, 'orders'])} orders keyed by hand")
                repairs.append(DRIVER_REPAIRS["manual_entry"])
            minutes, margin = inputs.at[row, "service_minutes"], inputs.at[row, "gross_margin"]
            per_margin = "no margin to cover it" if margin <= 0 else f"{minutes / margin * 100:,.0f} service minutes per 100 of margin"
            evidence[row] = "headache: " + "; ".join(parts + [per_margin])
            repair[row] = "; ".join(repairs) or DRIVER_REPAIRS["order_handling"]
        return Verdict(failed, evidence, repair)

    return Criterion("headache", judge)


def payment() -> Criterion:
    """Fails a quarter in which the customer paid late beyond its peers, or did not pay."""

    def judge(inputs: pd.DataFrame) -> Verdict:
        failed = inputs["late_flag"] | inputs["nonpayment_flag"]
        evidence = inputs["payment_evidence"].where(failed, "")
        repair = inputs["payment_repair"].where(failed, "")
        return Verdict(failed, evidence.astype(object), repair.astype(object))

    return Criterion("payment", judge)


def relationship(settings: ReviewSettings) -> Criterion:
    """Fails a quarter whose relationship incidents, weighted by kind and severity, reach
    the threshold."""

    def judge(inputs: pd.DataFrame) -> Verdict:
        weights = settings.incident_weights
        points = sum(inputs[f"severity_{kind}"] * weight for kind, weight in weights.items())
        failed = points >= settings.incident_points_threshold
        evidence, repair = _empty(inputs.index), _empty(inputs.index)
        for row in inputs.index[failed]:
            parts = [
                f"{kind.replace('_', ' ')} (total severity {int(inputs.at[row, f'severity_{kind}'])})"
                for kind in weights
                if inputs.at[row, f"severity_{kind}"] > 0
            ]
            evidence[row] = f"{int(inputs.at[row, 'incidents'])} relationship incidents: " + ", ".join(parts)
            if inputs.at[row, "severity_price_pressure"] > 0:
                repair[row] = "hold prices; put the terms in a written agreement"
            else:
                repair[row] = DRIVER_REPAIRS["relationship"]
        return Verdict(failed, evidence, repair)

    return Criterion("relationship", judge)


def future_value(clv: pd.Series, judged: pd.DataFrame, window: Sequence[str]) -> pd.DataFrame:
    """Predicted future value net of what serving the customer costs, and its rank.

    Lifetime value predicts future gross margin; a customer whose margin is eaten by cost
    to serve or bad debt brings far less. The margin that survived over the window
    (operating profit / gross margin, between -1 and 1) scales the prediction, so a
    loss-maker or non-payer is never protected by margin it will not deliver.
    """
    recent = judged[judged["quarter"].isin(window)].groupby("customer_id")[["operating_profit", "gross_margin"]].sum()
    kept = (recent["operating_profit"] / recent["gross_margin"].where(recent["gross_margin"] > 0)).clip(-1, 1)
    kept = kept.where(recent["gross_margin"] > 0, -1.0).reindex(clv.index).fillna(1.0)
    value = clv.fillna(0.0) * kept
    return pd.DataFrame({"future_value": value, "future_value_rank": value.rank(pct=True, method="average")})


def standard_criteria(settings: ReviewSettings) -> list[Criterion]:
    """The four criteria of the review, in reporting order."""
    return [unprofitable(settings), headache(settings), payment(), relationship(settings)]


def judge_quarters(inputs: pd.DataFrame, criteria: Sequence[Criterion]) -> pd.DataFrame:
    """Apply every criterion to every customer-quarter.

    Returns the inputs with ``fail_<name>`` and ``why_<name>`` per criterion, and
    ``failed`` (a strike), ``reasons`` (all evidence), ``repairs`` and ``our_share``.
    """
    judged = inputs.copy()
    repairs = []
    for criterion in criteria:
        verdict = criterion.judge(inputs)
        judged[f"fail_{criterion.name}"] = verdict.failed.astype(bool).to_numpy()
        judged[f"why_{criterion.name}"] = verdict.evidence.to_numpy()
        repairs.append(verdict.repair.to_numpy())
    names = [criterion.name for criterion in criteria]
    judged["failed"] = judged[[f"fail_{n}" for n in names]].any(axis=1) if names else False
    judged["reasons"] = _join(judged[[f"why_{n}" for n in names]].to_numpy(dtype=object))
    judged["repairs"] = _join(np.column_stack(repairs) if repairs else np.empty((len(judged), 0)), unique=True)
    judged["our_share"] = our_share(inputs)
    return judged


def our_share(inputs: pd.DataFrame) -> pd.Series:
    """What we caused in each customer-quarter, in plain words (not counted against them)."""
    texts = _empty(inputs.index)
    tickets = inputs.get("our_tickets", pd.Series(0, index=inputs.index)).fillna(0)
    minutes = inputs.get("our_ticket_minutes", pd.Series(0.0, index=inputs.index)).fillna(0.0)
    fixes = inputs.get("payment_our_fix", _empty(inputs.index)).fillna("")
    for row in inputs.index[(tickets > 0) | (fixes != "")]:
        parts = []
        if tickets[row] > 0:
            parts.append(f"we caused {int(tickets[row])} of their tickets ({minutes[row] / 60:,.1f} h), not counted against them")
        if fixes[row]:
            parts.append(fixes[row])
        texts[row] = "; ".join(parts)
    return texts


def _join(values: np.ndarray, unique: bool = False) -> list[str]:
    joined = []
    for row in values:
        parts: list[str] = []
        for text in row:
            for part in str(text).split("; ") if unique else [str(text)]:
                if part and part != "nan" and part not in parts:
                    parts.append(part)
        joined.append("; ".join(parts))
    return joined


def window_of(quarter: Quarter, settings: ReviewSettings) -> list[str]:
    """The quarters whose strikes count at ``quarter``, oldest first."""
    return [str(quarter.shift(-step)) for step in reversed(range(settings.window_quarters))]


def assign_status(
    judged: pd.DataFrame,
    customers: pd.DataFrame,
    quarter: Quarter,
    settings: ReviewSettings,
    future_value_rank: pd.Series | None = None,
    p_alive: pd.Series | None = None,
) -> pd.DataFrame:
    """Strikes within the window, status and the case for each customer at ``quarter``.

    Parameters
    ----------
    judged : DataFrame
        Output of :func:`judge_quarters`, one row per customer and quarter.
    customers : DataFrame
        Accepted customers (``customer_id``, ``created_on``, ``ended_on``, ...).
    quarter : Quarter
        The quarter under review.
    settings : ReviewSettings
        Window, strikes, protection and inactivity thresholds.
    future_value_rank : Series, optional
        Percentile of predicted future value by ``customer_id`` (1 = highest).
    p_alive : Series, optional
        Probability that the customer is still buying, by ``customer_id``.

    Returns
    -------
    DataFrame
        One row per customer: ``strikes``, ``strike_quarters``, ``status``, ``reasons``
        (the latest strike's evidence), ``our_share``, ``action``.
    """
    window = window_of(quarter, settings)
    in_window = judged[judged["quarter"].isin(window)]
    struck = in_window[in_window["failed"]].sort_values("quarter")
    strike_lists = struck.groupby("customer_id")["quarter"].agg(list)
    latest_strike = struck.groupby("customer_id").last()

    card = customers.set_index("customer_id")[[c for c in customers.columns if c != "customer_id"]].copy()
    card["strike_quarters"] = strike_lists.reindex(card.index).apply(lambda quarters: quarters if isinstance(quarters, list) else [])
    card["strikes"] = card["strike_quarters"].str.len().astype(int)
    now = judged[judged["quarter"] == str(quarter)].set_index("customer_id")
    card["failing_now"] = now["failed"].reindex(card.index).fillna(False).astype(bool)
    latest = latest_strike.reindex(card.index)
    card["reasons"] = latest["reasons"].fillna("")
    stale = card["strikes"].gt(0) & ~card["failing_now"]
    card.loc[stale, "reasons"] = "in " + latest.loc[stale, "quarter"] + ": " + card.loc[stale, "reasons"]
    card["repairs"] = latest["repairs"].fillna("")
    shares = in_window[in_window["our_share"] != ""].sort_values("quarter").groupby("customer_id")["our_share"].last()
    card["our_share"] = shares.reindex(card.index).fillna("")

    status = pd.Series("healthy", index=card.index, dtype=object)
    status[card["strikes"] == 1] = "watch"
    status[card["strikes"] >= 2] = "final_notice"
    status[(card["strikes"] >= settings.strikes_for_let_go) & card["failing_now"]] = "let_go"
    if future_value_rank is not None and settings.protect_top_share > 0:
        rank = future_value_rank.reindex(card.index).fillna(0.0)
        status[status.isin(["let_go", "final_notice"]) & (rank > 1 - settings.protect_top_share)] = "protected"
    quarter_end = pd.Timestamp(quarter.end)
    status[(quarter_end - card["created_on"]).dt.days < settings.min_history_days] = "new"
    ended = card["ended_on"].notna() & (card["ended_on"] <= quarter_end)
    status[ended | _gone_quiet(judged, card.index, quarter, settings, p_alive)] = "inactive"
    card["status"] = pd.Categorical(status, categories=STATUS_ORDER)
    card["action"] = [_action(s, r) for s, r in zip(card["status"], card["repairs"])]
    card["strike_quarters"] = card["strike_quarters"].str.join(";")
    return card.reset_index().drop(columns=["failing_now", "repairs"])


def _gone_quiet(judged: pd.DataFrame, ids: pd.Index, quarter: Quarter, settings: ReviewSettings, p_alive: pd.Series | None) -> np.ndarray:
    if p_alive is None:
        return np.zeros(len(ids), dtype=bool)
    recent = [str(quarter.shift(-step)) for step in range(settings.inactive_quiet_quarters)]
    ordered = judged[judged["quarter"].isin(recent)].groupby("customer_id")["orders"].sum()
    quiet = ordered.reindex(ids).fillna(0).to_numpy() == 0
    unlikely = p_alive.reindex(ids).fillna(1.0).to_numpy() < settings.inactive_p_alive_below
    return quiet & unlikely


def _action(status: str, repairs: str) -> str:
    if status == "let_go":
        return TERMINATE
    if status == "final_notice":
        return PRESENT + (f"; repair: {repairs}" if repairs else "")
    if status in {"watch", "protected"}:
        return f"repair: {repairs}" if repairs else "monitor"
    return ""


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


def statuses_over_time(
    judged: pd.DataFrame,
    customers: pd.DataFrame,
    quarters: Sequence[Quarter],
    settings: ReviewSettings,
    future_value_rank: pd.Series | None = None,
) -> pd.DataFrame:
    """The status each customer would have had at each of ``quarters`` (one column per
    quarter), from the same judged history: the basis for movement and move-on."""
    columns = {}
    for quarter in quarters:
        card = assign_status(judged, customers, quarter, settings, future_value_rank)
        columns[str(quarter)] = card.set_index("customer_id")["status"].astype(str)
    return pd.DataFrame(columns)


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
    left = [Quarter.containing(day.date()) for day in ended["ended_on"]]
    ended["before"] = [str(q.shift(-1)) for q in left]
    ended["quarters_since"] = [quarter - q for q in left]
    verdicts = statuses.stack().rename("status_before")
    verdicts.index.names = ["customer_id", "before"]
    ended = ended.join(verdicts, on=["customer_id", "before"])
    ended = ended[ended["status_before"] == "let_go"]
    history = judged.merge(ended[["customer_id", "before"]], on="customer_id")
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


def evaluate_against_truth(scorecard: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """Precision and recall of ``let_go`` against a demo world's planted ground truth."""
    merged = scorecard[["customer_id", "status"]].merge(truth[["customer_id", "expected_status"]], on="customer_id")
    predicted = merged["status"].astype(str) == "let_go"
    actual = merged["expected_status"] == "let_go"
    hits = int((predicted & actual).sum())
    return {
        "let_go_predicted": int(predicted.sum()),
        "let_go_planted": int(actual.sum()),
        "true_positives": hits,
        "precision": hits / predicted.sum() if predicted.sum() else float("nan"),
        "recall": hits / actual.sum() if actual.sum() else float("nan"),
    }

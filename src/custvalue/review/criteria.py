"""The four criteria: each looks at one customer-quarter and passes or fails it, with
evidence in plain words compared with the segment, and the repair that fits the evidence.

- ``unprofitable``: operating profit after cost to serve below ``-unprofitable_min_loss``.
- ``headache``: service minutes per unit of gross margin in the worst
  ``headache_worst_share`` of the quarter, with service minutes at least
  ``headache_min_multiple`` times the segment's median.
- ``payment``: excess lateness over size-and-segment peers, or non-payment (from
  :mod:`custvalue.payment`, so enterprises slow by policy are not punished).
- ``relationship``: incident points (weight x severity) reaching
  ``incident_points_threshold``.

A young account whose orders grow is onboarding, not failing for its support
(:mod:`custvalue.review.onboarding`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from custvalue.config import ReviewSettings
from custvalue.drivers import COST_DRIVERS
from custvalue.review import text as tx
from custvalue.review.onboarding import onboarding_quarters

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
    note: pd.Series | None = None
    """Why a quarter that looks failing is not counted (e.g. onboarding), where it applies."""


@dataclass(frozen=True)
class Criterion:
    """A named test of one customer-quarter."""

    name: str
    judge: Callable[[pd.DataFrame], Verdict]


def _column(inputs: pd.DataFrame, column: str, rows: np.ndarray) -> np.ndarray:
    """The values of ``column`` at positions ``rows`` (numpy dtype kept where it has one)."""
    return inputs[column].to_numpy()[rows]


def _floats(inputs: pd.DataFrame, column: str, rows: np.ndarray) -> np.ndarray:
    return np.asarray(_column(inputs, column, rows), dtype=np.float64)


def _verdict(failed: pd.Series, index: pd.Index, rows: np.ndarray, evidence: np.ndarray, repair: np.ndarray) -> Verdict:
    """A verdict with ``evidence`` and ``repair`` at positions ``rows``, empty elsewhere."""
    evidence_all, repair_all = tx.texts(len(index)), tx.texts(len(index))
    evidence_all[rows], repair_all[rows] = evidence, repair
    return Verdict(failed, pd.Series(evidence_all, index=index, dtype=object), pd.Series(repair_all, index=index, dtype=object))


class _QuarterSegments:
    """Each row's quarter and (quarter, segment) cell as integer codes, for ranks and medians."""

    def __init__(self, inputs: pd.DataFrame) -> None:
        quarter, quarters = pd.factorize(inputs["quarter"])
        segment, segments = pd.factorize(inputs["segment"])
        width = max(len(segments), 1)
        known = (quarter >= 0) & (segment >= 0)
        self.cell = np.where(known, quarter * width + segment, -1)
        self.cells = len(quarters) * width
        self.quarter = quarter  # -1: missing, in no group (as when grouping by the labels)
        self.index = inputs.index

    def ranked_above(self, values: np.ndarray, share: float) -> np.ndarray:
        """Where ``values.groupby(<quarter>).rank(pct=True, method="max") > share``, without
        ranking every row: per quarter, the values from the first one whose rank (the count
        of values at or below it, over the count of values) exceeds ``share``. NaN is not
        ranked."""
        quarter = self.quarter
        above = np.zeros(len(values), dtype=bool)
        ranked = ~np.isnan(values) & (quarter >= 0)
        order = np.argsort(quarter[ranked], kind="stable")
        rows = np.flatnonzero(ranked)[order]
        bounds = np.flatnonzero(np.diff(quarter[rows])) + 1
        for group in np.split(rows, bounds):
            if not len(group):
                continue
            ordered = np.sort(values[group])
            ranks = np.searchsorted(ordered, ordered, side="right").astype(np.float64)
            passing = np.flatnonzero(ranks / len(ordered) > share)
            if len(passing):
                above[group] = values[group] >= ordered[passing[0]]
        return above

    def median(self, values: pd.Series, among: pd.Series) -> pd.Series:
        """Each row's segment median of ``values`` in its quarter, over the rows in ``among``."""
        chosen = np.asarray(among, dtype=bool) & (self.cell >= 0)
        medians = pd.Series(values.to_numpy()[chosen]).groupby(self.cell[chosen]).median()
        table = np.full(self.cells + 1, np.nan)  # the last entry: no cell
        table[medians.index.to_numpy()] = medians.to_numpy(dtype=np.float64)
        return pd.Series(table[self.cell], index=self.index)


def _times(value: float, reference: float) -> str:
    if not np.isfinite(reference) or reference <= 0:
        return ""
    return f", {value / reference:.1f}x the segment median"


def unprofitable(settings: ReviewSettings) -> Criterion:
    """Fails a quarter whose operating profit after cost to serve is a material loss."""
    columns = [f"cost_{driver}" for driver in COST_DRIVERS]
    words = np.array([DRIVER_WORDS[driver] for driver in COST_DRIVERS], dtype=object)
    repairs = np.array([DRIVER_REPAIRS[driver] for driver in COST_DRIVERS], dtype=object)
    reprice = "reprice: stop discounts that leave no margin"

    def judge(inputs: pd.DataFrame) -> Verdict:
        profit = inputs["operating_profit"].fillna(0.0)
        failed = profit < -settings.unprofitable_min_loss
        rows = np.flatnonzero(failed.to_numpy(dtype=bool))
        amounts = np.column_stack([_floats(inputs, column, rows) for column in columns]) if len(rows) else np.zeros((0, len(columns)))
        amounts[np.isnan(amounts)] = 0.0
        # A loss led by support, in a young account whose orders grow, is the cost of onboarding it.
        support_led = np.zeros(len(inputs), dtype=bool)
        if "support" in COST_DRIVERS and len(rows):
            support_led[rows] = np.argmax(amounts, axis=1) == list(COST_DRIVERS).index("support")
        onboarding, note = onboarding_quarters(inputs, support_led, settings.onboarding_grace_quarters, "its support is not counted as a loss")
        if onboarding.any():
            failed = failed & ~onboarding
            kept = ~onboarding.to_numpy(dtype=bool)[rows]
            rows, amounts = rows[kept], amounts[kept]
        n = len(rows)
        # The two largest positive costs, largest first.
        order = np.argsort(-amounts, axis=1, kind="stable")
        ranked = np.take_along_axis(amounts, order, axis=1)
        first, second = ranked[:, 0], ranked[:, 1] if len(columns) > 1 else np.zeros(n)
        has_first, has_second = first > 0, second > 0
        named = tx.joined(
            [
                (has_first, tx.where(has_first, lambda at: words[order[at, 0]] + " " + tx.number(first[at]))),
                (has_second, tx.where(has_second, lambda at: words[order[at, 1]] + " " + tx.number(second[at]))),
            ],
            ", ",
            n,
        )
        margin, revenue = _floats(inputs, "gross_margin", rows), _floats(inputs, "revenue", rows)
        evidence = (
            "lost " + tx.number(-profit.to_numpy(dtype=np.float64)[rows]) + " after cost to serve "
            + tx.number(_floats(inputs, "cost_to_serve", rows)) + " on gross margin " + tx.number(margin)
            + " (largest: " + named + ")"
        )
        with np.errstate(invalid="ignore"):
            no_margin = margin <= 0.05 * np.where(1.0 > revenue, 1.0, revenue)  # max(revenue, 1.0), NaN kept
        repair = tx.joined([(no_margin, reprice), (has_first, tx.where(has_first, lambda at: repairs[order[at, 0]]))], "; ", n)
        # Equal amounts among the top ones: which comes first is the per-row sort's choice.
        third = ranked[:, 2] if len(columns) > 2 else np.zeros(n)
        for at in np.flatnonzero((has_second & (first == second)) | ((third > 0) & (second == third))):
            evidence[at], repair[at] = _unprofitable_row(inputs, rows[at], columns, profit)
        return dataclasses.replace(_verdict(failed, inputs.index, rows, evidence, repair), note=note)

    return Criterion("unprofitable", judge)


def _unprofitable_row(inputs: pd.DataFrame, position: int, columns: list[str], profit: pd.Series) -> tuple[str, str]:
    """The evidence and repair of one failing row, one row at a time (for ties)."""
    costs = inputs[columns].iloc[position].astype(float).fillna(0.0).sort_values(ascending=False)
    top = [(column.removeprefix("cost_"), amount) for column, amount in costs.items() if amount > 0][:2]
    named = ", ".join(f"{DRIVER_WORDS[driver]} {amount:,.0f}" for driver, amount in top)
    margin = inputs["gross_margin"].iloc[position]
    evidence = (
        f"lost {-profit.iloc[position]:,.0f} after cost to serve {inputs['cost_to_serve'].iloc[position]:,.0f}"
        f" on gross margin {margin:,.0f} (largest: {named})"
    )
    repairs = [DRIVER_REPAIRS[driver] for driver, _ in top[:1]]
    if margin <= 0.05 * max(inputs["revenue"].iloc[position], 1.0):
        repairs.insert(0, "reprice: stop discounts that leave no margin")
    return evidence, "; ".join(repairs)


def headache(settings: ReviewSettings) -> Criterion:
    """Fails a quarter whose service effort per unit of margin is among the worst and far
    above the segment's usual."""

    def judge(inputs: pd.DataFrame) -> Verdict:
        groups = _QuarterSegments(inputs)
        ratio = inputs["headache_ratio"].astype(float).fillna(0.0)
        minutes = inputs["service_minutes"].fillna(0.0)
        served = minutes > 0
        worst = pd.Series(groups.ranked_above(ratio.where(served).to_numpy(dtype=np.float64), 1 - settings.headache_worst_share), index=inputs.index)
        # A low margin alone is the unprofitable criterion's business: a headache takes
        # far more service effort than the segment's usual customer.
        typical = groups.median(minutes, served)
        far_above = minutes >= settings.headache_min_multiple * typical.fillna(0.0)
        failed = (worst & far_above & served).fillna(False).astype(bool)
        onboarding, note = onboarding_quarters(inputs, failed.to_numpy(dtype=bool), settings.onboarding_grace_quarters, "not counted as a headache")
        failed = failed & ~onboarding
        rows = np.flatnonzero(failed.to_numpy(dtype=bool))
        n = len(rows)
        if not n:
            return dataclasses.replace(_verdict(failed, inputs.index, rows, tx.texts(0), tx.texts(0)), note=note)
        ordering = inputs["orders"] > 0
        support_hours = inputs["ticket_minutes"].fillna(0.0) / 60
        typical_hours = groups.median(support_hours, ordering).to_numpy()[rows]
        rush_share = inputs["rush_orders"] / inputs["orders"].where(ordering)
        typical_rush = groups.median(rush_share, ordering).to_numpy()[rows]
        hours, share = support_hours.to_numpy(dtype=np.float64)[rows], rush_share.to_numpy(dtype=np.float64)[rows]
        manual, orders = _column(inputs, "manual_orders", rows), _column(inputs, "orders", rows)

        with np.errstate(invalid="ignore"):
            supported = hours > 0
            rushed = share >= 0.25
            by_hand = (manual > 0) & (manual >= 0.5 * orders)
            comparable = np.isfinite(typical_hours) & (typical_hours > 0)

        def support_text(at: np.ndarray) -> np.ndarray:
            times = tx.where(comparable[at], lambda on: ", " + tx.number(hours[at][on] / typical_hours[at][on], 1, grouping=False) + "x the segment median")
            return "support " + tx.number(hours[at], 1) + " h this quarter" + times

        def rush_text(at: np.ndarray) -> np.ndarray:
            return (
                tx.number(share[at], 0, grouping=False, percent=True) + " of orders rush (segment median "
                + tx.number(typical_rush[at], 0, grouping=False, percent=True) + ")"
            )

        def manual_text(at: np.ndarray) -> np.ndarray:
            return tx.whole(manual[at]) + " of " + tx.whole(orders[at]) + " orders keyed by hand"

        service, margin = _floats(inputs, "service_minutes", rows), _floats(inputs, "gross_margin", rows)
        with np.errstate(invalid="ignore"):
            no_margin = margin <= 0
        per_margin = tx.texts(n, "no margin to cover it")
        with np.errstate(divide="ignore", invalid="ignore"):
            per_margin[~no_margin] = tx.number(service[~no_margin] / margin[~no_margin] * 100) + " service minutes per 100 of margin"
        evidence = "headache: " + tx.joined(
            [
                (supported, tx.where(supported, support_text)),
                (rushed, tx.where(rushed, rush_text)),
                (by_hand, tx.where(by_hand, manual_text)),
                (np.ones(n, dtype=bool), per_margin),
            ],
            "; ",
            n,
        )
        repair = tx.joined(
            [(supported, DRIVER_REPAIRS["support"]), (rushed, DRIVER_REPAIRS["rush"]), (by_hand, DRIVER_REPAIRS["manual_entry"])], "; ", n
        )
        repair[repair == ""] = DRIVER_REPAIRS["order_handling"]
        return dataclasses.replace(_verdict(failed, inputs.index, rows, evidence, repair), note=note)

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
        rows = np.flatnonzero(np.asarray(failed, dtype=bool))
        n = len(rows)
        parts = []
        for kind in weights:
            severity = _column(inputs, f"severity_{kind}", rows)
            present = np.asarray(severity > 0, dtype=bool)
            label = f"{kind.replace('_', ' ')} (total severity "
            parts.append((present, tx.where(present, lambda at, severity=severity, label=label: label + tx.whole(severity[at]) + ")")))
        evidence = tx.whole(_column(inputs, "incidents", rows)) + " relationship incidents: " + tx.joined(parts, ", ", n)
        pressured = np.asarray(_column(inputs, "severity_price_pressure", rows) > 0, dtype=bool)
        repair = np.where(pressured, "hold prices; put the terms in a written agreement", DRIVER_REPAIRS["relationship"]).astype(object)
        return _verdict(failed, inputs.index, rows, evidence, repair)

    return Criterion("relationship", judge)


def standard_criteria(settings: ReviewSettings) -> list[Criterion]:
    """The four criteria of the review, in reporting order."""
    return [unprofitable(settings), headache(settings), payment(), relationship(settings)]


def judge_quarters(inputs: pd.DataFrame, criteria: Sequence[Criterion]) -> pd.DataFrame:
    """Apply every criterion to every customer-quarter.

    Returns the inputs with ``fail_<name>`` and ``why_<name>`` per criterion, and
    ``failed`` (a strike), ``reasons`` (all evidence), ``repairs``, ``our_share`` and
    ``notes`` (why a quarter that looked failing is not counted).
    """
    # New columns only: a shallow copy shares the inputs' columns without copying them
    # (copy-on-write keeps the two apart).
    judged = inputs.copy(deep=False)
    repairs, notes_by_criterion = [], []
    for criterion in criteria:
        verdict = criterion.judge(inputs)
        judged[f"fail_{criterion.name}"] = verdict.failed.astype(bool).to_numpy()
        judged[f"why_{criterion.name}"] = tx.text_column(verdict.evidence.to_numpy())
        repairs.append(verdict.repair.to_numpy())
        notes_by_criterion.append(None if verdict.note is None else verdict.note.to_numpy())
    names = [criterion.name for criterion in criteria]
    judged["failed"] = judged[[f"fail_{n}" for n in names]].any(axis=1) if names else False
    judged["reasons"] = tx.text_column(tx.join_columns([judged[f"why_{n}"] for n in names], len(judged)))
    judged["repairs"] = tx.text_column(tx.join_unique(repairs, len(judged)))
    judged["our_share"] = tx.text_column(our_share(inputs).to_numpy())
    notes = [verdict_note for verdict_note in notes_by_criterion if verdict_note is not None]
    judged["notes"] = tx.text_column(tx.join_unique(notes, len(judged)) if notes else tx.texts(len(judged)))
    return judged


def our_share(inputs: pd.DataFrame) -> pd.Series:
    """What we caused in each customer-quarter, in plain words (not counted against them)."""
    tickets = inputs.get("our_tickets", pd.Series(0, index=inputs.index)).fillna(0)
    minutes = inputs.get("our_ticket_minutes", pd.Series(0.0, index=inputs.index)).fillna(0.0)
    fixes = inputs.get("payment_our_fix", tx.empty(inputs.index)).fillna("")
    caused = (tickets > 0).to_numpy(dtype=bool)
    fixed = (fixes != "").to_numpy(dtype=bool)
    rows = np.flatnonzero(caused | fixed)
    texts = tx.texts(len(inputs))
    if len(rows):
        count, hours = tickets.to_numpy()[rows], minutes.to_numpy()[rows] / 60
        caused = caused[rows]
        stated = tx.where(caused, lambda at: "we caused " + tx.whole(count[at]) + " of their tickets (" + tx.number(hours[at], 1) + " h), not counted against them")
        texts[rows] = tx.joined([(caused, stated), (fixed[rows], fixes.iloc[rows].to_numpy(dtype=object))], "; ", len(rows))
    return pd.Series(texts, index=inputs.index, dtype=object)

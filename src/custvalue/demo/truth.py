"""The ground truth: what was planted, what the review should conclude, and how a
scorecard compares with it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from custvalue.demo.calendar import Timeline, overlap
from custvalue.demo.plan import CustomerPlan
from custvalue.demo.spec import WorldShape
from custvalue.demo.vocabulary import (
    ABUSIVE,
    ARCHETYPES,
    CHRONIC,
    ENTERPRISE,
    FULL_QUARTER_DAYS,
    HOG,
    LATE_PAYER,
    LEFT,
    ONE_BAD,
    PRICER,
    SEGMENTS,
)


def _visible(shape: WorldShape) -> dict[int, bool]:
    """Whether each planted behaviour leaves a trace in the tables the world has.

    A support hog shows only in the tickets and an abusive customer only in the
    incidents; the one bad quarter shows in either. A price pressurer without incidents
    has only its thin margin, which may or may not be a loss after cost to serve, so
    its verdict is not certain (see ``detectable`` in the truth).
    """
    tickets, incidents = "support_tickets" in shape.optional_tables, "incidents" in shape.optional_tables
    return {HOG: tickets, ABUSIVE: incidents, ONE_BAD: tickets or incidents, PRICER: True}


def ground_truth(plan: CustomerPlan, ids: np.ndarray, hostile: np.ndarray, timeline: Timeline, shape: WorldShape) -> pd.DataFrame:
    _, _, q_days = overlap(plan.act_start, plan.act_end, timeline.qstart, timeline.qend)
    visible = _visible(shape)
    chronic = np.isin(plan.beh, [b for b in CHRONIC if visible.get(b, True)])
    bad = np.where(chronic[:, None], q_days >= FULL_QUARTER_DAYS, False)  # every quarter of real activity
    bad[plan.beh == ONE_BAD, one_bad_quarter(timeline)] = visible[ONE_BAD]
    labels = np.array(timeline.labels, dtype=object)
    bad_quarters = [";".join(labels[row]) for row in bad]
    window = slice(max(timeline.last - 3, 0), timeline.last + 1)
    strikes = bad[:, window].sum(axis=1)
    # Three strikes (the latest quarter failing) are let go, two a final notice, one watch.
    # Late payment alone is repaired, never fired: at most a final notice.
    by_strikes = np.select([strikes >= 3, strikes == 2, strikes == 1], ["let_go", "final_notice", "watch"], "healthy")
    by_strikes = np.where(bad[:, timeline.last] | (strikes < 3), by_strikes, "final_notice")
    by_strikes = np.where((plan.beh == LATE_PAYER) & (by_strikes == "let_go"), "final_notice", by_strikes)
    status = np.where(plan.left, "inactive", by_strikes).astype(object)
    # Where the data cannot show the planted behaviour plainly, the verdict is not certain:
    # a price pressurer without incidents has only its thin margin; a support hog planted
    # among enterprise accounts has an enterprise's margin to carry its support; a late
    # payer seen for under four quarters has few invoices yet due and paid.
    uncertain = (plan.beh == PRICER) & ("incidents" not in shape.optional_tables)
    uncertain |= (plan.beh == HOG) & (plan.seg == ENTERPRISE)
    uncertain |= (plan.beh == LATE_PAYER) & (timeline.last < 3)
    uncertain |= (plan.beh == ONE_BAD) & ("incidents" not in shape.optional_tables)  # a burst of tickets alone may not stand out
    detectable = ~(uncertain & ~plan.left)
    archetype = np.where(plan.left, LEFT, plan.beh)
    frame = pd.DataFrame(
        {
            "customer_id": ids,
            "archetype": np.array(ARCHETYPES, dtype=object)[archetype],
            "segment": np.array(SEGMENTS, dtype=object)[plan.seg],
            "bad_quarters": np.array(bad_quarters, dtype=object),
            "expected_status": status,
            "flagged_expected": np.isin(status, ["let_go", "final_notice", "watch"]),
            "expected_strikes": strikes.astype(np.int64),
            "behaviour": np.array(ARCHETYPES, dtype=object)[plan.beh],
            "silent_churn": plan.churned,
            "hostile_name": hostile,
            "detectable": detectable,
            "single_order": plan.single,
        }
    )
    return frame.sort_values("customer_id").reset_index(drop=True)


def one_bad_quarter(timeline: Timeline) -> int:
    """The quarter of the one bad quarter: L-2, or the first when the history is shorter."""
    return max(timeline.last - 2, 0)


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

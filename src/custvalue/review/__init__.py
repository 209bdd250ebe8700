"""The quarterly review: criteria per quarter, strikes, status, reasons and actions.

One entry point, :func:`review_quarter`, runs the policy over the models' results; the
modules are one concept each: :mod:`.inputs` (what the review reads), :mod:`.criteria`
(the four criteria and the judged history), :mod:`.onboarding` (the grace for young,
growing accounts), :mod:`.status` (strikes, the grounds rule, status and actions),
:mod:`.value` (future value and its rank), :mod:`.movement` (movement and move-on),
:mod:`.scorecard` (the scorecard's rows) and :mod:`.text` (evidence written for whole
columns at once).

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

The four criteria (``unprofitable``, ``headache``, ``payment``, ``relationship``; every
threshold in :class:`custvalue.config.ReviewSettings`) are stated once, in
:mod:`custvalue.review.criteria`.

Let go needs grounds (a loss over the window, non-payment, a headache or relationship
strike): without them a customer goes no further than ``without_grounds_max_status``.

What we caused never counts: tickets caused by us are costed to us (see
:mod:`custvalue.cost_to_serve`), and disputes of our own errors are not judged. Where we
caused part of the trouble, the reasons say so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from custvalue.config import ReviewSettings
from custvalue.memory import give_back_memory
from custvalue.quarters import Quarter
from custvalue.review.criteria import (
    DRIVER_REPAIRS,
    DRIVER_WORDS,
    Criterion,
    Verdict,
    headache,
    judge_quarters,
    our_share,
    payment,
    relationship,
    standard_criteria,
    unprofitable,
)
from custvalue.review.inputs import ACCOUNT_COLUMNS, REVIEW_COSTS, REVIEW_DRIVERS, REVIEW_PAYMENT, review_columns, review_inputs
from custvalue.review.movement import move_on, movement
from custvalue.review.scorecard import SCORECARD_COLUMNS, scorecard
from custvalue.review.status import (
    FLAGGED,
    PRESENT,
    STATUS_ORDER,
    TERMINATE,
    assign_status,
    statuses_over_time,
    strike_history,
    window_of,
)
from custvalue.review.value import future_value, state_future_potential

__all__ = [
    "ACCOUNT_COLUMNS", "DRIVER_REPAIRS", "DRIVER_WORDS", "FLAGGED", "PRESENT", "REVIEW_COSTS", "REVIEW_DRIVERS",
    "REVIEW_PAYMENT", "SCORECARD_COLUMNS", "STATUS_ORDER", "TERMINATE", "Criterion", "Review", "Verdict",
    "assign_status", "future_value", "headache", "judge_quarters", "move_on", "movement", "our_share", "payment",
    "relationship", "review_columns", "review_inputs", "review_quarter", "scorecard", "standard_criteria",
    "state_future_potential", "statuses_over_time", "strike_history", "unprofitable", "window_of",
]  # fmt: skip


@dataclass(frozen=True)
class Review:
    """One quarter's review: what :func:`review_quarter` returns."""

    judged: pd.DataFrame
    """One row per customer and quarter: the inputs, each criterion's verdict and the strike."""
    scorecard: pd.DataFrame
    """One row per customer (:data:`SCORECARD_COLUMNS`)."""
    statuses: pd.DataFrame
    """The status of each customer (rows) at each reviewed quarter (columns)."""
    movement: pd.DataFrame
    """How each customer's status and strikes changed since the previous quarter."""
    move_on: pd.DataFrame
    """Relationships that ended after a let-go recommendation, and their effect."""


def review_quarter(
    inputs: pd.DataFrame,
    customers: pd.DataFrame,
    quarter: Quarter,
    reviewable: Sequence[Quarter],
    settings: ReviewSettings,
    *,
    lifetime: pd.DataFrame,
    p_alive_at: Mapping[str, pd.Series],
    receivables: pd.Series,
    currency: str,
) -> Review:
    """Review ``quarter``: judge every customer-quarter, count strikes, give each customer
    its status, reasons and action, and state what changed since the last quarter.

    Parameters
    ----------
    inputs : DataFrame
        :func:`review_inputs`, one row per customer and quarter of the history.
    customers : DataFrame
        Accepted customers (``customer_id``, ``created_on``, ``ended_on``, ...).
    quarter : Quarter
        The quarter under review.
    reviewable : sequence of Quarter
        The quarters whose statuses are recorded (each with a full window of history).
    settings : ReviewSettings
    lifetime : DataFrame
        The lifetime model's customers (``clv``, ``p_alive``), by ``customer_id``.
    p_alive_at : mapping of str to Series
        P(alive) at the end of earlier quarters (by label), so that past statuses use the
        same inputs as this quarter's.
    receivables : Series
        Open receivables by customer id.
    currency : str
        For the amounts stated in the reasons.

    Returns
    -------
    Review
    """
    judged = judge_quarters(inputs, standard_criteria(settings))
    del inputs
    give_back_memory()
    value = future_value(lifetime["clv"], judged, window_of(quarter, settings))
    rank = value["future_value_rank"]
    card = assign_status(judged, customers, quarter, settings, rank, lifetime["p_alive"])
    statuses = statuses_over_time(judged, customers, reviewable, settings, rank, p_alive_at)
    statuses[str(quarter)] = card.set_index("customer_id")["status"].astype(str)
    before = quarter.shift(-1)
    previous = assign_status(judged, customers, before, settings, rank, p_alive_at.get(str(before)))
    changes = movement(previous, card)
    ended_after_let_go = move_on(judged, customers, statuses, quarter)
    value = lifetime.drop(columns="future_value_rank").join(value)
    card = scorecard(card, judged, receivables, value, quarter, settings, currency)
    return Review(judged, card, statuses, changes, ended_after_let_go)

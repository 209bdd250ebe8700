"""Who the customers are: how many of each archetype, their segments, when they open,
leave or go quiet."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from custvalue.demo.calendar import Timeline
from custvalue.demo.spec import DemoError, DemoSpec, WorldShape
from custvalue.demo.vocabulary import (
    ARCHETYPES,
    CHRONIC,
    GROWING,
    LATE_ENTERPRISE,
    LATE_PAYER,
    LEFT,
    LEFT_BAD_CYCLE,
    LEFT_BAD_SHARE,
    LEFT_PLAN,
    NON_PAYER,
    ONE_BAD,
    ORDINARY,
    PLAN,
    SMALL_BUSINESS,
    WE_CAUSED,
)


@dataclass
class CustomerPlan:
    seg: np.ndarray
    beh: np.ndarray  # behaviour archetype (never LEFT)
    left: np.ndarray  # already_left overlay
    created: np.ndarray
    ended: np.ndarray  # -1 = not ended
    act_start: np.ndarray
    act_end: np.ndarray
    churned: np.ndarray
    single: np.ndarray  # buys once only


def _planted_count(shape: WorldShape, archetype: int, per_thousand: float, minimum: int, n: int) -> int:
    """How many customers of ``archetype`` a world of ``n`` customers gets."""
    if shape.on_time_payment and archetype in (LATE_PAYER, NON_PAYER):
        return 0
    per_thousand = float(shape.archetypes.get(ARCHETYPES[archetype], per_thousand))
    if per_thousand == 0:
        return 0
    return max(minimum, int(round(per_thousand * n / 1000)))


def _within(shares: tuple[float, ...], shape: WorldShape) -> np.ndarray:
    """An archetype's segment probabilities restricted to the world's segments (all of
    the world's segments, in its proportions, when none of its usual ones is present)."""
    present = np.array(shape.segment_shares) > 0
    if present.all():
        return np.asarray(shares)
    restricted = np.asarray(shares) * present
    if restricted.sum() == 0:
        restricted = np.array(shape.segment_shares)
    return restricted / restricted.sum()


def plan_customers(spec: DemoSpec, timeline: Timeline, rng: np.random.Generator, shape_rng: np.random.Generator) -> CustomerPlan:
    n, shape = spec.n_customers, spec.shape
    target = np.round(np.array(shape.segment_shares) * n).astype(int)
    # The rounding remainder goes to the largest segment (ties: the smaller accounts).
    largest = SMALL_BUSINESS - int(np.argmax(np.array(shape.segment_shares)[::-1]))
    target[largest] = n - target.sum() + target[largest]
    segs: list[np.ndarray] = []
    behs: list[np.ndarray] = []
    lefts: list[np.ndarray] = []
    for archetype, (per_thousand, minimum, shares) in PLAN.items():
        count = _planted_count(shape, archetype, per_thousand, minimum, n)
        segs.append(rng.choice(3, size=count, p=_within(shares, shape)))
        behs.append(np.full(count, archetype))
        lefts.append(np.zeros(count, bool))
    n_left = _planted_count(shape, LEFT, *LEFT_PLAN, n)
    n_left_bad = int(np.ceil(LEFT_BAD_SHARE * n_left))
    bad_cycle = [b for b in LEFT_BAD_CYCLE if not (shape.on_time_payment and b == NON_PAYER)]
    left_beh = np.array(
        [bad_cycle[i % len(bad_cycle)] for i in range(n_left_bad)] + [ORDINARY] * (n_left - n_left_bad), dtype=np.int64
    )
    left_seg = np.array(
        [rng.choice(3, p=_within(PLAN[b][2] if b != ORDINARY else shape.segment_shares, shape)) for b in left_beh],
        dtype=np.int64,
    )
    segs.append(left_seg)
    behs.append(left_beh)
    lefts.append(np.ones(n_left, bool))
    seg = np.concatenate(segs)
    used = np.bincount(seg, minlength=3)
    remaining = target - used
    present = target > 0
    if (remaining[present] < 3).any() or (remaining < 0).any():
        raise DemoError(f"n_customers: {n} is too small to plant every archetype with ordinary peers in each segment")
    seg = np.concatenate([seg, np.repeat(np.arange(3), remaining)])
    beh = np.concatenate(behs + [np.full(remaining.sum(), ORDINARY)])
    left = np.concatenate(lefts + [np.zeros(remaining.sum(), bool)])
    order = rng.permutation(n)
    seg, beh, left = seg[order], beh[order], left[order]

    # created_on: before the window (long-standing accounts) or arriving during it.
    span = timeline.end - timeline.start + 1
    pre_share = np.array([0.9, 0.75, 0.6])[seg]
    pre = rng.random(n) < pre_share
    created = np.where(
        pre,
        timeline.start - rng.integers(30, 365 * 8, n),
        timeline.start + (rng.random(n) * (span - 14)).astype(np.int64),
    )
    # Planted archetypes need enough history: chronic ones and we_caused are either
    # long-standing or arrive at the start of a quarter at least 6 quarters before the end.
    planted_old = np.isin(beh, [*CHRONIC, WE_CAUSED]) & ~left
    newcomer = planted_old & (rng.random(n) < 0.2)
    q_new = rng.integers(0, max(1, timeline.last - 4), n)
    created = np.where(planted_old, timeline.start - rng.integers(30, 365 * 8, n), created)
    created = np.where(newcomer, timeline.qstart[q_new] + rng.integers(0, 11, n), created)
    created = np.where(np.isin(beh, [LATE_ENTERPRISE, ONE_BAD]) | left, timeline.start - rng.integers(30, 365 * 8, n), created)
    growing = beh == GROWING
    q_grow = np.clip(timeline.last - rng.integers(2, 8, n), 0, None)  # 2..7 quarters before L
    grow_day = np.minimum(timeline.qstart[q_grow] + rng.integers(0, 46, n), timeline.qend[q_grow])
    created = np.where(growing, grow_day, created)

    # ended_on (already_left): 2..5 quarters before the latest complete quarter's end,
    # at least 40 days into its quarter so the last quarter has real activity.
    q_end = np.clip(timeline.last - rng.integers(2, 6, n), 0, None)
    room = np.maximum(timeline.qend[q_end] - timeline.qstart[q_end] - 39, 1)
    end_day = timeline.qstart[q_end] + 40 + (rng.random(n) * room).astype(np.int64)
    ended = np.where(left, np.minimum(end_day, timeline.end), -1)
    act_start = np.maximum(created, timeline.start)
    act_end = np.where(left, ended - 10, timeline.end)

    # Silent churn: some ordinary customers stop ordering, without an ended_on.
    churned = (beh == ORDINARY) & ~left & (rng.random(n) < shape.silent_churn)
    lo, hi = act_start + 90, timeline.end - 30
    churned &= lo < hi
    churn_day = lo + (rng.random(n) * np.maximum(hi - lo, 1)).astype(np.int64)
    act_end = np.where(churned, churn_day, act_end)
    # One-time buyers (drawn from the shape's own stream, so the default world is unchanged).
    single = np.zeros(n, bool)
    if shape.single_order_share > 0:
        single = (beh == ORDINARY) & ~left & ~churned & (shape_rng.random(n) < shape.single_order_share)
        act_end = np.where(single, np.minimum(act_start + 45, timeline.end), act_end)  # gone after the one order
    return CustomerPlan(
        seg, beh, left, created.astype(np.int64), ended.astype(np.int64), act_start, act_end, churned, single
    )

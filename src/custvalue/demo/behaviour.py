"""How each customer behaves: typed per-customer parameters (:class:`Behaviour`), the
segment defaults, the archetypes' overrides and the world's shape."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from custvalue.contract import INCIDENT_KINDS
from custvalue.demo.plan import CustomerPlan
from custvalue.demo.spec import WorldShape
from custvalue.demo.vocabulary import (
    ABUSE,
    ABUSIVE,
    AVOIDANCE,
    BREACH,
    DEMAND,
    ENTERPRISE,
    GROWING,
    HOG,
    LATE_ENTERPRISE,
    LATE_PAYER,
    MID_MARKET,
    NON_PAYER,
    ONE_BAD,
    ORDINARY,
    PRICE_PRESSURE,
    PRICER,
    RUSH,
    SMALL_BUSINESS,
    WE_CAUSED,
    WITHHELD,
)


def _unset() -> np.ndarray:
    return np.zeros(0)


@dataclass
class Behaviour:
    """Per-customer behaviour parameters, one array entry per planned customer.

    Filled in by :func:`planted_behaviour` (the segment's defaults, then each archetype's
    overrides) and :func:`shaped` (the world's shape); read by the event generators of
    :mod:`custvalue.demo.events`.
    """

    orders_per_month: np.ndarray = field(default_factory=_unset)
    """Mean orders a month at the start (before growth and season)."""
    growth_per_quarter: np.ndarray = field(default_factory=_unset)
    """Factor on the order rate per quarter of the account's life."""
    lines_per_order: np.ndarray = field(default_factory=_unset)
    """Mean lines an order."""
    value_per_line: np.ndarray = field(default_factory=_unset)
    """Mean list value of a line, in currency units."""
    discount_chance: np.ndarray = field(default_factory=_unset)
    """Share of orders with a discount (1: every order)."""
    discount_share: np.ndarray = field(default_factory=_unset)
    """Typical discount, as a share of the list price."""
    cost_share: np.ndarray = field(default_factory=_unset)
    """Cost of goods as a share of the list price."""
    rush_chance: np.ndarray = field(default_factory=_unset)
    manual_chance: np.ndarray = field(default_factory=_unset)
    return_chance: np.ndarray = field(default_factory=_unset)
    days_late_mean: np.ndarray = field(default_factory=_unset)
    """Mean days after the due date an invoice is paid."""
    days_late_spread: np.ndarray = field(default_factory=_unset)
    """Standard deviation of the days late."""
    days_late_min: np.ndarray = field(default_factory=_unset)
    days_late_max: np.ndarray = field(default_factory=_unset)
    never_paid_chance: np.ndarray = field(default_factory=_unset)
    dispute_chance: np.ndarray = field(default_factory=_unset)
    ordinary_tickets: np.ndarray = field(default_factory=_unset)
    """Everyday tickets a quarter."""
    hog_tickets: np.ndarray = field(default_factory=_unset)
    """Long tickets a quarter that are not our fault (support hogs)."""
    our_tickets: np.ndarray = field(default_factory=_unset)
    """Tickets a quarter from our own errors (the ``we_caused`` customers)."""
    caused_by_us_chance: np.ndarray = field(default_factory=_unset)
    """Share of the everyday tickets whose root cause is our error."""
    min_orders: np.ndarray = field(default_factory=_unset)
    """Orders every (near) full quarter gets at least."""
    rush_lines: np.ndarray = field(default_factory=_unset)
    """Whether orders are the rush addict's one or two small lines."""
    incident_rate: np.ndarray = field(default_factory=_unset)
    """Incidents a quarter, customer x incident kind."""
    incident_min: np.ndarray = field(default_factory=_unset)
    """Incidents every full quarter gets at least, customer x kind."""
    severity_min: np.ndarray = field(default_factory=_unset)
    severity_max: np.ndarray = field(default_factory=_unset)


def planted_behaviour(plan: CustomerPlan, rng: np.random.Generator) -> Behaviour:
    """Per-customer behaviour parameters: segment defaults, then archetype overrides."""
    seg, beh = plan.seg, plan.beh
    n = seg.size

    def by_seg(ent: float, mid: float, small: float) -> np.ndarray:
        return np.array([ent, mid, small], dtype=float)[seg]

    behaviour = Behaviour()
    behaviour.orders_per_month = by_seg(8.0, 2.5, 1.0) * rng.lognormal(0.0, 0.5, n)  # orders per month
    behaviour.growth_per_quarter = rng.uniform(0.97, 1.04, n)  # per quarter
    behaviour.lines_per_order = by_seg(14, 7, 4)
    behaviour.value_per_line = by_seg(250, 150, 90) * rng.lognormal(0.0, 0.6, n)  # per line, currency units
    behaviour.discount_chance = rng.uniform(0.3, 0.7, n)
    behaviour.discount_share = by_seg(0.08, 0.06, 0.03) * rng.uniform(0.5, 1.5, n)
    behaviour.cost_share = by_seg(0.68, 0.70, 0.72) + rng.uniform(-0.04, 0.04, n)  # share of list price
    behaviour.rush_chance = rng.uniform(0.02, 0.10, n)
    behaviour.manual_chance = by_seg(0.06, 0.12, 0.20) * rng.uniform(0.5, 1.5, n)
    behaviour.return_chance = rng.uniform(0.02, 0.06, n)
    slow = (seg == SMALL_BUSINESS) & (rng.random(n) < 0.12)
    behaviour.days_late_mean = np.select(
        [seg == ENTERPRISE, seg == MID_MARKET, slow],
        [rng.uniform(20, 35, n), rng.uniform(0, 12, n), rng.uniform(5, 15, n)],
        np.clip(rng.normal(0, 2, n), -5, 5),
    )
    behaviour.days_late_spread = by_seg(4, 4, 3)
    behaviour.days_late_min = np.full(n, -10.0)
    behaviour.days_late_max = np.full(n, 90.0)
    behaviour.never_paid_chance = by_seg(0.001, 0.003, 0.003)
    behaviour.dispute_chance = by_seg(0.02, 0.015, 0.01)
    behaviour.ordinary_tickets = by_seg(4.0, 1.8, 0.9) * np.clip(np.sqrt(behaviour.orders_per_month / by_seg(8.0, 2.5, 1.0)), 0.4, 2.5)
    behaviour.hog_tickets = np.zeros(n)
    behaviour.our_tickets = np.zeros(n)
    behaviour.caused_by_us_chance = np.full(n, 0.15)
    behaviour.min_orders = np.where(beh == ORDINARY, 0, 1)
    behaviour.rush_lines = np.zeros(n, bool)
    inc_rate = np.zeros((n, len(INCIDENT_KINDS)))
    inc_rate[:, [PRICE_PRESSURE, DEMAND, WITHHELD, AVOIDANCE]] = [0.006, 0.004, 0.003, 0.002]
    inc_min = np.zeros((n, len(INCIDENT_KINDS)), dtype=np.int64)
    sev_lo = np.ones((n, len(INCIDENT_KINDS)), dtype=np.int64)
    sev_hi = np.ones((n, len(INCIDENT_KINDS)), dtype=np.int64)

    def at(code: int) -> np.ndarray:
        return beh == code

    m = at(HOG)
    small = seg == SMALL_BUSINESS
    behaviour.orders_per_month[m] *= np.where(small, 0.8, 0.5)[m]
    behaviour.value_per_line[m] *= np.where(small, 0.7, 0.6)[m]
    behaviour.hog_tickets[m] = np.where(small, rng.uniform(7, 11, n), rng.uniform(12, 18, n))[m]
    behaviour.caused_by_us_chance[m] = 0.05

    m = at(RUSH)
    behaviour.orders_per_month[m] = rng.uniform(4, 7, n)[m]
    behaviour.rush_lines[m] = True
    behaviour.value_per_line[m] = 45 * rng.lognormal(0.0, 0.25, n)[m]
    behaviour.rush_chance[m] = rng.uniform(0.72, 0.88, n)[m]
    behaviour.manual_chance[m] = rng.uniform(0.60, 0.85, n)[m]
    behaviour.min_orders[m] = 6

    m = at(PRICER)
    behaviour.discount_chance[m] = 1.0
    behaviour.discount_share[m] = rng.uniform(0.18, 0.25, n)[m]
    behaviour.cost_share[m] = ((1 - behaviour.discount_share) * rng.uniform(0.90, 0.95, n))[m]  # gross margin 5-10%
    behaviour.min_orders[m] = 2
    inc_rate[m, PRICE_PRESSURE], inc_min[m, PRICE_PRESSURE], sev_hi[m, PRICE_PRESSURE] = 0.8, 1, 2
    inc_rate[m, DEMAND], inc_min[m, DEMAND], sev_hi[m, DEMAND] = 0.5, 1, 2
    inc_rate[m, WITHHELD], sev_hi[m, WITHHELD] = 0.4, 2

    m = at(LATE_PAYER)
    behaviour.days_late_mean[m] = rng.uniform(45, 65, n)[m]
    behaviour.days_late_spread[m], behaviour.days_late_min[m], behaviour.days_late_max[m] = 6, 40, 70
    behaviour.never_paid_chance[m], behaviour.dispute_chance[m] = 0.0, 0.0  # late, but pays every invoice: lateness is its only fault

    m = at(NON_PAYER)
    behaviour.orders_per_month[m] = np.maximum(behaviour.orders_per_month[m], 1.5)
    behaviour.never_paid_chance[m] = rng.uniform(0.35, 0.55, n)[m]
    behaviour.days_late_mean[m] = rng.uniform(35, 60, n)[m]
    behaviour.days_late_spread[m], behaviour.days_late_min[m] = 8, 20
    behaviour.dispute_chance[m] = 0.08
    behaviour.min_orders[m] = 2
    inc_rate[m, BREACH], sev_lo[m, BREACH], sev_hi[m, BREACH] = 0.15, 2, 2
    inc_rate[m, WITHHELD] = 0.2

    m = at(ABUSIVE)
    behaviour.ordinary_tickets[m] *= 1.5
    behaviour.caused_by_us_chance[m] = 0.10
    for kind, rate in ((ABUSE, 0.5), (AVOIDANCE, 0.3)):
        inc_rate[m, kind], inc_min[m, kind], sev_lo[m, kind], sev_hi[m, kind] = rate, 1, 2, 3

    m = at(LATE_ENTERPRISE)
    behaviour.orders_per_month[m] = rng.uniform(10, 16, n)[m]
    behaviour.value_per_line[m] = 250 * rng.uniform(1.5, 3.0, n)[m]
    behaviour.lines_per_order[m] = 16
    behaviour.cost_share[m] = rng.uniform(0.55, 0.62, n)[m]
    behaviour.discount_share[m] = rng.uniform(0.02, 0.05, n)[m]
    behaviour.days_late_mean[m] = rng.uniform(30, 40, n)[m]
    behaviour.days_late_spread[m], behaviour.days_late_min[m], behaviour.days_late_max[m] = 3, 28, 45
    behaviour.never_paid_chance[m] = 0.0
    behaviour.min_orders[m] = 3

    m = at(GROWING)
    behaviour.orders_per_month[m] = 0.25 * rng.uniform(0.8, 1.2, n)[m]
    behaviour.growth_per_quarter[m] = rng.uniform(1.50, 1.65, n)[m]
    behaviour.cost_share[m] = rng.uniform(0.64, 0.70, n)[m]
    behaviour.days_late_mean[m] = rng.uniform(-3, 1, n)[m]
    behaviour.days_late_spread[m], behaviour.days_late_max[m] = 2, 5
    behaviour.never_paid_chance[m], behaviour.dispute_chance[m] = 0.0, 0.005
    behaviour.rush_chance[m] = rng.uniform(0.02, 0.06, n)[m]

    m = at(WE_CAUSED)
    behaviour.orders_per_month[m] = np.maximum(behaviour.orders_per_month[m], 1.5)
    behaviour.caused_by_us_chance[m] = 0.92
    behaviour.our_tickets[m] = rng.uniform(5, 9, n)[m]
    behaviour.dispute_chance[m] = rng.uniform(0.15, 0.25, n)[m]
    behaviour.min_orders[m] = 2
    inc_rate[m] = 0.0

    m = at(ONE_BAD)
    behaviour.ordinary_tickets[m] = np.minimum(behaviour.ordinary_tickets[m], 1.0)
    behaviour.days_late_mean[m & small] = np.clip(rng.normal(0, 2, n), -5, 5)[m & small]
    inc_rate[m] = 0.0

    # The late payer and the one-bad-quarter customer must be plainly profitable outside
    # their planted fault, so that the fault is all the review can find: at least the
    # segment's usual order rate and 1.2 times its usual line value.
    m = at(LATE_PAYER) | at(ONE_BAD)
    behaviour.orders_per_month[m] = np.maximum(behaviour.orders_per_month, by_seg(8.0, 2.5, 1.0))[m]
    behaviour.value_per_line[m] = np.maximum(behaviour.value_per_line, 1.2 * by_seg(250, 150, 90))[m]
    behaviour.return_chance[m] = 0.0  # a large return can make any small account's quarter a loss
    behaviour.never_paid_chance[at(WE_CAUSED)] = 0.0  # its trouble is ours: it pays what it owes

    behaviour.incident_rate, behaviour.incident_min, behaviour.severity_min, behaviour.severity_max = inc_rate, inc_min, sev_lo, sev_hi
    return behaviour


def shaped(behaviour: Behaviour, plan: CustomerPlan, shape: WorldShape, rng: np.random.Generator) -> Behaviour:
    """The behaviour parameters after the world's shape: on-time payment, a whale."""
    if shape.on_time_payment:
        n = plan.seg.size
        behaviour.days_late_min, behaviour.days_late_max = np.full(n, -10.0), np.zeros(n)
        behaviour.days_late_mean = np.minimum(behaviour.days_late_mean, -1.0)
        behaviour.never_paid_chance, behaviour.dispute_chance = np.zeros(n), np.zeros(n)
    if shape.whale_revenue_share > 0:
        # Expected revenue per customer over its active days; the whale's line value is
        # scaled so that it holds the share of the total.
        days = np.maximum(plan.act_end - plan.act_start + 1, 0)
        revenue = behaviour.orders_per_month * behaviour.lines_per_order * behaviour.value_per_line * days / 30.4
        candidates = np.flatnonzero((plan.beh == ORDINARY) & ~plan.left & ~plan.churned & ~plan.single)
        largest = candidates[plan.seg[candidates] == plan.seg[candidates].min()]  # the largest accounts present
        whale = int(rng.choice(largest))
        others = revenue.sum() - revenue[whale]
        share = shape.whale_revenue_share
        behaviour.value_per_line[whale] *= share / (1 - share) * others / revenue[whale]
    return behaviour

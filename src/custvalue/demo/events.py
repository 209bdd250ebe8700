"""The events of a demo world: orders, invoices, support tickets and incidents, drawn from
each customer's behaviour."""

from __future__ import annotations

import numpy as np

from custvalue.contract import INCIDENT_KINDS
from custvalue.demo.behaviour import Behaviour
from custvalue.demo.calendar import Timeline, overlap, quarter_id, spread_events
from custvalue.demo.plan import CustomerPlan
from custvalue.demo.truth import one_bad_quarter
from custvalue.demo.vocabulary import (
    ABUSE,
    CHANNEL_MIX_HOG,
    CHANNEL_MIX_NORMAL,
    CHANNEL_MIX_OURS,
    CHANNEL_MIX_QUIET,
    DUE_DAYS,
    FULL_QUARTER_DAYS,
    GROWING,
    HOG,
    MINUTES_HOG,
    MINUTES_NORMAL,
    NON_PAYER,
    NOTES,
    ONE_BAD,
    SEASON,
    WE_CAUSED,
    WRITE_OFF_AFTER,
)


def draw_orders(plan: CustomerPlan, behaviour: Behaviour, timeline: Timeline, rng: np.random.Generator) -> dict[str, np.ndarray]:
    n = plan.seg.size
    first, last, days = overlap(plan.act_start, plan.act_end, timeline.mstart, timeline.mend)
    mid_month = (timeline.mstart + timeline.mend) / 2
    quarters_in = (mid_month[None, :] - plan.act_start[:, None]) / 91.3
    growth = np.power(behaviour.growth_per_quarter[:, None], np.clip(quarters_in, 0, None))
    lam = behaviour.orders_per_month[:, None] * SEASON[timeline.mcal][None, :] * growth * days / timeline.mlen[None, :]
    counts = rng.poisson(lam)
    # growing_small: steady growth, not Poisson noise (randomised rounding of the rate)
    steady = plan.beh == GROWING
    counts[steady] = np.floor(lam[steady] + rng.random(lam[steady].shape)).astype(counts.dtype)
    # One-time buyers: one order, in their first active month.
    counts[plan.single] = 0
    buyers = np.flatnonzero(plan.single)
    counts[buyers, np.argmax(days[buyers] > 0, axis=1)] = 1

    # Planted customers get a minimum number of orders in every (near) full quarter.
    q_first, q_last, q_days = overlap(plan.act_start, plan.act_end, timeline.qstart, timeline.qend)
    starts = np.searchsorted(timeline.mq, np.arange(timeline.n_q))
    q_counts = np.add.reduceat(counts, starts, axis=1)
    deficit = np.where(q_days >= FULL_QUARTER_DAYS, np.clip(behaviour.min_orders[:, None] - q_counts, 0, None), 0)
    for q in range(timeline.n_q):
        months = np.flatnonzero(timeline.mq == q)
        best = months[np.argmax(days[:, months], axis=1)]
        counts[np.arange(n), best] += deficit[:, q]

    cell, day = spread_events(counts, first, last, rng)
    cust = cell // timeline.mstart.size
    # Few orders at weekends: Saturday -> Friday, Sunday -> Monday (within the active range).
    dow = (day + 3) % 7
    shift = np.where(dow == 5, -1, np.where(dow == 6, 1, 0)) * (rng.random(day.size) < 0.9)
    day = np.clip(day + shift, first.ravel()[cell], last.ravel()[cell])
    order = np.lexsort((rng.random(day.size), cust, day))
    cust, day = cust[order], day[order]
    k = day.size

    rush_lines = behaviour.rush_lines[cust]
    mean_extra = np.maximum(behaviour.lines_per_order[cust] - 1, 0.1)
    lines = np.where(
        rush_lines, 1 + (rng.random(k) < 0.35), 1 + rng.negative_binomial(2, 2 / (2 + mean_extra))
    ).astype(np.int64)
    lines = np.minimum(lines, 250)
    list_cents = np.round(lines * behaviour.value_per_line[cust] * rng.lognormal(0.0, 0.3, k) * 100).astype(np.int64)
    list_cents = np.maximum(list_cents, 800)
    always = behaviour.discount_chance[cust] >= 1  # price pressurers get their discount on every order
    spread = np.where(always, rng.uniform(0.9, 1.1, k), rng.uniform(0.5, 1.5, k))
    disc_frac = np.where(rng.random(k) < behaviour.discount_chance[cust], np.clip(behaviour.discount_share[cust] * spread, 0, 0.6), 0.0)
    discount = np.round(list_cents * disc_frac).astype(np.int64)
    revenue = list_cents - discount
    cogs = np.round(list_cents * behaviour.cost_share[cust] * rng.lognormal(0.0, 0.03, k)).astype(np.int64)
    rush = rng.random(k) < behaviour.rush_chance[cust]
    manual = rng.random(k) < np.clip(behaviour.manual_chance[cust], 0, 0.95)
    returned = np.where(
        rng.random(k) < behaviour.return_chance[cust], np.floor(revenue * rng.uniform(0.05, 1.0, k)), 0
    ).astype(np.int64)
    return dict(
        cust=cust, day=day, revenue=revenue, cogs=cogs, discount=discount, lines=lines,
        rush=rush, manual=manual, returned=returned,
    )  # fmt: skip


def draw_invoices(plan: CustomerPlan, behaviour: Behaviour, order_events: dict, timeline: Timeline, rng: np.random.Generator) -> dict[str, np.ndarray]:
    cust, issue, amount = order_events["cust"], order_events["day"], order_events["revenue"]
    k = cust.size
    due = issue + DUE_DAYS
    disputed = rng.random(k) < behaviour.dispute_chance[cust]
    late = behaviour.days_late_mean[cust] + rng.normal(0, 1, k) * behaviour.days_late_spread[cust]
    late = late + disputed * rng.integers(15, 46, k)
    late = np.rint(np.clip(late, behaviour.days_late_min[cust], behaviour.days_late_max[cust])).astype(np.int64)
    paid = np.maximum(due + late, issue)
    left = plan.left[cust]
    paid = np.where(left, np.minimum(paid, plan.ended[cust]), paid)

    never = rng.random(k) < behaviour.never_paid_chance[cust]
    # A non-payer leaves at least one invoice unpaid in every quarter.
    sel = np.flatnonzero(plan.beh[cust] == NON_PAYER)
    if sel.size:
        q = quarter_id(issue[sel]) - quarter_id(np.array([timeline.start]))[0]
        keys = cust[sel] * timeline.n_q + q
        has = np.zeros(plan.seg.size * timeline.n_q, bool)
        has[keys[never[sel]]] = True
        uniq, first_pos = np.unique(keys, return_index=True)
        never[sel[first_pos[~has[uniq]]]] = True

    partial = np.where(rng.random(k) < 0.25, np.round(amount * rng.uniform(0.1, 0.5, k)), 0).astype(np.int64)
    written = never & ((due + WRITE_OFF_AFTER <= timeline.end) | left)
    settled = ~never & (paid <= timeline.end)
    open_partial = np.where(rng.random(k) < 0.1, np.round(amount * rng.uniform(0.2, 0.7, k)), 0).astype(np.int64)
    paid_amount = np.where(settled, amount, np.where(never, partial, open_partial))
    written_off = np.where(written, amount - paid_amount, 0)
    paid_day = np.where(settled, paid, -1)
    return dict(
        cust=cust, issue=issue, due=due, amount=amount, paid=paid_day, paid_amount=paid_amount,
        disputed=disputed, written_off=written_off,
    )  # fmt: skip


def choose(mix: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Category index per event; ``mix`` is one probability row, or one row per event."""
    cumulative = np.cumsum(mix, axis=-1)
    if cumulative.ndim == 1:
        cumulative = cumulative[None, :]
    return np.minimum((rng.random(size)[:, None] > cumulative).sum(axis=1), mix.shape[-1] - 1)


def minutes_of(channel: np.ndarray, ranges: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    lo, hi = ranges[channel, 0], ranges[channel, 1]
    return lo + (rng.random(channel.size) * (hi - lo + 1)).astype(np.int64)


def draw_tickets(plan: CustomerPlan, behaviour: Behaviour, invoice_events: dict, timeline: Timeline, rng: np.random.Generator) -> dict[str, np.ndarray]:
    n_q = timeline.n_q
    first, last, days = overlap(plan.act_start, plan.act_end, timeline.qstart, timeline.qend)
    frac = days / timeline.qlen[None, :]
    full = days >= FULL_QUARTER_DAYS
    parts = []

    # normal stream: everyday questions, ~15% caused by us
    counts = rng.poisson(behaviour.ordinary_tickets[:, None] * frac)
    cell, day = spread_events(counts, first, last, rng)
    cust = cell // n_q
    mix = CHANNEL_MIX_NORMAL[plan.seg[cust]]
    mix[plan.beh[cust] == ONE_BAD] = CHANNEL_MIX_QUIET  # its ordinary quarters stay quiet
    channel = choose(mix, cust.size, rng)
    minutes = minutes_of(channel, MINUTES_NORMAL, rng)
    caused = rng.random(cust.size) < behaviour.caused_by_us_chance[cust]
    escalated = rng.random(cust.size) < 0.04 + 0.08 * caused
    parts.append((cust, day, minutes, channel, caused, escalated))

    # hog stream: long phone/onsite tickets that are not our fault
    hog_lam = behaviour.hog_tickets[:, None] * frac
    hog_min = np.where(full & (plan.beh == HOG)[:, None], 4, 0)
    onebad = np.flatnonzero(plan.beh == ONE_BAD)
    bad_q = one_bad_quarter(timeline)
    hog_lam[onebad, bad_q] = rng.uniform(10, 14, onebad.size)
    hog_min[onebad, bad_q] = 9
    counts = np.maximum(rng.poisson(hog_lam), hog_min)
    cell, day = spread_events(counts, first, last, rng)
    cust = cell // n_q
    channel = choose(CHANNEL_MIX_HOG, cust.size, rng)
    minutes = minutes_of(channel, MINUTES_HOG, rng)
    caused = rng.random(cust.size) < 0.05
    escalated = rng.random(cust.size) < 0.15
    parts.append((cust, day, minutes, channel, caused, escalated))

    # ours stream: our errors (wrong deliveries, billing mistakes) for we_caused
    counts = np.maximum(rng.poisson(behaviour.our_tickets[:, None] * frac), np.where(full & (behaviour.our_tickets > 0)[:, None], 3, 0))
    cell, day = spread_events(counts, first, last, rng)
    cust = cell // n_q
    channel = choose(CHANNEL_MIX_OURS, cust.size, rng)
    minutes = minutes_of(channel, MINUTES_NORMAL, rng)
    parts.append((cust, day, minutes, channel, np.ones(cust.size, bool), rng.random(cust.size) < 0.2))

    # a ticket for each disputed invoice of a we_caused customer: the invoice was wrong
    sel = np.flatnonzero(invoice_events["disputed"] & (plan.beh[invoice_events["cust"]] == WE_CAUSED))
    cust = invoice_events["cust"][sel]
    day = np.minimum(invoice_events["issue"][sel] + rng.integers(1, 15, sel.size), plan.act_end[cust])
    channel = np.where(rng.random(sel.size) < 0.6, 1, 0)
    minutes = minutes_of(channel, MINUTES_NORMAL, rng)
    parts.append((cust, day, minutes, channel, np.ones(sel.size, bool), rng.random(sel.size) < 0.2))

    # onboarding: a growing account needs help in its second and third quarters, as it
    # takes up more of the range (set-up, training): 3-5 remote tickets a quarter that
    # are nobody's fault
    growing = np.flatnonzero(plan.beh == GROWING)
    if growing.size:
        onboarding_q = np.searchsorted(timeline.qend, plan.act_start[growing])  # the quarter the account opens in
        counts = np.zeros((plan.seg.size, n_q), dtype=np.int64)
        for offset in (1, 2):
            q = np.minimum(onboarding_q + offset, n_q - 1)
            counts[growing, q] = rng.integers(3, 6, growing.size) * full[growing, q]
        cell, day = spread_events(counts, first, last, rng)
        cust = cell // n_q
        channel = choose(CHANNEL_MIX_QUIET, cust.size, rng)
        minutes = minutes_of(channel, MINUTES_NORMAL, rng)
        parts.append((cust, day, minutes, channel, np.zeros(cust.size, bool), np.zeros(cust.size, bool)))

    cust, day, minutes, channel, caused, escalated = (np.concatenate(x) for x in zip(*parts))
    order = np.lexsort((rng.random(day.size), cust, day))
    return dict(
        cust=cust[order], day=day[order], minutes=minutes[order], channel=channel[order],
        caused=caused[order], escalated=escalated[order],
    )  # fmt: skip


def draw_incidents(plan: CustomerPlan, behaviour: Behaviour, timeline: Timeline, rng: np.random.Generator) -> dict[str, np.ndarray]:
    n_q, n_k = timeline.n_q, len(INCIDENT_KINDS)
    first, last, days = overlap(plan.act_start, plan.act_end, timeline.qstart, timeline.qend)
    frac = days / timeline.qlen[None, :]
    full = days >= FULL_QUARTER_DAYS
    lam = behaviour.incident_rate[:, None, :] * frac[:, :, None]
    counts = rng.poisson(lam) + np.where(full[:, :, None], behaviour.incident_min[:, None, :], 0)
    onebad = np.flatnonzero(plan.beh == ONE_BAD)
    counts[onebad, one_bad_quarter(timeline), ABUSE] += 1
    first3 = np.repeat(first[:, :, None], n_k, axis=2)
    last3 = np.repeat(last[:, :, None], n_k, axis=2)
    cell, day = spread_events(counts, first3, last3, rng)
    cust, kind = cell // (n_q * n_k), cell % n_k
    lo, hi = behaviour.severity_min[cust, kind], behaviour.severity_max[cust, kind]
    severity = lo + (rng.random(cell.size) * (hi - lo + 1)).astype(np.int64)
    severity = np.where((plan.beh[cust] == ONE_BAD) & (kind == ABUSE), 3, severity)
    order = np.lexsort((rng.random(day.size), cust, day))
    cust, day, kind, severity = cust[order], day[order], kind[order], severity[order]
    notes = np.empty(cust.size, dtype=object)
    has_note = rng.random(cust.size) < 0.75
    pick = rng.integers(0, 1 << 30, cust.size)
    for k_index, texts in NOTES.items():
        rows = np.flatnonzero((kind == k_index) & has_note)
        notes[rows] = np.array(texts, dtype=object)[pick[rows] % len(texts)]
    return dict(cust=cust, day=day, kind=kind, severity=severity, note=notes)

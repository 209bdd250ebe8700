"""Assembling a demo world: the contract tables from the planted customers and their
events."""

from __future__ import annotations

import numpy as np
import pandas as pd

from custvalue.contract import INCIDENT_KINDS
from custvalue.contract import TICKET_CHANNELS as CHANNELS
from custvalue.demo.behaviour import planted_behaviour, shaped
from custvalue.demo.calendar import timeline_of
from custvalue.demo.events import (
    draw_incidents,
    draw_invoices,
    draw_orders,
    draw_tickets,
)
from custvalue.demo.plan import CustomerPlan, plan_customers
from custvalue.demo.spec import DemoSpec, DemoWorld
from custvalue.demo.truth import ground_truth
from custvalue.demo.vocabulary import (
    ABUSIVE,
    HOG,
    HOSTILE_TEXTS,
    LATE_ENTERPRISE,
    MANAGERS,
    NAME_PREFIX,
    NAME_SUFFIX,
    NAME_SURNAME,
    NAME_TRADE,
    NON_PAYER,
    ODD_NAMES,
    ONE_BAD,
    ORDINARY,
    PRICER,
    REGIONS,
    RUSH,
    SEGMENTS,
    TABLE_NAMES,
    WE_CAUSED,
)


def _ids(prefix: str, count: int, width: int) -> np.ndarray:
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, count + 1)], dtype=object)


def _dates(days: np.ndarray) -> pd.Series:
    values = np.asarray(days, dtype=np.int64)
    stamped = values.astype("datetime64[D]").astype("datetime64[s]")
    return pd.Series(np.where(values < 0, np.datetime64("NaT", "s"), stamped), dtype="datetime64[s]")


def _money(cents: np.ndarray) -> np.ndarray:
    return np.asarray(cents, dtype=np.int64) / 100.0


def _company_names(n: int, rng: np.random.Generator) -> np.ndarray:
    pattern = rng.choice(4, size=n, p=[0.6, 0.27, 0.1, 0.03])
    a, b, t, s = (rng.integers(0, 1 << 30, n) for _ in range(4))
    names = []
    for i in range(n):
        trade, suffix = NAME_TRADE[t[i] % len(NAME_TRADE)], NAME_SUFFIX[s[i] % len(NAME_SUFFIX)]
        if pattern[i] == 0:
            base = f"{NAME_PREFIX[a[i] % len(NAME_PREFIX)]} {trade}"
        elif pattern[i] == 1:
            base = f"{NAME_SURNAME[a[i] % len(NAME_SURNAME)]} {trade}"
        elif pattern[i] == 2:
            first = NAME_SURNAME[a[i] % len(NAME_SURNAME)]
            second = NAME_SURNAME[(a[i] // 7 + 1 + a[i]) % len(NAME_SURNAME)]
            base = f"{first} & {second} {trade}" if first != second else f"{first} {trade}"
        else:
            names.append(ODD_NAMES[a[i] % len(ODD_NAMES)])
            continue
        names.append(f"{base} {suffix}".strip())
    return np.array(names, dtype=object)


def _customer_table(plan: CustomerPlan, ids: np.ndarray, names: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    n = plan.seg.size
    region = np.array(REGIONS, dtype=object)[rng.integers(0, len(REGIONS), n)]
    region[rng.random(n) < 0.08] = None
    manager = np.array(MANAGERS, dtype=object)[rng.integers(0, len(MANAGERS), n)]
    manager[rng.random(n) >= np.array([1.0, 0.9, 0.5])[plan.seg]] = None
    lo = np.array([1000, 50, 1], dtype=float)[plan.seg]
    hi = np.array([60000, 999, 49], dtype=float)[plan.seg]
    employees = np.floor(np.exp(np.log(lo) + rng.random(n) * (np.log(hi + 1) - np.log(lo)))).astype(np.int64)
    employees = pd.array(np.minimum(employees, hi.astype(np.int64)), dtype="Int64")
    employees[rng.random(n) < 0.06] = pd.NA
    order = np.argsort(ids)
    frame = pd.DataFrame(
        {
            "customer_id": ids,
            "name": names,
            "segment": np.array(SEGMENTS, dtype=object)[plan.seg],
            "region": region,
            "account_manager": manager,
            "created_on": _dates(plan.created),
            "employees": employees,
            "ended_on": _dates(plan.ended),
        }
    )
    return frame.iloc[order].reset_index(drop=True)


def _hostile_customers(plan: CustomerPlan, rng: np.random.Generator) -> np.ndarray:
    """Which customers get a hostile name: one of several archetypes, plus a random few."""
    n = plan.seg.size
    chosen = np.zeros(n, bool)
    for code in (HOG, RUSH, ABUSIVE, NON_PAYER, PRICER, ONE_BAD, LATE_ENTERPRISE, WE_CAUSED, ORDINARY):
        pool = np.flatnonzero((plan.beh == code) & ~plan.left)
        if pool.size:
            chosen[rng.choice(pool)] = True
    extra = max(len(HOSTILE_TEXTS), n // 100) - int(chosen.sum())
    if extra > 0:
        chosen[rng.choice(np.flatnonzero(~chosen), size=extra, replace=False)] = True
    return chosen


def generate_world(spec: DemoSpec | None = None) -> DemoWorld:
    """Generate the demo world.

    Parameters
    ----------
    spec : DemoSpec, optional
        What to generate; the default is 2,000 customers over 3 years up to 2026-06-30.

    Returns
    -------
    DemoWorld
        The five contract tables and the ground truth.

    Notes
    -----
    Deterministic: every draw comes from generators spawned from ``spec.seed``, one per
    component, so e.g. ``hostile_names`` changes names and notes only.
    """
    spec = spec or DemoSpec()
    timeline = timeline_of(spec.end, spec.months)
    # The first nine streams are the demo world's; the shape's draws come from a tenth,
    # so the default shape gives exactly the demo world.
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(spec.seed).spawn(10)]
    r_plan, r_param, r_order, r_inv, r_tick, r_inc, r_names, r_attr, r_hostile, r_shape = streams

    plan = plan_customers(spec, timeline, r_plan, r_shape)
    behaviour = shaped(planted_behaviour(plan, r_param), plan, spec.shape, r_shape)
    order_events = draw_orders(plan, behaviour, timeline, r_order)
    invoice_events = draw_invoices(plan, behaviour, order_events, timeline, r_inv)
    ticket_events = draw_tickets(plan, behaviour, invoice_events, timeline, r_tick)
    incident_events = draw_incidents(plan, behaviour, timeline, r_inc)
    n = plan.seg.size

    # Customer numbers follow the order accounts were opened.
    rank = np.empty(n, dtype=np.int64)
    rank[np.lexsort((r_names.random(n), plan.created))] = np.arange(n)
    width = max(5, len(str(n)))
    ids = np.array([f"C{r + 1:0{width}d}" for r in rank], dtype=object)
    names = _company_names(n, r_names)
    hostile = np.zeros(n, bool)
    if spec.hostile_names:
        hostile = _hostile_customers(plan, r_hostile)
        where = np.flatnonzero(hostile)
        names[where] = np.array(HOSTILE_TEXTS, dtype=object)[np.arange(where.size) % len(HOSTILE_TEXTS)]
        notes = incident_events["note"]
        targets = hostile[incident_events["cust"]] | (r_hostile.random(notes.size) < 0.03)
        rows = np.flatnonzero(targets)
        notes[rows] = np.array(HOSTILE_TEXTS, dtype=object)[np.arange(rows.size) % len(HOSTILE_TEXTS)]

    customers = _customer_table(plan, ids, names, r_attr)
    k = order_events["cust"].size
    orders = pd.DataFrame(
        {
            "order_id": _ids("O", k, max(7, len(str(k)))),
            "customer_id": ids[order_events["cust"]],
            "order_date": _dates(order_events["day"]),
            "revenue": _money(order_events["revenue"]),
            "cost_of_goods": _money(order_events["cogs"]),
            "discount": _money(order_events["discount"]),
            "lines": order_events["lines"],
            "rush": order_events["rush"],
            "manual": order_events["manual"],
            "returned_value": _money(order_events["returned"]),
        }
    )
    invoices = pd.DataFrame(
        {
            "invoice_id": _ids("INV", k, max(7, len(str(k)))),
            "customer_id": ids[invoice_events["cust"]],
            "issue_date": _dates(invoice_events["issue"]),
            "due_date": _dates(invoice_events["due"]),
            "amount": _money(invoice_events["amount"]),
            "paid_date": _dates(invoice_events["paid"]),
            "paid_amount": _money(invoice_events["paid_amount"]),
            "disputed": invoice_events["disputed"],
            "written_off": _money(invoice_events["written_off"]),
        }
    )
    t = ticket_events["cust"].size
    tickets = pd.DataFrame(
        {
            "ticket_id": _ids("T", t, max(6, len(str(t)))),
            "customer_id": ids[ticket_events["cust"]],
            "opened_on": _dates(ticket_events["day"]),
            "minutes": ticket_events["minutes"].astype(np.int64),
            "channel": np.array(CHANNELS, dtype=object)[ticket_events["channel"]],
            "caused_by_us": ticket_events["caused"],
            "escalated": ticket_events["escalated"],
        }
    )
    m = incident_events["cust"].size
    incidents = pd.DataFrame(
        {
            "incident_id": _ids("I", m, max(5, len(str(m)))),
            "customer_id": ids[incident_events["cust"]],
            "date": _dates(incident_events["day"]),
            "kind": np.array(INCIDENT_KINDS, dtype=object)[incident_events["kind"]],
            "severity": incident_events["severity"].astype(np.int64),
            "note": incident_events["note"],
        }
    )
    tables = {
        "customers": customers,
        "orders": orders,
        "invoices": invoices,
        "support_tickets": tickets,
        "incidents": incidents,
    }
    tables = {name: frame for name, frame in tables.items() if name in TABLE_NAMES[:3] or name in spec.shape.optional_tables}
    return DemoWorld(tables=tables, truth=ground_truth(plan, ids, hostile, timeline, spec.shape), spec=spec)

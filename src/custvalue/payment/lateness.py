"""Excess lateness and the per-quarter payment verdict.

Each customer-quarter is judged on the invoices *of that quarter* (by due date, or issue
date per ``PaymentSettings.quarter_by``), with what is known at the as-of date. Nothing
is judged on a trailing window, so one bad quarter is one flagged quarter.

For every invoice due by the as-of date:

* its **days late**: observed when paid; when still open after ``c`` days, the model's
  expectation given that it was not paid within ``c`` days (never less than the lateness
  so far, so a customer with only open overdue invoices is late, not missing);
* its **peers' expected days late**: what the ``peers`` Cox model (size, segment, amount,
  dispute; *not* the customer's own history) expects for that invoice.

Per customer-quarter, with ``n`` the invoices judged for lateness::

    excess       = mean(days late) - mean(peers' expected days late)
    excess_shrunk = n / (n + k) * excess          (k = shrinkage_invoices)

The shrinkage is the empirical-Bayes posterior mean of a customer effect with prior mean
0 (behaves like its peers) when ``k`` is the ratio of the within-customer variance of
lateness to the between-customer variance: a few invoices move the estimate only part of
the way. A quarter is **late** when ``excess_shrunk >= late_excess_days`` and the mean
days late ``>= late_min_days``. An enterprise paying 30 days late like every enterprise
has no excess; a small firm paying 45 days late where small peers pay on time does.

Disputed invoices are not judged for lateness by default (the delay is the dispute, and
the dispute may be our error); invoices with write-offs are judged as **non-payment**,
the stronger signal, together with undisputed balances still open more than
``nonpayment_overdue_days`` past due.

References
----------
.. [1] Efron, B., & Morris, C. (1975). Data analysis using Stein's estimator and its
   generalizations. *JASA*, 70(350), 311-319. (Shrinkage towards a prior mean.)
.. [2] Cox, D. R. (1972). Regression models and life-tables. *JRSS B*, 34(2), 187-220.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import ibis
import numpy as np
import pandas as pd
from ibis import _

from custvalue.config import PaymentSettings
from custvalue.engine import Engine, fetch
from custvalue.frames import POSITION, cached, customer_quarters
from custvalue.payment.ledger import has_table, quarter_label
from custvalue.payment.repairs import evidence_texts, repair_texts
from custvalue.payment.survival import ETA_STEP, CoxFit, conditional_days_table, expected_days_table
from custvalue.quarters import Quarter

BY_QUARTER_COLUMNS = [
    "customer_id",
    "quarter",
    "segment",
    "employees",
    "invoices",
    "invoiced",
    "judged_invoices",
    "open_invoices",
    "days_late",
    "days_late_so_far",
    "peer_days_late",
    "excess_days",
    "shrinkage",
    "excess_days_shrunk",
    "disputes",
    "our_tickets",
    "written_off",
    "written_off_invoices",
    "overdue_unpaid",
    "overdue_unpaid_invoices",
    "late_flag",
    "nonpayment_flag",
    "evidence",
    "repair",
    "our_fix",
]


def predicted_invoices(ledger: ibis.Table, fits: dict[str, CoxFit], as_of: date) -> ibis.Table:
    """Invoices due by ``as_of`` with ``days_late_est`` (observed, or expected given still
    open) and ``peer_days_late`` (the peers model's expectation), as an Ibis expression.

    The expectations come from lookup tables over (stratum, linear predictor in steps of
    :data:`~custvalue.payment.survival.ETA_STEP`, days open), joined in the engine.
    """
    due = ledger.filter(ledger.due_date <= ibis.literal(pd.Timestamp(as_of).date()))
    model, peers = fits["model"], fits["peers"]
    due = due.mutate(eta_model=model.linear_predictor_expr(due), eta_peers=peers.linear_predictor_expr(due))
    bounds = due.aggregate(
        m_lo=_.eta_model.min(), m_hi=_.eta_model.max(), p_lo=_.eta_peers.min(), p_hi=_.eta_peers.max()
    ).execute().iloc[0].fillna(0.0)
    conditional, low_model = conditional_days_table(model, float(bounds["m_lo"]), float(bounds["m_hi"]))
    unconditional, low_peers = expected_days_table(peers, float(bounds["p_lo"]), float(bounds["p_hi"]))
    horizon = model.horizon_days

    def to_bin(eta: ibis.Value, low: float) -> ibis.Value:
        return ((eta - low) / ETA_STEP).round().cast("int64")

    due = due.mutate(
        m_bin=to_bin(_.eta_model, low_model),
        p_bin_key=to_bin(_.eta_peers, low_peers),
        after=ibis.ifelse(_.paid | (_.duration_days >= horizon) | (_.duration_days < 1), -1, _.duration_days),
    )
    # Only the (stratum, bin, days open) of invoices still open are looked up: the whole
    # grid has strata x bins x horizon rows (close to a million), too many to send to a
    # database server for a few thousand open invoices.
    needed = fetch(
        due.filter(_.after >= 1)
        .select(stratum=_[model.stratum_column].cast("string"), eta_bin=_.m_bin, after_days=_.after.cast("int64"))
        .distinct()
    )
    conditional = conditional.merge(needed.astype({"stratum": str}), on=["stratum", "eta_bin", "after_days"])
    cond = ibis.memtable(
        conditional.rename(columns={"stratum": "c_segment", "eta_bin": "c_bin", "expected_days": "c_expected"}),
        schema={"c_segment": "string", "c_bin": "int64", "after_days": "int64", "c_expected": "float64"},
    )
    peer = ibis.memtable(
        unconditional.rename(columns={"stratum": "p_segment", "eta_bin": "p_bin", "expected_days": "p_expected"}),
        schema={"p_segment": "string", "p_bin": "int64", "p_expected": "float64"},
    )
    due = due.left_join(
        cond, [due[model.stratum_column] == cond.c_segment, due.m_bin == cond.c_bin, due.after == cond.after_days]
    )
    due = due.left_join(peer, [due[peers.stratum_column] == peer.p_segment, due.p_bin_key == peer.p_bin])
    expected_days = ibis.cases(
        (due.paid, due.duration_days.cast("float64")),
        (due.c_expected.notnull(), ibis.greatest(due.c_expected, due.duration_days.cast("float64"))),
        else_=due.duration_days.cast("float64"),
    )
    return due.mutate(
        days_late_est=expected_days - due.terms_days,
        peer_days_late=due.p_expected - due.terms_days,
    )


def _quarter_measures(invoices: ibis.Table, settings: PaymentSettings) -> dict[str, ibis.Value]:
    judged = invoices.written_off <= 0
    if not settings.judge_disputed:
        judged = judged & ~invoices.disputed
    overdue = (~invoices.paid) & (~invoices.disputed) & (invoices.days_past_due > settings.nonpayment_overdue_days) & (invoices.balance > 0)

    def sum_if(condition: ibis.Value, value: ibis.Value | float = 1) -> ibis.Value:
        return ibis.ifelse(condition, value, 0).sum()

    def mean_if(condition: ibis.Value, value: ibis.Value) -> ibis.Value:
        return ibis.ifelse(condition, value, ibis.null("float64")).mean()

    return {
        "judged_invoices": sum_if(judged),
        "open_invoices": sum_if(judged & ~invoices.paid),
        "days_late": mean_if(judged, invoices.days_late_est),
        "days_late_so_far": mean_if(judged, invoices.days_late.cast("float64")),
        "peer_days_late": mean_if(judged, invoices.peer_days_late),
        "overdue_unpaid": sum_if(overdue, invoices.balance),
        "overdue_unpaid_invoices": sum_if(overdue),
    }


def _all_measures(ledger: ibis.Table) -> dict[str, ibis.Value]:
    return {
        "invoices": ledger.count(),
        "invoiced": ledger.amount.sum(),
        "disputes": ibis.ifelse(ledger.disputed, 1, 0).sum(),
        "written_off": ledger.written_off.sum(),
        "written_off_invoices": ibis.ifelse(ledger.written_off > 0, 1, 0).sum(),
    }


def payment_by_quarter(
    engine: Engine,
    ledger: ibis.Table,
    fits: dict[str, CoxFit],
    as_of: date,
    quarters: Sequence[Quarter],
    settings: PaymentSettings,
    predicted: ibis.Table | None = None,
) -> pd.DataFrame:
    """The payment verdict per customer and quarter (see the module docstring).

    Parameters
    ----------
    engine : Engine
        Holds ``customers`` (and ``support_tickets``, optional).
    ledger : ibis.Table
        Invoice ledger at ``as_of`` with covariates.
    fits : dict
        ``{"model": CoxFit, "peers": CoxFit}``.
    as_of : date
        What is known: the review's as-of date.
    quarters : sequence of Quarter
        The quarters to judge.
    settings : PaymentSettings
        Thresholds.
    predicted : ibis.Table, optional
        :func:`predicted_invoices` of the ledger restricted to ``quarters``, when
        already computed.

    Returns
    -------
    DataFrame
        One row per customer and quarter in which the account existed, columns
        :data:`BY_QUARTER_COLUMNS`.
    """
    quarters = sorted(set(quarters))
    labels = [str(q) for q in quarters]
    in_quarters = ledger.filter(ledger.quarter.isin(labels))
    if predicted is None:
        predicted = predicted_invoices(in_quarters, fits, as_of)
    key = ["customer_id", "quarter"]
    judged = predicted.group_by(key).aggregate(**_quarter_measures(predicted, settings))
    everything = in_quarters.group_by(key).aggregate(**_all_measures(in_quarters))
    grid = customer_quarters(engine, quarters[0], quarters[-1]).filter(_.quarter.isin(labels)).select(*key)
    with cached(grid.mutate(**{POSITION: ibis.row_number().over(order_by=key)})) as grid:
        table = _verdict_inputs(engine, grid, everything, judged, labels)
        # In key order by the grid's position: the engine need not sort the wide result.
        frame = fetch(table, in_order_of=POSITION)
    return finish_verdict(frame, settings, as_of)


def _verdict_inputs(engine: Engine, grid: ibis.Table, everything: ibis.Table, judged: ibis.Table, labels: list[str]) -> ibis.Table:
    key = ["customer_id", "quarter"]
    customers = engine.table("customers").select("customer_id", "segment", employees=_.employees.cast("int64"))
    table = grid.left_join(customers, "customer_id").drop("customer_id_right")
    table = table.left_join(everything, key).drop("customer_id_right", "quarter_right")
    table = table.left_join(judged, key).drop("customer_id_right", "quarter_right")
    if has_table(engine, "support_tickets"):
        tickets = engine.table("support_tickets")
        ours = (
            tickets.filter(tickets.caused_by_us)
            .mutate(quarter=quarter_label(tickets.opened_on))
            .filter(_.quarter.isin(labels))
            .group_by(key)
            .aggregate(our_tickets=_.count())
        )
        table = table.left_join(ours, key).drop("customer_id_right", "quarter_right")
    else:
        table = table.mutate(our_tickets=ibis.literal(0))
    return table


def finish_verdict(frame: pd.DataFrame, settings: PaymentSettings, as_of: date) -> pd.DataFrame:
    """Shrinkage, flags, evidence and repairs on the aggregated customer-quarter table
    (rows keep their order)."""
    frame = frame.copy(deep=False)
    counts = ["invoices", "judged_invoices", "open_invoices", "disputes", "written_off_invoices", "overdue_unpaid_invoices", "our_tickets"]
    for column in counts:
        frame[column] = frame[column].fillna(0).astype(np.int64)
    for column in ["invoiced", "written_off", "overdue_unpaid"]:
        frame[column] = frame[column].fillna(0.0).astype(float)
    for column in ["days_late", "days_late_so_far", "peer_days_late"]:
        frame[column] = frame[column].astype(float)
    frame["employees"] = frame["employees"].astype("Int64")
    n = frame["judged_invoices"].astype(float)
    frame["excess_days"] = frame["days_late"] - frame["peer_days_late"]
    frame["shrinkage"] = np.where(n > 0, n / (n + settings.shrinkage_invoices), 0.0) if settings.shrinkage_invoices > 0 else (n > 0).astype(float)
    frame["excess_days_shrunk"] = frame["shrinkage"] * frame["excess_days"]
    frame["late_flag"] = (
        (frame["excess_days_shrunk"] >= settings.late_excess_days) & (frame["days_late"] >= settings.late_min_days)
    ).fillna(False).astype(bool)
    frame["nonpayment_flag"] = (
        (frame["written_off"] > settings.nonpayment_min_amount) | (frame["overdue_unpaid"] > settings.nonpayment_min_amount)
    ).astype(bool)
    frame["customer_id"] = frame["customer_id"].astype("str")
    frame["quarter"] = frame["quarter"].astype("str")
    frame["segment"] = frame["segment"].astype("str")
    small = small_company(frame, settings)
    texts = evidence_texts(frame, settings, pd.Timestamp(as_of).date())
    frame["evidence"] = texts["evidence"]
    frame["our_fix"] = texts["our_fix"]
    frame["repair"] = repair_texts(frame["late_flag"], frame["nonpayment_flag"], small)
    frame = frame.astype({"evidence": "str", "our_fix": "str", "repair": "str"})
    return frame[BY_QUARTER_COLUMNS].reset_index(drop=True)


def small_company(frame: pd.DataFrame, settings: PaymentSettings) -> pd.Series:
    """Whether each row is a small company: fewer employees than ``small_company_employees``;
    without a head count, the segment's median head count decides."""
    employees = frame["employees"].astype("Float64")
    typical = employees.groupby(frame["segment"]).transform("median")
    size = employees.fillna(typical)
    return (size < settings.small_company_employees).fillna(False).astype(bool)


def lateness_by_customer(predicted: ibis.Table, settings: PaymentSettings) -> pd.DataFrame:
    """Days late, peers' expectation and shrunk excess per customer over all judged
    quarters together (for ranking on the report page; the review uses the quarters)."""
    measures = _quarter_measures(predicted, settings)
    frame = fetch(
        predicted.group_by("customer_id").aggregate(
            judged_invoices=measures["judged_invoices"],
            open_invoices=measures["open_invoices"],
            days_late=measures["days_late"],
            peer_days_late=measures["peer_days_late"],
        )
    )
    n = frame["judged_invoices"].fillna(0).astype(float)
    frame["excess_days"] = frame["days_late"] - frame["peer_days_late"]
    frame["excess_days_shrunk"] = n / (n + settings.shrinkage_invoices) * frame["excess_days"] if settings.shrinkage_invoices > 0 else frame["excess_days"]
    frame["customer_id"] = frame["customer_id"].astype("str")
    return frame

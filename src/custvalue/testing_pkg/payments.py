"""A seeded synthetic ledger with known effects, for tests and benchmarks.

Days to payment are drawn from a Weibull proportional-hazards model,

``h(t | x) = h0_segment(t) * exp(b_dispute * disputed + b_size * log(employees + 1))``,

``h0_segment(t) = k t^(k-1) / scale_segment^k``, so the true log hazard ratios of the
dispute flag and of company size are known and a Cox fit should recover them. Payment
dates after the end of the data stay in the table: the ledger censors them at the
as-of date, as it would any payment not yet made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

SEGMENTS = ("enterprise", "mid-market", "small-business")


@dataclass(frozen=True)
class LedgerSpec:
    """What to simulate.

    Parameters
    ----------
    n_customers : int
        Number of customers.
    invoices_per_customer : float
        Mean invoices per customer over the period (Poisson).
    seed : int
        Seed of every draw.
    start, end : date
        Issue dates are uniform in ``[start, end]``.
    log_hr_dispute, log_hr_size : float
        True log hazard ratios of ``disputed`` and of ``log(employees + 1)``.
    weibull_shape : float
        Shape ``k`` of the baseline (above 1: payment becomes likelier as time passes).
    scale_days : tuple of float
        Baseline Weibull scale per segment (enterprise, mid-market, small-business).
    dispute_rate : float
        Share of invoices disputed.
    missing_employees : float
        Share of customers without a head count.
    write_off_rate : float
        Share of invoices never paid and written off (only those issued 120+ days
        before ``end``).
    terms_days : int
        Payment terms.
    """

    n_customers: int = 2_000
    invoices_per_customer: float = 12.0
    seed: int = 0
    start: date = date(2024, 7, 1)
    end: date = date(2026, 6, 30)
    log_hr_dispute: float = -0.8
    log_hr_size: float = -0.15
    weibull_shape: float = 3.0
    scale_days: tuple[float, float, float] = (75.0, 45.0, 40.0)
    dispute_rate: float = 0.1
    missing_employees: float = 0.05
    write_off_rate: float = 0.0
    terms_days: int = 30


def simulate_ledger(spec: LedgerSpec | None = None) -> dict[str, pd.DataFrame]:
    """Simulate ``customers`` and ``invoices`` tables (contract columns) from ``spec``."""
    spec = spec or LedgerSpec()
    rng = np.random.default_rng(spec.seed)
    n = spec.n_customers
    segment = rng.choice(3, size=n, p=[0.1, 0.3, 0.6])
    low = np.array([1000.0, 50.0, 1.0])[segment]
    high = np.array([50000.0, 999.0, 49.0])[segment]
    employees = np.floor(np.exp(np.log(low) + rng.random(n) * (np.log(high) - np.log(low)))).astype(np.int64)
    missing = rng.random(n) < spec.missing_employees
    width = max(6, len(str(n)))
    ids = np.array([f"S{i:0{width}d}" for i in range(1, n + 1)], dtype=object)
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "name": [f"Sim {i}" for i in range(1, n + 1)],
            "segment": np.array(SEGMENTS, dtype=object)[segment],
            "created_on": pd.Timestamp(spec.start) - pd.Timedelta(days=365),
            "employees": pd.array(np.where(missing, 0, employees), dtype="Int64"),
            "ended_on": pd.NaT,
        }
    )
    customers.loc[missing, "employees"] = pd.NA

    counts = rng.poisson(spec.invoices_per_customer, n)
    cust = np.repeat(np.arange(n), counts)
    k = cust.size
    first, last = pd.Timestamp(spec.start), pd.Timestamp(spec.end)
    span = (last - first).days + 1
    issue_day = (rng.random(k) * span).astype(np.int64)
    disputed = rng.random(k) < spec.dispute_rate
    eta = spec.log_hr_dispute * disputed + spec.log_hr_size * (np.log(employees[cust] + 1.0) - np.log(100.0))
    # Weibull PH: S(t) = exp(-(t / scale)^k * exp(eta))  =>  t = scale * (E * exp(-eta))^(1/k)
    scale = np.array(spec.scale_days)[segment[cust]]
    draw = rng.exponential(1.0, k)
    days = np.ceil(scale * (draw * np.exp(-eta)) ** (1.0 / spec.weibull_shape)).astype(np.int64)
    amount = np.round(np.exp(rng.normal(np.array([8.0, 7.0, 6.0])[segment[cust]], 0.8)), 2)
    issue = first + pd.to_timedelta(issue_day, unit="D")
    paid = issue + pd.to_timedelta(days, unit="D")
    old_enough = issue_day <= span - 120
    written = (rng.random(k) < spec.write_off_rate) & old_enough
    order = np.lexsort((cust, issue_day))
    width = max(8, len(str(k)))
    invoices = pd.DataFrame(
        {
            "invoice_id": np.array([f"I{i:0{width}d}" for i in range(1, k + 1)], dtype=object),
            "customer_id": ids[cust[order]],
            "issue_date": issue[order].astype("datetime64[us]"),
            "due_date": (issue + pd.Timedelta(days=spec.terms_days))[order].astype("datetime64[us]"),
            "amount": amount[order],
            "paid_date": pd.Series(paid[order]).where(~written[order]).astype("datetime64[us]").to_numpy(),
            "paid_amount": np.where(written, 0.0, amount)[order],
            "disputed": disputed[order],
            "written_off": np.where(written, amount, 0.0)[order],
        }
    )
    # A payment after the data ends has not happened yet: empty date, nothing paid.
    future = invoices["paid_date"] > last
    invoices.loc[future, "paid_amount"] = 0.0
    invoices.loc[future, "paid_date"] = pd.NaT
    return {"customers": customers, "invoices": invoices}

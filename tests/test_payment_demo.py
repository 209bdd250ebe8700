"""Payment behaviour on the demo world: planted late and non-payers are flagged in their
bad quarters; enterprises paying late like every enterprise, and customers whose disputes
we caused, are not."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from custvalue.config import PaymentSettings
from custvalue.demo import DemoSpec, generate_world
from custvalue.payment import analyse_payments, as_engine, fit_payment_models
from custvalue.payment.lateness import predicted_invoices
from custvalue.payment.ledger import invoice_ledger, materialise
from custvalue.payment.survival import with_covariates

SPEC = DemoSpec(n_customers=1200, seed=11, end=date(2026, 6, 30))


@pytest.fixture(scope="session")
def demo_world():
    return generate_world(SPEC)


@pytest.fixture(scope="session")
def demo_payments(demo_world):
    result = analyse_payments(demo_world.tables)  # the four quarters up to 2026Q2, as of 30 June
    rows = result.by_quarter.merge(demo_world.truth[["customer_id", "archetype", "bad_quarters"]], on="customer_id")
    rows["bad"] = [quarter in str(bad).split(";") for quarter, bad in zip(rows["quarter"], rows["bad_quarters"])]
    rows["flagged"] = rows["late_flag"] | rows["nonpayment_flag"]
    return result, rows


def flag_rates(rows: pd.DataFrame) -> pd.DataFrame:
    """Share of customer-quarters flagged, per archetype (all quarters, and bad quarters)."""
    return rows.groupby("archetype").agg(
        quarters=("flagged", "size"),
        flagged=("flagged", "mean"),
        late=("late_flag", "mean"),
        nonpayment=("nonpayment_flag", "mean"),
    )


def test_judges_the_review_window(demo_payments):
    result, rows = demo_payments
    assert result.quarters == ("2025Q3", "2025Q4", "2026Q1", "2026Q2") and result.as_of == date(2026, 6, 30)
    assert not rows.duplicated(["customer_id", "quarter"]).any()


def test_late_payers_small_are_flagged_in_their_bad_quarters(demo_payments):
    _, rows = demo_payments
    late = rows[(rows["archetype"] == "late_payer_small") & rows["bad"]]
    assert late["flagged"].mean() >= 0.8, flag_rates(rows)
    # Every miss is a quarter with fewer than two invoices to judge (one invoice is no pattern).
    assert late.loc[late["judged_invoices"] >= 2, "late_flag"].all()
    assert (late.groupby("customer_id")["late_flag"].sum() >= 2).all()
    flagged = late[late["late_flag"]]
    assert flagged["evidence"].str.contains("where small-business peers of its size pay").all()
    assert flagged["repair"].str.contains("invoice more often").all()


def test_non_payers_are_flagged_in_their_bad_quarters(demo_payments):
    _, rows = demo_payments
    bad = rows[(rows["archetype"] == "non_payer") & rows["bad"]]
    assert bad["flagged"].mean() >= 0.9, flag_rates(rows)
    assert bad["nonpayment_flag"].mean() >= 0.5  # write-offs only appear 120 days after the due date
    written = bad[bad["written_off"] > 0]
    assert written["evidence"].str.contains("wrote off").all() and written["repair"].str.contains("prepayment").all()


def test_enterprises_paying_late_like_all_enterprises_are_not_flagged(demo_payments):
    _, rows = demo_payments
    enterprise = rows[rows["archetype"] == "profitable_late_enterprise"]
    assert len(enterprise) > 0 and not enterprise["flagged"].any()
    assert (enterprise["days_late"].dropna() >= 25).all()  # they do pay about a month late...
    assert (enterprise["excess_days_shrunk"].dropna() < 15).all()  # ...like their peers


def test_disputes_we_caused_are_not_held_against_the_customer(demo_payments):
    _, rows = demo_payments
    ours = rows[rows["archetype"] == "we_caused"]
    assert not ours["late_flag"].any()
    disputed = ours[ours["disputes"] > 0]
    assert (disputed["our_fix"] != "").mean() >= 0.9  # our invoicing is named as the thing to fix
    ordinary = rows[rows["archetype"] == "ordinary"]
    assert (ordinary["our_fix"] != "").mean() < 0.01


def test_ordinary_customers_are_rarely_flagged(demo_payments):
    _, rows = demo_payments
    ordinary = rows[rows["archetype"] == "ordinary"]
    assert ordinary["late_flag"].mean() < 0.01
    assert ordinary["flagged"].mean() < 0.03  # the rest are real, small write-offs


def test_metrics_are_plausible(demo_payments):
    result, _ = demo_payments
    segments = result.segments.set_index("segment")
    assert segments.loc["enterprise", "dso"] > segments.loc["small-business", "dso"]
    assert segments.loc["enterprise", "cei"] < segments.loc["small-business", "cei"]
    assert ((result.customers["cei"].dropna() >= 0) & (result.customers["cei"].dropna() <= 100)).all()
    curves = result.survival.groupby("segment")["unpaid_share"].min()
    assert (curves < 0.1).all()


def test_censored_lateness_is_closer_to_what_happened_than_the_lateness_so_far(demo_world):
    """Back-test: judge as of 31 March, then look at what those open invoices did by 30 June."""
    settings = PaymentSettings()
    engine = as_engine(demo_world.tables)
    earlier, later = date(2026, 3, 31), date(2026, 6, 30)
    ledger = materialise(engine, with_covariates(invoice_ledger(engine, earlier)), "ledger_march")
    fits = fit_payment_models(ledger, settings)
    open_then = ledger.filter(~ledger.paid & (ledger.written_off <= 0))
    predicted = predicted_invoices(open_then, fits, earlier).execute().set_index("invoice_id")
    outcome = invoice_ledger(engine, later).execute().set_index("invoice_id").loc[predicted.index]
    paid = outcome["paid"].to_numpy()
    truth = outcome["days_late"].to_numpy()[paid]
    estimate = predicted["days_late_est"].to_numpy()[paid]
    so_far = predicted["days_late"].to_numpy()[paid]
    assert paid.sum() > 300
    assert np.mean(np.abs(estimate - truth)) < 0.6 * np.mean(np.abs(so_far - truth))
    assert abs(np.mean(estimate - truth)) < 5  # nearly unbiased; the lateness so far is not

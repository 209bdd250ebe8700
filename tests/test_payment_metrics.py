"""Collections metrics and the invoice ledger against the hand-worked example of
docs/payment-behaviour.md, plus invariants (hypothesis)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custvalue.config import PaymentSettings
from custvalue.payment import aging_labels, as_engine, cei, collections_metrics, countback_dso, dso, ledger_frame
from custvalue.payment.ledger import invoice_ledger, materialise

AS_OF = date(2026, 6, 30)
SETTINGS = PaymentSettings()


def _invoice(invoice_id, issue, amount, paid=None, paid_amount=None, written_off=0.0, disputed=False, customer="A"):
    issue = pd.Timestamp(issue)
    return {
        "invoice_id": invoice_id,
        "customer_id": customer,
        "issue_date": issue,
        "due_date": issue + pd.Timedelta(days=30),
        "amount": float(amount),
        "paid_date": pd.Timestamp(paid) if paid else pd.NaT,
        "paid_amount": float(amount if paid and paid_amount is None else (paid_amount or 0.0)),
        "disputed": disputed,
        "written_off": float(written_off),
    }


def hand_worked_tables() -> dict[str, pd.DataFrame]:
    """The ledger of docs/payment-behaviour.md ("A small ledger, worked by hand")."""
    invoices = pd.DataFrame(
        [
            _invoice("I1", "2026-02-15", 1000, paid="2026-04-20"),
            _invoice("I2", "2026-03-20", 2000, paid_amount=500),
            _invoice("I3", "2026-04-10", 3000, paid="2026-05-05"),
            _invoice("I4", "2026-05-20", 4000),
            _invoice("I5", "2026-06-15", 5000),
            _invoice("I6", "2026-01-10", 600, written_off=600),
            _invoice("I7", "2025-12-01", 700, paid="2026-03-15"),
        ]
    )
    customers = pd.DataFrame(
        {
            "customer_id": ["A", "B"],
            "name": ["Alpha", "Beta"],
            "segment": ["small-business", "small-business"],
            "created_on": pd.to_datetime(["2020-01-01", "2020-01-01"]),
            "employees": pd.array([10, pd.NA], dtype="Int64"),
        }
    )
    return {"invoices": invoices, "customers": customers}


@pytest.fixture(scope="module")
def hand_engine():
    return as_engine(hand_worked_tables())


def test_ledger_days_to_pay_and_censoring(hand_engine):
    ledger = ledger_frame(hand_engine, AS_OF).set_index("invoice_id")
    expected = {  # paid, duration (days from issue), days late (so far when open), balance
        "I1": (True, 64, 34, 0.0),
        "I2": (False, 102, 72, 1500.0),
        "I3": (True, 25, -5, 0.0),
        "I4": (False, 41, 11, 4000.0),
        "I5": (False, 15, -15, 5000.0),
        "I6": (False, 171, 141, 0.0),
        "I7": (True, 104, 74, 0.0),
    }
    for invoice, (paid, duration, late, balance) in expected.items():
        row = ledger.loc[invoice]
        assert (bool(row["paid"]), int(row["duration_days"]), int(row["days_late"]), float(row["balance"])) == (paid, duration, late, balance), invoice
    # History: only invoices settled before issue count (I7 for I3; I7, I1 and I3 for I4).
    assert ledger.loc["I3", "history_n"] == 1 and ledger.loc["I3", "history_late"] == pytest.approx(74.0)
    assert ledger.loc["I4", "history_n"] == 3 and ledger.loc["I4", "history_late"] == pytest.approx((74 + 34 - 5) / 3)
    assert ledger.loc["I7", "history_n"] == 0 and pd.isna(ledger.loc["I7", "history_late"])


def test_payment_after_as_of_is_not_known(hand_engine):
    ledger = ledger_frame(hand_engine, date(2026, 4, 15)).set_index("invoice_id")
    assert not ledger.loc["I1", "paid"]  # paid on 20 April: still open on 15 April
    assert ledger.loc["I1", "duration_days"] == (date(2026, 4, 15) - date(2026, 2, 15)).days
    assert "I4" not in ledger.index  # issued after the as-of date


def test_hand_worked_metrics(hand_engine):
    ledger = invoice_ledger(hand_engine, AS_OF)
    row = collections_metrics(ledger, AS_OF, SETTINGS, "customer_id").set_index("customer_id").loc["A"]
    assert row["ar"] == pytest.approx(10_500)
    assert row["ar_current"] == pytest.approx(5_000)
    assert row["sales_dso"] == pytest.approx(12_000)
    assert row["dso"] == pytest.approx(78.75)
    assert row["best_dso"] == pytest.approx(37.5)
    assert row["add_dso"] == pytest.approx(41.25)
    assert row["add"] == pytest.approx(152_000 / 10_500)
    assert row["ar_cei_start"] == pytest.approx(3_000)
    assert row["cei"] == pytest.approx(45.0)
    assert row["dso_countback"] == pytest.approx(76.0)
    assert row["written_off"] == pytest.approx(600)
    aging = row[aging_labels(SETTINGS.aging_buckets_days)].to_dict()
    assert aging == pytest.approx({"aging_current": 5000, "aging_1_30": 4000, "aging_31_60": 0, "aging_61_90": 1500, "aging_over_90": 0})


def test_reference_formulas_match_the_hand_worked_numbers():
    assert dso(10_500, 12_000, 90) == pytest.approx(78.75)
    assert cei(3_000, 12_000, 10_500, 5_000) == pytest.approx(45.0)
    assert countback_dso(10_500, [5_000, 4_000, 3_000, 2_000], [30, 31, 30, 31]) == pytest.approx(76.0)
    assert np.isnan(dso(100, 0, 90)) and np.isnan(cei(0, 0, 0, 0))


def test_company_and_segment_rows_and_customer_without_invoices(hand_engine):
    ledger = invoice_ledger(hand_engine, AS_OF)
    company = collections_metrics(ledger, AS_OF, SETTINGS, None)
    segment = collections_metrics(ledger, AS_OF, SETTINGS, "segment")
    assert company["scope"].tolist() == ["company"] and company["cei"].iloc[0] == pytest.approx(45.0)
    assert segment["segment"].tolist() == ["small-business"] and segment["dso"].iloc[0] == pytest.approx(78.75)


def test_period_n_is_explicit(hand_engine):
    """CEI over 30 days: start receivables on 31 May (I2 2000, I4 4000), sales in June 5000."""
    ledger = invoice_ledger(hand_engine, AS_OF)
    row = collections_metrics(ledger, AS_OF, PaymentSettings(cei_period_days=30, dso_period_days=30), None).iloc[0]
    assert row["ar_cei_start"] == pytest.approx(6_000)
    assert row["sales_cei"] == pytest.approx(5_000)
    assert row["cei"] == pytest.approx(100 * (6_000 + 5_000 - 10_500) / (6_000 + 5_000 - 5_000))
    assert row["dso"] == pytest.approx(10_500 / 5_000 * 30)


# --------------------------------------------------------------------------- invariants

_DAY0 = date(2025, 7, 1)


@st.composite
def ledgers(draw):
    n = draw(st.integers(1, 25))
    rows = []
    for i in range(n):
        issue = _DAY0 + timedelta(days=draw(st.integers(0, 360)))
        terms = draw(st.sampled_from([0, 14, 30, 60]))
        amount = draw(st.floats(1, 10_000, allow_nan=False).map(lambda x: round(x, 2)))
        state = draw(st.sampled_from(["paid", "open", "part", "written", "part_written"]))
        paid = paid_amount = None
        written = 0.0
        if state == "paid":
            paid = issue + timedelta(days=draw(st.integers(0, 200)))
            paid_amount = amount
        elif state == "part":
            paid_amount = round(amount * draw(st.floats(0, 1)), 2)
        elif state == "written":
            written = amount
        elif state == "part_written":
            paid_amount = round(amount * draw(st.floats(0, 0.9)), 2)
            written = round(amount - paid_amount, 2)
        rows.append(
            {
                "invoice_id": f"X{i}",
                "customer_id": draw(st.sampled_from(["A", "B", "C"])),
                "issue_date": pd.Timestamp(issue),
                "due_date": pd.Timestamp(issue + timedelta(days=terms)),
                "amount": amount,
                "paid_date": pd.Timestamp(paid) if paid else pd.NaT,
                "paid_amount": float(paid_amount or 0.0),
                "disputed": draw(st.booleans()),
                "written_off": float(written),
            }
        )
    customers = pd.DataFrame(
        {"customer_id": ["A", "B", "C"], "name": ["a", "b", "c"], "segment": ["s", "s", "t"], "created_on": pd.Timestamp("2020-01-01")}
    )
    as_of = _DAY0 + timedelta(days=draw(st.integers(30, 420)))
    return {"invoices": pd.DataFrame(rows), "customers": customers}, as_of


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ledgers())
def test_invariants(case):
    tables, as_of = case
    engine = as_engine(tables)
    ledger = materialise(engine, invoice_ledger(engine, as_of), "ledger_under_test")
    metrics = collections_metrics(ledger, as_of, SETTINGS, "customer_id")
    buckets = metrics[aging_labels(SETTINGS.aging_buckets_days)].sum(axis=1)
    np.testing.assert_allclose(buckets, metrics["ar"], atol=0.01)  # aging sums to the open balance
    cei_values = metrics["cei"].dropna()
    assert ((cei_values >= -1e-9) & (cei_values <= 100 + 1e-9)).all()  # CEI in [0, 100]
    both = metrics.dropna(subset=["dso", "best_dso"])
    assert (both["dso"] + 1e-9 >= both["best_dso"]).all() and (both["best_dso"] >= -1e-9).all()
    assert (metrics["add"].dropna() >= 0).all()
    frame = ledger.execute()
    assert (frame["balance"] >= 0).all() and (frame["balance"] <= frame["amount"] + 1e-9).all()
    assert (frame["duration_days"] >= 0).all()
    open_rows = frame[~frame["paid"]]
    # censored: an open invoice's lateness so far is exactly as-of minus due date
    assert (open_rows["days_late"] == open_rows["days_past_due"]).all()
    assert metrics["ar"].sum() == pytest.approx(frame["balance"].sum(), abs=0.01)

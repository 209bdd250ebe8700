"""Time-to-payment models and the per-quarter verdict on simulated ledgers with known truth."""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import pandas as pd
import pytest

from custvalue.config import PaymentSettings
from custvalue.payment import PaymentResult, analyse_payments, as_engine, fit_payment_models, kaplan_meier
from custvalue.payment.ledger import invoice_ledger
from custvalue.payment.repairs import REPAIR_LARGE_LATE, REPAIR_NONPAYMENT, REPAIR_SMALL_LATE
from custvalue.testing import LedgerSpec, simulate_ledger
from custvalue.payment.survival import with_covariates

AS_OF = date(2026, 6, 30)
QUARTERS = ["2025Q3", "2025Q4", "2026Q1", "2026Q2"]


# --------------------------------------------------------------------------- Cox recovery


@pytest.fixture(scope="module")
def simulated_fits():
    spec = LedgerSpec(n_customers=1500, invoices_per_customer=12, seed=0, log_hr_dispute=-0.8, log_hr_size=-0.15)
    engine = as_engine(simulate_ledger(spec))
    return spec, fit_payment_models(with_covariates(invoice_ledger(engine, AS_OF)), PaymentSettings())


def test_cox_recovers_planted_effects_within_confidence_interval(simulated_fits):
    spec, fits = simulated_fits
    peers = fits["peers"]
    interval = peers.conf_int(alpha=0.05)
    for name, truth in (("disputed", spec.log_hr_dispute), ("log_employees", spec.log_hr_size)):
        low, high = interval.loc[name]
        assert low <= truth <= high, f"{name}: {truth} not in [{low:.3f}, {high:.3f}]"
    # amount has no effect in the simulation: its interval should cover 0
    low, high = interval.loc["log_amount"]
    assert low <= 0 <= high
    assert peers.hazard_ratios["disputed"] == pytest.approx(np.exp(peers.params["disputed"]))
    assert (peers.bse > 0).all() and peers.robust and peers.n_groups > 1000
    assert "log_terms" in peers.dropped  # terms do not vary in the simulation


def test_cox_summary_and_expected_days(simulated_fits):
    spec, fits = simulated_fits
    text = str(fits["peers"].summary())
    for word in ("disputed", "log_employees", "cluster-robust by customer", "efron"):
        assert word in text
    model = fits["peers"]
    # Expected days to pay: slower for disputed invoices; never below the time already open.
    eta_plain = np.zeros(1)
    eta_disputed = np.array([model.params["disputed"] * (1 - model.means["disputed"])])
    plain = model.expected_days(np.array(["small-business"]), eta_plain)[0]
    disputed = model.expected_days(np.array(["small-business"]), eta_disputed)[0]
    assert disputed > plain
    conditional = model.expected_days(np.array(["small-business"] * 3), np.zeros(3), np.array([10, 60, 400]))
    assert conditional[0] >= 10 and conditional[1] > 60 and conditional[2] == 400
    # Weibull truth for a typical small firm (scale 40, shape 3): mean ~ 40 * Gamma(4/3) ~ 35.7 days
    # at log employees ~ log(100); our centring differs, so only check the order of magnitude.
    assert 20 < plain < 60


def test_engine_lookup_tables_agree_with_the_direct_expectation(simulated_fits):
    from custvalue.payment.survival import ETA_STEP, conditional_days_table, expected_days_table

    _, fits = simulated_fits
    model = fits["peers"]
    table, low = conditional_days_table(model, -1.0, 1.0)
    rows = table[(table["stratum"] == "small-business") & (table["after_days"] == 40)]
    eta = (low + rows["eta_bin"] * ETA_STEP).to_numpy()
    direct = model.expected_days(np.array(["small-business"] * len(rows)), eta, np.full(len(rows), 40))
    np.testing.assert_allclose(rows["expected_days"], direct, rtol=1e-9)
    assert (rows["expected_days"] > 40).all()
    table, low = expected_days_table(model, -1.0, 1.0)
    rows = table[table["stratum"] == "enterprise"]
    eta = (low + rows["eta_bin"] * ETA_STEP).to_numpy()
    np.testing.assert_allclose(rows["expected_days"], model.expected_days(np.array(["enterprise"] * len(rows)), eta), rtol=1e-9)
    assert rows["expected_days"].is_monotonic_decreasing  # a higher hazard pays sooner


def test_kaplan_meier_from_counts_matches_hand_calculation():
    counts = pd.DataFrame(
        {"segment": ["s"] * 4, "duration_days": [10, 20, 20, 30], "paid": [True, True, False, True], "invoices": [2, 1, 1, 1]}
    )
    curve = kaplan_meier(counts).set_index("day")["unpaid_share"]
    # 5 at risk: 2 paid at 10 -> 3/5; 3 at risk at 20, 1 paid (1 censored) -> 3/5*2/3; 1 at risk at 30 -> 0
    assert curve[10] == pytest.approx(0.6) and curve[20] == pytest.approx(0.4) and curve[30] == pytest.approx(0.0)


# --------------------------------------------------------------------------- the verdict


def _invoices(customer, issues, late_days, amount=1000.0, open_=False, disputed=False, written_off=0.0, terms=30):
    rows = []
    for k, issue in enumerate(issues):
        issue = pd.Timestamp(issue)
        due = issue + pd.Timedelta(days=terms)
        paid = pd.NaT if open_ or written_off else due + pd.Timedelta(days=late_days)
        rows.append(
            {
                "invoice_id": f"{customer}-{k}",
                "customer_id": customer,
                "issue_date": issue,
                "due_date": due,
                "amount": amount,
                "paid_date": paid,
                "paid_amount": 0.0 if pd.isna(paid) else amount,
                "disputed": disputed,
                "written_off": written_off,
            }
        )
    return rows


def _quarterly_issues(months_by_quarter):
    return [f"{month}-05" for month in months_by_quarter]


@pytest.fixture(scope="module")
def planted():
    """A simulated population plus a few customers written by hand (see each test)."""
    tables = simulate_ledger(LedgerSpec(n_customers=700, invoices_per_customer=14, seed=3))
    months = pd.period_range("2025-05", "2026-05", freq="M").strftime("%Y-%m")  # due June 2025 .. June 2026
    on_time = _quarterly_issues(months)
    special = []
    special += _invoices("OPENLATE", ["2026-03-05", "2026-03-08", "2026-03-10"], 0, open_=True)
    special += _invoices("ENTLIKE", on_time, 37, amount=20_000.0)  # enterprise peers pay ~37 days late
    bad_q1 = ["2025-12-03", "2025-12-10", "2026-01-05", "2026-02-05"]  # due in 2026Q1
    special += _invoices("ONEBAD", [m for m in on_time if not m.startswith(("2025-12", "2026-01", "2026-02"))], 0)
    special += _invoices("ONEBAD-Q1", bad_q1, 50)
    special += _invoices("TWOLATE", ["2026-03-10", "2026-04-10"], 14)
    special += _invoices("WRITER", on_time, 0)
    special += _invoices("WRITER-X", ["2026-01-20"], 0, amount=1234.0, written_off=1234.0)
    special += _invoices("DISPUTER", on_time, 60, disputed=True)
    frame = pd.DataFrame(special)
    frame["customer_id"] = frame["customer_id"].str.replace(r"-(Q1|X)$", "", regex=True)
    frame["invoice_id"] = "H" + frame.index.astype(str)
    invoices = pd.concat([tables["invoices"], frame.astype(tables["invoices"].dtypes.to_dict())], ignore_index=True)
    extra = pd.DataFrame(
        {
            "customer_id": ["OPENLATE", "ENTLIKE", "ONEBAD", "TWOLATE", "WRITER", "DISPUTER"],
            "name": ["o", "e", "b", "t", "w", "d"],
            "segment": ["small-business", "enterprise", "small-business", "small-business", "small-business", "mid-market"],
            "created_on": pd.Timestamp("2020-01-01"),
            "employees": pd.array([8, 20000, 12, 5, 20, 300], dtype="Int64"),
            "ended_on": pd.NaT,
        }
    )
    customers = pd.concat([tables["customers"], extra.astype(tables["customers"].dtypes.to_dict())], ignore_index=True)
    tickets = pd.DataFrame(
        {
            "ticket_id": [f"T{k}" for k in range(12)],
            "customer_id": "DISPUTER",
            "opened_on": pd.to_datetime(["2025-08-01", "2025-11-01", "2026-02-01", "2026-05-01"] * 3),
            "minutes": 30.0,
            "channel": "email",
            "caused_by_us": True,
            "escalated": False,
        }
    )
    result = analyse_payments({"invoices": invoices, "customers": customers, "support_tickets": tickets}, quarters=QUARTERS)
    return result


def _row(result, customer, quarter):
    rows = result.by_quarter
    return rows[(rows["customer_id"] == customer) & (rows["quarter"] == quarter)].iloc[0]


def test_customer_with_only_open_overdue_invoices_is_late_not_missing(planted):
    row = _row(planted, "OPENLATE", "2026Q2")  # due 4, 7 and 9 April, open on 30 June
    assert row["judged_invoices"] == 3 and row["open_invoices"] == 3
    assert row["days_late_so_far"] == pytest.approx(np.mean([87, 84, 82]))
    assert row["days_late"] >= row["days_late_so_far"]  # censored: at least as late as so far
    assert row["late_flag"] and "still open" in row["evidence"] and row["repair"] == REPAIR_SMALL_LATE


def test_enterprise_paying_like_its_peers_is_not_flagged(planted):
    rows = planted.by_quarter[planted.by_quarter["customer_id"] == "ENTLIKE"]
    assert len(rows) == 4 and (rows["days_late"] > 30).all()
    assert not rows["late_flag"].any() and not rows["nonpayment_flag"].any()
    assert (rows["peer_days_late"] > 25).all()


def test_one_bad_quarter_is_one_flagged_quarter(planted):
    rows = planted.by_quarter[planted.by_quarter["customer_id"] == "ONEBAD"].set_index("quarter")
    assert rows["late_flag"].to_dict() == {"2025Q3": False, "2025Q4": False, "2026Q1": True, "2026Q2": False}
    assert "pays 50 days late where small-business peers of its size pay" in rows.loc["2026Q1", "evidence"]


def test_two_late_invoices_are_not_yet_a_pattern(planted):
    row = _row(planted, "TWOLATE", "2026Q2")
    assert row["judged_invoices"] == 2 and row["shrinkage"] == pytest.approx(2 / (2 + 2.0))
    assert row["excess_days_shrunk"] == pytest.approx(row["shrinkage"] * row["excess_days"])
    assert row["days_late"] == pytest.approx(14) and not row["late_flag"]


def test_write_off_is_non_payment_with_evidence(planted):
    row = _row(planted, "WRITER", "2026Q1")  # 1,234 written off on an invoice due 19 February
    assert row["nonpayment_flag"] and not row["late_flag"]
    assert row["evidence"] == "wrote off 1,234 on 1 invoice" and row["repair"] == REPAIR_NONPAYMENT
    assert not _row(planted, "WRITER", "2026Q2")["nonpayment_flag"]


def test_disputes_with_our_errors_are_ours_to_fix(planted):
    rows = planted.by_quarter[planted.by_quarter["customer_id"] == "DISPUTER"]
    assert not rows["late_flag"].any() and (rows["judged_invoices"] == 0).all()
    assert rows["our_fix"].str.startswith("fix our invoicing: 3 of 3 invoices disputed").all()


def test_shrinkage_and_flags_follow_the_settings(planted):
    rows = planted.by_quarter
    n = rows["judged_invoices"]
    np.testing.assert_allclose(rows["shrinkage"], np.where(n > 0, n / (n + 2.0), 0.0))
    expected = (rows["excess_days_shrunk"] >= 15) & (rows["days_late"] >= 15)
    assert rows["late_flag"].equals(expected.fillna(False).astype(bool))
    assert (rows["evidence"] != "").eq(rows["late_flag"] | rows["nonpayment_flag"]).all()


def test_larger_late_payer_gets_the_finance_department_repair():
    from custvalue.payment.repairs import repair_texts

    late = pd.Series([True, True, False])
    nonpay = pd.Series([False, True, True])
    small = pd.Series([False, True, True])
    assert repair_texts(late, nonpay, small).tolist() == [
        REPAIR_LARGE_LATE,
        f"{REPAIR_NONPAYMENT}; {REPAIR_SMALL_LATE}",
        REPAIR_NONPAYMENT,
    ]


def test_result_is_immutable_and_round_trips(planted, tmp_path):
    with pytest.raises(dataclasses.FrozenInstanceError):
        planted.as_of = date(2020, 1, 1)  # type: ignore[misc]
    folder = planted.save(tmp_path / "payment")
    again = PaymentResult.load(folder)
    assert again.as_of == planted.as_of and again.quarters == tuple(QUARTERS) and again.settings == planted.settings
    for name in ("customers", "segments", "company", "by_quarter", "survival"):
        pd.testing.assert_frame_equal(getattr(again, name), getattr(planted, name))
    for name in ("model", "peers"):
        pd.testing.assert_series_equal(again.fits[name].params, planted.fits[name].params)
        pd.testing.assert_frame_equal(again.fits[name].conf_int(), planted.fits[name].conf_int())
        pd.testing.assert_frame_equal(again.fits[name].baseline, planted.fits[name].baseline)
    assert str(again.summary()) == str(planted.summary())
    assert (folder / "cox_summary.txt").is_file()


def test_settings_change_the_verdict(planted):
    strict = dataclasses.replace(planted.settings, shrinkage_invoices=0.0)
    from custvalue.payment.lateness import finish_verdict

    raw = planted.by_quarter.drop(columns=["excess_days", "shrinkage", "excess_days_shrunk", "late_flag", "nonpayment_flag", "evidence", "repair", "our_fix"])
    rejudged = finish_verdict(raw, strict, planted.as_of)
    twolate = rejudged[(rejudged["customer_id"] == "TWOLATE") & (rejudged["quarter"] == "2026Q2")].iloc[0]
    assert twolate["shrinkage"] == 1.0

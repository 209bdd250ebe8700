"""The review policy: criteria, strikes and status on small hand-made histories."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custvalue.config import ReviewSettings
from custvalue.quarters import Quarter
from custvalue.review import assign_status, judge_quarters, movement, relationship, standard_criteria

QUARTERS = ["2025Q3", "2025Q4", "2026Q1", "2026Q2"]
NOW = Quarter(2026, 2)
SETTINGS = ReviewSettings()


def customers(*ids, created="2023-01-01", ended=None):
    return pd.DataFrame(
        {
            "customer_id": list(ids),
            "name": [f"Customer {i}" for i in ids],
            "segment": "small-business",
            "created_on": pd.to_datetime(created),
            "ended_on": pd.to_datetime(ended),
        }
    )


def judged_history(failures: dict[str, list[bool]], orders: int = 3) -> pd.DataFrame:
    rows = []
    for customer_id, flags in failures.items():
        for quarter, failed in zip(QUARTERS, flags):
            rows.append(
                {
                    "customer_id": customer_id,
                    "quarter": quarter,
                    "orders": orders,
                    "failed": failed,
                    "reasons": f"bad in {quarter}" if failed else "",
                    "repairs": "charge for rush delivery" if failed else "",
                    "our_share": "",
                }
            )
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    "flags, strikes, status",
    [
        ([False, False, False, False], 0, "healthy"),
        ([False, True, False, False], 1, "watch"),
        ([False, False, False, True], 1, "watch"),
        ([True, False, False, True], 2, "final_notice"),
        ([True, True, True, False], 3, "final_notice"),
        ([True, False, True, True], 3, "let_go"),
        ([True, True, True, True], 4, "let_go"),
    ],
)
def test_strikes_and_status(flags, strikes, status):
    card = assign_status(judged_history({"A": flags}), customers("A"), NOW, SETTINGS).iloc[0]
    assert card["strikes"] == strikes
    assert card["status"] == status


def test_strikes_outside_the_window_do_not_count():
    history = judged_history({"A": [True, True, True, False]})
    card = assign_status(history, customers("A"), NOW.shift(1), SETTINGS).iloc[0]
    assert card["strikes"] == 2 and card["strike_quarters"] == "2025Q4;2026Q1"


def test_reasons_of_a_past_strike_say_when():
    card = assign_status(judged_history({"A": [False, True, False, False]}), customers("A"), NOW, SETTINGS).iloc[0]
    assert card["reasons"] == "in 2025Q4: bad in 2025Q4"
    assert card["action"] == "repair: charge for rush delivery"


def test_let_go_action_is_terminate_and_refer():
    card = assign_status(judged_history({"A": [True] * 4}), customers("A"), NOW, SETTINGS).iloc[0]
    assert card["action"] == "terminate and refer to another supplier"


def test_high_future_value_is_protected_not_let_go():
    history = judged_history({"A": [True] * 4, "B": [True] * 4})
    rank = pd.Series({"A": 0.95, "B": 0.5})
    card = assign_status(history, customers("A", "B"), NOW, SETTINGS, future_value_rank=rank).set_index("customer_id")
    assert card.loc["A", "status"] == "protected" and card.loc["A", "action"].startswith("repair:")
    assert card.loc["B", "status"] == "let_go"


def test_ended_and_quiet_customers_are_inactive_not_let_go():
    history = judged_history({"A": [True] * 4, "B": [True] * 4})
    history.loc[(history["customer_id"] == "B") & history["quarter"].isin(["2026Q1", "2026Q2"]), "orders"] = 0
    people = pd.concat([customers("A", ended="2026-05-01"), customers("B")])
    card = assign_status(history, people, NOW, SETTINGS, p_alive=pd.Series({"A": 0.9, "B": 0.05})).set_index("customer_id")
    assert card.loc["A", "status"] == "inactive" and card.loc["B", "status"] == "inactive"


def test_young_accounts_are_not_judged_yet():
    card = assign_status(judged_history({"A": [True] * 4}), customers("A", created="2026-05-15"), NOW, SETTINGS).iloc[0]
    assert card["status"] == "new"


def test_movement_since_last_quarter():
    history = judged_history({"A": [False, False, True, True], "B": [True, False, False, False]})
    people = customers("A", "B")
    now = assign_status(history, people, NOW, SETTINGS)
    before = assign_status(history, people, NOW.shift(-1), SETTINGS)
    changes = movement(before, now).set_index("customer_id")
    assert changes.loc["A", "change"] == "new strike" and changes.loc["A", "status"] == "final_notice"
    assert changes.loc["B", "strikes"] == 1 and changes.loc["B", "change"] == ""


@settings(max_examples=200, deadline=None)
@given(st.lists(st.booleans(), min_size=4, max_size=4), st.integers(0, 3))
def test_one_bad_quarter_is_exactly_one_strike(flags, bad):
    """A single failing quarter adds exactly one strike, wherever it falls in the window."""
    base = judged_history({"A": [False] * 4})
    base.loc[bad, "failed"] = True
    card = assign_status(base, customers("A"), NOW, SETTINGS).iloc[0]
    assert card["strikes"] == 1
    other = judged_history({"A": flags})
    more = other.copy()
    more.loc[bad, "failed"] = True
    strikes = lambda history: assign_status(history, customers("A"), NOW, SETTINGS).iloc[0]["strikes"]  # noqa: E731
    assert strikes(more) - strikes(other) == (0 if flags[bad] else 1)


def inputs_frame(**overrides):
    """One ordinary customer-quarter of review inputs, with overrides."""
    row = {
        "customer_id": "A", "quarter": "2026Q2", "segment": "small-business", "orders": 10, "rush_orders": 1,
        "manual_orders": 0, "revenue": 5000.0, "gross_margin": 1500.0, "operating_profit": 800.0, "cost_to_serve": 700.0,
        "ticket_minutes": 60.0, "service_minutes": 300.0, "headache_ratio": 0.2, "incidents": 0, "written_off": 0.0,
        "our_tickets": 0, "our_ticket_minutes": 0.0, "late_flag": False, "nonpayment_flag": False,
        "payment_evidence": "", "payment_repair": "", "payment_our_fix": "",
    }
    for kind in SETTINGS.incident_weights:
        row[f"severity_{kind}"] = 0
    from custvalue.cost_to_serve import COST_DRIVERS

    for driver in COST_DRIVERS:
        row[f"cost_{driver}"] = 100.0
    row.update(overrides)
    return pd.DataFrame([row])


def test_an_ordinary_quarter_passes_every_criterion():
    judged = judge_quarters(inputs_frame(), standard_criteria(SETTINGS))
    assert not judged.loc[0, "failed"] and judged.loc[0, "reasons"] == ""


def test_unprofitable_quarter_names_the_cost_drivers():
    frame = inputs_frame(operating_profit=-900.0, cost_to_serve=2400.0, cost_rush=1500.0, cost_support=600.0)
    judged = judge_quarters(frame, standard_criteria(SETTINGS)).iloc[0]
    assert judged["fail_unprofitable"]
    assert "lost 900 after cost to serve 2,400" in judged["reasons"] and "rush orders 1,500" in judged["reasons"]
    assert "charge for rush delivery" in judged["repairs"]


def test_small_loss_below_materiality_passes():
    judged = judge_quarters(inputs_frame(operating_profit=-100.0), standard_criteria(SETTINGS)).iloc[0]
    assert not judged["fail_unprofitable"]


def test_relationship_incidents_weighted_by_severity():
    criterion = relationship(SETTINGS)
    assert not criterion.judge(inputs_frame(incidents=1, severity_price_pressure=2)).failed.iloc[0]
    verdict = criterion.judge(inputs_frame(incidents=1, severity_abusive_conduct=2))
    assert verdict.failed.iloc[0] and "abusive conduct (total severity 2)" in verdict.evidence.iloc[0]


def test_payment_verdict_comes_from_the_payment_model():
    frame = inputs_frame(late_flag=True, payment_evidence="pays 47 days late where small-business peers pay 3 days late", payment_repair="invoice more often")
    judged = judge_quarters(frame, standard_criteria(SETTINGS)).iloc[0]
    assert judged["fail_payment"] and "pays 47 days late" in judged["reasons"] and judged["repairs"] == "invoice more often"


def test_what_we_caused_is_stated_not_counted():
    judged = judge_quarters(inputs_frame(our_tickets=5, our_ticket_minutes=186.0), standard_criteria(SETTINGS)).iloc[0]
    assert not judged["failed"]
    assert judged["our_share"] == "we caused 5 of their tickets (3.1 h), not counted against them"


def test_headache_needs_worst_share_and_multiple_of_segment():
    many = pd.concat([inputs_frame(customer_id=f"C{i}", headache_ratio=0.2 + i / 1000) for i in range(40)], ignore_index=True)
    hog = inputs_frame(customer_id="HOG", headache_ratio=5.0, ticket_minutes=2400.0, service_minutes=3000.0)
    judged = judge_quarters(pd.concat([many, hog], ignore_index=True), standard_criteria(SETTINGS)).set_index("customer_id")
    assert judged.loc["HOG", "fail_headache"]
    assert "support 40.0 h this quarter, 40.0x the segment median" in judged.loc["HOG", "reasons"]
    assert not judged.drop(index="HOG")["fail_headache"].any(), "the worst of the ordinary ones is not 3x the median"
    assert np.isclose(SETTINGS.headache_min_multiple, 3.0)


def test_low_future_potential_is_stated_for_those_facing_termination():
    from custvalue.review import state_future_potential

    card = pd.DataFrame(
        {
            "status": ["let_go", "let_go", "watch"],
            "reasons": ["lost 900", "lost 800", "lost 100"],
            "future_value": [120.0, 50_000.0, 10.0],
            "future_value_rank": [0.2, 0.8, 0.1],
        }
    )
    stated = state_future_potential(card, "EUR")
    assert stated.loc[0, "reasons"] == "lost 900; low future potential: predicted future value 120 EUR, below 80% of customers"
    assert stated.loc[1, "reasons"] == "lost 800" and stated.loc[2, "reasons"] == "lost 100"

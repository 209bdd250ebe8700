"""The what-if of letting customers go: conservation and a hand-worked example."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

from custvalue.config import CostToServeSettings, ResourcePool, TimeEquation
from custvalue.cost_to_serve import compute_cost_to_serve
from custvalue.whatif import ADDITIVE, basis, let_go, released_minutes, todays_totals
from tests.test_cost_to_serve import activity_frame

IDS = [f"C{i}" for i in range(8)]


def example_basis():
    """Two pools: a desk of 3 people (step, 1,000 minutes each) and a variable carrier."""
    settings = CostToServeSettings(
        pools={"desk": ResourcePool(3_000, 3_000, "step", 1_000), "carrier": ResourcePool(2_000, 4_000, "variable")},
        activities={"entry": TimeEquation("desk", {"orders": 100}), "ship": TimeEquation("carrier", {"order_lines": 50})},
    )
    rows = [
        {"customer_id": cid, "quarter": "2026Q2", "orders": orders, "order_lines": lines, "revenue": revenue,
         "cost_of_goods": revenue * 0.6, "written_off": bad, "receivable_days": 0}
        for cid, orders, lines, revenue, bad in [
            ("C0", 12, 20, 1_000, 0), ("C1", 5, 10, 2_000, 100), ("C2", 8, 10, 5_000, 0), ("C3", 1, 2, 300, 0),
            ("C4", 2, 4, 800, 0), ("C5", 0, 0, 0, 0), ("C6", 3, 6, 900, 50), ("C7", 4, 8, 1_200, 0),
        ]
    ]  # fmt: skip
    costs = compute_cost_to_serve(activity_frame(rows), settings)
    card = pd.DataFrame({"customer_id": IDS, "future_value": [-500.0, 300, 4_000, 10, 0, 0, -20, 60],
                         "open_receivables": [0.0, 900, 0, 0, 50, 0, 300, 0]})
    return basis(costs, card)


def test_hand_worked_example():
    # Desk: 35 orders x 100 = 3,500 minutes used of 3,000 (500 overtime), rate 1.00.
    # Letting C0 and C1 go releases 1,700 desk minutes: 500 remove the overtime, 1,200 fall
    # idle, one whole person (1,000 minutes, 1,000.00) could be cut. Carrier: 30 lines x
    # 50 = 1,500 minutes at 0.50 = 750.00, variable, gone now.
    effect = let_go(example_basis(), ["C0", "C1"])
    desk, carrier = effect.by_pool.set_index("pool").loc["desk"], effect.by_pool.set_index("pool").loc["carrier"]
    assert desk["hours_released"] * 60 == pytest.approx(1_700) and desk["steps_released"] == 1
    assert desk["cost_if_cut"] == pytest.approx(1_000) and desk["cost_avoided_now"] == 0
    assert carrier["cost_avoided_now"] == pytest.approx(750) and carrier["steps_released"] == 0
    assert effect.gross_margin_given_up == pytest.approx(0.4 * 3_000)
    assert effect.financial_cost_avoided == pytest.approx(100)  # C1's write-off
    assert effect.profit_change_capacity_kept == pytest.approx(-1_200 + 750 + 100)
    assert effect.profit_change_capacity_cut == pytest.approx(-1_200 + 750 + 100 + 1_000)
    assert effect.unused_capacity_if_kept == pytest.approx(1_700)
    assert effect.receivables_at_risk == 900 and effect.future_value_given_up == -200


@hypothesis_settings(max_examples=60, deadline=None)
@given(st.sets(st.sampled_from(IDS)))
def test_what_leaves_and_what_stays_make_todays_totals(chosen):
    base = example_basis()
    leaving, staying, everyone = let_go(base, chosen), let_go(base, set(IDS) - chosen), let_go(base, IDS)
    for name in ADDITIVE:
        assert getattr(leaving, name) + getattr(staying, name) == pytest.approx(getattr(everyone, name), abs=1e-6), name
    totals = todays_totals(base)
    assert everyone.revenue_given_up == pytest.approx(totals["revenue"])
    assert everyone.gross_margin_given_up == pytest.approx(totals["gross_margin"])
    assert everyone.future_value_given_up == pytest.approx(totals["future_value"])
    pools = list(base.pools.index)
    both = released_minutes(leaving) + released_minutes(staying)
    assert both == pytest.approx([totals[f"minutes_{p}"] for p in pools])
    # Whole steps never exceed the minutes released; cutting never loses money.
    step = base.pools["step_minutes"].to_numpy()
    assert all(leaving.by_pool["steps_released"] * step <= released_minutes(leaving) + 1e-9)
    assert leaving.profit_change_capacity_cut >= leaving.profit_change_capacity_kept

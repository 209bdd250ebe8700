"""Cost to serve: time-driven ABC, conservation, the worked example in the docs, the
whale curve and price-cost map, and the planted archetypes of the demo world."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custvalue.config import Config, CostToServeSettings, ResourcePool, TimeEquation, load_config
from custvalue.contract import INCIDENT_KINDS, TICKET_CHANNELS
from custvalue.cost_to_serve import (
    COST_DRIVERS,
    DRIVER_LABELS,
    CostToServeResult,
    capacity_cost_rates,
    compute_cost_to_serve,
    price_cost_map,
    whale_curve,
)
from custvalue.errors import ConfigError, ContractError
from tests.conftest import REPO

TOLERANCE = 0.005  # currency units per pool and quarter
DRIVER_COLUMNS = [f"cost_{driver}" for driver in COST_DRIVERS]

ACTIVITY_COLUMNS = [
    "orders", "order_lines", "rush_orders", "manual_orders", "returns", "returned_value", "revenue",
    "cost_of_goods", "discount", "tickets", "ticket_minutes", "onsite_visits", "escalations",
    *[f"minutes_{c}" for c in TICKET_CHANNELS], "our_tickets", "our_ticket_minutes", "our_onsite_visits",
    *[f"our_minutes_{c}" for c in TICKET_CHANNELS], "invoices", "invoiced", "disputes", "written_off",
    "receivable_days", "incidents", *[f"severity_{k}" for k in INCIDENT_KINDS],
]  # fmt: skip


def activity_frame(rows: list[dict]) -> pd.DataFrame:
    """An activity table (as from features.quarterly_activity) with zeros where not given."""
    frame = pd.DataFrame(rows)
    for column in ACTIVITY_COLUMNS:
        frame[column] = frame[column].astype(float) if column in frame else 0.0
    return frame[["customer_id", "quarter", *ACTIVITY_COLUMNS]]


def worked_example_settings() -> CostToServeSettings:
    """The settings of the worked example in docs/cost-to-serve.md, stated explicitly."""
    return CostToServeSettings(
        pools={
            "order_desk": ResourcePool(189_000, 210_000, "step", 23_000),
            "warehouse": ResourcePool(560_000, 700_000, "step", 23_000),
            "customer_service": ResourcePool(90_000, 90_000, "step", 23_000),
            "field_service": ResourcePool(108_000, 54_000, "step", 23_000),
            "account_management": ResourcePool(36_000, 18_000, "committed"),
        },
        activities={
            "order_entry": TimeEquation("order_desk", {"orders": 6, "order_lines": 1, "manual_orders": 12, "rush_orders": 5}),
            "picking_and_shipping": TimeEquation("warehouse", {"orders": 18, "order_lines": 4, "rush_orders": 30}),
            "return_handling": TimeEquation("warehouse", {"returns": 40}),
            "remote_support": TimeEquation("customer_service", {"minutes_phone": 1, "minutes_email": 1, "minutes_chat": 1}),
            "field_support": TimeEquation("field_service", {"minutes_onsite": 1, "onsite_visits": 60}),
            "incident_handling": TimeEquation("account_management", {"incidents": 90}),
        },
        cost_of_capital_annual=0.08,
    )


WORKED_CUSTOMER = dict(
    customer_id="C00042", quarter="2026Q2", orders=3, order_lines=12, rush_orders=1, manual_orders=1, returns=1,
    returned_value=60.0, revenue=1500.0, cost_of_goods=1050.0, discount=45.0, tickets=2, ticket_minutes=45,
    minutes_phone=30, minutes_email=15, our_tickets=1, our_ticket_minutes=20, our_minutes_email=20,
    invoices=3, invoiced=1500.0, receivable_days=45_625.0,
)  # fmt: skip


# --------------------------------------------------------------------------- hand-worked


def test_capacity_cost_rate_is_cost_over_practical_capacity():
    rates = capacity_cost_rates(worked_example_settings())
    assert rates["warehouse"] == pytest.approx(0.80)
    assert rates["order_desk"] == pytest.approx(0.90)
    assert rates["field_service"] == pytest.approx(2.00)


def test_worked_example_settings_are_the_defaults():
    assert worked_example_settings() == Config().cost_to_serve


def test_worked_example_in_the_docs_matches_the_code():
    text = (REPO / "docs" / "cost-to-serve.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- worked-example-results -->(.*?)<!-- /worked-example-results -->", text, re.S).group(1)
    expected = {
        match.group(1): float(match.group(2).replace(",", ""))
        for match in re.finditer(r"^\|\s*([a-z_]+)\s*\|\s*([-\d.,]+)\s*\|", block, re.M)
    }
    assert len(expected) >= 14
    result = compute_cost_to_serve(activity_frame([WORKED_CUSTOMER]), worked_example_settings())
    row = result.customer_costs.iloc[0]
    for column, value in expected.items():
        assert row[column] == pytest.approx(value, abs=0.00005), column


def test_tickets_we_caused_are_charged_to_us_not_the_customer():
    result = compute_cost_to_serve(activity_frame([WORKED_CUSTOMER]), worked_example_settings())
    assert result.customer_costs.loc[0, "cost_support"] == pytest.approx(45.0)
    ours = result.our_costs
    assert ours["cost_support"].tolist() == pytest.approx([20.0])
    pools = result.pools.set_index("pool")
    assert pools.loc["customer_service", "assigned_to_us"] == pytest.approx(20.0)
    assert pools.loc["customer_service", "assigned_to_customers"] == pytest.approx(45.0)
    drivers = result.cost_by_driver().set_index("driver")
    assert drivers.loc["our_errors", "amount"] == pytest.approx(20.0)
    assert not drivers.loc["our_errors", "in_cost_to_serve"]


def test_discounts_are_shown_but_not_subtracted_twice():
    plain = compute_cost_to_serve(activity_frame([WORKED_CUSTOMER]), worked_example_settings())
    discounted = compute_cost_to_serve(activity_frame([{**WORKED_CUSTOMER, "discount": 400.0}]), worked_example_settings())
    assert discounted.customer_costs.loc[0, "operating_profit"] == plain.customer_costs.loc[0, "operating_profit"]
    drivers = discounted.cost_by_driver().set_index("driver")
    assert drivers.loc["discount", "amount"] == 400.0 and not drivers.loc["discount", "in_cost_to_serve"]


def test_onsite_support_includes_travel_per_visit():
    row = {"customer_id": "C1", "quarter": "2026Q2", "minutes_onsite": 150, "onsite_visits": 1, "revenue": 1000.0}
    result = compute_cost_to_serve(activity_frame([row]), worked_example_settings())
    assert result.customer_costs.loc[0, "cost_support"] == pytest.approx((150 + 60) * 2.0)


def test_bad_debt_and_financing_are_money_drivers():
    row = {"customer_id": "C1", "quarter": "2026Q2", "written_off": 250.0, "receivable_days": 365_000.0}
    costs = compute_cost_to_serve(activity_frame([row]), worked_example_settings()).customer_costs.iloc[0]
    assert costs["cost_bad_debt"] == 250.0
    assert costs["cost_financing"] == pytest.approx(80.0)
    assert costs["operating_profit"] == pytest.approx(-330.0)


def test_headache_ratio_and_profit_per_support_hour_edge_cases():
    rows = [
        {"customer_id": "A", "quarter": "2026Q2", "orders": 1, "order_lines": 1, "revenue": 100.0, "cost_of_goods": 100.0},
        {"customer_id": "B", "quarter": "2026Q2", "revenue": 100.0, "cost_of_goods": 50.0},
        {"customer_id": "C", "quarter": "2026Q2", "minutes_phone": 60, "revenue": 1000.0, "cost_of_goods": 500.0},
    ]
    costs = compute_cost_to_serve(activity_frame(rows), worked_example_settings()).customer_costs.set_index("customer_id")
    assert costs.loc["A", "headache_ratio"] == math.inf  # minutes but no margin: ranks last
    assert costs.loc["B", "headache_ratio"] == 0.0  # no minutes, no headache
    assert costs.loc["C", "headache_ratio"] == pytest.approx(60 / 500)
    assert math.isnan(costs.loc["A", "profit_per_support_hour"])
    assert costs.loc["C", "profit_per_support_hour"] == pytest.approx(500 - 60.0)


def test_over_capacity_gives_negative_unused_and_still_conserves():
    small = CostToServeSettings(
        pools={"desk": ResourcePool(1_000, 100, "variable")}, activities={"entry": TimeEquation("desk", {"orders": 30})}
    )
    rows = [{"customer_id": f"C{i}", "quarter": "2026Q2", "orders": 2} for i in range(3)]
    result = compute_cost_to_serve(activity_frame(rows), small)
    pool = result.pools.iloc[0]
    assert pool["over_capacity"] and pool["unused_minutes"] == -80
    assert pool["unused_capacity_cost"] == pytest.approx(-800.0)
    assert pool["assigned_to_customers"] == pytest.approx(1_800.0)
    assert result.reconciliation()["difference"].abs().max() <= TOLERANCE


# --------------------------------------------------------------------------- whale curve and map


def test_whale_curve_figures_by_hand():
    profits = pd.DataFrame({"customer_id": list("ABCDE"), "operating_profit": [100.0, 50.0, -30.0, 0.0, -20.0]})
    curve = whale_curve(profits, ("2026Q2",))
    assert curve.frame["customer_id"].tolist() == ["A", "B", "D", "E", "C"]
    assert curve.total_profit == 100.0 and curve.peak_profit == 150.0
    assert curve.peak_share == pytest.approx(1.5)
    assert curve.customers_at_peak == 2 and curve.share_of_customers_at_peak == pytest.approx(0.4)
    assert curve.erosion == 50.0 and curve.unprofitable_customers == 2
    assert curve.bottom(0.2)["customer_id"].tolist() == ["C"]
    assert curve.bottom(0.4)["customer_id"].tolist() == ["C", "E"]
    assert "150%" in curve.summary()


def test_whale_curve_without_total_profit_has_no_shares():
    profits = pd.DataFrame({"customer_id": ["A", "B"], "operating_profit": [-5.0, -1.0]})
    curve = whale_curve(profits)
    assert curve.peak_profit == 0.0 and curve.customers_at_peak == 0
    assert math.isnan(curve.peak_share) and curve.frame["cumulative_share"].isna().all()


def test_price_cost_map_quadrants():
    customers = pd.DataFrame(
        {
            "customer_id": ["passive", "carriage", "bargain", "aggressive", "none"],
            "revenue": [1000.0, 1000.0, 1000.0, 1000.0, 0.0],
            "discount": [0.0, 0.0, 300.0, 300.0, 0.0],
            "cost_to_serve": [50.0, 400.0, 50.0, 400.0, 10.0],
            "operating_profit": [0.0] * 5,
        }
    )
    mapped = price_cost_map(customers).frame.set_index("customer_id")["quadrant"].to_dict()
    assert mapped == {"passive": "passive", "carriage": "carriage trade", "bargain": "bargain basement", "aggressive": "aggressive"}


# --------------------------------------------------------------------------- settings and results


def test_config_rejects_unknown_pool_driver_and_negative_minutes(tmp_path):
    bad = {
        "pool: nowhere": "cost_to_serve:\n  activities:\n    x: {pool: nowhere, minutes: {orders: 1}}\n",
        "unknown driver 'parcels'": "cost_to_serve:\n  activities:\n    x: {pool: warehouse, minutes: {parcels: 1}}\n",
        "minutes.orders must be >= 0": "cost_to_serve:\n  activities:\n    x: {pool: warehouse, minutes: {orders: -1}}\n",
    }
    for fragment, text in bad.items():
        path = tmp_path / "c.yaml"
        path.write_text(text)
        with pytest.raises(ConfigError) as caught:
            load_config(path)
        message = str(caught.value).replace("pool names unknown pool 'nowhere'", "pool: nowhere")
        assert fragment in message, message


def test_config_activities_load_from_yaml(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "cost_to_serve:\n  pools:\n    desk: {cost_per_quarter: 800, practical_capacity_minutes: 1000, behaviour: committed}\n"
        "  activities:\n    entry: {pool: desk, minutes: {orders: 10, order_lines: 2}}\n"
    )
    settings = load_config(path).cost_to_serve
    assert settings.activities == {"entry": TimeEquation("desk", {"orders": 10.0, "order_lines": 2.0})}
    assert CostToServeSettings.from_dict({"pools": {"desk": {"cost_per_quarter": 800, "practical_capacity_minutes": 1000, "behaviour": "committed"}},
                                          "activities": {"entry": {"pool": "desk", "minutes": {"orders": 10, "order_lines": 2}}}}) == settings  # fmt: skip


def test_empty_activity_gives_an_empty_result():
    result = compute_cost_to_serve(activity_frame([WORKED_CUSTOMER]).iloc[:0], worked_example_settings())
    assert result.customer_costs.empty and result.pools.empty and result.quarters == ()


def test_missing_driver_column_is_a_clear_error():
    frame = activity_frame([WORKED_CUSTOMER]).drop(columns=["rush_orders"])
    with pytest.raises(ContractError, match="rush_orders"):
        compute_cost_to_serve(frame, worked_example_settings())


def test_result_is_immutable_and_round_trips_through_files(tmp_path, demo_result):
    with pytest.raises(AttributeError):
        demo_result.pools = None
    frame = demo_result.customer_costs
    frame.loc[:, "cost_to_serve"] = 0.0
    assert demo_result.customer_costs["cost_to_serve"].sum() > 0
    folder = demo_result.save(tmp_path / "cost_to_serve")
    loaded = CostToServeResult.load(folder)
    assert loaded.settings == demo_result.settings and loaded.quarters == demo_result.quarters
    for name in ("customer_costs", "our_costs", "pools", "activities"):
        pd.testing.assert_frame_equal(getattr(loaded, name), getattr(demo_result, name))
    assert loaded.summary() == demo_result.summary()
    with pytest.raises(ContractError, match="result.json"):
        CostToServeResult.load(tmp_path)


# --------------------------------------------------------------------------- properties

COUNT = st.integers(min_value=0, max_value=400)
DRIVER_NAMES = ["orders", "order_lines", "rush_orders", "manual_orders", "returns", "minutes_phone",
                "minutes_email", "minutes_onsite", "onsite_visits", "incidents"]  # fmt: skip


@st.composite
def activity_and_settings(draw):
    n_pools = draw(st.integers(1, 3))
    pools = {
        f"pool{i}": ResourcePool(
            draw(st.floats(0, 2_000_000, allow_nan=False)), draw(st.floats(1_000, 2_000_000, allow_nan=False)), "variable"
        )
        for i in range(n_pools)
    }
    activities = {}
    for i in range(draw(st.integers(1, 4))):
        columns = draw(st.lists(st.sampled_from(DRIVER_NAMES), min_size=1, max_size=4, unique=True))
        minutes = {c: draw(st.floats(0, 240, allow_nan=False)) for c in columns}
        activities[f"act{i}"] = TimeEquation(f"pool{draw(st.integers(0, n_pools - 1))}", minutes)
    rows = []
    for q in draw(st.lists(st.sampled_from(["2025Q3", "2025Q4", "2026Q1"]), min_size=1, max_size=3, unique=True)):
        for c in range(draw(st.integers(1, 6))):
            row = {"customer_id": f"C{c}", "quarter": q, "revenue": draw(st.floats(0, 1e5)), "cost_of_goods": 0.0}
            row.update({name: draw(COUNT) for name in DRIVER_NAMES})
            row.update({f"our_minutes_{ch}": draw(COUNT) for ch in TICKET_CHANNELS})
            row["our_onsite_visits"] = draw(st.integers(0, 5))
            rows.append(row)
    return activity_frame(rows), CostToServeSettings(pools=pools, activities=activities)


@settings(max_examples=60, deadline=None)
@given(activity_and_settings())
def test_conservation_for_random_inputs(case):
    frame, cts = case
    result = compute_cost_to_serve(frame, cts)
    assert result.reconciliation()["difference"].abs().max() <= TOLERANCE
    pools = result.pools
    assert (pools["assigned_to_customers"] + pools["assigned_to_us"] + pools["unused_capacity_cost"] - pools["cost"]).abs().max() <= TOLERANCE
    costs = result.customer_costs
    assert np.allclose(costs[DRIVER_COLUMNS].sum(axis=1), costs["cost_to_serve"], rtol=0, atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(activity_and_settings(), st.sampled_from(["rush_orders", "order_lines", "returns", "minutes_phone"]), st.integers(1, 50), st.data())
def test_more_activity_never_lowers_cost(case, column, extra, data):
    frame, cts = case
    row = data.draw(st.integers(0, len(frame) - 1))
    more = frame.copy()
    more.loc[row, column] += extra
    before = compute_cost_to_serve(frame, cts).customer_costs
    after = compute_cost_to_serve(more, cts).customer_costs
    assert (after["cost_to_serve"] >= before["cost_to_serve"] - 1e-9).all()
    assert (after["operating_profit"] <= before["operating_profit"] + 1e-9).all()


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 30), st.integers(0, 30), st.integers(0, 60), st.integers(0, 60))
def test_default_settings_monotone_in_rush_and_lines(rush, extra_rush, lines, extra_lines):
    base = {"customer_id": "C1", "quarter": "2026Q2", "orders": 5 + rush, "rush_orders": rush, "order_lines": lines}
    more = {**base, "customer_id": "C2", "rush_orders": rush + extra_rush, "orders": 5 + rush + extra_rush, "order_lines": lines + extra_lines}
    costs = compute_cost_to_serve(activity_frame([base, more]), Config().cost_to_serve).customer_costs.set_index("customer_id")
    assert costs.loc["C2", "cost_to_serve"] >= costs.loc["C1", "cost_to_serve"]
    assert costs.loc["C2", "cost_rush"] >= costs.loc["C1", "cost_rush"]


# --------------------------------------------------------------------------- the demo world


@pytest.fixture(scope="session")
def demo_world(tmp_path_factory):
    from custvalue.demo import DemoSpec, generate_world, write_world
    from custvalue.features import quarterly_activity
    from custvalue.loading import load_raw
    from custvalue.quarters import Quarter

    folder = tmp_path_factory.mktemp("demo")
    world = generate_world(DemoSpec(n_customers=2000, seed=42))
    write_world(world, folder / "raw", folder / "truth.csv", fmt="parquet")
    last = Quarter(2026, 2)
    activity = quarterly_activity(load_raw(folder / "raw").engine, last.shift(-7), last)
    return activity, world.truth


@pytest.fixture(scope="session")
def demo_result(demo_world):
    activity, _ = demo_world
    return compute_cost_to_serve(activity, Config().cost_to_serve)


def test_demo_world_conserves_to_the_cent(demo_result):
    reconciliation = demo_result.reconciliation()
    assert len(reconciliation) == 8 * 5
    assert reconciliation["difference"].abs().max() <= TOLERANCE
    costs = demo_result.customer_costs
    assert np.allclose(costs[DRIVER_COLUMNS].sum(axis=1), costs["cost_to_serve"], rtol=0, atol=1e-9)
    by_quarter = costs.groupby("quarter")[DRIVER_COLUMNS[:-2]].sum().sum(axis=1)
    ours = demo_result.our_costs.groupby("quarter")["cost_support"].sum().reindex(by_quarter.index, fill_value=0)
    pools = demo_result.pools.groupby("quarter")[["cost", "unused_capacity_cost"]].sum()
    assert ((by_quarter + ours + pools["unused_capacity_cost"] - pools["cost"]).abs() <= TOLERANCE * 5).all()


def test_default_pools_are_realistically_used(demo_result):
    utilisation = demo_result.pools.groupby("pool")["utilisation"].mean()
    print("\nmean utilisation by pool:", utilisation.round(3).to_dict())
    assert utilisation.between(0.70, 0.90).all(), utilisation
    assert demo_result.pools["utilisation"].max() < 1.1  # a Q4 peak may run a little over capacity


def test_demo_world_ordinary_customers_mostly_profitable(demo_world, demo_result):
    _, truth = demo_world
    customers = demo_result.by_customer(demo_result.last_quarters(4)).merge(truth, on="customer_id")
    ordinary = customers[(customers["archetype"] == "ordinary") & (customers["revenue"] > 0)]  # who bought in the year
    profitable = (ordinary["operating_profit"] > 0).mean()
    print(f"\nordinary customers (who bought) profitable over the last four quarters: {profitable:.1%}")
    assert profitable >= 0.75


def test_demo_world_planted_archetypes_on_the_whale_curve(demo_world, demo_result):
    """Ranked on operating profit over the last four quarters (see docs/cost-to-serve.md)."""
    _, truth = demo_world
    curve = demo_result.whale_curve(demo_result.last_quarters(4))
    bottom = set(curve.bottom(0.10)["customer_id"])
    truth = truth[truth["customer_id"].isin(curve.frame["customer_id"])]
    share = truth.assign(bottom=truth["customer_id"].isin(bottom)).groupby("archetype")["bottom"].agg(["mean", "sum", "size"])
    print("\nshare of each archetype in the bottom decile (last four quarters):\n" + share.round(2).to_string())
    assert share.loc["support_hog", "mean"] >= 0.9
    assert share.loc["rush_addict", "mean"] >= 0.9
    assert share.loc["price_pressurer", "mean"] >= 0.8
    assert share.loc["we_caused", "sum"] == 0
    assert share.loc["ordinary", "mean"] <= 0.10


def test_views_and_summary_on_the_demo_world(demo_result):
    year = demo_result.last_quarters(4)
    worst = demo_result.worst_customers(10, year)
    assert len(worst) == 10 and worst["operating_profit"].is_monotonic_increasing
    assert set(worst["main_driver"]) <= set(DRIVER_LABELS.values())
    capacity = demo_result.capacity(year).set_index("pool")
    pools = demo_result.pools[demo_result.pools["quarter"].isin(year)].groupby("pool")["used_minutes"].sum()
    assert capacity["used_minutes"].to_dict() == pytest.approx(pools.to_dict())
    assert capacity.loc["warehouse", "practical_capacity_minutes"] == 4 * 700_000
    drivers = demo_result.cost_by_driver(year)
    in_cts = drivers.loc[drivers["in_cost_to_serve"], "amount"].sum()
    assert in_cts == pytest.approx(demo_result.by_customer(year)["cost_to_serve"].sum())
    counts = demo_result.price_cost_map(year).counts()
    assert counts.sum() > 1500 and (counts > 0).all()
    text = demo_result.summary(year)
    assert "Whale curve 2025Q3..2026Q2" in text and "unused capacity" in text
    with pytest.raises(ValueError, match="not costed"):
        demo_result.whale_curve("1999Q1")


def test_plots_draw(demo_result):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from custvalue.cost_to_serve import plots

    year = demo_result.last_quarters(4)
    curve = demo_result.whale_curve(year)
    for draw in (
        lambda: plots.plot_capacity(demo_result, year),
        lambda: plots.plot_cost_by_driver(demo_result, year, currency="EUR"),
        lambda: plots.plot_whale_curve(curve, marked=curve.bottom(0.1)["customer_id"]),
        lambda: plots.plot_price_cost_map(demo_result.price_cost_map(year), marked=curve.bottom(0.1)["customer_id"]),
    ):
        ax = draw()
        assert ax.has_data()
        plt.close(ax.figure)

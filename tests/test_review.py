"""The review policy: criteria, strikes and status on small hand-made histories."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custvalue import review as rv
from custvalue.review import criteria, text
from custvalue.review import status as review_status
from custvalue.config import ReviewSettings
from custvalue.cost_to_serve import COST_DRIVERS
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


# --------------------------------------------------------------------------- whole columns at once
#
# The review writes its evidence and judges strikes for whole columns at once. The
# references below are the same rules one row at a time (the review as it was written
# first); on varied hand-made frames (ties, missing values, zero margins, large and
# negative amounts) both must give exactly the same text and the same verdicts.



def reference_unprofitable(inputs, settings=SETTINGS):
    profit = inputs["operating_profit"].fillna(0.0)
    failed = profit < -settings.unprofitable_min_loss
    evidence, repair = text.empty(inputs.index), text.empty(inputs.index)
    driver_costs = inputs[[f"cost_{driver}" for driver in COST_DRIVERS]].fillna(0.0)
    for row in inputs.index[failed]:
        costs = driver_costs.loc[row].sort_values(ascending=False)
        top = [(column.removeprefix("cost_"), amount) for column, amount in costs.items() if amount > 0][:2]
        named = ", ".join(f"{rv.DRIVER_WORDS[driver]} {amount:,.0f}" for driver, amount in top)
        margin = inputs.at[row, "gross_margin"]
        evidence[row] = (
            f"lost {-profit[row]:,.0f} after cost to serve {inputs.at[row, 'cost_to_serve']:,.0f}"
            f" on gross margin {margin:,.0f} (largest: {named})"
        )
        repairs = [rv.DRIVER_REPAIRS[driver] for driver, _ in top[:1]]
        if margin <= 0.05 * max(inputs.at[row, "revenue"], 1.0):
            repairs.insert(0, "reprice: stop discounts that leave no margin")
        repair[row] = "; ".join(repairs)
    return failed, evidence, repair


def reference_segment_median(inputs, column, among):
    medians = inputs[among].groupby(["quarter", "segment"])[column].median()
    keys = pd.MultiIndex.from_frame(inputs[["quarter", "segment"]])
    return pd.Series(medians.reindex(keys).to_numpy(), index=inputs.index)


def reference_headache(inputs, settings=SETTINGS):
    ratio = inputs["headache_ratio"].astype(float).fillna(0.0)
    minutes = inputs["service_minutes"].fillna(0.0)
    served = minutes > 0
    ranked = ratio.where(served).groupby(inputs["quarter"]).rank(pct=True, method="max")
    worst = ranked > 1 - settings.headache_worst_share
    typical = reference_segment_median(inputs.assign(_minutes=minutes), "_minutes", served)
    far_above = minutes >= settings.headache_min_multiple * typical.fillna(0.0)
    failed = (worst & far_above & served).fillna(False).astype(bool)
    support_hours = inputs["ticket_minutes"].fillna(0.0) / 60
    typical_hours = reference_segment_median(inputs.assign(_hours=support_hours), "_hours", inputs["orders"] > 0)
    rush_share = inputs["rush_orders"] / inputs["orders"].where(inputs["orders"] > 0)
    typical_rush = reference_segment_median(inputs.assign(_rush=rush_share), "_rush", inputs["orders"] > 0)
    evidence, repair = text.empty(inputs.index), text.empty(inputs.index)
    for row in inputs.index[failed]:
        parts, repairs = [], []
        if support_hours[row] > 0:
            parts.append(f"support {support_hours[row]:,.1f} h this quarter{criteria._times(support_hours[row], typical_hours[row])}")
            repairs.append(rv.DRIVER_REPAIRS["support"])
        if rush_share[row] >= 0.25:
            parts.append(f"{rush_share[row]:.0%} of orders rush (segment median {typical_rush[row]:.0%})")
            repairs.append(rv.DRIVER_REPAIRS["rush"])
        if inputs.at[row, "manual_orders"] > 0 and inputs.at[row, "manual_orders"] >= 0.5 * inputs.at[row, "orders"]:
            parts.append(f"{int(inputs.at[row, 'manual_orders'])} of {int(inputs.at[row, 'orders'])} orders keyed by hand")
            repairs.append(rv.DRIVER_REPAIRS["manual_entry"])
        minutes_, margin = inputs.at[row, "service_minutes"], inputs.at[row, "gross_margin"]
        per_margin = "no margin to cover it" if margin <= 0 else f"{minutes_ / margin * 100:,.0f} service minutes per 100 of margin"
        evidence[row] = "headache: " + "; ".join(parts + [per_margin])
        repair[row] = "; ".join(repairs) or rv.DRIVER_REPAIRS["order_handling"]
    return failed, evidence, repair


def reference_relationship(inputs, settings=SETTINGS):
    weights = settings.incident_weights
    points = sum(inputs[f"severity_{kind}"] * weight for kind, weight in weights.items())
    failed = points >= settings.incident_points_threshold
    evidence, repair = text.empty(inputs.index), text.empty(inputs.index)
    for row in inputs.index[failed]:
        parts = [
            f"{kind.replace('_', ' ')} (total severity {int(inputs.at[row, f'severity_{kind}'])})"
            for kind in weights
            if inputs.at[row, f"severity_{kind}"] > 0
        ]
        evidence[row] = f"{int(inputs.at[row, 'incidents'])} relationship incidents: " + ", ".join(parts)
        repair[row] = "hold prices; put the terms in a written agreement" if inputs.at[row, "severity_price_pressure"] > 0 else rv.DRIVER_REPAIRS["relationship"]
    return failed, evidence, repair


def reference_our_share(inputs):
    texts = text.empty(inputs.index)
    tickets, minutes, fixes = inputs["our_tickets"].fillna(0), inputs["our_ticket_minutes"].fillna(0.0), inputs["payment_our_fix"].fillna("")
    for row in inputs.index[(tickets > 0) | (fixes != "")]:
        parts = []
        if tickets[row] > 0:
            parts.append(f"we caused {int(tickets[row])} of their tickets ({minutes[row] / 60:,.1f} h), not counted against them")
        if fixes[row]:
            parts.append(fixes[row])
        texts[row] = "; ".join(parts)
    return texts


def varied_inputs(rows: int, seed: int) -> pd.DataFrame:
    """Review inputs with everything the evidence must cope with: equal driver costs,
    missing costs, zero and negative margins, large losses, no orders, many segments."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i % (rows // 3 + 1):05d}" for i in range(rows)],
            "quarter": rng.choice(QUARTERS, rows),
            "segment": rng.choice(["small-business", "enterprise", "public"], rows),
            "orders": rng.choice([0, 1, 2, 4, 10, 40, 1500], rows),
            "revenue": rng.choice([0.0, 0.5, 900.0, 12_345.675, 2.5e6, np.nan], rows),
            "gross_margin": rng.choice([-500.0, 0.0, 0.04, 25.5, 1500.0, 333_333.5, np.nan], rows),
            "operating_profit": rng.choice([-1e9, -1_234_567.5, -250.5, -251.0, -2.5, 100.0, np.nan], rows),
            "cost_to_serve": rng.choice([0.0, 2400.0, 1_000_000.49, 0.5, np.nan], rows),
            "ticket_minutes": rng.choice([0.0, 1.0, 3.0, 9.0, 90.0, 2400.0, 0.15 * 60, np.nan], rows),
            "service_minutes": rng.choice([0.0, 10.0, 100.0, 3000.0, 45_000.0, np.nan], rows),
            "headache_ratio": rng.choice([0.0, 0.2, 1.0, 5.0, 5.0, 50.0, np.nan], rows),
            "incidents": rng.choice([0, 1, 2, 3, 12], rows),
            "our_tickets": rng.choice([0, 0, 1, 5, 1200], rows),
            "our_ticket_minutes": rng.choice([0.0, 186.0, 3.0, 0.15 * 60, 1e7], rows),
            "payment_our_fix": rng.choice(["", "", "we invoiced late; not counted", "fix the dunning letter"], rows),
        }
    )
    frame["rush_orders"] = (frame["orders"] * rng.choice([0.0, 0.25, 0.5, 1 / 3, 1.0], rows)).astype(int)
    frame["manual_orders"] = (frame["orders"] * rng.choice([0.0, 0.5, 0.49, 1.0], rows)).astype(int)
    for kind in SETTINGS.incident_weights:
        frame[f"severity_{kind}"] = rng.choice([0, 0, 1, 2, 3, 9], rows)
    for driver in COST_DRIVERS:
        frame[f"cost_{driver}"] = rng.choice([0.0, 0.0, 100.0, 100.0, 1500.0, 600.5, -20.0, np.nan, 2_000_000.5], rows)
    return frame


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_evidence_for_whole_columns_equals_row_by_row(seed):
    inputs = varied_inputs(1500, seed)
    for reference, criterion in [
        (reference_unprofitable, rv.unprofitable(SETTINGS)),
        (reference_headache, rv.headache(SETTINGS)),
        (reference_relationship, rv.relationship(SETTINGS)),
    ]:
        failed, evidence, repair = reference(inputs)
        verdict = criterion.judge(inputs)
        assert failed.any(), criterion.name
        pd.testing.assert_series_equal(verdict.failed, failed, check_names=False)
        pd.testing.assert_series_equal(verdict.evidence, evidence)
        pd.testing.assert_series_equal(verdict.repair, repair)
    pd.testing.assert_series_equal(rv.our_share(inputs), reference_our_share(inputs))


def test_numbers_read_exactly_as_python_formats_them():
    rng = np.random.default_rng(7)
    values = np.concatenate(
        [
            rng.normal(0, 1e4, 20_000),
            rng.integers(-10**7, 10**7, 5_000) / 20,  # halves, the ties of rounding
            rng.integers(-10**6, 10**6, 5_000) / 200,  # x.xx5 near the ties of one decimal
            np.arange(-3000, 3000) * 0.05,
            [0.0, -0.0, 0.05, 0.15, 0.25, 0.35, 2.5, 3.5, -0.04, 999.95, 999_999.5, 1e15, 2.0**52, 2.0**53 + 2, -1e300, np.inf, -np.inf, np.nan],
        ]
    )
    for decimals, grouping, percent in [(0, True, False), (1, True, False), (1, False, False), (0, False, True), (2, True, False)]:
        spec = f"{',' if grouping else ''}.{decimals}{'%' if percent else 'f'}"
        expected = [format(value, spec) for value in values.tolist()]
        assert text.number(values, decimals, grouping=grouping, percent=percent).tolist() == expected, spec
    whole = np.array([0, 7, 999, 1000, 123_456_789, -5, -1000])
    assert text.whole(whole).tolist() == [str(int(v)) for v in whole.tolist()]
    assert text.whole(np.array([2.9, -2.9, 1e6])).tolist() == ["2", "-2", "1000000"]


def test_reasons_and_repairs_join_as_row_by_row():
    rng = np.random.default_rng(3)
    texts = ["", "", "", "nan", "a", "b", "a; b", "b; a", "a; ; c", "nan; d", "charge for rush delivery", "lost 1,000 (largest: x)"]
    columns = [rng.choice(texts, 5000).astype(object) for _ in range(4)]
    as_text = [pd.Series(column, dtype="str") for column in columns]
    stacked = np.column_stack(columns)
    assert text.join_columns(as_text, 5000).tolist() == text.join_rows(stacked)
    assert text.join_unique(columns, 5000).tolist() == text.join_rows(stacked, unique=True)
    with_missing = [np.where(rng.random(5000) < 0.1, None, column) for column in columns]
    assert text.join_unique(with_missing, 5000).tolist() == text.join_rows(np.column_stack(with_missing), unique=True)


def reference_assign_status(judged, customers_, quarter, settings, future_value_rank=None, p_alive=None):
    window = rv.window_of(quarter, settings)
    in_window = judged[judged["quarter"].isin(window)]
    struck = in_window[in_window["failed"]].sort_values("quarter", kind="stable")
    strike_lists = struck.groupby("customer_id")["quarter"].agg(list)
    latest_strike = struck.groupby("customer_id").last()
    card = customers_.set_index("customer_id")[[c for c in customers_.columns if c != "customer_id"]].copy()
    card["strike_quarters"] = strike_lists.reindex(card.index).apply(lambda q: q if isinstance(q, list) else [])
    card["strikes"] = card["strike_quarters"].str.len().astype(int)
    now = judged[judged["quarter"] == str(quarter)].set_index("customer_id")
    card["failing_now"] = now["failed"].reindex(card.index).fillna(False).astype(bool)
    latest = latest_strike.reindex(card.index)
    card["reasons"] = latest["reasons"].fillna("")
    stale = card["strikes"].gt(0) & ~card["failing_now"]
    card.loc[stale, "reasons"] = "in " + latest.loc[stale, "quarter"] + ": " + card.loc[stale, "reasons"]
    card["repairs"] = latest["repairs"].fillna("")
    shares = in_window[in_window["our_share"] != ""].sort_values("quarter", kind="stable").groupby("customer_id")["our_share"].last()
    card["our_share"] = shares.reindex(card.index).fillna("")
    status = pd.Series("healthy", index=card.index, dtype=object)
    status[card["strikes"] == 1] = "watch"
    status[card["strikes"] >= 2] = "final_notice"
    status[(card["strikes"] >= settings.strikes_for_let_go) & card["failing_now"]] = "let_go"
    if future_value_rank is not None and settings.protect_top_share > 0:
        rank = future_value_rank.reindex(card.index).fillna(0.0)
        status[status.isin(["let_go", "final_notice"]) & (rank > 1 - settings.protect_top_share)] = "protected"
    quarter_end = pd.Timestamp(quarter.end)
    status[(quarter_end - card["created_on"]).dt.days < settings.min_history_days] = "new"
    ended = card["ended_on"].notna() & (card["ended_on"] <= quarter_end)
    quiet = np.zeros(len(card), dtype=bool)
    if p_alive is not None:
        recent = [str(quarter.shift(-step)) for step in range(settings.inactive_quiet_quarters)]
        ordered = judged[judged["quarter"].isin(recent)].groupby("customer_id")["orders"].sum()
        quiet = (ordered.reindex(card.index).fillna(0).to_numpy() == 0) & (p_alive.reindex(card.index).fillna(1.0).to_numpy() < settings.inactive_p_alive_below)
    status[ended | quiet] = "inactive"
    card["status"] = pd.Categorical(status, categories=rv.STATUS_ORDER)
    card["action"] = [review_status._action(s, r) for s, r in zip(card["status"], card["repairs"])]
    card["strike_quarters"] = card["strike_quarters"].str.join(";")
    return card.reset_index().drop(columns=["failing_now", "repairs"])


@pytest.mark.parametrize("seed", [4, 5])
def test_status_for_all_customers_at_once_equals_the_plain_formulation(seed):
    rng = np.random.default_rng(seed)
    ids = [f"C{i:04d}" for i in range(400)]
    rows = [
        {"customer_id": cid, "quarter": quarter, "orders": int(rng.choice([0, 0, 3])), "failed": bool(rng.random() < 0.35),
         "reasons": str(rng.choice(["", "lost 900", "headache: support 2.0 h"])), "repairs": str(rng.choice(["", "shorten payment terms", "a; b"])),
         "our_share": str(rng.choice(["", "", "we caused 2 of their tickets (1.0 h), not counted against them"]))}
        for cid in ids[:380] + ["GHOST"]  # not a customer
        for quarter in QUARTERS
        if rng.random() < 0.9  # some quarters missing
    ]
    history = pd.DataFrame(rows)
    history["customer_id"] = history["customer_id"].astype(object)
    people = pd.DataFrame(
        {
            "customer_id": pd.array(ids, dtype="string"),
            "segment": "small-business",
            "created_on": pd.to_datetime(rng.choice(["2020-01-01", "2026-05-20", "2026-03-01"], len(ids))),
            "ended_on": pd.to_datetime(rng.choice([None, None, None, "2026-05-01", "2027-01-01"], len(ids))),
        }
    )
    rank = pd.Series(rng.random(len(ids)), index=pd.Index(ids, dtype="str"))
    p_alive = pd.Series(rng.random(len(ids)), index=pd.Index(ids, dtype="str")).iloc[::2]
    for quarter in (NOW, NOW.shift(-1), NOW.shift(1)):
        for args in [(), (rank,), (rank, p_alive)]:
            pd.testing.assert_frame_equal(
                assign_status(history, people, quarter, SETTINGS, *args), reference_assign_status(history, people, quarter, SETTINGS, *args)
            )
    over_time = rv.statuses_over_time(history, people, [NOW.shift(-1), NOW], SETTINGS, rank)
    for quarter in (NOW.shift(-1), NOW):
        expected = reference_assign_status(history, people, quarter, SETTINGS, rank).set_index("customer_id")["status"].astype(str)
        pd.testing.assert_series_equal(over_time[str(quarter)], expected, check_names=False)


def test_strike_history_marks_equal_the_pivot_table():
    rng = np.random.default_rng(9)
    history = judged_history({f"C{i:03d}": list(rng.random(4) < 0.4) for i in range(300)})
    history = history[rng.random(len(history)) < 0.85]  # quarters without a row
    history = pd.concat([history, history.iloc[:20].assign(failed=True)], ignore_index=True)  # twice: any failing
    ids = pd.Series([f"C{i:03d}" for i in range(320)], dtype="string")  # 20 never judged
    window = rv.window_of(NOW, SETTINGS)
    failed = history[history["quarter"].isin(window)].pivot_table(index="customer_id", columns="quarter", values="failed", aggfunc="any")
    failed = failed.reindex(index=ids, columns=window)
    expected = ["".join("✗" if flag is True else ("✓" if flag is False else "·") for flag in row) for row in failed.astype(object).to_numpy()]
    assert rv.strike_history(history, ids, window).tolist() == expected
    assert set(expected) > {"····", "✓✓✓✓"}


# --------------------------------------------------------------------------- grounds to let go


def judged_with_criteria(late=(True,) * 4, profit=(200.0,) * 4, **failing) -> pd.DataFrame:
    """One customer's four judged quarters with the criteria's verdicts: late payment
    in the quarters ``late`` marks, any other criterion failing where ``failing`` says."""
    history = judged_history({"A": [bool(x) or any(f[i] for f in failing.values()) for i, x in enumerate(late)]})
    history["fail_payment"] = list(late)
    history["late_flag"] = list(late)
    history["nonpayment_flag"] = list(failing.pop("nonpayment", (False,) * 4))
    history["fail_payment"] |= history["nonpayment_flag"]
    for name in ("unprofitable", "headache", "relationship"):
        history[f"fail_{name}"] = list(failing.get(name, (False,) * 4))
    history["failed"] = history[[c for c in history.columns if c.startswith("fail_")]].any(axis=1)
    history["operating_profit"] = list(profit)
    return history


def test_late_payment_by_a_customer_who_pays_its_way_stops_at_final_notice():
    card = assign_status(judged_with_criteria(), customers("A"), NOW, SETTINGS).iloc[0]
    assert card["strikes"] == 4 and card["status"] == "final_notice"
    assert "no grounds to let go: operating profit after cost to serve over the last 4 quarters is 800" in card["reasons"]
    assert card["action"].startswith("present the issue to the customer")


def test_a_loss_over_the_window_is_grounds_to_let_go():
    # a loss-making quarter alone is not, when the window as a whole pays its way ...
    unprofitable = (False, True, False, False)
    card = assign_status(judged_with_criteria(profit=(300.0, -400.0, 300.0, 300.0), unprofitable=unprofitable), customers("A"), NOW, SETTINGS)
    assert card.iloc[0]["status"] == "final_notice"
    # ... a loss beyond the materiality threshold over the window is
    card = assign_status(judged_with_criteria(profit=(-100.0, -100.0, -100.0, -51.0)), customers("A"), NOW, SETTINGS).iloc[0]
    assert card["status"] == "let_go" and "no grounds" not in card["reasons"]
    card = assign_status(judged_with_criteria(profit=(-100.0, -100.0, -50.0, 0.0)), customers("A"), NOW, SETTINGS).iloc[0]
    assert card["status"] == "final_notice", "a loss of 250 over the window is not more than the threshold"


@pytest.mark.parametrize("criterion", ["nonpayment", "headache", "relationship"])
def test_non_payment_headache_and_incidents_are_grounds(criterion):
    one_quarter = (False, False, True, False)
    card = assign_status(judged_with_criteria(**{criterion: one_quarter}), customers("A"), NOW, SETTINGS).iloc[0]
    assert card["status"] == "let_go"


@pytest.mark.parametrize("cap, status", [("watch", "watch"), ("final_notice", "final_notice"), ("let_go", "let_go")])
def test_how_far_a_customer_without_grounds_goes_is_a_setting(cap, status):
    settings = ReviewSettings(without_grounds_max_status=cap)
    assert assign_status(judged_with_criteria(), customers("A"), NOW, settings).iloc[0]["status"] == status
    statuses = rv.statuses_over_time(judged_with_criteria(), customers("A"), [NOW], settings)
    assert statuses.loc["A", str(NOW)] == status


def test_a_history_without_the_criteria_cannot_show_missing_grounds():
    card = assign_status(judged_history({"A": [True, True, True, True]}), customers("A"), NOW, SETTINGS).iloc[0]
    assert card["status"] == "let_go"


# --------------------------------------------------------------------------- onboarding grace


def onboarding_inputs(created: str, orders: tuple[int, ...]) -> pd.DataFrame:
    """Forty ordinary small-business accounts and one account ``NEW`` over four quarters;
    in the last, ``NEW`` needs ten times the usual support while its orders are ``orders``."""
    frames = []
    for quarter, count in zip(QUARTERS, orders):
        ordinary = [inputs_frame(customer_id=f"C{i}", quarter=quarter, headache_ratio=0.2 + i / 1000, created_on=pd.Timestamp("2020-01-01"))
                    for i in range(40)]
        needy = quarter == QUARTERS[-1]
        new = inputs_frame(customer_id="NEW", quarter=quarter, orders=count, created_on=pd.Timestamp(created),
                           headache_ratio=5.0 if needy else 0.2, service_minutes=3000.0 if needy else 300.0,
                           ticket_minutes=2400.0 if needy else 60.0)
        frames.extend([*ordinary, new])
    return pd.concat(frames, ignore_index=True)


def test_a_young_account_at_record_orders_is_onboarding_not_a_headache():
    judged = judge_quarters(onboarding_inputs("2025-07-01", (2, 3, 4, 6)), standard_criteria(SETTINGS))
    new = judged[(judged["customer_id"] == "NEW") & (judged["quarter"] == QUARTERS[-1])].iloc[0]
    assert not new["fail_headache"]
    assert new["notes"] == (
        "onboarding: high support in the account's quarter 4 while orders grow (best quarter before: 4, 6 orders now); "
        "not counted as a headache"
    )
    history = judged.assign(created_on=pd.Timestamp("2025-07-01"), ended_on=pd.NaT)
    people = pd.DataFrame({"customer_id": ["NEW"], "segment": ["small-business"], "created_on": pd.to_datetime(["2025-07-01"]),
                           "ended_on": pd.to_datetime([None])})
    card = assign_status(history, people, NOW, SETTINGS).iloc[0]
    assert card["status"] == "healthy" and "onboarding" in card["reasons"]


@pytest.mark.parametrize(
    "created, orders, why",
    [
        ("2020-01-01", (2, 3, 4, 6), "an old account"),
        ("2025-07-01", (2, 6, 4, 5), "orders below an earlier quarter's"),
        ("2026-04-01", (0, 0, 0, 6), "its first quarter with orders: no growth seen yet"),
    ],
)
def test_no_grace_without_youth_and_growth(created, orders, why):
    judged = judge_quarters(onboarding_inputs(created, orders), standard_criteria(SETTINGS))
    new = judged[(judged["customer_id"] == "NEW") & (judged["quarter"] == QUARTERS[-1])].iloc[0]
    assert new["fail_headache"], why


def test_the_grace_is_a_setting():
    settings = ReviewSettings(onboarding_grace_quarters=0)
    judged = judge_quarters(onboarding_inputs("2025-07-01", (2, 3, 4, 6)), standard_criteria(settings))
    assert judged.loc[(judged["customer_id"] == "NEW") & (judged["quarter"] == QUARTERS[-1]), "fail_headache"].iloc[0]


def test_a_support_led_loss_while_onboarding_is_not_counted():
    frame = onboarding_inputs("2025-07-01", (2, 3, 4, 6))
    last = (frame["customer_id"] == "NEW") & (frame["quarter"] == QUARTERS[-1])
    frame.loc[last, ["operating_profit", "cost_support"]] = [-900.0, 1500.0]
    judged = judge_quarters(frame, standard_criteria(SETTINGS))
    row = judged[last.to_numpy()].iloc[0]
    assert not row["fail_unprofitable"] and "its support is not counted as a loss" in row["notes"]
    frame.loc[last, ["cost_support", "cost_rush"]] = [100.0, 1500.0]  # a loss led by rush orders is not onboarding
    assert judge_quarters(frame, standard_criteria(SETTINGS))[last.to_numpy()].iloc[0]["fail_unprofitable"]

"""The demo world: determinism, the data contract, the planted archetypes, violations."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from custvalue.demo import (
    ARCHETYPES,
    CHANNELS,
    CHRONIC_ARCHETYPES,
    HOSTILE_TEXTS,
    INCIDENT_KINDS,
    SEGMENTS,
    TABLE_NAMES,
    TRUTH_COLUMNS,
    DemoError,
    DemoSpec,
    generate_world,
    tables_as_text,
    write_tables,
    write_world,
)
from custvalue.testing import inject_violations

SPEC = DemoSpec(n_customers=500, seed=11)
END = pd.Timestamp(SPEC.end)
LAST_FOUR = ["2025Q3", "2025Q4", "2026Q1", "2026Q2"]
BAD_QUARTER = "2025Q4"
ID_COLUMN = {
    "customers": "customer_id",
    "orders": "order_id",
    "invoices": "invoice_id",
    "support_tickets": "ticket_id",
    "incidents": "incident_id",
}
EVENT_DATE = {"orders": "order_date", "invoices": "issue_date", "support_tickets": "opened_on", "incidents": "date"}


@pytest.fixture(scope="module")
def world():
    return generate_world(SPEC)


@pytest.fixture(scope="module")
def written(world, tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    paths = write_world(world, root / "raw", root / "truth.csv")
    return root, paths


@pytest.fixture(scope="module")
def raw_text(written):
    """The tables exactly as a reader of the CSV files sees them (every cell text)."""
    _, paths = written
    return {name: pd.read_csv(paths[name], dtype=str, keep_default_na=False) for name in TABLE_NAMES}


@pytest.fixture(scope="module")
def truth(world):
    return world.truth.set_index("customer_id")


def ids_of(truth, archetype):
    return truth.index[truth["archetype"] == archetype]


def quarter(series):
    return series.dt.to_period("Q").astype(str)


# --------------------------------------------------------------------------- contract checker


def contract_violations(tables: dict[str, pd.DataFrame], end: pd.Timestamp) -> set[tuple[str, int, str]]:
    """Every (table, row, rule) broken in text tables; rows numbered from 1 like the contract."""
    found: set[tuple[str, int, str]] = set()

    def flag(name, mask, rule):
        for position in np.flatnonzero(np.asarray(mask, dtype=bool)):
            found.add((name, int(position) + 1, rule))

    def dates(series):
        return pd.to_datetime(series.where(series != ""), format="%Y-%m-%d", errors="coerce")

    def numbers(series):
        return pd.to_numeric(series.where(series != ""), errors="coerce")

    def bad_date(series, optional=False):
        present = series != ""
        return (present & dates(series).isna()) | (~present & (not optional))

    def bad_bool(series):
        return ~series.isin(["true", "false"])

    customers = tables["customers"]
    flag("customers", customers["customer_id"] == "", "empty_customer_id")
    flag("customers", (customers["customer_id"] != "") & customers["customer_id"].duplicated(), "duplicate_id")
    flag("customers", customers["name"] == "", "empty_name")
    flag("customers", ~customers["segment"].isin(SEGMENTS), "unknown_segment")
    flag("customers", bad_date(customers["created_on"]) | bad_date(customers["ended_on"], optional=True), "invalid_date")
    employees = numbers(customers["employees"])
    flag("customers", (customers["employees"] != "") & ~(employees >= 0), "invalid_employees")
    created, ended = dates(customers["created_on"]), dates(customers["ended_on"])
    flag("customers", (ended < created) | (created > end) | (ended > end), "event_out_of_range")
    known = customers.loc[customers["customer_id"] != ""].drop_duplicates("customer_id").set_index("customer_id")
    known_created, known_ended = dates(known["created_on"]), dates(known["ended_on"])

    def common(name, frame, date_columns):
        flag(name, frame[ID_COLUMN[name]].duplicated(), "duplicate_id")
        flag(name, ~frame["customer_id"].isin(known.index), "unknown_customer")
        flag(name, np.logical_or.reduce([bad_date(frame[c], optional=(c == "paid_date")) for c in date_columns]), "invalid_date")
        when = dates(frame[EVENT_DATE[name]])
        lo = frame["customer_id"].map(known_created)
        hi = frame["customer_id"].map(known_ended)
        flag(name, (when < lo) | (when > hi) | (when > end), "event_out_of_range")

    orders = tables["orders"]
    common("orders", orders, ["order_date"])
    revenue, returned = numbers(orders["revenue"]), numbers(orders["returned_value"])
    flag("orders", ~(revenue >= 0), "negative_revenue")
    flag("orders", ~(numbers(orders["cost_of_goods"]) >= 0), "negative_cost_of_goods")
    flag("orders", ~(numbers(orders["discount"]) >= 0), "negative_discount")
    lines = numbers(orders["lines"])
    flag("orders", ~(lines % 1 == 0), "invalid_lines")
    flag("orders", lines < 1, "lines_below_one")
    flag("orders", bad_bool(orders["rush"]) | bad_bool(orders["manual"]), "invalid_boolean")
    flag("orders", ~(returned >= 0), "negative_returned_value")
    flag("orders", (revenue >= 0) & (returned > revenue), "returned_exceeds_revenue")

    invoices = tables["invoices"]
    common("invoices", invoices, ["issue_date", "due_date", "paid_date"])
    issue, due, paid = dates(invoices["issue_date"]), dates(invoices["due_date"]), dates(invoices["paid_date"])
    amount, paid_amount = numbers(invoices["amount"]), numbers(invoices["paid_amount"])
    written_off = numbers(invoices["written_off"])
    flag("invoices", due < issue, "due_before_issue")
    flag("invoices", paid < issue, "paid_before_issue")
    flag("invoices", ~(amount > 0), "nonpositive_amount")
    flag("invoices", ~(paid_amount >= 0), "negative_paid_amount")
    flag("invoices", paid_amount > amount, "paid_exceeds_amount")
    flag("invoices", ~((written_off >= 0) & (written_off <= amount)), "written_off_out_of_range")
    flag("invoices", bad_bool(invoices["disputed"]), "invalid_boolean")
    paid_hi = invoices["customer_id"].map(known_ended)
    flag("invoices", (paid > end) | (paid > paid_hi), "event_out_of_range")

    tickets = tables["support_tickets"]
    common("support_tickets", tickets, ["opened_on"])
    flag("support_tickets", ~(numbers(tickets["minutes"]) >= 0), "negative_minutes")
    flag("support_tickets", ~tickets["channel"].isin(CHANNELS), "unknown_channel")
    flag("support_tickets", bad_bool(tickets["caused_by_us"]) | bad_bool(tickets["escalated"]), "invalid_boolean")

    incidents = tables["incidents"]
    common("incidents", incidents, ["date"])
    flag("incidents", ~incidents["kind"].isin(INCIDENT_KINDS), "unknown_kind")
    severity = numbers(incidents["severity"])
    flag("incidents", ~severity.isin([1, 2, 3]), "severity_out_of_range")
    return found


# --------------------------------------------------------------------------- determinism and files


def test_same_seed_gives_identical_files_and_other_seed_differs(world, written, tmp_path):
    again = generate_world(SPEC)
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(world.tables[name], again.tables[name])
    pd.testing.assert_frame_equal(world.truth, again.truth)
    _, first = written
    second = write_world(again, tmp_path / "raw", tmp_path / "truth.csv")
    for name, path in first.items():
        assert path.read_bytes() == second[name].read_bytes(), name
    other = generate_world(DemoSpec(n_customers=SPEC.n_customers, seed=SPEC.seed + 1))
    assert not other.tables["orders"].equals(world.tables["orders"])
    assert not other.truth["archetype"].equals(world.truth["archetype"])


def test_written_files_follow_the_csv_conventions(written, raw_text):
    root, paths = written
    assert {path.name for path in (root / "raw").iterdir()} == {f"{name}.csv" for name in TABLE_NAMES}
    assert paths["truth"].parent == root
    assert list(raw_text["orders"].columns) == [
        "order_id", "customer_id", "order_date", "revenue", "cost_of_goods", "discount",
        "lines", "rush", "manual", "returned_value",
    ]  # fmt: skip
    assert set(raw_text["orders"]["rush"]) == {"true", "false"}
    assert raw_text["orders"]["order_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert raw_text["invoices"]["amount"].str.fullmatch(r"\d+\.\d{2}").all()
    assert (raw_text["invoices"]["paid_date"] == "").any()  # open invoices: empty cell
    assert not any(path.name.endswith(".tmp") for path in root.rglob("*"))


def test_truth_must_stay_outside_the_raw_folder(world, tmp_path):
    with pytest.raises(DemoError):
        write_world(world, tmp_path / "raw", tmp_path / "raw" / "truth.csv")


def test_parquet_has_typed_dates_and_the_same_rows(world, tmp_path):
    import pyarrow.parquet as pq

    paths = write_world(world, tmp_path / "raw", tmp_path / "truth.parquet", fmt="parquet")
    schema = pq.read_schema(paths["invoices"])
    assert str(schema.field("issue_date").type) == "date32[day]"
    assert str(schema.field("disputed").type) == "bool"
    for name in TABLE_NAMES:
        assert pq.read_metadata(paths[name]).num_rows == len(world.tables[name])


def test_spec_validation():
    with pytest.raises(DemoError):
        DemoSpec(n_customers=50)
    with pytest.raises(DemoError):
        DemoSpec(years=1)
    assert DemoSpec(end="2025-12-31").end == date(2025, 12, 31)


# --------------------------------------------------------------------------- the contract


def test_clean_world_satisfies_the_contract(raw_text):
    assert contract_violations(raw_text, END) == set()


def test_clean_world_shape(world):
    customers = world.tables["customers"]
    assert customers["customer_id"].is_unique and len(customers) == SPEC.n_customers
    shares = customers["segment"].value_counts(normalize=True)
    assert 0.03 <= shares["enterprise"] <= 0.08
    assert 0.20 <= shares["mid-market"] <= 0.30
    assert 0.64 <= shares["small-business"] <= 0.76
    invoices = world.tables["invoices"]
    open_ = invoices["paid_date"].isna()
    assert (invoices.loc[~open_, "paid_amount"] == invoices.loc[~open_, "amount"]).all()
    written = invoices["written_off"] > 0
    assert np.allclose(invoices.loc[written, "written_off"] + invoices.loc[written, "paid_amount"], invoices.loc[written, "amount"])
    assert (invoices["due_date"] - invoices["issue_date"]).dt.days.eq(30).all()
    tickets = world.tables["support_tickets"]
    ordinary = tickets[tickets["customer_id"].isin(world.truth.loc[world.truth["archetype"] == "ordinary", "customer_id"])]
    assert 0.10 <= ordinary["caused_by_us"].mean() <= 0.20
    assert ordinary.loc[ordinary["channel"] == "onsite", "minutes"].min() >= 120
    assert ordinary.loc[ordinary["channel"] != "onsite", "minutes"].between(10, 60).all()


def test_revenue_is_skewed_and_q4_peaks(world):
    orders = world.tables["orders"]
    revenue = orders.groupby("customer_id")["revenue"].sum().sort_values(ascending=False)
    assert revenue.head(len(revenue) // 10).sum() / revenue.sum() > 0.5
    per_quarter = orders.groupby(quarter(orders["order_date"])).size()
    for year in (2023, 2024, 2025):
        assert per_quarter[f"{year}Q4"] > 1.15 * per_quarter[f"{year}Q3"]


def test_customers_arrive_and_some_churn_silently(world, truth):
    customers = world.tables["customers"].set_index("customer_id")
    assert (customers["created_on"] > pd.Timestamp("2024-07-01")).sum() >= 0.1 * len(customers)
    churned = truth.index[truth["silent_churn"]]
    assert len(churned) >= 0.1 * len(truth)
    assert customers.loc[churned, "ended_on"].isna().all()
    orders = world.tables["orders"]
    last_order = orders.groupby("customer_id")["order_date"].max()
    quiet = last_order.reindex(churned).dropna() < END - pd.Timedelta(days=180)
    assert quiet.sum() >= 0.25 * len(churned)


# --------------------------------------------------------------------------- ground truth


def test_every_archetype_is_planted_with_its_expected_status(world, truth):
    assert tuple(world.truth.columns) == TRUTH_COLUMNS
    assert sorted(world.truth["customer_id"]) == sorted(world.tables["customers"]["customer_id"])
    counts = truth["archetype"].value_counts()
    assert set(counts.index) == set(ARCHETYPES)
    assert counts.drop("ordinary").min() >= 3
    # A profitable late payer is repaired, never let go: at most a final notice.
    expected = {a: "let_go" for a in CHRONIC_ARCHETYPES} | {
        "late_payer_small": "final_notice",
        "one_bad_quarter": "watch", "already_left": "inactive", "profitable_late_enterprise": "healthy",
        "growing_small": "healthy", "we_caused": "healthy", "ordinary": "healthy",
    }  # fmt: skip
    assert (truth["expected_status"] == truth["archetype"].map(expected)).all()
    assert (truth["flagged_expected"] == truth["expected_status"].isin(["let_go", "final_notice", "watch"])).all()
    assert truth["detectable"].all() and not truth["single_order"].any()
    chronic = truth[truth["archetype"].isin(CHRONIC_ARCHETYPES)]
    assert (chronic["expected_strikes"] == 4).all()
    assert all(set(LAST_FOUR) <= set(q.split(";")) for q in chronic["bad_quarters"])
    one_bad = truth[truth["archetype"] == "one_bad_quarter"]
    assert (one_bad["bad_quarters"] == BAD_QUARTER).all() and (one_bad["expected_strikes"] == 1).all()
    fine = truth[truth["archetype"].isin(["ordinary", "profitable_late_enterprise", "growing_small", "we_caused"])]
    assert (fine["bad_quarters"] == "").all() and (fine["expected_strikes"] == 0).all()
    segments = world.tables["customers"].set_index("customer_id")["segment"]
    assert (truth["segment"] == segments.reindex(truth.index)).all()


def test_chronic_customers_are_active_in_every_recent_quarter(world, truth):
    orders = world.tables["orders"]
    active = orders.assign(q=quarter(orders["order_date"])).groupby("customer_id")["q"].agg(set)
    for customer in truth.index[truth["archetype"].isin(CHRONIC_ARCHETYPES)]:
        assert set(truth.at[customer, "bad_quarters"].split(";")) <= active[customer], customer


# --------------------------------------------------------------------------- planted behaviour


def test_support_hog_costs_far_more_support_time_than_its_peers(world, truth):
    tickets = world.tables["support_tickets"].assign(q=lambda t: quarter(t["opened_on"]))
    minutes = tickets.groupby(["customer_id", "q"])["minutes"].sum()
    ordinary = truth.index[(truth["archetype"] == "ordinary") & ~truth["silent_churn"]]
    for segment in ("small-business", "mid-market"):
        peers = ordinary[truth.loc[ordinary, "segment"] == segment]
        grid = pd.MultiIndex.from_product([peers, LAST_FOUR], names=["customer_id", "q"])
        median = minutes.reindex(grid, fill_value=0).median()
        hogs = ids_of(truth, "support_hog")
        hogs = hogs[truth.loc[hogs, "segment"] == segment]
        for customer in hogs:
            for q in truth.at[customer, "bad_quarters"].split(";"):
                assert minutes.get((customer, q), 0) >= 3 * max(median, 1), (customer, q)
    hog_tickets = tickets[tickets["customer_id"].isin(ids_of(truth, "support_hog"))]
    assert hog_tickets["caused_by_us"].mean() < 0.15
    assert hog_tickets["channel"].isin(["phone", "onsite"]).mean() > 0.5


def test_rush_addict_orders_small_rushed_and_by_hand(world, truth):
    orders = world.tables["orders"]
    rushers = orders[orders["customer_id"].isin(ids_of(truth, "rush_addict"))]
    per_customer = rushers.groupby("customer_id").agg(rush=("rush", "mean"), manual=("manual", "mean"), lines=("lines", "max"))
    assert (per_customer["rush"] >= 0.6).all()
    assert (per_customer["manual"] >= 0.45).all()
    assert (per_customer["lines"] <= 2).all()
    ordinary = orders[orders["customer_id"].isin(ids_of(truth, "ordinary"))]
    assert ordinary["rush"].mean() < 0.1
    assert rushers["revenue"].median() < 0.3 * ordinary["revenue"].median()


def test_price_pressurer_has_thin_margins_and_pressure_incidents(world, truth):
    orders = world.tables["orders"].assign(margin=lambda o: o["revenue"] - o["cost_of_goods"])
    by_customer = orders.groupby("customer_id")[["revenue", "margin", "discount"]].sum()
    by_customer["gm"] = by_customer["margin"] / by_customer["revenue"]
    pressurers = ids_of(truth, "price_pressurer")
    mid_ordinary = truth.index[(truth["archetype"] == "ordinary") & (truth["segment"] == "mid-market")]
    assert (by_customer.loc[pressurers, "gm"] < 0.12).all()
    assert by_customer.loc[by_customer.index.intersection(mid_ordinary), "gm"].median() > 0.2
    assert (by_customer.loc[pressurers, "discount"] / (by_customer.loc[pressurers, "revenue"] + by_customer.loc[pressurers, "discount"]) > 0.15).all()
    incidents = world.tables["incidents"].assign(q=lambda i: quarter(i["date"]))
    for customer in pressurers:
        mine = incidents[incidents["customer_id"] == customer]
        for q in truth.at[customer, "bad_quarters"].split(";"):
            kinds = set(mine.loc[mine["q"] == q, "kind"])
            assert {"price_pressure", "unreasonable_demand"} <= kinds, (customer, q)


def lateness(world):
    invoices = world.tables["invoices"]
    paid = invoices[invoices["paid_date"].notna()]
    return paid.assign(late=(paid["paid_date"] - paid["due_date"]).dt.days)


def test_late_payer_small_is_late_while_small_peers_pay_on_time(world, truth):
    paid = lateness(world)
    late = paid[paid["customer_id"].isin(ids_of(truth, "late_payer_small"))]
    assert late["late"].between(40, 70).all()
    small_ordinary = truth.index[(truth["archetype"] == "ordinary") & (truth["segment"] == "small-business")]
    peers = paid[paid["customer_id"].isin(small_ordinary)]
    assert -5 <= peers["late"].median() <= 5
    assert (peers.groupby("customer_id")["late"].median() < 40).all()


def test_profitable_late_enterprise_is_late_like_its_peers_and_profitable(world, truth):
    paid = lateness(world)
    plan = ids_of(truth, "profitable_late_enterprise")
    medians = paid[paid["customer_id"].isin(plan)].groupby("customer_id")["late"].median()
    assert medians.between(28, 45).all()
    enterprise = truth.index[(truth["archetype"] == "ordinary") & (truth["segment"] == "enterprise")]
    assert 18 <= paid[paid["customer_id"].isin(enterprise)]["late"].median() <= 37
    orders = world.tables["orders"]
    mine = orders[orders["customer_id"].isin(plan)]
    assert (mine["revenue"].sum() - mine["cost_of_goods"].sum()) / mine["revenue"].sum() > 0.35
    revenue = orders.groupby("customer_id")["revenue"].sum()
    assert (revenue.reindex(plan) > revenue.quantile(0.9)).all()


def test_non_payer_leaves_many_invoices_unpaid_and_written_off(world, truth):
    invoices = world.tables["invoices"]
    old = invoices[invoices["due_date"] + pd.Timedelta(days=120) <= END]
    mine = old[old["customer_id"].isin(ids_of(truth, "non_payer"))]
    share = (mine["written_off"] > 0).groupby(mine["customer_id"]).mean()
    assert (share >= 0.2).all() and share.mean() >= 0.3
    ordinary = old[old["customer_id"].isin(ids_of(truth, "ordinary"))]
    assert (ordinary["written_off"] > 0).mean() < 0.01


def test_abusive_customers_have_severe_incidents_every_quarter(world, truth):
    incidents = world.tables["incidents"].assign(q=lambda i: quarter(i["date"]))
    for customer in ids_of(truth, "abusive"):
        mine = incidents[(incidents["customer_id"] == customer) & (incidents["severity"] >= 2)]
        for q in truth.at[customer, "bad_quarters"].split(";"):
            assert {"abusive_conduct", "staff_avoidance"} <= set(mine.loc[mine["q"] == q, "kind"]), (customer, q)
    others = incidents[incidents["customer_id"].isin(ids_of(truth, "ordinary"))]
    assert (others["severity"] == 1).all() and not (others["kind"] == "abusive_conduct").any()


def test_growing_small_is_young_and_accelerating(world, truth):
    customers = world.tables["customers"].set_index("customer_id")
    orders = world.tables["orders"].assign(q=lambda o: quarter(o["order_date"]))
    quarters = pd.period_range("2023Q3", "2026Q2", freq="Q").astype(str)
    for customer in ids_of(truth, "growing_small"):
        created_q = customers.at[customer, "created_on"].to_period("Q")
        age = (pd.Period("2026Q2", "Q") - created_q).n + 1
        assert 3 <= age <= 8
        counts = orders[orders["customer_id"] == customer].groupby("q").size().reindex(quarters, fill_value=0)
        since = counts[str(created_q + 1):]  # the full quarters of its life
        assert since.is_monotonic_increasing, "steady growth"
        if age >= 5:
            assert since.iloc[-1] >= 2 * max(since.iloc[0], 1)
    tickets = world.tables["support_tickets"].assign(q=lambda t: quarter(t["opened_on"]))
    for customer in ids_of(truth, "growing_small"):
        created_q = customers.at[customer, "created_on"].to_period("Q")
        own = tickets[tickets["customer_id"] == customer].groupby("q").size()
        onboarding = [str(created_q + 1), str(created_q + 2)]
        assert own.reindex(onboarding, fill_value=0).iloc[0] >= 3 or str(created_q + 1) > "2026Q2", "onboarding support"
    paid = lateness(world)
    assert paid[paid["customer_id"].isin(ids_of(truth, "growing_small"))]["late"].max() <= 5


def test_we_caused_tickets_and_disputes_are_our_fault(world, truth):
    tickets = world.tables["support_tickets"]
    ours = tickets[tickets["customer_id"].isin(ids_of(truth, "we_caused"))]
    assert ours["caused_by_us"].groupby(ours["customer_id"]).mean().min() >= 0.85
    per_quarter = ours.groupby(["customer_id", quarter(ours["opened_on"])]).size()
    grid = pd.MultiIndex.from_product([ids_of(truth, "we_caused"), LAST_FOUR])
    assert per_quarter.reindex(grid, fill_value=0).min() >= 3  # lots of tickets every quarter
    invoices = world.tables["invoices"]
    disputed = invoices.groupby(invoices["customer_id"].map(truth["archetype"]))["disputed"].mean()
    assert disputed["we_caused"] >= 5 * disputed["ordinary"]
    incidents = world.tables["incidents"]
    assert not incidents["customer_id"].isin(ids_of(truth, "we_caused")).any()


def test_one_bad_quarter_is_bad_only_in_that_quarter(world, truth):
    incidents = world.tables["incidents"].assign(q=lambda i: quarter(i["date"]))
    tickets = world.tables["support_tickets"].assign(q=lambda t: quarter(t["opened_on"]))
    for customer in ids_of(truth, "one_bad_quarter"):
        mine = incidents[incidents["customer_id"] == customer]
        assert len(mine) == 1
        assert mine.iloc[0][["q", "kind", "severity"]].tolist() == [BAD_QUARTER, "abusive_conduct", 3]
        theirs = tickets[(tickets["customer_id"] == customer) & ~tickets["caused_by_us"]]
        per_q = theirs.groupby("q")["minutes"].sum()
        others = per_q.drop(BAD_QUARTER, errors="ignore").reindex(LAST_FOUR[:1] + LAST_FOUR[2:], fill_value=0)
        assert per_q.get(BAD_QUARTER, 0) >= 3 * max(others.max(), 60), customer


def test_already_left_customers_have_no_events_after_leaving(world, truth):
    customers = world.tables["customers"].set_index("customer_id")
    left = ids_of(truth, "already_left")
    ended = customers.loc[left, "ended_on"]
    assert ended.notna().all()
    assert customers.loc[truth.index.difference(left), "ended_on"].isna().all()
    assert quarter(ended).isin(["2025Q1", "2025Q2", "2025Q3", "2025Q4"]).all()
    for name, column in EVENT_DATE.items():
        frame = world.tables[name]
        frame = frame[frame["customer_id"].isin(left)]
        assert (frame[column] <= frame["customer_id"].map(ended)).all(), name
    invoices = world.tables["invoices"]
    theirs = invoices[invoices["customer_id"].isin(left)]
    assert (theirs["paid_date"].dropna() <= theirs.loc[theirs["paid_date"].notna(), "customer_id"].map(ended)).all()
    assert (theirs["paid_date"].notna() | (theirs["written_off"] > 0)).all()  # nothing left open
    assert (truth.loc[left, "behaviour"] != "ordinary").any() and (truth.loc[left, "behaviour"] == "ordinary").any()


def test_end_date_inside_a_quarter_moves_the_quarters():
    world = generate_world(DemoSpec(n_customers=200, seed=3, end=date(2026, 5, 15)))
    truth = world.truth
    assert (truth.loc[truth["archetype"] == "one_bad_quarter", "bad_quarters"] == "2025Q3").all()
    assert max(frame[EVENT_DATE[name]].max() for name, frame in world.tables.items() if name in EVENT_DATE) <= pd.Timestamp("2026-05-15")
    assert world.tables["invoices"]["paid_date"].max() <= pd.Timestamp("2026-05-15")


# --------------------------------------------------------------------------- untrusted text


def test_hostile_names_and_notes_survive_the_csv_round_trip(world, tmp_path):
    hostile = generate_world(DemoSpec(n_customers=SPEC.n_customers, seed=SPEC.seed, hostile_names=True))
    names = hostile.tables["customers"]["name"]
    assert set(HOSTILE_TEXTS) <= set(names)
    assert names.str.match(r"[=+\-@]").sum() >= 4 and names.str.contains("<script>", regex=False).any()
    flagged = hostile.truth.set_index("customer_id")
    hostile_ids = flagged.index[flagged["hostile_name"]]
    assert set(names[hostile.tables["customers"]["customer_id"].isin(hostile_ids)]) <= set(HOSTILE_TEXTS)
    assert flagged.loc[hostile_ids, "expected_status"].eq("let_go").any()
    assert hostile.tables["incidents"]["note"].isin(HOSTILE_TEXTS).sum() >= len(HOSTILE_TEXTS)
    for name in ("orders", "invoices", "support_tickets"):  # only names and notes change
        pd.testing.assert_frame_equal(hostile.tables[name], world.tables[name])
    paths = write_tables(hostile.tables, tmp_path / "raw")
    back = pd.read_csv(paths["customers"], dtype=str, keep_default_na=False)
    assert back["name"].tolist() == names.tolist()
    ordinary_names = world.tables["customers"]["name"]
    assert ordinary_names.str.contains("'").any() and ordinary_names.str.contains("&").any()
    assert ordinary_names.str.contains("[^\x00-\x7f]").any()


# --------------------------------------------------------------------------- violations


def test_injected_violations_are_exactly_the_labelled_rows(world, tmp_path):
    tables, injected = inject_violations(world.tables, seed=5)
    clean = tables_as_text(world.tables)
    for name in TABLE_NAMES:  # the original rows come first, unchanged
        head = tables[name].iloc[: len(clean[name])].reset_index(drop=True)
        pd.testing.assert_frame_equal(head, clean[name].reset_index(drop=True), check_dtype=False)
    expected = {(row.table, int(row.row), row.rule) for row in injected.itertuples()}
    assert len(expected) == len(injected) >= 20
    assert {
        "invalid_date", "negative_revenue", "negative_minutes", "unknown_customer", "duplicate_id",
        "paid_before_issue", "due_before_issue", "returned_exceeds_revenue", "paid_exceeds_amount",
        "lines_below_one", "severity_out_of_range", "unknown_kind", "unknown_channel", "invalid_boolean",
        "empty_name", "empty_customer_id",
    } <= set(injected["rule"])  # fmt: skip
    assert contract_violations(tables, END) == expected
    for row in injected.itertuples():  # id and column point at the broken cell
        frame = tables[row.table]
        assert frame.iloc[row.row - 1][ID_COLUMN[row.table]] == row.id
    # the same holds for what a reader of the written files sees
    paths = write_tables(tables, tmp_path / "raw")
    back = {name: pd.read_csv(paths[name], dtype=str, keep_default_na=False) for name in TABLE_NAMES}
    assert contract_violations(back, END) == expected

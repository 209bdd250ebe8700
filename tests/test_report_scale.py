"""The report stays small at any number of customers: tables show the first rows of a
ranked list and say where the whole list is; plots draw a bounded number of marks."""

import html
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from custvalue import executive, pages
from custvalue.cost_to_serve import plots
from custvalue.cost_to_serve.whale import price_cost_map, whale_curve
from custvalue.paths import QuarterOutputs
from custvalue.pipeline import QuarterResults
from custvalue.review import SCORECARD_COLUMNS
from custvalue.quarters import Quarter

HOSTILE = '<script>alert("x")</script> & Co'


def _body_rows(text: str) -> int:
    body = re.search(r"<tbody>(.*)</tbody>", text, flags=re.DOTALL)
    return 0 if body is None else body.group(1).count("<tr>")


# ------------------------------------------------------------------ the limited table


def test_limited_table_shows_the_first_rows_and_says_how_many_and_where_the_rest_are():
    frame = pd.DataFrame({"customer": [f"c{i}" for i in range(10)], "loss": np.arange(10.0)})
    frame.loc[0, "customer"] = HOSTILE
    text = pages.limited_table(
        frame, 3, noun="customers", order="worst first", full_list="/data/<q>/scorecard.csv", selected_by="status <b>",
        links={"let_go.xlsx": "let_go.xlsx?a=1&b=2"}, money_columns=["loss"],
    )
    assert _body_rows(text) == 3
    assert "c2" in text and "c3" not in text, "the first rows, in the caller's order"
    note = re.search(r'<p class="cv-meta cv-limit">(.*?)</p>', text).group(1)
    assert note.startswith("Showing 3 of 10 customers, worst first; the full list is in ")
    assert '<a href="let_go.xlsx?a=1&amp;b=2">let_go.xlsx</a>' in note
    assert "<code>/data/&lt;q&gt;/scorecard.csv</code> (status &lt;b&gt;)" in note
    assert text.index("cv-limit") < text.index("<table"), "the note comes before the table"
    assert HOSTILE not in text and html.escape(HOSTILE) in text, "cells stay escaped"


def test_limited_table_without_cut_is_the_plain_table():
    frame = pd.DataFrame({"customer": ["a", "b"], "loss": [1.0, 2.0]})
    assert pages.limited_table(frame, 2, noun="customers", full_list="x.csv") == pages.table(frame)
    assert pages.limited_table(frame.iloc[:0], 5, empty="No customer.") == "<p><em>No customer.</em></p>"


def test_limited_table_of_a_list_cut_beforehand_counts_the_whole_list():
    frame = pd.DataFrame({"customer": ["a", "b"], "loss": [1.0, 2.0]})
    text = pages.limited_table(frame, 2, total=1_234_567, noun="customers")
    assert _body_rows(text) == 2
    assert "Showing 2 of 1,234,567 customers." in text
    with pytest.raises(ValueError):
        pages.limited_table(frame, -1)


def test_sample_is_bounded_seeded_and_keeps_the_order():
    frame = pd.DataFrame({"x": np.arange(50_000)}, index=np.arange(50_000)[::-1])
    drawn = pages.sample(frame, 1_000, seed=3)
    assert len(drawn) == 1_000 and drawn["x"].is_monotonic_increasing
    assert drawn.equals(pages.sample(frame, 1_000, seed=3))
    small = frame.head(10)
    assert pages.sample(small, 1_000) is small, "a small frame is drawn whole"


def test_highlighted_sample_keeps_the_few_highlighted_rows_and_says_what_was_left_out():
    frame = pd.DataFrame({"late": np.arange(100_000) % 200 == 0, "x": np.arange(100_000)})
    drawn, caption = pages.highlighted_sample(frame, frame["late"], limit=1_000, highlight_limit=600, highlight_noun="late")
    assert drawn["late"].sum() == 500 and (~drawn["late"]).sum() == 1_000
    assert caption == "all 500 late; a random sample of 1,000 of 99,500 other customers"
    drawn, caption = pages.highlighted_sample(frame, frame["late"], limit=1_000, highlight_limit=100, highlight_noun="late")
    assert drawn["late"].sum() == 100 and caption.startswith("a random sample of 100 of 500 late; ")
    small = frame.head(300)
    drawn, caption = pages.highlighted_sample(small, small["late"], limit=1_000)
    assert len(drawn) == 300 and caption == ""


# ------------------------------------------------------------------ the executive tables at scale

N_CUSTOMERS = 200_000
STATUS_SHARES = {"let_go": 0.06, "final_notice": 0.04, "protected": 0.10, "watch": 0.15, "healthy": 0.65}


@pytest.fixture(scope="module")
def large_results(tmp_path_factory) -> QuarterResults:
    """A 200k-customer scorecard with 12k customers to let go and 20k protected, and
    20k ended relationships, as the index page reads them."""
    rng = np.random.default_rng(7)
    n = N_CUSTOMERS
    ids = pd.array([f"C{i:07d}" for i in range(n)], dtype="string")
    statuses = rng.choice(list(STATUS_SHARES), size=n, p=list(STATUS_SHARES.values()))
    profit = rng.normal(0, 5_000, n).round(2)
    card = pd.DataFrame({
        "customer_id": ids,
        "name": pd.array([HOSTILE if i % 997 == 0 else f"Customer {i}" for i in range(n)], dtype="string"),
        "segment": rng.choice(["small", "mid-market", "enterprise"], n),
        "region": "North",
        "account_manager": "Alice",
        "status": pd.Categorical(statuses),
        "strikes": rng.integers(0, 5, n),
        "strike_quarters": "2026Q1;2026Q2",
        "strike_history": "✗✗",
        "reasons": "lost money after cost to serve",
        "our_share": np.where(rng.random(n) < 0.1, "billing errors", ""),
        "action": "repair",
        "revenue": rng.gamma(2, 5_000, n),
        "gross_margin": rng.normal(2_000, 500, n),
        "cost_to_serve": rng.gamma(2, 500, n),
        "operating_profit": profit,
        "support_hours": rng.gamma(1, 3, n),
        "open_receivables": rng.gamma(1, 1_000, n),
        "clv": rng.normal(1_000, 3_000, n),
        "future_value": rng.gamma(1, 2_000, n),
        "p_alive": rng.random(n),
        "future_value_rank": rng.random(n),
    })[SCORECARD_COLUMNS]
    outputs = QuarterOutputs(tmp_path_factory.mktemp("processed"), Quarter.parse("2026Q2"))
    outputs.folder.mkdir(parents=True)
    ended = rng.choice(n, size=20_000, replace=False)
    pd.DataFrame({
        "customer_id": ids[ended],
        "ended_on": pd.Timestamp("2025-06-30"),
        "quarters_since": rng.integers(1, 5, ended.size),
        "revenue_since": rng.gamma(2, 1_000, ended.size),
        "operating_profit_since": rng.normal(-500, 300, ended.size),
        "cost_to_serve_since": rng.gamma(2, 200, ended.size),
        "bad_debt_since": rng.gamma(1, 50, ended.size),
        "support_hours_since": rng.gamma(1, 2, ended.size),
    }).to_parquet(outputs.folder / "move_on.parquet", index=False)
    return QuarterResults(outputs=outputs, scorecard=card, quality={}, manifest={})


@pytest.mark.parametrize("status", list(executive.STATUS_TITLES))
def test_status_tables_never_exceed_their_limit_and_show_the_worst(large_results, status):
    limit = pages.STATUS_TABLE_ROWS[status]
    card = large_results.scorecard
    members = card[card["status"].astype(str) == status]
    assert len(members) > 5 * limit, "the synthetic world is larger than the limit"
    rows = executive.status_table(large_results, status)
    assert len(rows) == limit
    assert rows["operating profit"].is_monotonic_increasing
    assert rows["operating profit"].max() <= members["operating_profit"].nsmallest(limit).max(), "the worst ones"
    section = executive.status_section(large_results, status, "EUR")
    assert _body_rows(section) == limit
    assert f"({len(members):,})</h2>" in section, "the heading counts every customer of the status"
    assert f"Showing {limit:,} of {len(members):,} customers, worst operating profit first" in section
    assert f"<code>{large_results.outputs.scorecard_csv}</code> (status {status})" in section
    assert HOSTILE not in section
    assert len(section) < 2_000 * limit, "the page grows with the limit, not with the customers"


def test_the_let_go_section_points_to_the_complete_exports(large_results):
    section = executive.status_section(large_results, "let_go", "EUR")
    assert section.count('href="let_go.xlsx"') == 2 and section.count('href="let_go.csv"') == 2
    total = int((large_results.scorecard["status"].astype(str) == "let_go").sum())
    assert f"(all {total:,} customers to let go, with their ids)" in section


def test_move_on_shows_totals_and_the_largest_losses_avoided(large_results):
    full = executive.move_on_table(large_results)
    assert len(full) == 20_000 and full["loss avoided"].is_monotonic_decreasing
    assert len(executive.move_on_table(large_results, limit=7)) == 7
    section = executive.move_on_section(large_results, "EUR")
    assert _body_rows(section) == pages.TOP_ROWS
    assert "20,000 relationships ended; together: revenue given up" in section
    assert f"Showing {pages.TOP_ROWS} of 20,000 relationships, largest loss avoided first" in section


def test_small_lists_are_shown_whole(large_results):
    card = large_results.scorecard
    few = card[card["status"].astype(str) != "let_go"].head(1_000)
    few = pd.concat([few, card[card["status"].astype(str) == "let_go"].head(120)])
    small = QuarterResults(large_results.outputs, few.reset_index(drop=True), {}, {})
    section = executive.status_section(small, "let_go", "EUR")
    assert _body_rows(section) == 120 and "cv-limit" not in section, "a demo-sized let-go list is complete on the page"


# ------------------------------------------------------------------ plots at scale


@pytest.fixture(scope="module")
def large_profits() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = N_CUSTOMERS
    revenue = rng.gamma(2, 5_000, n)
    cost = revenue * rng.beta(2, 8, n)
    return pd.DataFrame({
        "customer_id": [f"C{i:07d}" for i in range(n)],
        "revenue": revenue,
        "discount": revenue * rng.beta(1, 10, n),
        "cost_to_serve": cost,
        "operating_profit": revenue * 0.2 - cost + rng.normal(0, 300, n),
    })


def test_whale_curve_draws_a_bounded_exact_curve_and_a_sample_of_the_marked(large_profits):
    curve = whale_curve(large_profits, ("2026Q2",))
    marked = curve.bottom(0.10)["customer_id"]
    ax = plots.plot_whale_curve(curve, marked=marked, marked_label="bottom decile", max_points=pages.CURVE_POINTS,
                                max_marked=pages.MARKED_POINTS)
    try:
        (line,) = [line for line in ax.get_lines() if len(line.get_xdata()) > 2]
        x, y = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
        assert len(x) <= pages.CURVE_POINTS + 2
        frame = curve.frame
        positions = np.rint(x[1:] * len(frame)).astype(int) - 1
        assert np.allclose(y[1:], frame["cumulative_share"].to_numpy()[positions]), "exact values at the points drawn"
        assert y.max() == pytest.approx(curve.peak_share), "the peak is drawn"
        assert x[-1] == 1.0 and y[-1] == pytest.approx(1.0)
        (points,) = ax.collections
        assert len(points.get_offsets()) == pages.MARKED_POINTS
        assert ax.get_legend().get_texts()[0].get_text() == f"bottom decile ({pages.MARKED_POINTS:,} of {len(marked):,} shown)"
    finally:
        plt.close(ax.figure)


def test_small_whale_curve_is_drawn_whole(large_profits):
    curve = whale_curve(large_profits.head(300), ("2026Q2",))
    ax = plots.plot_whale_curve(curve, marked=curve.bottom(0.1)["customer_id"], marked_label="bottom decile")
    try:
        assert len(ax.get_lines()[0].get_xdata()) == 301
        assert len(ax.collections[0].get_offsets()) == 30
        assert ax.get_legend().get_texts()[0].get_text() == "bottom decile"
    finally:
        plt.close(ax.figure)


def test_price_cost_map_draws_a_sample_and_says_so(large_profits):
    price_map = price_cost_map(large_profits, ("2026Q2",))
    marked = large_profits["customer_id"].iloc[::20]
    ax = plots.plot_price_cost_map(price_map, marked=marked, marked_label="bottom decile", max_points=pages.PLOT_POINTS,
                                   max_marked=pages.MARKED_POINTS)
    try:
        drawn, highlighted = ax.collections
        assert len(drawn.get_offsets()) == pages.PLOT_POINTS
        assert len(highlighted.get_offsets()) == pages.MARKED_POINTS
        assert f"a random sample of {pages.PLOT_POINTS:,} of {N_CUSTOMERS:,} customers" in ax.get_title()
    finally:
        plt.close(ax.figure)

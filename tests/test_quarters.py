from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custvalue.quarters import Quarter, quarter_range

quarters = st.builds(Quarter, st.integers(1900, 2200), st.integers(1, 4))


def test_parse_and_print():
    assert Quarter.parse("2026Q2") == Quarter(2026, 2)
    assert Quarter.parse(" 2026q2 ") == Quarter(2026, 2)
    assert str(Quarter(2026, 2)) == "2026Q2"


@pytest.mark.parametrize("text", ["2026Q5", "2026Q0", "26Q1", "2026-Q1", "", "Q1 2026"])
def test_parse_rejects_malformed(text):
    with pytest.raises(ValueError, match="not a quarter"):
        Quarter.parse(text)


def test_bounds():
    assert Quarter(2026, 1).start == date(2026, 1, 1)
    assert Quarter(2026, 1).end == date(2026, 3, 31)
    assert Quarter(2024, 1).days == 91  # leap year
    assert Quarter(2026, 4).end == date(2026, 12, 31)


def test_shift_across_years():
    assert Quarter(2026, 1).shift(-1) == Quarter(2025, 4)
    assert Quarter(2025, 4).shift(1) == Quarter(2026, 1)
    assert Quarter(2026, 2) - Quarter(2024, 3) == 7


def test_last_complete_quarter():
    assert Quarter.last_complete(date(2026, 6, 30)) == Quarter(2026, 2)
    assert Quarter.last_complete(date(2026, 6, 29)) == Quarter(2026, 1)
    assert Quarter.last_complete(date(2026, 1, 1)) == Quarter(2025, 4)


def test_range():
    assert [str(q) for q in quarter_range(Quarter(2025, 3), Quarter(2026, 1))] == ["2025Q3", "2025Q4", "2026Q1"]


@given(quarters, st.integers(-400, 400))
def test_shift_is_invertible_and_counts(quarter, steps):
    assert quarter.shift(steps).shift(-steps) == quarter
    assert quarter.shift(steps) - quarter == steps


@given(quarters)
def test_quarters_tile_the_calendar(quarter):
    assert quarter.shift(1).start == quarter.end + timedelta(days=1)
    assert Quarter.containing(quarter.start) == quarter == Quarter.containing(quarter.end)

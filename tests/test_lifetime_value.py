"""Lifetime value in the quarterly review: estimate_lifetime_value on a demo world, the
result object (ranges, save/load, immutability, reproducibility), the planted archetypes,
non-positive margins and the retry with a penalizer."""

from __future__ import annotations

import dataclasses
from datetime import date

import ibis
import numpy as np
import pandas as pd
import pytest

from custvalue.config import LifetimeSettings
from custvalue.demo import DemoSpec, generate_world
from custvalue.frames import engine_arrow_table
from custvalue.errors import PipelineError
from custvalue.lifetime import (
    BetaGeoModel,
    ConvergenceError,
    LifetimeFitError,
    LifetimeValueResult,
    estimate_lifetime_value,
)
from custvalue.lifetime.result import CUSTOMER_COLUMNS, MARGIN_SOURCES

AS_OF = date(2026, 6, 30)
#: The tests of the BG/NBD path name it; ``auto`` (the default) has tests of its own.
BGNBD = LifetimeSettings(transaction_model="bgnbd")


@pytest.fixture(scope="module")
def world():
    return generate_world(DemoSpec(n_customers=600, seed=3, end=AS_OF))


@pytest.fixture(scope="module")
def result(world) -> LifetimeValueResult:
    return estimate_lifetime_value(world.tables["orders"], world.tables["customers"], AS_OF, BGNBD)


@pytest.fixture(scope="module")
def labelled(result, world) -> pd.DataFrame:
    return result.customers.join(world.truth.set_index("customer_id")[["archetype", "silent_churn"]], validate="1:1")


def test_customer_columns_and_ranges(result, world):
    frame = result.customers
    assert tuple(frame.columns) == CUSTOMER_COLUMNS and frame.index.name == "customer_id"
    assert frame.index.is_unique and frame.index.is_monotonic_increasing
    ordered = world.tables["orders"]
    assert set(frame.index) == set(ordered.loc[ordered["order_date"] <= pd.Timestamp(AS_OF), "customer_id"])
    assert result.info["customers"] + result.info["customers_without_orders"] == len(world.tables["customers"])
    numeric = frame[["recency", "T", "monetary_value", "p_alive", "expected_purchases", "expected_margin_per_purchase", "clv", "future_value_rank"]]
    assert np.isfinite(numeric.to_numpy()).all()
    assert frame["p_alive"].between(0, 1).all()
    assert frame["future_value_rank"].between(0, 1).all()
    assert frame["future_value_rank"].max() == 1.0 and frame["future_value_rank"].min() == 0.0
    assert (frame["frequency"] >= 0).all() and (frame["recency"] <= frame["T"]).all()
    assert (frame["expected_purchases"] >= 0).all()
    assert set(frame["margin_source"]) <= set(MARGIN_SOURCES)
    # The rank follows the value: the highest CLV has rank 1, order is preserved.
    by_value = frame.sort_values("clv", kind="mergesort")
    assert by_value["future_value_rank"].is_monotonic_increasing
    assert frame.loc[frame["clv"].idxmax(), "future_value_rank"] == 1.0
    # Customers with no repeat purchase get the population mean margin per purchase.
    new = frame[frame["frequency"] == 0]
    assert (new["margin_source"] == "population").all()
    np.testing.assert_allclose(new["expected_margin_per_purchase"], result.spend_results.expected_value())


def test_settings_fits_and_validation_are_recorded(result):
    assert result.as_of == AS_OF and result.calibration_end == date(2025, 12, 31)
    assert result.settings == BGNBD
    assert result.transaction_fit.model == "BG/NBD" and result.spend_fit.model == "Gamma-Gamma"
    assert list(result.transaction_params.index) == ["r", "alpha", "a", "b"]
    assert list(result.spend_params.index) == ["p", "q", "gamma"]
    for fit in (result.transaction_fit, result.spend_fit, result.holdout_fit):
        table = fit.parameters
        assert list(table.columns) == ["estimate", "std_err", "ci_lower", "ci_upper"]
        assert (table["ci_lower"] < table["estimate"]).all() and (table["estimate"] < table["ci_upper"]).all()
        assert (table["std_err"] > 0).all() and not fit.retried
    assert "BG/NBD maximum-likelihood fit" in result.transaction_summary
    assert "Gamma-Gamma maximum-likelihood fit" in result.spend_summary
    assert result.horizon == pytest.approx(8 * 365.25 / 4 / 7)
    assert not result.retried and result.notes == ()

    holdout = result.holdout
    assert holdout.by_frequency["n_customers"].sum() == result.info["holdout_customers"] == len(holdout.per_customer)
    assert holdout.by_frequency.index[-1] == f"{result.info['holdout_max_frequency']}+"
    assert holdout.mae == result.holdout_mae > 0
    # The model beats the naive forecast "each customer keeps buying at their own past rate"
    # (measured on this world: MAE 2.99 against 3.99 purchases in the half year).
    assert result.holdout_mae < result.info["naive_holdout_mae"]

    tracking = result.tracking
    assert list(tracking.columns) == ["week", "date", "actual", "expected", "holdout"]
    assert tracking["week"].tolist() == list(range(1, len(tracking) + 1))
    assert tracking["actual"].is_monotonic_increasing and tracking["expected"].is_monotonic_increasing
    switch = tracking["holdout"].astype(int).diff().fillna(0)
    assert switch.sum() == 1 and (switch >= 0).all(), "calibration weeks first, then holdout weeks"
    assert tracking.loc[~tracking["holdout"], "date"].max() <= pd.Timestamp(result.calibration_end)


def test_growing_small_rank_above_the_median_ordinary_customer(labelled):
    ordinary = labelled[labelled["archetype"] == "ordinary"]
    growing = labelled[labelled["archetype"] == "growing_small"]
    assert len(growing) >= 5
    # Measured: median rank 0.68 against 0.50 for ordinary customers; 5 of 6 above the
    # median ordinary CLV. (The BG/NBD assumes a steady purchase rate, so growth is
    # averaged, not extrapolated: they rank high, not top.)
    assert growing["future_value_rank"].median() > ordinary["future_value_rank"].median() + 0.1
    assert (growing["clv"] > ordinary["clv"].median()).mean() >= 2 / 3


def test_customers_who_stopped_buying_are_unlikely_to_be_alive(labelled):
    ordinary = labelled[labelled["archetype"] == "ordinary"]
    active = ordinary[~ordinary["silent_churn"]]["p_alive"]
    stopped = {"already_left": labelled[labelled["archetype"] == "already_left"]["p_alive"], "silent churn": ordinary[ordinary["silent_churn"]]["p_alive"]}
    assert active.median() > 0.95
    for name, p_alive in stopped.items():
        assert len(p_alive) >= 5, name
        assert p_alive.median() < 0.05, name
        # Probability that an active customer has the higher P(alive) (AUC).
        auc = (active.to_numpy()[:, None] > p_alive.to_numpy()[None, :]).mean()
        assert auc > 0.85, (name, auc)


def test_ended_customers_are_flagged_not_overridden(result, world):
    customers = world.tables["customers"]
    ended_ids = set(customers.loc[customers["ended_on"] <= pd.Timestamp(AS_OF), "customer_id"])
    frame = result.customers
    assert set(frame.index[frame["ended"]]) == ended_ids & set(frame.index)
    assert result.info["customers_ended"] == int(frame["ended"].sum()) > 0
    assert frame.loc[frame["ended"], "p_alive"].max() < 1.0


def test_save_load_round_trip(result, tmp_path):
    folder = result.save(tmp_path / "lifetime")
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["customers.parquet", "holdout_customers.parquet", "holdout_by_frequency.parquet", "tracking.parquet",
         "model_comparison.parquet", "p_alive_history.parquet", "result.json"]
    )
    loaded = LifetimeValueResult.load(folder)
    pd.testing.assert_frame_equal(loaded.customers, result.customers, check_exact=True)
    pd.testing.assert_frame_equal(loaded.tracking, result.tracking, check_exact=True)
    pd.testing.assert_frame_equal(loaded.holdout.per_customer, result.holdout.per_customer, check_exact=True)
    pd.testing.assert_frame_equal(loaded.holdout.by_frequency, result.holdout.by_frequency, check_exact=True)
    for name in ("transaction_fit", "spend_fit", "holdout_fit"):
        before, after = getattr(result, name), getattr(loaded, name)
        pd.testing.assert_frame_equal(after.parameters, before.parameters, check_exact=True)
        assert dataclasses.replace(after, parameters=None) == dataclasses.replace(before, parameters=None)
    assert (loaded.settings, loaded.as_of, loaded.calibration_end, loaded.info, loaded.notes, loaded.warnings) == (
        result.settings, result.as_of, result.calibration_end, result.info, result.notes, result.warnings
    )
    pd.testing.assert_frame_equal(loaded.model_comparison, result.model_comparison, check_exact=True)
    assert loaded.summary() == result.summary()
    # Saving again replaces the folder whole, leaving no staging folder behind.
    result.save(folder)
    assert [p.name for p in tmp_path.iterdir()] == ["lifetime"]


def test_load_refuses_a_folder_without_a_result(tmp_path):
    with pytest.raises(Exception, match="result.json missing"):
        LifetimeValueResult.load(tmp_path)


def test_result_is_immutable(result):
    with pytest.raises(AttributeError):
        result.as_of = date(2020, 1, 1)
    frame = result.customers
    frame["clv"] = 0.0
    assert (result.customers["clv"] != 0.0).any(), "frames are returned as copies"
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.transaction_fit.penalizer = 1.0


def test_same_inputs_give_identical_numbers(result, world):
    """Also from an engine (DuckDB) table with the engine's schema (dates as ``date``)
    and from shuffled rows: margins are summed in whole cents, so no float sum depends
    on the order the rows are added in."""
    orders = world.tables["orders"]
    engine_table = ibis.duckdb.connect().create_table("orders", engine_arrow_table("orders", orders))
    for source in (orders, engine_table, orders.sample(frac=1.0, random_state=0)):
        again = estimate_lifetime_value(source, world.tables["customers"], AS_OF, BGNBD)
        pd.testing.assert_frame_equal(again.customers, result.customers, check_exact=True)
        pd.testing.assert_frame_equal(again.tracking, result.tracking, check_exact=True)
        assert again.transaction_params.equals(result.transaction_params)
        assert again.spend_params.equals(result.spend_params)
        assert again.holdout_mae == result.holdout_mae


def test_margin_subtracts_returns_and_negative_margins_are_kept(world):
    """A customer whose repeat purchases are all returned has a negative mean margin: the
    Gamma-Gamma credibility weights are applied to it as they are to positive means, so
    the expected margin stays negative (it rests on many purchases) and the customer
    falls to the bottom of the ranking."""
    orders = world.tables["orders"].copy()
    counts = orders[orders["order_date"] <= pd.Timestamp(AS_OF)].groupby("customer_id")["order_date"].nunique()
    victim = counts[counts.between(8, 20)].index[0]
    mine = orders["customer_id"] == victim
    orders.loc[mine, "returned_value"] = orders.loc[mine, "revenue"]
    result = estimate_lifetime_value(orders, world.tables["customers"], AS_OF, LifetimeSettings())
    row = result.customers.loc[victim]
    per_day = orders[mine & (orders["order_date"] <= pd.Timestamp(AS_OF))].groupby("order_date")["cost_of_goods"].sum().sort_index()
    assert row["monetary_value"] == pytest.approx(-per_day.iloc[1:].mean(), abs=0.01)
    assert row["margin_source"] == "nonpositive_mean"
    p, q, gamma = result.spend_params
    x = row["frequency"]
    assert row["expected_margin_per_purchase"] == pytest.approx(p * (gamma + x * row["monetary_value"]) / (p * x + q - 1))
    assert row["expected_margin_per_purchase"] < 0
    assert row["clv"] < 0 and row["future_value_rank"] < 0.02
    assert result.info["customers_nonpositive_margin"] >= 1
    # Continuous at zero: the weights do not jump between a small gain and a small loss.
    spend = result.spend_results
    gain, loss = spend.conditional_expected_value(3, 0.01), spend.conditional_expected_value(3, -0.01)
    assert abs(gain - loss) < 0.05


def test_retry_with_a_penalizer_is_recorded(world, monkeypatch, tmp_path):
    original = BetaGeoModel.fit
    calls = []

    def fails_without_penalty(self, *args, **kwargs):
        calls.append(self.penalizer)
        if self.penalizer == 0:
            raise ConvergenceError("BG/NBD: forced failure for the test")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(BetaGeoModel, "fit", fails_without_penalty)
    result = estimate_lifetime_value(world.tables["orders"], world.tables["customers"], AS_OF, BGNBD)
    assert calls == [0.0, 0.001, 0.0, 0.001], "the calibration period, then all data: each retried once"
    for fit in (result.transaction_fit, result.holdout_fit):
        assert fit.retried and fit.penalizer == 0.001
        assert "forced failure" in fit.first_error
    assert not result.spend_fit.retried
    assert result.retried and len(result.notes) == 2
    assert "penalizer 0.001" in result.notes[0] and "penalizer 0.001" in result.summary()
    assert "penalizer:                   0.001" in result.transaction_summary
    loaded = LifetimeValueResult.load(result.save(tmp_path / "lifetime"))
    assert loaded.transaction_fit.retried and loaded.notes == result.notes


def test_retry_uses_ten_times_a_configured_penalizer(world, monkeypatch):
    original = BetaGeoModel.fit
    calls = []

    def fails_first(self, *args, **kwargs):
        calls.append(self.penalizer)
        if self.penalizer == 0.01:
            raise ConvergenceError("forced")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(BetaGeoModel, "fit", fails_first)
    result = estimate_lifetime_value(world.tables["orders"], world.tables["customers"], AS_OF, dataclasses.replace(BGNBD, penalizer=0.01))
    assert calls[:2] == [0.01, 0.1] and result.transaction_fit.penalizer == 0.1


def test_a_second_failure_raises_a_clear_error(world, monkeypatch):
    def never_converges(self, *args, **kwargs):
        raise ConvergenceError("BG/NBD: gradient max-norm 1e-3")

    monkeypatch.setattr(BetaGeoModel, "fit", never_converges)
    with pytest.raises(LifetimeFitError, match=r"purchase model did not converge with penalizer 0 .* nor with penalizer 0.001") as caught:
        estimate_lifetime_value(world.tables["orders"], world.tables["customers"], AS_OF, BGNBD)
    assert isinstance(caught.value, ConvergenceError) and isinstance(caught.value, PipelineError)
    assert "lifetime.penalizer" in str(caught.value)


def test_orders_of_unknown_customers_are_refused(world):
    customers = world.tables["customers"].iloc[1:]
    with pytest.raises(ValueError, match="missing from customers"):
        estimate_lifetime_value(world.tables["orders"], customers, AS_OF, LifetimeSettings())


def test_pareto_nbd_and_days_are_supported(world):
    orders, customers = world.tables["orders"], world.tables["customers"]
    result = estimate_lifetime_value(orders, customers, date(2026, 5, 15), LifetimeSettings(transaction_model="paretonbd", time_unit="D"))
    assert result.transaction_fit.model == "Pareto/NBD" and result.calibration_end == date(2025, 11, 15)
    assert list(result.transaction_params.index) == ["r", "alpha", "s", "beta"]
    frame = result.customers
    assert frame["p_alive"].between(0, 1).all() and np.isfinite(frame["clv"]).all()
    # Weekly tracking points from the daily model.
    assert (result.tracking["date"].diff().dropna() == pd.Timedelta(days=7)).all()
    assert result.horizon == pytest.approx(8 * 365.25 / 4)

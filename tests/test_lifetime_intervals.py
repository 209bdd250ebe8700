"""Intervals per customer: coverage by simulation, distinct rows, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from custvalue.lifetime import BetaGeoModel, BetaGeoResults
from custvalue.lifetime.intervals import prediction_interval

TRUE = {"r": 0.5, "alpha": 4.0, "a": 0.8, "b": 2.5}
#: Histories whose intervals are checked: no repeat, light, medium, heavy and recent buyers.
PROBE = (np.array([0.0, 1, 2, 5, 10]), np.array([0.0, 20, 30, 35, 38]), np.full(5, 39.0))


def simulate_bgnbd(n: int, rng: np.random.Generator):
    """Histories of ``n`` BG/NBD customers at the true parameters, ages 30-40 weeks."""
    rate = rng.gamma(TRUE["r"], 1.0 / TRUE["alpha"], n)
    dropout = rng.beta(TRUE["a"], TRUE["b"], n)
    age = rng.uniform(30.0, 40.0, n)
    x, t_x, clock = np.zeros(n), np.zeros(n), np.zeros(n)
    alive = np.ones(n, dtype=bool)
    while alive.any():
        clock[alive] += rng.exponential(1.0 / rate[alive])
        bought = alive & (clock <= age)
        x[bought] += 1
        t_x[bought] = clock[bought]
        alive = bought & (rng.uniform(size=n) >= dropout)
    return x, t_x, age


def test_nominal_90_percent_intervals_cover_85_to_95_percent_of_simulated_truths():
    rng = np.random.default_rng(20)
    truth = BetaGeoResults.from_params(TRUE)
    questions = {
        "expected purchases": (lambda res, x, t_x, T: res.conditional_expected_purchases(39.0, x, t_x, T)),
        "P(alive)": (lambda res, x, t_x, T: res.conditional_probability_alive(x, t_x, T)),
    }
    hits = []
    for replication in range(24):
        fit = BetaGeoModel(*simulate_bgnbd(1500, rng)).fit()
        for predict in questions.values():
            interval = prediction_interval(fit, predict, *PROBE, level=0.9, n_draws=150, seed=replication)
            true_value = predict(truth, *PROBE)
            covered = (interval["lower"].to_numpy() <= true_value + 1e-12) & (true_value - 1e-12 <= interval["upper"].to_numpy())
            # P(alive) is 1 for x = 0 at every parameter value: no uncertainty to cover.
            hits.extend(covered[1:] if predict is questions["P(alive)"] else covered)
    coverage = float(np.mean(hits))
    assert 0.85 <= coverage <= 0.95, coverage


def test_intervals_are_computed_per_distinct_row_and_bracket_the_point():
    rng = np.random.default_rng(3)
    fit = BetaGeoModel(*simulate_bgnbd(800, rng)).fit()
    x, t_x, T = (np.tile(a, 100) for a in PROBE)
    interval = prediction_interval(fit, lambda res, *h: res.conditional_expected_purchases(13.0, *h), x, t_x, T, n_draws=50)
    assert len(interval) == len(x)
    np.testing.assert_array_equal(interval.iloc[:5].to_numpy(), interval.iloc[5:10].to_numpy())
    assert (interval["lower"] <= interval["point"]).all() and (interval["point"] <= interval["upper"]).all()
    same = prediction_interval(fit, lambda res, *h: res.conditional_expected_purchases(13.0, *h), x, t_x, T, n_draws=50)
    assert same.equals(interval)  # seeded: reproducible


def test_intervals_need_a_fit_and_a_level_inside_0_1():
    stored = BetaGeoResults.from_params(TRUE)
    with pytest.raises(ValueError, match="covariance"):
        prediction_interval(stored, lambda res, *h: res.conditional_probability_alive(*h), *PROBE)
    fit = BetaGeoModel(*simulate_bgnbd(500, np.random.default_rng(4))).fit()
    with pytest.raises(ValueError, match="level"):
        prediction_interval(fit, lambda res, *h: res.conditional_probability_alive(*h), *PROBE, level=1.5)

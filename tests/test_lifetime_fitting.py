"""Fitting machinery: standard errors, convergence, compression, weights, penalty."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from custvalue.lifetime import (
    BetaGeoModel,
    BetaGeoResults,
    ConvergenceError,
    GammaGammaModel,
    ParetoNBDModel,
)
from custvalue.lifetime._mle import compress_rows

CDNOW = Path(__file__).parent / "data" / "cdnow"


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    data = pd.read_csv(CDNOW / "cdnow_customers_summary_with_transactions.csv", index_col="ID")
    return data.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})


@pytest.fixture(scope="module")
def fits(summary):
    return {
        "bgnbd": BetaGeoModel.from_summary(summary).fit(),
        "paretonbd": ParetoNBDModel.from_summary(summary).fit(),
        "gammagamma": GammaGammaModel.from_summary(summary).fit(),
    }


@pytest.mark.parametrize("name", ["bgnbd", "paretonbd", "gammagamma"])
def test_standard_errors_positive_finite_and_intervals_bracket_estimates(fits, name):
    results = fits[name]
    assert np.all(np.isfinite(results.bse)) and np.all(results.bse > 0)
    for scale in ("log", "natural"):
        ci = results.conf_int(0.05, scale=scale)
        assert np.all(ci["lower"] < results.params) and np.all(results.params < ci["upper"])
    assert np.all(results.conf_int(0.05, scale="log")["lower"] > 0)
    # A wider coverage gives a wider interval.
    narrow, wide = results.conf_int(0.5), results.conf_int(0.01)
    assert np.all(wide["lower"] < narrow["lower"]) and np.all(narrow["upper"] < wide["upper"])
    np.testing.assert_allclose(np.sqrt(np.diag(results.cov_params)), results.bse)


def test_bgnbd_standard_errors_match_published_magnitudes(fits):
    # FHL 2005 report no SEs; lifetimes (autograd Hessian) gives r 0.0126,
    # alpha 0.378, a 0.186, b 0.705 on these data; a Hessian by a different
    # route should agree to a few digits.
    np.testing.assert_allclose(fits["bgnbd"].bse, [0.0126, 0.378, 0.186, 0.705], rtol=0.02)


def test_fit_statistics_and_summary(fits):
    results = fits["bgnbd"]
    assert results.nobs == 2357
    assert results.n_unique_rows < results.nobs
    assert results.converged and results.grad_norm < 1e-7
    assert results.aic == pytest.approx(-2 * results.llf + 8)
    assert results.bic == pytest.approx(-2 * results.llf + 4 * np.log(2357))
    text = results.summary()
    for token in ("BG/NBD", "alpha", "std err", "log-likelihood", "converged"):
        assert token in text
    assert str(results) == text


def test_results_are_immutable(fits):
    results = fits["bgnbd"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        results.llf = 0.0
    with pytest.raises(ValueError):
        results.params.to_numpy()[0] = 1.0


@pytest.mark.parametrize("model_class", [BetaGeoModel, ParetoNBDModel])
def test_non_converging_fit_raises(summary, model_class):
    with pytest.raises(ConvergenceError, match="no convergence"):
        model_class.from_summary(summary).fit(maxiter=1)


def test_gamma_gamma_non_converging_fit_raises(summary):
    with pytest.raises(ConvergenceError):
        GammaGammaModel.from_summary(summary).fit(maxiter=1)


def test_unidentified_parameter_raises_instead_of_returning_a_boundary_estimate():
    # Nobody ever buys again: the purchase rate is driven to zero.
    model = BetaGeoModel(np.zeros(50), np.zeros(50), np.linspace(10, 40, 50))
    with pytest.raises(ConvergenceError):
        model.fit()


@pytest.mark.parametrize("model_class", [BetaGeoModel, ParetoNBDModel])
def test_compression_is_exact(summary, model_class):
    model = model_class.from_summary(summary)
    compressed, raw = model.fit(), model.fit(compress=False)
    assert compressed.n_unique_rows < raw.n_unique_rows == len(summary)
    np.testing.assert_allclose(compressed.params, raw.params, rtol=1e-6)
    assert compressed.llf == pytest.approx(raw.llf, rel=1e-10)


def test_weights_equal_duplicated_rows(summary):
    head = summary.iloc[:800]
    counts = np.arange(len(head)) % 3 + 1
    weighted = BetaGeoModel.from_summary(head, weights=counts).fit()
    repeated = BetaGeoModel.from_summary(head.loc[head.index.repeat(counts)]).fit()
    np.testing.assert_allclose(weighted.params, repeated.params, rtol=1e-6)
    assert weighted.llf == pytest.approx(repeated.llf, rel=1e-10)
    assert weighted.nobs == counts.sum()


def test_compress_rows_sums_weights():
    columns, weights = compress_rows({"a": np.array([1, 2, 1, 1]), "b": np.array([0.5, 0.5, 0.5, 0.7])})
    table = dict(zip(zip(columns["a"], columns["b"]), weights))
    assert table == {(1, 0.5): 2.0, (2, 0.5): 1.0, (1, 0.7): 1.0}


def test_penalizer_shrinks_parameters(summary):
    plain = BetaGeoModel.from_summary(summary).fit()
    penalised = BetaGeoModel.from_summary(summary, penalizer=0.01).fit()
    assert np.sum(penalised.params**2) < np.sum(plain.params**2)
    assert penalised.llf < plain.llf
    assert penalised.penalizer == 0.01


def test_huge_ages_in_days_give_the_same_model(summary):
    # Same data in days, then in (absurdly) hundredths of a day: the rate
    # parameters scale with the time unit and the shapes do not move.
    weeks = BetaGeoModel.from_summary(summary).fit()
    for factor in (7.0, 700.0):
        scaled = BetaGeoModel(summary["frequency"], summary["recency"] * factor, summary["T"] * factor).fit()
        np.testing.assert_allclose(scaled.params[["r", "a", "b"]], weeks.params[["r", "a", "b"]], rtol=1e-5)
        assert scaled.params["alpha"] == pytest.approx(weeks.params["alpha"] * factor, rel=1e-5)
    pareto_weeks = ParetoNBDModel.from_summary(summary).fit()
    pareto_days = ParetoNBDModel(summary["frequency"], summary["recency"] * 700, summary["T"] * 700).fit()
    np.testing.assert_allclose(pareto_days.params[["r", "s"]], pareto_weeks.params[["r", "s"]], rtol=1e-5)
    assert pareto_days.params["beta"] == pytest.approx(pareto_weeks.params["beta"] * 700, rel=1e-5)


def test_paretonbd_recovers_simulated_parameters_with_alpha_above_beta():
    # Far-apart alpha > beta takes the other branch of the hypergeometric term.
    rng = np.random.default_rng(7)
    n, r, alpha, s, beta, age = 8000, 2.0, 40.0, 1.5, 4.0, 30.0
    rate = rng.gamma(r, 1 / alpha, n)
    horizon = np.minimum(age, rng.exponential(1 / rng.gamma(s, 1 / beta, n)))
    frequency = rng.poisson(rate * horizon)
    # Given n Poisson events in (0, h) the last is h times the max of n uniforms.
    recency = np.where(frequency > 0, horizon * rng.uniform(size=n) ** (1 / np.maximum(frequency, 1)), 0.0)
    results = ParetoNBDModel(frequency, recency, np.full(n, age)).fit()
    assert results.params["alpha"] > results.params["beta"]
    ci = results.conf_int(0.001)
    truth = pd.Series({"r": r, "alpha": alpha, "s": s, "beta": beta})
    assert np.all((ci["lower"] < truth) & (truth < ci["upper"])), (results.params, ci)


def test_from_params_predicts_without_a_fit(fits):
    stored = BetaGeoResults.from_params(fits["bgnbd"].params.to_dict())
    assert not stored.converged and np.isnan(stored.llf)
    assert stored.conditional_expected_purchases(39, 2, 30.43, 38.86) == pytest.approx(
        fits["bgnbd"].conditional_expected_purchases(39, 2, 30.43, 38.86)
    )
    with pytest.raises(ValueError):
        BetaGeoResults.from_params([1.0, 2.0])


@pytest.mark.parametrize(
    "frequency, recency, T",
    [([1, 2], [3.0, 1.0], [2.0, 5.0]), ([0], [1.0], [5.0]), ([1.5], [1.0], [2.0]), ([-1], [0.0], [2.0])],
)
def test_invalid_histories_are_rejected(frequency, recency, T):
    with pytest.raises(ValueError):
        BetaGeoModel(frequency, recency, T)


def test_gamma_gamma_rejects_non_positive_inputs():
    with pytest.raises(ValueError, match="frequency > 0"):
        GammaGammaModel([0, 2], [0.0, 10.0])
    with pytest.raises(ValueError, match="positive monetary"):
        GammaGammaModel([1, 2], [-3.0, 10.0])


def test_gamma_gamma_conditional_expected_value(fits, summary):
    results = fits["gammagamma"]
    p, q, gamma = results.params
    population = p * gamma / (q - 1)
    assert results.expected_value() == pytest.approx(population)
    value = results.conditional_expected_value([0, 1, 100], [50.0, 50.0, 50.0])
    assert value[0] == pytest.approx(population)
    # Shrinks the customer's own mean towards the population mean, less with more purchases.
    assert population < value[1] < value[2] < 50.0

"""Estimates on the edge of the parameter space, the MBG/NBD, and the choice of purchase
model: the nested models are the full models' limits, a boundary fit is reported with
its likelihood-ratio test, ``auto`` chooses by holdout error, and a holdout check that
cannot be made is a warning."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from custvalue.config import LifetimeSettings
from custvalue.lifetime import (
    BetaGeoModel,
    ConvergenceError,
    ModifiedBetaGeoModel,
    NoDropoutModel,
    ParetoNBDModel,
    estimate_lifetime_value,
    fit_allowing_boundary,
)
from custvalue.lifetime import boundary as nested
from custvalue.lifetime.bgnbd import BetaGeoResults, _bgnbd_row_loglike
from custvalue.lifetime.fitting import TIE_TOLERANCE, rank_by_holdout
from custvalue.lifetime.gammagamma import _gamma_gamma_row_loglike
from custvalue.lifetime.mbgnbd import ModifiedBetaGeoResults, _mbgnbd_row_loglike
from custvalue.lifetime.paretonbd import _pareto_row_loglike

CDNOW = Path(__file__).parent / "data" / "cdnow" / "cdnow_customers_summary.csv"


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return pd.read_csv(CDNOW)


@pytest.fixture(scope="module")
def rows(cdnow) -> dict[str, np.ndarray]:
    return {"x": cdnow["frequency"].to_numpy(float), "t_x": cdnow["recency"].to_numpy(float), "T": cdnow["T"].to_numpy(float)}


# --------------------------------------------------------------------------- the limits


@pytest.mark.parametrize("full", [_bgnbd_row_loglike, _mbgnbd_row_loglike, _pareto_row_loglike])
def test_without_dropout_every_purchase_model_is_the_nbd(rows, full):
    """BG/NBD and MBG/NBD as a -> 0, Pareto/NBD as s -> 0: the NBD without dropout."""
    r, alpha = 0.6, 4.0
    limit = nested._no_dropout_row_loglike(np.array([r, alpha]), rows, False)[0]
    np.testing.assert_allclose(full(np.array([r, alpha, 1e-60, 2.0]), rows, False)[0], limit, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "full, limit",
    [(_bgnbd_row_loglike, nested._common_dropout_loglike(False)), (_mbgnbd_row_loglike, nested._common_dropout_loglike(True))],
)
def test_one_dropout_probability_is_the_limit_of_the_beta_mixture(rows, full, limit):
    """a, b -> infinity with a / (a + b) = p: the beta distribution becomes a point mass."""
    r, alpha, p = 0.6, 4.0, 0.2
    reduced = limit(np.array([r, alpha, p]), rows, False)[0]
    gaps = [np.abs(full(np.array([r, alpha, p * m, (1 - p) * m]), rows, False)[0] - reduced).max() for m in (1e4, 1e6, 1e8)]
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 2e-6


@pytest.mark.parametrize(
    "full, limit",
    [(BetaGeoResults, nested.CommonDropoutResults), (ModifiedBetaGeoResults, nested.ModifiedCommonDropoutResults)],
)
def test_predictions_of_one_dropout_probability_are_the_limits_too(rows, full, limit):
    r, alpha, p, m = 0.6, 4.0, 0.2, 1e8
    big, small = full.from_params([r, alpha, p * m, (1 - p) * m]), limit.from_params([r, alpha, p])
    x, t_x, age = (rows[k][:300] for k in ("x", "t_x", "T"))
    np.testing.assert_allclose(small.conditional_probability_alive(x, t_x, age), big.conditional_probability_alive(x, t_x, age), atol=1e-7)
    np.testing.assert_allclose(
        small.conditional_expected_purchases(39.0, x, t_x, age), big.conditional_expected_purchases(39.0, x, t_x, age), rtol=1e-6
    )
    horizon = np.array([1.0, 10.0, 52.0])
    np.testing.assert_allclose(small.expected_purchases(horizon), big.expected_purchases(horizon), rtol=1e-6)


def test_nbd_predictions_are_the_limit_of_the_bgnbd(rows):
    big, small = BetaGeoResults.from_params([0.6, 4.0, 1e-60, 2.0]), nested.NoDropoutResults.from_params([0.6, 4.0])
    x, t_x, age = (rows[k][:300] for k in ("x", "t_x", "T"))
    assert (small.conditional_probability_alive(x, t_x, age) == 1.0).all()
    np.testing.assert_allclose(small.conditional_expected_purchases(26.0, x, t_x, age), big.conditional_expected_purchases(26.0, x, t_x, age), rtol=1e-9)


@pytest.mark.parametrize(
    "params, limit, reduced",
    [
        (lambda m: [2.0, 0.3 * m, m], nested._common_rate_row_loglike, [2.0, 0.3]),  # q, gamma -> inf
        (lambda m: [m, 3.0, 5.0 / m], nested._exact_mean_row_loglike, [3.0, 5.0]),  # p -> inf, gamma -> 0
    ],
)
def test_the_spend_models_limits(params, limit, reduced):
    data = {"x": np.array([1.0, 2.0, 5.0, 10.0]), "zbar": np.array([3.0, 10.0, 7.0, 20.0])}
    target = limit(np.array(reduced), data, False)[0]
    gaps = [np.abs(_gamma_gamma_row_loglike(np.array(params(m)), data, False)[0] - target).max() for m in (1e4, 1e8)]
    assert gaps[1] < gaps[0] and gaps[1] < 1e-4


@pytest.mark.parametrize(
    "loglike, params, data",
    [
        (nested._no_dropout_row_loglike, [0.7, 3.0], "rows"),
        (nested._common_dropout_loglike(False), [0.7, 3.0, 0.15], "rows"),
        (nested._common_dropout_loglike(True), [0.7, 3.0, 0.15], "rows"),
        (_mbgnbd_row_loglike, [0.7, 3.0, 0.8, 2.5], "rows"),
        (nested._common_rate_row_loglike, [2.0, 0.4], "spend"),
        (nested._exact_mean_row_loglike, [3.0, 5.0], "spend"),
    ],
)
def test_analytic_gradients_match_central_differences(rows, loglike, params, data):
    data = rows if data == "rows" else {"x": np.array([1.0, 3.0, 8.0]), "zbar": np.array([4.0, 9.0, 2.5])}
    params = np.array(params)
    _, grad = loglike(params, data, True)
    for j in range(len(params)):
        step = np.zeros_like(params)
        step[j] = 1e-6 * params[j]
        numeric = (loglike(params + step, data, False)[0] - loglike(params - step, data, False)[0]) / (2 * step[j])
        np.testing.assert_allclose(grad[:, j], numeric, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- MBG/NBD


def test_mbgnbd_reproduces_the_peer_estimates_on_cdnow(cdnow):
    """lifetimes 0.11.3, ``ModifiedBetaGeoFitter().fit(frequency, recency, T)`` on the same
    CDNOW summary: r 0.5248, alpha 6.1830, a 0.8914, b 1.6140; P(alive) of the first
    customer (2, 30.43, 38.86) 0.7061, of a one-purchase customer at 38.86 weeks 0.3897;
    expected purchases in 39 weeks 1.2627 for the first and 1.1823 for a new customer
    (all measured with lifetimes in this project's benchmark environment)."""
    fit = ModifiedBetaGeoModel(cdnow["frequency"], cdnow["recency"], cdnow["T"]).fit()
    np.testing.assert_allclose(fit.params.to_numpy(), [0.5248377, 6.1829885, 0.8913563, 1.6140000], rtol=2e-5)
    np.testing.assert_allclose(fit.conditional_probability_alive([2, 0], [30.43, 0.0], [38.86, 38.86]), [0.70612626, 0.38971644], rtol=1e-6)
    assert fit.conditional_expected_purchases(39, 2, 30.43, 38.86) == pytest.approx(1.26267078, rel=1e-6)
    assert float(fit.expected_purchases(39.0)) == pytest.approx(1.18228370, rel=1e-6)


def test_under_the_mbgnbd_a_one_time_buyer_fades(cdnow):
    fit = ModifiedBetaGeoModel(cdnow["frequency"], cdnow["recency"], cdnow["T"]).fit()
    alive = fit.conditional_probability_alive(0, 0.0, np.array([1.0, 52.0, 156.0]))
    assert alive[0] > alive[1] > alive[2] and alive[2] < 0.3
    bgnbd = BetaGeoModel(cdnow["frequency"], cdnow["recency"], cdnow["T"]).fit()
    assert (bgnbd.conditional_probability_alive(0, 0.0, np.array([1.0, 52.0, 156.0])) == 1.0).all()


# --------------------------------------------------------------------------- boundary fits


def no_dropout_histories(n: int, seed: int, weeks: float = 104.0) -> pd.DataFrame:
    """Customers who never drop out: gamma-distributed Poisson rates over ``weeks``."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(2.0, 1 / 8.0, n)
    age = rng.uniform(20.0, weeks, n)
    counts = rng.poisson(rate * age)
    recency = np.array([rng.uniform(0, T, k).max() if k else 0.0 for k, T in zip(counts, age)])
    return pd.DataFrame({"frequency": counts, "recency": recency, "T": age})


@pytest.mark.parametrize("model", [BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel])
def test_data_without_dropout_give_the_nbd_with_its_likelihood_ratio_test(model):
    histories = no_dropout_histories(1500, seed=4)
    outcome = fit_allowing_boundary(model.from_summary(histories))
    assert outcome.on_boundary and outcome.results.model_name == "NBD (no dropout)"
    direct = NoDropoutModel.from_summary(histories).fit()
    pd.testing.assert_series_equal(outcome.results.params, direct.params)
    assert outcome.lr_df == 2 and 0 <= outcome.lr_statistic < 1 and outcome.lr_pvalue > 0.5
    assert outcome.sentence().startswith("the data show no evidence of silent dropout")
    np.testing.assert_allclose(direct.params.to_numpy(), [2.0, 8.0], rtol=0.2)  # the simulated gamma(2, 8)


def test_a_converged_estimate_at_the_limit_is_the_nested_model():
    """On these data the BG/NBD converges with a = 1e-9 or so: at the limit, in effect."""
    histories = no_dropout_histories(1500, seed=3)
    # Whether the optimizer stops just inside the limit with a usable Hessian, or at a point
    # where the Hessian is singular, depends on the last bits of the arithmetic (seen to
    # differ between machines). Both must end in the nested model; the first also says why.
    try:
        full = BetaGeoModel.from_summary(histories).fit()
    except ConvergenceError as error:
        full, full_failure = None, str(error)
    outcome = fit_allowing_boundary(BetaGeoModel.from_summary(histories))
    assert outcome.on_boundary and outcome.results.model_name == "NBD (no dropout)"
    assert outcome.lr_statistic < 1e-4
    if full is not None:
        assert full.params["a"] < 1e-6
        assert "converged at the limit" in outcome.full_error
    else:
        assert "not positive definite" in full_failure


def test_an_interior_estimate_is_kept_as_it_is(cdnow):
    outcome = fit_allowing_boundary(BetaGeoModel(cdnow["frequency"], cdnow["recency"], cdnow["T"]))
    assert not outcome.on_boundary and outcome.results.model_name == "BG/NBD" and outcome.sentence() == ""


def test_a_failure_that_says_nothing_of_the_likelihood_is_not_a_boundary(cdnow, monkeypatch):
    def fails(self, *args, **kwargs):
        raise ConvergenceError("forced")

    monkeypatch.setattr(BetaGeoModel, "fit", fails)
    with pytest.raises(ConvergenceError, match="forced"):
        fit_allowing_boundary(BetaGeoModel(cdnow["frequency"], cdnow["recency"], cdnow["T"]))


def test_a_full_model_significantly_better_is_not_reduced(cdnow, monkeypatch):
    """A failed fit whose likelihood is far above the nested model's is a failure, not a boundary."""
    true_fit = BetaGeoModel(cdnow["frequency"], cdnow["recency"], cdnow["T"]).fit()

    def fails_near_the_maximum(self, *args, **kwargs):
        raise ConvergenceError("Hessian", params=true_fit.params, llf=true_fit.llf)

    monkeypatch.setattr(BetaGeoModel, "fit", fails_near_the_maximum)
    with pytest.raises(ConvergenceError, match="Hessian"):
        fit_allowing_boundary(BetaGeoModel(cdnow["frequency"], cdnow["recency"], cdnow["T"]))


# --------------------------------------------------------------------------- the choice and the warnings


def test_holdout_errors_within_the_tolerance_are_decided_by_aic():
    comparison = pd.DataFrame(
        {
            "candidate": ["bgnbd", "mbgnbd", "paretonbd", "broken"],
            "holdout_mae": [1.000, 1.000 * (1 + TIE_TOLERANCE / 2), 1.2, np.nan],
            "aic": [500.0, 400.0, 100.0, np.nan],
        }
    )
    assert rank_by_holdout(comparison) == ["mbgnbd", "bgnbd", "paretonbd"]


@pytest.fixture(scope="module")
def orders_and_customers():
    from custvalue.demo import DemoSpec, generate_world

    world = generate_world(DemoSpec(n_customers=300, seed=8))
    return world.tables["orders"], world.tables["customers"]


def test_auto_compares_three_models_on_the_holdout_and_keeps_the_best(orders_and_customers):
    orders, customers = orders_and_customers
    result = estimate_lifetime_value(orders, customers, date(2026, 6, 30), LifetimeSettings())
    comparison = result.model_comparison.set_index("candidate")
    assert list(comparison.index) == ["bgnbd", "mbgnbd", "paretonbd"]
    chosen = comparison.index[comparison["rank"] == 1][0]
    ranked = comparison[comparison["rank"] > 0].sort_values("rank")
    assert ranked["holdout_mae"].iloc[0] <= ranked["holdout_mae"].min() * (1 + TIE_TOLERANCE)
    assert result.transaction_fit.requested_model == comparison.loc[chosen, "model"]
    assert result.holdout_fit.requested_model == comparison.loc[chosen, "model"]
    assert result.info["purchase_model_choice"] == "by the smallest holdout error (ties: the lowest AIC)"
    assert result.warnings == ()


def test_a_history_too_short_for_the_holdout_check_is_a_warning(orders_and_customers):
    orders, customers = orders_and_customers
    recent = orders[orders["order_date"] >= pd.Timestamp("2026-01-01")]
    result = estimate_lifetime_value(recent, customers, date(2026, 6, 30), LifetimeSettings())
    assert result.holdout_fit is None and result.holdout is None and np.isnan(result.holdout_mae)
    assert len(result.warnings) == 1 and result.warnings[0].startswith("the holdout check was not made: the history before 2025-12-31 is too short")
    assert result.info["purchase_model_choice"] == "by the lowest AIC on all data, as no holdout check could be made"
    comparison = result.model_comparison
    assert comparison.loc[comparison["rank"] == 1, "aic"].iloc[0] == comparison["aic"].min()
    assert result.tracking.empty and "Holdout: no check could be made" in result.summary()


def test_a_fixed_model_whose_holdout_fit_fails_still_scores(orders_and_customers, monkeypatch):
    orders, customers = orders_and_customers
    original = BetaGeoModel.fit
    calls = []

    def fails_on_calibration(self, *args, **kwargs):
        calls.append(self.nobs)
        if len(calls) == 1:  # the calibration period comes first
            raise ConvergenceError("forced")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(BetaGeoModel, "fit", fails_on_calibration)
    settings = LifetimeSettings(transaction_model="bgnbd", retry_with_penalizer=False)
    result = estimate_lifetime_value(orders, customers, date(2026, 6, 30), settings)
    assert result.holdout_fit is None and result.transaction_fit.model == "BG/NBD"
    assert any("the holdout check was not made" in warning for warning in result.warnings)

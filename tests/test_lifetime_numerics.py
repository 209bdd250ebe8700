"""Numerical accuracy of the likelihoods, gradients and predictions.

Each quantity is checked against an evaluation by a different route:
reference values computed with mpmath at 50 digits, or adaptive quadrature
of the integral that defines it.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special, stats

from custvalue.lifetime import BetaGeoResults, ParetoNBDResults
from custvalue.lifetime._hypergeom import hyp2f1_one, hyp2f1_power_series
from custvalue.lifetime.bgnbd import _bgnbd_row_loglike
from custvalue.lifetime.gammagamma import _gamma_gamma_row_loglike
from custvalue.lifetime.paretonbd import _pareto_row_loglike

# (p, q, z, 2F1(1, p; q; z), d/dp, d/dq, d/dz) from mpmath.hyp2f1 and mpmath.diff
# at 50 digits. Includes cases where scipy.special.hyp2f1 returns NaN
# (p = 406.36, z = 0.9984) or loses digits (z within 1e-5 of 1).
MPMATH_REFERENCE = [
    (0.5, 1.2, 0.0, 1.0, 0.0, 0.0, 0.41666666666666668),
    (0.553, 2.159, 0.093, 1.0249762821659479, 0.045936432742578181, -0.011951097513459982, 0.2817511847539319),
    (3.0, 4.6, 0.5, 1.5163310866438759, 0.24217939021921448, -0.16361558323118708, 1.6628188721914431),
    (250.5, 251.1, 0.9, 9.7962195421372879, 0.33294594881363627, -0.33217554953338982, 95.813203181288433),
    (406.36, 409.8, 0.9984, 122.70768916512531, 34.066857006119842, -33.839732300638373, 18536.936552525848),
    (77.71, 81.82, 0.99999, 25.977574122446286, 8.3482679846298714, -8.0269659042179118, 955.74019156597957),
    (0.0136, 4.588, 0.99995, 1.0038045692421083, 0.28081202922697856, -0.0010643647233622579, 0.0053025431458635736),
    (1.5, 1.51, 0.999, 939.08449522472886, 5898.8401751300673, -5890.1665429767047, 929724.74827792157),
]


def test_hypergeometric_series_matches_mpmath():
    p, q, z, value, d_p, d_q, d_z = map(np.array, zip(*MPMATH_REFERENCE))
    series = hyp2f1_one(p, q, z)
    np.testing.assert_allclose(series.value, value, rtol=1e-12)
    np.testing.assert_allclose(series.d_p, d_p, rtol=1e-11, atol=1e-15)
    np.testing.assert_allclose(series.d_q, d_q, rtol=1e-11, atol=1e-15)
    np.testing.assert_allclose(series.d_z, d_z, rtol=1e-11)


# (a, b, c, z, 2F1(a, b; c; z)) from mpmath; scipy.special.hyp2f1 returns inf
# for the first, and the second has terms alternating in sign.
MPMATH_GENERAL_REFERENCE = [
    (1.0, 1.0, 101.0, 52 / 53, 1.009906611124758),
    (-48.0, 0.5, 1.2, 0.9, 0.10715448029030757),
    (2.5, -0.4, 0.7, 0.999, -3705.3321192648338),
    (1.98, -0.207, 2.219, 0.474, 0.89115076981956523),
]


def test_general_power_series_matches_mpmath():
    a, b, c, z, value = map(np.array, zip(*MPMATH_GENERAL_REFERENCE))
    series, cancellation = hyp2f1_power_series(a, b, c, z)
    lossless = cancellation < 1e4
    np.testing.assert_allclose(series[lossless], value[lossless], rtol=1e-12)
    # The alternating case loses digits, and says so.
    assert cancellation[1] > 1e4 and series[1] == pytest.approx(value[1], rel=1e-3)


def test_hypergeometric_series_rejects_z_outside_unit_interval():
    with pytest.raises(ValueError):
        hyp2f1_one(1.0, 2.0, 1.0)


def pareto_likelihood_by_quadrature(params, x, t_x, T):
    """Pareto/NBD likelihood from its definition: alive at T, or died in (t_x, T)."""
    r, alpha, s, beta = params
    common = np.exp(special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta))
    alive = (alpha + T) ** -(r + x) * (beta + T) ** -s
    died, _ = integrate.quad(
        lambda tau: (alpha + tau) ** -(r + x) * (beta + tau) ** -(s + 1), t_x, T, epsabs=0, epsrel=1e-13, limit=200
    )
    return np.log(common * (alive + s * died))


HISTORIES = np.array([[0, 0.0, 38.86], [1, 1.71, 38.86], [2, 30.43, 38.86], [7, 37.0, 38.0], [25, 20.0, 60.0], [3, 5.0, 5.0]])


@pytest.mark.parametrize(
    "params",
    [
        [0.553, 10.578, 0.606, 11.669],  # CDNOW: alpha < beta
        [0.553, 40.0, 0.606, 2.0],  # alpha > beta
        [2.0, 5.0, 3.0, 5.0],  # alpha == beta: z = 0
        [0.3, 2000.0, 0.8, 0.5],  # alpha >> beta: z close to 1
        [0.3, 0.5, 0.8, 3000.0],  # beta >> alpha: z close to 1
    ],
)
def test_pareto_loglikelihood_matches_quadrature(params):
    data = {"x": HISTORIES[:, 0], "t_x": HISTORIES[:, 1], "T": HISTORIES[:, 2]}
    ll, _ = _pareto_row_loglike(np.array(params), data, False)
    reference = [pareto_likelihood_by_quadrature(params, *row) for row in HISTORIES]
    np.testing.assert_allclose(ll, reference, rtol=1e-10)


ROW_LOGLIKES = [
    (_bgnbd_row_loglike, [0.243, 4.414, 0.793, 2.426], HISTORIES),
    (_bgnbd_row_loglike, [3.0, 0.2, 5.0, 0.4], HISTORIES),
    (_pareto_row_loglike, [0.553, 10.578, 0.606, 11.669], HISTORIES),
    (_pareto_row_loglike, [0.553, 40.0, 0.606, 2.0], HISTORIES),
    (_pareto_row_loglike, [0.3, 2000.0, 0.8, 0.5], HISTORIES),  # quadrature segment, alpha > beta
    (_pareto_row_loglike, [0.3, 0.5, 0.8, 3000.0], HISTORIES),  # quadrature segment, alpha < beta
    (_gamma_gamma_row_loglike, [6.25, 3.74, 15.44], np.array([[1, 10.0, 0], [5, 35.2, 0], [40, 3.1, 0]])),
]


@pytest.mark.parametrize("row_loglike, params, rows", ROW_LOGLIKES)
def test_analytic_gradient_matches_finite_differences(row_loglike, params, rows):
    params = np.array(params, dtype=float)
    if row_loglike is _gamma_gamma_row_loglike:
        data = {"x": rows[:, 0], "zbar": rows[:, 1]}
    else:
        data = {"x": rows[:, 0], "t_x": rows[:, 1], "T": rows[:, 2]}
    _, grad = row_loglike(params, data, True)
    for i in range(len(params)):
        step = 1e-6 * params[i]
        up, down = params.copy(), params.copy()
        up[i] += step
        down[i] -= step
        numeric = (row_loglike(up, data, False)[0] - row_loglike(down, data, False)[0]) / (2 * step)
        np.testing.assert_allclose(grad[:, i], numeric, rtol=1e-6, atol=1e-8)


def test_gamma_gamma_loglikelihood_is_the_density_of_the_mean():
    # zbar is the mean of x Gamma(p, nu) values: Gamma(p x, x nu). Integrate over nu.
    p, q, gamma, x, zbar = 6.25, 3.74, 15.44, 3, 22.0
    density, _ = integrate.quad(
        lambda nu: stats.gamma.pdf(zbar, p * x, scale=1 / (x * nu)) * stats.gamma.pdf(nu, q, scale=1 / gamma),
        0,
        np.inf,
        epsrel=1e-12,
    )
    ll, _ = _gamma_gamma_row_loglike(np.array([p, q, gamma]), {"x": np.array([x]), "zbar": np.array([zbar])}, False)
    assert ll[0] == pytest.approx(np.log(density), rel=1e-9)


def bgnbd_conditional_by_quadrature(params, t, x, t_x, T):
    """E[X(t) | history] = P(alive) E[(1 - exp(-lambda p t)) / p] under the posterior."""
    r, alpha, a, b = params
    results = BetaGeoResults.from_params(params)
    alive = results.conditional_probability_alive(x, t_x, T)

    def integrand(p):
        future = -np.expm1((r + x) * -np.log1p(p * t / (alpha + T))) / p
        return future * stats.beta.pdf(p, a, b + x)

    value, _ = integrate.quad(integrand, 0, 1, epsabs=0, epsrel=1e-11, limit=200)
    return alive * value


@pytest.mark.parametrize(
    "t, x, t_x, T",
    [
        (39, 2, 30.43, 38.86),
        (39, 0, 0.0, 38.86),
        (520, 1, 2.0, 10.0),
        (10, 60, 50.0, 52.0),
        (5000, 3, 30.0, 40.0),
        (52, 99, 0.5, 1.0),
    ],
)
@pytest.mark.parametrize(
    "params",
    [
        [0.243, 4.414, 0.793, 2.426],  # CDNOW
        [3.0, 0.2, 5.0, 0.4],
        [1.0, 1.0, 2.0, 1.0],  # where scipy's hyp2f1 overflows
        [40.0, 3.0, 0.5, 0.6],  # r far above a + b - 1: the Euler-transformed series cancels
        [0.5, 2.0, 1.00003, 3.0],  # a close to 1: the closed form is 0/0
    ],
)
def test_bgnbd_conditional_expectation_matches_quadrature(params, t, x, t_x, T):
    results = BetaGeoResults.from_params(params)
    ours = results.conditional_expected_purchases(t, x, t_x, T)
    assert ours == pytest.approx(bgnbd_conditional_by_quadrature(params, t, x, t_x, T), rel=1e-8)


def test_unconditional_expectations_are_the_conditional_ones_at_birth():
    bg = BetaGeoResults.from_params([0.243, 4.414, 0.793, 2.426])
    pareto = ParetoNBDResults.from_params([0.553, 10.578, 0.606, 11.669])
    t = np.array([0.0, 1.0, 39.0, 500.0])
    for results in (bg, pareto):
        np.testing.assert_allclose(
            results.expected_purchases(t), results.conditional_expected_purchases(t, 0, 0.0, 0.0), rtol=1e-10
        )


def test_paretonbd_expectation_is_continuous_at_s_equal_one():
    values = [
        ParetoNBDResults.from_params([0.5, 10.0, s, 12.0]).conditional_expected_purchases(39, 3, 20.0, 38.0)
        for s in (1 - 1e-7, 1.0, 1 + 1e-7)
    ]
    np.testing.assert_allclose(values, values[1], rtol=1e-6)


def test_paretonbd_probability_alive_matches_direct_formula():
    # Fader & Hardie (2005) eq. 36 with scipy's hyp2f1 in a regime where it is accurate.
    r, alpha, s, beta = 0.553, 10.578, 0.606, 11.669
    x, t_x, T = 2, 30.43, 38.86
    kappa = r + s + x
    a0 = (
        special.hyp2f1(kappa, r + x, kappa + 1, (beta - alpha) / (beta + t_x)) / (beta + t_x) ** kappa
        - special.hyp2f1(kappa, r + x, kappa + 1, (beta - alpha) / (beta + T)) / (beta + T) ** kappa
    )
    direct = 1 / (1 + s / kappa * (alpha + T) ** (r + x) * (beta + T) ** s * a0)
    ours = ParetoNBDResults.from_params([r, alpha, s, beta]).conditional_probability_alive(x, t_x, T)
    assert ours == pytest.approx(direct, rel=1e-12)


def test_interval_of_a_parameter_at_its_boundary_is_open_above_without_a_warning():
    # a at the edge of the box with a huge standard error on the log scale: exp of the
    # upper end would overflow. The interval is open above (upper = inf), no warning.
    import dataclasses
    import warnings

    import pandas as pd

    fitted = BetaGeoResults.from_params({"r": 0.24, "alpha": 4.4, "a": 1e-9, "b": 2.4})
    names = list(fitted.params.index)
    log_variance = pd.DataFrame(np.diag([0.01, 0.01, 1e6, 0.04]), index=names, columns=names)
    fitted = dataclasses.replace(fitted, cov_log_params=log_variance)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        interval = fitted.conf_int(0.05)
        text = fitted.summary()
    assert interval.loc["a", "upper"] == np.inf and 0 <= interval.loc["a", "lower"] < 1e-9
    finite = interval.drop(index="a")
    assert np.all(np.isfinite(finite["upper"])) and np.all(finite["lower"] < fitted.params.drop("a"))
    assert "inf" in text

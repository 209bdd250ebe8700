"""BG/NBD purchase-count model (Fader, Hardie & Lee 2005).

While alive, a customer buys as a Poisson process with rate ``lambda``; after
each purchase they drop out with probability ``p``. Across customers
``lambda ~ Gamma(r, alpha)`` (shape, rate) and ``p ~ Beta(a, b)``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, expit, gammaln

from ._hypergeom import hyp2f1_power_series
from ._rows import per_distinct_row
from ._transactions import (
    TransactionModel,
    TransactionResults,
    horizon_array,
    rfm_arrays,
)

__all__ = ["BetaGeoModel", "BetaGeoResults"]

_REFERENCES = """
    References
    ----------
    .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting Your
       Customers" the Easy Way: An Alternative to the Pareto/NBD Model.
       Marketing Science 24(2), 275-284.
"""


def _bgnbd_row_loglike(params, data, need_grad):
    """Per-customer BG/NBD log-likelihood (FHL 2005, eq. 6) and its gradient.

    ``log L = A + log(exp(c1) + [x > 0] exp(c2))`` with
    ``A = lnG(r+x) - lnG(r) + r ln(alpha) + ln B(a, b+x) - ln B(a, b)``,
    ``c1 = -(r+x) ln(alpha+T)`` and
    ``c2 = ln a - ln(b+x-1) - (r+x) ln(alpha+t_x)``.
    """
    r, alpha, a, b = params
    x, t_x, T = data["x"], data["t_x"], data["T"]
    repeat = x > 0
    b_x_1 = np.where(repeat, b + x - 1.0, 1.0)  # only used where x > 0

    log_alpha_T = np.log(alpha + T)
    log_alpha_tx = np.log(alpha + t_x)
    base = (
        gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        + gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    )
    c1 = -(r + x) * log_alpha_T
    c2 = np.where(repeat, np.log(a) - np.log(b_x_1) - (r + x) * log_alpha_tx, -np.inf)
    mix = np.logaddexp(c1, c2)
    ll = base + mix
    if not need_grad:
        return ll, None

    w1 = np.exp(c1 - mix)
    w2 = np.exp(c2 - mix)  # 0 where x == 0
    psi_ab, psi_abx = digamma(a + b), digamma(a + b + x)
    grad = np.empty((len(x), 4))
    grad[:, 0] = digamma(r + x) - digamma(r) + np.log(alpha) - w1 * log_alpha_T - w2 * log_alpha_tx
    grad[:, 1] = r / alpha - (r + x) * (w1 / (alpha + T) + w2 / (alpha + t_x))
    grad[:, 2] = psi_ab - psi_abx + w2 / a
    grad[:, 3] = digamma(b + x) - digamma(b) + psi_ab - psi_abx - w2 / b_x_1
    return ll, grad


class BetaGeoResults(TransactionResults):
    """Fitted BG/NBD model: estimates and the questions they answer.

    Parameters are ``r, alpha`` (gamma heterogeneity of the purchase rate,
    shape and rate in the model's time unit) and ``a, b`` (beta heterogeneity
    of the dropout probability).
    """

    display_name = "BG/NBD"
    param_names = ("r", "alpha", "a", "b")

    @per_distinct_row
    def conditional_probability_alive(self, frequency, recency, T):
        """Probability that a customer with history ``(x, t_x, T)`` is still alive.

        ``P = 1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x))``
        (FHL 2005, eq. 11). Equal to 1 for ``x = 0``: in the BG/NBD a
        customer can only drop out right after a repeat purchase.

        Parameters
        ----------
        frequency, recency, T : array_like
            Repeat purchases, recency and age, in the model's time unit.

        Returns
        -------
        ndarray
            Probabilities in ``[0, 1]``, broadcast shape of the inputs.
        """
        x, t_x, age = rfm_arrays(frequency, recency, T)
        r, alpha, a, b = self._unpack()
        repeat = x > 0
        log_odds_dead = np.where(
            repeat,
            np.log(a) - np.log(np.where(repeat, b + x - 1.0, 1.0))
            + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x)),
            -np.inf,
        )
        return expit(-log_odds_dead)

    @per_distinct_row
    def conditional_expected_purchases(self, t, frequency, recency, T):
        """Expected repeat purchases in the next ``t`` periods, given the history.

        FHL 2005, eq. 10; the Gaussian hypergeometric function is summed as a
        power series (see ``_future_purchases_if_alive``), which stays
        accurate where ``scipy.special.hyp2f1`` overflows (heavy buyers, long
        horizons).

        Parameters
        ----------
        t : array_like
            Length of the future period(s), in the model's time unit.
        frequency, recency, T : array_like
            Customer history.

        Returns
        -------
        ndarray
            Expected purchases, broadcast shape of the inputs.
        """
        t = horizon_array(t)
        x, t_x, age = rfm_arrays(frequency, recency, T)
        r, alpha, a, b = self._unpack()
        alive = self.conditional_probability_alive(x, t_x, age)
        future = _through_removable_singularities(r, alpha, a, b, t, x, age)
        return _checked(future * alive)

    def expected_purchases(self, t):
        """Expected repeat purchases of a new customer in their first ``t`` periods.

        ``E[X(t)] = (a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))]``
        (FHL 2005, eq. 9); the same as :meth:`conditional_expected_purchases`
        for a customer with ``x = t_x = T = 0``.

        Parameters
        ----------
        t : array_like
            Time since the first purchase, in the model's time unit.

        Returns
        -------
        ndarray
        """
        t = np.asarray(t, dtype=float)
        return self.conditional_expected_purchases(t, 0.0, 0.0, np.zeros_like(t))


#: Step of the interpolation across the removable singularities of the
#: closed form; at this distance it still has about 13 correct digits.
_NEAR_SINGULAR = 1e-3


def _future_purchases_if_alive(r, alpha, a, b, t, x, age):
    """FHL 2005 eq. 10 without the P(alive) factor (needs a != 1).

    ``(c/(a-1)) [1 - (1-z)^(r+x) 2F1(r+x, b+x; c; z)]`` with ``c = a+b+x-1`` and
    ``z = t/(alpha+T+t)``. The factor has two power series: this original
    one, whose terms are positive and fall like ``k^(r+x-a) z^k``, and the
    Euler-transformed ``(1-z)^(a-1) 2F1(a+b-1-r, a-1; c; z)``, whose terms
    fall like ``k^(a-r-x-2) z^k``. Each row sums the faster one, switching
    to the original where the other's first terms cancel (``r`` far above
    ``a+b-1``), so long horizons (``z`` near 1) stay cheap and exact.
    """
    t, x, age = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (t, x, age)))
    shape = t.shape
    t, x, age = t.ravel(), x.ravel(), age.ravel()
    z = t / (alpha + age + t)
    log_one_minus_z = np.log(alpha + age) - np.log(alpha + age + t)
    c = a + b + x - 1.0
    factor = np.empty_like(z)
    original = a >= r + x + 1.0
    euler = ~original
    if euler.any():
        series, cancellation = hyp2f1_power_series(a + b - 1.0 - r, a - 1.0, c[euler], z[euler])
        factor[euler] = np.exp((a - 1.0) * log_one_minus_z[euler]) * series
        original[euler] = cancellation > 1e4
    if original.any():
        series, _ = hyp2f1_power_series(r + x[original], b + x[original], c[original], z[original])
        factor[original] = np.exp((r + x[original]) * log_one_minus_z[original]) * series
    return np.where(t == 0, 0.0, c / (a - 1.0) * (1.0 - factor)).reshape(shape)


def _cubic_across(function, value: float, singular_at: float, step: float):
    """``function(value)`` from cubic Lagrange interpolation across ``singular_at``.

    For a function smooth in ``value`` whose formula is 0/0 at ``singular_at``
    and loses digits near it: evaluated at ``singular_at`` +/- 1 and 2 steps.
    """
    nodes = singular_at + step * np.array([-2.0, -1.0, 1.0, 2.0])
    total = 0.0
    for i, node in enumerate(nodes):
        others = np.delete(nodes, i)
        total = total + np.prod((value - others) / (node - others)) * function(node)
    return total


def _through_removable_singularities(r, alpha, a, b, t, x, age):
    """:func:`_future_purchases_if_alive`, also at ``a = 1`` and at ``a + b + x = 1``.

    Both are removable singularities of the closed form (``c/(a-1)`` and the
    hypergeometric parameter ``c = a+b+x-1`` reach 0), where the expectation
    itself is smooth; near them it is interpolated in ``a`` (resp. ``b``).
    """
    if abs(a - 1.0) < _NEAR_SINGULAR:
        return _cubic_across(lambda node: _safe_in_b(r, alpha, node, b, t, x, age), a, 1.0, _NEAR_SINGULAR)
    return _safe_in_b(r, alpha, a, b, t, x, age)


def _safe_in_b(r, alpha, a, b, t, x, age):
    t, x, age = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (t, x, age)))
    near = np.abs(a + b + x - 1.0) < _NEAR_SINGULAR  # only possible for x = 0
    result = np.empty(t.shape)
    far = ~near
    result[far] = _future_purchases_if_alive(r, alpha, a, b, t[far], x[far], age[far])
    if near.any():
        result[near] = _cubic_across(
            lambda node: _future_purchases_if_alive(r, alpha, a, node, t[near], x[near], age[near]),
            b,
            1.0 - a,
            _NEAR_SINGULAR,
        )
    return result


def _checked(values):
    if not np.all(np.isfinite(values)):
        raise FloatingPointError("BG/NBD expectation is not finite for some inputs")
    return values


class BetaGeoModel(TransactionModel):
    """BG/NBD model specification and data.

    Parameters
    ----------
    frequency : array_like
        Repeat purchases ``x``.
    recency : array_like
        Time of the last purchase since the first, ``t_x``.
    T : array_like
        Age: time since the first purchase to the end of observation.
    weights : array_like, optional
        Number of customers each row stands for.
    penalizer : float, default 0.0
        L2 penalty on ``(r, alpha, a, b)``, added to the mean negative
        log-likelihood per customer.

    Examples
    --------
    >>> res = BetaGeoModel(summary["frequency"], summary["recency"], summary["T"]).fit()
    >>> res.params
    >>> res.conditional_expected_purchases(39, 2, 30.43, 38.86)
    """

    _results_class = BetaGeoResults
    _row_loglike = staticmethod(_bgnbd_row_loglike)

    def _start_params(self, data, weights):
        # Purchase rate with mean r/alpha equal to the pooled rate; a mean
        # dropout probability of 1/3 per purchase.
        rate = self._purchase_rate(data, weights)
        return np.array([1.0, 1.0 / rate, 1.0, 2.0])


for _cls in (BetaGeoModel, BetaGeoResults):
    _cls.__doc__ = (_cls.__doc__ or "") + _REFERENCES

"""Pareto/NBD purchase-count model (Schmittlein, Morrison & Colombo 1987).

While alive, a customer buys as a Poisson process with rate ``lambda``; their
lifetime is exponential with rate ``mu``. Across customers
``lambda ~ Gamma(r, alpha)`` and ``mu ~ Gamma(s, beta)`` (shape, rate),
independently.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln

from ._hypergeom import hyp2f1_one
from ._rows import per_distinct_row
from ._transactions import (
    TransactionModel,
    TransactionResults,
    horizon_array,
    rfm_arrays,
)

__all__ = ["ParetoNBDModel", "ParetoNBDResults"]

_REFERENCES = """
    References
    ----------
    .. [1] Schmittlein, D. C., Morrison, D. G. and Colombo, R. (1987).
       Counting Your Customers: Who Are They and What Will They Do Next?
       Management Science 33(1), 1-24.
    .. [2] Fader, P. S. and Hardie, B. G. S. (2005). A Note on Deriving the
       Pareto/NBD Model and Related Expressions.
       http://brucehardie.com/notes/009/
"""


def _log_tail_term(params, t, x, need_grad):
    """``log F(t)`` and its gradient, ``F(t) = 2F1(r+s+x, b; r+s+x+1; z_t) / m_t^(r+s+x)``.

    ``F(t_x) - F(T)`` is the ``A_0`` term of the likelihood (Fader & Hardie
    2005, eq. 19-20): with ``alpha >= beta``, ``b = s + 1``, ``m = alpha + t``
    and ``z = (alpha - beta)/(alpha + t)``; with ``alpha < beta``, ``b = r + x``,
    ``m = beta + t`` and ``z = (beta - alpha)/(beta + t)``. Either way
    ``0 <= z < 1``. Euler's transformation turns both into
    ``F(t) = (alpha+t)^-(r+x) (beta+t)^-s G(t)`` with
    ``G = 2F1(1, r+x; r+s+x+1; z)`` in the first case and
    ``G = (1-z) 2F1(1, s+1; r+s+x+1; z)`` in the second: positive series,
    summed in :func:`hyp2f1_one`.
    """
    r, alpha, s, beta = params
    log_a, log_b = np.log(alpha + t), np.log(beta + t)
    q = r + s + x + 1.0
    if alpha >= beta:
        z = (alpha - beta) / (alpha + t)
        series = hyp2f1_one(r + x, q, z, _SERIES_TERMS)
        log_g = np.log(series.value)
    else:
        z = (beta - alpha) / (beta + t)
        series = hyp2f1_one(s + 1.0, q, z, _SERIES_TERMS)
        log_g = log_a - log_b + np.log(series.value)
    log_f = -(r + x) * log_a - s * log_b + log_g
    if not need_grad:
        return log_f, None

    dz = series.d_z / series.value
    dq = series.d_q / series.value
    dp = series.d_p / series.value
    grad = np.empty((len(log_f), 4))
    if alpha >= beta:
        grad[:, 0] = dp + dq
        grad[:, 1] = dz * (beta + t) / (alpha + t) ** 2
        grad[:, 2] = dq
        grad[:, 3] = -dz / (alpha + t)
    else:
        grad[:, 0] = dq
        grad[:, 1] = 1.0 / (alpha + t) - dz / (beta + t)
        grad[:, 2] = dp + dq
        grad[:, 3] = -1.0 / (beta + t) + dz * (alpha + t) / (beta + t) ** 2
    grad[:, 0] -= log_a
    grad[:, 1] -= (r + x) / (alpha + t)
    grad[:, 2] -= log_b
    grad[:, 3] -= s / (beta + t)
    return log_f, grad


#: Gauss-Legendre nodes and weights on (0, 1) for the segment near the
#: singular point of the hypergeometric term.
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(32)
_NODES, _WEIGHTS = (_NODES + 1.0) / 2.0, _WEIGHTS / 2.0
#: The series is used for z up to 1 - min(_SERIES_GAP, 3 / exponent); beyond,
#: its terms shrink too slowly and quadrature takes over.
_SERIES_GAP = 0.01


#: The series region needs about ``12 (r + x)`` or ``12 (s + 1)`` terms (``z`` up to
#: ``1 - 3/exponent``): this covers exponents up to about 30,000. Beyond, the parameters
#: are extreme (``s`` and ``beta`` running off together along the ridge of a common
#: dropout rate) and the likelihood is reported as not evaluable within a second,
#: instead of summing millions of terms.
_SERIES_TERMS = 400_000

#: Past this many e-folds of decay the rest of the segment is below rounding.
_EFOLDS = 60.0


def _log_death_segment(params, x, t_start, t_end, need_grad):
    """``log of the integral of (alpha+tau)^-(r+x) (beta+tau)^-(s+1)`` over ``[t_start, t_end]``.

    For the segment where the hypergeometric argument ``z`` is close to 1:
    ``tau`` is small against ``M = max(alpha, beta)``. In ``v = log(m + tau)``,
    ``m = min(alpha, beta)`` with exponent ``P``, the integrand is
    ``exp((1-P) v)`` times ``(M - m + e^v)^-Q``, which varies little there.
    Where the exponential decays by more than 60 e-folds the segment is cut
    (the rest is below rounding), so 32-point Gauss-Legendre is exact to
    rounding. The gradient differentiates under the integral.
    """
    r, alpha, s, beta = params
    small_is_alpha = alpha < beta
    m, big = (alpha, beta) if small_is_alpha else (beta, alpha)
    exponent_m = r + x if small_is_alpha else np.full_like(x, s + 1.0)
    exponent_big = np.full_like(x, s + 1.0) if small_is_alpha else r + x

    slope = 1.0 - exponent_m
    v_start = np.log(m + t_start)
    length = np.log1p((t_end - t_start) / (m + t_start))
    length = np.where(slope < 0, np.minimum(length, _EFOLDS / np.abs(np.where(slope < 0, slope, 1.0))), length)
    v = v_start[:, None] + _NODES * length[:, None]
    log_big_tau = np.log((big - m) + np.exp(v))
    log_terms = np.log(_WEIGHTS) + slope[:, None] * v - exponent_big[:, None] * log_big_tau
    peak = log_terms.max(axis=1, keepdims=True)
    scaled = np.exp(log_terms - peak)
    log_value = np.log(length) + peak[:, 0] + np.log(scaled.sum(axis=1))
    if not need_grad:
        return log_value, None

    share = scaled / scaled.sum(axis=1, keepdims=True)
    log_alpha_tau, log_beta_tau = (v, log_big_tau) if small_is_alpha else (log_big_tau, v)
    grad = np.empty((len(x), 4))
    grad[:, 0] = -(share * log_alpha_tau).sum(axis=1)
    grad[:, 1] = -(r + x) * (share * np.exp(-log_alpha_tau)).sum(axis=1)
    grad[:, 2] = -(share * log_beta_tau).sum(axis=1)
    grad[:, 3] = -(s + 1.0) * (share * np.exp(-log_beta_tau)).sum(axis=1)
    return log_value, grad


def _pareto_parts(params, data, need_grad):
    """Log of ``L / C``, the likelihood without its common factor, and of its first term.

    ``L / C = E(T) + s I(t_x, T)`` with ``E(T) = (alpha+T)^-(r+x) (beta+T)^-s``
    (alive at ``T``) and ``I`` the integral over the death time ``tau`` in
    ``(t_x, T)`` of ``(alpha+tau)^-(r+x) (beta+tau)^-(s+1)``. In closed form
    ``s I = s/(r+s+x) (F(t_x) - F(T))`` (the ``A_0`` term). Where the
    hypergeometric argument at ``t_x`` is within ``min(0.01, 3/exponent)`` of 1,
    ``I`` is split at the time ``t*`` where it reaches that distance:
    quadrature on ``(t_x, t*)``, the closed form on ``(t*, T)``.

    Returns
    -------
    log_alive, log_inner : ndarray
        ``log E(T)`` and ``log(L / C)``.
    grad_inner : ndarray or None
        Gradient of ``log(L / C)``.
    """
    r, alpha, s, beta = params
    x, t_x, T = data["x"], data["t_x"], data["T"]
    kappa = r + s + x
    log_alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    log_ratio = np.log(s) - np.log(kappa)

    m, big = min(alpha, beta), max(alpha, beta)
    exponent_big = r + x if alpha >= beta else np.full_like(x, s + 1.0)
    gap = np.minimum(_SERIES_GAP, 3.0 / exponent_big)
    t_star = np.clip((big - m) / (1.0 - gap) - big, t_x, T)
    near_one = t_star > t_x
    far_part = t_star < T

    n = len(x)
    log_quad = np.full(n, -np.inf)
    log_hi = np.full(n, -np.inf)
    log_lo = np.full(n, -np.inf)
    grad_quad, grad_hi, grad_lo = (np.zeros((n, 4)) for _ in range(3))
    if near_one.any():
        value, grad = _log_death_segment(params, x[near_one], t_x[near_one], t_star[near_one], need_grad)
        log_quad[near_one] = np.log(s) + value
        if need_grad:
            grad_quad[near_one] = grad
            grad_quad[near_one, 2] += 1.0 / s
    if far_part.any():
        for times, log_out, grad_out in ((t_star, log_hi, grad_hi), (T, log_lo, grad_lo)):
            value, grad = _log_tail_term(params, times[far_part], x[far_part], need_grad)
            log_out[far_part] = log_ratio[far_part] + value
            if need_grad:
                grad_out[far_part] = grad
                grad_out[far_part, 0] -= 1.0 / kappa[far_part]
                grad_out[far_part, 2] += 1.0 / s - 1.0 / kappa[far_part]

    peak = np.maximum.reduce([log_alive, log_quad, log_hi])
    w_alive, w_quad, w_hi, w_lo = (np.exp(v - peak) for v in (log_alive, log_quad, log_hi, log_lo))
    # F decreases in t, so w_hi >= w_lo and every part is non-negative.
    inner = w_alive + w_quad + w_hi - w_lo
    log_inner = peak + np.log(inner)
    if not need_grad:
        return log_alive, log_inner, None

    grad_alive = np.empty((n, 4))
    grad_alive[:, 0] = -np.log(alpha + T)
    grad_alive[:, 1] = -(r + x) / (alpha + T)
    grad_alive[:, 2] = -np.log(beta + T)
    grad_alive[:, 3] = -s / (beta + T)
    # t* moves with the parameters, but the two pieces' derivatives in t*
    # cancel (d/dt* of the closed form is minus the integrand), so it is held fixed.
    grad_inner = (
        (w_alive / inner)[:, None] * grad_alive
        + (w_quad / inner)[:, None] * grad_quad
        + (w_hi / inner)[:, None] * grad_hi
        - (w_lo / inner)[:, None] * grad_lo
    )
    return log_alive, log_inner, grad_inner


def _pareto_row_loglike(params, data, need_grad):
    """Per-customer Pareto/NBD log-likelihood and its gradient.

    ``log L = lnG(r+x) - lnG(r) + r ln alpha + s ln beta + log(L / C)``; see
    :func:`_pareto_parts`.
    """
    r, alpha, s, beta = params
    x = data["x"]
    _, log_inner, grad_inner = _pareto_parts(params, data, need_grad)
    ll = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + log_inner
    if not need_grad:
        return ll, None
    grad = grad_inner
    grad[:, 0] += digamma(r + x) - digamma(r) + np.log(alpha)
    grad[:, 1] += r / alpha
    grad[:, 2] += np.log(beta)
    grad[:, 3] += s / beta
    return ll, grad


def _one_minus_power_over(c, log_base):
    """``(1 - exp(c * log_base)) / c``, continuous at ``c = 0`` (where it is ``-log_base``)."""
    c = np.asarray(c, dtype=float)
    small = np.abs(c) < 1e-8
    safe_c = np.where(small, 1.0, c)
    return np.where(small, -log_base * (1.0 + c * log_base / 2.0), -np.expm1(c * log_base) / safe_c)


class ParetoNBDResults(TransactionResults):
    """Fitted Pareto/NBD model: estimates and the questions they answer.

    Parameters are ``r, alpha`` (gamma heterogeneity of the purchase rate)
    and ``s, beta`` (gamma heterogeneity of the dropout rate), rates in the
    model's time unit.
    """

    display_name = "Pareto/NBD"
    param_names = ("r", "alpha", "s", "beta")

    def _data(self, frequency, recency, T):
        x, t_x, age = rfm_arrays(frequency, recency, T)
        shape = x.shape
        return shape, {"x": x.ravel(), "t_x": t_x.ravel(), "T": age.ravel()}

    @per_distinct_row
    def conditional_probability_alive(self, frequency, recency, T):
        """Probability that a customer with history ``(x, t_x, T)`` is still alive.

        The share of the likelihood contributed by "alive at T" (Fader &
        Hardie 2005, eq. 36-37).

        Parameters
        ----------
        frequency, recency, T : array_like
            Repeat purchases, recency and age, in the model's time unit.

        Returns
        -------
        ndarray
            Probabilities in ``[0, 1]``.
        """
        shape, data = self._data(frequency, recency, T)
        log_alive, log_inner, _ = _pareto_parts(self.params.to_numpy(), data, False)
        return np.minimum(np.exp(log_alive - log_inner), 1.0).reshape(shape)

    @per_distinct_row
    def conditional_expected_purchases(self, t, frequency, recency, T):
        """Expected repeat purchases in the next ``t`` periods, given the history.

        ``P(alive) (r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)]``
        (Fader & Hardie 2005, eq. 41), continuous through ``s = 1``.

        Parameters
        ----------
        t : array_like
            Length of the future period(s), in the model's time unit.
        frequency, recency, T : array_like
            Customer history.

        Returns
        -------
        ndarray
        """
        t = horizon_array(t)
        x, t_x, age = rfm_arrays(frequency, recency, T)
        r, alpha, s, beta = self._unpack()
        alive = self.conditional_probability_alive(x, t_x, age)
        horizon = _one_minus_power_over(s - 1.0, -np.log1p(t / (beta + age)))
        return alive * (r + x) * (beta + age) / (alpha + age) * horizon

    @per_distinct_row
    def expected_purchases(self, t):
        """Expected repeat purchases of a new customer in their first ``t`` periods.

        ``E[X(t)] = r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)]``
        (Schmittlein et al. 1987; Fader & Hardie 2005, eq. 17).

        Parameters
        ----------
        t : array_like
            Time since the first purchase, in the model's time unit.

        Returns
        -------
        ndarray
        """
        t = horizon_array(t)
        r, alpha, s, beta = self._unpack()
        return r * beta / alpha * _one_minus_power_over(s - 1.0, -np.log1p(t / beta))


class ParetoNBDModel(TransactionModel):
    """Pareto/NBD model specification and data.

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
        L2 penalty on ``(r, alpha, s, beta)``, added to the mean negative
        log-likelihood per customer.
    """

    _results_class = ParetoNBDResults
    _row_loglike = staticmethod(_pareto_row_loglike)

    def _start_params(self, data, weights):
        # Mean purchase rate r/alpha at the pooled rate; mean lifetime
        # (beta/(s-1) for s > 1, so take beta ~ the mean age) of the order of
        # the observation window.
        rate = self._purchase_rate(data, weights)
        mean_age = float(np.dot(weights, data["T"]) / weights.sum())
        return np.array([1.0, 1.0 / rate, 1.0, max(mean_age, 1e-6)])


for _cls in (ParetoNBDModel, ParetoNBDResults):
    _cls.__doc__ = (_cls.__doc__ or "") + _REFERENCES

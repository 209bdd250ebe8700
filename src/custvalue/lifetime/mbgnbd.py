"""Modified BG/NBD purchase-count model (Batislam, Denizel & Filiztekin 2007).

As in the BG/NBD, a customer buys as a Poisson process with rate ``lambda`` while
alive, ``lambda ~ Gamma(r, alpha)``, and may drop out with probability
``p ~ Beta(a, b)``; but the chance to drop out comes at time zero too, right after the
first purchase, not only after each repeat purchase. So a customer who never came
back can be gone: the BG/NBD's "no repeat purchase, alive for ever" (its P(alive) is 1
for ``x = 0`` however long the silence) does not hold.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, expit, gammaln

from ._rows import per_distinct_row
from ._transactions import (
    TransactionModel,
    TransactionResults,
    horizon_array,
    rfm_arrays,
)
from .bgnbd import _checked, _through_removable_singularities

__all__ = ["ModifiedBetaGeoModel", "ModifiedBetaGeoResults"]

_REFERENCES = """
    References
    ----------
    .. [1] Batislam, E. P., Denizel, M. and Filiztekin, A. (2007). Empirical
       validation and comparison of models for customer base analysis.
       International Journal of Research in Marketing 24(3), 201-209.
    .. [2] Hoppe, D. and Wagner, U. (2007). Customer base analysis: the case for
       a central variant of the Betageometric/NBD model. Marketing - Journal of
       Research and Management 3(2), 75-90.
    .. [3] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting Your
       Customers" the Easy Way: An Alternative to the Pareto/NBD Model.
       Marketing Science 24(2), 275-284.
"""


def _mbgnbd_row_loglike(params, data, need_grad):
    """Per-customer MBG/NBD log-likelihood and its gradient.

    ``L = G(r+x) alpha^r / G(r) [B(a, b+x+1) (alpha+T)^-(r+x) + B(a+1, b+x) (alpha+t_x)^-(r+x)] / B(a, b)``:
    alive at ``T`` after ``x + 1`` survived chances to drop out, or gone right after the
    last purchase (for ``x = 0``, right after the first). In logs
    ``A + log(exp(c1) + exp(c2))`` with
    ``A = lnG(r+x) - lnG(r) + r ln(alpha) + lnG(a+b) + lnG(b+x+1) - lnG(b) - lnG(a+b+x+1)``,
    ``c1 = -(r+x) ln(alpha+T)`` and ``c2 = ln a - ln(b+x) - (r+x) ln(alpha+t_x)``.
    """
    r, alpha, a, b = params
    x, t_x, T = data["x"], data["t_x"], data["T"]
    log_alpha_T = np.log(alpha + T)
    log_alpha_tx = np.log(alpha + t_x)
    base = (
        gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        + gammaln(a + b) + gammaln(b + x + 1.0) - gammaln(b) - gammaln(a + b + x + 1.0)
    )
    c1 = -(r + x) * log_alpha_T
    c2 = np.log(a) - np.log(b + x) - (r + x) * log_alpha_tx
    mix = np.logaddexp(c1, c2)
    ll = base + mix
    if not need_grad:
        return ll, None

    w1 = np.exp(c1 - mix)
    w2 = np.exp(c2 - mix)
    psi_ab, psi_abx1 = digamma(a + b), digamma(a + b + x + 1.0)
    grad = np.empty((len(x), 4))
    grad[:, 0] = digamma(r + x) - digamma(r) + np.log(alpha) - w1 * log_alpha_T - w2 * log_alpha_tx
    grad[:, 1] = r / alpha - (r + x) * (w1 / (alpha + T) + w2 / (alpha + t_x))
    grad[:, 2] = psi_ab - psi_abx1 + w2 / a
    grad[:, 3] = digamma(b + x + 1.0) - digamma(b) + psi_ab - psi_abx1 - w2 / (b + x)
    return ll, grad


class ModifiedBetaGeoResults(TransactionResults):
    """Fitted MBG/NBD model: estimates and the questions they answer.

    Parameters are ``r, alpha`` (gamma heterogeneity of the purchase rate) and ``a, b``
    (beta heterogeneity of the dropout probability), as in the BG/NBD.
    """

    display_name = "MBG/NBD"
    param_names = ("r", "alpha", "a", "b")

    @per_distinct_row
    def conditional_probability_alive(self, frequency, recency, T):
        """Probability that a customer with history ``(x, t_x, T)`` is still alive.

        ``P = 1 / (1 + a / (b + x) ((alpha + T) / (alpha + t_x))^(r + x))``, for
        ``x = 0`` too: a customer silent since the first purchase fades out.

        Parameters
        ----------
        frequency, recency, T : array_like
            Repeat purchases, recency and age, in the model's time unit.

        Returns
        -------
        ndarray
        """
        x, t_x, age = rfm_arrays(frequency, recency, T)
        r, alpha, a, b = self._unpack()
        log_odds_dead = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x))
        return expit(-log_odds_dead)

    @per_distinct_row
    def conditional_expected_purchases(self, t, frequency, recency, T):
        """Expected repeat purchases in the next ``t`` periods, given the history.

        ``(a+b+x)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x+1; a+b+x; t/(alpha+T+t))]``
        times P(alive): the BG/NBD's expectation for an alive customer with ``b + 1`` in
        place of ``b`` (the same series, summed the same way).

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
        r, alpha, a, b = self._unpack()
        alive = self.conditional_probability_alive(x, t_x, age)
        return _checked(_through_removable_singularities(r, alpha, a, b + 1.0, t, x, age) * alive)

    def expected_purchases(self, t):
        """Expected repeat purchases of a new customer in their first ``t`` periods.

        ``b/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b+1; a+b; t/(alpha+t))]``.

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


class ModifiedBetaGeoModel(TransactionModel):
    """MBG/NBD model specification and data.

    Parameters
    ----------
    frequency, recency, T : array_like
        Repeat purchases, time of the last purchase since the first, and age.
    weights : array_like, optional
        Number of customers each row stands for.
    penalizer : float, default 0.0
        L2 penalty on ``(r, alpha, a, b)``.

    Examples
    --------
    >>> res = ModifiedBetaGeoModel(summary["frequency"], summary["recency"], summary["T"]).fit()
    >>> res.conditional_probability_alive(0, 0.0, 156.0)   # one purchase, three years ago
    """

    _results_class = ModifiedBetaGeoResults
    _row_loglike = staticmethod(_mbgnbd_row_loglike)

    def _start_params(self, data, weights):
        # As the BG/NBD: purchase rate r/alpha equal to the pooled rate, mean dropout 1/3.
        rate = self._purchase_rate(data, weights)
        return np.array([1.0, 1.0 / rate, 1.0, 2.0])


for _cls in (ModifiedBetaGeoModel, ModifiedBetaGeoResults):
    _cls.__doc__ = (_cls.__doc__ or "") + _REFERENCES

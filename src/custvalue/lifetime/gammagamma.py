"""Gamma-Gamma model of the value per purchase (Fader & Hardie 2013).

A customer's purchase values are i.i.d. ``Gamma(p, nu)`` (shape, rate), so
their mean value is ``p / nu``; across customers ``nu ~ Gamma(q, gamma)``.
The model takes the mean value ``zbar`` of a customer's ``x`` repeat purchases
and assumes it is independent of the purchase process.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from ._mle import FitResults, LikelihoodModel
from ._rows import per_distinct_row

__all__ = ["GammaGammaModel", "GammaGammaResults"]

_REFERENCES = """
    References
    ----------
    .. [1] Fader, P. S. and Hardie, B. G. S. (2013). The Gamma-Gamma Model of
       Monetary Value. http://brucehardie.com/notes/025/
    .. [2] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). RFM and CLV:
       Using Iso-Value Curves for Customer Base Analysis. Journal of
       Marketing Research 42(4), 415-430.
"""


def _value_arrays(frequency, monetary_value) -> tuple[np.ndarray, np.ndarray]:
    x, zbar = np.broadcast_arrays(np.asarray(frequency, dtype=float), np.asarray(monetary_value, dtype=float))
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(zbar))):
        raise ValueError("frequency and monetary_value must be finite")
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("frequency must be a non-negative whole number")
    return x, zbar


def _gamma_gamma_row_loglike(params, data, need_grad):
    """Log density of the mean value ``zbar`` of ``x`` purchases (Fader & Hardie 2013, eq. 5).

    ``lnG(px+q) - lnG(px) - lnG(q) + q ln gamma + (px-1) ln zbar + px ln x
    - (px+q) ln(gamma + x zbar)``.
    """
    p, q, gamma = params
    x, zbar = data["x"], data["zbar"]
    px = p * x
    log_pooled = np.log(gamma + x * zbar)
    ll = (
        gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(gamma)
        + (px - 1.0) * np.log(zbar) + px * np.log(x) - (px + q) * log_pooled
    )
    if not need_grad:
        return ll, None
    psi_pq = digamma(px + q)
    grad = np.empty((len(x), 3))
    grad[:, 0] = x * (psi_pq - digamma(px) + np.log(zbar) + np.log(x) - log_pooled)
    grad[:, 1] = psi_pq - digamma(q) + np.log(gamma) - log_pooled
    grad[:, 2] = q / gamma - (px + q) / (gamma + x * zbar)
    return ll, grad


class GammaGammaResults(FitResults):
    """Fitted Gamma-Gamma model.

    Parameters are ``p`` (shape of the value of a purchase), and ``q``,
    ``gamma`` (shape and rate of the heterogeneity of its rate).
    """

    display_name = "Gamma-Gamma"
    param_names = ("p", "q", "gamma")

    @per_distinct_row
    def conditional_expected_value(self, frequency, monetary_value):
        """Expected value of a customer's future purchases given their history.

        ``E[Z | x, zbar] = p (gamma + x zbar) / (p x + q - 1)``: a weighted
        mean of the population mean ``p gamma / (q - 1)`` and the customer's
        own mean ``zbar``, the weight on ``zbar`` growing with ``x``
        (Fader & Hardie 2013, eq. 6). For ``x = 0`` it is the population mean.

        Parameters
        ----------
        frequency : array_like
            Number of repeat purchases ``x`` behind ``monetary_value``.
        monetary_value : array_like
            Mean value of those purchases (ignored where ``x = 0``).

        Returns
        -------
        ndarray

        Raises
        ------
        ValueError
            If ``q <= 1``: the population mean value is then infinite.
        """
        x, zbar = _value_arrays(frequency, monetary_value)
        p, q, gamma = (float(v) for v in self.params.to_numpy())
        if q <= 1.0:
            raise ValueError("q <= 1: the Gamma-Gamma expected value is infinite")
        zbar = np.where(x > 0, zbar, 0.0)
        return p * (gamma + x * zbar) / (p * x + q - 1.0)

    def expected_value(self) -> float:
        """Population mean value per purchase, ``p gamma / (q - 1)``."""
        return float(self.conditional_expected_value(0, 0.0))


class GammaGammaModel(LikelihoodModel):
    """Gamma-Gamma spend model specification and data.

    Parameters
    ----------
    frequency : array_like
        Number of repeat purchases ``x`` of each customer; must be positive.
    monetary_value : array_like
        Mean value of those purchases; must be positive.
    weights : array_like, optional
        Number of customers each row stands for.
    penalizer : float, default 0.0
        L2 penalty on ``(p, q, gamma)``, added to the mean negative
        log-likelihood per customer.

    Raises
    ------
    ValueError
        If a frequency or a monetary value is not positive: the model
        describes positive values of customers with at least one repeat
        purchase (select them before fitting; margins can be negative).
    """

    _results_class = GammaGammaResults
    _row_loglike = staticmethod(_gamma_gamma_row_loglike)

    def __init__(self, frequency, monetary_value, weights=None, penalizer: float = 0.0):
        x, zbar = _value_arrays(frequency, monetary_value)
        if np.any(x <= 0):
            raise ValueError("Gamma-Gamma is fitted to customers with frequency > 0 only")
        if np.any(zbar <= 0):
            raise ValueError("Gamma-Gamma needs positive monetary values; drop or floor the others first")
        super().__init__({"x": x.ravel(), "zbar": zbar.ravel()}, weights, penalizer)

    @classmethod
    def from_summary(cls, summary: pd.DataFrame, weights=None, penalizer: float = 0.0):
        """Build the model from the repeat customers of a summary (``frequency > 0``)."""
        repeat = summary[summary["frequency"] > 0]
        if weights is not None:
            weights = np.asarray(weights)[np.asarray(summary["frequency"] > 0)]
        return cls(repeat["frequency"], repeat["monetary_value"], weights=weights, penalizer=penalizer)

    def _start_params(self, data, weights):
        # p = 1 (exponential purchase values) with q = 2 makes the population
        # mean p gamma / (q - 1) = gamma: set it to the weighted mean of zbar.
        mean_value = float(np.dot(weights, data["zbar"]) / weights.sum())
        return np.array([1.0, 2.0, mean_value])


for _cls in (GammaGammaModel, GammaGammaResults):
    _cls.__doc__ = (_cls.__doc__ or "") + _REFERENCES

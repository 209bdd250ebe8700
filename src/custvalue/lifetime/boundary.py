"""Estimates on the edge of the parameter space: the nested model at the limit.

A maximum-likelihood estimate of a lifetime model can lie on the boundary of its
parameter space. That is an answer of the data, not a failure: in B2B data few
accounts silently die, so the BG/NBD's dropout probability ``p ~ Beta(a, b)`` runs to
0 (``a -> 0``), and the Pareto/NBD's dropout rate ``mu ~ Gamma(s, beta)`` runs to 0
(``s -> 0``). At such a limit the model *is* a smaller model, whose likelihood is the
limit of the full one (each nested class here states which limit it is, and the tests
check that the full likelihood converges to it):

================================  ==========================================  ==============================
full model                        limit                                       nested model
================================  ==========================================  ==============================
BG/NBD, MBG/NBD                   ``a -> 0`` or ``b -> inf`` (``p -> 0``)     :class:`NoDropoutModel` (NBD)
Pareto/NBD                        ``s -> 0`` or ``beta -> inf`` (``mu -> 0``)  :class:`NoDropoutModel` (NBD)
BG/NBD                            ``a, b -> inf``, ``a/(a+b) -> p``           :class:`CommonDropoutModel`
MBG/NBD                           ``a, b -> inf``, ``a/(a+b) -> p``           :class:`CommonDropoutModel` (modified)
Gamma-Gamma                       ``q, gamma -> inf``, ``q/gamma -> nu``      :class:`CommonRateSpendModel`
Gamma-Gamma                       ``p -> inf``, ``gamma -> 0``, ``p gamma ->``  :class:`ExactMeanSpendModel`
                                  ``delta``
================================  ==========================================  ==============================

The NBD without dropout is the Poisson-gamma purchase process of Ehrenberg (1959) and
Morrison & Schmittlein (1988); the common-dropout limit replaces the beta mixing
distribution by a point mass (the "BG/NBD with homogeneous dropout"). The Pareto/NBD's
common-dropout-rate limit (``s, beta -> inf``) has no closed form that the fit could
use cheaply and is not offered: that fit is reported as failed.

:func:`fit_allowing_boundary` fits the full model and, when the optimiser cannot reach
an interior maximum, fits each nested model and keeps the best if the full model is
not significantly better: the likelihood-ratio statistic
``2 (llf_full - llf_nested)``, with ``llf_full`` the best value the full fit reached,
is referred to a chi-squared distribution with as many degrees of freedom as
parameters were removed. At a boundary the exact null distribution is a mixture of
chi-squared distributions with fewer degrees of freedom (Self & Liang 1987), so this
p-value is conservative: it errs towards keeping the full model.

References
----------
.. [1] Morrison, D. G. and Schmittlein, D. C. (1988). Generalizing the NBD Model for
   Customer Purchases: What Are the Implications and Is It Worth the Effort? Journal
   of Business & Economic Statistics 6(2), 145-159.
.. [2] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting Your Customers"
   the Easy Way: An Alternative to the Pareto/NBD Model. Marketing Science 24(2),
   275-284.
.. [3] Self, S. G. and Liang, K.-Y. (1987). Asymptotic Properties of Maximum
   Likelihood Estimators and Likelihood Ratio Tests Under Nonstandard Conditions.
   Journal of the American Statistical Association 82(398), 605-610.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.special import digamma, expit, gammaln

from ._mle import ConvergenceError, FitResults, LikelihoodModel
from ._rows import per_distinct_row
from ._transactions import TransactionModel, TransactionResults, horizon_array, rfm_arrays

__all__ = [
    "BoundaryFit",
    "CommonDropoutModel",
    "CommonDropoutResults",
    "CommonRateSpendModel",
    "CommonRateSpendResults",
    "ExactMeanSpendModel",
    "ExactMeanSpendResults",
    "Limit",
    "ModifiedCommonDropoutModel",
    "ModifiedCommonDropoutResults",
    "NoDropoutModel",
    "NoDropoutResults",
    "fit_allowing_boundary",
    "limits_of",
]

#: A nested model is kept when the likelihood-ratio test of the full model against it
#: has at least this p-value (the full model is not significantly better).
LR_TEST_LEVEL = 0.05


# ----------------------------------------------------------------------------- NBD, no dropout


def _no_dropout_row_loglike(params, data, need_grad):
    """``lnG(r+x) - lnG(r) + r ln alpha - (r+x) ln(alpha+T)``: the purchase times of a
    Poisson process with a gamma-distributed rate, never ending."""
    r, alpha = params
    x, T = data["x"], data["T"]
    log_alpha_T = np.log(alpha + T)
    ll = gammaln(r + x) - gammaln(r) + r * np.log(alpha) - (r + x) * log_alpha_T
    if not need_grad:
        return ll, None
    grad = np.empty((len(x), 2))
    grad[:, 0] = digamma(r + x) - digamma(r) + np.log(alpha) - log_alpha_T
    grad[:, 1] = r / alpha - (r + x) / (alpha + T)
    return ll, grad


class NoDropoutResults(TransactionResults):
    """Fitted NBD purchase model without dropout: every customer stays.

    The limit of the BG/NBD and MBG/NBD as the dropout probability goes to 0 and of
    the Pareto/NBD as the dropout rate goes to 0. Parameters ``r, alpha``: the purchase
    rate is ``Gamma(r, alpha)`` across customers.
    """

    display_name = "NBD (no dropout)"
    param_names = ("r", "alpha")

    @per_distinct_row
    def conditional_probability_alive(self, frequency, recency, T):
        """1 for every customer: the model has no dropout."""
        x, _, _ = rfm_arrays(frequency, recency, T)
        return np.ones_like(x)

    @per_distinct_row
    def conditional_expected_purchases(self, t, frequency, recency, T):
        """``t (r + x) / (alpha + T)``: the posterior mean rate times the period."""
        t = horizon_array(t)
        x, _, age = rfm_arrays(frequency, recency, T)
        r, alpha = self._unpack()
        return t * (r + x) / (alpha + age)

    def expected_purchases(self, t):
        """``t r / alpha`` for a new customer."""
        r, alpha = self._unpack()
        return np.asarray(t, dtype=float) * r / alpha


class NoDropoutModel(TransactionModel):
    """NBD purchase model without dropout (see :class:`NoDropoutResults`)."""

    _results_class = NoDropoutResults
    _row_loglike = staticmethod(_no_dropout_row_loglike)

    def _start_params(self, data, weights):
        return np.array([1.0, 1.0 / self._purchase_rate(data, weights)])


# ----------------------------------------------------------------------------- common dropout probability


def _common_dropout_parts(params, data, modified: bool):
    """``base``, ``c1`` (alive at T) and ``c2`` (gone after the last purchase) of the
    likelihood with one dropout probability ``p`` for every customer."""
    r, alpha, p = params
    x, t_x, T = data["x"], data["t_x"], data["T"]
    log_stay, log_p = np.log1p(-p), np.log(p)
    survived = x + 1.0 if modified else x  # chances to drop out that were survived, if alive at T
    base = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    c1 = survived * log_stay - (r + x) * np.log(alpha + T)
    can_drop = np.ones(len(x), bool) if modified else x > 0
    c2 = np.where(can_drop, log_p + (survived - 1.0) * log_stay - (r + x) * np.log(alpha + t_x), -np.inf)
    return base, c1, c2, survived


def _common_dropout_loglike(modified: bool):
    def row_loglike(params, data, need_grad):
        r, alpha, p = params
        x, t_x, T = data["x"], data["t_x"], data["T"]
        base, c1, c2, survived = _common_dropout_parts(params, data, modified)
        mix = np.logaddexp(c1, c2)
        ll = base + mix
        if not need_grad:
            return ll, None
        w1, w2 = np.exp(c1 - mix), np.exp(c2 - mix)
        grad = np.empty((len(x), 3))
        grad[:, 0] = digamma(r + x) - digamma(r) + np.log(alpha) - w1 * np.log(alpha + T) - w2 * np.log(alpha + t_x)
        grad[:, 1] = r / alpha - (r + x) * (w1 / (alpha + T) + w2 / (alpha + t_x))
        grad[:, 2] = -w1 * survived / (1.0 - p) + w2 * (1.0 / p - (survived - 1.0) / (1.0 - p))
        return ll, grad

    return row_loglike


class CommonDropoutResults(TransactionResults):
    """Fitted BG/NBD with one dropout probability ``p`` for all customers.

    The limit of the BG/NBD as ``a, b -> inf`` with ``a / (a + b) -> p``: the beta
    distribution of the dropout probability becomes a point mass. Parameters
    ``r, alpha`` (purchase rate) and ``p``.
    """

    display_name = "BG/NBD (common dropout)"
    param_names = ("r", "alpha", "p")
    #: Whether the first purchase is a chance to drop out too (the MBG/NBD's limit).
    modified = False

    @per_distinct_row
    def conditional_probability_alive(self, frequency, recency, T):
        """``1 / (1 + p / (1 - p) ((alpha+T)/(alpha+t_x))^(r+x))``, where a dropout could have happened."""
        x, t_x, age = rfm_arrays(frequency, recency, T)
        r, alpha, p = self._unpack()
        log_odds_dead = np.log(p) - np.log1p(-p) + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x))
        if not self.modified:
            log_odds_dead = np.where(x > 0, log_odds_dead, -np.inf)
        return expit(-log_odds_dead)

    @per_distinct_row
    def conditional_expected_purchases(self, t, frequency, recency, T):
        """``P(alive) (1/p) [1 - ((alpha+T) / (alpha+T+p t))^(r+x)]``.

        The BG/NBD's ``c/(a-1) [1 - (1-z)^(r+x) 2F1(r+x, b+x; c; z)]`` in the limit:
        ``c/(a-1) -> 1/p`` and ``2F1(r+x, b+x; c; z) -> (1 - (1-p) z)^-(r+x)``.
        """
        t = horizon_array(t)
        x, t_x, age = rfm_arrays(frequency, recency, T)
        r, alpha, p = self._unpack()
        alive = self.conditional_probability_alive(x, t_x, age)
        if_alive = -np.expm1((r + x) * (np.log(alpha + age) - np.log(alpha + age + p * t))) / p
        return alive * if_alive

    def expected_purchases(self, t):
        """``(1/p) [1 - (alpha/(alpha+p t))^r]``, times ``1 - p`` when the first purchase
        can end it (the modified model's P(alive) at ``x = T = 0``)."""
        t = np.asarray(t, dtype=float)
        return self.conditional_expected_purchases(t, 0.0, 0.0, np.zeros_like(t))


class ModifiedCommonDropoutResults(CommonDropoutResults):
    """Fitted MBG/NBD with one dropout probability ``p`` for all customers (the MBG/NBD
    as ``a, b -> inf`` with ``a / (a + b) -> p``)."""

    display_name = "MBG/NBD (common dropout)"
    modified = True


class CommonDropoutModel(TransactionModel):
    """BG/NBD with one dropout probability for all customers (see :class:`CommonDropoutResults`)."""

    _results_class = CommonDropoutResults
    _row_loglike = staticmethod(_common_dropout_loglike(modified=False))
    _log_upper = (25.0, 25.0, float(np.log1p(-1e-9)))  # p < 1

    def _start_params(self, data, weights):
        return np.array([1.0, 1.0 / self._purchase_rate(data, weights), 0.1])


class ModifiedCommonDropoutModel(CommonDropoutModel):
    """MBG/NBD with one dropout probability for all customers."""

    _results_class = ModifiedCommonDropoutResults
    _row_loglike = staticmethod(_common_dropout_loglike(modified=True))


# ----------------------------------------------------------------------------- spend: one rate for all


def _common_rate_row_loglike(params, data, need_grad):
    """Log density of the mean ``zbar`` of ``x`` values i.i.d. ``Gamma(p, nu)``:
    ``x zbar ~ Gamma(p x, nu)``."""
    p, nu = params
    x, zbar = data["x"], data["zbar"]
    px = p * x
    ll = px * np.log(nu) + px * np.log(x) + (px - 1.0) * np.log(zbar) - nu * x * zbar - gammaln(px)
    if not need_grad:
        return ll, None
    grad = np.empty((len(x), 2))
    grad[:, 0] = x * (np.log(nu) + np.log(x) + np.log(zbar) - digamma(px))
    grad[:, 1] = px / nu - x * zbar
    return ll, grad


class CommonRateSpendResults(FitResults):
    """Fitted spend model in which every customer's values are ``Gamma(p, nu)``.

    The limit of the Gamma-Gamma as ``q, gamma -> inf`` with ``q / gamma -> nu``: the
    data show no difference between customers' mean values, so every customer's
    expected value is the population mean ``p / nu``.
    """

    display_name = "Gamma (common rate)"
    param_names = ("p", "nu")

    @per_distinct_row
    def conditional_expected_value(self, frequency, monetary_value):
        """``p / nu`` for every customer."""
        x, _ = np.broadcast_arrays(np.asarray(frequency, dtype=float), np.asarray(monetary_value, dtype=float))
        p, nu = (float(v) for v in self.params.to_numpy())
        return np.full(x.shape, p / nu)

    def expected_value(self) -> float:
        p, nu = (float(v) for v in self.params.to_numpy())
        return p / nu


class CommonRateSpendModel(LikelihoodModel):
    """Spend model with one gamma rate for all customers (see :class:`CommonRateSpendResults`)."""

    _results_class = CommonRateSpendResults
    _row_loglike = staticmethod(_common_rate_row_loglike)

    def _start_params(self, data, weights):
        mean_value = float(np.dot(weights, data["zbar"]) / weights.sum())
        return np.array([1.0, 1.0 / mean_value])


def _exact_mean_row_loglike(params, data, need_grad):
    """Log density of ``zbar`` when it is the customer's mean exactly, and customers'
    means are inverse-gamma ``(q, delta)``: ``q ln delta - lnG(q) - (q+1) ln zbar - delta / zbar``."""
    q, delta = params
    zbar = data["zbar"]
    log_z = np.log(zbar)
    ll = q * np.log(delta) - gammaln(q) - (q + 1.0) * log_z - delta / zbar
    if not need_grad:
        return ll, None
    grad = np.empty((len(zbar), 2))
    grad[:, 0] = np.log(delta) - digamma(q) - log_z
    grad[:, 1] = q / delta - 1.0 / zbar
    return ll, grad


class ExactMeanSpendResults(FitResults):
    """Fitted spend model in which a customer's purchases all have its mean value.

    The limit of the Gamma-Gamma as ``p -> inf`` and ``gamma -> 0`` with
    ``p gamma -> delta``: the values of one customer's purchases do not vary around its
    mean, and the means are inverse-gamma ``(q, delta)`` across customers. A repeat
    buyer's expected value is then its own mean; a new customer's, the population mean
    ``delta / (q - 1)``.
    """

    display_name = "inverse gamma (no variation within customers)"
    param_names = ("q", "delta")

    @per_distinct_row
    def conditional_expected_value(self, frequency, monetary_value):
        """``zbar`` for a repeat buyer, ``delta / (q - 1)`` for a customer without one."""
        x, zbar = np.broadcast_arrays(np.asarray(frequency, dtype=float), np.asarray(monetary_value, dtype=float))
        return np.where(x > 0, zbar, self.expected_value())

    def expected_value(self) -> float:
        q, delta = (float(v) for v in self.params.to_numpy())
        if q <= 1.0:
            raise ValueError("q <= 1: the expected value is infinite")
        return delta / (q - 1.0)


class ExactMeanSpendModel(LikelihoodModel):
    """Spend model without variation within customers (see :class:`ExactMeanSpendResults`)."""

    _results_class = ExactMeanSpendResults
    _row_loglike = staticmethod(_exact_mean_row_loglike)

    def _start_params(self, data, weights):
        mean_value = float(np.dot(weights, data["zbar"]) / weights.sum())
        return np.array([2.0, mean_value])


# ----------------------------------------------------------------------------- the limits of each model


@dataclass(frozen=True)
class Limit:
    """A limit of a model's parameter space, where the model becomes a nested one."""

    nested: type[LikelihoodModel]
    parameters: str
    """The limit in the full model's parameters, e.g. ``"a -> 0"``."""
    finding: str
    """What it means, in words for the lifetime page."""

    def model(self, full: LikelihoodModel) -> LikelihoodModel:
        """The nested model on the full model's data (without a penalty).

        The data were checked when the full model was built, so they go to the
        generic constructor as they are.
        """
        nested = object.__new__(self.nested)
        LikelihoodModel.__init__(nested, full.data, full.weights, 0.0)
        return nested


_NO_DROPOUT = "the data show no evidence of silent dropout"
_LIMITS: dict[str, tuple[Limit, ...]] = {
    "BG/NBD": (
        Limit(NoDropoutModel, "a -> 0 (no dropout)", _NO_DROPOUT),
        Limit(CommonDropoutModel, "a, b -> infinity (one dropout probability)", "the data show the same chance of dropping out for every customer"),
    ),
    "MBG/NBD": (
        Limit(NoDropoutModel, "a -> 0 (no dropout)", _NO_DROPOUT),
        Limit(ModifiedCommonDropoutModel, "a, b -> infinity (one dropout probability)", "the data show the same chance of dropping out for every customer"),
    ),
    "Pareto/NBD": (Limit(NoDropoutModel, "s -> 0 (no dropout)", _NO_DROPOUT),),
    "Gamma-Gamma": (
        Limit(CommonRateSpendModel, "q, gamma -> infinity (one rate)", "the data show no difference between customers' mean margins"),
        Limit(ExactMeanSpendModel, "p -> infinity, gamma -> 0 (no variation within customers)",
              "the data show each customer's purchases close to its own mean margin"),
    ),
}


def limits_of(model: LikelihoodModel) -> tuple[Limit, ...]:
    """The limits of ``model``'s parameter space that this module knows."""
    return _LIMITS.get(model.model_name, ())


@dataclass(frozen=True)
class BoundaryFit:
    """The outcome of :func:`fit_allowing_boundary`.

    Attributes
    ----------
    results : FitResults
        The full model's fit, or the nested model's where the estimate is on the edge.
    full_model : str
        The model that was asked for.
    limit : Limit or None
        The limit that was reached (``None``: an interior estimate).
    full_error : str
        Why the full fit did not reach an interior maximum (empty if it did).
    full_llf : float
        The best log-likelihood the full fit reached (NaN if it did not say).
    lr_statistic, lr_df, lr_pvalue : float
        Likelihood-ratio test of the full model against the nested one (NaN for an
        interior estimate).
    """

    results: FitResults
    full_model: str
    limit: Limit | None = None
    full_error: str = ""
    full_llf: float = float("nan")
    lr_statistic: float = float("nan")
    lr_df: int = 0
    lr_pvalue: float = float("nan")

    @property
    def on_boundary(self) -> bool:
        return self.limit is not None

    def sentence(self) -> str:
        """The boundary in words (empty for an interior estimate)."""
        if self.limit is None:
            return ""
        return (
            f"{self.limit.finding}; the {self.full_model} estimate runs to {self.limit.parameters}, so the model reduces to "
            f"the {self.results.model_name} (likelihood-ratio test of the full model against it: "
            f"statistic {self.lr_statistic:.2f} on {self.lr_df} degrees of freedom, p = {self.lr_pvalue:.2f})"
        )


#: A converged estimate whose likelihood a nested model matches to within this
#: likelihood-ratio statistic sits at that limit (e.g. ``a = 1e-9`` with an enormous
#: standard error): the nested model is the same fit, identified.
SAME_FIT_STATISTIC = 1e-4


def _at_the_limit(model: LikelihoodModel, full: FitResults, fit_options: dict) -> BoundaryFit | None:
    """The nested model where a converged estimate is, in effect, at its limit."""
    for limit in limits_of(model):
        try:
            fit = limit.model(model).fit(**fit_options)
        except ConvergenceError:
            continue
        statistic = max(0.0, 2.0 * (full.llf - fit.llf))
        if statistic < SAME_FIT_STATISTIC:
            df = len(model.param_names) - len(fit.params)
            return BoundaryFit(
                fit, model.model_name, limit, f"the estimate converged at the limit ({limit.parameters})", float(full.llf),
                statistic, df, float(stats.chi2.sf(statistic, df)),
            )
    return None


def fit_allowing_boundary(model: LikelihoodModel, **fit_options) -> BoundaryFit:
    """Fit ``model``; where its estimate is on the edge of the parameter space, the nested model.

    The edge is reached in two ways: the optimiser cannot find an interior maximum (the
    full model's fit fails), or it converges at a point where a nested model has the
    same likelihood (:data:`SAME_FIT_STATISTIC`); either way the nested model is kept.

    Parameters
    ----------
    model : LikelihoodModel
        The full model, with its data.
    **fit_options
        Passed to ``fit``.

    Returns
    -------
    BoundaryFit

    Raises
    ------
    ConvergenceError
        The full fit's error, when no nested model converges, the full fit did not say
        how far it got, or the full model is significantly better than every nested
        one that converges (then the failure is not a boundary).
    """
    try:
        full = model.fit(**fit_options)
    except ConvergenceError as error:
        failure = error
    else:
        return _at_the_limit(model, full, fit_options) or BoundaryFit(full, model.model_name)
    nested = []
    for limit in limits_of(model):
        try:
            nested.append((limit, limit.model(model).fit(**fit_options)))
        except ConvergenceError:
            continue
    # Without the likelihood the full fit reached there is nothing to test against.
    if not nested or not np.isfinite(failure.llf):
        raise failure
    limit, fit = max(nested, key=lambda pair: pair[1].llf)
    df = len(model.param_names) - len(fit.params)
    # The full model nests the limit, so its supremum is at least the nested maximum.
    statistic = max(0.0, 2.0 * (failure.llf - fit.llf))
    pvalue = float(stats.chi2.sf(statistic, df))
    if pvalue < LR_TEST_LEVEL:
        raise failure
    return BoundaryFit(fit, model.model_name, limit, " ".join(str(failure).split()), float(failure.llf), statistic, df, pvalue)

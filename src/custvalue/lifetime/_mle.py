"""Maximum-likelihood machinery shared by the lifetime models.

Each model supplies a vectorised per-row log-likelihood with its analytic
gradient on the natural parameter scale. This module compresses the data to
unique rows (the likelihood depends on a customer only through the row, so
counting duplicates as weights is exact), optimises the weighted mean
log-likelihood over log-parameters with L-BFGS-B, polishes with a few Newton
steps, and packages the estimates with standard errors into an immutable
results object.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy import optimize, stats

__all__ = ["ConvergenceError", "FitResults", "LikelihoodModel", "compress_rows"]

#: Log-parameters are kept in this box; an estimate on its edge means a
#: parameter ran off to 0 or infinity, which is reported as non-convergence.
_LOG_PARAM_BOUND = 25.0
#: A parameter that moved by more than this factor (log scale) from its start
#: in a failed fit is reported as running away.
_RUNAWAY_LOG_RATIO = 9.0
#: Relative step of the central differences of the gradient that build the Hessian.
_HESSIAN_STEP = 1e-5


#: The largest log-value whose exponential is a finite float.
_LOG_FLOAT_MAX = math.log(np.finfo(float).max)


def _exp_open_above(values: np.ndarray) -> np.ndarray:
    """``exp(values)``, with ``inf`` where it exceeds the largest float (computed without
    overflowing) and NaN kept."""
    result = np.where(np.isnan(values), np.nan, np.inf)
    finite = values <= _LOG_FLOAT_MAX
    result[finite] = np.exp(values[finite])
    return result


class ConvergenceError(RuntimeError):
    """The optimiser did not reach an interior maximum of the likelihood.

    Attributes
    ----------
    params : pandas.Series or None
        Where the optimiser stopped (natural scale), when it got that far.
    llf : float
        The log-likelihood there (no penalty); NaN when it could not be evaluated.
        Nested models at the edge of the parameter space are judged against it (see
        :mod:`custvalue.lifetime.boundary`).
    """

    def __init__(self, message: str, *, params: pd.Series | None = None, llf: float = float("nan")):
        super().__init__(message)
        self.params = params
        self.llf = float(llf)


def compress_rows(
    columns: Mapping[str, np.ndarray], weights: np.ndarray | None = None
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Collapse identical rows into one row carrying the summed weight.

    Parameters
    ----------
    columns : mapping of str to ndarray
        Equal-length 1-D arrays, one per column.
    weights : ndarray, optional
        Weight of each row; 1 when omitted.

    Returns
    -------
    unique_columns : dict of str to ndarray
        The distinct rows.
    unique_weights : ndarray
        Summed weight of each distinct row.
    """
    frame = pd.DataFrame({name: np.asarray(col) for name, col in columns.items()})
    frame["_weight"] = 1.0 if weights is None else np.asarray(weights, dtype=float)
    grouped = frame.groupby(list(columns), sort=False, observed=True)["_weight"].sum()
    keys = grouped.index.to_frame(index=False)
    return {name: keys[name].to_numpy() for name in columns}, grouped.to_numpy(dtype=float)


@dataclass(frozen=True)
class FitResults:
    """Estimates of a fitted lifetime model (immutable).

    Attributes
    ----------
    model_name : str
        Name of the model that was fitted.
    params : pandas.Series
        Maximum-likelihood estimates on the natural scale.
    bse : pandas.Series
        Standard errors on the natural scale (delta method from the
        log-parameter covariance).
    cov_params : pandas.DataFrame
        Covariance matrix of the estimates on the natural scale.
    cov_log_params : pandas.DataFrame
        Covariance matrix of the log-parameters, the scale of optimisation;
        the inverse Hessian of the (penalised) negative log-likelihood.
    llf : float
        Log-likelihood at the estimates, without the penalty.
    nobs : float
        Number of customers (sum of weights).
    n_unique_rows : int
        Number of distinct data rows the likelihood was evaluated on.
    converged : bool
        Whether the gradient norm met the tolerance. Always True: a fit that
        does not converge raises :class:`ConvergenceError`.
    iterations : int
        L-BFGS-B iterations plus Newton polishing steps.
    grad_norm : float
        Max-norm of the gradient of the per-customer mean objective with
        respect to the log-parameters, at the estimates.
    penalizer : float
        L2 penalty coefficient used.
    optimizer_message : str
        Message of the L-BFGS-B run.
    """

    model_name: str
    params: pd.Series
    bse: pd.Series = field(repr=False)
    cov_params: pd.DataFrame = field(repr=False)
    cov_log_params: pd.DataFrame = field(repr=False)
    llf: float
    nobs: float
    n_unique_rows: int
    converged: bool
    iterations: int
    grad_norm: float
    penalizer: float = 0.0
    optimizer_message: str = field(default="", repr=False)

    #: Names of the model's parameters, in order.
    param_names: ClassVar[tuple[str, ...]] = ()
    #: Name of the model, as printed.
    display_name: ClassVar[str] = ""

    @classmethod
    def from_params(cls, params, *, model_name: str | None = None):
        """Results carrying given parameter values, e.g. stored estimates, without a fit.

        The prediction methods work; standard errors and fit statistics are
        NaN and ``converged`` is False.

        Parameters
        ----------
        params : mapping or pandas.Series or array_like
            Values by parameter name, or in the order of ``param_names``.
        model_name : str, optional

        Returns
        -------
        FitResults
            An instance of the calling results class.
        """
        names = list(cls.param_names)
        if isinstance(params, (pd.Series, dict)):
            values = np.array([float(params[name]) for name in names])
        else:
            values = np.asarray(params, dtype=float).ravel()
        if values.shape != (len(names),) or np.any(~(values > 0)):
            raise ValueError(f"expected {len(names)} positive parameters {names}")
        nan_matrix = pd.DataFrame(np.nan, index=names, columns=names)
        return cls(
            model_name=model_name or cls.display_name,
            params=_read_only_series(values, names),
            bse=_read_only_series(np.full(len(names), np.nan), names),
            cov_params=nan_matrix,
            cov_log_params=nan_matrix.copy(),
            llf=float("nan"),
            nobs=0.0,
            n_unique_rows=0,
            converged=False,
            iterations=0,
            grad_norm=float("nan"),
            optimizer_message="parameters given, not fitted",
        )

    @property
    def k_params(self) -> int:
        """Number of estimated parameters."""
        return len(self.params)

    @property
    def aic(self) -> float:
        """Akaike information criterion, ``-2 llf + 2 k``."""
        return -2.0 * self.llf + 2.0 * self.k_params

    @property
    def bic(self) -> float:
        """Bayesian information criterion, ``-2 llf + k log(nobs)``."""
        return -2.0 * self.llf + self.k_params * math.log(self.nobs) if self.nobs > 0 else float("nan")

    def conf_int(self, alpha: float = 0.05, *, scale: str = "log") -> pd.DataFrame:
        """Wald confidence intervals for the parameters.

        Parameters
        ----------
        alpha : float, default 0.05
            One minus the coverage.
        scale : {"log", "natural"}, default "log"
            ``"log"`` builds the interval for the log-parameter and
            exponentiates it: it stays positive and is the scale on which the
            likelihood is closest to quadratic. ``"natural"`` is
            ``params +/- z * bse``.

        Returns
        -------
        pandas.DataFrame
            Columns ``lower`` and ``upper``, indexed by parameter name. On the log
            scale, an interval whose upper end lies beyond the largest float (a
            parameter at its boundary with a huge standard error) is open above:
            ``upper`` is ``inf``.
        """
        if not 0.0 < alpha < 1.0:
            raise ValueError("alpha must lie in (0, 1)")
        z = stats.norm.ppf(1.0 - alpha / 2.0)
        if scale == "log":
            log_se = np.sqrt(np.diag(self.cov_log_params.to_numpy()))
            log_params = np.log(self.params.to_numpy())
            lower, upper = np.exp(log_params - z * log_se), _exp_open_above(log_params + z * log_se)
        elif scale == "natural":
            lower = self.params.to_numpy() - z * self.bse.to_numpy()
            upper = self.params.to_numpy() + z * self.bse.to_numpy()
        else:
            raise ValueError("scale must be 'log' or 'natural'")
        return pd.DataFrame({"lower": lower, "upper": upper}, index=self.params.index)

    def summary(self) -> str:
        """Readable text table of the fit.

        Returns
        -------
        str
            Fit statistics followed by estimates, standard errors and 95%
            intervals (log-scale Wald).
        """
        ci = self.conf_int()
        header = [
            f"{self.model_name} maximum-likelihood fit",
            "=" * 64,
            f"customers (nobs):   {self.nobs:>14,.0f}    distinct rows: {self.n_unique_rows:>10,d}",
            f"log-likelihood:     {self.llf:>14.4f}    AIC: {self.aic:>14.2f}",
            f"penalizer:          {self.penalizer:>14.4g}    BIC: {self.bic:>14.2f}",
            f"converged:          {self.converged!s:>14}    iterations: {self.iterations:>7d}",
            f"gradient max-norm:  {self.grad_norm:>14.3e}",
            "-" * 64,
            f"{'':<8}{'coef':>12}{'std err':>12}{'[0.025':>14}{'0.975]':>14}",
        ]
        rows = [
            f"{name:<8}{self.params[name]:>12.4f}{self.bse[name]:>12.4f}"
            f"{ci.loc[name, 'lower']:>14.4f}{ci.loc[name, 'upper']:>14.4f}"
            for name in self.params.index
        ]
        return "\n".join(header + rows + ["=" * 64])

    def __str__(self) -> str:
        return self.summary()


class LikelihoodModel:
    """Base of the lifetime models: data, likelihood, and fitting.

    Subclasses set ``_results_class`` (which names the model and its
    parameters), and
    implement ``_row_loglike`` and ``_start_params``.

    Parameters
    ----------
    data : mapping of str to array_like
        The per-customer data columns the likelihood needs.
    weights : array_like, optional
        Number of customers each row stands for (default 1).
    penalizer : float, default 0.0
        Coefficient ``lambda`` of the L2 penalty ``lambda * sum(theta**2)``
        on the natural-scale parameters, added to the per-customer mean
        negative log-likelihood (so its strength does not grow with the number
        of customers).
    """

    _results_class: type[FitResults] = FitResults
    #: Upper bound of each log-parameter (``None``: the common box, ``+_LOG_PARAM_BOUND``);
    #: a probability has ``log(1)``.
    _log_upper: ClassVar[tuple[float, ...] | None] = None

    @property
    def param_names(self) -> tuple[str, ...]:
        """Names of the parameters, in order."""
        return self._results_class.param_names

    @property
    def model_name(self) -> str:
        """Name of the model, as printed."""
        return self._results_class.display_name

    def __init__(self, data: Mapping[str, np.ndarray], weights=None, penalizer: float = 0.0):
        self.data = {name: np.asarray(col, dtype=float).ravel() for name, col in data.items()}
        n = len(next(iter(self.data.values())))
        if any(len(col) != n for col in self.data.values()):
            raise ValueError("data columns must have the same length")
        if n == 0:
            raise ValueError("no customers to fit")
        for name, col in self.data.items():
            if not np.all(np.isfinite(col)):
                raise ValueError(f"{name} contains missing or infinite values")
        if weights is None:
            self.weights = None
        else:
            self.weights = np.asarray(weights, dtype=float).ravel()
            if len(self.weights) != n:
                raise ValueError("weights must have one entry per customer")
            if np.any(~np.isfinite(self.weights) | (self.weights < 0)) or self.weights.sum() <= 0:
                raise ValueError("weights must be non-negative, finite and not all zero")
        if not (np.isfinite(penalizer) and penalizer >= 0):
            raise ValueError("penalizer must be a non-negative number")
        self.penalizer = float(penalizer)

    @property
    def nobs(self) -> float:
        """Number of customers (sum of weights)."""
        return float(len(next(iter(self.data.values()))) if self.weights is None else self.weights.sum())

    # -- to be provided by each model ------------------------------------
    @staticmethod
    def _row_loglike(params: np.ndarray, data: Mapping[str, np.ndarray], need_grad: bool):
        """Per-row log-likelihood and, if asked, its gradient (rows x params)."""
        raise NotImplementedError

    def _start_params(self, data: Mapping[str, np.ndarray], weights: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # -- likelihood -------------------------------------------------------
    def loglike(self, params) -> float:
        """Log-likelihood of the data at ``params`` (natural scale, no penalty).

        Parameters
        ----------
        params : array_like
            Parameter values in the order of ``param_names``.

        Returns
        -------
        float
        """
        params = np.asarray(params, dtype=float)
        ll, _ = self._row_loglike(params, self.data, False)
        weights = np.ones_like(ll) if self.weights is None else self.weights
        return float(np.dot(weights, ll))

    def _objective(self, data, weights, total_weight):
        """Penalised mean negative log-likelihood of the log-parameters, with gradient."""
        penalizer = self.penalizer

        def value_and_grad(log_params):
            params = np.exp(log_params)
            try:
                ll, grad = self._row_loglike(params, data, True)
            except FloatingPointError:
                # Parameters too extreme to evaluate: steer the line search away.
                return 1e300, np.zeros_like(log_params)
            value = -np.dot(weights, ll) / total_weight + penalizer * np.sum(params**2)
            gradient = -(weights @ grad) / total_weight * params + 2.0 * penalizer * params**2
            if not (np.isfinite(value) and np.all(np.isfinite(gradient))):
                # A finite, large value makes the line search back off instead
                # of aborting the run.
                return 1e300, np.zeros_like(log_params)
            return value, gradient

        return value_and_grad

    # -- fitting ----------------------------------------------------------
    def fit(
        self,
        start_params=None,
        *,
        maxiter: int = 1000,
        gtol: float = 1e-7,
        compress: bool = True,
    ) -> FitResults:
        """Maximum-likelihood fit.

        Parameters
        ----------
        start_params : array_like, optional
            Starting values on the natural scale; data-driven defaults otherwise.
        maxiter : int, default 1000
            Maximum number of L-BFGS-B iterations.
        gtol : float, default 1e-7
            Convergence tolerance on the max-norm of the gradient of the
            per-customer mean negative log-likelihood with respect to the
            log-parameters.
        compress : bool, default True
            Evaluate the likelihood on unique data rows weighted by their
            counts. Exact; ``False`` exists to measure what it saves.

        Returns
        -------
        FitResults
            The model's results subclass.

        Raises
        ------
        ConvergenceError
            If the gradient tolerance is not met within ``maxiter`` iterations,
            an estimate runs to the edge of the parameter space, or the
            Hessian at the estimate is not positive definite.
        """
        if compress:
            data, weights = compress_rows(self.data, self.weights)
        else:
            data = self.data
            weights = np.ones(self.nobs_rows) if self.weights is None else self.weights
        total_weight = float(weights.sum())
        objective = self._objective(data, weights, total_weight)

        start = self._start_params(data, weights) if start_params is None else np.asarray(start_params, float)
        if start.shape != (len(self.param_names),) or np.any(~(start > 0)):
            raise ValueError(f"start_params must be {len(self.param_names)} positive numbers")
        lower = np.full(len(start), -_LOG_PARAM_BOUND)
        upper = np.full(len(start), _LOG_PARAM_BOUND) if self._log_upper is None else np.asarray(self._log_upper, float)
        x0 = np.clip(np.log(start), lower + 1, np.minimum(upper - 1e-3, _LOG_PARAM_BOUND - 1))

        run = optimize.minimize(
            objective,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=list(zip(lower, upper)),
            options={"maxiter": maxiter, "ftol": 1e-15, "gtol": gtol * 1e-3, "maxls": 50},
        )
        log_params, value, gradient = run.x, run.fun, run.jac
        iterations = int(run.nit)
        # Newton polishing: cheap on compressed data and takes the estimate to
        # machine precision, which L-BFGS-B's line search often stops short of.
        if run.nit < maxiter and np.max(np.abs(gradient)) > gtol * 1e-3:
            log_params, value, gradient, steps = _newton_polish(objective, log_params, value, gradient, lower, upper)
            iterations += steps

        def failure(message: str) -> ConvergenceError:
            """The error, carrying where the optimiser stopped and the likelihood there."""
            params = np.exp(log_params)
            try:
                with np.errstate(all="ignore"):
                    llf = float(np.dot(weights, self._row_loglike(params, data, False)[0]))
            except FloatingPointError:
                llf = float("nan")
            return ConvergenceError(message, params=_read_only_series(params, list(self.param_names)), llf=llf)

        grad_norm = float(np.max(np.abs(gradient)))
        at_bound = (log_params <= lower + 1e-6) | (log_params >= upper - 1e-6)
        if not np.isfinite(value) or value >= 1e300:
            raise failure(f"{self.model_name}: the likelihood is not finite at the estimate")
        if at_bound.any():
            names = [n for n, edge in zip(self.param_names, at_bound) if edge]
            raise failure(
                f"{self.model_name}: parameter(s) {names} ran to the edge of the parameter space "
                f"(exp(+/-{_LOG_PARAM_BOUND:g})); the data do not identify an interior maximum. "
                "A small penalizer usually helps."
            )
        if grad_norm > gtol:
            runaway = [
                f"{name}={value:.3g}"
                for name, value, start_value in zip(self.param_names, np.exp(log_params), np.exp(x0))
                if abs(np.log(value / start_value)) > _RUNAWAY_LOG_RATIO
            ]
            hint = (
                f" Parameter(s) {', '.join(runaway)} are drifting off towards 0 or infinity along a flat "
                "ridge: the data do not identify them (for the Pareto/NBD, s and beta growing together "
                "mean a dropout rate with no heterogeneity)."
                if runaway
                else ""
            )
            raise failure(
                f"{self.model_name}: no convergence after {iterations} iterations "
                f"(gradient max-norm {grad_norm:.3e} > gtol {gtol:.1e}; optimizer says: {run.message}).{hint} "
                "Try more iterations, other start_params, or a small penalizer."
            )

        hessian = _numerical_hessian(objective, log_params) * total_weight
        try:
            cov_log = np.linalg.inv(np.linalg.cholesky(hessian))
            cov_log = cov_log.T @ cov_log
        except np.linalg.LinAlgError as exc:
            raise failure(
                f"{self.model_name}: the Hessian at the estimate is not positive definite; "
                "the estimate is not a proper maximum"
            ) from exc

        params = np.exp(log_params)
        cov = cov_log * np.outer(params, params)  # delta method: d theta / d log theta = theta
        names = list(self.param_names)
        ll_rows, _ = self._row_loglike(params, data, False)
        return self._results_class(
            model_name=self.model_name,
            params=_read_only_series(params, names),
            bse=_read_only_series(np.sqrt(np.diag(cov)), names),
            cov_params=pd.DataFrame(cov, index=names, columns=names),
            cov_log_params=pd.DataFrame(cov_log, index=names, columns=names),
            llf=float(np.dot(weights, ll_rows)),
            nobs=total_weight,
            n_unique_rows=len(weights),
            converged=True,
            iterations=iterations,
            grad_norm=grad_norm,
            penalizer=self.penalizer,
            optimizer_message=str(run.message),
        )

    @property
    def nobs_rows(self) -> int:
        """Number of data rows before compression."""
        return len(next(iter(self.data.values())))


def _read_only_series(values: np.ndarray, names: list[str]) -> pd.Series:
    values = np.array(values, dtype=float)
    values.flags.writeable = False
    return pd.Series(values, index=names, copy=False)


def _numerical_hessian(objective, log_params: np.ndarray) -> np.ndarray:
    """Symmetrised central differences of the analytic gradient."""
    k = len(log_params)
    hessian = np.empty((k, k))
    for i in range(k):
        step = _HESSIAN_STEP * max(1.0, abs(log_params[i]))
        shift = np.zeros(k)
        shift[i] = step
        hessian[i] = (objective(log_params + shift)[1] - objective(log_params - shift)[1]) / (2 * step)
    return (hessian + hessian.T) / 2.0


def _newton_polish(objective, log_params, value, gradient, lower, upper, max_steps: int = 8):
    """Damped Newton steps with a numerical Hessian; stops when no longer improving."""
    steps = 0
    for _ in range(max_steps):
        hessian = _numerical_hessian(objective, log_params)
        try:
            direction = -np.linalg.solve(hessian, gradient)
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(direction)) or np.dot(direction, gradient) >= 0:
            break
        improved = False
        for shrink in (1.0, 0.5, 0.25, 0.125):
            candidate = np.clip(log_params + shrink * direction, lower, upper)
            new_value, new_gradient = objective(candidate)
            if new_value <= value + 1e-15 * abs(value) and (
                np.max(np.abs(new_gradient)) < np.max(np.abs(gradient))
            ):
                log_params, value, gradient = candidate, new_value, new_gradient
                improved = True
                break
        steps += 1
        if not improved or np.max(np.abs(gradient)) < 1e-12:
            break
    return log_params, value, gradient, steps

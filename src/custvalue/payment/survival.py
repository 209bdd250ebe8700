"""Time to payment: Kaplan-Meier curves by segment and Cox proportional-hazards models.

The survival time of an invoice is the number of days from issue to payment; an invoice
still open at the as-of date is censored there (we know only that it took longer). The
"event" is payment, so a *higher* hazard means *faster* payment: a hazard ratio below 1
for ``disputed`` says disputed invoices are paid more slowly.

Two Cox models are fitted on the same seeded sample of invoices (at most
``PaymentSettings.fit_sample_cap``):

``peers``
    what is expected of a firm of this size and segment for this invoice: segment (as
    strata, each with its own baseline hazard), log employees with a missing indicator,
    log amount, the dispute flag and, when terms vary, log payment terms.
``model``
    the same plus the customer's own history: its mean days late on invoices it settled
    before this one was issued (with a no-history indicator).

Segment enters as strata rather than as a covariate because segments differ in the
*shape* of their payment curves (enterprises pay around a later date, not just at a
lower rate), which a single proportional factor cannot express. Standard errors are
cluster-robust by customer (sandwich estimator; invoices of one customer are not
independent). Ties (payments on the same day) use Efron's method.

Expected days to pay are restricted means up to ``horizon_days``:
``E[min(T, H)] = sum_{t<H} S(t)`` and, for an invoice open after ``c`` days,
``E[min(T, H) | T > c] = c + sum_{c<=t<H} S(t) / S(c)``, with
``S(t) = S0_stratum(t) ** exp(x'b)`` from the Breslow baseline.

References
----------
.. [1] Kaplan, E. L., & Meier, P. (1958). Nonparametric estimation from incomplete
   observations. *Journal of the American Statistical Association*, 53(282), 457-481.
.. [2] Cox, D. R. (1972). Regression models and life-tables. *Journal of the Royal
   Statistical Society, Series B*, 34(2), 187-220.
.. [3] Breslow, N. E. (1972). Discussion of Professor Cox's paper. *JRSS B*, 34, 216-217.
.. [4] Efron, B. (1977). The efficiency of Cox's likelihood function for censored data.
   *JASA*, 72(359), 557-565.
.. [5] Lin, D. Y., & Wei, L. J. (1989). The robust inference for the Cox proportional
   hazards model. *JASA*, 84(408), 1074-1078.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from typing import Any

import ibis
import numpy as np
import pandas as pd
from ibis import _
from scipy import stats
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.duration.survfunc import SurvfuncRight
from statsmodels.tools.sm_exceptions import ConvergenceWarning

PEER_COVARIATES = ("log_employees", "employees_missing", "log_amount", "disputed", "log_terms")
MODEL_COVARIATES = PEER_COVARIATES
HISTORY_CLIP_DAYS = (-30.0, 180.0)
HISTORY_BANDS_DAYS = (10, 30, 60)
"""Upper bounds of the bands of a customer's mean days late on earlier invoices."""
STRATUM = "segment"
MODEL_STRATUM = "model_stratum"
ETA_STEP = 0.01
"""Resolution of the linear predictor in the expectation tables (0.01 = 1% in hazard)."""


def history_band_labels() -> list[str]:
    """Labels of the history bands (mean days late on earlier invoices), in order."""
    edges = list(HISTORY_BANDS_DAYS)
    inner = [f"{low}-{high} days late" for low, high in zip(edges[:-1], edges[1:])]
    return ["no history", f"up to {edges[0]} days late", *inner, f"over {edges[-1]} days late"]


def with_covariates(ledger: ibis.Table) -> ibis.Table:
    """Add the Cox covariates and strata to a ledger expression (computed in the engine).

    ``history_late`` is the customer's mean days late on invoices settled before this
    one was issued, clipped to -30..180 days (0 without history, flagged by
    ``history_missing``); ``model_stratum`` is the segment and the band of that history.
    A missing head count takes the mean log head count of the segment's invoices, and
    ``employees_missing`` says so (a fill of 0 would put a missing enterprise among the
    one-person firms, which one indicator cannot undo across strata).
    """
    history = _.history_late.clip(*HISTORY_CLIP_DAYS)
    log_size = (_.employees.cast("float64") + 1.0).ln()
    typical = ledger.group_by("segment").aggregate(typical_log_size=log_size.mean())
    ledger = ledger.left_join(typical, "segment").drop("segment_right")
    labels = history_band_labels()
    band = ibis.cases(
        (_.history_n == 0, labels[0]),
        *[(_.history_late <= edge, label) for edge, label in zip(HISTORY_BANDS_DAYS, labels[1:])],
        else_=labels[-1],
    )
    return ledger.mutate(
        log_employees=ibis.coalesce(log_size, _.typical_log_size, 0.0),
        employees_missing=_indicator(_.employees.isnull()),
        log_amount=_.amount.ln(),
        disputed_x=_indicator(_.disputed),
        log_terms=(ibis.greatest(_.terms_days, 0).cast("float64") + 1.0).ln(),
        history_late_x=ibis.ifelse(_.history_n > 0, history, 0.0),
        history_missing=_indicator(_.history_n == 0),
        model_stratum=_.segment + " | " + band,
    ).drop("typical_log_size")


def _indicator(condition) -> ibis.Value:
    """1.0 where ``condition`` holds, else 0.0, as float64 on every backend.

    (PostgreSQL cannot cast a boolean to a float; and ``ifelse(c, 1.0, 0.0)`` would be a
    DECIMAL on PostgreSQL and Spark, whose SQL reads ``1.0`` as an exact decimal.)
    """
    return ibis.ifelse(condition, 1, 0).cast("float64")


def _design_column(name: str) -> str:
    """Name of the ledger column holding covariate ``name`` (two are renamed to stay numeric)."""
    return {"disputed": "disputed_x", "history_late": "history_late_x"}.get(name, name)


@dataclass(frozen=True)
class CoxFit:
    """A fitted Cox model of days to payment (statsmodels-flavoured, and saveable).

    Attributes
    ----------
    name : str
        ``peers`` or ``model``.
    params : pandas.Series
        Log hazard ratios (covariates are centred at ``means``).
    cov_params_table : pandas.DataFrame
        Their covariance (cluster-robust by customer when ``robust``).
    means : pandas.Series
        Sample means the covariates were centred at.
    strata : tuple of str
        Strata, each with its own baseline hazard (values of ``stratum_column``).
    stratum_column : str
        The ledger column naming the stratum: ``segment`` (``peers``), or
        ``model_stratum``, the segment and the band of the customer's own history
        (``model``).
    baseline : pandas.DataFrame
        ``stratum, day, hazard, cumhaz, survival`` on a daily grid ``0 .. horizon_days``;
        ``survival`` is ``P(T > day)`` at the mean covariates.
    n_obs, n_events, n_groups : int
        Invoices fitted, payments observed among them, customers (clusters).
    n_population : int
        Invoices the sample was drawn from.
    loglike : float
        Partial log-likelihood at the estimate.
    dropped : tuple of str
        Covariates left out because they did not vary in the sample.
    """

    name: str
    params: pd.Series
    cov_params_table: pd.DataFrame
    means: pd.Series
    strata: tuple[str, ...]
    baseline: pd.DataFrame
    n_obs: int
    n_events: int
    n_groups: int
    n_population: int
    loglike: float
    horizon_days: int
    stratum_column: str = STRATUM
    ties: str = "efron"
    robust: bool = True
    dropped: tuple[str, ...] = ()
    sample_cap: int = 0
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    # ----------------------------------------------------------- statsmodels-like API
    @property
    def covariates(self) -> tuple[str, ...]:
        return tuple(self.params.index)

    def cov_params(self) -> pd.DataFrame:
        """Covariance matrix of the parameters."""
        return self.cov_params_table

    @property
    def bse(self) -> pd.Series:
        """Standard errors (robust when ``robust``)."""
        return pd.Series(np.sqrt(np.diag(self.cov_params_table.to_numpy())), index=self.params.index, name="bse")

    @property
    def tvalues(self) -> pd.Series:
        return (self.params / self.bse).rename("z")

    @property
    def pvalues(self) -> pd.Series:
        return pd.Series(2 * stats.norm.sf(np.abs(self.tvalues)), index=self.params.index, name="pvalues")

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """Wald confidence intervals of the log hazard ratios (columns 0 and 1, like statsmodels)."""
        z = stats.norm.ppf(1 - alpha / 2)
        return pd.DataFrame({0: self.params - z * self.bse, 1: self.params + z * self.bse})

    @property
    def hazard_ratios(self) -> pd.Series:
        """``exp(params)``: above 1 pays faster, below 1 slower."""
        return np.exp(self.params).rename("hazard_ratio")

    def summary(self, alpha: float = 0.05):
        """A :class:`statsmodels.iolib.summary2.Summary` of the fit."""
        from statsmodels.iolib.summary2 import Summary

        ci = self.conf_int(alpha)
        table = pd.DataFrame(
            {
                "log HR": self.params,
                "Std.Err.": self.bse,
                "z": self.tvalues,
                "P>|z|": self.pvalues,
                f"[{alpha / 2:g}": ci[0],
                f"{1 - alpha / 2:g}]": ci[1],
                "HR": self.hazard_ratios,
            }
        )
        info = pd.DataFrame(
            {
                "": [
                    "Model:", "Event:", "Ties:", "Strata:", "Num. invoices:", "Num. payments:",
                    "Num. customers:", "Sampled from:", "Log partial lik.:", "Std. errors:",
                ],
                " ": [
                    f"PH Reg ({self.name})", "payment (days from issue)", self.ties,
                    f"{len(self.strata)} ({self._strata_label()})",
                    f"{self.n_obs:,}", f"{self.n_events:,}", f"{self.n_groups:,}", f"{self.n_population:,}",
                    f"{self.loglike:,.1f}", "cluster-robust by customer" if self.robust else "model-based",
                ],
            }
        )  # fmt: skip
        summary = Summary()
        summary.add_title(f"Cox proportional hazards: time to payment ({self.name})")
        summary.add_df(info, header=False, index=False)
        summary.add_df(table, float_format="%.4f")
        if self.dropped:
            summary.add_text(f"Not varying in the sample, left out: {', '.join(self.dropped)}.")
        if not self.extra.get("converged", True):
            summary.add_text("WARNING: the partial likelihood did not converge (too few invoices?); do not rely on these estimates.")
        summary.add_text(
            f"Covariates are centred at their sample means; each {self._strata_label()} has its own baseline "
            f"hazard. Strata: {'; '.join(self.strata)}."
        )
        return summary

    def _strata_label(self) -> str:
        return "segment x history band" if self.stratum_column == MODEL_STRATUM else self.stratum_column

    # ----------------------------------------------------------- prediction
    def linear_predictor(self, frame: pd.DataFrame) -> np.ndarray:
        """``(x - means)'params`` for a frame holding the design columns (see :func:`design_frame`)."""
        x = frame[[_design_column(name) for name in self.covariates]].to_numpy(dtype=float)
        return (x - self.means.to_numpy()) @ self.params.to_numpy()

    def linear_predictor_expr(self, table: ibis.Table) -> ibis.Value:
        """The same as an Ibis expression on a ledger with covariates."""
        eta = ibis.literal(0.0)
        for name in self.covariates:
            eta = eta + (table[_design_column(name)] - float(self.means[name])) * float(self.params[name])
        return eta

    def log_survival(self) -> dict[str, np.ndarray]:
        """Baseline ``log P(T > t) = -cumhaz(t)`` for ``t = 0 .. horizon_days - 1`` per stratum.

        (Kept as the cumulative hazard: the baseline survival itself may underflow where
        the mean covariates are far from a stratum's own.)
        """
        out = {}
        for stratum, rows in self.baseline.groupby("stratum", sort=False):
            out[str(stratum)] = -rows.sort_values("day")["cumhaz"].to_numpy()[: self.horizon_days]
        return out

    def expected_days(self, strata: np.ndarray, eta: np.ndarray, after: np.ndarray | None = None) -> np.ndarray:
        """Restricted mean days to pay for each (stratum, linear predictor), optionally
        given the invoice was still open after ``after`` days (``<= 0``: unconditional)."""
        strata, eta = np.asarray(strata).astype(str), np.asarray(eta, dtype=float)
        after = np.zeros(eta.shape, dtype=np.int64) if after is None else np.asarray(after, dtype=np.int64)
        out = np.full(eta.shape, np.nan)
        for stratum, log_base in self.log_survival().items():
            rows = strata == stratum
            if rows.any():
                out[rows] = _conditional_means(log_base, eta[rows], after[rows], self.horizon_days)
        return out

    # ----------------------------------------------------------- persistence
    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "params": self.params.to_dict(),
            "cov_params": self.cov_params_table.to_numpy().tolist(),
            "means": self.means.to_dict(),
            "strata": list(self.strata),
            "n_obs": self.n_obs,
            "n_events": self.n_events,
            "n_groups": self.n_groups,
            "n_population": self.n_population,
            "loglike": self.loglike,
            "horizon_days": self.horizon_days,
            "stratum_column": self.stratum_column,
            "ties": self.ties,
            "robust": self.robust,
            "dropped": list(self.dropped),
            "sample_cap": self.sample_cap,
            "seed": self.seed,
            "extra": self.extra,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], baseline: pd.DataFrame) -> "CoxFit":
        names = list(data["params"])
        return cls(
            name=data["name"],
            params=pd.Series(data["params"], dtype=float, name="params"),
            cov_params_table=pd.DataFrame(data["cov_params"], index=names, columns=names, dtype=float),
            means=pd.Series(data["means"], dtype=float, name="means"),
            strata=tuple(data["strata"]),
            baseline=baseline.reset_index(drop=True),
            n_obs=int(data["n_obs"]),
            n_events=int(data["n_events"]),
            n_groups=int(data["n_groups"]),
            n_population=int(data["n_population"]),
            loglike=float(data["loglike"]),
            horizon_days=int(data["horizon_days"]),
            stratum_column=data.get("stratum_column", STRATUM),
            ties=data["ties"],
            robust=bool(data["robust"]),
            dropped=tuple(data["dropped"]),
            sample_cap=int(data["sample_cap"]),
            seed=int(data["seed"]),
            extra=dict(data.get("extra", {})),
        )

    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        return f"CoxFit({self.name!r}, n_obs={self.n_obs}, params={self.params.round(4).to_dict()})"


def _conditional_means(log_base: np.ndarray, eta: np.ndarray, after: np.ndarray, horizon: int) -> np.ndarray:
    """Restricted mean days to pay for baseline log survival ``log_base`` (``log P(T > t)``,
    t < H); ``after <= 0`` means unconditional."""
    out = np.empty(eta.shape)
    for index in range(eta.size):
        c = int(after[index])
        if c >= horizon:
            out[index] = c
            continue
        log_s = np.exp(eta[index]) * log_base
        if c <= 0:
            out[index] = np.exp(log_s).sum()
        else:
            out[index] = min(c + np.exp(log_s[c:] - log_s[c]).sum(), float(horizon))
    return out


def _eta_grid(eta_min: float, eta_max: float) -> tuple[np.ndarray, float]:
    eta_low = float(np.floor(eta_min / ETA_STEP) * ETA_STEP)
    bins = int(np.ceil((eta_max - eta_low) / ETA_STEP)) + 1
    return eta_low + ETA_STEP * np.arange(bins), eta_low


def expected_days_table(fit: CoxFit, eta_min: float, eta_max: float) -> tuple[pd.DataFrame, float]:
    """``E[min(T, H)]`` on a grid of the linear predictor, for a join in the engine.

    Returns
    -------
    table : DataFrame
        ``stratum, eta_bin, expected_days``.
    eta_low : float
        Linear predictor of bin 0; bin ``b`` stands for ``eta_low + b * ETA_STEP``.
    """
    grid, eta_low = _eta_grid(eta_min, eta_max)
    frames = []
    for stratum, log_base in fit.log_survival().items():  # log P(T > t), t = 0..H-1
        expected = np.exp(np.exp(grid)[:, None] * log_base[None, :]).sum(axis=1)
        frames.append(pd.DataFrame({"stratum": stratum, "eta_bin": np.arange(grid.size), "expected_days": expected}))
    return pd.concat(frames, ignore_index=True), eta_low


def conditional_days_table(fit: CoxFit, eta_min: float, eta_max: float) -> tuple[pd.DataFrame, float]:
    """``E[min(T, H) | T > c]`` on a grid of the linear predictor, for ``c = 1 .. H - 1``
    (beyond the horizon the expectation is ``c`` itself).

    Returns
    -------
    table : DataFrame
        ``stratum, eta_bin, after_days, expected_days``.
    eta_low : float
        Linear predictor of bin 0.
    """
    grid, eta_low = _eta_grid(eta_min, eta_max)
    horizon = fit.horizon_days
    c = np.arange(horizon)
    frames = []
    for stratum, log_base in fit.log_survival().items():
        log_s = np.exp(grid)[:, None] * log_base[None, :]  # bins x H
        # c + sum_{t=c}^{H-1} S(t)/S(c), in logs (a reverse log-cumulative-sum), so that
        # tiny survival never underflows.
        log_tail = np.logaddexp.accumulate(log_s[:, ::-1], axis=1)[:, ::-1]
        expected = np.minimum(c[None, :] + np.exp(log_tail - log_s), float(horizon))
        frames.append(
            pd.DataFrame(
                {
                    "stratum": stratum,
                    "eta_bin": np.repeat(np.arange(grid.size), horizon - 1),
                    "after_days": np.tile(c[1:], grid.size),
                    "expected_days": expected[:, 1:].ravel(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True), eta_low


def design_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Add the covariate columns to a ledger frame in pandas (same definitions as in the engine)."""
    out = frame.copy()
    employees = pd.to_numeric(out["employees"], errors="coerce").astype(float)
    log_size = np.log1p(employees)
    out["log_employees"] = log_size.fillna(log_size.groupby(out["segment"]).transform("mean")).fillna(0.0)
    out["employees_missing"] = employees.isna().astype(float)
    out["log_amount"] = np.log(out["amount"].astype(float))
    out["disputed_x"] = out["disputed"].astype(float)
    out["log_terms"] = np.log1p(np.maximum(out["terms_days"].astype(float), 0.0))
    history = out["history_late"].astype(float).clip(*HISTORY_CLIP_DAYS)
    has = out["history_n"].astype(int) > 0
    out["history_late_x"] = np.where(has, history, 0.0)
    out["history_missing"] = (~has).astype(float)
    labels = history_band_labels()
    band = np.select(
        [~has.to_numpy()] + [(history <= edge).to_numpy() for edge in HISTORY_BANDS_DAYS],
        labels[: len(HISTORY_BANDS_DAYS) + 1],
        default=labels[-1],
    )
    out["model_stratum"] = out["segment"].astype(str) + " | " + band
    return out


def fit_cox(
    sample: pd.DataFrame,
    covariates: tuple[str, ...] | list[str],
    name: str,
    horizon_days: int,
    n_population: int | None = None,
    sample_cap: int = 0,
    seed: int = 0,
    ties: str = "efron",
    strata_column: str = STRATUM,
) -> CoxFit:
    """Fit a stratified Cox model of days to payment on a ledger sample.

    Parameters
    ----------
    sample : DataFrame
        Ledger rows with the design columns (:func:`design_frame` or
        :func:`with_covariates`), ``duration_days``, ``paid``, ``segment``, ``customer_id``.
    covariates : sequence of str
        Covariate names (e.g. :data:`PEER_COVARIATES`); those that do not vary are dropped.
    name : str
        Label of the fit.
    horizon_days : int
        Length of the daily baseline grid.
    n_population, sample_cap, seed : int
        Recorded with the fit (what the sample was drawn from, and how).
    ties : {"efron", "breslow"}
        Handling of payments on the same day.
    strata_column : str
        Column whose values are the strata.

    Notes
    -----
    Open invoices censored before the first payment of their stratum carry no
    information for the partial likelihood and are left out (statsmodels would give
    them undefined score residuals, which spoils the robust covariance).

    Returns
    -------
    CoxFit
    """
    sample = sample.reset_index(drop=True)
    strata_all = sample[strata_column].astype(str)
    first_event = sample["duration_days"].where(sample["paid"].astype(bool)).groupby(strata_all).transform("min")
    informative = sample["paid"].astype(bool) | (sample["duration_days"] >= first_event)
    sample = sample[informative.fillna(False)].reset_index(drop=True)
    columns = [_design_column(c) for c in covariates]
    x = sample[columns].to_numpy(dtype=float)
    varying = np.nanstd(x, axis=0) > 1e-12
    kept = [c for c, keep in zip(covariates, varying) if keep]
    dropped = tuple(c for c, keep in zip(covariates, varying) if not keep)
    x = x[:, varying]
    means = x.mean(axis=0)
    xc = x - means
    time = sample["duration_days"].to_numpy(dtype=float)
    status = sample["paid"].to_numpy(dtype=float)
    strata = sample[strata_column].astype(str).to_numpy()
    groups = pd.factorize(sample["customer_id"])[0]
    model = PHReg(time, xc, status=status, strata=strata, ties=ties)
    with warnings.catch_warnings(record=True) as caught:  # reported in ``extra`` and the summary
        warnings.simplefilter("always", ConvergenceWarning)
        result = model.fit(groups=groups)
    converged = not any(issubclass(item.category, ConvergenceWarning) for item in caught)
    params = pd.Series(np.asarray(result.params, dtype=float), index=kept, name="params")
    cov = pd.DataFrame(np.asarray(result.cov_params(), dtype=float), index=kept, columns=kept)
    baseline = breslow_baseline(time, status, strata, xc @ params.to_numpy(), horizon_days)
    return CoxFit(
        name=name,
        params=params,
        cov_params_table=cov,
        means=pd.Series(means, index=kept, name="means"),
        strata=tuple(sorted(set(strata))),
        baseline=baseline,
        n_obs=len(sample),
        n_events=int(status.sum()),
        n_groups=int(groups.max() + 1) if len(groups) else 0,
        n_population=int(n_population if n_population is not None else len(sample)),
        loglike=float(result.llf),
        horizon_days=int(horizon_days),
        stratum_column=strata_column,
        ties=ties,
        robust=True,
        dropped=dropped,
        sample_cap=int(sample_cap),
        seed=int(seed),
        extra={"converged": converged},
    )


def breslow_baseline(time: np.ndarray, status: np.ndarray, strata: np.ndarray, eta: np.ndarray, horizon: int) -> pd.DataFrame:
    """Breslow estimate of each stratum's baseline hazard on the daily grid ``0 .. horizon``.

    ``hazard[t] = payments on day t / sum of exp(eta) over invoices still open at the
    start of day t``; ``survival[t] = exp(-cumhaz[t]) = P(T > t)``.
    """
    frames = []
    days = np.clip(np.floor(time).astype(np.int64), 0, horizon + 1)
    risk = np.exp(eta)
    for stratum in sorted(set(strata)):
        rows = strata == stratum
        d, s, r = days[rows], status[rows], risk[rows]
        events = np.bincount(d[(s > 0) & (d <= horizon)], minlength=horizon + 2)[: horizon + 1].astype(float)
        # at risk on day t: duration >= t
        leaving = np.bincount(d, weights=r, minlength=horizon + 2)
        at_risk = np.cumsum(leaving[::-1])[::-1][: horizon + 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            hazard = np.where(at_risk > 0, events / at_risk, 0.0)
        cumhaz = np.cumsum(hazard)
        frames.append(
            pd.DataFrame(
                {"stratum": stratum, "day": np.arange(horizon + 1), "hazard": hazard, "cumhaz": cumhaz, "survival": np.exp(-cumhaz)}
            )
        )
    return pd.concat(frames, ignore_index=True)


def kaplan_meier(counts: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Kaplan-Meier curves of days to payment, one per ``segment``, from aggregated counts.

    Parameters
    ----------
    counts : DataFrame
        ``segment, duration_days, paid, invoices``: how many invoices per segment ended
        (paid) or were censored (open) after each number of days.
    alpha : float
        One minus the pointwise confidence level of the band (Greenwood variance,
        log-log transform).

    Returns
    -------
    DataFrame
        ``segment, day, at_risk, paid, unpaid_share, lower, upper``: the share of
        invoices still unpaid ``day`` days after issue.
    """
    z = stats.norm.ppf(1 - alpha / 2)
    frames = []
    for segment, rows in counts.groupby("segment", sort=True):
        fit = SurvfuncRight(
            rows["duration_days"].to_numpy(dtype=float),
            rows["paid"].to_numpy(dtype=float),
            freq_weights=rows["invoices"].to_numpy(dtype=float),
        )
        surv = fit.surv_prob
        at_risk, paid = np.asarray(fit.n_risk, dtype=float), np.asarray(fit.n_events, dtype=float)
        # Greenwood's variance, on the log(-log S) scale (Kalbfleisch & Prentice): the band
        # stays inside [0, 1]. (Computed here from the counts: with frequency weights the
        # standard error statsmodels reports is not Greenwood's.)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            greenwood = np.cumsum(np.where(at_risk > paid, paid / (at_risk * (at_risk - paid)), 0.0))
            log_surv = np.log(surv)
            half = z * np.sqrt(greenwood) / np.abs(log_surv)
            log_log = np.log(-log_surv)
            lower = np.exp(-np.exp(log_log + half))
            upper = np.exp(-np.exp(log_log - half))
        lower = np.where(np.isfinite(lower), lower, surv)
        upper = np.where(np.isfinite(upper), upper, surv)
        frames.append(
            pd.DataFrame(
                {
                    "segment": str(segment),
                    "day": fit.surv_times.astype(np.int64),
                    "at_risk": fit.n_risk,
                    "paid": fit.n_events,
                    "unpaid_share": surv,
                    "lower": lower,
                    "upper": upper,
                }
            )
        )
    columns = ["segment", "day", "at_risk", "paid", "unpaid_share", "lower", "upper"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def survival_counts_expr(ledger: ibis.Table) -> ibis.Table:
    """Invoices per segment, duration and outcome (the input of :func:`kaplan_meier`)."""
    return ledger.group_by(["segment", "duration_days", "paid"]).aggregate(invoices=_.count())


def fit_sample_expr(ledger: ibis.Table, cap: int, seed: int) -> ibis.Table:
    """A seeded pseudo-random sample of at most ``cap`` invoices (same seed, same sample).

    Invoices are ranked by the MD5 digest of their id and the seed (then by id), so the
    sample does not depend on row order, on the engine's threads, or on the backend
    (``hash()`` is each engine's own function; MD5 is the same everywhere).
    """
    key = _md5(ledger.invoice_id.cast("string") + ibis.literal(f"#{int(seed)}"))
    return ledger.mutate(_sample_key=key).order_by(["_sample_key", "invoice_id"]).limit(cap).drop("_sample_key")


@ibis.udf.scalar.builtin(name="md5")
def _md5(value: str) -> str:
    """The SQL function ``md5``: 32 lowercase hex digits, the same in DuckDB, PostgreSQL
    and Spark (ibis 12 compiles ``hexdigest`` on neither PostgreSQL nor every backend)."""


def save_fits(fits: dict[str, CoxFit], folder) -> None:
    """Write fits as ``cox.json`` and their baselines as ``cox_baseline.parquet``."""
    from pathlib import Path

    folder = Path(folder)
    (folder / "cox.json").write_text(json.dumps({k: f.to_dict() for k, f in fits.items()}, indent=2), encoding="utf-8")
    baseline = pd.concat([f.baseline.assign(model=k) for k, f in fits.items()], ignore_index=True)
    baseline.to_parquet(folder / "cox_baseline.parquet", index=False)


def load_fits(folder) -> dict[str, CoxFit]:
    from pathlib import Path

    folder = Path(folder)
    data = json.loads((folder / "cox.json").read_text(encoding="utf-8"))
    baseline = pd.read_parquet(folder / "cox_baseline.parquet")
    return {
        key: CoxFit.from_dict(value, baseline[baseline["model"] == key].drop(columns="model"))
        for key, value in data.items()
    }

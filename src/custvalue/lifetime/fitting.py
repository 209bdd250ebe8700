"""Fitting the lifetime models for the review: what is kept of a fit, the rescue when
an estimate is not interior, and the choice of purchase model from the data.

- :func:`fit_with_rescue` fits a model; an estimate on the edge of the parameter space
  becomes the nested model at that limit (:mod:`custvalue.lifetime.boundary`), and
  what still does not converge is retried once with a penalizer (each step a setting).
- :func:`choose_purchase_model` fits every candidate purchase model on the calibration
  period and keeps the one that forecasts the holdout period best (ties: the lower AIC).
- :class:`FitRecord` is what a result keeps of a fit (estimates, statistics, how it was
  obtained), and reads back from JSON.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from custvalue.config import LifetimeSettings
from custvalue.errors import PipelineError, one_line

from ._mle import ConvergenceError, FitResults, LikelihoodModel
from .bgnbd import BetaGeoModel, BetaGeoResults
from .boundary import (
    BoundaryFit,
    CommonDropoutResults,
    CommonRateSpendResults,
    ExactMeanSpendResults,
    ModifiedCommonDropoutResults,
    NoDropoutResults,
    fit_allowing_boundary,
)
from .gammagamma import GammaGammaResults
from .mbgnbd import ModifiedBetaGeoModel, ModifiedBetaGeoResults
from .paretonbd import ParetoNBDModel, ParetoNBDResults
from .validation import HoldoutComparison, compare_holdout

__all__ = [
    "CANDIDATES",
    "PURCHASE_MODELS",
    "RETRY_PENALIZER",
    "TIE_TOLERANCE",
    "FitRecord",
    "LifetimeFitError",
    "ModelChoice",
    "choose_purchase_model",
    "fit_with_rescue",
]

#: The purchase models by their configuration name (``lifetime.transaction_model``).
PURCHASE_MODELS: dict[str, type[LikelihoodModel]] = {
    "bgnbd": BetaGeoModel,
    "mbgnbd": ModifiedBetaGeoModel,
    "paretonbd": ParetoNBDModel,
}
#: What ``transaction_model: auto`` chooses among, in this order (the order breaks exact ties).
CANDIDATES = ("bgnbd", "mbgnbd", "paretonbd")
#: Holdout errors within this share of the smallest are a tie, decided by the lower AIC:
#: a difference that small says nothing about the forecasts.
TIE_TOLERANCE = 0.005
#: Penalizer of the one retry after a fit that did not converge (or ten times the
#: configured one, if that is larger).
RETRY_PENALIZER = 0.001

_RESULTS_CLASSES = {
    cls.display_name: cls
    for cls in (
        BetaGeoResults, ModifiedBetaGeoResults, ParetoNBDResults, GammaGammaResults,
        NoDropoutResults, CommonDropoutResults, ModifiedCommonDropoutResults, CommonRateSpendResults, ExactMeanSpendResults,
    )
}  # fmt: skip
_ROLE_LABELS = {
    "transaction": "purchase model",
    "holdout_transaction": "purchase model of the holdout check",
    "spend": "spend model",
}


class LifetimeFitError(PipelineError, ConvergenceError):
    """A lifetime model did not converge, even at the boundary or after the retry with a penalizer."""


@dataclasses.dataclass(frozen=True)
class FitRecord:
    """How one model was fitted, and its estimates (what is kept of a fit).

    Attributes
    ----------
    role : {"transaction", "spend", "holdout_transaction"}
        The purchase model on all data, the spend model, or the purchase model refitted
        on the calibration period for the holdout check.
    model : str
        The model whose estimates these are: ``"BG/NBD"``, ``"MBG/NBD"``,
        ``"Pareto/NBD"``, ``"Gamma-Gamma"``, or a nested model at a boundary
        (``"NBD (no dropout)"``, ...).
    parameters : pandas.DataFrame
        Indexed by parameter: ``estimate``, ``std_err``, ``ci_lower``, ``ci_upper``
        (95 %, Wald on the log scale; ``ci_upper`` infinite where the interval is open).
    penalizer : float
        The L2 penalizer of the fit that was kept.
    retried : bool
        Whether the first fit (configured penalizer) failed to converge and the kept fit
        is the retry with a larger penalizer.
    first_error : str
        The first fit's error message when ``retried`` or on a boundary; empty otherwise.
    llf, aic, bic, nobs : float
        Log-likelihood, information criteria and number of customers.
    iterations : int
    summary_text : str
        The fit's ``summary()`` (with the boundary, where there is one).
    requested_model : str
        The model that was asked for; differs from ``model`` on a boundary.
    boundary : str
        The boundary in words (empty for an interior estimate).
    lr_statistic, lr_df, lr_pvalue : float, int, float
        The likelihood-ratio test of ``requested_model`` against ``model`` on a boundary
        (``None``, 0 and ``None`` otherwise).
    """

    role: str
    model: str
    parameters: pd.DataFrame
    penalizer: float
    retried: bool
    first_error: str
    llf: float
    aic: float
    bic: float
    nobs: float
    iterations: int
    summary_text: str
    requested_model: str = ""
    boundary: str = ""
    lr_statistic: float | None = None
    lr_df: int = 0
    lr_pvalue: float | None = None

    @classmethod
    def from_fit(cls, role: str, fit: FitResults | BoundaryFit, *, retried: bool = False, first_error: str = "") -> FitRecord:
        outcome = fit if isinstance(fit, BoundaryFit) else BoundaryFit(fit, fit.model_name)
        fit = outcome.results
        ci = fit.conf_int(0.05)
        parameters = pd.DataFrame(
            {
                "estimate": fit.params.to_numpy(dtype=float),
                "std_err": fit.bse.to_numpy(dtype=float),
                "ci_lower": ci["lower"].to_numpy(dtype=float),
                "ci_upper": ci["upper"].to_numpy(dtype=float),
            },
            index=pd.Index(list(fit.params.index), name="parameter"),
        )
        summary = fit.summary()
        if outcome.on_boundary:
            summary += f"\nBoundary: {outcome.sentence()}."
        return cls(
            role=role,
            model=fit.model_name,
            parameters=parameters,
            penalizer=float(fit.penalizer),
            retried=retried,
            first_error=first_error or outcome.full_error,
            llf=float(fit.llf),
            aic=float(fit.aic),
            bic=float(fit.bic),
            nobs=float(fit.nobs),
            iterations=int(fit.iterations),
            summary_text=summary,
            requested_model=outcome.full_model,
            boundary=outcome.sentence(),
            lr_statistic=float(outcome.lr_statistic) if outcome.on_boundary else None,
            lr_df=int(outcome.lr_df),
            lr_pvalue=float(outcome.lr_pvalue) if outcome.on_boundary else None,
        )

    @property
    def params(self) -> pd.Series:
        """The estimates by parameter name."""
        return self.parameters["estimate"].rename(None).copy()

    @property
    def on_boundary(self) -> bool:
        return bool(self.boundary)

    def results(self) -> FitResults:
        """A results object carrying these estimates, for predictions and plots (no standard errors)."""
        return _RESULTS_CLASSES[self.model].from_params(self.params, model_name=self.model)

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["parameters"] = {
            name: {column: float(value) for column, value in row.items()} for name, row in self.parameters.iterrows()
        }
        return data

    @classmethod
    def from_dict(cls, data: dict) -> FitRecord:
        parameters = pd.DataFrame.from_dict(data["parameters"], orient="index")
        parameters = parameters[["estimate", "std_err", "ci_lower", "ci_upper"]].astype("float64")
        parameters.index = pd.Index(list(parameters.index), name="parameter")
        texts = {k: data[k] for k in ("role", "model", "first_error", "summary_text", "requested_model", "boundary")}
        numbers = {k: float(data[k]) for k in ("penalizer", "llf", "aic", "bic", "nobs")}
        numbers |= {k: None if data[k] is None else float(data[k]) for k in ("lr_statistic", "lr_pvalue")}
        whole = {k: int(data[k]) for k in ("iterations", "lr_df")}
        return cls(parameters=parameters, retried=bool(data["retried"]), **texts, **numbers, **whole)


@dataclass(frozen=True)
class RescuedFit:
    """A fit with how it was obtained: the results, their record, and notes for the reader."""

    results: FitResults
    record: FitRecord
    notes: tuple[str, ...]


def fit_with_rescue(role: str, build: Callable[[float], LikelihoodModel], settings: LifetimeSettings, *, retry: bool | None = None) -> RescuedFit:
    """Fit ``build(penalizer)`` with the configured penalizer; where the estimate is on
    the edge of the parameter space, keep the nested model at that limit
    (``settings.boundary == "nested"``); where it still does not converge, retry once
    with a larger penalizer (``settings.retry_with_penalizer``, or ``retry``).

    Raises
    ------
    LifetimeFitError
        When none of it converges; the message quotes each attempt.
    """
    retry = settings.retry_with_penalizer if retry is None else retry
    model = build(settings.penalizer)
    label = _ROLE_LABELS[role]
    try:
        outcome = fit_allowing_boundary(model) if settings.boundary == "nested" else BoundaryFit(model.fit(), model.model_name)
    except ConvergenceError as first:
        first_error = one_line(first)
    else:
        notes = (f"The {label}: {outcome.sentence()}.",) if outcome.on_boundary else ()
        return RescuedFit(outcome.results, FitRecord.from_fit(role, outcome), notes)
    if not retry:
        raise LifetimeFitError(f"lifetime value: the {label} did not converge ({first_error}); {_HINT}")
    larger = max(RETRY_PENALIZER, 10.0 * settings.penalizer)
    try:
        fit = build(larger).fit()
    except ConvergenceError as second:
        raise LifetimeFitError(
            f"lifetime value: the {label} did not converge with penalizer {settings.penalizer:g} ({first_error}) "
            f"nor with penalizer {larger:g} ({one_line(second)}); {_HINT}"
        ) from second
    note = (
        f"The {label} ({fit.model_name}) did not converge with penalizer {settings.penalizer:g} and was refitted "
        f"with penalizer {larger:g}. The penalty pulls the parameters towards zero; where the data do not identify a "
        f"parameter, the penalty decides its value. First error: {first_error}"
    )
    return RescuedFit(fit, FitRecord.from_fit(role, fit, retried=True, first_error=first_error), (note,))


_HINT = "set lifetime.penalizer in the configuration or choose another transaction_model"


@dataclass(frozen=True)
class ModelChoice:
    """The purchase models compared on the holdout period, and the one chosen.

    Attributes
    ----------
    ranking : tuple of str
        Candidates (configuration names) that could be checked, best first.
    comparison : pandas.DataFrame
        One row per candidate: ``candidate``, ``model`` (the requested model),
        ``fitted_as`` (the nested model on a boundary), ``parameters``,
        ``log_likelihood``, ``aic``, ``holdout_mae``, ``rank`` (1 = chosen; 0 = could
        not be fitted) and ``note``.
    fits : dict of str to RescuedFit
        The calibration fit of each candidate that converged.
    holdouts : dict of str to HoldoutComparison
    """

    ranking: tuple[str, ...]
    comparison: pd.DataFrame
    fits: dict[str, RescuedFit]
    holdouts: dict[str, HoldoutComparison]


def choose_purchase_model(
    candidates: tuple[str, ...], calibration: pd.DataFrame, settings: LifetimeSettings, max_frequency: int
) -> ModelChoice:
    """Fit each candidate on the calibration period and rank by holdout error.

    Parameters
    ----------
    candidates : tuple of str
        Configuration names of the purchase models (:data:`PURCHASE_MODELS`).
    calibration : pandas.DataFrame
        :func:`~custvalue.lifetime.validation.calibration_holdout_summary` output.
    settings : LifetimeSettings
    max_frequency : int
        Last group of the holdout comparison by frequency.

    Returns
    -------
    ModelChoice
        Ranked by mean absolute holdout error; errors within :data:`TIE_TOLERANCE`
        of the smallest are ranked by AIC on the calibration period. A candidate
        that does not converge is listed with the reason and not ranked.
    """
    rows, fits, holdouts = [], {}, {}
    for key in candidates:
        model_class = PURCHASE_MODELS[key]
        row = {"candidate": key, "model": model_class._results_class.display_name}
        try:
            fit = fit_with_rescue(
                "holdout_transaction", lambda penalizer, cls=model_class: cls.from_summary(calibration, penalizer=penalizer), settings
            )
        except LifetimeFitError as error:
            rows.append(row | {"fitted_as": "", "note": f"not fitted: {error}"})
            continue
        fits[key] = fit
        holdouts[key] = compare_holdout(fit.results, calibration, max_frequency=max_frequency)
        rows.append(
            row
            | {
                "fitted_as": fit.record.model,
                "parameters": len(fit.results.params),
                "log_likelihood": fit.record.llf,
                "aic": fit.record.aic,
                "holdout_mae": holdouts[key].mae,
                "note": fit.record.boundary or (f"refitted with penalizer {fit.record.penalizer:g}" if fit.record.retried else ""),
            }
        )
    comparison = pd.DataFrame(rows, columns=["candidate", "model", "fitted_as", "parameters", "log_likelihood", "aic", "holdout_mae", "note"])
    ranking = rank_by_holdout(comparison)
    comparison["rank"] = comparison["candidate"].map({key: place + 1 for place, key in enumerate(ranking)}).fillna(0).astype("int64")
    comparison["parameters"] = comparison["parameters"].fillna(0).astype("int64")
    return ModelChoice(tuple(ranking), comparison, fits, holdouts)


def rank_by_holdout(comparison: pd.DataFrame) -> list[str]:
    """Candidates with a holdout error, best first: the smallest error, where errors
    within :data:`TIE_TOLERANCE` of it count as equal and the lower AIC goes first."""
    fitted = comparison.dropna(subset=["holdout_mae"])
    ranking: list[str] = []
    remaining = fitted
    while len(remaining):
        best = remaining["holdout_mae"].min()
        tied = remaining[remaining["holdout_mae"] <= best * (1 + TIE_TOLERANCE) + 1e-12]
        first = tied.sort_values("aic", kind="stable").iloc[0]["candidate"]
        ranking.append(first)
        remaining = remaining[remaining["candidate"] != first]
    return ranking


def rank_by_aic(comparison: pd.DataFrame) -> list[str]:
    """Candidates fitted on all data, by AIC (the choice when no holdout check can be made)."""
    fitted = comparison.dropna(subset=["aic"])
    return list(fitted.sort_values("aic", kind="stable")["candidate"])

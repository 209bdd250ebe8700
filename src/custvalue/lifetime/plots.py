"""Figures for the lifetime-value notebook page (matplotlib / seaborn).

Each helper draws on ``ax`` (a new figure when omitted) and returns the axes.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ._mle import FitResults
from .validation import HoldoutComparison

__all__ = [
    "plot_clv_distribution",
    "plot_predicted_vs_actual",
    "plot_probability_alive_matrix",
    "plot_tracking",
    "probability_alive_matrix",
]


def _axes(ax, figsize=(7.0, 4.5)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_tracking(tracking: pd.DataFrame, *, cumulative: bool = True, ax=None, unit_label: str = "week"):
    """Repeat purchases over time, actual against the model (FHL 2005, fig. 1).

    Parameters
    ----------
    tracking : pandas.DataFrame
        Output of :func:`tracking_data`.
    cumulative : bool, default True
        Plot cumulative totals, or per-period increments.
    ax : matplotlib.axes.Axes, optional
    unit_label : str, default "week"
        Name of a period, for the axis label.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    data = tracking[["actual", "expected"]]
    if not cumulative:
        data = data.diff().fillna(data.iloc[0])
    ax.plot(tracking.index, data["actual"], color="black", label="actual")
    ax.plot(tracking.index, data["expected"], color="tab:blue", linestyle="--", label="model")
    if tracking["holdout"].any() and not tracking["holdout"].all():
        boundary = tracking.index[~tracking["holdout"].to_numpy()].max()
        ax.axvline(boundary, color="grey", linestyle=":", label="end of calibration")
    ax.set_xlabel(unit_label.capitalize())
    ax.set_ylabel(("Cumulative repeat" if cumulative else "Repeat") + " purchases")
    ax.legend(frameon=False)
    return ax


def probability_alive_matrix(
    transaction_results: FitResults, *, max_frequency: int = 20, T: float | None = None, n_recency: int = 40
) -> pd.DataFrame:
    """P(alive) of a customer of age ``T`` on a grid of frequency and recency.

    Parameters
    ----------
    transaction_results : BetaGeoResults or ParetoNBDResults
    max_frequency : int, default 20
        Largest frequency (rows 0..max_frequency).
    T : float, optional
        Customer age; default 52 (a year in weeks).
    n_recency : int, default 40
        Number of recency columns, evenly spaced over ``[0, T]``.

    Returns
    -------
    pandas.DataFrame
        Rows: frequency; columns: recency. Cells with ``frequency = 0`` and
        ``recency > 0`` (impossible histories) are NaN.
    """
    age = 52.0 if T is None else float(T)
    frequency = np.arange(max_frequency + 1, dtype=float)
    recency = np.linspace(0.0, age, n_recency)
    x, t_x = np.meshgrid(frequency, recency, indexing="ij")
    feasible = ~((x == 0) & (t_x > 0))
    values = np.full(x.shape, np.nan)
    values[feasible] = transaction_results.conditional_probability_alive(x[feasible], t_x[feasible], age)
    return pd.DataFrame(
        values,
        index=pd.Index(frequency.astype(int), name="frequency"),
        columns=pd.Index(np.round(recency, 1), name="recency"),
    )


def plot_probability_alive_matrix(
    transaction_results: FitResults, *, max_frequency: int = 20, T: float | None = None, ax=None
):
    """Heatmap of P(alive) by recency and frequency, for customers of age ``T``.

    Parameters
    ----------
    transaction_results : BetaGeoResults or ParetoNBDResults
    max_frequency : int, default 20
    T : float, optional
        Customer age (default 52).
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax, figsize=(8.0, 5.5))
    matrix = probability_alive_matrix(transaction_results, max_frequency=max_frequency, T=T)
    sns.heatmap(
        matrix.iloc[::-1],
        ax=ax,
        cmap="viridis",
        vmin=0.0,
        vmax=1.0,
        cbar_kws={"label": "P(alive)"},
        xticklabels=max(1, matrix.shape[1] // 8),
        yticklabels=max(1, matrix.shape[0] // 10),
    )
    ax.set_title(f"Probability alive at age {matrix.columns.max():g}")
    return ax


def plot_clv_distribution(clv, *, bins: int = 50, log_scale: bool = True, ax=None):
    """Histogram of customer lifetime values.

    Parameters
    ----------
    clv : array_like
        Lifetime value per customer.
    bins : int, default 50
    log_scale : bool, default True
        Log-scaled value axis (CLV is heavily skewed); non-positive values are
        then left out and counted in the title.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    values = np.asarray(clv, dtype=float)
    values = values[np.isfinite(values)]
    title = f"{values.size:,} customers, median {np.median(values):,.2f}"
    if log_scale:
        dropped = int(np.sum(values <= 0))
        values = values[values > 0]
        if dropped:
            title += f" ({dropped:,} non-positive not shown)"
    sns.histplot(values, bins=bins, log_scale=log_scale, ax=ax, color="tab:blue")
    ax.set_xlabel("Customer lifetime value")
    ax.set_ylabel("Customers")
    ax.set_title(title)
    return ax


def plot_predicted_vs_actual(comparison: HoldoutComparison | pd.DataFrame, *, ax=None):
    """Mean holdout purchases by calibration frequency, actual and predicted.

    Parameters
    ----------
    comparison : HoldoutComparison or pandas.DataFrame
        Output of :func:`compare_holdout`, or its ``by_frequency`` table.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    table = comparison.by_frequency if isinstance(comparison, HoldoutComparison) else comparison
    positions = np.arange(len(table))
    ax.plot(positions, table["actual"], color="black", marker="o", label="actual")
    ax.plot(positions, table["predicted"], color="tab:blue", marker="s", linestyle="--", label="model")
    ax.set_xticks(positions, [str(v) for v in table.index])
    ax.set_xlabel("Repeat purchases in calibration")
    ax.set_ylabel("Mean purchases in holdout")
    ax.legend(frameon=False)
    return ax

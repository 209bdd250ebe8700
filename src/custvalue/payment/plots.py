"""Figures for the payment-behaviour page (matplotlib; each returns its Axes)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter
import pandas as pd

from custvalue.payment.metrics import aging_labels


def plot_survival(survival: pd.DataFrame, ax=None, terms_days: float | None = None, min_at_risk: int = 30):
    """Kaplan-Meier curves: share of invoices still unpaid, by days after issue, per segment,
    with pointwise 95% bands. Each curve stops where fewer than ``min_at_risk`` invoices
    are still open (beyond, the estimate rests on a handful). ``terms_days`` draws the
    usual due date."""
    ax = ax or plt.subplots()[1]
    survival = survival[survival["at_risk"] >= min_at_risk]
    for segment, rows in survival.groupby("segment", sort=True):
        rows = rows.sort_values("day")
        days = np.concatenate([[0], rows["day"].to_numpy()])
        share = np.concatenate([[1.0], rows["unpaid_share"].to_numpy()])
        (line,) = ax.step(days, share, where="post", label=str(segment))
        lower = np.concatenate([[1.0], rows["lower"].to_numpy()])
        upper = np.concatenate([[1.0], rows["upper"].to_numpy()])
        ax.fill_between(days, lower, upper, step="post", alpha=0.2, color=line.get_color(), linewidth=0)
    if terms_days is not None:
        ax.axvline(terms_days, color="grey", linestyle="--", linewidth=1)
        ax.annotate("due", (terms_days, 0.5), xytext=(3, 0), textcoords="offset points", color="grey")
    ax.set_xlabel("days after issue")
    ax.set_ylabel("share of invoices still unpaid")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, min(float(survival["day"].max()) + 5 if len(survival) else 120, 240))
    ax.legend(title="segment", frameon=False)
    ax.set_title("Time to payment (Kaplan-Meier)")
    return ax


def plot_aging(table: pd.DataFrame, key: str, bounds: tuple[int, ...], ax=None):
    """Open balance by days past due (stacked bars), one bar per row of ``table``."""
    ax = ax or plt.subplots()[1]
    labels = aging_labels(bounds)
    names = [label.removeprefix("aging_").replace("_", "–").replace("over–", "over ") for label in labels]
    left = np.zeros(len(table))
    colours = plt.cm.YlOrRd(np.linspace(0.15, 0.9, len(labels)))
    for label, name, colour in zip(labels, names, colours):
        values = table[label].to_numpy(dtype=float)
        ax.barh(table[key].astype(str), values, left=left, label=name, color=colour)
        left += values
    ax.set_xlabel("open balance")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.legend(title="days past due", frameon=False, ncol=len(labels), loc="upper center", bbox_to_anchor=(0.5, -0.18))
    ax.set_title("Receivables aging")
    return ax


def plot_lateness_vs_peers(by_quarter: pd.DataFrame, ax=None):
    """Each customer-quarter's mean days late against what its size and segment peers do;
    flagged quarters highlighted. On the diagonal: pays like its peers."""
    ax = ax or plt.subplots()[1]
    rows = by_quarter.dropna(subset=["days_late", "peer_days_late"])
    flagged = rows["late_flag"].to_numpy(dtype=bool)
    ax.scatter(rows.loc[~flagged, "peer_days_late"], rows.loc[~flagged, "days_late"], s=8, alpha=0.3, color="grey", label="not flagged")
    ax.scatter(rows.loc[flagged, "peer_days_late"], rows.loc[flagged, "days_late"], s=16, color="crimson", label="late")
    if len(rows):
        low = min(rows["peer_days_late"].min(), rows["days_late"].min(), 0)
        top = min(rows["days_late"].max(), 180)
        ax.plot([low, top], [low, top], color="black", linewidth=0.8, label="like its peers")
        ax.set_ylim(low - 2, top + 5)
        ax.set_xlim(low - 2, max(rows["peer_days_late"].max(), 10) + 5)
    ax.set_xlabel("peers' expected days late (size and segment)")
    ax.set_ylabel("customer's days late")
    ax.legend(frameon=False)
    ax.set_title("Lateness against peers, per customer and quarter")
    return ax

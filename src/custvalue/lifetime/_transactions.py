"""What the two purchase-count models (BG/NBD, Pareto/NBD) have in common."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._mle import FitResults, LikelihoodModel


def horizon_array(t) -> np.ndarray:
    """Future period length(s) as a float array; a negative length is an error."""
    t = np.asarray(t, dtype=float)
    if np.any(t < 0):
        raise ValueError("t must be non-negative")
    return t


def rfm_arrays(frequency, recency, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Broadcast and check a customer history ``(x, t_x, T)``.

    Parameters
    ----------
    frequency, recency, T : array_like
        Repeat purchases, time of the last purchase and age, measured from the
        first purchase in one time unit.

    Returns
    -------
    tuple of ndarray
        Float arrays of a common shape.

    Raises
    ------
    ValueError
        If a value is missing, negative, a frequency is not a whole number,
        recency exceeds T, or a customer without repeat purchases has a
        non-zero recency.
    """
    x, t_x, age = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (frequency, recency, T)))
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(t_x)) and np.all(np.isfinite(age))):
        raise ValueError("frequency, recency and T must be finite")
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("frequency must be a non-negative whole number")
    if np.any(t_x < 0) or np.any(t_x > age * (1 + 1e-12)):
        raise ValueError("recency must satisfy 0 <= recency <= T")
    if np.any((x == 0) & (t_x != 0)):
        raise ValueError("customers with frequency 0 must have recency 0")
    return x, t_x, age


class TransactionModel(LikelihoodModel):
    """Purchase-count model on per-customer ``frequency, recency, T``.

    Parameters
    ----------
    frequency : array_like
        Number of repeat purchases ``x`` (purchase days after the first).
    recency : array_like
        Time from the first to the last purchase, ``t_x``.
    T : array_like
        Time from the first purchase to the end of observation.
    weights : array_like, optional
        Number of customers each row stands for.
    penalizer : float, default 0.0
        L2 penalty coefficient; see :class:`LikelihoodModel`.
    """

    def __init__(self, frequency, recency, T, weights=None, penalizer: float = 0.0):
        x, t_x, age = rfm_arrays(frequency, recency, T)
        super().__init__({"x": x.ravel(), "t_x": t_x.ravel(), "T": age.ravel()}, weights, penalizer)

    @classmethod
    def from_summary(cls, summary: pd.DataFrame, weights=None, penalizer: float = 0.0):
        """Build the model from a customer summary with ``frequency``, ``recency``, ``T``."""
        return cls(summary["frequency"], summary["recency"], summary["T"], weights=weights, penalizer=penalizer)

    @staticmethod
    def _purchase_rate(data, weights) -> float:
        """Pooled repeat-purchase rate, the scale for starting values."""
        rate = np.dot(weights, data["x"]) / max(np.dot(weights, data["T"]), 1e-12)
        return float(max(rate, 1e-6))


class TransactionResults(FitResults):
    """Results of a purchase-count model; subclasses add the predictions."""

    def _unpack(self) -> tuple[float, ...]:
        return tuple(float(v) for v in self.params.to_numpy())


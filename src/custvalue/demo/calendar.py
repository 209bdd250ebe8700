"""The calendar of a demo world: its months and quarters as day numbers, and events
spread over them."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

import numpy as np

EPOCH = date(1970, 1, 1)


def day_number(value: date) -> int:
    return (value - EPOCH).days


def quarter_id(days: np.ndarray) -> np.ndarray:
    """``year * 4 + (quarter - 1)`` of integer day numbers."""
    as_days = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    months = as_days.astype("datetime64[M]").astype(np.int64)
    return (months // 12 + 1970) * 4 + (months % 12) // 3


def quarter_first_day(qid: np.ndarray) -> np.ndarray:
    months = (np.asarray(qid) // 4 - 1970) * 12 + (np.asarray(qid) % 4) * 3
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


@dataclass(frozen=True)
class Timeline:
    start: int
    end: int
    mstart: np.ndarray  # per month in the window: first day inside the window
    mend: np.ndarray
    mlen: np.ndarray  # calendar length of the month
    mcal: np.ndarray  # calendar month 0..11
    mq: np.ndarray  # quarter index of the month
    qstart: np.ndarray  # per quarter in the window: first/last day inside the window
    qend: np.ndarray
    qlen: np.ndarray  # calendar length of the quarter
    labels: tuple[str, ...]
    last: int  # index of the latest complete quarter

    @property
    def n_q(self) -> int:
        return len(self.labels)


def timeline_of(end: date, months: int) -> Timeline:
    """The calendar of a history of ``months`` months ending on ``end``."""
    year, month = divmod(end.year * 12 + end.month - 1 - months, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    month_end = end.day == calendar.monthrange(end.year, end.month)[1]  # a month end stays a month end
    back = date(year, month + 1, last_day if month_end else min(end.day, last_day))
    start, stop = day_number(back) + 1, day_number(end)
    months = np.arange(
        np.datetime64(start, "D").astype("datetime64[M]"), np.datetime64(stop, "D").astype("datetime64[M]") + 1
    )
    first = months.astype("datetime64[D]").astype(np.int64)
    after = (months + 1).astype("datetime64[D]").astype(np.int64)
    qids = np.arange(quarter_id(np.array([start]))[0], quarter_id(np.array([stop]))[0] + 1)
    qfirst, qafter = quarter_first_day(qids), quarter_first_day(qids + 1)
    last = len(qids) - 1 if qafter[-1] - 1 == stop else len(qids) - 2
    return Timeline(
        start=start,
        end=stop,
        mstart=np.maximum(first, start),
        mend=np.minimum(after - 1, stop),
        mlen=after - first,
        mcal=months.astype(np.int64) % 12,
        mq=quarter_id(first) - qids[0],
        qstart=np.maximum(qfirst, start),
        qend=np.minimum(qafter - 1, stop),
        qlen=qafter - qfirst,
        labels=tuple(f"{q // 4}Q{q % 4 + 1}" for q in qids),
        last=last,
    )


def overlap(lo: np.ndarray, hi: np.ndarray, start: np.ndarray, end: np.ndarray):
    """Per customer x period: first day, last day and number of active days."""
    first = np.maximum(lo[:, None], start[None, :])
    last = np.minimum(hi[:, None], end[None, :])
    return first, last, np.clip(last - first + 1, 0, None)


def spread_events(counts: np.ndarray, first: np.ndarray, last: np.ndarray, rng: np.random.Generator):
    """One event per unit of ``counts`` (any shape); a uniform day in ``[first, last]``.

    Returns the flat cell index of each event and its day.
    """
    flat = counts.ravel()
    cell = np.repeat(np.arange(flat.size), flat)
    lo, hi = first.ravel()[cell], last.ravel()[cell]
    day = lo + (rng.random(cell.size) * (hi - lo + 1)).astype(np.int64)
    return cell, day

"""Distinct rows: the predictions are computed once per distinct input row.

Every prediction of the lifetime models depends on a customer only through the row of
its inputs (``x, t_x, T``, the horizon, the mean value), and customer bases repeat rows
a great deal: the 2,357 CDNOW customers have 1,016 distinct ``(x, t_x, T)`` rows, and
any replication of them the same 1,016. :func:`on_distinct_rows` finds the distinct
rows with hash tables (one pass per column, no sort), evaluates the prediction on them
in blocks of bounded size, and expands the result back to the input's shape. The
prediction sees only distinct rows, so its cost and memory follow the number of
distinct rows, not of customers; each value is the same elementwise computation as on
the full input.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = ["DistinctRows", "distinct_rows", "on_distinct_rows", "per_distinct_row"]

#: Inputs with fewer elements than this are evaluated directly: finding distinct rows
#: costs more than it saves, and scalars keep the type the formulas give them.
_DIRECT_BELOW = 256
#: Distinct rows are evaluated in blocks of at most this many, so that the temporaries
#: of a prediction (up to a few dozen float arrays of a block's length, and the 2-D
#: blocks of the series in :mod:`._hypergeom`) stay within tens of megabytes whatever
#: the number of distinct rows.
ROWS_PER_BLOCK = 1 << 16
#: Largest product of per-column distinct counts that is combined into one int64 key
#: without re-encoding.
_KEY_LIMIT = 1 << 62
#: Up to this many possible keys the distinct ones are found with a dense table.
_DENSE_KEYS = 1 << 22


class DistinctRows:
    """The distinct rows of broadcast columns and where each input row went.

    Attributes
    ----------
    columns : tuple of ndarray
        One 1-D float array per column, the distinct rows in order of first appearance.
    inverse : ndarray
        For each input element (flattened), the index of its distinct row.
    shape : tuple of int
        Broadcast shape of the inputs.
    """

    __slots__ = ("columns", "inverse", "shape")

    def __init__(self, columns: tuple[np.ndarray, ...], inverse: np.ndarray, shape: tuple[int, ...]) -> None:
        self.columns = columns
        self.inverse = inverse
        self.shape = shape

    def __len__(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def expand(self, values: np.ndarray) -> np.ndarray:
        """Per-distinct-row ``values`` back in the inputs' shape."""
        return np.asarray(values)[self.inverse].reshape(self.shape)


def distinct_rows(*arrays) -> DistinctRows:
    """Distinct rows of the broadcast ``arrays`` (as float), by hashing column by column.

    Each column is factorised on its own (a hash table of its values), the per-column
    codes are combined into one integer key per row, and the keys are factorised again.
    NaN is a value like any other here (the prediction then rejects it as it would
    have on the full input).
    """
    broadcast = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in arrays))
    shape = broadcast[0].shape
    key = None
    n_keys = 1
    uniques = []
    for column in broadcast:
        codes, values = pd.factorize(column.ravel(), use_na_sentinel=False)
        uniques.append(values)
        if key is None:
            key, n_keys = codes.astype(np.int64), len(values)
            continue
        if n_keys * len(values) >= _KEY_LIMIT:
            key, first = pd.factorize(key)
            n_keys = len(first)
        key *= len(values)  # in place: no temporary of the inputs' length
        key += codes
        n_keys *= len(values)
    if n_keys <= max(_DENSE_KEYS, 4 * key.size):
        # Few possible keys: a dense table of which occur is faster than hashing.
        used = np.bincount(key, minlength=n_keys) > 0
        keys = np.flatnonzero(used)
        inverse = (np.cumsum(used) - 1)[key]
    else:
        inverse, keys = pd.factorize(key)
    # Decode each distinct key back into its per-column values (last column first).
    columns = []
    remainder = keys.astype(np.int64)
    for values in reversed(uniques):
        columns.append(np.asarray(values, dtype=float)[remainder % len(values)])
        remainder //= len(values)
    return DistinctRows(tuple(reversed(columns)), inverse, shape)


def on_distinct_rows(function: Callable[..., np.ndarray], *arrays) -> np.ndarray:
    """``function(*arrays)`` (elementwise in its inputs), evaluated once per distinct row.

    Parameters
    ----------
    function : callable
        Takes 1-D float arrays of equal length, one per input, and returns the value of
        each row; must be elementwise (a row's value depends on that row only).
    *arrays : array_like
        Broadcastable inputs.

    Returns
    -------
    ndarray
        ``function``'s values in the broadcast shape of ``arrays``. Inputs smaller than
        a few hundred elements are passed to ``function`` as they are.
    """
    sizes = [np.size(a) for a in arrays]
    if max(sizes, default=0) < _DIRECT_BELOW:
        return function(*arrays)
    rows = distinct_rows(*arrays)
    n = len(rows)
    if n <= ROWS_PER_BLOCK:
        values = np.asarray(function(*rows.columns), dtype=float)
    else:
        values = np.empty(n)
        for start in range(0, n, ROWS_PER_BLOCK):
            block = slice(start, start + ROWS_PER_BLOCK)
            values[block] = function(*(column[block] for column in rows.columns))
    return rows.expand(values)


def per_distinct_row(method):
    """Decorate a results method ``method(self, *arrays)`` to run on distinct rows.

    The arrays are the method's positional arguments after ``self`` (histories, a
    horizon): the method body is evaluated on the distinct rows of their broadcast,
    and its values expanded back.
    """

    signature = inspect.signature(method)

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        arrays = signature.bind(self, *args, **kwargs).args[1:]
        return on_distinct_rows(lambda *columns: method(self, *columns), *arrays)

    wrapper.on_rows = method  # the undecorated body, for callers that already hold distinct rows
    return wrapper

"""Text for whole columns: the review's evidence, written for every failing row at once.

Numbers are turned into text with numpy (exactly the text ``format`` gives, see
:func:`number`), and the pieces are joined with numpy's element-wise ``+`` on object
arrays; only the failing rows are formatted. At a million customers the review writes
reasons for seven million customer-quarters, which row-by-row formatting cannot afford.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

TEXT_DTYPE = pd.Series(["text"], dtype=object).astype(str).dtype
"""What ``astype(str)`` makes of text (pandas' Arrow-backed string type under pandas 3)."""


def empty(index: pd.Index) -> pd.Series:
    return pd.Series("", index=index, dtype=object)


# --------------------------------------------------------------------------- text for whole columns
#
# Evidence is written for every failing row at once: numbers are turned into text with
# numpy (exactly the text ``format`` gives, see ``number``), and the pieces are joined
# with numpy's element-wise ``+`` on object arrays. Only the failing rows are formatted.

_DIGITS = np.array([str(number) for number in range(1000)], dtype=object)
_PADDED = {width: np.array([f"{number:0{width}d}" for number in range(10**width)], dtype=object) for width in (1, 2, 3)}


def texts(size: int, fill: str = "") -> np.ndarray:
    return np.full(size, fill, dtype=object)


def grouped(whole: np.ndarray, separator: str) -> np.ndarray:
    """Non-negative integers as decimal text, groups of three digits separated by ``separator``."""
    text = np.empty(whole.shape, dtype=object)
    small = whole < 1000
    text[small] = _DIGITS[whole[small]]
    if not small.all():
        large = whole[~small]
        text[~small] = grouped(large // 1000, separator) + separator + _PADDED[3][large % 1000]
    return text


def number(values: np.ndarray, decimals: int = 0, grouping: bool = True, percent: bool = False) -> np.ndarray:
    """``format(value, ",.<decimals>f")`` of each value (``.<decimals>%`` with ``percent``,
    without the thousands separator when not ``grouping``), as an object array.

    The text is exactly Python's: it rounds the exact binary value half to even, as
    ``numpy.rint`` does. With decimals, ``value * 10**decimals`` is itself rounded, so the
    few values that land within two units in the last place of a half are formatted by
    Python, as are infinities, NaN and magnitudes above 2**52.
    """
    spec = f"{',' if grouping else ''}.{decimals}{'%' if percent else 'f'}"
    x = np.asarray(values, dtype=np.float64)
    y = x * 100.0 if percent else x  # what Python's "%" does before formatting
    scaled = np.abs(y) * 10.0**decimals if decimals else np.abs(y)
    with np.errstate(invalid="ignore", over="ignore"):
        plain = np.isfinite(scaled) & (scaled < 2.0**52)
        if decimals:
            plain &= np.abs(scaled - np.floor(scaled) - 0.5) > 2 * np.spacing(scaled)
    text = np.empty(x.shape, dtype=object)
    if plain.any():
        whole = np.rint(scaled[plain]).astype(np.int64)
        unit = 10**decimals
        body = grouped(whole // unit, "," if grouping else "")
        if decimals:
            body = body + "." + _PADDED[decimals][whole % unit]
        body = np.where(np.signbit(y[plain]), "-", "").astype(object) + body
        text[plain] = body + "%" if percent else body
    if not plain.all():
        text[~plain] = np.array([format(value, spec) for value in x[~plain].tolist()], dtype=object)
    return text


def whole(values: np.ndarray) -> np.ndarray:
    """``str(int(value))`` of each value, as an object array."""
    values = np.asarray(values)
    if values.dtype.kind in "iu":
        small = (values >= 0) & (values < 1000)
        if small.all():
            return _DIGITS[values]
        text = np.empty(values.shape, dtype=object)
        text[small] = _DIGITS[values[small]]
        text[~small] = np.array([str(int(value)) for value in values[~small].tolist()], dtype=object)
        return text
    return np.array([str(int(value)) for value in values.tolist()], dtype=object)


def joined(parts: Sequence[tuple[np.ndarray, np.ndarray | str]], separator: str, size: int) -> np.ndarray:
    """Per row, ``separator.join`` of the parts present in that row, in order.

    Each part is ``(present, text)``: a boolean mask and an object array of texts (or one
    text for all rows); the text is read only where present.
    """
    text = texts(size)
    started = np.zeros(size, dtype=bool)
    for present, part in parts:
        part = np.broadcast_to(np.asarray(part, dtype=object), (size,))
        later = present & started
        text[later] = text[later] + separator + part[later]
        first = present & ~started
        text[first] = part[first]
        started |= present
    return text


def where(present: np.ndarray, make: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``make(rows)`` where ``present`` (``rows``: positions), empty text elsewhere."""
    text = texts(len(present))
    rows = np.flatnonzero(present)
    if len(rows):
        text[rows] = make(rows)
    return text


def text_column(values: np.ndarray) -> np.ndarray | pd.api.extensions.ExtensionArray:
    """What a frame stores when ``values`` (an object array, mostly empty texts) is assigned
    to a column: with pandas' Arrow-backed text type, built in Arrow from the non-empty
    texts alone; anything else (missing values, non-text) is left to pandas to infer."""
    values = np.asarray(values, dtype=object)
    if not (isinstance(TEXT_DTYPE, pd.StringDtype) and TEXT_DTYPE.storage == "pyarrow") or not len(values):
        return values
    filled = np.flatnonzero(values != "")
    texts = values[filled]
    if len(texts) and pd.api.types.infer_dtype(texts, skipna=False) != "string":
        return values
    at = np.full(len(values), len(texts), dtype=np.int64)
    at[filled] = np.arange(len(texts))
    return pd.array(pa.array(np.append(texts, ""), type=pa.large_string()).take(pa.array(at)), dtype=TEXT_DTYPE)


def join_rows(values: np.ndarray, unique: bool = False) -> list[str]:
    joined = []
    for row in values:
        parts: list[str] = []
        for text in row:
            for part in str(text).split("; ") if unique else [str(text)]:
                if part and part != "nan" and part not in parts:
                    parts.append(part)
        joined.append("; ".join(parts))
    return joined


def join_columns(columns: Sequence[pd.Series], size: int) -> np.ndarray:
    """``join_rows`` of the columns' texts, row by row (each non-empty text once, in order),
    for whole columns at once."""
    text = texts(size)
    if not columns:
        return text
    if not all(isinstance(column.dtype, pd.StringDtype) and not column.hasnans for column in columns):
        return np.array(join_rows(np.column_stack([column.to_numpy(dtype=object) for column in columns])), dtype=object)
    valid = [((column != "") & (column != "nan")).to_numpy(dtype=bool) for column in columns]
    rows = np.flatnonzero(np.logical_or.reduce(valid))
    values = [column.iloc[rows].to_numpy(dtype=object) for column in columns]
    valid = [present[rows] for present in valid]
    parts = []
    for j, (present, part) in enumerate(zip(valid, values)):
        again = np.zeros(len(rows), dtype=bool)
        for i in range(j):
            again |= valid[i] & (values[i] == part)
        parts.append((present & ~again, part))
    text[rows] = joined(parts, "; ", len(rows))
    return text


def join_unique(columns: Sequence[np.ndarray], size: int) -> np.ndarray:
    """``join_rows(..., unique=True)`` of the columns, row by row: every ``"; "``-separated part
    once, in order. Repairs repeat across rows, so each distinct combination of texts is
    joined once."""
    text = texts(size)
    columns = [np.asarray(column, dtype=object) for column in columns]
    if not columns:
        return text
    rows = np.flatnonzero(np.logical_or.reduce([column != "" for column in columns]))
    if not len(rows):
        return text
    values = [column[rows] for column in columns]
    if not all(pd.api.types.infer_dtype(value, skipna=False) == "string" for value in values):
        text[rows] = np.array(join_rows(np.column_stack(values), unique=True), dtype=object)
        return text
    key, combinations = np.zeros(len(rows), dtype=np.int64), 1
    for value in values:
        codes, uniques = pd.factorize(value)
        combinations *= max(len(uniques), 1)
        if combinations >= 2**62:  # too many to number: join row by row
            text[rows] = np.array(join_rows(np.column_stack(values), unique=True), dtype=object)
            return text
        key = key * max(len(uniques), 1) + codes
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    joined = np.array(join_rows(np.column_stack([value[first] for value in values]), unique=True), dtype=object)
    text[rows] = joined[inverse.reshape(-1)]
    return text

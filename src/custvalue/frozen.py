"""One immutability idiom for every model's results object.

A results object is a ``@dataclass(frozen=True)`` subclass of :class:`FrozenResult`.
Freezing stops attribute assignment, but a table held in a field could still be changed
in place by whoever reads it (``result.customers["clv"] = 0``). So tables are taken in
and handed out as shallow copies, and dictionaries as shallow copies: under pandas'
copy-on-write a shallow copy costs nothing until someone writes to it, and then the
write lands in the reader's copy, never in the result.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

__all__ = ["FrozenResult"]

_TABLES = (pd.DataFrame, pd.Series)


class FrozenResult:
    """Base of the results objects: subclass it as ``@dataclass(frozen=True)``.

    A subclass that needs its own ``__post_init__`` calls ``super().__post_init__()``
    first.
    """

    __slots__ = ()

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):  # type: ignore[arg-type]
            value = object.__getattribute__(self, field.name)
            if isinstance(value, _TABLES):
                object.__setattr__(self, field.name, value.copy(deep=False))
            elif isinstance(value, dict):
                object.__setattr__(self, field.name, dict(value))

    def __getattribute__(self, name: str):
        value = object.__getattribute__(self, name)
        if isinstance(value, _TABLES):
            return value.copy(deep=False)
        if type(value) is dict:
            return dict(value)
        return value

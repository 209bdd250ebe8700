"""Calendar quarters, written ``YYYYQn`` (for example ``2026Q2``).

The review works quarter by quarter, so quarter arithmetic is a concept of its own:
parsing, bounds, stepping and "the last complete quarter" of a data set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

_QUARTER_PATTERN = re.compile(r"^(\d{4})Q([1-4])$")


@dataclass(frozen=True, order=True)
class Quarter:
    """A calendar quarter. Ordered, hashable, and printed as ``YYYYQn``."""

    year: int
    number: int

    def __post_init__(self) -> None:
        if not 1 <= self.number <= 4:
            raise ValueError(f"quarter number must be 1..4, got {self.number}")
        if not 1 <= self.year <= 9999:
            raise ValueError(f"year out of range: {self.year}")

    @classmethod
    def parse(cls, text: str) -> "Quarter":
        """Parse ``YYYYQn`` (case-insensitive ``q``); raise ``ValueError`` otherwise."""
        match = _QUARTER_PATTERN.match(str(text).strip().upper())
        if not match:
            raise ValueError(f"not a quarter: {text!r} (expected YYYYQn, e.g. 2026Q2)")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def containing(cls, day: date) -> "Quarter":
        """The quarter a date falls in."""
        return cls(day.year, (day.month - 1) // 3 + 1)

    @classmethod
    def last_complete(cls, last_data_day: date) -> "Quarter":
        """The latest quarter fully covered by data that runs up to ``last_data_day``.

        A quarter is complete when the data reaches its last day.
        """
        quarter = cls.containing(last_data_day)
        return quarter if last_data_day >= quarter.end else quarter.shift(-1)

    @property
    def start(self) -> date:
        """First day of the quarter."""
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def end(self) -> date:
        """Last day of the quarter (inclusive)."""
        return self.shift(1).start - timedelta(days=1)

    @property
    def days(self) -> int:
        """Number of days in the quarter."""
        return (self.end - self.start).days + 1

    def shift(self, quarters: int) -> "Quarter":
        """The quarter ``quarters`` steps later (negative: earlier)."""
        index = self.year * 4 + (self.number - 1) + quarters
        return Quarter(index // 4, index % 4 + 1)

    def __sub__(self, other: "Quarter") -> int:
        """Number of quarters from ``other`` to ``self``."""
        return (self.year * 4 + self.number) - (other.year * 4 + other.number)

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"


def quarter_range(first: Quarter, last: Quarter) -> list[Quarter]:
    """All quarters from ``first`` to ``last`` inclusive, oldest first."""
    return [first.shift(step) for step in range(last - first + 1)]

"""What demo world to generate (:class:`DemoSpec`, :class:`WorldShape`) and what comes out
(:class:`DemoWorld`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

import pandas as pd

from custvalue.demo.vocabulary import ARCHETYPES, MIN_CUSTOMERS, TABLE_NAMES
from custvalue.errors import CustvalueError


class DemoError(CustvalueError, ValueError):
    """The demo cannot be generated as asked (for example too few customers)."""


# --------------------------------------------------------------------------- public types


@dataclass(frozen=True)
class WorldShape:
    """The mix and shape of a world, beyond its size and seed (defaults: the demo world).

    Worlds of other shapes test that the review works on data no one here made: one
    segment only, no churn or heavy churn, a missing optional table, a whale, one-time
    buyers. The defaults reproduce the demo world exactly (same draws, same files).

    Parameters
    ----------
    segment_shares : tuple of three floats
        Shares of enterprise, mid-market and small-business accounts (summing to 1). A
        planted archetype whose usual segments are all absent is planted in the segments
        present.
    silent_churn : float
        Share of ordinary customers who stop ordering at a random date, without an
        ``ended_on``.
    archetypes : mapping of str to float
        Customers per 1,000 of an archetype (see :data:`ARCHETYPES`; ``already_left``
        included), replacing its default; 0 plants none (and drops the minimum count).
    optional_tables : tuple of str
        Which optional tables (``support_tickets``, ``incidents``) the world has. A
        table left out is not written at all, as for a company that does not keep it.
    on_time_payment : bool
        Every invoice is paid in full by its due date: no slow, late or non-payers (the
        ``late_payer_small`` and ``non_payer`` archetypes are not planted), no disputes.
    whale_revenue_share : float
        When positive, one long-standing ordinary customer is made to hold about this
        share of all revenue.
    single_order_share : float
        Share of ordinary customers who buy once only (one order in the whole history).
    """

    segment_shares: tuple[float, float, float] = (0.05, 0.25, 0.70)
    silent_churn: float = 0.22
    archetypes: Mapping[str, float] = field(default_factory=dict)
    optional_tables: tuple[str, ...] = ("support_tickets", "incidents")
    on_time_payment: bool = False
    whale_revenue_share: float = 0.0
    single_order_share: float = 0.0

    def __post_init__(self) -> None:
        shares = tuple(float(share) for share in self.segment_shares)
        if len(shares) != 3 or min(shares) < 0 or abs(sum(shares) - 1.0) > 1e-9:
            raise DemoError(f"segment_shares: three non-negative shares summing to 1 needed, got {self.segment_shares}")
        object.__setattr__(self, "segment_shares", shares)
        unknown = sorted(set(self.archetypes) - set(ARCHETYPES[:-1]))
        if unknown:
            raise DemoError(f"archetypes: unknown archetype(s) {', '.join(unknown)}; known: {', '.join(ARCHETYPES[:-1])}")
        if any(not (0 <= float(rate) <= 1000) for rate in self.archetypes.values()):
            raise DemoError("archetypes: customers per 1,000 must be between 0 and 1,000")
        object.__setattr__(self, "archetypes", dict(self.archetypes))
        unknown = sorted(set(self.optional_tables) - set(TABLE_NAMES[3:]))
        if unknown:
            raise DemoError(f"optional_tables: unknown table(s) {', '.join(unknown)}; optional: {', '.join(TABLE_NAMES[3:])}")
        object.__setattr__(self, "optional_tables", tuple(self.optional_tables))
        for name in ("silent_churn", "single_order_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise DemoError(f"{name}: a share between 0 and 1 needed, got {getattr(self, name)}")
        if not 0 <= self.whale_revenue_share < 1:
            raise DemoError(f"whale_revenue_share: a share in [0, 1) needed, got {self.whale_revenue_share}")

    @property
    def is_default(self) -> bool:
        return self == WorldShape()


@dataclass(frozen=True)
class DemoSpec:
    """What demo world to generate.

    Parameters
    ----------
    n_customers : int
        Number of customers (at least 200, so every archetype can be planted).
    seed : int
        Seed of every random draw; the same spec gives byte-identical output.
    end : datetime.date
        Last day of the data. The latest complete quarter is the one ending on or
        before it (2026Q2 for the default 2026-06-30). An ISO string is accepted.
    years : int
        Length of the history in years (at least 2), unless ``quarters`` is given.
    quarters : int, optional
        Length of the history in quarters (at least 2), instead of ``years``: the data
        begin ``quarters`` calendar quarters before ``end``.
    shape : WorldShape
        The mix of customers and tables (default: the demo world's).
    hostile_names : bool
        Put HTML and spreadsheet-formula payloads (:data:`HOSTILE_TEXTS`) into some
        customer names and incident notes, for output-escaping tests.
    """

    n_customers: int = 2000
    seed: int = 42
    end: date = date(2026, 6, 30)
    years: int = 3
    hostile_names: bool = False
    quarters: int | None = None
    shape: WorldShape = field(default_factory=WorldShape)

    def __post_init__(self) -> None:
        end = self.end
        if isinstance(end, str):
            try:
                end = date.fromisoformat(end)
            except ValueError:
                raise DemoError(f"end: not an ISO date YYYY-MM-DD: {self.end!r}") from None
        elif isinstance(end, datetime):
            end = end.date()
        elif isinstance(end, pd.Timestamp):
            end = end.date()
        if not isinstance(end, date):
            raise DemoError(f"end: expected a date, got {type(self.end).__name__}")
        object.__setattr__(self, "end", end)
        if int(self.n_customers) < MIN_CUSTOMERS:
            raise DemoError(
                f"n_customers: at least {MIN_CUSTOMERS} needed to plant every archetype, got {self.n_customers}"
            )
        if end < date(1990, 1, 1):
            raise DemoError(f"end: must be 1990-01-01 or later, got {end}")
        if self.quarters is None and int(self.years) < 2:
            raise DemoError(f"years: at least 2 needed (chronic archetypes need 4+ quarters), got {self.years}")
        if self.quarters is not None and not 2 <= int(self.quarters) <= 400:
            raise DemoError(f"quarters: between 2 and 400 needed, got {self.quarters}")
        if not isinstance(self.shape, WorldShape):
            raise DemoError(f"shape: expected a WorldShape, got {type(self.shape).__name__}")
        object.__setattr__(self, "n_customers", int(self.n_customers))
        object.__setattr__(self, "years", int(self.years))
        object.__setattr__(self, "quarters", None if self.quarters is None else int(self.quarters))

    @property
    def months(self) -> int:
        """Length of the history in calendar months."""
        return 3 * self.quarters if self.quarters is not None else 12 * self.years
        object.__setattr__(self, "seed", int(self.seed))


@dataclass(frozen=True, eq=False)
class DemoWorld:
    """A generated world.

    Attributes
    ----------
    tables : dict of str to pandas.DataFrame
        The five contract tables, typed: dates ``datetime64``, booleans ``bool``,
        money ``float64`` (two decimals), ``employees`` nullable ``Int64``.
    truth : pandas.DataFrame
        Ground truth, one row per customer (columns :data:`TRUTH_COLUMNS`).
    spec : DemoSpec
        The spec the world was generated from.
    """

    tables: dict[str, pd.DataFrame]
    truth: pd.DataFrame
    spec: DemoSpec = field(default_factory=DemoSpec)

"""The demo world: a seeded, believable B2B distributor with planted customer archetypes.

:func:`generate_world` builds the five contract tables (``customers``, ``orders``,
``invoices``, ``support_tickets``, ``incidents``) and a ground-truth table that says,
per customer, which archetype was planted, in which quarters its behaviour is bad and
what the three-strikes review should conclude. :func:`write_world` writes the tables
(CSV or Parquet) and the truth (to a separate path, outside the raw folder).
:func:`inject_violations` adds a known set of contract-breaking rows for tests.

Everything is vectorised numpy; the only randomness is a :class:`numpy.random.Generator`
per component, all derived from ``DemoSpec.seed``, so the same spec gives byte-identical
files. ``docs/demo-world.md`` describes what is planted and why.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from custvalue.atomic import atomic_write_path as _atomic_write_path
from custvalue.contract import INCIDENT_KINDS
from custvalue.contract import TICKET_CHANNELS as CHANNELS
from custvalue.errors import CustvalueError

__all__ = [
    "ARCHETYPES",
    "CHANNELS",
    "CHRONIC_ARCHETYPES",
    "HOSTILE_TEXTS",
    "INCIDENT_KINDS",
    "SEGMENTS",
    "STATUSES",
    "TABLE_NAMES",
    "TRUTH_COLUMNS",
    "VIOLATION_COLUMNS",
    "DemoError",
    "DemoSpec",
    "WorldShape",
    "DemoWorld",
    "generate_world",
    "inject_violations",
    "tables_as_text",
    "write_tables",
    "write_truth",
    "write_world",
    "evaluate_against_truth",
]

# --------------------------------------------------------------------------- vocabulary

SEGMENTS = ("enterprise", "mid-market", "small-business")
_ENT, _MID, _SMALL = 0, 1, 2
_ABUSE, _AVOID, _DEMAND, _PRICE, _WITHHELD, _BREACH = (
    INCIDENT_KINDS.index(kind)
    for kind in ("abusive_conduct", "staff_avoidance", "unreasonable_demand", "price_pressure", "info_withheld", "contract_breach")
)
ARCHETYPES = (
    "support_hog",
    "rush_addict",
    "price_pressurer",
    "late_payer_small",
    "non_payer",
    "abusive",
    "profitable_late_enterprise",
    "growing_small",
    "we_caused",
    "one_bad_quarter",
    "already_left",
    "ordinary",
)
"""Every archetype of the ground truth, in a fixed order."""
CHRONIC_ARCHETYPES = ARCHETYPES[:6]
"""Archetypes that are bad in every quarter of their life (let go when still active)."""
STATUSES = ("let_go", "final_notice", "watch", "healthy", "inactive")
TABLE_NAMES = ("customers", "orders", "invoices", "support_tickets", "incidents")
TRUTH_COLUMNS = (
    "customer_id",
    "archetype",
    "segment",
    "bad_quarters",
    "expected_status",
    "flagged_expected",
    "expected_strikes",
    "behaviour",
    "silent_churn",
    "hostile_name",
    "detectable",
    "single_order",
)

(_HOG, _RUSH, _PRICER, _LATE, _NONPAY, _ABUSIVE, _PLE, _GROWING, _WECAUSED, _ONEBAD, _LEFT, _ORD) = range(12)
_CHRONIC = (_HOG, _RUSH, _PRICER, _LATE, _NONPAY, _ABUSIVE)

HOSTILE_TEXTS = (
    "<script>alert(1)</script>",
    '=HYPERLINK("http://x","y")',
    "<b>bold</b> Supplies",
    "+SUM(1,2) Trading",
    "-2+3 Logistics",
    "@SUM(A1:A9)",
    '<img src=x onerror="alert(1)">',
    "=cmd|' /C calc'!A0",
    "Robert'); DROP TABLE customers;--",
    "</td></tr><tr><td>injected",
)
"""Payloads put into customer names and incident notes when ``hostile_names`` is set."""

# Archetype: (customers per 1,000, minimum count, segment probabilities (ent, mid, small)).
_PLAN: dict[int, tuple[float, int, tuple[float, float, float]]] = {
    _HOG: (12, 4, (0.0, 0.25, 0.75)),
    _RUSH: (12, 4, (0.0, 0.0, 1.0)),
    _PRICER: (10, 4, (0.0, 1.0, 0.0)),
    _LATE: (12, 4, (0.0, 0.0, 1.0)),
    _NONPAY: (10, 4, (0.0, 0.4, 0.6)),
    _ABUSIVE: (8, 4, (0.0, 0.4, 0.6)),
    _PLE: (5, 3, (1.0, 0.0, 0.0)),
    _GROWING: (10, 4, (0.0, 0.0, 1.0)),
    _WECAUSED: (8, 4, (0.15, 0.35, 0.5)),
    _ONEBAD: (10, 4, (0.0, 0.35, 0.65)),
}
_LEFT_PLAN = (15, 6)
_LEFT_BAD_SHARE = 0.4
_LEFT_BAD_CYCLE = (_HOG, _RUSH, _NONPAY, _ABUSIVE, _PRICER)
_SEGMENT_SHARE = (0.05, 0.25, 0.70)
_MIN_CUSTOMERS = 200

# Calendar-month seasonality (Jan..Dec): summer dip, Q4 peak.
_SEASON = np.array([0.90, 0.92, 1.00, 0.98, 1.00, 0.95, 0.85, 0.82, 1.00, 1.12, 1.30, 1.18])
_FULL_QUARTER_DAYS = 20  # a quarter with at least this much activity gets the planted minimums
_WRITE_OFF_AFTER = 120  # days past due before an unpaid invoice is written off
_DUE_DAYS = 30

# Ticket channel mixes (phone, email, chat, onsite) and minutes ranges per channel.
_CHANNEL_MIX_NORMAL = np.array([[0.30, 0.38, 0.20, 0.12], [0.32, 0.40, 0.22, 0.06], [0.30, 0.42, 0.25, 0.03]])
_CHANNEL_MIX_QUIET = np.array([0.30, 0.45, 0.25, 0.0])
_CHANNEL_MIX_HOG = np.array([0.50, 0.25, 0.10, 0.15])
_CHANNEL_MIX_OURS = np.array([0.35, 0.45, 0.15, 0.05])
_MINUTES_NORMAL = np.array([[15, 60], [10, 30], [10, 25], [120, 240]])
_MINUTES_HOG = np.array([[40, 120], [20, 60], [20, 45], [150, 300]])

_NOTES = {
    _ABUSE: (
        "Shouted at the driver on delivery",
        "Insulting emails to the order desk",
        "Threatened warehouse staff on the phone",
        "Swore at the support agent, call ended",
    ),
    _AVOID: (
        "Refuses to deal with the assigned account manager",
        "Went around support straight to the director",
        "Ignores calls from credit control",
    ),
    _DEMAND: (
        "Demanded same-day delivery at no charge",
        "Wants pallets relabelled in their own format, free",
        "Insisted on 90-day terms for a 10-line order",
    ),
    _PRICE: (
        "Asked for 15% off or they move to a competitor",
        'Quoted a "better price" from another supplier',
        "Wants last year's prices, again",
    ),
    _WITHHELD: (
        "Did not share the forecast needed for allocation",
        "Delivery address changed without telling us",
        "Would not say which site the goods were for",
    ),
    _BREACH: (
        "Resold goods outside the licensed territory",
        "Returned used stock as new, against the terms",
    ),
}

# Company-name pools (untrusted text: apostrophes, ampersands, accents, commas, quotes).
_NAME_PREFIX = (
    "Acme", "Northwind", "Blue Ridge", "Harbor", "Summit", "Pioneer", "Granite", "Silverline",
    "Oakwood", "Redstone", "Evergreen", "Lakeside", "Ironbridge", "Maple", "Crescent", "Falcon",
    "Keystone", "Meridian", "Riverside", "Sterling", "Cedar", "Atlas", "Beacon", "Horizon",
    "Westfield", "Eastgate", "Brightwater", "Copperfield", "Highland", "Kingsway", "Müller",
    "Søndergaard", "Café Lumière", "Zürich", "Łódź", "Ångström", "Besançon", "Peña", "São Paulo",
    "Dvořák", "O'Neill", "L'Atelier", "D'Angelo", "Northstar", "Bayview", "Fjord", "Aurora",
)
_NAME_SURNAME = (
    "Smith", "Jones", "Patel", "García", "Nguyen", "O'Brien", "Kowalski", "Andersson", "Rossi",
    "Dubois", "Schäfer", "Núñez", "Kim", "Okafor", "Haddad", "Müller", "Novák", "Brennan",
)
_NAME_TRADE = (
    "Supplies", "Trading", "Logistics", "Industrial", "Components", "Foods", "Hardware",
    "Electrical", "Packaging", "Plumbing", "Tools", "Textiles", "Builders", "Engineering",
    "Medical", "Office", "Auto Parts", "Garden", "Chemicals", "Distribution", "Instruments",
    "Marine", "Bakery", "Catering", "Print",
)
_NAME_SUFFIX = (
    "Ltd", "Inc.", "LLC", "GmbH", "S.A.", "B.V.", "& Co", "& Sons", "Group", "Partners", "AG",
    "Oy", "SARL", "Corp.", "",
)
_ODD_NAMES = (
    'The "Best" Widgets Co',
    "Smith, Jones & Partners",
    "Ça Va Bien S.à r.l.",
    "Ünal & Öztürk Ticaret",
    "Mom & Pop's Hardware",
)
_REGIONS = ("North", "South", "East", "West", "Central")
_MANAGERS = (
    "Alice Moreau", "Ben Carter", "Chloé Dupont", "Dmitri Volkov", "Eva Lindqvist", "Farid Haddad",
    "Grace O'Connor", "Hiro Tanaka", "Isabel Núñez", "Jonas Becker", "Kara Mensah", "Zoë Ng",
)


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
        if int(self.n_customers) < _MIN_CUSTOMERS:
            raise DemoError(
                f"n_customers: at least {_MIN_CUSTOMERS} needed to plant every archetype, got {self.n_customers}"
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


# --------------------------------------------------------------------------- time


_EPOCH = date(1970, 1, 1)


def _day(value: date) -> int:
    return (value - _EPOCH).days


def _quarter_id(days: np.ndarray) -> np.ndarray:
    """``year * 4 + (quarter - 1)`` of integer day numbers."""
    as_days = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    months = as_days.astype("datetime64[M]").astype(np.int64)
    return (months // 12 + 1970) * 4 + (months % 12) // 3


def _quarter_first_day(qid: np.ndarray) -> np.ndarray:
    months = (np.asarray(qid) // 4 - 1970) * 12 + (np.asarray(qid) % 4) * 3
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


@dataclass(frozen=True)
class _Timeline:
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


def _timeline(end: date, months: int) -> _Timeline:
    """The calendar of a history of ``months`` months ending on ``end``."""
    year, month = divmod(end.year * 12 + end.month - 1 - months, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    month_end = end.day == calendar.monthrange(end.year, end.month)[1]  # a month end stays a month end
    back = date(year, month + 1, last_day if month_end else min(end.day, last_day))
    start, stop = _day(back) + 1, _day(end)
    months = np.arange(
        np.datetime64(start, "D").astype("datetime64[M]"), np.datetime64(stop, "D").astype("datetime64[M]") + 1
    )
    first = months.astype("datetime64[D]").astype(np.int64)
    after = (months + 1).astype("datetime64[D]").astype(np.int64)
    qids = np.arange(_quarter_id(np.array([start]))[0], _quarter_id(np.array([stop]))[0] + 1)
    qfirst, qafter = _quarter_first_day(qids), _quarter_first_day(qids + 1)
    last = len(qids) - 1 if qafter[-1] - 1 == stop else len(qids) - 2
    return _Timeline(
        start=start,
        end=stop,
        mstart=np.maximum(first, start),
        mend=np.minimum(after - 1, stop),
        mlen=after - first,
        mcal=months.astype(np.int64) % 12,
        mq=_quarter_id(first) - qids[0],
        qstart=np.maximum(qfirst, start),
        qend=np.minimum(qafter - 1, stop),
        qlen=qafter - qfirst,
        labels=tuple(f"{q // 4}Q{q % 4 + 1}" for q in qids),
        last=last,
    )


def _overlap(lo: np.ndarray, hi: np.ndarray, start: np.ndarray, end: np.ndarray):
    """Per customer x period: first day, last day and number of active days."""
    first = np.maximum(lo[:, None], start[None, :])
    last = np.minimum(hi[:, None], end[None, :])
    return first, last, np.clip(last - first + 1, 0, None)


def _expand(counts: np.ndarray, first: np.ndarray, last: np.ndarray, rng: np.random.Generator):
    """One event per unit of ``counts`` (any shape); a uniform day in ``[first, last]``.

    Returns the flat cell index of each event and its day.
    """
    flat = counts.ravel()
    cell = np.repeat(np.arange(flat.size), flat)
    lo, hi = first.ravel()[cell], last.ravel()[cell]
    day = lo + (rng.random(cell.size) * (hi - lo + 1)).astype(np.int64)
    return cell, day


# --------------------------------------------------------------------------- customers


@dataclass
class _Customers:
    seg: np.ndarray
    beh: np.ndarray  # behaviour archetype (never _LEFT)
    left: np.ndarray  # already_left overlay
    created: np.ndarray
    ended: np.ndarray  # -1 = not ended
    act_start: np.ndarray
    act_end: np.ndarray
    churned: np.ndarray
    single: np.ndarray  # buys once only


def _planted_count(shape: WorldShape, archetype: int, per_thousand: float, minimum: int, n: int) -> int:
    """How many customers of ``archetype`` a world of ``n`` customers gets."""
    if shape.on_time_payment and archetype in (_LATE, _NONPAY):
        return 0
    per_thousand = float(shape.archetypes.get(ARCHETYPES[archetype], per_thousand))
    if per_thousand == 0:
        return 0
    return max(minimum, int(round(per_thousand * n / 1000)))


def _within(shares: tuple[float, ...], shape: WorldShape) -> np.ndarray:
    """An archetype's segment probabilities restricted to the world's segments (all of
    the world's segments, in its proportions, when none of its usual ones is present)."""
    present = np.array(shape.segment_shares) > 0
    if present.all():
        return np.asarray(shares)
    restricted = np.asarray(shares) * present
    if restricted.sum() == 0:
        restricted = np.array(shape.segment_shares)
    return restricted / restricted.sum()


def _plan_customers(spec: DemoSpec, tl: _Timeline, rng: np.random.Generator, shape_rng: np.random.Generator) -> _Customers:
    n, shape = spec.n_customers, spec.shape
    target = np.round(np.array(shape.segment_shares) * n).astype(int)
    # The rounding remainder goes to the largest segment (ties: the smaller accounts).
    largest = _SMALL - int(np.argmax(np.array(shape.segment_shares)[::-1]))
    target[largest] = n - target.sum() + target[largest]
    segs: list[np.ndarray] = []
    behs: list[np.ndarray] = []
    lefts: list[np.ndarray] = []
    for archetype, (per_thousand, minimum, shares) in _PLAN.items():
        count = _planted_count(shape, archetype, per_thousand, minimum, n)
        segs.append(rng.choice(3, size=count, p=_within(shares, shape)))
        behs.append(np.full(count, archetype))
        lefts.append(np.zeros(count, bool))
    n_left = _planted_count(shape, _LEFT, *_LEFT_PLAN, n)
    n_left_bad = int(np.ceil(_LEFT_BAD_SHARE * n_left))
    bad_cycle = [b for b in _LEFT_BAD_CYCLE if not (shape.on_time_payment and b == _NONPAY)]
    left_beh = np.array(
        [bad_cycle[i % len(bad_cycle)] for i in range(n_left_bad)] + [_ORD] * (n_left - n_left_bad), dtype=np.int64
    )
    left_seg = np.array(
        [rng.choice(3, p=_within(_PLAN[b][2] if b != _ORD else shape.segment_shares, shape)) for b in left_beh],
        dtype=np.int64,
    )
    segs.append(left_seg)
    behs.append(left_beh)
    lefts.append(np.ones(n_left, bool))
    seg = np.concatenate(segs)
    used = np.bincount(seg, minlength=3)
    remaining = target - used
    present = target > 0
    if (remaining[present] < 3).any() or (remaining < 0).any():
        raise DemoError(f"n_customers: {n} is too small to plant every archetype with ordinary peers in each segment")
    seg = np.concatenate([seg, np.repeat(np.arange(3), remaining)])
    beh = np.concatenate(behs + [np.full(remaining.sum(), _ORD)])
    left = np.concatenate(lefts + [np.zeros(remaining.sum(), bool)])
    order = rng.permutation(n)
    seg, beh, left = seg[order], beh[order], left[order]

    # created_on: before the window (long-standing accounts) or arriving during it.
    span = tl.end - tl.start + 1
    pre_share = np.array([0.9, 0.75, 0.6])[seg]
    pre = rng.random(n) < pre_share
    created = np.where(
        pre,
        tl.start - rng.integers(30, 365 * 8, n),
        tl.start + (rng.random(n) * (span - 14)).astype(np.int64),
    )
    # Planted archetypes need enough history: chronic ones and we_caused are either
    # long-standing or arrive at the start of a quarter at least 6 quarters before the end.
    planted_old = np.isin(beh, [*_CHRONIC, _WECAUSED]) & ~left
    newcomer = planted_old & (rng.random(n) < 0.2)
    q_new = rng.integers(0, max(1, tl.last - 4), n)
    created = np.where(planted_old, tl.start - rng.integers(30, 365 * 8, n), created)
    created = np.where(newcomer, tl.qstart[q_new] + rng.integers(0, 11, n), created)
    created = np.where(np.isin(beh, [_PLE, _ONEBAD]) | left, tl.start - rng.integers(30, 365 * 8, n), created)
    growing = beh == _GROWING
    q_grow = np.clip(tl.last - rng.integers(2, 8, n), 0, None)  # 2..7 quarters before L
    grow_day = np.minimum(tl.qstart[q_grow] + rng.integers(0, 46, n), tl.qend[q_grow])
    created = np.where(growing, grow_day, created)

    # ended_on (already_left): 2..5 quarters before the latest complete quarter's end,
    # at least 40 days into its quarter so the last quarter has real activity.
    q_end = np.clip(tl.last - rng.integers(2, 6, n), 0, None)
    room = np.maximum(tl.qend[q_end] - tl.qstart[q_end] - 39, 1)
    end_day = tl.qstart[q_end] + 40 + (rng.random(n) * room).astype(np.int64)
    ended = np.where(left, np.minimum(end_day, tl.end), -1)
    act_start = np.maximum(created, tl.start)
    act_end = np.where(left, ended - 10, tl.end)

    # Silent churn: some ordinary customers stop ordering, without an ended_on.
    churned = (beh == _ORD) & ~left & (rng.random(n) < shape.silent_churn)
    lo, hi = act_start + 90, tl.end - 30
    churned &= lo < hi
    churn_day = lo + (rng.random(n) * np.maximum(hi - lo, 1)).astype(np.int64)
    act_end = np.where(churned, churn_day, act_end)
    # One-time buyers (drawn from the shape's own stream, so the default world is unchanged).
    single = np.zeros(n, bool)
    if shape.single_order_share > 0:
        single = (beh == _ORD) & ~left & ~churned & (shape_rng.random(n) < shape.single_order_share)
        act_end = np.where(single, np.minimum(act_start + 45, tl.end), act_end)  # gone after the one order
    return _Customers(
        seg, beh, left, created.astype(np.int64), ended.astype(np.int64), act_start, act_end, churned, single
    )



def _params(cu: _Customers, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per-customer behaviour parameters: segment defaults, then archetype overrides."""
    seg, beh = cu.seg, cu.beh
    n = seg.size

    def by_seg(ent: float, mid: float, small: float) -> np.ndarray:
        return np.array([ent, mid, small], dtype=float)[seg]

    p: dict[str, np.ndarray] = {}
    p["ord_rate"] = by_seg(8.0, 2.5, 1.0) * rng.lognormal(0.0, 0.5, n)  # orders per month
    p["growth"] = rng.uniform(0.97, 1.04, n)  # per quarter
    p["lines_mean"] = by_seg(14, 7, 4)
    p["line_value"] = by_seg(250, 150, 90) * rng.lognormal(0.0, 0.6, n)  # per line, currency units
    p["p_disc"] = rng.uniform(0.3, 0.7, n)
    p["disc"] = by_seg(0.08, 0.06, 0.03) * rng.uniform(0.5, 1.5, n)
    p["cogs"] = by_seg(0.68, 0.70, 0.72) + rng.uniform(-0.04, 0.04, n)  # share of list price
    p["p_rush"] = rng.uniform(0.02, 0.10, n)
    p["p_manual"] = by_seg(0.06, 0.12, 0.20) * rng.uniform(0.5, 1.5, n)
    p["p_return"] = rng.uniform(0.02, 0.06, n)
    slow = (seg == _SMALL) & (rng.random(n) < 0.12)
    p["late_mean"] = np.select(
        [seg == _ENT, seg == _MID, slow],
        [rng.uniform(20, 35, n), rng.uniform(0, 12, n), rng.uniform(5, 15, n)],
        np.clip(rng.normal(0, 2, n), -5, 5),
    )
    p["late_sd"] = by_seg(4, 4, 3)
    p["late_lo"] = np.full(n, -10.0)
    p["late_hi"] = np.full(n, 90.0)
    p["p_never"] = by_seg(0.001, 0.003, 0.003)
    p["p_dispute"] = by_seg(0.02, 0.015, 0.01)
    p["t_normal"] = by_seg(4.0, 1.8, 0.9) * np.clip(np.sqrt(p["ord_rate"] / by_seg(8.0, 2.5, 1.0)), 0.4, 2.5)
    p["t_hog"] = np.zeros(n)
    p["t_ours"] = np.zeros(n)
    p["p_caused"] = np.full(n, 0.15)
    p["min_orders"] = np.where(beh == _ORD, 0, 1)
    p["rush_lines"] = np.zeros(n, bool)
    inc_rate = np.zeros((n, len(INCIDENT_KINDS)))
    inc_rate[:, [_PRICE, _DEMAND, _WITHHELD, _AVOID]] = [0.006, 0.004, 0.003, 0.002]
    inc_min = np.zeros((n, len(INCIDENT_KINDS)), dtype=np.int64)
    sev_lo = np.ones((n, len(INCIDENT_KINDS)), dtype=np.int64)
    sev_hi = np.ones((n, len(INCIDENT_KINDS)), dtype=np.int64)

    def at(code: int) -> np.ndarray:
        return beh == code

    m = at(_HOG)
    small = seg == _SMALL
    p["ord_rate"][m] *= np.where(small, 0.8, 0.5)[m]
    p["line_value"][m] *= np.where(small, 0.7, 0.6)[m]
    p["t_hog"][m] = np.where(small, rng.uniform(7, 11, n), rng.uniform(12, 18, n))[m]
    p["p_caused"][m] = 0.05

    m = at(_RUSH)
    p["ord_rate"][m] = rng.uniform(4, 7, n)[m]
    p["rush_lines"][m] = True
    p["line_value"][m] = 45 * rng.lognormal(0.0, 0.25, n)[m]
    p["p_rush"][m] = rng.uniform(0.72, 0.88, n)[m]
    p["p_manual"][m] = rng.uniform(0.60, 0.85, n)[m]
    p["min_orders"][m] = 6

    m = at(_PRICER)
    p["p_disc"][m] = 1.0
    p["disc"][m] = rng.uniform(0.18, 0.25, n)[m]
    p["cogs"][m] = ((1 - p["disc"]) * rng.uniform(0.90, 0.95, n))[m]  # gross margin 5-10%
    p["min_orders"][m] = 2
    inc_rate[m, _PRICE], inc_min[m, _PRICE], sev_hi[m, _PRICE] = 0.8, 1, 2
    inc_rate[m, _DEMAND], inc_min[m, _DEMAND], sev_hi[m, _DEMAND] = 0.5, 1, 2
    inc_rate[m, _WITHHELD], sev_hi[m, _WITHHELD] = 0.4, 2

    m = at(_LATE)
    p["late_mean"][m] = rng.uniform(45, 65, n)[m]
    p["late_sd"][m], p["late_lo"][m], p["late_hi"][m] = 6, 40, 70
    p["p_never"][m], p["p_dispute"][m] = 0.0, 0.0  # late, but pays every invoice: lateness is its only fault

    m = at(_NONPAY)
    p["ord_rate"][m] = np.maximum(p["ord_rate"][m], 1.5)
    p["p_never"][m] = rng.uniform(0.35, 0.55, n)[m]
    p["late_mean"][m] = rng.uniform(35, 60, n)[m]
    p["late_sd"][m], p["late_lo"][m] = 8, 20
    p["p_dispute"][m] = 0.08
    p["min_orders"][m] = 2
    inc_rate[m, _BREACH], sev_lo[m, _BREACH], sev_hi[m, _BREACH] = 0.15, 2, 2
    inc_rate[m, _WITHHELD] = 0.2

    m = at(_ABUSIVE)
    p["t_normal"][m] *= 1.5
    p["p_caused"][m] = 0.10
    for kind, rate in ((_ABUSE, 0.5), (_AVOID, 0.3)):
        inc_rate[m, kind], inc_min[m, kind], sev_lo[m, kind], sev_hi[m, kind] = rate, 1, 2, 3

    m = at(_PLE)
    p["ord_rate"][m] = rng.uniform(10, 16, n)[m]
    p["line_value"][m] = 250 * rng.uniform(1.5, 3.0, n)[m]
    p["lines_mean"][m] = 16
    p["cogs"][m] = rng.uniform(0.55, 0.62, n)[m]
    p["disc"][m] = rng.uniform(0.02, 0.05, n)[m]
    p["late_mean"][m] = rng.uniform(30, 40, n)[m]
    p["late_sd"][m], p["late_lo"][m], p["late_hi"][m] = 3, 28, 45
    p["p_never"][m] = 0.0
    p["min_orders"][m] = 3

    m = at(_GROWING)
    p["ord_rate"][m] = 0.25 * rng.uniform(0.8, 1.2, n)[m]
    p["growth"][m] = rng.uniform(1.50, 1.65, n)[m]
    p["cogs"][m] = rng.uniform(0.64, 0.70, n)[m]
    p["late_mean"][m] = rng.uniform(-3, 1, n)[m]
    p["late_sd"][m], p["late_hi"][m] = 2, 5
    p["p_never"][m], p["p_dispute"][m] = 0.0, 0.005
    p["p_rush"][m] = rng.uniform(0.02, 0.06, n)[m]

    m = at(_WECAUSED)
    p["ord_rate"][m] = np.maximum(p["ord_rate"][m], 1.5)
    p["p_caused"][m] = 0.92
    p["t_ours"][m] = rng.uniform(5, 9, n)[m]
    p["p_dispute"][m] = rng.uniform(0.15, 0.25, n)[m]
    p["min_orders"][m] = 2
    inc_rate[m] = 0.0

    m = at(_ONEBAD)
    p["t_normal"][m] = np.minimum(p["t_normal"][m], 1.0)
    p["late_mean"][m & small] = np.clip(rng.normal(0, 2, n), -5, 5)[m & small]
    inc_rate[m] = 0.0

    # The late payer and the one-bad-quarter customer must be plainly profitable outside
    # their planted fault, so that the fault is all the review can find: at least the
    # segment's usual order rate and 1.2 times its usual line value.
    m = at(_LATE) | at(_ONEBAD)
    p["ord_rate"][m] = np.maximum(p["ord_rate"], by_seg(8.0, 2.5, 1.0))[m]
    p["line_value"][m] = np.maximum(p["line_value"], 1.2 * by_seg(250, 150, 90))[m]
    p["p_return"][m] = 0.0  # a large return can make any small account's quarter a loss
    p["p_never"][at(_WECAUSED)] = 0.0  # its trouble is ours: it pays what it owes

    p["inc_rate"], p["inc_min"], p["sev_lo"], p["sev_hi"] = inc_rate, inc_min, sev_lo, sev_hi
    return p


def _shaped(p: dict[str, np.ndarray], cu: _Customers, shape: WorldShape, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The behaviour parameters after the world's shape: on-time payment, a whale."""
    if shape.on_time_payment:
        n = cu.seg.size
        p["late_lo"], p["late_hi"] = np.full(n, -10.0), np.zeros(n)
        p["late_mean"] = np.minimum(p["late_mean"], -1.0)
        p["p_never"], p["p_dispute"] = np.zeros(n), np.zeros(n)
    if shape.whale_revenue_share > 0:
        # Expected revenue per customer over its active days; the whale's line value is
        # scaled so that it holds the share of the total.
        days = np.maximum(cu.act_end - cu.act_start + 1, 0)
        revenue = p["ord_rate"] * p["lines_mean"] * p["line_value"] * days / 30.4
        candidates = np.flatnonzero((cu.beh == _ORD) & ~cu.left & ~cu.churned & ~cu.single)
        largest = candidates[cu.seg[candidates] == cu.seg[candidates].min()]  # the largest accounts present
        whale = int(rng.choice(largest))
        others = revenue.sum() - revenue[whale]
        share = shape.whale_revenue_share
        p["line_value"][whale] *= share / (1 - share) * others / revenue[whale]
    return p


# --------------------------------------------------------------------------- events


def _orders(cu: _Customers, p: dict, tl: _Timeline, rng: np.random.Generator) -> dict[str, np.ndarray]:
    n = cu.seg.size
    first, last, days = _overlap(cu.act_start, cu.act_end, tl.mstart, tl.mend)
    mid_month = (tl.mstart + tl.mend) / 2
    quarters_in = (mid_month[None, :] - cu.act_start[:, None]) / 91.3
    growth = np.power(p["growth"][:, None], np.clip(quarters_in, 0, None))
    lam = p["ord_rate"][:, None] * _SEASON[tl.mcal][None, :] * growth * days / tl.mlen[None, :]
    counts = rng.poisson(lam)
    # growing_small: steady growth, not Poisson noise (randomised rounding of the rate)
    steady = cu.beh == _GROWING
    counts[steady] = np.floor(lam[steady] + rng.random(lam[steady].shape)).astype(counts.dtype)
    # One-time buyers: one order, in their first active month.
    counts[cu.single] = 0
    buyers = np.flatnonzero(cu.single)
    counts[buyers, np.argmax(days[buyers] > 0, axis=1)] = 1

    # Planted customers get a minimum number of orders in every (near) full quarter.
    q_first, q_last, q_days = _overlap(cu.act_start, cu.act_end, tl.qstart, tl.qend)
    starts = np.searchsorted(tl.mq, np.arange(tl.n_q))
    q_counts = np.add.reduceat(counts, starts, axis=1)
    deficit = np.where(q_days >= _FULL_QUARTER_DAYS, np.clip(p["min_orders"][:, None] - q_counts, 0, None), 0)
    for q in range(tl.n_q):
        months = np.flatnonzero(tl.mq == q)
        best = months[np.argmax(days[:, months], axis=1)]
        counts[np.arange(n), best] += deficit[:, q]

    cell, day = _expand(counts, first, last, rng)
    cust = cell // tl.mstart.size
    # Few orders at weekends: Saturday -> Friday, Sunday -> Monday (within the active range).
    dow = (day + 3) % 7
    shift = np.where(dow == 5, -1, np.where(dow == 6, 1, 0)) * (rng.random(day.size) < 0.9)
    day = np.clip(day + shift, first.ravel()[cell], last.ravel()[cell])
    order = np.lexsort((rng.random(day.size), cust, day))
    cust, day = cust[order], day[order]
    k = day.size

    rush_lines = p["rush_lines"][cust]
    mean_extra = np.maximum(p["lines_mean"][cust] - 1, 0.1)
    lines = np.where(
        rush_lines, 1 + (rng.random(k) < 0.35), 1 + rng.negative_binomial(2, 2 / (2 + mean_extra))
    ).astype(np.int64)
    lines = np.minimum(lines, 250)
    list_cents = np.round(lines * p["line_value"][cust] * rng.lognormal(0.0, 0.3, k) * 100).astype(np.int64)
    list_cents = np.maximum(list_cents, 800)
    always = p["p_disc"][cust] >= 1  # price pressurers get their discount on every order
    spread = np.where(always, rng.uniform(0.9, 1.1, k), rng.uniform(0.5, 1.5, k))
    disc_frac = np.where(rng.random(k) < p["p_disc"][cust], np.clip(p["disc"][cust] * spread, 0, 0.6), 0.0)
    discount = np.round(list_cents * disc_frac).astype(np.int64)
    revenue = list_cents - discount
    cogs = np.round(list_cents * p["cogs"][cust] * rng.lognormal(0.0, 0.03, k)).astype(np.int64)
    rush = rng.random(k) < p["p_rush"][cust]
    manual = rng.random(k) < np.clip(p["p_manual"][cust], 0, 0.95)
    returned = np.where(
        rng.random(k) < p["p_return"][cust], np.floor(revenue * rng.uniform(0.05, 1.0, k)), 0
    ).astype(np.int64)
    return dict(
        cust=cust, day=day, revenue=revenue, cogs=cogs, discount=discount, lines=lines,
        rush=rush, manual=manual, returned=returned,
    )  # fmt: skip


def _invoices(cu: _Customers, p: dict, od: dict, tl: _Timeline, rng: np.random.Generator) -> dict[str, np.ndarray]:
    cust, issue, amount = od["cust"], od["day"], od["revenue"]
    k = cust.size
    due = issue + _DUE_DAYS
    disputed = rng.random(k) < p["p_dispute"][cust]
    late = p["late_mean"][cust] + rng.normal(0, 1, k) * p["late_sd"][cust]
    late = late + disputed * rng.integers(15, 46, k)
    late = np.rint(np.clip(late, p["late_lo"][cust], p["late_hi"][cust])).astype(np.int64)
    paid = np.maximum(due + late, issue)
    left = cu.left[cust]
    paid = np.where(left, np.minimum(paid, cu.ended[cust]), paid)

    never = rng.random(k) < p["p_never"][cust]
    # A non-payer leaves at least one invoice unpaid in every quarter.
    sel = np.flatnonzero(cu.beh[cust] == _NONPAY)
    if sel.size:
        q = _quarter_id(issue[sel]) - _quarter_id(np.array([tl.start]))[0]
        keys = cust[sel] * tl.n_q + q
        has = np.zeros(cu.seg.size * tl.n_q, bool)
        has[keys[never[sel]]] = True
        uniq, first_pos = np.unique(keys, return_index=True)
        never[sel[first_pos[~has[uniq]]]] = True

    partial = np.where(rng.random(k) < 0.25, np.round(amount * rng.uniform(0.1, 0.5, k)), 0).astype(np.int64)
    written = never & ((due + _WRITE_OFF_AFTER <= tl.end) | left)
    settled = ~never & (paid <= tl.end)
    open_partial = np.where(rng.random(k) < 0.1, np.round(amount * rng.uniform(0.2, 0.7, k)), 0).astype(np.int64)
    paid_amount = np.where(settled, amount, np.where(never, partial, open_partial))
    written_off = np.where(written, amount - paid_amount, 0)
    paid_day = np.where(settled, paid, -1)
    return dict(
        cust=cust, issue=issue, due=due, amount=amount, paid=paid_day, paid_amount=paid_amount,
        disputed=disputed, written_off=written_off,
    )  # fmt: skip


def _choose(mix: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Category index per event; ``mix`` is one probability row, or one row per event."""
    cumulative = np.cumsum(mix, axis=-1)
    if cumulative.ndim == 1:
        cumulative = cumulative[None, :]
    return np.minimum((rng.random(size)[:, None] > cumulative).sum(axis=1), mix.shape[-1] - 1)


def _minutes(channel: np.ndarray, ranges: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    lo, hi = ranges[channel, 0], ranges[channel, 1]
    return lo + (rng.random(channel.size) * (hi - lo + 1)).astype(np.int64)


def _tickets(cu: _Customers, p: dict, inv: dict, tl: _Timeline, rng: np.random.Generator) -> dict[str, np.ndarray]:
    n_q = tl.n_q
    first, last, days = _overlap(cu.act_start, cu.act_end, tl.qstart, tl.qend)
    frac = days / tl.qlen[None, :]
    full = days >= _FULL_QUARTER_DAYS
    parts = []

    # normal stream: everyday questions, ~15% caused by us
    counts = rng.poisson(p["t_normal"][:, None] * frac)
    cell, day = _expand(counts, first, last, rng)
    cust = cell // n_q
    mix = _CHANNEL_MIX_NORMAL[cu.seg[cust]]
    mix[cu.beh[cust] == _ONEBAD] = _CHANNEL_MIX_QUIET  # its ordinary quarters stay quiet
    channel = _choose(mix, cust.size, rng)
    minutes = _minutes(channel, _MINUTES_NORMAL, rng)
    caused = rng.random(cust.size) < p["p_caused"][cust]
    escalated = rng.random(cust.size) < 0.04 + 0.08 * caused
    parts.append((cust, day, minutes, channel, caused, escalated))

    # hog stream: long phone/onsite tickets that are not our fault
    hog_lam = p["t_hog"][:, None] * frac
    hog_min = np.where(full & (cu.beh == _HOG)[:, None], 4, 0)
    onebad = np.flatnonzero(cu.beh == _ONEBAD)
    bad_q = _one_bad_quarter(tl)
    hog_lam[onebad, bad_q] = rng.uniform(10, 14, onebad.size)
    hog_min[onebad, bad_q] = 9
    counts = np.maximum(rng.poisson(hog_lam), hog_min)
    cell, day = _expand(counts, first, last, rng)
    cust = cell // n_q
    channel = _choose(_CHANNEL_MIX_HOG, cust.size, rng)
    minutes = _minutes(channel, _MINUTES_HOG, rng)
    caused = rng.random(cust.size) < 0.05
    escalated = rng.random(cust.size) < 0.15
    parts.append((cust, day, minutes, channel, caused, escalated))

    # ours stream: our errors (wrong deliveries, billing mistakes) for we_caused
    counts = np.maximum(rng.poisson(p["t_ours"][:, None] * frac), np.where(full & (p["t_ours"] > 0)[:, None], 3, 0))
    cell, day = _expand(counts, first, last, rng)
    cust = cell // n_q
    channel = _choose(_CHANNEL_MIX_OURS, cust.size, rng)
    minutes = _minutes(channel, _MINUTES_NORMAL, rng)
    parts.append((cust, day, minutes, channel, np.ones(cust.size, bool), rng.random(cust.size) < 0.2))

    # a ticket for each disputed invoice of a we_caused customer: the invoice was wrong
    sel = np.flatnonzero(inv["disputed"] & (cu.beh[inv["cust"]] == _WECAUSED))
    cust = inv["cust"][sel]
    day = np.minimum(inv["issue"][sel] + rng.integers(1, 15, sel.size), cu.act_end[cust])
    channel = np.where(rng.random(sel.size) < 0.6, 1, 0)
    minutes = _minutes(channel, _MINUTES_NORMAL, rng)
    parts.append((cust, day, minutes, channel, np.ones(sel.size, bool), rng.random(sel.size) < 0.2))

    # onboarding: a growing account needs help in its second and third quarters, as it
    # takes up more of the range (set-up, training): 3-5 remote tickets a quarter that
    # are nobody's fault
    growing = np.flatnonzero(cu.beh == _GROWING)
    if growing.size:
        onboarding_q = np.searchsorted(tl.qend, cu.act_start[growing])  # the quarter the account opens in
        counts = np.zeros((cu.seg.size, n_q), dtype=np.int64)
        for offset in (1, 2):
            q = np.minimum(onboarding_q + offset, n_q - 1)
            counts[growing, q] = rng.integers(3, 6, growing.size) * full[growing, q]
        cell, day = _expand(counts, first, last, rng)
        cust = cell // n_q
        channel = _choose(_CHANNEL_MIX_QUIET, cust.size, rng)
        minutes = _minutes(channel, _MINUTES_NORMAL, rng)
        parts.append((cust, day, minutes, channel, np.zeros(cust.size, bool), np.zeros(cust.size, bool)))

    cust, day, minutes, channel, caused, escalated = (np.concatenate(x) for x in zip(*parts))
    order = np.lexsort((rng.random(day.size), cust, day))
    return dict(
        cust=cust[order], day=day[order], minutes=minutes[order], channel=channel[order],
        caused=caused[order], escalated=escalated[order],
    )  # fmt: skip


def _incidents(cu: _Customers, p: dict, tl: _Timeline, rng: np.random.Generator) -> dict[str, np.ndarray]:
    n_q, n_k = tl.n_q, len(INCIDENT_KINDS)
    first, last, days = _overlap(cu.act_start, cu.act_end, tl.qstart, tl.qend)
    frac = days / tl.qlen[None, :]
    full = days >= _FULL_QUARTER_DAYS
    lam = p["inc_rate"][:, None, :] * frac[:, :, None]
    counts = rng.poisson(lam) + np.where(full[:, :, None], p["inc_min"][:, None, :], 0)
    onebad = np.flatnonzero(cu.beh == _ONEBAD)
    counts[onebad, _one_bad_quarter(tl), _ABUSE] += 1
    first3 = np.repeat(first[:, :, None], n_k, axis=2)
    last3 = np.repeat(last[:, :, None], n_k, axis=2)
    cell, day = _expand(counts, first3, last3, rng)
    cust, kind = cell // (n_q * n_k), cell % n_k
    lo, hi = p["sev_lo"][cust, kind], p["sev_hi"][cust, kind]
    severity = lo + (rng.random(cell.size) * (hi - lo + 1)).astype(np.int64)
    severity = np.where((cu.beh[cust] == _ONEBAD) & (kind == _ABUSE), 3, severity)
    order = np.lexsort((rng.random(day.size), cust, day))
    cust, day, kind, severity = cust[order], day[order], kind[order], severity[order]
    notes = np.empty(cust.size, dtype=object)
    has_note = rng.random(cust.size) < 0.75
    pick = rng.integers(0, 1 << 30, cust.size)
    for k_index, texts in _NOTES.items():
        rows = np.flatnonzero((kind == k_index) & has_note)
        notes[rows] = np.array(texts, dtype=object)[pick[rows] % len(texts)]
    return dict(cust=cust, day=day, kind=kind, severity=severity, note=notes)


# --------------------------------------------------------------------------- assembly


def _ids(prefix: str, count: int, width: int) -> np.ndarray:
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, count + 1)], dtype=object)


def _dates(days: np.ndarray) -> pd.Series:
    values = np.asarray(days, dtype=np.int64)
    stamped = values.astype("datetime64[D]").astype("datetime64[s]")
    return pd.Series(np.where(values < 0, np.datetime64("NaT", "s"), stamped), dtype="datetime64[s]")


def _money(cents: np.ndarray) -> np.ndarray:
    return np.asarray(cents, dtype=np.int64) / 100.0


def _company_names(n: int, rng: np.random.Generator) -> np.ndarray:
    pattern = rng.choice(4, size=n, p=[0.6, 0.27, 0.1, 0.03])
    a, b, t, s = (rng.integers(0, 1 << 30, n) for _ in range(4))
    names = []
    for i in range(n):
        trade, suffix = _NAME_TRADE[t[i] % len(_NAME_TRADE)], _NAME_SUFFIX[s[i] % len(_NAME_SUFFIX)]
        if pattern[i] == 0:
            base = f"{_NAME_PREFIX[a[i] % len(_NAME_PREFIX)]} {trade}"
        elif pattern[i] == 1:
            base = f"{_NAME_SURNAME[a[i] % len(_NAME_SURNAME)]} {trade}"
        elif pattern[i] == 2:
            first = _NAME_SURNAME[a[i] % len(_NAME_SURNAME)]
            second = _NAME_SURNAME[(a[i] // 7 + 1 + a[i]) % len(_NAME_SURNAME)]
            base = f"{first} & {second} {trade}" if first != second else f"{first} {trade}"
        else:
            names.append(_ODD_NAMES[a[i] % len(_ODD_NAMES)])
            continue
        names.append(f"{base} {suffix}".strip())
    return np.array(names, dtype=object)


def _customer_table(cu: _Customers, ids: np.ndarray, names: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    n = cu.seg.size
    region = np.array(_REGIONS, dtype=object)[rng.integers(0, len(_REGIONS), n)]
    region[rng.random(n) < 0.08] = None
    manager = np.array(_MANAGERS, dtype=object)[rng.integers(0, len(_MANAGERS), n)]
    manager[rng.random(n) >= np.array([1.0, 0.9, 0.5])[cu.seg]] = None
    lo = np.array([1000, 50, 1], dtype=float)[cu.seg]
    hi = np.array([60000, 999, 49], dtype=float)[cu.seg]
    employees = np.floor(np.exp(np.log(lo) + rng.random(n) * (np.log(hi + 1) - np.log(lo)))).astype(np.int64)
    employees = pd.array(np.minimum(employees, hi.astype(np.int64)), dtype="Int64")
    employees[rng.random(n) < 0.06] = pd.NA
    order = np.argsort(ids)
    frame = pd.DataFrame(
        {
            "customer_id": ids,
            "name": names,
            "segment": np.array(SEGMENTS, dtype=object)[cu.seg],
            "region": region,
            "account_manager": manager,
            "created_on": _dates(cu.created),
            "employees": employees,
            "ended_on": _dates(cu.ended),
        }
    )
    return frame.iloc[order].reset_index(drop=True)


def _visible(shape: WorldShape) -> dict[int, bool]:
    """Whether each planted behaviour leaves a trace in the tables the world has.

    A support hog shows only in the tickets and an abusive customer only in the
    incidents; the one bad quarter shows in either. A price pressurer without incidents
    has only its thin margin, which may or may not be a loss after cost to serve, so
    its verdict is not certain (see ``detectable`` in the truth).
    """
    tickets, incidents = "support_tickets" in shape.optional_tables, "incidents" in shape.optional_tables
    return {_HOG: tickets, _ABUSIVE: incidents, _ONEBAD: tickets or incidents, _PRICER: True}


def _truth(cu: _Customers, ids: np.ndarray, hostile: np.ndarray, tl: _Timeline, shape: WorldShape) -> pd.DataFrame:
    _, _, q_days = _overlap(cu.act_start, cu.act_end, tl.qstart, tl.qend)
    visible = _visible(shape)
    chronic = np.isin(cu.beh, [b for b in _CHRONIC if visible.get(b, True)])
    bad = np.where(chronic[:, None], q_days >= _FULL_QUARTER_DAYS, False)  # every quarter of real activity
    bad[cu.beh == _ONEBAD, _one_bad_quarter(tl)] = visible[_ONEBAD]
    labels = np.array(tl.labels, dtype=object)
    bad_quarters = [";".join(labels[row]) for row in bad]
    window = slice(max(tl.last - 3, 0), tl.last + 1)
    strikes = bad[:, window].sum(axis=1)
    # Three strikes (the latest quarter failing) are let go, two a final notice, one watch.
    # Late payment alone is repaired, never fired: at most a final notice.
    by_strikes = np.select([strikes >= 3, strikes == 2, strikes == 1], ["let_go", "final_notice", "watch"], "healthy")
    by_strikes = np.where(bad[:, tl.last] | (strikes < 3), by_strikes, "final_notice")
    by_strikes = np.where((cu.beh == _LATE) & (by_strikes == "let_go"), "final_notice", by_strikes)
    status = np.where(cu.left, "inactive", by_strikes).astype(object)
    # Where the data cannot show the planted behaviour plainly, the verdict is not certain:
    # a price pressurer without incidents has only its thin margin; a support hog planted
    # among enterprise accounts has an enterprise's margin to carry its support; a late
    # payer seen for under four quarters has few invoices yet due and paid.
    uncertain = (cu.beh == _PRICER) & ("incidents" not in shape.optional_tables)
    uncertain |= (cu.beh == _HOG) & (cu.seg == _ENT)
    uncertain |= (cu.beh == _LATE) & (tl.last < 3)
    uncertain |= (cu.beh == _ONEBAD) & ("incidents" not in shape.optional_tables)  # a burst of tickets alone may not stand out
    detectable = ~(uncertain & ~cu.left)
    archetype = np.where(cu.left, _LEFT, cu.beh)
    frame = pd.DataFrame(
        {
            "customer_id": ids,
            "archetype": np.array(ARCHETYPES, dtype=object)[archetype],
            "segment": np.array(SEGMENTS, dtype=object)[cu.seg],
            "bad_quarters": np.array(bad_quarters, dtype=object),
            "expected_status": status,
            "flagged_expected": np.isin(status, ["let_go", "final_notice", "watch"]),
            "expected_strikes": strikes.astype(np.int64),
            "behaviour": np.array(ARCHETYPES, dtype=object)[cu.beh],
            "silent_churn": cu.churned,
            "hostile_name": hostile,
            "detectable": detectable,
            "single_order": cu.single,
        }
    )
    return frame.sort_values("customer_id").reset_index(drop=True)


def _one_bad_quarter(tl: _Timeline) -> int:
    """The quarter of the one bad quarter: L-2, or the first when the history is shorter."""
    return max(tl.last - 2, 0)


def _hostile_customers(cu: _Customers, rng: np.random.Generator) -> np.ndarray:
    """Which customers get a hostile name: one of several archetypes, plus a random few."""
    n = cu.seg.size
    chosen = np.zeros(n, bool)
    for code in (_HOG, _RUSH, _ABUSIVE, _NONPAY, _PRICER, _ONEBAD, _PLE, _WECAUSED, _ORD):
        pool = np.flatnonzero((cu.beh == code) & ~cu.left)
        if pool.size:
            chosen[rng.choice(pool)] = True
    extra = max(len(HOSTILE_TEXTS), n // 100) - int(chosen.sum())
    if extra > 0:
        chosen[rng.choice(np.flatnonzero(~chosen), size=extra, replace=False)] = True
    return chosen


def generate_world(spec: DemoSpec | None = None) -> DemoWorld:
    """Generate the demo world.

    Parameters
    ----------
    spec : DemoSpec, optional
        What to generate; the default is 2,000 customers over 3 years up to 2026-06-30.

    Returns
    -------
    DemoWorld
        The five contract tables and the ground truth.

    Notes
    -----
    Deterministic: every draw comes from generators spawned from ``spec.seed``, one per
    component, so e.g. ``hostile_names`` changes names and notes only.
    """
    spec = spec or DemoSpec()
    tl = _timeline(spec.end, spec.months)
    # The first nine streams are the demo world's; the shape's draws come from a tenth,
    # so the default shape gives exactly the demo world.
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(spec.seed).spawn(10)]
    r_plan, r_param, r_order, r_inv, r_tick, r_inc, r_names, r_attr, r_hostile, r_shape = streams

    cu = _plan_customers(spec, tl, r_plan, r_shape)
    p = _shaped(_params(cu, r_param), cu, spec.shape, r_shape)
    od = _orders(cu, p, tl, r_order)
    inv = _invoices(cu, p, od, tl, r_inv)
    tk = _tickets(cu, p, inv, tl, r_tick)
    ic = _incidents(cu, p, tl, r_inc)
    n = cu.seg.size

    # Customer numbers follow the order accounts were opened.
    rank = np.empty(n, dtype=np.int64)
    rank[np.lexsort((r_names.random(n), cu.created))] = np.arange(n)
    width = max(5, len(str(n)))
    ids = np.array([f"C{r + 1:0{width}d}" for r in rank], dtype=object)
    names = _company_names(n, r_names)
    hostile = np.zeros(n, bool)
    if spec.hostile_names:
        hostile = _hostile_customers(cu, r_hostile)
        where = np.flatnonzero(hostile)
        names[where] = np.array(HOSTILE_TEXTS, dtype=object)[np.arange(where.size) % len(HOSTILE_TEXTS)]
        notes = ic["note"]
        targets = hostile[ic["cust"]] | (r_hostile.random(notes.size) < 0.03)
        rows = np.flatnonzero(targets)
        notes[rows] = np.array(HOSTILE_TEXTS, dtype=object)[np.arange(rows.size) % len(HOSTILE_TEXTS)]

    customers = _customer_table(cu, ids, names, r_attr)
    k = od["cust"].size
    orders = pd.DataFrame(
        {
            "order_id": _ids("O", k, max(7, len(str(k)))),
            "customer_id": ids[od["cust"]],
            "order_date": _dates(od["day"]),
            "revenue": _money(od["revenue"]),
            "cost_of_goods": _money(od["cogs"]),
            "discount": _money(od["discount"]),
            "lines": od["lines"],
            "rush": od["rush"],
            "manual": od["manual"],
            "returned_value": _money(od["returned"]),
        }
    )
    invoices = pd.DataFrame(
        {
            "invoice_id": _ids("INV", k, max(7, len(str(k)))),
            "customer_id": ids[inv["cust"]],
            "issue_date": _dates(inv["issue"]),
            "due_date": _dates(inv["due"]),
            "amount": _money(inv["amount"]),
            "paid_date": _dates(inv["paid"]),
            "paid_amount": _money(inv["paid_amount"]),
            "disputed": inv["disputed"],
            "written_off": _money(inv["written_off"]),
        }
    )
    t = tk["cust"].size
    tickets = pd.DataFrame(
        {
            "ticket_id": _ids("T", t, max(6, len(str(t)))),
            "customer_id": ids[tk["cust"]],
            "opened_on": _dates(tk["day"]),
            "minutes": tk["minutes"].astype(np.int64),
            "channel": np.array(CHANNELS, dtype=object)[tk["channel"]],
            "caused_by_us": tk["caused"],
            "escalated": tk["escalated"],
        }
    )
    m = ic["cust"].size
    incidents = pd.DataFrame(
        {
            "incident_id": _ids("I", m, max(5, len(str(m)))),
            "customer_id": ids[ic["cust"]],
            "date": _dates(ic["day"]),
            "kind": np.array(INCIDENT_KINDS, dtype=object)[ic["kind"]],
            "severity": ic["severity"].astype(np.int64),
            "note": ic["note"],
        }
    )
    tables = {
        "customers": customers,
        "orders": orders,
        "invoices": invoices,
        "support_tickets": tickets,
        "incidents": incidents,
    }
    tables = {name: frame for name, frame in tables.items() if name in TABLE_NAMES[:3] or name in spec.shape.optional_tables}
    return DemoWorld(tables=tables, truth=_truth(cu, ids, hostile, tl, spec.shape), spec=spec)


# --------------------------------------------------------------------------- writing


def _column_as_text(column: pd.Series) -> pd.Series:
    """Cell text as written to CSV: ISO dates, true/false, two-decimal money, '' = missing."""
    missing = column.isna().to_numpy()
    if pd.api.types.is_datetime64_any_dtype(column):
        import pyarrow as pa

        days = pa.array(column.to_numpy(dtype="datetime64[D]"), type=pa.date32())
        text = pd.Series(days.cast(pa.string()).fill_null("").to_pandas(), dtype=str)
    elif pd.api.types.is_bool_dtype(column):
        text = pd.Series(np.where(column.fillna(False).to_numpy(dtype=bool), "true", "false"), dtype=str)
    elif pd.api.types.is_float_dtype(column):
        values = column.to_numpy(dtype=float, na_value=0.0)
        cents = np.rint(np.abs(values) * 100).astype(np.int64)
        text = pd.Series(cents // 100).astype(str) + "." + pd.Series(cents % 100).astype(str).str.zfill(2)
        negative = (values < 0) & (cents > 0)
        if negative.any():
            text = text.where(~negative, "-" + text)
    elif pd.api.types.is_integer_dtype(column):
        text = pd.Series(column.to_numpy(dtype=np.int64, na_value=0)).astype(str)
    else:
        text = pd.Series(column.to_numpy(dtype=object, na_value=""), dtype=object).map(str).astype(str)
    text = text.where(~missing, "")
    text.index = column.index
    return text


def tables_as_text(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The tables as the text their CSV cells hold.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        Typed tables (as in :attr:`DemoWorld.tables`) or tables already in text form.

    Returns
    -------
    dict of str to pandas.DataFrame
        Every cell a ``str``: dates ``YYYY-MM-DD``, booleans ``true``/``false``, money
        with two decimals, integers plain, and ``""`` for a missing value.
    """
    return {
        name: pd.DataFrame({column: _column_as_text(frame[column]) for column in frame.columns}, index=frame.index)
        for name, frame in tables.items()
    }


def _write_csv(frame: pd.DataFrame, target: Path) -> None:
    text = tables_as_text({"t": frame})["t"]
    with _atomic_write_path(target) as temporary:
        text.to_csv(temporary, index=False, encoding="utf-8", lineterminator="\n")


def _write_parquet(frame: pd.DataFrame, target: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = frame.reset_index(drop=True)
    text_columns = [
        c for c in frame.columns if pd.api.types.is_object_dtype(frame[c]) or pd.api.types.is_string_dtype(frame[c])
    ]
    if text_columns:  # an empty cell is a missing value, in Parquet a null
        frame = frame.copy()
        for column in text_columns:
            values = frame[column].astype(object)
            frame[column] = values.where(values.ne("") & values.notna(), None)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for position, schema_field in enumerate(table.schema):
        if pa.types.is_timestamp(schema_field.type):  # dates are dates, not timestamps
            table = table.set_column(position, schema_field.name, table.column(position).cast(pa.date32()))
    table = table.replace_schema_metadata(None)
    with _atomic_write_path(target) as temporary:
        pq.write_table(table, temporary)


def write_tables(tables: Mapping[str, pd.DataFrame], raw_dir: Path | str, fmt: str = "csv") -> dict[str, Path]:
    """Write each table to ``raw_dir/<name>.<fmt>``, each file atomically.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        Typed or text tables (text tables, e.g. from :func:`inject_violations`, are
        written as they are; in Parquet their columns are strings).
    raw_dir : path
        Folder for the files (created if missing). A file of the other format for the
        same table is removed, so the folder holds one file per table.
    fmt : {"csv", "parquet"}
        File format.

    Returns
    -------
    dict of str to pathlib.Path
        The written file of each table.
    """
    if fmt not in ("csv", "parquet"):
        raise DemoError(f"format: expected csv or parquet, got {fmt!r}")
    raw_dir = Path(raw_dir)
    raw_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name, frame in tables.items():
        target = raw_dir / f"{name}.{fmt}"
        if fmt == "csv":
            _write_csv(frame, target)
        else:
            _write_parquet(frame, target)
        other = raw_dir / f"{name}.{'parquet' if fmt == 'csv' else 'csv'}"
        other.unlink(missing_ok=True)
        written[name] = target
    return written


def _remove_absent_tables(tables: Mapping[str, pd.DataFrame], raw_dir: Path) -> None:
    """Remove the files of contract tables a world does not have, so that a folder
    written before with every table does not keep a stale one."""
    for name in TABLE_NAMES:
        if name not in tables:
            for fmt in ("csv", "parquet"):
                (raw_dir / f"{name}.{fmt}").unlink(missing_ok=True)


def write_truth(truth: pd.DataFrame, truth_path: Path | str) -> Path:
    """Write the ground truth: Parquet if ``truth_path`` ends in ``.parquet``, else CSV."""
    truth_path = Path(truth_path)
    if truth_path.suffix == ".parquet":
        _write_parquet(truth, truth_path)
    else:
        _write_csv(truth, truth_path)
    return truth_path


def write_world(world: DemoWorld, raw_dir: Path | str, truth_path: Path | str, fmt: str = "csv") -> dict[str, Path]:
    """Write the world's tables to ``raw_dir`` and its ground truth to ``truth_path``.

    Parameters
    ----------
    world : DemoWorld
        From :func:`generate_world` (its tables may be text tables, see
        :func:`inject_violations`).
    raw_dir : path
        Folder for ``customers``, ``orders``, ``invoices``, ``support_tickets`` and
        ``incidents`` (``.csv`` or ``.parquet``).
    truth_path : path
        File for the ground truth; must lie outside ``raw_dir`` so the answers never
        reach the model's input.
    fmt : {"csv", "parquet"}
        Format of the tables. CSV: UTF-8, header, ISO dates, ``true``/``false``,
        empty cell for missing.

    Returns
    -------
    dict of str to pathlib.Path
        Each table's file, and ``"truth"``.

    Raises
    ------
    DemoError
        When ``truth_path`` is inside ``raw_dir`` or ``fmt`` is unknown.
    """
    raw_dir, truth_path = Path(raw_dir), Path(truth_path)
    if truth_path.resolve().is_relative_to(raw_dir.resolve()):
        raise DemoError(f"truth: {truth_path} is inside the raw folder {raw_dir}; keep the answers outside it")
    written = write_tables(world.tables, raw_dir, fmt)
    _remove_absent_tables(world.tables, raw_dir)
    written["truth"] = write_truth(world.truth, truth_path)
    return written


# --------------------------------------------------------------------------- violations

VIOLATION_COLUMNS = ("table", "row", "id", "column", "rule")


def inject_violations(
    tables: Mapping[str, pd.DataFrame], seed: int = 0
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """A copy of clean tables with a known set of contract-breaking rows appended.

    Each bad row is a copy of a valid row (of a long-standing, still active customer,
    dated well inside its life) with one field broken, so it breaks exactly the rule it
    is labelled with (a row with negative revenue also has ``returned_value`` above
    ``revenue``; that follows from the one change).

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        Clean tables (typed, as from :func:`generate_world`, or text).
    seed : int
        Chooses which rows are copied.

    Returns
    -------
    tables : dict of str to pandas.DataFrame
        Text tables (see :func:`tables_as_text`; values like ``"yesterday"`` cannot live
        in typed columns): the original rows first, unchanged, then the bad rows.
    injected : pandas.DataFrame
        One row per bad row: ``table``, ``row`` (1 = first data row of the file, the
        contract's numbering), ``id`` (the row's key; ``""`` for the empty one),
        ``column`` (the broken field) and ``rule``.
    """
    rng = np.random.default_rng(seed)
    text = tables_as_text(tables)
    customers = text["customers"]
    created = pd.to_datetime(customers["created_on"], format="%Y-%m-%d")
    first_event = pd.to_datetime(text["orders"]["order_date"], format="%Y-%m-%d").min()
    long_standing = (created < first_event - pd.Timedelta(days=30)) & (customers["ended_on"] == "")
    veterans = set(customers.loc[long_standing, "customer_id"])

    def base_row(name: str, date_column: str | None, extra: pd.Series | None = None) -> pd.Series:
        frame = text[name]
        ok = frame["customer_id"].isin(veterans)
        if date_column is not None:
            dates = pd.to_datetime(frame[date_column], format="%Y-%m-%d")
            ok &= dates > first_event + pd.Timedelta(days=30)
        if extra is not None:
            ok &= extra
        candidates = np.flatnonzero(ok.to_numpy())
        if candidates.size == 0:
            raise DemoError(f"inject_violations: no clean {name} row to copy")
        return frame.iloc[int(rng.choice(candidates))].copy()

    def shift(day: str, days: int) -> str:
        return (date.fromisoformat(day) + timedelta(days=days)).isoformat()

    id_column = {"customers": "customer_id", "orders": "order_id", "invoices": "invoice_id",
                 "support_tickets": "ticket_id", "incidents": "incident_id"}  # fmt: skip
    prefix = {"customers": "CX", "orders": "OX", "invoices": "INVX", "support_tickets": "TX", "incidents": "IX"}
    added: dict[str, list[pd.Series]] = {name: [] for name in text}
    labels: list[dict[str, object]] = []

    def add(name: str, row: pd.Series, column: str, value: str, rule: str, *, keep_id: bool = False) -> None:
        row = row.copy()
        key = id_column[name]
        if not keep_id and not (name == "customers" and column == key):
            row[key] = f"{prefix[name]}{len(labels) + 1:04d}"
        row[column] = value
        added[name].append(row)
        row_number = len(text[name]) + len(added[name])
        labels.append({"table": name, "row": row_number, "id": row[key], "column": column, "rule": rule})

    invoices = text["invoices"]
    paid = invoices["paid_date"] != ""
    fully_paid = paid & (invoices["written_off"] == "0.00")

    add("customers", base_row("customers", None), "name", "", "empty_name")
    add("customers", base_row("customers", None), "customer_id", "", "empty_customer_id")

    add("orders", base_row("orders", "order_date"), "order_date", "2026-02-30", "invalid_date")
    add("orders", base_row("orders", "order_date"), "revenue", "-10.00", "negative_revenue")
    add("orders", base_row("orders", "order_date"), "customer_id", "C-UNKNOWN", "unknown_customer")
    row = base_row("orders", "order_date")
    row["revenue"] = f"{float(row['revenue']) + 1:.2f}"
    existing = text["orders"]["order_id"].iloc[int(rng.integers(len(text["orders"])))]
    add("orders", row, "order_id", existing, "duplicate_id", keep_id=True)
    row = base_row("orders", "order_date")
    add("orders", row, "returned_value", f"{float(row['revenue']) + 5:.2f}", "returned_exceeds_revenue")
    add("orders", base_row("orders", "order_date"), "lines", "0", "lines_below_one")
    add("orders", base_row("orders", "order_date"), "rush", "maybe", "invalid_boolean")

    row = base_row("invoices", "issue_date")
    row["amount"] = f"{float(row['amount']) + 1:.2f}"
    existing = invoices["invoice_id"].iloc[int(rng.integers(len(invoices)))]
    add("invoices", row, "invoice_id", existing, "duplicate_id", keep_id=True)
    row = base_row("invoices", "issue_date", paid)
    add("invoices", row, "paid_date", shift(row["issue_date"], -3), "paid_before_issue")
    row = base_row("invoices", "issue_date")
    add("invoices", row, "due_date", shift(row["issue_date"], -1), "due_before_issue")
    row = base_row("invoices", "issue_date", fully_paid)
    add("invoices", row, "paid_amount", f"{float(row['amount']) + 10:.2f}", "paid_exceeds_amount")

    add("support_tickets", base_row("support_tickets", "opened_on"), "opened_on", "yesterday", "invalid_date")
    add("support_tickets", base_row("support_tickets", "opened_on"), "minutes", "-15", "negative_minutes")
    add("support_tickets", base_row("support_tickets", "opened_on"), "channel", "fax", "unknown_channel")
    add("support_tickets", base_row("support_tickets", "opened_on"), "caused_by_us", "maybe", "invalid_boolean")

    add("incidents", base_row("incidents", "date"), "severity", "4", "severity_out_of_range")
    add("incidents", base_row("incidents", "date"), "kind", "rudeness", "unknown_kind")
    add("incidents", base_row("incidents", "date"), "customer_id", "C-NOBODY", "unknown_customer")

    result = {
        name: pd.concat([frame, pd.DataFrame(added[name], columns=frame.columns)], ignore_index=True)
        if added[name]
        else frame.reset_index(drop=True)
        for name, frame in text.items()
    }
    return result, pd.DataFrame(labels, columns=list(VIOLATION_COLUMNS))


def evaluate_against_truth(scorecard: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """Precision and recall of ``let_go`` against a demo world's planted ground truth."""
    merged = scorecard[["customer_id", "status"]].merge(truth[["customer_id", "expected_status"]], on="customer_id")
    predicted = merged["status"].astype(str) == "let_go"
    actual = merged["expected_status"] == "let_go"
    hits = int((predicted & actual).sum())
    return {
        "let_go_predicted": int(predicted.sum()),
        "let_go_planted": int(actual.sum()),
        "true_positives": hits,
        "precision": hits / predicted.sum() if predicted.sum() else float("nan"),
        "recall": hits / actual.sum() if actual.sum() else float("nan"),
    }

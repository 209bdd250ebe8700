"""The one configuration: currency, engine, model settings and every policy threshold.

A YAML file (default ``config/custvalue.yaml``) is read and validated against the
dataclasses below; a value left out keeps its default, an unknown key or a value of the
wrong type or range is a :class:`~custvalue.errors.ConfigError` naming the key. The
dataclasses are the single statement of what can be configured: each field's docstring
comment is its documentation (see ``docs/configuration.md``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from custvalue.contract import TABLES
from custvalue.drivers import DRIVER_OF_COLUMN, FINANCIAL_DRIVERS
from custvalue.errors import ConfigError


@dataclass(frozen=True)
class EngineSettings:
    backend: str = "duckdb"
    """Where validation and the heavy aggregation run: ``duckdb`` (embedded, reads the raw
    folder's files), ``postgres`` (a server; name its tables in ``tables``) or ``pyspark``
    (a Spark session; reads the raw folder's files, or the catalog tables named in ``tables``)."""
    database: str = ":memory:"
    """DuckDB database file, or ``:memory:``."""
    threads: int = 0
    """DuckDB worker threads; 0 lets DuckDB choose."""
    memory_limit: str = "3GB"
    """DuckDB memory limit, e.g. ``3GB``: beyond it DuckDB spills to the temporary folder. The models and the review work in pandas beside it (about 4 GB at 1M customers), so keep the two within RAM; empty = DuckDB's default, 80% of RAM."""
    url: str = ""
    """PostgreSQL connection, ``postgresql://user@host:5432/database``. Keep the password out of this file: libpq reads ``PGPASSWORD`` or ``~/.pgpass``."""
    spark_master: str = "local[2]"
    """Spark master URL: ``local[n]`` on this machine, or a cluster's (``spark://host:7077``, ``yarn``)."""
    spark_shuffle_partitions: int = 8
    """``spark.sql.shuffle.partitions``: a few per core for local mode, more on a cluster."""
    tables: dict[str, str] = field(default_factory=dict)
    """Contract table -> table in the connection (``schema.table`` or ``table``), e.g. ``orders: sales.orders``. Empty = read the raw folder's files. Required for ``postgres``."""

    def validate(self, where: str) -> None:
        _require(self.backend in {"duckdb", "postgres", "pyspark"}, f"{where}.backend must be 'duckdb', 'postgres' or 'pyspark', got {self.backend!r}")
        _require(self.threads >= 0, f"{where}.threads must be >= 0")
        _require(self.spark_shuffle_partitions >= 1, f"{where}.spark_shuffle_partitions must be >= 1")
        _require(
            not self.memory_limit or re.fullmatch(r"[0-9]+(\.[0-9]+)?\s*[KMGT]i?B", self.memory_limit) is not None,
            f"{where}.memory_limit must look like '6GB', got {self.memory_limit!r}",
        )
        if self.backend == "postgres":
            _require(self.url.startswith(("postgresql://", "postgres://")), f"{where}.url must be a postgresql:// URL for the postgres backend")
            _require(bool(self.tables), f"{where}.tables must name the table of each contract table for the postgres backend")
        unknown = sorted(set(self.tables) - set(TABLES))
        _require(not unknown, f"{where}.tables: unknown contract table(s) {', '.join(unknown)}; known: {', '.join(TABLES)}")


@dataclass(frozen=True)
class LifetimeSettings:
    time_unit: str = "W"
    """Time unit of the purchase models: ``D`` (days) or ``W`` (weeks)."""
    horizon_quarters: int = 8
    """How far ahead customer lifetime value looks."""
    discount_rate_annual: float = 0.10
    """Annual discount rate for lifetime value."""
    transaction_model: str = "auto"
    """The purchase model: ``auto`` (fit BG/NBD, MBG/NBD and Pareto/NBD on the calibration period and keep the one with the smallest holdout error, ties by AIC), or one of ``bgnbd``, ``mbgnbd``, ``paretonbd``."""
    penalizer: float = 0.0
    """L2 penalty on the model parameters (0 = plain maximum likelihood)."""
    boundary: str = "nested"
    """An estimate on the edge of the parameter space (e.g. no silent dropout at all): ``nested`` keeps the nested model at that limit when the full model is not significantly better (likelihood-ratio test); ``stop`` treats it as a fit that did not converge."""
    retry_with_penalizer: bool = True
    """A fit that still does not converge is retried once with a penalizer of max(0.001, 10 x penalizer); false stops instead."""

    def validate(self, where: str) -> None:
        _require(self.time_unit in {"D", "W"}, f"{where}.time_unit must be 'D' or 'W'")
        _require(self.horizon_quarters >= 1, f"{where}.horizon_quarters must be >= 1")
        _require(0 <= self.discount_rate_annual < 1, f"{where}.discount_rate_annual must be in [0, 1)")
        models = ("auto", "bgnbd", "mbgnbd", "paretonbd")
        _require(self.transaction_model in models, f"{where}.transaction_model must be one of {', '.join(models)}")
        _require(self.penalizer >= 0, f"{where}.penalizer must be >= 0")
        _require(self.boundary in {"nested", "stop"}, f"{where}.boundary must be 'nested' or 'stop'")


COST_BEHAVIOURS: tuple[str, ...] = ("variable", "step", "committed")
"""How a cost behaves when work leaves: ``variable`` goes with the work, ``step`` goes
only in whole units of capacity (a person, a shift) and only if that capacity is cut,
``committed`` stays (leases, salaries under contract)."""

FINANCIAL_COST_BEHAVIOURS: tuple[str, ...] = ("variable", "committed")
"""Financial costs are money, not capacity: they go with the customer or they stay."""

PERSON_QUARTER_MINUTES = 23_000.0
"""Practical minutes one full-time person supplies in a quarter: about 60 working days
of 8 hours at 80% practical capacity (the default step of the staffed pools)."""


@dataclass(frozen=True)
class ResourcePool:
    cost_per_quarter: float
    """Cost of the capacity supplied in one quarter (staff, space, equipment)."""
    practical_capacity_minutes: float
    """Minutes of productive work the pool can supply per quarter (typically 80-85% of theoretical)."""
    behaviour: str = ""
    """How the pool's cost behaves when work leaves (required for every pool you declare): ``variable`` (the cost goes with the minutes: temporary staff, a carrier paid per parcel), ``step`` (capacity comes in whole units of ``step_minutes``, e.g. a person; the cost goes only if whole units are cut) or ``committed`` (the cost stays whatever the volume)."""
    step_minutes: float = 0.0
    """For a ``step`` pool: the practical minutes of one unit of capacity per quarter (one person: about 23,000). Only a ``step`` pool has one."""

    def validate(self, where: str) -> None:
        _require(self.cost_per_quarter >= 0, f"{where}.cost_per_quarter must be >= 0")
        _require(self.practical_capacity_minutes > 0, f"{where}.practical_capacity_minutes must be > 0")
        _require_behaviour(self.behaviour, COST_BEHAVIOURS, f"{where}.behaviour")
        if self.behaviour == "step":
            _require(self.step_minutes > 0, f"{where}.step_minutes must be > 0 for a step pool (the minutes of one unit of capacity, e.g. one person a quarter)")
        else:
            _require(self.step_minutes == 0, f"{where}.step_minutes is only for a step pool; {where}.behaviour is {self.behaviour!r}")

    @property
    def cost_per_step(self) -> float:
        """What one whole unit of a step pool's capacity costs a quarter (0 for others)."""
        return self.step_minutes * self.cost_per_quarter / self.practical_capacity_minutes


def _default_pools() -> dict[str, ResourcePool]:
    # Calibrated to the demo world (2,000 customers): 70-90% of practical capacity used.
    # The staffed pools change by whole people; account managers are kept whatever the
    # volume (their time is committed to the accounts they keep).
    person = {"behaviour": "step", "step_minutes": PERSON_QUARTER_MINUTES}
    return {
        "order_desk": ResourcePool(cost_per_quarter=189_000.0, practical_capacity_minutes=210_000.0, **person),
        "warehouse": ResourcePool(cost_per_quarter=560_000.0, practical_capacity_minutes=700_000.0, **person),
        "customer_service": ResourcePool(cost_per_quarter=90_000.0, practical_capacity_minutes=90_000.0, **person),
        "field_service": ResourcePool(cost_per_quarter=108_000.0, practical_capacity_minutes=54_000.0, **person),
        "account_management": ResourcePool(cost_per_quarter=36_000.0, practical_capacity_minutes=18_000.0, behaviour="committed"),
    }


def _default_financial_costs() -> dict[str, str]:
    # Financing and write-offs follow the customer's receivables: they go with it.
    return {"financing": "variable", "bad_debt": "variable"}


@dataclass(frozen=True)
class TimeEquation:
    pool: str
    """The resource pool whose capacity the activity uses."""
    minutes: dict[str, float]
    """Minutes per unit of each driver of the activity table: ``{driver column: minutes}``.
    The activity's minutes are the sum of driver quantity x minutes (a linear time
    equation); see ``docs/cost-to-serve.md`` for the driver columns allowed."""

    def validate(self, where: str, pools: dict[str, ResourcePool]) -> None:
        _require(self.pool in pools, f"{where}.pool names unknown pool {self.pool!r}; pools: {', '.join(pools)}")
        _require(bool(self.minutes), f"{where}.minutes must name at least one driver")
        for column, minutes in self.minutes.items():
            _require(
                column in DRIVER_OF_COLUMN,
                f"{where}.minutes: unknown driver {column!r}; known: {', '.join(DRIVER_OF_COLUMN)}",
            )
            _require(minutes >= 0, f"{where}.minutes.{column} must be >= 0")


def _default_activities() -> dict[str, TimeEquation]:
    return {
        "order_entry": TimeEquation(
            pool="order_desk", minutes={"orders": 6.0, "order_lines": 1.0, "manual_orders": 12.0, "rush_orders": 5.0}
        ),
        "picking_and_shipping": TimeEquation(
            pool="warehouse", minutes={"orders": 18.0, "order_lines": 4.0, "rush_orders": 30.0}
        ),
        "return_handling": TimeEquation(pool="warehouse", minutes={"returns": 40.0}),
        "remote_support": TimeEquation(
            pool="customer_service", minutes={"minutes_phone": 1.0, "minutes_email": 1.0, "minutes_chat": 1.0}
        ),
        "field_support": TimeEquation(pool="field_service", minutes={"minutes_onsite": 1.0, "onsite_visits": 60.0}),
        "incident_handling": TimeEquation(pool="account_management", minutes={"incidents": 90.0}),
    }


@dataclass(frozen=True)
class CostToServeSettings:
    pools: dict[str, ResourcePool] = field(default_factory=_default_pools)
    """Resource pools: cost per quarter and practical capacity in minutes."""
    activities: dict[str, TimeEquation] = field(default_factory=_default_activities)
    """Activities and their time equations (time-driven ABC), each drawing on one pool."""
    cost_of_capital_annual: float = 0.08
    """Annual cost of financing receivables."""
    financial_costs: dict[str, str] = field(default_factory=_default_financial_costs)
    """How each financial cost behaves when a customer leaves: ``financing`` (of its receivables) and ``bad_debt`` (its write-offs), each ``variable`` (goes with the customer) or ``committed`` (stays). Both must be named."""

    def validate(self, where: str) -> None:
        _require(bool(self.pools), f"{where}.pools must name at least one pool")
        for name in FINANCIAL_DRIVERS:
            _require_behaviour(self.financial_costs.get(name, ""), FINANCIAL_COST_BEHAVIOURS, f"{where}.financial_costs.{name}")
        unknown = sorted(set(self.financial_costs) - set(FINANCIAL_DRIVERS))
        _require(not unknown, f"{where}.financial_costs: unknown financial cost(s) {', '.join(unknown)}; known: {', '.join(FINANCIAL_DRIVERS)}")
        for name, pool in self.pools.items():
            pool.validate(f"{where}.pools.{name}")
        _require(bool(self.activities), f"{where}.activities must name at least one activity")
        for name, activity in self.activities.items():
            activity.validate(f"{where}.activities.{name}", self.pools)
        _require(0 <= self.cost_of_capital_annual < 1, f"{where}.cost_of_capital_annual must be in [0, 1)")

    @classmethod
    def from_dict(cls, mapping: dict[str, Any], where: str = "cost_to_serve") -> "CostToServeSettings":
        """Settings from a plain mapping (as in the YAML file or a saved result), validated."""
        settings = _build(cls, mapping, where)
        settings.validate(where)
        return settings


@dataclass(frozen=True)
class PaymentSettings:
    aging_buckets_days: tuple[int, ...] = (0, 30, 60, 90)
    """Upper bounds of the aging buckets: current, 1-30, 31-60, 61-90, 90+ days past due."""
    dso_period_days: int = 90
    """N of DSO, best possible DSO and ADD: sales of the N days up to the as-of date."""
    cei_period_days: int = 90
    """N of the collection effectiveness index: receivables N days before the as-of date,
    sales in those N days, receivables at the as-of date."""
    countback_months: int = 12
    """How many calendar months countback DSO may walk back."""
    horizon_days: int = 180
    """Expected days to pay are restricted means up to this many days after issue (an
    invoice open longer counts as late as it is so far)."""
    fit_sample_cap: int = 200_000
    """The time-to-payment models are fitted on at most this many invoices (a seeded
    random sample) and predict for all."""
    seed: int = 20260630
    """Seed of the fitting sample."""
    shrinkage_invoices: float = 2.0
    """k of the shrinkage n/(n+k): a customer-quarter with n invoices keeps that share of
    its excess lateness (two invoices keep half)."""
    late_excess_days: float = 15.0
    """A quarter is late when the shrunk excess lateness over peers reaches this many days..."""
    late_min_days: float = 15.0
    """...and the customer's own mean lateness reaches this many days."""
    nonpayment_min_amount: float = 0.0
    """A quarter is non-payment when the amount written off, or unpaid long past due, exceeds this."""
    nonpayment_overdue_days: int = 90
    """Undisputed balance open more than this many days past due at the as-of date counts as non-payment."""
    judge_disputed: bool = False
    """Whether disputed invoices count towards lateness (by default a dispute is reported, not judged)."""
    quarter_by: str = "due"
    """Which date puts an invoice in a quarter for the verdict: ``due`` or ``issue``."""
    small_company_employees: int = 50
    """Below this many employees a late payer gets the small-company repair (invoice more often)."""

    def validate(self, where: str) -> None:
        buckets = list(self.aging_buckets_days)
        _require(bool(buckets), f"{where}.aging_buckets_days must name at least one bound")
        _require(buckets == sorted(buckets) and len(set(buckets)) == len(buckets), f"{where}.aging_buckets_days must increase")
        _require(all(bound >= 0 for bound in buckets), f"{where}.aging_buckets_days must be >= 0")
        for name in ("dso_period_days", "cei_period_days", "countback_months", "horizon_days", "fit_sample_cap"):
            _require(getattr(self, name) >= 1, f"{where}.{name} must be >= 1")
        _require(self.fit_sample_cap >= 100, f"{where}.fit_sample_cap must be >= 100")
        _require(self.shrinkage_invoices >= 0, f"{where}.shrinkage_invoices must be >= 0")
        _require(self.late_excess_days >= 0, f"{where}.late_excess_days must be >= 0")
        _require(self.nonpayment_min_amount >= 0, f"{where}.nonpayment_min_amount must be >= 0")
        _require(self.nonpayment_overdue_days >= 0, f"{where}.nonpayment_overdue_days must be >= 0")
        _require(self.quarter_by in {"due", "issue"}, f"{where}.quarter_by must be 'due' or 'issue'")
        _require(self.small_company_employees >= 1, f"{where}.small_company_employees must be >= 1")


def _default_incident_weights() -> dict[str, float]:
    return {
        "abusive_conduct": 1.5,
        "staff_avoidance": 1.0,
        "price_pressure": 1.0,
        "info_withheld": 1.0,
        "unreasonable_demand": 1.0,
        "contract_breach": 1.5,
    }


@dataclass(frozen=True)
class ReviewSettings:
    window_quarters: int = 4
    """Strikes count within this many most recent quarters."""
    strikes_for_let_go: int = 3
    """Strikes (with the latest quarter failing) that make a customer ``let_go``."""
    min_history_days: int = 90
    """A customer younger than this at the quarter end is not reviewed (not enough history to be fair)."""
    history_quarters: int = 8
    """Quarters of activity computed for each review (the window, the quarters before it, and trends)."""
    unprofitable_min_loss: float = 250.0
    """A quarter fails ``unprofitable`` when operating profit after cost to serve is below minus this amount."""
    headache_worst_share: float = 0.05
    """A quarter fails ``headache`` when its service minutes per unit of gross margin are in this worst share..."""
    headache_min_multiple: float = 3.0
    """...and its service minutes are at least this many times the segment's median that quarter."""
    incident_weights: dict[str, float] = field(default_factory=_default_incident_weights)
    """Weight of each incident kind; an incident scores weight x severity (1-3)."""
    incident_points_threshold: float = 3.0
    """A quarter fails ``relationship`` when its weighted incident points reach this."""
    onboarding_grace_quarters: int = 4
    """An account in its first this many quarters whose orders are at a record (up on every earlier quarter) is not failed for its support: not on ``headache``, and not on ``unprofitable`` where support is the largest cost; that support is the cost of onboarding it (0 = no grace)."""
    without_grounds_max_status: str = "final_notice"
    """The furthest a customer goes whose strikes give no grounds to let it go: no loss after cost to serve over the window (it lost less than ``unprofitable_min_loss``, financing cost of lateness and bad debt included), no non-payment, no headache or relationship strike. Typically a customer who pays late but pays: it is repaired (invoice more often, shorter terms) and the issue presented. ``final_notice`` (default), ``watch``, or ``let_go`` (strikes alone decide)."""
    protect_top_share: float = 0.10
    """Customers in this top share of predicted future value (lifetime value net of the share of
    margin lost to cost to serve) are ``protected`` instead of let go."""
    inactive_quiet_quarters: int = 2
    """A customer with no order in this many latest quarters..."""
    inactive_p_alive_below: float = 0.3
    """...and a probability of being alive below this is ``inactive`` (gone, not let go)."""

    def validate(self, where: str) -> None:
        _require(self.window_quarters >= 1, f"{where}.window_quarters must be >= 1")
        _require(1 <= self.strikes_for_let_go <= self.window_quarters, f"{where}.strikes_for_let_go must be in 1..window_quarters")
        _require(self.min_history_days >= 0, f"{where}.min_history_days must be >= 0")
        _require(self.history_quarters > self.window_quarters, f"{where}.history_quarters must exceed window_quarters")
        _require(self.unprofitable_min_loss >= 0, f"{where}.unprofitable_min_loss must be >= 0")
        _require(0 < self.headache_worst_share < 1, f"{where}.headache_worst_share must be in (0, 1)")
        _require(self.headache_min_multiple >= 1, f"{where}.headache_min_multiple must be >= 1")
        _require(all(weight >= 0 for weight in self.incident_weights.values()), f"{where}.incident_weights must be >= 0")
        _require(self.incident_points_threshold > 0, f"{where}.incident_points_threshold must be > 0")
        _require(0 <= self.onboarding_grace_quarters <= 40, f"{where}.onboarding_grace_quarters must be in 0..40")
        caps = ("watch", "final_notice", "let_go")
        _require(self.without_grounds_max_status in caps, f"{where}.without_grounds_max_status must be one of {', '.join(caps)}")
        _require(0 <= self.protect_top_share < 1, f"{where}.protect_top_share must be in [0, 1)")
        _require(self.inactive_quiet_quarters >= 1, f"{where}.inactive_quiet_quarters must be >= 1")
        _require(0 <= self.inactive_p_alive_below <= 1, f"{where}.inactive_p_alive_below must be in [0, 1]")


@dataclass(frozen=True)
class Config:
    currency: str = "EUR"
    """ISO code of the one currency all amounts are in."""
    engine: EngineSettings = field(default_factory=EngineSettings)
    lifetime: LifetimeSettings = field(default_factory=LifetimeSettings)
    cost_to_serve: CostToServeSettings = field(default_factory=CostToServeSettings)
    payment: PaymentSettings = field(default_factory=PaymentSettings)
    review: ReviewSettings = field(default_factory=ReviewSettings)

    def validate(self, where: str = "config") -> None:
        _require(len(self.currency) == 3 and self.currency.isalpha(), f"{where}.currency must be a 3-letter ISO code")
        for section in dataclasses.fields(self):
            value = getattr(self, section.name)
            if dataclasses.is_dataclass(value):
                value.validate(f"{where}.{section.name}")

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (JSON/YAML-ready)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def fingerprint(self) -> str:
        """Short hash identifying these settings, recorded with every output."""
        canonical = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(canonical).hexdigest()[:12]


def load_config(path: Path | str | None = None) -> Config:
    """Read and validate a configuration file; ``None`` gives the defaults.

    Raises
    ------
    ConfigError
        If the file is missing or not YAML, has an unknown key, or a value of the wrong
        type or range. The message names the file and the key.
    """
    if path is None:
        config = Config()
        config.validate()
        return config
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: configuration file not found")
    try:
        mapping = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({_one_line(error)})") from None
    try:
        config = _build(Config, mapping, "config")
        config.validate()
    except ConfigError as error:
        raise ConfigError([f"{path}: {problem}" for problem in error.problems]) from None
    return config


def _build(cls: type, mapping: Any, where: str) -> Any:
    if not isinstance(mapping, dict):
        raise ConfigError(f"{where} must be a mapping")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(mapping) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(map(str, unknown))}; known: {', '.join(known)}")
    values = {name: _coerce(hints[name], mapping[name], f"{where}.{name}") for name in mapping}
    try:
        return cls(**values)
    except TypeError as error:
        raise ConfigError(f"{where}: {error}") from None


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, where)
    if origin is dict:
        _, value_type = typing.get_args(hint)
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a mapping")
        return {str(key): _coerce(value_type, item, f"{where}.{key}") for key, item in value.items()}
    if origin is tuple:
        (item_type, _) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list")
        return tuple(_coerce(item_type, item, f"{where}[{i}]") for i, item in enumerate(value))
    if origin in (typing.Union, types.UnionType):
        options = [option for option in typing.get_args(hint) if option is not type(None)]
        return None if value is None else _coerce(options[0], value, where)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} must be a number, got {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be a whole number, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be text, got {value!r}")
        return value
    return value


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def _require_behaviour(value: str, allowed: tuple[str, ...], where: str) -> None:
    """One clear line when a cost behaviour is missing or unknown."""
    choices = ", ".join(allowed)
    _require(bool(value), f"{where} is missing: say how this cost behaves when work leaves ({choices})")
    _require(value in allowed, f"{where} must be one of {choices}, got {value!r}")


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def _field_documentation() -> dict[str, dict[str, str]]:
    """The docstring written under each dataclass field in this module, by class and field."""
    import ast
    import inspect
    import sys

    tree = ast.parse(inspect.getsource(sys.modules[__name__]))
    documented: dict[str, dict[str, str]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        fields: dict[str, str] = {}
        for statement, following in zip(node.body, node.body[1:] + [None]):
            if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                is_doc = isinstance(following, ast.Expr) and isinstance(getattr(following, "value", None), ast.Constant)
                fields[statement.target.id] = " ".join(following.value.value.split()) if is_doc else ""
        documented[node.name] = fields
    return documented


def configuration_markdown() -> str:
    """Render every setting, its default and its meaning (``docs/configuration.md``)."""
    documented = _field_documentation()
    defaults = Config().to_dict()
    lines = [
        "# Configuration",
        "",
        "<!-- Generated from src/custvalue/config.py by `custvalue config-doc`; do not edit by hand. -->",
        "",
        "One YAML file (default `config/custvalue.yaml`, or `--config PATH`) holds every setting.",
        "A key left out keeps its default; an unknown key, or a value of the wrong type or range,",
        "stops the run with one line naming the file and the key.",
        "",
    ]

    def section(cls: type, prefix: str, values: dict[str, Any]) -> None:
        rows = []
        for item in dataclasses.fields(cls):
            value = values[item.name]
            if dataclasses.is_dataclass(typing.get_type_hints(cls)[item.name]):
                continue
            nested_table = isinstance(value, dict) and any(isinstance(entry, dict) for entry in value.values())
            shown = "see below" if nested_table else json.dumps(value)
            rows.append(f"| `{item.name}` | `{shown}` | {documented.get(cls.__name__, {}).get(item.name, '')} |")
        if rows:
            lines.extend([f"## `{prefix}`" if prefix else "## Top level", "", "| key | default | meaning |", "| --- | --- | --- |", *rows, ""])
        for item in dataclasses.fields(cls):
            hint = typing.get_type_hints(cls)[item.name]
            if dataclasses.is_dataclass(hint):
                section(hint, f"{prefix}.{item.name}".strip("."), values[item.name])
            elif typing.get_origin(hint) is dict and dataclasses.is_dataclass(typing.get_args(hint)[1]):
                inner = typing.get_args(hint)[1]
                lines.extend([f"### `{prefix}.{item.name}` (one entry per name; defaults below)", ""])
                header = [f.name for f in dataclasses.fields(inner)]
                lines.extend(["| name | " + " | ".join(header) + " |", "| --- |" + " --- |" * len(header)])
                for name, entry in values[item.name].items():
                    lines.append(f"| `{name}` | " + " | ".join(f"`{json.dumps(entry[h])}`" for h in header) + " |")
                meanings = documented.get(inner.__name__, {})
                lines.extend(["", *[f"- `{h}`: {meanings.get(h, '')}" for h in header], ""])

    section(Config, "", defaults)
    return "\n".join(lines)

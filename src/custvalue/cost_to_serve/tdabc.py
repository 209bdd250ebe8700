"""Time-driven activity-based costing of the activity table.

Each resource pool supplies capacity at a cost; its *capacity cost rate* is the cost of
the capacity supplied divided by its practical capacity (Kaplan & Anderson, 2004)::

    rate[pool] = cost_per_quarter / practical_capacity_minutes

Each activity has a linear time equation over driver quantities of the activity table
(minutes = sum of quantity x minutes per unit) and draws on one pool. A customer's cost
of an activity is its minutes times the pool's rate; each term of the equation is
reported under the cost driver of its column (:mod:`.drivers`). Minutes of tickets we
caused are costed with the same equations and charged to us. Capacity that nobody used
is reported per pool and quarter and never loaded onto customers, so for every pool and
quarter::

    cost = assigned to customers + assigned to us + unused capacity

(unused is negative when demand exceeded practical capacity: over-capacity).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from custvalue.config import CostToServeSettings
from custvalue.drivers import ACTIVITY_DRIVERS, COST_DRIVERS, DRIVER_OF_COLUMN, OURS_OF_COLUMN
from custvalue.cost_to_serve.result import CostToServeResult, add_ratios
from custvalue.errors import ContractError
from custvalue.frames import in_key_order

KEY = ["customer_id", "quarter"]
MONEY_COLUMNS = ["revenue", "cost_of_goods", "returned_value", "discount", "receivable_days", "written_off"]
DAYS_PER_YEAR = 365.0


def capacity_cost_rates(settings: CostToServeSettings) -> dict[str, float]:
    """Capacity cost rate of every pool: cost per quarter / practical capacity minutes.

    Examples
    --------
    >>> from custvalue.config import ResourcePool, CostToServeSettings, TimeEquation
    >>> settings = CostToServeSettings(
    ...     pools={"desk": ResourcePool(560_000, 700_000, "committed")},
    ...     activities={"entry": TimeEquation("desk", {"orders": 8})},
    ... )
    >>> capacity_cost_rates(settings)
    {'desk': 0.8}
    """
    return {name: pool.cost_per_quarter / pool.practical_capacity_minutes for name, pool in settings.pools.items()}


def _zero_filled(column: pd.Series) -> np.ndarray:
    """The column as float64 with missing values as 0, copied only when it must be."""
    values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.nan_to_num(values, nan=0.0) if np.isnan(values).any() else values


def required_columns(settings: CostToServeSettings) -> list[str]:
    """The activity-table columns :func:`compute_cost_to_serve` reads with ``settings``."""
    columns = list(KEY) + list(MONEY_COLUMNS)
    for equation in settings.activities.values():
        for column in equation.minutes:
            columns.append(column)
            if column in OURS_OF_COLUMN:
                columns.append(OURS_OF_COLUMN[column])
    return list(dict.fromkeys(columns))


def compute_cost_to_serve(activity: pd.DataFrame, settings: CostToServeSettings | None = None) -> CostToServeResult:
    """Cost every customer and quarter of the activity table with time-driven ABC.

    Parameters
    ----------
    activity : pandas.DataFrame
        One row per customer and quarter with the driver quantities, as returned by
        :func:`custvalue.features.quarterly_activity`. Every quarter present is costed
        as a whole quarter of pool capacity, so pass complete quarters only.
    settings : CostToServeSettings, optional
        Pools, time equations and cost of capital (default: the configured defaults).

    Returns
    -------
    CostToServeResult
        Customer costs by driver, costs of tickets we caused, and per pool and quarter
        the capacity supplied, used and unused.

    Raises
    ------
    ContractError
        When a column the settings need is missing from ``activity`` or a driver
        quantity is negative.

    Notes
    -----
    Cost to serve is the sum of the activity drivers (order handling, rush, manual
    entry, return handling, support: minutes x capacity cost rate) and two financial
    drivers: financing of receivables (``receivable_days x cost_of_capital_annual /
    365``) and bad debt (``written_off``). Revenue is already net of discounts, so the
    discount is reported as a driver of lost margin but not subtracted again::

        gross_margin = revenue - cost_of_goods - returned_value
        operating_profit = gross_margin - cost_to_serve

    References
    ----------
    .. [1] Kaplan, R. S., & Anderson, S. R. (2004). Time-Driven Activity-Based Costing.
       Harvard Business Review, 82(11), 131-138.
    .. [2] Kaplan, R. S., & Cooper, R. (1998). Cost & Effect: Using Integrated Cost
       Systems to Drive Profitability and Performance. Harvard Business School Press.
    """
    settings = settings or CostToServeSettings()
    settings.validate("cost_to_serve")
    needed = required_columns(settings)
    missing = [column for column in needed if column not in activity.columns]
    if missing:
        raise ContractError(f"activity table lacks column(s) {', '.join(missing)} needed by the cost-to-serve settings")
    quantities = {column: _zero_filled(activity[column]) for column in needed[len(KEY) :]}
    drivers = needed[len(KEY) + len(MONEY_COLUMNS) :]
    negative = [column for column in drivers if (quantities[column] < 0).any()]
    if negative:
        raise ContractError(f"activity table has negative driver quantities in {', '.join(negative)}")

    # Rows in (customer, quarter) order; quarters as integer codes for fast per-quarter sums.
    quarter_codes, quarter_labels = pd.factorize(activity["quarter"].astype("string"), sort=True)
    if activity["customer_id"].isna().any() or (quarter_codes < 0).any():
        raise ContractError("activity table has rows without a customer_id or quarter")
    order = None
    if not in_key_order(activity):
        customer_codes, _ = pd.factorize(activity["customer_id"].astype("string"), sort=True)
        order = np.lexsort((quarter_codes, customer_codes))
        quantities = {column: values[order] for column, values in quantities.items()}
        quarter_codes = quarter_codes[order]
    quarters = [str(label) for label in quarter_labels]
    n, n_quarters = len(activity), len(quarters)

    def per_quarter(values: np.ndarray) -> np.ndarray:
        return np.bincount(quarter_codes, weights=values, minlength=n_quarters) if n else np.zeros(n_quarters)

    rates = capacity_cost_rates(settings)
    driver_cost = {driver: np.zeros(n) for driver in ACTIVITY_DRIVERS}
    support_minutes = np.zeros(n)
    customer_minutes = {pool: np.zeros(n) for pool in settings.pools}
    our_minutes = {pool: np.zeros(n) for pool in settings.pools}
    our_cost = np.zeros(n)
    activity_rows = []
    for name, equation in settings.activities.items():
        rate = rates[equation.pool]
        theirs, ours = np.zeros(n), np.zeros(n)
        for column, per_unit in equation.minutes.items():
            minutes = quantities[column] * per_unit
            theirs += minutes
            driver = DRIVER_OF_COLUMN[column]
            driver_cost[driver] += minutes * rate
            if driver == "support":
                support_minutes += minutes
            if column in OURS_OF_COLUMN:
                ours += quantities[OURS_OF_COLUMN[column]] * per_unit
        customer_minutes[equation.pool] += theirs
        our_minutes[equation.pool] += ours
        our_cost += ours * rate
        for quarter, mine, us in zip(quarters, per_quarter(theirs), per_quarter(ours)):
            activity_rows.append((name, equation.pool, quarter, mine, us, mine * rate, us * rate))

    def key_columns() -> dict[str, pd.api.extensions.ExtensionArray]:
        # As text arrays, never through Python string objects (7M of them at scale).
        frame = activity[KEY] if order is None else activity[KEY].take(order)
        return {column: frame[column].astype("string").array for column in KEY}

    keys = key_columns()
    gross_margin = quantities["revenue"] - quantities["cost_of_goods"] - quantities["returned_value"]
    cost = {f"cost_{driver}": driver_cost[driver] for driver in ACTIVITY_DRIVERS}
    cost["cost_financing"] = quantities["receivable_days"] * settings.cost_of_capital_annual / DAYS_PER_YEAR
    cost["cost_bad_debt"] = quantities["written_off"]
    cost_to_serve = np.sum([cost[f"cost_{driver}"] for driver in COST_DRIVERS], axis=0) if n else np.zeros(0)
    costs = pd.DataFrame(
        {
            **keys,
            **{column: quantities[column] for column in ("revenue", "cost_of_goods", "returned_value", "discount")},
            "gross_margin": gross_margin,
            **cost,
            "cost_to_serve": cost_to_serve,
            "operating_profit": gross_margin - cost_to_serve,
            "service_minutes": np.sum([customer_minutes[pool] for pool in settings.pools], axis=0),
            "support_minutes": support_minutes,
            **{f"pool_minutes_{pool}": customer_minutes[pool] for pool in settings.pools},
        },
        copy=False,  # the arrays are this frame's own; consolidating them would hold them twice
    )
    costs = add_ratios(costs, copy=False)

    our_tickets = activity["our_tickets"].fillna(0).to_numpy(np.float64) if "our_tickets" in activity else np.zeros(n)
    our_service = np.sum([our_minutes[pool] for pool in settings.pools], axis=0)
    charged = (our_service > 0) | ((our_tickets if order is None else our_tickets[order]) > 0)
    ours = pd.DataFrame(
        {
            **{column: values[charged] for column, values in keys.items()},
            "our_tickets": (our_tickets if order is None else our_tickets[order])[charged],
            "service_minutes": our_service[charged],
            "cost_support": our_cost[charged],
            **{f"pool_minutes_{pool}": our_minutes[pool][charged] for pool in settings.pools},
        }
    )

    pools = _pool_table(settings, rates, quarters, {p: per_quarter(m) for p, m in customer_minutes.items()}, {p: per_quarter(m) for p, m in our_minutes.items()})
    activities = pd.DataFrame(
        activity_rows, columns=["activity", "pool", "quarter", "customer_minutes", "our_minutes", "customer_cost", "our_cost"]
    )
    for column in ("activity", "pool", "quarter"):
        activities[column] = activities[column].astype("string")
    return CostToServeResult._from_frames(costs, ours, pools, activities, settings)


def _pool_table(
    settings: CostToServeSettings,
    rates: dict[str, float],
    quarters: list[str],
    customer_minutes: dict[str, np.ndarray],
    our_minutes: dict[str, np.ndarray],
) -> pd.DataFrame:
    """One row per pool and quarter (minutes already summed per quarter)."""
    rows = [
        (name, quarter, pool.cost_per_quarter, pool.practical_capacity_minutes, rates[name], float(theirs), float(ours))
        for name, pool in settings.pools.items()
        for quarter, theirs, ours in zip(quarters, customer_minutes[name], our_minutes[name])
    ]
    columns = [
        "pool", "quarter", "cost", "practical_capacity_minutes", "rate_per_minute", "used_minutes",
        "customer_minutes", "our_minutes", "unused_minutes", "assigned_to_customers", "assigned_to_us",
        "unused_capacity_cost", "utilisation", "over_capacity",
    ]  # fmt: skip
    table = pd.DataFrame(rows, columns=["pool", "quarter", "cost", "practical_capacity_minutes", "rate_per_minute", "customer_minutes", "our_minutes"])
    table["used_minutes"] = table["customer_minutes"] + table["our_minutes"]
    table["unused_minutes"] = table["practical_capacity_minutes"] - table["used_minutes"]
    table["assigned_to_customers"] = table["customer_minutes"] * table["rate_per_minute"]
    table["assigned_to_us"] = table["our_minutes"] * table["rate_per_minute"]
    table["unused_capacity_cost"] = table["unused_minutes"] * table["rate_per_minute"]
    table["utilisation"] = table["used_minutes"] / table["practical_capacity_minutes"]
    table["over_capacity"] = table["unused_minutes"] < 0
    for column in ("pool", "quarter"):
        table[column] = table[column].astype("string")
    return table[columns]

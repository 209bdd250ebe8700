"""The cost drivers of cost to serve and the activity-table columns that feed them.

A time equation (see :class:`custvalue.config.TimeEquation`) multiplies columns of the
activity table (:mod:`custvalue.features`) by minutes. Every column a time equation may
use belongs to exactly one *cost driver*, so each minute a customer causes is reported
under one driver, and the drivers add up to the customer's cost to serve. Support
columns have a counterpart for the tickets *we* caused (``our_...``): the same time
equation costs those minutes too, and they are charged to us, not to the customer.
"""

from __future__ import annotations

from custvalue.contract import INCIDENT_KINDS, TICKET_CHANNELS

ACTIVITY_DRIVERS: tuple[str, ...] = ("order_handling", "rush", "manual_entry", "return_handling", "support", "relationship")
"""Drivers whose cost is time on a resource pool (time-driven ABC)."""

FINANCIAL_DRIVERS: tuple[str, ...] = ("financing", "bad_debt")
"""Drivers that cost money, not time: financing of receivables and amounts written off."""

COST_DRIVERS: tuple[str, ...] = ACTIVITY_DRIVERS + FINANCIAL_DRIVERS
"""Every driver of cost to serve, in reporting order (``cost_<driver>`` columns)."""

DRIVER_OF_COLUMN: dict[str, str] = {
    "orders": "order_handling",
    "order_lines": "order_handling",
    "rush_orders": "rush",
    "manual_orders": "manual_entry",
    "returns": "return_handling",
    "tickets": "support",
    "ticket_minutes": "support",
    "onsite_visits": "support",
    "escalations": "support",
    **{f"minutes_{channel}": "support" for channel in TICKET_CHANNELS},
    "incidents": "relationship",
    **{f"severity_{kind}": "relationship" for kind in INCIDENT_KINDS},
}
"""Activity-table column -> the cost driver its minutes are reported under."""

OURS_OF_COLUMN: dict[str, str] = {
    "tickets": "our_tickets",
    "ticket_minutes": "our_ticket_minutes",
    "onsite_visits": "our_onsite_visits",
    **{f"minutes_{channel}": f"our_minutes_{channel}" for channel in TICKET_CHANNELS},
}
"""Support column -> the same quantity for tickets we caused (``escalations`` has none:
the activity table counts escalations of the customer's tickets only)."""

DRIVER_LABELS: dict[str, str] = {
    "order_handling": "order handling",
    "rush": "rush orders",
    "manual_entry": "manual order entry",
    "return_handling": "return handling",
    "support": "support",
    "relationship": "relationship incidents",
    "financing": "financing of receivables",
    "bad_debt": "bad debt",
    "discount": "discounts (already netted from revenue)",
}
"""Plain-language names for reports."""

"""Helpers for testing custvalue: data broken in known ways, and data whose truth is known.

- :func:`inject_violations`: contract-breaking rows appended to a demo world's tables, with
  the list of what was broken where (``custvalue demo --violations`` uses it too).
- :func:`simulate_ledger`: a seeded synthetic invoice ledger with planted payment
  behaviour, for the payment model's tests and benchmarks.
"""

from custvalue.testing.payments import LedgerSpec, simulate_ledger
from custvalue.testing.violations import VIOLATION_COLUMNS, inject_violations

__all__ = ["VIOLATION_COLUMNS", "LedgerSpec", "inject_violations", "simulate_ledger"]

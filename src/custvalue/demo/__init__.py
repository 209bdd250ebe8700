"""The demo world: a seeded, believable B2B distributor with planted customer archetypes.

:func:`generate_world` builds the five contract tables (``customers``, ``orders``,
``invoices``, ``support_tickets``, ``incidents``) and a ground-truth table that says,
per customer, which archetype was planted, in which quarters its behaviour is bad and
what the three-strikes review should conclude. :func:`write_world` writes the tables
(CSV or Parquet) and the truth (to a separate path, outside the raw folder).
(Contract-breaking rows for tests: :func:`custvalue.testing.inject_violations`.)

The package has a module per concept: :mod:`.vocabulary` (segments, archetypes, name
pools), :mod:`.spec` (what to generate), :mod:`.calendar`, :mod:`.plan` (who the
customers are), :mod:`.behaviour` (how each behaves), :mod:`.events` (orders, invoices,
tickets, incidents), :mod:`.world` (the tables), :mod:`.truth` (what the review should
conclude) and :mod:`.writing`.

Everything is vectorised numpy; the only randomness is a :class:`numpy.random.Generator`
per component, all derived from ``DemoSpec.seed``, so the same spec gives byte-identical
files. ``docs/demo-world.md`` describes what is planted and why.
"""

from custvalue.contract import INCIDENT_KINDS
from custvalue.contract import TICKET_CHANNELS as CHANNELS
from custvalue.demo.spec import DemoError, DemoSpec, DemoWorld, WorldShape
from custvalue.demo.truth import evaluate_against_truth
from custvalue.demo.vocabulary import (
    ARCHETYPES,
    CHRONIC_ARCHETYPES,
    HOSTILE_TEXTS,
    SEGMENTS,
    STATUSES,
    TABLE_NAMES,
    TRUTH_COLUMNS,
)
from custvalue.demo.world import generate_world
from custvalue.demo.writing import tables_as_text, write_tables, write_truth, write_world

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
    "DemoError",
    "DemoSpec",
    "DemoWorld",
    "WorldShape",
    "evaluate_against_truth",
    "generate_world",
    "tables_as_text",
    "write_tables",
    "write_truth",
    "write_world",
]

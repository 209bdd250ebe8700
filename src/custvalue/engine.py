"""The data engine: where the heavy per-row work runs.

Validated tables are handed to an Ibis backend (embedded DuckDB by default); feature
code is written as Ibis expressions, so the same code can run on another backend, and
only compact per-customer results come back to pandas.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import pandas as pd
from ibis.backends import BaseBackend

from custvalue.config import EngineSettings
from custvalue.contract import TABLES, LoadedData


@dataclass(frozen=True)
class Engine:
    """An Ibis connection holding the accepted rows of every contract table."""

    connection: BaseBackend

    def table(self, name: str) -> ibis.Table:
        """The accepted rows of table ``name`` as an Ibis expression."""
        return self.connection.table(name)


def connect(settings: EngineSettings | None = None) -> BaseBackend:
    """Open the configured backend (a fresh embedded DuckDB unless configured otherwise)."""
    settings = settings or EngineSettings()
    connection = ibis.duckdb.connect(settings.database)
    if settings.threads:
        connection.raw_sql(f"SET threads = {int(settings.threads)}")
    return connection


def load_engine(data: LoadedData, settings: EngineSettings | None = None) -> Engine:
    """Put the accepted rows of every table into a new engine connection."""
    connection = connect(settings)
    for name in TABLES:
        connection.create_table(name, _engine_ready(data.accepted(name)), overwrite=True)
    return Engine(connection)


def _engine_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Give every column a concrete type the engine understands (nullable booleans with no
    missing values become plain booleans; all-missing columns keep their declared type)."""
    ready = frame.copy()
    for column in ready.columns:
        if str(ready[column].dtype) == "boolean":
            ready[column] = ready[column].fillna(False).astype(bool)
    return ready

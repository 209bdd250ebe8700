"""The data engine: where the heavy per-row work runs, and where the input is read.

Feature code is written once as Ibis expressions; the engine is the Ibis connection that
runs them. Three backends are supported:

``duckdb`` (default)
    Embedded DuckDB reads the CSV or Parquet files of the raw folder directly.
``postgres``
    A PostgreSQL server (a warehouse); the configuration names the tables holding
    the contract's tables. Validated rows are kept in temporary tables of the session.
``pyspark``
    A Spark session (``local[n]`` or a cluster master); it reads the raw folder's files
    (any path Spark can read) or tables of its catalog. Validated rows are cached views.

Only compact, per-customer results come back to pandas (:func:`fetch`).

Everything that differs between backends (opening a connection, reading a source with its
row numbers, keeping a result) lives in this module; the rest of the package is backend
neutral.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from ibis.backends import BaseBackend

from custvalue.config import EngineSettings
from custvalue.contract import TABLES
from custvalue.errors import ContractError, EngineError
from custvalue.memory import zeros

ROW = "source_row"
"""Column holding a source row's number: 1 = the first data row of the file (header = 0);
for a database table, the position in the order of its key (then all other columns)."""

WORK_DATABASE = "custvalue_work"
"""DuckDB: the in-memory database holding those tables."""
FILE_SUFFIXES = (".csv", ".parquet")
BACKENDS = ("duckdb", "postgres", "pyspark")


@dataclass(frozen=True)
class Engine:
    """An Ibis connection holding the accepted rows of every contract table.

    ``names`` maps a contract table to the table holding it in the connection (by
    default the table has the contract's name); ``database`` is where those tables are
    (default: the connection's current database).
    """

    connection: BaseBackend
    names: Mapping[str, str] = field(default_factory=dict)
    database: tuple[str, str] | None = None

    @property
    def backend(self) -> str:
        return self.connection.name

    def table(self, name: str) -> ibis.Table:
        """The accepted rows of table ``name`` as an Ibis expression."""
        return self.connection.table(self.names.get(name, name), database=self.database)

    def has_table(self, name: str) -> bool:
        """Whether the engine holds table ``name``."""
        try:
            self.table(name)
        except Exception:  # noqa: BLE001 - any lookup failure means "not there"
            return False
        return True


@dataclass(frozen=True)
class Source:
    """Where one contract table comes from, as an Ibis table of text or typed columns
    plus :data:`ROW`."""

    name: str
    location: str
    """What messages name: the file's path, or ``<backend> table <name>``."""
    table: ibis.Table
    backend: str
    path: Path | None = None

    @property
    def columns(self) -> list[str]:
        return [column for column in self.table.columns if column != ROW]

    def sha256(self) -> str | None:
        return file_sha256(self.path) if self.path is not None else None


def connect(settings: EngineSettings | None = None) -> BaseBackend:
    """Open the configured backend (a fresh embedded DuckDB unless configured otherwise)."""
    settings = settings or EngineSettings()
    settings.validate("engine")
    if settings.backend == "postgres":
        return _connect_postgres(settings)
    if settings.backend == "pyspark":
        return _connect_spark(settings)
    config: dict[str, object] = {
        # Spilled blocks go to the system's temporary folder, never into the working folder.
        "temp_directory": os.path.join(tempfile.gettempdir(), f"custvalue-duckdb-{os.getpid()}"),
    }
    if settings.threads:
        config["threads"] = int(settings.threads)
    if settings.memory_limit:
        config["memory_limit"] = settings.memory_limit
    # Memory DuckDB frees goes back to the system instead of staying with the process.
    config["allocator_background_threads"] = True
    if settings.database != ":memory:" and not Path(settings.database).expanduser().parent.is_dir():
        raise EngineError(f"engine.database: {settings.database}: its folder does not exist")
    try:
        connection = ibis.duckdb.connect(settings.database, **config)
        # Working tables live in a database of their own: never in a configured database
        # file, and (unlike temporary tables) compressed when checkpointed, see settle().
        connection.raw_sql(f"ATTACH ':memory:' AS {WORK_DATABASE}")
        connection.raw_sql("SELECT 1").fetchall()  # a limit too small to work in fails here
    except Exception as error:  # noqa: BLE001 - any failure to open DuckDB is the settings'
        if _out_of_memory(error):
            raise EngineError(f"engine.memory_limit: {settings.memory_limit} is too small for DuckDB to work in ({_one_line(error)[:160]})") from None
        raise EngineError(f"engine.database: cannot open {settings.database} ({_one_line(error)[:200]})") from None
    return connection


def _out_of_memory(error: BaseException) -> bool:
    """Whether the engine failed for want of memory (DuckDB's limit, or the process's)."""
    return isinstance(error, MemoryError) or type(error).__name__ == "OutOfMemoryException" or "out of memory" in str(error).lower()


def _connect_postgres(settings: EngineSettings) -> BaseBackend:
    url = settings.url.replace("postgresql://", "postgres://", 1)
    try:
        return ibis.connect(url)
    except Exception as error:  # noqa: BLE001 - any driver failure is a configuration problem
        raise EngineError(f"engine.url: cannot connect to PostgreSQL ({_one_line(error)})") from None


def _connect_spark(settings: EngineSettings) -> BaseBackend:
    try:
        return _spark_session(settings)
    except Exception as error:  # noqa: BLE001 - no Java, no pyspark, an unreachable master
        raise EngineError(f"engine.spark_master: cannot start Spark at {settings.spark_master} ({_one_line(error)[:200]})") from None


def _spark_session(settings: EngineSettings) -> BaseBackend:
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(settings.spark_master).appName("custvalue")
    for key, value in {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(settings.spark_shuffle_partitions),
        # Dates in the contract are dates; a pre-Gregorian date is a data error, not a calendar question.
        "spark.sql.parquet.datetimeRebaseModeInRead": "CORRECTED",
        "spark.sql.parquet.datetimeRebaseModeInWrite": "CORRECTED",
    }.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return ibis.pyspark.connect(session)


def find_table_file(raw_dir: Path, name: str) -> Path | None:
    """The file holding table ``name`` in ``raw_dir`` (``name.csv`` or ``name.parquet``)."""
    candidates = [raw_dir / f"{name}{suffix}" for suffix in FILE_SUFFIXES]
    present = [path for path in candidates if path.is_file()]
    if len(present) > 1:
        raise ContractError(f"{raw_dir}: both {present[0].name} and {present[1].name} present; keep one")
    return present[0] if present else None


def raw_folder_has_data(raw_dir: Path) -> bool:
    """Whether ``raw_dir`` holds any table file of the contract."""
    return raw_dir.is_dir() and any(
        (raw_dir / f"{name}{suffix}").is_file() for name in TABLES for suffix in FILE_SUFFIXES
    )


def open_file(connection: BaseBackend, name: str, path: Path) -> Source:
    """Read ``path`` (CSV as text, Parquet typed) in the engine, numbering its rows in file order.

    Raises ContractError when the file cannot be parsed.
    """
    view = f"cv_source_{name}"
    try:
        if connection.name == "pyspark":
            table = _spark_file(connection, view, path)
        else:
            table = _duckdb_file(connection, view, path)
        # The whole file is read once here, so a parse error past the first row (a bad
        # byte, an extra field, an unbalanced quote) surfaces now, naming its line, and
        # not in a later query as an engine exception.
        table.count().to_pyarrow()
    except ContractError:
        raise
    except Exception as error:  # noqa: BLE001 - any reader failure makes the file unusable
        message = _one_line(error)
        if _out_of_memory(error):
            raise EngineError(f"{path}: the engine ran out of memory reading it; raise engine.memory_limit ({message[:160]})") from None
        line = re.search(r"(?:Line|line):? ?([0-9]+)", message)
        where = f"{path}: line {line.group(1)}" if line else str(path)
        if "unicode" in message.lower() or "utf-8" in message.lower() or "utf8" in message.lower():
            raise ContractError(f"{where}: not UTF-8 text (save the file as UTF-8)") from None
        raise ContractError(f"{where}: cannot be parsed ({_parse_reason(message)})") from None
    stripped = {column.strip(): column for column in table.columns if column != ROW and column.strip() != column}
    if stripped:
        table = table.rename(stripped)
    return Source(name, str(path), table, connection.name, path)


def csv_header(path: Path) -> list[str]:
    """The column names of a CSV file's header row. Raises ContractError for a file
    without one, one not in UTF-8, or a repeated column (which of two is meant?)."""
    import csv

    with path.open("rb") as handle:
        first = handle.readline()
    try:
        header = next(csv.reader([first.decode("utf-8-sig").rstrip("\r\n")]), None)
    except UnicodeDecodeError:
        raise ContractError(f"{path}: line 1: not UTF-8 text (save the file as UTF-8)") from None
    if not header or not any(name.strip() for name in header):
        raise ContractError(f"{path}: no header row")
    seen: set[str] = set()
    for name in header:
        if name.strip() in seen:
            raise ContractError(f"{path}: line 1: column '{name.strip()}' appears twice")
        seen.add(name.strip())
    return header


def _parse_reason(message: str) -> str:
    """The reader's reason for a parse error, without its dump of reader options."""
    for known, reason in (
        ("Expected Number of Columns", "a row has more or fewer fields than the header"),
        ("unterminated quote", "a quoted field is never closed"),
        ("quote", "a quoted field is never closed"),
    ):
        if known.lower() in message.lower():
            return reason
    return message.split("Possible Solution")[0].split("Original Line")[0][:200].strip()


def _duckdb_file(connection: BaseBackend, view: str, path: Path) -> ibis.Table:
    location = str(path).replace("'", "''")
    if path.suffix == ".parquet":
        reader = f"SELECT file_row_number + 1 AS {ROW}, * EXCLUDE (file_row_number) FROM read_parquet('{location}', file_row_number = true)"
    else:
        # Every cell as text (the contract's parser types it); an empty cell is missing.
        # row_number() OVER () is a streaming window in DuckDB: it keeps the file's order.
        # The header is read here and the columns named, so the dialect is never guessed
        # from a sample: a bad row anywhere in the file is an error naming its line.
        columns = ", ".join(f"'{name.replace(chr(39), chr(39) * 2)}': 'VARCHAR'" for name in csv_header(path))
        reader = (
            f"SELECT row_number() OVER () AS {ROW}, * FROM read_csv('{location}', header = true, columns = {{{columns}}}, "
            "delim = ',', quote = '\"', escape = '\"', auto_detect = false, normalize_names = false, encoding = 'utf-8')"
        )
    connection.raw_sql(f'CREATE OR REPLACE TEMP VIEW "{view}" AS {reader}')
    return connection.table(view)


def _spark_file(connection: BaseBackend, view: str, path: Path) -> ibis.Table:
    session = connection._session  # noqa: SLF001 - ibis exposes no public handle to the session
    if path.suffix == ".parquet":
        frame = session.read.parquet(str(path))
    else:
        frame = session.read.csv(str(path), header=True, inferSchema=False, encoding="UTF-8", multiLine=True, escape='"')
    numbered = _spark_numbered(session, frame).persist()
    numbered.createOrReplaceTempView(view)
    return connection.table(view)


def _spark_numbered(session, frame):  # noqa: ANN001, ANN202 - pyspark types, imported lazily
    """``frame`` with :data:`ROW` = its position in the file, computed on the JVM.

    ``monotonically_increasing_id`` is the partition index shifted left 33 bits plus the
    position within the partition, and partitions of a file scan follow the file's order;
    adding the row counts of the partitions before gives consecutive numbers. (The result
    is persisted, so every later query sees the same numbering.)
    """
    from pyspark.sql import functions as F

    tagged = frame.withColumn("_cv_partition", F.spark_partition_id()).withColumn("_cv_id", F.monotonically_increasing_id())
    counts = sorted((row["_cv_partition"], row["count"]) for row in tagged.groupBy("_cv_partition").count().collect())
    offsets, before = [], 0
    for partition, count in counts:
        offsets.append((partition, before))
        before += count
    offset_frame = session.createDataFrame(offsets or [(0, 0)], "_cv_partition int, _cv_offset long")
    position = F.col("_cv_id") - F.shiftleft(F.col("_cv_partition").cast("long"), 33)
    row = (F.col("_cv_offset") + position + 1).alias(ROW)
    return tagged.join(F.broadcast(offset_frame), "_cv_partition").select(row, *[F.col(f"`{name}`") for name in frame.columns])


def open_table(connection: BaseBackend, name: str, qualified: str, key: str) -> Source:
    """A table of the connection as the source of contract table ``name``.

    Its rows are numbered in the order of ``key`` then every other column, so "the first
    of two rows with the same key" is well defined without a file order.
    """
    database, _, table_name = qualified.rpartition(".")
    try:
        table = connection.table(table_name, database=database or None)
    except Exception as error:  # noqa: BLE001 - any lookup failure: the table is not there
        raise ContractError(f"{connection.name} table {qualified}: not found ({_one_line(error)[:160]})") from None
    order = [key, *[column for column in table.columns if column != key]] if key in table.columns else list(table.columns)
    numbered = table.mutate(**{ROW: ibis.row_number().over(order_by=order) + 1})
    return Source(name, f"{connection.name} table {qualified}", numbered.select(ROW, *table.columns), connection.name)


def strip_spaces(value: ibis.StringValue, backend: str) -> ibis.StringValue:
    """``value`` without leading and trailing white space, on any backend.

    ibis 12 renders ``strip()`` for Spark as ``TRIM(' \\t\\n\\r\\v\\f' FROM ...)``, and Spark SQL
    reads the unknown escapes ``\\v`` and ``\\f`` as the letters v and f (``'false'`` would
    lose its f). A regular expression says the same thing portably.
    """
    if backend == "pyspark":
        return value.re_replace(r"^\s+|\s+$", "")
    return value.strip()


def settle(connection: BaseBackend) -> None:
    """Once the sources are read and validated: on DuckDB, compress the working tables
    and let rows come back in any order.

    A checkpoint compresses the in-memory working database (20M orders take 0.4 GB
    instead of 1.8 GB). Row numbers depend on the file order only while the sources are
    read; after that, order preservation only costs memory (DuckDB's advice for large
    workloads), and every result that needs an order asks for it.
    """
    if connection.name == "duckdb":
        connection.raw_sql(f"CHECKPOINT {WORK_DATABASE}")
        connection.raw_sql("SET preserve_insertion_order = false")


def work_database(connection: BaseBackend) -> tuple[str, str] | None:
    """Where :func:`materialize` keeps its tables: DuckDB's working database (``None``,
    the current database, elsewhere)."""
    return (WORK_DATABASE, "main") if connection.name == "duckdb" else None


def materialize(connection: BaseBackend, name: str, expression: ibis.Table) -> ibis.Table:
    """Compute ``expression`` once and keep it in the session as table ``name`` (in
    :func:`work_database`)."""
    if connection.name == "pyspark":
        session = connection._session  # noqa: SLF001 - see _spark_file
        frame = session.sql(connection.compile(expression)).persist()
        frame.createOrReplaceTempView(name)
        frame.count()  # persist() is lazy; count() computes it now
        return connection.table(name)
    database = work_database(connection)
    if database is not None:
        connection.create_table(name, expression, database=".".join(database), overwrite=True)
        return connection.table(name, database=database)
    return connection.create_table(name, expression, temp=True, overwrite=True)


def create_empty(connection: BaseBackend, name: str, schema: ibis.Schema) -> ibis.Table:
    """An empty table with ``schema`` (an absent optional input table)."""
    return materialize(connection, name, ibis.memtable(schema.to_pyarrow().empty_table()))


def fetch(expression: ibis.Table, in_order_of: str | None = None) -> pd.DataFrame:
    """Bring a (compact) result into pandas through Arrow, dates as ``datetime64[ns]``.

    Arrow avoids the Python ``Decimal`` round trip of ``execute()`` for DuckDB's HUGEINT
    sums and gives one set of types on every backend. The Arrow table is released a few
    columns at a time as pandas takes it over, so a large result is not held twice.

    ``in_order_of`` names a column numbering the rows 0, 1, ... n-1: the rows come back
    in that order, without the column. The engine need not sort (a sort of a wide result
    costs more than the query): its rows come back in runs of that order, which are put
    in place here (see :func:`runs_in_order`).
    """
    table = expression.to_pyarrow()
    order: slice | np.ndarray = slice(None)
    if in_order_of is not None:
        table, order = runs_in_order(table, in_order_of)
        table = table.drop_columns([in_order_of])
    dated = {field.name for field in table.schema if pa.types.is_date(field.type) or pa.types.is_timestamp(field.type)}
    columns: dict[str, object] = {}
    group = 2 * (os.cpu_count() or 1)
    while table.num_columns:
        names = table.column_names[:group]
        part = _owned_text(table.select(names)).to_pandas(date_as_object=False, split_blocks=True)
        table = table.drop_columns(names)
        for name in names:
            values = part[name].astype("datetime64[ns]") if name in dated else part[name]
            columns[name] = values.array if isinstance(order, slice) else values.array.take(order)
        del part
    return pd.DataFrame(columns, copy=False)


def fetch_scattered(expression: ibis.Table, position: str, rows: int) -> dict[str, np.ndarray]:
    """The numeric columns of ``expression`` as arrays of ``rows`` values: each result row
    goes where its ``position`` column (0 to ``rows`` - 1) says, zero elsewhere and for NULL.

    For a result that is sparse in a grid known in advance (activity by customer and
    quarter): the engine returns only the rows where something happened, with their
    place, so it neither joins them to the whole grid nor sorts them. Rows are put in
    place one Arrow batch at a time, and each batch is released once placed.
    """
    table = expression.to_pyarrow()
    columns: dict[str, np.ndarray] = {}
    for field_ in table.schema:
        if field_.name == position:
            continue
        if not (pa.types.is_integer(field_.type) or pa.types.is_floating(field_.type)):
            raise TypeError(f"fetch_scattered: column {field_.name} is {field_.type}, not a number")
        columns[field_.name] = zeros(rows, field_.type.to_pandas_dtype())
    batches = table.to_batches()
    del table
    while batches:
        batch = batches.pop()
        places = batch.column(position)
        if places.null_count:
            raise ValueError(f"fetch_scattered: {places.null_count} rows have no {position}")
        at = places.to_numpy()
        if at.size and (at.min() < 0 or at.max() >= rows):
            raise ValueError(f"fetch_scattered: {position} outside 0..{rows - 1}")
        for name, target in columns.items():
            values = batch.column(name)
            target[at] = (pc.fill_null(values, 0) if values.null_count else values).to_numpy()
    return columns


def _owned_text(table: pa.Table) -> pa.Table:
    """``table`` with its text columns copied into buffers of their own.

    pandas keeps Arrow text as it is, without copying. But arrays imported from an
    engine (DuckDB hands results over through Arrow's C data interface) are released
    a whole batch at a time: one text column kept by pandas would keep every column
    of the result alive (2.2 GB for the activity table at a million customers).
    """
    for at, field in enumerate(table.schema):
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type) or pa.types.is_binary(field.type):
            column = table.column(at)
            copied = pa.chunked_array([pa.concat_arrays(column.chunks)] if column.num_chunks else [], type=field.type)
            table = table.set_column(at, field, copied)
    return table


def runs_in_order(table: pa.Table, position: str, most_runs: int = 10_000) -> tuple[pa.Table, slice | np.ndarray]:
    """``table`` with its runs of consecutive ``position`` values put in order, and what
    remains to reorder its rows (``slice(None)``: nothing).

    ``position`` numbers the rows 0..n-1. Engines hand back rows mostly in runs of the
    order they were read in (DuckDB: under a hundred runs for seven million rows of a
    join whose probe side is in that order). Runs are rearranged without copying; only
    when there are more than ``most_runs`` are rows reordered one by one.
    """
    numbers = table.column(position).to_numpy()
    starts = np.flatnonzero(np.diff(numbers, prepend=-2) != 1)
    if len(starts) > most_runs:
        order = np.empty(len(numbers), dtype=np.int64)
        order[numbers] = np.arange(len(numbers))
        return table, order
    ends = np.append(starts[1:], len(numbers))
    runs = sorted(zip(numbers[starts].tolist(), starts.tolist(), ends.tolist()))
    return pa.concat_tables([table.slice(start, end - start) for _, start, end in runs]), slice(None)


_HASHED: dict[tuple, str] = {}
"""SHA-256 of files hashed by this process, keyed by path and :func:`_file_state`."""


def file_sha256(path: Path) -> str:
    """The SHA-256 of ``path``'s content, read in blocks (a raw file may be gigabytes).

    A file is read once per process while its state is unchanged: the check of whether a
    quarter is up to date and the load that follows it share one pass. The state includes
    the change time, which every write moves and no user tool can set back, so a file
    written in between is read again. Should a write ever go unseen (a file system with
    coarse times), the manifest records the hash from before it, and the next run, a new
    process that reads every file afresh, finds a difference and scores again: a stale
    hash can cost work, never skip it.
    """
    key = (str(Path(path).resolve()), *_file_state(path))
    if key not in _HASHED:
        with path.open("rb") as handle:
            _HASHED[key] = hashlib.file_digest(handle, "sha256").hexdigest()
    return _HASHED[key]


def _file_state(path: Path) -> tuple[int, ...]:
    status = path.stat()
    return status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns


def engine_type(kind: str) -> dt.DataType:
    """The engine type of a contract column kind (see :func:`custvalue.contract.column_kind`)."""
    return {"text": dt.string, "date": dt.date, "decimal": dt.float64, "integer": dt.int64, "boolean": dt.boolean}[kind]


def without_secrets(config: dict) -> dict:
    """A configuration dictionary with any password in ``engine.url`` masked (it is written
    into the manifest of every scored quarter)."""
    engine = dict(config.get("engine", {}))
    if engine.get("url"):
        engine["url"] = re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", engine["url"])
    return {**config, "engine": engine}


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())

"""Other engine backends for the tests: a throwaway PostgreSQL server and a local Spark.

Session-scoped pytest fixtures (register with ``pytest_plugins = ["tests.backends"]`` in
``tests/conftest.py``, or import them into a test module):

``postgres_url``
    A fresh PostgreSQL cluster (``initdb`` in a temporary folder, trust authentication,
    listening on 127.0.0.1 at a free port and on a private Unix socket folder) with one
    empty database; yields its URL and stops and removes the cluster at the end. As root,
    the server runs as the ``postgres`` user (PostgreSQL refuses to run as root).
``spark_connection``
    ``ibis.pyspark`` on a ``local[2]`` SparkSession with few shuffle partitions, no UI,
    a temporary warehouse folder and quiet logging.

Missing binaries (PostgreSQL, Java, pyspark) skip the tests with the reason, except when
``CI=true``: then they fail, so a CI machine without the server cannot pass by skipping.

``engine_on(connection, tables)`` puts contract tables (pandas frames) into any Ibis
connection with the engine schema (see :func:`custvalue.features.engine_arrow_table`).
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from custvalue.contract import TABLES
from custvalue.engine import Engine
from custvalue.frames import engine_arrow_table

POSTGRES_USER = "postgres"
DATABASE = "custvalue"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> None:
    """Skip (locally) or fail (in CI) for a backend that cannot be started."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: a missing backend is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


def engine_on(connection, tables: Mapping[str, pd.DataFrame]) -> Engine:
    """An engine on ``connection`` holding every contract table of ``tables`` (absent
    optional tables are created empty), with the engine schema."""
    for name in TABLES:
        put_table(connection, name, engine_arrow_table(name, tables.get(name)))
    return Engine(connection)


def put_table(connection, name: str, table: pa.Table) -> None:
    """Create table ``name`` from Arrow data in any of the three backends."""
    if connection.name == "pyspark":
        # ibis 12 sends in-memory data to Spark through pandas, where a nullable int64
        # column becomes float and Spark then reads every value as NULL; PySpark 4 takes
        # Arrow directly. A cached temporary view, as the engine loader keeps tables.
        session = connection._session  # noqa: SLF001 - ibis exposes no public handle
        frame = session.createDataFrame(table).cache()
        frame.createOrReplaceTempView(name)
        return
    connection.create_table(name, table, overwrite=True)


# --------------------------------------------------------------------------- PostgreSQL


def postgres_bindir() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl`` of the newest PostgreSQL installed (Debian
    keeps them under /usr/lib/postgresql/<version>/bin, off the PATH)."""

    def version(path: str) -> tuple[int, ...]:
        match = re.search(r"postgresql/([0-9.]+)/bin", path)
        return tuple(int(part) for part in match.group(1).split(".")) if match else (0,)

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    for folder in candidates:
        if all((Path(folder) / tool).is_file() for tool in ("initdb", "pg_ctl", "createdb")):
            return Path(folder)
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """A PostgreSQL cluster in a temporary folder, run by a non-root user."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.as_root = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="custvalue-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.log = self.root / "server.log"
        self.port = free_port()
        self.sockets.mkdir()
        if self.as_root:
            account = pwd.getpwnam(POSTGRES_USER)
            for path in (self.root, self.sockets):
                os.chown(path, account.pw_uid, account.pw_gid)

    def run(self, tool: str, *args: str) -> subprocess.CompletedProcess:
        command = [str(self.bindir / tool), *args]
        if self.as_root:
            command = ["runuser", "-u", POSTGRES_USER, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, cwd=self.root, timeout=120)

    def check(self, tool: str, *args: str) -> None:
        done = self.run(tool, *args)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr.strip()}\n{log}")

    def start(self) -> str:
        self.check(
            "initdb", "-D", str(self.data), "-U", POSTGRES_USER, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"
        )
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-c port={self.port}",
                f"-c unix_socket_directories={self.sockets}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=20",
                "-c shared_buffers=128MB",
                "-c work_mem=64MB",
                "-c timezone=UTC",
            ]
        )
        self.check("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")
        self.check("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", POSTGRES_USER, DATABASE)
        return f"postgres://{POSTGRES_USER}@127.0.0.1:{self.port}/{DATABASE}"

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of an empty database on a throwaway PostgreSQL server (see the module docstring)."""
    bindir = postgres_bindir()
    if bindir is None:
        unavailable("PostgreSQL server binaries (initdb, pg_ctl) not found; install Debian's postgresql")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(POSTGRES_USER)
        except KeyError:
            unavailable(f"running as root and no {POSTGRES_USER!r} user to run PostgreSQL as")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable("psycopg (the PostgreSQL driver of ibis) is not installed")
    server = PostgresServer(bindir)
    try:
        url = server.start()
    except Exception as error:  # noqa: BLE001 - reported as the skip/fail reason
        server.stop()
        unavailable(f"PostgreSQL did not start: {error}")
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_connection(postgres_url):
    import ibis

    connection = ibis.connect(postgres_url)
    yield connection
    connection.disconnect()


# --------------------------------------------------------------------------- Spark


@pytest.fixture(scope="session")
def spark_connection(tmp_path_factory):
    """``ibis.pyspark`` on a local[2] SparkSession (one per test session: starting the JVM
    takes seconds)."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        unavailable("Java not found (PySpark needs a JVM, e.g. Debian's openjdk-17-jre-headless)")
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        unavailable("pyspark is not installed")
    import ibis

    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("custvalue-tests")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.driver.memory", "2g")
        # Many small queries on little data: adaptive execution and the optimising JIT
        # compiler cost more than they save (together about 40% of the tests' time).
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.driver.extraJavaOptions", "-XX:+UseSerialGC -XX:TieredStopAtLevel=1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield ibis.pyspark.connect(session)
    finally:
        session.stop()

"""Shared fixtures: small demo worlds written to a temporary raw folder."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from custvalue.demo import DemoSpec, generate_world, write_world
from custvalue.paths import demo_truth_path

# The PostgreSQL server and Spark session fixtures (tests/backends.py).
pytest_plugins = ["tests.backends"]

REPO = Path(__file__).resolve().parents[1]
"""This checkout (itself a custvalue project folder)."""
PROJECT_FOLDERS = ("data", "reports", "config", "notebooks", "src/custvalue/notebooks")
"""The checkout's folders a run started elsewhere must never write to."""


@dataclass(frozen=True)
class WorldOnDisk:
    raw_dir: Path
    truth: pd.DataFrame
    root: Path


def write_demo(root: Path, **spec) -> WorldOnDisk:
    world = generate_world(DemoSpec(**spec))
    raw = root / "raw"
    write_world(world, raw, demo_truth_path(raw))
    return WorldOnDisk(raw, world.truth, root)


@pytest.fixture(scope="session")
def small_world(tmp_path_factory) -> WorldOnDisk:
    """A 600-customer demo world ending 2026-06-30 (last complete quarter 2026Q2)."""
    return write_demo(tmp_path_factory.mktemp("small_world"), n_customers=600, seed=11, end=date(2026, 6, 30))


@pytest.fixture(scope="session")
def hostile_world(tmp_path_factory) -> WorldOnDisk:
    """A small world whose customer names and notes carry HTML and formula payloads."""
    return write_demo(tmp_path_factory.mktemp("hostile_world"), n_customers=300, seed=5, hostile_names=True)


def render_report(world: WorldOnDisk, out: Path, notebooks: Path | None = None, processed: str | None = "processed") -> subprocess.CompletedProcess:
    """Run ``custvalue report`` on a world as a user would, from ``out`` with relative
    output paths (as `make report` passes them); ``processed=None`` leaves the processed
    folder to its default (``out/data/processed``: ``out`` is no project folder)."""
    command = [sys.executable, "-m", "custvalue", "report", "--raw", world.raw_dir, "--out", "reports"]
    if processed is not None:
        command += ["--processed", processed]
    if notebooks is not None:
        command += ["--notebooks", notebooks]
    return subprocess.run([str(part) for part in command], capture_output=True, text=True, cwd=out)


def project_files(root: Path = REPO) -> dict[str, tuple[str, int]]:
    """Every file and folder under the checkout's :data:`PROJECT_FOLDERS`: path -> (SHA-256,
    modification time in ns); folders have no hash."""
    found = {}
    for name in PROJECT_FOLDERS:
        for folder, subfolders, files in os.walk(root / name):
            for entry in [*subfolders, *files]:
                path = Path(folder) / entry
                digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
                found[str(path.relative_to(root))] = (digest, path.stat().st_mtime_ns)
    return found


@dataclass(frozen=True)
class ReportRun:
    """One run of ``custvalue report`` and the checkout's files before and after it."""

    out: Path
    result: subprocess.CompletedProcess
    seconds: float
    project_before: dict[str, tuple[str, int]]
    project_after: dict[str, tuple[str, int]]


@pytest.fixture(scope="session")
def small_report_run(small_world, tmp_path_factory) -> ReportRun:
    """The small world's report, rendered once, as a new user would from a scratch folder:
    ``custvalue report --raw <raw> --out reports``, every other folder left to its default."""
    out = tmp_path_factory.mktemp("small_report")
    before = project_files()
    start = time.perf_counter()
    result = render_report(small_world, out, processed=None)
    seconds = time.perf_counter() - start
    assert result.returncode == 0, result.stderr
    return ReportRun(out, result, seconds, before, project_files())


@pytest.fixture(scope="session")
def small_report(small_report_run) -> tuple[Path, subprocess.CompletedProcess]:
    """The small world's report: (the scratch folder it was run from, the finished command).
    Its scored quarter is in ``data/processed/2026Q2`` under that folder."""
    return small_report_run.out, small_report_run.result

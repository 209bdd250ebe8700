"""Shared fixtures: small demo worlds written to a temporary raw folder."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from custvalue.demo import DemoSpec, generate_world, write_world
from custvalue.paths import demo_truth_path

# The PostgreSQL server and Spark session fixtures (tests/backends.py).
pytest_plugins = ["tests.backends"]


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


def render_report(world: WorldOnDisk, out: Path, notebooks: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``custvalue report`` on a world as a user would, from ``out`` with relative
    output paths (as `make report` passes them)."""
    command = [sys.executable, "-m", "custvalue", "report", "--raw", world.raw_dir, "--out", "reports", "--processed", "processed"]
    if notebooks is not None:
        command += ["--notebooks", notebooks]
    return subprocess.run([str(part) for part in command], capture_output=True, text=True, cwd=out)


@pytest.fixture(scope="session")
def small_report(small_world, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """The small world's report, rendered once: (output folder, the finished command)."""
    out = tmp_path_factory.mktemp("small_report")
    result = render_report(small_world, out)
    assert result.returncode == 0, result.stderr
    return out, result

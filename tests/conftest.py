"""Shared fixtures: small demo worlds written to a temporary raw folder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from custvalue.demo import DemoSpec, generate_world, write_world
from custvalue.paths import demo_truth_path


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

"""Where things live. Every default path in the project comes from here.

The project root is the folder holding ``pyproject.toml`` above this package (an
editable install or a checkout), else the current working directory. Set
``CUSTVALUE_HOME`` to point the defaults at another project folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from custvalue.quarters import Quarter


def _find_project_root() -> Path:
    override = os.environ.get("CUSTVALUE_HOME")
    if override:
        return Path(override).resolve()
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file():
        return checkout
    return Path.cwd()


PROJECT_ROOT = _find_project_root()
RAW_DIR = PROJECT_ROOT / "data" / "raw"
PROCESSED_DIR = PROJECT_ROOT / "data" / "processed"
REPORTS_DIR = PROJECT_ROOT / "reports"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
CONFIG_PATH = PROJECT_ROOT / "config" / "custvalue.yaml"


def demo_truth_path(raw_dir: Path | str) -> Path:
    """Where a demo world's ground truth is kept: beside its raw folder, never inside it."""
    return Path(raw_dir).resolve().parent / "demo_ground_truth.csv"


@dataclass(frozen=True)
class QuarterOutputs:
    """The files one scored quarter consists of, under ``processed_dir/<quarter>/``."""

    processed_dir: Path
    quarter: Quarter

    @property
    def folder(self) -> Path:
        return Path(self.processed_dir) / str(self.quarter)

    @property
    def scorecard_parquet(self) -> Path:
        return self.folder / "scorecard.parquet"

    @property
    def scorecard_csv(self) -> Path:
        return self.folder / "scorecard.csv"

    @property
    def history_parquet(self) -> Path:
        """Per customer and quarter: the review's criteria and strikes."""
        return self.folder / "quarterly.parquet"

    @property
    def quality_json(self) -> Path:
        """Accepted/rejected counts by table and reason."""
        return self.folder / "quality.json"

    @property
    def rejected_dir(self) -> Path:
        return self.folder / "rejected"

    @property
    def manifest_json(self) -> Path:
        """What produced this run: inputs' hashes, config, package version."""
        return self.folder / "manifest.json"

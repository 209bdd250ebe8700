"""Where things live. Every default path in the project comes from here.

Defaults are relative to the *project folder*, found from the folder the user stands in,
never from where the package is installed:

1. ``CUSTVALUE_HOME``, when set, names the project folder;
2. else the nearest folder, from the working folder upwards, that holds
   ``config/custvalue.yaml`` or a ``pyproject.toml`` with a ``[tool.custvalue]`` table;
3. else the working folder itself.

Under it: ``data/raw``, ``data/processed``, ``reports``, ``notebooks`` and
``config/custvalue.yaml``. A ``[tool.custvalue]`` table may name other folders (keys
``raw``, ``processed``, ``reports``, ``notebooks``, ``config``; relative to the project
folder).

The one thing read from the package itself is the report's notebooks, shipped with it as
package data (:data:`PACKAGED_NOTEBOOKS_DIR`): they are used when the project folder has
none of its own (see :func:`report_notebooks_dir`).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from custvalue.errors import ConfigError
from custvalue.quarters import Quarter

HOME_VARIABLE = "CUSTVALUE_HOME"
CONFIG_FILE = Path("config") / "custvalue.yaml"
"""The project's configuration, relative to the project folder; it also marks the folder."""
PROJECT_TABLE = "tool.custvalue"
PACKAGED_NOTEBOOKS_DIR = Path(__file__).resolve().parent / "notebooks"
"""The report's notebooks as shipped with the package (read only)."""

# Folders a [tool.custvalue] table may name, with their defaults under the project folder.
DEFAULT_FOLDERS: dict[str, Path] = {
    "raw": Path("data") / "raw",
    "processed": Path("data") / "processed",
    "reports": Path("reports"),
    "notebooks": Path("notebooks"),
    "config": CONFIG_FILE,
}


@dataclass(frozen=True)
class Project:
    """The project folder and the default locations under it (all absolute)."""

    root: Path
    found_by: str
    """How ``root`` was found, in words (printed at the start of a run)."""
    raw: Path
    processed: Path
    reports: Path
    notebooks: Path
    config_file: Path
    """Where the project's configuration would be; see :attr:`config`."""

    @property
    def config(self) -> Path | None:
        """The project's configuration file, or ``None`` when it has none (the defaults apply)."""
        return self.config_file if self.config_file.is_file() else None

    @property
    def docs(self) -> Path:
        return self.root / "docs"


def find_project(start: Path | str | None = None) -> Project:
    """The project folder for a run started in ``start`` (default: the working folder).

    Raises
    ------
    ConfigError
        When a ``[tool.custvalue]`` table is not valid (not TOML, an unknown key, a value
        that is not a path).
    """
    start = Path(start or Path.cwd()).resolve()
    override = os.environ.get(HOME_VARIABLE)
    if override:
        root = Path(override).expanduser().resolve()
        return _project(root, f"${HOME_VARIABLE}", _declared_folders(root / "pyproject.toml"))
    for folder in (start, *start.parents):
        declared = _declared_folders(folder / "pyproject.toml")
        if declared is not None:
            return _project(folder, "pyproject.toml [tool.custvalue]", declared)
        if (folder / CONFIG_FILE).is_file():
            return _project(folder, str(CONFIG_FILE), None)
    return _project(start, f"the working folder: no {CONFIG_FILE} or [tool.custvalue] in it or above it", None)


def _project(root: Path, found_by: str, declared: dict[str, Path] | None) -> Project:
    folders = {name: root / (declared or {}).get(name, default) for name, default in DEFAULT_FOLDERS.items()}
    return Project(root=root, found_by=found_by, raw=folders["raw"], processed=folders["processed"], reports=folders["reports"],
                   notebooks=folders["notebooks"], config_file=folders["config"])


def _declared_folders(pyproject: Path) -> dict[str, Path] | None:
    """The folders a ``pyproject.toml`` declares in ``[tool.custvalue]`` (``{}`` for an
    empty table), or ``None`` when it has no such table or there is no such file."""
    if not pyproject.is_file():
        return None
    text = pyproject.read_text(encoding="utf-8", errors="replace")
    if PROJECT_TABLE not in text:
        # Not ours: an unrelated project's pyproject.toml is never parsed (nor blamed).
        return None
    try:
        table = tomllib.loads(text).get("tool", {}).get("custvalue")
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{pyproject}: not valid TOML ({error})") from None
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.custvalue] must be a table")
    unknown = sorted(set(table) - set(DEFAULT_FOLDERS))
    if unknown:
        raise ConfigError(f"{pyproject}: [tool.custvalue]: unknown key(s) {', '.join(unknown)}; known: {', '.join(DEFAULT_FOLDERS)}")
    wrong = sorted(name for name, value in table.items() if not isinstance(value, str) or not value.strip())
    if wrong:
        raise ConfigError(f"{pyproject}: [tool.custvalue]: {', '.join(wrong)} must be a path (text)")
    return {name: Path(value) for name, value in table.items()}


def report_notebooks_dir(project_notebooks: Path, notebook_names: list[str]) -> tuple[Path, bool]:
    """Where the report's notebooks are read from when ``--notebooks`` is not given:
    ``project_notebooks`` when it holds any of ``notebook_names`` (a project's own,
    possibly edited, pages; then it must hold all of them), else the packaged ones.
    Returns the folder and whether it is the packaged one."""
    if any((project_notebooks / name).is_file() for name in notebook_names):
        return project_notebooks, False
    return PACKAGED_NOTEBOOKS_DIR, True


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

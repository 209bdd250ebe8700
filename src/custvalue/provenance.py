"""Provenance: what an output was made from, and whether it is still current.

A scored quarter's ``manifest.json`` records what made it: each input file's SHA-256, the
configuration's fingerprint, the custvalue version, a fingerprint of the package's code
(an editable install changes code without changing its version), the quarter, and the
last complete quarter of those inputs (so a run that did not name its quarter can find
it without loading the data). A report folder's ``report.json`` records the scored
quarter it shows (the SHA-256 of that manifest), the notebooks' SHA-256 and the same
version and code fingerprint.

A step is skipped only when its record matches, field by field, what it would be made
from now; the input files are hashed every time (their size and modification time are
not trusted: a copy can keep both), and any input that cannot be hashed (a warehouse
table) means the step runs.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from custvalue import __version__
from custvalue.config import Config, EngineSettings
from custvalue.contract import TABLES
from custvalue.engine import file_sha256, find_table_file
from custvalue.loading import require_raw_folder
from custvalue.paths import QuarterOutputs
from custvalue.quarters import Quarter

REPORT_RECORD = "report.json"
"""The record of a report folder, beside its pages."""
SCORED_OUTPUTS = ("scorecard.parquet", "scorecard.csv", "quarterly.parquet", "statuses.parquet", "movement.parquet",
                  "move_on.parquet", "quality.json", "cost_to_serve", "payment", "lifetime", "rejected")
"""What a scored quarter's folder holds besides its manifest: a skip needs all of it."""


@functools.cache
def code_fingerprint() -> str:
    """A short SHA-256 of the package's Python source and notebooks (paths and contents)."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted([*package.rglob("*.py"), *package.rglob("*.ipynb")]):
        if ".ipynb_checkpoints" in path.parts:
            continue
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def input_hashes(raw_dir: Path | str | None, settings: EngineSettings) -> dict[str, str | None] | None:
    """Each contract table's file SHA-256 (``None``: an absent table), or ``None`` when the
    inputs are tables in a warehouse, which cannot be fingerprinted.

    Raises
    ------
    ContractError
        When the raw folder is missing, or holds a table twice (CSV and Parquet).
    """
    raw_dir = Path(raw_dir) if raw_dir is not None else None
    require_raw_folder(raw_dir, settings)
    if settings.tables:
        return None
    hashes = {}
    for name in TABLES:
        path = find_table_file(raw_dir, name)
        hashes[name] = file_sha256(path) if path is not None else None
    return hashes


def identity(hashes: dict[str, str | None], config: Config) -> dict[str, Any]:
    """What a scored quarter is made from, besides its quarter (compared field by field)."""
    return {
        "inputs": hashes,
        "config_fingerprint": config.fingerprint(),
        "custvalue_version": __version__,
        "code_fingerprint": code_fingerprint(),
    }


def identity_of_manifest(manifest: dict) -> dict[str, Any]:
    """:func:`identity` as a written manifest records it."""
    return {
        "inputs": {name: entry.get("sha256") for name, entry in manifest.get("inputs", {}).items()},
        "config_fingerprint": manifest.get("config_fingerprint"),
        "custvalue_version": manifest.get("custvalue_version"),
        "code_fingerprint": manifest.get("code_fingerprint"),
    }


@dataclass(frozen=True)
class Verdict:
    """Whether a step's output is current; ``why`` says it in words."""

    current: bool
    why: str
    quarter: Quarter | None = None


def scored_verdict(processed_dir: Path | str, raw_dir: Path | str | None, config: Config, quarter: Quarter | None) -> Verdict:
    """Whether ``processed_dir`` holds ``quarter`` (default: the last complete quarter of
    the inputs) scored from these inputs, this configuration and this code."""
    hashes = input_hashes(raw_dir, config.engine)
    if hashes is None:
        return Verdict(False, "the inputs are warehouse tables, which cannot be fingerprinted")
    wanted = identity(hashes, config)
    manifests = _manifests(Path(processed_dir))
    if quarter is None:
        quarter = _recorded_last_complete(manifests, wanted)
        if quarter is None:
            if not manifests:
                return Verdict(False, f"nothing scored yet in {processed_dir}")
            latest = max(manifests)
            return Verdict(False, f"{_differences(manifests[latest], wanted)} since {latest} was scored")
    if quarter not in manifests:
        return Verdict(False, f"{quarter} has not been scored in {processed_dir}", quarter)
    differences = _differences(manifests[quarter], wanted)
    if differences:
        return Verdict(False, f"{differences} since {quarter} was scored", quarter)
    folder = QuarterOutputs(Path(processed_dir), quarter).folder
    missing = [name for name in SCORED_OUTPUTS if not (folder / name).exists()]
    if missing:
        return Verdict(False, f"{', '.join(missing)} missing from {folder}", quarter)
    written = manifests[quarter].get("written_at", "")
    return Verdict(True, f"{quarter} is up to date (same inputs, configuration and custvalue {__version__} as the run of {written})", quarter)


def recorded_last_complete_quarter(processed_dir: Path | str, raw_dir: Path | str | None, config: Config) -> Quarter | None:
    """The inputs' last complete quarter as recorded by a quarter scored in
    ``processed_dir`` from these inputs, this configuration and this code (without loading
    the data), or ``None`` when there is none."""
    hashes = input_hashes(raw_dir, config.engine)
    return None if hashes is None else _recorded_last_complete(_manifests(Path(processed_dir)), identity(hashes, config))


def _recorded_last_complete(manifests: dict[Quarter, dict], wanted: dict[str, Any]) -> Quarter | None:
    # The last complete quarter depends only on what the identity covers.
    for manifest in manifests.values():
        if identity_of_manifest(manifest) == wanted:
            try:
                return Quarter.parse(manifest.get("last_complete_quarter") or "")
            except ValueError:  # not recorded (an older manifest)
                continue
    return None


def _manifests(processed_dir: Path) -> dict[Quarter, dict]:
    """The readable manifests of the quarters scored in ``processed_dir``."""
    found = {}
    for path in processed_dir.glob("*/manifest.json"):
        manifest = read_record(path)
        try:
            quarter = Quarter.parse(path.parent.name)
        except ValueError:  # a staging folder, or not ours
            continue
        if manifest is not None and manifest.get("quarter") == str(quarter):
            found[quarter] = manifest
    return found


def _differences(manifest: dict, wanted: dict[str, Any]) -> str:
    """What differs between a manifest and ``wanted``, in words ("" when nothing does)."""
    recorded = identity_of_manifest(manifest)
    changed = [_changed(field, recorded[field], wanted[field]) for field in wanted if recorded[field] != wanted[field]]
    return " and ".join(changed) + (" changed" if changed else "")


def _changed(field: str, recorded: Any, wanted: Any) -> str:
    if field == "inputs":
        names = sorted(name for name in set(recorded or {}) | set(wanted) if (recorded or {}).get(name) != wanted.get(name))
        return "input " + ", ".join(names)
    return {"config_fingerprint": "the configuration", "custvalue_version": "the custvalue version",
            "code_fingerprint": "custvalue's code"}[field]


def report_identity(scored_manifest: Path, notebooks: dict[str, Path], kernel_name: str, parameters: dict[str, str]) -> dict[str, Any]:
    """What a report folder is made from: the scored quarter it shows, the notebooks run
    (by content), the kernel, the notebooks' parameters, and the code."""
    return {
        "scored_manifest_sha256": file_sha256(scored_manifest),
        "notebooks": {name: file_sha256(path) for name, path in notebooks.items()},
        "kernel": kernel_name,
        "parameters": parameters,
        "custvalue_version": __version__,
        "code_fingerprint": code_fingerprint(),
    }


def report_verdict(folder: Path, wanted: dict[str, Any], page_files: list[str]) -> Verdict:
    """Whether the report in ``folder`` was made from ``wanted`` and holds every page."""
    recorded = read_record(folder / REPORT_RECORD)
    if recorded is None:
        return Verdict(False, f"no report in {folder}")
    changed = sorted(field for field in wanted if recorded.get(field) != wanted[field])
    if changed:
        return Verdict(False, f"{folder.name}: {', '.join(field.replace('_', ' ') for field in changed)} changed since the report was rendered")
    missing = [name for name in page_files if not (folder / name).is_file()]
    if missing:
        return Verdict(False, f"{', '.join(missing)} missing from {folder}")
    return Verdict(True, f"{folder.name} is up to date (same scored quarter, notebooks and custvalue as the run of {recorded.get('written_at', '')})")


def read_record(path: Path) -> dict | None:
    """A JSON record, or ``None`` when it is absent or unreadable (then the step runs)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None

"""Scoring one quarter end to end: load and validate, aggregate in the engine, judge,
and write the quarter's outputs atomically.

Outputs under ``processed_dir/<quarter>/`` (see :class:`custvalue.paths.QuarterOutputs`):
``scorecard.parquet`` and ``.csv`` (one row per customer), ``quarterly.parquet`` (one row
per customer and quarter with the drivers and each criterion's verdict),
``rejected/<table>.csv`` (quarantined rows with their reasons), ``quality.json`` and
``manifest.json`` (what the run was based on).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from custvalue import __version__
from custvalue.atomic import atomic_directory
from custvalue.config import Config
from custvalue.contract import LoadedData, load_raw
from custvalue.engine import load_engine
from custvalue.errors import ContractError
from custvalue.features import quarterly_activity
from custvalue.paths import QuarterOutputs
from custvalue.quarters import Quarter
from custvalue.review import assign_status, default_criteria, judge_quarters

SCORECARD_COLUMNS = [
    "customer_id",
    "name",
    "segment",
    "region",
    "account_manager",
    "status",
    "strikes",
    "strike_quarters",
    "reasons",
    "action",
    "revenue",
    "gross_margin",
]


@dataclass(frozen=True)
class ScoredQuarter:
    """The result of scoring one quarter (also written to disk)."""

    quarter: Quarter
    scorecard: pd.DataFrame
    quarterly: pd.DataFrame
    data: LoadedData
    outputs: QuarterOutputs


def default_quarter(data: LoadedData) -> Quarter:
    """The last complete quarter covered by the accepted data."""
    last = data.last_event_date()
    if last is None:
        raise ContractError(f"{data.raw_dir}: no dated events in the accepted data; cannot choose a quarter")
    return Quarter.last_complete(last.date())


def score_quarter(
    raw_dir: Path | str,
    processed_dir: Path | str,
    config: Config,
    quarter: Quarter | None = None,
    data: LoadedData | None = None,
) -> ScoredQuarter:
    """Score ``quarter`` (default: the last complete one) and write its outputs.

    Raises
    ------
    ContractError
        When the raw data cannot be used.
    """
    data = data or load_raw(raw_dir)
    quarter = quarter or default_quarter(data)
    first = quarter.shift(-(config.review.history_quarters - 1))
    engine = load_engine(data, config.engine)
    activity = quarterly_activity(engine, first, quarter)
    judged = judge_quarters(activity, default_criteria())
    customers = data.accepted("customers")
    card = assign_status(judged, customers, quarter, config.review)
    current = activity[activity["quarter"] == str(quarter)].set_index("customer_id")
    card["revenue"] = current["revenue"].reindex(card["customer_id"]).fillna(0.0).to_numpy()
    card["gross_margin"] = (
        (current["revenue"] - current["returned_value"] - current["cost_of_goods"]).reindex(card["customer_id"]).fillna(0.0).to_numpy()
    )
    scorecard = card[SCORECARD_COLUMNS].sort_values(["status", "strikes", "customer_id"], ascending=[True, False, True])
    scorecard = scorecard.reset_index(drop=True)
    outputs = QuarterOutputs(Path(processed_dir), quarter)
    write_outputs(outputs, scorecard, judged, data, config)
    return ScoredQuarter(quarter, scorecard, judged, data, outputs)


def write_outputs(outputs: QuarterOutputs, scorecard: pd.DataFrame, quarterly: pd.DataFrame, data: LoadedData, config: Config) -> None:
    """Write a quarter's folder atomically: all files appear together, or none change."""
    with atomic_directory(outputs.folder) as staging:

        def target(path: Path) -> Path:
            return staging / path.relative_to(outputs.folder)

        scorecard.to_parquet(target(outputs.scorecard_parquet), index=False)
        scorecard.to_csv(target(outputs.scorecard_csv), index=False)
        quarterly.to_parquet(target(outputs.history_parquet), index=False)
        rejected_dir = target(outputs.rejected_dir)
        rejected_dir.mkdir()
        for name, load in data.tables.items():
            load.rejected.to_csv(rejected_dir / f"{name}.csv", index=False)
        quality = {
            "tables": data.quality().to_dict(orient="records"),
            "reasons": data.rejection_reasons().to_dict(orient="records"),
            "ignored_columns": {name: list(load.ignored_columns) for name, load in data.tables.items() if load.ignored_columns},
        }
        target(outputs.quality_json).write_text(json.dumps(quality, indent=2, default=str), encoding="utf-8")
        manifest = {
            "quarter": str(outputs.quarter),
            "custvalue_version": __version__,
            "raw_dir": str(data.raw_dir),
            "inputs_sha256": data.source_hashes(),
            "config_fingerprint": config.fingerprint(),
            "config": config.to_dict(),
            "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        target(outputs.manifest_json).write_text(json.dumps(manifest, indent=2), encoding="utf-8")


@dataclass(frozen=True)
class QuarterResults:
    """A scored quarter as read back from disk (what the notebooks work from)."""

    outputs: QuarterOutputs
    scorecard: pd.DataFrame
    quarterly: pd.DataFrame
    quality: dict
    manifest: dict

    @property
    def quarter(self) -> Quarter:
        return self.outputs.quarter

    @property
    def currency(self) -> str:
        return self.manifest["config"]["currency"]


def load_results(processed_dir: Path | str, quarter: Quarter | str) -> QuarterResults:
    """Read a scored quarter's outputs; raise a clear error when it has not been scored."""
    quarter = quarter if isinstance(quarter, Quarter) else Quarter.parse(quarter)
    outputs = QuarterOutputs(Path(processed_dir), quarter)
    if not outputs.manifest_json.is_file():
        raise ContractError(f"{outputs.folder}: quarter {quarter} has not been scored (run `custvalue score`)")
    return QuarterResults(
        outputs=outputs,
        scorecard=pd.read_parquet(outputs.scorecard_parquet),
        quarterly=pd.read_parquet(outputs.history_parquet),
        quality=json.loads(outputs.quality_json.read_text(encoding="utf-8")),
        manifest=json.loads(outputs.manifest_json.read_text(encoding="utf-8")),
    )

"""Scoring one quarter end to end: load and validate, aggregate in the engine, run the
models, judge every quarter, and write the quarter's outputs atomically.

Outputs under ``processed_dir/<quarter>/`` (see :class:`custvalue.paths.QuarterOutputs`):

- ``scorecard.parquet`` and ``.csv``: one row per customer (status, strikes, reasons,
  action, and the quarter's figures);
- ``quarterly.parquet``: one row per customer and quarter with the drivers, costs and
  payment verdict the review reads (see :func:`custvalue.review.review_inputs`) and each
  criterion's verdict; every driver and cost is in the models' folders;
- ``statuses.parquet`` (status at each quarter of the history), ``movement.parquet``
  (changes since the previous quarter), ``move_on.parquet`` (relationships ended after a
  let-go recommendation and their effect);
- ``cost_to_serve/``, ``payment/``, ``lifetime/``: the models' saved results;
- ``rejected/<table>.csv``, ``quality.json``, ``manifest.json`` (what the quarter was made
  from: see :mod:`custvalue.provenance`).

:func:`score_quarter` always scores; :func:`score_unless_current` first asks whether the
saved quarter was made from the same inputs, configuration and code, and skips it if so.
:func:`load_quarter` reads a scored quarter back.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from custvalue import __version__, provenance
from custvalue.atomic import atomic_directory
from custvalue.config import Config
from custvalue.engine import without_secrets
from custvalue.loading import LoadedData, load_raw
from custvalue.memory import give_back_memory
from custvalue.cost_to_serve import CostToServeResult, compute_cost_to_serve
from custvalue.errors import ContractError
from custvalue.features import quarterly_activity
from custvalue.frames import KEY
from custvalue.lifetime import LifetimeValueResult, estimate_lifetime_value
from custvalue.cells import neutralised
from custvalue.paths import QuarterOutputs, find_project
from custvalue.payment import PaymentResult, analyse_payments
from custvalue.progress import SILENT, Progress
from custvalue.quarters import Quarter, quarter_range
from custvalue.stored import write_parquet
from custvalue.review import REVIEW_PAYMENT, review_columns, review_inputs, review_quarter

MODEL_FOLDERS = {"cost_to_serve": CostToServeResult, "payment": PaymentResult, "lifetime": LifetimeValueResult}


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


def check_quarter_is_covered(data: LoadedData, quarter: Quarter) -> None:
    """Raise a clear error when the data do not cover ``quarter`` to its end."""
    span = data.event_dates()
    if span is None:
        raise ContractError(f"{data.raw_dir}: no dated events in the accepted data; cannot score {quarter}")
    first, last = (day.date() for day in span)
    available = f"the data run from {first} to {last}; choose a quarter from {Quarter.containing(first)} to {Quarter.last_complete(last)}"
    if quarter.end > last:
        raise ContractError(f"quarter {quarter} is not complete in the data: {available}")
    if quarter.end < first:
        raise ContractError(f"quarter {quarter} ends before the data begin: {available}")


def score_quarter(
    raw_dir: Path | str,
    processed_dir: Path | str,
    config: Config,
    quarter: Quarter | None = None,
    data: LoadedData | None = None,
    *,
    progress: Progress = SILENT,
) -> ScoredQuarter:
    """Score ``quarter`` (default: the last complete one) and write its outputs.

    The quarter's folder is written atomically: everything is staged and swapped in at
    the end, and a failure leaves the previous folder as it was.

    Parameters
    ----------
    raw_dir : path
        The raw folder (not read when ``data`` is given or the configuration names
        warehouse tables).
    processed_dir : path
        Where ``<quarter>/`` is written.
    config : Config
        See :func:`custvalue.config.load_config`.
    quarter : Quarter, optional
        Default: the last complete quarter of the accepted data.
    data : LoadedData, optional
        Data already loaded by :func:`custvalue.loading.load_raw`.
    progress : Progress, optional
        Told each step (load and validate, the models, the review, writing); silent by
        default.

    Raises
    ------
    ContractError
        When the raw data cannot be used.
    """
    data = data or load_raw(raw_dir, config.engine, progress=progress)
    last_complete = default_quarter(data)
    quarter = quarter or last_complete
    check_quarter_is_covered(data, quarter)
    history = quarter_range(quarter.shift(-(config.review.history_quarters - 1)), quarter)
    customers = data.accepted("customers")
    outputs = QuarterOutputs(Path(processed_dir), quarter)
    # Past quarters are reviewed with the same inputs as this one: P(alive) at each
    # quarter's end from the history up to then, so movement counts only real changes.
    reviewable = [q for q in history if q.shift(-(config.review.window_quarters - 1)) >= history[0]]
    earlier = sorted({*reviewable, quarter.shift(-1)} - {quarter})
    with atomic_directory(outputs.folder) as staging:
        models = run_models(data, customers, history, config, staging, progress, p_alive_at=earlier)
        with progress.step("review") as step:
            inputs, models = models.review_inputs, models.without_review_inputs()
            review = review_quarter(
                inputs, customers, quarter, reviewable, config.review, lifetime=models.lifetime,
                p_alive_at=models.p_alive_at, receivables=models.receivables, currency=config.currency,
            )
            del inputs
            step.detail = f"{len(review.scorecard):,} customers over {len(history)} quarters; {status_counts(review.scorecard)}"
        with progress.step(f"write {outputs.folder}"):
            frames = {"statuses": review.statuses.reset_index(names="customer_id"), "movement": review.movement, "move_on": review.move_on}
            write_outputs(outputs, staging, review.scorecard, review.judged, data, config, frames, last_complete, models.warnings)
    return ScoredQuarter(quarter, review.scorecard, review.judged, data, outputs)


def status_counts(scorecard: pd.DataFrame) -> str:
    """``let_go 26, final_notice 31, ...``: customers by status, in the statuses' order."""
    status = scorecard["status"]
    counts = status.value_counts().reindex(status.cat.categories).fillna(0)
    return ", ".join(f"{name} {int(n):,}" for name, n in counts.items())


@dataclass(frozen=True)
class ScoreRun:
    """What :func:`score_unless_current` did: the scored quarter as saved, and whether it
    was scored now (``False``: it was already up to date)."""

    results: QuarterResults
    scored: bool


def score_unless_current(
    raw_dir: Path | str,
    processed_dir: Path | str,
    config: Config,
    quarter: Quarter | None = None,
    *,
    force: bool = False,
    progress: Progress = SILENT,
) -> ScoreRun:
    """:func:`score_quarter`, unless ``processed_dir`` already holds the quarter scored
    from the same input files (by SHA-256), configuration, custvalue version and code
    (see :mod:`custvalue.provenance`); ``force`` scores in any case. Says which on
    ``progress``."""
    verdict = provenance.scored_verdict(processed_dir, raw_dir, config, quarter)
    if verdict.current and not force:
        progress.say(f"score: {verdict.why}; not scored again (--force to score anyway)")
        return ScoreRun(load_quarter(processed_dir, verdict.quarter), scored=False)
    progress.say(f"score: {'--force given' if force else verdict.why}; scoring")
    scored = score_quarter(raw_dir, processed_dir, config, quarter, progress=progress)
    return ScoreRun(load_quarter(processed_dir, scored.quarter), scored=True)


@dataclass(frozen=True)
class ModelFigures:
    """What the review needs from the models (their full results are saved already)."""

    review_inputs: pd.DataFrame | None
    """:func:`custvalue.review.review_inputs`: one row per customer and quarter."""
    receivables: pd.Series
    """Open receivables per customer id."""
    lifetime: pd.DataFrame
    """The lifetime-value model's per-customer table (``clv``, ``p_alive``, ...)."""
    p_alive_at: dict[str, pd.Series]
    """P(alive) at the end of earlier quarters, by quarter label."""
    warnings: tuple[str, ...] = ()
    """Diagnostics the models could not make, with the reason (the review goes on)."""

    def without_review_inputs(self) -> ModelFigures:
        """The same without the (large) review inputs, once they are judged."""
        return dataclasses.replace(self, review_inputs=None)


def run_models(
    data: LoadedData,
    customers: pd.DataFrame,
    history: list[Quarter],
    config: Config,
    save_to: Path,
    progress: Progress = SILENT,
    p_alive_at: list[Quarter] = (),
) -> ModelFigures:
    """Run the payment model, the feature step, cost to serve and the lifetime-value model
    over ``history``; save each model's result into ``save_to/<model>`` as soon as it is
    ready.

    Each result is released once saved, and only the columns the review reads are kept,
    so the large customer x quarter tables (the payment verdicts, the activity, the
    costs) are never all held at once. The payment model runs first: its peak (the
    engine's work and the verdict table) then meets no other large table.
    """
    engine, last = data.engine, history[-1]
    span = f"{history[0]} to {last}"
    with progress.step("payment behaviour") as step:
        payments = analyse_payments(engine, customers, as_of=last.end, quarters=history, settings=config.payment)
        payments.save(save_to / "payment")
        step.detail = f"{len(payments.customers):,} customers, {span}"
    receivables = payments.customers.set_index("customer_id")["ar"]
    payment = payments.by_quarter[[*KEY, *REVIEW_PAYMENT]]
    del payments
    give_back_memory()
    with progress.step("features") as step:
        activity = quarterly_activity(engine, history[0], last)
        step.detail = f"{len(activity):,} customer-quarters, {span}"
    give_back_memory()
    with progress.step("cost to serve") as step:
        costs = compute_cost_to_serve(activity, config.cost_to_serve)
        costs.save(save_to / "cost_to_serve")
        step.detail = f"{len(activity):,} customer-quarters costed"
    activity, customer_costs = review_columns(activity, costs.customer_costs)
    del costs
    inputs = review_inputs(activity, customer_costs, payment, customers)
    del activity, customer_costs, payment
    give_back_memory()
    with progress.step("lifetime value") as step:
        lifetime = estimate_lifetime_value(
            engine.table("orders"), customers, last.end, config.lifetime, p_alive_as_of=[q.end for q in p_alive_at]
        )
        lifetime.save(save_to / "lifetime")
        step.detail = f"{len(lifetime.customers):,} customers, as of {last.end}; {lifetime.transaction_fit.model}"
    history_of_p_alive = lifetime.p_alive_history
    earlier = {str(q): history_of_p_alive[q.end.isoformat()].dropna() for q in p_alive_at}
    warnings = tuple(f"lifetime value: {warning}" for warning in lifetime.warnings)
    for warning in warnings:
        progress.say(f"warning: {warning}")
    return ModelFigures(inputs, receivables, lifetime.customers, earlier, warnings)


def write_outputs(
    outputs: QuarterOutputs,
    staging: Path,
    scorecard: pd.DataFrame,
    quarterly: pd.DataFrame,
    data: LoadedData,
    config: Config,
    frames: dict[str, pd.DataFrame],
    last_complete: Quarter | None = None,
    warnings: tuple[str, ...] = (),
) -> None:
    """Write a quarter's tables, data-quality record and manifest into ``staging`` (the
    quarter's folder being built, see :func:`custvalue.atomic.atomic_directory`).
    ``last_complete`` is the inputs' last complete quarter, recorded for
    :func:`custvalue.provenance.scored_verdict`; ``warnings`` (diagnostics that could not
    be made) go into the manifest."""

    def target(path: Path) -> Path:
        return staging / path.relative_to(outputs.folder)

    scorecard.to_parquet(target(outputs.scorecard_parquet), index=False)
    neutralised(scorecard).to_csv(target(outputs.scorecard_csv), index=False)
    write_parquet(quarterly, target(outputs.history_parquet))
    for name, frame in frames.items():
        frame.to_parquet(staging / f"{name}.parquet", index=False)
    rejected_dir = target(outputs.rejected_dir)
    rejected_dir.mkdir()
    for name, load in data.tables.items():
        neutralised(load.rejected).to_csv(rejected_dir / f"{name}.csv", index=False)
    quality = {
        "tables": data.quality().to_dict(orient="records"),
        "reasons": data.rejection_reasons().to_dict(orient="records"),
        "ignored_columns": {name: list(load.ignored_columns) for name, load in data.tables.items() if load.ignored_columns},
    }
    target(outputs.quality_json).write_text(json.dumps(quality, indent=2, default=str), encoding="utf-8")
    manifest = {
        "quarter": str(outputs.quarter),
        "custvalue_version": __version__,
        "code_fingerprint": provenance.code_fingerprint(),
        "last_complete_quarter": str(last_complete) if last_complete else None,
        "raw_dir": str(data.raw_dir),
        "engine": data.engine.backend,
        "inputs": {
            name: {"source": load.location or "(absent)", "sha256": load.sha256} for name, load in data.tables.items()
        },
        "warnings": list(warnings),
        "config_fingerprint": config.fingerprint(),
        "config": without_secrets(config.to_dict()),
        "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    target(outputs.manifest_json).write_text(json.dumps(manifest, indent=2), encoding="utf-8")


@dataclass(frozen=True)
class QuarterResults:
    """A scored quarter as read back from disk (what the notebooks work from)."""

    outputs: QuarterOutputs
    scorecard: pd.DataFrame
    quality: dict
    manifest: dict

    @property
    def quarterly(self) -> pd.DataFrame:
        """The customer x quarter review table (read on demand: it is the largest output)."""
        return pd.read_parquet(self.outputs.history_parquet)

    @property
    def quarter(self) -> Quarter:
        return self.outputs.quarter

    @property
    def currency(self) -> str:
        return self.manifest["config"]["currency"]

    def frame(self, name: str) -> pd.DataFrame:
        """One of the extra tables: ``statuses``, ``movement`` or ``move_on``."""
        return pd.read_parquet(self.outputs.folder / f"{name}.parquet")

    def model(self, name: str) -> Any:
        """A model's saved result: ``cost_to_serve``, ``payment`` or ``lifetime``."""
        return MODEL_FOLDERS[name].load(self.outputs.folder / name)

    @property
    def lifetime(self) -> LifetimeValueResult:
        """The lifetime-value model's saved result (read on demand)."""
        return self.model("lifetime")

    @property
    def cost_to_serve(self) -> CostToServeResult:
        """The cost-to-serve model's saved result (read on demand)."""
        return self.model("cost_to_serve")

    @property
    def payment(self) -> PaymentResult:
        """The payment model's saved result (read on demand)."""
        return self.model("payment")


def load_quarter(processed_dir: Path | str | None = None, quarter: Quarter | str | None = None) -> QuarterResults:
    """Read a scored quarter back: the scorecard, the review table, the models' results.

    Parameters
    ----------
    processed_dir : path, optional
        The processed folder (default, or ``""``: the project folder's, see
        :func:`custvalue.paths.find_project`).
    quarter : Quarter or ``YYYYQn``, optional
        Default (or ``""``): the latest quarter scored there.

    Raises
    ------
    ContractError
        When the quarter has not been scored (or nothing has).

    Examples
    --------
    >>> results = load_quarter("data/processed", "2026Q2")  # doctest: +SKIP
    >>> results.scorecard.query("status == 'let_go'")  # doctest: +SKIP
    """
    processed_dir = Path(processed_dir) if processed_dir else find_project().processed
    if not quarter:
        scored = scored_quarters(processed_dir)
        if not scored:
            raise ContractError(f"{processed_dir}: no scored quarter here (run `custvalue score`)")
        quarter = scored[-1]
    quarter = quarter if isinstance(quarter, Quarter) else Quarter.parse(quarter)
    outputs = QuarterOutputs(processed_dir, quarter)
    if not outputs.manifest_json.is_file():
        raise ContractError(f"{outputs.folder}: quarter {quarter} has not been scored (run `custvalue score`)")
    return QuarterResults(
        outputs=outputs,
        scorecard=pd.read_parquet(outputs.scorecard_parquet),
        quality=json.loads(outputs.quality_json.read_text(encoding="utf-8")),
        manifest=json.loads(outputs.manifest_json.read_text(encoding="utf-8")),
    )


load_results = load_quarter
"""The name the report's notebooks use for :func:`load_quarter`."""


def scored_quarters(processed_dir: Path | str) -> list[Quarter]:
    """The quarters scored in ``processed_dir``, oldest first (staging folders left out)."""
    found = []
    for manifest in Path(processed_dir).glob("*/manifest.json"):
        try:
            found.append(Quarter.parse(manifest.parent.name))
        except ValueError:
            continue
    return sorted(found)

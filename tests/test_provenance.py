"""Whether an output is current: decided by what it was made from, field by field, with
the input files hashed every time."""

import dataclasses
import json
import os

import pytest

from custvalue.config import Config, EngineSettings
from custvalue.engine import file_sha256
from custvalue.errors import ContractError
from custvalue.provenance import (
    REPORT_RECORD,
    SCORED_OUTPUTS,
    identity,
    input_hashes,
    report_identity,
    report_verdict,
    scored_verdict,
)
from custvalue.quarters import Quarter
from tests.test_contract import VALID, write_world


def test_a_file_rewritten_with_its_old_size_and_date_is_hashed_again(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("order_id\nO1\n")
    first, state = file_sha256(path), path.stat()
    assert file_sha256(path) == first
    path.write_text("order_id\nO2\n")
    os.utime(path, ns=(state.st_atime_ns, state.st_mtime_ns))  # what `cp -p` or a careless tool leaves
    assert path.stat().st_size == state.st_size and path.stat().st_mtime_ns == state.st_mtime_ns
    assert file_sha256(path) != first


def scored_folder(processed, raw, config, quarter="2024Q4", last_complete="2024Q4"):
    """A quarter's folder as `score` leaves it, with the manifest of these inputs."""
    folder = processed / quarter
    folder.mkdir(parents=True)
    for name in SCORED_OUTPUTS:
        (folder / name).touch()
    made_from = identity(input_hashes(raw, config.engine), config)
    manifest = {
        "quarter": quarter,
        "last_complete_quarter": last_complete,
        "inputs": {name: {"source": "x", "sha256": digest} for name, digest in made_from["inputs"].items()},
        **{key: value for key, value in made_from.items() if key != "inputs"},
        "written_at": "2026-07-01T00:00:00+00:00",
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_a_quarter_made_from_the_same_inputs_is_current_and_any_change_is_named(tmp_path):
    raw, processed, config = write_world(tmp_path / "raw", VALID), tmp_path / "processed", Config()
    assert scored_verdict(processed, raw, config, None).why == f"nothing scored yet in {processed}"
    folder = scored_folder(processed, raw, config)
    verdict = scored_verdict(processed, raw, config, None)
    assert verdict.current and verdict.quarter == Quarter.parse("2024Q4"), "found without loading the data"
    assert scored_verdict(processed, raw, config, Quarter.parse("2024Q4")).current
    assert scored_verdict(processed, raw, config, Quarter.parse("2024Q3")).why == f"2024Q3 has not been scored in {processed}"

    other = dataclasses.replace(config, currency="USD")
    assert scored_verdict(processed, raw, other, None).why == "the configuration changed since 2024Q4 was scored"
    (raw / "incidents.csv").unlink()
    assert scored_verdict(processed, raw, config, Quarter.parse("2024Q4")).why == "input incidents changed since 2024Q4 was scored"
    write_world(raw, {"incidents": VALID["incidents"]})
    (folder / "scorecard.parquet").unlink()
    assert scored_verdict(processed, raw, config, None).why == f"scorecard.parquet missing from {folder}"


def test_warehouse_tables_are_never_taken_as_current_and_a_missing_folder_is_an_error(tmp_path):
    warehouse = dataclasses.replace(Config(), engine=EngineSettings(backend="postgres", url="postgresql://x@h/db", tables={"customers": "crm.c"}))
    assert not scored_verdict(tmp_path, None, warehouse, None).current
    with pytest.raises(ContractError, match="raw data folder not found"):
        scored_verdict(tmp_path, tmp_path / "nope", Config(), None)


def test_a_report_is_current_only_with_the_same_scored_quarter_notebooks_and_pages(tmp_path):
    manifest, notebook = tmp_path / "manifest.json", tmp_path / "page.ipynb"
    manifest.write_text("{}")
    notebook.write_text("{}")
    parameters = {"quarter": "2026Q2", "processed_dir": "/p"}
    wanted = report_identity(manifest, {"page.ipynb": notebook}, "custvalue", parameters)
    folder = tmp_path / "reports" / "2026Q2"
    folder.mkdir(parents=True)
    assert report_verdict(folder, wanted, ["index.html"]).why == f"no report in {folder}"
    (folder / REPORT_RECORD).write_text(json.dumps({**wanted, "written_at": "then"}))
    assert report_verdict(folder, wanted, ["index.html"]).why == f"index.html missing from {folder}"
    (folder / "index.html").touch()
    assert report_verdict(folder, wanted, ["index.html"]).current
    notebook.write_text('{"cells": []}')
    changed = report_identity(manifest, {"page.ipynb": notebook}, "custvalue", parameters)
    assert report_verdict(folder, changed, ["index.html"]).why == "2026Q2: notebooks changed since the report was rendered"

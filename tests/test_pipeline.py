"""Scoring a quarter: what the folder holds, the lean review table, writing in slices,
and a failure part-way leaving the previous folder as it was."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custvalue import pipeline
from custvalue.config import Config
from custvalue.pipeline import load_results, score_quarter
from custvalue.review import REVIEW_COSTS, REVIEW_DRIVERS
from custvalue.stored import write_parquet


@pytest.fixture(scope="module")
def scored(small_world, tmp_path_factory):
    processed = tmp_path_factory.mktemp("processed")
    result = score_quarter(small_world.raw_dir, processed, Config())
    return result, processed


def test_every_model_result_is_saved_and_reads_back(scored):
    result, processed = scored
    back = load_results(processed, result.quarter)
    for name in ("cost_to_serve", "payment", "lifetime"):
        assert back.model(name) is not None
    costs = back.model("cost_to_serve").customer_costs
    assert len(costs) == len(result.quarterly), "the full cost result is kept with the quarter"


def test_the_review_table_holds_what_the_review_reads(scored):
    result, _ = scored
    judged = result.quarterly
    figures = [c for c in judged.columns if c in REVIEW_DRIVERS or c in REVIEW_COSTS or c.startswith("severity_")]
    assert set(REVIEW_DRIVERS) <= set(figures) and set(REVIEW_COSTS) <= set(figures)
    assert not any(c.startswith(("pool_minutes_", "minutes_", "our_minutes_")) for c in judged.columns), "only what the review reads"
    for column in ("customer_id", "quarter", "reasons", "repairs", "our_share"):
        assert judged[column].dtype != object, f"{column} is stored as text, not Python objects"
    assert not judged.duplicated(["customer_id", "quarter"]).any()


@pytest.mark.parametrize("rows", [1, 3, 1_000])
def test_parquet_written_in_slices_reads_back_equal(tmp_path, rows):
    frame = pd.DataFrame(
        {
            "customer_id": pd.array([f"C{i}" for i in range(10)], dtype="string"),
            "amount": np.linspace(0, 1, 10),
            "flag": [True, False] * 5,
            "reasons": pd.array(["", "late"] * 5, dtype="str"),
            "when": pd.date_range("2026-01-01", periods=10),
        }
    )
    path = tmp_path / "out.parquet"
    write_parquet(frame, path, rows=rows)
    pd.testing.assert_frame_equal(pd.read_parquet(path), frame, check_dtype=False)
    write_parquet(frame.iloc[:0], path, rows=rows)
    assert len(pd.read_parquet(path)) == 0


def test_a_failure_part_way_leaves_the_previous_quarter_folder(scored, small_world, monkeypatch):
    result, processed = scored
    before = sorted(p.relative_to(processed) for p in processed.rglob("*"))
    scorecard = pd.read_parquet(result.outputs.scorecard_parquet)

    def broken(*args, **kwargs):
        raise RuntimeError("the review failed")

    monkeypatch.setattr(pipeline, "review_quarter", broken)
    with pytest.raises(RuntimeError, match="the review failed"):
        score_quarter(small_world.raw_dir, processed, Config(), quarter=result.quarter)
    assert sorted(p.relative_to(processed) for p in processed.rglob("*")) == before
    pd.testing.assert_frame_equal(pd.read_parquet(result.outputs.scorecard_parquet), scorecard)

"""Predictions on distinct rows: the same values as row by row, at bounded memory."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from custvalue.lifetime import BetaGeoModel, GammaGammaModel, ParetoNBDModel
from custvalue.lifetime._hypergeom import BLOCK_BYTES, hyp2f1_one, hyp2f1_power_series
from custvalue.lifetime._rows import distinct_rows
from custvalue.lifetime.mbgnbd import ModifiedBetaGeoModel

CDNOW = Path(__file__).parent / "data" / "cdnow" / "cdnow_customers_summary.csv"


@pytest.fixture(scope="module")
def cdnow():
    return pd.read_csv(CDNOW)


@pytest.fixture(scope="module", params=[BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel])
def transaction(request, cdnow):
    return request.param.from_summary(cdnow).fit()


def test_distinct_rows_expand_back_to_the_input(cdnow):
    columns = [np.tile(cdnow[c].to_numpy(float), 3) for c in ("frequency", "recency", "T")]
    rows = distinct_rows(*columns)
    assert len(rows) == len(cdnow.drop_duplicates(["frequency", "recency", "T"]))
    for column, distinct in zip(columns, rows.columns):
        np.testing.assert_array_equal(rows.expand(distinct), column)


def test_predictions_on_distinct_rows_equal_row_by_row(transaction, cdnow):
    x, t_x, T = (np.tile(cdnow[c].to_numpy(float), 4) for c in ("frequency", "recency", "T"))
    horizon = np.tile([13.0, 39.0], len(x) // 2)
    method = type(transaction)
    for name, args in (
        ("conditional_probability_alive", (x, t_x, T)),
        ("conditional_expected_purchases", (horizon, x, t_x, T)),
    ):
        compressed = getattr(transaction, name)(*args)
        direct = getattr(method, name).on_rows(transaction, *args)
        np.testing.assert_allclose(compressed, direct, rtol=1e-12, atol=0)


def test_spend_prediction_on_distinct_rows():
    summary = pd.read_csv(CDNOW.with_name("cdnow_customers_summary_with_transactions.csv"))
    repeat = summary[summary["x"] > 0]
    spend = GammaGammaModel(repeat["x"], repeat["zbar"]).fit()
    x, zbar = np.tile(repeat["x"].to_numpy(float), 2), np.tile(repeat["zbar"].to_numpy(float), 2)
    np.testing.assert_allclose(
        spend.conditional_expected_value(x, zbar), type(spend).conditional_expected_value.on_rows(spend, x, zbar), rtol=1e-12
    )


@pytest.mark.parametrize("series", ["one", "power"])
def test_the_series_honour_their_memory_budget(series):
    # 100,000 rows of a slowly converging series: the first block alone used to be
    # rows x 256 terms (200 MB per temporary).
    n = 100_000
    z = np.linspace(0.5, 0.9, n)
    tracemalloc.start()
    if series == "one":
        hyp2f1_one(np.full(n, 2.5), np.full(n, 4.0), z)
    else:
        hyp2f1_power_series(np.full(n, 0.3), np.full(n, 2.0), np.full(n, 3.5), z)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    inputs_and_outputs = 12 * n * 8  # broadcast copies, sums, derivatives, bookkeeping
    assert peak < inputs_and_outputs + 16 * BLOCK_BYTES

"""Published CDNOW figures, reproduced from the 1/10 sample in tests/data/cdnow.

Published numbers are rounded, so each is compared with the tolerance its
digits allow: the looser of 1e-3 relative and half a unit in the last
published digit (``published_tolerance``). Where our estimate also rounds to
the published digits, a second, stricter check says so.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from custvalue.lifetime import BetaGeoModel, GammaGammaModel, ParetoNBDModel, summarise_orders

CDNOW = Path(__file__).parent / "data" / "cdnow"


def published_tolerance(published: str) -> float:
    """Looser of 1e-3 relative and half a unit in the last digit of ``published``."""
    exponent = Decimal(published).as_tuple().exponent
    return max(1e-3 * abs(float(published)), 0.5 * 10.0**exponent)


def assert_matches_published(value: float, published: str) -> None:
    assert abs(value - float(published)) <= published_tolerance(published), (value, published)


def test_published_tolerance_rule():
    assert published_tolerance("0.243") == pytest.approx(5e-4)
    assert published_tolerance("4.414") == pytest.approx(4.414e-3)
    assert published_tolerance("3.74") == pytest.approx(5e-3)
    assert published_tolerance("-9582.4") == pytest.approx(9.5824)


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    return pd.read_csv(CDNOW / "cdnow_customers_summary.csv", index_col="ID")


@pytest.fixture(scope="module")
def bgnbd(summary):
    return BetaGeoModel.from_summary(summary).fit()


@pytest.fixture(scope="module")
def paretonbd(summary):
    return ParetoNBDModel.from_summary(summary).fit()


@pytest.mark.parametrize(
    "name, published", [("r", "0.243"), ("alpha", "4.414"), ("a", "0.793"), ("b", "2.426")]
)
def test_bgnbd_parameters(bgnbd, name, published):
    assert_matches_published(bgnbd.params[name], published)
    # Stricter: our estimate rounds to the published value.
    assert round(bgnbd.params[name], 3) == float(published)


def test_bgnbd_loglikelihood(bgnbd):
    assert_matches_published(bgnbd.llf, "-9582.4")
    assert round(bgnbd.llf, 1) == -9582.4


def test_bgnbd_conditional_expectation_of_customer_1(bgnbd):
    # FHL 2005, section 5: x = 2, t_x = 30.43, T = 38.86, next 39 weeks.
    expected = bgnbd.conditional_expected_purchases(39, 2, 30.43, 38.86)
    assert_matches_published(float(expected), "1.226")
    assert round(float(expected), 3) == 1.226


@pytest.mark.parametrize(
    "name, published", [("r", "0.553"), ("alpha", "10.578"), ("s", "0.606"), ("beta", "11.669")]
)
def test_paretonbd_parameters(paretonbd, name, published):
    assert_matches_published(paretonbd.params[name], published)


def test_paretonbd_loglikelihood(paretonbd):
    assert_matches_published(paretonbd.llf, "-9595.0")
    assert round(paretonbd.llf, 1) == -9595.0


@pytest.mark.parametrize("name, published", [("p", "6.25"), ("q", "3.74"), ("gamma", "15.44")])
def test_gamma_gamma_parameters(name, published):
    data = pd.read_csv(CDNOW / "cdnow_customers_summary_with_transactions.csv")
    repeat = data[data["x"] > 0]
    assert len(repeat) == 946
    results = GammaGammaModel(repeat["x"], repeat["zbar"]).fit()
    assert_matches_published(results.params[name], published)


def read_cdnow_orders() -> pd.DataFrame:
    """The raw CDNOW transactions in the shape of our orders contract."""
    raw = pd.read_csv(
        CDNOW / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "sample_id", "date", "cds", "dollars"],
        dtype={"sample_id": str, "date": str},
    )
    return pd.DataFrame(
        {
            "customer_id": raw["sample_id"].astype(int).astype(str),
            "order_date": pd.to_datetime(raw["date"], format="%Y%m%d").dt.date,
            "revenue": raw["dollars"],
            "cost_of_goods": 0.0,
        }
    )


def test_summariser_reproduces_published_cdnow_summary():
    ours = summarise_orders(read_cdnow_orders(), "1997-09-30", unit="W")
    ours.index = ours.index.astype(int)
    ours = ours.sort_index()
    published = pd.read_csv(CDNOW / "cdnow_customers_summary.csv", index_col="ID")
    with_value = pd.read_csv(CDNOW / "cdnow_customers_summary_with_transactions.csv", index_col="ID")

    assert list(ours.index) == list(published.index)
    np.testing.assert_array_equal(ours["frequency"], published["frequency"])
    # The published files round to two decimals.
    np.testing.assert_allclose(ours["recency"], published["recency"], rtol=0, atol=0.005 + 1e-9)
    np.testing.assert_allclose(ours["T"], published["T"], rtol=0, atol=0.005 + 1e-9)
    np.testing.assert_allclose(ours["monetary_value"], with_value["zbar"], rtol=0, atol=0.005 + 1e-9)


def test_models_fitted_on_our_summary_match_published():
    summary = summarise_orders(read_cdnow_orders(), "1997-09-30", unit="W")
    results = BetaGeoModel.from_summary(summary).fit()
    for name, published in [("r", "0.243"), ("alpha", "4.414"), ("a", "0.793"), ("b", "2.426")]:
        assert_matches_published(results.params[name], published)

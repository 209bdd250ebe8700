"""Property-based tests (hypothesis) of the model predictions and CLV."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from custvalue.lifetime import BetaGeoResults, ParetoNBDResults, customer_lifetime_value

SETTINGS = settings(max_examples=60, deadline=None, database=None)

# Shapes over three orders of magnitude; rate parameters (alpha, beta) in time
# units from a tenth to a thousand, so a customer buys at most a few hundred
# times per unit on average: wide, yet short of the absurd regions where a
# series would need millions of terms (and say so with a FloatingPointError).
shape = st.floats(min_value=0.05, max_value=50.0, allow_nan=False)
scale = st.floats(min_value=0.1, max_value=1000.0, allow_nan=False)
bgnbd_params = st.tuples(shape, scale, shape, shape)
pareto_params = st.tuples(shape, scale, shape, scale)


@st.composite
def histories(draw):
    """A feasible history (x, t_x, T): t_x <= T, and t_x = 0 when x = 0."""
    age = draw(st.floats(min_value=0.0, max_value=5000.0, allow_nan=False))
    frequency = draw(st.integers(min_value=0, max_value=300))
    if frequency == 0:
        return 0, 0.0, age
    return frequency, draw(st.floats(min_value=0.0, max_value=1.0)) * age, age


def make_results(kind: str, params):
    return (BetaGeoResults if kind == "bgnbd" else ParetoNBDResults).from_params(params)


models = st.one_of(
    st.tuples(st.just("bgnbd"), bgnbd_params),
    st.tuples(st.just("paretonbd"), pareto_params),
)


@SETTINGS
@given(model=models, history=histories())
def test_probability_alive_is_a_probability(model, history):
    results = make_results(*model)
    value = results.conditional_probability_alive(*history)
    assert 0.0 <= value <= 1.0


@SETTINGS
@given(params=bgnbd_params, age=st.floats(min_value=0.0, max_value=1e5))
def test_bgnbd_customer_without_repeat_purchases_is_alive(params, age):
    assert BetaGeoResults.from_params(params).conditional_probability_alive(0, 0.0, age) == 1.0


@SETTINGS
@given(
    model=models,
    history=histories(),
    t=st.lists(st.floats(min_value=0.0, max_value=2000.0), min_size=2, max_size=6, unique=True),
)
def test_expected_purchases_increase_with_time(model, history, t):
    results = make_results(*model)
    t = np.sort(np.array(t))
    conditional = results.conditional_expected_purchases(t, *history)
    unconditional = results.expected_purchases(t)
    for values in (conditional, unconditional):
        assert np.all(np.isfinite(values)) and np.all(values >= -1e-12)
        assert np.all(np.diff(values) >= -1e-9 * np.maximum(values[1:], 1.0))


clv_inputs = st.tuples(
    models,
    histories(),
    st.floats(min_value=0.1, max_value=1000.0),  # margin per purchase
    st.floats(min_value=0.0, max_value=0.5),  # annual discount rate
)


def clv(results, history, margin, rate):
    x, t_x, age = history
    return float(
        customer_lifetime_value(
            results, margin, x, t_x, age, horizon_periods=26, discount_rate_per_year=rate, unit="W", period_length=2.0
        )
    )


@SETTINGS
@given(inputs=clv_inputs, factor=st.floats(min_value=1.01, max_value=10.0))
def test_clv_increases_with_margin(inputs, factor):
    model, history, margin, rate = inputs
    results = make_results(*model)
    low, high = clv(results, history, margin, rate), clv(results, history, margin * factor, rate)
    assert high >= low
    assert high > low or low == 0.0


@SETTINGS
@given(inputs=clv_inputs, extra=st.floats(min_value=0.01, max_value=1.0))
def test_clv_decreases_with_discount_rate(inputs, extra):
    model, history, margin, rate = inputs
    results = make_results(*model)
    assert clv(results, history, margin, rate + extra) <= clv(results, history, margin, rate)

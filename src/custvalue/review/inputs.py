"""What the review reads: one row per customer and quarter with the drivers, the costs
and the payment verdict, assembled from the models' results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from custvalue.drivers import COST_DRIVERS
from custvalue.frames import arrow_text, in_key_order
from custvalue.review import text as tx

REVIEW_DRIVERS = (
    "orders", "rush_orders", "manual_orders", "returns", "tickets", "ticket_minutes",
    "our_tickets", "our_ticket_minutes", "invoiced", "written_off", "incidents",
)
"""Activity-table columns the review reads or reports (with every ``severity_<kind>``)."""
REVIEW_COSTS = (
    "revenue", "gross_margin", *(f"cost_{driver}" for driver in COST_DRIVERS), "cost_to_serve",
    "operating_profit", "service_minutes", "support_hours", "headache_ratio",
)
"""Cost-to-serve columns the review reads or reports."""
REVIEW_PAYMENT = ("late_flag", "nonpayment_flag", "evidence", "repair", "our_fix")
"""Columns of the payment verdict (per customer and quarter) the review reads."""
ACCOUNT_COLUMNS = ("segment", "created_on")
"""Columns of the customers table each customer-quarter of the review carries."""


def review_inputs(
    activity: pd.DataFrame,
    customer_costs: pd.DataFrame,
    payment_by_quarter: pd.DataFrame,
    customers: pd.DataFrame,
) -> pd.DataFrame:
    """One row per customer and quarter: the drivers, the costs and the payment verdict
    the review reads (:data:`REVIEW_DRIVERS`, :data:`REVIEW_COSTS`, every
    ``severity_<kind>``), and the customer's segment and opening date.

    Only these columns are kept: at a million customers the table has seven million
    rows, and each column is 58 MB. The models' full results are saved with them.
    """
    key = ["customer_id", "quarter"]
    activity, costs = review_columns(activity, customer_costs)
    payment = payment_by_quarter[[*key, *REVIEW_PAYMENT]].rename(
        columns={"evidence": "payment_evidence", "repair": "payment_repair", "our_fix": "payment_our_fix"}
    )
    # The same key types in every frame (also the segments' below), so the merged keys
    # keep them: text, not Python objects.
    costs, payment = (frame.astype({column: activity[column].dtype for column in key}) for frame in (costs, payment))
    segments = customers[["customer_id", *ACCOUNT_COLUMNS]].astype({"customer_id": activity["customer_id"].dtype})
    inputs = _side_by_side(activity, costs, payment, segments)
    if inputs is None:
        inputs = activity.merge(costs, on=key, how="left").merge(payment, on=key, how="left")
        inputs = inputs.merge(segments, on="customer_id", how="left")
    for column in ("late_flag", "nonpayment_flag"):
        inputs[column] = inputs[column].fillna(False).astype(bool)
    for column in ("payment_evidence", "payment_repair", "payment_our_fix"):
        if not (isinstance(tx.TEXT_DTYPE, pd.StringDtype) and inputs[column].dtype == tx.TEXT_DTYPE and not inputs[column].hasnans):  # else as is
            inputs[column] = inputs[column].fillna("").astype(str)
    return inputs


def review_columns(activity: pd.DataFrame, customer_costs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The columns of the activity table and the cost-to-serve result that
    :func:`review_inputs` keeps (with the key); taking them early lets the rest go."""
    key = ["customer_id", "quarter"]
    drivers = [c for c in activity.columns if c in REVIEW_DRIVERS or c.startswith("severity_")]
    costs = [c for c in REVIEW_COSTS if c in customer_costs.columns and c not in drivers]
    return activity[[*key, *drivers]], customer_costs[[*key, *costs]]


def _side_by_side(activity: pd.DataFrame, costs: pd.DataFrame, payment: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame | None:
    """The merges of :func:`review_inputs` without matching keys, when they need none.

    That is when the costs and the payment have exactly the activity's rows in the same
    order, the activity has one row per customer and quarter (its keys strictly increase),
    and each customer appears once in ``segments``: then the merged frame is the three
    frames side by side and each row's segment. It must come out exactly as the merges
    would make it (columns and types, checked against the merges of the first rows), or
    ``None`` is returned and the merges run.
    """
    key = ["customer_id", "quarter"]
    rows = len(activity)
    if rows < 2 or len(costs) != rows or len(payment) != rows:
        return None
    try:
        customer, quarter = (arrow_text(activity[column].array) for column in key)
        for frame in (costs, payment):
            for column, own in zip(key, (customer, quarter)):
                if pc.all(pc.equal(arrow_text(frame[column].array), own), skip_nulls=False).as_py() is not True:
                    return None
        if not in_key_order(activity):
            return None
        same = pc.equal(customer.slice(0, rows - 1), customer.slice(1))
        ids = arrow_text(segments["customer_id"].array)
        if ids.null_count or len(pc.unique(ids)) != len(ids):
            return None
        starts = np.flatnonzero(np.concatenate([[True], ~same.to_numpy(zero_copy_only=False)]))
        first = customer.take(pa.array(starts))
        found = pc.index_in(first, value_set=ids).fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        if (found < 0).any():
            return None
        lengths = np.diff(np.append(starts, rows))
        quarters = pc.dictionary_encode(quarter)
        # the keys as Python strings, each distinct one made once
        texts = {
            "customer_id": np.repeat(first.to_numpy(zero_copy_only=False).astype(object), lengths),
            "quarter": quarters.dictionary.to_numpy(zero_copy_only=False).astype(object)[quarters.indices.to_numpy(zero_copy_only=False)],
        }
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
        return None
    at = np.repeat(found, lengths)
    sample = activity.iloc[:2].merge(costs.iloc[:2], on=key, how="left").merge(payment.iloc[:2], on=key, how="left")
    sample = sample.merge(segments.iloc[np.unique(at[:2])], on="customer_id", how="left")
    parts = [frame.drop(columns=key if frame is not activity else []).reset_index(drop=True) for frame in (activity, costs, payment)]
    merged = pd.concat(parts, axis=1)
    for column in ACCOUNT_COLUMNS:
        merged[column] = pd.Series(segments[column].array.take(at), dtype=segments[column].dtype)
    if list(merged.columns) != list(sample.columns):
        return None
    for column in key:
        dtype = sample[column].dtype
        merged[column] = pd.Series(texts[column], dtype=object) if dtype == object else merged[column].astype(dtype)
    if not merged.dtypes.equals(sample.dtypes):
        return None
    return merged

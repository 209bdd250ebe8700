"""Onboarding: a young account whose orders grow is learning how to work with us, and the
support it needs then is the cost of winning it, not a reason to fail it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from custvalue.review import text as tx

def quarter_numbers(labels: pd.Series) -> np.ndarray:
    """``year * 4 + quarter - 1`` of ``YYYYQn`` labels (each distinct label parsed once)."""
    codes, distinct = pd.factorize(labels)
    numbers = np.array([int(label[:4]) * 4 + int(label[5]) - 1 for label in distinct], dtype=np.int64)
    return numbers[codes]


def onboarding_quarters(inputs: pd.DataFrame, looks_failing: np.ndarray, grace_quarters: int, excused: str) -> tuple[pd.Series, pd.Series]:
    """Which customer-quarters a young, growing account spends onboarding, among those
    that would fail for their service effort (``looks_failing``), and the note that says
    so (ending in ``excused``).

    An account in its first ``grace_quarters`` quarters (counted from the quarter it was
    opened in) whose orders are at a record for the account, up on every earlier quarter
    with orders, is learning how to work with us: the support it needs is the cost of
    winning it, not a headache. Growth must be seen: an account's first quarter with
    orders has nothing to grow on, and a steady account's orders seldom beat every
    earlier quarter by chance.
    """
    rows = np.flatnonzero(looks_failing)
    onboarding = np.zeros(len(inputs), dtype=bool)
    note = pd.Series(tx.texts(len(inputs)), index=inputs.index, dtype=object)
    if grace_quarters <= 0 or not len(rows) or "created_on" not in inputs:
        return pd.Series(onboarding, index=inputs.index), note
    candidates = inputs.iloc[rows]
    opened = pd.to_datetime(candidates["created_on"])
    age = quarter_numbers(candidates["quarter"]) - (opened.dt.year * 4 + (opened.dt.month - 1) // 3).to_numpy()
    young = np.asarray(age < grace_quarters, dtype=bool) & opened.notna().to_numpy()
    if not young.any():
        return pd.Series(onboarding, index=inputs.index), note
    young_rows = candidates.iloc[np.flatnonzero(young)]
    own = inputs.loc[inputs["customer_id"].isin(young_rows["customer_id"]).to_numpy(dtype=bool), ["customer_id", "quarter", "orders"]]
    own = own.assign(number=quarter_numbers(own["quarter"])).sort_values(["customer_id", "number"])
    # the most orders in any earlier quarter of the account, looked up at the next quarter
    own = own[own["orders"] > 0]  # quarters before the first order (or before the data begin) show no growth
    record = own.assign(number=own["number"] + 1, orders=own.groupby("customer_id")["orders"].cummax())
    record = record.set_index(["customer_id", "number"])["orders"]
    # the record just before each quarter: the latest earlier quarter with orders carries it
    wanted = pd.DataFrame({"customer_id": young_rows["customer_id"].to_numpy(dtype=object),
                           "number": quarter_numbers(young_rows["quarter"]), "at": np.arange(len(young_rows))})
    known = record.reset_index().rename(columns={"orders": "record"})
    known["customer_id"] = known["customer_id"].astype(wanted["customer_id"].dtype)  # merge_asof needs one key type
    found = pd.merge_asof(wanted.sort_values("number"), known.sort_values("number"), on="number", by="customer_id", direction="backward")
    previous = found.sort_values("at")["record"].to_numpy(dtype=float)
    orders = young_rows["orders"].to_numpy(dtype=float)
    growing = ~np.isnan(previous) & (orders > previous)
    chosen = rows[np.flatnonzero(young)[growing]]
    onboarding[chosen] = True
    ages = age[young][growing] + 1
    before_text = tx.whole(previous[growing].astype(np.int64)) + ", "
    note.iloc[chosen] = (
        "onboarding: high support in the account's quarter " + tx.whole(ages) + " while orders grow (best quarter before: "
        + before_text + tx.whole(orders[growing].astype(np.int64)) + " orders now); " + excused
    )
    return pd.Series(onboarding, index=inputs.index), note

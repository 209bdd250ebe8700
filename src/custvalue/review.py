"""The quarterly review: criteria per quarter, strikes, status, reasons and actions.

Each quarter is judged on its own behaviour. A *criterion* looks at one customer-quarter
and passes or fails it, with evidence in plain words compared with the segment, and the
repair that fits the evidence. A quarter failing at least one criterion is one *strike*;
a single bad quarter is never more than one strike, because nothing is judged on a
trailing window. The status comes from the strikes in the last ``window_quarters``:

====================  =====================================================================
``healthy``           no strike
``watch``             one strike: repair (the actions tied to the reasons)
``final_notice``      two strikes, or three or more while the latest quarter passed:
                      present the issue to the customer
``let_go``            ``strikes_for_let_go`` or more, the latest quarter failing:
                      terminate and refer to another supplier
``protected``         would be ``final_notice`` or ``let_go``, but its predicted future
                      value is in the top share: repair instead
``inactive``          the relationship has ended, or gone quiet with a low probability of
                      being alive: not reviewed (and not "let go" again)
``new``               younger than ``min_history_days``: too little history to judge fairly
====================  =====================================================================

The criteria (every threshold in :class:`custvalue.config.ReviewSettings`):

- ``unprofitable``: operating profit after cost to serve below ``-unprofitable_min_loss``.
- ``headache``: service minutes per unit of gross margin in the worst
  ``headache_worst_share`` of the quarter, with service minutes at least
  ``headache_min_multiple`` times the segment's median.
- ``payment``: excess lateness over size-and-segment peers, or non-payment (from
  :mod:`custvalue.payment`, so enterprises slow by policy are not punished).
- ``relationship``: incident points (weight x severity) reaching
  ``incident_points_threshold``.

What we caused never counts: tickets caused by us are costed to us (see
:mod:`custvalue.cost_to_serve`), and disputes of our own errors are not judged. Where we
caused part of the trouble, the reasons say so.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from custvalue.config import ReviewSettings
from custvalue.cost_to_serve.drivers import COST_DRIVERS
from custvalue.features import arrow_text, in_key_order
from custvalue.quarters import Quarter

STATUS_ORDER = ("let_go", "final_notice", "protected", "watch", "healthy", "new", "inactive")
_STATUS = pd.CategoricalDtype(STATUS_ORDER)
_STR = pd.Series(["text"], dtype=object).astype(str).dtype  # what ``astype(str)`` makes of text
FLAGGED = ("let_go", "final_notice", "protected", "watch")
TERMINATE = "terminate and refer to another supplier"
PRESENT = "present the issue to the customer"

# The repair that answers each cost driver when it is what makes a customer unprofitable.
DRIVER_REPAIRS = {
    "order_handling": "set a minimum order size",
    "rush": "charge for rush delivery",
    "manual_entry": "move ordering to the web shop or EDI; charge for manual orders",
    "return_handling": "charge a restocking fee for returns",
    "support": "charge for support beyond an allowance",
    "relationship": "change the account team and agree rules of conduct in writing",
    "financing": "shorten payment terms",
    "bad_debt": "require prepayment or a deposit",
}
DRIVER_WORDS = {
    "order_handling": "order handling",
    "rush": "rush orders",
    "manual_entry": "manual order entry",
    "return_handling": "returns",
    "support": "support",
    "relationship": "relationship incidents",
    "financing": "financing of receivables",
    "bad_debt": "bad debt",
}


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


@dataclass(frozen=True)
class Verdict:
    """What one criterion found for every customer-quarter."""

    failed: pd.Series
    """Boolean, indexed like the review inputs."""
    evidence: pd.Series
    """Plain-language reason where failed (empty string where passed)."""
    repair: pd.Series
    """The repair that fits the evidence (empty string where passed)."""
    note: pd.Series | None = None
    """Why a quarter that looks failing is not counted (e.g. onboarding), where it applies."""


@dataclass(frozen=True)
class Criterion:
    """A named test of one customer-quarter."""

    name: str
    judge: Callable[[pd.DataFrame], Verdict]


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
        if not (isinstance(_STR, pd.StringDtype) and inputs[column].dtype == _STR and not inputs[column].hasnans):  # else as is
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


def _empty(index: pd.Index) -> pd.Series:
    return pd.Series("", index=index, dtype=object)


# --------------------------------------------------------------------------- text for whole columns
#
# Evidence is written for every failing row at once: numbers are turned into text with
# numpy (exactly the text ``format`` gives, see ``_number``), and the pieces are joined
# with numpy's element-wise ``+`` on object arrays. Only the failing rows are formatted.

_DIGITS = np.array([str(number) for number in range(1000)], dtype=object)
_PADDED = {width: np.array([f"{number:0{width}d}" for number in range(10**width)], dtype=object) for width in (1, 2, 3)}


def _texts(size: int, fill: str = "") -> np.ndarray:
    return np.full(size, fill, dtype=object)


def _grouped(whole: np.ndarray, separator: str) -> np.ndarray:
    """Non-negative integers as decimal text, groups of three digits separated by ``separator``."""
    text = np.empty(whole.shape, dtype=object)
    small = whole < 1000
    text[small] = _DIGITS[whole[small]]
    if not small.all():
        large = whole[~small]
        text[~small] = _grouped(large // 1000, separator) + separator + _PADDED[3][large % 1000]
    return text


def _number(values: np.ndarray, decimals: int = 0, grouping: bool = True, percent: bool = False) -> np.ndarray:
    """``format(value, ",.<decimals>f")`` of each value (``.<decimals>%`` with ``percent``,
    without the thousands separator when not ``grouping``), as an object array.

    The text is exactly Python's: it rounds the exact binary value half to even, as
    ``numpy.rint`` does. With decimals, ``value * 10**decimals`` is itself rounded, so the
    few values that land within two units in the last place of a half are formatted by
    Python, as are infinities, NaN and magnitudes above 2**52.
    """
    spec = f"{',' if grouping else ''}.{decimals}{'%' if percent else 'f'}"
    x = np.asarray(values, dtype=np.float64)
    y = x * 100.0 if percent else x  # what Python's "%" does before formatting
    scaled = np.abs(y) * 10.0**decimals if decimals else np.abs(y)
    with np.errstate(invalid="ignore", over="ignore"):
        plain = np.isfinite(scaled) & (scaled < 2.0**52)
        if decimals:
            plain &= np.abs(scaled - np.floor(scaled) - 0.5) > 2 * np.spacing(scaled)
    text = np.empty(x.shape, dtype=object)
    if plain.any():
        whole = np.rint(scaled[plain]).astype(np.int64)
        unit = 10**decimals
        body = _grouped(whole // unit, "," if grouping else "")
        if decimals:
            body = body + "." + _PADDED[decimals][whole % unit]
        body = np.where(np.signbit(y[plain]), "-", "").astype(object) + body
        text[plain] = body + "%" if percent else body
    if not plain.all():
        text[~plain] = np.array([format(value, spec) for value in x[~plain].tolist()], dtype=object)
    return text


def _whole(values: np.ndarray) -> np.ndarray:
    """``str(int(value))`` of each value, as an object array."""
    values = np.asarray(values)
    if values.dtype.kind in "iu":
        small = (values >= 0) & (values < 1000)
        if small.all():
            return _DIGITS[values]
        text = np.empty(values.shape, dtype=object)
        text[small] = _DIGITS[values[small]]
        text[~small] = np.array([str(int(value)) for value in values[~small].tolist()], dtype=object)
        return text
    return np.array([str(int(value)) for value in values.tolist()], dtype=object)


def _joined(parts: Sequence[tuple[np.ndarray, np.ndarray | str]], separator: str, size: int) -> np.ndarray:
    """Per row, ``separator.join`` of the parts present in that row, in order.

    Each part is ``(present, text)``: a boolean mask and an object array of texts (or one
    text for all rows); the text is read only where present.
    """
    text = _texts(size)
    started = np.zeros(size, dtype=bool)
    for present, part in parts:
        part = np.broadcast_to(np.asarray(part, dtype=object), (size,))
        later = present & started
        text[later] = text[later] + separator + part[later]
        first = present & ~started
        text[first] = part[first]
        started |= present
    return text


def _where(present: np.ndarray, make: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``make(rows)`` where ``present`` (``rows``: positions), empty text elsewhere."""
    text = _texts(len(present))
    rows = np.flatnonzero(present)
    if len(rows):
        text[rows] = make(rows)
    return text


def _column(inputs: pd.DataFrame, column: str, rows: np.ndarray) -> np.ndarray:
    """The values of ``column`` at positions ``rows`` (numpy dtype kept where it has one)."""
    return inputs[column].to_numpy()[rows]


def _floats(inputs: pd.DataFrame, column: str, rows: np.ndarray) -> np.ndarray:
    return np.asarray(_column(inputs, column, rows), dtype=np.float64)


def _verdict(failed: pd.Series, index: pd.Index, rows: np.ndarray, evidence: np.ndarray, repair: np.ndarray) -> Verdict:
    """A verdict with ``evidence`` and ``repair`` at positions ``rows``, empty elsewhere."""
    evidence_all, repair_all = _texts(len(index)), _texts(len(index))
    evidence_all[rows], repair_all[rows] = evidence, repair
    return Verdict(failed, pd.Series(evidence_all, index=index, dtype=object), pd.Series(repair_all, index=index, dtype=object))


class _QuarterSegments:
    """Each row's quarter and (quarter, segment) cell as integer codes, for ranks and medians."""

    def __init__(self, inputs: pd.DataFrame) -> None:
        quarter, quarters = pd.factorize(inputs["quarter"])
        segment, segments = pd.factorize(inputs["segment"])
        width = max(len(segments), 1)
        known = (quarter >= 0) & (segment >= 0)
        self.cell = np.where(known, quarter * width + segment, -1)
        self.cells = len(quarters) * width
        self.quarter = quarter  # -1: missing, in no group (as when grouping by the labels)
        self.index = inputs.index

    def ranked_above(self, values: np.ndarray, share: float) -> np.ndarray:
        """Where ``values.groupby(<quarter>).rank(pct=True, method="max") > share``, without
        ranking every row: per quarter, the values from the first one whose rank (the count
        of values at or below it, over the count of values) exceeds ``share``. NaN is not
        ranked."""
        quarter = self.quarter
        above = np.zeros(len(values), dtype=bool)
        ranked = ~np.isnan(values) & (quarter >= 0)
        order = np.argsort(quarter[ranked], kind="stable")
        rows = np.flatnonzero(ranked)[order]
        bounds = np.flatnonzero(np.diff(quarter[rows])) + 1
        for group in np.split(rows, bounds):
            if not len(group):
                continue
            ordered = np.sort(values[group])
            ranks = np.searchsorted(ordered, ordered, side="right").astype(np.float64)
            passing = np.flatnonzero(ranks / len(ordered) > share)
            if len(passing):
                above[group] = values[group] >= ordered[passing[0]]
        return above

    def median(self, values: pd.Series, among: pd.Series) -> pd.Series:
        """Each row's segment median of ``values`` in its quarter, over the rows in ``among``."""
        chosen = np.asarray(among, dtype=bool) & (self.cell >= 0)
        medians = pd.Series(values.to_numpy()[chosen]).groupby(self.cell[chosen]).median()
        table = np.full(self.cells + 1, np.nan)  # the last entry: no cell
        table[medians.index.to_numpy()] = medians.to_numpy(dtype=np.float64)
        return pd.Series(table[self.cell], index=self.index)


def _segment_median(inputs: pd.DataFrame, column: str, among: pd.Series) -> pd.Series:
    """Each row's segment median of ``column`` in its quarter, over the rows in ``among``."""
    return _QuarterSegments(inputs).median(inputs[column], among)


def _times(value: float, reference: float) -> str:
    if not np.isfinite(reference) or reference <= 0:
        return ""
    return f", {value / reference:.1f}x the segment median"


def unprofitable(settings: ReviewSettings) -> Criterion:
    """Fails a quarter whose operating profit after cost to serve is a material loss."""
    columns = [f"cost_{driver}" for driver in COST_DRIVERS]
    words = np.array([DRIVER_WORDS[driver] for driver in COST_DRIVERS], dtype=object)
    repairs = np.array([DRIVER_REPAIRS[driver] for driver in COST_DRIVERS], dtype=object)
    reprice = "reprice: stop discounts that leave no margin"

    def judge(inputs: pd.DataFrame) -> Verdict:
        profit = inputs["operating_profit"].fillna(0.0)
        failed = profit < -settings.unprofitable_min_loss
        rows = np.flatnonzero(failed.to_numpy(dtype=bool))
        amounts = np.column_stack([_floats(inputs, column, rows) for column in columns]) if len(rows) else np.zeros((0, len(columns)))
        amounts[np.isnan(amounts)] = 0.0
        # A loss led by support, in a young account whose orders grow, is the cost of onboarding it.
        support_led = np.zeros(len(inputs), dtype=bool)
        if "support" in COST_DRIVERS and len(rows):
            support_led[rows] = np.argmax(amounts, axis=1) == list(COST_DRIVERS).index("support")
        onboarding, note = _onboarding(inputs, support_led, settings.onboarding_grace_quarters, "its support is not counted as a loss")
        if onboarding.any():
            failed = failed & ~onboarding
            kept = ~onboarding.to_numpy(dtype=bool)[rows]
            rows, amounts = rows[kept], amounts[kept]
        n = len(rows)
        # The two largest positive costs, largest first.
        order = np.argsort(-amounts, axis=1, kind="stable")
        ranked = np.take_along_axis(amounts, order, axis=1)
        first, second = ranked[:, 0], ranked[:, 1] if len(columns) > 1 else np.zeros(n)
        has_first, has_second = first > 0, second > 0
        named = _joined(
            [
                (has_first, _where(has_first, lambda at: words[order[at, 0]] + " " + _number(first[at]))),
                (has_second, _where(has_second, lambda at: words[order[at, 1]] + " " + _number(second[at]))),
            ],
            ", ",
            n,
        )
        margin, revenue = _floats(inputs, "gross_margin", rows), _floats(inputs, "revenue", rows)
        evidence = (
            "lost " + _number(-profit.to_numpy(dtype=np.float64)[rows]) + " after cost to serve "
            + _number(_floats(inputs, "cost_to_serve", rows)) + " on gross margin " + _number(margin)
            + " (largest: " + named + ")"
        )
        with np.errstate(invalid="ignore"):
            no_margin = margin <= 0.05 * np.where(1.0 > revenue, 1.0, revenue)  # max(revenue, 1.0), NaN kept
        repair = _joined([(no_margin, reprice), (has_first, _where(has_first, lambda at: repairs[order[at, 0]]))], "; ", n)
        # Equal amounts among the top ones: which comes first is the per-row sort's choice.
        third = ranked[:, 2] if len(columns) > 2 else np.zeros(n)
        for at in np.flatnonzero((has_second & (first == second)) | ((third > 0) & (second == third))):
            evidence[at], repair[at] = _unprofitable_row(inputs, rows[at], columns, profit)
        return dataclasses.replace(_verdict(failed, inputs.index, rows, evidence, repair), note=note)

    return Criterion("unprofitable", judge)


def _unprofitable_row(inputs: pd.DataFrame, position: int, columns: list[str], profit: pd.Series) -> tuple[str, str]:
    """The evidence and repair of one failing row, one row at a time (for ties)."""
    costs = inputs[columns].iloc[position].astype(float).fillna(0.0).sort_values(ascending=False)
    top = [(column.removeprefix("cost_"), amount) for column, amount in costs.items() if amount > 0][:2]
    named = ", ".join(f"{DRIVER_WORDS[driver]} {amount:,.0f}" for driver, amount in top)
    margin = inputs["gross_margin"].iloc[position]
    evidence = (
        f"lost {-profit.iloc[position]:,.0f} after cost to serve {inputs['cost_to_serve'].iloc[position]:,.0f}"
        f" on gross margin {margin:,.0f} (largest: {named})"
    )
    repairs = [DRIVER_REPAIRS[driver] for driver, _ in top[:1]]
    if margin <= 0.05 * max(inputs["revenue"].iloc[position], 1.0):
        repairs.insert(0, "reprice: stop discounts that leave no margin")
    return evidence, "; ".join(repairs)


def headache(settings: ReviewSettings) -> Criterion:
    """Fails a quarter whose service effort per unit of margin is among the worst and far
    above the segment's usual."""

    def judge(inputs: pd.DataFrame) -> Verdict:
        groups = _QuarterSegments(inputs)
        ratio = inputs["headache_ratio"].astype(float).fillna(0.0)
        minutes = inputs["service_minutes"].fillna(0.0)
        served = minutes > 0
        worst = pd.Series(groups.ranked_above(ratio.where(served).to_numpy(dtype=np.float64), 1 - settings.headache_worst_share), index=inputs.index)
        # A low margin alone is the unprofitable criterion's business: a headache takes
        # far more service effort than the segment's usual customer.
        typical = groups.median(minutes, served)
        far_above = minutes >= settings.headache_min_multiple * typical.fillna(0.0)
        failed = (worst & far_above & served).fillna(False).astype(bool)
        onboarding, note = _onboarding(inputs, failed.to_numpy(dtype=bool), settings.onboarding_grace_quarters, "not counted as a headache")
        failed = failed & ~onboarding
        rows = np.flatnonzero(failed.to_numpy(dtype=bool))
        n = len(rows)
        if not n:
            return dataclasses.replace(_verdict(failed, inputs.index, rows, _texts(0), _texts(0)), note=note)
        ordering = inputs["orders"] > 0
        support_hours = inputs["ticket_minutes"].fillna(0.0) / 60
        typical_hours = groups.median(support_hours, ordering).to_numpy()[rows]
        rush_share = inputs["rush_orders"] / inputs["orders"].where(ordering)
        typical_rush = groups.median(rush_share, ordering).to_numpy()[rows]
        hours, share = support_hours.to_numpy(dtype=np.float64)[rows], rush_share.to_numpy(dtype=np.float64)[rows]
        manual, orders = _column(inputs, "manual_orders", rows), _column(inputs, "orders", rows)

        with np.errstate(invalid="ignore"):
            supported = hours > 0
            rushed = share >= 0.25
            by_hand = (manual > 0) & (manual >= 0.5 * orders)
            comparable = np.isfinite(typical_hours) & (typical_hours > 0)

        def support_text(at: np.ndarray) -> np.ndarray:
            times = _where(comparable[at], lambda on: ", " + _number(hours[at][on] / typical_hours[at][on], 1, grouping=False) + "x the segment median")
            return "support " + _number(hours[at], 1) + " h this quarter" + times

        def rush_text(at: np.ndarray) -> np.ndarray:
            return (
                _number(share[at], 0, grouping=False, percent=True) + " of orders rush (segment median "
                + _number(typical_rush[at], 0, grouping=False, percent=True) + ")"
            )

        def manual_text(at: np.ndarray) -> np.ndarray:
            return _whole(manual[at]) + " of " + _whole(orders[at]) + " orders keyed by hand"

        service, margin = _floats(inputs, "service_minutes", rows), _floats(inputs, "gross_margin", rows)
        with np.errstate(invalid="ignore"):
            no_margin = margin <= 0
        per_margin = _texts(n, "no margin to cover it")
        with np.errstate(divide="ignore", invalid="ignore"):
            per_margin[~no_margin] = _number(service[~no_margin] / margin[~no_margin] * 100) + " service minutes per 100 of margin"
        evidence = "headache: " + _joined(
            [
                (supported, _where(supported, support_text)),
                (rushed, _where(rushed, rush_text)),
                (by_hand, _where(by_hand, manual_text)),
                (np.ones(n, dtype=bool), per_margin),
            ],
            "; ",
            n,
        )
        repair = _joined(
            [(supported, DRIVER_REPAIRS["support"]), (rushed, DRIVER_REPAIRS["rush"]), (by_hand, DRIVER_REPAIRS["manual_entry"])], "; ", n
        )
        repair[repair == ""] = DRIVER_REPAIRS["order_handling"]
        return dataclasses.replace(_verdict(failed, inputs.index, rows, evidence, repair), note=note)

    return Criterion("headache", judge)


def _quarter_numbers(labels: pd.Series) -> np.ndarray:
    """``year * 4 + quarter - 1`` of ``YYYYQn`` labels (each distinct label parsed once)."""
    codes, distinct = pd.factorize(labels)
    numbers = np.array([int(label[:4]) * 4 + int(label[5]) - 1 for label in distinct], dtype=np.int64)
    return numbers[codes]


def _onboarding(inputs: pd.DataFrame, looks_failing: np.ndarray, grace_quarters: int, excused: str) -> tuple[pd.Series, pd.Series]:
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
    note = pd.Series(_texts(len(inputs)), index=inputs.index, dtype=object)
    if grace_quarters <= 0 or not len(rows) or "created_on" not in inputs:
        return pd.Series(onboarding, index=inputs.index), note
    candidates = inputs.iloc[rows]
    opened = pd.to_datetime(candidates["created_on"])
    age = _quarter_numbers(candidates["quarter"]) - (opened.dt.year * 4 + (opened.dt.month - 1) // 3).to_numpy()
    young = np.asarray(age < grace_quarters, dtype=bool) & opened.notna().to_numpy()
    if not young.any():
        return pd.Series(onboarding, index=inputs.index), note
    young_rows = candidates.iloc[np.flatnonzero(young)]
    own = inputs.loc[inputs["customer_id"].isin(young_rows["customer_id"]).to_numpy(dtype=bool), ["customer_id", "quarter", "orders"]]
    own = own.assign(number=_quarter_numbers(own["quarter"])).sort_values(["customer_id", "number"])
    # the most orders in any earlier quarter of the account, looked up at the next quarter
    own = own[own["orders"] > 0]  # quarters before the first order (or before the data begin) show no growth
    record = own.assign(number=own["number"] + 1, orders=own.groupby("customer_id")["orders"].cummax())
    record = record.set_index(["customer_id", "number"])["orders"]
    # the record just before each quarter: the latest earlier quarter with orders carries it
    wanted = pd.DataFrame({"customer_id": young_rows["customer_id"].to_numpy(dtype=object),
                           "number": _quarter_numbers(young_rows["quarter"]), "at": np.arange(len(young_rows))})
    known = record.reset_index().rename(columns={"orders": "record"})
    known["customer_id"] = known["customer_id"].astype(wanted["customer_id"].dtype)  # merge_asof needs one key type
    found = pd.merge_asof(wanted.sort_values("number"), known.sort_values("number"), on="number", by="customer_id", direction="backward")
    previous = found.sort_values("at")["record"].to_numpy(dtype=float)
    orders = young_rows["orders"].to_numpy(dtype=float)
    growing = ~np.isnan(previous) & (orders > previous)
    chosen = rows[np.flatnonzero(young)[growing]]
    onboarding[chosen] = True
    ages = age[young][growing] + 1
    before_text = _whole(previous[growing].astype(np.int64)) + ", "
    note.iloc[chosen] = (
        "onboarding: high support in the account's quarter " + _whole(ages) + " while orders grow (best quarter before: "
        + before_text + _whole(orders[growing].astype(np.int64)) + " orders now); " + excused
    )
    return pd.Series(onboarding, index=inputs.index), note


def payment() -> Criterion:
    """Fails a quarter in which the customer paid late beyond its peers, or did not pay."""

    def judge(inputs: pd.DataFrame) -> Verdict:
        failed = inputs["late_flag"] | inputs["nonpayment_flag"]
        evidence = inputs["payment_evidence"].where(failed, "")
        repair = inputs["payment_repair"].where(failed, "")
        return Verdict(failed, evidence.astype(object), repair.astype(object))

    return Criterion("payment", judge)


def relationship(settings: ReviewSettings) -> Criterion:
    """Fails a quarter whose relationship incidents, weighted by kind and severity, reach
    the threshold."""

    def judge(inputs: pd.DataFrame) -> Verdict:
        weights = settings.incident_weights
        points = sum(inputs[f"severity_{kind}"] * weight for kind, weight in weights.items())
        failed = points >= settings.incident_points_threshold
        rows = np.flatnonzero(np.asarray(failed, dtype=bool))
        n = len(rows)
        parts = []
        for kind in weights:
            severity = _column(inputs, f"severity_{kind}", rows)
            present = np.asarray(severity > 0, dtype=bool)
            label = f"{kind.replace('_', ' ')} (total severity "
            parts.append((present, _where(present, lambda at, severity=severity, label=label: label + _whole(severity[at]) + ")")))
        evidence = _whole(_column(inputs, "incidents", rows)) + " relationship incidents: " + _joined(parts, ", ", n)
        pressured = np.asarray(_column(inputs, "severity_price_pressure", rows) > 0, dtype=bool)
        repair = np.where(pressured, "hold prices; put the terms in a written agreement", DRIVER_REPAIRS["relationship"]).astype(object)
        return _verdict(failed, inputs.index, rows, evidence, repair)

    return Criterion("relationship", judge)


def future_value(clv: pd.Series, judged: pd.DataFrame, window: Sequence[str]) -> pd.DataFrame:
    """Predicted future value net of what serving the customer costs, and its rank.

    Lifetime value predicts future gross margin; a customer whose margin is eaten by cost
    to serve or bad debt brings far less. The margin that survived over the window
    (operating profit / gross margin, between -1 and 1) scales the prediction, so a
    loss-maker or non-payer is never protected by margin it will not deliver.
    """
    columns = ["customer_id", "operating_profit", "gross_margin"]
    recent = judged.loc[judged["quarter"].isin(window).to_numpy(dtype=bool), columns].groupby("customer_id")[columns[1:]].sum()
    kept = (recent["operating_profit"] / recent["gross_margin"].where(recent["gross_margin"] > 0)).clip(-1, 1)
    kept = kept.where(recent["gross_margin"] > 0, -1.0).reindex(clv.index).fillna(1.0)
    value = clv.fillna(0.0) * kept
    return pd.DataFrame({"future_value": value, "future_value_rank": value.rank(pct=True, method="average")})


def standard_criteria(settings: ReviewSettings) -> list[Criterion]:
    """The four criteria of the review, in reporting order."""
    return [unprofitable(settings), headache(settings), payment(), relationship(settings)]


def judge_quarters(inputs: pd.DataFrame, criteria: Sequence[Criterion]) -> pd.DataFrame:
    """Apply every criterion to every customer-quarter.

    Returns the inputs with ``fail_<name>`` and ``why_<name>`` per criterion, and
    ``failed`` (a strike), ``reasons`` (all evidence), ``repairs``, ``our_share`` and
    ``notes`` (why a quarter that looked failing is not counted).
    """
    # New columns only: a shallow copy shares the inputs' columns without copying them
    # (copy-on-write keeps the two apart).
    judged = inputs.copy(deep=False)
    repairs, notes_by_criterion = [], []
    for criterion in criteria:
        verdict = criterion.judge(inputs)
        judged[f"fail_{criterion.name}"] = verdict.failed.astype(bool).to_numpy()
        judged[f"why_{criterion.name}"] = _text_column(verdict.evidence.to_numpy())
        repairs.append(verdict.repair.to_numpy())
        notes_by_criterion.append(None if verdict.note is None else verdict.note.to_numpy())
    names = [criterion.name for criterion in criteria]
    judged["failed"] = judged[[f"fail_{n}" for n in names]].any(axis=1) if names else False
    judged["reasons"] = _text_column(_join_columns([judged[f"why_{n}"] for n in names], len(judged)))
    judged["repairs"] = _text_column(_join_unique(repairs, len(judged)))
    judged["our_share"] = _text_column(our_share(inputs).to_numpy())
    notes = [verdict_note for verdict_note in notes_by_criterion if verdict_note is not None]
    judged["notes"] = _text_column(_join_unique(notes, len(judged)) if notes else _texts(len(judged)))
    return judged


def _text_column(values: np.ndarray) -> np.ndarray | pd.api.extensions.ExtensionArray:
    """What a frame stores when ``values`` (an object array, mostly empty texts) is assigned
    to a column: with pandas' Arrow-backed text type, built in Arrow from the non-empty
    texts alone; anything else (missing values, non-text) is left to pandas to infer."""
    values = np.asarray(values, dtype=object)
    if not (isinstance(_STR, pd.StringDtype) and _STR.storage == "pyarrow") or not len(values):
        return values
    filled = np.flatnonzero(values != "")
    texts = values[filled]
    if len(texts) and pd.api.types.infer_dtype(texts, skipna=False) != "string":
        return values
    at = np.full(len(values), len(texts), dtype=np.int64)
    at[filled] = np.arange(len(texts))
    return pd.array(pa.array(np.append(texts, ""), type=pa.large_string()).take(pa.array(at)), dtype=_STR)


def our_share(inputs: pd.DataFrame) -> pd.Series:
    """What we caused in each customer-quarter, in plain words (not counted against them)."""
    tickets = inputs.get("our_tickets", pd.Series(0, index=inputs.index)).fillna(0)
    minutes = inputs.get("our_ticket_minutes", pd.Series(0.0, index=inputs.index)).fillna(0.0)
    fixes = inputs.get("payment_our_fix", _empty(inputs.index)).fillna("")
    caused = (tickets > 0).to_numpy(dtype=bool)
    fixed = (fixes != "").to_numpy(dtype=bool)
    rows = np.flatnonzero(caused | fixed)
    texts = _texts(len(inputs))
    if len(rows):
        count, hours = tickets.to_numpy()[rows], minutes.to_numpy()[rows] / 60
        caused = caused[rows]
        stated = _where(caused, lambda at: "we caused " + _whole(count[at]) + " of their tickets (" + _number(hours[at], 1) + " h), not counted against them")
        texts[rows] = _joined([(caused, stated), (fixed[rows], fixes.iloc[rows].to_numpy(dtype=object))], "; ", len(rows))
    return pd.Series(texts, index=inputs.index, dtype=object)


def _join(values: np.ndarray, unique: bool = False) -> list[str]:
    joined = []
    for row in values:
        parts: list[str] = []
        for text in row:
            for part in str(text).split("; ") if unique else [str(text)]:
                if part and part != "nan" and part not in parts:
                    parts.append(part)
        joined.append("; ".join(parts))
    return joined


def _join_columns(columns: Sequence[pd.Series], size: int) -> np.ndarray:
    """``_join`` of the columns' texts, row by row (each non-empty text once, in order),
    for whole columns at once."""
    text = _texts(size)
    if not columns:
        return text
    if not all(isinstance(column.dtype, pd.StringDtype) and not column.hasnans for column in columns):
        return np.array(_join(np.column_stack([column.to_numpy(dtype=object) for column in columns])), dtype=object)
    valid = [((column != "") & (column != "nan")).to_numpy(dtype=bool) for column in columns]
    rows = np.flatnonzero(np.logical_or.reduce(valid))
    texts = [column.iloc[rows].to_numpy(dtype=object) for column in columns]
    valid = [present[rows] for present in valid]
    parts = []
    for j, (present, part) in enumerate(zip(valid, texts)):
        again = np.zeros(len(rows), dtype=bool)
        for i in range(j):
            again |= valid[i] & (texts[i] == part)
        parts.append((present & ~again, part))
    text[rows] = _joined(parts, "; ", len(rows))
    return text


def _join_unique(columns: Sequence[np.ndarray], size: int) -> np.ndarray:
    """``_join(..., unique=True)`` of the columns, row by row: every ``"; "``-separated part
    once, in order. Repairs repeat across rows, so each distinct combination of texts is
    joined once."""
    text = _texts(size)
    columns = [np.asarray(column, dtype=object) for column in columns]
    if not columns:
        return text
    rows = np.flatnonzero(np.logical_or.reduce([column != "" for column in columns]))
    if not len(rows):
        return text
    values = [column[rows] for column in columns]
    if not all(pd.api.types.infer_dtype(value, skipna=False) == "string" for value in values):
        text[rows] = np.array(_join(np.column_stack(values), unique=True), dtype=object)
        return text
    key, combinations = np.zeros(len(rows), dtype=np.int64), 1
    for value in values:
        codes, uniques = pd.factorize(value)
        combinations *= max(len(uniques), 1)
        if combinations >= 2**62:  # too many to number: join row by row
            text[rows] = np.array(_join(np.column_stack(values), unique=True), dtype=object)
            return text
        key = key * max(len(uniques), 1) + codes
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    joined = np.array(_join(np.column_stack([value[first] for value in values]), unique=True), dtype=object)
    text[rows] = joined[inverse.reshape(-1)]
    return text


def window_of(quarter: Quarter, settings: ReviewSettings) -> list[str]:
    """The quarters whose strikes count at ``quarter``, oldest first."""
    return [str(quarter.shift(-step)) for step in reversed(range(settings.window_quarters))]


def assign_status(
    judged: pd.DataFrame,
    customers: pd.DataFrame,
    quarter: Quarter,
    settings: ReviewSettings,
    future_value_rank: pd.Series | None = None,
    p_alive: pd.Series | None = None,
) -> pd.DataFrame:
    """Strikes within the window, status and the case for each customer at ``quarter``.

    Parameters
    ----------
    judged : DataFrame
        Output of :func:`judge_quarters`, one row per customer and quarter.
    customers : DataFrame
        Accepted customers (``customer_id``, ``created_on``, ``ended_on``, ...).
    quarter : Quarter
        The quarter under review.
    settings : ReviewSettings
        Window, strikes, protection and inactivity thresholds.
    future_value_rank : Series, optional
        Percentile of predicted future value by ``customer_id`` (1 = highest).
    p_alive : Series, optional
        Probability that the customer is still buying, by ``customer_id``.

    Returns
    -------
    DataFrame
        One row per customer: ``strikes``, ``strike_quarters``, ``status``, ``reasons``
        (the latest strike's evidence), ``our_share``, ``action``.
    """
    return _History(judged, customers).card(quarter, settings, future_value_rank, p_alive)


class _History:
    """The judged history keyed for the review of any quarter: each row's quarter and
    customer as integer codes, computed once for all the quarters reviewed.

    Customers are numbered by their distinct ids (``ids``); each row of ``customers`` has
    its number in ``of_card`` and each judged row in ``of_row`` (-1: not a customer). Per
    customer arrays have one more entry at the end, for -1.
    """

    def __init__(self, judged: pd.DataFrame, customers: pd.DataFrame) -> None:
        self.judged = judged
        self.customers = customers
        self.quarter_code, labels = pd.factorize(judged["quarter"])
        self.labels = np.asarray(labels, dtype=object)
        self.code_of = {label: code for code, label in enumerate(self.labels)}
        self.rank = np.empty(len(self.labels), dtype=np.int64)  # position in label order
        self.rank[np.argsort(self.labels, kind="stable")] = np.arange(len(self.labels))
        self.of_card, self.size, self.of_row = _customer_numbers(customers["customer_id"], judged["customer_id"])
        self.failed = judged["failed"].fillna(False).to_numpy(dtype=bool)

        def flag(column: str) -> np.ndarray:
            return judged[column].fillna(False).to_numpy(dtype=bool) if column in judged else np.zeros(len(judged), dtype=bool)

        # Strikes that are grounds to let a customer go (see ``without_grounds``). A history
        # without the criteria's verdicts and the profit cannot show that a strike lacks
        # grounds, so there every strike counts as one.
        knows_grounds = "operating_profit" in judged and any(c.startswith("fail_") for c in judged.columns)
        self.grounds = self.failed & (flag("fail_headache") | flag("fail_relationship") | flag("nonpayment_flag")) if knows_grounds else self.failed
        profit = judged["operating_profit"] if "operating_profit" in judged else pd.Series(0.0, index=judged.index)
        self.operating_profit = np.nan_to_num(profit.to_numpy(dtype=np.float64, na_value=np.nan))
        self.index = customers.set_index("customer_id").index
        try:
            self.id_text: pa.Array | None = arrow_text(customers["customer_id"].array)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            self.id_text = None
        self._ranks: dict[int, tuple[pd.Series, np.ndarray]] = {}

    def rows_in(self, quarters: Sequence[str]) -> np.ndarray:
        """Judged rows of ``quarters`` (labels)."""
        wanted = np.zeros(len(self.labels) + 1, dtype=bool)
        for label in quarters:
            if label in self.code_of:
                wanted[self.code_of[label]] = True
        return wanted[self.quarter_code]

    def per_card(self, values: np.ndarray, missing) -> np.ndarray:
        """A per-customer array (``size`` entries) spread to the rows of ``customers``."""
        return np.append(values, np.asarray([missing], dtype=values.dtype))[self.of_card]

    def latest(self, rows: np.ndarray, column: str, extra: np.ndarray | None = None) -> np.ndarray:
        """For each customer, the judged row (position) of its latest quarter among
        ``rows`` where ``column`` is not missing (and ``extra``, if given); -1 if none.
        The latest is the last in label order, as after sorting by quarter."""
        keep = self.judged[column].iloc[rows].notna().to_numpy(dtype=bool)
        if extra is not None:
            keep = keep & extra
        rows = rows[keep]
        customer, rank = self.of_row[rows], self.rank[self.quarter_code[rows]]
        order = np.lexsort((rank, customer))
        rows, customer = rows[order], customer[order]
        last = np.flatnonzero(np.append(customer[1:] != customer[:-1], True)) if len(rows) else np.zeros(0, dtype=np.int64)
        picked = np.full(self.size, -1, dtype=np.int64)
        picked[customer[last]] = rows[last]
        return picked

    def take(self, column: str, picked: np.ndarray) -> pd.Series:
        """``column`` at the picked rows, for every row of ``customers`` (missing where -1)."""
        at = self.per_card(picked, -1)
        source = self.judged[column]
        return pd.Series(pd.api.extensions.take(source.array, at, allow_fill=True), index=self.index, dtype=source.dtype)

    def lookup(self, values: pd.Series, fill: float) -> np.ndarray:
        """``values.reindex(<customer ids>).fillna(fill)`` as floats, for every row of
        ``customers`` (looked up in Arrow when the ids are text)."""
        try:
            keys = arrow_text(values.index.array)
            if self.id_text is None or not values.index.is_unique:  # reindex says what is wrong
                raise ValueError
            at = pc.index_in(self.id_text, value_set=keys).fill_null(-1).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
            return values.reindex(self.index).fillna(fill).to_numpy(dtype=np.float64)
        found = np.append(values.to_numpy(dtype=np.float64), np.nan)[at]
        found[np.isnan(found)] = fill
        return found

    def future_rank(self, future_value_rank: pd.Series) -> np.ndarray:
        cached = self._ranks.get(id(future_value_rank))
        if cached is None or cached[0] is not future_value_rank:
            cached = (future_value_rank, self.lookup(future_value_rank, 0.0))
            self._ranks[id(future_value_rank)] = cached
        return cached[1]

    def strikes(self, quarter: Quarter, settings: ReviewSettings) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Judged rows in the window, the struck ones, and per customer the number of
        strikes and their quarters (``;``-separated, in label order)."""
        window = window_of(quarter, settings)
        in_window = np.flatnonzero(self.rows_in(window) & (self.of_row >= 0))
        struck = in_window[self.failed[in_window]]
        customer, rank = self.of_row[struck], self.rank[self.quarter_code[struck]]
        order = np.lexsort((rank, customer))
        struck, customer, rank = struck[order], customer[order], rank[order]
        counts = np.bincount(customer, minlength=self.size)
        texts = _texts(self.size)
        if not len(struck):
            return in_window, struck, counts, texts
        ranks = np.unique(rank)
        twice = (customer[1:] == customer[:-1]) & (rank[1:] == rank[:-1])
        if len(ranks) <= 12 and not twice.any():
            # at most 2**12 patterns: each customer's set of struck quarters as bits
            bit = np.searchsorted(ranks, rank)
            pattern = np.bincount(customer, weights=np.left_shift(1, bit), minlength=self.size).astype(np.int64)
            names = self.labels[np.argsort(self.rank)][ranks]
            table = np.array([";".join(names[[b for b in range(len(ranks)) if p >> b & 1]]) for p in range(2 ** len(ranks))], dtype=object)
            texts = table[pattern]
        else:
            names = self.labels[self.quarter_code[struck]]
            bounds = np.flatnonzero(np.append(customer[1:] != customer[:-1], True)) + 1
            for who, group in zip(customer[bounds - 1], np.split(names, bounds[:-1])):
                texts[who] = ";".join(group)
        return in_window, struck, counts, texts

    def without_grounds(self, quarter: Quarter, settings: ReviewSettings) -> tuple[np.ndarray, np.ndarray]:
        """For every row of ``customers``: whether its strikes in the window give no
        grounds to let it go, and its operating profit after cost to serve over the
        window (0 without judged quarters).

        The grounds are a loss after cost to serve over the window (more than
        ``unprofitable_min_loss``, the financing cost of lateness and bad debt
        included), non-payment, a headache or a relationship strike. Without them the
        strikes are late payment by a customer who pays (or a loss-making quarter of a
        customer that pays its way over the window): repaired, not fired.
        """
        in_window = np.flatnonzero(self.rows_in(window_of(quarter, settings)) & (self.of_row >= 0))
        customer = self.of_row[in_window]
        profit = np.bincount(customer, weights=self.operating_profit[in_window], minlength=self.size)
        struck = np.bincount(customer, weights=self.failed[in_window], minlength=self.size) > 0
        grounded_quarters = np.bincount(customer, weights=self.grounds[in_window], minlength=self.size) > 0
        ungrounded = struck & ~grounded_quarters & (profit >= -settings.unprofitable_min_loss)
        return self.per_card(ungrounded, False), self.per_card(profit, 0.0)

    def statuses(self, quarter: Quarter, settings: ReviewSettings, strikes: np.ndarray, failing_now: np.ndarray,
                 future_value_rank: pd.Series | None, p_alive: pd.Series | None) -> pd.Categorical:
        """The status of every row of ``customers``."""
        strikes, failing_now = np.asarray(strikes), np.asarray(failing_now, dtype=bool)
        code = {name: number for number, name in enumerate(STATUS_ORDER)}
        status = np.full(len(strikes), code["healthy"], dtype=np.int8)
        status[strikes == 1] = code["watch"]
        status[strikes >= 2] = code["final_notice"]
        status[(strikes >= settings.strikes_for_let_go) & failing_now] = code["let_go"]
        if settings.without_grounds_max_status != "let_go":
            # Late payment by a customer who pays and pays its way is repaired, not fired.
            ungrounded, _ = self.without_grounds(quarter, settings)
            cap = code[settings.without_grounds_max_status]
            status[ungrounded & (status < cap)] = cap  # STATUS_ORDER runs from the gravest
        if future_value_rank is not None and settings.protect_top_share > 0:
            rank = self.future_rank(future_value_rank)
            facing = (status == code["let_go"]) | (status == code["final_notice"])
            status[facing & (rank > 1 - settings.protect_top_share)] = code["protected"]
        quarter_end = pd.Timestamp(quarter.end)
        created_on, ended_on = self.customers["created_on"].reset_index(drop=True), self.customers["ended_on"].reset_index(drop=True)
        status[((quarter_end - created_on).dt.days < settings.min_history_days).to_numpy(dtype=bool)] = code["new"]
        ended = (ended_on.notna() & (ended_on <= quarter_end)).to_numpy(dtype=bool)
        status[ended | self.gone_quiet(quarter, settings, p_alive)] = code["inactive"]
        return pd.Categorical.from_codes(status, dtype=_STATUS)

    def failing_now(self, quarter: Quarter) -> np.ndarray:
        now = np.flatnonzero(self.rows_in([str(quarter)]) & (self.of_row >= 0))
        if np.bincount(self.of_row[now], minlength=self.size).max(initial=0) > 1:
            raise ValueError("cannot reindex on an axis with duplicate labels")
        failing = np.zeros(self.size, dtype=bool)
        failing[self.of_row[now]] = self.failed[now]
        return self.per_card(failing, False)

    def gone_quiet(self, quarter: Quarter, settings: ReviewSettings, p_alive: pd.Series | None) -> np.ndarray:
        if p_alive is None:
            return np.zeros(len(self.index), dtype=bool)
        recent = [str(quarter.shift(-step)) for step in range(settings.inactive_quiet_quarters)]
        rows = np.flatnonzero(self.rows_in(recent) & (self.of_row >= 0))
        orders = np.asarray(self.judged["orders"].to_numpy()[rows], dtype=np.float64)
        ordered = np.bincount(self.of_row[rows], weights=np.where(np.isnan(orders), 0.0, orders), minlength=self.size)
        quiet = self.per_card(ordered, 0.0) == 0
        unlikely = self.lookup(p_alive, 1.0) < settings.inactive_p_alive_below
        return quiet & unlikely

    def status_only(self, quarter: Quarter, settings: ReviewSettings, future_value_rank: pd.Series | None = None,
                    p_alive: pd.Series | None = None) -> pd.Series:
        """What ``card(...).set_index("customer_id")["status"].astype(str)`` gives."""
        _, _, counts, _ = self.strikes(quarter, settings)
        status = self.statuses(quarter, settings, self.per_card(counts, 0), self.failing_now(quarter), future_value_rank, p_alive)
        return pd.Series(status, index=self.index).astype(str)

    def card(self, quarter: Quarter, settings: ReviewSettings, future_value_rank: pd.Series | None = None,
             p_alive: pd.Series | None = None) -> pd.DataFrame:
        customers = self.customers
        in_window, struck, counts, texts = self.strikes(quarter, settings)
        card = customers.set_index("customer_id")[[c for c in customers.columns if c != "customer_id"]].copy()
        card["strike_quarters"] = pd.Series(self.per_card(texts, ""), index=card.index, dtype=object)
        card["strikes"] = self.per_card(counts, 0).astype(int)
        card["failing_now"] = self.failing_now(quarter)
        latest = pd.DataFrame(
            {column: self.take(column, self.latest(struck, column)) for column in ("quarter", "reasons", "repairs")}, index=card.index
        )
        card["reasons"] = latest["reasons"].fillna("")
        stale = card["strikes"].gt(0) & ~card["failing_now"]
        stale = stale.to_numpy(dtype=bool)
        card.loc[stale, "reasons"] = "in " + latest["quarter"].to_numpy(dtype=object)[stale] + ": " + card["reasons"].to_numpy(dtype=object)[stale]
        card["repairs"] = latest["repairs"].fillna("")
        shares = self.judged["our_share"].iloc[in_window]
        card["our_share"] = self.take("our_share", self.latest(in_window, "our_share", (shares != "").to_numpy(dtype=bool))).fillna("")

        card["status"] = self.statuses(quarter, settings, card["strikes"], card["failing_now"], future_value_rank, p_alive)
        card["reasons"] = self.why_not_let_go(quarter, settings, card["reasons"].to_numpy(dtype=object), card["strikes"].to_numpy())
        if "notes" in self.judged:
            now = self.take("notes", self.latest(np.flatnonzero(self.rows_in([str(quarter)]) & (self.of_row >= 0)), "notes"))
            noted = now.fillna("").to_numpy(dtype=object) != ""
            card.loc[noted, "reasons"] = _joined(
                [(card["reasons"].to_numpy(dtype=object)[noted] != "", card["reasons"].to_numpy(dtype=object)[noted]),
                 (np.ones(int(noted.sum()), bool), now.to_numpy(dtype=object)[noted])], "; ", int(noted.sum())
            )
        card["action"] = _actions(card["status"], card["repairs"])
        return card.reset_index().drop(columns=["failing_now", "repairs"])

    def why_not_let_go(self, quarter: Quarter, settings: ReviewSettings, reasons: np.ndarray, strikes: np.ndarray) -> np.ndarray:
        """``reasons`` with, for a customer kept from ``let_go`` because its strikes give
        no grounds (:meth:`without_grounds`), the sentence that says why."""
        if settings.without_grounds_max_status == "let_go":
            return reasons
        ungrounded, profit = self.without_grounds(quarter, settings)
        kept = ungrounded & (strikes >= settings.strikes_for_let_go)
        if not kept.any():
            return reasons
        reasons = reasons.copy()
        reasons[kept] = reasons[kept] + (
            "; no grounds to let go: operating profit after cost to serve over the last " + str(settings.window_quarters)
            + " quarters is " + _number(profit[kept]) + " (financing cost of the lateness included), with no non-payment, "
            "headache or relationship incident: late payment is repaired, not fired"
        )
        return reasons


def _customer_numbers(ids: pd.Series, of_rows: pd.Series) -> tuple[np.ndarray, int, np.ndarray]:
    """Customers numbered by distinct id: each id's number (-1: missing), how many, and the
    number of each of ``of_rows`` (-1: not among ``ids``). The rows of one customer come
    together in the judged history, so each run of equal ids is looked up once."""
    values = of_rows.to_numpy()
    starts = np.flatnonzero(np.concatenate([[True], values[1:] != values[:-1]])) if len(values) else np.zeros(0, dtype=np.int64)
    lengths = np.diff(np.append(starts, len(values)))
    try:  # hashing in Arrow: several times faster than pandas on strings
        encoded = pc.dictionary_encode(arrow_text(ids.array))
        numbers = pc.index_in(arrow_text(values[starts]), value_set=encoded.dictionary)
        of_ids = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        return of_ids, len(encoded.dictionary), np.repeat(numbers.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64), lengths)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):  # ids that are not text
        of_ids, distinct = pd.factorize(ids)
        return of_ids, len(distinct), np.repeat(pd.Index(distinct).get_indexer(values[starts]), lengths)


def strike_history(judged: pd.DataFrame, customer_ids: pd.Series, window: Sequence[str]) -> np.ndarray:
    """One mark per quarter of ``window`` (oldest first) for each of ``customer_ids``: ✗ the
    quarter failed, ✓ it passed, · no judged row for it.

    The same marks as the pivot table of ``failed`` by customer and quarter
    (``aggfunc="any"``) reindexed to ``customer_ids`` and ``window``, for whole columns at
    once (the scorecard's ``strike_history``).
    """
    window = list(window)
    of_ids, size, of_row = _customer_numbers(customer_ids, judged["customer_id"])
    rows = np.flatnonzero(judged["quarter"].isin(window).to_numpy(dtype=bool) & (of_row >= 0))
    position = pd.Index(window).get_indexer(judged["quarter"].iloc[rows]) if pd.Index(window).is_unique else None
    if position is None or len(window) > 8:  # 3**8 patterns at most; otherwise mark by mark
        failed = judged.iloc[rows].pivot_table(index="customer_id", columns="quarter", values="failed", aggfunc="any")
        failed = failed.reindex(index=customer_ids, columns=window)
        return np.array(["".join("✗" if flag is True else ("✓" if flag is False else "·") for flag in row) for row in failed.astype(object).to_numpy()], dtype=object)
    state = np.zeros((size + 1, len(window)), dtype=np.int64)  # 0 no row, 1 passed, 2 failed; last row: not judged
    customer = of_row[rows]
    state[customer, position] = 1
    failed = judged["failed"].to_numpy(dtype=bool)[rows]
    state[customer[failed], position[failed]] = 2
    pattern = state @ (3 ** np.arange(len(window)))
    marks = np.array(["".join("·✓✗"[p // 3**j % 3] for j in range(len(window))) for p in range(3 ** len(window))], dtype=object)
    return marks[pattern][of_ids]


def _actions(status: pd.Series, repairs: pd.Series) -> np.ndarray:
    """``_action`` of every status and repairs, for whole columns at once."""
    status = np.asarray(status.astype(object), dtype=object)
    repairs = repairs.to_numpy(dtype=object)
    action = _texts(len(status))
    action[status == "let_go"] = TERMINATE
    final = status == "final_notice"
    mending = (status == "watch") | (status == "protected")
    has_repairs = np.zeros(len(status), dtype=bool)
    flagged = np.flatnonzero(final | mending)
    has_repairs[flagged] = [bool(text) for text in repairs[flagged]]
    action[final] = PRESENT
    action[final & has_repairs] = PRESENT + "; repair: " + repairs[final & has_repairs]
    action[mending] = "monitor"
    action[mending & has_repairs] = "repair: " + repairs[mending & has_repairs]
    return action


def _action(status: str, repairs: str) -> str:
    if status == "let_go":
        return TERMINATE
    if status == "final_notice":
        return PRESENT + (f"; repair: {repairs}" if repairs else "")
    if status in {"watch", "protected"}:
        return f"repair: {repairs}" if repairs else "monitor"
    return ""


def state_future_potential(card: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """Add low future potential to the case of customers facing a final notice or let go.

    ``card`` needs ``status``, ``reasons``, ``future_value`` and ``future_value_rank``.
    A customer below the median future value has little future to weigh against its
    record, and the reasons say so with the figure.
    """
    card = card.copy()
    low = card["status"].astype(str).isin(["let_go", "final_notice"]) & (card["future_value_rank"] < 0.5)
    unit = f" {currency}" if currency else ""
    card.loc[low, "reasons"] = [
        f"{reasons}; low future potential: predicted future value {value:,.0f}{unit}, below {1 - rank:.0%} of customers"
        for reasons, value, rank in zip(card.loc[low, "reasons"], card.loc[low, "future_value"], card.loc[low, "future_value_rank"])
    ]
    return card


def statuses_over_time(
    judged: pd.DataFrame,
    customers: pd.DataFrame,
    quarters: Sequence[Quarter],
    settings: ReviewSettings,
    future_value_rank: pd.Series | None = None,
    p_alive_at: Mapping[str, pd.Series] | None = None,
) -> pd.DataFrame:
    """The status each customer would have had at each of ``quarters`` (one column per
    quarter), from the same judged history: the basis for movement and move-on.

    ``p_alive_at`` gives P(alive) at each quarter's end (by label); a quarter without it
    is reviewed without the quiet-customer rule (no one is ``inactive`` for going quiet).
    """
    history = _History(judged, customers)
    p_alive_at = p_alive_at or {}
    return pd.DataFrame(
        {str(q): history.status_only(q, settings, future_value_rank, p_alive_at.get(str(q))) for q in quarters}
    )


def movement(previous: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """How each customer's status and strikes changed since the previous quarter."""
    merged = current[["customer_id", "status", "strikes"]].merge(
        previous[["customer_id", "status", "strikes"]], on="customer_id", how="left", suffixes=("", "_before")
    )
    merged["status_before"] = merged["status_before"].astype(object).fillna("(not reviewed)")
    merged["strikes_before"] = merged["strikes_before"].fillna(0).astype(int)
    merged["change"] = np.select(
        [merged["strikes"] > merged["strikes_before"], merged["strikes"] < merged["strikes_before"]],
        ["new strike", "strike cleared"],
        default="",
    )
    return merged


def move_on(
    judged: pd.DataFrame,
    customers: pd.DataFrame,
    statuses: pd.DataFrame,
    quarter: Quarter,
) -> pd.DataFrame:
    """The realised effect of relationships that ended after a ``let_go`` recommendation.

    For each such customer: what it brought and cost per quarter over the four quarters
    before it left (revenue, operating profit, cost to serve, bad debt, support hours), and
    the quarters since, so the effect so far is that per-quarter figure times the quarters
    since leaving: revenue given up against the loss, cost to serve and bad debt avoided.
    """
    quarter_end = pd.Timestamp(quarter.end)
    ended = customers.loc[customers["ended_on"].notna() & (customers["ended_on"] <= quarter_end), ["customer_id", "ended_on"]].copy()
    if ended.empty:
        return pd.DataFrame()
    left = (ended["ended_on"].dt.year * 4 + (ended["ended_on"].dt.month - 1) // 3).to_numpy(dtype=np.int64)  # quarter left in
    steps, position = np.unique(left - 1, return_inverse=True)
    names = np.array([str(Quarter(step // 4, step % 4 + 1)) for step in steps.tolist()], dtype=object)
    ended["before"] = names[position.reshape(-1)] if len(ended) else []
    ended["quarters_since"] = (quarter.year * 4 + quarter.number - 1) - left if len(ended) else []
    if statuses.index.is_unique and statuses.columns.is_unique:
        ended = ended[_status_at(statuses, ended["customer_id"], ended["before"]) == "let_go"]
    else:
        verdicts = statuses.stack().rename("status_before")
        verdicts.index.names = ["customer_id", "before"]
        ended = ended.join(verdicts, on=["customer_id", "before"])
        ended = ended[ended["status_before"] == "let_go"]
    # the judged rows of these customers only (the merge keeps them in the same order)
    theirs = judged[judged["customer_id"].isin(ended["customer_id"]).to_numpy(dtype=bool)]
    history = theirs.merge(ended[["customer_id", "before"]], on="customer_id")
    history = history[history["quarter"] <= history["before"]].sort_values(["customer_id", "quarter"]).groupby("customer_id").tail(4)
    if history.empty:
        return pd.DataFrame()
    per_quarter = history.groupby("customer_id").agg(
        revenue_per_quarter=("revenue", "mean"),
        operating_profit_per_quarter=("operating_profit", "mean"),
        cost_to_serve_per_quarter=("cost_to_serve", "mean"),
        bad_debt_per_quarter=("written_off", "mean"),
        support_hours_per_quarter=("ticket_minutes", lambda minutes: minutes.mean() / 60),
    )
    frame = ended[["customer_id", "ended_on", "quarters_since"]].join(per_quarter, on="customer_id", how="inner").reset_index(drop=True)
    for measure in ("revenue", "operating_profit", "cost_to_serve", "bad_debt", "support_hours"):
        frame[f"{measure}_since"] = frame[f"{measure}_per_quarter"] * frame["quarters_since"]
    return frame


def _status_at(statuses: pd.DataFrame, customer_ids: pd.Series, quarters: pd.Series) -> np.ndarray:
    """``statuses`` (unique index and columns) at each (customer, quarter) pair, NaN where
    it has none: a lookup in ``statuses.stack()`` without stacking."""
    row = statuses.index.get_indexer(customer_ids)
    column = statuses.columns.get_indexer(quarters)
    found = np.full(len(row), np.nan, dtype=object)
    for j in np.unique(column[column >= 0]):
        at = np.flatnonzero((column == j) & (row >= 0))
        found[at] = statuses.iloc[:, j].take(row[at]).to_numpy(dtype=object)
    return found


def evaluate_against_truth(scorecard: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """Precision and recall of ``let_go`` against a demo world's planted ground truth."""
    merged = scorecard[["customer_id", "status"]].merge(truth[["customer_id", "expected_status"]], on="customer_id")
    predicted = merged["status"].astype(str) == "let_go"
    actual = merged["expected_status"] == "let_go"
    hits = int((predicted & actual).sum())
    return {
        "let_go_predicted": int(predicted.sum()),
        "let_go_planted": int(actual.sum()),
        "true_positives": hits,
        "precision": hits / predicted.sum() if predicted.sum() else float("nan"),
        "recall": hits / actual.sum() if actual.sum() else float("nan"),
    }

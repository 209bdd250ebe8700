"""Strikes and status: a failing quarter is one strike; the status comes from the strikes
in the last ``window_quarters`` (see :mod:`custvalue.review`), with the grounds rule,
protection, and the inactive and new customers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from custvalue.config import ReviewSettings
from custvalue.frames import arrow_text
from custvalue.quarters import Quarter
from custvalue.review import text as tx

STATUS_ORDER = ("let_go", "final_notice", "protected", "watch", "healthy", "new", "inactive")
_STATUS = pd.CategoricalDtype(STATUS_ORDER)
FLAGGED = ("let_go", "final_notice", "protected", "watch")
TERMINATE = "terminate and refer to another supplier"
PRESENT = "present the issue to the customer"


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
        texts = tx.texts(self.size)
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
            card.loc[noted, "reasons"] = tx.joined(
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
            + " quarters is " + tx.number(profit[kept]) + " (financing cost of the lateness included), with no non-payment, "
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
    action = tx.texts(len(status))
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

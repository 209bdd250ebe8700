"""Plain-language evidence and suggested repairs for the payment verdict.

The repair follows the evidence:

* a **small** company paying late: invoice more often (smaller invoices, each due sooner)
  and shorten the terms. For a small firm, delay usually means cash is tight between
  invoices; smaller, more frequent invoices are easier to pay on time.
* a **larger** company paying later than its peers: agree payment dates with its finance
  department. Large firms pay on their own payment runs, by policy; invoices that match
  the purchase order and arrive before the run get paid on time.
* **non-payment** (write-offs, or balances long past due): require prepayment or a deposit.
* **disputes that were our error** (the customer disputed an invoice in a quarter in
  which at least three tickets were caused by our errors): fix our own invoicing. This
  is never held against the customer; it is reported as ``our_fix``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from custvalue.config import PaymentSettings

REPAIR_SMALL_LATE = "invoice more often (per delivery or every two weeks) and shorten payment terms; offer direct debit"
REPAIR_LARGE_LATE = "agree payment dates with their finance department (purchase-order numbers on invoices, in time for their payment run)"
REPAIR_NONPAYMENT = "require prepayment or a deposit before further deliveries"
OUR_FIX_MIN_DISPUTES = 1
OUR_FIX_MIN_TICKETS = 3
"""A quarter names our invoicing as the thing to fix when it has a disputed invoice and at
least three tickets caused by our errors (one stray ticket next to a dispute is chance)."""


def _days(value: float) -> str:
    value = float(np.round(value))
    if value < 0:
        return f"{-value:.0f} days early"
    return "on time" if value == 0 else f"{value:.0f} day{'s' if value != 1 else ''} late"


def _pays(value: float) -> str:
    text = _days(value)
    return "pays on time" if text == "on time" else f"pays {text}"


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def late_evidence(row: Mapping[str, Any]) -> str:
    """E.g. "pays 47 days late where small-business peers of its size pay 3 days late (4 invoices of 2026Q2)".

    With open invoices the figure is partly expected, and the lateness so far is given too.
    """
    peers = _days(row["peer_days_late"])
    peers = "pay on time" if peers == "on time" else f"pay {peers}"
    detail = _plural(int(row["judged_invoices"]), "invoice") + f" of {row['quarter']}"
    pays = _pays(row["days_late"])
    if int(row["open_invoices"]):
        detail += f", {int(row['open_invoices'])} still open; {_days(row['days_late_so_far'])} so far"
        pays = pays.replace("pays ", "pays about ", 1) + " (expected)"
    return f"{pays} where {row['segment']} peers of its size {peers} ({detail})"


def nonpayment_evidence(row: Mapping[str, Any], settings: PaymentSettings) -> str:
    """E.g. "wrote off 12,400 on 3 invoices"; "2 invoices (8,300) unpaid over 90 days past due"."""
    parts = []
    if row["written_off"] > settings.nonpayment_min_amount:
        parts.append(f"wrote off {row['written_off']:,.0f} on {_plural(int(row['written_off_invoices']), 'invoice')}")
    if row["overdue_unpaid"] > settings.nonpayment_min_amount:
        parts.append(
            f"{_plural(int(row['overdue_unpaid_invoices']), 'invoice')} ({row['overdue_unpaid']:,.0f}) unpaid "
            f"over {settings.nonpayment_overdue_days} days past due"
        )
    return "; ".join(parts)


def our_fix_text(row: Mapping[str, Any]) -> str:
    """Disputes in a quarter in which we also caused tickets: our invoicing to fix."""
    return (
        f"fix our invoicing: {int(row['disputes'])} of {_plural(int(row['invoices']), 'invoice')} disputed and "
        f"{_plural(int(row['our_tickets']), 'ticket')} caused by our errors in {row['quarter']}"
    )


def evidence_texts(frame: pd.DataFrame, settings: PaymentSettings, as_of: date) -> pd.DataFrame:
    """``evidence`` (where a flag is set, else empty) and ``our_fix`` for each row."""
    evidence = pd.Series("", index=frame.index, dtype=object)
    our_fix = pd.Series("", index=frame.index, dtype=object)
    flagged = frame[frame["late_flag"] | frame["nonpayment_flag"]]
    texts = []
    for row in flagged.to_dict("records"):
        parts = []
        if row["late_flag"]:
            parts.append(late_evidence(row))
        if row["nonpayment_flag"]:
            parts.append(nonpayment_evidence(row, settings))
        texts.append("; ".join(parts))
    evidence[flagged.index] = texts
    ours = frame[(frame["disputes"] >= OUR_FIX_MIN_DISPUTES) & (frame["our_tickets"] >= OUR_FIX_MIN_TICKETS)]
    our_fix[ours.index] = [our_fix_text(row) for row in ours.to_dict("records")]
    return pd.DataFrame({"evidence": evidence, "our_fix": our_fix})


def repair_texts(late: pd.Series, nonpayment: pd.Series, small: pd.Series) -> pd.Series:
    """The repair for each row's flags (empty where nothing is flagged)."""
    out = pd.Series("", index=late.index, dtype=object)
    late, nonpayment, small = late.astype(bool), nonpayment.astype(bool), small.astype(bool)
    late_text = {True: REPAIR_SMALL_LATE, False: REPAIR_LARGE_LATE}
    rows = late | nonpayment
    out[rows] = [
        "; ".join(([REPAIR_NONPAYMENT] if pay else []) + ([late_text[bool(is_small)]] if is_late else []))
        for is_late, pay, is_small in zip(late[rows], nonpayment[rows], small[rows])
    ]
    return out

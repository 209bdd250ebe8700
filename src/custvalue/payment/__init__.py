"""Payment behaviour: who pays late, who does not pay, and why.

Larger companies often pay slowly because of their finance department's policy; in a
small company, delay usually means it is better to invoice more often. This package
separates the two by comparing each customer with what is expected of a firm of its
size and segment, and keeps non-payment (write-offs) as its own, stronger signal.

Modules, one concept each:

:mod:`~custvalue.payment.ledger`
    per invoice: days to pay and days late, censored at the as-of date; balances.
:mod:`~custvalue.payment.metrics`
    DSO, countback DSO, best possible DSO, ADD, CEI and aging, per customer, segment
    and company.
:mod:`~custvalue.payment.survival`
    Kaplan-Meier curves by segment and Cox models of days to payment.
:mod:`~custvalue.payment.lateness`
    excess lateness over size and segment peers, shrunk for few invoices, and the
    verdict per customer and quarter.
:mod:`~custvalue.payment.repairs`
    evidence in plain words and suggested repairs.
:mod:`~custvalue.payment.result`
    :func:`analyse_payments` and the saveable :class:`PaymentResult`.
:mod:`~custvalue.payment.plots`
    figures for the report page.
"""

from custvalue.payment.lateness import BY_QUARTER_COLUMNS, payment_by_quarter
from custvalue.payment.ledger import as_engine, invoice_ledger, ledger_frame
from custvalue.payment.metrics import aging_labels, cei, collections_metrics, countback_dso, dso
from custvalue.payment.result import PaymentResult, analyse_payments, fit_payment_models
from custvalue.payment.survival import CoxFit, fit_cox, kaplan_meier

__all__ = [
    "BY_QUARTER_COLUMNS",
    "CoxFit",
    "PaymentResult",
    "aging_labels",
    "analyse_payments",
    "as_engine",
    "cei",
    "collections_metrics",
    "countback_dso",
    "dso",
    "fit_cox",
    "fit_payment_models",
    "invoice_ledger",
    "kaplan_meier",
    "ledger_frame",
    "payment_by_quarter",
]

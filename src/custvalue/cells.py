"""Text made safe for a spreadsheet cell, for every CSV and workbook the tool writes.

Customer names and notes are untrusted text. A cell beginning with ``=``, ``+``, ``-``
or ``@`` (or a tab or carriage return) would be run as a formula by spreadsheet
programs ("CSV injection"); such text cells are prefixed with an apostrophe, which
spreadsheets show as plain text. Control characters (other than tab, newline and
carriage return) cannot be stored in a workbook at all (openpyxl refuses them), so they
are removed. Numbers stay numbers.

References
----------
OWASP, "CSV Injection", https://owasp.org/www-community/attacks/CSV_Injection
"""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["FORMULA_TRIGGERS", "neutralise", "neutralised"]

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
#: The characters a workbook cannot hold (the XML 1.0 control range, as openpyxl checks it).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def neutralise(value: object) -> object:
    """Text that a spreadsheet would read as a formula made inert, control characters
    removed; anything else as is."""
    if not isinstance(value, str):
        return value
    value = _CONTROL.sub("", value)
    if value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell neutralised."""
    safe = frame.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]) and not pd.api.types.is_bool_dtype(safe[column]):
            safe[column] = safe[column].astype(object).map(neutralise)
    return safe

import re

import openpyxl
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custvalue.exports import FORMULA_TRIGGERS, neutralise, write_spreadsheet_exports

PAYLOADS = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1", "<script>alert(1)</script>", "Plain & Co"]


def test_formula_payloads_are_inert_in_csv_and_xlsx(tmp_path):
    frame = pd.DataFrame({"name": PAYLOADS, "revenue": [1.5, -2.0, 3, 4, 5, 6, 7]})
    csv_path, xlsx_path = write_spreadsheet_exports(frame, tmp_path, "let_go", "Let go")
    csv = pd.read_csv(csv_path)
    assert not csv["name"].str.startswith(FORMULA_TRIGGERS).any()
    assert csv["revenue"].tolist() == [1.5, -2.0, 3, 4, 5, 6, 7], "numbers stay numbers, negative ones too"
    sheet = openpyxl.load_workbook(xlsx_path)["Let go"]
    names = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert all(not name.startswith(FORMULA_TRIGGERS) for name in names)
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert names[-1] == "Plain & Co" and names[0] == "'" + PAYLOADS[0]


@given(st.text())
def test_neutralised_text_never_starts_a_formula_and_keeps_its_content(text):
    safe = neutralise(text)
    assert not safe.startswith(FORMULA_TRIGGERS)
    printable = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", text)  # what a workbook can hold
    assert safe in (printable, "'" + printable)


def test_exports_hold_every_customer_to_let_go_when_the_page_shows_only_the_worst(tmp_path):
    from custvalue import executive, pages
    from custvalue.exports import account_manager_rows, write_let_go_exports
    from custvalue.paths import QuarterOutputs
    from custvalue.pipeline import QuarterResults
    from custvalue.review import SCORECARD_COLUMNS
    from custvalue.quarters import Quarter

    count = pages.STATUS_TABLE_ROWS["let_go"] * 3
    card = pd.DataFrame({column: "" for column in SCORECARD_COLUMNS}, index=range(count + 10))
    card["customer_id"] = [f"C{i:05d}" for i in range(len(card))]
    card["name"] = PAYLOADS * (len(card) // len(PAYLOADS)) + PAYLOADS[: len(card) % len(PAYLOADS)]
    card["status"] = ["let_go"] * count + ["healthy"] * 10
    for column in ("strikes", "revenue", "gross_margin", "cost_to_serve", "operating_profit", "support_hours",
                   "open_receivables", "clv", "future_value", "p_alive", "future_value_rank"):
        card[column] = range(len(card))
    results = QuarterResults(QuarterOutputs(tmp_path, Quarter.parse("2026Q2")), card, {}, {})
    assert len(executive.status_table(results, "let_go")) == pages.STATUS_TABLE_ROWS["let_go"]
    assert len(account_manager_rows(card, "let_go")) == count
    csv_path, xlsx_path = write_let_go_exports(card, tmp_path)
    assert sorted(pd.read_csv(csv_path, dtype=str)["customer id"]) == sorted(card["customer_id"][:count])
    assert len(pd.read_excel(xlsx_path)) == count


def test_page_and_exports_show_the_same_future_value_for_every_customer(tmp_path):
    from custvalue import executive, pages
    from custvalue.exports import FUTURE_VALUE_COLUMN, write_let_go_exports
    from custvalue.paths import QuarterOutputs
    from custvalue.pipeline import QuarterResults
    from custvalue.quarters import Quarter
    from custvalue.review import SCORECARD_COLUMNS

    count = 40
    card = pd.DataFrame({column: "" for column in SCORECARD_COLUMNS}, index=range(count))
    card["customer_id"] = [f"C{i:03d}" for i in range(count)]
    card["name"] = [f"Customer {i}" for i in range(count)]
    card["status"] = "let_go"
    for column in ("strikes", "revenue", "gross_margin", "cost_to_serve", "operating_profit", "support_hours", "open_receivables", "p_alive", "future_value_rank"):
        card[column] = range(count)
    card["clv"] = [2_535.0 + i for i in range(count)]  # the raw lifetime value: not what either shows
    card["future_value"] = [-2_535.0 + 97 * i for i in range(count)]  # net of cost to serve, signs differ
    results = QuarterResults(QuarterOutputs(tmp_path, Quarter.parse("2026Q2")), card, {}, {})
    shown = executive.status_table(results, "let_go", limit=count)
    page = _html_table(pages.table(shown, money_columns=executive.MONEY))
    csv_path, _ = write_let_go_exports(card, tmp_path)
    exported = pd.read_csv(csv_path, dtype={"customer id": str})
    label = FUTURE_VALUE_COLUMN[1]
    on_page = dict(zip(page["customer"], page[label].str.replace(",", "").str.replace("−", "-").astype(float)))
    in_export = dict(zip(exported["customer"], exported[label].astype(float)))
    assert len(on_page) == len(in_export) == count
    assert on_page == pytest.approx(in_export, abs=0.5)
    assert in_export["Customer 0"] == -2_535.0


def _html_table(markup: str) -> pd.DataFrame:
    """The rendered table's headers (without the currency) and cell texts."""
    from html.parser import HTMLParser

    class Cells(HTMLParser):
        def __init__(self):
            super().__init__()
            self.rows, self.cell = [], None

        def handle_starttag(self, tag, attrs):
            if tag == "tr":
                self.rows.append([])
            elif tag in ("td", "th"):
                self.cell = ""

        def handle_data(self, data):
            if self.cell is not None:
                self.cell += data

        def handle_endtag(self, tag):
            if tag in ("td", "th"):
                self.rows[-1].append(self.cell.strip())
                self.cell = None

    parser = Cells()
    parser.feed(markup)
    header = [text.split(" (")[0] for text in parser.rows[0]]
    return pd.DataFrame(parser.rows[1:], columns=header)


def test_control_characters_are_removed_and_formulas_stay_inert():
    from custvalue.cells import neutralise

    assert neutralise("Acme\x07Corp") == "AcmeCorp"
    assert neutralise("\x07=1+1") == "'=1+1"
    assert neutralise("line\nbreak\ttab") == "line\nbreak\ttab"
    assert neutralise(3.5) == 3.5


def test_a_name_with_a_control_character_still_gives_a_workbook(tmp_path):
    import openpyxl

    from custvalue.exports import write_spreadsheet_exports

    frame = pd.DataFrame({"name": ["Acme\x07Corp", "=cmd|' /C calc'!A0"], "loss": [1.0, 2.0]})
    _, xlsx = write_spreadsheet_exports(frame, tmp_path, "sheet", "Sheet")
    cells = [row[0].value for row in openpyxl.load_workbook(xlsx).active.iter_rows(min_row=2)]
    assert cells == ["AcmeCorp", "'=cmd|' /C calc'!A0"]


def test_model_summaries_reach_pages_as_escaped_text():
    from custvalue import pages

    shown = pages.preformatted("segment[T.<img src=x onerror=alert('seg')>]  $x^2$")
    assert "<img" not in shown and "&lt;img src=x onerror=alert(&#x27;seg&#x27;)&gt;" in shown

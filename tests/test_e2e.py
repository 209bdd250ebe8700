"""End to end: the real notebooks through papermill and nbconvert on a small demo world."""

import re

import pytest

from custvalue.report import PAGES
from tests.conftest import render_report

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def report(small_report):
    return small_report


def test_report_command_is_quiet_and_names_the_output(report):
    out, result = report
    assert result.stderr == "", "no warnings or log noise on the terminal"
    assert result.stdout.strip() == f"2026Q2: report -> {out / 'reports' / '2026Q2' / 'index.html'}"


def test_every_page_is_rendered_and_linked_from_the_index(report):
    out, _ = report
    folder = out / "reports" / "2026Q2"
    index = (folder / "index.html").read_text()
    for page in PAGES:
        assert (folder / page.html_name).is_file()
        assert f'href="{page.html_name}"' in index


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.slug)
def test_pages_have_no_code_no_errors_no_warnings(report, page):
    out, _ = report
    html = (out / "reports" / "2026Q2" / page.html_name).read_text()
    content = re.sub(r"<style.*?</style>|<script.*?</script>", "", html, flags=re.S)
    assert 'class="jp-InputArea' not in content, "code cells must not be rendered"
    assert 'data-mime-type="application/vnd.jupyter.stderr"' not in content
    assert 'jp-OutputArea-output" data-mime-type="application/vnd.jupyter.error"' not in content
    for noise in ("Traceback", "Error:", "Warning:", "warnings.warn"):
        assert noise not in content, noise


def test_scorecard_and_quarantine_are_written(report):
    out, _ = report
    folder = out / "processed" / "2026Q2"
    assert (folder / "scorecard.parquet").is_file() and (folder / "manifest.json").is_file()
    assert sorted(p.name for p in (folder / "rejected").iterdir()) == sorted(f"{n}.csv" for n in ("customers", "orders", "invoices", "support_tickets", "incidents"))


def test_failed_report_leaves_the_previous_one_in_place(report, small_world, tmp_path):
    out, _ = report
    broken = tmp_path / "notebooks"
    broken.mkdir()
    for page in PAGES:
        (broken / page.notebook).write_text((out / "reports" / "2026Q2" / "notebooks" / page.notebook).read_text())
    first = PAGES[0].notebook
    text = (broken / first).read_text().replace("results = load_results(processed_dir, quarter)", "raise RuntimeError('boom')")
    assert "boom" in text
    (broken / first).write_text(text)
    before = (out / "reports" / "2026Q2" / "index.html").read_bytes()
    result = render_report(small_world, out, notebooks=broken)
    assert result.returncode == 2
    assert "RuntimeError: boom" in result.stderr and "Traceback" not in result.stderr
    assert (out / "reports" / "2026Q2" / "index.html").read_bytes() == before
    assert [p.name for p in (out / "reports").iterdir()] == ["2026Q2"], "no staging folder left behind"


def test_exports_for_account_managers_hold_the_let_go_rows(report):
    import pandas as pd

    out, _ = report
    folder = out / "reports" / "2026Q2"
    scorecard = pd.read_parquet(out / "processed" / "2026Q2" / "scorecard.parquet")
    let_go = scorecard[scorecard["status"] == "let_go"]
    exported = pd.read_csv(folder / "let_go.csv", dtype={"customer id": str})
    assert sorted(exported["customer id"]) == sorted(let_go["customer_id"])
    assert len(pd.read_excel(folder / "let_go.xlsx")) == len(let_go)

"""End to end: the real notebooks through papermill and nbconvert on a small demo world,
run as a new user would, from a scratch folder."""

import re
import time

import pytest

from custvalue.paths import PACKAGED_NOTEBOOKS_DIR
from custvalue.report import PAGES
from tests.conftest import render_report

pytestmark = pytest.mark.e2e

STEPS = [
    *(f"validate {table}" for table in ("customers", "orders", "invoices", "support_tickets", "incidents")),
    "payment behaviour", "features", "cost to serve", "lifetime value", "review", "write ", "let-go exports",
    *(f"page {number} of {len(PAGES)}: {page.title}" for number, page in enumerate(PAGES, start=1)),
]
"""The steps a first report reports on stderr, in order (each line starts so)."""
FINISHED_STEP = re.compile(r"^\S.* \(\d+\.\d s\)$")


@pytest.fixture(scope="module")
def report(small_report):
    return small_report


def test_report_names_its_folders_first_then_its_steps_in_order_and_nothing_else(report, small_world):
    out, result = report
    assert result.stdout.strip() == f"2026Q2: report -> {out / 'reports' / '2026Q2' / 'index.html'}"
    lines, out = result.stderr.splitlines(), out.resolve()
    assert lines[:6] == [
        f"project folder: {out} (the working folder: no config/custvalue.yaml or [tool.custvalue] in it or above it)",
        f"reads  raw        {small_world.raw_dir.resolve()}",
        "       config     none: the defaults",
        f"       notebooks  {PACKAGED_NOTEBOOKS_DIR} (packaged with custvalue)",
        f"writes processed  {out / 'data' / 'processed'}",
        f"       reports    {out / 'reports'}",
    ]
    assert lines[6].startswith("score: ") and lines[6].endswith("; scoring")
    assert [line for line in lines if line.startswith("report: ")] == [f"report: no report in {out / 'reports' / '2026Q2'}; rendering"]
    steps = [line for line in lines[7:] if not line.startswith("report: ")]
    assert len(steps) == len(STEPS) and all(line.startswith(step) for line, step in zip(steps, STEPS)), steps
    # No warning, log line or traceback: every other line is a finished step, and plain
    # (stderr is not a terminal here: no carriage returns, no escape sequences).
    assert all(FINISHED_STEP.match(line) for line in steps), [line for line in steps if not FINISHED_STEP.match(line)]
    assert "\r" not in result.stderr and "\x1b" not in result.stderr


def test_a_run_from_a_scratch_folder_leaves_the_project_folder_untouched(small_report_run):
    before, after = small_report_run.project_before, small_report_run.project_after
    assert before, "the checkout's folders were seen"
    assert sorted(set(after) - set(before)) == [], "no file or folder added to the checkout"
    assert {path: after[path] for path in before if after.get(path) != before[path]} == {}, "none changed"
    assert (small_report_run.out / "data" / "processed" / "2026Q2" / "scorecard.parquet").is_file()


def test_a_second_identical_report_skips_both_steps_and_says_so(small_report_run, small_world):
    index = small_report_run.out / "reports" / "2026Q2" / "index.html"
    scorecard = small_report_run.out / "data" / "processed" / "2026Q2" / "scorecard.parquet"
    written = index.stat().st_mtime_ns, scorecard.stat().st_mtime_ns
    start = time.perf_counter()
    again = render_report(small_world, small_report_run.out, processed=None)
    seconds = time.perf_counter() - start
    assert again.returncode == 0, again.stderr
    assert again.stdout == small_report_run.result.stdout
    said = [line for line in again.stderr.splitlines() if line.startswith(("score: ", "report: "))]
    assert said[0].startswith("score: 2026Q2 is up to date") and said[0].endswith("not scored again (--force to score anyway)")
    assert said[1].startswith("report: 2026Q2 is up to date") and said[1].endswith("not rendered again (--force to render anyway)")
    assert (index.stat().st_mtime_ns, scorecard.stat().st_mtime_ns) == written
    print(f"\nfirst report {small_report_run.seconds:.1f} s, second {seconds:.1f} s")
    assert seconds < small_report_run.seconds / 5


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
    folder = out / "data" / "processed" / "2026Q2"
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
    result = render_report(small_world, out, notebooks=broken, processed=None)
    assert result.returncode == 2
    assert "RuntimeError: boom" in result.stderr and "Traceback" not in result.stderr
    assert (out / "reports" / "2026Q2" / "index.html").read_bytes() == before
    assert [p.name for p in (out / "reports").iterdir()] == ["2026Q2"], "no staging folder left behind"
    assert "score: 2026Q2 is up to date" in result.stderr, "the scored quarter was not redone for other notebooks"


def test_exports_for_account_managers_hold_the_let_go_rows(report):
    import pandas as pd

    out, _ = report
    folder = out / "reports" / "2026Q2"
    scorecard = pd.read_parquet(out / "data" / "processed" / "2026Q2" / "scorecard.parquet")
    let_go = scorecard[scorecard["status"] == "let_go"]
    exported = pd.read_csv(folder / "let_go.csv", dtype={"customer id": str})
    assert sorted(exported["customer id"]) == sorted(let_go["customer_id"])
    assert len(pd.read_excel(folder / "let_go.xlsx")) == len(let_go)

"""The report is safe with hostile customer names, and its first screen lays out on a laptop."""

import html
import os
import shutil
import subprocess

import openpyxl
import pandas as pd
import pytest

from custvalue.demo import HOSTILE_TEXTS
from custvalue.exports import FORMULA_TRIGGERS
from custvalue.report import PAGES
from tests.conftest import render_report

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def hostile_report(hostile_world, tmp_path_factory):
    out = tmp_path_factory.mktemp("hostile_report")
    result = render_report(hostile_world, out)
    assert result.returncode == 0, result.stderr
    return out / "reports" / "2026Q2"


def test_html_payloads_are_inert_in_every_page(hostile_report, hostile_world):
    customers = pd.read_csv(hostile_world.raw_dir / "customers.csv", dtype=str)
    hostile = customers[customers["customer_id"].isin(hostile_world.truth.loc[hostile_world.truth["hostile_name"], "customer_id"])]
    scorecard = pd.read_parquet(hostile_report.parent.parent / "processed" / "2026Q2" / "scorecard.parquet")
    flagged = set(scorecard.loc[scorecard["status"].isin(["let_go", "final_notice", "watch", "protected"]), "customer_id"])
    index = (hostile_report / "index.html").read_text()
    shown = 0
    for customer_id, name in zip(hostile["customer_id"], hostile["name"]):
        if customer_id in flagged and "<" in name:
            assert html.escape(name, quote=False) in index, name
            shown += 1
    assert shown >= 2, "hostile HTML names are on the executive page, escaped"
    for page in PAGES:
        text = (hostile_report / page.html_name).read_text()
        for name in hostile["name"]:
            if "<" in name:
                assert name not in text, f"{page.html_name} carries raw HTML {name!r}"


def test_formula_payloads_are_inert_in_the_spreadsheet(hostile_report):
    sheet = openpyxl.load_workbook(hostile_report / "let_go.xlsx").active
    texts = [cell.value for row in sheet.iter_rows(min_row=2) for cell in row if isinstance(cell.value, str)]
    assert any(text.startswith("'=") for text in texts), "a formula payload was exported, neutralised"
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert not any(text.startswith(FORMULA_TRIGGERS) for text in texts)
    exported = pd.read_csv(hostile_report / "let_go.csv", dtype=str, keep_default_na=False)
    for column in ("customer", "reasons", "action", "account manager"):
        assert not exported[column].str.startswith(FORMULA_TRIGGERS).any(), column
    assert any(text.startswith(("=", "+", "@")) for text in HOSTILE_TEXTS)


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def test_first_screen_screenshot(small_report, tmp_path):
    """A screenshot of the first screen, as an executive's laptop shows it (1366x768):
    the key figures are on it and nothing spills past the right edge."""
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is required in CI (.ci/run installs it)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    import matplotlib.image

    out, _ = small_report
    shot = out / "reports" / "2026Q2" / "first-screen.png"
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1366,768", f"--screenshot={shot}",
         (out / "reports" / "2026Q2" / "index.html").as_uri()],
        capture_output=True, timeout=120, check=True,
    )
    pixels = matplotlib.image.imread(shot)[..., :3]
    print(f"\nfirst screen: {shot}")
    assert pixels.shape[:2] == (768, 1366)
    ink = (pixels < 0.85).any(axis=2)
    assert ink[:, 300:1000].mean() > 0.02, "the page has content on its first screen"
    assert not ink[:, 1366 - 40:].any(), "nothing reaches the right edge: no sideways scrolling"
    rows_with_ink = ink.any(axis=1).nonzero()[0]
    assert rows_with_ink.min() < 120, "the navigation and title are at the top"


def test_index_points_to_the_complete_let_go_exports(hostile_report):
    """The let-go table on the page may show only the worst customers; the exports it
    links to, beside the page, hold every one."""
    index = (hostile_report / "index.html").read_text()
    for name in ("let_go.xlsx", "let_go.csv"):
        assert f'href="{name}"' in index and (hostile_report / name).is_file(), name

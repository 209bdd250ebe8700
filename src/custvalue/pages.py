"""Presentation helpers for the report notebooks: page set-up, navigation, key figures
and tables. Every piece of text that came from the data is escaped here, so customer
names and notes (untrusted text) are inert in the HTML.
"""

from __future__ import annotations

import html
import logging
import warnings
from collections.abc import Iterable, Mapping

import pandas as pd

from custvalue.report import PAGES

PAGE_STYLE = """
<style>
  body, .jp-Notebook { max-width: 1180px; margin: 0 auto; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; }
  .cv-nav { display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; padding: .6rem 0; border-bottom: 1px solid #ddd; margin-bottom: .8rem; }
  .cv-nav a { text-decoration: none; color: #1f5fa8; } .cv-nav a.cv-here { font-weight: 600; color: #222; }
  .cv-meta { color: #666; font-size: .9rem; }
  .cv-kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: .8rem; margin: .8rem 0 1.2rem; }
  .cv-kpi { border: 1px solid #e2e2e2; border-radius: 8px; padding: .7rem .9rem; background: #fafafa; }
  .cv-kpi .cv-value { font-size: 1.45rem; font-weight: 600; white-space: nowrap; } .cv-kpi .cv-label { color: #555; font-size: .85rem; }
  /* Jupyter's own table style right-aligns and squeezes every cell; ours reads like a report. */
  .jp-RenderedHTMLCommon table.cv-table, table.cv-table { border-collapse: collapse; width: 100%; font-size: .8rem; table-layout: auto; }
  .jp-RenderedHTMLCommon table.cv-table th, table.cv-table th { background: #f0f3f7; cursor: pointer; text-align: left; vertical-align: bottom; }
  .jp-RenderedHTMLCommon table.cv-table th, .jp-RenderedHTMLCommon table.cv-table td, table.cv-table th, table.cv-table td {
    padding: .3rem .45rem; border-bottom: 1px solid #eee; vertical-align: top; text-align: left; max-width: none; word-break: normal; overflow-wrap: normal; }
  .jp-RenderedHTMLCommon table.cv-table td.cv-num, table.cv-table td.cv-num { text-align: right; white-space: nowrap; }
  .jp-RenderedHTMLCommon table.cv-table td.cv-long, table.cv-table td.cv-long { min-width: 20rem; overflow-wrap: anywhere; }
  .cv-note { background: #f7f7f2; border-left: 3px solid #c9c28f; padding: .6rem .9rem; font-size: .9rem; }
</style>
<script>
  // Click a column header to sort the table by it (numbers numerically).
  document.addEventListener("click", function (event) {
    const th = event.target.closest("table.cv-table th");
    if (!th) return;
    const table = th.closest("table"), body = table.tBodies[0], index = [...th.parentNode.children].indexOf(th);
    const ascending = th.dataset.order !== "asc"; th.dataset.order = ascending ? "asc" : "desc";
    const key = (row) => { const cell = row.children[index]; const n = cell.dataset.sort; return n !== undefined ? parseFloat(n) : cell.textContent; };
    [...body.rows].sort((a, b) => { const x = key(a), y = key(b); return (x > y ? 1 : x < y ? -1 : 0) * (ascending ? 1 : -1); })
      .forEach((row) => body.appendChild(row));
  });
</script>
"""


_HERE = ' class="cv-here"'


def setup_page() -> None:
    """Quiet, consistent output for a report page: no warnings or log noise, one plot style."""
    import matplotlib
    import seaborn

    warnings.filterwarnings("ignore")
    logging.getLogger().setLevel(logging.ERROR)
    matplotlib.rcParams.update({"figure.dpi": 110, "figure.figsize": (8, 4), "axes.spines.top": False, "axes.spines.right": False})
    seaborn.set_theme(style="whitegrid", context="notebook")
    pd.set_option("display.max_rows", 60)


def header(title: str, quarter: str, current_slug: str, subtitle: str = "") -> str:
    """The page style, the navigation between report pages, and the page title."""
    links = " ".join(
        f'<a href="{page.html_name}"{_HERE if page.slug == current_slug else ""}>{html.escape(page.title)}</a>'
        for page in PAGES
    )
    meta = f'<div class="cv-meta">Quarter {html.escape(quarter)}{" · " + html.escape(subtitle) if subtitle else ""}</div>'
    return f'{PAGE_STYLE}<nav class="cv-nav">{links}</nav><h1>{html.escape(title)}</h1>{meta}'


def money(value: float, currency: str = "") -> str:
    """``1,234,567`` style (no decimals), with an optional currency code."""
    if pd.isna(value):
        return "–"
    text = f"{value:,.0f}".replace("-", "−")
    return f"{text} {currency}".strip()


def kpi_tiles(figures: Mapping[str, str]) -> str:
    """Key figures as tiles: ``{label: formatted value}``."""
    tiles = "".join(
        f'<div class="cv-kpi"><div class="cv-value">{html.escape(value)}</div><div class="cv-label">{html.escape(label)}</div></div>'
        for label, value in figures.items()
    )
    return f'<div class="cv-kpis">{tiles}</div>'


def table(
    frame: pd.DataFrame,
    money_columns: Iterable[str] = (),
    number_columns: Iterable[str] = (),
    currency: str = "",
    empty: str = "None.",
    long_columns: Iterable[str] = (),
) -> str:
    """An escaped, sortable HTML table. Money and number columns are right-aligned and
    sort numerically (money without decimals, its currency in the header); long text
    columns get the room to wrap."""
    if frame.empty:
        return f"<p><em>{html.escape(empty)}</em></p>"
    money_columns, number_columns, long_columns = set(money_columns), set(number_columns), set(long_columns)
    def heading(column: object) -> str:
        # Underscores would keep long names from wrapping; the currency is said once, here.
        text = str(column).replace("_", " ")
        return f"{text} ({currency})" if column in money_columns and currency else text

    head = "".join(f"<th>{html.escape(heading(column))}</th>" for column in frame.columns)
    rows = []
    for values in frame.itertuples(index=False, name=None):
        cells = []
        for column, value in zip(frame.columns, values):
            if column in money_columns or column in number_columns:
                shown = money(value) if column in money_columns else _number(value)
                sort_key = "" if pd.isna(value) else f' data-sort="{float(value)}"'
                cells.append(f'<td class="cv-num"{sort_key}>{html.escape(shown)}</td>')
            else:
                css = ' class="cv-long"' if column in long_columns else ""
                cells.append(f"<td{css}>{html.escape('' if _missing(value) else str(value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="cv-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def note(text: str) -> str:
    """A plain-language note box (text is escaped; blank lines separate paragraphs)."""
    paragraphs = "".join(f"<p>{html.escape(part.strip())}</p>" for part in text.strip().split("\n\n"))
    return f'<div class="cv-note">{paragraphs}</div>'


def _number(value: object) -> str:
    if _missing(value):
        return "–"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def _missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False

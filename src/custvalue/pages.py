"""Presentation helpers for the report notebooks: page set-up, navigation, key figures
and tables. Every piece of text that came from the data is escaped here, so customer
names and notes (untrusted text) are inert in the HTML.
"""

from __future__ import annotations

import html
import logging
import warnings
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from custvalue.report import PAGES

# ------------------------------------------------------------------ size limits
# The report stays small and fast at any number of customers: a page shows aggregates,
# the first rows of ranked lists (saying how many there are and where the whole list
# is), and plots that draw a bounded number of marks. Every limit is here.

STATUS_TABLE_ROWS: Mapping[str, int] = {"let_go": 200, "final_notice": 50, "protected": 50, "watch": 50}
"""Rows of each status table on the index page, worst operating profit first. The let-go
list is the decision this report is about: up to 200 it is shown whole (a demo world or
a mid-sized book of customers); beyond, the exports and the scorecard hold all of it."""
TOP_ROWS = 25
"""Rows of any other list that grows with the number of customers (top N)."""
PLOT_POINTS = 5_000
"""Points one scatter plot draws; a larger population is shown as a seeded random sample."""
MARKED_POINTS = 1_000
"""Highlighted points drawn on top of a plot (e.g. customers to let go on the whale curve)."""
CURVE_POINTS = 1_000
"""Vertices of a curve with one point per customer (the whale curve)."""
SAMPLE_SEED = 0
"""Seed of every sample a page draws, so a report renders the same twice."""

PAGE_STYLE = """
<style>
  body, .jp-Notebook { max-width: 1180px; margin: 0 auto; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; }
  .cv-nav { display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; padding: .6rem 0; border-bottom: 1px solid #ddd; margin-bottom: .8rem; }
  .cv-nav a { text-decoration: none; color: #1f5fa8; } .cv-nav a.cv-here { font-weight: 600; color: #222; }
  .cv-meta { color: #666; font-size: .9rem; }
  .cv-kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: .8rem; margin: .8rem 0 1.2rem; }
  .cv-kpi { border: 1px solid #e2e2e2; border-radius: 8px; padding: .7rem .9rem; background: #fafafa; }
  .cv-kpi .cv-value { font-size: 1.45rem; font-weight: 600; } .cv-kpi .cv-label { color: #555; font-size: .85rem; }
  .cv-kpi .cv-figure { white-space: nowrap; } /* "1,295 / 6,253 / 120" wraps at a slash, never inside a figure */
  /* Jupyter's own table style right-aligns and squeezes every cell; ours reads like a report. */
  .jp-RenderedHTMLCommon table.cv-table, table.cv-table { border-collapse: collapse; width: 100%; font-size: .8rem; table-layout: auto; }
  .jp-RenderedHTMLCommon table.cv-table th, table.cv-table th { background: #f0f3f7; cursor: pointer; text-align: left; vertical-align: bottom; }
  .jp-RenderedHTMLCommon table.cv-table th, .jp-RenderedHTMLCommon table.cv-table td, table.cv-table th, table.cv-table td {
    padding: .3rem .45rem; border-bottom: 1px solid #eee; vertical-align: top; text-align: left; max-width: none; word-break: normal; overflow-wrap: normal; }
  .jp-RenderedHTMLCommon table.cv-table td.cv-num, table.cv-table td.cv-num { text-align: right; white-space: nowrap; }
  .jp-RenderedHTMLCommon table.cv-table td.cv-long, table.cv-table td.cv-long { min-width: 20rem; overflow-wrap: anywhere; }
  .cv-limit code { overflow-wrap: anywhere; font-size: .8rem; }
  .cv-note { background: #f7f7f2; border-left: 3px solid #c9c28f; padding: .6rem .9rem; font-size: .9rem; }
  .cv-pre { font-size: .8rem; overflow-x: auto; background: #fafafa; padding: .6rem; }
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
    # Data text (names, segments) reaches plot labels: "$...$" in it must be shown as typed,
    # not typeset as mathematics.
    matplotlib.rcParams.update({"text.parse_math": False, "text.usetex": False})
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
    """Key figures as tiles: ``{label: formatted value}``. A value of several figures
    ("1,295 / 6,253 / 120") may wrap between them, never inside one."""
    def value_html(value: str) -> str:
        return " / ".join(f'<span class="cv-figure">{html.escape(part)}</span>' for part in value.split(" / "))

    tiles = "".join(
        f'<div class="cv-kpi"><div class="cv-value">{value_html(value)}</div><div class="cv-label">{html.escape(label)}</div></div>'
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


def limited_table(
    frame: pd.DataFrame,
    limit: int,
    *,
    total: int | None = None,
    noun: str = "rows",
    order: str = "",
    full_list: str = "",
    selected_by: str = "",
    links: Mapping[str, str] | None = None,
    **options,
) -> str:
    """The first ``limit`` rows of ``frame`` (ranked by the caller, most important first)
    as :func:`table`, preceded, when rows are left out, by a line saying how many are
    shown of how many and where the full list is.

    ``total`` is the length of the whole list when ``frame`` is already cut (default
    ``len(frame)``). ``order`` says how the rows are ranked ("worst operating profit
    first"); ``full_list`` names the file holding every row (``selected_by`` says which
    of its rows, e.g. "status let_go") and ``links`` (label -> href) adds links to such
    files. Every text is escaped."""
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    shown = frame.head(limit)
    total = len(frame) if total is None else int(total)
    body = table(shown, **options)
    if total <= len(shown):
        return body
    return limit_note(len(shown), total, noun=noun, order=order, full_list=full_list, selected_by=selected_by, links=links) + body


def limit_note(shown: int, total: int, *, noun: str = "rows", order: str = "", full_list: str = "", selected_by: str = "",
               links: Mapping[str, str] | None = None) -> str:
    """The line over a cut table: 'Showing 50 of 6,253 customers, worst operating profit
    first; the full list is in ...'."""
    text = f"Showing {shown:,} of {total:,} {html.escape(noun)}"
    if order:
        text += f", {html.escape(order)}"
    places = [f'<a href="{html.escape(href)}">{html.escape(label)}</a>' for label, href in (links or {}).items()]
    if full_list:
        places.append(f"<code>{html.escape(full_list)}</code>" + (f" ({html.escape(selected_by)})" if selected_by else ""))
    if places:
        text += "; the full list is in " + " · ".join(places)
    return f'<p class="cv-meta cv-limit">{text}.</p>'


def sample(frame: pd.DataFrame, limit: int = PLOT_POINTS, seed: int = SAMPLE_SEED) -> pd.DataFrame:
    """``frame`` itself when it has at most ``limit`` rows, else a seeded random sample of
    ``limit`` rows (kept in their order), for a plot that draws one mark per row."""
    if len(frame) <= limit:
        return frame
    rows = np.sort(np.random.default_rng(seed).choice(len(frame), size=limit, replace=False))
    return frame.iloc[rows]


def highlighted_sample(
    frame: pd.DataFrame,
    highlighted: pd.Series,
    *,
    limit: int = PLOT_POINTS,
    highlight_limit: int = MARKED_POINTS,
    noun: str = "customers",
    highlight_noun: str = "highlighted",
    seed: int = SAMPLE_SEED,
) -> tuple[pd.DataFrame, str]:
    """The rows a scatter plot draws when it highlights some of them (``highlighted``, a
    boolean mask): at most ``highlight_limit`` highlighted rows and ``limit`` others, each
    a seeded random sample when there are more, so the few highlighted ones are not lost
    in a sample of the many. Also a caption: empty when every row is drawn, else e.g.
    'all 616 late; a random sample of 5,000 of 97,884 other customers'."""
    mask = highlighted.to_numpy(dtype=bool)
    marked, others = frame[mask], frame[~mask]
    drawn_marked, drawn_others = sample(marked, highlight_limit, seed), sample(others, limit, seed)
    drawn = pd.concat([drawn_others, drawn_marked])
    if len(drawn) == len(frame):
        return drawn, ""

    def part(shown: int, total: int, what: str) -> str:
        return f"all {total:,} {what}" if shown == total else f"a random sample of {shown:,} of {total:,} {what}"

    caption = f"{part(len(drawn_marked), len(marked), highlight_noun)}; {part(len(drawn_others), len(others), 'other ' + noun)}"
    return drawn, caption


def preformatted(text: str) -> str:
    """Plain text (e.g. a model summary that may quote data text) shown as typed, escaped.

    Third-party HTML renderers (statsmodels' ``as_html``) do not escape the names they
    print, so text from the data would become markup; this is the page's way to show them.
    """
    return f'<pre class="cv-pre">{html.escape(str(text))}</pre>'


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

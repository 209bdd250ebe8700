"""The quarterly report: score the quarter, run the notebooks, render HTML.

Notebooks are executed by papermill on the ``custvalue`` Jupyter kernel with their
parameters injected, then rendered by nbconvert without code cells, prompts or
stderr output into ``reports/<quarter>/``. The whole folder is built in a staging
folder and swapped in only when every page succeeded, so a failed run leaves the
previous report in place. Executed notebooks are kept under ``notebooks/`` in the
report folder for analysts; the notebooks run there too (their working folder), so
nothing a page might write lands outside the report.

The notebooks are the project folder's own when it has them, else those shipped with the
package (:func:`notebooks_for_report`). ``report.json`` records what the report was made
from; :func:`render_unless_current` skips a report that is up to date.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from custvalue import provenance
from custvalue.atomic import atomic_directory
from custvalue.errors import PipelineError
from custvalue.exports import write_let_go_exports
from custvalue.paths import QuarterOutputs, find_project, report_notebooks_dir
from custvalue.pipeline import load_results
from custvalue.progress import SILENT, Progress
from custvalue.quarters import Quarter

KERNEL_NAME = "custvalue"
DEFAULT_TIMEOUT_SECONDS = 900


@dataclass(frozen=True)
class Page:
    """One page of the report: the notebook behind it and its title."""

    slug: str
    notebook: str
    title: str

    @property
    def html_name(self) -> str:
        return f"{self.slug}.html"


PAGES: tuple[Page, ...] = (
    Page("index", "customers_to_let_go.ipynb", "Customers to let go"),
    Page("lifetime_value", "lifetime_value.ipynb", "Lifetime value"),
    Page("cost_to_serve", "cost_to_serve.ipynb", "Cost to serve"),
    Page("payment_behaviour", "payment_behaviour.ipynb", "Payment behaviour"),
    Page("data_quality", "data_quality.ipynb", "Data quality"),
)


@dataclass(frozen=True)
class ReportParameters:
    """What every notebook receives in its ``parameters`` cell."""

    quarter: Quarter
    raw_dir: Path
    processed_dir: Path
    config_path: Path | None

    def as_papermill(self) -> dict[str, str]:
        """The parameters as papermill injects them; paths absolute, because a notebook
        runs in a folder of its own."""
        return {
            "quarter": str(self.quarter),
            "raw_dir": str(Path(self.raw_dir).resolve()) if self.raw_dir else "",
            "processed_dir": str(Path(self.processed_dir).resolve()),
            "config_path": str(Path(self.config_path).resolve()) if self.config_path else "",
        }


def ensure_kernel(kernel_name: str = KERNEL_NAME) -> None:
    """Raise a clear error when the project's Jupyter kernel is not installed."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel:
        raise PipelineError(
            f"Jupyter kernel '{kernel_name}' is not installed; run `make setup` "
            f"(or: python -m ipykernel install --sys-prefix --name {kernel_name})"
        ) from None


def _kernel_manager_logging_to(log_path: Path) -> type:
    """A kernel manager whose kernel writes its own stderr (start-up chatter, crash
    messages) to ``log_path`` instead of the terminal, so a run prints only what matters."""
    from jupyter_client import AsyncKernelManager

    class _LoggingKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd: list[str], **options):
            with log_path.open("ab") as log:
                options["stderr"] = log
                return await super()._async_launch_kernel(kernel_cmd, **options)

    return _LoggingKernelManager


def notebooks_for_report(notebooks_dir: Path | str | None = None, pages: tuple[Page, ...] = PAGES) -> tuple[Path, str]:
    """The folder the pages' notebooks are read from, and where it comes from in words.

    ``notebooks_dir`` when given; else the project folder's ``notebooks/`` when it holds
    any of the pages' notebooks (a project's own, perhaps edited, pages: then it must hold
    them all); else the notebooks shipped with the package.
    """
    if notebooks_dir is not None:
        return Path(notebooks_dir).resolve(), "given"
    folder, packaged = report_notebooks_dir(find_project().notebooks, [page.notebook for page in pages])
    return folder, "packaged with custvalue" if packaged else "the project folder's"


def render_report(
    parameters: ReportParameters,
    reports_dir: Path | str,
    notebooks_dir: Path | str | None = None,
    kernel_name: str = KERNEL_NAME,
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS,
    pages: tuple[Page, ...] = PAGES,
    *,
    progress: Progress = SILENT,
) -> Path:
    """Execute and render every page into ``reports_dir/<quarter>/``; return that folder.

    Parameters
    ----------
    parameters : ReportParameters
        What every notebook receives; the quarter must have been scored.
    reports_dir : path
        Where ``<quarter>/`` is written (atomically: a failed page leaves the previous
        report in place).
    notebooks_dir : path, optional
        The pages' notebooks (default: see :func:`notebooks_for_report`).
    kernel_name, timeout_seconds, pages
        The Jupyter kernel, the limit per cell, and the pages to render.
    progress : Progress, optional
        Told each page as it is rendered ("page 2 of 5: ..."); silent by default.
    """
    import papermill

    ensure_kernel(kernel_name)
    logging.getLogger("papermill").setLevel(logging.WARNING)
    # papermill changes the working directory while a notebook runs: only absolute paths hold.
    notebooks_dir, _ = notebooks_for_report(notebooks_dir, pages)
    target = Path(reports_dir).resolve() / str(parameters.quarter)
    sources = _page_sources(notebooks_dir, pages)
    record = _report_identity(parameters, sources, kernel_name)
    with atomic_directory(target) as staging:
        executed_dir = staging / "notebooks"
        executed_dir.mkdir()
        with progress.step("let-go exports") as step:
            scorecard = load_results(parameters.processed_dir, parameters.quarter).scorecard
            write_let_go_exports(scorecard, staging)
            step.detail = f"{int((scorecard['status'] == 'let_go').sum()):,} customers to let go"
        kernel_manager = _kernel_manager_logging_to(executed_dir / "kernel-stderr.log")
        for number, page in enumerate(pages, start=1):
            source, executed = sources[page.notebook], executed_dir / page.notebook
            with progress.step(f"page {number} of {len(pages)}: {page.title}"):
                try:
                    papermill.execute_notebook(
                        str(source),
                        str(executed),
                        parameters=parameters.as_papermill(),
                        kernel_name=kernel_name,
                        execution_timeout=timeout_seconds,
                        progress_bar=False,
                        log_output=False,
                        cwd=str(executed_dir),
                        kernel_manager_class=kernel_manager,
                    )
                except papermill.PapermillExecutionError as error:
                    raise PipelineError(f"{source}: cell {error.exec_count} failed: {error.ename}: {_one_line(error.evalue)}") from None
                (staging / page.html_name).write_text(notebook_to_html(executed), encoding="utf-8")
        record["written_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        (staging / provenance.REPORT_RECORD).write_text(json.dumps(record, indent=2), encoding="utf-8")
    return target


@dataclass(frozen=True)
class ReportRun:
    """What :func:`render_unless_current` did: the report folder, and whether it was
    rendered now (``False``: it was already up to date)."""

    folder: Path
    rendered: bool


def render_unless_current(
    parameters: ReportParameters,
    reports_dir: Path | str,
    notebooks_dir: Path | str | None = None,
    kernel_name: str = KERNEL_NAME,
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS,
    pages: tuple[Page, ...] = PAGES,
    *,
    force: bool = False,
    progress: Progress = SILENT,
) -> ReportRun:
    """:func:`render_report`, unless the report folder was rendered from the same scored
    quarter (its manifest, by SHA-256), the same notebooks (by content), parameters,
    kernel and code; ``force`` renders in any case. Says which on ``progress``."""
    folder = Path(reports_dir).resolve() / str(parameters.quarter)
    notebooks_dir, _ = notebooks_for_report(notebooks_dir, pages)
    wanted = _report_identity(parameters, _page_sources(notebooks_dir, pages), kernel_name)
    verdict = provenance.report_verdict(folder, wanted, [page.html_name for page in pages])
    if verdict.current and not force:
        progress.say(f"report: {verdict.why}; not rendered again (--force to render anyway)")
        return ReportRun(folder, rendered=False)
    progress.say(f"report: {'--force given' if force else verdict.why}; rendering")
    render_report(parameters, reports_dir, notebooks_dir, kernel_name, timeout_seconds, pages, progress=progress)
    return ReportRun(folder, rendered=True)


def _page_sources(notebooks_dir: Path, pages: tuple[Page, ...]) -> dict[str, Path]:
    """Each page's notebook in ``notebooks_dir``; a clear error naming any that is missing."""
    sources = {page.notebook: notebooks_dir / page.notebook for page in pages}
    missing = [f"{path}: notebook for page '{page.title}' not found" for page, path in zip(pages, sources.values()) if not path.is_file()]
    if missing:
        raise PipelineError(missing)
    return sources


def _report_identity(parameters: ReportParameters, sources: dict[str, Path], kernel_name: str) -> dict:
    scored = QuarterOutputs(Path(parameters.processed_dir), parameters.quarter).manifest_json
    if not scored.is_file():
        raise PipelineError(f"{scored.parent}: quarter {parameters.quarter} has not been scored (run `custvalue score`)")
    return provenance.report_identity(scored, sources, kernel_name, parameters.as_papermill())


def notebook_to_html(executed_notebook: Path) -> str:
    """Render an executed notebook without code, prompts or stderr streams."""
    import nbformat
    from nbconvert import HTMLExporter

    notebook = nbformat.read(str(executed_notebook), as_version=4)
    for cell in notebook.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = [
                output for output in cell.get("outputs", []) if not (output.get("output_type") == "stream" and output.get("name") == "stderr")
            ]
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(notebook)
    return body


def _one_line(text: str) -> str:
    return " ".join(str(text).split())[:300]

"""The quarterly report: score the quarter, run the notebooks, render HTML.

Notebooks are executed by papermill on the ``custvalue`` Jupyter kernel with their
parameters injected, then rendered by nbconvert without code cells, prompts or
stderr output into ``reports/<quarter>/``. The whole folder is built in a staging
folder and swapped in only when every page succeeded, so a failed run leaves the
previous report in place. Executed notebooks are kept under ``notebooks/`` in the
report folder for analysts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from custvalue.atomic import atomic_directory
from custvalue.errors import PipelineError
from custvalue.exports import write_let_go_exports
from custvalue.pipeline import load_results
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
        return {
            "quarter": str(self.quarter),
            "raw_dir": str(self.raw_dir),
            "processed_dir": str(self.processed_dir),
            "config_path": str(self.config_path) if self.config_path else "",
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


def render_report(
    parameters: ReportParameters,
    reports_dir: Path,
    notebooks_dir: Path,
    kernel_name: str = KERNEL_NAME,
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS,
    pages: tuple[Page, ...] = PAGES,
) -> Path:
    """Execute and render every page into ``reports_dir/<quarter>/``; return that folder."""
    import papermill

    ensure_kernel(kernel_name)
    logging.getLogger("papermill").setLevel(logging.WARNING)
    # papermill changes the working directory while a notebook runs: only absolute paths hold.
    notebooks_dir = Path(notebooks_dir).resolve()
    target = Path(reports_dir).resolve() / str(parameters.quarter)
    with atomic_directory(target) as staging:
        executed_dir = staging / "notebooks"
        executed_dir.mkdir()
        write_let_go_exports(load_results(parameters.processed_dir, parameters.quarter).scorecard, staging)
        kernel_manager = _kernel_manager_logging_to(executed_dir / "kernel-stderr.log")
        for page in pages:
            source = notebooks_dir / page.notebook
            if not source.is_file():
                raise PipelineError(f"{source}: notebook for page '{page.title}' not found")
            executed = executed_dir / page.notebook
            try:
                papermill.execute_notebook(
                    str(source),
                    str(executed),
                    parameters=parameters.as_papermill(),
                    kernel_name=kernel_name,
                    execution_timeout=timeout_seconds,
                    progress_bar=False,
                    log_output=False,
                    cwd=str(notebooks_dir),
                    kernel_manager_class=kernel_manager,
                )
            except papermill.PapermillExecutionError as error:
                raise PipelineError(f"{source}: cell {error.exec_count} failed: {error.ename}: {_one_line(error.evalue)}") from None
            (staging / page.html_name).write_text(notebook_to_html(executed), encoding="utf-8")
    return target


def notebook_to_html(executed_notebook: Path) -> str:
    """Render an executed notebook without code, prompts or stderr streams."""
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

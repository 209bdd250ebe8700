"""The Python API for analysts: ``import custvalue`` is instant, every exported name is
there, and the README's JupyterLab example runs."""

import os
import re
import subprocess
import sys

import pytest

import custvalue
from custvalue.errors import ContractError
from tests.conftest import REPO

HEAVY = ("pandas", "numpy", "ibis", "duckdb", "pandera", "statsmodels", "nbconvert", "papermill", "rich")


def test_importing_the_package_and_the_command_loads_nothing_heavy():
    code = (
        "import sys, custvalue, custvalue.cli; custvalue.cli.build_parser(); "
        f"print([name for name in {HEAVY!r} if name in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout


def test_every_exported_name_resolves_and_unknown_names_do_not():
    assert {"score_quarter", "load_quarter", "load_config", "Quarter", "estimate_lifetime_value", "compute_cost_to_serve",
            "analyse_payments", "BetaGeoModel", "ParetoNBDModel", "GammaGammaModel"} <= set(custvalue.__all__)
    for name in custvalue.__all__:
        assert getattr(custvalue, name) is not None, name
    assert set(custvalue.__all__) <= set(dir(custvalue))
    from custvalue.pipeline import load_quarter

    assert custvalue.load_quarter is load_quarter
    with pytest.raises(AttributeError, match="no attribute 'score_quartre'"):
        custvalue.score_quartre  # noqa: B018


def test_load_quarter_says_when_nothing_is_scored(tmp_path):
    with pytest.raises(ContractError, match="no scored quarter here"):
        custvalue.load_quarter(tmp_path)
    with pytest.raises(ContractError, match="quarter 2026Q2 has not been scored"):
        custvalue.load_quarter(tmp_path, "2026Q2")


def readme_example() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## For analysts: the Python API"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_is_five_lines_after_the_import():
    lines = [line for line in readme_example().splitlines() if line.strip()]
    assert lines[0] == "import custvalue" and len(lines[1:]) == 5


@pytest.mark.e2e
def test_the_readme_example_runs_in_a_project_folder(small_report_run, small_world, tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    os.symlink(small_report_run.out / "data" / "processed", tmp_path / "data" / "processed")
    os.symlink(small_world.raw_dir, tmp_path / "data" / "raw")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(readme_example(), "README.md", "exec"), namespace)  # noqa: S102 - the documented example itself
    results, refit = namespace["results"], namespace["refit"]
    assert str(results.quarter) == "2026Q2" and len(results.scorecard) == 600
    assert (results.scorecard["status"] == "let_go").any()
    assert len(refit.customers) > 0 and refit.as_of.isoformat() == "2025-12-31"
    # With no arguments, the latest quarter of the project folder's processed data.
    assert custvalue.load_quarter().outputs.folder == tmp_path.resolve() / "data" / "processed" / "2026Q2"

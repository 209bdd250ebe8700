"""Project hygiene: dependency lists agree, notebooks are committed clean, `make help` works."""

import json
import re
import subprocess
import tomllib

import yaml

from custvalue.paths import PACKAGED_NOTEBOOKS_DIR
from tests.conftest import REPO

# conda-forge names that differ from PyPI names (none today; listed here when they do)
CONDA_NAME = {}


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _spec(requirement: str) -> str:
    return re.sub(r"\[[^\]]*\]", "", requirement).replace(" ", "").lower()


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["test"]
    environment = yaml.safe_load((REPO / "environment.yml").read_text())
    conda = [d for d in environment["dependencies"] if isinstance(d, str) and _name(d) not in {"python", "pip"}]
    assert {CONDA_NAME.get(_name(r), _name(r)): _spec(r) for r in wanted} == {_name(d): _spec(d) for d in conda}
    assert {"pip": ["-e ."]} in environment["dependencies"]


def test_notebooks_are_committed_without_outputs():
    notebooks = sorted(PACKAGED_NOTEBOOKS_DIR.glob("*.ipynb"))
    assert notebooks
    for path in notebooks:
        notebook = json.loads(path.read_text())
        assert not any(cell.get("outputs") for cell in notebook["cells"]), f"{path.name} has outputs"
        assert not any(cell.get("execution_count") for cell in notebook["cells"]), f"{path.name} has execution counts"
        tagged = [c for c in notebook["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, f"{path.name} needs exactly one cell tagged 'parameters'"
        for name in ("quarter", "raw_dir", "processed_dir", "config_path"):
            assert f"{name} =" in "".join(tagged[0]["source"]), f"{path.name}: parameter {name} missing"


def test_every_report_page_has_its_notebook():
    from custvalue.report import PAGES

    for page in PAGES:
        assert (PACKAGED_NOTEBOOKS_DIR / page.notebook).is_file(), page.notebook
    assert PAGES[0].slug == "index"


def test_make_help_lists_the_two_commands():
    listing = subprocess.run(["make", "-s", "help"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert "make report" in listing and "make test" in listing


def test_ci_runs_make_test():
    assert "make test" in (REPO / ".ci" / "run").read_text()

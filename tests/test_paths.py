"""Where a run reads and writes: the project folder is found from the working folder,
never from where the package is installed."""

from pathlib import Path

import pytest

from custvalue.errors import ConfigError
from custvalue.paths import PACKAGED_NOTEBOOKS_DIR, find_project, report_notebooks_dir
from custvalue.report import PAGES


@pytest.fixture(autouse=True)
def no_home_override(monkeypatch):
    monkeypatch.delenv("CUSTVALUE_HOME", raising=False)


def test_a_folder_without_a_project_above_it_is_its_own_project(tmp_path):
    project = find_project(tmp_path)
    assert project.root == tmp_path.resolve() and project.found_by.startswith("the working folder")
    assert (project.raw, project.processed, project.reports) == (
        tmp_path / "data" / "raw", tmp_path / "data" / "processed", tmp_path / "reports")
    assert project.config is None and project.notebooks == tmp_path / "notebooks"


def test_the_working_folder_is_the_default_start(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert find_project().root == tmp_path.resolve()
    assert Path(__file__).resolve().parents[1] not in find_project().raw.parents, "never the checkout"


def test_config_custvalue_yaml_marks_the_project_folder_from_below(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "custvalue.yaml").write_text("currency: EUR\n")
    deep = tmp_path / "analysis" / "2026"
    deep.mkdir(parents=True)
    project = find_project(deep)
    assert project.root == tmp_path.resolve() and project.found_by == "config/custvalue.yaml"
    assert project.config == tmp_path / "config" / "custvalue.yaml" and project.raw == tmp_path / "data" / "raw"


def test_a_pyproject_with_a_tool_custvalue_table_declares_the_project_and_may_name_folders(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.custvalue]\nraw = "input"\nreports = "out/reports"\n')
    (tmp_path / "sub").mkdir()
    project = find_project(tmp_path / "sub")
    assert project.root == tmp_path.resolve() and project.found_by == "pyproject.toml [tool.custvalue]"
    assert project.raw == tmp_path / "input" and project.reports == tmp_path / "out" / "reports"
    assert project.processed == tmp_path / "data" / "processed", "a folder not named keeps its default"


def test_an_unrelated_pyproject_is_not_a_project(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "someone-else"\n[tool.black]\nline-length = 100\n')
    (tmp_path / "sub").mkdir()
    assert find_project(tmp_path / "sub").root == (tmp_path / "sub").resolve()


@pytest.mark.parametrize("text, fragment", [
    ('[tool.custvalue]\nraws = "input"\n', "unknown key(s) raws"),
    ("[tool.custvalue]\nraw = 3\n", "raw must be a path"),
    ("[tool.custvalue\nraw = 'x'\n", "not valid TOML"),
])
def test_a_bad_tool_custvalue_table_is_one_clear_error(tmp_path, text, fragment):
    (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        find_project(tmp_path)
    assert str(caught.value).startswith(f"{tmp_path / 'pyproject.toml'}: ") and fragment in str(caught.value)


def test_custvalue_home_names_the_project_folder(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("CUSTVALUE_HOME", str(home))
    project = find_project(tmp_path)
    assert project.root == home.resolve() and project.found_by == "$CUSTVALUE_HOME"


def test_the_packaged_notebooks_are_used_unless_the_project_has_its_own(tmp_path):
    names = [page.notebook for page in PAGES]
    assert all((PACKAGED_NOTEBOOKS_DIR / name).is_file() for name in names)
    assert report_notebooks_dir(tmp_path / "notebooks", names) == (PACKAGED_NOTEBOOKS_DIR, True)
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "my_analysis.ipynb").write_text("{}")
    assert report_notebooks_dir(tmp_path / "notebooks", names) == (PACKAGED_NOTEBOOKS_DIR, True), "other notebooks are not pages"
    (tmp_path / "notebooks" / names[1]).write_text("{}")
    assert report_notebooks_dir(tmp_path / "notebooks", names) == (tmp_path / "notebooks", False)


def test_a_project_with_some_of_the_pages_must_have_all_of_them(tmp_path, monkeypatch):
    from custvalue.errors import PipelineError
    from custvalue.report import _page_sources, notebooks_for_report

    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / PAGES[0].notebook).write_text("{}")
    monkeypatch.chdir(tmp_path)
    folder, origin = notebooks_for_report()
    assert (folder, origin) == (tmp_path / "notebooks", "the project folder's")
    with pytest.raises(PipelineError) as caught:
        _page_sources(folder, PAGES)
    assert len(caught.value.problems) == len(PAGES) - 1
    assert caught.value.problems[0] == f"{tmp_path / 'notebooks' / PAGES[1].notebook}: notebook for page '{PAGES[1].title}' not found"

"""The command line: clear one-line errors with exit 2, never a traceback; the folders a
run reads and writes said first; work already done not done again; plain output."""

import json
import re
import shutil
import subprocess
import sys

import pandas as pd

import pytest

from custvalue.cli import EXAMPLES, main
from tests.test_contract import VALID, with_bad_row, write_world


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "custvalue", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def after_folders(stderr: str) -> str:
    """stderr without a run's first lines (its project folder and the folders it reads and
    writes), which every data command prints before anything else."""
    lines = stderr.splitlines()
    assert lines and lines[0].startswith("project folder: "), stderr
    rest = lines[1:]
    while rest and rest[0].startswith(("reads  ", "writes ", "       ")):
        rest = rest[1:]
    return "\n".join(rest) + ("\n" if rest else "")


def test_validate_usable_data_exits_zero(tmp_path, capsys):
    raw = write_world(tmp_path / "raw", VALID)
    assert main(["validate", "--raw", str(raw)]) == 0
    out = capsys.readouterr().out
    assert "customers" in out and "last complete quarter" in out


def test_validate_prints_a_short_table_and_where_rejected_rows_go(tmp_path, capsys, monkeypatch):
    raw = write_world(tmp_path / "raw", with_bad_row("orders", revenue="-5", customer_id="NOBODY"))
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "--raw", "raw"]) == 0
    out = capsys.readouterr().out.splitlines()
    table = out[: out.index("")]
    assert max(map(len, table)) <= 100, "the table fits 100 columns"
    assert table[0].split() == ["table", "rows", "accepted", "rejected", "top", "reasons"]
    orders = table.index(next(line for line in table if line.startswith("orders ")))
    assert table[orders].split()[1:4] == ["3", "2", "1"]
    reasons_at = table[0].index("top reasons")
    assert [line[reasons_at:] for line in table[orders:orders + 3]] == [
        "customer_id: unknown customer (1)", "returned_value <= revenue does not hold (1)", "revenue: must be >= 0 (1)"]
    assert table[orders + 3].split() == ["invoices", "2", "2", "0"]
    assert table[1].split() == ["customers", "2", "2", "0"]
    where = tmp_path.resolve() / "data" / "processed" / "2024Q4" / "rejected"
    assert out[-2:] == ["rejected rows, each with its reasons, are written by `custvalue score` to", f"  {where}/<table>.csv"]


def test_unusable_data_gives_one_line_per_problem_and_exit_2(tmp_path):
    tables = {name: rows for name, rows in VALID.items() if name != "invoices"}
    raw = write_world(tmp_path / "raw", tables)
    (raw / "orders.csv").write_text("order_id,customer_id\nO1,C1\n")
    result = run_cli("validate", "--raw", raw)
    assert result.returncode == 2
    lines = after_folders(result.stderr).strip().splitlines()
    assert "Traceback" not in result.stderr
    assert all(line.startswith("error: ") for line in lines)
    assert any("invoices" in line and "missing" in line for line in lines)
    assert any("orders.csv: column 'revenue': required column is missing" in line for line in lines)


def test_missing_raw_folder(tmp_path):
    result = run_cli("score", "--raw", tmp_path / "nope", "--out", tmp_path / "out")
    assert result.returncode == 2
    assert after_folders(result.stderr).strip() == f"error: {tmp_path / 'nope'}: raw data folder not found"


def test_bad_config_is_one_line(tmp_path):
    raw = write_world(tmp_path / "raw", VALID)
    config = tmp_path / "c.yaml"
    config.write_text("review:\n  window_quarterz: 4\n")
    result = run_cli("score", "--raw", raw, "--out", tmp_path / "out", "--config", config)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "window_quarterz" in result.stderr, "before any folder is named"


def test_bad_quarter_argument_is_a_usage_error(tmp_path):
    with pytest.raises(SystemExit) as caught:
        main(["score", "--quarter", "2026Q7"])
    assert caught.value.code == 2


def test_score_writes_scorecard_and_quarantine_then_skips_until_forced(small_world, tmp_path, capsys):
    raw = tmp_path / "raw"
    shutil.copytree(small_world.raw_dir, raw)
    with (raw / "orders.csv").open("a", encoding="utf-8") as orders:
        orders.write("BAD-1,NOBODY,2026-01-05,-1,1,0,1,false,false,0\n")
    assert main(["score", "--raw", str(raw), "--out", str(tmp_path / "processed")]) == 0
    first = capsys.readouterr()
    assert first.out.startswith("2026Q2: scored 600 customers")
    assert re.search(r"validate orders: ([\d,]+) rows, ([\d,]+) accepted, 1 rejected \(", first.err) and "\nlifetime value: " in first.err
    folder = tmp_path / "processed" / "2026Q2"
    manifest = (folder / "manifest.json").read_bytes()
    scored = (folder / "manifest.json").stat()

    # The same inputs, configuration and code: nothing is done, and it says so.
    assert main(["score", "--raw", str(raw), "--processed", str(tmp_path / "processed")]) == 0
    again = capsys.readouterr()
    assert again.out == first.out
    assert "score: 2026Q2 is up to date" in again.err and "validate " not in again.err
    assert (folder / "manifest.json").read_bytes() == manifest
    # The default quarter of these inputs is known without loading them again.
    assert main(["latest-quarter", "--raw", str(raw), "--processed", str(tmp_path / "processed")]) == 0
    latest = capsys.readouterr()
    assert latest.out == "2026Q2\n" and "latest-quarter: 2026Q2, as recorded" in latest.err and "validate " not in latest.err
    assert ((folder / "manifest.json").stat().st_ino, (folder / "manifest.json").stat().st_mtime_ns) == (scored.st_ino, scored.st_mtime_ns)
    # --force scores again (a new folder swapped in: a new file), quietly with --quiet;
    # a changed input file scores again too, and is named.
    assert main(["score", "--raw", str(raw), "--out", str(tmp_path / "processed"), "--force", "--quiet"]) == 0
    forced = capsys.readouterr()
    assert forced.err == "" and forced.out == first.out
    assert (folder / "manifest.json").stat().st_ino != scored.st_ino
    assert json.loads((folder / "manifest.json").read_bytes())["inputs"] == json.loads(manifest)["inputs"]
    (raw / "incidents.csv").write_text((raw / "incidents.csv").read_text() + "\n")
    verdict = _score_verdict(raw, tmp_path / "processed")
    assert not verdict.current and verdict.why == "input incidents changed since 2026Q2 was scored"

    expected = {"scorecard.parquet", "scorecard.csv", "quarterly.parquet", "quality.json", "manifest.json", "rejected",
                "statuses.parquet", "movement.parquet", "move_on.parquet", "cost_to_serve", "payment", "lifetime"}
    assert {p.name for p in folder.iterdir()} == expected
    rejected = pd.read_csv(folder / "rejected" / "orders.csv", dtype=str)
    assert rejected["order_id"].tolist() == ["BAD-1"]
    assert "revenue: must be >= 0" in rejected.loc[0, "reason"] and "customer_id: unknown customer" in rejected.loc[0, "reason"]


def _score_verdict(raw, processed):
    from custvalue.config import Config
    from custvalue.provenance import scored_verdict

    return scored_verdict(processed, raw, Config(), None)


def test_every_command_has_help_with_an_example_and_the_exit_codes():
    assert set(EXAMPLES) == {"demo", "validate", "score", "report", "latest-quarter", "contract-doc", "config-doc"}
    for command, example in EXAMPLES.items():
        result = run_cli(command, "--help")
        assert result.returncode == 0 and "usage: custvalue" in result.stdout
        assert f"example:\n  {example}\n" in result.stdout
        assert "exit codes:\n  0  done\n  2  bad input or configuration" in result.stdout and "1  unexpected" in result.stdout
        assert build_parser_accepts(example)
    assert "[tool.custvalue]" in run_cli("--help").stdout


def build_parser_accepts(example: str) -> bool:
    from custvalue.cli import build_parser

    build_parser().parse_args(example.split()[1:])
    return True


@pytest.mark.parametrize("command, option", [("score", "--processed"), ("report", "--reports"), ("demo", "--raw")])
def test_out_is_another_name_for_the_folder_a_command_writes(command, option):
    from custvalue.cli import build_parser

    parser = build_parser()
    dest = option.lstrip("-")
    assert getattr(parser.parse_args([command, "--out", "x"]), dest) == getattr(parser.parse_args([command, option, "x"]), dest)
    if command != "demo":
        with pytest.raises(SystemExit):
            parser.parse_args([command, "--out", "x", option, "y"])


def test_every_data_command_takes_the_same_folder_options():
    from custvalue.cli import build_parser

    parser = build_parser()
    for command in ("validate", "score", "report"):
        arguments = parser.parse_args([command, "--raw", "r", "--processed", "p", "--config", "c.yaml", "--quiet"])
        assert (str(arguments.raw), str(arguments.processed), str(arguments.config), arguments.quiet) == ("r", "p", "c.yaml", True)


def test_defaults_are_the_working_folders_never_the_installed_package(tmp_path, monkeypatch, capsys):
    (tmp_path / "data").mkdir()
    raw = write_world(tmp_path / "data" / "raw", VALID)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CUSTVALUE_HOME", raising=False)
    assert main(["validate"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"project folder: {tmp_path.resolve()} (the working folder")
    assert err[1] == f"reads  raw        {raw.resolve()}"


@pytest.mark.parametrize("quarter, fragment", [("2030Q1", "is not complete in the data"), ("2020Q1", "ends before the data begin")])
def test_quarter_outside_the_data_is_one_clear_line(small_world, tmp_path, quarter, fragment):
    result = run_cli("score", "--raw", small_world.raw_dir, "--out", tmp_path, "--quarter", quarter, "--quiet")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert fragment in result.stderr and "choose a quarter from" in result.stderr and "to 2026Q2" in result.stderr


def test_an_output_the_file_system_refuses_is_one_line(tmp_path, capsys):
    """An output below a regular file (refused as a read-only disk would be) is exit 2
    with one line naming the output, never a traceback."""
    (tmp_path / "blocker").write_text("not a folder")
    target = tmp_path / "blocker" / "docs" / "data-contract.md"
    assert main(["contract-doc", "--out", str(target)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip() == f"error: {target}: cannot write: a part of the path is not a folder"


def test_a_full_disk_names_the_output_and_leaves_no_temporary_file(tmp_path, capsys, monkeypatch):
    import errno
    from pathlib import Path

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_text", full)
    target = tmp_path / "docs" / "configuration.md"
    assert main(["config-doc", "--out", str(target)]) == 2
    assert capsys.readouterr().err.strip() == f"error: {target}: cannot write: no space left on the device"
    assert list((tmp_path / "docs").iterdir()) == []


def test_a_bug_gives_its_traceback_a_request_to_report_it_and_exit_1(tmp_path, capsys, monkeypatch):
    import custvalue.cli as cli

    def broken(arguments):
        raise ZeroDivisionError("deliberate")

    monkeypatch.setitem(cli._COMMANDS, "validate", broken)
    assert main(["validate", "--raw", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "ZeroDivisionError: deliberate" in err and "please report it" in err


def test_ctrl_c_exits_130(tmp_path, capsys, monkeypatch):
    import custvalue.cli as cli

    def interrupted(arguments):
        raise KeyboardInterrupt

    monkeypatch.setitem(cli._COMMANDS, "validate", interrupted)
    assert main(["validate", "--raw", str(tmp_path)]) == 130
    assert capsys.readouterr().err.strip() == "interrupted"


def test_a_database_in_a_missing_folder_is_one_line(tmp_path):
    raw = write_world(tmp_path / "raw", VALID)
    config = tmp_path / "c.yaml"
    config.write_text(f"engine:\n  database: {tmp_path / 'nowhere' / 'w.duckdb'}\n")
    result = run_cli("validate", "--raw", raw, "--config", config, "--quiet")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == f"error: engine.database: {tmp_path / 'nowhere' / 'w.duckdb'}: its folder does not exist"

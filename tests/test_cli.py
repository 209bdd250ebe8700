"""The command line: clear one-line errors with exit 2, never a traceback."""

import shutil
import subprocess
import sys

import pandas as pd

import pytest

from custvalue.cli import main
from tests.test_contract import VALID, write_world


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "custvalue", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_validate_usable_data_exits_zero(tmp_path, capsys):
    raw = write_world(tmp_path / "raw", VALID)
    assert main(["validate", "--raw", str(raw)]) == 0
    out = capsys.readouterr().out
    assert "customers" in out and "last complete quarter" in out


def test_unusable_data_gives_one_line_per_problem_and_exit_2(tmp_path):
    tables = {name: rows for name, rows in VALID.items() if name != "invoices"}
    raw = write_world(tmp_path / "raw", tables)
    (raw / "orders.csv").write_text("order_id,customer_id\nO1,C1\n")
    result = run_cli("validate", "--raw", raw)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    assert all(line.startswith("error: ") for line in lines)
    assert any("invoices" in line and "missing" in line for line in lines)
    assert any("orders.csv: column 'revenue': required column is missing" in line for line in lines)


def test_missing_raw_folder(tmp_path):
    result = run_cli("score", "--raw", tmp_path / "nope", "--out", tmp_path / "out")
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {tmp_path / 'nope'}: raw data folder not found"


def test_bad_config_is_one_line(tmp_path):
    raw = write_world(tmp_path / "raw", VALID)
    config = tmp_path / "c.yaml"
    config.write_text("review:\n  window_quarterz: 4\n")
    result = run_cli("score", "--raw", raw, "--out", tmp_path / "out", "--config", config)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "window_quarterz" in result.stderr


def test_bad_quarter_argument_is_a_usage_error(tmp_path):
    with pytest.raises(SystemExit) as caught:
        main(["score", "--quarter", "2026Q7"])
    assert caught.value.code == 2


def test_score_writes_scorecard_and_quarantine(small_world, tmp_path, capsys):
    raw = tmp_path / "raw"
    shutil.copytree(small_world.raw_dir, raw)
    with (raw / "orders.csv").open("a", encoding="utf-8") as orders:
        orders.write("BAD-1,NOBODY,2026-01-05,-1,1,0,1,false,false,0\n")
    assert main(["score", "--raw", str(raw), "--out", str(tmp_path / "processed")]) == 0
    assert capsys.readouterr().out.startswith("2026Q2: scored 600 customers")
    folder = tmp_path / "processed" / "2026Q2"
    expected = {"scorecard.parquet", "scorecard.csv", "quarterly.parquet", "quality.json", "manifest.json", "rejected",
                "statuses.parquet", "movement.parquet", "move_on.parquet", "cost_to_serve", "payment", "lifetime"}
    assert {p.name for p in folder.iterdir()} == expected
    rejected = pd.read_csv(folder / "rejected" / "orders.csv", dtype=str)
    assert rejected["order_id"].tolist() == ["BAD-1"]
    assert "revenue: must be >= 0" in rejected.loc[0, "reason"] and "customer_id: unknown customer" in rejected.loc[0, "reason"]


def test_every_command_has_help():
    for command in ("demo", "validate", "score", "report", "latest-quarter", "contract-doc"):
        result = run_cli(command, "--help")
        assert result.returncode == 0 and "usage: custvalue" in result.stdout


@pytest.mark.parametrize("quarter, fragment", [("2030Q1", "is not complete in the data"), ("2020Q1", "ends before the data begin")])
def test_quarter_outside_the_data_is_one_clear_line(small_world, tmp_path, quarter, fragment):
    result = run_cli("score", "--raw", small_world.raw_dir, "--out", tmp_path, "--quarter", quarter)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert fragment in result.stderr and "choose a quarter from" in result.stderr and "to 2026Q2" in result.stderr

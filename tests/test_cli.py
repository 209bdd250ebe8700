"""The command line: clear one-line errors with exit 2, never a traceback."""

import subprocess
import sys

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


def test_score_writes_scorecard_and_quarantine(tmp_path, capsys):
    tables = {name: [dict(r) for r in rows] for name, rows in VALID.items()}
    tables["orders"].append({**tables["orders"][0], "order_id": "O9", "revenue": "-1"})
    raw = write_world(tmp_path / "raw", tables)
    assert main(["score", "--raw", str(raw), "--out", str(tmp_path / "processed"), "--quarter", "2025Q1"]) == 0
    folder = tmp_path / "processed" / "2025Q1"
    assert {p.name for p in folder.iterdir()} >= {"scorecard.parquet", "scorecard.csv", "quarterly.parquet", "quality.json", "manifest.json", "rejected"}
    rejected = (folder / "rejected" / "orders.csv").read_text()
    assert "O9" in rejected and "revenue: must be >= 0" in rejected


def test_every_command_has_help():
    for command in ("demo", "validate", "score", "report", "latest-quarter", "contract-doc"):
        result = run_cli(command, "--help")
        assert result.returncode == 0 and "usage: custvalue" in result.stdout

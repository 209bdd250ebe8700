"""The data contract: one test per rule, each with a bad row; unusable input; nothing lost."""

import hashlib

import pandas as pd
import pytest

from custvalue.contract import TABLES, contract_markdown
from custvalue.loading import load_raw
from custvalue.errors import ContractError
from tests.conftest import REPO

VALID = {
    "customers": [
        {"customer_id": "C1", "name": "Acme & Sons <b>", "segment": "enterprise", "region": "north", "account_manager": "Ann", "created_on": "2024-01-01", "employees": "1200", "ended_on": ""},
        {"customer_id": "C2", "name": "=Bobby's", "segment": "small-business", "region": "", "account_manager": "", "created_on": "2024-03-15", "employees": "", "ended_on": "2025-12-31"},
    ],
    "orders": [
        {"order_id": "O1", "customer_id": "C1", "order_date": "2025-01-10", "revenue": "1000.50", "cost_of_goods": "600", "discount": "20", "lines": "3", "rush": "true", "manual": "no", "returned_value": "0"},
        {"order_id": "O2", "customer_id": "C2", "order_date": "2025-02-10", "revenue": "200", "cost_of_goods": "120", "discount": "0", "lines": "1", "rush": "FALSE", "manual": "1", "returned_value": "50"},
    ],
    "invoices": [
        {"invoice_id": "I1", "customer_id": "C1", "issue_date": "2025-01-10", "due_date": "2025-02-09", "amount": "1000.50", "paid_date": "2025-03-01", "paid_amount": "1000.50", "disputed": "false", "written_off": "0"},
        {"invoice_id": "I2", "customer_id": "C2", "issue_date": "2025-02-10", "due_date": "2025-03-12", "amount": "200", "paid_date": "", "paid_amount": "0", "disputed": "yes", "written_off": "0"},
    ],
    "support_tickets": [
        {"ticket_id": "T1", "customer_id": "C1", "opened_on": "2025-01-12", "minutes": "35", "channel": "phone", "caused_by_us": "false", "escalated": "false"},
    ],
    "incidents": [
        {"incident_id": "N1", "customer_id": "C2", "date": "2025-02-11", "kind": "price_pressure", "severity": "2", "note": "asked for 20% off"},
    ],
}


def write_world(folder, tables):
    folder.mkdir(exist_ok=True)
    for name, rows in tables.items():
        pd.DataFrame(rows).to_csv(folder / f"{name}.csv", index=False)
    return folder


def with_bad_row(table, **changes):
    """The valid world plus one bad row in ``table`` (a copy of its first row, changed)."""
    tables = {name: [dict(row) for row in rows] for name, rows in VALID.items()}
    row = dict(tables[table][0])
    row[TABLES[table].id_column] = "BAD"
    row.update(changes)
    tables[table].append(row)
    return tables


def test_valid_world_is_accepted_whole(tmp_path):
    data = load_raw(write_world(tmp_path / "raw", VALID))
    quality = data.quality().set_index("table")
    assert quality["rejected"].sum() == 0
    for name, rows in VALID.items():
        assert quality.loc[name, "accepted"] == len(rows)
    orders = data.accepted("orders")
    assert orders["revenue"].tolist() == [1000.5, 200.0]
    assert orders["rush"].tolist() == [True, False] and orders["manual"].tolist() == [False, True]
    assert data.accepted("customers").loc[1, "name"] == "=Bobby's", "untrusted text is kept verbatim"


RULES = [
    ("customers", {"customer_id": ""}, "customer_id: required value is missing"),
    ("customers", {"customer_id": "C1"}, "customer_id: duplicate of an earlier row"),
    ("customers", {"name": ""}, "name: required value is missing"),
    ("customers", {"name": "   "}, "name: must not be empty"),
    ("customers", {"segment": ""}, "segment: required value is missing"),
    ("customers", {"created_on": "2024-02-30"}, "created_on: not an ISO date YYYY-MM-DD"),
    ("customers", {"created_on": "01/02/2024"}, "created_on: not an ISO date YYYY-MM-DD"),
    ("customers", {"employees": "-3"}, "employees: must be >= 0"),
    ("customers", {"employees": "12.5"}, "employees: not a whole number"),
    ("customers", {"ended_on": "2023-01-01"}, "ended_on >= created_on does not hold"),
    ("orders", {"customer_id": "C404"}, "customer_id: unknown customer"),
    ("orders", {"order_id": "O1"}, "order_id: duplicate of an earlier row"),
    ("orders", {"order_date": "yesterday"}, "order_date: not an ISO date YYYY-MM-DD"),
    ("orders", {"order_date": "2025-1-10"}, "order_date: not an ISO date YYYY-MM-DD"),
    ("orders", {"revenue": "-5"}, "revenue: must be >= 0"),
    ("orders", {"revenue": "abc"}, "revenue: not a number"),
    ("orders", {"cost_of_goods": "-1"}, "cost_of_goods: must be >= 0"),
    ("orders", {"discount": "-0.01"}, "discount: must be >= 0"),
    ("orders", {"lines": "0"}, "lines: must be >= 1"),
    ("orders", {"rush": "maybe"}, "rush: not a boolean"),
    ("orders", {"rush": ""}, "rush: required value is missing"),
    ("orders", {"manual": "perhaps"}, "manual: not a boolean"),
    ("orders", {"returned_value": "5000"}, "returned_value <= revenue does not hold"),
    ("orders", {"returned_value": "-1"}, "returned_value: must be >= 0"),
    ("invoices", {"customer_id": "C404"}, "customer_id: unknown customer"),
    ("invoices", {"invoice_id": "I1"}, "invoice_id: duplicate of an earlier row"),
    ("invoices", {"issue_date": "2025-13-01"}, "issue_date: not an ISO date YYYY-MM-DD"),
    ("invoices", {"due_date": "2024-12-31"}, "due_date >= issue_date does not hold"),
    ("invoices", {"amount": "0"}, "amount: must be > 0"),
    ("invoices", {"paid_date": "2025-01-01"}, "paid_date >= issue_date does not hold"),
    ("invoices", {"paid_amount": "2000"}, "paid_amount <= amount does not hold"),
    ("invoices", {"paid_amount": "-1"}, "paid_amount: must be >= 0"),
    ("invoices", {"written_off": "5000"}, "written_off <= amount does not hold"),
    ("invoices", {"disputed": "sometimes"}, "disputed: not a boolean"),
    ("support_tickets", {"customer_id": "C404"}, "customer_id: unknown customer"),
    ("support_tickets", {"ticket_id": "T1"}, "ticket_id: duplicate of an earlier row"),
    ("support_tickets", {"minutes": "-10"}, "minutes: must be >= 0"),
    ("support_tickets", {"channel": "pigeon"}, "channel: must be one of phone, email, chat, onsite"),
    ("support_tickets", {"caused_by_us": "dunno"}, "caused_by_us: not a boolean"),
    ("support_tickets", {"opened_on": "2025/01/12"}, "opened_on: not an ISO date YYYY-MM-DD"),
    ("incidents", {"customer_id": "C404"}, "customer_id: unknown customer"),
    ("incidents", {"incident_id": "N1"}, "incident_id: duplicate of an earlier row"),
    ("incidents", {"kind": "rudeness"}, "kind: must be one of abusive_conduct"),
    ("incidents", {"severity": "4"}, "severity: must be between 1 and 3"),
    ("incidents", {"severity": "0"}, "severity: must be between 1 and 3"),
    ("incidents", {"date": ""}, "date: required value is missing"),
]


@pytest.mark.parametrize("table, changes, reason", RULES, ids=[f"{t}-{r.split(':')[0].split(' ')[0]}-{i}" for i, (t, _, r) in enumerate(RULES)])
def test_each_rule_quarantines_its_bad_row(tmp_path, table, changes, reason):
    tables = with_bad_row(table, **changes)
    data = load_raw(write_world(tmp_path / "raw", tables))
    load = data.tables[table]
    assert len(load.rejected) == 1, load.rejected.to_string()
    rejected = load.rejected.iloc[0]
    assert reason in rejected["reason"]
    assert rejected["row"] == len(tables[table]), "row number of the bad row (1 = first data row)"
    assert load.input_rows == len(tables[table]) == load.accepted_rows + len(load.rejected) == len(data.accepted(table)) + len(load.rejected)
    # every other table is untouched by a bad row elsewhere
    for name, other in data.tables.items():
        if name != table:
            assert other.rejected.empty


def test_all_violations_of_a_row_are_reported_at_once(tmp_path):
    tables = with_bad_row("orders", revenue="-5", lines="0", rush="maybe", order_date="2025-02-30")
    reason = load_raw(write_world(tmp_path / "raw", tables)).tables["orders"].rejected.iloc[0]["reason"]
    for fragment in ("revenue: must be >= 0 (got '-5')", "lines: must be >= 1", "rush: not a boolean", "order_date: not an ISO date"):
        assert fragment in reason


def test_rows_of_a_rejected_customer_are_quarantined_too(tmp_path):
    tables = {name: [dict(r) for r in rows] for name, rows in VALID.items()}
    tables["customers"][1]["created_on"] = "not a date"
    data = load_raw(write_world(tmp_path / "raw", tables))
    assert data.quality().set_index("table").loc["orders", "rejected"] == 1
    assert "unknown customer" in data.tables["orders"].rejected.iloc[0]["reason"]


def test_optional_columns_and_tables_may_be_absent(tmp_path):
    tables = {name: [dict(r) for r in rows] for name, rows in VALID.items() if name in {"customers", "orders", "invoices"}}
    for row in tables["orders"]:
        del row["manual"], row["returned_value"]
    data = load_raw(write_world(tmp_path / "raw", tables))
    assert data.accepted("orders")["manual"].tolist() == [False, False]
    assert data.accepted("orders")["returned_value"].tolist() == [0.0, 0.0]
    assert data.accepted("support_tickets").empty and data.accepted("incidents").empty


def test_missing_required_file_and_columns_are_unusable(tmp_path):
    tables = {name: [dict(r) for r in rows] for name, rows in VALID.items() if name != "invoices"}
    for row in tables["orders"]:
        del row["revenue"], row["lines"]
    raw = write_world(tmp_path / "raw", tables)
    with pytest.raises(ContractError) as caught:
        load_raw(raw)
    problems = caught.value.problems
    assert any("invoices.csv" in p and "required table 'invoices' is missing" in p for p in problems)
    assert any(p.endswith("orders.csv: column 'revenue': required column is missing") for p in problems)
    assert any("column 'lines'" in p for p in problems)
    assert all("\n" not in p for p in problems)


def test_unparseable_file_is_unusable(tmp_path):
    raw = write_world(tmp_path / "raw", VALID)
    (raw / "orders.csv").write_bytes(b"order_id,customer_id\n\xff\xfe\x00bad")
    with pytest.raises(ContractError, match=r"orders.csv: line 2: not UTF-8 text"):
        load_raw(raw)


def test_parquet_input_gives_the_same_result(tmp_path):
    csv = load_raw(write_world(tmp_path / "csv", VALID))
    parquet_dir = tmp_path / "parquet"
    parquet_dir.mkdir()
    for name in csv.tables:
        csv.accepted(name).to_parquet(parquet_dir / f"{name}.parquet", index=False)
    parquet = load_raw(parquet_dir)
    for name in VALID:
        pd.testing.assert_frame_equal(csv.accepted(name), parquet.accepted(name), check_dtype=False)


def test_raw_files_are_never_modified(tmp_path):
    raw = write_world(tmp_path / "raw", with_bad_row("orders", revenue="-5"))
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in raw.iterdir()}
    load_raw(raw)
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in raw.iterdir()}
    assert before == after


def test_documentation_is_generated_from_the_schemas():
    documented = (REPO / "docs" / "data-contract.md").read_text(encoding="utf-8")
    assert documented == contract_markdown(), "docs/data-contract.md is stale: run `make contract-doc`"


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        (b"O9,C1,2025-01-20,1,100,0,0,false,false,extra,more\n", "line 4: cannot be parsed (a row has more or fewer fields than the header)"),
        (b'O9,"C1,2025-01-20,1,100\n', "line 4: cannot be parsed (a quoted field is never closed)"),
    ],
)
def test_a_parse_error_past_the_first_row_names_the_file_and_line(tmp_path, tail, expected):
    raw = write_world(tmp_path / "raw", VALID)
    path = raw / "orders.csv"
    path.write_bytes(path.read_bytes() + tail)
    with pytest.raises(ContractError) as caught:
        load_raw(raw)
    assert caught.value.problems == [f"{path}: {expected}"]


def test_a_repeated_column_is_reported(tmp_path):
    raw = write_world(tmp_path / "raw", VALID)
    path = raw / "customers.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0] + ",name", *[line + ",x" for line in lines[1:]]]) + "\n")
    with pytest.raises(ContractError, match=r"customers.csv: line 1: column 'name' appears twice"):
        load_raw(raw)


def test_a_required_table_with_no_accepted_row_is_one_line(tmp_path):
    from custvalue.errors import InsufficientDataError

    raw = write_world(tmp_path / "raw", VALID)
    path = raw / "orders.csv"
    path.write_text(path.read_text().splitlines()[0] + "\n")
    with pytest.raises(InsufficientDataError) as caught:
        load_raw(raw)
    assert caught.value.problems == [f"{path}: no row of required table 'orders' is accepted (0 rows, 0 accepted, 0 rejected); nothing to score"]

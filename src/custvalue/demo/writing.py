"""Writing a demo world: the tables as CSV or Parquet, each file atomically, and the truth
beside the raw folder."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from custvalue.atomic import atomic_write_path as _atomic_write_path
from custvalue.demo.spec import DemoError, DemoWorld
from custvalue.demo.vocabulary import TABLE_NAMES


def _column_as_text(column: pd.Series) -> pd.Series:
    """Cell text as written to CSV: ISO dates, true/false, two-decimal money, '' = missing."""
    missing = column.isna().to_numpy()
    if pd.api.types.is_datetime64_any_dtype(column):
        import pyarrow as pa

        days = pa.array(column.to_numpy(dtype="datetime64[D]"), type=pa.date32())
        text = pd.Series(days.cast(pa.string()).fill_null("").to_pandas(), dtype=str)
    elif pd.api.types.is_bool_dtype(column):
        text = pd.Series(np.where(column.fillna(False).to_numpy(dtype=bool), "true", "false"), dtype=str)
    elif pd.api.types.is_float_dtype(column):
        values = column.to_numpy(dtype=float, na_value=0.0)
        cents = np.rint(np.abs(values) * 100).astype(np.int64)
        text = pd.Series(cents // 100).astype(str) + "." + pd.Series(cents % 100).astype(str).str.zfill(2)
        negative = (values < 0) & (cents > 0)
        if negative.any():
            text = text.where(~negative, "-" + text)
    elif pd.api.types.is_integer_dtype(column):
        text = pd.Series(column.to_numpy(dtype=np.int64, na_value=0)).astype(str)
    else:
        text = pd.Series(column.to_numpy(dtype=object, na_value=""), dtype=object).map(str).astype(str)
    text = text.where(~missing, "")
    text.index = column.index
    return text


def tables_as_text(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The tables as the text their CSV cells hold.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        Typed tables (as in :attr:`DemoWorld.tables`) or tables already in text form.

    Returns
    -------
    dict of str to pandas.DataFrame
        Every cell a ``str``: dates ``YYYY-MM-DD``, booleans ``true``/``false``, money
        with two decimals, integers plain, and ``""`` for a missing value.
    """
    return {
        name: pd.DataFrame({column: _column_as_text(frame[column]) for column in frame.columns}, index=frame.index)
        for name, frame in tables.items()
    }


def _write_csv(frame: pd.DataFrame, target: Path) -> None:
    text = tables_as_text({"t": frame})["t"]
    with _atomic_write_path(target) as temporary:
        text.to_csv(temporary, index=False, encoding="utf-8", lineterminator="\n")


def _write_parquet(frame: pd.DataFrame, target: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = frame.reset_index(drop=True)
    text_columns = [
        c for c in frame.columns if pd.api.types.is_object_dtype(frame[c]) or pd.api.types.is_string_dtype(frame[c])
    ]
    if text_columns:  # an empty cell is a missing value, in Parquet a null
        frame = frame.copy()
        for column in text_columns:
            values = frame[column].astype(object)
            frame[column] = values.where(values.ne("") & values.notna(), None)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for position, schema_field in enumerate(table.schema):
        if pa.types.is_timestamp(schema_field.type):  # dates are dates, not timestamps
            table = table.set_column(position, schema_field.name, table.column(position).cast(pa.date32()))
    table = table.replace_schema_metadata(None)
    with _atomic_write_path(target) as temporary:
        pq.write_table(table, temporary)


def write_tables(tables: Mapping[str, pd.DataFrame], raw_dir: Path | str, fmt: str = "csv") -> dict[str, Path]:
    """Write each table to ``raw_dir/<name>.<fmt>``, each file atomically.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        Typed or text tables (text tables, e.g. from :func:`inject_violations`, are
        written as they are; in Parquet their columns are strings).
    raw_dir : path
        Folder for the files (created if missing). A file of the other format for the
        same table is removed, so the folder holds one file per table.
    fmt : {"csv", "parquet"}
        File format.

    Returns
    -------
    dict of str to pathlib.Path
        The written file of each table.
    """
    if fmt not in ("csv", "parquet"):
        raise DemoError(f"format: expected csv or parquet, got {fmt!r}")
    raw_dir = Path(raw_dir)
    raw_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name, frame in tables.items():
        target = raw_dir / f"{name}.{fmt}"
        if fmt == "csv":
            _write_csv(frame, target)
        else:
            _write_parquet(frame, target)
        other = raw_dir / f"{name}.{'parquet' if fmt == 'csv' else 'csv'}"
        other.unlink(missing_ok=True)
        written[name] = target
    return written


def _remove_absent_tables(tables: Mapping[str, pd.DataFrame], raw_dir: Path) -> None:
    """Remove the files of contract tables a world does not have, so that a folder
    written before with every table does not keep a stale one."""
    for name in TABLE_NAMES:
        if name not in tables:
            for fmt in ("csv", "parquet"):
                (raw_dir / f"{name}.{fmt}").unlink(missing_ok=True)


def write_truth(truth: pd.DataFrame, truth_path: Path | str) -> Path:
    """Write the ground truth: Parquet if ``truth_path`` ends in ``.parquet``, else CSV."""
    truth_path = Path(truth_path)
    if truth_path.suffix == ".parquet":
        _write_parquet(truth, truth_path)
    else:
        _write_csv(truth, truth_path)
    return truth_path


def write_world(world: DemoWorld, raw_dir: Path | str, truth_path: Path | str, fmt: str = "csv") -> dict[str, Path]:
    """Write the world's tables to ``raw_dir`` and its ground truth to ``truth_path``.

    Parameters
    ----------
    world : DemoWorld
        From :func:`generate_world` (its tables may be text tables, see
        :func:`inject_violations`).
    raw_dir : path
        Folder for ``customers``, ``orders``, ``invoices``, ``support_tickets`` and
        ``incidents`` (``.csv`` or ``.parquet``).
    truth_path : path
        File for the ground truth; must lie outside ``raw_dir`` so the answers never
        reach the model's input.
    fmt : {"csv", "parquet"}
        Format of the tables. CSV: UTF-8, header, ISO dates, ``true``/``false``,
        empty cell for missing.

    Returns
    -------
    dict of str to pathlib.Path
        Each table's file, and ``"truth"``.

    Raises
    ------
    DemoError
        When ``truth_path`` is inside ``raw_dir`` or ``fmt`` is unknown.
    """
    raw_dir, truth_path = Path(raw_dir), Path(truth_path)
    if truth_path.resolve().is_relative_to(raw_dir.resolve()):
        raise DemoError(f"truth: {truth_path} is inside the raw folder {raw_dir}; keep the answers outside it")
    written = write_tables(world.tables, raw_dir, fmt)
    _remove_absent_tables(world.tables, raw_dir)
    written["truth"] = write_truth(world.truth, truth_path)
    return written

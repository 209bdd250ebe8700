"""Saved model results: one Parquet file per table and a ``result.json`` of metadata,
written as one folder atomically and read back with a format check.

Every results object (cost to serve, payment, lifetime value) saves through here, so the
scoring pipeline can write them into a quarter's folder and the notebooks can read them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from custvalue.atomic import atomic_directory
from custvalue.errors import ContractError

METADATA_FILE = "result.json"


def save_result(
    folder: Path | str,
    frames: Mapping[str, pd.DataFrame],
    metadata: Mapping[str, Any],
    format_version: int,
    extra: Callable[[Path], None] | None = None,
) -> Path:
    """Write ``frames`` and ``metadata`` into ``folder``, replacing it whole or not at all.

    ``extra``, when given, writes further files into the staging folder.
    """
    folder = Path(folder)
    with atomic_directory(folder) as staging:
        for name, frame in frames.items():
            write_parquet(frame, staging / f"{name}.parquet")
        document = {"format_version": format_version, **metadata}
        (staging / METADATA_FILE).write_text(json.dumps(document, indent=2, default=str), encoding="utf-8")
        if extra is not None:
            extra(staging)
    return folder


def write_parquet(frame: pd.DataFrame, path: Path, rows: int = 500_000) -> None:
    """``frame.to_parquet(path, index=False)``, converted to Arrow ``rows`` at a time, so
    a large frame is never held twice (once in pandas, once in Arrow)."""
    schema = pa.Schema.from_pandas(frame, preserve_index=False)
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, max(len(frame), 1), rows):
            writer.write_table(pa.Table.from_pandas(frame.iloc[start : start + rows], schema=schema, preserve_index=False))


def load_result(folder: Path | str, names: Iterable[str], what: str, format_version: int) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Read what :func:`save_result` wrote: the frames by name, and the metadata.

    Raises
    ------
    ContractError
        When the folder holds no such result, or one of another format version.
    """
    folder = Path(folder)
    metadata_path = folder / METADATA_FILE
    if not metadata_path.is_file():
        raise ContractError(f"{folder}: no {what} result here ({METADATA_FILE} missing)")
    metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
    if metadata.get("format_version") != format_version:
        raise ContractError(f"{folder}: {what} result format {metadata.get('format_version')!r}, expected {format_version}")
    return {name: pd.read_parquet(folder / f"{name}.parquet") for name in names}, metadata

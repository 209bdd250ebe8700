"""Atomic outputs: a failed or killed run never leaves a half-written file or folder.

Files are written to a temporary sibling and moved into place with :func:`os.replace`,
which is atomic on POSIX within one file system. Folders (a quarter's scorecard, a
report) are built in a temporary sibling and swapped in with two renames; the previous
good output stays in place until the new one is complete.

A file system that refuses the write (read-only, full, no permission) is an
:class:`~custvalue.errors.OutputError` naming the output, not the temporary sibling.
Staging folders left by a run that was killed (``SIGKILL``, a power cut) are removed by
:func:`remove_stale_staging` at the start of the next run.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from custvalue.errors import OutputError, output_problem

STAGING_SUFFIXES = (".tmp", ".old")
"""How this module names its temporary siblings: ``.<target name>.<random><suffix>``."""
STALE_AFTER_SECONDS = 6 * 3600
"""A staging sibling older than this was left by a killed run (no run takes six hours
to write one folder); a younger one may belong to a run under way and is kept."""


@contextlib.contextmanager
def _as_output_error(target: Path, inside: Path | None = None) -> Iterator[None]:
    """Turn a file-system refusal met while writing ``target`` into one line naming it.

    Within ``inside`` (a staging folder) only errors on files under it are the output's;
    an error on any other file (an input read on the way) keeps its own name.
    """
    try:
        yield
    except OSError as error:
        if isinstance(error, OutputError):
            raise
        name = error.filename
        ours = inside is None or name is None or str(name).startswith(str(inside))
        problem = output_problem(error, f"{target}: cannot write" if ours else None)
        if problem is None:
            raise
        raise OutputError(problem) from None


@contextlib.contextmanager
def atomic_write_path(target: Path | str) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; move it onto ``target`` on success.

    On any exception the temporary file is removed and ``target`` is untouched.
    """
    target = Path(target)
    with _as_output_error(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(handle)
        temporary_path = Path(temporary)
        try:
            yield temporary_path
            os.replace(temporary_path, target)
        except BaseException:
            temporary_path.unlink(missing_ok=True)
            raise


def atomic_write_text(target: Path | str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    with atomic_write_path(target) as temporary:
        temporary.write_text(text, encoding="utf-8")


@contextlib.contextmanager
def atomic_directory(target: Path | str) -> Iterator[Path]:
    """Yield an empty temporary folder next to ``target``; swap it in on success.

    The previous ``target`` (if any) is kept until the new folder is complete, then
    replaced. On failure the temporary folder is deleted and ``target`` is untouched.
    """
    target = Path(target)
    with _as_output_error(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        with _as_output_error(target, inside=staging):
            yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    with _as_output_error(target):
        retired = None
        if target.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
            retired.rmdir()
            os.replace(target, retired)
        os.replace(staging, target)
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)


def is_staging_name(name: str) -> bool:
    """Whether ``name`` is how :func:`atomic_directory` or :func:`atomic_write_path`
    names a temporary sibling (``.2026Q2.k3j_x9a1.tmp``, ``.scorecard.csv.abc123.old``)."""
    return re.fullmatch(r"\.[^/]+\.[A-Za-z0-9_]{8}(\.tmp|\.old)", name) is not None


def remove_stale_staging(folder: Path | str, older_than_seconds: float = STALE_AFTER_SECONDS) -> list[Path]:
    """Remove this module's temporary siblings in ``folder`` older than ``older_than_seconds``
    (left by a killed run); return what was removed. Nothing else is touched: only names of
    this module's pattern, and only old ones (a younger one may be a run under way)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    now = time.time()
    for entry in folder.iterdir():
        if not is_staging_name(entry.name):
            continue
        try:
            if now - entry.lstat().st_mtime < older_than_seconds:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError:
            continue  # another run removed it, or it is not ours to remove: leave it
        removed.append(entry)
    return removed

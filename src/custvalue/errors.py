"""Exceptions that the command line turns into one clear line each, without a traceback.

Every failure a user can act on is a :class:`CustvalueError` (exit code 2 at the command
line); anything else is a bug (exit code 1, with its traceback and a request to report
it). :func:`expected_failure` recognises the few failures of the platform (a full or
read-only disk, an engine out of memory) that are the user's to fix although no code of
ours raised them.
"""

from __future__ import annotations

import errno
import os


class CustvalueError(Exception):
    """Base class for errors a user can act on. ``problems`` holds one line per problem."""

    def __init__(self, problems: str | list[str]):
        self.problems = [one_line(problem) for problem in ([problems] if isinstance(problems, str) else problems)]
        super().__init__("; ".join(self.problems))


class ContractError(CustvalueError):
    """The input cannot be used at all: a required file or column is missing, or a file
    cannot be parsed. Row-level problems are not errors; they are quarantined."""


class InsufficientDataError(ContractError):
    """The input can be read, but leaves nothing to work on: a required table with no
    accepted row, or no event up to the quarter asked for."""


class ConfigError(CustvalueError):
    """The configuration file is missing, malformed, or has invalid values."""


class PipelineError(CustvalueError):
    """A step of the pipeline failed for a reason the user can fix (e.g. a missing kernel)."""


class OutputError(CustvalueError):
    """An output cannot be written where the user said: a read-only or full file system,
    a folder without permission, or a folder another run is writing (the lock)."""


class EngineError(CustvalueError):
    """The engine cannot do the work: out of memory under its limit, a database file
    that cannot be opened, a backend that cannot be reached."""


_LOCATION_ERRNOS = {
    errno.ENOSPC: "no space left on the device",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EDQUOT: "disk quota exceeded",
    errno.ENAMETOOLONG: "file name too long",
    errno.ENOTDIR: "a part of the path is not a folder",
    errno.EISDIR: "is a folder, not a file",
    errno.EEXIST: "already exists",
    errno.ENOENT: "no such file or folder",
    errno.ELOOP: "too many symbolic links",
}


def output_problem(error: OSError, where: object = None) -> str | None:
    """One line for an :class:`OSError` of the file system (``None`` for any other), naming
    ``where`` if given, else the file (``error.filename``).

    Arrow's writers raise ``OSError`` without an ``errno``, the system's message in the
    text; it is recognised by that message.
    """
    code = error.errno
    if code is None:
        code = next((number for number in _LOCATION_ERRNOS if os.strerror(number) in str(error)), None)
    if code not in _LOCATION_ERRNOS:
        return None
    place = where if where is not None else error.filename
    what = _LOCATION_ERRNOS[code]
    return f"{place}: {what}" if place is not None else what


def expected_failure(error: BaseException) -> CustvalueError | None:
    """The user-facing error behind a failure of the platform, or ``None`` for a bug.

    A full or read-only file system, a permission refused (``OSError``), or the engine out
    of memory under its configured limit are the user's to fix; they are turned into one
    line here, at the command line's boundary, whichever step met them.
    """
    if isinstance(error, CustvalueError):
        return error
    if isinstance(error, OSError):
        problem = output_problem(error)
        return OutputError(problem) if problem else None
    if isinstance(error, MemoryError):
        return EngineError("out of memory: lower engine.memory_limit, or run on a machine with more memory")
    name = type(error).__name__
    if name == "OutOfMemoryException":  # DuckDB, whatever step met its limit
        return EngineError(f"engine: DuckDB ran out of memory under engine.memory_limit ({one_line(error)[:200]})")
    return None


def one_line(error: BaseException | str) -> str:
    """An error's message (or any text) on one line, whitespace runs collapsed."""
    return " ".join(str(error).split())

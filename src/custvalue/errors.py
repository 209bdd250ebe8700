"""Exceptions that the command line turns into one clear line each, without a traceback."""

from __future__ import annotations


class CustvalueError(Exception):
    """Base class for errors a user can act on. ``problems`` holds one line per problem."""

    def __init__(self, problems: str | list[str]):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


class ContractError(CustvalueError):
    """The input cannot be used at all: a required file or column is missing, or a file
    cannot be parsed. Row-level problems are not errors; they are quarantined."""


class ConfigError(CustvalueError):
    """The configuration file is missing, malformed, or has invalid values."""


class PipelineError(CustvalueError):
    """A step of the pipeline failed for a reason the user can fix (e.g. a missing kernel)."""


def one_line(error: BaseException | str) -> str:
    """An error's message (or any text) on one line, whitespace runs collapsed."""
    return " ".join(str(error).split())
